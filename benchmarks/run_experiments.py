"""Run the long experiments whose results ship with the book as artefacts.

    make experiments                          # every experiment, one after the other
    make experiments ONLY="compare_units encoder_bottleneck"
    .venv/bin/python benchmarks/run_experiments.py --list    # with the stored runs' dates and times

Each experiment is a script ``benchmarks/experiments/<name>.py`` that writes
``src/helpers/results/<name>.json`` with its provenance (the command, the git
revision, package versions, seeds, machine, date, wall time; see
:mod:`helpers.artefacts`). The chapters load those files, rerun a short piece
of the same code live, and check the two agree, so rerun an experiment (and
commit its JSON) whenever the code behind it changes. PyTorch runs on one
thread in every script, so the results do not depend on the machine's core count.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

EXPERIMENTS = Path(__file__).resolve().parent / "experiments"
REPO = EXPERIMENTS.parents[1]
RESULTS = REPO / "src" / "helpers" / "results"


def available():
    """The experiment names, from the scripts in benchmarks/experiments/."""
    return sorted(path.stem for path in EXPERIMENTS.glob("*.py") if not path.stem.startswith("_"))


def describe(name):
    """One line: the experiment, its stored artefact's date and wall time, the chapters that load it."""
    path = RESULTS / f"{name}.json"
    if path.is_file():
        made = json.loads(path.read_text())["provenance"]
        stored = f"stored {made['date'][:10]}, {made['wall_seconds'] / 60:.0f} min on one thread"
    else:
        stored = "not run yet"
    pattern = re.compile(rf"load_artefact\(\s*[\"']{name}[\"']")
    chapters = sorted(
        page.stem for page in (REPO / "chapters").glob("*.md") if pattern.search(page.read_text())
    )
    return f"{name:24s} {stored}; loaded by {', '.join(chapters) or 'no chapter'}"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("names", nargs="*", help="experiments to run (default: all)")
    parser.add_argument("--list", action="store_true", help="list the experiments and stop")
    args = parser.parse_args(argv)
    names = available()
    if args.list:
        print("\n".join(describe(name) for name in names))
        return 0
    unknown = [name for name in args.names if name not in names]
    if unknown:
        print(
            f"unknown experiment(s) {', '.join(unknown)}; there are: {', '.join(names)}",
            file=sys.stderr,
        )
        return 2
    environment = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    failed = []
    for name in args.names or names:
        start = time.perf_counter()
        print(f"== {name}", flush=True)
        result = subprocess.run([sys.executable, str(EXPERIMENTS / f"{name}.py")], env=environment)
        verdict = "done" if result.returncode == 0 else f"FAILED (exit {result.returncode})"
        print(f"== {name}: {verdict} in {time.perf_counter() - start:.0f} s", flush=True)
        if result.returncode:
            failed.append(name)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
