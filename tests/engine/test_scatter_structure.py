"""Scatter/index and matrix-structure ops beyond the op table: integer and bool inputs, index
dtypes, repeated indices, empty inputs, in-place variants and bad inputs. Every case is one
function of the library module (``m`` is glassgrad or torch), run in both, so each test
documents that the two agree: same values, dtype and shape, or the same exception type."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch

import glassgrad as gg


def _numpy(x: Any) -> Any:
    if isinstance(x, tuple | list):
        return [_numpy(v) for v in x]
    if isinstance(x, torch.Tensor):
        return x.detach().numpy()
    return x.detach().numpy()


def assert_same(case: Callable[[Any], Any]) -> None:
    """``case(gg)`` and ``case(torch)`` give the same values, dtypes and shapes."""
    ours, theirs = _numpy(case(gg)), _numpy(case(torch))
    if isinstance(theirs, list):
        assert isinstance(ours, list) and len(ours) == len(theirs)
    else:
        ours, theirs = [ours], [theirs]
    for o, t in zip(ours, theirs, strict=True):
        assert o.dtype == t.dtype, (o.dtype, t.dtype)
        assert o.shape == t.shape, (o.shape, t.shape)
        np.testing.assert_array_equal(o, t)


def assert_same_error(case: Callable[[Any], Any], op: str) -> None:
    """``case(torch)`` raises; ``case(gg)`` raises the same exception type with a message naming ``op``."""
    with pytest.raises(Exception) as theirs:  # the type is what torch says
        case(torch)
    with pytest.raises(Exception) as ours:
        case(gg)
    assert type(ours.value) is type(theirs.value), (type(ours.value), type(theirs.value), str(theirs.value))
    assert op in str(ours.value), str(ours.value)


def _grads(case: Callable[..., Any], arrays: list[np.ndarray], weights: np.ndarray | None = None) -> list[Any]:
    """Output and input gradients of ``sum(case(m, *inputs) * weights)`` in glassgrad and torch."""
    out = []
    for m in (gg, torch):
        xs = [m.tensor(a, requires_grad=True) for a in arrays]
        z = case(m, *xs)
        w = m.tensor(weights) if weights is not None else m.ones_like(z)
        (z * w).sum().backward()
        out.append([_numpy(z)] + [_numpy(x.grad) for x in xs])
    return out


def assert_same_grads(case: Callable[..., Any], arrays: list[np.ndarray], weights: np.ndarray | None = None) -> None:
    ours, theirs = _grads(case, arrays, weights)
    tol = 1e-12 if arrays[0].dtype == np.float64 else 1e-6
    for o, t in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(o, t, rtol=tol, atol=tol)


# ------------------------------------------------------------------ scatter family: values
VALUE_CASES: dict[str, Callable[[Any], Any]] = {
    # integer and bool inputs keep their dtype
    "scatter_int": lambda m: m.zeros(3, 4, dtype=m.int64).scatter(0, m.tensor([[0, 1, 2, 0]]), m.arange(4).view(1, 4)),
    "scatter_int32_index": lambda m: m.zeros(3, 4).scatter(1, m.tensor([[3], [0]], dtype=m.int32), m.ones(2, 1)),
    "scatter_value_int_truncates": lambda m: m.zeros(3, 4, dtype=m.int64).scatter(0, m.tensor([[0, 1, 2, 0]]), 2.5),
    "scatter_value_bool": lambda m: m.zeros(2, 2, dtype=m.bool).scatter(1, m.tensor([[1], [0]]), True),
    "scatter_src_larger_than_index": lambda m: m.zeros(3, 4).scatter(0, m.tensor([[2, 0]]), m.arange(10.0).view(2, 5)),
    "scatter_0d": lambda m: m.tensor(1.0).scatter(0, m.tensor(0), m.tensor(5.0)),
    "scatter_0d_index_vector": lambda m: m.zeros(3).scatter(0, m.tensor(1), m.tensor(5.0)),
    "scatter_empty_index": lambda m: m.ones(3, 4).scatter(0, m.zeros(0, 4, dtype=m.int64), m.ones(2, 4)),
    "scatter_empty_input": lambda m: m.ones(0, 4).scatter(1, m.zeros(0, 2, dtype=m.int64), m.ones(0, 2)),
    "scatter_axis": lambda m: m.zeros(3, 4).scatter(axis=0, index=m.tensor([[0, 1]]), src=m.ones(1, 2)),
    "scatter_reduce_add_legacy": lambda m: m.ones(3).scatter(
        0, m.tensor([0, 0, 2]), m.tensor([2.0, 3.0, 4.0]), reduce="add"
    ),
    "scatter_reduce_multiply_legacy": lambda m: m.ones(3).scatter(
        0, m.tensor([0, 0, 2]), m.tensor([2.0, 3.0, 4.0]), reduce="multiply"
    ),
    "scatter_value_reduce_add": lambda m: m.ones(3).scatter(0, m.tensor([0, 0, 2]), 2.0, reduce="add"),
    "scatter_value_reduce_multiply_int": lambda m: m.full((3,), 3).scatter(0, m.tensor([0, 0]), 2, reduce="multiply"),
    "scatter_add_repeats_accumulate": lambda m: m.zeros(2, 3).scatter_add(
        1, m.tensor([[0, 0, 0, 2], [1, 1, 1, 1]]), m.ones(2, 4)
    ),
    "scatter_add_int": lambda m: m.zeros(4, dtype=m.int32).scatter_add(
        0, m.tensor([3, 3, 1]), m.tensor([1, 2, 3], dtype=m.int32)
    ),
    "scatter_add_bool": lambda m: m.tensor([True, False]).scatter_add(0, m.tensor([1]), m.tensor([True])),
    "scatter_add_negative_dim": lambda m: m.zeros(2, 3).scatter_add(-1, m.tensor([[0, 0]]), m.ones(1, 2)),
    "scatter_add_empty": lambda m: m.ones(3).scatter_add(0, m.zeros(0, dtype=m.int64), m.ones(0)),
}
for _r in ("sum", "prod", "mean", "amax", "amin"):
    for _inc in (True, False):
        VALUE_CASES[f"scatter_reduce_int_{_r}_{_inc}"] = lambda m, r=_r, inc=_inc: m.tensor(
            [[1, -2, 3], [4, 5, -6]]
        ).scatter_reduce(
            1, m.tensor([[0, 0, 2, 0], [1, 1, 1, 0]]), m.tensor([[-7, 3, 2, 5], [1, -1, 4, 4]]), r, include_self=inc
        )
        VALUE_CASES[f"scatter_reduce_float_{_r}_{_inc}"] = lambda m, r=_r, inc=_inc: m.tensor(
            [1.0, 2.0, 0.0, -4.0]
        ).scatter_reduce(
            0, m.tensor([0, 0, 1, 1, 2, 2]), m.tensor([5.0, 0.0, 2.0, 2.0, -4.0, 1.0]), r, include_self=inc
        )
VALUE_CASES.update(
    {
        "scatter_reduce_mean_int32_rounds_down": lambda m: m.zeros(2, dtype=m.int32).scatter_reduce(
            0, m.tensor([0, 0, 1]), m.tensor([-3, -5, -7], dtype=m.int32), "mean"
        ),
        "scatter_reduce_bool_sum": lambda m: m.tensor([True, False]).scatter_reduce(
            0, m.tensor([0, 0]), m.tensor([True, True]), "sum"
        ),
        "scatter_reduce_0d": lambda m: m.tensor(2.0).scatter_reduce(0, m.tensor(0), m.tensor(5.0), "sum"),
        "scatter_reduce_empty_index": lambda m: m.ones(2, 3).scatter_reduce(
            0, m.zeros(0, 3, dtype=m.int64), m.ones(1, 3), "mean"
        ),
        "scatter_reduce_max_alias": lambda m: m.zeros(3).scatter_reduce(
            0, m.tensor([1, 1]), m.tensor([-1.0, -2.0]), "max"
        ),
        "scatter_reduce_min_alias": lambda m: m.zeros(3).scatter_reduce(
            0, m.tensor([1, 1]), m.tensor([-1.0, -2.0]), "min"
        ),
        "scatter_reduce_axis": lambda m: m.zeros(3).scatter_reduce(
            axis=0, index=m.tensor([1, 1]), src=m.ones(2), reduce="amax"
        ),
    }
)

# ---------------------------------------------------------------- index and mask family: values
VALUE_CASES.update(
    {
        "index_select_int32_index": lambda m: (
            m.arange(12).view(3, 4).index_select(1, m.tensor([3, 0, 0], dtype=m.int32))
        ),
        "index_select_0d_index": lambda m: m.arange(12.0).view(3, 4).index_select(1, m.tensor(2)),
        "index_select_0d_input": lambda m: m.tensor(3.0).index_select(0, m.tensor([0])),
        "index_select_empty_index": lambda m: m.ones(3, 4).index_select(0, m.tensor([], dtype=m.int64)),
        "index_select_bool": lambda m: m.tensor([True, False]).index_select(0, m.tensor([1, 0, 0])),
        "index_select_axis": lambda m: m.index_select(m.ones(2, 3), axis=1, index=m.tensor([2])),
        "index_add_repeats_accumulate": lambda m: m.zeros(2, 3).index_add(
            1, m.tensor([0, 0, 2]), m.ones(2, 3), alpha=2
        ),
        "index_add_int": lambda m: m.zeros(3, dtype=m.int64).index_add(
            0, m.tensor([2, 2], dtype=m.int32), m.tensor([4, 5])
        ),
        "index_add_int_truncates_alpha": lambda m: m.zeros(2, dtype=m.int64).index_add(
            0, m.tensor([0, 1]), m.tensor([3, 5]), alpha=1.5
        ),
        "index_add_bool": lambda m: m.tensor([True, False]).index_add(0, m.tensor([1]), m.tensor([True])),
        "index_add_0d": lambda m: m.tensor(1.0).index_add(0, m.tensor([0]), m.tensor(2.0)),
        "index_add_empty": lambda m: m.ones(2, 3).index_add(0, m.tensor([], dtype=m.int64), m.ones(0, 3)),
        "index_copy": lambda m: m.zeros(3, 2, dtype=m.int64).index_copy(
            0, m.tensor([2, 0]), m.tensor([[1, 2], [3, 4]])
        ),
        "index_copy_0d": lambda m: m.tensor(1.0).index_copy(0, m.tensor([0]), m.tensor(2.0)),
        "index_copy_0d_index": lambda m: m.zeros(3).index_copy(0, m.tensor(1), m.tensor([2.0])),
        "index_fill_negative_index": lambda m: m.zeros(2, 3).index_fill(1, m.tensor([-1, 0]), 7.0),
        "index_fill_0d_index": lambda m: m.zeros(3).index_fill(0, m.tensor(1), 1.0),
        "index_fill_int_truncates": lambda m: m.zeros(2, dtype=m.int64).index_fill(0, m.tensor([0]), 1.5),
        "index_fill_tensor_value": lambda m: m.zeros(2, 2).index_fill(0, m.tensor([1]), m.tensor(-3.0)),
        "index_fill_bool": lambda m: m.zeros(3, dtype=m.bool).index_fill(0, m.tensor([0, 2]), True),
        "masked_select": lambda m: m.arange(6).view(2, 3).masked_select(m.tensor([True, False, True])),
        "masked_select_broadcast_input": lambda m: m.tensor([1.0, 2.0]).masked_select(
            m.tensor([[True, False], [True, True]])
        ),
        "masked_select_0d": lambda m: m.tensor(3.0).masked_select(m.tensor(True)),
        "masked_select_none": lambda m: m.ones(2, 3).masked_select(m.zeros(2, 3, dtype=m.bool)),
        "masked_select_empty": lambda m: m.ones(0, 3).masked_select(m.ones(3, dtype=m.bool)),
        "masked_scatter": lambda m: m.zeros(2, 3, dtype=m.int32).masked_scatter(
            m.tensor([[True, False, True], [False, True, True]]), m.arange(1, 7, dtype=m.int32)
        ),
        "masked_scatter_broadcast_input": lambda m: m.zeros(4).masked_scatter(
            m.tensor([[True, False, True, False]] * 2), m.arange(10.0)
        ),
        "masked_scatter_0d": lambda m: m.tensor(3.0).masked_scatter(m.tensor(True), m.tensor([4.0, 5.0])),
        "nonzero": lambda m: m.tensor([[0, 1, 0], [2, 0, 3]]).nonzero(),
        "nonzero_as_tuple": lambda m: m.tensor([[0, 1, 0], [2, 0, 3]]).nonzero(as_tuple=True),
        "nonzero_float_nan_and_negative_zero": lambda m: m.nonzero(m.tensor([float("nan"), 0.0, -0.0, 1.0])),
        "nonzero_bool": lambda m: m.tensor([True, False, True]).nonzero(),
        "nonzero_0d": lambda m: m.tensor(3).nonzero(),
        "nonzero_0d_zero": lambda m: m.tensor(0.0).nonzero(),
        "nonzero_0d_as_tuple": lambda m: m.tensor(3).nonzero(as_tuple=True),
        "nonzero_0d_zero_as_tuple": lambda m: m.tensor(0).nonzero(as_tuple=True),
        "nonzero_empty": lambda m: m.zeros(0, 3).nonzero(),
        "nonzero_empty_as_tuple": lambda m: m.nonzero(m.zeros(0, 3), as_tuple=True),
    }
)


@pytest.mark.parametrize("name", sorted(VALUE_CASES))
def test_values_match_torch(name: str) -> None:
    assert_same(VALUE_CASES[name])


# ------------------------------------------------------------------------------ bad inputs
ERROR_CASES: dict[str, tuple[str, Callable[[Any], Any]]] = {
    # out-of-range index values: PyTorch's exception type differs from op to op
    "scatter_index_too_large": ("scatter", lambda m: m.zeros(3, 4).scatter(0, m.tensor([[5, 0, 0, 0]]), m.ones(1, 4))),
    "scatter_negative_index": ("scatter", lambda m: m.zeros(3, 4).scatter(0, m.tensor([[-1, 0, 0, 0]]), m.ones(1, 4))),
    "scatter_add_index_too_large": ("scatter_add", lambda m: m.zeros(3).scatter_add(0, m.tensor([3]), m.ones(1))),
    "scatter_reduce_index_too_large": (
        "scatter_reduce",
        lambda m: m.zeros(3).scatter_reduce(0, m.tensor([3]), m.ones(1), "sum"),
    ),
    "index_select_index_too_large": ("index_select", lambda m: m.zeros(3, 4).index_select(1, m.tensor([4]))),
    "index_select_negative_index": ("index_select", lambda m: m.zeros(3, 4).index_select(1, m.tensor([-1]))),
    "index_select_0d_index_too_large": ("index_select", lambda m: m.tensor(3.0).index_select(0, m.tensor([1]))),
    "index_add_index_too_large": ("index_add", lambda m: m.zeros(3, 4).index_add(1, m.tensor([0, 4]), m.ones(3, 2))),
    "index_add_negative_index": ("index_add", lambda m: m.zeros(3).index_add(0, m.tensor([-1]), m.ones(1))),
    "index_copy_index_too_large": ("index_copy", lambda m: m.zeros(3, 4).index_copy(1, m.tensor([0, 7]), m.ones(3, 2))),
    "index_copy_negative_index": ("index_copy", lambda m: m.zeros(3).index_copy(0, m.tensor([-1]), m.ones(1))),
    "index_fill_index_too_large": ("index_fill", lambda m: m.zeros(3, 4).index_fill(1, m.tensor([0, 9]), 1.0)),
    # index dtypes
    "scatter_float_index": ("scatter", lambda m: m.zeros(3).scatter(0, m.tensor([1.0]), m.ones(1))),
    "scatter_add_float_index": ("scatter_add", lambda m: m.zeros(3).scatter_add(0, m.tensor([1.0]), m.ones(1))),
    "scatter_reduce_bool_index": (
        "scatter_reduce",
        lambda m: m.zeros(3).scatter_reduce(0, m.tensor([True]), m.ones(1), "sum"),
    ),
    "index_select_float_index": ("index_select", lambda m: m.zeros(3).index_select(0, m.tensor([1.0]))),
    "index_add_float_index": ("index_add", lambda m: m.zeros(3).index_add(0, m.tensor([1.0]), m.ones(1))),
    "index_copy_int32_index": (
        "index_copy",
        lambda m: m.zeros(3).index_copy(0, m.tensor([1], dtype=m.int32), m.ones(1)),
    ),
    "index_fill_int32_index": ("index_fill", lambda m: m.zeros(3).index_fill(0, m.tensor([1], dtype=m.int32), 1.0)),
    "masked_select_int_mask": ("masked_select", lambda m: m.zeros(4).masked_select(m.tensor([1, 0, 1, 0]))),
    "masked_select_uint8_mask": (
        "masked_select",
        lambda m: m.zeros(4).masked_select(m.tensor([1, 0, 1, 0], dtype=m.uint8)),
    ),
    "masked_scatter_int_mask": (
        "masked_scatter",
        lambda m: m.zeros(4).masked_scatter(m.tensor([1, 0, 1, 0]), m.ones(4)),
    ),
    # shapes
    "scatter_index_ndim": ("scatter", lambda m: m.zeros(3, 4).scatter(0, m.tensor([0, 1]), m.ones(3, 4))),
    "scatter_src_ndim": ("scatter_reduce", lambda m: m.zeros(3).scatter_reduce(0, m.tensor([1]), m.ones(1, 1), "sum")),
    "scatter_index_larger_than_input": (
        "scatter",
        lambda m: m.zeros(3, 4).scatter(0, m.zeros(2, 5, dtype=m.int64), m.ones(3, 6)),
    ),
    "scatter_index_larger_than_src": (
        "scatter",
        lambda m: m.zeros(3, 4).scatter(0, m.zeros(3, 4, dtype=m.int64), m.ones(2, 4)),
    ),
    "scatter_add_index_larger_than_src": (
        "scatter_add",
        lambda m: m.zeros(3, 4).scatter_add(0, m.zeros(1, 4, dtype=m.int64), m.ones(1, 1)),
    ),
    "scatter_0d_src_tensor": ("scatter", lambda m: m.zeros(3, 4).scatter(0, m.tensor([[0, 1]]), m.tensor(3.0))),
    "scatter_dim_out_of_range": ("scatter", lambda m: m.zeros(3, 4).scatter(2, m.tensor([[0]]), m.ones(1, 1))),
    "index_select_2d_index": ("index_select", lambda m: m.zeros(3, 4).index_select(1, m.tensor([[0, 1]]))),
    "index_select_0d_input_two_indices": ("index_select", lambda m: m.tensor(3.0).index_select(0, m.tensor([0, 0]))),
    "index_select_dim_out_of_range": ("index_select", lambda m: m.zeros(3, 4).index_select(2, m.tensor([0]))),
    "index_add_count_mismatch": ("index_add", lambda m: m.zeros(3, 4).index_add(1, m.tensor([0, 1]), m.ones(3, 3))),
    "index_add_shape_mismatch": ("index_add", lambda m: m.zeros(3, 4).index_add(1, m.tensor([0, 1]), m.ones(2, 2))),
    "index_add_0d_source": ("index_add", lambda m: m.zeros(3).index_add(0, m.tensor([1]), m.tensor(2.0))),
    "index_add_2d_index": ("index_add", lambda m: m.zeros(3).index_add(0, m.tensor([[0, 1]]), m.ones(2))),
    "index_copy_count_mismatch": ("index_copy", lambda m: m.zeros(3, 4).index_copy(1, m.tensor([0, 2]), m.ones(3, 3))),
    "index_copy_2d_index": ("index_copy", lambda m: m.zeros(3).index_copy(0, m.tensor([[0, 1]]), m.ones(1, 2))),
    "index_fill_2d_index": ("index_fill", lambda m: m.zeros(3).index_fill(0, m.tensor([[0, 1]]), 1.0)),
    "index_fill_1d_value": ("index_fill", lambda m: m.zeros(3).index_fill(0, m.tensor([0]), m.tensor([7.0]))),
    "masked_select_not_broadcastable": (
        "masked_select",
        lambda m: m.zeros(3, 4).masked_select(m.tensor([True, False])),
    ),
    "masked_scatter_source_too_small": (
        "masked_scatter",
        lambda m: m.zeros(4).masked_scatter(m.tensor([True, False, True, True]), m.ones(2)),
    ),
    # dtypes of the values
    "scatter_src_dtype": ("scatter", lambda m: m.zeros(3).scatter(0, m.tensor([0]), m.ones(1, dtype=m.float64))),
    "scatter_int_input_float_src": (
        "scatter",
        lambda m: m.zeros(3, dtype=m.int64).scatter(0, m.tensor([0]), m.ones(1)),
    ),
    "scatter_add_src_dtype": (
        "scatter_add",
        lambda m: m.zeros(3).scatter_add(0, m.tensor([0]), m.ones(1, dtype=m.float64)),
    ),
    "scatter_reduce_src_dtype": (
        "scatter_reduce",
        lambda m: m.zeros(3).scatter_reduce(0, m.tensor([0]), m.ones(1, dtype=m.float64), "sum"),
    ),
    "index_add_source_dtype": (
        "index_add",
        lambda m: m.zeros(3).index_add(0, m.tensor([0]), m.ones(1, dtype=m.float64)),
    ),
    "index_copy_source_dtype": (
        "index_copy",
        lambda m: m.zeros(3).index_copy(0, m.tensor([0]), m.ones(1, dtype=m.float64)),
    ),
    "masked_scatter_source_dtype": (
        "masked_scatter",
        lambda m: m.zeros(2).masked_scatter(m.tensor([True, False]), m.ones(2, dtype=m.float64)),
    ),
    # arguments
    "scatter_bad_reduce": ("scatter", lambda m: m.zeros(3).scatter(0, m.tensor([0]), m.ones(1), reduce="sum")),
    "scatter_reduce_bad_reduce": (
        "scatter_reduce",
        lambda m: m.zeros(3).scatter_reduce(0, m.tensor([0]), m.ones(1), "median"),
    ),
    "scatter_add_number_src": ("scatter_add", lambda m: m.zeros(3).scatter_add(0, m.tensor([0]), 2.0)),
    "scatter_add_inplace_leaf": (
        "scatter_add_",
        lambda m: m.zeros(3, requires_grad=True).scatter_add_(0, m.tensor([0]), m.ones(1)),
    ),
    "masked_scatter_inplace_broadcast": (
        "masked_scatter_",
        lambda m: m.zeros(4).masked_scatter_(m.ones(2, 4, dtype=m.bool), m.ones(8)),
    ),
}


@pytest.mark.parametrize("name", sorted(ERROR_CASES))
def test_bad_inputs_raise_like_torch(name: str) -> None:
    op, case = ERROR_CASES[name]
    assert_same_error(case, op)


# -------------------------------------------------------------------------------- gradients
def test_scatter_reduce_ties_share_the_gradient_evenly_like_torch() -> None:
    # slot 0: self 2 ties both src 2s (3 ways); slot 1: self 4 ties src 4 (2 ways); slot 2: self and two src zeros
    for reduce in ("amax", "amin"):
        assert_same_grads(
            lambda m, x, s, r=reduce: x.scatter_reduce(0, m.tensor([0, 0, 1, 2, 2]), s, r),
            [np.array([2.0, 4.0, 0.0]), np.array([2.0, 2.0, 4.0, 0.0, 0.0])],
            weights=np.array([1.0, 2.0, 3.0]),
        )


def test_scatter_reduce_ties_without_self_split_among_the_src_entries() -> None:
    # include_self=False: self takes no part where src lands, so two tied src entries get half each.
    # (PyTorch still counts self among the ties there and hands out only 2/3 of the gradient:
    # its src gradient then disagrees with finite differences; ours does not.)
    x = gg.tensor([2.0, 5.0], requires_grad=True)
    s = gg.tensor([2.0, 2.0], requires_grad=True)
    x.scatter_reduce(0, gg.tensor([0, 0]), s, "amax", include_self=False).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 1.0])
    np.testing.assert_array_equal(s.grad.numpy(), [0.5, 0.5])
    xt, st = torch.tensor([2.0, 5.0], requires_grad=True), torch.tensor([2.0, 2.0], requires_grad=True)
    xt.scatter_reduce(0, torch.tensor([0, 0]), st, "amax", include_self=False).sum().backward()
    assert st.grad.sum().item() != 1.0  # PyTorch: [1/3, 1/3]
    # away from ties both agree, and ours agrees with finite differences
    assert_same_grads(
        lambda m, x, s: x.scatter_reduce(0, m.tensor([0, 0, 1]), s, "amin", include_self=False),
        [np.array([2.0, 5.0]), np.array([3.0, 1.0, 7.0])],
    )


def test_scatter_reduce_prod_with_zeros_matches_torch() -> None:
    # slot 0: one zero among src; slot 1: self is the only zero; slot 2: two zeros; slot 3: untouched
    arrays = [np.array([3.0, 0.0, 2.0, 5.0]), np.array([0.0, 4.0, 2.0, -1.5, 0.0, 0.0])]
    for include_self in (True, False):
        assert_same_grads(
            lambda m, x, s, inc=include_self: x.scatter_reduce(
                0, m.tensor([0, 0, 1, 1, 2, 2]), s, "prod", include_self=inc
            ),
            arrays,
            weights=np.array([1.0, -2.0, 3.0, 0.5]),
        )


def test_scatter_reduce_mean_counts_self_like_torch() -> None:
    arrays = [np.array([3.0, 1.0, 2.0]), np.array([1.0, 4.0, 2.0])]
    for include_self in (True, False):
        assert_same_grads(
            lambda m, x, s, inc=include_self: x.scatter_reduce(0, m.tensor([0, 0, 1]), s, "mean", include_self=inc),
            arrays,
            weights=np.array([1.0, -2.0, 3.0]),
        )


@pytest.mark.parametrize("reduce", ["sum", "prod", "mean", "amax", "amin"])
@pytest.mark.parametrize("include_self", [True, False])
def test_scatter_reduce_gradcheck_with_zeros_and_repeats(reduce: str, include_self: bool) -> None:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((3, 4))
    x[0, 1] = 0.0
    s = rng.standard_normal((4, 4))
    s[1, 2] = s[3, 3] = 0.0
    index = gg.tensor(rng.integers(0, 3, (4, 4)))
    inputs = [gg.tensor(a, requires_grad=True) for a in (x, s)]
    assert gg.gradcheck(lambda a, b: a.scatter_reduce(0, index, b, reduce, include_self=include_self), inputs)


def test_gradients_torch_has_not_got() -> None:
    """Where PyTorch's backward refuses or fails, ours agrees with finite differences."""
    rng = np.random.default_rng(1)
    a = gg.tensor(rng.standard_normal((3, 4)), requires_grad=True)
    s = gg.tensor(rng.standard_normal((2, 5)), requires_grad=True)
    idx = gg.tensor([[0, 1], [2, 0]])
    # src larger than index (PyTorch: "returned an invalid gradient")
    assert gg.gradcheck(lambda x, y: x.scatter(0, idx, y), [a, s])
    assert gg.gradcheck(lambda x, y: x.scatter_add(0, idx, y), [a, s])
    # the older reduce= API (PyTorch: "derivative for aten::scatter is not implemented")
    assert gg.gradcheck(lambda x, y: x.scatter(0, idx, y, reduce="multiply"), [a, s])
    # a negative index in index_fill (PyTorch's backward: "INDICES element is out of DATA bounds")
    v = gg.tensor(0.5, dtype=gg.float64, requires_grad=True)
    assert gg.gradcheck(lambda x, w: x.index_fill(1, gg.tensor([-1, 0]), w), [a, v])
    with pytest.raises(RuntimeError):
        ta, tv = torch.zeros(3, 4, requires_grad=True), torch.tensor(0.5, requires_grad=True)
        ta.index_fill(1, torch.tensor([-1, 0]), tv).sum().backward()


