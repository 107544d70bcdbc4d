"""Recurrent PyTorch modules written from scratch, with the contract of ``torch.nn``.

:class:`RNNCell`, :class:`LSTMCell` and :class:`GRUCell` compute one time step;
:class:`RNN`, :class:`LSTM` and :class:`GRU` a whole sequence, through several
layers and in both directions. Each takes the same constructor arguments,
returns the same values and names its parameters exactly like its ``torch.nn``
namesake, so weights move between the two with ``load_state_dict`` and the
tests check that outputs and gradients agree. Nothing here calls PyTorch's own
recurrent kernels: the forward pass is plain matrix products, elementwise
``torch.tanh``, ``torch.sigmoid`` (or ``torch.relu``) and products, and, between
layers, dropout; autograd derives the backward pass.

The book writes the state update with row vectors (chapter "The unrolled RNN"):

    h_t = tanh(x_t W_xh + h_{t-1} W_hh + b_h).

PyTorch stores the transposed matrices and two biases, ``weight_ih`` = W_xh^T,
``weight_hh`` = W_hh^T and ``bias_ih + bias_hh`` = b_h, so the same update reads

    h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh).

LSTM and GRU keep this layout with one block of H rows per gate, stacked in
PyTorch's order: ``weight_ih`` is (4H, D) with blocks i, f, g, o for the LSTM,
and (3H, D) with blocks r, z, n for the GRU.

The file reads top to bottom:

1. :func:`rnn_update`, the equation above, used by both RNN modules;
2. :class:`RNNCellBase` and :class:`RNNCell`, one step. :class:`RNNCellBase`
   creates the parameters, checks the input and the state, and asks its
   subclass for the update itself (:meth:`RNNCellBase._step`);
3. :class:`RNNBase` and :class:`RNN`, a sequence. :class:`RNNBase` knows
   nothing about the update itself: it creates the parameters, checks the
   arguments, runs the layers and directions and applies dropout between layers,
   and asks its subclass for one time step (:meth:`RNNBase._step`). LSTM and GRU
   reuse both bases by giving their number of gate blocks and their own step;
4. :func:`lstm_update`, :class:`LSTMCell` and :class:`LSTM`, whose state is
   the pair (h, c) of hidden and cell state, and :func:`set_forget_bias`;
5. :func:`gru_update`, :class:`GRUCell` and :class:`GRU`: PyTorch's GRU, whose
   reset gate acts after the recurrent product, unlike in the papers and most
   books (see :func:`gru_update`).
"""

import math
import numbers
import warnings

import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

from helpers.text import length_mask
from helpers.validation import (
    Dims,
    _describe,
    check_choice,
    check_positive_int,
    check_probability,
    check_same_dtype_and_device,
)

__all__ = [
    "RNNCell",
    "RNN",
    "LSTMCell",
    "LSTM",
    "GRUCell",
    "GRU",
    "RNNCellBase",
    "RNNBase",
    "rnn_update",
    "lstm_update",
    "gru_update",
    "set_forget_bias",
]

_ACTIVATIONS = {"tanh": torch.tanh, "relu": torch.relu}

# The name of the first axis of a stacked RNN's hidden state, as error messages show it.
_LAYERS = "num_layers * num_directions"


def _linear(x, weight, bias):
    """``x W^T + b``, without ``b`` when the module was built with ``bias=False``."""
    out = x @ weight.T
    return out if bias is None else out + bias


def _plus_recurrent(x_projected, h_prev, weight_hh, bias_hh):
    """``x_projected + h_prev W_hh^T + b_hh``: the sum every recurrent update starts from.

    On batched (2-d) inputs the product and the sum are one fused call,
    ``addmm``: one kernel and one autograd node instead of two, at every step.
    """
    if bias_hh is not None:
        x_projected = x_projected + bias_hh
    if x_projected.dim() == 2:
        return torch.addmm(x_projected, h_prev, weight_hh.T)
    return x_projected + h_prev @ weight_hh.T


def rnn_update(x_projected, h_prev, weight_hh, bias_hh, nonlinearity="tanh"):
    """One step of the Elman RNN: ``h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)``.

    Args:
        x_projected: ``x_t W_ih^T + b_ih``, the input's share of the update, of
            shape `(N, H)`. It is an argument because it does not depend on
            the previous state, so :class:`RNN` computes it for all steps at once.
        h_prev: the previous hidden state :math:`h_{t-1}`, of shape `(N, H)`.
        weight_hh: W_hh, the weights applied to the previous state, of shape `(H, H)`.
        bias_hh: b_hh, of shape `(H)`, or ``None`` for a module built with
            ``bias=False`` (and for :class:`RNN`, which adds it to
            ``x_projected`` once for all steps).
        nonlinearity: ``'tanh'`` or ``'relu'``. Default: ``'tanh'``

    Returns:
        the new hidden state :math:`h_t`, of shape `(N, H)`.
    """
    return _ACTIVATIONS[nonlinearity](_plus_recurrent(x_projected, h_prev, weight_hh, bias_hh))


def _uniform_init(module):
    """Draw every parameter of ``module`` from U(-1/sqrt(H), 1/sqrt(H)), in registration order."""
    bound = 1.0 / math.sqrt(module.hidden_size)
    for parameter in module.parameters():
        nn.init.uniform_(parameter, -bound, bound)


def _check_constructor_args(input_size, hidden_size, bias, dtype):
    check_positive_int("input_size", input_size)
    check_positive_int("hidden_size", hidden_size)
    check_choice("bias", bias, (True, False))
    if dtype is not None and not (isinstance(dtype, torch.dtype) and dtype.is_floating_point):
        raise TypeError(
            f"dtype must be a floating-point torch.dtype such as torch.float32 or "
            f"torch.float64 (or None for the default), got {dtype!r}"
        )


def _check_rank(input, batched_spec, unbatched_spec):
    """Name both accepted shapes when ``input`` has neither rank; Dims checks the rest."""
    ranks = (len(batched_spec), len(unbatched_spec))
    if isinstance(input, torch.Tensor) and input.dim() not in ranks:
        raise ValueError(
            f"input must have {len(batched_spec)} dimensions ({', '.join(batched_spec)}), or "
            f"{len(unbatched_spec)} ({', '.join(unbatched_spec)}) when unbatched, "
            f"got {input.dim()} dimensions with shape {tuple(input.shape)}"
        )


def _check_state(dims, name, state, spec, like, like_name):
    """Check a hidden state against ``spec``; a wrong shape names the full shape expected.

    Every size in ``spec`` is known from the module and the input by now, so the
    message can give concrete numbers, such as ``hx must have shape (2, 3, 20)``.
    """
    try:
        dims.tensor(name, state, spec)
    except ValueError as error:
        expected = tuple(dims[size] for size in spec)
        raise ValueError(f"{error}; {name} must have shape {expected}") from None
    return check_same_dtype_and_device(name, state, like, like_name)


class _Recurrent(nn.Module):
    """What cells and sequence modules share: initialization, the state tuple and the size checks.

    The recurrent state is a tuple of tensors, ``(h,)`` for the RNN and the GRU
    and ``(h, c)`` for the LSTM. :meth:`_initial_state` turns the ``hx``
    argument into that tuple and :meth:`_final_state` turns the final tuple
    into the returned value; both handle a single tensor here, and the LSTM
    modules override them. Subclasses set ``input_size`` and ``hidden_size``
    and implement ``_batched_state``.
    """

    def reset_parameters(self):
        """Draw every weight and bias from U(-1/sqrt(H), 1/sqrt(H)), as ``torch.nn`` does."""
        _uniform_init(self)

    def _initial_state(self, hx, dims, batched):
        """The ``hx`` argument as a state tuple of one batched tensor (see ``_batched_state``)."""
        return (self._batched_state(dims, batched, "hx", hx),)

    def _final_state(self, state):
        """The final state tuple as the module returns it: h alone for the RNN and the GRU."""
        (h,) = state
        return h

    def _size_dims(self):
        """The module's name and a :class:`Dims` with D and H fixed by its sizes."""
        name = type(self).__name__
        dims = Dims().fix("D", self.input_size, f"the {name}'s input_size")
        return name, dims.fix("H", self.hidden_size, f"the {name}'s hidden_size")


