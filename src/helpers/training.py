"""The one training loop of the book, and the record it keeps.

Every chapter trains with :func:`train` and measures with :func:`evaluate`, so
the loop reads the same everywhere: move a batch to the device, compute the
loss, backpropagate, measure (and optionally clip) the gradient norm, step.
:class:`History` keeps one record per epoch and the loss and gradient norm of
every step, the raw material for plots of learning curves and of exploding
gradients.
"""

import math
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import torch
from tqdm.auto import tqdm

from helpers.validation import _describe, check_positive_int, check_positive_number

__all__ = ["History", "EarlyStopping", "train", "evaluate"]


@dataclass
class History:
    """What :func:`train` measured.

    Attributes:
        records: one dict per epoch with ``epoch`` (from 1), ``train_loss``
            (mean over the epoch's training examples, measured while the
            weights changed), ``val_loss`` and ``val_<metric>`` (when a
            validation loader was given) and ``seconds``.
        step_loss: the training loss of every optimizer step.
        grad_norm: the global L2 norm of the gradient at every step, measured
            *before* clipping.

        best_epoch: with early stopping, the epoch (from 1) whose weights the
            model holds at the end: the best one on the monitored column.
        stopped_early: whether early stopping ended training before ``epochs``.

    ``history["val_loss"]`` is the list of one column over the epochs and
    ``history.last()`` the last epoch's record.
    """

    records: list = field(default_factory=list)
    step_loss: list = field(default_factory=list)
    grad_norm: list = field(default_factory=list)
    best_epoch: int | None = None
    stopped_early: bool = False

    def __getitem__(self, column):
        if not self.records or column not in self.records[0]:
            available = ", ".join(repr(c) for c in self.columns()) or "none yet"
            raise KeyError(f"History has no column {column!r}; columns: {available}")
        return [record[column] for record in self.records]

    def __len__(self):
        return len(self.records)

    def columns(self):
        """Names of the per-epoch columns, in order."""
        return list(self.records[0]) if self.records else []

    def last(self):
        """The record of the last epoch."""
        if not self.records:
            raise IndexError("History is empty: no epoch has finished")
        return self.records[-1]

    def __repr__(self):
        summary = f"History({len(self.records)} epochs, {len(self.step_loss)} steps"
        if not self.records:
            return summary + ")"
        last = ", ".join(f"{k}={_format(v)}" for k, v in self.last().items())
        return f"{summary}; last: {last})"

    def _repr_markdown_(self):
        columns = self.columns()
        lines = ["| " + " | ".join(columns) + " |", "|" + "---:|" * len(columns)]
        lines += ["| " + " | ".join(_format(r[c]) for c in columns) + " |" for r in self.records]
        return "\n".join(lines)


@dataclass(frozen=True)
class EarlyStopping:
    """Stop when a validation score has not improved for ``patience`` epochs.

    The stated criterion the book trains compared models to: train until the
    monitored validation column (``"val_loss"``, or ``"val_<metric>"``) has not
    improved by more than ``min_delta`` for ``patience`` epochs in a row, or
    until the budget of epochs runs out, and end with the weights of the best
    epoch (``restore_best``).

    Args:
        patience: epochs without improvement before stopping (int >= 1).
        monitor: the validation column to watch.
        mode: ``"min"`` (a loss) or ``"max"`` (an accuracy).
        min_delta: how much better counts as an improvement (>= 0).
        restore_best: load the best epoch's weights back into the model at the end.
    """

    patience: int = 5
    monitor: str = "val_loss"
    mode: str = "min"
    min_delta: float = 0.0
    restore_best: bool = True

    def __post_init__(self):
        check_positive_int("patience", self.patience)
        if not isinstance(self.monitor, str) or not self.monitor.startswith("val_"):
            raise ValueError(
                f"monitor must be a validation column such as 'val_loss' or "
                f"'val_accuracy', got {self.monitor!r}"
            )
        if self.mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max', got {self.mode!r}")
        if (
            isinstance(self.min_delta, bool)
            or not isinstance(self.min_delta, (int, float))
            or not self.min_delta >= 0
        ):
            raise ValueError(f"min_delta must be a number >= 0, got {self.min_delta!r}")
        if not isinstance(self.restore_best, bool):
            raise TypeError(
                f"restore_best must be True or False, got {_describe(self.restore_best)}"
            )

    def improved(self, value, best):
        """Whether ``value`` beats ``best`` by more than ``min_delta``."""
        if best is None:
            return True
        if self.mode == "min":
            return value < best - self.min_delta
        return value > best + self.min_delta


