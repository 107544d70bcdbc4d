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
  temperature;
- :func:`surname_splits` and :func:`train_surname_model`: the chapter's data
  (the census surnames, split by name) and its GRU trained to a stated
  criterion, the one function that both the chapter and the long sweep
  ``benchmarks/experiments/lm_gru_tuning.py`` run, so the two cannot diverge.

The strongest counting baseline, Kneser-Ney smoothing, is in :mod:`helpers.ngram`.
"""

import base64
import itertools
import math
import numbers
import time
from collections import Counter

import torch
from torch import nn
from torch.nn import functional as F

from helpers.device import supports_float64
from helpers.text import (
    BOS,
    EOS,
    IGNORE_INDEX,
    PaddedBatch,
    SequenceDataset,
    Vocab,
    _check_texts,
    make_sequence_loader,
    sequence_loss,
    split_items,
)
from helpers.text_models import text_model_parts
from helpers.validation import (
    _describe,
    check_choice,
    check_positive_int,
    check_positive_number,
    check_seed,
)

__all__ = [
    "language_model_dataset",
    "CharLanguageModel",
    "perplexity",
    "NgramModel",
    "sample",
    "surname_splits",
    "train_surname_model",
    "encode_state_dict",
    "load_surname_model",
]


def _check_context_and_token(context, token, size_name, size, known, outcomes):
    """Check the ``(context, token)`` of an n-gram model's ``probability``.

    ``context`` must be a tuple of ``size - 1`` characters of the vocabulary
    (``known``) or ``<bos>``, and ``token`` one of ``outcomes``; ``size_name``
    names the model's n (``"n"``, ``"order"``) in the message.
    """
    if not isinstance(context, tuple) or len(context) != size - 1:
        raise ValueError(
            f"context must be a tuple of {size_name} - 1 = {size - 1} tokens, "
            f"got {_describe(context)}"
        )
    allowed = known | {BOS}
    if any(not isinstance(c, str) or c not in allowed for c in context):
        raise ValueError(
            f"context must hold characters of the vocabulary or '<bos>', got {context!r}"
        )
    if token not in outcomes:
        raise ValueError(
            f"token must be one of the {len(outcomes)} outcomes "
            f"(a character of the vocabulary or '<eos>'), got {token!r}"
        )


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
        dropout: the probability of zeroing each number of the embeddings and of
            the recurrent layer's outputs during training (dropout on the
            non-recurrent connections, as in Zaremba et al. 2014); 0 (the
            default) leaves the model unchanged.
        **layer_kwargs: passed to the recurrent layer (``num_layers``, ``device``, ``dtype``...).
    """

    def __init__(
        self,
        vocab_size,
        *,
        unit="GRU",
        embedding_dim=32,
        hidden_size=128,
        implementation="torch",
        dropout=0.0,
        **layer_kwargs,
    ):
        super().__init__()
        self.vocab_size = check_positive_int("vocab_size", vocab_size, minimum=2)
        if (
            isinstance(dropout, bool)
            or not isinstance(dropout, numbers.Real)
            or not 0 <= dropout < 1
        ):
            raise ValueError(f"dropout must be a number in [0, 1), got {dropout!r}")
        self.embedding, self.rnn, self.read_out = text_model_parts(
            vocab_size,
            vocab_size,
            unit=unit,
            embedding_dim=embedding_dim,
            hidden_size=hidden_size,
            implementation=implementation,
            **layer_kwargs,
        )
        # Identity at 0: no random numbers drawn, so seeds give the same runs as before
        self.dropout = nn.Dropout(float(dropout)) if dropout else nn.Identity()

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
        outputs, new_state = self.rnn(self.dropout(self.embedding(tokens)), state)
        logits = self.read_out(self.dropout(outputs))
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
        if not supports_float64(logits.device):  # Apple's MPS: sum in float64 on the CPU
            logits, targets = logits.cpu(), targets.cpu()
        total += F.cross_entropy(
            logits.transpose(1, 2).double(), targets, ignore_index=IGNORE_INDEX, reduction="sum"
        ).item()
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
            raise ValueError(
                f"NgramModel counts characters: vocab must have level='char', "
                f"got level={vocab.level!r}"
            )
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
        return (
            f"NgramModel(n={self.n}, alpha={self.alpha:g}, {len(self.outcomes)} outcomes, "
            f"{sum(self.context_counts.values())} counted events)"
        )

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
        _check_context_and_token(context, token, "n", self.n, self._known, self.outcomes)
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
        raise ValueError(
            f"vocab has {len(vocab)} tokens but the model scores "
            f"{model.vocab_size}: pass the vocabulary the model was trained with"
        )
    num_samples = check_positive_int("num_samples", num_samples)
    temperature = check_positive_number("temperature", temperature)
    max_length = check_positive_int("max_length", max_length)
    seed = check_seed("seed", seed)
    device = next(model.parameters()).device
    generator = torch.Generator(device=device).manual_seed(int(seed))
    model.eval()
    never = torch.tensor([vocab.pad_id, vocab.unk_id, vocab.bos_id], device=device)
    tokens = torch.full((num_samples, 1), vocab.bos_id, dtype=torch.long, device=device)
    state, drawn = None, []
    finished = torch.zeros(num_samples, dtype=torch.bool, device=device)
    for _ in range(max_length + 1):
        logits, state = model(tokens, state, return_state=True)
        scores = logits[:, -1].to(torch.float64 if supports_float64(device) else torch.float32)
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


