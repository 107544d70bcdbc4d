"""Sequence to sequence: an encoder reads the source, a decoder writes the target token by token.

- :class:`Encoder`: embedding and a GRU over the padded source (packed, so each
  source's states stop at its length); returns every state (the memory) and
  the final state.
- :class:`Decoder`: embedding, GRU and read-out. Without attention, every step
  reads the encoder's final state as its context (Cho et al. 2014); with an
  attention module from :mod:`helpers.attention`, the context of step t is
  the attention of the previous decoder state over the memory, padded source
  positions masked (Bahdanau et al. 2015).
- :class:`Seq2Seq`: teacher forcing for training (:meth:`Seq2Seq.forward`),
  :meth:`Seq2Seq.greedy_decode` and :meth:`Seq2Seq.beam_search` (with GNMT's
  length penalty, :func:`gnmt_length_penalty`) for inference.

- :class:`TranslationBatch` and :func:`make_translation_loader`: padded
  ``(source, target)`` pairs in the form :func:`helpers.training.train` feeds
  to a model, :func:`train_translation`, the book's recipe for training on
  them (with :func:`sequence_exact_match` on validation), and
  :func:`translate`, which turns source texts into output texts;
- :func:`exact_match`, :func:`exact_match_by_length` and
  :func:`character_error_rate`: how good the outputs are, per sentence and
  over the corpus.

Token ids follow :class:`helpers.text.Vocab`: targets start with ``<bos>`` and
end with ``<eos>``; padding is ``<pad>``.
"""

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence
from torch.utils.data import DataLoader

from helpers.text import IGNORE_INDEX, Vocab, _shuffle_generator, pad_sequences, sequence_loss
from helpers.training import train
from helpers.validation import _describe, check_choice, check_lengths, check_positive_int

__all__ = [
    "Encoder",
    "Decoder",
    "Seq2Seq",
    "TranslationBatch",
    "make_translation_loader",
    "train_translation",
    "sequence_exact_match",
    "gnmt_length_penalty",
    "translate",
    "exact_match",
    "exact_match_by_length",
    "character_error_rate",
]


def _check_source(source, source_lengths):
    if not isinstance(source, torch.Tensor) or source.dim() != 2 or source.is_floating_point():
        raise ValueError(f"source must be an integer tensor of ids (N, S), got {_describe(source)}")
    check_lengths("source_lengths", source_lengths, *source.shape, symbol="S")


class Encoder(nn.Module):
    """Embedding and a one-layer GRU over padded source ids.

    Args:
        vocab_size, embedding_dim, hidden_size: V, E and H.
        bidirectional: read the source both ways (Bahdanau et al. 2015), with
            H / 2 units per direction (H must be even), so every state of the
            memory describes its word in the context of the whole source and the
            memory and final state still have size H.
        **factory: ``device`` and ``dtype``.
    """

    def __init__(self, vocab_size, embedding_dim, hidden_size, *, bidirectional=False, **factory):
        super().__init__()
        self.embedding = nn.Embedding(
            check_positive_int("vocab_size", vocab_size),
            check_positive_int("embedding_dim", embedding_dim),
            **factory,
        )
        check_positive_int("hidden_size", hidden_size)
        self.bidirectional = check_choice("bidirectional", bidirectional, (True, False))
        if bidirectional and hidden_size % 2:
            raise ValueError(
                f"a bidirectional encoder splits hidden_size between its two "
                f"directions, so it must be even; got {hidden_size}"
            )
        self.rnn = nn.GRU(
            embedding_dim,
            hidden_size // 2 if bidirectional else hidden_size,
            batch_first=True,
            bidirectional=bidirectional,
            **factory,
        )
        self.hidden_size = hidden_size

    def forward(self, source, source_lengths):
        """``(memory (N, S, H), final (N, H))`` for ids ``(N, S)`` with true lengths ``(N,)``.

        ``memory`` is zero at padded positions; ``final`` is each source's state
        after its last real token (bidirectional: the forward state after the
        last token next to the backward state after the first).
        """
        _check_source(source, source_lengths)
        packed = pack_padded_sequence(
            self.embedding(source), source_lengths.cpu(), batch_first=True, enforce_sorted=False
        )
        outputs, h_n = self.rnn(packed)
        memory, _ = pad_packed_sequence(outputs, batch_first=True, total_length=source.shape[1])
        return memory, torch.cat(list(h_n), dim=-1)