class RNNCellBase(_Recurrent):
    """What every recurrent cell shares: its parameters, their initialization, checks and forward.

    ``num_chunks`` is the number of H-row blocks in each weight: 1 for
    :class:`RNNCell`, 4 for :class:`LSTMCell` (gates i, f, g, o), 3 for
    :class:`GRUCell` (r, z, n). Parameters are created and initialized in
    ``torch.nn``'s order, so after the same ``torch.manual_seed`` a cell starts
    with the same weights as its ``torch.nn`` namesake.

    Subclasses implement :meth:`_step`, the update itself. As in
    :class:`RNNBase`, the state is a tuple of tensors, ``(h,)`` for RNNCell and
    GRUCell and ``(h, c)`` for LSTMCell: :meth:`_initial_state` turns the ``hx``
    argument into that tuple and :meth:`_final_state` turns the new tuple into
    the returned value; both handle a single tensor here, and LSTMCell overrides
    them.
    """

    def __init__(self, input_size, hidden_size, bias, num_chunks, device=None, dtype=None):
        super().__init__()
        _check_constructor_args(input_size, hidden_size, bias, dtype)
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.bias = bool(bias)
        factory = {"device": device, "dtype": dtype}
        gate_size = num_chunks * hidden_size
        self.weight_ih = nn.Parameter(torch.empty(gate_size, input_size, **factory))
        self.weight_hh = nn.Parameter(torch.empty(gate_size, hidden_size, **factory))
        if self.bias:
            self.bias_ih = nn.Parameter(torch.empty(gate_size, **factory))
            self.bias_hh = nn.Parameter(torch.empty(gate_size, **factory))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def extra_repr(self):
        text = f"{self.input_size}, {self.hidden_size}"
        if not self.bias:
            text += ", bias=False"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            text += f", nonlinearity={self.nonlinearity!r}"
        return text

    def forward(self, input, hx=None):
        """Compute the next state from ``input`` and ``hx``; see the subclasses for the shapes."""
        dims, batched = self._dims(input)
        # The update works on batches; an unbatched input is a batch of one.
        x = input if batched else input.unsqueeze(0)
        state = self._initial_state(hx, dims, batched)
        x_projected = _linear(x, self.weight_ih, self.bias_ih)
        state = self._step(x_projected, state, self.weight_hh, self.bias_hh)
        if not batched:
            state = tuple(s.squeeze(0) for s in state)
        return self._final_state(state)

    def _step(self, x_projected, state, weight_hh, bias_hh):
        """One step; subclasses implement it, with the signature of :meth:`RNNBase._step`.

        ``x_projected`` is ``x W_ih^T + b_ih``, of shape (N, num_chunks * H);
        ``state`` is the tuple of the previous state, each of shape (N, H). The
        new state tuple is returned.
        """
        raise NotImplementedError

    def _dims(self, input):
        """Check ``input`` of shape (N, D) or (D,); return its Dims and whether it is batched."""
        name, dims = self._size_dims()
        _check_rank(input, ("N", "D"), ("D",))
        batched = not (isinstance(input, torch.Tensor) and input.dim() == 1)
        dims.tensor("input", input, ("N", "D") if batched else ("D",))
        check_same_dtype_and_device("input", input, self.weight_ih, f"the parameters of {name}")
        return dims, batched

    def _batched_state(self, dims, batched, name, state):
        """Check a state of shape (N, H), or (H,) for unbatched input; return it as (N, H).

        ``None`` stands for zeros, the usual initial state.
        """
        if state is None:
            batch_size = dims["N"] if batched else 1
            return self.weight_ih.new_zeros(batch_size, self.hidden_size)
        spec = ("N", "H") if batched else ("H",)
        owner = f"the parameters of {type(self).__name__}"
        _check_state(dims, name, state, spec, self.weight_ih, owner)
        return state if batched else state.unsqueeze(0)


class _RNNUnit:
    """The Elman update, shared by :class:`RNNCell` and :class:`RNN`; the state is (h,)."""

    def _step(self, x_projected, state, weight_hh, bias_hh):
        """h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh) (or relu); state (h_t,)."""
        (h_prev,) = state
        return (rnn_update(x_projected, h_prev, weight_hh, bias_hh, self.nonlinearity),)


class RNNCell(_RNNUnit, RNNCellBase):
    r"""One step of the vanilla (Elman) RNN, written from scratch.

    The cell reads the input ``x`` of one time step and the previous hidden
    state ``h`` and returns the next hidden state

    .. math::

        h' = \tanh(x W_{ih}^T + b_{ih} + h W_{hh}^T + b_{hh}),

    the update of the chapter "The unrolled RNN" in PyTorch's layout (the
    module docstring translates between the two). With
    ``nonlinearity='relu'`` a ReLU takes the place of tanh. The contract is
    that of :class:`torch.nn.RNNCell`: the same constructor arguments, shapes,
    return value and parameter names, so a ``state_dict`` saved from either
    loads into the other. To run a whole sequence, loop over its steps (see
    the example) or use :class:`RNN`, which also stacks layers.

    Below, D is ``input_size``, H is ``hidden_size`` and N the batch size.

    Args:
        input_size: D, the length of each input vector ``x``.
        hidden_size: H, the length of the hidden state ``h``.
        bias: ``True`` to add the two bias vectors b_ih and b_hh to the sum,
            ``False`` to leave them out (``bias_ih`` and ``bias_hh`` are then
            ``None``). Default: ``True``.
        nonlinearity: the function applied to the sum, ``'tanh'`` or
            ``'relu'``. Default: ``'tanh'``.
        device: the device the parameters are created on, for example
            ``'cuda'``; ``None`` means PyTorch's current default device.
            Default: ``None``.
        dtype: the floating-point dtype of the parameters, for example
            ``torch.float64``; ``None`` means PyTorch's default dtype
            (usually ``torch.float32``). Default: ``None``.

    Call ``cell(input, hx=None)`` with:
        - **input**: the inputs of one step, `(N, D)` for a batch or `(D)` for
          a single sequence, with the dtype and on the device of the
          parameters (nothing is converted or moved for you).
        - **hx**: the previous hidden state, `(N, H)`, or `(H)` when ``input``
          is unbatched (``hx`` is batched exactly when ``input`` is);
          ``None``, the default, stands for zeros.

    Returns:
        h', the next hidden state: `(N, H)`, or `(H)` for unbatched input.

    Attributes:
        weight_ih: W_ih, the learnable weights applied to the input, `(H, D)`.
        weight_hh: W_hh, the learnable weights applied to the previous state,
            `(H, H)`.
        bias_ih: b_ih, a learnable vector of length H, or ``None`` when
            ``bias=False``.
        bias_hh: b_hh, a learnable vector of length H, or ``None`` when
            ``bias=False``.

    Initialization: every weight and bias is drawn uniformly from
    :math:`[-1/\sqrt{H}, 1/\sqrt{H}]`, in the order :class:`torch.nn.RNNCell`
    draws them, so after the same ``torch.manual_seed`` both cells hold the
    same numbers. :meth:`reset_parameters` draws them again.

    Raises:
        TypeError: a size that is not an int; a ``dtype`` that is not a
            floating-point ``torch.dtype``; an ``input`` or ``hx`` that is not
            a floating-point tensor, or whose dtype differs from the
            parameters'.
        ValueError: a size below 1; ``bias`` or ``nonlinearity`` not one of its
            choices; an ``input`` or ``hx`` of the wrong shape (the message
            gives the shape expected) or on another device than the
            parameters.

        Every message names the argument, what it received and what was
        expected.

    Example: a batch of 3 sequences of 6 steps, one step at a time::

        >>> cell = RNNCell(4, 8)            # D = 4, H = 8
        >>> xs = torch.randn(6, 3, 4)       # (T, N, D)
        >>> h = torch.zeros(3, 8)           # (N, H); None would do the same
        >>> for x_t in xs:
        ...     h = cell(x_t, h)
        >>> h.shape
        torch.Size([3, 8])
    """

    def __init__(
        self, input_size, hidden_size, bias=True, nonlinearity="tanh", device=None, dtype=None
    ):
        check_choice("nonlinearity", nonlinearity, tuple(_ACTIVATIONS))
        super().__init__(input_size, hidden_size, bias, num_chunks=1, device=device, dtype=dtype)
        self.nonlinearity = nonlinearity


