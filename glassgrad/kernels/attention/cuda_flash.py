"""Launchers of the CUDA C FlashAttention-2 kernels (cuda/flash_simt.cu, cuda/flash_mma.cu).

Two variants of ("attention", "cuda") and ("attention_backward", "cuda"), neither the default
(not yet run on a GPU):

* ``flash_simt``: FP32 on the CUDA cores, head dims up to 128 (q/k and v may differ);
* ``flash_mma``: mma.sync tensor cores on float16 (and bfloat16 bits, in uint16 arrays, when called
  directly), head dim 64 or 128, FP32 accumulation; O comes back in the input's dtype, lse in float32.

Both take the op's (N, L, D) arrays and also (B, H, L, D) ones, read through their strides (a
(B, L, H, D) array transposed to (B, H, L, D) is not copied; only a last dim that is not contiguous,
or for ``flash_mma`` rows not 16-byte aligned, is copied once). With 4-D inputs key and value may
have Hkv heads dividing Hq (grouped-query attention: query head h reads kv head h // (Hq / Hkv)).
The mask is None, bool (True attends) or additive float, broadcastable to (B, H, Lq, Lk) (or to
(N, Lq, Lk) for 3-D inputs) and read in place through strides (0 on broadcast dims).

Dropout (``dropout_p`` > 0, keyword-only, not in the op's registry signature): weight (n, i, j) is
kept when Philox4x32-10 word j mod 4 of counter (j // 4, i, n, offset) under key ``seed`` is at least
round(p·2³²) (see cuda/dropout_mask.cuh and philox.py); passing the same (dropout_p, seed, offset) to the
backward regenerates the forward's mask.

The backward's dQ is accumulated with FP32 atomicAdd into a zeroed buffer (the kernels' header
comments say why), and D = rowsum(dO ∘ O) is computed here with CuPy before the launch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..cuda.compile import ceil_div, kernel
from ..registry import register
from . import philox

SOURCES = Path(__file__).parent / "cuda"

#: flash_simt.cu: the largest head dim of each instance (the smallest that fits is launched) and the
#: forward's (BQ, BK) and the backward's (BQ, BK) per instance; 4 threads per query (forward) or key (backward)
#: (two instances: each costs CI half a minute of nvcc per arch; a head dim of 32 runs the 64 one)
SIMT_DMAX = (64, 128)
SIMT_FORWARD = {64: (32, 32), 128: (32, 32)}
SIMT_BACKWARD = {64: (32, 32), 128: (16, 32)}
#: flash_mma.cu: head dims, element types (C++ name by dtype name), forward (BQ, BK) (BQ / 16 warps),
#: backward (BM, BN) (BN / 16 warps)
MMA_HEAD_DIMS = (64, 128)
MMA_ELEMENTS = {"float16": "__half", "bfloat16": "__nv_bfloat16"}
MMA_FORWARD = (64, 64)
MMA_BACKWARD = (32, 64)
PAD = 8  # elements of padding per shared-memory row in flash_mma.cu (its LDS = D + 8)

#: mask dtypes -> the kernels' MaskKind (flash_common.cuh); uint16 holds bfloat16 bits
MASK_KINDS = {"float32": 1, "bool": 2, "float16": 3, "uint16": 4}


def _instance(kernel_name: str, *args: object) -> str:
    return f"{kernel_name}<{','.join(map(str, args))}>"


def simt_instances(dmax: int) -> tuple[str, str]:
    """(forward, backward) name expressions of flash_simt.cu for head dims up to ``dmax``."""
    return (
        _instance("flash_simt_forward", dmax, *SIMT_FORWARD[dmax]),
        _instance("flash_simt_backward", dmax, *SIMT_BACKWARD[dmax]),
    )


def mma_instances(element: str, d: int) -> tuple[str, str]:
    """(forward, backward) name expressions of flash_mma.cu for one element type (C++ name) and head dim."""
    return (
        _instance("flash_mma_forward", element, d, *MMA_FORWARD),
        _instance("flash_mma_backward", element, d, *MMA_BACKWARD),
    )


def instances(file: str) -> list[str]:
    """Every template instance of ``file`` (in cuda/) the launchers can ask NVRTC for (the nvcc test builds these)."""
    if file == "flash_simt.cu":
        return [x for dmax in SIMT_DMAX for x in simt_instances(dmax)]
    if file == "flash_mma.cu":
        return [x for e in MMA_ELEMENTS.values() for d in MMA_HEAD_DIMS for x in mma_instances(e, d)]
    return []


def mma_forward_smem(d: int, itemsize: int = 2) -> int:
    """Dynamic shared memory of flash_mma_forward: Q tile and two buffers each of K and V, rows of D + PAD."""
    bq, bk = MMA_FORWARD
    return (bq + 4 * bk) * (d + PAD) * itemsize


def mma_backward_smem(d: int, itemsize: int = 2) -> int:
    """Dynamic shared memory of flash_mma_backward: K, V, two buffers each of Q and dO, dS, lse and D."""
    bm, bn = MMA_BACKWARD
    return (2 * bn + 4 * bm) * (d + PAD) * itemsize + bm * (bn + PAD) * itemsize + 4 * bm * 4


def _dtype_name(a: Any) -> str:
    return str(a.dtype)


def _bhld(name: str, label: str, x: Any, align: int = 1) -> tuple[Any, tuple[int, int, int]]:
    """``x`` as (B, H, L, D) with element strides (batch, head, row): a 3-D (N, L, D) array is (N, 1, L, D).
    A last dim that is not contiguous (or rows not ``align``-element aligned) is copied once."""
    import cupy

    if x.ndim not in (3, 4):
        raise ValueError(f"{name}: {label} must be (N, L, D) or (B, H, L, D), got shape {x.shape}")

    def element_strides(a: Any) -> list[int]:  # a dim of size 1 is never stepped: stride 0
        return [0 if n == 1 else s // a.itemsize for n, s in zip(a.shape, a.strides, strict=True)]

    strides = element_strides(x)
    last_strided = x.shape[-1] > 1 and strides[-1] != 1
    if last_strided or any(s % align for s in strides[:-1]) or x.data.ptr % (align * x.itemsize):
        x = cupy.ascontiguousarray(x)
        strides = element_strides(x)
    if x.ndim == 3:
        return x, (strides[0], 0, strides[1])
    return x, (strides[0], strides[1], strides[2])


def _shape(q: Any, k: Any, v: Any) -> tuple[int, int, int, int, int, int, int]:
    """(B, Hq, Hkv, Lq, Lk, D, Dv) of a call (3-D arrays: B = N, H = 1)."""
    if q.ndim == 3:
        return q.shape[0], 1, 1, q.shape[1], k.shape[1], q.shape[2], v.shape[2]
    return q.shape[0], q.shape[1], k.shape[1], q.shape[2], k.shape[2], q.shape[3], v.shape[3]


def _check_shapes(name: str, q: Any, k: Any, v: Any) -> None:
    if not (q.ndim == k.ndim == v.ndim) or q.ndim not in (3, 4):
        raise ValueError(
            f"{name}: q, k, v must all be (N, L, D) or all (B, H, L, D), got {q.shape}, {k.shape}, {v.shape}"
        )
    b, hq, hkv, _, lk, d, _ = _shape(q, k, v)
    if k.shape[0] != b or v.shape[0] != b or k.shape[-1] != d or v.shape[-2] != lk or v.shape[:-2] != k.shape[:-2]:
        raise ValueError(f"{name}: q {q.shape}, k {k.shape}, v {v.shape} do not fit (same batch, q·k head dim, Lk)")
    if hkv == 0 or hq % hkv:
        raise ValueError(f"{name}: kv heads ({hkv}) must divide query heads ({hq})")


def _mask_operand(name: str, mask: Any, q: Any, k: Any, dummy: Any) -> tuple[Any, int, tuple[int, ...]]:
    """(array, MaskKind, element strides (b, h, i, j)) of the mask, read in place; broadcast dims get stride 0.
    A 4-D call's mask broadcasts to (B, Hq, Lq, Lk), a 3-D call's to (N, Lq, Lk) (N taking the batch stride)."""
    if mask is None:
        return dummy, 0, (0, 0, 0, 0)
    kind = MASK_KINDS.get(_dtype_name(mask))
    if kind is None:
        raise TypeError(
            f"{name}: mask dtype must be bool, float32, float16 or bfloat16 bits (uint16), got {mask.dtype}"
        )
    target = (*q.shape[:-1], k.shape[-2])
    if mask.ndim > len(target):
        raise ValueError(f"{name}: mask of shape {mask.shape} has more dims than {target}")
    pad = len(target) - mask.ndim
    full = (1,) * pad + tuple(mask.shape)
    if any(size not in (1, want) for size, want in zip(full, target, strict=True)):
        raise ValueError(f"{name}: mask of shape {mask.shape} does not broadcast to {target}")
    steps = (0,) * pad + tuple(s // mask.itemsize for s in mask.strides)
    strides = tuple(0 if size == 1 else s for size, s in zip(full, steps, strict=True))
    if len(target) == 3:
        strides = (strides[0], 0, strides[1], strides[2])
    return mask, kind, strides


def _dropout(dropout_p: float, seed: int, offset: int) -> tuple[np.uint32, np.float32, np.uint64, np.uint32]:
    """(threshold, keep scale, seed, offset) kernel arguments; threshold 0 means no dropout."""
    if dropout_p == 0.0:
        return np.uint32(0), np.float32(1.0), np.uint64(0), np.uint32(0)
    threshold = philox.threshold(dropout_p)
    return np.uint32(threshold), np.float32(1.0 / (1.0 - dropout_p)), np.uint64(seed % 2**64), np.uint32(offset % 2**32)


def _grouped_heads(q: Any, k: Any) -> bool:
    return q.ndim == 4 and k.ndim == 4 and k.shape[1] > 0 and q.shape[1] % k.shape[1] == 0


def _forward_outputs(q: Any, lq: int, width: int, dtype: Any) -> tuple[Any, Any]:
    """Zero O (q's leading dims, Lq × ``width``, ``dtype``) and lse (float32, O's shape without its last dim)."""
    import cupy

    out = cupy.zeros((*q.shape[:-2], lq, width), dtype=dtype)
    return out, cupy.zeros(out.shape[:-1], dtype=cupy.float32)


def _backward_inputs(name: str, out: Any, grad_out: Any, lse: Any, align: int, bf16: bool = False) -> tuple[Any, ...]:
    """(dO as read, its element strides, lse as float32, D = rowsum(dO ∘ O)) for a backward kernel."""
    import cupy

    delta = _delta(out, grad_out, bf16)
    grad_out, gs = _bhld(name, "grad_out", grad_out, align)
    return grad_out, tuple(np.int64(s) for s in gs), cupy.ascontiguousarray(lse, dtype=cupy.float32), delta


def _simt_dmax(d: int, dv: int) -> int:
    return next(x for x in SIMT_DMAX if x >= max(d, dv))


def _check_grid(name: str, grid: tuple[int, int, int]) -> None:
    if grid[1] > 65535 or grid[2] > 65535:
        raise ValueError(f"{name}: {grid[1]} heads × {grid[2]} batches exceed the grid's 65535 limit per dim")


# ----------------------------------------------------------------------------------------------- flash_simt


def _simt_takes(
    q: Any, k: Any, v: Any, *rest: Any, mask: Any = None, mask_grad: bool = False, dropout_p: float = 0.0, **_: Any
) -> bool:
    """float32 q, k, v (and O, dO), 3-D or 4-D (GQA), head dims ≤ 128, no mask gradient, dropout_p < 1."""
    return (
        not mask_grad
        and all(_dtype_name(a) == "float32" for a in (q, k, v, *rest[:2]))
        and q.ndim == k.ndim == v.ndim
        and q.ndim in (3, 4)
        and (q.ndim == 3 or _grouped_heads(q, k))
        and max(q.shape[-1], v.shape[-1]) <= SIMT_DMAX[-1]
        and (mask is None or _dtype_name(mask) in MASK_KINDS)
        and 0.0 <= dropout_p < 1.0
    )


SIMT_CONDITION = "float32 (N, L, D) or (B, H, L, D) arrays, D and Dv ≤ 128, no mask gradient, dropout_p < 1"


def _delta(out: Any, grad_out: Any, bf16: bool = False) -> Any:
    """D_i = Σ_d dO_id O_id in float32 (bfloat16 bits widened first)."""
    import cupy

    from ..cuda.bfloat16 import from_bfloat16_bits

    if bf16:
        out, grad_out = from_bfloat16_bits(out), from_bfloat16_bits(grad_out)
    return cupy.ascontiguousarray((grad_out.astype(cupy.float32) * out.astype(cupy.float32)).sum(axis=-1))


# ------------------------------------------------------------------------------------------------ flash_mma


def _mma_element(q: Any) -> str | None:
    """The C++ element type of a flash_mma call: float16, or bfloat16 bits held in uint16."""
    return {"float16": "__half", "uint16": "__nv_bfloat16"}.get(_dtype_name(q))


def _mma_takes(
    q: Any, k: Any, v: Any, *rest: Any, mask: Any = None, mask_grad: bool = False, dropout_p: float = 0.0, **_: Any
) -> bool:
    """float16 (or bfloat16-bit uint16) q, k, v of one dtype, head dim 64 or 128 for q, k and v alike."""
    return (
        not mask_grad
        and _mma_element(q) is not None
        and all(_dtype_name(a) == _dtype_name(q) for a in (k, v, *rest[:2]))
        and q.ndim == k.ndim == v.ndim
        and q.ndim in (3, 4)
        and (q.ndim == 3 or _grouped_heads(q, k))
        and q.shape[-1] == k.shape[-1] == v.shape[-1]
        and q.shape[-1] in MMA_HEAD_DIMS
        and (mask is None or _dtype_name(mask) in MASK_KINDS)
        and 0.0 <= dropout_p < 1.0
    )


MMA_CONDITION = "float16 (or bfloat16 bits) (N, L, D) or (B, H, L, D) arrays, D = Dv = 64 or 128, no mask gradient"


def _simt_tiles(q: Any, d: int, dv: int, backward: bool) -> tuple[str, int, int, int]:
    """flash_simt's (instance, rows of a block: queries forward, keys backward, threads, dynamic smem)."""
    dmax = _simt_dmax(d, dv)
    rows = SIMT_BACKWARD[dmax][1] if backward else SIMT_FORWARD[dmax][0]
    return simt_instances(dmax)[backward], rows, 4 * rows, 0


