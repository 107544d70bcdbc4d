"""Synthetic tasks: the adding problem, the copy task and bracket depth.

Both tasks have an answer that depends on inputs many steps in the past, with
nothing in between to help, so they measure how far back a recurrent network
can carry information (Hochreiter & Schmidhuber 1997; Le et al. 2015; Arjovsky
et al. 2016). Each generator takes an integer ``seed`` and draws from its own
``torch.Generator`` on the CPU, never from the global random state: the same
seed gives the same data on every machine, whatever else the chapter has drawn.
The data comes back on the CPU; moving it to a device is the caller's choice.

:func:`task_splits` makes the fixed train/validation/test splits the book uses,
and :func:`make_loader` wraps a split in a reproducibly shuffled ``DataLoader``.
"""

import math
from collections.abc import Mapping

import numpy as np
import torch
from torch.utils.data import DataLoader, TensorDataset

from helpers.validation import _describe, check_choice, check_positive_int, check_seed

__all__ = [
    "adding_problem",
    "adding_problem_baselines",
    "copy_task",
    "copy_task_vocab_size",
    "copy_task_baseline",
    "BRACKET_SYMBOLS",
    "bracket_depth",
    "BLANK",
    "SPLITS",
    "task_splits",
    "make_loader",
]

#: Token of the copy task that means "nothing here" (inputs) or "output nothing" (targets).
BLANK = 0

#: Names of the splits :func:`task_splits` returns, in order.
SPLITS = ("train", "validation", "test")


def _generator(seed):
    return torch.Generator().manual_seed(check_seed("seed", seed))


def adding_problem(num_sequences, length, *, seed, dtype=torch.float32):
    """Generate the adding problem: add the two marked numbers of a long sequence.

    Each input step carries two channels: a value drawn uniformly from
    ``[0, 1)`` and a marker. The marker is 1 at exactly two steps, one drawn
    uniformly from the first half of the sequence (steps ``0 .. length//2 - 1``)
    and one from the second half (steps ``length//2 .. length - 1``), and 0
    everywhere else. The target is the sum of the two marked values, so a
    network must remember the first marked value for up to ``length - 1`` steps
    (Hochreiter & Schmidhuber 1997; the form of Le et al. 2015).

    Baseline: the target is a sum of two independent U(0, 1) numbers, with mean
    1 and variance 1/12 + 1/12 = 1/6. Always predicting 1 therefore gives a mean
    squared error of 1/6 ≈ 0.167; a model that has not learned to use the
    markers sits at that level.

    Args:
        num_sequences: number of sequences ``N`` (int >= 1).
        length: sequence length ``T`` (int >= 2, so each half has a step).
        seed: int in ``[0, 2**32)``; the same seed gives the same data.
        dtype: ``torch.float32`` (default) or ``torch.float64``. The values are
            drawn in float32 either way, so both dtypes hold the same numbers.

    Returns:
        tuple ``(x, y)`` of CPU tensors of ``dtype``:

        - ``x``, shape ``(N, T, 2)``: ``x[..., 0]`` the values, ``x[..., 1]`` the markers.
        - ``y``, shape ``(N, 1)``: the sum of the two marked values.

    Raises:
        TypeError, ValueError: an argument has the wrong type or value.
    """
    num_sequences = check_positive_int("num_sequences", num_sequences)
    length = check_positive_int("length", length, minimum=2)
    check_choice("dtype", dtype, (torch.float32, torch.float64))
    generator = _generator(seed)

    values = torch.rand(num_sequences, length, generator=generator).to(dtype)
    half = length // 2
    first = torch.randint(0, half, (num_sequences,), generator=generator)
    second = torch.randint(half, length, (num_sequences,), generator=generator)
    markers = torch.zeros(num_sequences, length, dtype=dtype)
    rows = torch.arange(num_sequences)
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0

    x = torch.stack([values, markers], dim=-1)
    y = (values[rows, first] + values[rows, second]).unsqueeze(1)
    return x, y


