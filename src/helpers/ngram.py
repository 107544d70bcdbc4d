"""Interpolated Kneser-Ney: the strongest simple baseline for a character language model.

An add-alpha n-gram model (:class:`helpers.language_model.NgramModel`) gives
every unseen continuation of a context the same small probability, and it
cannot use what shorter contexts know. Kneser-Ney smoothing fixes both
(Kneser and Ney 1995; Chen and Goodman 1999, who compared the smoothing
methods of their time and found interpolated, modified Kneser-Ney the best):

1. **Absolute discounting.** Every seen continuation gives up a fixed
   discount ``D`` of its count; the mass set free goes to a lower-order model.
2. **Interpolation.** That lower-order model (the context without its first
   character) is mixed into *every* prediction, seen or not, with the weight
   ``gamma(h)`` the discounts set free::

       P(w | h) = max(a(h, w) - D, 0) / A(h)  +  gamma(h) * P(w | h'),
       gamma(h) = D * N(h) / A(h),

   ``a(h, w)`` the count of ``w`` after ``h``, ``A(h)`` their sum over ``w``,
   ``N(h)`` how many distinct ``w`` followed ``h``, and ``h'`` = ``h``
   without its first token. The recursion ends at the uniform distribution
   over the K outcomes (the vocabulary's characters and ``<eos>``). A context
   never seen passes its whole probability to ``h'``.
3. **Continuation counts.** In the lower orders, ``a(h', w)`` is not how
   often ``h' w`` occurred but after how many *distinct* characters it
   occurred, ``N1+(. h' w)``: a lower-order model is only asked when the
   longer context was rare, and a continuation that is frequent only after
   one particular character (``"ll"`` is common, but mostly after ``"e"`` or
   ``"i"``) should not count as generally likely. The n-grams that start
   with ``<bos>`` keep their plain counts: nothing can come before ``<bos>``
   (the convention of KenLM, Heafield 2013).

``discount`` is either one number ``D`` in (0, 1] for every order and count
(interpolated Kneser-Ney), or ``"modified"``: three discounts per order, for
continuations seen once, twice and three or more times, estimated from the
training counts as Chen and Goodman (1999) propose,
``Y = n1 / (n1 + 2 n2)``, ``D1 = 1 - 2Y n2/n1``, ``D2 = 2 - 3Y n3/n2``,
``D3+ = 3 - 4Y n4/n3`` (``n_r`` the number of n-grams of that order with
count ``r``). Either way every context's probabilities sum to 1 over the K
outcomes, which the tests check.

The model is fitted once up to its ``order``; ``order`` (any smaller one) and
``discount`` may then be changed without counting again, so both can be
chosen on validation data.

How it counts, fast enough for a chapter: each token is its vocabulary id,
and a k-gram is one integer, its ids read as the digits of a number in base
V (the vocabulary's size). The last j tokens of a gram are then its key
modulo ``V**j`` and its context is the key divided by V, so counting is
``numpy.unique`` and looking a gram up is ``numpy.searchsorted``, over all
the grams of a text at once.
"""

import math
import numbers

import numpy as np

from helpers.language_model import _check_context_and_token, _check_vocab
from helpers.text import BOS, EOS, _check_texts
from helpers.validation import _describe, check_positive_int

__all__ = ["KneserNeyModel", "modified_discounts"]


def _count_of_counts_discounts(counts):
    """``(D1, D2, D3+)`` from an iterable of positive int counts (see :func:`modified_discounts`)."""
    counts = np.asarray(list(counts) if not isinstance(counts, np.ndarray) else counts)
    n = [int(np.count_nonzero(counts == r)) for r in range(5)]
    if min(n[1:]) == 0:
        return (0.5, 1.0, 1.5)
    y = n[1] / (n[1] + 2 * n[2])
    raw = (1 - 2 * y * n[2] / n[1], 2 - 3 * y * n[3] / n[2], 3 - 4 * y * n[4] / n[3])
    return tuple(min(max(d, 0.0), r) for r, d in zip((1, 2, 3), raw))


