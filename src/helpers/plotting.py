"""Figures drawn by code: the diagrams of the book and its recurring plots.

Every function draws on a matplotlib ``Axes`` (a new figure when ``ax`` is
None) and returns the axes, so chapters can combine panels and tests can look
at what was drawn.
"""

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch
from matplotlib.path import Path

from helpers.validation import check_choice, check_positive_int

__all__ = [
    "draw_unrolled_rnn",
    "draw_task_shapes",
    "draw_lstm_cell",
    "draw_gru_cell",
    "plot_gradient_norms",
    "draw_sequence_task",
    "draw_stacked_rnn",
    "draw_bidirectional_rnn",
    "draw_encoder_decoder",
    "plot_attention",
    "plot_accuracy_by_length",
    "plot_learning_curves",
]

# One colour per role, the same in every diagram of the book.
COLORS = {
    "input": "#dbe9f6",
    "state": "#fde3c8",
    "output": "#d9f0d3",
    "loss": "#f4cccc",
    "gradient": "#c0392b",
    "edge": "#333333",
    "gate": "#fff2cc",
    "op": "#ffffff",
    "cell": "#e67e00",
}
_BOX = 0.34  # half the width of a node, in data units


def _axes(ax, size):
    if ax is None:
        _, ax = plt.subplots(figsize=size)
    elif not isinstance(ax, Axes):
        raise TypeError(f"ax must be a matplotlib Axes or None, got {type(ax).__name__}")
    ax.set_aspect("equal")
    ax.axis("off")
    return ax


def _box(ax, x, y, text, role, width, height, fontsize=11):
    ax.add_patch(
        FancyBboxPatch(
            (x - width / 2, y - height / 2),
            width,
            height,
            boxstyle="round,pad=0.02,rounding_size=0.12",
            facecolor=COLORS[role],
            edgecolor=COLORS["edge"],
            linewidth=1.2,
        )
    )
    ax.text(x, y, text, ha="center", va="center", fontsize=fontsize)


def _node(ax, x, y, text, role, fontsize=11):
    _box(ax, x, y, text, role, 2 * _BOX, 2 * _BOX, fontsize)


def _arrow(
    ax,
    start,
    end,
    label=None,
    color=None,
    style="-|>",
    dashed=False,
    rad=0.0,
    label_offset=(0.0, 0.12),
):
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


_OP = 0.28  # radius of a pointwise operation (a circle), in data units
_LAYER = (1.9, 1.0)  # width and height of a learned layer (affine map + nonlinearity)
_LINEAR = (1.9, 0.8)  # width and height of a learned affine map alone


def _op(ax, x, y, symbol):
    ax.add_patch(
        Circle(
            (x, y), _OP, facecolor=COLORS["op"], edgecolor=COLORS["edge"], linewidth=1.2, zorder=2
        )
    )
    ax.text(x, y, symbol, ha="center", va="center", fontsize=12, zorder=3)


def _wire(ax, points, color=None, linewidth=1.3, arrow=True, gid=None):
    """A polyline through ``points``, with an arrowhead at the last one."""
    patch = FancyArrowPatch(
        path=Path(points),
        arrowstyle="-|>" if arrow else "-",
        mutation_scale=12,
        color=color or COLORS["edge"],
        linewidth=linewidth,
        joinstyle="miter",
    )
    patch.set_gid(gid)
    ax.add_patch(patch)
    return patch


def _dot(ax, x, y, color=None):
    ax.plot([x], [y], "o", markersize=4, color=color or COLORS["edge"], zorder=3)


def _tag(ax, x, y, text, ha="left", va="center", color=None, fontsize=10):
    ax.text(x, y, text, ha=ha, va=va, fontsize=fontsize, color=color or COLORS["edge"])


def _cell(ax, corner, width, height):
    """The grey outline of a recurrent cell, behind everything drawn in it."""
    ax.add_patch(
        FancyBboxPatch(
            corner,
            width,
            height,
            boxstyle="round,pad=0,rounding_size=0.4",
            facecolor="#f7f7f7",
            edgecolor="#999999",
            linewidth=1.0,
            zorder=0,
        )
    )


def _layer(ax, x, y, function, name):
    """A learned layer (affine map + nonlinearity): its function on top, its name below."""
    _box(ax, x, y, "", "gate", *_LAYER)
    ax.text(x, y + 0.18, function, ha="center", va="center", fontsize=12)
    ax.text(x, y - 0.28, name, ha="center", va="center", fontsize=7.5)


def _linear(ax, x, y, weights):
    """A learned affine map without nonlinearity (its weights written in the box)."""
    _box(ax, x, y, weights, "gate", *_LINEAR, fontsize=10)


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
        ax.text(
            first + 1.55 * (steps + 1) - 0.9,
            0.6,
            "gradients\n(backward)",
            color=COLORS["gradient"],
            fontsize=9,
            ha="left",
        )
    ax.set_xlim(-0.6, first + 1.55 * steps + (1.4 if show_gradients else 0.6))
    ax.set_ylim(-0.6, top + 0.6)
    return ax


