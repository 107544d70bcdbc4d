"""The experiments of the chapters "Encoder-decoder models" and "Attention", in one place.

Both chapters train small translators from numbers in words to digits
(:mod:`helpers.number_words`), compare them over seeds, and decode them. The
full runs (trained until validation stops improving, several seeds) take
longer than a chapter may, so ``benchmarks/experiments/encoder_bottleneck.py``
and ``benchmarks/experiments/attention_comparison.py`` run them and commit the
results as artefacts (:mod:`helpers.artefacts`). The chapters load those,
rerun the first epochs of one run with the same function, and check that the
two agree. Everything both sides use is here, so they cannot drift apart:

- :data:`TASK` and :func:`number_task`: the splits and vocabularies;
- :func:`number_translator`: the model of both chapters;
- :func:`run_translation`: one training run to the stated criterion, its
  curves, and its greedy outputs on the splits it is asked to score;
- :func:`encode_state` / :func:`decode_state` / :func:`load_translator`: a
  trained model's weights in a JSON artefact and back;
- :func:`length_table`: exact match by source length and target length.
"""

import base64
import functools

import numpy as np
import torch

from helpers.attention import AdditiveAttention, DotProductAttention, MultiplicativeAttention
from helpers.number_words import LANGUAGES, number_translation_splits
from helpers.reproducibility import seed_everything
from helpers.seq2seq import Decoder, Encoder, Seq2Seq, train_translation, translate
from helpers.text import Vocab, pad_sequences
from helpers.training import EarlyStopping
from helpers.validation import _describe, check_choice, check_positive_int, check_seed

__all__ = [
    "TASK",
    "TRAINING",
    "MAX_LENGTH",
    "ATTENTIONS",
    "number_task",
    "number_translator",
    "reverse_words",
    "sources_of",
    "languages_of",
    "references_of",
    "translate_split",
    "greedy_with_maps",
    "run_translation",
    "join_outputs",
    "split_outputs",
    "encode_state",
    "decode_state",
    "load_translator",
    "length_table",
]

#: The data of both chapters: up to 1,000 numbers of each length of 1 to 9
#: digits, in four languages, split by number (:func:`number_translation_splits`).
TASK = {
    "per_digit_count": 1000,
    "max_digits": 9,
    "zero_probability": 0.3,
    "languages": LANGUAGES,
    "seed": 0,
}

#: The recipe of every run: Adam from ``learning_rate``, multiplied by
#: ``decay`` every epoch, batches of 128, until validation exact match has not
#: improved for ``patience`` epochs (at most ``max_epochs``), ending with the
#: best epoch's weights.
TRAINING = {"learning_rate": 0.01, "decay": 0.9, "batch_size": 128, "max_epochs": 50, "patience": 4}

#: Output tokens decoded at most: 9 digits and ``<eos>``, with room for a model that rambles.
MAX_LENGTH = 12

#: The decoders' contexts: the encoder's final state, or one attention score of ``helpers.attention``.
ATTENTIONS = (None, "additive", "dot", "general")

SPLIT_NAMES = ("train", "validation", "test")


@functools.lru_cache(maxsize=2)
def _task(items):
    task = dict(items)
    splits = number_translation_splits(**task)
    source_vocab = Vocab([source for source, _ in splits["train"]], level="word")
    target_vocab = Vocab([target for _, target in splits["train"]], level="char")
    return splits, source_vocab, target_vocab


def number_task(**changes):
    """``(splits, source_vocab, target_vocab)`` of the task :data:`TASK` (with ``changes``).

    ``splits`` is ``{"train", "validation", "test"}`` of ``(words, digits)``
    pairs, split by number: every language version of a number is in one
    split. The vocabularies are built from the training pairs (words; digits).
    Cached: the chapters and the sweeps call it often.
    """
    unknown = set(changes) - set(TASK)
    if unknown:
        raise ValueError(
            f"unknown task settings {sorted(unknown)}; the settings are {sorted(TASK)}"
        )
    task = {**TASK, **changes}
    return _task(tuple(sorted(task.items())))


def number_translator(
    source_vocab,
    target_vocab,
    *,
    attention=None,
    bidirectional=False,
    hidden_size=64,
    embedding_dim=32,
    **factory,
):
    """The chapters' model: a GRU encoder and a GRU decoder of ``hidden_size`` units.

    Args:
        source_vocab, target_vocab: :class:`helpers.text.Vocab` of the two sides.
        attention: ``None`` (the decoder reads the encoder's final state at every
            step), ``"additive"`` (Bahdanau; a tanh layer of ``hidden_size``),
            ``"dot"`` (scaled dot product) or ``"general"`` (``q^T W k``).
        bidirectional: an encoder that reads both ways (``hidden_size // 2`` units each).
        hidden_size, embedding_dim: H and E.
        **factory: ``device`` and ``dtype``.
    """
    attention = check_choice("attention", attention, ATTENTIONS)
    H = check_positive_int("hidden_size", hidden_size)
    module = {
        None: lambda: None,
        "additive": lambda: AdditiveAttention(H, H, H, **factory),
        "dot": lambda: DotProductAttention(scaled=True),
        "general": lambda: MultiplicativeAttention(H, H, **factory),
    }[attention]()
    encoder = Encoder(len(source_vocab), embedding_dim, H, bidirectional=bidirectional, **factory)
    decoder = Decoder(len(target_vocab), embedding_dim, H, attention=module, **factory)
    return Seq2Seq(encoder, decoder, bos_id=target_vocab.bos_id, eos_id=target_vocab.eos_id)


