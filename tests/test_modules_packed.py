"""helpers.modules with packed variable-length batches: the same as torch.nn, and each sequence's own."""

import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from helpers import modules

DTYPE = torch.float64
UNITS = ["RNN", "LSTM", "GRU"]
LENGTHS = torch.tensor([2, 5, 1, 4])  # unsorted on purpose: enforce_sorted=False reorders


def pair(unit, **kwargs):
    """torch.nn's layer and ours with the same weights."""
    torch.manual_seed(0)
    ref = getattr(torch.nn, unit)(3, 4, dtype=DTYPE, **kwargs)
    ours = getattr(modules, unit)(3, 4, dtype=DTYPE, **kwargs)
    ours.load_state_dict(ref.state_dict())
    return ref, ours


def packed_input(batch_first, requires_grad=False):
    x = torch.randn(
        len(LENGTHS),
        int(LENGTHS.max()),
        3,
        dtype=DTYPE,
        generator=torch.Generator().manual_seed(1),
        requires_grad=requires_grad,
    )
    layout = x if batch_first else x.transpose(0, 1)
    return x, pack_padded_sequence(layout, LENGTHS, batch_first=batch_first, enforce_sorted=False)


def as_tensor(state):
    return torch.cat(state) if isinstance(state, tuple) else state


@pytest.mark.parametrize("unit", UNITS)
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_packed_input_gives_torch_nn_outputs_states_and_gradients(unit, batch_first, bidirectional):
    ref, ours = pair(unit, num_layers=2, batch_first=batch_first, bidirectional=bidirectional)
    x, packed = packed_input(batch_first, requires_grad=True)
    (out_ref, h_ref), (out_ours, h_ours) = ref(packed), ours(packed)
    assert torch.equal(out_ours.batch_sizes, out_ref.batch_sizes)
    assert torch.equal(out_ours.sorted_indices, out_ref.sorted_indices)
    assert torch.equal(out_ours.unsorted_indices, out_ref.unsorted_indices)
    torch.testing.assert_close(out_ours.data, out_ref.data, atol=1e-12, rtol=0)
    torch.testing.assert_close(as_tensor(h_ours), as_tensor(h_ref), atol=1e-12, rtol=0)

    def gradients(module, output, state):
        loss = (output.data**2).sum() + as_tensor(state).sum()
        return torch.autograd.grad(loss, [x, *module.parameters()], retain_graph=True)

    for ours_grad, ref_grad in zip(
        gradients(ours, out_ours, h_ours), gradients(ref, out_ref, h_ref)
    ):
        torch.testing.assert_close(ours_grad, ref_grad, atol=1e-12, rtol=0)


@pytest.mark.parametrize("unit", UNITS)
def test_each_packed_sequence_gets_the_outputs_and_final_states_it_gets_alone(unit):
    """Both directions: the reverse direction starts at each sequence's own end, not at the padding."""
    _, ours = pair(unit, num_layers=2, bidirectional=True, batch_first=True)
    x, packed = packed_input(batch_first=True)
    output, state = ours(packed)
    padded, lengths = pad_packed_sequence(output, batch_first=True)
    assert torch.equal(lengths, LENGTHS)
    states = state if isinstance(state, tuple) else (state,)
    for n, length in enumerate(LENGTHS.tolist()):
        alone_output, alone_state = ours(x[n : n + 1, :length])
        alone_states = alone_state if isinstance(alone_state, tuple) else (alone_state,)
        torch.testing.assert_close(padded[n, :length], alone_output[0], atol=1e-6, rtol=0)
        assert not padded[n, length:].any(), "padded steps of the output must be zeros"
        for batch_part, alone_part in zip(states, alone_states):
            torch.testing.assert_close(batch_part[:, n], alone_part[:, 0], atol=1e-6, rtol=0)


def test_without_packing_the_reverse_direction_reads_the_padding_first():
    """The bug packing prevents: a padded batch run as is differs from each sequence alone."""
    _, ours = pair("GRU", bidirectional=True, batch_first=True)
    x, _ = packed_input(batch_first=True)
    x = x * (torch.arange(x.shape[1])[None, :, None] < LENGTHS[:, None, None])  # zero padding
    output, _ = ours(x)
    short = int(LENGTHS.argmin())
    alone, _ = ours(x[short : short + 1, : LENGTHS[short]])
    backward_half = slice(4, 8)
    gap = (output[short, : LENGTHS[short], backward_half] - alone[0, :, backward_half]).abs().max()
    assert gap > 1e-3


def test_packed_input_with_an_initial_state_matches_torch_nn():
    ref, ours = pair("LSTM", bidirectional=True)
    _, packed = packed_input(batch_first=False)
    generator = torch.Generator().manual_seed(2)
    h0 = torch.randn(2, len(LENGTHS), 4, dtype=DTYPE, generator=generator)
    c0 = torch.randn(2, len(LENGTHS), 4, dtype=DTYPE, generator=generator)
    (out_ref, (h_ref, c_ref)), (out_ours, (h_ours, c_ours)) = (
        ref(packed, (h0, c0)),
        ours(packed, (h0, c0)),
    )
    torch.testing.assert_close(out_ours.data, out_ref.data, atol=1e-12, rtol=0)
    torch.testing.assert_close(h_ours, h_ref, atol=1e-12, rtol=0)
    torch.testing.assert_close(c_ours, c_ref, atol=1e-12, rtol=0)
