"""The book's sources (chapters and `_toc.yml`) for the course tools: a clone, found or made.

The instructors' page and the grading tools read the chapters' sources. In a
clone of the repository they are found from the working directory upwards;
elsewhere (Colab) :func:`book_checkout` clones the repository the installed
`helpers` came from, at the same commit, so the page reads the chapters that
match its helpers.
"""

import os
import shutil
import subprocess
from importlib import metadata
from pathlib import Path

from helpers.version import DISTRIBUTION, installed_from

REPOSITORY_ENV_VAR = "RNN_BOOK_REPOSITORY"
"""Clone from here instead (a URL or a local path), for a fork or offline tests."""


def find_checkout(start: Path) -> Path | None:
    """The first folder at or above `start` with the book's `_toc.yml`, or None."""
    start = Path(start).resolve()
    return next((f for f in (start, *start.parents) if (f / "_toc.yml").is_file()), None)


def repository_to_clone() -> tuple[str, str | None]:
    """Where the installed helpers came from: (repository, commit or None).

    `RNN_BOOK_REPOSITORY` wins; then the git URL and commit pip recorded for an
    install from git (what every install cell does); then the distribution's
    `Source` URL at its default branch.

    Raises:
        RuntimeError: none of the three names a repository.
    """
    override = os.environ.get(REPOSITORY_ENV_VAR, "").strip()
    if override:
        return override, None
    source = installed_from()
    if source.startswith("git "):
        url, _, commit = source.removeprefix("git ").rpartition("@")
        return url, commit or None
    try:
        urls = metadata.metadata(DISTRIBUTION).get_all("Project-URL") or []
    except metadata.PackageNotFoundError:
        urls = []
    for entry in urls:
        label, _, url = entry.partition(",")
        if label.strip().lower() == "source":
            return url.strip(), None
    raise RuntimeError(
        f"cannot tell which repository to clone: {DISTRIBUTION} was installed from "
        f"{source!r} and names no Source URL; set {REPOSITORY_ENV_VAR} to the book's repository"
    )


def book_checkout(start: Path | None = None, *, clone_into: Path | None = None) -> Path:
    """The folder holding the book's `_toc.yml` and chapters.

    Args:
        start: where to look first, upwards (default: the working directory).
        clone_into: where to clone when no checkout is found (default:
            `<start>/rnn-book`; reused if it already holds a checkout).

    Returns:
        Path: the checkout's root folder.

    Raises:
        RuntimeError: no checkout was found and cloning failed (git missing, no
            network, unknown repository), with git's message and what to do.
    """
    start = Path.cwd() if start is None else Path(start)
    found = find_checkout(start)
    if found is not None:
        return found
    target = Path(clone_into) if clone_into is not None else start / "rnn-book"
    if (target / "_toc.yml").is_file():
        return target.resolve()
    if shutil.which("git") is None:
        raise RuntimeError("no clone of the book was found and git is not installed to make one")
    url, commit = repository_to_clone()
    steps = [["git", "clone", "--quiet", url, str(target)]]
    if commit:
        steps.append(["git", "-C", str(target), "checkout", "--quiet", commit])
    for step in steps:
        result = subprocess.run(step, capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(
                f"no clone of the book was found here, and `{' '.join(step)}` failed: "
                f"{result.stderr.strip()}. Clone the repository by hand and open the "
                "notebook from the clone."
            )
    if not (target / "_toc.yml").is_file():
        raise RuntimeError(f"cloned {url} into {target}, but it has no _toc.yml: not the book")
    return target.resolve()
