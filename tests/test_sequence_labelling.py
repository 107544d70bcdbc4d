"""helpers.sequence_labelling: delayed targets, the tagger on padded batches, baselines, scores."""

import pytest
import torch
from torch import nn

from helpers.sequence_labelling import (
    LinearWindowTagger,
    Tagger,
    WindowTagger,
    break_f1,
    f1_bootstrap_difference,
    fit_tagger,
    hidden_size_for,
    labelling_dataset,
    make_baseline,
    predict_labels,
    token_scores,
    window_features,
)
from helpers.text import (
    IGNORE_INDEX,
    PaddedBatch,
    Vocab,
    make_sequence_loader,
    sequence_loss,
)
from helpers.training import train

WORDS = ["meaning", "network", "abc", "hyphenation"]
VOCAB = Vocab(WORDS)


def labels_of(words):
    # a deterministic labelling: 1 after every vowel that is followed by a consonant
    return [
        [int(c in "aeiou" and i + 1 < len(w) and w[i + 1] not in "aeiou") for i, c in enumerate(w)]
        for w in words
    ]


@pytest.mark.parametrize("delay", [0, 1, 3])
def test_labelling_dataset_delays_targets_behind_end_tokens(delay):
    labels = labels_of(WORDS)
    dataset = labelling_dataset(WORDS, labels, VOCAB, delay=delay)
    for index, (word, row) in enumerate(zip(WORDS, labels)):
        x, y = dataset[index]
        assert len(x) == len(y) == len(word) + delay
        assert x[: len(word)].tolist() == VOCAB.encode(word)
        assert x[len(word) :].tolist() == [VOCAB.eos_id] * delay
        assert y[:delay].tolist() == [IGNORE_INDEX] * delay
        assert y[delay:].tolist() == row


@pytest.mark.parametrize("unit", ["GRU", "LSTM"])
@pytest.mark.parametrize("implementation", ["torch", "scratch"])
def test_a_padded_batch_gives_each_word_its_own_logits_and_loss(unit, implementation):
    torch.manual_seed(0)
    model = Tagger(
        len(VOCAB),
        unit=unit,
        hidden_size=8,
        embedding_dim=4,
        implementation=implementation,
        dtype=torch.float64,
    )
    dataset = labelling_dataset(WORDS, labels_of(WORDS), VOCAB, delay=2)
    ((batch, targets),) = make_sequence_loader(
        dataset, pad_id=VOCAB.pad_id, batch_size=4, shuffle=False
    )
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
    history = train(
        model,
        loader,
        sequence_loss,
        epochs=25,
        optimizer=torch.optim.Adam(model.parameters(), lr=1e-2),
        progress=False,
    )
    assert history["train_loss"][-1] < 0.3 * history["train_loss"][0]
    assert predict_labels(model, WORDS, VOCAB, delay=1) == labels_of(WORDS)


def test_window_tagger_backs_off_to_narrower_windows_it_has_seen():
    words = ["abab", "baba", "aabb", "bbaa", "abba", "baab"] * 3
    labels = [[int(i + 1 < len(w) and w[i + 1] == "b") for i in range(len(w))] for w in words]
    # "c" never occurs in training: every wide window of "acab" is unseen
    plain = WindowTagger(2, 1).fit(words, labels)
    assert plain.predict(["acab"]) == [[plain.default] * 4]
    backoff = WindowTagger(2, 1, backoff=True).fit(words, labels)
    # letter 2 ("a", next letter "b"): the window "ca" + "b" is unseen, "ab" (0 left, 1 right) is seen
    label, window = backoff.label_of("acab", 2)
    assert (label, window) == (1, (0, 1))
    assert backoff.predict(["acab"])[0][2] == 1


def test_the_back_off_path_shrinks_the_wider_side_first():
    tagger = WindowTagger(3, 1, backoff=True)
    assert tagger.path == [(3, 1), (2, 1), (1, 1), (0, 1), (0, 0)]
    assert WindowTagger(1, 2, backoff=True).path == [(1, 2), (1, 1), (0, 1), (0, 0)]
    assert WindowTagger(2, 2).path == [(2, 2)]  # no back-off: one window


