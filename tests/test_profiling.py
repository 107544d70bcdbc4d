"""helpers.profiling.operator_times: what ran, how often, and quietly."""

import pytest
import torch

from helpers.profiling import operator_times


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
    assert [row["self_ms"] for row in rows] == sorted((row["self_ms"] for row in rows),
                                                      reverse=True)


def test_the_warmup_calls_are_not_profiled():
    calls = []
    operator_times(lambda: calls.append(torch.ones(2) + 1), warmup=2)
    assert len(calls) == 3


def test_nothing_reaches_stderr(capfd):
    operator_times(work)
    assert capfd.readouterr().err == ""


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(function=3), TypeError, "function must be callable"),
    (dict(function=work, warmup=-1), ValueError, "warmup"),
])
def test_bad_arguments_are_named(kwargs, error, message):
    with pytest.raises(error, match=message):
        operator_times(**kwargs)
