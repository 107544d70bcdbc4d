"""The interactive explorers (helpers.explorers): the numbers they plot, and controls that update them.

Every explorer is built here without a display, from real (small, untrained or
briefly initialised) models; a control is moved by setting its value, as a
reader's click does, and the test reads what changed: the figure's data, the
caption, the PNG shown.
"""

import base64
import re

import matplotlib
import numpy as np
import pytest
import torch

import helpers.modules
from helpers.attention import AdditiveAttention
from helpers.explorers import (
    AttentionExplorer,
    GradientFlowExplorer,
    LSTMGatesExplorer,
    UnrolledRNNExplorer,
    lstm_gate_activations,
    memory_gradient_norms,
    random_recurrent_layer,
)
from helpers.explorers._view import typed_one_hot
from helpers.seq2seq import Decoder, Encoder, Seq2Seq
from helpers.text import Vocab

matplotlib.use("Agg")


# --------------------------------------------------------------------------- the numbers


@pytest.mark.parametrize("unit", ["RNN", "LSTM"])
@pytest.mark.parametrize("radius", [0.5, 1.0, 1.3])
def test_every_recurrent_block_has_the_requested_spectral_radius(unit, radius):
    H = 8
    _, W_h, b, x, v = random_recurrent_layer(
        unit, spectral_radius=radius, hidden_size=H, length=5, forget_bias=3.0
    )
    for block in W_h.split(H, dim=1):
        assert torch.linalg.eigvals(block).abs().max().item() == pytest.approx(radius, rel=1e-12)
    assert v.norm().item() == pytest.approx(1.0)
    assert x.shape == (5, 4)


def test_the_linear_rnn_gives_the_norm_of_a_matrix_power():
    W_x, W_h, b, x, v = random_recurrent_layer("RNN", spectral_radius=1.1, length=30)
    norms = memory_gradient_norms("RNN", spectral_radius=1.1, nonlinearity="linear", length=30)
    v, W_h = v.numpy(), W_h.numpy()
    for gap in (0, 1, 7, 29):
        # h_T = h_{T-g} W_h^g + (terms free of h_{T-g}), so d(v . h_T)/dh_{T-g} = v (W_h^T)^g.
        expected = np.linalg.norm(v @ np.linalg.matrix_power(W_h.T, gap))
        assert norms[gap] == pytest.approx(expected, rel=1e-10)


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
def test_the_rnn_gives_the_product_of_its_step_jacobians(nonlinearity):
    T = 25
    W_x, W_h, b, x, v = (
        t.numpy() for t in random_recurrent_layer("RNN", spectral_radius=1.2, length=T)
    )
    h, slopes = np.zeros(W_h.shape[0]), []
    for t in range(T):  # an independent numpy forward pass
        a = x[t] @ W_x + h @ W_h + b
        h = np.tanh(a) if nonlinearity == "tanh" else np.maximum(a, 0)
        slopes.append(1 - h**2 if nonlinearity == "tanh" else (a > 0).astype(float))
    norms = memory_gradient_norms("RNN", spectral_radius=1.2, nonlinearity=nonlinearity, length=T)
    row = v.copy()
    for gap in range(T):
        assert norms[gap] == pytest.approx(np.linalg.norm(row), rel=1e-9, abs=1e-300)
        row = (row * slopes[T - 1 - gap]) @ W_h.T  # through step T - gap back to its input state


