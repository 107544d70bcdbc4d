"""Where the time of a piece of PyTorch code goes, and timings that noise cannot flip.

- :func:`operator_times` runs a function once under ``torch.profiler`` and
  returns, for each PyTorch operator it called (``aten::mm``, ``aten::sigmoid``,
  ...), the number of calls and the time spent in the operator itself, largest
  first. The chapter "Making RNNs fast" profiles a training step with it.
- :func:`interleaved_times` times several functions *in turns*: every repeat
  times each of them once, in a rotating order, so that a slow minute of a
  busy machine slows all of them alike instead of one.
- :func:`expect_timing` checks a sentence of the prose about such a ratio
  (``helpers.evidence.expect``) where the sentence applies: on the CPU that
  builds the book, not on a GPU, where the same cells print other numbers.
- :func:`timing` summarises one function's times (median and interquartile
  range); :func:`time_ratio` compares two functions timed in the same repeats:
  the median of the per-repeat ratios, with a distribution-free interval for
  it (order statistics of the ratios), so a sentence such as "sorting by length
  takes 0.6 of the time" can be checked by code and phrased by its interval.

A ratio of two functions timed in turns is much steadier than either time: on a
shared machine both are slowed by the same neighbours. The prose of the book
states timings as such ratios with their intervals, and asserts only what the
interval supports.
"""

import contextlib
import math
import numbers
import os
import sys
import time
from dataclasses import dataclass

import numpy as np
import torch
from scipy import stats
from torch.profiler import ProfilerActivity, profile

from helpers.validation import _describe, check_positive_int, check_positive_number

__all__ = [
    "operator_times",
    "interleaved_times",
    "timing",
    "time_ratio",
    "Timing",
    "TimeRatio",
    "expect_timing",
]


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


def _profile_once(function, activities):
    with _quiet_stderr(), profile(activities=activities) as profiled:
        function()
    return {
        e.key: (e.count, e.self_cpu_time_total / 1e3)
        for e in profiled.key_averages()
        if e.self_cpu_time_total > 0
    }


def operator_times(function, *, warmup=1, repeats=1, device=None):
    """Profile ``function()``: calls and self time of every operator it ran.

    Args:
        function: called with no arguments; its result is ignored.
        warmup: calls before the profiled ones (int >= 0): the first call of a
            piece of code allocates memory and picks kernels, which a steady
            state does not.
        repeats: how many calls to profile (int >= 1). Each operator's time is
            the median over them, so that one call slowed down by a busy
            machine (an operator that happened to be descheduled) does not
            decide the shares.
        device: ``"cuda"`` to record GPU kernels too (default: CPU only).

    Returns:
        list of dicts, largest ``self_ms`` first: ``operator`` (name),
        ``calls`` (per call of ``function``), ``self_ms`` (milliseconds in the
        operator itself, not in the operators it called: the median over the
        repeats) and ``share`` (of the total of the ``self_ms``).
    """
    if not callable(function):
        raise TypeError(f"function must be callable with no arguments, got {_describe(function)}")
    if warmup != 0:
        check_positive_int("warmup", warmup)
    check_positive_int("repeats", repeats)
    for _ in range(warmup):
        function()
    activities = [ProfilerActivity.CPU]
    if device is not None and torch.device(device).type == "cuda":
        activities.append(ProfilerActivity.CUDA)
    runs = [_profile_once(function, activities) for _ in range(repeats)]
    names = {name for run in runs for name in run}
    medians = {
        name: (
            max(run.get(name, (0, 0.0))[0] for run in runs),
            float(np.median([run.get(name, (0, 0.0))[1] for run in runs])),
        )
        for name in names
    }
    total = sum(ms for _, ms in medians.values()) or 1.0
    rows = [
        {"operator": name, "calls": calls, "self_ms": ms, "share": ms / total}
        for name, (calls, ms) in medians.items()
        if ms > 0
    ]
    return sorted(rows, key=lambda row: row["self_ms"], reverse=True)


def _synchronize():
    """Wait for queued GPU work (CUDA, MPS), so that a clock reading includes it."""
    accelerator = getattr(torch, "accelerator", None)
    if accelerator is not None and accelerator.is_available():
        accelerator.synchronize()
    elif torch.cuda.is_available() and torch.cuda.is_initialized():
        torch.cuda.synchronize()


