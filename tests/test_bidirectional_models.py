"""The text models with bidirectional=True: lengths respected, both implementations alike."""

import pytest
import torch

from helpers.bidirectional import COMBINE_MODES
from helpers.layers import count_parameters
from helpers.sequence_classification import FinalStateClassifier
from helpers.sequence_labelling import Tagger
from helpers.text import PaddedBatch, pad_sequences
from helpers.text_models import text_model_parts

DTYPE = torch.float64
SEQUENCES = [[3, 4, 5], [6, 7, 8, 9, 10, 4], [5], [7, 3, 9, 4]]


def padded_batch():
    tokens, lengths = pad_sequences(SEQUENCES, padding_value=0)
    return PaddedBatch(tokens, lengths)


def alone(index):
    tokens, lengths = pad_sequences([SEQUENCES[index]], padding_value=0)
    return PaddedBatch(tokens, lengths)


@pytest.mark.parametrize("combine", COMBINE_MODES)
@pytest.mark.parametrize("implementation", ["torch", "scratch"])
@pytest.mark.parametrize("unit", ["RNN", "LSTM", "GRU"])
def test_a_bidirectional_tagger_labels_each_padded_sequence_as_it_labels_it_alone(
    unit, implementation, combine
):
    torch.manual_seed(0)
    model = Tagger(
        11,
        3,
        unit=unit,
        embedding_dim=5,
        hidden_size=4,
        bidirectional=True,
        combine=combine,
        num_layers=2,
        implementation=implementation,
        dtype=DTYPE,
    )
    batch = padded_batch()
    logits = model(batch)
    assert logits.shape == (4, 6, 3)
    for n, sequence in enumerate(SEQUENCES):
        torch.testing.assert_close(
            logits[n, : len(sequence)], model(alone(n))[0], atol=1e-6, rtol=0
        )


@pytest.mark.parametrize("combine", COMBINE_MODES)
@pytest.mark.parametrize("unit", ["RNN", "LSTM", "GRU"])
def test_a_bidirectional_classifier_scores_each_padded_sequence_as_it_scores_it_alone(
    unit, combine
):
    torch.manual_seed(0)
    model = FinalStateClassifier(
        11,
        2,
        unit=unit,
        embedding_dim=5,
        hidden_size=4,
        bidirectional=True,
        combine=combine,
        dtype=DTYPE,
    )
    logits = model(padded_batch())
    for n in range(len(SEQUENCES)):
        torch.testing.assert_close(logits[n], model(alone(n))[0], atol=1e-6, rtol=0)


@pytest.mark.parametrize("model_class", [Tagger, FinalStateClassifier])
def test_bidirectional_models_from_scratch_equal_torch_nn_with_the_same_weights(model_class):
    torch.manual_seed(0)
    kwargs = dict(unit="GRU", embedding_dim=5, hidden_size=4, bidirectional=True, dtype=DTYPE)
    reference = model_class(11, 2, **kwargs)
    ours = model_class(11, 2, implementation="scratch", **kwargs)
    ours.load_state_dict(reference.state_dict())
    batch = padded_batch()
    reference_logits, our_logits = reference(batch), ours(batch)
    torch.testing.assert_close(our_logits, reference_logits, atol=1e-12, rtol=0)
    grads = [
        torch.autograd.grad(logits.square().sum(), list(model.parameters()))
        for model, logits in ((reference, reference_logits), (ours, our_logits))
    ]
    for a, b in zip(*grads):
        torch.testing.assert_close(a, b, atol=1e-12, rtol=0)


def test_the_classifier_reads_the_forward_state_at_the_end_and_the_backward_one_at_the_start():
    torch.manual_seed(0)
    model = FinalStateClassifier(
        11, 2, embedding_dim=5, hidden_size=4, bidirectional=True, dtype=DTYPE
    )
    batch = padded_batch()
    outputs, _ = model.rnn(model.embedding(batch.tokens), batch.lengths)
    rows = torch.arange(len(SEQUENCES))
    final = torch.cat([outputs[rows, batch.lengths - 1, :4], outputs[:, 0, 4:]], dim=-1)
    torch.testing.assert_close(model(batch), model.read_out(final), atol=1e-12, rtol=0)


@pytest.mark.parametrize("combine, features", [("concat", 8), ("sum", 4), ("mul", 4), ("avg", 4)])
def test_the_read_out_takes_what_the_combined_directions_give(combine, features):
    _, rnn, read_out = text_model_parts(
        11, 3, unit="GRU", embedding_dim=5, hidden_size=4, bidirectional=True, combine=combine
    )
    assert rnn.output_size == features and read_out.in_features == features
    _, rnn, read_out = text_model_parts(11, 3, unit="GRU", embedding_dim=5, hidden_size=4)
    assert read_out.in_features == 4


def test_a_unidirectional_model_is_unchanged_by_the_new_arguments():
    torch.manual_seed(0)
    before = Tagger(11, 2, embedding_dim=5, hidden_size=4)
    torch.manual_seed(0)
    after = Tagger(11, 2, embedding_dim=5, hidden_size=4, bidirectional=False)
    assert count_parameters(before) == count_parameters(after) == 55 + 3 * 4 * (5 + 4 + 2) + 10
    for a, b in zip(before.state_dict().values(), after.state_dict().values()):
        assert torch.equal(a, b)


@pytest.mark.parametrize(
    "build, error, words",
    [
        (lambda: Tagger(11, bidirectional="yes"), ValueError, "bidirectional"),
        (lambda: Tagger(11, bidirectional=True, combine="max"), ValueError, "combine"),
        (lambda: FinalStateClassifier(11, 2, bidirectional=1.0), ValueError, "bidirectional"),
    ],
)
def test_bad_bidirectional_arguments_are_rejected_clearly(build, error, words):
    with pytest.raises(error, match=words):
        build()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
@pytest.mark.parametrize("implementation", ["torch", "scratch"])
def test_a_bidirectional_tagger_on_the_gpu_gives_the_cpu_logits(implementation):
    torch.manual_seed(0)
    model = Tagger(
        11,
        3,
        unit="LSTM",
        embedding_dim=5,
        hidden_size=4,
        bidirectional=True,
        num_layers=2,
        implementation=implementation,
        dtype=DTYPE,
    )
    batch = padded_batch()
    on_cpu = model(batch)
    on_gpu = model.cuda()(batch.to("cuda"))
    assert on_gpu.device.type == "cuda"
    torch.testing.assert_close(on_gpu.cpu(), on_cpu, atol=1e-10, rtol=0)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_reverse_padded_works_on_the_gpu_with_lengths_on_either_device():
    from helpers.bidirectional import reverse_padded

    x = torch.arange(12.0).reshape(2, 6, 1).cuda()
    for lengths in (torch.tensor([3, 6]), torch.tensor([3, 6]).cuda()):
        reversed_x = reverse_padded(x, lengths)
        assert reversed_x.device.type == "cuda"
        assert reversed_x[0, :, 0].tolist() == [2.0, 1.0, 0.0, 3.0, 4.0, 5.0]
