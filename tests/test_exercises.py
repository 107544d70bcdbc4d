"""The exercise checks pass right answers and name what is wrong in wrong ones.

Every check is run on a correct implementation (built on the reference) and
on broken variants, each carrying one classic mistake; the failure message
must name that mistake. No message may quote the reference's code.
"""

import ast
import inspect

import numpy as np
import pytest

from helpers import exercises, numpy_rnn
from helpers.exercises import CheckFailed


def _reference_code_lines():
    """Statements of helpers.numpy_rnn (not docstrings or comments), long enough to be telling."""
    source = inspect.getsource(numpy_rnn)
    docstring_lines = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant):
            docstring_lines.update(range(node.lineno, node.end_lineno + 1))
    lines = [
        line.strip()
        for number, line in enumerate(source.splitlines(), start=1)
        if number not in docstring_lines
    ]
    # Statements that compute something; openers of multi-line calls say nothing.
    return [
        line
        for line in lines
        if len(line) >= 15
        and not line.startswith("#")
        and ("=" in line or line.startswith("return "))
        and not line.endswith(("(", "["))
    ]


REFERENCE_CODE = _reference_code_lines()


def failure(check, *functions, capsys=None):
    """Run a check that must fail; return its CheckFailed message, checked for leaks."""
    with pytest.raises(CheckFailed) as caught:
        check(*functions)
    message = str(caught.value)
    printed = capsys.readouterr().out if capsys else ""
    for text in (message, printed):
        assert "np.tanh" not in text
        leaked = [line for line in REFERENCE_CODE if line in text]
        assert not leaked, f"reference code in the report: {leaked}"
    return message


# --------------------------------------------------------------------------- correct answers


def unroll(step, h0, inputs):
    states, h = [], h0
    for t in range(inputs.shape[1]):
        h = step(inputs[:, t], h)
        states.append(h)
    return np.stack(states, axis=1)


def step_forward(x, h_prev, Wx, Wh, b):
    return numpy_rnn.rnn_step_forward(x, h_prev, Wx, Wh, b)


def step_backward(dh, cache):
    return numpy_rnn.rnn_step_backward(dh, cache)


def rnn_forward(x, h0, Wx, Wh, b):
    return numpy_rnn.rnn_forward(x, h0, Wx, Wh, b)


def rnn_backward(dh, cache):
    return numpy_rnn.rnn_backward(dh, cache)


def global_norm(grads):
    return np.sqrt(sum(np.sum(g * g) for g in grads))


def clip_grad_norm(grads, max_norm):
    norm = global_norm(grads)
    scale = max_norm / norm if norm > max_norm else 1.0
    return [g * scale for g in grads]


def test_correct_answers_pass_and_say_so(capsys):
    checks = [
        (exercises.check_unroll, unroll),
        (exercises.check_rnn_step_forward, step_forward),
        (exercises.check_rnn_forward, rnn_forward),
        (exercises.check_rnn_step_backward, step_forward, step_backward),
        (exercises.check_rnn_backward, rnn_forward, rnn_backward),
        (exercises.check_clip_grad_norm, clip_grad_norm),
    ]
    for check, *functions in checks:
        result = check(*functions)
        printed = capsys.readouterr().out
        assert result.passed and not result.failures
        assert all(message.startswith("✓") for message in result.messages)
        assert printed.rstrip().endswith(f"All {len(result.messages)} checks passed.")
        assert "✗" not in printed
        assert not [line for line in REFERENCE_CODE if line in printed]


def test_backward_checks_compare_with_the_numerical_gradient(capsys):
    result = exercises.check_rnn_backward(rnn_forward, rnn_backward)
    for name in ("dx", "dh0", "dWx", "dWh", "db"):
        for against in ("the numerical gradient", "the reference"):
            assert any(m.startswith(f"✓ {name} matches {against}") for m in result.messages)


