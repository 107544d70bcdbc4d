"""Compare the vanilla RNN, the LSTM and the GRU on long-range tasks, over several seeds.

    .venv/bin/python benchmarks/experiments/compare_units.py            # the full sweep (about 30 min)
    .venv/bin/python benchmarks/experiments/compare_units.py --seeds 1  # one seed per setting

Trains every unit (RNN, LSTM, LSTM with forget-gate bias 1, GRU; all with
``torch.nn``'s kernels, which compute the same functions as the book's
from-scratch modules) on

- the adding problem at T = 50, 100 and 200 (hidden size 32), and
- the copy task with delay 50, copying 5 symbols out of 8 (hidden size 128),

with seeds 0, 1, 2, using :func:`helpers.experiments.run_adding` and
:func:`helpers.experiments.run_copy`: the same splits, models, optimizer and
budget of steps for every unit, scored once on the test split at the end. It
writes ``src/helpers/results/compare_units.json`` (every run, with its
validation curve; it ships with the package, and
:func:`helpers.experiments.load_unit_comparison` reads it) and
``benchmarks/results/compare_units.md`` (mean and spread per setting). The
chapter "Comparing the units" loads the JSON. PyTorch runs on one thread, so
the results do not depend on how many cores the machine has and the sweep can
run beside other work. The JSON keeps each run's seconds per step, but they
are only as good as the machine was idle; the chapter measures the time per
step itself.
"""

import argparse
import inspect
import json
import os
import platform
import statistics
import time
from pathlib import Path

import torch

from helpers.experiments import run_adding, run_copy

RESULTS = Path(__file__).resolve().parents[1] / "results"
# The JSON ships inside the helpers package, so the chapter finds it on Colab too.
JSON_PATH = Path(__file__).resolve().parents[2] / "src" / "helpers" / "results" / "compare_units.json"
MD_PATH = RESULTS / "compare_units.md"

#: (unit, forget_bias) pairs, in the order of the tables.
VARIANTS = [("RNN", None), ("LSTM", None), ("LSTM", 1.0), ("GRU", None)]
ADDING_LENGTHS = {50: 10, 100: 15, 200: 20}  # length -> epochs of 200 steps
COPY = {"delay": 50, "copy_length": 5, "hidden_size": 128, "epochs": 20}


def settings(seeds):
    for length, epochs in ADDING_LENGTHS.items():
        for unit, forget_bias in VARIANTS:
            for seed in seeds:
                yield "adding", dict(unit=unit, length=length, seed=seed, epochs=epochs,
                                     forget_bias=forget_bias)
    for unit, forget_bias in VARIANTS:
        for seed in seeds:
            yield "copy", dict(unit=unit, seed=seed, forget_bias=forget_bias, **COPY)


def summary_rows(runs):
    """Mean, standard deviation, min and max of the test score per (task, setting, unit)."""
    groups = {}
    for run in runs:
        if run["task"] == "adding":
            key, score = ("adding", f"T = {run['length']}", run["unit"]), run["test_mse"]
        else:
            key, score = ("copy", f"delay {run['delay']}", run["unit"]), run["test_accuracy"]
        groups.setdefault(key, []).append((run["seed"], score, run))
    rows = []
    for (task, setting, unit), members in groups.items():
        scores = [score for _, score, _ in members]
        rows.append({
            "task": task, "setting": setting, "unit": unit,
            "metric": "test MSE" if task == "adding" else "test accuracy (copied symbols)",
            "seeds": [seed for seed, _, _ in members], "scores": scores,
            "mean": statistics.fmean(scores),
            "std": statistics.stdev(scores) if len(scores) > 1 else 0.0,
            "min": min(scores), "max": max(scores),
            # the error of always answering 1, or the accuracy of guessing a symbol
            "baseline": (members[0][2]["baseline_mse"] if task == "adding"
                         else 1 / members[0][2]["num_symbols"]),
            "parameters": members[0][2]["parameters"],
            "seconds_per_step": statistics.fmean(m[2]["seconds_per_step"] for m in members),
        })
    return rows


def keyword_defaults(function):
    """The default of every keyword argument of ``function`` that is a plain number or string."""
    return {
        name: parameter.default
        for name, parameter in inspect.signature(function).parameters.items()
        if isinstance(parameter.default, (int, float, str))
    }


def write(runs, meta):
    rows = summary_rows(runs)
    RESULTS.mkdir(parents=True, exist_ok=True)
    JSON_PATH.parent.mkdir(parents=True, exist_ok=True)
    JSON_PATH.write_text(json.dumps({"meta": meta, "summary": rows, "runs": runs}, indent=1) + "\n")
    lines = [
        f"Recurrent units on long-range tasks ({meta['command']}; {meta['torch']}, "
        f"{meta['threads']} thread; {meta['platform']}). Every run is scored once on the test "
        "split after its fixed budget of steps.", "",
        "| task | setting | unit | parameters | metric | mean | std | min | max | baseline |",
        "| --- | --- | --- | ---: | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        lines.append(
            f"| {r['task']} | {r['setting']} | {r['unit']} | {r['parameters']} | {r['metric']} "
            f"| {r['mean']:.4f} | {r['std']:.4f} | {r['min']:.4f} | {r['max']:.4f} "
            f"| {r['baseline']:.4f} |"
        )
    MD_PATH.write_text("\n".join(lines) + "\n")


def rewrite_tables():
    """Rewrite compare_units.md from the JSON, without training anything."""
    saved = json.loads(JSON_PATH.read_text())
    write(saved["runs"], saved["meta"])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=3, help="seeds per setting (0, 1, ...)")
    parser.add_argument("--tables-only", action="store_true",
                        help="rewrite the markdown table from the saved JSON and stop")
    args = parser.parse_args()
    if args.tables_only:
        rewrite_tables()
        return
    torch.set_num_threads(1)
    meta = {
        "command": "python benchmarks/experiments/compare_units.py"
                   + (f" --seeds {args.seeds}" if args.seeds != 3 else ""),
        "torch": f"torch {torch.__version__}", "threads": torch.get_num_threads(),
        "cpus": os.cpu_count(), "platform": platform.platform(),
        # Everything the runs do not set comes from the defaults of run_adding and run_copy.
        "adding": {**keyword_defaults(run_adding), "epochs": ADDING_LENGTHS},
        "copy": {**keyword_defaults(run_copy), **COPY},
    }
    runs, start = [], time.perf_counter()
    for task, kwargs in settings(range(args.seeds)):
        run = (run_adding if task == "adding" else run_copy)(**kwargs)
        run.pop("model")
        runs.append(run)
        score = (f"test MSE {run['test_mse']:.4f}" if task == "adding"
                 else f"test accuracy {run['test_accuracy']:.3f}")
        print(f"[{time.perf_counter() - start:7.0f} s] {task} {kwargs} -> {score} "
              f"({run['seconds']:.0f} s)", flush=True)
        write(runs, meta)  # after every run, so an interrupted sweep keeps what it measured
    print(MD_PATH.read_text())


if __name__ == "__main__":
    main()
