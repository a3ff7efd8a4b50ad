"""The semantics fixes (views, reductions, attention) entries of the op table (see op_table.py).

Index tensors are built inside the lambdas, on the input's device. Ops that return a pair
(std_mean, var_mean) are combined into one tensor so both members' gradients are checked.
"""

from __future__ import annotations

import torch
import torch.nn.functional as TF

import glassgrad as gg
import glassgrad.nn.functional as F

from op_case import OpCase

REDUCE = (((3, 4),), ((2, 3, 4),))


def _pair(out):
    """std + 2·mean (or var + 2·mean): one output that depends on both results."""
    return out[0] + 2 * out[1]


def _index_gg(like, values):
    return gg.tensor(values, device=like.device)


OPS: list[OpCase] = [
    # mixed int / index-tensor indexing, PyTorch's placement of the indexed dims
    OpCase(
        "getitem_int_slice_tensor",
        lambda a: a[1, :, _index_gg(a, [0, 2, 2])],
        lambda a: a[1, :, torch.tensor([0, 2, 2])],
        (((2, 3, 4),), ((3, 2, 5, 2),)),
    ),
    OpCase(
        "getitem_tensor_int_tensor",
        lambda a: a[_index_gg(a, [1, 0]), 1, _index_gg(a, [2, 2])],
        lambda a: a[torch.tensor([1, 0]), 1, torch.tensor([2, 2])],
        (((2, 3, 4),), ((2, 2, 3, 3),)),
    ),
    OpCase(
        "getitem_none_ellipsis_mask",
        lambda a: a[None, ..., _index_gg(a, [True, False, True, True])],
        lambda a: a[None, ..., torch.tensor([True, False, True, True])],
        (((3, 4),), ((2, 3, 4),)),
    ),
    OpCase(
        "getitem_strided_int_tensor",
        lambda a: a[0, 1:3, _index_gg(a, [[0, 1], [3, 3]])],
        lambda a: a[0, 1:3, torch.tensor([[0, 1], [3, 3]])],
        (((2, 3, 4),),),
    ),
    # views (the non-contiguous sweep runs them on strided inputs that still have a view)
    OpCase("view_flat", lambda a: a.view(-1), lambda a: a.view(-1), REDUCE),
    OpCase("view_split", lambda a: a.view(a.shape[0], 2, -1), lambda a: a.view(a.shape[0], 2, -1), REDUCE),
    OpCase(
        "view_of_transpose", lambda a: a.mT.view(2, -1, a.shape[-2]), lambda a: a.mT.view(2, -1, a.shape[-2]), REDUCE
    ),
    OpCase("t", lambda a: a.t(), lambda a: a.t(), (((3, 4),), ((5,),))),
    OpCase("unflatten", lambda a: a.unflatten(-1, (2, -1)), lambda a: a.unflatten(-1, (2, -1)), REDUCE),
    OpCase("narrow", lambda a: a.narrow(-1, 1, 2), lambda a: a.narrow(-1, 1, 2), REDUCE),
    OpCase("narrow_negative_start", lambda a: a.narrow(0, -2, 2), lambda a: a.narrow(0, -2, 2), REDUCE),
    # mm / bmm
    OpCase("mm", gg.mm, torch.mm, (((3, 4), (4, 2)), ((1, 5), (5, 3)))),
    OpCase("bmm", gg.bmm, torch.bmm, (((2, 3, 4), (2, 4, 5)), ((1, 1, 3), (1, 3, 2)))),
    # reductions: std_mean / var_mean, 0-d over dim 0, prod with dtype, axis=
    OpCase("std_mean", lambda a: _pair(gg.std_mean(a, 1)), lambda a: _pair(torch.std_mean(a, 1)), REDUCE),
    OpCase(
        "var_mean_keepdim",
        lambda a: _pair(gg.var_mean(a, -1, correction=0, keepdim=True)),
        lambda a: _pair(torch.var_mean(a, -1, correction=0, keepdim=True)),
        REDUCE,
    ),
    OpCase("std_mean_all", lambda a: _pair(gg.std_mean(a)), lambda a: _pair(torch.std_mean(a)), REDUCE),
    OpCase("sum_0d_dim0", lambda a: a.sum(0), lambda a: a.sum(0), (((),),)),
    OpCase("logsumexp_0d", lambda a: a.logsumexp(-1), lambda a: a.logsumexp(-1), (((),),)),
    OpCase("max_0d", lambda a: a.max(0)[0], lambda a: a.max(0)[0], (((),),)),
    OpCase("prod_0d", lambda a: a.prod(0, keepdim=True), lambda a: a.prod(0, keepdim=True), (((),),)),
    OpCase("prod_dtype", lambda a: a.prod(1, dtype=gg.float64), lambda a: a.prod(1, dtype=torch.float64), REDUCE),
    OpCase("sum_axis", lambda a: a.sum(axis=1), lambda a: a.sum(axis=1), REDUCE),
    OpCase("std_zero_row", lambda a: (a * 0).std(1), lambda a: (a * 0).std(1), REDUCE, gradcheck=False),
    # losses
    OpCase(
        "smooth_l1_loss",
        lambda a, b: F.smooth_l1_loss(a, b),
        lambda a, b: TF.smooth_l1_loss(a, b),
        (((3, 4), (3, 4)), ((2, 3, 4), (2, 3, 4))),
    ),
    OpCase(
        "smooth_l1_loss_beta_none",
        lambda a, b: F.smooth_l1_loss(a, b, beta=0.5, reduction="none"),
        lambda a, b: TF.smooth_l1_loss(a, b, beta=0.5, reduction="none"),
        (((3, 4), (3, 4)),),
    ),
    OpCase(
        "smooth_l1_loss_l1",
        lambda a, b: F.smooth_l1_loss(a, b, beta=0.0, reduction="sum"),
        lambda a, b: TF.smooth_l1_loss(a, b, beta=0.0, reduction="sum"),
        (((3, 4), (3, 4)),),
    ),
    # attention: a learned float mask, grouped-query heads
    OpCase(
        "sdpa_float_mask_grad",
        lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, attn_mask=m),
        lambda q, k, v, m: TF.scaled_dot_product_attention(q, k, v, attn_mask=m),
        (((2, 2, 3, 4), (2, 2, 5, 4), (2, 2, 5, 4), (2, 1, 3, 5)), ((2, 3, 4), (2, 5, 4), (2, 5, 4), (3, 5))),
    ),
    OpCase(
        "sdpa_gqa",
        lambda q, k, v: F.scaled_dot_product_attention(q, k, v, enable_gqa=True),
        lambda q, k, v: TF.scaled_dot_product_attention(q, k, v, enable_gqa=True),
        (((1, 4, 3, 4), (1, 2, 5, 4), (1, 2, 5, 4)), ((2, 6, 2, 4), (2, 3, 4, 4), (2, 1, 4, 4))),
    ),
    OpCase(
        "sdpa_gqa_causal",
        lambda q, k, v: F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True),
        lambda q, k, v: TF.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True),
        (((1, 4, 5, 4), (1, 2, 5, 4), (1, 2, 5, 4)),),
    ),
    # masked-logit cross-entropy: class 1 hidden by a -inf that the input itself builds
    OpCase(
        "cross_entropy_masked_class",
        lambda a: F.cross_entropy(
            a.masked_fill(_index_gg(a, [False, True, False, False]), float("-inf")), _index_gg(a, [0, 2, 3])
        ),
        lambda a: TF.cross_entropy(
            a.masked_fill(torch.tensor([False, True, False, False]), float("-inf")), torch.tensor([0, 2, 3])
        ),
        (((3, 4),),),
    ),
    OpCase(
        "nll_log_softmax_masked_class",
        lambda a: F.nll_loss(
            F.log_softmax(a.masked_fill(_index_gg(a, [True, False, False, False]), float("-inf")), 1),
            _index_gg(a, [1, 2, 3]),
            reduction="sum",
        ),
        lambda a: TF.nll_loss(
            TF.log_softmax(a.masked_fill(torch.tensor([True, False, False, False]), float("-inf")), 1),
            torch.tensor([1, 2, 3]),
            reduction="sum",
        ),
        (((3, 4),),),
    ),
]

# vector norms of any order, negative and below 1 included (zeros inside the reduced rows)
_NORM_SHAPES = (((3, 4),), ((2, 3, 4),))
OPS += [
    OpCase(f"norm_p{p}", lambda a, p=p: a.norm(p=p, dim=-1), lambda a, p=p: a.norm(p=p, dim=-1), _NORM_SHAPES)
    for p in (0.5, 1.5, -1.5, float("-inf"))
]
