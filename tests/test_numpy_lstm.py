"""The numpy LSTM reference: equal to torch.nn in float64, gradients checked numerically,
the cell path exact, bad inputs refused."""

import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers.gradcheck import numerical_gradient, rel_error
from helpers.numpy_lstm import (
    LSTMStepCache,
    lstm_backward,
    lstm_forward,
    lstm_step_backward,
    lstm_step_forward,
)
from helpers.numpy_rnn import rnn_forward, rnn_step_forward

TORCH_TOLERANCE = 1e-10


def max_abs_diff(numpy_array, tensor):
    return float(np.max(np.abs(numpy_array - tensor.detach().numpy())))


def random_lstm(rng, N, T, D, H, scale=0.5):
    """Inputs, states and weights of a small LSTM; scale keeps the gates away from saturation."""
    return {
        "x": rng.standard_normal((N, T, D)),
        "h0": rng.standard_normal((N, H)) * scale,
        "Wx": rng.standard_normal((D, 4 * H)) * scale / np.sqrt(D),
        "Wh": rng.standard_normal((H, 4 * H)) * scale / np.sqrt(H),
        "b": rng.standard_normal(4 * H) * scale,
        "c0": rng.standard_normal((N, H)) * scale,
    }


def load_torch_weights(module, Wx, Wh, b_ih, b_hh, suffix=""):
    with torch.no_grad():
        getattr(module, "weight_ih" + suffix).copy_(torch.from_numpy(Wx.T))
        getattr(module, "weight_hh" + suffix).copy_(torch.from_numpy(Wh.T))
        getattr(module, "bias_ih" + suffix).copy_(torch.from_numpy(b_ih))
        getattr(module, "bias_hh" + suffix).copy_(torch.from_numpy(b_hh))
    return module


def torch_grads(module, suffix=""):
    names = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
    return [getattr(module, name + suffix).grad for name in names]


sizes = {
    "N": st.integers(1, 6),
    "T": st.integers(1, 30),
    "D": st.integers(1, 8),
    "H": st.integers(1, 8),
    "seed": st.integers(0, 2**32 - 1),
}


# --- equal to torch.nn in float64 -------------------------------------------------------


@settings(max_examples=30, deadline=None)
@given(**sizes)
def test_step_equals_torch_lstm_cell(N, T, D, H, seed):
    rng = np.random.default_rng(seed)
    p = random_lstm(rng, N, 1, D, H, scale=1.0)
    b_ih, b_hh = rng.standard_normal(4 * H), rng.standard_normal(4 * H)
    x, h_prev, c_prev = p["x"][:, 0], p["h0"], p["c0"]
    dh, dc = rng.standard_normal((N, H)), rng.standard_normal((N, H))

    h, c, cache = lstm_step_forward(x, h_prev, c_prev, p["Wx"], p["Wh"], b_ih + b_hh)
    dx, dh_prev, dc_prev, dWx, dWh, db = lstm_step_backward(dh, dc, cache)

    cell = torch.nn.LSTMCell(D, H, dtype=torch.float64)
    load_torch_weights(cell, p["Wx"], p["Wh"], b_ih, b_hh)
    x_t, h_prev_t, c_prev_t = (torch.from_numpy(a).requires_grad_() for a in (x, h_prev, c_prev))
    h_t, c_t = cell(x_t, (h_prev_t, c_prev_t))
    ((h_t * torch.from_numpy(dh)).sum() + (c_t * torch.from_numpy(dc)).sum()).backward()
    weight_ih_grad, weight_hh_grad, bias_ih_grad, bias_hh_grad = torch_grads(cell)

    assert h.dtype == np.float64 and c.dtype == np.float64
    assert max_abs_diff(h, h_t) <= TORCH_TOLERANCE
    assert max_abs_diff(c, c_t) <= TORCH_TOLERANCE
    assert max_abs_diff(dx, x_t.grad) <= TORCH_TOLERANCE
    assert max_abs_diff(dh_prev, h_prev_t.grad) <= TORCH_TOLERANCE
    assert max_abs_diff(dc_prev, c_prev_t.grad) <= TORCH_TOLERANCE
    assert max_abs_diff(dWx, weight_ih_grad.T) <= TORCH_TOLERANCE
    assert max_abs_diff(dWh, weight_hh_grad.T) <= TORCH_TOLERANCE
    # b = bias_ih + bias_hh, so each torch bias gets the whole gradient of b.
    assert max_abs_diff(db, bias_ih_grad) <= TORCH_TOLERANCE
    assert max_abs_diff(db, bias_hh_grad) <= TORCH_TOLERANCE


