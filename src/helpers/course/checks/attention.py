"""The checks of the attention exercises: a masked loss, the masked softmax, causal self-attention.

All three get float64 torch tensors and must return torch tensors.

- ``masked_sequence_loss(logits, targets, lengths) -> loss``: ``logits``
  ``(N, T, V)`` (requiring grad), ``targets`` ``(N, T)`` int64 ids in
  0..V-1 and ``lengths`` ``(N,)`` int64 in 1..T. The padded positions
  ``t >= lengths[n]`` hold ordinary ids (0), not -100, so the function must
  mask them itself. The loss is a 0-dimensional float64 tensor, the mean
  cross-entropy over the real positions only: the sum over n and
  ``t < lengths[n]`` of ``-log softmax(logits[n, t])[targets[n, t]]``,
  divided by ``lengths.sum()``. Its gradient is checked too, and must be
  exactly zero at the padded positions.
- ``masked_softmax(scores, valid_lens) -> weights``: ``scores`` ``(N, Q, K)``,
  ``valid_lens`` ``(N,)`` int64 in 0..K. A softmax over the last axis
  (the keys) over the positions ``k < valid_lens[n]``; the weights are
  exactly 0 at ``k >= valid_lens[n]``, and a row whose valid length is 0 is
  all zeros, never NaN. The reference is :func:`helpers.attention.masked_softmax`.
- ``causal_self_attention(x, W_q, W_k, W_v) -> y``: ``x`` ``(N, T, D)``,
  each ``W`` ``(D, D)``, row-major (``Q = x @ W_q``). The scores
  ``Q K^T / sqrt(D)`` ``(N, T, T)``; position i attends to the positions
  ``j <= i`` only, with a softmax over j, and ``y = weights @ V``
  ``(N, T, D)``. Besides comparing with the reference, the check changes the
  input after each position and tests that nothing before it changes.

Each check runs the student's function on fixed, seeded inputs, prints one
line per test and names a classic mistake (padding counted in the mean,
masked scores set to 0, a softmax over the wrong axis, a mask off by one,
a missing 1/sqrt(D), ...) when one of its recomputed variants reproduces the
wrong answer. Wrong types, shapes and dtypes, NaN, exceptions and inputs
changed in place are reported, never raised.
"""

import math
import numbers

import numpy as np
import torch
import torch.nn.functional as F

from helpers.attention import masked_softmax as _reference_masked_softmax
from helpers.course.feedback import (
    FAILED,
    call_safely_with_tensors,
    check_finite_number,
    describe,
    first_match,
    function_label,
    reduction_hint,
    report_exception,
    start_check,
)

__all__ = ["check_masked_sequence_loss", "check_masked_softmax", "check_causal_self_attention"]

# A float64 result computed another way differs from the reference by rounding only.
_VALUE_TOLERANCE = 1e-10
_WEIGHT_TOLERANCE = 1e-12
# A variant reproduces a wrong answer when it agrees to this (absolute) tolerance.
_VARIANT_TOLERANCE = 1e-9
# exp(x) overflows float64 to inf for x above log(float64 max), about 709.78.
_EXP_OVERFLOW = math.log(torch.finfo(torch.float64).max)


def _tensor_problem(name, value, shape, symbols, shape_hint=None):
    """(problem, hint) if ``value`` is not a float64 tensor of ``shape``, else (None, None)."""
    expected = f"a float64 tensor of shape ({symbols}) = {shape}"
    if value is None:
        return f"{name} is None, expected {expected}", "is the return statement missing?"
    if isinstance(value, np.ndarray):
        return (
            f"{name} is {describe(value)}, expected {expected}",
            "this exercise is in torch: keep every step a torch operation (no .numpy())",
        )
    if not isinstance(value, torch.Tensor):
        return f"{name} is {describe(value)}, expected {expected}", None
    if tuple(value.shape) != shape:
        return (
            f"{name} has shape {tuple(value.shape)}, expected ({symbols}) = {shape}",
            shape_hint(tuple(value.shape)) if shape_hint else None,
        )
    if value.dtype != torch.float64:
        return (
            f"{name} has dtype {value.dtype}, expected float64 (the dtype of the inputs)",
            "compute from the inputs and keep their dtype: no .float() and no new tensor "
            "made with dtype=torch.float32 (or from integers)",
        )
    return None, None


def _nonfinite(value):
    """'3 NaN and 1 infinite values out of 24', or None if every entry is finite."""
    if bool(torch.isfinite(value).all()):
        return None
    nan, inf = int(torch.isnan(value).sum()), int(torch.isinf(value).sum())
    return f"{nan} NaN and {inf} infinite values out of {value.numel()}"


