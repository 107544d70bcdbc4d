"""PyTorch's GRU in numpy: one step and a whole sequence, forward and backward by hand.

For a batch of ``N`` sequences, inputs of size ``D`` and hidden states of size
``H``, one step of the GRU *as PyTorch computes it* (``torch.nn.GRU``,
``torch.nn.GRUCell``, and Keras with ``reset_after=True``) is::

    r = sigmoid(x_t Wx_r + bx_r + h_{t-1} Wh_r + bh_r)          reset gate
    z = sigmoid(x_t Wx_z + bx_z + h_{t-1} Wh_z + bh_z)          update gate
    n = tanh(x_t Wx_n + bx_n + r * (h_{t-1} Wh_n + bh_n))       new gate (candidate)
    h_t = (1 - z) * n + z * h_{t-1}

where ``*`` multiplies entry by entry and ``Wx_r`` is the block of ``H``
columns of ``Wx`` that belongs to ``r``. The gates are stacked in PyTorch's
order ``r, z, n`` in ``Wx`` (D, 3H), ``Wh`` (H, 3H), ``bx`` (3H,) and ``bh``
(3H,). PyTorch stores the transposes: ``weight_ih = Wx.T``,
``weight_hh = Wh.T``, ``bias_ih = bx``, ``bias_hh = bh``. The two biases are
kept apart, unlike the LSTM's single ``b``, because ``bh_n`` sits inside the
reset gate's product and so is not interchangeable with ``bx_n``.

This is not the GRU that the papers and books write. Chung et al. (2014) write::

    h~ = tanh(x_t Wx_n + (r * h_{t-1}) Wh_n + b_n)
    h_t = (1 - z) * h_{t-1} + z * h~

Two things differ:

- The reset gate. Chung et al., the published paper of Cho et al. (2014),
  Goodfellow et al. (2016) and d2l (Zhang et al.) apply it to ``h_{t-1}``
  *before* the recurrent matrix product; PyTorch applies it *after* it (to
  ``h_{t-1} Wh_n + bh_n``), so that one product ``h_{t-1} Wh`` serves all
  three gates (the Keras documentation attributes this form to the first
  arXiv version of Cho et al.). ``r`` then scales whole sums instead of the
  entries of ``h_{t-1}`` they are made of, and the two are different
  functions: no choice of weights turns one into the other in general, so
  weights trained for one do not fit the other.
- Which share keeps the old state. Chung et al. put ``1 - z`` on ``h_{t-1}``;
  Cho et al.'s paper, Goodfellow et al., d2l and PyTorch put ``z`` there. This
  alone is only a relabelling: negating the update gate's weights and biases
  turns one form into the other.

Only PyTorch's form is implemented here, so that it can be checked against
``torch.nn`` to the last digits; the chapter on the GRU says which form each
formula is.

The conventions are those of :mod:`helpers.numpy_rnn` and
:mod:`helpers.numpy_lstm`: CS231n-style forward/backward pairs; named-tuple
caches that keep the gates (``cache.z`` is the update gate), a sequence's cache
being the list of its steps' caches; computation in the promoted dtype of the
inputs, never downcast; arguments checked first, with messages that name the
one that is wrong; NaN and infinity not checked for.
"""

from typing import NamedTuple

import numpy as np

# The GRU shares the LSTM's check of gate blocks and its overflow-free sigmoid, and the RNN's
# backpropagation through time.
from helpers.numpy_lstm import _check_gate_blocks, _sigmoid
from helpers.numpy_rnn import _backward_through_time, _check_cache
from helpers.validation import Dims

__all__ = [
    "GRUStepCache",
    "gru_step_forward",
    "gru_step_backward",
    "gru_forward",
    "gru_backward",
]

#: The GRU's gates in the order their blocks of ``H`` columns are stacked.
GATES = ("r", "z", "n")


class GRUStepCache(NamedTuple):
    """What :func:`gru_step_backward` needs from one call of :func:`gru_step_forward`."""

    x: np.ndarray  #: (N, D) input of the step
    h_prev: np.ndarray  #: (N, H) hidden state before the step
    Wx: np.ndarray  #: (D, 3H) input-to-hidden weights, gate blocks r, z, n
    Wh: np.ndarray  #: (H, 3H) hidden-to-hidden weights, gate blocks r, z, n
    r: np.ndarray  #: (N, H) reset gate, in [0, 1]
    z: np.ndarray  #: (N, H) update gate, in [0, 1]: the share of h_prev kept
    n: np.ndarray  #: (N, H) new gate (candidate state), in [-1, 1]
    hn: np.ndarray  #: (N, H) h_prev Wh_n + bh_n, the recurrent share of n that r scales


