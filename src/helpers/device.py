"""Choosing the device a chapter computes on.

Chapters call :func:`get_device` once and pass the result explicitly to every
tensor and module they create; nothing in :mod:`helpers` moves data behind the
caller's back.
"""

import os

import torch

#: Environment variable that overrides the automatic choice, for example
#: ``HELPERS_DEVICE=cpu`` to time a chapter on the CPU of a GPU machine.
DEVICE_ENV_VAR = "HELPERS_DEVICE"


def _mps_available() -> bool:
    mps = getattr(torch.backends, "mps", None)
    return bool(mps is not None and mps.is_available())


def get_device() -> torch.device:
    """Return the best available device: CUDA, then Apple's MPS, then the CPU.

    If the environment variable ``HELPERS_DEVICE`` is set (to ``"cpu"``,
    ``"cuda"``, ``"cuda:1"``, ``"mps"``, ...), that device is returned instead,
    after checking that it exists on this machine.

    Returns:
        torch.device: the device to put tensors and modules on.

    Raises:
        ValueError: ``HELPERS_DEVICE`` is not a device name torch understands,
            or names a device this machine does not have.
    """
    requested = os.environ.get(DEVICE_ENV_VAR, "").strip()
    if not requested:
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")

    try:
        device = torch.device(requested)
    except RuntimeError:
        raise ValueError(
            f"{DEVICE_ENV_VAR}={requested!r} is not a device name; "
            "expected one of 'cpu', 'cuda', 'cuda:N' or 'mps'"
        ) from None
    if device.type == "cuda":
        available = torch.cuda.device_count() if torch.cuda.is_available() else 0
        index = 0 if device.index is None else device.index
        if index >= available:
            raise ValueError(
                f"{DEVICE_ENV_VAR}={requested!r} asks for CUDA device {index}, "
                f"but this machine has {available} CUDA device(s); "
                "unset it to let get_device() choose"
            )
    elif device.type == "mps":
        if not _mps_available():
            raise ValueError(
                f"{DEVICE_ENV_VAR}={requested!r} asks for Apple's MPS, which is "
                "not available here; unset it to let get_device() choose"
            )
    elif device.type != "cpu":
        raise ValueError(
            f"{DEVICE_ENV_VAR}={requested!r} names a {device.type!r} device; "
            "expected one of 'cpu', 'cuda', 'cuda:N' or 'mps'"
        )
    return device


def supports_float64(device) -> bool:
    """Whether ``device`` computes in float64: the CPU and CUDA do, Apple's MPS does not.

    Chapters check their code against the references in float64; on a device
    without it they make the check on the CPU instead (:func:`float64_device`).
    """
    return torch.device(device).type != "mps"


def float64_device(device) -> torch.device:
    """``device`` if it computes in float64, else the CPU (Apple's MPS has no float64).

    Use it for the float64 checks of a chapter, so they run on every device::

        check_device = helpers.float64_device(device)
        model64 = model.to(check_device, torch.float64)
    """
    device = torch.device(device)
    return device if supports_float64(device) else torch.device("cpu")
