import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers.tasks import (
    BLANK,
    BRACKET_SYMBOLS,
    adding_problem,
    bracket_depth,
    copy_task,
    copy_task_baseline,
    copy_task_vocab_size,
    make_loader,
    task_splits,
)

seeds = st.integers(min_value=0, max_value=2**32 - 1)


# adding problem


@settings(max_examples=30, deadline=None)
@given(num_sequences=st.integers(1, 20), length=st.integers(2, 40), seed=seeds)
def test_adding_problem_has_two_markers_one_per_half_and_the_marked_sum_as_target(
    num_sequences, length, seed
):
    x, y = adding_problem(num_sequences, length, seed=seed)
    assert x.shape == (num_sequences, length, 2) and y.shape == (num_sequences, 1)
    assert x.dtype == y.dtype == torch.float32
    values, markers = x[..., 0].numpy(), x[..., 1].numpy()
    assert np.all((values >= 0) & (values < 1))
    assert set(np.unique(markers)) <= {0.0, 1.0}
    half = length // 2
    for row in range(num_sequences):
        positions = np.flatnonzero(markers[row])
        assert len(positions) == 2
        assert positions[0] < half <= positions[1]
        expected = np.float32(values[row, positions[0]]) + np.float32(values[row, positions[1]])
        assert y[row, 0].item() == expected


def test_adding_problem_marker_positions_cover_each_half():
    x, _ = adding_problem(2000, 10, seed=3)
    markers = x[..., 1]
    assert torch.all(markers[:, :5].sum(dim=1) == 1)
    assert torch.all(markers[:, 5:].sum(dim=1) == 1)
    counts = markers.sum(dim=0)
    assert torch.all(counts > 300)  # about 400 per position if uniform


def test_adding_problem_is_reproducible_and_depends_on_the_seed():
    first = adding_problem(50, 30, seed=11)
    second = adding_problem(50, 30, seed=11)
    other = adding_problem(50, 30, seed=12)
    assert all(torch.equal(a, b) for a, b in zip(first, second))
    assert not torch.equal(first[0], other[0])
    assert not torch.equal(first[1], other[1])


def test_adding_problem_ignores_the_global_random_state():
    torch.manual_seed(0)
    first = adding_problem(5, 8, seed=1)
    torch.manual_seed(99)
    torch.rand(100)
    second = adding_problem(5, 8, seed=1)
    assert torch.equal(first[0], second[0])


def test_adding_problem_float64_holds_the_same_numbers():
    x32, y32 = adding_problem(20, 12, seed=5)
    x64, y64 = adding_problem(20, 12, seed=5, dtype=torch.float64)
    assert x64.dtype == y64.dtype == torch.float64
    assert torch.equal(x64, x32.double())
    assert torch.allclose(y64, y32.double(), atol=1e-6)


def test_always_predicting_one_gives_mse_one_sixth():
    _, y = adding_problem(20000, 20, seed=0)
    mse = torch.mean((y - 1.0) ** 2).item()
    assert abs(mse - 1 / 6) < 0.01


@pytest.mark.parametrize(
    "kwargs, error, words",
    [
        (dict(num_sequences=0, length=5, seed=0), ValueError, ["num_sequences", ">= 1", "0"]),
        (dict(num_sequences=2.0, length=5, seed=0), TypeError, ["num_sequences", "float"]),
        (dict(num_sequences=True, length=5, seed=0), TypeError, ["num_sequences", "bool"]),
        (dict(num_sequences=3, length=1, seed=0), ValueError, ["length", ">= 2", "1"]),
        (
            dict(num_sequences=3, length=5, seed=-1),
            ValueError,
            ["seed must be an int in [0, 2**32)", "int -1"],
        ),
        (
            dict(num_sequences=3, length=5, seed=2**32),
            ValueError,
            ["seed must be an int in [0, 2**32)", "int 4294967296"],
        ),
        (dict(num_sequences=3, length=5, seed="0"), TypeError, ["seed", "str"]),
        (dict(num_sequences=3, length=5, seed=None), TypeError, ["seed", "NoneType"]),
        (
            dict(num_sequences=3, length=5, seed=0, dtype=torch.int64),
            ValueError,
            ["dtype", "torch.float32", "torch.int64"],
        ),
    ],
)
def test_adding_problem_rejects_bad_arguments(kwargs, error, words):
    with pytest.raises(error) as info:
        adding_problem(**kwargs)
    for word in words:
        assert word in str(info.value)


