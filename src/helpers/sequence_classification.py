"""Sequence classification (many-to-one): read a whole sequence, predict one class.

The recurrent layer reads the sequence and its state after the *last real*
step summarises it; a linear layer turns that state into class scores. In a
padded batch the layer's own final state is the state after the padding,
which is wrong for every sequence shorter than the longest. Two correct ways,
both here:

- ``torch.nn``: pack the batch (``pack_padded_sequence``), so the layer stops
  each sequence at its length and its final state ``h_n`` is the right one;
- from scratch: run the padded batch, then pick each sequence's state at its
  last real step with the mask (:func:`final_states`). With padding at the
  end, a forward layer's states at the real steps never saw the padding.

Baselines: :func:`majority_accuracy` (always the most common training class)
and :class:`BagOfCharacters` (logistic regression on character counts, which
ignores order).
"""

from collections import Counter

import torch
from torch import nn
from torch.nn import functional as F
from torch.nn.utils.rnn import pack_padded_sequence

from helpers.text import PaddedBatch, SequenceDataset, Vocab, _check_texts, length_mask
from helpers.text_models import text_model_parts
from helpers.validation import _describe, check_choice, check_positive_int, check_positive_number

__all__ = [
    "classification_dataset",
    "final_states",
    "FinalStateClassifier",
    "accuracy",
    "majority_accuracy",
    "BagOfCharacters",
]


def _check_labels(labels, classes, count):
    if isinstance(labels, str) or not isinstance(labels, (list, tuple)):
        raise TypeError(f"labels must be a list, got {_describe(labels)}")
    if len(labels) != count:
        raise ValueError(
            f"labels must have one entry per text: {count} texts, {len(labels)} labels"
        )
    for index, label in enumerate(labels):
        if label not in classes:
            raise ValueError(f"labels[{index}] = {label!r} is not one of the classes {classes!r}")
    return [classes.index(label) for label in labels]


def classification_dataset(texts, labels, vocab, classes):
    """Texts as id sequences and their labels as class indices (``classes.index(label)``)."""
    if not isinstance(vocab, Vocab):
        raise TypeError(f"vocab must be a helpers.text.Vocab, got {_describe(vocab)}")
    texts = _check_texts("texts", texts)
    classes = list(classes)
    targets = _check_labels(labels, classes, len(texts))
    return SequenceDataset([vocab.encode(text) for text in texts], targets)


def final_states(outputs, mask):
    """Each sequence's state at its last real step: outputs ``(N, T, H)``, mask ``(N, T)``.

    ``mask[n, t]`` is ``True`` at real steps and must be a run of ``True``
    followed by ``False`` (padding at the end). The result is ``(N, H)``:
    ``outputs[n, lengths[n] - 1]`` with ``lengths = mask.sum(1)``.
    """
    if not isinstance(outputs, torch.Tensor) or outputs.dim() != 3:
        raise ValueError(f"outputs must be a tensor (N, T, H), got {_describe(outputs)}")
    if (
        not isinstance(mask, torch.Tensor)
        or mask.dtype != torch.bool
        or mask.shape != outputs.shape[:2]
    ):
        raise ValueError(
            f"mask must be a bool tensor of shape (N, T) = {tuple(outputs.shape[:2])}, "
            f"got {_describe(mask)}"
        )
    lengths = mask.sum(dim=1)
    if bool((lengths == 0).any()):
        raise ValueError(
            f"mask has a row with no real step (row {int((lengths == 0).nonzero()[0])})"
        )
    if not torch.equal(mask, length_mask(lengths, mask.shape[1])):
        raise ValueError(
            "mask must be True at the first lengths[n] steps and False after (padding at the end)"
        )
    rows = torch.arange(outputs.shape[0], device=outputs.device)
    return outputs[rows, lengths - 1]


