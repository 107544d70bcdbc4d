"""The diagrams are drawn by code: check what they draw, not how it looks."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pytest
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from helpers.plotting import draw_task_shapes, draw_unrolled_rnn, plot_gradient_norms


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def texts(ax):
    return [text.get_text() for text in ax.texts]


def count(ax, kind):
    return sum(isinstance(patch, kind) for patch in ax.patches)


@pytest.mark.parametrize("steps", [1, 3, 6])
def test_unrolled_rnn_has_one_cell_per_step(steps):
    ax = draw_unrolled_rnn(steps)
    labels = texts(ax)
    for t in range(1, steps + 1):
        assert {f"$x_{t}$", f"$h_{t}$", f"$o_{t}$"} <= set(labels)
    assert f"$x_{steps + 1}$" not in labels
    # The folded cell (3 nodes) + h_0 + three nodes per step.
    assert count(ax, FancyBboxPatch) == 3 + 1 + 3 * steps
    # The same recurrent weight labels every horizontal arrow and the loop.
    assert labels.count("$W_{hh}$") == steps + 1


def test_unrolled_rnn_with_gradients_adds_losses_and_backward_arrows():
    plain = draw_unrolled_rnn(3)
    with_gradients = draw_unrolled_rnn(3, show_gradients=True)
    assert {"$L_1$", "$L_2$", "$L_3$"} <= set(texts(with_gradients))
    assert not any(label.startswith("$L_") for label in texts(plain))
    red = [p for p in with_gradients.patches
           if isinstance(p, FancyArrowPatch) and p.get_linestyle() == "--"]
    assert len(red) == 3 * 3  # loss->output, output->state, state->previous state, per step


def test_unrolled_rnn_rejects_bad_steps():
    with pytest.raises(ValueError, match="steps"):
        draw_unrolled_rnn(0)
    with pytest.raises(TypeError, match="steps"):
        draw_unrolled_rnn(2.5)


def test_task_shapes_draw_inputs_and_outputs_where_each_shape_has_them():
    axes = draw_task_shapes()
    titles = [ax.get_title() for ax in axes]
    assert titles == ["one-to-many", "many-to-one", "many-to-many, aligned",
                      "many-to-many, unaligned"]
    boxes = [count(ax, FancyBboxPatch) for ax in axes]
    # states + inputs + outputs: 4+1+4, 4+4+1, 4+4+4, 6+3+3
    assert boxes == [9, 9, 12, 12]


def test_task_shapes_needs_four_axes():
    _, axes = plt.subplots(1, 3)
    with pytest.raises(ValueError, match="axes"):
        draw_task_shapes(axes)


def test_gradient_norm_plot_uses_the_data_and_a_log_scale():
    ax = plot_gradient_norms([0, 1, 2], [1.0, 0.1, 0.01], label="rho = 0.1")
    line = ax.get_lines()[0]
    assert list(line.get_ydata()) == [1.0, 0.1, 0.01]
    assert ax.get_yscale() == "log"
    with pytest.raises(ValueError, match="same length"):
        plot_gradient_norms([0, 1], [1.0])
    with pytest.raises(ValueError, match="scale"):
        plot_gradient_norms([0], [1.0], scale="symlog")
