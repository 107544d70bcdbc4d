"""Compare the vanilla RNN, the LSTM and the GRU on long-range tasks: tuned, converged, 5 seeds.

    make experiments ONLY=compare_units                                  # the full sweep
    .venv/bin/python benchmarks/experiments/compare_units.py --quick /tmp/cu   # a smoke test

The design lives in :mod:`helpers.unit_comparison`, which the chapter
"Comparing the units" also uses for its live rerun:

1. **Learning rate, on validation.** Every unit (RNN, LSTM, LSTM with
   forget-gate bias 1, GRU; ``torch.nn``'s kernels) is trained with each
   learning rate of ``LEARNING_RATES`` on the tuning seed, on the adding
   problem at T = 100 and on the copy task, with early stopping; each unit
   keeps, per task, the rate whose run reached the lowest validation loss.
2. **Final runs.** Each unit is trained at its chosen rate on every setting
   (the adding problem at T = 50, 100, 200; the copy task with delay 50) with
   the seeds ``FINAL_SEEDS``, until the validation loss has not improved for
   ``PATIENCE`` epochs (or the setting's largest budget), and the best epoch's
   model is scored once on the test split. The runs go seed by seed, so an
   interrupted sweep still holds complete seeds.

It writes ``src/helpers/results/compare_units.json`` (every run with its
learning curves, the chosen rates, a summary, and the provenance; it ships
with the package) and ``benchmarks/results/compare_units.md`` (the tables).
PyTorch runs on one thread, so the numbers do not depend on the machine's core
count, and a live rerun with one thread repeats them exactly.
"""

import argparse
import json
import sys
from pathlib import Path

import torch

from helpers.artefacts import Sweep, load_artefact
from helpers.unit_comparison import (
    FINAL_SEEDS,
    LEARNING_RATES,
    PATIENCE,
    SETTINGS,
    TUNING_SEED,
    TUNING_SETTINGS,
    VARIANTS,
    choose_learning_rates,
    label,
    results_table,
    summary_rows,
    tuning_table,
    unit_run,
)

NAME = "compare_units"
MD_PATH = Path(__file__).resolve().parents[1] / "results" / "compare_units.md"


def markdown(data):
    """The text of ``benchmarks/results/compare_units.md``, from the artefact's data."""
    made = data["provenance"]
    return "\n".join(
        [
            "# Recurrent units on long-range tasks",
            "",
            f"`{made['command']}`; torch {made['packages']['torch']}, "
            f"{made['machine']['torch_threads']} thread, {made['machine']['platform']}; "
            f"{made['date']}; wall time {made['wall_seconds'] / 60:.0f} min; git "
            f"{str(made['git_revision'])[:10]}{' (dirty)' if made['git_dirty'] else ''}.",
            "",
            f"## 1. Learning rate, chosen on validation (seed {data['settings']['tuning_seed']})",
            "",
            "Lowest validation loss of each run (MSE for the adding problem, cross-entropy per step "
            "for the copy task); **bold**: the rate chosen; *diverged*: the training loss became "
            "non-finite, or the validation loss more than doubled from its best and exceeded the "
            "no-learning baseline.",
            "",
            tuning_table(data),
            "",
            f"## 2. Final runs, seeds {', '.join(map(str, data['settings']['final_seeds']))}",
            "",
            f"Early stopping with patience {data['settings']['patience']} epochs of 200 steps on "
            "the validation loss, within the largest budget; the best epoch's model is scored once "
            "on the test split. Mean ± standard deviation over seeds, and the 95% t-interval of the "
            "mean.",
            "",
            results_table(data),
            "",
        ]
    )


def staged_run(stage, **kwargs):
    """:func:`unit_run`, with the stage (``"tuning"`` or ``"final"``) kept in the record."""
    return unit_run(**kwargs)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--quick",
        metavar="FOLDER",
        help="smoke test: 1 epoch everywhere, 2 seeds, written to FOLDER",
    )
    parser.add_argument(
        "--tables-only",
        action="store_true",
        help="rewrite compare_units.md from the committed JSON and stop",
    )
    args = parser.parse_args(argv)
    if args.tables_only:
        MD_PATH.write_text(markdown(load_artefact(NAME)))
        return 0
    torch.set_num_threads(1)
    quick = args.quick is not None
    seeds = FINAL_SEEDS[:2] if quick else FINAL_SEEDS
    cap = (lambda epochs: 1) if quick else (lambda epochs: epochs)
    settings = {
        "learning_rates": list(LEARNING_RATES),
        "patience": PATIENCE,
        "tuning_seed": TUNING_SEED,
        "final_seeds": list(seeds),
        "tuning_settings": {name: cap(epochs) for name, epochs in TUNING_SETTINGS.items()},
        "settings": {
            name: {"task": task, **kwargs, "max_epochs": cap(epochs)}
            for name, (task, kwargs, epochs) in SETTINGS.items()
        },
        "variants": [label(unit, forget_bias) for unit, forget_bias in VARIANTS],
        "fixed": "Adam, batch 50, gradient clipping at 1, 10 000 training, 1 000 validation "
        "and 2 000 test sequences; hidden size 32 (adding), 64 (copy)",
    }
    command = (
        "make experiments ONLY=compare_units"
        if not quick
        else f"python benchmarks/experiments/compare_units.py --quick {args.quick}"
    )
    sweep = Sweep(NAME, command=command, settings=settings, folder=args.quick)

    for setting, epochs in TUNING_SETTINGS.items():
        for unit, forget_bias in VARIANTS:
            for lr in LEARNING_RATES:
                sweep.run(
                    staged_run,
                    stage="tuning",
                    setting=setting,
                    unit=unit,
                    forget_bias=forget_bias,
                    seed=TUNING_SEED,
                    lr=lr,
                    max_epochs=cap(epochs),
                )
    chosen = choose_learning_rates([run for run in sweep.runs if run["stage"] == "tuning"])
    sweep.settings["learning_rates_chosen"] = chosen
    print(f"chosen learning rates: {chosen}", flush=True)

    for seed in seeds:
        for setting, (task, _, epochs) in SETTINGS.items():
            for unit, forget_bias in VARIANTS:
                sweep.run(
                    staged_run,
                    stage="final",
                    setting=setting,
                    unit=unit,
                    forget_bias=forget_bias,
                    seed=seed,
                    lr=chosen[task][label(unit, forget_bias)],
                    max_epochs=cap(epochs),
                )
    final = [run for run in sweep.runs if run["stage"] == "final"]
    path = sweep.finish(summary=summary_rows(final))
    data = json.loads(path.read_text())
    text = markdown(data)
    (Path(args.quick) / "compare_units.md" if quick else MD_PATH).write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
