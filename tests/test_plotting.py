"""The diagrams are drawn by code: check what they draw, not how it looks."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pytest
from matplotlib.axes import Axes
from matplotlib.colors import same_color
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from helpers.plotting import (
    COLORS,
    draw_gru_cell,
    draw_lstm_cell,
    draw_task_shapes,
    draw_unrolled_rnn,
    plot_gradient_norms,
)


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
    red = [
        p
        for p in with_gradients.patches
        if isinstance(p, FancyArrowPatch) and p.get_linestyle() == "--"
    ]
    assert len(red) == 3 * 3  # loss->output, output->state, state->previous state, per step


def test_unrolled_rnn_rejects_bad_steps():
    with pytest.raises(ValueError, match="steps"):
        draw_unrolled_rnn(0)
    with pytest.raises(TypeError, match="steps"):
        draw_unrolled_rnn(2.5)


def test_task_shapes_draw_inputs_and_outputs_where_each_shape_has_them():
    axes = draw_task_shapes()
    titles = [ax.get_title() for ax in axes]
    assert titles == [
        "one-to-many",
        "many-to-one",
        "many-to-many, aligned",
        "many-to-many, unaligned",
    ]
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


def cell_path(ax):
    return [p for p in ax.patches if p.get_gid() == "cell-path"]


def assert_readable(ax):
    """No two labels overlap and nothing is cut off by the axes' limits."""
    figure = ax.figure
    figure.canvas.draw()
    renderer = figure.canvas.get_renderer()
    inside = ax.bbox
    labels = [(t.get_text(), t.get_window_extent(renderer)) for t in ax.texts if t.get_text()]
    for i, (first, box) in enumerate(labels):
        for second, other in labels[i + 1 :]:
            assert not box.overlaps(other), f"{first!r} overlaps {second!r}"
    for patch in ax.patches:
        box = patch.get_window_extent(renderer)
        assert inside.x0 <= box.x0 and box.x1 <= inside.x1, f"{patch} is cut off"
        assert inside.y0 <= box.y0 and box.y1 <= inside.y1, f"{patch} is cut off"


LSTM_LABELS = {
    "$c_{t-1}$",
    "$c_t$",
    "$h_{t-1}$",
    "$h_t$",
    "$x_t$",
    "$f_t$",
    "$i_t$",
    "$g_t$",
    "$o_t$",
    r"$i_t \odot g_t$",
}


def test_lstm_cell_shows_every_state_and_gate():
    ax = draw_lstm_cell()
    assert isinstance(ax, Axes)
    assert tuple(ax.figure.get_size_inches()) == (8, 4.5)
    labels = texts(ax)
    assert LSTM_LABELS <= set(labels)
    assert {"forget", "input", "candidate", "output"} <= set(labels)
    # Three sigmoid gates and one tanh layer, plus tanh(c_t) on the way out.
    assert labels.count(r"$\sigma$") == 3
    assert labels.count(r"$\tanh$") == 2
    # h_t leaves twice: to the next step and to the output.
    assert labels.count("$h_t$") == 2


def test_lstm_cell_highlights_the_cell_path_when_asked():
    highlighted = draw_lstm_cell()
    plain = draw_lstm_cell(highlight_cell_path=False)
    # c_{t-1} -> x -> + -> c_t: three segments either way.
    assert len(cell_path(highlighted)) == len(cell_path(plain)) == 3
    for segment in cell_path(highlighted):
        assert same_color(segment.get_edgecolor(), COLORS["cell"])
        assert segment.get_linewidth() > 2
    for segment in cell_path(plain):
        assert not same_color(segment.get_edgecolor(), COLORS["cell"])
    # The Jacobian of the cell path is written on the highlighted picture only.
    assert any(r"\partial c_t" in label for label in texts(highlighted))
    assert not any(r"\partial c_t" in label for label in texts(plain))
    assert LSTM_LABELS <= set(texts(plain))


def test_cells_draw_on_the_axes_they_are_given():
    _, ax = plt.subplots()
    assert draw_lstm_cell(ax) is ax
    assert draw_gru_cell(ax) is ax


