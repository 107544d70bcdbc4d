"""One seed for every random number generator a chapter touches."""

import random

import numpy as np
import torch
from threadpoolctl import threadpool_limits

from helpers.validation import _describe, check_seed


def seed_everything(seed: int, *, threads: int | None = 1) -> np.random.Generator:
    """Seed Python's ``random``, numpy and torch (CPU and every GPU); set torch's CPU threads.

    Chapters call this once at the top so that every printed number is the same
    on every run. Code that needs its own stream should still take a ``seed`` or
    a ``torch.Generator``; the returned numpy generator is a convenient one.

    It is also the one place that sets how many CPU threads torch, numpy's BLAS
    and scikit-learn use, since every chapter calls it first: one by default. The book's models are small,
    so a second thread saves little, and on a busy machine threads that spin
    against other processes make a cell many times slower (a training cell of
    the vanishing-gradients chapter took over 900 s on two threads and 80 s on
    one under the same load). One thread also makes the arithmetic, and so the
    printed numbers, those of the committed sweeps, which run on one thread.

    Args:
        seed: an integer in ``[0, 2**32 - 1]``.
        threads: the CPU threads of torch (``torch.set_num_threads``) and of
            numpy's BLAS and scikit-learn (``threadpoolctl.threadpool_limits``),
            an int >= 1; ``None`` leaves both alone.

    Returns:
        numpy.random.Generator: a fresh generator seeded with ``seed``.

    Raises:
        TypeError: ``seed`` or ``threads`` is not an integer (``bool`` is refused too).
        ValueError: ``seed`` is outside ``[0, 2**32 - 1]``, or ``threads`` is below 1.
    """
    seed = check_seed("seed", seed)
    if threads is not None:
        if isinstance(threads, bool) or not isinstance(threads, (int, np.integer)):
            raise TypeError(f"threads must be an int >= 1 or None, got {_describe(threads)}")
        if threads < 1:
            raise ValueError(f"threads must be an int >= 1 or None, got {threads}")
        torch.set_num_threads(int(threads))
        # numpy's BLAS and scikit-learn's OpenMP pools too: their idle threads spin as
        # well (a logistic regression ran 5x slower on two BLAS threads beside one busy
        # process than on one)
        threadpool_limits(limits=int(threads))
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device
    return np.random.default_rng(seed)
