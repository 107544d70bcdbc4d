"""The LSTM in numpy: one step and a whole sequence, forward and backward by hand.

For a batch of ``N`` sequences, inputs of size ``D`` and hidden states of size
``H``, one step of the LSTM (Hochreiter & Schmidhuber 1997, with the forget
gate of Gers et al. 2000) is::

    a = x_t Wx + h_{t-1} Wh + b              a (N, 4H), the four gates' pre-activations
    i = sigmoid(a[:, 0:H])                   input gate: how much of g to write
    f = sigmoid(a[:, H:2H])                  forget gate: how much of c_{t-1} to keep
    g = tanh(a[:, 2H:3H])                    candidate: what to write
    o = sigmoid(a[:, 3H:4H])                 output gate: how much of the cell to show
    c_t = f * c_{t-1} + i * g                c_t (N, H), the cell state
    h_t = o * tanh(c_t)                      h_t (N, H), the hidden state

where ``*`` multiplies entry by entry. The gates are stacked in PyTorch's order
``i, f, g, o``, one block of ``H`` columns each, in ``Wx`` (D, 4H), ``Wh``
(H, 4H) and ``b`` (4H,). PyTorch stores the transposes and two biases:
``weight_ih = Wx.T``, ``weight_hh = Wh.T`` and ``bias_ih + bias_hh = b``.

The cell state is what makes the LSTM remember: from ``c_{t-1}`` to ``c_t``
there is no matrix product and no squashing, only the product with ``f``. So
the gradient on ``c_t`` reaches ``c_{t-1}`` multiplied by ``f`` alone (the
"cell path"; :func:`lstm_step_backward` with ``dh = 0`` returns exactly
``dc * f``), and it survives many steps whenever the forget gate stays near 1.

The layers follow the CS231n convention of :mod:`helpers.numpy_rnn`:
``*_forward`` returns its outputs and a ``cache``, ``*_backward`` takes the
upstream gradients and that cache and returns the gradients in the order of
the forward's inputs. The caches are named tuples that keep the gate
activations under their names (``cache.f`` is the forget gate), and the cache
of a sequence is the list of its steps' caches, so the gates can be plotted as
well as differentiated.

As in :mod:`helpers.numpy_rnn`, everything is computed in the dtype of the
inputs, never downcast (mixed float dtypes are promoted as numpy promotes
them), every public function checks its arguments first and names the one that
is wrong, and NaN or infinite values are not checked for: they propagate to
the outputs.
"""

from typing import NamedTuple

import numpy as np

from helpers.numpy_rnn import _backward_through_time, _check_cache
from helpers.validation import Dims

__all__ = [
    "LSTMStepCache",
    "lstm_step_forward",
    "lstm_step_backward",
    "lstm_forward",
    "lstm_backward",
]

#: The LSTM's gates in the order their blocks of ``H`` columns are stacked.
GATES = ("i", "f", "g", "o")


class LSTMStepCache(NamedTuple):
    """What :func:`lstm_step_backward` needs from one call of :func:`lstm_step_forward`."""

    x: np.ndarray  #: (N, D) input of the step
    h_prev: np.ndarray  #: (N, H) hidden state before the step
    c_prev: np.ndarray  #: (N, H) cell state before the step
    Wx: np.ndarray  #: (D, 4H) input-to-hidden weights, gate blocks i, f, g, o
    Wh: np.ndarray  #: (H, 4H) hidden-to-hidden weights, gate blocks i, f, g, o
    i: np.ndarray  #: (N, H) input gate, in [0, 1]
    f: np.ndarray  #: (N, H) forget gate, in [0, 1]
    g: np.ndarray  #: (N, H) candidate cell values, in [-1, 1]
    o: np.ndarray  #: (N, H) output gate, in [0, 1]
    c: np.ndarray  #: (N, H) cell state after the step
    tanh_c: np.ndarray  #: (N, H) tanh(c), kept because both h and its derivative use it


_COUNT_WORDS = {3: "three", 4: "four"}
_UNIT_WITH_BLOCKS = {1: "a vanilla RNN", 3: "a GRU", 4: "an LSTM"}


