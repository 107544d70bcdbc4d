"""The check of the bidirectional exercise: right answers pass, the classic mistakes are named."""

import pytest
import torch

from helpers.bidirectional import BidirectionalRNN, reverse_padded
from helpers.exercises import CheckFailed, check_bidirectional_layer


def failure_text(fn):
    with pytest.raises(CheckFailed) as caught:
        check_bidirectional_layer(fn)
    return str(caught.value)


def rows_of(lengths):
    return torch.arange(len(lengths))


def assemble(forward_outputs, backward_outputs, lengths, last=None, first=None):
    outputs = torch.cat([forward_outputs, backward_outputs], dim=-1)
    last = forward_outputs[rows_of(lengths), lengths - 1] if last is None else last
    first = backward_outputs[:, 0] if first is None else first
    return outputs, torch.cat([last, first], dim=-1)


def with_reverse_padded(forward_rnn, backward_rnn, x, lengths):
    backward = reverse_padded(backward_rnn(reverse_padded(x, lengths))[0], lengths)
    return assemble(forward_rnn(x)[0], backward, lengths)


def one_sequence_at_a_time(forward_rnn, backward_rnn, x, lengths):
    """A loop over the sequences: slow, plain and right."""
    outputs = torch.zeros(*x.shape[:2], 2 * forward_rnn.hidden_size, dtype=x.dtype)
    finals = []
    for n, length in enumerate(lengths.tolist()):
        sequence = x[n : n + 1, :length]
        forward, _ = forward_rnn(sequence)
        backward = backward_rnn(sequence.flip(1))[0].flip(1)
        outputs[n, :length] = torch.cat([forward[0], backward[0]], dim=-1)
        finals.append(torch.cat([forward[0, -1], backward[0, 0]]))
    return outputs, torch.stack(finals)


def with_the_helpers_layer(forward_rnn, backward_rnn, x, lengths):
    layer = BidirectionalRNN("GRU", x.shape[-1], forward_rnn.hidden_size, dtype=x.dtype)
    with torch.no_grad():
        for name, parameter in layer.rnn.named_parameters():
            source = backward_rnn if name.endswith("_reverse") else forward_rnn
            parameter.copy_(getattr(source, name.removesuffix("_reverse")))
    return layer(x, lengths)


@pytest.mark.parametrize(
    "right", [with_reverse_padded, one_sequence_at_a_time, with_the_helpers_layer]
)
def test_right_answers_pass(right):
    assert check_bidirectional_layer(right).passed


def flipped_whole(forward_rnn, backward_rnn, x, lengths):
    backward = backward_rnn(x.flip(1))[0].flip(1)
    return assemble(forward_rnn(x)[0], backward, lengths)


def not_reversed_back(forward_rnn, backward_rnn, x, lengths):
    backward = backward_rnn(reverse_padded(x, lengths))[0]
    return assemble(
        forward_rnn(x)[0], backward, lengths, first=backward[rows_of(lengths), lengths - 1]
    )


def backward_reads_forwards(forward_rnn, backward_rnn, x, lengths):
    return assemble(forward_rnn(x)[0], backward_rnn(x)[0], lengths)


def swapped(forward_rnn, backward_rnn, x, lengths):
    outputs, final = with_reverse_padded(forward_rnn, backward_rnn, x, lengths)
    H = forward_rnn.hidden_size
    return torch.cat([outputs[..., H:], outputs[..., :H]], -1), torch.cat(
        [final[:, H:], final[:, :H]], -1
    )


def final_after_padding(forward_rnn, backward_rnn, x, lengths):
    forward, h_n = forward_rnn(x)
    backward = reverse_padded(backward_rnn(reverse_padded(x, lengths))[0], lengths)
    return assemble(forward, backward, lengths, last=h_n[0])


def backward_final_at_the_wrong_end(forward_rnn, backward_rnn, x, lengths):
    forward = forward_rnn(x)[0]
    backward = reverse_padded(backward_rnn(reverse_padded(x, lengths))[0], lengths)
    return assemble(forward, backward, lengths, first=backward[rows_of(lengths), lengths - 1])


@pytest.mark.parametrize(
    "wrong, words",
    [
        (flipped_whole, "read the padding first"),
        (not_reversed_back, "still in the order the backward layer read them"),
        (backward_reads_forwards, "read the sequence forwards"),
        (swapped, "wrong order"),
        (final_after_padding, "forward final state was taken after the padding"),
        (backward_final_at_the_wrong_end, "backward direction ends at step 0"),
        (lambda f, b, x, lengths: None, "expected a pair (outputs, final)"),
        (lambda f, b, x, lengths: f(x), "final has shape (1, 4, 2), expected (4, 4)"),
        (lambda f, b, x, lengths: (f(x)[0], f(x)[0][:, 0]), "concatenate the two directions"),
        (
            lambda f, b, x, lengths: tuple(
                t.float() for t in with_reverse_padded(f, b, x, lengths)
            ),
            "dtype torch.float32",
        ),
        (
            lambda f, b, x, lengths: tuple(
                t * float("nan") for t in with_reverse_padded(f, b, x, lengths)
            ),
            "NaN",
        ),
        (lambda f, b, x, lengths: x @ x, "RuntimeError"),
    ],
)
def test_each_classic_mistake_is_named(wrong, words):
    assert words in failure_text(wrong)


def test_the_unmodified_exercise_says_not_implemented():
    def student(forward_rnn, backward_rnn, x, lengths):
        raise NotImplementedError()

    assert "replace `raise NotImplementedError()`" in failure_text(student)


def test_changing_x_in_place_is_reported():
    def clobber(forward_rnn, backward_rnn, x, lengths):
        result = with_reverse_padded(forward_rnn, backward_rnn, x, lengths)
        x.zero_()
        return result

    assert "modified x in place" in failure_text(clobber)


def test_the_check_rejects_what_is_not_a_function():
    with pytest.raises(TypeError, match="fn"):
        check_bidirectional_layer("bidirectional_layer")
