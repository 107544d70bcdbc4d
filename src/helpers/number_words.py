"""A translation task that needs no download: numbers written out in words, to their digits.

``num2words`` (the library behind many text-to-speech front ends) writes a
number in words in dozens of languages. Reading the words back into digits is
a small translation problem with everything a real one has: source and target
of different lengths, a vocabulary per side, word order that differs between
languages (French ``quatre-vingt-dix-sept`` is 4 x 20 + 17 = 97, Spanish
``noventa y siete`` reads tens then units), and an alignment a reader can check
(the digits of the thousands come from the words before ``thousand``).

- :func:`number_in_words`: one number as space-separated lower-case words;
- :func:`number_translation_splits`: fixed train/validation/test splits of
  ``(words, digits)`` pairs, split by number (a test number is never seen in
  training, in any language), as many numbers of each digit count as exist up
  to ``per_digit_count``.

The pairs feed :func:`helpers.seq2seq.make_translation_loader` with a word
vocabulary for the source and a character vocabulary for the digits.
"""

import numbers
import re

import numpy as np

from helpers.text import split_items
from helpers.validation import _describe, check_positive_int, check_seed

__all__ = ["LANGUAGES", "number_in_words", "number_translation_splits"]

#: The languages of the task: written with spaces and hyphens between the
#: words of a number (German, Italian or Dutch glue them into one word).
LANGUAGES = ("en", "fr", "es", "pt")

_DICTIONARY_END = 100
_SEPARATORS = re.compile(r"[\s,\-]+")


def _check_language(language):
    if language not in LANGUAGES:
        raise ValueError(f"language must be one of {LANGUAGES}, got {language!r}")
    return language


def number_in_words(number, language):
    """``number`` (an int >= 1) in words, lower case, one space between words.

    Hyphens and commas become spaces, so ``"twenty-one"`` is two words: the
    vocabulary then holds ``twenty`` and ``one`` once each, not every compound.

    Example::

        number_in_words(1997, "fr")   # 'mille neuf cent quatre vingt dix sept'
    """
    from num2words import num2words  # imported here: only this task needs it

    if isinstance(number, bool) or not isinstance(number, numbers.Integral) or number < 1:
        raise ValueError(f"number must be an int >= 1, got {_describe(number)}")
    words = num2words(int(number), lang=_check_language(language))
    return " ".join(_SEPARATORS.split(words.lower())).strip()


def _draw(rng, digits, count, zero_probability):
    """``count`` numbers of ``digits`` digits: a first digit 1..9, then each digit 0 with
    probability ``zero_probability`` and 1..9 otherwise (0.1: uniform over all such numbers)."""
    first = rng.integers(1, 10, count)
    rest = np.where(
        rng.random((count, digits - 1)) < zero_probability,
        0,
        rng.integers(1, 10, (count, digits - 1)),
    )
    places = 10 ** np.arange(digits - 1, -1, -1, dtype=np.int64)
    return np.column_stack([first, rest]).astype(np.int64) @ places


def number_translation_splits(
    *, per_digit_count, max_digits=9, zero_probability=0.1, languages=LANGUAGES, seed=0
):
    """Train/validation/test pairs ``(words, digits)``, split by number.

    For each digit count d = 1 .. ``max_digits`` the numbers are drawn without
    repetition from ``10 ** (d - 1) .. 10 ** d - 1``: ``per_digit_count`` of
    them, or all there are when fewer exist (9 one-digit numbers, 90 two-digit
    ones). After its first digit, each digit of a drawn number is 0 with
    probability ``zero_probability`` (0.1 draws uniformly; more makes numbers
    rounder, with empty groups such as the thousands of 2,000,005). The numbers 1 .. 99 are the task's dictionary, every longer number is
    made of their words, and they all go to training; the numbers from 100 up
    are split 80/10/10. Each number is written in every language of
    ``languages``, and all its versions go to the same split.

    Args:
        per_digit_count: numbers drawn per digit count (int >= 1).
        max_digits: the longest numbers, in digits (3 .. 12: the validation and
            test numbers have 3 digits or more).
        zero_probability: a number in [0, 1).
        languages: a tuple of codes from :data:`LANGUAGES`.
        seed: int >= 0; the same seed gives the same numbers and splits.

    Returns:
        dict ``{"train": [...], "validation": [...], "test": [...]}`` of
        ``(words, digits)`` string pairs, e.g. ``("ninety seven", "97")``.
    """
    per_digit_count = check_positive_int("per_digit_count", per_digit_count)
    max_digits = check_positive_int("max_digits", max_digits)
    if max_digits > 12:
        raise ValueError(f"max_digits must be at most 12, got {max_digits}")
    if isinstance(languages, str) or not isinstance(languages, (tuple, list)) or not languages:
        raise TypeError(
            f"languages must be a non-empty tuple of codes from {LANGUAGES}, "
            f"got {_describe(languages)}"
        )
    for language in languages:
        _check_language(language)
    if len(set(languages)) != len(languages):
        raise ValueError(f"languages must not repeat, got {languages!r}")
    seed = check_seed("seed", seed)
    if (
        isinstance(zero_probability, bool)
        or not isinstance(zero_probability, numbers.Real)
        or not 0 <= zero_probability < 1
    ):
        raise ValueError(
            f"zero_probability must be a number in [0, 1), got {_describe(zero_probability)}"
        )

    rng = np.random.default_rng(int(seed))
    chosen = []
    for digits in range(1, max_digits + 1):
        low, high = 10 ** (digits - 1), 10**digits
        if high - low <= per_digit_count:
            chosen.extend(range(low, high))
        else:
            # rejection keeps this cheap for 12-digit ranges, where a permutation is not
            drawn = set()
            while len(drawn) < per_digit_count:
                missing = per_digit_count - len(drawn)
                drawn.update(int(n) for n in _draw(rng, digits, missing, zero_probability))
            chosen.extend(sorted(drawn))
    # 1 .. 99 are the dictionary of the task (every longer number is built from
    # their words), so all of them are trained on, as a language course starts
    # with them; the held-out splits test numbers of 100 and more.
    held_out = [n for n in chosen if n >= _DICTIONARY_END]
    try:
        splits = split_items(held_out, seed=int(seed))
    except ValueError:  # too few numbers for each split to get one
        raise ValueError(
            f"per_digit_count = {per_digit_count} and max_digits = {max_digits} give "
            f"{len(held_out)} numbers of 100 or more, too few to split 80/10/10 (1 .. 99 "
            f"always go to training); raise max_digits or per_digit_count"
        ) from None
    splits["train"] = [n for n in chosen if n < _DICTIONARY_END] + splits["train"]
    return {
        name: [(number_in_words(n, language), str(n)) for n in numbers_ for language in languages]
        for name, numbers_ in splits.items()
    }
