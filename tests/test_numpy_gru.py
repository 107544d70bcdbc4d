"""The numpy GRU reference: PyTorch's GRU, equal to torch.nn in float64, gradients checked
numerically, bad inputs refused."""

import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers.gradcheck import numerical_gradient, rel_error
from helpers.numpy_gru import (
    GRUStepCache,
    gru_backward,
    gru_forward,
    gru_step_backward,
    gru_step_forward,
)
from helpers.numpy_lstm import lstm_forward, lstm_step_forward

TORCH_TOLERANCE = 1e-10


def max_abs_diff(numpy_array, tensor):
    return float(np.max(np.abs(numpy_array - tensor.detach().numpy())))


def random_gru(rng, N, T, D, H, scale=0.5):
    """Inputs and weights of a small GRU; scale keeps the gates away from saturation."""
    return {
        "x": rng.standard_normal((N, T, D)),
        "h0": rng.standard_normal((N, H)) * scale,
        "Wx": rng.standard_normal((D, 3 * H)) * scale / np.sqrt(D),
        "Wh": rng.standard_normal((H, 3 * H)) * scale / np.sqrt(H),
        "bx": rng.standard_normal(3 * H) * scale,
        "bh": rng.standard_normal(3 * H) * scale,
    }


def load_torch_weights(module, p, suffix=""):
    with torch.no_grad():
        getattr(module, "weight_ih" + suffix).copy_(torch.from_numpy(p["Wx"].T))
        getattr(module, "weight_hh" + suffix).copy_(torch.from_numpy(p["Wh"].T))
        getattr(module, "bias_ih" + suffix).copy_(torch.from_numpy(p["bx"]))
        getattr(module, "bias_hh" + suffix).copy_(torch.from_numpy(p["bh"]))
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
def test_step_equals_torch_gru_cell(N, T, D, H, seed):
    rng = np.random.default_rng(seed)
    p = random_gru(rng, N, 1, D, H, scale=1.0)
    x, h_prev = p["x"][:, 0], p["h0"]
    dh = rng.standard_normal((N, H))

    h, cache = gru_step_forward(x, h_prev, p["Wx"], p["Wh"], p["bx"], p["bh"])
    dx, dh_prev, dWx, dWh, dbx, dbh = gru_step_backward(dh, cache)

    cell = load_torch_weights(torch.nn.GRUCell(D, H, dtype=torch.float64), p)
    x_t, h_prev_t = (torch.from_numpy(a).requires_grad_() for a in (x, h_prev))
    h_t = cell(x_t, h_prev_t)
    (h_t * torch.from_numpy(dh)).sum().backward()
    weight_ih_grad, weight_hh_grad, bias_ih_grad, bias_hh_grad = torch_grads(cell)

    assert h.dtype == np.float64
    assert max_abs_diff(h, h_t) <= TORCH_TOLERANCE
    assert max_abs_diff(dx, x_t.grad) <= TORCH_TOLERANCE
    assert max_abs_diff(dh_prev, h_prev_t.grad) <= TORCH_TOLERANCE
    assert max_abs_diff(dWx, weight_ih_grad.T) <= TORCH_TOLERANCE
    assert max_abs_diff(dWh, weight_hh_grad.T) <= TORCH_TOLERANCE
    assert max_abs_diff(dbx, bias_ih_grad) <= TORCH_TOLERANCE
    assert max_abs_diff(dbh, bias_hh_grad) <= TORCH_TOLERANCE


@settings(max_examples=30, deadline=None)
@given(**sizes)
def test_sequence_equals_torch_gru(N, T, D, H, seed):
    rng = np.random.default_rng(seed)
    p = random_gru(rng, N, T, D, H, scale=1.0)
    dh = rng.standard_normal((N, T, H))

    h, cache = gru_forward(**p)
    dx, dh0, dWx, dWh, dbx, dbh = gru_backward(dh, cache)

    gru = load_torch_weights(torch.nn.GRU(D, H, batch_first=True, dtype=torch.float64), p, "_l0")
    x_t = torch.from_numpy(p["x"]).requires_grad_()
    h0_t = torch.from_numpy(p["h0"]).requires_grad_()
    out, h_n = gru(x_t, h0_t[None])
    (out * torch.from_numpy(dh)).sum().backward()
    weight_ih_grad, weight_hh_grad, bias_ih_grad, bias_hh_grad = torch_grads(gru, "_l0")

    assert h.shape == (N, T, H) and h.dtype == np.float64
    assert max_abs_diff(h, out) <= TORCH_TOLERANCE
    assert max_abs_diff(h[:, -1], h_n[0]) <= TORCH_TOLERANCE
    assert max_abs_diff(dx, x_t.grad) <= TORCH_TOLERANCE
    assert max_abs_diff(dh0, h0_t.grad) <= TORCH_TOLERANCE
    assert max_abs_diff(dWx, weight_ih_grad.T) <= TORCH_TOLERANCE
    assert max_abs_diff(dWh, weight_hh_grad.T) <= TORCH_TOLERANCE
    assert max_abs_diff(dbx, bias_ih_grad) <= TORCH_TOLERANCE
    assert max_abs_diff(dbh, bias_hh_grad) <= TORCH_TOLERANCE


