"""helpers.seq2seq: padded sources change nothing, beam search agrees with greedy and with enumeration."""

import itertools

import pytest
import torch

from helpers.attention import AdditiveAttention, DotProductAttention
from helpers.seq2seq import Decoder, Encoder, Seq2Seq

DTYPE = torch.float64
V, E, H = 5, 3, 4  # ids: 0 <pad>, 1 <bos>, 2 <eos>, 3 and 4 ordinary tokens
BOS, EOS = 1, 2
SOURCES = [[3, 4, 4], [4], [3, 3, 4, 3, 4]]


def model(attention, seed=0):
    torch.manual_seed(seed)
    attend = {
        "none": None,
        "additive": AdditiveAttention(H, H, 6, dtype=DTYPE),
        "dot": DotProductAttention(),
    }[attention]
    return Seq2Seq(
        Encoder(V, E, H, dtype=DTYPE),
        Decoder(V, E, H, attention=attend, dtype=DTYPE),
        bos_id=BOS,
        eos_id=EOS,
    ).eval()


def padded(sources):
    lengths = torch.tensor([len(s) for s in sources])
    tokens = torch.zeros(len(sources), int(lengths.max()), dtype=torch.long)
    for n, s in enumerate(sources):
        tokens[n, : len(s)] = torch.tensor(s)
    return tokens, lengths


ATTENTIONS = ["none", "additive", "dot"]


@pytest.mark.parametrize("attention", ATTENTIONS)
def test_a_padded_source_batch_gives_each_source_the_logits_it_gets_alone(attention):
    seq2seq = model(attention)
    source, lengths = padded(SOURCES)
    target_inputs = torch.tensor([[BOS, 3, 4, 4]] * len(SOURCES))
    logits = seq2seq(source, lengths, target_inputs)
    assert logits.shape == (3, 4, V)
    for n, s in enumerate(SOURCES):
        alone = seq2seq(*padded([s]), target_inputs[:1])
        torch.testing.assert_close(logits[n], alone[0], atol=1e-10, rtol=0)


@pytest.mark.parametrize("attention", ATTENTIONS)
def test_greedy_decoding_follows_the_teacher_forced_argmax(attention):
    seq2seq = model(attention)
    source, lengths = padded(SOURCES)
    tokens, maps = seq2seq.greedy_decode(source, lengths, max_length=6)
    for n, row in enumerate(tokens):
        assert 1 <= len(row) <= 6
        assert EOS not in row[:-1], "decoding goes on after <eos>"
        assert row[-1] == EOS or len(row) == 6, "decoding stopped before <eos> and max_length"
        logits = seq2seq(
            source[n : n + 1, : len(SOURCES[n])],
            lengths[n : n + 1],
            torch.tensor([[BOS] + row[:-1]]),
        )
        assert logits[0].argmax(-1).tolist() == row
        if attention == "none":
            assert maps[n] is None
        else:
            assert maps[n].shape == (len(row), source.shape[1])
            torch.testing.assert_close(maps[n].sum(-1), torch.ones(len(row), dtype=DTYPE))
            assert torch.all(maps[n][:, len(SOURCES[n]) :] == 0)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("attention", ATTENTIONS)
def test_beam_search_of_width_one_is_greedy_decoding(attention, seed):
    seq2seq = model(attention, seed)
    source, lengths = padded(SOURCES)
    greedy, _ = seq2seq.greedy_decode(source, lengths, max_length=5)
    beams = seq2seq.beam_search(source, lengths, beam_width=1, max_length=5)
    assert [tokens for tokens, _ in beams] == greedy


@torch.no_grad()
def log_probability(seq2seq, source, lengths, output):
    logits = seq2seq(source, lengths, torch.tensor([[BOS] + output[:-1]]))
    return float(torch.log_softmax(logits[0], -1)[torch.arange(len(output)), output].sum())


@pytest.mark.parametrize("length_penalty", [0.0, 0.6, 1.0])
@pytest.mark.parametrize("seed", range(3))
def test_a_wide_beam_finds_the_best_output_that_enumeration_finds(seed, length_penalty):
    seq2seq = model("additive", seed)
    max_length = 3
    # every output: tokens from {3, 4, <eos>} up to the first <eos>, or max_length without one
    outputs = set()
    for length in range(1, max_length + 1):
        for row in itertools.product([3, 4, EOS, 0, BOS], repeat=length):
            if EOS not in row[:-1] and (row[-1] == EOS or length == max_length):
                outputs.add(row)
    for s in SOURCES:
        source, lengths = padded([s])
        # GNMT's length penalty (Wu et al. 2016): divide by ((5 + |Y|) / 6) ** alpha
        scored = {
            o: log_probability(seq2seq, source, lengths, list(o))
            / ((5 + len(o)) / 6) ** length_penalty
            for o in outputs
        }
        best = max(scored, key=scored.get)
        ((tokens, score),) = seq2seq.beam_search(
            source,
            lengths,
            beam_width=V**max_length,
            max_length=max_length,
            length_penalty=length_penalty,
        )
        assert tuple(tokens) == best
        assert score == pytest.approx(scored[best], abs=1e-9)