def _same(got, want, tolerance=_VARIANT_TOLERANCE):
    return (
        isinstance(want, torch.Tensor)
        and got.shape == want.shape
        and bool(torch.isfinite(want).all())
        and bool(torch.allclose(got, want, rtol=0, atol=tolerance))
    )


def _matching_hint(got, variants):
    """The hint of the first variant ``(hint, compute)`` whose tensor equals ``got``, or None."""
    return first_match(got, variants, same=_same)


def _tensors(seed, *shapes):
    generator = torch.Generator().manual_seed(seed)
    return [torch.randn(*shape, dtype=torch.float64, generator=generator) for shape in shapes]


def _length_mask(lengths, T):
    """(N, T) bool: True at the real positions t < lengths[n]."""
    return torch.arange(T)[None, :] < lengths[:, None]


# --------------------------------------------------------------------------- masked loss


_LOSS_CASES = (
    # seed, lengths, T, V, title
    (0, (5, 2, 6, 1), 6, 5, "4 sequences of lengths 5, 2, 6, 1 padded to T = 6 (V = 5)"),
    (1, (4, 4, 4), 4, 3, "3 sequences of the same length 4, no padding (V = 3)"),
    (2, (1, 8, 3), 8, 7, "3 sequences of lengths 1, 8, 3 padded to T = 8 (V = 7)"),
)

_PER_TOKEN = "every real token counts once: the sum of their losses divided by lengths.sum()"
_OFF_BY_ONE_LOSS = (
    "the mask is off by one: sequence n has lengths[n] real positions, "
    "t = 0 .. lengths[n] - 1, so the mask is t < lengths[n]"
)
_DETACHED = (
    "keep the loss a tensor computed from logits with torch operations: .item(), "
    "float(...), .detach(), .numpy() or torch.tensor(a number) cut it off from the "
    "graph, and loss.backward() could not train the model"
)


# Hints for a result that should be one number: per sequence, per step, one element.
_LOSS_SHAPE_HINTS = (
    "that is one loss per sequence: the loss of the batch is one number, "
    "the mean over all real tokens of all sequences",
    "that is one loss per position: average them over the real positions into one number",
    "return a 0-dimensional tensor: value.reshape(()) (keep it a tensor)",
)


def _loss_inputs(seed, lengths, T, V):
    generator = torch.Generator().manual_seed(seed)
    N = len(lengths)
    logits = torch.randn(N, T, V, dtype=torch.float64, generator=generator)
    targets = torch.randint(0, V, (N, T), generator=generator)
    lengths = torch.tensor(lengths)
    targets[~_length_mask(lengths, T)] = 0  # padding holds an ordinary id, not -100
    return logits, targets, lengths


def _token_losses(logits, targets):
    """(N, T): -log softmax(logits[n, t])[targets[n, t]] at every position, padding included."""
    return F.cross_entropy(logits.transpose(1, 2), targets, reduction="none")


def _reference_loss(logits, targets, lengths):
    mask = _length_mask(lengths, logits.shape[1])
    return _token_losses(logits, targets)[mask].sum() / mask.sum()


def _loss_variants(targets, lengths):
    """Classic wrong losses as (hint, loss(logits)) pairs."""
    N, T = targets.shape
    mask = _length_mask(lengths, T)
    plus, minus = (
        torch.arange(T)[None, :] <= lengths[:, None],
        torch.arange(T)[None, :] < lengths[:, None] - 1,
    )

    def ce(logits):
        return _token_losses(logits, targets)

    return [
        (
            f"the padded positions are counted: this is the mean over all N * T positions, "
            f"padding included; {_PER_TOKEN}",
            lambda z: ce(z).mean(),
        ),
        (
            "the padded losses are zeroed but still counted: (loss * mask).mean() divides by all "
            "N * T positions; divide the masked sum by the number of real tokens, mask.sum()",
            lambda z: (ce(z) * mask).mean(),
        ),
        (
            f"this is the mean of the per-sequence means, so a short sequence weighs as much as a "
            f"long one; {_PER_TOKEN}",
            lambda z: ((ce(z) * mask).sum(1) / lengths).mean(),
        ),
        (
            "this is the sum of the real tokens' losses, not their mean: divide it by the number "
            "of real tokens, lengths.sum()",
            lambda z: ce(z)[mask].sum(),
        ),
        (
            "the sum is divided by the number of sequences N: divide it by the number of real "
            "tokens, lengths.sum()",
            lambda z: ce(z)[mask].sum() / N,
        ),
        (_OFF_BY_ONE_LOSS, lambda z: ce(z)[plus].sum() / plus.sum()),
        (_OFF_BY_ONE_LOSS, lambda z: ce(z)[plus].sum() / lengths.sum()),
        (_OFF_BY_ONE_LOSS, lambda z: ce(z)[minus].sum() / minus.sum()),
        (_OFF_BY_ONE_LOSS, lambda z: ce(z)[minus].sum() / lengths.sum()),
    ]