def _seconds(function, number):
    _synchronize()
    start = time.perf_counter()
    for _ in range(number):
        function()
    _synchronize()
    return (time.perf_counter() - start) / number


def interleaved_times(functions, *, repeats=9, min_time=0.05, warmup=1):
    """Seconds per call of each function, timed in turns, ``repeats`` times.

    Each repeat times every function once (``number`` calls in a row, chosen so
    that one timing lasts at least ``min_time`` seconds), starting with a
    different function at each repeat. Timing the functions in turns, rather
    than one after the other, spreads a busy spell of the machine over all of
    them, and makes the repeat a natural pair for :func:`time_ratio`.

    Args:
        functions: dict ``{name: function}``; each function is called with no
            arguments and its result ignored.
        repeats: how many timings of each function (int >= 3).
        min_time: seconds that one timing lasts at least (> 0).
        warmup: calls of each function before timing it (int >= 0): the first
            calls allocate memory and pick kernels. The last of them (or, with
            ``warmup=0``, one more call) is timed to choose ``number``.

    Returns:
        dict ``{name: numpy array of repeats seconds per call}``, in the order
        of ``functions``.
    """
    if not isinstance(functions, dict) or not functions:
        raise TypeError(
            f"functions must be a non-empty dict {{name: function}}, got {_describe(functions)}"
        )
    for name, function in functions.items():
        if not callable(function):
            raise TypeError(
                f"functions[{name!r}] must be callable with no arguments, got {_describe(function)}"
            )
    check_positive_int("repeats", repeats, minimum=3)
    check_positive_number("min_time", min_time)
    if warmup != 0:
        check_positive_int("warmup", warmup)
    names = list(functions)
    numbers_of_calls = {}
    for name in names:
        for _ in range(warmup - 1):
            functions[name]()
        once = _seconds(functions[name], 1)  # the last warm-up call, timed to choose number
        numbers_of_calls[name] = max(1, math.ceil(min_time / max(once, 1e-9)))
    times = {name: [] for name in names}
    for repeat in range(repeats):
        shift = repeat % len(names)
        for name in names[shift:] + names[:shift]:
            times[name].append(_seconds(functions[name], numbers_of_calls[name]))
    return {name: np.array(values) for name, values in times.items()}


def _positive_times(name, values, minimum=3):
    if isinstance(values, (str, bytes, dict)) or not hasattr(values, "__len__"):
        raise TypeError(f"{name} must be a sequence of times in seconds, got {_describe(values)}")
    array = np.asarray(values, dtype=np.float64)
    if array.ndim != 1 or len(array) < minimum:
        raise ValueError(
            f"{name} must be a 1-d sequence of at least {minimum} times, got shape {array.shape}"
        )
    if not np.all(np.isfinite(array) & (array > 0)):
        raise ValueError(f"{name} must hold finite times > 0, got {array.tolist()}")
    return array


@dataclass(frozen=True)
class Timing:
    """One function's repeated times: the median and the interquartile range, in seconds."""

    median: float
    q1: float
    q3: float
    n: int

    def format(self, unit="ms", digits=1):
        """``'12.3 ms (11.9 to 13.0)'``: the median and, in brackets, the middle half."""
        scale = {"s": 1.0, "ms": 1e3, "us": 1e6}[unit]
        return (
            f"{scale * self.median:.{digits}f} {unit} ({scale * self.q1:.{digits}f} to "
            f"{scale * self.q3:.{digits}f})"
        )

    def __str__(self):
        return self.format()


def timing(times):
    """The median and interquartile range of repeated times (seconds): a :class:`Timing`."""
    array = _positive_times("times", times)
    q1, median, q3 = np.percentile(array, [25, 50, 75])
    return Timing(float(median), float(q1), float(q3), len(array))


def _median_interval(values, confidence):
    """A distribution-free interval for the median: two order statistics of ``values``.

    With n values, the k-th smallest and the k-th largest bracket the median with
    probability ``1 - 2 P(Binomial(n, 1/2) < k)``; k is the largest that keeps it
    at least ``confidence``. Returns (low, high, the coverage achieved).
    """
    ordered = np.sort(values)
    n = len(ordered)
    k = 1
    while k + 1 <= n // 2 and 1 - 2 * stats.binom.cdf(k, n, 0.5) >= confidence:
        k += 1
    coverage = 1 - 2 * stats.binom.cdf(k - 1, n, 0.5)
    return float(ordered[k - 1]), float(ordered[n - k]), float(coverage)


