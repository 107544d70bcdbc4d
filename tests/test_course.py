"""The course tools (helpers.course): the layout, the old import paths, the feedback API."""

import importlib
import inspect
import pkgutil
import subprocess
import sys

import numpy as np
import pytest

import helpers.course
import helpers.course.checks
import helpers.course.feedback as feedback

OLD_AND_NEW = [
    ("helpers.assignments", "helpers.course.assignments"),
    ("helpers.grading", "helpers.course.grading"),
    ("helpers.exercise_catalog", "helpers.course.exercise_catalog"),
    ("helpers.exercises", "helpers.course.checks"),
    ("helpers.exercises._feedback", "helpers.course.feedback"),
] + [
    (f"helpers.exercises.{info.name}", f"helpers.course.checks.{info.name}")
    for info in pkgutil.iter_modules(helpers.course.checks.__path__)
]


@pytest.mark.parametrize(("old", "new"), OLD_AND_NEW)
def test_an_old_path_is_the_new_module_itself(old, new):
    assert importlib.import_module(old) is importlib.import_module(new)


def test_the_old_names_are_the_new_objects():
    import helpers.exercises
    from helpers.exercises import CheckFailed, gated
    from helpers.grading import grade_folder

    assert helpers.exercises.check_rnn_step_forward is helpers.course.checks.check_rnn_step_forward
    assert CheckFailed is feedback.CheckFailed
    assert gated is helpers.course.checks.gated
    assert grade_folder is importlib.import_module("helpers.course.grading").grade_folder


@pytest.mark.parametrize(
    "module",
    [
        "helpers.course.grading",
        "helpers.grading",
        "helpers.course.assignments",
        "helpers.assignments",
    ],
)
def test_the_commands_run_by_their_new_and_old_names(module):
    done = subprocess.run(
        [sys.executable, "-W", "error::RuntimeWarning", "-m", module, "--help"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert "usage: python -m helpers.course." in done.stdout


def test_the_package_exports_every_check_of_its_modules_once():
    checks = helpers.course.checks
    modules = [
        importlib.import_module(f"{checks.__name__}.{info.name}")
        for info in pkgutil.iter_modules(checks.__path__)
    ]
    names = [name for module in modules for name in module.__all__]
    assert len(names) == len(set(names))
    assert sorted(checks.__all__) == sorted(["CheckFailed", "CheckResult", *names])
    for name in names:
        assert name.startswith("check_") and callable(getattr(checks, name))


def test_the_course_docstring_names_every_module():
    for info in pkgutil.iter_modules(helpers.course.__path__):
        assert f":mod:`helpers.course.{info.name}`" in helpers.course.__doc__


def test_every_public_name_of_feedback_is_documented():
    public = [
        name
        for name, value in vars(feedback).items()
        if not name.startswith("_")
        and (inspect.isfunction(value) or inspect.isclass(value))
        and value.__module__ == feedback.__name__
    ]
    assert {
        "Report",
        "start_check",
        "call_safely",
        "check_array",
        "compare_to_reference",
        "first_match",
        "check_backward_pass",
    } <= set(public)
    for name in public:
        assert inspect.getdoc(getattr(feedback, name)), f"{name} has no docstring"
    for step in ("start_check", "call_safely", "check_array", "compare_to_reference", "finish"):
        assert step in feedback.__doc__


def test_start_check_names_the_argument_that_is_not_a_function(capsys):
    with pytest.raises(TypeError, match=r"backward must be your function itself .* got an array"):
        feedback.start_check("check_x", forward=print, backward=np.zeros(2))
    report = feedback.start_check("check_x", fn=print)
    assert isinstance(report, feedback.Report) and capsys.readouterr().out == ""


def test_a_small_check_written_with_feedback_reports_and_raises(capsys):
    def check_double(fn):
        report = feedback.start_check("check_double", fn=fn)
        report.start_case("three numbers")
        x = np.array([1.0, 2.0, 3.0])
        got = feedback.call_safely(
            report, fn, feedback.function_label(fn, "double"), {"x": x.copy()}
        )
        if got is not feedback.FAILED and feedback.check_array(report, "y", got, x.shape):
            feedback.compare_to_reference(
                report, "y", got, 2 * x, variants=lambda: [("you squared x", lambda: x * x)]
            )
        return report.finish()

    def double(x):
        return x + x

    result = check_double(double)
    assert result.passed and len(result.messages) == 3
    with pytest.raises(feedback.CheckFailed) as failed:
        check_double(lambda x: x * x)
    assert "y differs from the reference" in str(failed.value)
    assert "hint: you squared x" in capsys.readouterr().out


def test_reduction_hint_names_the_missing_reduction():
    hints = ("per sequence", "per step", "one element")
    assert feedback.reduction_hint((3,), 3, (3, 5), *hints) == "per sequence"
    assert feedback.reduction_hint((3, 5), 15, (3, 5), *hints) == "per step"
    assert feedback.reduction_hint((1, 1), 1, (3, 5), *hints) == "one element"
    assert feedback.reduction_hint((2, 2), 4, (3, 5), *hints) is None