def test_adding_problem_seed_is_keyword_only():
    with pytest.raises(TypeError):
        adding_problem(3, 5, 0)


# copy task


def test_copy_task_docstring_example_layout():
    x, y = copy_task(1, 4, copy_length=3, num_symbols=8, seed=0)
    symbols = x[0, :3].tolist()
    assert x[0].tolist() == symbols + [0, 0, 0, 9, 0, 0, 0]
    assert y[0].tolist() == [0] * 7 + symbols


@settings(max_examples=30, deadline=None)
@given(
    num_sequences=st.integers(1, 10),
    delay=st.integers(1, 30),
    copy_length=st.integers(1, 12),
    num_symbols=st.integers(1, 10),
    seed=seeds,
)
def test_copy_task_layout(num_sequences, delay, copy_length, num_symbols, seed):
    x, y = copy_task(
        num_sequences, delay, copy_length=copy_length, num_symbols=num_symbols, seed=seed
    )
    length = copy_length + delay + copy_length
    assert x.shape == y.shape == (num_sequences, length)
    assert x.dtype == y.dtype == torch.int64
    delimiter = num_symbols + 1
    assert delimiter == copy_task_vocab_size(num_symbols) - 1
    symbols = x[:, :copy_length]
    assert torch.all((symbols >= 1) & (symbols <= num_symbols))
    go = copy_length + delay - 1
    assert torch.all(x[:, copy_length:go] == BLANK)
    assert torch.all(x[:, go] == delimiter)
    assert torch.all(x[:, go + 1 :] == BLANK)
    assert torch.all(y[:, : copy_length + delay] == BLANK)
    assert torch.equal(y[:, -copy_length:], symbols)
    assert int(x.max()) < copy_task_vocab_size(num_symbols)


def test_copy_task_uses_every_symbol_about_equally():
    x, _ = copy_task(1000, 5, copy_length=10, num_symbols=8, seed=1)
    counts = torch.bincount(x[:, :10].flatten(), minlength=10)
    assert counts[0] == 0 and counts[9] == 0
    assert torch.all((counts[1:9] > 1100) & (counts[1:9] < 1400))  # 1250 each if uniform


def test_copy_task_is_reproducible_and_depends_on_the_seed():
    assert torch.equal(copy_task(20, 7, seed=4)[0], copy_task(20, 7, seed=4)[0])
    assert not torch.equal(copy_task(20, 7, seed=4)[0], copy_task(20, 7, seed=5)[0])


def test_vocab_size():
    assert copy_task_vocab_size() == 10
    assert copy_task_vocab_size(3) == 5


@pytest.mark.parametrize(
    "delay, copy_length, num_symbols", [(1, 1, 1), (5, 10, 8), (100, 10, 8), (30, 4, 3)]
)
def test_baseline_equals_the_cross_entropy_of_the_memoryless_predictor(
    delay, copy_length, num_symbols
):
    _, y = copy_task(200, delay, copy_length=copy_length, num_symbols=num_symbols, seed=2)
    vocab = copy_task_vocab_size(num_symbols)
    length = y.shape[1]
    # blank for sure until the output part, then uniform over the symbols
    probabilities = torch.zeros(length, vocab, dtype=torch.float64)
    probabilities[: copy_length + delay, BLANK] = 1.0
    probabilities[copy_length + delay :, 1 : num_symbols + 1] = 1.0 / num_symbols
    chosen = probabilities[torch.arange(length), y]  # (N, T)
    cross_entropy = -torch.log(chosen).mean().item()
    assert cross_entropy == pytest.approx(copy_task_baseline(delay, copy_length, num_symbols))


