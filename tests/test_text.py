"""helpers.text: vocabularies, padded batches, masks, splits and loaders."""

import collections

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch.nn import functional as F

from helpers import modules
from helpers.text import (
    IGNORE_INDEX,
    SPECIALS,
    LengthBatchSampler,
    PaddedBatch,
    SequenceDataset,
    Vocab,
    length_mask,
    make_sequence_loader,
    pad_sequences,
    sequence_loss,
    split_items,
)

letters = st.text(alphabet="abcdefghij", min_size=1, max_size=12)


# --------------------------------------------------------------------------- Vocab


@settings(max_examples=60, deadline=None)
@given(st.lists(letters, min_size=1, max_size=20))
def test_char_vocab_round_trips_every_text_it_was_built_from(texts):
    vocab = Vocab(texts)
    for text in texts:
        ids = vocab.encode(text, add_bos=True, add_eos=True)
        assert ids[0] == vocab.bos_id and ids[-1] == vocab.eos_id
        assert len(ids) == len(text) + 2
        assert vocab.decode(ids) == text
        assert vocab.decode(ids, keep_specials=True) == "<bos>" + text + "<eos>"


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(letters, min_size=1, max_size=6).map(" ".join), min_size=1, max_size=10))
def test_word_vocab_round_trips_and_ids_are_contiguous(texts):
    vocab = Vocab(texts, level="word")
    for text in texts:
        assert vocab.decode(vocab.encode(text)) == text
    assert sorted(vocab.stoi.values()) == list(range(len(vocab)))
    assert vocab.itos[: len(SPECIALS)] == list(SPECIALS)
    assert (vocab.pad_id, vocab.unk_id, vocab.bos_id, vocab.eos_id) == (0, 1, 2, 3)


def test_vocab_is_independent_of_text_order_and_maps_unknown_tokens_to_unk():
    a, b = Vocab(["abc", "cab", "zz"]), Vocab(["zz", "cab", "abc"])
    assert a.itos == b.itos
    assert a.encode("aq") == [a.stoi["a"], a.unk_id]
    assert a.decode(a.encode("aq")) == "a<unk>"


def test_specials_are_only_special_as_whole_tokens():
    # at the character level "<pad>" in a text is five characters, not the padding token
    vocab = Vocab(["a<pad>"])
    assert vocab.encode("<pad>") != [vocab.pad_id]
    assert vocab.decode(vocab.encode("a<pad>")) == "a<pad>"


def test_min_count_sends_rare_tokens_to_unk():
    vocab = Vocab(["aab", "ab", "c"], min_count=2)
    assert "a" in vocab and "b" in vocab and "c" not in vocab
    assert vocab.encode("c") == [vocab.unk_id]


@pytest.mark.parametrize(
    "call, error, words",
    [
        (lambda: Vocab("abc"), TypeError, "list of strings"),
        (lambda: Vocab([]), ValueError, "at least one"),
        (lambda: Vocab(["ab", 3]), TypeError, "texts[1]"),
        (lambda: Vocab(["a <pad>"], level="word"), ValueError, "special token"),
        (lambda: Vocab(["ab"], level="byte"), ValueError, "level"),
        (lambda: Vocab(["ab"], min_count=0), ValueError, "min_count"),
        (lambda: Vocab(["ab"]).decode([0, 99]), ValueError, "ids[1] = 99"),
        (lambda: Vocab(["ab"]).decode([1.5]), TypeError, "ids[0]"),
        (lambda: Vocab(["ab"]).encode(["a"]), TypeError, "text must be a str"),
    ],
)
def test_vocab_rejects_bad_input_clearly(call, error, words):
    with pytest.raises(error, match=words.replace("[", r"\[").replace("]", r"\]")):
        call()


# --------------------------------------------------------------------------- padding and masks


