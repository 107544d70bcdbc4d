"""Attention against no attention, trained to convergence over seeds: the chapter "Attention".

    .venv/bin/python benchmarks/run_experiments.py attention_comparison   # about 20 min, one thread

Both models read the source with a bidirectional GRU encoder and differ only in
the decoder's context: the encoder's final state at every step, or additive
attention over all its states. Every run is
:func:`helpers.seq2seq_experiments.run_translation` (the model, data and recipe
of the chapter), seeds 0, 1 and 2 for each model (the same seed gives both
models the same batches), trained until validation exact match stops
improving, at the starting learning rate that ``encoder_bottleneck`` chose on
validation for the model without attention (``LEARNING_RATE``; a test checks
that the two agree). Each final model is scored on validation and, once, on
test.

It writes ``src/helpers/results/attention_comparison.json``: every run's
curves and outputs, and the weights of the seed-0 attention model, which the
chapter loads to draw attention maps and to test them.
"""

import torch

from helpers.artefacts import Sweep
from helpers.seq2seq_experiments import TASK, TRAINING, run_translation

COMMAND = ".venv/bin/python benchmarks/run_experiments.py attention_comparison"
SEEDS = (0, 1, 2)
ATTENTIONS = (None, "additive")
LEARNING_RATE = 0.02  # encoder_bottleneck's summary["chosen_learning_rate"]


def main():
    torch.set_num_threads(1)
    sweep = Sweep(
        "attention_comparison",
        command=COMMAND,
        settings={
            "task": TASK,
            "training": TRAINING,
            "learning_rate": LEARNING_RATE,
            "bidirectional": True,
            "attentions": ATTENTIONS,
        },
    )
    for seed in SEEDS:
        for attention in ATTENTIONS:
            sweep.run(
                run_translation,
                seed=seed,
                attention=attention,
                bidirectional=True,
                learning_rate=LEARNING_RATE,
                score=("validation", "test"),
                keep_weights=attention is not None and seed == SEEDS[0],
            )
    sweep.finish()


if __name__ == "__main__":
    main()