# Which steps have an input and which have an output, per task shape.
_SHAPES = {
    "one-to-many": ([1, 0, 0, 0], [1, 1, 1, 1], "generation\n(e.g. captioning, sampling text)"),
    "many-to-one": (
        [1, 1, 1, 1],
        [0, 0, 0, 1],
        "sequence classification\n(e.g. sentiment, language of a word)",
    ),
    "many-to-many, aligned": (
        [1, 1, 1, 1],
        [1, 1, 1, 1],
        "sequence labelling, language modelling\n(one output per input)",
    ),
    "many-to-many, unaligned": (
        [1, 1, 1, 0, 0, 0],
        [0, 0, 0, 1, 1, 1],
        "sequence to sequence\n(e.g. translation)",
    ),
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


def draw_sequence_task(inputs, outputs, *, title=None, ax=None):
    """Draw an RNN unrolled over the tokens ``inputs``, with an output where one is read.

    ``outputs[t]`` is the text of the output box at step t, or ``None`` for a
    step with no output; a token ``"<pad>"`` is drawn greyed, with no state
    update (its state box is dashed). Sequence classification gives one output
    at the last real step, labelling one per step.

    Returns:
        the Axes.
    """
    if len(outputs) != len(inputs):
        raise ValueError(
            f"outputs must have one entry per input ({len(inputs)}), got {len(outputs)}"
        )
    ax = _axes(ax, (1.1 * len(inputs) + 1, 3.4))
    for t, (token, output) in enumerate(zip(inputs, outputs)):
        padding = token == "<pad>"
        _node(ax, t, 0, token, "input", fontsize=9 if len(token) > 2 else 12)
        _node(ax, t, 1.2, f"$h_{{{t + 1}}}$", "state", fontsize=10)
        if padding:
            for patch in ax.patches[-2:]:
                patch.set_alpha(0.35)
                patch.set_linestyle("--")
        _arrow(ax, (t, _BOX), (t, 1.2 - _BOX), color="#aaaaaa" if padding else None)
        if t:
            _arrow(ax, (t - 1 + _BOX, 1.2), (t - _BOX, 1.2))
        if output is not None:
            _node(ax, t, 2.4, output, "output", fontsize=9 if len(output) > 2 else 12)
            _arrow(ax, (t, 1.2 + _BOX), (t, 2.4 - _BOX))
    ax.set_xlim(-0.6, len(inputs) - 0.4)
    ax.set_ylim(-0.5, 2.9)
    if title:
        ax.set_title(title, fontsize=11)
    return ax


def draw_stacked_rnn(layers=2, steps=4, *, ax=None):
    """Draw a stack of ``layers`` recurrent layers unrolled over ``steps`` steps.

    Layer 1 reads the inputs; layer l reads the states of layer l - 1 at the
    same step (through dropout while training); every layer carries its own
    state from step to step; the top layer's states are the outputs.

    Returns:
        the Axes.
    """
    layers = check_positive_int("layers", layers)
    steps = check_positive_int("steps", steps)
    dy = 1.35
    ax = _axes(ax, (1.5 * steps + 2.0, 1.3 * (layers + 2) + 0.4))
    top = dy * (layers + 1)
    for t in range(1, steps + 1):
        x = 1.5 * t
        _node(ax, x, 0, f"$x_{t}$", "input")
        for layer in range(1, layers + 1):
            y = dy * layer
            _node(ax, x, y, f"$h^{{({layer})}}_{t}$", "state", fontsize=10)
            dropout = 1 < layer and t == steps
            _arrow(
                ax,
                (x, y - dy + _BOX),
                (x, y - _BOX),
                "dropout" if dropout else None,
                label_offset=(0.5, -0.12),
            )
            _arrow(ax, (x - 1.5 + _BOX, y), (x - _BOX, y))
        _node(ax, x, top, f"$y_{t}$", "output")
        _arrow(ax, (x, top - dy + _BOX), (x, top - _BOX))
    for layer in range(1, layers + 1):
        _node(ax, 0, dy * layer, f"$h^{{({layer})}}_0$", "state", fontsize=10)
        _tag(ax, 1.5 * steps + 0.55, dy * layer, f"layer {layer}")
    ax.set_xlim(-0.6, 1.5 * steps + 1.6)
    ax.set_ylim(-0.6, top + 0.6)
    return ax


def draw_bidirectional_rnn(tokens, *, length=None, packed=True, ax=None):
    """Draw a bidirectional RNN over ``tokens``, padded after ``length`` real ones.

    Inputs at the bottom, the forward direction (left to right) above them,
    the backward direction (right to left) above that, and at every real step
    an output that combines the two. With ``packed=True`` the backward
    direction starts from its initial state at the last real step; with
    ``packed=False`` it starts at the end of the padding and reaches the real
    steps having read it: the arrows that carry the padding in are red.

    Args:
        tokens: the input tokens, padding included (strings).
        length: the number of real tokens (all of them when ``None``).
        packed: whether the backward direction skips the padding.

    Returns:
        the Axes.
    """
    if isinstance(tokens, str) or not isinstance(tokens, (list, tuple)) or not tokens:
        raise TypeError(f"tokens must be a non-empty list of strings, got {tokens!r}")
    length = len(tokens) if length is None else check_positive_int("length", length)
    if length > len(tokens):
        raise ValueError(f"length must be at most len(tokens) = {len(tokens)}, got {length}")
    T = len(tokens)
    step, shift = 1.4, 0.3  # forward states left of their step, backward ones right of it
    ax = _axes(ax, (1.1 * T + 2.6, 4.6))
    forward_y, backward_y, output_y = 1.3, 2.6, 3.9
    red = COLORS["gradient"]
    _node(ax, -shift, forward_y, "$0$", "state")
    start = length if packed else T
    _node(ax, step * (start + 1) + shift, backward_y, "$0$", "state")
    for t in range(1, T + 1):
        x = step * t
        real = t <= length
        token = tokens[t - 1]
        _node(ax, x, 0, token, "input", fontsize=9 if len(token) > 2 else 12)
        shade = [ax.patches[-1]]
        _node(ax, x - shift, forward_y, f"$\\overrightarrow{{h}}_{{{t}}}$", "state", fontsize=10)
        shade.append(ax.patches[-1])
        _arrow(ax, (x - shift, _BOX), (x - shift, forward_y - _BOX))
        _arrow(ax, (x - step - shift + _BOX, forward_y), (x - shift - _BOX, forward_y))
        if real or not packed:
            _node(
                ax, x + shift, backward_y, f"$\\overleftarrow{{h}}_{{{t}}}$", "state", fontsize=10
            )
            if not real:
                shade.append(ax.patches[-1])
            _arrow(
                ax, (x + shift, _BOX), (x + shift, backward_y - _BOX), color=None if real else red
            )
        if t <= start:
            # the backward state arriving from the right: red where it carries padding
            carries_padding = not packed and t >= length and t < T
            _arrow(
                ax,
                (x + step + shift - _BOX, backward_y),
                (x + shift + _BOX, backward_y),
                color=red if carries_padding else None,
            )
        if real:
            _node(ax, x, output_y, f"$y_{{{t}}}$", "output")
            _arrow(ax, (x + shift, backward_y + _BOX), (x + shift, output_y - _BOX))
            _arrow(ax, (x - shift, forward_y + _BOX), (x - shift, output_y - _BOX))
        else:
            for patch in shade:
                patch.set_alpha(0.35)
                patch.set_linestyle("--")
    right = step * (T + 1) + shift + 0.6
    _tag(ax, right, forward_y, "forward")
    _tag(ax, right, backward_y, "backward")
    ax.set_xlim(-shift - 0.6, right + 1.3)
    ax.set_ylim(-0.6, output_y + 0.6)
    return ax


def draw_lstm_cell(ax=None, *, highlight_cell_path=True):
    """Draw one LSTM cell: the cell state along the top, the four gates below.

    The cell state runs straight through the cell from :math:`c_{t-1}` to
    :math:`c_t`, touched only by a multiply (the forget gate :math:`f_t`) and an
    add (:math:`i_t \\odot g_t`): that additive path is why gradients survive in
    an LSTM, since :math:`\\partial c_t / \\partial c_{t-1} = \\mathrm{diag}(f_t)`.
    With ``highlight_cell_path=True`` (the default) it is drawn thick, in
    ``COLORS["cell"]``, with that Jacobian written above it; its segments carry
    the gid ``"cell-path"`` either way.

    The previous hidden state :math:`h_{t-1}` enters at the bottom left and is
    concatenated with the input :math:`x_t`; the concatenation feeds four
    layers, each an affine map followed by :math:`\\sigma` (the gates
    :math:`i_t, f_t, o_t`) or :math:`\\tanh` (the candidate :math:`g_t`). Their
    weights are stacked in PyTorch's order :math:`i, f, g, o`; the picture puts
    them left to right in the order the cell uses them, :math:`f, i, g, o`.
    :math:`h_t = o_t \\odot \\tanh(c_t)` leaves to the right (the next step) and
    upward (the output of the layer).

    Blue (input), orange (states) and green (output) keep their roles from the
    other diagrams; yellow boxes are learned layers, white shapes pointwise
    operations.

    Args:
        ax: the matplotlib Axes to draw on; None draws on a new (8, 4.5) figure.
        highlight_cell_path: whether to draw the cell path thick and coloured.

    Returns:
        The Axes drawn on.
    """
    if not isinstance(highlight_cell_path, bool):
        raise TypeError(f"highlight_cell_path must be True or False, got {highlight_cell_path!r}")
    ax = _axes(ax, (8, 4.5))
    top, bus, gates, mix = 7.5, 1.5, 3.4, 5.5
    below, above = gates - _LAYER[1] / 2, gates + _LAYER[1] / 2  # a layer's bottom and top
    x_f, x_i, x_g, x_o, x_out = 3.2, 5.5, 7.8, 10.3, 12.3
    x_in, x_ct, x_split, x_ht = 2.2, 15.3, 16.4, 17.6
    y_in, y_tanh, y_out, y_ht = -0.5, 6.45, 4.6, 8.9
    w, h = 1.2, 0.7  # the state and input nodes

    # The cell and what enters it.
    _cell(ax, (1.1, 0.8), 13.3, 7.5)
    _box(ax, 0.0, top, r"$c_{t-1}$", "state", w, h)
    _box(ax, 0.0, bus, r"$h_{t-1}$", "state", w, h)
    _box(ax, x_in, y_in, r"$x_t$", "input", w, h)

    # The cell path: c_{t-1} -> (x f_t) -> (+ i_t g_t) -> c_t.
    cell = COLORS["cell"] if highlight_cell_path else COLORS["edge"]
    width = 3.5 if highlight_cell_path else 1.3
    _op(ax, x_f, top, r"$\times$")
    _op(ax, x_g, top, "$+$")
    for start, end in [(w / 2, x_f - _OP), (x_f + _OP, x_g - _OP), (x_g + _OP, x_ct - w / 2)]:
        _wire(ax, [(start, top), (end, top)], color=cell, linewidth=width, gid="cell-path")
    _box(ax, x_ct, top, r"$c_t$", "state", w, h)
    if highlight_cell_path:
        _tag(
            ax,
            (x_f + x_g) / 2,
            top + 0.15,
            "cell state",
            ha="center",
            va="bottom",
            color=cell,
            fontsize=9,
        )
        _tag(
            ax,
            7.7,
            8.45,
            r"cell path: $\partial c_t / \partial c_{t-1} = \mathrm{diag}(f_t)$",
            ha="center",
            va="bottom",
            color=cell,
        )

    # [h_{t-1}, x_t] feeds the four layers.
    _wire(ax, [(w / 2, bus), (x_o, bus)], arrow=False)
    _wire(ax, [(x_in, y_in + h / 2), (x_in, bus)], arrow=False)
    _dot(ax, x_in, bus)
    _tag(ax, (x_f + x_i) / 2, bus - 0.15, r"$[h_{t-1}, x_t]$", ha="center", va="top", fontsize=9)
    for x in (x_f, x_i, x_g):
        _dot(ax, x, bus)
    for x in (x_f, x_i, x_g, x_o):
        _wire(ax, [(x, bus), (x, below)])
    _layer(ax, x_f, gates, r"$\sigma$", "forget")
    _layer(ax, x_i, gates, r"$\sigma$", "input")
    _layer(ax, x_g, gates, r"$\tanh$", "candidate")
    _layer(ax, x_o, gates, r"$\sigma$", "output")

    # f_t scales the old cell state; i_t * g_t is added to it.
    _wire(ax, [(x_f, above), (x_f, top - _OP)])
    _tag(ax, x_f + 0.1, mix, r"$f_t$")
    _op(ax, x_g, mix, r"$\times$")
    _wire(ax, [(x_i, above), (x_i, mix), (x_g - _OP, mix)])
    _tag(ax, (x_i + x_g) / 2 - 0.1, mix + 0.08, r"$i_t$", ha="center", va="bottom")
    _wire(ax, [(x_g, above), (x_g, mix - _OP)])
    _tag(ax, x_g + 0.1, (above + mix - _OP) / 2, r"$g_t$")
    _wire(ax, [(x_g, mix + _OP), (x_g, top - _OP)])
    _tag(ax, x_g + 0.1, (mix + top) / 2, r"$i_t \odot g_t$")

    # h_t = o_t * tanh(c_t), to the next step (right) and to the output (up).
    _dot(ax, x_out, top, color=cell)
    _box(ax, x_out, y_tanh, r"$\tanh$", "op", 1.2, 0.5, fontsize=10)
    _wire(ax, [(x_out, top), (x_out, y_tanh + 0.25)])
    _op(ax, x_out, y_out, r"$\times$")
    _wire(ax, [(x_out, y_tanh - 0.25), (x_out, y_out + _OP)])
    _wire(ax, [(x_o, above), (x_o, y_out), (x_out - _OP, y_out)])
    _tag(ax, (x_o + x_out) / 2 - 0.1, y_out + 0.08, r"$o_t$", ha="center", va="bottom")
    _wire(ax, [(x_out, y_out - _OP), (x_out, bus), (x_split, bus)], arrow=False)
    _tag(ax, x_out + 0.12, 2.9, r"$o_t \odot \tanh(c_t)$", fontsize=9)
    _dot(ax, x_split, bus)
    _wire(ax, [(x_split, bus), (x_ht - w / 2, bus)])
    _box(ax, x_ht, bus, r"$h_t$", "state", w, h)
    _wire(ax, [(x_split, bus), (x_split, y_ht - h / 2)])
    _box(ax, x_split, y_ht, r"$h_t$", "output", w, h)

    ax.set_xlim(-0.8, x_ht + 0.8)
    ax.set_ylim(-1.1, 9.5)
    return ax


_GRU_CONVENTIONS = ("pytorch", "textbook")


def draw_gru_cell(ax=None, convention="pytorch"):
    """Draw one GRU cell in PyTorch's or the textbook's convention.

    The hidden state runs along the top from :math:`h_{t-1}` to :math:`h_t`;
    :math:`[h_{t-1}, x_t]` feeds the reset gate :math:`r_t` and the update gate
    :math:`z_t` (affine map + :math:`\\sigma`), and the candidate is
    :math:`\\tanh` of the input part plus the reset recurrent part. Weights use
    the book's row-vector notation (:math:`W_{hn}` is the transpose of the
    :math:`n` block of PyTorch's ``weight_hh_l0``). The two conventions are
    different functions, and the picture shows where they differ:

    ``convention="pytorch"`` (``torch.nn.GRU``): the reset gate multiplies the
    recurrent product, after :math:`W_{hn}`, and the candidate is called
    :math:`n_t`::

        n_t = tanh(x_t W_in + b_in + r_t * (h_{t-1} W_hn + b_hn))
        h_t = (1 - z_t) * n_t + z_t * h_{t-1}

    ``convention="textbook"`` (the form of Chung et al. 2014): the reset gate multiplies :math:`h_{t-1}` before
    :math:`W_{hn}`, the candidate is :math:`\\tilde h_t` and the roles of
    :math:`z_t` and :math:`1 - z_t` are swapped::

        h~_t = tanh(x_t W_in + b_in + (r_t * h_{t-1}) W_hn)
        h_t = (1 - z_t) * h_{t-1} + z_t * h~_t

    The two equations of the chosen convention are written under the cell.
    Colours as in :func:`draw_lstm_cell`.

    Args:
        ax: the matplotlib Axes to draw on; None draws on a new (8, 4.5) figure.
        convention: ``"pytorch"`` or ``"textbook"``.

    Returns:
        The Axes drawn on.
    """
    check_choice("convention", convention, _GRU_CONVENTIONS)
    pytorch = convention == "pytorch"
    ax = _axes(ax, (8, 4.5))
    top, bus, gates, chain, mix = 7.2, 1.0, 2.4, 3.9, 5.4
    below, above = gates - _LAYER[1] / 2, gates + _LAYER[1] / 2  # a layer's bottom and top
    x_split, x_in, x_z, x_r, x_h, x_x, x_n, x_ht = 1.3, 2.3, 3.6, 5.8, 8.2, 10.7, 13.2, 15.6
    half_w, half_h = _LINEAR[0] / 2, _LINEAR[1] / 2
    y_in = -0.5
    one_w, one_h = 1.0, 0.45  # the "1 -" box
    w, h = 1.2, 0.7  # the state and input nodes
    candidate = "$n_t$" if pytorch else r"$\tilde h_t$"

    _cell(ax, (0.9, 0.4), 13.5, 7.4)
    _box(ax, 0.0, top, r"$h_{t-1}$", "state", w, h)
    _box(ax, x_in, y_in, r"$x_t$", "input", w, h)

    # The hidden state along the top: h_t = (coefficient) h_{t-1} + (coefficient) candidate.
    _op(ax, x_z, top, r"$\times$")
    _op(ax, x_n, top, "$+$")
    _wire(ax, [(w / 2, top), (x_z - _OP, top)])
    _dot(ax, x_split, top)
    _wire(ax, [(x_z + _OP, top), (x_n - _OP, top)])
    _wire(ax, [(x_n + _OP, top), (x_ht - w / 2, top)])
    _box(ax, x_ht, top, r"$h_t$", "state", w, h)

    # [h_{t-1}, x_t] along the bottom feeds the gates and the candidate.
    _wire(ax, [(x_split, top), (x_split, bus), (x_x, bus)], arrow=False)
    _wire(ax, [(x_in, y_in + h / 2), (x_in, bus)], arrow=False)
    _dot(ax, x_in, bus)
    _tag(ax, x_in + 0.15, bus - 0.15, r"$[h_{t-1}, x_t]$", va="top", fontsize=9)
    for x in (x_z, x_r, x_h):
        _dot(ax, x, bus)
    _layer(ax, x_z, gates, r"$\sigma$", "update")
    _layer(ax, x_r, gates, r"$\sigma$", "reset")
    for x in (x_z, x_r):
        _wire(ax, [(x, bus), (x, below)])

    # The update gate: z_t weighs h_{t-1} (PyTorch) or the candidate (textbook).
    _dot(ax, x_z, mix)
    _wire(ax, [(x_z, above), (x_z, mix)], arrow=False)
    if pytorch:  # 1 - z_t on the way to the candidate
        _wire(ax, [(x_z, mix), (x_z, top - _OP)])
        _tag(ax, x_z + 0.1, (mix + top) / 2, "$z_t$")
        x_one = 5.0
        _box(ax, x_one, mix, r"$1-$", "op", one_w, one_h, fontsize=10)
        _wire(ax, [(x_z, mix), (x_one - one_w / 2, mix)])
        _wire(ax, [(x_one + one_w / 2, mix), (x_n - _OP, mix)])
        _tag(ax, (x_one + one_w / 2 + x_n) / 2, mix + 0.08, "$1 - z_t$", ha="center", va="bottom")
    else:  # 1 - z_t on the way to h_{t-1}
        y_one = 6.2
        _box(ax, x_z, y_one, r"$1-$", "op", one_w, one_h, fontsize=10)
        _wire(ax, [(x_z, mix), (x_z, y_one - one_h / 2)])
        _wire(ax, [(x_z, y_one + one_h / 2), (x_z, top - _OP)])
        _tag(ax, x_z - one_w / 2 - 0.2, y_one, "$1 - z_t$", ha="right")
        _wire(ax, [(x_z, mix), (x_n - _OP, mix)])
        _tag(ax, (x_z + x_n) / 2, mix + 0.08, "$z_t$", ha="center", va="bottom")

    # The reset gate: after the recurrent product (PyTorch) or before it (textbook).
    _op(ax, x_h, chain if pytorch else gates, r"$\times$")
    if pytorch:
        _linear(ax, x_h, gates, r"$W_{hn},\ b_{hn}$")
        _wire(ax, [(x_h, bus), (x_h, gates - half_h)])
        _wire(ax, [(x_h, gates + half_h), (x_h, chain - _OP)])
        _wire(ax, [(x_r, above), (x_r, chain), (x_h - _OP, chain)])
        _tag(ax, (x_r + x_h) / 2, chain + 0.08, "$r_t$", ha="center", va="bottom")
    else:
        _linear(ax, x_h, chain, r"$W_{hn}$")
        _wire(ax, [(x_h, bus), (x_h, gates - _OP)])
        _wire(ax, [(x_h, gates + _OP), (x_h, chain - half_h)])
        _wire(ax, [(x_r + _LAYER[0] / 2, gates), (x_h - _OP, gates)])
        _tag(
            ax,
            (x_r + _LAYER[0] / 2 + x_h - _OP) / 2,
            gates + 0.08,
            "$r_t$",
            ha="center",
            va="bottom",
        )
    _tag(ax, x_h + 0.15, (bus + gates) / 2 - 0.2, r"$h_{t-1}$", fontsize=9)

    # The candidate: tanh of the input part plus the (reset) recurrent part.
    _dot(ax, x_h, bus)
    _linear(ax, x_x, gates, r"$W_{in},\ b_{in}$")
    _wire(ax, [(x_x, bus), (x_x, gates - half_h)])
    _tag(ax, x_x + 0.15, (bus + gates) / 2 - 0.2, "$x_t$", fontsize=9)
    _op(ax, x_x, chain, "$+$")
    _wire(ax, [(x_x, gates + half_h), (x_x, chain - _OP)])
    _wire(ax, [(x_h + (_OP if pytorch else half_w), chain), (x_x - _OP, chain)])
    _box(ax, x_n, chain, r"$\tanh$", "op", 1.2, 0.5, fontsize=10)
    _wire(ax, [(x_x + _OP, chain), (x_n - 0.6, chain)])
    _op(ax, x_n, mix, r"$\times$")
    _wire(ax, [(x_n, chain + 0.25), (x_n, mix - _OP)])
    _tag(ax, x_n + 0.1, (chain + mix) / 2, candidate)
    _wire(ax, [(x_n, mix + _OP), (x_n, top - _OP)])

    if pytorch:
        equations = (
            r"PyTorch: reset after the product, $n_t = \tanh(x_t W_{in} + b_{in}"
            r" + r_t \odot (h_{t-1} W_{hn} + b_{hn}))$",
            r"$h_t = (1 - z_t) \odot n_t + z_t \odot h_{t-1}$",
        )
    else:
        equations = (
            r"Chung et al.: reset before the product, $\tilde h_t = \tanh(x_t W_{in}"
            r" + b_{in} + (r_t \odot h_{t-1}) W_{hn})$",
            r"$h_t = (1 - z_t) \odot h_{t-1} + z_t \odot \tilde h_t$",
        )
    _tag(ax, 7.6, -1.1, "\n".join(equations), ha="center", va="top")

    ax.set_xlim(-0.8, 16.4)
    ax.set_ylim(-2.5, 8.0)
    return ax


def plot_gradient_norms(gaps, norms, *, label=None, ax=None, scale="log"):
    """Plot gradient norms against the time gap they travelled.

    ``gaps`` and ``norms`` are equal-length sequences; ``scale`` is ``"log"``
    (the natural scale: vanishing and exploding are exponential in the gap) or
    ``"linear"``.
    """
    check_choice("scale", scale, ("log", "linear"))
    if len(gaps) != len(norms):
        raise ValueError(
            f"gaps and norms must have the same length, got {len(gaps)} and {len(norms)}"
        )
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


def draw_encoder_decoder(source, target, *, weights=None, step=None, ax=None):
    """Draw an encoder-decoder unrolled over ``source`` and ``target`` tokens.

    The encoder (left) reads the source into states ``h_1 .. h_S``; the
    decoder (right) starts from ``<bos>`` and writes the target tokens. Without
    ``weights``, one context vector ``c = h_S`` feeds every decoder step (the
    bottleneck). With ``weights`` ``(T, S)`` (an attention map: one row per
    output token, summing to 1), the context of decoder step ``step``
    (0-based) is drawn as lines from every encoder state, as thick as their
    weights.

    Returns:
        the Axes.
    """
    S, T = len(source), len(target)
    if S == 0 or T == 0:
        raise ValueError(f"source and target must hold at least one token, got {S} and {T}")
    if weights is not None:
        weights = np.asarray(weights, dtype=float)
        if weights.shape != (T, S):
            raise ValueError(f"weights must have shape (T, S) = ({T}, {S}), got {weights.shape}")
        step = 0 if step is None else step
        if isinstance(step, bool) or not isinstance(step, int) or not 0 <= step < T:
            raise ValueError(f"step must be an int in 0..{T - 1}, got {step!r}")
    elif step is not None:
        raise ValueError("step says which decoder step's attention to draw: pass weights too")
    gap = 1.6
    ax = _axes(ax, (1.05 * (S + T) + 2.5, 4.2))
    for s, token in enumerate(source):
        _node(ax, s, 0, token, "input", fontsize=8 if len(token) > 3 else 10)
        _node(ax, s, 1.3, f"$h_{{{s + 1}}}$", "state", fontsize=10)
        _arrow(ax, (s, _BOX), (s, 1.3 - _BOX))
        if s:
            _arrow(ax, (s - 1 + _BOX, 1.3), (s - _BOX, 1.3))
    start = S - 1 + gap
    inputs = ["<bos>", *target[:-1]]
    for t, (token, output) in enumerate(zip(inputs, target)):
        x = start + t
        _node(ax, x, 0, token, "input", fontsize=7 if len(token) > 3 else 10)
        _node(ax, x, 1.3, f"$s_{{{t + 1}}}$", "state", fontsize=10)
        _node(ax, x, 2.6, output, "output", fontsize=7 if len(output) > 3 else 10)
        _arrow(ax, (x, _BOX), (x, 1.3 - _BOX))
        _arrow(ax, (x, 1.3 + _BOX), (x, 2.6 - _BOX))
        # the first decoder state starts from the encoder's final state
        _arrow(ax, (x - (gap if t == 0 else 1) + _BOX, 1.3), (x - _BOX, 1.3))
    if weights is None:
        cx, cy = (S - 1 + start) / 2, 3.6
        _node(ax, cx, cy, "$c$", "state")
        _arrow(ax, (S - 1, 1.3 + _BOX), (cx - _BOX, cy), dashed=False)
        for t in range(T):
            _arrow(
                ax,
                (cx + _BOX, cy),
                (start + t - _BOX, 1.3 + 0.6 * _BOX),
                color="#888888",
                dashed=True,
            )
        _tag(ax, cx, cy + 0.55, "one context vector for every step", ha="center", fontsize=9)
        top = cy + 0.9
    else:
        cx, cy = start + step, 3.9
        _node(ax, cx, cy, f"$c_{{{step + 1}}}$", "state")
        _arrow(ax, (cx, cy - _BOX), (cx - 0.2, 1.3 + _BOX), color=COLORS["cell"])
        for s in range(S):
            width = 0.3 + 6 * weights[step, s]
            ax.plot(
                [s, cx - _BOX],
                [1.3 + _BOX, cy],
                color=COLORS["cell"],
                linewidth=width,
                alpha=0.3 + 0.7 * weights[step, s],
                solid_capstyle="round",
            )
        _tag(ax, cx + 0.5, cy, f"attention of step {step + 1}", fontsize=9)
        top = cy + 0.6
    _tag(ax, (S - 1) / 2, -0.8, "encoder", ha="center")
    _tag(ax, start + (T - 1) / 2, -0.8, "decoder", ha="center")
    ax.set_xlim(-0.6, start + T + 1.2)
    ax.set_ylim(-1.1, top)
    return ax


def plot_attention(weights, source, target, *, ax=None, title=None):
    """Heat map of an attention map: one row per output token, one column per source token.

    Args:
        weights: ``(T, S)`` array or tensor, each row summing to 1.
        source, target: the S source tokens and the T output tokens.

    Returns:
        the Axes.
    """
    weights = np.asarray(
        weights.detach().cpu() if hasattr(weights, "detach") else weights, dtype=float
    )
    if weights.ndim != 2 or weights.shape != (len(target), len(source)):
        raise ValueError(
            f"weights must have shape (len(target), len(source)) = "
            f"({len(target)}, {len(source)}), got {weights.shape}"
        )
    if ax is None:
        _, ax = plt.subplots(figsize=(0.45 * len(source) + 1.5, 0.4 * len(target) + 1.4))
    elif not isinstance(ax, Axes):
        raise TypeError(f"ax must be a matplotlib Axes or None, got {type(ax).__name__}")
    ax.imshow(weights, cmap="Greys", vmin=0, vmax=1, aspect="auto")
    ax.set_xticks(range(len(source)), source, rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(len(target)), target, fontsize=9)
    ax.set_xlabel("source word")
    ax.set_ylabel("output")
    if title:
        ax.set_title(title, fontsize=10)
    return ax


def plot_accuracy_by_length(curves, *, ax=None, xlabel="source length (words)"):
    """Exact-match accuracy against source length, one line per model.

    Args:
        curves: dict ``label -> (lengths, accuracies)`` (for example from
            :func:`helpers.seq2seq.exact_match_by_length`).

    Returns:
        the Axes.
    """
    if not isinstance(curves, dict) or not curves:
        raise TypeError("curves must be a non-empty dict label -> (lengths, accuracies)")
    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 3.8))
    for label, (lengths, accuracies) in curves.items():
        if len(lengths) != len(accuracies):
            raise ValueError(
                f"curves[{label!r}]: {len(lengths)} lengths but {len(accuracies)} accuracies"
            )
        ax.plot(lengths, accuracies, marker="o", markersize=4, label=label)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("exact match")
    ax.set_ylim(-0.02, 1.02)
    ax.grid(True, alpha=0.3)
    ax.legend()
    return ax