@settings(max_examples=30, deadline=None)
@given(**sizes, give_c0=st.booleans())
def test_sequence_equals_torch_lstm(N, T, D, H, seed, give_c0):
    rng = np.random.default_rng(seed)
    p = random_lstm(rng, N, T, D, H, scale=1.0)
    b_ih, b_hh = rng.standard_normal(4 * H), rng.standard_normal(4 * H)
    dh = rng.standard_normal((N, T, H))
    c0 = p["c0"] if give_c0 else None

    h, cache = lstm_forward(p["x"], p["h0"], p["Wx"], p["Wh"], b_ih + b_hh, c0=c0)
    dx, dh0, dWx, dWh, db = lstm_backward(dh, cache)

    lstm = torch.nn.LSTM(D, H, batch_first=True, dtype=torch.float64)
    load_torch_weights(lstm, p["Wx"], p["Wh"], b_ih, b_hh, suffix="_l0")
    x_t = torch.from_numpy(p["x"]).requires_grad_()
    h0_t = torch.from_numpy(p["h0"]).requires_grad_()
    c0_t = torch.zeros(1, N, H, dtype=torch.float64) if c0 is None else torch.from_numpy(c0)[None]
    out, (h_n, c_n) = lstm(x_t, (h0_t[None], c0_t))
    (out * torch.from_numpy(dh)).sum().backward()
    weight_ih_grad, weight_hh_grad, bias_ih_grad, bias_hh_grad = torch_grads(lstm, "_l0")

    assert h.shape == (N, T, H) and h.dtype == np.float64
    assert max_abs_diff(h, out) <= TORCH_TOLERANCE
    assert max_abs_diff(h[:, -1], h_n[0]) <= TORCH_TOLERANCE
    assert max_abs_diff(cache[-1].c, c_n[0]) <= TORCH_TOLERANCE
    assert max_abs_diff(dx, x_t.grad) <= TORCH_TOLERANCE
    assert max_abs_diff(dh0, h0_t.grad) <= TORCH_TOLERANCE
    assert max_abs_diff(dWx, weight_ih_grad.T) <= TORCH_TOLERANCE
    assert max_abs_diff(dWh, weight_hh_grad.T) <= TORCH_TOLERANCE
    assert max_abs_diff(db, bias_ih_grad) <= TORCH_TOLERANCE
    assert max_abs_diff(db, bias_hh_grad) <= TORCH_TOLERANCE


def test_step_backward_in_a_loop_gives_lstm_backward_and_the_gradient_on_c0():
    # lstm_backward does not return the gradient on c0; looping the step backward does,
    # and it must be torch's.
    rng = np.random.default_rng(4)
    N, T, D, H = 3, 6, 4, 5
    p = random_lstm(rng, N, T, D, H, scale=1.0)
    dh = rng.standard_normal((N, T, H))
    h, cache = lstm_forward(**p)
    expected = lstm_backward(dh, cache)

    dx = np.empty_like(p["x"])
    dWx, dWh, db = np.zeros_like(p["Wx"]), np.zeros_like(p["Wh"]), np.zeros_like(p["b"])
    dh_next, dc_next = np.zeros((N, H)), np.zeros((N, H))
    for t in reversed(range(T)):
        dx[:, t], dh_next, dc_next, dWx_t, dWh_t, db_t = lstm_step_backward(
            dh[:, t] + dh_next, dc_next, cache[t]
        )
        dWx, dWh, db = dWx + dWx_t, dWh + dWh_t, db + db_t
    for got, want in zip((dx, dh_next, dWx, dWh, db), expected):
        np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-15)

    lstm = torch.nn.LSTM(D, H, batch_first=True, dtype=torch.float64)
    load_torch_weights(lstm, p["Wx"], p["Wh"], p["b"], np.zeros(4 * H), suffix="_l0")
    c0_t = torch.from_numpy(p["c0"]).requires_grad_()
    out, _ = lstm(torch.from_numpy(p["x"]), (torch.from_numpy(p["h0"])[None], c0_t[None]))
    (out * torch.from_numpy(dh)).sum().backward()
    assert max_abs_diff(dc_next, c0_t.grad) <= TORCH_TOLERANCE


