"""The check of the sequence-classification exercise: each sequence's state after its last real step.

``final_states(outputs, mask)`` gets the states of a forward RNN at every step
of a padded batch, ``outputs`` ``(N, T, H)``, and the mask ``(N, T)`` (``True``
at real steps, padding at the end), and returns ``(N, H)``: row n is
``outputs[n, lengths[n] - 1]``. The check runs it on fixed batches where every
classic mistake gives another answer (the last step of the padded tensor, an
off-by-one, a mean or a sum over the real steps, a mask that is ignored) and
names the mistake it recognises.
"""

import torch

from helpers.course.feedback import function_label, report_exception, start_check

__all__ = ["check_final_states"]

_CASES = (
    # (seed, lengths, T, H, title)
    (0, (5, 2, 1, 4, 3), 5, 3, "5 sequences of lengths 5, 2, 1, 4, 3 (T = 5, H = 3)"),
    (1, (2, 7, 7, 1), 9, 4, "4 sequences of lengths 2, 7, 7, 1 in a batch padded to T = 9"),
)


def _inputs(seed, lengths, T, H):
    generator = torch.Generator().manual_seed(seed)
    outputs = torch.randn(len(lengths), T, H, dtype=torch.float64, generator=generator)
    lengths = torch.tensor(lengths)
    mask = torch.arange(T)[None, :] < lengths[:, None]
    return outputs, mask, lengths


def _variants(outputs, mask, lengths):
    rows = torch.arange(len(lengths))
    weights = mask.unsqueeze(-1).double()
    return [
        (
            "outputs[:, -1] is the state after the padding for every sequence shorter than T: "
            "take each row's own last real step, lengths = mask.sum(1), outputs[n, lengths[n] - 1]",
            lambda: outputs[:, -1],
        ),
        (
            "off by one: the last real step of a sequence of length L has index L - 1 (steps count "
            "from 0)",
            lambda: outputs[rows, (lengths - 2).clamp(min=0)],
        ),
        (
            "off by one: the last real step of a sequence of length L has index L - 1, not L",
            lambda: outputs[rows, lengths.clamp(max=outputs.shape[1] - 1)],
        ),
        (
            "that is the first step of each sequence: the summary of the whole sequence is its "
            "last real step",
            lambda: outputs[:, 0],
        ),
        (
            "that is the mean over the real steps: the final state is one step, the last real one",
            lambda: (outputs * weights).sum(1) / weights.sum(1),
        ),
        (
            "that is the sum over the real steps: the final state is one step, the last real one",
            lambda: (outputs * weights).sum(1),
        ),
        (
            "that is the mean over all T steps, padding included: pick one step per sequence",
            lambda: outputs.mean(1),
        ),
    ]


def _tensor_problem(value, shape):
    if value is None:
        return "returned None, expected a tensor", "is the return statement missing?"
    if not isinstance(value, torch.Tensor):
        return f"returned {type(value).__name__}, expected a tensor of shape {shape}", None
    if tuple(value.shape) != shape:
        hint = None
        if tuple(value.shape) == (shape[0], 1, shape[1]):
            hint = "index the step with a tensor of indices, not a slice, or squeeze it out"
        return f"returned shape {tuple(value.shape)}, expected (N, H) = {shape}", hint
    if value.dtype != torch.float64:
        return (
            f"returned dtype {value.dtype}, expected float64 (the dtype of outputs)",
            "select from outputs; do not build a new tensor of another dtype",
        )
    if not bool(torch.isfinite(value).all()):
        return "returned NaN or infinite values", "a division by a count of 0?"
    return None, None


def check_final_states(fn):
    """Check ``final_states(outputs, mask) -> (N, H)``, each row's state at its last real step.

    ``outputs`` is a float64 tensor ``(N, T, H)``, ``mask`` a bool tensor
    ``(N, T)``, ``True`` at the first ``lengths[n]`` steps of row n. The
    function must return ``outputs[n, lengths[n] - 1]`` for every n, as a
    float64 tensor ``(N, H)``, without modifying its inputs.

    Raises:
        CheckFailed: if any test fails; its message lists the failures.
    """
    report = start_check("check_final_states", fn=fn)
    label = function_label(fn, "final_states")
    for seed, lengths_, T, H, title in _CASES:
        report.start_case(title)
        outputs, mask, lengths = _inputs(seed, lengths_, T, H)
        given = dict(outputs=outputs.clone(), mask=mask.clone())
        try:
            value = fn(*given.values())
        except Exception as error:
            report_exception(
                report,
                label,
                error,
                lambda message: (
                    "the last real step of a sequence of length L has index L - 1; L itself is past "
                    "its end (and past the tensor for a full-length row)"
                    if "out of bounds" in message
                    else None
                ),
            )
            continue
        if not (torch.equal(given["outputs"], outputs) and torch.equal(given["mask"], mask)):
            report.fail(
                f"{label} modified its inputs in place",
                hint="select into a new tensor; the caller still needs outputs and mask",
            )
        else:
            report.ok(f"{label} runs and leaves its inputs unchanged")
        problem, hint = _tensor_problem(value, (len(lengths_), H))
        if problem:
            report.fail(f"{label} {problem}", hint=hint)
            continue
        report.ok(f"{label} returns a float64 tensor of shape (N, H) = {(len(lengths_), H)}")
        want = outputs[torch.arange(len(lengths_)), lengths - 1]
        wrong_rows = [
            n
            for n in range(len(lengths_))
            if not torch.allclose(value[n], want[n], rtol=0, atol=1e-12)
        ]
        if not wrong_rows:
            report.ok("every row is the state at its sequence's last real step")
            continue
        hint = next(
            (
                variant_hint
                for variant_hint, compute in _variants(outputs, mask, lengths)
                if torch.allclose(value, compute(), rtol=0, atol=1e-12)
            ),
            None,
        )
        described = ", ".join(f"row {n} (length {lengths_[n]})" for n in wrong_rows)
        report.fail(
            f"{len(wrong_rows)} of {len(lengths_)} rows differ from the state at the last "
            f"real step: {described}",
            hint=hint,
        )
    return report.finish()
