"""The forward GRU tagger of the hyphenation task: size, dropout and look-ahead chosen on validation.

    make experiments ONLY=hyphenation_tagger     # about 40 minutes on one busy CPU thread

Every run is :func:`helpers.sequence_labelling.tagger_run` on the book's split
by five-letter prefix: a GRU tagger (letters embedded in 16 dimensions) trained
with Adam (learning rate 0.005, batches of 128 words of similar length) until
the validation F1 of the breaks has not improved for 4 epochs (at most 40),
keeping its best epoch. Three stages, each chosen on validation only:

1. the size and the dropout: hidden size 64, 128 or 256, dropout 0 or 0.3, at a
   look-ahead of 3 letters, seed 0;
2. the look-ahead: delay 0 to 4 with the chosen size and dropout, seeds 0, 1, 2;
   the delay with the highest mean validation F1 is chosen;
3. two more seeds (3, 4) at the chosen delay, for five in all.

Every run is scored on the test split once, at its best epoch; the five final
runs keep their test labels for paired comparisons with the baselines
(``hyphenation_baselines``). The chapter "Sequence labelling" loads
``src/helpers/results/hyphenation_tagger.json`` and reruns the first epochs of
seed 0 live.
"""

import statistics

import torch

from helpers.artefacts import Sweep
from helpers.sequence_labelling import tagger_run

SETTINGS = {
    "lr": 5e-3,
    "batch_size": 128,
    "max_epochs": 40,
    "patience": 4,
    "embedding_dim": 16,
    "stage1": {"delay": 3, "seed": 0, "hidden_size": [64, 128, 256], "dropout": [0.0, 0.3]},
    "stage2": {"delay": [0, 1, 2, 3, 4], "seeds": [0, 1, 2]},
    "stage3": {"seeds": [3, 4]},
    "chosen_by": "validation F1 of the breaks (mean over seeds in stage 2)",
}
COMMON = {key: SETTINGS[key] for key in ("lr", "batch_size", "max_epochs", "patience")}


def staged_run(stage, **kwargs):
    """:func:`tagger_run`, with the stage recorded next to the settings."""
    return tagger_run(**kwargs)


def main():
    torch.set_num_threads(1)
    sweep = Sweep(
        "hyphenation_tagger", command="make experiments ONLY=hyphenation_tagger", settings=SETTINGS
    )
    stage1 = SETTINGS["stage1"]
    for hidden_size in stage1["hidden_size"]:
        for dropout in stage1["dropout"]:
            sweep.run(
                staged_run,
                stage=1,
                seed=stage1["seed"],
                delay=stage1["delay"],
                hidden_size=hidden_size,
                dropout=dropout,
                **COMMON,
            )
    best = max(
        (run for run in sweep.runs if run["stage"] == 1), key=lambda run: run["validation"]["f1"]
    )
    model = {"hidden_size": best["hidden_size"], "dropout": best["dropout"]}

    for delay in SETTINGS["stage2"]["delay"]:
        for seed in SETTINGS["stage2"]["seeds"]:
            sweep.run(
                staged_run,
                stage=2,
                seed=seed,
                delay=delay,
                keep_predictions=True,
                **model,
                **COMMON,
            )

    def mean_f1(delay):
        return statistics.fmean(
            run["validation"]["f1"]
            for run in sweep.runs
            if run["stage"] == 2 and run["delay"] == delay
        )

    delay = max(SETTINGS["stage2"]["delay"], key=mean_f1)
    for seed in SETTINGS["stage3"]["seeds"]:
        sweep.run(
            staged_run, stage=3, seed=seed, delay=delay, keep_predictions=True, **model, **COMMON
        )
    # only the final runs' test labels are needed (and they are most of the file)
    for run in sweep.runs:
        if run["delay"] != delay:
            run.pop("test_predictions", None)
    sweep.finish(
        summary={
            "model": model,
            "delay": delay,
            "final_seeds": [
                run["seed"] for run in sweep.runs if run["stage"] > 1 and run["delay"] == delay
            ],
        }
    )


if __name__ == "__main__":
    main()
