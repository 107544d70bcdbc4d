"""The comparison of recurrent units: its design, one run of it, and the verdicts it supports.

The chapter "Comparing the units" and ``benchmarks/experiments/compare_units.py``
share this module, so the sweep that made the committed artefact and the live
rerun in the chapter are the same code:

- :data:`VARIANTS`, :data:`LEARNING_RATES`, :data:`SETTINGS` and the seeds fix
  the design: four units (the vanilla RNN, the LSTM with PyTorch's
  initialisation and with forget-gate bias 1, the GRU), the adding problem at
  three lengths and the copy task, a grid of learning rates;
- :func:`unit_run` trains one unit on one task with one seed and learning rate
  until validation stops improving (:class:`helpers.training.EarlyStopping`
  with :data:`PATIENCE`, within a largest budget), scores the best epoch's
  model once on the test split, and returns a JSON-able record with its
  learning curves, the task's no-learning baselines and whether it diverged;
- :func:`choose_learning_rates` picks each unit's learning rate per task from
  the tuning runs, on validation only;
- :func:`summary_rows` and :func:`paired` turn the final runs into the table
  and the paired intervals the chapter's verdicts rest on.

A run is *diverged* (:func:`diverged`) when its training loss became NaN or
infinite, or when its validation loss at some epoch was more than twice the
best it had reached before and above the no-learning baseline: training blew
up. Early stopping then scores the best epoch before the blow-up, so the
flag is what shows that it happened.
"""

import math
import statistics

from helpers.evidence import paired_difference, summarize
from helpers.experiments import run_adding, run_copy
from helpers.tasks import adding_problem, adding_problem_baselines, copy_task_baseline, task_splits
from helpers.training import EarlyStopping
from helpers.validation import check_choice, check_positive_int, check_positive_number

__all__ = [
    "VARIANTS",
    "LEARNING_RATES",
    "PATIENCE",
    "SETTINGS",
    "TUNING_SEED",
    "TUNING_SETTINGS",
    "FINAL_SEEDS",
    "label",
    "setting_name",
    "diverged",
    "unit_run",
    "choose_learning_rates",
    "summary_rows",
    "paired",
    "tuning_table",
    "results_table",
]

#: (unit, forget_bias) in the order of the tables; ``None`` keeps PyTorch's initialisation.
VARIANTS = (("RNN", None), ("LSTM", None), ("LSTM", 1.0), ("GRU", None))

#: The learning rates of Adam each unit chooses from, on validation.
LEARNING_RATES = (1e-3, 3e-3, 1e-2)

#: Epochs (of 200 steps) without a better validation loss before training stops. Long,
#: because a gated unit can sit on the baseline for several epochs before it finds the
#: marked values (the plateau of the adding problem).
PATIENCE = 10

#: The tasks: name -> (task, task arguments, largest budget in epochs of 200 steps).
SETTINGS = {
    "adding, T = 50": ("adding", {"length": 50}, 15),
    "adding, T = 100": ("adding", {"length": 100}, 20),
    "adding, T = 200": ("adding", {"length": 200}, 25),
    "copy, delay 50": ("copy", {"delay": 50, "copy_length": 5, "hidden_size": 64}, 30),
}

#: The seed of the learning-rate search; its runs are not among the final ones.
TUNING_SEED = 100

#: Where the learning rate is chosen (for every setting of the same task), and the
#: budget of the search in epochs: the adding problem at T = 100 stands for all three
#: lengths, and both searches use a shorter budget than the final runs.
TUNING_SETTINGS = {"adding, T = 100": 10, "copy, delay 50": 10}

#: The seeds of the final runs: data splits, initial weights and batch order. Three, not
#: five: five did not fit the sweep's budget of about 90 minutes on the book's machine.
FINAL_SEEDS = (0, 1, 2)


def label(unit, forget_bias=None):
    """The unit's name in tables: ``'LSTM (forget bias 1)'``."""
    return unit if forget_bias is None else f"{unit} (forget bias {forget_bias:g})"


