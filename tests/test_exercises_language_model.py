"""check_perplexity passes right answers, names the classic mistakes, and never crashes on junk.

As in test_exercises.py: the check runs on correct implementations written in
several ways and on wrong ones written the way students write them, each
with one mistake; the failure message must name that mistake, and no message
may quote the check's reference code.
"""

import inspect
import math

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from helpers import exercises
from helpers.exercises import CheckFailed
from helpers.exercises import language_model as checks

IGNORE = -100
_REFERENCE_LINES = [
    line.strip()
    for line in inspect.getsource(checks._reference).splitlines()[2:]
    if len(line.strip()) >= 15
]


def failure(fn, capsys):
    """Run the check on ``fn``, which must fail; return its CheckFailed message."""
    with pytest.raises(CheckFailed) as caught:
        exercises.check_perplexity(fn)
    message = str(caught.value)
    printed = capsys.readouterr().out
    for text in (message, printed):
        leaked = [line for line in _REFERENCE_LINES if line in text]
        assert not leaked, f"reference code in the report: {leaked}"
        assert "Traceback" not in text
    return message


# --------------------------------------------------------------------------- right answers


def with_cross_entropy(logits, targets):
    return math.exp(F.cross_entropy(logits.transpose(1, 2), targets).item())


def flattened(logits, targets):
    V = logits.shape[-1]
    return F.cross_entropy(logits.reshape(-1, V), targets.reshape(-1), ignore_index=IGNORE).exp()


def by_hand(logits, targets):
    real = targets != IGNORE
    log_p = logits.log_softmax(dim=-1)
    picked = log_p.gather(-1, targets.clamp(min=0).unsqueeze(-1)).squeeze(-1)
    return torch.exp(-(picked * real).sum() / real.sum())


def in_numpy(logits, targets):
    z, y = logits.double().numpy(), targets.numpy()
    log_p = z - z.max(-1, keepdims=True)
    log_p = log_p - np.log(np.exp(log_p).sum(-1, keepdims=True))
    n, t = np.nonzero(y != IGNORE)
    return np.exp(-log_p[n, t, y[n, t]].mean())


def in_bits(logits, targets):
    real = targets != IGNORE
    log2_p = logits.log_softmax(-1)[real].gather(-1, targets[real][:, None]) / math.log(2)
    return 2 ** (-log2_p.mean().item())


def in_float32(logits, targets):
    return math.exp(F.cross_entropy(logits.float().transpose(1, 2), targets).item())


@pytest.mark.parametrize(
    "fn", [with_cross_entropy, flattened, by_hand, in_numpy, in_bits, in_float32]
)
def test_right_answers_pass_and_say_so(fn, capsys):
    result = exercises.check_perplexity(fn)
    printed = capsys.readouterr().out
    assert result.passed and not result.failures
    assert all(message.startswith("✓") for message in result.messages)
    assert printed.rstrip().endswith(f"All {len(result.messages)} checks passed.")


def test_a_non_function_is_a_type_error():
    with pytest.raises(TypeError, match="must be your function itself"):
        exercises.check_perplexity(3.0)


# --------------------------------------------------------------------------- classic mistakes


def parts(logits, targets):
    """Per-position negative log-likelihoods (0 at padding), the real mask, and p."""
    real = targets != IGNORE
    log_p = logits.double().log_softmax(-1)
    nll = -log_p.gather(-1, targets.clamp(min=0).unsqueeze(-1)).squeeze(-1) * real
    return nll, real, log_p


def mean_per_sequence(logits, targets):
    nll, real, _ = parts(logits, targets)
    return math.exp((nll.sum(1) / real.sum(1)).mean().item())


def mean_of_sequence_perplexities(logits, targets):
    nll, real, _ = parts(logits, targets)
    return (nll.sum(1) / real.sum(1)).exp().mean().item()


def padding_in_the_denominator(logits, targets):
    nll, _, _ = parts(logits, targets)
    return math.exp(nll.mean().item())


def padding_as_class_zero(logits, targets):
    return math.exp(F.cross_entropy(logits.transpose(1, 2), targets.clamp(min=0)).item())


def per_name(logits, targets):
    nll, _, _ = parts(logits, targets)
    return math.exp(nll.sum(1).mean().item())


def zero_is_padding(logits, targets):
    keep = targets > 0
    return math.exp(F.cross_entropy(logits[keep], targets[keep]).item())


def no_exp(logits, targets):
    return F.cross_entropy(logits.transpose(1, 2), targets).item()


def wrong_sign(logits, targets):
    return math.exp(-F.cross_entropy(logits.transpose(1, 2), targets).item())


def bits_per_character(logits, targets):
    return F.cross_entropy(logits.transpose(1, 2), targets).item() / math.log(2)


def exp_of_bits(logits, targets):
    return math.exp(F.cross_entropy(logits.transpose(1, 2), targets).item() / math.log(2))


def two_to_the_nats(logits, targets):
    return 2 ** F.cross_entropy(logits.transpose(1, 2), targets).item()


def probabilities_without_log(logits, targets):
    real = targets != IGNORE
    p = logits.softmax(-1)[real].gather(-1, targets[real][:, None])
    return math.exp(-p.mean().item())


def inverse_mean_probability(logits, targets):
    real = targets != IGNORE
    p = logits.softmax(-1)[real].gather(-1, targets[real][:, None])
    return 1 / p.mean().item()


