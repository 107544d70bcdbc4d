"""The check of the language-model exercise: perplexity from logits and padded targets.

``perplexity(logits, targets)`` gets the scores of a language model on a padded
batch, logits ``(N, T, V)``, and the next characters, targets ``(N, T)`` with
:data:`helpers.text.IGNORE_INDEX` (-100) at the padded steps, and returns the
perplexity: ``exp`` of the mean negative log-likelihood per predicted
character, every real step of every sequence counted once.

The check compares with a float64 computation on fixed inputs, on batches
where sequences of very different lengths, logits at padded steps, a real
target of id 0 and float32 logits all change the answer of a wrong
implementation. A wrong value is recomputed with each classic mistake (mean
over sequences, padded steps counted, bits mixed with nats, exp forgotten,
probabilities without the log, the wrong class or axis, ...) and the mistake
that reproduces it is named.
"""

import math
import numbers

import numpy as np
import torch

from helpers.course.feedback import (
    check_finite_number,
    function_label,
    reduction_hint,
    report_exception,
    start_check,
)
from helpers.text import IGNORE_INDEX

__all__ = ["check_perplexity"]

_IGNORE_HINT = (
    f"padded steps hold IGNORE_INDEX = {IGNORE_INDEX} in targets, which is no "
    "class: leave them out (mask = targets != -100) before indexing the "
    "log-probabilities, or let F.cross_entropy skip them (its ignore_index is -100)"
)
_LAYOUT_HINT = (
    "F.cross_entropy wants the classes in dimension 1: pass logits.transpose(1, 2), "
    "of shape (N, V, T), with targets (N, T), or flatten both: "
    "logits.reshape(-1, V) and targets.reshape(-1)"
)


def _error_hint(message):
    if "-100" in message or "out of bounds" in message or "non-negative" in message:
        return _IGNORE_HINT
    if "Expected target size" in message or "Expected input batch_size" in message:
        return _LAYOUT_HINT
    if "scalar type" in message or "dtype" in message:
        return (
            "the logits are floats and the targets int64 ids; convert neither into the "
            "other's type (index with the targets, compute with the logits)"
        )
    return None


# --------------------------------------------------------------------------- inputs


def _inputs(seed, lengths, T, V, dtype, zero_targets=False):
    """Seeded logits (N, T, V) and targets (N, T), IGNORE_INDEX after each length.

    The logits at padded steps are as large as the others, so a computation
    that uses them gets another value. Real targets avoid id 0 (the padding id
    of the inputs, never a next character) unless ``zero_targets``.
    """
    generator = torch.Generator().manual_seed(seed)
    N = len(lengths)
    logits = torch.randn(N, T, V, generator=generator, dtype=torch.float64)
    low = 0 if zero_targets else 1
    targets = torch.randint(low, V, (N, T), generator=generator)
    if zero_targets:
        targets[0, 0] = 0
    steps = torch.arange(T)[None, :]
    targets[steps >= torch.tensor(lengths)[:, None]] = IGNORE_INDEX
    return logits.to(dtype), targets


def _log_softmax(a, axis=-1):
    shifted = a - a.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def _gather(values, targets):
    """values[n, t, targets[n, t]] at every position; 0 where targets is IGNORE_INDEX."""
    index = np.where(targets == IGNORE_INDEX, 0, targets)
    return np.take_along_axis(values, index[..., None], axis=-1)[..., 0]


def _reference(logits, targets):
    """The perplexity, in float64."""
    real = targets != IGNORE_INDEX
    nll = -_gather(_log_softmax(logits), targets)
    return math.exp(nll[real].sum() / real.sum())


