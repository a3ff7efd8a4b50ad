"""The table of engine ops the tests sweep: each entry runs the same function in
glassgrad and PyTorch on the same inputs. Families of ops keep their entries in
``op_table_<family>.py`` beside this file; ``OPS`` is all of them.

``shapes`` lists input-shape tuples; broadcast pairs, size-1 and size-0 dims
are among them. ``positive`` draws inputs from (0.5, 2) for ops defined there.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as TF

import glassgrad as gg
import glassgrad.nn.functional as F

from op_case import OpCase

UNARY_SHAPES = (((3, 4),), ((1,),), ((2, 0, 3),), ((2, 1, 3),))
BINARY_SHAPES = (((3, 4), (3, 4)), ((3, 1), (4,)), ((2, 1, 3), (1, 4, 1)), ((0, 3), (1, 3)), ((), (2, 3)))
REDUCE_SHAPES = (((3, 4),), ((2, 3, 4),), ((1, 5),))


def _unary(name: str, ours: Callable, theirs: Callable, positive: bool = False) -> OpCase:
    return OpCase(name, ours, theirs, UNARY_SHAPES, positive)


def _binary(name: str, ours: Callable, theirs: Callable, positive: bool = False) -> OpCase:
    return OpCase(name, ours, theirs, BINARY_SHAPES, positive)


OPS: list[OpCase] = [
    _binary("add", lambda a, b: a + b, lambda a, b: a + b),
    _binary("sub", lambda a, b: a - b, lambda a, b: a - b),
    _binary("mul", lambda a, b: a * b, lambda a, b: a * b),
    _binary("div", lambda a, b: a / b, lambda a, b: a / b, positive=True),
    _binary("pow", lambda a, b: a**b, lambda a, b: a**b, positive=True),
    _binary("maximum", gg.maximum, torch.maximum),
    _binary("minimum", gg.minimum, torch.minimum),
    _binary("where", lambda a, b: gg.where(a > 0, a, b), lambda a, b: torch.where(a > 0, a, b)),
    _unary("radd", lambda a: 2.5 + a, lambda a: 2.5 + a),
    _unary("rsub", lambda a: 2.5 - a, lambda a: 2.5 - a),
    _unary("rdiv", lambda a: 2.5 / a, lambda a: 2.5 / a, positive=True),
    _unary("rpow", lambda a: 2.5**a, lambda a: 2.5**a),
    _unary("scalar_pow", lambda a: a**3, lambda a: a**3),
    _unary("neg", lambda a: -a, lambda a: -a),
    _unary("abs", gg.abs, torch.abs),
    _unary("exp", gg.exp, torch.exp),
    _unary("log", gg.log, torch.log, positive=True),
    _unary("log1p", gg.log1p, torch.log1p, positive=True),
    _unary("log2", gg.log2, torch.log2, positive=True),
    _unary("sqrt", gg.sqrt, torch.sqrt, positive=True),
    _unary("rsqrt", gg.rsqrt, torch.rsqrt, positive=True),
    _unary("sin", gg.sin, torch.sin),
    _unary("cos", gg.cos, torch.cos),
    _unary("tanh", gg.tanh, torch.tanh),
    _unary("sigmoid", gg.sigmoid, torch.sigmoid),
    _unary("square", gg.square, torch.square),
    _unary("reciprocal", gg.reciprocal, torch.reciprocal, positive=True),
    _unary("relu", F.relu, TF.relu),
    _unary("leaky_relu", lambda a: F.leaky_relu(a, 0.2), lambda a: TF.leaky_relu(a, 0.2)),
    _unary("elu", lambda a: F.elu(a, 0.7), lambda a: TF.elu(a, 0.7)),
    _unary("gelu", F.gelu, TF.gelu),
    _unary("gelu_tanh", lambda a: F.gelu(a, approximate="tanh"), lambda a: TF.gelu(a, approximate="tanh")),
    _unary("silu", F.silu, TF.silu),
    _unary(
        "softplus", lambda a: F.softplus(a, beta=2.0, threshold=1.5), lambda a: TF.softplus(a, beta=2.0, threshold=1.5)
    ),
    _unary("clamp", lambda a: a.clamp(-0.5, 0.6), lambda a: a.clamp(-0.5, 0.6)),
    OpCase("sum", lambda a: a.sum(), lambda a: a.sum(), REDUCE_SHAPES),
    OpCase("sum_dim", lambda a: a.sum((0, -1), keepdim=True), lambda a: a.sum((0, -1), keepdim=True), REDUCE_SHAPES),
    OpCase("mean_dim", lambda a: a.mean(-1), lambda a: a.mean(-1), REDUCE_SHAPES),
    OpCase("var", lambda a: a.var(-1), lambda a: a.var(-1), REDUCE_SHAPES[:2]),
    OpCase("var_biased", lambda a: a.var(0, unbiased=False), lambda a: a.var(0, unbiased=False), REDUCE_SHAPES),
    OpCase(
        "std_correction",
        lambda a: a.std(-1, correction=0, keepdim=True),
        lambda a: a.std(-1, correction=0, keepdim=True),
        REDUCE_SHAPES,
    ),
    OpCase("prod", lambda a: a.prod(-1), lambda a: a.prod(-1), REDUCE_SHAPES),
    OpCase("max_dim", lambda a: a.max(-1)[0], lambda a: a.max(-1)[0], REDUCE_SHAPES),
    OpCase("min_dim_keep", lambda a: a.min(0, keepdim=True)[0], lambda a: a.min(0, keepdim=True)[0], REDUCE_SHAPES),
    OpCase("max_all", lambda a: a.max(), lambda a: a.max(), REDUCE_SHAPES),
    OpCase("amax", lambda a: a.amax((0, 1)), lambda a: a.amax((0, 1)), REDUCE_SHAPES),
    OpCase("amin", lambda a: a.amin(-1), lambda a: a.amin(-1), REDUCE_SHAPES),
    OpCase("logsumexp", lambda a: a.logsumexp(-1), lambda a: a.logsumexp(-1), REDUCE_SHAPES),
    OpCase("norm", lambda a: a.norm(), lambda a: a.norm(), REDUCE_SHAPES),
    OpCase("norm_p1_dim", lambda a: a.norm(p=1, dim=-1), lambda a: a.norm(p=1, dim=-1), REDUCE_SHAPES),
    OpCase("norm_p3", lambda a: a.norm(p=3, dim=0), lambda a: a.norm(p=3, dim=0), REDUCE_SHAPES),
    OpCase("softmax", lambda a: F.softmax(a, -1), lambda a: TF.softmax(a, -1), REDUCE_SHAPES),
    OpCase("log_softmax", lambda a: F.log_softmax(a, 0), lambda a: TF.log_softmax(a, 0), REDUCE_SHAPES),
    OpCase("reshape", lambda a: a.reshape(-1, 2), lambda a: a.reshape(-1, 2), (((3, 4),), ((2, 3, 2),))),
    OpCase("flatten", lambda a: a.flatten(1), lambda a: a.flatten(1), (((2, 3, 4),),)),
    OpCase("permute", lambda a: a.permute(2, 0, 1), lambda a: a.permute(2, 0, 1), (((2, 3, 4),),)),
    OpCase("transpose", lambda a: a.transpose(0, -1), lambda a: a.transpose(0, -1), (((2, 3, 4),),)),
    OpCase("T", lambda a: a.T, lambda a: a.T, (((3, 4),),)),
    OpCase("squeeze", lambda a: a.squeeze(1), lambda a: a.squeeze(1), (((3, 1, 4),),)),
    OpCase("unsqueeze", lambda a: a.unsqueeze(-1), lambda a: a.unsqueeze(-1), (((3, 4),),)),
    OpCase("expand", lambda a: a.expand(2, 3, -1), lambda a: a.expand(2, 3, -1), (((3, 1),),)),
    OpCase("repeat", lambda a: a.repeat(2, 1, 3), lambda a: a.repeat(2, 1, 3), (((3, 4),),)),
    OpCase("flip", lambda a: a.flip(0, -1), lambda a: a.flip(0, -1), (((3, 4),),)),
    OpCase(
        "pad", lambda a: F.pad(a, (1, 2, -1, 1), value=0.5), lambda a: TF.pad(a, (1, 2, -1, 1), value=0.5), (((3, 4),),)
    ),
    OpCase("cat", lambda a, b: gg.cat([a, b], 1), lambda a, b: torch.cat([a, b], 1), (((3, 2), (3, 4)),)),
    OpCase("stack", lambda a, b: gg.stack([a, b], -1), lambda a, b: torch.stack([a, b], -1), (((3, 4), (3, 4)),)),
    OpCase("split", lambda a: a.split([1, 3], 1)[1], lambda a: a.split([1, 3], 1)[1], (((3, 4),),)),
    OpCase("chunk", lambda a: a.chunk(3, 0)[2], lambda a: a.chunk(3, 0)[2], (((5, 2),),)),
    OpCase("getitem_basic", lambda a: a[1:, ::2, None, ..., -1], lambda a: a[1:, ::2, None, ..., -1], (((3, 4, 2),),)),
    OpCase("getitem_int_array", lambda a: a[[0, 2, 0]], lambda a: a[[0, 2, 0]], (((3, 4),),)),
    OpCase("getitem_mask", lambda a: a[a > 0], lambda a: a[a > 0], (((3, 4),),)),
    OpCase(
        "gather",
        lambda a: a.gather(1, gg.tensor([[0, 0], [3, 1], [2, 2]], device=a.device)),
        lambda a: a.gather(1, torch.tensor([[0, 0], [3, 1], [2, 2]])),
        (((3, 4),),),
    ),
    OpCase(
        "matmul",
        lambda a, b: a @ b,
        lambda a, b: a @ b,
        (
            ((3, 4), (4, 5)),
            ((2, 3, 4), (4, 2)),
            ((2, 1, 3, 4), (5, 4, 2)),
            ((4,), (4, 3)),
            ((2, 3, 4), (4,)),
            ((4,), (4,)),
        ),
    ),
]

# Each family's table, one file each (op_table_<family>.py), appended here.
from op_table_cumulative_sorting import OPS as _CUMULATIVE_SORTING  # noqa: E402
from op_table_elementwise import OPS as _ELEMENTWISE  # noqa: E402
from op_table_nn import OPS as _NN  # noqa: E402
from op_table_nn_layers import OPS as _NN_LAYERS  # noqa: E402
from op_table_scatter_structure import OPS as _SCATTER_STRUCTURE  # noqa: E402
from op_table_semantics import OPS as _SEMANTICS  # noqa: E402

OPS += _CUMULATIVE_SORTING + _ELEMENTWISE + _NN + _NN_LAYERS + _SCATTER_STRUCTURE + _SEMANTICS
