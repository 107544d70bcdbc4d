"""Recurrent units at work on the long-range tasks: small models, one training run, its scores.

The chapters on the LSTM, the GRU and the comparison of units, and
``benchmarks/experiments/compare_units.py``, all ask the same question: given a recurrent
unit, a task and a seed, how well does it learn? This module answers it once,
so every number the book quotes comes from the same code:

- every model here builds its recurrent layer with
  :func:`helpers.layers.recurrent_layer` (an Elman RNN, LSTM or GRU layer, from
  ``torch.nn`` or from :mod:`helpers.modules`, which compute the same
  function, optionally with the LSTM's forget-gate bias set);
- :class:`LastStateRegressor` reads a sequence and predicts a number from the
  last hidden state (the adding problem); :class:`TokenTagger` predicts a token
  at every step (the copy task);
- :func:`run_adding` and :func:`run_copy` build the model for a unit, generate
  the task's fixed splits, train with :func:`helpers.training.train` (for a
  fixed number of epochs, or with ``early_stopping`` on the validation split),
  and score the final model on the test split, which is used for nothing else;
  :func:`train_adding` does the same for a model of your own, such as a
  variant of a unit. :mod:`helpers.unit_comparison` builds the comparison of
  units on them.

``UNITS``, ``IMPLEMENTATIONS``, ``recurrent_layer`` and ``count_parameters``
(from :mod:`helpers.layers`) and ``text_model_parts`` (from
:mod:`helpers.text_models`) are re-exported here, so older code that imports
them from this module keeps working; new code imports them from their homes.
"""

import time

import torch
from torch import nn
from torch.nn import functional as F

from helpers.layers import IMPLEMENTATIONS, UNITS, count_parameters, recurrent_layer
from helpers.tasks import (
    adding_problem,
    copy_task,
    copy_task_baseline,
    copy_task_vocab_size,
    make_loader,
    task_splits,
)
from helpers.text_models import text_model_parts
from helpers.training import evaluate, train
from helpers.validation import (
    _describe,
    check_choice,
    check_positive_int,
    check_positive_number,
    check_seed,
)

__all__ = [
    "UNITS",
    "IMPLEMENTATIONS",
    "recurrent_layer",
    "count_parameters",
    "text_model_parts",
    "LastStateRegressor",
    "TokenTagger",
    "train_adding",
    "run_adding",
    "run_copy",
    "load_unit_comparison",
]


class LastStateRegressor(nn.Module):
    """Reads ``(N, T, D)`` and predicts ``(N, 1)`` from the last hidden state (the adding problem)."""

    def __init__(self, unit, input_size=2, hidden_size=32, **layer_kwargs):
        super().__init__()
        self.rnn = recurrent_layer(unit, input_size, hidden_size, **layer_kwargs)
        self.read_out = nn.Linear(
            hidden_size, 1, device=layer_kwargs.get("device"), dtype=layer_kwargs.get("dtype")
        )

    def forward(self, x):
        outputs, _ = self.rnn(x)  # (N, T, H): the top layer's state at every step
        return self.read_out(outputs[:, -1])


class TokenTagger(nn.Module):
    """Reads tokens ``(N, T)`` as one-hot vectors and predicts scores ``(N, T, V)`` at every step.

    One-hot inputs rather than a learned embedding keep the recurrent layer the
    only thing that differs between units (the copy task).
    """

    def __init__(self, unit, vocab_size, hidden_size=128, **layer_kwargs):
        super().__init__()
        self.vocab_size = check_positive_int("vocab_size", vocab_size)
        self.rnn = recurrent_layer(unit, vocab_size, hidden_size, **layer_kwargs)
        self.read_out = nn.Linear(
            hidden_size,
            vocab_size,
            device=layer_kwargs.get("device"),
            dtype=layer_kwargs.get("dtype"),
        )

    def forward(self, tokens):
        x = F.one_hot(tokens, self.vocab_size).to(self.read_out.weight.dtype)
        outputs, _ = self.rnn(x)
        return self.read_out(outputs)


def _label(unit, forget_bias):
    return unit if forget_bias is None else f"{unit} (forget bias {forget_bias:g})"


