"""numba's threading layer: glassgrad prefers threads that sleep between parallel loops (cpu_threads.py)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

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
