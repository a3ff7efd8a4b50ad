"""numba's threading layer and OpenBLAS's spin: glassgrad prefers threads that let go of the cores
between parallel loops and GEMMs (cpu_threads.py)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from glassgrad.cpu_threads import OPENBLAS_TIMEOUT

RUN_A_PARALLEL_LOOP = """
import numpy as np, numba
import glassgrad
from glassgrad.kernels.conv2d import cpu_numba
cpu_numba.conv2d(np.ones((1, 1, 4, 4)), np.ones((1, 1, 3, 3)), None)
print(numba.threading_layer())
"""


def _layer(**env: str) -> str:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("NUMBA_THREADING_LAYER")}
    done = subprocess.run(
        [sys.executable, "-c", RUN_A_PARALLEL_LOOP], env=clean | env, capture_output=True, text=True, check=True
    )
    return done.stdout.strip().splitlines()[-1]


def test_openmp_comes_last() -> None:
    import importlib.metadata

    try:
        importlib.metadata.distribution("tbb")  # a wheel of shared libraries, no Python module
        expected = "tbb"
    except importlib.metadata.PackageNotFoundError:
        expected = "workqueue"
    assert _layer() == expected


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
