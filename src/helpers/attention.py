"""Attention: a query looks at every key, and reads the values weighted by how well they match.

A decoder step (the query, ``(N, Q, Dq)``) scores every encoder state (the
keys, ``(N, K, Dk)``); a softmax over the K scores gives weights that sum to
one; the context is the weighted sum of the values ``(N, K, Dv)`` (in an
encoder-decoder, the keys and the values are both the encoder's states).
Source sentences have different lengths, so the softmax runs over each
sequence's real positions only (:func:`masked_softmax`).

The scoring functions, for a query q and a key k:

- :class:`AdditiveAttention` (Bahdanau et al. 2015):
  ``v^T tanh(W_q q + W_k k)``;
- :class:`DotProductAttention` (Luong et al. 2015, "dot"): ``q . k``,
  divided by ``sqrt(d)`` when ``scaled`` (Vaswani et al. 2017);
- :class:`MultiplicativeAttention` (Luong et al. 2015, "general"):
  ``q^T W k``, which allows queries and keys of different sizes.

:class:`AlteredAttention` wraps a trained module and replaces its weights
(uniform, or shuffled over the valid positions) before the context is read:
the test of Jain and Wallace (2019) of whether a model's output depends on
where its attention points.

:class:`SelfAttention` is attention of a sequence over itself (queries,
keys and values are three projections of the same positions), the layer the
Transformer (Vaswani et al. 2017) is built from; it matches
``torch.nn.MultiheadAttention`` with one head.

Each module returns ``(context, weights)``: ``context`` ``(N, Q, Dv)`` and
``weights`` ``(N, Q, K)``, the attention map a heat map shows.
"""

import math

import torch
from torch import nn

from helpers.text import _prefix_mask
from helpers.validation import (
    Dims,
    _describe,
    check_choice,
    check_lengths,
    check_positive_int,
    check_seed,
)

__all__ = [
    "masked_softmax",
    "AdditiveAttention",
    "DotProductAttention",
    "MultiplicativeAttention",
    "SelfAttention",
    "AlteredAttention",
]


def _valid_mask(valid_lens, N, Q, K, device):
    """A bool mask ``(N, Q, K)``: True where position k < the valid length of (n, q)."""
    if (
        not isinstance(valid_lens, torch.Tensor)
        or valid_lens.is_floating_point()
        or valid_lens.dtype == torch.bool
    ):
        raise TypeError(
            f"valid_lens must be an integer tensor of shape (N,) or (N, Q), "
            f"got {_describe(valid_lens)}"
        )
    if valid_lens.shape not in ((N,), (N, Q)):
        raise ValueError(
            f"valid_lens must have shape (N,) = ({N},) or (N, Q) = ({N}, {Q}), "
            f"got {tuple(valid_lens.shape)}"
        )
    if valid_lens.numel() and (int(valid_lens.min()) < 0 or int(valid_lens.max()) > K):
        raise ValueError(
            f"valid_lens must be between 0 and K = {K}, got "
            f"{int(valid_lens.min())} to {int(valid_lens.max())}"
        )
    lens = valid_lens.to(device)
    lens = lens[:, None].expand(N, Q) if lens.dim() == 1 else lens
    return _prefix_mask(lens, K)


def masked_softmax(scores, valid_lens=None):
    """Softmax over the last axis of ``scores`` ``(N, Q, K)``, over the valid positions only.

    Args:
        scores: a floating-point tensor ``(N, Q, K)``.
        valid_lens: ``None`` (every position is valid), or an integer tensor
            ``(N,)`` (one length per sequence of keys) or ``(N, Q)`` (one per
            query), with values in 0..K.

    Returns:
        weights ``(N, Q, K)``: in each row, the positions ``k >= valid_len``
        get exactly 0 and the others sum to 1. A row with no valid position
        (length 0) is all zeros, never NaN, and passes no gradient.
    """
    dims = Dims()
    dims.tensor("scores", scores, ("N", "Q", "K"), allow_empty=("K",))
    N, Q, K = scores.shape
    if valid_lens is None:
        return torch.softmax(scores, dim=-1)
    mask = _valid_mask(valid_lens, N, Q, K, scores.device)
    # The lowest finite number, not -inf: a fully masked row then gives a
    # uniform softmax (no 0/0 = NaN, in the forward or the backward pass),
    # which the mask sets to zero.
    filled = scores.masked_fill(~mask, torch.finfo(scores.dtype).min)
    return torch.softmax(filled, dim=-1) * mask