def _value_and_gradient(loss, logits):
    """The loss of a fresh copy of ``logits`` and its gradient."""
    leaf = logits.detach().clone().requires_grad_(True)
    value = loss(leaf)
    value.backward()
    return value.detach(), leaf.grad


def _loss_error_hint(message):
    if "-100" in message or "out of bounds" in message or "Target" in message:
        return "the targets are ids in 0..V-1 everywhere, padding included (no -100 here)"
    if "Expected target size" in message or "Expected input batch_size" in message:
        return (
            "F.cross_entropy wants the classes in dimension 1: pass logits.transpose(1, 2), "
            "of shape (N, V, T), with targets (N, T), or flatten both: "
            "logits.reshape(-1, V) and targets.reshape(-1)"
        )
    return None


def _as_loss(report, label, value, N, T):
    """(number, tensor) for the returned loss; tensor is None when it is not a usable tensor.

    A plain number still gets its value checked; anything else returns (None, None).
    """
    expected = "expected a 0-dimensional float64 tensor"
    if value is None:
        report.fail(f"{label} returned None, {expected}", hint="is the return statement missing?")
        return None, None
    if isinstance(value, (bool, np.bool_)):
        report.fail(f"{label} returned the bool {value!r}, {expected}")
        return None, None
    if isinstance(value, (numbers.Real, np.generic)) or (
        isinstance(value, np.ndarray) and value.size == 1
    ):
        report.fail(f"{label} returned {describe(value)}, {expected}", hint=_DETACHED)
        try:
            return float(value), None
        except (TypeError, ValueError):
            return None, None
    if not isinstance(value, torch.Tensor):
        report.fail(
            f"{label} returned {describe(value)}, {expected}",
            hint=_DETACHED if isinstance(value, np.ndarray) else None,
        )
        return None, None
    shape = tuple(value.shape)
    if shape != ():
        hint = reduction_hint(shape, value.numel(), (N, T), *_LOSS_SHAPE_HINTS)
        report.fail(f"{label} returned a tensor of shape {shape}, {expected}", hint=hint)
        return None, None
    if value.dtype != torch.float64:
        report.fail(
            f"{label} returned a tensor of dtype {value.dtype}, {expected} (the dtype of logits)",
            hint="compute with the logits in their own dtype: no .float()"
            if value.is_floating_point()
            else "a loss is a float: compute it from the logits, not from the integer targets",
        )
        return None, None
    report.ok(f"{label} returns a 0-dimensional float64 tensor")
    return float(value.detach()), value


def _check_loss_gradient(report, label, loss, logits, mask, want_grad, variants, value_right):
    """Tests of the gradient that ``loss.backward()`` leaves in ``logits.grad``."""
    if not loss.requires_grad:
        report.fail("the loss carries no gradient (its requires_grad is False)", hint=_DETACHED)
        return
    try:
        loss.backward()
    except Exception as error:
        report_exception(
            report,
            "loss.backward()",
            error,
            lambda message: (
                "return the loss without calling loss.backward() yourself: the "
                "caller (the training loop) does that"
                if "second time" in message
                else None
            ),
        )
        return
    grad = logits.grad
    if grad is None:
        report.fail(
            f"no gradient reaches logits after loss.backward(): the loss of {label} does "
            "not depend on the logits it was given",
            hint=_DETACHED,
        )
        return
    hint = _matching_hint(grad, [(h, lambda g=g: g) for h, g in variants])
    padded = (grad != 0).any(-1) & ~mask
    if bool(padded.any()):
        n, t = (int(i) for i in padded.nonzero()[0])
        report.fail(
            f"the gradient w.r.t. logits is not zero at the padded positions, first at "
            f"logits[{n}, {t}] (length {int(mask[n].sum())})",
            hint=hint
            or "the padded positions must take no part in the loss: leave "
            "their losses out (mask them) before summing",
        )
    else:
        report.ok("the gradient w.r.t. logits is exactly zero at the padded positions")
    difference = float((grad - want_grad).abs().max())
    if difference <= _VALUE_TOLERANCE:
        report.ok(
            f"the gradient w.r.t. logits matches the reference (max abs difference "
            f"{difference:.1e})"
        )
        return
    if hint is None and value_right:
        hint = (
            "the value is right but its gradient is not: is part of the computation "
            "detached (.detach(), .data, .item(), torch.no_grad())?"
        )
    report.fail(
        f"the gradient w.r.t. logits differs from the reference: max abs difference "
        f"{difference:.1e} (expected < {_VALUE_TOLERANCE:.0e})",
        hint=hint,
    )


