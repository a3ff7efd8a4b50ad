"""Load CUDA C source files as CuPy RawModules, compiled once per process.

The .cu sources live next to their launchers; ``#include "common.cuh"`` finds
headers in the same directory. Constants a launcher shares with its .cu file
reach the compiler from the launcher, as template arguments (``name_expressions``)
or ``-D`` defines (``defines``), so the .cu file does not repeat them. NVRTC
compiles for the GPU in use (sm_90 on an H100), or for the ``arch`` a launcher names
(sm_90a for wgmma); tests/kernels/test_cuda_compile.py
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
def raw_module(
    path: str, name_expressions: tuple[str, ...] = (), options: tuple[str, ...] = (), arch: str | None = None
) -> Any:
    """Compile ``path`` (a .cu file) with NVRTC and return the cupy.RawModule (``arch``: see _arch_module)."""
    import cupy

    source = Path(path).read_text(encoding="utf-8")
    opts = ("-std=c++17", f"-I{Path(path).parent}", *_toolkit_includes(), *options)
    if arch is not None:
        return _arch_module(source, opts, name_expressions, arch)
    module = cupy.RawModule(code=source, options=opts, name_expressions=name_expressions or None)
    module.compile()
    return module


class _ArchModule:
    """A module NVRTC built for a named arch: ``get_function`` takes the name expressions too."""

    def __init__(self, module: Any, lowered: dict[str, str]) -> None:
        self.module, self.lowered = module, lowered

    def get_function(self, name: str) -> Any:
        return self.module.get_function(self.lowered.get(name, name))


def _arch_module(source: str, options: tuple[str, ...], name_expressions: tuple[str, ...], arch: str) -> _ArchModule:
    """NVRTC for ``arch`` (e.g. "sm_90a", which wgmma and setmaxnreg need), through CuPy's NVRTC binding.

    cupy.RawModule appends ``-arch=sm_<cc>`` of the device itself (no "a" suffix) and NVRTC rejects a
    second ``-arch`` option, so a named arch compiles here; the include dirs are those RawModule adds.
    """
    from cupy._core.core import assemble_cupy_compiler_options
    from cupy.cuda.function import Module
    from cupy_backends.cuda.libs import nvrtc

    program = nvrtc.createProgram(source, "kernel.cu", (), ())
    try:
        for name in name_expressions:
            nvrtc.addNameExpression(program, name)
        try:
            nvrtc.compileProgram(program, (*assemble_cupy_compiler_options(options), f"-arch={arch}"))
        except nvrtc.NVRTCError as err:
            raise RuntimeError(f"NVRTC for {arch} failed:\n{nvrtc.getProgramLog(program)}") from err
        lowered = {name: nvrtc.getLoweredName(program, name) for name in name_expressions}
        cubin = nvrtc.getCUBIN(program)
    finally:
        nvrtc.destroyProgram(program)
    module = Module()
    module.load(cubin)
    return _ArchModule(module, lowered)


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
    path: str | Path,
    name: str,
    name_expressions: Sequence[str] = (),
    defines: Mapping[str, int] | None = None,
    arch: str | None = None,
) -> Any:
    """The compiled kernel ``name`` (a plain extern "C" name or one of ``name_expressions``).

    ``defines`` become ``-D`` options; each distinct set compiles its own module. ``arch`` names
    the target ("sm_90a"); by default NVRTC compiles for the GPU in use.
    """
    module = raw_module(str(path), tuple(name_expressions), define_options(defines or {}), arch)
    return module.get_function(name)


def ceil_div(a: int, b: int) -> int:
    return -(-a // b)