def _format(value):
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _check_loader(name, loader):
    if not isinstance(loader, Iterable):
        raise TypeError(
            f"{name} must be an iterable of (x, y) batches such as a DataLoader, "
            f"got {_describe(loader)}"
        )


def _check_metrics(metrics):
    if metrics is None:
        return {}
    if not isinstance(metrics, Mapping):
        raise TypeError(
            f"metrics must be a dict of name -> fn(predictions, y), got {_describe(metrics)}"
        )
    for name, fn in metrics.items():
        if not isinstance(name, str) or name == "loss":
            raise ValueError(f"metrics names must be strings other than 'loss', got {name!r}")
        if not callable(fn):
            raise TypeError(f"metrics[{name!r}] must be a function, got {_describe(fn)}")
    return dict(metrics)


def _device(model, device):
    if device is not None:
        return torch.device(device)
    parameter = next(model.parameters(), None)
    if parameter is None:
        raise ValueError("model has no parameters to take the device from; pass device=...")
    return parameter.device


def _batches(name, loader, device):
    """Yield the loader's batches moved to ``device``; complain about anything else."""
    count = 0
    for batch in loader:
        if not (isinstance(batch, (tuple, list)) and len(batch) == 2):
            raise TypeError(f"{name} must yield (x, y) pairs, got {_describe(batch)}")
        count += 1
        x, y = batch
        yield x.to(device), y.to(device)
    if count == 0:
        raise ValueError(
            f"{name} yielded no batches; pass a DataLoader or a list of batches "
            "(a generator is used up after one pass)"
        )


def _scalar(what, value):
    if not (isinstance(value, torch.Tensor) and value.dim() == 0):
        raise ValueError(
            f"{what} must return a scalar tensor (the mean over the batch), got {_describe(value)}"
        )
    return value


def _global_grad_norm(parameters):
    # The same quantity clip_grad_norm_ computes, without touching the gradients.
    norms = [p.grad.detach().norm() for p in parameters if p.grad is not None]
    if not norms:
        return 0.0
    return torch.linalg.vector_norm(torch.stack(norms)).item()


@torch.no_grad()
def evaluate(model, loader, loss_fn, *, metrics=None, device=None):
    """Mean loss and metrics of ``model`` over every example of ``loader``.

    Puts the model in evaluation mode (``model.eval()``) and leaves it there;
    :func:`train` switches back to training mode at the start of each epoch.
    Each batch's mean is weighted by its number of examples (the size of the
    first dimension of ``y``), so a smaller last batch counts exactly as much
    as its examples do and the result is the mean over all examples.

    Args:
        model: a ``torch.nn.Module``; ``model(x)`` returns the predictions.
        loader: an iterable of ``(x, y)`` batches, e.g. from :func:`helpers.tasks.make_loader`.
        loss_fn: ``loss_fn(predictions, y)`` returns the mean loss of the batch (a scalar tensor).
        metrics: optional dict ``name -> fn(predictions, y)``, each returning a scalar mean.
        device: where to move each batch; default: the device of the model's first parameter.

    Returns:
        dict: ``{"loss": float, <metric name>: float, ...}``.

    Raises:
        TypeError, ValueError: an argument has the wrong type or value, or the
            loader yields nothing.
    """
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {_describe(model)}")
    _check_loader("loader", loader)
    if not callable(loss_fn):
        raise TypeError(f"loss_fn must be a function, got {_describe(loss_fn)}")
    metrics = _check_metrics(metrics)
    device = _device(model, device)

    model.eval()
    sums = dict.fromkeys(["loss", *metrics], 0.0)
    count = 0
    for x, y in _batches("loader", loader, device):
        predictions = model(x)
        size = y.shape[0]
        sums["loss"] += size * _scalar("loss_fn", loss_fn(predictions, y)).item()
        for name, fn in metrics.items():
            sums[name] += size * _scalar(f"metrics[{name!r}]", fn(predictions, y)).item()
        count += size
    return {name: total / count for name, total in sums.items()}