def test_lstm_cell_rejects_bad_arguments():
    with pytest.raises(TypeError, match="highlight_cell_path"):
        draw_lstm_cell(highlight_cell_path="yes")
    with pytest.raises(TypeError, match="ax"):
        draw_lstm_cell(ax="axes")


@pytest.mark.parametrize("convention", ["pytorch", "textbook"])
def test_gru_cell_shows_every_state_and_gate(convention):
    ax = draw_gru_cell(convention=convention)
    assert isinstance(ax, Axes)
    labels = set(texts(ax))
    assert {
        "$h_{t-1}$",
        "$h_t$",
        "$x_t$",
        "$r_t$",
        "$z_t$",
        "$1 - z_t$",
        "update",
        "reset",
    } <= labels


def test_gru_conventions_name_the_candidate_and_interpolate_differently():
    pytorch = texts(draw_gru_cell(convention="pytorch"))
    textbook = texts(draw_gru_cell(convention="textbook"))
    assert "$n_t$" in pytorch and r"$\tilde h_t$" not in pytorch
    assert r"$\tilde h_t$" in textbook and "$n_t$" not in textbook
    assert any(r"$h_t = (1 - z_t) \odot n_t + z_t \odot h_{t-1}$" in t for t in pytorch)
    assert any(r"$h_t = (1 - z_t) \odot h_{t-1} + z_t \odot \tilde h_t$" in t for t in textbook)
    # PyTorch's reset multiplies after the recurrent product, so b_hn is reset too.
    assert r"$W_{hn},\ b_{hn}$" in pytorch and r"$W_{hn}$" in textbook


def label_position(ax, label):
    (position,) = [t.get_position() for t in ax.texts if t.get_text() == label]
    return position


def reset_multiply_y(ax, weights):
    """Height of the x node that shares its column with the W_hn box."""
    x, _ = label_position(ax, weights)
    (y,) = [
        t.get_position()[1]
        for t in ax.texts
        if t.get_text() == r"$\times$" and t.get_position()[0] == x
    ]
    return y


def test_gru_reset_gate_sits_after_or_before_the_recurrent_product():
    pytorch = draw_gru_cell(convention="pytorch")
    textbook = draw_gru_cell(convention="textbook")
    w_pytorch = r"$W_{hn},\ b_{hn}$"
    # Signal flows upward: the x above W_hn resets the product, below it resets h_{t-1}.
    assert reset_multiply_y(pytorch, w_pytorch) > label_position(pytorch, w_pytorch)[1]
    assert reset_multiply_y(textbook, "$W_{hn}$") < label_position(textbook, "$W_{hn}$")[1]


def test_gru_update_gate_weighs_h_or_the_candidate():
    pytorch = draw_gru_cell(convention="pytorch")
    textbook = draw_gru_cell(convention="textbook")
    z_pytorch, one_minus_pytorch = (label_position(pytorch, s) for s in ("$z_t$", "$1 - z_t$"))
    z_textbook, one_minus_textbook = (label_position(textbook, s) for s in ("$z_t$", "$1 - z_t$"))
    # h_{t-1}'s coefficient labels the short wire on the left, the candidate's the long
    # wire to the right: z_t and 1 - z_t trade places between the conventions.
    assert z_pytorch[0] < one_minus_pytorch[0]
    assert one_minus_textbook[0] < z_textbook[0]


def test_gru_cell_rejects_an_unknown_convention():
    with pytest.raises(ValueError, match="convention"):
        draw_gru_cell(convention="keras")


@pytest.mark.parametrize(
    "draw",
    [
        draw_lstm_cell,
        lambda: draw_lstm_cell(highlight_cell_path=False),
        lambda: draw_gru_cell(convention="pytorch"),
        lambda: draw_gru_cell(convention="textbook"),
    ],
    ids=["lstm", "lstm-plain", "gru-pytorch", "gru-textbook"],
)
def test_cells_are_readable_at_book_size(draw):
    assert_readable(draw())


