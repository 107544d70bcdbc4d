"""The unrolled-RNN explorer: step through a typed sequence and watch the hidden state evolve.

:class:`UnrolledRNNExplorer` runs a trained one-layer recurrent network on
the symbols typed in a text box, and shows, up to the step chosen with a
slider (or played by a Play button), the hidden state of every step so far as
the columns of a heat map, the current state next to the previous one, and
the network's output at each step.
"""

import numpy as np
import torch
from torch import nn

from helpers.explorers._view import Explorer, typed_one_hot
from helpers.validation import _describe

__all__ = ["UnrolledRNNExplorer", "check_symbols"]


def check_symbols(name, symbols):
    """``symbols`` must be a non-empty str of distinct characters (an alphabet)."""
    if not isinstance(symbols, str) or not symbols or len(set(symbols)) != len(symbols):
        raise ValueError(
            f"{name} must be a non-empty str of distinct characters, got {_describe(symbols)}"
        )
    return symbols


def check_one_hot_model(layer, read_out, symbols, outputs):
    """The layer reads one-hot ``symbols``; ``read_out`` (or None) gives one logit per output."""
    if not isinstance(layer, nn.Module) or not hasattr(layer, "input_size"):
        raise TypeError(
            f"the recurrent layer must be a torch module with an input_size, got {_describe(layer)}"
        )
    if layer.input_size != len(symbols):
        raise ValueError(
            f"the recurrent layer reads {layer.input_size} features per step, "
            f"but symbols has {len(symbols)} (one-hot inputs)"
        )
    if read_out is not None and not isinstance(read_out, nn.Module):
        raise TypeError(f"read_out must be a torch module or None, got {_describe(read_out)}")
    if read_out is not None and not (isinstance(outputs, (list, tuple, str)) and outputs):
        raise ValueError(f"outputs must name the read-out's classes, got {_describe(outputs)}")


