"""Truncated BPTT, TBPTT(k1, k2): exact with k2 >= T, equal to chunking with k1 = k2, equal to
dropping exactly the gaps >= k2 with k1 = 1 (checked against an independent numpy sum over
pairs of steps), and its windows and argument checks."""

import numpy as np
import pytest
import torch

from helpers.tbptt import sum_cross_entropy, tbptt_backward, tbptt_windows

N, T, D, H, C = 3, 17, 2, 5, 4


@pytest.fixture
def problem():
    torch.manual_seed(0)
    rnn = torch.nn.RNN(D, H, batch_first=True, dtype=torch.float64)
    head = torch.nn.Linear(H, C, dtype=torch.float64)
    with torch.no_grad():
        rnn.weight_hh_l0.mul_(2.0)  # long gaps matter, so truncation visibly changes the gradient
    x = torch.randn(N, T, D, dtype=torch.float64)
    y = torch.randint(0, C, (N, T))
    return rnn, head, x, y


def gradients(modules):
    return {
        f"{i}.{name}": p.grad.clone()
        for i, m in enumerate(modules)
        for name, p in m.named_parameters()
    }


def full_gradients(rnn, head, x, y, h0=None):
    rnn.zero_grad()
    head.zero_grad()
    outputs, _ = rnn(x, h0)
    loss = sum_cross_entropy(head(outputs), y)
    loss.backward()
    return loss.item(), gradients([rnn, head])


def tbptt_gradients(rnn, head, x, y, k1, k2, **kwargs):
    rnn.zero_grad()
    head.zero_grad()
    result = tbptt_backward(rnn, head, x, y, k1=k1, k2=k2, **kwargs)
    return result, gradients([rnn, head])


def assert_same(a, b, tolerance=1e-12):
    assert a.keys() == b.keys()
    for name in a:
        assert torch.allclose(a[name], b[name], rtol=0, atol=tolerance), name


@pytest.mark.parametrize("k1", [1, 3, 5, T])
def test_k2_at_least_T_gives_the_exact_gradient(problem, k1):
    rnn, head, x, y = problem
    loss, exact = full_gradients(rnn, head, x, y)
    result, truncated = tbptt_gradients(rnn, head, x, y, k1, T + 3)
    assert_same(truncated, exact)
    assert result.loss == pytest.approx(loss, rel=1e-12)


def test_the_exact_gradient_with_a_given_initial_state(problem):
    rnn, head, x, y = problem
    h0 = torch.randn(1, N, H, dtype=torch.float64)
    _, exact = full_gradients(rnn, head, x, y, h0)
    _, truncated = tbptt_gradients(rnn, head, x, y, 4, T, h0=h0)
    assert_same(truncated, exact)


def test_lstm_state_pairs_work(problem):
    _, head, x, y = problem
    torch.manual_seed(1)
    lstm = torch.nn.LSTM(D, H, batch_first=True, dtype=torch.float64)
    _, exact = full_gradients(lstm, head, x, y)
    _, truncated = tbptt_gradients(lstm, head, x, y, 3, T)
    assert_same(truncated, exact)
    _, chunked = tbptt_gradients(lstm, head, x, y, 3, 3)
    assert (chunked["0.weight_hh_l0"] - exact["0.weight_hh_l0"]).abs().max() > 1e-6


@pytest.mark.parametrize("K", [1, 4, 8])
def test_k1_equal_k2_is_chunking_with_detach(problem, K):
    rnn, head, x, y = problem
    x, y = x[:, :16], y[:, :16]  # K divides the length: the last chunk is whole
    rnn.zero_grad()
    head.zero_grad()
    h = None
    for start in range(0, 16, K):  # the practice: chunks, the state detached between them
        outputs, h = rnn(x[:, start : start + K], None if h is None else h.detach())
        sum_cross_entropy(head(outputs), y[:, start : start + K]).backward()
    chunked = gradients([rnn, head])
    _, truncated = tbptt_gradients(rnn, head, x, y, K, K)
    assert_same(truncated, chunked)