def test_draw_sequence_task_draws_an_output_box_only_where_one_is_read():
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyBboxPatch

    from helpers.plotting import draw_sequence_task

    fig, ax = plt.subplots()
    draw_sequence_task(list("maria") + ["<pad>"] * 2, [None] * 4 + ["female"] + [None] * 2, ax=ax)
    boxes = [p for p in ax.patches if isinstance(p, FancyBboxPatch)]
    assert len(boxes) == 7 + 7 + 1  # inputs, states, one output
    texts = [t.get_text() for t in ax.texts]
    assert "female" in texts and texts.count("<pad>") == 2
    faded = [p for p in boxes if p.get_alpha() is not None and p.get_alpha() < 1]
    assert len(faded) == 4  # the two padded inputs and their states
    with pytest.raises(ValueError, match="one entry per input"):
        draw_sequence_task(list("ab"), ["x"], ax=ax)
    plt.close(fig)


@pytest.mark.parametrize("layers, steps", [(1, 3), (3, 4)])
def test_stacked_rnn_has_a_state_per_layer_and_step_and_dropout_only_between_layers(layers, steps):
    from helpers.plotting import draw_stacked_rnn

    ax = draw_stacked_rnn(layers, steps)
    labels = texts(ax)
    for layer in range(1, layers + 1):
        assert f"$h^{{({layer})}}_0$" in labels and f"layer {layer}" in labels
        assert all(f"$h^{{({layer})}}_{t}$" in labels for t in range(1, steps + 1))
    assert f"$h^{{({layers + 1})}}_1$" not in labels
    # inputs, outputs, a state per layer and step, and each layer's initial state
    assert count(ax, FancyBboxPatch) == 2 * steps + layers * (steps + 1)
    assert labels.count("dropout") == layers - 1


def red_arrows(ax):
    return [
        p
        for p in ax.patches
        if isinstance(p, FancyArrowPatch) and same_color(p.get_edgecolor(), COLORS["gradient"])
    ]


def test_bidirectional_rnn_draws_the_padding_bug_only_without_lengths():
    from helpers.plotting import draw_bidirectional_rnn

    tokens = list("mean") + ["<pad>"] * 2
    buggy = draw_bidirectional_rnn(tokens, length=4, packed=False)
    packed = draw_bidirectional_rnn(tokens, length=4, packed=True)
    full = draw_bidirectional_rnn(list("mean"))
    # without lengths: the two padded inputs feed the backward states, which carry them in
    assert len(red_arrows(buggy)) == 2 + 2
    assert not red_arrows(packed) and not red_arrows(full)
    for ax in (buggy, packed, full):
        assert [f"$y_{{{t}}}$" in texts(ax) for t in range(1, 6)] == [True] * 4 + [False]
    assert "$\\overleftarrow{h}_{5}$" in texts(buggy)
    assert "$\\overleftarrow{h}_{5}$" not in texts(packed)
    with pytest.raises(ValueError, match="at most len"):
        draw_bidirectional_rnn(tokens, length=7)
    with pytest.raises(TypeError, match="tokens"):
        draw_bidirectional_rnn("mean")


def test_encoder_decoder_without_attention_feeds_one_context_to_every_step():
    from helpers.plotting import draw_encoder_decoder

    source, target = ["ninety", "seven"], ["9", "7", "<eos>"]
    ax = draw_encoder_decoder(source, target)
    labels = texts(ax)
    assert all(token in labels for token in source)
    assert {f"$h_{{{s}}}$" for s in (1, 2)} <= set(labels) and "$h_{3}$" not in labels
    assert {f"$s_{{{t}}}$" for t in (1, 2, 3)} <= set(labels) and "$s_{4}$" not in labels
    # the decoder reads <bos> then the target shifted right, and writes the target
    assert labels.count("<bos>") == 1 and labels.count("9") == 2 and labels.count("7") == 2
    assert labels.count("<eos>") == 1
    assert "$c$" in labels and not any(label.startswith("$c_") for label in labels)
    # boxes: a token and a state per source word, input, state and output per target token, c
    assert count(ax, FancyBboxPatch) == 2 * 2 + 3 * 3 + 1
    assert ax.get_lines() == []