def reverse_words(pairs):
    """The pairs with each source's words in reverse order (Sutskever et al. 2014)."""
    return [(" ".join(source.split()[::-1]), target) for source, target in pairs]


def sources_of(split, *, reverse_source=False):
    """The source texts of a split of :func:`number_task` (in the split's order)."""
    splits, _, _ = number_task()
    pairs = splits[split]
    return [source for source, _ in (reverse_words(pairs) if reverse_source else pairs)]


def languages_of(split):
    """The language of each pair of a split of :func:`number_task` (in the split's order).

    :func:`helpers.number_words.number_translation_splits` writes each number
    in every language of :data:`TASK`, in that order, one after the other.
    """
    splits, _, _ = number_task()
    languages = TASK["languages"]
    return [languages[i % len(languages)] for i in range(len(splits[split]))]


def references_of(split):
    """The reference digits of a split of :func:`number_task` (in the split's order)."""
    splits, _, _ = number_task()
    return [target for _, target in splits[split]]


def translate_split(model, split, *, reverse_source=False, **decoding):
    """The greedy (or, with ``beam_width``, beam search) outputs of ``model`` on a split."""
    _, source_vocab, target_vocab = number_task()
    return translate(
        model,
        sources_of(split, reverse_source=reverse_source),
        source_vocab,
        target_vocab,
        max_length=MAX_LENGTH,
        **decoding,
    )


def greedy_with_maps(model, sources, *, batch_size=512):
    """Greedy outputs and attention maps of a model with attention, for source texts.

    Returns:
        ``(outputs, maps)``: per source, the output tokens (strings, ``<eos>``
        last if written) and the weights ``(len(output), words)`` on the CPU.
    """
    if model.decoder.attention is None:
        raise ValueError("model must have attention: a model without it draws no map")
    _, source_vocab, target_vocab = number_task()
    device = next(model.parameters()).device
    model.eval()
    outputs, maps = [], []
    for start in range(0, len(sources), batch_size):
        chunk = [source_vocab.encode(text) for text in sources[start : start + batch_size]]
        source, lengths = pad_sequences(chunk, padding_value=source_vocab.pad_id)
        tokens, weights = model.greedy_decode(source.to(device), lengths, max_length=MAX_LENGTH)
        for ids, w, n in zip(tokens, weights, lengths.tolist()):
            outputs.append([target_vocab.itos[i] for i in ids])
            maps.append(w[:, :n])
    return outputs, maps


def run_translation(
    *,
    seed,
    attention=None,
    bidirectional=False,
    reverse_source=False,
    max_epochs=None,
    patience=None,
    learning_rate=None,
    score=("validation",),
    keep_weights=False,
    device="cpu",
    progress=False,
):
    """Train one translator of the task to the stated criterion; return what it measured.

    The model (:func:`number_translator`) is initialised from ``seed`` and
    its batches are drawn in an order fixed by ``seed``; the data are the same
    for every seed (:data:`TASK`). Training follows :data:`TRAINING` unless an
    argument overrides it: Adam at a constant learning rate, early stopping on
    validation exact match with ``patience``, at most ``max_epochs`` epochs,
    the best epoch's weights kept. A shorter ``max_epochs`` reproduces the first
    epochs of a longer run exactly (same device, same torch, one thread).

    Args:
        seed: int >= 0.
        attention, bidirectional: the model (see :func:`number_translator`).
        reverse_source: read every source backwards, word by word (training and scoring).
        max_epochs, patience, learning_rate: override :data:`TRAINING`.
        score: the splits whose greedy outputs to return, after training.
        keep_weights: also return the trained weights (:func:`encode_state`).
        device: where to train.
        progress: show a progress bar.

    Returns:
        dict with ``train_loss``, ``val_loss`` and ``val_exact_match`` (one
        value per epoch), ``best_epoch``, ``stopped_early``, ``epochs``,
        ``outputs`` (``{split: greedy outputs}``, one text per pair in the
        order of the split, joined by spaces: digits hold none) and, with
        ``keep_weights``, ``weights``.
    """
    seed = check_seed("seed", seed)
    max_epochs = TRAINING["max_epochs"] if max_epochs is None else max_epochs
    patience = TRAINING["patience"] if patience is None else patience
    learning_rate = TRAINING["learning_rate"] if learning_rate is None else learning_rate
    if isinstance(score, str) or not all(name in SPLIT_NAMES for name in score):
        raise ValueError(f"score must be a tuple of split names from {SPLIT_NAMES}, got {score!r}")
    splits, source_vocab, target_vocab = number_task()
    seed_everything(seed)
    model = number_translator(
        source_vocab, target_vocab, attention=attention, bidirectional=bidirectional
    ).to(device)
    label = f"{attention or 'no'} attention, seed {seed}"
    prepare = reverse_words if reverse_source else list
    history = train_translation(
        model,
        prepare(splits["train"]),
        source_vocab,
        target_vocab,
        epochs=max_epochs,
        batch_size=TRAINING["batch_size"],
        max_lr=learning_rate,
        schedule="exponential",
        decay=TRAINING["decay"],
        seed=seed,
        val_pairs=prepare(splits["validation"]),
        early_stopping=EarlyStopping(patience=patience, monitor="val_exact_match", mode="max"),
        progress=progress,
        description=label,
    )
    result = {
        "train_loss": history["train_loss"],
        "val_loss": history["val_loss"],
        "val_exact_match": history["val_exact_match"],
        "best_epoch": history.best_epoch,
        "stopped_early": history.stopped_early,
        "epochs": len(history),
        "outputs": {
            name: join_outputs(translate_split(model, name, reverse_source=reverse_source))
            for name in score
        },
    }
    if keep_weights:
        result["weights"] = encode_state(model)
    return result


