"""The adding problem as an experiment: one model, one seed, a fixed budget, every curve kept.

The chapters on vanishing gradients and on the LSTM interpret runs on the
adding problem ("the RNN stays at the baseline at T = 100", "clipping stops
the blow-up", "the LSTM learns it"). Those runs, their live short versions in
the chapters and the sweeps behind them in ``benchmarks/experiments/`` all
call :func:`fit_adding`, so the chapter and the artefact cannot diverge:

- :func:`adding_model` builds the model of a seed: a
  :class:`helpers.experiments.LastStateRegressor` (a recurrent layer of 32
  units and a linear read-out of the last state), with the recurrent
  initialisation of :mod:`helpers.initialisation` for a vanilla RNN;
- :func:`fit_adding` trains it on the fixed splits of a seed (the same splits
  as :func:`helpers.experiments.train_adding`: 10,000 training, 1,000
  validation and 2,000 test sequences) for a named budget of epochs, keeps the
  epoch with the lowest validation error (the only choice made, and it is
  made on validation), scores that model once on the test split, and returns
  the curves (training and validation error per epoch, the largest gradient
  norm per epoch), the three untrained baselines of
  :func:`helpers.tasks.adding_problem_baselines` on validation and on test,
  and whether the run diverged;
- :func:`state_gradient_norms` measures how much a model's prediction
  depends on its memory at every earlier step (the hidden state of a vanilla
  RNN, the cell of an LSTM), the quantity whose vanishing the chapters are about.
"""

import math
import time

import numpy as np
import torch
from torch.nn import functional as F

from helpers.experiments import LastStateRegressor
from helpers.forget_gate import no_forget_model, set_input_bias
from helpers.initialisation import initialise_recurrent
from helpers.modules import lstm_update, rnn_update
from helpers.tasks import adding_problem, adding_problem_baselines, make_loader, task_splits
from helpers.training import EarlyStopping, evaluate, train
from helpers.validation import (
    _describe,
    check_choice,
    check_positive_int,
    check_positive_number,
    check_seed,
)

__all__ = [
    "UNITS",
    "OPTIMIZERS",
    "SPLIT_SIZES",
    "adding_model",
    "adding_splits",
    "fit_adding",
    "adding_run",
    "choose_on_validation",
    "first_epoch_below",
    "count_below",
    "mean_baselines",
    "draw_baselines",
    "state_gradient_norms",
]

#: The models :func:`adding_model` builds.
UNITS = ("RNN", "LSTM", "GRU", "LSTM-no-forget")

#: The optimizers :func:`fit_adding` knows: Adam, or plain SGD (no momentum).
OPTIMIZERS = ("adam", "sgd")

#: Sizes of the train, validation and test splits (those of ``helpers.experiments.train_adding``).
SPLIT_SIZES = (10_000, 1_000, 2_000)


def adding_model(
    unit="RNN",
    *,
    seed,
    init="default",
    nonlinearity="tanh",
    radius=None,
    forget_bias=None,
    input_bias=None,
    hidden_size=32,
):
    """The adding-problem model of ``seed``: ``LastStateRegressor`` with an initialisation.

    ``torch.manual_seed(seed)`` is called first, so the same seed gives the
    same initial weights (those of ``helpers.experiments.run_adding`` for the
    default initialisation).

    Args:
        unit: ``"RNN"``, ``"LSTM"``, ``"GRU"`` or ``"LSTM-no-forget"`` (the
            1997 LSTM: :func:`helpers.forget_gate.no_forget_model`).
        seed: int >= 0.
        init, radius: for ``"RNN"``, the recurrent initialisation
            (:func:`helpers.initialisation.initialise_recurrent`).
        nonlinearity: for ``"RNN"``, ``"tanh"`` or ``"relu"``.
        forget_bias: for ``"LSTM"``, the initial forget-gate bias (``None``: PyTorch's).
        input_bias: for the LSTMs, the initial input-gate bias (``None``: PyTorch's).
        hidden_size: H.
    """
    check_choice("unit", unit, UNITS)
    check_positive_int("hidden_size", hidden_size)
    if unit != "RNN" and (init != "default" or nonlinearity != "tanh" or radius is not None):
        raise ValueError(
            f"init, nonlinearity and radius apply to the vanilla RNN only, got unit={unit!r}"
        )
    if forget_bias is not None and unit != "LSTM":
        raise ValueError(f"forget_bias applies to unit 'LSTM' only, got unit={unit!r}")
    if input_bias is not None and not unit.startswith("LSTM"):
        raise ValueError(f"input_bias applies to the LSTMs only, got unit={unit!r}")
    if unit == "LSTM-no-forget":
        return no_forget_model(seed=seed, input_bias=input_bias, hidden_size=hidden_size)
    torch.manual_seed(check_seed("seed", seed))
    if unit == "RNN":
        check_choice("nonlinearity", nonlinearity, ("tanh", "relu"))
        model = LastStateRegressor("RNN", 2, hidden_size, nonlinearity=nonlinearity)
        initialise_recurrent(model.rnn, init, radius=radius)
    else:
        model = LastStateRegressor(unit, 2, hidden_size, forget_bias=forget_bias)
        if input_bias is not None:
            set_input_bias(model.rnn, input_bias)
    return model


