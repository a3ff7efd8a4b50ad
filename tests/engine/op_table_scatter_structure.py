"""The scatter/index and matrix-structure entries of the op table (see op_table.py).

Index and mask tensors are built inside the lambdas, on the input's device. Scatter-style
indices repeat a target wherever values add up (scatter_add, scatter_reduce, index_add);
``scatter`` and ``index_copy`` (where PyTorch leaves the winner among repeats unspecified)
get distinct targets. Random inputs never tie, so amax/amin gradients are unambiguous here;
ties are in test_scatter_structure.py.
"""

from __future__ import annotations

import torch

import glassgrad as gg

from op_case import OpCase

# dim 0 of a (3, 4) input: each column's targets are distinct
DISTINCT = [[0, 1, 2, 0], [2, 0, 1, 1]]
# dim 0 of a (3, 4) input, three rows of src: targets repeat within columns
REPEATED = [[0, 1, 2, 0], [0, 1, 0, 2], [2, 1, 0, 0]]
# dim 1 of a (2, 4) input, src (2, 5)
REPEATED_DIM1 = [[3, 3, 0, 1, 3], [2, 2, 2, 2, 0]]
MASK = [[True, False, True, True], [False, False, True, False], [True, True, False, True]]


def _g(values, like):
    return gg.tensor(values, device=like.device)


def _t(values):
    return torch.tensor(values)


def _scatter_reduce(reduce: str, include_self: bool) -> OpCase:
    return OpCase(
        f"scatter_reduce_{reduce}_{'self' if include_self else 'noself'}",
        lambda a, s: a.scatter_reduce(0, _g(REPEATED, a), s, reduce, include_self=include_self),
        lambda a, s: a.scatter_reduce(0, _t(REPEATED), s, reduce, include_self=include_self),
        (((3, 4), (3, 4)),),
    )


def _scatter_reduce_dim1(reduce: str) -> OpCase:
    return OpCase(
        f"scatter_reduce_{reduce}_dim1",
        lambda a, s: gg.scatter_reduce(a, 1, _g(REPEATED_DIM1, a), s, reduce),
        lambda a, s: torch.scatter_reduce(a, 1, _t(REPEATED_DIM1), s, reduce),
        (((2, 4), (2, 5)),),
    )


OPS: list[OpCase] = [
    OpCase(
        "scatter",
        lambda a, s: a.scatter(0, _g(DISTINCT, a), s),
        lambda a, s: a.scatter(0, _t(DISTINCT), s),
        (((3, 4), (2, 4)),),
    ),
    OpCase(
        "scatter_value",
        lambda a: gg.scatter(a, -2, _g(REPEATED, a), value=1.5),
        lambda a: torch.scatter(a, -2, _t(REPEATED), value=1.5),
        (((3, 4),),),
    ),
    OpCase(
        "scatter_add",
        lambda a, s: a.scatter_add(0, _g(REPEATED, a), s),
        lambda a, s: a.scatter_add(0, _t(REPEATED), s),
        (((3, 4), (3, 4)),),
    ),
    OpCase(
        "scatter_add_dim1",
        lambda a, s: gg.scatter_add(a, 1, _g(REPEATED_DIM1, a), s),
        lambda a, s: torch.scatter_add(a, 1, _t(REPEATED_DIM1), s),
        (((2, 4), (2, 5)),),
    ),
    *[_scatter_reduce(r, inc) for r in ("sum", "prod", "mean", "amax", "amin") for inc in (True, False)],
    *[_scatter_reduce_dim1(r) for r in ("sum", "prod", "mean", "amax", "amin")],
    OpCase(
        "index_select",
        lambda a: a.index_select(-1, _g([0, 3, 3, 1], a)),
        lambda a: a.index_select(-1, _t([0, 3, 3, 1])),
        (((3, 4),), ((2, 3, 4),)),
    ),
    OpCase(
        "index_select_dim0",
        lambda a: gg.index_select(a, 0, _g([1, 1, 0], a)),
        lambda a: torch.index_select(a, 0, _t([1, 1, 0])),
        (((2, 3, 4),),),
    ),
    OpCase(
        "index_add",
        lambda a, s: a.index_add(1, _g([0, 3, 3], a), s, alpha=2.5),
        lambda a, s: a.index_add(1, _t([0, 3, 3]), s, alpha=2.5),
        (((3, 4), (3, 3)),),
    ),
    OpCase(
        "index_add_dim0",
        lambda a, s: gg.index_add(a, 0, _g([2, 0, 2, 2], a), s),
        lambda a, s: torch.index_add(a, 0, _t([2, 0, 2, 2]), s),
        (((3, 4), (4, 4)),),
    ),
    OpCase(
        "index_copy",
        lambda a, s: a.index_copy(1, _g([3, 0], a), s),
        lambda a, s: a.index_copy(1, _t([3, 0]), s),
        (((3, 4), (3, 2)),),
    ),
    OpCase(
        "index_fill_tensor_value",
        lambda a, v: a.index_fill(1, _g([0, 2, 0], a), v),
        lambda a, v: a.index_fill(1, _t([0, 2, 0]), v),
        (((3, 4), ()),),
    ),
    OpCase(
        "index_fill_number",
        lambda a: gg.index_fill(a, 0, _g([1], a), -2.0),
        lambda a: torch.index_fill(a, 0, _t([1]), -2.0),
        (((3, 4),),),
    ),
    OpCase(
        "masked_select",
        lambda a: a.masked_select(_g(MASK, a)),
        lambda a: a.masked_select(_t(MASK)),
        (((3, 4),), ((4,),), ((1, 4),)),  # (4,) and (1, 4) broadcast against the (3, 4) mask
    ),
    OpCase(
        "masked_select_broadcast_mask",
        lambda a: gg.masked_select(a, _g([True, False, True, True], a)),
        lambda a: torch.masked_select(a, _t([True, False, True, True])),
        (((3, 4),), ((2, 3, 4),)),
    ),
    OpCase(
        "masked_scatter",
        lambda a, s: a.masked_scatter(_g(MASK, a), s),
        lambda a, s: a.masked_scatter(_t(MASK), s),
        (((3, 4), (3, 5)), ((4,), (8,))),  # (4,) broadcasts to the mask's (3, 4); source has spare entries
    ),
]
