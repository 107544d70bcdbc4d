"""What gradient clipping does, and does not, do: plain SGD on the adding problem at T = 10 and T = 50.

    make experiments ONLY=vanishing_clipping      # about 10 minutes on one busy CPU thread

A vanilla tanh RNN (32 units) whose recurrent matrix starts at spectral radius
1.5, trained with plain SGD (learning rate 0.1, batches of 50) for 40 epochs
of 200 steps, with and without clipping the gradient norm at 1, at T = 10 and
T = 50, seeds 0 to 4 (:func:`helpers.adding_runs.adding_run`). Each run keeps
the epoch with the lowest validation error and scores it once on the test
split; a run whose loss overflows is recorded as diverged. The chapter
"Vanishing and exploding gradients" loads ``src/helpers/results/vanishing_clipping.json``
and reruns the first epochs of seed 0 live.
"""

import torch

from helpers.adding_runs import adding_run
from helpers.artefacts import Sweep

SETTINGS = {
    "init": "radius",
    "radius": 1.5,
    "optimizer": "sgd",
    "lr": 0.1,
    "epochs": 40,
    "lengths": [10, 50],
    "clip_norms": [None, 1.0],
    "seeds": [0, 1, 2, 3, 4],
}


def summary(runs):
    rows = []
    for length in SETTINGS["lengths"]:
        for clip_norm in SETTINGS["clip_norms"]:
            group = [r for r in runs if r["length"] == length and r["clip_norm"] == clip_norm]
            finished = [r["test_mse"] for r in group if not r["diverged"]]
            rows.append(
                {
                    "length": length,
                    "clip_norm": clip_norm,
                    "runs": len(group),
                    "diverged": sum(r["diverged"] for r in group),
                    "test_mse": finished,
                }
            )
    return rows


def main():
    torch.set_num_threads(1)
    model = {k: SETTINGS[k] for k in ("init", "radius")}
    sweep = Sweep(
        "vanishing_clipping", command="make experiments ONLY=vanishing_clipping", settings=SETTINGS
    )
    for length in SETTINGS["lengths"]:
        for clip_norm in SETTINGS["clip_norms"]:
            for seed in SETTINGS["seeds"]:
                sweep.run(
                    adding_run,
                    length=length,
                    seed=seed,
                    clip_norm=clip_norm,
                    optimizer=SETTINGS["optimizer"],
                    lr=SETTINGS["lr"],
                    epochs=SETTINGS["epochs"],
                    **model,
                )
    sweep.finish(summary=summary(sweep.runs))


if __name__ == "__main__":
    main()
