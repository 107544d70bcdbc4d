"""Checks for the vanilla-RNN exercises: unroll, step and sequence, forward and backward, clipping.

Each check compares the student's function with the tested reference in
:mod:`helpers.numpy_rnn` on fixed, seeded float64 inputs (and, for backward
passes, with central differences of the student's own forward pass).
"""

import numpy as np

from helpers import numpy_rnn
from helpers.course.feedback import (
    FAILED,
    NUMERICAL_TOLERANCE_SEQUENCE,
    NUMERICAL_TOLERANCE_STEP,
    REFERENCE_TOLERANCE,
    StepMisuse,
    arrays_close,
    call_safely,
    check_array,
    check_backward_pass,
    check_forward,
    check_outputs,
    copies,
    describe,
    first_match,
    function_label,
    start_check,
    unpack,
)
from helpers.gradcheck import rel_error

__all__ = [
    "check_unroll",
    "check_rnn_step_forward",
    "check_rnn_forward",
    "check_rnn_step_backward",
    "check_rnn_backward",
    "check_clip_grad_norm",
]

# Clipping may add a small epsilon to the norm (torch adds 1e-6).
CLIP_TOLERANCE = 1e-5

_STEP_GRADIENTS = ("dx", "dh_prev", "dWx", "dWh", "db")
_SEQUENCE_GRADIENTS = ("dx", "dh0", "dWx", "dWh", "db")


# --------------------------------------------------------------------------- inputs


