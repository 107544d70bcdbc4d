"""A character-level language model, its baselines, perplexity and sampling.

A language model gives the probability of the next character given the ones
before it. Each name is read as ``<bos> s m i t h`` and the model predicts
``s m i t h <eos>``, one character per step, so the whole name, end included,
gets a probability. The pieces:

- :func:`language_model_dataset`: names as (input, target) id sequences;
- :class:`CharLanguageModel`: embedding, recurrent layer (``torch.nn`` or the
  book's modules), linear read-out to one score per vocabulary entry;
- :func:`perplexity`: the exponential of the mean cross-entropy per predicted
  character over real (not padded) steps (the training loss is
  :func:`helpers.text.sequence_loss`);
- :class:`NgramModel`: the counting baselines (uniform, unigram, bigram, ...)
  with add-alpha smoothing, scored in the same units;
- :func:`sample`: names drawn from the model, character by character, with a
  temperature.
"""

import math
import numbers
from collections import Counter

import torch
from torch import nn
from torch.nn import functional as F

from helpers.experiments import text_model_parts
from helpers.text import BOS, EOS, IGNORE_INDEX, PaddedBatch, SequenceDataset, Vocab, _check_texts
from helpers.validation import _describe, check_positive_int, check_positive_number

__all__ = [
    "language_model_dataset",
    "CharLanguageModel",
    "perplexity",
    "NgramModel",
    "sample",
]


def _check_vocab(vocab):
    if not isinstance(vocab, Vocab):
        raise TypeError(f"vocab must be a helpers.text.Vocab, got {_describe(vocab)}")
    return vocab


def language_model_dataset(texts, vocab):
    """Each text as input ``<bos> + text`` and target ``text + <eos>`` (ids).

    The target at step t is the input at step t + 1: the model is asked for
    every next character, and at the last step for the end of the name. A text
    of L characters gives L + 1 steps.

    Args:
        texts: list of strings.
        vocab: the :class:`~helpers.text.Vocab` that turns characters into ids.

    Returns:
        a :class:`~helpers.text.SequenceDataset` of per-step targets, for
        :func:`helpers.text.make_sequence_loader`.
    """
    _check_vocab(vocab)
    texts = _check_texts("texts", texts)
    ids = [vocab.encode(text) for text in texts]
    lengths = [len(row) + 1 for row in ids]
    # One tensor for all texts, cut into views: much faster than a tensor per text.
    inputs = torch.tensor([i for row in ids for i in [vocab.bos_id, *row]]).split(lengths)
    targets = torch.tensor([i for row in ids for i in [*row, vocab.eos_id]]).split(lengths)
    return SequenceDataset(list(inputs), list(targets))


class CharLanguageModel(nn.Module):
    """Scores for the next token at every step: ids ``(N, T)`` to logits ``(N, T, V)``.

    The recurrent layer runs left to right, so the scores at step t depend on
    the ids at steps 0..t only: padding after a sequence's end changes nothing
    at its real steps, and a padded batch needs no packing.

    Args:
        vocab_size: V, the number of ids.
        unit: ``"RNN"``, ``"LSTM"`` or ``"GRU"``.
        embedding_dim: size of the learned vector of each token.
        hidden_size: H.
        implementation: ``"torch"`` (``torch.nn``) or ``"scratch"``
            (:mod:`helpers.modules`); the two have the same parameter names, so
            ``load_state_dict`` moves weights between them.
        **layer_kwargs: passed to the recurrent layer (``num_layers``, ``device``, ``dtype``...).
    """

    def __init__(self, vocab_size, *, unit="GRU", embedding_dim=32, hidden_size=128,
                 implementation="torch", **layer_kwargs):
        super().__init__()
        self.vocab_size = check_positive_int("vocab_size", vocab_size, minimum=2)
        self.embedding, self.rnn, self.read_out = text_model_parts(
            vocab_size, vocab_size, unit=unit, embedding_dim=embedding_dim,
            hidden_size=hidden_size, implementation=implementation, **layer_kwargs)

    def forward(self, x, state=None, *, return_state=False):
        """Logits ``(N, T, V)`` for a :class:`~helpers.text.PaddedBatch` or ids ``(N, T)``.

        ``state`` is the recurrent layer's state to start from (default zeros);
        with ``return_state=True`` the result is ``(logits, state)``, so a
        caller can continue the sequences step by step, as :func:`sample` does.
        """
        tokens = x.tokens if isinstance(x, PaddedBatch) else x
        if not isinstance(tokens, torch.Tensor) or tokens.dim() != 2:
            raise ValueError(f"x must be a PaddedBatch or ids of shape (N, T), got {_describe(x)}")
        if tokens.dtype.is_floating_point or tokens.dtype.is_complex or tokens.dtype == torch.bool:
            raise TypeError(f"x must hold integer ids (int64), got {_describe(tokens)}")
        if tokens.numel() and not 0 <= int(tokens.min()) <= int(tokens.max()) < self.vocab_size:
            raise ValueError(
                f"x holds ids from {int(tokens.min())} to {int(tokens.max())}; "
                f"this model scores ids 0 .. {self.vocab_size - 1}"
            )
        outputs, new_state = self.rnn(self.embedding(tokens), state)
        logits = self.read_out(outputs)
        return (logits, new_state) if return_state else logits


