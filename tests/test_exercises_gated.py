"""The gated-unit checks pass right answers and name what is wrong in wrong ones.

As in test_exercises.py: every check is run on the references (and on
students' own correct code) and on wrong implementations written the way
students write them, each with one classic mistake; the failure message must
name that mistake, and no message may quote the references' code.
"""

import ast
import inspect

import numpy as np
import pytest
import torch

from helpers import exercises, numpy_gru, numpy_lstm, numpy_rnn
from helpers.exercises import CheckFailed


def _code_lines(module):
    """Statements of ``module`` (not docstrings or comments), long enough to be telling."""
    source = inspect.getsource(module)
    docstring_lines = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            docstring_lines.update(range(node.lineno, node.end_lineno + 1))
    lines = [
        line.strip()
        for number, line in enumerate(source.splitlines(), start=1)
        if number not in docstring_lines
    ]
    return [
        line
        for line in lines
        if len(line) >= 15
        and not line.startswith("#")
        and ("=" in line or line.startswith("return "))
        and not line.endswith(("(", "["))
    ]


REFERENCE_CODE = [
    line for module in (numpy_rnn, numpy_lstm, numpy_gru) for line in _code_lines(module)
]


def no_reference_code(text):
    assert "np.tanh" not in text and "_sigmoid" not in text
    leaked = [line for line in REFERENCE_CODE if line in text]
    assert not leaked, f"reference code in the report: {leaked}"


def failure(check, *functions, capsys):
    """Run a check that must fail; return its CheckFailed message, checked for leaks."""
    with pytest.raises(CheckFailed) as caught:
        check(*functions)
    message = str(caught.value)
    no_reference_code(message)
    no_reference_code(capsys.readouterr().out)
    return message


def sigmoid(a):
    return 1 / (1 + np.exp(-a))


# --------------------------------------------------------------------------- students' code


def lstm_student(mistake=None):
    """An LSTM step forward as a student writes it, with one ``mistake`` (None: right)."""

    def lstm_step_forward(x, h_prev, c_prev, Wx, Wh, b):
        H = h_prev.shape[1]
        if mistake == "Wx transposed":
            Wx = Wx.T
        a = x @ Wx + h_prev @ Wh + (0 if mistake == "no bias" else b)
        order = {"i, f, o, g": "ifog", "f, i, g, o": "figo", "i, g, f, o": "igfo"}.get(
            mistake, "ifgo"
        )
        end = H + 1 if mistake == "off-by-one slice" else H
        blocks = {gate: a[:, k * H : k * H + end] for k, gate in enumerate(order)}
        i = np.tanh(blocks["i"]) if mistake == "tanh for i" else sigmoid(blocks["i"])
        f = sigmoid(blocks["f"] + (1.0 if mistake == "forget bias" else 0.0))
        g = sigmoid(blocks["g"]) if mistake == "sigmoid for g" else np.tanh(blocks["g"])
        o = sigmoid(blocks["o"])
        if mistake == "forget gate on the candidate":
            c = i * c_prev + f * g
        else:
            c = f * c_prev + g * i
        if mistake == "h without tanh":
            h = o * c
        elif mistake == "h from c_prev":
            h = o * np.tanh(c_prev)
        else:
            h = o * np.tanh(c)
        cache = dict(x=x, h_prev=h_prev, c_prev=c_prev, Wx=Wx, Wh=Wh, i=i, f=f, g=g, o=o, c=c)
        if mistake == "h and c swapped":
            return c, h, cache
        return h, c, cache

    return lstm_step_forward


