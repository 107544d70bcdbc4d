"""What every exercise check is built from: the report, safe calls, and feedback on answers.

A check (:mod:`helpers.course.checks`) runs a student's function on fixed,
seeded inputs and prints one line per test: ``✓`` for a test passed, ``✗``
for a test failed, with at most one ``hint:`` per mistake naming the likely
cause. It reports, in this order: whether the function runs and leaves its
inputs unchanged (an exception becomes a line naming the line of the student's
code that raised, never a traceback from inside the checker); whether it
returns the right number of values; the shape, dtype and finiteness of each;
and how far each is from the reference, by relative error, naming a classic
mistake when a model of it reproduces the wrong answer. It ends with ``All N
checks passed.`` and returns a :class:`CheckResult`, or with ``K of N checks
failed.`` and raises :class:`CheckFailed` (an ``AssertionError``), so a wrong
hidden solution fails the book's build.

To write a new check:

1. :func:`start_check` tests that the arguments are functions (a
   ``TypeError`` naming the argument otherwise) and returns the
   :class:`Report`; :func:`function_label` is the student's name for the
   function, used in every line;
2. per case, :meth:`Report.start_case`, then :func:`call_safely` (numpy
   inputs) or :func:`call_safely_with_tensors` (torch) on copies of the
   inputs: it returns the student's value, or :data:`FAILED` if the call
   raised;
3. :func:`unpack` a returned tuple, :func:`check_array` each array (numpy,
   float64), then :func:`compare_to_reference`, with the hint of
   :func:`first_match`, the first of a list of ``(hint, compute)`` mistake
   models whose result equals the answer;
4. a backward pass: :func:`check_backward_pass` runs the student's forward
   and backward and compares every gradient with the reference and with
   central differences of the student's own forward (:func:`check_gradients`);
5. ``return report.finish()``.

Every line the report prints is also in the returned :class:`CheckResult`
(``messages``, and ``failures`` for the ``✗`` ones), which is what the tests
of a check assert. The page "For instructors" of the book writes a complete
check with these pieces.
"""

import math
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


class Report:
    """Collects and prints one line per test, then passes or raises :class:`CheckFailed`.

    Made by :func:`start_check`. A check calls :meth:`start_case` before each
    set of inputs, :meth:`ok` or :meth:`fail` once per test (the helpers of
    this module do it for the tests they run), and returns :meth:`finish`.
    """

    def __init__(self, name):
        self.name = name
        self.case = None
        self.messages = []
        self.failures = []
        self._hints_given = set()

    def start_case(self, title):
        """Print ``check_name: title``; the failures that follow are tagged with the title."""
        self.case = title
        print(f"{self.name}: {title}")

    def ok(self, message):
        """A passed test: ``✓ message``."""
        self._add(f"✓ {message}")

    def fail(self, message, hint=None):
        """A failed test: ``✗ message``, and ``hint:`` the first time this hint is given."""
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
        """Print the count; return the :class:`CheckResult`, or raise :class:`CheckFailed`."""
        result = CheckResult(self.name, not self.failures, self.messages, self.failures)
        if result.passed:
            print(f"All {len(self.messages)} checks passed.")
            return result
        print(f"{len(self.failures)} of {len(self.messages)} checks failed.")
        raise CheckFailed(result)


FAILED = object()  # what call_safely returns when the student's function raised


class StepMisuse(Exception):
    """Raised by the step function given to the student's unroll when called wrongly."""


# All of helpers (the parent of this subpackage): a frame in the reference is not the
# student's code.
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
    if getattr(error, "sandbox_where", None) is not None:  # raised in the grading sandbox
        return error.sandbox_where
    frames = traceback.extract_tb(error.__traceback__)
    for frame in reversed(frames):
        if _is_student_code(frame.filename):
            code = f": `{frame.line.strip()}`" if frame.line else ""
            return f" (in {frame.name}, line {frame.lineno}{code})"
    return ""


