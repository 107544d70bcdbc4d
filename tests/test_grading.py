"""Batch grading (helpers.course.grading): every kind of submission is graded and none stops the run.

The submissions are real notebooks executed in real kernels: the student version
of a small chapter with the answers filled in (right, wrong, raising, looping,
exiting, with a cell deleted) and two files that are not notebooks, plus the
book's bptt chapter itself and its unmodified student version.
"""

import csv
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pytest

from helpers.course.assignments import student_notebook
from helpers.course.grading import grade_folder, grade_submission, main

from conftest import REPO

pytestmark = pytest.mark.slow  # grades notebooks in real kernels (minutes)

HEADER = "---\n" + (REPO / "chapters/notation.md").read_text().split("---\n")[1] + "---\n\n"

CHAPTER = (
    HEADER
    + """# A small chapter

```{code-cell} ipython3
import numpy as np
import helpers.exercises
```

## Exercises

```{exercise} Derivation
:label: small-derivation

Show that clipping keeps the direction.
```

```{exercise} Implementation
:label: small-clip

Implement `clip_grad_norm(grads, max_norm)`.
```

```{code-cell} ipython3
:tags: [hide-input]

def clip_grad_norm(grads, max_norm):
    ### BEGIN SOLUTION
    norm = np.sqrt(sum(float(np.sum(g**2)) for g in grads))
    scale = min(1.0, max_norm / norm) if norm > 0 else 1.0
    return [g * scale for g in grads]
    ### END SOLUTION


helpers.exercises.check_clip_grad_norm(clip_grad_norm)
```

```{exercise} Implementation
:label: small-step

Implement `my_step_forward(x, h_prev, Wx, Wh, b)`.
```

```{code-cell} ipython3
:tags: [hide-input]

def my_step_forward(x, h_prev, Wx, Wh, b):
    ### BEGIN SOLUTION
    h = np.tanh(x @ Wx + h_prev @ Wh + b)
    return h, (x, h_prev, Wx, Wh, b, h)
    ### END SOLUTION


helpers.exercises.check_rnn_step_forward(my_step_forward)
```

```{exercise} Experiment
:label: small-experiment

Time it.
```
"""
)

CLIP_RIGHT = """\
    norm = np.sqrt(sum(float(np.sum(g**2)) for g in grads))
    return [g * min(1.0, max_norm / norm) if norm > 0 else g for g in grads]"""
CLIP_EACH_ARRAY = (
    "    return [g * min(1.0, max_norm / max(np.linalg.norm(g), 1e-12)) for g in grads]"
)
STEP_RIGHT = """\
    h = np.tanh(x @ Wx + h_prev @ Wh + b)
    return h, None"""
STEP_NO_TANH = """\
    h = x @ Wx + h_prev @ Wh + b
    return h, None"""
STEP_RAISING = "    raise ValueError('I give up')"
STEP_LOOPING = "    while True:\n        pass"
# Generous limits: a busy machine must not trip them (`import helpers` alone can take
# over 5 s under load). The looping cell hits CELL_TIMEOUT, the stuck kernel TIMEOUT.
CELL_TIMEOUT = 30
TIMEOUT = 20  # CPU seconds of all the cells; the sleeping one hits 4 x 20 + 60 s of wall time
STUCK_MARKER = f"rnn-book-stuck-{os.getpid()}"