class FinalStateClassifier(nn.Module):
    """Class scores ``(N, C)`` from the state after the last real step of each sequence.

    With ``implementation="torch"`` the layer is ``torch.nn``'s and reads a
    packed batch; with ``"scratch"`` it is :mod:`helpers.modules`' and reads the
    padded batch, the final states picked by :func:`final_states`. The two
    have the same parameter names: ``load_state_dict`` moves weights between them.

    Args:
        vocab_size, num_classes: V and C.
        unit: ``"RNN"``, ``"LSTM"`` or ``"GRU"``.
        embedding_dim, hidden_size: sizes of the token vectors and of the state.
        implementation: ``"torch"`` or ``"scratch"``.
        bidirectional: read each sequence in both directions
            (:class:`helpers.bidirectional.BidirectionalRNN`) and classify from
            the two final states: the forward one after the last real step,
            the backward one after reading back to the first, combined by ``combine``.
        combine: one of :data:`helpers.bidirectional.COMBINE_MODES`; only with ``bidirectional``.
        **layer_kwargs: passed to the recurrent layer (``num_layers``, ``device``, ``dtype``...).
    """

    def __init__(
        self,
        vocab_size,
        num_classes,
        *,
        unit="GRU",
        embedding_dim=16,
        hidden_size=64,
        implementation="torch",
        bidirectional=False,
        combine="concat",
        **layer_kwargs,
    ):
        super().__init__()
        check_positive_int("num_classes", num_classes, minimum=2)
        self.implementation = check_choice("implementation", implementation, ("torch", "scratch"))
        self.bidirectional = bidirectional
        self.embedding, self.rnn, self.read_out = text_model_parts(
            vocab_size,
            num_classes,
            unit=unit,
            embedding_dim=embedding_dim,
            hidden_size=hidden_size,
            implementation=implementation,
            bidirectional=bidirectional,
            combine=combine,
            **layer_kwargs,
        )

    def forward(self, batch):
        """Logits ``(N, C)`` for a :class:`~helpers.text.PaddedBatch`."""
        if not isinstance(batch, PaddedBatch):
            raise TypeError(
                f"batch must be a helpers.text.PaddedBatch (tokens and lengths), got {_describe(batch)}"
            )
        vectors = self.embedding(batch.tokens)
        if self.bidirectional:
            _, last = self.rnn(
                vectors, batch.lengths
            )  # lengths handled by packing, both directions
        elif self.implementation == "torch":
            packed = pack_padded_sequence(
                vectors, batch.lengths.cpu(), batch_first=True, enforce_sorted=False
            )
            _, state = self.rnn(packed)
            h_n = state[0] if isinstance(state, tuple) else state  # an LSTM returns (h_n, c_n)
            last = h_n[-1]  # the top layer's state after each sequence's last real step
        else:
            outputs, _ = self.rnn(vectors)
            last = final_states(outputs, batch.mask)
        return self.read_out(last)


@torch.no_grad()
def accuracy(model, loader, *, device=None):
    """Fraction of examples of ``loader`` whose highest-scoring class is the target."""
    device = device or next(model.parameters()).device
    model.eval()
    correct = total = 0
    for batch, targets in loader:
        predictions = model(batch.to(device)).argmax(dim=-1)
        correct += int((predictions == targets.to(device)).sum())
        total += len(targets)
    return correct / total


def majority_accuracy(train_labels, test_labels):
    """Accuracy on ``test_labels`` of always answering the most common training label."""
    if not train_labels or not test_labels:
        raise ValueError("train_labels and test_labels must both be non-empty lists")
    majority = Counter(train_labels).most_common(1)[0][0]
    return sum(label == majority for label in test_labels) / len(test_labels)


class BagOfCharacters:
    """Logistic regression on character counts: a classifier that ignores order.

    Each text becomes the vector of how often each vocabulary entry occurs in
    it (``"anna"`` and ``"nana"`` look the same); a linear layer and softmax,
    with L2 regularisation ``weight_decay``, are fitted by full-batch L-BFGS, so
    the fit is deterministic.

    Args:
        vocab: a :class:`~helpers.text.Vocab`.
        classes: the list of labels.
        weight_decay: the L2 penalty on the weights (> 0).
    """

    def __init__(self, vocab, classes, *, weight_decay=1e-3):
        if not isinstance(vocab, Vocab):
            raise TypeError(f"vocab must be a helpers.text.Vocab, got {_describe(vocab)}")
        self.vocab = vocab
        self.classes = list(classes)
        self.weight_decay = check_positive_number("weight_decay", weight_decay)
        self.linear = nn.Linear(len(vocab), len(self.classes), dtype=torch.float64)

    def features(self, texts):
        """``(N, V)`` float64 counts of each id in each text."""
        texts = _check_texts("texts", texts)
        counts = torch.zeros(len(texts), len(self.vocab), dtype=torch.float64)
        for row, text in enumerate(texts):
            for index in self.vocab.encode(text):
                counts[row, index] += 1
        return counts

    def fit(self, texts, labels, *, max_iter=200):
        """Fit on ``texts`` and their ``labels``; returns ``self``."""
        x = self.features(texts)
        y = torch.tensor(_check_labels(labels, self.classes, len(texts)))
        optimizer = torch.optim.LBFGS(
            self.linear.parameters(), max_iter=max_iter, line_search_fn="strong_wolfe"
        )

        def closure():
            optimizer.zero_grad()
            loss = (
                F.cross_entropy(self.linear(x), y)
                + self.weight_decay * self.linear.weight.pow(2).sum()
            )
            loss.backward()
            return loss

        optimizer.step(closure)
        return self

    @torch.no_grad()
    def predict(self, texts):
        """The predicted label of each text."""
        scores = self.linear(self.features(texts))
        return [self.classes[i] for i in scores.argmax(dim=1).tolist()]

    def accuracy(self, texts, labels):
        """Fraction of ``texts`` whose predicted label is the given one."""
        predicted = self.predict(texts)
        return sum(p == t for p, t in zip(predicted, labels)) / len(labels)
