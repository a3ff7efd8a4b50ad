"""unfold (im2col) and fold (col2im): sliding blocks of an image as columns, and back.

For an (N, C, H, W) image, kernel (kh, kw), dilation d, padding p and stride s,
the blocks sit at L = H_out·W_out positions (the conv2d output size, see
kernels/conv2d/geometry.py). unfold copies each block into one column:

    z[n, (c, i, j), (oh, ow)] = x_pad[n, c, oh·s + i·d, ow·s + j·d]       z: (N, C·kh·kw, L)

fold is its adjoint: it adds every column entry back onto the pixel it names
(overlapping blocks sum), and crops the padding. Each one's backward is the
other, since a copy's gradient is a sum over the copies and a sum's gradient is
a copy:

    unfold:  dL/dx = fold(g)        fold:  dL/dx = unfold(g)

They are conv2d's own im2col and col2im (kernels/conv2d/reference.py); a
convolution is W·unfold(x), and its input gradient is fold(Wᵀ·g). In a recorded backward
(``create_graph``, engine/recorded.py) each backward is the other op itself, so it records a
node and its own derivative is again the first op: both are differentiable any number of times.
"""

from __future__ import annotations

from typing import Any

from ...kernels.conv2d.geometry import ConvGeometry
from ...kernels.conv2d.reference import col2im, im2col
from ..function import Context, Function
from ..recorded import Recorded
from ..tensor import Tensor
from .operands import int_tuple
from .shape import squeeze, unsqueeze


def _columns(x: Any, geometry: ConvGeometry) -> Any:
    """(N, C·kh·kw, L) columns of the (N, C, H, W) array ``x``."""
    return im2col(x, geometry).reshape(geometry.batch, geometry.column_rows, geometry.positions)


class Unfold(Function):
    """z[n, (c, i, j), (oh, ow)] = x_pad[n, c, oh·s + i·d, ow·s + j·d];  dL/dx = fold(g)
    (each pixel gets the sum of g over the column entries copied from it)"""

    @staticmethod
    def forward(ctx: Context, x: Any, geometry: ConvGeometry) -> Any:
        ctx.geometry = geometry
        return _columns(x, geometry)

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple[Any]:
        if type(grad) is Recorded:  # create_graph: fold as a recorded op
            return (Recorded(Fold.apply(grad.tensor, geometry=ctx.geometry)),)
        return (col2im(grad, ctx.geometry),)


class Fold(Function):
    """z[n, c, h, w] = Σ_{(i, j, oh, ow) : oh·s + i·d − p = h, ow·s + j·d − p = w} x[n, (c, i, j), (oh, ow)];
    dL/dx = unfold(g) (each column entry gets g at the pixel it was added to)"""

    @staticmethod
    def forward(ctx: Context, x: Any, geometry: ConvGeometry) -> Any:
        ctx.geometry = geometry
        return col2im(x, geometry)

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple[Any]:
        if type(grad) is Recorded:  # create_graph: unfold as a recorded op
            return (Recorded(Unfold.apply(grad.tensor, geometry=ctx.geometry)),)
        return (_columns(grad, ctx.geometry),)


def _options(op: str, **values: Any) -> dict[str, tuple[int, ...]]:
    """kernel_size, dilation, padding, stride (and output_size) as pairs (``int_tuple``; a 1-tuple is
    refused, as PyTorch's im2col does), each at least its minimum (RuntimeError, as PyTorch)."""
    out = {}
    for name, value in values.items():
        out[name] = items = int_tuple(op, name, value, 2, one_for_all=False)
        minimum = {"padding": 0, "output_size": None}.get(name, 1)
        if minimum is not None and min(items) < minimum:
            raise RuntimeError(f"{op}: {name} must be at least {minimum}, got {value!r}")
    return out


