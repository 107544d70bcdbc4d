"""helpers.sequence_classification: final states of padded batches, models and baselines."""

import pytest
import torch
from torch.nn import functional as F

from helpers.sequence_classification import (
    BagOfCharacters,
    FinalStateClassifier,
    accuracy,
    classification_dataset,
    final_states,
    majority_accuracy,
)
from helpers.text import PaddedBatch, Vocab, make_sequence_loader, pad_sequences
from helpers.training import train

NAMES = ["anna", "bob", "eve", "christopher", "al", "maximilian"]
VOCAB = Vocab(NAMES)


def batch_of(names):
    tokens, lengths = pad_sequences([VOCAB.encode(n) for n in names], padding_value=VOCAB.pad_id)
    return PaddedBatch(tokens, lengths)


@pytest.mark.parametrize("unit", ["GRU", "LSTM"])
@pytest.mark.parametrize("implementation", ["torch", "scratch"])
def test_a_padded_batch_gives_each_name_the_logits_and_loss_it_gets_alone(unit, implementation):
    torch.manual_seed(0)
    model = FinalStateClassifier(
        len(VOCAB),
        3,
        unit=unit,
        hidden_size=8,
        embedding_dim=4,
        implementation=implementation,
        dtype=torch.float64,
    )
    model.embedding.to(torch.float64)
    targets = torch.tensor([0, 1, 2, 0, 1, 2])
    logits = model(batch_of(NAMES))
    alone = torch.cat([model(batch_of([name])) for name in NAMES])
    torch.testing.assert_close(logits, alone, atol=1e-6, rtol=0)
    torch.testing.assert_close(
        F.cross_entropy(logits, targets), F.cross_entropy(alone, targets), atol=1e-6, rtol=0
    )


@pytest.mark.parametrize("unit", ["RNN", "GRU", "LSTM"])
def test_packed_torch_and_masked_scratch_give_the_same_logits_and_gradients(unit):
    torch.manual_seed(0)
    ref = FinalStateClassifier(len(VOCAB), 2, unit=unit, hidden_size=8, dtype=torch.float64)
    ours = FinalStateClassifier(
        len(VOCAB), 2, unit=unit, hidden_size=8, dtype=torch.float64, implementation="scratch"
    )
    ours.load_state_dict(ref.state_dict())
    batch = batch_of(NAMES)
    torch.testing.assert_close(ours(batch), ref(batch), atol=1e-12, rtol=0)
    grads = [torch.autograd.grad(m(batch).pow(2).sum(), list(m.parameters())) for m in (ref, ours)]
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b, atol=1e-10, rtol=0)


def test_final_states_picks_each_rows_last_real_step():
    outputs = torch.arange(2 * 4 * 3, dtype=torch.float64).reshape(2, 4, 3)
    mask = torch.tensor([[True, True, False, False], [True, True, True, True]])
    expected = torch.stack([outputs[0, 1], outputs[1, 3]])
    assert torch.equal(final_states(outputs, mask), expected)


@pytest.mark.parametrize(
    "outputs, mask, words",
    [
        (torch.zeros(2, 3), torch.ones(2, 3, dtype=torch.bool), r"\(N, T, H\)"),
        (torch.zeros(2, 3, 4), torch.ones(2, 3), "bool"),
        (torch.zeros(2, 3, 4), torch.ones(2, 4, dtype=torch.bool), r"\(N, T\) = \(2, 3\)"),
        (
            torch.zeros(2, 3, 4),
            torch.tensor([[True, False, True], [True, True, True]]),
            "padding at the end",
        ),
        (torch.zeros(2, 3, 4), torch.tensor([[False] * 3, [True] * 3]), "no real step"),
    ],
)
def test_final_states_rejects_bad_input_clearly(outputs, mask, words):
    with pytest.raises(ValueError, match=words):
        final_states(outputs, mask)


def test_majority_accuracy_counts_the_most_common_training_label():
    assert majority_accuracy(["a", "a", "b"], ["a", "b", "b", "a"]) == 0.5
    assert majority_accuracy(["b", "b", "a"], ["b", "b", "b", "a"]) == 0.75
    with pytest.raises(ValueError, match="non-empty"):
        majority_accuracy([], ["a"])


def test_bag_of_characters_learns_a_class_decided_by_one_letter_but_not_by_order():
    # class "z" exactly when the word contains a z: counts decide it
    words = ["az", "za", "bz", "zb", "ab", "ba", "bb", "aa", "zz", "abz", "bab", "aab"]
    classes = ["z" if "z" in w else "no" for w in words]
    vocab = Vocab(words)
    bag = BagOfCharacters(vocab, ["no", "z"]).fit(words, classes)
    assert bag.accuracy(words, classes) == 1.0
    assert bag.predict(["zzz", "bbb"]) == ["z", "no"]
    # anagrams look the same to it: "ab" and "ba" always get one label
    assert len(set(bag.predict(["ab", "ba"]))) == 1
    torch.testing.assert_close(bag.features(["ab"]), bag.features(["ba"]))


def test_classification_dataset_rejects_unknown_labels_and_mismatched_lengths():
    with pytest.raises(ValueError, match="not one of the classes"):
        classification_dataset(["ab"], ["x"], VOCAB, ["a", "b"])
    with pytest.raises(ValueError, match="one entry per text"):
        classification_dataset(["ab", "ba"], ["a"], VOCAB, ["a", "b"])
    with pytest.raises(TypeError, match="PaddedBatch"):
        FinalStateClassifier(len(VOCAB), 2)(torch.zeros(2, 3, dtype=torch.long))


def test_a_short_training_run_decreases_the_loss_and_learns_the_training_names():
    names = [n * k for n in ("anna", "bob", "eve", "al") for k in (1, 2)]
    labels = ["f", "m", "f", "m"] * 2
    dataset = classification_dataset(names, labels, VOCAB, ["f", "m"])
    loader = make_sequence_loader(dataset, pad_id=VOCAB.pad_id, batch_size=4, shuffle=True, seed=0)
    torch.manual_seed(0)
    model = FinalStateClassifier(len(VOCAB), 2, hidden_size=16)
    history = train(
        model,
        loader,
        F.cross_entropy,
        epochs=30,
        optimizer=torch.optim.Adam(model.parameters(), lr=1e-2),
        progress=False,
    )
    losses = history["train_loss"]
    assert losses[-1] < 0.2 * losses[0]
    fixed = make_sequence_loader(dataset, pad_id=VOCAB.pad_id, batch_size=8, shuffle=False)
    assert accuracy(model, fixed) == 1.0
