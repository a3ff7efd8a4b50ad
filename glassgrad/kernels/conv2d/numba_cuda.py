"""numba.cuda teaching conv2d: direct convolution, one thread per output element, NCHW, float32.

No im2col and no GEMM: each thread computes one element of its op's result
with the loops of the definition, reading global memory directly. With stride
s, padding p, dilation d (per spatial dim), groups G, O/G output channels per
group and C/G input channels per group, output pixel (p, q) reads input pixel

    h = p·s_h − p_h + r·d_h,    w = q·s_w − p_w + t·d_w      for kernel tap (r, t)

and taps outside the input (the zero padding) are skipped. Channel c belongs to
group c // (C/G), output channel o to group o // (O/G). Given g = dL/dy:

    forward        y[n, o, p, q] = b[o] + Σ_{c in o's group, r, t} x[n, c, h, w] · W[o, c mod C/G, r, t]
                   (one thread per y element)
    input grad     dL/dx[n, c, h, w] = Σ_{o in c's group, r, t} g[n, o, p, q] · W[o, c mod C/G, r, t]
                   over the (p, q) with p·s_h = h + p_h − r·d_h and q·s_w = w + p_w − t·d_w inside the
                   output: one thread per x element gathers from the outputs it fed (no atomics)
    weight grad    dL/dW[o, c', r, t] = Σ_{n, p, q} g[n, o, p, q] · x[n, c, h, w],  c = group(o)·C/G + c'
                   (one thread per W element)

Each thread accumulates in float32. The kernels take CuPy arrays of any
strides through the CUDA array interface, and NumPy arrays in numba's CUDA
simulator (``NUMBA_ENABLE_CUDASIM=1``), which is how CI tests them (C- or
F-contiguous ones there: the simulator copies each array as one buffer). They are
compiled on first use; importing this module needs no GPU. Registered on cuda
as ``numba_direct``, not the default: they are for reading, not for speed.
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

from ...engine import backend
from ..numba_cuda_support import numba_cuda
from ..registry import register
from .gemm import check_grad_output
from .geometry import ConvGeometry

THREADS = 128  # threads per block; the grid covers the result's elements in one dim


@functools.cache
def _kernels() -> tuple[Any, Any, Any]:
    """(forward, grad_input, grad_weight) kernels: each takes its arrays, the result last, then the
    ints s_h, s_w, p_h, p_w, d_h, d_w, C/G, O/G."""
    global cuda  # a module global, for the simulator (see numba_cuda_support)
    cuda = numba_cuda()

    @cuda.jit
    def forward(x, w, b, y, sh, sw, ph, pw, dh, dw, cg, og):  # pragma: no cover - GPU or simulator
        i = cuda.grid(1)
        n_, o_count, out_h, out_w = y.shape
        if i >= n_ * o_count * out_h * out_w:
            return
        q = i % out_w  # consecutive threads take consecutive q: a warp reads neighbouring x pixels
        p = i // out_w % out_h
        o = i // (out_w * out_h) % o_count
        n = i // (out_w * out_h * o_count)
        c0 = o // og * cg  # the first input channel of o's group
        height, width, kh, kw = x.shape[2], x.shape[3], w.shape[2], w.shape[3]
        acc = np.float32(0.0)
        for ci in range(cg):
            for r in range(kh):
                h = p * sh - ph + r * dh
                if 0 <= h < height:
                    for t in range(kw):
                        col = q * sw - pw + t * dw
                        if 0 <= col < width:
                            acc += x[n, c0 + ci, h, col] * w[o, ci, r, t]
        y[n, o, p, q] = acc + b[o]

    @cuda.jit
    def grad_input(g, w, dx, sh, sw, ph, pw, dh, dw, cg, og):  # pragma: no cover - GPU or simulator
        i = cuda.grid(1)
        n_, c_count, height, width = dx.shape
        if i >= n_ * c_count * height * width:
            return
        col = i % width
        h = i // width % height
        c = i // (width * height) % c_count
        n = i // (width * height * c_count)
        o0, ci = c // cg * og, c % cg  # the first output channel of c's group; c's index in the weight
        out_h, out_w, kh, kw = g.shape[2], g.shape[3], w.shape[2], w.shape[3]
        acc = np.float32(0.0)
        for r in range(kh):
            p_scaled = h + ph - r * dh  # p·s_h for the output row whose tap r lands on row h
            if p_scaled < 0 or p_scaled % sh != 0 or p_scaled // sh >= out_h:
                continue
            p = p_scaled // sh
            for t in range(kw):
                q_scaled = col + pw - t * dw
                if q_scaled < 0 or q_scaled % sw != 0 or q_scaled // sw >= out_w:
                    continue
                q = q_scaled // sw
                for oi in range(og):
                    acc += g[n, o0 + oi, p, q] * w[o0 + oi, ci, r, t]
        dx[n, c, h, col] = acc

    @cuda.jit
    def grad_weight(x, g, dw_out, sh, sw, ph, pw, dh, dw, cg, og):  # pragma: no cover - GPU or simulator
        i = cuda.grid(1)
        o_count, cg_, kh, kw = dw_out.shape
        if i >= o_count * cg_ * kh * kw:
            return
        t = i % kw
        r = i // kw % kh
        ci = i // (kw * kh) % cg_
        o = i // (kw * kh * cg_)
        c = o // og * cg + ci
        n_count, height, width = x.shape[0], x.shape[2], x.shape[3]
        out_h, out_w = g.shape[2], g.shape[3]
        acc = np.float32(0.0)
        for n in range(n_count):
            for p in range(out_h):
                h = p * sh - ph + r * dh
                if 0 <= h < height:
                    for q in range(out_w):
                        col = q * sw - pw + t * dw
                        if 0 <= col < width:
                            acc += g[n, o, p, q] * x[n, c, h, col]
        dw_out[o, ci, r, t] = acc

    return forward, grad_input, grad_weight


def _launch(which: int, out: Any, *arrays: Any, geometry: ConvGeometry) -> Any:
    """Run kernel ``which`` with one thread per element of ``out``; returns ``out``."""
    if out.size:
        (sh, sw), (ph, pw), (dh, dw) = geometry.stride, geometry.padding, geometry.dilation
        per_group = (geometry.in_channels // geometry.groups, geometry.out_channels // geometry.groups)
        blocks = (out.size + THREADS - 1) // THREADS
        _kernels()[which][blocks, THREADS](*arrays, out, sh, sw, ph, pw, dh, dw, *per_group)
    return out


def _all_float32(*args: Any, **kwargs: Any) -> bool:
    return all(str(a.dtype) == "float32" for a in args if hasattr(a, "dtype"))


def _check_float32(op: str, *arrays: Any) -> None:
    if not _all_float32(*arrays):
        shown = ", ".join(f"{a.shape}:{a.dtype}" for a in arrays if a is not None)
        raise TypeError(f"{op}(cuda, numba_direct): expects float32 arrays, got {shown}")


_TAKES = {"dtypes": ("float32",), "when": _all_float32, "condition": "float32 arrays (x, weight, bias, dy)"}


@register("conv2d", "cuda", "numba_direct", "numba.cuda direct convolution: one thread per output element", **_TAKES)
def conv2d_direct(
    input: Any,  # PyTorch's name
    weight: Any,
    bias: Any | None,
    stride: tuple[int, int] = (1, 1),
    padding: tuple[int, int] = (0, 0),
    dilation: tuple[int, int] = (1, 1),
    groups: int = 1,
) -> Any:
    """y = conv2d(x, W) + b, each y element summed by its own thread."""
    _check_float32("conv2d", input, weight, bias)
    geometry = ConvGeometry.of(input.shape, weight.shape, stride, padding, dilation, groups)
    xp = backend.xp_of(input)
    bias = xp.zeros(geometry.out_channels, dtype=xp.float32) if bias is None else bias
    y = xp.empty(geometry.output_shape, dtype=xp.float32)
    return _launch(0, y, input, weight, bias, geometry=geometry)


@register(
    "conv2d_grad_input",
    "cuda",
    "numba_direct",
    "numba.cuda direct input gradient: one thread per input element gathers from the outputs it fed",
    **_TAKES,
)
def conv2d_grad_input_direct(
    grad_output: Any,
    weight: Any,
    input_size: tuple[int, int, int, int],
    stride: tuple[int, int] = (1, 1),
    padding: tuple[int, int] = (0, 0),
    dilation: tuple[int, int] = (1, 1),
    groups: int = 1,
) -> Any:
    """dL/dx, each element gathered by its own thread (see the module docstring)."""
    _check_float32("conv2d_grad_input", grad_output, weight)
    geometry = ConvGeometry.of(input_size, weight.shape, stride, padding, dilation, groups)
    check_grad_output("conv2d_grad_input", grad_output, geometry)
    xp = backend.xp_of(grad_output)
    dx = xp.empty(geometry.input_shape, dtype=xp.float32)
    return _launch(1, dx, grad_output, weight, geometry=geometry)


@register(
    "conv2d_grad_weight",
    "cuda",
    "numba_direct",
    "numba.cuda direct weight gradient: one thread per weight element sums over batch and positions",
    **_TAKES,
)
def conv2d_grad_weight_direct(
    input: Any,  # PyTorch's name
    grad_output: Any,
    weight_size: tuple[int, int, int, int],
    stride: tuple[int, int] = (1, 1),
    padding: tuple[int, int] = (0, 0),
    dilation: tuple[int, int] = (1, 1),
    groups: int = 1,
) -> Any:
    """dL/dW, each element summed by its own thread over n, p, q."""
    _check_float32("conv2d_grad_weight", input, grad_output)
    geometry = ConvGeometry.of(input.shape, weight_size, stride, padding, dilation, groups)
    check_grad_output("conv2d_grad_weight", grad_output, geometry)
    xp = backend.xp_of(input)
    dw = xp.empty(geometry.weight_shape, dtype=xp.float32)
    return _launch(2, dw, input, grad_output, geometry=geometry)
