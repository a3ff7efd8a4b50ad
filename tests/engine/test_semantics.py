"""PyTorch's semantics where NumPy's differ: masked (-inf) logits in the class losses,
where index tensors put their dims, which views exist, 0-d reductions, var/std at
n - correction <= 0, and the conveniences (std_mean, new_*, half, t, unflatten,
smooth_l1_loss). Every case runs in PyTorch too, so the test documents the agreement."""

from __future__ import annotations

import dataclasses
import functools

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import glassgrad as gg
import glassgrad.nn.functional as F
from glassgrad.engine.ops.shape import view_strides
from glassgrad.kernels import registry
from glassgrad.kernels.fused import reference as fused_reference

INF = float("inf")


def _np(t):
    if isinstance(t, torch.Tensor):
        return t.detach().numpy()
    return np.asarray(t.detach().array)


def _same(ours, theirs, atol=1e-6):
    """Values equal, with inf and nan in the same places."""
    a, b = _np(ours), _np(theirs)
    assert a.shape == b.shape, (a.shape, b.shape)
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=atol, equal_nan=True)


# ------------------------------------------------------------ -inf logits (masking)
MASKED = np.array([[1.0, -INF, 2.0, 0.5], [0.0, 1.0, -INF, -INF], [-INF, 3.0, 0.0, 1.0]])
TARGET = np.array([0, 1, 3])


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("ignore", [-100, 1])
def test_cross_entropy_with_masked_logits_is_finite_like_torch(reduction, weighted, ignore) -> None:
    weight = np.array([0.5, 1.0, 2.0, 1.5])
    x, xt = gg.tensor(MASKED, requires_grad=True), torch.tensor(MASKED, requires_grad=True)
    w = gg.tensor(weight) if weighted else None
    wt = torch.tensor(weight) if weighted else None
    ours = F.cross_entropy(x, gg.tensor(TARGET), weight=w, ignore_index=ignore, reduction=reduction)
    theirs = TF.cross_entropy(xt, torch.tensor(TARGET), weight=wt, ignore_index=ignore, reduction=reduction)
    assert np.isfinite(_np(ours)).all()
    _same(ours, theirs)
    ours.sum().backward()
    theirs.sum().backward()
    assert np.isfinite(_np(x.grad)).all()
    _same(x.grad, xt.grad)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_nll_of_log_softmax_with_masked_logits_is_finite_like_torch(reduction) -> None:
    x, xt = gg.tensor(MASKED, requires_grad=True), torch.tensor(MASKED, requires_grad=True)
    ours = F.nll_loss(F.log_softmax(x, 1), gg.tensor(TARGET), reduction=reduction)
    theirs = TF.nll_loss(TF.log_softmax(xt, 1), torch.tensor(TARGET), reduction=reduction)
    assert np.isfinite(_np(ours)).all()
    _same(ours, theirs)
    ours.sum().backward()
    theirs.sum().backward()
    _same(x.grad, xt.grad)


def test_masked_logits_in_a_spatial_batch_like_torch() -> None:
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((2, 4, 3))
    logits[:, 2, :] = -INF  # class 2 masked everywhere
    target = np.array([[0, 1, 3], [3, 3, 0]])
    x, xt = gg.tensor(logits, requires_grad=True), torch.tensor(logits, requires_grad=True)
    ours, theirs = F.cross_entropy(x, gg.tensor(target)), TF.cross_entropy(xt, torch.tensor(target))
    _same(ours, theirs)
    ours.backward()
    theirs.backward()
    _same(x.grad, xt.grad)


@pytest.mark.parametrize(
    "case",
    ["label_smoothing", "target_on_masked", "probabilities"],
)
def test_masked_logits_special_cases_match_torch(case) -> None:
    """PyTorch itself is not finite here: label smoothing puts weight on the masked class (loss
    inf, gradient finite), a target on a masked logit has loss inf, and probability targets
    form 0·(-inf) = nan (their gradient is inf). glassgrad gives the same values."""
    x, xt = gg.tensor(MASKED, requires_grad=True), torch.tensor(MASKED, requires_grad=True)
    if case == "label_smoothing":
        ours = F.cross_entropy(x, gg.tensor(TARGET), label_smoothing=0.1)
        theirs = TF.cross_entropy(xt, torch.tensor(TARGET), label_smoothing=0.1)
        assert _np(theirs) == INF
    elif case == "target_on_masked":
        ours = F.cross_entropy(x, gg.tensor([1, 0, 0]))
        theirs = TF.cross_entropy(xt, torch.tensor([1, 0, 0]))
        assert _np(theirs) == INF
    else:
        probs = np.array([[0.5, 0.0, 0.5, 0.0], [0.3, 0.7, 0.0, 0.0], [0.0, 0.2, 0.3, 0.5]])
        p, pt = gg.tensor(probs, requires_grad=True), torch.tensor(probs, requires_grad=True)
        ours, theirs = F.cross_entropy(x, p), TF.cross_entropy(xt, pt)
        assert np.isnan(_np(theirs))
    _same(ours, theirs)
    ours.backward()
    theirs.backward()
    _same(x.grad, xt.grad)
    if case == "probabilities":
        _same(p.grad, pt.grad)