def _check_qkv(queries, keys, values, query_size=None, key_size=None):
    dims = Dims()
    if query_size is not None:
        dims.fix("Dq", query_size, "the module's query_size")
    if key_size is not None:
        dims.fix("Dk", key_size, "the module's key_size")
    dims.tensor("queries", queries, ("N", "Q", "Dq"))
    dims.tensor("keys", keys, ("N", "K", "Dk"))
    dims.tensor("values", values, ("N", "K", "Dv"))
    for name, tensor in (("keys", keys), ("values", values)):
        if tensor.dtype != queries.dtype or tensor.device != queries.device:
            raise ValueError(
                f"{name} is {tensor.dtype} on {tensor.device}, but queries is "
                f"{queries.dtype} on {queries.device}: move them to one dtype and device"
            )
    return dims


def _attend(scores, values, valid_lens):
    weights = masked_softmax(scores, valid_lens)
    return torch.bmm(weights, values), weights


class AdditiveAttention(nn.Module):
    """Bahdanau's additive scoring: ``score(q, k) = v^T tanh(W_q q + W_k k)``.

    Args:
        query_size, key_size: Dq and Dk.
        hidden_size: the size A of the tanh layer (``W_q`` is ``(A, Dq)``,
            ``W_k`` ``(A, Dk)``, ``v`` ``(A,)``).
        **factory: ``device`` and ``dtype`` of the parameters.
    """

    def __init__(self, query_size, key_size, hidden_size, **factory):
        super().__init__()
        self.query_size = check_positive_int("query_size", query_size)
        self.key_size = check_positive_int("key_size", key_size)
        check_positive_int("hidden_size", hidden_size)
        self.W_q = nn.Linear(query_size, hidden_size, bias=False, **factory)
        self.W_k = nn.Linear(key_size, hidden_size, bias=False, **factory)
        self.v = nn.Linear(hidden_size, 1, bias=False, **factory)

    def scores(self, queries, keys, projected_keys=None):
        """Scores ``(N, Q, K)`` of queries ``(N, Q, Dq)`` against keys ``(N, K, Dk)``.

        ``projected_keys``: ``W_k k`` for every key ``(N, K, A)``, if already
        computed (see :meth:`project_keys`).
        """
        if projected_keys is None:
            projected_keys = self.project_keys(keys)
        # (N, Q, 1, A) + (N, 1, K, A): every query with every key, then v^T tanh(.)
        features = torch.tanh(self.W_q(queries)[:, :, None] + projected_keys[:, None])
        return self.v(features).squeeze(-1)

    def project_keys(self, keys):
        """``W_k k`` for every key: ``(N, K, A)``. A decoder computes it once per source,
        not once per output step."""
        return self.W_k(keys)

    def forward(self, queries, keys, values, valid_lens=None, *, projected_keys=None):
        """``(context (N, Q, Dv), weights (N, Q, K))``; see :func:`masked_softmax` for valid_lens.

        ``projected_keys``: :meth:`project_keys` of ``keys``, to reuse across calls.
        """
        _check_qkv(queries, keys, values, self.query_size, self.key_size)
        return _attend(self.scores(queries, keys, projected_keys), values, valid_lens)