def test_baseline_matches_arjovsky_et_al():
    # their T = 100: 10 log 8 / 120
    assert copy_task_baseline(100) == pytest.approx(10 * math.log(8) / 120)
    assert copy_task_baseline(100) == pytest.approx(0.1733, abs=1e-4)


@pytest.mark.parametrize(
    "call, error, words",
    [
        (lambda: copy_task(0, 5, seed=0), ValueError, ["num_sequences", "0"]),
        (lambda: copy_task(3, 0, seed=0), ValueError, ["delay", ">= 1", "0"]),
        (lambda: copy_task(3, 5, copy_length=0, seed=0), ValueError, ["copy_length"]),
        (lambda: copy_task(3, 5, num_symbols=0, seed=0), ValueError, ["num_symbols"]),
        (lambda: copy_task(3, 5.0, seed=0), TypeError, ["delay", "float"]),
        (
            lambda: copy_task(3, 5, seed=1.5),
            TypeError,
            ["seed must be an int in [0, 2**32)", "float 1.5"],
        ),
        (lambda: copy_task_baseline(0), ValueError, ["delay"]),
        (lambda: copy_task_baseline(5, num_symbols="8"), TypeError, ["num_symbols", "str"]),
        (lambda: copy_task_vocab_size(0), ValueError, ["num_symbols"]),
    ],
)
def test_copy_task_rejects_bad_arguments(call, error, words):
    with pytest.raises(error) as info:
        call()
    for word in words:
        assert word in str(info.value)


# splits


def rows(x):
    return {row.numpy().tobytes() for row in x.reshape(x.shape[0], -1)}


@pytest.mark.parametrize(
    "task, kwargs",
    [(adding_problem, dict(length=10)), (copy_task, dict(delay=3, copy_length=20))],
)
def test_splits_are_disjoint_stable_and_sized(task, kwargs):
    splits = task_splits(task, (300, 100, 50), seed=7, **kwargs)
    assert list(splits) == ["train", "validation", "test"]
    assert [len(splits[name][0]) for name in splits] == [300, 100, 50]
    assert [len(splits[name][1]) for name in splits] == [300, 100, 50]
    train, validation, test = (rows(splits[name][0]) for name in splits)
    assert len(train) == 300 and len(validation) == 100 and len(test) == 50
    assert not train & validation and not train & test and not validation & test
    again = task_splits(task, {"test": 50, "train": 300, "validation": 100}, seed=7, **kwargs)
    for name in splits:
        assert torch.equal(splits[name][0], again[name][0])
        assert torch.equal(splits[name][1], again[name][1])


def test_splits_of_neighbouring_seeds_share_nothing():
    first = task_splits(adding_problem, (20, 20, 20), seed=0, length=6)
    second = task_splits(adding_problem, (20, 20, 20), seed=1, length=6)
    first_rows = set().union(*(rows(x) for x, _ in first.values()))
    second_rows = set().union(*(rows(x) for x, _ in second.values()))
    assert not first_rows & second_rows


def test_splits_pass_task_arguments_on():
    splits = task_splits(adding_problem, (2, 3, 4), seed=0, length=7, dtype=torch.float64)
    assert splits["test"][0].shape == (4, 7, 2) and splits["test"][0].dtype == torch.float64


