"""The exercises of a chapter, read from its source: label, kind, statement, check.

Every exercise is a sphinx-exercise directive whose title names its kind
(``shared/GUIDE.md``, section 5)::

    ```{exercise} Implementation
    :label: bptt-step-backward

    Implement ...
    ```

An implementation exercise is followed, before the next exercise, by the
cell that calls its automatic check, ``helpers.exercises.check_...(names)``;
:func:`chapter_exercises` records that call, which is what
:mod:`helpers.course.grading` runs against a submission. Derivations and experiments
have no automatic check: an instructor grades them by reading.
"""

import re
from dataclasses import dataclass
from pathlib import Path

__all__ = ["KINDS", "Exercise", "chapter_exercises"]

KINDS = ("Derivation", "Implementation", "Experiment")

_EXERCISE = re.compile(r"^(`{3,})\{exercise\}\s*(.*?)\s*$")
_OPTION = re.compile(r"^:(\w[\w-]*):\s*(.*?)\s*$")
_CHECK_CALL = re.compile(r"^\s*(helpers\.exercises\.check_\w+\(.*\))\s*$")


@dataclass(frozen=True)
class Exercise:
    """One exercise of a chapter.

    Attributes:
        chapter: the chapter's file stem, e.g. ``"bptt"``.
        label: the exercise's label, e.g. ``"bptt-step-backward"``.
        kind: one of :data:`KINDS`.
        statement: the exercise's text (MyST Markdown).
        check: for an implementation exercise, the check call of the chapter,
            e.g. ``"helpers.exercises.check_clip_grad_norm(clip_grad_norm)"``;
            ``None`` otherwise.
    """

    chapter: str
    label: str
    kind: str
    statement: str
    check: str | None = None


def _source_text(path):
    if path.suffix == ".md":
        return path.read_text(encoding="utf-8")
    import jupytext  # an .ipynb twin: its Markdown form has the same directives

    return jupytext.writes(jupytext.read(path), fmt="md:myst")


def chapter_exercises(path):
    """The exercises of the chapter at ``path`` (``.md``, or an ``.ipynb`` jupytext reads), in order.

    Raises:
        FileNotFoundError: no file at ``path``.
        ValueError: an exercise without a label, a title that is not one of
            :data:`KINDS`, an implementation exercise without a check call, or
            a check call under a derivation or experiment; the message names
            the exercise.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no chapter at {path}")
    lines = _source_text(path).splitlines()
    found = []  # [label, kind, statement, check]
    index = 0
    while index < len(lines):
        match = _EXERCISE.match(lines[index])
        if match is None:
            check = _CHECK_CALL.match(lines[index])
            if check and found and found[-1][3] is None:
                found[-1][3] = check.group(1)
            index += 1
            continue
        fence, kind = match.groups()
        start = index + 1
        index = start
        options = {}
        while index < len(lines) and _OPTION.match(lines[index]):
            key, value = _OPTION.match(lines[index]).groups()
            options[key] = value
            index += 1
        body = []
        while index < len(lines) and lines[index].strip() != fence:
            body.append(lines[index])
            index += 1
        index += 1
        label = options.get("label")
        where = f"{path}: the exercise at line {start}"
        if not label:
            raise ValueError(f"{where} has no :label:")
        if kind not in KINDS:
            raise ValueError(
                f"{where} ({label}) has the title {kind!r}; "
                f"expected its kind, one of {', '.join(KINDS)}"
            )
        found.append([label, kind, "\n".join(body).strip(), None])

    exercises = []
    for label, kind, statement, check in found:
        if kind == "Implementation" and check is None:
            raise ValueError(
                f"{path}: implementation exercise {label} is not followed by a "
                f"helpers.exercises.check_...(...) call"
            )
        if kind != "Implementation" and check is not None:
            raise ValueError(
                f"{path}: {kind.lower()} exercise {label} is followed by the "
                f"check call {check}; only implementation exercises have one"
            )
        exercises.append(Exercise(path.stem, label, kind, statement, check))
    return exercises