def check_masked_sequence_loss(fn):
    """Check ``masked_sequence_loss(logits, targets, lengths) -> loss``.

    ``logits`` is a float64 tensor ``(N, T, V)`` that requires grad,
    ``targets`` an int64 tensor ``(N, T)`` of ids in 0..V-1 (the padded
    positions hold ordinary ids, not -100) and ``lengths`` an int64 tensor
    ``(N,)`` of true lengths in 1..T. The function returns the mean
    cross-entropy over the real positions ``t < lengths[n]`` only, every real
    token of every sequence counted once, as a 0-dimensional float64 tensor
    that ``loss.backward()`` differentiates; it must not modify its inputs.
    The value and the gradient w.r.t. ``logits`` are compared with a direct
    computation to 1e-10, and the gradient must be exactly zero at the
    padded positions.

    Raises:
        CheckFailed: if any test fails; its message lists the failures.
        TypeError: if ``fn`` is not callable.
    """
    report = start_check("check_masked_sequence_loss", fn=fn)
    label = function_label(fn, "masked_sequence_loss")
    for seed, lengths_, T, V, title in _LOSS_CASES:
        report.start_case(title)
        logits, targets, lengths = _loss_inputs(seed, lengths_, T, V)
        N = len(lengths_)
        mask = _length_mask(lengths, T)
        given = dict(
            logits=logits.clone().requires_grad_(True),
            targets=targets.clone(),
            lengths=lengths.clone(),
        )
        value = call_safely_with_tensors(
            report,
            fn,
            label,
            given,
            dict(logits=logits, targets=targets, lengths=lengths),
            error_hint=_loss_error_hint,
            in_place_hint="compute new tensors (`t = torch.where(mask, targets, -100)`, "
            "not `targets[~mask] = -100`); the caller still needs its inputs",
        )
        if value is FAILED:
            continue
        got, loss = _as_loss(report, label, value, N, T)
        if got is None:
            continue
        if not check_finite_number(
            report,
            "the loss",
            got,
            "a finite number",
            "compute log-probabilities with F.cross_entropy or "
            "log_softmax, and divide by the number of real tokens",
        ):
            continue
        want, want_grad = _value_and_gradient(
            lambda z, targets=targets, lengths=lengths: _reference_loss(z, targets, lengths), logits
        )
        variants = []
        for hint, compute in _loss_variants(targets, lengths):
            variant_value, variant_grad = _value_and_gradient(compute, logits)
            # Without padding some mistakes give the right answer: they explain nothing here.
            if not (
                abs(float(variant_value - want)) <= _VARIANT_TOLERANCE
                and _same(variant_grad, want_grad)
            ):
                variants.append((hint, variant_value, variant_grad))
        value_right = abs(got - float(want)) <= _VALUE_TOLERANCE
        if value_right:
            report.ok(
                f"the loss {got:.6f} matches the reference (difference "
                f"{abs(got - float(want)):.1e})"
            )
        else:
            hint = next(
                (h for h, v, _ in variants if abs(got - float(v)) <= _VARIANT_TOLERANCE), None
            )
            report.fail(
                f"the loss is {got:.6f}, expected {float(want):.6f} (difference "
                f"{abs(got - float(want)):.1e}, expected < {_VALUE_TOLERANCE:.0e})",
                hint=hint,
            )
        if loss is None:
            report.note("the gradient is checked once the loss is a tensor")
            continue
        _check_loss_gradient(
            report,
            label,
            loss,
            given["logits"],
            mask,
            want_grad,
            [(h, g) for h, _, g in variants],
            value_right,
        )
    return report.finish()


# --------------------------------------------------------------------------- masked softmax


_SOFTMAX_CASES = (
    # seed, valid_lens, Q, K, scale, title
    (
        10,
        (3, 0, 5, 1),
        2,
        5,
        1.0,
        "4 rows of Q = 2 queries over K = 5 keys, valid lengths 3, 0 (all masked), 5, 1",
    ),
    (
        11,
        (4, 4),
        3,
        4,
        1.0,
        "2 rows of Q = 3 queries over K = 4 keys, no masking (valid lengths 4, 4)",
    ),
    (
        12,
        (4, 2, 6),
        3,
        6,
        400.0,
        "3 rows of Q = 3 queries over K = 6 keys, valid lengths 4, 2, 6, large scores (up to 1000, "
        "where exp overflows float64)",
    ),
)

