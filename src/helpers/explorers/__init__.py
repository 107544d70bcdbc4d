"""Interactive explorers (ipywidgets) for the chapters, each with a static default view.

- :class:`GradientFlowExplorer` (chapter "Vanishing and exploding gradients"):
  how far back the gradient reaches in a vanilla RNN and an LSTM.
- :class:`UnrolledRNNExplorer` (chapter "The unrolled RNN"): step through a
  typed sequence and watch the hidden state of a trained RNN evolve.
- :class:`LSTMGatesExplorer` (chapter "Long short-term memory"): type a string
  and see a trained LSTM's gates and cells at every character.
- :class:`AttentionExplorer` (chapter "Attention"): type a number in words and
  see the trained model's translation and its attention map.

An explorer builds without a display: ``explorer.widget`` is what a notebook
shows (live in Jupyter, Colab and Binder; from its saved state on the
website), ``explorer.figure`` is its matplotlib figure, redrawn whenever a
control changes, ``explorer.caption`` a line about what is shown, and the
numbers it plots are attributes of the explorer.
"""

from helpers.explorers.attention import AttentionExplorer
from helpers.explorers.gradient_flow import (
    NONLINEARITIES,
    GradientFlowExplorer,
    memory_gradient_norms,
    random_recurrent_layer,
)
from helpers.explorers.lstm_gates import LSTMGatesExplorer, lstm_gate_activations
from helpers.explorers.unrolled import UnrolledRNNExplorer

__all__ = [
    "NONLINEARITIES",
    "random_recurrent_layer",
    "memory_gradient_norms",
    "GradientFlowExplorer",
    "UnrolledRNNExplorer",
    "lstm_gate_activations",
    "LSTMGatesExplorer",
    "AttentionExplorer",
]