# --- central differences ----------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_step_backward_matches_central_differences(seed):
    rng = np.random.default_rng(seed)
    N, D, H = 4, 5, 3
    p = random_lstm(rng, N, 1, D, H)
    inputs = {"x": p["x"][:, 0].copy(), "h_prev": p["h0"], "c_prev": p["c0"]}
    inputs.update(Wx=p["Wx"], Wh=p["Wh"], b=p["b"])
    dh, dc = rng.standard_normal((N, H)), rng.standard_normal((N, H))

    _, _, cache = lstm_step_forward(**inputs)
    analytic = dict(zip(inputs, lstm_step_backward(dh, dc, cache)))

    # Both outputs at once: the gradient of sum(h * dh) + sum(c * dc).
    def h_and_c(_):
        h, c, _ = lstm_step_forward(**inputs)
        return np.concatenate([h, c], axis=1)

    for name, value in inputs.items():
        numeric = numerical_gradient(h_and_c, value, np.concatenate([dh, dc], axis=1))
        assert rel_error(analytic[name], numeric) < 1e-7, name


@pytest.mark.parametrize("seed", [0, 1])
def test_lstm_backward_matches_central_differences(seed):
    rng = np.random.default_rng(seed)
    N, T, D, H = 3, 6, 4, 3
    inputs = random_lstm(rng, N, T, D, H)
    c0 = inputs.pop("c0")
    dh = rng.standard_normal((N, T, H))

    _, cache = lstm_forward(**inputs, c0=c0)
    analytic = dict(zip(inputs, lstm_backward(dh, cache)))

    for name, value in inputs.items():
        numeric = numerical_gradient(lambda _: lstm_forward(**inputs, c0=c0)[0], value, dh)
        assert rel_error(analytic[name], numeric) < 1e-6, name


def test_lstm_backward_sends_gradient_back_through_time():
    # A loss on the last state only must still reach the first input and h0.
    rng = np.random.default_rng(3)
    inputs = random_lstm(rng, 2, 8, 3, 4)
    dh = np.zeros((2, 8, 4))
    dh[:, -1] = 1.0
    _, cache = lstm_forward(**inputs)
    dx, dh0, *_ = lstm_backward(dh, cache)
    assert np.all(np.abs(dx[:, 0]) > 0) and np.all(np.abs(dh0) > 0)
    numeric = numerical_gradient(lambda _: lstm_forward(**inputs)[0], inputs["x"], dh)
    assert rel_error(dx, numeric) < 1e-6


# --- the cell path ----------------------------------------------------------------------


@settings(max_examples=30, deadline=None)
@given(
    N=st.integers(1, 5), D=st.integers(1, 6), H=st.integers(1, 6), seed=st.integers(0, 2**32 - 1)
)
def test_cell_path_scales_the_gradient_by_the_forget_gate_exactly(N, D, H, seed):
    rng = np.random.default_rng(seed)
    p = random_lstm(rng, N, 1, D, H, scale=2.0)
    _, _, cache = lstm_step_forward(p["x"][:, 0], p["h0"], p["c0"], p["Wx"], p["Wh"], p["b"])
    dc = rng.standard_normal((N, H))
    _, _, dc_prev, *_ = lstm_step_backward(np.zeros((N, H)), dc, cache)
    np.testing.assert_array_equal(dc_prev, dc * cache.f)


def test_forget_gate_near_one_keeps_the_cell_gradient_over_many_steps():
    # A large forget bias (f ~ 1) and a loss on the last cell state only: the
    # gradient reaching c0 through 50 steps is still about what left c_T.
    rng = np.random.default_rng(5)
    N, T, D, H = 2, 50, 3, 4
    p = random_lstm(rng, N, T, D, H, scale=0.1)
    p["b"][H : 2 * H] = 20.0
    _, cache = lstm_forward(**p)
    dc = np.ones((N, H))
    for step in reversed(cache):
        _, _, dc, *_ = lstm_step_backward(np.zeros((N, H)), dc, step)
    forget = np.stack([step.f for step in cache], axis=1)
    np.testing.assert_allclose(dc, np.prod(forget, axis=1), rtol=1e-12)
    assert np.all(dc > 0.99)