@dataclass(frozen=True)
class TimeRatio:
    """How many times longer A takes than B, from repeats timed in turns.

    Attributes:
        median: the median of the per-repeat ratios ``time_a / time_b``.
        low, high: a distribution-free interval for that median (two order
            statistics of the ratios), which covers it with probability at least
            ``coverage`` (at least the ``confidence`` asked for, when ``n``
            allows it: 6 repeats or more for 95 %).
        names: ``(A, B)``; n: how many repeats.
    """

    median: float
    low: float
    high: float
    coverage: float
    n: int
    names: tuple

    def format(self, digits=2):
        """``'0.62 (0.58 to 0.66)'``: the median ratio and its interval."""
        return f"{self.median:.{digits}f} ({self.low:.{digits}f} to {self.high:.{digits}f})"

    def __str__(self):
        a, b = self.names
        return (
            f"{a} / {b}: {self.format()}, median of {self.n} paired repeats, "
            f"{self.coverage:.0%} interval"
        )

    def verdict(self, *, margin=1.0):
        """``'A is faster'``, ``'B is faster'`` or ``'no clear difference'``, by the interval.

        With ``margin`` m >= 1, a side wins only if the whole interval is below
        1 / m (A faster) or above m (B faster): ``margin=1.1`` asks for a
        difference of at least 10 % that the interval supports.
        """
        check_positive_number("margin", margin)
        if margin < 1:
            raise ValueError(f"margin must be >= 1, got {margin}")
        a, b = self.names
        if self.high < 1 / margin:
            return f"{a} is faster"
        if self.low > margin:
            return f"{b} is faster"
        return "no clear difference"


def time_ratio(a, b, *, names=("A", "B"), confidence=0.95):
    """Compare two functions timed in the same repeats (:func:`interleaved_times`).

    Args:
        a, b: seconds per call of A and of B, repeat by repeat (same length).
        names: what A and B are, for :meth:`TimeRatio.verdict` and printing.
        confidence: the coverage asked of the interval, in (0, 1).

    Returns:
        :class:`TimeRatio` of ``a / b``, repeat by repeat: below 1, A is faster.
    """
    a = _positive_times("a", a)
    b = _positive_times("b", b)
    if len(a) != len(b):
        raise ValueError(f"a and b must be timed in the same repeats, got {len(a)} and {len(b)}")
    if (
        not isinstance(names, (tuple, list))
        or len(names) != 2
        or not all(isinstance(n, str) for n in names)
    ):
        raise TypeError(f"names must be two strings, got {_describe(names)}")
    if (
        isinstance(confidence, bool)
        or not isinstance(confidence, numbers.Real)
        or not 0 < confidence < 1
    ):
        raise ValueError(f"confidence must be a number in (0, 1), got {confidence!r}")
    ratios = a / b
    low, high, coverage = _median_interval(ratios, confidence)
    return TimeRatio(float(np.median(ratios)), low, high, coverage, len(ratios), tuple(names))


def expect_timing(claim, holds, *, device, **evidence):
    """:func:`helpers.evidence.expect` for a sentence about timings on a CPU.

    The book is built on a CPU, and its prose describes what that CPU measured.
    Run on a GPU, the same cells measure other hardware, where the sentence need
    not hold (packing pays with cuDNN, for instance): there the claim and its
    numbers are printed, marked as not checked, instead of raising.

    Args:
        claim, holds, **evidence: as for :func:`helpers.evidence.expect`.
        device: the device the timings ran on (a ``torch.device`` or a string).
    """
    from helpers.evidence import _format_evidence, expect

    device = torch.device(device)
    if device.type == "cpu":
        expect(claim, holds, **evidence)
        return
    if not isinstance(holds, (bool, np.bool_)):
        raise TypeError(f"holds must be True or False, got {_describe(holds)}")
    numbers_text = _format_evidence(evidence)
    print(
        f"- not checked on {device.type} (the text describes the CPU that built the book): "
        f"{claim}" + (f" ({numbers_text})" if numbers_text else "")
    )