def lstm_backward_student(mistake=None):
    """An LSTM step backward as a student writes it, for ``lstm_student()``'s cache."""

    def lstm_step_backward(dh, dc, cache):
        i, f, g, o, c = (cache[k] for k in "ifgoc")
        tanh_c = np.tanh(c)
        dtanh_c = 1 - c**2 if mistake == "1 - c**2" else 1 - tanh_c**2
        dc_total = dh * o * dtanh_c
        if mistake != "upstream dc dropped":
            dc_total = dc_total + dc
        if mistake == "path through h dropped":
            dc_total = dc
        dc_prev = dc * f if mistake == "dc_prev from dc only" else dc_total * f

        def dsigmoid(s):
            return 1 - s**2 if mistake == "sigmoid derivative" else s * (1 - s)

        da = {
            "i": dc_total * g * dsigmoid(i),
            "f": dc_total * cache["c_prev"] * dsigmoid(f),
            "g": dc_total * i * (1 - g**2),
            "o": dh * tanh_c * dsigmoid(o),
        }
        order = "ifog" if mistake == "blocks i, f, o, g" else "ifgo"
        da = np.concatenate([da[gate] for gate in order], axis=1)
        dx, dh_prev = da @ cache["Wx"].T, da @ cache["Wh"].T
        dWx, dWh = cache["x"].T @ da, cache["h_prev"].T @ da
        db = da if mistake == "db not summed" else da.sum(axis=0)
        if mistake == "dWx transposed":
            dWx = dWx.T
        if mistake == "dh_prev and dc_prev swapped":
            dh_prev, dc_prev = dc_prev, dh_prev
        if mistake == "averaged":
            dWx, dWh, db = dWx / len(dh), dWh / len(dh), db / len(dh)
        return dx, dh_prev, dc_prev, dWx, dWh, db

    return lstm_step_backward


def gru_student(mistake=None):
    """A GRU step forward as a student writes it, with one ``mistake`` (None: PyTorch's GRU)."""
    textbook_reset = mistake in ("textbook", "reset before the product")
    textbook_update = mistake in ("textbook", "z swapped")

    def gru_step_forward(x, h_prev, Wx, Wh, bx, bh):
        H = h_prev.shape[1]
        if mistake == "Wx transposed":
            Wx = Wx.T
        if mistake == "no bh":
            bh = np.zeros_like(bh)
        order = "zrn" if mistake == "z, r, n" else "rzn"
        Wx_, Wh_ = (
            {gate: W[:, k * H : (k + 1) * H] for k, gate in enumerate(order)} for W in (Wx, Wh)
        )
        bx_, bh_ = (
            {gate: v[k * H : (k + 1) * H] for k, gate in enumerate(order)} for v in (bx, bh)
        )
        r = sigmoid(x @ Wx_["r"] + bx_["r"] + h_prev @ Wh_["r"] + bh_["r"])
        z = sigmoid(x @ Wx_["z"] + bx_["z"] + h_prev @ Wh_["z"] + bh_["z"])
        if textbook_reset:
            a_n = x @ Wx_["n"] + bx_["n"] + (r * h_prev) @ Wh_["n"] + bh_["n"]
        elif mistake == "bh_n outside":
            a_n = x @ Wx_["n"] + bx_["n"] + r * (h_prev @ Wh_["n"]) + bh_["n"]
        else:
            a_n = x @ Wx_["n"] + bx_["n"] + r * (h_prev @ Wh_["n"] + bh_["n"])
        n = sigmoid(a_n) if mistake == "sigmoid for n" else np.tanh(a_n)
        h = (1 - z) * h_prev + z * n if textbook_update else (1 - z) * n + z * h_prev
        return h, dict(
            x=x, h_prev=h_prev, Wx=Wx, Wh=Wh, r=r, z=z, n=n, hn=h_prev @ Wh_["n"] + bh_["n"]
        )

    return gru_step_forward


def gru_backward_student(mistake=None):
    """A GRU step backward as a student writes it, for ``gru_student()``'s cache."""

    def gru_step_backward(dh, cache):
        r, z, n, hn, h_prev = (cache[k] for k in ("r", "z", "n", "hn", "h_prev"))

        def dsigmoid(s):
            return np.ones_like(s) if mistake == "no sigmoid derivative" else s * (1 - s)

        da_n = dh * (1 - z) * (1 - n**2)
        da_r = da_n * hn * dsigmoid(r)
        da_z = dh * (h_prev - n) * dsigmoid(z)
        dax = np.concatenate([da_r, da_z, da_n], axis=1)
        dah = np.concatenate([da_r, da_z, da_n if mistake == "r missing" else da_n * r], axis=1)
        dh_prev = dah @ cache["Wh"].T
        if mistake != "no direct path":
            dh_prev = dh_prev + dh * z
        dWh = cache["h_prev"].T @ dah
        dbh = dah if mistake == "dbh not summed" else dah.sum(axis=0)
        return (
            dax @ cache["Wx"].T,
            dh_prev,
            cache["x"].T @ dax,
            dWh.T if mistake == "dWh transposed" else dWh,
            dax.sum(axis=0),
            dbh,
        )

    return gru_step_backward


