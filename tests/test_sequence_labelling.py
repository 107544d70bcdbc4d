"""helpers.sequence_labelling: delayed targets, the tagger on padded batches, baselines, scores."""

import pytest
import torch
from torch import nn

from helpers.sequence_labelling import (
    Tagger,
    WindowTagger,
    labelling_dataset,
    predict_labels,
    token_scores,
)
from helpers.text import IGNORE_INDEX, PaddedBatch, Vocab, make_sequence_loader, pad_sequences, sequence_loss
from helpers.training import train

WORDS = ["meaning", "network", "abc", "hyphenation"]
VOCAB = Vocab(WORDS)


def labels_of(words):
    # a deterministic labelling: 1 after every vowel that is followed by a consonant
    return [[int(c in "aeiou" and i + 1 < len(w) and w[i + 1] not in "aeiou")
             for i, c in enumerate(w)] for w in words]


@pytest.mark.parametrize("delay", [0, 1, 3])
def test_labelling_dataset_delays_targets_behind_end_tokens(delay):
    labels = labels_of(WORDS)
    dataset = labelling_dataset(WORDS, labels, VOCAB, delay=delay)
    for index, (word, row) in enumerate(zip(WORDS, labels)):
        x, y = dataset[index]
        assert len(x) == len(y) == len(word) + delay
        assert x[: len(word)].tolist() == VOCAB.encode(word)
        assert x[len(word):].tolist() == [VOCAB.eos_id] * delay
        assert y[:delay].tolist() == [IGNORE_INDEX] * delay
        assert y[delay:].tolist() == row


@pytest.mark.parametrize("unit", ["GRU", "LSTM"])
@pytest.mark.parametrize("implementation", ["torch", "scratch"])
def test_a_padded_batch_gives_each_word_its_own_logits_and_loss(unit, implementation):
    torch.manual_seed(0)
    model = Tagger(len(VOCAB), unit=unit, hidden_size=8, embedding_dim=4,
                   implementation=implementation, dtype=torch.float64)
    dataset = labelling_dataset(WORDS, labels_of(WORDS), VOCAB, delay=2)
    (batch, targets), = make_sequence_loader(dataset, pad_id=VOCAB.pad_id, batch_size=4, shuffle=False)
    logits = model(batch)
    total, count = 0.0, 0
    for n in range(len(WORDS)):
        x, y = dataset[n]
        alone = model(PaddedBatch(x[None], torch.tensor([len(x)])))[0]
        torch.testing.assert_close(logits[n, : len(x)], alone, atol=1e-6, rtol=0)
        real = y != IGNORE_INDEX
        total += nn.functional.cross_entropy(alone[real], y[real], reduction="sum")
        count += int(real.sum())
    torch.testing.assert_close(sequence_loss(logits, targets), total / count, atol=1e-6, rtol=0)


class Echo(nn.Module):
    """A stand-in model whose label at each step is 1 exactly where the input id is odd."""

    def __init__(self):
        super().__init__()
        self.dummy = nn.Parameter(torch.zeros(1))

    def forward(self, batch):
        odd = (batch.tokens % 2).float()
        return torch.stack([1 - odd, odd], dim=-1) + 0 * self.dummy


@pytest.mark.parametrize("delay", [0, 2])
def test_predict_labels_returns_one_label_per_character_and_undoes_the_delay(delay):
    words = ["abc", "hyphenation", "meaning"]
    predicted = predict_labels(Echo(), words, VOCAB, delay=delay, batch_size=2)
    assert [len(p) for p in predicted] == [len(w) for w in words]
    # the Echo model labels step t by input t; with a delay the label of letter t is
    # read at step t + delay, which is letter t + delay (or an <eos> id)
    for word, row in zip(words, predicted):
        ids = VOCAB.encode(word) + [VOCAB.eos_id] * delay
        assert row == [ids[t + delay] % 2 for t in range(len(word))]


def test_window_tagger_learns_a_rule_that_its_window_sees():
    words = ["abab", "baba", "aabb", "bbaa", "abba", "baab"] * 3
    # label 1 when the next letter is "b": a window with one letter on the right sees it
    labels = [[int(i + 1 < len(w) and w[i + 1] == "b") for i in range(len(w))] for w in words]
    right = WindowTagger(0, 1).fit(words, labels)
    assert right.predict(words) == labels
    assert right.predict(["aab"]) == [[0, 1, 0]]
    blind = WindowTagger(1, 0).fit(words, labels)
    assert blind.predict(words) != labels  # the left context alone cannot see the next letter


def test_token_scores_against_a_direct_count():
    predicted = [[0, 1, 1, 0], [1, 0, 0]]
    true = [[0, 1, 0, 1], [1, 1, 0]]
    scores = token_scores(predicted, true)
    tp, fp, fn = 2, 1, 2
    assert scores["accuracy"] == 4 / 7 and scores["tokens"] == 7
    assert scores["precision"] == tp / (tp + fp) and scores["recall"] == tp / (tp + fn)
    assert scores["f1"] == pytest.approx(2 * tp / (2 * tp + fp + fn))
    nothing = token_scores([[0, 0]], [[0, 1]])
    assert nothing["precision"] == nothing["recall"] == nothing["f1"] == 0.0


@pytest.mark.parametrize(
    "call, error, words",
    [
        (lambda: labelling_dataset(["ab"], [[0]], VOCAB), ValueError, "one label per character"),
        (lambda: labelling_dataset(["ab"], [[0, 1]], VOCAB, delay=-1), TypeError, "delay"),
        (lambda: labelling_dataset(["ab"], [[0, 1], [1]], VOCAB), ValueError, "one label sequence"),
        (lambda: WindowTagger(-1, 0), TypeError, "left"),
        (lambda: token_scores([[0, 1]], [[0]]), ValueError, "predicted\\[0\\] has 2"),
        (lambda: token_scores([[0]], [[0], [1]]), ValueError, "2"),
        (lambda: Tagger(len(VOCAB))(torch.zeros(2, 3, dtype=torch.long)), TypeError, "PaddedBatch"),
    ],
)
def test_bad_input_is_rejected_clearly(call, error, words):
    with pytest.raises(error, match=words):
        call()


def test_a_short_training_run_decreases_the_loss():
    words = WORDS * 4
    dataset = labelling_dataset(words, labels_of(words), VOCAB, delay=1)
    loader = make_sequence_loader(dataset, pad_id=VOCAB.pad_id, batch_size=8, shuffle=True, seed=0)
    torch.manual_seed(0)
    model = Tagger(len(VOCAB), hidden_size=16)
    history = train(model, loader, sequence_loss, epochs=25,
                    optimizer=torch.optim.Adam(model.parameters(), lr=1e-2), progress=False)
    assert history["train_loss"][-1] < 0.3 * history["train_loss"][0]
    assert predict_labels(model, WORDS, VOCAB, delay=1) == labels_of(WORDS)