def modified_discounts(counts):
    """Chen and Goodman's (1999) estimates ``(D1, D2, D3+)`` from a Counter of n-gram counts.

    ``n_r`` is the number of n-grams whose count is ``r``; with
    ``Y = n1 / (n1 + 2 n2)`` the discounts are ``D1 = 1 - 2Y n2/n1``,
    ``D2 = 2 - 3Y n3/n2``, ``D3+ = 3 - 4Y n4/n3``. Each is kept within
    ``[0, r]`` (a discount larger than the count it is taken from would make a
    negative probability); where a count-of-counts is zero (tiny data) the
    discount falls back to 0.5, 1.0 or 1.5 respectively.

    Args:
        counts: a mapping from n-gram to its (positive int) count.

    Returns:
        tuple ``(D1, D2, D3+)`` of floats.
    """
    if not hasattr(counts, "values"):
        raise TypeError(f"counts must be a mapping of n-gram -> count, got {_describe(counts)}")
    return _count_of_counts_discounts(list(counts.values()))


class KneserNeyModel:
    """A character n-gram model with interpolated Kneser-Ney smoothing.

    Predicts each character (and the end ``<eos>``) of a text from the
    ``order - 1`` tokens before it, contexts at the start filled with
    ``<bos>``, scored in the same units as
    :class:`helpers.language_model.NgramModel` and the RNN (nats per predicted
    token, perplexity). See the module's documentation for the formulas.

    Args:
        order: n (int >= 1); ``order = 1`` is the unigram model (letter
            frequencies, discounted, mixed with the uniform distribution).
        vocab: a character :class:`~helpers.text.Vocab`; its non-special
            tokens and ``<eos>`` are the K outcomes.
        discount: a number in (0, 1] (one discount for every order), or
            ``"modified"`` (three per order, estimated from the counts).
    """

    def __init__(self, order, vocab, *, discount="modified"):
        self.vocab = _check_vocab(vocab)
        if vocab.level != "char":
            raise ValueError(
                f"KneserNeyModel counts characters: vocab must have level='char', "
                f"got level={vocab.level!r}"
            )
        self.outcomes = [t for t in vocab.itos if t not in ("<pad>", "<unk>", BOS)]
        self._known = set(self.outcomes) - {EOS}
        self._base = len(vocab)  # a k-gram is a k-digit number in this base
        self._largest_order = int(63 * math.log(2) / math.log(self._base))  # fits in int64
        self._fitted_order = None
        self.order = order
        self.discount = discount
        self._plain = {}  # level k -> (sorted keys of the k-grams, how often each occurred)
        self._continuation = {}  # level k -> after how many distinct tokens each occurred
        self._tables = {}  # (level, top, discount) -> the arrays the formula needs

    # ------------------------------------------------------------------ settings

    @property
    def order(self):
        """n: the model predicts from the ``order - 1`` tokens before (at most the fitted order)."""
        return self._order

    @order.setter
    def order(self, value):
        value = check_positive_int("order", value)
        if value > self._largest_order:
            raise ValueError(
                f"order must be at most {self._largest_order} for a vocabulary of "
                f"{self._base} tokens (a gram must fit in 64 bits), got {value}"
            )
        if self._fitted_order is not None and value > self._fitted_order:
            raise ValueError(
                f"order must be at most {self._fitted_order}, the order the model "
                f"was fitted with, got {value}; fit a new model to go higher"
            )
        self._order = value

    @property
    def discount(self):
        """``"modified"`` or the single discount D in (0, 1]."""
        return self._discount

    @discount.setter
    def discount(self, value):
        if value != "modified" and (
            isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 < value <= 1
        ):
            raise ValueError(f"discount must be a number in (0, 1] or 'modified', got {value!r}")
        self._discount = value if value == "modified" else float(value)

    def __repr__(self):
        fitted = f"{int(self._plain[1][1].sum())} counted tokens" if self._plain else "not fitted"
        return f"KneserNeyModel(order={self.order}, discount={self.discount!r}, {fitted})"

    # ------------------------------------------------------------------ counting

    def _keys(self, name, texts, n):
        """The keys of the n-grams that end at each predicted token of ``texts`` (int64).

        The texts become one stream of ids, each row ``n - 1`` times ``<bos>``,
        the text's characters and ``<eos>``; the key of the gram that ends at
        position i is built from positions i - n + 1 .. i.
        """
        texts = _check_texts(name, texts)
        characters = np.frombuffer("".join(texts).encode("utf-32-le"), dtype=np.uint32)
        lookup = np.full(int(characters.max(initial=0)) + 1, -1, dtype=np.int64)
        for token in self._known:
            if ord(token) < len(lookup):
                lookup[ord(token)] = self.vocab.stoi[token]
        ids = lookup[characters]
        if (ids < 0).any():
            lengths = np.array([len(text) for text in texts])
            index = int(np.searchsorted(np.cumsum(lengths), np.argmax(ids < 0), side="right"))
            unknown = sorted(set(texts[index]) - self._known)
            raise ValueError(
                f"{name}[{index}] = {texts[index]!r} holds {unknown}, which the vocabulary "
                "lacks; an n-gram model scores only the vocabulary's characters"
            )
        lengths = np.array([len(text) for text in texts])
        rows = lengths + n  # n - 1 <bos>, the characters, <eos>
        starts = np.cumsum(rows) - rows
        stream = np.full(int(rows.sum()), self.vocab.bos_id, dtype=np.int64)
        first_character = starts + n - 1
        offsets = np.repeat(first_character - (np.cumsum(lengths) - lengths), lengths)
        stream[offsets + np.arange(len(ids))] = ids
        stream[starts + rows - 1] = self.vocab.eos_id
        predicted = np.ones(len(stream), dtype=bool)  # all but the first n - 1 of each row
        for skip in range(n - 1):
            predicted[starts + skip] = False
        positions = np.flatnonzero(predicted)
        keys = np.zeros(len(positions), dtype=np.int64)
        for back in range(n - 1, -1, -1):  # the oldest token is the leading digit
            keys = keys * self._base + stream[positions - back]
        return keys

    def fit(self, texts):
        """Count the n-grams of every order up to ``order`` in ``texts``; returns ``self``.

        Fitting again replaces the counts (it does not add to them).
        """
        top = self.order
        keys = self._keys("texts", texts, top)
        self._plain = {
            k: np.unique(keys % self._base**k, return_counts=True) for k in range(1, top + 1)
        }
        # N1+(. w): each distinct (k+1)-gram is one distinct token before its last k tokens
        self._continuation = {
            k: np.unique(self._plain[k + 1][0] % self._base**k, return_counts=True)[1]
            for k in range(1, top)
        }
        self._fitted_order = top
        self._tables = {}
        return self

    def _check_fitted(self):
        if self._fitted_order is None:
            raise ValueError("the model has no counts yet: call fit(texts) first")

    # ------------------------------------------------------------------ the formulas

    def _table(self, level):
        """Keys and adjusted counts of the level's grams, and A(h) and the freed mass per context."""
        top = level == self.order
        key = (level, top, self.discount)
        if key not in self._tables:
            keys, counts = self._plain[level]
            if not top:
                # every gram below the fitted order has a token before it (<bos> at the
                # start), so the continuation counts cover the same keys, in the same order
                starts_with_bos = keys // self._base ** (level - 1) == self.vocab.bos_id
                counts = np.where(starts_with_bos, counts, self._continuation[level])
            d = (
                _count_of_counts_discounts(counts)
                if self.discount == "modified"
                else (self.discount,) * 3
            )
            taken = np.asarray(d)[np.minimum(counts, 3) - 1]
            contexts, which = np.unique(keys // self._base, return_inverse=True)
            totals = np.bincount(which, weights=counts)
            free = np.bincount(which, weights=taken)
            self._tables[key] = (keys, counts, d, contexts, totals, free)
        return self._tables[key]

    def _find(self, sorted_keys, keys):
        """Index of each of ``keys`` in ``sorted_keys``, and whether it is there."""
        index = np.minimum(np.searchsorted(sorted_keys, keys), len(sorted_keys) - 1)
        return index, sorted_keys[index] == keys

    def _steps(self, grams):
        """For keys of ``order``-grams: per level, (count, discount, A(h), alpha, gamma, P)."""
        p = np.full(len(grams), 1.0 / len(self.outcomes))
        steps = []
        for level in range(1, self.order + 1):
            keys, counts, d, contexts, totals, free = self._table(level)
            gram = grams % self._base**level
            at, found = self._find(keys, gram)
            count = np.where(found, counts[at], 0)
            discount = np.where(
                count > 0, np.asarray(d)[np.maximum(np.minimum(count, 3), 1) - 1], 0.0
            )
            at, seen = self._find(contexts, gram // self._base)
            total = np.where(seen, totals[at], 0.0)
            # a context never seen passes its whole probability down: alpha 0, gamma 1
            safe = np.where(seen, total, 1.0)
            alpha = np.where(seen, np.maximum(count - discount, 0.0) / safe, 0.0)
            gamma = np.where(seen, free[at] / safe, 1.0)
            p = alpha + gamma * p
            steps.append((count, discount, total, alpha, gamma, p))
        return steps

    def _gram_key(self, context, token):
        self._check_fitted()
        _check_context_and_token(context, token, "order", self.order, self._known, self.outcomes)
        key = 0
        for item in (*context, token):
            key = key * self._base + self.vocab.stoi[item]
        return key

    def _gram(self, key, level):
        """The tokens of a level-gram's key, as a tuple of strings."""
        tokens = []
        for _ in range(level):
            key, digit = divmod(int(key), self._base)
            tokens.append(self.vocab.itos[digit])
        return tuple(reversed(tokens))

    def adjusted_counts(self, level):
        """``{k-gram: a(h, w)}``, the counts the formula uses at ``level`` (k = ``level``).

        The plain counts at the model's own order; below it, continuation
        counts, except for the n-grams that start with ``<bos>``.
        """
        self._check_fitted()
        level = check_positive_int("level", level)
        if level > self.order:
            raise ValueError(f"level must be at most the order {self.order}, got {level}")
        keys, counts = self._table(level)[:2]
        return {self._gram(key, level): int(count) for key, count in zip(keys, counts)}

    def discounts(self, level):
        """``(D1, D2, D3+)``: the discounts of continuations seen once, twice, three or more times."""
        self._check_fitted()
        level = check_positive_int("level", level)
        if level > self.order:
            raise ValueError(f"level must be at most the order {self.order}, got {level}")
        return tuple(float(d) for d in self._table(level)[2])

    def probability(self, context, token):
        """P(token | context), ``context`` the tuple of the ``order - 1`` tokens before ``token``."""
        key = self._gram_key(context, token)
        return float(self._steps(np.array([key], dtype=np.int64))[-1][-1][0])

    def explain(self, context, token):
        """How P(token | context) is built, one order at a time, lowest first.

        Returns:
            list of dicts, one per level k = 1 .. ``order``, with ``level``,
            ``context`` (the k - 1 tokens used), ``count`` (``a(h, w)``),
            ``total`` (``A(h)``, 0 for a context never seen), ``discount`` (the
            D taken from ``count``), ``alpha`` (the discounted count over
            ``A(h)``), ``gamma`` (the weight of the lower order) and
            ``probability`` (the estimate up to this level; the last one is
            :meth:`probability`). The level below level 1 is uniform, ``1 / K``.
        """
        key = self._gram_key(context, token)
        steps = self._steps(np.array([key], dtype=np.int64))
        gram = (*context, token)
        return [
            {
                "level": level,
                "context": gram[len(gram) - level : -1],
                "count": int(count[0]),
                "total": float(total[0]),
                "discount": float(discount[0]),
                "alpha": float(alpha[0]),
                "gamma": float(gamma[0]),
                "probability": float(p[0]),
            }
            for level, (count, discount, total, alpha, gamma, p) in enumerate(steps, start=1)
        ]

    def distribution(self, context):
        """``{token: P(token | context)}`` over all K outcomes (it sums to 1)."""
        keys = np.array([self._gram_key(context, token) for token in self.outcomes], dtype=np.int64)
        return dict(zip(self.outcomes, self._steps(keys)[-1][-1].tolist()))

    def nll(self, texts):
        """Mean negative log-likelihood per predicted token (nats), and the number of tokens."""
        self._check_fitted()
        probabilities = self._steps(self._keys("texts", texts, self.order))[-1][-1]
        return float(-np.log(probabilities).mean()), len(probabilities)

    def perplexity(self, texts):
        """Per-token perplexity on ``texts`` (each character and each end counts once)."""
        return math.exp(self.nll(texts)[0])