def test_fused_cross_entropy_reference_handles_masked_logits() -> None:
    """The composite (and, by the same math, the CUDA) forward/backward of the fused kernels."""
    x = MASKED.astype(np.float32)
    target = TARGET.copy()
    target[1] = -100
    loss, lse = fused_reference.cross_entropy(x, target)
    dx, _ = fused_reference.cross_entropy_backward(x, target, lse, np.array(1.0, dtype=np.float32))
    xt = torch.tensor(x, requires_grad=True)
    theirs = TF.cross_entropy(xt, torch.tensor(target), reduction="none")
    theirs.sum().backward()
    np.testing.assert_allclose(loss, theirs.detach().numpy(), rtol=1e-6)
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(fused_reference.softmax(x), torch.softmax(torch.tensor(x), -1).numpy(), rtol=1e-6)
    np.testing.assert_allclose(
        fused_reference.log_softmax(x), torch.log_softmax(torch.tensor(x), -1).numpy(), rtol=1e-6
    )


# ------------------------------------------------------------ advanced indexing
INDEXES = [
    "[1, :, 3:11:2, D, 0:2]",
    "[1, D]",
    "[:, D, 1]",
    "[1, :, D]",
    "[D, :, 1]",
    "[..., D, 1]",
    "[1, ..., D]",
    "[None, 1, :, D]",
    "[1, None, D]",
    "[D, None, D]",
    "[D, D]",
    "[:, D, :, D]",
    "[1, D, D]",
    "[1, :, D, D]",
    "[T(1), :, D]",
    "[T([1]), :, D]",
    "[1, [0, 1, 2], 2]",
    "[1, :, [0, 1]]",
    "[:, 1, :, [0, 1]]",
    "[T([True, False, True]), :, 1]",
    "[1, T([True, False, True, True])]",
    "[1, :, M, 2]",
    "[0, T([[0, 1], [2, 3]]), :, 1]",
    "[T(True)]",
    "[True, 1]",
    "[1, :, True]",
    "[1, :, False]",
    "[1, T(2)]",
    "[1, :, T(2)]",
    "[:, :, 1, [0, 1], 2]",
    "[[0, 1], :, 1]",
    "[1, D, :, 1]",
    "[1, :, 2, D]",
    "[D, 1, D]",
    "[:, 1, D, 2]",
    "[1, 2, 3, 4, 5]",
    "[..., 1]",
    "[D]",
    "[[0, 0, 2], :, [1, 1, 3]]",
    "[1, :, [[0, 0], [1, 1]], None, 2:4]",
    "[..., [0, 0], 1, [1, 1]]",
    "[2, [0, 0, 1], ..., [3, 3, 3]]",
    "[1, :, []]",
]


def _index(text: str, lib) -> str:
    make = "gg.tensor(" if lib is gg else "torch.tensor("
    mask = "[True] * 3 + [False] * 9"
    return text.replace("D", make + "[0, 2, 1])").replace("T(", make).replace("M", make + mask + ")")


@pytest.mark.parametrize("index", INDEXES)
def test_indexing_places_dims_values_and_gradient_like_torch(index: str) -> None:
    rng = np.random.default_rng(0)
    base = rng.standard_normal((3, 4, 12, 5, 6))
    x, xt = gg.tensor(base, requires_grad=True), torch.tensor(base, requires_grad=True)
    ours = eval("x" + _index(index, gg))  # the index text is the test's own
    theirs = eval("xt" + _index(index, torch))
    assert ours.shape == tuple(theirs.shape)
    _same(ours, theirs)
    w = rng.standard_normal(ours.shape)
    (ours * gg.tensor(w)).sum().backward()
    (theirs * torch.tensor(w)).sum().backward()
    _same(x.grad, xt.grad)


@pytest.mark.parametrize("index", INDEXES)
def test_setitem_uses_the_same_rule(index: str) -> None:
    rng = np.random.default_rng(1)
    base = rng.standard_normal((3, 4, 12, 5, 6))
    a, at = gg.tensor(base), torch.tensor(base)
    shape = tuple(eval("at" + _index(index, torch)).shape)
    scope = {"a": a, "at": at, "gg": gg, "torch": torch, "values": rng.standard_normal(shape)}
    exec("a" + _index(index, gg) + " = gg.tensor(values)", scope)
    exec("at" + _index(index, torch) + " = torch.tensor(values)", scope)
    _same(a, at)


def test_negative_slice_steps_are_refused_like_torch() -> None:
    with pytest.raises(ValueError):
        torch.ones(3)[::-1]
    with pytest.raises(ValueError, match="getitem: step must be greater than zero, got -1"):
        gg.ones(3)[::-1]


# ------------------------------------------------------------ view: PyTorch's stride rule
def _views(base: torch.Tensor):
    yield base[0].t()
    yield base.mT
    yield base.permute(2, 0, 1)
    yield base[:, ::2]
    yield base[:, :2]
    yield base[1:, :, 1:3]
    yield base.transpose(1, 2)
    yield base[:, 1:2]
    yield base.unsqueeze(1)[:, :, ::2]