@torch.no_grad()
def perplexity(model, loader, *, device=None):
    """``exp`` of the mean negative log-likelihood per predicted token over a loader.

    Every real step of every sequence counts once (the sum of the losses over
    the number of predicted tokens), so batch sizes and lengths do not weight
    the result. The model is left in evaluation mode.

    Args:
        model: maps a batch to logits ``(N, T, V)``.
        loader: ``(PaddedBatch, targets)`` pairs from
            :func:`helpers.text.make_sequence_loader`, targets ``(N, T)``
            padded with :data:`~helpers.text.IGNORE_INDEX`.
        device: where to compute; default the device of the model's parameters.

    Returns:
        dict with ``perplexity``, ``nll`` (nats per token) and ``tokens``.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {_describe(model)}")
    device = device or next(model.parameters()).device
    model.eval()
    total, count = 0.0, 0
    for batch, targets in loader:
        batch, targets = batch.to(device), targets.to(device)
        logits = model(batch)
        if logits.dim() != 3 or logits.shape[:2] != targets.shape:
            raise ValueError(
                f"model must return logits (N, T, V) for targets (N, T) = "
                f"{tuple(targets.shape)}, got {_describe(logits)}"
            )
        total += F.cross_entropy(logits.transpose(1, 2).double(), targets,
                                 ignore_index=IGNORE_INDEX, reduction="sum").item()
        count += int((targets != IGNORE_INDEX).sum())
    if count == 0:
        raise ValueError("loader holds no target tokens to score")
    return {"perplexity": math.exp(total / count), "nll": total / count, "tokens": count}


class NgramModel:
    """A character n-gram model with add-alpha smoothing: the counting baseline.

    It predicts each character (and the end ``<eos>``) from the ``n - 1``
    before it, by how often that continuation followed the same context in the
    training texts, plus ``alpha`` for every possible outcome so nothing unseen
    gets probability zero:

        P(c | context) = (count(context, c) + alpha) / (count(context) + alpha * K)

    with K the number of outcomes (the vocabulary's characters and ``<eos>``).
    A context at the start of a text is filled with ``<bos>``. ``n = 1`` is the
    unigram model (no context); ``alpha = math.inf`` is the uniform model,
    ``1 / K`` everywhere, whose perplexity is exactly K. ``alpha`` may be
    changed after :meth:`fit` (to choose it on validation data without
    counting again).

    Args:
        n: order of the model (int >= 1).
        vocab: a :class:`~helpers.text.Vocab` of characters; its non-special
            tokens and ``<eos>`` are the outcomes.
        alpha: the smoothing count (> 0, or ``math.inf``).
    """

    def __init__(self, n, vocab, *, alpha=1.0):
        self.n = check_positive_int("n", n)
        self.vocab = _check_vocab(vocab)
        if vocab.level != "char":
            raise ValueError(f"NgramModel counts characters: vocab must have level='char', "
                             f"got level={vocab.level!r}")
        self.alpha = alpha
        self.outcomes = [t for t in vocab.itos if t not in ("<pad>", "<unk>", BOS)]
        self._known = set(self.outcomes) - {EOS}
        self.counts = Counter()  # (n - 1 context tokens..., token) -> count
        self.context_counts = Counter()  # context tuple -> count

    @property
    def alpha(self):
        """The smoothing count added to every outcome of every context."""
        return self._alpha

    @alpha.setter
    def alpha(self, value):
        if isinstance(value, numbers.Real) and not isinstance(value, bool) and value == math.inf:
            self._alpha = math.inf
        else:
            self._alpha = check_positive_number("alpha", value)

    def __repr__(self):
        return (f"NgramModel(n={self.n}, alpha={self.alpha:g}, {len(self.outcomes)} outcomes, "
                f"{sum(self.context_counts.values())} counted events)")

    def _tokens(self, name, index, text):
        unknown = sorted(set(text) - self._known)
        if unknown:
            raise ValueError(
                f"{name}[{index}] = {text!r} holds {unknown}, which the vocabulary lacks; "
                "an n-gram model scores only the vocabulary's characters"
            )
        return [BOS] * (self.n - 1) + list(text) + [EOS]

    def _count(self, name, texts):
        """A Counter of the (context..., token) n-grams of ``texts``, one per predicted token."""
        stream = []
        for index, text in enumerate(_check_texts(name, texts)):
            stream += self._tokens(name, index, text)
        # Each text starts with n - 1 <bos>, so the n-grams that run from one text
        # into the next are exactly those that end in <bos>: counted, then dropped.
        grams = Counter(zip(*(stream[i:] for i in range(self.n))))
        for gram in [gram for gram in grams if gram[-1] == BOS]:
            del grams[gram]
        return grams

    def fit(self, texts):
        """Count the n-grams of ``texts`` (a list of strings); returns ``self``."""
        new = self._count("texts", texts)
        self.counts.update(new)
        for gram, count in new.items():
            self.context_counts[gram[:-1]] += count
        return self

    def _probability(self, gram):
        K = len(self.outcomes)
        if self.alpha == math.inf:
            return 1.0 / K
        return (self.counts[gram] + self.alpha) / (self.context_counts[gram[:-1]] + self.alpha * K)

    def probability(self, context, token):
        """P(token | context), ``context`` the tuple of the n - 1 tokens before ``token``."""
        if not isinstance(context, tuple) or len(context) != self.n - 1:
            raise ValueError(f"context must be a tuple of n - 1 = {self.n - 1} tokens, "
                             f"got {_describe(context)}")
        allowed = self._known | {BOS}
        if any(not isinstance(c, str) or c not in allowed for c in context):
            raise ValueError(f"context must hold characters of the vocabulary or '<bos>', "
                             f"got {context!r}")
        if token not in self.outcomes:
            raise ValueError(f"token must be one of the {len(self.outcomes)} outcomes "
                             f"(a character of the vocabulary or '<eos>'), got {token!r}")
        return self._probability((*context, token))

    def nll(self, texts):
        """Mean negative log-likelihood per predicted token (nats), and the number of tokens."""
        grams = self._count("texts", texts)  # each distinct n-gram scored once
        total = -sum(count * math.log(self._probability(gram)) for gram, count in grams.items())
        count = sum(grams.values())
        return total / count, count

    def perplexity(self, texts):
        """Per-token perplexity on ``texts`` (each character and each end counts once)."""
        return math.exp(self.nll(texts)[0])


@torch.no_grad()
def sample(model, vocab, *, num_samples=10, temperature=1.0, max_length=20, seed=0):
    """Draw texts from a language model, one character at a time.

    Each text starts from ``<bos>``; at every step the next id is drawn from
    ``softmax(logits / temperature)`` over the characters and ``<eos>``
    (``<pad>``, ``<unk>`` and ``<bos>`` are never drawn) until ``<eos>`` or
    ``max_length`` characters. A temperature below 1 sharpens the distribution
    (safer, more repetitive texts), above 1 flattens it (more varied, more
    mistakes); as it goes to 0 every draw becomes the most likely character.

    Args:
        model: a :class:`CharLanguageModel`.
        vocab: the vocabulary it was trained with.
        num_samples: how many texts (int >= 1).
        temperature: > 0.
        max_length: the longest text (int >= 1); longer texts are cut there.
        seed: seeds the ``torch.Generator`` of the draws (int >= 0).

    Returns:
        list of ``num_samples`` strings. The model is left in evaluation mode.
    """
    if not isinstance(model, CharLanguageModel):
        raise TypeError(f"model must be a CharLanguageModel, got {_describe(model)}")
    _check_vocab(vocab)
    if len(vocab) != model.vocab_size:
        raise ValueError(f"vocab has {len(vocab)} tokens but the model scores "
                         f"{model.vocab_size}: pass the vocabulary the model was trained with")
    num_samples = check_positive_int("num_samples", num_samples)
    temperature = check_positive_number("temperature", temperature)
    max_length = check_positive_int("max_length", max_length)
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise TypeError(f"seed must be an int >= 0, got {_describe(seed)}")
    device = next(model.parameters()).device
    generator = torch.Generator(device=device).manual_seed(int(seed))
    model.eval()
    never = torch.tensor([vocab.pad_id, vocab.unk_id, vocab.bos_id], device=device)
    tokens = torch.full((num_samples, 1), vocab.bos_id, dtype=torch.long, device=device)
    state, drawn = None, []
    finished = torch.zeros(num_samples, dtype=torch.bool, device=device)
    for _ in range(max_length + 1):
        logits, state = model(tokens, state, return_state=True)
        scores = logits[:, -1].double()
        scores[:, never] = -math.inf
        # Subtracting the maximum first keeps a tiny temperature finite: the best
        # character scores 0, the others -large (or -inf), never NaN.
        scores = (scores - scores.max(dim=-1, keepdim=True).values) / temperature
        tokens = torch.multinomial(F.softmax(scores, dim=-1), 1, generator=generator)
        drawn.append(tokens[:, 0])
        finished |= tokens[:, 0] == vocab.eos_id
        if bool(finished.all()):
            break
    texts = []
    for row in torch.stack(drawn, dim=1).tolist():
        ids = row[: row.index(vocab.eos_id)] if vocab.eos_id in row else row
        texts.append(vocab.decode(ids[:max_length]))
    return texts