def _train_epoch(
    model, loader, loss_fn, optimizer, clip_norm, parameters, device, epoch, history, scheduler=None
):
    """One pass over ``loader``: append to ``history``'s step lists, return the mean loss."""
    model.train()
    total, count = 0.0, 0
    for step, (x, y) in enumerate(_batches("train_loader", loader, device), start=1):
        loss = _scalar("loss_fn", loss_fn(model(x), y))
        loss_value = loss.item()
        if not math.isfinite(loss_value):
            raise FloatingPointError(
                f"the training loss is {loss_value} at epoch {epoch}, step {step}; "
                "lower the learning rate or clip the gradients (clip_norm=...)"
            )
        optimizer.zero_grad()
        loss.backward()
        history.grad_norm.append(_global_grad_norm(parameters))
        if clip_norm is not None:
            torch.nn.utils.clip_grad_norm_(parameters, clip_norm)
        optimizer.step()
        if scheduler is not None:
            scheduler.step()
        history.step_loss.append(loss_value)
        total += y.shape[0] * loss_value
        count += y.shape[0]
    return total / count


def train(
    model,
    train_loader,
    loss_fn,
    *,
    epochs,
    optimizer,
    clip_norm=None,
    scheduler=None,
    val_loader=None,
    metrics=None,
    early_stopping=None,
    device=None,
    progress=True,
    description="training",
):
    """Train ``model`` for ``epochs`` passes over ``train_loader``, or until early stopping.

    Every step: move the batch to ``device``, compute ``loss_fn(model(x), y)``,
    backpropagate, record the global gradient norm, clip the gradients to
    ``clip_norm`` if given (``torch.nn.utils.clip_grad_norm_``), and step the
    optimizer. After each epoch, if ``val_loader`` is given, :func:`evaluate`
    measures the loss and ``metrics`` on it. A progress bar over the epochs
    shows the latest losses: a widget in Jupyter, text on standard output
    elsewhere (never on standard error, which fails the book's build).

    The model is in training mode (``model.train()``) during the steps of each
    epoch and in evaluation mode during validation; it is left in whichever
    mode came last. Nothing else is restored or moved: the model must already
    be on ``device``.

    Args:
        model: a ``torch.nn.Module``; ``model(x)`` returns the predictions.
        train_loader: an iterable of ``(x, y)`` batches, e.g. from
            :func:`helpers.tasks.make_loader` (the first dimension of ``y`` is the batch).
        loss_fn: ``loss_fn(predictions, y)`` returns the mean loss of the batch (a scalar tensor).
        epochs: number of passes over ``train_loader`` (int >= 1).
        optimizer: a ``torch.optim.Optimizer`` over the model's parameters.
        clip_norm: if given (a number > 0), rescale the gradients so that their
            global L2 norm is at most ``clip_norm`` (Pascanu et al. 2013).
        scheduler: optional ``torch.optim.lr_scheduler`` of ``optimizer``,
            stepped after every optimizer step (for example ``OneCycleLR`` with
            ``total_steps = epochs * len(train_loader)``).
        val_loader: optional iterable of ``(x, y)`` batches evaluated after every epoch.
        metrics: optional dict ``name -> fn(predictions, y)`` returning a scalar
            mean; computed on ``val_loader`` (required then) and recorded as
            ``val_<name>``.
        early_stopping: optional :class:`EarlyStopping`: stop once its
            validation column has not improved for ``patience`` epochs
            (``epochs`` is then the largest budget), and end with the best
            epoch's weights; ``history.best_epoch`` says which.
        device: where to move each batch; default: the device of the model's first parameter.
        progress: show a progress bar (default True).
        description: the progress bar's label.

    Returns:
        History: per-epoch records and per-step losses and gradient norms.

    Raises:
        TypeError, ValueError: an argument has the wrong type or value.
        FloatingPointError: a training loss is NaN or infinite (the message
            names the epoch and step; the error's ``history`` attribute holds
            the steps recorded before it); lower the learning rate or clip the gradients.
    """
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {_describe(model)}")
    _check_loader("train_loader", train_loader)
    if not callable(loss_fn):
        raise TypeError(f"loss_fn must be a function, got {_describe(loss_fn)}")
    epochs = check_positive_int("epochs", epochs)
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(
            f"optimizer must be a torch.optim.Optimizer such as "
            f"torch.optim.SGD(model.parameters(), lr=0.1), got {_describe(optimizer)}"
        )
    if clip_norm is not None:
        clip_norm = check_positive_number("clip_norm", clip_norm)
    if scheduler is not None and getattr(scheduler, "optimizer", None) is not optimizer:
        raise ValueError(
            f"scheduler must be a torch.optim.lr_scheduler of the optimizer passed "
            f"as optimizer, got {_describe(scheduler)}"
        )
    if val_loader is not None:
        _check_loader("val_loader", val_loader)
    metrics = _check_metrics(metrics)
    if metrics and val_loader is None:
        raise ValueError("metrics are computed on the validation set: pass val_loader too")
    if early_stopping is not None:
        if not isinstance(early_stopping, EarlyStopping):
            raise TypeError(
                f"early_stopping must be a helpers.training.EarlyStopping, got "
                f"{_describe(early_stopping)}"
            )
        if val_loader is None:
            raise ValueError("early stopping watches the validation set: pass val_loader too")
        watched = early_stopping.monitor[len("val_") :]
        if watched != "loss" and watched not in metrics:
            raise ValueError(
                f"early_stopping.monitor is {early_stopping.monitor!r}, but the "
                f"metrics are {sorted(metrics)}; add {watched!r} to metrics"
            )
    if not isinstance(progress, bool):
        raise TypeError(f"progress must be True or False, got {_describe(progress)}")
    device = _device(model, device)
    parameters = [p for p in model.parameters() if p.requires_grad]

    history = History()
    best_value, best_state, waited = None, None, 0
    # tqdm.auto draws a widget in Jupyter (which ignores `file`) and text
    # elsewhere; text goes to stdout because the book's build fails on stderr.
    with tqdm(
        range(1, epochs + 1), desc=description, unit="epoch", disable=not progress, file=sys.stdout
    ) as bar:
        for epoch in bar:
            start = time.perf_counter()
            try:
                train_loss = _train_epoch(
                    model,
                    train_loader,
                    loss_fn,
                    optimizer,
                    clip_norm,
                    parameters,
                    device,
                    epoch,
                    history,
                    scheduler,
                )
            except FloatingPointError as error:
                error.history = history  # what led up to the divergence, for plots
                raise
            record = {"epoch": epoch, "train_loss": train_loss}
            if val_loader is not None:
                scores = evaluate(model, val_loader, loss_fn, metrics=metrics, device=device)
                record.update({f"val_{name}": value for name, value in scores.items()})
            record["seconds"] = time.perf_counter() - start
            history.records.append(record)
            bar.set_postfix({k: f"{v:.4g}" for k, v in record.items() if k.endswith("loss")})
            if early_stopping is not None:
                value = record[early_stopping.monitor]
                if early_stopping.improved(value, best_value):
                    best_value, waited, history.best_epoch = value, 0, epoch
                    if early_stopping.restore_best:
                        best_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
                else:
                    waited += 1
                    if waited >= early_stopping.patience:
                        history.stopped_early = epoch < epochs
                        break
    if best_state is not None:
        model.load_state_dict(best_state)
    return history
