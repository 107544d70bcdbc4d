"""helpers.ngram: interpolated Kneser-Ney, checked by hand, by normalisation and against nltk.

The expected values are computed in the tests themselves: fractions worked out
by hand on a two-name corpus, the continuation counts recounted by brute force,
and nltk's ``KneserNeyInterpolated`` (where it defines the same quantities;
the differences are stated in ``test_agrees_with_nltk_where_both_define_the_same_terms``).
"""

import itertools
import math
import random
from collections import Counter
from fractions import Fraction

import pytest

from helpers.ngram import KneserNeyModel, modified_discounts
from helpers.text import BOS, EOS, Vocab

NAMES = [
    "smith",
    "smyth",
    "li",
    "lee",
    "johnson",
    "jonson",
    "ng",
    "garcia",
    "o",
    "williamson",
    "willis",
    "ellis",
    "ellison",
    "mill",
    "miller",
    "millson",
]


@pytest.fixture
def vocab():
    return Vocab(NAMES)


def contexts_to_check(model, rng, extra=30):
    """Every context seen at the model's order, plus random ones (mostly never seen)."""
    n = model.order - 1
    seen = {gram[:-1] for gram in model.adjusted_counts(model.order)}
    letters = sorted(set("".join(NAMES)))
    pool = letters + [BOS]
    unseen = {tuple(rng.choice(pool) for _ in range(n)) for _ in range(extra)}
    return seen | unseen | {(BOS,) * n}


@pytest.mark.parametrize("order", [1, 2, 3, 4])
@pytest.mark.parametrize("discount", [0.1, 0.75, 1.0, "modified"])
def test_every_context_distribution_sums_to_one_over_the_outcomes(vocab, order, discount):
    model = KneserNeyModel(order, vocab, discount=discount).fit(NAMES)
    assert EOS in model.outcomes and BOS not in model.outcomes
    for context in contexts_to_check(model, random.Random(order)):
        distribution = model.distribution(context)
        assert set(distribution) == set(model.outcomes)
        assert all(p > 0 for p in distribution.values())  # nothing is impossible
        assert abs(sum(distribution.values()) - 1) < 1e-12, context


def test_a_bigram_model_by_hand():
    # Two names, "ab" and "b"; outcomes a, b, <eos>: K = 3; D = 1/2.
    vocab = Vocab(["ab", "b"])
    model = KneserNeyModel(2, vocab, discount=0.5).fit(["ab", "b"])
    d, third = Fraction(1, 2), Fraction(1, 3)
    # Bigrams (plain counts, the top order): <bos>a 1, ab 1, b<eos> 2, <bos>b 1.
    # Unigram continuation counts: a after {<bos>} = 1, b after {a, <bos>} = 2,
    # <eos> after {b} = 1; total 4, three distinct tokens.
    unigram = {
        "a": (1 - d) / 4 + d * 3 / 4 * third,
        "b": (2 - d) / 4 + d * 3 / 4 * third,
        EOS: (1 - d) / 4 + d * 3 / 4 * third,
    }
    assert sum(unigram.values()) == 1
    # context <bos>: a 1, b 1 (A = 2, two distinct): P = (c - D)/2 + D*2/2 * unigram
    expected = {
        ((BOS,), "a"): (1 - d) / 2 + d * unigram["a"],
        ((BOS,), "b"): (1 - d) / 2 + d * unigram["b"],
        ((BOS,), EOS): d * unigram[EOS],
        # context b: only <eos>, twice (A = 2, one distinct)
        (("b",), EOS): (2 - d) / 2 + d / 2 * unigram[EOS],
        (("b",), "a"): d / 2 * unigram["a"],
        # context a: only b, once
        (("a",), "b"): (1 - d) + d * unigram["b"],
        (("a",), EOS): d * unigram[EOS],
    }
    for (context, token), probability in expected.items():
        assert model.probability(context, token) == pytest.approx(float(probability), abs=1e-15)
    # perplexity of "ba": P(b | <bos>) P(a | b) P(<eos> | a), over 3 predicted tokens
    product = expected[((BOS,), "b")] * expected[(("b",), "a")] * expected[(("a",), EOS)]
    assert model.perplexity(["ba"]) == pytest.approx(float(product) ** (-1 / 3), rel=1e-12)


