"""The check of the notation exercise: Goodfellow et al.'s ``U``, ``W``, ``b`` in ``torch.nn.RNN``.

``rnn_from_goodfellow(U, W, b)`` gets the weights of the column-vector update
of Goodfellow et al., ``h_t = tanh(b + W h_{t-1} + U x_t)``, as float64
tensors ``U`` ``(H, D)``, ``W`` ``(H, H)`` and ``b`` ``(H,)``, and returns a
float64 ``torch.nn.RNN(input_size=D, hidden_size=H)`` (one layer, one
direction, tanh) that computes exactly that update from ``h_0 = 0``.

The check runs the returned module on a fixed float64 batch and on one
unbatched sequence (so ``batch_first`` does not matter) and compares its
outputs with the update computed directly. It uses a non-square case
(``D = 3``, ``H = 5``) and a square one (``D = H = 4``), where a transposed or
swapped matrix fits and runs. A wrong module is recomputed with each classic
mistake (``U`` or ``W`` transposed, ``U`` and ``W`` swapped, ``b`` in both
biases, no bias, relu instead of tanh, no recurrent term); the mistake that
reproduces it is named.
"""

import torch

from helpers.course.feedback import (
    FAILED,
    call_safely_with_tensors,
    describe,
    function_label,
    report_exception,
    start_check,
)

__all__ = ["check_rnn_from_goodfellow"]

_CASES = (
    # (seed, D, H, title)
    (701, 3, 5, "D = 3, H = 5: U is (H, D) = (5, 3), W is (H, H) = (5, 5)"),
    (702, 4, 4, "D = H = 4: U and W are both (4, 4), so a transposed or swapped matrix fits"),
)
_N, _T = 3, 6
# A correct float64 module differs from the direct update only by rounding.
_TOLERANCE = 1e-10

_TRANSPOSED = (
    "PyTorch stores a weight as (out features, in features), the orientation of "
    "the column-vector texts, so weight_ih_l0 is U and weight_hh_l0 is W as they are, "
    "without .T"
)
_BIAS_TWICE = (
    "the bias is counted twice: nn.RNN adds bias_ih_l0 + bias_hh_l0, so with b in "
    "both the update adds 2b; put b in one of them and zeros in the other"
)
_BIAS_MISSING = (
    "the bias b is missing: nn.RNN adds bias_ih_l0 + bias_hh_l0, and that sum must equal b"
)


def _inputs(seed, D, H):
    """Seeded float64 U, W, b and a batch x (N, T, D); tanh is neither linear nor saturated."""
    generator = torch.Generator().manual_seed(seed)

    def randn(*shape):
        return torch.randn(*shape, dtype=torch.float64, generator=generator)

    U = randn(H, D) / D**0.5
    W = randn(H, H) / H**0.5
    b = 0.5 * randn(H)
    x = randn(_N, _T, D)
    return U, W, b, x


def _goodfellow(U, W, b, x, activation=torch.tanh):
    """The states h_1, ..., h_T (N, T, H) of h_t = activation(b + W h_{t-1} + U x_t), h_0 = 0.

    Every state is a column vector, as in Goodfellow et al.: ``h`` is (N, H, 1).
    """
    h = torch.zeros(x.shape[0], W.shape[0], 1, dtype=x.dtype)
    states = []
    for t in range(x.shape[1]):
        h = activation(b[:, None] + W @ h + U @ x[:, t, :, None])
        states.append(h[..., 0])
    return torch.stack(states, dim=1)


def _variants(U, W, b):
    """Classic wrong translations, as (hint, U, W, b, activation) of the update they compute."""
    zero = torch.zeros_like
    return [
        ("U and W are used transposed: " + _TRANSPOSED, U.T, W.T, b, torch.tanh),
        ("W is used transposed: " + _TRANSPOSED, U, W.T, b, torch.tanh),
        ("U is used transposed: " + _TRANSPOSED, U.T, W, b, torch.tanh),
        (
            "U and W are swapped: in Goodfellow et al. U multiplies the input x_t, so it goes into "
            "weight_ih_l0 (input to hidden), and W multiplies the previous state h_{t-1}, so it "
            "goes into weight_hh_l0 (hidden to hidden)",
            W,
            U,
            b,
            torch.tanh,
        ),
        (_BIAS_TWICE, U, W, 2 * b, torch.tanh),
        (_BIAS_MISSING, U, W, zero(b), torch.tanh),
        (
            "the states are relu of the pre-activation: Goodfellow et al.'s update uses tanh, "
            "nn.RNN's default nonlinearity (nonlinearity='tanh')",
            U,
            W,
            b,
            torch.relu,
        ),
        (
            "the recurrent term W h_{t-1} is missing: weight_hh_l0 must hold W",
            U,
            zero(W),
            b,
            torch.tanh,
        ),
    ]


