"""Sequence labelling (many-to-many, aligned): one label per input step.

The book's labelling task is hyphenation: for every character of a word, may
a line break follow it? A forward RNN that labels character t as it reads it
has seen only characters 1..t, but where a word breaks depends on what comes
next (``mean-ing``, not ``me-aning``). The simplest cure keeps the RNN as it
is and *delays* its answers: after the word come ``delay`` end tokens, and the
label of character t is read off at step t + delay, when the model has seen
``delay`` characters beyond it. (A bidirectional RNN, a later chapter, is the
cure that sees the whole word.)

- :func:`labelling_dataset`: words and per-character labels as delayed
  (input, target) id sequences;
- :class:`Tagger`: embedding, recurrent layer, linear read-out at every step;
- :func:`predict_labels`: the model's labels, aligned with each word again;
- :class:`WindowTagger`: the counting baseline, the most common label of the
  same window of characters in the training words, with back-off to narrower
  windows; :class:`LinearWindowTagger`: logistic regression (scikit-learn)
  over the substrings of the window (:func:`window_features`);
- :func:`token_scores`: per-token accuracy, precision, recall and F1;
  :func:`f1_bootstrap_difference`: a paired bootstrap over words of the
  difference in F1 between two taggers.

The experiments of the chapters "Sequence labelling" and "Deep and
bidirectional RNNs" run on :func:`hyphenation_task` (the book's split by
prefix group) with :func:`fit_tagger`, which trains until the validation F1
stops improving; :func:`tagger_run` and :func:`baseline_run` are the single
runs of the committed sweeps in ``benchmarks/experiments/``, and
:func:`hidden_size_for` sizes models to a common parameter budget.
"""

import functools
from collections import Counter, defaultdict

import numpy as np
import torch
from torch import nn

from helpers.corpora import hyphenation_splits
from helpers.text import (
    IGNORE_INDEX,
    PaddedBatch,
    SequenceDataset,
    Vocab,
    _check_texts,
    make_sequence_loader,
    sequence_loss,
)
from helpers.text_models import text_model_parts
from helpers.training import EarlyStopping, train
from helpers.validation import (
    _describe,
    check_positive_int,
    check_positive_number,
    check_probability,
    check_seed,
)

__all__ = [
    "labelling_dataset",
    "Tagger",
    "predict_labels",
    "WindowTagger",
    "window_features",
    "LinearWindowTagger",
    "token_scores",
    "hyphenation_task",
    "break_f1",
    "hidden_size_for",
    "fit_tagger",
    "tagger_run",
    "make_baseline",
    "baseline_run",
    "f1_bootstrap_difference",
]


def _check_delay(delay, name="delay"):
    if isinstance(delay, bool) or not isinstance(delay, int) or delay < 0:
        raise TypeError(f"{name} must be an int >= 0, got {_describe(delay)}")
    return delay


def _check_aligned(texts, labels):
    texts = _check_texts("texts", texts)
    if (
        isinstance(labels, str)
        or not isinstance(labels, (list, tuple))
        or len(labels) != len(texts)
    ):
        raise ValueError(
            f"labels must be a list with one label sequence per text ({len(texts)}), "
            f"got {_describe(labels)}"
        )
    for index, (text, row) in enumerate(zip(texts, labels)):
        if not isinstance(row, (list, tuple)) or len(row) != len(text):
            raise ValueError(
                f"labels[{index}] must hold one label per character of {text!r} "
                f"({len(text)}), got {_describe(row)}"
            )
    return texts, labels


def labelling_dataset(texts, labels, vocab, *, delay=0):
    """Inputs ``text + <eos> * delay``, targets ``IGNORE * delay + labels`` (ids).

    The target at step ``t + delay`` is the label of character ``t``; the
    first ``delay`` steps have no target (:data:`~helpers.text.IGNORE_INDEX`).
    Both sequences have ``len(text) + delay`` steps.
    """
    if not isinstance(vocab, Vocab):
        raise TypeError(f"vocab must be a helpers.text.Vocab, got {_describe(vocab)}")
    texts, labels = _check_aligned(texts, labels)
    delay = _check_delay(delay)
    inputs = [vocab.encode(text) + [vocab.eos_id] * delay for text in texts]
    targets = [[IGNORE_INDEX] * delay + list(row) for row in labels]
    return SequenceDataset(inputs, targets)


