"""The check of the notation exercise: right answers pass, the classic mistakes are named.

As in test_exercises.py: the check is run on right answers and on wrong ones
written the way students write them, each with one mistake; the failure
message must name that mistake, and a wrong answer never ends in a traceback
from inside the check.
"""

import pytest
import torch

from helpers.exercises import CheckFailed, check_rnn_from_goodfellow


def failure(fn, capsys):
    """Run the check on ``fn``, which must fail; return its CheckFailed message."""
    with pytest.raises(CheckFailed) as caught:
        check_rnn_from_goodfellow(fn)
    message = str(caught.value)
    printed = capsys.readouterr().out
    for text in (message, printed):
        assert "torch.tanh" not in text and "@" not in text, "reference code in the report"
    return message


def student(mistake=None):
    """``rnn_from_goodfellow`` as a student writes it, with one ``mistake`` (None: right)."""

    def rnn_from_goodfellow(U, W, b):
        H, D = U.shape
        if mistake == "sizes swapped":
            H, D = D, H
        dtype = torch.float32 if mistake == "float32" else torch.float64
        nonlinearity = "relu" if mistake == "relu" else "tanh"
        rnn = torch.nn.RNN(input_size=D, hidden_size=H, nonlinearity=nonlinearity, dtype=dtype)
        input_weight, recurrent_weight = U, W
        if mistake in ("transposed", "U transposed"):
            input_weight = U.T
        if mistake in ("transposed", "W transposed"):
            recurrent_weight = W.T
        if mistake == "swapped":
            input_weight, recurrent_weight = W, U
        with torch.no_grad():
            rnn.weight_ih_l0.copy_(input_weight)
            rnn.weight_hh_l0.copy_(recurrent_weight)
            if mistake == "bias twice":
                rnn.bias_ih_l0.copy_(b)
                rnn.bias_hh_l0.copy_(b)
            elif mistake == "no bias":
                rnn.bias_ih_l0.zero_()
                rnn.bias_hh_l0.zero_()
            elif mistake == "random second bias":
                rnn.bias_ih_l0.copy_(b)
            else:
                rnn.bias_ih_l0.copy_(b)
                rnn.bias_hh_l0.zero_()
        if mistake == "halves in place":
            b /= 2
            with torch.no_grad():
                rnn.bias_ih_l0.copy_(b)
                rnn.bias_hh_l0.copy_(b)
        return rnn

    return rnn_from_goodfellow


# --------------------------------------------------------------------------- right answers


def halves_of_b(U, W, b):
    """b split over the two biases, batch first, built with .double(): also right."""
    H, D = U.shape
    rnn = torch.nn.RNN(D, H, batch_first=True).double()
    with torch.no_grad():
        rnn.weight_ih_l0.copy_(U)
        rnn.weight_hh_l0.copy_(W)
        rnn.bias_ih_l0.copy_(b / 2)
        rnn.bias_hh_l0.copy_(b / 2)
    return rnn


def with_parameters(U, W, b):
    """New Parameters instead of copies: also right."""
    H, D = U.shape
    rnn = torch.nn.RNN(D, H, dtype=torch.float64)
    rnn.weight_ih_l0 = torch.nn.Parameter(U.clone())
    rnn.weight_hh_l0 = torch.nn.Parameter(W.clone())
    rnn.bias_ih_l0 = torch.nn.Parameter(torch.zeros_like(b))
    rnn.bias_hh_l0 = torch.nn.Parameter(b.clone())
    return rnn


@pytest.mark.parametrize("right", [student(), halves_of_b, with_parameters])
def test_right_answers_pass(right, capsys):
    result = check_rnn_from_goodfellow(right)
    assert result.passed
    printed = capsys.readouterr().out
    assert "✗" not in printed and "All" in printed


def test_a_lambda_is_accepted():
    assert check_rnn_from_goodfellow(lambda U, W, b: student()(U, W, b)).passed


# --------------------------------------------------------------------------- classic mistakes


@pytest.mark.parametrize(
    "mistake, expected",
    [
        ("transposed", "U and W are used transposed"),
        ("U transposed", "U is used transposed"),
        ("W transposed", "W is used transposed"),
        ("swapped", "U and W are swapped"),
        ("bias twice", "the bias is counted twice"),
        ("no bias", "the bias b is missing"),
        ("relu", "uses tanh"),
        ("random second bias", "left at its random initial value"),
        ("halves in place", "modified its input b in place"),
    ],
)
def test_each_mistake_is_named(mistake, expected, capsys):
    message = failure(student(mistake), capsys)
    assert expected in message
    assert "D = H = 4" in message


def test_a_transposed_weight_that_does_not_fit_gets_a_shape_hint(capsys):
    message = failure(student("transposed"), capsys)
    assert "D = 3, H = 5" in message
    assert "raised RuntimeError" in message
    assert "transposed (.T)" in message and "weight_ih_l0 of shape (H, D)" in message


def test_swapped_sizes_are_reported(capsys):
    message = failure(student("sizes swapped"), capsys)
    assert "raised RuntimeError" in message or "input_size and hidden_size are swapped" in message