VIEW_SHAPES = [(-1,), (2, -1), (-1, 2), (1, -1, 1), (3, -1), (-1, 4), (2, 2, -1), (-1, 1, 2)]


def test_view_exists_exactly_when_torch_says_so() -> None:
    base = torch.arange(24.0, dtype=torch.float64).reshape(2, 3, 4)
    checked = raised = 0
    for tv in _views(base):
        ours = _same_view(gg.tensor(base.numpy()), tv)
        assert ours.shape == tuple(tv.shape) and ours.stride() == tv.stride()
        for shape in VIEW_SHAPES:
            try:
                theirs = tv.view(*shape)
            except RuntimeError as err:
                wrong_size = "is invalid for input of size" in str(err)
                match = "view: shape .* is invalid" if wrong_size else "view: view size is not compatible"
                with pytest.raises(RuntimeError, match=match):
                    ours.view(*shape)
                raised += not wrong_size
                continue
            got = ours.view(*shape)
            assert got.shape == tuple(theirs.shape)
            assert got.stride() == theirs.stride()
            _same(got, theirs)
            checked += 1
    assert checked > 10 and raised > 5


def _same_view(x: gg.Tensor, tv: torch.Tensor) -> gg.Tensor:
    """The glassgrad view with the same offset and strides as ``tv`` (a view of ``base``)."""
    offset = tv.storage_offset()
    strides = tuple(s * 8 for s in tv.stride())
    array = np.lib.stride_tricks.as_strided(x.array.reshape(-1)[offset:], shape=tuple(tv.shape), strides=strides)
    return gg.Tensor(array)


@pytest.mark.parametrize(
    ("old", "strides", "new"),
    [
        ((3, 4), (1, 3), (12,)),
        ((3, 4), (1, 3), (3, 2, 2)),
        ((3, 4), (1, 3), (1, 3, 1, 4)),
        ((2, 3, 4), (12, 4, 1), (6, 4)),
        ((2, 3, 4), (24, 4, 1), (6, 4)),
        ((2, 3, 4), (24, 4, 1), (2, 12)),
        ((2, 1, 4), (4, 99, 1), (8,)),
        ((0, 3), (3, 1), (3, 0)),
        ((), (), (1, 1)),
        ((3, 4), (0, 1), (12,)),
        ((3, 4), (4, 0), (3, 2, 2)),
    ],
)
def test_view_strides_is_torchs_compute_stride(old, strides, new) -> None:
    t = torch.empty(0).set_(torch.empty(200).untyped_storage(), 0, old, strides)
    try:
        expected = t.view(new).stride()
    except RuntimeError:
        expected = None
    assert view_strides(old, strides, new) == (None if expected is None else tuple(expected))


def test_view_shares_memory_with_its_base() -> None:
    base = gg.zeros(3, 4)
    v = base.view(12)
    with gg.no_grad():
        v[5] = 7.0
        v.add_(1.0)
    assert base[1, 1].item() == 8.0 and base.sum().item() == 12 + 7
    t = base.t()  # a non-contiguous view that can still be viewed: split the first dim
    tv = t.view(2, 2, 3)
    with gg.no_grad():
        tv[1, 0, 2] = -1.0
    assert base[2, 2].item() == -1.0
    assert not t.is_contiguous()


def test_reshape_copies_where_view_cannot() -> None:
    base = gg.arange(12.0).reshape(3, 4)
    flat = base.t().reshape(12)
    assert flat.tolist() == torch.arange(12.0).reshape(3, 4).t().reshape(12).tolist()
    with gg.no_grad():
        flat[0] = 100.0
    assert base[0, 0].item() == 0.0  # a copy


def test_view_gradient_and_view_as() -> None:
    x = gg.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    (x.t().view(3, 2, 1) * gg.tensor(np.arange(6.0).reshape(3, 2, 1))).sum().backward()
    xt = torch.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    (xt.t().view(3, 2, 1) * torch.tensor(np.arange(6.0).reshape(3, 2, 1))).sum().backward()
    _same(x.grad, xt.grad)
    with pytest.raises(RuntimeError, match="view size is not compatible"):
        gg.ones(2, 3).t().view_as(gg.ones(6))
    assert gg.ones(2, 3).t().reshape_as(gg.ones(6)).shape == (6,)


def test_flip_is_a_contiguous_copy_like_torch() -> None:
    x = gg.arange(12.0).reshape(3, 4)
    f = x.flip(0)
    assert f.is_contiguous() and f.view(12).tolist() == torch.arange(12.0).reshape(3, 4).flip(0).view(12).tolist()


