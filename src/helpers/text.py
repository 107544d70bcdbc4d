"""Text as tensors: vocabularies, padded batches with lengths and masks, splits and loaders.

Real sequences have different lengths. To compute on a batch of them at once,
the book pads every sequence of the batch to the longest with a padding id and
keeps the true lengths beside the padded tensor; a mask (``True`` at real
positions) says which entries count. This module holds those pieces, each
small enough to read next to the chapters on real data:

- :class:`Vocab` maps characters (or words) to ids and back, with the special
  tokens ``<pad>``, ``<unk>``, ``<bos>`` and ``<eos>``;
- :func:`pad_sequences`, :func:`length_mask` and :class:`PaddedBatch` turn a
  list of id sequences into ``(N, T)`` ids, lengths ``(N,)`` and a mask ``(N, T)``;
- :func:`length_batches` groups sequences of similar lengths into batches, and
  :func:`padded_steps` counts the steps a set of batches computes, padding included;
- :func:`split_items` makes fixed, disjoint train/validation/test splits by seed;
  :func:`split_by_group` keeps every group of related items (the words that
  share a prefix) in one split, and :func:`shared_groups` finds the groups that
  leak across splits;
- :class:`SequenceDataset` and :func:`make_sequence_loader` feed variable-length
  examples to :func:`helpers.training.train` through a ``torch.utils.data.DataLoader``,
  optionally in batches of similar length (:class:`LengthBatchSampler`);
- :func:`sequence_loss` is the loss of per-step predictions over the real steps only.
"""

import numbers
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch.nn import functional as F
from torch.utils.data import DataLoader, Dataset

from helpers.validation import _describe, check_choice, check_positive_int, check_seed

__all__ = [
    "PAD",
    "UNK",
    "BOS",
    "EOS",
    "SPECIALS",
    "IGNORE_INDEX",
    "Vocab",
    "pad_sequences",
    "length_mask",
    "PaddedBatch",
    "length_batches",
    "padded_steps",
    "split_items",
    "split_by_group",
    "shared_groups",
    "SequenceDataset",
    "LengthBatchSampler",
    "make_sequence_loader",
    "sequence_loss",
]

PAD, UNK, BOS, EOS = "<pad>", "<unk>", "<bos>", "<eos>"
#: The special tokens every vocabulary starts with, in this order (``<pad>`` has id 0).
SPECIALS = (PAD, UNK, BOS, EOS)
#: The target id that ``torch.nn.functional.cross_entropy`` skips by default:
#: padded positions of per-step labels get it, so they add nothing to the loss.
IGNORE_INDEX = -100

SPLITS = ("train", "validation", "test")