def test_repeated_indices_accumulate_gradient_and_values() -> None:
    assert_same_grads(
        lambda m, x, s: x.index_add(0, m.tensor([1, 1, 1]), s, alpha=-0.5),
        [np.ones((2, 3)), np.arange(9.0).reshape(3, 3)],
    )
    assert_same_grads(
        lambda m, x: x.index_select(0, m.tensor([1, 1, 0, 1])),
        [np.arange(6.0).reshape(2, 3)],
        np.arange(12.0).reshape(4, 3),
    )
    assert_same_grads(
        lambda m, x: x.index_fill(0, m.tensor([1, 1]), 2.0), [np.ones((2, 3))], np.arange(6.0).reshape(2, 3)
    )
    # scatter with a repeated target: every src entry gets its gathered gradient (as PyTorch)
    assert_same_grads(
        lambda m, x, s: x.scatter(0, m.tensor([1, 1]), s),
        [np.zeros(3), np.array([1.0, 2.0])],
        np.array([1.0, 2.0, 3.0]),
    )


def test_masked_scatter_gradient_goes_to_the_used_source_entries() -> None:
    mask = [[True, False, True], [False, True, True]]
    assert_same_grads(
        lambda m, x, s: x.masked_scatter(m.tensor(mask), s),
        [np.ones((2, 3)), np.arange(8.0).reshape(2, 4)],
        np.arange(6.0).reshape(2, 3),
    )


