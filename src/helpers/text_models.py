"""The parts every text model of the book shares: embedding, recurrent layer, read-out.

The language model (:mod:`helpers.language_model`), the sequence classifier
(:mod:`helpers.sequence_classification`) and the tagger
(:mod:`helpers.sequence_labelling`) all read token ids ``(N, T)`` through
the same three parts, built here once by :func:`text_model_parts`:

- ``nn.Embedding(vocab_size, E)``: ``(N, T)`` -> ``(N, T, E)``;
- a recurrent layer, from :func:`helpers.layers.recurrent_layer` (one
  direction, ``(N, T, E)`` -> ``(N, T, H)``) or a
  :class:`helpers.bidirectional.BidirectionalRNN` (two directions,
  ``(N, T, E)`` -> ``(N, T, output_size)``);
- ``nn.Linear(features, num_outputs)``: ``(..., features)`` -> ``(..., num_outputs)``.

It sits above both :mod:`helpers.layers` and :mod:`helpers.bidirectional`,
which is why it is not part of either (see ``ARCHITECTURE.md``).
"""

from torch import nn

from helpers.bidirectional import BidirectionalRNN
from helpers.layers import recurrent_layer
from helpers.validation import check_choice, check_positive_int

__all__ = ["text_model_parts"]


def text_model_parts(
    vocab_size,
    num_outputs,
    *,
    unit,
    embedding_dim,
    hidden_size,
    implementation="torch",
    bidirectional=False,
    combine="concat",
    **layer_kwargs,
):
    """The three parts of the book's text models: embedding, recurrent layer, read-out.

    Returns ``(embedding, rnn, read_out)``: ``nn.Embedding(vocab_size,
    embedding_dim)``, :func:`helpers.layers.recurrent_layer` (batch first) and
    ``nn.Linear(hidden_size, num_outputs)``, created in that order (so the
    same seed gives the same initial weights), with the ``device`` and
    ``dtype`` of ``layer_kwargs`` for all three. With ``bidirectional=True``
    the layer is a :class:`helpers.bidirectional.BidirectionalRNN` whose two
    directions are combined by ``combine``, and the read-out takes its
    ``output_size`` (2H for ``"concat"``, H otherwise).
    """
    check_positive_int("vocab_size", vocab_size)
    check_positive_int("num_outputs", num_outputs, minimum=2)
    check_choice("bidirectional", bidirectional, (False, True))
    factory = {k: layer_kwargs[k] for k in ("device", "dtype") if k in layer_kwargs}
    embedding = nn.Embedding(
        vocab_size, check_positive_int("embedding_dim", embedding_dim), **factory
    )
    if bidirectional:
        rnn = BidirectionalRNN(
            unit,
            embedding_dim,
            hidden_size,
            combine=combine,
            implementation=implementation,
            **layer_kwargs,
        )
        features = rnn.output_size
    else:
        rnn = recurrent_layer(
            unit, embedding_dim, hidden_size, implementation=implementation, **layer_kwargs
        )
        features = hidden_size
    read_out = nn.Linear(features, num_outputs, **factory)
    return embedding, rnn, read_out
