"""The row ops (softmax, log_softmax, layer/group/batch/RMS norm, cross-entropy, nll) reach their math
through the kernel registry: each Function makes one ``kernels.run`` call per direction. With every cpu
variant chosen in turn (``kernels.use``), forward and backward agree with PyTorch and with each other in
float32 and float64; calls a fused variant does not take fall back to the reference and still agree."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import glassgrad as gg
import glassgrad.nn.functional as F
from glassgrad import kernels
from glassgrad.engine import backend

DTYPES = {"float32": (gg.float32, torch.float32, 2e-5), "float64": (gg.float64, torch.float64, 1e-10)}
TOLERANCE_BETWEEN_VARIANTS = {"float32": 1e-5, "float64": 1e-12}


def _variants(op: str) -> list[str]:
    return [v.name for v in kernels.list(op, "cpu")]


class Picks(list):
    """(op, the variant the registry picks) for every ``kernels.run`` call the engine makes;
    ``calls`` keeps each call's (op, args, kwargs)."""

    calls: list[tuple[str, tuple, dict]]

    def clear(self) -> None:
        super().clear()
        self.calls.clear()


@pytest.fixture
def picked(monkeypatch: pytest.MonkeyPatch) -> Picks:
    seen = Picks()
    seen.calls = []
    run = kernels.run

    def spy(op: str, *args: Any, **kwargs: Any) -> Any:
        first = next(a for a in args if hasattr(a, "dtype"))
        seen.append((op, kernels.pick(op, backend.device_of(first), *args, **kwargs).name))
        seen.calls.append((op, args, kwargs))
        return run(op, *args, **kwargs)

    monkeypatch.setattr(kernels, "run", spy)
    return seen


def _rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def _both(
    ours: Callable[..., gg.Tensor],
    theirs: Callable[..., torch.Tensor],
    arrays: list[np.ndarray],
    differentiable: list[bool],
    dtype: str,
) -> tuple[np.ndarray, list[np.ndarray | None]]:
    """Run ``ours`` and ``theirs`` on the same arrays (floating ones cast to ``dtype``), backpropagate the
    same random upstream gradient, check output and input gradients against PyTorch; return ours."""
    gg_dtype, torch_dtype, tol = DTYPES[dtype]
    ours_in, theirs_in = [], []
    for a, grad in zip(arrays, differentiable, strict=True):
        floating = a.dtype.kind == "f"
        ours_in.append(gg.tensor(a.astype(dtype) if floating else a, requires_grad=grad))
        t = torch.tensor(a.astype(dtype) if floating else a)
        theirs_in.append(t.requires_grad_(grad))
    out, expected = ours(*ours_in), theirs(*theirs_in)
    assert out.dtype == gg_dtype and tuple(out.shape) == tuple(expected.shape)
    np.testing.assert_allclose(out.array, expected.detach().numpy(), rtol=tol, atol=tol)
    upstream = _rng(99).standard_normal(out.shape).astype(dtype)
    out.backward(gg.tensor(upstream))
    expected.backward(torch.tensor(upstream).to(torch_dtype))
    grads = []
    for o, t in zip(ours_in, theirs_in, strict=True):
        if not t.requires_grad:
            grads.append(None)
            continue
        np.testing.assert_allclose(o.grad.array, t.grad.numpy(), rtol=tol, atol=tol)
        grads.append(o.grad.array)
    return out.array, grads


