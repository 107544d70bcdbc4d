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
  :meth:`Seq2Seq.greedy_decode` and :meth:`Seq2Seq.beam_search` (with length
  normalisation) for inference.

Token ids follow :class:`helpers.text.Vocab`: targets start with ``<bos>`` and
end with ``<eos>``; padding is ``<pad>``.
"""

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from helpers.validation import _describe, check_lengths, check_positive_int

__all__ = ["Encoder", "Decoder", "Seq2Seq"]


def _check_source(source, source_lengths):
    if not isinstance(source, torch.Tensor) or source.dim() != 2 or source.is_floating_point():
        raise ValueError(f"source must be an integer tensor of ids (N, S), got {_describe(source)}")
    check_lengths("source_lengths", source_lengths, *source.shape, symbol="S")


class Encoder(nn.Module):
    """Embedding and a one-layer GRU over padded source ids.

    Args:
        vocab_size, embedding_dim, hidden_size: V, E and H.
        **factory: ``device`` and ``dtype``.
    """

    def __init__(self, vocab_size, embedding_dim, hidden_size, **factory):
        super().__init__()
        self.embedding = nn.Embedding(check_positive_int("vocab_size", vocab_size),
                                      check_positive_int("embedding_dim", embedding_dim), **factory)
        self.rnn = nn.GRU(embedding_dim, check_positive_int("hidden_size", hidden_size),
                          batch_first=True, **factory)
        self.hidden_size = hidden_size

    def forward(self, source, source_lengths):
        """``(memory (N, S, H), final (N, H))`` for ids ``(N, S)`` with true lengths ``(N,)``.

        ``memory`` is zero at padded positions; ``final`` is each source's state
        after its last real token.
        """
        _check_source(source, source_lengths)
        packed = pack_padded_sequence(self.embedding(source), source_lengths.cpu(),
                                      batch_first=True, enforce_sorted=False)
        outputs, h_n = self.rnn(packed)
        memory, _ = pad_packed_sequence(outputs, batch_first=True, total_length=source.shape[1])
        return memory, h_n[0]


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
        self.embedding = nn.Embedding(check_positive_int("vocab_size", vocab_size),
                                      check_positive_int("embedding_dim", embedding_dim), **factory)
        check_positive_int("hidden_size", hidden_size)
        self.attention = attention
        self.cell = nn.GRUCell(embedding_dim + hidden_size, hidden_size, **factory)
        self.read_out = nn.Linear(2 * hidden_size, vocab_size, **factory)

    def step(self, token, state, memory, final, source_lengths):
        """One decoding step.

        Args:
            token: the previous token ids ``(N,)``.
            state: the decoder's state ``(N, H)``.
            memory, final, source_lengths: what :class:`Encoder` returned, and the lengths.

        Returns:
            ``(logits (N, V), new state (N, H), weights (N, S) or None)``.
        """
        if self.attention is None:
            context, weights = final, None
        else:
            context, weights = self.attention(state[:, None], memory, memory, source_lengths)
            context, weights = context[:, 0], weights[:, 0]
        state = self.cell(torch.cat([self.embedding(token), context], dim=-1), state)
        return self.read_out(torch.cat([state, context], dim=-1)), state, weights


class Seq2Seq(nn.Module):
    """An :class:`Encoder` and a :class:`Decoder`, trained with teacher forcing.

    Args:
        encoder, decoder: the two parts (the same H).
        bos_id, eos_id: the ids that start and end a target.
    """

    def __init__(self, encoder, decoder, *, bos_id, eos_id):
        super().__init__()
        if not isinstance(encoder, Encoder) or not isinstance(decoder, Decoder):
            raise TypeError(f"encoder and decoder must be helpers.seq2seq.Encoder and Decoder, "
                            f"got {type(encoder).__name__} and {type(decoder).__name__}")
        self.encoder, self.decoder = encoder, decoder
        self.bos_id, self.eos_id = bos_id, eos_id

    def forward(self, source, source_lengths, target_inputs):
        """Logits ``(N, T, V)`` for every target position, given the previous true tokens.

        ``target_inputs`` ``(N, T)`` is the target shifted right: ``<bos> y_1 ...
        y_{T-1}``; the loss compares the logits with ``y_1 ... y_T`` (padded
        with ``IGNORE_INDEX``, see :func:`helpers.text.sequence_loss`).
        """
        if not isinstance(target_inputs, torch.Tensor) or target_inputs.dim() != 2 \
                or target_inputs.shape[0] != source.shape[0]:
            raise ValueError(f"target_inputs must be ids of shape (N, T) with N = {source.shape[0]}, "
                             f"got {_describe(target_inputs)}")
        memory, final = self.encoder(source, source_lengths)
        state, logits = final, []
        for t in range(target_inputs.shape[1]):
            step_logits, state, _ = self.decoder.step(target_inputs[:, t], state, memory, final,
                                                      source_lengths)
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
        state, outputs, maps = final, [], []
        for _ in range(max_length):
            logits, state, weights = self.decoder.step(token, state, memory, final, source_lengths)
            token = logits.argmax(dim=-1)
            outputs.append(token)
            maps.append(weights)
        outputs = torch.stack(outputs, dim=1).tolist()
        tokens, attention = [], []
        for n, row in enumerate(outputs):
            length = row.index(self.eos_id) + 1 if self.eos_id in row else len(row)
            tokens.append(row[:length])
            attention.append(None if maps[0] is None
                             else torch.stack([m[n] for m in maps[:length]]).cpu())
        return tokens, attention

    @torch.no_grad()
    def beam_search(self, source, source_lengths, *, beam_width, max_length, length_penalty=0.0):
        """The best outputs found by keeping the ``beam_width`` best partial outputs at every step.

        A finished output (ending in ``<eos>``) of length L with total log
        probability ``s`` scores ``s / L ** length_penalty``: 0 ranks by
        probability alone (which favours short outputs), 1 by the mean log
        probability per token. An output that reaches ``max_length`` tokens
        without ``<eos>`` is kept as it is.

        Returns:
            per source, ``(tokens, score)`` of the best output found.
        """
        beam_width = check_positive_int("beam_width", beam_width)
        check_positive_int("max_length", max_length)
        if not isinstance(length_penalty, (int, float)) or length_penalty < 0:
            raise ValueError(f"length_penalty must be a number >= 0, got {_describe(length_penalty)}")
        memory, final = self.encoder(source, source_lengths)
        results = []
        for n in range(source.shape[0]):
            one = (memory[n : n + 1], final[n : n + 1], source_lengths[n : n + 1])
            results.append(self._beam_one(*one, beam_width, max_length, length_penalty))
        return results

    def _beam_one(self, memory, final, lengths, beam_width, max_length, length_penalty):
        def normalised(log_probability, length):
            return log_probability / length ** length_penalty

        beams = [([], 0.0, final)]  # (tokens, log probability, decoder state)
        finished = []
        for _ in range(max_length):
            tokens = torch.tensor([b[0][-1] if b[0] else self.bos_id for b in beams],
                                  device=final.device)
            states = torch.cat([b[2] for b in beams])
            k = len(beams)
            logits, new_states, _ = self.decoder.step(
                tokens, states, memory.expand(k, -1, -1), final.expand(k, -1), lengths.expand(k))
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
            if not beams or (finished and length_penalty == 0 and
                             max(f[1] for f in finished) >= beams[0][1]):
                break
        # finished outputs, and open ones that ran to max_length without <eos>
        pool = finished + [b for b in beams if len(b[0]) == max_length]
        best = max(pool, key=lambda c: normalised(c[1], len(c[0])))
        return best[0], normalised(best[1], len(best[0]))
