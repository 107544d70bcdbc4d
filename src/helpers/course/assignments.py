"""Student versions of the chapters: every solution removed, ready to hand out.

A chapter is a MyST Markdown notebook whose solutions take two forms
(``shared/GUIDE.md``, section 5):

- implementation exercises: the solution code sits between ``### BEGIN
  SOLUTION`` and ``### END SOLUTION`` in a code cell; the student version
  keeps the cell, its function header and its check, and puts ``raise
  NotImplementedError()`` where the solution was, so the check reports "not
  implemented" until the student writes the code;
- derivations and experiments: a gated sphinx-exercise dropdown from
  ``{solution-start}`` to ``{solution-end}``, which may span text and code
  cells; the student version drops all of it and keeps the exercise's
  statement.

:func:`student_notebook` makes the student version of one chapter (outputs
and cell metadata cleared, the first cell still installs ``helpers`` on
Colab) and checks that no solution marker is left anywhere in the file (the
tests check, independently, that no line found only in solutions is). :func:`export` writes them; from the command line::

    python -m helpers.course.assignments chapters/lstm.md chapters/gru.md --out handouts/

(``make assignments`` exports every chapter into ``_build/assignments``).
Reading the Markdown chapters needs ``jupytext``, which the book's
requirements install.
"""

import argparse
import json
import re
import sys
from pathlib import Path

__all__ = ["student_notebook", "export", "main"]

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
_SOLUTION_START = re.compile(r"^\s*```+\{solution-start\}")
_SOLUTION_END = re.compile(r"^\s*```+\{solution-end\}")
_FENCE = re.compile(r"^\s*```+\s*$")


class SolutionLeft(ValueError):
    """A student version would still contain a line of a solution."""


def _strip_code(source, where):
    """``source`` with each BEGIN/END SOLUTION region replaced by ``raise NotImplementedError()``."""
    kept, inside = [], None
    for number, line in enumerate(source.splitlines(), start=1):
        stripped = line.strip()
        if stripped == BEGIN:
            if inside is not None:
                raise ValueError(f"{where}: a second {BEGIN} at line {number} before {END}")
            inside = line[: len(line) - len(line.lstrip())]
            kept.append(f"{inside}raise NotImplementedError()")
        elif stripped == END:
            if inside is None:
                raise ValueError(f"{where}: {END} at line {number} without {BEGIN}")
            inside = None
        elif inside is None:
            kept.append(line)
    if inside is not None:
        raise ValueError(f"{where}: {BEGIN} is never closed by {END}")
    return "\n".join(kept)


def _strip_markdown(source, inside):
    """Drop the lines of gated solution dropdowns; ``inside`` carries over between cells.

    Returns ``(kept text, still inside)``.
    """
    kept = []
    closing_fence = False
    for line in source.splitlines():
        if closing_fence:  # the ``` that closes {solution-end}
            closing_fence = False
            if _FENCE.match(line):
                continue
        if not inside and _SOLUTION_START.match(line):
            inside = True
        if inside:
            if _SOLUTION_END.match(line):
                inside, closing_fence = False, True
            continue
        kept.append(line)
    return "\n".join(kept).strip("\n"), inside


_SOURCE_LEFT_OUT = (
    "*The website shows the tested reference's code here. The student version leaves it "
    "out: an exercise of this chapter asks you to write it.*"
)


def _withheld_names(notebook):
    """Function names of the references the chapter's exercise checks ask students to write."""
    from helpers.course.tripwires import references_for

    checks = [
        name
        for cell in notebook.cells
        if cell.cell_type == "code"
        for name in re.findall(r"\b(check_\w+)\(", cell.source)
    ]
    return {reference.partition(":")[2] for reference in references_for(checks)}


def _shows_withheld_source(source, withheld):
    """Whether the cell prints the code of a withheld reference (``show_source(...)``)."""
    for call in re.findall(r"show_source\(([^)]*)\)", source):
        if any(re.search(rf"\b{re.escape(name)}\b", call) for name in withheld):
            return True
    return False


def student_notebook(path):
    """The student version of the chapter at ``path`` (a ``.md`` or ``.ipynb`` notebook).

    Returns:
        an ``nbformat`` notebook (v4): solution regions replaced by ``raise
        NotImplementedError()``, solution dropdowns removed, no outputs, no
        cell metadata, no attachments.

    Raises:
        ValueError: a solution region is malformed (unclosed, nested).
        SolutionLeft: a line that appears only in solutions would remain.
    """
    import jupytext
    import nbformat

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no chapter at {path}")
    notebook = jupytext.read(path)
    withheld = _withheld_names(notebook)
    cells = []
    inside = False
    for index, cell in enumerate(notebook.cells):
        where = f"{path} cell {index}"
        if cell.cell_type == "markdown":
            text, inside = _strip_markdown(cell.source, inside)
            if text.strip():
                cells.append(nbformat.v4.new_markdown_cell(text))
        elif cell.cell_type == "code":
            if inside:  # a code cell of a solution dropdown
                continue
            text = _strip_code(cell.source, where)
            if _shows_withheld_source(text, withheld):
                cells.append(nbformat.v4.new_markdown_cell(_SOURCE_LEFT_OUT))
                continue
            cells.append(nbformat.v4.new_code_cell(text))
        else:
            cells.append(nbformat.v4.new_raw_cell(cell.source))
    if inside:
        raise ValueError(f"{path}: a {{solution-start}} is never closed by {{solution-end}}")

    student = nbformat.v4.new_notebook(cells=cells)
    student.metadata = {
        "kernelspec": notebook.metadata.get(
            "kernelspec", {"display_name": "Python 3", "language": "python", "name": "python3"}
        )
    }
    nbformat.validate(student)
    written = json.dumps(student, ensure_ascii=False)
    markers = [m for m in (BEGIN, END, "{solution-start}", "{solution-end}") if m in written]
    if markers:
        raise SolutionLeft(
            f"{path}: the student version still contains the solution marker {markers[0]!r}"
        )
    return student


def export(paths, out_dir):
    """Write the student version of each chapter in ``paths`` to ``out_dir/NAME.ipynb``.

    Returns:
        the list of written paths.
    """
    import nbformat

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for path in paths:
        target = out_dir / (Path(path).stem + ".ipynb")
        nbformat.write(student_notebook(path), target)
        written.append(target)
    return written


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m helpers.course.assignments",
        description="Write student versions of chapters: solutions removed, outputs cleared.",
    )
    parser.add_argument("chapters", nargs="+", help="chapter notebooks (.md or .ipynb)")
    parser.add_argument("--out", required=True, help="folder for the student .ipynb files")
    args = parser.parse_args(argv)
    for target in export(args.chapters, args.out):
        print(target)
    return 0


if __name__ == "__main__":
    sys.exit(main())
