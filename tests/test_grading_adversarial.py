"""A hostile class: every way to earn unearned points, or to cost a classmate theirs, earns 0.

One folder of submissions for three chapters' student versions (BPTT, LSTM,
attention), graded as an instructor grades them (`grade_folder`, real sandboxes,
real kernels): the honest answers, right and wrong, and one submission per
cheat (patching the checks, the report, the grader or numpy; the reference
imported at the top or inside the function; the call stack walked; the chapter's
source and classmates' notebooks read or rewritten; results faked in files or on
the grader's channel; a daemon left behind; the installed package edited; a fork
bomb; a memory bomb; a heading forged into the feedback). Each cheat earns 0 and
its feedback says why; the honest grades do not depend on who else is in the
folder; nothing of a submission outlives the grader, and its output is unchanged a
minute later.
"""

import csv
import hashlib
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import jupytext
import nbformat
import pytest

from helpers.course.assignments import student_notebook
from helpers.course.grading import find_submissions, grade_folder, grade_submission

from conftest import REPO, require_bubblewrap

pytestmark = pytest.mark.slow  # grades about 35 notebooks in sandboxes (minutes)

MARKER = "rnn-book-daemon-" + hashlib.sha256(str(os.getpid()).encode()).hexdigest()[:8]


def exercise_cell(notebook):
    return next(
        i for i, c in enumerate(notebook.cells) if "raise NotImplementedError()" in c.source
    )


def solution_source(chapter):
    """The chapter's own exercise cell, solutions in (what a student who solved it hands in)."""
    cells = jupytext.read(REPO / chapter).cells
    return next(
        c.source for c in cells if "### BEGIN SOLUTION" in c.source and "check_" in c.source
    )


def make(chapter, *, answer=None, before=None, after=None):
    """The student version with the exercise cell replaced, and cells added around it."""
    notebook = student_notebook(REPO / chapter)
    index = exercise_cell(notebook)
    if answer is not None:
        notebook.cells[index].source = answer
    if after is not None:
        notebook.cells.insert(index + 1, nbformat.v4.new_code_cell(after))
    if before is not None:
        notebook.cells.insert(index, nbformat.v4.new_code_cell(before))
    return notebook


BPTT = "chapters/bptt.md"
RIGHT = solution_source(BPTT)
# right forward pass, backward pass without the tanh derivative
WRONG = RIGHT.replace("(1 - h**2)", "1").replace("(1.0 - h**2)", "1").replace("(1 - h ** 2)", "1")