# --- PyTorch's GRU, not the textbook one ------------------------------------------------


def test_reset_gate_is_applied_after_the_recurrent_product():
    rng = np.random.default_rng(9)
    N, D, H = 3, 4, 5
    p = random_gru(rng, N, 1, D, H, scale=1.0)
    x, h_prev = p["x"][:, 0], p["h0"]
    h, cache = gru_step_forward(x, h_prev, p["Wx"], p["Wh"], p["bx"], p["bh"])
    assert isinstance(cache, GRUStepCache)
    r, z = cache.r, cache.z
    Wx_n, Wh_n = p["Wx"][:, 2 * H :], p["Wh"][:, 2 * H :]
    bx_n, bh_n = p["bx"][2 * H :], p["bh"][2 * H :]

    pytorch_n = np.tanh(x @ Wx_n + bx_n + r * (h_prev @ Wh_n + bh_n))
    np.testing.assert_allclose(cache.n, pytorch_n, rtol=1e-14)
    np.testing.assert_allclose(h, (1 - z) * pytorch_n + z * h_prev, rtol=1e-14)
    # The textbook form, reset before the product, is another function of the same weights.
    textbook_n = np.tanh(x @ Wx_n + (r * h_prev) @ Wh_n + bx_n + bh_n)
    assert np.max(np.abs(cache.n - textbook_n)) > 1e-2


def test_the_two_biases_of_n_are_not_interchangeable():
    # bh_n is scaled by the reset gate and bx_n is not, so moving one into the other
    # changes the output (it would not for r and z, nor in the LSTM's single b).
    rng = np.random.default_rng(10)
    p = random_gru(rng, 2, 3, 4, 5, scale=1.0)
    h, _ = gru_forward(**p)
    for block, changes_h in ((slice(0, 10), False), (slice(10, 15), True)):
        moved = dict(p, bx=p["bx"].copy(), bh=p["bh"].copy())
        moved["bx"][block] += moved["bh"][block]
        moved["bh"][block] = 0.0
        h_moved, _ = gru_forward(**moved)
        assert (np.max(np.abs(h_moved - h)) > 1e-3) == changes_h


# --- central differences ----------------------------------------------------------------


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_step_backward_matches_central_differences(seed):
    rng = np.random.default_rng(seed)
    N, D, H = 4, 5, 3
    p = random_gru(rng, N, 1, D, H)
    inputs = {"x": p["x"][:, 0].copy(), "h_prev": p["h0"]}
    inputs.update(Wx=p["Wx"], Wh=p["Wh"], bx=p["bx"], bh=p["bh"])
    dh = rng.standard_normal((N, H))

    _, cache = gru_step_forward(**inputs)
    analytic = dict(zip(inputs, gru_step_backward(dh, cache)))

    for name, value in inputs.items():
        numeric = numerical_gradient(lambda _: gru_step_forward(**inputs)[0], value, dh)
        assert rel_error(analytic[name], numeric) < 1e-7, name


@pytest.mark.parametrize("seed", [0, 1])
def test_gru_backward_matches_central_differences(seed):
    rng = np.random.default_rng(seed)
    N, T, D, H = 3, 6, 4, 3
    inputs = random_gru(rng, N, T, D, H)
    dh = rng.standard_normal((N, T, H))

    _, cache = gru_forward(**inputs)
    analytic = dict(zip(inputs, gru_backward(dh, cache)))

    for name, value in inputs.items():
        numeric = numerical_gradient(lambda _: gru_forward(**inputs)[0], value, dh)
        assert rel_error(analytic[name], numeric) < 1e-6, name