class Decoder(nn.Module):
    """One step at a time: the previous token and a context give the next token's scores.

    Args:
        vocab_size, embedding_dim, hidden_size: V, E and H (H is also the
            encoder's hidden size: the decoder starts from its final state).
        attention: ``None`` (the context is the encoder's final state at every
            step) or an attention module called as ``attention(query (N, 1, H),
            memory, memory, source_lengths)``.
        **factory: ``device`` and ``dtype``.
    """

    def __init__(self, vocab_size, embedding_dim, hidden_size, attention=None, **factory):
        super().__init__()
        self.embedding = nn.Embedding(
            check_positive_int("vocab_size", vocab_size),
            check_positive_int("embedding_dim", embedding_dim),
            **factory,
        )
        check_positive_int("hidden_size", hidden_size)
        self.attention = attention
        self.cell = nn.GRUCell(embedding_dim + hidden_size, hidden_size, **factory)
        self.read_out = nn.Linear(2 * hidden_size, vocab_size, **factory)

    def step(self, token, state, memory, final, source_lengths, keys=None):
        """One decoding step.

        Args:
            token: the previous token ids ``(N,)``.
            state: the decoder's state ``(N, H)``.
            memory, final, source_lengths: what :class:`Encoder` returned, and the lengths.
            keys: optional, :meth:`prepare_keys` of ``memory`` (the same result, faster).

        Returns:
            ``(logits (N, V), new state (N, H), weights (N, S) or None)``.
        """
        if self.attention is None:
            context, weights = final, None
        else:
            extra = {} if keys is None else {"projected_keys": keys}
            context, weights = self.attention(
                state[:, None], memory, memory, source_lengths, **extra
            )
            context, weights = context[:, 0], weights[:, 0]
        state = self.cell(torch.cat([self.embedding(token), context], dim=-1), state)
        return self.read_out(torch.cat([state, context], dim=-1)), state, weights

    def prepare_keys(self, memory):
        """What every step's attention computes from the memory alone, computed once.

        For additive attention, ``W_k h_s`` for every encoder state; ``None``
        for attention without such a projection (or no attention).
        """
        project = getattr(self.attention, "project_keys", None)
        return None if project is None else project(memory)