# ------------------------------------------------------------ mm / bmm
def test_mm_and_bmm_do_not_broadcast_but_compute_like_torch() -> None:
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((2, 3)), rng.standard_normal((3, 4))
    _same(gg.mm(gg.tensor(a), gg.tensor(b)), torch.mm(torch.tensor(a), torch.tensor(b)))
    a3, b3 = rng.standard_normal((5, 2, 3)), rng.standard_normal((5, 3, 4))
    x, xt = gg.tensor(a3, requires_grad=True), torch.tensor(a3, requires_grad=True)
    ours, theirs = gg.bmm(x, gg.tensor(b3)), torch.bmm(xt, torch.tensor(b3))
    _same(ours, theirs)
    ours.sum().backward()
    theirs.sum().backward()
    _same(x.grad, xt.grad)
    _same(gg.tensor(a).mm(gg.tensor(b)), torch.tensor(a).mm(torch.tensor(b)))
    _same(gg.tensor(a3).bmm(gg.tensor(b3)), torch.tensor(a3).bmm(torch.tensor(b3)))


# ------------------------------------------------------------ reductions on 0-d tensors
ZERO_D = ["sum", "prod", "logsumexp", "amax", "amin", "mean", "max", "min", "argmax", "argmin", "all", "any"]


@pytest.mark.parametrize("name", ZERO_D)
@pytest.mark.parametrize("dim", [0, -1])
@pytest.mark.parametrize("keepdim", [False, True])
def test_reductions_of_a_0d_tensor_over_dim_0_and_minus_1(name, dim, keepdim) -> None:
    x, xt = gg.tensor(2.5, requires_grad=True), torch.tensor(2.5, requires_grad=True)
    ours = getattr(x, name)(dim, keepdim=keepdim)
    theirs = getattr(xt, name)(dim, keepdim=keepdim)
    if name in ("max", "min"):
        _same(ours.indices, theirs.indices)
        ours, theirs = ours.values, theirs.values
    assert ours.dtype == gg.tensor(_np(theirs)).dtype or theirs.dtype == torch.bool
    _same(ours, theirs)
    if ours.requires_grad:
        ours.backward()
        theirs.backward()
        _same(x.grad, xt.grad)
    with pytest.raises(IndexError):
        getattr(xt, name)(1)
    with pytest.raises(IndexError, match=f"{name}: dim 1 is out of range"):
        getattr(x, name)(1)


def test_sum_and_mean_over_an_empty_dim_list_reduce_everything_like_torch() -> None:
    for dims in ((), []):
        assert gg.ones(2, 3).sum(dim=dims).item() == torch.ones(2, 3).sum(dim=dims).item() == 6
        assert gg.ones(2, 3).mean(dims).item() == torch.ones(2, 3).mean(dims).item() == 1


# ------------------------------------------------------------ var / std when n - correction <= 0
SPREAD = [
    ("var", {"dim": 1}),
    ("var", {"dim": 1, "correction": 2}),
    ("var", {"dim": 1, "correction": 3}),
    ("std", {"dim": 1}),
    ("std", {"dim": 1, "correction": 2}),
    ("std", {"dim": 1, "correction": 3}),
    ("std", {"dim": 0, "correction": 0}),
    ("var", {}),
    ("std", {"dim": 1, "keepdim": True}),
]


@pytest.mark.parametrize(("name", "kwargs"), SPREAD)
def test_var_std_at_zero_or_negative_degrees_of_freedom_like_torch(name, kwargs) -> None:
    data = np.array([[1.0, 2.0], [3.0, 3.0]])  # the second row is constant: std 0
    x, xt = gg.tensor(data, requires_grad=True), torch.tensor(data, requires_grad=True)
    ours = getattr(x, name)(**kwargs)
    with pytest.warns(UserWarning) if kwargs.get("correction", 1) >= 2 else _nothing():
        theirs = getattr(xt, name)(**kwargs)
    _same(ours, theirs)
    ours.sum().backward()
    theirs.sum().backward()
    _same(x.grad, xt.grad)


class _nothing:  # noqa: N801 - a null context manager for the parametrized warns
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


@pytest.mark.parametrize("name", ["var", "std"])
def test_var_std_of_one_element_and_of_0d_like_torch(name) -> None:
    for data in ([1.5], 1.5):
        x, xt = gg.tensor(data, requires_grad=True), torch.tensor(data, requires_grad=True)
        ours = getattr(x, name)()
        with pytest.warns(UserWarning):
            theirs = getattr(xt, name)()
        _same(ours, theirs)
        ours.backward()
        theirs.backward()
        _same(x.grad, xt.grad)


# ------------------------------------------------------------ axis= alias
AXIS_OPS = [
    ("sum", lambda m, x: m.sum(x, axis=1)),
    ("mean", lambda m, x: m.mean(x, axis=1)),
    ("amax", lambda m, x: m.amax(x, axis=1)),
    ("amin", lambda m, x: m.amin(x, axis=1)),
    ("max", lambda m, x: m.max(x, axis=1)[0]),
    ("min", lambda m, x: m.min(x, axis=1)[0]),
    ("var", lambda m, x: m.var(x, axis=1)),
    ("std", lambda m, x: m.std(x, axis=1)),
    ("prod", lambda m, x: m.prod(x, axis=1)),
    ("logsumexp", lambda m, x: m.logsumexp(x, axis=1)),
    ("argmax", lambda m, x: m.argmax(x, axis=1)),
    ("argmin", lambda m, x: m.argmin(x, axis=1)),
    ("all", lambda m, x: m.all(x > 0, axis=1)),
    ("any", lambda m, x: m.any(x > 0, axis=1)),
    ("cat", lambda m, x: m.cat([x, x], axis=1)),
    ("stack", lambda m, x: m.stack([x, x], axis=1)),
    ("chunk", lambda m, x: m.chunk(x, 2, axis=1)[1]),
    ("squeeze", lambda m, x: m.squeeze(x[:, :1], axis=1)),
    ("unsqueeze", lambda m, x: m.unsqueeze(x, axis=1)),
    ("narrow", lambda m, x: m.narrow(x, axis=1, start=1, length=2)),
    ("gather", lambda m, x: m.gather(x, axis=1, index=m.zeros((2, 3, 4), dtype=m.int64))),
    ("softmax", lambda m, x: x.softmax(axis=1)),
    ("log_softmax", lambda m, x: x.log_softmax(axis=1)),
    ("std_mean", lambda m, x: m.std_mean(x, axis=1)[0]),
    ("var_mean", lambda m, x: m.var_mean(x, axis=1)[0]),
]


