"""helpers.experiments and set_forget_bias: the models and runs behind the unit comparison."""

import math

import pytest
import torch

from helpers import experiments, layers, modules, text_models
from helpers.experiments import (
    LastStateRegressor,
    TokenTagger,
    run_adding,
    run_copy,
    train_adding,
)
from helpers.layers import count_parameters, recurrent_layer
from helpers.modules import set_forget_bias
from helpers.training import EarlyStopping


def forget_gate_at_rest(lstm):
    """The forget gate of every layer and direction for zero input and zero state: sigma(bias)."""
    H = lstm.hidden_size
    named = dict(lstm.named_parameters())
    return {
        name.replace("bias_ih", ""): torch.sigmoid(
            bias[H : 2 * H] + named[name.replace("ih", "hh")][H : 2 * H]
        )
        for name, bias in named.items()
        if name.startswith("bias_ih")
    }


@pytest.mark.parametrize("cls", [torch.nn.LSTM, modules.LSTM])
@pytest.mark.parametrize("value", [1.0, -2.5, 0])
def test_set_forget_bias_sets_the_total_forget_bias_of_every_layer_and_direction(cls, value):
    torch.manual_seed(0)
    lstm = cls(3, 5, num_layers=2, bidirectional=True)
    before = {name: p.detach().clone() for name, p in lstm.named_parameters()}
    assert set_forget_bias(lstm, value) is lstm
    gates = forget_gate_at_rest(lstm)
    assert len(gates) == 4  # two layers, two directions
    for gate in gates.values():
        torch.testing.assert_close(gate, torch.full((5,), 1 / (1 + math.exp(-value))))
    for name, parameter in lstm.named_parameters():
        if name.startswith("bias"):
            keep = torch.cat([torch.arange(0, 5), torch.arange(10, 20)])
            assert torch.equal(parameter[keep], before[name][keep]), f"{name}: other gates changed"
        else:
            assert torch.equal(parameter, before[name]), f"{name} changed"


def test_set_forget_bias_makes_the_cell_keep_sigmoid_of_the_bias_at_rest():
    # With zero input and zero hidden state, dc_t / dc_{t-1} is the forget gate sigma(bias).
    cell = set_forget_bias(modules.LSTMCell(2, 4, dtype=torch.float64), 1.0)
    c_prev = torch.zeros(1, 4, dtype=torch.float64, requires_grad=True)
    _, c = cell(
        torch.zeros(1, 2, dtype=torch.float64), (torch.zeros(1, 4, dtype=torch.float64), c_prev)
    )
    c.sum().backward()
    torch.testing.assert_close(
        c_prev.grad, torch.full((1, 4), 1 / (1 + math.exp(-1.0)), dtype=torch.float64)
    )


@pytest.mark.parametrize(
    "arguments, error, match",
    [
        ((torch.nn.GRU(2, 3), 1.0), TypeError, "lstm must be an LSTM or LSTMCell"),
        ((torch.nn.LSTM(2, 3, bias=False), 1.0), ValueError, "bias=False"),
        ((torch.nn.LSTM(2, 3), "1"), TypeError, "value must be a real number"),
        ((torch.nn.LSTM(2, 3), True), TypeError, "value must be a real number"),
        ((torch.nn.LSTM(2, 3), float("inf")), ValueError, "value must be finite"),
    ],
)
def test_set_forget_bias_rejects_bad_arguments(arguments, error, match):
    with pytest.raises(error, match=match):
        set_forget_bias(*arguments)


@pytest.mark.parametrize("unit", ["RNN", "LSTM", "GRU"])
def test_recurrent_layer_builds_the_same_batch_first_layer_from_torch_and_from_scratch(unit):
    torch.manual_seed(3)
    theirs = recurrent_layer(unit, 2, 6, implementation="torch", dtype=torch.float64)
    torch.manual_seed(3)
    ours = recurrent_layer(unit, 2, 6, implementation="scratch", dtype=torch.float64)
    assert isinstance(theirs, getattr(torch.nn, unit)) and isinstance(ours, getattr(modules, unit))
    assert theirs.batch_first and ours.batch_first
    x = torch.randn(4, 7, 2, dtype=torch.float64)
    torch.testing.assert_close(ours(x)[0], theirs(x)[0], rtol=0, atol=1e-12)


@pytest.mark.parametrize("unit, multiple", [("RNN", 1), ("LSTM", 4), ("GRU", 3)])
def test_count_parameters_gives_the_gate_multiple_of_h_times_d_plus_h_plus_2(unit, multiple):
    D, H = 5, 7
    assert count_parameters(recurrent_layer(unit, D, H)) == multiple * H * (D + H + 2)


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(unit="LSTMX", input_size=2, hidden_size=3), ValueError, "unit must be one of"),
        (
            dict(unit="GRU", input_size=2, hidden_size=3, forget_bias=1.0),
            ValueError,
            "forget_bias applies to an LSTM only",
        ),
        (
            dict(unit="RNN", input_size=2, hidden_size=3, implementation="cudnn"),
            ValueError,
            "implementation must be one of",
        ),
    ],
)
def test_recurrent_layer_rejects_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        recurrent_layer(**kwargs)


