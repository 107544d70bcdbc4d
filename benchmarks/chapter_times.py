"""Execute every chapter as a student would and report how long each takes.

    .venv/bin/python benchmarks/chapter_times.py [chapters/some.md ...]

Runs each MyST notebook top to bottom in a fresh kernel (as the book build
does, from the chapters/ folder) and writes benchmarks/results/chapter_times.md
and .json (not committed: `make bench` puts the same table, with the book build, in
benchmarks/results/benchmarks.md). The budget is 90 s per chapter on a 2-core CPU
(GUIDE.md, section 8); this script measures, it does not assert.
"""

import json
import os
import platform
import sys
import time
from pathlib import Path

import jupytext
import nbclient

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"
BUDGET_S = 90


def chapter_paths(arguments):
    if arguments:
        return [Path(a).resolve() for a in arguments]
    import yaml

    toc = yaml.safe_load((REPO / "_toc.yml").read_text())
    files = [c["file"] for part in toc["parts"] for c in part["chapters"]]
    return [REPO / f"{f}.md" for f in files if f.startswith("chapters/")]


def execute(path):
    notebook = jupytext.read(path)
    start = time.perf_counter()
    nbclient.NotebookClient(
        notebook,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    ).execute()
    return time.perf_counter() - start


def measure(paths):
    """Execute each chapter in ``paths``; one row per chapter (its seconds, within budget)."""
    rows = []
    for path in paths:
        seconds = execute(path)
        name = str(path.relative_to(REPO))
        rows.append(
            {
                "chapter": name,
                "seconds": round(seconds, 1),
                "budget_s": BUDGET_S,
                "within_budget": seconds <= BUDGET_S,
            }
        )
        print(f"{name:40s} {seconds:6.1f} s", flush=True)
    return rows


def markdown_table(rows):
    lines = ["| chapter | seconds | within budget |", "| --- | ---: | --- |"]
    lines += [
        f"| {r['chapter']} | {r['seconds']} | {'yes' if r['within_budget'] else 'NO'} |"
        for r in rows
    ]
    lines.append(f"| total | {sum(r['seconds'] for r in rows):.1f} | |")
    return lines


def main(arguments=()):
    rows = measure(chapter_paths(list(arguments)))
    machine = {
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "chapter_times.json").write_text(
        json.dumps({"machine": machine, "chapters": rows}, indent=2) + "\n"
    )
    lines = [
        f"Chapter execution times on {machine['cpus']} CPUs ({machine['platform']}); "
        f"budget {BUDGET_S} s each.",
        "",
        *markdown_table(rows),
    ]
    (RESULTS / "chapter_times.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
    return rows


if __name__ == "__main__":
    main(sys.argv[1:])