def test_a_students_own_cache_and_a_torch_style_epsilon_pass(capsys):
    def my_step_forward(x, h_prev, Wx, Wh, b):
        h = np.tanh(x @ Wx + h_prev @ Wh + b)
        return h, {"x": x, "h_prev": h_prev, "Wx": Wx, "Wh": Wh, "h": h}

    def my_step_backward(dh, cache):
        da = dh * (1 - cache["h"] ** 2)
        return (
            da @ cache["Wx"].T,
            da @ cache["Wh"].T,
            cache["x"].T @ da,
            cache["h_prev"].T @ da,
            da.sum(axis=0),
        )

    def torch_style_clip(grads, max_norm):
        coefficient = max_norm / (global_norm(grads) + 1e-6)
        return [g * min(coefficient, 1.0) for g in grads]

    assert exercises.check_rnn_step_backward(my_step_forward, my_step_backward).passed
    assert exercises.check_clip_grad_norm(torch_style_clip).passed


def test_check_failed_is_an_assertion_error_listing_the_failures(capsys):
    assert issubclass(CheckFailed, AssertionError)
    with pytest.raises(CheckFailed) as caught:
        exercises.check_unroll(lambda step, h0, inputs: unroll(step, h0, inputs)[:, ::-1])
    result = caught.value.result
    assert not result.passed and result.failures
    assert str(caught.value).startswith(
        f"check_unroll: {len(result.failures)} of {len(result.messages)} checks failed:"
    )
    assert (
        capsys.readouterr()
        .out.rstrip()
        .endswith(f"{len(result.failures)} of {len(result.messages)} checks failed.")
    )


def test_a_non_function_is_a_type_error():
    with pytest.raises(TypeError, match="your function itself"):
        exercises.check_unroll(np.zeros(3))


# --------------------------------------------------------------------------- unroll


def test_unroll_with_h0_included(capsys):
    def with_h0(step, h0, inputs):
        return np.concatenate([h0[:, None], unroll(step, h0, inputs)], axis=1)

    message = failure(exercises.check_unroll, with_h0, capsys=capsys)
    assert "has shape (2, 6, 4), expected (N, T, H) = (2, 5, 4)" in message
    assert "is h0 included?" in message


def test_unroll_in_reverse_time_order(capsys):
    message = failure(
        exercises.check_unroll,
        lambda step, h0, inputs: unroll(step, h0, inputs)[:, ::-1],
        capsys=capsys,
    )
    assert "reverse time order" in message


def test_unroll_reading_the_inputs_backwards(capsys):
    message = failure(
        exercises.check_unroll,
        lambda step, h0, inputs: unroll(step, h0, inputs[:, ::-1]),
        capsys=capsys,
    )
    assert "read in reverse order" in message


def test_unroll_returning_only_the_last_state(capsys):
    message = failure(
        exercises.check_unroll,
        lambda step, h0, inputs: unroll(step, h0, inputs)[:, -1],
        capsys=capsys,
    )
    assert "has shape (2, 4), expected (N, T, H) = (2, 5, 4)" in message
    assert "just the last state" in message


def test_unroll_stacking_along_the_time_first_axis(capsys):
    def np_stack_default(step, h0, inputs):
        states, h = [], h0
        for t in range(inputs.shape[1]):
            h = step(inputs[:, t], h)
            states.append(h)
        return np.stack(states)

    message = failure(exercises.check_unroll, np_stack_default, capsys=capsys)
    assert "has shape (5, 2, 4)" in message and "stack along axis 1" in message


def test_unroll_one_step_late(capsys):
    def late(step, h0, inputs):
        states = unroll(step, h0, inputs)
        return np.concatenate([h0[:, None], states[:, :-1]], axis=1)

    message = failure(exercises.check_unroll, late, capsys=capsys)
    assert "first differs at t = 1" in message or "from the first time step" in message
    assert "one step late" in message


def test_unroll_ignoring_h0_or_not_carrying_the_state(capsys):
    message = failure(
        exercises.check_unroll,
        lambda step, h0, inputs: unroll(step, np.zeros_like(h0), inputs),
        capsys=capsys,
    )
    assert "ignore h0" in message

    def from_h0_every_time(step, h0, inputs):
        return np.stack([step(inputs[:, t], h0) for t in range(inputs.shape[1])], axis=1)

    message = failure(exercises.check_unroll, from_h0_every_time, capsys=capsys)
    assert "agrees with the reference up to t = 0 but first differs at t = 1" in message
    assert "every state is computed from h0" in message