class Tagger(nn.Module):
    """Label scores at every step: a batch of ``(N, T)`` ids to logits ``(N, T, C)``.

    Args:
        vocab_size, num_labels: V and C.
        unit: ``"RNN"``, ``"LSTM"`` or ``"GRU"``.
        embedding_dim, hidden_size: sizes of the token vectors and of the state.
        implementation: ``"torch"`` (``torch.nn``) or ``"scratch"`` (:mod:`helpers.modules`),
            with the same parameter names.
        bidirectional: read each sequence in both directions
            (:class:`helpers.bidirectional.BidirectionalRNN`, which takes the
            batch's lengths), so the label of step t depends on the whole sequence.
        combine: how the two directions' states are combined
            (:data:`helpers.bidirectional.COMBINE_MODES`); only with ``bidirectional``.
        dropout: while training, zero this share of the entries on every
            non-recurrent connection (the embedded letters, the states passed
            from one layer to the next, and the states the read-out takes), a
            fresh mask at every step, as Zaremba et al. (2014) regularise
            recurrent networks; the state carried from step to step is never dropped.
        **layer_kwargs: passed to the recurrent layer (``num_layers``, ``device``, ``dtype``...).
    """

    def __init__(
        self,
        vocab_size,
        num_labels=2,
        *,
        unit="GRU",
        embedding_dim=16,
        hidden_size=64,
        implementation="torch",
        bidirectional=False,
        combine="concat",
        dropout=0.0,
        **layer_kwargs,
    ):
        super().__init__()
        check_positive_int("num_labels", num_labels, minimum=2)
        check_probability("dropout", dropout)
        if dropout > 0 and layer_kwargs.get("num_layers", 1) > 1:
            layer_kwargs["dropout"] = dropout  # between the layers of the stack
        self.bidirectional = bidirectional
        self.embedding, self.rnn, self.read_out = text_model_parts(
            vocab_size,
            num_labels,
            unit=unit,
            embedding_dim=embedding_dim,
            hidden_size=hidden_size,
            implementation=implementation,
            bidirectional=bidirectional,
            combine=combine,
            **layer_kwargs,
        )
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()

    def forward(self, batch):
        """Logits ``(N, T, C)`` for a :class:`~helpers.text.PaddedBatch`.

        Padding is at the end, so a forward layer's outputs at the real steps
        never saw it; a bidirectional layer is given the lengths, so its
        backward direction starts at each sequence's last real step. The loss
        skips the padded steps.
        """
        if not isinstance(batch, PaddedBatch):
            raise TypeError(f"batch must be a helpers.text.PaddedBatch, got {_describe(batch)}")
        vectors = self.dropout(self.embedding(batch.tokens))
        if self.bidirectional:
            outputs, _ = self.rnn(vectors, batch.lengths)
        else:
            outputs, _ = self.rnn(vectors)
        return self.read_out(self.dropout(outputs))


@torch.no_grad()
def predict_labels(model, texts, vocab, *, delay=0, batch_size=1000):
    """The model's label for every character of every text (list of lists of ints).

    The texts are fed as :func:`labelling_dataset` feeds them; the label of
    character t is the highest-scoring one at step ``t + delay``.
    """
    texts = _check_texts("texts", texts)
    dummy = [[0] * len(text) for text in texts]
    loader = make_sequence_loader(
        labelling_dataset(texts, dummy, vocab, delay=delay),
        pad_id=vocab.pad_id,
        batch_size=batch_size,
        shuffle=False,
    )
    device = next(model.parameters()).device
    model.eval()
    predicted = []
    for batch, _ in loader:
        best = model(batch.to(device)).argmax(dim=-1).cpu()
        for row, length in zip(best, batch.lengths.tolist()):
            predicted.append(row[delay:length].tolist())
    return predicted


