"""The whole book builds fresh, and a broken chapter makes the build fail."""

import json
import re
import subprocess

import pytest
from bs4 import BeautifulSoup

import install_cell
from conftest import REPO, book_config, build_book, copy_working_tree, notebook_pages, toc_files

pytestmark = pytest.mark.slow  # builds the whole book (about 8 minutes)


def test_book_builds_fresh_without_warnings(built_book):
    assert built_book.returncode == 0, built_book.log[-5000:]
    assert "build succeeded" in built_book.log
    assert not re.search(r"WARNING: ", built_book.log), built_book.log[-5000:]
    print(f"fresh build: {built_book.seconds:.1f} s")


@pytest.mark.parametrize("page", toc_files())
def test_every_page_is_built(built_book, page):
    assert (built_book.html / f"{page}.html").is_file()


def test_index_opens_the_preface(built_book):
    assert "url=preface.html" in (built_book.html / "index.html").read_text()


def test_chapters_were_executed_during_the_build(built_book):
    html = (built_book.html / "chapters" / "notation.html").read_text()
    # printed by a cell of chapters/notation.md, so present only if it ran
    assert "largest difference between the book's equation and nn.RNN: " in html
    assert "parameters: 72 = H(D + H + 2) = 72" in html


def test_the_site_publishes_every_notebook_pinned_to_the_build_revision(built_book):
    revision = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.strip()
    url = book_config()["repository"]["url"]
    for page in notebook_pages():
        published = json.loads((built_book.html / "notebooks" / f"{page}.ipynb").read_text())
        twin = json.loads((REPO / f"{page}.ipynb").read_text())
        code = [i for i, c in enumerate(published["cells"]) if c["cell_type"] == "code"]
        install = "".join(published["cells"][code[0]]["source"])
        assert install_cell.requirement_of(install) == (
            f"rnn-book-helpers @ git+{url}@{revision}"
        ), page
        assert published["metadata"]["rnn_book"]["revision"] == revision
        # the rest is the twin as committed
        assert published["cells"][code[0] + 1 :] == twin["cells"][code[0] + 1 :], page
        assert install_cell.stamp(
            install, install_cell.requirement_of("".join(twin["cells"][code[0]]["source"]))
        ) == "".join(twin["cells"][code[0]]["source"])


@pytest.mark.parametrize("page", ["chapters/bptt", "chapters/comparing_units"])
def test_tables_that_cells_display_render_as_html_tables(built_book, page):
    # These chapters display results as Markdown tables (IPython's Markdown); with
    # MyST-NB's default CommonMark renderer they would show as raw "| a | b |" text.
    source = (REPO / f"{page}.md").read_text()
    displayed = source.count("display(Markdown(")
    page_html = BeautifulSoup((built_book.html / f"{page}.html").read_text(), "html.parser")
    # Only the outputs: the cells' source builds these tables from "| --- |" strings.
    outputs = [str(div) for div in page_html.select("div.cell_output")]
    tables = sum(output.count("<table") for output in outputs)
    assert displayed and tables >= displayed, f"{displayed} displayed tables, {tables} rendered"
    assert not any("| --- |" in output for output in outputs)


FAULTS = {
    "failing cell": (
        "chapters/notation.md",
        '\n```{code-cell} ipython3\nraise RuntimeError("deliberately failing cell")\n```\n',
        "deliberately failing cell",
    ),
    "sphinx warning": (
        "preface.md",
        "\nA citation of a key that is not in references.bib: {cite:p}`no_such_paper_1999`.\n",
        "no_such_paper_1999",
    ),
    "stderr output": (
        "chapters/notation.md",
        '\n```{code-cell} ipython3\nimport warnings\nwarnings.warn("deliberate library warning")\n```\n',
        "stderr was found in the cell outputs",
    ),
}


# The pages the fault tests need: the faults go into the first two, and the
# bibliography page collects the preface's citations. Building only these keeps
# each fault test to one short chapter instead of a full build of the book.
REDUCED_PAGES = ("preface", "chapters/notation", "bibliography")


def _unless_kept(link):
    """A {doc} link of the preface, kept if its page is in REDUCED_PAGES, else its text."""
    text, target = link.group(1), link.group(2) or link.group(1)
    return link.group(0) if target.lstrip("/") in REDUCED_PAGES else text


def reduced_book(destination):
    """A copy of the working tree whose table of contents holds only REDUCED_PAGES."""
    book = copy_working_tree(destination)
    (book / "_web").symlink_to(REPO / "_web")
    for page in toc_files():
        if page not in REDUCED_PAGES:
            for suffix in (".md", ".ipynb"):
                (book / f"{page}{suffix}").unlink(missing_ok=True)
    # The preface links to pages this book drops; those links become plain text.
    preface = book / "preface.md"
    preface.write_text(
        re.sub(r"\{doc\}`([^`<]*?)\s*(?:<([^>]+)>)?`", _unless_kept, preface.read_text())
    )
    (book / "_toc.yml").write_text(
        "format: jb-book\nroot: preface\nparts:\n  - caption: Reduced\n    chapters:\n"
        "      - file: chapters/notation\n      - file: bibliography\n"
    )
    return book


def test_the_reduced_book_the_fault_tests_use_builds_when_unbroken(tmp_path):
    result = build_book(reduced_book(tmp_path / "book"), "reduced-build.log")
    assert result.returncode == 0, result.log[-5000:]
    assert "deliberate" not in result.log and "no_such_paper" not in result.log
    assert (result.html / "chapters" / "notation.html").is_file()


@pytest.mark.parametrize("fault", FAULTS)
def test_a_broken_book_fails_to_build(tmp_path, fault):
    page, addition, evidence = FAULTS[fault]
    book = reduced_book(tmp_path / "book")
    with open(book / page, "a") as source:
        source.write(addition)

    result = build_book(book, f"faulty-build-{fault.replace(' ', '-')}.log")

    assert result.returncode != 0, f"the build with a {fault} succeeded"
    assert evidence in result.log
