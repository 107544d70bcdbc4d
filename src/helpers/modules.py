"""Recurrent PyTorch modules written from scratch, with the contract of ``torch.nn``.

:class:`RNNCell` computes one time step and :class:`RNN` a whole sequence,
through several layers and in both directions. Both take the same constructor
arguments, return the same values and name their parameters exactly like
``torch.nn.RNNCell`` and ``torch.nn.RNN``, so weights move between the two with
``load_state_dict`` and the tests check that outputs and gradients agree.
Nothing here calls PyTorch's own recurrent kernels: the forward pass is
plain matrix products, ``torch.tanh`` (or ``torch.relu``) and, between layers,
dropout; autograd derives the backward pass.

The book writes the state update with row vectors (chapter "The unrolled RNN"):

    h_t = tanh(x_t W_xh + h_{t-1} W_hh + b_h).

PyTorch stores the transposed matrices and two biases, ``weight_ih`` = W_xh^T,
``weight_hh`` = W_hh^T and ``bias_ih + bias_hh`` = b_h, so the same update reads

    h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh).

The file reads top to bottom:

1. :func:`rnn_update`, the equation above, used by both modules;
2. :class:`RNNCellBase` and :class:`RNNCell`, one step;
3. :class:`RNNBase` and :class:`RNN`, a sequence. :class:`RNNBase` knows
   nothing about the update itself: it creates the parameters, checks the
   arguments, runs the layers and directions and applies dropout between layers,
   and asks its subclass for one time step (:meth:`RNNBase._step`). LSTM and GRU
   reuse it by giving their number of gate blocks and their own step.
"""

import math
import warnings

import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.utils.rnn import PackedSequence

from helpers.validation import (
    Dims,
    check_choice,
    check_positive_int,
    check_probability,
    check_same_dtype_and_device,
)

__all__ = ["RNNCell", "RNN", "RNNCellBase", "RNNBase", "rnn_update"]

_ACTIVATIONS = {"tanh": torch.tanh, "relu": torch.relu}

# The name of the first axis of a stacked RNN's hidden state, as error messages show it.
_LAYERS = "num_layers * num_directions"


def _linear(x, weight, bias):
    """``x W^T + b``, without ``b`` when the module was built with ``bias=False``."""
    out = x @ weight.T
    return out if bias is None else out + bias


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
    return _ACTIVATIONS[nonlinearity](x_projected + _linear(h_prev, weight_hh, bias_hh))


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
    """What every recurrent cell shares: its parameters, their initialization and input checks.

    ``num_chunks`` is the number of H-row blocks in each weight: 1 for
    :class:`RNNCell`, 4 for an LSTM cell (gates i, f, g, o), 3 for a GRU cell
    (r, z, n). Parameters are created and initialized in ``torch.nn``'s order, so
    after the same ``torch.manual_seed`` a cell starts with the same weights as
    its ``torch.nn`` namesake.
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

    def forward(self, input, hx=None):
        dims, batched = self._dims(input)
        x = input if batched else input.unsqueeze(0)
        h = self._batched_state(dims, batched, "hx", hx)
        x_projected = _linear(x, self.weight_ih, self.bias_ih)
        h_next = rnn_update(x_projected, h, self.weight_hh, self.bias_hh, self.nonlinearity)
        return h_next if batched else h_next.squeeze(0)


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
        """Run the stack over ``input``; see :class:`RNN` for the shapes."""
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
                )
                outputs.append(output)
                final_states.append(final_state)
            # The next layer reads both directions side by side: (T, N, num_directions * H).
            x = torch.cat(outputs, dim=2)
            if self.training and self.dropout > 0 and layer < self.num_layers - 1:
                x = F.dropout(x, self.dropout, training=True)

        h_n = tuple(torch.stack(parts) for parts in zip(*final_states))
        if not batched:
            x = x.squeeze(1)
            h_n = tuple(h.squeeze(1) for h in h_n)
        elif self.batch_first:
            x = x.transpose(0, 1)
        return x, self._final_state(h_n)

    def _run_direction(self, x, state, weight_ih, weight_hh, bias_ih, bias_hh, reverse):
        """Run one layer in one direction over the sequence ``x`` of shape (T, N, D).

        Returns the hidden states of every step, (T, N, H), in time order also
        when running backwards, and the final state tuple.
        """
        # x_t W_ih^T + b_ih does not depend on the previous state, so all T steps
        # are one large matrix product here instead of T small ones in the loop.
        x_projected = _linear(x, weight_ih, bias_ih)
        steps = range(x.shape[0])
        outputs = [None] * x.shape[0]
        for t in reversed(steps) if reverse else steps:
            state = self._step(x_projected[t], state, weight_hh, bias_hh)
            outputs[t] = state[0]
        return torch.stack(outputs), state

    def _step(self, x_projected, state, weight_hh, bias_hh):
        """One time step of one layer in one direction; subclasses implement it.

        ``x_projected`` is ``x_t W_ih^T + b_ih``, of shape (N, num_chunks * H);
        ``state`` is the tuple of the previous step. The first element of the
        returned tuple is the hidden state h_t, which is also the layer's output
        at step t.
        """
        raise NotImplementedError

    def _initial_state(self, hx, dims, batched):
        """The ``hx`` argument as a state tuple of (num_layers * num_directions, N, H) tensors."""
        return (self._batched_state(dims, batched, "hx", hx),)

    def _final_state(self, state):
        """The state tuple as the module returns it: h_n for RNN and GRU."""
        (h_n,) = state
        return h_n

    def _check_forward_args(self, input, hx):
        """Check ``input`` and ``hx``.

        Returns the input as (T, N, D), the state tuple and whether the input is batched.
        """
        name = type(self).__name__
        if isinstance(input, PackedSequence):
            raise TypeError(
                f"{name} does not support PackedSequence input yet; pass a padded "
                "tensor of shape (T, N, D), or (N, T, D) with batch_first=True"
            )
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


class RNN(RNNBase):
    r"""A multi-layer Elman RNN with tanh or ReLU nonlinearity, written from scratch.

    For each element in the input sequence, each layer computes

    .. math::
        h_t = \tanh(x_t W_{ih}^T + b_{ih} + h_{t-1} W_{hh}^T + b_{hh})

    where :math:`h_t` is the hidden state at time `t`, :math:`x_t` is the input
    at time `t` (for layers after the first, the output of the layer below) and
    :math:`h_0` the initial hidden state. If :attr:`nonlinearity` is ``'relu'``,
    ReLU is used instead of tanh. Same arguments, parameter names, parameter
    order and results as :class:`torch.nn.RNN`, except that PackedSequence input
    is not supported yet.

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
          parameters. PackedSequence is not supported yet.
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
