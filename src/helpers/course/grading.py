"""Batch grading: a folder of submitted notebooks into a CSV of points and one feedback file each.

From the command line::

    python -m helpers.course.grading chapters/bptt.md submissions/ --out grades/

What it guarantees, and how:

- **Each submission runs alone in a sandbox** (:mod:`helpers.course.sandbox`):
  with bubblewrap, a private folder holding only that notebook's copy, no
  network, no view of the other submissions, the chapter's source, the grades
  or this grader; CPU-time, memory, file-size and process limits; and every
  process it started killed before its grade is recorded. Where bubblewrap is
  missing the weaker level is used and named in the CSV and on the console.
- **The checks run here, out of the submission's reach.** The sandbox only runs
  the submission's cells and then its functions on the inputs the checks send
  (:mod:`helpers.course.remote`); the checks, the references and the
  comparisons run in this process, so nothing a submission patches (a check, a
  report, numpy) decides its grade. The notebook's own ``check_...`` cells
  still run in the sandbox, for the student's feedback, and count for nothing.
- **The reference is not an answer**: the sandbox's ``helpers`` has the
  references of the graded exercises replaced by tripwires
  (:mod:`helpers.course.tripwires`), and calling one is named in the feedback.
- **Grades are written once**, by this process, after every sandbox is gone,
  into ``--out``; each row carries the submission's SHA-256.
- **Time limits are CPU time** (a busy machine cannot turn a right answer into
  a zero): ``--cell-timeout`` per cell and per function call, ``--timeout`` for
  all the cells, after which the remaining cells are skipped and the checks
  still run on the functions defined so far. A wall-clock limit of four times
  that (at least a minute more) ends a submission that sleeps.

A passed check is worth one point; derivations and experiments are read by the
instructor, so they have no column. Submissions are the ``.ipynb`` files of the
folder and its subfolders (any case of the suffix; one folder per student, as
learning-management systems export them); ``OUT/grades.csv`` has the columns
``submission``, ``status``, one per implementation exercise, ``total``,
``seconds``, ``isolation``, ``sha256``; ``OUT/feedback/NAME.md`` has, per
exercise, the points and the check's report, then the cells that raised.
"""

import argparse
import ast
import contextlib
import csv
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from helpers.course.exercise_catalog import chapter_exercises

__all__ = ["Grade", "grade_submission", "grade_folder", "find_submissions", "main"]

DEFAULT_TIMEOUT = 600  # CPU seconds for all the cells of a submission
DEFAULT_CELL_TIMEOUT = 300  # CPU seconds for one cell or one call of a function
_RUNS_FORGIVEN = 3  # reruns without a cell that ended the process
_NOT_A_NOTEBOOK = "Not checked: the file is not a valid notebook."


@dataclass
class Grade:
    """The grade of one submission.

    Attributes:
        submission: its path in the folder, without the suffix (``alice/hw3``).
        status: ``"graded"``, ``"time limit"``, ``"not a notebook"``,
            ``"forged output"`` or ``"grader error"``.
        points: exercise label -> points (0 or 1) for every implementation exercise.
        feedback: exercise label -> the check's report, or why it did not run.
        cell_errors: ``"cell N (`first line`): Error: message"`` per cell that raised.
        seconds: wall time of the submission.
        isolation: the sandbox's level (:data:`helpers.course.sandbox.LEVELS`).
        sha256: the submitted file's SHA-256, so a later change is detectable.
        notes: what the grader noticed (tampering, a withheld reference called).
    """

    submission: str
    status: str
    points: dict
    feedback: dict
    cell_errors: list = field(default_factory=list)
    seconds: float = 0.0
    isolation: str = ""
    sha256: str = ""
    notes: list = field(default_factory=list)

    @property
    def total(self):
        return sum(self.points.values())


# --------------------------------------------------------------------------- reading a submission


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


def _first_line(source):
    line = next((line.strip() for line in source.splitlines() if line.strip()), "")
    return line[:60].replace("`", "'")