def test_the_unigram_level_is_the_continuation_unigram_mixed_with_uniform(vocab):
    model = KneserNeyModel(2, vocab, discount=0.5).fit(NAMES)
    # brute force: after how many distinct tokens does each token occur?
    before = {}
    for name in NAMES:
        tokens = [BOS, *name, EOS]
        for previous, token in zip(tokens, tokens[1:]):
            before.setdefault(token, set()).add(previous)
    total = sum(len(s) for s in before.values())
    K = len(model.outcomes)
    for token in model.outcomes:
        count = len(before.get(token, ()))
        expected = max(count - 0.5, 0) / total + 0.5 * len(before) / total / K
        first_level = model.explain(("a",), token)[0]
        assert first_level["probability"] == pytest.approx(expected, rel=1e-12)
    # an order-1 model has no higher order to serve: its unigram counts are plain frequencies
    model.order = 1
    frequencies = Counter(token for name in NAMES for token in [*name, EOS])
    total = sum(frequencies.values())
    for token in model.outcomes:
        expected = max(frequencies[token] - 0.5, 0) / total + 0.5 * len(frequencies) / total / K
        assert model.probability((), token) == pytest.approx(expected, rel=1e-12)


def brute_force_probability(names, order, discount, context, token, K):
    """Interpolated Kneser-Ney written out from the definitions, with lists and sets."""
    streams = [[BOS] * (order - 1) + list(name) + [EOS] for name in names]
    grams = {
        k: [tuple(s[i - k + 1 : i + 1]) for s in streams for i in range(order - 1, len(s))]
        for k in range(1, order + 1)
    }

    def adjusted(k, gram):
        if k == order or gram[0] == BOS:
            return grams[k].count(gram)
        return len({g[0] for g in grams[k + 1] if g[1:] == gram})

    p = 1 / K
    full = (*context, token)
    for k in range(1, order + 1):
        h = full[len(full) - k : -1]
        followers = {g[-1] for g in grams[k] if g[:-1] == h}
        if not followers:
            continue
        counts = {w: adjusted(k, (*h, w)) for w in followers}
        total = sum(counts.values())
        p = max(counts.get(token, 0) - discount, 0) / total + discount * len(followers) / total * p
    return p


@pytest.mark.parametrize("order", [2, 3, 4])
def test_agrees_with_the_definitions_written_out_by_brute_force(vocab, order):
    model = KneserNeyModel(order, vocab, discount=0.7).fit(NAMES)
    rng = random.Random(0)
    for context in sorted(contexts_to_check(model, rng, extra=10))[:40]:
        for token in model.outcomes:
            expected = brute_force_probability(
                NAMES, order, 0.7, context, token, len(model.outcomes)
            )
            assert model.probability(context, token) == pytest.approx(expected, rel=1e-12)


def test_a_lower_order_of_a_fitted_model_is_the_model_fitted_at_that_order(vocab):
    high = KneserNeyModel(5, vocab).fit(NAMES)
    for order in (1, 2, 3, 4):
        high.order = order
        low = KneserNeyModel(order, vocab).fit(NAMES)
        for context in contexts_to_check(low, random.Random(order), extra=5):
            for token in low.outcomes:
                assert high.probability(context, token) == low.probability(context, token)
        assert high.perplexity(NAMES[:5]) == low.perplexity(NAMES[:5])


def test_modified_discounts_follow_chen_and_goodman():
    # n1 = 4, n2 = 2, n3 = 2, n4 = 1 -> Y = 4 / 8 = 1/2
    counts = Counter(
        {"a": 1, "b": 1, "c": 1, "d": 1, "e": 2, "f": 2, "g": 3, "h": 3, "i": 4, "j": 9}
    )
    d1, d2, d3 = modified_discounts(counts)
    assert d1 == pytest.approx(1 - 2 * 0.5 * 2 / 4)
    assert d2 == pytest.approx(2 - 3 * 0.5 * 2 / 2)
    assert d3 == pytest.approx(3 - 4 * 0.5 * 1 / 2)
    assert modified_discounts(Counter({"a": 1, "b": 2})) == (0.5, 1.0, 1.5)  # too little data


def test_modified_uses_three_discounts_by_count(vocab):
    model = KneserNeyModel(3, vocab, discount="modified").fit(NAMES)
    for level in (1, 2, 3):
        d = model.discounts(level)
        assert d == modified_discounts(model.adjusted_counts(level))
        assert 0 <= d[0] <= 1 and 0 <= d[1] <= 2 and 0 <= d[2] <= 3
    model.discount = 0.4
    assert model.discounts(2) == (0.4, 0.4, 0.4)


def test_explain_builds_the_probability_level_by_level(vocab):
    model = KneserNeyModel(4, vocab).fit(NAMES)
    steps = model.explain(("m", "i", "l"), "l")
    assert [s["level"] for s in steps] == [1, 2, 3, 4]
    assert [s["context"] for s in steps] == [(), ("l",), ("i", "l"), ("m", "i", "l")]
    p = 1 / len(model.outcomes)
    for step in steps:
        p = step["alpha"] + step["gamma"] * p
        assert step["probability"] == pytest.approx(p, rel=1e-12)
    assert steps[-1]["probability"] == pytest.approx(model.probability(("m", "i", "l"), "l"))
    assert steps[-1]["count"] == 3  # mill, miller, millson: plain counts at the top order
    assert steps[2]["count"] == 2  # "ill" after m and w (willis): a continuation count
    unseen = model.explain(("y", "y", "y"), "a")  # a context never seen passes everything down
    assert unseen[-1]["total"] == 0 and unseen[-1]["gamma"] == 1.0


