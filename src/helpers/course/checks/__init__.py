"""Automatic checks for the implementation exercises of the chapters.

An exercise cell ends with one call, such as
``helpers.exercises.check_rnn_step_forward(my_step_forward)``
(``helpers.exercises`` is this package under its old name). The check runs
the function on fixed, seeded float64 inputs, compares what comes back with the
tested reference in :mod:`helpers.numpy_rnn`, :mod:`helpers.numpy_lstm` or
:mod:`helpers.numpy_gru` (and, for backward passes, with central differences
from :mod:`helpers.gradcheck`), and prints one line per test::

    check_rnn_forward: 2 sequences of T = 5 steps, D = 3, H = 4
      ✓ my_rnn_forward runs and leaves its inputs unchanged
      ✓ my_rnn_forward returns a pair (h, cache)
      ✓ h has shape (2, 5, 4) and dtype float64
      ✗ h agrees with the reference up to t = 0 but first differs at t = 1: max abs
        difference 1.1e+00 in h[:, 1] (relative error over all steps 1.0e+00)
          hint: every state is computed from h0: each step must start from the state
          the previous step returned
    check_rnn_forward: 3 sequences of T = 1 step, D = 2, H = 4
      ...
    1 of 8 checks failed.

A wrong answer never ends in a traceback from inside the checker: an exception
raised by the student's code, ``None``, a wrong number of returned values, a
wrong shape or dtype, NaN, and an input modified in place all become lines of
the report. When any test fails the check raises :class:`CheckFailed` (an
``AssertionError``) listing the failures, so a wrong hidden solution fails the
book's build; when all pass it prints ``All N checks passed.`` and returns a
:class:`CheckResult`.

The checks only call the reference, so they never contain or print its code.
Each prints its report as it goes; the returned :class:`CheckResult` shows
nothing more in a notebook, so a cell may end with the check.

The checks of the vanilla RNN (unroll, steps and sequences, clipping) are in
:mod:`helpers.course.checks.rnn`, those of the gated units (LSTM and GRU steps,
parameter counts of ``torch.nn``'s recurrent layers) in
:mod:`helpers.course.checks.gated`, those of the chapters on real data in
:mod:`helpers.course.checks.language_model`,
:mod:`helpers.course.checks.sequence_classification`,
:mod:`helpers.course.checks.sequence_labelling` and
:mod:`helpers.course.checks.bidirectional`, the one of the notation chapter (Goodfellow
et al.'s ``U``, ``W``, ``b`` loaded into ``torch.nn.RNN``) in
:mod:`helpers.course.checks.notation`, those of attention (a loss masked to the
real tokens, the masked softmax, causal self-attention) in
:mod:`helpers.course.checks.attention`, the one of the chapter on speed (batches of
sequences of similar length) in :mod:`helpers.course.checks.speed`, and the report
and feedback machinery they share in :mod:`helpers.course.feedback`.
"""

from helpers.course.checks import (
    attention,
    bidirectional,
    gated,
    language_model,
    notation,
    rnn,
    sequence_classification,
    sequence_labelling,
    speed,
)
from helpers.course.feedback import CheckFailed, CheckResult

# Every check is exported under its own name; each module's __all__ is the one list of its checks.
__all__ = ["CheckFailed", "CheckResult"]
for _module in (
    rnn,
    notation,
    gated,
    language_model,
    sequence_classification,
    sequence_labelling,
    bidirectional,
    attention,
    speed,
):
    globals().update({name: getattr(_module, name) for name in _module.__all__})
    __all__ += _module.__all__
del _module
