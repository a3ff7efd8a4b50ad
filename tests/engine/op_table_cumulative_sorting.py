"""The cumulative, sorting and einsum entries of the op table (see op_table.py)."""

from __future__ import annotations

import numpy as np
import torch

import glassgrad as gg

from op_case import OpCase

CUM_SHAPES = (((3, 4),), ((2, 3, 4),), ((5,),), ((2, 0, 3),), ((1, 1),))

# zeros put into cumprod's input inside the graph (x * mask): one zero, and several zeros in a row
_ONE_ZERO = np.array([[1, 1, 0, 1, 1], [1, 1, 1, 1, 1], [0, 1, 1, 1, 1]], dtype=float)
_ZEROS = np.array([[1, 0, 1, 0, 1], [0, 0, 1, 1, 1], [1, 1, 1, 0, 0]], dtype=float)


def _masked(a, mask: np.ndarray):
    """``a`` with zeros where ``mask`` is 0 (a product, so the gradient path stays the op's)."""
    if isinstance(a, torch.Tensor):
        return a * torch.tensor(mask, dtype=a.dtype)
    return a * gg.tensor(mask, dtype=a.dtype, device=a.device)


OPS: list[OpCase] = [
    OpCase(
        "cumsum", lambda a: a.cumsum(1 if a.ndim > 1 else 0), lambda a: a.cumsum(1 if a.ndim > 1 else 0), CUM_SHAPES
    ),
    OpCase("cumsum_dim0", lambda a: gg.cumsum(a, 0), lambda a: torch.cumsum(a, 0), CUM_SHAPES),
    OpCase(
        "cumsum_dtype",
        lambda a: gg.cumsum(a, -1, dtype=gg.float64),
        lambda a: torch.cumsum(a, -1, dtype=torch.float64),
        CUM_SHAPES[:2],
    ),
    OpCase("cumprod", lambda a: a.cumprod(-1), lambda a: a.cumprod(-1), CUM_SHAPES),
    OpCase("cumprod_dim0", lambda a: gg.cumprod(a, 0), lambda a: torch.cumprod(a, 0), CUM_SHAPES),
    OpCase(
        "cumprod_one_zero",
        lambda a: _masked(a, _ONE_ZERO).cumprod(1),
        lambda a: _masked(a, _ONE_ZERO).cumprod(1),
        (((3, 5),),),
    ),
    OpCase(
        "cumprod_zeros", lambda a: _masked(a, _ZEROS).cumprod(1), lambda a: _masked(a, _ZEROS).cumprod(1), (((3, 5),),)
    ),
    OpCase("cummax", lambda a: a.cummax(-1)[0], lambda a: a.cummax(-1)[0], CUM_SHAPES),
    OpCase("cummin_dim0", lambda a: gg.cummin(a, 0).values, lambda a: torch.cummin(a, 0).values, CUM_SHAPES),
    OpCase("logcumsumexp", lambda a: a.logcumsumexp(-1), lambda a: a.logcumsumexp(-1), CUM_SHAPES),
    OpCase(
        "logcumsumexp_large",  # values up to ~±1000: e^x alone overflows float32 and float64
        lambda a: (a * 300).logcumsumexp(0),
        lambda a: (a * 300).logcumsumexp(0),
        CUM_SHAPES[:3],
    ),
]

SORT_SHAPES = (((3, 4),), ((2, 3, 4),), ((5,),), ((2, 0, 3),), ((1, 1),))
SELECT_SHAPES = (((3, 4),), ((2, 3, 4),), ((5,),))  # at least 2 along every dim

OPS += [
    OpCase("sort", lambda a: a.sort()[0], lambda a: a.sort()[0], SORT_SHAPES),
    OpCase(
        "sort_descending_dim0",
        lambda a: gg.sort(a, 0, descending=True).values,
        lambda a: torch.sort(a, 0, descending=True).values,
        SORT_SHAPES,
    ),
    OpCase(
        "sort_stable", lambda a: a.sort(dim=-1, stable=True)[0], lambda a: a.sort(dim=-1, stable=True)[0], SORT_SHAPES
    ),
    OpCase("topk", lambda a: a.topk(2)[0], lambda a: a.topk(2)[0], SELECT_SHAPES),
    OpCase(
        "topk_smallest_dim0",
        lambda a: gg.topk(a, 2, dim=0, largest=False).values,
        lambda a: torch.topk(a, 2, dim=0, largest=False).values,
        SELECT_SHAPES,
    ),
    OpCase(  # sorted=False leaves the order open: compare the chosen values in order
        "topk_unsorted",
        lambda a: a.topk(2, sorted=False)[0].sort()[0],
        lambda a: a.topk(2, sorted=False)[0].sort()[0],
        SELECT_SHAPES,
    ),
    OpCase("kthvalue", lambda a: a.kthvalue(2)[0], lambda a: a.kthvalue(2)[0], SELECT_SHAPES),
    OpCase(
        "kthvalue_keepdim_dim0",
        lambda a: gg.kthvalue(a, 1, 0, keepdim=True).values,
        lambda a: torch.kthvalue(a, 1, 0, keepdim=True).values,
        SELECT_SHAPES,
    ),
    OpCase("median", lambda a: a.median(), lambda a: a.median(), SORT_SHAPES[:3] + (((2, 2),),)),
    OpCase("median_dim", lambda a: a.median(-1)[0], lambda a: a.median(-1)[0], SORT_SHAPES[:3] + (((3, 2),),)),
    OpCase(
        "median_dim0_keepdim",
        lambda a: gg.median(a, 0, keepdim=True).values,
        lambda a: torch.median(a, 0, keepdim=True).values,
        SELECT_SHAPES,
    ),
]