def _mma_tiles(q: Any, d: int, dv: int, backward: bool) -> tuple[str, int, int, int]:
    """flash_mma's (instance, rows of a block: queries forward, keys backward, threads, dynamic smem)."""
    rows = MMA_BACKWARD[1] if backward else MMA_FORWARD[0]
    smem = mma_backward_smem(d) if backward else mma_forward_smem(d)
    return mma_instances(_mma_element(q), d)[backward], rows, 2 * rows, smem


# -------------------------------------------------------------------------------------- the two variants


@dataclass(frozen=True)
class _Flash:
    """One FlashAttention variant: its .cu file, the calls it takes (``dtypes``, ``takes``), the row
    alignment (elements) its loads need, and ``tiles`` (see _simt_tiles); ``forward`` and ``backward``
    are the launchers registered for it."""

    name: str
    source: str
    dtypes: tuple[str, ...]
    takes: Callable[..., bool]
    condition: str
    align: int
    tiles: Callable[[Any, int, int, bool], tuple[str, int, int, int]]
    summaries: tuple[str, str]  # the registry's descriptions of the forward and the backward

    def forward(
        self,
        q: Any,
        k: Any,
        v: Any,
        mask: Any = None,
        is_causal: bool = False,
        scale: float = 1.0,
        *,
        dropout_p: float = 0.0,
        seed: int = 0,
        offset: int = 0,
    ) -> tuple[Any, Any]:
        """(O in q's dtype, lse in float32) of softmax(QKᵀ·scale + mask) (with dropout) V."""
        name = f"attention(cuda, {self.name})"
        _, _, _, lq, lk, _, dv = self._checked(name, q, k, v, mask=mask, dropout_p=dropout_p)
        out, lse = _forward_outputs(q, lq, dv, q.dtype)
        if out.size and lk:
            self._launch(name, False, (q, k, v), (out, lse), (mask, is_causal, scale, dropout_p, seed, offset), lse)
        return out, lse

    def backward(
        self,
        q: Any,
        k: Any,
        v: Any,
        out: Any,
        grad_out: Any,
        lse: Any,
        mask: Any = None,
        is_causal: bool = False,
        scale: float = 1.0,
        mask_grad: bool = False,
        *,
        dropout_p: float = 0.0,
        seed: int = 0,
        offset: int = 0,
    ) -> tuple[Any, Any, Any]:
        """(dQ, dK, dV) in q's dtype from the saved O and lse (dK, dV summed over each kv head's query
        heads; dQ accumulated in float32 and rounded once)."""
        import cupy

        from ..cuda.bfloat16 import to_bfloat16_bits

        name = f"attention_backward(cuda, {self.name})"
        *_, lk, _, _ = self._checked(name, q, k, v, out, grad_out, mask=mask, dropout_p=dropout_p, mask_grad=mask_grad)
        bf16 = _mma_element(q) == "__nv_bfloat16"
        dq_accum = cupy.zeros(q.shape, dtype=cupy.float32)
        dk, dv_out = cupy.zeros(k.shape, dtype=q.dtype), cupy.zeros(v.shape, dtype=q.dtype)
        if dq_accum.size and lk:
            grad_out, gs, lse, delta = _backward_inputs(name, out, grad_out, lse, self.align, bf16)
            tensors = (grad_out, lse, delta, dq_accum, dk, dv_out, *gs)
            self._launch(name, True, (q, k, v), tensors, (mask, is_causal, scale, dropout_p, seed, offset), lse)
        if _dtype_name(q) == "float32":
            return dq_accum, dk, dv_out
        return (to_bfloat16_bits(dq_accum) if bf16 else dq_accum.astype(q.dtype)), dk, dv_out

    def _checked(self, name: str, *arrays: Any, mask: Any, dropout_p: float, **flags: Any) -> tuple[int, ...]:
        """``_shape(q, k, v)`` once the shapes agree and this variant takes the call (else a ValueError
        naming its condition). ``arrays``: q, k, v (and a backward's O, dO); ``flags``: its mask_grad."""
        q, k, v = arrays[:3]
        _check_shapes(name, q, k, v)
        if not self.takes(*arrays, mask=mask, dropout_p=dropout_p, **flags):
            got = [f"{q.shape}:{q.dtype}", str(k.shape), str(v.shape), *(f"{f}={x}" for f, x in flags.items())]
            raise ValueError(f"{name}: takes only {self.condition}; got {', '.join(got)}")
        return _shape(q, k, v)

    def _launch(
        self, name: str, backward: bool, qkv: tuple[Any, Any, Any], tensors: tuple[Any, ...], options: tuple, lse: Any
    ) -> None:
        """Launch the forward (or ``backward``) kernel with flash_common.cuh's argument list: (q, k, v,
        ``tensors`` (O and lse, or the backward's), shapes and strides, scale, causal, mask, dropout), one
        block per ``tiles`` rows (of queries forward, keys backward) of each head. ``options``: the call's
        (mask, is_causal, scale, dropout_p, seed, offset); ``lse`` stands in for an absent mask's pointer."""
        q, k, v = qkv
        mask, is_causal, scale, *dropout = options
        b, hq, hkv, lq, lk, d, dv = _shape(q, k, v)
        instance, rows, threads, smem = self.tiles(q, d, dv, backward)
        grid = (ceil_div(lk, rows), hkv, b) if backward else (ceil_div(lq, rows), hq, b)
        (q, qs), (k, ks), (v, vs) = (_bhld(name, label, x, self.align) for label, x in (("q", q), ("k", k), ("v", v)))
        mask_array, kind, ms = _mask_operand(name, mask, q, k, lse)
        shape_args = (*(np.int32(x) for x in (b, hq, hkv, lq, lk, d, dv)), *(np.int64(s) for s in (*qs, *ks, *vs)))
        scalars = (np.float32(scale), np.int32(bool(is_causal)), mask_array, np.int32(kind), *(np.int64(s) for s in ms))
        _check_grid(name, grid)
        fn = kernel(SOURCES / self.source, instance, [instance])
        if smem > 48 * 1024:  # a block gets more than 48 KB of dynamic shared memory only when asked for
            fn.max_dynamic_shared_size_bytes = smem
        fn(grid, (threads,), (q, k, v, *tensors, *shape_args, *scalars, *_dropout(*dropout)), shared_mem=smem)


