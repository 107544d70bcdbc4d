"""helpers.gru_conventions: the GRU of Chung et al. (reset before the product) next to PyTorch's."""

import json

import numpy as np
import pytest
import torch

from helpers.artefacts import load_artefact
from helpers.evidence import paired_difference
from helpers.gru_conventions import (
    CONVENTIONS,
    SEEDS,
    ResetBeforeGRU,
    convention_run,
    model_from_weights,
)
from helpers.modules import GRU


def sigmoid(a):
    return 1 / (1 + np.exp(-a))


def chung_gru_numpy(x, W_ih, W_hh, b_ih, b_hh):
    """Chung et al. (2014), eq. 5-8, written out in numpy from the paper: x (T, N, D)."""
    H = W_hh.shape[1]
    h = np.zeros((x.shape[1], H))
    outputs = []
    for x_t in x:
        a = x_t @ W_ih.T + b_ih
        r = sigmoid(a[:, :H] + h @ W_hh[:H].T + b_hh[:H])
        z = sigmoid(a[:, H : 2 * H] + h @ W_hh[H : 2 * H].T + b_hh[H : 2 * H])
        h_tilde = np.tanh(a[:, 2 * H :] + (r * h) @ W_hh[2 * H :].T + b_hh[2 * H :])
        h = (1 - z) * h + z * h_tilde
        outputs.append(h)
    return np.stack(outputs)


def test_reset_before_gru_computes_the_form_of_chung_et_al():
    torch.manual_seed(0)
    layer = ResetBeforeGRU(3, 4, dtype=torch.float64)
    x = torch.randn(6, 2, 3, dtype=torch.float64)
    output, h_n = layer(x)
    weights = {name: p.detach().numpy() for name, p in layer.named_parameters()}
    expected = chung_gru_numpy(
        x.numpy(),
        weights["weight_ih_l0"],
        weights["weight_hh_l0"],
        weights["bias_ih_l0"],
        weights["bias_hh_l0"],
    )
    np.testing.assert_allclose(output.detach().numpy(), expected, rtol=0, atol=1e-12)
    np.testing.assert_allclose(h_n[0].detach().numpy(), expected[-1], rtol=0, atol=1e-12)


def test_with_the_reset_gate_open_the_two_forms_differ_only_by_relabelling_z():
    torch.manual_seed(1)
    pytorch_form = GRU(3, 4, dtype=torch.float64)
    chung_form = ResetBeforeGRU(3, 4, dtype=torch.float64)
    with torch.no_grad():
        pytorch_form.bias_ih_l0[:4] = 60.0  # r = 1
        pytorch_form.bias_ih_l0[8:] += pytorch_form.bias_hh_l0[8:]  # b_hn out of the product
        pytorch_form.bias_hh_l0[8:] = 0.0
        chung_form.load_state_dict(pytorch_form.state_dict())
        for parameter in chung_form.parameters():  # sigma(-a) = 1 - sigma(a)
            parameter[4:8] *= -1
    x = torch.randn(5, 2, 3, dtype=torch.float64)
    torch.testing.assert_close(chung_form(x)[0], pytorch_form(x)[0], rtol=0, atol=1e-12)
    with torch.no_grad():  # with the reset gate at work they are different functions
        pytorch_form.bias_ih_l0[:4] = 0.0
        chung_form.bias_ih_l0[:4] = 0.0
    assert (chung_form(x)[0] - pytorch_form(x)[0]).abs().max() > 1e-3


def test_both_conventions_start_from_the_same_weights_and_data():
    torch.set_num_threads(1)
    runs = {
        c: convention_run(c, seed=2, length=8, max_epochs=1, keep_model=True) for c in CONVENTIONS
    }
    # after one epoch from the same start the two differ, but not in their parameter shapes
    shapes = [{k: v.shape for k, v in runs[c]["model"].state_dict().items()} for c in CONVENTIONS]
    assert shapes[0] == shapes[1]
    assert runs["reset after"]["baseline_mse"] == runs["reset before"]["baseline_mse"]
    assert runs["reset after"]["val_loss"] != runs["reset before"]["val_loss"]
    assert isinstance(runs["reset before"]["model"].rnn, ResetBeforeGRU)
    again = convention_run("reset before", seed=2, length=8, max_epochs=1)
    assert again["val_loss"] == runs["reset before"]["val_loss"] and "model" not in again


def test_stored_weights_give_back_the_trained_model():
    torch.set_num_threads(1)
    run = convention_run(
        "reset after", seed=0, length=8, max_epochs=1, keep_model=True, store_weights=True
    )
    json.dumps({k: v for k, v in run.items() if k != "model"})
    rebuilt = model_from_weights(run["weights"])
    x = torch.rand(5, 8, 2)
    with torch.no_grad():
        torch.testing.assert_close(rebuilt(x), run["model"].eval()(x), rtol=0, atol=0)


def test_convention_run_rejects_an_unknown_convention():
    with pytest.raises(ValueError, match="convention must be one of"):
        convention_run("reset in the middle", seed=0)


def test_the_committed_comparison_has_both_forms_for_every_seed():
    artefact = load_artefact("gru_conventions")
    assert artefact["provenance"]["command"] == "make experiments ONLY=gru_conventions"
    runs = artefact["runs"]
    assert {(r["convention"], r["seed"]) for r in runs} == {
        (c, s) for c in CONVENTIONS for s in SEEDS
    }
    test = artefact["summary"]["test_mse"]
    for convention in CONVENTIONS:
        assert test[convention] == [r["test_mse"] for r in runs if r["convention"] == convention]
    difference = paired_difference(
        test["reset before"], test["reset after"], names=("reset before", "reset after")
    )
    assert artefact["summary"]["difference"] == str(difference)
    assert sum("weights" in r for r in runs) == 1