def describe(value):
    """A short description of ``value`` for a message: a tensor's or array's shape and dtype,
    a list's length, or the value itself (at most 80 characters)."""
    if hasattr(value, "sandbox_description"):  # a value that stayed in the grading sandbox
        return value.sandbox_description
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
        same = (
            isinstance(after, np.ndarray)
            and after.shape == before.shape
            and np.array_equal(after, before, equal_nan=True)
        )
        return None if same else name
    if isinstance(before, list):
        if len(after) != len(before):
            return f"{name} (its length went from {len(before)} to {len(after)})"
        for i, (old, new) in enumerate(zip(before, after)):
            if isinstance(old, np.ndarray) and _changed(name, old, new):
                return f"{name}[{i}]"
    return None


_MATMUL_HINT = (
    "a matrix product got factors whose inner sizes differ: print the shapes of both; "
    "batches are row-major, so the batch comes first, as in x (N, D) times Wx (D, H)"
)


def matmul_hint(message):
    """The hint for an exception ``message`` from a matrix product of mismatched shapes, or None."""
    return _MATMUL_HINT if "matmul" in message or "not aligned" in message else None


def report_exception(report, label, error, error_hint=matmul_hint):
    """One failed test for an exception raised by the student's code, with where it was raised.

    ``error_hint(message)`` may explain the exception's message.
    """
    if isinstance(error, NotImplementedError):
        report.fail(
            f"{label} raised NotImplementedError{_where(error)}",
            hint="replace `raise NotImplementedError()` with your implementation",
        )
    elif isinstance(error, StepMisuse):
        report.fail(f"{label} called step wrongly: {error}{_where(error)}")
    else:
        message = str(error) or "(no message)"
        report.fail(
            f"{label} raised {type(error).__name__}: {message}{_where(error)}",
            hint=error_hint(message),
        )


def call_safely(report, fn, label, args, watch=None, error_hint=matmul_hint):
    """Call ``fn(*args.values())``; an exception or a changed input becomes a failed test.

    Args are copies made by the caller, so the reference never sees what the
    student's code did to them. Returns the student's return value, or
    ``FAILED`` if the call raised. ``error_hint(message)`` may explain an
    exception's message.
    """
    watch = args if watch is None else watch
    before = {name: _snapshot(args[name]) for name in watch}
    try:
        value = fn(*args.values())
    except Exception as error:
        report_exception(report, label, error, error_hint)
        return FAILED
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
        return (
            "an input was written into (`+=`, `[...] =`, or a method ending in `_` such as "
            "masked_fill_): compute new tensors instead, the caller still needs its inputs"
        )
    return None


def call_safely_with_tensors(
    report, fn, label, given, originals, error_hint=None, in_place_hint=None
):
    """:func:`call_safely` for torch tensors: ``given`` holds copies of ``originals``.

    The reference never sees what the student's code did to the copies. An
    exception or a changed input becomes a failed test; returns the student's
    value, or ``FAILED``.
    """
    import torch

    try:
        value = fn(*given.values())
    except Exception as error:

        def hint(message):
            return _in_place_hint(message) or (error_hint(message) if error_hint else None)

        report_exception(report, label, error, hint)
        return FAILED
    changed = [
        name
        for name, tensor in given.items()
        if not (
            tensor.shape == originals[name].shape
            and torch.equal(tensor.detach().cpu(), originals[name].detach().cpu())
        )
    ]
    if changed:
        report.fail(
            f"{label} modified its input {', '.join(changed)} in place",
            hint=in_place_hint
            or "compute new tensors (`s = s.masked_fill(mask, v)`, not "
            "`s.masked_fill_(mask, v)` or `s[...] = v` on an input); the caller still "
            "needs its inputs after the call",
        )
    else:
        report.ok(f"{label} runs and leaves its inputs unchanged")
    return value


