"""helpers.corpora.hyphenation_splits: the book's hyphenation data, split by prefix group."""

import pytest

from helpers.corpora import (
    HYPHENATION_PREFIX,
    hyphenation_group,
    hyphenation_labels,
    hyphenation_splits,
)
from helpers.text import SPLITS, shared_groups


@pytest.fixture(scope="module")
def book_split():
    return hyphenation_splits()  # the split both chapters use


def test_no_prefix_group_crosses_splits(book_split):
    words, _ = book_split
    assert shared_groups(words, hyphenation_group) == {}
    # so no test or validation word shares its first five letters with a training word
    train_prefixes = {word[:HYPHENATION_PREFIX] for word in words["train"]}
    for split in ("validation", "test"):
        assert not any(word[:HYPHENATION_PREFIX] in train_prefixes for word in words[split])


def test_the_split_is_80_10_10_of_distinct_words_with_aligned_labels(book_split):
    words, labels = book_split
    sizes = {split: len(words[split]) for split in SPLITS}
    assert sum(sizes.values()) == 20_000
    assert len({word for split in SPLITS for word in words[split]}) == 20_000
    largest_group = 200  # the shares are met to within one group
    for split, share in zip(SPLITS, (0.8, 0.1, 0.1)):
        assert abs(sizes[split] - share * 20_000) < largest_group
        assert labels[split] == hyphenation_labels(words[split])
        assert all(4 <= len(word) <= 15 for word in words[split])


def test_the_split_is_fixed_by_its_seed():
    small = hyphenation_splits(2_000, seed=3)
    assert hyphenation_splits(2_000, seed=3) == small
    assert hyphenation_splits(2_000, seed=4)[0] != small[0]
    assert shared_groups(small[0], hyphenation_group) == {}


def test_a_random_split_would_leak_near_duplicates(book_split):
    # the reason for the group split: with the same words dealt at random, many
    # test words would begin like a training word
    from helpers.text import split_items

    words, _ = book_split
    every = sorted(word for split in SPLITS for word in words[split])
    random_split = split_items(every, seed=0)
    assert len(shared_groups(random_split, hyphenation_group)) > 1000


def test_the_group_is_the_first_letters():
    assert hyphenation_group("hyphenation") == hyphenation_group("hyphenate") == "hyphe"
    assert hyphenation_group("brood") == hyphenation_group("broody")
    assert hyphenation_group("mean") == "mean"


@pytest.mark.parametrize(
    "call, error, words",
    [
        (lambda: hyphenation_splits(0), ValueError, "size"),
        (lambda: hyphenation_splits(10**7), ValueError, "more than"),
        (
            lambda: hyphenation_splits(100, seed=-1),
            ValueError,
            r"seed must be an int in \[0, 2\*\*32\), got int -1",
        ),
        (lambda: hyphenation_group("Mean"), ValueError, "lower-case"),
    ],
)
def test_bad_input_is_rejected_clearly(call, error, words):
    with pytest.raises(error, match=words):
        call()