@pytest.mark.parametrize(
    "call, error, words",
    [
        (lambda: task_splits("adding", (1, 1, 1), seed=0), TypeError, ["task", "str"]),
        (lambda: task_splits(adding_problem, (1, 1), seed=0, length=5), ValueError, ["sizes", "3"]),
        (
            lambda: task_splits(
                adding_problem, {"train": 1, "val": 1, "test": 1}, seed=0, length=5
            ),
            ValueError,
            ["sizes", "validation", "val"],
        ),
        (
            lambda: task_splits(adding_problem, (10, 0, 5), seed=0, length=5),
            ValueError,
            ["sizes['validation']", "0"],
        ),
        (lambda: task_splits(adding_problem, 100, seed=0, length=5), TypeError, ["sizes", "int"]),
        (
            lambda: task_splits(adding_problem, (1, 1, 1), seed=-3, length=5),
            ValueError,
            ["seed must be an int in [0, 2**32)", "int -3"],
        ),
        (lambda: task_splits(adding_problem, (1, 1, 1), seed=0, length=1), ValueError, ["length"]),
    ],
)
def test_splits_reject_bad_arguments(call, error, words):
    with pytest.raises(error) as info:
        call()
    for word in words:
        assert word in str(info.value)


# loaders


def epoch_orders(loader, epochs=3):
    return [torch.cat([x for x, _ in loader]).tolist() for _ in range(epochs)]


def test_loader_without_shuffle_keeps_the_order_and_a_short_last_batch():
    x = torch.arange(10)
    y = torch.arange(10) * 2
    batches = list(make_loader(x, y, batch_size=4, shuffle=False))
    assert [len(bx) for bx, _ in batches] == [4, 4, 2]
    assert torch.equal(torch.cat([bx for bx, _ in batches]), x)
    assert all(torch.equal(by, 2 * bx) for bx, by in batches)


def test_loader_shuffling_is_reproducible_by_seed():
    x = torch.arange(50)
    y = x.clone()
    first = epoch_orders(make_loader(x, y, batch_size=8, shuffle=True, seed=3))
    second = epoch_orders(make_loader(x, y, batch_size=8, shuffle=True, seed=3))
    other = epoch_orders(make_loader(x, y, batch_size=8, shuffle=True, seed=4))
    assert first == second
    assert first != other
    assert first[0] != first[1]  # a new order every epoch
    assert all(sorted(order) == list(range(50)) for order in first)
    for bx, by in make_loader(x, y, batch_size=8, shuffle=True, seed=3):
        assert torch.equal(bx, by)  # pairs stay together


def test_loader_shuffling_ignores_the_global_random_state():
    x = torch.arange(30)
    torch.manual_seed(0)
    first = epoch_orders(make_loader(x, x, batch_size=5, shuffle=True, seed=1))
    torch.manual_seed(1)
    second = epoch_orders(make_loader(x, x, batch_size=5, shuffle=True, seed=1))
    assert first == second


@pytest.mark.parametrize(
    "call, error, words",
    [
        (
            lambda: make_loader(torch.zeros(5, 2), torch.zeros(5), batch_size=2, shuffle=True),
            ValueError,
            ["seed", "shuffle=True"],
        ),
        (
            lambda: make_loader(torch.zeros(5, 2), torch.zeros(4), batch_size=2, shuffle=False),
            ValueError,
            ["x and y", "(5, 2)", "(4,)"],
        ),
        (
            lambda: make_loader(np.zeros(5), torch.zeros(5), batch_size=2, shuffle=False),
            TypeError,
            ["x", "numpy array"],
        ),
        (
            lambda: make_loader(torch.zeros(5), torch.zeros(5), batch_size=0, shuffle=False),
            ValueError,
            ["batch_size", "0"],
        ),
        (
            lambda: make_loader(torch.zeros(5), torch.zeros(5), batch_size=2, shuffle="yes"),
            TypeError,
            ["shuffle", "str"],
        ),
        (
            lambda: make_loader(torch.zeros(0), torch.zeros(0), batch_size=2, shuffle=False),
            ValueError,
            ["x", "(0,)"],
        ),
        (
            lambda: make_loader(
                torch.zeros(5), torch.zeros(5), batch_size=2, shuffle=True, seed=-1
            ),
            ValueError,
            ["seed must be an int in [0, 2**32)", "int -1"],
        ),
    ],
)
def test_loader_rejects_bad_arguments(call, error, words):
    with pytest.raises(error) as info:
        call()
    for word in words:
        assert word in str(info.value)


