"""Resampling: F.interpolate (nearest, nearest-exact, linear, bilinear, bicubic, trilinear, area,
antialias) and pixel shuffle.

Every mode is separable: along each spatial dim d the output position o is a weighted sum of a few
input positions, z[o] = Σ_k w_k[o] · x[i_k[o]] (one tap of weight 1 for nearest, two for linear,
four for cubic, the window's length for area), applied to one dim after the other. It is linear in
x, so its backward is its adjoint, a scatter-add of the same weights:
dL/dx[i] = Σ_k Σ_{o : i_k[o] = i} w_k[o] · g[o], undone dim by dim in reverse order.

The taps follow PyTorch's CPU kernels exactly (aten/src/ATen/native/UpSample.h), computed in the
input's precision (float32 arithmetic for float16/float32 input, float64 for float64):

* scale: align_corners  (in − 1)/(out − 1)  (0 when out = 1);
         otherwise      1/scale_factor when a scale factor reaches the kernel, else in/out;
* source index: align_corners  src = scale·o;  otherwise  src = scale·(o + ½) − ½, clamped at 0
  except for cubic (for float32 PyTorch's vectorised loop fuses the multiply-add: one rounding);
* nearest        i = min(⌊scale·o⌋, in − 1)
  nearest-exact  i = min(⌊src + ½⌋, in − 1)
                 (for 4-d input PyTorch's kernel takes a float32 scale, ⌊(o + ½)·scale⌋ for nearest-exact,
                 and for nearest copies when out = in and takes o >> 1 when out = 2·in; see nearest_taps.
                 PyTorch's nearest *backward* always uses that older formula, so for 3-d and 5-d input
                 its gradient is not the adjoint of its forward in the rare cases where the two
                 formulas pick different pixels; glassgrad's backward is always the adjoint.)
  linear         i₀ = min(⌊src⌋, in − 1), λ = clamp(src − i₀, 0, 1): taps (i₀, 1 − λ), (min(i₀ + 1, in − 1), λ);
                 in = out copies (i₀ = o, λ = 0)
  cubic          i₀ and t = λ as for linear on the unclamped src; taps i₀ − 1 … i₀ + 2 clamped to
                 [0, in − 1] (border replication) with Keys' weights, A = −0.75:
                 W(s) = (A + 2)|s|³ − (A + 3)|s|² + 1 for |s| ≤ 1,  A|s|³ − 5A|s|² + 8A|s| − 4A for 1 < |s| < 2,
                 at s = t + 1, t, 1 − t, 2 − t.
  area           adaptive average pooling: the window [⌊o·in/out⌋, ⌈(o + 1)·in/out⌉), each weight 1/length.
  antialias      (bilinear/bicubic, 4-d) the filter stretched over every input under the output pixel
                 when shrinking, as Pillow; see antialias_taps. PyTorch's forward copies a dim that keeps
                 its size but its backward filters it (not the adjoint there), and its kernel repeats rows
                 when the output is one pixel wide; glassgrad does neither.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import dtypes
from ..backend import scatter_add
from ..function import Context, Function
from ..tensor import Tensor

CUBIC_A = -0.75
_MODES = ("nearest", "linear", "bilinear", "bicubic", "trilinear", "area", "nearest-exact")
_LINEAR_MODES = {"linear": 3, "bilinear": 4, "bicubic": 4, "trilinear": 5}
Taps = tuple[int, np.ndarray, np.ndarray | None]  # (axis, indices (taps, out), weights (taps, out) or None)
# area's and antialias's windows differ in length: the shorter ones are padded with taps of weight 0,
# which forward skips when ``masked`` (so an inf outside the window does not make 0·inf = NaN)


class Interpolate(Function):
    """z = x resampled dim by dim, z[o] = Σ_k w_k[o] · x[i_k[o]];
    dL/dx[i] = Σ_k Σ_{o : i_k[o] = i} w_k[o] · g[o]  (the adjoint: scatter-add of the weights)"""

    @staticmethod
    def forward(ctx: Context, x: Any, taps: tuple[Taps, ...], masked: bool = False) -> Any:
        xp = ctx.xp
        ctx.taps, ctx.shape, ctx.masked = taps, x.shape, masked
        for axis, index, weight in taps:
            if weight is None:  # nearest: a pure gather
                x = xp.take(x, xp.asarray(index[0]), axis=axis)
                continue
            bcast = (-1,) + (1,) * (x.ndim - axis - 1)
            out = None
            for i, w in zip(index, weight, strict=True):
                wb = xp.asarray(w.astype(x.dtype)).reshape(bcast)
                term = wb * xp.take(x, xp.asarray(i), axis=axis)
                if ctx.masked and not w.all():
                    term = xp.where(wb != 0, term, 0)
                out = term if out is None else out + term
            x = out
        return x

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        xp = ctx.xp
        for axis, index, weight in reversed(ctx.taps):
            moved = xp.moveaxis(grad, axis, 0)
            g = xp.zeros((ctx.shape[axis],) + moved.shape[1:], dtype=grad.dtype)
            bcast = (-1,) + (1,) * (moved.ndim - 1)
            for k, i in enumerate(index):
                vals = moved if weight is None else xp.asarray(weight[k].astype(grad.dtype)).reshape(bcast) * moved
                _scatter_add_sorted(xp, g, i, vals)  # several outputs read the same input: their gradients add
            grad = xp.moveaxis(g, 0, axis)
        return grad


def _scatter_add_sorted(xp: Any, target: Any, index: np.ndarray, values: Any) -> None:
    """target[index[o]] += values[o] along the first dim, for a non-decreasing ``index`` (every tap is):
    the outputs that read one input are a contiguous run, so on NumPy each run is one ``add.reduceat``
    (much faster than ``np.add.at``); elsewhere the backend's scatter_add."""
    if xp is not np or index.size == 0:
        scatter_add(target, xp.asarray(index), values)
        return
    starts = np.flatnonzero(np.concatenate([[True], index[1:] != index[:-1]]))
    target[index[starts]] += np.add.reduceat(values, starts, axis=0)


