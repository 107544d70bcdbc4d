"""Real text that ships inside Python packages, so the book never downloads data.

- :func:`census_names`: the name lists of the 1990 US census, as shipped by
  the ``names`` package: 88,799 surnames, 4,275 female and 1,219 male first
  names, each with its share of the population.
- :func:`first_names_by_sex`: every first name once, labelled with the list
  (female or male) on which it is more common: a sequence classification task.
- :func:`english_words`: the English word list of the GCIDE dictionary, as
  shipped by the ``english-words`` package.
- :func:`hyphenate` and :func:`hyphenation_labels`: where TeX's hyphenation
  patterns (Liang 1983, through the ``pyphen`` package) allow a line break in
  a word, as one 0/1 label per character: a sequence labelling task.
- :func:`hyphenation_splits`: the book's hyphenation data set, a fixed sample
  of words with their labels, split so that words beginning with the same
  :data:`HYPHENATION_PREFIX` letters never sit in two splits.

Names and words are lower-cased ASCII letters.
"""

import re

from helpers.validation import _describe, check_choice, check_positive_int, check_seed

__all__ = [
    "CENSUS_LISTS",
    "census_names",
    "first_names_by_sex",
    "english_words",
    "hyphenate",
    "hyphenation_labels",
    "HYPHENATION_PREFIX",
    "hyphenation_group",
    "hyphenation_splits",
]

#: The lists of :func:`census_names`.
CENSUS_LISTS = ("last", "female", "male")

_FILE_KEYS = {"last": "last", "female": "first:female", "male": "first:male"}
_LETTERS = re.compile(r"[a-z]+")


def census_names(which):
    """The names of one census list, most common first, with their share of the population.

    Args:
        which: ``"last"`` (surnames), ``"female"`` or ``"male"`` (first names).

    Returns:
        list of ``(name, percent)`` pairs: ``name`` lower-case, ``percent`` the
        share of the population (in %) with that name, as the census rounded it
        (rare names have 0.0).
    """
    import names  # the census lists ship as package data of the `names` package

    check_choice("which", which, CENSUS_LISTS)
    entries = []
    with open(names.FILES[_FILE_KEYS[which]], encoding="ascii") as lines:
        for line in lines:
            name, percent, _cumulative, _rank = line.split()
            entries.append((name.lower(), float(percent)))
    return entries


def first_names_by_sex():
    """Every census first name once, labelled ``"female"`` or ``"male"``.

    331 first names are on both lists (JAMES is also a female name, MARY also a
    male one); each gets the label of the list on which its share is larger,
    which is what the census says about the name.

    Returns:
        list of ``(name, label)`` pairs, sorted by name.
    """
    shares = {"female": dict(census_names("female")), "male": dict(census_names("male"))}
    labelled = {}
    for name in set(shares["female"]) | set(shares["male"]):
        female, male = shares["female"].get(name, -1.0), shares["male"].get(name, -1.0)
        labelled[name] = "female" if female >= male else "male"
    return sorted(labelled.items())


def english_words(*, min_length=1, max_length=None):
    """The words of the GCIDE English dictionary made of the letters a-z only, sorted.

    Args:
        min_length, max_length: keep words with this many letters (ints >= 1;
            ``max_length=None`` for no upper bound).

    Returns:
        list of distinct lower-case words.
    """
    import english_words as words  # the word lists ship as package data

    min_length = check_positive_int("min_length", min_length)
    if max_length is not None and check_positive_int("max_length", max_length) < min_length:
        raise ValueError(f"max_length = {max_length} is below min_length = {min_length}")
    longest = max_length or float("inf")
    return sorted(
        word
        for word in words.get_english_words_set(["gcide"], alpha=True, lower=True)
        if _LETTERS.fullmatch(word) and min_length <= len(word) <= longest
    )


def _check_word(word):
    if not isinstance(word, str):
        raise TypeError(f"word must be a str, got {_describe(word)}")
    if not _LETTERS.fullmatch(word):
        raise ValueError(f"word must be lower-case letters a-z only, got {word!r}")
    return word


def _hyphenator(language):
    import pyphen  # TeX hyphenation patterns for many languages, as package data

    if language not in pyphen.LANGUAGES:
        raise ValueError(
            f"language must be one of pyphen's dictionaries such as 'en_US', 'de_DE', "
            f"'fr'; got {language!r}"
        )
    return pyphen.Pyphen(lang=language)


def hyphenate(word, *, language="en_US"):
    """``word`` with a hyphen at every point where the patterns allow a line break."""
    return _hyphenator(language).inserted(_check_word(word))


def hyphenation_labels(words, *, language="en_US"):
    """One 0/1 label per character: 1 where a line break may follow the character.

    ``hyphenation_labels(["meaning"])`` is ``[[0, 0, 0, 1, 0, 0, 0]]``
    (mean-ing). The labels are those of TeX's patterns as ``pyphen`` applies
    them, which never break before the second or after the next-to-last letter.

    Args:
        words: a list of lower-case words (letters a-z).
        language: a ``pyphen`` dictionary name.

    Returns:
        list of lists of ints, ``len(labels[i]) == len(words[i])``.
    """
    if isinstance(words, str) or not isinstance(words, (list, tuple)):
        raise TypeError(f"words must be a list of strings, got {_describe(words)}")
    hyphenator = _hyphenator(language)
    labels = []
    for word in words:
        _check_word(word)
        row = [0] * len(word)
        for position in hyphenator.positions(word):
            row[position - 1] = 1
        labels.append(row)
    return labels


#: Words that begin with the same this-many letters are one group of :func:`hyphenation_splits`.
HYPHENATION_PREFIX = 5


def hyphenation_group(word):
    """The group of ``word`` in :func:`hyphenation_splits`: its first :data:`HYPHENATION_PREFIX` letters.

    *hyphen*, *hyphenate* and *hyphenation* are one group, and so are *brood*
    and *broody*: a word whose hyphenation can be read off a near-duplicate
    in the training split would flatter any model on the test split.
    """
    return _check_word(word)[:HYPHENATION_PREFIX]


def hyphenation_splits(size=20_000, *, seed=0, min_length=4, max_length=15, language="en_US"):
    """The book's hyphenation task: a fixed sample of words and labels, split by prefix group.

    ``size`` words of ``min_length`` to ``max_length`` letters are drawn, without
    replacement, from :func:`english_words` with ``numpy.random.default_rng(seed)``;
    :func:`helpers.text.split_by_group` splits them 80/10/10 by
    :func:`hyphenation_group` with the same seed, so no test or validation word
    shares its first five letters with a training word
    (``helpers.text.shared_groups(splits, hyphenation_group)`` is empty).

    Returns:
        ``(words, labels)``: two dicts keyed by ``"train"``, ``"validation"``
        and ``"test"``, a list of words and the aligned list of their
        :func:`hyphenation_labels`.
    """
    import numpy as np

    from helpers.text import split_by_group

    size = check_positive_int("size", size)
    pool = english_words(min_length=min_length, max_length=max_length)
    if size > len(pool):
        raise ValueError(
            f"size = {size} is more than the {len(pool):,} words of "
            f"{min_length} to {max_length} letters"
        )
    seed = check_seed("seed", seed)
    sample = sorted(np.random.default_rng(seed).choice(pool, size=size, replace=False).tolist())
    splits = split_by_group(sample, hyphenation_group, seed=seed)
    labels = {name: hyphenation_labels(items, language=language) for name, items in splits.items()}
    return splits, labels