def parameter_count(
    unit, input_size, hidden_size, num_layers=1, bias=True, bidirectional=False, mistakes=()
):
    """The count of torch.nn's recurrent layers, as a student writes it, with ``mistakes``."""
    gates = {"RNN": 1, "LSTM": 4, "GRU": 3}[unit]
    if "no gates" in mistakes:
        gates = 1
    directions = 2 if bidirectional and "one direction" not in mistakes else 1
    total = 0
    for layer in range(num_layers):
        inputs = input_size if layer == 0 or "input_size" in mistakes else directions * hidden_size
        per_direction = gates * hidden_size * (inputs + hidden_size)
        if bias or "bias=False ignored" in mistakes:
            per_direction += (1 if "one bias" in mistakes else 2) * gates * hidden_size
        total += directions * per_direction
    return total


def counter(*mistakes):
    def parameter_count_(
        unit, input_size, hidden_size, num_layers=1, bias=True, bidirectional=False
    ):
        return parameter_count(
            unit, input_size, hidden_size, num_layers, bias, bidirectional, mistakes
        )

    return parameter_count_


# --------------------------------------------------------------------------- correct answers


def test_the_references_and_students_own_code_pass(capsys):
    checks = [
        (exercises.check_lstm_step_forward, numpy_lstm.lstm_step_forward),
        (exercises.check_lstm_step_forward, lstm_student()),
        (
            exercises.check_lstm_step_backward,
            numpy_lstm.lstm_step_forward,
            numpy_lstm.lstm_step_backward,
        ),
        (exercises.check_lstm_step_backward, lstm_student(), lstm_backward_student()),
        (exercises.check_gru_step_forward, numpy_gru.gru_step_forward),
        (exercises.check_gru_step_forward, gru_student()),
        (
            exercises.check_gru_step_backward,
            numpy_gru.gru_step_forward,
            numpy_gru.gru_step_backward,
        ),
        (exercises.check_gru_step_backward, gru_student(), gru_backward_student()),
        (exercises.check_parameter_count, counter()),
        (
            exercises.check_parameter_count,
            lambda unit, *args, **kwargs: sum(
                p.numel() for p in getattr(torch.nn, unit)(*args, **kwargs).parameters()
            ),
        ),
    ]
    for check, *functions in checks:
        result = check(*functions)
        printed = capsys.readouterr().out
        assert result.passed and not result.failures
        assert all(message.startswith("✓") for message in result.messages)
        assert printed.rstrip().endswith(f"All {len(result.messages)} checks passed.")
        assert "✗" not in printed
        no_reference_code(printed)


def test_backward_checks_compare_with_the_reference_and_the_numerical_gradient(capsys):
    for check, forward, backward, names in (
        (
            exercises.check_lstm_step_backward,
            lstm_student(),
            lstm_backward_student(),
            ("dx", "dh_prev", "dc_prev", "dWx", "dWh", "db"),
        ),
        (
            exercises.check_gru_step_backward,
            gru_student(),
            gru_backward_student(),
            ("dx", "dh_prev", "dWx", "dWh", "dbx", "dbh"),
        ),
    ):
        result = check(forward, backward)
        for name in names:
            for against in ("the numerical gradient", "the reference"):
                assert any(m.startswith(f"✓ {name} matches {against}") for m in result.messages)


def test_the_new_checks_are_in_the_package_namespace():
    import helpers

    for name in (
        "check_lstm_step_forward",
        "check_lstm_step_backward",
        "check_gru_step_forward",
        "check_gru_step_backward",
        "check_parameter_count",
        "check_rnn_step_forward",
    ):
        assert name in exercises.__all__ and callable(getattr(helpers.exercises, name))