def _check_blocks(op: str, size: tuple[int, int], options: dict[str, tuple[int, int]]) -> ConvGeometry:
    """The geometry of the blocks over an image of spatial ``size``, or RuntimeError when there are none."""
    kernel, dilation, padding, stride = (options[k] for k in ("kernel_size", "dilation", "padding", "stride"))
    geometry = ConvGeometry(1, 1, *size, 1, kernel, stride, padding, dilation, 1)
    blocks = (geometry.out_height, geometry.out_width)
    if min(blocks) < 1:
        raise RuntimeError(
            f"{op}: input of spatial size {tuple(size)} with kernel_size={kernel}, dilation={dilation}, "
            f"padding={padding}, stride={stride} gives {blocks} sliding blocks; each must be at least 1"
        )
    return geometry


def unfold(
    input: Tensor,  # PyTorch's name
    kernel_size: int | tuple[int, int],
    dilation: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] = 0,
    stride: int | tuple[int, int] = 1,
) -> Tensor:
    """Sliding blocks of an (N, C, H, W) or (C, H, W) input as columns: (N, C·kh·kw, L) or (C·kh·kw, L),
    L = H_out·W_out (im2col)."""
    op = "unfold"
    options = _options(op, kernel_size=kernel_size, dilation=dilation, padding=padding, stride=stride)
    if input.ndim < 3:
        raise IndexError(f"{op}: expected a 3-D (unbatched) or 4-D input, got shape {input.shape}")
    if input.ndim > 4 or 0 in input.shape[-3:]:
        raise RuntimeError(
            f"{op}: expected a 3-D or 4-D (batch mode) input with non-zero dims but the batch, got shape {input.shape}"
        )
    if input.dtype.kind in "iu":
        raise NotImplementedError(f"{op}: not implemented for integer input ({input.dtype})")
    x = unsqueeze(input, 0) if input.ndim == 3 else input
    blocks = _check_blocks(op, x.shape[2:], options)
    n, c, h, w = x.shape
    geometry = ConvGeometry(n, c, h, w, 1, blocks.kernel, blocks.stride, blocks.padding, blocks.dilation, 1)
    z = Unfold.apply(x, geometry=geometry)
    return squeeze(z, 0) if input.ndim == 3 else z


def fold(
    input: Tensor,  # PyTorch's name
    output_size: int | tuple[int, int],
    kernel_size: int | tuple[int, int],
    dilation: int | tuple[int, int] = 1,
    padding: int | tuple[int, int] = 0,
    stride: int | tuple[int, int] = 1,
) -> Tensor:
    """Columns (N, C·kh·kw, L) or (C·kh·kw, L) summed back into an (N, C, *output_size) or
    (C, *output_size) image; overlapping entries add up (col2im)."""
    op = "fold"
    options = _options(
        op, output_size=output_size, kernel_size=kernel_size, dilation=dilation, padding=padding, stride=stride
    )
    if input.ndim not in (2, 3) or 0 in input.shape[-2:]:
        raise RuntimeError(
            f"{op}: expected a 2-D or 3-D (batch mode) input with non-zero dims but the batch, got shape {input.shape}"
        )
    if input.dtype.kind in "iu":
        raise NotImplementedError(f"{op}: not implemented for integer input ({input.dtype})")
    x = unsqueeze(input, 0) if input.ndim == 2 else input
    kh, kw = options["kernel_size"]
    if x.shape[1] % (kh * kw):
        raise RuntimeError(
            f"{op}: input.size(1)={x.shape[1]} must be divisible by the product of kernel_size {(kh, kw)}"
        )
    size = options["output_size"]
    blocks = ConvGeometry(1, 1, *size, 1, (kh, kw), options["stride"], options["padding"], options["dilation"], 1)
    count = (blocks.out_height, blocks.out_width)
    if min(count) < 1 or x.shape[2] != count[0] * count[1]:
        raise RuntimeError(
            f"{op}: output_size={size}, kernel_size={(kh, kw)}, dilation={blocks.dilation}, padding={blocks.padding}, "
            f"stride={blocks.stride} give {count[0]} * {count[1]} = {count[0] * count[1]} sliding blocks, "
            f"but input.size(2)={x.shape[2]}"
        )
    n, c = x.shape[0], x.shape[1] // (kh * kw)
    geometry = ConvGeometry(n, c, *size, 1, (kh, kw), blocks.stride, blocks.padding, blocks.dilation, 1)
    z = Fold.apply(x, geometry=geometry)
    return squeeze(z, 0) if input.ndim == 2 else z