# ------------------------------------------------------------------------------ in-place
INPLACE = {
    "scatter_": lambda m, x: x.scatter_(1, m.tensor([[2, 0]]), m.tensor([[5.0, 6.0]])),
    "scatter_value": lambda m, x: x.scatter_(1, m.tensor([[2, 0]]), value=-1.0),
    "scatter_reduce_legacy": lambda m, x: x.scatter_(1, m.tensor([[2, 2]]), m.tensor([[5.0, 6.0]]), reduce="add"),
    "scatter_add_": lambda m, x: x.scatter_add_(1, m.tensor([[2, 2]]), m.tensor([[5.0, 6.0]])),
    "scatter_reduce_": lambda m, x: x.scatter_reduce_(
        1, m.tensor([[2, 2]]), m.tensor([[5.0, 6.0]]), "prod", include_self=False
    ),
    "index_add_": lambda m, x: x.index_add_(1, m.tensor([2, 2]), m.ones(2, 2), alpha=3),
    "index_copy_": lambda m, x: x.index_copy_(0, m.tensor([1]), m.tensor([[7.0, 8.0, 9.0]])),
    "index_fill_": lambda m, x: x.index_fill_(1, m.tensor([0]), 4.0),
    "masked_scatter_": lambda m, x: x.masked_scatter_(
        m.tensor([[True, False, True], [False, False, True]]), m.arange(6.0)
    ),
}


