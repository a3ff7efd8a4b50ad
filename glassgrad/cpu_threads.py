"""How numba's parallel loops share the CPU cores with BLAS's threads.

A training step on the CPU alternates numba's parallel loops (im2col, col2im,
pooling) with OpenBLAS's GEMMs, each with its own pool of threads. A pool whose
threads keep spinning after their work is done takes the cores from the other
pool's next piece of work, so glassgrad makes both pools let go quickly:

* numba: under its OpenMP layer the threads spin after every loop. One
  mnist-cnn epoch took 6.5 s that way, against 2.5 s with the workqueue layer
  (threads that sleep at once) and 2.1 s with TBB (threads that spin briefly,
  then sleep); on an earlier, busier spell of the same machine 12.1, 3.4 and
  2.7 s. glassgrad asks numba for TBB first (the ``tbb`` package comes with
  glassgrad where PyPI has it), then workqueue, and OpenMP last. (Making
  OpenMP's threads passive with OMP_WAIT_POLICY would also have slowed
  PyTorch, which shares the process in the benchmarks.)
* OpenBLAS: an idle thread spins for 2^OPENBLAS_THREAD_TIMEOUT cycles, 2^28 by
  default (about 0.1 s), before it sleeps, and takes a core from numba's next
  loop. Best / median of 4 runs of one mnist-cnn epoch, switching the value
  inside one process: 2^4: 2.07 / 2.52 s, 2^16: 2.28 / 2.48 s, 2^20: 2.01 /
  2.36 s, 2^28: 2.60 / 3.02 s (an earlier run: 1.80, 1.82, 1.94, 2.27 s best).
  100 steps of the 784-256-256-10 MLP, all GEMMs with short gaps, showed no
  cost from the shorter spins beyond the machine's noise (0.33-0.47 s best in
  either run); 2^16 cycles, about 25 µs, still bridges those gaps. OpenBLAS
  reads the variable when it loads; when NumPy (and so OpenBLAS) is already
  loaded, glassgrad has it read its environment again and restarts its idle
  threads (``openblas_read_env`` and ``blas_thread_shutdown_``, both exported
  by OpenBLAS; the threads come back at the next GEMM).

Measured by ``python benchmarks/bench_cpu_threads.py`` (2 cores;
benchmarks/results/cpu_threads.json).

The ``tbb`` wheel puts ``libtbb.so.12`` in ``<prefix>/lib`` of the environment it
is installed into. The dynamic loader searches that folder only for the
interpreter's own prefix, so in a virtualenv, a ``--user`` install or any
other prefix numba would not find it and would silently fall back to
workqueue. glassgrad loads the wheel's library by its full path first (found
through the wheel's own file list), so that numba's TBB extension finds it
already loaded; when it still cannot be loaded, ``tbb_status()`` says why and
``python -m glassgrad doctor`` prints it.

A choice the user made in the environment (NUMBA_THREADING_LAYER,
NUMBA_THREADING_LAYER_PRIORITY, OPENBLAS_THREAD_TIMEOUT) is left alone.
"""

from __future__ import annotations

import ctypes
import importlib.metadata
import os
import sys
from pathlib import Path

NUMBA_PRIORITY = "tbb workqueue omp"
OPENBLAS_TIMEOUT = "16"  # 2^16 cycles of spinning before an idle OpenBLAS thread sleeps


TBB_LIBRARY_NAMES = ("libtbb.so.12", "libtbb.12.dylib", "tbb12.dll")  # the names numba's TBB layer links


def tbb_library_path() -> Path | None:
    """Where the installed ``tbb`` wheel put its TBB 12 library, from the wheel's file list (None if absent)."""
    try:
        files = importlib.metadata.distribution("tbb").files or []
    except importlib.metadata.PackageNotFoundError:
        return None
    for file in files:
        if file.name in TBB_LIBRARY_NAMES:
            path = Path(file.locate()).resolve()
            if path.exists():
                return path
    return None


def load_tbb() -> str:
    """Load the tbb wheel's library by path (RTLD_GLOBAL) before numba looks for it by name; says what happened."""
    path = tbb_library_path()
    if path is None:
        return "absent: the tbb package is not installed (pip install tbb), so numba uses workqueue"
    try:
        ctypes.CDLL(str(path), mode=ctypes.RTLD_GLOBAL)
    except OSError as err:
        return f"unloadable: {path}: {err}; numba uses workqueue"
    return f"loaded from {path}"


def tbb_status() -> str:
    """What became of numba's TBB layer in this process: loaded from where, absent, or why it failed."""
    return _tbb_status


def prefer_threads_that_sleep() -> None:
    """Set numba's threading-layer priority (before its first parallel loop runs) unless the user set one."""
    if "NUMBA_THREADING_LAYER" in os.environ or "NUMBA_THREADING_LAYER_PRIORITY" in os.environ:
        return
    os.environ["NUMBA_THREADING_LAYER_PRIORITY"] = NUMBA_PRIORITY  # read by numba's config on its next reload
    import numba

    numba.config.THREADING_LAYER_PRIORITY = NUMBA_PRIORITY.split()


def loaded_openblas_paths() -> list[str]:
    """The OpenBLAS shared libraries this process has loaded (Linux; elsewhere none are found)."""
    try:
        with open("/proc/self/maps") as maps:
            paths = {line.split()[-1] for line in maps if "openblas" in line.lower()}
    except OSError:
        return []
    return sorted(p for p in paths if ".so" in p)


def short_openblas_spin() -> None:
    """OPENBLAS_THREAD_TIMEOUT=16 for an OpenBLAS loaded from now on, and for one already loaded."""
    if "OPENBLAS_THREAD_TIMEOUT" in os.environ:
        return
    os.environ["OPENBLAS_THREAD_TIMEOUT"] = OPENBLAS_TIMEOUT
    if "numpy" not in sys.modules:
        return  # NumPy's OpenBLAS will read it when it loads
    for path in loaded_openblas_paths():
        library = ctypes.CDLL(path)
        if hasattr(library, "openblas_read_env") and hasattr(library, "blas_thread_shutdown_"):
            library.openblas_read_env()
            library.blas_thread_shutdown_()


short_openblas_spin()
_tbb_status = load_tbb()  # also where the user picked a layer: their choice may be tbb
prefer_threads_that_sleep()
