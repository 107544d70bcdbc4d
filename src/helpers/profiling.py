"""Where the time of a piece of PyTorch code goes, operator by operator (``torch.profiler``).

:func:`operator_times` runs a function once under ``torch.profiler`` and
returns, for each PyTorch operator it called (``aten::mm``, ``aten::sigmoid``,
...), the number of calls and the time spent in the operator itself, largest
first. The chapter "Making RNNs fast" profiles a training step with it.
"""

import contextlib
import os
import sys

import torch
from torch.profiler import ProfilerActivity, profile

from helpers.validation import _describe, check_positive_int

__all__ = ["operator_times"]


@contextlib.contextmanager
def _quiet_stderr():
    """Send what C++ code writes to file descriptor 2 to /dev/null for a moment.

    The profiler's C++ side (kineto) writes "profiler_start" and "profiler_stop"
    lines to stderr whatever its log level; a notebook shows them, and the book's
    build counts any stderr output as a warning. Python's own stderr is untouched.
    """
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def operator_times(function, *, warmup=1, device=None):
    """Profile one call of ``function()``: calls and self time of every operator it ran.

    Args:
        function: called with no arguments; its result is ignored.
        warmup: calls before the profiled one (int >= 0): the first call of a
            piece of code allocates memory and picks kernels, which a steady
            state does not.
        device: ``"cuda"`` to record GPU kernels too (default: CPU only).

    Returns:
        list of dicts, largest ``self_ms`` first: ``operator`` (name),
        ``calls``, ``self_ms`` (milliseconds in the operator itself, not in
        the operators it called) and ``share`` (of the total self time).
    """
    if not callable(function):
        raise TypeError(f"function must be callable with no arguments, got {_describe(function)}")
    if warmup != 0:
        check_positive_int("warmup", warmup)
    for _ in range(warmup):
        function()
    activities = [ProfilerActivity.CPU]
    if device is not None and torch.device(device).type == "cuda":
        activities.append(ProfilerActivity.CUDA)
    with _quiet_stderr(), profile(activities=activities) as profiled:
        function()
    events = [e for e in profiled.key_averages() if e.self_cpu_time_total > 0]
    total = sum(e.self_cpu_time_total for e in events) or 1
    rows = [{"operator": e.key, "calls": e.count, "self_ms": e.self_cpu_time_total / 1e3,
             "share": e.self_cpu_time_total / total} for e in events]
    return sorted(rows, key=lambda row: row["self_ms"], reverse=True)
