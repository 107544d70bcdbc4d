"""The checks of the classification and labelling exercises: right answers pass, mistakes are named."""

import pytest
import torch

from helpers.exercises import CheckFailed, check_final_states, check_token_scores
from helpers.sequence_classification import final_states as reference_final_states
from helpers.sequence_labelling import token_scores as reference_token_scores


def failure_text(check, fn):
    with pytest.raises(CheckFailed) as caught:
        check(fn)
    return str(caught.value)


# --------------------------------------------------------------------------- final_states


def lengths_of(mask):
    return mask.sum(dim=1)


def test_reference_and_a_loop_pass_check_final_states():
    check_final_states(reference_final_states)

    def loop(outputs, mask):
        rows = [outputs[n, int(mask[n].sum()) - 1] for n in range(outputs.shape[0])]
        return torch.stack(rows)

    check_final_states(loop)


@pytest.mark.parametrize(
    "wrong, words",
    [
        (lambda outputs, mask: outputs[:, -1], "after the padding"),
        (lambda outputs, mask: outputs[torch.arange(len(mask)), lengths_of(mask)], "L - 1"),
        (lambda outputs, mask: outputs[:, 0], "first step"),
        (
            lambda outputs, mask: (outputs * mask[..., None]).sum(1) / mask.sum(1, keepdim=True),
            "mean over the real steps",
        ),
        (lambda outputs, mask: (outputs * mask[..., None]).sum(1), "sum over the real steps"),
        (lambda outputs, mask: outputs.mean(1), "padding included"),
        (
            lambda outputs, mask: outputs[torch.arange(len(mask)), lengths_of(mask) - 1].float(),
            "dtype torch.float32",
        ),
        (lambda outputs, mask: outputs[:, lengths_of(mask) - 1], "shape"),
        (lambda outputs, mask: None, "None"),
        (lambda outputs, mask: 1 / 0, "ZeroDivisionError"),
    ],
)
def test_check_final_states_names_the_mistake(wrong, words):
    assert words in failure_text(check_final_states, wrong)


def test_check_final_states_reports_in_place_changes():
    def clobber(outputs, mask):
        result = reference_final_states(outputs, mask).clone()
        mask[:] = True
        return result

    assert "modified its inputs" in failure_text(check_final_states, clobber)


def test_check_final_states_needs_a_function():
    with pytest.raises(TypeError, match="your function itself"):
        check_final_states(
            reference_final_states(torch.zeros(1, 1, 1), torch.ones(1, 1, dtype=bool))
        )


# --------------------------------------------------------------------------- token_scores


def test_reference_passes_check_token_scores():
    check_token_scores(reference_token_scores)


def counts(predicted, true):
    pairs = [(p, t) for p_row, t_row in zip(predicted, true) for p, t in zip(p_row, t_row)]
    tp = sum(p == t == 1 for p, t in pairs)
    fp = sum(p == 1 and t == 0 for p, t in pairs)
    fn = sum(p == 0 and t == 1 for p, t in pairs)
    return pairs, tp, fp, fn


def make_scores(precision_of, recall_of, f1_of):
    def scores(predicted, true):
        pairs, tp, fp, fn = counts(predicted, true)
        p, r = precision_of(tp, fp, fn), recall_of(tp, fp, fn)
        return {
            "accuracy": sum(a == b for a, b in pairs) / len(pairs),
            "precision": p,
            "recall": r,
            "f1": f1_of(p, r),
        }

    return scores


def safe(a, b):
    return a / b if b else 0.0


def harmonic(p, r):
    return safe(2 * p * r, p + r)


def test_a_careful_implementation_passes():
    check_token_scores(
        make_scores(
            lambda tp, fp, fn: safe(tp, tp + fp), lambda tp, fp, fn: safe(tp, tp + fn), harmonic
        )
    )


@pytest.mark.parametrize(
    "wrong, words",
    [
        (
            make_scores(
                lambda tp, fp, fn: safe(tp, tp + fn), lambda tp, fp, fn: safe(tp, tp + fp), harmonic
            ),
            "swapped",
        ),
        (
            make_scores(
                lambda tp, fp, fn: safe(tp, tp + fp),
                lambda tp, fp, fn: safe(tp, tp + fn),
                lambda p, r: (p + r) / 2,
            ),
            "harmonic mean",
        ),
        (
            make_scores(
                lambda tp, fp, fn: tp / (tp + fp), lambda tp, fp, fn: safe(tp, tp + fn), harmonic
            ),
            "precision as 0",
        ),
        (lambda predicted, true: reference_token_scores(predicted, true, positive=0), "label 0"),
        (
            lambda predicted, true: {
                k: sum(reference_token_scores([p], [t])[k] for p, t in zip(predicted, true))
                / len(true)
                for k in ("accuracy", "precision", "recall", "f1")
            },
            "per-word",
        ),
        (lambda predicted, true: {"accuracy": 1.0}, "lacks the keys"),
        (lambda predicted, true: [0.5] * 4, "expected a dict"),
        (
            lambda predicted, true: {
                "accuracy": 1.0,
                "precision": float("nan"),
                "recall": 0.0,
                "f1": 0.0,
            },
            "not a finite number",
        ),
    ],
)
def test_check_token_scores_names_the_mistake(wrong, words):
    assert words in failure_text(check_token_scores, wrong)


def test_check_token_scores_reports_changed_inputs():
    def clobber(predicted, true):
        result = reference_token_scores(predicted, true)
        predicted[0][0] = 1 - predicted[0][0]
        return result

    assert "modified its inputs" in failure_text(check_token_scores, clobber)
