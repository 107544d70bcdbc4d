import copy
import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from helpers.tasks import make_loader
from helpers.training import History, evaluate, train

mse = nn.MSELoss()


def mae(predictions, y):
    return (predictions - y).abs().mean()


def line_data(n=200, seed=0):
    generator = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 1, generator=generator) * 2 - 1
    return x, 2 * x + 1


def linear(in_features=1, out_features=1, seed=0):
    torch.manual_seed(seed)
    return nn.Linear(in_features, out_features)


def test_fits_a_line_and_records_every_epoch_and_step():
    x, y = line_data()
    train_loader = make_loader(x, y, batch_size=20, shuffle=True, seed=0)
    val_loader = make_loader(*line_data(50, seed=1), batch_size=16, shuffle=False)
    model = linear()
    history = train(
        model,
        train_loader,
        mse,
        epochs=30,
        val_loader=val_loader,
        progress=False,
        optimizer=torch.optim.SGD(model.parameters(), lr=0.5),
    )
    assert model.weight.item() == pytest.approx(2.0, abs=1e-3)
    assert model.bias.item() == pytest.approx(1.0, abs=1e-3)
    assert len(history) == 30 and history["epoch"] == list(range(1, 31))
    assert len(history.step_loss) == len(history.grad_norm) == 30 * 10
    assert history["train_loss"][-1] < history["train_loss"][0] / 1000
    assert history["val_loss"][-1] < 1e-6
    assert history.columns() == ["epoch", "train_loss", "val_loss", "seconds"]
    assert all(seconds > 0 for seconds in history["seconds"])


def test_first_grad_norm_equals_an_independent_computation():
    generator = torch.Generator().manual_seed(5)
    x, y = torch.randn(12, 3, generator=generator), torch.randn(12, 2, generator=generator)
    model = linear(3, 2)
    before = copy.deepcopy(model)
    for clip_norm in (None, 0.01):
        model = copy.deepcopy(before)
        history = train(
            model,
            make_loader(x, y, batch_size=5, shuffle=False),
            mse,
            epochs=1,
            optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
            clip_norm=clip_norm,
            progress=False,
        )
        # by hand: d/dW and d/db of mean((x W^T + b - y)^2) on the first batch
        weight, bias = before.weight.detach().double(), before.bias.detach().double()
        residual = x[:5].double() @ weight.T + bias - y[:5].double()
        grad_weight = 2 * residual.T @ x[:5].double() / residual.numel()
        grad_bias = 2 * residual.sum(dim=0) / residual.numel()
        expected = math.sqrt(float((grad_weight**2).sum() + (grad_bias**2).sum()))
        assert history.grad_norm[0] == pytest.approx(expected, rel=1e-5)
        assert len(history.grad_norm) == 3


@pytest.mark.filterwarnings("error")  # torch warns when a scheduler steps before its optimizer
def test_scheduler_steps_after_every_optimizer_step():
    x, y = line_data(12)
    loader = make_loader(x, y, batch_size=4, shuffle=False)
    halve = lambda step: 0.5**step  # noqa: E731

    def schedule(model):
        optimizer = torch.optim.SGD(model.parameters(), lr=0.2)
        return optimizer, torch.optim.lr_scheduler.LambdaLR(optimizer, halve)

    model = linear()
    optimizer, scheduler = schedule(model)
    train(model, loader, mse, epochs=2, optimizer=optimizer, scheduler=scheduler, progress=False)
    assert scheduler.last_epoch == 2 * 3  # one scheduler step per batch, not per epoch
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.2 * 0.5**6)

    # by hand: step k of the optimizer uses the rate 0.2 / 2 ** k (k = 0, 1, ...)
    by_hand = linear()
    optimizer, scheduler = schedule(by_hand)
    for _ in range(2):
        for bx, by in loader:
            optimizer.zero_grad()
            mse(by_hand(bx), by).backward()
            optimizer.step()
            scheduler.step()
    for trained, expected in zip(model.parameters(), by_hand.parameters()):
        torch.testing.assert_close(trained, expected, rtol=0, atol=0)

    # and the schedule changes the result: without it, the weights end elsewhere
    fixed_rate = linear()
    train(
        fixed_rate,
        loader,
        mse,
        epochs=2,
        progress=False,
        optimizer=torch.optim.SGD(fixed_rate.parameters(), lr=0.2),
    )
    assert not torch.allclose(fixed_rate.weight, model.weight)


