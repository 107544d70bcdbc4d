"""helpers.profiling: operator_times (what ran, how often, quietly), and timings in turns
with ratios whose intervals are checked against the order-statistics interval for a median."""

import time

import numpy as np
import pytest
import torch
from scipy import stats

from helpers.evidence import ClaimNotSupported
from helpers.profiling import expect_timing, interleaved_times, operator_times, time_ratio, timing


def work():
    a = torch.randn(64, 64)
    for _ in range(3):
        a = torch.sigmoid(a @ a)
    return a


def test_every_operator_is_counted_with_its_calls():
    rows = operator_times(work)
    by_name = {row["operator"]: row for row in rows}
    assert by_name["aten::mm"]["calls"] == 3
    assert by_name["aten::sigmoid"]["calls"] == 3
    assert sum(row["share"] for row in rows) == pytest.approx(1.0)
    assert [row["self_ms"] for row in rows] == sorted(
        (row["self_ms"] for row in rows), reverse=True
    )


def test_the_warmup_calls_are_not_profiled():
    calls = []
    operator_times(lambda: calls.append(torch.ones(2) + 1), warmup=2)
    assert len(calls) == 3


def test_nothing_reaches_stderr(capfd):
    operator_times(work)
    assert capfd.readouterr().err == ""


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (dict(function=3), TypeError, "function must be callable"),
        (dict(function=work, warmup=-1), ValueError, "warmup"),
    ],
)
def test_bad_arguments_are_named(kwargs, error, message):
    with pytest.raises(error, match=message):
        operator_times(**kwargs)


def test_repeated_profiles_take_the_median_per_operator():
    rows = operator_times(work, repeats=3)
    by_name = {row["operator"]: row for row in rows}
    assert by_name["aten::mm"]["calls"] == 3  # per call of work(), not over the repeats
    assert sum(row["share"] for row in rows) == pytest.approx(1.0)


# --- timing in turns, and ratios with intervals ------------------------------------------------


def test_functions_are_timed_in_turns_in_a_rotating_order():
    order = []
    functions = {name: (lambda name=name: order.append(name)) for name in "abc"}
    times = interleaved_times(functions, repeats=3, min_time=1e-9, warmup=2)
    assert list(times) == ["a", "b", "c"]
    assert all(len(values) == 3 and np.all(values > 0) for values in times.values())
    # two warm-up calls each (the second timed to choose number), then a b c, b c a, c a b
    assert "".join(order) == "aabbcc" + "abc" + "bca" + "cab"


def test_without_warmup_one_call_is_timed_to_choose_the_number_of_calls():
    calls = []
    interleaved_times({"a": lambda: calls.append(1)}, repeats=3, min_time=1e-9, warmup=0)
    assert len(calls) == 4


def test_each_timing_lasts_at_least_min_time():
    calls = []
    times = interleaved_times({"fast": lambda: calls.append(1)}, repeats=3, min_time=0.01, warmup=0)
    assert len(calls) > 3  # several calls per timing, so each lasts >= 10 ms
    assert np.all(times["fast"] < 0.01)


def test_a_slower_function_is_measured_slower():
    times = interleaved_times(
        {"sleep 1 ms": lambda: time.sleep(0.001), "sleep 4 ms": lambda: time.sleep(0.004)},
        repeats=5,
        min_time=0.004,
    )
    ratio = time_ratio(times["sleep 4 ms"], times["sleep 1 ms"], names=("4 ms", "1 ms"))
    assert ratio.median > 2 and ratio.verdict() == "1 ms is faster"


def test_timing_is_the_median_and_the_quartiles():
    summary = timing([0.004, 0.001, 0.003, 0.002, 0.005])
    assert (summary.median, summary.q1, summary.q3, summary.n) == (0.003, 0.002, 0.004, 5)
    assert summary.format() == "3.0 ms (2.0 to 4.0)"