def _window_path(left, right):
    """The windows a back-off tagger tries, widest first: shrink the wider side (the left on a tie)."""
    path = [(left, right)]
    while left or right:
        if left >= right:
            left -= 1
        else:
            right -= 1
        path.append((left, right))
    return path


class WindowTagger:
    """The counting baseline: the most common label of the same window in the training texts.

    Character t is labelled by looking up the window of ``left`` characters
    before it, itself and ``right`` characters after it (``^`` and ``$`` pad
    the ends) in a table of the labels seen for that window in training.
    ``WindowTagger(0, 0)`` labels by the character alone; ``WindowTagger(2, 2)``
    sees five letters.

    A wide window is a specific key, and many windows of a new word were never
    seen in training. Without back-off such a window gets the most common label
    overall ("no break"). With ``backoff=True`` the tagger tries narrower
    windows instead, dropping a letter from the wider side each time (from the
    left on a tie), until it finds one seen at least ``min_count`` times; the
    letter alone is the last resort. This is the back-off of n-gram language
    models, applied to a window around the letter.

    Args:
        left, right: ints >= 0, the context on each side.
        backoff: fall back to narrower windows for unseen (or rare) windows.
        min_count: with back-off, how often a window must have been seen to be used.
    """

    def __init__(self, left, right, *, backoff=False, min_count=1):
        self.left = _check_delay(left, "left")
        self.right = _check_delay(right, "right")
        if not isinstance(backoff, bool):
            raise TypeError(f"backoff must be True or False, got {_describe(backoff)}")
        self.backoff = backoff
        self.min_count = check_positive_int("min_count", min_count)
        if min_count > 1 and not backoff:
            raise ValueError("min_count only applies with backoff=True")
        self.path = _window_path(left, right) if backoff else [(left, right)]
        self.tables = {}
        self.default = 0

    def _padded(self, text):
        return "^" * self.left + text + "$" * self.right

    def _window(self, padded, t, left, right):
        """The window of ``left`` + 1 + ``right`` characters around character t."""
        return padded[self.left + t - left : self.left + t + right + 1]

    def fit(self, texts, labels):
        """Count the labels of every window of ``texts``; returns ``self``."""
        texts, labels = _check_aligned(texts, labels)
        counts = {size: defaultdict(Counter) for size in self.path}
        overall = Counter()
        for text, row in zip(texts, labels):
            padded = self._padded(text)
            for t, label in enumerate(row):
                overall[label] += 1
                for left, right in self.path:
                    counts[left, right][self._window(padded, t, left, right)][label] += 1
        self.default = overall.most_common(1)[0][0]
        # each window's most common label (the default label on a tie) and how often it was seen
        self.tables = {
            size: {
                window: (
                    max(c, key=lambda label: (c[label], label == self.default)),
                    sum(c.values()),
                )
                for window, c in table.items()
            }
            for size, table in counts.items()
        }
        return self

    def label_of(self, text, t):
        """The label of character ``t`` of ``text``, and the window ``(left, right)`` that gave it.

        The window is ``None`` when no window was seen often enough and the
        default label was used.
        """
        padded = self._padded(text)
        for left, right in self.path:
            entry = self.tables[left, right].get(self._window(padded, t, left, right))
            if entry is not None and entry[1] >= self.min_count:
                return entry[0], (left, right)
        return self.default, None

    def predict(self, texts):
        """The label of every character of every text (list of lists)."""
        if not self.tables:
            raise RuntimeError("call fit(texts, labels) before predict")
        texts = _check_texts("texts", texts)
        return [[self.label_of(text, t)[0] for t in range(len(text))] for text in texts]


