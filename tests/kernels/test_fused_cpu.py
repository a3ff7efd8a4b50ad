"""The row ops on the cpu (glassgrad/kernels/fused/): every variant against the reference on the
spec's cases, the references against PyTorch (forward, and backward against torch.autograd) in
float32 and float64, and the registry's fallback to the reference for calls a variant does not take.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

from glassgrad import kernels
from glassgrad.kernels.fused import reference

ROW_OPS = [
    "softmax",
    "softmax_backward",
    "log_softmax",
    "log_softmax_backward",
    "layer_norm",
    "layer_norm_backward",
    "rms_norm",
    "rms_norm_backward",
    "cross_entropy",
    "cross_entropy_backward",
]
CPU_VARIANTS = [(op, v.name) for op in ROW_OPS for v in kernels.list(op, "cpu") if not v.reference]
DTYPES = [np.float32, np.float64]
TOL = {np.float32: dict(rtol=2e-5, atol=2e-6), np.float64: dict(rtol=1e-12, atol=1e-13)}


def _rand(shape: tuple[int, ...], dtype: type, seed: int, scale: float = 3.0) -> np.ndarray:
    return (scale * np.random.default_rng(seed).standard_normal(shape)).astype(dtype)


def _t(a: np.ndarray | None, grad: bool = False) -> torch.Tensor | None:
    return None if a is None else torch.tensor(a, requires_grad=grad)


def _close(got: np.ndarray, want: torch.Tensor, dtype: type) -> None:
    np.testing.assert_allclose(got, want.detach().numpy(), **TOL[dtype])


# ------------------------------------------------------------------ registration and validation
def test_every_row_op_has_a_reference_and_a_numba_default_on_cpu_and_a_reference_on_cuda() -> None:
    for op in ROW_OPS:
        assert kernels.reference(op, "cpu").name == "numpy"
        assert kernels.reference(op, "cuda").name == "cupy"
        assert kernels.reference(op, "cpu").fn is kernels.reference(op, "cuda").fn  # one function, both devices
        assert kernels.default_name(op, "cpu") == "numba"
        assert kernels.spec(op).op == op


@pytest.mark.parametrize(("op", "name"), CPU_VARIANTS, ids=[f"{o}-{n}" for o, n in CPU_VARIANTS])
def test_every_cpu_variant_validates_against_the_reference(op: str, name: str) -> None:
    report = kernels.validate(op, name, "cpu")
    assert report.passed, str(report)
    assert {r.dtype for r in report.results if not r.skipped} == {"float32", "float64"}


def test_the_spec_cases_cover_the_awkward_inputs() -> None:
    names = " ".join(c.name for c in kernels.spec("softmax").cases(np, np.dtype("float32")))
    for size in ("1x1", "7x7", "33x33", "5x1000", "3x4097", "3-D", "transposed view", "dim 0"):
        assert size in names
    ce = [c for c in kernels.spec("cross_entropy").cases(np, np.dtype("float64"))]
    assert any("weight" in c.kwargs for c in ce) and any(c.kwargs.get("label_smoothing") for c in ce)
    assert any(c.args[1].dtype.kind == "f" for c in ce) and any(c.args[0].ndim > 2 for c in ce)
    assert any((c.args[1] == -100).any() for c in ce if c.args[1].dtype.kind == "i")
    numba_ce = kernels.variant("cross_entropy", "cpu", "numba")
    assert any(numba_ce.accepts(*c.args, **c.kwargs) and "weight" in c.kwargs for c in ce)


# ------------------------------------------------------------------ references against PyTorch
SOFTMAX_CALLS = [((7, 33), -1), ((7, 33), 0), ((4, 9, 5), 1), ((2, 5, 33), 2), ((1, 1), -1), ((3, 1000), -1)]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(("shape", "dim"), SOFTMAX_CALLS)
@pytest.mark.parametrize("log", [False, True], ids=["softmax", "log_softmax"])
def test_softmax_references_match_torch(dtype: type, shape: tuple[int, ...], dim: int, log: bool) -> None:
    x, g = _rand(shape, dtype, 0), _rand(shape, dtype, 1, 1.0)
    forward = reference.log_softmax if log else reference.softmax
    backward = reference.log_softmax_backward if log else reference.softmax_backward
    xt = _t(x, grad=True)
    yt = (torch.log_softmax if log else torch.softmax)(xt, dim)
    yt.backward(torch.tensor(g))
    y = forward(x, dim)
    _close(y, yt, dtype)
    _close(backward(y, g, dim), xt.grad, dtype)


def test_softmax_reference_of_masked_scores_matches_torch() -> None:
    x = _rand((4, 50), np.float32, 2)
    x[:, 10:] = -np.inf
    np.testing.assert_allclose(reference.softmax(x), torch.softmax(torch.tensor(x), -1).numpy(), atol=1e-7)
    np.testing.assert_allclose(reference.log_softmax(x), torch.log_softmax(torch.tensor(x), -1).numpy(), rtol=1e-6)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("affine", ["both", "weight", "none"])
@pytest.mark.parametrize("shape", [(7, 33), (2, 5, 1000), (3, 3)])
def test_layer_norm_reference_matches_torch(dtype: type, affine: str, shape: tuple[int, ...]) -> None:
    cols = shape[-1]
    x, g = _rand(shape, dtype, 3) + 1.5, _rand(shape, dtype, 4, 1.0)
    w = _rand((cols,), dtype, 5, 1.0) if affine != "none" else None
    b = _rand((cols,), dtype, 6, 1.0) if affine == "both" else None
    # torch with γ = 1, β = 0 in place of None gives the dγ, dβ a missing parameter would get
    wt = _t(w if w is not None else np.ones(cols, dtype), True)
    bt = _t(b if b is not None else np.zeros(cols, dtype), True)
    xt = _t(x, True)
    yt = TF.layer_norm(xt, (cols,), wt, bt, eps=1e-4)
    yt.backward(torch.tensor(g))
    y, mean, rstd = reference.layer_norm(x, w, b, eps=1e-4)
    _close(y, yt, dtype)
    assert mean.shape == rstd.shape == shape[:-1] and y.dtype == mean.dtype == rstd.dtype == dtype
    dx, dw, db = reference.layer_norm_backward(g, x, mean, rstd, w)
    _close(dx, xt.grad, dtype)
    _close(dw, wt.grad, dtype)
    _close(db, bt.grad, dtype)
    assert dw.shape == db.shape == (cols,)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("eps", [None, 1e-3])
@pytest.mark.parametrize("with_weight", [True, False])
def test_rms_norm_reference_matches_torch(dtype: type, eps: float | None, with_weight: bool) -> None:
    shape = (2, 7, 33)
    x, g = _rand(shape, dtype, 7), _rand(shape, dtype, 8, 1.0)
    w = _rand((33,), dtype, 9, 1.0) if with_weight else None
    xt, wt = _t(x, True), _t(w, True)
    yt = TF.rms_norm(xt, (33,), wt, eps=eps)
    yt.backward(torch.tensor(g))
    y, rstd = reference.rms_norm(x, w, eps)
    _close(y, yt, dtype)
    assert rstd.shape == shape[:-1] and rstd.dtype == dtype
    dx, dw = reference.rms_norm_backward(g, x, rstd, w)
    _close(dx, xt.grad, dtype)
    if with_weight:
        _close(dw, wt.grad, dtype)
    else:
        assert dw is None


def test_rms_norm_reference_computes_float16_in_float32_as_torch() -> None:
    x, g = _rand((5, 64), np.float16, 10, 1.0), _rand((5, 64), np.float16, 11, 1.0)
    w = _rand((64,), np.float16, 12, 1.0)
    xt, wt = _t(x, True), _t(w, True)
    yt = TF.rms_norm(xt, (64,), wt)
    yt.backward(torch.tensor(g))
    y, rstd = reference.rms_norm(x, w)
    assert y.dtype == np.float16 and rstd.dtype == np.float32
    np.testing.assert_allclose(y.astype(np.float64), yt.detach().double().numpy(), rtol=1e-3, atol=1e-3)
    dx, dw = reference.rms_norm_backward(g, x, rstd, w)
    assert dx.dtype == dw.dtype == np.float16
    np.testing.assert_allclose(dx.astype(np.float64), xt.grad.double().numpy(), rtol=1e-2, atol=1e-2)
    np.testing.assert_allclose(dw.astype(np.float64), wt.grad.double().numpy(), rtol=1e-2, atol=2e-2)


CE_OPTIONS = [
    {},
    {"ignore_index": 2},
    {"weight": True},
    {"label_smoothing": 0.1},
    {"weight": True, "label_smoothing": 0.3, "ignore_index": 1},
]


def _ce_inputs(dtype: type, spatial: tuple[int, ...], probabilities: bool, masked: bool, ignore_index: int = -100):
    classes = 6
    x = _rand((5, classes, *spatial), dtype, 13)
    if masked:
        x[:, 4:] = -np.inf  # masked logits; the class-index targets below stay under 4
    if probabilities:
        target = reference.softmax(_rand(x.shape, dtype, 14), 1)
        if masked:
            target[:, 4:] = 0.0
            target /= target.sum(axis=1, keepdims=True)
    else:
        target = np.random.default_rng(15).integers(0, 4 if masked else classes, (5, *spatial))
        target.reshape(-1)[::4] = ignore_index
    return x, target


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("options", CE_OPTIONS, ids=lambda o: "-".join(o) or "plain")
@pytest.mark.parametrize("spatial", [(), (3, 2)], ids=["2-D", "4-D"])
@pytest.mark.parametrize("probabilities", [False, True], ids=["indices", "probabilities"])
def test_cross_entropy_reference_matches_torch(
    dtype: type, options: dict, spatial: tuple[int, ...], probabilities: bool
) -> None:
    kwargs = dict(options)
    if probabilities:
        kwargs.pop("ignore_index", None)  # PyTorch refuses ignore_index with probabilities
    x, target = _ce_inputs(dtype, spatial, probabilities, False, kwargs.get("ignore_index", -100))
    if kwargs.get("weight"):
        kwargs["weight"] = np.abs(_rand((6,), dtype, 16, 1.0))
    xt, tt = _t(x, True), _t(target, probabilities)
    lt = TF.cross_entropy(
        xt, tt, weight=_t(kwargs.get("weight")), reduction="none", **{k: v for k, v in kwargs.items() if k != "weight"}
    )
    g = _rand(lt.shape, dtype, 17, 1.0)
    lt.backward(torch.tensor(g))
    loss, lse = reference.cross_entropy(x, target, **kwargs)
    _close(loss, lt, dtype)
    _close(lse, torch.logsumexp(torch.tensor(x), 1), dtype)
    dx, dtarget = reference.cross_entropy_backward(x, target, lse, g, **kwargs)
    _close(dx, xt.grad, dtype)
    if probabilities:
        _close(dtarget, tt.grad, dtype)
    else:
        assert dtarget is None


@pytest.mark.parametrize("probabilities", [False, True], ids=["indices", "probabilities"])
def test_cross_entropy_reference_keeps_torchs_masked_logit_semantics(probabilities: bool) -> None:
    """Class indices: a class of weight 0 adds 0 even where its log p is −∞; probabilities: summed as
    they are, so a 0 probability on a −∞ logit gives nan, as PyTorch."""
    x, target = _ce_inputs(np.float64, (), probabilities, masked=True)
    xt = _t(x, True)
    lt = TF.cross_entropy(xt, torch.tensor(target), reduction="none")
    loss, lse = reference.cross_entropy(x, target)
    np.testing.assert_allclose(loss, lt.detach().numpy(), rtol=1e-12, equal_nan=True)
    assert np.isnan(loss).any() == probabilities
    if not probabilities:
        lt.sum().backward()
        dx, _ = reference.cross_entropy_backward(x, target, lse, np.ones(1))
        np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=1e-12, atol=1e-15)


def test_cross_entropy_backward_takes_a_reduced_grad() -> None:
    """A 0-d or 1-element grad (the mean's 1/divisor) applies to every sample."""
    x, target = _ce_inputs(np.float64, (3, 2), False, masked=False)
    _, lse = reference.cross_entropy(x, target)
    per_sample = np.full(target.shape, 0.5)
    want, _ = reference.cross_entropy_backward(x, target, lse, per_sample)
    for grad in (np.array(0.5), np.array([0.5])):
        got, _ = reference.cross_entropy_backward(x, target, lse, grad)
        np.testing.assert_array_equal(got, want)
    x2, t2 = x[:, :, 0, 0].copy(), target[:, 0, 0].copy()
    _, lse2 = kernels.run("cross_entropy", x2, t2)
    got, _ = kernels.variant("cross_entropy_backward", "cpu", "numba")(x2, t2, lse2, np.array(0.5))
    want, _ = reference.cross_entropy_backward(x2, t2, lse2, np.full(5, 0.5))
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-15)


