"""Which `helpers` is running: the distribution's version and where it was installed from.

The install cell of every notebook prints :func:`describe`, so a notebook's
output says which revision of the helpers produced it.
"""

import json
from importlib import metadata

DISTRIBUTION = "rnn-book-helpers"
"""The name the package index knows the book's package by (it is imported as ``helpers``)."""


def version() -> str:
    """The installed distribution's version, or ``"0+unknown"`` when it is not installed.

    Returns:
        str: the version in ``pyproject.toml`` when the package was installed.
    """
    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return "0+unknown"


def installed_from() -> str:
    """Where pip installed the package from, as recorded in its ``direct_url.json``.

    Returns:
        str: ``"git <url>@<commit>"`` for an install from a repository,
        ``"editable <path>"`` for a clone installed with ``pip install -e``,
        ``"<url>"`` for a wheel or folder, ``"the package index"`` for a
        release, or ``"not installed"``.
    """
    try:
        direct = metadata.distribution(DISTRIBUTION).read_text("direct_url.json")
    except metadata.PackageNotFoundError:
        return "not installed"
    if direct is None:
        return "the package index"
    record = json.loads(direct)
    url = record.get("url", "")
    if "vcs_info" in record:
        return f"git {url}@{record['vcs_info'].get('commit_id', '?')}"
    if record.get("dir_info", {}).get("editable"):
        return f"editable {url.removeprefix('file://')}"
    return url


def describe() -> str:
    """One line for a notebook's output: name, version and source.

    Returns:
        str: for example ``"rnn-book-helpers 0.2.0 from git https://github.com/o/r@3f2a..."``.
    """
    return f"{DISTRIBUTION} {version()} from {installed_from()}"