def window_features(text, t, left, right):
    """The features of character ``t`` for :class:`LinearWindowTagger`: a dict ``{name: 1}``.

    Every substring of the window ``text[t - left : t + right + 1]`` (``^`` and
    ``$`` pad the ends) that contains character t, named by where it starts
    relative to t: ``"-1:ea"``, ``"0:an"``, ``"-2:mean"`` ... There are
    ``(left + 1) * (right + 1)`` of them, from the letter alone (``"0:a"``) to
    the whole window. Short substrings are seen often and long ones are
    specific, so a linear model over all of them backs off by itself: it can
    trust a long substring where it has seen it and the short ones elsewhere.
    These are the substrings Liang's hyphenation patterns are made of.
    """
    padded = "^" * left + text + "$" * right
    centre = left + t
    return {
        f"{start - centre}:{padded[start:end]}": 1
        for start in range(centre - left, centre + 1)
        for end in range(centre + 1, centre + right + 2)
    }


def _substrings(features):
    return (
        features  # each "document" of the vectorizer is already the list of a letter's substrings
    )


class LinearWindowTagger:
    """The linear baseline: logistic regression over the substrings of a window around each letter.

    scikit-learn does the work: the :func:`window_features` of every character
    become a sparse 0/1 matrix (``CountVectorizer``, keeping the substrings
    seen at least ``min_df`` times in training) and ``LogisticRegression``
    (L2-penalised, inverse strength ``C``) learns one weight per substring.

    Args:
        left, right: ints >= 0, the context on each side.
        C: the inverse of the L2 penalty, > 0 (``LogisticRegression``'s ``C``).
        min_df: keep the substrings of at least this many training characters.
    """

    def __init__(self, left, right, *, C=1.0, min_df=2):
        from sklearn.feature_extraction.text import CountVectorizer
        from sklearn.linear_model import LogisticRegression

        self.left = _check_delay(left, "left")
        self.right = _check_delay(right, "right")
        self.C = check_positive_number("C", C)
        self.min_df = check_positive_int("min_df", min_df)
        self.vectorizer = CountVectorizer(
            analyzer=_substrings, min_df=min_df, binary=True, dtype=np.float64
        )
        self.classifier = LogisticRegression(C=C, max_iter=1000)

    def _features(self, texts):
        return [
            list(window_features(text, t, self.left, self.right))
            for text in texts
            for t in range(len(text))
        ]

    def fit(self, texts, labels):
        """Fit the classifier on every character of ``texts``; returns ``self``."""
        texts, labels = _check_aligned(texts, labels)
        X = self.vectorizer.fit_transform(self._features(texts))
        self.classifier.fit(X, [label for row in labels for label in row])
        return self

    def predict(self, texts):
        """The label of every character of every text (list of lists)."""
        if not hasattr(self.classifier, "coef_"):
            raise RuntimeError("call fit(texts, labels) before predict")
        texts = _check_texts("texts", texts)
        flat = self.classifier.predict(self.vectorizer.transform(self._features(texts))).tolist()
        predicted, start = [], 0
        for text in texts:
            predicted.append([int(label) for label in flat[start : start + len(text)]])
            start += len(text)
        return predicted


def token_scores(predicted, true, *, positive=1):
    """Per-token accuracy, and precision, recall and F1 of the ``positive`` label.

    Args:
        predicted, true: lists of label sequences, aligned (same lengths).
        positive: the label F1 is about (a break).

    Returns:
        dict with ``accuracy``, ``precision``, ``recall``, ``f1`` and ``tokens``.
        Precision (recall) is 0 when nothing is predicted (present) positive.
    """
    if not isinstance(predicted, (list, tuple)) or not isinstance(true, (list, tuple)):
        raise TypeError(
            f"predicted and true must be lists, got {_describe(predicted)} and {_describe(true)}"
        )
    if len(predicted) != len(true):
        raise ValueError(f"predicted has {len(predicted)} sequences, true has {len(true)}")
    correct = tp = fp = fn = tokens = 0
    for index, (p_row, t_row) in enumerate(zip(predicted, true)):
        if len(p_row) != len(t_row):
            raise ValueError(
                f"predicted[{index}] has {len(p_row)} labels, true[{index}] has {len(t_row)}"
            )
        for p, t in zip(p_row, t_row):
            correct += p == t
            tp += p == positive and t == positive
            fp += p == positive and t != positive
            fn += p != positive and t == positive
            tokens += 1
    if tokens == 0:
        raise ValueError("there are no tokens to score")
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "accuracy": correct / tokens,
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "tokens": tokens,
    }


