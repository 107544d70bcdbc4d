"""Copy Colab's published package versions into colab/constraints.txt.

Colab publishes what its runtime has preinstalled in the repository
googlecolab/backend-info: `pip-freeze.txt` (the Python packages) and
`os-info.txt` (the Python version). This script turns them into a pip
constraints file, which `make test-colab` (tools/test_colab.py) builds its
stand-in for Colab from.

Usage:
    python colab/refresh_constraints.py                 # fetch the newest files from GitHub
    python colab/refresh_constraints.py --from FOLDER   # a checkout of googlecolab/backend-info
                                                        # (the commit and date are read with git)

Lines installed from a wheel URL (torch, torchvision, ...) are pinned to the version
in the wheel's name; packages installed from a git or file URL (Colab's own) are left
out, and the header says which.
"""

import argparse
import datetime
import re
import subprocess
import sys
import urllib.request
from pathlib import Path
from urllib.parse import unquote

REPOSITORY = "googlecolab/backend-info"
RAW = f"https://raw.githubusercontent.com/{REPOSITORY}/main"
API = f"https://api.github.com/repos/{REPOSITORY}/commits?per_page=1&path=pip-freeze.txt"
TARGET = Path(__file__).resolve().parent / "constraints.txt"

_PINNED = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;#]+)")
_FROM_URL = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*) @ (\S+)")
# a wheel's file name: name-version(-build)?-python-abi-platform.whl
_WHEEL = re.compile(r"/([^/]+?)-([^-/]+?)(-\d[^-/]*)?-[^-/]+-[^-/]+-[^-/]+\.whl")


def pins_from_freeze(text: str) -> tuple[dict[str, str], list[str]]:
    """`name -> version` for every pinned line of a pip freeze, and the names left out.

    Args:
        text: the output of `pip freeze`.

    Returns:
        (pins, left_out): versions keyed by the name as written, wheel URLs reduced
        to the wheel's version without its local part (`2.11.0+cpu` -> `2.11.0`);
        left_out names the packages installed from git or a local file.
    """
    pins, left_out = {}, []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        pinned = _PINNED.match(line)
        if pinned:
            pins[pinned.group(1)] = pinned.group(2)
            continue
        from_url = _FROM_URL.match(line)
        if from_url is None:
            raise ValueError(f"cannot read this line of the pip freeze: {line!r}")
        name, url = from_url.groups()
        wheel = _WHEEL.search(unquote(url))
        if url.startswith("http") and wheel:
            pins[name] = wheel.group(2).split("+")[0]
        else:
            left_out.append(name)
    return pins, left_out


def python_version(os_info: str) -> str:
    found = re.search(r"^Python (\d+\.\d+(?:\.\d+)?)", os_info, re.M)
    if found is None:
        raise ValueError("os-info.txt names no Python version")
    return found.group(1)


def render(pins, left_out, *, python, source, dated) -> str:
    header = [
        "# Colab's preinstalled Python packages: the versions `make test-colab` holds fixed.",
        f"# Source: {source}",
        f"# Dated: {dated}; copied {datetime.date.today().isoformat()} by colab/refresh_constraints.py",
        f"# Colab's Python: {python} (make test-colab uses Python 3.11 and the local torch as stand-ins)",
        "# Wheel URLs are pinned to their version; installed from git or a file, left out: "
        + ", ".join(sorted(left_out)),
    ]
    body = [f"{name}=={pins[name]}" for name in sorted(pins, key=str.lower)]
    return "\n".join(header + body) + "\n"


def _git(folder, *args):
    return subprocess.run(
        ["git", "-C", str(folder), *args], capture_output=True, text=True, check=True
    ).stdout


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--from", dest="folder", type=Path, help="a checkout of " + REPOSITORY)
    args = parser.parse_args(argv)
    if args.folder:
        if (args.folder / "pip-freeze.txt").is_file():
            freeze = (args.folder / "pip-freeze.txt").read_text()
            os_info = (args.folder / "os-info.txt").read_text()
        else:  # a bare mirror: read the files at HEAD
            freeze = _git(args.folder, "show", "HEAD:pip-freeze.txt")
            os_info = _git(args.folder, "show", "HEAD:os-info.txt")
        commit, dated = _git(
            args.folder, "log", "-1", "--format=%H %as", "--", "pip-freeze.txt"
        ).split()
    else:
        read = lambda url: urllib.request.urlopen(url, timeout=60).read().decode()  # noqa: E731
        freeze, os_info = read(f"{RAW}/pip-freeze.txt"), read(f"{RAW}/os-info.txt")
        latest = re.search(
            r'"sha":\s*"([0-9a-f]{40})".*?"date":\s*"(\d{4}-\d\d-\d\d)', read(API), re.S
        )
        commit, dated = latest.groups() if latest else ("main", "unknown")
    pins, left_out = pins_from_freeze(freeze)
    source = f"https://github.com/{REPOSITORY}/blob/{commit}/pip-freeze.txt"
    TARGET.write_text(
        render(pins, left_out, python=python_version(os_info), source=source, dated=dated)
    )
    print(f"{TARGET}: {len(pins)} packages of Colab ({dated}), left out: {', '.join(left_out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
