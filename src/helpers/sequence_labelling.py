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
  same window of characters in the training words;
- :func:`token_scores`: per-token accuracy, precision, recall and F1.
"""

from collections import Counter, defaultdict

import torch
from torch import nn

from helpers.experiments import text_model_parts
from helpers.text import (
    IGNORE_INDEX,
    PaddedBatch,
    SequenceDataset,
    Vocab,
    _check_texts,
    make_sequence_loader,
)
from helpers.validation import _describe, check_positive_int

__all__ = [
    "labelling_dataset",
    "Tagger",
    "predict_labels",
    "WindowTagger",
    "token_scores",
]


def _check_delay(delay, name="delay"):
    if isinstance(delay, bool) or not isinstance(delay, int) or delay < 0:
        raise TypeError(f"{name} must be an int >= 0, got {_describe(delay)}")
    return delay


def _check_aligned(texts, labels):
    texts = _check_texts("texts", texts)
    if isinstance(labels, str) or not isinstance(labels, (list, tuple)) or len(labels) != len(texts):
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
        **layer_kwargs: passed to the recurrent layer (``num_layers``, ``device``, ``dtype``...).
    """

    def __init__(self, vocab_size, num_labels=2, *, unit="GRU", embedding_dim=16, hidden_size=64,
                 implementation="torch", bidirectional=False, combine="concat", **layer_kwargs):
        super().__init__()
        check_positive_int("num_labels", num_labels, minimum=2)
        self.bidirectional = bidirectional
        self.embedding, self.rnn, self.read_out = text_model_parts(
            vocab_size, num_labels, unit=unit, embedding_dim=embedding_dim,
            hidden_size=hidden_size, implementation=implementation, bidirectional=bidirectional,
            combine=combine, **layer_kwargs)

    def forward(self, batch):
        """Logits ``(N, T, C)`` for a :class:`~helpers.text.PaddedBatch`.

        Padding is at the end, so a forward layer's outputs at the real steps
        never saw it; a bidirectional layer is given the lengths, so its
        backward direction starts at each sequence's last real step. The loss
        skips the padded steps.
        """
        if not isinstance(batch, PaddedBatch):
            raise TypeError(f"batch must be a helpers.text.PaddedBatch, got {_describe(batch)}")
        vectors = self.embedding(batch.tokens)
        if self.bidirectional:
            outputs, _ = self.rnn(vectors, batch.lengths)
        else:
            outputs, _ = self.rnn(vectors)
        return self.read_out(outputs)


@torch.no_grad()
def predict_labels(model, texts, vocab, *, delay=0, batch_size=1000):
    """The model's label for every character of every text (list of lists of ints).

    The texts are fed as :func:`labelling_dataset` feeds them; the label of
    character t is the highest-scoring one at step ``t + delay``.
    """
    texts = _check_texts("texts", texts)
    dummy = [[0] * len(text) for text in texts]
    loader = make_sequence_loader(labelling_dataset(texts, dummy, vocab, delay=delay),
                                  pad_id=vocab.pad_id, batch_size=batch_size, shuffle=False)
    device = next(model.parameters()).device
    model.eval()
    predicted = []
    for batch, _ in loader:
        best = model(batch.to(device)).argmax(dim=-1).cpu()
        for row, length in zip(best, batch.lengths.tolist()):
            predicted.append(row[delay:length].tolist())
    return predicted


class WindowTagger:
    """The counting baseline: the most common label of the same window in the training texts.

    Character t is labelled by looking up the window of ``left`` characters
    before it, itself and ``right`` characters after it (``^`` and ``$`` pad
    the ends) in a table of the labels seen for that window in training; an
    unseen window gets the most common label overall. ``WindowTagger(0, 0)``
    labels by the character alone; ``WindowTagger(2, 2)`` sees five letters.

    Args:
        left, right: ints >= 0, the context on each side.
    """

    def __init__(self, left, right):
        self.left = _check_delay(left, "left")
        self.right = _check_delay(right, "right")
        self.table = defaultdict(Counter)
        self.default = 0

    def _windows(self, text):
        padded = "^" * self.left + text + "$" * self.right
        width = self.left + 1 + self.right
        return [padded[t:t + width] for t in range(len(text))]

    def fit(self, texts, labels):
        """Count the labels of every window of ``texts``; returns ``self``."""
        texts, labels = _check_aligned(texts, labels)
        overall = Counter()
        for text, row in zip(texts, labels):
            for window, label in zip(self._windows(text), row):
                self.table[window][label] += 1
                overall[label] += 1
        self.default = overall.most_common(1)[0][0]
        return self

    def predict(self, texts):
        """The label of every character of every text (list of lists)."""
        texts = _check_texts("texts", texts)
        return [
            [self.table[w].most_common(1)[0][0] if w in self.table else self.default
             for w in self._windows(text)]
            for text in texts
        ]


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
        raise TypeError(f"predicted and true must be lists, got {_describe(predicted)} "
                        f"and {_describe(true)}")
    if len(predicted) != len(true):
        raise ValueError(f"predicted has {len(predicted)} sequences, true has {len(true)}")
    correct = tp = fp = fn = tokens = 0
    for index, (p_row, t_row) in enumerate(zip(predicted, true)):
        if len(p_row) != len(t_row):
            raise ValueError(f"predicted[{index}] has {len(p_row)} labels, true[{index}] has {len(t_row)}")
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
    return {"accuracy": correct / tokens, "precision": precision, "recall": recall, "f1": f1,
            "tokens": tokens}