@pytest.mark.parametrize("name", sorted(INPLACE))
def test_inplace_variants_match_torch_and_flow_gradient(name: str) -> None:
    fn = INPLACE[name]
    for_value = []
    for m in (gg, torch):
        x = m.arange(6.0).view(2, 3)
        out = fn(m, x)
        assert out is x
        for_value.append(_numpy(x))
    np.testing.assert_array_equal(*for_value)
    if name == "scatter_reduce_legacy":
        return  # PyTorch has no derivative for scatter(reduce=); the out-of-place test covers ours
    # through a graph: the updated non-leaf carries the gradient back to the leaf
    leaf = np.arange(6.0, dtype=np.float32).reshape(2, 3) + 1.0  # float32, the dtype of the values written in
    assert_same_grads(lambda m, x: fn(m, x * 2.0), [leaf], np.arange(6.0, dtype=np.float32).reshape(2, 3))


def test_failed_inplace_leaves_the_tensor_unchanged() -> None:
    x = gg.arange(6.0).view(2, 3)
    for call in (
        lambda: x.scatter_(1, gg.tensor([[3, 0]]), gg.ones(1, 2)),
        lambda: x.index_add_(1, gg.tensor([0, 1]), gg.ones(2, 3)),
        lambda: x.masked_scatter_(gg.tensor([True, True, True]), gg.ones(2)),
    ):
        with pytest.raises(RuntimeError):
            call()
        np.testing.assert_array_equal(x.numpy(), np.arange(6.0).reshape(2, 3))