class UnrolledRNNExplorer(Explorer):
    """Type a sequence, then step through time and watch a trained RNN's hidden state.

    Args:
        rnn: a one-layer recurrent layer with ``batch_first=True`` that reads
            one-hot symbols, ``(1, T, len(symbols)) -> ((1, T, H), final)``:
            ``torch.nn.RNN`` or ``helpers.modules.RNN`` (a GRU works too).
        read_out: module ``(..., H) -> (..., len(outputs))`` logits, or None.
        symbols: the alphabet, a str: character ``k`` is one-hot ``k``.
        text: the sequence shown first.
        outputs: the read-out's classes, a str or list of str (default ``symbols``).
        targets: optional function ``text -> list`` of the right output at every
            step (``None`` where there is none), shown next to the prediction.

    Attributes (besides :class:`~helpers.explorers._view.Explorer`'s):
        states: float array (T, H) of the whole typed sequence's hidden states.
        predictions: the output predicted at every step (list of str; empty without read-out).
        axes: ``(heat map, current state)`` axes of the figure.
        controls: ``{"text", "step"}`` widgets (a Play button drives ``step``).
    """

    def __init__(self, rnn, read_out, symbols, *, text, outputs=None, targets=None):
        import ipywidgets as widgets
        from matplotlib.figure import Figure

        self.symbols = check_symbols("symbols", symbols)
        self.outputs = list(symbols if outputs is None else outputs)
        check_one_hot_model(rnn, read_out, symbols, self.outputs)
        if targets is not None and not callable(targets):
            raise TypeError(
                f"targets must be a function of the text or None, got {_describe(targets)}"
            )
        self.rnn, self.read_out, self.targets = rnn, read_out, targets
        length = max(len(text), 1) if isinstance(text, str) else 1
        self.controls = {
            "text": widgets.Text(value=text, description="sequence", continuous_update=False),
            "step": widgets.IntSlider(value=length, min=1, max=length, description="step t"),
        }
        play = widgets.Play(value=length, min=1, max=length, interval=600, description="play")
        widgets.jslink((play, "value"), (self.controls["step"], "value"))
        widgets.jslink((self.controls["step"], "max"), (play, "max"))
        self.figure = Figure(figsize=(8, 5.2))
        grid = self.figure.add_gridspec(2, 1, height_ratios=(2.2, 1))
        self.axes = (self.figure.add_subplot(grid[0]), self.figure.add_subplot(grid[1]))
        self.states, self.predictions, self._text = None, [], None
        self._build([[self.controls["text"]], [play, self.controls["step"]]])

    def _run(self, text):
        """Hidden states (T, H) and predictions of ``text``, computed once per text."""
        parameter = next(self.rnn.parameters())
        inputs = typed_one_hot(text, self.symbols, parameter)
        with torch.no_grad():
            states, _ = self.rnn(inputs)
            logits = None if self.read_out is None else self.read_out(states)[0]
        self.states = states[0].cpu().double().numpy()  # MPS has no float64: CPU first
        self.predictions = (
            [] if logits is None else [self.outputs[k] for k in logits.argmax(-1).tolist()]
        )
        self._text = text

    def draw(self):
        text = self.controls["text"].value
        if text != self._text:
            self._run(text)  # raises ValueError on a text it cannot read, before drawing
            # The slider (and the Play button linked to it) spans the new text, at its end.
            self.controls["step"].max = len(text)
            self.controls["step"].value = len(text)
        T, H = self.states.shape
        t = self.controls["step"].value
        targets = self.targets(text) if self.targets else [None] * T

        shown = np.full((H, T), np.nan)  # steps after t are not computed yet: blank
        shown[:, :t] = self.states[:t].T
        heat, current = self.axes
        heat.clear()
        heat.imshow(shown, aspect="auto", cmap="RdBu_r", vmin=-1, vmax=1, interpolation="nearest")
        heat.add_patch(_column_frame(t - 1, H))
        outputs = [
            (self.predictions[s] if targets[s] is not None or not self.targets else "·")
            if self.predictions and s < t
            else ""
            for s in range(T)
        ]
        heat.set_xticks(range(T), [f"{text[s]}\n{outputs[s]}" for s in range(T)], fontsize=8)
        for s, label in enumerate(heat.get_xticklabels()):
            if outputs[s] and targets[s] is not None and outputs[s] != targets[s]:
                label.set_color("red")  # a wrong output
        heat.set_ylabel("hidden unit")
        ticks = (
            (
                "input, then output; red: wrong, ·: no answer expected"
                if self.targets
                else "input, then output"
            )
            if self.predictions
            else "input"
        )
        heat.set_title(
            f"Hidden states $h_1 \\dots h_{{{t}}}$, one column per step (ticks: {ticks})",
            fontsize=10,
        )

        current.clear()
        units = np.arange(H)
        current.bar(units, self.states[t - 1], color="tab:red", label=f"$h_{{{t}}}$")
        if t > 1:
            current.scatter(
                units,
                self.states[t - 2],
                marker="_",
                s=200,
                color="black",
                label=f"$h_{{{t - 1}}}$",
            )
        current.set_ylim(-1.05, 1.05)
        current.set_xlim(-0.5, H - 0.5)
        current.set_xlabel("hidden unit")
        current.legend(loc="lower right", bbox_to_anchor=(1, 1), fontsize=8, ncol=2, frameon=False)
        self.figure.tight_layout()

        caption = f"Step {t} of {T}: reads {text[t - 1]!r}"
        if self.predictions:
            caption += f", outputs {self.predictions[t - 1]!r}"
            if targets[t - 1] is not None:
                verdict = "right" if targets[t - 1] == self.predictions[t - 1] else "wrong"
                caption += f" (the answer is {targets[t - 1]!r}: {verdict})"
        caption += f"; |h_{t}| = {np.linalg.norm(self.states[t - 1]):.2f}"
        alt = (
            f"Heat map of the hidden states of the RNN for the sequence {text!r} up to "
            f"step {t}, and a bar chart of the state at step {t}"
        )
        return alt, caption


def _column_frame(column, rows):
    """A rectangle around one column of a heat map with ``rows`` rows."""
    from matplotlib.patches import Rectangle

    return Rectangle((column - 0.5, -0.5), 1, rows, fill=False, edgecolor="black", linewidth=2)
