"""nn.MultiheadAttention, PyTorch's layer with its parameters, initialisation, masks and shapes.

For h heads of size d = E/h, with the projections W_q, W_k, W_v (E, E|kdim|vdim) split by rows into heads:

    head_i = softmax(Q_i K_iᵀ / √d + M) V_i,   Q_i = x_q W_qᵢᵀ + b_qᵢ  (K_i, V_i likewise)
    out    = [head_1 … head_h] W_oᵀ + b_o

M is the sum of ``attn_mask`` and ``key_padding_mask`` as additive masks (a bool True hides a key:
−∞). With ``need_weights=False`` the heads run through ``F.scaled_dot_product_attention`` (the fused
kernels at dropout 0); with ``need_weights=True`` the softmax weights are formed explicitly and
returned (averaged over heads unless ``average_attn_weights=False``). Gradients are the engine
ops' own.
"""

from __future__ import annotations

import math
import warnings
from typing import Any

from ..engine import creation, dtypes
from ..engine.ops.attention import scaled_dot_product_attention
from ..engine.ops.shape import cat
from ..engine.tensor import Tensor
from . import functional as F
from . import init
from .linear import Linear
from .module import Module
from .parameter import Parameter

_NAME = "MultiheadAttention"


def _dim_error(message: str) -> AssertionError:
    """PyTorch raises AssertionError for MultiheadAttention's shape checks."""
    return AssertionError(f"{_NAME}: {message}")


def _check_shapes(
    query: Tensor, key: Tensor, value: Tensor, key_padding_mask: Tensor | None, attn_mask: Tensor | None, heads: int
) -> bool:
    """PyTorch's checks of the ranks (3-D batched or 2-D unbatched); returns whether the input is batched."""
    for label, t in (("query", query), ("key", key), ("value", value)):
        if not isinstance(t, Tensor):
            raise TypeError(f"{_NAME}: {label} must be a Tensor, got {type(t).__name__}")
    if query.ndim not in (2, 3):
        raise _dim_error(f"query should be unbatched 2D or batched 3D tensor but received {query.ndim}-D query tensor")
    batched = query.ndim == 3
    kind = "batched (3-D)" if batched else "unbatched (2-D)"
    if key.ndim != query.ndim or value.ndim != query.ndim:
        raise _dim_error(
            f"For {kind} `query`, expected `key` and `value` to be {query.ndim}-D but found {key.ndim}-D and "
            f"{value.ndim}-D tensors respectively"
        )
    if key_padding_mask is not None and key_padding_mask.ndim != query.ndim - 1:
        raise _dim_error(
            f"For {kind} `query`, expected `key_padding_mask` to be `None` or {query.ndim - 1}-D but found "
            f"{key_padding_mask.ndim}-D tensor instead"
        )
    if attn_mask is not None:
        if attn_mask.ndim not in (2, 3):
            raise _dim_error(
                f"For {kind} `query`, expected `attn_mask` to be `None`, 2-D or 3-D but found {attn_mask.ndim}-D "
                "tensor instead"
            )
        if not batched and attn_mask.ndim == 3 and attn_mask.shape != (heads, query.shape[0], key.shape[0]):
            raise _dim_error(
                f"Expected `attn_mask` shape to be {(heads, query.shape[0], key.shape[0])} but got {attn_mask.shape}"
            )
    return batched


def additive_mask(mask: Any, name: str, dtype: Any, api: str = _NAME) -> Tensor | None:
    """A bool mask (True = hide) as 0 / −∞ in ``dtype``; a float mask as it is (added to the scores; one that
    requires grad keeps its graph, so it gets dL/dM). ``api`` (the layer called) names it in errors."""
    if mask is None:
        return None
    if not isinstance(mask, Tensor):
        raise TypeError(f"{api}: {name} must be a Tensor or None, got {type(mask).__name__}")
    if mask.dtype == bool:
        xp = mask.xp
        return Tensor(xp.where(mask.array, -xp.inf, 0.0).astype(dtype))
    if not dtypes.is_floating(mask.dtype):
        raise AssertionError(f"{api}: only bool and floating types of {name} are supported, got {mask.dtype}")
    return mask if mask.requires_grad or mask.dtype == dtype else mask.to(dtype)


