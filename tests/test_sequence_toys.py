"""The pattern and echo tasks of the foundation chapters: data that says what it claims, splits
that share no sequence, models of the stated sizes, training that repeats itself exactly (the
live reruns depend on it), and choices made on validation only."""

import pytest
import torch

from helpers.sequence_toys import (
    PATTERN,
    Echo,
    PatternCNN,
    PatternRNN,
    WindowMLP,
    choose_on_validation,
    contains_pattern,
    count_parameters,
    echo_accuracy,
    echo_dataset,
    echo_splits,
    pattern_accuracy,
    pattern_dataset,
    pattern_splits,
    train_echo,
    train_pattern_model,
)
from helpers.text import shared_groups


def as_items(split):
    return [tuple(row) for row in split[0].tolist()]


def test_contains_pattern():
    assert contains_pattern([0, 2, 3, 1, 0])
    assert contains_pattern([2, 3, 1])
    assert not contains_pattern([2, 3, 0, 1, 2, 3])
    assert not contains_pattern([1, 3, 2])


def test_pattern_labels_are_right_and_alternate():
    x, y = pattern_dataset(301, seed=5)
    assert x.shape == (301, 12) and x.dtype == torch.int64 and y.shape == (301,)
    assert y.tolist() == [float(i % 2 == 0) for i in range(301)]
    for row, label in zip(x.tolist(), y.tolist()):
        assert contains_pattern(row) == bool(label)
        occurrences = sum(tuple(row[i : i + 3]) == PATTERN for i in range(10))
        assert occurrences == (1 if label else 0)


def test_pattern_dataset_is_seeded():
    a, b, c = (pattern_dataset(50, seed=s)[0] for s in (7, 7, 8))
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_pattern_starts_are_respected():
    x, y = pattern_dataset(200, seed=0, starts=range(5, 10))
    for row in x[y == 1].tolist():
        start = next(i for i in range(10) if tuple(row[i : i + 3]) == PATTERN)
        assert 5 <= start <= 9


def test_pattern_dataset_excludes_what_it_is_told():
    x, _ = pattern_dataset(40, seed=3)
    excluded = set(as_items((x[:20], None)))
    again, _ = pattern_dataset(40, seed=3, exclude=excluded)
    assert not excluded & set(as_items((again, None)))


@pytest.mark.parametrize(
    "arguments",
    [
        dict(num_sequences=0, seed=0),
        dict(num_sequences=5, seed=-1),
        dict(num_sequences=5, seed=0, starts=[10]),
        dict(num_sequences=5, length=2, seed=0),
    ],
)
def test_pattern_dataset_refuses_bad_arguments(arguments):
    with pytest.raises((TypeError, ValueError)):
        pattern_dataset(**arguments)


@pytest.mark.parametrize("size, seed", [(100, 0), (300, 4), (1000, 2)])
def test_pattern_splits_share_no_sequence(size, seed):
    splits = pattern_splits(size, seed=seed)
    items = {name: as_items(splits[name]) for name in ("train", "validation", "test")}
    assert shared_groups(items, lambda sequence: sequence) == {}
    assert [len(items[name]) for name in items] == [size, 1000, 2000]
    assert splits["test_long"][0].shape == (2000, 24)
    for name, (_, y) in splits.items():
        assert y.mean().item() == 0.5, name


def test_pattern_training_sets_differ_by_seed_and_evaluation_sets_do_not():
    a, b = pattern_splits(100, seed=0), pattern_splits(100, seed=1)
    assert not torch.equal(a["train"][0], b["train"][0])
    for name in ("validation", "test", "test_long"):
        assert torch.equal(a[name][0], b[name][0])


def test_model_sizes_and_lengths():
    mlp, rnn, cnn = WindowMLP(), PatternRNN(), PatternCNN()
    assert [count_parameters(m) for m in (mlp, rnn, cnn)] == [
        12 * 4 * 64 + 64 + 64 + 1,
        4 * 16 + 16 * 16 + 2 * 16 + 17,
        16 * 4 * 3 + 16 + 17,
    ]
    x12, x24 = torch.randint(0, 4, (5, 12)), torch.randint(0, 4, (5, 24))
    for model in (mlp, rnn, cnn):
        assert model(x12).shape == (5,)
    assert rnn(x24).shape == (5,) and cnn(x24).shape == (5,)
    with pytest.raises(ValueError, match="12 symbols"):
        mlp(x24)


def test_the_cnn_does_not_care_where_the_pattern_is():
    torch.manual_seed(0)
    cnn = PatternCNN()
    base = torch.tensor([[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]])
    scores = []
    for start in range(10):
        x = base.clone()
        x[0, start : start + 3] = torch.tensor(PATTERN)
        scores.append(cnn(x).item())
    # the filters see the same three symbols wherever they are; only the zeros around
    # them differ at the edges, and a max over positions does not see where it fired
    assert max(scores[2:8]) - min(scores[2:8]) < 1e-6


def test_training_repeats_itself_exactly():
    splits = pattern_splits(100, seed=0)
    _, first = train_pattern_model("RNN", 100, seed=0, lr=1e-2, rounds=2, splits=splits)
    _, again = train_pattern_model("RNN", 100, seed=0, lr=1e-2, rounds=2, splits=splits)
    assert first["val_loss"] == again["val_loss"]
    assert first["examples_per_round"] == 1000 and first["rounds_run"] == 2
    assert first["best_round"] in (1, 2)
    assert first["best_val_accuracy"] == first["val_accuracy"][first["best_round"] - 1]
    _, other = train_pattern_model("RNN", 100, seed=1, lr=1e-2, rounds=2)
    assert other["val_loss"] != first["val_loss"]