def test_pad_sequences_lengths_and_mask_agree():
    padded, lengths = pad_sequences([[5, 6, 7], [8], [9, 10]], padding_value=0)
    assert padded.tolist() == [[5, 6, 7], [8, 0, 0], [9, 10, 0]]
    assert lengths.tolist() == [3, 1, 2]
    mask = length_mask(lengths)
    assert mask.tolist() == [[True, True, True], [True, False, False], [True, True, False]]
    assert torch.equal(PaddedBatch(padded, lengths).mask, mask)
    assert length_mask(lengths, 5).shape == (3, 5)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.integers(1, 12), min_size=1, max_size=8),
    st.integers(0, 4),
    st.sampled_from([torch.int64, torch.int32, torch.uint8]),
)
def test_length_mask_is_true_exactly_at_the_real_positions(lengths, extra, dtype):
    T = max(lengths) + extra
    mask = length_mask(torch.tensor(lengths, dtype=dtype), T)
    assert mask.dtype == torch.bool and mask.shape == (len(lengths), T)
    assert mask.tolist() == [[t < n for t in range(T)] for n in lengths]
    assert mask.sum(dim=1).tolist() == lengths  # a prefix of each row, as long as its length


def test_length_mask_default_length_and_empty_batch():
    assert length_mask(torch.tensor([1, 4, 2])).shape == (3, 4)
    assert length_mask(torch.zeros(0, dtype=torch.long)).shape == (0, 0)
    assert length_mask(torch.zeros(0, dtype=torch.long), 3).shape == (0, 3)


@pytest.mark.parametrize(
    "call, error, words",
    [
        (lambda: length_mask([2, 3]), TypeError, "lengths must be a 1-d tensor of ints, got list"),
        (lambda: length_mask(torch.tensor([2.0, 3.0])), ValueError, "torch.float32"),
        (lambda: length_mask(torch.tensor([True])), ValueError, "torch.bool"),
        (lambda: length_mask(torch.tensor([[2, 3]])), ValueError, r"shape \(1, 2\)"),
        (
            lambda: length_mask(torch.tensor([2, 0])),
            ValueError,
            "must all be >= 1, got a length of 0",
        ),
        (lambda: length_mask(torch.tensor([3]), 0), ValueError, "max_length must be an int >= 1"),
        (lambda: length_mask(torch.tensor([3]), 2.0), TypeError, "max_length must be an int"),
        (
            lambda: length_mask(torch.tensor([3]), 2),
            ValueError,
            "max_length = 2 is shorter than the longest length 3",
        ),
    ],
)
def test_length_mask_rejects_bad_input_clearly(call, error, words):
    with pytest.raises(error, match=words):
        call()


def test_length_mask_is_the_mask_of_the_modules_and_of_final_states():
    from helpers.sequence_classification import final_states

    torch.manual_seed(0)
    lengths = torch.tensor([4, 1, 3])
    x = torch.randn(3, 4, 2)
    mask = length_mask(lengths, 4)
    outputs = torch.randn(3, 4, 5)
    assert torch.equal(final_states(outputs, mask), outputs[torch.arange(3), lengths - 1])
    lstm = modules.LSTM(2, 3, batch_first=True)
    packed = torch.nn.utils.rnn.pack_padded_sequence(
        x, lengths, batch_first=True, enforce_sorted=False
    )
    out, _ = torch.nn.utils.rnn.pad_packed_sequence(lstm(packed)[0], batch_first=True)
    assert torch.all(out[~mask] == 0) and torch.all(out[mask].abs().sum(dim=-1) > 0)


@pytest.mark.parametrize(
    "call, error, words",
    [
        (lambda: pad_sequences([], padding_value=0), ValueError, "at least one"),
        (lambda: pad_sequences([[1], []], padding_value=0), ValueError, r"sequences\[1\] is empty"),
        (lambda: pad_sequences([[1.5, 2]], padding_value=0), TypeError, "integer ids"),
        (lambda: pad_sequences([["a"]], padding_value=0), TypeError, "int ids"),
        (lambda: pad_sequences([[[1, 2]]], padding_value=0), ValueError, "1-dimensional"),
        (lambda: pad_sequences([[1]], padding_value=0.5), TypeError, "padding_value"),
        (lambda: length_mask(torch.tensor([2, 0])), ValueError, ">= 1"),
        (lambda: length_mask(torch.tensor([3]), 2), ValueError, "shorter"),
        (
            lambda: PaddedBatch(torch.zeros(2, 3, dtype=torch.long), torch.tensor([1])),
            ValueError,
            "2 sequences",
        ),
        (
            lambda: PaddedBatch(torch.zeros(1, 3, dtype=torch.long), torch.tensor([4])),
            ValueError,
            "does not fit",
        ),
    ],
)
def test_padding_rejects_bad_input_clearly(call, error, words):
    with pytest.raises(error, match=words):
        call()


