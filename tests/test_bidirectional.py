"""helpers.bidirectional: the four ways of combining directions, and lengths handled right."""

import pytest
import torch

from helpers.bidirectional import COMBINE_MODES, BidirectionalRNN, combine_directions

DTYPE = torch.float64
LENGTHS = torch.tensor([3, 6, 1, 5])


def inputs():
    generator = torch.Generator().manual_seed(0)
    return torch.randn(len(LENGTHS), int(LENGTHS.max()), 3, dtype=DTYPE, generator=generator)


@pytest.mark.parametrize(
    "mode, expected",
    [
        ("concat", lambda f, b: torch.cat([f, b], -1)),
        ("sum", lambda f, b: f + b),
        ("mul", lambda f, b: f * b),
        ("avg", lambda f, b: 0.5 * f + 0.5 * b),
    ],
)
def test_each_combining_mode_is_what_it_says(mode, expected):
    generator = torch.Generator().manual_seed(1)
    f, b = torch.randn(2, 4, 5, generator=generator, dtype=DTYPE).unbind(0)
    combined = combine_directions(f, b, mode)
    torch.testing.assert_close(combined, expected(f, b), atol=1e-15, rtol=0)
    assert combined.shape[-1] == (10 if mode == "concat" else 5)


@pytest.mark.parametrize("mode", COMBINE_MODES)
@pytest.mark.parametrize("unit", ["RNN", "LSTM", "GRU"])
def test_outputs_and_final_states_combine_the_two_directions_of_torch_nn(mode, unit):
    torch.manual_seed(0)
    model = BidirectionalRNN(unit, 3, 4, combine=mode, num_layers=2, dtype=DTYPE)
    x = inputs()
    outputs, final = model(x, LENGTHS)
    assert outputs.shape == (4, int(LENGTHS.max()), model.output_size)
    assert final.shape == (4, model.output_size)
    for n, length in enumerate(LENGTHS.tolist()):
        # torch.nn's own bidirectional layer on the sequence alone, directions split by hand
        alone, state = model.rnn(x[n : n + 1, :length])
        h_n = state[0] if isinstance(state, tuple) else state
        forward, backward = alone[0, :, :4], alone[0, :, 4:]
        torch.testing.assert_close(
            outputs[n, :length], combine_directions(forward, backward, mode), atol=1e-6, rtol=0
        )
        assert not outputs[n, length:].any()
        # the forward direction ends at the last real step, the backward one at step 0
        torch.testing.assert_close(h_n[-2, 0], forward[-1], atol=1e-12, rtol=0)
        torch.testing.assert_close(h_n[-1, 0], backward[0], atol=1e-12, rtol=0)
        torch.testing.assert_close(
            final[n], combine_directions(forward[-1], backward[0], mode), atol=1e-6, rtol=0
        )


@pytest.mark.parametrize("unit", ["RNN", "LSTM", "GRU"])
def test_from_scratch_equals_torch_nn_with_lengths(unit):
    torch.manual_seed(0)
    ref = BidirectionalRNN(unit, 3, 4, combine="sum", num_layers=2, dtype=DTYPE)
    ours = BidirectionalRNN(
        unit, 3, 4, combine="sum", num_layers=2, dtype=DTYPE, implementation="scratch"
    )
    ours.load_state_dict(ref.state_dict())
    x = inputs().requires_grad_()
    (out_ref, final_ref), (out_ours, final_ours) = ref(x, LENGTHS), ours(x, LENGTHS)
    torch.testing.assert_close(out_ours, out_ref, atol=1e-12, rtol=0)
    torch.testing.assert_close(final_ours, final_ref, atol=1e-12, rtol=0)
    grads_ref = torch.autograd.grad(out_ref.sum() + final_ref.sum(), [x, *ref.parameters()])
    grads_ours = torch.autograd.grad(out_ours.sum() + final_ours.sum(), [x, *ours.parameters()])
    for a, b in zip(grads_ours, grads_ref):
        torch.testing.assert_close(a, b, atol=1e-12, rtol=0)


def test_without_lengths_the_backward_direction_starts_on_the_padding():
    torch.manual_seed(0)
    model = BidirectionalRNN("GRU", 3, 4, dtype=DTYPE)
    x = inputs() * (torch.arange(6)[None, :, None] < LENGTHS[:, None, None])
    with_lengths, _ = model(x, LENGTHS)
    without, _ = model(x)
    short = 0  # length 3 of 6: its backward states read 3 padded steps first without lengths
    forward_gap = (with_lengths[short, :3, :4] - without[short, :3, :4]).abs().max()
    backward_gap = (with_lengths[short, :3, 4:] - without[short, :3, 4:]).abs().max()
    assert forward_gap < 1e-12 and backward_gap > 1e-3