# ------------------------------------------------------------------ the taps, as PyTorch computes them


def _scale(ct: type, n_in: int, n_out: int, align_corners: bool, scale: float | None) -> Any:
    if align_corners:
        return ct(n_in - 1) / ct(n_out - 1) if n_out > 1 else ct(0)
    return ct(1.0 / scale) if scale is not None and scale > 0 else ct(n_in) / ct(n_out)


def _half_pixel(ct: type, scale: Any, o: np.ndarray) -> np.ndarray:
    """scale·(o + ½) − ½ in the kernel's precision; float32 with one rounding (PyTorch's fused multiply-add)."""
    if ct is np.float32:
        return (np.float64(scale) * (o + 0.5) - 0.5).astype(np.float32)
    return scale * (o + 0.5) - 0.5


def _floor(src: np.ndarray) -> np.ndarray:
    """PyTorch's floorf: the source index is rounded to float32 before the floor."""
    return np.floor(src.astype(np.float32)).astype(np.int64)


def nearest_taps(ct: type, n_in: int, n_out: int, scale: float | None, exact: bool, legacy: bool) -> np.ndarray:
    """The one source index of each output position (see the module docstring).

    ``legacy``: PyTorch's 4-d (2-d spatial) CPU kernel uses the older nearest_idx/nearest_exact_idx:
    a float32 scale whatever the dtype, and for "nearest" a copy when out = in and i = o >> 1 when
    out = 2·in; its 3-d and 5-d kernels compute in the input's precision without those shortcuts."""
    o = np.arange(n_out)
    if legacy:
        s = _scale(np.float32, n_in, n_out, False, scale)
        if exact:
            i = _floor((o + 0.5) * np.float64(s))
        elif n_out == n_in:
            i = o
        elif n_out == 2 * n_in:
            i = o >> 1
        else:
            i = _floor((o.astype(np.float32) * s).astype(np.float32))
        return np.minimum(i, n_in - 1)[None]
    s = _scale(ct, n_in, n_out, False, scale)
    if exact:
        src = _half_pixel(ct, s, o)
        src = np.where(src < 0, ct(0), src)
        i = _floor((src + ct(0.5)).astype(ct))
    else:
        i = _floor((s * o.astype(ct)).astype(ct))
    return np.minimum(i, n_in - 1)[None]