class RNNBase(_Recurrent):
    """A stack of recurrent layers, each run forwards (and backwards when bidirectional).

    Subclasses say how many gate blocks their weights hold (``num_chunks``) and
    implement :meth:`_step`, one time step of one layer in one direction; this
    class does everything else, as ``torch.nn.RNNBase`` does: it creates the
    parameters in ``torch.nn``'s order and names, checks ``input`` and ``hx``,
    handles ``batch_first`` and unbatched input, runs the layers and directions,
    and applies dropout between layers.

    The recurrent state is a tuple of tensors: ``(h,)`` for RNN and GRU,
    ``(h, c)`` for LSTM. :meth:`_initial_state` turns the ``hx`` argument into
    that tuple and :meth:`_final_state` turns the final tuple into the returned
    value; both handle a single tensor here, and LSTM overrides them.
    """

    # Whether b_hh only adds to the step's sum, so it can join b_ih (see _run_direction).
    _folds_hidden_bias = False

    def __init__(
        self,
        input_size,
        hidden_size,
        num_layers=1,
        bias=True,
        batch_first=False,
        dropout=0.0,
        bidirectional=False,
        device=None,
        dtype=None,
        *,
        num_chunks,
    ):
        super().__init__()
        _check_constructor_args(input_size, hidden_size, bias, dtype)
        check_positive_int("num_layers", num_layers)
        check_choice("batch_first", batch_first, (True, False))
        check_probability("dropout", dropout)
        check_choice("bidirectional", bidirectional, (True, False))
        if dropout > 0 and num_layers == 1:
            warnings.warn(
                f"dropout={dropout} has no effect with num_layers=1: dropout is applied to "
                "the outputs of every layer except the last",
                stacklevel=3,
            )
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bool(bias)
        self.batch_first = bool(batch_first)
        self.dropout = float(dropout)
        self.bidirectional = bool(bidirectional)
        self.num_directions = 2 if bidirectional else 1

        # Registration order matters: it is the order of named_parameters() and
        # state_dict(), and of the random draws in reset_parameters().
        factory = {"device": device, "dtype": dtype}
        gate_size = num_chunks * hidden_size
        for layer in range(num_layers):
            layer_input_size = input_size if layer == 0 else hidden_size * self.num_directions
            for direction in range(self.num_directions):
                shapes = [(gate_size, layer_input_size), (gate_size, hidden_size)]
                if self.bias:
                    shapes += [(gate_size,), (gate_size,)]
                for name, shape in zip(self._parameter_names(layer, direction), shapes):
                    setattr(self, name, nn.Parameter(torch.empty(shape, **factory)))
        self.reset_parameters()

    @staticmethod
    def _parameter_names(layer, direction):
        """``weight_ih_l0``, ``weight_hh_l0``, ... with ``_reverse`` for the backward direction."""
        suffix = f"_l{layer}" + ("_reverse" if direction == 1 else "")
        return [f"weight_ih{suffix}", f"weight_hh{suffix}", f"bias_ih{suffix}", f"bias_hh{suffix}"]

    def _parameters_of(self, layer, direction):
        """(weight_ih, weight_hh, bias_ih, bias_hh) of one layer and direction.

        The biases are ``None`` when the module has ``bias=False``.
        """
        return [getattr(self, name, None) for name in self._parameter_names(layer, direction)]

    def extra_repr(self):
        text = f"{self.input_size}, {self.hidden_size}"
        defaults = {
            "proj_size": 0,
            "num_layers": 1,
            "nonlinearity": "tanh",
            "bias": True,
            "batch_first": False,
            "dropout": 0.0,
            "bidirectional": False,
        }
        for name, default in defaults.items():
            value = getattr(self, name, default)
            if value != default:
                text += f", {name}={value!r}"
        return text

    def forward(self, input, hx=None):
        """Run the stack over ``input``; see :class:`RNN`, :class:`LSTM` and :class:`GRU`."""
        packed = input if isinstance(input, PackedSequence) else None
        mask = None
        if packed is not None:
            # A packed batch runs as the padded batch plus a mask (T, N) of its
            # real steps; see _run_direction for how the mask keeps the state.
            input, lengths = pad_packed_sequence(packed, batch_first=self.batch_first)
            T = input.shape[1 if self.batch_first else 0]
            mask = length_mask(lengths, T).T.to(input.device)
        x, state, batched = self._check_forward_args(input, hx)
        final_states = []
        for layer in range(self.num_layers):
            outputs = []
            for direction in range(self.num_directions):
                # hx and h_n hold layer 0 forward, layer 0 backward, layer 1 forward, ...
                index = layer * self.num_directions + direction
                output, final_state = self._run_direction(
                    x,
                    tuple(s[index] for s in state),
                    *self._parameters_of(layer, direction),
                    reverse=direction == 1,
                    mask=mask,
                )
                outputs.append(output)
                final_states.append(final_state)
            # The next layer reads both directions side by side: (T, N, num_directions * H).
            x = torch.cat(outputs, dim=2)
            if self.training and self.dropout > 0 and layer < self.num_layers - 1:
                x = F.dropout(x, self.dropout, training=True)

        h_n = tuple(torch.stack(parts) for parts in zip(*final_states))
        if packed is not None:
            return _repack(x, lengths, packed), self._final_state(h_n)
        if not batched:
            x = x.squeeze(1)
            h_n = tuple(h.squeeze(1) for h in h_n)
        elif self.batch_first:
            x = x.transpose(0, 1)
        return x, self._final_state(h_n)

    def _run_direction(self, x, state, weight_ih, weight_hh, bias_ih, bias_hh, reverse, mask=None):
        """Run one layer in one direction over the sequence ``x`` of shape (T, N, D).

        Returns the hidden states of every step, (T, N, H), in time order also
        when running backwards, and the final state tuple.

        With a ``mask`` (T, N), True at each sequence's real steps (padding at
        the end), a step changes the state only where the mask is True. Forwards,
        the state stops at each sequence's last real step, so the final state is
        the one after that step. Backwards, the state stays at its initial value
        through the padding and starts moving at the last real step: the reverse
        direction reads each sequence from its own end, never from the padding.
        """
        # x_t W_ih^T + b_ih does not depend on the previous state, so all T steps
        # are one large matrix product here instead of T small ones in the loop.
        if self._folds_hidden_bias and bias_hh is not None:
            # b_hh is added at every step just like b_ih (RNN, LSTM; not the GRU, whose
            # b_hn sits inside r * (...)): add the two once, here, instead of T times.
            bias_ih, bias_hh = bias_ih + bias_hh, None
        # unbind, not x_projected[t] in the loop: the backward of each x_projected[t]
        # writes its gradient into a zero tensor as large as the whole sequence,
        # which costs O(T^2); unbind's backward stacks the T gradients once.
        x_projected = _linear(x, weight_ih, bias_ih).unbind(0)
        steps = range(x.shape[0])
        outputs = [None] * x.shape[0]
        for t in reversed(steps) if reverse else steps:
            new_state = self._step(x_projected[t], state, weight_hh, bias_hh)
            if mask is not None:
                real = mask[t].unsqueeze(1)  # (N, 1)
                new_state = tuple(torch.where(real, new, old) for new, old in zip(new_state, state))
            state = new_state
            outputs[t] = state[0]
        return torch.stack(outputs), state

    def _step(self, x_projected, state, weight_hh, bias_hh):
        """One time step of one layer in one direction; subclasses implement it.

        ``x_projected`` is ``x_t W_ih^T + b_ih``, of shape (N, num_chunks * H);
        in a unit that folds its hidden bias (``_folds_hidden_bias``: RNN and
        LSTM) it holds ``+ b_hh`` too, and ``bias_hh`` is None. ``state`` is
        the tuple of the previous step. The first element of the returned tuple
        is the hidden state h_t, which is also the layer's output at step t.
        """
        raise NotImplementedError

    def _check_forward_args(self, input, hx):
        """Check ``input`` and ``hx``.

        Returns the input as (T, N, D), the state tuple and whether the input is batched.
        """
        name, dims = self._size_dims()
        dims.fix(
            _LAYERS,
            self.num_layers * self.num_directions,
            f"{name}(num_layers={self.num_layers}, bidirectional={self.bidirectional})",
        )
        batched_spec = ("N", "T", "D") if self.batch_first else ("T", "N", "D")
        _check_rank(input, batched_spec, ("T", "D"))
        batched = not (isinstance(input, torch.Tensor) and input.dim() == 2)
        dims.tensor("input", input, batched_spec if batched else ("T", "D"))
        check_same_dtype_and_device("input", input, self.weight_ih_l0, f"the parameters of {name}")

        if not batched:
            x = input.unsqueeze(1)
        elif self.batch_first:
            x = input.transpose(0, 1)
        else:
            x = input
        return x, self._initial_state(hx, dims, batched), batched

    def _batched_state(self, dims, batched, name, state):
        """Check one state tensor of shape (num_layers * num_directions, N, H).

        Unbatched input comes with a state without the N axis; it is returned
        with it. ``None`` stands for zeros, the usual initial state.
        """
        if state is None:
            batch_size = dims["N"] if batched else 1
            layers = self.num_layers * self.num_directions
            return self.weight_ih_l0.new_zeros(layers, batch_size, self.hidden_size)
        spec = (_LAYERS, "N", "H") if batched else (_LAYERS, "H")
        owner = f"the parameters of {type(self).__name__}"
        _check_state(dims, name, state, spec, self.weight_ih_l0, owner)
        return state if batched else state.unsqueeze(1)


def _repack(output, lengths, packed):
    """Pack ``output`` (T, N, H) in the order of the input ``packed``, as ``torch.nn`` does."""
    order = packed.sorted_indices
    if order is not None:
        output, lengths = output.index_select(1, order), lengths[order.cpu()]
    data = pack_padded_sequence(output, lengths, enforce_sorted=True)
    return PackedSequence(
        data.data, data.batch_sizes, packed.sorted_indices, packed.unsorted_indices
    )


