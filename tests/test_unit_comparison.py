"""helpers.unit_comparison and its committed artefact: the design, one run, the verdicts."""

import importlib.util
import json
import math
from pathlib import Path

import pytest
import torch

from helpers.artefacts import load_artefact
from helpers.evidence import paired_difference
from helpers.experiments import load_unit_comparison
from helpers.tasks import adding_problem, adding_problem_baselines, task_splits
from helpers.unit_comparison import (
    FINAL_SEEDS,
    LEARNING_RATES,
    SETTINGS,
    TUNING_SEED,
    TUNING_SETTINGS,
    VARIANTS,
    choose_learning_rates,
    diverged,
    label,
    paired,
    summary_rows,
    unit_run,
)

REPO = Path(__file__).resolve().parents[1]


def fake_run(setting, unit, seed, score, *, lr=1e-2, val_loss=(0.2, 0.1), is_diverged=False):
    task = SETTINGS[setting][0]
    run = {
        "setting": setting,
        "task": task,
        "unit": unit,
        "seed": seed,
        "lr": lr,
        "parameters": 10,
        "val_loss": list(val_loss),
        "diverged": is_diverged,
        "stopped_early": False,
        "best_epoch": 2,
        "baselines": {"constant": 1 / 6} if task == "adding" else {"memoryless": 0.17},
    }
    if task == "adding":
        run["test_loss"] = score
    else:
        run["test_loss"] = None if score is None else 1 - score
        run["test_accuracy"] = score
    return run


@pytest.mark.parametrize(
    "val_loss, baseline, expected",
    [
        ([0.17, 0.16, 0.15], 0.167, False),  # learning slowly
        ([0.17, 0.01, 0.001, 0.0015], 0.167, False),  # noise near the bottom is not a blow-up
        ([0.17, 0.16, 0.30, 0.17], 0.167, False),  # below twice the best before it
        ([0.20, 0.17, 0.35, 0.17], 0.167, True),  # more than doubled, above the baseline
        ([0.17, 0.01, 0.5], 0.167, True),  # a learned model that blew up
        ([2.3, 0.40, 0.30], 0.173, False),  # a slow start above the baseline
    ],
)
def test_diverged_flags_a_validation_loss_that_blows_up(val_loss, baseline, expected):
    assert diverged(True, val_loss, baseline) is expected


def test_diverged_flags_a_non_finite_training_loss():
    assert diverged(False, [0.1], 0.167)


def test_choose_learning_rates_takes_the_lowest_validation_loss_per_task_and_unit():
    runs = [
        fake_run("adding, T = 100", "GRU", TUNING_SEED, 0.1, lr=1e-3, val_loss=[0.17, 0.05]),
        fake_run("adding, T = 100", "GRU", TUNING_SEED, 0.1, lr=1e-2, val_loss=[0.17, 0.001]),
        fake_run("adding, T = 100", "RNN", TUNING_SEED, 0.1, lr=1e-3, val_loss=[0.17, 0.166]),
        fake_run("adding, T = 100", "RNN", TUNING_SEED, 0.1, lr=1e-2, val_loss=[0.16, 0.0]),
        fake_run("copy, delay 50", "GRU", TUNING_SEED, 0.5, lr=3e-3, val_loss=[0.3, 0.1]),
    ]
    runs[3]["test_loss"] = None  # diverged to NaN: never chosen, whatever its curve says
    assert choose_learning_rates(runs) == {
        "adding": {"GRU": 1e-2, "RNN": 1e-3},
        "copy": {"GRU": 3e-3},
    }


def test_summary_rows_follow_from_the_runs_and_count_diverged_runs():
    runs = [
        fake_run("copy, delay 50", "GRU", seed, score) for seed, score in enumerate([1.0, 0.9, 0.8])
    ]
    runs += [
        fake_run("copy, delay 50", "RNN", seed, score, is_diverged=seed == 1)
        for seed, score in enumerate([0.1, None, 0.2])
    ]
    rows = {row["unit"]: row for row in summary_rows(runs)}
    assert list(rows) == ["RNN", "GRU"]  # the order of VARIANTS
    assert rows["GRU"]["mean"] == pytest.approx(0.9) and rows["GRU"]["std"] == pytest.approx(0.1)
    assert rows["GRU"]["low"] < 0.9 < rows["GRU"]["high"]
    assert rows["RNN"]["seeds"] == [0, 2] and rows["RNN"]["diverged"] == 1
    assert rows["RNN"]["metric"] == "test accuracy (copied symbols)"


def test_paired_compares_the_same_seeds_and_needs_two():
    runs = [
        fake_run("adding, T = 50", unit, seed, score)
        for unit, scores in [("GRU", [0.1, 0.2, 0.4]), ("LSTM", [0.2, 0.2, 0.5])]
        for seed, score in enumerate(scores)
    ]
    difference = paired(runs, "adding, T = 50", "GRU", "LSTM")
    expected = paired_difference([0.1, 0.2, 0.4], [0.2, 0.2, 0.5], names=("GRU", "LSTM"))
    assert difference == expected
    with pytest.raises(ValueError, match="share 0 scored seeds"):
        paired(runs, "adding, T = 100", "GRU", "LSTM")
    with pytest.raises(ValueError, match="score must be"):
        paired(runs, "adding, T = 50", "GRU", "LSTM", score="accuracy")


