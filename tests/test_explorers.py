"""The interactive explorers (helpers.explorers): the numbers they plot, and controls that update them."""

import base64
import re
import matplotlib
import numpy as np
import pytest
import torch

from helpers.explorers import GradientFlowExplorer, memory_gradient_norms, random_recurrent_layer

matplotlib.use("Agg")


# --------------------------------------------------------------------------- the numbers


@pytest.mark.parametrize("unit", ["RNN", "LSTM"])
@pytest.mark.parametrize("radius", [0.5, 1.0, 1.3])
def test_every_recurrent_block_has_the_requested_spectral_radius(unit, radius):
    H = 8
    _, W_h, b, x, v = random_recurrent_layer(unit, spectral_radius=radius, hidden_size=H,
                                             length=5, forget_bias=3.0)
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
    W_x, W_h, b, x, v = (t.numpy() for t in random_recurrent_layer("RNN", spectral_radius=1.2,
                                                                     length=T))
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
            _, (h, c) = lstm(x[t:t + 1], (h, c))
            cells.append((h.clone(), c.clone()))

        def readout_from(t, c_t):
            """v . h_T after step t's cell is replaced by c_t, and h_t = o_t tanh(c_t) with it."""
            h_before = cells[t - 1][0] if t > 0 else torch.zeros(1, H, dtype=torch.float64)
            o_t = torch.sigmoid(x[t] @ W_x[:, 3 * H:] + h_before @ W_h[:, 3 * H:] + b[3 * H:])
            _, (h_T, _) = lstm(x[t + 1:], (o_t * torch.tanh(c_t), c_t))
            return (h_T[0] @ v).item()

        norms = memory_gradient_norms("LSTM", **kwargs)
        for t in (2, 6, 10):
            epsilon = 1e-6
            gradient = []
            for i in range(H):
                step = torch.zeros(1, H, dtype=torch.float64)
                step[0, i] = epsilon
                gradient.append((readout_from(t, cells[t][1] + step)
                                 - readout_from(t, cells[t][1] - step)) / (2 * epsilon))
            assert norms[T - 1 - t] == pytest.approx(np.linalg.norm(gradient), rel=1e-6)


def test_a_larger_forget_bias_keeps_more_of_the_lstm_gradient():
    low = memory_gradient_norms("LSTM", spectral_radius=1.0, forget_bias=0.0, length=60)
    high = memory_gradient_norms("LSTM", spectral_radius=1.0, forget_bias=4.0, length=60)
    assert high[59] > 1e3 * low[59]


@pytest.mark.parametrize("kwargs, message", [
    (dict(unit="GRU", spectral_radius=1.0), "unit must be one of 'RNN', 'LSTM'; got 'GRU'"),
    (dict(unit="RNN", spectral_radius=1.0, nonlinearity="sigmoid"), "nonlinearity must be one of"),
    (dict(unit="RNN", spectral_radius=0), "spectral_radius must be a positive number, got 0"),
    (dict(unit="RNN", spectral_radius=True), "spectral_radius must be a positive number"),
    (dict(unit="RNN", spectral_radius=1.0, length=0), "length must be an int >= 1, got 0"),
    (dict(unit="RNN", spectral_radius=1.0, length=2.5), "length must be an int >= 1, got 2.5"),
])
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
    assert explorer.settings() == {"spectral_radius": 1.0, "nonlinearity": "tanh",
                                   "length": 100, "forget_bias": 2.0}
    lines = plotted(explorer)
    assert set(lines) == {"vanilla", "LSTM,"} and len(lines["vanilla"]) == 100
    np.testing.assert_allclose(lines["LSTM,"], explorer.norms["LSTM"])
    np.testing.assert_allclose(lines["vanilla"], memory_gradient_norms(
        "RNN", spectral_radius=1.0, nonlinearity="tanh", length=100))
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
    np.testing.assert_allclose(plotted(explorer)["vanilla"], memory_gradient_norms(
        "RNN", spectral_radius=0.6, nonlinearity="linear", length=100))

    explorer.controls["length"].value = 30
    assert {len(line.get_xdata()) for line in explorer.ax.lines} == {30}
    assert shown_png(explorer) != shown, "the image shown follows the controls"
    assert "T = 30" in explorer.view.value
