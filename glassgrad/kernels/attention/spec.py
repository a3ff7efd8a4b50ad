"""The attention ops' validation cases, benchmark inputs and work counts.

Size strings are "BxHxLxD" (self-attention, L queries and keys), optionally
with "c" appended for causal (e.g. "8x8x512x64c").
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..registry import Case, OpSpec, define_op


def _rand(xp: Any, shape: tuple[int, ...], dtype: Any, seed: int) -> Any:
    return xp.asarray(np.random.default_rng(seed).standard_normal(shape).astype(dtype))


def _qkv(xp: Any, n: int, lq: int, lk: int, d: int, dtype: Any, seed: int, transposed: bool = False) -> tuple[Any, ...]:
    if transposed:  # (N, L, D) views of (L, N, D) arrays: non-contiguous inputs
        return tuple(
            _rand(xp, (length, n, d), dtype, seed + i).transpose(1, 0, 2) for i, length in enumerate((lq, lk, lk))
        )
    return (
        _rand(xp, (n, lq, d), dtype, seed),
        _rand(xp, (n, lk, d), dtype, seed + 1),
        _rand(xp, (n, lk, d), dtype, seed + 2),
    )


def _forward_cases(xp: Any, dtype: Any) -> list[tuple[str, tuple[Any, ...], dict[str, Any]]]:
    out = []
    for i, (n, lq, lk, d, causal) in enumerate(
        [
            (1, 1, 1, 8, False),
            (2, 7, 7, 16, True),
            (3, 33, 33, 8, False),
            (2, 127, 127, 64, True),
            (2, 33, 70, 16, False),
            (1, 70, 33, 16, True),
            (2, 130, 129, 8, True),
        ]
    ):
        out.append(
            (
                f"N{n} Lq{lq} Lk{lk} D{d}{' causal' if causal else ''}",
                _qkv(xp, n, lq, lk, d, dtype, i),
                {"is_causal": causal, "scale": d**-0.5},
            )
        )
    q, k, v = _qkv(xp, 2, 33, 40, 16, dtype, 50, transposed=True)
    out.append(("non-contiguous q/k/v", (q, k, v), {"scale": 0.3}))
    rng = np.random.default_rng(60)
    additive = xp.asarray(rng.standard_normal((1, 33, 40)).astype(dtype))
    out.append(
        ("additive mask broadcast over N", _qkv(xp, 2, 33, 40, 16, dtype, 61), {"mask": additive, "scale": 0.25})
    )
    hidden = xp.asarray(np.where(rng.random((2, 1, 40)) < 0.3, -np.inf, 0.0).astype(dtype))
    hidden[..., 0] = 0  # every query keeps at least one key
    out.append(
        (
            "key-padding mask (-inf), causal",
            _qkv(xp, 2, 40, 40, 16, dtype, 62),
            {"mask": hidden, "is_causal": True, "scale": 0.25},
        )
    )
    empty = np.where(rng.random((2, 33, 70)) < 0.3, -np.inf, 0.0)
    empty[0, 3] = -np.inf  # one query that sees no key
    empty[1] = -np.inf  # a head whose keys are all padding: every query block, both key tiles
    out.append(
        (
            "rows with every key hidden (O = 0, lse = 0)",
            _qkv(xp, 2, 33, 70, 16, dtype, 63),
            {"mask": xp.asarray(empty.astype(dtype)), "scale": 0.25},
        )
    )
    return out


def cases(xp: Any, dtype: Any) -> list[Case]:
    return [Case(name, args, kw) for name, args, kw in _forward_cases(xp, dtype)]


def backward_cases(xp: Any, dtype: Any) -> list[Case]:
    """Backward inputs: the forward's outputs from the reference, and a random dO."""
    from .reference import attention_forward

    out = []
    for i, (name, (q, k, v), kw) in enumerate(_forward_cases(xp, dtype)):
        o, lse = attention_forward(q, k, v, **kw)
        grad_out = _rand(xp, o.shape, dtype, 100 + i)
        out.append(Case(name, (q, k, v, o, grad_out, lse), kw))
    return out


def _parse(size: str) -> tuple[int, int, int, int, bool]:
    causal = size.endswith("c")
    b, h, length, d = (int(x) for x in size.rstrip("c").split("x"))
    return b, h, length, d, causal


def make_inputs(size: str, xp: Any, dtype: Any) -> Case:
    b, h, length, d, causal = _parse(size)
    return Case(size, _qkv(xp, b * h, length, length, d, dtype, 0), {"is_causal": causal, "scale": d**-0.5})


def make_backward_inputs(size: str, xp: Any, dtype: Any) -> Case:
    from .reference import attention_forward

    case = make_inputs(size, xp, dtype)
    o, lse = attention_forward(*case.args, **case.kwargs)
    return Case(size, (*case.args, o, _rand(xp, o.shape, dtype, 9), lse), case.kwargs)


def _work(case: Case) -> tuple[int, int, int, int, int]:
    q, k, v = case.args[:3]
    return q.shape[0], q.shape[1], k.shape[1], q.shape[2], v.shape[2]


def flops(case: Case) -> int:
    """Two GEMMs (QKᵀ and PV): 4·N·Lq·Lk·D; causal does about half."""
    n, lq, lk, d, dv = _work(case)
    full = 2 * n * lq * lk * (d + dv)
    return full // 2 if case.kwargs.get("is_causal") else full


def backward_flops(case: Case) -> int:
    """Five GEMMs in the backward (S recomputed, dV, dP, dQ, dK): 2.5× the forward."""
    return flops(case) * 5 // 2


def bytes_moved(case: Case) -> int:
    """Q, K, V read and O written once (what a fused kernel must move)."""
    n, lq, lk, d, dv = _work(case)
    return (n * lq * d + n * lk * (d + dv) + n * lq * dv) * case.args[0].dtype.itemsize


SIZES = {"cpu": ("8x8x512x64", "8x8x512x64c", "1x8x2048x64c"), "cuda": ("8x8x1024x64", "8x8x1024x64c", "4x16x4096x64c")}
TOL = {"float32": 1e-4, "float64": 1e-10}

define_op(
    OpSpec(
        "attention",
        "softmax(QKᵀ·scale + mask) V and the row log-sum-exp",
        cases,
        make_inputs,
        flops,
        bytes_moved,
        SIZES,
        TOL,
    )
)
define_op(
    OpSpec(
        "attention_backward",
        "(dQ, dK, dV) of attention from O, dO and lse",
        backward_cases,
        make_backward_inputs,
        backward_flops,
        lambda case: bytes_moved(case) * 2,
        SIZES,
        TOL,
    )
)
