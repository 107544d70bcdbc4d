"""The checks of the attention exercises: right answers pass, the classic mistakes are named."""

import math

import pytest
import torch
import torch.nn.functional as F

import helpers.exercises
from helpers.attention import masked_softmax
from helpers.exercises import (
    CheckFailed,
    check_causal_self_attention,
    check_masked_sequence_loss,
    check_masked_softmax,
)


def failure_text(check, fn):
    with pytest.raises(CheckFailed) as caught:
        check(fn)
    return str(caught.value)


# --------------------------------------------------------------------------- masked loss


def real_positions(lengths, T):
    return torch.arange(T)[None, :] < lengths[:, None]


def token_losses(logits, targets):
    return F.cross_entropy(logits.transpose(1, 2), targets, reduction="none")


def loss_with_ignore_index(logits, targets, lengths):
    mask = real_positions(lengths, logits.shape[1])
    ignored = torch.where(mask, targets, -100)
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), ignored.reshape(-1))


def loss_with_log_softmax(logits, targets, lengths):
    log_p = torch.log_softmax(logits, dim=-1).gather(-1, targets[..., None])[..., 0]
    mask = real_positions(lengths, logits.shape[1])
    return -(log_p * mask).sum() / lengths.sum()


def loss_one_sequence_at_a_time(logits, targets, lengths):
    total = logits.new_zeros(())
    for n, length in enumerate(lengths.tolist()):
        total = total + F.cross_entropy(logits[n, :length], targets[n, :length], reduction="sum")
    return total / lengths.sum()


@pytest.mark.parametrize(
    "right", [loss_with_ignore_index, loss_with_log_softmax, loss_one_sequence_at_a_time]
)
def test_right_losses_pass(right):
    result = check_masked_sequence_loss(right)
    assert result.passed and not result.failures
    assert any("gradient w.r.t. logits matches" in m for m in result.messages)


def off_by_one(plus):
    def loss(logits, targets, lengths):
        steps = torch.arange(logits.shape[1])[None, :]
        mask = steps <= lengths[:, None] if plus else steps < lengths[:, None] - 1
        return token_losses(logits, targets)[mask].mean()

    return loss


def loss_mistakes():
    def sum_real(logits, targets, lengths):
        return token_losses(logits, targets)[real_positions(lengths, logits.shape[1])].sum()

    def masked(logits, targets, lengths):
        return token_losses(logits, targets) * real_positions(lengths, logits.shape[1])

    return [
        (lambda z, t, lengths: token_losses(z, t).mean(), "the padded positions are counted"),
        (lambda z, t, lengths: masked(z, t, lengths).mean(), "zeroed but still counted"),
        (
            lambda z, t, lengths: (masked(z, t, lengths).sum(1) / lengths).mean(),
            "mean of the per-sequence means",
        ),
        (sum_real, "the sum of the real tokens' losses, not their mean"),
        (
            lambda z, t, lengths: sum_real(z, t, lengths) / len(lengths),
            "divided by the number of sequences N",
        ),
        (off_by_one(True), "the mask is off by one"),
        (off_by_one(False), "the mask is off by one"),
    ]


@pytest.mark.parametrize("wrong, words", loss_mistakes())
def test_each_loss_mistake_is_named(wrong, words):
    assert words in failure_text(check_masked_sequence_loss, wrong)


def test_counting_the_padding_passes_when_there_is_none(capsys):
    with pytest.raises(CheckFailed) as caught:
        check_masked_sequence_loss(lambda z, t, lengths: token_losses(z, t).mean())
    assert "no padding" not in str(caught.value)  # the case without padding passed
    output = capsys.readouterr().out
    no_padding = output.split("no padding")[1].split("check_masked_sequence_loss:")[0]
    assert "✗" not in no_padding and "✓ the loss" in no_padding


@pytest.mark.parametrize(
    "wrong, words",
    [
        (lambda z, t, lengths: None, "returned None"),
        (lambda z, t, lengths: z @ z, "RuntimeError"),
        (
            lambda z, t, lengths: loss_with_ignore_index(z, t, lengths).item(),
            "keep the loss a tensor",
        ),
        (
            lambda z, t, lengths: loss_with_ignore_index(z, t, lengths).detach().numpy(),
            "keep the loss a tensor",
        ),
        (
            lambda z, t, lengths: torch.tensor(
                loss_with_ignore_index(z, t, lengths).item(), dtype=torch.float64
            ),
            "the loss carries no gradient",
        ),
        (
            lambda z, t, lengths: token_losses(z, t) * real_positions(lengths, z.shape[1]),
            "one loss per position",
        ),
        (
            lambda z, t, lengths: loss_with_ignore_index(z, t, lengths).float(),
            "dtype torch.float32",
        ),
        (
            lambda z, t, lengths: loss_with_ignore_index(z, t, lengths) * float("nan"),
            "expected a finite number",
        ),
        (
            lambda z, t, lengths: loss_with_ignore_index(z.detach(), t, lengths) + 0 * z[0, 0, 0],
            "the value is right but its gradient is not",
        ),
    ],
)
def test_wrong_loss_results_are_reported(wrong, words):
    assert words in failure_text(check_masked_sequence_loss, wrong)


