"""The chapters as files: paired notebooks in sync, no outputs, the install cell, the toc."""

import re
import sys

import jupytext
import nbformat
import pytest

import helpers.exercises
from helpers.exercise_catalog import KINDS, chapter_exercises

import install_cell
from conftest import REPO, book_config, notebook_pages, toc_files

CHAPTERS = notebook_pages()


def cells_of(notebook):
    """What must agree between the .md and the .ipynb of a chapter."""
    return [
        (cell.cell_type, cell.source, sorted(cell.metadata.get("tags", [])))
        for cell in notebook.cells
    ]


def test_there_are_notebook_chapters():
    assert CHAPTERS, "no page in _toc.yml is a MyST notebook"


def test_every_page_in_the_toc_exists():
    missing = [page for page in toc_files() if not (REPO / f"{page}.md").exists()]
    assert not missing, f"_toc.yml lists pages with no .md file: {missing}"


def test_every_chapter_file_is_in_the_toc():
    listed = set(toc_files())
    stray = [
        str(path.relative_to(REPO))
        for path in (REPO / "chapters").glob("*.md")
        if str(path.relative_to(REPO).with_suffix("")) not in listed
    ]
    assert not stray, f"chapters missing from _toc.yml: {stray}"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_paired_notebook_exists_and_is_in_sync(chapter):
    text = REPO / f"{chapter}.md"
    paired = REPO / f"{chapter}.ipynb"
    assert paired.exists(), f"{paired.name} is missing: run `make sync`"
    from_text = jupytext.read(text)
    from_ipynb = nbformat.read(paired, as_version=4)
    assert cells_of(from_ipynb) == cells_of(from_text), (
        f"{paired.name} is out of sync with {text.name}: run `make sync`"
    )
    assert from_ipynb.metadata.get("kernelspec", {}).get("name") == "python3"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_paired_notebook_has_no_outputs(chapter):
    notebook = nbformat.read(REPO / f"{chapter}.ipynb", as_version=4)
    with_outputs = [
        index
        for index, cell in enumerate(notebook.cells)
        if cell.cell_type == "code" and (cell.outputs or cell.execution_count)
    ]
    assert not with_outputs, f"cells {with_outputs} keep outputs: run `make sync`"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_first_code_cell_is_the_install_cell_of_the_repository_settings(chapter):
    repository = book_config()["repository"]
    code_cells = [c for c in jupytext.read(REPO / f"{chapter}.md").cells if c.cell_type == "code"]
    assert code_cells, f"{chapter} has no code cell"
    first = code_cells[0].source
    # exactly the cell tools/install_cell.py writes from _config.yml (`make sync` rewrites it)
    assert first == install_cell.source_cell(), f"{chapter}: run `make sync`"
    assert re.search(r"^try:\n    import helpers\nexcept ImportError:", first, re.M), first
    pip_line = (
        f'%pip install --quiet "rnn-book-helpers @ git+{repository["url"]}@{repository["branch"]}"'
    )
    assert pip_line in first, f"the install cell of {chapter} must contain {pip_line}"
    assert first.endswith("print(helpers.version.describe())")
    assert "remove-cell" in code_cells[0].metadata.get("tags", [])


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_install_cell_is_valid_ipython_that_calls_pip(chapter):
    from IPython.core.inputtransformer2 import TransformerManager

    first = next(c for c in jupytext.read(REPO / f"{chapter}.md").cells if c.cell_type == "code")
    python = TransformerManager().transform_cell(first.source)
    compile(python, f"{chapter} install cell", "exec")
    # the indented %pip inside `except ImportError:` must become a magic call
    assert re.search(r"^    get_ipython\(\)\.run_line_magic\('pip', 'install ", python, re.M), (
        python
    )


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_a_failed_install_says_so_in_the_install_cell(chapter, monkeypatch):
    from IPython.core.inputtransformer2 import TransformerManager

    first = next(c for c in jupytext.read(REPO / f"{chapter}.md").cells if c.cell_type == "code")
    python = TransformerManager().transform_cell(first.source)
    magics = []

    class PipThatInstallsNothing:
        def run_line_magic(self, name, line):
            magics.append(name)

    monkeypatch.setitem(sys.modules, "helpers", None)  # `import helpers` fails before and after
    with pytest.raises(
        RuntimeError, match="Installing the book's `helpers` package failed"
    ) as failed:
        exec(python, {"get_ipython": PipThatInstallsNothing})
    assert magics == ["pip"] and isinstance(failed.value.__cause__, ImportError)