def test_the_lstm_cell_gradient_agrees_with_finite_differences_through_torch_lstm():
    T, H, D = 12, 6, 4
    kwargs = dict(spectral_radius=0.9, forget_bias=1.5, length=T, hidden_size=H, input_size=D)
    W_x, W_h, b, x, v = random_recurrent_layer("LSTM", **kwargs)
    lstm = torch.nn.LSTM(D, H, dtype=torch.float64)
    with torch.no_grad():
        lstm.weight_ih_l0.copy_(W_x.T)
        lstm.weight_hh_l0.copy_(W_h.T)
        lstm.bias_ih_l0.copy_(b)
        lstm.bias_hh_l0.zero_()
    with torch.no_grad():
        h, c = torch.zeros(1, H, dtype=torch.float64), torch.zeros(1, H, dtype=torch.float64)
        cells = []
        for t in range(T):
            _, (h, c) = lstm(x[t : t + 1], (h, c))
            cells.append((h.clone(), c.clone()))

        def readout_from(t, c_t):
            """v . h_T after step t's cell is replaced by c_t, and h_t = o_t tanh(c_t) with it."""
            h_before = cells[t - 1][0] if t > 0 else torch.zeros(1, H, dtype=torch.float64)
            o_t = torch.sigmoid(x[t] @ W_x[:, 3 * H :] + h_before @ W_h[:, 3 * H :] + b[3 * H :])
            _, (h_T, _) = lstm(x[t + 1 :], (o_t * torch.tanh(c_t), c_t))
            return (h_T[0] @ v).item()

        norms = memory_gradient_norms("LSTM", **kwargs)
        for t in (2, 6, 10):
            epsilon = 1e-6
            gradient = []
            for i in range(H):
                step = torch.zeros(1, H, dtype=torch.float64)
                step[0, i] = epsilon
                gradient.append(
                    (readout_from(t, cells[t][1] + step) - readout_from(t, cells[t][1] - step))
                    / (2 * epsilon)
                )
            assert norms[T - 1 - t] == pytest.approx(np.linalg.norm(gradient), rel=1e-6)


def test_a_larger_forget_bias_keeps_more_of_the_lstm_gradient():
    low = memory_gradient_norms("LSTM", spectral_radius=1.0, forget_bias=0.0, length=60)
    high = memory_gradient_norms("LSTM", spectral_radius=1.0, forget_bias=4.0, length=60)
    assert high[59] > 1e3 * low[59]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(unit="GRU", spectral_radius=1.0), "unit must be one of 'RNN', 'LSTM'; got 'GRU'"),
        (
            dict(unit="RNN", spectral_radius=1.0, nonlinearity="sigmoid"),
            "nonlinearity must be one of",
        ),
        (dict(unit="RNN", spectral_radius=0), "spectral_radius must be a positive number, got 0"),
        (dict(unit="RNN", spectral_radius=True), "spectral_radius must be a positive number"),
        (dict(unit="RNN", spectral_radius=1.0, length=0), "length must be an int >= 1, got 0"),
        (dict(unit="RNN", spectral_radius=1.0, length=2.5), "length must be an int >= 1, got 2.5"),
    ],
)
def test_bad_arguments_are_named(kwargs, message):
    unit = kwargs.pop("unit")
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        memory_gradient_norms(unit, **kwargs)


# --------------------------------------------------------------------------- the explorer


def shown_png(explorer):
    """The PNG bytes of the <img> the explorer's HTML view shows."""
    source = re.search(r'src="data:image/png;base64,([^"]+)"', explorer.view.value).group(1)
    return base64.b64decode(source)


def plotted(explorer):
    return {line.get_label().split(" ")[0]: line.get_ydata() for line in explorer.ax.lines}


def test_the_explorer_builds_without_a_display_and_plots_its_norms():
    explorer = GradientFlowExplorer()
    assert explorer.settings() == {
        "spectral_radius": 1.0,
        "nonlinearity": "tanh",
        "length": 100,
        "forget_bias": 0.0,
    }
    lines = plotted(explorer)
    assert set(lines) == {"vanilla", "LSTM,"} and len(lines["vanilla"]) == 100
    np.testing.assert_allclose(lines["LSTM,"], explorer.norms["LSTM"])
    np.testing.assert_allclose(
        lines["vanilla"],
        memory_gradient_norms("RNN", spectral_radius=1.0, nonlinearity="tanh", length=100),
    )
    assert shown_png(explorer).startswith(b"\x89PNG"), "the figure is shown as a PNG"
    assert 'alt="Gradient norm against the time gap' in explorer.view.value


