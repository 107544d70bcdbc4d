"""Forward, delayed, bidirectional and two-layer bidirectional GRU taggers at one parameter budget.

    make experiments ONLY=bidirectional_taggers     # about 30 minutes on one busy CPU thread
    (after hyphenation_tagger, whose chosen look-ahead it reads)

Four GRU taggers of the hyphenation task with about the same number of
parameters as a bidirectional tagger of 48 units per direction
(:func:`helpers.sequence_labelling.hidden_size_for`):

- ``forward``: one direction, no look-ahead;
- ``forward, delayed``: the same, its outputs delayed by the look-ahead chosen
  on validation in ``hyphenation_tagger``;
- ``bidirectional``: 48 units per direction, the states concatenated;
- ``bidirectional, 2 layers``: a stack of two bidirectional layers, narrower.

Each is trained with seeds 0, 1, 2 by :func:`helpers.sequence_labelling.tagger_run`
(Adam, learning rate 0.005, batches of 128 words of similar length, until the
validation F1 has not improved for 4 epochs, at most 40), and scored on the
test split once, at its best epoch. The chapter "Deep and bidirectional RNNs"
loads ``src/helpers/results/bidirectional_taggers.json`` and reruns the first
epochs of the bidirectional tagger of seed 0 live.
"""

import torch

from helpers.artefacts import Sweep, load_artefact
from helpers.sequence_labelling import Tagger, hidden_size_for, hyphenation_task, tagger_run

BI_HIDDEN = 48
SEEDS = [0, 1, 2]
COMMON = {"lr": 5e-3, "batch_size": 128, "max_epochs": 40, "patience": 4}


def models():
    """The compared taggers: name -> tagger_run settings."""
    _, _, vocab = hyphenation_task()
    budget = sum(
        p.numel()
        for p in Tagger(len(vocab), hidden_size=BI_HIDDEN, bidirectional=True).parameters()
    )
    uni = hidden_size_for(budget, len(vocab))
    deep = hidden_size_for(budget, len(vocab), bidirectional=True, num_layers=2)
    delay = load_artefact("hyphenation_tagger")["summary"]["delay"]
    return {
        "forward": dict(delay=0, hidden_size=uni),
        "forward, delayed": dict(delay=delay, hidden_size=uni),
        "bidirectional": dict(hidden_size=BI_HIDDEN, bidirectional=True),
        "bidirectional, 2 layers": dict(hidden_size=deep, bidirectional=True, num_layers=2),
    }


def named_run(model, **kwargs):
    """:func:`tagger_run`, with the model's name recorded next to its settings."""
    return tagger_run(**kwargs)


def main():
    torch.set_num_threads(1)
    compared = models()
    sweep = Sweep(
        "bidirectional_taggers",
        command="make experiments ONLY=bidirectional_taggers",
        settings={
            **COMMON,
            "seeds": SEEDS,
            "models": compared,
            "budget_from": f"a bidirectional tagger of {BI_HIDDEN} units per direction",
        },
    )
    for seed in SEEDS:
        for name, settings in compared.items():
            sweep.run(named_run, model=name, seed=seed, **settings, **COMMON)
    sweep.finish()


if __name__ == "__main__":
    main()
