"""Figures drawn by code: the diagrams of the book and its recurring plots.

Every function draws on a matplotlib ``Axes`` (a new figure when ``ax`` is
None) and returns the axes, so chapters can combine panels and tests can look
at what was drawn.
"""

import matplotlib.pyplot as plt
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from helpers.validation import check_choice, check_positive_int

__all__ = ["draw_unrolled_rnn", "draw_task_shapes", "plot_gradient_norms"]

# One colour per role, the same in every diagram of the book.
COLORS = {
    "input": "#dbe9f6",
    "state": "#fde3c8",
    "output": "#d9f0d3",
    "loss": "#f4cccc",
    "gradient": "#c0392b",
    "edge": "#333333",
}
_BOX = 0.34  # half the width of a node, in data units


def _axes(ax, size):
    if ax is None:
        _, ax = plt.subplots(figsize=size)
    ax.set_aspect("equal")
    ax.axis("off")
    return ax


def _node(ax, x, y, text, role, fontsize=11):
    ax.add_patch(
        FancyBboxPatch(
            (x - _BOX, y - _BOX),
            2 * _BOX,
            2 * _BOX,
            boxstyle="round,pad=0.02,rounding_size=0.12",
            facecolor=COLORS[role],
            edgecolor=COLORS["edge"],
            linewidth=1.2,
        )
    )
    ax.text(x, y, text, ha="center", va="center", fontsize=fontsize)


def _arrow(ax, start, end, label=None, color=None, style="-|>", dashed=False, rad=0.0,
           label_offset=(0.0, 0.12)):
    color = color or COLORS["edge"]
    ax.add_patch(
        FancyArrowPatch(
            start,
            end,
            arrowstyle=style,
            mutation_scale=12,
            color=color,
            linewidth=1.3,
            linestyle="--" if dashed else "-",
            connectionstyle=f"arc3,rad={rad}",
            shrinkA=0,
            shrinkB=0,
        )
    )
    if label:
        mid_x = (start[0] + end[0]) / 2 + label_offset[0]
        mid_y = (start[1] + end[1]) / 2 + label_offset[1]
        ax.text(mid_x, mid_y, label, ha="center", va="bottom", fontsize=9, color=color)


def draw_unrolled_rnn(steps=4, *, show_gradients=False, ax=None):
    """Draw an RNN folded (left) and unrolled over ``steps`` time steps (right).

    Inputs :math:`x_t` at the bottom, states :math:`h_t` in the middle, outputs
    :math:`o_t` on top, each arrow labelled with the weight it applies; the same
    three weights appear at every step. With ``show_gradients=True`` the
    unrolled part also shows the backward pass: a loss :math:`L_t` above every
    output and dashed red arrows for the gradients, which reach :math:`h_t`
    from :math:`L_t` and from :math:`h_{t+1}`.
    """
    steps = check_positive_int("steps", steps)
    top = 4.1 if show_gradients else 3.0
    ax = _axes(ax, (2.3 + 1.55 * steps, 1.2 + top))

    # Folded: one cell with a loop on itself.
    _node(ax, 0, 0, "$x_t$", "input")
    _node(ax, 0, 1.5, "$h_t$", "state")
    _node(ax, 0, 3.0, "$o_t$", "output")
    _arrow(ax, (0, _BOX), (0, 1.5 - _BOX), "$W_{xh}$", label_offset=(0.3, -0.1))
    _arrow(ax, (0, 1.5 + _BOX), (0, 3.0 - _BOX), "$W_{hy}$", label_offset=(0.3, -0.1))
    _arrow(ax, (0.12, 1.5 + _BOX), (_BOX, 1.45), rad=-1.9)
    ax.text(0.72, 1.9, "$W_{hh}$", ha="left", va="center", fontsize=9)
    ax.text(1.6, 1.5, "=", ha="center", va="center", fontsize=18)

    # Unrolled: the same cell at every step, h_{t-1} feeding h_t.
    first = 2.4
    _node(ax, first, 1.5, "$h_0$", "state")
    for t in range(1, steps + 1):
        x = first + 1.55 * t
        _node(ax, x, 0, f"$x_{t}$", "input")
        _node(ax, x, 1.5, f"$h_{t}$", "state")
        _node(ax, x, 3.0, f"$o_{t}$", "output")
        _arrow(ax, (x, _BOX), (x, 1.5 - _BOX), "$W_{xh}$", label_offset=(0.3, -0.1))
        _arrow(ax, (x, 1.5 + _BOX), (x, 3.0 - _BOX), "$W_{hy}$", label_offset=(0.3, -0.1))
        _arrow(ax, (x - 1.55 + _BOX, 1.5), (x - _BOX, 1.5), "$W_{hh}$", label_offset=(0, 0.04))
        if show_gradients:
            _node(ax, x, 4.2, f"$L_{t}$", "loss")
            _arrow(ax, (x, 3.0 + _BOX), (x, 4.2 - _BOX))
            red = COLORS["gradient"]
            _arrow(ax, (x + 0.2, 4.2 - _BOX), (x + 0.2, 3.0 + _BOX), color=red, dashed=True)
            _arrow(ax, (x + 0.2, 3.0 - _BOX), (x + 0.2, 1.5 + _BOX), color=red, dashed=True)
            _arrow(ax, (x - _BOX, 1.35), (x - 1.55 + _BOX, 1.35), color=red, dashed=True)
    if show_gradients:
        ax.text(first + 1.55 * (steps + 1) - 0.9, 0.6, "gradients\n(backward)",
                color=COLORS["gradient"], fontsize=9, ha="left")
    ax.set_xlim(-0.6, first + 1.55 * steps + (1.4 if show_gradients else 0.6))
    ax.set_ylim(-0.6, top + 0.6)
    return ax