class Seq2Seq(nn.Module):
    """An :class:`Encoder` and a :class:`Decoder`, trained with teacher forcing.

    Args:
        encoder, decoder: the two parts (the same H).
        bos_id, eos_id: the ids that start and end a target.
    """

    def __init__(self, encoder, decoder, *, bos_id, eos_id):
        super().__init__()
        if not isinstance(encoder, Encoder) or not isinstance(decoder, Decoder):
            raise TypeError(
                f"encoder and decoder must be helpers.seq2seq.Encoder and Decoder, "
                f"got {type(encoder).__name__} and {type(decoder).__name__}"
            )
        self.encoder, self.decoder = encoder, decoder
        self.bos_id, self.eos_id = bos_id, eos_id

    def forward(self, source, source_lengths=None, target_inputs=None):
        """Logits ``(N, T, V)`` for every target position, given the previous true tokens.

        ``target_inputs`` ``(N, T)`` is the target shifted right: ``<bos> y_1 ...
        y_{T-1}``; the loss compares the logits with ``y_1 ... y_T`` (padded
        with ``IGNORE_INDEX``, see :func:`helpers.text.sequence_loss`).
        ``model(batch)`` with one :class:`TranslationBatch` is the same call
        (that is how :func:`helpers.training.train` calls it).
        """
        if isinstance(source, TranslationBatch):
            if source_lengths is not None or target_inputs is not None:
                raise TypeError(
                    "pass either a TranslationBatch alone or "
                    "(source, source_lengths, target_inputs)"
                )
            source, source_lengths, target_inputs = (
                source.source,
                source.source_lengths,
                source.target_inputs,
            )
        if (
            not isinstance(target_inputs, torch.Tensor)
            or target_inputs.dim() != 2
            or target_inputs.shape[0] != source.shape[0]
        ):
            raise ValueError(
                f"target_inputs must be ids of shape (N, T) with N = {source.shape[0]}, "
                f"got {_describe(target_inputs)}"
            )
        memory, final = self.encoder(source, source_lengths)
        keys = self.decoder.prepare_keys(memory)
        state, logits = final, []
        for t in range(target_inputs.shape[1]):
            step_logits, state, _ = self.decoder.step(
                target_inputs[:, t], state, memory, final, source_lengths, keys
            )
            logits.append(step_logits)
        return torch.stack(logits, dim=1)

    @torch.no_grad()
    def greedy_decode(self, source, source_lengths, *, max_length):
        """The most likely next token at every step, until ``<eos>`` or ``max_length`` tokens.

        Returns:
            ``(tokens, weights)``: per source, the list of output ids (without
            ``<bos>``, with ``<eos>`` if it was produced), and the attention
            weights ``(steps, S)`` of each (``None`` without attention).
        """
        check_positive_int("max_length", max_length)
        memory, final = self.encoder(source, source_lengths)
        N = source.shape[0]
        token = torch.full((N,), self.bos_id, dtype=torch.long, device=source.device)
        keys = self.decoder.prepare_keys(memory)
        state, outputs, maps = final, [], []
        for _ in range(max_length):
            logits, state, weights = self.decoder.step(
                token, state, memory, final, source_lengths, keys
            )
            token = logits.argmax(dim=-1)
            outputs.append(token)
            maps.append(weights)
        outputs = torch.stack(outputs, dim=1).tolist()
        tokens, attention = [], []
        for n, row in enumerate(outputs):
            length = row.index(self.eos_id) + 1 if self.eos_id in row else len(row)
            tokens.append(row[:length])
            attention.append(
                None if maps[0] is None else torch.stack([m[n] for m in maps[:length]]).cpu()
            )
        return tokens, attention

    @torch.no_grad()
    def beam_search(self, source, source_lengths, *, beam_width, max_length, length_penalty=0.0):
        """The best outputs found by keeping the ``beam_width`` best partial outputs at every step.

        A finished output (ending in ``<eos>``) of L tokens (``<eos>``
        included) with total log probability ``s`` scores ``s / lp(L)``, with
        GNMT's length penalty (Wu et al. 2016)
        ``lp(L) = ((5 + L) / (5 + 1)) ** length_penalty``: 0 ranks by
        probability alone (which favours short outputs); larger values divide
        the (negative) log probability of longer outputs by more, so they are
        penalised less. An output that reaches ``max_length`` tokens without
        ``<eos>`` is kept as it is.

        Returns:
            per source, ``(tokens, score)`` of the best output found.
        """
        beam_width = check_positive_int("beam_width", beam_width)
        check_positive_int("max_length", max_length)
        if not isinstance(length_penalty, (int, float)) or length_penalty < 0:
            raise ValueError(
                f"length_penalty must be a number >= 0, got {_describe(length_penalty)}"
            )
        memory, final = self.encoder(source, source_lengths)
        results = []
        for n in range(source.shape[0]):
            one = (memory[n : n + 1], final[n : n + 1], source_lengths[n : n + 1])
            results.append(self._beam_one(*one, beam_width, max_length, length_penalty))
        return results

    def _beam_one(self, memory, final, lengths, beam_width, max_length, length_penalty):
        def normalised(log_probability, length):
            return log_probability / gnmt_length_penalty(length, length_penalty)

        beams = [([], 0.0, final)]  # (tokens, log probability, decoder state)
        finished = []
        for _ in range(max_length):
            tokens = torch.tensor(
                [b[0][-1] if b[0] else self.bos_id for b in beams], device=final.device
            )
            states = torch.cat([b[2] for b in beams])
            k = len(beams)
            logits, new_states, _ = self.decoder.step(
                tokens, states, memory.expand(k, -1, -1), final.expand(k, -1), lengths.expand(k)
            )
            log_probs = torch.log_softmax(logits, dim=-1)
            candidates = []
            for b, (prefix, score, _) in enumerate(beams):
                top = torch.topk(log_probs[b], min(beam_width, log_probs.shape[1]))
                for value, index in zip(top.values.tolist(), top.indices.tolist()):
                    candidates.append((prefix + [index], score + value, new_states[b : b + 1]))
            candidates.sort(key=lambda c: c[1], reverse=True)
            beams = []
            for candidate in candidates:
                if candidate[0][-1] == self.eos_id:
                    finished.append(candidate)
                else:
                    beams.append(candidate)
                if len(beams) == beam_width:
                    break
            # stop when no open beam can still beat the best finished output
            # (log probabilities only fall as tokens are added)
            if not beams or (
                finished and length_penalty == 0 and max(f[1] for f in finished) >= beams[0][1]
            ):
                break
        # finished outputs, and open ones that ran to max_length without <eos>
        pool = finished + [b for b in beams if len(b[0]) == max_length]
        best = max(pool, key=lambda c: normalised(c[1], len(c[0])))
        return best[0], normalised(best[1], len(best[0]))