def adding_splits(length, *, seed):
    """The fixed ``{"train", "validation", "test"}`` splits of ``seed`` at length ``length``."""
    return task_splits(adding_problem, SPLIT_SIZES, seed=seed, length=length)


def _finite_or_none(value):
    return value if value is not None and math.isfinite(value) else None


def fit_adding(
    model,
    length,
    *,
    seed,
    epochs,
    lr,
    optimizer="adam",
    batch_size=50,
    clip_norm=1.0,
    device=None,
    keep_steps=False,
):
    """Train ``model`` on the adding problem for ``epochs`` epochs; score the best epoch on test once.

    Every epoch is one pass over the 10,000 training sequences in batches of
    ``batch_size`` (200 steps at the default), shuffled with ``seed``, followed
    by the error on the 1,000 validation sequences. At the end the model holds
    the weights of the epoch with the lowest validation error, and that model
    is scored on the 2,000 test sequences, which nothing else looks at. A run
    whose training loss becomes infinite or NaN stops there and is reported as
    diverged (no test score).

    Args:
        model: maps ``(N, T, 2)`` to ``(N, 1)``, e.g. from :func:`adding_model`;
            it must already be on ``device``.
        length: the sequence length T (int >= 2).
        seed: int >= 0: the splits and the order of the batches.
        epochs: the budget (int >= 1).
        lr: the learning rate.
        optimizer: ``"adam"`` or ``"sgd"`` (plain, no momentum).
        batch_size: sequences per step.
        clip_norm: clip the global gradient norm to this (``None``: no clipping).
        device: where the batches go; default the model's device.
        keep_steps: also return the loss and gradient norm of every step.

    Returns:
        dict with ``length``, ``seed``, ``epochs``, ``lr``, ``optimizer``,
        ``batch_size``, ``clip_norm``, ``diverged`` (bool), ``steps`` (taken),
        ``train_mse`` and ``val_mse`` (one per finished epoch),
        ``max_grad_norm`` (the largest finite norm before clipping, per epoch),
        ``clipped_share`` (share of steps whose norm was clipped), ``best_epoch``
        and ``best_val_mse`` (``None`` if diverged before an epoch ended),
        ``test_mse`` (``None`` if diverged), ``baselines`` (``{"validation":
        {...}, "test": {...}}`` of :func:`helpers.tasks.adding_problem_baselines`),
        ``seconds``, ``model``, and with ``keep_steps`` ``step_loss`` and
        ``grad_norm`` (lists, one per step).
    """
    if not isinstance(model, torch.nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {_describe(model)}")
    check_positive_int("length", length, minimum=2)
    check_seed("seed", seed)
    check_positive_int("epochs", epochs)
    check_positive_number("lr", lr)
    check_choice("optimizer", optimizer, OPTIMIZERS)
    check_positive_int("batch_size", batch_size)
    if clip_norm is not None:
        check_positive_number("clip_norm", clip_norm)
    splits = adding_splits(length, seed=seed)
    make = torch.optim.Adam if optimizer == "adam" else torch.optim.SGD
    start = time.perf_counter()
    try:
        history = train(
            model,
            make_loader(*splits["train"], batch_size=batch_size, shuffle=True, seed=seed),
            F.mse_loss,
            epochs=epochs,
            optimizer=make(model.parameters(), lr=lr),
            clip_norm=clip_norm,
            val_loader=make_loader(*splits["validation"], batch_size=1000, shuffle=False),
            # patience = the whole budget: never stop early, keep the best epoch's weights
            early_stopping=EarlyStopping(patience=epochs, restore_best=True),
            device=device,
            progress=False,
            description=f"adding T = {length}, seed {seed}",
        )
        diverged = False
    except FloatingPointError as error:
        history, diverged = error.history, True
    seconds = time.perf_counter() - start
    steps_per_epoch = math.ceil(SPLIT_SIZES[0] / batch_size)
    norms = history.grad_norm
    # the largest finite norm of each epoch (an overflowing step ends a diverged run)
    max_grad_norm = [
        max((n for n in norms[k : k + steps_per_epoch] if math.isfinite(n)), default=None)
        for k in range(0, len(norms), steps_per_epoch)
    ]
    result = {
        "length": length,
        "seed": seed,
        "epochs": epochs,
        "lr": lr,
        "optimizer": optimizer,
        "batch_size": batch_size,
        "clip_norm": clip_norm,
        "diverged": diverged,
        "steps": len(history.step_loss),
        "train_mse": [_finite_or_none(r["train_loss"]) for r in history.records],
        "val_mse": [_finite_or_none(r["val_loss"]) for r in history.records],
        "max_grad_norm": max_grad_norm,
        "clipped_share": (
            sum(n > clip_norm for n in norms) / len(norms)
            if clip_norm is not None and norms
            else 0.0
        ),
        "best_epoch": None,
        "best_val_mse": None,
        "test_mse": None,
        "baselines": {
            name: adding_problem_baselines(*splits[name]) for name in ("validation", "test")
        },
        "seconds": seconds,
        "model": model,
    }
    finite = [k for k, value in enumerate(result["val_mse"]) if value is not None]
    if finite:
        best = min(finite, key=lambda k: result["val_mse"][k])
        result["best_epoch"], result["best_val_mse"] = best + 1, result["val_mse"][best]
    if not diverged:
        result["test_mse"] = evaluate(
            model,
            make_loader(*splits["test"], batch_size=1000, shuffle=False),
            F.mse_loss,
            device=device,
        )["loss"]
    if keep_steps:
        result["step_loss"], result["grad_norm"] = list(history.step_loss), list(norms)
    return result


def adding_run(
    *,
    length,
    seed,
    epochs,
    lr,
    optimizer="adam",
    clip_norm=1.0,
    batch_size=50,
    keep_model=False,
    keep_steps=False,
    **model_kwargs,
):
    """:func:`adding_model` then :func:`fit_adding`: one run of a sweep, as the sweeps and chapters call it.

    ``model_kwargs`` go to :func:`adding_model` (``unit``, ``init``,
    ``nonlinearity``, ``radius``, ``forget_bias``, ``input_bias``); the rest to
    :func:`fit_adding`. Returns its dict, without ``model`` unless ``keep_model``
    (the sweeps store the rest as JSON).
    """
    model = adding_model(seed=seed, **model_kwargs)
    result = fit_adding(
        model,
        length,
        seed=seed,
        epochs=epochs,
        lr=lr,
        optimizer=optimizer,
        clip_norm=clip_norm,
        batch_size=batch_size,
        keep_steps=keep_steps,
    )
    if not keep_model:
        del result["model"]
    return result


def choose_on_validation(runs, *, by="lr"):
    """The value of ``by`` (a learning rate) whose runs have the lowest mean best validation error.

    Args:
        runs: dicts of :func:`fit_adding` (one configuration, several seeds and
            values of ``by``); a diverged run counts as the constant baseline's
            validation error, the error of a model that learned nothing.
        by: the key that varies.

    Returns:
        ``(best value, {value: mean best validation error over its seeds})``.
    """
    scores = {}
    for run in runs:
        value = run["best_val_mse"]
        if run["diverged"] or value is None:
            value = run["baselines"]["validation"]["constant"]
        scores.setdefault(run[by], []).append(value)
    means = {key: float(np.mean(values)) for key, values in scores.items()}
    if not means:
        raise ValueError("runs is empty: nothing to choose from")
    return min(means, key=means.get), means


def first_epoch_below(run, baseline="last_marked_only"):
    """The first epoch (from 1) whose validation error is below a baseline's, or ``None`` if none is.

    ``run`` is a dict of :func:`fit_adding`; ``baseline`` names one of
    :func:`helpers.tasks.adding_problem_baselines` (the default: a model below
    ``"last_marked_only"`` has carried the first marked value across the gap).
    """
    level = run["baselines"]["validation"][baseline]
    return next(
        (
            epoch
            for epoch, value in enumerate(run["val_mse"], start=1)
            if value is not None and value < level
        ),
        None,
    )


def count_below(runs, baseline="last_marked_only", factor=1.0):
    """How many finished runs score below ``factor`` times a baseline's error on their own test split."""
    return sum(
        run["test_mse"] < factor * run["baselines"]["test"][baseline]
        for run in runs
        if not run["diverged"]
    )


def mean_baselines(runs, split="validation"):
    """Each baseline's error on ``split``, averaged over ``runs`` (every seed has its own splits)."""
    if not runs:
        raise ValueError("runs is empty: no baselines to average")
    return {
        name: float(np.mean([run["baselines"][split][name] for run in runs]))
        for name in runs[0]["baselines"][split]
    }


#: How :func:`draw_baselines` draws each baseline of the adding problem.
BASELINE_STYLES = {"constant": "-", "marker_blind": "--", "last_marked_only": ":"}


def draw_baselines(ax, baselines, *, suffix=""):
    """Draw the adding problem's baselines as grey horizontal lines, named in the legend.

    Args:
        ax: matplotlib Axes.
        baselines: dict ``name -> error``, as :func:`mean_baselines` or
            :func:`helpers.tasks.adding_problem_baselines` returns it.
        suffix: added to every label (``" (T = 50)"``).
    """
    for name, value in baselines.items():
        ax.axhline(
            value,
            color="0.45",
            linewidth=1.1,
            linestyle=BASELINE_STYLES.get(name, "-."),
            label=f"baseline: {name.replace('_', ' ')}{suffix}",
        )


def state_gradient_norms(model, x):
    """Mean ``||d prediction / d memory_t||`` over the batch, for t = 1..T, of a one-layer model.

    ``model`` is a :class:`helpers.experiments.LastStateRegressor` (or any
    module with a one-layer, batch-first ``rnn`` and a ``read_out`` of the last
    hidden state). The layer is run one step at a time with the update
    functions of :mod:`helpers.modules`, so that every state is a tensor whose
    gradient can be kept; memory_t is the cell ``c_t`` of an LSTM and the
    hidden state ``h_t`` of a vanilla RNN (tanh or ReLU). Autograd follows every
    path from the memory to the prediction. The loop's prediction is checked
    against ``model(x)``.

    Args:
        model: the model, on the device and in the dtype of ``x``.
        x: inputs ``(N, T, D)``.

    Returns:
        numpy array (T,): entry ``t - 1`` is the mean over the N sequences of
        the norm of the gradient of the prediction with respect to memory_t
        (the last entry is the last step).
    """
    rnn = model.rnn
    if getattr(rnn, "num_layers", 1) != 1 or getattr(rnn, "bidirectional", False):
        raise ValueError("model.rnn must have one layer and one direction")
    if not isinstance(x, torch.Tensor) or x.dim() != 3 or x.shape[-1] != rnn.input_size:
        raise ValueError(f"x must be a tensor (N, T, {rnn.input_size}), got {_describe(x)}")
    is_lstm = "LSTM" in type(rnn).__name__
    nonlinearity = getattr(rnn, "nonlinearity", "tanh")
    with torch.enable_grad():
        x_projected = x @ rnn.weight_ih_l0.T + rnn.bias_ih_l0
        h = x.new_zeros(x.shape[0], rnn.hidden_size)
        c = torch.zeros_like(h)
        memories = []
        for t in range(x.shape[1]):
            if is_lstm:
                h, c = lstm_update(x_projected[:, t], h, c, rnn.weight_hh_l0, rnn.bias_hh_l0)
            else:
                h = rnn_update(x_projected[:, t], h, rnn.weight_hh_l0, rnn.bias_hh_l0, nonlinearity)
            memory = c if is_lstm else h
            memory.retain_grad()
            memories.append(memory)
        prediction = model.read_out(h)
        with torch.no_grad():
            reference = model(x)
        if not torch.allclose(prediction, reference, atol=1e-5, rtol=1e-4):
            raise AssertionError("the step-by-step loop does not compute the model's prediction")
        prediction.sum().backward()  # each sequence's prediction depends on its own states only
    return np.array([m.grad.norm(dim=1).mean().item() for m in memories])