def submission(student, clip=CLIP_RIGHT, step=STEP_RIGHT, before=None, delete=None):
    """The student notebook with the two answers filled in and cells added or deleted."""
    notebook = nbformat.from_dict(json.loads(json.dumps(student)))
    answers = iter([clip, step])
    for cell in notebook.cells:
        if "raise NotImplementedError()" in cell.source:
            cell.source = cell.source.replace("    raise NotImplementedError()", next(answers))
    if delete:
        notebook.cells = [c for c in notebook.cells if not c.source.startswith(delete)]
    if before:
        notebook.cells.insert(2, nbformat.v4.new_code_cell(before))
    return notebook


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """Grade one folder holding every kind of submission; return (grades by name, out dir, seconds)."""
    root = tmp_path_factory.mktemp("grading")
    chapter = root / "small.md"
    chapter.write_text(CHAPTER)
    student = student_notebook(chapter)
    folder = root / "submissions"
    folder.mkdir()
    notebooks = {
        "right": submission(student),
        "wrong": submission(student, clip=CLIP_EACH_ARRAY, step=STEP_NO_TANH),
        "crash": submission(student, step=STEP_RAISING, before="1 / 0"),
        "loop": submission(student, step=STEP_LOOPING),
        "sys_exit": submission(student, before="import sys\nsys.exit(3)"),
        "kernel_dies": submission(student, before="import os\nos._exit(1)"),
        "deleted": submission(student, delete="def my_step_forward"),
        "kills_in_function": submission(student, step="    import os\n    os._exit(1)"),
        "unmodified": student,
        # sleeps (no CPU time) and ignores interrupts, in a child process named by a marker
        "stuck": submission(
            student,
            before=(
                "import subprocess, sys, time\n"
                f"subprocess.Popen([sys.executable, '-c', 'import time\\nwhile True: time.sleep(1)', {STUCK_MARKER!r}])\n"
                "while True:\n    try:\n        time.sleep(0.1)\n"
                "    except BaseException:\n        pass"
            ),
        ),
    }
    for name, notebook in notebooks.items():
        nbformat.write(notebook, folder / f"{name}.ipynb")
    (folder / "malformed.ipynb").write_text('{"cells": [')
    (folder / "not_a_notebook.ipynb").write_text('{"cells": 3}')
    (folder / "notes.txt").write_text("not a submission")
    out = root / "grades"
    started = time.perf_counter()
    grades = grade_folder(
        chapter, folder, out, timeout=TIMEOUT, cell_timeout=CELL_TIMEOUT, jobs=2, progress=False
    )
    seconds = time.perf_counter() - started
    print(f"graded {len(grades)} submissions in {seconds:.1f} s")
    return {g.submission: g for g in grades}, out, seconds


def test_the_csv_has_one_row_per_notebook_and_one_column_per_implementation_exercise(graded):
    grades, out, _ = graded
    rows = list(csv.DictReader(open(out / "grades.csv")))
    assert list(rows[0]) == [
        "submission",
        "status",
        "small-clip",
        "small-step",
        "total",
        "seconds",
        "isolation",
        "sha256",
    ]
    assert (
        [row["submission"] for row in rows]
        == sorted(grades)
        == sorted(
            [
                "right",
                "wrong",
                "crash",
                "loop",
                "sys_exit",
                "kernel_dies",
                "deleted",
                "kills_in_function",
                "unmodified",
                "stuck",
                "malformed",
                "not_a_notebook",
            ]
        )
    )
    points = {
        row["submission"]: (int(row["small-clip"]), int(row["small-step"]), int(row["total"]))
        for row in rows
    }
    assert points == {
        "right": (1, 1, 2),
        "wrong": (0, 0, 0),
        "crash": (1, 0, 1),
        "loop": (1, 0, 1),
        "sys_exit": (1, 1, 2),
        "kernel_dies": (1, 1, 2),
        "deleted": (1, 0, 1),
        "kills_in_function": (1, 0, 1),
        "unmodified": (0, 0, 0),
        "stuck": (0, 0, 0),
        "malformed": (0, 0, 0),
        "not_a_notebook": (0, 0, 0),
    }
    for name in grades:
        assert (out / "feedback" / f"{name}.md").is_file()


def test_the_right_submission_gets_the_checks_reports(graded):
    grades, out, _ = graded
    right = grades["right"]
    assert right.status == "graded" and right.cell_errors == []
    assert re.search(r"All \d+ checks passed\.", right.feedback["small-clip"])
    text = (out / "feedback" / "right.md").read_text()
    assert "Points: 2 of 2" in text and "## small-step: 1 point" in text


def test_wrong_answers_get_the_checks_diagnosis(graded):
    wrong = graded[0]["wrong"]
    assert "✗" in wrong.feedback["small-clip"] and "checks failed" in wrong.feedback["small-clip"]
    assert "tanh" in wrong.feedback["small-step"]
    # While grading, the notebook's own check cells only say that the grader runs the checks.
    assert wrong.cell_errors == []