@pytest.mark.parametrize(("name", "fn"), AXIS_OPS, ids=[n for n, _ in AXIS_OPS])
def test_axis_alias_where_torch_accepts_it(name, fn) -> None:
    data = np.random.default_rng(0).standard_normal((2, 3, 4))
    _same(fn(gg, gg.tensor(data)), fn(torch, torch.tensor(data)))


# ------------------------------------------------------------ conveniences
def test_std_mean_and_var_mean_like_torch() -> None:
    data = np.random.default_rng(0).standard_normal((3, 4))
    for kwargs in ({}, {"dim": 1}, {"dim": 0, "correction": 0, "keepdim": True}, {"unbiased": False}):
        for name in ("std_mean", "var_mean"):
            x, xt = gg.tensor(data, requires_grad=True), torch.tensor(data, requires_grad=True)
            (s, m), (st, mt) = getattr(gg, name)(x, **kwargs), getattr(torch, name)(xt, **kwargs)
            _same(s, st)
            _same(m, mt)
            (s.sum() + 2 * m.sum()).backward()
            (st.sum() + 2 * mt.sum()).backward()
            _same(x.grad, xt.grad)
    assert isinstance(gg.std_mean(gg.ones(3)), tuple)
    _same(gg.var_mean(gg.tensor(data), 1, False)[0], torch.var_mean(torch.tensor(data), 1, False)[0])


@pytest.mark.parametrize(
    "make",
    [
        lambda m: m.prod(m.tensor([1, 2, 3]), dtype=m.float64),
        lambda m: m.prod(m.tensor([1, 2, 3])),
        lambda m: m.prod(m.tensor([True, True])),
        lambda m: m.prod(m.tensor([1, 2, 3], dtype=m.int32)),
        lambda m: m.prod(m.tensor([[1, 2], [3, 4]]), 1, dtype=m.float32),
        lambda m: m.sum(m.tensor([1, 2, 3], dtype=m.int32)),
        lambda m: m.sum(m.tensor([1.0, 2.0, 3.0]), dtype=m.float64),
        lambda m: m.tensor([1, 2, 3], dtype=m.int32).sum(dtype=m.float32),
    ],
)
def test_prod_and_sum_dtype_like_torch(make) -> None:
    ours, theirs = make(gg), make(torch)
    assert str(ours.dtype) == str(theirs.dtype).replace("torch.", "")
    _same(ours, theirs)


def test_t_half_unflatten() -> None:
    data = np.arange(6.0).reshape(2, 3)
    _same(gg.tensor(data).t(), torch.tensor(data).t())
    _same(gg.tensor([1.0, 2.0]).t(), torch.tensor([1.0, 2.0]).t())
    _same(gg.tensor(3.0).t(), torch.tensor(3.0).t())
    with pytest.raises(RuntimeError):
        torch.ones(2, 3, 4).t()
    with pytest.raises(RuntimeError, match="t: expects a tensor with <= 2 dims"):
        gg.ones(2, 3, 4).t()
    h = gg.tensor(data).half()
    assert h.dtype == gg.float16 and str(torch.tensor(data).half().dtype) == "torch.float16"
    _same((h * 2 + 1).sum(), (torch.tensor(data).half() * 2 + 1).sum())
    assert h.float().dtype == gg.float32
    x = gg.tensor(np.arange(24.0).reshape(2, 12), requires_grad=True)
    xt = torch.tensor(np.arange(24.0).reshape(2, 12), requires_grad=True)
    for sizes in ((3, 4), (-1, 2), (2, 3, 2)):
        _same(x.unflatten(1, sizes), xt.unflatten(1, sizes))
        _same(gg.unflatten(x, -1, sizes), torch.unflatten(xt, -1, sizes))
    (x.unflatten(1, (3, 4)) ** 2).sum().backward()
    (xt.unflatten(1, (3, 4)) ** 2).sum().backward()
    _same(x.grad, xt.grad)
    with pytest.raises(RuntimeError):
        xt.unflatten(1, (5, 2))
    with pytest.raises(RuntimeError, match=r"unflatten: provided sizes \(5, 2\)"):
        x.unflatten(1, (5, 2))