# --- properties -------------------------------------------------------------------------


@settings(max_examples=30, deadline=None)
@given(
    N=st.integers(1, 4),
    T=st.integers(1, 15),
    D=st.integers(1, 6),
    H=st.integers(1, 6),
    seed=st.integers(0, 2**32 - 1),
    scale=st.sampled_from([0.1, 1.0, 10.0, 1e3]),
)
def test_lstm_forward_is_the_step_applied_in_a_loop_and_stays_in_range(N, T, D, H, seed, scale):
    rng = np.random.default_rng(seed)
    p = random_lstm(rng, N, T, D, H, scale=scale)
    h, cache = lstm_forward(**p)
    assert isinstance(cache, list) and len(cache) == T
    assert all(isinstance(step, LSTMStepCache) for step in cache)
    # Sigmoid and tanh saturate to exactly 0 or +-1 in floating point: closed ranges.
    assert np.all(np.abs(h) <= 1.0)
    gates = {name: np.stack([getattr(step, name) for step in cache], axis=1) for name in "ifgo"}
    for name in "ifo":
        assert gates[name].shape == (N, T, H)
        assert np.all((gates[name] >= 0) & (gates[name] <= 1))
    assert np.all(np.abs(gates["g"]) <= 1.0)

    h_t, c_t = p["h0"], p["c0"]
    for t in range(T):
        h_t, c_t, step = lstm_step_forward(p["x"][:, t], h_t, c_t, p["Wx"], p["Wh"], p["b"])
        np.testing.assert_array_equal(h[:, t], h_t)
        for got, want in zip(cache[t], step):
            np.testing.assert_array_equal(got, want)


def test_c0_none_means_zeros_and_a_given_c0_matters():
    rng = np.random.default_rng(6)
    p = random_lstm(rng, 2, 4, 3, 5)
    c0 = p.pop("c0")
    h_none, cache_none = lstm_forward(**p)
    h_zeros, cache_zeros = lstm_forward(**p, c0=np.zeros_like(c0))
    np.testing.assert_array_equal(h_none, h_zeros)
    np.testing.assert_array_equal(cache_none[0].c_prev, np.zeros_like(c0))
    for got, want in zip(
        lstm_backward(np.ones_like(h_none), cache_none),
        lstm_backward(np.ones_like(h_zeros), cache_zeros),
    ):
        np.testing.assert_array_equal(got, want)
    h_c0, cache_c0 = lstm_forward(**p, c0=c0)
    assert np.all(h_c0[:, 0] != h_none[:, 0])
    assert cache_c0[0].c_prev is c0


def test_cache_exposes_the_gates_as_they_are_defined():
    rng = np.random.default_rng(7)
    p = random_lstm(rng, 3, 1, 4, 5)
    H = 5
    x, h_prev, c_prev = p["x"][:, 0], p["h0"], p["c0"]
    h, c, cache = lstm_step_forward(x, h_prev, c_prev, p["Wx"], p["Wh"], p["b"])
    assert isinstance(cache, LSTMStepCache)
    a = x @ p["Wx"] + h_prev @ p["Wh"] + p["b"]
    sigmoid = 1 / (1 + np.exp(-a))
    np.testing.assert_allclose(cache.i, sigmoid[:, :H], rtol=1e-15)
    np.testing.assert_allclose(cache.f, sigmoid[:, H : 2 * H], rtol=1e-15)
    np.testing.assert_allclose(cache.g, np.tanh(a[:, 2 * H : 3 * H]), rtol=1e-15)
    np.testing.assert_allclose(cache.o, sigmoid[:, 3 * H :], rtol=1e-15)
    np.testing.assert_array_equal(c, cache.f * c_prev + cache.i * cache.g)
    np.testing.assert_array_equal(h, cache.o * np.tanh(c))


