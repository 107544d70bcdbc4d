"""Tested reference implementations behind the executable RNN textbook.

One module per concept, each readable next to the chapter that introduces it.
The modules are built in layers (foundations, numerics and data, reference
modules, models and training, experiments, chapter tooling, course tools), each
importing only from its own layer and those below, with no import circle:
``ARCHITECTURE.md`` at the repository's root lists the layers, one line per
module, and ``tests/test_architecture.py`` checks every import against it.
This package namespace is the top: it may import any module, and no module
imports it.

The modules:

- :mod:`helpers.device`: :func:`get_device`, where tensors should live, and
  :func:`float64_device`, where float64 checks can run (not on Apple's MPS).
- :mod:`helpers.reproducibility`: :func:`seed_everything`, one seed for every
  random number generator a chapter uses.
- :mod:`helpers.version`: the distribution's version (``helpers.__version__``)
  and where it was installed from, which every install cell prints.
- :mod:`helpers.source`: :func:`show_source`, shows the tested code of a helper
  in the page, so readers read the code the tests test.
- :mod:`helpers.numpy_rnn`: the vanilla RNN in numpy, forward and backward
  (BPTT by hand), with a temporal read-out and softmax loss.
- :mod:`helpers.numpy_lstm`, :mod:`helpers.numpy_gru`: the LSTM and
  PyTorch's GRU in numpy, forward and backward.
- :mod:`helpers.gradcheck`: central differences and relative errors.
- :mod:`helpers.tbptt`: truncated backpropagation through time,
  TBPTT(k1, k2), with overlapping windows.
- :mod:`helpers.modules`: PyTorch modules written from scratch with the
  ``torch.nn`` contract (``RNNCell``, ``RNN``, ``LSTMCell``, ``LSTM``,
  ``GRUCell``, ``GRU``).
- :mod:`helpers.layers`: :func:`~helpers.layers.recurrent_layer`, one
  batch-first RNN, LSTM or GRU layer from ``torch.nn`` or :mod:`helpers.modules`;
  :mod:`helpers.text_models`: the embedding, recurrent layer and read-out that
  every text model shares.
- :mod:`helpers.tasks`: seeded synthetic tasks (adding problem, copy task),
  splits and loaders.
- :mod:`helpers.sequence_toys`: the two small tasks of the foundation
  chapters, their models, and training to a stated criterion.
- :mod:`helpers.training`: the one training loop of the book, with early
  stopping on a validation score.
- :mod:`helpers.evidence`: scores over seeds with intervals, paired
  differences, claims checked by code, numbers glued into the prose.
- :mod:`helpers.artefacts`: long experiments as committed JSON with
  provenance, and the check that a live rerun agrees with them.
- :mod:`helpers.profiling`: where the time of PyTorch code goes, and timings
  from interleaved repeats that noise cannot flip.
- :mod:`helpers.text`: vocabularies, padded batches with lengths and masks,
  splits and loaders for variable-length sequences.
- :mod:`helpers.corpora`: real text shipped inside packages (census names,
  English words, hyphenation patterns).
- :mod:`helpers.language_model`, :mod:`helpers.sequence_classification`,
  :mod:`helpers.sequence_labelling`: the three uses of an RNN on that text,
  with their baselines and scores.
- :mod:`helpers.ngram` (interpolated Kneser-Ney), :mod:`helpers.baselines`
  (linear models from scikit-learn) and :mod:`helpers.leakage` (near-duplicates
  across splits): the strongest simple baselines and the checks on the splits.
- :mod:`helpers.bidirectional`: two directions combined four ways, with
  variable lengths handled by packing; :func:`~helpers.bidirectional.reverse_padded`.
- :mod:`helpers.number_words`: the translation task of the last chapters,
  numbers written in words (by ``num2words``) to digits.
- :mod:`helpers.attention`: the masked softmax, additive, dot-product and
  multiplicative attention, and self-attention.
- :mod:`helpers.seq2seq`: encoder, decoder with or without attention, teacher
  forcing, greedy decoding and beam search, loaders and scores for
  translation pairs.
- :mod:`helpers.seq2seq_experiments`: the runs of the encoder-decoder and
  attention chapters, shared by the chapters and their committed sweeps.
- :mod:`helpers.experiments`: a recurrent unit trained on a long-range task
  and scored, the runs behind the LSTM, GRU and comparison chapters.
- :mod:`helpers.adding_runs`, :mod:`helpers.initialisation`,
  :mod:`helpers.forget_gate`: the experiments of the chapters on vanishing
  gradients and the LSTM (clipping, initial recurrent matrices, the LSTM without
  a forget gate).
- :mod:`helpers.gru_conventions`, :mod:`helpers.unit_comparison`: the GRU's
  two conventions side by side, and the comparison of recurrent units with its
  verdicts.
- :mod:`helpers.plotting`: the diagrams and recurring plots, drawn by code.
- :mod:`helpers.explorers`: interactive explorers (ipywidgets) with a static
  default view, such as the gradient flow of an RNN against an LSTM (not
  imported here).
- :mod:`helpers.course`: the instructors' tools, a product of its own:
  :mod:`helpers.course.checks` (the exercises' automatic checks, also reachable
  as ``helpers.exercises``, which the chapters use), :mod:`helpers.course.feedback`
  (what every check builds its report from), :mod:`helpers.course.assignments`
  (student versions, ``python -m helpers.course.assignments``),
  :mod:`helpers.course.exercise_catalog` and :mod:`helpers.course.grading`
  (``python -m helpers.course.grading``). The old paths ``helpers.assignments``,
  ``helpers.grading`` and ``helpers.exercise_catalog`` are aliases for one
  release; only the checks are imported here.
- :mod:`helpers.validation`: the argument checks every public function uses.
"""

from helpers import (
    artefacts,
    attention,
    bidirectional,
    corpora,
    evidence,
    exercises,
    experiments,
    gradcheck,
    language_model,
    layers,
    modules,
    number_words,
    numpy_gru,
    numpy_lstm,
    numpy_rnn,
    plotting,
    seq2seq,
    sequence_classification,
    sequence_labelling,
    tasks,
    text,
    text_models,
    training,
    validation,
    version,
)
from helpers.device import DEVICE_ENV_VAR, float64_device, get_device, supports_float64
from helpers.reproducibility import seed_everything
from helpers.source import show_source

__all__ = [
    "DEVICE_ENV_VAR",
    "get_device",
    "float64_device",
    "supports_float64",
    "seed_everything",
    "show_source",
    "artefacts",
    "attention",
    "bidirectional",
    "corpora",
    "evidence",
    "exercises",
    "experiments",
    "gradcheck",
    "language_model",
    "layers",
    "modules",
    "number_words",
    "numpy_gru",
    "numpy_lstm",
    "numpy_rnn",
    "plotting",
    "seq2seq",
    "sequence_classification",
    "sequence_labelling",
    "tasks",
    "text",
    "text_models",
    "training",
    "validation",
    "version",
]
__version__ = version.version()