class Vocab:
    """A fixed mapping between tokens (characters or words) and ids ``0 .. len(vocab) - 1``.

    The special tokens come first (``<pad>`` = 0, ``<unk>`` = 1, ``<bos>`` = 2,
    ``<eos>`` = 3), then the tokens of ``texts`` seen at least ``min_count``
    times, in sorted order, so the same texts always give the same ids. A token
    the vocabulary does not hold encodes as ``<unk>``.

    Example::

        vocab = Vocab(["anna", "bob"])           # characters: a, b, n, o
        vocab.encode("bob", add_eos=True)        # [5, 6, 5, 3]
        vocab.decode([5, 6, 5, 3])               # 'bob' (specials are dropped)

    Args:
        texts: the strings to collect tokens from (for example the training split).
        level: ``"char"`` (a token is a character) or ``"word"`` (split on whitespace).
        min_count: tokens seen fewer times become ``<unk>`` (int >= 1).
    """

    def __init__(self, texts, *, level="char", min_count=1):
        self.level = check_choice("level", level, ("char", "word"))
        self.min_count = check_positive_int("min_count", min_count)
        texts = _check_texts("texts", texts)
        counts = Counter(token for text in texts for token in self.tokenize(text))
        clashes = sorted(set(counts) & set(SPECIALS))
        if clashes:
            raise ValueError(f"texts contain the special token(s) {clashes}; remove them first")
        kept = sorted(token for token, count in counts.items() if count >= self.min_count)
        self.itos = [*SPECIALS, *kept]
        self.stoi = {token: index for index, token in enumerate(self.itos)}
        self.counts = counts
        self.pad_id, self.unk_id, self.bos_id, self.eos_id = (self.stoi[s] for s in SPECIALS)

    def __len__(self):
        return len(self.itos)

    def __contains__(self, token):
        return token in self.stoi

    def __repr__(self):
        shown = " ".join(self.itos[len(SPECIALS) : len(SPECIALS) + 30])
        more = " ..." if len(self) > len(SPECIALS) + 30 else ""
        return (
            f"Vocab({len(self)} tokens, level={self.level!r}: {' '.join(SPECIALS)} {shown}{more})"
        )

    def tokenize(self, text):
        """Split ``text`` into tokens: its characters, or its whitespace-separated words."""
        if not isinstance(text, str):
            raise TypeError(f"text must be a str, got {_describe(text)}")
        return list(text) if self.level == "char" else text.split()

    def encode(self, text, *, add_bos=False, add_eos=False):
        """The ids of ``text``'s tokens (list of int), optionally between ``<bos>`` and ``<eos>``."""
        ids = [self.stoi.get(token, self.unk_id) for token in self.tokenize(text)]
        return [self.bos_id] * add_bos + ids + [self.eos_id] * add_eos

    def decode(self, ids, *, keep_specials=False):
        """The text of ``ids`` (a list, array or 1-d tensor of ints).

        ``<pad>``, ``<bos>`` and ``<eos>`` are dropped unless ``keep_specials``;
        ``<unk>`` is always kept (it stands for a token the vocabulary lacks).
        """
        if isinstance(ids, torch.Tensor):
            if ids.dim() != 1:
                raise ValueError(f"ids must be 1-dimensional, got {_describe(ids)}")
            ids = ids.tolist()
        elif isinstance(ids, np.ndarray):
            ids = ids.tolist()
        tokens = []
        for position, index in enumerate(ids):
            if isinstance(index, bool) or not isinstance(index, numbers.Integral):
                raise TypeError(f"ids[{position}] must be an int, got {_describe(index)}")
            if not 0 <= index < len(self):
                raise ValueError(
                    f"ids[{position}] = {index} is not an id of this vocabulary "
                    f"(0 .. {len(self) - 1})"
                )
            token = self.itos[index]
            if keep_specials or token not in (PAD, BOS, EOS):
                tokens.append(token)
        return ("" if self.level == "char" else " ").join(tokens)


def _check_texts(name, texts):
    if isinstance(texts, str) or not isinstance(texts, Sequence):
        raise TypeError(f"{name} must be a list of strings, got {_describe(texts)}")
    if len(texts) == 0:
        raise ValueError(
            f"{name} must hold at least one string, got an empty {type(texts).__name__}"
        )
    for index, text in enumerate(texts):
        if not isinstance(text, str):
            raise TypeError(f"{name}[{index}] must be a str, got {_describe(text)}")
    return texts


def _as_id_tensor(name, sequence):
    """A 1-d int64 tensor of the ids in ``sequence`` (list, array or tensor of ints)."""
    if isinstance(sequence, torch.Tensor):
        tensor = sequence
    elif isinstance(sequence, (list, tuple, np.ndarray)):
        try:
            tensor = (
                torch.tensor(sequence)
                if not isinstance(sequence, np.ndarray)
                else (torch.from_numpy(sequence))
            )
        except (TypeError, ValueError, RuntimeError) as error:
            raise TypeError(f"{name} must be a sequence of int ids: {error}") from None
    else:
        raise TypeError(
            f"{name} must be a list or 1-d tensor of int ids, got {_describe(sequence)}"
        )
    if tensor.dim() != 1:
        raise ValueError(f"{name} must be 1-dimensional (one id per step), got {_describe(tensor)}")
    if tensor.numel() == 0:
        raise ValueError(f"{name} is empty; every sequence needs at least one step")
    if tensor.dtype.is_floating_point or tensor.dtype.is_complex or tensor.dtype == torch.bool:
        raise TypeError(f"{name} must hold integer ids, got {_describe(tensor)}")
    return tensor.long()