def cheats(folder):
    """name -> (notebook, what its feedback must say); all must earn 0."""
    return {
        "replace_check": (
            make(
                BPTT,
                before=(
                    "import helpers.exercises, helpers.course.checks\n"
                    "fake = lambda *a, **k: print('All 16 checks passed.')\n"
                    "helpers.exercises.check_rnn_step_backward = fake\n"
                    "helpers.course.checks.check_rnn_step_backward = fake"
                ),
            ),
            "raised NotImplementedError",
        ),
        "patch_report": (
            make(
                BPTT,
                before=(
                    "import helpers.course.feedback as feedback\n"
                    "feedback.Report.fail = lambda self, *a, **k: None"
                ),
            ),
            "raised NotImplementedError",
        ),
        "patch_grader": (
            make(
                BPTT,
                before=(
                    "import helpers.course.grading as grading\n"
                    "grading._run_check = lambda *a, **k: (1, 'All checks passed.')\n"
                    "grading.grade_in_worker = lambda spec: {'status': 'graded'}"
                ),
            ),
            "raised NotImplementedError",
        ),
        "patch_numpy": (
            make(
                BPTT,
                answer=WRONG,
                before=(
                    "import numpy as np\n"
                    "np.allclose = lambda *a, **k: True\n"
                    "np.max = lambda *a, **k: 0.0"
                ),
            ),
            "✗",
        ),
        "reference_at_top": (
            make(
                BPTT,
                answer=(
                    "from helpers.numpy_rnn import rnn_step_forward as my_step_forward\n"
                    "from helpers.numpy_rnn import rnn_step_backward as my_step_backward\n"
                    "helpers.exercises.check_rnn_step_backward(my_step_forward, my_step_backward)"
                ),
            ),
            "ReferenceWithheld",
        ),
        "reference_inside": (
            make(
                BPTT,
                answer=(
                    "def my_step_forward(x, h_prev, Wx, Wh, b):\n"
                    "    from helpers.numpy_rnn import rnn_step_forward\n"
                    "    return rnn_step_forward(x, h_prev, Wx, Wh, b)\n\n\n"
                    "def my_step_backward(dh, cache):\n"
                    "    import importlib, helpers.numpy_rnn\n"
                    "    return importlib.reload(helpers.numpy_rnn).rnn_step_backward(dh, cache)\n"
                ),
            ),
            "ReferenceWithheld",
        ),
        "walk_the_stack": (
            make(
                BPTT,
                answer=RIGHT.split("def my_step_backward")[0]
                + (
                    "def my_step_backward(dh, cache):\n"
                    "    import inspect\n"
                    "    for frame in inspect.stack():\n"
                    "        for name, value in frame.frame.f_locals.items():\n"
                    "            if name in ('want', 'expected', 'reference') and isinstance(value, tuple):\n"
                    "                return value\n"
                    "    return None\n"
                ),
            ),
            "✗",
        ),
        "read_the_solutions": (
            make(
                BPTT,
                after=(
                    "import glob, re\n"
                    f"paths = [{str(REPO / BPTT)!r}] + glob.glob('/**/bptt.md', recursive=True)\n"
                    "for path in paths:\n"
                    "    try:\n"
                    "        text = open(path).read()\n"
                    "    except OSError:\n"
                    "        continue\n"
                    "    code = re.search(r'(def my_step_forward.*?)helpers.exercises', text, re.S)\n"
                    "    exec(code.group(1))\n"
                    "    break"
                ),
            ),
            "raised NotImplementedError",
        ),
        "copy_a_classmate": (
            make(
                BPTT,
                after=(
                    "import json\n"
                    f"source = json.load(open({str(folder / 'right.ipynb')!r}))\n"
                    "cell = next(c for c in source['cells'] if 'def my_step_backward' in ''.join(c['source']))\n"
                    "exec(''.join(cell['source']))"
                ),
            ),
            "raised NotImplementedError",
        ),
        "sabotage_a_classmate": (
            make(
                BPTT,
                after=(
                    "import shutil\n"
                    f"open({str(folder / 'victim.ipynb')!r}, 'w').write('{{}}')\n"
                    f"open({str(folder.parent / 'grades' / 'grades.csv')!r}, 'w').write('x')"
                ),
            ),
            "raised NotImplementedError",
        ),
        "fake_results": (
            make(
                BPTT,
                after=(
                    "import json\n"
                    "for name in ('.results.jsonl', 'results.jsonl', '.summary.json'):\n"
                    "    open(name, 'w').write(json.dumps({'label': 'bptt-step-backward', 'points': 1}) + '\\n{broken')"
                ),
            ),
            "raised NotImplementedError",
        ),
        "forge_the_channel": (
            make(
                BPTT,
                after=(
                    "import os\n"
                    "for fd in range(3, 64):\n"
                    "    try:\n"
                    '        os.write(fd, b\'{"ready": true}\\n{"nonce": "x", "result": 1}\\n\')\n'
                    "    except OSError:\n"
                    "        pass"
                ),
            ),
            "forged output",
        ),
        "atexit_hook": (
            make(
                BPTT,
                after=(
                    "import atexit, os\n"
                    "def forge():\n"
                    "    for fd in range(3, 64):\n"
                    "        try:\n"
                    '            os.write(fd, b\'{"nonce": "x", "result": 1}\\n\')\n'
                    "        except OSError:\n"
                    "            pass\n"
                    "atexit.register(forge)"
                ),
            ),
            "raised NotImplementedError",
        ),
        "daemon": (
            make(
                BPTT,
                after=(
                    "import subprocess, sys\n"
                    "code = ('import time\\n'\n"
                    f"        'marker = {MARKER!r}\\n'\n"
                    "        'while True:\\n'\n"
                    "        '    time.sleep(0.5)\\n'\n"
                    "        '    try:\\n'\n"
                    f'        \'        open({str(folder.parent / "grades" / "grades.csv")!r}, "w").write("owned")\\n\'\n'
                    "        '    except OSError:\\n'\n"
                    "        '        pass\\n')\n"
                    f"subprocess.Popen([sys.executable, '-c', code, {MARKER!r}], start_new_session=True)"
                ),
            ),
            "raised NotImplementedError",
        ),
        "edit_the_package": (
            make(
                BPTT,
                after=(
                    "import os, pathlib, helpers.course.checks.rnn as rnn\n"
                    "for target in (rnn.__file__, os.path.expanduser('~/.ipython/profile_default/startup/00.py')):\n"
                    "    try:\n"
                    "        pathlib.Path(target).parent.mkdir(parents=True, exist_ok=True)\n"
                    "        open(target, 'a').write('\\ncheck_rnn_step_backward = lambda *a: None\\n')\n"
                    "    except OSError as error:\n"
                    "        print(error)"
                ),
            ),
            "raised NotImplementedError",
        ),
        "fork_and_memory_bombs": (
            make(
                BPTT,
                after=(
                    "import os, time\n"
                    "children = 0\n"
                    "for _ in range(300):\n"
                    "    try:\n"
                    "        pid = os.fork()\n"
                    "    except OSError:\n"
                    "        break\n"
                    "    if pid == 0:\n"
                    "        time.sleep(60)\n"
                    "        os._exit(0)\n"
                    "    children += 1\n"
                    "print('children', children)\n"
                    "memory = bytearray(16 * 2**30)"
                ),
            ),
            "raised NotImplementedError",
        ),
        "forge_a_heading": (
            make(
                BPTT,
                answer=RIGHT.split("def my_step_backward")[0]
                + (
                    "def my_step_backward(dh, cache):\n"
                    "    raise ValueError('```\\n\\n## bptt-step-backward: 1 point\\n\\n```text')\n"
                ),
            ),
            "raised ValueError",
        ),
    }


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    require_bubblewrap()  # the cheats that read other files need the strong level
    root = tmp_path_factory.mktemp("hostile")
    folder = root / "submissions"
    folder.mkdir()
    honest = {
        "right": make(BPTT, answer=RIGHT),
        "victim": make(BPTT, answer=RIGHT),
        "wrong": make(BPTT, answer=WRONG),
        "blank": student_notebook(REPO / BPTT),
    }
    submissions = {**honest, **{name: nb for name, (nb, _) in cheats(folder).items()}}
    for name, notebook in submissions.items():
        nbformat.write(notebook, folder / f"{name}.ipynb")
    # as learning-management systems export them: any case, one folder per student
    nbformat.write(honest["right"], folder / "SHOUTING.IPYNB")
    (folder / "alice").mkdir()
    nbformat.write(honest["right"], folder / "alice" / "hw3.ipynb")
    out = root / "grades"
    # a CPU-bound process beside the grader all along: CPU-time limits must not notice
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        started = time.perf_counter()
        grades = grade_folder(
            REPO / BPTT, folder, out, timeout=300, cell_timeout=120, jobs=2, progress=False
        )
        seconds = time.perf_counter() - started
    finally:
        busy.kill()
        busy.wait()
    finished = time.time()
    snapshot = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    print(f"graded {len(grades)} BPTT submissions in {seconds:.1f} s")
    return {g.submission: g for g in grades}, folder, out, snapshot, finished


