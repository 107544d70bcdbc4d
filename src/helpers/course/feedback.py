"""The machinery every check shares: the report, safe calls, and feedback on arrays.

A check builds a :class:`_Report`, runs the student's function through
:func:`_call_safely` (an exception or an input changed in place becomes a line
of the report, never a traceback), tests what comes back with :func:`_unpack`
and :func:`_check_array`, and compares it with the reference with
:func:`_compare_to_reference`, naming a classic mistake when one of its
variants (:func:`_first_match`) reproduces the wrong answer. Backward passes
are compared with the reference and with central differences of the
student's own forward pass (:func:`_check_gradients`).
"""

import os
import sysconfig
import traceback
from dataclasses import dataclass, field

import numpy as np

from helpers.gradcheck import numerical_gradient, rel_error

# Against the reference, a correct float64 answer differs only by rounding.
REFERENCE_TOLERANCE = 1e-8
# Against central differences (h = 1e-5), a correct answer agrees to about 1e-9;
# a sequence sums T steps' worth of rounding, hence the looser bound.
NUMERICAL_TOLERANCE_STEP = 1e-6
NUMERICAL_TOLERANCE_SEQUENCE = 1e-5


class CheckFailed(AssertionError):
    """Raised by a check when at least one test failed; the message lists the failures."""

    def __init__(self, result):
        self.result = result
        failed = len(result.failures)
        super().__init__(
            f"{result.name}: {failed} of {len(result.messages)} checks failed:\n"
            + "\n".join(result.failures)
        )


@dataclass
class CheckResult:
    """What a check found: ``passed``, and one message per test (``✓ ...`` or ``✗ ...``)."""

    name: str
    passed: bool
    messages: list = field(default_factory=list)
    failures: list = field(default_factory=list)

    def __repr__(self):
        passed = len(self.messages) - len(self.failures)
        return f"<CheckResult {self.name}: {passed} of {len(self.messages)} passed>"

    def _ipython_display_(self):
        # The report is already printed above; a notebook cell ending in a check shows it once.
        pass


# --------------------------------------------------------------------------- report


class _Report:
    """Collects and prints one line per test, then passes or raises :class:`CheckFailed`."""

    def __init__(self, name):
        self.name = name
        self.case = None
        self.messages = []
        self.failures = []
        self._hints_given = set()

    def start_case(self, title):
        self.case = title
        print(f"{self.name}: {title}")

    def ok(self, message):
        self._add(f"✓ {message}")

    def fail(self, message, hint=None):
        line = f"✗ {message}"
        # The same mistake often shows in several outputs; say how to fix it once.
        if hint and hint not in self._hints_given:
            self._hints_given.add(hint)
            line += f"\n    hint: {hint}"
        self._add(line)
        self.failures.append(f"[{self.case}] {line}" if self.case else line)

    def note(self, message):
        """A line that is not a test (for example, why later tests were skipped)."""
        print(f"  ({message})")

    def _add(self, line):
        self.messages.append(line)
        print("  " + line.replace("\n", "\n  "))

    def finish(self):
        result = CheckResult(self.name, not self.failures, self.messages, self.failures)
        if result.passed:
            print(f"All {len(self.messages)} checks passed.")
            return result
        print(f"{len(self.failures)} of {len(self.messages)} checks failed.")
        raise CheckFailed(result)


_FAILED = object()  # what _call_safely returns when the student's function raised


class _StepMisuse(Exception):
    """Raised by the step function given to the student's unroll when called wrongly."""


# All of helpers (this package's parent): a frame in the reference is not the student's code.
_LIBRARY_DIRS = tuple(
    os.path.realpath(path)
    for path in {os.path.dirname(os.path.dirname(os.path.abspath(__file__)))}
    | {sysconfig.get_paths()[key] for key in ("stdlib", "purelib", "platlib")}
)


def _is_student_code(filename):
    path = os.path.realpath(filename)
    if {"site-packages", "dist-packages"} & set(path.split(os.sep)):
        return False
    return not any(path == root or path.startswith(root + os.sep) for root in _LIBRARY_DIRS)