# Each row op: the engine call, PyTorch's, the inputs (x first), which inputs take a gradient, and the
# kernel ops it must reach (forward, backward), for a call every cpu variant takes.
TARGETS = np.array([3, -100, 0, 32, 7, -100, 1, 5, 2])
ROW_OPS = {
    "softmax": (
        lambda x: gg.softmax(x, dim=-1),
        lambda x: torch.softmax(x, -1),
        lambda: [_rng(0).standard_normal((9, 33)) * 3],
        [True],
        ("softmax", "softmax_backward"),
    ),
    "log_softmax": (
        lambda x: gg.log_softmax(x, dim=1),
        lambda x: torch.log_softmax(x, 1),
        lambda: [_rng(1).standard_normal((4, 1000)) * 3],
        [True],
        ("log_softmax", "log_softmax_backward"),
    ),
    "layer_norm": (
        lambda x, w, b: F.layer_norm(x, (33,), w, b),
        lambda x, w, b: TF.layer_norm(x, (33,), w, b),
        lambda: [_rng(2).standard_normal((3, 7, 33)) + 1.5, _rng(3).standard_normal(33), _rng(4).standard_normal(33)],
        [True, True, True],
        ("layer_norm", "layer_norm_backward"),
    ),
    "rms_norm": (
        lambda x, w: F.rms_norm(x, (33,), w, eps=1e-6),
        lambda x, w: TF.rms_norm(x, (33,), w, eps=1e-6),
        lambda: [_rng(5).standard_normal((7, 33)), _rng(6).standard_normal(33)],
        [True, True],
        ("rms_norm", "rms_norm_backward"),
    ),
    "cross_entropy": (
        lambda x, t: F.cross_entropy(x, t),
        lambda x, t: TF.cross_entropy(x, t),
        lambda: [_rng(7).standard_normal((9, 33)) * 3, TARGETS],
        [True, False],
        ("cross_entropy", "cross_entropy_backward"),
    ),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("op", ROW_OPS)
def test_every_cpu_variant_agrees_with_torch_and_the_others(op: str, dtype: str, picked: Picks) -> None:
    ours, theirs, inputs, differentiable, (forward_op, backward_op) = ROW_OPS[op]
    names = _variants(forward_op)
    assert "numpy" in names and len(names) >= 2, f"{forward_op} on cpu: expected the reference and a fused variant"
    results = {}
    for name in names:
        picked.clear()
        with kernels.use(forward_op, name), kernels.use(backward_op, name):
            results[name] = _both(ours, theirs, inputs(), differentiable, dtype)
        assert picked == [(forward_op, name), (backward_op, name)], picked
    tol = TOLERANCE_BETWEEN_VARIANTS[dtype]
    first, *others = results.values()
    for other in others:
        np.testing.assert_allclose(other[0], first[0], rtol=tol, atol=tol)
        for a, b in zip(other[1], first[1], strict=True):
            if a is not None:
                np.testing.assert_allclose(a, b, rtol=tol, atol=tol)


def _fused(op: str) -> str:
    """The cpu variant that is not the reference (the one each test asks the registry for)."""
    return next(name for name in _variants(op) if name != "numpy")


# Calls beyond the plain one: those a fused cpu variant does not take (marked "numpy") fall back to the
# reference; the others (None) run whichever variant declares it takes them. PyTorch agrees either way.
FALLBACKS = {
    "softmax over dim 0": (
        "numpy",
        lambda x: gg.softmax(x, dim=0),
        lambda x: torch.softmax(x, 0),
        lambda: [_rng(10).standard_normal((33, 7))],
        [True],
        ("softmax", "softmax_backward"),
    ),
    "log_softmax over dim 0 of 3-D": (
        "numpy",
        lambda x: gg.log_softmax(x, dim=0),
        lambda x: torch.log_softmax(x, 0),
        lambda: [_rng(11).standard_normal((5, 3, 7))],
        [True],
        ("log_softmax", "log_softmax_backward"),
    ),
    "cross_entropy with class weights": (
        None,
        lambda x, t, w: F.cross_entropy(x, t, weight=w),
        lambda x, t, w: TF.cross_entropy(x, t, weight=w),
        lambda: [_rng(12).standard_normal((9, 33)), TARGETS, _rng(13).uniform(0.5, 2, 33)],
        [True, False, False],
        ("cross_entropy", "cross_entropy_backward"),
    ),
    "cross_entropy with label smoothing": (
        None,
        lambda x, t: F.cross_entropy(x, t, label_smoothing=0.2, reduction="sum"),
        lambda x, t: TF.cross_entropy(x, t, label_smoothing=0.2, reduction="sum"),
        lambda: [_rng(14).standard_normal((9, 33)), TARGETS],
        [True, False],
        ("cross_entropy", "cross_entropy_backward"),
    ),
    "cross_entropy of (N, C, d1, d2) logits": (
        "numpy",
        lambda x, t: F.cross_entropy(x, t, reduction="none"),
        lambda x, t: TF.cross_entropy(x, t, reduction="none"),
        lambda: [_rng(15).standard_normal((2, 5, 3, 4)), _rng(16).integers(0, 5, (2, 3, 4))],
        [True, False],
        ("cross_entropy", "cross_entropy_backward"),
    ),
    "cross_entropy against probabilities": (
        "numpy",
        lambda x, t: F.cross_entropy(x, t, label_smoothing=0.1),
        lambda x, t: TF.cross_entropy(x, t, label_smoothing=0.1),
        lambda: [_rng(17).standard_normal((6, 7)), _rng(18).dirichlet(np.ones(7), 6)],
        [True, True],
        ("cross_entropy", "cross_entropy_backward"),
    ),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", FALLBACKS)
def test_a_call_the_fused_variant_does_not_take_runs_the_reference(case: str, dtype: str, picked: Picks) -> None:
    expected, ours, theirs, inputs, differentiable, (forward_op, backward_op) = FALLBACKS[case]
    with kernels.use(forward_op, _fused(forward_op)), kernels.use(backward_op, _fused(backward_op)):
        _both(ours, theirs, inputs(), differentiable, dtype)
    assert [op for op, _ in picked] == [forward_op, backward_op]
    for (op, name), (_, args, kwargs) in zip(picked, picked.calls, strict=True):
        fused = kernels.variant(op, "cpu", _fused(op))
        assert name == (fused.name if fused.supports(*args, **kwargs) else "numpy"), (op, name)
        if expected is not None:
            assert name == expected, (op, name)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("variant", ["numpy", "fused"])
def test_layer_norm_over_several_trailing_dims_is_one_row_per_sample(variant: str, dtype: str, picked: Picks) -> None:
    """normalized_shape (4, 9): the kernels see (..., 36) rows and (36,) parameters."""
    name = "numpy" if variant == "numpy" else _fused("layer_norm")
    inputs = [
        _rng(20).standard_normal((2, 3, 4, 9)),
        _rng(21).standard_normal((4, 9)),
        _rng(22).standard_normal((4, 9)),
    ]
    with kernels.use("layer_norm", name), kernels.use("layer_norm_backward", name):
        _both(
            lambda x, w, b: F.layer_norm(x, (4, 9), w, b, eps=1e-3),
            lambda x, w, b: TF.layer_norm(x, (4, 9), w, b, eps=1e-3),
            inputs,
            [True, True, True],
            dtype,
        )
    assert picked == [("layer_norm", name), ("layer_norm_backward", name)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("affine", [False, True])
def test_group_norm_runs_the_layer_norm_kernels_on_groups(affine: bool, dtype: str, picked: Picks) -> None:
    inputs = [_rng(30).standard_normal((3, 6, 5, 4)) * 2 + 1]
    if affine:
        inputs += [_rng(31).standard_normal(6), _rng(32).standard_normal(6)]
    _both(
        lambda x, *p: F.group_norm(x, 3, *p),
        lambda x, *p: TF.group_norm(x, 3, *p),
        inputs,
        [True] * len(inputs),
        dtype,
    )
    assert [op for op, _ in picked] == ["layer_norm", "layer_norm_backward"]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("training", [False, True])
def test_batch_norm_backward_with_batch_statistics_is_layer_norm_backward_per_channel(
    training: bool, dtype: str, picked: Picks
) -> None:
    """Training: the layer_norm backward kernel on the (C, N·HW) view; evaluation: no kernel (rstd · ĝ)."""
    x = _rng(40).standard_normal((4, 3, 5, 2)) + 0.5
    mean, var = _rng(41).standard_normal(3), _rng(42).uniform(0.5, 2, 3)
    weight, bias = _rng(43).standard_normal(3), _rng(44).standard_normal(3)

    def ours(x: gg.Tensor, w: gg.Tensor, b: gg.Tensor) -> gg.Tensor:
        rm, rv = gg.tensor(mean.astype(dtype)), gg.tensor(var.astype(dtype))
        return F.batch_norm(x, rm, rv, w, b, training=training)

    def theirs(x: torch.Tensor, w: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        rm, rv = torch.tensor(mean.astype(dtype)), torch.tensor(var.astype(dtype))
        return TF.batch_norm(x, rm, rv, w, b, training=training)

    _both(ours, theirs, [x, weight, bias], [True, True, True], dtype)
    assert [op for op, _ in picked] == (["layer_norm_backward"] if training else [])


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weighted", [False, True])
def test_nll_loss_uses_the_kernels_class_weights(reduction: str, weighted: bool) -> None:
    """q and the "mean" divisor are the cross-entropy kernels' (one definition), ignore_index rows included."""
    inputs = [np.log(_rng(50).dirichlet(np.ones(33), 9)), TARGETS]
    if weighted:
        inputs.append(_rng(51).uniform(0.5, 2, 33))
    _both(
        lambda x, t, *w: F.nll_loss(x, t, *w, reduction=reduction),
        lambda x, t, *w: TF.nll_loss(x, t, *w, reduction=reduction),
        inputs,
        [True, False, False][: len(inputs)],
        "float64",
    )


@pytest.mark.parametrize("weighted", [False, True])
def test_rms_norm_float16_computes_in_float32_and_returns_float16(weighted: bool, picked: Picks) -> None:
    x = _rng(60).standard_normal((5, 4, 16)).astype(np.float16)
    w = _rng(61).standard_normal((4, 16)).astype(np.float16)
    ours_x, theirs_x = gg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ours_w, theirs_w = (
        (gg.tensor(w, requires_grad=True), torch.tensor(w, requires_grad=True)) if weighted else (None, None)
    )
    with kernels.use("rms_norm", _fused("rms_norm")), kernels.use("rms_norm_backward", _fused("rms_norm_backward")):
        out = F.rms_norm(ours_x, (4, 16), ours_w)
        expected = TF.rms_norm(theirs_x, (4, 16), theirs_w)
        assert out.dtype == gg.float16
        np.testing.assert_allclose(out.array.astype(np.float32), expected.detach().numpy(), rtol=2e-3, atol=2e-3)
        upstream = _rng(62).standard_normal(x.shape).astype(np.float16)
        out.backward(gg.tensor(upstream))
        expected.backward(torch.tensor(upstream))
    assert ours_x.grad.dtype == gg.float16
    np.testing.assert_allclose(ours_x.grad.array.astype(np.float32), theirs_x.grad.numpy(), rtol=1e-2, atol=1e-2)
    if weighted:
        assert ours_w.grad.dtype == gg.float16
        np.testing.assert_allclose(ours_w.grad.array.astype(np.float32), theirs_w.grad.numpy(), rtol=1e-2, atol=2e-2)
    assert picked == [("rms_norm", "numpy"), ("rms_norm_backward", "numpy")]  # float16: only the reference


def test_the_row_ops_contain_no_stable_softmax_or_layer_norm_math() -> None:
    """The math is the kernels'; the engine files only pick, call and save."""
    from pathlib import Path

    ops = Path(gg.__file__).parent / "engine" / "ops"
    for name in ("softmax.py", "normalization.py", "losses.py"):
        source = (ops / name).read_text()
        for twin in (".max(axis", "exp(shifted", ".var(axis=axes, keepdims", "kernels.get(", "backend.device_of"):
            assert twin not in source, f"{name} contains {twin!r}"
