"""Every measurement of the book in one run, against its budgets: what `make bench` runs.

    .venv/bin/python benchmarks/run_all.py [--quick] [--no-book]

1. ``rnn_speed``: the from-scratch RNN, LSTM and GRU against ``torch.nn``
   (forward, and a training step), and the numpy reference against autograd,
   on CUDA when it is available (CPU otherwise);
2. ``chapter_times``: every chapter executed top to bottom in a fresh kernel;
3. the fresh book build (``tools/build_book.py``: every chapter executed,
   warnings as errors), timed from the outside.

Writes ``benchmarks/results/benchmarks.md`` and ``.json``: the three targets
(the from-scratch LSTM's training step within 1.5x of ``torch.nn.LSTM`` at
N = 64, T = 100, D = 64, H = 256; every chapter within 90 s; the book within
15 minutes) with the measured values, then the full tables. The chapter
"Making RNNs fast" links the table. This measures and reports; it asserts
nothing (``make test`` never runs it). ``--quick`` runs a small speed check
and one chapter, to try the script; ``--no-book`` skips the build.
"""

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import chapter_times
import rnn_speed

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"
LSTM_RATIO_TARGET = 1.5
BOOK_BUDGET_S = 15 * 60
TARGET_SIZE = (64, 100, 64, 256)


def build_seconds():
    """Seconds the fresh book build takes, and whether it succeeded."""
    start = time.perf_counter()
    result = subprocess.run([sys.executable, str(REPO / "tools" / "build_book.py")], cwd=REPO)
    return time.perf_counter() - start, result.returncode == 0


def targets(speed, chapters, book):
    """The three targets with their measured values: list of (what, target, measured, met)."""
    rows = []
    lstm = [
        r
        for r in speed["modules"]
        if r["unit"] == "LSTM" and (r["N"], r["T"], r["D"], r["H"]) == TARGET_SIZE
    ]
    for r in lstm:
        rows.append(
            (
                f"from-scratch LSTM training step / torch.nn.LSTM ({r['device']}, "
                "N 64, T 100, D 64, H 256)",
                f"<= {LSTM_RATIO_TARGET}",
                f"{r['training_step_ratio']:.2f}",
                r["training_step_ratio"] <= LSTM_RATIO_TARGET,
            )
        )
    if chapters:
        slowest = max(chapters, key=lambda r: r["seconds"])
        rows.append(
            (
                "slowest chapter",
                f"<= {chapter_times.BUDGET_S} s",
                f"{slowest['seconds']:.1f} s ({slowest['chapter']})",
                all(r["within_budget"] for r in chapters),
            )
        )
    if book is not None:
        rows.append(
            (
                "fresh book build",
                f"<= {BOOK_BUDGET_S} s",
                f"{book['seconds']:.0f} s" + ("" if book["built"] else " (FAILED)"),
                book["built"] and book["seconds"] <= BOOK_BUDGET_S,
            )
        )
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--quick", action="store_true", help="small speed check and one chapter, to try the script"
    )
    parser.add_argument("--no-book", action="store_true", help="skip the fresh book build")
    args = parser.parse_args(argv)

    speed = rnn_speed.main(["--quick"] if args.quick else [])
    paths = chapter_times.chapter_paths([])
    chapters = chapter_times.measure(paths[:1] if args.quick else paths)
    book = None
    if not (args.quick or args.no_book):
        seconds, built = build_seconds()
        book = {"seconds": round(seconds, 1), "built": built}

    goals = targets(speed, chapters, book)
    lines = [
        "# Benchmarks",
        "",
        f"`make bench` ({'quick run, ' if args.quick else ''}{time.strftime('%Y-%m-%d')}, "
        f"torch {speed['machine']['torch']}, {speed['machine']['cpus']} CPUs, "
        f"{speed['machine']['platform']}"
        f"{', ' + speed['machine']['gpu'] if speed['machine']['gpu'] else ''}).",
        "",
        "| target | budget | measured | met |",
        "| --- | --- | --- | --- |",
    ]
    lines += [
        f"| {what} | {budget} | {measured} | {'yes' if met else 'NO'} |"
        for what, budget, measured, met in goals
    ]
    lines += [
        "",
        "## Recurrent layers",
        "",
        rnn_speed.markdown(speed).strip(),
        "",
        "## Chapters",
        "",
        "Each chapter executed top to bottom in a fresh kernel.",
        "",
        *chapter_times.markdown_table(chapters),
        "",
    ]
    stem = "benchmarks_quick" if args.quick else "benchmarks"
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{stem}.md").write_text("\n".join(lines))
    (RESULTS / f"{stem}.json").write_text(
        json.dumps(
            {
                "targets": [
                    dict(zip(("what", "budget", "measured", "met"), goal)) for goal in goals
                ],
                "rnn_speed": speed,
                "chapters": chapters,
                "book": book,
            },
            indent=2,
        )
        + "\n"
    )
    print("\n".join(lines[: 6 + len(goals)]))
    print(f"written to {RESULTS / (stem + '.md')}")


if __name__ == "__main__":
    main()