def _where(error):
    """' (in f, line 3: `h = x @ W`)' for the innermost frame of the student's code, or ''."""
    frames = traceback.extract_tb(error.__traceback__)
    for frame in reversed(frames):
        if _is_student_code(frame.filename):
            code = f": `{frame.line.strip()}`" if frame.line else ""
            return f" (in {frame.name}, line {frame.lineno}{code})"
    return ""


def _describe(value):
    if type(value).__module__.startswith("torch") and hasattr(value, "shape"):
        return f"a tensor of shape {tuple(value.shape)} and dtype {value.dtype}"
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape} and dtype {value.dtype}"
    if isinstance(value, (list, tuple)):
        return f"a {type(value).__name__} of {len(value)} items"
    return f"{type(value).__name__} {value!r}"[:80]


def _snapshot(value):
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, list):
        return [item.copy() if isinstance(item, np.ndarray) else item for item in value]
    return None


def _changed(name, before, after):
    """Name what differs between ``after`` and its snapshot ``before``, or return None."""
    if isinstance(before, np.ndarray):
        same = (isinstance(after, np.ndarray) and after.shape == before.shape
                and np.array_equal(after, before, equal_nan=True))
        return None if same else name
    if isinstance(before, list):
        if len(after) != len(before):
            return f"{name} (its length went from {len(before)} to {len(after)})"
        for i, (old, new) in enumerate(zip(before, after)):
            if isinstance(old, np.ndarray) and _changed(name, old, new):
                return f"{name}[{i}]"
    return None


_MATMUL_HINT = ("a matrix product got factors whose inner sizes differ: print the shapes of both; "
                "batches are row-major, so the batch comes first, as in x (N, D) times Wx (D, H)")


def _matmul_hint(message):
    return _MATMUL_HINT if "matmul" in message or "not aligned" in message else None


def _report_exception(report, label, error, error_hint=_matmul_hint):
    """One failed test for an exception raised by the student's code, with where it was raised.

    ``error_hint(message)`` may explain the exception's message.
    """
    if isinstance(error, NotImplementedError):
        report.fail(
            f"{label} raised NotImplementedError{_where(error)}",
            hint="replace `raise NotImplementedError()` with your implementation",
        )
    elif isinstance(error, _StepMisuse):
        report.fail(f"{label} called step wrongly: {error}{_where(error)}")
    else:
        message = str(error) or "(no message)"
        report.fail(f"{label} raised {type(error).__name__}: {message}{_where(error)}",
                    hint=error_hint(message))


def _call_safely(report, fn, label, args, watch=None, error_hint=_matmul_hint):
    """Call ``fn(*args.values())``; an exception or a changed input becomes a failed test.

    Args are copies made by the caller, so the reference never sees what the
    student's code did to them. Returns the student's return value, or
    ``_FAILED`` if the call raised. ``error_hint(message)`` may explain an
    exception's message.
    """
    watch = args if watch is None else watch
    before = {name: _snapshot(args[name]) for name in watch}
    try:
        value = fn(*args.values())
    except Exception as error:
        _report_exception(report, label, error, error_hint)
        return _FAILED
    changed = [
        description
        for name, old in before.items()
        if old is not None and (description := _changed(name, old, args[name]))
    ]
    if changed:
        report.fail(
            f"{label} modified its input {', '.join(changed)} in place",
            hint="compute new arrays (`a = a + b`, not `a += b` or `a[...] = ...` on an input); "
            "the caller still needs its inputs after the call",
        )
    else:
        report.ok(f"{label} runs and leaves its inputs unchanged")
    return value


def _in_place_hint(message):
    if "in-place operation" in message:
        return ("an input was written into (`+=`, `[...] =`, or a method ending in `_` such as "
                "masked_fill_): compute new tensors instead, the caller still needs its inputs")
    return None


