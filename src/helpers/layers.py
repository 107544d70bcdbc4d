"""One recurrent layer for a unit and an implementation: the factory the models and experiments use.

The book compares three recurrent units (the Elman RNN, the LSTM and the GRU)
and writes each of them twice: ``torch.nn``'s classes run PyTorch's kernels,
:mod:`helpers.modules` rebuilds them from scratch with the same contract. This
module builds one such layer from two names, so the code above it never
chooses a class by hand:

- :func:`recurrent_layer` builds a batch-first ``RNN``, ``LSTM`` or ``GRU``
  (:data:`UNITS`) from ``torch.nn`` or :mod:`helpers.modules`
  (:data:`IMPLEMENTATIONS`), optionally with the LSTM's forget-gate bias set
  (:func:`helpers.modules.set_forget_bias`);
- :func:`count_parameters` counts a module's trainable numbers, the budget the
  book equalises when it compares units.

Shapes (batch first, as everywhere in the book): the layer reads ``x`` of
shape ``(N, T, D)`` and returns ``(outputs, h_n)`` with ``outputs`` of shape
``(N, T, H)`` (``(N, T, 2H)`` with ``bidirectional=True``) and ``h_n`` of
shape ``(num_layers * num_directions, N, H)``; an LSTM returns
``(outputs, (h_n, c_n))`` with ``c_n`` of the shape of ``h_n``.

This module sits just above :mod:`helpers.modules`; the bidirectional wrapper
(:mod:`helpers.bidirectional`), the text models and the experiments build
their layers with it (see ``ARCHITECTURE.md``).
"""

from torch import nn

from helpers import modules
from helpers.validation import check_choice

__all__ = ["UNITS", "IMPLEMENTATIONS", "recurrent_layer", "count_parameters"]

#: The recurrent units the book compares, by their ``torch.nn`` class names.
UNITS = ("RNN", "LSTM", "GRU")

#: Where a layer comes from: PyTorch's kernels, or the book's modules written from scratch.
IMPLEMENTATIONS = ("torch", "scratch")


def recurrent_layer(
    unit, input_size, hidden_size, *, implementation="torch", forget_bias=None, **kwargs
):
    """A batch-first recurrent layer: ``unit`` is ``'RNN'``, ``'LSTM'`` or ``'GRU'``.

    Args:
        unit: one of :data:`UNITS`.
        input_size, hidden_size: the sizes D and H.
        implementation: ``'torch'`` for ``torch.nn``'s class, ``'scratch'`` for
            the :mod:`helpers.modules` class of the same name.
        forget_bias: for an LSTM, the initial forget-gate bias
            (:func:`helpers.modules.set_forget_bias`); ``None`` keeps PyTorch's initialization.
        **kwargs: passed on to the class (``num_layers``, ``bidirectional``,
            ``dropout``, ``device``, ``dtype``, ...).

    Returns:
        the module, with ``batch_first=True``: it reads ``(N, T, D)`` and
        returns ``(outputs, h_n)``, ``outputs`` ``(N, T, H)`` (``(N, T, 2H)``
        when bidirectional) and ``h_n`` ``(num_layers * num_directions, N, H)``;
        an LSTM returns ``(outputs, (h_n, c_n))``.
    """
    check_choice("unit", unit, UNITS)
    check_choice("implementation", implementation, IMPLEMENTATIONS)
    if forget_bias is not None and unit != "LSTM":
        raise ValueError(f"forget_bias applies to an LSTM only, got unit={unit!r}")
    source = nn if implementation == "torch" else modules
    layer = getattr(source, unit)(input_size, hidden_size, batch_first=True, **kwargs)
    if forget_bias is not None:
        modules.set_forget_bias(layer, forget_bias)
    return layer


def count_parameters(module):
    """The number of trainable numbers in ``module``."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)