def test_sizes_from_elsewhere_are_named(capsys):
    def fixed_sizes(U, W, b):
        rnn = torch.nn.RNN(4, 6, dtype=torch.float64)
        rnn.weight_ih_l0 = torch.nn.Parameter(U.clone())
        rnn.weight_hh_l0 = torch.nn.Parameter(W.clone())
        rnn.bias_ih_l0 = torch.nn.Parameter(b.clone())
        rnn.bias_hh_l0 = torch.nn.Parameter(torch.zeros_like(b))
        return rnn

    message = failure(fixed_sizes, capsys)
    assert "input_size = 4 and hidden_size = 6, expected input_size = D = 3" in message
    assert "H, D = U.shape" in message


def test_a_transposed_parameter_is_named_by_its_shape(capsys):
    def parameter_transposed(U, W, b):
        rnn = with_parameters(U, W, b)
        rnn.weight_ih_l0 = torch.nn.Parameter(U.T.clone())
        return rnn

    message = failure(parameter_transposed, capsys)
    assert "weight_ih_l0 has shape (3, 5), expected (5, 3)" in message
    assert "weight_ih_l0 looks transposed" in message


def test_float32_is_named(capsys):
    message = failure(student("float32"), capsys)
    assert "the parameters must be float64" in message and "torch.float32" in message
    assert "dtype=torch.float64" in message


def test_bias_false_is_named(capsys):
    def no_bias_at_all(U, W, b):
        H, D = U.shape
        rnn = torch.nn.RNN(D, H, bias=False, dtype=torch.float64)
        with torch.no_grad():
            rnn.weight_ih_l0.copy_(U)
            rnn.weight_hh_l0.copy_(W)
        return rnn

    message = failure(no_bias_at_all, capsys)
    assert "bias=False" in message and "the bias b is missing" in message


def test_nan_parameters_are_reported(capsys):
    def nan_bias(U, W, b):
        rnn = student()(U, W, b)
        with torch.no_grad():
            rnn.bias_hh_l0.fill_(float("nan"))
        return rnn

    message = failure(nan_bias, capsys)
    assert "bias_hh_l0 holds NaN or infinite values" in message


# --------------------------------------------------------------------------- what comes back


def test_none_is_reported(capsys):
    message = failure(lambda U, W, b: None, capsys)
    assert "returned None, expected a torch.nn.RNN" in message
    assert "return statement missing" in message


@pytest.mark.parametrize(
    "returned, expected",
    [
        (lambda U, W, b: torch.nn.RNNCell(U.shape[1], U.shape[0]), "returned a torch.nn.RNNCell"),
        (lambda U, W, b: torch.nn.GRU(U.shape[1], U.shape[0]), "returned a torch.nn.GRU"),
        (lambda U, W, b: torch.nn.Linear(3, 5), "returned a Linear module"),
        (lambda U, W, b: (student()(U, W, b), b), "return the module alone"),
        (lambda U, W, b: U, "returned a tensor of shape (5, 3)"),
    ],
)
def test_something_other_than_an_rnn_is_reported(returned, expected, capsys):
    message = failure(returned, capsys)
    assert expected in message and "expected a torch.nn.RNN" in message


def test_not_implemented_gets_the_standard_hint(capsys):
    def rnn_from_goodfellow(U, W, b):
        raise NotImplementedError()

    message = failure(rnn_from_goodfellow, capsys)
    assert "raised NotImplementedError" in message
    assert "replace `raise NotImplementedError()`" in message


def test_an_exception_names_the_students_line(capsys):
    def rnn_from_goodfellow(U, W, b):
        return U.shape[2]

    message = failure(rnn_from_goodfellow, capsys)
    assert "raised IndexError" in message and "return U.shape[2]" in message


def test_an_rnn_whose_forward_raises_is_reported(capsys):
    class Broken(torch.nn.RNN):
        def forward(self, *args):
            raise ValueError("broken")

    def rnn_from_goodfellow(U, W, b):
        H, D = U.shape
        rnn = Broken(D, H, dtype=torch.float64)
        rnn.load_state_dict(student()(U, W, b).state_dict())
        return rnn

    message = failure(rnn_from_goodfellow, capsys)
    assert "the returned RNN, run on a batch of 3 sequences, raised ValueError: broken" in message


@pytest.mark.parametrize("argument", [torch.nn.RNN(3, 5), 3, None])
def test_a_non_function_is_refused(argument):
    with pytest.raises(TypeError, match="must be your function itself"):
        check_rnn_from_goodfellow(argument)


def test_the_check_is_in_the_package_namespace():
    import helpers.exercises

    assert "check_rnn_from_goodfellow" in helpers.exercises.__all__
    assert helpers.exercises.check_rnn_from_goodfellow is check_rnn_from_goodfellow


def test_every_mistake_model_differs_from_the_right_update_in_the_square_case():
    """A hint is only given for a wrong answer, so no mistake may compute the right update."""
    from helpers.exercises import notation

    seed, D, H, _ = notation._CASES[1]
    U, W, b, x = notation._inputs(seed, D, H)
    right = notation._goodfellow(U, W, b, x)
    rnn = student()(U, W, b)
    with torch.no_grad():
        torch.testing.assert_close(
            rnn(x.transpose(0, 1))[0].transpose(0, 1), right, rtol=0, atol=1e-12
        )
    for hint, *mistake in notation._variants(U, W, b):
        assert (notation._goodfellow(*mistake[:3], x, mistake[3]) - right).abs().max() > 1e-3, hint