def _rnn_inputs(seed, N, D, H, T=None):
    """Seeded float64 inputs, scaled so tanh is neither linear nor saturated."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((N, D) if T is None else (N, T, D))
    h = 0.5 * rng.standard_normal((N, H))
    Wx = rng.standard_normal((D, H)) / np.sqrt(D)
    Wh = rng.standard_normal((H, H)) / np.sqrt(H)
    b = 0.3 * rng.standard_normal(H)
    return x, h, Wx, Wh, b


def _sequence_shape_hint(N, T, H):
    """Explanations of the classic wrong shapes of an (N, T, H) stack of states."""

    def hint(shape):
        if shape == (N, T + 1, H):
            return "one state too many: is h0 included? Return only the new states h_1, ..., h_T"
        if T > 1 and shape == (N, T - 1, H):
            return "one state too few: return all T states h_1, ..., h_T"
        if shape == (N, H):
            return (
                "only one state: did you return just the last state h_T? Return every "
                "state, stacked along axis 1"
                + (" (the time axis stays, even for T = 1)" if T == 1 else "")
            )
        if shape in ((T, N, H), (T + 1, N, H)):
            return (
                "the states are stacked along axis 0 (time first); batches here are "
                "row-major: stack along axis 1, so that h[:, t] is the state at time t"
            )
        if shape == (N, H, T):
            return "the states are stacked along the last axis; stack along axis 1"
        return None

    return hint


def _sequence_variants(run, x, h0, want):
    """Classic wrong answers of a recurrence ``run(x, h0) -> (N, T, H)``, with their hints."""
    T = x.shape[1]
    return [
        (
            "the states are in reverse time order: h[:, 0] must be h_1, the state after the "
            "first input, and h[:, -1] the last state h_T",
            lambda: want[:, ::-1],
        ),
        (
            "the inputs are read in reverse order, from t = T - 1 down to 0; the recurrence "
            "starts at t = 0",
            lambda: run(x[:, ::-1], h0),
        ),
        (
            "the inputs are read in reverse order, from t = T - 1 down to 0; the recurrence "
            "starts at t = 0",
            lambda: run(x[:, ::-1], h0)[:, ::-1],
        ),
        (
            "every state is one step late: h[:, 0] is h0 and the last state h_T is missing; "
            "return h_1, ..., h_T",
            lambda: np.concatenate([h0[:, None], want[:, :-1]], axis=1),
        ),
        (
            "the states ignore h0: the recurrence must start from h0, not from zeros",
            lambda: run(x, np.zeros_like(h0)),
        ),
        (
            "every state is computed from h0: each step must start from the state the previous "
            "step returned",
            lambda: np.stack([run(x[:, t : t + 1], h0)[:, 0] for t in range(T)], 1),
        ),
    ]


def _compare_states(report, label, got, want, variants, first_step_hint=None):
    """Compare an (N, T, H) stack of states with the reference, naming the first wrong step.

    ``first_step_hint`` is given when no variant explains the difference and the
    very first state is already wrong: then the step, not the recurrence, is at fault.
    """
    error = rel_error(got, want)
    if error < REFERENCE_TOLERANCE:
        report.ok(f"{label} matches the reference at every time step (relative error {error:.1e})")
        return
    T = want.shape[1]
    t = next(t for t in range(T) if rel_error(got[:, t], want[:, t]) >= REFERENCE_TOLERANCE)
    gap = np.max(np.abs(got[:, t] - want[:, t]))
    where = (
        "differs from the reference from the first time step on (t = 0)"
        if t == 0
        else f"agrees with the reference up to t = {t - 1} but first differs at t = {t}"
    )
    hint = first_match(got, variants)
    if hint is None and t == 0:
        hint = first_step_hint
    report.fail(
        f"{label} {where}: max abs difference {gap:.1e} in {label}[:, {t}] "
        f"(relative error over all steps {error:.1e})",
        hint=hint,
    )


# --------------------------------------------------------------------------- unroll


def _watched_step(step, N, D, H, calls):
    def checked_step(x_t, h_prev):
        for name, value, shape, meaning in (
            ("x_t", x_t, (N, D), "inputs[:, t], the inputs of time step t for the whole batch"),
            ("h_prev", h_prev, (N, H), "the state returned by the previous call (h0 at t = 0)"),
        ):
            if not (isinstance(value, np.ndarray) and value.shape == shape):
                raise StepMisuse(
                    f"step(x_t, h_prev) was called with {name} = {describe(value)}, expected "
                    f"shape {shape}: {name} is {meaning}"
                )
        calls.append(1)
        return step(x_t, h_prev)

    return checked_step


def _unroll_case(report, fn, title, step, run, inputs, h0):
    report.start_case(title)
    (N, T, D), H = inputs.shape, h0.shape[1]
    want = run(inputs, h0)
    calls = []
    args = dict(step=_watched_step(step, N, D, H, calls), **copies(h0=h0, inputs=inputs))
    label = function_label(fn, "unroll")
    got = call_safely(report, fn, label, args, watch=("h0", "inputs"))
    if got is FAILED:
        return
    if not check_array(
        report,
        "the result",
        got,
        (N, T, H),
        ("N", "T", "H"),
        shape_hint=_sequence_shape_hint(N, T, H),
        list_hint="stack the states into one (N, T, H) array along axis 1",
    ):
        return
    if len(calls) != T:
        report.fail(
            f"{label} called step {len(calls)} times, expected once per time step (T = {T})"
        )
    _compare_states(
        report,
        "the result",
        got,
        want,
        _sequence_variants(run, inputs, h0, want),
        first_step_hint="the first state already differs: h_1 must be step(inputs[:, 0], h0)",
    )


def check_unroll(fn):
    """Check ``unroll(step, h0, inputs)``: a recurrence over any step function.

    The function must apply ``step(x_t, h_prev) -> h_t`` along the time axis:
    ``h_1 = step(inputs[:, 0], h0)``, ``h_2 = step(inputs[:, 1], h_1)`` and so
    on, and return the states ``h_1, ..., h_T`` (not ``h0``) as one array of
    shape ``(N, T, H)``, with ``inputs`` of shape ``(N, T, D)`` and ``h0`` of
    shape ``(N, H)``. It must not modify ``h0`` or ``inputs``.

    Tested with a tanh RNN step with fixed random weights, with the
    order-revealing step ``h + x`` (each state is ``h0`` plus the sum of the
    inputs so far) and with a single time step (``T = 1``).

    Raises:
        CheckFailed: if any test fails; its message lists the failures.
    """
    report = start_check("check_unroll", fn=fn)

    x, h0, Wx, Wh, b = _rnn_inputs(seed=101, N=2, T=5, D=3, H=4)

    def tanh_step(x_t, h_prev):
        return numpy_rnn.rnn_step_forward(x_t, h_prev, Wx, Wh, b)[0]

    def tanh_run(inputs, h_start):
        return numpy_rnn.rnn_forward(inputs, h_start, Wx, Wh, b)[0]

    _unroll_case(
        report, fn, "tanh RNN step, N = 2, T = 5, D = 3, H = 4", tanh_step, tanh_run, x, h0
    )

    rng = np.random.default_rng(102)
    counts = rng.integers(1, 10, size=(2, 4, 3)).astype(np.float64)
    start = rng.integers(-5, 5, size=(2, 3)).astype(np.float64)
    _unroll_case(
        report,
        fn,
        "step(x, h) = h + x, so h_t = h0 + x_1 + ... + x_t; N = 2, T = 4, D = H = 3",
        lambda x_t, h_prev: h_prev + x_t,
        lambda inputs, h_start: h_start[:, None] + np.cumsum(inputs, axis=1),
        counts,
        start,
    )

    _unroll_case(
        report,
        fn,
        "a single time step: tanh RNN step, N = 2, T = 1, D = 3, H = 4",
        tanh_step,
        tanh_run,
        x[:, :1],
        h0,
    )
    return report.finish()


# --------------------------------------------------------------------------- forward passes


def _step_forward_variants(x, h_prev, Wx, Wh, b, want):
    def ref(**changed):
        args = {**dict(x=x, h_prev=h_prev, Wx=Wx, Wh=Wh, b=b), **changed}
        return numpy_rnn.rnn_step_forward(**args)[0]

    pre_activation = np.arctanh(want)
    return [
        (
            "h equals the pre-activation x Wx + h_prev Wh + b: apply tanh to it",
            lambda: pre_activation,
        ),
        (
            "h equals the logistic sigmoid of the pre-activation; the vanilla RNN uses tanh",
            lambda: 1 / (1 + np.exp(-pre_activation)),
        ),
        (
            "Wh is used transposed: the book's formula is h = tanh(x Wx + h_prev Wh + b) with "
            "row-major batches",
            lambda: ref(Wh=Wh.T),
        ),
        ("the bias b is missing", lambda: ref(b=np.zeros_like(b))),
        (
            "h_prev is ignored: the recurrent term h_prev Wh is missing",
            lambda: ref(h_prev=np.zeros_like(h_prev)),
        ),
        ("x is ignored: the input term x Wx is missing", lambda: ref(x=np.zeros_like(x))),
    ]


def _step_shape_hint(N, D, H):
    def hint(shape):
        if shape == (H, N):
            return "h is transposed: with row-major batches, row n is the state of example n"
        if shape in ((N, D), (D, H), (N, N), (H, H)):
            return "h must have one row per example and one column per hidden unit: (N, H)"
        return None

    return hint


def _check_step_forward_output(report, label, value, want, inputs):
    """Tests on the (h, cache) returned by a step forward. Returns the cache, or FAILED."""
    (N, D), H = inputs["x"].shape, inputs["Wh"].shape[0]
    return check_outputs(
        report,
        label,
        value,
        ("h",),
        (want,),
        (N, H),
        ("N", "H"),
        shape_hint=lambda name: _step_shape_hint(N, D, H),
        variants=lambda index: _step_forward_variants(**inputs, want=want),
    )


def check_rnn_step_forward(fn):
    """Check ``rnn_step_forward(x, h_prev, Wx, Wh, b) -> (h, cache)``.

    The function must compute one step of the vanilla RNN,
    ``h = tanh(x Wx + h_prev Wh + b)``, with ``x`` of shape ``(N, D)``,
    ``h_prev`` ``(N, H)``, ``Wx`` ``(D, H)``, ``Wh`` ``(H, H)`` and ``b``
    ``(H,)``, and return the pair ``(h, cache)``: ``h`` a float64 array of shape
    ``(N, H)`` and ``cache`` anything the backward pass needs (not checked).
    It must not modify its inputs.

    Raises:
        CheckFailed: if any test fails; its message lists the failures.
    """
    report = start_check("check_rnn_step_forward", fn=fn)
    for seed, (N, D, H) in ((201, (3, 4, 5)), (202, (1, 2, 3))):
        report.start_case(f"one step, N = {N}, D = {D}, H = {H}")
        x, h_prev, Wx, Wh, b = _rnn_inputs(seed, N, D, H)
        inputs = dict(x=x, h_prev=h_prev, Wx=Wx, Wh=Wh, b=b)
        want = numpy_rnn.rnn_step_forward(**inputs)[0]
        check_forward(
            report,
            fn,
            function_label(fn, "rnn_step_forward"),
            inputs,
            want,
            _check_step_forward_output,
        )
    return report.finish()


def _forward_variants(inputs, want):
    x, h0, Wx, Wh, b = inputs.values()

    def run(x_, h0_, **changed):
        args = {**dict(Wx=Wx, Wh=Wh, b=b), **changed}
        return numpy_rnn.rnn_forward(x_, h0_, **args)[0]

    return _sequence_variants(run, x, h0, want) + [
        (
            "Wh is used transposed: the book's formula is h_t = tanh(x_t Wx + h_{t-1} Wh + b) "
            "with row-major batches",
            lambda: run(x, h0, Wh=Wh.T),
        ),
        ("the bias b is missing", lambda: run(x, h0, b=np.zeros_like(b))),
    ]


def _check_sequence_forward_output(report, label, value, want, inputs):
    """Tests on the (h, cache) returned by a sequence forward. Returns the cache, or FAILED."""
    pair = unpack(report, value, label, ("h", "cache"))
    if pair is None:
        return FAILED
    h, cache = pair
    N, T, H = want.shape
    if not check_array(
        report,
        "h",
        h,
        (N, T, H),
        ("N", "T", "H"),
        shape_hint=_sequence_shape_hint(N, T, H),
        list_hint="stack the states into one (N, T, H) array along axis 1",
    ):
        return FAILED
    _compare_states(
        report,
        "h",
        h,
        want,
        _forward_variants(inputs, want),
        first_step_hint="the first state h[:, 0] already differs, so the step itself "
        "is wrong: check it with check_rnn_step_forward",
    )
    return cache


def check_rnn_forward(fn):
    """Check ``rnn_forward(x, h0, Wx, Wh, b) -> (h, cache)`` over whole sequences.

    The function must run the vanilla RNN ``h_t = tanh(x_t Wx + h_{t-1} Wh + b)``
    over ``x`` of shape ``(N, T, D)`` from ``h0`` of shape ``(N, H)`` (``Wx``
    ``(D, H)``, ``Wh`` ``(H, H)``, ``b`` ``(H,)``), and return the pair
    ``(h, cache)``: ``h`` the float64 array of shape ``(N, T, H)`` holding
    ``h_1, ..., h_T`` (``h[:, t]`` is the state after reading ``x[:, t]``; ``h0``
    is not included), ``cache`` anything the backward pass needs (not checked).
    It must not modify its inputs. Tested with ``T = 5`` and ``T = 1``.

    Raises:
        CheckFailed: if any test fails; its message lists the failures.
    """
    report = start_check("check_rnn_forward", fn=fn)
    for seed, (N, T, D, H) in ((301, (2, 5, 3, 4)), (302, (3, 1, 2, 4))):
        report.start_case(f"{N} sequences of T = {T} step{'s' * (T > 1)}, D = {D}, H = {H}")
        x, h0, Wx, Wh, b = _rnn_inputs(seed, N, D, H, T=T)
        inputs = dict(x=x, h0=h0, Wx=Wx, Wh=Wh, b=b)
        want = numpy_rnn.rnn_forward(**inputs)[0]
        check_forward(
            report,
            fn,
            function_label(fn, "rnn_forward"),
            inputs,
            want,
            _check_sequence_forward_output,
        )
    return report.finish()


# --------------------------------------------------------------------------- backward passes


def _step_backward_variants(inputs, dh):
    h_prev = inputs["h_prev"]

    def ref(upstream):
        h, cache = numpy_rnn.rnn_step_forward(**inputs)
        # The reference multiplies its upstream by tanh' = 1 - h**2; dividing it out
        # first gives what a step with a different (or no) derivative would return.
        return dict(zip(_STEP_GRADIENTS, numpy_rnn.rnn_step_backward(upstream(h), cache)))

    return [
        (
            "the tanh derivative is missing: the upstream gradient dh must be multiplied by "
            "tanh'(a) = 1 - h**2 before it reaches the weights and inputs",
            lambda: ref(lambda h: dh / (1 - h**2)),
        ),
        (
            "the tanh derivative is taken at h_prev: it is 1 - h**2, with h the output of this step",
            lambda: ref(lambda h: dh * (1 - h_prev**2) / (1 - h**2)),
        ),
    ]


def check_rnn_step_backward(forward, backward):
    """Check ``rnn_step_backward(dh, cache) -> (dx, dh_prev, dWx, dWh, db)``.

    ``forward(x, h_prev, Wx, Wh, b) -> (h, cache)`` is your step forward (see
    :func:`check_rnn_step_forward`); ``backward`` gets the upstream gradient
    ``dh`` of shape ``(N, H)`` and that cache, and must return the gradients of
    ``sum(h * dh)`` with respect to ``x``, ``h_prev``, ``Wx``, ``Wh`` and ``b``,
    in that order, each a float64 array of the shape of its input. Each is
    compared with the reference and with central differences of your forward;
    neither function may modify its inputs.

    Raises:
        CheckFailed: if any test fails; its message lists the failures.
    """
    report = start_check("check_rnn_step_backward", forward=forward, backward=backward)
    N, D, H = 3, 4, 5
    report.start_case(f"one step, N = {N}, D = {D}, H = {H}")
    x, h_prev, Wx, Wh, b = _rnn_inputs(401, N, D, H)
    inputs = dict(x=x, h_prev=h_prev, Wx=Wx, Wh=Wh, b=b)
    dh = np.random.default_rng(402).standard_normal((N, H))
    want_h, cache = numpy_rnn.rnn_step_forward(**inputs)
    want = dict(zip(_STEP_GRADIENTS, numpy_rnn.rnn_step_backward(dh, cache)))

    check_backward_pass(
        report,
        forward,
        backward,
        inputs,
        dict(dh=dh),
        want_h,
        want,
        ("rnn_step_forward", "rnn_step_backward"),
        _check_step_forward_output,
        NUMERICAL_TOLERANCE_STEP,
        _step_backward_variants(inputs, dh),
    )
    return report.finish()


def _sequence_backward_variants(inputs, dh):
    """Classic BPTT mistakes, each as the gradients it returns, built from reference steps."""
    x, h0, Wx, Wh, b = inputs.values()
    T = x.shape[1]
    states = numpy_rnn.rnn_forward(**inputs)[0]
    previous = [h0] + [states[:, t] for t in range(T - 1)]

    def step(t, upstream):
        cache = numpy_rnn.rnn_step_forward(x[:, t], previous[t], Wx, Wh, b)[1]
        return numpy_rnn.rnn_step_backward(upstream, cache)

    def combine(per_step):
        """Gradients of the whole sequence from each step's (dx, dh_prev, dWx, dWh, db)."""
        return dict(
            dx=np.stack([g[0] for g in per_step], axis=1),
            dh0=per_step[0][1],
            dWx=sum(g[2] for g in per_step),
            dWh=sum(g[3] for g in per_step),
            db=sum(g[4] for g in per_step),
        )

    def only_last_upstream():
        last = np.zeros_like(dh)
        last[:, -1] = dh[:, -1]
        cache = numpy_rnn.rnn_forward(**inputs)[1]
        return dict(zip(_SEQUENCE_GRADIENTS, numpy_rnn.rnn_backward(last, cache)))

    def no_carry():
        return combine([step(t, dh[:, t]) for t in range(T)])

    def first_step_only():
        # Later steps send back into the first state h_1 the dh0 of the rest of the
        # sequence, x[:, 1:], started from h_1.
        carried = np.zeros_like(h0)
        if T > 1:
            cache = numpy_rnn.rnn_forward(x[:, 1:], states[:, 0], Wx, Wh, b)[1]
            carried = numpy_rnn.rnn_backward(dh[:, 1:], cache)[1]
        _, _, dWx, dWh, db = step(0, dh[:, 0] + carried)
        return dict(dWx=dWx, dWh=dWh, db=db)

    def last_step_only():
        _, _, dWx, dWh, db = step(T - 1, dh[:, T - 1])
        return dict(dWx=dWx, dWh=dWh, db=db)

    overwritten = (
        "the weight gradients hold one time step's contribution: Wx, Wh and b are "
        "shared by every step, so add up (+=) the gradients of all steps"
    )
    return [
        (
            "only the last state receives its upstream gradient: at every step t, add dh[:, t] "
            "to the gradient flowing back into h_t",
            only_last_upstream,
        ),
        (
            "the gradient from later steps does not flow back: at step t the gradient on h_t is "
            "dh[:, t] plus the dh_prev that step t + 1 returned",
            no_carry,
        ),
        (overwritten, first_step_only),
        (overwritten, last_step_only),
    ]


