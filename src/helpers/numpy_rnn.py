"""The vanilla RNN in numpy: one step, a whole sequence, scores and a loss at every step.

For a batch of ``N`` sequences of ``T`` steps, inputs of size ``D``, hidden
states of size ``H`` and ``C`` output classes, the book's RNN is::

    h_t = tanh(x_t Wx + h_{t-1} Wh + b)      x_t (N, D), h_t (N, H)
    o_t = h_t W_hy + b_y                     o_t (N, C), scores over the classes

Batches are row-major: one row per sequence, so ``x_t Wx`` is a plain matrix
product. Every layer is a pair of functions in the style of CS231n.
``*_forward`` returns its output and a ``cache`` holding what the backward pass
needs; ``*_backward`` takes the upstream gradient (the gradient of the loss
with respect to the output, so the output's shape) and that cache, and returns
the gradients in the order of the forward's inputs.

Backpropagation through time is then the step backward applied from the last
step to the first: the gradient reaching ``h_t`` is what the loss at step ``t``
sends plus what step ``t + 1`` sends back, and the weights, shared by every
step, collect the sum of every step's gradient.

Everything is computed in the dtype of the inputs, never downcast: float64
inputs give float64 results, as gradient checks need, and mixed float dtypes
are promoted as numpy promotes them. Every public function checks its arguments
first, so a wrong shape names the argument instead of failing in a matrix
product. Values are not checked for NaN or infinity (that would cost a pass over
every array at every step); they propagate to the outputs, where they show.
"""

from typing import NamedTuple

import numpy as np

from helpers.validation import Dims

__all__ = [
    "StepCache",
    "AffineCache",
    "rnn_step_forward",
    "rnn_step_backward",
    "rnn_forward",
    "rnn_backward",
    "temporal_affine_forward",
    "temporal_affine_backward",
    "temporal_softmax_loss",
]


class StepCache(NamedTuple):
    """What :func:`rnn_step_backward` needs from one call of :func:`rnn_step_forward`."""

    x: np.ndarray  #: (N, D) input of the step
    h_prev: np.ndarray  #: (N, H) hidden state before the step
    Wx: np.ndarray  #: (D, H) input-to-hidden weights
    Wh: np.ndarray  #: (H, H) hidden-to-hidden weights
    h: np.ndarray  #: (N, H) hidden state after the step; tanh' = 1 - h**2 needs only h


class AffineCache(NamedTuple):
    """What :func:`temporal_affine_backward` needs from :func:`temporal_affine_forward`."""

    h: np.ndarray  #: (N, T, H) hidden states the scores were computed from
    W: np.ndarray  #: (H, C) hidden-to-output weights


def _check_cache(cache, cache_type, forward):
    if not isinstance(cache, cache_type):
        raise TypeError(
            f"cache must be the cache returned by {forward} (a {cache_type.__name__}), "
            f"got {type(cache).__name__}"
        )


def _check_step_caches(cache, step_type, forward):
    """Check that ``cache`` is what ``forward`` returns for a sequence: a list of ``step_type``."""
    if not (isinstance(cache, list) and all(isinstance(c, step_type) for c in cache)):
        raise TypeError(
            f"cache must be the cache returned by {forward} (a list of {step_type.__name__}, "
            f"one per step), got {type(cache).__name__}"
        )
    if not cache:
        raise ValueError(
            f"cache is an empty list; {forward} returns one {step_type.__name__} per step"
        )


def _backward_through_time(dh, cache, step_type, forward, step_backward, *, num_states=1):
    """Backpropagation through time with ``step_backward``, for every recurrence of the book.

    Checks ``cache`` (the list of ``step_type`` that ``forward`` returns, one per
    step) and ``dh`` ``(N, T, H)``. Going from the last step to the first, step
    ``t`` gets ``dh[:, t]`` plus the ``dh_prev`` that step ``t + 1`` sends back,
    and the gradients on the other ``num_states - 1`` states (the LSTM's cell)
    that it sent; nothing comes back into the last step. ``step_backward`` is
    called as ``step_backward(dh_t, *other_state_grads, step_cache)`` and
    returns ``(dx_t, dh_prev, *other_state_grads_prev, *parameter_grads)``; the
    parameters are the same at every step, so their gradients are summed.

    Returns:
        ``(dx, dh0, *parameter_grads)``.
    """
    _check_step_caches(cache, step_type, forward)
    first = cache[0]
    (N, D), H, T = first.x.shape, first.h_prev.shape[1], len(cache)
    dims = Dims().fix("N", N, "the cache").fix("T", T, "the cache").fix("H", H, "the cache")
    dh = dims.array("dh", dh, ("N", "T", "H"))

    dtype = np.result_type(dh, *first)
    dx = np.empty((N, T, D), dtype=dtype)
    from_next = [np.zeros((N, H), dtype=dtype) for _ in range(num_states)]
    totals = None
    for t in reversed(range(T)):
        dx[:, t], *back = step_backward(dh[:, t] + from_next[0], *from_next[1:], cache[t])
        from_next, step_grads = back[:num_states], back[num_states:]
        if totals is None:
            totals = [np.zeros(g.shape, dtype=dtype) for g in step_grads]
        for total, grad in zip(totals, step_grads):
            total += grad
    # After step 0, what comes back is the gradient on the states before it: h0 (and c0).
    return (dx, from_next[0], *totals)