def _variants(logits, targets):
    """Classic wrong perplexities, each with its hint, as (hint, compute) pairs."""
    real = targets != IGNORE_INDEX
    log_p = _log_softmax(logits)
    nll = -_gather(log_p, targets)
    mean_nll = nll[real].sum() / real.sum()
    p = np.exp(-nll)
    per_sequence = (nll * real).sum(axis=1) / real.sum(axis=1)
    N, T = targets.shape
    ln2 = math.log(2)
    per_token = (
        "every predicted character of every sequence counts once: the sum of the "
        "per-character losses over the number of real (not padded) targets"
    )

    def shifted_again():
        again = real[:, 1:]
        return math.exp(-_gather(log_p[:, :-1], targets[:, 1:])[again].mean())

    return [
        (
            "the mean is taken per sequence, then over the sequences, so a short name weighs as "
            f"much as a long one; {per_token}",
            lambda: math.exp(per_sequence.mean()),
        ),
        (
            "this is the mean of the per-sequence perplexities; the perplexity is exp of the mean "
            f"loss per character over the whole batch: {per_token}",
            lambda: float(np.exp(per_sequence).mean()),
        ),
        (
            "the padded steps are counted: the sum of the losses is divided by all N * T "
            f"positions, padding included; {per_token}",
            lambda: math.exp(nll[real].sum() / (N * T)),
        ),
        (
            "the padded steps are scored as if their target were id 0 (the padding id); they are "
            f"no prediction at all and must be left out: {per_token}",
            lambda: math.exp(-_gather(log_p, np.where(real, targets, 0)).mean()),
        ),
        (
            "the loss is summed over each sequence and averaged over the sequences: that is the "
            f"loss per name, not per character; {per_token}",
            lambda: math.exp(nll[real].sum() / N),
        ),
        (
            f"the targets equal to 0 are left out as padding: padding is marked by IGNORE_INDEX = "
            f"{IGNORE_INDEX} in targets (0 is the padding id of the inputs only)",
            lambda: math.exp(nll[targets > 0].mean()),
        ),
        (
            "exp is missing: this is the mean negative log-likelihood per character (the "
            "cross-entropy in nats); the perplexity is exp of it",
            lambda: mean_nll,
        ),
        (
            "the sign is wrong: exp of the mean log-likelihood is 1 / perplexity; the loss is the "
            "negative log-likelihood, -mean log p",
            lambda: math.exp(-mean_nll),
        ),
        (
            "this is the cross-entropy in bits (log2 p): bits per character, log2 of the "
            "perplexity; the perplexity is 2 ** (bits per character) = exp(nats per character)",
            lambda: mean_nll / ln2,
        ),
        (
            "bases are mixed: exp of a cross-entropy in bits; use one base throughout, "
            "2 ** (mean -log2 p) or exp(mean -ln p), which are the same number",
            lambda: math.exp(mean_nll / ln2),
        ),
        (
            "bases are mixed: 2 to the power of a cross-entropy in nats; use one base throughout, "
            "2 ** (mean -log2 p) or exp(mean -ln p), which are the same number",
            lambda: 2**mean_nll,
        ),
        (
            "the probabilities are used without the log: the loss of a character is -log p, not -p",
            lambda: math.exp(-p[real].mean()),
        ),
        (
            "this is 1 / (the arithmetic mean of the probabilities); the perplexity is 1 / their "
            "geometric mean, exp(mean -log p)",
            lambda: 1 / p[real].mean(),
        ),
        (
            "this is the arithmetic mean of 1 / p over the characters; the perplexity is exp of "
            "the mean -log p (exp of the mean, not the mean of exp)",
            lambda: float(np.exp(nll[real]).mean()),
        ),
        (
            "the logits are used as log-probabilities: normalise them first with log_softmax "
            "over the vocabulary (the last axis)",
            lambda: math.exp(-_gather(logits, targets)[real].mean()),
        ),
        (
            "log_softmax is taken over the wrong axis (the time axis, dim=1); the probabilities "
            "of the next character sum to 1 over the vocabulary, the last axis (dim=-1)",
            lambda: math.exp(-_gather(_log_softmax(logits, axis=1), targets)[real].mean()),
        ),
        (
            "the targets are shifted once more: logits[:, t] already score the character that "
            "follows input t, which is targets[:, t]; compare them position by position",
            shifted_again,
        ),
        (
            "this scores the most likely class at every step (the maximum of the "
            "log-probabilities), not the target's class: pick log p[n, t, targets[n, t]]",
            lambda: math.exp(-log_p.max(axis=-1)[real].mean()),
        ),
    ]


def _close(a, b, tolerance):
    return abs(a - b) <= tolerance * abs(b)


# --------------------------------------------------------------------------- the returned value


# Hints for a result that should be one number: per sequence, per step, one element.
_PERPLEXITY_SHAPE_HINTS = (
    "that is one value per sequence: the perplexity of the batch is one "
    "number, from the losses of all its real steps together",
    "that is one value per step: the perplexity of the batch is one number, "
    "exp of the mean loss over its real steps",
    "return the number itself: value.item() (or a 0-dimensional tensor)",
)


