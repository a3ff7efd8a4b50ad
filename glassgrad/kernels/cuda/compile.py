"""Load CUDA C source files as CuPy RawModules, compiled once per process.

The .cu sources live next to their launchers; ``#include "common.cuh"`` finds
headers in the same directory. Constants a launcher shares with its .cu file
reach the compiler from the launcher, as template arguments (``name_expressions``)
or ``-D`` defines (``defines``), so the .cu file does not repeat them. NVRTC
compiles for the GPU in use (sm_90 on an H100); tests/kernels/test_cuda_compile.py
compiles every file with nvcc for sm_80 and sm_90 with the same template
instances and defines, so CI catches errors and register spills without a GPU.
"""

from __future__ import annotations

import functools
import os
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any


@functools.cache
def raw_module(path: str, name_expressions: tuple[str, ...] = (), options: tuple[str, ...] = ()) -> Any:
    """Compile ``path`` (a .cu file) with NVRTC and return the cupy.RawModule."""
    import cupy

    source = Path(path).read_text(encoding="utf-8")
    opts = ("-std=c++17", f"-I{Path(path).parent}", *_toolkit_includes(), *options)
    module = cupy.RawModule(code=source, options=opts, name_expressions=name_expressions or None)
    module.compile()
    return module


@functools.cache
def _toolkit_includes() -> tuple[str, ...]:
    """Include dirs of a full CUDA toolkit, when one is found.

    NVRTC ships the headers for plain kernels, but ``<mma.h>`` (WMMA) includes
    ``crt/mma.h``, which pip's CUDA header packages may lack; a toolkit found
    through CUDA_PATH, CUDA_HOME or nvcc provides it.
    """
    roots = [os.environ.get("CUDA_PATH"), os.environ.get("CUDA_HOME"), "/usr/local/cuda"]
    nvcc = shutil.which("nvcc")
    if nvcc:
        roots.append(str(Path(nvcc).resolve().parent.parent))
    for root in roots:
        if root and (Path(root) / "include" / "crt" / "mma.h").exists():
            return (f"-I{Path(root) / 'include'}",)
    return ()


def define_options(defines: Mapping[str, int]) -> tuple[str, ...]:
    """``-DNAME=value`` compiler options, sorted by name (NVRTC and nvcc read them alike)."""
    return tuple(f"-D{name}={value}" for name, value in sorted(defines.items()))


def kernel(
    path: str | Path, name: str, name_expressions: Sequence[str] = (), defines: Mapping[str, int] | None = None
) -> Any:
    """The compiled kernel ``name`` (a plain extern "C" name or one of ``name_expressions``).

    ``defines`` become ``-D`` options; each distinct set compiles its own module.
    """
    module = raw_module(str(path), tuple(name_expressions), define_options(defines or {}))
    return module.get_function(name)


def ceil_div(a: int, b: int) -> int:
    return -(-a // b)