def _call_safely_with_tensors(report, fn, label, given, originals, error_hint=None,
                              in_place_hint=None):
    """:func:`_call_safely` for torch tensors: ``given`` holds copies of ``originals``.

    The reference never sees what the student's code did to the copies. An
    exception or a changed input becomes a failed test; returns the student's
    value, or ``_FAILED``.
    """
    import torch

    try:
        value = fn(*given.values())
    except Exception as error:
        def hint(message):
            return _in_place_hint(message) or (error_hint(message) if error_hint else None)
        _report_exception(report, label, error, hint)
        return _FAILED
    changed = [name for name, tensor in given.items()
               if not (tensor.shape == originals[name].shape
                       and torch.equal(tensor.detach().cpu(), originals[name].detach().cpu()))]
    if changed:
        report.fail(f"{label} modified its input {', '.join(changed)} in place",
                    hint=in_place_hint or "compute new tensors (`s = s.masked_fill(mask, v)`, not "
                    "`s.masked_fill_(mask, v)` or `s[...] = v` on an input); the caller still "
                    "needs its inputs after the call")
    else:
        report.ok(f"{label} runs and leaves its inputs unchanged")
    return value


def _unpack(report, value, label, names):
    """One test: ``value`` is a tuple (or list) of ``len(names)`` items. Returns them or None."""
    wanted = f"({', '.join(names)})"
    kind = "a pair" if len(names) == 2 else f"a tuple of {len(names)}"
    if value is None:
        report.fail(f"{label} returned None, expected {kind} {wanted}",
                    hint="is the return statement missing?")
    elif not isinstance(value, (tuple, list)):
        report.fail(f"{label} returned {_describe(value)}, expected {kind} {wanted}",
                    hint=f"return all {len(names)} values, in the order {wanted}")
    elif len(value) != len(names):
        report.fail(f"{label} returned {len(value)} values, expected {len(names)}: {wanted}")
    else:
        report.ok(f"{label} returns {kind} {wanted}")
        return tuple(value)
    return None


def _shape_text(shape, symbols):
    if symbols is None:
        return str(shape)
    names = ", ".join(symbols) + ("," if len(symbols) == 1 else "")
    return f"({names}) = {shape}"


def _check_array(report, label, value, shape, symbols=None, shape_hint=None,
                 list_hint=None, quiet=False):
    """One test: ``value`` is a finite float64 numpy array of ``shape``. Returns True if so.

    ``shape_hint(received_shape)`` may explain a wrong shape; ``quiet`` leaves
    out the ✓ line (used for gradients, whose comparison line follows).
    """
    expected = _shape_text(shape, symbols)
    if value is None:
        report.fail(f"{label} is None, expected an array of shape {expected}")
    elif type(value).__module__.startswith("torch"):
        report.fail(f"{label} is a torch tensor, expected a numpy array of shape {expected}",
                    hint="this exercise is in numpy: keep every step a numpy operation")
    elif isinstance(value, (list, tuple)) and value and all(
            isinstance(item, np.ndarray) for item in value):
        report.fail(f"{label} is a {type(value).__name__} of {len(value)} arrays of shape "
                    f"{value[0].shape}, expected one array of shape {expected}",
                    hint=list_hint or "combine them into one array (np.stack or np.array)")
    elif not isinstance(value, np.ndarray):
        report.fail(f"{label} is {_describe(value)}, expected a numpy array of shape {expected}")
    elif value.shape != shape:
        hint = shape_hint(value.shape) if shape_hint else None
        report.fail(f"{label} has shape {value.shape}, expected {expected}", hint=hint)
    elif value.dtype != np.float64:
        report.fail(
            f"{label} has dtype {value.dtype}, expected float64",
            hint="the inputs are float64; an array made with dtype=np.float32 or from integers "
            "(np.zeros(shape, dtype=int), np.zeros_like of an int array) loses precision or "
            "truncates values: create it with np.zeros(shape) or compute it from the inputs",
        )
    elif not np.all(np.isfinite(value)):
        nan, inf = int(np.isnan(value).sum()), int(np.isinf(value).sum())
        report.fail(f"{label} contains {nan} NaN and {inf} infinite values out of {value.size}",
                    hint="look for a division by zero, a log of 0, or an uninitialised np.empty")
    else:
        if not quiet:
            report.ok(f"{label} has shape {shape} and dtype float64")
        return True
    return False


