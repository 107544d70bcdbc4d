"""The two small tasks of the foundation chapters, their models, and training to a stated criterion.

*Sequences and recurrence* asks whether sharing weights across positions pays
on a **pattern** task: is the pattern ``2 3 1`` somewhere in a sequence of 12
symbols out of 4? It compares three models that read one-hot symbols:

- :class:`WindowMLP`, a perceptron on the flattened window (nothing shared
  across positions, a fixed input length);
- :class:`PatternRNN`, an Elman RNN read out from its last state (one set of
  weights for every step, plus a state carried forward);
- :class:`PatternCNN`, a 1-D convolution with a global max-pool (one detector
  slid over every position, *no* state): the baseline that separates
  parameter sharing from recurrence.

*The unrolled RNN* trains an RNN on **echo**: output, at every step, the
symbol seen ``delay`` steps earlier (:func:`echo_dataset`, :class:`Echo`).

Both tasks have fixed train, validation and test splits in which no sequence
occurs in two splits (:func:`pattern_splits`, :func:`echo_splits`), and both
train to one stated criterion with :func:`helpers.training.train`: early
stopping on the validation loss with a patience, within a budget, ending with
the weights of the best evaluation (:func:`train_pattern_model`,
:func:`train_echo`). The same functions run the long sweeps behind the chapters
(``benchmarks/experiments/pattern_sharing.py`` and ``echo_capacity.py``) and
their short live reruns in the chapters, so the two cannot drift apart.
"""

import functools
import statistics

import torch
from torch.nn import functional as F

from helpers.tasks import make_loader
from helpers.training import EarlyStopping, evaluate, train
from helpers.validation import (
    _describe,
    check_choice,
    check_positive_int,
    check_positive_number,
    check_seed,
)

__all__ = [
    "PATTERN",
    "PATTERN_VOCAB",
    "PATTERN_LENGTH",
    "PATTERN_MODELS",
    "contains_pattern",
    "pattern_dataset",
    "pattern_splits",
    "WindowMLP",
    "PatternRNN",
    "PatternCNN",
    "make_pattern_model",
    "count_parameters",
    "pattern_accuracy",
    "pattern_correct",
    "train_pattern_model",
    "ECHO_VOCAB",
    "ECHO_LENGTH",
    "echo_dataset",
    "echo_splits",
    "Echo",
    "echo_loss",
    "echo_accuracy",
    "train_echo",
    "echo_test_accuracy",
    "choose_on_validation",
]

PATTERN = (2, 3, 1)
PATTERN_VOCAB = 4
PATTERN_LENGTH = 12
#: The seeds of the fixed evaluation splits (training sets get their own, per seed and size).
_PATTERN_SEEDS = {"test": 1, "test_long": 2, "validation": 3}


# --------------------------------------------------------------------------- the pattern task


def contains_pattern(sequence, pattern=PATTERN):
    """Whether ``pattern`` occurs as a contiguous run anywhere in ``sequence`` (a list of ints)."""
    k = len(pattern)
    pattern = tuple(pattern)
    return any(tuple(sequence[i : i + k]) == pattern for i in range(len(sequence) - k + 1))


def _has_pattern(x):
    """For each row of ``x`` (int64 ``(M, T)``), whether :data:`PATTERN` occurs in it."""
    windows = x.unfold(1, len(PATTERN), 1)  # (M, T - k + 1, k)
    return (windows == torch.tensor(PATTERN)).all(dim=-1).any(dim=-1)