def _sigmoid(a):
    """The logistic function ``1 / (1 + exp(-a))``, computed without overflow for any ``a``."""
    # exp(-a) overflows for a below about -710 in float64 (-89 in float32) and warns.
    # exp(-|a|) is in (0, 1] for every a, and for a < 0 the same sigmoid is
    # e / (1 + e) with e = exp(a), so both branches stay finite.
    e = np.exp(-np.abs(a))
    return np.where(a >= 0, 1 / (1 + e), e / (1 + e))


def _check_gate_blocks(dims, name, value, spec, gates):
    """Check an array whose last dimension stacks one block of ``H`` per gate; return it.

    ``spec`` names the dimensions before the stacked one, as for
    :meth:`Dims.array`: ``("D",)`` for ``Wx``, ``("H",)`` for ``Wh``, ``()``
    for a bias. ``H`` comes from ``dims``; checking ``Wh`` first fixes it
    from ``Wh``'s rows, so every later message can say where ``H`` came from.
    """
    blocks = len(gates)
    stacked = f"{blocks}H"
    # Type, rank and empty sizes first, with a Dims of their own: the stacked
    # dimension is checked below, with a message that says why it must be blocks * H.
    Dims().array(name, value, (*spec, stacked), allow_empty=(stacked,))
    if "H" not in dims.sizes:
        dims.fix("H", value.shape[spec.index("H")], name)
    H = dims["H"]
    got = value.shape[-1]
    if got != blocks * H:
        known = tuple(dims.sizes.get(size, actual) for size, actual in zip(spec, value.shape))
        what = "columns" if value.ndim == 2 else "entries"
        # A weight of another unit passed by mistake is a likely cause: say so.
        hint = "".join(
            f"; {got} = {other if other > 1 else ''}H is the size {unit} has there: "
            f"is this {unit}'s {name}?"
            for other, unit in _UNIT_WITH_BLOCKS.items()
            if other != blocks and got == other * H
        )
        raise ValueError(
            f"{name} has shape {value.shape}, expected ({', '.join((*spec, stacked))}) = "
            f"{(*known, blocks * H)}: the {what} hold the {_COUNT_WORDS[blocks]} gates "
            f"{', '.join(gates)}, so {stacked} = {blocks} * {H} with H = {H} from "
            f"{dims.source['H']}{hint}"
        )
    return dims.array(name, value, (*spec, blocks * H))


def _check_weights(dims, Wx, Wh, b):
    # Wh first: its rows fix H, which the stacked dimension of all three must match.
    Wh = _check_gate_blocks(dims, "Wh", Wh, ("H",), GATES)
    Wx = _check_gate_blocks(dims, "Wx", Wx, ("D",), GATES)
    b = _check_gate_blocks(dims, "b", b, (), GATES)
    return Wx, Wh, b


def lstm_step_forward(x, h_prev, c_prev, Wx, Wh, b):
    """One step of the LSTM: gates from ``x`` and ``h_prev``, then the new cell and hidden state.

    Computes ``a = x Wx + h_prev Wh + b``, the gates ``i = sigmoid(a_i)``,
    ``f = sigmoid(a_f)``, ``g = tanh(a_g)``, ``o = sigmoid(a_o)`` from the
    blocks of ``a`` in the order i, f, g, o, then ``c = f * c_prev + i * g``
    and ``h = o * tanh(c)``.

    Args:
        x: input of this step, shape ``(N, D)``.
        h_prev: hidden state of the previous step, shape ``(N, H)``.
        c_prev: cell state of the previous step, shape ``(N, H)``.
        Wx: input-to-hidden weights, shape ``(D, 4H)``, column blocks i, f, g, o.
        Wh: hidden-to-hidden weights, shape ``(H, 4H)``, column blocks i, f, g, o.
        b: bias, shape ``(4H,)``, blocks i, f, g, o.

    All are floating-point numpy arrays; the results have their promoted dtype.

    Returns:
        tuple ``(h, c, cache)``:

        - ``h``: the new hidden state, shape ``(N, H)``, every entry in ``[-1, 1]``.
        - ``c``: the new cell state, shape ``(N, H)``.
        - ``cache``: an :class:`LSTMStepCache` for :func:`lstm_step_backward`,
          which also holds the gates ``cache.i``, ``cache.f``, ``cache.g``,
          ``cache.o``, each ``(N, H)``.

    Raises:
        TypeError: an argument is not a numpy array of floats.
        ValueError: an argument has the wrong number of dimensions, a size that
            disagrees with another argument (``Wx``, ``Wh`` and ``b`` must have
            ``4H`` columns, with ``H`` the number of rows of ``Wh``), or a size of 0.
    """
    dims = Dims()
    Wx, Wh, b = _check_weights(dims, Wx, Wh, b)
    x = dims.array("x", x, ("N", "D"))
    h_prev = dims.array("h_prev", h_prev, ("N", "H"))
    c_prev = dims.array("c_prev", c_prev, ("N", "H"))
    H = dims["H"]

    # One product per weight matrix for all four gates, then split into their blocks.
    a = x @ Wx + h_prev @ Wh + b
    i = _sigmoid(a[:, 0:H])
    f = _sigmoid(a[:, H : 2 * H])
    g = np.tanh(a[:, 2 * H : 3 * H])
    o = _sigmoid(a[:, 3 * H : 4 * H])
    c = f * c_prev + i * g
    tanh_c = np.tanh(c)
    h = o * tanh_c
    return h, c, LSTMStepCache(x, h_prev, c_prev, Wx, Wh, i, f, g, o, c, tanh_c)


