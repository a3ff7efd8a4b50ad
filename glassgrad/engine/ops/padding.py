"""Padding that copies the input's own values: F.pad's "reflect", "replicate" and "circular" modes
("constant" is the ``Pad`` op in shape.py).

Each mode is a gather: along every padded dim, output position o reads input position src(o).
The backward is the adjoint of that gather, a scatter-add: each input position receives the sum
of the gradients of every output position that read it (an edge value copied three times into a
replicate border gets three gradients). The dims are padded one after another, so the backward
undoes them in reverse order.

With ``before = a`` and ``after = b`` on a dim of size n (negative widths crop):

* reflect    src(o) = |u| mirrored at 0 and at n − 1 (the edge is not repeated), u = o − a;
               PyTorch requires a < n and b < n;
* replicate  src(o) = clamp(u, 0, n − 1);
* circular   the negative widths crop first, to [max(−a, 0), n − max(−b, 0)) of size c, then
               src wraps around it: src(o) = max(−a, 0) + (o − max(a, 0)) mod c; a, b ≤ c.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ...amp.autocast_mode import autocast_args, autocast_state
from ..backend import scatter_add
from ..function import Context, Function
from ..tensor import Tensor

MODES = ("constant", "reflect", "replicate", "circular")


class _GatherPad(Function):
    """z = x gathered along each padded dim at src(o);  dL/dx[i] = Σ_{o : src(o) = i} g[o] (per dim)"""

    @staticmethod
    def source(n: int, before: int, after: int) -> np.ndarray:
        raise NotImplementedError

    @classmethod
    def pad(cls, x: Tensor, widths: Sequence[tuple[int, int]]) -> Tensor:
        """``widths``: (before, after) per dim of x, first dim first; dims with (0, 0) are left alone."""
        maps = tuple(
            (axis, cls.source(n, a, b)) for axis, ((a, b), n) in enumerate(zip(widths, x.shape, strict=True)) if a or b
        )
        return cls.apply(x, maps=maps)

    @staticmethod
    def forward(ctx: Context, x: Any, maps: tuple[tuple[int, np.ndarray], ...]) -> Any:
        xp = ctx.xp
        ctx.maps, ctx.shape = maps, x.shape
        for axis, src in maps:
            x = xp.take(x, xp.asarray(src), axis=axis)
        return x

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        xp = ctx.xp
        for axis, src in reversed(ctx.maps):
            moved = xp.moveaxis(grad, axis, 0)
            g = xp.zeros((ctx.shape[axis],) + moved.shape[1:], dtype=grad.dtype)
            scatter_add(g, xp.asarray(src), moved)  # repeated sources add up
            grad = xp.moveaxis(g, 0, axis)
        return grad


class ReflectPad(_GatherPad):
    """z[o] = x[src(o)], src mirrors u = o − a at 0 and n − 1 (x₂ x₁ | x₀ x₁ x₂ … | x_{n−2});
    dL/dx[i] = Σ_{o : src(o) = i} g[o]"""

    @staticmethod
    def source(n: int, before: int, after: int) -> np.ndarray:
        u = np.arange(-before, n + after)
        return np.where(u < 0, -u, np.where(u >= n, 2 * (n - 1) - u, u))


class ReplicatePad(_GatherPad):
    """z[o] = x[clamp(o − a, 0, n − 1)] (x₀ x₀ | x₀ x₁ … x_{n−1} | x_{n−1});
    dL/dx[i] = Σ_{o : src(o) = i} g[o]: the edge values collect the gradient of their whole border"""

    @staticmethod
    def source(n: int, before: int, after: int) -> np.ndarray:
        return np.clip(np.arange(-before, n + after), 0, n - 1)


class CircularPad(_GatherPad):
    """crop the negative widths to [lo, hi) of size c, then z[o] = x[lo + (o − max(a, 0)) mod c]
    (x_{n−1} | x₀ … x_{n−1} | x₀);  dL/dx[i] = Σ_{o : src(o) = i} g[o]"""

    @staticmethod
    def source(n: int, before: int, after: int) -> np.ndarray:
        lo, hi = max(-before, 0), n - max(-after, 0)
        c = hi - lo
        u = np.arange(-max(before, 0), c + max(after, 0))
        return lo + u % c if c else u


_BY_MODE = {"reflect": ReflectPad, "replicate": ReplicatePad, "circular": CircularPad}


def check_input(input: Any) -> None:
    if not isinstance(input, Tensor):
        raise TypeError(f"pad: argument 'input' must be Tensor, not {type(input).__name__}")


def pad_widths(pad: Any, ndim: int) -> list[tuple[int, int]]:
    """F.pad's ``pad`` (before, after pairs from the LAST dim) checked as PyTorch checks it, as
    (before, after) per dim of the input, first dim first."""
    if isinstance(pad, Tensor) or not isinstance(pad, Sequence) or isinstance(pad, str):
        raise TypeError(f"pad: argument 'pad' must be a tuple of ints, not {type(pad).__name__}")
    for i, p in enumerate(pad):
        if isinstance(p, bool) or not isinstance(p, int | np.integer):
            raise TypeError(
                f"pad: argument 'pad' must be a tuple of ints, but found element of type {type(p).__name__} at pos {i}"
            )
    if len(pad) % 2:
        raise RuntimeError(f"pad: padding length must be divisible by 2, got {tuple(pad)}")
    if len(pad) // 2 > ndim:
        raise RuntimeError(
            "pad: padding length should be less than or equal to two times the input dimension but got "
            f"padding length {len(pad)} and input of dimension {ndim}"
        )
    pairs = [(int(pad[i]), int(pad[i + 1])) for i in range(0, len(pad), 2)]
    return [(0, 0)] * (ndim - len(pairs)) + pairs[::-1]


def pad_by_mode(input: Tensor, pad: Sequence[int], mode: str, value: Any = None) -> Tensor:
    """F.pad for mode "reflect", "replicate" or "circular" of 1-, 2- or 3-d padding of (C, *) or (N, C, *)."""
    if autocast_state.enabled:
        (input,) = autocast_args(f"pad_{mode}", input)
    check_input(input)
    if mode not in MODES:
        raise NotImplementedError(f"pad: unrecognised padding mode {mode!r} (expected one of {', '.join(MODES)})")
    widths = pad_widths(pad, input.ndim)
    if value is not None and value != 0:
        raise RuntimeError(f'pad: padding mode "{mode}" doesn\'t take in value argument (got value={value})')
    k, shape = len(pad) // 2, input.shape
    if not 1 <= k <= 3 or input.ndim not in (k + 1, k + 2):
        raise NotImplementedError(
            f"pad: padding size {len(pad)} is not supported for {input.ndim}D input tensor in mode {mode!r} "
            "(2, 4 or 6 values for the last 1, 2 or 3 dims of an unbatched (C, *) or batched (N, C, *) input)"
        )
    padded = list(range(input.ndim - k, input.ndim))
    sizes = "".join(f"{'DHW'[3 - k + j]}: {shape[d]}, " for j, d in enumerate(padded))[:-2]
    if mode in ("reflect", "replicate"):
        if input.dtype.kind == "b":
            raise NotImplementedError(f"pad: mode {mode!r} is not implemented for bool input")
        if any(n == 0 for n in shape[input.ndim - k - 1 :]):
            raise RuntimeError(
                f"pad: expected {k + 1}D or {k + 2}D (batch mode) tensor with possibly 0 batch size and other "
                f"non-zero dimensions for input in mode {mode!r}, but got: {list(shape)}"
            )
        if mode == "reflect":
            for d in padded:
                a, b = widths[d]
                if a >= shape[d] or b >= shape[d]:
                    raise RuntimeError(
                        "pad: padding size should be less than the corresponding input dimension in mode 'reflect', "
                        f"but got: padding ({a}, {b}) at dimension {d} of input {list(shape)}"
                    )
        out = [shape[d] + sum(widths[d]) for d in padded]
        if min(out) < 0 or max(out) < 1:
            raise RuntimeError(f"pad: input ({sizes}) is too small. Calculated output size: {out}")
    else:
        for d in padded:
            a, b = widths[d]
            c = shape[d] - max(-a, 0) - max(-b, 0)
            if c < 0:
                raise RuntimeError(
                    f"pad: negative padding ({a}, {b}) at dimension {d} of input {list(shape)} "
                    "is resulting in an empty dimension"
                )
            if max(a, 0) > c or max(b, 0) > c:
                raise RuntimeError(
                    f"pad: padding ({a}, {b}) at dimension {d} of input {list(shape)} causes wrapping around "
                    "more than once in mode 'circular'"
                )
    return _BY_MODE[mode].pad(input, widths)