def check_rnn_backward(forward, backward):
    """Check backpropagation through time, ``rnn_backward(dh, cache) -> (dx, dh0, dWx, dWh, db)``.

    ``forward(x, h0, Wx, Wh, b) -> (h, cache)`` is your sequence forward (see
    :func:`check_rnn_forward`); ``backward`` gets ``dh`` of shape ``(N, T, H)``,
    the upstream gradient on *every* state (``dh[:, t]`` on ``h[:, t]``), and
    that cache, and must return the gradients of ``sum(h * dh)`` with respect
    to ``x``, ``h0``, ``Wx``, ``Wh`` and ``b``, in that order, each a float64
    array of the shape of its input. Each is compared with the reference and
    with central differences of your forward; for ``dx`` the report names the
    first time step, walking back from the last, where it goes wrong. Neither
    function may modify its inputs (``dh`` included).

    Raises:
        CheckFailed: if any test fails; its message lists the failures.
    """
    report = start_check("check_rnn_backward", forward=forward, backward=backward)
    N, T, D, H = 2, 5, 3, 4
    report.start_case(f"{N} sequences of T = {T} steps, D = {D}, H = {H}")
    x, h0, Wx, Wh, b = _rnn_inputs(501, N, D, H, T=T)
    inputs = dict(x=x, h0=h0, Wx=Wx, Wh=Wh, b=b)
    dh = np.random.default_rng(502).standard_normal((N, T, H))
    want_h, cache = numpy_rnn.rnn_forward(**inputs)
    want = dict(zip(_SEQUENCE_GRADIENTS, numpy_rnn.rnn_backward(dh, cache)))

    check_backward_pass(
        report,
        forward,
        backward,
        inputs,
        dict(dh=dh),
        want_h,
        want,
        ("rnn_forward", "rnn_backward"),
        _check_sequence_forward_output,
        NUMERICAL_TOLERANCE_SEQUENCE,
        _sequence_backward_variants(inputs, dh),
    )
    return report.finish()


