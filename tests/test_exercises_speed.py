"""check_length_batches: right answers pass, each classic mistake fails with its diagnosis."""

import random

import numpy as np
import pytest

from helpers.exercises import CheckFailed, check_length_batches
from helpers.text import length_batches, padded_steps


def sort_and_cut(lengths, batch_size):
    """Longest first: the smaller last batch gets the shortest sequences."""
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    return [order[k : k + batch_size] for k in range(0, len(order), batch_size)]


def shortest_first_remainder_last(lengths, batch_size):
    """Sorted ascending and cut from the short end: the smaller batch holds the longest ones."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    return [order[k : k + batch_size] for k in range(0, len(order), batch_size)]


def longest_first(lengths, batch_size):
    """The same as sort_and_cut, written with reverse=True."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i], reverse=True)
    return [order[k : k + batch_size] for k in range(0, len(order), batch_size)]


def as_arrays(lengths, batch_size):
    return [np.array(batch) for batch in sort_and_cut(lengths, batch_size)]


@pytest.mark.parametrize(
    "fn", [length_batches, sort_and_cut, longest_first, as_arrays, shortest_first_remainder_last]
)
def test_right_answers_pass(fn, capsys):
    result = check_length_batches(fn)
    assert result.passed and len(result.messages) == 16
    assert "as few as sorting by length gives" in capsys.readouterr().out


def in_original_order(lengths, batch_size):
    return [
        list(range(len(lengths)))[k : k + batch_size] for k in range(0, len(lengths), batch_size)
    ]


def shuffled(lengths, batch_size):
    order = list(range(len(lengths)))
    random.Random(1).shuffle(order)
    return [order[k : k + batch_size] for k in range(0, len(order), batch_size)]


def lengths_not_indices(lengths, batch_size):
    values = sorted(lengths)
    return [values[k : k + batch_size] for k in range(0, len(values), batch_size)]


def drops_the_last_batch(lengths, batch_size):
    order = sorted(range(len(lengths)), key=lambda i: -lengths[i])
    return [order[k : k + batch_size] for k in range(0, len(order) - batch_size + 1, batch_size)]


def sorts_in_place(lengths, batch_size):
    lengths.sort()
    return sort_and_cut(lengths, batch_size)


def one_index_twice(lengths, batch_size):
    batches = sort_and_cut(lengths, batch_size)
    batches[0][0] = batches[-1][-1]
    return batches


def batches_of_one(lengths, batch_size):
    return [[i] for i in sorted(range(len(lengths)), key=lambda i: lengths[i])]


def returns_nothing(lengths, batch_size):
    sort_and_cut(lengths, batch_size)


def off_by_one_index(lengths, batch_size):
    return [[i + 1 for i in batch] for batch in sort_and_cut(lengths, batch_size)]


@pytest.mark.parametrize(
    "fn, expected",
    [
        (in_original_order, "these are the batches in the original order"),
        (shuffled, "sort all the indices by length first, then cut"),
        (lengths_not_indices, "return indices into lengths"),
        (drops_the_last_batch, "the last batch may be smaller than batch_size; keep it"),
        (sorts_in_place, "modified lengths in place"),
        (one_index_twice, "more than once"),
        (batches_of_one, "expected 3 non-empty batches of at most 4"),
        (returns_nothing, "returned NoneType, expected a list of lists"),
        (off_by_one_index, "indices outside 0 .. 9: [10]"),
    ],
)
def test_each_mistake_fails_with_its_diagnosis(fn, expected, capsys):
    with pytest.raises(CheckFailed) as failure:
        check_length_batches(fn)
    assert expected in str(failure.value) + capsys.readouterr().out


def test_an_exception_is_reported_not_raised(capsys):
    def crashes(lengths, batch_size):
        return sorted(lengths)[batch_size * 100]

    with pytest.raises(CheckFailed) as failure:
        check_length_batches(crashes)
    assert "IndexError" in str(failure.value)


def test_not_a_function_is_named():
    with pytest.raises(TypeError, match="pass my_function, not my_function"):
        check_length_batches(length_batches([3, 1], 2))


# --------------------------------------------------------------------------- the reference


def test_sorting_by_length_pads_least_of_all_ways_to_cut_into_full_batches():
    rng = random.Random(3)
    for _ in range(20):
        lengths = [rng.randint(1, 30) for _ in range(6)]
        batches = length_batches(lengths, 3)
        assert [lengths[i] for batch in batches for i in batch] == sorted(lengths)
        best = padded_steps(lengths, batches)
        for _ in range(50):  # any other cut into two batches of 3 pads at least as much
            order = list(range(6))
            rng.shuffle(order)
            assert padded_steps(lengths, [order[:3], order[3:]]) >= best
    assert length_batches([5, 1, 3, 3, 9], 2) == [[1, 2], [3, 0], [4]]
    assert padded_steps([5, 1, 3], [[0, 1], [2]]) == 2 * 5 + 3


@pytest.mark.parametrize(
    "lengths, batch_size, message",
    [
        ([3, 0], 2, "lengths must be a list of ints >= 1"),
        ("abc", 2, "lengths must be a list of ints >= 1"),
        ([3, 2.5], 2, "lengths must be a list of ints >= 1"),
        ([3, 2], 0, "batch_size"),
    ],
)
def test_bad_arguments_are_named(lengths, batch_size, message):
    with pytest.raises(ValueError, match=message):
        length_batches(lengths, batch_size)