def test_each_control_updates_what_it_should():
    explorer = GradientFlowExplorer()
    before = {unit: norms.copy() for unit, norms in explorer.norms.items()}
    shown = shown_png(explorer)

    explorer.controls["nonlinearity"].value = "linear"
    assert not np.allclose(explorer.norms["RNN"], before["RNN"])
    np.testing.assert_array_equal(explorer.norms["LSTM"], before["LSTM"])
    assert "linear" in explorer.ax.lines[0].get_label()

    explorer.controls["forget_bias"].value = 4.0
    assert not np.allclose(explorer.norms["LSTM"], before["LSTM"])
    assert "forget bias 4.0" in explorer.ax.get_title()

    explorer.controls["spectral_radius"].value = 0.6
    assert "spectral radius 0.60" in explorer.ax.get_title()
    np.testing.assert_allclose(
        plotted(explorer)["vanilla"],
        memory_gradient_norms("RNN", spectral_radius=0.6, nonlinearity="linear", length=100),
    )

    explorer.controls["length"].value = 30
    assert {len(line.get_xdata()) for line in explorer.ax.lines} == {30}
    assert shown_png(explorer) != shown, "the image shown follows the controls"
    assert "T = 30" in explorer.view.value


def test_the_gradient_flow_caption_gives_the_norms_at_the_longest_gap():
    explorer = GradientFlowExplorer(length=50)
    assert explorer.message == (
        f"Gradient norm 49 steps back: vanilla RNN "
        f"{explorer.norms['RNN'][49]:.1e}, LSTM "
        f"{explorer.norms['LSTM'][49]:.1e}"
    )


# --------------------------------------------------------------------------- typed text


def test_typed_text_becomes_one_hot_rows_in_the_dtype_of_the_model():
    like = torch.zeros(1, dtype=torch.float64)
    rows = typed_one_hot("baab", "ab", like)
    assert rows.dtype == torch.float64 and rows.shape == (1, 4, 2)
    assert rows[0].argmax(-1).tolist() == [1, 0, 0, 1]


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "type at least one of the symbols 'ab'"),
        ("abc", "reads only the symbols 'ab'; not 'c'"),
        ("a" * 61, "type at most 60 symbols, got 61"),
    ],
)
def test_typed_text_it_cannot_read_is_named(text, message):
    with pytest.raises(ValueError, match=message):
        typed_one_hot(text, "ab", torch.zeros(1))


# --------------------------------------------------------------------------- unrolled RNN


def echo_targets(text):
    return [None] * 2 + list(text[:-2])


@pytest.fixture
def unrolled():
    torch.manual_seed(0)
    rnn = helpers.modules.RNN(3, 6, batch_first=True, dtype=torch.float64)
    read_out = torch.nn.Linear(6, 3, dtype=torch.float64)
    explorer = UnrolledRNNExplorer(rnn, read_out, "xyz", text="xyzzyx", targets=echo_targets)
    return explorer, rnn, read_out


def heat_map(explorer):
    return explorer.axes[0].images[0].get_array().filled(np.nan)


def test_the_unrolled_explorer_shows_the_states_of_the_typed_sequence(unrolled):
    explorer, rnn, read_out = unrolled
    ids = torch.tensor([[0, 1, 2, 2, 1, 0]])
    with torch.no_grad():
        states, _ = rnn(torch.nn.functional.one_hot(ids, 3).double())
    np.testing.assert_allclose(explorer.states, states[0].numpy())
    assert explorer.predictions == ["xyz"[k] for k in read_out(states)[0].argmax(-1).tolist()]
    # The whole sequence is shown at first: the heat map is the states, transposed.
    np.testing.assert_allclose(heat_map(explorer), states[0].numpy().T)
    assert explorer.controls["step"].max == 6
    assert explorer.message.startswith("Step 6 of 6: reads 'x', outputs ")
    assert shown_png(explorer).startswith(b"\x89PNG")