def _source(ct: type, n_in: int, n_out: int, align_corners: bool, scale: float | None, cubic: bool) -> np.ndarray:
    o = np.arange(n_out)
    s = _scale(ct, n_in, n_out, align_corners, scale)
    if align_corners:
        return (s * o.astype(ct)).astype(ct)
    src = _half_pixel(ct, s, o)
    return src if cubic else np.where(src < 0, ct(0), src)


def _guard(ct: type, src: np.ndarray, n_in: int) -> tuple[np.ndarray, np.ndarray]:
    i0 = np.minimum(_floor(src), n_in - 1)
    lam = np.minimum(np.maximum(src - i0.astype(ct), ct(0)), ct(1)).astype(ct)
    return i0, lam


def linear_taps(ct: type, n_in: int, n_out: int, align_corners: bool, scale: float | None) -> tuple[np.ndarray, ...]:
    if n_in == n_out:
        o = np.arange(n_out)
        return np.stack([o, o]), np.stack([np.ones(n_out, ct), np.zeros(n_out, ct)])
    i0, lam = _guard(ct, _source(ct, n_in, n_out, align_corners, scale, cubic=False), n_in)
    i1 = i0 + (i0 < n_in - 1)
    return np.stack([i0, i1]), np.stack([(ct(1) - lam).astype(ct), lam])


def cubic_taps(ct: type, n_in: int, n_out: int, align_corners: bool, scale: float | None) -> tuple[np.ndarray, ...]:
    i0, t = _guard(ct, _source(ct, n_in, n_out, align_corners, scale, cubic=True), n_in)
    a = ct(CUBIC_A)

    def near(s: np.ndarray) -> np.ndarray:  # |s| ≤ 1
        return ((a + 2) * s - (a + 3)) * s * s + 1

    def far(s: np.ndarray) -> np.ndarray:  # 1 < |s| < 2
        return ((a * s - 5 * a) * s + 8 * a) * s - 4 * a

    u = (ct(1) - t).astype(ct)
    weights = np.stack([far(t + ct(1)), near(t), near(u), far(u + ct(1))]).astype(ct)
    index = np.stack([np.clip(i0 - 1 + j, 0, n_in - 1) for j in range(4)])
    return index, weights


# ------------------------------------------------------------------ F.interpolate


def _spatial(op: str, value: Any, dim: int, what: str, input_shape: tuple[int, ...]) -> list[Any]:
    if isinstance(value, list | tuple):
        if len(value) != dim:
            raise ValueError(
                f"{op}: input and {what} must have the same number of spatial dimensions, but got input with "
                f"spatial dimensions of {list(input_shape[2:])} and {what} of {value}. Please provide input tensor "
                f"in (N, C, d1, d2, ...,dK) format and {what} in (o1, o2, ...,oK) format."
            )
        return list(value)
    return [value] * dim