def unpack(report, value, label, names):
    """One test: ``value`` is a tuple (or list) of ``len(names)`` items. Returns them or None."""
    wanted = f"({', '.join(names)})"
    kind = "a pair" if len(names) == 2 else f"a tuple of {len(names)}"
    if value is None:
        report.fail(
            f"{label} returned None, expected {kind} {wanted}",
            hint="is the return statement missing?",
        )
    elif not isinstance(value, (tuple, list)):
        report.fail(
            f"{label} returned {describe(value)}, expected {kind} {wanted}",
            hint=f"return all {len(names)} values, in the order {wanted}",
        )
    elif len(value) != len(names):
        report.fail(f"{label} returned {len(value)} values, expected {len(names)}: {wanted}")
    else:
        report.ok(f"{label} returns {kind} {wanted}")
        return tuple(value)
    return None


def check_outputs(
    report, label, value, names, want, shape, symbols=None, shape_hint=None, variants=None
):
    """The tests on ``value``, returned by a step as ``(*names, cache)``. Returns the cache.

    One test that ``value`` is that tuple (:func:`unpack`); one per output
    that it is a float64 array of ``shape`` (:func:`check_array`, with the
    hint ``shape_hint(name)`` for a wrong shape); then, if all are, one per
    output comparing it with ``want[i]``, the reference's output of the same
    index (:func:`compare_to_reference`, explaining a wrong output ``i`` with
    the mistake models ``variants(i)``). Returns :data:`FAILED` instead of the
    cache if a test before the comparisons failed.
    """
    items = unpack(report, value, label, (*names, "cache"))
    if items is None:
        return FAILED
    outputs = dict(zip(names, items))
    shapes_ok = [
        check_array(
            report, name, got, shape, symbols, shape_hint=shape_hint(name) if shape_hint else None
        )
        for name, got in outputs.items()
    ]
    if not all(shapes_ok):
        return FAILED
    for index, (name, got) in enumerate(outputs.items()):
        compare_to_reference(
            report,
            name,
            got,
            want[index],
            variants=variants and (lambda index=index: variants(index)),
        )
    return items[-1]


def check_finite_number(report, subject, got, expected, advice):
    """One failed test if the number ``got`` is NaN or infinite; no line if it is finite.

    The line reads ``{subject} is {got}, expected {expected}``; its hint names
    the usual causes (a log of a probability that underflowed to 0, a
    division by a count of 0), then ``advice``. Returns whether ``got`` is
    finite.
    """
    if math.isfinite(got):
        return True
    report.fail(
        f"{subject} is {got}, expected {expected}",
        hint="a log of a probability that underflowed to 0, or a division by a count of "
        f"0? {advice}",
    )
    return False


def reduction_hint(shape, size, batch_shape, per_sequence, per_step, one_element):
    """The hint for a result that should be one number but came back with ``shape``.

    ``batch_shape`` is ``(N, T)``: a result of shape ``(N,)`` gets the hint
    ``per_sequence`` (a value per sequence, not reduced over the batch), one
    of shape ``(N, T)`` ``per_step``, any other with ``size`` 1
    ``one_element``; None otherwise.
    """
    if shape == batch_shape[:1]:
        return per_sequence
    if shape == tuple(batch_shape):
        return per_step
    return one_element if size == 1 else None


def _shape_text(shape, symbols):
    if symbols is None:
        return str(shape)
    names = ", ".join(symbols) + ("," if len(symbols) == 1 else "")
    return f"({names}) = {shape}"


def check_array(
    report, label, value, shape, symbols=None, shape_hint=None, list_hint=None, quiet=False
):
    """One test: ``value`` is a finite float64 numpy array of ``shape``. Returns True if so.

    ``shape_hint(received_shape)`` may explain a wrong shape; ``quiet`` leaves
    out the ✓ line (used for gradients, whose comparison line follows).
    """
    expected = _shape_text(shape, symbols)
    if value is None:
        report.fail(f"{label} is None, expected an array of shape {expected}")
    elif type(value).__module__.startswith("torch"):
        report.fail(
            f"{label} is a torch tensor, expected a numpy array of shape {expected}",
            hint="this exercise is in numpy: keep every step a numpy operation",
        )
    elif (
        isinstance(value, (list, tuple))
        and value
        and all(isinstance(item, np.ndarray) for item in value)
    ):
        report.fail(
            f"{label} is a {type(value).__name__} of {len(value)} arrays of shape "
            f"{value[0].shape}, expected one array of shape {expected}",
            hint=list_hint or "combine them into one array (np.stack or np.array)",
        )
    elif not isinstance(value, np.ndarray):
        report.fail(f"{label} is {describe(value)}, expected a numpy array of shape {expected}")
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
        report.fail(
            f"{label} contains {nan} NaN and {inf} infinite values out of {value.size}",
            hint="look for a division by zero, a log of 0, or an uninitialised np.empty",
        )
    else:
        if not quiet:
            report.ok(f"{label} has shape {shape} and dtype float64")
        return True
    return False


