"""helpers.adding_runs: the adding-problem runs behind the chapters on vanishing gradients and the LSTM."""

import math

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from helpers.adding_runs import (
    adding_model,
    adding_run,
    adding_splits,
    choose_on_validation,
    count_below,
    draw_baselines,
    first_epoch_below,
    fit_adding,
    mean_baselines,
    state_gradient_norms,
)
from helpers.experiments import LastStateRegressor
from helpers.tasks import adding_problem, make_loader, task_splits
from helpers.training import evaluate


def test_the_default_model_of_a_seed_is_run_addings():
    torch.manual_seed(3)
    theirs = LastStateRegressor("LSTM", 2, 32)
    ours = adding_model("LSTM", seed=3)
    for (name, a), (_, b) in zip(theirs.state_dict().items(), ours.state_dict().items()):
        torch.testing.assert_close(a, b, msg=name)


def test_the_splits_are_those_of_train_adding_and_disjoint_draws():
    ours = adding_splits(10, seed=1)
    theirs = task_splits(adding_problem, (10_000, 1_000, 2_000), seed=1, length=10)
    for name in ours:
        torch.testing.assert_close(ours[name][0], theirs[name][0])
    # independent draws: no sequence of one split appears in another
    rows = {name: {tuple(x.flatten().tolist()) for x in ours[name][0][:500]} for name in ours}
    assert not rows["train"] & rows["validation"] and not rows["train"] & rows["test"]
    assert not rows["validation"] & rows["test"]


def test_the_identity_relu_model_starts_with_the_identity():
    model = adding_model("RNN", seed=0, init="identity", nonlinearity="relu")
    assert model.rnn.nonlinearity == "relu"
    torch.testing.assert_close(model.rnn.weight_hh_l0.detach(), torch.eye(32))


def test_fit_adding_keeps_the_best_validation_epoch_and_scores_it_on_test():
    model = adding_model("RNN", seed=0)
    result = fit_adding(model, 4, seed=0, epochs=3, lr=1e-2, batch_size=1000)
    assert len(result["val_mse"]) == len(result["train_mse"]) == len(result["max_grad_norm"]) == 3
    assert result["steps"] == 30 and not result["diverged"]
    assert result["best_epoch"] == int(np.argmin(result["val_mse"])) + 1
    assert result["best_val_mse"] == min(result["val_mse"])
    splits = adding_splits(4, seed=0)
    for name in ("validation", "test"):
        assert result["baselines"][name]["constant"] == pytest.approx(
            F.mse_loss(torch.ones_like(splits[name][1]), splits[name][1]).item(), rel=1e-5
        )
    scores = {
        name: evaluate(
            result["model"], make_loader(*splits[name], batch_size=1000, shuffle=False), F.mse_loss
        )["loss"]
        for name in ("validation", "test")
    }
    assert scores["validation"] == pytest.approx(result["best_val_mse"], rel=1e-6)
    assert scores["test"] == pytest.approx(result["test_mse"], rel=1e-6)


def test_the_same_run_twice_gives_the_same_curve():
    a = adding_run(length=3, seed=2, epochs=2, lr=3e-3, batch_size=500)
    b = adding_run(length=3, seed=2, epochs=1, lr=3e-3, batch_size=500)
    assert a["val_mse"][:1] == b["val_mse"]
    assert "model" not in a


def test_a_diverging_run_is_reported_not_raised():
    result = adding_run(
        init="radius",
        radius=1.5,
        length=10,
        seed=0,
        epochs=2,
        lr=0.1,
        optimizer="sgd",
        clip_norm=None,
        keep_steps=True,
    )
    assert result["diverged"] and result["test_mse"] is None and result["best_epoch"] is None
    assert result["steps"] < 200 and len(result["step_loss"]) == result["steps"]
    assert math.isfinite(result["max_grad_norm"][0]) and result["max_grad_norm"][0] > 1e6
    clipped = adding_run(
        init="radius",
        radius=1.5,
        length=10,
        seed=0,
        epochs=1,
        lr=0.1,
        optimizer="sgd",
        clip_norm=1.0,
        batch_size=500,
    )
    assert not clipped["diverged"] and 0 < clipped["clipped_share"] <= 1


def _run(lr, seed, best, diverged=False):
    return {
        "lr": lr,
        "seed": seed,
        "best_val_mse": None if diverged else best,
        "diverged": diverged,
        "baselines": {"validation": {"constant": 0.17}},
    }


