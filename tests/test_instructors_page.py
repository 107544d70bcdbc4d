"""The instructors' page names only files that exist, and warns about what instructors must know.

A moved file (``benchmarks/results/chapter_times.md`` became a table of
``benchmarks.md``; ``benchmarks/compare_units.py`` moved to
``benchmarks/experiments/``) leaves the page pointing at nothing; this test
reads every repository path the page names, in its prose and in its code.
"""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "instructors.md"

# Paths the page names as examples of the instructor's own files, or build outputs.
NOT_IN_THE_REPOSITORY = ("_build/", ".venv/", "handouts/", "submissions/", "grades/", "https://")
PATH = re.compile(r"(?<![\w/.-])((?:[\w.-]+/)+[\w.*-]*)")


def named_paths(text):
    """Every ``a/b/c`` the text names, with what a glob or a placeholder needs."""
    found = set()
    for match in PATH.finditer(text):
        path = match.group(1).rstrip(".,:;)")
        if path.startswith(NOT_IN_THE_REPOSITORY) or "/" not in path.rstrip("/"):
            continue
        if any(part in path for part in ("OWNER", "NAME.", "PATH.", "LABEL")):
            continue
        if path.startswith(("github.com", "colab.research", "www.")):
            continue
        found.add(path)
    return found


def test_the_path_finder_sees_prose_and_code_paths():
    text = (
        "see `benchmarks/results/benchmarks.md`, run `python -m x chapters/lstm.md "
        '--out handouts/` or BOOK / "chapters/bptt.md"; tests in `tests/test_exercises_*.py`'
    )
    assert named_paths(text) == {
        "benchmarks/results/benchmarks.md",
        "chapters/lstm.md",
        "chapters/bptt.md",
        "tests/test_exercises_*.py",
    }


@pytest.mark.parametrize("path", sorted(named_paths(PAGE.read_text())))
def test_every_path_the_page_names_exists(path):
    matches = list(ROOT.glob(path.rstrip("/"))) if "*" in path else [ROOT / path]
    assert matches and all(match.exists() for match in matches), (
        f"instructors.md names {path}, which is not in the repository"
    )


def test_the_page_names_the_moved_files_where_they_are_now():
    text = PAGE.read_text()
    assert "chapter_times.md" not in text
    assert "benchmarks/compare_units.py" not in text


def test_the_page_warns_that_solutions_are_public_and_grading_runs_student_code():
    text = re.sub(r"\s+", " ", PAGE.read_text())
    warnings = re.findall(r"```\{warning\}(.*?)```", text)
    assert any("solutions are public" in w and ".ipynb" in w for w in warnings), warnings
    assert any(
        "Grading runs the students' code" in w and "sandbox" in w and "secrets" in w
        for w in warnings
    ), warnings