def setting_name(task, **task_kwargs):
    """``'adding, T = 100'`` or ``'copy, delay 50'``: the key of :data:`SETTINGS`."""
    if task == "adding":
        return f"adding, T = {task_kwargs['length']}"
    return f"copy, delay {task_kwargs['delay']}"


def diverged(train_finite, val_loss, baseline):
    """Whether a run blew up: a non-finite training loss, or a validation loss that at
    some epoch was more than twice the best before it and above ``baseline``."""
    if not train_finite:
        return True
    for k in range(1, len(val_loss)):
        best_before = min(val_loss[:k])
        if val_loss[k] > 2 * best_before and val_loss[k] > baseline:
            return True
    return False


def unit_run(
    setting, unit, *, seed, lr, forget_bias=None, max_epochs=None, patience=PATIENCE, device=None
):
    """Train ``unit`` on ``setting`` until validation stops improving; score it on test once.

    Args:
        setting: a key of :data:`SETTINGS` (``"adding, T = 100"``, ``"copy, delay 50"``).
        unit: ``"RNN"``, ``"LSTM"`` or ``"GRU"``.
        seed: int >= 0: the splits, the initial weights and the batch order.
        lr: Adam's learning rate.
        forget_bias: the LSTM's initial forget-gate bias, or ``None``.
        max_epochs: the largest budget in epochs of 200 steps (default: the setting's).
        patience: epochs without a better validation loss before stopping.
        device: where to train (default the CPU).

    Returns:
        a JSON-able dict: ``setting``, ``task``, ``unit`` (its label), ``seed``,
        ``lr``, ``parameters``, the curves ``train_loss``, ``val_loss`` (and
        ``val_accuracy`` for the copy task) per epoch, ``best_epoch``,
        ``stopped_early``, ``epochs``, ``diverged``, the test scores of the best
        epoch's model (``test_loss``, plus ``test_accuracy`` for the copy task;
        ``None`` when the run diverged to NaN), ``baselines`` (the task's
        no-learning scores on the same test split) and ``seconds``.
    """
    check_choice("setting", setting, tuple(SETTINGS))
    task, task_kwargs, budget = SETTINGS[setting]
    check_positive_number("lr", lr)
    max_epochs = budget if max_epochs is None else check_positive_int("max_epochs", max_epochs)
    early_stopping = EarlyStopping(patience=patience, monitor="val_loss", mode="min")
    common = dict(
        seed=seed,
        lr=lr,
        epochs=max_epochs,
        forget_bias=forget_bias,
        device=device,
        early_stopping=early_stopping,
    )
    record = {
        "setting": setting,
        "task": task,
        "unit": label(unit, forget_bias),
        "seed": seed,
        "lr": lr,
        "max_epochs": max_epochs,
        "patience": patience,
    }
    if task == "adding":
        baselines = _adding_baselines(task_kwargs["length"], seed)
        no_learning = baselines["constant"]
    else:
        no_learning = copy_task_baseline(task_kwargs["delay"], task_kwargs["copy_length"], 8)
        baselines = {"memoryless": no_learning, "chance_accuracy": 1 / 8}
    try:
        if task == "adding":
            result = run_adding(unit, task_kwargs["length"], **common)
            curves = {"train_loss": result["train_mse"], "val_loss": result["val_mse"]}
            scores = {"test_loss": result["test_mse"]}
        else:
            result = run_copy(
                unit,
                task_kwargs["delay"],
                copy_length=task_kwargs["copy_length"],
                hidden_size=task_kwargs["hidden_size"],
                **common,
            )
            curves = {
                "train_loss": result["train_loss"],
                "val_loss": result["val_loss"],
                "val_accuracy": result["val_accuracy"],
            }
            scores = {"test_loss": result["test_loss"], "test_accuracy": result["test_accuracy"]}
    except FloatingPointError as error:  # a NaN or infinite training loss
        history = error.history
        curves = {
            "train_loss": history["train_loss"] if len(history) else [],
            "val_loss": history["val_loss"] if len(history) else [],
        }
        if task == "copy":
            curves["val_accuracy"] = history["val_accuracy"] if len(history) else []
        record.update(
            curves,
            parameters=None,
            best_epoch=history.best_epoch,
            stopped_early=False,
            epochs=len(history),
            diverged=True,
            test_loss=None,
            baselines=baselines,
        )
        if task == "copy":
            record["test_accuracy"] = None
        return record
    record.update(
        curves,
        parameters=result["parameters"],
        best_epoch=result["best_epoch"],
        stopped_early=result["stopped_early"],
        epochs=len(curves["val_loss"]),
        diverged=diverged(True, curves["val_loss"], no_learning),
        **scores,
        baselines=baselines,
        steps=result["steps"],
    )
    return record


