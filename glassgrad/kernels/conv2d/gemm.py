"""conv2d as matrix products over per-image im2col columns (the reference's GEMM half).

im2col lays the input out as columns: for image n and group g, column l holds
the (C/groups)·kh·kw input pixels that output position l sees. Then

    forward        Y[n, g]      = W[g] · cols[n, g]                (+ bias)
    input grad     dcols[n, g]  = W[g]ᵀ · dY[n, g],   dX = col2im(dcols)
    weight grad    dW[g]        = Σₙ dY[n, g] · cols[n, g]ᵀ

with W[g] the group's weights as an (O/groups, (C/groups)·kh·kw) matrix and
dY[n, g] the output gradient as (O/groups, H_out·W_out). The products run in
BLAS (NumPy's matmul); a variant only supplies ``im2col`` and ``col2im``:

    im2col(x, geometry)    -> cols of shape (N, groups, (C/groups)·kh·kw, H_out·W_out)
    col2im(cols, geometry) -> the (N, C, H, W) sum of every column back onto its pixels
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import numpy as np

from ...engine.backend import xp_of
from ..registry import register
from .geometry import ConvGeometry

Im2col = Callable[[np.ndarray, ConvGeometry], np.ndarray]
Col2im = Callable[[np.ndarray, ConvGeometry], np.ndarray]


def check_dtypes(op: str, *arrays: Any) -> None:
    kinds = {str(a.dtype) for a in arrays if a is not None}
    if len(kinds) != 1 or not kinds <= {"float32", "float64"}:
        shown = ", ".join(f"{a.shape}:{a.dtype}" for a in arrays if a is not None)
        raise TypeError(f"{op}: expected float32 or float64 arrays of one dtype, got {shown}")


def grouped_weight(weight: np.ndarray, geometry: ConvGeometry) -> np.ndarray:
    """W as (groups, O/groups, (C/groups)·kh·kw)."""
    groups = geometry.groups
    return weight.reshape(groups, geometry.out_channels // groups, geometry.column_rows)


def check_grad_output(op: str, grad_output: np.ndarray, geometry: ConvGeometry) -> None:
    if tuple(grad_output.shape) != geometry.output_shape:
        raise ValueError(f"{op}: grad_output {grad_output.shape} should be {geometry.output_shape}")


def grouped_output(y: np.ndarray, geometry: ConvGeometry) -> np.ndarray:
    """An (images, O, H_out, W_out) array as (images, groups, O/groups, H_out·W_out) (a view when contiguous)."""
    groups = geometry.groups
    return y.reshape(len(y), groups, geometry.out_channels // groups, geometry.positions)


def conv2d_with(
    im2col: Im2col,
    input: np.ndarray,  # PyTorch's name
    weight: np.ndarray,
    bias: np.ndarray | None,
    stride: tuple[int, int] = (1, 1),
    padding: tuple[int, int] = (0, 0),
    dilation: tuple[int, int] = (1, 1),
    groups: int = 1,
) -> np.ndarray:
    """Y = W · im2col(X) (+ bias), per image and group; stride, padding, dilation are (h, w) pairs."""
    check_dtypes("conv2d", input, weight, bias)
    geometry = ConvGeometry.of(input.shape, weight.shape, stride, padding, dilation, groups)
    y = xp_of(input).matmul(grouped_weight(weight, geometry), im2col(input, geometry))
    y = y.reshape(geometry.output_shape)
    if bias is not None:
        y += bias.reshape(1, -1, 1, 1)
    return y


def conv2d_grad_input_with(
    col2im: Col2im,
    grad_output: np.ndarray,
    weight: np.ndarray,
    input_size: tuple[int, int, int, int],
    stride: tuple[int, int] = (1, 1),
    padding: tuple[int, int] = (0, 0),
    dilation: tuple[int, int] = (1, 1),
    groups: int = 1,
) -> np.ndarray:
    """dX = col2im(Wᵀ · dY), per image and group."""
    check_dtypes("conv2d_grad_input", grad_output, weight)
    geometry = ConvGeometry.of(input_size, weight.shape, stride, padding, dilation, groups)
    check_grad_output("conv2d_grad_input", grad_output, geometry)
    weight_t = grouped_weight(weight, geometry).transpose(0, 2, 1)
    return col2im(xp_of(weight).matmul(weight_t, grouped_output(grad_output, geometry)), geometry)


def conv2d_grad_weight_with(
    im2col: Im2col,
    input: np.ndarray,  # PyTorch's name
    grad_output: np.ndarray,
    weight_size: tuple[int, int, int, int],
    stride: tuple[int, int] = (1, 1),
    padding: tuple[int, int] = (0, 0),
    dilation: tuple[int, int] = (1, 1),
    groups: int = 1,
) -> np.ndarray:
    """dW = Σₙ dY · im2col(X)ᵀ, per group (the columns are rebuilt, not saved from forward)."""
    check_dtypes("conv2d_grad_weight", input, grad_output)
    geometry = ConvGeometry.of(input.shape, weight_size, stride, padding, dilation, groups)
    check_grad_output("conv2d_grad_weight", grad_output, geometry)
    cols = im2col(input, geometry)
    per_image = xp_of(input).matmul(grouped_output(grad_output, geometry), cols.transpose(0, 1, 3, 2))
    return per_image.sum(axis=0).reshape(geometry.weight_shape)


def register_variants(
    name: str,
    im2col: Im2col,
    col2im: Col2im,
    *,
    forward: str,
    grad_input: str,
    grad_weight: str,
    reference: bool = False,
    default: bool = False,
    devices: tuple[str, ...] = ("cpu",),
) -> None:
    """Register the three ops (conv2d, conv2d_grad_input, conv2d_grad_weight) of one im2col/col2im pair."""
    options = {"reference": reference, "default": default}
    for device in devices:
        register("conv2d", device, name, forward, **options)(functools.partial(conv2d_with, im2col))
        register("conv2d_grad_input", device, name, grad_input, **options)(
            functools.partial(conv2d_grad_input_with, col2im)
        )
        register("conv2d_grad_weight", device, name, grad_weight, **options)(
            functools.partial(conv2d_grad_weight_with, im2col)
        )
