"""The check of the bidirectional exercise: two unidirectional layers made into one bidirectional layer.

``bidirectional_layer(forward_rnn, backward_rnn, x, lengths)`` gets two
one-layer, one-direction, batch-first ``torch.nn.GRU`` layers of H units, a
padded batch ``x`` ``(N, T, D)`` and the true ``lengths`` ``(N,)``. It returns
``(outputs, final)``:

- ``outputs`` ``(N, T, 2H)``: at every real step t of row n, the forward
  layer's state after reading ``x[n, 0..t]`` next to the backward layer's
  state after reading ``x[n, L_n - 1]`` down to ``x[n, t]`` (the padded steps
  are not checked);
- ``final`` ``(N, 2H)``: the forward state after the last real step next to
  the backward state after reading back to step 0.

The reference is ``torch.nn.GRU(bidirectional=True)`` holding the same
weights, run on the packed batch. The check names the classic mistakes: a
backward direction that reads the padding first (``torch.flip`` of the whole
padded batch), backward outputs left in reading order, a backward layer that
reads forwards, directions in the wrong order, and final states taken after
the padding or at the wrong end.
"""

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from helpers.bidirectional import reverse_padded
from helpers.course.feedback import function_label, report_exception, start_check

__all__ = ["check_bidirectional_layer"]

_CASES = (
    # (seed, lengths, D, H, title)
    (0, (4, 2, 5, 1), 3, 2, "4 sequences of lengths 4, 2, 5, 1 padded to T = 5 (D = 3, H = 2)"),
    (1, (3, 3, 3), 2, 3, "3 sequences of the same length 3, no padding (D = 2, H = 3)"),
    (2, (1, 6, 2), 4, 3, "3 sequences of lengths 1, 6, 2 padded to T = 6 (D = 4, H = 3)"),
)


def _layers(seed, D, H):
    """Two unidirectional GRUs and the bidirectional GRU that holds both (float64)."""
    torch.manual_seed(seed)
    forward_rnn = nn.GRU(D, H, batch_first=True, dtype=torch.float64)
    backward_rnn = nn.GRU(D, H, batch_first=True, dtype=torch.float64)
    both = nn.GRU(D, H, batch_first=True, bidirectional=True, dtype=torch.float64)
    with torch.no_grad():
        for name, value in forward_rnn.named_parameters():
            getattr(both, name).copy_(value)
            getattr(both, name + "_reverse").copy_(dict(backward_rnn.named_parameters())[name])
    return forward_rnn, backward_rnn, both


def _reference(both, x, lengths):
    packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
    outputs, h_n = both(packed)
    outputs, _ = pad_packed_sequence(outputs, batch_first=True, total_length=x.shape[1])
    return outputs, torch.cat([h_n[0], h_n[1]], dim=-1)


def _variants(forward_rnn, backward_rnn, x, lengths):
    """Wrong (outputs, final) pairs, each with the hint that names its mistake."""
    rows = torch.arange(len(lengths))
    forward_out, forward_h = forward_rnn(x)
    forward_last = forward_out[rows, lengths - 1]
    correct_backward = reverse_padded(backward_rnn(reverse_padded(x, lengths))[0], lengths)
    flipped = backward_rnn(torch.flip(x, [1]))[0]
    unreversed = backward_rnn(reverse_padded(x, lengths))[0]
    unflipped_input = backward_rnn(x)[0]

    def pair(backward, forward=forward_out, first=None, last=None):
        outputs = torch.cat([forward, backward], dim=-1)
        final = torch.cat(
            [forward_last if last is None else last, backward[:, 0] if first is None else first],
            dim=-1,
        )
        return outputs, final

    return [
        (
            "the backward direction of a sequence shorter than T read the padding first: reverse "
            "each sequence within its own length (x[n, L-1], ..., x[n, 0], then the padding), not "
            "the whole padded tensor with torch.flip",
            "backward",
            pair(torch.flip(flipped, [1])),
        ),
        (
            "the backward outputs are still in the order the backward layer read them: reverse "
            "them back the same way, so that step t holds the state after reading x_L .. x_t",
            "backward",
            pair(unreversed, first=unreversed[rows, lengths - 1]),
        ),
        (
            "the backward layer read the sequence forwards: give it each sequence reversed "
            "within its length",
            "backward",
            pair(unflipped_input),
        ),
        (
            "the two directions are in the wrong order: forward first, then backward",
            "forward",
            (
                torch.cat([correct_backward, forward_out], dim=-1),
                torch.cat([correct_backward[:, 0], forward_last], dim=-1),
            ),
        ),
        (
            "the forward final state was taken after the padding (h_n of the padded batch, or "
            "step T - 1): take each sequence's state after its own last real step, L_n - 1",
            "final",
            pair(correct_backward, last=forward_h[0]),
        ),
        (
            "the backward final state was taken at the last real step: the backward direction "
            "ends at step 0, after reading the whole sequence from its end",
            "final",
            pair(correct_backward, first=correct_backward[rows, lengths - 1]),
        ),
    ]