def arrays_close(a, b, tolerance):
    """Whether ``a`` is a numpy array of ``b``'s shape within relative error ``tolerance`` of it."""
    return isinstance(a, np.ndarray) and a.shape == b.shape and rel_error(a, b) < tolerance


def first_match(got, variants, same=None):
    """The hint of the first variant ``(hint, compute)`` whose result equals ``got``, or None.

    A variant models a classic mistake: ``compute()`` returns what the
    mistaken code would have returned (a variant that raises is no match).
    ``same(got, candidate)`` says whether two results are equal; by default,
    numpy arrays within relative error 1e-6 (:func:`arrays_close`).
    """
    for hint, compute in variants:
        try:
            candidate = compute()
        except Exception:  # a variant that cannot be formed for these inputs is no match
            continue
        if candidate is not None and (
            same(got, candidate) if same else arrays_close(got, candidate, 1e-6)
        ):
            return hint
    return None


def most_telling_first(variants, got, want):
    """``variants`` whose results are dicts, those that reproduce most entries of ``got``
    first, each computed once.

    Two mistakes can give the same value for one output (a gradient), but
    rarely for all: the one that explains the whole answer, the right outputs
    included, is the better hint.
    """
    comparable = [
        name
        for name, value in got.items()
        if isinstance(value, np.ndarray)
        and value.dtype == np.float64
        and value.shape == want[name].shape
    ]
    scored = []
    for hint, compute in variants:
        try:
            result = compute()
        except Exception:  # a variant that cannot be formed for these inputs is no match
            continue
        score = sum(
            name in result and arrays_close(got[name], result[name], 1e-6) for name in comparable
        )
        scored.append((-score, len(scored), hint, result))
    return [(hint, lambda result=result: result) for _, _, hint, result in sorted(scored)]


def _scale_hint(name, got, want, batch_size):
    """Explain ``got`` if it is a multiple (or the transpose) of ``want``."""
    if got.ndim == 2 and got.shape == want.T.shape and arrays_close(got, want.T, 1e-6):
        return (
            f"{name} is the transpose of the right gradient: a gradient has the layout of "
            f"what it differentiates, entry [i, j] of {name} belongs to entry [i, j] of "
            f"{name[1:]}"
        )
    norm = float(np.sum(want * want))
    if norm == 0:
        return None
    factor = float(np.sum(got * want)) / norm
    if abs(factor - 1) < 1e-6 or not arrays_close(got, factor * want, 1e-6):
        return None
    if abs(factor + 1) < 1e-6:
        return f"{name} has the wrong sign"
    if abs(factor - 1 / batch_size) < 1e-6:
        return (
            f"{name} is 1/N = 1/{batch_size} of the right gradient: do not average over "
            "the batch; the upstream gradient already holds any 1/N of the loss"
        )
    return f"{name} is {factor:.4g} times the right gradient"


def _differences(got, want):
    return (
        f"relative error {rel_error(got, want):.1e} (expected < {REFERENCE_TOLERANCE:.0e}), "
        f"max abs difference {np.max(np.abs(got - want)):.1e}"
    )