def test_the_mistake_models_without_a_mistake_are_the_references():
    """The checks explain wrong answers with models of the mistakes; unmistaken, they agree."""
    from helpers.exercises import gated

    lstm = gated._lstm_inputs(1, 3, 4, 5)
    gru = gated._gru_inputs(2, 3, 4, 5)
    rng = np.random.default_rng(3)
    dh, dc = rng.standard_normal((3, 5)), rng.standard_normal((3, 5))
    h, c, lstm_cache = numpy_lstm.lstm_step_forward(**lstm)
    np.testing.assert_allclose(gated._lstm_with(lstm), (h, c), rtol=1e-12)
    model = gated._lstm_gradients_with(lstm, dh, dc)
    for name, grad in zip(gated._LSTM_GRADIENTS, numpy_lstm.lstm_step_backward(dh, dc, lstm_cache)):
        np.testing.assert_allclose(model[name], grad, rtol=1e-12, atol=1e-14)
    h, gru_cache = numpy_gru.gru_step_forward(**gru)
    np.testing.assert_allclose(gated._gru_with(gru), h, rtol=1e-12)
    model = gated._gru_gradients_with(gru, dh)
    for name, grad in zip(gated._GRU_GRADIENTS, numpy_gru.gru_step_backward(dh, gru_cache)):
        np.testing.assert_allclose(model[name], grad, rtol=1e-12, atol=1e-14)
    for _, group in gated._PARAMETER_COUNT_CASES:
        for unit, input_size, hidden_size, kwargs in group:
            module = getattr(torch.nn, unit)(input_size, hidden_size, **kwargs)
            assert gated._count_with(unit, input_size, hidden_size, **kwargs) == sum(
                p.numel() for p in module.parameters()
            )


# --------------------------------------------------------------------------- LSTM step forward


@pytest.mark.parametrize(
    "mistake, expected",
    [
        (
            "i, f, o, g",
            "the gate blocks are read in the order i, f, o, g (CS231n's order); the book "
            "follows PyTorch's order i, f, g, o",
        ),
        ("i, g, f, o", "in the order i, g, f, o (TensorFlow 1's LSTMCell order)"),
        ("f, i, g, o", "the input and forget gates are swapped"),
        ("forget gate on the candidate", "the input and forget gates are swapped"),
        ("no bias", "the bias b is missing"),
        ("tanh for i", "the input gate i uses tanh where the sigmoid belongs"),
        ("sigmoid for g", "the candidate g uses the sigmoid where tanh belongs"),
        ("h without tanh", "h_t = o * c_t: tanh is missing"),
        (
            "h from c_prev",
            "h_t is computed from c_{t-1}, the cell state before the step (off by one",
        ),
        ("forget bias", "the forget gate's pre-activation has 1 added (TensorFlow's forget_bias"),
        ("h and c swapped", "h and c are swapped: return (h, c, cache)"),
    ],
)
def test_lstm_forward_classic_mistakes(capsys, mistake, expected):
    message = failure(exercises.check_lstm_step_forward, lstm_student(mistake), capsys=capsys)
    assert "differs from the reference: relative error" in message
    assert expected in message


def test_lstm_forward_gate_order_says_which_output_differs(capsys):
    message = failure(exercises.check_lstm_step_forward, lstm_student("i, f, o, g"), capsys=capsys)
    assert "✗ h differs from the reference" in message
    assert "✗ c differs from the reference" in message
    assert message.count("hint:") == 1  # said once, for both outputs and both cases

    message = failure(
        exercises.check_lstm_step_forward, lstm_student("h without tanh"), capsys=capsys
    )
    assert "✗ h differs" in message and "✗ c" not in message


def test_lstm_forward_transposed_weights(capsys):
    message = failure(
        exercises.check_lstm_step_forward, lstm_student("Wx transposed"), capsys=capsys
    )
    # N = 3, D = 4, H = 5: x @ Wx.T cannot run; D = 4H: it runs and gives wrong gates.
    assert "lstm_step_forward raised ValueError: matmul" in message
    assert "Wx is (D, 4H) and Wh (H, 4H), the gate blocks side by side in the columns" in message
    assert "[one step, N = 2, D = 8, H = 2] ✗ h differs from the reference" in message
    assert "Wx is used transposed" in message


def test_lstm_forward_off_by_one_slice(capsys):
    message = failure(
        exercises.check_lstm_step_forward, lstm_student("off-by-one slice"), capsys=capsys
    )
    assert "raised ValueError: operands could not be broadcast together" in message
    assert "each gate is one block of exactly H columns" in message
    assert "check the slice bounds" in message