def exercise_labels(chapter):
    return [exercise.label for exercise in chapter_exercises(REPO / f"{chapter}.md")]


# Pages under chapters/ are the ones with exercises; other notebook pages (the
# instructors' guide) are not chapters.
EXERCISE_CHAPTERS = [c for c in CHAPTERS if c.startswith("chapters/")]


@pytest.mark.parametrize("chapter", EXERCISE_CHAPTERS)
def test_chapter_has_a_derivation_an_implementation_with_a_check_and_an_experiment(chapter):
    exercises = chapter_exercises(REPO / f"{chapter}.md")
    assert len(exercises) >= 3, f"{chapter} needs at least three exercises"
    kinds = {exercise.kind for exercise in exercises}
    assert kinds == set(KINDS), f"{chapter} has no {sorted(set(KINDS) - kinds)} exercise"
    for exercise in exercises:
        if exercise.kind == "Implementation":
            name = exercise.check.split("(")[0].removeprefix("helpers.exercises.")
            assert callable(getattr(helpers.exercises, name, None)), (
                f"{chapter}: {exercise.label} calls {name}, which helpers.exercises lacks"
            )


@pytest.mark.parametrize("chapter", EXERCISE_CHAPTERS)
def test_every_exercise_has_a_hidden_solution(chapter):
    """Derivations and experiments: a gated dropdown; implementations: a solution region."""
    text = (REPO / f"{chapter}.md").read_text()
    for exercise in chapter_exercises(REPO / f"{chapter}.md"):
        start = text.index(f"{{exercise}} {exercise.kind}\n:label: {exercise.label}\n")
        start = text.index("\n", start)
        following = re.search(r"^```\{exercise\}", text[start:], re.M)
        section = text[start : start + following.start()] if following else text[start:]
        if exercise.kind == "Implementation":
            assert "### BEGIN SOLUTION" in section, f"{chapter}: {exercise.label} has no solution"
        else:
            assert re.search(
                r"^```\{solution-start\} " + re.escape(exercise.label) + r"\n:class: dropdown$",
                section,
                re.M,
            ), f"{chapter}: {exercise.label} has no solution dropdown"


def test_every_check_a_chapter_calls_is_tested_with_wrong_answers():
    """Each check is exercised by the tests of helpers.exercises with mistakes, not just called."""
    tests = "".join(path.read_text() for path in (REPO / "tests").glob("test_exercises*.py"))
    for chapter in EXERCISE_CHAPTERS:
        for exercise in chapter_exercises(REPO / f"{chapter}.md"):
            if exercise.check:
                name = exercise.check.split("(")[0].removeprefix("helpers.exercises.")
                assert tests.count(name) >= 3, f"{name} ({chapter}) is barely tested"


@pytest.mark.parametrize("chapter", EXERCISE_CHAPTERS)
def test_solution_regions_are_well_formed_and_collapsed(chapter):
    for cell in jupytext.read(REPO / f"{chapter}.md").cells:
        begins = cell.source.count("### BEGIN SOLUTION")
        ends = cell.source.count("### END SOLUTION")
        assert begins == ends, f"{chapter}: unbalanced solution markers in\n{cell.source}"
        if begins:
            assert cell.cell_type == "code"
            assert "hide-input" in cell.metadata.get("tags", []), (
                f"{chapter}: a cell with a solution must be tagged hide-input"
            )
            assert cell.source.index("### BEGIN SOLUTION") < cell.source.index("### END SOLUTION")


@pytest.mark.parametrize("chapter", EXERCISE_CHAPTERS)
def test_every_exercise_label_is_unique_across_the_book(chapter):
    labels = exercise_labels(chapter)
    others = [
        label for other in EXERCISE_CHAPTERS if other != chapter for label in exercise_labels(other)
    ]
    assert len(set(labels)) == len(labels), f"{chapter} repeats an exercise label"
    assert not set(labels) & set(others), f"{chapter} shares exercise labels with another chapter"