def join_outputs(outputs):
    """Outputs as one string (a compact JSON entry): texts joined by single spaces.

    An output the model ended without a digit is stored as ``"-"``, so that
    :func:`split_outputs` gives back as many texts as there were.
    """
    if any(" " in text or text == "-" for text in outputs):
        raise ValueError("outputs must be texts without spaces, and never '-'")
    return " ".join(text or "-" for text in outputs)


def split_outputs(joined):
    """The list of output texts that :func:`join_outputs` joined."""
    return [] if not joined else ["" if text == "-" else text for text in joined.split(" ")]


def encode_state(model):
    """A model's weights as JSON-able text: ``{name: {"shape", "dtype", "data" (base64)}}``.

    The bytes are the tensors' own (little-endian, as torch stores them on
    every common machine), so :func:`decode_state` gives back exactly the same
    numbers.
    """
    state = {}
    for name, tensor in model.state_dict().items():
        array = tensor.detach().cpu().contiguous().numpy()
        state[name] = {
            "shape": list(array.shape),
            "dtype": str(array.dtype),
            "data": base64.b64encode(array.astype(array.dtype.newbyteorder("<")).tobytes()).decode(
                "ascii"
            ),
        }
    return state


def decode_state(state):
    """The ``state_dict`` that :func:`encode_state` wrote (CPU tensors)."""
    if not isinstance(state, dict):
        raise TypeError(f"state must be the dict encode_state returned, got {_describe(state)}")
    decoded = {}
    for name, entry in state.items():
        dtype = np.dtype(entry["dtype"]).newbyteorder("<")
        array = np.frombuffer(base64.b64decode(entry["data"]), dtype=dtype)
        decoded[name] = torch.from_numpy(
            array.astype(array.dtype.newbyteorder("=")).copy().reshape(entry["shape"])
        )
    return decoded


def load_translator(run, *, device="cpu"):
    """The trained model of a stored run (a dict from :func:`run_translation` with ``weights``).

    The run must also hold ``attention`` and ``bidirectional`` (the
    :class:`helpers.artefacts.Sweep` records every keyword it was called with).
    The model is put in evaluation mode, on ``device``.
    """
    if not isinstance(run, dict) or "weights" not in run:
        raise ValueError("run must be a stored run with its 'weights' (keep_weights=True)")
    _, source_vocab, target_vocab = number_task()
    model = number_translator(
        source_vocab,
        target_vocab,
        attention=run.get("attention"),
        bidirectional=run.get("bidirectional", False),
    )
    model.load_state_dict(decode_state(run["weights"]))
    return model.to(device).eval()


def length_table(sources, predictions, references, *, min_count=20):
    """Exact match by source length (words) and target length (digits), where cells are big enough.

    Returns:
        ``(source_lengths, target_lengths, accuracy, counts)``: the sorted
        lengths present, and two arrays ``(len(source_lengths),
        len(target_lengths))``: the exact match of each cell (NaN where the
        cell holds fewer than ``min_count`` pairs) and the pairs it holds.
    """
    if not (len(sources) == len(predictions) == len(references)) or not sources:
        raise ValueError(
            f"sources, predictions and references must be non-empty lists of one "
            f"length, got {len(sources)}, {len(predictions)} and {len(references)}"
        )
    min_count = check_positive_int("min_count", min_count)
    words = [len(source.split()) for source in sources]
    digits = [len(reference) for reference in references]
    rows, columns = sorted(set(words)), sorted(set(digits))
    right = np.zeros((len(rows), len(columns)))
    counts = np.zeros((len(rows), len(columns)), dtype=int)
    for w, d, p, r in zip(words, digits, predictions, references):
        counts[rows.index(w), columns.index(d)] += 1
        right[rows.index(w), columns.index(d)] += p == r
    with np.errstate(invalid="ignore", divide="ignore"):
        accuracy = np.where(counts >= min_count, right / np.maximum(counts, 1), np.nan)
    return rows, columns, accuracy, counts