@pytest.mark.parametrize(
    "wrong, expected",
    [
        (lambda *args: None, "returned None, expected a tuple of 3 (h, c, cache)"),
        (
            lambda *args: numpy_lstm.lstm_step_forward(*args)[::2],
            "returned 2 values, expected 3: (h, c, cache)",
        ),
        (lambda *args: numpy_lstm.lstm_step_forward(*args)[0], "returned an array of shape (3, 5)"),
        (
            lambda *args: (
                numpy_lstm.lstm_step_forward(*args)[0].T,
                *numpy_lstm.lstm_step_forward(*args)[1:],
            ),
            "h has shape (5, 3), expected (N, H) = (3, 5)",
        ),
        (
            lambda x, h_prev, c_prev, Wx, Wh, b: (np.tanh(x @ Wx + h_prev @ Wh + b), c_prev, None),
            "h has shape (3, 20), expected (N, H) = (3, 5)",
        ),
        (
            lambda *args: (
                numpy_lstm.lstm_step_forward(*args)[0],
                numpy_lstm.lstm_step_forward(*args)[1].astype(np.float32),
                None,
            ),
            "c has dtype float32, expected float64",
        ),
        (
            lambda *args: (
                numpy_lstm.lstm_step_forward(*args)[0] * np.nan,
                numpy_lstm.lstm_step_forward(*args)[1],
                None,
            ),
            "h contains 15 NaN",
        ),
    ],
)
def test_lstm_forward_none_shapes_dtypes_nan(capsys, wrong, expected):
    assert expected in failure(exercises.check_lstm_step_forward, wrong, capsys=capsys)


def test_lstm_forward_raising_and_modifying_its_input(capsys):
    def lstm_step_forward(x, h_prev, c_prev, Wx, Wh, b):
        raise NotImplementedError()

    message = failure(exercises.check_lstm_step_forward, lstm_step_forward, capsys=capsys)
    assert "lstm_step_forward raised NotImplementedError" in message
    assert "replace `raise NotImplementedError()`" in message

    def in_place(x, h_prev, c_prev, Wx, Wh, b):
        h, c, cache = numpy_lstm.lstm_step_forward(x, h_prev, c_prev, Wx, Wh, b)
        c_prev[:] = c
        return h, c, cache

    message = failure(exercises.check_lstm_step_forward, in_place, capsys=capsys)
    assert "in_place modified its input c_prev in place" in message


# --------------------------------------------------------------------------- LSTM step backward


@pytest.mark.parametrize(
    "mistake, expected",
    [
        (
            "upstream dc dropped",
            "the upstream dc is not used: the gradient on c_t is dc + dh * o * (1 - tanh(c_t)**2)",
        ),
        ("path through h dropped", "the path from h_t = o * tanh(c_t) into c_t is missing"),
        ("dc_prev from dc only", "dc_prev holds only the upstream dc times f"),
        ("1 - c**2", "the derivative of tanh(c_t) is 1 - tanh(c_t)**2, not 1 - c_t**2"),
        (
            "sigmoid derivative",
            "the sigmoid derivative of the gates i, f, o is wrong: 1 - s**2 is "
            "tanh's; with s = sigmoid(a), ds/da = s * (1 - s)",
        ),
        (
            "blocks i, f, o, g",
            "the gradients of the gates are stacked in the order i, f, o, g; they "
            "must follow the forward's column blocks, i, f, g, o",
        ),
        ("dh_prev and dc_prev swapped", "dh_prev and dc_prev are swapped"),
        ("averaged", "dWx is 1/N = 1/3 of the right gradient"),
    ],
)
def test_lstm_backward_classic_mistakes(capsys, mistake, expected):
    message = failure(
        exercises.check_lstm_step_backward,
        lstm_student(),
        lstm_backward_student(mistake),
        capsys=capsys,
    )
    assert "differs from the numerical gradient of your forward pass" in message
    assert "(expected < 1e-06)" in message
    assert expected in message


def test_lstm_backward_names_the_gradients_that_differ(capsys):
    message = failure(
        exercises.check_lstm_step_backward,
        lstm_student(),
        lstm_backward_student("dc_prev from dc only"),
        capsys=capsys,
    )
    assert "dc_prev differs from the reference" in message
    for name in ("dx", "dh_prev", "dWx", "dWh", "db"):
        assert f"{name} differs" not in message


@pytest.mark.parametrize(
    "mistake, expected",
    [
        ("dWx transposed", "dWx has shape (20, 4), expected (4, 20)"),
        (
            "dWx transposed",
            "dWx looks transposed: a gradient has the shape of what it differentiates",
        ),
        ("db not summed", "db has shape (3, 20), expected (20,)"),
        (
            "db not summed",
            "b is shared by every example, so db sums the per-example gradients over "
            "the batch (and, for sequences, time) axes, down to shape (20,)",
        ),
    ],
)
def test_lstm_backward_wrong_shapes(capsys, mistake, expected):
    assert expected in failure(
        exercises.check_lstm_step_backward,
        lstm_student(),
        lstm_backward_student(mistake),
        capsys=capsys,
    )