def _fit(
    model,
    splits,
    loss_fn,
    *,
    seed,
    epochs,
    batch_size,
    lr,
    clip_norm,
    metrics,
    device,
    progress,
    description,
    early_stopping=None,
):
    """Train on the train split, validate every epoch, score on the test split once at the end."""
    model = model.to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    start = time.perf_counter()
    history = train(
        model,
        make_loader(*splits["train"], batch_size=batch_size, shuffle=True, seed=seed),
        loss_fn,
        epochs=epochs,
        optimizer=optimizer,
        clip_norm=clip_norm,
        val_loader=make_loader(*splits["validation"], batch_size=1000, shuffle=False),
        metrics=metrics,
        early_stopping=early_stopping,
        device=device,
        progress=progress,
        description=description,
    )
    seconds = time.perf_counter() - start
    test = evaluate(
        model,
        make_loader(*splits["test"], batch_size=1000, shuffle=False),
        loss_fn,
        metrics=metrics,
        device=device,
    )
    steps = len(history.step_loss)
    timing = {"steps": steps, "seconds": seconds, "seconds_per_step": seconds / steps}
    if early_stopping is not None:
        timing.update(best_epoch=history.best_epoch, stopped_early=history.stopped_early)
    return history, test, timing


def _check_budget(train_size, epochs, batch_size, lr, clip_norm):
    check_positive_int("train_size", train_size)
    check_positive_int("epochs", epochs)
    check_positive_int("batch_size", batch_size)
    check_positive_number("lr", lr)
    if clip_norm is not None:
        check_positive_number("clip_norm", clip_norm)


