"""Numerical gradients by central differences, to check backward passes written by hand.

A backward pass is a derivation turned into code, and both can go wrong. The
check is to nudge each input entry by a small ``h`` in both directions and see
how the output moves::

    df/dx_i  ~  (f(x + h e_i) - f(x - h e_i)) / (2 h)

The error of this estimate shrinks like ``h**2``, so with ``h = 1e-5`` in
float64 it agrees with an exact gradient to about 7 to 10 significant digits;
:func:`rel_error` measures the agreement (CS231n's convention).
"""

import numbers

import numpy as np

from helpers.validation import _describe, check_float_array, check_positive_number

__all__ = ["numerical_gradient", "rel_error"]


def _check_float_array(name, value):
    return check_float_array(name, value, dtypes="float64 recommended")


def _scalar_output(value):
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value[()]
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise ValueError(
            f"f(x) must return a real scalar when df is None, got {_describe(value)}; "
            "pass the upstream gradient df to check a function with an array output"
        )
    return value


def _array_output(value, df):
    output = np.array(value, copy=True)
    if output.shape != df.shape:
        raise ValueError(
            f"f(x) returned an output of shape {output.shape}, but df has shape {df.shape}; "
            "df is the upstream gradient on f's output and must have its shape"
        )
    return output


def numerical_gradient(f, x, df=None, h=1e-5):
    """Estimate the gradient of ``f`` at ``x`` by central differences.

    Each entry ``x[i]`` is set to ``x[i] + h`` and then ``x[i] - h`` *in place*,
    ``f(x)`` is evaluated both times, and ``x[i]`` is put back exactly as it
    was, also when ``f`` raises. So ``f`` should read ``x`` when called (a
    closure over the array, or ``x`` itself as argument), not a copy made before.

    Use float64: the estimate divides a difference of two nearly equal values of
    ``f`` by ``2 h``, so the rounding error of ``f`` is multiplied by about
    ``1 / h = 1e5``. In float64 (15 to 16 digits) that leaves about 10 correct
    digits; in float32 (7 digits) only about 2, too few to tell a right
    gradient from a slightly wrong one. Setting ``x[i] + h`` also rounds: in
    float32 the step taken is not ``h``.

    Args:
        f: function of one argument, called as ``f(x)``. Without ``df`` it must
            return a scalar; with ``df`` an array of ``df``'s shape.
        x: point at which to differentiate, a floating-point numpy array of any
            shape. Modified during the call and restored before it returns.
        df: optional upstream gradient, a floating-point numpy array of the shape
            of ``f(x)``. Then the result is the gradient of ``sum(f(x) * df)``,
            which is what a layer's backward pass returns when given ``df``.
        h: the step, a number > 0.

    Returns:
        numpy.ndarray: the estimated gradient, of ``x``'s shape and dtype.

    Raises:
        TypeError: ``x`` or ``df`` is not a floating-point numpy array, or ``h``
            is not a number.
        ValueError: ``h`` is not > 0, ``x`` is read-only, ``f(x)`` is not a
            scalar (without ``df``) or does not have ``df``'s shape (with ``df``).
    """
    x = _check_float_array("x", x)
    if df is not None:
        df = _check_float_array("df", df)
    h = check_positive_number("h", h)
    if not x.flags.writeable:
        raise ValueError("x is read-only; numerical_gradient changes its entries in place")

    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        original = x[i]
        try:
            x[i] = original + h
            f_plus = f(x)
            # Copied before f runs again: f may return an array it later overwrites.
            f_plus = _scalar_output(f_plus) if df is None else _array_output(f_plus, df)
            x[i] = original - h
            f_minus = f(x)
            f_minus = _scalar_output(f_minus) if df is None else _array_output(f_minus, df)
        finally:
            x[i] = original
        if df is None:
            grad[i] = (f_plus - f_minus) / (2 * h)
        else:
            grad[i] = np.sum((f_plus - f_minus) * df) / (2 * h)
    return grad


def rel_error(a, b):
    """The largest relative error between two arrays, as CS231n defines it.

    ``max over entries of |a - b| / max(1e-8, |a| + |b|)``. Dividing by the
    sizes of both makes it symmetric and scale-free; the floor of ``1e-8``
    keeps entries where both are (nearly) zero from dividing by zero. A correct
    backward pass checked in float64 typically gives 1e-7 or less; 1e-2 or
    more means a bug. NaN anywhere gives NaN, so a check never passes by accident.

    Args:
        a, b: numpy arrays (or real numbers) of the same shape, integer or float.

    Returns:
        float: the largest relative error, computed in float64 (or a wider float if
        given one); 0.0 for empty arrays.

    Raises:
        TypeError: ``a`` or ``b`` is neither a numpy array of numbers nor a real number.
        ValueError: ``a`` and ``b`` have different shapes.
    """
    arrays = []
    for name, value in (("a", a), ("b", b)):
        if isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_)):
            value = np.asarray(value)
        if not isinstance(value, np.ndarray):
            raise TypeError(
                f"{name} must be a numpy array or a real number, got {_describe(value)}"
            )
        if not (np.issubdtype(value.dtype, np.integer) or np.issubdtype(value.dtype, np.floating)):
            raise TypeError(f"{name} must hold integers or floats, got dtype {value.dtype}")
        # At least float64, so integer differences cannot overflow.
        arrays.append(value.astype(np.promote_types(value.dtype, np.float64)))
    a, b = arrays
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same shape, got {a.shape} and {b.shape}")
    if a.size == 0:
        return 0.0
    return float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))))
