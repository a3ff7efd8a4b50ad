"""The dropout ops' uniform draw in whole-array NumPy (or CuPy): philox_uniform.cuh's numbers, element for element.

The generator is Philox4x32-10 (kernels/philox.py), counter-based: element i of a dropout mask draws from
Philox(counter = (i mod 2³², i div 2³², offset mod 2³², offset div 2³²), key = seed),
so the mask is a pure function of (seed, offset, i), the same here and in the
CUDA kernels, and a backward recomputes it instead of storing it:

    u:      (first word >> 8) · 2⁻²⁴ ∈ [0, 1), exact in float32
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from ...engine import backend
from ..philox import philox4x32_10

SOURCE = Path(__file__).parent / "philox_uniform.cuh"
_LOW = 0xFFFFFFFF
_INCLUDE = re.compile(r'\s*#\s*include\s+"([^"]+)"\s*$')


def uniform(xp: Any, seed: int, offset: int, shape: tuple[int, ...]) -> Any:
    """float32 u ∈ [0, 1) per element of a C-ordered array of ``shape`` (element i: counter (i, offset))."""
    index = xp.arange(int(np.prod(shape, dtype=np.int64)), dtype=xp.uint64)
    seed, offset = int(seed), int(offset)
    counter = (index & _LOW, index >> 32, offset & _LOW, offset >> 32)
    first = philox4x32_10(counter, (seed & _LOW, seed >> 32), xp)[0]
    return ((first >> 8).astype(xp.float32) * xp.float32(2.0**-24)).reshape(shape)


def uniform_like(x: Any, seed: int, offset: int) -> Any:
    """``uniform`` for the shape of ``x``, on ``x``'s device."""
    return uniform(backend.xp_of(x), seed, offset, x.shape)


def preamble() -> str:
    """The CUDA source of philox_uniform, for an ElementwiseKernel's preamble: philox_uniform.cuh with its
    quoted includes (kernels/cuda/philox.cuh) written in place, so that NVRTC needs no include path, and
    without ``#pragma once``, which a compiler warns about in the main file."""
    return _inlined(SOURCE)


def _inlined(path: Path) -> str:
    """The text of ``path`` with each ``#include "relative"`` replaced by that file's (inlined) text."""
    lines = []
    for line in path.read_text(encoding="utf-8").splitlines():
        include = _INCLUDE.match(line)
        if include:
            lines.append(_inlined((path.parent / include.group(1)).resolve()).rstrip("\n"))
        elif line.strip() != "#pragma once":
            lines.append(line)
    return "\n".join(lines) + "\n"