def test_lstm_backward_wrong_returns_and_broken_forward(capsys):
    message = failure(
        exercises.check_lstm_step_backward,
        lstm_student(),
        lambda dh, dc, cache: lstm_backward_student()(dh, dc, cache)[:5],
        capsys=capsys,
    )
    assert "returned 5 values, expected 6: (dx, dh_prev, dc_prev, dWx, dWh, db)" in message

    def lstm_step_forward(x, h_prev, c_prev, Wx, Wh, b):
        h, c, cache = lstm_student()(x, h_prev, c_prev, Wx, Wh, b)
        return h, cache

    with pytest.raises(CheckFailed, match=r"returned 2 values, expected 3: \(h, c, cache\)"):
        exercises.check_lstm_step_backward(lstm_step_forward, lstm_backward_student())
    printed = capsys.readouterr().out
    assert (
        "the backward pass is not checked until the forward pass returns (h, c, cache) with "
        "h and c of the right shape" in printed
    )


def test_lstm_backward_modifying_dc_in_place(capsys):
    def in_place(dh, dc, cache):
        dc += dh * cache["o"] * (1 - np.tanh(cache["c"]) ** 2)
        return lstm_backward_student("path through h dropped")(dh, dc, cache)

    message = failure(exercises.check_lstm_step_backward, lstm_student(), in_place, capsys=capsys)
    assert "in_place modified its input dc in place" in message


def test_lstm_backward_raising_and_none(capsys):
    def lstm_step_backward(dh, dc, cache):
        return cache["x"] @ dh

    message = failure(
        exercises.check_lstm_step_backward, lstm_student(), lstm_step_backward, capsys=capsys
    )
    assert "lstm_step_backward raised ValueError: matmul" in message
    assert 'return cache["x"] @ dh' in message

    message = failure(
        exercises.check_lstm_step_backward,
        lstm_student(),
        lambda dh, dc, cache: None,
        capsys=capsys,
    )
    assert "returned None, expected a tuple of 6" in message


# --------------------------------------------------------------------------- GRU step forward


def test_the_textbook_gru_is_named_with_both_differences(capsys):
    message = failure(exercises.check_gru_step_forward, gru_student("textbook"), capsys=capsys)
    assert "this is the textbook GRU of Chung et al. 2014, not PyTorch's GRU" in message
    assert (
        "your step has both: (1) the reset gate multiplies h_{t-1} before the recurrent "
        "matrix product, (r * h_{t-1}) Wh_n" in message
    )
    assert "(2) z and 1 - z are swapped" in message


@pytest.mark.parametrize(
    "mistake, expected, not_expected",
    [
        (
            "reset before the product",
            "one of the two differences between Chung et al.'s GRU (the chapter's textbook form) and "
            "PyTorch's GRU, which is asked for here: the reset gate multiplies h_{t-1} before the "
            "recurrent matrix product",
            "z and 1 - z are swapped",
        ),
        ("reset before the product", "your step is the GRU of Cho et al.'s published paper", None),
        (
            "z swapped",
            "one of the two differences between Chung et al.'s GRU (the chapter's textbook form) and "
            "PyTorch's GRU, which is asked for here: z and 1 - z are swapped: "
            "h_t = (1 - z) * h_{t-1} + z * n, where PyTorch writes h_t = (1 - z) * n + z * h_{t-1}",
            "the reset gate multiplies h_{t-1} before",
        ),
    ],
)
def test_one_textbook_difference_is_named_alone(capsys, mistake, expected, not_expected):
    message = failure(exercises.check_gru_step_forward, gru_student(mistake), capsys=capsys)
    assert expected in message and (not_expected is None or not_expected not in message)


@pytest.mark.parametrize(
    "mistake, expected",
    [
        (
            "bh_n outside",
            "bh_n is added outside the reset gate's product, r * (h_{t-1} Wh_n) + bh_n",
        ),
        (
            "z, r, n",
            "the gate blocks are read in the order z, r, n (Keras's order); the book follows "
            "PyTorch's order r, z, n",
        ),
        ("no bh", "the hidden-side bias bh is missing"),
        ("sigmoid for n", "the new gate n uses the sigmoid where tanh belongs"),
    ],
)
def test_gru_forward_classic_mistakes(capsys, mistake, expected):
    message = failure(exercises.check_gru_step_forward, gru_student(mistake), capsys=capsys)
    assert "h differs from the reference: relative error" in message
    assert expected in message