def test_the_step_slider_unrolls_one_step_at_a_time(unrolled):
    explorer, _, _ = unrolled
    shown = shown_png(explorer)
    explorer.controls["step"].value = 3
    image = heat_map(explorer)
    np.testing.assert_allclose(image[:, :3], explorer.states[:3].T)
    assert np.isnan(image[:, 3:]).all(), "the steps after t are blank"
    bars = [patch.get_height() for patch in explorer.axes[1].patches]
    np.testing.assert_allclose(bars, explorer.states[2])
    answer = echo_targets("xyzzyx")[2]
    verdict = "right" if explorer.predictions[2] == answer else "wrong"
    assert explorer.message.startswith(
        f"Step 3 of 6: reads 'z', outputs "
        f"'{explorer.predictions[2]}' (the answer is "
        f"'{answer}': {verdict})"
    )
    assert shown_png(explorer) != shown


def test_typing_a_new_sequence_reruns_the_network_and_resizes_the_slider(unrolled):
    explorer, _, _ = unrolled
    explorer.controls["step"].value = 2
    explorer.controls["text"].value = "zz"
    assert explorer.states.shape == (2, 6)
    assert (explorer.controls["step"].max, explorer.controls["step"].value) == (2, 2)
    explorer.controls["text"].value = "xyxyxyxyxy"
    assert explorer.states.shape == (10, 6) and explorer.controls["step"].value == 10
    assert heat_map(explorer).shape == (6, 10)
    assert [
        label.get_text().split("\n")[0] for label in explorer.axes[0].get_xticklabels()
    ] == list("xyxyxyxyxy")


def test_a_sequence_it_cannot_read_is_explained_and_the_picture_kept(unrolled):
    explorer, _, _ = unrolled
    shown, states = explorer.view.value, explorer.states.copy()
    explorer.controls["text"].value = "xya"
    assert explorer.message == "the model reads only the symbols 'xyz'; not 'a'"
    assert "color" in explorer.caption.value
    assert explorer.view.value == shown
    np.testing.assert_array_equal(explorer.states, states)
    explorer.controls["text"].value = "yy"
    assert explorer.message.startswith("Step 2 of 2")


def test_without_a_read_out_it_shows_the_states_alone():
    rnn = torch.nn.RNN(2, 4, batch_first=True)
    explorer = UnrolledRNNExplorer(rnn, None, "ab", text="abba")
    assert explorer.predictions == [] and explorer.states.shape == (4, 4)
    assert explorer.message.startswith("Step 4 of 4: reads 'a'; |h_4| = ")


@pytest.mark.parametrize(
    "kwargs, error, message",
    [
        (dict(symbols="xy"), ValueError, "reads 3 features per step, but symbols has 2"),
        (dict(symbols="xyx"), ValueError, "symbols must be a non-empty str of distinct characters"),
        (dict(read_out="linear"), TypeError, "read_out must be a torch module or None, got str"),
        (dict(text="xyq"), ValueError, "reads only the symbols 'xyz'; not 'q'"),
        (dict(targets=[None]), TypeError, "targets must be a function of the text or None"),
        (dict(rnn=np.zeros(3)), TypeError, "the recurrent layer must be a torch module"),
    ],
)
def test_bad_unrolled_explorer_arguments_are_named(kwargs, error, message):
    arguments = dict(
        rnn=torch.nn.RNN(3, 4, batch_first=True),
        read_out=torch.nn.Linear(4, 3),
        symbols="xyz",
        text="xyz",
    )
    arguments.update(kwargs)
    rnn, read_out, symbols = (arguments.pop(name) for name in ("rnn", "read_out", "symbols"))
    with pytest.raises(error, match=message):
        UnrolledRNNExplorer(rnn, read_out, symbols, **arguments)


# --------------------------------------------------------------------------- LSTM gates