_OFF_BY_ONE_SOFTMAX = (
    "the mask is off by one: a row with valid_len L has the L valid positions "
    "k = 0 .. L - 1, so the mask is k < valid_len"
)
_EMPTY_ROW = (
    "a row whose valid_len is 0 has every position masked: filling the scores with "
    "-inf makes its softmax 0 / 0 = NaN; fill them with a large negative number "
    "(torch.finfo(scores.dtype).min) and multiply the weights by the mask afterwards, "
    "or set such rows to zero"
)
_UNIFORM_ROW = (
    "a row whose valid_len is 0 has no valid position, so its weights must all be 0: "
    "filling its scores with a very negative number gives it a uniform softmax; "
    "multiply the weights by the mask afterwards (or set such rows to zero)"
)


def _softmax_inputs(seed, valid_lens, Q, K, scale):
    generator = torch.Generator().manual_seed(seed)
    scores = scale * torch.randn(len(valid_lens), Q, K, dtype=torch.float64, generator=generator)
    if scale > 1:
        scores[0, 0, 0] = 1000.0  # a valid score whose exp is inf in float64
    return scores, torch.tensor(valid_lens)


def _key_mask(valid_lens, Q, K):
    """(N, Q, K) bool: True at the valid keys k < valid_lens[n]."""
    return (torch.arange(K)[None, :] < valid_lens[:, None])[:, None, :].expand(-1, Q, -1)


def _softmax_variants(scores, valid_lens):
    """Classic wrong weights as (hint, compute) pairs."""
    N, Q, K = scores.shape
    mask = _key_mask(valid_lens, Q, K)
    low = torch.finfo(scores.dtype).min
    filled = scores.masked_fill(~mask, low)
    query_mask = (torch.arange(Q)[None, :] < valid_lens[:, None])[:, :, None].expand(-1, -1, K)
    wrong_axis = (
        "the softmax runs over the wrong axis: the weights of one query over the keys "
        "sum to 1, so take the softmax over the last axis (dim=-1)"
    )
    return [
        (
            "the masked scores were set to 0 before the softmax: exp(0) = 1 still gives those "
            "positions weight; fill them with a very negative number (torch.finfo(scores.dtype).min, "
            "or -1e9) so that exp makes them 0",
            lambda: torch.softmax(scores.masked_fill(~mask, 0.0), dim=-1),
        ),
        (
            "the mask runs along the query axis (dim 1): valid_lens counts keys, so compare the "
            "key index k (the last axis) with valid_len: torch.arange(K) < valid_lens[:, None, None]",
            lambda: torch.softmax(scores.masked_fill(~query_mask, low), dim=-1) * query_mask,
        ),
        (wrong_axis, lambda: torch.softmax(filled, dim=1) * mask),
        (wrong_axis, lambda: torch.softmax(filled, dim=1)),
        (wrong_axis, lambda: torch.softmax(filled, dim=0) * mask),
        (
            _OFF_BY_ONE_SOFTMAX,
            lambda: _reference_masked_softmax(scores, torch.clamp(valid_lens + 1, max=K)),
        ),
        (
            _OFF_BY_ONE_SOFTMAX,
            lambda: _reference_masked_softmax(scores, torch.clamp(valid_lens - 1, min=0)),
        ),
        (
            "the softmax ran over all K positions and the padded weights were zeroed afterwards, "
            "so the remaining ones no longer sum to 1: mask the scores before the softmax (or "
            "divide by the new row sums)",
            lambda: torch.softmax(scores, dim=-1) * mask,
        ),
        (_UNIFORM_ROW, lambda: torch.softmax(filled, dim=-1)),
    ]


def _softmax_error_hint(message):
    if "must match the size" in message or "broadcast" in message:
        return (
            "valid_lens has shape (N,): to compare it with the key positions, give it two "
            "new axes, torch.arange(K) < valid_lens[:, None, None], a mask of shape (N, 1, K)"
        )
    return None


