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
        weight_hh: the hidden-hidden weights, of shape `(H, H)`.
        bias_hh: the hidden-hidden bias, of shape `(H)`, or ``None``.
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


class RNNCellBase(nn.Module):
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

    def reset_parameters(self):
        """Draw every weight and bias from U(-1/sqrt(H), 1/sqrt(H)), as ``torch.nn`` does."""
        _uniform_init(self)

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

    def _initial_state(self, hx, dims, batched):
        """The ``hx`` argument as a state tuple of (N, H) tensors."""
        return (self._batched_state(dims, batched, "hx", hx),)

    def _final_state(self, state):
        """The state tuple as the cell returns it: h' for RNNCell and GRUCell."""
        (h,) = state
        return h

    def _dims(self, input):
        """Check ``input`` of shape (N, D) or (D,); return its Dims and whether it is batched."""
        name = type(self).__name__
        dims = Dims().fix("D", self.input_size, f"the {name}'s input_size")
        dims.fix("H", self.hidden_size, f"the {name}'s hidden_size")
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


class RNNCell(RNNCellBase):
    r"""An Elman RNN cell with tanh or ReLU nonlinearity, written from scratch.

    .. math::

        h' = \tanh(x W_{ih}^T + b_{ih} + h W_{hh}^T + b_{hh})

    If :attr:`nonlinearity` is ``'relu'``, then ReLU is used in place of tanh.
    Same arguments, parameters and results as :class:`torch.nn.RNNCell`.

    Args:
        input_size: The number of expected features in the input `x`
        hidden_size: The number of features in the hidden state `h`
        bias: If ``False``, then the layer does not use bias weights `b_ih` and
            `b_hh`. Default: ``True``
        nonlinearity: The non-linearity to use. Can be either ``'tanh'`` or
            ``'relu'``. Default: ``'tanh'``
        device: where to create the parameters. Default: the default device
        dtype: the floating-point dtype of the parameters. Default: the default dtype

    Inputs: input, hx
        - **input** of shape `(N, input_size)` or `(input_size)`: the input
          features. Must have the dtype and device of the parameters.
        - **hx** of shape `(N, hidden_size)` or `(hidden_size)`: the current
          hidden state, batched exactly when input is. Defaults to zeros if not
          provided.

    Outputs: h'
        - **h'** of shape `(N, hidden_size)` or `(hidden_size)`: the next hidden
          state for each element in the batch.

    Attributes:
        weight_ih: the learnable input-hidden weights, of shape
            `(hidden_size, input_size)`
        weight_hh: the learnable hidden-hidden weights, of shape
            `(hidden_size, hidden_size)`
        bias_ih: the learnable input-hidden bias, of shape `(hidden_size)`, or
            ``None`` when ``bias=False``
        bias_hh: the learnable hidden-hidden bias, of shape `(hidden_size)`, or
            ``None`` when ``bias=False``

    All weights and biases are initialized from :math:`\mathcal{U}(-\sqrt{k}, \sqrt{k})`
    where :math:`k = \frac{1}{\text{hidden\_size}}`.

    Raises:
        TypeError, ValueError: an argument of the wrong type, value, shape,
            dtype or device; the message names the argument.

    Examples::

        >>> cell = RNNCell(10, 20)
        >>> input = torch.randn(6, 3, 10)
        >>> hx = torch.randn(3, 20)
        >>> output = []
        >>> for t in range(6):
        ...     hx = cell(input[t], hx)
        ...     output.append(hx)
    """

    def __init__(
        self, input_size, hidden_size, bias=True, nonlinearity="tanh", device=None, dtype=None
    ):
        check_choice("nonlinearity", nonlinearity, tuple(_ACTIVATIONS))
        super().__init__(input_size, hidden_size, bias, num_chunks=1, device=device, dtype=dtype)
        self.nonlinearity = nonlinearity

    def _step(self, x_projected, state, weight_hh, bias_hh):
        """h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh); the state is the tuple (h,)."""
        (h_prev,) = state
        return (rnn_update(x_projected, h_prev, weight_hh, bias_hh, self.nonlinearity),)