# ------------------------------------------------------------------ matrix structure: values
STRUCTURE_CASES: dict[str, Callable[[Any], Any]] = {
    "tril_int32": lambda m: m.ones(3, 4, dtype=m.int32).tril(-1),
    "triu_bool": lambda m: m.ones(2, 3, 3, dtype=m.bool).triu(1),
    "tril_inf_becomes_zero": lambda m: m.full((2, 2), float("inf")).tril(),
    "triu_empty": lambda m: m.ones(0, 3).triu(),
    "tril_k_past_the_matrix": lambda m: m.arange(12.0).view(3, 4).tril(10),
    "diag_int_vector": lambda m: m.tensor([1, 2], dtype=m.int32).diag(1),
    "diag_matrix_far_offset": lambda m: m.arange(12).view(3, 4).diag(5),
    "diag_matrix_far_negative_offset": lambda m: m.arange(12).view(3, 4).diag(-5),
    "diag_empty_vector": lambda m: m.ones(0).diag(2),
    "diagonal_far_offset": lambda m: m.ones(2, 3, 4).diagonal(9, 0, 1),
    "diagonal_bool": lambda m: m.eye(3, dtype=m.bool).diagonal(),
    "diag_embed_int": lambda m: m.arange(6).view(2, 3).diag_embed(1, 0, 2),
    "diag_embed_empty": lambda m: m.ones(2, 0).diag_embed(),
    "trace_int32_gives_int64": lambda m: m.arange(6, dtype=m.int32).view(2, 3).trace(),
    "trace_uint8": lambda m: m.ones(2, 2, dtype=m.uint8).trace(),
    "trace_empty": lambda m: m.ones(0, 3).trace(),
    "roll_int_flat": lambda m: m.arange(6).view(2, 3).roll(1),
    "roll_same_dim_twice_adds": lambda m: m.arange(6).view(2, 3).roll((1, 1), (1, 1)),
    "roll_negative_dim": lambda m: m.arange(6).view(2, 3).roll(-4, -1),
    "roll_empty": lambda m: m.zeros(0, 3).roll(1, 0),
    "roll_0d": lambda m: m.tensor(1.0).roll(1),
    "roll_bool": lambda m: m.tensor([True, False, False]).roll(1, 0),
    "repeat_interleave_int_flat": lambda m: m.tensor([[1, 2], [3, 4]]).repeat_interleave(2),
    "repeat_interleave_tensor_counts": lambda m: m.tensor([[1, 2], [3, 4]]).repeat_interleave(m.tensor([1, 2]), dim=0),
    "repeat_interleave_one_count_tensor": lambda m: m.tensor([[1, 2], [3, 4]]).repeat_interleave(m.tensor([3]), dim=1),
    "repeat_interleave_0d_count_tensor": lambda m: m.tensor([[1, 2], [3, 4]]).repeat_interleave(m.tensor(3), dim=1),
    "repeat_interleave_counts_flat": lambda m: m.tensor([[1, 2], [3, 4]]).repeat_interleave(m.tensor([1, 2, 3, 4])),
    "repeat_interleave_int32_counts": lambda m: m.tensor([1.0, 2.0]).repeat_interleave(m.tensor([1, 2], dtype=m.int32)),
    "repeat_interleave_zero_counts": lambda m: m.ones(2, 3).repeat_interleave(m.tensor([0, 0]), dim=0),
    "repeat_interleave_output_size": lambda m: m.tensor([[1, 2], [3, 4]]).repeat_interleave(
        m.tensor([1, 2]), dim=0, output_size=3
    ),
    "repeat_interleave_axis": lambda m: m.ones(2, 3).repeat_interleave(2, axis=0),
    "repeat_interleave_0d": lambda m: m.tensor(5.0).repeat_interleave(3),
    "repeat_interleave_bool": lambda m: m.tensor([True, False]).repeat_interleave(2),
    "repeat_interleave_empty": lambda m: m.zeros(0, 3).repeat_interleave(2, dim=0),
    "repeat_interleave_counts_only": lambda m: m.repeat_interleave(m.tensor([1, 2, 0, 3])),
    "repeat_interleave_counts_only_int32": lambda m: m.repeat_interleave(m.tensor([1, 2], dtype=m.int32)),
    "meshgrid_int_xy": lambda m: m.meshgrid(m.arange(2), m.arange(3), indexing="xy"),
    "meshgrid_list_ij": lambda m: m.meshgrid([m.arange(2), m.arange(3), m.arange(4)], indexing="ij"),
    "meshgrid_xy_three": lambda m: m.meshgrid(m.arange(2), m.arange(3), m.arange(4), indexing="xy"),
    "meshgrid_0d": lambda m: m.meshgrid(m.tensor(1), m.arange(3), indexing="ij"),
    "meshgrid_one": lambda m: m.meshgrid(m.arange(3), indexing="xy"),
    "meshgrid_empty_tensor": lambda m: m.meshgrid(m.arange(0), m.arange(3), indexing="ij"),
    "lerp_int_weight": lambda m: m.lerp(m.zeros(2), m.ones(2), 1),
    "lerp_0d_float64_weight": lambda m: m.lerp(m.zeros(2), m.ones(2), m.tensor(0.3, dtype=m.float64)),
    "lerp_broadcasts_to_larger": lambda m: m.zeros(2).lerp(m.ones(3, 2), 0.5),
    "lerp_float64": lambda m: m.lerp(m.zeros(2, dtype=m.float64), m.ones(2, dtype=m.float64), 0.25),
    "unfold_int": lambda m: m.arange(7).unfold(0, 2, 2),
    "unfold_exact": lambda m: m.arange(7).unfold(0, 7, 3),
    "unfold_size_0": lambda m: m.arange(7.0).unfold(0, 0, 1),
    "unfold_0d": lambda m: m.tensor(3.0).unfold(0, 1, 1),
    "unfold_0d_size_0": lambda m: m.tensor(3.0).unfold(0, 0, 1),
    "unfold_empty": lambda m: m.zeros(0, 3).unfold(1, 2, 1),
    "unfold_negative_dim": lambda m: m.arange(12).view(3, 4).unfold(-2, 2, 1),
    "unfold_keywords": lambda m: m.arange(5.0).unfold(dimension=0, size=2, step=1),
    "rot90_int": lambda m: m.arange(6).view(2, 3).rot90(),
    "rot90_k0_copies": lambda m: m.arange(6).view(2, 3).rot90(0),
    "rot90_negative_k": lambda m: m.arange(6).view(2, 3).rot90(-1, [0, 1]),
    "rot90_reversed_dims": lambda m: m.arange(6).view(2, 3).rot90(3, [1, 0]),
    "rot90_negative_dims": lambda m: m.arange(6).view(1, 2, 3).rot90(1, [-1, -2]),
    "rot90_bool": lambda m: m.tensor([[True, False]]).rot90(2),
    "flip_negative_dim": lambda m: m.arange(6).view(2, 3).flip(-1),
    "flip_list": lambda m: m.arange(6).view(2, 3).flip([0, 1]),
}