def compare_to_reference(report, label, got, want, hint=None, where="", variants=None):
    """One test: the array ``got`` is ``want`` up to :data:`REFERENCE_TOLERANCE` (relative error).

    On a failure the line says by how much and ``where`` (for example, the
    first differing time step), with ``hint``, or, without one, the hint of
    the first of the mistake models ``variants()`` that reproduces ``got``
    (:func:`first_match`; ``variants`` is only called for a wrong answer).
    Returns True if it passed.
    """
    error = rel_error(got, want)
    if error < REFERENCE_TOLERANCE:
        report.ok(f"{label} matches the reference (relative error {error:.1e})")
        return True
    if hint is None and variants is not None:
        hint = first_match(got, variants())
    report.fail(f"{label} differs from the reference{where}: {_differences(got, want)}", hint=hint)
    return False


def require_function(fn, name):
    """Raise ``TypeError`` naming the argument ``name`` unless ``fn`` is callable.

    The usual mistake is passing ``my_function(...)``, its result, for ``my_function``.
    """
    if not callable(fn):
        raise TypeError(
            f"{name} must be your function itself (pass my_function, not my_function(...)), "
            f"got {describe(fn)}"
        )


def function_label(fn, default):
    """The student's name for their function (``my_rnn_forward``), or ``default`` for a lambda."""
    name = getattr(fn, "__name__", "")
    return name if name.isidentifier() else default


def start_check(name, **functions):
    """Start the check ``name`` on the student's ``functions``: a new :class:`Report`.

    Each keyword is an argument of the check and its value the function the
    student passed; one that is not callable raises ``TypeError`` naming the
    argument (:func:`require_function`) before anything is printed.
    """
    for argument, fn in functions.items():
        require_function(fn, argument)
    return Report(name)


def copies(**arrays):
    """Fresh copies of the named arrays, in order, for one call of the student's code."""
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
            return (
                f"{target} is shared by every example, so {name} sums the per-example "
                "gradients over the batch (and, for sequences, time) axes, down to shape "
                f"{expected}"
            )
        others = [
            other for other, value in inputs.items() if other != target and value.shape == shape
        ]
        if others:
            return (
                f"that is the shape of {others[0]}: are the gradients returned in the order "
                "of the forward's inputs?"
            )
        return None

    return hint


def numerical_gradients(report, forward, inputs, dh):
    """Central-difference gradients of ``sum(forward(...)[0] * dh)`` for every input, or None."""
    names = list(inputs)
    gradients = {}
    for name in names:

        def f(value, name=name):
            args = copies(**inputs)
            args[name] = value
            return forward(*args.values())[0]

        try:
            gradients[name] = numerical_gradient(f, inputs[name].copy(), df=dh)
        except Exception as error:
            report.fail(
                f"the numerical gradient could not be computed: your forward pass raised "
                f"{type(error).__name__}: {error}{_where(error)}"
            )
            return None
    return gradients


def _bptt_position(got, want):
    """Where a sequence's dx first differs, walking back from the last step as BPTT does."""
    T = want.shape[1]
    t = next(
        t for t in reversed(range(T)) if rel_error(got[:, t], want[:, t]) >= REFERENCE_TOLERANCE
    )
    if t == T - 1:
        return (
            f" already at the last time step t = {t}, where BPTT starts",
            "only dh[:, T-1] reaches the last step, so the step backward itself is wrong: "
            "check it with check_rnn_step_backward",
        )
    return f" first at t = {t}, walking back from t = {T - 1} (dx[:, {t + 1}:] agrees)", None


def check_gradients(report, got, want, numerical, inputs, names, tolerance, variants):
    """Per gradient: its shape and dtype, then reference and numerical agreement."""
    batch_size = next(iter(inputs.values())).shape[0]
    for name, value in zip(names, got):
        target = name[1:]
        if not check_array(
            report,
            name,
            value,
            inputs[target].shape,
            shape_hint=_gradient_shape_hint(name, inputs),
            quiet=True,
        ):
            continue
        reference = want[name]
        if rel_error(value, reference) >= REFERENCE_TOLERANCE:
            sequence_dx = name == "dx" and value.ndim == 3
            where, fallback = _bptt_position(value, reference) if sequence_dx else ("", None)
            hint = (
                _scale_hint(name, value, reference, batch_size)
                or first_match(value, [(h, lambda c=c, name=name: c()[name]) for h, c in variants])
                or fallback
            )
        else:
            where, hint = "", None
        compare_to_reference(report, name, value, reference, hint=hint, where=where)
        if numerical is None:
            continue
        error = rel_error(value, numerical[target])
        if error < tolerance:
            report.ok(
                f"{name} matches the numerical gradient of your forward pass "
                f"(relative error {error:.1e})"
            )
        else:
            report.fail(
                f"{name} differs from the numerical gradient of your forward pass: "
                f"relative error {error:.1e} (expected < {tolerance:.0e})"
            )