def test_huge_pre_activations_give_no_warning_and_no_nan():
    rng = np.random.default_rng(8)
    p = random_lstm(rng, 3, 5, 4, 6, scale=1e4)
    with warnings.catch_warnings(), np.errstate(over="raise", divide="raise", invalid="raise"):
        warnings.simplefilter("error")
        h, cache = lstm_forward(**p)
        grads = lstm_backward(rng.standard_normal(h.shape), cache)
        for dtype in (np.float32, np.float64):
            q = {name: value.astype(dtype) for name, value in p.items()}
            h32, cache32 = lstm_forward(**q)
            grads32 = lstm_backward(np.ones_like(h32), cache32)
            assert all(np.all(np.isfinite(a)) for a in (h32, cache32[-1].c, *grads32))
    assert all(np.all(np.isfinite(a)) for a in (h, cache[-1].c, *grads))
    # Almost every gate is saturated, to exactly 0 or 1.
    assert np.mean(np.isin([step.f for step in cache], (0.0, 1.0))) > 0.9


def test_dtypes_are_kept_and_promoted_never_downcast():
    rng = np.random.default_rng(0)
    p = random_lstm(rng, 2, 3, 4, 5)
    for dtype in (np.float32, np.float64, np.longdouble):
        q = {name: value.astype(dtype) for name, value in p.items()}
        h, cache = lstm_forward(**q)
        grads = lstm_backward(np.ones_like(h), cache)
        assert h.dtype == dtype and all(a.dtype == dtype for step in cache for a in step)
        assert all(g.dtype == dtype for g in grads)
        h_step, c_step, step_cache = lstm_step_forward(
            q["x"][:, 0], q["h0"], q["c0"], q["Wx"], q["Wh"], q["b"]
        )
        assert h_step.dtype == dtype and c_step.dtype == dtype
        step_grads = lstm_step_backward(np.ones_like(h_step), np.ones_like(c_step), step_cache)
        assert all(g.dtype == dtype for g in step_grads)

    # One float64 argument anywhere promotes everything, forward and backward.
    for name in p:
        mixed = {k: v.astype(np.float32) for k, v in p.items()}
        mixed[name] = p[name]
        h, cache = lstm_forward(**mixed)
        assert h.dtype == np.float64, name
        grads = lstm_backward(np.ones_like(h, dtype=np.float32), cache)
        assert all(g.dtype == np.float64 for g in grads), name
    q = {name: value.astype(np.float32) for name, value in p.items()}
    h, cache = lstm_forward(**q)
    assert all(g.dtype == np.float64 for g in lstm_backward(np.ones(h.shape), cache))
    _, _, step_cache = lstm_step_forward(q["x"][:, 0], q["h0"], q["c0"], q["Wx"], q["Wh"], q["b"])
    step_grads = lstm_step_backward(np.ones((2, 5), np.float32), np.ones((2, 5)), step_cache)
    assert all(g.dtype == np.float64 for g in step_grads)


# --- bad inputs -------------------------------------------------------------------------


@pytest.fixture
def step_inputs():
    p = random_lstm(np.random.default_rng(0), 2, 1, 3, 5)
    return {
        "x": p["x"][:, 0],
        "h_prev": p["h0"],
        "c_prev": p["c0"],
        "Wx": p["Wx"],
        "Wh": p["Wh"],
        "b": p["b"],
    }


@pytest.fixture
def sequence_inputs():
    return random_lstm(np.random.default_rng(0), 2, 4, 3, 5)


GATE_MESSAGE = r"the columns hold the four gates i, f, g, o, so 4H = 4 \* 5 with H = 5 from Wh"