@pytest.mark.parametrize("unit", ["RNN", "LSTM", "GRU"])
@pytest.mark.parametrize("source", [torch.nn, modules])
def test_a_padded_batch_gives_each_sequence_its_own_outputs_and_loss(unit, source):
    """Padding at the end: outputs at real steps and the loss equal each sequence run alone."""
    torch.manual_seed(0)
    vocab_size, D, H = 7, 5, 6
    embedding = torch.nn.Embedding(vocab_size, D, dtype=torch.float64)
    layer = getattr(source, unit)(D, H, batch_first=True, dtype=torch.float64)
    read_out = torch.nn.Linear(H, vocab_size, dtype=torch.float64)
    generator = torch.Generator().manual_seed(1)
    lengths = [5, 1, 3, 4]
    inputs = [torch.randint(1, vocab_size, (n,), generator=generator) for n in lengths]
    targets = [torch.randint(1, vocab_size, (n,), generator=generator) for n in lengths]

    tokens, _ = pad_sequences(inputs, padding_value=0)
    padded_targets, _ = pad_sequences(targets, padding_value=IGNORE_INDEX)
    logits = read_out(layer(embedding(tokens))[0])
    batch_loss = sequence_loss(logits, padded_targets)

    total, count = 0.0, 0
    for row, (x, y) in enumerate(zip(inputs, targets)):
        alone = read_out(layer(embedding(x[None]))[0])[0]
        torch.testing.assert_close(logits[row, : len(x)], alone, atol=1e-6, rtol=0)
        total += F.cross_entropy(alone, y, reduction="sum")
        count += len(y)
    torch.testing.assert_close(batch_loss, total / count, atol=1e-6, rtol=0)


# --------------------------------------------------------------------------- splits


@settings(max_examples=30, deadline=None)
@given(st.integers(10, 300), st.integers(0, 2**32 - 1))
def test_splits_are_disjoint_cover_the_items_and_are_stable(size, seed):
    items = [f"item{i}" for i in range(size)]
    splits = split_items(items, (0.7, 0.2, 0.1), seed=seed)
    parts = [set(splits[name]) for name in ("train", "validation", "test")]
    assert all(parts)
    assert not (parts[0] & parts[1] or parts[0] & parts[2] or parts[1] & parts[2])
    assert parts[0] | parts[1] | parts[2] == set(items)
    assert sum(map(len, splits.values())) == size
    assert split_items(items, (0.7, 0.2, 0.1), seed=seed) == splits
    assert abs(len(splits["train"]) - 0.7 * size) <= 1


def test_different_seeds_give_different_splits():
    items = list(range(1000))
    assert split_items(items, seed=0)["test"] != split_items(items, seed=1)["test"]


@pytest.mark.parametrize(
    "kwargs, error, words",
    [
        (dict(items="abc"), TypeError, "list of examples"),
        (dict(items=["a", "b", "a"] + list("cdefghij")), ValueError, "distinct"),
        (dict(items=list("abcdefghij"), fractions=(0.5, 0.5)), ValueError, "3 numbers"),
        (dict(items=list("abcdefghij"), fractions=(0.5, 0.4, 0.2)), ValueError, "sum to 1"),
        (dict(items=list("abcdefghij"), fractions=(0.9, 0.1, 0.0)), ValueError, "> 0"),
        (dict(items=list("abc"), fractions=(0.8, 0.1, 0.1)), ValueError, "too few"),
        (
            dict(items=list("abcdefghij"), seed=-1),
            ValueError,
            r"seed must be an int in \[0, 2\*\*32\), got int -1",
        ),
        (
            dict(items=list("abcdefghij"), seed=1.0),
            TypeError,
            r"seed must be an int in \[0, 2\*\*32\), got float 1.0",
        ),
    ],
)
def test_split_items_rejects_bad_input_clearly(kwargs, error, words):
    kwargs.setdefault("seed", 0)
    with pytest.raises(error, match=words):
        split_items(**kwargs)


# --------------------------------------------------------------------------- datasets and loaders