def test_the_right_value_without_a_tensor_is_still_checked():
    text = failure_text(
        check_masked_sequence_loss,
        lambda z, t, lengths: loss_with_ignore_index(z, t, lengths).item(),
    )
    assert "the loss is" not in text and "returned float" in text


def test_calling_backward_inside_the_loss_is_reported():
    def calls_backward(logits, targets, lengths):
        loss = loss_with_ignore_index(logits, targets, lengths)
        loss.backward()
        return loss

    assert "without calling loss.backward() yourself" in failure_text(
        check_masked_sequence_loss, calls_backward
    )


def test_an_unimplemented_loss_says_not_implemented():
    def student(logits, targets, lengths):
        raise NotImplementedError()

    assert "replace `raise NotImplementedError()`" in failure_text(
        check_masked_sequence_loss, student
    )


def test_changing_the_targets_in_place_is_reported():
    def clobber(logits, targets, lengths):
        targets[~real_positions(lengths, logits.shape[1])] = -100
        return F.cross_entropy(logits.transpose(1, 2), targets)

    assert "modified its input targets in place" in failure_text(
        check_masked_sequence_loss, clobber
    )


def test_writing_into_the_logits_is_reported():
    def clobber(logits, targets, lengths):
        logits += 1
        return loss_with_ignore_index(logits, targets, lengths)

    assert "compute new tensors" in failure_text(check_masked_sequence_loss, clobber)


# --------------------------------------------------------------------------- masked softmax


def key_mask(scores, valid_lens):
    return torch.arange(scores.shape[-1])[None, None, :] < valid_lens[:, None, None]


def softmax_by_hand(scores, valid_lens):
    mask = key_mask(scores, valid_lens)
    filled = scores.masked_fill(~mask, -1e300)
    e = torch.exp(filled - filled.max(-1, keepdim=True).values) * mask
    total = e.sum(-1, keepdim=True)
    return e / torch.where(total > 0, total, torch.ones_like(total))


def softmax_with_minus_inf_then_zeroed_rows(scores, valid_lens):
    weights = torch.softmax(scores.masked_fill(~key_mask(scores, valid_lens), -math.inf), -1)
    return torch.nan_to_num(weights, nan=0.0)


@pytest.mark.parametrize(
    "right", [masked_softmax, softmax_by_hand, softmax_with_minus_inf_then_zeroed_rows]
)
def test_right_softmaxes_pass(right):
    assert check_masked_softmax(right).passed


def naive_exp(scores, valid_lens):
    e = torch.exp(scores) * key_mask(scores, valid_lens)
    return e / e.sum(-1, keepdim=True).clamp(min=1e-300)


def softmax_mistakes():
    low = torch.finfo(torch.float64).min

    def fill(scores, valid_lens, value):
        return scores.masked_fill(~key_mask(scores, valid_lens), value)

    def query_axis(scores, valid_lens):
        mask = torch.arange(scores.shape[1])[None, :, None] < valid_lens[:, None, None]
        return torch.softmax(scores.masked_fill(~mask, low), -1) * mask

    return [
        (lambda s, v: torch.softmax(fill(s, v, 0.0), -1), "masked scores were set to 0"),
        (query_axis, "the mask runs along the query axis"),
        (
            lambda s, v: torch.softmax(fill(s, v, low), 1) * key_mask(s, v),
            "the softmax runs over the wrong axis",
        ),
        (
            lambda s, v: masked_softmax(s, torch.clamp(v + 1, max=s.shape[-1])),
            "the mask is off by one",
        ),
        (lambda s, v: torch.softmax(s, -1) * key_mask(s, v), "the padded weights were zeroed"),
        (naive_exp, "subtract each row's maximum"),
        (lambda s, v: torch.softmax(fill(s, v, -math.inf), -1), "0 / 0 = NaN"),
        (lambda s, v: torch.softmax(fill(s, v, low), -1), "gives it a uniform softmax"),
    ]


