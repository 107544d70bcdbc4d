"""The chapters as files: paired notebooks in sync, no outputs, the install cell, the toc."""

import re

import jupytext
import nbformat
import pytest

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
def test_first_code_cell_installs_helpers_from_the_repository(chapter):
    repository = book_config()["repository"]
    code_cells = [c for c in jupytext.read(REPO / f"{chapter}.md").cells if c.cell_type == "code"]
    assert code_cells, f"{chapter} has no code cell"
    first = code_cells[0].source
    assert re.search(r"^try:\n    import helpers\nexcept ImportError:", first, re.M), first
    pip_line = f'%pip install --quiet "helpers @ git+{repository["url"]}@{repository["branch"]}"'
    assert pip_line in first, f"the install cell of {chapter} must contain {pip_line}"
    assert "remove-cell" in code_cells[0].metadata.get("tags", [])


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_install_cell_is_valid_ipython_that_calls_pip(chapter):
    from IPython.core.inputtransformer2 import TransformerManager

    first = next(c for c in jupytext.read(REPO / f"{chapter}.md").cells if c.cell_type == "code")
    python = TransformerManager().transform_cell(first.source)
    compile(python, f"{chapter} install cell", "exec")
    # the indented %pip inside `except ImportError:` must become a magic call
    assert re.search(r"^    get_ipython\(\)\.run_line_magic\('pip', 'install ", python, re.M), python


def exercise_labels(text):
    return re.findall(r"^```\{exercise\}\n:label: (\S+)", text, re.M)


@pytest.mark.parametrize("chapter", [c for c in CHAPTERS if c != "chapters/notation"])
def test_chapter_has_three_exercises_and_an_automatic_check(chapter):
    text = (REPO / f"{chapter}.md").read_text()
    assert len(exercise_labels(text)) >= 3, f"{chapter} needs at least three exercises"
    assert re.search(r"^helpers\.exercises\.check_\w+\(", text, re.M), (
        f"{chapter} needs an implementation exercise checked by helpers.exercises"
    )


@pytest.mark.parametrize("chapter", CHAPTERS)
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


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_every_exercise_label_is_unique_across_the_book(chapter):
    labels = exercise_labels((REPO / f"{chapter}.md").read_text())
    others = [
        label
        for other in CHAPTERS
        if other != chapter
        for label in exercise_labels((REPO / f"{other}.md").read_text())
    ]
    assert len(set(labels)) == len(labels), f"{chapter} repeats an exercise label"
    assert not set(labels) & set(others), f"{chapter} shares exercise labels with another chapter"