class RNNBase(nn.Module):
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

    def reset_parameters(self):
        """Draw every weight and bias from U(-1/sqrt(H), 1/sqrt(H)), as ``torch.nn`` does."""
        _uniform_init(self)

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
            steps = torch.arange(input.shape[1 if self.batch_first else 0])
            mask = (steps[:, None] < lengths[None, :]).to(input.device)
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

    def _run_direction(self, x, state, weight_ih, weight_hh, bias_ih, bias_hh, reverse,
                       mask=None):
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

    def _initial_state(self, hx, dims, batched):
        """The ``hx`` argument as a state tuple of (num_layers * num_directions, N, H) tensors."""
        return (self._batched_state(dims, batched, "hx", hx),)

    def _final_state(self, state):
        """The final state tuple as the module returns it: h_n for RNN and GRU."""
        (h_n,) = state
        return h_n

    def _check_forward_args(self, input, hx):
        """Check ``input`` and ``hx``.

        Returns the input as (T, N, D), the state tuple and whether the input is batched.
        """
        name = type(self).__name__
        dims = Dims().fix("D", self.input_size, f"the {name}'s input_size")
        dims.fix("H", self.hidden_size, f"the {name}'s hidden_size")
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
    return PackedSequence(data.data, data.batch_sizes, packed.sorted_indices,
                          packed.unsorted_indices)