def train_adding(
    model,
    length,
    *,
    seed,
    train_size=10_000,
    epochs=15,
    batch_size=50,
    lr=1e-2,
    clip_norm=1.0,
    device=None,
    progress=False,
    description="adding problem",
    early_stopping=None,
):
    """Train ``model`` on the adding problem of length ``length``; score it on the test split.

    The splits are ``task_splits(adding_problem, (train_size, 1000, 2000),
    seed=seed, length=length)``; the model is trained with Adam and gradient
    clipping for ``epochs`` epochs (shuffled with ``seed``) and scored once at
    the end. :func:`run_adding` builds the model for a unit and calls this;
    call it directly for a model of your own, such as a variant of a unit.

    Args:
        model: a module mapping inputs ``(N, T, 2)`` to predictions ``(N, 1)``,
            such as :class:`LastStateRegressor`; it is moved to ``device``.
        length: the sequence length T (int >= 2).
        seed: an int in ``[0, 2**32)``, for the splits and the order of the batches.
        train_size, epochs, batch_size, lr, clip_norm: the training budget.
        device: where to train; default the CPU.
        progress: show a progress bar.
        description: the progress bar's label.
        early_stopping: optional :class:`helpers.training.EarlyStopping`:
            ``epochs`` becomes the largest budget, and the model scored on the
            test split is the best epoch's on validation.

    Returns:
        dict with ``length``, ``seed``, ``parameters`` (of ``model``),
        ``test_mse``, ``baseline_mse`` (always predicting 1, on the same test
        split), ``val_mse`` and ``train_mse`` (one value per epoch), ``steps``,
        ``seconds``, ``seconds_per_step`` and ``model``; with early stopping
        also ``best_epoch`` and ``stopped_early``.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {_describe(model)}")
    check_positive_int("length", length, minimum=2)
    seed = check_seed("seed", seed)
    _check_budget(train_size, epochs, batch_size, lr, clip_norm)
    device = torch.device("cpu") if device is None else torch.device(device)
    splits = task_splits(adding_problem, (train_size, 1000, 2000), seed=seed, length=length)
    history, test, timing = _fit(
        model,
        splits,
        F.mse_loss,
        seed=seed,
        epochs=epochs,
        batch_size=batch_size,
        lr=lr,
        clip_norm=clip_norm,
        metrics=None,
        device=device,
        progress=progress,
        description=description,
        early_stopping=early_stopping,
    )
    y_test = splits["test"][1]
    return {
        "length": length,
        "seed": seed,
        "parameters": count_parameters(model),
        "test_mse": test["loss"],
        "baseline_mse": F.mse_loss(torch.ones_like(y_test), y_test).item(),
        "val_mse": history["val_loss"],
        "train_mse": history["train_loss"],
        **timing,
        "model": model,
    }


def run_adding(
    unit,
    length,
    *,
    seed,
    hidden_size=32,
    train_size=10_000,
    epochs=15,
    batch_size=50,
    lr=1e-2,
    clip_norm=1.0,
    forget_bias=None,
    implementation="torch",
    device=None,
    progress=False,
    early_stopping=None,
):
    """Train ``unit`` on the adding problem of length ``length``; score it on the test split.

    The model is a :class:`LastStateRegressor` with ``hidden_size`` units,
    initialized after ``torch.manual_seed(seed)`` and trained by
    :func:`train_adding`.

    Returns:
        the dict of :func:`train_adding`, plus ``unit`` (with the forget bias
        when set), ``task`` and ``hidden_size``.
    """
    check_choice("unit", unit, UNITS)
    seed = check_seed("seed", seed)
    check_positive_int("hidden_size", hidden_size)
    torch.manual_seed(seed)
    model = LastStateRegressor(
        unit, 2, hidden_size, implementation=implementation, forget_bias=forget_bias
    )
    label = _label(unit, forget_bias)
    result = train_adding(
        model,
        length,
        seed=seed,
        train_size=train_size,
        epochs=epochs,
        batch_size=batch_size,
        lr=lr,
        clip_norm=clip_norm,
        device=device,
        progress=progress,
        description=f"{label}, adding T = {length}, seed {seed}",
        early_stopping=early_stopping,
    )
    return {"unit": label, "task": "adding", "hidden_size": hidden_size, **result}


def _answer_accuracy(copy_length):
    def accuracy(scores, y):
        """Share of the copied symbols (the last ``copy_length`` steps) predicted right."""
        return (scores[:, -copy_length:].argmax(-1) == y[:, -copy_length:]).float().mean()

    return accuracy


def _per_step_cross_entropy(scores, y):
    return F.cross_entropy(scores.flatten(0, 1), y.flatten())


def run_copy(
    unit,
    delay,
    *,
    seed,
    copy_length=5,
    num_symbols=8,
    hidden_size=128,
    train_size=10_000,
    epochs=20,
    batch_size=50,
    lr=1e-2,
    clip_norm=1.0,
    forget_bias=None,
    implementation="torch",
    device=None,
    progress=False,
    early_stopping=None,
):
    """Train ``unit`` on the copy task with ``delay``; score it on the test split.

    The loss is the cross-entropy per step over the whole sequence, the quantity
    :func:`helpers.tasks.copy_task_baseline` gives for a model without memory.
    With ``early_stopping`` (:class:`helpers.training.EarlyStopping`),
    ``epochs`` is the largest budget and the model scored on the test split is
    the best epoch's on validation.

    Returns:
        dict with ``unit``, ``task``, ``delay``, ``copy_length``, ``num_symbols``,
        ``seed``, ``hidden_size``, ``parameters``, ``test_loss``, ``baseline_loss``,
        ``test_accuracy`` (share of copied symbols right; chance is
        ``1 / num_symbols``), ``val_loss``, ``val_accuracy`` and ``train_loss``
        (per epoch), ``steps``, ``seconds``, ``seconds_per_step`` and
        ``model``; with early stopping also ``best_epoch`` and ``stopped_early``.
    """
    check_choice("unit", unit, UNITS)
    seed = check_seed("seed", seed)
    check_positive_int("hidden_size", hidden_size)
    _check_budget(train_size, epochs, batch_size, lr, clip_norm)
    check_positive_int("delay", delay)
    device = torch.device("cpu") if device is None else torch.device(device)
    splits = task_splits(
        copy_task,
        (train_size, 1000, 2000),
        seed=seed,
        delay=delay,
        copy_length=copy_length,
        num_symbols=num_symbols,
    )
    torch.manual_seed(seed)
    model = TokenTagger(
        unit,
        copy_task_vocab_size(num_symbols),
        hidden_size,
        implementation=implementation,
        forget_bias=forget_bias,
    )
    label = _label(unit, forget_bias)
    history, test, timing = _fit(
        model,
        splits,
        _per_step_cross_entropy,
        seed=seed,
        epochs=epochs,
        batch_size=batch_size,
        lr=lr,
        clip_norm=clip_norm,
        metrics={"accuracy": _answer_accuracy(copy_length)},
        device=device,
        progress=progress,
        description=f"{label}, copy delay {delay}, seed {seed}",
        early_stopping=early_stopping,
    )
    return {
        "unit": label,
        "task": "copy",
        "delay": delay,
        "copy_length": copy_length,
        "seed": seed,
        "hidden_size": hidden_size,
        "parameters": count_parameters(model),
        "test_loss": test["loss"],
        "num_symbols": num_symbols,
        "baseline_loss": copy_task_baseline(delay, copy_length, num_symbols),
        "test_accuracy": test["accuracy"],
        "val_loss": history["val_loss"],
        "val_accuracy": history["val_accuracy"],
        "train_loss": history["train_loss"],
        **timing,
        "model": model,
    }


def load_unit_comparison():
    """The committed results of ``benchmarks/experiments/compare_units.py``, which ship with this package.

    The same as ``helpers.artefacts.load_artefact("compare_units")``: a dict with
    ``provenance`` (the command, git revision, package versions, seeds, machine,
    date and wall time), ``settings`` (the design, and the learning rates chosen
    on validation), ``runs`` (every run of the learning-rate search and of the
    final seeds, with its learning curves) and ``summary`` (one row per setting
    and unit of the final runs); see :mod:`helpers.unit_comparison`.
    """
    from helpers.artefacts import load_artefact

    return load_artefact("compare_units")