def test_unroll_raising_names_the_exception_and_the_line(capsys):
    def broken(step, h0, inputs):
        raise ValueError("shapes do not line up")

    message = failure(exercises.check_unroll, broken, capsys=capsys)
    assert "broken raised ValueError: shapes do not line up" in message
    assert "line" in message and 'raise ValueError("shapes do not line up")' in message


def test_unroll_not_implemented_yet(capsys):
    def unroll(step, h0, inputs):
        raise NotImplementedError()

    message = failure(exercises.check_unroll, unroll, capsys=capsys)
    assert "NotImplementedError" in message and "replace `raise NotImplementedError()`" in message


def test_unroll_calling_step_with_swapped_arguments(capsys):
    def swapped(step, h0, inputs):
        states, h = [], h0
        for t in range(inputs.shape[1]):
            h = step(h, inputs[:, t])
            states.append(h)
        return np.stack(states, axis=1)

    message = failure(exercises.check_unroll, swapped, capsys=capsys)
    assert "step(x_t, h_prev) was called with x_t = an array of shape (2, 4)" in message
    assert "h = step(h, inputs[:, t])" in message  # the student's line


def test_unroll_calling_step_too_often(capsys):
    def twice(step, h0, inputs):
        step(inputs[:, 0], h0)
        return unroll(step, h0, inputs)

    message = failure(exercises.check_unroll, twice, capsys=capsys)
    assert "called step 6 times, expected once per time step (T = 5)" in message


@pytest.mark.parametrize(
    "wrong, expected",
    [
        (lambda step, h0, inputs: None, "the result is None"),
        (
            lambda step, h0, inputs: list(unroll(step, h0, inputs).transpose(1, 0, 2)),
            "is a list of 5 arrays of shape (2, 4)",
        ),
        (
            lambda step, h0, inputs: unroll(step, h0, inputs).astype(np.float32),
            "has dtype float32, expected float64",
        ),
        (
            lambda step, h0, inputs: np.round(unroll(step, h0, inputs)).astype(int),
            "has dtype int64, expected float64",
        ),
        (lambda step, h0, inputs: unroll(step, h0, inputs) * np.nan, "contains 40 NaN"),
    ],
)
def test_unroll_none_list_dtype_nan(capsys, wrong, expected):
    assert expected in failure(exercises.check_unroll, wrong, capsys=capsys)


def test_unroll_modifying_its_input_in_place(capsys):
    def in_place(step, h0, inputs):
        h0 *= 1.0
        inputs[:, 0] = 0.0
        return unroll(step, h0, inputs)

    message = failure(exercises.check_unroll, in_place, capsys=capsys)
    assert "modified its input inputs in place" in message


# --------------------------------------------------------------------------- step forward


def test_step_forward_missing_tanh(capsys):
    def no_tanh(x, h_prev, Wx, Wh, b):
        return x @ Wx + h_prev @ Wh + b, None

    message = failure(exercises.check_rnn_step_forward, no_tanh, capsys=capsys)
    assert "h differs from the reference: relative error" in message
    assert "apply tanh" in message


def test_step_forward_transposed_recurrent_weights(capsys):
    message = failure(
        exercises.check_rnn_step_forward,
        lambda x, h_prev, Wx, Wh, b: step_forward(x, h_prev, Wx, Wh.T, b),
        capsys=capsys,
    )
    assert "Wh is used transposed" in message


@pytest.mark.parametrize(
    "wrong, expected",
    [
        (
            lambda *args: step_forward(*args)[0],
            "returned an array of shape (3, 5) and dtype float64, expected a pair (h, cache)",
        ),
        (lambda *args: (*step_forward(*args), None), "returned 3 values, expected 2: (h, cache)"),
        (lambda *args: None, "returned None, expected a pair (h, cache)"),
        (
            lambda *args: (step_forward(*args)[0].T, None),
            "h has shape (5, 3), expected (N, H) = (3, 5)",
        ),
        (lambda *args: (step_forward(*args)[0].astype(np.float32), None), "h has dtype float32"),
    ],
)
def test_step_forward_wrong_returns(capsys, wrong, expected):
    assert expected in failure(exercises.check_rnn_step_forward, wrong, capsys=capsys)