def one_step_change(clip_norm):
    model = nn.Linear(1, 1)
    with torch.no_grad():
        model.weight.fill_(1.0)
        model.bias.fill_(0.0)
    start = torch.cat([p.detach().clone().flatten() for p in model.parameters()])
    history = train(
        model,
        [(torch.tensor([[1e4]]), torch.tensor([[0.0]]))],
        mse,
        epochs=1,
        optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
        clip_norm=clip_norm,
        progress=False,
    )
    end = torch.cat([p.detach().flatten() for p in model.parameters()])
    return float((end - start).norm()), history.grad_norm[0]


def test_clipping_bounds_the_update_and_the_recorded_norm_is_before_clipping():
    unclipped_change, unclipped_norm = one_step_change(None)
    clipped_change, clipped_norm = one_step_change(1.0)
    # loss (1e4 w + b)^2 at w=1, b=0: gradient 2e4 * (1e4, 1)
    expected_norm = 2e4 * math.hypot(1e4, 1.0)
    assert unclipped_norm == pytest.approx(expected_norm, rel=1e-5)
    assert clipped_norm == pytest.approx(expected_norm, rel=1e-5)
    assert unclipped_change == pytest.approx(0.1 * expected_norm, rel=1e-5)
    assert clipped_change == pytest.approx(0.1 * 1.0, rel=1e-4)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 30), batch_size=st.integers(1, 12))
def test_evaluate_weights_batches_by_size(n, batch_size):
    generator = torch.Generator().manual_seed(n * 100 + batch_size)
    x, y = torch.randn(n, 2, generator=generator), torch.randn(n, 1, generator=generator)
    model = linear(2, 1)
    result = evaluate(
        model, make_loader(x, y, batch_size=batch_size, shuffle=False), mse, metrics={"mae": mae}
    )
    with torch.no_grad():
        predictions = model(x)
    assert result["loss"] == pytest.approx(mse(predictions, y).item(), rel=1e-5)
    assert result["mae"] == pytest.approx(mae(predictions, y).item(), rel=1e-5)
    assert list(result) == ["loss", "mae"]


def test_uneven_batches_make_the_mean_of_batch_means_wrong():
    # so the weighting test above can tell the two apart
    x = torch.arange(10.0).unsqueeze(1)
    y = torch.zeros(10, 1)
    model = nn.Linear(1, 1)
    with torch.no_grad():
        model.weight.fill_(1.0)
        model.bias.fill_(0.0)
    loader = make_loader(x, y, batch_size=4, shuffle=False)
    batch_means = [mse(model(bx), by).item() for bx, by in loader]
    exact = float((x**2).mean())
    assert sum(batch_means) / len(batch_means) != pytest.approx(exact)
    assert evaluate(model, loader, mse)["loss"] == pytest.approx(exact)


def test_train_loss_is_the_mean_over_examples():
    x, y = line_data(10)
    loader = make_loader(x, y, batch_size=4, shuffle=False)
    model = linear()
    history = train(
        model,
        loader,
        mse,
        epochs=2,
        progress=False,
        optimizer=torch.optim.SGD(model.parameters(), lr=0.0),
    )
    exact = evaluate(model, loader, mse)["loss"]
    assert history["train_loss"] == pytest.approx([exact, exact], rel=1e-6)


def test_metrics_are_recorded_on_the_validation_set():
    x, y = line_data(40)
    loader = make_loader(x, y, batch_size=8, shuffle=False)
    model = linear()
    history = train(
        model,
        loader,
        mse,
        epochs=2,
        val_loader=loader,
        metrics={"mae": mae},
        optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
        progress=False,
    )
    assert history.columns() == ["epoch", "train_loss", "val_loss", "val_mae", "seconds"]
    measured = evaluate(model, loader, mse, metrics={"mae": mae})
    assert history.last()["val_mae"] == pytest.approx(measured["mae"])
    assert history["val_mae"][-1] == history.last()["val_mae"]