def _adding_baselines(length, seed):
    x, y = task_splits(adding_problem, (1, 1, 2000), seed=seed, length=length)["test"]
    return adding_problem_baselines(x, y)


def choose_learning_rates(tuning_runs):
    """Each unit's learning rate per task: the one whose tuning run reached the lowest
    validation loss (a run that diverged to NaN counts as infinitely bad).

    Args:
        tuning_runs: records of :func:`unit_run` (with ``setting``, ``unit``, ``lr``).

    Returns:
        dict ``task -> unit label -> lr`` (``"adding"`` and ``"copy"``).
    """
    best = {}
    for run in tuning_runs:
        finite = [v for v in run["val_loss"] if math.isfinite(v)]
        value = min(finite) if finite and run["test_loss"] is not None else math.inf
        key = (run["task"], run["unit"])
        if key not in best or value < best[key][0]:
            best[key] = (value, run["lr"])
    chosen = {}
    for (task, unit), (_, lr) in best.items():
        chosen.setdefault(task, {})[unit] = lr
    return chosen


def _score(run):
    """The score a table reports: test MSE (adding) or accuracy on the copied symbols (copy)."""
    return run["test_loss"] if run["task"] == "adding" else run["test_accuracy"]


def summary_rows(runs):
    """One row per (setting, unit) of the final runs: scores per seed, mean, spread, interval.

    A run that diverged to NaN has no score; the row counts it in ``diverged``
    and leaves it out of the mean (the chapter says so). Rows come in the order
    of :data:`SETTINGS` and :data:`VARIANTS`.
    """
    groups = {}
    for run in runs:
        groups.setdefault((run["setting"], run["unit"]), []).append(run)
    rows = []
    for setting in SETTINGS:
        for unit, forget_bias in VARIANTS:
            members = sorted(
                groups.get((setting, label(unit, forget_bias)), []), key=lambda run: run["seed"]
            )
            if not members:
                continue
            scored = [run for run in members if _score(run) is not None]
            scores = [_score(run) for run in scored]
            row = {
                "setting": setting,
                "task": members[0]["task"],
                "unit": members[0]["unit"],
                "metric": "test MSE"
                if members[0]["task"] == "adding"
                else "test accuracy (copied symbols)",
                "lr": members[0]["lr"],
                "parameters": members[0]["parameters"],
                "seeds": [run["seed"] for run in scored],
                "scores": scores,
                "test_loss": [run["test_loss"] for run in scored],
                "diverged": sum(run["diverged"] for run in members),
                "stopped_early": sum(bool(run["stopped_early"]) for run in members),
                "best_epochs": [run["best_epoch"] for run in members],
                "baselines": {
                    name: statistics.fmean(run["baselines"][name] for run in members)
                    for name in members[0]["baselines"]
                },
            }
            if len(scores) >= 2:
                interval = summarize(scores)
                row.update(
                    mean=interval.mean, std=interval.std, low=interval.low, high=interval.high
                )
            elif scores:
                row.update(mean=scores[0], std=0.0, low=scores[0], high=scores[0])
            rows.append(row)
    return rows