@functools.lru_cache(maxsize=2)
def hyphenation_task(size=20_000, seed=0):
    """The book's hyphenation task: ``(words, labels, vocab)``, computed once per process.

    ``words`` and ``labels`` are :func:`helpers.corpora.hyphenation_splits`
    (dicts keyed by split, split by prefix group); ``vocab`` is the
    :class:`~helpers.text.Vocab` of the training words. The same objects are
    returned on every call: do not change them.
    """
    words, labels = hyphenation_splits(size, seed=seed)
    return words, labels, Vocab(words["train"])


def break_f1(logits, targets):
    """F1 of the label 1 over the real steps of a batch (a scalar tensor), for :func:`train`'s metrics.

    F1 is not a mean over examples, so it is exact only when the whole split
    is one batch, as :func:`fit_tagger` makes it for validation.
    """
    real = targets != IGNORE_INDEX
    predicted = logits.argmax(dim=-1) == 1
    true = targets == 1
    tp = (predicted & true & real).sum()
    wrong = ((predicted != true) & real).sum()  # false positives and false negatives
    return (2 * tp / (2 * tp + wrong).clamp(min=1)).to(logits.dtype)


def hidden_size_for(parameters, vocab_size, *, largest=512, **tagger_kwargs):
    """The hidden size whose :class:`Tagger` has the parameter count closest to ``parameters``.

    For comparisons at an equal budget: ``hidden_size_for(budget, V)`` sizes a
    forward tagger like a bidirectional one, ``hidden_size_for(budget, V,
    bidirectional=True, num_layers=2)`` a two-layer stack. Ties go to the smaller size.

    Args:
        parameters: the budget, an int >= 1.
        vocab_size: V.
        largest: the largest hidden size tried.
        **tagger_kwargs: the other :class:`Tagger` arguments (``embedding_dim``...).
    """
    check_positive_int("parameters", parameters)

    def count(hidden_size):
        model = Tagger(vocab_size, hidden_size=hidden_size, device="meta", **tagger_kwargs)
        return sum(p.numel() for p in model.parameters())

    largest = check_positive_int("largest", largest)
    hidden_size = 1
    # the count grows with the hidden size: walk up until it passes the budget
    while hidden_size < largest and count(hidden_size) < parameters:
        hidden_size += 1
    below = max(hidden_size - 1, 1)
    return min((below, hidden_size), key=lambda h: (abs(count(h) - parameters), h))