@pytest.mark.parametrize("wrong, words", softmax_mistakes())
def test_each_softmax_mistake_is_named(wrong, words):
    assert words in failure_text(check_masked_softmax, wrong)


@pytest.mark.parametrize(
    "wrong, words",
    [
        (lambda s, v: None, "weights is None"),
        (lambda s, v: s @ s, "RuntimeError"),
        (lambda s, v: masked_softmax(s, v)[:, 0], "has shape"),
        (lambda s, v: masked_softmax(s, v).float(), "dtype torch.float32"),
        (lambda s, v: masked_softmax(s, v).numpy(), "this exercise is in torch"),
        (lambda s, v: masked_softmax(s, v) * float("nan"), "NaN"),
        (lambda s, v: s < v[:, None, None], "dtype torch.bool"),
        (lambda s, v: s.masked_fill(torch.arange(s.shape[-1]) < v, 0), "new axes"),
    ],
)
def test_wrong_softmax_results_are_reported(wrong, words):
    assert words in failure_text(check_masked_softmax, wrong)


def test_an_unimplemented_softmax_says_not_implemented():
    def student(scores, valid_lens):
        raise NotImplementedError()

    assert "replace `raise NotImplementedError()`" in failure_text(check_masked_softmax, student)


def test_changing_the_scores_in_place_is_reported():
    def clobber(scores, valid_lens):
        scores.masked_fill_(~key_mask(scores, valid_lens), -1e300)
        return masked_softmax(scores, valid_lens)

    assert "modified its input scores in place" in failure_text(check_masked_softmax, clobber)


# --------------------------------------------------------------------------- causal self-attention


def causal_by_hand(x, W_q, W_k, W_v):
    Q, K, V = x @ W_q, x @ W_k, x @ W_v
    T = x.shape[1]
    scores = Q @ K.transpose(1, 2) / math.sqrt(x.shape[-1])
    future = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1)
    return torch.softmax(scores.masked_fill(future, -math.inf), dim=-1) @ V


def causal_with_helpers(x, W_q, W_k, W_v):
    N, T, D = x.shape
    scores = (x @ W_q) @ (x @ W_k).mT / D**0.5
    return masked_softmax(scores, torch.arange(1, T + 1).expand(N, T)) @ (x @ W_v)


def causal_one_position_at_a_time(x, W_q, W_k, W_v):
    outputs = []
    for i in range(x.shape[1]):
        q = x[:, i] @ W_q
        keys, values = x[:, : i + 1] @ W_k, x[:, : i + 1] @ W_v
        weights = torch.softmax((keys @ q[:, :, None])[..., 0] / math.sqrt(x.shape[-1]), -1)
        outputs.append((weights[:, :, None] * values).sum(1))
    return torch.stack(outputs, dim=1)


def causal_with_torch(x, W_q, W_k, W_v):
    return F.scaled_dot_product_attention(x @ W_q, x @ W_k, x @ W_v, is_causal=True)


@pytest.mark.parametrize(
    "right", [causal_by_hand, causal_with_helpers, causal_one_position_at_a_time, causal_with_torch]
)
def test_right_attention_passes(right):
    result = check_causal_self_attention(right)
    assert result.passed
    assert any("(causal)" in m for m in result.messages)


def attention(x, W_q, W_k, W_v, scale=None, allowed="causal", dim=-1, swap=False):
    Q, K, V = x @ W_q, x @ W_k, x @ W_v
    T, D = x.shape[1:]
    scores = K @ Q.transpose(1, 2) if swap else Q @ K.transpose(1, 2)
    scores = scores / (math.sqrt(D) if scale is None else scale(D))
    i, j = torch.arange(T)[:, None], torch.arange(T)[None, :]
    keep = {"causal": j <= i, "strict": j < i, "all": j >= 0, "future": j >= i}[allowed]
    return torch.softmax(scores.masked_fill(~keep, -1e9), dim=dim) @ V


def attention_mistakes():
    return [
        (lambda x, q, k, v: attention(x, q, k, v, allowed="all"), "the scores are not masked"),
        (lambda x, q, k, v: attention(x, q, k, v, allowed="strict"), "excludes the diagonal"),
        (lambda x, q, k, v: attention(x, q, k, v, scale=lambda D: 1), "not scaled"),
        (lambda x, q, k, v: attention(x, q, k, v, scale=lambda D: D), "divided by D"),
        (lambda x, q, k, v: attention(x, q, k, v, dim=1), "the softmax runs over the query axis"),
        (lambda x, q, k, v: attention(x, q.T, k.T, v.T), "used transposed"),
        (lambda x, q, k, v: attention(x, q, k, v.T), "used transposed"),
        (lambda x, q, k, v: attention(x, q, k, v, swap=True), "keys and queries are swapped"),
        (
            lambda x, q, k, v: attention(x, q, k, v, allowed="future"),
            "the mask points the wrong way",
        ),
    ]