@pytest.mark.parametrize("forward", ["step", "sequence"])
def test_forwards_reject_bad_weights(forward, step_inputs, sequence_inputs):
    p = step_inputs if forward == "step" else sequence_inputs
    call = lstm_step_forward if forward == "step" else lstm_forward

    def run(**changes):
        return call(**dict(p, **changes))

    expected = r"Wx has shape \(3, 12\), expected \(D, 4H\) = \(3, 20\): "
    with pytest.raises(ValueError, match=expected + GATE_MESSAGE):
        run(Wx=np.zeros((3, 12)))
    # A GRU's weight, 3H columns, passed by mistake.
    with pytest.raises(ValueError, match=r"Wx has shape \(3, 15\).*15 = 3H is the size a GRU has"):
        run(Wx=np.zeros((3, 15)))
    expected = r"Wh has shape \(5, 15\), expected \(H, 4H\) = \(5, 20\): "
    with pytest.raises(ValueError, match=expected + GATE_MESSAGE):
        run(Wh=np.zeros((5, 15)))
    # A vanilla RNN's (H, H) recurrent weights.
    with pytest.raises(ValueError, match=r"Wh has shape \(5, 5\).*5 = H is the size a vanilla RNN"):
        run(Wh=np.zeros((5, 5)))
    # Wh transposed: its rows say H = 20, so every 4H = 80.
    with pytest.raises(ValueError, match=r"Wh has shape \(20, 5\), expected \(H, 4H\) = \(20, 80"):
        run(Wh=np.zeros((20, 5)))
    with pytest.raises(ValueError, match=r"b has shape \(15,\), expected \(4H\) = \(20,\): the"):
        run(b=np.zeros(15))
    with pytest.raises(ValueError, match="b must have 1 dimensions"):
        run(b=np.zeros((1, 20)))
    with pytest.raises(ValueError, match="Wx must have 2 dimensions"):
        run(Wx=np.zeros(20))
    with pytest.raises(ValueError, match="Wh must have 2 dimensions"):
        run(Wh=np.zeros((5, 20, 1)))
    with pytest.raises(ValueError, match=r"Wh has shape \(0, 0\).*H = 0 \(an empty hidden state\)"):
        run(Wh=np.zeros((0, 0)))
    with pytest.raises(ValueError, match=r"Wx has shape \(0, 20\).*D = 0 \(an empty input\)"):
        run(Wx=np.zeros((0, 20)))
    with pytest.raises(TypeError, match="Wh must hold floats.*int64"):
        run(Wh=np.zeros((5, 20), dtype=np.int64))
    with pytest.raises(TypeError, match="Wx must be a numpy array.*tensor"):
        run(Wx=torch.zeros(3, 20))
    with pytest.raises(TypeError, match="b must be a numpy array.*list"):
        run(b=[0.0] * 20)


def test_step_forward_rejects_bad_data(step_inputs):
    p = step_inputs
    with pytest.raises(ValueError, match="x must have 2 dimensions"):
        lstm_step_forward(**dict(p, x=p["x"][:, None]))
    with pytest.raises(ValueError, match=r"x has shape \(2, 4\).*D = 3 comes from Wx"):
        lstm_step_forward(**dict(p, x=np.zeros((2, 4))))
    with pytest.raises(ValueError, match=r"h_prev has shape \(3, 5\).*N = 2 comes from x"):
        lstm_step_forward(**dict(p, h_prev=np.zeros((3, 5))))
    with pytest.raises(ValueError, match=r"h_prev has shape \(2, 4\).*H = 5 comes from Wh"):
        lstm_step_forward(**dict(p, h_prev=np.zeros((2, 4))))
    with pytest.raises(ValueError, match=r"c_prev has shape \(2, 6\).*H = 5 comes from Wh"):
        lstm_step_forward(**dict(p, c_prev=np.zeros((2, 6))))
    with pytest.raises(ValueError, match="c_prev must have 2 dimensions"):
        lstm_step_forward(**dict(p, c_prev=np.zeros(5)))
    with pytest.raises(ValueError, match=r"x has shape \(0, 3\).*N = 0 \(an empty batch\)"):
        lstm_step_forward(**dict(p, x=np.zeros((0, 3))))
    with pytest.raises(TypeError, match="x must hold floats.*int64"):
        lstm_step_forward(**dict(p, x=np.ones((2, 3), dtype=np.int64)))
    with pytest.raises(TypeError, match="c_prev must be a numpy array.*NoneType"):
        lstm_step_forward(**dict(p, c_prev=None))


