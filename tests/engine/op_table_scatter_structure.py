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


def _product(grids):
    """x · exp(y) of two meshgrid outputs: each output's gradient differs from the other's."""
    return grids[0] * grids[1].exp()


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

# ------------------------------------------------------------------------- matrix structure
MATRIX_SHAPES = (((3, 4),), ((2, 3, 4),), ((4, 3),), ((1, 1),), ((0, 3),))

OPS += [
    *[OpCase(f"tril_{k}", lambda a, k=k: a.tril(k), lambda a, k=k: a.tril(k), MATRIX_SHAPES) for k in (0, 1, -2, 5)],
    *[
        OpCase(f"triu_{k}", lambda a, k=k: gg.triu(a, k), lambda a, k=k: torch.triu(a, k), MATRIX_SHAPES)
        for k in (0, 2, -1, -5)
    ],
    OpCase("diag_vector", lambda a: a.diag(), lambda a: a.diag(), (((4,),), ((1,),))),
    OpCase("diag_vector_above", lambda a: gg.diag(a, 2), lambda a: torch.diag(a, 2), (((3,),),)),
    OpCase("diag_vector_below", lambda a: a.diag(-1), lambda a: a.diag(-1), (((3,),),)),
    OpCase("diag_matrix", lambda a: a.diag(), lambda a: a.diag(), (((3, 4),), ((4, 2),))),
    OpCase("diag_matrix_offset", lambda a: gg.diag(a, -1), lambda a: torch.diag(a, -1), (((3, 4),), ((2, 5),))),
    OpCase("diagonal", lambda a: a.diagonal(), lambda a: a.diagonal(), (((3, 4),), ((2, 3, 4),))),
    OpCase(
        "diagonal_offset_dims",
        lambda a: gg.diagonal(a, offset=1, dim1=2, dim2=0),
        lambda a: torch.diagonal(a, offset=1, dim1=2, dim2=0),
        (((2, 3, 4),), ((3, 2, 5),)),
    ),
    OpCase(
        "diagonal_negative",
        lambda a: a.diagonal(-1, -1, -2),
        lambda a: a.diagonal(-1, -1, -2),
        (((2, 3, 4),),),
    ),
    OpCase("diag_embed", lambda a: a.diag_embed(), lambda a: a.diag_embed(), (((3,),), ((2, 3),))),
    OpCase(
        "diag_embed_offset_dims",
        lambda a: gg.diag_embed(a, offset=-2, dim1=2, dim2=0),
        lambda a: torch.diag_embed(a, offset=-2, dim1=2, dim2=0),
        (((2, 3),), ((2, 1, 3),)),
    ),
    OpCase("trace", lambda a: a.trace(), lambda a: a.trace(), (((3, 3),), ((3, 5),), ((4, 2),))),
    OpCase("roll_flat", lambda a: a.roll(2), lambda a: a.roll(2), (((3, 4),), ((5,),), ((2, 3, 4),))),
    OpCase(
        "roll_dims",
        lambda a: gg.roll(a, (1, -3), (0, -1)),
        lambda a: torch.roll(a, (1, -3), (0, -1)),
        (((3, 4),), ((2, 3, 4),)),
    ),
    OpCase("repeat_interleave_flat", lambda a: a.repeat_interleave(2), lambda a: a.repeat_interleave(2), (((3, 4),),)),
    OpCase(
        "repeat_interleave_dim",
        lambda a: a.repeat_interleave(3, dim=0),
        lambda a: a.repeat_interleave(3, dim=0),
        (((2, 4),), ((2, 3, 4),)),
    ),
    OpCase(
        "repeat_interleave_tensor",
        lambda a: gg.repeat_interleave(a, gg.tensor([2, 0, 1, 3], device=a.device), dim=-1),
        lambda a: torch.repeat_interleave(a, torch.tensor([2, 0, 1, 3]), dim=-1),
        (((3, 4),), ((2, 3, 4),)),
    ),
    OpCase(
        "meshgrid_ij",
        lambda a, b: gg.stack(gg.meshgrid(a, b * 2, indexing="ij")),
        lambda a, b: torch.stack(torch.meshgrid(a, b * 2, indexing="ij")),
        (((3,), (3,)), ((1,), (1,))),
    ),
    OpCase(
        "meshgrid_xy",
        lambda a, b, c: gg.stack(gg.meshgrid([a, b, c], indexing="xy")).sin(),
        lambda a, b, c: torch.stack(torch.meshgrid([a, b, c], indexing="xy")).sin(),
        (((2,), (2,), (2,)), ((3,), (3,), (3,))),
    ),
    *[
        OpCase(
            f"meshgrid_unequal_sizes_{ix}",
            lambda a, b, ix=ix: _product(gg.meshgrid(a, b, indexing=ix)),
            lambda a, b, ix=ix: _product(torch.meshgrid(a, b, indexing=ix)),
            (((3,), (4,)), ((), (2,))),
        )
        for ix in ("ij", "xy")
    ],
    OpCase(
        "lerp_scalar_weight",
        lambda a, b: a.lerp(b, 0.3),
        lambda a, b: a.lerp(b, 0.3),
        (((3, 4), (3, 4)), ((3, 1), (4,)), ((2, 3), (2, 3))),
    ),
    OpCase(
        "lerp_large_weight",
        lambda a, b: gg.lerp(a, b, 1.7),
        lambda a, b: torch.lerp(a, b, 1.7),
        (((3, 4), (3, 4)),),
    ),
    OpCase(
        "lerp_tensor_weight",
        lambda a, b, w: gg.lerp(a, b, w),
        lambda a, b, w: torch.lerp(a, b, w),
        (((3, 4), (3, 4), (3, 4)), ((3, 1), (1, 4), (4,)), ((2, 3), (2, 3), ())),
    ),
    OpCase(
        "unfold_overlapping",
        lambda a: a.unfold(-1, 3, 1),
        lambda a: a.unfold(-1, 3, 1),
        (((3, 4),), ((2, 3, 5),), ((6,),)),
    ),
    OpCase(
        "unfold_strided",
        lambda a: a.unfold(0, 2, 3),
        lambda a: a.unfold(0, 2, 3),
        (((7, 3),), ((2, 4),), ((5,),)),
    ),
    OpCase("unfold_gaps", lambda a: a.unfold(1, 1, 2), lambda a: a.unfold(1, 1, 2), (((2, 5),),)),
    *[
        OpCase(f"rot90_{k}", lambda a, k=k: a.rot90(k), lambda a, k=k: a.rot90(k), (((3, 4),), ((2, 3, 4),)))
        for k in (1, 2, 3, -1)
    ],
    OpCase(
        "rot90_dims",
        lambda a: gg.rot90(a, 1, [2, 0]),
        lambda a: torch.rot90(a, 1, [2, 0]),
        (((2, 3, 4),),),
    ),
]
