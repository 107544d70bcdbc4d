"""helpers.corpora: the real data shipped inside packages, read offline."""

import pyphen
import pytest

from helpers import corpora


def test_census_lists_have_their_published_sizes_and_order():
    sizes = {which: len(corpora.census_names(which)) for which in corpora.CENSUS_LISTS}
    assert sizes == {"last": 88_799, "female": 4_275, "male": 1_219}
    last = corpora.census_names("last")
    assert last[0] == ("smith", 1.006)
    shares = [share for _, share in last]
    assert shares == sorted(shares, reverse=True)  # most common first
    assert all(name.isalpha() and name.islower() for name, _ in last)


def test_first_names_are_distinct_and_labelled_by_the_larger_share():
    labelled = dict(corpora.first_names_by_sex())
    female, male = dict(corpora.census_names("female")), dict(corpora.census_names("male"))
    assert set(labelled) == set(female) | set(male)
    assert len(labelled) == len(female) + len(male) - len(set(female) & set(male))
    for name, label in labelled.items():
        if name not in male:
            assert label == "female"
        elif name not in female:
            assert label == "male"
        else:
            assert label == ("female" if female[name] >= male[name] else "male")
    assert labelled["mary"] == "female" and labelled["james"] == "male"


def test_english_words_are_sorted_lowercase_letters_within_the_lengths():
    words = corpora.english_words(min_length=4, max_length=6)
    assert words == sorted(set(words))
    assert len(words) > 10_000
    assert all(w.isascii() and w.isalpha() and w.islower() and 4 <= len(w) <= 6 for w in words)
    assert "word" in words and "meaning" not in words


def test_hyphenation_labels_mark_the_letter_before_each_break():
    words = corpora.english_words(min_length=4)[::97]
    dictionary = pyphen.Pyphen(lang="en_US")
    for word, labels in zip(words, corpora.hyphenation_labels(words)):
        assert len(labels) == len(word)
        rebuilt = "".join(c + ("-" if label else "") for c, label in zip(word, labels))
        assert rebuilt == dictionary.inserted(word) == corpora.hyphenate(word)
        assert labels[-1] == 0


@pytest.mark.parametrize(
    "call, error, words",
    [
        (lambda: corpora.census_names("first"), ValueError, "which"),
        (lambda: corpora.english_words(min_length=0), ValueError, "min_length"),
        (lambda: corpora.english_words(min_length=5, max_length=4), ValueError, "max_length"),
        (lambda: corpora.hyphenate("Hello"), ValueError, "lower-case"),
        (lambda: corpora.hyphenate(3), TypeError, "word"),
        (lambda: corpora.hyphenation_labels("word"), TypeError, "list of strings"),
        (lambda: corpora.hyphenation_labels(["word"], language="xx_XX"), ValueError, "language"),
    ],
)
def test_corpora_reject_bad_input_clearly(call, error, words):
    with pytest.raises(error, match=words):
        call()