def test_min_count_makes_rare_windows_back_off():
    words = ["ab"] * 5 + ["cb"]
    labels = [[1, 0]] * 5 + [[0, 0]]
    # the window "cb" around "c" was seen once, with label 0; the letter "c" alone also once
    once = WindowTagger(0, 1, backoff=True, min_count=1).fit(words, labels)
    assert once.label_of("cb", 0) == (0, (0, 1))
    twice = WindowTagger(0, 1, backoff=True, min_count=2).fit(words, labels)
    assert twice.label_of("cb", 0) == (0, None)  # nothing seen twice: the default label
    assert twice.label_of("ab", 0) == (1, (0, 1))


def test_window_features_are_the_substrings_through_the_letter():
    features = window_features("mean", 1, 1, 2)
    assert len(features) == (1 + 1) * (2 + 1)
    assert set(features) == {"0:e", "0:ea", "0:ean", "-1:me", "-1:mea", "-1:mean"}
    # the ends are padded
    assert set(window_features("ab", 0, 1, 0)) == {"0:a", "-1:^a"}
    assert "0:b$" in window_features("ab", 1, 0, 1)


def test_the_linear_baseline_learns_a_rule_that_needs_the_right_context():
    words = ["abab", "baba", "aabb", "bbaa", "abba", "baab", "aaab", "bbba"] * 5
    labels = [[int(i + 1 < len(w) and w[i + 1] == "b") for i in range(len(w))] for w in words]
    model = LinearWindowTagger(1, 1, C=10.0, min_df=1).fit(words, labels)
    assert model.predict(words[:8]) == labels[:8]
    blind = LinearWindowTagger(1, 0, C=10.0, min_df=1).fit(words, labels)
    assert blind.predict(words[:8]) != labels[:8]
    with pytest.raises(RuntimeError, match="fit"):
        LinearWindowTagger(1, 1).predict(["ab"])


def test_make_baseline_builds_either_kind():
    assert isinstance(make_baseline("table", left=1, right=2, backoff=True), WindowTagger)
    linear = make_baseline("linear", left=1, right=2, C=3.0)
    assert isinstance(linear, LinearWindowTagger) and linear.classifier.C == 3.0
    with pytest.raises(ValueError, match="kind"):
        make_baseline("forest", left=1, right=1)


def test_tagger_dropout_acts_on_the_non_recurrent_connections_only_while_training():
    torch.manual_seed(0)
    plain = Tagger(len(VOCAB), hidden_size=8, embedding_dim=4)
    torch.manual_seed(0)
    dropped = Tagger(len(VOCAB), hidden_size=8, embedding_dim=4, dropout=0.5)
    assert list(plain.state_dict()) == list(dropped.state_dict())  # no new parameters
    dataset = labelling_dataset(WORDS, labels_of(WORDS), VOCAB)
    ((batch, _),) = make_sequence_loader(dataset, pad_id=VOCAB.pad_id, batch_size=4, shuffle=False)
    dropped.eval()
    torch.testing.assert_close(dropped(batch), plain(batch))
    dropped.train()
    assert not torch.allclose(dropped(batch), plain(batch))
    stack = Tagger(len(VOCAB), hidden_size=8, num_layers=2, dropout=0.25)
    assert stack.rnn.dropout == 0.25  # between the layers of a stack too
    with pytest.raises(ValueError, match="dropout"):
        Tagger(len(VOCAB), dropout=1.5)


def test_fit_tagger_stops_when_validation_stops_improving_and_keeps_the_best_weights():
    words = {"train": WORDS * 8, "validation": WORDS}
    # validation labels that contradict the training ones: learning soon makes them worse
    labels = {
        "train": labels_of(words["train"]),
        "validation": [[1 - label for label in row] for row in labels_of(WORDS)],
    }
    model, history = fit_tagger(
        words,
        labels,
        VOCAB,
        seed=0,
        delay=1,
        max_epochs=60,
        patience=2,
        lr=3e-2,
        batch_size=8,
        hidden_size=16,
    )
    assert history.stopped_early and len(history) < 60
    best = max(history["val_f1"])
    assert history["val_f1"][history.best_epoch - 1] == best
    assert all(f1 <= best for f1 in history["val_f1"][history.best_epoch :])
    assert len(history) == history.best_epoch + 2  # patience 2
    # the model holds the best epoch's weights: its validation F1 is the best one
    predicted = predict_labels(model, words["validation"], VOCAB, delay=1)
    assert token_scores(predicted, labels["validation"])["f1"] == pytest.approx(best, abs=1e-6)
    # the same seed gives the same run
    _, again = fit_tagger(
        words,
        labels,
        VOCAB,
        seed=0,
        delay=1,
        max_epochs=60,
        patience=2,
        lr=3e-2,
        batch_size=8,
        hidden_size=16,
    )
    assert again["val_loss"] == history["val_loss"] and again["val_f1"] == history["val_f1"]


