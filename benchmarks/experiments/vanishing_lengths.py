"""A vanilla tanh RNN with PyTorch's default initialisation on the adding problem at T = 10, 20, 50 and 100.

    make experiments ONLY=vanishing_lengths      # about 40 minutes on one busy CPU thread

The model of :func:`helpers.adding_runs.adding_model` (32 tanh units, a linear
read-out of the last state), trained with Adam and clipping at 1 for a budget
of 40 epochs of 200 steps (8,000 steps), at learning rates 1e-3 and 3e-3,
seeds 0 to 4. Each run keeps the epoch with the lowest validation error and
scores it once on the test split; the chapter "Vanishing and exploding
gradients" chooses the learning rate per length on validation
(:func:`helpers.adding_runs.choose_on_validation`) and reports the test
errors of that choice. It loads ``src/helpers/results/vanishing_lengths.json``
and reruns the first epochs of seed 0 live.
"""

import torch

from helpers.adding_runs import adding_run, choose_on_validation
from helpers.artefacts import Sweep

SETTINGS = {
    "unit": "RNN",
    "init": "default",
    "nonlinearity": "tanh",
    "optimizer": "adam",
    "clip_norm": 1.0,
    "epochs": 40,
    "lengths": [10, 20, 50, 100],
    "lrs": [1e-3, 3e-3],
    "seeds": [0, 1, 2, 3, 4],
}


def summary(runs):
    rows = []
    for length in SETTINGS["lengths"]:
        group = [r for r in runs if r["length"] == length]
        lr, by_lr = choose_on_validation(group)
        rows.append(
            {
                "length": length,
                "chosen_lr": lr,
                "mean_best_val_by_lr": by_lr,
                "test_mse": [r["test_mse"] for r in group if r["lr"] == lr],
            }
        )
    return rows


def main():
    torch.set_num_threads(1)
    sweep = Sweep(
        "vanishing_lengths", command="make experiments ONLY=vanishing_lengths", settings=SETTINGS
    )
    for length in SETTINGS["lengths"]:
        for lr in SETTINGS["lrs"]:
            for seed in SETTINGS["seeds"]:
                sweep.run(
                    adding_run,
                    unit="RNN",
                    init="default",
                    nonlinearity="tanh",
                    length=length,
                    seed=seed,
                    lr=lr,
                    optimizer="adam",
                    clip_norm=1.0,
                    epochs=SETTINGS["epochs"],
                )
    sweep.finish(summary=summary(sweep.runs))


if __name__ == "__main__":
    main()