def adding_problem_baselines(x, y):
    """Mean squared errors of three models of the adding problem that need no training.

    Each is the best prediction of a model that is missing one ability, so a
    trained network's error says which abilities it has:

    - ``"constant"``: always 1, the mean of the target (it uses no input;
      error 1/6 ≈ 0.167);
    - ``"marker_blind"``: the mean of the first half's values plus the mean of
      the second half's, the best a model can do that sees the values but not
      the markers (about 0.133 at T = 10, approaching 1/6 as T grows);
    - ``"last_marked_only"``: the second marked value plus 0.5, the best a model
      can do that uses the markers but keeps no value for long (it knows the
      recent marked value, not the first; error 1/12 ≈ 0.083).

    Args:
        x: inputs ``(N, T, 2)`` of :func:`adding_problem` (values, markers).
        y: targets ``(N, 1)``.

    Returns:
        dict ``name -> MSE`` (floats), computed on these very sequences.
    """
    if not (isinstance(x, torch.Tensor) and x.dim() == 3 and x.shape[-1] == 2):
        raise ValueError(f"x must be the adding problem's inputs (N, T, 2), got {_describe(x)}")
    if not (isinstance(y, torch.Tensor) and y.shape == (x.shape[0], 1)):
        raise ValueError(f"y must be the targets (N, 1) = ({x.shape[0]}, 1), got {_describe(y)}")
    values, markers = x[..., 0].double(), x[..., 1]
    target = y[:, 0].double()
    if not torch.all(markers.sum(dim=1) == 2):
        raise ValueError("x must have exactly two markers per sequence (x[..., 1])")
    half = x.shape[1] // 2
    second = markers[:, half:].argmax(dim=1) + half
    predictions = {
        "constant": torch.ones_like(target),
        "marker_blind": values[:, :half].mean(dim=1) + values[:, half:].mean(dim=1),
        "last_marked_only": values[torch.arange(len(values)), second] + 0.5,
    }
    return {name: torch.mean((p - target) ** 2).item() for name, p in predictions.items()}


def copy_task_vocab_size(num_symbols=8):
    """Number of distinct tokens of :func:`copy_task`: blank, the symbols and the delimiter.

    This is the size of the embedding table for the inputs and of the output
    layer: ``num_symbols + 2`` (10 for the usual 8 symbols).
    """
    return check_positive_int("num_symbols", num_symbols) + 2


def copy_task(num_sequences, delay, *, copy_length=10, num_symbols=8, seed):
    """Generate the copy task: read a few symbols, wait, then write them back.

    The standard form of Hochreiter & Schmidhuber (1997) and Arjovsky et al.
    (2016). Tokens are integers: ``0`` (:data:`BLANK`) is blank, ``1 ..
    num_symbols`` are the symbols, and ``num_symbols + 1`` is the delimiter, the
    "go" signal. Each sequence has length ``T = copy_length + delay +
    copy_length``:

    - input: ``copy_length`` symbols drawn uniformly, ``delay - 1`` blanks, the
      delimiter, then ``copy_length`` blanks;
    - target: ``copy_length + delay`` blanks, then the ``copy_length`` symbols
      of the input, in the same order.

    So the delimiter sits at step ``copy_length + delay - 1``, and the model must
    output the first symbol right after it, ``delay`` steps after it saw the
    last one. With ``copy_length=3, delay=4, num_symbols=8`` (delimiter 9)::

        step     0 1 2 3 4 5 6 7 8 9
        input    3 1 4 0 0 0 9 0 0 0
        target   0 0 0 0 0 0 0 3 1 4

    :func:`copy_task_vocab_size` gives the number of tokens (``num_symbols +
    2``) and :func:`copy_task_baseline` the loss of a model without memory.

    Args:
        num_sequences: number of sequences ``N`` (int >= 1).
        delay: steps from the last input symbol to the first output step
            (int >= 1; Arjovsky et al. call it ``T``).
        copy_length: number of symbols to copy (int >= 1, default 10).
        num_symbols: size of the symbol alphabet (int >= 1, default 8).
        seed: int in ``[0, 2**32)``; the same seed gives the same data.

    Returns:
        tuple ``(x, y)`` of int64 CPU tensors, both of shape ``(N, T)``: the
        input tokens and the target tokens.

    Raises:
        TypeError, ValueError: an argument has the wrong type or value.
    """
    num_sequences = check_positive_int("num_sequences", num_sequences)
    delay = check_positive_int("delay", delay)
    copy_length = check_positive_int("copy_length", copy_length)
    num_symbols = check_positive_int("num_symbols", num_symbols)
    generator = _generator(seed)

    symbols = torch.randint(1, num_symbols + 1, (num_sequences, copy_length), generator=generator)
    length = copy_length + delay + copy_length
    x = torch.full((num_sequences, length), BLANK, dtype=torch.int64)
    y = torch.full((num_sequences, length), BLANK, dtype=torch.int64)
    x[:, :copy_length] = symbols
    x[:, copy_length + delay - 1] = num_symbols + 1
    y[:, copy_length + delay :] = symbols
    return x, y


