"""Binder: binder/ follows repo2docker's conventions, installs on a fresh machine, runs a chapter.

repo2docker reads `binder/runtime.txt` (the Python version), installs
`binder/requirements.txt` with pip, then runs `binder/postBuild` in the
repository. This test does the same in a fresh venv, offline: the packages come
from the wheelhouse `make wheelhouse` fills (the same CPU build of torch that
the requirements name on PyTorch's index, which this machine cannot reach).
repo2docker's base environment brings the Jupyter server and kernel; here
ipykernel and nbclient stand in for it.
"""

import json
import os
import re
import subprocess
import sys
import venv

import pytest

from conftest import REPO, copy_working_tree

WHEELHOUSE = REPO / ".cache" / "wheelhouse"
BINDER = REPO / "binder"

EXECUTE = """
import json, sys
import nbformat
from nbclient import NotebookClient
notebook = nbformat.read(sys.argv[1], as_version=4)
NotebookClient(notebook, timeout=600, kernel_name="python3").execute()
first = next(c for c in notebook.cells if c.cell_type == "code")
print(json.dumps("".join(o.get("text", "") for o in first.outputs)))
"""


def run(*command, cwd=None, env=None):
    result = subprocess.run(
        [str(c) for c in command], cwd=cwd, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, (
        f"{' '.join(map(str, command))} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    )
    return result.stdout


def test_binder_pins_the_python_version_repo2docker_reads():
    runtime = (BINDER / "runtime.txt").read_text().strip()
    assert re.fullmatch(r"python-3\.\d+", runtime), runtime
    assert os.access(BINDER / "postBuild", os.X_OK), "repo2docker runs postBuild only if executable"
    assert (BINDER / "postBuild").read_text().startswith("#!/bin/bash\n")


@pytest.mark.slow
def test_binder_requirements_install_fresh_and_run_a_chapter(tmp_path):
    assert (WHEELHOUSE / ".downloaded").exists(), (
        f"{WHEELHOUSE} is empty: `make wheelhouse` (part of `make test`) fills it"
    )
    runtime = (BINDER / "runtime.txt").read_text().strip()
    assert runtime == f"python-{sys.version_info.major}.{sys.version_info.minor}", (
        f"binder/runtime.txt says {runtime}; this test runs Python {sys.version.split()[0]}"
    )
    venv.create(tmp_path / "venv", with_pip=True)
    bin_dir = tmp_path / "venv" / "bin"
    # pip offline, for the requirements and for postBuild's own `pip install`
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")},
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "PIP_NO_INDEX": "1",
        "PIP_FIND_LINKS": str(WHEELHOUSE),
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    }
    lines = (BINDER / "requirements.txt").read_text().splitlines()
    offline = tmp_path / "requirements.txt"
    offline.write_text(
        "\n".join(line for line in lines if not line.startswith("--extra-index-url"))
    )
    run(bin_dir / "pip", "install", "--quiet", "-r", offline, env=env)

    repository = copy_working_tree(tmp_path / "repository")
    run("bash", repository / "binder" / "postBuild", cwd=repository, env=env)
    # postBuild installs with --no-deps: binder's requirements must hold every dependency
    run(bin_dir / "pip", "check", env=env)
    run(bin_dir / "pip", "install", "--quiet", "ipykernel", "nbclient", env=env)

    script = tmp_path / "execute.py"
    script.write_text(EXECUTE)
    printed = json.loads(
        run(bin_dir / "python", script, "chapters/notation.ipynb", cwd=repository, env=env)
        .strip()
        .splitlines()[-1]
    )
    # the helpers of this very checkout, installed by postBuild (not editable)
    assert printed.startswith("rnn-book-helpers "), printed
    assert f"from {repository.as_uri()}" in printed, printed