def interpolate(
    input: Tensor,
    size: int | Sequence[int] | None = None,
    scale_factor: float | Sequence[float] | None = None,
    mode: str = "nearest",
    align_corners: bool | None = None,
    recompute_scale_factor: bool | None = None,
    antialias: bool = False,
) -> Tensor:
    """Resample the spatial dims of (N, C, L), (N, C, H, W) or (N, C, D, H, W) to ``size`` or by
    ``scale_factor``, with PyTorch's argument rules and source-index formulas (see the module docstring)."""
    op = "interpolate"
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: argument 'input' must be Tensor, not {type(input).__name__}")
    if mode in ("nearest", "area", "nearest-exact"):
        if align_corners is not None:
            raise ValueError(
                f"{op}: align_corners option can only be set with the interpolating modes: "
                f"linear | bilinear | bicubic | trilinear (got mode {mode!r})"
            )
    elif align_corners is None:
        align_corners = False
    dim = input.ndim - 2
    if size is not None and scale_factor is not None:
        raise ValueError(f"{op}: only one of size or scale_factor should be defined")
    if size is None and scale_factor is None:
        raise ValueError(f"{op}: either size or scale_factor should be defined")
    scales: list[float] | None = None
    if size is not None:
        sizes = _spatial(op, size, dim, "output size", input.shape)
        for s in sizes:
            if isinstance(s, bool) or not isinstance(s, int | np.integer | Tensor):
                raise TypeError(
                    f"{op}: expected size to be one of int or Tuple[int] or Tuple[int, int] or "
                    f"Tuple[int, int, int], but got size with types {[type(v) for v in sizes]}"
                )
        sizes = [int(s) for s in sizes]
        if recompute_scale_factor:
            raise ValueError(f"{op}: recompute_scale_factor is not meaningful with an explicit size.")
    else:
        scales = [float(s) for s in _spatial(op, scale_factor, dim, "scale_factor", input.shape)]
        if recompute_scale_factor or mode == "area":
            sizes = [math.floor(float(n) * s) for n, s in zip(input.shape[2:], scales, strict=True)]
            scales = None
        else:  # PyTorch's C++ truncates toward zero
            sizes = [int(float(n) * s) for n, s in zip(input.shape[2:], scales, strict=True)]
    if antialias and not (mode in ("bilinear", "bicubic") and input.ndim == 4):
        raise ValueError(
            f"{op}: anti-alias option is restricted to bilinear, bicubic, and lanczos modes and requires "
            "a 4-D tensor as input"
        )
    if mode not in _MODES or not 3 <= input.ndim <= 5 or (mode == "bicubic" and input.ndim != 4):
        raise NotImplementedError(
            f"{op}: input Error: only 3D, 4D and 5D input Tensors supported (got {input.ndim}D) for the modes: "
            f"nearest | linear | bilinear | bicubic | trilinear | area | nearest-exact (got {mode})"
        )
    if mode in _LINEAR_MODES and input.ndim != _LINEAR_MODES[mode]:
        raise NotImplementedError(f"{op}: got {input.ndim}D input, but {mode} mode needs {_LINEAR_MODES[mode]}D input")
    if mode == "area":
        return _area(input, sizes)
    nearest = mode.startswith("nearest")
    if not (dtypes.is_floating(input.dtype) or (nearest and str(input.dtype) == "uint8")):
        raise NotImplementedError(
            f"{op}: mode {mode!r} is not implemented for {input.dtype} input (floats"
            + (", and uint8 for the nearest modes)" if nearest else ")")
        )
    if any(n == 0 for n in input.shape[1:2]):
        raise RuntimeError(
            f"{op}: non-empty {input.ndim}D data tensor expected but got a tensor with sizes {list(input.shape)}"
        )
    names = "DHW"[3 - dim :]
    if min(input.shape[2:]) <= 0 or min(sizes) <= 0:
        ins = ", ".join(f"{c}: {n}" for c, n in zip(names, input.shape[2:], strict=True))
        outs = ", ".join(f"{c}: {n}" for c, n in zip(names, sizes, strict=True))
        raise RuntimeError(
            f"{op}: input and output sizes should be greater than 0, but got input ({ins}) and output ({outs})"
        )
    ct = np.float64 if str(input.dtype) == "float64" else np.float32
    taps = []
    for j, (n_in, n_out) in enumerate(zip(input.shape[2:], sizes, strict=True)):
        s = None if scales is None else scales[j]
        if nearest:
            index = nearest_taps(ct, n_in, n_out, s, exact=mode == "nearest-exact", legacy=input.ndim == 4)
            taps.append((2 + j, index, None))
        elif antialias:
            taps.append((2 + j, *antialias_taps(n_in, n_out, align_corners, s, cubic=mode == "bicubic")))
        elif mode == "bicubic":
            taps.append((2 + j, *cubic_taps(ct, n_in, n_out, align_corners, s)))
        else:
            taps.append((2 + j, *linear_taps(ct, n_in, n_out, align_corners, s)))
    return Interpolate.apply(input, taps=tuple(taps), masked=antialias)