def test_step_backward_rejects_bad_inputs(step_inputs):
    h, c, cache = lstm_step_forward(**step_inputs)
    with pytest.raises(ValueError, match=r"dh has shape \(2, 4\).*H = 5 comes from the cache"):
        lstm_step_backward(np.zeros((2, 4)), c, cache)
    with pytest.raises(ValueError, match=r"dc has shape \(3, 5\).*N = 2 comes from the cache"):
        lstm_step_backward(h, np.zeros((3, 5)), cache)
    with pytest.raises(ValueError, match="dh must have 2 dimensions"):
        lstm_step_backward(h[:, :, None], c, cache)
    with pytest.raises(TypeError, match="dc must hold floats"):
        lstm_step_backward(h, np.ones((2, 5), dtype=int), cache)
    with pytest.raises(TypeError, match="dc must be a numpy array.*NoneType"):
        lstm_step_backward(h, None, cache)
    with pytest.raises(TypeError, match="cache must be the cache returned by lstm_step_forward"):
        lstm_step_backward(h, c, tuple(cache))
    p = step_inputs
    _, sequence_cache = lstm_forward(p["x"][:, None], p["h_prev"], p["Wx"], p["Wh"], p["b"])
    with pytest.raises(TypeError, match="lstm_step_forward.*got list"):
        lstm_step_backward(h, c, sequence_cache)
    ones = np.ones((1, 1))
    _, rnn_cache = rnn_step_forward(ones, ones, ones, ones, np.ones(1))
    with pytest.raises(TypeError, match="lstm_step_forward.*got StepCache"):
        lstm_step_backward(h, c, rnn_cache)


def test_lstm_forward_rejects_bad_data(sequence_inputs):
    p = sequence_inputs
    with pytest.raises(ValueError, match=r"x has shape \(2, 0, 3\).*T = 0 \(an empty sequence\)"):
        lstm_forward(**dict(p, x=np.zeros((2, 0, 3))))
    with pytest.raises(ValueError, match=r"x has shape \(0, 4, 3\).*N = 0"):
        lstm_forward(**dict(p, x=np.zeros((0, 4, 3))))
    with pytest.raises(ValueError, match="x must have 3 dimensions"):
        lstm_forward(**dict(p, x=p["x"][:, 0]))
    with pytest.raises(ValueError, match=r"x has shape \(2, 4, 6\).*D = 3 comes from Wx"):
        lstm_forward(**dict(p, x=np.zeros((2, 4, 6))))
    with pytest.raises(ValueError, match=r"h0 has shape \(3, 5\).*N = 2 comes from x"):
        lstm_forward(**dict(p, h0=np.zeros((3, 5))))
    with pytest.raises(ValueError, match=r"c0 has shape \(2, 4\).*H = 5 comes from Wh"):
        lstm_forward(**dict(p, c0=np.zeros((2, 4))))
    with pytest.raises(ValueError, match="c0 must have 2 dimensions"):
        lstm_forward(**dict(p, c0=np.zeros((1, 2, 5))))
    with pytest.raises(TypeError, match="h0 must hold floats"):
        lstm_forward(**dict(p, h0=np.zeros((2, 5), dtype=np.int32)))
    with pytest.raises(TypeError, match="c0 must be a numpy array.*float"):
        lstm_forward(**dict(p, c0=0.0))


def test_lstm_backward_rejects_bad_inputs(sequence_inputs):
    h, cache = lstm_forward(**sequence_inputs)
    with pytest.raises(ValueError, match=r"dh has shape \(2, 3, 5\).*T = 4 comes from the cache"):
        lstm_backward(h[:, :3], cache)
    with pytest.raises(ValueError, match="dh must have 3 dimensions"):
        lstm_backward(h[:, -1], cache)
    with pytest.raises(TypeError, match="dh must hold floats"):
        lstm_backward(np.ones(h.shape, dtype=int), cache)
    with pytest.raises(TypeError, match="dh must be a numpy array.*list"):
        lstm_backward(h.tolist(), cache)
    with pytest.raises(TypeError, match="cache must be the cache returned by lstm_forward"):
        lstm_backward(h, tuple(cache))
    with pytest.raises(TypeError, match="lstm_forward.*got LSTMStepCache"):
        lstm_backward(h, cache[0])
    with pytest.raises(TypeError, match="lstm_forward.*a list of LSTMStepCache"):
        lstm_backward(h, [tuple(step) for step in cache])
    with pytest.raises(ValueError, match="cache is an empty list"):
        lstm_backward(h, [])
    rnn_inputs = {"x": sequence_inputs["x"], "h0": sequence_inputs["h0"], "b": np.zeros(5)}
    _, rnn_cache = rnn_forward(**rnn_inputs, Wx=np.zeros((3, 5)), Wh=np.zeros((5, 5)))
    with pytest.raises(TypeError, match="lstm_forward.*a list of LSTMStepCache"):
        lstm_backward(h, rnn_cache)