@pytest.mark.parametrize("implementation", [torch.nn.LSTM, helpers.modules.LSTM])
@pytest.mark.parametrize("bias", [True, False])
def test_the_gate_activations_give_the_layers_own_states(implementation, bias):
    torch.manual_seed(1)
    lstm = implementation(3, 5, bias=bias, dtype=torch.float64)
    inputs = torch.randn(7, 3, dtype=torch.float64)
    gates = lstm_gate_activations(lstm, inputs)
    with torch.no_grad():
        states, (h_T, c_T) = lstm(inputs[:, None])
    np.testing.assert_allclose(gates["h"], states[:, 0].numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(gates["c"][-1], c_T[0, 0].numpy(), rtol=1e-12, atol=1e-14)
    # and each gate is what the equations say, from the previous step's states
    c_before = np.vstack([np.zeros(5), gates["c"][:-1]])
    np.testing.assert_allclose(gates["c"], gates["f"] * c_before + gates["i"] * gates["g"])
    np.testing.assert_allclose(gates["h"], gates["o"] * np.tanh(gates["c"]))
    assert all(0 < gates[name].min() and gates[name].max() < 1 for name in "ifo")


@pytest.mark.parametrize(
    "lstm, inputs, error, message",
    [
        (torch.nn.GRU(3, 4), torch.zeros(2, 3), TypeError, "lstm must be a torch.nn.LSTM"),
        (torch.nn.LSTM(3, 4, num_layers=2), torch.zeros(2, 3), ValueError, "one layer"),
        (torch.nn.LSTM(3, 4, bidirectional=True), torch.zeros(2, 3), ValueError, "one direction"),
        (torch.nn.LSTM(3, 4), torch.zeros(2, 4), ValueError, r"inputs must be a tensor \(T, 3\)"),
        (
            torch.nn.LSTM(3, 4),
            torch.zeros(1, 2, 3),
            ValueError,
            r"inputs must be a tensor \(T, 3\)",
        ),
    ],
)
def test_bad_gate_activation_arguments_are_named(lstm, inputs, error, message):
    with pytest.raises(error, match=message):
        lstm_gate_activations(lstm, inputs)


@pytest.fixture
def gates_explorer():
    torch.manual_seed(2)
    lstm = torch.nn.LSTM(4, 6, batch_first=True)
    read_out = torch.nn.Linear(6, 3)
    return LSTMGatesExplorer(lstm, read_out, "()ab", text="a(b)", outputs="012", unit=1)


def unit_curves(explorer):
    return {
        line.get_label(): line.get_ydata()
        for line in explorer.axes["unit"].lines
        if not line.get_label().startswith("_")
    }


def test_the_gates_explorer_draws_every_gate_of_the_typed_string(gates_explorer):
    explorer = gates_explorer
    expected = lstm_gate_activations(
        explorer.lstm, typed_one_hot("a(b)", "()ab", explorer.lstm.weight_ih_l0)[0]
    )
    for name in "ifoc":
        np.testing.assert_allclose(explorer.axes[name].images[0].get_array(), expected[name].T)
    curves = unit_curves(explorer)
    np.testing.assert_allclose(curves["forget gate"], expected["f"][:, 1])
    np.testing.assert_allclose(curves["cell"], expected["c"][:, 1])
    with torch.no_grad():
        logits = explorer.read_out(torch.as_tensor(expected["h"], dtype=torch.float32))
    assert explorer.predictions == ["012"[k] for k in logits.argmax(-1).tolist()]
    assert explorer.message.startswith("4 characters; unit 1: cell from ")
    assert explorer.message.endswith("outputs " + " ".join(explorer.predictions))


def test_the_unit_menu_and_the_text_box_update_the_figure(gates_explorer):
    explorer = gates_explorer
    shown = shown_png(explorer)
    explorer.controls["unit"].value = 4
    np.testing.assert_allclose(unit_curves(explorer)["input gate"], explorer.activations["i"][:, 4])
    assert "unit 4" in explorer.message and "unit 4" in explorer.axes["unit"].get_title("right")
    assert shown_png(explorer) != shown
    explorer.controls["text"].value = "((ab))ba"
    assert explorer.activations["c"].shape == (8, 6)
    assert explorer.axes["c"].images[0].get_array().shape == (6, 8)
    assert [label.get_text() for label in explorer.axes["f"].get_xticklabels()] == list("((ab))ba")
    assert len(explorer.predictions) == 8


def test_a_string_the_gates_explorer_cannot_read_is_explained(gates_explorer):
    explorer = gates_explorer
    shown = explorer.view.value
    explorer.controls["text"].value = "a(c)"
    assert explorer.message == "the model reads only the symbols '()ab'; not 'c'"
    assert explorer.view.value == shown


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(unit=6), r"unit must be an int in 0 .. 5, got 6"),
        (dict(outputs=None), "outputs must name the read-out's classes"),
        (dict(symbols="()a"), "reads 4 features per step, but symbols has 3"),
    ],
)
def test_bad_gates_explorer_arguments_are_named(kwargs, message):
    arguments = dict(symbols="()ab", text="ab", outputs="012", unit=0)
    arguments.update(kwargs)
    symbols = arguments.pop("symbols")
    with pytest.raises(ValueError, match=message):
        LSTMGatesExplorer(torch.nn.LSTM(4, 6), torch.nn.Linear(6, 3), symbols, **arguments)