def lstm_step_backward(dh, dc, cache):
    """Backward pass of one LSTM step: gradients of the loss with respect to its inputs.

    ``c`` reaches the loss in two ways: through ``h = o * tanh(c)`` and, as
    ``c_prev`` of the next step, directly (upstream gradient ``dc``). So the
    total gradient on ``c`` is ``dc_total = dc + dh * o * (1 - tanh(c)**2)``,
    and from ``c = f * c_prev + i * g``::

        dc_prev = dc_total * f      di = dc_total * g
        df = dc_total * c_prev      dg = dc_total * i      do = dh * tanh(c)

    With ``dh = 0``, ``dc_prev`` is exactly ``dc * f``: the cell path, along
    which the gradient is only scaled by the forget gate. Through the
    derivatives of sigmoid (``s * (1 - s)``) and tanh (``1 - t**2``) these
    give ``da``, shape ``(N, 4H)``, and then, as for any matrix product,
    ``dx = da Wx^T``, ``dh_prev = da Wh^T``, ``dWx = x^T da``,
    ``dWh = h_prev^T da`` and ``db = sum over the batch of da``.

    Args:
        dh: upstream gradient on the step's output ``h``, shape ``(N, H)``.
        dc: upstream gradient on the step's cell state ``c``, shape ``(N, H)``:
            what the next step sends back as its ``dc_prev`` (zeros for the last step).
        cache: the :class:`LSTMStepCache` returned by :func:`lstm_step_forward`.

    Returns:
        tuple ``(dx, dh_prev, dc_prev, dWx, dWh, db)`` with the shapes of
        ``x (N, D)``, ``h_prev (N, H)``, ``c_prev (N, H)``, ``Wx (D, 4H)``,
        ``Wh (H, 4H)`` and ``b (4H,)``.

    Raises:
        TypeError: ``cache`` is not an :class:`LSTMStepCache`, or ``dh`` or
            ``dc`` is not a numpy array of floats.
        ValueError: ``dh`` or ``dc`` does not have the shape ``(N, H)`` of the
            forward's ``h`` and ``c``.
    """
    _check_cache(cache, LSTMStepCache, "lstm_step_forward")
    dims = Dims().fix("N", cache.c.shape[0], "the cache").fix("H", cache.c.shape[1], "the cache")
    dh = dims.array("dh", dh, ("N", "H"))
    dc = dims.array("dc", dc, ("N", "H"))
    i, f, g, o, tanh_c = cache.i, cache.f, cache.g, cache.o, cache.tanh_c

    dc_total = dc + dh * o * (1 - tanh_c**2)
    dc_prev = dc_total * f
    # Gradients on the pre-activations, block by block in the order of the columns.
    da = np.concatenate(
        [
            dc_total * g * i * (1 - i),
            dc_total * cache.c_prev * f * (1 - f),
            dc_total * i * (1 - g**2),
            dh * tanh_c * o * (1 - o),
        ],
        axis=1,
    )
    dx = da @ cache.Wx.T
    dh_prev = da @ cache.Wh.T
    # Every row of the batch used the same weights, so their gradients sum over rows.
    dWx = cache.x.T @ da
    dWh = cache.h_prev.T @ da
    db = da.sum(axis=0)
    return dx, dh_prev, dc_prev, dWx, dWh, db


