"""helpers.artefacts: provenance, saving and loading, the sweep runner, and the live-vs-stored check."""

import json
import re
import subprocess
import sys

import pytest
import torch

from helpers import artefacts
from helpers.artefacts import (
    ArtefactMismatch,
    Sweep,
    check_agreement,
    load_artefact,
    provenance,
    save_artefact,
)

from conftest import REPO


def stored_artefact(**machine):
    data = {
        "provenance": provenance(
            command="make experiments ONLY=toy", seeds=[0, 1], wall_seconds=12.345
        )
    }
    data["provenance"]["machine"].update(machine)
    return data


def test_provenance_records_what_a_reviewer_needs():
    made = provenance(command="make experiments", seeds=[2, 0], wall_seconds=61.25)
    assert made["command"] == "make experiments"
    assert made["seeds"] == [2, 0] and made["wall_seconds"] == 61.2
    revision = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True
    ).stdout.strip()
    assert made["git_revision"] == revision and isinstance(made["git_dirty"], bool)
    assert made["packages"]["torch"] == torch.__version__
    assert {"numpy", "scipy", "scikit-learn", "helpers", "python"} <= set(made["packages"])
    assert {"platform", "processor", "cpus", "torch_threads", "device"} <= set(made["machine"])
    assert made["date"].endswith("+00:00")


def test_save_and_load_round_trip(tmp_path, monkeypatch):
    data = {**stored_artefact(), "runs": [{"seed": 0, "val_loss": [1.0, 0.5]}]}
    path = save_artefact("toy_run", data, folder=tmp_path)
    assert json.loads(path.read_text()) == data
    with pytest.raises(ValueError, match="provenance"):
        save_artefact("toy_run", {"runs": []}, folder=tmp_path)
    with pytest.raises(ValueError, match="name must be a word"):
        save_artefact("../escape", data, folder=tmp_path)


def test_saving_refuses_nan(tmp_path):
    with pytest.raises(ValueError):
        save_artefact("nan_run", {**stored_artefact(), "loss": float("nan")}, folder=tmp_path)


def test_every_shipped_artefact_loads_and_has_provenance():
    names = artefacts.artefact_names()
    assert names, "helpers/results holds no artefact"
    for name in names:
        data = load_artefact(name)
        # written by a finished Sweep: provenance complete, a summary, runs with their seeds
        assert {"provenance", "settings", "runs", "summary"} <= set(data), (name, sorted(data))
        record = data["provenance"]
        assert {
            "command",
            "git_revision",
            "git_dirty",
            "packages",
            "seeds",
            "machine",
            "date",
            "wall_seconds",
        } <= set(record), (name, sorted(record))
        assert (
            name in record["command"]
            and (REPO / "benchmarks" / "experiments" / f"{name}.py").is_file()
        )
        assert re.fullmatch(r"[0-9a-f]{40}", record["git_revision"]), name
        assert {"torch", "numpy", "python"} <= set(record["packages"]), name
        assert record["wall_seconds"] > 0 and data["runs"], name
        assert record["seeds"] == sorted({run["seed"] for run in data["runs"] if "seed" in run}), (
            name
        )


def test_loading_an_unknown_artefact_lists_the_known_ones():
    with pytest.raises(ValueError, match="no artefact named 'nothing_here'.*make experiments"):
        load_artefact("nothing_here")


def toy_run(seed, epochs):
    return {"val_loss": [1.0 / (seed + epoch + 1) for epoch in range(epochs)]}


def test_sweep_saves_after_every_run_and_finishes_with_a_summary(tmp_path):
    sweep = Sweep(
        "toy_sweep", command="python toy.py", settings={"epochs": 3}, folder=tmp_path, log=False
    )
    sweep.run(toy_run, seed=0, epochs=3)
    saved = json.loads((tmp_path / "toy_sweep.json").read_text())
    assert len(saved["runs"]) == 1 and saved["provenance"]["seeds"] == [0]
    assert "summary" not in saved  # until finish(): an interrupted sweep is recognisable
    sweep.run(toy_run, seed=1, epochs=3)
    path = sweep.finish(summary={"best": 0.25})
    saved = json.loads(path.read_text())
    assert [run["seed"] for run in saved["runs"]] == [0, 1]
    assert saved["runs"][1]["val_loss"] == [0.5, 1 / 3, 0.25]
    assert (
        json.loads(
            Sweep("toy_other", command="python toy.py", folder=tmp_path, log=False)
            .finish()
            .read_text()
        )["summary"]
        == {}
    )
    assert saved["summary"] == {"best": 0.25} and saved["settings"] == {"epochs": 3}
    assert saved["provenance"]["seeds"] == [0, 1]
    assert saved["provenance"]["command"] == "python toy.py"
    assert all(run["seconds"] >= 0 for run in saved["runs"])