def rnn_step_forward(x, h_prev, Wx, Wh, b):
    """One step of the vanilla RNN: ``h = tanh(x Wx + h_prev Wh + b)``.

    Args:
        x: input of this step, shape ``(N, D)``.
        h_prev: hidden state of the previous step, shape ``(N, H)``.
        Wx: input-to-hidden weights, shape ``(D, H)``.
        Wh: hidden-to-hidden weights, shape ``(H, H)``.
        b: bias, shape ``(H,)``.

    All are floating-point numpy arrays; the result has their promoted dtype.

    Returns:
        tuple ``(h, cache)``:

        - ``h``: the new hidden state, shape ``(N, H)``, every entry in ``[-1, 1]``.
        - ``cache``: a :class:`StepCache` for :func:`rnn_step_backward`.

    Raises:
        TypeError: an argument is not a numpy array of floats.
        ValueError: an argument has the wrong number of dimensions, a size that
            disagrees with another argument, or a size of 0.
    """
    # The weights fix D and H; the data is then checked against them.
    dims = Dims()
    Wx = dims.array("Wx", Wx, ("D", "H"))
    Wh = dims.array("Wh", Wh, ("H", "H"))
    b = dims.array("b", b, ("H",))
    x = dims.array("x", x, ("N", "D"))
    h_prev = dims.array("h_prev", h_prev, ("N", "H"))

    h = np.tanh(x @ Wx + h_prev @ Wh + b)
    return h, StepCache(x, h_prev, Wx, Wh, h)


def rnn_step_backward(dh, cache):
    """Backward pass of one step: gradients of the loss with respect to its inputs.

    With ``a = x Wx + h_prev Wh + b`` the pre-activation and ``h = tanh(a)``,
    the chain rule gives ``da = dh * (1 - h**2)`` and then, as for any matrix
    product, ``dx = da Wx^T``, ``dh_prev = da Wh^T``, ``dWx = x^T da``,
    ``dWh = h_prev^T da`` and ``db = sum over the batch of da``.

    Args:
        dh: upstream gradient on the step's output ``h``, shape ``(N, H)``.
        cache: the :class:`StepCache` returned by :func:`rnn_step_forward`.

    Returns:
        tuple ``(dx, dh_prev, dWx, dWh, db)`` with the shapes of
        ``x (N, D)``, ``h_prev (N, H)``, ``Wx (D, H)``, ``Wh (H, H)`` and ``b (H,)``.

    Raises:
        TypeError: ``cache`` is not a :class:`StepCache`, or ``dh`` is not a
            numpy array of floats.
        ValueError: ``dh`` does not have the shape of the forward's ``h``.
    """
    _check_cache(cache, StepCache, "rnn_step_forward")
    dims = Dims().fix("N", cache.h.shape[0], "the cache").fix("H", cache.h.shape[1], "the cache")
    dh = dims.array("dh", dh, ("N", "H"))

    # tanh'(a) = 1 - tanh(a)**2, and tanh(a) is the h the forward kept.
    da = dh * (1 - cache.h**2)
    dx = da @ cache.Wx.T
    dh_prev = da @ cache.Wh.T
    # Every row of the batch used the same weights, so their gradients sum over rows;
    # the matrix products x^T da and h_prev^T da do that sum.
    dWx = cache.x.T @ da
    dWh = cache.h_prev.T @ da
    db = da.sum(axis=0)
    return dx, dh_prev, dWx, dWh, db