def test_encoder_decoder_with_attention_draws_one_line_per_source_word_by_weight():
    import numpy as np

    from helpers.plotting import draw_encoder_decoder

    source, target = ["one", "hundred", "and", "five"], ["1", "0", "5"]
    weights = np.array([[0.7, 0.2, 0.05, 0.05], [0.1, 0.6, 0.2, 0.1], [0.05, 0.05, 0.1, 0.8]])
    for step in range(3):
        ax = draw_encoder_decoder(source, target, weights=weights, step=step)
        labels = texts(ax)
        assert f"$c_{{{step + 1}}}$" in labels and "$c$" not in labels
        lines = ax.get_lines()
        assert len(lines) == len(source)
        # line s starts at encoder state s, and the heavier the weight the thicker the line
        assert [line.get_xdata()[0] for line in lines] == list(range(len(source)))
        widths = [line.get_linewidth() for line in lines]
        for a in range(len(source)):
            for b in range(len(source)):
                assert (widths[a] < widths[b]) == (weights[step, a] < weights[step, b])
        assert widths.index(max(widths)) == int(weights[step].argmax())
    # step defaults to the first decoder step
    default = draw_encoder_decoder(source, target, weights=weights)
    assert "$c_{1}$" in texts(default)


@pytest.mark.parametrize(
    "kwargs, error, words",
    [
        (dict(source=[], target=["1"]), ValueError, "at least one token"),
        (dict(target=[]), ValueError, "at least one token"),
        (dict(weights=[[1.0, 0.0]]), ValueError, r"\(T, S\) = \(2, 2\)"),
        (dict(weights=[[1.0, 0.0, 0.0]] * 2), ValueError, r"\(T, S\) = \(2, 2\)"),
        (dict(step=0), ValueError, "weights"),
        (dict(weights=[[1.0, 0.0]] * 2, step=2), ValueError, "step"),
        (dict(weights=[[1.0, 0.0]] * 2, step=-1), ValueError, "step"),
        (dict(weights=[[1.0, 0.0]] * 2, step=True), ValueError, "step"),
        (dict(weights=[[1.0, 0.0]] * 2, step=0.0), ValueError, "step"),
        (dict(ax="axes"), TypeError, "ax"),
    ],
)
def test_encoder_decoder_rejects_bad_arguments(kwargs, error, words):
    from helpers.plotting import draw_encoder_decoder

    arguments = dict(source=["a", "b"], target=["1", "<eos>"]) | kwargs
    with pytest.raises(error, match=words):
        draw_encoder_decoder(**arguments)


def test_encoder_decoder_draws_on_the_axes_it_is_given():
    from helpers.plotting import draw_encoder_decoder

    _, ax = plt.subplots()
    assert draw_encoder_decoder(["a"], ["1"], ax=ax) is ax


def test_attention_heat_map_shows_the_weights_with_the_tokens_as_ticks():
    import numpy as np
    import torch

    from helpers.plotting import plot_attention

    source, target = ["twenty", "one", "x"], ["2", "1"]
    weights = torch.tensor([[0.8, 0.15, 0.05], [0.1, 0.85, 0.05]], requires_grad=True)
    ax = plot_attention(weights, source, target, title="additive")
    (image,) = ax.get_images()
    np.testing.assert_allclose(image.get_array(), weights.detach().numpy())
    assert image.get_clim() == (0, 1)  # one scale for every map
    assert [t.get_text() for t in ax.get_xticklabels()] == source
    assert [t.get_text() for t in ax.get_yticklabels()] == target
    assert list(ax.get_xticks()) == [0, 1, 2] and list(ax.get_yticks()) == [0, 1]
    assert ax.get_title() == "additive"
    assert plot_attention(np.eye(2), ["a", "b"], ["c", "d"]).get_title() == ""
    _, given = plt.subplots()
    assert plot_attention(np.eye(2), ["a", "b"], ["c", "d"], ax=given) is given


@pytest.mark.parametrize(
    "weights, error, words",
    [
        ([[1.0, 0.0]], ValueError, r"\(2, 3\)"),
        ([[1.0, 0.0, 0.0]] * 3, ValueError, r"\(2, 3\)"),
        ([1.0, 0.0, 0.0], ValueError, r"\(len\(target\), len\(source\)\)"),
    ],
)
def test_attention_heat_map_rejects_weights_of_the_wrong_shape(weights, error, words):
    from helpers.plotting import plot_attention

    with pytest.raises(error, match=words):
        plot_attention(weights, ["a", "b", "c"], ["1", "2"])
    with pytest.raises(TypeError, match="ax"):
        plot_attention([[1.0, 0.0, 0.0]] * 2, ["a", "b", "c"], ["1", "2"], ax="axes")