def test_loader_pads_inputs_and_per_step_targets_and_keeps_lengths():
    dataset = SequenceDataset([[4, 5, 6], [7], [8, 9]], [[1, 2, 3], [4], [5, 6]])
    ((batch, targets),) = make_sequence_loader(dataset, pad_id=0, batch_size=3, shuffle=False)
    assert isinstance(batch, PaddedBatch)
    assert batch.tokens.tolist() == [[4, 5, 6], [7, 0, 0], [8, 9, 0]]
    assert batch.lengths.tolist() == [3, 1, 2]
    assert targets.tolist() == [[1, 2, 3], [4, IGNORE_INDEX, IGNORE_INDEX], [5, 6, IGNORE_INDEX]]


def test_loader_with_class_targets_and_a_seeded_shuffle():
    dataset = SequenceDataset([[i + 1] * (1 + i % 3) for i in range(10)], list(range(10)))

    def orders(seed):
        loader = make_sequence_loader(dataset, pad_id=0, batch_size=4, shuffle=True, seed=seed)
        return [torch.cat([y for _, y in loader]).tolist() for _ in range(2)]

    first, again = orders(3), orders(3)
    assert first == again  # rebuilt with the same seed: the same orders, epoch after epoch
    assert first[0] != first[1]  # a new order every epoch
    assert sorted(first[0]) == list(range(10))
    for batch, y in make_sequence_loader(dataset, pad_id=0, batch_size=4, shuffle=False):
        assert y.dtype == torch.long and y.shape == (len(batch),)
        # each input's id is its target + 1, its length 1 + target % 3
        assert torch.equal(batch.tokens[:, 0], y + 1)
        assert torch.equal(batch.lengths, 1 + y % 3)


@pytest.mark.parametrize(
    "call, error, words",
    [
        (lambda: SequenceDataset([[1, 2]], [[1]]), ValueError, "aligned"),
        (lambda: SequenceDataset([[1, 2], [3]], [0]), ValueError, "same number"),
        (lambda: SequenceDataset([[1, -2]], [0]), ValueError, "id -2"),
        (lambda: SequenceDataset([[1, 2]], ["a"]), TypeError, "targets"),
        (lambda: SequenceDataset([[1], [2]], [0, [1]]), TypeError, r"targets\[1\]"),
        (lambda: SequenceDataset("ab", [0, 1]), TypeError, "list of id sequences"),
        (lambda: SequenceDataset([[]], [0]), ValueError, "empty"),
        (
            lambda: make_sequence_loader([[1]], pad_id=0, batch_size=1, shuffle=False),
            TypeError,
            "SequenceDataset",
        ),
        (
            lambda: make_sequence_loader(
                SequenceDataset([[1]], [0]), pad_id=0, batch_size=0, shuffle=False
            ),
            ValueError,
            "batch_size",
        ),
        (
            lambda: make_sequence_loader(
                SequenceDataset([[1]], [0]), pad_id=0, batch_size=1, shuffle=True
            ),
            TypeError,
            "seed",
        ),
        (
            lambda: make_sequence_loader(
                SequenceDataset([[1]], [0]), pad_id=None, batch_size=1, shuffle=False
            ),
            TypeError,
            "pad_id",
        ),
    ],
)
def test_datasets_and_loaders_reject_malformed_input_clearly(call, error, words):
    with pytest.raises(error, match=words):
        call()


def test_sequence_loss_checks_shapes():
    with pytest.raises(ValueError, match=r"\(N, T, V\)"):
        sequence_loss(torch.zeros(2, 3, 4), torch.zeros(2, 4, dtype=torch.long))


