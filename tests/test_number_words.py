"""helpers.number_words: numbers in words, and train/validation/test splits by number."""

import re
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers.number_words import LANGUAGES, number_in_words, number_translation_splits

# --- an independent reader of English number words, to check that the words say the digits

_SMALL = {
    word: value
    for value, word in enumerate(
        "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
        "fifteen sixteen seventeen eighteen nineteen".split()
    )
}
_TENS = {
    word: 10 * (value + 2)
    for value, word in enumerate("twenty thirty forty fifty sixty seventy eighty ninety".split())
}
_SCALES = {"thousand": 10**3, "million": 10**6, "billion": 10**9}


def read_english(words):
    total, group = 0, 0
    for word in words.split(" "):
        if word == "and":
            continue
        if word in _SMALL:
            group += _SMALL[word]
        elif word in _TENS:
            group += _TENS[word]
        elif word == "hundred":
            group *= 100
        elif word in _SCALES:
            total, group = total + group * _SCALES[word], 0
        else:
            raise ValueError(f"not an English number word: {word!r}")
    return total + group


def test_the_english_reader_reads_what_it_should():
    assert read_english("one hundred and five thousand two hundred and one") == 105201
    assert read_english("twelve billion seven") == 12_000_000_007


# --- number_in_words


@pytest.mark.parametrize(
    "number, language, words",
    [
        (21, "en", "twenty one"),
        (97, "en", "ninety seven"),
        (101, "en", "one hundred and one"),
        (
            1234567,
            "en",
            "one million two hundred and thirty four thousand five hundred and sixty seven",
        ),
        (97, "fr", "quatre vingt dix sept"),  # 4 x 20 + 17
        (71, "fr", "soixante et onze"),  # 60 + 11
        (21, "fr", "vingt et un"),
        (1997, "fr", "mille neuf cent quatre vingt dix sept"),
        (97, "es", "noventa y siete"),
        (1001, "es", "mil uno"),
        (3, "pt", "três"),
        (1000000, "pt", "um milhão"),
    ],
)
def test_known_numbers_in_words(number, language, words):
    assert number_in_words(number, language) == words


@settings(max_examples=80, deadline=None)
@given(number=st.integers(1, 10**12 - 1), language=st.sampled_from(LANGUAGES))
def test_words_are_lower_case_separated_by_single_spaces_without_hyphens_or_commas(
    number, language
):
    words = number_in_words(number, language)
    assert words and words == words.lower() == words.strip()
    assert "-" not in words and "," not in words
    assert "  " not in words and re.fullmatch(r"\S+( \S+)*", words)


@settings(max_examples=80, deadline=None)
@given(number=st.integers(1, 10**12 - 1))
def test_english_words_read_back_to_the_number(number):
    assert read_english(number_in_words(number, "en")) == number


@pytest.mark.parametrize("number", [0, -5, True, 2.0, "12", None])
def test_number_must_be_a_positive_int(number):
    with pytest.raises((TypeError, ValueError), match="number"):
        number_in_words(number, "en")


@pytest.mark.parametrize("language", ["de", "EN", "", None, ("en",)])
def test_language_must_be_one_of_the_task_languages(language):
    with pytest.raises(ValueError, match="language"):
        number_in_words(5, language)


# --- number_translation_splits

SMALL = dict(per_digit_count=20, max_digits=6)


@pytest.fixture(scope="module")
def splits():
    return number_translation_splits(**SMALL)


def numbers_of(pairs):
    return [int(digits) for _, digits in pairs]


def test_every_number_appears_once_per_language_in_one_split_only(splits):
    seen = {}
    for name, pairs in splits.items():
        counts = Counter(pairs)
        for number in set(numbers_of(pairs)):
            assert number not in seen, f"{number} is in {seen[number]} and {name}"
            seen[number] = name
            expected = Counter(
                (number_in_words(number, language), str(number)) for language in LANGUAGES
            )
            # (two languages may write a number the same way: compare as multisets)
            assert Counter({p: c for p, c in counts.items() if p[1] == str(number)}) == expected
        assert len(pairs) == len(LANGUAGES) * len(set(numbers_of(pairs)))


def test_targets_are_the_digits_that_the_words_say(splits):
    for pairs in splits.values():
        for _, digits in pairs:
            assert digits.isdigit() and digits == str(int(digits))  # no leading zeros
    english = number_translation_splits(**SMALL, languages=("en",))
    assert all(
        read_english(words) == int(digits) for pairs in english.values() for words, digits in pairs
    )


def test_numbers_per_digit_count_are_capped_by_how_many_exist(splits):
    by_digits = Counter(len(str(n)) for pairs in splits.values() for n in set(numbers_of(pairs)))
    assert by_digits == {1: 9, 2: 20, 3: 20, 4: 20, 5: 20, 6: 20}
    everything = number_translation_splits(per_digit_count=200, max_digits=3, languages=("en",))
    by_digits = Counter(len(d) for pairs in everything.values() for _, d in pairs)
    assert by_digits == {1: 9, 2: 90, 3: 200}