def _check_weights(dims, Wx, Wh, bx, bh):
    # Wh first: its rows fix H, which the stacked dimension of all four must match.
    Wh = _check_gate_blocks(dims, "Wh", Wh, ("H",), GATES)
    Wx = _check_gate_blocks(dims, "Wx", Wx, ("D",), GATES)
    bx = _check_gate_blocks(dims, "bx", bx, (), GATES)
    bh = _check_gate_blocks(dims, "bh", bh, (), GATES)
    return Wx, Wh, bx, bh


def gru_step_forward(x, h_prev, Wx, Wh, bx, bh):
    """One step of PyTorch's GRU: reset and update gates, the new gate, then the new state.

    With ``ax = x Wx + bx`` and ``ah = h_prev Wh + bh``, split into their
    blocks r, z, n: ``r = sigmoid(ax_r + ah_r)``, ``z = sigmoid(ax_z + ah_z)``,
    ``n = tanh(ax_n + r * ah_n)`` and ``h = (1 - z) * n + z * h_prev``. The
    reset gate scales ``ah_n = h_prev Wh_n + bh_n``, after the matrix product
    (see the module's docstring for how this differs from the textbook GRU).

    Args:
        x: input of this step, shape ``(N, D)``.
        h_prev: hidden state of the previous step, shape ``(N, H)``.
        Wx: input-to-hidden weights, shape ``(D, 3H)``, column blocks r, z, n.
        Wh: hidden-to-hidden weights, shape ``(H, 3H)``, column blocks r, z, n.
        bx: input-side bias, shape ``(3H,)``, blocks r, z, n (``bias_ih`` in PyTorch).
        bh: hidden-side bias, shape ``(3H,)``, blocks r, z, n (``bias_hh`` in PyTorch).

    All are floating-point numpy arrays; the result has their promoted dtype.

    Returns:
        tuple ``(h, cache)``:

        - ``h``: the new hidden state, shape ``(N, H)``.
        - ``cache``: a :class:`GRUStepCache` for :func:`gru_step_backward`,
          which also holds the gates ``cache.r``, ``cache.z``, ``cache.n``,
          each ``(N, H)``.

    Raises:
        TypeError: an argument is not a numpy array of floats.
        ValueError: an argument has the wrong number of dimensions, a size that
            disagrees with another argument (``Wx``, ``Wh``, ``bx`` and ``bh``
            must have ``3H`` columns, with ``H`` the number of rows of ``Wh``),
            or a size of 0.
    """
    dims = Dims()
    Wx, Wh, bx, bh = _check_weights(dims, Wx, Wh, bx, bh)
    x = dims.array("x", x, ("N", "D"))
    h_prev = dims.array("h_prev", h_prev, ("N", "H"))
    H = dims["H"]

    # The two shares are kept apart until the reset gate has scaled the recurrent one of n.
    ax = x @ Wx + bx
    ah = h_prev @ Wh + bh
    r = _sigmoid(ax[:, 0:H] + ah[:, 0:H])
    z = _sigmoid(ax[:, H : 2 * H] + ah[:, H : 2 * H])
    hn = ah[:, 2 * H : 3 * H]
    n = np.tanh(ax[:, 2 * H : 3 * H] + r * hn)
    h = (1 - z) * n + z * h_prev
    return h, GRUStepCache(x, h_prev, Wx, Wh, r, z, n, hn)


def gru_step_backward(dh, cache):
    """Backward pass of one GRU step: gradients of the loss with respect to its inputs.

    From ``h = (1 - z) * n + z * h_prev``: ``dn = dh * (1 - z)``,
    ``dz = dh * (h_prev - n)``, and ``h_prev`` gets ``dh * z`` directly, besides
    what reaches it through the gates. With ``da_n = dn * (1 - n**2)`` the
    gradient on n's pre-activation, the input share ``ax_n`` gets ``da_n``, the
    recurrent share ``ah_n`` gets ``da_n * r`` and the reset gate
    ``dr = da_n * ah_n``. The sigmoid derivatives ``s * (1 - s)`` then give the
    gradients on the pre-activations of r and z, which both shares receive
    whole. So ``dax`` and ``dah``, each ``(N, 3H)``, differ only in their n
    block, and ``dx = dax Wx^T``, ``dWx = x^T dax``, ``dbx = sum of dax``,
    ``dh_prev = dh * z + dah Wh^T``, ``dWh = h_prev^T dah``, ``dbh = sum of dah``.

    Args:
        dh: upstream gradient on the step's output ``h``, shape ``(N, H)``.
        cache: the :class:`GRUStepCache` returned by :func:`gru_step_forward`.

    Returns:
        tuple ``(dx, dh_prev, dWx, dWh, dbx, dbh)`` with the shapes of
        ``x (N, D)``, ``h_prev (N, H)``, ``Wx (D, 3H)``, ``Wh (H, 3H)``,
        ``bx (3H,)`` and ``bh (3H,)``.

    Raises:
        TypeError: ``cache`` is not a :class:`GRUStepCache`, or ``dh`` is not a
            numpy array of floats.
        ValueError: ``dh`` does not have the shape ``(N, H)`` of the forward's ``h``.
    """
    _check_cache(cache, GRUStepCache, "gru_step_forward")
    dims = Dims().fix("N", cache.n.shape[0], "the cache").fix("H", cache.n.shape[1], "the cache")
    dh = dims.array("dh", dh, ("N", "H"))
    r, z, n = cache.r, cache.z, cache.n

    da_n = dh * (1 - z) * (1 - n**2)
    da_r = da_n * cache.hn * r * (1 - r)
    da_z = dh * (cache.h_prev - n) * z * (1 - z)
    dax = np.concatenate([da_r, da_z, da_n], axis=1)
    # The reset gate stands between the recurrent share of n and the sum: only that block differs.
    dah = np.concatenate([da_r, da_z, da_n * r], axis=1)

    dx = dax @ cache.Wx.T
    dh_prev = dh * z + dah @ cache.Wh.T
    # Every row of the batch used the same weights, so their gradients sum over rows.
    dWx = cache.x.T @ dax
    dWh = cache.h_prev.T @ dah
    dbx = dax.sum(axis=0)
    dbh = dah.sum(axis=0)
    return dx, dh_prev, dWx, dWh, dbx, dbh