# What a cell has no business doing in an exercise; found by reading the code, reported
# in the feedback. The grade does not depend on it: the checks run out of reach anyway.
_SUSPICIOUS = [
    (
        r"\bsys\._getframe\b|\binspect\.(stack|currentframe|getouterframes)\b",
        "reads the call stack",
    ),
    (r"\bgc\.get_(objects|referrers)\b", "searches the interpreter's objects"),
    (r"\bbuiltins\b|__builtins__", "changes builtins"),
    (r"\bsys\.modules\s*\[", "replaces modules"),
    (r"\b(helpers|np|numpy|torch)(\.\w+)+\s*=(?!=)", "assigns to a library's attribute"),
    (r"\bos\.(fork|setsid|kill|killpg)\b|\bsubprocess\b|\bctypes\b", "starts or signals processes"),
    (r"\bimportlib\.reload\b", "reloads modules"),
    (r"/proc/|\.\./|\bos\.(environ|getppid)\b", "looks outside its folder"),
    (
        r"\batexit\b|\bsignal\.signal\b|\bsys\.settrace\b|\bsys\.setprofile\b",
        "hooks the interpreter",
    ),
]


def suspicious_lines(notebook):
    """``"cell N, line M: what (`code`)"`` for each line that tampers, or tries to."""
    found = []
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code":
            continue
        for number, line in enumerate(cell.source.splitlines(), start=1):
            code = line.split("#")[0]
            for pattern, what in _SUSPICIOUS:
                if re.search(pattern, code):
                    found.append(f"cell {index}, line {number}: {what} (`{line.strip()[:80]}`)")
                    break
    return found


# --------------------------------------------------------------------------- one submission, in the worker


def _sandbox_env(sandbox, package_parent):
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": sandbox.home,
        "TMPDIR": "/tmp" if sandbox.level == "bubblewrap" else sandbox.home,
        "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": f"{sandbox.home}/.matplotlib",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONNOUSERSITE": "1",
        "PYTHONUNBUFFERED": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "LANG": "C.UTF-8",
    }
    if sandbox.level != "bubblewrap":  # no mount over the installed package: put the copy first
        env["PYTHONPATH"] = str(package_parent)
    return env


def _run_cells(notebook_path, package_dir, limits, level, cell_timeout, cells_timeout, skip):
    """Start a sandbox and run the cells; return (sandbox, channel, events, ended).

    `events` lists the runner's messages about cells; `ended` is None when the
    runner said it is ready, else why it stopped ("died in cell N", "time limit",
    "forged output: ...").
    """
    from helpers.course.remote import Channel, ProtocolError, SandboxGone
    from helpers.course.sandbox import Sandbox

    sandbox = Sandbox(notebook_path.parent, package_dir, limits, level)
    request_read, request_write = os.pipe()
    reply_read, reply_write = os.pipe()
    argv = [
        sys.executable,
        "-m",
        "helpers.course.runner",
        f"{sandbox.home}/{notebook_path.name}",
        str(request_read),
        str(reply_write),
        str(cell_timeout),
        str(cells_timeout),
        ",".join(map(str, sorted(skip))),
    ]
    try:
        sandbox.start(
            argv,
            env=_sandbox_env(sandbox, package_dir.parent),
            pass_fds=(request_read, reply_write),
        )
    finally:
        os.close(request_read)
        os.close(reply_write)
    channel = Channel(reply_read, request_write)
    deadline = time.monotonic() + 4 * cells_timeout + 60
    events, current = [], None
    while True:
        try:
            message = channel.receive(deadline)
        except SandboxGone as gone:
            if "in time" in str(gone):
                return sandbox, channel, events, "time limit"
            return sandbox, channel, events, ("died", current)
        except ProtocolError as error:
            return sandbox, channel, events, f"forged output: {error}"
        if message == {"ready": True}:
            return sandbox, channel, events, None
        cell, state = message.get("cell"), message.get("state")
        if not isinstance(cell, int) or state not in ("start", "done", "skipped"):
            return sandbox, channel, events, f"forged output: {str(message)[:200]}"
        current = cell if state == "start" else None
        events.append(message)


class _NotCallable:
    """What the checks get for a name bound to something that is not a function."""

    def __init__(self, description):
        self.sandbox_description = description

    def __repr__(self):
        return self.sandbox_description