def test_choose_on_validation_takes_the_lowest_mean_and_counts_divergence_as_learning_nothing():
    runs = [
        _run(1e-3, 0, 0.10),
        _run(1e-3, 1, 0.12),
        _run(1e-2, 0, 0.01),
        _run(1e-2, 1, None, diverged=True),
    ]
    best, means = choose_on_validation(runs)
    assert means == {1e-3: pytest.approx(0.11), 1e-2: pytest.approx(0.09)}
    assert best == 1e-2
    with pytest.raises(ValueError, match="runs is empty"):
        choose_on_validation([])


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(unit="RNN"),
        dict(unit="RNN", init="identity", nonlinearity="relu"),
        dict(unit="LSTM", forget_bias=1.0),
    ],
)
def test_state_gradient_norms_end_with_the_read_out_and_match_autograd(kwargs):
    model = adding_model(seed=0, **kwargs)
    x, _ = adding_problem(7, 12, seed=0)
    norms = state_gradient_norms(model, x)
    assert norms.shape == (12,)
    if kwargs["unit"] == "RNN":  # d y / d h_T is the read-out's weight row, for every sequence
        assert norms[-1] == pytest.approx(model.read_out.weight.norm().item(), rel=1e-6)
    # the gradient with respect to the state at step 5, by rerunning the layer from there
    states, _ = model.rnn(x)
    h5 = states[:, 5].detach().requires_grad_(True)
    if kwargs["unit"] == "RNN":
        _, h_last = model.rnn(x[:, 6:], h5.unsqueeze(0).contiguous())
        model.read_out(h_last[-1]).sum().backward()
        assert norms[5] == pytest.approx(h5.grad.norm(dim=1).mean().item(), rel=1e-4)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="unit must be one of"):
        adding_model("GRUX", seed=0)
    with pytest.raises(ValueError, match="apply to the vanilla RNN only"):
        adding_model("LSTM", seed=0, init="orthogonal")
    with pytest.raises(ValueError, match="forget_bias applies"):
        adding_model("RNN", seed=0, forget_bias=1.0)
    with pytest.raises(ValueError, match="optimizer must be one of"):
        fit_adding(adding_model(seed=0), 5, seed=0, epochs=1, lr=1e-3, optimizer="rmsprop")
    with pytest.raises(ValueError, match=r"x must be a tensor \(N, T, 2\)"):
        state_gradient_norms(adding_model(seed=0), torch.zeros(3, 4, 5))


def test_first_epoch_below_and_count_below_read_the_baselines_of_each_run():
    def run(val, test, diverged=False):
        return {
            "val_mse": val,
            "test_mse": test,
            "diverged": diverged,
            "baselines": {
                "validation": {"last_marked_only": 0.08, "constant": 0.17},
                "test": {"last_marked_only": 0.09, "constant": 0.16},
            },
        }

    assert first_epoch_below(run([0.17, 0.1, 0.05, 0.01], 0.01)) == 3
    assert first_epoch_below(run([0.17, 0.1, 0.05, 0.01], 0.01), "constant") == 2
    assert first_epoch_below(run([0.17, 0.16], 0.15)) is None
    runs = [run([0.1], 0.01), run([0.1], 0.085), run([0.1], 0.2), run([], None, diverged=True)]
    assert count_below(runs) == 2
    assert count_below(runs, factor=0.5) == 1
    assert count_below(runs, "constant") == 2


def test_mean_baselines_average_over_runs_and_draw_baselines_labels_each_line():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = [
        {"baselines": {"validation": {"constant": 0.16, "last_marked_only": 0.08}}},
        {"baselines": {"validation": {"constant": 0.18, "last_marked_only": 0.09}}},
    ]
    means = mean_baselines(runs)
    assert means == {"constant": pytest.approx(0.17), "last_marked_only": pytest.approx(0.085)}
    _, ax = plt.subplots()
    draw_baselines(ax, means, suffix=" (T = 50)")
    labels = [line.get_label() for line in ax.lines]
    assert labels == ["baseline: constant (T = 50)", "baseline: last marked only (T = 50)"]
    assert [line.get_ydata()[0] for line in ax.lines] == [
        means["constant"],
        means["last_marked_only"],
    ]
    plt.close("all")
    with pytest.raises(ValueError, match="runs is empty"):
        mean_baselines([])
