"""Sharing across positions, with and without recurrence: MLP, RNN and CNN on the pattern task.

    make experiments ONLY=pattern_sharing                                      # the full sweep
    .venv/bin/python benchmarks/experiments/pattern_sharing.py --quick /tmp/ps  # a smoke test

The experiment behind *Sequences and recurrence*: is the pattern ``2 3 1``
somewhere in 12 symbols? Three models (:mod:`helpers.sequence_toys`): a
perceptron on the window (no sharing), an Elman RNN (sharing and a state) and
a 1-D convolution with a global max-pool (sharing, no state), on 100, 300 and
1,000 training examples, 5 seeds each (a seed fixes the training set, the
initial weights and the batch order, so the three models are paired).

1. Every (model, size, learning rate, seed) is trained with
   :func:`helpers.sequence_toys.train_pattern_model`: Adam, early stopping on
   the validation loss with a patience of ``PATIENCE`` rounds of about 1,000
   examples, at most ``ROUNDS`` rounds, the best round's weights kept.
2. For each model and size, the learning rate with the highest mean
   validation accuracy over the seeds is chosen
   (:func:`helpers.sequence_toys.choose_on_validation`).
3. Only those final models are scored on the test split (and, for the RNN and
   the CNN, on the test sequences of length 24), once, at the end.

It writes ``src/helpers/results/pattern_sharing.json``: every run with its
curves, the chosen learning rates, the test scores of the final models, and
the provenance. PyTorch runs on one thread, so a live rerun with one thread
repeats a stored curve exactly.
"""

import argparse
import sys

import torch

from helpers.artefacts import Sweep
from helpers.sequence_toys import (
    choose_on_validation,
    pattern_accuracy,
    pattern_splits,
    train_pattern_model,
)

NAME = "pattern_sharing"
SIZES = (100, 300, 1000)
KINDS = ("MLP", "RNN", "CNN")
LEARNING_RATES = (3e-3, 1e-2, 3e-2)
SEEDS = (0, 1, 2, 3, 4)
ROUNDS, PATIENCE = 80, 15


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick", metavar="FOLDER", help="smoke test: 2 rounds, 2 seeds, written to FOLDER"
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    quick = args.quick is not None
    seeds = SEEDS[:2] if quick else SEEDS
    rounds = 2 if quick else ROUNDS
    settings = {
        "sizes": list(SIZES),
        "kinds": list(KINDS),
        "learning_rates": list(LEARNING_RATES),
        "seeds": list(seeds),
        "rounds": rounds,
        "patience": PATIENCE,
        "round_examples": 1000,
        "batch_size": 32,
        "splits": "validation 1,000 and test 2,000 sequences of length 12, test_long "
        "2,000 of length 24; no sequence in two splits",
    }
    command = (
        f"make experiments ONLY={NAME}"
        if not quick
        else f"python benchmarks/experiments/{NAME}.py --quick {args.quick}"
    )
    sweep = Sweep(NAME, command=command, settings=settings, folder=args.quick)

    models = {}

    def run(kind, train_size, seed, lr):
        model, record = train_pattern_model(
            kind, train_size, seed=seed, lr=lr, rounds=rounds, patience=PATIENCE, splits=splits
        )
        models[kind, train_size, seed, lr] = model
        return record

    for train_size in SIZES:
        for seed in seeds:
            splits = pattern_splits(train_size, seed=seed)
            for kind in KINDS:
                for lr in LEARNING_RATES:
                    sweep.run(run, kind=kind, train_size=train_size, seed=seed, lr=lr)

    chosen = choose_on_validation(sweep.runs, group_by=("kind", "train_size"))
    final = []
    for (kind, train_size), lr in sorted(chosen.items()):
        for seed in seeds:
            splits = pattern_splits(train_size, seed=seed)
            model = models[kind, train_size, seed, lr]
            row = {
                "kind": kind,
                "train_size": train_size,
                "seed": seed,
                "lr": lr,
                "test_accuracy": pattern_accuracy(model, *splits["test"]),
            }
            if kind != "MLP":  # the MLP cannot read 24 symbols
                row["test_long_accuracy"] = pattern_accuracy(model, *splits["test_long"])
            final.append(row)
    sweep.finish(
        summary={
            "chosen_lr": [
                {"kind": kind, "train_size": size, "lr": lr}
                for (kind, size), lr in sorted(chosen.items())
            ],
            "final": final,
        }
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
