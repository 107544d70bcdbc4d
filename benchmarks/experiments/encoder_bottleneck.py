"""The encoder-decoder without attention, trained to convergence: the chapter "Encoder-decoder models".

    .venv/bin/python benchmarks/run_experiments.py encoder_bottleneck   # about 30 min, one thread

Every run is :func:`helpers.seq2seq_experiments.run_translation` (the model,
the data and the recipe the chapter uses live), with a unidirectional encoder
and no attention:

1. the learning rate, chosen on validation exact match with seed 0 from
   ``LEARNING_RATES`` (each run stops early on validation);
2. seeds 1 and 2 at the chosen rate; the three final models are scored on
   validation and, once, on test;
3. the first 4 epochs of the same three runs (a 4-epoch budget, the old
   chapter's), scored on validation;
4. seed 0 at the chosen rate on sources read backwards (Sutskever et al.
   2014), scored on validation (the chapter's exercise);
5. beam search (widths ``BEAM_WIDTHS``, GNMT length penalties ``ALPHAS``)
   with the seed-0 final model on validation.

It writes ``src/helpers/results/encoder_bottleneck.json``: every run's
curves and outputs, the seed-0 model's weights, and the beam-search outputs
where they differ from greedy decoding's.
"""

import torch

from helpers.artefacts import Sweep
from helpers.seq2seq_experiments import (
    TASK,
    TRAINING,
    join_outputs,
    load_translator,
    run_translation,
    translate_split,
)

COMMAND = ".venv/bin/python benchmarks/run_experiments.py encoder_bottleneck"
LEARNING_RATES = (0.005, 0.01, 0.02, 0.04)
SEEDS = (0, 1, 2)
SHORT_BUDGET = 4
BEAM_WIDTHS = (2, 4, 8)
ALPHAS = (0.0, 0.6, 1.0)
MODEL = {"attention": None, "bidirectional": False}


def tagged(*, role, **kwargs):
    """run_translation(**kwargs); ``role`` only labels the stored run."""
    return run_translation(**kwargs)


def main():
    torch.set_num_threads(1)
    sweep = Sweep(
        "encoder_bottleneck",
        command=COMMAND,
        settings={
            "task": TASK,
            "training": TRAINING,
            "learning_rates": LEARNING_RATES,
            "short_budget": SHORT_BUDGET,
            "beam_widths": BEAM_WIDTHS,
            "alphas": ALPHAS,
            **MODEL,
        },
    )
    grid = [
        sweep.run(tagged, seed=0, learning_rate=rate, keep_weights=True, role="grid", **MODEL)
        for rate in LEARNING_RATES
    ]
    best = max(grid, key=lambda run: max(run["val_exact_match"]))
    chosen = best["learning_rate"]
    for run in grid:  # only the chosen model is kept and scored on test
        weights = run.pop("weights")
        run["chosen"] = run is best
        if run is best:  # the seed-0 final model
            model = load_translator({**run, "weights": weights})
            best["outputs"]["test"] = join_outputs(translate_split(model, "test"))
            best["weights"] = weights
    for seed in SEEDS[1:]:
        sweep.run(
            tagged,
            seed=seed,
            learning_rate=chosen,
            score=("validation", "test"),
            role="final",
            **MODEL,
        )
    for seed in SEEDS:
        sweep.run(
            tagged, seed=seed, learning_rate=chosen, max_epochs=SHORT_BUDGET, role="short", **MODEL
        )
    sweep.run(tagged, seed=0, learning_rate=chosen, reverse_source=True, role="reversed", **MODEL)

    # beam search outputs, stored where they differ from greedy decoding's
    greedy = translate_split(model, "validation")
    beams = {}
    for width in BEAM_WIDTHS:
        for alpha in ALPHAS:
            found = translate_split(model, "validation", beam_width=width, length_penalty=alpha)
            beams[f"{width} {alpha:g}"] = {
                str(i): text for i, (text, first) in enumerate(zip(found, greedy)) if text != first
            }
            print(
                f"beam width {width}, alpha {alpha:g}: {len(beams[f'{width} {alpha:g}'])} "
                f"outputs differ from greedy",
                flush=True,
            )
    sweep.finish(summary={"chosen_learning_rate": chosen, "beam_outputs": beams})


if __name__ == "__main__":
    main()