class RNN(_RNNUnit, RNNBase):
    r"""The vanilla (Elman) RNN over whole sequences, stacked and bidirectional, from scratch.

    Each layer runs the update of :class:`RNNCell` along the sequence,

    .. math::
        h_t = \tanh(x_t W_{ih}^T + b_{ih} + h_{t-1} W_{hh}^T + b_{hh}),
        \qquad t = 1, \dots, T,

    starting from the initial state :math:`h_0`. The first layer reads the
    input sequence; every layer above it reads the hidden states of the layer
    below. With ``nonlinearity='relu'`` a ReLU takes the place of tanh. With
    ``bidirectional=True`` every layer has a second set of weights that reads
    the sequence from its last step to its first, and the layer's output at
    step t is the two hidden states side by side, forward first.

    The contract is that of :class:`torch.nn.RNN`: the same constructor
    arguments, input and state layout, return values, parameter names and
    parameter order, so a ``state_dict`` saved from either loads into the
    other, and a ``PackedSequence`` is accepted as input. Inside, there is no
    call to PyTorch's recurrent kernels: one recurrent matrix product per step,
    in a Python loop over time (chapter "Making RNNs fast" measures what this
    costs for the LSTM).

    Shapes below: T is the sequence length, N the batch size, D
    ``input_size``, H ``hidden_size``, and L = ``num_layers * num_directions``
    the number of (layer, direction) pairs, where ``num_directions`` is 2 when
    ``bidirectional=True`` and 1 otherwise.

    Args:
        input_size: D, the length of each input vector x_t.
        hidden_size: H, the length of each hidden state h_t, in every layer
            and direction.
        num_layers: how many layers are stacked; layer k > 0 reads the outputs
            of layer k - 1. Default: 1.
        nonlinearity: the function applied to the sum, ``'tanh'`` or
            ``'relu'``. Default: ``'tanh'``.
        bias: ``True`` to add the two bias vectors b_ih and b_hh in every
            layer, ``False`` to leave them out (no ``bias_*`` parameters are
            created). Default: ``True``.
        batch_first: ``True`` to take ``input`` and return ``output`` as
            `(N, T, ...)`, batch first, instead of `(T, N, ...)`. It changes
            neither ``hx`` and ``h_n``, which always have the layers first,
            nor unbatched input. Default: ``False``.
        dropout: the probability with which each output of every layer but
            the last is zeroed (the others scaled by 1 / (1 - dropout)) before
            the next layer reads it, in training mode only (``model.train()``);
            a number in [0, 1]. A nonzero value with
            ``num_layers=1`` has nothing to act on and gives a UserWarning.
            Default: 0.
        bidirectional: ``True`` to add, in every layer, a second direction that
            reads the sequence backwards. Default: ``False``.
        device: the device the parameters are created on, for example
            ``'cuda'``; ``None`` means PyTorch's current default device.
            Default: ``None``.
        dtype: the floating-point dtype of the parameters, for example
            ``torch.float64``; ``None`` means PyTorch's default dtype
            (usually ``torch.float32``). Default: ``None``.

    Call ``rnn(input, hx=None)`` with:
        * **input**: the input sequences, `(T, N, D)`, or `(N, T, D)` with
          ``batch_first=True``, or `(T, D)` for a single unbatched sequence;
          with the dtype and on the device of the parameters (nothing is
          converted or moved for you). It may also be a ``PackedSequence``
          (:func:`torch.nn.utils.rnn.pack_padded_sequence`) holding sequences
          of different lengths.
        * **hx**: the initial hidden state of every layer and direction,
          `(L, N, H)`, or `(L, H)` for unbatched input; ``None``, the default,
          stands for zeros. Row ``k * num_directions`` is layer k forwards and,
          when bidirectional, row ``k * num_directions + 1`` is layer k
          backwards.

    Returns:
        The pair ``(output, h_n)``:

        * **output**: the hidden states h_t of the top layer at every step,
          `(T, N, num_directions * H)`, or `(N, T, num_directions * H)` with
          ``batch_first=True``, or `(T, num_directions * H)` for unbatched
          input. When bidirectional, the first H features of each step are the
          forward direction's and the last H the backward direction's. For a
          ``PackedSequence`` input, ``output`` is a ``PackedSequence`` too, with
          the sequences in the input's order.
        * **h_n**: the final hidden state of every layer and direction, laid out
          as ``hx``: `(L, N, H)`, or `(L, H)` for unbatched input. The final
          state of a forward direction is the one after the last step; that of
          a backward direction is the one after it has read back to the first
          step. For a ``PackedSequence`` input, the forward direction's final
          state is the one after each sequence's own last real step.

    Attributes:
        weight_ih_l[k]: W_ih of layer k, learnable: `(H, D)` for k = 0 and
            `(H, num_directions * H)` for the layers above.
        weight_hh_l[k]: W_hh of layer k, learnable, `(H, H)`.
        bias_ih_l[k]: b_ih of layer k, a learnable vector of length H; absent
            when ``bias=False``.
        bias_hh_l[k]: b_hh of layer k, a learnable vector of length H; absent
            when ``bias=False``.
        weight_ih_l[k]_reverse, ...: the four of the backward direction, with
            the same shapes, when ``bidirectional=True``.

    Initialization: every weight and bias is drawn uniformly from
    :math:`[-1/\sqrt{H}, 1/\sqrt{H}]`, in the order :class:`torch.nn.RNN`
    draws them, so after the same ``torch.manual_seed`` both modules hold the
    same numbers. :meth:`reset_parameters` draws them again.

    Raises:
        TypeError: a size that is not an int; a ``dropout`` that is not a
            number; a ``dtype`` that is not a floating-point ``torch.dtype``;
            an ``input`` or ``hx`` that is not a floating-point tensor, or
            whose dtype differs from the parameters'.
        ValueError: a size below 1; ``dropout`` outside [0, 1];
            ``nonlinearity``, ``bias``, ``batch_first`` or ``bidirectional``
            not one of its choices; an ``input`` or ``hx`` of the wrong shape
            (the message gives the shape expected) or on another device than
            the parameters.

        Every message names the argument, what it received and what was
        expected.

    Example: two stacked layers over a batch of 3 sequences of 5 steps::

        >>> rnn = RNN(4, 8, num_layers=2)    # D = 4, H = 8
        >>> x = torch.randn(5, 3, 4)         # (T, N, D)
        >>> output, h_n = rnn(x)             # hx=None: start from zeros
        >>> output.shape, h_n.shape          # (T, N, H), (L, N, H)
        (torch.Size([5, 3, 8]), torch.Size([2, 3, 8]))
        >>> torch.allclose(output[-1], h_n[-1])  # the top layer's last state
        True
    """

    _folds_hidden_bias = True

    def __init__(
        self,
        input_size,
        hidden_size,
        num_layers=1,
        nonlinearity="tanh",
        bias=True,
        batch_first=False,
        dropout=0.0,
        bidirectional=False,
        device=None,
        dtype=None,
    ):
        check_choice("nonlinearity", nonlinearity, tuple(_ACTIVATIONS))
        super().__init__(
            input_size,
            hidden_size,
            num_layers,
            bias,
            batch_first,
            dropout,
            bidirectional,
            device,
            dtype,
            num_chunks=1,
        )
        self.nonlinearity = nonlinearity


def lstm_update(x_projected, h_prev, c_prev, weight_hh, bias_hh, *, return_gates=False):
    r"""One step of the LSTM: the gates, then the new cell state, then the new hidden state.

    .. math::

        \begin{array}{ll}
        [\,a^i_t \mid a^f_t \mid a^g_t \mid a^o_t\,]
            = x_t W_{ih}^T + b_{ih} + h_{t-1} W_{hh}^T + b_{hh}, \\
        i_t = \sigma(a^i_t), \quad f_t = \sigma(a^f_t), \quad
            g_t = \tanh(a^g_t), \quad o_t = \sigma(a^o_t), \\
        c_t = f_t \odot c_{t-1} + i_t \odot g_t, \\
        h_t = o_t \odot \tanh(c_t)
        \end{array}

    The four gates (input, forget, candidate, output) are the four H-column
    blocks of one sum, in PyTorch's order i, f, g, o: the rows of
    ``weight_hh`` come in the same four blocks, so one (N, H) x (H, 4H) matrix
    product per step serves all of them.

    Args:
        x_projected: ``x_t W_ih^T + b_ih``, the input's share of all four gates,
            of shape `(N, 4H)`. It is an argument because it does not depend on
            the previous state, so :class:`LSTM` computes it for all steps at once.
        h_prev: the previous hidden state :math:`h_{t-1}`, of shape `(N, H)`.
        c_prev: the previous cell state :math:`c_{t-1}`, of shape `(N, H)`.
        weight_hh: W_hh, the weights applied to the previous hidden state, in
            the four blocks i, f, g, o, of shape `(4H, H)`.
        bias_hh: b_hh, of shape `(4H)`, or ``None`` for a module built with
            ``bias=False`` (and for :class:`LSTM`, which adds it to
            ``x_projected`` once for all steps).
        return_gates: also return the gates, for code that shows them (the
            LSTM gate explorer). Default: ``False``.

    Returns:
        the pair ``(h_t, c_t)``, each of shape `(N, H)`; with
        ``return_gates=True`` the triple ``(h_t, c_t, (i_t, f_t, g_t, o_t))``.
    """
    gates = _plus_recurrent(x_projected, h_prev, weight_hh, bias_hh)
    a_i, a_f, a_g, a_o = gates.chunk(4, dim=-1)
    i, f, g, o = torch.sigmoid(a_i), torch.sigmoid(a_f), torch.tanh(a_g), torch.sigmoid(a_o)
    c = f * c_prev + i * g
    h = o * torch.tanh(c)
    return (h, c, (i, f, g, o)) if return_gates else (h, c)