def test_small_numbers_train_and_the_rest_split_80_10_10(splits):
    train, validation, test = (
        set(numbers_of(splits[name])) for name in ("train", "validation", "test")
    )
    assert {n for n in train | validation | test if n < 100} <= train
    assert min(validation | test) >= 100
    large = [n for n in train | validation | test if n >= 100]
    assert len(large) == 4 * 20
    for held_out in (validation, test):
        assert abs(len(held_out) - 0.1 * len(large)) <= 1
    assert abs(len([n for n in train if n >= 100]) - 0.8 * len(large)) <= 1
    # every one of 1..9 is trained on, since all of them are drawn
    assert set(range(1, 10)) <= train


@pytest.mark.parametrize("max_digits", [3, 4, 7])
def test_max_digits_is_the_longest_number(max_digits):
    splits = number_translation_splits(per_digit_count=10, max_digits=max_digits, languages=("es",))
    lengths = {len(d) for pairs in splits.values() for _, d in pairs}
    assert lengths == set(range(1, max_digits + 1))


def test_twelve_digits_is_allowed():
    splits = number_translation_splits(per_digit_count=10, max_digits=12, languages=("en",))
    digits = [d for pairs in splits.values() for _, d in pairs]
    assert max(map(len, digits)) == 12
    assert all(read_english(w) == int(d) for pairs in splits.values() for w, d in pairs)


def test_the_same_seed_gives_the_same_splits_and_another_seed_others(splits):
    assert number_translation_splits(**SMALL) == splits
    assert number_translation_splits(**SMALL, seed=0) == splits
    other = number_translation_splits(**SMALL, seed=1)
    assert other != splits
    assert set(numbers_of(other["test"])) != set(numbers_of(splits["test"]))


def test_languages_choose_which_versions_are_written(splits):
    french = number_translation_splits(**SMALL, languages=("fr",))
    assert [d for _, d in french["test"]] == [d for _, d in splits["test"]][:: len(LANGUAGES)]
    assert all(w == number_in_words(int(d), "fr") for pairs in french.values() for w, d in pairs)


@pytest.mark.parametrize(
    "changes, error, name",
    [
        (dict(per_digit_count=0), ValueError, "per_digit_count"),
        (dict(per_digit_count=2.5), TypeError, "per_digit_count"),
        (dict(max_digits=13), ValueError, "max_digits"),
        (dict(max_digits=0), ValueError, "max_digits"),
        (dict(languages=("en", "en")), ValueError, "languages"),
        (dict(languages="en"), TypeError, "languages"),
        (dict(languages=()), TypeError, "languages"),
        (dict(languages=("en", "de")), ValueError, "language"),
        (dict(seed=-1), ValueError, r"seed must be an int in \[0, 2\*\*32\), got int -1"),
        (dict(seed=True), TypeError, r"seed must be an int in \[0, 2\*\*32\), got bool True"),
        (dict(seed=1.0), TypeError, r"seed must be an int in \[0, 2\*\*32\), got float 1.0"),
    ],
)
def test_bad_arguments_are_rejected_by_name(changes, error, name):
    arguments = dict(per_digit_count=5, max_digits=4) | changes
    with pytest.raises(error, match=name):
        number_translation_splits(**arguments)


@pytest.mark.parametrize("per_digit_count, max_digits", [(20, 1), (20, 2), (1, 3), (3, 3)])
def test_too_few_numbers_to_hold_out_is_an_error_that_names_the_arguments(
    per_digit_count, max_digits
):
    with pytest.raises(ValueError, match="per_digit_count.*max_digits|max_digits.*per_digit_count"):
        number_translation_splits(per_digit_count=per_digit_count, max_digits=max_digits)


def _zero_share(splits):
    """The share of zeros among the digits after the first, over every number once."""
    numbers = {digits for pairs in splits.values() for _, digits in pairs if len(digits) > 1}
    rest = "".join(n[1:] for n in numbers)
    return rest.count("0") / len(rest)


def test_zero_probability_sets_the_share_of_zero_digits():
    # 4..9-digit numbers are sampled (the shorter ones are all taken): their
    # digits after the first are 0 about as often as zero_probability says
    for probability in (0.1, 0.4):
        splits = number_translation_splits(
            per_digit_count=400,
            max_digits=9,
            languages=("en",),
            zero_probability=probability,
            seed=3,
        )
        sampled = {k: [(w, d) for w, d in v if len(d) >= 4] for k, v in splits.items()}
        assert abs(_zero_share(sampled) - probability) < 0.02


@pytest.mark.parametrize("bad", [-0.1, 1.0, 1.5, True, "0.3", None])
def test_zero_probability_must_be_a_number_in_zero_one(bad):
    with pytest.raises(ValueError, match="zero_probability"):
        number_translation_splits(per_digit_count=5, max_digits=4, zero_probability=bad)