class RNN(RNNBase):
    r"""A multi-layer Elman RNN with tanh or ReLU nonlinearity, written from scratch.

    For each element in the input sequence, each layer computes

    .. math::
        h_t = \tanh(x_t W_{ih}^T + b_{ih} + h_{t-1} W_{hh}^T + b_{hh})

    where :math:`h_t` is the hidden state at time `t`, :math:`x_t` is the input
    at time `t` (for layers after the first, the output of the layer below) and
    :math:`h_0` the initial hidden state. If :attr:`nonlinearity` is ``'relu'``,
    ReLU is used instead of tanh. Same arguments, parameter names, parameter
    order and results as :class:`torch.nn.RNN`, PackedSequence input included.

    Args:
        input_size: The number of expected features in the input `x`
        hidden_size: The number of features in the hidden state `h`
        num_layers: Number of recurrent layers. E.g., setting ``num_layers=2``
            stacks two RNNs, the second taking in the outputs of the first.
            Default: 1
        nonlinearity: The non-linearity to use. Can be either ``'tanh'`` or
            ``'relu'``. Default: ``'tanh'``
        bias: If ``False``, then the layers do not use bias weights `b_ih` and
            `b_hh`. Default: ``True``
        batch_first: If ``True``, then the input and output tensors are provided
            as `(batch, seq, feature)` instead of `(seq, batch, feature)`. This
            does not apply to hidden states, nor to unbatched input.
            Default: ``False``
        dropout: If non-zero, applies dropout with this probability to the
            outputs of each layer except the last, in training mode only.
            Default: 0
        bidirectional: If ``True``, becomes a bidirectional RNN. Default: ``False``
        device: where to create the parameters. Default: the default device
        dtype: the floating-point dtype of the parameters. Default: the default dtype

    Inputs: input, hx
        * **input**: tensor of shape :math:`(L, H_{in})` for unbatched input,
          :math:`(L, N, H_{in})` when ``batch_first=False`` or
          :math:`(N, L, H_{in})` when ``batch_first=True``, containing the
          features of the input sequence, with the dtype and device of the
          parameters. The input can also be a packed variable length sequence
          (:func:`torch.nn.utils.rnn.pack_padded_sequence`); the output is then
          packed too, and ``h_n`` holds each sequence's state after its last real step.
        * **hx**: tensor of shape :math:`(D * \text{num\_layers}, H_{out})` for
          unbatched input or :math:`(D * \text{num\_layers}, N, H_{out})`
          containing the initial hidden state of each layer and direction.
          Defaults to zeros if not provided.

        where:

        .. math::
            \begin{aligned}
                N ={} & \text{batch size} \\
                L ={} & \text{sequence length} \\
                D ={} & 2 \text{ if bidirectional=True otherwise } 1 \\
                H_{in} ={} & \text{input\_size} \\
                H_{out} ={} & \text{hidden\_size}
            \end{aligned}

    Outputs: output, h_n
        * **output**: tensor of shape :math:`(L, D * H_{out})` for unbatched
          input, :math:`(L, N, D * H_{out})` when ``batch_first=False`` or
          :math:`(N, L, D * H_{out})` when ``batch_first=True``, containing the
          output features `(h_t)` from the last layer of the RNN, for each `t`;
          for a bidirectional RNN the forward direction comes first.
        * **h_n**: tensor of shape :math:`(D * \text{num\_layers}, H_{out})` for
          unbatched input or :math:`(D * \text{num\_layers}, N, H_{out})`
          containing the final hidden state of each layer and direction (for
          the backward direction, the state after reading the first element).

    Attributes:
        weight_ih_l[k]: the learnable input-hidden weights of the k-th layer,
            of shape `(hidden_size, input_size)` for `k = 0`. Otherwise, the
            shape is `(hidden_size, num_directions * hidden_size)`
        weight_hh_l[k]: the learnable hidden-hidden weights of the k-th layer,
            of shape `(hidden_size, hidden_size)`
        bias_ih_l[k]: the learnable input-hidden bias of the k-th layer,
            of shape `(hidden_size)`; absent when ``bias=False``
        bias_hh_l[k]: the learnable hidden-hidden bias of the k-th layer,
            of shape `(hidden_size)`; absent when ``bias=False``
        weight_ih_l[k]_reverse, ...: the same for the backward direction,
            when ``bidirectional=True``

    All weights and biases are initialized from :math:`\mathcal{U}(-\sqrt{k}, \sqrt{k})`
    where :math:`k = \frac{1}{\text{hidden\_size}}`.

    Raises:
        TypeError, ValueError: an argument of the wrong type, value, shape,
            dtype or device; the message names the argument.

    Examples::

        >>> rnn = RNN(10, 20, 2)
        >>> input = torch.randn(5, 3, 10)
        >>> h0 = torch.randn(2, 3, 20)
        >>> output, hn = rnn(input, h0)
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
            input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
            device, dtype, num_chunks=1,
        )
        self.nonlinearity = nonlinearity

    def _step(self, x_projected, state, weight_hh, bias_hh):
        """h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh); the state is the tuple (h_t,)."""
        (h_prev,) = state
        return (rnn_update(x_projected, h_prev, weight_hh, bias_hh, self.nonlinearity),)


def lstm_update(x_projected, h_prev, c_prev, weight_hh, bias_hh):
    r"""One step of the LSTM: the gates, then the new cell state, then the new hidden state.

    .. math::

        \begin{array}{ll}
        i_t = \sigma(x_t W_{ii}^T + b_{ii} + h_{t-1} W_{hi}^T + b_{hi}) \\
        f_t = \sigma(x_t W_{if}^T + b_{if} + h_{t-1} W_{hf}^T + b_{hf}) \\
        g_t = \tanh(x_t W_{ig}^T + b_{ig} + h_{t-1} W_{hg}^T + b_{hg}) \\
        o_t = \sigma(x_t W_{io}^T + b_{io} + h_{t-1} W_{ho}^T + b_{ho}) \\
        c_t = f_t \odot c_{t-1} + i_t \odot g_t \\
        h_t = o_t \odot \tanh(c_t)
        \end{array}

    The four gates (input, forget, cell candidate, output) are the four H-column
    blocks of one product, in PyTorch's order i, f, g, o: ``weight_hh`` stacks
    W_hi, W_hf, W_hg, W_ho, so one (N, H) x (H, 4H) matrix product per step
    serves all of them.

    Args:
        x_projected: ``x_t W_ih^T + b_ih``, the input's share of all four gates,
            of shape `(N, 4H)`. It is an argument because it does not depend on
            the previous state, so :class:`LSTM` computes it for all steps at once.
        h_prev: the previous hidden state :math:`h_{t-1}`, of shape `(N, H)`.
        c_prev: the previous cell state :math:`c_{t-1}`, of shape `(N, H)`.
        weight_hh: the hidden-hidden weights, of shape `(4H, H)`.
        bias_hh: the hidden-hidden bias, of shape `(4H)`, or ``None``.

    Returns:
        the pair ``(h_t, c_t)``, each of shape `(N, H)`.
    """
    gates = _plus_recurrent(x_projected, h_prev, weight_hh, bias_hh)
    i, f, g, o = gates.chunk(4, dim=-1)
    c = torch.sigmoid(f) * c_prev + torch.sigmoid(i) * torch.tanh(g)
    h = torch.sigmoid(o) * torch.tanh(c)
    return h, c


def _lstm_initial_state(module, hx, dims, batched):
    """LSTM's ``hx``, the pair (h_0, c_0) or ``None``, as a state tuple of two batched tensors.

    ``module._batched_state`` checks each of the two, so the same code serves
    :class:`LSTMCell`, whose states are (N, H), and :class:`LSTM`, whose
    states are (num_layers * num_directions, N, H).
    """
    if hx is None:
        hx = (None, None)
    elif not (
        isinstance(hx, (tuple, list)) and len(hx) == 2 and all(s is not None for s in hx)
    ):
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


class LSTMCell(RNNCellBase):
    r"""A long short-term memory (LSTM) cell, written from scratch.

    .. math::

        \begin{array}{ll}
        i = \sigma(x W_{ii}^T + b_{ii} + h W_{hi}^T + b_{hi}) \\
        f = \sigma(x W_{if}^T + b_{if} + h W_{hf}^T + b_{hf}) \\
        g = \tanh(x W_{ig}^T + b_{ig} + h W_{hg}^T + b_{hg}) \\
        o = \sigma(x W_{io}^T + b_{io} + h W_{ho}^T + b_{ho}) \\
        c' = f \odot c + i \odot g \\
        h' = o \odot \tanh(c')
        \end{array}

    where :math:`\sigma` is the sigmoid function and :math:`\odot` the
    elementwise product. Same arguments, parameters and results as
    :class:`torch.nn.LSTMCell`.

    Args:
        input_size: The number of expected features in the input `x`
        hidden_size: The number of features in the hidden state `h` and the
            cell state `c`
        bias: If ``False``, then the layer does not use bias weights `b_ih` and
            `b_hh`. Default: ``True``
        device: where to create the parameters. Default: the default device
        dtype: the floating-point dtype of the parameters. Default: the default dtype

    Inputs: input, (h_0, c_0)
        - **input** of shape `(N, input_size)` or `(input_size)`: the input
          features. Must have the dtype and device of the parameters.
        - **h_0** of shape `(N, hidden_size)` or `(hidden_size)`: the current
          hidden state, batched exactly when input is.
        - **c_0** of shape `(N, hidden_size)` or `(hidden_size)`: the current
          cell state, batched exactly when input is.

          If `(h_0, c_0)` is not provided, both default to zeros.

    Outputs: (h_1, c_1)
        - **h_1** of shape `(N, hidden_size)` or `(hidden_size)`: the next
          hidden state for each element in the batch.
        - **c_1** of shape `(N, hidden_size)` or `(hidden_size)`: the next cell
          state for each element in the batch.

    Attributes:
        weight_ih: the learnable input-hidden weights `(W_ii|W_if|W_ig|W_io)`,
            of shape `(4*hidden_size, input_size)`
        weight_hh: the learnable hidden-hidden weights `(W_hi|W_hf|W_hg|W_ho)`,
            of shape `(4*hidden_size, hidden_size)`
        bias_ih: the learnable input-hidden bias `(b_ii|b_if|b_ig|b_io)`, of
            shape `(4*hidden_size)`, or ``None`` when ``bias=False``
        bias_hh: the learnable hidden-hidden bias `(b_hi|b_hf|b_hg|b_ho)`, of
            shape `(4*hidden_size)`, or ``None`` when ``bias=False``

    All weights and biases are initialized from :math:`\mathcal{U}(-\sqrt{k}, \sqrt{k})`
    where :math:`k = \frac{1}{\text{hidden\_size}}`.

    Raises:
        TypeError, ValueError: an argument of the wrong type, value, shape,
            dtype or device; the message names the argument. ``hx`` must be a
            pair: a single tensor is a TypeError.

    Examples::

        >>> cell = LSTMCell(10, 20)
        >>> input = torch.randn(2, 3, 10)
        >>> hx = torch.randn(3, 20)
        >>> cx = torch.randn(3, 20)
        >>> output = []
        >>> for t in range(2):
        ...     hx, cx = cell(input[t], (hx, cx))
        ...     output.append(hx)
    """

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, num_chunks=4, device=device, dtype=dtype)

    def _step(self, x_projected, state, weight_hh, bias_hh):
        """The LSTM update; the state is the tuple (h, c)."""
        h_prev, c_prev = state
        return lstm_update(x_projected, h_prev, c_prev, weight_hh, bias_hh)

    def _initial_state(self, hx, dims, batched):
        """The ``hx`` argument, ``(h_0, c_0)`` or ``None``, as the state tuple (h, c)."""
        return _lstm_initial_state(self, hx, dims, batched)

    def _final_state(self, state):
        """LSTMCell returns the whole state, the tuple (h_1, c_1)."""
        return state


class LSTM(RNNBase):
    r"""A multi-layer long short-term memory (LSTM) RNN, written from scratch.

    For each element in the input sequence, each layer computes

    .. math::
        \begin{array}{ll}
        i_t = \sigma(x_t W_{ii}^T + b_{ii} + h_{t-1} W_{hi}^T + b_{hi}) \\
        f_t = \sigma(x_t W_{if}^T + b_{if} + h_{t-1} W_{hf}^T + b_{hf}) \\
        g_t = \tanh(x_t W_{ig}^T + b_{ig} + h_{t-1} W_{hg}^T + b_{hg}) \\
        o_t = \sigma(x_t W_{io}^T + b_{io} + h_{t-1} W_{ho}^T + b_{ho}) \\
        c_t = f_t \odot c_{t-1} + i_t \odot g_t \\
        h_t = o_t \odot \tanh(c_t)
        \end{array}

    where :math:`h_t` is the hidden state at time `t`, :math:`c_t` the cell
    state, :math:`x_t` the input (for layers after the first, the output of the
    layer below), :math:`i_t, f_t, g_t, o_t` the input, forget, cell and output
    gates, :math:`\sigma` the sigmoid function and :math:`\odot` the elementwise
    product. Same arguments, parameter names, parameter order and results as
    :class:`torch.nn.LSTM` (PackedSequence input included), except that
    projections (``proj_size > 0``) are not supported.

    Args:
        input_size: The number of expected features in the input `x`
        hidden_size: The number of features in the hidden state `h` and the
            cell state `c`
        num_layers: Number of recurrent layers. E.g., setting ``num_layers=2``
            stacks two LSTMs, the second taking in the outputs of the first.
            Default: 1
        bias: If ``False``, then the layers do not use bias weights `b_ih` and
            `b_hh`. Default: ``True``
        batch_first: If ``True``, then the input and output tensors are provided
            as `(batch, seq, feature)` instead of `(seq, batch, feature)`. This
            does not apply to hidden or cell states, nor to unbatched input.
            Default: ``False``
        dropout: If non-zero, applies dropout with this probability to the
            outputs of each layer except the last, in training mode only.
            Default: 0
        bidirectional: If ``True``, becomes a bidirectional LSTM. Default: ``False``
        proj_size: accepted for compatibility with :class:`torch.nn.LSTM`; only
            ``0`` (no projection) is supported, any other value is a
            ValueError. Default: 0
        device: where to create the parameters. Default: the default device
        dtype: the floating-point dtype of the parameters. Default: the default dtype

    Inputs: input, (h_0, c_0)
        * **input**: tensor of shape :math:`(L, H_{in})` for unbatched input,
          :math:`(L, N, H_{in})` when ``batch_first=False`` or
          :math:`(N, L, H_{in})` when ``batch_first=True``, containing the
          features of the input sequence, with the dtype and device of the
          parameters. The input can also be a packed variable length sequence
          (:func:`torch.nn.utils.rnn.pack_padded_sequence`); the output is then
          packed too, and ``h_n`` holds each sequence's state after its last real step.
        * **h_0**: tensor of shape :math:`(D * \text{num\_layers}, H_{out})` for
          unbatched input or :math:`(D * \text{num\_layers}, N, H_{out})`
          containing the initial hidden state of each layer and direction.
        * **c_0**: tensor of shape :math:`(D * \text{num\_layers}, H_{out})` for
          unbatched input or :math:`(D * \text{num\_layers}, N, H_{out})`
          containing the initial cell state of each layer and direction.

          If `(h_0, c_0)` is not provided, both default to zeros.

        where:

        .. math::
            \begin{aligned}
                N ={} & \text{batch size} \\
                L ={} & \text{sequence length} \\
                D ={} & 2 \text{ if bidirectional=True otherwise } 1 \\
                H_{in} ={} & \text{input\_size} \\
                H_{out} ={} & \text{hidden\_size}
            \end{aligned}

    Outputs: output, (h_n, c_n)
        * **output**: tensor of shape :math:`(L, D * H_{out})` for unbatched
          input, :math:`(L, N, D * H_{out})` when ``batch_first=False`` or
          :math:`(N, L, D * H_{out})` when ``batch_first=True``, containing the
          output features `(h_t)` from the last layer of the LSTM, for each `t`;
          for a bidirectional LSTM the forward direction comes first.
        * **h_n**: tensor of shape :math:`(D * \text{num\_layers}, H_{out})` for
          unbatched input or :math:`(D * \text{num\_layers}, N, H_{out})`
          containing the final hidden state of each layer and direction (for
          the backward direction, the state after reading the first element).
        * **c_n**: tensor of shape :math:`(D * \text{num\_layers}, H_{out})` for
          unbatched input or :math:`(D * \text{num\_layers}, N, H_{out})`
          containing the final cell state of each layer and direction.

    Attributes:
        weight_ih_l[k]: the learnable input-hidden weights of the k-th layer
            `(W_ii|W_if|W_ig|W_io)`, of shape `(4*hidden_size, input_size)` for
            `k = 0`. Otherwise, the shape is
            `(4*hidden_size, num_directions * hidden_size)`
        weight_hh_l[k]: the learnable hidden-hidden weights of the k-th layer
            `(W_hi|W_hf|W_hg|W_ho)`, of shape `(4*hidden_size, hidden_size)`
        bias_ih_l[k]: the learnable input-hidden bias of the k-th layer
            `(b_ii|b_if|b_ig|b_io)`, of shape `(4*hidden_size)`; absent when
            ``bias=False``
        bias_hh_l[k]: the learnable hidden-hidden bias of the k-th layer
            `(b_hi|b_hf|b_hg|b_ho)`, of shape `(4*hidden_size)`; absent when
            ``bias=False``
        weight_ih_l[k]_reverse, ...: the same for the backward direction,
            when ``bidirectional=True``

    All weights and biases are initialized from :math:`\mathcal{U}(-\sqrt{k}, \sqrt{k})`
    where :math:`k = \frac{1}{\text{hidden\_size}}`.

    Raises:
        TypeError, ValueError: an argument of the wrong type, value, shape,
            dtype or device; the message names the argument. ``hx`` must be a
            pair: a single tensor is a TypeError.

    Examples::

        >>> lstm = LSTM(10, 20, 2)
        >>> input = torch.randn(5, 3, 10)
        >>> h0 = torch.randn(2, 3, 20)
        >>> c0 = torch.randn(2, 3, 20)
        >>> output, (hn, cn) = lstm(input, (h0, c0))
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
            input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
            device, dtype, num_chunks=4,
        )
        self.proj_size = 0

    def _step(self, x_projected, state, weight_hh, bias_hh):
        """The LSTM update; the state is the tuple (h_t, c_t)."""
        h_prev, c_prev = state
        return lstm_update(x_projected, h_prev, c_prev, weight_hh, bias_hh)

    def _initial_state(self, hx, dims, batched):
        """The ``hx`` argument, ``(h_0, c_0)`` or ``None``, as the state tuple (h, c)."""
        return _lstm_initial_state(self, hx, dims, batched)

    def _final_state(self, state):
        """LSTM returns both final states, the tuple (h_n, c_n)."""
        return state


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
    r"""One step of PyTorch's GRU: reset and update gates, the new gate, then the new state.

    .. math::

        \begin{array}{ll}
        r_t = \sigma(x_t W_{ir}^T + b_{ir} + h_{t-1} W_{hr}^T + b_{hr}) \\
        z_t = \sigma(x_t W_{iz}^T + b_{iz} + h_{t-1} W_{hz}^T + b_{hz}) \\
        n_t = \tanh(x_t W_{in}^T + b_{in} + r_t \odot (h_{t-1} W_{hn}^T + b_{hn})) \\
        h_t = (1 - z_t) \odot n_t + z_t \odot h_{t-1}
        \end{array}

    This is PyTorch's GRU. Chung et al. (2014) write the GRU as

    .. math::

        \begin{array}{ll}
        \tilde h_t = \tanh(x_t W_{in}^T + b_{in} + (r_t \odot h_{t-1}) W_{hn}^T + b_{hn}) \\
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

    ``weight_hh`` stacks W_hr, W_hz, W_hn in PyTorch's order r, z, n.

    Args:
        x_projected: ``x_t W_ih^T + b_ih``, the input's share of the three
            gates, of shape `(N, 3H)`. It is an argument because it does not
            depend on the previous state, so :class:`GRU` computes it for all
            steps at once.
        h_prev: the previous hidden state :math:`h_{t-1}`, of shape `(N, H)`.
        weight_hh: the hidden-hidden weights, of shape `(3H, H)`.
        bias_hh: the hidden-hidden bias, of shape `(3H)`, or ``None``.

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


class GRUCell(RNNCellBase):
    r"""A gated recurrent unit (GRU) cell, PyTorch's variant, written from scratch.

    .. math::

        \begin{array}{ll}
        r = \sigma(x W_{ir}^T + b_{ir} + h W_{hr}^T + b_{hr}) \\
        z = \sigma(x W_{iz}^T + b_{iz} + h W_{hz}^T + b_{hz}) \\
        n = \tanh(x W_{in}^T + b_{in} + r \odot (h W_{hn}^T + b_{hn})) \\
        h' = (1 - z) \odot n + z \odot h
        \end{array}

    where :math:`\sigma` is the sigmoid function and :math:`\odot` the
    elementwise product. The reset gate acts after the recurrent matrix
    product, unlike in most textbooks (see :func:`gru_update`). Same arguments,
    parameters and results as :class:`torch.nn.GRUCell`.

    Args:
        input_size: The number of expected features in the input `x`
        hidden_size: The number of features in the hidden state `h`
        bias: If ``False``, then the layer does not use bias weights `b_ih` and
            `b_hh`. Default: ``True``
        device: where to create the parameters. Default: the default device
        dtype: the floating-point dtype of the parameters. Default: the default dtype

    Inputs: input, hx
        - **input** of shape `(N, input_size)` or `(input_size)`: the input
          features. Must have the dtype and device of the parameters.
        - **hx** of shape `(N, hidden_size)` or `(hidden_size)`: the current
          hidden state, batched exactly when input is. Defaults to zeros if not
          provided.

    Outputs: h'
        - **h'** of shape `(N, hidden_size)` or `(hidden_size)`: the next hidden
          state for each element in the batch.

    Attributes:
        weight_ih: the learnable input-hidden weights `(W_ir|W_iz|W_in)`, of
            shape `(3*hidden_size, input_size)`
        weight_hh: the learnable hidden-hidden weights `(W_hr|W_hz|W_hn)`, of
            shape `(3*hidden_size, hidden_size)`
        bias_ih: the learnable input-hidden bias `(b_ir|b_iz|b_in)`, of shape
            `(3*hidden_size)`, or ``None`` when ``bias=False``
        bias_hh: the learnable hidden-hidden bias `(b_hr|b_hz|b_hn)`, of shape
            `(3*hidden_size)`, or ``None`` when ``bias=False``

    All weights and biases are initialized from :math:`\mathcal{U}(-\sqrt{k}, \sqrt{k})`
    where :math:`k = \frac{1}{\text{hidden\_size}}`.

    Raises:
        TypeError, ValueError: an argument of the wrong type, value, shape,
            dtype or device; the message names the argument.

    Examples::

        >>> cell = GRUCell(10, 20)
        >>> input = torch.randn(6, 3, 10)
        >>> hx = torch.randn(3, 20)
        >>> output = []
        >>> for t in range(6):
        ...     hx = cell(input[t], hx)
        ...     output.append(hx)
    """

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, num_chunks=3, device=device, dtype=dtype)

    def _step(self, x_projected, state, weight_hh, bias_hh):
        """PyTorch's GRU update; the state is the tuple (h,)."""
        (h_prev,) = state
        return (gru_update(x_projected, h_prev, weight_hh, bias_hh),)