def _lstm_initial_state(module, hx, dims, batched):
    """LSTM's ``hx``, the pair (h_0, c_0) or ``None``, as a state tuple of two batched tensors.

    ``module._batched_state`` checks each of the two, so the same code serves
    :class:`LSTMCell`, whose states are (N, H), and :class:`LSTM`, whose
    states are (num_layers * num_directions, N, H).
    """
    if hx is None:
        hx = (None, None)
    elif not (isinstance(hx, (tuple, list)) and len(hx) == 2 and all(s is not None for s in hx)):
        # A single tensor is the usual mistake: it is what RNN and GRU take.
        if isinstance(hx, torch.Tensor):
            received = f"a single tensor of shape {tuple(hx.shape)}"
        elif isinstance(hx, (tuple, list)):
            kinds = ", ".join(type(s).__name__ for s in hx)
            received = f"a {type(hx).__name__} of length {len(hx)} ({kinds})"
        else:
            received = type(hx).__name__
        raise TypeError(
            f"{type(module).__name__} expects hx to be a tuple (h_0, c_0) of two tensors, "
            f"the initial hidden and cell states (or None for zeros), got {received}"
        )
    h_0, c_0 = hx
    return (
        module._batched_state(dims, batched, "h_0", h_0),
        module._batched_state(dims, batched, "c_0", c_0),
    )


class _LSTMUnit:
    """The LSTM update and its state (h, c), shared by :class:`LSTMCell` and :class:`LSTM`."""

    def _step(self, x_projected, state, weight_hh, bias_hh):
        """The LSTM update; the state is the tuple (h_t, c_t)."""
        h_prev, c_prev = state
        return lstm_update(x_projected, h_prev, c_prev, weight_hh, bias_hh)

    def _initial_state(self, hx, dims, batched):
        """The ``hx`` argument, ``(h_0, c_0)`` or ``None``, as the state tuple (h, c)."""
        return _lstm_initial_state(self, hx, dims, batched)

    def _final_state(self, state):
        """The LSTM modules return the whole state, the tuple (h, c)."""
        return state


class LSTMCell(_LSTMUnit, RNNCellBase):
    r"""One step of the long short-term memory (LSTM), written from scratch.

    The cell reads the input ``x`` of one time step and the previous pair of
    states, the hidden state ``h`` and the cell state ``c``, and computes, as
    in the chapter "Long short-term memory", one affine map split into four
    blocks of H, one per gate, in the order i, f, g, o,

    .. math::

        \begin{array}{ll}
        [\,a^i \mid a^f \mid a^g \mid a^o\,]
            = x W_{ih}^T + b_{ih} + h W_{hh}^T + b_{hh}, \\
        i = \sigma(a^i), \quad f = \sigma(a^f), \quad
            g = \tanh(a^g), \quad o = \sigma(a^o), \\
        c' = f \odot c + i \odot g, \\
        h' = o \odot \tanh(c'),
        \end{array}

    where :math:`\sigma` is the logistic sigmoid and :math:`\odot` the
    elementwise product: the input gate i says how much of the candidate g to
    write into the cell, the forget gate f how much of the old cell to keep,
    the output gate o how much of the new cell to show in h'. The contract is
    that of :class:`torch.nn.LSTMCell`: the same constructor arguments, state
    pair, shapes, return value and parameter names, so a ``state_dict`` saved
    from either loads into the other. :func:`lstm_update` is the step itself.

    Below, D is ``input_size``, H is ``hidden_size`` and N the batch size.

    Args:
        input_size: D, the length of each input vector ``x``.
        hidden_size: H, the length of the hidden state ``h`` and of the cell
            state ``c``.
        bias: ``True`` to add the two bias vectors b_ih and b_hh (4H each) to
            the gates' sum, ``False`` to leave them out (``bias_ih`` and
            ``bias_hh`` are then ``None``). Default: ``True``.
        device: the device the parameters are created on, for example
            ``'cuda'``; ``None`` means PyTorch's current default device.
            Default: ``None``.
        dtype: the floating-point dtype of the parameters, for example
            ``torch.float64``; ``None`` means PyTorch's default dtype
            (usually ``torch.float32``). Default: ``None``.

    Call ``cell(input, hx=None)`` with:
        - **input**: the inputs of one step, `(N, D)` for a batch or `(D)` for
          a single sequence, with the dtype and on the device of the
          parameters (nothing is converted or moved for you).
        - **hx**: the previous states as a pair ``(h_0, c_0)`` (a tuple or a
          list of two tensors), or ``None``, the default, for zeros in both.
          **h_0** is the hidden state and **c_0** the cell state, each
          `(N, H)`, or `(H)` when ``input`` is unbatched (they are batched
          exactly when ``input`` is).

    Returns:
        The pair ``(h_1, c_1)`` of the next hidden state **h_1** and the next
        cell state **c_1**, each `(N, H)`, or `(H)` for unbatched input.

    Attributes:
        weight_ih: W_ih, the learnable weights applied to the input, `(4H, D)`:
            rows 0 to H - 1 feed the input gate i, rows H to 2H - 1 the forget
            gate f, then the candidate g and the output gate o.
        weight_hh: W_hh, the learnable weights applied to the previous hidden
            state, `(4H, H)`, in the same four blocks i, f, g, o.
        bias_ih: b_ih, a learnable vector of length 4H in the blocks i, f, g,
            o, or ``None`` when ``bias=False``.
        bias_hh: b_hh, a learnable vector of length 4H in the blocks i, f, g,
            o, or ``None`` when ``bias=False``.

    Initialization: every weight and bias is drawn uniformly from
    :math:`[-1/\sqrt{H}, 1/\sqrt{H}]`, in the order
    :class:`torch.nn.LSTMCell` draws them, so after the same
    ``torch.manual_seed`` both cells hold the same numbers.
    :meth:`reset_parameters` draws them again; :func:`set_forget_bias` sets
    the forget gate's bias afterwards.

    Raises:
        TypeError: a size that is not an int; a ``dtype`` that is not a
            floating-point ``torch.dtype``; an ``hx`` that is not a pair of
            tensors (a single tensor, the state of :class:`RNNCell` and
            :class:`GRUCell`, is the usual mistake); an ``input``, ``h_0`` or
            ``c_0`` that is not a floating-point tensor, or whose dtype differs
            from the parameters'.
        ValueError: a size below 1; ``bias`` not ``True`` or ``False``; an
            ``input``, ``h_0`` or ``c_0`` of the wrong shape (the message gives
            the shape expected) or on another device than the parameters.

        Every message names the argument, what it received and what was
        expected.

    Example: a batch of 3 sequences of 6 steps, one step at a time::

        >>> cell = LSTMCell(4, 8)           # D = 4, H = 8
        >>> xs = torch.randn(6, 3, 4)       # (T, N, D)
        >>> state = None                    # zeros for h and c
        >>> for x_t in xs:
        ...     state = cell(x_t, state)
        >>> h, c = state
        >>> h.shape, c.shape
        (torch.Size([3, 8]), torch.Size([3, 8]))
    """

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, num_chunks=4, device=device, dtype=dtype)