def check_forward(report, fn, label, inputs, want, check_output, error_hint=matmul_hint):
    """Call the student's forward ``fn`` on copies of ``inputs`` and test what it returns.

    :func:`call_safely`, then, unless the call raised,
    ``check_output(report, label, value, want, inputs)`` (tests on the
    returned value against the reference's ``want``, returning the cache).
    Returns what ``check_output`` returned, or :data:`FAILED`.
    """
    value = call_safely(report, fn, label, copies(**inputs), error_hint=error_hint)
    return FAILED if value is FAILED else check_output(report, label, value, want, inputs)


def run_forward_then_backward(
    report,
    forward,
    backward,
    inputs,
    upstream,
    want,
    default_labels,
    check_output,
    names,
    returns="(h, cache) with h",
    error_hint=matmul_hint,
):
    """Run the student's forward (checked) and backward; return the gradients or None.

    ``upstream`` holds the upstream gradients (``dh``, and ``dc`` for the LSTM)
    that the backward gets, in order, before the cache; ``returns`` says what
    the forward must return before the backward is called.
    """
    forward_label, backward_label = map(function_label, (forward, backward), default_labels)
    cache = check_forward(report, forward, forward_label, inputs, want, check_output, error_hint)
    if cache is FAILED:
        report.note(
            f"the backward pass is not checked until the forward pass returns {returns} "
            "of the right shape"
        )
        return None
    grads = call_safely(
        report,
        backward,
        backward_label,
        dict(copies(**upstream), cache=cache),
        watch=tuple(upstream),
        error_hint=error_hint,
    )
    if grads is FAILED:
        return None
    return unpack(report, grads, backward_label, names)


def check_backward_pass(
    report,
    forward,
    backward,
    inputs,
    upstream,
    want_output,
    want_gradients,
    default_labels,
    check_output,
    tolerance,
    variants,
    returns="(h, cache) with h",
    error_hint=matmul_hint,
    numerical_forward=None,
    numerical_upstream=None,
    rank_variants=False,
):
    """The tests of a backward exercise: the student's forward, backward, then every gradient.

    Runs :func:`run_forward_then_backward` (``check_output(report, label,
    value, want_output, inputs)`` tests the forward's return value and
    returns its cache, or :data:`FAILED`), then compares each gradient, named
    and ordered as the keys of ``want_gradients`` (the reference's), with the
    reference and with central differences of ``numerical_forward`` (by
    default the student's forward, whose first output is weighted by
    ``numerical_upstream``, by default ``upstream["dh"]``), within
    ``tolerance``. ``variants`` are ``(hint, compute)`` mistake models whose
    ``compute()`` returns a dict of gradients; with ``rank_variants`` those
    that reproduce most of the student's gradients are tried first
    (:func:`most_telling_first`). Returns the student's gradients, or None.
    """
    names = tuple(want_gradients)
    got = run_forward_then_backward(
        report,
        forward,
        backward,
        inputs,
        upstream,
        want_output,
        default_labels,
        check_output,
        names,
        returns=returns,
        error_hint=error_hint,
    )
    if got is None:
        return None
    numerical = numerical_gradients(
        report,
        numerical_forward or forward,
        inputs,
        upstream["dh"] if numerical_upstream is None else numerical_upstream,
    )
    if rank_variants:
        variants = most_telling_first(variants, dict(zip(names, got)), want_gradients)
    check_gradients(report, got, want_gradients, numerical, inputs, names, tolerance, variants)
    return got
