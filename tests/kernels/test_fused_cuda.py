"""The fused softmax / log_softmax / layer norm / cross-entropy kernels.

On the GPU (marked ``gpu``): each fused kernel against its composite CuPy
reference and against the CPU engine op, on rows of length 1, 7, 33, 1000,
4097 (odd) and 50000 (past the 8192 values a block keeps in registers), with
ignore_index for cross-entropy; and the engine ops on cuda, which dispatch to
the kernels, against the same ops on the cpu.

Without a GPU: the composite references (on NumPy) against the engine's CPU
ops, and the launch shapes (one warp per short row, one block per long row).
"""

from __future__ import annotations

import numpy as np
import pytest

import glassgrad as gg
import glassgrad.kernels as kernels
import glassgrad.nn.functional as F
from glassgrad.kernels.fused import reference
from glassgrad.kernels.fused.launch import ITEMS, row_launch

COLS = [1, 7, 33, 1000, 4097, 50000]
FUSED_OPS = [
    "softmax",
    "softmax_backward",
    "log_softmax",
    "log_softmax_backward",
    "layer_norm",
    "layer_norm_backward",
    "cross_entropy",
    "cross_entropy_backward",
]
TOL = dict(rtol=1e-4, atol=1e-5)


def _rows(cols: int) -> int:
    return 37 if cols <= 1000 else 3