def _curve_pair(label, curve):
    """``(train, validation, best_epoch)`` of a History or of a dict of lists."""
    from helpers.training import History  # imported here: plotting does not need training

    if isinstance(curve, History):
        columns = curve.columns()
        train = curve["train_loss"] if "train_loss" in columns else None
        validation = curve["val_loss"] if "val_loss" in columns else None
        return train, validation, curve.best_epoch
    if isinstance(curve, dict) and set(curve) <= {"train", "validation", "best_epoch"}:
        return curve.get("train"), curve.get("validation"), curve.get("best_epoch")
    raise TypeError(
        f"curves[{label!r}] must be a helpers.training.History or a dict with "
        f"'train' and/or 'validation' lists (and optionally 'best_epoch'), "
        f"got {type(curve).__name__}"
    )


def plot_learning_curves(curves, *, ax=None, ylabel="loss", baselines=None, logy=False):
    """Training (dashed) and validation (solid) curves per epoch, one colour per model.

    The evidence that a compared model was trained to its criterion: where its
    validation curve flattened or turned, and which epoch was kept (a dot, when
    early stopping restored the best epoch).

    Args:
        curves: dict ``label -> History`` (from :func:`helpers.training.train`)
            or ``label -> {"train": [...], "validation": [...], "best_epoch": k}``,
            either list optional; epochs count from 1.
        ax: where to draw (a new figure when None).
        ylabel: what the curves measure.
        baselines: optional dict ``label -> value``, drawn as dotted horizontal
            lines (a counting model, always answering the mean, ...).
        logy: a logarithmic y axis.

    Returns:
        the Axes.
    """
    if not isinstance(curves, dict) or not curves:
        raise TypeError(
            "curves must be a non-empty dict label -> History or "
            "{'train': [...], 'validation': [...]}"
        )
    if baselines is not None and not isinstance(baselines, dict):
        raise TypeError(f"baselines must be a dict label -> value, got {type(baselines).__name__}")
    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 3.8))
    for index, (label, curve) in enumerate(curves.items()):
        color = f"C{index % 10}"
        train, validation, best = _curve_pair(label, curve)
        if train is None and validation is None:
            raise ValueError(f"curves[{label!r}] has neither a training nor a validation curve")
        if train is not None:
            ax.plot(
                range(1, len(train) + 1),
                train,
                "--",
                color=color,
                alpha=0.7,
                label=f"{label}, training",
            )
        if validation is not None:
            ax.plot(
                range(1, len(validation) + 1),
                validation,
                "-",
                color=color,
                label=f"{label}, validation",
            )
            if best is not None:
                if not 1 <= best <= len(validation):
                    raise ValueError(
                        f"curves[{label!r}]: best_epoch {best} is outside the "
                        f"{len(validation)} epochs"
                    )
                ax.plot([best], [validation[best - 1]], "o", color=color, markersize=6)
    for label, value in (baselines or {}).items():
        ax.axhline(value, color="0.4", linestyle=":", linewidth=1.2)
        ax.annotate(
            label,
            (1, value),
            xycoords=("axes fraction", "data"),
            xytext=(-4, 3),
            textcoords="offset points",
            ha="right",
            va="bottom",
            fontsize=8,
            color="0.3",
        )
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel("epoch")
    ax.set_ylabel(ylabel)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    return ax