def gnmt_length_penalty(length, alpha):
    """GNMT's length penalty ``(5 + length) ** alpha / (5 + 1) ** alpha`` (Wu et al. 2016).

    Beam search divides an output's log probability by it (GNMT adds a
    coverage penalty too, which this book leaves out): ``alpha = 0`` is no
    normalisation, and larger ``alpha`` favours longer outputs more. It is 1
    for an output of one token whatever ``alpha``.
    """
    return ((5 + length) / 6) ** alpha


@dataclass
class TranslationBatch:
    """The model's input for a batch of pairs: padded source ids, their lengths, target inputs.

    ``source`` ``(N, S)``, ``source_lengths`` ``(N,)``, ``target_inputs``
    ``(N, T)`` (``<bos> y_1 ... y_{T-1}``, padded). It moves like a tensor
    (``batch.to(device)``), except the lengths, which packing wants on the CPU.
    """

    source: torch.Tensor
    source_lengths: torch.Tensor
    target_inputs: torch.Tensor

    def to(self, device):
        return TranslationBatch(
            self.source.to(device), self.source_lengths, self.target_inputs.to(device)
        )

    def __len__(self):
        return self.source.shape[0]


def _check_pairs(pairs):
    if isinstance(pairs, (str, torch.Tensor)) or not isinstance(pairs, (list, tuple)) or not pairs:
        raise TypeError(
            f"pairs must be a non-empty list of (source, target) strings, got {_describe(pairs)}"
        )
    for index, pair in enumerate(pairs):
        if not (
            isinstance(pair, (tuple, list))
            and len(pair) == 2
            and all(isinstance(text, str) and text for text in pair)
        ):
            raise TypeError(
                f"pairs[{index}] must be a (source, target) pair of non-empty strings, got {pair!r}"
            )
    return pairs


def _check_vocab(name, vocab):
    if not isinstance(vocab, Vocab):
        raise TypeError(f"{name} must be a helpers.text.Vocab, got {_describe(vocab)}")
    return vocab


def make_translation_loader(pairs, source_vocab, target_vocab, *, batch_size, shuffle, seed=None):
    """A ``DataLoader`` of ``(TranslationBatch, target outputs (N, T))`` over ``(source, target)`` pairs.

    Each target becomes ``<bos> y_1 ... y_T`` (the inputs) and ``y_1 ... y_T
    <eos>`` (the outputs); the outputs are padded with
    :data:`~helpers.text.IGNORE_INDEX`, so :func:`helpers.text.sequence_loss`
    counts real target tokens only. Sources are padded with ``<pad>``.

    Args:
        pairs: list of ``(source text, target text)``.
        source_vocab, target_vocab: :class:`helpers.text.Vocab` of each side.
        batch_size: pairs per batch (int >= 1).
        shuffle: ``True`` for training (a new order every epoch, drawn from ``seed``).
        seed: int >= 0, required when ``shuffle`` is True.
    """
    pairs = _check_pairs(pairs)
    _check_vocab("source_vocab", source_vocab)
    _check_vocab("target_vocab", target_vocab)
    batch_size = check_positive_int("batch_size", batch_size)
    generator = _shuffle_generator(shuffle, seed)
    encoded = [
        (source_vocab.encode(source), target_vocab.encode(target)) for source, target in pairs
    ]
    bos, eos = target_vocab.bos_id, target_vocab.eos_id

    def collate(examples):
        sources, targets = zip(*examples)
        source, lengths = pad_sequences(list(sources), padding_value=source_vocab.pad_id)
        target_inputs, _ = pad_sequences(
            [[bos] + t for t in targets], padding_value=target_vocab.pad_id
        )
        target_outputs, _ = pad_sequences([t + [eos] for t in targets], padding_value=IGNORE_INDEX)
        return TranslationBatch(source, lengths, target_inputs), target_outputs

    return DataLoader(
        encoded, batch_size=batch_size, shuffle=shuffle, generator=generator, collate_fn=collate
    )


