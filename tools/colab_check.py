"""`make test-colab`: the chapters on Colab's own package versions, Colab left untouched.

Colab's runtime comes with its packages preinstalled (colab/constraints.txt,
copied from Colab's published pip freeze by colab/refresh_constraints.py). The
first cell of every notebook installs the book's `helpers` with pip, which must
replace none of them: a newer ipywidgets, say, stops Colab showing widgets. This
script builds a stand-in for Colab and checks, in order:

1. **colab**: a fresh venv (Python 3.11; the local CPU torch 2.13.0 stands in
   for Colab's torch 2.11.0 on Python 3.13) with Colab's version of every Colab
   package the book's install reaches: the kernel, ipywidgets 7, numpy, ...;
2. **dry run**: `pip install --dry-run --report` of a wheel of this checkout,
   with pip's resolver: fails if pip would install a different version of any
   package Colab ships; lists what it adds;
3. **bad bound**: the same check on a wheel that asks for `ipywidgets>=8.0`
   must fail (the check can catch what it is for);
4. **install**: the real install, then `pip freeze` again: no Colab version changed;
5. **chapters**: every notebook of the book (the chapters and the instructors'
   page) executed alone in an empty working directory, no file of the
   repository reachable, with the times;
6. **explorers**: tests/test_explorers.py against ipywidgets 7;
7. **python 3.13**: Colab's Python, where this machine has it: every module of
   `helpers` and every cell of every notebook compiles, and the modules that do
   not need torch import (no CPU torch for Python 3.13 is on this machine).

Writes test-artifacts/colab/report.md and exits non-zero on the first failure.

Usage: python tools/colab_check.py [--keep] [--only chapters/bptt ...]
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import tomllib

REPO = Path(__file__).resolve().parent.parent
CONSTRAINTS = REPO / "colab" / "constraints.txt"
ARTIFACTS = REPO / "test-artifacts" / "colab"
VENV = REPO / ".cache" / "colab-venv"
VENV_313 = REPO / ".cache" / "colab-venv-3.13"
DISTRIBUTION = "rnn-book-helpers"
# Colab's torch is a CPU build for Python 3.13; this machine has 2.13.0 for Python 3.11.
STAND_INS = {"torch": "2.13.0+cpu"}
# Pins the stand-in cannot hold, and why: left to pip, and not counted as Colab's.
NOT_HELD = {
    "setuptools": "torch 2.13.0, the stand-in, requires setuptools>=77.0.3; "
    "Colab's torch 2.11.0 runs beside Colab's setuptools 75.2.0",
}
# What the kernel and the checks themselves need, at Colab's versions.
KERNEL = ["ipykernel", "ipython", "ipywidgets", "nbclient", "nbformat", "jupyter-client"]
TEST_TOOLS = ["pytest", "pyyaml"]
PYTHON_313 = [
    "python3.13",
    str(Path.home() / ".pyenv" / "versions" / "3.13.0" / "bin" / "python3.13"),
]


def canonical(name: str) -> str:
    """PEP 503 normalised name: `Jupyter_Client` and `jupyter-client` are one package."""
    return re.sub(r"[-_.]+", "-", name).lower()


def read_constraints(path: Path = CONSTRAINTS) -> dict[str, str]:
    """`canonical name -> version` of a constraints file (`name==version` lines)."""
    pins = {}
    for line in path.read_text().splitlines():
        found = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)$", line.strip())
        if found:
            pins[canonical(found.group(1))] = found.group(2)
    if not pins:
        raise ValueError(f"{path} pins no package")
    return pins


def changes(report: dict, colab: dict[str, str], installed: dict[str, str]) -> dict:
    """What `pip install --dry-run --report` would do to Colab's packages.

    Args:
        report: pip's installation report (JSON, version 1).
        colab: Colab's versions, canonical name -> version.
        installed: what the stand-in has installed now, canonical name -> version.

    Returns:
        dict with `replaced` ([(name, installed version, pip's version)]: a
        package of Colab's that pip would change, the failure), `missing`
        ([(name, Colab's version, pip's version)]: a package of Colab's that
        the stand-in does not have yet) and `added` ([(name, version)]: not on Colab).
    """
    result = {"replaced": [], "missing": [], "added": []}
    for item in report.get("install", []):
        name = canonical(item["metadata"]["name"])
        version = item["metadata"]["version"]
        if name == DISTRIBUTION:
            continue
        if name in installed:
            result["replaced"].append((name, installed[name], version))
        elif name in colab:
            result["missing"].append((name, colab[name], version))
        else:
            result["added"].append((name, version))
    return result


def describe_replaced(replaced) -> str:
    return "; ".join(f"{name} {old} -> {new}" for name, old, new in replaced)


# --------------------------------------------------------------------------- running


class Failed(Exception):
    pass


def run(command, *, cwd=REPO, env=None, check=True, timeout=1800):
    result = subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if check and result.returncode != 0:
        raise Failed(
            f"`{' '.join(map(str, command))}` exited {result.returncode}:\n"
            f"{(result.stdout + result.stderr)[-4000:]}"
        )
    return result


def clean_env(**extra):
    """The environment a notebook on Colab sees: nothing of this checkout on the path."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(extra)
    return env


class StandIn:
    """A venv holding Colab's versions (with the stand-ins) of what it has installed."""

    def __init__(self, folder: Path, python: str, colab: dict[str, str]):
        self.folder, self.colab = folder, colab
        self.python = folder / "bin" / "python"
        self.constraints = folder / "constraints.txt"
        shutil.rmtree(folder, ignore_errors=True)
        run([python, "-m", "venv", folder])
        pins = {n: v for n, v in {**colab, **STAND_INS}.items() if n not in NOT_HELD}
        self.constraints.write_text("".join(f"{n}=={v}\n" for n, v in sorted(pins.items())))
        # Colab's own pip, with which its users' %pip runs
        self.pip("install", "--quiet", f"pip=={colab['pip']}")

    def pip(self, *args, **kwargs):
        return run(
            [self.python, "-m", "pip", "--disable-pip-version-check", *args],
            env=clean_env(),
            **kwargs,
        )

    def preinstall(self, names):
        """Install packages as Colab has them: its version, or the stand-in's."""
        self.pip("install", "--quiet", "-c", self.constraints, *names)

    def installed(self) -> dict[str, str]:
        listed = json.loads(self.pip("list", "--format", "json").stdout)
        return {canonical(p["name"]): p["version"] for p in listed}

    def dry_run(self, wheel: Path) -> dict:
        report = self.folder / "report.json"
        self.pip("install", "--quiet", "--dry-run", "--report", report, wheel)
        return json.loads(report.read_text())

    def settle(self, wheel: Path) -> dict:
        """Dry-run until every Colab package the install reaches is preinstalled.

        A package Colab ships but the stand-in lacks would look new to pip here
        while Colab already has it; it is preinstalled at Colab's version first.
        """
        for _ in range(10):
            found = changes(self.dry_run(wheel), self.colab, self.installed())
            if not found["missing"]:
                return found
            self.preinstall([name for name, _, _ in found["missing"]])
        raise Failed(f"the dry run kept asking for more of Colab's packages: {found['missing']}")


def build_wheel(source: Path, out: Path, python: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    run([python, "-m", "pip", "wheel", "--quiet", "--no-deps", "-w", out, source], env=clean_env())
    wheels = sorted(out.glob("rnn_book_helpers-*.whl"))
    if len(wheels) != 1:
        raise Failed(f"expected one wheel in {out}, found {[w.name for w in wheels]}")
    return wheels[0]


def copy_package(destination: Path, *, bad_bound: bool = False) -> Path:
    """What a wheel is built from: pyproject.toml, README, LICENSE and src/, copied.

    Built from a copy, the checkout stays free of setuptools' build/ folder.
    With `bad_bound`, pyproject.toml asks for `ipywidgets>=8.0`, the bound that
    replaced Colab's ipywidgets.
    """
    destination.mkdir(parents=True, exist_ok=True)
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy2(REPO / name, destination / name)
    shutil.copytree(
        REPO / "src",
        destination / "src",
        ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"),
    )
    if bad_bound:
        pyproject = destination / "pyproject.toml"
        text = pyproject.read_text()
        bad = re.sub(r'"ipywidgets>=[^"]*"', '"ipywidgets>=8.0"', text)
        if bad == text:
            raise Failed("pyproject.toml names no ipywidgets bound to make bad")
        pyproject.write_text(bad)
    return destination


def notebooks() -> list[Path]:
    sys.path.insert(0, str(REPO / "tools"))
    import install_cell

    return [path.with_suffix(".ipynb") for path in install_cell.source_notebooks()]


EXECUTE = r"""
import json, sys, time
import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError
path = sys.argv[1]
notebook = nbformat.read(path, as_version=4)
start = time.perf_counter()
error = None
try:
    NotebookClient(notebook, timeout=900, kernel_name="python3", resources={"metadata": {"path": "."}}).execute()
except CellExecutionError as failure:
    error = str(failure)[-3000:]
first = next(c for c in notebook.cells if c.cell_type == "code")
printed = "".join(o.get("text", "") for o in first.get("outputs", []) if o.get("output_type") == "stream")
print(json.dumps({"seconds": time.perf_counter() - start, "error": error, "install_cell": printed.strip()}))
"""


def execute_alone(python: Path, notebook: Path) -> dict:
    """Execute one notebook in a fresh empty folder; only the notebook is copied there."""
    with tempfile.TemporaryDirectory(prefix="colab-") as empty:
        copy = Path(empty) / notebook.name
        shutil.copy2(notebook, copy)
        script = Path(empty) / ".execute.py"
        script.write_text(EXECUTE)
        env = clean_env(RNN_BOOK_REPOSITORY=str(REPO))
        result = run(
            [python, script.name, copy.name], cwd=empty, env=env, check=False, timeout=1800
        )
        if result.returncode != 0:
            return {
                "seconds": None,
                "error": (result.stdout + result.stderr)[-3000:],
                "install_cell": "",
            }
        return json.loads(result.stdout.strip().splitlines()[-1])


def _runs(python: str) -> bool:
    """Whether `python --version` works (pyenv's shims exist even where they fail)."""
    try:
        return subprocess.run([python, "--version"], capture_output=True).returncode == 0
    except OSError:
        return False


def dependencies() -> list[str]:
    """The canonical names of the package's dependencies, from pyproject.toml."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    return [canonical(re.split(r"[<>=!~ ;\[]", d)[0]) for d in project["dependencies"]]


# the import name of each dependency whose name differs
IMPORT_NAMES = {"scikit-learn": "sklearn", "english-words": "english_words"}

PROBE_313 = r"""
import compileall, importlib, importlib.util, json, sys
import nbformat
from IPython.core.inputtransformer2 import TransformerManager
root = importlib.util.find_spec("helpers").submodule_search_locations[0]
compiled = compileall.compile_dir(root, quiet=1)
cells = 0
for path in sys.argv[2:]:
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type == "code":
            compile(TransformerManager().transform_cell(cell.source), path, "exec")
            cells += 1
imported = [importlib.import_module(name).__name__ for name in sys.argv[1].split(",")]
print(json.dumps({"compiled": bool(compiled), "cells": cells, "imported": imported}))
"""


def check_python_313(wheel: Path, colab: dict[str, str]) -> str:
    """Colab's Python: the dependencies install at Colab's versions and import; all compiles.

    `helpers` itself imports torch, and this machine has no CPU torch for Python
    3.13, so the package is compiled here, not imported.
    """
    python = next((p for p in PYTHON_313 if _runs(p)), None)
    if python is None:
        return "skipped: no Python 3.13 on this machine"
    shutil.rmtree(VENV_313, ignore_errors=True)
    run([python, "-m", "venv", VENV_313])
    py = VENV_313 / "bin" / "python"
    constraints = VENV_313 / "constraints.txt"
    constraints.write_text("".join(f"{n}=={v}\n" for n, v in sorted(colab.items())))
    needs = [n for n in dependencies() if n != "torch"]
    run(
        [py, "-m", "pip", "install", "--quiet", "-c", constraints, *needs, "ipython"],
        env=clean_env(),
    )
    run([py, "-m", "pip", "install", "--quiet", "--no-deps", wheel], env=clean_env())
    probe = VENV_313 / "probe.py"
    probe.write_text(PROBE_313)
    modules = ",".join(IMPORT_NAMES.get(n, n.replace("-", "_")) for n in needs)
    result = run([py, probe, modules, *map(str, notebooks())], cwd=VENV_313, env=clean_env())
    found = json.loads(result.stdout.strip().splitlines()[-1])
    if not found["compiled"]:
        raise Failed("helpers does not compile on Python 3.13")
    version = run([py, "--version"]).stdout.strip()
    return (
        f"{version}: every module of helpers and all {found['cells']} code cells of the "
        f"notebooks compile; all {len(found['imported'])} dependencies but torch install "
        f"(Colab's versions where Colab has them) and import: {', '.join(found['imported'])}. "
        "helpers itself is not imported here: it imports torch, and this machine has no "
        "CPU build of torch for Python 3.13."
    )


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--only", nargs="*", help="execute only these notebooks (e.g. chapters/bptt)"
    )
    args = parser.parse_args(argv)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    report = ["# Colab stand-in check", "", f"Constraints: {CONSTRAINTS.relative_to(REPO)}"]
    report += [
        line.lstrip("# ")
        for line in CONSTRAINTS.read_text().splitlines()[:4]
        if line.startswith("#")
    ]
    started = time.perf_counter()
    colab = read_constraints()

    def stage(name):
        print(f"== {name} ({time.perf_counter() - started:.0f} s)", flush=True)

    try:
        stage("colab: a venv with Colab's versions")
        env = StandIn(VENV, "python3.11", colab)
        needs = dependencies()
        env.preinstall(["torch", *KERNEL, *TEST_TOOLS, *[n for n in needs if n in colab]])
        before = env.installed()
        held = {
            n: v for n, v in before.items() if (n in colab or n in STAND_INS) and n not in NOT_HELD
        }
        off = {
            n: (v, colab[n])
            for n, v in held.items()
            if n in colab and n not in STAND_INS and v != colab[n]
        }
        if off:
            raise Failed(f"the stand-in does not hold Colab's versions: {off}")
        report += [
            "",
            f"Stand-in: {run([env.python, '--version']).stdout.strip()}, pip {colab['pip']}, "
            f"{len(held)} of Colab's packages installed at Colab's versions "
            f"(torch {before['torch']} standing in for Colab's {colab['torch']})",
            *[f"Not held at Colab's version: {n} ({why})" for n, why in NOT_HELD.items()],
        ]

        stage("dry run: what the first cell's pip would change")
        shutil.rmtree(ARTIFACTS / "dist", ignore_errors=True)
        with tempfile.TemporaryDirectory() as folder:
            wheel = build_wheel(copy_package(Path(folder)), ARTIFACTS / "dist", env.python)
        found = env.settle(wheel)
        held = {
            n: v
            for n, v in env.installed().items()
            if (n in colab or n in STAND_INS) and n not in NOT_HELD
        }
        report += [
            "",
            f"## pip install {wheel.name} on Colab's versions (dry run, pip's resolver)",
            "",
            f"- Colab packages pip would change: {describe_replaced(found['replaced']) or 'none'}",
            "- packages pip would add (not on Colab): "
            + (", ".join(f"{n} {v}" for n, v in found["added"]) or "none"),
            f"- Colab packages the install reaches, held at Colab's versions: {len(held)}",
        ]
        if found["replaced"]:
            raise Failed(
                f"pip would replace Colab's packages: {describe_replaced(found['replaced'])}"
            )

        stage("bad bound: the check must catch ipywidgets>=8.0")
        with tempfile.TemporaryDirectory() as folder:
            bad_wheel = build_wheel(
                copy_package(Path(folder) / "bad", bad_bound=True),
                Path(folder) / "dist",
                env.python,
            )
            caught = changes(env.dry_run(bad_wheel), colab, env.installed())["replaced"]
        if not any(name == "ipywidgets" for name, _, _ in caught):
            raise Failed(
                f"the dry-run check missed a deliberately bad bound (ipywidgets>=8.0): {caught}"
            )
        report += [
            f"- the same check on a wheel asking for ipywidgets>=8.0 fails as it should: "
            f"{describe_replaced(caught)}"
        ]

        stage("install: the wheel, with pip's resolver")
        env.pip("install", "--quiet", wheel)
        after = env.installed()
        moved = [(n, v, after.get(n)) for n, v in held.items() if after.get(n) != v]
        if moved:
            raise Failed(f"installing changed Colab's packages: {describe_replaced(moved)}")
        report += ["- after the real install, `pip list` shows every one of them unchanged"]

        stage("chapters: each notebook alone in an empty folder")
        chosen = [
            p
            for p in notebooks()
            if not args.only or str(p.relative_to(REPO).with_suffix("")) in args.only
        ]
        report += [
            "",
            "## Every notebook, alone in an empty working directory",
            "",
            "| notebook | seconds | result |",
            "| --- | ---: | --- |",
        ]
        failures = []
        for notebook in chosen:
            name = str(notebook.relative_to(REPO))
            outcome = execute_alone(env.python, notebook)
            ok = (
                outcome["error"] is None
                and outcome["install_cell"].startswith(f"{DISTRIBUTION} ")
                and "from file://" in outcome["install_cell"]
            )
            seconds = "" if outcome["seconds"] is None else f"{outcome['seconds']:.1f}"
            report.append(f"| {name} | {seconds} | {'ran' if ok else 'FAILED'} |")
            print(f"   {name}: {seconds} s {'ok' if ok else 'FAILED'}", flush=True)
            if not ok:
                failures.append(
                    f"{name}: install cell printed {outcome['install_cell']!r}\n{outcome['error']}"
                )
        if failures:
            raise Failed("notebooks failed on Colab's versions:\n" + "\n\n".join(failures))
        report.append(f"\nThe install cell of each printed: {outcome['install_cell']}")

        stage("explorers: tests/test_explorers.py with ipywidgets 7")
        tests = run(
            [
                env.python,
                "-m",
                "pytest",
                "-q",
                "-p",
                "no:cacheprovider",
                "-o",
                "addopts=",
                "tests/test_explorers.py",
            ],
            env=clean_env(),
            check=False,
        )
        summary = (
            tests.stdout.strip().splitlines()[-1] if tests.stdout.strip() else tests.stderr[-500:]
        )
        if tests.returncode != 0:
            raise Failed(
                f"the explorers fail with ipywidgets {after['ipywidgets']}:\n{tests.stdout[-4000:]}"
            )
        report += [
            "",
            f"## Explorers with ipywidgets {after['ipywidgets']}",
            "",
            f"tests/test_explorers.py: {summary}",
        ]

        stage("python 3.13: compile and import")
        report += ["", "## Colab's Python 3.13", "", check_python_313(wheel, colab)]
    except Failed as failure:
        report += ["", "## FAILED", "", "```", str(failure), "```"]
        (ARTIFACTS / "report.md").write_text("\n".join(report) + "\n")
        print(
            f"make test-colab FAILED after {time.perf_counter() - started:.0f} s:\n{failure}",
            file=sys.stderr,
        )
        return 1
    report += ["", f"Wall time: {time.perf_counter() - started:.0f} s"]
    (ARTIFACTS / "report.md").write_text("\n".join(report) + "\n")
    print("\n".join(report))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
