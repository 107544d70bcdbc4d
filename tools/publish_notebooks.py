"""Sphinx extension: the site publishes each chapter's notebook pinned to the build's revision.

A page and the code its notebook runs must be one version. The sources install
`helpers` from the branch (`@main`), which moves; so when the site is built,
this extension

- writes `notebooks/<page>.ipynb` into the site: the page's `.ipynb` twin with
  its install cell stamped with what `repository.install_from` in `_config.yml`
  asks for (`revision`: this repository at the commit being built; `release`:
  `rnn-book-helpers==<version>`), see `tools/install_cell.py`;
- points the page's Colab button at that notebook on the branch the site is
  published to (`repository.site_branch`, ghp-import's `gh-pages` by default),
  and its Binder button at the commit being built, whose `binder/` installs the
  helpers of that same commit.

The commit is `git rev-parse HEAD` of the book, or the environment variable
`BOOK_REVISION` (the tests build copies of the working tree that have no `.git`).
"""

import json
import os
import re
from pathlib import Path
from urllib.parse import quote

from sphinx.errors import ExtensionError
from sphinx.util import logging

import install_cell

LOGGER = logging.getLogger(__name__)
REVISION_ENV_VAR = "BOOK_REVISION"
NOTEBOOKS_DIR = "notebooks"


def _revision(book_dir: Path) -> str:
    revision = os.environ.get(REVISION_ENV_VAR, "").strip()
    if revision:
        if not re.fullmatch(r"[0-9a-f]{7,40}", revision):
            raise ExtensionError(
                f"{REVISION_ENV_VAR}={revision!r} is not a git commit (7 to 40 hex digits)"
            )
        return revision
    try:
        return install_cell.build_revision(book_dir)
    except RuntimeError as error:
        raise ExtensionError(str(error)) from None


def _settings(app):
    """Computed once per build: the requirement the published notebooks install."""
    if not hasattr(app, "_published_install"):
        book_dir = Path(app.srcdir)
        try:
            settings = install_cell.repository_settings(book_dir)
        except ValueError as error:
            raise ExtensionError(str(error)) from None
        revision = _revision(book_dir)
        requirement = install_cell.published_requirement(book_dir, revision)
        settings["revision"] = revision
        settings["requirement"] = requirement
        settings.setdefault("site_branch", "gh-pages")
        app._published_install = settings
        LOGGER.info(f"published notebooks install {requirement}")
    return app._published_install


def _twin(app, pagename: str) -> Path | None:
    twin = Path(app.srcdir) / f"{pagename}.ipynb"
    source = Path(app.srcdir) / f"{pagename}.md"
    return twin if twin.is_file() and source.is_file() else None


def retarget_launch_buttons(app, pagename, templatename, context, doctree):
    """Colab opens the published notebook; Binder opens the commit being built."""
    if _twin(app, pagename) is None:
        return
    settings = _settings(app)
    owner_repo = settings["url"].removeprefix("https://github.com/").strip("/")
    for group in context.get("header_buttons", []):
        if group.get("label") != "launch-buttons":
            continue
        for button in group.get("buttons", []):
            url = button.get("url", "")
            if "colab.research.google.com" in url:
                colab = url.split("/github/")[0]
                button["url"] = (
                    f"{colab}/github/{owner_repo}/blob/{quote(settings['site_branch'])}/"
                    f"{NOTEBOOKS_DIR}/{pagename}.ipynb"
                )
            elif "/v2/gh/" in url:
                prefix = f"/v2/gh/{owner_repo}/{settings['branch']}?"
                if prefix not in url:
                    raise ExtensionError(f"unexpected Binder link {url!r} on {pagename}")
                button["url"] = url.replace(prefix, f"/v2/gh/{owner_repo}/{settings['revision']}?")


def write_published_notebooks(app, exception):
    """Write `notebooks/<page>.ipynb` for every notebook page, install cell stamped."""
    if exception is not None or app.builder.format != "html":
        return
    settings = _settings(app)
    written = 0
    for pagename in sorted(app.env.found_docs):
        twin = _twin(app, pagename)
        if twin is None:
            continue
        notebook = json.loads(twin.read_text())
        cell = next((c for c in notebook["cells"] if c["cell_type"] == "code"), None)
        if cell is None:
            raise ExtensionError(f"{twin} has no code cell to install helpers in")
        source = "".join(cell["source"])
        try:
            stamped = install_cell.stamp(source, settings["requirement"])
        except ValueError as error:
            raise ExtensionError(f"{twin}: {error}") from None
        cell["source"] = stamped.splitlines(keepends=True)
        notebook.setdefault("metadata", {})["rnn_book"] = {
            "revision": settings["revision"],
            "helpers": settings["requirement"],
        }
        target = Path(app.outdir) / NOTEBOOKS_DIR / f"{pagename}.ipynb"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(notebook, indent=1, ensure_ascii=False) + "\n")
        written += 1
    LOGGER.info(
        f"{written} notebooks written to {NOTEBOOKS_DIR}/, installing {settings['requirement']}"
    )


def setup(app):
    # after sphinx-book-theme builds the launch buttons (its handler runs at priority 501)
    app.connect("html-page-context", retarget_launch_buttons, priority=600)
    app.connect("build-finished", write_published_notebooks)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