class LSTM(_LSTMUnit, RNNBase):
    r"""The LSTM over whole sequences, stacked and bidirectional, written from scratch.

    Each layer runs the update of :class:`LSTMCell` along the sequence: at
    every step t, one affine map split into the four gate blocks i, f, g, o,
    then the new cell state and the new hidden state,

    .. math::
        \begin{array}{ll}
        [\,a^i_t \mid a^f_t \mid a^g_t \mid a^o_t\,]
            = x_t W_{ih}^T + b_{ih} + h_{t-1} W_{hh}^T + b_{hh}, \\
        i_t = \sigma(a^i_t), \quad f_t = \sigma(a^f_t), \quad
            g_t = \tanh(a^g_t), \quad o_t = \sigma(a^o_t), \\
        c_t = f_t \odot c_{t-1} + i_t \odot g_t, \\
        h_t = o_t \odot \tanh(c_t),
        \end{array}

    starting from the initial states :math:`h_0` and :math:`c_0`, where
    :math:`\sigma` is the logistic sigmoid and :math:`\odot` the elementwise
    product (chapter "Long short-term memory" derives it and its gradient).
    The first layer reads the input sequence; every layer above it reads the
    hidden states h_t of the layer below (the cell states stay inside their
    layer). With ``bidirectional=True`` every layer has a second set of
    weights that reads the sequence from its last step to its first, and the
    layer's output at step t is the two hidden states side by side, forward
    first.

    The contract is that of :class:`torch.nn.LSTM` without projections: the
    same constructor arguments, input and state layout, return values,
    parameter names and parameter order, so a ``state_dict`` saved from either
    loads into the other, and a ``PackedSequence`` is accepted as input. The
    one difference: ``proj_size`` must be 0 (no projection of the hidden
    state). Inside, there is no call to PyTorch's recurrent kernels: one
    recurrent matrix product per step, in a Python loop over time, through
    :func:`lstm_update`.

    Shapes below: T is the sequence length, N the batch size, D
    ``input_size``, H ``hidden_size``, and L = ``num_layers * num_directions``
    the number of (layer, direction) pairs, where ``num_directions`` is 2 when
    ``bidirectional=True`` and 1 otherwise.

    Args:
        input_size: D, the length of each input vector x_t.
        hidden_size: H, the length of each hidden state h_t and cell state
            c_t, in every layer and direction.
        num_layers: how many layers are stacked; layer k > 0 reads the hidden
            states of layer k - 1. Default: 1.
        bias: ``True`` to add the two bias vectors b_ih and b_hh (4H each) in
            every layer, ``False`` to leave them out (no ``bias_*`` parameters
            are created). Default: ``True``.
        batch_first: ``True`` to take ``input`` and return ``output`` as
            `(N, T, ...)`, batch first, instead of `(T, N, ...)`. It changes
            none of ``h_0``, ``c_0``, ``h_n`` and ``c_n``, which always have
            the layers first, nor unbatched input. Default: ``False``.
        dropout: the probability with which each output of every layer but
            the last is zeroed (the others scaled by 1 / (1 - dropout)) before
            the next layer reads it, in training mode only (``model.train()``);
            a number in [0, 1]. A nonzero value with
            ``num_layers=1`` has nothing to act on and gives a UserWarning.
            Default: 0.
        bidirectional: ``True`` to add, in every layer, a second direction that
            reads the sequence backwards. Default: ``False``.
        proj_size: kept so that code written for :class:`torch.nn.LSTM` runs
            unchanged; it must be 0, the default (no projection). Any other
            value raises a ValueError that points to :class:`torch.nn.LSTM`.
            Default: 0.
        device: the device the parameters are created on, for example
            ``'cuda'``; ``None`` means PyTorch's current default device.
            Default: ``None``.
        dtype: the floating-point dtype of the parameters, for example
            ``torch.float64``; ``None`` means PyTorch's default dtype
            (usually ``torch.float32``). Default: ``None``.

    Call ``lstm(input, hx=None)`` with:
        * **input**: the input sequences, `(T, N, D)`, or `(N, T, D)` with
          ``batch_first=True``, or `(T, D)` for a single unbatched sequence;
          with the dtype and on the device of the parameters (nothing is
          converted or moved for you). It may also be a ``PackedSequence``
          (:func:`torch.nn.utils.rnn.pack_padded_sequence`) holding sequences
          of different lengths.
        * **hx**: the initial states as a pair ``(h_0, c_0)`` (a tuple or a
          list of two tensors), or ``None``, the default, for zeros in both.
          **h_0** holds the initial hidden state and **c_0** the initial cell
          state of every layer and direction, each `(L, N, H)`, or `(L, H)`
          for unbatched input. Row ``k * num_directions`` is layer k forwards
          and, when bidirectional, row ``k * num_directions + 1`` is layer k
          backwards.

    Returns:
        The pair ``(output, (h_n, c_n))``:

        * **output**: the hidden states h_t of the top layer at every step,
          `(T, N, num_directions * H)`, or `(N, T, num_directions * H)` with
          ``batch_first=True``, or `(T, num_directions * H)` for unbatched
          input. When bidirectional, the first H features of each step are the
          forward direction's and the last H the backward direction's. For a
          ``PackedSequence`` input, ``output`` is a ``PackedSequence`` too, with
          the sequences in the input's order.
        * **h_n**: the final hidden state of every layer and direction, laid
          out as ``h_0``: `(L, N, H)`, or `(L, H)` for unbatched input. The
          final state of a forward direction is the one after the last step;
          that of a backward direction is the one after it has read back to
          the first step. For a ``PackedSequence`` input, the forward
          direction's final state is the one after each sequence's own last
          real step.
        * **c_n**: the final cell state of every layer and direction, laid out
          and timed as ``h_n``.

    Attributes:
        weight_ih_l[k]: W_ih of layer k, learnable: `(4H, D)` for k = 0 and
            `(4H, num_directions * H)` for the layers above; rows 0 to H - 1
            feed the input gate i, rows H to 2H - 1 the forget gate f, then
            the candidate g and the output gate o.
        weight_hh_l[k]: W_hh of layer k, learnable, `(4H, H)`, in the same four
            blocks i, f, g, o.
        bias_ih_l[k]: b_ih of layer k, a learnable vector of length 4H in the
            blocks i, f, g, o; absent when ``bias=False``.
        bias_hh_l[k]: b_hh of layer k, a learnable vector of length 4H in the
            blocks i, f, g, o; absent when ``bias=False``.
        weight_ih_l[k]_reverse, ...: the four of the backward direction, with
            the same shapes, when ``bidirectional=True``.

    Initialization: every weight and bias is drawn uniformly from
    :math:`[-1/\sqrt{H}, 1/\sqrt{H}]`, in the order :class:`torch.nn.LSTM`
    draws them, so after the same ``torch.manual_seed`` both modules hold the
    same numbers. :meth:`reset_parameters` draws them again;
    :func:`set_forget_bias` sets the forget gate's bias afterwards.

    Raises:
        TypeError: a size that is not an int; a ``dropout`` that is not a
            number; a ``dtype`` that is not a floating-point ``torch.dtype``;
            an ``hx`` that is not a pair of tensors (a single tensor, the state
            of :class:`RNN` and :class:`GRU`, is the usual mistake); an
            ``input``, ``h_0`` or ``c_0`` that is not a floating-point tensor,
            or whose dtype differs from the parameters'.
        ValueError: a size below 1; a ``proj_size`` other than 0; ``dropout``
            outside [0, 1]; ``bias``, ``batch_first`` or ``bidirectional`` not
            ``True`` or ``False``; an ``input``, ``h_0`` or ``c_0`` of the
            wrong shape (the message gives the shape expected) or on another
            device than the parameters.

        Every message names the argument, what it received and what was
        expected.

    Example: two stacked layers over a batch of 3 sequences of 5 steps, and
    the same weights in :class:`torch.nn.LSTM`::

        >>> lstm = LSTM(4, 8, num_layers=2)  # D = 4, H = 8
        >>> x = torch.randn(5, 3, 4)         # (T, N, D)
        >>> output, (h_n, c_n) = lstm(x)     # hx=None: start from zeros
        >>> output.shape, h_n.shape, c_n.shape
        (torch.Size([5, 3, 8]), torch.Size([2, 3, 8]), torch.Size([2, 3, 8]))
        >>> reference = torch.nn.LSTM(4, 8, num_layers=2)
        >>> reference.load_state_dict(lstm.state_dict())
        <All keys matched successfully>
        >>> torch.allclose(reference(x)[0], output, atol=1e-6)
        True
    """

    _folds_hidden_bias = True

    def __init__(
        self,
        input_size,
        hidden_size,
        num_layers=1,
        bias=True,
        batch_first=False,
        dropout=0.0,
        bidirectional=False,
        proj_size=0,
        device=None,
        dtype=None,
    ):
        check_positive_int("proj_size", proj_size, minimum=0)
        if proj_size != 0:
            raise ValueError(
                f"proj_size={proj_size} is not supported: this LSTM has no projection of "
                "the hidden state; use proj_size=0 (the default), or torch.nn.LSTM for "
                "an LSTM with projections"
            )
        super().__init__(
            input_size,
            hidden_size,
            num_layers,
            bias,
            batch_first,
            dropout,
            bidirectional,
            device,
            dtype,
            num_chunks=4,
        )
        self.proj_size = 0


