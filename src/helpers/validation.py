"""Input checks that turn a wrong argument into a message a student can act on.

Every public function in :mod:`helpers` checks its arguments before computing,
so a wrong shape says *which argument*, *what it got* and *what was expected*,
instead of ending in a broadcasting error three frames deep. Sizes are named
after the symbols of the book (``N`` batch, ``T`` length, ``D`` input, ``H``
hidden), and a :class:`Dims` object remembers which argument fixed each size::

    dims = Dims()
    x = dims.array("x", x, ("N", "T", "D"))
    Wx = dims.array("Wx", Wx, ("D", "H"))
    # ValueError: Wx has shape (5, 3), expected (D, H) = (4, H):
    #             D = 4 comes from x, but Wx has 5 there
"""

import math
import numbers

import numpy as np
import torch

__all__ = [
    "Dims",
    "check_positive_int",
    "check_positive_number",
    "check_probability",
    "check_choice",
    "check_float_array",
    "check_lengths",
    "check_same_dtype_and_device",
    "check_seed",
]


def _describe(value):
    if isinstance(value, np.ndarray):
        return f"a numpy array of dtype {value.dtype} and shape {value.shape}"
    if isinstance(value, torch.Tensor):
        return f"a tensor of dtype {value.dtype} and shape {tuple(value.shape)}"
    return f"{type(value).__name__} {value!r}"[:120]


def _check_numpy(name, value, kind, of_what, holds, advice):
    """Return ``value`` if it is a numpy array with a dtype of ``kind``, else raise."""
    if not isinstance(value, np.ndarray):
        raise TypeError(f"{name} must be a numpy array{of_what}, got {_describe(value)}")
    if not np.issubdtype(value.dtype, kind):
        raise TypeError(f"{name} must hold {holds}, got dtype {value.dtype}; {advice}")
    return value


def check_float_array(name, value, *, dtypes="float32 or float64"):
    """Return ``value`` if it is a numpy array of floats, else raise ``TypeError``.

    ``dtypes`` says in the message which float dtypes suit the caller.
    """
    return _check_numpy(
        name,
        value,
        np.floating,
        "",
        f"floats ({dtypes})",
        f"convert it with {name}.astype(np.float64)",
    )


class Dims:
    """Named sizes shared by the arguments of one call.

    The first argument that has a dimension named ``"H"`` fixes ``H``; every
    later argument must agree or gets an error that names both arguments.
    Integer entries in a spec are fixed sizes (``("N", 2)``).
    """

    def __init__(self, **known):
        self.sizes = dict(known)
        self.source = {name: "the arguments" for name in known}

    def __getitem__(self, name):
        return self.sizes[name]

    def fix(self, name, size, source):
        """Fix size ``name`` before any argument is checked; return ``self``.

        ``source`` says where the size comes from, for the error message: after
        ``dims.fix("D", 4, "the RNN's input_size")``, an input with 5 features
        gets "D = 4 comes from the RNN's input_size, but input has 5 there".
        """
        self.sizes[name] = size
        self.source[name] = source
        return self

    def array(self, name, value, spec, *, finite=False, allow_empty=()):
        """Check a floating-point numpy array against ``spec`` and return it."""
        check_float_array(name, value)
        self._check_shape(name, tuple(value.shape), spec, allow_empty)
        if finite and not np.all(np.isfinite(value)):
            raise ValueError(f"{name} contains NaN or infinite values")
        return value

    def tensor(self, name, value, spec, *, floating=True, allow_empty=()):
        """Check a torch tensor against ``spec`` and return it."""
        if not isinstance(value, torch.Tensor):
            raise TypeError(f"{name} must be a torch.Tensor, got {_describe(value)}")
        if floating and not value.is_floating_point():
            raise TypeError(
                f"{name} must be a floating-point tensor, got dtype {value.dtype}; "
                f"convert it with {name}.float() or {name}.double()"
            )
        self._check_shape(name, tuple(value.shape), spec, allow_empty)
        return value

    def integers(self, name, value, spec, *, allow_empty=()):
        """Check an integer numpy array (class labels, token ids) against ``spec`` and return it.

        ``bool`` arrays are refused: a label array of True/False is almost
        always a mask passed in the wrong place.
        """
        _check_numpy(
            name,
            value,
            np.integer,
            " of integers",
            "integers (for example int64)",
            f"if it holds whole numbers, convert it with {name}.astype(np.int64)",
        )
        self._check_shape(name, tuple(value.shape), spec, allow_empty)
        return value

    def mask(self, name, value, spec, *, allow_empty=()):
        """Check a mask against ``spec`` and return it as a bool array.

        A mask says which entries count: True (or 1) counts, False (or 0) does
        not. Bool arrays are returned as they are; integer or float arrays must
        hold only 0 and 1 and come back as ``value != 0``.
        """
        if not isinstance(value, np.ndarray):
            raise TypeError(f"{name} must be a numpy array of bools, got {_describe(value)}")
        numeric = np.issubdtype(value.dtype, np.integer) or np.issubdtype(value.dtype, np.floating)
        if value.dtype != np.bool_ and not numeric:
            raise TypeError(f"{name} must hold bools (or 0 and 1), got dtype {value.dtype}")
        self._check_shape(name, tuple(value.shape), spec, allow_empty)
        if value.dtype == np.bool_:
            return value
        not_binary = (value != 0) & (value != 1)
        if not_binary.any():
            position = tuple(int(i) for i in np.argwhere(not_binary)[0])
            raise ValueError(
                f"{name} must hold only 0 and 1 (or False and True), "
                f"got {value[position].item()!r} at {name}[{', '.join(map(str, position))}]"
            )
        return value != 0

    def _check_shape(self, name, shape, spec, allow_empty):
        expected = "(" + ", ".join(str(s) for s in spec) + ")"
        if len(shape) != len(spec):
            raise ValueError(
                f"{name} must have {len(spec)} dimensions {expected}, "
                f"got {len(shape)} dimensions with shape {shape}"
            )
        for axis, (size, want) in enumerate(zip(shape, spec)):
            if isinstance(want, numbers.Integral):
                if size != want:
                    raise ValueError(
                        f"{name} has shape {shape}, expected {expected}: "
                        f"dimension {axis} must be {want}, got {size}"
                    )
                continue
            if size == 0 and want not in allow_empty:
                raise ValueError(
                    f"{name} has shape {shape}, expected {expected} with {want} >= 1: "
                    f"{want} = 0 (an empty {_WHAT.get(want, 'dimension')}) is not allowed"
                )
            if want in self.sizes and self.sizes[want] != size:
                raise ValueError(
                    f"{name} has shape {shape}, expected {expected}: {want} = "
                    f"{self.sizes[want]} comes from {self.source[want]}, "
                    f"but {name} has {size} there"
                )
            if want not in self.sizes:
                self.sizes[want] = size
                self.source[want] = name


