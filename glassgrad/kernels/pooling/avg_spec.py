"""Average pooling as lab ops: ``avg_pool2d`` (x, kernel_size, stride, padding, ceil_mode,
count_include_pad, divisor_override) -> y and ``avg_pool2d_grad`` (dy, input_size, same options) -> dx.

The reference is separable, as engine/ops/pooling.py computes it: per dim a (out, size) matrix
whose row i holds 1/count over window i's pixels, so y = A · x · Bᵀ per plane and, given
g = dL/dy, dL/dx = Aᵀ · g · B. The count is PyTorch's: the window clipped to the padded input,
its padding included when ``count_include_pad``, only its real pixels otherwise; with
``divisor_override`` every real pixel weighs 1/divisor_override.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...engine.backend import xp_of
from ..registry import Case, OpSpec, define_op, register
from .geometry import average_weights, pool_output_size

#: (name, (N, C, H, W), kernel, stride, padding, ceil_mode, count_include_pad, divisor_override)
GEOMETRIES = [
    ("1x1, kernel 1", (1, 1, 1, 1), (1, 1), (1, 1), (0, 0), False, True, None),
    ("7x7, kernel 2", (2, 3, 7, 7), (2, 2), (2, 2), (0, 0), False, True, None),
    ("33x33, kernel 3, stride 2, pad 1", (2, 2, 33, 33), (3, 3), (2, 2), (1, 1), False, True, None),
    ("pad 1 not counted", (1, 3, 9, 10), (3, 3), (2, 2), (1, 1), False, False, None),
    ("7x7, kernel 2, ceil_mode", (1, 3, 7, 7), (2, 2), (2, 2), (0, 0), True, True, None),
    (
        "7x33, kernel (2,3), stride (1,2), ceil_mode, pad (1,1)",
        (1, 5, 7, 33),
        (2, 3),
        (1, 2),
        (1, 1),
        True,
        False,
        None,
    ),
    ("overlapping windows, divisor_override 5", (1, 2, 8, 6), (3, 3), (1, 1), (1, 1), False, True, 5),
]


def _options(kernel, stride, padding, ceil_mode, count_include_pad, divisor_override) -> dict[str, Any]:
    return {
        "kernel_size": kernel,
        "stride": stride,
        "padding": padding,
        "ceil_mode": ceil_mode,
        "count_include_pad": count_include_pad,
        "divisor_override": divisor_override,
    }


def _rand(shape: tuple[int, ...], dtype: Any, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def output_shape(input_shape: tuple[int, ...], kernel_size, stride, padding, ceil_mode: bool) -> tuple[int, ...]:
    """(N, C, H_out, W_out) of average pooling (no dilation)."""
    n, c, h, w = input_shape
    sizes = (
        pool_output_size("avg_pool2d", size, k, s, p, 1, ceil_mode)
        for size, k, s, p in zip((h, w), kernel_size, stride, padding, strict=True)
    )
    return (n, c, *sizes)


def _separable(like: Any, input_size, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor):
    """(A, B): the window weights of H and W, in ``like``'s array module and dtype."""
    rows, cols = (
        average_weights("avg_pool2d", n, k, s, p, ceil_mode, count_include_pad)
        for n, k, s, p in zip(input_size[2:], kernel_size, stride, padding, strict=True)
    )
    if divisor is not None:
        if divisor < 1:
            raise RuntimeError(f"avg_pool2d: divisor_override must be a positive int, got {divisor!r}")
        rows, cols = (rows > 0) / divisor, (cols > 0) * 1.0
    xp = xp_of(like)
    return xp.asarray(rows, dtype=like.dtype), xp.asarray(cols, dtype=like.dtype)