def _error_hint(D, H):
    def hint(message):
        if "must match the size" in message or "shape" in message or "size mismatch" in message:
            return (
                f"tensors of different shapes met: here U is (H, D) = ({H}, {D}) and W is "
                f"(H, H) = ({H}, {H}), and torch.nn.RNN(input_size=D, hidden_size=H) has "
                "weight_ih_l0 of shape (H, D) and weight_hh_l0 of shape (H, H); print the "
                "shapes on both sides of the failing line. Is a matrix used transposed (.T), "
                "or are the sizes taken from somewhere other than U.shape?"
            )
        return None

    return hint


# --------------------------------------------------------------------------- the module


def _check_type(report, label, value):
    """One test: ``value`` is a ``torch.nn.RNN``. Returns True if so."""
    if isinstance(value, torch.nn.RNN):
        return True
    if value is None:
        report.fail(
            f"{label} returned None, expected a torch.nn.RNN",
            hint="is the return statement missing?",
        )
    elif isinstance(value, torch.nn.RNNCell):
        report.fail(
            f"{label} returned a torch.nn.RNNCell, expected a torch.nn.RNN",
            hint="an RNNCell computes one step; torch.nn.RNN runs the update over the "
            "whole sequence",
        )
    elif isinstance(value, (torch.nn.LSTM, torch.nn.GRU)):
        report.fail(
            f"{label} returned a torch.nn.{type(value).__name__}, expected a torch.nn.RNN",
            hint="Goodfellow et al.'s update is the vanilla (Elman) RNN, "
            "torch.nn.RNN; the LSTM and the GRU add gates",
        )
    elif isinstance(value, torch.nn.Module):
        report.fail(f"{label} returned a {type(value).__name__} module, expected a torch.nn.RNN")
    elif isinstance(value, (tuple, list)):
        report.fail(
            f"{label} returned {describe(value)}, expected a torch.nn.RNN",
            hint="return the module alone",
        )
    else:
        report.fail(f"{label} returned {describe(value)}, expected a torch.nn.RNN")
    return False


def _check_structure(report, rnn, D, H):
    """Tests on the sizes, parameters and dtype of the returned RNN. Returns True if all pass."""
    passed = True
    if (rnn.input_size, rnn.hidden_size) != (D, H):
        swapped = (rnn.input_size, rnn.hidden_size) == (H, D)
        report.fail(
            f"the RNN has input_size = {rnn.input_size} and hidden_size = {rnn.hidden_size}, "
            f"expected input_size = D = {D} and hidden_size = H = {H}",
            hint=("input_size and hidden_size are swapped: " if swapped else "")
            + "U has shape (H, D), so H, D = U.shape (the chapter's own D and H are other "
            "numbers)",
        )
        passed = False
    if rnn.num_layers != 1 or rnn.bidirectional:
        report.fail(
            f"the RNN has num_layers = {rnn.num_layers} and bidirectional = "
            f"{rnn.bidirectional}, expected one layer in one direction"
        )
        passed = False
    if not rnn.bias:
        report.fail(
            "the RNN was built with bias=False, so it has no bias at all", hint=_BIAS_MISSING
        )
        return False
    if not passed:
        return False

    expected = dict(weight_ih_l0=(H, D), weight_hh_l0=(H, H), bias_ih_l0=(H,), bias_hh_l0=(H,))
    parameters = dict(rnn.named_parameters())
    for name, shape in expected.items():
        value = parameters.get(name)
        if value is None:
            report.fail(f"the RNN has no parameter {name}")
            passed = False
        elif tuple(value.shape) != shape:
            transposed = len(shape) == 2 and tuple(value.shape) == shape[::-1]
            report.fail(
                f"{name} has shape {tuple(value.shape)}, expected {shape}",
                hint=f"{name} looks transposed: " + _TRANSPOSED if transposed else None,
            )
            passed = False
    if not passed:
        return False
    wrong_dtype = [name for name in expected if parameters[name].dtype != torch.float64]
    if wrong_dtype:
        dtypes = ", ".join(f"{name} {parameters[name].dtype}" for name in wrong_dtype)
        report.fail(
            f"the parameters must be float64, but: {dtypes}",
            hint="torch.nn.RNN is created in float32 unless told otherwise: pass "
            "dtype=torch.float64 (or call .double()); copying float64 values into "
            "float32 parameters rounds them",
        )
        return False
    not_finite = [name for name in expected if not bool(torch.isfinite(parameters[name]).all())]
    if not_finite:
        report.fail(
            f"{', '.join(not_finite)} holds NaN or infinite values",
            hint="is a parameter left uninitialised (torch.empty)? Every parameter must "
            "be set from U, W and b",
        )
        return False
    report.ok(
        f"returns a float64 torch.nn.RNN with input_size = {D}, hidden_size = {H}, "
        "one layer, one direction"
    )
    return True


# --------------------------------------------------------------------------- its outputs