def test_perplexity_is_the_exponential_of_the_mean_negative_log_probability(vocab):
    model = KneserNeyModel(3, vocab).fit(NAMES[:10])
    texts = NAMES[10:]
    logs = []
    for name in texts:
        tokens = [BOS, BOS, *name, EOS]
        logs += [
            math.log(model.probability(tuple(tokens[i - 2 : i]), tokens[i]))
            for i in range(2, len(tokens))
        ]
    assert model.nll(texts) == (pytest.approx(-sum(logs) / len(logs), rel=1e-12), len(logs))
    assert model.perplexity(texts) == pytest.approx(math.exp(-sum(logs) / len(logs)), rel=1e-12)


def test_agrees_with_nltk_where_both_define_the_same_terms(vocab):
    """nltk.lm.KneserNeyInterpolated (3.9+), fed the same n-gram counts.

    What nltk computes, read from its source: at every level above the first,
    ``alpha = max(a(h, w) - D, 0) / A(h)`` and ``gamma = D * N(h) / A(h)``,
    with plain counts at the top order and continuation counts below, one
    discount D for all orders; the same as here. It differs in two places, so
    those are not compared: its lowest level is the continuation unigram
    without a discount and without the uniform distribution below it (a token
    never seen gets probability 0), and it gives the n-grams that start with
    ``<bos>`` continuation counts too (each is 1: only ``<bos>`` precedes them).
    """
    nltk_lm = pytest.importorskip("nltk.lm")
    order, discount = 3, 0.6
    model = KneserNeyModel(order, vocab, discount=discount).fit(NAMES)
    reference = nltk_lm.KneserNeyInterpolated(order, discount=discount)
    everygrams = []
    for name in NAMES:
        tokens = [BOS] * (order - 1) + list(name) + [EOS]
        everygrams.append(
            [
                tuple(tokens[i - k + 1 : i + 1])
                for i in range(order - 1, len(tokens))
                for k in range(1, order + 1)
            ]
        )
    reference.fit(everygrams, vocabulary_text=model.outcomes + [BOS])
    compared = 0
    for level in range(2, order + 1):
        contexts = {gram[:-1] for gram in model.adjusted_counts(level)}
        for context, token in itertools.product(sorted(contexts), model.outcomes):
            if context[0] == BOS and level < order:
                continue  # the <bos> convention differs (see above)
            ours = model.explain((BOS,) * (order - level) + context, token)[level - 1]
            alpha, gamma = reference.estimator.alpha_gamma(token, context)
            assert ours["alpha"] == pytest.approx(alpha, rel=1e-12, abs=1e-15)
            assert ours["gamma"] == pytest.approx(gamma, rel=1e-12)
            compared += 1
    assert compared > 100
    # the first level: nltk's continuation unigram is our adjusted count over its total
    unigram = model.adjusted_counts(1)
    total = sum(unigram.values())
    for token in model.outcomes:
        assert reference.estimator.unigram_score(token) == pytest.approx(
            unigram.get((token,), 0) / total, rel=1e-12
        )


def test_bad_arguments_are_named(vocab):
    with pytest.raises(ValueError, match="order"):
        KneserNeyModel(0, vocab)
    with pytest.raises(TypeError, match="vocab"):
        KneserNeyModel(2, ["a", "b"])
    with pytest.raises(ValueError, match="level='char'"):
        KneserNeyModel(2, Vocab(["a b"], level="word"))
    for discount in (0, -0.5, 1.5, "kneser", True, math.nan):
        with pytest.raises(ValueError, match="discount"):
            KneserNeyModel(2, vocab, discount=discount)
    model = KneserNeyModel(3, vocab)
    with pytest.raises(ValueError, match="call fit"):
        model.perplexity(NAMES)
    model.fit(NAMES)
    with pytest.raises(ValueError, match="at most 3"):
        model.order = 4
    with pytest.raises(ValueError, match="context must be a tuple of order - 1 = 2"):
        model.probability(("a",), "b")
    with pytest.raises(ValueError, match="context must hold"):
        model.probability(("a", "Q"), "b")
    with pytest.raises(ValueError, match="token must be one of"):
        model.probability(("a", "c"), BOS)
    with pytest.raises(ValueError, match=r"texts\[1\] = 'a!' holds \['!'\]"):
        model.perplexity(["ac", "a!"])
    assert "order=3" in repr(model) and "modified" in repr(model)