def test_a_crash_costs_only_what_it_breaks(graded):
    crash = graded[0]["crash"]
    assert crash.status == "graded"
    assert "raised ValueError: I give up" in crash.feedback["small-step"]
    assert any("ZeroDivisionError" in error and "`1 / 0`" in error for error in crash.cell_errors)


def test_an_infinite_loop_is_interrupted_and_the_other_checks_still_count(graded):
    loop = graded[0]["loop"]
    assert loop.status == "graded" and loop.points["small-clip"] == 1
    # the call ran out of CPU time in the sandbox, the check reports it
    assert "CellTimeLimit" in loop.feedback["small-step"]


def test_sys_exit_is_a_cell_error_and_a_dead_kernel_reruns_without_the_cell(graded):
    grades = graded[0]
    assert any("SystemExit" in error for error in grades["sys_exit"].cell_errors)
    assert grades["kernel_dies"].cell_errors == [
        "cell 2 (`import os`): the process ended here (exit(), quit(), os._exit or a crash); "
        "the notebook ran again without this cell"
    ]


def test_a_deleted_cell_leaves_its_function_not_defined(graded):
    deleted = graded[0]["deleted"]
    assert "`my_step_forward` is not defined" in deleted.feedback["small-step"]


def test_a_function_that_kills_the_kernel_costs_its_own_exercise(graded):
    # The grader's call of it ends the sandbox's process: that check fails, the other passed.
    killed = graded[0]["kills_in_function"]
    assert killed.points == {"small-clip": 1, "small-step": 0}
    assert "ended the process it ran in" in killed.feedback["small-step"]


def test_an_unmodified_student_notebook_is_told_what_to_replace(graded):
    unmodified = graded[0]["unmodified"]
    for label in ("small-clip", "small-step"):
        assert "raised NotImplementedError" in unmodified.feedback[label]
        assert "replace `raise NotImplementedError()`" in unmodified.feedback[label]


def test_a_sleeping_loop_hits_the_wall_clock_limit_and_is_killed(graded):
    grades = graded[0]
    stuck = grades["stuck"]
    assert stuck.status == "time limit"
    assert "ran past the time limit" in stuck.feedback["small-clip"]
    # the sandbox's processes are gone: none carries the marker the cell put in its name
    alive = [p for p in Path("/proc").glob("[0-9]*/cmdline") if _has_marker(p)]
    assert alive == []


def _has_marker(cmdline):
    try:
        return STUCK_MARKER.encode() in cmdline.read_bytes()
    except OSError:
        return False


def test_files_that_are_not_notebooks_are_graded_zero(graded):
    grades, out, _ = graded
    for name in ("malformed", "not_a_notebook"):
        assert grades[name].status == "not a notebook"
        assert (
            grades[name].feedback["small-clip"] == "Not checked: the file is not a valid notebook."
        )
    assert (
        grades["malformed"]
        .cell_errors[0]
        .startswith("not a valid Jupyter notebook (NotJSONError: ")
    )
    assert grades["not_a_notebook"].cell_errors[0].startswith("not a valid Jupyter notebook (")
    assert "not a notebook" in (out / "feedback" / "malformed.md").read_text()


# --------------------------------------------------------------------------- a real chapter


def test_the_bptt_chapter_itself_gets_full_marks_and_its_student_version_zero(tmp_path):
    import jupytext

    jupytext.write(jupytext.read(REPO / "chapters/bptt.md"), tmp_path / "reference.ipynb")
    nbformat.write(student_notebook(REPO / "chapters/bptt.md"), tmp_path / "student.ipynb")
    reference = grade_submission(REPO / "chapters/bptt.md", tmp_path / "reference.ipynb")
    student = grade_submission(REPO / "chapters/bptt.md", tmp_path / "student.ipynb")
    assert reference.points == {"bptt-step-backward": 1}
    # while grading, the chapter's own cells that use the withheld reference raise (and the
    # cells that use their results): nothing else does
    assert reference.cell_errors and all(
        "ReferenceWithheld" in error or "NameError" in error for error in reference.cell_errors
    )
    assert student.points == {"bptt-step-backward": 0}
    assert "raised NotImplementedError" in student.feedback["bptt-step-backward"]


