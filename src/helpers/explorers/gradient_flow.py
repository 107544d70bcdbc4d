"""The gradient-flow explorer: how far back the gradient of a vanilla RNN and an LSTM reaches.

:class:`GradientFlowExplorer`: sliders for the spectral radius of the
recurrent matrix, the vanilla RNN's nonlinearity, the sequence length and the
LSTM's forget bias; a plot of how much the last state depends on each earlier
memory (the gradient norm against the time gap) for a vanilla RNN and an LSTM
with the same recurrent weights' scale. The numbers come from
:func:`memory_gradient_norms`. The forget bias starts at 0, PyTorch's
default, where the LSTM is no better off than the RNN.
"""

import numpy as np
import torch

from helpers.explorers._view import Explorer
from helpers.modules import lstm_update
from helpers.validation import check_choice, check_seed

__all__ = [
    "NONLINEARITIES",
    "random_recurrent_layer",
    "memory_gradient_norms",
    "GradientFlowExplorer",
]

NONLINEARITIES = ("tanh", "relu", "linear")
UNITS = ("RNN", "LSTM")


def _scaled_to_radius(matrix, radius):
    """``matrix`` (H, H) rescaled so that its spectral radius (largest |eigenvalue|) is ``radius``."""
    current = torch.linalg.eigvals(matrix).abs().max()
    return matrix * (radius / current)


def random_recurrent_layer(
    unit, *, spectral_radius, forget_bias=0.0, length=100, hidden_size=32, input_size=4, seed=0
):
    """The float64 weights, inputs and read-out direction of :func:`memory_gradient_norms`.

    Returns:
        ``(W_x (D, G H), W_h (H, G H), b (G H,), x (T, D), v (H,))`` with
        ``G = 4`` gate blocks for the LSTM (PyTorch's order i, f, g, o) and 1
        for the RNN, row-vector convention ``a_t = x_t W_x + h_{t-1} W_h + b``;
        each (H, H) block of ``W_h`` has spectral radius ``spectral_radius``,
        the LSTM's forget block of ``b`` has ``forget_bias`` added, and ``v``
        is a unit vector.
    """
    generator = torch.Generator().manual_seed(check_seed("seed", seed))

    def randn(*shape):
        return torch.randn(*shape, generator=generator, dtype=torch.float64)

    H, D = hidden_size, input_size
    gates = 4 if unit == "LSTM" else 1
    W_x = randn(D, gates * H) / D**0.5
    W_h = torch.cat(
        [_scaled_to_radius(randn(H, H), float(spectral_radius)) for _ in range(gates)], dim=1
    )
    b = 0.1 * randn(gates * H)
    if unit == "LSTM":
        b[H : 2 * H] += float(forget_bias)
    x = randn(length, D)
    v = randn(H)
    return W_x, W_h, b, x, v / v.norm()


def memory_gradient_norms(
    unit,
    *,
    spectral_radius,
    nonlinearity="tanh",
    length=100,
    forget_bias=0.0,
    hidden_size=32,
    input_size=4,
    seed=0,
):
    """How much the last state depends on each earlier memory, for a random recurrent layer.

    The layer (float64, weights drawn with ``seed``) reads ``length`` random
    inputs from a zero state. Its recurrent matrix is rescaled to
    ``spectral_radius`` (for the LSTM, each of the four gate blocks). With a
    fixed random unit vector ``v``, the function returns the norm of the
    gradient of ``v · h_T`` with respect to the memory at each step: ``h_t``
    for the vanilla RNN, the cell ``c_t`` for the LSTM. The weights are
    :func:`random_recurrent_layer`'s.

    Args:
        unit: ``"RNN"`` or ``"LSTM"``.
        spectral_radius: positive float.
        nonlinearity: the vanilla RNN's, one of :data:`NONLINEARITIES` (the
            LSTM's are fixed by its design and this is ignored).
        length: number of steps T (int >= 1).
        forget_bias: added to the LSTM's forget-gate bias (ignored for the RNN).

    Returns:
        float64 array (T,): entry ``g`` is the norm for the memory ``g`` steps
        before the last, so entry 0 is the last step itself.
    """
    check_choice("unit", unit, UNITS)
    check_choice("nonlinearity", nonlinearity, NONLINEARITIES)
    if (
        isinstance(spectral_radius, bool)
        or not isinstance(spectral_radius, (int, float))
        or not spectral_radius > 0
    ):
        raise ValueError(f"spectral_radius must be a positive number, got {spectral_radius!r}")
    for name, value in (
        ("length", length),
        ("hidden_size", hidden_size),
        ("input_size", input_size),
    ):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be an int >= 1, got {value!r}")

    W_x, W_h, b, x, v = random_recurrent_layer(
        unit,
        spectral_radius=spectral_radius,
        forget_bias=forget_bias,
        length=length,
        hidden_size=hidden_size,
        input_size=input_size,
        seed=seed,
    )
    H = hidden_size

    activation = {"tanh": torch.tanh, "relu": torch.relu, "linear": lambda a: a}[nonlinearity]
    with torch.enable_grad():  # also when called under torch.no_grad()
        # The zero start state requires a gradient so that every later state is in the graph.
        h = torch.zeros(H, dtype=torch.float64, requires_grad=True)
        c = torch.zeros(H, dtype=torch.float64, requires_grad=True)
        memories = []
        for t in range(length):
            if unit == "RNN":
                h = activation(x[t] @ W_x + h @ W_h + b)
                memory = h
            else:  # the book's LSTM step (gate order i, f, g, o); it takes W_h as (4H, H)
                h, c = lstm_update(x[t] @ W_x + b, h, c, W_h.T, None)
                memory = c
            memory.retain_grad()
            memories.append(memory)
        (v @ h).backward()
    norms = [memory.grad.norm().item() if memory.grad is not None else 0.0 for memory in memories]
    return np.array(norms[::-1])


