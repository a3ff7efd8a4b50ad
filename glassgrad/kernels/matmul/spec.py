"""The matmul op's validation cases, benchmark inputs and work counts."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..registry import Case, OpSpec, define_op


def _rand(xp: Any, shape: tuple[int, ...], dtype: Any, seed: int) -> Any:
    """Normal samples; dtype "bfloat16" gives bf16 bit patterns in uint16 (see cuda/bfloat16.py)."""
    values = np.random.default_rng(seed).standard_normal(shape)
    if str(dtype) == "bfloat16":
        from ..cuda.bfloat16 import to_bfloat16_bits

        return xp.asarray(to_bfloat16_bits(values.astype(np.float32)))
    return xp.asarray(values.astype(dtype))


def cases(xp: Any, dtype: Any) -> list[Case]:
    """Sizes off every tile (1, 7, 33, 127, 1000), non-square, transposed views, batches."""
    out = []
    for i, (m, k, n) in enumerate(
        [
            (1, 1, 1),
            (7, 7, 7),
            (33, 33, 33),
            (127, 127, 127),
            (1000, 33, 7),
            (7, 1000, 33),
            (33, 7, 1000),
            (64, 64, 64),
            (130, 67, 129),
        ]
    ):
        out.append(Case(f"{m}x{k}x{n}", (_rand(xp, (m, k), dtype, i), _rand(xp, (k, n), dtype, i + 100))))
    a, b = _rand(xp, (45, 37), dtype, 7), _rand(xp, (29, 45), dtype, 8)
    out.append(Case("transposed A and B (37x45 @ 45x29)", (a.T, b.T)))
    c = _rand(xp, (66, 50), dtype, 9)
    out.append(Case("strided slice A[::2, 1:34]", (c[::2, 1:34], _rand(xp, (33, 17), dtype, 10))))
    out.append(Case("batched 5x(33x17 @ 17x9)", (_rand(xp, (5, 33, 17), dtype, 11), _rand(xp, (5, 17, 9), dtype, 12))))
    bt = _rand(xp, (3, 19, 21), dtype, 13)
    out.append(Case("batched, B transposed", (_rand(xp, (3, 7, 21), dtype, 14), bt.transpose(0, 2, 1))))
    return out


def make_inputs(size: str, xp: Any, dtype: Any) -> Case:
    """ "N" is an N×N×N product; "MxKxN" a rectangular one; "BxMxKxN" batched."""
    dims = [int(d) for d in size.lower().split("x")]
    if len(dims) == 1:
        dims = dims * 3
    *batch, m, k, n = dims
    return Case(size, (_rand(xp, (*batch, m, k), dtype, 0), _rand(xp, (*batch, k, n), dtype, 1)))


def flops(case: Case) -> int:
    """2·M·N·K per product (a multiply and an add per term), times the batch."""
    a, b = case.args
    return 2 * int(np.prod(a.shape[:-1])) * a.shape[-1] * b.shape[-1]


def bytes_moved(case: Case) -> int:
    """A and B read once, C written once."""
    a, b = case.args
    out = int(np.prod(a.shape[:-1])) * b.shape[-1]
    return (
        (a.size + b.size) * a.dtype.itemsize + out * 4
        if a.dtype.itemsize == 2
        else (a.size + b.size + out) * a.dtype.itemsize
    )


SPEC = define_op(
    OpSpec(
        op="matmul",
        description="C = A @ B, (M,K)@(K,N) or batched (B,M,K)@(B,K,N)",
        cases=cases,
        make_inputs=make_inputs,
        flops=flops,
        bytes=bytes_moved,
        tolerance={"float32": 1e-4, "float64": 1e-10, "bfloat16": 3e-2},  # bf16: 8 mantissa bits per input
        default_sizes={
            "cpu": ("256", "512", "1024", "2048"),
            "cuda": ("1024", "2048", "4096", "8192", "4097", "1000x4096x333"),
        },
    )
)
