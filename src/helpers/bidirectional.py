"""Bidirectional recurrent layers: two RNNs, one reading forwards and one backwards, combined.

At step t the forward direction has read ``x_1 .. x_t`` and the backward
direction ``x_T .. x_t``; together they have seen the whole sequence
(Schuster and Paliwal 1997). Their states are combined in one of four ways
(:data:`COMBINE_MODES`), as Keras's ``Bidirectional(merge_mode=...)`` offers:

- ``"concat"``: ``[h_fwd ; h_bwd]``, size 2H (``torch.nn``'s only choice);
- ``"sum"``: ``h_fwd + h_bwd``; ``"mul"``: ``h_fwd * h_bwd``;
  ``"avg"``: ``(h_fwd + h_bwd) / 2``; all of size H.

:class:`BidirectionalRNN` wraps a ``torch.nn`` or :mod:`helpers.modules` layer
(built by :func:`helpers.layers.recurrent_layer`) with ``bidirectional=True``
and handles variable lengths by packing, so the backward direction of every
sequence starts at its own last real step, never at the padding. In a stack,
the layers below the top pass both directions side by side (concatenated) to
the next layer, as ``torch.nn`` does; the combination applies to what the
stack outputs.
"""

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from helpers.layers import recurrent_layer
from helpers.text import length_mask
from helpers.validation import _describe, check_choice, check_lengths

__all__ = ["COMBINE_MODES", "combine_directions", "reverse_padded", "BidirectionalRNN"]

#: How the two directions' states are combined.
COMBINE_MODES = ("concat", "sum", "mul", "avg")


def combine_directions(forward, backward, mode="concat"):
    """Combine the two directions' states, each ``(..., H)``.

    Returns ``(..., 2H)`` for ``"concat"`` and ``(..., H)`` otherwise.
    """
    check_choice("mode", mode, COMBINE_MODES)
    for name, value in (("forward", forward), ("backward", backward)):
        if not isinstance(value, torch.Tensor):
            raise TypeError(f"{name} must be a tensor, got {_describe(value)}")
    if forward.shape != backward.shape:
        raise ValueError(
            f"forward and backward must have the same shape, got {tuple(forward.shape)} "
            f"and {tuple(backward.shape)}"
        )
    if mode == "concat":
        return torch.cat([forward, backward], dim=-1)
    if mode == "sum":
        return forward + backward
    if mode == "mul":
        return forward * backward
    return (forward + backward) / 2


def reverse_padded(x, lengths):
    """Reverse each sequence of the padded batch ``x`` ``(N, T, ...)`` within its length.

    Row n becomes ``x[n, L_n - 1], ..., x[n, 0]`` followed by its padding,
    untouched and still at the end (``torch.flip`` would put the padding
    first). A unidirectional layer run over the result reads every sequence
    from its own last real step: the backward direction of a bidirectional
    layer. Reversing twice gives ``x`` back.

    Args:
        x: a tensor ``(N, T, ...)``.
        lengths: an integer tensor ``(N,)`` with values in 1..T.
    """
    if not isinstance(x, torch.Tensor) or x.dim() < 2:
        raise ValueError(f"x must be a tensor of shape (N, T, ...), got {_describe(x)}")
    N, T = x.shape[:2]
    check_lengths("lengths", lengths, N, T)
    steps = torch.arange(T, device=x.device)
    lengths = lengths.to(x.device)
    # step t of row n reads step L_n - 1 - t while t < L_n, and stays where it is after
    source = torch.where(
        length_mask(lengths, T), lengths[:, None] - 1 - steps[None, :], steps[None, :]
    )
    index = source.reshape(N, T, *([1] * (x.dim() - 2))).expand_as(x)
    return x.gather(1, index)


class BidirectionalRNN(nn.Module):
    """A (stacked) bidirectional RNN, LSTM or GRU over batch-first inputs of different lengths.

    Args:
        unit: ``"RNN"``, ``"LSTM"`` or ``"GRU"``.
        input_size, hidden_size: D and H (per direction).
        combine: one of :data:`COMBINE_MODES`.
        num_layers: depth of the stack.
        implementation: ``"torch"`` (``torch.nn``) or ``"scratch"`` (:mod:`helpers.modules`).
        **layer_kwargs: passed to the layer (``dropout``, ``device``, ``dtype``...).

    Attributes:
        output_size: 2H for ``"concat"``, H otherwise.
    """

    def __init__(
        self,
        unit,
        input_size,
        hidden_size,
        *,
        combine="concat",
        num_layers=1,
        implementation="torch",
        **layer_kwargs,
    ):
        super().__init__()
        self.combine = check_choice("combine", combine, COMBINE_MODES)
        self.rnn = recurrent_layer(
            unit,
            input_size,
            hidden_size,
            implementation=implementation,
            num_layers=num_layers,
            bidirectional=True,
            **layer_kwargs,
        )
        self.hidden_size = hidden_size
        self.output_size = 2 * hidden_size if combine == "concat" else hidden_size

    def forward(self, x, lengths=None):
        """Run both directions over ``x`` ``(N, T, D)`` with true ``lengths`` ``(N,)``.

        Returns:
            ``(outputs, final)``: ``outputs`` ``(N, T, output_size)``, the combined
            top-layer states at every step (zeros at padded steps); ``final``
            ``(N, output_size)``, the forward direction's state after the last
            real step combined with the backward direction's state after
            reading back to the first step: each a summary of the whole sequence.
            Without ``lengths`` every sequence is taken to have T real steps.
        """
        if not isinstance(x, torch.Tensor) or x.dim() != 3:
            raise ValueError(f"x must be a tensor of shape (N, T, D), got {_describe(x)}")
        N, T, _ = x.shape
        if lengths is not None:
            check_lengths("lengths", lengths, N, T)
        if lengths is None or bool((lengths == T).all()):
            # No padding (a batch of equal lengths, as bucketing makes): nothing to pack.
            outputs, state = self.rnn(x)
        else:
            packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
            packed_outputs, state = self.rnn(packed)
            outputs, _ = pad_packed_sequence(packed_outputs, batch_first=True, total_length=T)
        h_n = state[0] if isinstance(state, tuple) else state  # LSTM: (h_n, c_n)
        H = self.hidden_size
        outputs = combine_directions(outputs[..., :H], outputs[..., H:], self.combine)
        final = combine_directions(h_n[-2], h_n[-1], self.combine)  # the top layer's two directions
        return outputs, final