# --------------------------------------------------------------------------- batches by length


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.integers(1, 30), min_size=1, max_size=60),
    st.integers(1, 9),
    st.integers(0, 2**32 - 1),
)
def test_length_batches_each_epoch_cover_every_index_once_with_sorted_runs(lengths, size, seed):
    sampler = LengthBatchSampler(lengths, size, seed=seed)
    for _ in range(2):  # two epochs
        batches = list(sampler)
        assert len(batches) == len(sampler) == -(-len(lengths) // size)
        assert sorted(i for batch in batches for i in batch) == list(range(len(lengths)))
        assert all(1 <= len(batch) <= size for batch in batches)
        # the batches are consecutive runs of the indices sorted by length
        spans = sorted((min(lengths[i] for i in b), max(lengths[i] for i in b)) for b in batches)
        assert all(high <= next_low for (_, high), (next_low, _) in zip(spans, spans[1:]))


def test_length_batches_change_from_epoch_to_epoch_and_repeat_with_the_seed():
    lengths = [3] * 40 + [7] * 40
    sampler = LengthBatchSampler(lengths, 8, seed=0)
    first, second = list(sampler), list(sampler)
    assert first != second, "a new grouping and order every epoch"
    assert list(LengthBatchSampler(lengths, 8, seed=0)) == first


def test_a_loader_by_length_pads_less_and_sees_every_example():
    rng = np.random.default_rng(0)
    inputs = [list(range(1, n + 1)) for n in rng.integers(1, 30, size=200)]
    dataset = SequenceDataset(inputs, [[0] * len(x) for x in inputs])
    padded = {}
    for by_length in (False, True):
        loader = make_sequence_loader(
            dataset, pad_id=0, batch_size=16, shuffle=True, seed=1, by_length=by_length
        )
        batches = list(loader)
        assert sum(len(batch.lengths) for batch, _ in batches) == 200
        padded[by_length] = sum(batch.tokens.numel() for batch, _ in batches)
    real = sum(len(x) for x in inputs)
    assert padded[True] < real * 1.1 < padded[False]


def test_by_length_needs_shuffling():
    dataset = SequenceDataset([[1, 2], [3]], [[0, 0], [0]])
    with pytest.raises(ValueError, match="by_length=True batches for training; it needs shuffle"):
        make_sequence_loader(dataset, pad_id=0, batch_size=2, shuffle=False, by_length=True)
    with pytest.raises(ValueError, match="by_length must be one of"):
        make_sequence_loader(dataset, pad_id=0, batch_size=2, shuffle=True, seed=0, by_length=1)


# split_by_group and shared_groups: the leakage criterion of a task


def prefix6(word):
    return word[:6]


WORDS = [
    f"{stem}{ending}"
    for stem in (
        "hyphen",
        "rabbit",
        "garden",
        "number",
        "letter",
        "window",
        "pencil",
        "button",
        "castle",
        "forest",
        "silver",
        "travel",
    )
    for ending in ("", "s", "ed", "ing", "ation")
]


def test_split_by_group_keeps_every_group_in_one_split():
    from helpers.text import shared_groups, split_by_group

    splits = split_by_group(WORDS, prefix6, seed=0)
    assert shared_groups(splits, prefix6) == {}
    assert sorted(sum(splits.values(), [])) == sorted(WORDS)
    assert all(splits.values())


def test_split_by_group_is_fixed_by_its_seed_and_meets_the_shares():
    from helpers.corpora import english_words
    from helpers.text import split_by_group

    words = english_words(min_length=4)[:20_000]
    first = split_by_group(words, prefix6, seed=3)
    assert first == split_by_group(words, prefix6, seed=3)
    assert first != split_by_group(words, prefix6, seed=4)
    largest_group = max(collections.Counter(prefix6(w) for w in words).values())
    for name, share in zip(("train", "validation", "test"), (0.8, 0.1, 0.1)):
        assert abs(len(first[name]) - share * len(words)) <= largest_group + 1


def test_a_plain_split_of_words_leaks_prefix_groups_and_shared_groups_finds_them():
    from helpers.text import shared_groups, split_items

    leaked = shared_groups(split_items(WORDS, seed=0), prefix6)
    assert leaked and all(len(places) > 1 for places in leaked.values())
    assert set(leaked) <= {w[:6] for w in WORDS}


def test_split_by_group_names_its_errors():
    from helpers.text import shared_groups, split_by_group

    with pytest.raises(TypeError, match="group_of must be a function"):
        split_by_group(WORDS, "prefix", seed=0)
    with pytest.raises(ValueError, match="2 group"):
        split_by_group(
            [f"{p}{i}" for p in ("aa", "bb") for i in range(20)], lambda w: w[:2], seed=0
        )
    with pytest.raises(ValueError, match="must be distinct"):
        split_by_group(WORDS + WORDS[:1], prefix6, seed=0)
    with pytest.raises(ValueError, match=r"seed must be an int in \[0, 2\*\*32\), got int -1"):
        split_by_group(WORDS, prefix6, seed=-1)
    with pytest.raises(TypeError, match="splits must be a dict with keys"):
        shared_groups({"train": []}, prefix6)