def lstm_forward(x, h0, Wx, Wh, b, c0=None):
    """Run the LSTM over whole sequences, one :func:`lstm_step_forward` per step.

    Args:
        x: inputs, shape ``(N, T, D)``: ``N`` sequences of ``T`` steps.
        h0: initial hidden state, shape ``(N, H)``.
        Wx: input-to-hidden weights, shape ``(D, 4H)``, column blocks i, f, g, o.
        Wh: hidden-to-hidden weights, shape ``(H, 4H)``, column blocks i, f, g, o.
        b: bias, shape ``(4H,)``, blocks i, f, g, o.
        c0: initial cell state, shape ``(N, H)``, or ``None`` (the default)
            for zeros, as ``torch.nn.LSTM`` does when given no state.

    All are floating-point numpy arrays; the results have their promoted dtype.

    Returns:
        tuple ``(h, cache)``:

        - ``h``: every hidden state, ``(N, T, H)``, laid out as in
          :func:`helpers.numpy_rnn.rnn_forward` (``h0`` not included).
        - ``cache``: a list of ``T`` :class:`LSTMStepCache`, one per step, for
          :func:`lstm_backward`. They keep the gates and the cell states:
          ``cache[t].f`` is the forget gate of step ``t``, ``cache[-1].c`` the
          final cell state, and ``np.stack([step.f for step in cache], axis=1)``
          all forget gates, ``(N, T, H)``.

    Raises:
        TypeError: an argument is not a numpy array of floats (``c0`` may be ``None``).
        ValueError: an argument has the wrong number of dimensions, a size that
            disagrees with another argument (``Wx``, ``Wh`` and ``b`` must have
            ``4H`` columns, with ``H`` the number of rows of ``Wh``), or a size
            of 0 (``T = 0``, an empty sequence, included).
    """
    dims = Dims()
    Wx, Wh, b = _check_weights(dims, Wx, Wh, b)
    x = dims.array("x", x, ("N", "T", "D"))
    h0 = dims.array("h0", h0, ("N", "H"))
    if c0 is None:
        c0 = np.zeros_like(h0, dtype=np.result_type(x, h0, Wx, Wh, b))
    else:
        c0 = dims.array("c0", c0, ("N", "H"))
    N, T, H = dims["N"], dims["T"], dims["H"]

    h = np.empty((N, T, H), dtype=np.result_type(x, h0, c0, Wx, Wh, b))
    cache = []
    h_t, c_t = h0, c0
    for t in range(T):
        h_t, c_t, step_cache = lstm_step_forward(x[:, t], h_t, c_t, Wx, Wh, b)
        h[:, t] = h_t
        cache.append(step_cache)
    return h, cache


def lstm_backward(dh, cache):
    """Backpropagation through time: the backward pass of :func:`lstm_forward`.

    Going from the last step to the first, step ``t`` receives two gradients
    from step ``t + 1``: ``dh_prev``, added to the upstream ``dh[:, t]``, and
    ``dc_prev``, the gradient on the cell state ``c_t`` (nothing comes back
    into the last step). The weights are the same at every step, so their
    gradients are the sums of every step's gradients.

    The gradient on ``c0`` is computed (it is what step 0 sends back) but not
    returned, so that the result mirrors :func:`helpers.numpy_rnn.rnn_backward`;
    to get it, run :func:`lstm_step_backward` over the steps yourself.

    Args:
        dh: upstream gradient on every hidden state, shape ``(N, T, H)``, the
            shape of the ``h`` returned by :func:`lstm_forward`. Nothing flows
            into the final cell state from outside: its upstream gradient is zero.
        cache: the list of :class:`LSTMStepCache` returned by :func:`lstm_forward`.

    Returns:
        tuple ``(dx, dh0, dWx, dWh, db)`` with the shapes of
        ``x (N, T, D)``, ``h0 (N, H)``, ``Wx (D, 4H)``, ``Wh (H, 4H)`` and ``b (4H,)``.

    Raises:
        TypeError: ``cache`` is not a list of :class:`LSTMStepCache`, or ``dh``
            is not a numpy array of floats.
        ValueError: ``cache`` is empty, or ``dh`` does not have the shape of the
            forward's ``h``.
    """
    return _backward_through_time(
        dh, cache, LSTMStepCache, "lstm_forward", lstm_step_backward, num_states=2
    )