def test_unit_run_trains_to_its_budget_and_reports_the_baselines_of_its_test_split():
    torch.set_num_threads(1)
    run = unit_run("adding, T = 50", "RNN", seed=3, lr=1e-2, max_epochs=1)
    json.dumps(run)  # a record an artefact can store
    assert run["unit"] == "RNN" and run["epochs"] == 1 and run["best_epoch"] == 1
    assert len(run["train_loss"]) == len(run["val_loss"]) == 1
    x, y = task_splits(adding_problem, (1, 1, 2000), seed=3, length=50)["test"]
    assert run["baselines"] == adding_problem_baselines(x, y)
    assert run["diverged"] is False and 0 < run["test_loss"] < 1
    again = unit_run("adding, T = 50", "RNN", seed=3, lr=1e-2, max_epochs=1)
    assert again["val_loss"] == run["val_loss"] and again["test_loss"] == run["test_loss"]


def test_unit_run_rejects_an_unknown_setting():
    with pytest.raises(ValueError, match="setting must be one of"):
        unit_run("adding, T = 75", "GRU", seed=0, lr=1e-2)


# ----------------------------------------------------------------- the committed artefact


@pytest.fixture(scope="module")
def artefact():
    return load_artefact("compare_units")


def test_the_committed_comparison_has_provenance_and_every_unit_setting_and_seed(artefact):
    assert load_unit_comparison() == artefact
    made = artefact["provenance"]
    assert made["command"] == "make experiments ONLY=compare_units"
    assert made["machine"]["torch_threads"] == 1
    final = [run for run in artefact["runs"] if run["stage"] == "final"]
    expected = {
        (setting, label(unit, bias), seed)
        for setting in SETTINGS
        for unit, bias in VARIANTS
        for seed in FINAL_SEEDS
    }
    assert {(run["setting"], run["unit"], run["seed"]) for run in final} == expected
    assert len(FINAL_SEEDS) >= 3
    tuning = [run for run in artefact["runs"] if run["stage"] == "tuning"]
    assert {(run["setting"], run["unit"], run["lr"]) for run in tuning} == {
        (setting, label(unit, bias), lr)
        for setting in TUNING_SETTINGS
        for unit, bias in VARIANTS
        for lr in LEARNING_RATES
    }
    assert all(run["seed"] == TUNING_SEED and run["seed"] not in FINAL_SEEDS for run in tuning)


def test_the_committed_learning_rates_were_chosen_on_validation_and_used(artefact):
    tuning = [run for run in artefact["runs"] if run["stage"] == "tuning"]
    chosen = choose_learning_rates(tuning)
    assert artefact["settings"]["learning_rates_chosen"] == chosen
    for run in artefact["runs"]:
        if run["stage"] == "final":
            assert run["lr"] == chosen[run["task"]][run["unit"]], run


def test_the_committed_summary_and_table_follow_from_the_runs(artefact):
    final = [run for run in artefact["runs"] if run["stage"] == "final"]
    assert summary_rows(final) == artefact["summary"]
    for run in final:
        baseline = run["baselines"]["constant" if run["task"] == "adding" else "memoryless"]
        assert run["diverged"] == diverged(run["test_loss"] is not None, run["val_loss"], baseline)
        assert run["best_epoch"] == 1 + min(
            range(len(run["val_loss"])), key=lambda k: run["val_loss"][k]
        )
    spec = importlib.util.spec_from_file_location(
        "compare_units", REPO / "benchmarks" / "experiments" / "compare_units.py"
    )
    script = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(script)
    table = (REPO / "benchmarks" / "results" / "compare_units.md").read_text()
    assert table == script.markdown(artefact)
    assert not any(math.isnan(v) for run in final for v in run["val_loss"])


# ----------------------------------------------------------------- the splits


def test_adding_splits_share_no_sequence():
    splits = task_splits(adding_problem, (10_000, 1000, 2000), seed=0, length=50)
    rows = {name: {tuple(row) for row in x.flatten(1).tolist()} for name, (x, _) in splits.items()}
    assert not rows["train"] & rows["test"] and not rows["train"] & rows["validation"]
    assert not rows["validation"] & rows["test"]


def test_copy_splits_overlap_only_as_independent_draws_do():
    # 5 symbols out of 8: 8**5 = 32768 possible sequences, so independent draws repeat some;
    # the splits are independent (no sequence is shared more often than chance predicts).
    from helpers.tasks import copy_task

    splits = task_splits(copy_task, (10_000, 1000, 2000), seed=0, delay=50, copy_length=5)
    train = {tuple(row) for row in splits["train"][0].tolist()}
    test = [tuple(row) for row in splits["test"][0].tolist()]
    seen = sum(row in train for row in test) / len(test)
    expected = 1 - (1 - 1 / 8**5) ** 10_000
    assert abs(seen - expected) < 0.03, (seen, expected)