class DotProductAttention(nn.Module):
    """Luong's dot scoring ``score(q, k) = q . k``, divided by ``sqrt(d)`` when ``scaled``.

    No parameters: queries and keys must have the same size d. Scaling keeps
    the scores' spread independent of d (for entries of variance 1 the dot
    product has variance d), so the softmax does not saturate in large models.
    """

    def __init__(self, scaled=True):
        super().__init__()
        self.scaled = check_choice("scaled", scaled, (True, False))

    def forward(self, queries, keys, values, valid_lens=None):
        """``(context (N, Q, Dv), weights (N, Q, K))``; see :func:`masked_softmax` for valid_lens."""
        dims = _check_qkv(queries, keys, values)
        if dims["Dq"] != dims["Dk"]:
            raise ValueError(
                f"queries and keys must have the same size for dot-product scores, "
                f"got Dq = {dims['Dq']} and Dk = {dims['Dk']}; "
                "MultiplicativeAttention allows different sizes"
            )
        scores = torch.bmm(queries, keys.transpose(1, 2))
        if self.scaled:
            scores = scores / math.sqrt(dims["Dq"])
        return _attend(scores, values, valid_lens)


class MultiplicativeAttention(nn.Module):
    """Luong's "general" scoring: ``score(q, k) = q^T W k``, with ``W`` ``(Dq, Dk)``.

    Args:
        query_size, key_size: Dq and Dk.
        **factory: ``device`` and ``dtype`` of ``W``.
    """

    def __init__(self, query_size, key_size, **factory):
        super().__init__()
        self.query_size = check_positive_int("query_size", query_size)
        self.key_size = check_positive_int("key_size", key_size)
        # as a Linear from keys to query space: W k for every key, then q . (W k)
        self.W = nn.Linear(key_size, query_size, bias=False, **factory)

    def forward(self, queries, keys, values, valid_lens=None):
        """``(context (N, Q, Dv), weights (N, Q, K))``; see :func:`masked_softmax` for valid_lens."""
        _check_qkv(queries, keys, values, self.query_size, self.key_size)
        scores = torch.bmm(queries, self.W(keys).transpose(1, 2))
        return _attend(scores, values, valid_lens)


class SelfAttention(nn.Module):
    """One head of scaled dot-product self-attention with input and output projections.

    For a sequence ``x`` ``(N, T, D)``: ``Q = x W_q``, ``K = x W_k``, ``V = x W_v``
    (each ``nn.Linear(D, D)``), ``weights = masked_softmax(Q K^T / sqrt(D))``
    and the output ``(weights V) W_o``. Every position is computed at once,
    with no recurrence over time. Each projection is an affine map with a
    bias (``W_q.weight`` ``(D, D)`` and ``W_q.bias`` ``(D,)``, and so on).

    It computes the same function as
    ``torch.nn.MultiheadAttention(D, num_heads=1, batch_first=True)`` with the
    same numbers under other names: that module's ``in_proj_weight`` and
    ``in_proj_bias`` are the weights and biases of ``W_q``, ``W_k``, ``W_v``
    stacked in this order, and its ``out_proj`` is ``W_o``. The names differ,
    so a ``state_dict`` does not load across; copy the tensors (chapter
    "From attention to self-attention" does).

    Args:
        embed_dim: D, the size of each position's vector, in and out.
        causal: if True, position t attends to positions 0..t only (a decoder,
            or a language model, must not read the future). Default: False.
        **factory: ``device`` and ``dtype`` of the parameters, passed to the
            four ``nn.Linear`` layers.

    Raises:
        TypeError, ValueError: ``embed_dim`` not an int >= 1, or ``causal``
            not True or False; in :meth:`forward`, an ``x`` or ``lengths`` of
            the wrong type or shape. The message names the argument.
    """

    def __init__(self, embed_dim, *, causal=False, **factory):
        super().__init__()
        self.embed_dim = check_positive_int("embed_dim", embed_dim)
        self.causal = check_choice("causal", causal, (True, False))
        self.W_q, self.W_k, self.W_v, self.W_o = (
            nn.Linear(embed_dim, embed_dim, **factory) for _ in range(4)
        )
        self.attention = DotProductAttention(scaled=True)

    def forward(self, x, lengths=None):
        """``(outputs (N, T, D), weights (N, T, T))`` for ``x`` ``(N, T, D)``.

        ``lengths`` ``(N,)`` (optional): the true lengths of padded sequences;
        padded positions are never attended to (their own outputs are not
        meaningful).
        """
        dims = Dims()
        dims.fix("D", self.embed_dim, "the module's embed_dim")
        dims.tensor("x", x, ("N", "T", "D"))
        N, T, _ = x.shape
        valid = torch.full((N, T), T, dtype=torch.long, device=x.device)
        if lengths is not None:
            check_lengths("lengths", lengths, N, T)
            valid = torch.minimum(valid, lengths.to(x.device)[:, None])
        if self.causal:
            steps = torch.arange(1, T + 1, device=x.device)
            valid = torch.minimum(valid, steps[None, :])
        context, weights = self.attention(self.W_q(x), self.W_k(x), self.W_v(x), valid)
        return self.W_o(context), weights