@pytest.mark.parametrize("wrong, words", attention_mistakes())
def test_each_attention_mistake_is_named(wrong, words):
    assert words in failure_text(check_causal_self_attention, wrong)


def test_attending_to_the_future_fails_the_causality_test():
    text = failure_text(
        check_causal_self_attention, lambda x, q, k, v: attention(x, q, k, v, allowed="all")
    )
    assert "position 0 sees the future" in text


def test_a_strict_mask_with_minus_inf_gives_nan_at_position_0():
    def strict(x, W_q, W_k, W_v):
        T = x.shape[1]
        scores = (x @ W_q) @ (x @ W_k).transpose(1, 2) / math.sqrt(x.shape[-1])
        keep = torch.tril(torch.ones(T, T, dtype=torch.bool), diagonal=-1)
        return torch.softmax(scores.masked_fill(~keep, -math.inf), -1) @ (x @ W_v)

    text = failure_text(check_causal_self_attention, strict)
    assert "all at position 0" in text and "excludes the diagonal" in text


@pytest.mark.parametrize(
    "wrong, words",
    [
        (lambda x, q, k, v: None, "y is None"),
        (lambda x, q, k, v: x @ x, "RuntimeError"),
        pytest.param(
            lambda x, q, k, v: (x @ q) @ (x @ k).T,
            "transpose(1, 2)",
            marks=pytest.mark.filterwarnings("ignore:The use of `x.T`"),
        ),
        (
            lambda x, q, k, v: torch.softmax((x @ q) @ (x @ k).mT, -1),
            "shape of the attention weights",
        ),
        (lambda x, q, k, v: causal_by_hand(x, q, k, v).float(), "dtype torch.float32"),
        (lambda x, q, k, v: causal_by_hand(x, q, k, v).numpy(), "this exercise is in torch"),
        (lambda x, q, k, v: causal_by_hand(x, q, k, v) * float("nan"), "NaN"),
    ],
)
def test_wrong_attention_results_are_reported(wrong, words):
    assert words in failure_text(check_causal_self_attention, wrong)


def test_an_unimplemented_attention_says_not_implemented():
    def student(x, W_q, W_k, W_v):
        raise NotImplementedError()

    assert "replace `raise NotImplementedError()`" in failure_text(
        check_causal_self_attention, student
    )


def test_changing_x_in_place_is_reported():
    def clobber(x, W_q, W_k, W_v):
        y = causal_by_hand(x, W_q, W_k, W_v)
        x.mul_(2)
        return y

    assert "modified its input x in place" in failure_text(check_causal_self_attention, clobber)


# --------------------------------------------------------------------------- all three


@pytest.mark.parametrize(
    "check", [check_masked_sequence_loss, check_masked_softmax, check_causal_self_attention]
)
def test_the_checks_reject_what_is_not_a_function(check):
    with pytest.raises(TypeError, match="fn"):
        check("my_function(...)")


@pytest.mark.parametrize(
    "check", [check_masked_sequence_loss, check_masked_softmax, check_causal_self_attention]
)
def test_a_check_prints_one_line_per_test_and_a_summary(check, capsys):
    right = {
        check_masked_sequence_loss: loss_with_ignore_index,
        check_masked_softmax: masked_softmax,
        check_causal_self_attention: causal_by_hand,
    }[check]
    result = check(right)
    output = capsys.readouterr().out
    assert output.count("✓") == len(result.messages)
    assert output.rstrip().endswith(f"All {len(result.messages)} checks passed.")


def test_the_checks_are_in_the_package_namespace():
    for name in (
        "check_masked_sequence_loss",
        "check_masked_softmax",
        "check_causal_self_attention",
    ):
        assert name in helpers.exercises.__all__ and callable(getattr(helpers.exercises, name))


def test_the_references_are_not_printed(capsys):
    with pytest.raises(CheckFailed):
        check_causal_self_attention(lambda x, q, k, v: None)
    with pytest.raises(CheckFailed):
        check_masked_softmax(lambda s, v: None)
    output = capsys.readouterr().out
    assert "def " not in output and "masked_fill" not in output
