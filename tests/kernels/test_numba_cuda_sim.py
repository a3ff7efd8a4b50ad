"""The numba.cuda matmul kernels (naive, shared-memory tiled) in numba's CUDA simulator.

The simulator is switched on by NUMBA_ENABLE_CUDASIM=1 before numba is first
imported, so it runs in a fresh Python process: the other tests in this
worker keep the real numba. It runs each CUDA thread as a Python thread, so
the sizes stay tiny.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import glassgrad.kernels as kernels

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import json, sys
import numpy as np
from numba import config
assert config.ENABLE_CUDASIM, "the simulator is not on"
from glassgrad.kernels.matmul.numba_cuda import numba_naive, numba_smem

rng = np.random.default_rng(0)
def rand(*shape):
    return rng.standard_normal(shape).astype(np.float32)

cases = {
    "1x1x1": (rand(1, 1), rand(1, 1)),
    "7x7x7": (rand(7, 7), rand(7, 7)),
    "33x33x33": (rand(33, 33), rand(33, 33)),
    "20x9x35 non-square": (rand(20, 9), rand(9, 35)),
    "transposed A (5x18).T": (rand(18, 5).T, rand(18, 6)),
    "batched 2x(5x7 @ 7x6), B shared": (rand(2, 5, 7), rand(7, 6)),
}
errors = {}
for fn in (numba_naive, numba_smem):
    for name, (a, b) in cases.items():
        c = fn(a, b)
        want = np.matmul(a.astype(np.float64), b.astype(np.float64))
        ok = c.shape == want.shape and c.dtype == np.float32
        errors[f"{fn.__name__} {name}"] = float(np.abs(c - want).max()) if ok else float("inf")
print(json.dumps(errors))
"""


def test_numba_cuda_kernels_in_the_simulator() -> None:
    env = {**os.environ, "NUMBA_ENABLE_CUDASIM": "1", "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, cwd=ROOT, timeout=240
    )
    assert result.returncode == 0, result.stderr[-3000:]
    errors = json.loads(result.stdout.strip().splitlines()[-1])
    assert len(errors) == 12
    bad = {name: err for name, err in errors.items() if not err < 1e-4}
    assert not bad, bad


def test_numba_variants_are_registered_for_float32_on_cuda() -> None:
    for name in ("numba_naive", "numba_smem"):
        v = kernels.variant("matmul", "cuda", name)
        assert v.dtypes == ("float32",) and not v.reference


@pytest.mark.gpu
@pytest.mark.parametrize("name", ["numba_naive", "numba_smem"])
def test_numba_variants_validate_on_the_gpu(name: str) -> None:
    report = kernels.validate("matmul", name, "cuda", dtypes=("float32",))
    assert report.passed, str(report)
