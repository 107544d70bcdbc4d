"""helpers.seq2seq, the data side: the bidirectional encoder, translation batches and loaders,
translate(), and the scores of its outputs."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from helpers.attention import AdditiveAttention, DotProductAttention
from helpers.seq2seq import (
    Decoder,
    Encoder,
    Seq2Seq,
    TranslationBatch,
    character_error_rate,
    exact_match,
    exact_match_by_length,
    make_translation_loader,
    translate,
)
from helpers.text import IGNORE_INDEX, Vocab, pad_sequences, sequence_loss
from helpers.training import train

DTYPE = torch.float64
PAIRS = [
    ("one", "1"),
    ("twenty one", "21"),
    ("two", "2"),
    ("one hundred and five", "105"),
    ("twenty two", "22"),
    ("five", "5"),
    ("one hundred and twenty", "120"),
    ("two hundred", "200"),
]
SOURCES = [s for s, _ in PAIRS]
SOURCE = Vocab(SOURCES, level="word")
TARGET = Vocab([t for _, t in PAIRS], level="char")
ATTENTIONS = ["none", "additive", "dot"]


def make_model(attention="additive", *, bidirectional=False, H=6, E=4, seed=0, dtype=DTYPE):
    torch.manual_seed(seed)
    attend = {
        "none": None,
        "additive": AdditiveAttention(H, H, 5, dtype=dtype),
        "dot": DotProductAttention(),
    }[attention]
    encoder = Encoder(len(SOURCE), E, H, bidirectional=bidirectional, dtype=dtype)
    decoder = Decoder(len(TARGET), E, H, attention=attend, dtype=dtype)
    return Seq2Seq(encoder, decoder, bos_id=TARGET.bos_id, eos_id=TARGET.eos_id).eval()


def encode_sources(texts, junk=None):
    """Padded source ids and lengths; ``junk`` (an id) fills the padding instead of <pad>."""
    source, lengths = pad_sequences([SOURCE.encode(t) for t in texts], padding_value=SOURCE.pad_id)
    if junk is not None:
        source[torch.arange(source.shape[1])[None, :] >= lengths[:, None]] = junk
    return source, lengths


# --- the bidirectional encoder


def gru_states(rnn, suffix, embedded):
    """The states of one direction of ``rnn``, stepped by hand with a GRUCell of its weights."""
    cell = nn.GRUCell(rnn.input_size, rnn.hidden_size, dtype=embedded.dtype)
    with torch.no_grad():
        for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
            getattr(cell, name).copy_(getattr(rnn, f"{name}_l0{suffix}"))
    h, states = torch.zeros(1, rnn.hidden_size, dtype=embedded.dtype), []
    for x in embedded:
        h = cell(x[None], h)
        states.append(h[0])
    return torch.stack(states)


@torch.no_grad()
def test_bidirectional_memory_is_both_directions_and_final_joins_their_last_states():
    torch.manual_seed(0)
    encoder = Encoder(len(SOURCE), 4, 6, bidirectional=True, dtype=DTYPE)
    assert encoder.rnn.hidden_size == 3 and encoder.rnn.bidirectional
    source, lengths = encode_sources(SOURCES, junk=SOURCE.encode("hundred")[0])
    memory, final = encoder(source, lengths)
    assert memory.shape == (len(SOURCES), source.shape[1], 6) and final.shape == (len(SOURCES), 6)
    for n, length in enumerate(lengths.tolist()):
        embedded = encoder.embedding(source[n, :length])
        forward = gru_states(encoder.rnn, "", embedded)
        backward = gru_states(encoder.rnn, "_reverse", embedded.flip(0)).flip(0)
        torch.testing.assert_close(memory[n, :length], torch.cat([forward, backward], -1))
        assert torch.all(memory[n, length:] == 0), "memory must be zero at padding"
        # forward state after the last real token, backward state after the first token
        torch.testing.assert_close(final[n], torch.cat([forward[-1], backward[0]]))


@torch.no_grad()
@pytest.mark.parametrize("bidirectional", [False, True])
def test_a_padded_batch_gives_each_source_the_encoding_it_gets_alone(bidirectional):
    torch.manual_seed(1)
    encoder = Encoder(len(SOURCE), 4, 6, bidirectional=bidirectional, dtype=DTYPE)
    source, lengths = encode_sources(SOURCES, junk=SOURCE.encode("twenty")[0])
    memory, final = encoder(source, lengths)
    for n, text in enumerate(SOURCES):
        alone_memory, alone_final = encoder(*encode_sources([text]))
        torch.testing.assert_close(memory[n, : lengths[n]], alone_memory[0], atol=1e-12, rtol=0)
        torch.testing.assert_close(final[n], alone_final[0], atol=1e-12, rtol=0)


@torch.no_grad()
def test_the_unidirectional_final_state_is_the_state_after_the_last_real_token():
    torch.manual_seed(2)
    encoder = Encoder(len(SOURCE), 4, 6, dtype=DTYPE)
    assert not encoder.rnn.bidirectional and encoder.rnn.hidden_size == 6
    source, lengths = encode_sources(SOURCES)
    memory, final = encoder(source, lengths)
    for n, length in enumerate(lengths.tolist()):
        states = gru_states(encoder.rnn, "", encoder.embedding(source[n, :length]))
        torch.testing.assert_close(memory[n, :length], states)
        torch.testing.assert_close(final[n], states[-1])


@torch.no_grad()
@pytest.mark.parametrize("attention", ATTENTIONS)
def test_a_bidirectional_seq2seq_gives_each_padded_source_the_logits_it_gets_alone(attention):
    model = make_model(attention, bidirectional=True)
    source, lengths = encode_sources(SOURCES, junk=SOURCE.encode("one")[0])
    target_inputs = torch.tensor([[TARGET.bos_id, *TARGET.encode("12")]] * len(SOURCES))
    logits = model(source, lengths, target_inputs)
    assert logits.shape == (len(SOURCES), 3, len(TARGET))
    for n, text in enumerate(SOURCES):
        alone = model(*encode_sources([text]), target_inputs[:1])
        torch.testing.assert_close(logits[n], alone[0], atol=1e-10, rtol=0)


@pytest.mark.parametrize("hidden_size", [1, 5, 7])
def test_a_bidirectional_encoder_needs_an_even_hidden_size(hidden_size):
    with pytest.raises(ValueError, match=f"even.*{hidden_size}"):
        Encoder(5, 3, hidden_size, bidirectional=True)
    Encoder(5, 3, hidden_size)  # fine in one direction


@pytest.mark.parametrize("bidirectional", [1, 0, "yes", None])
def test_bidirectional_must_be_a_bool(bidirectional):
    with pytest.raises(ValueError, match="bidirectional"):
        Encoder(5, 3, 4, bidirectional=bidirectional)


# --- TranslationBatch and make_translation_loader


def all_batches(loader):
    return [(batch, outputs) for batch, outputs in loader]


def test_translation_batch_moves_its_tensors_but_keeps_the_lengths_on_the_cpu():
    batch = TranslationBatch(
        torch.tensor([[4, 5], [6, 0]]), torch.tensor([2, 1]), torch.tensor([[2, 7], [2, 0]])
    )
    assert len(batch) == 2
    moved = batch.to("meta")
    assert isinstance(moved, TranslationBatch)
    assert moved.source.device.type == "meta" and moved.target_inputs.device.type == "meta"
    assert moved.source_lengths.device.type == "cpu"
    same = batch.to("cpu")
    assert torch.equal(same.source, batch.source) and torch.equal(
        same.target_inputs, batch.target_inputs
    )
    assert torch.equal(same.source_lengths, batch.source_lengths)


def test_loader_pads_sources_and_shifts_targets_between_bos_and_eos():
    loader = make_translation_loader(PAIRS, SOURCE, TARGET, batch_size=3, shuffle=False)
    batches = all_batches(loader)
    assert [len(batch) for batch, _ in batches] == [3, 3, 2]
    pairs = iter(PAIRS)
    for batch, outputs in batches:
        assert isinstance(batch, TranslationBatch)
        assert batch.source.dtype == batch.target_inputs.dtype == outputs.dtype == torch.long
        chunk = [next(pairs) for _ in range(len(batch))]
        words = [s.split() for s, _ in chunk]
        assert batch.source.shape == (len(chunk), max(map(len, words)))
        assert batch.source_lengths.tolist() == [len(w) for w in words]
        longest = max(len(t) for _, t in chunk) + 1
        assert batch.target_inputs.shape == outputs.shape == (len(chunk), longest)
        for n, (source, target) in enumerate(chunk):
            S, T = len(words[n]), len(target)
            assert batch.source[n, :S].tolist() == [SOURCE.stoi[w] for w in words[n]]
            assert torch.all(batch.source[n, S:] == SOURCE.pad_id)
            assert batch.target_inputs[n, : T + 1].tolist() == (
                [TARGET.bos_id] + [TARGET.stoi[c] for c in target]
            )
            assert torch.all(batch.target_inputs[n, T + 1 :] == TARGET.pad_id)
            assert outputs[n, : T + 1].tolist() == [TARGET.stoi[c] for c in target] + [
                TARGET.eos_id
            ]
            assert torch.all(outputs[n, T + 1 :] == IGNORE_INDEX)
            # teacher forcing: the input at t + 1 is the output wanted at t
            assert torch.equal(batch.target_inputs[n, 1 : T + 1], outputs[n, :T])
            assert SOURCE.decode(batch.source[n, :S]) == source
            assert TARGET.decode(outputs[n, : T + 1]) == target


def order(loader):
    return [
        SOURCE.decode(batch.source[n, : batch.source_lengths[n]])
        for batch, _ in loader
        for n in range(len(batch))
    ]


def test_shuffling_is_a_permutation_fixed_by_the_seed():
    many = [(f"{a} {b}", "1") for a in ("one", "two", "five") for b in ("one", "two", "five")]
    first = make_translation_loader(many, SOURCE, TARGET, batch_size=2, shuffle=True, seed=3)
    again = make_translation_loader(many, SOURCE, TARGET, batch_size=2, shuffle=True, seed=3)
    other = make_translation_loader(many, SOURCE, TARGET, batch_size=2, shuffle=True, seed=4)
    epochs = [order(first), order(first)]
    assert [order(again), order(again)] == epochs
    for epoch in epochs + [order(other)]:
        assert sorted(epoch) == sorted(s for s, _ in many)
    assert epochs[0] != epochs[1], "each epoch should have a new order"
    assert order(other) != epochs[0]
    plain = make_translation_loader(many, SOURCE, TARGET, batch_size=4, shuffle=False)
    assert order(plain) == [s for s, _ in many]


def test_unknown_words_and_characters_become_unk():
    ((batch, outputs),) = make_translation_loader(
        [("one zillion", "1x")], SOURCE, TARGET, batch_size=4, shuffle=False
    )
    assert batch.source[0].tolist() == [SOURCE.stoi["one"], SOURCE.unk_id]
    assert outputs[0].tolist() == [TARGET.stoi["1"], TARGET.unk_id, TARGET.eos_id]


@pytest.mark.parametrize(
    "changes, error, words",
    [
        (dict(pairs=[]), TypeError, "pairs"),
        (dict(pairs="one 1"), TypeError, "pairs"),
        (dict(pairs=[("one",)]), TypeError, r"pairs\[0\]"),
        (dict(pairs=[("one", "1"), ("two", 2)]), TypeError, r"pairs\[1\]"),
        (dict(pairs=[("", "1")]), TypeError, r"pairs\[0\]"),
        (dict(source_vocab={"one": 4}), TypeError, "source_vocab"),
        (dict(target_vocab=None), TypeError, "target_vocab"),
        (dict(batch_size=0), ValueError, "batch_size"),
        (dict(batch_size=2.0), TypeError, "batch_size"),
        (dict(shuffle="yes"), TypeError, "shuffle"),
        (
            dict(shuffle=True),
            TypeError,
            r"shuffle=True needs seed, an int in \[0, 2\*\*32\); got NoneType None",
        ),
        (
            dict(shuffle=True, seed=-1),
            ValueError,
            r"seed must be an int in \[0, 2\*\*32\), got int -1",
        ),
    ],
)
def test_loader_rejects_bad_arguments(changes, error, words):
    arguments = (
        dict(pairs=PAIRS, source_vocab=SOURCE, target_vocab=TARGET, batch_size=2, shuffle=False)
        | changes
    )
    with pytest.raises(error, match=words):
        make_translation_loader(**arguments)


# --- Seq2Seq.forward on a batch


@torch.no_grad()
def test_forward_on_a_batch_is_forward_on_its_tensors():
    model = make_model("additive")
    ((batch, _),) = make_translation_loader(PAIRS, SOURCE, TARGET, batch_size=8, shuffle=False)
    torch.testing.assert_close(
        model(batch), model(batch.source, batch.source_lengths, batch.target_inputs), atol=0, rtol=0
    )
    with pytest.raises(TypeError, match="TranslationBatch"):
        model(batch, batch.source_lengths)
    with pytest.raises(TypeError, match="TranslationBatch"):
        model(batch, target_inputs=batch.target_inputs)


def test_train_feeds_translation_batches_and_translate_then_reads_the_training_pairs():
    torch.manual_seed(0)
    model = Seq2Seq(
        Encoder(len(SOURCE), 8, 16, bidirectional=True),
        Decoder(len(TARGET), 8, 16, attention=AdditiveAttention(16, 16, 8)),
        bos_id=TARGET.bos_id,
        eos_id=TARGET.eos_id,
    )
    loader = make_translation_loader(PAIRS, SOURCE, TARGET, batch_size=4, shuffle=True, seed=0)
    history = train(
        model,
        loader,
        sequence_loss,
        epochs=60,
        progress=False,
        optimizer=torch.optim.Adam(model.parameters(), lr=0.01),
    )
    assert history["train_loss"][-1] < 0.05 * history["train_loss"][0]
    outputs = translate(model, SOURCES, SOURCE, TARGET, max_length=5)
    assert exact_match(outputs, [t for _, t in PAIRS]) == 1.0
    assert not model.training


# --- translate


def greedy_texts(model, texts, max_length):
    tokens, _ = model.greedy_decode(*encode_sources(texts), max_length=max_length)
    return [TARGET.decode(ids) for ids in tokens]


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("attention", ATTENTIONS)
def test_translate_decodes_greedy_outputs_and_a_beam_of_one_agrees(attention, seed):
    model = make_model(attention, seed=seed, bidirectional=seed == 1)
    texts = SOURCES + ["one zillion"]  # an unknown word too
    outputs = translate(model, texts, SOURCE, TARGET, max_length=5)
    assert outputs == greedy_texts(model, texts, 5)
    assert all(isinstance(o, str) and "<eos>" not in o and "<bos>" not in o for o in outputs)
    assert translate(model, texts, SOURCE, TARGET, max_length=5, beam_width=1) == outputs


@pytest.mark.parametrize("beam_width", [None, 3])
def test_translate_gives_the_same_outputs_in_any_batch_size(beam_width):
    model = make_model("additive", seed=4, bidirectional=True)
    outputs = [
        translate(
            model,
            SOURCES,
            SOURCE,
            TARGET,
            max_length=4,
            beam_width=beam_width,
            batch_size=batch_size,
        )
        for batch_size in (1, 2, 3, 512)
    ]
    assert outputs[1:] == outputs[:1] * 3
    assert len(outputs[0]) == len(SOURCES)


def test_translate_with_a_beam_decodes_beam_search_outputs():
    model = make_model("dot", seed=5)
    found = model.beam_search(
        *encode_sources(SOURCES), beam_width=3, max_length=4, length_penalty=1.0
    )
    expected = [TARGET.decode(ids) for ids, _ in found]
    assert (
        translate(model, SOURCES, SOURCE, TARGET, max_length=4, beam_width=3, length_penalty=1.0)
        == expected
    )


def test_translate_puts_the_model_in_evaluation_mode_and_takes_no_sources():
    model = make_model("none").train()
    assert translate(model, [], SOURCE, TARGET, max_length=3) == []
    translate(model, ["one"], SOURCE, TARGET, max_length=3)
    assert not model.training


@pytest.mark.parametrize(
    "changes, error, words",
    [
        (dict(model=nn.Linear(2, 2)), TypeError, "model"),
        (dict(sources="one"), TypeError, "sources"),
        (dict(sources=["one", ""]), ValueError, "empty"),
        (dict(source_vocab=None), TypeError, "source_vocab"),
        (dict(target_vocab="digits"), TypeError, "target_vocab"),
        (dict(batch_size=0), ValueError, "batch_size"),
        (dict(max_length=0), ValueError, "max_length"),
        (dict(beam_width=0), ValueError, "beam_width"),
    ],
)
def test_translate_rejects_bad_arguments(changes, error, words):
    arguments = (
        dict(
            model=make_model("none"),
            sources=["one", "two"],
            source_vocab=SOURCE,
            target_vocab=TARGET,
            max_length=3,
        )
        | changes
    )
    with pytest.raises(error, match=words):
        translate(**arguments)


# --- the scores


def test_exact_match_counts_identical_outputs_only():
    assert exact_match(["12", "3", "45"], ["12", "4", "45"]) == pytest.approx(2 / 3)
    assert exact_match(["12 ", "012", "12"], ["12", "12", "12"]) == pytest.approx(1 / 3)
    assert exact_match(["", "7"], ["7", "7"]) == 0.5


def test_exact_match_by_length_groups_by_source_words():
    sources = ["one", "twenty one", "two", "one hundred and five", "twenty  two", "five"]
    references = ["1", "21", "2", "105", "22", "5"]
    predictions = ["1", "21", "3", "15", "22", "5"]
    lengths, accuracies, counts = exact_match_by_length(sources, predictions, references)
    assert lengths == [1, 2, 4]
    assert accuracies == pytest.approx([2 / 3, 1.0, 0.0])
    assert counts == [3, 2, 1]
    # the groups average back to the overall exact match
    overall = sum(a * c for a, c in zip(accuracies, counts)) / sum(counts)
    assert overall == pytest.approx(exact_match(predictions, references))


def levenshtein(a, b):
    """Edit distance by the textbook dynamic programme."""
    previous = list(range(len(b) + 1))
    for i, x in enumerate(a, start=1):
        current = [i]
        for j, y in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (x != y)))
        previous = current
    return previous[-1]


def test_character_error_rate_by_hand():
    # "124" for "123": one substitution; "" for "45": two deletions; 3 edits / 5 characters
    assert character_error_rate(["124", ""], ["123", "45"]) == pytest.approx(3 / 5)
    assert character_error_rate(["123", "45"], ["123", "45"]) == 0.0
    assert character_error_rate(["1234"], ["1"]) == pytest.approx(3.0)  # can pass 1
    assert character_error_rate(["12"], ["1 2"]) == pytest.approx(1 / 3)  # a space is a character


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.text("ab1 ", min_size=1, max_size=6), st.text("ab1 ", max_size=6)),
        min_size=1,
        max_size=5,
    )
)
def test_character_error_rate_is_corpus_edits_over_reference_characters(pairs):
    references, predictions = (list(texts) for texts in zip(*pairs))
    edits = sum(levenshtein(r, p) for r, p in zip(references, predictions))
    expected = edits / sum(map(len, references))
    assert character_error_rate(predictions, references) == pytest.approx(expected)


@pytest.mark.parametrize(
    "call, error, words",
    [
        (lambda: character_error_rate(["1"], [""]), ValueError, "empty"),
        (lambda: character_error_rate(["1", "2"], ["1"]), ValueError, "same length"),
        (lambda: character_error_rate([], []), ValueError, "non-empty"),
        (lambda: character_error_rate("12", "12"), TypeError, "predictions"),
        (lambda: character_error_rate(["1"], [1]), TypeError, "references"),
        (lambda: exact_match(["1"], ["1", "2"]), ValueError, "same length"),
        (lambda: exact_match([1], ["1"]), TypeError, "predictions"),
        (lambda: exact_match_by_length(["one"], ["1", "2"], ["1", "2"]), ValueError, "sources"),
    ],
)
def test_scores_reject_bad_arguments(call, error, words):
    with pytest.raises(error, match=words):
        call()