@pytest.mark.parametrize("n", [6, 9, 11, 20, 51])
def test_the_median_interval_is_the_order_statistics_interval_and_covers(n):
    rng = np.random.default_rng(n)
    b = rng.uniform(1, 2, n)
    a = b * rng.lognormal(0.0, 0.1, n)
    ratio = time_ratio(a, b)
    ordered = np.sort(a / b)
    # the widest k with 1 - 2 P(Binomial(n, 1/2) <= k - 1) >= 0.95, computed independently
    k = max(j for j in range(1, n // 2 + 1) if 1 - 2 * stats.binom.cdf(j - 1, n, 0.5) >= 0.95)
    assert (ratio.low, ratio.high) == (ordered[k - 1], ordered[n - k])
    assert ratio.coverage >= 0.95 and ratio.low <= ratio.median <= ratio.high
    assert ratio.median == pytest.approx(np.median(a / b))


def test_the_interval_covers_the_true_median_about_as_often_as_it_says():
    rng = np.random.default_rng(0)
    hits = 0
    for _ in range(400):
        ratios = rng.lognormal(0.0, 0.2, 9)  # true median ratio 1
        ratio = time_ratio(ratios, np.ones(9))
        hits += ratio.low <= 1.0 <= ratio.high
    assert hits / 400 > 0.93  # 9 repeats: the 2nd and 8th of 9, coverage 96 %


def test_verdicts_follow_the_interval_and_the_margin():
    b = np.ones(9)
    faster = time_ratio(np.linspace(0.5, 0.7, 9), b, names=("sorted", "random"))
    assert faster.verdict() == "sorted is faster"
    assert faster.verdict(margin=2.5) == "no clear difference"  # not faster by 2.5x
    slower = time_ratio(np.linspace(1.5, 1.7, 9), b, names=("packed", "padded"))
    assert slower.verdict() == "padded is faster"
    mixed = time_ratio(np.linspace(0.9, 1.1, 9), b, names=("A", "B"))
    assert mixed.verdict() == "no clear difference"
    assert "median of 9 paired repeats" in str(mixed)


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda: interleaved_times({}), TypeError, "non-empty dict"),
        (lambda: interleaved_times({"a": 3}), TypeError, r"functions\['a'\] must be callable"),
        (lambda: interleaved_times({"a": print}, repeats=2), ValueError, "repeats"),
        (lambda: interleaved_times({"a": print}, min_time=0), ValueError, "min_time"),
        (lambda: time_ratio([1, 2, 3, 4], [1, 2, 3]), ValueError, "same repeats"),
        (lambda: time_ratio([1, 2, 3], [1, 2, -3]), ValueError, "times > 0"),
        (lambda: time_ratio([1, 2, 3], [1, 2, 3], names="ab"), TypeError, "names"),
        (lambda: time_ratio([1, 2, 3], [1, 2, 3], confidence=95), ValueError, "confidence"),
        (lambda: timing([1.0, 2.0]), ValueError, "at least 3"),
        (lambda: time_ratio([1, 2, 3], [1, 2, 3]).verdict(margin=0.5), ValueError, "margin"),
    ],
)
def test_bad_arguments_to_the_timers_are_named(call, error, message):
    with pytest.raises(error, match=message):
        call()


def test_timing_claims_are_checked_on_a_cpu(capsys):
    expect_timing("sorting saves time", True, device="cpu", ratio=0.6)
    assert "✓ sorting saves time (ratio = 0.6000)" in capsys.readouterr().out
    with pytest.raises(ClaimNotSupported, match="packing saves time.*ratio = 1.1"):
        expect_timing("packing saves time", False, device=torch.device("cpu"), ratio=1.1)


def test_timing_claims_are_only_printed_on_a_gpu(capsys):
    expect_timing("packing saves nothing", False, device="cuda", ratio=0.5)
    out = capsys.readouterr().out
    assert out.startswith("- not checked on cuda") and "packing saves nothing" in out
    with pytest.raises(TypeError, match="holds"):
        expect_timing("a claim", "yes", device="cuda")