def _check_sequences(name, sequences):
    if isinstance(sequences, (str, torch.Tensor)) or not isinstance(sequences, Sequence):
        raise TypeError(f"{name} must be a list of id sequences, got {_describe(sequences)}")
    if len(sequences) == 0:
        raise ValueError(f"{name} must hold at least one sequence, got none")
    return [_as_id_tensor(f"{name}[{i}]", s) for i, s in enumerate(sequences)]


def pad_sequences(sequences, *, padding_value):
    """Stack sequences of different lengths into one tensor, padded at the end.

    Args:
        sequences: a list of N id sequences (lists or 1-d tensors of ints), each
            with at least one step.
        padding_value: the id put after each sequence's end (``vocab.pad_id`` for
            inputs, :data:`IGNORE_INDEX` for targets the loss must skip).

    Returns:
        ``(padded, lengths)``: ``padded`` of shape ``(N, T)`` with ``T`` the
        longest length, dtype int64; ``lengths`` of shape ``(N,)``, int64.
    """
    tensors = _check_sequences("sequences", sequences)
    if isinstance(padding_value, bool) or not isinstance(padding_value, numbers.Integral):
        raise TypeError(f"padding_value must be an int id, got {_describe(padding_value)}")
    lengths = torch.tensor([len(t) for t in tensors], dtype=torch.long)
    padded = torch.full((len(tensors), int(lengths.max())), int(padding_value), dtype=torch.long)
    for row, tensor in enumerate(tensors):
        padded[row, : len(tensor)] = tensor
    return padded, lengths


def _check_lengths(lengths):
    if not isinstance(lengths, torch.Tensor):
        raise TypeError(f"lengths must be a 1-d tensor of ints, got {_describe(lengths)}")
    if lengths.dim() != 1 or lengths.dtype.is_floating_point or lengths.dtype == torch.bool:
        raise ValueError(f"lengths must be a 1-d tensor of ints, got {_describe(lengths)}")
    if lengths.numel() and int(lengths.min()) < 1:
        raise ValueError(f"lengths must all be >= 1, got a length of {int(lengths.min())}")


def length_mask(lengths, max_length=None):
    """Boolean mask ``(N, T)``: ``mask[n, t]`` is ``True`` where ``t < lengths[n]``.

    The one length mask of :mod:`helpers`: True at the real positions of each
    sequence, False at its padding. It is on the device of ``lengths``.

    Args:
        lengths: ``(N,)`` tensor of ints >= 1.
        max_length: T; default ``lengths.max()``.

    Raises:
        TypeError, ValueError: ``lengths`` is not a 1-d integer tensor of values
            >= 1, or ``max_length`` is not an int >= 1 at least ``lengths.max()``.
    """
    _check_lengths(lengths)
    longest = int(lengths.max()) if lengths.numel() else 0
    if max_length is None:
        max_length = longest
    elif check_positive_int("max_length", max_length) < longest:
        raise ValueError(f"max_length = {max_length} is shorter than the longest length {longest}")
    return _prefix_mask(lengths, max_length)


def _prefix_mask(lengths, max_length):
    """``(..., max_length)`` bool, True where the step index is below ``lengths[...]``.

    The arithmetic of :func:`length_mask` without its checks, for callers that
    check their own lengths (attention's ``valid_lens`` may be 0 and ``(N, Q)``).
    """
    return torch.arange(max_length, device=lengths.device) < lengths[..., None]


def _check_length_list(lengths):
    if isinstance(lengths, torch.Tensor | np.ndarray):
        lengths = lengths.tolist()
    if (
        not isinstance(lengths, Sequence)
        or isinstance(lengths, str)
        or not all(
            isinstance(n, numbers.Integral) and not isinstance(n, bool) and n >= 1 for n in lengths
        )
    ):
        raise ValueError(f"lengths must be a list of ints >= 1, got {_describe(lengths)}")
    return [int(n) for n in lengths]