def _pad_key(mask: Tensor | None) -> Tensor | None:
    """One more key (bias_k or the zero key) that every query may attend: a 0 column at the end."""
    return None if mask is None else F.pad(mask, (0, 1))


class MultiheadAttention(Module):
    """PyTorch's nn.MultiheadAttention (see the module docstring for the math).

    Parameters as PyTorch names them: ``in_proj_weight`` (3E, E) and ``in_proj_bias`` (3E,) when kdim = vdim = E,
    else ``q_proj_weight`` (E, E), ``k_proj_weight`` (E, kdim), ``v_proj_weight`` (E, vdim); ``out_proj``
    (Linear E → E); ``bias_k``, ``bias_v`` (1, 1, E) with ``add_bias_kv``. Initialisation as PyTorch:
    xavier_uniform_ projections, zero in_proj_bias and out_proj.bias, xavier_normal_ bias_k/bias_v.
    ``dropout`` drops attention weights in training mode.
    """

    def __init__(
        self,
        embed_dim: int,
        num_heads: int,
        dropout: float = 0.0,
        bias: bool = True,
        add_bias_kv: bool = False,
        add_zero_attn: bool = False,
        kdim: int | None = None,
        vdim: int | None = None,
        batch_first: bool = False,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        for label, value in (("embed_dim", embed_dim), ("num_heads", num_heads), ("kdim", kdim), ("vdim", vdim)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                raise TypeError(f"{_NAME}: {label} must be an int, got {type(value).__name__} {value!r}")
        if embed_dim <= 0 or num_heads <= 0:
            raise ValueError(
                f"{_NAME}: embed_dim and num_heads must be greater than 0, got embed_dim={embed_dim} and "
                f"num_heads={num_heads} instead"
            )
        if isinstance(dropout, bool) or not isinstance(dropout, int | float) or not 0.0 <= dropout <= 1.0:
            raise ValueError(f"{_NAME}: dropout probability has to be between 0 and 1, but got {dropout!r}")
        if embed_dim % num_heads:
            raise AssertionError(f"{_NAME}: embed_dim must be divisible by num_heads (got {embed_dim}, {num_heads})")
        self.embed_dim, self.num_heads, self.head_dim = embed_dim, num_heads, embed_dim // num_heads
        self.kdim = embed_dim if kdim is None else kdim
        self.vdim = embed_dim if vdim is None else vdim
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.dropout, self.batch_first, self.add_zero_attn = dropout, batch_first, add_zero_attn
        factory = {"device": device, "dtype": dtype}
        if self._qkv_same_embed_dim:
            self.in_proj_weight = Parameter(creation.empty(3 * embed_dim, embed_dim, **factory))
            for name in ("q_proj_weight", "k_proj_weight", "v_proj_weight"):
                self.register_parameter(name, None)
        else:
            self.q_proj_weight = Parameter(creation.empty(embed_dim, embed_dim, **factory))
            self.k_proj_weight = Parameter(creation.empty(embed_dim, self.kdim, **factory))
            self.v_proj_weight = Parameter(creation.empty(embed_dim, self.vdim, **factory))
            self.register_parameter("in_proj_weight", None)
        if bias:
            self.in_proj_bias = Parameter(creation.empty(3 * embed_dim, **factory))
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = Linear(embed_dim, embed_dim, bias=bias, **factory)
        if add_bias_kv:
            self.bias_k = Parameter(creation.empty(1, 1, embed_dim, **factory))
            self.bias_v = Parameter(creation.empty(1, 1, embed_dim, **factory))
        else:
            self.bias_k = self.bias_v = None
        self._reset_parameters()

    def _reset_parameters(self) -> None:
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight)
        else:
            for weight in (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight):
                init.xavier_uniform_(weight)
        if self.in_proj_bias is not None:
            init.constant_(self.in_proj_bias, 0.0)
            init.constant_(self.out_proj.bias, 0.0)
        if self.bias_k is not None:
            init.xavier_normal_(self.bias_k)
            init.xavier_normal_(self.bias_v)

    def _project(self, query: Tensor, key: Tensor, value: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Q, K, V = x W_qᵀ + b_q, ... (one matmul with the packed weight for self-attention)."""
        e = self.embed_dim
        b = self.in_proj_bias
        bq, bk, bv = (None, None, None) if b is None else (b[:e], b[e : 2 * e], b[2 * e :])
        if not self._qkv_same_embed_dim:
            return (
                F.linear(query, self.q_proj_weight, bq),
                F.linear(key, self.k_proj_weight, bk),
                F.linear(value, self.v_proj_weight, bv),
            )
        w = self.in_proj_weight
        if query is key and key is value:
            q, k, v = F.linear(query, w, b).chunk(3, dim=-1)
            return q, k, v
        if key is value:
            k, v = F.linear(key, w[e:], None if b is None else b[e:]).chunk(2, dim=-1)
            return F.linear(query, w[:e], bq), k, v
        return F.linear(query, w[:e], bq), F.linear(key, w[e : 2 * e], bk), F.linear(value, w[2 * e :], bv)

    def forward(
        self,
        query: Tensor,
        key: Tensor,
        value: Tensor,
        key_padding_mask: Tensor | None = None,
        need_weights: bool = True,
        attn_mask: Tensor | None = None,
        average_attn_weights: bool = True,
        is_causal: bool = False,
    ) -> tuple[Tensor, Tensor | None]:
        """query (L, N, E) or (N, L, E) with batch_first or (L, E) unbatched; key (S, N, kdim), value (S, N, vdim)
        likewise. key_padding_mask (N, S) or (S,): True (or −∞) hides a key. attn_mask (L, S) or (N·heads, L, S).
        ``is_causal`` is a hint that attn_mask is the causal mask (it must be given, as in PyTorch).
        Returns (output shaped like query with E features, weights (N, L, S) | (N, heads, L, S) | None)."""
        batched = _check_shapes(query, key, value, key_padding_mask, attn_mask, self.num_heads)
        self_attention, shared_kv = query is key and key is value, key is value
        if key_padding_mask is not None and attn_mask is not None and key_padding_mask.dtype != attn_mask.dtype:
            warnings.warn(
                "Support for mismatched key_padding_mask and attn_mask is deprecated. Use same type for both instead.",
                stacklevel=2,
            )
        key_padding_mask = additive_mask(key_padding_mask, "key_padding_mask", query.dtype)
        attn_mask = additive_mask(attn_mask, "attn_mask", query.dtype)
        if is_causal and attn_mask is None:
            raise RuntimeError(
                f"{_NAME}: Need attn_mask if specifying the is_causal hint. You may use the Transformer module "
                "method `generate_square_subsequent_mask` to create this mask."
            )
        if is_causal and key_padding_mask is None and not need_weights:
            attn_mask = None  # the fused kernels hide the future keys themselves
        elif key_padding_mask is not None:
            is_causal = False  # the causal mask is then added to the padding mask explicitly
        if self.batch_first and batched:
            query, key, value = (t.transpose(0, 1) for t in (query, key, value))
        if not batched:
            query, key, value = (t.unsqueeze(1) for t in (query, key, value))
            if key_padding_mask is not None:
                key_padding_mask = key_padding_mask.unsqueeze(0)
        if self_attention:
            key = value = query
        elif shared_kv:
            value = key
        out, weights = self._attend(
            query, key, value, key_padding_mask, attn_mask, need_weights, average_attn_weights, is_causal
        )
        if not batched:
            return out.squeeze(1), None if weights is None else weights.squeeze(0)
        return (out.transpose(0, 1) if self.batch_first else out), weights

    def _attend(
        self,
        query: Tensor,
        key: Tensor,
        value: Tensor,
        key_padding_mask: Tensor | None,
        attn_mask: Tensor | None,
        need_weights: bool,
        average_attn_weights: bool,
        is_causal: bool,
    ) -> tuple[Tensor, Tensor | None]:
        """The heads over time-major (L, N, E) inputs; returns ((L, N, E), weights or None)."""
        tgt_len, bsz, embed_dim = query.shape
        heads, head_dim = self.num_heads, self.head_dim
        if embed_dim != self.embed_dim:
            raise _dim_error(f"was expecting embedding dimension of {self.embed_dim}, but got {embed_dim}")
        if self._qkv_same_embed_dim and key.shape != value.shape:
            raise _dim_error(f"key shape {key.shape} does not match value shape {value.shape}")
        if key.shape[:2] != value.shape[:2]:
            raise _dim_error(f"key's sequence and batch dims {key.shape[:2]} do not match value's {value.shape[:2]}")
        for label, t, width in (("key", key, self.kdim), ("value", value, self.vdim)):
            if t.shape[1] != bsz or t.shape[2] != width:  # PyTorch: its projection's matmul or shape check fails
                kind = RuntimeError if t.shape[1] != bsz or self._qkv_same_embed_dim else AssertionError
                raise kind(f"{_NAME}: expected {label} of shape (S, {bsz}, {width}), got {t.shape}")
        src_len = key.shape[0]
        q, k, v = self._project(query, key, value)
        if attn_mask is not None:
            if attn_mask.ndim == 2:
                if attn_mask.shape != (tgt_len, src_len):
                    raise RuntimeError(
                        f"{_NAME}: The shape of the 2D attn_mask is {attn_mask.shape}, but should be "
                        f"{(tgt_len, src_len)}."
                    )
                attn_mask = attn_mask.unsqueeze(0)
            elif attn_mask.shape != (bsz * heads, tgt_len, src_len):
                raise RuntimeError(
                    f"{_NAME}: The shape of the 3D attn_mask is {attn_mask.shape}, but should be "
                    f"{(bsz * heads, tgt_len, src_len)}."
                )
        if self.bias_k is not None:
            k = cat([k, self.bias_k.repeat(1, bsz, 1)])
            v = cat([v, self.bias_v.repeat(1, bsz, 1)])
            attn_mask, key_padding_mask = _pad_key(attn_mask), _pad_key(key_padding_mask)
        # (length, N, E) -> (N·heads, length, head_dim): head j of batch b at row b·heads + j
        q = q.reshape(tgt_len, bsz * heads, head_dim).transpose(0, 1)
        k = k.reshape(k.shape[0], bsz * heads, head_dim).transpose(0, 1)
        v = v.reshape(v.shape[0], bsz * heads, head_dim).transpose(0, 1)
        if self.add_zero_attn:
            zeros = creation.zeros(bsz * heads, 1, head_dim, dtype=k.dtype, device=k.device)
            k, v = cat([k, zeros], dim=1), cat([v, zeros], dim=1)
            attn_mask, key_padding_mask = _pad_key(attn_mask), _pad_key(key_padding_mask)
        src_len = k.shape[1]
        if key_padding_mask is not None:
            if key_padding_mask.shape != (bsz, src_len):
                raise _dim_error(
                    f"Expected key_padding_mask of shape {(bsz, src_len)} (batch, source length), got "
                    f"{key_padding_mask.shape}"
                )
            padding = key_padding_mask.reshape(bsz, 1, 1, src_len).expand(bsz, heads, 1, src_len)
            padding = padding.reshape(bsz * heads, 1, src_len)
            attn_mask = padding if attn_mask is None else attn_mask + padding
        dropout_p = self.dropout if self.training else 0.0
        if need_weights:
            scores = (q * math.sqrt(1.0 / head_dim)) @ k.transpose(-1, -2)
            if attn_mask is not None:
                scores = scores + attn_mask
            weights = F.dropout(F.softmax(scores, dim=-1), dropout_p, training=dropout_p > 0)
            heads_out = weights @ v  # (N·heads, L, head_dim)
            out = heads_out.transpose(0, 1).reshape(tgt_len, bsz, embed_dim)
            weights = weights.reshape(bsz, heads, tgt_len, src_len)
            weights = weights.mean(dim=1) if average_attn_weights else weights
        else:
            if attn_mask is not None:
                attn_mask = (
                    attn_mask.unsqueeze(0) if attn_mask.shape[0] == 1 else attn_mask.reshape(bsz, heads, -1, src_len)
                )
            q, k, v = (t.reshape(bsz, heads, t.shape[1], head_dim) for t in (q, k, v))
            heads_out = scaled_dot_product_attention(q, k, v, attn_mask, dropout_p, is_causal)  # (N, heads, L, d)
            out = heads_out.permute(2, 0, 1, 3).reshape(tgt_len, bsz, embed_dim)
            weights = None
        return self.out_proj(out), weights