def _close(a, b, tolerance):
    return isinstance(a, np.ndarray) and a.shape == b.shape and rel_error(a, b) < tolerance


def _first_match(got, variants):
    """The hint of the first variant ``(hint, compute)`` whose result equals ``got``."""
    for hint, compute in variants:
        try:
            candidate = compute()
        except Exception:  # a variant that cannot be formed for these inputs is no match
            continue
        if candidate is not None and _close(got, candidate, 1e-6):
            return hint
    return None


def _most_telling_first(variants, got, want):
    """``variants`` whose results are dicts, those that reproduce most entries of ``got``
    first, each computed once.

    Two mistakes can give the same value for one output (a gradient), but
    rarely for all: the one that explains the whole answer, the right outputs
    included, is the better hint.
    """
    comparable = [name for name, value in got.items()
                  if isinstance(value, np.ndarray) and value.dtype == np.float64
                  and value.shape == want[name].shape]
    scored = []
    for hint, compute in variants:
        try:
            result = compute()
        except Exception:  # a variant that cannot be formed for these inputs is no match
            continue
        score = sum(name in result and _close(got[name], result[name], 1e-6)
                    for name in comparable)
        scored.append((-score, len(scored), hint, result))
    return [(hint, lambda result=result: result) for _, _, hint, result in sorted(scored)]


def _scale_hint(name, got, want, batch_size):
    """Explain ``got`` if it is a multiple (or the transpose) of ``want``."""
    if got.ndim == 2 and got.shape == want.T.shape and _close(got, want.T, 1e-6):
        return (f"{name} is the transpose of the right gradient: a gradient has the layout of "
                f"what it differentiates, entry [i, j] of {name} belongs to entry [i, j] of "
                f"{name[1:]}")
    norm = float(np.sum(want * want))
    if norm == 0:
        return None
    factor = float(np.sum(got * want)) / norm
    if abs(factor - 1) < 1e-6 or not _close(got, factor * want, 1e-6):
        return None
    if abs(factor + 1) < 1e-6:
        return f"{name} has the wrong sign"
    if abs(factor - 1 / batch_size) < 1e-6:
        return (f"{name} is 1/N = 1/{batch_size} of the right gradient: do not average over "
                "the batch; the upstream gradient already holds any 1/N of the loss")
    return f"{name} is {factor:.4g} times the right gradient"


def _differences(got, want):
    return (f"relative error {rel_error(got, want):.1e} (expected < {REFERENCE_TOLERANCE:.0e}), "
            f"max abs difference {np.max(np.abs(got - want)):.1e}")


def _compare_to_reference(report, label, got, want, hint=None, where=""):
    error = rel_error(got, want)
    if error < REFERENCE_TOLERANCE:
        report.ok(f"{label} matches the reference (relative error {error:.1e})")
        return True
    report.fail(f"{label} differs from the reference{where}: {_differences(got, want)}", hint=hint)
    return False


def _require_function(fn, name):
    if not callable(fn):
        raise TypeError(
            f"{name} must be your function itself (pass my_function, not my_function(...)), "
            f"got {_describe(fn)}"
        )


def _label(fn, default):
    """The student's name for their function (``my_rnn_forward``), or ``default`` for a lambda."""
    name = getattr(fn, "__name__", "")
    return name if name.isidentifier() else default



def _copies(**arrays):
    return {name: value.copy() for name, value in arrays.items()}



# --------------------------------------------------------------------------- backward passes


def _gradient_shape_hint(name, inputs):
    """Explain a wrong gradient shape: transposed, another input's shape, db not summed."""
    target = name[1:]
    expected = inputs[target].shape

    def hint(shape):
        if len(shape) == 2 and shape == expected[::-1]:
            return f"{name} looks transposed: a gradient has the shape of what it differentiates"
        if target in ("b", "bx", "bh") and len(shape) == 2 and shape[-1] == expected[0]:
            return (f"{target} is shared by every example, so {name} sums the per-example "
                    "gradients over the batch (and, for sequences, time) axes, down to shape "
                    f"{expected}")
        others = [other for other, value in inputs.items()
                  if other != target and value.shape == shape]
        if others:
            return (f"that is the shape of {others[0]}: are the gradients returned in the order "
                    "of the forward's inputs?")
        return None
    return hint