SIMT = _Flash(
    name="flash_simt",
    source="flash_simt.cu",
    dtypes=("float32",),
    takes=_simt_takes,
    condition=SIMT_CONDITION,
    align=1,
    tiles=_simt_tiles,
    summaries=(
        "CUDA C FlashAttention-2, FP32 SIMT: K/V tiles in shared memory, online softmax in registers",
        "CUDA C FlashAttention-2 backward, FP32 SIMT: dK/dV per key in registers, dQ by atomicAdd",
    ),
)
MMA = _Flash(
    name="flash_mma",
    source="flash_mma.cu",
    dtypes=("float16",),
    takes=_mma_takes,
    condition=MMA_CONDITION,
    align=8,
    tiles=_mma_tiles,
    summaries=(
        "CUDA C FlashAttention-2 on tensor cores: mma.sync m16n8k16, ldmatrix, cp.async, Q in registers",
        "CUDA C FlashAttention-2 backward on tensor cores: five mma.sync products per tile, dQ by atomicAdd",
    ),
)


def _registered(variant: _Flash) -> tuple[Callable[..., Any], ...]:
    """Register ``variant``'s forward and backward on "cuda" (not the default) and return them."""
    launchers = (("attention", variant.forward), ("attention_backward", variant.backward))
    return tuple(
        register(op, "cuda", variant.name, summary, variant.dtypes, when=variant.takes, condition=variant.condition)(fn)
        for (op, fn), summary in zip(launchers, variant.summaries, strict=True)
    )


simt_forward, simt_backward = _registered(SIMT)
mma_forward, mma_backward = _registered(MMA)


def attention_flops(b: int, h: int, lq: int, lk: int, d: int, causal: bool) -> int:
    """Forward FLOPs of the two products QKᵀ and PV (4·B·H·Lq·Lk·D), about half when causal."""
    full = 4 * b * h * lq * lk * d
    return full // 2 if causal else full