def test_history_shows_a_table_and_names_missing_columns():
    history = History()
    with pytest.raises(IndexError):
        history.last()
    with pytest.raises(KeyError, match="none yet"):
        history["val_loss"]
    history.records = [
        {"epoch": 1, "train_loss": 0.5, "seconds": 0.1},
        {"epoch": 2, "train_loss": 0.25, "seconds": 0.1},
    ]
    table = history._repr_markdown_().splitlines()
    assert table[0] == "| epoch | train_loss | seconds |"
    assert table[-1] == "| 2 | 0.25 | 0.1 |"
    assert len(table) == 4
    assert "train_loss=0.25" in repr(history)
    with pytest.raises(KeyError, match="'val_loss'.*'epoch', 'train_loss', 'seconds'"):
        history["val_loss"]


class ModeRecorder(nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(1, 1)
        self.seen = []

    def forward(self, x):
        self.seen.append((self.training, torch.is_grad_enabled()))
        return self.linear(x)


def test_train_mode_for_steps_and_eval_mode_without_grad_for_validation():
    x, y = line_data(8)
    model = ModeRecorder()
    train(
        model,
        make_loader(x, y, batch_size=4, shuffle=False),
        mse,
        epochs=2,
        val_loader=make_loader(x, y, batch_size=8, shuffle=False),
        progress=False,
        optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
    )
    step, validation = (True, True), (False, False)
    assert model.seen == [step, step, validation] * 2
    assert not model.training


def test_nan_loss_raises_and_names_epoch_and_step():
    x, y = line_data(12)
    y[5] = float("nan")  # in the second batch of 4
    model = linear()
    with pytest.raises(FloatingPointError, match="nan at epoch 1, step 2"):
        train(
            model,
            make_loader(x, y, batch_size=4, shuffle=False),
            mse,
            epochs=3,
            optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
            progress=False,
        )


def test_diverging_training_raises_instead_of_training_on_inf():
    x, y = line_data(40)
    model = linear()
    with pytest.raises(FloatingPointError, match=r"at epoch \d+, step \d+"):
        train(
            model,
            make_loader(x, y, batch_size=4, shuffle=False),
            mse,
            epochs=50,
            optimizer=torch.optim.SGD(model.parameters(), lr=50.0),
            progress=False,
        )


def test_divergence_error_carries_the_history_up_to_the_bad_step():
    x, y = line_data(12)
    y[9] = float("nan")  # in the third batch of 4
    model = linear()
    with pytest.raises(FloatingPointError) as raised:
        train(
            model,
            make_loader(x, y, batch_size=4, shuffle=False),
            mse,
            epochs=3,
            optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
            progress=False,
        )
    history = raised.value.history
    assert len(history.step_loss) == 2 and len(history.grad_norm) == 2
    assert all(math.isfinite(v) for v in history.step_loss)
    assert len(history) == 0  # no epoch finished


@pytest.mark.filterwarnings("error")
def test_progress_bar_writes_to_stdout_not_stderr_and_nothing_warns(capsys):
    x, y = line_data(20)
    model = linear()
    train(
        model,
        make_loader(x, y, batch_size=5, shuffle=False),
        mse,
        epochs=3,
        val_loader=make_loader(x, y, batch_size=5, shuffle=False),
        description="fit-a-line",
        optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
    )
    captured = capsys.readouterr()
    assert captured.err == ""
    assert "fit-a-line" in captured.out
    assert "3/3" in captured.out
    assert "val_loss=" in captured.out


def test_no_output_at_all_without_progress(capsys):
    x, y = line_data(20)
    model = linear()
    train(
        model,
        make_loader(x, y, batch_size=5, shuffle=False),
        mse,
        epochs=2,
        optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
        progress=False,
    )
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_device_defaults_to_the_model_and_can_be_given():
    x, y = line_data(10)
    loader = make_loader(x, y, batch_size=4, shuffle=False)
    model = linear()
    assert evaluate(model, loader, mse, device="cpu") == evaluate(model, loader, mse)

    class Double(nn.Module):
        def forward(self, x):
            return 2 * x

    with pytest.raises(ValueError, match="no parameters.*device="):
        evaluate(Double(), loader, mse)
    assert evaluate(Double(), loader, mse, device="cpu")["loss"] == pytest.approx(
        mse(2 * x, y).item()
    )


def bad_train_call(**changes):
    x, y = line_data(8)
    model = linear()
    arguments = dict(
        model=model,
        train_loader=make_loader(x, y, batch_size=4, shuffle=False),
        loss_fn=mse,
        epochs=1,
        optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
        progress=False,
    )
    arguments.update(changes)
    return lambda: train(**arguments)


@pytest.mark.parametrize(
    "call, error, words",
    [
        (bad_train_call(epochs=0), ValueError, ["epochs", ">= 1", "0"]),
        (bad_train_call(epochs=2.0), TypeError, ["epochs", "float"]),
        (bad_train_call(optimizer="sgd"), TypeError, ["optimizer", "torch.optim.Optimizer", "str"]),
        (bad_train_call(clip_norm=0), ValueError, ["clip_norm", "> 0", "0"]),
        (bad_train_call(clip_norm=-1.0), ValueError, ["clip_norm", "-1.0"]),
        (bad_train_call(clip_norm=float("nan")), ValueError, ["clip_norm", "nan"]),
        (bad_train_call(clip_norm="1"), TypeError, ["clip_norm", "str"]),
        (bad_train_call(train_loader=5), TypeError, ["train_loader", "int"]),
        (bad_train_call(train_loader=[]), ValueError, ["train_loader", "no batches"]),
        (bad_train_call(val_loader=3.0), TypeError, ["val_loader", "float"]),
        (bad_train_call(loss_fn="mse"), TypeError, ["loss_fn", "str"]),
        (bad_train_call(model=lambda x: x), TypeError, ["model", "nn.Module", "function"]),
        (bad_train_call(metrics={"mae": mae}), ValueError, ["metrics", "val_loader"]),
        (bad_train_call(metrics=[mae]), TypeError, ["metrics", "dict", "list"]),
        (bad_train_call(progress="yes"), TypeError, ["progress", "str"]),
        (
            bad_train_call(
                scheduler=torch.optim.lr_scheduler.StepLR(
                    torch.optim.SGD(linear().parameters(), lr=0.1), step_size=1
                )
            ),
            ValueError,
            ["scheduler", "optimizer", "StepLR"],
        ),
        (bad_train_call(scheduler="cosine"), ValueError, ["scheduler", "str"]),
        (
            bad_train_call(loss_fn=nn.MSELoss(reduction="none")),
            ValueError,
            ["loss_fn", "scalar", "shape (4, 1)"],
        ),
        (
            bad_train_call(train_loader=[(torch.zeros(2, 1), torch.zeros(2, 1), torch.zeros(2))]),
            TypeError,
            ["train_loader", "(x, y)", "tuple"],
        ),
        (
            bad_train_call(epochs=2, train_loader=iter([(torch.zeros(2, 1), torch.zeros(2, 1))])),
            ValueError,
            ["train_loader", "no batches", "generator"],
        ),
    ],
)
def test_train_rejects_bad_arguments(call, error, words):
    with pytest.raises(error) as info:
        call()
    for word in words:
        assert word in str(info.value)


@pytest.mark.parametrize(
    "call, error, words",
    [
        (lambda: evaluate(linear(), 5, mse), TypeError, ["loader", "int"]),
        (lambda: evaluate(linear(), [], mse), ValueError, ["loader", "no batches"]),
        (lambda: evaluate("model", [], mse), TypeError, ["model", "str"]),
        (lambda: evaluate(linear(), [], None), TypeError, ["loss_fn", "NoneType"]),
        (
            lambda: evaluate(
                linear(), [(torch.zeros(2, 1), torch.zeros(2, 1))], mse, metrics={"loss": mae}
            ),
            ValueError,
            ["metrics", "'loss'"],
        ),
        (
            lambda: evaluate(
                linear(), [(torch.zeros(2, 1), torch.zeros(2, 1))], mse, metrics={"mae": 3}
            ),
            TypeError,
            ["metrics['mae']", "int"],
        ),
    ],
)
def test_evaluate_rejects_bad_arguments(call, error, words):
    with pytest.raises(error) as info:
        call()
    for word in words:
        assert word in str(info.value)


# early stopping: the stated criterion compared models are trained to


def noisy_line_data(n, seed):
    generator = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 8, generator=generator) * 2 - 1
    y = x[:, :1] + 0.5 * torch.randn(n, 1, generator=generator)
    return x, y