def test_models_have_the_shapes_of_their_tasks():
    regressor = LastStateRegressor("GRU", 2, 8)
    assert regressor(torch.rand(5, 9, 2)).shape == (5, 1)
    tagger = TokenTagger("LSTM", 10, 8)
    assert tagger(torch.randint(0, 10, (5, 9))).shape == (5, 9, 10)


def test_run_adding_learns_a_short_problem_and_is_reproducible():
    first = run_adding("GRU", 10, seed=0, train_size=1000, epochs=8)
    again = run_adding("GRU", 10, seed=0, train_size=1000, epochs=8)
    assert first["test_mse"] == again["test_mse"]
    assert first["val_mse"] == again["val_mse"]
    # After 160 steps the GRU is far better than always answering 1 on the test split.
    assert first["test_mse"] < 0.2 * first["baseline_mse"]
    assert first["baseline_mse"] == pytest.approx(1 / 6, abs=0.02)
    assert first["steps"] == 8 * 20 and len(first["val_mse"]) == 8
    assert first["parameters"] == 3 * 32 * (2 + 32 + 2) + 33
    assert isinstance(first["model"], LastStateRegressor)


def test_run_adding_from_scratch_follows_torch_nn_from_the_same_seed():
    theirs = run_adding("GRU", 8, seed=1, train_size=200, epochs=2, hidden_size=8)
    ours = run_adding(
        "GRU", 8, seed=1, train_size=200, epochs=2, hidden_size=8, implementation="scratch"
    )
    assert ours["val_mse"] == pytest.approx(theirs["val_mse"], rel=1e-4)


def test_run_copy_scores_the_copied_symbols_against_the_memoryless_baseline():
    result = run_copy("GRU", 3, seed=0, copy_length=2, train_size=500, epochs=2, hidden_size=16)
    assert 0.0 <= result["test_accuracy"] <= 1.0
    assert result["baseline_loss"] == pytest.approx(2 * math.log(8) / 7)
    assert result["val_loss"][-1] < result["val_loss"][0]
    assert len(result["val_accuracy"]) == 2


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (dict(unit="RNN", length=1, seed=0), ValueError, "length must be an int >= 2"),
        (
            dict(unit="RNN", length=10, seed=-1),
            ValueError,
            r"seed must be an int in \[0, 2\*\*32\), got int -1",
        ),
        (
            dict(unit="RNN", length=10, seed=2**32),
            ValueError,
            r"seed must be an int in \[0, 2\*\*32\)",
        ),
        (
            dict(unit="RNN", length=10, seed=1.5),
            TypeError,
            r"seed must be an int in \[0, 2\*\*32\), got float 1.5",
        ),
        (
            dict(unit="RNN", length=10, seed=True),
            TypeError,
            r"seed must be an int in \[0, 2\*\*32\), got bool True",
        ),
        (dict(unit="RNN", length=10, seed=0, lr=0), ValueError, "lr must be a finite number > 0"),
        (dict(unit="Transformer", length=10, seed=0), ValueError, "unit must be one of"),
    ],
)
def test_run_adding_rejects_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        run_adding(**kwargs)


def test_the_layer_factory_lives_in_helpers_layers_and_old_imports_still_work():
    for name in ("UNITS", "IMPLEMENTATIONS", "recurrent_layer", "count_parameters"):
        assert getattr(experiments, name) is getattr(layers, name)
        assert name in experiments.__all__
    assert experiments.text_model_parts is text_models.text_model_parts


def test_train_adding_trains_a_model_of_your_own_like_run_adding_trains_its_own():
    built = run_adding("GRU", 8, seed=2, train_size=200, epochs=2, hidden_size=8)
    torch.manual_seed(2)
    own = LastStateRegressor("GRU", 2, 8)
    result = train_adding(own, 8, seed=2, train_size=200, epochs=2)
    assert result["val_mse"] == built["val_mse"] and result["test_mse"] == built["test_mse"]
    assert result["model"] is own and "unit" not in result


def test_train_adding_rejects_what_is_not_a_module():
    with pytest.raises(TypeError, match="model must be a torch.nn.Module"):
        train_adding(lambda x: x, 8, seed=0)


def test_early_stopping_keeps_the_best_epoch_and_records_both_curves():
    fixed = run_adding("GRU", 8, seed=4, train_size=200, epochs=4, hidden_size=8)
    stopped = run_adding(
        "GRU",
        8,
        seed=4,
        train_size=200,
        epochs=4,
        hidden_size=8,
        early_stopping=EarlyStopping(patience=1),
    )
    # the same first epochs; training ends after the first epoch without improvement
    assert stopped["val_mse"] == fixed["val_mse"][: len(stopped["val_mse"])]
    assert len(stopped["train_mse"]) == len(stopped["val_mse"])
    best = 1 + min(range(len(stopped["val_mse"])), key=stopped["val_mse"].__getitem__)
    assert stopped["best_epoch"] == best
    assert stopped["stopped_early"] == (len(stopped["val_mse"]) < 4)
    assert "best_epoch" not in fixed and len(fixed["train_mse"]) == 4


def test_run_copy_with_early_stopping_scores_the_best_epoch():
    result = run_copy(
        "LSTM",
        3,
        seed=0,
        copy_length=2,
        train_size=300,
        epochs=3,
        hidden_size=8,
        early_stopping=EarlyStopping(patience=3),
    )
    assert len(result["train_loss"]) == 3 and result["best_epoch"] in (1, 2, 3)
    assert result["stopped_early"] is False
