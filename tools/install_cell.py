"""The first cell of every notebook: install `helpers` where it is missing, say which runs.

One place says where it installs from: `repository` in `_config.yml`.

- `url` and `branch`: the repository. The sources (`chapters/*.md`, their
  `.ipynb` twins, `instructors.md`) install from the branch, the development
  version: a notebook opened from the repository runs the helpers of the same
  branch.
- `install_from`: what the notebooks the site publishes install. `revision`
  pins the commit the site was built from (`git+URL@<sha>`); `release` pins the
  release of the version in `pyproject.toml` from the package index
  (`rnn-book-helpers==<version>`). `tools/publish_notebooks.py` stamps it into
  the notebooks when the site is built.

Usage:
    python tools/install_cell.py          # rewrite every source's install cell from _config.yml
    python tools/install_cell.py --check  # exit 1 if any differs (what tests/test_chapters.py checks)
"""

import re
import subprocess
import sys
from pathlib import Path

import jupytext
import tomllib
import yaml

REPO = Path(__file__).resolve().parent.parent
DISTRIBUTION = "rnn-book-helpers"
INSTALL_FROM = ("revision", "release")

_CELL = """\
# Colab and other fresh environments: install the book's `helpers` package
# (distribution {distribution}). Where it is already installed (a clone,
# Binder, the book's build) nothing is installed. The copy of this notebook
# that the website publishes installs the revision the website was built from.
try:
    import helpers
except ImportError:
    %pip install --quiet "{requirement}"
    import importlib

    importlib.invalidate_caches()
    try:
        import helpers
    except ImportError as error:  # say so here, not in a later cell
        raise RuntimeError(
            "Installing the book's `helpers` package failed; pip's messages above say why. "
            "Check that this runtime can reach the internet (Colab: Runtime > Restart "
            "session, then run this cell again), or install it by hand with the %pip line above."
        ) from error
print(helpers.version.describe())"""

# The requirement in the cell's %pip line: what stamping replaces.
_PIP_LINE = re.compile(r'^(    %pip install --quiet )"([^"]+)"$', re.M)


def repository_settings(book_dir: Path = REPO) -> dict:
    """`repository` of `_config.yml`, checked: url, branch, install_from."""
    config = yaml.safe_load((book_dir / "_config.yml").read_text())
    settings = dict(config.get("repository") or {})
    for key in ("url", "branch"):
        if not isinstance(settings.get(key), str) or not settings[key]:
            raise ValueError(
                f"_config.yml: repository.{key} must be set, got {settings.get(key)!r}"
            )
    install_from = settings.setdefault("install_from", "revision")
    if install_from not in INSTALL_FROM:
        raise ValueError(
            f"_config.yml: repository.install_from must be one of {INSTALL_FROM}, "
            f"got {install_from!r}"
        )
    return settings


def git_requirement(url: str, ref: str) -> str:
    """The pip requirement for this repository at a branch, tag or commit."""
    return f"{DISTRIBUTION} @ git+{url}@{ref}"


def release_requirement(version: str) -> str:
    return f"{DISTRIBUTION}=={version}"


def source_cell(book_dir: Path = REPO) -> str:
    """The install cell every source notebook starts with: installs from the branch."""
    settings = repository_settings(book_dir)
    requirement = git_requirement(settings["url"], settings["branch"])
    return _CELL.format(distribution=DISTRIBUTION, requirement=requirement)


def project_version(book_dir: Path = REPO) -> str:
    return tomllib.loads((book_dir / "pyproject.toml").read_text())["project"]["version"]


def build_revision(book_dir: Path = REPO) -> str:
    """The commit the working tree is at (`git rev-parse HEAD`).

    Raises:
        RuntimeError: `book_dir` is not a git checkout with a commit.
    """
    result = subprocess.run(
        ["git", "rev-parse", "--verify", "HEAD"],
        cwd=book_dir,
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise RuntimeError(
            f"the site's notebooks install `helpers` at the commit the site is built from, "
            f"but {book_dir} has no git commit ({result.stderr.strip()}); build from a clone, "
            "or set repository.install_from: release in _config.yml"
        )
    return result.stdout.strip()


def published_requirement(book_dir: Path = REPO, revision: str | None = None) -> str:
    """What the published notebooks install, by `repository.install_from`.

    Args:
        book_dir: the book's folder.
        revision: the commit being built; None to read it with git (only for `revision`).
    """
    settings = repository_settings(book_dir)
    if settings["install_from"] == "release":
        return release_requirement(project_version(book_dir))
    return git_requirement(settings["url"], revision or build_revision(book_dir))


def requirement_of(cell_source: str) -> str:
    """The requirement an install cell's %pip line installs.

    Raises:
        ValueError: the cell has no indented `%pip install --quiet "..."` line, or more than one.
    """
    found = _PIP_LINE.findall(cell_source)
    if len(found) != 1:
        raise ValueError(
            f"an install cell must have exactly one '    %pip install --quiet \"...\"' line, "
            f"found {len(found)}"
        )
    return found[0][1]


def stamp(cell_source: str, requirement: str) -> str:
    """The install cell with its %pip line installing `requirement` instead."""
    requirement_of(cell_source)  # exactly one line to replace
    return _PIP_LINE.sub(lambda m: f'{m.group(1)}"{requirement}"', cell_source)


def source_notebooks(book_dir: Path = REPO) -> list[Path]:
    """Every notebook page of the book (`.md` sources with a jupytext header), in toc order."""
    toc = yaml.safe_load((book_dir / "_toc.yml").read_text())
    files = []

    def walk(node):
        if isinstance(node, dict):
            if "file" in node:
                files.append(node["file"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(toc)
    paths = [book_dir / f"{name}.md" for name in files]
    return [p for p in paths if p.exists() and p.read_text().startswith("---\njupytext:")]


def first_code_cell_index(notebook) -> int:
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "code":
            return index
    raise ValueError("the notebook has no code cell")


def main(argv: list[str]) -> int:
    check = "--check" in argv
    expected = source_cell()
    differ = []
    for path in source_notebooks():
        notebook = jupytext.read(path)
        index = first_code_cell_index(notebook)
        if notebook.cells[index].source == expected:
            continue
        differ.append(path.relative_to(REPO))
        if not check:
            text = path.read_text()
            old = notebook.cells[index].source
            if text.count(old) != 1:
                raise RuntimeError(f"{path}: cannot find the install cell's text once")
            path.write_text(text.replace(old, expected))
    verb = "differ from _config.yml" if check else "rewritten"
    print(f"install cells {verb}: {', '.join(map(str, differ)) or 'none'}")
    return 1 if check and differ else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