def _as_number(report, value, N, T):
    """The returned value as a float, or None after a failed test saying what it is."""
    expected = "a float (or a 0-dimensional tensor)"
    if value is None:
        report.fail(
            f"the result is None, expected {expected}", hint="is the return statement missing?"
        )
        return None
    if isinstance(value, bool) or isinstance(value, np.bool_):
        report.fail(f"the result is the bool {value!r}, expected {expected}")
        return None
    if isinstance(value, numbers.Real):
        return float(value)
    if isinstance(value, (torch.Tensor, np.ndarray)):
        shape = tuple(value.shape)
        if value.dtype in (torch.bool, np.bool_) or not (
            value.dtype.is_floating_point
            if isinstance(value, torch.Tensor)
            else np.issubdtype(value.dtype, np.floating)
        ):
            report.fail(f"the result has dtype {value.dtype}, expected a float")
            return None
        if shape == ():
            return float(value)
        hint = reduction_hint(
            shape,
            value.size if isinstance(value, np.ndarray) else value.numel(),
            (N, T),
            *_PERPLEXITY_SHAPE_HINTS,
        )
        report.fail(f"the result has shape {shape}, expected {expected}", hint=hint)
        return None
    report.fail(f"the result is {type(value).__name__} {value!r}"[:120] + f", expected {expected}")
    return None


# --------------------------------------------------------------------------- the check


_CASES = (
    # seed, lengths, T, V, dtype, zero_targets, title
    (
        901,
        (6, 2, 5, 1),
        6,
        7,
        torch.float64,
        False,
        "4 sequences of lengths 6, 2, 5 and 1, padded to T = 6; V = 7; float64",
    ),
    (
        902,
        (5,),
        5,
        5,
        torch.float64,
        True,
        "1 sequence of 5 steps, no padding, a real target of id 0; V = 5; float64",
    ),
    (
        903,
        (9, 1, 4),
        9,
        30,
        torch.float32,
        False,
        "3 sequences of lengths 9, 1 and 4, padded to T = 9; V = 30; float32",
    ),
)


def check_perplexity(fn):
    """Check ``perplexity(logits, targets) -> float``, the perplexity of a padded batch.

    ``logits`` is a float tensor ``(N, T, V)`` of scores for the next
    character, ``targets`` an int64 tensor ``(N, T)`` of the next characters'
    ids with ``IGNORE_INDEX = -100`` at the padded steps. The function must
    return ``exp`` of the mean of ``-log softmax(logits)[n, t, targets[n, t]]``
    over the real (not -100) positions, as a float (a Python or numpy float,
    or a 0-dimensional tensor), and must not modify its inputs. Compared with
    a float64 computation to a relative error of 1e-6 (1e-5 for float32 logits).

    Raises:
        CheckFailed: if any test fails; its message lists the failures.
    """
    report = start_check("check_perplexity", fn=fn)
    label = function_label(fn, "perplexity")
    for seed, lengths, T, V, dtype, zero_targets, title in _CASES:
        report.start_case(title)
        logits, targets = _inputs(seed, lengths, T, V, dtype, zero_targets)
        tolerance = 1e-5 if dtype == torch.float32 else 1e-6
        logits_np, targets_np = logits.double().numpy(), targets.numpy()
        want = _reference(logits_np, targets_np)
        given = dict(logits=logits.clone(), targets=targets.clone())
        try:
            value = fn(*given.values())
        except Exception as error:
            report_exception(report, label, error, _error_hint)
            continue
        originals = dict(logits=logits, targets=targets)
        changed = [
            name
            for name, tensor in given.items()
            if not (
                isinstance(tensor, torch.Tensor)
                and tensor.shape == originals[name].shape
                and torch.equal(tensor, originals[name])
            )
        ]
        if changed:
            report.fail(
                f"{label} modified its input {', '.join(changed)} in place",
                hint="compute new tensors (`t = torch.where(mask, targets, 0)`, not "
                "`targets[mask] = 0`); the caller still needs its inputs after the call",
            )
        else:
            report.ok(f"{label} runs and leaves its inputs unchanged")
        got = _as_number(report, value, len(lengths), T)
        if got is None:
            continue
        if not check_finite_number(
            report,
            "the result",
            got,
            "a finite perplexity",
            "compute log-probabilities with log_softmax, and count the real targets only",
        ):
            continue
        report.ok(f"the result is a number ({type(value).__name__})")
        if _close(got, want, tolerance):
            report.ok(
                f"the perplexity {got:.6g} matches the reference "
                f"(relative error {abs(got - want) / want:.1e})"
            )
            continue
        hint = None
        for variant_hint, compute in _variants(logits_np, targets_np):
            try:
                candidate = compute()
            except Exception:  # a variant that cannot be formed for these inputs is no match
                continue
            if math.isfinite(candidate) and _close(got, candidate, tolerance):
                hint = variant_hint
                break
        if hint is None and got < 1:
            hint = (
                "a perplexity is at least 1: every probability is at most 1, so the mean "
                "negative log-likelihood is at least 0"
            )
        report.fail(
            f"the perplexity is {got:.6g}, expected {want:.6g} "
            f"(relative error {abs(got - want) / want:.1e}, expected < {tolerance:.0e})",
            hint=hint,
        )
    return report.finish()
