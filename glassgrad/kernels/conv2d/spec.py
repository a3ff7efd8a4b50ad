"""The conv2d ops' validation cases, benchmark inputs and work counts.

Three ops share one set of geometries: ``conv2d`` (x, weight, bias) -> y,
``conv2d_grad_input`` (dy, weight, input_size) -> dx and ``conv2d_grad_weight``
(x, dy, weight_size) -> dW; each takes stride, padding, dilation (pairs) and groups.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..registry import Case, OpSpec, define_op
from .geometry import ConvGeometry

#: (name, (N, C, H, W), (O, C/groups, kh, kw), stride, padding, dilation, groups)
GEOMETRIES = [
    ("1x1 image, 1x1 kernel", (1, 1, 1, 1), (1, 1, 1, 1), (1, 1), (0, 0), (1, 1), 1),
    ("7x7, 3->5, 3x3", (2, 3, 7, 7), (5, 3, 3, 3), (1, 1), (0, 0), (1, 1), 1),
    ("33x33, stride 2, pad 1", (2, 2, 33, 33), (4, 2, 3, 3), (2, 2), (1, 1), (1, 1), 1),
    ("7x33, 3x5 kernel, pad (1,2), dilation (2,1)", (1, 3, 7, 33), (2, 3, 3, 5), (1, 1), (1, 2), (2, 1), 1),
    ("groups 3, 6->9", (2, 6, 7, 7), (9, 2, 3, 3), (1, 1), (1, 1), (1, 1), 3),
    ("depthwise 4->8, stride (2,1)", (1, 4, 7, 9), (8, 1, 3, 3), (2, 1), (1, 1), (1, 1), 4),
    ("stride 3 leaves a remainder", (1, 1, 33, 7), (3, 1, 2, 2), (3, 3), (0, 0), (1, 1), 1),
    ("kernel 7 fills padded 5x5", (1, 2, 5, 5), (3, 2, 7, 7), (1, 1), (1, 1), (1, 1), 1),
    ("odd channels 7->3, 1x1", (3, 7, 5, 4), (3, 7, 1, 1), (1, 1), (0, 0), (1, 1), 1),
    ("padding larger than kernel", (1, 1, 4, 4), (2, 1, 2, 2), (2, 2), (3, 3), (1, 1), 1),
]


def _rand(shape: tuple[int, ...], dtype: Any, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def _options(stride: tuple, padding: tuple, dilation: tuple, groups: int) -> dict[str, Any]:
    return {"stride": stride, "padding": padding, "dilation": dilation, "groups": groups}


def _problems(xp: Any, dtype: Any) -> list[tuple[str, Any, Any, Any, Any, dict[str, Any]]]:
    """(name, x, weight, bias, dy, options) for every geometry, plus non-contiguous inputs."""
    out = []
    for seed, (name, x_shape, w_shape, stride, padding, dilation, groups) in enumerate(GEOMETRIES):
        g = ConvGeometry.of(x_shape, w_shape, stride, padding, dilation, groups)
        bias = _rand((w_shape[0],), dtype, seed + 2) if seed % 2 else None
        arrays = _rand(x_shape, dtype, seed), _rand(w_shape, dtype, seed + 1), _rand(g.output_shape, dtype, seed + 3)
        x, w, dy = (xp.asarray(a) for a in arrays)
        out.append(
            (name, x, w, None if bias is None else xp.asarray(bias), dy, _options(stride, padding, dilation, groups))
        )
    options = _options((1, 1), (1, 1), (1, 1), 1)
    nhwc = xp.asarray(_rand((2, 9, 11, 3), dtype, 50)).transpose(0, 3, 1, 2)  # an NCHW view of NHWC memory
    w = xp.asarray(_rand((4, 3, 3, 3), dtype, 51))
    dy = xp.asarray(_rand((2, 4, 11, 9), dtype, 52)).transpose(0, 1, 3, 2)
    out.append(("permuted x (NHWC memory), transposed dy", nhwc, w, None, dy, options))
    sliced = xp.asarray(_rand((3, 6, 20, 15), dtype, 53))[::2, 1:4, ::2, 2:]
    w_sliced = xp.asarray(_rand((5, 6, 3, 3), dtype, 54))[:, ::2]
    dy_sliced = xp.asarray(_rand((2, 10, 10, 13), dtype, 55))[:, ::2]
    out.append(("sliced x[::2, 1:4, ::2, 2:], sliced weight and dy", sliced, w_sliced, None, dy_sliced, options))
    return out


def forward_cases(xp: Any, dtype: Any) -> list[Case]:
    return [Case(name, (x, w, b), opts) for name, x, w, b, _, opts in _problems(xp, dtype)]


def grad_input_cases(xp: Any, dtype: Any) -> list[Case]:
    return [Case(name, (dy, w, tuple(x.shape)), opts) for name, x, w, _, dy, opts in _problems(xp, dtype)]


def grad_weight_cases(xp: Any, dtype: Any) -> list[Case]:
    return [Case(name, (x, dy, tuple(w.shape)), opts) for name, x, w, _, dy, opts in _problems(xp, dtype)]


def parse_size(size: str) -> tuple[tuple[int, ...], tuple[int, ...], int]:
    """ "NxCxHxWxOxK[xP]": batch, channels in, height, width, channels out, square kernel, padding (0)."""
    dims = [int(d) for d in size.lower().split("x")]
    if len(dims) not in (6, 7):
        raise ValueError(f"conv2d: size {size!r} should be NxCxHxWxOxK or NxCxHxWxOxKxP (P = padding)")
    n, c, h, w, o, k, *pad = dims
    return (n, c, h, w), (o, c, k, k), pad[0] if pad else 0


def _benchmark_problem(size: str, xp: Any, dtype: Any) -> tuple[Any, Any, Any, dict[str, Any]]:
    x_shape, w_shape, pad = parse_size(size)
    options = _options((1, 1), (pad, pad), (1, 1), 1)
    g = ConvGeometry.of(x_shape, w_shape, **options)
    x, w, dy = (xp.asarray(_rand(s, dtype, i)) for i, s in enumerate((x_shape, w_shape, g.output_shape)))
    return x, w, dy, options


def forward_inputs(size: str, xp: Any, dtype: Any) -> Case:
    x, w, _, options = _benchmark_problem(size, xp, dtype)
    return Case(size, (x, w, xp.asarray(_rand((w.shape[0],), dtype, 9))), options)


def grad_input_inputs(size: str, xp: Any, dtype: Any) -> Case:
    x, w, dy, options = _benchmark_problem(size, xp, dtype)
    return Case(size, (dy, w, tuple(x.shape)), options)


def grad_weight_inputs(size: str, xp: Any, dtype: Any) -> Case:
    x, w, dy, options = _benchmark_problem(size, xp, dtype)
    return Case(size, (x, dy, tuple(w.shape)), options)


def _work(input_size_of: Any, weight_size_of: Any) -> tuple[Any, Any]:
    """flops(case) and bytes(case) for an op whose case names the input and weight shapes this way."""

    def geometry(case: Case) -> ConvGeometry:
        return ConvGeometry.of(input_size_of(case.args), weight_size_of(case.args), **case.kwargs)

    def flops(case: Case) -> int:
        return geometry(case).flops()

    def bytes_moved(case: Case) -> int:
        """Input, weight and output each read or written once."""
        g = geometry(case)
        itemsize = np.dtype(case.args[1].dtype).itemsize
        return (int(np.prod(g.input_shape)) + int(np.prod(g.weight_shape)) + int(np.prod(g.output_shape))) * itemsize

    return flops, bytes_moved


def _define(op: str, description: str, cases: Any, make_inputs: Any, input_size_of: Any, weight_size_of: Any) -> OpSpec:
    flops, bytes_moved = _work(input_size_of, weight_size_of)
    return define_op(
        OpSpec(
            op=op,
            description=description,
            cases=cases,
            make_inputs=make_inputs,
            flops=flops,
            bytes=bytes_moved,
            default_sizes={"cpu": ("64x1x28x28x32x3", "32x64x32x32x64x3x1", "16x128x16x16x128x3x1")},
            tolerance={"float32": 1e-5, "float64": 1e-12},
        )
    )


FORWARD = _define(
    "conv2d",
    "y = conv2d(x, weight, bias), NCHW, weight (O, C/groups, kh, kw)",
    forward_cases,
    forward_inputs,
    lambda args: args[0].shape,
    lambda args: args[1].shape,
)
GRAD_INPUT = _define(
    "conv2d_grad_input",
    "dx = conv2d's input gradient (a transposed convolution of dy)",
    grad_input_cases,
    grad_input_inputs,
    lambda args: args[2],
    lambda args: args[1].shape,
)
GRAD_WEIGHT = _define(
    "conv2d_grad_weight",
    "dW = conv2d's weight gradient (dy correlated with x, summed over the batch)",
    grad_weight_cases,
    grad_weight_inputs,
    lambda args: args[0].shape,
    lambda args: args[2],
)