def test_training_returns_the_best_rounds_model():
    splits = pattern_splits(300, seed=0)
    model, record = train_pattern_model(
        "CNN", 300, seed=0, lr=3e-2, rounds=4, patience=1, splits=splits
    )
    assert pattern_accuracy(model, *splits["validation"]) == pytest.approx(
        record["best_val_accuracy"], abs=1e-6
    )


def test_training_refuses_mismatched_splits():
    with pytest.raises(ValueError, match="train_size"):
        train_pattern_model("MLP", 300, seed=0, lr=1e-2, splits=pattern_splits(100, seed=0))
    with pytest.raises(ValueError, match="kind"):
        train_pattern_model("GRU", 100, seed=0, lr=1e-2)


def test_choose_on_validation():
    runs = [
        dict(kind="RNN", lr=0.1, seed=0, best_val_accuracy=0.9, best_val_loss=0.3),
        dict(kind="RNN", lr=0.1, seed=1, best_val_accuracy=0.5, best_val_loss=0.6),
        dict(kind="RNN", lr=0.01, seed=0, best_val_accuracy=0.8, best_val_loss=0.4),
        dict(kind="RNN", lr=0.01, seed=1, best_val_accuracy=0.8, best_val_loss=0.4),
        dict(
            kind="CNN", lr=0.1, seed=0, best_val_accuracy=0.9, best_val_loss=0.5, test_accuracy=0.0
        ),
        dict(
            kind="CNN", lr=0.01, seed=0, best_val_accuracy=0.7, best_val_loss=0.4, test_accuracy=1.0
        ),
        dict(kind="MLP", lr=0.1, seed=0, best_val_accuracy=0.7, best_val_loss=0.5),
        dict(kind="MLP", lr=0.01, seed=0, best_val_accuracy=0.7, best_val_loss=0.4),
    ]
    assert choose_on_validation(runs, group_by=["kind"]) == {
        ("RNN",): 0.01,  # the higher mean validation accuracy over the seeds
        ("CNN",): 0.1,  # the test scores play no part
        ("MLP",): 0.01,  # a tie in accuracy goes to the lower validation loss
    }
    with pytest.raises(TypeError):
        choose_on_validation(runs, group_by="kind")


def test_echo_targets_are_the_delayed_inputs():
    x, y = echo_dataset(20, delay=3, seed=0, length=10)
    assert (y[:, :3] == -100).all()
    assert torch.equal(y[:, 3:], x[:, :-3])
    with pytest.raises(ValueError, match="delay"):
        echo_dataset(5, delay=10, seed=0, length=10)


def test_echo_accuracy_counts_only_steps_with_a_target():
    x, y = echo_dataset(4, delay=2, seed=1, length=8)
    perfect = torch.nn.functional.one_hot(y.clamp(min=0), 4).double()
    assert echo_accuracy(perfect, y).item() == 1.0
    wrong_where_ignored = perfect.clone()
    wrong_where_ignored[:, :2] = torch.flip(wrong_where_ignored[:, :2], dims=[-1])
    assert echo_accuracy(wrong_where_ignored, y).item() == 1.0


def test_echo_splits_share_no_sequence():
    splits = echo_splits(4)
    items = {name: as_items(split) for name, split in splits.items()}
    assert shared_groups(items, lambda sequence: sequence) == {}
    assert [len(items[name]) for name in ("train", "validation", "test")] == [2000, 1000, 1000]


def test_echo_training_repeats_itself_exactly():
    splits = echo_splits(2, train_size=200, validation_size=100, test_size=100)
    _, first = train_echo(4, 2, seed=0, epochs=2, splits=splits)
    _, again = train_echo(4, 2, seed=0, epochs=2, splits=splits)
    assert first["val_loss"] == again["val_loss"] and first["epochs_run"] == 2
    model = Echo(torch.nn.RNN, hidden=4)
    assert model(splits["test"][0][:3]).shape == (3, 30, 4)


@pytest.mark.parametrize(
    "name, group_by, groups, seeds",
    [
        ("pattern_sharing", ("kind", "train_size"), 9, 5),
        ("echo_capacity", ("hidden", "delay"), 12, 3),
    ],
)
def test_the_committed_sweeps_choose_on_validation_and_test_only_the_chosen(
    name, group_by, groups, seeds
):
    from helpers.artefacts import load_artefact

    data = load_artefact(name)
    assert len(data["provenance"]["seeds"]) == seeds
    assert not any("test_accuracy" in run for run in data["runs"])  # no test score while choosing
    chosen = choose_on_validation(data["runs"], group_by=group_by)
    assert len(chosen) == groups
    assert chosen == {
        tuple(row[key] for key in group_by): row["lr"] for row in data["summary"]["chosen_lr"]
    }
    final = data["summary"]["final"]
    assert len(final) == groups * seeds
    for row in final:
        assert row["lr"] == chosen[tuple(row[key] for key in group_by)]
        assert 0.0 <= row["test_accuracy"] <= 1.0
