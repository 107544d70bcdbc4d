"""Automatic checks for the implementation exercises of the chapters.

An exercise cell ends with one call, such as
``helpers.exercises.check_rnn_step_forward(my_step_forward)``. The check runs
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
:mod:`helpers.exercises.rnn`, those of the gated units (LSTM and GRU steps,
parameter counts of ``torch.nn``'s recurrent layers) in
:mod:`helpers.exercises.gated`, those of the chapters on real data in
:mod:`helpers.exercises.language_model`,
:mod:`helpers.exercises.sequence_classification`,
:mod:`helpers.exercises.sequence_labelling` and
:mod:`helpers.exercises.bidirectional`, the one of the notation chapter (Goodfellow
et al.'s ``U``, ``W``, ``b`` loaded into ``torch.nn.RNN``) in
:mod:`helpers.exercises.notation`, those of attention (a loss masked to the
real tokens, the masked softmax, causal self-attention) in
:mod:`helpers.exercises.attention`, the one of the chapter on speed (batches of
sequences of similar length) in :mod:`helpers.exercises.speed`, and the report
and feedback machinery they share in ``helpers.exercises._feedback``.
"""

from helpers.exercises._feedback import CheckFailed, CheckResult
from helpers.exercises.attention import (
    check_causal_self_attention,
    check_masked_sequence_loss,
    check_masked_softmax,
)
from helpers.exercises.bidirectional import check_bidirectional_layer
from helpers.exercises.gated import (
    check_gru_step_backward,
    check_gru_step_forward,
    check_lstm_step_backward,
    check_lstm_step_forward,
    check_parameter_count,
)
from helpers.exercises.language_model import check_perplexity
from helpers.exercises.notation import check_rnn_from_goodfellow
from helpers.exercises.sequence_classification import check_final_states
from helpers.exercises.sequence_labelling import check_token_scores
from helpers.exercises.speed import check_length_batches
from helpers.exercises.rnn import (
    check_clip_grad_norm,
    check_rnn_backward,
    check_rnn_forward,
    check_rnn_step_backward,
    check_rnn_step_forward,
    check_unroll,
)

__all__ = [
    "CheckFailed",
    "CheckResult",
    "check_unroll",
    "check_rnn_step_forward",
    "check_rnn_forward",
    "check_rnn_step_backward",
    "check_rnn_backward",
    "check_clip_grad_norm",
    "check_rnn_from_goodfellow",
    "check_lstm_step_forward",
    "check_lstm_step_backward",
    "check_gru_step_forward",
    "check_gru_step_backward",
    "check_parameter_count",
    "check_perplexity",
    "check_final_states",
    "check_token_scores",
    "check_bidirectional_layer",
    "check_masked_sequence_loss",
    "check_masked_softmax",
    "check_causal_self_attention",
    "check_length_batches",
]