def test_f1_bootstrap_difference_is_the_f1_gap_with_an_interval_around_it():
    import numpy as np

    rng = np.random.default_rng(0)
    true = [[int(x) for x in rng.integers(0, 2, 8)] for _ in range(400)]

    def noisy(flip):
        return [[1 - t if rng.random() < flip else t for t in row] for row in true]

    good, bad = noisy(0.05), noisy(0.3)
    gap = token_scores(good, true)["f1"] - token_scores(bad, true)["f1"]
    difference = f1_bootstrap_difference(good, bad, true, names=("good", "bad"))
    assert difference.mean == pytest.approx(gap)
    assert difference.low < gap < difference.high and difference.low > 0
    assert difference.n == 400 and difference.unit == "words"
    assert difference.verdict(lower_is_better=False) == "good is better"
    same = f1_bootstrap_difference(good, good, true)
    assert same.mean == 0 and same.low == same.high == 0
    # several taggers on a side: the difference of their mean F1s
    mean_gap = (token_scores(good, true)["f1"] + token_scores(bad, true)["f1"]) / 2 - token_scores(
        bad, true
    )["f1"]
    assert f1_bootstrap_difference([good, bad], bad, true).mean == pytest.approx(mean_gap)


def test_break_f1_is_token_scores_f1_on_the_real_steps():
    torch.manual_seed(0)
    dataset = labelling_dataset(WORDS, labels_of(WORDS), VOCAB, delay=2)
    ((batch, targets),) = make_sequence_loader(
        dataset, pad_id=VOCAB.pad_id, batch_size=4, shuffle=False
    )
    logits = torch.randn(*targets.shape, 2)
    predicted = [row[2:length].tolist() for row, length in zip(logits.argmax(-1), batch.lengths)]
    expected = token_scores(predicted, labels_of(WORDS))["f1"]
    assert break_f1(logits, targets).item() == pytest.approx(expected)
    assert break_f1(torch.zeros(1, 3, 2), torch.tensor([[0, 0, IGNORE_INDEX]])).item() == 0.0


def test_hidden_size_for_matches_a_parameter_budget():
    def count(**kwargs):
        return sum(p.numel() for p in Tagger(30, **kwargs).parameters())

    budget = count(hidden_size=48, bidirectional=True)
    forward = hidden_size_for(budget, 30)
    assert all(
        abs(count(hidden_size=forward) - budget) <= abs(count(hidden_size=h) - budget)
        for h in (forward - 1, forward + 1)
    )
    assert hidden_size_for(budget, 30, bidirectional=True) == 48
    deep = hidden_size_for(budget, 30, bidirectional=True, num_layers=2)
    assert (
        deep < 48
        and abs(count(hidden_size=deep, bidirectional=True, num_layers=2) - budget) < 0.05 * budget
    )


def test_baseline_and_tagger_runs_report_scores_on_the_book_split():
    from helpers.sequence_labelling import baseline_run, hyphenation_task, tagger_run

    words, labels, vocab = hyphenation_task()
    assert hyphenation_task() is hyphenation_task()  # computed once
    table = baseline_run(kind="table", left=1, right=1, backoff=True, test=True)
    fitted = WindowTagger(1, 1, backoff=True).fit(words["train"], labels["train"])
    assert table["test"] == token_scores(fitted.predict(words["test"]), labels["test"])
    assert [[int(c) for c in row] for row in table["test_predictions"]] == fitted.predict(
        words["test"]
    )
    assert "test" not in baseline_run(kind="table", left=0, right=0)
    run = tagger_run(seed=0, delay=1, max_epochs=1, hidden_size=8, keep_predictions=True)
    assert run["epochs"] == run["best_epoch"] == 1 and len(run["val_f1"]) == 1
    assert run["validation"]["f1"] == pytest.approx(run["val_f1"][0], abs=1e-6)
    assert len(run["test_predictions"]) == len(words["test"])