def rnn_forward(x, h0, Wx, Wh, b):
    """Run the vanilla RNN over whole sequences, one :func:`rnn_step_forward` per step.

    Args:
        x: inputs, shape ``(N, T, D)``: ``N`` sequences of ``T`` steps.
        h0: initial hidden state, shape ``(N, H)``.
        Wx, Wh, b: the weights ``(D, H)``, ``(H, H)`` and the bias ``(H,)``
            of every step, as in :func:`rnn_step_forward`.

    All are floating-point numpy arrays; the result has their promoted dtype.

    Returns:
        tuple ``(h, cache)``:

        - ``h``: every hidden state, shape ``(N, T, H)``; ``h[:, t]`` is
          ``h_t``, the state after reading ``x[:, t]``, and ``h[:, -1]`` the
          final state. ``h0`` is not included.
        - ``cache``: a list of ``T`` :class:`StepCache`, one per step, for
          :func:`rnn_backward`.

    Raises:
        TypeError: an argument is not a numpy array of floats.
        ValueError: an argument has the wrong number of dimensions, a size that
            disagrees with another argument, or a size of 0 (``T = 0``, an empty
            sequence, included).
    """
    dims = Dims()
    Wx = dims.array("Wx", Wx, ("D", "H"))
    Wh = dims.array("Wh", Wh, ("H", "H"))
    b = dims.array("b", b, ("H",))
    x = dims.array("x", x, ("N", "T", "D"))
    h0 = dims.array("h0", h0, ("N", "H"))
    N, T, H = dims["N"], dims["T"], dims["H"]

    h = np.empty((N, T, H), dtype=np.result_type(x, h0, Wx, Wh, b))
    cache = []
    h_t = h0
    for t in range(T):
        h_t, step_cache = rnn_step_forward(x[:, t], h_t, Wx, Wh, b)
        h[:, t] = h_t
        cache.append(step_cache)
    return h, cache


def rnn_backward(dh, cache):
    """Backpropagation through time: the backward pass of :func:`rnn_forward`.

    ``h_t`` reaches the loss in two ways: directly, through whatever uses
    ``h[:, t]`` (gradient ``dh[:, t]``), and through ``h_{t+1}``, which is
    computed from it. So, going from the last step to the first, the gradient
    on ``h_t`` is ``dh[:, t]`` plus the ``dh_prev`` that step ``t + 1`` sends
    back (nothing comes back into the last step). The weights are the same at
    every step, so their gradients are the sums of every step's gradients.

    Args:
        dh: upstream gradient on every hidden state, shape ``(N, T, H)``, the
            shape of the ``h`` returned by :func:`rnn_forward`.
        cache: the list of :class:`StepCache` returned by :func:`rnn_forward`.

    Returns:
        tuple ``(dx, dh0, dWx, dWh, db)`` with the shapes of
        ``x (N, T, D)``, ``h0 (N, H)``, ``Wx (D, H)``, ``Wh (H, H)`` and ``b (H,)``.

    Raises:
        TypeError: ``cache`` is not a list of :class:`StepCache`, or ``dh`` is
            not a numpy array of floats.
        ValueError: ``cache`` is empty, or ``dh`` does not have the shape of the
            forward's ``h``.
    """
    return _backward_through_time(dh, cache, StepCache, "rnn_forward", rnn_step_backward)


def temporal_affine_forward(h, W, b):
    """Scores at every step: ``out[:, t] = h[:, t] W + b``, the same ``W`` and ``b`` for all ``t``.

    Args:
        h: hidden states, shape ``(N, T, H)`` (the output of :func:`rnn_forward`).
        W: hidden-to-output weights, shape ``(H, C)`` (``W_hy`` in the book).
        b: output bias, shape ``(C,)`` (``b_y`` in the book).

    Returns:
        tuple ``(out, cache)``:

        - ``out``: scores, shape ``(N, T, C)``, in the promoted dtype of the inputs.
        - ``cache``: an :class:`AffineCache` for :func:`temporal_affine_backward`.

    Raises:
        TypeError, ValueError: as :func:`rnn_step_forward`, for ``h``, ``W`` and ``b``.
    """
    dims = Dims()
    W = dims.array("W", W, ("H", "C"))
    b = dims.array("b", b, ("C",))
    h = dims.array("h", h, ("N", "T", "H"))

    # matmul treats the leading (N, T) as a batch: one product with W for every step.
    out = h @ W + b
    return out, AffineCache(h, W)


