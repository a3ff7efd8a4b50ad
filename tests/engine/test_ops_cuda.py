"""Every op of the table on device="cuda" (CuPy) against the same op on the cpu (NumPy):
forward values and the gradient of .sum(), float32 and float64."""

from __future__ import annotations

import numpy as np
import pytest

import glassgrad as gg
import glassgrad.nn.functional as F

from op_case import OpCase, draw_inputs
from op_table import OPS

pytestmark = pytest.mark.gpu
CASES = [(op, i) for op in OPS for i in range(len(op.shapes))]
TOL = {"float32": dict(rtol=1e-4, atol=1e-5), "float64": dict(rtol=1e-10, atol=1e-12)}


def _run(op: OpCase, arrays: list[np.ndarray], device: str) -> tuple[np.ndarray, list[np.ndarray]]:
    xs = [gg.tensor(a, requires_grad=True, device=device) for a in arrays]
    out = op.ours(*xs)
    out = out[0] if isinstance(out, tuple) else out
    out.sum().backward()
    grads = [np.zeros(a.shape) if x.grad is None else x.grad.cpu().numpy() for x, a in zip(xs, arrays, strict=True)]
    return out.detach().cpu().numpy(), grads


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize(("op", "index"), CASES, ids=[f"{op.name}-{i}" for op, i in CASES])
def test_cuda_matches_cpu(op: OpCase, index: int, dtype: str) -> None:
    arrays = [a.astype(dtype) for a in draw_inputs(op, op.shapes[index], seed=index)]
    out_cpu, grads_cpu = _run(op, arrays, "cpu")
    out_gpu, grads_gpu = _run(op, arrays, "cuda")
    np.testing.assert_allclose(out_gpu, out_cpu, **TOL[dtype])
    for g, c in zip(grads_gpu, grads_cpu, strict=True):
        np.testing.assert_allclose(g, c, **TOL[dtype])


LAYER_OPS = {
    "conv2d": (lambda x, w: F.conv2d(x, w, padding=1, stride=2), [(2, 3, 9, 9), (4, 3, 3, 3)]),
    "conv2d_groups": (lambda x, w: F.conv2d(x, w, groups=2, dilation=2), [(2, 4, 9, 9), (6, 2, 3, 3)]),
    "max_pool2d": (lambda x: F.max_pool2d(x, 3, 2, padding=1), [(2, 3, 9, 9)]),
    "avg_pool2d": (lambda x: F.avg_pool2d(x, 2), [(2, 3, 8, 8)]),
    "attention": (lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True), [(2, 2, 17, 8)] * 3),
    "cross_entropy": (lambda x: F.cross_entropy(x, gg.tensor([1, 0, 3], device=x.device)), [(3, 5)]),
    "layer_norm": (lambda x: F.layer_norm(x, (6,)), [(4, 6)]),
    "linear": (lambda x, w: F.linear(x, w), [(4, 6), (3, 6)]),
}


@pytest.mark.parametrize("name", sorted(LAYER_OPS))
def test_layer_ops_on_cuda_match_cpu(name: str) -> None:
    fn, shapes = LAYER_OPS[name]
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(s).astype("float64") for s in shapes]
    op = OpCase(name, fn, fn, (tuple(shapes),))
    out_cpu, grads_cpu = _run(op, arrays, "cpu")
    out_gpu, grads_gpu = _run(op, arrays, "cuda")
    np.testing.assert_allclose(out_gpu, out_cpu, rtol=1e-9, atol=1e-10)
    for g, c in zip(grads_gpu, grads_cpu, strict=True):
        np.testing.assert_allclose(g, c, rtol=1e-9, atol=1e-10)