def paired(runs, setting, a, b, *, score="test_loss"):
    """The paired difference ``a - b`` over the seeds both units ran in ``setting``.

    Args:
        runs: the final records of :func:`unit_run`.
        setting: a key of :data:`SETTINGS`.
        a, b: unit labels (``"GRU"``, ``"LSTM (forget bias 1)"``).
        score: ``"test_loss"`` or ``"test_accuracy"``.

    Returns:
        :class:`helpers.evidence.Difference`, over the seeds where both have a score.
    """
    if score not in ("test_loss", "test_accuracy"):
        raise ValueError(f"score must be 'test_loss' or 'test_accuracy', got {score!r}")
    by_seed = {}
    for run in runs:
        if run["setting"] == setting and run["unit"] in (a, b) and run.get(score) is not None:
            by_seed.setdefault(run["seed"], {})[run["unit"]] = run[score]
    seeds = sorted(seed for seed, pair in by_seed.items() if len(pair) == 2)
    if len(seeds) < 2:
        raise ValueError(
            f"{a} and {b} share {len(seeds)} scored seeds in {setting!r}; "
            f"a paired interval needs at least 2"
        )
    return paired_difference(
        [by_seed[s][a] for s in seeds], [by_seed[s][b] for s in seeds], names=(a, b)
    )


def tuning_table(artefact):
    """The learning-rate search of an artefact as a markdown table.

    One row per setting searched and unit, one column per learning rate: the
    lowest validation loss of the run, *diverged* where :func:`diverged` says
    so, and the rate chosen in bold.
    """
    chosen = artefact["settings"]["learning_rates_chosen"]
    tuning = [run for run in artefact["runs"] if run["stage"] == "tuning"]
    rates = artefact["settings"]["learning_rates"]
    lines = [
        "| setting | unit | " + " | ".join(f"lr {lr:g}" for lr in rates) + " |",
        "| --- | --- |" + " ---: |" * len(rates),
    ]
    for setting in artefact["settings"]["tuning_settings"]:
        for unit, forget_bias in VARIANTS:
            name = label(unit, forget_bias)
            cells = []
            for lr in rates:
                run = next(
                    (
                        r
                        for r in tuning
                        if r["setting"] == setting and r["unit"] == name and r["lr"] == lr
                    ),
                    None,
                )
                if run is None:
                    cells.append("")
                    continue
                finite = [v for v in run["val_loss"] if math.isfinite(v)]
                text = f"{min(finite):.4g}" if finite else "NaN"
                if run["diverged"]:
                    text += " *diverged*"
                if chosen[run["task"]][name] == lr:
                    text = f"**{text}**"
                cells.append(text)
            lines.append(f"| {setting} | {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


_BASELINE_NAMES = {
    "constant": "always 1",
    "marker_blind": "marker-blind",
    "last_marked_only": "last marked value only",
    "memoryless": "memoryless",
    "chance_accuracy": "guessing",
}


def results_table(artefact):
    """The final runs of an artefact as a markdown table: one row per setting and unit.

    Mean ± standard deviation over seeds and the 95% t-interval of the mean of
    the test score, the number of runs that diverged or stopped early, and the
    task's no-learning baselines on the same test splits (mean over seeds).
    """
    lines = [
        "| setting | unit | lr | parameters | test score | mean ± sd | 95% CI | diverged "
        "| stopped early | baselines |",
        "| --- | --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | --- |",
    ]
    for row in artefact["summary"]:
        n = len(row["best_epochs"])
        baselines = ", ".join(
            f"{_BASELINE_NAMES[name]} {value:.3g}" for name, value in row["baselines"].items()
        )
        metric = "MSE" if row["task"] == "adding" else "accuracy"
        lines.append(
            f"| {row['setting']} | {row['unit']} | {row['lr']:g} | {row['parameters']:,} "
            f"| {metric} | {row['mean']:.3g} ± {row['std']:.2g} "
            f"| {row['low']:.3g} to {row['high']:.3g} | {row['diverged']} of {n} "
            f"| {row['stopped_early']} of {n} | {baselines} |"
        )
    return "\n".join(lines)
