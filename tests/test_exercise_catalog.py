"""Reading a chapter's exercises (helpers.course.exercise_catalog): labels, kinds, checks, and errors."""

import jupytext
import pytest

from helpers.course.exercise_catalog import KINDS, Exercise, chapter_exercises

from conftest import REPO

HEADER = "---\n" + (REPO / "chapters/notation.md").read_text().split("---\n")[1] + "---\n\n"


def exercise(kind, label, body="Do it."):
    return f"```{{exercise}} {kind}\n:label: {label}\n\n{body}\n```\n\n"


def chapter(tmp_path, text, name="small.md"):
    path = tmp_path / name
    path.write_text(HEADER + text)
    return path


def test_a_chapter_reads_as_its_exercises_in_order(tmp_path):
    text = (
        exercise("Derivation", "a-derive", "Show that $x = 1$.")
        + "```{solution-start} a-derive\n:class: dropdown\n```\n\nBecause.\n\n"
        + "```{solution-end}\n```\n\n"
        + exercise("Implementation", "a-code")
        + "```{code-cell} ipython3\ndef f(x):\n    ### BEGIN SOLUTION\n    return x\n"
        + "    ### END SOLUTION\n\n\nhelpers.exercises.check_clip_grad_norm(f)\n```\n\n"
        + exercise("Experiment", "a-measure", "Time it.\n\nTwice.")
    )
    found = chapter_exercises(chapter(tmp_path, text))
    assert found == [
        Exercise("small", "a-derive", "Derivation", "Show that $x = 1$."),
        Exercise(
            "small",
            "a-code",
            "Implementation",
            "Do it.",
            "helpers.exercises.check_clip_grad_norm(f)",
        ),
        Exercise("small", "a-measure", "Experiment", "Time it.\n\nTwice."),
    ]


def test_the_ipynb_twin_gives_the_same_exercises(tmp_path):
    path = REPO / "chapters/bptt.md"
    twin = tmp_path / "bptt.ipynb"
    jupytext.write(jupytext.read(path), twin)
    assert chapter_exercises(twin) == chapter_exercises(path)


def test_the_books_chapters_name_one_check_per_implementation():
    for path in sorted((REPO / "chapters").glob("*.md")):
        for found in chapter_exercises(path):
            assert found.kind in KINDS
            assert (found.check is not None) == (found.kind == "Implementation"), found


@pytest.mark.parametrize(
    "text, message",
    [
        ("```{exercise} Derivation\n\nNo label.\n```\n", "has no :label:"),
        (
            exercise("Essay", "x-essay"),
            "has the title 'Essay'; expected its kind, one of Derivation",
        ),
        (exercise("", "x-untitled"), "has the title ''"),
        (
            exercise("Implementation", "x-unchecked"),
            "implementation exercise x-unchecked is not followed",
        ),
        (
            exercise("Derivation", "x-checked") + "```{code-cell} ipython3\n"
            "helpers.exercises.check_unroll(unroll)\n```\n",
            "derivation exercise x-checked is followed by",
        ),
    ],
)
def test_malformed_exercises_are_named(tmp_path, text, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        chapter_exercises(chapter(tmp_path, text))


def test_a_missing_chapter_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match="no chapter at"):
        chapter_exercises(tmp_path / "missing.md")