def mean_of_exp(logits, targets):
    losses = F.cross_entropy(logits.transpose(1, 2), targets, reduction="none")
    return losses[targets != IGNORE].exp().mean().item()


def raw_logits(logits, targets):
    real = targets != IGNORE
    return math.exp(-logits[real].gather(-1, targets[real][:, None]).mean().item())


def softmax_over_time(logits, targets):
    real = targets != IGNORE
    log_p = logits.log_softmax(dim=1)
    return math.exp(-log_p[real].gather(-1, targets[real][:, None]).mean().item())


def shifted_again(logits, targets):
    return math.exp(F.cross_entropy(logits[:, :-1].transpose(1, 2), targets[:, 1:]).item())


def most_likely_class(logits, targets):
    real = targets != IGNORE
    return math.exp(-logits.log_softmax(-1).max(-1).values[real].mean().item())


@pytest.mark.parametrize(
    "wrong, expected",
    [
        (mean_per_sequence, "the mean is taken per sequence"),
        (mean_of_sequence_perplexities, "mean of the per-sequence perplexities"),
        (padding_in_the_denominator, "the padded steps are counted"),
        (padding_as_class_zero, "as if their target were id 0"),
        (per_name, "the loss per name, not per character"),
        (zero_is_padding, "the targets equal to 0 are left out"),
        (no_exp, "exp is missing"),
        (wrong_sign, "the sign is wrong"),
        (bits_per_character, "bits per character"),
        (exp_of_bits, "exp of a cross-entropy in bits"),
        (two_to_the_nats, "2 to the power of a cross-entropy in nats"),
        (probabilities_without_log, "used without the log"),
        (inverse_mean_probability, "arithmetic mean of the probabilities"),
        (mean_of_exp, "exp of the mean, not the mean of exp"),
        (raw_logits, "the logits are used as log-probabilities"),
        (softmax_over_time, "over the wrong axis"),
        (shifted_again, "the targets are shifted once more"),
        (most_likely_class, "the most likely class"),
    ],
)
def test_classic_mistakes_are_named(wrong, expected, capsys):
    message = failure(wrong, capsys)
    assert expected in message
    assert "the perplexity is" in message and "expected" in message


def test_indexing_with_the_padding_value_names_ignore_index(capsys):
    def gathers_everything(logits, targets):
        log_p = logits.log_softmax(-1).gather(-1, targets.unsqueeze(-1))
        return math.exp(-log_p.mean().item())

    message = failure(gathers_everything, capsys)
    assert "raised RuntimeError: index -100 is out of bounds" in message
    assert "in gathers_everything, line" in message
    assert "IGNORE_INDEX = -100" in message


def test_cross_entropy_without_the_transpose_says_where_the_classes_go(capsys):
    def untransposed(logits, targets):
        return math.exp(F.cross_entropy(logits, targets).item())

    message = failure(untransposed, capsys)
    assert "Expected target size" in message and "logits.transpose(1, 2)" in message


def test_modifying_the_targets_in_place_is_reported(capsys):
    def overwrites(logits, targets):
        real = targets != IGNORE
        targets[~real] = 0
        nll = F.cross_entropy(logits.transpose(1, 2), targets, reduction="none")
        return math.exp((nll * real).sum().item() / real.sum().item())

    message = failure(overwrites, capsys)
    assert "modified its input targets in place" in message


@pytest.mark.parametrize(
    "wrong, expected",
    [
        (lambda logits, targets: None, "the result is None"),
        (lambda logits, targets: torch.ones(logits.shape[0]) * 2, "one value per sequence"),
        (lambda logits, targets: torch.ones(targets.shape) * 2, "one value per step"),
        (lambda logits, targets: torch.tensor([3.0]), "value.item()"),
        (lambda logits, targets: np.array([3.0]), "value.item()"),
        (lambda logits, targets: torch.tensor(3), "dtype torch.int64, expected a float"),
        (lambda logits, targets: "3.0", "the result is str '3.0'"),
        (lambda logits, targets: [3.0], "the result is list [3.0]"),
        (lambda logits, targets: True, "the result is the bool True"),
        (lambda logits, targets: 1 + 2j, "the result is complex"),
        (lambda logits, targets: math.nan, "expected a finite perplexity"),
        (lambda logits, targets: torch.tensor(math.inf), "expected a finite perplexity"),
        (lambda logits, targets: 0.5, "a perplexity is at least 1"),
        (lambda logits, targets: object(), "the result is object"),
        (lambda logits, targets: (x for x in [1.0]), "the result is generator"),
    ],
)
def test_junk_never_crashes(wrong, expected, capsys):
    assert expected in failure(wrong, capsys)


@pytest.mark.parametrize(
    "error",
    [
        ValueError("bad"),
        ZeroDivisionError("division by zero"),
        KeyError("k"),
        NotImplementedError(),
    ],
)
def test_exceptions_become_report_lines(error, capsys):
    def raises(logits, targets):
        raise error

    message = failure(raises, capsys)
    assert f"raised {type(error).__name__}" in message
    if isinstance(error, NotImplementedError):
        assert "replace `raise NotImplementedError()`" in message


def test_a_right_answer_after_a_wrong_one_still_passes(capsys):
    with pytest.raises(CheckFailed):
        exercises.check_perplexity(no_exp)
    assert exercises.check_perplexity(with_cross_entropy).passed