def test_bad_input_is_rejected_clearly():
    seq2seq = model("additive")
    source, lengths = padded(SOURCES)
    with pytest.raises(ValueError, match="source must be an integer tensor"):
        seq2seq(source.double(), lengths, source)
    with pytest.raises(
        ValueError, match=r"source_lengths must be an integer tensor of shape \(N,\) = \(3,\)"
    ):
        seq2seq(source, lengths[:2], source)
    with pytest.raises(ValueError, match="between 1 and S = 5"):
        seq2seq(source, torch.tensor([3, 0, 5]), source)
    with pytest.raises(ValueError, match="target_inputs"):
        seq2seq(source, lengths, source[:2])
    with pytest.raises(ValueError, match="beam_width"):
        seq2seq.beam_search(source, lengths, beam_width=0, max_length=3)
    with pytest.raises(ValueError, match="length_penalty"):
        seq2seq.beam_search(source, lengths, beam_width=2, max_length=3, length_penalty=-1)
    with pytest.raises(TypeError, match="encoder and decoder"):
        Seq2Seq(seq2seq.decoder, seq2seq.encoder, bos_id=BOS, eos_id=EOS)


def test_teacher_forcing_with_the_masked_loss_learns_to_reverse_short_sequences():
    from helpers.text import IGNORE_INDEX, sequence_loss

    torch.manual_seed(0)
    seq2seq = Seq2Seq(
        Encoder(V, 8, 16),
        Decoder(V, 8, 16, attention=DotProductAttention()),
        bos_id=BOS,
        eos_id=EOS,
    )
    generator = torch.Generator().manual_seed(0)
    optimizer = torch.optim.Adam(seq2seq.parameters(), lr=0.02)
    losses = []
    for _ in range(60):
        sources = [
            torch.randint(
                3, 5, (int(torch.randint(1, 5, (1,), generator=generator)),), generator=generator
            ).tolist()
            for _ in range(32)
        ]
        source, lengths = padded(sources)
        targets = [s[::-1] + [EOS] for s in sources]
        T = max(map(len, targets))
        inputs = torch.tensor([[BOS] + t[:-1] + [0] * (T - len(t)) for t in targets])
        wanted = torch.tensor([t + [IGNORE_INDEX] * (T - len(t)) for t in targets])
        loss = sequence_loss(seq2seq(source, lengths, inputs), wanted)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    assert sum(losses[-10:]) / 10 < 0.3 * sum(losses[:10]) / 10


@pytest.mark.parametrize("attention", ATTENTIONS)
def test_keys_prepared_once_give_what_every_step_computes_itself(attention):
    # Seq2Seq.forward projects the memory for additive attention once per
    # source; stepping without the prepared keys must give the same logits.
    seq2seq = model(attention)
    source, lengths = padded(SOURCES)
    target_inputs = torch.tensor([[BOS, 3, 4, 4]] * len(SOURCES))
    memory, final = seq2seq.encoder(source, lengths)
    keys = seq2seq.decoder.prepare_keys(memory)
    assert (keys is None) == (attention != "additive")
    state, stepped = final, []
    for t in range(target_inputs.shape[1]):
        logits, state, _ = seq2seq.decoder.step(target_inputs[:, t], state, memory, final, lengths)
        stepped.append(logits)
    torch.testing.assert_close(
        seq2seq(source, lengths, target_inputs), torch.stack(stepped, 1), atol=1e-12, rtol=0
    )


def test_additive_attention_with_projected_keys_equals_without():
    torch.manual_seed(0)
    attention = AdditiveAttention(H, H, 6, dtype=DTYPE)
    queries, keys = torch.randn(2, 3, H, dtype=DTYPE), torch.randn(2, 5, H, dtype=DTYPE)
    lengths = torch.tensor([5, 2])
    plain = attention(queries, keys, keys, lengths)
    projected = attention(queries, keys, keys, lengths, projected_keys=attention.project_keys(keys))
    for a, b in zip(plain, projected):
        torch.testing.assert_close(a, b, atol=0, rtol=0)


def test_the_gnmt_length_penalty_is_the_published_formula():
    from helpers.seq2seq import gnmt_length_penalty

    # Wu et al. 2016, eq. 14: lp(Y) = (5 + |Y|)^alpha / (5 + 1)^alpha
    for length in (1, 3, 10):
        for alpha in (0.0, 0.6, 1.0):
            assert gnmt_length_penalty(length, alpha) == pytest.approx(
                (5 + length) ** alpha / 6**alpha, rel=1e-12
            )
    assert gnmt_length_penalty(7, 0.0) == 1.0
    assert gnmt_length_penalty(1, 0.8) == pytest.approx(1.0)