def length_batches(lengths, batch_size):
    """Batches of indices, each of sequences of similar length: sort by length, then cut.

    A padded batch computes ``len(batch) * max(length)`` steps, however short
    its other sequences are. Sorting the sequences by length (stable: equal
    lengths keep their order) and cutting the sorted list into consecutive
    batches puts long sequences with long ones, so little of each batch is
    padding: when ``batch_size`` divides N, no other way of cutting into
    batches of ``batch_size`` pads less. Training usually shuffles the order of
    the batches.

    Args:
        lengths: the N sequence lengths (list, array or 1-d tensor of ints >= 1).
        batch_size: the most sequences per batch (int >= 1).

    Returns:
        list of ``ceil(N / batch_size)`` lists of indices into ``lengths``,
        shortest sequences first (the last batch is smaller when
        ``batch_size`` does not divide N); every index appears once.
    """
    lengths = _check_length_list(lengths)
    batch_size = check_positive_int("batch_size", batch_size)
    order = sorted(range(len(lengths)), key=lengths.__getitem__)
    return [order[start : start + batch_size] for start in range(0, len(order), batch_size)]


def padded_steps(lengths, batches):
    """How many steps the padded ``batches`` compute: the sum of ``len(batch) * max(length)``.

    Args:
        lengths: the sequence lengths (list, array or 1-d tensor of ints >= 1).
        batches: lists of indices into ``lengths``.
    """
    lengths = _check_length_list(lengths)
    return sum(len(batch) * max(lengths[i] for i in batch) for batch in batches if len(batch))


@dataclass
class PaddedBatch:
    """A batch of variable-length id sequences: ``tokens`` ``(N, T)`` and ``lengths`` ``(N,)``.

    It moves to a device like a tensor (``batch.to(device)``), so
    :func:`helpers.training.train` can feed it to a model as its input. The
    lengths stay wherever they are put; ``pack_padded_sequence`` wants them on
    the CPU (call ``batch.lengths.cpu()``).
    """

    tokens: torch.Tensor
    lengths: torch.Tensor

    def __post_init__(self):
        _check_lengths(self.lengths)
        if not isinstance(self.tokens, torch.Tensor) or self.tokens.dim() != 2:
            raise ValueError(
                f"tokens must be a tensor of shape (N, T), got {_describe(self.tokens)}"
            )
        if self.tokens.shape[0] != self.lengths.shape[0]:
            raise ValueError(
                f"tokens hold {self.tokens.shape[0]} sequences but lengths has "
                f"{self.lengths.shape[0]} entries"
            )
        if self.lengths.numel() and int(self.lengths.max()) > self.tokens.shape[1]:
            raise ValueError(
                f"a length of {int(self.lengths.max())} does not fit in tokens of "
                f"{self.tokens.shape[1]} steps"
            )

    @property
    def mask(self):
        """``(N, T)`` bool, ``True`` at real (not padded) positions."""
        return length_mask(self.lengths, self.tokens.shape[1])

    def to(self, device):
        """This batch with its tokens (and lengths) on ``device``."""
        return PaddedBatch(self.tokens.to(device), self.lengths.to(device))

    def __len__(self):
        return self.tokens.shape[0]


