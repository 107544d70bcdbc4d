"""helpers.baselines: the character n-gram logistic regression and its choice of C."""

import random

import pytest

from helpers.baselines import char_ngram_classifier, choose_c


def words(rng, count, ending):
    """Random words of 3 to 7 letters that end in ``ending``."""
    letters = "bcdfghklmnprstv"
    return [
        "".join(rng.choice(letters) for _ in range(rng.randint(2, 6))) + ending
        for _ in range(count)
    ]


def test_learns_a_class_given_by_the_ending_which_letter_counts_cannot_see():
    # both classes use the letters a and o once each; only their order at the end differs
    rng = random.Random(0)
    texts = words(rng, 200, "ao") + words(rng, 200, "oa")
    labels = ["first"] * 200 + ["second"] * 200
    model = char_ngram_classifier(C=1.0).fit(texts, labels)
    test = words(rng, 50, "ao") + words(rng, 50, "oa")
    assert model.score(test, ["first"] * 50 + ["second"] * 50) == 1.0
    unigrams = char_ngram_classifier(C=1.0, ngram_range=(1, 1)).fit(texts, labels)
    assert unigrams.score(test, ["first"] * 50 + ["second"] * 50) < 0.75  # counts do not suffice


def test_marks_the_start_and_end_of_each_word():
    vectorizer = char_ngram_classifier(ngram_range=(2, 2)).steps[0][1]
    vectorizer.fit(["anna"])
    assert set(vectorizer.get_feature_names_out()) == {" a", "an", "nn", "na", "a "}


def test_choose_c_keeps_the_best_validation_accuracy_and_the_smaller_c_on_ties():
    rng = random.Random(1)
    train = words(rng, 100, "a") + words(rng, 100, "o")
    labels = ["a"] * 100 + ["o"] * 100
    validation = words(rng, 30, "a") + words(rng, 30, "o")
    model, scores = choose_c(
        train, labels, validation, ["a"] * 30 + ["o"] * 30, grid=(10.0, 1.0, 0.1)
    )
    assert list(scores) == [0.1, 1.0, 10.0]
    best = max(scores.values())
    assert model.steps[1][1].C == min(c for c, s in scores.items() if s == best)
    assert model.score(validation, ["a"] * 30 + ["o"] * 30) == best


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="C must be"):
        char_ngram_classifier(C=0)
    with pytest.raises(ValueError, match="ngram_range"):
        char_ngram_classifier(ngram_range=(0, 4))
    with pytest.raises(ValueError, match="train_labels must have one label per text"):
        choose_c(["ab", "cd"], ["x"], ["ab"], ["x"])
    with pytest.raises(ValueError, match="grid"):
        choose_c(["ab", "cd"], ["x", "y"], ["ab"], ["x"], grid=())