def test_step_forward_modifying_its_input_in_place(capsys):
    def in_place(x, h_prev, Wx, Wh, b):
        a = x @ Wx
        a += h_prev @ Wh
        h_prev[:] = np.tanh(a + b)
        return h_prev, None

    message = failure(exercises.check_rnn_step_forward, in_place, capsys=capsys)
    assert "modified its input h_prev in place" in message


# --------------------------------------------------------------------------- sequence forward


def test_forward_going_wrong_at_a_later_step(capsys):
    def wrong_from_t3(x, h0, Wx, Wh, b):
        h, cache = rnn_forward(x, h0, Wx, Wh, b)
        if h.shape[1] > 3:
            h = h.copy()
            h[:, 3:] = rnn_forward(x[:, 3:], np.zeros_like(h0), Wx, Wh, b)[0]
        return h, cache

    message = failure(exercises.check_rnn_forward, wrong_from_t3, capsys=capsys)
    assert "agrees with the reference up to t = 2 but first differs at t = 3" in message


def test_forward_with_a_wrong_step(capsys):
    def wrong_step(x, h0, Wx, Wh, b):
        return rnn_forward(x, h0, Wx, Wh, 2 * b)

    message = failure(exercises.check_rnn_forward, wrong_step, capsys=capsys)
    assert "from the first time step on (t = 0)" in message
    assert "check it with check_rnn_step_forward" in message


@pytest.mark.parametrize(
    "wrong, expected",
    [
        (
            lambda x, h0, *w: (
                np.concatenate([h0[:, None], rnn_forward(x, h0, *w)[0]], axis=1),
                None,
            ),
            "is h0 included?",
        ),
        (lambda x, h0, *w: (rnn_forward(x, h0, *w)[0][:, -1], None), "just the last state"),
        (lambda x, h0, *w: (rnn_forward(x, h0, *w)[0][:, ::-1], None), "reverse time order"),
        (
            lambda x, h0, Wx, Wh, b: (rnn_forward(x, h0, Wx, Wh.T, b)[0], None),
            "Wh is used transposed",
        ),
        (lambda x, h0, *w: (rnn_forward(x, h0, *w)[0] + np.nan, None), "contains 40 NaN"),
        (lambda x, h0, *w: rnn_forward(x, h0, *w)[0], "expected a pair (h, cache)"),
    ],
)
def test_forward_classic_mistakes(capsys, wrong, expected):
    assert expected in failure(exercises.check_rnn_forward, wrong, capsys=capsys)


def test_forward_modifying_x_in_place(capsys):
    def in_place(x, h0, Wx, Wh, b):
        x -= 0.0
        x[:, :, 0] = 1.0
        return rnn_forward(x, h0, Wx, Wh, b)

    message = failure(exercises.check_rnn_forward, in_place, capsys=capsys)
    assert "modified its input x in place" in message


# --------------------------------------------------------------------------- step backward


def test_step_backward_without_the_tanh_derivative(capsys):
    def no_derivative(dh, cache):
        return (
            dh @ cache.Wx.T,
            dh @ cache.Wh.T,
            cache.x.T @ dh,
            cache.h_prev.T @ dh,
            dh.sum(axis=0),
        )

    message = failure(exercises.check_rnn_step_backward, step_forward, no_derivative, capsys=capsys)
    assert "dWh differs from the reference: relative error" in message
    assert "dWh differs from the numerical gradient of your forward pass: relative error" in message
    assert "(expected < 1e-06)" in message
    assert "the tanh derivative is missing" in message


def test_step_backward_transposed_and_averaged_gradients(capsys):
    def transposed_dWh(dh, cache):
        dx, dh_prev, dWx, dWh, db = step_backward(dh, cache)
        return dx, dh_prev, dWx, dWh.T, db

    message = failure(
        exercises.check_rnn_step_backward, step_forward, transposed_dWh, capsys=capsys
    )
    assert "dWh is the transpose of the right gradient" in message
    assert "dWx" not in message

    def averaged(dh, cache):
        return tuple(
            g / dh.shape[0] if i >= 2 else g for i, g in enumerate(step_backward(dh, cache))
        )

    message = failure(exercises.check_rnn_step_backward, step_forward, averaged, capsys=capsys)
    assert "1/N = 1/3 of the right gradient" in message