_WHAT = {"N": "batch", "T": "sequence", "D": "input", "H": "hidden state", "C": "class set"}


def check_positive_int(name, value, *, minimum=1):
    """Return ``value`` if it is an int of at least ``minimum``, else raise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int >= {minimum}, got {_describe(value)}")
    if value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value}")
    return int(value)


def check_seed(name, value):
    """Return ``value`` as an ``int`` if it is a valid seed, else raise.

    A seed is a Python int or a numpy integer (not a bool) with
    ``0 <= value < 2**32``, the range every generator in the book accepts
    (``random``, numpy and torch).

    Raises:
        TypeError: ``value`` is not an integer (or is a bool).
        ValueError: ``value`` is outside ``[0, 2**32)``.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an int in [0, 2**32), got {_describe(value)}")
    if not 0 <= value < 2**32:
        raise ValueError(f"{name} must be an int in [0, 2**32), got {_describe(value)}")
    return int(value)


def check_positive_number(name, value):
    """Return ``value`` as a float if it is a finite real number > 0, else raise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number > 0, got {_describe(value)}")
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a finite number > 0, got {value}")
    return float(value)


def check_probability(name, value):
    """Return ``value`` if it is a number in [0, 1], else raise."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a number in [0, 1], got {_describe(value)}")
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must be in [0, 1], got {value}")
    return float(value)


def check_choice(name, value, choices):
    """Return ``value`` if it is one of ``choices``, else raise.

    A bool matches only a bool: ``1`` or ``1.0`` is not the choice ``True``.
    """
    if not any(
        value == choice and isinstance(value, bool) == isinstance(choice, bool)
        for choice in choices
    ):
        options = ", ".join(repr(c) for c in choices)
        raise ValueError(f"{name} must be one of {options}; got {value!r}")
    return value


def check_lengths(name, lengths, N, T, *, symbol="T"):
    """Return ``lengths`` if it is an integer tensor ``(N,)`` of values in 1..T, else raise.

    ``symbol`` names T in the message (``"S"`` for a source's length, say).
    """
    if (
        not isinstance(lengths, torch.Tensor)
        or lengths.shape != (N,)
        or lengths.dtype.is_floating_point
        or lengths.dtype == torch.bool
    ):
        raise ValueError(
            f"{name} must be an integer tensor of shape (N,) = ({N},), got {_describe(lengths)}"
        )
    if N and (int(lengths.min()) < 1 or int(lengths.max()) > T):
        raise ValueError(
            f"{name} must be between 1 and {symbol} = {T}, got "
            f"{int(lengths.min())} to {int(lengths.max())}"
        )
    return lengths


def check_same_dtype_and_device(name, value, like, like_name):
    """Return tensor ``value`` if it has the device and dtype of tensor ``like``, else raise.

    Nothing in :mod:`helpers` converts or moves a tensor behind the caller's
    back, so the message says how the caller can do it (``like_name`` says what
    ``like`` is, for example "the parameters of RNN").
    """
    if value.device != like.device:
        raise ValueError(
            f"{name} is on device {value.device}, expected {like.device} (the device of "
            f"{like_name}); move one to the other, for example {name}.to({str(like.device)!r})"
        )
    if value.dtype != like.dtype:
        raise TypeError(
            f"{name} has dtype {value.dtype}, expected {like.dtype} (the dtype of "
            f"{like_name}); convert one to the other, for example {name}.to({like.dtype})"
        )
    return value