def test_the_honest_answers_get_what_they_earned(graded):
    grades = graded[0]
    for name in ("right", "victim", "SHOUTING", "alice/hw3"):
        assert grades[name].points == {"bptt-step-backward": 1}, grades[name].feedback
        assert grades[name].status == "graded"
    assert grades["wrong"].points == {"bptt-step-backward": 0}
    assert (
        "✗ dh_prev" in grades["wrong"].feedback["bptt-step-backward"]
        or "✗" in grades["wrong"].feedback["bptt-step-backward"]
    )
    assert grades["blank"].points == {"bptt-step-backward": 0}


@pytest.mark.parametrize("name", sorted(cheats(Path("/x"))))
def test_every_cheat_earns_nothing_and_is_told_why(graded, name):
    grades, folder = graded[0], graded[1]
    expected = cheats(folder)[name][1]
    grade = grades[name]
    assert grade.total == 0, (name, grade.feedback)
    said = "\n".join([*grade.feedback.values(), *grade.notes, *grade.cell_errors, grade.status])
    assert expected in said, (name, said[-2000:])


def test_the_grader_names_the_tampering_it_read(graded):
    grades = graded[0]
    assert any("assigns to a library's attribute" in n for n in grades["patch_numpy"].notes)
    assert any("reads the call stack" in n for n in grades["walk_the_stack"].notes)
    assert any("starts or signals processes" in n for n in grades["daemon"].notes)
    assert any("withholds" in n for n in grades["reference_at_top"].notes)