class GradientFlowExplorer(Explorer):
    """Sliders for the spectral radius, the RNN's nonlinearity, the length and the LSTM's forget bias.

    The forget bias starts at 0, as in PyTorch's initialisation (whose biases
    are small and centred on 0): there the LSTM's cell loses its gradient about
    as fast as the vanilla RNN's state, and the slider shows that the LSTM's
    advantage at initialisation is the forget bias.

    Attributes (besides :class:`~helpers.explorers._view.Explorer`'s):
        ax: the figure's axes: one line per unit, the gradient norm against the gap.
        norms: ``{"RNN": array (T,), "LSTM": array (T,)}`` as plotted.
        controls: ``{"spectral_radius", "nonlinearity", "length", "forget_bias"}`` widgets.
    """

    def __init__(self, *, spectral_radius=1.0, nonlinearity="tanh", length=100, forget_bias=0.0):
        import ipywidgets as widgets
        from matplotlib.figure import Figure

        wide = {"description_width": "initial"}
        self.controls = {
            "spectral_radius": widgets.FloatSlider(
                value=spectral_radius,
                min=0.5,
                max=1.5,
                step=0.05,
                description="spectral radius",
                style=wide,
            ),
            "nonlinearity": widgets.Dropdown(
                options=NONLINEARITIES,
                value=nonlinearity,
                description="RNN nonlinearity",
                style=wide,
            ),
            "length": widgets.IntSlider(
                value=length, min=10, max=200, step=10, description="length T"
            ),
            "forget_bias": widgets.FloatSlider(
                value=forget_bias,
                min=0.0,
                max=5.0,
                step=0.5,
                description="LSTM forget bias",
                style=wide,
            ),
        }
        self.figure = Figure(figsize=(7, 3.6))
        self.ax = self.figure.add_subplot()
        self.norms = {}
        controls = list(self.controls.values())
        self._build([controls[:2], controls[2:]])

    def draw(self):
        """Recompute the norms from the controls and redraw the figure."""
        settings = self.settings()
        common = dict(spectral_radius=settings["spectral_radius"], length=settings["length"])
        self.norms = {
            "RNN": memory_gradient_norms("RNN", nonlinearity=settings["nonlinearity"], **common),
            "LSTM": memory_gradient_norms("LSTM", forget_bias=settings["forget_bias"], **common),
        }
        ax = self.ax
        ax.clear()
        gaps = np.arange(settings["length"])
        for unit, label in (
            ("RNN", f"vanilla RNN ({settings['nonlinearity']}), memory $h_t$"),
            ("LSTM", "LSTM, memory $c_t$"),
        ):
            # A norm of exactly 0 (a dead ReLU) has no place on a log axis.
            ax.semilogy(gaps, np.where(self.norms[unit] > 0, self.norms[unit], np.nan), label=label)
        ax.set_xlabel("time gap $T - t$")
        ax.set_ylabel(r"$\|\partial (v \cdot h_T) / \partial\, \mathrm{memory}_t\|$")
        ax.set_title(
            f"spectral radius {settings['spectral_radius']:.2f}, "
            f"LSTM forget bias {settings['forget_bias']:.1f}"
        )
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(loc="lower left")
        self.figure.tight_layout()
        alt = (
            f"Gradient norm against the time gap, log scale, for a vanilla RNN "
            f"({settings['nonlinearity']}) and an LSTM: spectral radius "
            f"{settings['spectral_radius']:.2f}, T = {settings['length']}, "
            f"LSTM forget bias {settings['forget_bias']:.1f}"
        )
        longest = settings["length"] - 1
        caption = (
            f"Gradient norm {longest} steps back: vanilla RNN "
            f"{self.norms['RNN'][longest]:.1e}, LSTM {self.norms['LSTM'][longest]:.1e}"
        )
        return alt, caption
