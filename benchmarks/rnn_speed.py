"""How fast the book's from-scratch recurrent layers are, next to torch.nn and numpy.

    .venv/bin/python benchmarks/rnn_speed.py [--quick] [--device cpu|cuda] [--out DIR]

Two measurements, each timed with ``torch.utils.benchmark.Timer`` (warm-up,
repeated blocks, the median; CUDA work is synchronised):

1. ``helpers.modules`` RNN, LSTM and GRU against their ``torch.nn`` namesakes,
   float32, with the same weights, at a few sizes (batch N, length T, input D,
   hidden H), including N = 64, T = 100, D = 64, H = 256: the forward pass
   alone (no autograd), and a training step (forward, a loss, backward). The
   ratio is scratch time / torch.nn time.
2. The numpy reference (``helpers.numpy_rnn``, ``numpy_lstm``, ``numpy_gru``:
   forward and hand-written BPTT) against ``torch.nn`` with autograd, on the
   same float64 problem on the CPU.

Writes ``rnn_speed.md`` and ``.json`` into ``benchmarks/results/`` (or
``--out``); ``--quick``: one small size and short timings, to check that the
script runs, written as ``rnn_speed_quick.*``. This script measures; it
asserts nothing.
"""

import argparse
import json
import os
import platform
from pathlib import Path

import numpy as np
import torch
from torch.utils import benchmark

import helpers.modules
from helpers.numpy_gru import gru_backward, gru_forward
from helpers.numpy_lstm import lstm_backward, lstm_forward
from helpers.numpy_rnn import rnn_backward, rnn_forward

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"
UNITS = ("RNN", "LSTM", "GRU")
SIZES = (  # (N, T, D, H): the size first, then a smaller one and batch 1
    (64, 100, 64, 256),
    (32, 50, 32, 128),
    (1, 100, 64, 256),
)
QUICK_SIZES = ((8, 20, 8, 16),)


def median_seconds(function, min_run_time):
    """The median time of ``function()``, from blocks of runs lasting ``min_run_time`` in all."""
    timer = benchmark.Timer(
        stmt="function()", globals={"function": function}, num_threads=torch.get_num_threads()
    )
    return timer.blocked_autorange(min_run_time=min_run_time).median


def layer_pair(unit, D, H, device):
    """``torch.nn`` and ``helpers.modules`` layers of ``unit`` with the same float32 weights."""
    reference = getattr(torch.nn, unit)(D, H, batch_first=True).to(device)
    scratch = getattr(helpers.modules, unit)(D, H, batch_first=True).to(device)
    scratch.load_state_dict(reference.state_dict())
    return {"torch.nn": reference, "scratch": scratch}


def forward_only(layer, x):
    def run():
        with torch.no_grad():
            layer(x)

    return run


def training_step(layer, x):
    """Forward, a scalar loss of every output, backward (the gradients are dropped each time)."""

    def run():
        layer.zero_grad(set_to_none=True)
        output, _ = layer(x)
        output.square().mean().backward()

    return run


def compare_modules(sizes, device, min_run_time):
    rows = []
    for N, T, D, H in sizes:
        for unit in UNITS:
            torch.manual_seed(0)
            layers = layer_pair(unit, D, H, device)
            x = torch.randn(N, T, D, device=device)
            with torch.no_grad():
                gap = (layers["scratch"](x)[0] - layers["torch.nn"](x)[0]).abs().max().item()
            row = {
                "unit": unit,
                "N": N,
                "T": T,
                "D": D,
                "H": H,
                "device": str(device),
                "max_output_difference": gap,
            }
            for mode, make in (("forward", forward_only), ("training_step", training_step)):
                for name, layer in layers.items():
                    row[f"{mode}_{name}_s"] = median_seconds(make(layer, x), min_run_time)
                row[f"{mode}_ratio"] = row[f"{mode}_scratch_s"] / row[f"{mode}_torch.nn_s"]
            rows.append(row)
            print(
                f"{unit:4s} N={N:3d} T={T:3d} D={D:3d} H={H:3d} {device}: forward "
                f"{row['forward_ratio']:.2f}x, training step {row['training_step_ratio']:.2f}x "
                f"torch.nn",
                flush=True,
            )
    return rows


NUMPY_PASSES = {  # unit -> (forward, backward, number of bias vectors in numpy's layout)
    "RNN": (rnn_forward, rnn_backward, 1),
    "LSTM": (lstm_forward, lstm_backward, 1),
    "GRU": (gru_forward, gru_backward, 2),
}