def check_masked_softmax(fn):
    """Check ``masked_softmax(scores, valid_lens) -> weights``.

    ``scores`` is a float64 tensor ``(N, Q, K)``, ``valid_lens`` an int64
    tensor ``(N,)`` with values in 0..K. The function returns weights
    ``(N, Q, K)`` (float64): the softmax over the last axis of each row of
    scores over its positions ``k < valid_lens[n]``; the weights of the other
    positions are exactly 0, and a row whose valid length is 0 is all zeros
    (never NaN). It must not modify its inputs. Compared with
    :func:`helpers.attention.masked_softmax` to 1e-12, on a case with a
    fully masked row, one without masking and one with scores large enough
    that exp overflows.

    Raises:
        CheckFailed: if any test fails; its message lists the failures.
        TypeError: if ``fn`` is not callable.
    """
    report = start_check("check_masked_softmax", fn=fn)
    label = function_label(fn, "masked_softmax")
    for seed, valid_lens_, Q, K, scale, title in _SOFTMAX_CASES:
        report.start_case(title)
        scores, valid_lens = _softmax_inputs(seed, valid_lens_, Q, K, scale)
        N = len(valid_lens_)
        originals = dict(scores=scores, valid_lens=valid_lens)
        given = {name: tensor.clone() for name, tensor in originals.items()}
        value = call_safely_with_tensors(
            report, fn, label, given, originals, error_hint=_softmax_error_hint
        )
        if value is FAILED:
            continue
        problem, hint = _tensor_problem("weights", value, (N, Q, K), "N, Q, K")
        if problem:
            report.fail(f"{label}: {problem}", hint=hint)
            continue
        report.ok(f"weights has shape (N, Q, K) = {(N, Q, K)} and dtype float64")
        weights = value.detach()
        mask = _key_mask(valid_lens, Q, K)
        bad = _nonfinite(weights)
        if bad:
            bad_rows = (~torch.isfinite(weights)).any(-1)
            empty = (valid_lens == 0)[:, None].expand(-1, Q)
            if bool(bad_rows[~empty].any()):
                n, q = (int(i) for i in (bad_rows & ~empty).nonzero()[0])
                where = f"first in weights[{n}, {q}] (valid_len {valid_lens_[n]})"
                hint = (
                    (
                        "the scores of this case go up to 1000, and exp overflows float64 to inf "
                        f"above about {_EXP_OVERFLOW:.0f} (inf / inf is NaN): subtract each "
                        "row's maximum before exp (a shift leaves the softmax unchanged), or use "
                        "torch.softmax"
                    )
                    if float(scores.max()) > _EXP_OVERFLOW
                    else (
                        "look for a division by a sum of 0 or an exp of a large number: "
                        "torch.softmax handles both"
                    )
                )
            else:
                n = int(valid_lens.tolist().index(0))
                where, hint = f"only in the rows whose valid_len is 0 (weights[{n}])", _EMPTY_ROW
            report.fail(f"weights holds {bad}, {where}", hint=hint)
            continue
        report.ok("weights holds no NaN or infinite value")
        want = _reference_masked_softmax(scores, valid_lens)
        hint = (
            None
            if _same(weights, want, _WEIGHT_TOLERANCE)
            else _matching_hint(weights, _softmax_variants(scores, valid_lens))
        )
        leaked = (weights != 0) & ~mask
        if bool(leaked.any()):
            n, q, k = (int(i) for i in leaked.nonzero()[0])
            report.fail(
                f"the weights at the masked positions k >= valid_len are not all 0: "
                f"weights[{n}, {q}, {k}] = {float(weights[n, q, k]):.3g} with valid_len "
                f"{valid_lens_[n]}",
                hint=hint
                or "set the masked scores to a very "
                "negative number before the softmax, and multiply by the mask afterwards",
            )
        else:
            report.ok("the weights at the masked positions k >= valid_len are exactly 0")
        sums = weights.sum(-1)
        off = ((sums - 1).abs() > _VALUE_TOLERANCE) & (valid_lens > 0)[:, None]
        if bool(off.any()):
            n, q = (int(i) for i in off.nonzero()[0])
            report.fail(
                f"the weights of a row with valid positions do not sum to 1: weights[{n}, "
                f"{q}] sums to {float(sums[n, q]):.6g}",
                hint=hint,
            )
        else:
            report.ok("each row with a valid position sums to 1")
        difference = float((weights - want).abs().max())
        if difference <= _WEIGHT_TOLERANCE:
            report.ok(f"weights matches the reference (max abs difference {difference:.1e})")
        else:
            n, q, k = (int(i) for i in ((weights - want).abs() > _WEIGHT_TOLERANCE).nonzero()[0])
            report.fail(
                f"weights differs from the reference, first at weights[{n}, {q}, {k}] "
                f"(valid_len {valid_lens_[n]}): max abs difference {difference:.1e} "
                f"(expected < {_WEIGHT_TOLERANCE:.0e})",
                hint=hint,
            )
    return report.finish()


# --------------------------------------------------------------------------- causal self-attention


_ATTENTION_CASES = (
    # seed, N, T, D, title
    (20, 2, 5, 4, "2 sequences of T = 5 positions, D = 4"),
    (21, 1, 7, 3, "1 sequence of T = 7 positions, D = 3"),
    (22, 3, 4, 6, "3 sequences of T = 4 positions, D = 6"),
)

