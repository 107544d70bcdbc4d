"""Batch grading: a folder of submitted notebooks into a CSV of points and one feedback file each.

From the command line::

    python -m helpers.course.grading chapters/bptt.md submissions/ --out grades/

Each ``*.ipynb`` in ``submissions/`` is one submission. For each, in its own
subprocess and temporary working folder, the notebook runs top to bottom in a
fresh kernel with every cell allowed to fail (a cell over ``--cell-timeout``
seconds is interrupted and the next cell runs). Then, in the same kernel, the
grader calls the check of every implementation exercise of the chapter (the
``helpers.exercises.check_...(names)`` call the chapter makes, read by
:mod:`helpers.course.exercise_catalog`) on the functions the submission defined,
with the ``helpers`` installed here, not anything the notebook redefined
under that name. A passed check is worth one point.

The grader never stops on a submission: a notebook that is not valid JSON or
not a notebook, a cell that raises or calls ``sys.exit``, a kernel that dies
(the notebook runs again without the cell that killed it), a deleted cell
(its function is then "not defined") and an infinite loop all give zero where
they fail, with the reason in the feedback. A submission still running after
``--timeout`` seconds is killed, kernel included; the checks it finished keep
their points.

Writes ``OUT/grades.csv`` (columns ``submission``, ``status``, one per
implementation exercise, ``total``, ``seconds``) and
``OUT/feedback/SUBMISSION.md`` (per exercise: the points and the check's
report; then the cells that raised). Derivations and experiments are read by
the instructor, so they have no column.
"""

import argparse
import ast
import contextlib
import csv
import io
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from helpers.course.exercise_catalog import chapter_exercises

__all__ = ["Grade", "grade_submission", "grade_folder", "main"]

DEFAULT_TIMEOUT = 600  # seconds for a whole submission
DEFAULT_CELL_TIMEOUT = 300  # seconds for one cell
_KERNEL_DEATHS_FORGIVEN = 3  # reruns without the cell that killed the kernel


@dataclass
class Grade:
    """The grade of one submission.

    Attributes:
        submission: the notebook's file stem.
        status: ``"graded"``, ``"time limit"``, ``"not a notebook"`` or
            ``"grader error"``.
        points: exercise label -> points (0 or 1) for every implementation exercise.
        feedback: exercise label -> the check's report, or why it did not run.
        cell_errors: ``"cell N: Error: message"`` for every cell that raised.
        seconds: wall time of the submission.
    """

    submission: str
    status: str
    points: dict
    feedback: dict
    cell_errors: list = field(default_factory=list)
    seconds: float = 0.0

    @property
    def total(self):
        return sum(self.points.values())


# --------------------------------------------------------------------------- in the kernel


def _parse_check_call(call):
    """``(check name, [argument names])`` of ``helpers.exercises.check_x(a, b)``."""
    node = ast.parse(call, mode="eval").body
    if not (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and all(isinstance(arg, ast.Name) for arg in node.args)
        and not node.keywords
    ):
        raise ValueError(f"the check call {call!r} is not helpers.exercises.check_...(names)")
    return node.func.attr, [arg.id for arg in node.args]


def run_check(label, call, namespace, results_path):
    """Run one exercise's check on the functions in ``namespace``; append the outcome to ``results_path``.

    Called by the grader inside the submission's kernel (``namespace`` is the
    notebook's globals). Appends one JSON line ``{"label", "points",
    "report"}``. Never raises, an interrupt included (the grader's cell
    time limit), so the next check still runs.
    """
    import importlib

    points, report = 0, io.StringIO()
    try:
        check_name, names = _parse_check_call(call)
        missing = [name for name in names if name not in namespace]
        if missing:
            report.write(
                f"`{missing[0]}` is not defined: the cell that defines it was deleted, "
                "renamed or raised before defining it.\n"
            )
        else:
            check = getattr(importlib.import_module("helpers.course.checks"), check_name)
            with contextlib.redirect_stdout(report):
                check(*(namespace[name] for name in names))
            points = 1
    except KeyboardInterrupt:
        report.write(
            "\nThe check was interrupted: it ran past the cell time limit "
            "(an infinite loop in the submitted function?).\n"
        )
    except BaseException as error:  # CheckFailed, or anything else: both are feedback
        from helpers.course.checks import CheckFailed

        if not isinstance(error, CheckFailed):
            report.write(f"\nThe check stopped with {type(error).__name__}: {error}\n")
    with open(results_path, "a", encoding="utf-8") as results:
        results.write(
            json.dumps({"label": label, "points": points, "report": report.getvalue()}) + "\n"
        )


