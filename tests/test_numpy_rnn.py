"""The numpy RNN reference: equal to torch.nn in float64, gradients checked numerically,
bad inputs refused."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers.gradcheck import numerical_gradient, rel_error
from helpers.numpy_rnn import (
    AffineCache,
    StepCache,
    rnn_backward,
    rnn_forward,
    rnn_step_backward,
    rnn_step_forward,
    temporal_affine_backward,
    temporal_affine_forward,
    temporal_softmax_loss,
)

TORCH_TOLERANCE = 1e-10


def max_abs_diff(numpy_array, tensor):
    return float(np.max(np.abs(numpy_array - tensor.detach().numpy())))


def random_rnn(rng, N, T, D, H, scale=0.5):
    """Inputs and weights of a small RNN; scale keeps tanh away from saturation."""
    return {
        "x": rng.standard_normal((N, T, D)),
        "h0": rng.standard_normal((N, H)) * scale,
        "Wx": rng.standard_normal((D, H)) * scale / np.sqrt(D),
        "Wh": rng.standard_normal((H, H)) * scale / np.sqrt(H),
        "b": rng.standard_normal(H) * scale,
    }


def torch_rnn_with(Wx, Wh, b_ih, b_hh):
    D, H = Wx.shape
    rnn = torch.nn.RNN(D, H, nonlinearity="tanh", batch_first=True, dtype=torch.float64)
    with torch.no_grad():
        rnn.weight_ih_l0.copy_(torch.from_numpy(Wx.T))
        rnn.weight_hh_l0.copy_(torch.from_numpy(Wh.T))
        rnn.bias_ih_l0.copy_(torch.from_numpy(b_ih))
        rnn.bias_hh_l0.copy_(torch.from_numpy(b_hh))
    return rnn


sizes = {
    "N": st.integers(1, 8),
    "T": st.integers(1, 50),
    "D": st.integers(1, 10),
    "H": st.integers(1, 10),
    "seed": st.integers(0, 2**32 - 1),
}


# --- equal to torch.nn in float64 -------------------------------------------------------


@settings(max_examples=30, deadline=None)
@given(**sizes)
def test_step_equals_torch_rnn_cell(N, T, D, H, seed):
    rng = np.random.default_rng(seed)
    p = random_rnn(rng, N, 1, D, H, scale=1.0)
    b_ih, b_hh = rng.standard_normal(H), rng.standard_normal(H)
    x, h_prev = p["x"][:, 0], p["h0"]
    dh = rng.standard_normal((N, H))

    h, cache = rnn_step_forward(x, h_prev, p["Wx"], p["Wh"], b_ih + b_hh)
    dx, dh_prev, dWx, dWh, db = rnn_step_backward(dh, cache)

    cell = torch.nn.RNNCell(D, H, nonlinearity="tanh", dtype=torch.float64)
    with torch.no_grad():
        cell.weight_ih.copy_(torch.from_numpy(p["Wx"].T))
        cell.weight_hh.copy_(torch.from_numpy(p["Wh"].T))
        cell.bias_ih.copy_(torch.from_numpy(b_ih))
        cell.bias_hh.copy_(torch.from_numpy(b_hh))
    x_t = torch.from_numpy(x).requires_grad_()
    h_prev_t = torch.from_numpy(h_prev).requires_grad_()
    h_t = cell(x_t, h_prev_t)
    (h_t * torch.from_numpy(dh)).sum().backward()

    assert h.dtype == np.float64
    assert max_abs_diff(h, h_t) <= TORCH_TOLERANCE
    assert max_abs_diff(dx, x_t.grad) <= TORCH_TOLERANCE
    assert max_abs_diff(dh_prev, h_prev_t.grad) <= TORCH_TOLERANCE
    assert max_abs_diff(dWx, cell.weight_ih.grad.T) <= TORCH_TOLERANCE
    assert max_abs_diff(dWh, cell.weight_hh.grad.T) <= TORCH_TOLERANCE
    # b = bias_ih + bias_hh, so each torch bias gets the whole gradient of b.
    assert max_abs_diff(db, cell.bias_ih.grad) <= TORCH_TOLERANCE
    assert max_abs_diff(db, cell.bias_hh.grad) <= TORCH_TOLERANCE


@settings(max_examples=30, deadline=None)
@given(**sizes)
def test_sequence_equals_torch_rnn(N, T, D, H, seed):
    rng = np.random.default_rng(seed)
    p = random_rnn(rng, N, T, D, H, scale=1.0)
    b_ih, b_hh = rng.standard_normal(H), rng.standard_normal(H)
    dh = rng.standard_normal((N, T, H))

    h, cache = rnn_forward(p["x"], p["h0"], p["Wx"], p["Wh"], b_ih + b_hh)
    dx, dh0, dWx, dWh, db = rnn_backward(dh, cache)

    rnn = torch_rnn_with(p["Wx"], p["Wh"], b_ih, b_hh)
    x_t = torch.from_numpy(p["x"]).requires_grad_()
    h0_t = torch.from_numpy(p["h0"]).requires_grad_()
    out, h_n = rnn(x_t, h0_t[None])
    (out * torch.from_numpy(dh)).sum().backward()

    assert h.shape == (N, T, H) and h.dtype == np.float64
    assert max_abs_diff(h, out) <= TORCH_TOLERANCE
    assert max_abs_diff(h[:, -1], h_n[0]) <= TORCH_TOLERANCE
    assert max_abs_diff(dx, x_t.grad) <= TORCH_TOLERANCE
    assert max_abs_diff(dh0, h0_t.grad) <= TORCH_TOLERANCE
    assert max_abs_diff(dWx, rnn.weight_ih_l0.grad.T) <= TORCH_TOLERANCE
    assert max_abs_diff(dWh, rnn.weight_hh_l0.grad.T) <= TORCH_TOLERANCE
    assert max_abs_diff(db, rnn.bias_ih_l0.grad) <= TORCH_TOLERANCE
    assert max_abs_diff(db, rnn.bias_hh_l0.grad) <= TORCH_TOLERANCE


def torch_masked_loss(scores, y, mask):
    N, T, C = scores.shape
    per_step = torch.nn.functional.cross_entropy(
        scores.reshape(N * T, C), torch.from_numpy(y).reshape(N * T), reduction="none"
    ).reshape(N, T)
    return (per_step * torch.from_numpy(mask.astype(np.float64))).sum() / N


@settings(max_examples=30, deadline=None)
@given(
    N=st.integers(1, 8),
    T=st.integers(1, 50),
    H=st.integers(1, 10),
    C=st.integers(1, 10),
    seed=st.integers(0, 2**32 - 1),
    use_mask=st.booleans(),
)
def test_affine_and_loss_equal_torch(N, T, H, C, seed, use_mask):
    rng = np.random.default_rng(seed)
    h = np.tanh(rng.standard_normal((N, T, H)))
    W = rng.standard_normal((H, C))
    b = rng.standard_normal(C)
    y = rng.integers(0, C, size=(N, T))
    mask = rng.random((N, T)) < 0.7 if use_mask else np.ones((N, T), dtype=bool)

    scores, cache = temporal_affine_forward(h, W, b)
    loss, dscores = temporal_softmax_loss(scores, y, mask if use_mask else None)
    dh, dW, db = temporal_affine_backward(dscores, cache)

    h_t, W_t, b_t = (torch.from_numpy(a).requires_grad_() for a in (h, W, b))
    scores_t = h_t @ W_t + b_t
    scores_t.retain_grad()
    loss_t = torch_masked_loss(scores_t, y, mask)
    loss_t.backward()

    assert max_abs_diff(scores, scores_t) <= TORCH_TOLERANCE
    assert abs(loss - loss_t.item()) <= TORCH_TOLERANCE
    assert max_abs_diff(dscores, scores_t.grad) <= TORCH_TOLERANCE
    assert max_abs_diff(dh, h_t.grad) <= TORCH_TOLERANCE
    assert max_abs_diff(dW, W_t.grad) <= TORCH_TOLERANCE
    assert max_abs_diff(db, b_t.grad) <= TORCH_TOLERANCE


def test_loss_is_stable_for_huge_scores():
    rng = np.random.default_rng(0)
    scores = rng.standard_normal((3, 4, 5)) * 1e4
    y = rng.integers(0, 5, size=(3, 4))
    mask = np.ones((3, 4), dtype=bool)
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        loss, dscores = temporal_softmax_loss(scores, y)
    scores_t = torch.from_numpy(scores).requires_grad_()
    loss_t = torch_masked_loss(scores_t, y, mask)
    loss_t.backward()
    assert np.isfinite(loss) and np.all(np.isfinite(dscores))
    assert abs(loss - loss_t.item()) <= 1e-12 * abs(loss_t.item())
    assert max_abs_diff(dscores, scores_t.grad) <= TORCH_TOLERANCE


def test_loss_is_summed_over_time_and_averaged_over_the_batch():
    # Uniform scores: every counted step costs exactly log(C).
    N, T, C = 2, 3, 4
    mask = np.array([[True, True, False], [True, False, False]])
    loss, _ = temporal_softmax_loss(np.zeros((N, T, C)), np.zeros((N, T), dtype=int), mask)
    assert loss == pytest.approx(3 * np.log(C) / N, rel=1e-15)


def test_all_false_mask_gives_zero_loss_and_gradient():
    scores = np.random.default_rng(0).standard_normal((2, 3, 4))
    scores[0, 1] = np.nan  # a left-out step may hold anything
    y = np.full((2, 3), -1)  # padding labels of left-out steps are ignored
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        loss, dscores = temporal_softmax_loss(scores, y, np.zeros((2, 3), dtype=bool))
    assert loss == 0.0
    assert dscores.shape == scores.shape
    assert np.all(dscores == 0.0)


def test_zero_one_mask_equals_bool_mask():
    rng = np.random.default_rng(1)
    scores = rng.standard_normal((3, 5, 4))
    y = rng.integers(0, 4, size=(3, 5))
    mask = rng.random((3, 5)) < 0.5
    expected = temporal_softmax_loss(scores, y, mask)
    for as_numbers in (mask.astype(np.int64), mask.astype(np.float32)):
        loss, dscores = temporal_softmax_loss(scores, y, as_numbers)
        assert loss == expected[0]
        np.testing.assert_array_equal(dscores, expected[1])


# --- central differences ----------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_step_backward_matches_central_differences(seed):
    rng = np.random.default_rng(seed)
    N, D, H = 4, 5, 6
    p = random_rnn(rng, N, 1, D, H)
    inputs = {"x": p["x"][:, 0].copy(), "h_prev": p["h0"]}
    inputs.update(Wx=p["Wx"], Wh=p["Wh"], b=p["b"])
    dh = rng.standard_normal((N, H))

    _, cache = rnn_step_forward(**inputs)
    analytic = dict(zip(inputs, rnn_step_backward(dh, cache)))

    for name, value in inputs.items():
        numeric = numerical_gradient(lambda _: rnn_step_forward(**inputs)[0], value, dh)
        assert rel_error(analytic[name], numeric) < 1e-7, name


@pytest.mark.parametrize("seed", [0, 1])
def test_rnn_backward_matches_central_differences(seed):
    rng = np.random.default_rng(seed)
    N, T, D, H = 3, 7, 4, 5
    inputs = random_rnn(rng, N, T, D, H)
    dh = rng.standard_normal((N, T, H))

    _, cache = rnn_forward(**inputs)
    analytic = dict(zip(inputs, rnn_backward(dh, cache)))

    for name, value in inputs.items():
        numeric = numerical_gradient(lambda _: rnn_forward(**inputs)[0], value, dh)
        assert rel_error(analytic[name], numeric) < 1e-6, name


def test_rnn_backward_sends_gradient_back_through_time():
    # A loss on the last state only must still reach the first input.
    rng = np.random.default_rng(3)
    inputs = random_rnn(rng, 2, 6, 3, 4)
    dh = np.zeros((2, 6, 4))
    dh[:, -1] = 1.0
    _, cache = rnn_forward(**inputs)
    dx, *_ = rnn_backward(dh, cache)
    assert np.all(np.abs(dx[:, 0]) > 0)
    numeric = numerical_gradient(lambda _: rnn_forward(**inputs)[0], inputs["x"], dh)
    assert rel_error(dx, numeric) < 1e-6


@pytest.mark.parametrize("seed", [0, 1])
def test_affine_and_loss_backward_match_central_differences(seed):
    rng = np.random.default_rng(seed)
    N, T, H, C = 3, 4, 5, 6
    inputs = {
        "h": np.tanh(rng.standard_normal((N, T, H))),
        "W": rng.standard_normal((H, C)) * 0.5,
        "b": rng.standard_normal(C) * 0.5,
    }
    dout = rng.standard_normal((N, T, C))
    _, cache = temporal_affine_forward(**inputs)
    analytic = dict(zip(inputs, temporal_affine_backward(dout, cache)))
    for name, value in inputs.items():
        numeric = numerical_gradient(lambda _: temporal_affine_forward(**inputs)[0], value, dout)
        assert rel_error(analytic[name], numeric) < 1e-7, name

    scores = rng.standard_normal((N, T, C))
    y = rng.integers(0, C, size=(N, T))
    mask = rng.random((N, T)) < 0.6
    _, dscores = temporal_softmax_loss(scores, y, mask)
    numeric = numerical_gradient(lambda s: temporal_softmax_loss(s, y, mask)[0], scores)
    assert rel_error(dscores, numeric) < 1e-7


# --- properties -------------------------------------------------------------------------


@settings(max_examples=30, deadline=None)
@given(
    N=st.integers(1, 4),
    T=st.integers(1, 20),
    D=st.integers(1, 6),
    H=st.integers(1, 6),
    seed=st.integers(0, 2**32 - 1),
    scale=st.sampled_from([0.1, 1.0, 10.0, 1e3]),
)
def test_rnn_forward_is_the_step_applied_in_a_loop_and_stays_in_range(N, T, D, H, seed, scale):
    rng = np.random.default_rng(seed)
    p = random_rnn(rng, N, T, D, H, scale=scale)
    h, cache = rnn_forward(**p)
    # tanh saturates to exactly +-1.0 in floating point, so the range is closed.
    assert np.all(np.abs(h) <= 1.0)
    assert isinstance(cache, list) and len(cache) == T

    h_t = p["h0"]
    for t in range(T):
        h_t, _ = rnn_step_forward(p["x"][:, t], h_t, p["Wx"], p["Wh"], p["b"])
        np.testing.assert_array_equal(h[:, t], h_t)


def test_dtypes_are_kept_and_promoted_never_downcast():
    rng = np.random.default_rng(0)
    p = random_rnn(rng, 2, 3, 4, 5)
    for dtype in (np.float32, np.float64, np.longdouble):
        q = {name: value.astype(dtype) for name, value in p.items()}
        h, cache = rnn_forward(**q)
        grads = rnn_backward(np.ones_like(h), cache)
        assert h.dtype == dtype and all(g.dtype == dtype for g in grads)
        scores, affine_cache = temporal_affine_forward(h, q["Wx"].T.copy(), q["b"][:4])
        loss, dscores = temporal_softmax_loss(scores, np.zeros((2, 3), dtype=np.int64))
        assert scores.dtype == dtype and loss.dtype == dtype and dscores.dtype == dtype
        assert all(g.dtype == dtype for g in temporal_affine_backward(dscores, affine_cache))

    mixed = dict(p, x=p["x"].astype(np.float32))
    h, cache = rnn_forward(**mixed)
    assert h.dtype == np.float64
    grads = rnn_backward(np.ones_like(h, dtype=np.float32), cache)
    assert all(g.dtype == np.float64 for g in grads)


# --- bad inputs -------------------------------------------------------------------------


@pytest.fixture
def step_inputs():
    rng = np.random.default_rng(0)
    p = random_rnn(rng, 2, 1, 3, 4)
    return {"x": p["x"][:, 0], "h_prev": p["h0"], "Wx": p["Wx"], "Wh": p["Wh"], "b": p["b"]}


@pytest.fixture
def sequence_inputs():
    return random_rnn(np.random.default_rng(0), 2, 5, 3, 4)


def test_step_forward_rejects_bad_inputs(step_inputs):
    with pytest.raises(ValueError, match="x must have 2 dimensions"):
        rnn_step_forward(**dict(step_inputs, x=step_inputs["x"][:, None]))
    with pytest.raises(ValueError, match=r"Wh has shape \(4, 5\)"):
        rnn_step_forward(**dict(step_inputs, Wh=np.zeros((4, 5))))
    with pytest.raises(ValueError, match=r"h_prev has shape \(3, 4\).*N = 2 comes from x"):
        rnn_step_forward(**dict(step_inputs, h_prev=np.zeros((3, 4))))
    with pytest.raises(ValueError, match=r"b has shape \(5,\).*H = 4 comes from Wx"):
        rnn_step_forward(**dict(step_inputs, b=np.zeros(5)))
    with pytest.raises(TypeError, match="x must hold floats.*int64"):
        rnn_step_forward(**dict(step_inputs, x=np.ones((2, 3), dtype=np.int64)))
    with pytest.raises(TypeError, match="Wx must be a numpy array.*tensor"):
        rnn_step_forward(**dict(step_inputs, Wx=torch.zeros(3, 4)))


def test_step_backward_rejects_bad_inputs(step_inputs):
    h, cache = rnn_step_forward(**step_inputs)
    with pytest.raises(ValueError, match=r"dh has shape \(2, 5\).*H = 4 comes from the cache"):
        rnn_step_backward(np.zeros((2, 5)), cache)
    with pytest.raises(ValueError, match="dh must have 2 dimensions"):
        rnn_step_backward(h[:, :, None], cache)
    with pytest.raises(TypeError, match="dh must hold floats"):
        rnn_step_backward(np.ones((2, 4), dtype=int), cache)
    with pytest.raises(TypeError, match="cache must be the cache returned by rnn_step_forward"):
        rnn_step_backward(h, tuple(cache))
    _, sequence_cache = rnn_forward(step_inputs["x"][:, None], *list(step_inputs.values())[1:])
    with pytest.raises(TypeError, match="got list"):
        rnn_step_backward(h, sequence_cache)


def test_rnn_forward_rejects_bad_inputs(sequence_inputs):
    p = sequence_inputs
    with pytest.raises(ValueError, match=r"x has shape \(2, 0, 3\).*T = 0 \(an empty sequence\)"):
        rnn_forward(**dict(p, x=np.zeros((2, 0, 3))))
    with pytest.raises(ValueError, match=r"x has shape \(0, 5, 3\).*N = 0"):
        rnn_forward(**dict(p, x=np.zeros((0, 5, 3))))
    with pytest.raises(ValueError, match="x must have 3 dimensions"):
        rnn_forward(**dict(p, x=p["x"][:, 0]))
    with pytest.raises(ValueError, match=r"x has shape \(2, 5, 6\).*D = 3 comes from Wx"):
        rnn_forward(**dict(p, x=np.zeros((2, 5, 6))))
    with pytest.raises(ValueError, match=r"Wh has shape \(3, 3\).*H = 4 comes from Wx"):
        rnn_forward(**dict(p, Wh=np.zeros((3, 3))))
    with pytest.raises(ValueError, match=r"h0 has shape \(3, 4\).*N = 2 comes from x"):
        rnn_forward(**dict(p, h0=np.zeros((3, 4))))
    with pytest.raises(TypeError, match="h0 must hold floats"):
        rnn_forward(**dict(p, h0=np.zeros((2, 4), dtype=np.int32)))


def test_rnn_backward_rejects_bad_inputs(sequence_inputs):
    h, cache = rnn_forward(**sequence_inputs)
    with pytest.raises(ValueError, match=r"dh has shape \(2, 4, 4\).*T = 5 comes from the cache"):
        rnn_backward(h[:, :4], cache)
    with pytest.raises(ValueError, match="dh must have 3 dimensions"):
        rnn_backward(h[:, -1], cache)
    with pytest.raises(TypeError, match="dh must hold floats"):
        rnn_backward(np.ones(h.shape, dtype=int), cache)
    with pytest.raises(TypeError, match="cache must be the cache returned by rnn_forward"):
        rnn_backward(h, cache[0])
    with pytest.raises(TypeError, match="cache must be the cache returned by rnn_forward"):
        rnn_backward(h, [tuple(c) for c in cache])
    with pytest.raises(ValueError, match="cache is an empty list"):
        rnn_backward(h, [])


def test_temporal_affine_rejects_bad_inputs():
    h, W, b = np.zeros((2, 3, 4)), np.zeros((4, 5)), np.zeros(5)
    with pytest.raises(ValueError, match=r"h has shape \(2, 3, 6\).*H = 4 comes from W"):
        temporal_affine_forward(np.zeros((2, 3, 6)), W, b)
    with pytest.raises(ValueError, match=r"b has shape \(4,\).*C = 5 comes from W"):
        temporal_affine_forward(h, W, np.zeros(4))
    with pytest.raises(ValueError, match="h must have 3 dimensions"):
        temporal_affine_forward(h[0], W, b)
    with pytest.raises(ValueError, match=r"T = 0 \(an empty sequence\)"):
        temporal_affine_forward(np.zeros((2, 0, 4)), W, b)
    with pytest.raises(TypeError, match="W must hold floats"):
        temporal_affine_forward(h, np.zeros((4, 5), dtype=int), b)

    out, cache = temporal_affine_forward(h, W, b)
    with pytest.raises(ValueError, match=r"dout has shape \(2, 3, 4\).*C = 5 comes from the cache"):
        temporal_affine_backward(np.zeros((2, 3, 4)), cache)
    with pytest.raises(TypeError, match="cache returned by temporal_affine_forward"):
        temporal_affine_backward(out, (h, W))
    ones = np.ones((1, 1))
    _, step_cache = rnn_step_forward(ones, ones, ones, ones, np.ones(1))
    with pytest.raises(TypeError, match="got StepCache"):
        temporal_affine_backward(out, step_cache)
    assert isinstance(cache, AffineCache) and isinstance(step_cache, StepCache)


def test_softmax_loss_rejects_bad_inputs():
    scores = np.zeros((2, 3, 4))
    y = np.zeros((2, 3), dtype=np.int64)
    bad = y.copy()
    bad[1, 2] = 4
    with pytest.raises(ValueError, match=r"y\[1, 2\] = 4 is not a class index.*\[0, 4\)"):
        temporal_softmax_loss(scores, bad)
    bad[1, 2] = -1
    with pytest.raises(ValueError, match=r"y\[1, 2\] = -1"):
        temporal_softmax_loss(scores, bad)
    with pytest.raises(TypeError, match="y must hold integers.*float64"):
        temporal_softmax_loss(scores, y.astype(np.float64))
    with pytest.raises(TypeError, match="y must hold integers.*bool"):
        temporal_softmax_loss(scores, y.astype(bool))
    with pytest.raises(ValueError, match=r"y has shape \(2, 4\).*T = 3 comes from scores"):
        temporal_softmax_loss(scores, np.zeros((2, 4), dtype=int))
    with pytest.raises(ValueError, match=r"mask has shape \(3, 2\).*N = 2 comes from scores"):
        temporal_softmax_loss(scores, y, np.ones((3, 2), dtype=bool))
    with pytest.raises(ValueError, match="mask must have 2 dimensions"):
        temporal_softmax_loss(scores, y, np.ones(6, dtype=bool))
    with pytest.raises(ValueError, match=r"mask must hold only 0 and 1.*0.5 at mask\[0, 1\]"):
        temporal_softmax_loss(scores, y, np.array([[1, 0.5, 1], [1, 1, 1]]))
    with pytest.raises(TypeError, match="mask must be a numpy array"):
        temporal_softmax_loss(scores, y, [[True] * 3] * 2)
    with pytest.raises(TypeError, match="scores must hold floats"):
        temporal_softmax_loss(scores.astype(int), y)
    with pytest.raises(ValueError, match=r"T = 0 \(an empty sequence\)"):
        temporal_softmax_loss(np.zeros((2, 0, 4)), np.zeros((2, 0), dtype=int))