@pytest.mark.parametrize("name", sorted(STRUCTURE_CASES))
def test_structure_values_match_torch(name: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # every case passes indexing=, so no warning either side
        assert_same(STRUCTURE_CASES[name])


def test_meshgrid_without_indexing_warns_and_uses_ij() -> None:
    for m in (gg, torch):
        with pytest.warns(UserWarning, match="indexing"):
            grids = m.meshgrid(m.arange(2), m.arange(3))
        assert tuple(grids[0].shape) == (2, 3)


def test_rot90_k0_and_diagonal_return_new_tensors() -> None:
    x = gg.arange(6.0).view(2, 3)
    for out in (x.rot90(0), x.rot90(4), x.diagonal(), x.tril()):
        out.array[...] = -1  # writing into the result leaves the input as it was
    np.testing.assert_array_equal(x.numpy(), np.arange(6.0).reshape(2, 3))


STRUCTURE_ERRORS: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "tril_1d": ("tril", lambda m: m.arange(3.0).tril()),
    "triu_float_diagonal": ("triu", lambda m: m.ones(2, 2).triu(1.0)),
    "diag_0d": ("diag", lambda m: m.tensor(1.0).diag()),
    "diag_3d": ("diag", lambda m: m.ones(2, 2, 2).diag()),
    "diagonal_same_dims": ("diagonal", lambda m: m.ones(2, 3, 4).diagonal(0, 1, -2)),
    "diagonal_1d": ("diagonal", lambda m: m.ones(2).diagonal()),
    "diagonal_dim_out_of_range": ("diagonal", lambda m: m.ones(2, 2).diagonal(0, 0, 2)),
    "diag_embed_0d": ("diag_embed", lambda m: m.tensor(1.0).diag_embed()),
    "diag_embed_same_dims": ("diag_embed", lambda m: m.ones(2).diag_embed(0, 0, 0)),
    "diag_embed_dim_out_of_range": ("diag_embed", lambda m: m.ones(2, 3).diag_embed(0, 0, 3)),
    "trace_1d": ("trace", lambda m: m.ones(3).trace()),
    "trace_3d": ("trace", lambda m: m.ones(3, 3, 3).trace()),
    "trace_bool": ("trace", lambda m: m.ones(2, 2, dtype=m.bool).trace()),
    "roll_shifts_dims_mismatch": ("roll", lambda m: m.ones(2, 3).roll((1, 2), 1)),
    "roll_tuple_shifts_without_dims": ("roll", lambda m: m.ones(2, 3).roll((1, 2))),
    "roll_dim_out_of_range": ("roll", lambda m: m.ones(2, 3).roll(1, 2)),
    "roll_0d_with_dims": ("roll", lambda m: m.tensor(1.0).roll(1, 0)),
    "roll_no_shifts": ("roll", lambda m: m.ones(3).roll((), ())),
    "roll_float_shift": ("roll", lambda m: m.ones(2, 3).roll(1.0)),
    "repeat_interleave_wrong_count": (
        "repeat_interleave",
        lambda m: m.ones(2, 2).repeat_interleave(m.tensor([1, 2, 3]), dim=0),
    ),
    "repeat_interleave_negative": ("repeat_interleave", lambda m: m.ones(2, 2).repeat_interleave(-1)),
    "repeat_interleave_negative_tensor": (
        "repeat_interleave",
        lambda m: m.ones(2, 2).repeat_interleave(m.tensor([-1, 2]), dim=0),
    ),
    "repeat_interleave_float_counts": (
        "repeat_interleave",
        lambda m: m.ones(2, 2).repeat_interleave(m.tensor([1.0, 2.0]), dim=0),
    ),
    "repeat_interleave_2d_counts": (
        "repeat_interleave",
        lambda m: m.ones(2, 2).repeat_interleave(m.tensor([[1, 2]]), dim=0),
    ),
    "repeat_interleave_float_repeats": ("repeat_interleave", lambda m: m.ones(2, 2).repeat_interleave(2.0, dim=1)),
    "repeat_interleave_wrong_output_size": (
        "repeat_interleave",
        lambda m: m.ones(2, 2).repeat_interleave(2, dim=0, output_size=5),
    ),
    "repeat_interleave_0d_with_dim": ("repeat_interleave", lambda m: m.tensor(5.0).repeat_interleave(3, dim=0)),
    "repeat_interleave_counts_only_2d": ("repeat_interleave", lambda m: m.repeat_interleave(m.tensor([[1, 2]]))),
    "repeat_interleave_counts_only_float": ("repeat_interleave", lambda m: m.repeat_interleave(m.tensor([1.0, 2.0]))),
    "meshgrid_bad_indexing": ("meshgrid", lambda m: m.meshgrid(m.arange(2), m.arange(3), indexing="ji")),
    "meshgrid_dtypes_differ": ("meshgrid", lambda m: m.meshgrid(m.ones(2), m.arange(3), indexing="ij")),
    "meshgrid_2d": ("meshgrid", lambda m: m.meshgrid(m.ones(2, 2), m.ones(3), indexing="ij")),
    "meshgrid_nothing": ("meshgrid", lambda m: m.meshgrid(indexing="ij")),
    "lerp_end_dtype": ("lerp", lambda m: m.lerp(m.zeros(2), m.ones(2, dtype=m.float64), 0.3)),
    "lerp_weight_dtype": ("lerp", lambda m: m.lerp(m.zeros(2), m.ones(2), m.tensor([0.3, 0.2], dtype=m.float64))),
    "lerp_int": ("lerp", lambda m: m.lerp(m.zeros(2, dtype=m.int64), m.ones(2, dtype=m.int64), 0.3)),
    "lerp_not_broadcastable": ("lerp", lambda m: m.lerp(m.zeros(2), m.ones(3), 0.5)),
    "lerp_number_end": ("lerp", lambda m: m.lerp(m.zeros(2), 1.0, 0.5)),
    "lerp_inplace_broadcast": ("lerp_", lambda m: m.zeros(2).lerp_(m.ones(3, 2), 0.5)),
    "unfold_too_big": ("unfold", lambda m: m.arange(7.0).unfold(0, 8, 1)),
    "unfold_step_0": ("unfold", lambda m: m.arange(7.0).unfold(0, 2, 0)),
    "unfold_negative_size": ("unfold", lambda m: m.arange(7.0).unfold(0, -1, 1)),
    "unfold_0d_too_big": ("unfold", lambda m: m.tensor(3.0).unfold(0, 2, 1)),
    "unfold_dim_out_of_range": ("unfold", lambda m: m.ones(3, 4).unfold(2, 2, 1)),
    "rot90_1d": ("rot90", lambda m: m.arange(6).rot90()),
    "rot90_same_dims": ("rot90", lambda m: m.ones(2, 3).rot90(1, [0, 0])),
    "rot90_same_dim_negative": ("rot90", lambda m: m.ones(2, 3).rot90(1, [0, -2])),
    "rot90_three_dims": ("rot90", lambda m: m.ones(2, 3).rot90(1, [0, 1, 2])),
    "rot90_dim_out_of_range": ("rot90", lambda m: m.ones(2, 3).rot90(1, [0, 2])),
    "rot90_float_k": ("rot90", lambda m: m.ones(2, 3).rot90(1.0)),
    "tril_inplace_leaf": ("tril_", lambda m: m.ones(2, 2, requires_grad=True).tril_()),
}


