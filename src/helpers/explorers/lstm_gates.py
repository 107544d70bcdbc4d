"""The LSTM-gates explorer: type a string and see a trained LSTM's gates and cells per character.

:func:`lstm_gate_activations` recomputes, from a trained layer's weights, the
four gate activations and the states at every step (PyTorch's equations and
gate order i, f, g, o), which ``torch.nn.LSTM`` does not return.
:class:`LSTMGatesExplorer` shows them for the typed string: heat maps of the
input, forget and output gates and of the cell over all units, and the gates
and cell of one chosen unit as curves, with the model's output per character.
"""

import numpy as np
import torch
from torch import nn

from helpers import modules
from helpers.explorers._view import Explorer, typed_one_hot
from helpers.explorers.unrolled import check_one_hot_model, check_symbols
from helpers.validation import _describe

__all__ = ["lstm_gate_activations", "LSTMGatesExplorer"]

GATES = ("i", "f", "g", "o")
CELL_COLOUR_LIMIT = 2.0


def lstm_gate_activations(lstm, inputs):
    """Gates and states of a one-layer LSTM at every step of one sequence, from a zero state.

    Args:
        lstm: ``torch.nn.LSTM`` or ``helpers.modules.LSTM`` with one layer, one
            direction and no projection (its ``weight_ih_l0`` etc. are used;
            ``batch_first`` does not matter).
        inputs: tensor (T, D), one sequence, in the layer's dtype and device.

    Returns:
        dict of float64 numpy arrays (T, H): ``"i"``, ``"f"``, ``"g"``, ``"o"``
        (input gate, forget gate, candidate, output gate), ``"c"`` (cell) and
        ``"h"`` (hidden state), with
        ``c_t = f_t * c_{t-1} + i_t * g_t`` and ``h_t = o_t * tanh(c_t)``.
    """
    if not isinstance(lstm, (nn.LSTM, modules.LSTM)):
        raise TypeError(
            f"lstm must be a torch.nn.LSTM or helpers.modules.LSTM, got {_describe(lstm)}"
        )
    if (
        getattr(lstm, "num_layers", 1) != 1
        or getattr(lstm, "bidirectional", False)
        or getattr(lstm, "proj_size", 0)
    ):
        raise ValueError("lstm must have one layer, one direction and no projection")
    if (
        not isinstance(inputs, torch.Tensor)
        or inputs.dim() != 2
        or inputs.shape[1] != lstm.input_size
    ):
        raise ValueError(f"inputs must be a tensor (T, {lstm.input_size}), got {_describe(inputs)}")
    H = lstm.hidden_size
    weight_ih, weight_hh = lstm.weight_ih_l0, lstm.weight_hh_l0
    bias = (lstm.bias_ih_l0 + lstm.bias_hh_l0) if lstm.bias else weight_ih.new_zeros(4 * H)
    h, c = weight_ih.new_zeros(H), weight_ih.new_zeros(H)
    steps = {name: [] for name in (*GATES, "c", "h")}
    with torch.no_grad():
        projected = inputs @ weight_ih.T + bias  # every step's input projection at once
        for x_projected in projected:
            # the book's LSTM step, which also returns the gates i, f, g, o
            h, c, (i, f, g, o) = modules.lstm_update(
                x_projected, h, c, weight_hh, None, return_gates=True
            )
            for name, value in zip(steps, (i, f, g, o, c, h)):
                steps[name].append(value)
    # to the CPU first: Apple's MPS has no float64
    return {name: torch.stack(values).cpu().double().numpy() for name, values in steps.items()}