# --------------------------------------------------------------------------- bracket depth


@settings(max_examples=25, deadline=None)
@given(seed=seeds, length=st.integers(1, 60), max_depth=st.integers(1, 5))
def test_bracket_depth_counts_the_open_brackets(seed, length, max_depth):
    x, y = bracket_depth(20, length, max_depth=max_depth, seed=seed)
    assert x.shape == y.shape == (20, length) and x.dtype == y.dtype == torch.long
    assert 0 <= x.min() and x.max() < len(BRACKET_SYMBOLS)
    for ids, depths in zip(x.tolist(), y.tolist()):
        text = "".join(BRACKET_SYMBOLS[k] for k in ids)
        counted = np.cumsum([{"(": 1, ")": -1}.get(character, 0) for character in text])
        assert depths == counted.tolist(), text
        assert 0 <= min(depths) and max(depths) <= max_depth


def test_bracket_depth_is_reproducible_and_reaches_every_depth():
    x, y = bracket_depth(500, 40, seed=1)
    x_again, y_again = bracket_depth(500, 40, seed=1)
    assert torch.equal(x, x_again) and torch.equal(y, y_again)
    assert not torch.equal(x, bracket_depth(500, 40, seed=2)[0])
    assert set(y.flatten().tolist()) == {0, 1, 2, 3, 4}
    assert set(x.flatten().tolist()) == {0, 1, 2, 3}, "both brackets and both letters occur"


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (dict(num_sequences=0, length=5), ValueError, "num_sequences"),
        (dict(num_sequences=2, length=0), ValueError, "length"),
        (dict(num_sequences=2, length=5, max_depth=0), ValueError, "max_depth"),
        (
            dict(num_sequences=2, length=5, seed=-1),
            ValueError,
            r"seed must be an int in \[0, 2\*\*32\), got int -1",
        ),
        (
            dict(num_sequences=2, length=5, seed=1.5),
            TypeError,
            r"seed must be an int in \[0, 2\*\*32\), got float 1.5",
        ),
    ],
)
def test_bad_bracket_depth_arguments_are_named(kwargs, error, message):
    kwargs.setdefault("seed", 0)
    with pytest.raises(error, match=message):
        bracket_depth(**kwargs)


@pytest.mark.parametrize("length", [10, 50, 200])
def test_adding_problem_baselines_match_their_expected_errors(length):
    from helpers.tasks import adding_problem, adding_problem_baselines

    x, y = adding_problem(20_000, length, seed=1)
    errors = adding_problem_baselines(x, y)
    half = length // 2
    # the variance of a uniform pick among `half` U(0,1) values, for each of the two halves
    blind = 2 * (half - 1) / half / 12
    assert errors["constant"] == pytest.approx(1 / 6, rel=0.03)
    assert errors["marker_blind"] == pytest.approx(blind, rel=0.03)
    assert errors["last_marked_only"] == pytest.approx(1 / 12, rel=0.03)
    assert errors["last_marked_only"] < errors["marker_blind"] < errors["constant"]


def test_adding_problem_baselines_name_bad_input():
    from helpers.tasks import adding_problem, adding_problem_baselines

    x, y = adding_problem(4, 10, seed=0)
    with pytest.raises(ValueError, match=r"x must be the adding problem's inputs \(N, T, 2\)"):
        adding_problem_baselines(x[..., :1], y)
    with pytest.raises(ValueError, match=r"y must be the targets \(N, 1\) = \(4, 1\)"):
        adding_problem_baselines(x, y[:, 0])
    bad = x.clone()
    bad[0, 0, 1] = 1.0 - bad[0, 0, 1]
    with pytest.raises(ValueError, match="exactly two markers"):
        adding_problem_baselines(bad, y)