def test_class_weights_is_q() -> None:
    """q = w_c((1 − ε)[c = y] + ε/C), 0 on ignored rows; for probabilities q = w_c((1 − ε)t + ε/C)."""
    target = np.array([0, 2, -100])
    w = np.array([1.0, 2.0, 3.0])
    q = reference.class_weights(np, (3, 3), target, w, -100, 0.3, np.float64)
    want = w * (0.7 * np.eye(3)[[0, 2, 0]] + 0.1)
    want[2] = 0
    np.testing.assert_allclose(q, want)
    t = np.full((3, 3), 1 / 3)
    np.testing.assert_allclose(
        reference.class_weights(np, (3, 3), t, None, -100, 0.3, np.float64), np.full((3, 3), 1 / 3)
    )
    assert reference.class_weights(np, (3, 3), target, None, -100, 0.0, np.float32).dtype == np.float32


# ------------------------------------------------------------------ the registry's choice
def test_registry_falls_back_to_the_reference_for_calls_the_numba_variants_do_not_take() -> None:
    x = _rand((33, 7), np.float32, 18)
    g = _rand((33, 7), np.float32, 19, 1.0)
    assert kernels.pick("softmax", "cpu", x).name == "numba"
    assert kernels.pick("softmax", "cpu", x, dim=1).name == "numba"
    assert kernels.pick("softmax", "cpu", x, dim=0).name == "numpy"
    y = kernels.run("softmax", x, dim=0)
    np.testing.assert_allclose(y, torch.softmax(torch.tensor(x), 0).numpy(), rtol=1e-6, atol=1e-7)
    assert kernels.pick("softmax_backward", "cpu", y, g, 0).name == "numpy"
    assert kernels.pick("softmax_backward", "cpu", y, g.astype(np.float64)).name == "numpy"
    assert kernels.pick("log_softmax", "cpu", x.astype(np.float16)).name == "numpy"  # dtype outside float32/64

    logits, target = _ce_inputs(np.float32, (3, 2), False, masked=False)
    assert kernels.pick("cross_entropy", "cpu", logits, target).name == "numpy"  # N-d logits
    flat, flat_target = logits[:, :, 0, 0].copy(), target[:, 0, 0].copy()
    assert kernels.pick("cross_entropy", "cpu", flat, flat_target, weight=np.ones(6, np.float32)).name == "numba"
    probs = reference.softmax(flat, 1)
    assert kernels.pick("cross_entropy", "cpu", flat, probs).name == "numpy"
    loss, lse = kernels.run("cross_entropy", flat, probs, label_smoothing=0.1)
    want = TF.cross_entropy(torch.tensor(flat), torch.tensor(probs), reduction="none", label_smoothing=0.1)
    np.testing.assert_allclose(loss, want.numpy(), rtol=1e-5)
    assert kernels.pick("cross_entropy_backward", "cpu", flat, probs, lse, loss).name == "numpy"
    assert kernels.pick("rms_norm", "cpu", x.astype(np.float16)).name == "numpy"


