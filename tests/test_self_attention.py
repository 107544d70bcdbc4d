"""helpers.attention.SelfAttention: one head of torch.nn.MultiheadAttention, causal or not, padded or not."""

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from helpers.attention import SelfAttention

DTYPE = torch.float64


def randn(*shape, seed=0):
    return torch.randn(*shape, dtype=DTYPE, generator=torch.Generator().manual_seed(seed))


def torch_twin(attention):
    """``nn.MultiheadAttention`` with one head holding the weights of ``attention``."""
    D = attention.embed_dim
    mha = nn.MultiheadAttention(D, 1, batch_first=True, dtype=DTYPE)
    projections = (attention.W_q, attention.W_k, attention.W_v)
    with torch.no_grad():
        mha.in_proj_weight.copy_(torch.cat([p.weight for p in projections]))
        mha.in_proj_bias.copy_(torch.cat([p.bias for p in projections]))
        mha.out_proj.weight.copy_(attention.W_o.weight)
        mha.out_proj.bias.copy_(attention.W_o.bias)
    return mha.eval()


def torch_call(mha, x, lengths, causal):
    N, T, _ = x.shape
    padding = None if lengths is None else torch.arange(T)[None, :] >= lengths[:, None]
    future = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1) if causal else None
    return mha(x, x, x, key_padding_mask=padding, attn_mask=future, need_weights=True)


@pytest.mark.parametrize("causal", [False, True])
def test_matches_torch_multihead_attention_with_one_head(causal):
    torch.manual_seed(0)
    attention = SelfAttention(5, causal=causal, dtype=DTYPE)
    x = randn(3, 4, 5)
    outputs, weights = attention(x)
    expected_outputs, expected_weights = torch_call(torch_twin(attention), x, None, causal)
    assert outputs.shape == (3, 4, 5) and weights.shape == (3, 4, 4)
    torch.testing.assert_close(outputs, expected_outputs)
    torch.testing.assert_close(weights, expected_weights)
    torch.testing.assert_close(weights.sum(-1), torch.ones(3, 4, dtype=DTYPE))
    if causal:
        assert torch.all(weights.triu(diagonal=1) == 0)
    else:
        assert torch.all(weights > 0)


@settings(max_examples=40, deadline=None)
@given(
    N=st.integers(1, 3),
    T=st.integers(1, 6),
    D=st.integers(1, 6),
    causal=st.booleans(),
    data=st.data(),
)
def test_matches_torch_on_the_real_positions_of_padded_sequences(N, T, D, causal, data):
    lengths = torch.tensor(data.draw(st.lists(st.integers(1, T), min_size=N, max_size=N)))
    torch.manual_seed(data.draw(st.integers(0, 1000)))
    attention = SelfAttention(D, causal=causal, dtype=DTYPE)
    x = randn(N, T, D, seed=data.draw(st.integers(0, 1000)))
    outputs, weights = attention(x, lengths)
    expected_outputs, expected_weights = torch_call(torch_twin(attention), x, lengths, causal)
    for n, length in enumerate(lengths.tolist()):
        torch.testing.assert_close(outputs[n, :length], expected_outputs[n, :length])
        torch.testing.assert_close(weights[n, :length], expected_weights[n, :length])
        assert torch.all(weights[n, :, length:] == 0), "a padded position was attended to"


@pytest.mark.parametrize("causal", [False, True])
def test_padded_sequences_give_their_real_positions_what_they_get_alone(causal):
    torch.manual_seed(1)
    attention = SelfAttention(4, causal=causal, dtype=DTYPE)
    x = randn(3, 5, 4)
    lengths = torch.tensor([5, 2, 3])
    junk = x.clone()
    for n, length in enumerate(lengths.tolist()):
        junk[n, length:] = 1e3  # padding that would dominate if it were attended to
    outputs, weights = attention(junk, lengths)
    for n, length in enumerate(lengths.tolist()):
        alone, alone_weights = attention(x[n : n + 1, :length])
        torch.testing.assert_close(outputs[n, :length], alone[0])
        torch.testing.assert_close(weights[n, :length, :length], alone_weights[0])


