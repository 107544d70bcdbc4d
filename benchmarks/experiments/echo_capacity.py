"""How much a small RNN can echo: accuracy against the delay, for three state sizes, trained to a plateau.

    make experiments ONLY=echo_capacity                                      # the full sweep
    .venv/bin/python benchmarks/experiments/echo_capacity.py --quick /tmp/ec  # a smoke test

The experiment behind the echo exercise of *The unrolled RNN*: an Elman RNN
(``torch.nn.RNN``) reads random symbols (4 kinds) and must output, at every
step, the symbol seen ``delay`` steps earlier (:mod:`helpers.sequence_toys`).
For delays 2, 4, 8 and 12, hidden sizes 8, 16 and 32, and seeds 0, 1, 2:

1. every (hidden, delay, learning rate, seed) is trained with
   :func:`helpers.sequence_toys.train_echo`: Adam, gradients clipped at norm 1,
   early stopping on the validation loss with a patience of ``PATIENCE``
   epochs, at most ``EPOCHS`` epochs, the best epoch's weights kept;
2. for each (hidden, delay) the learning rate with the highest mean
   validation accuracy is chosen
   (:func:`helpers.sequence_toys.choose_on_validation`);
3. only those final models are scored on the test split, once.

It writes ``src/helpers/results/echo_capacity.json`` with every run's curves,
the choices, the test scores and the provenance. PyTorch runs on one thread,
so a live rerun with one thread repeats a stored curve exactly.
"""

import argparse
import sys

import torch

from helpers.artefacts import Sweep
from helpers.sequence_toys import choose_on_validation, echo_splits, echo_test_accuracy, train_echo

NAME = "echo_capacity"
DELAYS = (2, 4, 8, 12)
HIDDEN = (8, 16, 32)
LEARNING_RATES = (3e-3, 1e-2, 3e-2)
SEEDS = (0, 1, 2)
EPOCHS, PATIENCE = 100, 10


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick", metavar="FOLDER", help="smoke test: 2 epochs, 2 seeds, written to FOLDER"
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    quick = args.quick is not None
    seeds = SEEDS[:2] if quick else SEEDS
    epochs = 2 if quick else EPOCHS
    settings = {
        "delays": list(DELAYS),
        "hidden": list(HIDDEN),
        "learning_rates": list(LEARNING_RATES),
        "seeds": list(seeds),
        "epochs": epochs,
        "patience": PATIENCE,
        "batch_size": 50,
        "clip_norm": 1.0,
        "splits": "2,000 training, 1,000 validation and 1,000 test sequences of 30 "
        "symbols; no sequence in two splits",
    }
    command = (
        f"make experiments ONLY={NAME}"
        if not quick
        else f"python benchmarks/experiments/{NAME}.py --quick {args.quick}"
    )
    sweep = Sweep(NAME, command=command, settings=settings, folder=args.quick)

    models = {}

    def run(hidden, delay, seed, lr):
        model, record = train_echo(
            hidden, delay, seed=seed, lr=lr, epochs=epochs, patience=PATIENCE, splits=splits
        )
        models[hidden, delay, seed, lr] = model
        return record

    for delay in DELAYS:
        splits = echo_splits(delay)
        for hidden in HIDDEN:
            for seed in seeds:
                for lr in LEARNING_RATES:
                    sweep.run(run, hidden=hidden, delay=delay, seed=seed, lr=lr)

    chosen = choose_on_validation(sweep.runs, group_by=("hidden", "delay"))
    final = []
    for (hidden, delay), lr in sorted(chosen.items()):
        splits = echo_splits(delay)
        for seed in seeds:
            final.append(
                {
                    "hidden": hidden,
                    "delay": delay,
                    "seed": seed,
                    "lr": lr,
                    "test_accuracy": echo_test_accuracy(models[hidden, delay, seed, lr], splits),
                }
            )
    sweep.finish(
        summary={
            "chosen_lr": [
                {"hidden": hidden, "delay": delay, "lr": lr}
                for (hidden, delay), lr in sorted(chosen.items())
            ],
            "final": final,
        }
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