@pytest.mark.parametrize(
    "change, expected",
    [
        (lambda g: g[:4] + (g[4][None],), "db has shape (1, 5), expected (5,)"),
        (lambda g: g[:4] + (np.tile(g[4], (3, 1)),), "sums the per-example gradients"),
        (lambda g: (g[1], g[0]) + g[2:], "dx has shape (3, 5), expected (3, 4)"),
        (lambda g: g[:2] + (g[2].T,) + g[3:], "dWx looks transposed"),
        (lambda g: g[:4], "returned 4 values, expected 5: (dx, dh_prev, dWx, dWh, db)"),
        (lambda g: g[:3] + (g[3].astype(np.float32),) + g[4:], "dWh has dtype float32"),
    ],
)
def test_step_backward_wrong_returns(capsys, change, expected):
    message = failure(
        exercises.check_rnn_step_backward,
        step_forward,
        lambda dh, cache: change(step_backward(dh, cache)),
        capsys=capsys,
    )
    assert expected in message


def test_step_backward_raising(capsys):
    def my_step_backward(dh, cache):
        return cache.x @ dh

    message = failure(
        exercises.check_rnn_step_backward, step_forward, my_step_backward, capsys=capsys
    )
    assert "my_step_backward raised ValueError: matmul" in message
    assert "return cache.x @ dh" in message
    assert "hint: a matrix product got factors whose inner sizes differ" in message


def test_step_backward_with_a_broken_forward_is_not_checked(capsys):
    def forward(*args):
        raise RuntimeError("not yet")

    with pytest.raises(CheckFailed, match="forward raised RuntimeError: not yet"):
        exercises.check_rnn_step_backward(forward, step_backward)
    assert "the backward pass is not checked" in capsys.readouterr().out


def test_step_backward_modifying_dh_in_place(capsys):
    def in_place(dh, cache):
        dh *= 1 - cache.h**2
        return (
            dh @ cache.Wx.T,
            dh @ cache.Wh.T,
            cache.x.T @ dh,
            cache.h_prev.T @ dh,
            dh.sum(axis=0),
        )

    message = failure(exercises.check_rnn_step_backward, step_forward, in_place, capsys=capsys)
    assert "modified its input dh in place" in message


# --------------------------------------------------------------------------- sequence backward


def _bptt(dh, cache, carry=True, accumulate=True, upstream=lambda dh, t: dh[:, t]):
    """BPTT from reference steps, with switches for classic mistakes."""
    T = len(cache)
    dx, dnext, dW = [None] * T, np.zeros_like(dh[:, 0]), None
    for t in reversed(range(T)):
        dx[t], dprev, *weights = step_backward(upstream(dh, t) + (dnext if carry else 0), cache[t])
        dW = weights if dW is None or not accumulate else [a + b for a, b in zip(dW, weights)]
        dnext = dprev
    return (np.stack(dx, axis=1), dnext, *dW)


@pytest.mark.parametrize(
    "wrong, expected",
    [
        (lambda dh, cache: _bptt(dh, cache, carry=False), "does not flow back"),
        (lambda dh, cache: _bptt(dh, cache, accumulate=False), "add up (+=) the gradients"),
        (
            lambda dh, cache: _bptt(
                dh, cache, upstream=lambda dh, t: dh[:, t] * (t == dh.shape[1] - 1)
            ),
            "only the last state receives its upstream gradient",
        ),
    ],
)
def test_bptt_classic_mistakes(capsys, wrong, expected):
    message = failure(exercises.check_rnn_backward, rnn_forward, wrong, capsys=capsys)
    assert expected in message
    assert "(expected < 1e-05)" in message