def fit_tagger(
    words,
    labels,
    vocab,
    *,
    seed,
    delay=0,
    max_epochs=40,
    patience=4,
    lr=5e-3,
    batch_size=128,
    embedding_dim=16,
    device=None,
    initial_state=None,
    progress=False,
    **tagger_kwargs,
):
    """Train a :class:`Tagger` until its validation F1 stops improving: the book's criterion.

    ``torch.manual_seed(seed)`` sets the initial weights, and ``seed`` the
    order of the batches: words of similar length together
    (``by_length=True``), a new grouping and order every epoch. Adam with
    learning rate ``lr`` trains for at most ``max_epochs`` epochs, stopping
    once the F1 of the breaks on the validation words (:func:`break_f1`, all
    of them in one batch) has not improved for ``patience`` epochs in a row,
    and the model ends with the weights of its best epoch. The history also
    records the validation loss.

    Args:
        words, labels: dicts with ``"train"`` and ``"validation"`` lists (as
            :func:`hyphenation_task` gives them).
        vocab: the :class:`~helpers.text.Vocab`.
        seed: int >= 0.
        delay: the look-ahead of a forward tagger (:func:`labelling_dataset`).
        initial_state: a ``state_dict`` to start from instead of the seed's
            initial weights (to train two implementations from the same weights).
        **tagger_kwargs: passed to :class:`Tagger` (``hidden_size``,
            ``bidirectional``, ``combine``, ``num_layers``, ``implementation``...).

    Returns:
        ``(model, history)``: the trained model (on ``device``, in evaluation
        mode) and the :class:`~helpers.training.History`.
    """
    seed = check_seed("seed", seed)
    torch.manual_seed(seed)
    model = Tagger(len(vocab), embedding_dim=embedding_dim, device=device, **tagger_kwargs)
    if initial_state is not None:
        model.load_state_dict(initial_state)
    # dropout masks come from here on, the same whichever implementation drew the initial weights
    torch.manual_seed(seed)
    train_set = labelling_dataset(words["train"], labels["train"], vocab, delay=delay)
    val_set = labelling_dataset(words["validation"], labels["validation"], vocab, delay=delay)
    train_loader = make_sequence_loader(
        train_set,
        pad_id=vocab.pad_id,
        batch_size=batch_size,
        shuffle=True,
        seed=seed,
        by_length=True,
    )
    val_loader = make_sequence_loader(
        val_set, pad_id=vocab.pad_id, batch_size=len(val_set), shuffle=False
    )
    history = train(
        model,
        train_loader,
        sequence_loss,
        epochs=max_epochs,
        optimizer=torch.optim.Adam(model.parameters(), lr=lr),
        val_loader=val_loader,
        metrics={"f1": break_f1},
        early_stopping=EarlyStopping(patience=patience, monitor="val_f1", mode="max"),
        progress=progress,
    )
    model.eval()
    return model, history


def _labels_text(rows):
    """Label rows as one compact string per word (``"0001000"``), for JSON artefacts."""
    return ["".join(map(str, row)) for row in rows]


def tagger_run(
    *,
    seed,
    delay=0,
    max_epochs=40,
    patience=4,
    lr=5e-3,
    batch_size=128,
    keep_predictions=False,
    **tagger_kwargs,
):
    """One run of a sweep: train a tagger on :func:`hyphenation_task` with :func:`fit_tagger`, score it.

    The arguments are JSON-able settings (a :class:`helpers.artefacts.Sweep`
    stores them with the result); the data is always :func:`hyphenation_task`.

    Returns:
        dict with ``parameters``; the curves ``train_loss``, ``val_loss`` and
        ``val_f1`` (one entry per epoch), ``best_epoch``, ``epochs`` and ``stopped_early``;
        the ``validation`` and ``test`` :func:`token_scores` of the best
        epoch's weights; with ``keep_predictions``, ``test_predictions``, the
        labels of every test word as strings of 0s and 1s.
    """
    words, labels, vocab = hyphenation_task()
    model, history = fit_tagger(
        words,
        labels,
        vocab,
        seed=seed,
        delay=delay,
        max_epochs=max_epochs,
        patience=patience,
        lr=lr,
        batch_size=batch_size,
        **tagger_kwargs,
    )
    scores, predictions = {}, {}
    for split in ("validation", "test"):
        predictions[split] = predict_labels(model, words[split], vocab, delay=delay)
        scores[split] = token_scores(predictions[split], labels[split])
    record = {
        "parameters": sum(p.numel() for p in model.parameters()),
        "train_loss": history["train_loss"],
        "val_loss": history["val_loss"],
        "val_f1": history["val_f1"],
        "best_epoch": history.best_epoch,
        "epochs": len(history),
        "stopped_early": history.stopped_early,
        "validation": scores["validation"],
        "test": scores["test"],
    }
    if keep_predictions:
        record["test_predictions"] = _labels_text(predictions["test"])
    return record


def make_baseline(kind, *, left, right, backoff=False, min_count=1, C=1.0):
    """An untrained window baseline: ``kind`` ``"table"`` (:class:`WindowTagger`) or ``"linear"``.

    ``backoff`` and ``min_count`` apply to the table, ``C`` to
    :class:`LinearWindowTagger`.
    """
    if kind == "table":
        return WindowTagger(left, right, backoff=backoff, min_count=min_count)
    if kind == "linear":
        return LinearWindowTagger(left, right, C=C)
    raise ValueError(f"kind must be 'table' or 'linear', got {kind!r}")