@register("avg_pool2d", "cuda", "reference", "separable window weights, two CuPy matmuls", reference=True)
@register("avg_pool2d", "cpu", "reference", "separable window weights, two NumPy matmuls", reference=True)
def avg_pool2d(
    input: Any,  # PyTorch's name
    kernel_size: tuple[int, int],
    stride: tuple[int, int],
    padding: tuple[int, int],
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> Any:
    """y = A · x · Bᵀ per (H, W) plane."""
    rows, cols = _separable(
        input, input.shape, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override
    )
    return rows @ input @ cols.T


@register("avg_pool2d_grad", "cuda", "reference", "separable window weights, Aᵀ · g · B in CuPy", reference=True)
@register("avg_pool2d_grad", "cpu", "reference", "separable window weights, Aᵀ · g · B in NumPy", reference=True)
def avg_pool2d_grad(
    grad_output: Any,
    input_size: tuple[int, int, int, int],
    kernel_size: tuple[int, int],
    stride: tuple[int, int],
    padding: tuple[int, int],
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> Any:
    """dL/dx = Aᵀ · g · B per plane, given g = dL/dy."""
    rows, cols = _separable(
        grad_output, input_size, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override
    )
    return rows.T @ grad_output @ cols


def forward_cases(xp: Any, dtype: Any) -> list[Case]:
    """The geometries, a permuted (NHWC memory) and a sliced input."""
    out = [
        Case(name, (xp.asarray(_rand(shape, dtype, i)),), _options(*rest))
        for i, (name, shape, *rest) in enumerate(GEOMETRIES)
    ]
    nhwc = xp.asarray(_rand((2, 10, 9, 3), dtype, 21)).transpose(0, 3, 1, 2)
    out.append(Case("permuted x (NHWC memory)", (nhwc,), _options((2, 2), (2, 2), (0, 0), True, True, None)))
    sliced = xp.asarray(_rand((3, 6, 20, 15), dtype, 22))[::2, 1:4, ::2, 2:]
    out.append(Case("sliced x[::2, 1:4, ::2, 2:]", (sliced,), _options((3, 3), (2, 2), (1, 1), False, False, None)))
    return out


def grad_cases(xp: Any, dtype: Any) -> list[Case]:
    """The forward cases' geometries with an output gradient of the output's shape (a transposed one too)."""
    out = []
    for i, case in enumerate(forward_cases(np, dtype)):
        (x,) = case.args
        shape = output_shape(
            x.shape, case.kwargs["kernel_size"], case.kwargs["stride"], case.kwargs["padding"], case.kwargs["ceil_mode"]
        )
        grad = xp.asarray(_rand(shape, dtype, 100 + i))
        if i == 2:
            grad = xp.asarray(np.ascontiguousarray(_rand(shape, dtype, 100 + i).swapaxes(2, 3))).swapaxes(2, 3)
        out.append(Case(case.name, (grad, tuple(x.shape)), case.kwargs))
    return out


def forward_inputs(size: str, xp: Any, dtype: Any) -> Case:
    """ "NxCxHxWxK": a K×K window with stride K."""
    dims = [int(d) for d in size.lower().split("x")]
    if len(dims) != 5:
        raise RuntimeError(f"avg_pool2d: size {size!r} should be NxCxHxWxK")
    *shape, k = dims
    return Case(size, (xp.asarray(_rand(tuple(shape), dtype, 0)),), _options((k, k), (k, k), (0, 0), False, True, None))


def grad_inputs(size: str, xp: Any, dtype: Any) -> Case:
    case = forward_inputs(size, np, dtype)
    (x,) = case.args
    shape = output_shape(x.shape, case.kwargs["kernel_size"], case.kwargs["stride"], case.kwargs["padding"], False)
    return Case(size, (xp.asarray(_rand(shape, dtype, 1)), tuple(x.shape)), case.kwargs)


def _forward_flops(case: Case) -> int:
    (x,) = case.args
    shape = output_shape(
        x.shape, case.kwargs["kernel_size"], case.kwargs["stride"], case.kwargs["padding"], case.kwargs["ceil_mode"]
    )
    return int(np.prod(shape)) * int(np.prod(case.kwargs["kernel_size"]))


def _forward_bytes(case: Case) -> int:
    (x,) = case.args
    return 2 * x.size * x.dtype.itemsize


def _grad_flops(case: Case) -> int:
    return int(case.args[0].size) * int(np.prod(case.kwargs["kernel_size"]))


def _grad_bytes(case: Case) -> int:
    grad_output, input_size = case.args
    return grad_output.nbytes + int(np.prod(input_size)) * grad_output.dtype.itemsize


SIZES = {"cpu": ("64x32x26x26x2", "32x64x32x32x2", "8x256x56x56x2")}
FORWARD = define_op(
    OpSpec(
        "avg_pool2d",
        "y = mean of each pooling window (PyTorch's divisor)",
        forward_cases,
        forward_inputs,
        _forward_flops,
        _forward_bytes,
        SIZES,
    )
)
GRAD = define_op(
    OpSpec(
        "avg_pool2d_grad",
        "average pooling's input gradient: each g spread evenly over its window",
        grad_cases,
        grad_inputs,
        _grad_flops,
        _grad_bytes,
        SIZES,
    )
)
