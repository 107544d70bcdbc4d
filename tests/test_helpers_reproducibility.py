import random
import re

import numpy as np
import pytest
import threadpoolctl
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import helpers


def draw_from_every_generator():
    return (random.random(), float(np.random.rand()), float(torch.rand(1)))


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(min_value=0, max_value=2**32 - 1))
def test_same_seed_gives_the_same_numbers_everywhere(seed):
    generator = helpers.seed_everything(seed)
    first = draw_from_every_generator() + (float(generator.random()),)
    generator = helpers.seed_everything(seed)
    second = draw_from_every_generator() + (float(generator.random()),)
    assert first == second


def test_different_seeds_give_different_numbers():
    helpers.seed_everything(0)
    first = draw_from_every_generator()
    helpers.seed_everything(1)
    second = draw_from_every_generator()
    assert all(a != b for a, b in zip(first, second))


def test_numpy_integer_seed_is_accepted():
    helpers.seed_everything(np.int64(7))
    first = draw_from_every_generator()
    helpers.seed_everything(7)
    assert draw_from_every_generator() == first


@pytest.mark.parametrize("seed", [1.5, "0", None, True])
def test_non_integer_seed_is_a_type_error(seed):
    with pytest.raises(
        TypeError, match=rf"^seed must be an int in \[0, 2\*\*32\), got {type(seed).__name__} "
    ):
        helpers.seed_everything(seed)


@pytest.mark.parametrize("seed", [-1, 2**32])
def test_out_of_range_seed_is_a_value_error(seed):
    with pytest.raises(
        ValueError, match=rf"^seed must be an int in \[0, 2\*\*32\), got int {seed}$"
    ):
        helpers.seed_everything(seed)


def test_one_thread_by_default_and_none_leaves_the_setting_alone():
    before = torch.get_num_threads()
    try:
        helpers.seed_everything(0)
        assert torch.get_num_threads() == 1
        # numpy's BLAS too, whose idle threads would spin against other load
        assert {pool["num_threads"] for pool in threadpoolctl.threadpool_info()} == {1}
        torch.set_num_threads(2)
        helpers.seed_everything(0, threads=None)
        assert torch.get_num_threads() == 2
        helpers.seed_everything(0, threads=1)
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


@pytest.mark.parametrize(
    "threads, error, message",
    [
        (0, ValueError, "threads must be an int >= 1 or None, got 0"),
        (1.5, TypeError, "threads must be an int >= 1 or None, got float 1.5"),
        (True, TypeError, "threads must be an int >= 1 or None, got bool True"),
    ],
)
def test_a_bad_thread_count_is_refused_by_name(threads, error, message):
    with pytest.raises(error, match=re.escape(message)):
        helpers.seed_everything(0, threads=threads)
