"""The benchmark scripts (benchmarks/): they run and report what they say, whatever the times.

Times are not asserted anywhere in the tests (they are measured by `make bench`);
these tests check that a quick run measures every unit, that the layers it times
agree with torch.nn and the numpy reference with autograd (a benchmark of code
that computes something else would be meaningless), and that the report is
built from the measurements.
"""

import json
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

import rnn_speed  # noqa: E402
import run_all  # noqa: E402


@pytest.fixture(scope="module")
def quick(tmp_path_factory):
    out = tmp_path_factory.mktemp("bench")
    return rnn_speed.main(["--quick", "--device", "cpu", "--out", str(out)]), out


def test_a_quick_run_times_every_unit_both_ways(quick):
    result, _ = quick
    assert [row["unit"] for row in result["modules"]] == list(rnn_speed.UNITS)
    for row in result["modules"]:
        for mode in ("forward", "training_step"):
            assert row[f"{mode}_ratio"] == pytest.approx(
                row[f"{mode}_scratch_s"] / row[f"{mode}_torch.nn_s"]
            )
            assert row[f"{mode}_scratch_s"] > 0 and row[f"{mode}_torch.nn_s"] > 0
        # the two layers timed compute the same function
        assert row["max_output_difference"] < 1e-5


def test_the_numpy_reference_timed_gives_autograds_gradients(quick):
    result, _ = quick
    assert [row["unit"] for row in result["numpy"]] == list(rnn_speed.UNITS)
    for row in result["numpy"]:
        assert row["max_weight_gradient_difference"] < 1e-12
        assert row["ratio"] == pytest.approx(row["numpy_s"] / row["autograd_s"])


def test_the_report_is_written_from_the_measurements(quick):
    result, out = quick
    assert json.loads((out / "rnn_speed_quick.json").read_text()) == result
    table = (out / "rnn_speed_quick.md").read_text()
    lstm = next(row for row in result["modules"] if row["unit"] == "LSTM")
    assert f"| LSTM | cpu | 8 | 20 | 8 | 16 | {lstm['forward_torch.nn_s'] * 1e3:.2f} |" in table


def test_the_targets_compare_each_measurement_with_its_budget():
    speed = {
        "modules": [
            {
                "unit": "LSTM",
                "N": 64,
                "T": 100,
                "D": 64,
                "H": 256,
                "device": "cpu",
                "training_step_ratio": 1.7,
            }
        ]
    }
    chapters = [
        {"chapter": "chapters/a.md", "seconds": 12.0, "within_budget": True},
        {"chapter": "chapters/b.md", "seconds": 95.5, "within_budget": False},
    ]
    rows = run_all.targets(speed, chapters, {"seconds": 700.0, "built": True})
    assert [(budget, measured, met) for _, budget, measured, met in rows] == [
        ("<= 1.5", "1.70", False),
        ("<= 90 s", "95.5 s (chapters/b.md)", False),
        ("<= 900 s", "700 s", True),
    ]
    failed_build = run_all.targets(speed, [], {"seconds": 100.0, "built": False})
    assert failed_build[-1][2:] == ("100 s (FAILED)", False)
