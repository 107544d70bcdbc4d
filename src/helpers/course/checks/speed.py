"""The check of the "Making RNNs fast" exercise: batches of sequences of similar length.

``length_batches(lengths, batch_size)`` gets N sequence lengths and returns
``ceil(N / batch_size)`` batches (lists of indices into ``lengths``) that
together hold every index once, at most ``batch_size`` each, padded as little
as sorting by length and cutting pads (:func:`helpers.text.length_batches`,
or the same cut from the longest end, which puts the smaller batch among the
shortest sequences instead: either passes). The
check names the classic mistakes: lengths returned instead of indices, a
missing last (smaller) batch, an index twice, batches cut before sorting, or
sorted by index rather than by length.
"""

import math
import random

from helpers.course.feedback import function_label, report_exception, start_check
from helpers.text import length_batches as _reference
from helpers.text import padded_steps

__all__ = ["check_length_batches"]


def _cases():
    yield "10 sequences of lengths 1 to 9, batches of 4", [5, 1, 9, 3, 3, 7, 2, 8, 4, 6], 4
    rng = random.Random(0)
    yield (
        "37 sequences of 1 to 100 steps, batches of 8 (the last batch is smaller)",
        [rng.randint(1, 100) for _ in range(37)],
        8,
    )
    yield "6 sequences, all of 12 steps, batches of 4", [12] * 6, 4
    yield "3 sequences and batches of 5: one batch", [4, 2, 9], 5


def _as_index_lists(value):
    """``value`` as a list of lists of ints, or None when it is not one."""
    if not isinstance(value, list | tuple):
        return None
    batches = []
    for batch in value:
        if hasattr(batch, "tolist"):
            batch = batch.tolist()
        if not isinstance(batch, list | tuple) or not all(
            isinstance(i, int) and not isinstance(i, bool) for i in batch
        ):
            return None
        batches.append(list(batch))
    return batches


def check_length_batches(fn):
    """Check ``length_batches(lengths, batch_size) -> list of lists of indices``.

    Raises:
        CheckFailed: if any test fails; its message lists the failures.
    """
    report = start_check("check_length_batches", fn=fn)
    label = function_label(fn, "length_batches")
    for title, lengths, batch_size in _cases():
        report.start_case(title)
        given = list(lengths)
        try:
            value = fn(given, batch_size)
        except Exception as error:
            report_exception(report, label, error, lambda message: None)
            continue
        if given != lengths:
            report.fail(
                f"{label} modified lengths in place",
                hint="sort a list of indices (sorted(range(N), key=...)), not lengths",
            )
            continue
        report.ok(f"{label} runs and leaves lengths unchanged")
        batches = _as_index_lists(value)
        if batches is None:
            report.fail(
                f"{label} returned {type(value).__name__}, expected a list of lists of int indices",
                hint="is the return statement missing?" if value is None else None,
            )
            continue
        N, expected = len(lengths), math.ceil(len(lengths) / batch_size)
        flat = [i for batch in batches for i in batch]
        if sorted(flat) == sorted(lengths) and sorted(flat) != list(range(N)):
            report.fail(
                "the batches hold the lengths themselves",
                hint="return indices into lengths, so that the caller can pick the "
                "sequences: sort range(N) by lengths[i]",
            )
            continue
        outside = sorted({i for i in flat if not 0 <= i < N})
        if outside:
            report.fail(f"indices outside 0 .. {N - 1}: {outside[:5]}")
            continue
        missing = sorted(set(range(N)) - set(flat))
        repeated = sorted({i for i in flat if flat.count(i) > 1})
        if missing or repeated:
            report.fail(
                "every index must appear in exactly one batch: "
                + "; ".join(
                    part
                    for part in (
                        f"missing {missing[:8]}" if missing else "",
                        f"more than once {repeated[:8]}" if repeated else "",
                    )
                    if part
                ),
                hint="the last batch may be smaller than batch_size; keep it"
                if missing and len(flat) == N - N % batch_size
                else None,
            )
            continue
        report.ok(f"every index 0 .. {N - 1} appears in exactly one batch")
        sizes = [len(batch) for batch in batches]
        if not all(1 <= size <= batch_size for size in sizes) or len(batches) != expected:
            report.fail(
                f"expected {expected} non-empty batches of at most {batch_size}, got "
                f"batches of {sizes}"
            )
            continue
        report.ok(f"{expected} batches of at most {batch_size} ({sizes})")
        # Either sorted cut passes: from the short end (the reference) or from the long end.
        longest_first = sorted(range(N), key=lambda i: -lengths[i])
        from_long_end = [longest_first[k : k + batch_size] for k in range(0, N, batch_size)]
        steps = padded_steps(lengths, batches)
        best = max(
            padded_steps(lengths, _reference(lengths, batch_size)),
            padded_steps(lengths, from_long_end),
        )
        if steps > best:
            by_index = padded_steps(
                lengths, [list(range(N))[k : k + batch_size] for k in range(0, N, batch_size)]
            )
            report.fail(
                f"the batches compute {steps} padded steps for {sum(lengths)} real ones; "
                f"sorting by length first gives {best}",
                hint="these are the batches in the original order: sort the indices by "
                "their length before cutting"
                if steps == by_index
                else "sort all the indices by length first, then cut consecutive runs",
            )
            continue
        report.ok(
            f"{steps} padded steps for {sum(lengths)} real ones, as few as sorting by length gives"
        )
    return report.finish()