_CAUSAL = (
    "position i may attend to the positions j <= i only: mask the scores where j > i "
    "before the softmax (torch.tril(torch.ones(T, T, dtype=torch.bool)) is True where "
    "j <= i)"
)
_STRICT = (
    "the mask excludes the diagonal (j < i): position i may attend to itself, j <= i; "
    "with a strict mask position 0 has no key left at all"
)
_TRANSPOSED = (
    "the weight matrices are used transposed: with row-major batches Q = x @ W_q, "
    "K = x @ W_k, V = x @ W_v, without .T (nn.Linear stores its weight transposed, a "
    "plain matrix here does not)"
)


def _attention(x, W_q, W_k, W_v, scale="sqrt", mask="causal", dim=-1, swap=False):
    """Self-attention with one deliberate choice: the reference with the defaults."""
    N, T, D = x.shape
    Q, K, V = x @ W_q, x @ W_k, x @ W_v
    scores = K @ Q.transpose(1, 2) if swap else Q @ K.transpose(1, 2)
    scores = scores / {"sqrt": math.sqrt(D), "D": D, None: 1}[scale]
    i, j = torch.arange(T)[:, None], torch.arange(T)[None, :]
    if mask == "causal":  # the reference: masked_softmax with valid_lens i + 1 for query i
        steps = torch.arange(1, T + 1).expand(N, T)
        return _reference_masked_softmax(scores, steps) @ V
    if mask == "strict-zero":  # valid_lens i: position 0 gets no weight at all
        return _reference_masked_softmax(scores, torch.arange(T).expand(N, T)) @ V
    allowed = {
        None: torch.ones(T, T, dtype=torch.bool),
        "causal-fill": j <= i,
        "strict": j < i,
        "future": j >= i,
    }[mask]
    filled = scores.masked_fill(~allowed, torch.finfo(x.dtype).min)
    return torch.softmax(filled, dim=dim) @ V


def _attention_variants(x, W_q, W_k, W_v):
    """Classic wrong outputs as (hint, compute) pairs."""
    W = (W_q, W_k, W_v)
    T = (W_q.T, W_k.T, W_v.T)
    return [
        (
            f"the scores are not masked, so every position attends to the future; {_CAUSAL}",
            lambda: _attention(x, *W, mask=None),
        ),
        (_STRICT, lambda: _attention(x, *W, mask="strict")),
        (_STRICT, lambda: _attention(x, *W, mask="strict-zero")),
        (
            "the scores are not scaled: divide Q K^T by sqrt(D), so that their spread does not "
            "grow with D",
            lambda: _attention(x, *W, scale=None),
        ),
        (
            "the scores are divided by D: scaled dot-product attention divides Q K^T by sqrt(D)",
            lambda: _attention(x, *W, scale="D"),
        ),
        (
            "the softmax runs over the query axis (dim=1): the weights of position i over the "
            "keys j sum to 1, so take the softmax over the last axis (dim=-1)",
            lambda: _attention(x, *W, mask="causal-fill", dim=1),
        ),
        (_TRANSPOSED, lambda: _attention(x, *T)),
        (_TRANSPOSED, lambda: _attention(x, T[0], W_k, W_v)),
        (_TRANSPOSED, lambda: _attention(x, W_q, T[1], W_v)),
        (_TRANSPOSED, lambda: _attention(x, W_q, W_k, T[2])),
        (
            "keys and queries are swapped in the scores (K Q^T instead of Q K^T): score[i, j] is "
            "q_i . k_j, the query of position i against the key of position j; with the causal "
            "mask, K Q^T amounts to the mask in the wrong direction on the transposed scores",
            lambda: _attention(x, *W, swap=True),
        ),
        (
            f"the mask points the wrong way: position i attends to j >= i, the future; {_CAUSAL}",
            lambda: _attention(x, *W, mask="future"),
        ),
    ]


def _attention_error_hint(message):
    if (
        "cannot be multiplied" in message
        or "must match the size" in message
        or "batch2" in message
        or "size of tensor" in message
    ):
        return (
            "to transpose the keys of a batch (N, T, D) into (N, D, T), swap the last two "
            "axes: K.transpose(1, 2) (or K.mT); .T reverses every axis"
        )
    return None


def _attention_inputs(seed, N, T, D):
    x, W_q, W_k, W_v = _tensors(seed, (N, T, D), (D, D), (D, D), (D, D))
    (noise,) = _tensors(seed + 100, (N, T, D))
    return dict(x=x, W_q=W_q, W_k=W_k, W_v=W_v), noise