def set_forget_bias(lstm, value):
    """Set the forget-gate bias of every layer and direction of an LSTM to ``value``.

    PyTorch's LSTM has two biases that are always added, ``bias_ih`` and
    ``bias_hh``; their forget-gate rows (``H .. 2H - 1``, gate order i, f, g, o)
    are set to ``value`` and 0, so the forget gate's total bias is ``value``.
    With ``value = 1`` the forget gate starts near sigma(1) = 0.73 instead of
    sigma(0) = 0.5, and the cell keeps its content longer from the first step
    of training (Gers et al. 2000; Jozefowicz et al. 2015).

    Args:
        lstm: a ``torch.nn.LSTM``, ``torch.nn.LSTMCell`` or their
            :mod:`helpers.modules` namesakes, built with ``bias=True``.
        value: the forget-gate bias, a real number.

    Returns:
        the same module, changed in place.
    """
    if not isinstance(lstm, (nn.LSTM, nn.LSTMCell, LSTM, LSTMCell)):
        raise TypeError(f"lstm must be an LSTM or LSTMCell module, got {_describe(lstm)}")
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"value must be a real number, got {_describe(value)}")
    if not math.isfinite(value):
        raise ValueError(f"value must be finite, got {value}")
    if not lstm.bias:
        raise ValueError("lstm was built with bias=False: it has no forget-gate bias to set")
    H = lstm.hidden_size
    with torch.no_grad():
        for name, parameter in lstm.named_parameters():
            if name.startswith("bias_ih"):
                parameter[H : 2 * H] = value
            elif name.startswith("bias_hh"):
                parameter[H : 2 * H] = 0.0
    return lstm


def gru_update(x_projected, h_prev, weight_hh, bias_hh):
    r"""One step of PyTorch's GRU: reset and update gates, the candidate, then the new state.

    .. math::

        \begin{array}{ll}
        r_t = \sigma(x_t (W_{ih}^r)^T + b_{ih}^r + h_{t-1} (W_{hh}^r)^T + b_{hh}^r) \\
        z_t = \sigma(x_t (W_{ih}^z)^T + b_{ih}^z + h_{t-1} (W_{hh}^z)^T + b_{hh}^z) \\
        n_t = \tanh(x_t (W_{ih}^n)^T + b_{ih}^n + r_t \odot (h_{t-1} (W_{hh}^n)^T + b_{hh}^n)) \\
        h_t = (1 - z_t) \odot n_t + z_t \odot h_{t-1}
        \end{array}

    where :math:`W_{ih}^r` is the block of rows of W_ih that feeds r_t (and so
    on). This is PyTorch's GRU. Chung et al. (2014) write the GRU as

    .. math::

        \begin{array}{ll}
        \tilde h_t = \tanh(x_t (W_{ih}^n)^T + b_{ih}^n + (r_t \odot h_{t-1}) (W_{hh}^n)^T
            + b_{hh}^n) \\
        h_t = (1 - z_t) \odot h_{t-1} + z_t \odot \tilde h_t
        \end{array}

    Two things differ. Chung et al. apply the reset gate *before* the
    recurrent matrix product (as do Cho et al.'s published paper and most
    books), PyTorch *after* it, so that ``h_{t-1} W_hh^T`` is one product for
    all three gates per step; this makes them different functions, and weights
    trained for one do not fit the other. Chung et al. also swap the roles of
    ``z`` and ``1 - z`` (Cho et al. and PyTorch keep the old state with ``z``),
    which by itself is only a relabelling (negating the update gate's weights
    and biases turns one into the other).

    The rows of ``weight_hh`` (and of ``weight_ih``) come in three blocks of H,
    in PyTorch's order r, z, n.

    Args:
        x_projected: ``x_t W_ih^T + b_ih``, the input's share of the three
            gates, of shape `(N, 3H)`. It is an argument because it does not
            depend on the previous state, so :class:`GRU` computes it for all
            steps at once.
        h_prev: the previous hidden state :math:`h_{t-1}`, of shape `(N, H)`.
        weight_hh: W_hh, the weights applied to the previous state, in the
            three blocks r, z, n, of shape `(3H, H)`.
        bias_hh: b_hh, of shape `(3H)`, or ``None`` for a module built with
            ``bias=False``.

    Returns:
        the new hidden state :math:`h_t`, of shape `(N, H)`.
    """
    # The new gate needs the recurrent share of n on its own (r scales it), so
    # the two shares are split into blocks before they are added.
    x_r, x_z, x_n = x_projected.chunk(3, dim=-1)
    h_r, h_z, h_n = _linear(h_prev, weight_hh, bias_hh).chunk(3, dim=-1)
    r = torch.sigmoid(x_r + h_r)
    z = torch.sigmoid(x_z + h_z)
    n = torch.tanh(x_n + r * h_n)
    return (1 - z) * n + z * h_prev


class _GRUUnit:
    """PyTorch's GRU update, shared by :class:`GRUCell` and :class:`GRU`; the state is (h,)."""

    def _step(self, x_projected, state, weight_hh, bias_hh):
        """PyTorch's GRU update; the state is the tuple (h_t,)."""
        (h_prev,) = state
        return (gru_update(x_projected, h_prev, weight_hh, bias_hh),)


class GRUCell(_GRUUnit, RNNCellBase):
    r"""One step of the gated recurrent unit (GRU) in PyTorch's form, written from scratch.

    The cell reads the input ``x`` of one time step and the previous hidden
    state ``h`` and computes, as in the chapter "Gated recurrent units", the
    reset gate r, the update gate z, the candidate n and the next state h',

    .. math::

        \begin{array}{ll}
        r = \sigma(x (W_{ih}^r)^T + b_{ih}^r + h (W_{hh}^r)^T + b_{hh}^r), \\
        z = \sigma(x (W_{ih}^z)^T + b_{ih}^z + h (W_{hh}^z)^T + b_{hh}^z), \\
        n = \tanh(x (W_{ih}^n)^T + b_{ih}^n
            + r \odot (h (W_{hh}^n)^T + b_{hh}^n)), \\
        h' = (1 - z) \odot n + z \odot h,
        \end{array}

    where :math:`W_{ih}^r` is the block of rows of W_ih that feeds r (and so
    on), :math:`\sigma` the logistic sigmoid and :math:`\odot` the elementwise
    product. The reset gate scales the recurrent share *after* its matrix
    product, where the papers and most books put it before; the two are
    different functions (see :func:`gru_update`). The contract is that of
    :class:`torch.nn.GRUCell`: the same constructor arguments, shapes, return
    value and parameter names, so a ``state_dict`` saved from either loads
    into the other.

    Below, D is ``input_size``, H is ``hidden_size`` and N the batch size.

    Args:
        input_size: D, the length of each input vector ``x``.
        hidden_size: H, the length of the hidden state ``h``.
        bias: ``True`` to add the two bias vectors b_ih and b_hh (3H each),
            ``False`` to leave them out (``bias_ih`` and ``bias_hh`` are then
            ``None``). Default: ``True``.
        device: the device the parameters are created on, for example
            ``'cuda'``; ``None`` means PyTorch's current default device.
            Default: ``None``.
        dtype: the floating-point dtype of the parameters, for example
            ``torch.float64``; ``None`` means PyTorch's default dtype
            (usually ``torch.float32``). Default: ``None``.

    Call ``cell(input, hx=None)`` with:
        - **input**: the inputs of one step, `(N, D)` for a batch or `(D)` for
          a single sequence, with the dtype and on the device of the
          parameters (nothing is converted or moved for you).
        - **hx**: the previous hidden state, `(N, H)`, or `(H)` when ``input``
          is unbatched (``hx`` is batched exactly when ``input`` is);
          ``None``, the default, stands for zeros.

    Returns:
        h', the next hidden state: `(N, H)`, or `(H)` for unbatched input.

    Attributes:
        weight_ih: W_ih, the learnable weights applied to the input, `(3H, D)`:
            rows 0 to H - 1 feed the reset gate r, rows H to 2H - 1 the update
            gate z, rows 2H to 3H - 1 the candidate n.
        weight_hh: W_hh, the learnable weights applied to the previous state,
            `(3H, H)`, in the same three blocks r, z, n.
        bias_ih: b_ih, a learnable vector of length 3H in the blocks r, z, n,
            or ``None`` when ``bias=False``.
        bias_hh: b_hh, a learnable vector of length 3H in the blocks r, z, n,
            or ``None`` when ``bias=False``. Its n block sits inside
            ``r * (...)``, so unlike in the LSTM it is not interchangeable
            with b_ih's.

    Initialization: every weight and bias is drawn uniformly from
    :math:`[-1/\sqrt{H}, 1/\sqrt{H}]`, in the order :class:`torch.nn.GRUCell`
    draws them, so after the same ``torch.manual_seed`` both cells hold the
    same numbers. :meth:`reset_parameters` draws them again.

    Raises:
        TypeError: a size that is not an int; a ``dtype`` that is not a
            floating-point ``torch.dtype``; an ``input`` or ``hx`` that is not
            a floating-point tensor, or whose dtype differs from the
            parameters'.
        ValueError: a size below 1; ``bias`` not ``True`` or ``False``; an
            ``input`` or ``hx`` of the wrong shape (the message gives the shape
            expected) or on another device than the parameters.

        Every message names the argument, what it received and what was
        expected.

    Example: a batch of 3 sequences of 6 steps, one step at a time::

        >>> cell = GRUCell(4, 8)            # D = 4, H = 8
        >>> xs = torch.randn(6, 3, 4)       # (T, N, D)
        >>> h = None                        # zeros
        >>> for x_t in xs:
        ...     h = cell(x_t, h)
        >>> h.shape
        torch.Size([3, 8])
    """

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, num_chunks=3, device=device, dtype=dtype)