def area_taps(n_in: int, n_out: int) -> tuple[np.ndarray, np.ndarray]:
    """Adaptive average pooling's windows [⌊o·in/out⌋, ⌈(o + 1)·in/out⌉), each tap of weight 1/length
    (shorter windows padded with weight-0 taps repeating their last index, so every tap stays sorted)."""
    o = np.arange(n_out)
    start, end = (o * n_in) // n_out, -((-(o + 1) * n_in) // n_out)
    taps = int((end - start).max()) if n_out else 1
    k = np.arange(taps)[:, None]
    index = np.minimum(start + k, end - 1)
    weight = np.where(start + k < end, 1.0 / (end - start), 0.0)
    return index, weight


def antialias_taps(
    n_in: int, n_out: int, align_corners: bool, scale: float | None, cubic: bool
) -> tuple[np.ndarray, np.ndarray]:
    """antialias=True (PyTorch's and Pillow's resampling): when shrinking by s = in/out > 1 the filter
    is stretched by s, so each output averages every input under it. Output o is centred at
    c = s·(o + ½); its taps j ∈ [⌊c − r + ½⌋, ⌊c + r + ½⌋) ∩ [0, in), r = s·(support) (support 1 for
    the triangle filter of bilinear, 2 for cubic with A = −0.5, as Pillow), weigh filter((j − c + ½)/s)
    normalised to sum 1. A dim whose size does not change is copied, as in PyTorch."""
    o = np.arange(n_out)
    if n_in == n_out:
        return o[None], np.ones((1, n_out))
    s = float(_scale(np.float64, n_in, n_out, align_corners, scale))
    support = (2.0 if cubic else 1.0) * (s if s >= 1 else 1.0)
    inv = 1 / s if s >= 1 else 1.0
    center = s * (o + 0.5)
    lo = np.maximum(np.trunc(center - support + 0.5).astype(np.int64), 0)
    hi = np.minimum(np.trunc(center + support + 0.5).astype(np.int64), n_in)
    k = np.arange(int((hi - lo).max()))[:, None]
    x = np.abs((lo + k - center + 0.5) * inv)
    if cubic:
        a = -0.5
        w = np.where(x < 1, ((a + 2) * x - (a + 3)) * x * x + 1, np.where(x < 2, (((x - 5) * x + 8) * x - 4) * a, 0.0))
    else:
        w = np.where(x < 1, 1 - x, 0.0)
    w = np.where(lo + k < hi, w, 0.0)
    total = w.sum(axis=0)
    w = np.where(total != 0, w / np.where(total != 0, total, 1), w)
    return np.minimum(lo + k, hi - 1), w


def _area(input: Tensor, sizes: list[int]) -> Tensor:
    """mode="area": adaptive average pooling to ``sizes``, z[o] = mean of x over o's window;
    dL/dx[i] = Σ over the windows holding i of g[o] / (window length)."""
    op = "interpolate"
    if not dtypes.is_floating(input.dtype):
        raise NotImplementedError(f"{op}: mode 'area' is not implemented for {input.dtype} input (floats only)")
    if any(n == 0 for n in input.shape[2:]):
        raise RuntimeError(
            f"{op}: mode 'area' expects input to have non-zero size for non-batch dimensions, but input has "
            f"sizes {list(input.shape)}"
        )
    if min(sizes) < 0:
        raise RuntimeError(f"{op}: mode 'area': elements of output_size must be >= 0 but received {sizes}")
    taps = tuple(
        (2 + j, *area_taps(n_in, n_out)) for j, (n_in, n_out) in enumerate(zip(input.shape[2:], sizes, strict=True))
    )
    return Interpolate.apply(input, taps=taps, masked=True)


