"""helpers.attention: the masked softmax and the three scoring functions, against direct computation."""

import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers.attention import (
    AdditiveAttention,
    DotProductAttention,
    MultiplicativeAttention,
    masked_softmax,
)

DTYPE = torch.float64


def randn(*shape, seed=0):
    return torch.randn(*shape, dtype=DTYPE, generator=torch.Generator().manual_seed(seed))


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 4), st.integers(1, 3), st.integers(1, 6), st.data())
def test_masked_softmax_sums_to_one_over_valid_positions_and_is_exactly_zero_elsewhere(
    N, Q, K, data
):
    lens = torch.tensor(data.draw(st.lists(st.integers(0, K), min_size=N, max_size=N)))
    scores = randn(N, Q, K, seed=data.draw(st.integers(0, 100))) * 30  # large scores too
    weights = masked_softmax(scores, lens)
    assert weights.shape == (N, Q, K) and not weights.isnan().any()
    for n, length in enumerate(lens.tolist()):
        assert torch.all(weights[n, :, length:] == 0)
        if length:
            torch.testing.assert_close(weights[n].sum(-1), torch.ones(Q, dtype=DTYPE))
            torch.testing.assert_close(
                weights[n, :, :length], torch.softmax(scores[n, :, :length], -1)
            )
        else:
            assert torch.all(weights[n] == 0)


def test_masked_softmax_takes_one_length_per_query_and_none_for_all_positions():
    scores = randn(2, 3, 4)
    lens = torch.tensor([[1, 2, 4], [0, 3, 3]])
    weights = masked_softmax(scores, lens)
    for n in range(2):
        for q in range(3):
            length = int(lens[n, q])
            assert torch.all(weights[n, q, length:] == 0)
            if length:
                torch.testing.assert_close(
                    weights[n, q, :length], torch.softmax(scores[n, q, :length], -1)
                )
    torch.testing.assert_close(masked_softmax(scores), torch.softmax(scores, -1))


def test_a_fully_masked_row_passes_finite_zero_gradients():
    scores = randn(2, 1, 3).requires_grad_()
    weights = masked_softmax(scores, torch.tensor([0, 2]))
    (weights * randn(2, 1, 3, seed=1)).sum().backward()
    assert torch.isfinite(scores.grad).all()
    assert torch.all(scores.grad[0] == 0) and torch.all(scores.grad[1, :, 2] == 0)
    assert scores.grad[1, :, :2].abs().sum() > 0


def test_additive_attention_is_v_tanh_of_the_projections_for_every_pair():
    torch.manual_seed(0)
    attention = AdditiveAttention(3, 5, 4, dtype=DTYPE)
    queries, keys, values = randn(2, 2, 3), randn(2, 4, 5, seed=1), randn(2, 4, 6, seed=2)
    lens = torch.tensor([4, 2])
    context, weights = attention(queries, keys, values, lens)
    W_q, W_k, v = attention.W_q.weight, attention.W_k.weight, attention.v.weight[0]
    for n in range(2):
        for q in range(2):
            length = int(lens[n])
            scores = torch.stack(
                [v @ torch.tanh(W_q @ queries[n, q] + W_k @ keys[n, k]) for k in range(length)]
            )
            expected = torch.softmax(scores, 0)
            torch.testing.assert_close(weights[n, q, :length], expected)
            assert torch.all(weights[n, q, length:] == 0)
            torch.testing.assert_close(context[n, q], expected @ values[n, :length])


@pytest.mark.parametrize("scaled", [True, False])
def test_dot_product_attention_is_the_softmax_of_q_dot_k(scaled):
    queries, keys, values = randn(2, 3, 4), randn(2, 5, 4, seed=1), randn(2, 5, 2, seed=2)
    context, weights = DotProductAttention(scaled=scaled)(
        queries, keys, values, torch.tensor([5, 3])
    )
    for n, length in enumerate((5, 3)):
        for q in range(3):
            scores = torch.stack([queries[n, q] @ keys[n, k] for k in range(length)])
            expected = torch.softmax(scores / (math.sqrt(4) if scaled else 1), 0)
            torch.testing.assert_close(weights[n, q, :length], expected)
            torch.testing.assert_close(context[n, q], expected @ values[n, :length])


