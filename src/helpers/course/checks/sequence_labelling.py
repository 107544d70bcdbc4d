"""The check of the sequence-labelling exercise: per-token accuracy, precision, recall and F1.

``token_scores(predicted, true)`` gets two aligned lists of label sequences
(one list of 0/1 labels per word, 1 = a break may follow the character) and
returns a dict with ``accuracy``, ``precision``, ``recall`` and ``f1`` of the
label 1, every character of every word counted once. The check compares with
:func:`helpers.sequence_labelling.token_scores` on fixed labels where the
classic mistakes give other numbers (scores of the label 0, precision and
recall swapped, scores averaged per word, F1 as the arithmetic mean) and on a
case where nothing is predicted positive, where precision must be 0, not a
division by zero.
"""

import math
import numbers
import random

from helpers.course.feedback import function_label, report_exception, start_check
from helpers.sequence_labelling import token_scores as _reference

__all__ = ["check_token_scores"]

_KEYS = ("accuracy", "precision", "recall", "f1")


def _labels(seed, lengths, rate, flip):
    rng = random.Random(seed)
    true = [[int(rng.random() < rate) for _ in range(n)] for n in lengths]
    predicted = [[label if rng.random() > flip else 1 - label for label in row] for row in true]
    return predicted, true


def _cases():
    predicted, true = _labels(0, (3, 9, 4, 12, 6, 2, 8), 0.3, 0.25)
    yield "7 words of 2 to 12 characters, some breaks missed and some invented", predicted, true
    predicted, true = _labels(1, (5, 11, 7, 4), 0.35, 0.3)
    yield "4 words where long and short words score differently", predicted, true
    true = [[0, 1, 0, 0], [0, 0, 1, 0, 1, 0, 0]]
    predicted = [[0] * 4, [0] * 7]
    yield "a tagger that never predicts a break (precision must be 0, not 0/0)", predicted, true


def _per_word(predicted, true):
    scores = [_reference([p], [t]) for p, t in zip(predicted, true)]
    return {key: sum(s[key] for s in scores) / len(scores) for key in _KEYS}


def _variants(predicted, true):
    want = _reference(predicted, true)
    negative = _reference(predicted, true, positive=0)
    precision, recall = want["precision"], want["recall"]
    return [
        (
            "those are the scores of the label 0 (no break): precision, recall and F1 are about "
            "the label 1",
            negative,
        ),
        (
            "precision and recall are swapped: precision = TP / (TP + FP) counts among the predicted "
            "breaks, recall = TP / (TP + FN) among the true ones",
            {**want, "precision": recall, "recall": precision},
        ),
        (
            "those are means of per-word scores: count TP, FP and FN over all characters of all "
            "words first, then divide once",
            _per_word(predicted, true),
        ),
        (
            "F1 is the harmonic mean 2PR / (P + R), not the arithmetic mean (P + R) / 2",
            {**want, "f1": (precision + recall) / 2},
        ),
    ]


def _number(value):
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        try:
            value = float(value)  # numpy scalars, 0-d tensors
        except (TypeError, ValueError):
            return None
    return float(value)


def check_token_scores(fn):
    """Check ``token_scores(predicted, true) -> dict``, per-token scores of the label 1.

    ``predicted`` and ``true`` are lists of lists of 0/1 labels, aligned. The
    dict must hold ``accuracy``, ``precision``, ``recall`` and ``f1`` as
    numbers, counted over every character of every word, with precision
    (recall) 0 when nothing is predicted (present) positive, and F1 0 when
    both are 0. Compared with the reference to 1e-9.

    Raises:
        CheckFailed: if any test fails; its message lists the failures.
    """
    report = start_check("check_token_scores", fn=fn)
    label = function_label(fn, "token_scores")
    for title, predicted, true in _cases():
        report.start_case(title)
        given = ([row[:] for row in predicted], [row[:] for row in true])
        try:
            value = fn(*given)
        except Exception as error:
            report_exception(
                report,
                label,
                error,
                lambda message: (
                    "nothing is predicted positive here, so TP + FP = 0: define precision as 0 "
                    "then (and F1 as 0 when precision + recall = 0)"
                    if "division" in message or "divide" in message
                    else None
                ),
            )
            continue
        if given != (predicted, true):
            report.fail(
                f"{label} modified its inputs in place",
                hint="read the label lists; do not change them",
            )
            continue
        report.ok(f"{label} runs and leaves its inputs unchanged")
        if not isinstance(value, dict):
            report.fail(
                f"{label} returned {type(value).__name__}, expected a dict with the keys "
                f"{', '.join(_KEYS)}",
                hint="is the return statement missing?" if value is None else None,
            )
            continue
        missing = [key for key in _KEYS if key not in value]
        if missing:
            report.fail(f"the dict lacks the keys {', '.join(missing)}")
            continue
        got = {key: _number(value[key]) for key in _KEYS}
        bad = [key for key, number in got.items() if number is None or not math.isfinite(number)]
        if bad:
            report.fail(
                f"{', '.join(bad)} {'is' if len(bad) == 1 else 'are'} not a finite number: "
                + ", ".join(f"{key} = {value[key]!r}" for key in bad),
                hint="0/0 gives NaN: when a denominator is 0, the score is 0",
            )
            continue
        report.ok(f"{label} returns a dict of four numbers")
        want = _reference(predicted, true)
        wrong = [key for key in _KEYS if abs(got[key] - want[key]) > 1e-9]
        if not wrong:
            report.ok(
                "accuracy "
                + ", ".join(f"{key} {want[key]:.4f}" for key in _KEYS[1:])
                + " match the reference"
            )
            continue
        hint = next(
            (
                variant_hint
                for variant_hint, scores in _variants(predicted, true)
                if any(abs(got[key] - scores[key]) < 1e-9 for key in wrong)
                and all(abs(got[key] - scores[key]) < 1e-9 for key in wrong)
            ),
            None,
        )
        report.fail(
            "; ".join(f"{key} is {got[key]:.4f}, expected {want[key]:.4f}" for key in wrong),
            hint=hint,
        )
    return report.finish()