class GRU(_GRUUnit, RNNBase):
    r"""The GRU (PyTorch's form) over whole sequences, stacked and bidirectional, from scratch.

    Each layer runs the update of :class:`GRUCell` along the sequence: at
    every step t, the reset gate r_t, the update gate z_t, the candidate n_t
    and the new state,

    .. math::
        \begin{array}{ll}
        r_t = \sigma(x_t (W_{ih}^r)^T + b_{ih}^r + h_{t-1} (W_{hh}^r)^T + b_{hh}^r), \\
        z_t = \sigma(x_t (W_{ih}^z)^T + b_{ih}^z + h_{t-1} (W_{hh}^z)^T + b_{hh}^z), \\
        n_t = \tanh(x_t (W_{ih}^n)^T + b_{ih}^n
            + r_t \odot (h_{t-1} (W_{hh}^n)^T + b_{hh}^n)), \\
        h_t = (1 - z_t) \odot n_t + z_t \odot h_{t-1},
        \end{array}

    starting from the initial state :math:`h_0`, where :math:`W_{ih}^r` is
    the block of rows of W_ih that feeds r_t (and so on), :math:`\sigma` the
    logistic sigmoid and :math:`\odot` the elementwise product. The reset gate
    scales the recurrent share *after* its matrix product, where the papers
    and most books put it before (see :func:`gru_update` and the chapter
    "Gated recurrent units"). The first layer reads the input sequence; every
    layer above it reads the hidden states of the layer below. With
    ``bidirectional=True`` every layer has a second set of weights that reads
    the sequence from its last step to its first, and the layer's output at
    step t is the two hidden states side by side, forward first.

    The contract is that of :class:`torch.nn.GRU`: the same constructor
    arguments, input and state layout, return values, parameter names and
    parameter order, so a ``state_dict`` saved from either loads into the
    other, and a ``PackedSequence`` is accepted as input. Inside, there is no
    call to PyTorch's recurrent kernels: one recurrent matrix product per step,
    in a Python loop over time, through :func:`gru_update`.

    Shapes below: T is the sequence length, N the batch size, D
    ``input_size``, H ``hidden_size``, and L = ``num_layers * num_directions``
    the number of (layer, direction) pairs, where ``num_directions`` is 2 when
    ``bidirectional=True`` and 1 otherwise.

    Args:
        input_size: D, the length of each input vector x_t.
        hidden_size: H, the length of each hidden state h_t, in every layer
            and direction.
        num_layers: how many layers are stacked; layer k > 0 reads the outputs
            of layer k - 1. Default: 1.
        bias: ``True`` to add the two bias vectors b_ih and b_hh (3H each) in
            every layer, ``False`` to leave them out (no ``bias_*`` parameters
            are created). Default: ``True``.
        batch_first: ``True`` to take ``input`` and return ``output`` as
            `(N, T, ...)`, batch first, instead of `(T, N, ...)`. It changes
            neither ``hx`` and ``h_n``, which always have the layers first,
            nor unbatched input. Default: ``False``.
        dropout: the probability with which each output of every layer but
            the last is zeroed (the others scaled by 1 / (1 - dropout)) before
            the next layer reads it, in training mode only (``model.train()``);
            a number in [0, 1]. A nonzero value with
            ``num_layers=1`` has nothing to act on and gives a UserWarning.
            Default: 0.
        bidirectional: ``True`` to add, in every layer, a second direction that
            reads the sequence backwards. Default: ``False``.
        device: the device the parameters are created on, for example
            ``'cuda'``; ``None`` means PyTorch's current default device.
            Default: ``None``.
        dtype: the floating-point dtype of the parameters, for example
            ``torch.float64``; ``None`` means PyTorch's default dtype
            (usually ``torch.float32``). Default: ``None``.

    Call ``gru(input, hx=None)`` with:
        * **input**: the input sequences, `(T, N, D)`, or `(N, T, D)` with
          ``batch_first=True``, or `(T, D)` for a single unbatched sequence;
          with the dtype and on the device of the parameters (nothing is
          converted or moved for you). It may also be a ``PackedSequence``
          (:func:`torch.nn.utils.rnn.pack_padded_sequence`) holding sequences
          of different lengths.
        * **hx**: the initial hidden state of every layer and direction,
          `(L, N, H)`, or `(L, H)` for unbatched input; ``None``, the default,
          stands for zeros. Row ``k * num_directions`` is layer k forwards and,
          when bidirectional, row ``k * num_directions + 1`` is layer k
          backwards.

    Returns:
        The pair ``(output, h_n)``:

        * **output**: the hidden states h_t of the top layer at every step,
          `(T, N, num_directions * H)`, or `(N, T, num_directions * H)` with
          ``batch_first=True``, or `(T, num_directions * H)` for unbatched
          input. When bidirectional, the first H features of each step are the
          forward direction's and the last H the backward direction's. For a
          ``PackedSequence`` input, ``output`` is a ``PackedSequence`` too, with
          the sequences in the input's order.
        * **h_n**: the final hidden state of every layer and direction, laid out
          as ``hx``: `(L, N, H)`, or `(L, H)` for unbatched input. The final
          state of a forward direction is the one after the last step; that of
          a backward direction is the one after it has read back to the first
          step. For a ``PackedSequence`` input, the forward direction's final
          state is the one after each sequence's own last real step.

    Attributes:
        weight_ih_l[k]: W_ih of layer k, learnable: `(3H, D)` for k = 0 and
            `(3H, num_directions * H)` for the layers above; rows 0 to H - 1
            feed the reset gate r, rows H to 2H - 1 the update gate z, rows 2H
            to 3H - 1 the candidate n.
        weight_hh_l[k]: W_hh of layer k, learnable, `(3H, H)`, in the same
            three blocks r, z, n.
        bias_ih_l[k]: b_ih of layer k, a learnable vector of length 3H in the
            blocks r, z, n; absent when ``bias=False``.
        bias_hh_l[k]: b_hh of layer k, a learnable vector of length 3H in the
            blocks r, z, n; absent when ``bias=False``.
        weight_ih_l[k]_reverse, ...: the four of the backward direction, with
            the same shapes, when ``bidirectional=True``.

    Initialization: every weight and bias is drawn uniformly from
    :math:`[-1/\sqrt{H}, 1/\sqrt{H}]`, in the order :class:`torch.nn.GRU`
    draws them, so after the same ``torch.manual_seed`` both modules hold the
    same numbers. :meth:`reset_parameters` draws them again.

    Raises:
        TypeError: a size that is not an int; a ``dropout`` that is not a
            number; a ``dtype`` that is not a floating-point ``torch.dtype``;
            an ``input`` or ``hx`` that is not a floating-point tensor, or
            whose dtype differs from the parameters'.
        ValueError: a size below 1; ``dropout`` outside [0, 1]; ``bias``,
            ``batch_first`` or ``bidirectional`` not ``True`` or ``False``; an
            ``input`` or ``hx`` of the wrong shape (the message gives the shape
            expected) or on another device than the parameters.

        Every message names the argument, what it received and what was
        expected.

    Example: one bidirectional layer over a batch-first batch of 3 sequences
    of 5 steps::

        >>> gru = GRU(4, 8, batch_first=True, bidirectional=True)
        >>> x = torch.randn(3, 5, 4)         # (N, T, D)
        >>> output, h_n = gru(x)             # hx=None: start from zeros
        >>> output.shape, h_n.shape          # (N, T, 2H), (L, N, H)
        (torch.Size([3, 5, 16]), torch.Size([2, 3, 8]))
        >>> torch.allclose(output[:, -1, :8], h_n[0])  # forwards ends at step T
        True
        >>> torch.allclose(output[:, 0, 8:], h_n[1])   # backwards ends at step 1
        True
    """

    def __init__(
        self,
        input_size,
        hidden_size,
        num_layers=1,
        bias=True,
        batch_first=False,
        dropout=0.0,
        bidirectional=False,
        device=None,
        dtype=None,
    ):
        super().__init__(
            input_size,
            hidden_size,
            num_layers,
            bias,
            batch_first,
            dropout,
            bidirectional,
            device,
            dtype,
            num_chunks=3,
        )