def baseline_run(*, kind, left, right, backoff=False, min_count=1, C=1.0, test=False):
    """One run of a sweep: fit a window baseline on :func:`hyphenation_task`'s training words.

    Returns:
        dict with the ``validation`` :func:`token_scores`; with ``test=True``
        (a final model, chosen on validation) also the ``test`` scores and
        ``test_predictions``, the labels of every test word as strings of 0s and 1s.
    """
    words, labels, _ = hyphenation_task()
    model = make_baseline(kind, left=left, right=right, backoff=backoff, min_count=min_count, C=C)
    model.fit(words["train"], labels["train"])
    record = {"validation": token_scores(model.predict(words["validation"]), labels["validation"])}
    if test:
        predicted = model.predict(words["test"])
        record["test"] = token_scores(predicted, labels["test"])
        record["test_predictions"] = _labels_text(predicted)
    return record


def _counts(predicted, true):
    """Per-word ``(tp, fp, fn)`` of the label 1, as three float arrays."""
    rows = [
        (
            sum(p == 1 and t == 1 for p, t in zip(p_row, t_row)),
            sum(p == 1 and t != 1 for p, t in zip(p_row, t_row)),
            sum(p != 1 and t == 1 for p, t in zip(p_row, t_row)),
        )
        for p_row, t_row in zip(predicted, true)
    ]
    return [np.array(column, dtype=np.float64) for column in zip(*rows)]


def f1_bootstrap_difference(
    predicted_a, predicted_b, true, *, names=("A", "B"), confidence=0.95, n_resamples=2000, seed=0
):
    """A paired bootstrap over words of the difference in F1 between two taggers.

    F1 is not a mean over words, so :func:`helpers.evidence.bootstrap_difference`
    does not apply; here the words are resampled with replacement (the same
    words for both taggers), F1 is recomputed from the resampled counts, and
    the interval is the percentile one of ``scipy.stats.bootstrap``. Each side
    may be several taggers (one per seed, scored on the same words): then the
    difference is between their mean F1s, and the interval covers the
    sampling of the test words, not the seeds.

    Args:
        predicted_a, predicted_b: a list of label rows (one tagger), or a list
            of such lists (several taggers, averaged).
        true: the true label rows.
        names: the two taggers' names, for the verdict.

    Returns:
        :class:`helpers.evidence.Difference` (``unit="words"``, ``n`` the number of words).
    """
    from scipy import stats

    from helpers.evidence import Difference

    def taggers(predicted):
        several = predicted and isinstance(predicted[0][0], (list, tuple))
        return list(predicted) if several else [predicted]

    sides = [taggers(predicted_a), taggers(predicted_b)]
    for side in sides:
        for predicted in side:
            token_scores(predicted, true)  # checks the shapes
    arrays = [array for side in sides for predicted in side for array in _counts(predicted, true)]
    size_a = 3 * len(sides[0])

    def mean_f1(counts, axis):
        f1s = []
        for k in range(0, len(counts), 3):
            tp, fp, fn = (np.sum(c, axis=axis) for c in counts[k : k + 3])
            f1s.append(2 * tp / np.maximum(2 * tp + fp + fn, 1))
        return np.mean(f1s, axis=0)

    def statistic(*counts, axis=-1):
        return mean_f1(counts[:size_a], axis) - mean_f1(counts[size_a:], axis)

    result = stats.bootstrap(
        arrays,
        statistic,
        paired=True,
        vectorized=True,
        n_resamples=n_resamples,
        confidence_level=confidence,
        method="percentile",
        rng=np.random.default_rng(check_seed("seed", seed)),
    )
    interval = result.confidence_interval
    return Difference(
        tuple(names),
        (),
        float(statistic(*arrays)),
        float(interval.low),
        float(interval.high),
        len(true),
        confidence,
        "words",
        "paired bootstrap",
    )
