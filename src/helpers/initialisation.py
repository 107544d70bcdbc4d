"""How a vanilla RNN's recurrent matrix starts: the schemes the chapter on vanishing gradients compares.

Whether the gradient over a long gap vanishes at the start of training is
decided by the initial recurrent matrix ``W_hh`` (and the nonlinearity):

- ``"default"``: PyTorch's, every entry from U(-1/sqrt(H), 1/sqrt(H)). The
  entries have variance 1/(3H), so by the circular law the eigenvalues fill a
  disc of radius about 1/sqrt(3) = 0.58: the gradient shrinks from the first step.
- ``"orthogonal"``: a random orthogonal matrix (Saxe et al. 2014), every
  singular value 1, so a linear RNN keeps the norm of the gradient exactly.
- ``"identity"``: the identity, with zero recurrent biases, for a ReLU RNN
  (Le et al. 2015, the "IRNN"): at the start each unit copies its state forward
  and adds its input, and the gradient passes unchanged through every active unit.
- ``"radius"``: the default matrix rescaled to a chosen spectral radius, the
  echo-state network's recipe (Jaeger 2001) of a radius just below 1.

:func:`initialise_recurrent` applies a scheme to a ``torch.nn.RNN`` (or the
book's :class:`helpers.modules.RNN`); :func:`spectral_radius` and
:func:`largest_singular_value` are the two numbers that bound and describe
the gradient's growth (chapter "Vanishing and exploding gradients").
"""

import numbers

import torch
from torch import nn

from helpers import modules
from helpers.validation import _describe, check_choice

__all__ = [
    "INITIALISATIONS",
    "initialise_recurrent",
    "spectral_radius",
    "largest_singular_value",
    "power_norms",
]

#: The recurrent initialisations :func:`initialise_recurrent` knows.
INITIALISATIONS = ("default", "orthogonal", "identity", "radius")


def _matrix(name, matrix):
    if (
        not isinstance(matrix, torch.Tensor)
        or matrix.dim() != 2
        or matrix.shape[0] != matrix.shape[1]
    ):
        raise ValueError(f"{name} must be a square matrix (H, H), got {_describe(matrix)}")
    return matrix.detach()


def spectral_radius(matrix):
    """The largest absolute value of an eigenvalue of ``matrix`` (H, H), a float.

    It sets the long-run rate: ``||W^g||^(1/g)`` tends to it as ``g`` grows
    (Gelfand's formula), but for a non-normal matrix ``||W^g||`` can first
    grow far above ``radius^g``.
    """
    return torch.linalg.eigvals(_matrix("matrix", matrix).cpu().double()).abs().max().item()


def largest_singular_value(matrix):
    """The spectral norm ``||matrix||_2`` of ``matrix`` (H, H), a float: the most one step can stretch a vector."""
    return torch.linalg.matrix_norm(_matrix("matrix", matrix).cpu().double(), ord=2).item()


def power_norms(matrix, steps):
    """``[||W^0||_2, ||W^1||_2, ..., ||W^steps||_2]`` of ``matrix`` (H, H), in float64.

    The norm of a gradient that crosses ``g`` steps of a linear RNN is at most
    ``||W^g||_2``; compare it with ``spectral_radius(W) ** g`` (the long-run rate)
    and ``largest_singular_value(W) ** g`` (the bound of one step at a time).
    """
    if isinstance(steps, bool) or not isinstance(steps, numbers.Integral) or steps < 0:
        raise ValueError(f"steps must be an int >= 0, got {steps!r}")
    W = _matrix("matrix", matrix).cpu().double()
    power, norms = torch.eye(W.shape[0], dtype=torch.float64), [1.0]
    for _ in range(int(steps)):
        power = power @ W
        norms.append(torch.linalg.matrix_norm(power, ord=2).item())
    return norms


def initialise_recurrent(rnn, scheme, *, radius=None, generator=None):
    """Set the recurrent matrix of a one-layer vanilla RNN by ``scheme``; return ``rnn``.

    Args:
        rnn: ``torch.nn.RNN`` or :class:`helpers.modules.RNN` (one layer, one
            direction); its ``weight_hh_l0`` is changed in place.
        scheme: one of :data:`INITIALISATIONS`. ``"default"`` leaves
            PyTorch's draw as it is. ``"orthogonal"`` draws a random orthogonal
            matrix (``torch.nn.init.orthogonal_``) with ``generator``.
            ``"identity"`` sets the identity and both biases to zero (Le et
            al. 2015 use it with ReLU units). ``"radius"`` rescales the
            current matrix to spectral radius ``radius``.
        radius: for ``"radius"`` only, a positive number.
        generator: a ``torch.Generator`` for ``"orthogonal"``; default the
            global generator (seed it with ``torch.manual_seed``).

    Returns:
        the same module.
    """
    if not isinstance(rnn, (nn.RNN, modules.RNN)):
        raise TypeError(f"rnn must be a torch.nn.RNN or helpers.modules.RNN, got {_describe(rnn)}")
    if rnn.num_layers != 1 or rnn.bidirectional:
        raise ValueError("rnn must have one layer and one direction")
    check_choice("scheme", scheme, INITIALISATIONS)
    if scheme == "radius":
        if isinstance(radius, bool) or not isinstance(radius, numbers.Real) or not radius > 0:
            raise ValueError(f"scheme 'radius' needs radius, a positive number, got {radius!r}")
    elif radius is not None:
        raise ValueError(f"radius applies to scheme 'radius' only, got scheme {scheme!r}")
    W = rnn.weight_hh_l0
    with torch.no_grad():
        if scheme == "orthogonal":
            W.copy_(nn.init.orthogonal_(torch.empty_like(W), generator=generator))
        elif scheme == "identity":
            W.copy_(torch.eye(W.shape[0], dtype=W.dtype, device=W.device))
            if rnn.bias:
                rnn.bias_ih_l0.zero_()
                rnn.bias_hh_l0.zero_()
        elif scheme == "radius":
            W.mul_(float(radius) / spectral_radius(W))
    return rnn
