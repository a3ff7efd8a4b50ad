"""The numba.cuda max-pooling kernels (arg-max, gradient) in numba's CUDA simulator.

As in test_numba_cuda_sim.py the simulator needs NUMBA_ENABLE_CUDASIM=1 before
numba is first imported, so the kernels run in a fresh Python process, on tiny
shapes, against the cpu reference: the indices exactly, the gradient against
the float64 reference.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import glassgrad.kernels as kernels
from glassgrad.kernels.pooling.numba_cuda import max_pool2d_argmax_direct

ROOT = Path(__file__).resolve().parents[2]
OPS = ("max_pool2d_argmax", "max_pool2d_grad")

SCRIPT = """
import json
import numpy as np
from numba import config
assert config.ENABLE_CUDASIM, "the simulator is not on"
from glassgrad import kernels
from glassgrad.kernels.pooling.numba_cuda import max_pool2d_argmax_direct, max_pool2d_grad_direct

rng = np.random.default_rng(0)
def options(kernel, stride, padding, dilation, ceil_mode):
    return {"kernel_size": kernel, "stride": stride, "padding": padding, "dilation": dilation, "ceil_mode": ceil_mode}

ties_and_nans = rng.integers(0, 3, (2, 2, 6, 7)).astype(np.float32)
ties_and_nans[0, 0, ties_and_nans[0, 0] == 0] = np.nan
minus_inf = rng.standard_normal((1, 2, 5, 5)).astype(np.float32)
minus_inf[0, 1] = -np.inf  # every real pixel -inf: the window's first real pixel wins, never the padding
cases = {
    "ties and NaNs, overlapping 3x3 windows, stride 1, pad 1":
        (ties_and_nans, options((3, 3), (1, 1), (1, 1), (1, 1), False)),
    "kernel (2,3), stride (2,1), dilation (2,1), ceil_mode, 7x8 input":
        (rng.standard_normal((1, 3, 7, 8)).astype(np.float32), options((2, 3), (2, 1), (1, 1), (2, 1), True)),
    "a plane of -inf, kernel 3, stride 2, pad 1":
        (minus_inf, options((3, 3), (2, 2), (1, 1), (1, 1), False)),
}
argmax, grad = kernels.reference("max_pool2d_argmax", "cpu"), kernels.reference("max_pool2d_grad", "cpu")
errors = {}
for name, (x, opts) in cases.items():
    indices = max_pool2d_argmax_direct(x, **opts)
    want = argmax(x, **opts)
    same = indices.dtype == np.int64 and indices.shape == want.shape and bool((indices == want).all())
    errors[f"argmax: {name}"] = 0.0 if same else float("inf")
    g = rng.standard_normal(want.shape).astype(np.float32)
    dx, dx_want = max_pool2d_grad_direct(g, want, x.shape), grad(g.astype(np.float64), want, x.shape)
    ok = dx.dtype == np.float32 and dx.shape == dx_want.shape
    errors[f"grad: {name}"] = float(np.abs(dx - dx_want).max() / np.abs(dx_want).max()) if ok else float("inf")
print(json.dumps(errors))
"""


def test_max_pool_kernels_match_the_reference_in_the_simulator() -> None:
    env = {**os.environ, "NUMBA_ENABLE_CUDASIM": "1", "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, cwd=ROOT, timeout=240
    )
    assert result.returncode == 0, result.stderr[-3000:]
    errors = json.loads(result.stdout.strip().splitlines()[-1])
    assert len(errors) == 6
    bad = {name: err for name, err in errors.items() if not err < 1e-6}
    assert not bad, bad


def test_max_pool_variants_are_registered_on_cuda_for_float32_and_not_default() -> None:
    for op in OPS:
        v = kernels.variant(op, "cuda", "numba_direct")
        assert v.dtypes == ("float32",) and not v.reference
        assert kernels.default_name(op, "cuda") != "numba_direct"
    with pytest.raises(TypeError, match="max_pool2d_argmax.*float32"):
        max_pool2d_argmax_direct(np.zeros((1, 1, 2, 2)), (2, 2), (2, 2), (0, 0))


@pytest.mark.gpu
@pytest.mark.parametrize("op", OPS)
def test_max_pool_variants_validate_on_the_gpu(op: str) -> None:
    report = kernels.validate(op, "numba_direct", "cuda", dtypes=("float32",))
    assert report.passed, str(report)