def sequence_exact_match(logits, targets):
    """The share of targets whose every real token is the argmax of its teacher-forced logits.

    ``logits`` ``(N, T, V)`` from :meth:`Seq2Seq.forward`, ``targets`` ``(N, T)``
    padded with :data:`~helpers.text.IGNORE_INDEX`. A target counts when the
    model's most likely token is right at every step given the true previous
    tokens; greedy decoding then writes exactly that target (by induction over
    the steps, ``<eos>`` included), so this is greedy decoding's exact match,
    computed from one teacher-forced pass (up to ties between logits).
    """
    if logits.dim() != 3 or targets.shape != logits.shape[:2]:
        raise ValueError(
            f"logits must be (N, T, V) and targets (N, T); got {_describe(logits)} "
            f"and {_describe(targets)}"
        )
    right = (logits.argmax(-1) == targets) | (targets == IGNORE_INDEX)
    return right.all(dim=1).to(logits.dtype).mean()


SCHEDULES = ("one-cycle", "exponential")


def train_translation(
    model,
    pairs,
    source_vocab,
    target_vocab,
    *,
    epochs,
    batch_size=128,
    max_lr=0.01,
    seed=0,
    schedule="one-cycle",
    decay=1.0,
    val_pairs=None,
    early_stopping=None,
    progress=True,
    description="training",
):
    """Train ``model`` on ``(source, target)`` pairs with teacher forcing: the book's recipe.

    Adam, gradients clipped to norm 1, the masked loss
    :func:`helpers.text.sequence_loss` over real target tokens, batches drawn
    in a new order every epoch from ``seed``; by :func:`helpers.training.train`.

    Args:
        model: a :class:`Seq2Seq`, on the device to train on.
        pairs: the training pairs.
        source_vocab, target_vocab: the two vocabularies.
        epochs: the number of passes, or with ``early_stopping`` the most of them.
        batch_size: pairs per step.
        max_lr: the learning rate: the peak of the one-cycle schedule, or the
            starting rate of the exponential one.
        seed: the order of the batches.
        schedule: ``"one-cycle"`` (warm up to ``max_lr`` and anneal over
            ``epochs``; Smith and Topin 2019) or ``"exponential"`` (start at
            ``max_lr`` and multiply the rate by ``decay`` per epoch, a little at
            every step). The exponential schedule does not depend on
            ``epochs``: the first k epochs of a long run are exactly a k-epoch
            run, which lets a chapter rerun the start of a stored sweep, and
            early stopping can end it anywhere.
        decay: the exponential schedule's factor per epoch, in (0, 1] (1: a
            constant rate).
        val_pairs: optional validation pairs, scored after every epoch: the
            history gets ``val_loss`` and ``val_exact_match``
            (:func:`sequence_exact_match`, greedy decoding's exact match).
        early_stopping: optional :class:`helpers.training.EarlyStopping` on a
            validation column (needs ``val_pairs``); the model ends with the
            weights of the best epoch.
        progress, description: the progress bar.

    Returns:
        the :class:`helpers.training.History`.
    """
    if not isinstance(model, Seq2Seq):
        raise TypeError(f"model must be a helpers.seq2seq.Seq2Seq, got {_describe(model)}")
    epochs = check_positive_int("epochs", epochs)
    schedule = check_choice("schedule", schedule, SCHEDULES)
    if isinstance(decay, bool) or not isinstance(decay, (int, float)) or not 0 < decay <= 1:
        raise ValueError(f"decay must be a number in (0, 1], got {_describe(decay)}")
    loader = make_translation_loader(
        pairs, source_vocab, target_vocab, batch_size=batch_size, shuffle=True, seed=seed
    )
    val_loader, metrics = None, None
    if val_pairs is not None:
        val_loader = make_translation_loader(
            val_pairs, source_vocab, target_vocab, batch_size=512, shuffle=False
        )
        metrics = {"exact_match": sequence_exact_match}
    optimizer = torch.optim.Adam(model.parameters(), lr=max_lr)
    if schedule == "one-cycle":
        scheduler = torch.optim.lr_scheduler.OneCycleLR(
            optimizer, max_lr=max_lr, total_steps=epochs * len(loader)
        )
    else:
        scheduler = torch.optim.lr_scheduler.ExponentialLR(
            optimizer, gamma=decay ** (1 / len(loader))
        )
    return train(
        model,
        loader,
        sequence_loss,
        epochs=epochs,
        optimizer=optimizer,
        clip_norm=1.0,
        scheduler=scheduler,
        val_loader=val_loader,
        metrics=metrics,
        early_stopping=early_stopping,
        progress=progress,
        description=description,
    )