def test_accuracy_by_length_draws_one_labelled_line_per_curve():
    from helpers.plotting import plot_accuracy_by_length

    curves = {
        "no attention": ([1, 2, 3, 4], [1.0, 0.9, 0.5, 0.2]),
        "additive": ([1, 2, 3, 4], [1.0, 1.0, 0.95, 0.9]),
        "dot": ([2, 4], [0.8, 0.7]),
    }
    ax = plot_accuracy_by_length(curves)
    lines = ax.get_lines()
    assert len(lines) == len(curves)
    for line, (label, (lengths, accuracies)) in zip(lines, curves.items()):
        assert line.get_label() == label
        assert list(line.get_xdata()) == lengths and list(line.get_ydata()) == accuracies
    assert [t.get_text() for t in ax.get_legend().get_texts()] == list(curves)
    assert ax.get_ylabel() == "exact match"
    low, high = ax.get_ylim()
    assert low <= 0 and high >= 1
    _, given = plt.subplots()
    assert plot_accuracy_by_length({"a": ([1], [0.5])}, ax=given) is given


@pytest.mark.parametrize(
    "curves, error, words",
    [
        ({}, TypeError, "curves"),
        ([([1], [1.0])], TypeError, "curves"),
        ({"a": ([1, 2], [1.0])}, ValueError, "curves\\['a'\\]"),
    ],
)
def test_accuracy_by_length_rejects_bad_curves(curves, error, words):
    from helpers.plotting import plot_accuracy_by_length

    with pytest.raises(error, match=words):
        plot_accuracy_by_length(curves)


@pytest.mark.parametrize("step", [None, 0, 3])
def test_encoder_decoder_is_readable_at_book_size(step):
    import numpy as np

    from helpers.plotting import draw_encoder_decoder

    weights = None if step is None else np.full((4, 4), 0.25)
    assert_readable(
        draw_encoder_decoder(
            ["one", "hundred", "and", "five"], ["1", "0", "5", "<eos>"], weights=weights, step=step
        )
    )


def test_learning_curves_draw_train_dashed_validation_solid_and_the_kept_epoch():
    from helpers.plotting import plot_learning_curves
    from helpers.training import History

    history = History(
        records=[
            {"epoch": e, "train_loss": 1 / e, "val_loss": v}
            for e, v in zip((1, 2, 3, 4), (1.0, 0.6, 0.5, 0.55))
        ],
        best_epoch=3,
    )
    ax = plot_learning_curves(
        {"GRU": history, "LSTM": {"validation": [0.9, 0.7]}},
        baselines={"bigram": 0.8},
        ylabel="cross-entropy",
    )
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert lines["GRU, training"].get_linestyle() == "--"
    assert list(lines["GRU, training"].get_ydata()) == [1, 0.5, 1 / 3, 0.25]
    assert lines["GRU, validation"].get_linestyle() == "-"
    assert list(lines["LSTM, validation"].get_xdata()) == [1, 2]
    dots = [line for line in ax.get_lines() if line.get_marker() == "o"]
    assert [(list(d.get_xdata()), list(d.get_ydata())) for d in dots] == [([3], [0.5])]
    assert any(list(line.get_ydata()) == [0.8, 0.8] for line in ax.get_lines())
    assert ax.get_ylabel() == "cross-entropy" and ax.get_xlabel() == "epoch"
    plt.close(ax.figure)


def test_learning_curves_name_bad_input():
    from helpers.plotting import plot_learning_curves

    with pytest.raises(TypeError, match="non-empty dict"):
        plot_learning_curves([])
    with pytest.raises(TypeError, match=r"curves\['x'\] must be a helpers.training.History"):
        plot_learning_curves({"x": [1, 2]})
    with pytest.raises(ValueError, match="neither a training nor a validation curve"):
        plot_learning_curves({"x": {"best_epoch": 1}})
    with pytest.raises(ValueError, match="best_epoch 5 is outside the 2 epochs"):
        plot_learning_curves({"x": {"validation": [1, 2], "best_epoch": 5}})
    plt.close("all")
