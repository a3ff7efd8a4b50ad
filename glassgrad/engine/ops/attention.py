"""Scaled dot-product attention as one engine op, dispatching to the kernel lab.

    out = softmax(Q Kᵀ · scale + mask) V          over (..., L, D) inputs

The forward saves Q, K, V, the output and each row's log-sum-exp (not the
Lq×Lk probabilities); the backward hands them to the selected
"attention_backward" variant, which recomputes the scores it needs
(see kernels/attention/reference.py for the math). A float mask that requires grad gets
its gradient through the reference backward, which returns the scores' gradient dS.
A recorded backward (``create_graph``) differentiates the op's ``decomposition``: the same
formula in matmuls, exp and sums.

With ``dropout_p = p > 0`` (PyTorch's semantics: dropout on the attention weights)

    out = (softmax(Q Kᵀ · scale + mask) ⊙ D / (1 − p)) V,      D ~ Bernoulli(1 − p)

is composed of engine ops (matmul, the registry's softmax, dropout with the engine's seeded
generator), so autograd differentiates it through the same mask D the forward drew.

A query row whose keys are all hidden (its scores all -inf: a bool mask row all False, a float mask
row all -inf, a fully padded key sequence) attends to nothing: its output and its gradients are 0,
as in PyTorch, in the kernels, the decomposition and the dropout path alike.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ... import kernels
from ...amp.autocast_mode import autocast_args, autocast_state
from .. import dtypes
from ..function import Context, Function
from ..grad_mode import is_grad_enabled
from ..tensor import Tensor
from .checks import as_float
from .compare import isfinite
from .dropout import dropout
from .select import where
from .softmax import softmax


class ScaledDotProductAttention(Function):
    """O = softmax(S) V with S = QKᵀ·s + M and P = softmax(S), given g = dL/dO:
    dL/dV = Pᵀ g,  dL/dS = P ⊙ (g Vᵀ − rowsum(g ⊙ O)),  dL/dQ = s · dL/dS K,  dL/dK = s · dL/dSᵀ Q,
    and for a float mask that requires grad dL/dM = dL/dS (M is added to the scores). The
    "attention_backward" variants compute these (FlashAttention-2 recomputes P tile by tile); a variant
    that cannot return dL/dS declares so, and the registry runs one that can."""

    @staticmethod
    def forward(ctx: Context, q: Any, k: Any, v: Any, mask: Any, is_causal: bool, scale: float) -> Any:
        out, lse = kernels.run("attention", q, k, v, mask=mask, is_causal=is_causal, scale=scale)
        ctx.save_for_backward(q, k, v, out, lse)
        ctx.options = {"mask": mask, "is_causal": is_causal, "scale": scale}
        return out

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple[Any, Any, Any, Any]:
        q, k, v, out, lse = ctx.saved_arrays
        mask_grad = ctx.needs_input_grad[3]  # then the variant also returns dL/dS (= dL/dM)
        grads = kernels.run("attention_backward", q, k, v, out, grad, lse, **ctx.options, mask_grad=mask_grad)
        return grads if mask_grad else (*grads, None)

    @staticmethod
    def decomposition(q: Tensor, k: Tensor, v: Tensor, mask: Any, is_causal: bool, scale: float) -> Tensor:
        """softmax(QKᵀ·scale + M) V in matmuls, exp and sums (the max subtracted for stability is a
        constant: softmax does not change with it), causal keys hidden by -inf as the kernels do. A row
        with every key hidden has e = 0 and its sum taken as 1, so P = 0 there and no 0/0 appears."""
        s = attention_scores(q, k, mask, is_causal, scale)
        m = s.detach().amax(dim=-1, keepdim=True)
        e = (s - where(isfinite(m), m, 0.0)).exp()
        total = e.sum(dim=-1, keepdim=True)
        return (e / where(total > 0, total, 1.0)) @ v


def attention_scores(q: Tensor, k: Tensor, mask: Any, is_causal: bool, scale: float) -> Tensor:
    """S = QKᵀ·scale + M in engine ops, keys after each query set to -inf when ``is_causal``
    (``mask``: None, an additive array, or a Tensor that may require grad)."""
    s = (q @ k.transpose(-1, -2)) * scale
    if mask is not None:
        s = s + (mask if isinstance(mask, Tensor) else Tensor(mask))
    if is_causal:
        lq, lk = s.shape[-2:]
        s = where(Tensor(q.xp.tril(q.xp.ones((lq, lk), dtype=bool))), s, -math.inf)
    return s


def attention_with_dropout(
    q: Tensor, k: Tensor, v: Tensor, mask: Any, is_causal: bool, scale: float, p: float
) -> Tensor:
    """out = (P ⊙ D / (1 − p)) V with P = softmax(S), D ~ Bernoulli(1 − p) drawn from the engine's generator.
    Each step is an engine op with its own backward, so given g = dL/dout:
    dL/dV = (P ⊙ D/(1−p))ᵀ g,  dL/dP = (g Vᵀ) ⊙ D/(1−p),  dL/dS = P ⊙ (dL/dP − rowsum(dL/dP ⊙ P)),
    then dL/dQ, dL/dK, dL/dM from S as in the fused op."""
    weights = softmax_over_keys(attention_scores(q, k, mask, is_causal, scale), may_hide_rows=mask is not None)
    return dropout(weights, p, training=True) @ v


def softmax_over_keys(s: Tensor, may_hide_rows: bool) -> Tensor:
    """P = softmax(S) along the last dim, P = 0 on a row whose scores are all -inf (PyTorch's safe softmax).
    Such a row's scores go into the softmax as 0 and its weights come out as 0, so dL/dS = 0 there
    (no NaN in either pass). Only a mask can hide every key of a row (a top-left causal mask always
    keeps key 0), so without one (``may_hide_rows`` False) this is the registry's softmax unchanged."""
    if may_hide_rows:
        hidden = s.xp.isneginf(s.array).all(axis=-1, keepdims=True)
        if hidden.any():
            hidden = Tensor(hidden)
            return where(hidden, 0.0, softmax(where(hidden, 0.0, s), dim=-1))
    return softmax(s, dim=-1)


def _mask_array(attn_mask: Any, q: Tensor, k: Tensor, lead: tuple[int, ...], n: int) -> Any:
    """The user's mask as an additive (1 or N, Lq|1, Lk|1) array: True keeps a key, False hides it."""
    xp = q.xp
    mask = attn_mask.array if isinstance(attn_mask, Tensor) else xp.asarray(attn_mask)
    if mask.dtype == bool:
        mask = xp.where(mask, 0.0, -xp.inf).astype(q.dtype)
    else:
        mask = mask.astype(q.dtype, copy=False)
    lq, lk = q.shape[-2], k.shape[-2]
    try:
        full = np.broadcast_shapes(mask.shape, (*lead, lq, lk))
    except ValueError as err:
        raise RuntimeError(
            f"scaled_dot_product_attention: attn_mask of shape {tuple(mask.shape)} does not broadcast to "
            f"(..., Lq, Lk) = {(*lead, lq, lk)}"
        ) from err
    if full != (*lead, lq, lk):
        raise RuntimeError(
            f"scaled_dot_product_attention: attn_mask of shape {tuple(mask.shape)} is larger than {(*lead, lq, lk)}"
        )
    mask = mask.reshape((1,) * (len(full) - mask.ndim) + mask.shape)
    if all(s == 1 for s in mask.shape[:-2]):
        return mask.reshape(1, *mask.shape[-2:])
    return xp.broadcast_to(mask, (*lead, *mask.shape[-2:])).reshape(n, *mask.shape[-2:])


def _repeat_heads(name: str, label: str, t: Tensor, heads: int) -> Tensor:
    """Grouped-query attention: each of t's Hkv heads (dim -3) repeated heads/Hkv times in a row
    (PyTorch's repeat_interleave), as differentiable expand + reshape: dL/dt sums over the copies."""
    if t.ndim < 3:
        raise IndexError(f"{name}: enable_gqa needs a heads dim (-3), got {label} of shape {t.shape}")
    h = t.shape[-3]
    if h == heads:
        return t
    if h == 0 or heads % h:
        raise RuntimeError(
            f"{name}: number of heads in key and value must divide the number of heads in query "
            f"({label} has {h}, query has {heads})"
        )
    lead, rest = t.shape[:-3], t.shape[-2:]
    return t.unsqueeze(-3).expand(*lead, h, heads // h, *rest).reshape(*lead, heads, *rest)


def scaled_dot_product_attention(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    attn_mask: Any = None,
    dropout_p: float = 0.0,
    is_causal: bool = False,
    scale: float | None = None,
    enable_gqa: bool = False,
) -> Tensor:
    """PyTorch's F.scaled_dot_product_attention over (..., L, D) tensors (e.g. batch, heads, seq, dim).

    ``attn_mask``: bool (True = attend) or float (added to the scores), broadcastable to
    (..., Lq, Lk); a float mask that requires grad gets dL/dM (the scores' gradient).
    ``is_causal`` hides keys after each query (top-left aligned). ``scale`` defaults to 1/√D.
    ``enable_gqa``: key and value may have fewer heads (dim -3) than query, each shared by
    consecutive query heads. Batch dims (all but the last two) broadcast. ``dropout_p`` > 0 drops
    each attention weight with that probability and scales the kept ones by 1/(1 − dropout_p)
    (always, as PyTorch's functional does: pass 0.0 in evaluation), drawing the mask from the
    engine's generator (``gg.manual_seed``); that path forms the (…, Lq, Lk) weights in engine ops,
    while ``dropout_p`` = 0 runs the fused kernels.
    """
    if autocast_state.enabled:
        query, key, value, attn_mask = autocast_args("scaled_dot_product_attention", query, key, value, attn_mask)
    name = "scaled_dot_product_attention"
    dropout_p = as_float(name, "dropout_p", dropout_p)
    scale = None if scale is None else as_float(name, "scale", scale)
    for label, flag in (("is_causal", is_causal), ("enable_gqa", enable_gqa)):
        if not isinstance(flag, bool | np.bool_):
            raise TypeError(f"{name}: argument '{label}' must be bool, not {type(flag).__name__} ({flag!r})")
    if not 0.0 <= dropout_p <= 1.0:
        raise RuntimeError(f"{name}: dropout probability has to be between 0 and 1, but got {dropout_p}")
    for label, t in (("query", query), ("key", key), ("value", value)):
        if not isinstance(t, Tensor) or t.ndim < 2:
            raise RuntimeError(f"{name}: {label} must be a tensor with at least 2 dims, got {getattr(t, 'shape', t)}")
    if enable_gqa:
        if query.ndim < 3:
            raise IndexError(f"{name}: enable_gqa needs a heads dim (-3), got query of shape {query.shape}")
        key = _repeat_heads(name, "key", key, query.shape[-3])
        value = _repeat_heads(name, "value", value, query.shape[-3])
    if query.shape[-1] != key.shape[-1]:
        raise RuntimeError(f"{name}: query and key head dims differ: {query.shape} vs {key.shape}")
    if key.shape[-2] != value.shape[-2]:
        raise RuntimeError(f"{name}: key and value lengths differ: {key.shape} vs {value.shape}")
    if not (query.shape[:-2] == key.shape[:-2] == value.shape[:-2]):  # batch dims broadcast, as in PyTorch
        try:
            batch = np.broadcast_shapes(query.shape[:-2], key.shape[:-2], value.shape[:-2])
        except ValueError:
            raise RuntimeError(
                f"{name}: batch dims differ and don't broadcast: query {query.shape}, key {key.shape}, "
                f"value {value.shape}"
            ) from None
        query, key, value = (t.expand(*batch, *t.shape[-2:]) for t in (query, key, value))
    if not (query.dtype == key.dtype == value.dtype) or not dtypes.is_floating(query.dtype):
        raise RuntimeError(f"{name}: expected one floating dtype, got {query.dtype}, {key.dtype}, {value.dtype}")
    if is_causal and attn_mask is not None:
        raise RuntimeError(f"{name}: pass either attn_mask or is_causal, not both (as in PyTorch)")
    lead = query.shape[:-2]
    n = math.prod(lead)
    mask = None if attn_mask is None else _mask_array(attn_mask, query, key, lead, n)
    if isinstance(attn_mask, Tensor) and attn_mask.requires_grad and is_grad_enabled():
        # a learned additive bias: the mask goes in as a differentiable (N, Lq, Lk) input
        # (expand's backward sums its gradient back to the mask's own shape)
        if attn_mask.dtype != query.dtype:
            raise RuntimeError(
                f"{name}: a float attn_mask must have the query's dtype {query.dtype}, got {attn_mask.dtype}"
            )
        mask = attn_mask.expand(*lead, query.shape[-2], key.shape[-2]).reshape(n, query.shape[-2], key.shape[-2])
    q, k, v = (t.reshape(n, *t.shape[-2:]) for t in (query, key, value))
    s = 1 / math.sqrt(query.shape[-1]) if scale is None else scale
    if dropout_p:
        out = attention_with_dropout(q, k, v, mask, bool(is_causal), s, dropout_p)
    else:
        out = ScaledDotProductAttention.apply(q, k, v, mask, is_causal=bool(is_causal), scale=s)
    return out.reshape(*lead, *out.shape[-2:])