def copy_task_baseline(delay, copy_length=10, num_symbols=8):
    """Cross-entropy per step of the best model without memory on :func:`copy_task`.

    A model that remembers nothing can still learn *when* to answer: it
    predicts blank with certainty for the first ``copy_length + delay`` steps
    (loss 0) and a uniform guess over the ``num_symbols`` symbols in the last
    ``copy_length`` steps (loss ``log(num_symbols)`` each). Averaged over all
    ``T = copy_length + delay + copy_length`` steps of a sequence::

        baseline = copy_length * log(num_symbols) / T

    This is the baseline of Arjovsky et al. (2016), ``10 log 8 / (T + 20)`` in
    their notation. A model whose loss is at this level has learned the layout
    of the task but not the symbols; a loss clearly below it means the model
    carries the symbols across the delay.

    Args:
        delay, copy_length, num_symbols: as in :func:`copy_task`.

    Returns:
        float: the baseline cross-entropy in nats per step.
    """
    delay = check_positive_int("delay", delay)
    copy_length = check_positive_int("copy_length", copy_length)
    num_symbols = check_positive_int("num_symbols", num_symbols)
    return copy_length * math.log(num_symbols) / (copy_length + delay + copy_length)


#: The characters of :func:`bracket_depth`'s strings: id ``k`` is ``BRACKET_SYMBOLS[k]``.
BRACKET_SYMBOLS = "()ab"


def bracket_depth(num_sequences, length, *, max_depth=4, seed):
    """Strings of brackets and letters, labelled with the nesting depth after each character.

    Each string is a random walk: at every step, with probability 1/4 each, an
    opening bracket ``(`` (if the depth is below ``max_depth``) or a closing
    bracket ``)`` (if it is above 0), and otherwise one of the letters ``a``,
    ``b``. The target at a step is the number of brackets open after its
    character, so a network must count: every ``(`` adds one, every ``)``
    takes one away, and the letters in between change nothing, however many
    there are.

    Args:
        num_sequences: number of strings ``N`` (int >= 1).
        length: characters per string ``T`` (int >= 1).
        max_depth: the deepest nesting (int >= 1).
        seed: int in ``[0, 2**32)``; the same seed gives the same data.

    Returns:
        ``(x, y)``: long tensors (N, T): ``x`` the character ids into
        :data:`BRACKET_SYMBOLS`, ``y`` the depth after each character, 0 .. max_depth.
    """
    num_sequences = check_positive_int("num_sequences", num_sequences)
    length = check_positive_int("length", length)
    max_depth = check_positive_int("max_depth", max_depth)
    generator = _generator(seed)
    draws = torch.rand(num_sequences, length, generator=generator)
    letters = torch.randint(2, 4, (num_sequences, length), generator=generator)
    x = torch.empty(num_sequences, length, dtype=torch.long)
    y = torch.empty(num_sequences, length, dtype=torch.long)
    depth = torch.zeros(num_sequences, dtype=torch.long)
    for t in range(length):
        opens = (draws[:, t] < 0.25) & (depth < max_depth)
        closes = (draws[:, t] >= 0.25) & (draws[:, t] < 0.5) & (depth > 0)
        x[:, t] = torch.where(opens, 0, torch.where(closes, 1, letters[:, t]))
        depth = depth + opens.long() - closes.long()
        y[:, t] = depth
    return x, y


def _split_sizes(sizes):
    if isinstance(sizes, Mapping):
        if set(sizes) != set(SPLITS):
            raise ValueError(f"sizes must have exactly the keys {SPLITS}, got keys {tuple(sizes)}")
        counts = [sizes[name] for name in SPLITS]
    elif isinstance(sizes, (tuple, list)):
        if len(sizes) != len(SPLITS):
            raise ValueError(
                f"sizes must hold 3 counts (train, validation, test), got {len(sizes)}: {sizes!r}"
            )
        counts = list(sizes)
    else:
        raise TypeError(
            "sizes must be a dict {'train': n, 'validation': n, 'test': n} or a tuple of "
            f"3 counts, got {_describe(sizes)}"
        )
    return {
        name: check_positive_int(f"sizes[{name!r}]", count) for name, count in zip(SPLITS, counts)
    }