def _first_position_seeing_the_future(report, fn, label, inputs, noise, y):
    """One test: changing x after position t leaves y[:, :t + 1] unchanged, for every t."""
    x = inputs["x"]
    T = x.shape[1]
    for t in range(T - 1):
        changed = x.clone()
        changed[:, t + 1 :] = noise[:, t + 1 :]
        try:
            other = fn(changed, *(inputs[name].clone() for name in ("W_q", "W_k", "W_v")))
            moved = not torch.allclose(
                other.detach()[:, : t + 1], y[:, : t + 1], rtol=0, atol=_VALUE_TOLERANCE
            )
        except Exception as error:
            report.fail(
                f"causality could not be tested: {label} on x changed after position "
                f"{t} gave {type(error).__name__}: {error}"
            )
            return None
        if moved:
            first = next(
                i
                for i in range(t + 1)
                if not torch.allclose(other.detach()[:, i], y[:, i], rtol=0, atol=_VALUE_TOLERANCE)
            )
            return first, t
    return False


def check_causal_self_attention(fn):
    """Check ``causal_self_attention(x, W_q, W_k, W_v) -> y``.

    ``x`` is a float64 tensor ``(N, T, D)`` and ``W_q``, ``W_k``, ``W_v``
    float64 ``(D, D)`` matrices, applied row-major: ``Q = x @ W_q``,
    ``K = x @ W_k``, ``V = x @ W_v``. The function returns ``y`` ``(N, T, D)``
    (float64): with the scores ``Q K^T / sqrt(D)`` ``(N, T, T)``, position i
    attends to the positions ``j <= i`` only, the weights are the softmax of
    its scores over those j, and ``y[:, i]`` is their weighted sum of the
    rows of ``V``. It must not modify its inputs. The check tests that
    ``y[:, :t + 1]`` does not change when ``x`` changes after position t,
    and compares with a reference to 1e-10.

    Raises:
        CheckFailed: if any test fails; its message lists the failures.
        TypeError: if ``fn`` is not callable.
    """
    report = start_check("check_causal_self_attention", fn=fn)
    label = function_label(fn, "causal_self_attention")
    for seed, N, T, D, title in _ATTENTION_CASES:
        report.start_case(title)
        inputs, noise = _attention_inputs(seed, N, T, D)
        given = {name: tensor.clone() for name, tensor in inputs.items()}
        value = call_safely_with_tensors(
            report, fn, label, given, inputs, error_hint=_attention_error_hint
        )
        if value is FAILED:
            continue
        problem, hint = _tensor_problem(
            "y",
            value,
            (N, T, D),
            "N, T, D",
            shape_hint=lambda shape, N=N, T=T: (
                "that is the shape of the attention weights: return weights @ V"
                if shape == (N, T, T)
                else None
            ),
        )
        if problem:
            report.fail(f"{label}: {problem}", hint=hint)
            continue
        y = value.detach()
        bad = _nonfinite(y)
        if bad:
            only_first = bool(torch.isfinite(y[:, 1:]).all())
            report.fail(
                f"y holds {bad}" + (", all at position 0" if only_first else ""),
                hint=_STRICT
                if only_first
                else "a row of scores whose every key is masked with -inf has a NaN softmax, "
                "and exp of a large score overflows: mask with j <= i and use "
                "torch.softmax",
            )
            continue
        report.ok(f"y has shape (N, T, D) = {(N, T, D)} and dtype float64, and is finite")
        want = _attention(*inputs.values())
        hint = (
            None
            if _same(y, want, _VALUE_TOLERANCE)
            else _matching_hint(y, _attention_variants(*inputs.values()))
        )
        seen = _first_position_seeing_the_future(report, fn, label, inputs, noise, y)
        if seen:
            i, t = seen
            report.fail(
                f"position {i} sees the future: y[:, {i}] changes when x changes after "
                f"position {t}",
                hint=hint or _CAUSAL,
            )
        elif seen is False:
            report.ok("y at each position t is unchanged when x changes after t (causal)")
        difference = (y - want).abs().amax(dim=(0, 2))
        if float(difference.max()) <= _VALUE_TOLERANCE:
            report.ok(f"y matches the reference (max abs difference {float(difference.max()):.1e})")
            continue
        i = int((difference > _VALUE_TOLERANCE).nonzero()[0])
        agree = f"; positions 0..{i - 1} agree" if i > 0 else ""
        report.fail(
            f"y differs from the reference from position i = {i} on (max abs difference "
            f"{float(difference[i]):.1e} there, expected < {_VALUE_TOLERANCE:.0e}{agree})",
            hint=hint,
        )
    return report.finish()
