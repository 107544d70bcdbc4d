"""helpers.initialisation: the recurrent initialisations, the spectral radius and norm, matrix powers."""

import numpy as np
import pytest
import torch

import helpers.modules
from helpers.initialisation import (
    initialise_recurrent,
    largest_singular_value,
    power_norms,
    spectral_radius,
)


def test_pytorch_default_has_spectral_radius_near_0_6_and_singular_value_near_1():
    radii, norms = [], []
    for seed in range(10):
        torch.manual_seed(seed)
        W = torch.nn.RNN(2, 32).weight_hh_l0
        radii.append(spectral_radius(W))
        norms.append(largest_singular_value(W))
    assert 0.5 < np.mean(radii) < 0.7  # the circular law: about 1/sqrt(3) = 0.58
    # entries uniform on +-1/sqrt(H) have variance 1/(3H), and the largest singular value of
    # an H x H matrix of such entries is about 2 sqrt(H/(3H)) = 2/sqrt(3) = 1.15 (a bit less at H 32)
    assert 1.0 < np.mean(norms) < 1.2
    assert all(r <= s + 1e-12 for r, s in zip(radii, norms))


@pytest.mark.parametrize("module", [torch.nn.RNN, helpers.modules.RNN])
def test_orthogonal_gives_an_orthogonal_matrix(module):
    torch.manual_seed(0)
    rnn = initialise_recurrent(module(3, 16), "orthogonal")
    W = rnn.weight_hh_l0.detach().double()
    torch.testing.assert_close(W @ W.T, torch.eye(16, dtype=torch.float64), atol=1e-5, rtol=0)
    assert spectral_radius(W) == pytest.approx(1.0, abs=1e-5)
    assert largest_singular_value(W) == pytest.approx(1.0, abs=1e-5)


def test_orthogonal_follows_the_generator():
    a = initialise_recurrent(
        torch.nn.RNN(3, 8), "orthogonal", generator=torch.Generator().manual_seed(4)
    ).weight_hh_l0
    b = initialise_recurrent(
        torch.nn.RNN(3, 8), "orthogonal", generator=torch.Generator().manual_seed(4)
    ).weight_hh_l0
    torch.testing.assert_close(a, b)


def test_identity_sets_the_identity_and_zero_biases():
    rnn = initialise_recurrent(torch.nn.RNN(3, 8, nonlinearity="relu"), "identity")
    torch.testing.assert_close(rnn.weight_hh_l0.detach(), torch.eye(8))
    assert not rnn.bias_ih_l0.any() and not rnn.bias_hh_l0.any()
    # with zero input the state is carried forward unchanged
    h0 = torch.rand(1, 1, 8)
    _, h = rnn(torch.zeros(5, 1, 3), h0)  # (T, N, D): 5 steps of one sequence
    torch.testing.assert_close(h, h0)


def test_radius_rescales_to_the_requested_spectral_radius():
    torch.manual_seed(0)
    rnn = torch.nn.RNN(2, 32)
    before = rnn.weight_hh_l0.detach().clone()
    initialise_recurrent(rnn, "radius", radius=1.5)
    assert spectral_radius(rnn.weight_hh_l0) == pytest.approx(1.5, rel=1e-5)
    ratio = rnn.weight_hh_l0.detach() / before
    torch.testing.assert_close(ratio, torch.full_like(ratio, ratio[0, 0].item()))


def test_default_changes_nothing():
    torch.manual_seed(0)
    rnn = torch.nn.RNN(2, 8)
    state = {k: v.clone() for k, v in rnn.state_dict().items()}
    initialise_recurrent(rnn, "default")
    for k, v in rnn.state_dict().items():
        torch.testing.assert_close(v, state[k])


def test_power_norms_are_the_norms_of_matrix_powers():
    rng = np.random.default_rng(0)
    W = rng.standard_normal((6, 6)) / 3
    norms = power_norms(torch.from_numpy(W), 7)
    assert len(norms) == 8 and norms[0] == 1.0
    for g in range(8):
        assert norms[g] == pytest.approx(np.linalg.norm(np.linalg.matrix_power(W, g), 2), rel=1e-10)


def test_a_non_normal_matrix_grows_although_its_spectral_radius_is_below_1():
    shear = 0.9 * torch.eye(32, dtype=torch.float64) + 0.2 * torch.diag(torch.ones(31), 1).double()
    assert spectral_radius(shear) == pytest.approx(0.9)
    assert largest_singular_value(shear) > 1
    assert power_norms(shear, 100)[100] > 1e3


@pytest.mark.parametrize(
    "call, message",
    [
        (
            lambda: initialise_recurrent(torch.nn.LSTM(2, 4), "identity"),
            "rnn must be a torch.nn.RNN",
        ),
        (lambda: initialise_recurrent(torch.nn.RNN(2, 4, num_layers=2), "identity"), "one layer"),
        (lambda: initialise_recurrent(torch.nn.RNN(2, 4), "eye"), "scheme must be one of"),
        (lambda: initialise_recurrent(torch.nn.RNN(2, 4), "radius"), "needs radius"),
        (
            lambda: initialise_recurrent(torch.nn.RNN(2, 4), "identity", radius=1.0),
            "radius applies",
        ),
        (lambda: spectral_radius(torch.zeros(2, 3)), r"square matrix \(H, H\)"),
        (lambda: power_norms(torch.eye(2), -1), "steps must be an int >= 0"),
    ],
)
def test_bad_arguments_are_named(call, message):
    with pytest.raises((TypeError, ValueError), match=message):
        call()
