"""Linear baselines from scikit-learn for the text chapters.

The strongest simple baseline for classifying short strings is a linear model
on character n-grams: every substring of 1 to 4 characters of the word, with
the word's start and end marked (scikit-learn's ``analyzer="char_wb"`` pads
each word with a space, so ``" ma"`` is "starts with *ma*" and ``"na "`` is
"ends in *na*"), counted, and weighed by an L2-regularised logistic
regression (Pedregosa et al. 2011). It sees which letters occur next to each
other and where the word starts and ends, but no order beyond four letters;
its one setting, the inverse regularisation strength ``C``, is chosen on
validation data (:func:`choose_c`).
"""

import numbers

from sklearn.feature_extraction.text import CountVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline

from helpers.text import _check_texts
from helpers.validation import _describe

__all__ = ["char_ngram_classifier", "choose_c"]


def _check_ngram_range(ngram_range):
    if (
        not isinstance(ngram_range, tuple)
        or len(ngram_range) != 2
        or not all(isinstance(n, numbers.Integral) and not isinstance(n, bool) for n in ngram_range)
        or not 1 <= ngram_range[0] <= ngram_range[1]
    ):
        raise ValueError(
            f"ngram_range must be a tuple (low, high) of ints with "
            f"1 <= low <= high, got {ngram_range!r}"
        )
    return ngram_range


def char_ngram_classifier(*, C=1.0, ngram_range=(1, 4)):
    """A scikit-learn pipeline: character n-gram counts, then logistic regression.

    Args:
        C: inverse strength of the L2 penalty (> 0); larger fits the training data more closely.
        ngram_range: the shortest and longest n-grams counted.

    Returns:
        an unfitted ``sklearn.pipeline.Pipeline``; ``fit(texts, labels)``,
        ``predict(texts)``, ``score(texts, labels)`` (accuracy) as usual.
    """
    if isinstance(C, bool) or not isinstance(C, numbers.Real) or not C > 0:
        raise ValueError(f"C must be a number > 0, got {C!r}")
    ngram_range = _check_ngram_range(ngram_range)
    # liblinear: exact, deterministic and fast for two classes and sparse counts
    return make_pipeline(
        CountVectorizer(analyzer="char_wb", ngram_range=ngram_range),
        LogisticRegression(C=float(C), solver="liblinear"),
    )


def choose_c(
    train_texts,
    train_labels,
    validation_texts,
    validation_labels,
    *,
    grid=(0.1, 0.3, 1.0, 3.0, 10.0),
    ngram_range=(1, 4),
):
    """Fit one classifier per ``C`` of ``grid`` and keep the best on validation accuracy.

    Ties go to the smaller ``C`` (the stronger penalty, the simpler model).

    Returns:
        ``(model, scores)``: the chosen fitted pipeline and ``{C: validation accuracy}``.
    """
    train_texts = _check_texts("train_texts", train_texts)
    validation_texts = _check_texts("validation_texts", validation_texts)
    for name, texts, labels in (
        ("train_labels", train_texts, train_labels),
        ("validation_labels", validation_texts, validation_labels),
    ):
        if isinstance(labels, str) or not hasattr(labels, "__len__") or len(labels) != len(texts):
            raise ValueError(
                f"{name} must have one label per text ({len(texts)}), got {_describe(labels)}"
            )
    if not grid or any(isinstance(c, bool) or not isinstance(c, numbers.Real) for c in grid):
        raise ValueError(f"grid must be a non-empty list of numbers, got {grid!r}")
    models, scores = {}, {}
    for C in sorted(grid):
        models[C] = char_ngram_classifier(C=C, ngram_range=ngram_range).fit(
            train_texts, list(train_labels)
        )
        scores[C] = float(models[C].score(validation_texts, list(validation_labels)))
    best = max(scores, key=lambda C: (scores[C], -C))
    return models[best], scores
