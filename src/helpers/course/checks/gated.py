"""Checks for the gated-unit exercises: LSTM and GRU steps, forward and backward; parameter counts.

The LSTM checks compare with :mod:`helpers.numpy_lstm` (gate blocks i, f, g, o),
the GRU checks with :mod:`helpers.numpy_gru` (PyTorch's GRU: blocks r, z, n,
the reset gate applied after the recurrent matrix product), the backward
checks also with central differences of the student's own forward pass, and
:func:`check_parameter_count` with the modules of ``torch.nn``.

A wrong answer is recomputed with each classic mistake (the gate blocks in
another order, a gate's activation swapped, the textbook GRU, a gradient path
dropped, a bias counted once, ...); the mistake that reproduces it is named.
"""

import itertools

import numpy as np

from helpers import numpy_gru, numpy_lstm
from helpers.course.feedback import (
    NUMERICAL_TOLERANCE_STEP,
    check_backward_pass,
    check_forward,
    check_outputs,
    describe,
    function_label,
    report_exception,
    start_check,
)
from helpers.numpy_lstm import _sigmoid

__all__ = [
    "check_lstm_step_forward",
    "check_lstm_step_backward",
    "check_gru_step_forward",
    "check_gru_step_backward",
    "check_parameter_count",
]

_LSTM_GATES = numpy_lstm.GATES  # i, f, g, o
_GRU_GATES = numpy_gru.GATES  # r, z, n
_LSTM_GRADIENTS = ("dx", "dh_prev", "dc_prev", "dWx", "dWh", "db")
_GRU_GRADIENTS = ("dx", "dh_prev", "dWx", "dWh", "dbx", "dbh")

_GATE_NAMES = dict(
    i="the input gate i",
    f="the forget gate f",
    g="the candidate g",
    o="the output gate o",
    r="the reset gate r",
    z="the update gate z",
    n="the new gate n",
)

# Gate orders of other libraries and courses, which students meet and copy.
_KNOWN_ORDERS = {
    ("i", "f", "o", "g"): "CS231n's order",
    ("i", "g", "f", "o"): "TensorFlow 1's LSTMCell order",
    ("i", "o", "f", "g"): "ONNX's order",
    ("z", "r", "n"): "Keras's order",
}


# --------------------------------------------------------------------------- inputs and shapes


def _lstm_inputs(seed, N, D, H):
    """Seeded float64 inputs, scaled so that no gate is linear or saturated."""
    rng = np.random.default_rng(seed)
    return dict(
        x=rng.standard_normal((N, D)),
        h_prev=0.5 * rng.standard_normal((N, H)),
        c_prev=rng.standard_normal((N, H)),
        Wx=rng.standard_normal((D, 4 * H)) / np.sqrt(D),
        Wh=rng.standard_normal((H, 4 * H)) / np.sqrt(H),
        b=0.3 * rng.standard_normal(4 * H),
    )


def _gru_inputs(seed, N, D, H):
    """Seeded float64 inputs, scaled so that no gate is linear or saturated."""
    rng = np.random.default_rng(seed)
    return dict(
        x=rng.standard_normal((N, D)),
        h_prev=0.5 * rng.standard_normal((N, H)),
        Wx=rng.standard_normal((D, 3 * H)) / np.sqrt(D),
        Wh=rng.standard_normal((H, 3 * H)) / np.sqrt(H),
        bx=0.3 * rng.standard_normal(3 * H),
        bh=0.3 * rng.standard_normal(3 * H),
    )