def _einsum(name: str, equation: str, *shapes: tuple[tuple[int, ...], ...]) -> OpCase:
    """One einsum equation, run on each of ``shapes`` (a tuple of operand shapes each)."""
    return OpCase(
        f"einsum_{name}", lambda *x: gg.einsum(equation, *x), lambda *x: torch.einsum(equation, *x), tuple(shapes)
    )


OPS += [
    _einsum("matmul_implicit", "ij,jk", ((3, 4), (4, 5)), ((1, 2), (2, 1)), ((0, 3), (3, 2))),
    _einsum("matmul", "ij,jk->ik", ((3, 4), (4, 5)), ((3, 0), (0, 2))),
    _einsum("matmul_transposed_out", "ij,jk->ki", ((3, 4), (4, 5))),
    _einsum("batched", "bij,bjk->bik", ((2, 3, 4), (2, 4, 5))),
    _einsum(
        "ellipsis_broadcast",
        "...ij,...jk->...ik",
        ((2, 3, 4), (2, 4, 5)),
        ((3, 1, 2, 3), (4, 3, 2)),  # ellipsis (3, 1) against (4,): broadcast to (3, 4)
        ((3, 4), (2, 4, 5)),  # no ellipsis axes on the left operand
    ),
    _einsum("ellipsis_implicit", "...ij,...jk", ((2, 3, 4), (2, 4, 5))),
    _einsum("ellipsis_summed", "i...->i", ((3, 2, 4),)),
    _einsum("ellipsis_middle", "i...j->j...i", ((3, 2, 1, 4),)),
    _einsum("size1_label_broadcast", "ij,jk->ik", ((2, 1), (3, 4)), ((2, 3), (1, 4))),
    _einsum("trace", "ii->", ((4, 4),)),
    _einsum("trace_implicit", "ii", ((3, 3),)),
    _einsum("diagonal", "ii->i", ((4, 4),)),
    _einsum("batched_diagonal", "...ii->...i", ((2, 3, 3),)),
    _einsum("repeated_with_other", "iij,jk->ik", ((3, 3, 4), (4, 2))),
    _einsum("diagonal_times_vector", "ii,i->i", ((3, 3), (3,))),
    _einsum("triple_repeat", "iii->i", ((3, 3, 3),)),
    _einsum("repeated_kept_twice", "iji->ij", ((3, 2, 3),)),
    _einsum("sum_all", "ij->", ((3, 4),)),
    _einsum("sum_dim", "ijk->ik", ((2, 3, 4),)),
    _einsum("transpose", "ij->ji", ((3, 4),)),
    _einsum("outer", "i,j->ij", ((3,), (4,))),
    _einsum("outer_implicit", "i,j", ((3,), (4,))),
    _einsum("dot", "i,i->", ((5,), (5,))),
    _einsum("hadamard", "ij,ij->ij", ((3, 4), (3, 4))),
    _einsum("scalar_operand", "ij,->ij", ((3, 4), ())),
    _einsum("bilinear_three", "bn,anm,bm->ba", ((2, 3), (4, 3, 5), (2, 5))),
    _einsum("chain_four", "a,ab,bc,c->", ((3,), (3, 4), (4, 2), (2,))),
    _einsum("four_outer_products", "a,b,c,d->abcd", ((2,), (3,), (1,), (2,))),
    _einsum("label_summed_inside_one", "ij,k->ik", ((3, 4), (2,))),
    _einsum("spaces_and_case", "iJ , Jk -> ki", ((3, 4), (4, 2))),
    OpCase(
        "einsum_operand_list",
        lambda a, b: gg.einsum("ij,jk->ik", [a, b]),
        lambda a, b: torch.einsum("ij,jk->ik", [a, b]),
        (((3, 4), (4, 5)),),
    ),
    OpCase(
        "einsum_sublists",
        lambda a, b: gg.einsum(a, [0, 1], b, [1, 27], [27, 0]),
        lambda a, b: torch.einsum(a, [0, 1], b, [1, 27], [27, 0]),
        (((3, 4), (4, 5)),),
    ),
]