def _run_check(check_name, names, channel, cell_timeout, deadline):
    """Run one check here on stand-ins for the submission's functions: (points, report)."""
    import helpers.course.checks as checks
    from helpers.course.feedback import CheckFailed
    from helpers.course.remote import ProtocolError, RemoteFunction, SandboxGone

    report = io.StringIO()
    described = _describe_names(channel, names, cell_timeout)
    missing = [name for name in names if not described[name]["defined"]]
    if missing:
        return 0, (
            f"`{missing[0]}` is not defined: the cell that defines it was deleted, renamed, "
            "skipped or raised before defining it.\n"
        )
    functions = [
        RemoteFunction(name, channel, 3 * cell_timeout + 30, deadline)
        if described[name]["callable"]
        else _NotCallable(described[name]["description"])
        for name in names
    ]
    try:
        with contextlib.redirect_stdout(report):
            getattr(checks, check_name)(*functions)
        return 1, report.getvalue()
    except CheckFailed:
        return 0, report.getvalue()
    except ProtocolError as error:
        raise error
    except (SandboxGone, TimeoutError) as error:
        return 0, report.getvalue() + f"\nThe check could not finish: {error}\n"
    except Exception as error:  # noqa: BLE001 (a check that stops is feedback too)
        return 0, report.getvalue() + f"\nThe check stopped with {type(error).__name__}: {error}\n"


def _describe_names(channel, names, cell_timeout):
    import secrets

    from helpers.course.remote import ProtocolError

    nonce = secrets.token_hex(16)
    channel.send({"nonce": nonce, "describe": list(names)})
    reply = channel.receive(time.monotonic() + 3 * cell_timeout + 30)
    described = reply.get("described")
    if reply.get("nonce") != nonce or not isinstance(described, dict):
        raise ProtocolError("a reply without this request's nonce (forged output)")
    result = {}
    for name in names:
        record = described.get(name)
        if not isinstance(record, dict):
            raise ProtocolError("a malformed description")
        result[name] = {
            "defined": bool(record.get("defined")),
            "callable": bool(record.get("callable")),
            "description": str(record.get("description", ""))[:200],
        }
    return result


def _cell_errors(events, sources):
    errors = []
    for event in events:
        if event.get("state") == "done" and event.get("error"):
            index = event["cell"]
            first = _first_line(sources.get(index, ""))
            errors.append(f"cell {index} (`{first}`): {str(event['error'])[:300]}")
        elif event.get("state") == "skipped":
            index = event["cell"]
            errors.append(
                f"cell {index} (`{_first_line(sources.get(index, ''))}`): skipped, the cells "
                "had used up their CPU time"
            )
    return errors