# --------------------------------------------------------------------------- gradient clipping


def _gradients_with_norms(seed, shapes, norms):
    rng = np.random.default_rng(seed)
    grads = [rng.standard_normal(shape) for shape in shapes]
    return [g * (norm / np.linalg.norm(g)) for g, norm in zip(grads, norms)]


def _global_norm(arrays):
    return float(np.sqrt(sum(np.sum(a * a) for a in arrays)))


def _same_direction(result, original):
    """True if ``result`` is ``original`` times a positive factor (zero stays zero)."""
    size = np.linalg.norm(original)
    if size == 0:
        return True
    cosine = np.sum(result * original) / (np.linalg.norm(result) * size or 1.0)
    return cosine > 1 - 1e-9


def _explain_clipping(got, grads, max_norm):
    """Name the classic clipping mistake that produced ``got``, if it is one."""
    norm = _global_norm(grads)
    if norm > max_norm and all(arrays_close(g, a, CLIP_TOLERANCE) for g, a in zip(got, grads)):
        hint = (
            f"the gradients came back unchanged although their global norm {norm:.3g} "
            f"exceeds max_norm = {max_norm:g}"
        )
        if all(np.linalg.norm(a) <= max_norm for a in grads):
            hint += (
                " (every array alone is below max_norm: is each array clipped by its own "
                "norm? The norm that counts is the global one over all arrays together)"
            )
        return hint
    if norm and all(
        arrays_close(g, np.clip(a, -max_norm, max_norm), CLIP_TOLERANCE) for g, a in zip(got, grads)
    ):
        return (
            "the result is np.clip of each entry: that changes the direction of the "
            "gradient; scale all arrays by the same factor max_norm / norm instead"
        )
    if norm and all(
        arrays_close(g, a * min(1.0, max_norm / max(np.linalg.norm(a), 1e-300)), CLIP_TOLERANCE)
        for g, a in zip(got, grads)
    ):
        return (
            "each array was clipped by its own norm; the norm that counts is the global "
            "one over all arrays together, sqrt of the sum of every entry squared"
        )
    if (
        norm
        and norm <= max_norm
        and all(arrays_close(g, a * (max_norm / norm), CLIP_TOLERANCE) for g, a in zip(got, grads))
    ):
        return (
            f"the gradients were scaled up to norm max_norm although their norm {norm:.3g} "
            f"is below max_norm = {max_norm:g}: leave them unchanged then"
        )
    return None