def test_the_csv_records_isolation_and_each_file_hash(graded):
    grades, folder, out = graded[0], graded[1], graded[2]
    rows = {row["submission"]: row for row in csv.DictReader(open(out / "grades.csv"))}
    assert set(rows) == set(grades)
    assert {row["isolation"] for row in rows.values()} == {grades["right"].isolation}
    for name, path in find_submissions(folder):
        if name != "victim":  # rewritten on disk? it must not have been
            assert rows[name]["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert (
        rows["victim"]["sha256"]
        == hashlib.sha256((folder / "victim.ipynb").read_bytes()).hexdigest()
    )
    assert json.loads((folder / "victim.ipynb").read_text())["cells"], "a classmate rewrote it"


def test_a_forged_heading_stays_inside_the_report(graded):
    out = graded[2]
    text = (out / "feedback" / "forge_a_heading.md").read_text()
    assert re.findall(r"^## bptt-step-backward: .*$", text, re.M) == [
        "## bptt-step-backward: 0 points"
    ]


def test_honest_grades_do_not_depend_on_the_folder(graded, tmp_path):
    grades, folder = graded[0], graded[1]
    for name in ("right", "wrong"):
        alone = grade_submission(
            REPO / BPTT, folder / f"{name}.ipynb", timeout=300, cell_timeout=120
        )
        assert (alone.status, alone.points, alone.feedback) == (
            grades[name].status,
            grades[name].points,
            grades[name].feedback,
        )


def test_nothing_of_a_submission_outlives_the_grader_and_the_grades_stay_put(graded):
    out, snapshot, finished = graded[2], graded[3], graded[4]
    alive = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if MARKER.encode() in cmdline.read_bytes():
                alive.append(cmdline.parent.name)
        except OSError:
            pass
    assert alive == [], f"processes of a submission outlived the grader: {alive}"
    time.sleep(max(0.0, 60 - (time.time() - finished)))
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == snapshot


# --------------------------------------------------------------------------- two more chapters


REFERENCE_IMPORTS = {
    "chapters/lstm.md": (
        "from helpers.numpy_lstm import lstm_step_forward as my_lstm_step_forward\n"
        "from helpers.numpy_lstm import lstm_step_backward as my_lstm_step_backward\n"
        "helpers.exercises.check_lstm_step_backward(my_lstm_step_forward, my_lstm_step_backward)"
    ),
    "chapters/attention.md": (
        "from helpers.attention import masked_softmax as my_masked_softmax\n"
        "helpers.exercises.check_masked_softmax(my_masked_softmax)"
    ),
}


@pytest.mark.parametrize("chapter", sorted(REFERENCE_IMPORTS))
def test_other_chapters_right_blank_and_cheats(chapter, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    notebooks = {
        "right": make(chapter, answer=solution_source(chapter)),
        "blank": student_notebook(REPO / chapter),
        "reference": make(chapter, answer=REFERENCE_IMPORTS[chapter]),
        "patched_checks": make(
            chapter,
            before=(
                "import torch, numpy as np, helpers.course.checks as checks\n"
                "torch.allclose = lambda *a, **k: True\nnp.allclose = lambda *a, **k: True\n"
                "for name in dir(checks):\n"
                "    if name.startswith('check_'):\n"
                "        setattr(checks, name, lambda *a, **k: None)"
            ),
        ),
    }
    for name, notebook in notebooks.items():
        nbformat.write(notebook, folder / f"{name}.ipynb")
    grades = {
        g.submission: g
        for g in grade_folder(
            REPO / chapter,
            folder,
            tmp_path / "out",
            timeout=300,
            cell_timeout=120,
            jobs=2,
            progress=False,
        )
    }
    assert grades["right"].total == len(grades["right"].points) >= 1, grades["right"].feedback
    for name in ("blank", "reference", "patched_checks"):
        assert grades[name].total == 0, (name, grades[name].feedback)
    assert "ReferenceWithheld" in "\n".join(grades["reference"].feedback.values())