def grade_in_worker(spec):
    """Grade one submission (the worker process of :func:`grade_submission`): a dict."""
    import nbformat

    from helpers.course.remote import ProtocolError
    from helpers.course.sandbox import Limits

    exercises = [e for e in chapter_exercises(spec["chapter"]) if e.kind == "Implementation"]
    data = Path(spec["notebook"]).read_bytes()
    result = {"sha256": hashlib.sha256(data).hexdigest(), "isolation": spec["level"]}
    try:
        notebook = nbformat.reads(data.decode("utf-8"), as_version=4)
        nbformat.validate(notebook)
    except Exception as error:  # noqa: BLE001 (anything that is not a notebook)
        message = str(error).strip().splitlines()[0] if str(error).strip() else ""
        return {
            **result,
            "status": "not a notebook",
            "cell_errors": [
                f"not a valid Jupyter notebook ({type(error).__name__}: {message[:300]})"
            ],
        }
    sources = {i: c.source for i, c in enumerate(notebook.cells) if c.cell_type == "code"}
    result["notes"] = suspicious_lines(notebook)
    limits = Limits(cpu_seconds=int(2 * spec["timeout"] + 4 * spec["cell_timeout"] + 60))
    killers, points, feedback = set(), {}, {}
    with tempfile.TemporaryDirectory(prefix="grading-") as private:
        box = Path(private) / "box"
        while True:
            shutil.rmtree(box, ignore_errors=True)
            box.mkdir()
            copy = box / "submission.ipynb"
            copy.write_bytes(data)
            sandbox, channel, events, ended = _run_cells(
                copy,
                Path(spec["package"]),
                limits,
                spec["level"],
                spec["cell_timeout"],
                spec["timeout"],
                killers,
            )
            try:
                if (
                    isinstance(ended, tuple)
                    and ended[1] is not None
                    and len(killers) < _RUNS_FORGIVEN
                ):
                    killers.add(ended[1])  # the cell that ended the process: run again without it
                    continue
                errors = _cell_errors(events, sources) + [
                    f"cell {i} (`{_first_line(sources.get(i, ''))}`): the process ended here "
                    "(exit(), quit(), os._exit or a crash); the notebook ran again without this cell"
                    for i in sorted(killers)
                ]
                if ended == "time limit":
                    return {**result, "status": "time limit", "cell_errors": errors}
                if isinstance(ended, str):
                    return {
                        **result,
                        "status": "forged output",
                        "cell_errors": errors,
                        "forged": ended,
                    }
                if ended is not None:
                    errors.append(
                        "the process ended before the cells finished, more than "
                        f"{_RUNS_FORGIVEN} times; the grader gave up rerunning"
                    )
                    return {**result, "status": "graded", "cell_errors": errors}
                # all the checks together get the wall time the cells got
                checks_deadline = time.monotonic() + 4 * spec["timeout"] + 60
                for exercise in exercises:
                    check_name, names = _parse_check_call(exercise.check)
                    try:
                        points[exercise.label], feedback[exercise.label] = _run_check(
                            check_name, names, channel, spec["cell_timeout"], checks_deadline
                        )
                    except ProtocolError as error:
                        return {
                            **result,
                            "status": "forged output",
                            "cell_errors": errors,
                            "forged": str(error),
                        }
                    except Exception as error:  # noqa: BLE001 (the sandbox ended mid-way)
                        points[exercise.label] = 0
                        feedback[exercise.label] = f"Not checked: {type(error).__name__}: {error}"
                return {
                    **result,
                    "status": "graded",
                    "cell_errors": errors,
                    "points": points,
                    "feedback": feedback,
                }
            finally:
                channel.close()
                if not sandbox.close():
                    result.setdefault("notes", []).append(
                        "a process of the submission could not be killed"
                    )


# --------------------------------------------------------------------------- one submission


def grade_submission(
    chapter,
    notebook_path,
    *,
    timeout=DEFAULT_TIMEOUT,
    cell_timeout=DEFAULT_CELL_TIMEOUT,
    level=None,
    package_dir=None,
):
    """Grade one submitted notebook against ``chapter``'s implementation exercises.

    A worker process of this grader runs the sandbox and the checks (see the
    module's docstring); this function waits for it.

    Args:
        chapter: the chapter's source (``.md``).
        notebook_path: the submitted notebook.
        timeout: CPU seconds for all the cells.
        cell_timeout: CPU seconds for one cell or one call of a function.
        level: the sandbox's level, or None for the strongest available.
        package_dir: the sandbox's ``helpers`` (with the references withheld);
            None to make one for this submission.

    Returns:
        a :class:`Grade`.
    """
    from helpers.course.sandbox import best_level

    chapter = Path(chapter).resolve()
    exercises = [e for e in chapter_exercises(chapter) if e.kind == "Implementation"]
    notebook_path = Path(notebook_path).resolve()
    level = best_level() if level is None else level
    started = time.perf_counter()
    with contextlib.ExitStack() as stack:
        if package_dir is None:
            package_dir = _withheld_package(chapter, stack)
        spec = {
            "chapter": str(chapter),
            "notebook": str(notebook_path),
            "timeout": timeout,
            "cell_timeout": cell_timeout,
            "level": level,
            "package": str(package_dir),
        }
        # The worker keeps its own time limits; this one only catches a grader that hangs.
        try:
            worker = subprocess.run(
                [sys.executable, "-m", "helpers.course.grading", "--worker", json.dumps(spec)],
                capture_output=True,
                text=True,
                timeout=12 * timeout + 600,
            )
            log = worker.stdout + worker.stderr
        except subprocess.TimeoutExpired as expired:
            worker, log = None, f"the grader's worker hung and was killed: {expired}"
    seconds = time.perf_counter() - started
    try:
        outcome = json.loads(worker.stdout.strip().splitlines()[-1])
    except (AttributeError, IndexError, json.JSONDecodeError):
        outcome = {
            "status": "grader error",
            "cell_errors": [f"the grader's worker failed: {log[-2000:]}"],
        }
    return _grade_from(outcome, exercises, notebook_path.stem, seconds, timeout, level)


