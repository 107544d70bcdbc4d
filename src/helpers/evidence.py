"""Evidence: results over seeds with intervals, paired differences, and claims checked by code.

The book's prose interprets experiments ("the GRU beats the 6-gram", "packing
saves nothing on the CPU"). This module turns each such sentence into something
a cell computes and checks, so that the build fails when the numbers stop
supporting the words:

- :func:`summarize` gives the mean, standard deviation and a Student-t interval
  of a score over seeds (or any independent repeats);
- :func:`paired_difference` compares two methods run with the same seeds: the
  interval is on the mean of the per-seed differences, which removes what the
  two runs of a seed share (the same split, the same batches);
- :func:`bootstrap_difference` does the same over the items of a test set
  (paired by item), when one model per method is scored on many examples;
- :class:`Difference` says in words what an interval shows (``"A is lower"``,
  ``"no measurable difference"``), so a verdict in the prose comes from code;
- :func:`expect` states a claim and raises :class:`ClaimNotSupported`, with the
  numbers, when they do not support it;
- :func:`glue` hands a number to the prose (myst-nb's ``glue``), and does
  nothing where myst-nb is not installed (Colab), so the same notebook runs there.

Every interval says what its ``n`` counts (``"seeds"`` or ``"items"``): a standard
error over 5 seeds is not one over 2,000 test items.
"""

import math
import numbers
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from scipy import stats

from helpers.validation import _describe, check_seed

__all__ = [
    "Summary",
    "Difference",
    "ClaimNotSupported",
    "summarize",
    "paired_difference",
    "bootstrap_difference",
    "bootstrap_interval",
    "expect",
    "glue",
]


def _values(name, values, *, minimum=2):
    """``values`` as a 1-D float array of finite numbers, at least ``minimum`` of them."""
    if isinstance(values, (str, bytes, Mapping)) or not hasattr(values, "__len__"):
        raise TypeError(f"{name} must be a sequence of numbers, got {_describe(values)}")
    try:
        array = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a sequence of numbers, got {_describe(values)}") from None
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {array.shape}")
    if len(array) < minimum:
        raise ValueError(
            f"{name} needs at least {minimum} values for an interval, got {len(array)}"
        )
    if not np.all(np.isfinite(array)):
        bad = array[~np.isfinite(array)][0]
        raise ValueError(
            f"{name} must be finite numbers, got {bad} (a diverged run? report it "
            "as diverged instead of averaging it)"
        )
    return array


def _check_confidence(confidence):
    if (
        isinstance(confidence, bool)
        or not isinstance(confidence, numbers.Real)
        or not 0 < confidence < 1
    ):
        raise ValueError(f"confidence must be a number in (0, 1), got {confidence!r}")
    return float(confidence)


def _check_unit(unit):
    if not isinstance(unit, str) or not unit:
        raise TypeError(f"unit must be a word such as 'seeds' or 'items', got {_describe(unit)}")
    return unit


def _t_interval(array, confidence):
    """(mean, sample std, standard error, low, high) of a Student-t interval for the mean."""
    n = len(array)
    mean = float(array.mean())
    std = float(array.std(ddof=1))
    sem = std / math.sqrt(n)
    half = float(stats.t.ppf(0.5 + confidence / 2, df=n - 1)) * sem
    return mean, std, sem, mean - half, mean + half


def _number(value, digits):
    return f"{value:.{digits}g}" if abs(value) < 1e-3 and value != 0 else f"{value:.{digits}f}"


@dataclass(frozen=True)
class Summary:
    """A score over independent repeats: mean, spread and a t-interval for the mean.

    Attributes:
        values: the scores, in the order given.
        mean, std: their mean and sample standard deviation (``ddof=1``).
        sem: the standard error of the mean, ``std / sqrt(n)``.
        low, high: the ``confidence`` interval for the mean (Student t, ``n - 1`` df).
        n: how many values; ``unit`` says what they are (``"seeds"``).
    """

    values: tuple
    mean: float
    std: float
    sem: float
    low: float
    high: float
    confidence: float
    unit: str

    @property
    def n(self):
        return len(self.values)

    def format(self, digits=3):
        """``'0.839 ± 0.100 (95% CI 0.715 to 0.963, 5 seeds)'``: mean ± standard deviation."""
        return (
            f"{_number(self.mean, digits)} ± {_number(self.std, digits)} "
            f"({self.confidence:.0%} CI {_number(self.low, digits)} to "
            f"{_number(self.high, digits)}, {self.n} {self.unit})"
        )

    def __str__(self):
        return self.format()


