"""Cumulative ops, sorting and einsum beyond the op table: index and dtype results, ties,
NaN and infinities, 0-d and empty inputs, and bad inputs. Every case runs in PyTorch too,
so each test documents that the two agree."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch

import glassgrad as gg

NAN, INF = float("nan"), float("inf")


def _np(x: Any) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        return x.detach().numpy()
    return np.asarray(x.detach().array)


def same(ours: Any, theirs: Any, exact: bool = True) -> None:
    """Values, shape and dtype agree (tuples such as (values, indices) field by field)."""
    if isinstance(theirs, tuple):
        assert isinstance(ours, tuple) and len(ours) == len(theirs)
        assert getattr(ours, "_fields", None) == getattr(theirs, "_fields", ("values", "indices"))[: len(ours)]
        for o, t in zip(ours, theirs, strict=True):
            same(o, t, exact)
        return
    a, b = _np(ours), _np(theirs)
    assert a.shape == b.shape, (a.shape, b.shape)
    assert a.dtype == b.dtype, (a.dtype, b.dtype)
    if exact:
        np.testing.assert_array_equal(a, b)
    else:
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-12)


def both(fn: Callable[[Any], Any], *arrays: Any, **tensor_kw: Any) -> tuple[Any, Any, list, list]:
    """Run ``fn`` on glassgrad and torch tensors made from ``arrays``."""
    gs = [gg.tensor(a, **tensor_kw) for a in arrays]
    ts = [torch.tensor(a, **tensor_kw) for a in arrays]
    return fn(gs[0] if len(gs) == 1 else gs, gg), fn(ts[0] if len(ts) == 1 else ts, torch), gs, ts


def raises_like(fn: Callable[[Any, Any], Any], *arrays: Any, name: str) -> None:
    """glassgrad raises the exception type PyTorch raises, with a message naming the op."""
    with pytest.raises(Exception) as theirs:
        fn(*[torch.tensor(a) for a in arrays], torch)
    with pytest.raises(theirs.type) as ours:
        fn(*[gg.tensor(a) for a in arrays], gg)
    assert name in str(ours.value), str(ours.value)


def grads_agree(fn: Callable[[Any, Any], Any], array: Any, grad_out: Any = None, dtype: str = "float64") -> None:
    """Forward and the gradient of (out · grad_out).sum() agree (NaNs in the same places)."""
    x = gg.tensor(np.asarray(array, dtype=dtype), requires_grad=True)
    t = torch.tensor(np.asarray(array, dtype=dtype), requires_grad=True)
    out_g, out_t = fn(x, gg), fn(t, torch)
    out_g, out_t = (o[0] if isinstance(o, tuple) else o for o in (out_g, out_t))
    np.testing.assert_allclose(_np(out_g), _np(out_t), rtol=1e-12, atol=1e-12)
    w = np.ones(out_t.shape) if grad_out is None else np.asarray(grad_out, dtype=dtype)
    (out_g * gg.tensor(w, dtype=out_g.dtype)).sum().backward()
    (out_t * torch.tensor(w, dtype=out_t.dtype)).sum().backward()
    np.testing.assert_allclose(_np(x.grad), _np(t.grad), rtol=1e-10, atol=1e-12)


# ------------------------------------------------------------------------------------ cumulative

CUM_OPS = ["cumsum", "cumprod", "cummax", "cummin", "logcumsumexp"]


@pytest.mark.parametrize("dtype", ["int64", "int32", "int16", "uint8", "bool"])
@pytest.mark.parametrize("op", ["cumsum", "cumprod"])
def test_cumsum_cumprod_of_integers_and_bools_give_int64(op: str, dtype: str) -> None:
    a = np.array([[1, 2, 0, 3], [2, 1, 1, 1]]).astype(dtype)
    ours, theirs, *_ = both(lambda x, lib: getattr(lib, op)(x, 1), a)
    same(ours, theirs)
    assert ours.dtype == gg.int64


@pytest.mark.parametrize("op", ["cumsum", "cumprod"])
@pytest.mark.parametrize(("given", "dtype"), [("int64", "float64"), ("float32", "int32"), ("float32", "float64")])
def test_dtype_argument_casts_first(op: str, given: str, dtype: str) -> None:
    a = np.array([1.5, 2.0, 3.0, -1.0]).astype(given)
    ours = getattr(gg, op)(gg.tensor(a), 0, dtype=getattr(gg, dtype))
    theirs = getattr(torch, op)(torch.tensor(a), 0, dtype=getattr(torch, dtype))
    same(ours, theirs)


def test_dtype_argument_keeps_the_gradient_in_the_input_dtype() -> None:
    x = gg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    t = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    gg.cumprod(x, 0, dtype=gg.float64).sum().backward()
    torch.cumprod(t, 0, dtype=torch.float64).sum().backward()
    same(x.grad, t.grad)


@pytest.mark.parametrize("op", ["cummax", "cummin"])
@pytest.mark.parametrize("dtype", ["int64", "int32", "bool", "float32"])
def test_cummax_cummin_keep_the_dtype_and_give_int64_indices(op: str, dtype: str) -> None:
    a = np.array([[1, 0, 1, 1], [0, 0, 1, 0]]).astype(dtype)
    ours, theirs, *_ = both(lambda x, lib: getattr(lib, op)(x, 1), a)
    same(ours, theirs)
    assert type(ours).__name__ == "ValuesIndices" and ours.indices.dtype == gg.int64


@pytest.mark.parametrize("op", ["cummax", "cummin"])
@pytest.mark.parametrize(
    "values",
    [
        [1.0, 3.0, 3.0, 2.0, 3.0, 0.0, 0.0],  # ties: the latest index wins
        [1.0, 1.0, 0.0, 1.0, 0.0, 2.0],
        [1.0, 3.0, NAN, 2.0, 5.0, NAN, 1.0],  # NaN propagates, its latest occurrence is the index
        [NAN, NAN, 1.0],
        [-INF, INF, INF, -INF],
    ],
)
def test_cummax_cummin_ties_and_nan_match_torch(op: str, values: list[float]) -> None:
    ours, theirs, *_ = both(lambda x, lib: getattr(lib, op)(x, 0), values)
    same(ours, theirs)


@pytest.mark.parametrize("op", ["cummax", "cummin"])
def test_cummax_gradient_goes_to_the_index_on_ties(op: str) -> None:
    grads_agree(lambda x, lib: getattr(lib, op)(x, 0), [1.0, 3.0, 3.0, 2.0, 3.0, 0.0, 0.0], [1, 2, 3, 4, 5, 6, 7])


def test_cummax_long_rows_match_torch() -> None:
    """Longer than a few doubling steps, ties included (values drawn from 0..4)."""
    a = np.random.default_rng(0).integers(0, 5, (3, 1000)).astype(float)
    for op in ("cummax", "cummin"):
        ours, theirs, *_ = both(lambda x, lib, op=op: getattr(lib, op)(x, 1), a)
        same(ours, theirs)


@pytest.mark.parametrize(
    "values",
    [
        [2.0, 0.0, 3.0, 5.0, 4.0],  # one zero
        [2.0, 0.0, 3.0, 0.0, 4.0],  # two zeros
        [0.0, 0.0, 0.0],
        [3.0, 2.0, 0.5, 0.0],  # zero last
        [0.0, 1.5, -2.0, 3.0],  # zero first
    ],
)
def test_cumprod_gradient_with_zeros_matches_torch(values: list[float]) -> None:
    grads_agree(lambda x, lib: lib.cumprod(x, 0), values, np.arange(1.0, len(values) + 1))


def test_cumprod_gradient_where_the_product_underflows() -> None:
    """z = (1e-200, 0, 0, 0) underflows to 0 although no x is 0: the exact gradient,
    Σ_{i≥k} g_i Π_{j≤i, j≠k} x_j, is (12, 11, 0, 0). PyTorch, which divides by x
    where z is non-zero and treats the rest as after a zero, gives (1, 0, 0, 0)."""
    values, w = [1e-200, 1e-200, 1e200, 2.0], [1.0, 2.0, 3.0, 4.0]
    exact = [sum(w[i] * np.prod([values[j] for j in range(i + 1) if j != k]) for i in range(k, 4)) for k in range(4)]
    x = gg.tensor(values, dtype=gg.float64, requires_grad=True)
    (gg.cumprod(x, 0) * gg.tensor(w, dtype=gg.float64)).sum().backward()
    np.testing.assert_allclose(_np(x.grad), exact, rtol=1e-14)
    t = torch.tensor(values, dtype=torch.float64, requires_grad=True)
    (torch.cumprod(t, 0) * torch.tensor(w, dtype=torch.float64)).sum().backward()
    assert _np(t.grad).tolist() == [1.0, 0.0, 0.0, 0.0]


def test_cumprod_gradient_long_rows_with_zeros() -> None:
    a = np.random.default_rng(1).uniform(0.8, 1.2, (4, 300))
    a[0, 17] = a[1, 3] = a[1, 250] = a[2, 299] = a[3, 0] = 0.0
    w = np.random.default_rng(2).standard_normal(a.shape)
    grads_agree(lambda x, lib: lib.cumprod(x, 1), a, w)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize(
    "values",
    [
        [-INF, -INF, 0.0, 1000.0, -INF],  # -inf first (its gradient is NaN in both), then large
        [1000.0, 1001.0, -1000.0, 999.0],
        [-1e4, 0.0, 1e4, -1e4],
        [0.0, -INF, 2.0],
        [INF, 1.0, 0.0],
    ],
)
def test_logcumsumexp_large_values_and_infinities(values: list[float], dtype: str) -> None:
    x = gg.tensor(np.array(values, dtype=dtype), requires_grad=True)
    t = torch.tensor(np.array(values, dtype=dtype), requires_grad=True)
    out_g, out_t = gg.logcumsumexp(x, 0), torch.logcumsumexp(t, 0)
    same(out_g.detach(), out_t.detach(), exact=False)
    w = [1.0, -2.0, 3.0, 0.5, 1.0][: len(values)]
    with np.errstate(invalid="ignore"):  # the loss itself is inf - inf = NaN here; its gradient is not
        (out_g * gg.tensor(w, dtype=x.dtype)).sum().backward()
    (out_t * torch.tensor(w, dtype=t.dtype)).sum().backward()
    np.testing.assert_allclose(_np(x.grad), _np(t.grad), rtol=1e-5 if dtype == "float32" else 1e-12, atol=1e-6)
    assert np.isfinite(_np(out_g)[np.isfinite(_np(out_t))]).all()


def test_logcumsumexp_of_integers_raises_like_torch() -> None:
    raises_like(lambda x, lib: lib.logcumsumexp(x, 0), [1, 2, 3], name="logcumsumexp")


@pytest.mark.parametrize("op", CUM_OPS)
@pytest.mark.parametrize("dim", [0, -1])
def test_zero_dim_input(op: str, dim: int) -> None:
    ours, theirs, *_ = both(lambda x, lib: getattr(lib, op)(x, dim), 2.5)
    same(ours, theirs)
    grads_agree(lambda x, lib: getattr(lib, op)(x, dim), 2.5)


@pytest.mark.parametrize("op", CUM_OPS)
@pytest.mark.parametrize(("shape", "dim"), [((0,), 0), ((2, 0), 1), ((2, 0), 0), ((0, 3), 1)])
def test_empty_input(op: str, shape: tuple[int, ...], dim: int) -> None:
    ours, theirs, *_ = both(lambda x, lib: getattr(lib, op)(x, dim), np.zeros(shape, dtype=np.float32))
    same(ours, theirs)


@pytest.mark.parametrize("op", CUM_OPS)
def test_axis_alias_and_methods(op: str) -> None:
    a = np.random.default_rng(3).standard_normal((3, 4))
    ours, theirs, *_ = both(lambda x, lib: getattr(x, op)(axis=0), a)
    same(ours, theirs, exact=False)
    ours, theirs, *_ = both(lambda x, lib: getattr(x, op)(1), a)
    same(ours, theirs, exact=False)


@pytest.mark.parametrize("op", CUM_OPS)
@pytest.mark.parametrize(
    ("shape", "call"),
    [
        ((3, 4), lambda op, x, lib: getattr(lib, op)(x, 2)),  # IndexError
        ((3, 4), lambda op, x, lib: getattr(lib, op)(x, -3)),
        ((), lambda op, x, lib: getattr(lib, op)(x, 1)),
        ((3,), lambda op, x, lib: getattr(lib, op)(x)),  # TypeError: dim is required
        ((3,), lambda op, x, lib: getattr(lib, op)(x, None)),
        ((3,), lambda op, x, lib: getattr(lib, op)(x, 0.0)),
    ],
)
def test_bad_dims_raise_like_torch(op: str, shape: tuple[int, ...], call: Callable) -> None:
    raises_like(lambda x, lib: call(op, x, lib), np.zeros(shape), name=op)


def test_cum_indices_need_no_gradient() -> None:
    x = gg.tensor([1.0, 3.0, 2.0], requires_grad=True)
    values, indices = gg.cummax(x, 0)
    assert values.requires_grad and not indices.requires_grad


# ------------------------------------------------------------------------------------ sorting

SPECIAL = [3.0, NAN, -INF, 1.0, NAN, INF, 1.0, -0.0, 0.0, 3.0]  # NaN sorts as the largest, -0.0 ties 0.0


def _ties(seed: int, shape: tuple[int, ...] = (4, 300)) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 4, shape).astype(np.float64)


@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("values", [SPECIAL, [2.0, 1.0, 2.0, 1.0, 2.0], [NAN, NAN, NAN]])
def test_sort_stable_matches_torch_with_ties_nan_and_infinities(values: list[float], descending: bool) -> None:
    ours, theirs, *_ = both(lambda x, lib: lib.sort(x, descending=descending, stable=True), values)
    same(ours, theirs)
    ours, theirs, *_ = both(lambda x, lib: lib.argsort(x, descending=descending, stable=True), values)
    same(ours, theirs)


@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_sort_stable_long_rows_with_many_ties(dim: int, descending: bool) -> None:
    a = _ties(dim + 2)
    a[1, ::7] = NAN
    ours, theirs, *_ = both(lambda x, lib: x.sort(dim=dim, descending=descending, stable=True), a)
    same(ours, theirs)


@pytest.mark.parametrize("descending", [False, True])
def test_unstable_sort_gives_torchs_values_and_the_stable_indices(descending: bool) -> None:
    """PyTorch's stable=False CPU sort may order ties differently (it does on these rows);
    ours is always stable: the values agree with it, the indices with stable=True.
    (PyTorch wants dim and descending as keywords once stable is given; glassgrad takes both.)"""
    a = _ties(7)
    ours = gg.sort(gg.tensor(a), 1, descending)
    unstable, stable = (
        torch.sort(torch.tensor(a), 1, descending),
        torch.sort(torch.tensor(a), dim=1, descending=descending, stable=True),
    )
    same(ours.values, unstable.values)
    same(ours.indices, stable.indices)
    assert not torch.equal(unstable.indices, stable.indices)  # so the case does test a difference


@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("dtype", ["int64", "int32", "int16", "uint8", "bool"])
def test_sort_integer_and_bool_dtypes(dtype: str, descending: bool) -> None:
    a = np.array([[3, 1, 0, 2, 1, 3], [0, 0, 1, 1, 0, 1]]).astype(dtype)
    ours, theirs, *_ = both(lambda x, lib: lib.sort(x, dim=1, descending=descending, stable=True), a)
    same(ours, theirs)
    if dtype == "bool":  # PyTorch's topk refuses bool on the cpu, and so does ours
        raises_like(lambda x, lib: lib.topk(x, 3), a, name="topk")
        return
    ours, theirs, *_ = both(lambda x, lib: lib.topk(x, 3, largest=not descending), a)
    same(ours.values, theirs.values)


def test_sort_descending_integer_extremes_do_not_overflow() -> None:
    info = np.iinfo(np.int64)
    a = np.array([0, info.min, info.max, -1, info.min, 1])
    ours, theirs, *_ = both(lambda x, lib: lib.sort(x, descending=True, stable=True), a)
    same(ours, theirs)


def test_sort_gradient_on_ties_follows_the_stable_permutation() -> None:
    grads_agree(lambda x, lib: lib.sort(x, stable=True, descending=True), [2.0, 1.0, 2.0, 3.0, 1.0], [1, 2, 3, 4, 5])


def test_topk_values_match_torch_and_indices_point_at_them() -> None:
    """With ties PyTorch's topk may pick another of the tied indices; the values agree and
    each index holds its value. Without ties the indices agree too."""
    a = _ties(11, (5, 40))
    for largest in (True, False):
        ours = gg.topk(gg.tensor(a), 7, largest=largest)
        theirs = torch.topk(torch.tensor(a), 7, largest=largest)
        same(ours.values, theirs.values)
        np.testing.assert_array_equal(np.take_along_axis(a, _np(ours.indices), 1), _np(ours.values))
    b = np.random.default_rng(12).standard_normal((5, 40))
    ours, theirs, *_ = both(lambda x, lib: lib.topk(x, 7, dim=1), b)
    same(ours, theirs)


@pytest.mark.parametrize("largest", [True, False])
def test_topk_with_nan_and_infinities(largest: bool) -> None:
    values = [1.0, NAN, 2.0, NAN, 0.0, INF, -INF]
    ours, theirs, *_ = both(lambda x, lib: lib.topk(x, 4, largest=largest), values)
    same(ours, theirs)


@pytest.mark.parametrize(
    ("values", "k"),
    [
        ([1.0, NAN, 2.0, NAN, 0.0], 4),
        ([1.0, NAN, 2.0, NAN, 0.0], 5),
        (SPECIAL, 1),
        (SPECIAL, 8),
        (SPECIAL, 9),
        (SPECIAL, 10),
    ],
)
def test_kthvalue_with_nan_matches_torch(values: list[float], k: int) -> None:
    ours, theirs, *_ = both(lambda x, lib: lib.kthvalue(x, k), values)
    same(ours, theirs)


def test_kthvalue_and_median_with_ties_pick_an_index_holding_the_value() -> None:
    a = _ties(13, (6, 25))
    for k in (1, 5, 13, 25):
        ours, theirs = gg.kthvalue(gg.tensor(a), k, 1), torch.kthvalue(torch.tensor(a), k, 1)
        same(ours.values, theirs.values)
        np.testing.assert_array_equal(np.take_along_axis(a, _np(ours.indices)[:, None], 1)[:, 0], _np(ours.values))
    ours, theirs = gg.median(gg.tensor(a), 1), torch.median(torch.tensor(a), 1)
    same(ours.values, theirs.values)
    np.testing.assert_array_equal(np.take_along_axis(a, _np(ours.indices)[:, None], 1)[:, 0], _np(ours.values))


@pytest.mark.parametrize(
    "values",
    [
        [3.0, 1.0, 2.0, 1.0, 3.0, 2.0],  # even length: the lower median
        [2.0, 1.0, 2.0, 2.0],  # ties share the gradient evenly
        [2.0, NAN, 2.0, NAN],  # a NaN makes the median NaN; the NaNs share the gradient
        [5.0],
        [[1.0, 4.0], [3.0, 2.0]],
    ],
)
def test_median_of_all_elements_and_its_gradient(values: list[float]) -> None:
    ours, theirs, *_ = both(lambda x, lib: lib.median(x), values)
    same(ours, theirs)
    assert ours.ndim == 0
    grads_agree(lambda x, lib: x.median(), values)


@pytest.mark.parametrize("dtype", ["int64", "int32", "uint8"])
def test_median_of_integers(dtype: str) -> None:
    a = np.array([[3, 1, 2, 4], [0, 9, 9, 1]]).astype(dtype)
    ours, theirs, *_ = both(lambda x, lib: lib.median(x), a)
    same(ours, theirs)
    ours, theirs, *_ = both(lambda x, lib: lib.median(x, 1), a)
    same(ours, theirs)


@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize(
    "values", [[1.0, NAN, 2.0, NAN, 0.0], [[NAN, 1.0, 2.0], [3.0, 2.0, NAN]], [[1.0, 0.0, 2.0, 5.0]]]
)
def test_median_dim_with_nan_gives_nan_and_the_first_nans_index(values: list, keepdim: bool) -> None:
    ours, theirs, *_ = both(lambda x, lib: lib.median(x, -1, keepdim), values)
    same(ours, theirs)


def test_median_dim_gradient_goes_to_the_index() -> None:
    grads_agree(lambda x, lib: x.median(1), [[3.0, 1.0, 2.0, 5.0], [0.0, -1.0, 4.0, 3.0]], [2.0, 3.0])


@pytest.mark.parametrize(
    "call",
    [
        lambda x, lib: lib.sort(x),
        lambda x, lib: lib.sort(x, 0, True),
        lambda x, lib: lib.argsort(x, -1),
        lambda x, lib: lib.topk(x, 1),
        lambda x, lib: lib.topk(x, 0),  # PyTorch gives the value back for k = 0 too
        lambda x, lib: lib.kthvalue(x, 1),
        lambda x, lib: lib.kthvalue(x, 1, 0, True),
        lambda x, lib: lib.median(x),
        lambda x, lib: lib.median(x, 0),
        lambda x, lib: lib.median(x, -1, True),
    ],
)
def test_sorting_zero_dim_input(call: Callable) -> None:
    ours, theirs, *_ = both(call, 2.5)
    same(ours, theirs)


@pytest.mark.parametrize(
    ("shape", "call"),
    [
        ((0,), lambda x, lib: lib.sort(x)),
        ((2, 0), lambda x, lib: lib.sort(x, 0, descending=True)),
        ((2, 0), lambda x, lib: lib.argsort(x, 0)),
        ((0,), lambda x, lib: lib.topk(x, 0)),
        ((2, 0), lambda x, lib: lib.topk(x, 2, dim=0)),
        ((2, 0), lambda x, lib: lib.kthvalue(x, 1, dim=0)),
        ((2, 0), lambda x, lib: lib.median(x, 0)),
        ((0,), lambda x, lib: lib.median(x)),  # NaN
        ((2, 0, 3), lambda x, lib: lib.median(x)),
    ],
)
def test_sorting_empty_input(shape: tuple[int, ...], call: Callable) -> None:
    ours, theirs, *_ = both(call, np.zeros(shape, dtype=np.float32))
    same(ours, theirs)


@pytest.mark.parametrize(
    ("shape", "call", "name"),
    [
        ((3,), lambda x, lib: lib.sort(x, 1), "sort"),
        ((3, 2), lambda x, lib: lib.sort(x, -3), "sort"),
        ((), lambda x, lib: lib.sort(x, 1), "sort"),
        ((3,), lambda x, lib: lib.sort(x, None), "sort"),
        ((3,), lambda x, lib: lib.argsort(x, 2), "argsort"),
        ((3,), lambda x, lib: lib.argsort(x, 0.0), "argsort"),
        ((3, 4), lambda x, lib: lib.topk(x, 5), "topk"),
        ((3, 4), lambda x, lib: lib.topk(x, -1), "topk"),
        ((3, 4), lambda x, lib: lib.topk(x, 1.5), "topk"),
        ((3, 4), lambda x, lib: lib.topk(x, 2, dim=2), "topk"),
        ((0,), lambda x, lib: lib.topk(x, 1), "topk"),
        ((), lambda x, lib: lib.topk(x, 2), "topk"),
        ((3, 4), lambda x, lib: lib.kthvalue(x, 5), "kthvalue"),
        ((3, 4), lambda x, lib: lib.kthvalue(x, 0), "kthvalue"),
        ((3, 4), lambda x, lib: lib.kthvalue(x, 2.0), "kthvalue"),
        ((), lambda x, lib: lib.kthvalue(x, 2), "kthvalue"),
        ((0,), lambda x, lib: lib.kthvalue(x, 1), "kthvalue"),  # IndexError: empty reduced dim
        ((2, 0), lambda x, lib: lib.median(x, 1), "median"),
        ((3,), lambda x, lib: lib.median(x, 2), "median"),
        ((3,), lambda x, lib: lib.median(x, 0.5), "median"),
        ((3, 2), lambda x, lib: lib.median(x, None), "median"),  # None is not "all elements"
        ((3, 2), lambda x, lib: x.median(None), "median"),
        ((3, 2), lambda x, lib: lib.median(x, keepdim=True), "median"),
        ((3,), lambda x, lib: lib.topk(x, 1, None), "topk"),
        ((3,), lambda x, lib: lib.kthvalue(x, 1, None), "kthvalue"),
    ],
)
def test_sorting_bad_inputs_raise_like_torch(shape: tuple[int, ...], call: Callable, name: str) -> None:
    raises_like(call, np.zeros(shape), name=name)


@pytest.mark.parametrize(
    ("call", "name"),
    [
        (lambda x, lib: lib.median(x), "median"),  # NotImplementedError for bool
        (lambda x, lib: lib.median(x, 0), "median"),
        (lambda x, lib: lib.kthvalue(x, 1), "kthvalue"),
        (lambda x, lib: lib.logcumsumexp(x, 0), "logcumsumexp"),
    ],
)
def test_bool_inputs_refused_like_torch(call: Callable, name: str) -> None:
    raises_like(call, np.array([True, False, True]), name=name)


def test_bool_sort_and_cummax_work_like_torch() -> None:
    for call in (lambda x, lib: lib.sort(x, stable=True), lambda x, lib: lib.cummax(x, 0)):
        ours, theirs, *_ = both(call, [True, False, True, False])
        same(ours, theirs)


def test_stable_is_keyword_only_as_in_torch() -> None:
    for lib, x in ((gg, gg.zeros(3)), (torch, torch.zeros(3))):
        with pytest.raises(TypeError):
            lib.argsort(x, 0, False, True)
        with pytest.raises(TypeError):
            lib.sort(x, 0, False, True)


@pytest.mark.parametrize("op", ["sort", "argsort", "topk", "kthvalue", "median"])
def test_sorting_axis_alias_and_methods(op: str) -> None:
    a = np.random.default_rng(5).standard_normal((3, 4))
    args = (2,) if op in ("topk", "kthvalue") else ()
    ours, theirs, *_ = both(lambda x, lib: getattr(lib, op)(x, *args, axis=0), a)
    same(ours, theirs)
    ours, theirs, *_ = both(lambda x, lib: getattr(x, op)(*args, 1), a)
    same(ours, theirs)


def test_sorting_results_types_and_no_gradient_on_indices() -> None:
    x = gg.tensor([[3.0, 1.0, 2.0]], requires_grad=True)
    for out in (x.sort(), x.topk(2), x.kthvalue(2), x.median(1)):
        assert type(out).__name__ == "ValuesIndices" and out._fields == ("values", "indices")
        assert out.values.requires_grad and not out.indices.requires_grad and out.indices.dtype == gg.int64
    assert x.argsort().dtype == gg.int64 and not x.argsort().requires_grad


# ------------------------------------------------------------------------------------ einsum


def _each(xs: Any) -> list:
    """``both`` hands one operand over as itself, several as a list."""
    return xs if isinstance(xs, list) else [xs]


def _operands(shapes: list[tuple[int, ...]], seed: int = 0, dtype: str = "float64") -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(-3, 4, s).astype(dtype) for s in shapes]


@pytest.mark.parametrize("dtype", ["int64", "int32", "float32", "float64"])
@pytest.mark.parametrize(
    ("equation", "shapes"),
    [
        ("ij,jk", [(2, 3), (3, 4)]),
        ("ii->i", [(3, 3)]),
        ("ii", [(3, 3)]),
        ("...ij,...jk->...ik", [(2, 1, 2, 3), (4, 3, 2)]),
        ("i,j,k->ijk", [(2,), (3,), (2,)]),
        ("ij->", [(2, 3)]),
    ],
)
def test_einsum_result_dtypes_and_values(equation: str, shapes: list, dtype: str) -> None:
    ours, theirs, *_ = both(lambda xs, lib: lib.einsum(equation, *_each(xs)), *_operands(shapes, dtype=dtype))
    same(ours, theirs)


INTEGER_CASES = [
    ("ii", [(3, 3)]),
    ("ij->", [(2, 3)]),
    ("ij->i", [(2, 1)]),
    ("ij->ji", [(2, 3)]),
    ("ii->i", [(3, 3)]),
    ("ij,jk", [(2, 3), (3, 4)]),
    ("ij,k->ik", [(2, 3), (4,)]),
    ("i,i->", [(3,), (3,)]),
    ("i,i->i", [(3,), (3,)]),
    ("ij,ij->", [(2, 3), (2, 3)]),
    ("ij,jk->", [(2, 3), (3, 4)]),
    ("ij,jk->ik", [(2, 1), (3, 4)]),
    ("ij,jk->ik", [(2, 3), (1, 4)]),
    ("ij,jk->ik", [(2, 1), (1, 4)]),
    ("ij,jk->ik", [(2, 0), (0, 4)]),
    ("i,i->", [(1,), (3,)]),
    ("j,ij->i", [(1,), (2, 3)]),
    ("ab,bc,cd->ad", [(2, 3), (3, 4), (4, 5)]),
    ("ij,ij,ij->", [(2, 3), (2, 3), (2, 3)]),
    ("i,j,k->ijk", [(2,), (3,), (4,)]),
    ("ii,jj->", [(3, 3), (2, 2)]),
    ("...,...", [(2, 3), (3,)]),
    ("iij,jk->ik", [(3, 3, 4), (4, 2)]),
]


@pytest.mark.parametrize("dtype", ["int32", "uint8", "bool"])
@pytest.mark.parametrize(("equation", "shapes"), INTEGER_CASES)
def test_einsum_integer_and_bool_results_follow_torch(equation: str, shapes: list, dtype: str) -> None:
    """PyTorch gives int64 where its contraction sums one operand alone, the input dtype where it
    multiplies, and NotImplementedError where it would multiply-and-sum bools."""
    arrays = [np.random.default_rng(0).integers(0, 2, s).astype(dtype) for s in shapes]
    try:
        theirs = torch.einsum(equation, *[torch.tensor(a) for a in arrays])
    except NotImplementedError:
        raises_like(lambda *xs: xs[-1].einsum(equation, *xs[:-1]), *arrays, name="einsum")
        return
    same(gg.einsum(equation, *[gg.tensor(a) for a in arrays]), theirs)


@pytest.mark.parametrize(
    ("equation", "shapes"),
    [
        ("ba,Ab", [(3, 2), (5, 3)]),  # implicit output in ASCII order: "Aa"
        ("bA,ab", [(3, 2), (5, 3)]),
        ("...,...", [(2, 3), (3,)]),
        ("i...->...", [(2, 3)]),
        ("ij->...", [(2, 3)]),
        ("i...i", [(3, 2, 3)]),
        ("", [()]),
        ("->", [()]),
        ("...", [(2, 3)]),
        ("ij,jk->ik", [(2, 1), (3, 4)]),
        ("ij,ij->ij", [(2, 1), (2, 4)]),
    ],
)
def test_einsum_shapes_match_torch(equation: str, shapes: list) -> None:
    arrays = _operands(shapes, seed=4)
    ours, theirs, *_ = both(lambda xs, lib: lib.einsum(equation, *_each(xs)), *arrays)
    same(ours, theirs, exact=False)


def test_einsum_gradient_only_for_operands_that_need_it() -> None:
    a, b = _operands([(3, 4), (4, 2)], seed=2)
    x, w = gg.tensor(a, requires_grad=True), gg.tensor(b)
    t, tw = torch.tensor(a, requires_grad=True), torch.tensor(b)
    gg.einsum("ij,jk->ik", x, w).sum().backward()
    torch.einsum("ij,jk->ik", t, tw).sum().backward()
    same(x.grad, t.grad)
    assert w.grad is None


def test_einsum_gradient_of_a_broadcast_diagonal() -> None:
    """'ii,i->i' with a (1, 1) first operand: its diagonal broadcasts against i = 3."""
    arrays = [np.array([[2.0]]), np.array([1.0, -2.0, 3.0])]
    xs = [gg.tensor(a, requires_grad=True) for a in arrays]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    (gg.einsum("ii,i->i", *xs) * gg.tensor([1.0, 2.0, 3.0], dtype=gg.float64)).sum().backward()
    (torch.einsum("ii,i->i", *ts) * torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)).sum().backward()
    for x, t in zip(xs, ts, strict=True):
        same(x.grad, t.grad)


@pytest.mark.parametrize(
    ("equation", "shapes"),
    [
        ("ij,jk->ik", [(2, 3)]),  # fewer operands than terms
        ("ij", [(2, 3), (3, 4)]),  # more operands than terms
        ("ij->ik", [(2, 3)]),  # output label not in any input
        ("ij->ii", [(2, 3)]),  # output label twice
        ("ijk->ij", [(2, 3)]),  # too many labels
        ("i->i", [(2, 3)]),  # too few labels, no ellipsis
        ("ij,jk->ik", [(2, 3), (2, 4)]),  # sizes do not broadcast
        ("i,i", [(2,), (3,)]),
        ("ii->i", [(2, 3)]),  # a repeated label must have equal sizes
        ("ii->i", [(1, 3)]),
        ("i1->i", [(2, 3)]),  # invalid characters
        ("ij-->i", [(2, 3)]),
        ("ij->i->", [(2, 3)]),
        ("ij->i,j", [(2, 3)]),
        ("..ij->i", [(2, 3)]),  # a lone '.'
        ("...i...->i", [(2, 3)]),  # two ellipses
        ("ij->.", [(2, 3)]),
        ("...ij,...jk->...ik", [(5, 2, 2, 3), (4, 3, 4)]),  # ellipsis axes that do not broadcast
    ],
)
def test_einsum_bad_equations_raise_like_torch(equation: str, shapes: list) -> None:
    raises_like(lambda *xs: xs[-1].einsum(equation, *xs[:-1]), *[np.zeros(s) for s in shapes], name="einsum")


@pytest.mark.parametrize(
    "call",
    [
        lambda a, b, lib: lib.einsum("ij,jk->ik", a, b.to(lib.float64)),  # RuntimeError: mixed dtypes
        lambda a, b, lib: lib.einsum("ij,jk->ik", a, b.to(lib.int64)),
        lambda a, b, lib: lib.einsum("i,i", a[0] > 0, b[:, 0] > 0),  # NotImplementedError: bool product
        lambda a, b, lib: lib.einsum("ij->ij", 3.0),  # TypeError: not a tensor
        lambda a, b, lib: lib.einsum("ij,jk->ik", a, [[1.0]]),
        lambda a, b, lib: lib.einsum(3, a),
        lambda a, b, lib: lib.einsum("ij->ij"),  # ValueError: no operand
        lambda a, b, lib: lib.einsum(a, [0, 52]),  # ValueError: sublist label out of range
    ],
)
def test_einsum_bad_operands_raise_like_torch(call: Callable) -> None:
    a, b = _operands([(2, 3), (3, 2)], dtype="float32")
    raises_like(lambda x, y, lib: call(x, y, lib), a, b, name="einsum")


def test_einsum_sublist_form_with_ellipsis() -> None:
    (a,) = _operands([(2, 3, 4)], seed=5)
    ours, theirs, *_ = both(lambda x, lib: lib.einsum(x, [0, Ellipsis], [Ellipsis]), a)
    same(ours, theirs)
    ours, theirs, *_ = both(lambda x, lib: lib.einsum(x, [Ellipsis, 1, 51]), a)
    same(ours, theirs)
