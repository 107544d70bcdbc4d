"""The window baselines of the hyphenation task, tuned on validation and scored once on test.

    make experiments ONLY=hyphenation_baselines     # about 20 minutes on one busy CPU thread

Two context-window classifiers label each letter of a word with whether a
line may break after it (:func:`helpers.sequence_labelling.baseline_run`, on
:func:`helpers.sequence_labelling.hyphenation_task`, the book's split by
five-letter prefix):

- the counting table (:class:`helpers.sequence_labelling.WindowTagger`):
  ``left`` and ``right`` from 0 to 4, without back-off, and with back-off to
  narrower windows for windows seen fewer than ``min_count`` (1, 2 or 3) times;
- logistic regression over the substrings of the window through the letter
  (:class:`helpers.sequence_labelling.LinearWindowTagger`, scikit-learn):
  ``left`` 1 to 4, ``right`` 2 to 5, ``C`` 1, 3 or 10.

Every setting is scored on the validation split. The best setting of each
kind (highest validation F1) is fitted once more and scored on the test split,
its test labels stored for paired comparisons. The chapter "Sequence labelling"
loads ``src/helpers/results/hyphenation_baselines.json`` and refits the chosen
settings live.
"""

import torch

from helpers.artefacts import Sweep
from helpers.sequence_labelling import baseline_run

SETTINGS = {
    "table": {"left": [0, 1, 2, 3, 4], "right": [0, 1, 2, 3, 4], "min_count": [1, 2, 3]},
    "linear": {"left": [1, 2, 3, 4], "right": [2, 3, 4, 5], "C": [1.0, 3.0, 10.0], "min_df": 2},
    "chosen_by": "validation F1 of the breaks",
}


def grid():
    table = SETTINGS["table"]
    for left in table["left"]:
        for right in table["right"]:
            yield dict(kind="table", left=left, right=right, backoff=False)
            for min_count in table["min_count"]:
                yield dict(kind="table", left=left, right=right, backoff=True, min_count=min_count)
    linear = SETTINGS["linear"]
    for left in linear["left"]:
        for right in linear["right"]:
            for C in linear["C"]:
                yield dict(kind="linear", left=left, right=right, C=C)


def main():
    torch.set_num_threads(1)
    sweep = Sweep(
        "hyphenation_baselines",
        command="make experiments ONLY=hyphenation_baselines",
        settings=SETTINGS,
    )
    for setting in grid():
        sweep.run(baseline_run, **setting)
    chosen = {}
    for kind in ("table", "linear"):
        runs = [run for run in sweep.runs if run["kind"] == kind]
        best = max(runs, key=lambda run: run["validation"]["f1"])
        chosen[kind] = {
            key: best[key]
            for key in ("kind", "left", "right", "backoff", "min_count", "C")
            if key in best
        }
        sweep.run(baseline_run, **chosen[kind], test=True)
    sweep.finish(summary={"chosen": chosen})


if __name__ == "__main__":
    main()