def translate(
    model,
    sources,
    source_vocab,
    target_vocab,
    *,
    max_length,
    beam_width=None,
    length_penalty=0.0,
    batch_size=512,
):
    """The model's output text for each source text: greedy, or beam search with ``beam_width``.

    Args:
        model: a :class:`Seq2Seq` (put in evaluation mode here).
        sources: list of source texts.
        source_vocab, target_vocab: the vocabularies the model was trained with.
        max_length: the most output tokens per source, ``<eos>`` included.
        beam_width: ``None`` for greedy decoding, else an int >= 1.
        length_penalty: for beam search, see :meth:`Seq2Seq.beam_search`.
        batch_size: sources decoded at once.

    Returns:
        list of output texts (``<eos>`` and anything after it dropped).
    """
    if not isinstance(model, Seq2Seq):
        raise TypeError(f"model must be a helpers.seq2seq.Seq2Seq, got {_describe(model)}")
    if isinstance(sources, str) or not isinstance(sources, (list, tuple)):
        raise TypeError(f"sources must be a list of texts, got {_describe(sources)}")
    _check_vocab("source_vocab", source_vocab)
    _check_vocab("target_vocab", target_vocab)
    batch_size = check_positive_int("batch_size", batch_size)
    device = next(model.parameters()).device
    model.eval()
    outputs = []
    for start in range(0, len(sources), batch_size):
        chunk = [source_vocab.encode(text) for text in sources[start : start + batch_size]]
        if any(len(ids) == 0 for ids in chunk):
            raise ValueError("sources must not contain empty texts")
        source, lengths = pad_sequences(chunk, padding_value=source_vocab.pad_id)
        source = source.to(device)
        if beam_width is None:
            tokens, _ = model.greedy_decode(source, lengths, max_length=max_length)
        else:
            found = model.beam_search(
                source,
                lengths,
                beam_width=beam_width,
                max_length=max_length,
                length_penalty=length_penalty,
            )
            tokens = [ids for ids, _ in found]
        outputs.extend(target_vocab.decode(ids) for ids in tokens)
    return outputs


def _check_outputs(predictions, references):
    for name, texts in (("predictions", predictions), ("references", references)):
        if (
            isinstance(texts, str)
            or not isinstance(texts, (list, tuple))
            or not all(isinstance(t, str) for t in texts)
        ):
            raise TypeError(f"{name} must be a list of strings, got {_describe(texts)}")
    if len(predictions) != len(references) or not references:
        raise ValueError(
            f"predictions and references must be non-empty and of the same length, "
            f"got {len(predictions)} and {len(references)}"
        )


def exact_match(predictions, references):
    """The share of predictions equal to their reference, character for character."""
    _check_outputs(predictions, references)
    return sum(p == r for p, r in zip(predictions, references)) / len(references)


def exact_match_by_length(sources, predictions, references):
    """Exact match per source length (in words).

    Returns:
        ``(lengths, accuracies, counts)``: the source lengths present, in
        increasing order, the exact-match share at each, and how many pairs
        each holds.
    """
    _check_outputs(predictions, references)
    if len(sources) != len(references):
        raise ValueError(
            f"sources must have one text per reference ({len(references)}), got {len(sources)}"
        )
    groups = {}
    for source, p, r in zip(sources, predictions, references):
        groups.setdefault(len(source.split()), []).append(p == r)
    lengths = sorted(groups)
    return (
        lengths,
        [sum(groups[n]) / len(groups[n]) for n in lengths],
        [len(groups[n]) for n in lengths],
    )


def character_error_rate(predictions, references):
    """Edits (insertions, deletions, substitutions) per reference character, over the corpus.

    A corpus-level score in the way word error rate is for speech recognition:
    all edit distances summed, divided by all reference lengths (computed by
    ``jiwer``). 0 is perfect; a missing output costs its whole reference.
    """
    import jiwer  # imported here: only the translation chapters need it

    _check_outputs(predictions, references)
    if not all(references):
        raise ValueError("references must not contain empty strings")
    # every character counts, spaces at either end too (jiwer's default strips them)
    characters = jiwer.ReduceToListOfListOfChars()
    return float(
        jiwer.cer(
            list(references),
            list(predictions),
            reference_transform=characters,
            hypothesis_transform=characters,
        )
    )