class LSTMGatesExplorer(Explorer):
    """Type a string and see a trained one-layer LSTM's gates and cells at every character.

    Args:
        lstm: the trained layer (see :func:`lstm_gate_activations`); it reads
            one-hot ``symbols``.
        read_out: module ``(..., H) -> (..., len(outputs))`` logits applied to
            the hidden states, or None.
        symbols: the alphabet, a str: character ``k`` is one-hot ``k``.
        text: the string shown first.
        outputs: the read-out's classes, a str or list of str.
        unit: the unit whose gates are drawn as curves first.

    Attributes (besides :class:`~helpers.explorers._view.Explorer`'s):
        activations: :func:`lstm_gate_activations` of the typed string.
        predictions: the output at every character (list of str; empty without read-out).
        axes: dict of axes: ``"i"``, ``"f"``, ``"o"``, ``"c"`` heat maps, ``"unit"`` curves.
        controls: ``{"text", "unit"}`` widgets.
    """

    def __init__(self, lstm, read_out, symbols, *, text, outputs=None, unit=0):
        import ipywidgets as widgets
        from matplotlib.figure import Figure

        self.symbols = check_symbols("symbols", symbols)
        self.outputs = None if outputs is None else list(outputs)
        check_one_hot_model(lstm, read_out, symbols, self.outputs)
        H = lstm.hidden_size
        if isinstance(unit, bool) or not isinstance(unit, int) or not 0 <= unit < H:
            raise ValueError(f"unit must be an int in 0 .. {H - 1}, got {unit!r}")
        self.lstm, self.read_out = lstm, read_out
        self.controls = {
            "text": widgets.Text(value=text, description="string", continuous_update=False),
            "unit": widgets.Dropdown(
                options=[(f"unit {k}", k) for k in range(H)], value=unit, description="unit"
            ),
        }
        self.figure = Figure(figsize=(9, 9), layout="constrained")
        grid = self.figure.add_gridspec(5, 1, height_ratios=(1, 1, 1, 1, 1.3))
        self.axes = {
            name: self.figure.add_subplot(grid[k])
            for k, name in enumerate(("i", "f", "o", "c", "unit"))
        }
        self.activations, self.predictions, self._colour_bars = None, [], {}
        self._build([list(self.controls.values())])

    def draw(self):
        text, unit = self.controls["text"].value, self.controls["unit"].value
        parameter = self.lstm.weight_ih_l0
        inputs = typed_one_hot(text, self.symbols, parameter)[0]  # ValueError before drawing
        self.activations = gates = lstm_gate_activations(self.lstm, inputs)
        if self.read_out is None:
            self.predictions = []
        else:
            with torch.no_grad():
                logits = self.read_out(
                    torch.as_tensor(gates["h"], dtype=parameter.dtype, device=parameter.device)
                )
            self.predictions = [self.outputs[k] for k in logits.argmax(-1).tolist()]
        T, H = gates["c"].shape
        titles = {
            "i": "input gate $i_t$",
            "f": "forget gate $f_t$",
            "o": "output gate $o_t$",
            "c": f"cell $c_t$ (colour scale clipped at ±{CELL_COLOUR_LIMIT:g})",
        }
        for name, title in titles.items():
            ax = self.axes[name]
            ax.clear()
            limits = (
                (-CELL_COLOUR_LIMIT, CELL_COLOUR_LIMIT, "RdBu_r")
                if name == "c"
                else (0, 1, "viridis")
            )
            image = ax.imshow(
                gates[name].T,
                aspect="auto",
                cmap=limits[2],
                vmin=limits[0],
                vmax=limits[1],
                interpolation="nearest",
            )
            if name not in self._colour_bars:  # once: the scales are fixed
                self._colour_bars[name] = self.figure.colorbar(image, ax=ax, pad=0.01, aspect=8)
            ax.axhline(unit, color="red", linewidth=0.8, linestyle=":")
            ax.set_yticks([0, unit, H - 1] if 0 < unit < H - 1 else [0, H - 1])
            ax.set_xticks(range(T), list(text), fontsize=8)
            ax.set_title(title, loc="left", fontsize=9)
            ax.set_ylabel("unit", fontsize=8)

        ax = self.axes["unit"]
        ax.clear()
        if "unit" not in self._colour_bars:
            # An invisible bar takes the same room as the heat maps' bars, so that the
            # curves' characters stand under the heat maps' columns.
            self._colour_bars["unit"] = self.figure.colorbar(image, ax=ax, pad=0.01, aspect=8)
            self._colour_bars["unit"].ax.set_visible(False)
        steps = np.arange(T)
        for name, label, style in (
            ("i", "input gate", "-"),
            ("f", "forget gate", "-"),
            ("o", "output gate", "-"),
            ("c", "cell", "o-"),
        ):
            ax.plot(steps, gates[name][:, unit], style, label=label, markersize=3)
        ax.axhline(0, color="grey", linewidth=0.5)
        labels = [
            f"{character}\n{self.predictions[s]}" if self.predictions else character
            for s, character in enumerate(text)
        ]
        ax.set_xticks(steps, labels, fontsize=8)
        ax.set_xlim(-0.5, T - 0.5)
        ax.set_title(
            f"unit {unit}"
            + (" (ticks: character, then the model's output)" if self.predictions else ""),
            loc="right",
            fontsize=9,
        )
        ax.legend(loc="lower left", bbox_to_anchor=(0, 1.08), fontsize=8, ncol=4, frameon=False)

        caption = (
            f"{T} characters; unit {unit}: cell from {gates['c'][:, unit].min():+.2f} "
            f"to {gates['c'][:, unit].max():+.2f}, forget gate "
            f"{gates['f'][:, unit].min():.2f} to {gates['f'][:, unit].max():.2f}"
        )
        if self.predictions:
            caption += f"; outputs {' '.join(self.predictions)}"
        alt = (
            f"Heat maps of the LSTM's input, forget and output gates and cells over its "
            f"{H} units for the string {text!r}, and unit {unit}'s gates and cell as curves"
        )
        return alt, caption
