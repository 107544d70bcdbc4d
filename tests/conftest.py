"""Shared fixtures: the repository layout and one fresh build of the book per test session."""

import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parent.parent
ARTIFACTS = REPO / "test-artifacts"
# tools/ holds the build's own modules (install_cell, publish_notebooks), not part of helpers.
sys.path.insert(0, str(REPO / "tools"))


def toc_files() -> list[str]:
    """Every page in _toc.yml, as a path relative to the repository without suffix."""
    toc = yaml.safe_load((REPO / "_toc.yml").read_text())
    files = [toc["root"]]

    def walk(entries):
        for entry in entries:
            if "file" in entry:
                files.append(entry["file"])
            walk(entry.get("sections", []))

    for part in toc.get("parts", []):
        walk(part.get("chapters", []))
    walk(toc.get("chapters", []))
    return files


def notebook_pages() -> list[str]:
    """Pages written as MyST Markdown notebooks (they have a kernelspec), e.g. 'chapters/notation'."""
    pages = []
    for page in toc_files():
        source = REPO / f"{page}.md"
        if source.exists() and "\nkernelspec:" in source.read_text().split("\n---", 2)[0]:
            pages.append(page)
    return pages


def book_config() -> dict:
    return yaml.safe_load((REPO / "_config.yml").read_text())


def copy_working_tree(destination: Path) -> Path:
    """Copy the files git tracks or would track (not ignored ones) to destination.

    This is what a fresh clone of the current work would contain: no .venv,
    no _build, no node_modules.
    """
    listed = (
        subprocess.run(
            ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
            cwd=REPO,
            capture_output=True,
            check=True,
        )
        .stdout.decode()
        .split("\0")
    )
    for relative in filter(None, listed):
        source = REPO / relative
        if source.is_file():
            target = destination / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)
    return destination


@dataclass
class BuildResult:
    returncode: int
    log: str
    seconds: float
    html: Path


def build_book(book_dir: Path, log_name: str) -> BuildResult:
    """Run tools/build_book.py (what `make book` runs) on book_dir; keep its log as an artifact."""
    ARTIFACTS.mkdir(exist_ok=True)
    # Copies of the working tree have no .git: they publish notebooks pinned to this HEAD.
    revision = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.strip()
    start = time.perf_counter()
    result = subprocess.run(
        [sys.executable, str(REPO / "tools" / "build_book.py"), str(book_dir)],
        cwd=book_dir,
        capture_output=True,
        text=True,
        env={**os.environ, "BOOK_REVISION": revision},
    )
    seconds = time.perf_counter() - start
    log = result.stdout + result.stderr
    (ARTIFACTS / log_name).write_text(log)
    return BuildResult(result.returncode, log, seconds, book_dir / "_build" / "html")


@pytest.fixture(scope="session")
def built_book() -> BuildResult:
    """The book built fresh from this working tree, once per test session."""
    return build_book(REPO, "book-build.log")


def require_bubblewrap():
    """Skip where bubblewrap is missing or refused; in CI (which installs it) fail instead."""
    from helpers.course.sandbox import best_level

    if best_level() != "bubblewrap":
        message = "bubblewrap is missing or refused (apt-get install bubblewrap)"
        if os.environ.get("CI"):
            pytest.fail(f"{message}: CI must grade with it")
        pytest.skip(message)