def summarize(values, *, confidence=0.95, unit="seeds"):
    """Mean, standard deviation and a Student-t ``confidence`` interval of ``values``.

    Args:
        values: at least two finite scores from independent repeats (seeds).
        confidence: the interval's coverage, in (0, 1).
        unit: what one value is, for the printed summary.

    Returns:
        :class:`Summary`.
    """
    array = _values("values", values)
    confidence = _check_confidence(confidence)
    mean, std, sem, low, high = _t_interval(array, confidence)
    return Summary(tuple(array.tolist()), mean, std, sem, low, high, confidence, _check_unit(unit))


@dataclass(frozen=True)
class Difference:
    """The mean of ``a - b`` over paired repeats, with an interval, and what it shows.

    Attributes:
        names: the two methods, ``(a, b)``.
        differences: the paired differences ``a_i - b_i`` (per seed), or ``()``
            for a bootstrap over items, which keeps only the interval.
        mean: the mean difference ``a - b``.
        low, high: the ``confidence`` interval of the mean difference.
        n: how many pairs, ``unit`` what they are (``"seeds"``, ``"items"``).
        method: how the interval was made (``"paired t"``, ``"paired bootstrap"``).
    """

    names: tuple
    differences: tuple
    mean: float
    low: float
    high: float
    n: int
    confidence: float
    unit: str
    method: str

    @property
    def excludes_zero(self):
        """Whether the interval lies wholly on one side of zero."""
        return self.low > 0 or self.high < 0

    def verdict(self, *, lower_is_better):
        """The comparison in words, decided by the interval.

        Returns ``"<a> is better"``, ``"<b> is better"`` or ``"no measurable
        difference"`` (the interval contains zero).
        """
        if not isinstance(lower_is_better, bool):
            raise TypeError(
                f"lower_is_better must be True or False, got {_describe(lower_is_better)}"
            )
        if not self.excludes_zero:
            return "no measurable difference"
        a_lower = self.high < 0
        winner = self.names[0] if a_lower == lower_is_better else self.names[1]
        return f"{winner} is better"

    def format(self, digits=3):
        """``'A - B = -0.012 (95% CI -0.020 to -0.004, paired t over 5 seeds)'``."""
        a, b = self.names
        return (
            f"{a} - {b} = {_number(self.mean, digits)} ({self.confidence:.0%} CI "
            f"{_number(self.low, digits)} to {_number(self.high, digits)}, "
            f"{self.method} over {self.n} {self.unit})"
        )

    def __str__(self):
        return self.format()


def _check_names(names):
    if not (
        isinstance(names, (tuple, list))
        and len(names) == 2
        and all(isinstance(name, str) and name for name in names)
    ):
        raise TypeError(f"names must be two strings (a, b), got {_describe(names)}")
    return tuple(names)


def _pair(a, b, minimum):
    a = _values("a", a, minimum=minimum)
    b = _values("b", b, minimum=minimum)
    if a.shape != b.shape:
        raise ValueError(
            f"a and b must be paired (the same seeds or items in the same order), "
            f"got {len(a)} values in a and {len(b)} in b"
        )
    return a, b


def paired_difference(a, b, *, names=("A", "B"), confidence=0.95, unit="seeds"):
    """Compare two methods run on the same repeats: a t-interval on the mean of ``a - b``.

    ``a[i]`` and ``b[i]`` must come from the same repeat (seed ``i`` for both:
    the same data split and batch order). Pairing removes what the two share,
    so the interval is usually much narrower than the two separate ones.

    Args:
        a, b: scores of the two methods, paired, at least two each.
        names: what to call the two methods in the verdict.
        confidence: the interval's coverage, in (0, 1).
        unit: what one pair is.

    Returns:
        :class:`Difference` with ``method="paired t"``.
    """
    a, b = _pair(a, b, 2)
    confidence = _check_confidence(confidence)
    differences = a - b
    mean, _, _, low, high = _t_interval(differences, confidence)
    if np.all(differences == differences[0]):  # no spread: the interval is the point itself
        low = high = mean
    return Difference(
        _check_names(names),
        tuple(differences.tolist()),
        mean,
        low,
        high,
        len(differences),
        confidence,
        _check_unit(unit),
        "paired t",
    )


def _check_resamples(n_resamples):
    if (
        isinstance(n_resamples, bool)
        or not isinstance(n_resamples, numbers.Integral)
        or n_resamples < 100
    ):
        raise ValueError(f"n_resamples must be an int >= 100, got {n_resamples!r}")
    return int(n_resamples)


