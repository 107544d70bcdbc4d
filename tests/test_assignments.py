"""Student versions of the chapters (helpers.course.assignments): no solution left, the checks still run."""

import json
import re
import subprocess
import sys

import nbformat
import pytest
from nbclient import NotebookClient

from helpers.course.assignments import SolutionLeft, export, student_notebook

from conftest import REPO, notebook_pages

CHAPTERS = [page for page in notebook_pages() if page.startswith("chapters/")]
# The front matter of a real chapter, so that jupytext reads the test files as MyST notebooks.
HEADER = "---\n" + (REPO / "chapters/notation.md").read_text().split("---\n")[1] + "---\n\n"

# Found here with plain regular expressions over the Markdown file, independently
# of how helpers.course.assignments walks the cells.
CODE_SOLUTION = re.compile(r"### BEGIN SOLUTION\n(.*?)### END SOLUTION", re.S)
DROPDOWN = re.compile(r"```\{solution-start\}.*?```\{solution-end\}\n```", re.S)


def solution_only_lines(text):
    """Lines (stripped, of some length) that occur in solutions and nowhere else in the chapter."""
    solutions = [m.group(1) for m in CODE_SOLUTION.finditer(text)]
    solutions += [m.group(0) for m in DROPDOWN.finditer(text)]
    rest = DROPDOWN.sub("", CODE_SOLUTION.sub("", text))
    elsewhere = {line.strip() for line in rest.splitlines()}
    return {
        line.strip()
        for block in solutions
        for line in block.splitlines()
        if len(line.strip()) >= 10
        and line.strip() not in elsewhere
        and not line.strip().startswith(":")
    }


@pytest.fixture(scope="module")
def students(tmp_path_factory):
    out = tmp_path_factory.mktemp("handouts")
    written = export([REPO / f"{chapter}.md" for chapter in CHAPTERS], out)
    return {path.stem: path for path in written}


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_no_solution_line_is_left_in_the_student_notebook(chapter, students):
    text = (REPO / f"{chapter}.md").read_text()
    secret = solution_only_lines(text)
    assert secret, "the scan found no solution in a chapter that has exercises"
    written = students[chapter.split("/")[-1]].read_text()
    student_lines = {
        line.strip()
        for cell in json.loads(written)["cells"]
        for line in "".join(cell["source"]).splitlines()
    }
    assert not secret & student_lines
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "solution-start", "solution-end"):
        assert marker not in written


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_the_student_notebook_keeps_exercises_checks_and_the_install_cell(chapter, students):
    text = (REPO / f"{chapter}.md").read_text()
    notebook = nbformat.read(students[chapter.split("/")[-1]], as_version=4)
    nbformat.validate(notebook)
    sources = [cell.source for cell in notebook.cells]
    joined = "\n".join(sources)
    assert joined.count("```{exercise}") == text.count("```{exercise}")
    assert joined.count("raise NotImplementedError()") == text.count("### BEGIN SOLUTION")
    assert joined.count("helpers.exercises.check_") == len(
        re.findall(r"^helpers\.exercises\.check_", text, re.M)
    )
    first_code = next(cell for cell in notebook.cells if cell.cell_type == "code")
    assert "%pip install" in first_code.source
    for cell in notebook.cells:
        assert cell.metadata == {}
        assert "attachments" not in cell
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None


def test_the_body_of_a_solution_is_replaced_at_its_indentation(tmp_path):
    chapter = tmp_path / "tiny.md"
    chapter.write_text(
        HEADER + "# Tiny\n\n```{exercise}\n:label: tiny-ex\n\nWrite f.\n```\n\n"
        "```{code-cell} ipython3\ndef f(x):\n    ### BEGIN SOLUTION\n    y = x * 2\n"
        "    return y\n    ### END SOLUTION\n\n\nprint(f)\n```\n\n"
        "```{solution-start} tiny-ex\n:class: dropdown\n```\n\nThe secret reason.\n\n"
        "```{code-cell} ipython3\nsecret_experiment = 1\n```\n\n"
        "```{solution-end}\n```\n\n## After\n\nKept text.\n"
    )
    student = student_notebook(chapter)
    sources = [cell.source for cell in student.cells]
    assert "def f(x):\n    raise NotImplementedError()\n\n\nprint(f)" in sources
    joined = "\n".join(sources)
    assert "secret" not in joined and "y = x * 2" not in joined
    assert "## After\n\nKept text." in joined and "Write f." in joined


@pytest.mark.parametrize(
    "broken, message",
    [
        ("def f():\n    ### BEGIN SOLUTION\n    return 1\n", "never closed"),
        ("def f():\n    return 1\n    ### END SOLUTION\n", "without"),
        ("### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION\n", "second"),
    ],
)
def test_malformed_solution_regions_are_reported(tmp_path, broken, message):
    chapter = tmp_path / "broken.md"
    chapter.write_text(HEADER + f"```{{code-cell}} ipython3\n{broken}```\n")
    with pytest.raises(ValueError, match=message):
        student_notebook(chapter)


def test_an_unclosed_dropdown_is_reported(tmp_path):
    chapter = tmp_path / "open.md"
    chapter.write_text(HEADER + "```{solution-start} x\n:class: dropdown\n```\n\nNever closed.\n")
    with pytest.raises(ValueError, match="never closed"):
        student_notebook(chapter)


def test_solution_left_is_a_value_error():
    assert issubclass(SolutionLeft, ValueError)


def test_the_command_line_writes_one_notebook_per_chapter(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "helpers.assignments",
            "chapters/bptt.md",
            "chapters/gru.md",
            "--out",
            str(tmp_path),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bptt.ipynb", "gru.ipynb"]
    assert result.stdout.split() == [str(tmp_path / "bptt.ipynb"), str(tmp_path / "gru.ipynb")]


def test_a_student_notebook_run_unmodified_gets_not_implemented_feedback(students):
    # bptt runs in seconds; its two implementation exercises must end in the
    # check's report (CheckFailed), never in a crash of another kind.
    notebook = nbformat.read(students["bptt"], as_version=4)
    NotebookClient(
        notebook,
        timeout=300,
        kernel_name="python3",
        allow_errors=True,
        resources={"metadata": {"path": str(REPO / "chapters")}},
    ).execute()
    checked = [
        cell
        for cell in notebook.cells
        if cell.cell_type == "code" and "helpers.exercises.check_" in cell.source
    ]
    assert checked
    for cell in checked:
        errors = [o for o in cell.outputs if o.output_type == "error"]
        text = "".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream")
        assert [e.ename for e in errors] == ["CheckFailed"]
        assert "raised NotImplementedError" in text
        assert "hint: replace `raise NotImplementedError()` with your implementation" in text