def _run(report, rnn, x):
    """The RNN's outputs for ``x`` ((N, T, D) or unbatched (T, D)) as (N, T, H), or None."""
    parameter = rnn.weight_ih_l0
    batched = x.dim() == 3
    given = x.transpose(0, 1) if batched and not rnn.batch_first else x
    what = f"a batch of {x.shape[0]} sequences" if batched else "one unbatched sequence (T, D)"
    try:
        with torch.no_grad():
            value = rnn(given.to(parameter.device))
    except Exception as error:
        report_exception(report, f"the returned RNN, run on {what},", error, lambda message: None)
        return None
    output = value[0] if isinstance(value, tuple) else value
    if batched and not rnn.batch_first:
        output = output.transpose(0, 1)
    output = output.detach().cpu()
    if not batched:
        output = output[None]
    if not bool(torch.isfinite(output).all()):
        report.fail(
            f"the RNN's output on {what} holds NaN or infinite values",
            hint="is a parameter left uninitialised (torch.empty)? Every parameter must "
            "be set from U, W and b",
        )
        return None
    return output


def _explain(got, rnn, U, W, b, x):
    """The hint of the classic mistake that reproduces ``got``, if one does."""
    for hint, U_, W_, b_, activation in _variants(U, W, b):
        try:
            candidate = _goodfellow(U_, W_, b_, x, activation)
        except RuntimeError:  # a variant whose shapes do not fit these sizes is no match
            continue
        if torch.allclose(got, candidate, rtol=0, atol=1e-8):
            return hint
    with torch.no_grad():
        weight_ih, weight_hh = rnn.weight_ih_l0.cpu(), rnn.weight_hh_l0.cpu()
        total = rnn.bias_ih_l0.cpu() + rnn.bias_hh_l0.cpu()
    if (
        torch.allclose(weight_ih, U, rtol=0, atol=1e-12)
        and torch.allclose(weight_hh, W, rtol=0, atol=1e-12)
        and not torch.allclose(total, b, rtol=0, atol=1e-12)
    ):
        return (
            "weight_ih_l0 and weight_hh_l0 are right, but bias_ih_l0 + bias_hh_l0 is not b: "
            "only their sum enters the update; is one of them left at its random initial "
            "value? Set it to zero"
        )
    return None


def _compare(report, what, got, want, rnn, U, W, b, x):
    gap = (got - want).abs().amax(dim=(0, 2))
    if float(gap.max()) < _TOLERANCE:
        report.ok(
            f"its outputs on {what} agree with Goodfellow et al.'s update at every step "
            f"(max abs difference {float(gap.max()):.1e})"
        )
        return
    t = int((gap >= _TOLERANCE).nonzero()[0])
    where = (
        "from the first step on (t = 1)"
        if t == 0
        else f"from step t = {t + 1} on (steps 1 to {t} agree)"
    )
    report.fail(
        f"its outputs on {what} differ from Goodfellow et al.'s update {where}: "
        f"max abs difference {float(gap.max()):.1e}",
        hint=_explain(got, rnn, U, W, b, x),
    )


def check_rnn_from_goodfellow(fn):
    """Check ``rnn_from_goodfellow(U, W, b) -> torch.nn.RNN``.

    The function gets the weights of Goodfellow et al.'s update
    ``h_t = tanh(b + W h_{t-1} + U x_t)`` (column vectors) as float64 tensors,
    ``U`` of shape ``(H, D)``, ``W`` ``(H, H)`` and ``b`` ``(H,)``, and must
    return a float64 ``torch.nn.RNN(input_size=D, hidden_size=H)`` (one layer,
    one direction, tanh) whose outputs, from ``h_0 = 0``, are the states of
    that update. It must not modify ``U``, ``W`` or ``b``. Tested with
    ``D = 3, H = 5`` and with ``D = H = 4``, each on a batch of sequences and
    on one unbatched sequence.

    Raises:
        TypeError: ``fn`` is not a function.
        CheckFailed: if any test fails; its message lists the failures.
    """
    if isinstance(fn, torch.nn.Module):  # callable, but the module, not the function making it
        raise TypeError(
            "fn must be your function itself (pass rnn_from_goodfellow, not "
            f"rnn_from_goodfellow(U, W, b)), got {describe(fn)}"
        )
    report = start_check("check_rnn_from_goodfellow", fn=fn)
    label = function_label(fn, "rnn_from_goodfellow")
    for seed, D, H, title in _CASES:
        report.start_case(title)
        U, W, b, x = _inputs(seed, D, H)
        originals = dict(U=U, W=W, b=b)
        given = {name: tensor.clone() for name, tensor in originals.items()}
        value = call_safely_with_tensors(
            report,
            fn,
            label,
            given,
            originals,
            error_hint=_error_hint(D, H),
            in_place_hint="copy the values into the parameters (parameter.copy_(U)) and leave "
            "U, W and b as they are; the caller still needs them",
        )
        if value is FAILED:
            continue
        if not _check_type(report, label, value) or not _check_structure(report, value, D, H):
            report.note(
                "the outputs are not checked until the module is a float64 torch.nn.RNN "
                "of the right sizes"
            )
            continue
        want = _goodfellow(U, W, b, x)
        for what, inputs, reference in (
            (f"a batch of {_N} sequences of T = {_T} steps", x, want),
            ("one unbatched sequence (T, D)", x[0], want[:1]),
        ):
            got = _run(report, value, inputs)
            if got is not None:
                _compare(report, what, got, reference, value, U, W, b, x[: got.shape[0]])
    return report.finish()