def temporal_affine_backward(dout, cache):
    """Backward pass of :func:`temporal_affine_forward`.

    Args:
        dout: upstream gradient on the scores, shape ``(N, T, C)``.
        cache: the :class:`AffineCache` returned by :func:`temporal_affine_forward`.

    Returns:
        tuple ``(dh, dW, db)`` with the shapes of ``h (N, T, H)``, ``W (H, C)``
        and ``b (C,)``.

    Raises:
        TypeError: ``cache`` is not an :class:`AffineCache`, or ``dout`` is not
            a numpy array of floats.
        ValueError: ``dout`` does not have the shape of the forward's ``out``.
    """
    _check_cache(cache, AffineCache, "temporal_affine_forward")
    (N, T, H), C = cache.h.shape, cache.W.shape[1]
    dims = Dims().fix("N", N, "the cache").fix("T", T, "the cache").fix("C", C, "the cache")
    dout = dims.array("dout", dout, ("N", "T", "C"))

    dh = dout @ cache.W.T
    # Every (sequence, step) pair used the same W and b, so their gradients sum over
    # all N * T of them; flattening those into rows makes the sum one matrix product.
    dW = cache.h.reshape(N * T, H).T @ dout.reshape(N * T, C)
    db = dout.sum(axis=(0, 1))
    return dh, dW, db


def temporal_softmax_loss(scores, y, mask=None):
    """Softmax cross-entropy at every step, summed over time and averaged over the batch.

    The loss is::

        loss = (1 / N) * sum over n < N and t < T of
               mask[n, t] * -log softmax(scores[n, t])[y[n, t]]

    that is, the cross-entropy of each counted step, added up along each
    sequence, then averaged over the ``N`` sequences. It is divided by ``N``,
    not by the number of counted steps, so a long sequence weighs more than a
    short one; divide by ``T`` yourself for a loss per step (``torch``'s
    ``cross_entropy`` with its default ``reduction="mean"`` averages over the
    counted steps instead).

    Args:
        scores: unnormalised class scores, floats of shape ``(N, T, C)``.
        y: the correct class of each step, integers of shape ``(N, T)`` in
            ``[0, C)``. Labels of steps the mask leaves out are ignored and may
            be anything (a padding value such as -1).
        mask: which steps count, shape ``(N, T)``: bools, or integers or floats
            holding only 0 and 1. ``None`` counts every step.

    Returns:
        tuple ``(loss, dscores)``:

        - ``loss``: the loss above, a numpy scalar of the dtype of ``scores``;
          0 when the mask leaves out every step.
        - ``dscores``: its gradient with respect to ``scores``, shape ``(N, T, C)``;
          zero at the steps the mask leaves out, whatever their scores (even NaN).

    Raises:
        TypeError: ``scores`` is not a numpy array of floats, ``y`` not one of
            integers, or ``mask`` not one of bools or numbers.
        ValueError: a shape disagrees with ``scores``, a counted label is outside
            ``[0, C)`` (the message gives its position), or ``mask`` holds a value
            other than 0 and 1.
    """
    dims = Dims()
    scores = dims.array("scores", scores, ("N", "T", "C"))
    y = dims.integers("y", y, ("N", "T"))
    mask = np.ones(y.shape, dtype=bool) if mask is None else dims.mask("mask", mask, ("N", "T"))
    N, C = dims["N"], dims["C"]
    out_of_range = mask & ((y < 0) | (y >= C))
    if out_of_range.any():
        n, t = np.argwhere(out_of_range)[0]
        raise ValueError(
            f"y[{n}, {t}] = {y[n, t]} is not a class index: scores has C = {C} classes, "
            f"so labels must be in [0, {C})"
        )
    # The labels of left-out steps may be anything; 0 keeps the indexing below valid.
    labels = np.where(mask, y, 0)

    # Subtracting each row's maximum leaves the softmax unchanged and keeps exp
    # from overflowing: the largest exponent is then exp(0) = 1.
    shifted = scores - scores.max(axis=2, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=2, keepdims=True))
    correct_log_probs = np.take_along_axis(log_probs, labels[:, :, None], axis=2)[:, :, 0]
    # np.where, not a product with the mask: 0 * NaN would let a left-out step poison the sum.
    loss = np.where(mask, -correct_log_probs, 0).sum() / N

    # d(-log softmax(s)[y]) / ds = softmax(s) - onehot(y)
    one_hot = np.eye(C, dtype=scores.dtype)[labels]
    dscores = np.where(mask[:, :, None], np.exp(log_probs) - one_hot, 0) / N
    return loss, dscores