def test_gru_forward_transposed_weights(capsys):
    message = failure(exercises.check_gru_step_forward, gru_student("Wx transposed"), capsys=capsys)
    assert "gru_step_forward raised ValueError: matmul" in message
    assert "Wx is (D, 3H) and Wh (H, 3H)" in message
    assert "[one step, N = 2, D = 6, H = 2] ✗ h differs from the reference" in message
    assert "Wx is used transposed" in message


@pytest.mark.parametrize(
    "wrong, expected",
    [
        (lambda *args: None, "returned None, expected a pair (h, cache)"),
        (lambda *args: numpy_gru.gru_step_forward(*args)[0], "returned an array of shape (3, 5)"),
        (
            lambda *args: (numpy_gru.gru_step_forward(*args)[0].astype(np.float32), None),
            "h has dtype float32, expected float64",
        ),
        (
            lambda *args: (numpy_gru.gru_step_forward(*args)[0] / 0.0, None),
            "h contains 0 NaN and 15 infinite values",
        ),
        (
            lambda *args: (list(numpy_gru.gru_step_forward(*args)[0]), None),
            "h is a list of 3 arrays of shape (5,)",
        ),
    ],
)
@pytest.mark.filterwarnings("ignore:divide by zero")
def test_gru_forward_none_shapes_dtypes_nan(capsys, wrong, expected):
    assert expected in failure(exercises.check_gru_step_forward, wrong, capsys=capsys)


def test_gru_forward_modifying_its_input(capsys):
    def in_place(x, h_prev, Wx, Wh, bx, bh):
        bx += bh
        return gru_student("no bh")(x, h_prev, Wx, Wh, bx, bh)

    message = failure(exercises.check_gru_step_forward, in_place, capsys=capsys)
    assert "in_place modified its input bx in place" in message


# --------------------------------------------------------------------------- GRU step backward


@pytest.mark.parametrize(
    "mistake, expected",
    [
        (
            "no direct path",
            "dh_prev is missing the direct path: h_t = (1 - z) * n + z * h_{t-1} "
            "uses h_{t-1} itself, so dh_prev gets dh * z",
        ),
        ("r missing", "the n block of the recurrent gradient is missing the factor r"),
        ("no sigmoid derivative", "the sigmoid derivative of the gates r, z is missing"),
    ],
)
def test_gru_backward_classic_mistakes(capsys, mistake, expected):
    message = failure(
        exercises.check_gru_step_backward,
        gru_student(),
        gru_backward_student(mistake),
        capsys=capsys,
    )
    assert "differs from the numerical gradient of your forward pass" in message
    assert expected in message


def test_gru_backward_missing_direct_path_only_touches_dh_prev(capsys):
    message = failure(
        exercises.check_gru_step_backward,
        gru_student(),
        gru_backward_student("no direct path"),
        capsys=capsys,
    )
    assert "dh_prev differs from the reference" in message
    for name in ("dx", "dWx", "dWh", "dbx", "dbh"):
        assert f"{name} differs" not in message


@pytest.mark.parametrize(
    "mistake, expected",
    [
        ("dWh transposed", "dWh looks transposed"),
        ("dbh not summed", "bh is shared by every example, so dbh sums the per-example gradients"),
    ],
)
def test_gru_backward_wrong_shapes(capsys, mistake, expected):
    assert expected in failure(
        exercises.check_gru_step_backward,
        gru_student(),
        gru_backward_student(mistake),
        capsys=capsys,
    )


def test_gru_backward_with_the_textbook_forward(capsys):
    message = failure(
        exercises.check_gru_step_backward,
        gru_student("textbook"),
        gru_backward_student(),
        capsys=capsys,
    )
    assert "this is the textbook GRU" in message


# --------------------------------------------------------------------------- parameter counts