def split_items(items, fractions=(0.8, 0.1, 0.1), *, seed):
    """Fixed, disjoint train/validation/test splits of ``items``, drawn by ``seed``.

    The items are shuffled by a permutation from ``numpy.random.default_rng(seed)``
    and cut in three by ``fractions``: the same items and seed give the same
    splits on every machine, and no item is in two splits (the items must be
    distinct for that to mean anything, so duplicates are an error).

    Args:
        items: a list of distinct, hashable examples (strings, or tuples such as
            ``(name, label)``).
        fractions: the train, validation and test shares, each > 0, summing to 1.
        seed: int >= 0.

    Returns:
        dict ``{"train": [...], "validation": [...], "test": [...]}``, each a list
        of items in shuffled order.
    """
    if isinstance(items, (str, torch.Tensor)) or not isinstance(items, Sequence):
        raise TypeError(f"items must be a list of examples, got {_describe(items)}")
    seed = check_seed("seed", seed)
    if not (isinstance(fractions, (tuple, list)) and len(fractions) == 3):
        raise ValueError(
            f"fractions must be 3 numbers (train, validation, test), got {fractions!r}"
        )
    if any(isinstance(f, bool) or not isinstance(f, numbers.Real) or not f > 0 for f in fractions):
        raise ValueError(f"fractions must all be numbers > 0, got {fractions!r}")
    if abs(sum(fractions) - 1) > 1e-9:
        raise ValueError(f"fractions must sum to 1, got {fractions!r} (sum {sum(fractions):g})")
    counts = Counter(items)
    repeated = [item for item, count in counts.items() if count > 1]
    if repeated:
        raise ValueError(
            f"items must be distinct, or the splits would share examples; "
            f"{len(repeated)} repeat, for example {repeated[0]!r}"
        )
    sizes = [int(round(f * len(items))) for f in fractions[:2]]
    if min(sizes) == 0 or sum(sizes) >= len(items):
        raise ValueError(
            f"{len(items)} items are too few to split by {fractions!r}: every split needs one"
        )
    order = np.random.default_rng(int(seed)).permutation(len(items))
    shuffled = [items[i] for i in order]
    cut1, cut2 = sizes[0], sizes[0] + sizes[1]
    return dict(zip(SPLITS, (shuffled[:cut1], shuffled[cut1:cut2], shuffled[cut2:])))


def split_by_group(items, group_of, fractions=(0.8, 0.1, 0.1), *, seed):
    """Fixed train/validation/test splits in which every group lies in one split.

    Items that are near-duplicates of each other (words with the same first six
    letters: *hyphenate*, *hyphenated*, *hyphenation*) would let a model score
    on the test split by remembering its training split. Here each item's group
    is ``group_of(item)``; the groups are shuffled by
    ``numpy.random.default_rng(seed)`` and dealt, whole, to training until it
    holds its share of the items, then to validation, and the rest to test. The
    shares are met to within one group.

    Args:
        items: a list of distinct, hashable examples.
        group_of: a function from an item to its group (any hashable value).
        fractions: the train, validation and test shares of the items, each > 0, summing to 1.
        seed: int >= 0.

    Returns:
        dict ``{"train": [...], "validation": [...], "test": [...]}``, each a list
        of items, groups in shuffled order; :func:`shared_groups` of it is empty.
    """
    if not callable(group_of):
        raise TypeError(
            f"group_of must be a function from an item to its group, got {_describe(group_of)}"
        )
    # split_items checks items, fractions and seed; here it shuffles the groups
    groups = {}
    for item in items if isinstance(items, Sequence) and not isinstance(items, str) else ():
        groups.setdefault(group_of(item), []).append(item)
    split_items(items, fractions, seed=seed)
    if len(groups) < 3:
        raise ValueError(f"the items form {len(groups)} group(s), too few for three splits")
    keys = list(groups)
    order = np.random.default_rng(int(seed)).permutation(len(keys))
    targets = np.cumsum([f * len(items) for f in fractions])
    splits = {name: [] for name in SPLITS}
    placed, split = 0, 0
    for index in order:
        members = groups[keys[index]]
        # move on once this split holds its share (the last split takes the rest)
        while split < 2 and placed + len(members) / 2 > targets[split]:
            split += 1
        splits[SPLITS[split]].extend(members)
        placed += len(members)
    empty = [name for name, part in splits.items() if not part]
    if empty:
        raise ValueError(
            f"{len(items)} items in {len(groups)} groups are too few to split by "
            f"{fractions!r}: {', '.join(empty)} would be empty"
        )
    return splits


