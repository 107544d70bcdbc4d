"""Central differences and relative error, checked on functions whose derivatives are known."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from helpers.gradcheck import numerical_gradient, rel_error


def test_gradient_of_a_scalar_function():
    x = np.random.default_rng(0).standard_normal((3, 4))
    numeric = numerical_gradient(lambda v: np.sum(v**3), x)
    assert numeric.shape == x.shape and numeric.dtype == np.float64
    # Central differences of x**3 are exactly 3 x**2 + h**2: an error of 1e-10 per entry.
    assert np.max(np.abs(numeric - 3 * x**2)) < 2e-10
    assert rel_error(numeric, 3 * x**2) < 1e-7


def test_gradient_of_a_matrix_product_with_upstream_gradient():
    rng = np.random.default_rng(1)
    A, B = rng.standard_normal((4, 3)), rng.standard_normal((3, 5))
    dout = rng.standard_normal((4, 5))
    # d/dA sum((A B) * dout) = dout B^T and d/dB = A^T dout.
    assert rel_error(numerical_gradient(lambda a: a @ B, A, dout), dout @ B.T) < 1e-8
    assert rel_error(numerical_gradient(lambda b: A @ b, B, dout), A.T @ dout) < 1e-8


def test_gradient_of_elementwise_function_with_upstream_gradient():
    rng = np.random.default_rng(2)
    x, dout = rng.standard_normal(7), rng.standard_normal(7)
    assert rel_error(numerical_gradient(np.sin, x, dout), np.cos(x) * dout) < 1e-8


def test_zero_dimensional_x_and_scalar_kinds():
    x = np.array(2.0)
    assert numerical_gradient(lambda v: float(v) ** 2, x) == pytest.approx(4.0, rel=1e-9)
    assert numerical_gradient(lambda v: np.float32(1.0), np.ones(2)).tolist() == [0.0, 0.0]
    assert numerical_gradient(lambda v: np.array(v.sum()), np.ones(2)) == pytest.approx([1.0, 1.0])


def test_function_returning_its_argument_is_handled():
    # f returns x itself, which the next perturbation overwrites: the output must be copied.
    x = np.arange(3.0)
    dout = np.array([1.0, 2.0, 3.0])
    assert numerical_gradient(lambda v: v, x, dout) == pytest.approx(dout, rel=1e-9)
    assert numerical_gradient(lambda v: v[1:2], x, np.ones(1)) == pytest.approx([0, 1, 0])


@settings(max_examples=30, deadline=None)
@given(hnp.arrays(np.float64, hnp.array_shapes(max_dims=3, max_side=4), elements=st.floats(-3, 3)))
def test_x_is_restored_exactly(x):
    before = x.copy()
    numerical_gradient(lambda v: np.sum(np.exp(v)), x)
    np.testing.assert_array_equal(x, before)


def test_x_is_restored_when_f_raises():
    x = np.array([0.1, 0.2, 0.3])
    before = x.copy()
    calls = []

    def f(v):
        calls.append(v.copy())
        if len(calls) == 4:
            raise RuntimeError("boom")
        return float(v.sum())

    with pytest.raises(RuntimeError, match="boom"):
        numerical_gradient(f, x)
    np.testing.assert_array_equal(x, before)
    # The failing call saw the second entry perturbed downwards.
    assert calls[3][1] == pytest.approx(0.2 - 1e-5)


def test_x_is_restored_when_f_returns_the_wrong_thing():
    x = np.array([0.5, -0.5])
    before = x.copy()
    with pytest.raises(ValueError, match="f\\(x\\) must return a real scalar when df is None"):
        numerical_gradient(lambda v: v * 2, x)
    np.testing.assert_array_equal(x, before)
    with pytest.raises(ValueError, match=r"shape \(2,\), but df has shape \(3,\)"):
        numerical_gradient(lambda v: v * 2, x, np.ones(3))
    np.testing.assert_array_equal(x, before)


def test_bad_arguments_are_refused():
    with pytest.raises(TypeError, match="x must hold floats.*int64"):
        numerical_gradient(np.sum, np.arange(3))
    with pytest.raises(TypeError, match="x must be a numpy array"):
        numerical_gradient(np.sum, [1.0, 2.0])
    with pytest.raises(TypeError, match="df must hold floats"):
        numerical_gradient(lambda v: v, np.ones(2), np.ones(2, dtype=int))
    with pytest.raises(ValueError, match="h must be a finite number > 0"):
        numerical_gradient(np.sum, np.ones(2), h=0.0)
    read_only = np.ones(2)
    read_only.flags.writeable = False
    with pytest.raises(ValueError, match="x is read-only"):
        numerical_gradient(np.sum, read_only)


def test_rel_error_basics():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    assert rel_error(a, a.copy()) == 0.0
    assert rel_error(a, b) == rel_error(b, a)
    assert rel_error(np.array([1.0, 2.0]), np.array([1.0, 2.2])) == pytest.approx(0.2 / 4.2)
    # Both zero: the floor of 1e-8 avoids 0 / 0.
    assert rel_error(np.zeros(3), np.zeros(3)) == 0.0
    assert rel_error(np.array([0.0]), np.array([1e-12])) == pytest.approx(1e-4)
    assert rel_error(1.0, 1.0) == 0.0
    assert rel_error(np.arange(3), np.arange(3.0)) == 0.0
    assert np.isnan(rel_error(np.array([np.nan]), np.array([1.0])))
    assert rel_error(np.zeros((0, 2)), np.zeros((0, 2))) == 0.0


def test_rel_error_refuses_mismatched_or_non_numeric_inputs():
    with pytest.raises(ValueError, match=r"same shape, got \(3,\) and \(3, 1\)"):
        rel_error(np.zeros(3), np.zeros((3, 1)))
    with pytest.raises(TypeError, match="b must be a numpy array or a real number"):
        rel_error(np.zeros(2), [0.0, 0.0])
    with pytest.raises(TypeError, match="a must hold integers or floats"):
        rel_error(np.zeros(2, dtype=bool), np.zeros(2))
