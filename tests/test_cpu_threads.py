"""numba's threading layer and OpenBLAS's spin: glassgrad prefers threads that let go of the cores
between parallel loops and GEMMs (cpu_threads.py)."""

from __future__ import annotations

import os
import platform
import site
import subprocess
import sys
from pathlib import Path

import pytest

from glassgrad.cpu_threads import OPENBLAS_TIMEOUT, TBB_LIBRARY_NAMES, tbb_library_path

RUN_A_PARALLEL_LOOP = """
import numpy as np, numba
import glassgrad
from glassgrad.kernels.conv2d import cpu_numba
cpu_numba.conv2d(np.ones((1, 1, 4, 4)), np.ones((1, 1, 3, 3)), None)
print(glassgrad.cpu_threads.tbb_status())
print(numba.threading_layer())
"""


def _run_loop(**env: str) -> tuple[str, str]:
    """(tbb_status(), numba.threading_layer()) in a fresh interpreter after one parallel loop."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("NUMBA_THREADING_LAYER")}
    done = subprocess.run(
        [sys.executable, "-c", RUN_A_PARALLEL_LOOP], env=clean | env, capture_output=True, text=True, check=True
    )
    status, layer = done.stdout.strip().splitlines()[-2:]
    return status, layer


def _layer(**env: str) -> str:
    return _run_loop(**env)[1]


def test_openmp_comes_last() -> None:
    """With the tbb wheel installed (a dependency on x86-64), TBB is loaded from wherever pip put it
    (a virtualenv's lib/ included, which the loader does not search) and numba runs on it."""
    status, layer = _run_loop()
    if tbb_library_path() is None:
        assert status.startswith("absent") and layer == "workqueue"
    else:
        assert status == f"loaded from {tbb_library_path()}" and layer == "tbb"


@pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64"), reason="tbb is a dependency on x86-64 only")
def test_tbb_is_found_through_the_wheels_file_list() -> None:
    path = tbb_library_path()  # the wheel's lib/ is <prefix>/lib of the environment it went into
    assert path is not None and path.name in TBB_LIBRARY_NAMES and path.is_file()
    prefixes = {Path(p).resolve() for p in (sys.prefix, sys.base_prefix, site.getuserbase())}
    assert prefixes & set(path.parents), (path, prefixes)


@pytest.mark.parametrize("layer", ["workqueue", "omp"])
def test_the_users_choice_wins(layer: str) -> None:
    assert _layer(NUMBA_THREADING_LAYER=layer) == layer


READ_OPENBLAS_TIMEOUT = """
import ctypes
{first}
from glassgrad.cpu_threads import loaded_openblas_paths
print(*[ctypes.CDLL(p).openblas_thread_timeout() for p in loaded_openblas_paths()])
"""


@pytest.mark.parametrize("first", ["import numpy", "import glassgrad"])
def test_openblas_threads_spin_briefly_whichever_is_imported_first(first: str) -> None:
    clean = {k: v for k, v in os.environ.items() if k != "OPENBLAS_THREAD_TIMEOUT"}
    code = READ_OPENBLAS_TIMEOUT.format(first=f"{first}\nimport glassgrad")
    done = subprocess.run([sys.executable, "-c", code], env=clean, capture_output=True, text=True, check=True)
    timeouts = done.stdout.split()
    assert timeouts and set(timeouts) == {OPENBLAS_TIMEOUT}, done.stdout  # NumPy's OpenBLAS, re-read after it loaded


def test_the_users_openblas_timeout_wins() -> None:
    code = READ_OPENBLAS_TIMEOUT.format(first="import glassgrad")
    env = os.environ | {"OPENBLAS_THREAD_TIMEOUT": "12"}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert set(done.stdout.split()) == {"12"}