def test_bptt_names_the_first_wrong_step_from_the_end(capsys):
    message = failure(
        exercises.check_rnn_backward,
        rnn_forward,
        lambda dh, cache: _bptt(dh, cache, carry=False),
        capsys=capsys,
    )
    assert (
        "dx differs from the reference first at t = 3, walking back from t = 4 (dx[:, 4:] agrees)"
    ) in message

    def no_derivative(dh, cache):
        def step(dh_t, c):
            return dh_t @ c.Wx.T, dh_t @ c.Wh.T, c.x.T @ dh_t, c.h_prev.T @ dh_t, dh_t.sum(0)

        dx, dnext, dWx, dWh, db = [], 0 * dh[:, 0], 0, 0, 0
        for t in reversed(range(len(cache))):
            g = step(dh[:, t] + dnext, cache[t])
            dx.insert(0, g[0])
            dnext, dWx, dWh, db = g[1], dWx + g[2], dWh + g[3], db + g[4]
        return np.stack(dx, axis=1), dnext, dWx, dWh, db

    message = failure(exercises.check_rnn_backward, rnn_forward, no_derivative, capsys=capsys)
    assert "dx differs from the reference already at the last time step t = 4" in message
    assert "check it with check_rnn_step_backward" in message


def test_bptt_modifying_dh_in_place(capsys):
    def in_place(dh, cache):
        for t in reversed(range(1, dh.shape[1])):
            dh[:, t - 1] += step_backward(dh[:, t], cache[t])[1]
        dW = [
            sum(step_backward(dh[:, t], cache[t])[i] for t in range(dh.shape[1])) for i in (2, 3, 4)
        ]
        dx = np.stack([step_backward(dh[:, t], cache[t])[0] for t in range(dh.shape[1])], axis=1)
        return (dx, step_backward(dh[:, 0], cache[0])[1], *dW)

    message = failure(exercises.check_rnn_backward, rnn_forward, in_place, capsys=capsys)
    assert "in_place modified its input dh in place" in message


# --------------------------------------------------------------------------- clipping


@pytest.mark.filterwarnings("ignore:divide by zero")
def test_clipping_each_array_separately(capsys):
    def per_array(grads, max_norm):
        return [g * min(1.0, max_norm / np.linalg.norm(g)) for g in grads]

    message = failure(exercises.check_clip_grad_norm, per_array, capsys=capsys)
    assert "each array was clipped by its own norm" in message


def test_clipping_element_wise(capsys):
    message = failure(
        exercises.check_clip_grad_norm,
        lambda grads, max_norm: [np.clip(g, -max_norm, max_norm) for g in grads],
        capsys=capsys,
    )
    assert "the direction of result[" in message
    assert "np.clip of each entry" in message


@pytest.mark.filterwarnings("ignore:invalid value")
def test_clipping_below_the_threshold(capsys):
    def always(grads, max_norm):
        return [g * max_norm / global_norm(grads) for g in grads]

    message = failure(exercises.check_clip_grad_norm, always, capsys=capsys)
    assert "scaled up to norm max_norm although their norm 3 is below max_norm = 10" in message


def test_never_clipping(capsys):
    message = failure(
        exercises.check_clip_grad_norm,
        lambda grads, max_norm: [g.copy() for g in grads],
        capsys=capsys,
    )
    assert "came back unchanged although their global norm 5.39 exceeds max_norm = 5" in message
    assert "is each array clipped by its own norm?" in message
    assert "came back unchanged although their global norm 10.2 exceeds max_norm = 1" in message


def test_clipping_in_place(capsys):
    def in_place(grads, max_norm):
        scale = min(1.0, max_norm / (global_norm(grads) + 1e-12))
        for g in grads:
            g *= scale
        return grads

    message = failure(exercises.check_clip_grad_norm, in_place, capsys=capsys)
    assert "modified its input grads[0] in place" in message


def test_clipping_that_replaces_the_callers_arrays(capsys):
    def replaces(grads, max_norm):
        clipped = clip_grad_norm(grads, max_norm)
        grads[:] = [None] * len(grads)
        return clipped

    message = failure(exercises.check_clip_grad_norm, replaces, capsys=capsys)
    assert "modified its input grads[0] in place" in message


def test_clipping_zero_gradients_and_none(capsys):
    def divides(grads, max_norm):
        norm = float(global_norm(grads))
        return [g * min(1.0, max_norm / norm) for g in grads]

    message = failure(exercises.check_clip_grad_norm, divides, capsys=capsys)
    assert "divides raised ZeroDivisionError: float division by zero" in message
    assert "[all-zero gradients (norm 0), max_norm 1]" in message

    message = failure(exercises.check_clip_grad_norm, lambda grads, max_norm: None, capsys=capsys)
    assert "returned None, expected a list of 3 arrays" in message