def _tensor_problem(name, value, shape):
    if value is None:
        return (
            f"{name} is None, expected a tensor of shape {shape}",
            "is the return statement missing?",
        )
    if not isinstance(value, torch.Tensor):
        return f"{name} is a {type(value).__name__}, expected a tensor of shape {shape}", None
    if tuple(value.shape) != shape:
        return f"{name} has shape {tuple(value.shape)}, expected {shape}", (
            "concatenate the two directions along the last axis: torch.cat([f, b], dim=-1)"
            if value.dim() >= 1 and value.shape[-1] * 2 == shape[-1]
            else None
        )
    if value.dtype != torch.float64:
        return f"{name} has dtype {value.dtype}, expected float64 (the dtype of x)", None
    if not bool(torch.isfinite(value).all()):
        return f"{name} holds NaN or infinite values", None
    return None, None


def _rows_that_differ(got, want, lengths):
    """(row, first differing real step) for every row whose real steps differ."""
    found = []
    for n, length in enumerate(lengths.tolist()):
        close = torch.isclose(got[n, :length], want[n, :length], rtol=0, atol=1e-8).all(-1)
        if not bool(close.all()):
            found.append((n, int((~close).nonzero()[0])))
    return found


def check_bidirectional_layer(fn):
    """Check ``bidirectional_layer(forward_rnn, backward_rnn, x, lengths) -> (outputs, final)``.

    See the module's docstring for the contract. The function is called on
    float64 batches with and without padding and compared with
    ``torch.nn.GRU(bidirectional=True)`` holding the same weights, run packed.

    Raises:
        CheckFailed: if any test fails; its message lists the failures.
    """
    report = start_check("check_bidirectional_layer", fn=fn)
    label = function_label(fn, "bidirectional_layer")
    for seed, lengths_, D, H, title in _CASES:
        report.start_case(title)
        forward_rnn, backward_rnn, both = _layers(seed, D, H)
        lengths = torch.tensor(lengths_)
        N, T = len(lengths_), max(lengths_)
        generator = torch.Generator().manual_seed(seed)
        x = torch.randn(N, T, D, dtype=torch.float64, generator=generator)
        for n, length in enumerate(lengths_):
            x[n, length:] = 0.5  # padding that changes a state it is allowed to reach
        given = x.clone()
        try:
            value = fn(forward_rnn, backward_rnn, given, lengths.clone())
        except Exception as error:
            report_exception(report, label, error, lambda message: None)
            continue
        if not torch.equal(given, x):
            report.fail(
                f"{label} modified x in place", hint="build new tensors; do not write into x"
            )
        else:
            report.ok(f"{label} runs and leaves x unchanged")
        if not isinstance(value, (tuple, list)) or len(value) != 2:
            report.fail(
                f"{label} returned {type(value).__name__}, expected a pair (outputs, final)",
                hint="return outputs, final",
            )
            continue
        outputs, final = value
        problems = [
            _tensor_problem("outputs", outputs, (N, T, 2 * H)),
            _tensor_problem("final", final, (N, 2 * H)),
        ]
        for problem, hint in problems:
            if problem:
                report.fail(f"{label}: {problem}", hint=hint)
        if any(problem for problem, _ in problems):
            continue
        report.ok(
            f"outputs has shape (N, T, 2H) = {(N, T, 2 * H)} and final (N, 2H) = {(N, 2 * H)}"
        )
        with torch.no_grad():
            want_outputs, want_final = _reference(both, x, lengths)
            variants = _variants(forward_rnn, backward_rnn, x, lengths)
        outputs, final = outputs.detach(), final.detach()
        hint_for = {}
        for hint, part, (variant_outputs, variant_final) in variants:
            same_outputs = not _rows_that_differ(outputs, variant_outputs, lengths)
            same_final = torch.allclose(final, variant_final, rtol=0, atol=1e-8)
            if same_outputs and part in ("forward", "backward"):
                hint_for.setdefault("outputs", hint)
            if same_final and same_outputs:
                hint_for.setdefault("final", hint)
        for direction, columns in (("forward", slice(0, H)), ("backward", slice(H, 2 * H))):
            wrong = _rows_that_differ(outputs[..., columns], want_outputs[..., columns], lengths)
            if not wrong:
                report.ok(
                    f"the {direction} half of outputs agrees with torch.nn at every real step"
                )
                continue
            where = ", ".join(f"row {n} (length {lengths_[n]}) from step {t}" for n, t in wrong)
            report.fail(
                f"the {direction} half of outputs (columns {columns.start}..{columns.stop - 1}) "
                f"differs from torch.nn's: {where}",
                hint=hint_for.get("outputs"),
            )
        wrong_rows = [
            n for n in range(N) if not torch.allclose(final[n], want_final[n], rtol=0, atol=1e-8)
        ]
        if not wrong_rows:
            report.ok(
                "final holds, per sequence, the forward state after its last real step and "
                "the backward state after step 0"
            )
        else:
            rows = ", ".join(f"row {n} (length {lengths_[n]})" for n in wrong_rows)
            report.fail(f"final differs from torch.nn's h_n in {rows}", hint=hint_for.get("final"))
    return report.finish()
