"""helpers.leakage, and the leakage criteria of the two chapters on census names.

The criteria tested here are the ones the chapters state: every name lies in
exactly one split (the language model's surnames; the classifier's first
names, whatever their label), checked with helpers.text.shared_groups.
"""

import random

import pytest

from helpers.corpora import first_names_by_sex
from helpers.language_model import surname_splits
from helpers.leakage import near_duplicates, one_edit_apart, one_edit_groups
from helpers.text import shared_groups, split_items


def levenshtein(a, b):
    """The textbook dynamic programme, for the comparison."""
    previous = list(range(len(b) + 1))
    for i, x in enumerate(a, start=1):
        current = [i]
        for j, y in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x != y)))
        previous = current
    return previous[-1]


def test_one_edit_apart_by_hand():
    assert one_edit_apart("johnson", "johnsen")  # substitution
    assert one_edit_apart("jon", "john") and one_edit_apart("john", "jon")  # insertion, deletion
    assert one_edit_apart("ann", "anna") and one_edit_apart("a", "")
    assert not one_edit_apart("ann", "ann")  # identical is not a near-duplicate
    assert not one_edit_apart("ab", "ba")  # a swap is two edits
    assert not one_edit_apart("catherine", "katharine")
    with pytest.raises(TypeError, match="strings"):
        one_edit_apart("a", 1)


def test_one_edit_apart_agrees_with_levenshtein_on_random_words():
    rng = random.Random(0)
    for _ in range(3000):
        a = "".join(rng.choice("abc") for _ in range(rng.randint(0, 5)))
        b = "".join(rng.choice("abc") for _ in range(rng.randint(0, 5)))
        assert one_edit_apart(a, b) == (levenshtein(a, b) == 1), (a, b)


def test_near_duplicates_finds_exactly_the_words_one_edit_away():
    rng = random.Random(1)
    reference = sorted(
        {"".join(rng.choice("abcd") for _ in range(rng.randint(1, 5))) for _ in range(300)}
    )
    items = sorted(
        {"".join(rng.choice("abcd") for _ in range(rng.randint(1, 5))) for _ in range(200)}
    )
    found = near_duplicates(items, reference)
    assert set(found) == set(items)
    for item in items:
        assert found[item] == sorted(w for w in reference if levenshtein(item, w) == 1)
    assert near_duplicates(["smith"], ["smith", "smyth", "smiths"]) == {
        "smith": ["smiths", "smyth"]
    }


def test_one_edit_groups_follow_chains_of_neighbours():
    groups = one_edit_groups(["ann", "anna", "hanna", "hannah", "bob", "rob", "zed", "ann"])
    assert groups == [["ann", "anna", "hanna", "hannah"], ["bob", "rob"], ["zed"]]
    rng = random.Random(2)
    words = sorted(
        {"".join(rng.choice("abc") for _ in range(rng.randint(1, 4))) for _ in range(60)}
    )
    for group in one_edit_groups(words):  # no word has a neighbour outside its group
        for word in group:
            assert all(levenshtein(word, other) != 1 for other in words if other not in group)


def test_near_duplicates_rejects_non_lists():
    with pytest.raises(TypeError, match="items"):
        near_duplicates("smith", ["smith"])


# --------------------------------------------------------------------------- the chapters' splits


def test_the_surname_splits_share_no_name():
    splits = surname_splits()
    assert shared_groups(splits, lambda name: name) == {}
    assert sum(len(names) for names in splits.values()) == 88_799
    assert len(splits["validation"]) == len(splits["test"]) == 8_880


def test_the_first_name_splits_share_no_name_whatever_its_label():
    splits = split_items(first_names_by_sex(), seed=0)  # as the chapter splits them
    assert shared_groups(splits, lambda item: item[0]) == {}
    names = [name for items in splits.values() for name, _ in items]
    assert len(names) == len(set(names))