def shared_groups(splits, group_of):
    """The groups that occur in more than one split: ``{group: [split names]}``.

    Empty when the splits are disjoint by group, the leakage criterion a task's
    tests check (for example ``shared_groups(splits, lambda word: word[:6])``).
    """
    if not isinstance(splits, dict) or set(splits) != set(SPLITS):
        raise TypeError(f"splits must be a dict with keys {SPLITS}, got {_describe(splits)}")
    if not callable(group_of):
        raise TypeError(f"group_of must be a function, got {_describe(group_of)}")
    seen = {}
    for name in SPLITS:
        for item in splits[name]:
            places = seen.setdefault(group_of(item), [])
            if name not in places:
                places.append(name)
    return {group: places for group, places in seen.items() if len(places) > 1}


class SequenceDataset(Dataset):
    """Examples ``(input ids, target)`` of different lengths, for :func:`make_sequence_loader`.

    Each input is a sequence of ids. Targets are either one int per example
    (a class: sequence classification) or one sequence per example with the
    same length as its input (a label or next token per step: labelling and
    language modelling).

    Args:
        inputs: list of N id sequences (lists or 1-d tensors of ints, length >= 1).
        targets: list of N ints, or list of N sequences aligned with the inputs.
    """

    def __init__(self, inputs, targets):
        self.inputs = _check_sequences("inputs", inputs)
        if int(torch.cat(self.inputs).min()) < 0:  # one check for all, then find the culprit
            index = next(i for i, sequence in enumerate(self.inputs) if int(sequence.min()) < 0)
            raise ValueError(
                f"inputs[{index}] holds the id {int(self.inputs[index].min())}; ids are >= 0"
            )
        if isinstance(targets, (str, torch.Tensor)) or not isinstance(targets, Sequence):
            if isinstance(targets, torch.Tensor) and targets.dim() == 1:
                targets = targets.tolist()
            else:
                raise TypeError(
                    f"targets must be a list of ints or of id sequences, got {_describe(targets)}"
                )
        if len(targets) != len(self.inputs):
            raise ValueError(
                f"inputs and targets must hold the same number of examples, got "
                f"{len(self.inputs)} inputs and {len(targets)} targets"
            )
        self.per_step = not _is_int(targets[0])
        if self.per_step:
            self.targets = _check_sequences("targets", targets)
            for index, (x, y) in enumerate(zip(self.inputs, self.targets)):
                if len(x) != len(y):
                    raise ValueError(
                        f"targets[{index}] has {len(y)} steps but inputs[{index}] has {len(x)}; "
                        "per-step targets must be aligned with their input"
                    )
        else:
            for index, target in enumerate(targets):
                if not _is_int(target):
                    raise TypeError(
                        f"targets[{index}] must be an int like targets[0], got {_describe(target)}"
                    )
            self.targets = torch.tensor([int(t) for t in targets], dtype=torch.long)

    def __len__(self):
        return len(self.inputs)

    def __getitem__(self, index):
        return self.inputs[index], self.targets[index]


def _is_int(value):
    if isinstance(value, torch.Tensor):
        return value.dim() == 0 and not value.dtype.is_floating_point
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _shuffle_generator(shuffle, seed):
    """The ``torch.Generator`` of a loader's order: seeded when shuffling, else None."""
    if not isinstance(shuffle, bool):
        raise TypeError(f"shuffle must be True or False, got {_describe(shuffle)}")
    if not shuffle:
        return None
    if seed is None:
        raise TypeError("shuffle=True needs seed, an int in [0, 2**32); got NoneType None")
    return torch.Generator().manual_seed(check_seed("seed", seed))