def task_splits(task, sizes, *, seed, **task_kwargs):
    """Generate fixed, independent train, validation and test splits of a task.

    Each split is ``task(size, seed=split_seed, **task_kwargs)`` with its own
    seed, derived from ``seed`` by numpy's ``SeedSequence``: the splits are
    independent draws, the same ``seed`` gives the same splits on every call,
    and different seeds share no split (with ``seed, seed + 1, seed + 2``,
    the validation split of seed 0 would be the training split of seed 1).

    Example::

        splits = task_splits(adding_problem, (1000, 200, 200), seed=0, length=50)
        x_train, y_train = splits["train"]

    Args:
        task: a generator such as :func:`adding_problem` or :func:`copy_task`,
            called as ``task(num_sequences, seed=..., **task_kwargs)``.
        sizes: the number of sequences per split, as a dict with the keys
            ``"train"``, ``"validation"`` and ``"test"`` or a tuple in that order.
        seed: int in ``[0, 2**32)``.
        **task_kwargs: passed on to ``task`` (``length=50``, ``delay=20``, ...).

    Returns:
        dict: ``{"train": (x, y), "validation": (x, y), "test": (x, y)}``.

    Raises:
        TypeError, ValueError: an argument has the wrong type or value.
    """
    if not callable(task):
        raise TypeError(f"task must be a function such as adding_problem, got {_describe(task)}")
    counts = _split_sizes(sizes)
    seed = check_seed("seed", seed)
    children = np.random.SeedSequence(seed).spawn(len(SPLITS))
    # The first 32-bit word of each child: a torch CPU generator only uses the
    # low 32 bits of its seed, which is exactly this word, so the splits are the
    # ones the former 64-bit split seeds gave.
    split_seeds = [int(child.generate_state(1, dtype=np.uint32)[0]) for child in children]
    return {
        name: task(counts[name], seed=split_seed, **task_kwargs)
        for name, split_seed in zip(SPLITS, split_seeds)
    }


def make_loader(x, y, *, batch_size, shuffle, seed=None):
    """Wrap the examples ``(x, y)`` in a ``DataLoader`` of ``(x_batch, y_batch)`` pairs.

    With ``shuffle=True`` the order is drawn from a ``torch.Generator`` seeded
    with ``seed``: each pass over the loader (each epoch) has a new order, and
    the sequence of orders is the same every time the loader is rebuilt with
    that seed. With ``shuffle=False`` the examples come in their stored order
    and ``seed`` is not used (so ``shuffle=(split == "train")`` with a fixed
    seed is fine). The last batch is smaller when ``batch_size`` does not
    divide the number of examples.

    Args:
        x, y: tensors with the same first dimension ``N`` (the examples).
        batch_size: examples per batch (int >= 1).
        shuffle: ``True`` to shuffle every epoch (for training), ``False`` to keep the order.
        seed: int in ``[0, 2**32)``; required when ``shuffle`` is True.

    Returns:
        torch.utils.data.DataLoader over a ``TensorDataset(x, y)``.

    Raises:
        TypeError, ValueError: an argument has the wrong type or value.
    """
    for name, value in (("x", x), ("y", y)):
        if not isinstance(value, torch.Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, got {_describe(value)}")
        if value.dim() == 0 or value.shape[0] == 0:
            raise ValueError(
                f"{name} must have at least one example along dimension 0, "
                f"got shape {tuple(value.shape)}"
            )
    if x.shape[0] != y.shape[0]:
        raise ValueError(
            f"x and y must hold the same number of examples (dimension 0), got x of shape "
            f"{tuple(x.shape)} and y of shape {tuple(y.shape)}"
        )
    batch_size = check_positive_int("batch_size", batch_size)
    if not isinstance(shuffle, bool):
        raise TypeError(f"shuffle must be True or False, got {_describe(shuffle)}")
    generator = None
    if shuffle:
        if seed is None:
            raise ValueError(
                "seed is required when shuffle=True, so the order is reproducible; pass seed=<int>"
            )
        generator = _generator(seed)
    elif seed is not None:
        _generator(seed)
    dataset = TensorDataset(x, y)
    return DataLoader(dataset, batch_size=batch_size, shuffle=shuffle, generator=generator)