def _blocks(a, H):
    """The gate blocks of ``a``: its last axis cut into pieces of ``H``."""
    return [a[..., k * H : (k + 1) * H] for k in range(a.shape[-1] // H)]


def _gated_error_hint(blocks):
    """Explain the exceptions a gated step raises when its blocks or weights are misread."""

    def hint(message):
        if "matmul" in message or "not aligned" in message:
            return (
                "a matrix product got factors whose inner sizes differ: print the shapes of "
                f"both; Wx is (D, {blocks}H) and Wh (H, {blocks}H), the gate blocks side by "
                "side in the columns (PyTorch's weight_ih and weight_hh are their transposes), "
                f"so x Wx and h_prev Wh are both (N, {blocks}H)"
            )
        if "broadcast" in message:
            return (
                "arrays of different shapes met in an entrywise operation: each gate is one "
                f"block of exactly H columns of the {blocks}H columns of the pre-activations, "
                "block k being columns k*H to (k+1)*H, with H the number of rows of Wh; "
                "check the slice bounds (one off by one gives a gate of H - 1 or H + 1 "
                "columns)"
            )
        return None

    return hint


def _gated_shape_hint(name, N, H, blocks):
    def hint(shape):
        if shape == (H, N):
            return f"{name} is transposed: with row-major batches, row n is the state of example n"
        if shape == (N, blocks * H):
            return (
                f"{name} has the {blocks}H columns of all {blocks} gate blocks together: "
                "each gate is one block of H columns, and so is the state"
            )
        return None

    return hint


def _order_hint(order, gates, columns):
    known = _KNOWN_ORDERS.get(order)
    return (
        f"the gate blocks are read in the order {', '.join(order)}"
        + (f" ({known})" if known else "")
        + f"; the book follows PyTorch's order {', '.join(gates)}: {columns}"
    )


def _other_orders(gates, skip=()):
    """Every other order of ``gates``, those of known libraries first."""
    orders = [
        order for order in itertools.permutations(gates) if order != gates and order not in skip
    ]
    return sorted(orders, key=lambda order: order not in _KNOWN_ORDERS)


def _output_variants(variants, index):
    """Variants that compute several outputs, narrowed to output ``index``."""
    return [(hint, lambda compute=compute: compute()[index]) for hint, compute in variants]


# --------------------------------------------------------------------------- LSTM step forward


def _lstm_with(inputs, order=_LSTM_GATES, activation=None, cell=None, output=None, forget_bias=0.0):
    """(h, c) of an LSTM step with one mistake: gate blocks read in ``order``, another
    ``activation`` for a gate, another ``cell(i, f, g, c_prev)`` or ``output(o, c, c_prev)``,
    or ``forget_bias`` added to the forget gate's pre-activation."""
    x, h_prev, c_prev, Wx, Wh, b = inputs.values()
    pre = dict(zip(order, _blocks(x @ Wx + h_prev @ Wh + b, h_prev.shape[1])))
    pre["f"] = pre["f"] + forget_bias
    activations = {**dict(i=_sigmoid, f=_sigmoid, g=np.tanh, o=_sigmoid), **(activation or {})}
    i, f, g, o = (activations[gate](pre[gate]) for gate in _LSTM_GATES)
    c = cell(i, f, g, c_prev) if cell else f * c_prev + i * g
    h = output(o, c, c_prev) if output else o * np.tanh(c)
    return h, c


_LSTM_COLUMNS = (
    "columns 0:H of Wx, Wh and b belong to the input gate i, H:2H to the forget "
    "gate f, 2H:3H to the candidate g and 3H:4H to the output gate o"
)
_CELL = "c_t = f * c_{t-1} + i * g"
_SIGMOID_GATE = (
    "i, f and o are gates: sigmoid(a) in [0, 1] says how much passes; only the "
    "candidate g = tanh(a_g), what is written to the cell, lies in [-1, 1]"
)


def _lstm_forward_variants(inputs):
    """Classic wrong LSTM steps, each as the (h, c) it returns, with their hints."""

    def ref(**changed):
        return numpy_lstm.lstm_step_forward(**{**inputs, **changed})[:2]

    def variant(**mistake):
        return lambda: _lstm_with(inputs, **mistake)

    def swapped_outputs():
        h, c = ref()
        return c, h

    def tanh_of_c():
        h, c = ref()
        return h, np.tanh(c)

    variants = [
        (
            "the input and forget gates are swapped: the forget gate f (columns H:2H) multiplies "
            f"c_{{t-1}} and the input gate i (columns 0:H) the candidate g, {_CELL}",
            variant(order=("f", "i", "g", "o")),
        ),
    ]
    variants += [
        (_order_hint(order, _LSTM_GATES, _LSTM_COLUMNS), variant(order=order))
        for order in _other_orders(_LSTM_GATES, skip=[("f", "i", "g", "o")])
    ]
    variants += [
        (
            "Wx is used transposed: Wx is (D, 4H), the four gate blocks side by side in its "
            "columns, and the gates' pre-activations are x Wx + h_{t-1} Wh + b with row-major "
            "batches (PyTorch's weight_ih is the transpose, (4H, D))",
            lambda: ref(Wx=inputs["Wx"].T),
        ),
        ("the bias b is missing", lambda: ref(b=np.zeros_like(inputs["b"]))),
        (
            "h_{t-1} is ignored: the recurrent term h_{t-1} Wh is missing",
            lambda: ref(h_prev=np.zeros_like(inputs["h_prev"])),
        ),
    ]
    variants += [
        (
            f"{_GATE_NAMES[gate]} uses tanh where the sigmoid belongs: {_SIGMOID_GATE}",
            variant(activation={gate: np.tanh}),
        )
        for gate in "ifo"
    ]
    variants += [
        (
            "the candidate g uses the sigmoid where tanh belongs: g = tanh(a_g) lies in [-1, 1], "
            "so that a step can lower the cell state as well as raise it",
            variant(activation=dict(g=_sigmoid)),
        ),
        (
            "tanh and the sigmoid are swapped: i, f and o use the sigmoid, the candidate g tanh",
            variant(activation=dict(i=np.tanh, f=np.tanh, g=_sigmoid, o=np.tanh)),
        ),
        (
            "h_t = o * c_t: tanh is missing; h_t = o * tanh(c_t), so that h_t stays in [-1, 1] "
            "however large the cell state grows",
            variant(output=lambda o, c, c_prev: o * c),
        ),
        (
            "h_t uses sigmoid(c_t); it is h_t = o * tanh(c_t)",
            variant(output=lambda o, c, c_prev: o * _sigmoid(c)),
        ),
        (
            "h_t is computed from c_{t-1}, the cell state before the step (off by one step): "
            "h_t = o * tanh(c_t), with the new cell state",
            variant(output=lambda o, c, c_prev: o * np.tanh(c_prev)),
        ),
        (
            "the forget gate's pre-activation has 1 added (TensorFlow's forget_bias = 1.0); "
            "PyTorch's step adds nothing: a forget bias of 1 belongs in the initial value of b",
            variant(forget_bias=1.0),
        ),
        (
            "the input gate is 1 - f, coupled to the forget gate as in a GRU; the LSTM has an "
            f"input gate of its own: {_CELL}",
            variant(cell=lambda i, f, g, c_prev: f * c_prev + (1 - f) * g),
        ),
        (
            f"the input gate is missing: {_CELL}",
            variant(cell=lambda i, f, g, c_prev: f * c_prev + g),
        ),
        (
            f"the forget gate is missing: {_CELL}",
            variant(cell=lambda i, f, g, c_prev: c_prev + i * g),
        ),
        ("h and c are swapped: return (h, c, cache), the hidden state first", swapped_outputs),
        ("c is tanh(c_t): return the cell state c_t itself, before tanh", tanh_of_c),
    ]
    return variants


def _check_lstm_forward_output(report, label, value, want, inputs):
    """Tests on the (h, c, cache) returned by an LSTM step. Returns the cache, or FAILED."""
    (N, _), H = inputs["x"].shape, inputs["Wh"].shape[0]
    return check_outputs(
        report,
        label,
        value,
        ("h", "c"),
        want,
        (N, H),
        ("N", "H"),
        shape_hint=lambda name: _gated_shape_hint(name, N, H, 4),
        variants=lambda index: _output_variants(_lstm_forward_variants(inputs), index),
    )


def check_lstm_step_forward(fn):
    """Check ``lstm_step_forward(x, h_prev, c_prev, Wx, Wh, b) -> (h, c, cache)``.

    The function must compute one step of the LSTM with the gate blocks in
    PyTorch's order i, f, g, o: ``a = x Wx + h_prev Wh + b``, the gates
    ``i, f, o = sigmoid`` of their blocks of ``a`` and ``g = tanh`` of its
    block, then ``c = f * c_prev + i * g`` and ``h = o * tanh(c)``, with ``x``
    of shape ``(N, D)``, ``h_prev`` and ``c_prev`` ``(N, H)``, ``Wx``
    ``(D, 4H)``, ``Wh`` ``(H, 4H)`` and ``b`` ``(4H,)``. It must return the
    triple ``(h, c, cache)``: ``h`` and ``c`` float64 arrays of shape
    ``(N, H)`` and ``cache`` anything the backward pass needs (not checked),
    and must not modify its inputs. Tested also with ``D = 4H``, where a
    transposed ``Wx`` runs.

    Raises:
        CheckFailed: if any test fails; its message lists the failures.
    """
    report = start_check("check_lstm_step_forward", fn=fn)
    for seed, (N, D, H) in ((701, (3, 4, 5)), (702, (2, 8, 2))):
        report.start_case(f"one step, N = {N}, D = {D}, H = {H}")
        inputs = _lstm_inputs(seed, N, D, H)
        want = numpy_lstm.lstm_step_forward(**inputs)[:2]
        check_forward(
            report,
            fn,
            function_label(fn, "lstm_step_forward"),
            inputs,
            want,
            _check_lstm_forward_output,
            error_hint=_gated_error_hint(4),
        )
    return report.finish()


# --------------------------------------------------------------------------- LSTM step backward


def _lstm_gradients_with(
    inputs,
    dh,
    dc,
    upstream_dc=True,
    through_h=True,
    tanh_c_derivative=None,
    dc_prev=None,
    dsigmoid=None,
    dtanh=None,
    swap_factors=False,
    df_with_c=False,
    do_with_c=False,
    order=_LSTM_GATES,
):
    """The gradients of an LSTM step's backward pass with one mistake, from the reference's gates.

    ``dc_prev(total, dc, f)`` replaces the gradient on ``c_prev``, ``dsigmoid``
    and ``dtanh`` (of the activation's value) the derivatives, and ``order``
    the order in which the gates' gradients are stacked.
    """
    cache = numpy_lstm.lstm_step_forward(**inputs)[2]
    i, f, g, o, c, tanh_c = cache.i, cache.f, cache.g, cache.o, cache.c, cache.tanh_c
    dsigmoid = dsigmoid or (lambda s: s * (1 - s))
    dtanh = dtanh or (lambda t: 1 - t**2)
    d_tanh_c = 1 - tanh_c**2 if tanh_c_derivative is None else tanh_c_derivative(c)
    total = (dc if upstream_dc else 0) + (dh * o * d_tanh_c if through_h else 0)
    on_gate = dict(
        i=total * (i if swap_factors else g),
        f=total * (c if df_with_c else inputs["c_prev"]),
        g=total * (g if swap_factors else i),
        o=dh * (c if do_with_c else tanh_c),
    )
    da_gate = dict(
        i=on_gate["i"] * dsigmoid(i),
        f=on_gate["f"] * dsigmoid(f),
        g=on_gate["g"] * dtanh(g),
        o=on_gate["o"] * dsigmoid(o),
    )
    da = np.concatenate([da_gate[gate] for gate in order], axis=1)
    return dict(
        dx=da @ inputs["Wx"].T,
        dh_prev=da @ inputs["Wh"].T,
        dc_prev=total * f if dc_prev is None else dc_prev(total, dc, f),
        dWx=inputs["x"].T @ da,
        dWh=inputs["h_prev"].T @ da,
        db=da.sum(axis=0),
    )


_ON_C = (
    "the gradient on c_t is dc + dh * o * (1 - tanh(c_t)**2): c_t reaches the loss "
    "directly, through the next step's cell state (dc), and through h_t = o * tanh(c_t)"
)
_DSIGMOID = "with s = sigmoid(a), ds/da = s * (1 - s), written with the gate's value s"


def _sigmoid_derivative_variants(gates, compute):
    """Wrong sigmoid derivatives, applied to every sigmoid gate of ``gates``."""
    return [
        (
            f"the sigmoid derivative of the gates {gates} is wrong: 1 - s**2 is tanh's; {_DSIGMOID}",
            lambda: compute(dsigmoid=lambda s: 1 - s**2),
        ),
        (
            f"the sigmoid derivative of the gates {gates} is missing: {_DSIGMOID}",
            lambda: compute(dsigmoid=lambda s: np.ones_like(s)),
        ),
        (
            f"the sigmoid derivative of the gates {gates} is taken at the gate's value s as if it "
            f"were the pre-activation, sigmoid(s) * (1 - sigmoid(s)); {_DSIGMOID}",
            lambda: compute(dsigmoid=lambda s: _sigmoid(s) * (1 - _sigmoid(s))),
        ),
    ]


def _tanh_derivative_variants(gate, compute):
    return [
        (
            f"the derivative of {gate} = tanh(...) is 1 - {gate}**2; {gate} * (1 - {gate}) is the "
            "sigmoid's",
            lambda: compute(dtanh=lambda t: t * (1 - t)),
        ),
        (
            f"the tanh derivative of {gate} is missing: multiply the gradient on {gate} by "
            f"1 - {gate}**2",
            lambda: compute(dtanh=lambda t: np.ones_like(t)),
        ),
    ]


def _lstm_backward_variants(inputs, dh, dc):
    """Classic LSTM backward mistakes, each as the gradients it returns, with their hints."""

    def compute(**mistake):
        return _lstm_gradients_with(inputs, dh, dc, **mistake)

    def variant(**mistake):
        return lambda: compute(**mistake)

    def swapped_state_gradients():
        right = compute()
        return {**right, "dh_prev": right["dc_prev"], "dc_prev": right["dh_prev"]}

    variants = [
        (f"the upstream dc is not used: {_ON_C}", variant(upstream_dc=False)),
        (
            f"the path from h_t = o * tanh(c_t) into c_t is missing: {_ON_C}",
            variant(through_h=False),
        ),
        (
            "dc_prev holds only the upstream dc times f: the cell path carries the whole gradient "
            "on c_t, dc + dh * o * (1 - tanh(c_t)**2), times f",
            variant(dc_prev=lambda total, dc, f: dc * f),
        ),
        (
            f"dc_prev is missing the factor f: {_CELL}, so the gradient on c_{{t-1}} is the "
            "gradient on c_t times f",
            variant(dc_prev=lambda total, dc, f: total),
        ),
        (
            "dc_prev is the upstream dc unchanged: the gradient on c_{t-1} is the whole gradient "
            "on c_t, dc + dh * o * (1 - tanh(c_t)**2), times f",
            variant(dc_prev=lambda total, dc, f: dc),
        ),
        (
            "the derivative of tanh(c_t) is missing on the path through h_t: dh * o must be "
            "multiplied by 1 - tanh(c_t)**2",
            variant(tanh_c_derivative=np.ones_like),
        ),
        (
            "the derivative of tanh(c_t) is 1 - tanh(c_t)**2, not 1 - c_t**2",
            variant(tanh_c_derivative=lambda c: 1 - c**2),
        ),
        (
            "dh_prev and dc_prev are swapped: return (dx, dh_prev, dc_prev, dWx, dWh, db)",
            swapped_state_gradients,
        ),
    ]
    variants += _sigmoid_derivative_variants("i, f, o", compute)
    variants += _tanh_derivative_variants("g", compute)
    variants += [
        (
            "the gradients on i and g have their factors swapped: in i * g, the gradient on i is "
            "(gradient on c_t) * g, and the gradient on g is (gradient on c_t) * i",
            variant(swap_factors=True),
        ),
        (
            "the gradient on f is (gradient on c_t) * c_{t-1}, with the cell state before the "
            "step, not c_t",
            variant(df_with_c=True),
        ),
        ("the gradient on o is dh * tanh(c_t), not dh * c_t", variant(do_with_c=True)),
    ]
    variants += [
        (
            f"the gradients of the gates are stacked in the order {', '.join(order)}; they must "
            "follow the forward's column blocks, i, f, g, o, so that each gate's gradient "
            "reaches the weights that made it",
            variant(order=order),
        )
        for order in _other_orders(_LSTM_GATES)
    ]
    return variants


def _joint_output(forward):
    """``forward`` with h and c joined into one output, so one upstream gradient covers both."""

    def h_and_c(*args):
        h, c = forward(*args)[:2]
        return (np.concatenate([h, c], axis=1),)

    return h_and_c


def check_lstm_step_backward(forward, backward):
    """Check ``lstm_step_backward(dh, dc, cache) -> (dx, dh_prev, dc_prev, dWx, dWh, db)``.

    ``forward(x, h_prev, c_prev, Wx, Wh, b) -> (h, c, cache)`` is your step
    forward (see :func:`check_lstm_step_forward`); ``backward`` gets the
    upstream gradients ``dh`` on ``h`` and ``dc`` on ``c``, both of shape
    ``(N, H)``, and that cache, and must return the gradients of
    ``sum(h * dh) + sum(c * dc)`` with respect to ``x``, ``h_prev``,
    ``c_prev``, ``Wx``, ``Wh`` and ``b``, in that order, each a float64 array
    of the shape of its input. Each is compared with the reference and with
    central differences of your forward; neither function may modify its
    inputs.

    Raises:
        CheckFailed: if any test fails; its message lists the failures.
    """
    report = start_check("check_lstm_step_backward", forward=forward, backward=backward)
    N, D, H = 3, 4, 5
    report.start_case(f"one step, N = {N}, D = {D}, H = {H}")
    inputs = _lstm_inputs(703, N, D, H)
    rng = np.random.default_rng(704)
    dh, dc = rng.standard_normal((N, H)), rng.standard_normal((N, H))
    h, c, cache = numpy_lstm.lstm_step_forward(**inputs)
    want = dict(zip(_LSTM_GRADIENTS, numpy_lstm.lstm_step_backward(dh, dc, cache)))

    check_backward_pass(
        report,
        forward,
        backward,
        inputs,
        dict(dh=dh, dc=dc),
        (h, c),
        want,
        ("lstm_step_forward", "lstm_step_backward"),
        _check_lstm_forward_output,
        NUMERICAL_TOLERANCE_STEP,
        _lstm_backward_variants(inputs, dh, dc),
        returns="(h, c, cache) with h and c",
        error_hint=_gated_error_hint(4),
        numerical_forward=_joint_output(forward),
        numerical_upstream=np.concatenate([dh, dc], axis=1),
        rank_variants=True,
    )
    return report.finish()


# --------------------------------------------------------------------------- GRU step forward


def _gru_with(
    inputs,
    order=_GRU_GATES,
    reset_before=False,
    swap_z=False,
    bh_n_outside=False,
    activation=None,
    update=None,
):
    """h of a GRU step with mistakes: gate blocks read in ``order``, the textbook reset
    (``reset_before``) or update (``swap_z``), ``bh_n`` outside the reset gate's product,
    another ``activation`` for a gate, or another ``update(z, n, h_prev)``."""
    x, h_prev, Wx, Wh, bx, bh = inputs.values()
    H = h_prev.shape[1]
    ax = dict(zip(order, _blocks(x @ Wx + bx, H)))
    Wh_ = dict(zip(order, _blocks(Wh, H)))
    bh_ = dict(zip(order, _blocks(bh, H)))
    act = {**dict(r=_sigmoid, z=_sigmoid, n=np.tanh), **(activation or {})}
    r = act["r"](ax["r"] + h_prev @ Wh_["r"] + bh_["r"])
    z = act["z"](ax["z"] + h_prev @ Wh_["z"] + bh_["z"])
    if reset_before:
        recurrent = (r * h_prev) @ Wh_["n"] + bh_["n"]
    elif bh_n_outside:
        recurrent = r * (h_prev @ Wh_["n"]) + bh_["n"]
    else:
        recurrent = r * (h_prev @ Wh_["n"] + bh_["n"])
    n = act["n"](ax["n"] + recurrent)
    if update:
        return update(z, n, h_prev)
    return z * n + (1 - z) * h_prev if swap_z else (1 - z) * n + z * h_prev


_GRU_COLUMNS = (
    "columns 0:H of Wx, Wh, bx and bh belong to the reset gate r, H:2H to the "
    "update gate z and 2H:3H to the new gate n"
)
_RESET_BEFORE = (
    "the reset gate multiplies h_{t-1} before the recurrent matrix product, "
    "(r * h_{t-1}) Wh_n, where PyTorch applies it after the product, to the whole "
    "recurrent share: n = tanh(x Wx_n + bx_n + r * (h_{t-1} Wh_n + bh_n))"
)
_SWAPPED_Z = (
    "z and 1 - z are swapped: h_t = (1 - z) * h_{t-1} + z * n, where PyTorch writes "
    "h_t = (1 - z) * n + z * h_{t-1} (z is the share of h_{t-1} that is kept)"
)
_BH_OUTSIDE = (
    "bh_n is added outside the reset gate's product, r * (h_{t-1} Wh_n) + bh_n; in "
    "PyTorch's GRU the reset gate scales it too, r * (h_{t-1} Wh_n + bh_n), which is "
    "why the GRU keeps two biases, bx and bh"
)
_ONE_OF_TWO = (
    "your step has one of the two differences between Chung et al.'s GRU (the "
    "chapter's textbook form) and PyTorch's GRU, which is asked for here: "
)


def _gru_forward_variants(inputs):
    """Classic wrong GRU steps, each as the h it returns, with their hints."""

    def ref(**changed):
        return numpy_gru.gru_step_forward(**{**inputs, **changed})[0]

    def variant(**mistake):
        return lambda: _gru_with(inputs, **mistake)

    zeros = {name: np.zeros_like(inputs[name]) for name in ("bx", "bh")}
    variants = [
        (
            "this is the textbook GRU of Chung et al. 2014, not PyTorch's GRU, which is asked for "
            f"here; the two differ in two ways, and your step has both: (1) {_RESET_BEFORE}; "
            f"(2) {_SWAPPED_Z}",
            variant(reset_before=True, swap_z=True),
        ),
        (
            _ONE_OF_TWO + _RESET_BEFORE + ". The other difference, the update, is already "
            "PyTorch's (your step is the GRU of Cho et al.'s published paper, Goodfellow et al. and "
            "d2l)",
            variant(reset_before=True),
        ),
        (
            _ONE_OF_TWO + _SWAPPED_Z + ". The other difference, where the reset gate acts, is "
            "already PyTorch's",
            variant(swap_z=True),
        ),
        (_BH_OUTSIDE, variant(bh_n_outside=True)),
        (f"two mistakes: {_BH_OUTSIDE}; and {_SWAPPED_Z}", variant(bh_n_outside=True, swap_z=True)),
    ]
    variants += [
        (_order_hint(order, _GRU_GATES, _GRU_COLUMNS), variant(order=order))
        for order in _other_orders(_GRU_GATES)
    ]
    variants += [
        (
            "Wx is used transposed: Wx is (D, 3H), the three gate blocks side by side in its "
            "columns, and the input share is x Wx + bx with row-major batches (PyTorch's "
            "weight_ih is the transpose, (3H, D))",
            lambda: ref(Wx=inputs["Wx"].T),
        ),
        ("the biases bx and bh are missing", lambda: ref(**zeros)),
        ("the input-side bias bx is missing", lambda: ref(bx=zeros["bx"])),
        ("the hidden-side bias bh is missing", lambda: ref(bh=zeros["bh"])),
    ]
    variants += [
        (
            f"{_GATE_NAMES[gate]} uses tanh where the sigmoid belongs: r and z are gates, "
            "sigmoid(a) in [0, 1]; only the new gate n lies in [-1, 1]",
            variant(activation={gate: np.tanh}),
        )
        for gate in "rz"
    ]
    variants += [
        (
            "the new gate n uses the sigmoid where tanh belongs: n = tanh(...) lies in [-1, 1]",
            variant(activation=dict(n=_sigmoid)),
        ),
        (
            "h_t is n alone: the update gate mixes n and the previous state, "
            "h_t = (1 - z) * n + z * h_{t-1}",
            variant(update=lambda z, n, h_prev: n),
        ),
    ]
    return variants


def _check_gru_forward_output(report, label, value, want, inputs):
    """Tests on the (h, cache) returned by a GRU step. Returns the cache, or FAILED."""
    (N, _), H = inputs["x"].shape, inputs["Wh"].shape[0]
    return check_outputs(
        report,
        label,
        value,
        ("h",),
        (want,),
        (N, H),
        ("N", "H"),
        shape_hint=lambda name: _gated_shape_hint(name, N, H, 3),
        variants=lambda index: _gru_forward_variants(inputs),
    )


def check_gru_step_forward(fn):
    """Check ``gru_step_forward(x, h_prev, Wx, Wh, bx, bh) -> (h, cache)``, PyTorch's GRU.

    The function must compute one step of the GRU as ``torch.nn.GRU`` does,
    with the gate blocks in the order r, z, n: ``r = sigmoid(x Wx_r + bx_r +
    h_prev Wh_r + bh_r)``, ``z`` likewise, ``n = tanh(x Wx_n + bx_n +
    r * (h_prev Wh_n + bh_n))`` (the reset gate acts after the recurrent
    matrix product) and ``h = (1 - z) * n + z * h_prev``, with ``x`` of shape
    ``(N, D)``, ``h_prev`` ``(N, H)``, ``Wx`` ``(D, 3H)``, ``Wh`` ``(H, 3H)``,
    ``bx`` and ``bh`` ``(3H,)``. It must return the pair ``(h, cache)``: ``h``
    a float64 array of shape ``(N, H)`` and ``cache`` anything the backward
    pass needs (not checked), and must not modify its inputs. Tested also with
    ``D = 3H``, where a transposed ``Wx`` runs. The textbook GRU is recognised
    and reported as such.

    Raises:
        CheckFailed: if any test fails; its message lists the failures.
    """
    report = start_check("check_gru_step_forward", fn=fn)
    for seed, (N, D, H) in ((801, (3, 4, 5)), (802, (2, 6, 2))):
        report.start_case(f"one step, N = {N}, D = {D}, H = {H}")
        inputs = _gru_inputs(seed, N, D, H)
        want = numpy_gru.gru_step_forward(**inputs)[0]
        check_forward(
            report,
            fn,
            function_label(fn, "gru_step_forward"),
            inputs,
            want,
            _check_gru_forward_output,
            error_hint=_gated_error_hint(3),
        )
    return report.finish()


# --------------------------------------------------------------------------- GRU step backward


def _gru_gradients_with(
    inputs,
    dh,
    direct=True,
    swap_z=False,
    z_sign=1,
    r_on_recurrent=True,
    bh_in_dr=True,
    dsigmoid=None,
    dtanh=None,
    order=_GRU_GATES,
):
    """The gradients of a GRU step's backward pass with one mistake, from the reference's gates."""
    cache = numpy_gru.gru_step_forward(**inputs)[1]
    r, z, n, h_prev = cache.r, cache.z, cache.n, inputs["h_prev"]
    H = h_prev.shape[1]
    dsigmoid = dsigmoid or (lambda s: s * (1 - s))
    dtanh = dtanh or (lambda t: 1 - t**2)
    if swap_z:
        dn, dz, d_direct = dh * z, dh * (n - h_prev), dh * (1 - z)
    else:
        dn, dz, d_direct = dh * (1 - z), z_sign * dh * (h_prev - n), dh * z
    da_n = dn * dtanh(n)
    recurrent_n = cache.hn if bh_in_dr else cache.hn - _blocks(inputs["bh"], H)[2]
    da_x = dict(r=da_n * recurrent_n * dsigmoid(r), z=dz * dsigmoid(z), n=da_n)
    da_h = {**da_x, "n": da_n * r if r_on_recurrent else da_n}
    dax = np.concatenate([da_x[gate] for gate in order], axis=1)
    dah = np.concatenate([da_h[gate] for gate in order], axis=1)
    return dict(
        dx=dax @ inputs["Wx"].T,
        dh_prev=(d_direct if direct else 0) + dah @ inputs["Wh"].T,
        dWx=inputs["x"].T @ dax,
        dWh=h_prev.T @ dah,
        dbx=dax.sum(axis=0),
        dbh=dah.sum(axis=0),
    )


def _gru_backward_variants(inputs, dh):
    """Classic GRU backward mistakes, each as the gradients it returns, with their hints."""

    def compute(**mistake):
        return _gru_gradients_with(inputs, dh, **mistake)

    def variant(**mistake):
        return lambda: compute(**mistake)

    def swapped_biases():
        right = compute()
        return {**right, "dbx": right["dbh"], "dbh": right["dbx"]}

    variants = [
        (
            "dh_prev is missing the direct path: h_t = (1 - z) * n + z * h_{t-1} uses h_{t-1} "
            "itself, so dh_prev gets dh * z besides what comes back through the gates' matrix "
            "products",
            variant(direct=False),
        ),
        (
            "the gradients follow the textbook update h_t = (1 - z) * h_{t-1} + z * n; for "
            "PyTorch's h_t = (1 - z) * n + z * h_{t-1}, the gradient on n is dh * (1 - z), on z "
            "dh * (h_{t-1} - n), and h_{t-1} gets dh * z directly",
            variant(swap_z=True),
        ),
        (
            "the gradient on z has the wrong sign: from h_t = (1 - z) * n + z * h_{t-1} it is "
            "dh * (h_{t-1} - n)",
            variant(z_sign=-1),
        ),
        (
            "the n block of the recurrent gradient is missing the factor r: the reset gate scales "
            "h_{t-1} Wh_n + bh_n, so Wh_n, bh_n and h_{t-1} get the gradient on n's "
            "pre-activation times r (Wx_n and bx_n get it whole)",
            variant(r_on_recurrent=False),
        ),
        (
            "the gradient on r is (gradient on n's pre-activation) * (h_{t-1} Wh_n + bh_n): bh_n "
            "is inside the product that the reset gate scales",
            variant(bh_in_dr=False),
        ),
        ("dbx and dbh are swapped: return (dx, dh_prev, dWx, dWh, dbx, dbh)", swapped_biases),
    ]
    variants += _sigmoid_derivative_variants("r, z", compute)
    variants += _tanh_derivative_variants("n", compute)
    variants += [
        (
            f"the gradients of the gates are stacked in the order {', '.join(order)}; they must "
            "follow the forward's column blocks, r, z, n, so that each gate's gradient reaches "
            "the weights that made it",
            variant(order=order),
        )
        for order in _other_orders(_GRU_GATES)
    ]
    return variants


def check_gru_step_backward(forward, backward):
    """Check ``gru_step_backward(dh, cache) -> (dx, dh_prev, dWx, dWh, dbx, dbh)``.

    ``forward(x, h_prev, Wx, Wh, bx, bh) -> (h, cache)`` is your step forward
    of PyTorch's GRU (see :func:`check_gru_step_forward`); ``backward`` gets
    the upstream gradient ``dh`` of shape ``(N, H)`` and that cache, and must
    return the gradients of ``sum(h * dh)`` with respect to ``x``, ``h_prev``,
    ``Wx``, ``Wh``, ``bx`` and ``bh``, in that order, each a float64 array of
    the shape of its input. Each is compared with the reference and with
    central differences of your forward; neither function may modify its
    inputs.

    Raises:
        CheckFailed: if any test fails; its message lists the failures.
    """
    report = start_check("check_gru_step_backward", forward=forward, backward=backward)
    N, D, H = 3, 4, 5
    report.start_case(f"one step, N = {N}, D = {D}, H = {H}")
    inputs = _gru_inputs(803, N, D, H)
    dh = np.random.default_rng(804).standard_normal((N, H))
    want_h, cache = numpy_gru.gru_step_forward(**inputs)
    want = dict(zip(_GRU_GRADIENTS, numpy_gru.gru_step_backward(dh, cache)))

    check_backward_pass(
        report,
        forward,
        backward,
        inputs,
        dict(dh=dh),
        want_h,
        want,
        ("gru_step_forward", "gru_step_backward"),
        _check_gru_forward_output,
        NUMERICAL_TOLERANCE_STEP,
        _gru_backward_variants(inputs, dh),
        error_hint=_gated_error_hint(3),
        rank_variants=True,
    )
    return report.finish()


# --------------------------------------------------------------------------- parameter counts


_GATE_BLOCKS = {"RNN": 1, "LSTM": 4, "GRU": 3}

# (unit, input_size, hidden_size, keyword arguments) per case of the report.
# input_size differs from hidden_size and from 2 * hidden_size, so that each
# mistake below changes the count of some configuration.
_PARAMETER_COUNT_CASES = (
    (
        "one layer, one direction, with biases (the defaults)",
        (("RNN", 3, 5, {}), ("LSTM", 3, 5, {}), ("GRU", 3, 5, {}), ("LSTM", 10, 4, {})),
    ),
    (
        "without biases",
        (
            ("RNN", 4, 6, dict(bias=False)),
            ("LSTM", 4, 6, dict(bias=False)),
            ("GRU", 4, 6, dict(bias=False)),
        ),
    ),
    (
        "stacked layers",
        (
            ("RNN", 3, 5, dict(num_layers=2)),
            ("LSTM", 3, 5, dict(num_layers=3)),
            ("GRU", 7, 4, dict(num_layers=2)),
        ),
    ),
    (
        "bidirectional",
        (
            ("RNN", 3, 5, dict(bidirectional=True)),
            ("LSTM", 3, 5, dict(bidirectional=True)),
            ("GRU", 4, 6, dict(num_layers=2, bidirectional=True)),
            ("LSTM", 4, 6, dict(num_layers=3, bias=False, bidirectional=True)),
        ),
    ),
)

_COUNT_MISTAKES = {
    "no gates": "the gate multiplier is missing: an LSTM stacks 4 gate blocks (i, f, g, o) and a "
    "GRU 3 (r, z, n) in every weight and bias, so weight_ih_l0 has 4 * hidden_size "
    "(LSTM) or 3 * hidden_size (GRU) rows, one block of hidden_size per gate",
    "swapped gates": "the gate multipliers of LSTM and GRU are swapped: an LSTM has 4 gate "
    "blocks (i, f, g, o), a GRU 3 (r, z, n)",
    "one bias": "one bias vector is counted per layer and direction; torch.nn has two, "
    "bias_ih and bias_hh, each of gates * hidden_size entries",
    "bias=False ignored": "biases are counted with bias=False: without biases, each layer and "
    "direction has only weight_ih and weight_hh",
    "no bias": "no biases are counted: with bias=True (the default), each layer and direction "
    "also has bias_ih and bias_hh, each of gates * hidden_size entries",
    "later input_size": "every layer is given input_size inputs: the layers after the first "
    "read the output of the layer below, num_directions * hidden_size "
    "entries",
    "later hidden_size": "the layers after the first read the outputs of both directions of the "
    "layer below, concatenated: 2 * hidden_size inputs, not hidden_size",
    "one direction": "bidirectional=True is ignored: a bidirectional layer has a second, "
    "reverse set of weights and biases (the _reverse parameters), and the "
    "layers above it read both directions' outputs, 2 * hidden_size inputs",
    "one layer": "num_layers is ignored: each of the num_layers stacked layers has weights and "
    "biases of its own",
}


def _count_with(
    unit, input_size, hidden_size, num_layers=1, bias=True, bidirectional=False, mistakes=()
):
    """The parameter count of a torch.nn recurrent layer, as computed with ``mistakes``."""
    blocks = _GATE_BLOCKS[unit]
    if "no gates" in mistakes:
        blocks = 1
    if "swapped gates" in mistakes:
        blocks = {"LSTM": 3, "GRU": 4}.get(unit, blocks)
    directions = 2 if bidirectional and "one direction" not in mistakes else 1
    layers = 1 if "one layer" in mistakes else num_layers
    with_bias = (bias or "bias=False ignored" in mistakes) and "no bias" not in mistakes
    bias_vectors = 1 if "one bias" in mistakes else 2
    total = 0
    for layer in range(layers):
        if layer == 0 or "later input_size" in mistakes:
            inputs = input_size
        elif "later hidden_size" in mistakes:
            inputs = hidden_size
        else:
            inputs = directions * hidden_size
        weights = blocks * hidden_size * (inputs + hidden_size)
        total += directions * (weights + (bias_vectors * blocks * hidden_size if with_bias else 0))
    return total


def _explain_counts(results):
    """The mistakes (one or two) that reproduce every count returned, or ()."""
    counted = [(config, value) for config, value in results if value is not None]
    if not counted or all(_count_with(*c[:3], **c[3]) == v for c, v in counted):
        return ()
    names = list(_COUNT_MISTAKES)
    for mistakes in itertools.chain(
        itertools.combinations(names, 1), itertools.combinations(names, 2)
    ):
        if all(_count_with(*c[:3], **c[3], mistakes=mistakes) == v for c, v in counted):
            return mistakes
    return ()


def _as_count(value):
    """``value`` as an int if it is a whole number (float included), else None."""
    if isinstance(value, (bool, np.bool_)):
        return None
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return int(value)
    return None


def _count_hint(explanation, config, got):
    """Name the mistakes of ``explanation`` that change this configuration's count."""
    unit, input_size, hidden_size, kwargs = config
    right = _count_with(unit, input_size, hidden_size, **kwargs)
    here = [
        m
        for m in explanation
        if _count_with(unit, input_size, hidden_size, **kwargs, mistakes=(m,)) != right
    ]
    if here:
        return "; also, ".join(_COUNT_MISTAKES[m] for m in here)
    for mistake, hint in _COUNT_MISTAKES.items():
        if _count_with(unit, input_size, hidden_size, **kwargs, mistakes=(mistake,)) == got:
            return hint
    return None


def _arguments_text(input_size, hidden_size, kwargs):
    return f"{input_size}, {hidden_size}" + "".join(
        f", {key}={value!r}" for key, value in kwargs.items()
    )


def check_parameter_count(fn):
    """Check ``parameter_count(unit, input_size, hidden_size, num_layers=1, bias=True,
    bidirectional=False) -> int``.

    ``unit`` is ``"RNN"``, ``"LSTM"`` or ``"GRU"``; the function must return
    the number of parameters (entries of all weights and biases) of
    ``torch.nn.RNN``, ``torch.nn.LSTM`` or ``torch.nn.GRU`` built with the
    same arguments, as an int. Compared with the modules of ``torch.nn`` over
    one- and multi-layer, biased and bias-free, uni- and bidirectional
    configurations; configurations that use the defaults are called with the
    three positional arguments only.

    Raises:
        CheckFailed: if any test fails; its message lists the failures.
    """
    import torch  # only this check needs it

    report = start_check("check_parameter_count", fn=fn)
    label = function_label(fn, "parameter_count")
    configs = [config for _, group in _PARAMETER_COUNT_CASES for config in group]
    outcomes = {}
    for config in configs:
        unit, input_size, hidden_size, kwargs = config
        try:
            outcomes[id(config)] = (fn(unit, input_size, hidden_size, **kwargs), None)
        except Exception as error:
            outcomes[id(config)] = (None, error)
    explanation = _explain_counts(
        [(config, _as_count(outcomes[id(config)][0])) for config in configs]
    )

    for title, group in _PARAMETER_COUNT_CASES:
        report.start_case(title)
        for config in group:
            unit, input_size, hidden_size, kwargs = config
            arguments = _arguments_text(input_size, hidden_size, kwargs)
            call, module = f'{label}("{unit}", {arguments})', f"torch.nn.{unit}({arguments})"
            want = sum(
                p.numel()
                for p in getattr(torch.nn, unit)(input_size, hidden_size, **kwargs).parameters()
            )
            got, error = outcomes[id(config)]
            if error is not None:
                report_exception(report, call, error)
                continue
            count = _as_count(got)
            if got is None:
                report.fail(
                    f"{call} returned None, expected an int",
                    hint="is the return statement missing?",
                )
            elif count is None:
                report.fail(
                    f"{call} returned {describe(got)}, expected an int, the number of "
                    f"parameters ({module} has {want})"
                )
            elif count != want:
                report.fail(
                    f"{call} returned {got!r}, but {module} has {want} parameters "
                    f"({count - want:+d})",
                    hint=_count_hint(explanation, config, count)
                    or (
                        "list what the module holds, [(name, p.shape) for name, p in "
                        f"{module}.named_parameters()], and compare it with your count"
                    ),
                )
            elif not isinstance(got, (int, np.integer)):
                report.fail(
                    f"{call} returned {got!r}, a {type(got).__name__}: the count is "
                    "right, but a number of parameters is an int",
                    hint="use // for divisions, or convert the result with int(...)",
                )
            else:
                report.ok(f"{call} = {want}, the parameters of {module}")
    return report.finish()
