import pytest
import torch

import helpers
from helpers.device import DEVICE_ENV_VAR


def test_without_override_picks_the_best_available_device(monkeypatch):
    monkeypatch.delenv(DEVICE_ENV_VAR, raising=False)
    if torch.cuda.is_available():
        expected = "cuda"
    elif torch.backends.mps.is_available():
        expected = "mps"
    else:
        expected = "cpu"
    assert helpers.get_device().type == expected


def test_cuda_is_preferred_over_mps_and_cpu(monkeypatch):
    # No GPU on the CI machines, so the preference order is exercised by
    # making torch report the devices present.
    monkeypatch.delenv(DEVICE_ENV_VAR, raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert helpers.get_device() == torch.device("cuda")


def test_mps_is_preferred_over_cpu(monkeypatch):
    monkeypatch.delenv(DEVICE_ENV_VAR, raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert helpers.get_device() == torch.device("mps")


def test_environment_variable_overrides_the_choice(monkeypatch):
    monkeypatch.setenv(DEVICE_ENV_VAR, "cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert helpers.get_device() == torch.device("cpu")


def test_device_works_for_tensors(monkeypatch):
    monkeypatch.delenv(DEVICE_ENV_VAR, raising=False)
    device = helpers.get_device()
    assert torch.ones(2, device=device).device.type == device.type


@pytest.mark.parametrize("value", ["tpu", "gpu", "not a device"])
def test_unknown_device_name_is_a_clear_error(monkeypatch, value):
    monkeypatch.setenv(DEVICE_ENV_VAR, value)
    with pytest.raises(
        ValueError, match=rf"{DEVICE_ENV_VAR}='{value}'.*expected one of 'cpu', 'cuda'"
    ):
        helpers.get_device()


def test_missing_cuda_device_is_a_clear_error(monkeypatch):
    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    monkeypatch.setenv(DEVICE_ENV_VAR, f"cuda:{count}")
    with pytest.raises(
        ValueError, match=rf"CUDA device {count}, but this machine has {count} CUDA"
    ):
        helpers.get_device()


def test_missing_mps_is_a_clear_error(monkeypatch):
    monkeypatch.setenv(DEVICE_ENV_VAR, "mps")
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    with pytest.raises(ValueError, match="MPS, which is not available"):
        helpers.get_device()


@pytest.mark.parametrize(
    "name, supported, fallback",
    [
        ("cpu", True, "cpu"),
        ("cuda", True, "cuda"),
        ("cuda:1", True, "cuda:1"),
        ("mps", False, "cpu"),
    ],
)
def test_float64_checks_fall_back_to_the_cpu_only_on_mps(name, supported, fallback):
    from helpers.device import float64_device, supports_float64

    assert supports_float64(name) is supported
    assert float64_device(torch.device(name)) == torch.device(fallback)
