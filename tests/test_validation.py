"""Tests for the shared input checks in helpers.validation."""

import numpy as np
import pytest

from helpers.validation import check_seed


@pytest.mark.parametrize("value", [0, 1, 2**32 - 1, np.int64(7), np.uint32(2**32 - 1), np.int8(0)])
def test_check_seed_accepts_ints_in_range_and_returns_int(value):
    result = check_seed("seed", value)
    assert result == int(value)
    assert type(result) is int


@pytest.mark.parametrize(
    "value, received",
    [
        (True, "bool True"),
        (False, "bool False"),
        (1.0, "float 1.0"),
        ("3", "str '3'"),
        (None, "NoneType None"),
        (np.float64(2.0), "float64"),
    ],
)
def test_check_seed_refuses_non_integers_with_type_error(value, received):
    with pytest.raises(TypeError, match=r"^my_seed must be an int in \[0, 2\*\*32\), got ") as info:
        check_seed("my_seed", value)
    assert received in str(info.value)


@pytest.mark.parametrize(
    "value, received", [(-1, "int -1"), (2**32, "int 4294967296"), (np.int64(-5), "int64")]
)
def test_check_seed_refuses_out_of_range_with_value_error(value, received):
    with pytest.raises(
        ValueError, match=r"^my_seed must be an int in \[0, 2\*\*32\), got "
    ) as info:
        check_seed("my_seed", value)
    assert received in str(info.value)


def test_check_float_array_names_the_argument_and_the_fix():
    from helpers.validation import check_float_array

    x = np.zeros(3)
    assert check_float_array("x", x) is x
    with pytest.raises(TypeError, match=r"^x must be a numpy array, got list \[1.0\]"):
        check_float_array("x", [1.0])
    with pytest.raises(
        TypeError,
        match=r"^x must hold floats \(float32 or float64\), got dtype "
        r"int64; convert it with x.astype\(np.float64\)$",
    ):
        check_float_array("x", np.zeros(3, dtype=np.int64))
    with pytest.raises(TypeError, match=r"must hold floats \(float64 recommended\)"):
        check_float_array("x", np.zeros(3, dtype=np.int64), dtypes="float64 recommended")
