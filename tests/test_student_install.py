"""Install helpers the way a chapter's first cell does on Colab, into a clean venv.

The venv starts with only the pinned torch (Colab starts with its own), then gets
a regular, non-editable install of the package from a copy of the repository.
Every module must import from the installed copy, and torch must be untouched.
Everything comes from the wheelhouse `make wheelhouse` fills, so no network is
used during the test.
"""

import json
import subprocess
import venv

import pytest

from conftest import REPO, copy_working_tree

WHEELHOUSE = REPO / ".cache" / "wheelhouse"

IMPORT_EVERYTHING = """
import importlib, importlib.metadata, json, pkgutil
import helpers
names = [m.name for m in pkgutil.walk_packages(helpers.__path__, "helpers.")]
for name in names:
    importlib.import_module(name)
print(json.dumps({
    "helpers_file": helpers.__file__,
    "modules": sorted(names),
    "torch": importlib.metadata.version("torch"),
}))
"""


def run(*command, cwd=None):
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    assert result.returncode == 0, (
        f"{' '.join(map(str, command))} failed:\n{result.stdout}\n{result.stderr}"
    )
    return result.stdout


@pytest.mark.slow
def test_student_install_into_a_clean_environment(tmp_path):
    assert (WHEELHOUSE / ".downloaded").exists(), (
        f"{WHEELHOUSE} is empty: `make wheelhouse` (part of `make test`) fills it"
    )
    venv.create(tmp_path / "venv", with_pip=True)
    python = tmp_path / "venv" / "bin" / "python"
    offline = ["--no-index", "--find-links", str(WHEELHOUSE), "--disable-pip-version-check"]

    run(python, "-m", "pip", "install", *offline, "torch==2.13.0")
    torch_before = run(
        python, "-c", "import importlib.metadata as m; print(m.version('torch'))"
    ).strip()

    source = copy_working_tree(tmp_path / "repository")
    log = run(python, "-m", "pip", "install", *offline, str(source))
    assert "Uninstalling torch" not in log
    installed_line = next(
        line for line in log.splitlines() if line.startswith("Successfully installed")
    )
    assert " rnn-book-helpers-" in installed_line
    assert " torch-" not in installed_line, installed_line

    report = json.loads(run(python, "-c", IMPORT_EVERYTHING, cwd=tmp_path).strip().splitlines()[-1])
    assert report["torch"] == torch_before
    assert str(tmp_path / "venv") in report["helpers_file"], (
        "helpers was not imported from the install"
    )
    package = REPO / "src" / "helpers"
    # A subpackage is named by its folder (helpers.exercises), a module by its file.
    in_source = sorted(
        "helpers."
        + ".".join(
            (path.parent if path.name == "__init__.py" else path.with_suffix(""))
            .relative_to(package)
            .parts
        )
        for path in package.rglob("*.py")
        if path != package / "__init__.py"
    )
    missing = sorted(set(in_source) - set(report["modules"]))
    assert not missing, f"the installed package lacks modules the source has: {missing}"
    # the only extra names are the old path of the course checks, an alias package
    # (helpers.exercises.rnn is helpers.course.checks.rnn)
    extra = sorted(set(report["modules"]) - set(in_source))
    checks = sorted(
        f"helpers.exercises.{path.stem}"
        for path in (package / "course" / "checks").glob("*.py")
        if path.name != "__init__.py"
    )
    assert extra == checks, extra
