"""Max and average pooling, forward and backward, as CUDA C kernels (cuda/pool2d.cu), one thread
per result element; registered on cuda as ``cuda_c`` (float32 and float64), not the default
(not yet run on a GPU).

    max_pool2d_argmax   the flat h·W + w index of each window's maximum (PyTorch's NaN rule)
    max_pool2d_grad     dL/dx: each g added onto its window's arg-max (atomicAdd)
    avg_pool2d          y = Σ_window x / divisor
    avg_pool2d_grad     dL/dx[h, w] = Σ_{windows holding (h, w)} g / divisor (a gather per x element)

The array a kernel reads is read through its strides (a channels_last input needs no copy, and
its threads walk channels fastest); results are contiguous NCHW.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ...engine import backend
from ..cuda.compile import ceil_div, kernel
from ..registry import register
from .avg_spec import output_shape as avg_output_shape
from .geometry import check_indices, pool2d_output_shape

SOURCE = Path(__file__).parent / "cuda" / "pool2d.cu"
THREADS = 256
KERNELS = ("max_pool2d_argmax", "max_pool2d_scatter_grad", "avg_pool2d_forward", "avg_pool2d_backward")
ELEMENTS = {"float32": "float", "float64": "double"}
DTYPES = tuple(ELEMENTS)


def instances(file: str) -> list[str]:
    """Every template instance of ``file`` the launchers ask NVRTC for."""
    return [f"{name}<{t}>" for name in KERNELS for t in ELEMENTS.values()] if file == SOURCE.name else []


def _kernel(name: str, dtype: Any) -> Any:
    return kernel(SOURCE, f"{name}<{ELEMENTS[str(dtype)]}>", instances(SOURCE.name))


def _check_dtype(op: str, *arrays: Any) -> None:
    if any(str(a.dtype) not in DTYPES for a in arrays) or len({str(a.dtype) for a in arrays}) != 1:
        shown = ", ".join(f"{a.shape}:{a.dtype}" for a in arrays)
        raise TypeError(f"{op}(cuda, cuda_c): expects float32 or float64 arrays of one dtype, got {shown}")


def channels_last(a: Any) -> bool:
    """Whether an (N, C, H, W) array's channels are its contiguous dim."""
    _, c, _, w = a.shape
    s_c, s_w = a.strides[1] // a.itemsize, a.strides[3] // a.itemsize
    return c > 1 and s_c == 1 and (w == 1 or s_w != 1)


def pool_args(read: Any, input_shape, output_hw, kernel_size, stride, padding, dilation) -> tuple[Any, ...]:
    """POOL_INT_ARGS: sizes, window, the read array's element strides, its thread order."""
    n, c, h, w = input_shape
    strides = (np.int64(s // read.itemsize) for s in read.strides)
    window = (*kernel_size, *stride, *padding, *dilation)
    return (*(np.int32(v) for v in (n, c, h, w, *output_hw, *window)), *strides, np.int32(channels_last(read)))


def _launch(name: str, dtype: Any, count: int, arrays: tuple, ints: tuple) -> None:
    if count:
        _kernel(name, dtype)((ceil_div(count, THREADS),), (THREADS,), (*arrays, *ints))


_TAKES = {"dtypes": DTYPES}


@register("max_pool2d_argmax", "cuda", "cuda_c", "CUDA C: one thread per output scans its window", **_TAKES)
def max_pool2d_argmax(
    input: Any,  # PyTorch's name
    kernel_size: tuple[int, int],
    stride: tuple[int, int],
    padding: tuple[int, int],
    dilation: tuple[int, int] = (1, 1),
    ceil_mode: bool = False,
) -> Any:
    """int64 (N, C, H_out, W_out): the flat h·W + w index of each window's maximum."""
    _check_dtype("max_pool2d_argmax", input)
    shape = pool2d_output_shape("max_pool2d", input.shape, kernel_size, stride, padding, dilation, ceil_mode)
    xp = backend.xp_of(input)
    indices = xp.empty(shape, dtype=xp.int64)
    ints = pool_args(input, input.shape, shape[2:], kernel_size, stride, padding, dilation)
    _launch("max_pool2d_argmax", input.dtype, indices.size, (input, indices), ints)
    return indices


@register("max_pool2d_grad", "cuda", "cuda_c", "CUDA C: one thread per output adds g onto its arg-max", **_TAKES)
def max_pool2d_grad(grad_output: Any, indices: Any, input_size: tuple[int, int, int, int]) -> Any:
    """dL/dx: zero except at each window's arg-max, which gets the sum of its windows' dL/dy."""
    _check_dtype("max_pool2d_grad", grad_output)
    check_indices(grad_output, indices)
    xp = backend.xp_of(grad_output)
    dx = xp.zeros(tuple(input_size), dtype=grad_output.dtype)
    indices = xp.ascontiguousarray(indices, dtype=xp.int64)
    window = ((1, 1), (1, 1), (0, 0), (1, 1))  # unused: the indices say where each g goes
    ints = pool_args(grad_output, input_size, grad_output.shape[2:], *window)
    _launch("max_pool2d_scatter_grad", grad_output.dtype, grad_output.size, (grad_output, indices, dx), ints)
    return dx


def _avg_ints(read: Any, input_size, output_hw, kernel_size, stride, padding, count_include_pad, divisor_override):
    if divisor_override is not None and divisor_override < 1:
        raise RuntimeError(f"avg_pool2d: divisor_override must be a positive int, got {divisor_override!r}")
    ints = pool_args(read, input_size, output_hw, kernel_size, stride, padding, (1, 1))
    return (*ints, np.int32(bool(count_include_pad)), np.int32(divisor_override or 0))


@register("avg_pool2d", "cuda", "cuda_c", "CUDA C: one thread per output sums its window", **_TAKES)
def avg_pool2d(
    input: Any,  # PyTorch's name
    kernel_size: tuple[int, int],
    stride: tuple[int, int],
    padding: tuple[int, int],
    ceil_mode: bool = False,
    count_include_pad: bool = True,
    divisor_override: int | None = None,
) -> Any:
    """y = Σ_window x / divisor (PyTorch's divisor)."""
    _check_dtype("avg_pool2d", input)
    shape = avg_output_shape(input.shape, kernel_size, stride, padding, ceil_mode)
    xp = backend.xp_of(input)
    y = xp.empty(shape, dtype=input.dtype)
    ints = _avg_ints(input, input.shape, shape[2:], kernel_size, stride, padding, count_include_pad, divisor_override)
    _launch("avg_pool2d_forward", input.dtype, y.size, (input, y), ints)
    return y


@register("avg_pool2d_grad", "cuda", "cuda_c", "CUDA C: one thread per input pixel gathers g / divisor", **_TAKES)
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
    """dL/dx[h, w] = Σ over the windows holding (h, w) of g / divisor, given g = dL/dy."""
    _check_dtype("avg_pool2d_grad", grad_output)
    shape = avg_output_shape(tuple(input_size), kernel_size, stride, padding, ceil_mode)
    if tuple(grad_output.shape) != shape:
        raise ValueError(f"avg_pool2d_grad: grad_output {grad_output.shape} should be {shape}")
    xp = backend.xp_of(grad_output)
    dx = xp.empty(tuple(input_size), dtype=grad_output.dtype)
    ints = _avg_ints(
        grad_output, input_size, shape[2:], kernel_size, stride, padding, count_include_pad, divisor_override
    )
    _launch("avg_pool2d_backward", grad_output.dtype, dx.size, (grad_output, dx), ints)
    return dx
