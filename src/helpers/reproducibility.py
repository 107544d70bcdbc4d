"""One seed for every random number generator a chapter touches."""

import random

import numpy as np
import torch

_MAX_SEED = 2**32 - 1  # numpy's legacy global generator accepts no more


def seed_everything(seed: int) -> np.random.Generator:
    """Seed Python's ``random``, numpy's global generator and torch (CPU and all GPUs).

    Chapters call this once at the top so that every printed number is the same
    on every run. Code that needs its own stream should still take a ``seed`` or
    a ``torch.Generator``; the returned numpy generator is a convenient one.

    Args:
        seed: an integer in ``[0, 2**32 - 1]``.

    Returns:
        numpy.random.Generator: a fresh generator seeded with ``seed``.

    Raises:
        TypeError: ``seed`` is not an integer (``bool`` is refused too).
        ValueError: ``seed`` is outside ``[0, 2**32 - 1]``.
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(
            f"seed must be an int, got {type(seed).__name__} {seed!r}"
        )
    seed = int(seed)
    if not 0 <= seed <= _MAX_SEED:
        raise ValueError(f"seed must be in [0, 2**32 - 1], got {seed}")
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)  # also seeds every CUDA device
    return np.random.default_rng(seed)
