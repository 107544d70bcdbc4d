"""Initialisation decides whether a vanilla RNN learns the adding problem at T = 100.

    make experiments ONLY=vanishing_inits      # about 45 minutes on one busy CPU thread

Two initialisations of the recurrent matrix besides PyTorch's default (whose
runs are in ``vanishing_lengths``): a random orthogonal matrix with tanh
units (Saxe et al. 2014) and the identity with ReLU units and zero biases (Le
et al. 2015), on the adding problem at T = 100, with the model and budget of
``vanishing_lengths`` (32 units, Adam, clipping at 1, 40 epochs of 200
steps), learning rates 1e-3 and 3e-3, seeds 0 to 4. The learning rate is
chosen per initialisation on validation; the test split scores the best epoch
of each run once. The chapter "Vanishing and exploding gradients" loads
``src/helpers/results/vanishing_inits.json`` and reruns the first epochs of
seed 0 live.
"""

import torch

from helpers.adding_runs import adding_run, choose_on_validation
from helpers.artefacts import Sweep

INITS = [("orthogonal", "tanh"), ("identity", "relu")]
SETTINGS = {
    "unit": "RNN",
    "inits": [list(pair) for pair in INITS],
    "optimizer": "adam",
    "clip_norm": 1.0,
    "epochs": 40,
    "length": 100,
    "lrs": [1e-3, 3e-3],
    "seeds": [0, 1, 2, 3, 4],
}


def summary(runs):
    rows = []
    for init, nonlinearity in INITS:
        group = [r for r in runs if r["init"] == init]
        lr, by_lr = choose_on_validation(group)
        rows.append(
            {
                "init": init,
                "nonlinearity": nonlinearity,
                "chosen_lr": lr,
                "mean_best_val_by_lr": by_lr,
                "test_mse": [r["test_mse"] for r in group if r["lr"] == lr],
            }
        )
    return rows


def main():
    torch.set_num_threads(1)
    sweep = Sweep(
        "vanishing_inits", command="make experiments ONLY=vanishing_inits", settings=SETTINGS
    )
    for init, nonlinearity in INITS:
        for lr in SETTINGS["lrs"]:
            for seed in SETTINGS["seeds"]:
                sweep.run(
                    adding_run,
                    unit="RNN",
                    init=init,
                    nonlinearity=nonlinearity,
                    length=SETTINGS["length"],
                    seed=seed,
                    lr=lr,
                    optimizer="adam",
                    clip_norm=1.0,
                    epochs=SETTINGS["epochs"],
                )
    sweep.finish(summary=summary(sweep.runs))


if __name__ == "__main__":
    main()