def _clip_case(report, fn, title, grads, max_norm):
    report.start_case(title)
    norm = _global_norm(grads)
    factor = min(1.0, max_norm / norm) if norm > 0 else 1.0
    want = [g * factor for g in grads]
    args = dict(grads=[g.copy() for g in grads], max_norm=max_norm)
    label = function_label(fn, "clip_grad_norm")
    got = call_safely(report, fn, label, args, watch=("grads",))
    if got is FAILED:
        return
    if got is None or not isinstance(got, (list, tuple)) or len(got) != len(grads):
        what = "None" if got is None else describe(got)
        report.fail(
            f"{label} returned {what}, expected a list of {len(grads)} arrays "
            "(one per input array)",
            hint="is the return statement missing?" if got is None else None,
        )
        return
    if not all(
        check_array(report, f"result[{i}]", g, a.shape, quiet=True)
        for i, (g, a) in enumerate(zip(got, grads))
    ):
        return
    report.ok(f"returns {len(grads)} float64 arrays with the shapes of the inputs")

    turned = [i for i, (g, a) in enumerate(zip(got, grads)) if not _same_direction(g, a)]
    if turned:
        hint = _explain_clipping(got, grads, max_norm)
        report.fail(
            f"the direction of result[{turned[0]}] differs from grads[{turned[0]}]: "
            "clipping may only scale the gradients",
            hint=hint,
        )
        return
    if any(np.any(a) for a in grads):
        report.ok("every array keeps its direction")

    if all(arrays_close(g, w, CLIP_TOLERANCE) for g, w in zip(got, want)):
        done = (
            f"all arrays scaled by max_norm / norm = {factor:.4g}"
            if factor < 1
            else "the arrays come back unchanged"
        )
        report.ok(f"global norm {norm:.4g}, max_norm {max_norm:g}: {done}")
        return
    result_norm = _global_norm(got)
    expected = (
        f"scaled by max_norm / norm = {factor:.4g} to norm {max_norm:g}"
        if factor < 1
        else "unchanged"
    )
    report.fail(
        f"global norm {norm:.4g}, max_norm {max_norm:g}: the arrays should come back "
        f"{expected}, but the result has global norm {result_norm:.4g}",
        hint=_explain_clipping(got, grads, max_norm),
    )