def gru_forward(x, h0, Wx, Wh, bx, bh):
    """Run PyTorch's GRU over whole sequences, one :func:`gru_step_forward` per step.

    Args:
        x: inputs, shape ``(N, T, D)``: ``N`` sequences of ``T`` steps.
        h0: initial hidden state, shape ``(N, H)``.
        Wx: input-to-hidden weights, shape ``(D, 3H)``, column blocks r, z, n.
        Wh: hidden-to-hidden weights, shape ``(H, 3H)``, column blocks r, z, n.
        bx: input-side bias, shape ``(3H,)``, blocks r, z, n.
        bh: hidden-side bias, shape ``(3H,)``, blocks r, z, n.

    All are floating-point numpy arrays; the result has their promoted dtype.

    Returns:
        tuple ``(h, cache)``:

        - ``h``: every hidden state, ``(N, T, H)``, laid out as in
          :func:`helpers.numpy_rnn.rnn_forward` (``h0`` not included).
        - ``cache``: a list of ``T`` :class:`GRUStepCache`, one per step, for
          :func:`gru_backward`. They keep the gates: ``cache[t].z`` is the
          update gate of step ``t``, and ``np.stack([step.z for step in cache],
          axis=1)`` all update gates, ``(N, T, H)``.

    Raises:
        TypeError: an argument is not a numpy array of floats.
        ValueError: an argument has the wrong number of dimensions, a size that
            disagrees with another argument (``Wx``, ``Wh``, ``bx`` and ``bh``
            must have ``3H`` columns, with ``H`` the number of rows of ``Wh``),
            or a size of 0 (``T = 0``, an empty sequence, included).
    """
    dims = Dims()
    Wx, Wh, bx, bh = _check_weights(dims, Wx, Wh, bx, bh)
    x = dims.array("x", x, ("N", "T", "D"))
    h0 = dims.array("h0", h0, ("N", "H"))
    N, T, H = dims["N"], dims["T"], dims["H"]

    h = np.empty((N, T, H), dtype=np.result_type(x, h0, Wx, Wh, bx, bh))
    cache = []
    h_t = h0
    for t in range(T):
        h_t, step_cache = gru_step_forward(x[:, t], h_t, Wx, Wh, bx, bh)
        h[:, t] = h_t
        cache.append(step_cache)
    return h, cache


def gru_backward(dh, cache):
    """Backpropagation through time: the backward pass of :func:`gru_forward`.

    The recursion of :func:`helpers.numpy_rnn.rnn_backward` with
    :func:`gru_step_backward` as the step: step ``t`` receives ``dh[:, t]``
    plus what step ``t + 1`` sends back, and the gradients of the weights and
    biases, shared by every step, are summed over the steps.

    Args:
        dh: upstream gradient on every hidden state, ``(N, T, H)`` like the
            ``h`` that :func:`gru_forward` returns.
        cache: the list of :class:`GRUStepCache` returned by :func:`gru_forward`.

    Returns:
        tuple ``(dx, dh0, dWx, dWh, dbx, dbh)`` with the shapes of
        ``x (N, T, D)``, ``h0 (N, H)``, ``Wx (D, 3H)``, ``Wh (H, 3H)``,
        ``bx (3H,)`` and ``bh (3H,)``.

    Raises:
        TypeError: ``cache`` is not a list of :class:`GRUStepCache`, or ``dh``
            is not a numpy array of floats.
        ValueError: ``cache`` is empty, or ``dh`` does not have the shape of the
            forward's ``h``.
    """
    return _backward_through_time(dh, cache, GRUStepCache, "gru_forward", gru_step_backward)