def compare_numpy(size, min_run_time):
    """Forward and BPTT in numpy against torch.nn with autograd, float64, on the CPU."""
    N, T, D, H = size
    rows = []
    for unit in UNITS:
        torch.manual_seed(0)
        layer = getattr(torch.nn, unit)(D, H, batch_first=True, dtype=torch.float64)
        x = torch.randn(N, T, D, dtype=torch.float64)
        weights = {name: p.detach().numpy() for name, p in layer.named_parameters()}
        forward, backward, biases = NUMPY_PASSES[unit]
        arguments = [
            x.numpy(),
            np.zeros((N, H)),
            weights["weight_ih_l0"].T,
            weights["weight_hh_l0"].T,
        ]
        if biases == 1:
            arguments.append(weights["bias_ih_l0"] + weights["bias_hh_l0"])
        else:
            arguments += [weights["bias_ih_l0"], weights["bias_hh_l0"]]
        dh = np.full((N, T, H), 1.0 / (N * T * H))  # the gradient of output.mean()

        # this iteration's unit and inputs, bound now (both run only within the iteration)
        def numpy_pass(forward=forward, backward=backward, arguments=arguments, dh=dh):
            _, cache = forward(*arguments)
            return backward(dh, cache)

        def autograd_pass(layer=layer, x=x):
            layer.zero_grad(set_to_none=True)
            layer(x)[0].mean().backward()

        autograd_pass()
        gap = np.abs(numpy_pass()[2] - layer.weight_ih_l0.grad.numpy().T).max()
        numpy_s = median_seconds(numpy_pass, min_run_time)
        autograd_s = median_seconds(autograd_pass, min_run_time)
        rows.append(
            {
                "unit": unit,
                "N": N,
                "T": T,
                "D": D,
                "H": H,
                "numpy_s": numpy_s,
                "autograd_s": autograd_s,
                "ratio": numpy_s / autograd_s,
                "max_weight_gradient_difference": float(gap),
            }
        )
        print(
            f"{unit:4s} float64 forward + backward: numpy {numpy_s * 1e3:.1f} ms, "
            f"torch.nn autograd {autograd_s * 1e3:.1f} ms",
            flush=True,
        )
    return rows


def markdown(result):
    machine = result["machine"]
    lines = [
        f"From-scratch recurrent layers against torch.nn ({machine['torch']}, "
        f"{machine['threads']} threads, {machine['cpus']} CPUs, {machine['platform']}"
        f"{', ' + machine['gpu'] if machine.get('gpu') else ''}). Median times from "
        "torch.utils.benchmark; ratio = scratch / torch.nn (1.0 = as fast).",
        "",
        "| unit | device | N | T | D | H | forward torch.nn (ms) | forward scratch (ms) "
        "| forward ratio | training step torch.nn (ms) | training step scratch (ms) "
        "| training step ratio |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in result["modules"]:
        lines.append(
            f"| {r['unit']} | {r['device']} | {r['N']} | {r['T']} | {r['D']} | {r['H']} "
            f"| {r['forward_torch.nn_s'] * 1e3:.2f} | {r['forward_scratch_s'] * 1e3:.2f} "
            f"| {r['forward_ratio']:.2f} | {r['training_step_torch.nn_s'] * 1e3:.2f} "
            f"| {r['training_step_scratch_s'] * 1e3:.2f} | {r['training_step_ratio']:.2f} |"
        )
    lines += [
        "",
        "The numpy reference (forward and hand-written BPTT) against torch.nn with "
        "autograd, float64, CPU; ratio = numpy / autograd.",
        "",
        "| unit | N | T | D | H | numpy (ms) | autograd (ms) | ratio |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in result["numpy"]:
        lines.append(
            f"| {r['unit']} | {r['N']} | {r['T']} | {r['D']} | {r['H']} "
            f"| {r['numpy_s'] * 1e3:.1f} | {r['autograd_s'] * 1e3:.1f} "
            f"| {r['ratio']:.2f} |"
        )
    return "\n".join(lines) + "\n"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="one small size, short timings")
    parser.add_argument(
        "--device", choices=("cpu", "cuda"), help="default: cuda when available, else cpu"
    )
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder for the results")
    args = parser.parse_args(argv)
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    sizes, min_run_time = (QUICK_SIZES, 0.05) if args.quick else (SIZES, 1.0)
    machine = {
        "cpus": os.cpu_count(),
        "threads": torch.get_num_threads(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "gpu": torch.cuda.get_device_name() if device.type == "cuda" else None,
    }
    result = {
        "machine": machine,
        "modules": compare_modules(sizes, device, min_run_time),
        "numpy": compare_numpy(sizes[0], min_run_time),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    stem = "rnn_speed_quick" if args.quick else "rnn_speed"
    (args.out / f"{stem}.json").write_text(json.dumps(result, indent=2) + "\n")
    (args.out / f"{stem}.md").write_text(markdown(result))
    print(markdown(result))
    return result


if __name__ == "__main__":
    main()
