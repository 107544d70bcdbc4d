"""PyTorch's GRU (reset after the product) against Chung et al.'s (reset before), 5 seeds.

    make experiments ONLY=gru_conventions
    .venv/bin/python benchmarks/experiments/gru_conventions.py --quick /tmp/gc   # a smoke test

Trains both forms of the GRU (:mod:`helpers.gru_conventions`: the book's
from-scratch GRU and the same module with the reset gate moved before the
recurrent product) on the adding problem at T = 100, with each seed from the
same initial weights and the same batches, until the validation MSE has not
improved for ``PATIENCE`` epochs (at most ``MAX_EPOCHS`` epochs of 200 steps),
and scores the best epoch once on the test split. It writes
``src/helpers/results/gru_conventions.json`` with the provenance; the chapter
"Gated recurrent units" loads it, reruns the first epochs of seed 0 live and
checks the two agree. One thread.
"""

import argparse
import sys

import torch

from helpers.artefacts import Sweep
from helpers.evidence import paired_difference
from helpers.gru_conventions import CONVENTIONS, LENGTH, MAX_EPOCHS, PATIENCE, SEEDS, convention_run


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick", metavar="FOLDER", help="smoke test: 1 epoch, 2 seeds, written to FOLDER"
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    quick = args.quick is not None
    seeds = SEEDS[:2] if quick else SEEDS
    max_epochs = 1 if quick else MAX_EPOCHS
    command = (
        "make experiments ONLY=gru_conventions"
        if not quick
        else f"python benchmarks/experiments/gru_conventions.py --quick {args.quick}"
    )
    sweep = Sweep(
        "gru_conventions",
        command=command,
        folder=args.quick,
        settings={
            "length": LENGTH,
            "max_epochs": max_epochs,
            "patience": PATIENCE,
            "lr": 1e-2,
            "seeds": list(seeds),
            "conventions": list(CONVENTIONS),
            "fixed": "hidden size 32, Adam, batch 50, gradient clipping at 1, 10 000 training, "
            "1 000 validation and 2 000 test sequences; helpers.modules.GRU and "
            "helpers.gru_conventions.ResetBeforeGRU from the same initial weights",
        },
    )
    for seed in seeds:
        for convention in CONVENTIONS:
            # seed 0's converged PyTorch GRU is the model the chapter reads its gates from
            sweep.run(
                convention_run,
                convention=convention,
                seed=seed,
                max_epochs=max_epochs,
                store_weights=seed == SEEDS[0] and convention == "reset after",
            )
    test = {c: [r["test_mse"] for r in sweep.runs if r["convention"] == c] for c in CONVENTIONS}
    difference = paired_difference(
        test["reset before"], test["reset after"], names=("reset before", "reset after")
    )
    sweep.finish(
        summary={
            "test_mse": test,
            "difference": str(difference),
            "verdict": difference.verdict(lower_is_better=True),
        }
    )
    print(difference, difference.verdict(lower_is_better=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