def test_gru_backward_sends_gradient_back_through_time():
    # A loss on the last state only must still reach the first input and h0.
    rng = np.random.default_rng(3)
    inputs = random_gru(rng, 2, 8, 3, 4)
    dh = np.zeros((2, 8, 4))
    dh[:, -1] = 1.0
    _, cache = gru_forward(**inputs)
    dx, dh0, *_ = gru_backward(dh, cache)
    assert np.all(np.abs(dx[:, 0]) > 0) and np.all(np.abs(dh0) > 0)
    numeric = numerical_gradient(lambda _: gru_forward(**inputs)[0], inputs["x"], dh)
    assert rel_error(dx, numeric) < 1e-6


def test_update_gate_near_one_copies_the_state_and_its_gradient():
    # z ~ 1 keeps h_t = h_{t-1}: the state and the gradient pass many steps unchanged.
    rng = np.random.default_rng(11)
    N, T, D, H = 2, 40, 3, 4
    p = random_gru(rng, N, T, D, H, scale=0.1)
    p["bx"][H : 2 * H] = 40.0
    h, cache = gru_forward(**p)
    dh = np.zeros((N, T, H))
    dh[:, -1] = 1.0
    _, dh0, *_ = gru_backward(dh, cache)
    np.testing.assert_allclose(h[:, -1], p["h0"], rtol=1e-12)
    np.testing.assert_allclose(dh0, 1.0, rtol=1e-12)


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
def test_gru_forward_is_the_step_applied_in_a_loop_and_stays_in_range(N, T, D, H, seed, scale):
    rng = np.random.default_rng(seed)
    p = random_gru(rng, N, T, D, H, scale=scale)
    # Keep h0 in [-1, 1], where every later state lies: h_t is a mixture of n and h_{t-1}.
    p["h0"] = np.tanh(p["h0"])
    h, cache = gru_forward(**p)
    assert isinstance(cache, list) and len(cache) == T
    assert all(isinstance(step, GRUStepCache) for step in cache)
    assert np.all(np.abs(h) <= 1.0)
    gates = {name: np.stack([getattr(step, name) for step in cache], axis=1) for name in "rzn"}
    for name in "rz":
        assert gates[name].shape == (N, T, H)
        assert np.all((gates[name] >= 0) & (gates[name] <= 1))
    assert np.all(np.abs(gates["n"]) <= 1.0)

    h_t = p["h0"]
    for t in range(T):
        h_t, step = gru_step_forward(p["x"][:, t], h_t, p["Wx"], p["Wh"], p["bx"], p["bh"])
        np.testing.assert_array_equal(h[:, t], h_t)
        for got, want in zip(cache[t], step):
            np.testing.assert_array_equal(got, want)


def test_huge_pre_activations_give_no_warning_and_no_nan():
    rng = np.random.default_rng(8)
    p = random_gru(rng, 3, 5, 4, 6, scale=1e4)
    with warnings.catch_warnings(), np.errstate(over="raise", divide="raise", invalid="raise"):
        warnings.simplefilter("error")
        for dtype in (np.float32, np.float64):
            q = {name: value.astype(dtype) for name, value in p.items()}
            h, cache = gru_forward(**q)
            grads = gru_backward(np.ones_like(h), cache)
            assert all(np.all(np.isfinite(a)) for a in (h, *grads))
            # Almost every gate is saturated, to exactly 0 or 1.
            assert np.mean(np.isin([step.z for step in cache], (0.0, 1.0))) > 0.9


def test_dtypes_are_kept_and_promoted_never_downcast():
    rng = np.random.default_rng(0)
    p = random_gru(rng, 2, 3, 4, 5)
    for dtype in (np.float32, np.float64, np.longdouble):
        q = {name: value.astype(dtype) for name, value in p.items()}
        h, cache = gru_forward(**q)
        grads = gru_backward(np.ones_like(h), cache)
        assert h.dtype == dtype and all(a.dtype == dtype for step in cache for a in step)
        assert all(g.dtype == dtype for g in grads)
        h_step, step_cache = gru_step_forward(q["x"][:, 0], *list(q.values())[1:])
        assert h_step.dtype == dtype
        assert all(g.dtype == dtype for g in gru_step_backward(np.ones_like(h_step), step_cache))

    # One float64 argument anywhere promotes everything, forward and backward.
    for name in p:
        mixed = {k: v.astype(np.float32) for k, v in p.items()}
        mixed[name] = p[name]
        h, cache = gru_forward(**mixed)
        assert h.dtype == np.float64, name
        grads = gru_backward(np.ones_like(h, dtype=np.float32), cache)
        assert all(g.dtype == np.float64 for g in grads), name
    q = {name: value.astype(np.float32) for name, value in p.items()}
    h, cache = gru_forward(**q)
    assert all(g.dtype == np.float64 for g in gru_backward(np.ones(h.shape), cache))
    _, step_cache = gru_step_forward(q["x"][:, 0], *list(q.values())[1:])
    assert all(g.dtype == np.float64 for g in gru_step_backward(np.ones((2, 5)), step_cache))