def _grade_from(outcome, exercises, name, seconds, timeout, level):
    status = outcome.get("status", "grader error")
    points, feedback = {}, {}
    notes = list(outcome.get("notes", []))
    for exercise in exercises:
        label = exercise.label
        points[label] = int(outcome.get("points", {}).get(label, 0)) if status == "graded" else 0
        if status == "graded" and label in outcome.get("feedback", {}):
            feedback[label] = outcome["feedback"][label]
        elif status == "not a notebook":
            feedback[label] = _NOT_A_NOTEBOOK
        elif status == "time limit":
            feedback[label] = (
                f"Not checked: the submission ran past the time limit (the cells' {timeout} "
                "CPU seconds, or four times that of wall time) and was stopped."
            )
        elif status == "forged output":
            feedback[label] = (
                "0 points: the submission wrote on the grader's channel itself (forged "
                f"output: {outcome.get('forged', '')[:200]}). The grade is what the grader "
                "computes, never what a submission reports."
            )
        else:
            feedback[label] = "Not checked: " + "\n".join(outcome.get("cell_errors", []))[-2000:]
        if "ReferenceWithheld" in feedback[label]:
            notes.append(
                f"{label}: the submission called the book's reference, which grading withholds"
            )
    return Grade(
        submission=name,
        status=status,
        points=points,
        feedback=feedback,
        cell_errors=outcome.get("cell_errors", []),
        seconds=seconds,
        isolation=outcome.get("isolation", level),
        sha256=outcome.get("sha256", ""),
        notes=notes,
    )


def _withheld_package(chapter, stack):
    """A copy of helpers in a private folder with the chapter's references withheld."""
    from helpers.course.tripwires import references_for, withheld_copy

    checks = [
        _parse_check_call(e.check)[0]
        for e in chapter_exercises(chapter)
        if e.kind == "Implementation"
    ]
    folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="grading-package-")))
    installed = Path(__file__).resolve().parent.parent  # helpers/course/grading.py -> helpers/
    copy = withheld_copy(installed, folder / "helpers", references_for(checks), checks)
    os.chmod(folder, 0o755)  # the sandbox's user (uid 65534) reads it
    return copy


# --------------------------------------------------------------------------- a folder


def find_submissions(folder):
    """Every ``.ipynb`` under `folder`, any case, in subfolders too, as (name, path), sorted.

    The name is the path in the folder without the suffix (``alice/hw3``); hidden
    folders and Jupyter's ``.ipynb_checkpoints`` are left out.
    """
    folder = Path(folder)
    found = []
    for path in folder.rglob("*"):
        relative = path.relative_to(folder)
        if any(part.startswith(".") for part in relative.parts):
            continue
        if path.is_file() and path.suffix.lower() == ".ipynb":
            found.append((relative.with_suffix("").as_posix(), path))
    return sorted(found)