def pattern_dataset(num_sequences, length=PATTERN_LENGTH, *, seed, starts=None, exclude=()):
    """Sequences of ``length`` symbols (0 to 3), half of them holding :data:`PATTERN` once.

    Random sequences that happen to contain the pattern are drawn again. Even-
    numbered examples are positives: the pattern is written into a clean
    sequence at a random start from ``starts`` (default: anywhere it fits);
    since ``2 3 1`` cannot overlap itself, it then occurs exactly once.
    Odd-numbered examples are negatives: clean sequences, left as drawn.

    Args:
        num_sequences: how many (int >= 1).
        length: symbols per sequence (int >= len(PATTERN)).
        seed: int >= 0, the ``torch.Generator`` seed.
        starts: the positions the pattern may start at (a range or list).
        exclude: sequences (tuples of ints) that must not be drawn, so that
            the splits share no sequence.

    Returns:
        ``(x, y)``: ``x`` int64 ``(N, length)`` symbols, ``y`` float32 ``(N,)``, 1.0
        where the pattern occurs.
    """
    num_sequences = check_positive_int("num_sequences", num_sequences)
    length = check_positive_int("length", length, minimum=len(PATTERN))
    seed = check_seed("seed", seed)
    if starts is None:
        starts = range(length - len(PATTERN) + 1)
    starts = torch.tensor(list(starts), dtype=torch.int64)
    if len(starts) == 0 or not bool(((starts >= 0) & (starts <= length - len(PATTERN))).all()):
        raise ValueError(
            f"starts must be positions from 0 to {length - len(PATTERN)} where "
            f"the pattern fits, got {starts.tolist()}"
        )
    exclude = exclude if isinstance(exclude, (set, frozenset)) else set(exclude)
    generator = torch.Generator().manual_seed(seed)
    wanted = {True: (num_sequences + 1) // 2, False: num_sequences // 2}
    drawn = {True: [], False: []}
    while any(sum(map(len, drawn[label])) < wanted[label] for label in drawn):
        batch = torch.randint(0, PATTERN_VOCAB, (num_sequences + 8, length), generator=generator)
        batch = batch[~_has_pattern(batch)]
        half = len(batch) // 2
        positives, negatives = batch[:half].clone(), batch[half:]
        chosen = starts[torch.randint(0, len(starts), (len(positives),), generator=generator)]
        columns = chosen[:, None] + torch.arange(len(PATTERN))
        positives.scatter_(1, columns, torch.tensor(PATTERN).expand(len(positives), -1))
        for label, rows in ((True, positives), (False, negatives)):
            if exclude:
                rows = rows[
                    torch.tensor([tuple(r) not in exclude for r in rows.tolist()], dtype=torch.bool)
                ]
            drawn[label].append(rows)
    positives = torch.cat(drawn[True])[: wanted[True]]
    negatives = torch.cat(drawn[False])[: wanted[False]]
    x = torch.empty(num_sequences, length, dtype=torch.int64)
    x[0::2], x[1::2] = positives, negatives
    y = torch.zeros(num_sequences)
    y[0::2] = 1.0
    return x, y


def _as_set(x):
    return {tuple(row) for row in x.tolist()}


@functools.lru_cache(maxsize=4)
def _pattern_evaluation_sets(validation_size, test_size):
    test = pattern_dataset(test_size, seed=_PATTERN_SEEDS["test"])
    validation = pattern_dataset(
        validation_size, seed=_PATTERN_SEEDS["validation"], exclude=_as_set(test[0])
    )
    test_long = pattern_dataset(test_size, 2 * PATTERN_LENGTH, seed=_PATTERN_SEEDS["test_long"])
    return validation, test, test_long


def pattern_splits(train_size, *, seed, validation_size=1000, test_size=2000):
    """The pattern task's splits: one training set per (size, seed), fixed evaluation sets.

    The validation (1,000 sequences) and test (2,000) sets are the same for
    every seed and size; the test set of sequences twice as long,
    ``"test_long"`` (2,000 of length 24), too. The training set of ``seed`` is
    drawn with its own seed. No sequence occurs in two of the splits of length
    12 (the training set excludes validation and test, validation excludes
    test): a model cannot score by remembering a sequence it trained on.

    Returns:
        dict ``{"train", "validation", "test", "test_long"}`` of ``(x, y)`` pairs.
    """
    train_size = check_positive_int("train_size", train_size)
    seed = check_seed("seed", seed)
    validation, test, test_long = _pattern_evaluation_sets(
        check_positive_int("validation_size", validation_size),
        check_positive_int("test_size", test_size),
    )
    held_out = _as_set(test[0]) | _as_set(validation[0])
    train_seed = 10_000 + 10_000 * seed + train_size
    return {
        "train": pattern_dataset(train_size, seed=train_seed, exclude=held_out),
        "validation": validation,
        "test": test,
        "test_long": test_long,
    }


def _one_hot(x, vocab, like):
    return F.one_hot(x, vocab).to(like.dtype)


class WindowMLP(torch.nn.Module):
    """A perceptron on the flattened one-hot window: one weight block per position.

    Its input size is fixed at ``length``; it cannot read a longer sequence.
    """

    def __init__(self, length=PATTERN_LENGTH, hidden=64):
        super().__init__()
        self.length = check_positive_int("length", length)
        self.net = torch.nn.Sequential(
            torch.nn.Flatten(),
            torch.nn.Linear(self.length * PATTERN_VOCAB, hidden),
            torch.nn.ReLU(),
            torch.nn.Linear(hidden, 1),
        )

    def forward(self, x):  # (N, length) symbols -> (N,) logits
        if x.dim() != 2 or x.shape[1] != self.length:
            raise ValueError(
                f"WindowMLP reads windows of exactly {self.length} symbols, "
                f"got x of shape {tuple(x.shape)}"
            )
        return self.net(_one_hot(x, PATTERN_VOCAB, self.net[1].weight)).squeeze(-1)


class PatternRNN(torch.nn.Module):
    """An Elman RNN that reads one symbol per step and classifies from its last state h_T."""

    def __init__(self, hidden=16):
        super().__init__()
        self.rnn = torch.nn.RNN(PATTERN_VOCAB, hidden, batch_first=True)
        self.classify = torch.nn.Linear(hidden, 1)

    def forward(self, x):  # (N, T) symbols, any T -> (N,) logits
        _, h_last = self.rnn(_one_hot(x, PATTERN_VOCAB, self.classify.weight))
        return self.classify(h_last[-1]).squeeze(-1)


class PatternCNN(torch.nn.Module):
    """A 1-D convolution slid over every position, then the maximum over positions.

    Each of ``channels`` filters looks at ``width`` neighbouring symbols with
    the same weights at every position (sharing, as the RNN), but nothing is
    carried from step to step (no recurrence). The global max-pool makes the
    score independent of where the filter fired, and of the length.
    """

    def __init__(self, channels=16, width=3):
        super().__init__()
        self.conv = torch.nn.Conv1d(PATTERN_VOCAB, channels, width)
        self.classify = torch.nn.Linear(channels, 1)

    def forward(self, x):  # (N, T) symbols, any T >= width -> (N,) logits
        one_hot = _one_hot(x, PATTERN_VOCAB, self.classify.weight).transpose(1, 2)  # (N, 4, T)
        detections = torch.relu(self.conv(one_hot))  # (N, channels, T - width + 1)
        return self.classify(detections.amax(dim=-1)).squeeze(-1)


#: The three models compared in *Sequences and recurrence*, by name.
PATTERN_MODELS = {"MLP": WindowMLP, "RNN": PatternRNN, "CNN": PatternCNN}


def make_pattern_model(kind):
    """A fresh model of ``kind`` (``"MLP"``, ``"RNN"`` or ``"CNN"``), initialised from torch's RNG."""
    return PATTERN_MODELS[check_choice("kind", kind, list(PATTERN_MODELS))]()


def count_parameters(model):
    """The number of trainable numbers in ``model``."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def _pattern_accuracy_metric(logits, y):
    return ((logits > 0).to(y.dtype) == y).to(y.dtype).mean()


@torch.no_grad()
def pattern_correct(model, x, y, *, device=None):
    """1.0 for every sequence ``model`` classifies right, 0.0 for the others: float64 ``(N,)``."""
    model.eval()
    device = next(model.parameters()).device if device is None else device
    logits = torch.cat([model(chunk.to(device)).cpu() for chunk in x.split(1000)])
    return ((logits > 0).to(y.dtype) == y).double()


def pattern_accuracy(model, x, y, *, device=None):
    """The share of sequences ``model`` classifies right."""
    return pattern_correct(model, x, y, device=device).mean().item()


def train_pattern_model(
    kind,
    train_size,
    *,
    seed,
    lr,
    rounds=60,
    patience=10,
    round_examples=1000,
    batch_size=32,
    splits=None,
    device="cpu",
):
    """Train one model on the pattern task to the chapter's criterion; return it and its record.

    The criterion: Adam with learning rate ``lr``, batches of ``batch_size``,
    evaluated on the validation split after every *round* of about
    ``round_examples`` training examples (the training set repeated
    ``round(round_examples / train_size)`` times, at least once, reshuffled
    every round), stopped when the validation loss has not improved for
    ``patience`` rounds or after ``rounds``, and ending with the weights of the
    best round. Measuring the budget in examples seen, not in passes over the
    data, gives the small training sets as many steps as the large ones.

    ``seed`` fixes the training set (:func:`pattern_splits`), the initial
    weights (``torch.manual_seed(seed)``) and the order of the batches, so two
    models trained with the same seed are paired: same data, same order.

    Args:
        kind: ``"MLP"``, ``"RNN"`` or ``"CNN"``.
        train_size: training examples.
        seed, lr: as above.
        rounds, patience, round_examples, batch_size: the criterion's budget.
        splits: the splits of :func:`pattern_splits` for ``(train_size, seed)``,
            if already made (they take a moment to draw).
        device: where to train.

    Returns:
        ``(model, record)``: the model with the best round's weights, and a
        JSON-able dict with the curves ``train_loss``, ``val_loss`` and
        ``val_accuracy`` (one value per round), ``best_round`` (from 1),
        ``rounds_run``, ``stopped_early``, ``val_loss`` and ``val_accuracy`` of
        the best round, and ``parameters``. The test split is not touched.
    """
    check_choice("kind", kind, list(PATTERN_MODELS))
    seed = check_seed("seed", seed)
    lr = check_positive_number("lr", lr)
    rounds = check_positive_int("rounds", rounds)
    patience = check_positive_int("patience", patience)
    round_examples = check_positive_int("round_examples", round_examples)
    if splits is None:
        splits = pattern_splits(train_size, seed=seed)
    x, y = splits["train"]
    if len(x) != train_size:
        raise ValueError(
            f"splits['train'] holds {len(x)} examples, but train_size is "
            f"{train_size}; pass the splits of pattern_splits({train_size}, ...)"
        )
    copies = max(1, round(round_examples / train_size))
    torch.manual_seed(seed)
    model = make_pattern_model(kind).to(device)
    history = train(
        model,
        make_loader(
            x.repeat(copies, 1), y.repeat(copies), batch_size=batch_size, shuffle=True, seed=seed
        ),
        F.binary_cross_entropy_with_logits,
        epochs=rounds,
        optimizer=torch.optim.Adam(model.parameters(), lr=lr),
        val_loader=make_loader(*splits["validation"], batch_size=1000, shuffle=False),
        metrics={"accuracy": _pattern_accuracy_metric},
        early_stopping=EarlyStopping(patience=patience),
        device=device,
        progress=False,
    )
    best = history.records[history.best_epoch - 1]
    record = {
        "train_loss": history["train_loss"],
        "val_loss": history["val_loss"],
        "val_accuracy": history["val_accuracy"],
        "best_round": history.best_epoch,
        "rounds_run": len(history),
        "stopped_early": history.stopped_early,
        "best_val_loss": best["val_loss"],
        "best_val_accuracy": best["val_accuracy"],
        "parameters": count_parameters(model),
        "examples_per_round": copies * train_size,
    }
    return model, record


# --------------------------------------------------------------------------- the echo task

ECHO_VOCAB = 4
ECHO_LENGTH = 30
#: Seeds of the echo splits; each split is drawn from its own generator.
_ECHO_SEEDS = {"train": 1, "test": 2, "validation": 3}


def echo_dataset(num_sequences, *, delay, seed, length=ECHO_LENGTH):
    """Random symbols and, at every step, the symbol ``delay`` steps earlier.

    Returns:
        ``(x, y)``, both int64 ``(N, length)``: ``x`` uniform symbols 0 to 3,
        ``y[:, t] = x[:, t - delay]``, and -100 (``cross_entropy``'s
        ``ignore_index``) for the first ``delay`` steps, which have no target.
    """
    num_sequences = check_positive_int("num_sequences", num_sequences)
    length = check_positive_int("length", length, minimum=2)
    delay = check_positive_int("delay", delay)
    if delay >= length:
        raise ValueError(f"delay must be smaller than length ({length}), got {delay}")
    generator = torch.Generator().manual_seed(check_seed("seed", seed))
    x = torch.randint(0, ECHO_VOCAB, (num_sequences, length), generator=generator)
    y = torch.full_like(x, -100)
    y[:, delay:] = x[:, :-delay]
    return x, y


def echo_splits(
    delay, *, train_size=2000, validation_size=1000, test_size=1000, length=ECHO_LENGTH
):
    """Fixed train, validation and test sets of echo with ``delay``, sharing no sequence.

    Each split comes from its own seed; a sequence drawn into two splits by
    chance (4**30 possible sequences: it does not happen at these sizes, and
    the tests check it) would be removed from the later split.

    Returns:
        dict ``{"train", "validation", "test"}`` of ``(x, y)`` pairs.
    """
    sizes = {"train": train_size, "validation": validation_size, "test": test_size}
    splits, seen = {}, set()
    for name, size in sizes.items():
        x, y = echo_dataset(size, delay=delay, seed=_ECHO_SEEDS[name], length=length)
        keep = torch.tensor([tuple(row) not in seen for row in x.tolist()])
        splits[name] = (x[keep], y[keep])
        seen |= _as_set(x)
    return splits


class Echo(torch.nn.Module):
    """One-hot symbols, a recurrent layer, and a linear read-out at every step.

    Args:
        rnn_class: ``torch.nn.RNN``, ``helpers.modules.RNN`` or anything with
            their constructor ``(input_size, hidden_size, batch_first=True)``.
        hidden: the state's size.
    """

    def __init__(self, rnn_class, hidden=32):
        super().__init__()
        self.rnn = rnn_class(ECHO_VOCAB, hidden, batch_first=True)
        self.read_out = torch.nn.Linear(hidden, ECHO_VOCAB)

    def forward(self, x):  # (N, T) symbols -> (N, T, ECHO_VOCAB) logits
        states, _ = self.rnn(_one_hot(x, ECHO_VOCAB, self.read_out.weight))
        return self.read_out(states)


def echo_loss(logits, y):
    """Cross-entropy over the steps that have a target (``y != -100``)."""
    return F.cross_entropy(logits.flatten(0, 1), y.flatten())


def echo_accuracy(logits, y):
    """The share of steps with a target whose most likely symbol is right."""
    counted = y != -100
    return (logits.argmax(-1)[counted] == y[counted]).to(logits.dtype).mean()


def train_echo(
    hidden,
    delay,
    *,
    seed,
    lr=1e-2,
    epochs=60,
    patience=8,
    batch_size=50,
    clip_norm=1.0,
    splits=None,
    device="cpu",
):
    """Train ``Echo(torch.nn.RNN, hidden)`` on echo with ``delay`` to the stated criterion.

    The criterion: Adam with learning rate ``lr``, gradients clipped to norm
    ``clip_norm``, batches of ``batch_size``, the validation split evaluated
    after every epoch; stop when the validation loss has not improved for
    ``patience`` epochs or after ``epochs``, and end with the best epoch's
    weights. ``seed`` fixes the initial weights and the batch order (the
    splits are the same for every seed).

    Returns:
        ``(model, record)``: the model, and a JSON-able dict with the curves
        ``train_loss``, ``val_loss`` and ``val_accuracy`` (one value per epoch),
        ``best_epoch``, ``epochs_run``, ``stopped_early`` and the best epoch's
        ``best_val_loss`` and ``best_val_accuracy``. The test split is not touched.
    """
    hidden = check_positive_int("hidden", hidden)
    seed = check_seed("seed", seed)
    if splits is None:
        splits = echo_splits(delay)
    torch.manual_seed(seed)
    model = Echo(torch.nn.RNN, hidden=hidden).to(device)
    history = train(
        model,
        make_loader(*splits["train"], batch_size=batch_size, shuffle=True, seed=seed),
        echo_loss,
        epochs=check_positive_int("epochs", epochs),
        optimizer=torch.optim.Adam(model.parameters(), lr=check_positive_number("lr", lr)),
        clip_norm=clip_norm,
        val_loader=make_loader(*splits["validation"], batch_size=500, shuffle=False),
        metrics={"accuracy": echo_accuracy},
        early_stopping=EarlyStopping(patience=check_positive_int("patience", patience)),
        device=device,
        progress=False,
    )
    best = history.records[history.best_epoch - 1]
    return model, {
        "train_loss": history["train_loss"],
        "val_loss": history["val_loss"],
        "val_accuracy": history["val_accuracy"],
        "best_epoch": history.best_epoch,
        "epochs_run": len(history),
        "stopped_early": history.stopped_early,
        "best_val_loss": best["val_loss"],
        "best_val_accuracy": best["val_accuracy"],
    }


def echo_test_accuracy(model, splits, *, device="cpu"):
    """The accuracy of ``model`` on the test split of ``splits`` (scored once per final model)."""
    loader = make_loader(*splits["test"], batch_size=500, shuffle=False)
    return evaluate(model, loader, echo_loss, metrics={"accuracy": echo_accuracy}, device=device)[
        "accuracy"
    ]


# --------------------------------------------------------------------------- choices on validation


def choose_on_validation(runs, *, group_by, choice="lr", score="best_val_accuracy"):
    """For each group of runs, the value of ``choice`` with the best mean validation ``score``.

    ``runs`` are the records of a sweep (dicts with the keys of ``group_by``,
    ``choice``, ``seed`` and ``score``). Within each group (for example one
    model at one training-set size), the runs are averaged over seeds for each
    value of ``choice`` (for example each learning rate), and the value with
    the highest mean score wins; ties go to the lower mean ``best_val_loss``.
    Only validation scores are read: the test split plays no part.

    Returns:
        dict ``{group (a tuple of the group_by values): chosen value}``.
    """
    if isinstance(group_by, str) or not group_by:
        raise TypeError(f"group_by must be a list of keys, got {_describe(group_by)}")
    means = {}
    for run in runs:
        group = tuple(run[key] for key in group_by)
        means.setdefault(group, {}).setdefault(run[choice], []).append(run)
    chosen = {}
    for group, options in means.items():

        def rank(value, options=options):
            members = options[value]
            return (
                statistics.fmean(r[score] for r in members),
                -statistics.fmean(r["best_val_loss"] for r in members),
            )

        chosen[group] = max(options, key=rank)
    return chosen