def test_multiplicative_attention_is_the_softmax_of_q_w_k():
    torch.manual_seed(0)
    attention = MultiplicativeAttention(3, 5, dtype=DTYPE)
    queries, keys, values = randn(1, 2, 3), randn(1, 4, 5, seed=1), randn(1, 4, 2, seed=2)
    context, weights = attention(queries, keys, values)
    W = attention.W.weight  # (Dq, Dk)
    for q in range(2):
        scores = torch.stack([queries[0, q] @ W @ keys[0, k] for k in range(4)])
        torch.testing.assert_close(weights[0, q], torch.softmax(scores, 0))
        torch.testing.assert_close(context[0, q], torch.softmax(scores, 0) @ values[0])


@pytest.mark.parametrize(
    "make",
    [
        lambda: AdditiveAttention(3, 3, 4, dtype=DTYPE),
        lambda: DotProductAttention(),
        lambda: MultiplicativeAttention(3, 3, dtype=DTYPE),
    ],
)
def test_padded_keys_give_each_sequence_the_context_it_gets_alone(make):
    torch.manual_seed(0)
    attention = make()
    queries, keys, values = randn(3, 2, 3), randn(3, 5, 3, seed=1), randn(3, 5, 4, seed=2)
    lens = torch.tensor([5, 2, 4])
    keys_with_junk = keys.clone()
    for n, length in enumerate(lens.tolist()):
        keys_with_junk[n, length:] = 1e3  # padding that would dominate an unmasked softmax
    context, weights = attention(queries, keys_with_junk, values, lens)
    for n, length in enumerate(lens.tolist()):
        alone, _ = attention(
            queries[n : n + 1], keys[n : n + 1, :length], values[n : n + 1, :length]
        )
        torch.testing.assert_close(context[n], alone[0])


@pytest.mark.parametrize(
    "call, error, words",
    [
        (lambda: masked_softmax(torch.zeros(2, 3)), ValueError, r"scores must have 3 dimensions"),
        (
            lambda: masked_softmax(torch.zeros(2, 1, 3), torch.tensor([1.0, 2.0])),
            TypeError,
            "integer",
        ),
        (
            lambda: masked_softmax(torch.zeros(2, 1, 3), torch.tensor([1, 2, 3])),
            ValueError,
            r"\(N,\) = \(2,\)",
        ),
        (
            lambda: masked_softmax(torch.zeros(2, 1, 3), torch.tensor([1, 4])),
            ValueError,
            "between 0 and K = 3",
        ),
        (
            lambda: masked_softmax(torch.zeros(2, 1, 3, dtype=torch.long)),
            TypeError,
            "floating-point",
        ),
        (
            lambda: DotProductAttention()(
                torch.zeros(1, 2, 3), torch.zeros(1, 4, 5), torch.zeros(1, 4, 2)
            ),
            ValueError,
            "Dq = 3 and Dk = 5",
        ),
        (
            lambda: DotProductAttention()(
                torch.zeros(1, 2, 3), torch.zeros(1, 4, 3), torch.zeros(1, 5, 2)
            ),
            ValueError,
            "values has shape",
        ),
        (
            lambda: DotProductAttention()(
                torch.zeros(1, 2, 3), torch.zeros(1, 4, 3, dtype=DTYPE), torch.zeros(1, 4, 2)
            ),
            ValueError,
            "keys is torch.float64",
        ),
        (
            lambda: AdditiveAttention(3, 5, 4)(
                torch.zeros(1, 2, 4), torch.zeros(1, 4, 5), torch.zeros(1, 4, 2)
            ),
            ValueError,
            "query_size",
        ),
        (lambda: DotProductAttention(scaled="yes"), ValueError, "scaled"),
        (lambda: AdditiveAttention(3, 0, 4), ValueError, "key_size"),
    ],
)
def test_bad_input_is_rejected_clearly(call, error, words):
    with pytest.raises(error, match=words):
        call()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_attention_runs_on_the_gpu_and_agrees_with_the_cpu():
    torch.manual_seed(0)
    attention = AdditiveAttention(3, 3, 4, dtype=DTYPE)
    args = (randn(2, 2, 3), randn(2, 4, 3, seed=1), randn(2, 4, 2, seed=2), torch.tensor([4, 1]))
    on_cpu = attention(*args)
    on_gpu = attention.cuda()(*(a.cuda() for a in args))
    for a, b in zip(on_gpu, on_cpu):
        torch.testing.assert_close(a.cpu(), b)