@pytest.mark.parametrize("name", sorted(STRUCTURE_ERRORS))
def test_structure_bad_inputs_raise_like_torch(name: str) -> None:
    op, case = STRUCTURE_ERRORS[name]
    assert_same_error(case, op)


def test_lerp_gradient_reaches_all_three_and_weight_switches_formula_smoothly() -> None:
    # weights on both sides of 0.5 (PyTorch's two formulas) and outside [0, 1]
    w = np.array([[-0.5, 0.25, 0.4999, 0.5, 0.5001, 1.0, 1.5]])
    assert_same_grads(
        lambda m, a, b, c: m.lerp(a, b, c),
        [np.ones((2, 7)), np.arange(14.0).reshape(2, 7), w],
        np.arange(14.0).reshape(2, 7),
    )
    inputs = [gg.tensor(a, requires_grad=True) for a in (np.ones((2, 7)), np.arange(14.0).reshape(2, 7), w)]
    assert gg.gradcheck(gg.lerp, inputs)


def test_unfold_gradient_sums_overlapping_windows() -> None:
    x = gg.arange(5.0, dtype=gg.float64, requires_grad=True)
    x.unfold(0, 3, 1).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1, 2, 3, 2, 1])  # how many windows hold each entry
    assert_same_grads(
        lambda m, a: a.unfold(1, 2, 1).unfold(0, 2, 2),
        [np.arange(20.0).reshape(5, 4)],
        np.arange(24.0).reshape(2, 3, 2, 2),
    )


def test_inplace_structure_variants_match_torch() -> None:
    for name in ("tril_", "triu_"):
        ours, theirs = gg.arange(9.0).view(3, 3), torch.arange(9.0).view(3, 3)
        assert getattr(ours, name)(1) is ours
        getattr(theirs, name)(1)
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    ours, theirs = gg.zeros(2, 3), torch.zeros(2, 3)
    ours.lerp_(gg.ones(3), 0.25)
    theirs.lerp_(torch.ones(3), 0.25)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    assert_same_grads(
        lambda m, a: (a * 2).triu_(-1).tril_(0), [np.arange(9.0).reshape(3, 3)], np.arange(9.0).reshape(3, 3)
    )
