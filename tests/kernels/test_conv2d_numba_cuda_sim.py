"""The numba.cuda direct conv2d kernels (forward, input and weight gradient) in numba's CUDA simulator.

As in test_numba_cuda_sim.py the simulator needs NUMBA_ENABLE_CUDASIM=1 before
numba is first imported, so the kernels run in a fresh Python process, on
tiny shapes (the simulator runs each CUDA thread as a Python thread), against
the float64 cpu reference.
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
from glassgrad.kernels.conv2d.numba_cuda import conv2d_direct

ROOT = Path(__file__).resolve().parents[2]
OPS = ("conv2d", "conv2d_grad_input", "conv2d_grad_weight")

SCRIPT = """
import json
import numpy as np
from numba import config
assert config.ENABLE_CUDASIM, "the simulator is not on"
from glassgrad import kernels
from glassgrad.kernels.conv2d.numba_cuda import conv2d_direct, conv2d_grad_input_direct, conv2d_grad_weight_direct

rng = np.random.default_rng(0)
def rand(*shape):
    return rng.standard_normal(shape).astype(np.float32)

def options(stride, padding, dilation, groups):
    return {"stride": stride, "padding": padding, "dilation": dilation, "groups": groups}

# name: (x, weight, bias, options)
cases = {
    "batch 2, stride 2, pad 1, dilation 2, groups 2, 2x3 kernel, 6x7 input, bias":
        (rand(2, 4, 6, 7), rand(6, 2, 2, 3), rand(6), options((2, 2), (1, 1), (2, 2), 2)),
    "depthwise 3->6, stride (2,1), pad (1,0), 3x3 kernel, 5x8 input":
        (rand(1, 3, 5, 8), rand(6, 1, 3, 3), None, options((2, 1), (1, 0), (1, 1), 3)),
    "1x1 conv 5->3, batch 2, x with reversed strides (F-order), bias":
        (rand(4, 3, 5, 2).T, rand(3, 5, 1, 1), rand(3), options((1, 1), (0, 0), (1, 1), 1)),
    "stride (1,2), pad (0,2), dilation (1,2), 3x2 kernel, 4x9 input":
        (rand(1, 2, 4, 9), rand(2, 2, 3, 2), None, options((1, 2), (0, 2), (1, 2), 1)),
}
ref = {op: kernels.reference(op, "cpu") for op in ("conv2d", "conv2d_grad_input", "conv2d_grad_weight")}
f64 = lambda a: None if a is None else a.astype(np.float64)

def error(got, want):
    if got.shape != want.shape or got.dtype != np.float32:
        return float("inf")
    return float(np.abs(got - want).max() / np.abs(want).max())

errors = {}
for name, (x, w, b, opts) in cases.items():
    y = conv2d_direct(x, w, b, **opts)
    errors[f"forward: {name}"] = error(y, ref["conv2d"](f64(x), f64(w), f64(b), **opts))
    g = rand(*y.shape)
    dx = conv2d_grad_input_direct(g, w, x.shape, **opts)
    errors[f"input grad: {name}"] = error(dx, ref["conv2d_grad_input"](f64(g), f64(w), x.shape, **opts))
    dw = conv2d_grad_weight_direct(x, g, w.shape, **opts)
    errors[f"weight grad: {name}"] = error(dw, ref["conv2d_grad_weight"](f64(x), f64(g), w.shape, **opts))
print(json.dumps(errors))
"""


def test_direct_conv2d_kernels_match_the_float64_reference_in_the_simulator() -> None:
    env = {**os.environ, "NUMBA_ENABLE_CUDASIM": "1", "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, cwd=ROOT, timeout=240
    )
    assert result.returncode == 0, result.stderr[-3000:]
    errors = json.loads(result.stdout.strip().splitlines()[-1])
    assert len(errors) == 12
    bad = {name: err for name, err in errors.items() if not err < 1e-5}  # the spec's float32 tolerance
    assert not bad, bad


def test_direct_variants_are_registered_on_cuda_for_float32_and_not_default() -> None:
    x, w = np.zeros((1, 2, 3, 3), np.float32), np.zeros((2, 2, 1, 1), np.float32)
    for op in OPS:
        v = kernels.variant(op, "cuda", "numba_direct")
        assert v.dtypes == ("float32",) and not v.reference
        assert kernels.default_name(op, "cuda") != "numba_direct"
    forward = kernels.variant("conv2d", "cuda", "numba_direct")
    assert forward.supports(x, w, None)
    assert not forward.supports(x, w.astype(np.float64), None)  # mixed dtypes go to the reference
    assert not forward.supports(x.astype(np.float64), w.astype(np.float64), None)


def test_direct_conv2d_refuses_float64_before_launching() -> None:
    x, w = np.zeros((1, 2, 3, 3)), np.zeros((2, 2, 1, 1))
    with pytest.raises(TypeError, match="conv2d.*float32"):
        conv2d_direct(x, w, None)


@pytest.mark.gpu
@pytest.mark.parametrize("op", OPS)
def test_direct_variants_validate_on_the_gpu(op: str) -> None:
    report = kernels.validate(op, "numba_direct", "cuda", dtypes=("float32",))
    assert report.passed, str(report)