@pytest.mark.parametrize(
    "call, error, words",
    [
        (
            lambda m: combine_directions(torch.zeros(2), torch.zeros(3), "sum"),
            ValueError,
            "same shape",
        ),
        (lambda m: combine_directions(torch.zeros(2), torch.zeros(2), "max"), ValueError, "mode"),
        (lambda m: combine_directions([0.0], torch.zeros(1), "sum"), TypeError, "forward"),
        (lambda m: BidirectionalRNN("GRU", 3, 4, combine="first"), ValueError, "combine"),
        (lambda m: m(torch.zeros(2, 3)), ValueError, r"\(N, T, D\)"),
        (lambda m: m(torch.zeros(2, 3, 3, dtype=DTYPE), torch.tensor([1])), ValueError, "lengths"),
        (
            lambda m: m(torch.zeros(2, 3, 3, dtype=DTYPE), torch.tensor([1, 4])),
            ValueError,
            "between 1",
        ),
        (
            lambda m: m(torch.zeros(2, 3, 3, dtype=DTYPE), torch.tensor([0, 2])),
            ValueError,
            "between 1",
        ),
    ],
)
def test_bad_input_is_rejected_clearly(call, error, words):
    model = BidirectionalRNN("GRU", 3, 4, dtype=DTYPE)
    with pytest.raises(error, match=words):
        call(model)


# --------------------------------------------------------------------------- reverse_padded

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from helpers.bidirectional import reverse_padded  # noqa: E402


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(1, 7), min_size=1, max_size=5), st.integers(0, 3))
def test_reverse_padded_reverses_each_row_within_its_length_and_leaves_the_padding(lengths, extra):
    T = max(lengths) + extra
    x = torch.arange(len(lengths) * T * 2).reshape(len(lengths), T, 2)
    reversed_x = reverse_padded(x, torch.tensor(lengths))
    for n, length in enumerate(lengths):
        assert torch.equal(reversed_x[n, :length], x[n, :length].flip(0))
        assert torch.equal(reversed_x[n, length:], x[n, length:])
    assert torch.equal(reverse_padded(reversed_x, torch.tensor(lengths)), x)


def test_reverse_padded_is_torch_flip_when_nothing_is_padded_and_keeps_gradients():
    x = torch.randn(3, 5, 4, dtype=DTYPE, requires_grad=True)
    reversed_x = reverse_padded(x, torch.tensor([5, 5, 5]))
    assert torch.equal(reversed_x, x.flip(1))
    (reversed_x * torch.arange(5.0, dtype=DTYPE)[None, :, None]).sum().backward()
    assert torch.equal(
        x.grad, torch.arange(5.0, dtype=DTYPE).flip(0)[None, :, None].expand(3, 5, 4)
    )


@pytest.mark.parametrize("unit", ["RNN", "LSTM", "GRU"])
def test_two_unidirectional_layers_and_reverse_padded_make_torch_nns_bidirectional_layer(unit):
    torch.manual_seed(0)
    model = BidirectionalRNN(unit, 3, 4, dtype=DTYPE)
    forward, backward = (getattr(torch.nn, unit)(3, 4, batch_first=True, dtype=DTYPE) for _ in "fb")
    with torch.no_grad():
        for name, parameter in model.rnn.named_parameters():
            source = backward if name.endswith("_reverse") else forward
            getattr(source, name.removesuffix("_reverse")).copy_(parameter)
    x = inputs()
    outputs, _ = model(x, LENGTHS)
    backward_outputs = reverse_padded(backward(reverse_padded(x, LENGTHS))[0], LENGTHS)
    rebuilt = torch.cat([forward(x)[0], backward_outputs], dim=-1)
    for n, length in enumerate(LENGTHS.tolist()):
        torch.testing.assert_close(rebuilt[n, :length], outputs[n, :length], atol=1e-12, rtol=0)


@pytest.mark.parametrize(
    "call, error, words",
    [
        (
            lambda: reverse_padded(torch.zeros(3), torch.tensor([1, 1, 1])),
            ValueError,
            r"\(N, T, \.\.\.\)",
        ),
        (
            lambda: reverse_padded(torch.zeros(2, 3), torch.tensor([1])),
            ValueError,
            r"shape \(N,\) = \(2,\)",
        ),
        (
            lambda: reverse_padded(torch.zeros(2, 3), torch.tensor([1.0, 2.0])),
            ValueError,
            "integer",
        ),
        (lambda: reverse_padded(torch.zeros(2, 3), [1, 2]), ValueError, "integer tensor"),
        (
            lambda: reverse_padded(torch.zeros(2, 3), torch.tensor([0, 2])),
            ValueError,
            "between 1 and T = 3",
        ),
        (lambda: reverse_padded(torch.zeros(2, 3), torch.tensor([2, 4])), ValueError, "got 2 to 4"),
    ],
)
def test_reverse_padded_rejects_bad_input_clearly(call, error, words):
    with pytest.raises(error, match=words):
        call()