def _numerical_gradients(report, forward, inputs, dh):
    """Central-difference gradients of ``sum(forward(...)[0] * dh)`` for every input, or None."""
    names = list(inputs)
    gradients = {}
    for name in names:
        def f(value, name=name):
            args = _copies(**inputs)
            args[name] = value
            return forward(*args.values())[0]
        try:
            gradients[name] = numerical_gradient(f, inputs[name].copy(), df=dh)
        except Exception as error:
            report.fail(f"the numerical gradient could not be computed: your forward pass raised "
                        f"{type(error).__name__}: {error}{_where(error)}")
            return None
    return gradients


def _bptt_position(got, want):
    """Where a sequence's dx first differs, walking back from the last step as BPTT does."""
    T = want.shape[1]
    t = next(t for t in reversed(range(T))
             if rel_error(got[:, t], want[:, t]) >= REFERENCE_TOLERANCE)
    if t == T - 1:
        return (f" already at the last time step t = {t}, where BPTT starts",
                "only dh[:, T-1] reaches the last step, so the step backward itself is wrong: "
                "check it with check_rnn_step_backward")
    return f" first at t = {t}, walking back from t = {T - 1} (dx[:, {t + 1}:] agrees)", None


def _check_gradients(report, got, want, numerical, inputs, names, tolerance, variants):
    """Per gradient: its shape and dtype, then reference and numerical agreement."""
    batch_size = next(iter(inputs.values())).shape[0]
    for name, value in zip(names, got):
        target = name[1:]
        if not _check_array(report, name, value, inputs[target].shape,
                            shape_hint=_gradient_shape_hint(name, inputs), quiet=True):
            continue
        reference = want[name]
        if rel_error(value, reference) >= REFERENCE_TOLERANCE:
            sequence_dx = name == "dx" and value.ndim == 3
            where, fallback = _bptt_position(value, reference) if sequence_dx else ("", None)
            hint = (_scale_hint(name, value, reference, batch_size)
                    or _first_match(value, [(h, lambda c=c: c()[name]) for h, c in variants])
                    or fallback)
        else:
            where, hint = "", None
        _compare_to_reference(report, name, value, reference, hint=hint, where=where)
        if numerical is None:
            continue
        error = rel_error(value, numerical[target])
        if error < tolerance:
            report.ok(f"{name} matches the numerical gradient of your forward pass "
                      f"(relative error {error:.1e})")
        else:
            report.fail(f"{name} differs from the numerical gradient of your forward pass: "
                        f"relative error {error:.1e} (expected < {tolerance:.0e})")


def _run_forward_then_backward(report, forward, backward, inputs, upstream, want, default_labels,
                               check_output, names, returns="(h, cache) with h",
                               error_hint=_matmul_hint):
    """Run the student's forward (checked) and backward; return the gradients or None.

    ``upstream`` holds the upstream gradients (``dh``, and ``dc`` for the LSTM)
    that the backward gets, in order, before the cache; ``returns`` says what
    the forward must return before the backward is called.
    """
    forward_label, backward_label = map(_label, (forward, backward), default_labels)
    value = _call_safely(report, forward, forward_label, _copies(**inputs), error_hint=error_hint)
    cache = _FAILED if value is _FAILED else check_output(report, forward_label, value, want,
                                                          inputs)
    if cache is _FAILED:
        report.note(f"the backward pass is not checked until the forward pass returns {returns} "
                    "of the right shape")
        return None
    grads = _call_safely(report, backward, backward_label, dict(_copies(**upstream), cache=cache),
                         watch=tuple(upstream), error_hint=error_hint)
    if grads is _FAILED:
        return None
    return _unpack(report, grads, backward_label, names)