class LengthBatchSampler(torch.utils.data.Sampler):
    """Batches of indices of similar length, drawn anew every epoch (bucketing).

    Each epoch shuffles the indices, sorts them by length (stable, so that
    sequences of equal length are grouped differently every epoch), cuts the
    sorted list into batches of ``batch_size`` and shuffles the order of the
    batches: every batch holds sequences of about one length, so it carries
    little padding, and training still sees the batches in a random order.

    Args:
        lengths: the N sequence lengths (list, array or 1-d tensor of ints >= 1).
        batch_size: the most sequences per batch (int >= 1).
        seed: int >= 0; the same seed gives the same batches, epoch after epoch.
    """

    def __init__(self, lengths, batch_size, *, seed):
        self.lengths = torch.tensor(_check_length_list(lengths))
        self.batch_size = check_positive_int("batch_size", batch_size)
        self.generator = _shuffle_generator(True, seed)

    def __len__(self):
        return -(-len(self.lengths) // self.batch_size)

    def __iter__(self):
        shuffled = torch.randperm(len(self.lengths), generator=self.generator)
        by_length = shuffled[torch.sort(self.lengths[shuffled], stable=True).indices].tolist()
        batches = [
            by_length[start : start + self.batch_size]
            for start in range(0, len(by_length), self.batch_size)
        ]
        for index in torch.randperm(len(batches), generator=self.generator).tolist():
            yield batches[index]


def make_sequence_loader(dataset, *, pad_id, batch_size, shuffle, seed=None, by_length=False):
    """A ``DataLoader`` of ``(PaddedBatch, targets)`` pairs over a :class:`SequenceDataset`.

    Inputs are padded with ``pad_id``; per-step targets are padded with
    :data:`IGNORE_INDEX`, so ``cross_entropy`` skips the padded steps. Class
    targets come as a ``(N,)`` tensor. With ``shuffle=True`` each epoch has a new
    order drawn from a ``torch.Generator`` seeded with ``seed`` (the same orders
    every time the loader is rebuilt with that seed).

    Args:
        dataset: a :class:`SequenceDataset`.
        pad_id: the input padding id (``vocab.pad_id``).
        batch_size: examples per batch (int >= 1).
        shuffle: ``True`` for training, ``False`` to keep the stored order.
        seed: int >= 0, required when ``shuffle`` is True.
        by_length: with ``shuffle``, batches of similar length
            (:class:`LengthBatchSampler`), which pad less and so train faster.
    """
    if not isinstance(dataset, SequenceDataset):
        raise TypeError(f"dataset must be a helpers.text.SequenceDataset, got {_describe(dataset)}")
    if isinstance(pad_id, bool) or not isinstance(pad_id, numbers.Integral):
        raise TypeError(f"pad_id must be an int, got {_describe(pad_id)}")
    batch_size = check_positive_int("batch_size", batch_size)
    check_choice("by_length", by_length, (True, False))
    if by_length and not shuffle:
        raise ValueError("by_length=True batches for training; it needs shuffle=True")
    generator = _shuffle_generator(shuffle, seed)

    def collate(examples):
        inputs, targets = zip(*examples)
        tokens, lengths = pad_sequences(list(inputs), padding_value=int(pad_id))
        if dataset.per_step:
            targets, _ = pad_sequences(list(targets), padding_value=IGNORE_INDEX)
        else:
            targets = torch.stack(list(targets))
        return PaddedBatch(tokens, lengths), targets

    if by_length:
        sampler = LengthBatchSampler([len(x) for x in dataset.inputs], batch_size, seed=seed)
        return DataLoader(dataset, batch_sampler=sampler, collate_fn=collate)
    return DataLoader(
        dataset, batch_size=batch_size, shuffle=shuffle, generator=generator, collate_fn=collate
    )


def sequence_loss(logits, targets):
    """Mean cross-entropy over the real steps: logits ``(N, T, V)``, targets ``(N, T)``.

    Padded steps carry the target :data:`~helpers.text.IGNORE_INDEX` and count
    for nothing: the mean is over predicted characters, not over sequences.
    """
    if logits.dim() != 3 or targets.shape != logits.shape[:2]:
        raise ValueError(
            f"logits must be (N, T, V) and targets (N, T); got {_describe(logits)} "
            f"and {_describe(targets)}"
        )
    return F.cross_entropy(logits.transpose(1, 2), targets, ignore_index=IGNORE_INDEX)