# --- bad inputs -------------------------------------------------------------------------


@pytest.fixture
def step_inputs():
    p = random_gru(np.random.default_rng(0), 2, 1, 3, 5)
    return {"x": p["x"][:, 0], "h_prev": p.pop("h0"), **{k: v for k, v in p.items() if k != "x"}}


@pytest.fixture
def sequence_inputs():
    return random_gru(np.random.default_rng(0), 2, 4, 3, 5)


GATE_MESSAGE = r"the columns hold the three gates r, z, n, so 3H = 3 \* 5 with H = 5 from Wh"


@pytest.mark.parametrize("forward", ["step", "sequence"])
def test_forwards_reject_bad_weights(forward, step_inputs, sequence_inputs):
    p = step_inputs if forward == "step" else sequence_inputs
    call = gru_step_forward if forward == "step" else gru_forward

    def run(**changes):
        return call(**dict(p, **changes))

    expected = r"Wx has shape \(3, 12\), expected \(D, 3H\) = \(3, 15\): "
    with pytest.raises(ValueError, match=expected + GATE_MESSAGE):
        run(Wx=np.zeros((3, 12)))
    # An LSTM's weight, 4H columns, passed by mistake.
    with pytest.raises(ValueError, match=r"Wx has shape \(3, 20\).*20 = 4H is the size an LSTM"):
        run(Wx=np.zeros((3, 20)))
    expected = r"Wh has shape \(5, 20\), expected \(H, 3H\) = \(5, 15\): "
    with pytest.raises(ValueError, match=expected + GATE_MESSAGE):
        run(Wh=np.zeros((5, 20)))
    with pytest.raises(ValueError, match=r"bx has shape \(20,\), expected \(3H\) = \(15,\): the"):
        run(bx=np.zeros(20))
    with pytest.raises(ValueError, match=r"bh has shape \(5,\), expected \(3H\) = \(15,\): the"):
        run(bh=np.zeros(5))
    with pytest.raises(ValueError, match="bh must have 1 dimensions"):
        run(bh=np.zeros((3, 5)))
    with pytest.raises(ValueError, match="Wx must have 2 dimensions"):
        run(Wx=np.zeros((3, 5, 3)))
    with pytest.raises(ValueError, match=r"Wh has shape \(0, 0\).*H = 0 \(an empty hidden state\)"):
        run(Wh=np.zeros((0, 0)))
    with pytest.raises(ValueError, match=r"Wx has shape \(0, 15\).*D = 0 \(an empty input\)"):
        run(Wx=np.zeros((0, 15)))
    with pytest.raises(TypeError, match="bx must hold floats.*int64"):
        run(bx=np.zeros(15, dtype=np.int64))
    with pytest.raises(TypeError, match="Wh must be a numpy array.*tensor"):
        run(Wh=torch.zeros(5, 15))
    with pytest.raises(TypeError, match="bh must be a numpy array.*NoneType"):
        run(bh=None)


def test_step_forward_rejects_bad_data(step_inputs):
    p = step_inputs
    with pytest.raises(ValueError, match="x must have 2 dimensions"):
        gru_step_forward(**dict(p, x=p["x"][:, None]))
    with pytest.raises(ValueError, match=r"x has shape \(2, 4\).*D = 3 comes from Wx"):
        gru_step_forward(**dict(p, x=np.zeros((2, 4))))
    with pytest.raises(ValueError, match=r"h_prev has shape \(3, 5\).*N = 2 comes from x"):
        gru_step_forward(**dict(p, h_prev=np.zeros((3, 5))))
    with pytest.raises(ValueError, match=r"h_prev has shape \(2, 4\).*H = 5 comes from Wh"):
        gru_step_forward(**dict(p, h_prev=np.zeros((2, 4))))
    with pytest.raises(ValueError, match=r"x has shape \(0, 3\).*N = 0 \(an empty batch\)"):
        gru_step_forward(**dict(p, x=np.zeros((0, 3))))
    with pytest.raises(TypeError, match="x must hold floats.*int64"):
        gru_step_forward(**dict(p, x=np.ones((2, 3), dtype=np.int64)))
    with pytest.raises(TypeError, match="h_prev must be a numpy array.*list"):
        gru_step_forward(**dict(p, h_prev=p["h_prev"].tolist()))


