"""The numba.cuda FlashAttention kernels (forward, dK/dV, dQ) in numba's CUDA simulator.

The simulator is switched on by NUMBA_ENABLE_CUDASIM=1 before numba is first imported, so it runs in
a fresh Python process (one for every case: each CUDA thread is a Python thread, so the shapes stay
tiny). Every case checks O, lse, dQ, dK and dV against the float64 reference.
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

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import json
import numpy as np
from numba import config
assert config.ENABLE_CUDASIM, "the simulator is not on"
from glassgrad.kernels.attention import numba_cuda
from glassgrad.kernels.attention.numba_cuda import flash_backward, flash_forward
from glassgrad.kernels.attention.reference import attention_backward, attention_forward

rng = np.random.default_rng(0)
def rand(*shape):
    return rng.standard_normal(shape).astype(np.float32)

def qkv(n, lq, lk, d, dv=None):
    return rand(n, lq, d), rand(n, lk, d), rand(n, lk, dv or d)

# a bool key-padding mask (True = attend) made additive as the engine does; head 1 sees no key at all
keep = rng.random((2, 1, 40)) < 0.7
keep[0, 0, 0], keep[1] = True, False
padding = np.where(keep, 0.0, -np.inf).astype(np.float32)
q_t, k_t, v_t = (rand(length, 1, 16).transpose(1, 0, 2) for length in (33, 40, 40))  # (N, L, D) views
cases = {
    "L1 D8": (qkv(1, 1, 1, 8), {}),
    "L7 D16 causal scale": (qkv(1, 7, 7, 16), {"is_causal": True, "scale": 0.5}),
    "L33 D8 additive mask (1, Lq, Lk)": (qkv(1, 33, 33, 8), {"mask": rand(1, 33, 33), "scale": 0.35}),
    "Lq33 Lk20 D16 Dv8 causal": (qkv(1, 33, 20, 16, 8), {"is_causal": True, "scale": 0.25}),
    "Lq7 Lk40 bool key padding, a head with no key": (qkv(2, 7, 40, 16), {"mask": padding, "scale": 0.25}),
    "Lq70 Lk70 D8 causal (two blocks each way)": (qkv(1, 70, 70, 8), {"is_causal": True, "scale": 0.35}),
    "non-contiguous q/k/v, Lq33 Lk40": ((q_t, k_t, v_t), {"scale": 0.25}),
}
errors = {}
for name, ((q, k, v), kw) in cases.items():
    wide = {**kw, "mask": None if kw.get("mask") is None else kw["mask"].astype(np.float64)}
    q64, k64, v64 = (a.astype(np.float64) for a in (q, k, v))
    o_want, lse_want = attention_forward(q64, k64, v64, **wide)
    grad_out = rand(*o_want.shape)
    grads_want = attention_backward(q64, k64, v64, o_want, grad_out.astype(np.float64), lse_want, **wide)
    o, lse = flash_forward(q, k, v, **kw)
    grads = flash_backward(q, k, v, o, grad_out, lse, **kw)
    for label, got, want in zip(("O", "lse", "dQ", "dK", "dV"), (o, lse, *grads), (o_want, lse_want, *grads_want)):
        ok = got.shape == want.shape and got.dtype == np.float32
        scale = max(1.0, float(np.abs(want).max(initial=0.0)))
        errors[f"{name}: {label}"] = float(np.abs(got - want).max(initial=0.0)) / scale if ok else float("inf")
print(json.dumps(errors))
"""


def test_numba_flash_attention_in_the_simulator() -> None:
    env = {**os.environ, "NUMBA_ENABLE_CUDASIM": "1", "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, cwd=ROOT, timeout=240
    )
    assert result.returncode == 0, result.stderr[-3000:]
    errors = json.loads(result.stdout.strip().splitlines()[-1])
    assert len(errors) == 7 * 5
    bad = {name: err for name, err in errors.items() if not err < 1e-5}
    assert not bad, bad


def test_numba_flash_is_registered_on_cuda_for_float32_not_default() -> None:
    for op in ("attention", "attention_backward"):
        v = kernels.variant(op, "cuda", "numba_flash")
        assert v.dtypes == ("float32",) and not v.reference
        assert kernels.default_name(op, "cuda") != "numba_flash"


def test_numba_flash_refuses_what_it_does_not_compute() -> None:
    v = kernels.variant("attention_backward", "cuda", "numba_flash")
    q = np.zeros((2, 5, 16), dtype=np.float32)
    args = (q, q, q, q, q, np.zeros((2, 5), dtype=np.float32))  # q, k, v, O, dO, lse
    assert v.accepts(*args, mask=None, is_causal=True, scale=0.25)
    assert not v.accepts(*args, mask=np.zeros((2, 5, 5), np.float32), mask_grad=True)
    assert not v.accepts(*args, mask=np.zeros((2, 5, 5), np.float64))
    wide = np.zeros((2, 5, 256), dtype=np.float32)
    assert not kernels.variant("attention", "cuda", "numba_flash").accepts(wide, wide, wide)
    with pytest.raises(ValueError, match="numba_flash"):
        v(*args, mask_grad=True)


@pytest.mark.gpu
@pytest.mark.parametrize("op", ["attention", "attention_backward"])
def test_numba_flash_validates_on_the_gpu(op: str) -> None:
    report = kernels.validate(op, "numba_flash", "cuda", dtypes=("float32",))
    assert report.passed, str(report)
