"""Truncated backpropagation through time, TBPTT(k1, k2), with overlapping windows.

Full BPTT runs the backward pass over the whole sequence. Truncated BPTT
(Williams and Peng 1990, who call it BPTT(h; h')) runs the forward pass over
the whole sequence, carrying the state, but every ``k1`` steps it runs a
backward pass over only the last ``k2`` steps, for the losses of the ``k1``
steps just read. With ``k1 = k2 = K`` the windows do not overlap: that is the
common practice of cutting the sequence into chunks of ``K`` steps and
detaching the state between them (exactly so when ``K`` divides the length),
and the first loss of every chunk gets no gradient from any earlier step. With ``k1 < k2`` the windows overlap, so every
loss is backpropagated at least ``k2 - k1 + 1`` steps; ``k1 = 1`` keeps
exactly the terms of the gradient whose gap is below ``k2``, at the price of a
backward pass of ``k2`` steps for every step; ``k2 >= T`` gives the exact
gradient.

:func:`tbptt_backward` computes that gradient for a recurrent layer with the
``torch.nn.RNN`` contract (``torch.nn.RNN``, ``GRU``, ``LSTM`` or the
``helpers.modules`` ones) and a read-out applied at every step. It is written
for clarity, not speed: the forward pass is run once without gradients to find
the state at the start of every window, then each window is run again with
gradients from that state, detached.
"""

import numbers
from dataclasses import dataclass

import torch
from torch.nn import functional as F

from helpers.validation import _describe

__all__ = ["TBPTTResult", "tbptt_windows", "tbptt_backward", "sum_cross_entropy"]


def sum_cross_entropy(logits, targets):
    """Cross-entropy summed over the steps and averaged over the batch.

    ``logits`` ``(N, T, C)``, ``targets`` ``(N, T)`` class indices (-100 is
    ignored). Summing over time makes the loss of a sequence the sum of the
    losses of its steps, which truncated BPTT needs: the losses of different
    windows then add up to the loss of the whole sequence.
    """
    return F.cross_entropy(logits.flatten(0, 1), targets.flatten(), reduction="sum") / len(logits)


def _check_k(name, value):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be an int >= 1, got {value!r}")
    return int(value)


def tbptt_windows(length, k1, k2):
    """The windows of TBPTT(k1, k2) over a sequence of ``length`` steps.

    Returns:
        list of ``(start, first_loss, end)`` (0-based, ``end`` exclusive): the
        backward pass of a window runs over steps ``start .. end - 1`` for the
        losses of steps ``first_loss .. end - 1``. Windows end every ``k1``
        steps and at the last step; each reaches ``k2`` steps back (or to the
        start of the sequence), the last one too when ``k1`` does not divide
        ``length``.
    """
    length = _check_k("length", length)
    k1, k2 = _check_k("k1", k1), _check_k("k2", k2)
    if k1 > k2:
        raise ValueError(
            f"k1 must be at most k2 (every k1 steps, backpropagate k2 steps); got k1 = {k1}, "
            f"k2 = {k2}, which would leave the losses of {k1 - k2} steps per window "
            "without any gradient"
        )
    ends = list(range(k1, length, k1)) + [length]
    windows, first = [], 0
    for end in ends:
        windows.append((max(0, end - k2), first, end))
        first = end
    return windows


@dataclass(frozen=True)
class TBPTTResult:
    """What :func:`tbptt_backward` did.

    Attributes:
        loss: the loss of the whole sequence (a float): the windows' losses added up.
        windows: the ``(start, first_loss, end)`` of every backward pass.
        backward_steps: the time steps the backward passes ran over, in total
            (``length`` for full BPTT; about ``length * k2 / k1`` here).
    """

    loss: float
    windows: tuple
    backward_steps: int


def _detach(state):
    if isinstance(state, tuple):  # the LSTM's (h, c)
        return tuple(part.detach() for part in state)
    return state.detach()


def _check_arguments(rnn, head, x, targets):
    if not isinstance(rnn, torch.nn.Module) or not getattr(rnn, "batch_first", False):
        raise TypeError(
            f"rnn must be a recurrent layer built with batch_first=True, got {_describe(rnn)}"
        )
    if not callable(head):
        raise TypeError(f"head must be the read-out module, got {_describe(head)}")
    if not isinstance(x, torch.Tensor) or x.dim() != 3:
        raise ValueError(f"x must be a tensor (N, T, D), got {_describe(x)}")
    if not isinstance(targets, torch.Tensor) or targets.shape[:2] != x.shape[:2]:
        raise ValueError(
            f"targets must be a tensor whose first two dimensions are x's "
            f"(N, T) = {tuple(x.shape[:2])}, got {_describe(targets)}"
        )


def tbptt_backward(rnn, head, x, targets, *, k1, k2, h0=None, loss_fn=sum_cross_entropy):
    """Accumulate the TBPTT(k1, k2) gradient into the ``.grad`` of ``rnn`` and ``head``.

    Args:
        rnn: a recurrent layer with ``batch_first=True`` and the ``torch.nn.RNN``
            contract: ``rnn(x, h) -> (outputs (N, T, H), h_n)``.
        head: the read-out applied to the outputs at every step (``(N, t, H) -> (N, t, C)``).
        x: inputs ``(N, T, D)``.
        targets: whatever ``loss_fn`` takes as its second argument, indexed by
            time on dimension 1 (``(N, T)`` class indices for the default).
        k1: a backward pass every ``k1`` steps (int >= 1).
        k2: each backward pass reaches ``k2`` steps back (int >= k1).
        h0: the initial state (``None``: zeros), treated as a constant.
        loss_fn: ``loss_fn(logits, targets) -> scalar``; it must add up over
            time steps (a sum over steps, not a mean), as the default does,
            or the windows' losses would not add up to the sequence's.

    Returns:
        :class:`TBPTTResult`. The gradients are *added* to ``.grad`` (call
        ``zero_grad()`` first), as ``loss.backward()`` does.
    """
    _check_arguments(rnn, head, x, targets)
    windows = tbptt_windows(x.shape[1], k1, k2)

    # The forward pass, without gradients, once: the state at every window's start.
    starts = sorted({start for start, _, _ in windows})
    state_at, state, position = {0: h0}, h0, 0
    with torch.no_grad():
        for start in starts:
            if start > position:
                _, state = rnn(x[:, position:start], state)
                position = start
            state_at[start] = state

    total, backward_steps = 0.0, 0
    for start, first_loss, end in windows:
        begin = state_at[start]
        outputs, _ = rnn(x[:, start:end], None if begin is None else _detach(begin))
        loss = loss_fn(head(outputs[:, first_loss - start :]), targets[:, first_loss:end])
        loss.backward()  # stops at `start`: the state there is a constant
        total += loss.item()
        backward_steps += end - start
    return TBPTTResult(total, tuple(windows), backward_steps)