def _fence(text):
    """A code fence longer than any run of backticks in `text`, so it cannot be closed early."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)


def _feedback_text(grade, chapter):
    def fenced(text):
        fence = _fence(text)
        return [f"{fence}text", text.rstrip(), fence]

    lines = [
        f"# Feedback: {grade.submission.replace('`', '')}",
        "",
        f"Chapter: {Path(chapter).stem}. Status: {grade.status}. "
        f"Points: {grade.total} of {len(grade.points)} "
        f"(one per implementation exercise). Time: {grade.seconds:.1f} s. "
        f"Isolation: {grade.isolation}.",
        "",
    ]
    for label, points in grade.points.items():
        lines += [
            f"## {label}: {points} point{'s' if points != 1 else ''}",
            "",
            *fenced(grade.feedback[label]),
            "",
        ]
    if grade.notes:
        lines += ["## What the grader noticed", "", *fenced("\n".join(grade.notes)), ""]
    if grade.cell_errors:
        lines += ["## Cells that raised", ""]
        if any("ReferenceWithheld" in error for error in grade.cell_errors):
            lines += [
                "While grading, the book's reference for the exercise is withheld: the "
                "chapter's cells that call it raise ReferenceWithheld, and cells that use their "
                "results raise NameError. They run on the website and in your own runs.",
                "",
            ]
        lines += fenced("\n".join(grade.cell_errors))
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
    level=None,
):
    """Grade every submission under ``folder``; write ``grades.csv`` and ``feedback/`` in ``out_dir``.

    Args:
        chapter: the chapter the submissions answer (its ``.md`` source).
        folder: the folder of submissions (subfolders included).
        out_dir: where to write the grades (written once, after every sandbox is gone).
        timeout: CPU seconds for all the cells of one submission.
        cell_timeout: CPU seconds for one cell or one function call.
        jobs: submissions graded at the same time.
        progress: show a tqdm progress bar.
        level: the sandbox's level, or None for the strongest available.

    Returns:
        the list of :class:`Grade`, sorted by submission.
    """
    from tqdm.auto import tqdm

    from helpers.course.sandbox import best_level

    folder, out_dir = Path(folder), Path(out_dir)
    if not folder.is_dir():
        raise FileNotFoundError(f"folder: no folder of submissions at {folder}")
    for name, value in (("timeout", timeout), ("cell_timeout", cell_timeout), ("jobs", jobs)):
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
            raise ValueError(f"{name} must be a positive number, got {value!r}")
    labels = [e.label for e in chapter_exercises(chapter) if e.kind == "Implementation"]
    if not labels:
        raise ValueError(f"chapter: {chapter} has no implementation exercise to grade")
    submissions = find_submissions(folder)
    if not submissions:
        raise FileNotFoundError(f"folder: no .ipynb submissions in {folder}")
    level = best_level() if level is None else level
    if progress:
        print(f"grading {len(submissions)} submissions; isolation: {level}", file=sys.stderr)

    with contextlib.ExitStack() as stack:
        package_dir = _withheld_package(chapter, stack)

        def grade(item):
            name, path = item
            graded = grade_submission(
                chapter,
                path,
                timeout=timeout,
                cell_timeout=cell_timeout,
                level=level,
                package_dir=package_dir,
            )
            graded.submission = name
            return graded

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
        writer.writerow(
            ["submission", "status", *labels, "total", "seconds", "isolation", "sha256"]
        )
        for g in grades:
            writer.writerow(
                [
                    g.submission,
                    g.status,
                    *(g.points[label] for label in labels),
                    g.total,
                    f"{g.seconds:.1f}",
                    g.isolation,
                    g.sha256,
                ]
            )
    for g in grades:
        name = g.submission.replace("/", "__")
        (out_dir / "feedback" / f"{name}.md").write_text(
            _feedback_text(g, chapter), encoding="utf-8"
        )
    return grades


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--worker"]:
        outcome = grade_in_worker(json.loads(argv[1]))
        print(json.dumps(outcome))
        return 0
    parser = argparse.ArgumentParser(
        prog="python -m helpers.course.grading",
        description="Grade a folder of submitted notebooks: grades.csv and one feedback file each.",
    )
    parser.add_argument("chapter", help="the chapter's source, e.g. chapters/bptt.md")
    parser.add_argument("folder", help="folder of submitted .ipynb notebooks (subfolders too)")
    parser.add_argument("--out", required=True, help="folder for grades.csv and feedback/")
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        help=f"CPU seconds for all the cells of a submission (default {DEFAULT_TIMEOUT})",
    )
    parser.add_argument(
        "--cell-timeout",
        type=float,
        default=DEFAULT_CELL_TIMEOUT,
        help=f"CPU seconds per cell or function call (default {DEFAULT_CELL_TIMEOUT})",
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
    level = grades[0].isolation if grades else ""
    print(
        f"graded {len(grades)} submissions in {time.perf_counter() - started:.1f} s "
        f"(isolation: {level}): {Path(args.out) / 'grades.csv'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