@pytest.mark.parametrize(
    "mistakes, expected",
    [
        (
            ("no gates",),
            [
                'parameter_count_("LSTM", 3, 5) returned 50, but torch.nn.LSTM(3, 5) has '
                "200 parameters (-150)",
                "the gate multiplier is missing",
            ],
        ),
        (
            ("one bias",),
            [
                'parameter_count_("GRU", 3, 5) returned 135, but torch.nn.GRU(3, 5) has 150',
                "one bias vector is counted per layer and direction; torch.nn has two, "
                "bias_ih and bias_hh",
            ],
        ),
        (
            ("bias=False ignored",),
            [
                'parameter_count_("RNN", 4, 6, bias=False) returned 72',
                "biases are counted with bias=False",
            ],
        ),
        (
            ("input_size",),
            [
                'parameter_count_("LSTM", 3, 5, num_layers=3) returned 600',
                "every layer is given input_size inputs: the layers after the first read "
                "the output of the layer below, num_directions * hidden_size entries",
            ],
        ),
        (
            ("one direction",),
            [
                'parameter_count_("RNN", 3, 5, bidirectional=True) returned 50',
                "bidirectional=True is ignored",
            ],
        ),
        (("no gates", "one bias"), ["the gate multiplier is missing", "; also, one bias vector"]),
    ],
)
def test_parameter_count_classic_mistakes(capsys, mistakes, expected):
    message = failure(exercises.check_parameter_count, counter(*mistakes), capsys=capsys)
    for text in expected:
        assert text in message


def test_parameter_count_later_layers_reading_hidden_size(capsys):
    def parameter_count_(
        unit, input_size, hidden_size, num_layers=1, bias=True, bidirectional=False
    ):
        gates, directions = {"RNN": 1, "LSTM": 4, "GRU": 3}[unit], 1 + bidirectional
        total = 0
        for layer in range(num_layers):
            inputs = input_size if layer == 0 else hidden_size
            total += directions * gates * hidden_size * (inputs + hidden_size + 2 * bias)
        return total

    message = failure(exercises.check_parameter_count, parameter_count_, capsys=capsys)
    assert "2 of 14 checks failed" in message  # the two bidirectional stacks
    assert 'parameter_count_("GRU", 4, 6, num_layers=2, bidirectional=True) returned 936' in message
    assert "2 * hidden_size inputs, not hidden_size" in message


def test_parameter_count_ignoring_num_layers(capsys):
    def one_layer(unit, input_size, hidden_size, num_layers=1, bias=True, bidirectional=False):
        return counter()(unit, input_size, hidden_size, 1, bias, bidirectional)

    message = failure(exercises.check_parameter_count, one_layer, capsys=capsys)
    assert (
        'one_layer("LSTM", 3, 5, num_layers=3) returned 200, but torch.nn.LSTM(3, 5, '
        "num_layers=3) has 680 parameters (-480)" in message
    )
    assert "num_layers is ignored" in message


def test_parameter_count_float_none_and_exceptions(capsys):
    message = failure(
        exercises.check_parameter_count,
        lambda *args, **kwargs: float(counter()(*args, **kwargs)),
        capsys=capsys,
    )
    assert (
        'parameter_count("RNN", 3, 5) returned 50.0, a float: the count is right, but a '
        "number of parameters is an int" in message
    )
    assert "use // for divisions" in message

    message = failure(exercises.check_parameter_count, lambda *args, **kwargs: None, capsys=capsys)
    assert 'parameter_count("LSTM", 3, 5) returned None, expected an int' in message
    assert "is the return statement missing?" in message

    def gated_only(unit, input_size, hidden_size, num_layers=1, bias=True, bidirectional=False):
        gates = {"LSTM": 4, "GRU": 3}[unit]
        return counter()(unit, input_size, hidden_size, num_layers, bias, bidirectional) * gates

    message = failure(exercises.check_parameter_count, gated_only, capsys=capsys)
    assert "gated_only(\"RNN\", 3, 5) raised KeyError: 'RNN' (in gated_only, line" in message

    message = failure(
        exercises.check_parameter_count, lambda unit, input_size, hidden_size: 0, capsys=capsys
    )
    assert "raised TypeError" in message and "unexpected keyword argument 'bias'" in message


def test_parameter_count_unexplained_error_says_how_to_look(capsys):
    message = failure(
        exercises.check_parameter_count,
        lambda *args, **kwargs: counter()(*args, **kwargs) + 1,
        capsys=capsys,
    )
    assert "(+1)" in message
    assert (
        "list what the module holds, [(name, p.shape) for name, p in "
        "torch.nn.RNN(3, 5).named_parameters()]" in message
    )