def check_clip_grad_norm(fn):
    """Check ``clip_grad_norm(grads, max_norm) -> clipped``, gradient clipping by global norm.

    ``grads`` is a list of numpy arrays of any shapes and ``max_norm`` a
    positive number. With ``norm`` the L2 norm of all entries of all arrays
    together, the function must return a new list of arrays: every array
    multiplied by ``max_norm / norm`` if ``norm > max_norm`` (so the result has
    global norm ``max_norm`` and every direction is kept), and every array
    unchanged otherwise (all zeros included). It must not modify ``grads`` or
    its arrays in place.

    Raises:
        CheckFailed: if any test fails; its message lists the failures.
    """
    report = start_check("check_clip_grad_norm", fn=fn)
    shapes = [(3, 4), (4,), (2, 3)]
    _clip_case(
        report,
        fn,
        "global norm 5.39 > max_norm 5, but every array's own norm is below 5",
        _gradients_with_norms(601, shapes, (4.0, 3.0, 2.0)),
        5.0,
    )
    _clip_case(
        report,
        fn,
        "global norm 10.2, far above max_norm 1",
        _gradients_with_norms(602, shapes, (6.0, 8.0, 2.0)),
        1.0,
    )
    _clip_case(
        report,
        fn,
        "global norm 3 below max_norm 10: nothing to clip",
        _gradients_with_norms(603, shapes, (1.0, 2.0, 2.0)),
        10.0,
    )
    _clip_case(
        report,
        fn,
        "all-zero gradients (norm 0), max_norm 1",
        [np.zeros(shape) for shape in shapes],
        1.0,
    )
    return report.finish()