def surname_splits(*, seed=0):
    """The 88,799 census surnames, split into train (80%), validation and test (10% each).

    The split is by name (:func:`helpers.text.split_items`): every surname is
    distinct and lies in exactly one split.
    """
    from helpers.corpora import census_names

    return split_items([name for name, _ in census_names("last")], seed=seed)


def _round(values, digits=7):
    return [float(f"{value:.{digits}g}") for value in values]


def train_surname_model(
    *,
    seed,
    hidden_size=128,
    dropout=0.0,
    learning_rate=3e-3,
    embedding_dim=32,
    batch_size=64,
    max_epochs=40,
    patience=3,
    max_steps=None,
    implementation="torch",
    splits=None,
    device="cpu",
    score_test=False,
    progress=False,
):
    """Train the chapter's GRU language model on the census surnames, to early stopping.

    The stated criterion: Adam at ``learning_rate``, batches of ``batch_size``
    names of similar length (:class:`helpers.text.LengthBatchSampler`, in an
    order drawn from ``seed``), until the validation cross-entropy has not
    improved for ``patience`` epochs (or ``max_epochs``), ending with the
    weights of the best epoch. The validation set is scored as one batch, so
    ``val_loss`` is exactly the cross-entropy per predicted character. With
    ``max_steps`` it trains only the first ``max_steps`` batches of the first
    epoch: the same steps, in the same order, as the full run (a short live
    rerun of a stored one).

    Args:
        seed: seeds the initial weights, the dropout masks and the batch order.
        hidden_size, dropout, learning_rate, embedding_dim, batch_size: the
            model and optimiser (see :class:`CharLanguageModel`).
        max_epochs, patience: the budget and the early-stopping patience.
        max_steps: stop after this many steps of the first epoch (int), or None.
        implementation: ``"torch"`` or ``"scratch"`` (the book's GRU).
        splits: the ``{"train", "validation", "test"}`` name lists (default
            :func:`surname_splits`); the vocabulary is that of the training names.
        device: where to train.
        score_test: also compute the test perplexity of the final model.
        progress: show a progress bar.

    Returns:
        ``(model, record)``: the trained model (in evaluation mode) and a
        JSON-able dict with ``parameters``, per-epoch ``train_loss`` (mean of
        the epoch's batch losses) and ``val_loss`` (nats per character),
        ``best_epoch``, ``stopped_early``, ``val_perplexity`` (of the best
        epoch), ``test_perplexity`` (or None), ``step_loss`` (every training
        step's loss in the first epoch), ``seconds_per_epoch`` and ``vocab_size``.
    """
    from helpers.training import EarlyStopping, train

    seed = check_seed("seed", seed)
    check_choice("implementation", implementation, ("torch", "scratch"))
    if max_steps is not None:
        max_steps = check_positive_int("max_steps", max_steps)
    if not isinstance(score_test, bool):
        raise TypeError(f"score_test must be True or False, got {_describe(score_test)}")
    splits = surname_splits() if splits is None else splits
    if not isinstance(splits, dict) or set(splits) != {"train", "validation", "test"}:
        raise TypeError(
            f"splits must be a dict with 'train', 'validation' and 'test' lists, "
            f"got {_describe(splits)}"
        )
    vocab = Vocab(splits["train"])
    datasets = {split: language_model_dataset(names, vocab) for split, names in splits.items()}

    def whole(split):  # one batch: the loss is the exact mean over its characters
        return make_sequence_loader(
            datasets[split], pad_id=vocab.pad_id, batch_size=len(datasets[split]), shuffle=False
        )

    torch.manual_seed(seed)
    model = CharLanguageModel(
        len(vocab),
        unit="GRU",
        embedding_dim=embedding_dim,
        hidden_size=hidden_size,
        implementation=implementation,
        dropout=dropout,
        device=device,
    )
    train_loader = make_sequence_loader(
        datasets["train"],
        pad_id=vocab.pad_id,
        batch_size=batch_size,
        shuffle=True,
        seed=seed,
        by_length=True,
    )
    optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate)
    start = time.perf_counter()
    if max_steps is None:
        history = train(
            model,
            train_loader,
            sequence_loss,
            epochs=max_epochs,
            optimizer=optimizer,
            val_loader=whole("validation"),
            early_stopping=EarlyStopping(patience=patience),
            device=device,
            progress=progress,
            description=f"GRU {hidden_size}, seed {seed}",
        )
        best_epoch = history.best_epoch
    else:
        steps = list(itertools.islice(iter(train_loader), max_steps))
        history = train(
            model,
            steps,
            sequence_loss,
            epochs=1,
            optimizer=optimizer,
            val_loader=whole("validation"),
            device=device,
            progress=progress,
            description=f"GRU {hidden_size}, seed {seed}, {len(steps)} steps",
        )
        best_epoch = 1
    seconds = time.perf_counter() - start
    model.eval()
    val_loss = history["val_loss"]
    record = {
        "parameters": sum(p.numel() for p in model.parameters()),
        "vocab_size": len(vocab),
        "train_loss": _round(history["train_loss"]),
        "val_loss": _round(val_loss),
        "best_epoch": best_epoch,
        "epochs_run": len(val_loss),
        "stopped_early": bool(getattr(history, "stopped_early", False)),
        "val_perplexity": math.exp(val_loss[best_epoch - 1]),
        "test_perplexity": (
            perplexity(model, whole("test"), device=device)["perplexity"] if score_test else None
        ),
        "step_loss": _round(history.step_loss[: len(train_loader)]),
        "seconds_per_epoch": round(seconds / len(val_loss), 2),
    }
    return model, record