def test_half_works_end_to_end_for_basic_ops() -> None:
    data = np.random.default_rng(0).standard_normal((3, 4))
    x = gg.tensor(data).half().requires_grad_()
    xt = torch.tensor(data).half().requires_grad_()
    ours = ((x * x).exp().sum(1) / 3 - x.mean()).tanh().sum()
    theirs = ((xt * xt).exp().sum(1) / 3 - xt.mean()).tanh().sum()
    np.testing.assert_allclose(_np(ours), _np(theirs), rtol=2e-2)
    ours.backward()
    theirs.backward()
    assert x.grad.dtype == gg.float16
    np.testing.assert_allclose(_np(x.grad).astype(float), _np(xt.grad).astype(float), rtol=3e-2, atol=3e-2)
    assert (x @ x.t()).dtype == gg.float16


@pytest.mark.parametrize(
    "call",
    [
        lambda x, m: x.new_zeros(2, 3),
        lambda x, m: x.new_zeros((2,)),
        lambda x, m: x.new_ones((2, 1), dtype=m.float64),
        lambda x, m: x.new_full((2, 2), 7),
        lambda x, m: x.new_full((3,), 1.5, dtype=m.float64),
        lambda x, m: x.new_empty(0, 2),
        lambda x, m: x.new_tensor([1, 2, 3]),
        lambda x, m: x.new_tensor([[1.5]], dtype=m.float64),
    ],
)
@pytest.mark.parametrize("dtype", ["int32", "float64", "float32"])
def test_new_methods_keep_dtype_and_device_like_torch(call, dtype) -> None:
    ours = call(gg.ones(2, dtype=getattr(gg, dtype)), gg)
    theirs = call(torch.ones(2, dtype=getattr(torch, dtype)), torch)
    assert ours.shape == tuple(theirs.shape)
    assert str(ours.dtype) == str(theirs.dtype).replace("torch.", "")
    assert ours.device == "cpu" and not ours.requires_grad
    if theirs.numel() and "empty" not in str(call):
        _same(ours, theirs)
    assert call(gg.ones(2), gg).new_zeros(1, requires_grad=True).requires_grad


@pytest.mark.parametrize("beta", [1.0, 0.5, 0.0, 2.0])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_smooth_l1_loss_like_torch(beta, reduction) -> None:
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((4, 5)) * 2, rng.standard_normal((4, 5))
    a[0, 0] = b[0, 0]  # d = 0: the kink of beta = 0
    x, xt = gg.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    ours = F.smooth_l1_loss(x, gg.tensor(b), reduction=reduction, beta=beta)
    theirs = TF.smooth_l1_loss(xt, torch.tensor(b), reduction=reduction, beta=beta)
    _same(ours, theirs)
    ours.sum().backward()
    theirs.sum().backward()
    _same(x.grad, xt.grad)
    module, module_t = (
        gg.nn.SmoothL1Loss(reduction=reduction, beta=beta),
        torch.nn.SmoothL1Loss(reduction=reduction, beta=beta),
    )
    _same(module(gg.tensor(a), gg.tensor(b)), module_t(torch.tensor(a), torch.tensor(b)))
    if beta == 0.0:
        _same(ours, F.l1_loss(gg.tensor(a), gg.tensor(b), reduction=reduction))


# ------------------------------------------------------------ attention: mask gradient, grouped-query
ATTENTION_VARIANTS = [v.name for v in gg.kernels.list("attention", "cpu")]


@pytest.mark.parametrize("variant", ATTENTION_VARIANTS)
@pytest.mark.parametrize("mask_shape", [(2, 3, 5, 7), (1, 3, 5, 7), (5, 7), (2, 1, 1, 7), (3, 1, 7)])
def test_float_attn_mask_gets_its_gradient_like_torch(variant, mask_shape) -> None:
    rng = np.random.default_rng(0)
    q, k, v = rng.standard_normal((2, 3, 5, 4)), rng.standard_normal((2, 3, 7, 4)), rng.standard_normal((2, 3, 7, 6))
    m = rng.standard_normal(mask_shape)
    ours_in = [gg.tensor(a, requires_grad=True) for a in (q, k, v, m)]
    theirs_in = [torch.tensor(a, requires_grad=True) for a in (q, k, v, m)]
    w = rng.standard_normal((2, 3, 5, 6))
    with gg.kernels.use("attention", variant, "cpu"), gg.kernels.use("attention_backward", variant, "cpu"):
        ours = F.scaled_dot_product_attention(*ours_in[:3], attn_mask=ours_in[3])
        (ours * gg.tensor(w)).sum().backward()
    theirs = TF.scaled_dot_product_attention(*theirs_in[:3], attn_mask=theirs_in[3])
    (theirs * torch.tensor(w)).sum().backward()
    _same(ours, theirs, atol=1e-10)
    for a, b in zip(ours_in, theirs_in, strict=True):
        assert a.grad.shape == tuple(b.grad.shape)
        _same(a.grad, b.grad, atol=1e-10)