# --------------------------------------------------------------------------- one submission


def _first_line(cell):
    return next((line.strip() for line in cell.source.splitlines() if line.strip()), "")[:60]


def _cell_errors(cells, numbers):
    """``"cell N: Error: message"`` for each cell that raised; ``numbers`` are the submission's numbering."""
    errors = []
    for index, cell in zip(numbers, cells):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                message = (output.get("evalue") or "").strip().split("\n")[0]
                errors.append(
                    f"cell {index} (`{_first_line(cell)}`): {output.get('ename')}: {message}"[:300]
                )
    return errors


def _grade_in_this_process(notebook_path, exercises, cell_timeout, workdir, results_path, pid_path):
    """Execute the submission and its checks; the checks append to ``results_path``.

    Returns a dict ``{"status", "cell_errors"}``.
    """
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import DeadKernelError

    try:
        submitted = nbformat.read(notebook_path, as_version=4)
        nbformat.validate(submitted)
    except Exception as error:
        return {
            "status": "not a notebook",
            "cell_errors": [
                f"not a valid Jupyter notebook ({type(error).__name__}: {str(error).strip()[:300]})"
            ],
        }

    killers = set()  # cells that killed the kernel; the notebook runs again without them
    while True:
        kept = [
            index
            for index, cell in enumerate(submitted.cells)
            if cell.cell_type == "code" and index not in killers
        ]
        notebook = nbformat.v4.new_notebook(
            metadata=submitted.metadata, cells=[submitted.cells[index] for index in kept]
        )
        open(results_path, "w").close()
        client = NotebookClient(
            notebook,
            timeout=cell_timeout,
            kernel_name="python3",
            allow_errors=True,
            interrupt_on_timeout=True,
            resources={"metadata": {"path": str(workdir)}},
        )
        position, checking = -1, None
        try:
            with client.setup_kernel():
                kernel = client.km.provisioner.process  # a Popen: poll() is None while alive
                Path(pid_path).write_text(str(kernel.pid))
                for position, cell in enumerate(notebook.cells):
                    client.execute_cell(cell, position)
                    if kernel.poll() is not None:  # died after its reply (exit() in some kernels)
                        raise DeadKernelError(f"the kernel died after cell {position}")
                for exercise in exercises:
                    checking = exercise.label
                    grading = nbformat.v4.new_code_cell(
                        "import helpers.course.grading as _grading\n"
                        f"_grading.run_check({exercise.label!r}, {exercise.check!r}, globals(), "
                        f"{str(results_path)!r})"
                    )
                    notebook.cells.append(grading)
                    client.execute_cell(grading, len(notebook.cells) - 1)
        except DeadKernelError:
            errors = _cell_errors(notebook.cells[: len(kept)], kept)
            if checking is not None:  # the submitted function ended the process
                return {
                    "status": "graded",
                    "cell_errors": errors
                    + [
                        f"the kernel died during the check of {checking} (os._exit or a crash "
                        "in the submitted code): that check and the ones after it were not run"
                    ],
                }
            if position < 0 or len(killers) >= _KERNEL_DEATHS_FORGIVEN:
                return {
                    "status": "graded",
                    "cell_errors": errors
                    + [
                        f"the kernel died in {len(killers) + 1} cells; the grader gave up rerunning"
                    ],
                }
            killers.add(kept[position])
            continue
        errors = _cell_errors(notebook.cells[: len(kept)], kept)
        errors += [
            f"cell {index} (`{_first_line(submitted.cells[index])}`): the kernel died "
            "here (exit(), quit(), os._exit or a crash); the notebook ran again without "
            "this cell"
            for index in sorted(killers)
        ]
        return {"status": "graded", "cell_errors": errors}