# ------------------------------------------------------------------ pixel shuffle (views: reshape and permute)


def _check_factor(op: str, name: str, factor: Any) -> int:
    if isinstance(factor, bool) or not isinstance(factor, int | np.integer):
        raise TypeError(f"{op}: argument '{name}' must be int, not {type(factor).__name__}")
    if factor <= 0:
        raise RuntimeError(f"{op}: expects a positive {name}, but got {factor}")
    return int(factor)


def pixel_shuffle(input: Tensor, upscale_factor: int) -> Tensor:
    """(*, C·r², H, W) → (*, C, H·r, W·r): out[c, h·r + i, w·r + j] = in[c·r² + i·r + j, h, w].
    A reshape and a permute, so its gradient is theirs: g permuted and reshaped back."""
    op = "pixel_shuffle"
    r = _check_factor(op, "upscale_factor", upscale_factor)
    if input.ndim < 3:
        raise RuntimeError(
            f"{op}: expects input to have at least 3 dimensions, but got input with {input.ndim} dimension(s)"
        )
    *lead, c, h, w = input.shape
    if c % (r * r):
        raise RuntimeError(
            f"{op}: expects its input's 'channel' dimension to be divisible by the square of upscale_factor, "
            f"but input.size(-3)={c} is not divisible by {r * r}"
        )
    n = len(lead)
    x = input.reshape(*lead, c // (r * r), r, r, h, w)
    x = x.permute(*range(n), n, n + 3, n + 1, n + 4, n + 2)
    return x.reshape(*lead, c // (r * r), h * r, w * r)


def pixel_unshuffle(input: Tensor, downscale_factor: int) -> Tensor:
    """(*, C, H·r, W·r) → (*, C·r², H, W), the inverse of pixel_shuffle (a reshape and a permute)."""
    op = "pixel_unshuffle"
    r = _check_factor(op, "downscale_factor", downscale_factor)
    if input.ndim < 3:
        raise RuntimeError(
            f"{op}: expects input to have at least 3 dimensions, but got input with {input.ndim} dimension(s)"
        )
    *lead, c, h, w = input.shape
    if h % r or w % r:
        which, size = ("height", h) if h % r else ("width", w)
        raise RuntimeError(
            f"{op}: expects {which} to be divisible by downscale_factor, but input.size({-2 if h % r else -1})="
            f"{size} is not divisible by {r}"
        )
    n = len(lead)
    x = input.reshape(*lead, c, h // r, r, w // r, r)
    x = x.permute(*range(n), n, n + 2, n + 4, n + 1, n + 3)
    return x.reshape(*lead, c * r * r, h // r, w // r)


# ------------------------------------------------------------------ PyTorch's deprecated spellings


def _deprecated(name: str) -> None:
    import warnings

    warnings.warn(f"`nn.functional.{name}` is deprecated. Use `nn.functional.interpolate` instead.", stacklevel=3)


def upsample(
    input: Tensor,
    size: int | Sequence[int] | None = None,
    scale_factor: float | Sequence[float] | None = None,
    mode: str = "nearest",
    align_corners: bool | None = None,
) -> Tensor:
    """Deprecated alias of interpolate."""
    _deprecated("upsample")
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input: Tensor, size: Any = None, scale_factor: Any = None) -> Tensor:
    """Deprecated: interpolate(mode="nearest")."""
    _deprecated("upsample_nearest")
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input: Tensor, size: Any = None, scale_factor: Any = None) -> Tensor:
    """Deprecated: interpolate(mode="bilinear", align_corners=True)."""
    _deprecated("upsample_bilinear")
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)