def test_a_users_choice_of_the_reference_is_kept() -> None:
    x = _rand((4, 9), np.float64, 20)
    with kernels.use("layer_norm", "numpy", device="cpu"):
        assert kernels.pick("layer_norm", "cpu", x).name == "numpy"
    assert kernels.pick("layer_norm", "cpu", x).name == "numba"


@pytest.mark.parametrize("dtype", DTYPES)
def test_numba_backward_kernels_take_broadcast_and_strided_grads(dtype: type) -> None:
    """A grad from a sum's backward is a broadcast (0-stride) view; a transposed one is strided."""
    x = _rand((9, 40), dtype, 21)
    y = kernels.variant("softmax", "cpu", "numba")(x)
    g = np.broadcast_to(_rand((1, 40), dtype, 22, 1.0), x.shape)
    for op, out in (("softmax_backward", y), ("log_softmax_backward", reference.log_softmax(x))):
        got = kernels.variant(op, "cpu", "numba")(out, g)
        np.testing.assert_allclose(got, kernels.reference(op, "cpu")(out, g), **TOL[dtype])
    g_t = _rand((40, 9), dtype, 23, 1.0).T
    _, mean, rstd = reference.layer_norm(x)
    for got, want in zip(
        kernels.variant("layer_norm_backward", "cpu", "numba")(g_t, x, mean, rstd),
        reference.layer_norm_backward(g_t, x, mean, rstd),
        strict=True,
    ):
        np.testing.assert_allclose(got, want, rtol=1e-4 if dtype == np.float32 else 1e-11, atol=1e-5)