def test_the_command_line_writes_the_csv(tmp_path, capsys):
    chapter = tmp_path / "small.md"
    chapter.write_text(CHAPTER)
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "empty.ipynb").write_text("")
    assert main([str(chapter), str(folder), "--out", str(tmp_path / "out"), "--timeout", "60"]) == 0
    assert "graded 1 submissions" in capsys.readouterr().out
    rows = list(csv.DictReader(open(tmp_path / "out" / "grades.csv")))
    assert rows[0]["status"] == "not a notebook" and rows[0]["total"] == "0"


def test_bad_arguments_are_named(tmp_path):
    chapter = tmp_path / "small.md"
    chapter.write_text(CHAPTER)
    with pytest.raises(FileNotFoundError, match="folder: no folder"):
        grade_folder(chapter, tmp_path / "missing", tmp_path / "out")
    with pytest.raises(FileNotFoundError, match=r"folder: no \.ipynb submissions"):
        grade_folder(chapter, tmp_path, tmp_path / "out")
    with pytest.raises(ValueError, match="timeout must be a positive number, got 0"):
        grade_folder(chapter, tmp_path, tmp_path / "out", timeout=0)
    without = tmp_path / "none.md"
    without.write_text(HEADER + "# Nothing to grade\n")
    with pytest.raises(ValueError, match="has no implementation exercise"):
        grade_folder(without, tmp_path, tmp_path / "out")


@pytest.mark.parametrize("module", ["helpers.course.grading", "helpers.grading"])
def test_the_module_runs_as_a_command(tmp_path, module):
    """The new path, and the old one kept as an alias for one release."""
    done = subprocess.run([sys.executable, "-m", module, "--help"], capture_output=True, text=True)
    assert done.returncode == 0 and "grades.csv" in done.stdout


def test_every_chapters_own_solutions_get_full_marks_from_the_sandboxed_grader(tmp_path):
    """Every check works across the sandbox's wall: callbacks (unroll's step), modules sent
    back (notation's nn.RNN), gradients (the masked loss), numpy scalars, handles (caches)."""
    from concurrent.futures import ThreadPoolExecutor

    import jupytext

    from helpers.course.exercise_catalog import chapter_exercises

    chapters = [
        path
        for path in sorted((REPO / "chapters").glob("*.md"))
        if any(e.kind == "Implementation" for e in chapter_exercises(path))
    ]
    assert len(chapters) >= 16

    def grade(chapter):
        notebook = tmp_path / f"{chapter.stem}.ipynb"
        jupytext.write(jupytext.read(chapter), notebook)
        return chapter.stem, grade_submission(chapter, notebook, timeout=600, cell_timeout=300)

    with ThreadPoolExecutor(max_workers=2) as pool:
        grades = dict(pool.map(grade, chapters))
    short = {name: (g.status, g.total, len(g.points)) for name, g in grades.items()}
    assert all(g.status == "graded" and g.total == len(g.points) for g in grades.values()), short


def test_the_weaker_isolation_still_grades_and_withholds_the_reference(tmp_path):
    """Without bubblewrap (macOS, a container without namespaces): the checks still run out of
    reach and the reference is still withheld; the CSV names the level."""
    chapter = tmp_path / "small.md"
    chapter.write_text(CHAPTER)
    student = student_notebook(chapter)
    folder = tmp_path / "in"
    folder.mkdir()
    cheat = submission(student)
    for cell in cheat.cells:
        if "def my_step_forward" in cell.source:
            cell.source = (
                "from helpers.numpy_rnn import rnn_step_forward as my_step_forward\n"
                "helpers.exercises.check_rnn_step_forward(my_step_forward)"
            )
    nbformat.write(submission(student), folder / "right.ipynb")
    nbformat.write(cheat, folder / "cheat.ipynb")
    grades = {
        g.submission: g
        for g in grade_folder(
            chapter, folder, tmp_path / "out", level="process group", jobs=2, progress=False
        )
    }
    assert grades["right"].points == {"small-clip": 1, "small-step": 1}
    assert grades["cheat"].points == {"small-clip": 1, "small-step": 0}
    assert "ReferenceWithheld" in grades["cheat"].feedback["small-step"]
    rows = list(csv.DictReader(open(tmp_path / "out" / "grades.csv")))
    assert {row["isolation"] for row in rows} == {"process group"}
