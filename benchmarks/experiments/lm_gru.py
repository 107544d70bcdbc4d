"""The surname GRU language model: settings chosen on validation, then three seeds.

    /tmp/tools/heavy --sweep .venv/bin/python benchmarks/run_experiments.py lm_gru
    make experiments ONLY=lm_gru

Trains :func:`helpers.language_model.train_surname_model` (the chapter "A
character-level language model" runs the same function live for its first
steps), each run until the validation cross-entropy has not improved for 3
epochs (at most 40 epochs), ending with the best epoch's weights. Every choice
is made on the validation perplexity of seed 0:

1. the learning rate of Adam: 3e-3 or 1e-2 (128 units, no dropout);
2. dropout 0.25 on the embeddings and the GRU's outputs, or none (128 units,
   at the chosen rate).

The chosen setting is then trained with seeds 1 and 2 as well (its seed-0 run
is the one of the choice, not trained again), and only those three final
models are scored on the test names. It writes
``src/helpers/results/lm_gru.json``: every run's per-epoch training and
validation losses and its first epoch's step losses, the chosen setting, the
three final models' validation and test perplexities, and the weights of the
seed-0 final model (float32, base64), so the chapter can sample from it. One
thread; about 30 minutes on a busy 2-core machine.
"""

import torch

from helpers.artefacts import Sweep
from helpers.language_model import (
    encode_state_dict,
    language_model_dataset,
    perplexity,
    surname_splits,
    train_surname_model,
)
from helpers.text import Vocab, make_sequence_loader

LEARNING_RATES = (3e-3, 1e-2)
DROPOUT = 0.25
SEEDS = (0, 1, 2)
SETTINGS = {
    "hidden_size": 128,
    "embedding_dim": 32,
    "batch_size": 64,
    "max_epochs": 40,
    "patience": 3,
    "criterion": "lowest validation perplexity of seed 0",
    "seeds": list(SEEDS),
}

trained = {}  # (seed, learning rate, dropout) -> (model, record)


def run(*, stage, **kwargs):
    key = (kwargs["seed"], kwargs["learning_rate"], kwargs["dropout"])
    if key in trained:  # seed 0 of the chosen setting: trained already (the same run)
        model, record = trained[key]
        record = {**record, "test_perplexity": test_perplexity(model)}
    else:
        try:
            model, record = train_surname_model(
                **kwargs,
                hidden_size=SETTINGS["hidden_size"],
                max_epochs=SETTINGS["max_epochs"],
                patience=SETTINGS["patience"],
                score_test=stage == "seeds",
            )
        except FloatingPointError as error:  # a diverged run is a result too: never chosen
            return {
                "stage": stage,
                "diverged": str(error),
                "val_perplexity": None,
                "test_perplexity": None,
            }
        trained[key] = model, record
    return {**record, "stage": stage, "diverged": None}


def test_perplexity(model):
    splits = surname_splits()
    vocab = Vocab(splits["train"])
    test = make_sequence_loader(
        language_model_dataset(splits["test"], vocab),
        pad_id=vocab.pad_id,
        batch_size=len(splits["test"]),
        shuffle=False,
    )
    return perplexity(model, test)["perplexity"]


def best(runs):
    return min((run for run in runs if not run["diverged"]), key=lambda run: run["val_perplexity"])


def main():
    torch.set_num_threads(1)
    sweep = Sweep("lm_gru", command="make experiments ONLY=lm_gru", settings=SETTINGS)
    for learning_rate in LEARNING_RATES:
        sweep.run(run, stage="learning rate", seed=0, learning_rate=learning_rate, dropout=0.0)
    learning_rate = best(sweep.runs)["learning_rate"]
    sweep.run(run, stage="dropout", seed=0, learning_rate=learning_rate, dropout=DROPOUT)
    chosen = {key: best(sweep.runs)[key] for key in ("learning_rate", "dropout")}
    for seed in SEEDS:
        sweep.run(run, stage="seeds", seed=seed, **chosen)
    model = trained[(0, chosen["learning_rate"], chosen["dropout"])][0]
    sweep.finish(
        summary={
            "chosen": {**chosen, "hidden_size": SETTINGS["hidden_size"]},
            "weights_of_seed_0": encode_state_dict(model),
        }
    )


if __name__ == "__main__":
    main()