def overfitting_setup(seed=0):
    """A wide network on 20 noisy examples: validation loss turns up after a while."""
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(8, 64), nn.Tanh(), nn.Linear(64, 1))
    train_loader = make_loader(*noisy_line_data(20, 1), batch_size=20, shuffle=False)
    val_loader = make_loader(*noisy_line_data(200, 2), batch_size=200, shuffle=False)
    return model, train_loader, val_loader


def test_early_stopping_stops_after_patience_and_restores_the_best_epoch():
    from helpers.training import EarlyStopping

    model, train_loader, val_loader = overfitting_setup()
    history = train(
        model,
        train_loader,
        mse,
        epochs=400,
        val_loader=val_loader,
        optimizer=torch.optim.Adam(model.parameters(), lr=0.01),
        progress=False,
        early_stopping=EarlyStopping(patience=10),
    )
    val = history["val_loss"]
    assert history.stopped_early and len(val) < 400
    best = history.best_epoch
    assert val[best - 1] == min(val)
    assert len(val) == best + 10  # stopped exactly `patience` epochs after the best
    restored = evaluate(model, val_loader, mse)["loss"]
    assert restored == pytest.approx(val[best - 1], rel=1e-6)


def test_early_stopping_on_a_metric_to_maximise_without_restoring():
    from helpers.training import EarlyStopping

    model, train_loader, val_loader = overfitting_setup()
    neg_mae = {"neg_mae": lambda p, y: -(p - y).abs().mean()}
    history = train(
        model,
        train_loader,
        mse,
        epochs=400,
        val_loader=val_loader,
        metrics=neg_mae,
        optimizer=torch.optim.Adam(model.parameters(), lr=0.01),
        progress=False,
        early_stopping=EarlyStopping(
            patience=5, monitor="val_neg_mae", mode="max", restore_best=False
        ),
    )
    scores = history["val_neg_mae"]
    assert scores[history.best_epoch - 1] == max(scores)
    final = evaluate(model, val_loader, mse, metrics=neg_mae)["neg_mae"]
    assert final == pytest.approx(scores[-1], rel=1e-6)  # the last epoch's weights were kept


