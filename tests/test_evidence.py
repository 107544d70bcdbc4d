"""helpers.evidence against scipy and statsmodels on known inputs, and the claim checker."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from statsmodels.stats.weightstats import DescrStatsW

from helpers.evidence import (
    ClaimNotSupported,
    Difference,
    bootstrap_difference,
    bootstrap_interval,
    expect,
    glue,
    paired_difference,
    summarize,
)

SEED_SCORES = [0.839, 0.95, 0.71, 0.88, 0.82]


def test_summary_matches_statsmodels_t_interval():
    summary = summarize(SEED_SCORES)
    reference = DescrStatsW(np.array(SEED_SCORES))
    low, high = reference.tconfint_mean(alpha=0.05)
    assert summary.mean == pytest.approx(reference.mean)
    assert summary.std == pytest.approx(reference.std_mean * math.sqrt(5))
    assert summary.sem == pytest.approx(reference.std_mean)
    assert (summary.low, summary.high) == pytest.approx((low, high))
    assert summary.n == 5 and summary.unit == "seeds"


def test_a_99_percent_interval_is_wider_and_matches_statsmodels():
    wide = summarize(SEED_SCORES, confidence=0.99)
    low, high = DescrStatsW(np.array(SEED_SCORES)).tconfint_mean(alpha=0.01)
    assert (wide.low, wide.high) == pytest.approx((low, high))
    narrow = summarize(SEED_SCORES)
    assert wide.low < narrow.low and wide.high > narrow.high


def test_summary_text_says_what_n_counts():
    text = summarize([1.0, 2.0, 3.0], unit="items").format()
    assert text.startswith("2.000 ± 1.000 (95% CI") and text.endswith("3 items)")


def test_paired_difference_matches_scipy_paired_t_test():
    a = [0.181, 0.177, 0.175, 0.190, 0.170]
    b = [0.160, 0.171, 0.150, 0.181, 0.158]
    difference = paired_difference(a, b, names=("RNN", "GRU"))
    result = stats.ttest_rel(a, b)
    interval = result.confidence_interval(0.95)
    assert difference.mean == pytest.approx(np.mean(np.subtract(a, b)))
    assert (difference.low, difference.high) == pytest.approx((interval.low, interval.high))
    assert difference.n == 5 and difference.method == "paired t"
    # the interval excludes zero exactly when the two-sided test rejects at 5%
    assert difference.excludes_zero == (result.pvalue < 0.05)


def test_pairing_narrows_the_interval_when_seeds_share_difficulty():
    rng = np.random.default_rng(0)
    difficulty = rng.normal(0, 1, size=6)
    a = difficulty + 0.3 + rng.normal(0, 0.05, size=6)
    b = difficulty + rng.normal(0, 0.05, size=6)
    paired = paired_difference(a, b)
    unpaired = stats.ttest_ind(a, b).confidence_interval(0.95)
    assert paired.high - paired.low < (unpaired.high - unpaired.low) / 5
    assert paired.excludes_zero and not (unpaired.low > 0 or unpaired.high < 0)


@pytest.mark.parametrize(
    "a, b, lower_is_better, verdict",
    [
        ([1.0, 1.1, 1.2], [2.0, 2.2, 2.1], True, "A is better"),
        ([1.0, 1.1, 1.2], [2.0, 2.2, 2.1], False, "B is better"),
        ([3.0, 3.1, 3.3], [2.0, 2.2, 2.1], True, "B is better"),
        ([1.0, 2.0, 1.5], [1.5, 1.4, 1.6], True, "no measurable difference"),
    ],
)
def test_verdict_follows_the_interval(a, b, lower_is_better, verdict):
    assert paired_difference(a, b).verdict(lower_is_better=lower_is_better) == verdict


def test_identical_differences_give_a_point_interval():
    difference = paired_difference([2.0, 3.0, 4.0], [1.0, 2.0, 3.0])
    assert difference.low == difference.high == difference.mean == 1.0
    assert difference.verdict(lower_is_better=False) == "A is better"


def test_bootstrap_difference_agrees_with_scipy_and_the_normal_approximation():
    rng = np.random.default_rng(1)
    a = (rng.random(2000) < 0.80).astype(float)
    b = (rng.random(2000) < 0.75).astype(float)
    difference = bootstrap_difference(a, b, names=("GRU", "n-gram"), seed=3)
    reference = stats.bootstrap(
        (a - b,),
        np.mean,
        confidence_level=0.95,
        n_resamples=2000,
        method="percentile",
        rng=np.random.default_rng(3),
    )
    assert (difference.low, difference.high) == pytest.approx(
        (reference.confidence_interval.low, reference.confidence_interval.high)
    )
    se = np.std(a - b, ddof=1) / math.sqrt(len(a))
    assert difference.low == pytest.approx(difference.mean - 1.96 * se, abs=0.006)
    assert difference.n == 2000 and difference.unit == "items"
    assert difference.method == "paired bootstrap" and difference.differences == ()


def test_bootstrap_interval_of_an_accuracy_covers_the_wald_interval():
    rng = np.random.default_rng(2)
    right = (rng.random(1000) < 0.9).astype(float)
    summary = bootstrap_interval(right, seed=0)
    p = right.mean()
    se = math.sqrt(p * (1 - p) / len(right))
    assert summary.mean == pytest.approx(p)
    assert summary.low == pytest.approx(p - 1.96 * se, abs=0.004)
    assert summary.high == pytest.approx(p + 1.96 * se, abs=0.004)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(-1e3, 1e3), min_size=2, max_size=12))
def test_interval_contains_the_mean(values):
    summary = summarize(values)
    assert summary.low <= summary.mean + 1e-9 and summary.mean <= summary.high + 1e-9


@pytest.mark.parametrize(
    "values, error, message",
    [
        ([1.0], ValueError, "at least 2 values"),
        ([1.0, float("nan")], ValueError, "diverged"),
        ("0.5", TypeError, "sequence of numbers"),
        ([[1.0, 2.0], [3.0, 4.0]], ValueError, "one-dimensional"),
        ([1.0, "x"], TypeError, "sequence of numbers"),
    ],
)
def test_summarize_names_bad_values(values, error, message):
    with pytest.raises(error, match=message):
        summarize(values)


def test_paired_inputs_must_have_the_same_length_and_good_options():
    with pytest.raises(ValueError, match="paired.*3 values in a and 2 in b"):
        paired_difference([1, 2, 3], [1, 2])
    with pytest.raises(ValueError, match="confidence must be a number in"):
        paired_difference([1, 2], [1, 3], confidence=95)
    with pytest.raises(TypeError, match="names must be two strings"):
        paired_difference([1, 2], [1, 3], names="AB")
    with pytest.raises(TypeError, match="lower_is_better must be True or False"):
        paired_difference([1, 2], [1, 3]).verdict(lower_is_better="yes")
    with pytest.raises(ValueError, match="n_resamples must be an int >= 100"):
        bootstrap_difference([1, 2], [1, 3], n_resamples=10)
    with pytest.raises(ValueError, match=r"seed must be an int in \[0, 2\*\*32\), got int -1"):
        bootstrap_interval([1, 2], seed=-1)


def test_expect_prints_a_supported_claim(capsys):
    expect("the GRU beats the bigram", 3.1 < 4.2, gru=3.1, bigram=4.2)
    assert capsys.readouterr().out == "✓ the GRU beats the bigram (gru = 3.1000; bigram = 4.2000)\n"
    expect("quietly true", True, quiet=True)
    assert capsys.readouterr().out == ""


def test_expect_raises_with_the_numbers_on_an_unsupported_claim():
    with pytest.raises(
        ClaimNotSupported,
        match=r"the GRU beats the 6-gram.*gru = 8.9000; "
        r"six_gram = 8.4000",
    ):
        expect("the GRU beats the 6-gram", 8.9 < 8.4, gru=8.9, six_gram=8.4)
    assert issubclass(ClaimNotSupported, AssertionError)


def test_expect_from_a_difference_verdict():
    difference = paired_difference([1.0, 2.0, 1.5], [1.5, 1.4, 1.6], names=("GRU", "LSTM"))
    with pytest.raises(ClaimNotSupported, match="GRU - LSTM"):
        expect(
            "the LSTM beats the GRU",
            difference.verdict(lower_is_better=True) == "LSTM is better",
            difference=str(difference),
        )


@pytest.mark.parametrize("holds", [1, "yes", None])
def test_expect_wants_a_boolean(holds):
    with pytest.raises(TypeError, match="holds must be True or False"):
        expect("a claim", holds)


def test_expect_wants_a_sentence():
    with pytest.raises(TypeError, match="claim must be the sentence"):
        expect("", True)


def test_glue_returns_the_value_and_checks_the_name():
    assert glue("gru_perplexity", 8.9) == 8.9
    with pytest.raises(ValueError, match="identifier-like"):
        glue("gru perplexity", 8.9)


def test_glue_works_without_myst_nb(monkeypatch):
    import sys

    monkeypatch.setitem(sys.modules, "myst_nb", None)  # what Colab has: no myst-nb
    assert glue("value", 3) == 3


def test_difference_is_frozen():
    difference = paired_difference([1.0, 2.0], [0.0, 1.5])
    assert isinstance(difference, Difference)
    with pytest.raises(AttributeError):
        difference.mean = 0.0