def _kill_group(pid):
    with contextlib.suppress(ProcessLookupError, PermissionError, ValueError):
        os.killpg(os.getpgid(pid), signal.SIGKILL)


def _read_results(results_path):
    results = {}
    if results_path.exists():
        for line in results_path.read_text(encoding="utf-8").splitlines():
            with contextlib.suppress(json.JSONDecodeError):
                record = json.loads(line)
                results[record["label"]] = record
    return results


def grade_submission(
    chapter, notebook_path, *, timeout=DEFAULT_TIMEOUT, cell_timeout=DEFAULT_CELL_TIMEOUT
):
    """Grade one submitted notebook against ``chapter``'s implementation exercises.

    The notebook runs in a subprocess (its own session, so a time limit kills
    it with its kernel) in a temporary working folder.

    Returns:
        a :class:`Grade`.
    """
    exercises = [e for e in chapter_exercises(chapter) if e.kind == "Implementation"]
    notebook_path = Path(notebook_path).resolve()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="grading-") as workdir:
        workdir = Path(workdir)
        results_path, pid_path, summary_path = (
            workdir / ".results.jsonl",
            workdir / ".kernel.pid",
            workdir / ".summary.json",
        )
        spec = {
            "chapter": str(Path(chapter).resolve()),
            "notebook": str(notebook_path),
            "cell_timeout": cell_timeout,
            "workdir": str(workdir),
            "results": str(results_path),
            "pid": str(pid_path),
            "summary": str(summary_path),
        }
        process = subprocess.Popen(
            [sys.executable, "-m", "helpers.course.grading", "--one", json.dumps(spec)],
            cwd=workdir,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            log, _ = process.communicate(timeout=timeout)
            timed_out = False
        except subprocess.TimeoutExpired:
            timed_out = True
            if pid_path.exists():
                with contextlib.suppress(ValueError):
                    _kill_group(int(pid_path.read_text()))
            _kill_group(process.pid)
            log, _ = process.communicate()
        results = _read_results(results_path)
        summary = {}
        if summary_path.exists():
            with contextlib.suppress(json.JSONDecodeError):
                summary = json.loads(summary_path.read_text())
    seconds = time.perf_counter() - started

    if timed_out:
        status = "time limit"
    elif summary:
        status = summary["status"]
    else:
        status = "grader error"
    points, feedback = {}, {}
    for exercise in exercises:
        record = results.get(exercise.label)
        points[exercise.label] = record["points"] if record else 0
        if record:
            feedback[exercise.label] = record["report"]
        elif timed_out:
            feedback[exercise.label] = (
                f"Not checked: the submission ran past the time limit "
                f"of {timeout} s before this check finished."
            )
        elif status == "not a notebook":
            feedback[exercise.label] = "Not checked: the file is not a valid notebook."
        elif status == "graded":
            feedback[exercise.label] = (
                "Not checked: the kernel died during this check or an "
                "earlier one (see the cells that raised)."
            )
        else:
            feedback[exercise.label] = (
                "Not checked: the grader failed on this submission:\n"
                + "\n".join(summary.get("cell_errors", []))
                + log.decode(errors="replace")[-2000:]
            )
    return Grade(
        notebook_path.stem, status, points, feedback, summary.get("cell_errors", []), seconds
    )


def _one(spec):
    """The subprocess of :func:`grade_submission`."""
    spec = json.loads(spec)
    exercises = [e for e in chapter_exercises(spec["chapter"]) if e.kind == "Implementation"]
    try:
        summary = _grade_in_this_process(
            spec["notebook"],
            exercises,
            spec["cell_timeout"],
            spec["workdir"],
            spec["results"],
            spec["pid"],
        )
    except Exception:
        import traceback

        summary = {"status": "grader error", "cell_errors": [traceback.format_exc()[-2000:]]}
    Path(spec["summary"]).write_text(json.dumps(summary))
    return 0


# --------------------------------------------------------------------------- a folder


def _feedback_text(grade, chapter):
    lines = [
        f"# Feedback: {grade.submission}",
        "",
        f"Chapter: {Path(chapter).stem}. Status: {grade.status}. "
        f"Points: {grade.total} of {len(grade.points)} "
        f"(one per implementation exercise). Time: {grade.seconds:.1f} s.",
        "",
    ]
    for label, points in grade.points.items():
        lines += [
            f"## {label}: {points} point{'s' if points != 1 else ''}",
            "",
            "```text",
            grade.feedback[label].rstrip(),
            "```",
            "",
        ]
    if grade.cell_errors:
        lines += ["## Cells that raised", ""] + [f"- {error}" for error in grade.cell_errors]
    return "\n".join(lines).rstrip() + "\n"


def grade_folder(
    chapter,
    folder,
    out_dir,
    *,
    timeout=DEFAULT_TIMEOUT,
    cell_timeout=DEFAULT_CELL_TIMEOUT,
    jobs=1,
    progress=True,
):
    """Grade every ``*.ipynb`` in ``folder``; write ``grades.csv`` and ``feedback/*.md`` in ``out_dir``.

    Args:
        chapter: the chapter the submissions answer (its ``.md`` source).
        folder: the folder of submissions.
        out_dir: where to write the grades.
        timeout: seconds allowed for one submission.
        cell_timeout: seconds allowed for one cell.
        jobs: submissions graded at the same time.
        progress: show a tqdm progress bar.

    Returns:
        the list of :class:`Grade`, sorted by submission.
    """
    from tqdm.auto import tqdm

    folder, out_dir = Path(folder), Path(out_dir)
    if not folder.is_dir():
        raise FileNotFoundError(f"folder: no folder of submissions at {folder}")
    for name, value in (("timeout", timeout), ("cell_timeout", cell_timeout), ("jobs", jobs)):
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
            raise ValueError(f"{name} must be a positive number, got {value!r}")
    labels = [e.label for e in chapter_exercises(chapter) if e.kind == "Implementation"]
    if not labels:
        raise ValueError(f"chapter: {chapter} has no implementation exercise to grade")
    submissions = sorted(folder.glob("*.ipynb"))
    if not submissions:
        raise FileNotFoundError(f"folder: no .ipynb submissions in {folder}")

    def grade(path):
        return grade_submission(chapter, path, timeout=timeout, cell_timeout=cell_timeout)

    with ThreadPoolExecutor(max_workers=int(jobs)) as pool:
        grades = list(
            tqdm(
                pool.map(grade, submissions),
                total=len(submissions),
                desc="grading",
                disable=not progress,
            )
        )

    (out_dir / "feedback").mkdir(parents=True, exist_ok=True)
    with open(out_dir / "grades.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["submission", "status", *labels, "total", "seconds"])
        for g in grades:
            writer.writerow(
                [
                    g.submission,
                    g.status,
                    *(g.points[label] for label in labels),
                    g.total,
                    f"{g.seconds:.1f}",
                ]
            )
    for g in grades:
        (out_dir / "feedback" / f"{g.submission}.md").write_text(
            _feedback_text(g, chapter), encoding="utf-8"
        )
    return grades


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--one"]:
        return _one(argv[1])
    parser = argparse.ArgumentParser(
        prog="python -m helpers.course.grading",
        description="Grade a folder of submitted notebooks: grades.csv and one feedback file each.",
    )
    parser.add_argument("chapter", help="the chapter's source, e.g. chapters/bptt.md")
    parser.add_argument("folder", help="folder of submitted .ipynb notebooks")
    parser.add_argument("--out", required=True, help="folder for grades.csv and feedback/")
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        help=f"seconds per submission (default {DEFAULT_TIMEOUT})",
    )
    parser.add_argument(
        "--cell-timeout",
        type=float,
        default=DEFAULT_CELL_TIMEOUT,
        help=f"seconds per cell (default {DEFAULT_CELL_TIMEOUT})",
    )
    parser.add_argument("--jobs", type=int, default=1, help="submissions graded at once")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    grades = grade_folder(
        args.chapter,
        args.folder,
        args.out,
        timeout=args.timeout,
        cell_timeout=args.cell_timeout,
        jobs=args.jobs,
    )
    print(
        f"graded {len(grades)} submissions in {time.perf_counter() - started:.1f} s: "
        f"{Path(args.out) / 'grades.csv'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