def test_early_stopping_with_a_budget_too_short_to_trigger():
    from helpers.training import EarlyStopping

    model, train_loader, val_loader = overfitting_setup()
    history = train(
        model,
        train_loader,
        mse,
        epochs=3,
        val_loader=val_loader,
        progress=False,
        optimizer=torch.optim.SGD(model.parameters(), lr=0.01),
        early_stopping=EarlyStopping(patience=5),
    )
    assert len(history) == 3 and not history.stopped_early and history.best_epoch == 3


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (dict(patience=0), ValueError, "patience"),
        (dict(monitor="train_loss"), ValueError, "monitor must be a validation column"),
        (dict(mode="lowest"), ValueError, "mode must be 'min' or 'max'"),
        (dict(min_delta=-1), ValueError, "min_delta must be a number >= 0"),
        (dict(restore_best=1), TypeError, "restore_best must be True or False"),
    ],
)
def test_early_stopping_names_bad_settings(kwargs, error, message):
    from helpers.training import EarlyStopping

    with pytest.raises(error, match=message):
        EarlyStopping(**kwargs)


def test_early_stopping_needs_validation_and_the_watched_metric():
    from helpers.training import EarlyStopping

    model, train_loader, val_loader = overfitting_setup()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    with pytest.raises(ValueError, match="pass val_loader too"):
        train(
            model,
            train_loader,
            mse,
            epochs=2,
            optimizer=optimizer,
            progress=False,
            early_stopping=EarlyStopping(),
        )
    with pytest.raises(ValueError, match="add 'accuracy' to metrics"):
        train(
            model,
            train_loader,
            mse,
            epochs=2,
            optimizer=optimizer,
            progress=False,
            val_loader=val_loader,
            early_stopping=EarlyStopping(monitor="val_accuracy"),
        )
    with pytest.raises(TypeError, match="must be a helpers.training.EarlyStopping"):
        train(
            model,
            train_loader,
            mse,
            epochs=2,
            optimizer=optimizer,
            progress=False,
            val_loader=val_loader,
            early_stopping=5,
        )