def test_attn_mask_gradcheck_and_no_grad_mask_keeps_the_default_kernel(monkeypatch) -> None:
    rng = np.random.default_rng(1)
    shapes = ((1, 2, 4, 3), (1, 2, 5, 3), (1, 2, 5, 3))
    q, k, v = (gg.tensor(rng.standard_normal(s), requires_grad=True) for s in shapes)
    m = gg.tensor(rng.standard_normal((1, 1, 4, 5)), requires_grad=True)
    assert gg.gradcheck(lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, attn_mask=m), [q, k, v, m])
    ran = []
    table = registry._variants[("attention_backward", "cpu")]
    for name, variant in list(table.items()):
        spy = functools.partial(lambda name, fn, *a, **kw: ran.append(name) or fn(*a, **kw), name, variant.fn)
        monkeypatch.setitem(table, name, dataclasses.replace(variant, fn=spy))
    monkeypatch.setattr(registry, "_order", {})
    F.scaled_dot_product_attention(q, k, v, attn_mask=m.detach()).sum().backward()
    assert ran == ["flash"]  # no mask gradient wanted: the default (flash) backward ran
    F.scaled_dot_product_attention(q, k, v, attn_mask=m).sum().backward()
    assert ran == ["flash", "reference"] and m.grad is not None  # dL/dM: the registry picked the reference


@pytest.mark.parametrize(
    ("hq", "hk", "hv"),
    [(6, 2, 2), (6, 3, 3), (6, 6, 6), (4, 1, 1), (6, 2, 3)],
)
@pytest.mark.parametrize("causal", [False, True])
def test_grouped_query_attention_like_torch(hq, hk, hv, causal) -> None:
    rng = np.random.default_rng(2)
    arrays = [
        rng.standard_normal((2, hq, 5, 4)),
        rng.standard_normal((2, hk, 7, 4)),
        rng.standard_normal((2, hv, 7, 3)),
    ]
    ours_in = [gg.tensor(a, requires_grad=True) for a in arrays]
    theirs_in = [torch.tensor(a, requires_grad=True) for a in arrays]
    ours = F.scaled_dot_product_attention(*ours_in, is_causal=causal, enable_gqa=True)
    theirs = TF.scaled_dot_product_attention(*theirs_in, is_causal=causal, enable_gqa=True)
    _same(ours, theirs, atol=1e-10)
    w = rng.standard_normal(ours.shape)
    (ours * gg.tensor(w)).sum().backward()
    (theirs * torch.tensor(w)).sum().backward()
    for a, b in zip(ours_in, theirs_in, strict=True):
        _same(a.grad, b.grad, atol=1e-10)


def test_grouped_query_attention_errors_like_torch() -> None:
    q, k = np.zeros((2, 6, 5, 4)), np.zeros((2, 4, 7, 4))
    with pytest.raises(RuntimeError):
        TF.scaled_dot_product_attention(torch.tensor(q), torch.tensor(k), torch.tensor(k), enable_gqa=True)
    with pytest.raises(RuntimeError, match="must divide the number of heads in query .*key has 4, query has 6"):
        F.scaled_dot_product_attention(gg.tensor(q), gg.tensor(k), gg.tensor(k), enable_gqa=True)
    with pytest.raises(RuntimeError):
        TF.scaled_dot_product_attention(torch.tensor(q), torch.tensor(k), torch.tensor(k))
    with pytest.raises(RuntimeError, match="batch dims differ and don't broadcast"):
        F.scaled_dot_product_attention(gg.tensor(q), gg.tensor(k), gg.tensor(k))
    flat = np.zeros((5, 4))
    with pytest.raises(IndexError):
        TF.scaled_dot_product_attention(*(torch.tensor(flat),) * 3, enable_gqa=True)
    with pytest.raises(IndexError, match="enable_gqa needs a heads dim"):
        F.scaled_dot_product_attention(*(gg.tensor(flat),) * 3, enable_gqa=True)


@pytest.mark.parametrize(
    ("shape", "dtype"),
    [((2, 3), "int32"), ((2, 4), "float64"), ((2, 4), "float16"), ((3,), "float32"), ((2, 4), "int16")],
)
def test_view_as_another_dtype_reads_the_same_bytes_like_torch(shape, dtype) -> None:
    data = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    ours, theirs = gg.tensor(data).view(getattr(gg, dtype)), torch.tensor(data).view(getattr(torch, dtype))
    assert ours.shape == tuple(theirs.shape) and str(ours.dtype) == dtype
    np.testing.assert_array_equal(_np(ours), theirs.numpy())
    base = gg.tensor(data)
    with gg.no_grad():
        base.view(getattr(gg, dtype)).zero_()
    assert (_np(base) == 0).all()  # the bytes are shared