# Which steps have an input and which have an output, per task shape.
_SHAPES = {
    "one-to-many": ([1, 0, 0, 0], [1, 1, 1, 1], "generation\n(e.g. captioning, sampling text)"),
    "many-to-one": ([1, 1, 1, 1], [0, 0, 0, 1], "sequence classification\n(e.g. sentiment, language of a word)"),
    "many-to-many, aligned": ([1, 1, 1, 1], [1, 1, 1, 1], "sequence labelling, language modelling\n(one output per input)"),
    "many-to-many, unaligned": ([1, 1, 1, 0, 0, 0], [0, 0, 0, 1, 1, 1], "sequence to sequence\n(e.g. translation)"),
}


def draw_task_shapes(axes=None):
    """Draw the four ways an RNN maps inputs to outputs, one panel each.

    Blue boxes are inputs, orange the recurrent state, green the outputs; the
    state is carried left to right by the same weights in every panel.
    """
    if axes is None:
        _, axes = plt.subplots(1, len(_SHAPES), figsize=(16, 3.6))
    if len(axes) != len(_SHAPES):
        raise ValueError(f"axes must hold {len(_SHAPES)} Axes, got {len(axes)}")
    widest = max(len(inputs) for inputs, _, _ in _SHAPES.values())
    for ax, (title, (inputs, outputs, uses)) in zip(axes, _SHAPES.items()):
        ax.set_aspect("equal")
        ax.axis("off")
        for t, (has_input, has_output) in enumerate(zip(inputs, outputs)):
            x = 1.0 * t + (widest - len(inputs)) / 2  # same scale in every panel
            _node(ax, x, 1.2, "", "state", fontsize=8)
            if has_input:
                _node(ax, x, 0, "", "input")
                _arrow(ax, (x, _BOX), (x, 1.2 - _BOX))
            if has_output:
                _node(ax, x, 2.4, "", "output")
                _arrow(ax, (x, 1.2 + _BOX), (x, 2.4 - _BOX))
            if t:
                _arrow(ax, (x - 1.0 + _BOX, 1.2), (x - _BOX, 1.2))
        ax.set_title(title, fontsize=11)
        ax.text((widest - 1) / 2, -0.75, uses, ha="center", va="top", fontsize=9)
        ax.set_xlim(-0.6, widest - 0.4)
        ax.set_ylim(-1.7, 2.9)
    return axes


def plot_gradient_norms(gaps, norms, *, label=None, ax=None, scale="log"):
    """Plot gradient norms against the time gap they travelled.

    ``gaps`` and ``norms`` are equal-length sequences; ``scale`` is ``"log"``
    (the natural scale: vanishing and exploding are exponential in the gap) or
    ``"linear"``.
    """
    check_choice("scale", scale, ("log", "linear"))
    if len(gaps) != len(norms):
        raise ValueError(f"gaps and norms must have the same length, got {len(gaps)} and {len(norms)}")
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4))
    ax.plot(gaps, norms, marker="o", markersize=3, label=label)
    ax.set_yscale(scale)
    ax.set_xlabel(r"time gap $t - k$")
    ax.set_ylabel(r"$\|\partial h_t / \partial h_k\|$")
    ax.grid(True, which="both", alpha=0.3)
    if label is not None:
        ax.legend()
    return ax
