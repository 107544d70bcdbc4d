"""What the forget gate is for: the adding problem as one continual stream, with and without a forget gate.

    make experiments ONLY=lstm_stream      # about 15 minutes on one busy CPU thread

The adding problem cut into segments of 20 steps and concatenated into one
stream, the state never reset; a third input channel marks the last step of
each segment, where the sum of that segment's two marked values is due
(:func:`helpers.forget_gate.continual_adding`). Three LSTMs of 32 units
(:func:`helpers.forget_gate.stream_model`): with a forget gate (PyTorch's
initialisation), and the 1997 LSTM without one (forget gate held at 1), with
input-gate bias -3 and from PyTorch's initialisation. Each trains on 5,000
streams of 5 segments with Adam (learning rate 1e-2, clipping at 1) for 20
epochs of 100 steps, seeds 0 to 4, keeps its best validation epoch, and is
scored once on 500 test streams of 200 segments (4,000 steps, 40 times the
training length), segment by segment, with the mean |c| of the cells at every
segment end (:func:`helpers.forget_gate.fit_stream`). The chapter "Long
short-term memory" loads ``src/helpers/results/lstm_stream.json`` and reruns
the first epoch of seed 0 live.
"""

import torch

from helpers.artefacts import Sweep
from helpers.forget_gate import stream_run

VARIANTS = [
    {"forget_gate": True, "input_bias": None},
    {"forget_gate": False, "input_bias": -3.0},
    {"forget_gate": False, "input_bias": None},
]
SETTINGS = {
    "variants": VARIANTS,
    "epochs": 20,
    "lr": 1e-2,
    "segments": 5,
    "test_segments": 200,
    "segment_length": 20,
    "seeds": [0, 1, 2, 3, 4],
}


def main():
    torch.set_num_threads(1)
    sweep = Sweep("lstm_stream", command="make experiments ONLY=lstm_stream", settings=SETTINGS)
    for variant in VARIANTS:
        for seed in SETTINGS["seeds"]:
            sweep.run(
                stream_run,
                seed=seed,
                epochs=SETTINGS["epochs"],
                lr=SETTINGS["lr"],
                segments=SETTINGS["segments"],
                test_segments=SETTINGS["test_segments"],
                segment_length=SETTINGS["segment_length"],
                **variant,
            )
    sweep.finish()


if __name__ == "__main__":
    main()