def test_sweep_wants_a_dict_from_its_function(tmp_path):
    sweep = Sweep("toy_bad", command="python toy.py", folder=tmp_path, log=False)
    with pytest.raises(TypeError, match="must return a dict"):
        sweep.run(lambda seed: [seed], seed=0)


def test_live_run_that_repeats_the_stored_curve_agrees():
    stored = [2.0, 1.5, 1.2, 1.1, 1.05]
    agreement = check_agreement(stored, stored[:3], artefact=stored_artefact(device="cpu"))
    assert agreement.agrees and agreement.overlap == 3 and agreement.max_difference == 0
    assert "agrees with the stored artefact over 3 points" in str(agreement)


def test_a_changed_curve_fails_the_check_in_the_stored_environment():
    stored = [2.0, 1.5, 1.2, 1.1]
    live = [2.0, 1.5, 1.25]  # the code changed: the third epoch differs
    with pytest.raises(
        ArtefactMismatch,
        match=r"DIFFERS.*point 3.*stored 1\.2, live 1\.25.*"
        r"rerun `make experiments ONLY=toy`",
    ):
        check_agreement(stored, live, artefact=stored_artefact(device="cpu"))


def test_a_tiny_difference_within_the_tolerance_agrees():
    stored = [2.0, 1.5]
    agreement = check_agreement(
        stored, [2.0, 1.5 * (1 + 1e-6)], artefact=stored_artefact(device="cpu")
    )
    assert agreement.agrees


def test_another_environment_gets_a_note_instead_of_an_error(capsys):
    artefact = stored_artefact(device="cpu")
    artefact["provenance"]["packages"]["torch"] = "0.0.1"  # made with another torch
    agreement = check_agreement([2.0, 1.5], [2.0, 1.6], artefact=artefact)
    assert not agreement.agrees and not agreement.same_environment
    assert "differs from the stored run's" in capsys.readouterr().out
    # the same torch, but a GPU run against a CPU artefact: also a note
    agreement = check_agreement(
        [2.0, 1.5], [2.0, 1.6], artefact=stored_artefact(device="cpu"), device="cuda"
    )
    assert not agreement.same_environment


@pytest.mark.parametrize(
    "stored, live, error, message",
    [
        ([], [1.0], TypeError, "stored must be a non-empty list"),
        ([1.0], "1.0", TypeError, "live must be a non-empty list"),
        ([1.0], [float("inf")], ValueError, "live must hold finite numbers"),
    ],
)
def test_check_agreement_names_bad_curves(stored, live, error, message):
    with pytest.raises(error, match=message):
        check_agreement(stored, live, artefact=stored_artefact())


def test_check_agreement_wants_the_loaded_artefact():
    with pytest.raises(TypeError, match="artefact must be a dict loaded by load_artefact"):
        check_agreement([1.0], [1.0], artefact=None)


def test_the_experiments_runner_lists_every_script():
    listed = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "run_experiments.py"), "--list"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    lines = listed.splitlines()
    listed = [line.split()[0] for line in lines]
    scripts = sorted(
        p.stem
        for p in (REPO / "benchmarks" / "experiments").glob("*.py")
        if not p.stem.startswith("_")
    )
    assert listed == scripts and "compare_units" in listed
    # each line says when the stored artefact was made, how long it took, and who loads it
    compare = lines[listed.index("compare_units")]
    assert re.search(
        r"stored \d{4}-\d\d-\d\d, \d+ min on one thread; loaded by .*comparing_units", compare
    ), compare
    unknown = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "run_experiments.py"), "no_such_experiment"],
        capture_output=True,
        text=True,
    )
    assert unknown.returncode == 2 and "unknown experiment(s) no_such_experiment" in unknown.stderr