def test_step_backward_rejects_bad_inputs(step_inputs):
    h, cache = gru_step_forward(**step_inputs)
    with pytest.raises(ValueError, match=r"dh has shape \(2, 4\).*H = 5 comes from the cache"):
        gru_step_backward(np.zeros((2, 4)), cache)
    with pytest.raises(ValueError, match=r"dh has shape \(3, 5\).*N = 2 comes from the cache"):
        gru_step_backward(np.zeros((3, 5)), cache)
    with pytest.raises(ValueError, match="dh must have 2 dimensions"):
        gru_step_backward(h[:, :, None], cache)
    with pytest.raises(TypeError, match="dh must hold floats"):
        gru_step_backward(np.ones((2, 5), dtype=int), cache)
    with pytest.raises(TypeError, match="cache must be the cache returned by gru_step_forward"):
        gru_step_backward(h, tuple(cache))
    p = step_inputs
    weights = p["Wx"], p["Wh"], p["bx"], p["bh"]
    _, sequence_cache = gru_forward(p["x"][:, None], p["h_prev"], *weights)
    with pytest.raises(TypeError, match="gru_step_forward.*got list"):
        gru_step_backward(h, sequence_cache)
    ones = np.ones((1, 1))
    four = np.ones((1, 4))
    _, _, lstm_cache = lstm_step_forward(ones, ones, ones, four, four, np.ones(4))
    with pytest.raises(TypeError, match="gru_step_forward.*got LSTMStepCache"):
        gru_step_backward(h, lstm_cache)


def test_gru_forward_rejects_bad_data(sequence_inputs):
    p = sequence_inputs
    with pytest.raises(ValueError, match=r"x has shape \(2, 0, 3\).*T = 0 \(an empty sequence\)"):
        gru_forward(**dict(p, x=np.zeros((2, 0, 3))))
    with pytest.raises(ValueError, match=r"x has shape \(0, 4, 3\).*N = 0"):
        gru_forward(**dict(p, x=np.zeros((0, 4, 3))))
    with pytest.raises(ValueError, match="x must have 3 dimensions"):
        gru_forward(**dict(p, x=p["x"][:, 0]))
    with pytest.raises(ValueError, match=r"x has shape \(2, 4, 6\).*D = 3 comes from Wx"):
        gru_forward(**dict(p, x=np.zeros((2, 4, 6))))
    with pytest.raises(ValueError, match=r"h0 has shape \(3, 5\).*N = 2 comes from x"):
        gru_forward(**dict(p, h0=np.zeros((3, 5))))
    with pytest.raises(ValueError, match=r"h0 has shape \(2, 6\).*H = 5 comes from Wh"):
        gru_forward(**dict(p, h0=np.zeros((2, 6))))
    with pytest.raises(TypeError, match="h0 must hold floats"):
        gru_forward(**dict(p, h0=np.zeros((2, 5), dtype=np.int32)))


def test_gru_backward_rejects_bad_inputs(sequence_inputs):
    h, cache = gru_forward(**sequence_inputs)
    with pytest.raises(ValueError, match=r"dh has shape \(2, 3, 5\).*T = 4 comes from the cache"):
        gru_backward(h[:, :3], cache)
    with pytest.raises(ValueError, match="dh must have 3 dimensions"):
        gru_backward(h[:, -1], cache)
    with pytest.raises(TypeError, match="dh must hold floats"):
        gru_backward(np.ones(h.shape, dtype=int), cache)
    with pytest.raises(TypeError, match="dh must be a numpy array.*float"):
        gru_backward(1.0, cache)
    with pytest.raises(TypeError, match="cache must be the cache returned by gru_forward"):
        gru_backward(h, tuple(cache))
    with pytest.raises(TypeError, match="gru_forward.*got GRUStepCache"):
        gru_backward(h, cache[0])
    with pytest.raises(TypeError, match="gru_forward.*a list of GRUStepCache"):
        gru_backward(h, [tuple(step) for step in cache])
    with pytest.raises(ValueError, match="cache is an empty list"):
        gru_backward(h, [])
    ones = np.ones((1, 1, 1))
    four = np.ones((1, 4))
    _, lstm_cache = lstm_forward(ones, ones[0], four, four, np.ones(4))
    with pytest.raises(TypeError, match="gru_forward.*a list of GRUStepCache"):
        gru_backward(h, lstm_cache)