def encode_state_dict(model):
    """A model's weights as JSON-able text: ``{name: {"shape", "data"}}``, float32 in base64."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {_describe(model)}")
    encoded = {}
    for name, tensor in model.state_dict().items():
        array = tensor.detach().to("cpu", torch.float32).contiguous().numpy()
        encoded[name] = {
            "shape": list(array.shape),
            "data": base64.b64encode(array.tobytes()).decode("ascii"),
        }
    return encoded


def _decode_state_dict(encoded):
    import numpy as np

    return {
        name: torch.from_numpy(
            np.frombuffer(base64.b64decode(entry["data"]), dtype=np.float32)
            .reshape(entry["shape"])
            .copy()
        )
        for name, entry in encoded.items()
    }


def load_surname_model(artefact, *, device="cpu"):
    """The final seed-0 model of the ``lm_gru`` artefact, with its stored weights.

    Args:
        artefact: the dict :func:`helpers.artefacts.load_artefact` returns for ``"lm_gru"``.
        device: where to put the model.

    Returns:
        a :class:`CharLanguageModel` in evaluation mode.
    """
    try:
        chosen = artefact["summary"]["chosen"]
        weights = _decode_state_dict(artefact["summary"]["weights_of_seed_0"])
        settings = artefact["settings"]
    except (KeyError, TypeError):
        raise ValueError(
            "artefact must be the loaded 'lm_gru' artefact, with summary.chosen "
            "and summary.weights_of_seed_0"
        ) from None
    model = CharLanguageModel(
        weights["embedding.weight"].shape[0],
        unit="GRU",
        embedding_dim=settings["embedding_dim"],
        hidden_size=chosen["hidden_size"],
        dropout=chosen["dropout"],
    )
    model.load_state_dict(weights)
    return model.to(device).eval()