def recurrent_gradient_by_gap(rnn, head, x, y):
    """dL/dW_hh (book's orientation, H x H) split by the gap t - k, in numpy, (T, H, H)."""
    W_xh = rnn.weight_ih_l0.detach().numpy().T
    W_hh = rnn.weight_hh_l0.detach().numpy().T
    b_h = (rnn.bias_ih_l0 + rnn.bias_hh_l0).detach().numpy()
    W_hy = head.weight.detach().numpy().T
    b_y = head.bias.detach().numpy()
    xs, ys = x.numpy(), y.numpy()
    h = [np.zeros((N, H))]
    for t in range(T):
        h.append(np.tanh(xs[:, t] @ W_xh + h[-1] @ W_hh + b_h))
    logits = np.stack(h[1:], axis=1) @ W_hy + b_y
    p = np.exp(logits - logits.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    p[np.arange(N)[:, None], np.arange(T)[None], ys] -= 1
    g = p / N
    by_gap = np.zeros((T, H, H))
    for t in range(T):
        row = g[:, t] @ W_hy.T
        for k in range(t, -1, -1):
            eps = row * (1 - h[k + 1] ** 2)
            by_gap[t - k] += h[k].T @ eps
            row = eps @ W_hh.T
    return by_gap


@pytest.mark.parametrize("K", [1, 3, 8])
def test_k1_one_drops_exactly_the_gaps_of_k2_or_more(problem, K):
    rnn, head, x, y = problem
    by_gap = recurrent_gradient_by_gap(rnn, head, x, y)
    _, exact = full_gradients(rnn, head, x, y)
    np.testing.assert_allclose(by_gap.sum(0), exact["0.weight_hh_l0"].numpy().T, atol=1e-12)
    _, truncated = tbptt_gradients(rnn, head, x, y, 1, K)
    np.testing.assert_allclose(
        truncated["0.weight_hh_l0"].numpy().T, by_gap[:K].sum(0), rtol=0, atol=1e-12
    )
    if K < T:
        assert np.abs(by_gap[K:].sum(0)).max() > 1e-6  # the dropped terms were not nothing


def test_overlap_is_more_accurate_than_chunks(problem):
    rnn, head, x, y = problem
    _, exact = full_gradients(rnn, head, x, y)
    error = {}
    for k1, k2 in [(4, 4), (2, 4), (1, 4)]:
        _, truncated = tbptt_gradients(rnn, head, x, y, k1, k2)
        error[k1] = (truncated["0.weight_hh_l0"] - exact["0.weight_hh_l0"]).norm().item()
    assert error[1] < error[2] < error[4]


def test_windows():
    assert tbptt_windows(12, 4, 6) == [(0, 0, 4), (2, 4, 8), (6, 8, 12)]
    # the last window holds the 2 steps left but still reaches k2 = 4 steps back
    assert tbptt_windows(10, 4, 4) == [(0, 0, 4), (4, 4, 8), (6, 8, 10)]
    assert tbptt_windows(5, 1, 2) == [(0, 0, 1), (0, 1, 2), (1, 2, 3), (2, 3, 4), (3, 4, 5)]
    assert tbptt_windows(5, 2, 100) == [(0, 0, 2), (0, 2, 4), (0, 4, 5)]
    for length, k1, k2 in [(17, 3, 7), (9, 9, 9), (30, 1, 5)]:
        windows = tbptt_windows(length, k1, k2)
        losses = [t for _, first, end in windows for t in range(first, end)]
        assert losses == list(range(length))  # every loss exactly once
        assert all(end - start <= k2 for start, _, end in windows)


def test_backward_steps_count_the_cost(problem):
    rnn, head, x, y = problem
    assert tbptt_gradients(rnn, head, x, y, T, T)[0].backward_steps == T
    K = 4
    expected = sum(min(t + 1, K) for t in range(T))
    assert tbptt_gradients(rnn, head, x, y, 1, K)[0].backward_steps == expected


@pytest.mark.parametrize("k1, k2", [(5, 3), (0, 3), (2, 0), (1.5, 3), (True, 3)])
def test_bad_k_is_refused(k1, k2):
    with pytest.raises(ValueError, match="k1|k2"):
        tbptt_windows(10, k1, k2)


def test_bad_arguments_are_refused(problem):
    rnn, head, x, y = problem
    time_first = torch.nn.RNN(D, H, dtype=torch.float64)
    with pytest.raises(TypeError, match="batch_first"):
        tbptt_backward(time_first, head, x, y, k1=2, k2=4)
    with pytest.raises(ValueError, match=r"\(N, T, D\)"):
        tbptt_backward(rnn, head, x[0], y, k1=2, k2=4)
    with pytest.raises(ValueError, match="targets"):
        tbptt_backward(rnn, head, x, y[:, :-1], k1=2, k2=4)
