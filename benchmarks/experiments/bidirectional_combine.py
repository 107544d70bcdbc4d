"""The four ways to combine the two directions of a bidirectional GRU tagger, over three seeds.

    make experiments ONLY=bidirectional_combine     # about 20 minutes on one busy CPU thread

The bidirectional hyphenation tagger of ``bidirectional_taggers`` (48 units
per direction) with its two directions' states summed, multiplied or averaged
instead of concatenated (:data:`helpers.bidirectional.COMBINE_MODES`), seeds
0, 1, 2, trained and scored exactly as there
(:func:`helpers.sequence_labelling.tagger_run`). Concatenation itself is the
``bidirectional`` model of ``bidirectional_taggers``: the same seeds give the
same runs, so the chapter "Deep and bidirectional RNNs" pairs the four by seed.
"""

import torch

from helpers.artefacts import Sweep
from helpers.sequence_labelling import tagger_run

BI_HIDDEN = 48
SEEDS = [0, 1, 2]
MODES = ["sum", "mul", "avg"]
COMMON = {"lr": 5e-3, "batch_size": 128, "max_epochs": 40, "patience": 4}


def main():
    torch.set_num_threads(1)
    sweep = Sweep(
        "bidirectional_combine",
        command="make experiments ONLY=bidirectional_combine",
        settings={**COMMON, "seeds": SEEDS, "modes": MODES, "hidden_size": BI_HIDDEN},
    )
    for seed in SEEDS:
        for combine in MODES:
            sweep.run(
                tagger_run,
                seed=seed,
                hidden_size=BI_HIDDEN,
                bidirectional=True,
                combine=combine,
                **COMMON,
            )
    sweep.finish()


if __name__ == "__main__":
    main()
