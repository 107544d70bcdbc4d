"""helpers.forget_gate: the 1997 LSTM (forget gate held at 1) and the continual adding stream."""

import pytest
import torch

import helpers.modules
from helpers.forget_gate import (
    StreamRegressor,
    continual_adding,
    no_forget_model,
    pin_forget_gate,
    set_input_bias,
    stream_model,
)


def no_forget_reference(lstm, x):
    """c_t = c_{t-1} + i_t g_t, h_t = o_t tanh(c_t), written out; x (N, T, D), batch first."""
    H = lstm.hidden_size
    h = x.new_zeros(x.shape[0], H)
    c = torch.zeros_like(h)
    outputs = []
    for t in range(x.shape[1]):
        a = (
            x[:, t] @ lstm.weight_ih_l0.T
            + lstm.bias_ih_l0
            + h @ lstm.weight_hh_l0.T
            + lstm.bias_hh_l0
        )
        i, g, o = (
            torch.sigmoid(a[:, :H]),
            torch.tanh(a[:, 2 * H : 3 * H]),
            torch.sigmoid(a[:, 3 * H :]),
        )
        c = c + i * g
        h = o * torch.tanh(c)
        outputs.append(h)
    return torch.stack(outputs, dim=1), c


@pytest.mark.parametrize("module", [torch.nn.LSTM, helpers.modules.LSTM])
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_a_pinned_lstm_is_the_lstm_without_forget_gate(module, dtype):
    torch.manual_seed(0)
    lstm = pin_forget_gate(module(3, 6, batch_first=True, dtype=dtype))
    x = torch.randn(4, 30, 3, dtype=dtype)
    outputs, (_, c_n) = lstm(x)
    with torch.no_grad():
        want_outputs, want_c = no_forget_reference(lstm, x)
    tolerance = 1e-12 if dtype == torch.float64 else 1e-5
    torch.testing.assert_close(outputs, want_outputs, atol=tolerance, rtol=0)
    torch.testing.assert_close(c_n[0], want_c, atol=tolerance * 10, rtol=0)


def test_the_pinned_forget_gate_gets_no_gradient_and_stays_pinned():
    torch.manual_seed(0)
    lstm = pin_forget_gate(torch.nn.LSTM(3, 6, batch_first=True))
    pinned = {name: p[6:12].detach().clone() for name, p in lstm.named_parameters()}
    optimizer = torch.optim.Adam(lstm.parameters(), lr=0.1)
    for _ in range(3):
        optimizer.zero_grad()
        lstm(torch.randn(5, 20, 3))[0].pow(2).sum().backward()
        for name, p in lstm.named_parameters():
            assert not p.grad[6:12].any(), name
        optimizer.step()
    for name, p in lstm.named_parameters():
        torch.testing.assert_close(p[6:12].detach(), pinned[name])


def test_set_input_bias_sets_the_total_input_gate_bias():
    lstm = set_input_bias(torch.nn.LSTM(2, 4), -3.0)
    torch.testing.assert_close(
        (lstm.bias_ih_l0 + lstm.bias_hh_l0)[:4].detach(), torch.full((4,), -3.0)
    )
    with pytest.raises(ValueError, match="value must be a finite number"):
        set_input_bias(lstm, float("nan"))
    with pytest.raises(TypeError, match="lstm must be a torch.nn.LSTM"):
        set_input_bias(torch.nn.GRU(2, 4), 1.0)


def test_no_forget_model_starts_from_run_addings_lstm_weights():
    torch.manual_seed(5)
    reference = helpers.experiments.LastStateRegressor("LSTM", 2, 32)
    model = no_forget_model(seed=5, input_bias=-3.0)
    H = 32
    for name, p in model.rnn.named_parameters():
        q = dict(reference.rnn.named_parameters())[name]
        torch.testing.assert_close(p[2 * H :].detach(), q[2 * H :].detach())  # g and o untouched
    assert (model.rnn.bias_ih_l0[:H] + model.rnn.bias_hh_l0[:H] == -3.0).all()


def test_continual_adding_is_adding_problems_back_to_back_with_their_ends_marked():
    x, y = continual_adding(6, 4, 5, seed=0)
    assert x.shape == (6, 20, 3) and y.shape == (6, 4)
    segments = x.reshape(6, 4, 5, 3)
    assert (segments[..., 1].sum(-1) == 2).all(), "two markers per segment"
    assert (segments[..., 2].sum(-1) == 1).all() and (segments[:, :, -1, 2] == 1).all()
    sums = (segments[..., 0] * segments[..., 1]).sum(-1)
    torch.testing.assert_close(sums, y)
    again, _ = continual_adding(6, 4, 5, seed=0)
    torch.testing.assert_close(x, again)


def test_the_stream_model_answers_at_every_segment_end():
    model = stream_model(seed=0, forget_gate=False, input_bias=-3.0)
    assert isinstance(model, StreamRegressor)
    x, y = continual_adding(3, 4, 5, seed=1)
    answers = model(x)
    assert answers.shape == y.shape
    states, _ = model.rnn(x)
    torch.testing.assert_close(answers[:, 1], model.read_out(states[:, 9]).squeeze(-1))