# --------------------------------------------------------------------------- attention


@pytest.fixture(scope="module")
def translator():
    source_vocab = Vocab(["one two three", "four five"], level="word")
    target_vocab = Vocab(["12345"], level="char")
    torch.manual_seed(3)
    encoder = Encoder(len(source_vocab), 8, 8, bidirectional=True)
    decoder = Decoder(len(target_vocab), 8, 8, attention=AdditiveAttention(8, 8, 8))
    model = Seq2Seq(encoder, decoder, bos_id=target_vocab.bos_id, eos_id=target_vocab.eos_id)
    return model, source_vocab, target_vocab


def test_the_attention_explorer_shows_the_models_translation_and_weights(translator):
    model, source_vocab, target_vocab = translator
    explorer = AttentionExplorer(
        model, source_vocab, target_vocab, source="one two three", max_length=5
    )
    tokens, maps = model.greedy_decode(
        torch.tensor([source_vocab.encode("one two three")]), torch.tensor([3]), max_length=5
    )
    assert explorer.output == [target_vocab.itos[k] for k in tokens[0]]
    np.testing.assert_allclose(explorer.ax.images[0].get_array(), maps[0].numpy())
    assert [label.get_text() for label in explorer.ax.get_xticklabels()] == ["one", "two", "three"]
    written = "".join(t for t in explorer.output if t != "<eos>")
    assert explorer.message.startswith(f"one two three → {written}")
    assert model.training, "the explorer puts the model back in the mode it found it in"

    shown = shown_png(explorer)
    explorer.controls["source"].value = "five four"
    assert explorer.weights.shape == (len(explorer.output), 2)
    np.testing.assert_allclose(explorer.weights.sum(-1), 1, rtol=1e-6)
    assert explorer.message.startswith("five four → ")
    assert shown_png(explorer) != shown


def test_an_unknown_word_is_named_with_what_the_model_knows(translator):
    explorer = AttentionExplorer(*translator, source="one", max_length=3)
    shown = explorer.view.value
    explorer.controls["source"].value = "one six"
    assert explorer.message == (
        "not in the model's vocabulary: 'six' (it knows 5 words: five, four, one, three, two)"
    )
    assert explorer.view.value == shown
    explorer.controls["source"].value = "   "
    assert explorer.message == "type a sentence: a number in words"


def test_bad_attention_explorer_arguments_are_named(translator):
    model, source_vocab, target_vocab = translator
    plain = Seq2Seq(
        Encoder(len(source_vocab), 4, 4), Decoder(len(target_vocab), 4, 4), bos_id=2, eos_id=3
    )
    with pytest.raises(TypeError, match="model must be a Seq2Seq with attention"):
        AttentionExplorer(plain, source_vocab, target_vocab, source="one", max_length=3)
    with pytest.raises(ValueError, match="source_vocab must be word-level"):
        AttentionExplorer(model, target_vocab, target_vocab, source="1", max_length=3)
    with pytest.raises(TypeError, match="target_vocab must be a helpers.text.Vocab, got dict"):
        AttentionExplorer(model, source_vocab, {}, source="one", max_length=3)
    with pytest.raises(ValueError, match="max_length"):
        AttentionExplorer(model, source_vocab, target_vocab, source="one", max_length=0)
    with pytest.raises(ValueError, match="not in the model's vocabulary: 'seven'"):
        AttentionExplorer(model, source_vocab, target_vocab, source="seven", max_length=3)