@pytest.mark.parametrize(
    "shapes",
    [
        ((1, 6, 5, 4), (2, 6, 7, 4), (2, 1, 7, 3)),
        ((5, 4), (3, 7, 4), (7, 3)),
        ((2, 1, 5, 4), (1, 3, 7, 4), (2, 3, 7, 4)),
    ],
)
def test_attention_batch_dims_broadcast_like_torch(shapes) -> None:
    rng = np.random.default_rng(3)
    arrays = [rng.standard_normal(s) for s in shapes]
    ours_in = [gg.tensor(a, requires_grad=True) for a in arrays]
    theirs_in = [torch.tensor(a, requires_grad=True) for a in arrays]
    ours, theirs = F.scaled_dot_product_attention(*ours_in), TF.scaled_dot_product_attention(*theirs_in)
    _same(ours, theirs, atol=1e-10)
    ours.sum().backward()
    theirs.sum().backward()
    for a, b in zip(ours_in, theirs_in, strict=True):
        _same(a.grad, b.grad, atol=1e-10)


def test_zero_dim_tensors_promote_like_pytorch() -> None:
    """PyTorch's three tiers: tensors with dims, then 0-d tensors, then Python numbers."""
    cases = [
        lambda m: m.tensor([1.0, 2.0]) + m.tensor(2.5, dtype=m.float64),  # float32: same category, dims win
        lambda m: m.tensor([1, 2], dtype=m.int8) + m.tensor(3),  # int8
        lambda m: m.tensor([1, 2]) + m.tensor(2.5, dtype=m.float64),  # float64: a higher category lifts
        lambda m: m.tensor(1) + m.tensor(2.5),  # only 0-d tensors: float32
        lambda m: m.tensor([True]) + m.tensor(3, dtype=m.int16),  # int16
        lambda m: m.tensor([1, 2], dtype=m.int8) * 2.5,  # float32, the default float
        lambda m: m.tensor([1.0], dtype=m.float64) * m.tensor(2, dtype=m.int64),  # float64
    ]
    for case in cases:
        assert str(case(gg).dtype) == str(case(torch).dtype).removeprefix("torch.")


def test_clamp_ties_and_nan_give_pytorch_gradients() -> None:
    def run(m):
        x = m.tensor([1.0, 2.0, 3.0, 5.0, 0.5, float("nan")], requires_grad=True)
        lo = m.tensor([1.0, 1.0, 4.0, 6.0, 2.0, 0.0], requires_grad=True)
        hi = m.tensor([3.0, 2.0, 5.0, 4.0, 1.0, 1.0], requires_grad=True)
        m.clamp(x, lo, hi).sum().backward()
        return [t.grad.tolist() for t in (x, lo, hi)]

    assert run(gg) == run(torch)


@pytest.mark.parametrize(
    "call",
    [
        lambda m: m.ones(0).argmax(),
        lambda m: m.ones(0).argmin(),
        lambda m: m.ones(0).max(),
        lambda m: m.ones(0).min(),
        lambda m: m.ones(0).amax(),
        lambda m: m.ones(0, 3).argmax(0),
        lambda m: m.ones(0, 3).max(0),
        lambda m: m.ones(0, 3).amin(0),
        lambda m: m.ones(0, 3).amax((0, 1)),
        lambda m: m.ones(0, 3).argmax(1),  # reducing a non-empty dim of an empty tensor: an empty result
        lambda m: m.ones(0, 3).max(1).values,
        lambda m: m.ones(0, 3).amax(1, keepdim=True),
        lambda m: m.ones(()).max(0).values,
    ],
)
def test_max_min_argmax_of_empty_tensors_like_torch(call) -> None:
    """max/argmax over nothing raise PyTorch's type (RuntimeError for the whole-tensor max, IndexError for
    argmax and a zero-size dim), naming the op; other dims of an empty tensor reduce to an empty result."""
    try:
        theirs = call(torch)
    except (RuntimeError, IndexError) as err:
        name = str(err).split("(")[0]
        with pytest.raises(type(err), match=f"^{name}: "):
            call(gg)
    else:
        _same(call(gg), theirs)


@pytest.mark.parametrize(
    "call",
    [
        lambda m: m.ones(2, 3).var(correction="a"),
        lambda m: m.ones(2, 3).std(correction="a"),
        lambda m: m.ones(2, 3).var(unbiased="a"),
        lambda m: m.var_mean(m.ones(2, 3), correction="a"),
        lambda m: m.dot(m.ones(2), m.ones(3)),
        lambda m: m.dot(m.ones(2), m.ones(2).double()),
        lambda m: m.dot(m.ones(2, 2), m.ones(2)),
        lambda m: m.outer(m.ones(2, 2), m.ones(2)),
        lambda m: m.outer(m.ones(2), m.ones(())),
    ],
)
def test_bad_var_dot_outer_arguments_like_torch(call) -> None:
    with pytest.raises(Exception) as theirs:  # the type is read from torch
        call(torch)
    with pytest.raises(theirs.type, match=r"^(var|std|var_mean|dot|outer): "):
        call(gg)


def test_dot_and_outer_compute_like_torch() -> None:
    a, b = np.arange(3.0), np.arange(3.0, 6.0)
    _same(gg.dot(gg.tensor(a), gg.tensor(b)), torch.dot(torch.tensor(a), torch.tensor(b)))
    _same(gg.outer(gg.tensor(a), gg.tensor(b[:2])), torch.outer(torch.tensor(a), torch.tensor(b[:2])))
    _same(gg.ones(2, 3).var(correction=0.5), torch.ones(2, 3).var(correction=0.5))