def _bootstrap_mean(array, confidence, n_resamples, seed):
    """The percentile-bootstrap interval ``(low, high)`` of the mean of ``array`` (1-D)."""
    result = stats.bootstrap(
        (array,),
        np.mean,
        confidence_level=confidence,
        n_resamples=_check_resamples(n_resamples),
        method="percentile",
        vectorized=True,
        rng=np.random.default_rng(check_seed("seed", seed)),
    )
    return float(result.confidence_interval.low), float(result.confidence_interval.high)


def bootstrap_interval(values, *, confidence=0.95, n_resamples=2000, seed=0, unit="items"):
    """A percentile-bootstrap interval for the mean of per-item scores of one model.

    For a test set scored once: ``values`` holds one number per test item (1.0
    for right and 0.0 for wrong gives an interval for accuracy).

    Returns:
        :class:`Summary` whose ``low``/``high`` are the bootstrap interval
        (``std`` and ``sem`` are the plain sample ones).
    """
    array = _values("values", values)
    confidence = _check_confidence(confidence)
    low, high = _bootstrap_mean(array, confidence, n_resamples, seed)
    std = float(array.std(ddof=1))
    return Summary(
        tuple(array.tolist()),
        float(array.mean()),
        std,
        std / math.sqrt(len(array)),
        low,
        high,
        confidence,
        _check_unit(unit),
    )


def bootstrap_difference(
    a, b, *, names=("A", "B"), confidence=0.95, n_resamples=2000, seed=0, unit="items"
):
    """Compare two models on the same test items: a paired bootstrap of the mean of ``a - b``.

    ``a[i]`` and ``b[i]`` are the two models' scores on item ``i`` (a loss, or
    1/0 for right/wrong). Items are resampled with replacement, the same items
    for both models, ``n_resamples`` times; the interval is the percentile one.

    Returns:
        :class:`Difference` with ``method="paired bootstrap"`` and ``n`` the number of items.
    """
    a, b = _pair(a, b, 2)
    confidence = _check_confidence(confidence)
    differences = a - b
    low, high = _bootstrap_mean(differences, confidence, n_resamples, seed)
    return Difference(
        _check_names(names),
        (),
        float(differences.mean()),
        low,
        high,
        len(differences),
        confidence,
        _check_unit(unit),
        "paired bootstrap",
    )


class ClaimNotSupported(AssertionError):
    """A sentence of the book that the numbers computed while it was built no longer support."""


def _format_evidence(evidence):
    parts = []
    for name, value in evidence.items():
        if isinstance(value, float):
            value = _number(value, 4)
        parts.append(f"{name} = {value}")
    return "; ".join(parts)


def expect(claim, holds, *, quiet=False, **evidence):
    """Check that the numbers support ``claim``; raise with the numbers when they do not.

    A chapter states each qualitative claim of its prose once more, in a cell::

        expect("the GRU beats the 6-gram model on validation",
               gru_pp < ngram_pp, gru=gru_pp, ngram=ngram_pp)

    Args:
        claim: the sentence the prose says, in words.
        holds: whether the evidence supports it (a bool, or a numpy bool).
        quiet: do not print the confirmation line.
        **evidence: the numbers the claim rests on, printed either way.

    Returns:
        None; prints ``'✓ <claim> (<evidence>)'`` unless ``quiet``.

    Raises:
        ClaimNotSupported: ``holds`` is false; the message gives the claim and the numbers.
    """
    if not isinstance(claim, str) or not claim.strip():
        raise TypeError(f"claim must be the sentence being checked, got {_describe(claim)}")
    if not isinstance(holds, (bool, np.bool_)):
        raise TypeError(
            f"holds must be True or False (the result of the comparison), got {_describe(holds)}"
        )
    if not isinstance(quiet, bool):
        raise TypeError(f"quiet must be True or False, got {_describe(quiet)}")
    numbers_text = _format_evidence(evidence)
    if not holds:
        raise ClaimNotSupported(
            f"the text claims: {claim!r}, but the evidence does not support it"
            + (f": {numbers_text}" if numbers_text else "")
        )
    if not quiet:
        print(f"✓ {claim}" + (f" ({numbers_text})" if numbers_text else ""))


def glue(name, value, *, display=False):
    """Hand ``value`` to the prose as ``{glue:text}`name``` (myst-nb); return ``value``.

    In the book's build this is ``myst_nb.glue``; in an environment without
    myst-nb (Colab, a student's laptop) it does nothing, so the chapter still
    runs. ``display=False`` keeps the value out of the cell's visible output.
    """
    if not isinstance(name, str) or not name.isidentifier():
        raise ValueError(f"name must be an identifier-like string, got {name!r}")
    try:
        from myst_nb import glue as myst_glue
    except ImportError:
        return value
    myst_glue(name, value, display=display)
    return value