class AlteredAttention(nn.Module):
    """A trained attention module whose weights are replaced before the context is read.

    If attention weights explained a prediction, changing them should change
    the prediction; Jain and Wallace (2019) found that, in classifiers, they
    often can be shuffled or replaced with little effect, and Wiegreffe and
    Pinter (2019) that how much it matters depends on the task and the model.
    This module runs ``attention`` for its weights, replaces them, and reads
    the values with the new weights:

    - ``"uniform"``: every valid position gets ``1 / valid_len``;
    - ``"permute"``: each row's weights are shuffled among its valid
      positions (a new random permutation per row, from ``seed``), so the
      distribution of weights is kept but not where it points;
    - ``"original"``: the weights unchanged (a control: the same outputs).

    Args:
        attention: a module called as ``attention(queries, keys, values,
            valid_lens, **extra)`` returning ``(context, weights)``.
        mode: ``"uniform"``, ``"permute"`` or ``"original"``.
        seed: int >= 0, the permutations' generator.
    """

    MODES = ("uniform", "permute", "original")

    def __init__(self, attention, mode, *, seed=0):
        super().__init__()
        if not isinstance(attention, nn.Module):
            raise TypeError(f"attention must be an attention module, got {_describe(attention)}")
        self.attention = attention
        self.mode = check_choice("mode", mode, self.MODES)
        self.generator = torch.Generator().manual_seed(check_seed("seed", seed))

    def project_keys(self, keys):
        """The wrapped module's :meth:`AdditiveAttention.project_keys`, or ``None``."""
        project = getattr(self.attention, "project_keys", None)
        return None if project is None else project(keys)

    def forward(self, queries, keys, values, valid_lens=None, **extra):
        """``(context (N, Q, Dv), altered weights (N, Q, K))``."""
        extra = {name: value for name, value in extra.items() if value is not None}
        _, weights = self.attention(queries, keys, values, valid_lens, **extra)
        N, Q, K = weights.shape
        valid = (
            torch.ones(N, Q, K, dtype=torch.bool, device=weights.device)
            if valid_lens is None
            else _valid_mask(valid_lens, N, Q, K, weights.device)
        )
        if self.mode == "uniform":
            weights = valid / valid.sum(-1, keepdim=True).clamp(min=1)
            weights = weights.to(values.dtype)
        elif self.mode == "permute":
            # random keys for the valid positions, +inf for the padded ones:
            # a stable sort puts a random order of the valid positions first
            # and leaves the padded ones where they are
            random = torch.rand(N, Q, K, generator=self.generator).to(weights.device)
            random = random.masked_fill(~valid, float("inf"))
            order = torch.sort(random, dim=-1, stable=True).indices
            weights = torch.gather(weights, -1, order)
        return torch.bmm(weights, values), weights