class GRU(RNNBase):
    r"""A multi-layer gated recurrent unit (GRU) RNN, PyTorch's variant, written from scratch.

    For each element in the input sequence, each layer computes

    .. math::
        \begin{array}{ll}
        r_t = \sigma(x_t W_{ir}^T + b_{ir} + h_{t-1} W_{hr}^T + b_{hr}) \\
        z_t = \sigma(x_t W_{iz}^T + b_{iz} + h_{t-1} W_{hz}^T + b_{hz}) \\
        n_t = \tanh(x_t W_{in}^T + b_{in} + r_t \odot (h_{t-1} W_{hn}^T + b_{hn})) \\
        h_t = (1 - z_t) \odot n_t + z_t \odot h_{t-1}
        \end{array}

    where :math:`h_t` is the hidden state at time `t`, :math:`x_t` the input
    (for layers after the first, the output of the layer below),
    :math:`r_t, z_t, n_t` the reset, update and new gates, :math:`\sigma` the
    sigmoid function and :math:`\odot` the elementwise product. The reset gate
    acts after the recurrent matrix product, unlike in most textbooks (see
    :func:`gru_update`). Same arguments, parameter names, parameter order and
    results as :class:`torch.nn.GRU`, PackedSequence input included.

    Args:
        input_size: The number of expected features in the input `x`
        hidden_size: The number of features in the hidden state `h`
        num_layers: Number of recurrent layers. E.g., setting ``num_layers=2``
            stacks two GRUs, the second taking in the outputs of the first.
            Default: 1
        bias: If ``False``, then the layers do not use bias weights `b_ih` and
            `b_hh`. Default: ``True``
        batch_first: If ``True``, then the input and output tensors are provided
            as `(batch, seq, feature)` instead of `(seq, batch, feature)`. This
            does not apply to hidden states, nor to unbatched input.
            Default: ``False``
        dropout: If non-zero, applies dropout with this probability to the
            outputs of each layer except the last, in training mode only.
            Default: 0
        bidirectional: If ``True``, becomes a bidirectional GRU. Default: ``False``
        device: where to create the parameters. Default: the default device
        dtype: the floating-point dtype of the parameters. Default: the default dtype

    Inputs: input, hx
        * **input**: tensor of shape :math:`(L, H_{in})` for unbatched input,
          :math:`(L, N, H_{in})` when ``batch_first=False`` or
          :math:`(N, L, H_{in})` when ``batch_first=True``, containing the
          features of the input sequence, with the dtype and device of the
          parameters. The input can also be a packed variable length sequence
          (:func:`torch.nn.utils.rnn.pack_padded_sequence`); the output is then
          packed too, and ``h_n`` holds each sequence's state after its last real step.
        * **hx**: tensor of shape :math:`(D * \text{num\_layers}, H_{out})` for
          unbatched input or :math:`(D * \text{num\_layers}, N, H_{out})`
          containing the initial hidden state of each layer and direction.
          Defaults to zeros if not provided.

        where:

        .. math::
            \begin{aligned}
                N ={} & \text{batch size} \\
                L ={} & \text{sequence length} \\
                D ={} & 2 \text{ if bidirectional=True otherwise } 1 \\
                H_{in} ={} & \text{input\_size} \\
                H_{out} ={} & \text{hidden\_size}
            \end{aligned}

    Outputs: output, h_n
        * **output**: tensor of shape :math:`(L, D * H_{out})` for unbatched
          input, :math:`(L, N, D * H_{out})` when ``batch_first=False`` or
          :math:`(N, L, D * H_{out})` when ``batch_first=True``, containing the
          output features `(h_t)` from the last layer of the GRU, for each `t`;
          for a bidirectional GRU the forward direction comes first.
        * **h_n**: tensor of shape :math:`(D * \text{num\_layers}, H_{out})` for
          unbatched input or :math:`(D * \text{num\_layers}, N, H_{out})`
          containing the final hidden state of each layer and direction (for
          the backward direction, the state after reading the first element).

    Attributes:
        weight_ih_l[k]: the learnable input-hidden weights of the k-th layer
            `(W_ir|W_iz|W_in)`, of shape `(3*hidden_size, input_size)` for
            `k = 0`. Otherwise, the shape is
            `(3*hidden_size, num_directions * hidden_size)`
        weight_hh_l[k]: the learnable hidden-hidden weights of the k-th layer
            `(W_hr|W_hz|W_hn)`, of shape `(3*hidden_size, hidden_size)`
        bias_ih_l[k]: the learnable input-hidden bias of the k-th layer
            `(b_ir|b_iz|b_in)`, of shape `(3*hidden_size)`; absent when
            ``bias=False``
        bias_hh_l[k]: the learnable hidden-hidden bias of the k-th layer
            `(b_hr|b_hz|b_hn)`, of shape `(3*hidden_size)`; absent when
            ``bias=False``
        weight_ih_l[k]_reverse, ...: the same for the backward direction,
            when ``bidirectional=True``

    All weights and biases are initialized from :math:`\mathcal{U}(-\sqrt{k}, \sqrt{k})`
    where :math:`k = \frac{1}{\text{hidden\_size}}`.

    Raises:
        TypeError, ValueError: an argument of the wrong type, value, shape,
            dtype or device; the message names the argument.

    Examples::

        >>> gru = GRU(10, 20, 2)
        >>> input = torch.randn(5, 3, 10)
        >>> h0 = torch.randn(2, 3, 20)
        >>> output, hn = gru(input, h0)
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
            input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
            device, dtype, num_chunks=3,
        )

    def _step(self, x_projected, state, weight_hh, bias_hh):
        """PyTorch's GRU update; the state is the tuple (h_t,)."""
        (h_prev,) = state
        return (gru_update(x_projected, h_prev, weight_hh, bias_hh),)
