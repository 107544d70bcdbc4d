"""The LSTM on the adding problem at T = 100: forget-gate bias 0 or 1, and the 1997 LSTM without forget gate.

    make experiments ONLY=lstm_variants      # about 25 minutes on one busy CPU thread

Four variants of the adding problem's LSTM (32 units, a linear read-out of the
last state; :func:`helpers.adding_runs.adding_model`):

- ``LSTM``: PyTorch's initialisation (forget gate near sigma(0) = 0.5 at the start);
- ``LSTM`` with forget-gate bias 1 (Gers et al. 2000; Jozefowicz et al. 2015);
- ``LSTM-no-forget`` with input-gate bias -3: the LSTM of Hochreiter and
  Schmidhuber (1997), whose forget gate is held at 1
  (:func:`helpers.forget_gate.pin_forget_gate`), with their negative input bias;
- ``LSTM-no-forget`` from PyTorch's initialisation.

Each trains with Adam (learning rate 1e-2, the one of
:func:`helpers.experiments.run_adding`), clipping at 1, for 20 epochs of 200
steps, seeds 0 to 4, keeps its best validation epoch and is scored once on
the test split. The chapter "Long short-term memory" loads
``src/helpers/results/lstm_variants.json`` and reruns the first epochs of
seed 0 live.
"""

import torch

from helpers.adding_runs import adding_run
from helpers.artefacts import Sweep

VARIANTS = [
    {"unit": "LSTM", "forget_bias": None},
    {"unit": "LSTM", "forget_bias": 1.0},
    {"unit": "LSTM-no-forget", "input_bias": -3.0},
    {"unit": "LSTM-no-forget", "input_bias": None},
]
SETTINGS = {
    "variants": VARIANTS,
    "length": 100,
    "lr": 1e-2,
    "optimizer": "adam",
    "clip_norm": 1.0,
    "epochs": 20,
    "seeds": [0, 1, 2, 3, 4],
}


def summary(runs):
    rows = []
    for variant in VARIANTS:
        group = [r for r in runs if all(r.get(k) == v for k, v in variant.items())]
        rows.append(
            {
                **variant,
                "test_mse": [r["test_mse"] for r in group],
                "seeds": [r["seed"] for r in group],
            }
        )
    return rows


def main():
    torch.set_num_threads(1)
    sweep = Sweep("lstm_variants", command="make experiments ONLY=lstm_variants", settings=SETTINGS)
    for variant in VARIANTS:
        for seed in SETTINGS["seeds"]:
            sweep.run(
                adding_run,
                length=SETTINGS["length"],
                seed=seed,
                lr=SETTINGS["lr"],
                optimizer="adam",
                clip_norm=1.0,
                epochs=SETTINGS["epochs"],
                **variant,
            )
    sweep.finish(summary=summary(sweep.runs))


if __name__ == "__main__":
    main()