def test_a_causal_output_ignores_the_future_and_a_plain_one_does_not():
    torch.manual_seed(2)
    causal, plain = SelfAttention(4, causal=True, dtype=DTYPE), SelfAttention(4, dtype=DTYPE)
    plain.load_state_dict(causal.state_dict())
    x = randn(2, 6, 4)
    for t in range(5):
        changed = x.clone()
        changed[:, t + 1 :] = randn(2, 5 - t, 4, seed=t + 10)
        torch.testing.assert_close(
            causal(changed)[0][:, : t + 1], causal(x)[0][:, : t + 1], atol=0, rtol=0
        )
        assert not torch.allclose(plain(changed)[0][:, : t + 1], plain(x)[0][:, : t + 1])
    # the first position attends to itself alone: its output is W_o(W_v x_0)
    torch.testing.assert_close(causal(x)[0][:, 0], causal.W_o(causal.W_v(x[:, 0])))


def test_gradients_reach_the_inputs_and_every_weight():
    torch.manual_seed(3)
    attention = SelfAttention(4, causal=True, dtype=DTYPE)
    x = randn(2, 3, 4).requires_grad_()
    outputs, _ = attention(x, torch.tensor([3, 2]))
    (outputs[0].sum() + outputs[1, :2].sum()).backward()
    assert x.grad is not None and torch.isfinite(x.grad).all()
    assert x.grad[0].abs().sum() > 0 and x.grad[1, :2].abs().sum() > 0
    assert torch.all(x.grad[1, 2] == 0), "the padded input must not affect real outputs"
    for name, parameter in attention.named_parameters():
        assert parameter.grad is not None and parameter.grad.abs().sum() > 0, name


def test_gradients_agree_with_torch():
    torch.manual_seed(4)
    attention = SelfAttention(3, causal=True, dtype=DTYPE)
    mha = torch_twin(attention)
    x = randn(2, 4, 3)
    ours, theirs = x.clone().requires_grad_(), x.clone().requires_grad_()
    target = randn(2, 4, 3, seed=1)
    (attention(ours)[0] * target).sum().backward()
    (torch_call(mha, theirs, None, True)[0] * target).sum().backward()
    torch.testing.assert_close(ours.grad, theirs.grad)
    torch.testing.assert_close(attention.W_o.weight.grad, mha.out_proj.weight.grad)
    in_proj = torch.cat(
        [attention.W_q.weight.grad, attention.W_k.weight.grad, attention.W_v.weight.grad]
    )
    torch.testing.assert_close(in_proj, mha.in_proj_weight.grad)


@pytest.mark.parametrize(
    "call, error, words",
    [
        (lambda a: a(torch.zeros(3, 4, dtype=DTYPE)), ValueError, "x must have 3 dimensions"),
        (lambda a: a(torch.zeros(1, 3, 5, dtype=DTYPE)), ValueError, "embed_dim"),
        (lambda a: a(torch.zeros(1, 3, 4, dtype=torch.long)), TypeError, "floating-point"),
        (lambda a: a("x"), TypeError, "x"),
        (
            lambda a: a(torch.zeros(2, 3, 4, dtype=DTYPE), torch.tensor([3, 0])),
            ValueError,
            "between 1 and T = 3",
        ),
        (
            lambda a: a(torch.zeros(2, 3, 4, dtype=DTYPE), torch.tensor([3, 4])),
            ValueError,
            "between 1 and T = 3",
        ),
        (
            lambda a: a(torch.zeros(2, 3, 4, dtype=DTYPE), torch.tensor([3])),
            ValueError,
            r"lengths must be an integer tensor of shape \(N,\) = \(2,\)",
        ),
        (
            lambda a: a(torch.zeros(2, 3, 4, dtype=DTYPE), torch.tensor([3.0, 2.0])),
            ValueError,
            "lengths must be an integer tensor",
        ),
        (lambda a: a(torch.zeros(2, 3, 4, dtype=DTYPE), [3, 2]), ValueError, "lengths"),
        (lambda a: SelfAttention(0), ValueError, "embed_dim"),
        (lambda a: SelfAttention(4, causal="yes"), ValueError, "causal"),
        (lambda a: SelfAttention(4, causal=1), ValueError, "causal"),
    ],
)
def test_bad_input_is_rejected_clearly(call, error, words):
    with pytest.raises(error, match=words):
        call(SelfAttention(4, dtype=DTYPE))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_self_attention_runs_on_the_gpu_and_agrees_with_the_cpu():
    torch.manual_seed(0)
    attention = SelfAttention(4, causal=True, dtype=DTYPE)
    x, lengths = randn(2, 3, 4), torch.tensor([3, 1])
    on_cpu = attention(x, lengths)
    on_gpu = attention.cuda()(x.cuda(), lengths.cuda())
    for a, b in zip(on_gpu, on_cpu):
        torch.testing.assert_close(a.cpu(), b)