def _data(cols: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(x, upstream grad, targets with every third row ignored) as float32 / int64."""
    rng = np.random.default_rng(seed + cols)
    rows = _rows(cols)
    x = (3 * rng.standard_normal((rows, cols))).astype(np.float32)
    g = rng.standard_normal((rows, cols)).astype(np.float32)
    t = rng.integers(0, cols, rows).astype(np.int64)
    t[::3] = -100
    return x, g, t


def _engine(device: str, fn, x: np.ndarray, g: np.ndarray, *params: np.ndarray):
    """fn(x, *params) forward on ``device`` and the gradients of Σ g ⊙ out, as NumPy."""
    xt = gg.tensor(x, requires_grad=True, device=device)
    ps = [gg.tensor(p, requires_grad=True, device=device) for p in params]
    out = fn(xt, *ps)
    (out * gg.tensor(g, device=device)).sum().backward()
    return out.detach().cpu().numpy(), [t.grad.cpu().numpy() for t in (xt, *ps)]


# ------------------------------------------------------------------ no GPU needed
def test_every_fused_op_is_registered_without_cupy() -> None:
    for op in FUSED_OPS:
        assert kernels.default_name(op, "cuda") == "fused"
        assert kernels.reference(op, "cuda").name == "cupy"
        assert kernels.variant(op, "cuda", "fused").dtypes == ("float32",)
    for op in ("rms_norm", "rms_norm_backward"):  # no CUDA kernel: the reference is its cuda variant
        assert [v.name for v in kernels.list(op, "cuda")] == ["cupy"]


def test_fused_cuda_variants_declare_the_calls_they_take() -> None:
    x = np.zeros((4, 6), np.float32)
    t = np.zeros(4, np.int64)
    softmax, ce = kernels.variant("softmax", "cuda", "fused"), kernels.variant("cross_entropy", "cuda", "fused")
    assert softmax.accepts(x) and softmax.accepts(x, dim=1) and not softmax.accepts(x, dim=0)
    backward = kernels.variant("softmax_backward", "cuda", "fused")
    assert backward.accepts(x, x) and not backward.accepts(x, x.astype(np.float64)) and not backward.accepts(x, x, 0)
    assert ce.accepts(x, t) and ce.accepts(x, t, ignore_index=2)
    assert not ce.accepts(x, t, weight=np.ones(6, np.float32)) and not ce.accepts(x, t, -100, None, 0.1)
    assert not ce.accepts(x, x) and not ce.accepts(x[None], t[None])
    ce_backward = kernels.variant("cross_entropy_backward", "cuda", "fused")
    assert ce_backward.accepts(x, t, t, t) and not ce_backward.accepts(x, t, t, t, -100, np.ones(6, np.float32))


@pytest.mark.parametrize("cols", [1, 31, 32, 256, 257, 1000, 8192, 8193, 50000])
def test_launch_shape_covers_every_row(cols: int) -> None:
    rows = 37
    grid, block = row_launch(rows, cols)
    threads, rows_per_block = block
    assert threads % 32 == 0 and 32 <= threads <= 1024 and threads * rows_per_block <= 1024
    assert grid[0] * rows_per_block >= rows
    if threads > 32:  # a block per row: no spare rows, block-wide reductions
        assert rows_per_block == 1 and grid[0] == rows
    assert threads * ITEMS >= cols or threads == 1024


@pytest.mark.parametrize("cols", [1, 7, 33, 1000])
def test_references_match_the_cpu_engine(cols: int) -> None:
    x, g, t = _data(cols)
    y, (dx,) = _engine("cpu", lambda a: F.softmax(a, -1), x, g)
    np.testing.assert_allclose(reference.softmax(x), y, **TOL)
    np.testing.assert_allclose(reference.softmax_backward(y, g), dx, **TOL)
    y, (dx,) = _engine("cpu", lambda a: F.log_softmax(a, -1), x, g)
    np.testing.assert_allclose(reference.log_softmax(x), y, **TOL)
    np.testing.assert_allclose(reference.log_softmax_backward(y, g), dx, **TOL)
    w, b = np.linspace(0.5, 1.5, cols, dtype=np.float32), np.linspace(-1, 1, cols, dtype=np.float32)
    y, grads = _engine("cpu", lambda a, w_, b_: F.layer_norm(a, (cols,), w_, b_), x, g, w, b)
    ref_y, mean, rstd = reference.layer_norm(x, w, b)
    np.testing.assert_allclose(ref_y, y, **TOL)
    for got, want in zip(reference.layer_norm_backward(g, x, mean, rstd, w), grads, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)
    xt = gg.tensor(x, requires_grad=True)
    loss = F.cross_entropy(xt, gg.tensor(t), reduction="sum")
    loss.backward()
    ref_loss, lse = reference.cross_entropy(x, t)
    np.testing.assert_allclose(ref_loss.sum(), loss.item(), rtol=1e-4)
    dx, dtarget = reference.cross_entropy_backward(x, t, lse, np.ones(1, np.float32))
    np.testing.assert_allclose(dx, xt.grad.numpy(), **TOL)
    assert dtarget is None


# ------------------------------------------------------------------ on the GPU
gpu = pytest.mark.gpu


@gpu
@pytest.mark.parametrize("op", FUSED_OPS)
def test_fused_variant_validates_against_the_composite(op: str) -> None:
    report = kernels.validate(op, "fused", "cuda", dtypes=("float32",))
    assert report.passed, str(report)


def _both(op: str, *args, **kwargs):
    """(fused, composite) results of ``op`` on cuda, as tuples of NumPy arrays."""
    import cupy

    out = []
    for name in ("fused", "cupy"):
        result = kernels.variant(op, "cuda", name)(*[None if a is None else cupy.asarray(a) for a in args], **kwargs)
        out.append(
            tuple(None if r is None else cupy.asnumpy(r) for r in (result if isinstance(result, tuple) else (result,)))
        )
    return out


@gpu
@pytest.mark.parametrize("cols", COLS)
def test_softmax_kernels_match_composite_and_cpu(cols: int) -> None:
    x, g, _ = _data(cols)
    for fn, name in ((F.softmax, "softmax"), (F.log_softmax, "log_softmax")):
        y_cpu, (dx_cpu,) = _engine("cpu", lambda a, fn=fn: fn(a, -1), x, g)
        (y,), (y_ref,) = _both(name, x)
        np.testing.assert_allclose(y, y_ref, **TOL)
        np.testing.assert_allclose(y, y_cpu, **TOL)
        (dx,), (dx_ref,) = _both(name + "_backward", y_cpu, g)
        np.testing.assert_allclose(dx, dx_ref, **TOL)
        np.testing.assert_allclose(dx, dx_cpu, **TOL)
        y_gpu, (dx_gpu,) = _engine("cuda", lambda a, fn=fn: fn(a, -1), x, g)  # the engine dispatches to the kernels
        np.testing.assert_allclose(y_gpu, y_cpu, **TOL)
        np.testing.assert_allclose(dx_gpu, dx_cpu, **TOL)


@gpu
def test_softmax_of_minus_inf_entries() -> None:
    x = np.zeros((4, 50), np.float32)
    x[:, 10:] = -np.inf
    (y,), _ = _both("softmax", x)
    np.testing.assert_allclose(y, reference.softmax(x), atol=1e-7)


@gpu
@pytest.mark.parametrize("cols", COLS)
def test_layer_norm_kernels_match_composite_and_cpu(cols: int) -> None:
    x, g, _ = _data(cols)
    x = x + 2.0
    rng = np.random.default_rng(cols)
    w, b = rng.standard_normal(cols).astype(np.float32), rng.standard_normal(cols).astype(np.float32)
    fused, composite = _both("layer_norm", x, w, b)
    for f, c in zip(fused, composite, strict=True):
        np.testing.assert_allclose(f, c, **TOL)
    _, mean, rstd = fused
    fused_b, composite_b = _both("layer_norm_backward", g, x, mean, rstd, w)
    for f, c in zip(fused_b, composite_b, strict=True):
        np.testing.assert_allclose(f, c, rtol=1e-4, atol=1e-4)
    y_cpu, grads_cpu = _engine("cpu", lambda a, w_, b_: F.layer_norm(a, (cols,), w_, b_), x, g, w, b)
    y_gpu, grads_gpu = _engine("cuda", lambda a, w_, b_: F.layer_norm(a, (cols,), w_, b_), x, g, w, b)
    np.testing.assert_allclose(fused[0], y_cpu, **TOL)
    np.testing.assert_allclose(y_gpu, y_cpu, **TOL)
    for got, want in zip(grads_gpu, grads_cpu, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


@gpu
def test_layer_norm_without_affine_and_many_rows() -> None:
    x = np.random.default_rng(0).standard_normal((4099, 65)).astype(np.float32)  # > 1 chunk of dγ/dβ rows
    g = np.random.default_rng(1).standard_normal(x.shape).astype(np.float32)
    fused, composite = _both("layer_norm", x, None, None, eps=1e-3)
    for f, c in zip(fused, composite, strict=True):
        np.testing.assert_allclose(f, c, **TOL)
    fused_b, composite_b = _both("layer_norm_backward", g, x, fused[1], fused[2], None)
    for f, c in zip(fused_b, composite_b, strict=True):
        np.testing.assert_allclose(f, c, rtol=1e-4, atol=1e-3)


@gpu
@pytest.mark.parametrize("cols", COLS)
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_cross_entropy_kernels_match_composite_and_cpu(cols: int, reduction: str) -> None:
    x, _, t = _data(cols)
    fused, composite = _both("cross_entropy", x, t)
    for f, c in zip(fused, composite, strict=True):
        np.testing.assert_allclose(f, c, **TOL)
    grad = np.random.default_rng(2).standard_normal(len(t)).astype(np.float32)
    fused_b, composite_b = _both("cross_entropy_backward", x, t, fused[1], grad)
    np.testing.assert_allclose(fused_b[0], composite_b[0], **TOL)
    assert fused_b[1] is None and composite_b[1] is None  # class indices have no gradient
    assert not fused_b[0][::3].any()  # ignored rows get no gradient

    results = {}
    for device in ("cpu", "cuda"):
        xt = gg.tensor(x, requires_grad=True, device=device)
        loss = F.cross_entropy(xt, gg.tensor(t, device=device), reduction=reduction)
        upstream = gg.tensor(grad, device=device) if reduction == "none" else gg.tensor(np.float32(0.7), device=device)
        (loss * upstream).sum().backward()
        results[device] = (loss.detach().cpu().numpy(), xt.grad.cpu().numpy())
    np.testing.assert_allclose(results["cuda"][0], results["cpu"][0], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(results["cuda"][1], results["cpu"][1], **TOL)


@gpu
def test_cross_entropy_ignore_index_that_is_a_class() -> None:
    x, _, t = _data(33)
    t = np.abs(t) % 33
    t[::2] = 5
    fused, composite = _both("cross_entropy", x, t, ignore_index=5)
    np.testing.assert_allclose(fused[0], composite[0], **TOL)
    assert not fused[0][::2].any()
    fused_b, composite_b = _both("cross_entropy_backward", x, t, fused[1], np.float32([0.5]), ignore_index=5)
    np.testing.assert_allclose(fused_b[0], composite_b[0], **TOL)


@gpu
def test_engine_uses_the_fused_kernels_on_cuda(monkeypatch: pytest.MonkeyPatch) -> None:
    called = []
    original = kernels.registry.pick

    def spy(op: str, device: str, *args, **kwargs):
        chosen = original(op, device, *args, **kwargs)
        called.append((op, chosen.name))
        return chosen

    monkeypatch.setattr(kernels.registry, "pick", spy)  # the engine ops call kernels.run, which picks
    x = gg.tensor(
        np.random.default_rng(0).standard_normal((8, 10)).astype(np.float32), device="cuda", requires_grad=True
    )
    F.cross_entropy(
        F.layer_norm(F.log_softmax(F.softmax(x, -1), -1), (10,)), gg.tensor(np.arange(8) % 10, device="cuda")
    ).backward()
    names = {op for op, name in called if name == "fused"}
    assert names == set(FUSED_OPS), called
