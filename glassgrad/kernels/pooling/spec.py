"""The max-pooling ops' validation cases, benchmark inputs and work counts.

``max_pool2d_argmax`` (x, kernel_size, stride, padding, dilation, ceil_mode) -> int64
indices, and ``max_pool2d_grad`` (dy, indices, input_size) -> dx.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..registry import Case, OpSpec, define_op
from .geometry import pool2d_output_shape
from .reference import max_pool2d_argmax

#: (name, (N, C, H, W), kernel, stride, padding, dilation, ceil_mode)
GEOMETRIES = [
    ("1x1, kernel 1", (1, 1, 1, 1), (1, 1), (1, 1), (0, 0), (1, 1), False),
    ("7x7, kernel 2", (2, 3, 7, 7), (2, 2), (2, 2), (0, 0), (1, 1), False),
    ("33x33, kernel 3, stride 2, pad 1", (2, 2, 33, 33), (3, 3), (2, 2), (1, 1), (1, 1), False),
    ("7x7, kernel 2, ceil_mode", (1, 3, 7, 7), (2, 2), (2, 2), (0, 0), (1, 1), True),
    ("9x11, kernel 3, dilation 2, pad 1", (2, 1, 9, 11), (3, 3), (1, 1), (1, 1), (2, 2), False),
    ("7x33, kernel (2,3), stride (1,2), ceil_mode, pad (1,1)", (1, 5, 7, 33), (2, 3), (1, 2), (1, 1), (1, 1), True),
    ("overlapping windows, kernel 3, stride 1", (1, 2, 8, 6), (3, 3), (1, 1), (0, 0), (1, 1), False),
]


def _rand(shape: tuple[int, ...], dtype: Any, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def _options(kernel: tuple, stride: tuple, padding: tuple, dilation: tuple, ceil_mode: bool) -> dict[str, Any]:
    return {"kernel_size": kernel, "stride": stride, "padding": padding, "dilation": dilation, "ceil_mode": ceil_mode}


def argmax_cases(xp: Any, dtype: Any) -> list[Case]:
    """The geometries, ties (small integers), NaNs, a permuted (NHWC memory) and a sliced input."""
    out = [
        Case(name, (xp.asarray(_rand(shape, dtype, i)),), _options(*rest))
        for i, (name, shape, *rest) in enumerate(GEOMETRIES)
    ]
    ties = np.random.default_rng(20).integers(0, 3, (2, 2, 9, 9)).astype(dtype)
    out.append(
        Case(
            "ties (values in {0, 1, 2}), kernel 3, stride 2",
            (xp.asarray(ties),),
            _options((3, 3), (2, 2), (1, 1), (1, 1), False),
        )
    )
    ties_and_nans = np.random.default_rng(23).integers(0, 3, (2, 3, 8, 10)).astype(dtype)
    ties_and_nans[ties_and_nans == 0] = np.nan if np.dtype(dtype).kind == "f" else 0
    out.append(
        Case(
            "ties and NaNs, kernel 2, stride 2 (the 2x2 fast path)",
            (xp.asarray(ties_and_nans),),
            _options((2, 2), (2, 2), (0, 0), (1, 1), False),
        )
    )
    nhwc = xp.asarray(_rand((2, 10, 9, 3), dtype, 21)).transpose(0, 3, 1, 2)
    out.append(Case("permuted x (NHWC memory)", (nhwc,), _options((2, 2), (2, 2), (0, 0), (1, 1), True)))
    sliced = xp.asarray(_rand((3, 6, 20, 15), dtype, 22))[::2, 1:4, ::2, 2:]
    out.append(Case("sliced x[::2, 1:4, ::2, 2:]", (sliced,), _options((3, 3), (2, 2), (1, 1), (1, 1), False)))
    return out


def _grad_case(case: Case, xp: Any, dtype: Any, seed: int) -> Case:
    (x,) = case.args
    indices = xp.asarray(max_pool2d_argmax(np.asarray(x), **case.kwargs))
    grad_output = xp.asarray(_rand(indices.shape, dtype, seed + 100))
    return Case(case.name, (grad_output, indices, tuple(x.shape)))


def grad_cases(xp: Any, dtype: Any) -> list[Case]:
    return [_grad_case(case, xp, dtype, i) for i, case in enumerate(argmax_cases(np, dtype))]


def argmax_inputs(size: str, xp: Any, dtype: Any) -> Case:
    """ "NxCxHxWxK": a K×K window with stride K (the usual downsampling)."""
    dims = [int(d) for d in size.lower().split("x")]
    if len(dims) != 5:
        raise RuntimeError(f"max_pool2d: size {size!r} should be NxCxHxWxK")
    *shape, k = dims
    return Case(size, (xp.asarray(_rand(tuple(shape), dtype, 0)),), _options((k, k), (k, k), (0, 0), (1, 1), False))


def grad_inputs(size: str, xp: Any, dtype: Any) -> Case:
    return _grad_case(argmax_inputs(size, np, dtype), xp, dtype, 0)


def _outputs(case: Case) -> int:
    (x,) = case.args
    return int(np.prod(pool2d_output_shape("max_pool2d", x.shape, **case.kwargs)))


def argmax_flops(case: Case) -> int:
    """One comparison per window tap."""
    return _outputs(case) * int(np.prod(case.kwargs["kernel_size"]))


def argmax_bytes(case: Case) -> int:
    """The input read once, an int64 index written per output."""
    (x,) = case.args
    return x.size * x.dtype.itemsize + _outputs(case) * 8


def grad_flops(case: Case) -> int:
    """One add per output."""
    return int(case.args[0].size)


def grad_bytes(case: Case) -> int:
    grad_output, indices, input_size = case.args
    return grad_output.nbytes + indices.nbytes + int(np.prod(input_size)) * grad_output.dtype.itemsize


SIZES = {"cpu": ("64x32x26x26x2", "32x64x32x32x2", "8x256x56x56x2")}
ARGMAX = define_op(
    OpSpec(
        "max_pool2d_argmax",
        "int64 flat index of each pooling window's maximum",
        argmax_cases,
        argmax_inputs,
        argmax_flops,
        argmax_bytes,
        SIZES,
        {"float32": 0.0, "float64": 0.0},
    )
)
GRAD = define_op(
    OpSpec(
        "max_pool2d_grad",
        "max pooling's input gradient: dy added onto each arg-max",
        grad_cases,
        grad_inputs,
        grad_flops,
        grad_bytes,
        SIZES,
    )
)
