"""A battery of bad calls across the public API, each run on glassgrad and on PyTorch.

Every case raises in both (the test asserts the same exception type), and our message names the API
the user called and the offending value or shape. Where PyTorch silently accepts and we deliberately
raise, the case says why (``torch=None``). Stateful cases (modules, optimizers, in-place ops,
load_state_dict, files) also check that the state is unchanged after the raise.
"""

from __future__ import annotations

import math
import re
import types
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import glassgrad as gg
import glassgrad.nn.functional as F

NAN = float("nan")
INF = float("inf")


def _api(m):
    if m is torch:
        return types.SimpleNamespace(
            m=torch,
            F=TF,
            nn=torch.nn,
            optim=torch.optim,
            sched=torch.optim.lr_scheduler,
            data=torch.utils.data,
            save=torch.save,
            load=torch.load,
            gg=False,
        )
    return types.SimpleNamespace(
        m=gg,
        F=F,
        nn=gg.nn,
        optim=gg.optim,
        sched=gg.optim.lr_scheduler,
        data=gg.data,
        save=gg.save,
        load=gg.load,
        gg=True,
    )


TORCH = _api(torch)
OURS = _api(gg)


@dataclass
class Bad:
    """One bad call: ``call(a)`` with ``a`` the API namespace (a.m is gg or torch, a.F, a.nn, a.optim ...).

    ``message`` is a regex our message must match (the API name and the offending value/shape).
    ``torch_raises=False``: PyTorch accepts the call; ``why`` says why we raise anyway.
    ``setup``: for stateful cases, ``setup(a)`` builds the object; the call is then ``call(a, obj)``
    and the object's state (tensors, parameters, buffers, optimizer state, file bytes) must not change.
    """

    name: str
    call: Callable[..., Any]
    message: str
    setup: Callable[[Any], Any] | None = None
    torch_raises: bool = True
    why: str = ""
    other_type: str = ""  # why PyTorch's exception type differs from ours here (then only the message is checked)


def x(a, *shape):
    return a.m.ones(*(shape or (2, 3)))


def r(a, *shape):
    return a.m.arange(float(np.prod(shape or (2, 3)))).reshape(*(shape or (2, 3)))


def lin(a):
    a.m.manual_seed(0)
    return a.nn.Linear(3, 2)


def params(a):
    return [a.nn.Parameter(a.m.ones(2, 3))]


def opt_with_state(a):
    p = a.nn.Parameter(a.m.ones(3))
    opt = a.optim.Adam([p], lr=0.1)
    p.grad = a.m.ones(3)
    opt.step()
    return opt


CASES: list[Bad] = [
    # ---------------------------------------------------------------- creation
    Bad("tensor ragged", lambda a: a.m.tensor([[1, 2], [3]]), r"tensor: .*"),
    Bad("tensor str data", lambda a: a.m.tensor("abc"), r"tensor: .*<U3"),
    Bad("tensor device tpu", lambda a: a.m.tensor([1.0], device="tpu"), r"tensor: .*'tpu'"),
    Bad("tensor dtype str", lambda a: a.m.tensor([1.0], dtype="float32"), r"tensor: .*dtype.*str"),
    Bad("tensor int requires_grad", lambda a: a.m.tensor([1, 2], requires_grad=True), r"tensor: .*int64"),
    Bad("zeros dtype str", lambda a: a.m.zeros(2, dtype="float32"), r"zeros: .*dtype.*str"),
    Bad("ones device tpu", lambda a: a.m.ones(2, device="tpu"), r"ones: .*'tpu'"),
    Bad("zeros device cuda:1", lambda a: a.m.zeros(2, device="cuda:x"), r"zeros: .*'cuda:x'"),
    Bad("full value str", lambda a: a.m.full((2,), "a"), r"full: .*'fill_value'.*str"),
    Bad("full size -1", lambda a: a.m.full((-1,), 1.0), r"full: .*-1"),
    Bad("zeros -2", lambda a: a.m.zeros(3, -2), r"zeros: .*-2"),
    Bad("ones size str", lambda a: a.m.ones("a"), r"ones: .*'a'"),
    Bad("empty float", lambda a: a.m.empty(1.5), r"empty: .*1.5"),
    Bad("eye m -1", lambda a: a.m.eye(2, -1), r"eye: .*-1"),
    Bad("eye str", lambda a: a.m.eye("2"), r"eye: .*str"),
    Bad("arange nan", lambda a: a.m.arange(0, NAN), r"arange: .*nan"),
    Bad("arange inf", lambda a: a.m.arange(0, INF), r"arange: .*inf"),
    Bad("arange step 0.0", lambda a: a.m.arange(0.0, 1.0, 0.0), r"arange: .*0"),
    Bad("linspace -1", lambda a: a.m.linspace(0, 1, -1), r"linspace: .*-1"),
    Bad("linspace str", lambda a: a.m.linspace(0, 1, "3"), r"linspace: .*str"),
    Bad("randn int dtype", lambda a: a.m.randn(2, dtype=a.m.int64), r"randn: .*int64"),
    Bad("rand int dtype", lambda a: a.m.rand(2, dtype=a.m.int64), r"rand: .*int64"),
    Bad("randint no size", lambda a: a.m.randint(0, 5), r"randint: .*size"),
    Bad("randperm float", lambda a: a.m.randperm(2.5), r"randperm: .*float"),
    Bad("zeros_like list", lambda a: a.m.zeros_like([1, 2]), r"zeros_like: .*list"),
    Bad("ones_like list", lambda a: a.m.ones_like([1.0]), r"ones_like: .*list"),
    Bad("full_like str", lambda a: a.m.full_like(x(a), "v"), r"full_like: .*str"),
    Bad("rand_like int", lambda a: a.m.rand_like(a.m.tensor([1, 2])), r"rand_like: .*int64"),
    Bad("from_numpy list", lambda a: a.m.from_numpy([1, 2]), r"from_numpy: .*list"),
    Bad("from_numpy object", lambda a: a.m.from_numpy(np.array(["a"], dtype=object)), r"from_numpy: .*object"),
    Bad("manual_seed str", lambda a: a.m.manual_seed("x"), r"manual_seed: .*'x'"),
    Bad("one_hot -1", lambda a: a.F.one_hot(a.m.tensor([-1, 0])), r"one_hot: .*-1"),
    Bad("one_hot too few classes", lambda a: a.F.one_hot(a.m.tensor([3]), 2), r"one_hot: .*3.*2|one_hot: .*2.*3"),
    Bad("one_hot float", lambda a: a.F.one_hot(a.m.tensor([1.0]), 3), r"one_hot: .*(int64|float)"),
    Bad("one_hot classes -2", lambda a: a.F.one_hot(a.m.tensor([1]), -2), r"one_hot: .*-2"),
    # ---------------------------------------------------------------- broadcasting, elementwise
    Bad("add broadcast", lambda a: x(a, 2, 3) + x(a, 4), r"add: .*\(2, 3\).*\(4,\)"),
    Bad("sub broadcast", lambda a: x(a, 2, 3) - x(a, 2), r"sub: .*\(2, 3\).*\(2,\)"),
    Bad("mul broadcast", lambda a: x(a, 2, 3) * x(a, 3, 2), r"mul: .*\(2, 3\).*\(3, 2\)"),
    Bad("div broadcast", lambda a: x(a, 2, 3) / x(a, 5), r"div: .*\(2, 3\).*\(5,\)"),
    Bad("pow broadcast", lambda a: x(a, 2, 3) ** x(a, 4), r"pow: .*\(2, 3\).*\(4,\)"),
    Bad("gg.add broadcast", lambda a: a.m.add(x(a, 2), x(a, 3)), r"add: .*\(2,\).*\(3,\)"),
    Bad("maximum broadcast", lambda a: a.m.maximum(x(a, 2), x(a, 3)), r"maximum: .*\(2,\).*\(3,\)"),
    Bad("minimum broadcast", lambda a: a.m.minimum(x(a, 2), x(a, 3)), r"minimum: .*\(2,\).*\(3,\)"),
    Bad("atan2 broadcast", lambda a: a.m.atan2(x(a, 2), x(a, 3)), r"atan2: .*\(2,\).*\(3,\)"),
    Bad("hypot broadcast", lambda a: a.m.hypot(x(a, 2), x(a, 3)), r"hypot: .*\(2,\).*\(3,\)"),
    Bad("fmod broadcast", lambda a: a.m.fmod(x(a, 2), x(a, 3)), r"fmod: .*\(2,\).*\(3,\)"),
    Bad("remainder broadcast", lambda a: a.m.remainder(x(a, 2), x(a, 3)), r"remainder: .*\(2,\).*\(3,\)"),
    Bad("copysign broadcast", lambda a: a.m.copysign(x(a, 2), x(a, 3)), r"copysign: .*\(2,\).*\(3,\)"),
    Bad("logaddexp broadcast", lambda a: a.m.logaddexp(x(a, 2), x(a, 3)), r"logaddexp: .*\(2,\).*\(3,\)"),
    Bad("eq broadcast", lambda a: x(a, 2) == x(a, 3), r"eq: .*\(2,\).*\(3,\)"),
    Bad("lt broadcast", lambda a: x(a, 2) < x(a, 3), r"lt: .*\(2,\).*\(3,\)"),
    Bad("ge broadcast", lambda a: a.m.ge(x(a, 2), x(a, 3)), r"ge: .*\(2,\).*\(3,\)"),
    Bad("isclose broadcast", lambda a: a.m.isclose(x(a, 2), x(a, 3)), r"isclose: .*\(2,\).*\(3,\)"),
    Bad("logical_and broadcast", lambda a: a.m.logical_and(x(a, 2), x(a, 3)), r"logical_and: .*\(2,\).*\(3,\)"),
    Bad(
        "bitwise_and broadcast",
        lambda a: a.m.bitwise_and(a.m.tensor([1, 2]), a.m.tensor([1, 2, 3])),
        r"bitwise_and: .*\(2,\).*\(3,\)",
    ),
    Bad("bitwise_and float", lambda a: a.m.bitwise_and(x(a, 2), x(a, 2)), r"bitwise_and: .*float"),
    Bad("bitwise_not float", lambda a: a.m.bitwise_not(x(a, 2)), r"bitwise_not: .*float"),
    Bad("lerp broadcast", lambda a: a.m.lerp(x(a, 2), x(a, 3), 0.5), r"lerp: .*\(2,\).*\(3,\)"),
    Bad("where broadcast", lambda a: a.m.where(x(a, 2) > 0, x(a, 3), x(a, 4)), r"where: .*\(2,\).*\(3,\)"),
    Bad("where float cond", lambda a: a.m.where(x(a, 2), x(a, 2), x(a, 2)), r"where: .*float"),
    Bad(
        "masked_fill broadcast", lambda a: x(a, 2, 3).masked_fill(x(a, 4) > 0, 0.0), r"masked_fill: .*\(2, 3\).*\(4,\)"
    ),
    Bad("masked_fill float mask", lambda a: x(a, 2).masked_fill(x(a, 2), 0.0), r"masked_fill: .*float"),
    Bad(
        "masked_fill value 1-d",
        lambda a: x(a, 2).masked_fill(x(a, 2) > 0, a.m.ones(2)),
        r"masked_fill: .*1 dimension",
    ),
    Bad("clamp no bounds", lambda a: x(a).clamp(), r"clamp: .*min.*max"),
    Bad("clamp tensor broadcast", lambda a: x(a, 2, 3).clamp(min=x(a, 4)), r"clamp: .*\(2, 3\).*\(4,\)"),
    Bad("add alpha str", lambda a: a.m.add(x(a), x(a), alpha="2"), r"add: .*alpha.*str"),
    Bad("add str", lambda a: x(a) + "a", r"add: .*str"),
    Bad("mul list of str", lambda a: a.m.mul(x(a), "b"), r"mul: .*str"),
    Bad("sub bool", lambda a: a.m.tensor([True]) - a.m.tensor([False]), r"sub: .*bool"),
    Bad("neg bool", lambda a: -a.m.tensor([True]), r"neg: .*bool"),
    Bad("abs bool", lambda a: a.m.abs(a.m.tensor([True])), r"abs: .*bool"),
    Bad("round decimals float", lambda a: a.m.round(x(a), decimals=1.5), r"round: .*decimals.*float"),
    Bad("nan_to_num str", lambda a: a.m.nan_to_num(x(a), nan="0"), r"nan_to_num: .*str"),
    Bad("floor_divide broadcast", lambda a: a.m.floor_divide(x(a, 2), x(a, 3)), r"floor_divide: .*\(2,\).*\(3,\)"),
    # ---------------------------------------------------------------- shape ops
    Bad("reshape 7", lambda a: x(a).reshape(7), r"reshape: .*\(7,\).*\(2, 3\)|reshape: .*7"),
    Bad("view 5", lambda a: x(a).view(5), r"view: .*5"),
    Bad("expand shrink", lambda a: x(a, 2, 3).expand(2, 4), r"expand: .*\(2, 4\)|expand: .*4.*3"),
    Bad("expand fewer dims", lambda a: x(a, 2, 3).expand(3), r"expand: .*"),
    Bad("expand -1 new dim", lambda a: x(a, 3).expand(-1, 3), r"expand: .*-1"),
    Bad("broadcast_to", lambda a: a.m.broadcast_to(x(a, 2, 3), (3, 3)), r"broadcast_to: .*\(3, 3\)|broadcast_to: .*3"),
    Bad("broadcast_tensors", lambda a: a.m.broadcast_tensors(x(a, 2), x(a, 3)), r"broadcast_tensors: .*\(2,\).*\(3,\)"),
    Bad("expand_as", lambda a: x(a, 2, 3).expand_as(x(a, 4)), r"expand_as: .*|expand: .*"),
    Bad("cat shapes", lambda a: a.m.cat([x(a, 2, 3), x(a, 2, 4)], 0), r"cat: .*3.*4|cat: .*\(2, 3\).*\(2, 4\)"),
    Bad("cat non-tensor", lambda a: a.m.cat([x(a, 2), [1.0, 2.0]]), r"cat: .*list"),
    Bad("cat empty", lambda a: a.m.cat([]), r"cat: .*"),
    Bad("cat tensor arg", lambda a: a.m.cat(x(a, 2)), r"cat: .*Tensor"),
    Bad("cat ndims", lambda a: a.m.cat([x(a, 2, 3), x(a, 3)]), r"cat: .*"),
    Bad("stack shapes", lambda a: a.m.stack([x(a, 2), x(a, 3)]), r"stack: .*\(2,\).*\(3,\)|stack: .*\[2\].*\[3\]"),
    Bad("stack empty", lambda a: a.m.stack([]), r"stack: .*"),
    Bad("stack non-tensor", lambda a: a.m.stack([x(a, 2), 3]), r"stack: .*int"),
    Bad("split sizes sum", lambda a: x(a, 5).split([2, 2]), r"split: .*\[2, 2\].*5|split: .*5.*\[2, 2\]"),
    Bad("permute count", lambda a: x(a, 2, 3).permute(0), r"permute: .*"),
    Bad("permute repeat", lambda a: x(a, 2, 3).permute(0, 0), r"permute: .*0"),
    Bad("permute range", lambda a: x(a, 2, 3).permute(0, 2), r"permute: .*2"),
    Bad("transpose range", lambda a: x(a, 2, 3).transpose(0, 2), r"transpose: .*2"),
    Bad("swapaxes range", lambda a: x(a, 2, 3).swapaxes(0, -3), r"swapaxes: .*-3"),
    Bad("squeeze range", lambda a: x(a, 2, 3).squeeze(2), r"squeeze: .*2"),
    Bad("unsqueeze range", lambda a: x(a, 2, 3).unsqueeze(-4), r"unsqueeze: .*-4"),
    Bad("flatten start>end", lambda a: x(a, 2, 3, 4).flatten(2, 1), r"flatten: .*start_dim.*end_dim"),
    Bad("flatten range", lambda a: x(a, 2, 3).flatten(0, 5), r"flatten: .*5"),
    Bad("unflatten product", lambda a: x(a, 2, 6).unflatten(1, (4, 2)), r"unflatten: .*\(4, 2\).*6"),
    Bad("gg.unflatten", lambda a: a.m.unflatten(x(a, 2, 6), 1, (5, -1)), r"unflatten: .*"),
    Bad("roll mismatch", lambda a: x(a, 2, 3).roll((1, 1), (0,)), r"roll: .*"),
    Bad("roll dim range", lambda a: x(a, 2, 3).roll(1, 2), r"roll: .*2"),
    Bad("rot90 dims", lambda a: x(a, 2, 3).rot90(1, (0, 0)), r"rot90: .*"),
    Bad("rot90 1-d", lambda a: x(a, 3).rot90(), r"rot90: .*"),
    Bad("repeat fewer dims", lambda a: x(a, 2, 3).repeat(2), r"repeat: .*"),
    Bad("repeat negative", lambda a: x(a, 2, 3).repeat(2, -1), r"repeat: .*-1"),
    Bad("repeat_interleave negative", lambda a: x(a, 3).repeat_interleave(-1), r"repeat_interleave: .*"),
    Bad("tril 1-d", lambda a: x(a, 3).tril(), r"tril: .*"),
    Bad("triu 1-d", lambda a: a.m.triu(x(a, 3)), r"triu: .*"),
    Bad("diag 3-d", lambda a: a.m.diag(x(a, 2, 2, 2)), r"diag: .*"),
    Bad("diagonal same dims", lambda a: x(a, 2, 3).diagonal(0, 0, 0), r"diagonal: .*0"),
    Bad("diag_embed same dims", lambda a: a.m.diag_embed(x(a, 3), 0, 0, 0), r"diag_embed: .*"),
    Bad("trace 1-d", lambda a: x(a, 3).trace(), r"trace: .*"),
    Bad("chunk negative", lambda a: x(a, 4).chunk(-1), r"chunk: .*-1"),
    Bad("narrow dim range", lambda a: x(a, 2, 3).narrow(2, 0, 1), r"narrow: .*2"),
    Bad("select getitem", lambda a: x(a, 2, 3)[:, 3], r"getitem: .*3"),
    Bad("getitem float", lambda a: x(a, 2, 3)[1.5], r"getitem: .*"),
    Bad("getitem str", lambda a: x(a, 2, 3)["a"], r"getitem: .*"),
    Bad("getitem bool mask shape", lambda a: x(a, 2, 3)[a.m.tensor([True, False, True])], r"getitem: .*"),
    Bad("meshgrid 2-d", lambda a: a.m.meshgrid(x(a, 2, 2), x(a, 2), indexing="ij"), r"meshgrid: .*"),
    Bad("meshgrid indexing", lambda a: a.m.meshgrid(x(a, 2), x(a, 2), indexing="zz"), r"meshgrid: .*zz"),
    Bad("view_as", lambda a: x(a, 2, 3).view_as(x(a, 4)), r"view_as: .*|view: .*"),
    Bad("reshape_as", lambda a: x(a, 2, 3).reshape_as(x(a, 4)), r"reshape_as: .*|reshape: .*"),
    Bad("flip repeated", lambda a: x(a, 2, 3).flip((0, 0)), r"flip: .*0"),
    Bad("t of 3-d", lambda a: a.m.t(x(a, 2, 2, 2)), r"t: .*"),
    Bad("contiguous fine then view", lambda a: x(a, 2, 3).T.view(-1), r"view: .*"),
    # ---------------------------------------------------------------- indexing, scatter
    Bad("gather ndim", lambda a: x(a, 2, 3).gather(1, a.m.tensor([0, 1])), r"gather: .*"),
    Bad("gather high", lambda a: x(a, 2, 3).gather(1, a.m.tensor([[0, 3]])), r"gather: .*3"),
    Bad("gather dim range", lambda a: x(a, 2, 3).gather(2, a.m.tensor([[0]])), r"gather: .*2"),
    Bad("gather index too big", lambda a: x(a, 2, 3).gather(1, a.m.zeros(3, 1, dtype=a.m.int64)), r"gather: .*"),
    Bad("index_select 2-d", lambda a: x(a, 2, 3).index_select(0, a.m.tensor([[0]])), r"index_select: .*"),
    Bad("index_select float", lambda a: x(a, 2, 3).index_select(0, a.m.tensor([0.0])), r"index_select: .*"),
    Bad("index_select oob", lambda a: x(a, 2, 3).index_select(0, a.m.tensor([2])), r"index_select: .*2"),
    Bad(
        "take_along_dim oob",
        lambda a: a.m.take_along_dim(x(a, 2, 3), a.m.tensor([[5]]), 1),
        r"take_along_dim: .*5",
        torch_raises=False,
        why="PyTorch's CPU take_along_dim does not bounds-check here and reads past the row; we refuse the index",
    ),
    Bad("masked_select shape", lambda a: x(a, 2, 3).masked_select(x(a, 4) > 0), r"masked_select: .*"),
    Bad("masked_select float", lambda a: x(a, 2, 3).masked_select(x(a, 2, 3)), r"masked_select: .*"),
    Bad("scatter oob", lambda a: x(a, 2, 3).scatter(1, a.m.tensor([[3]]), 0.0), r"scatter: .*3"),
    Bad("scatter float index", lambda a: x(a, 2, 3).scatter(1, a.m.tensor([[0.0]]), 0.0), r"scatter: .*"),
    Bad(
        "scatter src small",
        lambda a: x(a, 2, 3).scatter(1, a.m.zeros(2, 3, dtype=a.m.int64), x(a, 1, 1)),
        r"scatter: .*",
    ),
    Bad("scatter_add oob", lambda a: x(a, 3).scatter_add(0, a.m.tensor([4]), x(a, 1)), r"scatter_add: .*4"),
    Bad(
        "scatter_reduce bad reduce",
        lambda a: x(a, 3).scatter_reduce(0, a.m.tensor([0]), x(a, 1), "median"),
        r"scatter_reduce: .*'median'",
    ),
    Bad("index_add source shape", lambda a: x(a, 3, 2).index_add(0, a.m.tensor([0]), x(a, 1, 3)), r"index_add: .*"),
    Bad("index_add oob", lambda a: x(a, 3, 2).index_add(0, a.m.tensor([3]), x(a, 1, 2)), r"index_add: .*3"),
    Bad("index_fill oob", lambda a: x(a, 3).index_fill(0, a.m.tensor([3]), 1.0), r"index_fill: .*3"),
    Bad("index_copy shape", lambda a: x(a, 3, 2).index_copy(0, a.m.tensor([0]), x(a, 2, 2)), r"index_copy: .*"),
    Bad(
        "masked_scatter src small",
        lambda a: x(a, 3).masked_scatter(a.m.tensor([True, True, True]), x(a, 2)),
        r"masked_scatter: .*",
    ),
    Bad("nonzero as_tuple str", lambda a: a.m.nonzero(x(a), as_tuple="y"), r"nonzero: .*"),
    # ---------------------------------------------------------------- reductions, sorting, cumulative
    Bad("sum dim range", lambda a: x(a).sum(-3), r"sum: .*-3"),
    Bad("mean dim list bad", lambda a: x(a).mean((0, 2)), r"mean: .*2"),
    Bad("amax empty", lambda a: a.m.ones(0).amax(), r"amax: .*"),
    Bad("max empty", lambda a: a.m.ones(0).max(), r"max: .*"),
    Bad("argmax empty", lambda a: a.m.ones(0).argmax(), r"argmax: .*"),
    Bad("min dim range", lambda a: x(a).min(2), r"min: .*2"),
    Bad("prod dim range", lambda a: x(a).prod(4), r"prod: .*4"),
    Bad("any dim range", lambda a: (x(a) > 0).any(3), r"any: .*3"),
    Bad("std dim range", lambda a: x(a).std(2), r"std: .*2"),
    Bad("var correction str", lambda a: x(a).var(correction="a"), r"var: .*"),
    Bad("norm p str", lambda a: x(a).norm(p="nuc2"), r"norm: .*'nuc2'"),
    Bad("cumsum no dim", lambda a: x(a).cumsum(), r"cumsum: .*dim"),
    Bad("cumsum dim range", lambda a: x(a).cumsum(2), r"cumsum: .*2"),
    Bad("cumprod dim float", lambda a: x(a).cumprod(1.5), r"cumprod: .*float"),
    Bad("cummax dim range", lambda a: x(a).cummax(3), r"cummax: .*3"),
    Bad("cummin no dim", lambda a: a.m.cummin(x(a)), r"cummin: .*dim"),
    Bad("logcumsumexp dim range", lambda a: x(a).logcumsumexp(5), r"logcumsumexp: .*5"),
    Bad("sort dim range", lambda a: x(a).sort(2), r"sort: .*2"),
    Bad("argsort dim range", lambda a: x(a).argsort(-3), r"argsort: .*-3"),
    Bad("topk k too big", lambda a: x(a, 3).topk(4), r"topk: .*4"),
    Bad("topk k negative", lambda a: x(a, 3).topk(-1), r"topk: .*-1"),
    Bad("topk dim range", lambda a: x(a, 3).topk(1, dim=1), r"topk: .*1"),
    Bad("kthvalue k 0", lambda a: x(a, 3).kthvalue(0), r"kthvalue: .*0"),
    Bad("kthvalue k big", lambda a: x(a, 3).kthvalue(4), r"kthvalue: .*4"),
    Bad("median dim range", lambda a: x(a).median(2), r"median: .*2"),
    Bad("median empty", lambda a: a.m.ones(0).median(0), r"median: .*"),
    # ---------------------------------------------------------------- linalg
    Bad("matmul shapes", lambda a: x(a, 2, 3) @ x(a, 2, 3), r"matmul: .*2x3.*2x3|matmul: .*\(2, 3\).*\(2, 3\)"),
    Bad("matmul 0-d", lambda a: a.m.matmul(a.m.tensor(1.0), x(a, 2)), r"matmul: .*"),
    Bad("matmul 1-d sizes", lambda a: a.m.matmul(x(a, 2), x(a, 3)), r"matmul: .*"),
    Bad("matmul batch", lambda a: a.m.matmul(x(a, 2, 2, 3), x(a, 3, 3, 2)), r"matmul: .*"),
    Bad("matmul dtypes", lambda a: a.m.matmul(x(a, 2, 2), x(a, 2, 2).double()), r"matmul: .*float"),
    Bad("dot 2-d", lambda a: a.m.dot(x(a, 2, 2), x(a, 2, 2)), r"dot: .*"),
    Bad("dot sizes", lambda a: a.m.dot(x(a, 2), x(a, 3)), r"dot: .*"),
    Bad("dot dtypes", lambda a: a.m.dot(x(a, 2), x(a, 2).double()), r"dot: .*"),
    Bad("outer 2-d", lambda a: a.m.outer(x(a, 2, 2), x(a, 2)), r"outer: .*"),
    Bad("mm shapes", lambda a: x(a, 2, 3).mm(x(a, 2, 3)), r"mm: .*"),
    Bad("bmm shapes", lambda a: a.m.bmm(x(a, 2, 2, 3), x(a, 2, 2, 3)), r"bmm: .*"),
    Bad("einsum operands", lambda a: a.m.einsum("ij,jk->ik", x(a, 2, 3)), r"einsum: .*"),
    Bad("einsum sizes", lambda a: a.m.einsum("ij,jk->ik", x(a, 2, 3), x(a, 4, 2)), r"einsum: .*"),
    Bad("einsum ndim", lambda a: a.m.einsum("ijk->i", x(a, 2, 3)), r"einsum: .*"),
    Bad("einsum bad output", lambda a: a.m.einsum("ij->k", x(a, 2, 3)), r"einsum: .*k"),
    # ---------------------------------------------------------------- F.*
    Bad("F.linear shapes", lambda a: a.F.linear(x(a, 2, 3), x(a, 4, 2)), r"linear: .*"),
    Bad("F.linear bias", lambda a: a.F.linear(x(a, 2, 3), x(a, 4, 3), x(a, 5)), r"linear: .*"),
    Bad("F.conv2d channels", lambda a: a.F.conv2d(x(a, 1, 3, 5, 5), x(a, 2, 2, 3, 3)), r"conv2d: .*"),
    Bad("F.conv2d weight 3-d", lambda a: a.F.conv2d(x(a, 1, 3, 5, 5), x(a, 2, 3, 3)), r"conv2d: .*"),
    Bad("F.conv2d stride 0", lambda a: a.F.conv2d(x(a, 1, 1, 5, 5), x(a, 1, 1, 3, 3), stride=0), r"conv2d: .*stride"),
    Bad("F.conv2d padding -1", lambda a: a.F.conv2d(x(a, 1, 1, 5, 5), x(a, 1, 1, 3, 3), padding=-1), r"conv2d: .*"),
    Bad("F.conv2d kernel big", lambda a: a.F.conv2d(x(a, 1, 1, 2, 2), x(a, 1, 1, 3, 3)), r"conv2d: .*"),
    Bad("F.conv2d groups", lambda a: a.F.conv2d(x(a, 1, 4, 5, 5), x(a, 3, 2, 3, 3), groups=2), r"conv2d: .*"),
    Bad("F.conv2d bias size", lambda a: a.F.conv2d(x(a, 1, 1, 5, 5), x(a, 2, 1, 3, 3), x(a, 3)), r"conv2d: .*"),
    Bad("F.conv2d 2-d input", lambda a: a.F.conv2d(x(a, 5, 5), x(a, 1, 1, 3, 3)), r"conv2d: .*"),
    Bad(
        "F.conv2d padding str", lambda a: a.F.conv2d(x(a, 1, 1, 5, 5), x(a, 1, 1, 3, 3), padding="full"), r"conv2d: .*"
    ),
    Bad("F.conv1d channels", lambda a: a.F.conv1d(x(a, 1, 3, 5), x(a, 2, 2, 3)), r"conv1d: .*"),
    Bad("F.conv1d stride 0", lambda a: a.F.conv1d(x(a, 1, 1, 5), x(a, 1, 1, 3), stride=0), r"conv1d: .*"),
    Bad("F.conv1d kernel big", lambda a: a.F.conv1d(x(a, 1, 1, 2), x(a, 1, 1, 3)), r"conv1d: .*"),
    Bad(
        "F.conv_transpose2d ch",
        lambda a: a.F.conv_transpose2d(x(a, 1, 3, 4, 4), x(a, 2, 2, 3, 3)),
        r"conv_transpose2d: .*",
    ),
    Bad("F.max_pool2d kernel big", lambda a: a.F.max_pool2d(x(a, 1, 1, 2, 2), 3), r"max_pool2d: .*"),
    Bad("F.max_pool2d kernel 0", lambda a: a.F.max_pool2d(x(a, 1, 1, 4, 4), 0), r"max_pool2d: .*"),
    Bad("F.max_pool2d stride 0", lambda a: a.F.max_pool2d(x(a, 1, 1, 4, 4), 2, 0), r"max_pool2d: .*"),
    Bad("F.max_pool2d padding", lambda a: a.F.max_pool2d(x(a, 1, 1, 4, 4), 2, padding=2), r"max_pool2d: .*"),
    Bad("F.max_pool1d kernel big", lambda a: a.F.max_pool1d(x(a, 1, 1, 2), 3), r"max_pool1d: .*"),
    Bad("F.avg_pool2d padding", lambda a: a.F.avg_pool2d(x(a, 1, 1, 4, 4), 2, padding=2), r"avg_pool2d: .*"),
    Bad("F.avg_pool2d kernel big", lambda a: a.F.avg_pool2d(x(a, 1, 1, 2, 2), 3), r"avg_pool2d: .*"),
    Bad("F.avg_pool1d 4-d", lambda a: a.F.avg_pool1d(x(a, 1, 1, 4, 4), 2), r"avg_pool1d: .*"),
    Bad("F.adaptive_avg_pool2d 2-d", lambda a: a.F.adaptive_avg_pool2d(x(a, 4, 4), 2), r"adaptive_avg_pool2d: .*"),
    Bad(
        "F.adaptive_avg_pool2d -1", lambda a: a.F.adaptive_avg_pool2d(x(a, 1, 1, 4, 4), -1), r"adaptive_avg_pool2d: .*"
    ),
    Bad(
        "F.batch_norm running size",
        lambda a: a.F.batch_norm(x(a, 2, 3), a.m.zeros(4), a.m.ones(4)),
        r"batch_norm: .*",
    ),
    Bad("F.layer_norm shape", lambda a: a.F.layer_norm(x(a, 2, 3), (4,)), r"layer_norm: .*"),
    Bad("F.layer_norm weight", lambda a: a.F.layer_norm(x(a, 2, 3), (3,), x(a, 4)), r"layer_norm: .*"),
    Bad("F.group_norm groups", lambda a: a.F.group_norm(x(a, 2, 4, 3), 3), r"group_norm: .*"),
    Bad("F.rms_norm shape", lambda a: a.F.rms_norm(x(a, 2, 3), (4,)), r"rms_norm: .*"),
    Bad("F.embedding oob", lambda a: a.F.embedding(a.m.tensor([5]), x(a, 4, 2)), r"embedding: .*5"),
    Bad("F.embedding float idx", lambda a: a.F.embedding(a.m.tensor([1.0]), x(a, 4, 2)), r"embedding: .*"),
    Bad("F.embedding negative", lambda a: a.F.embedding(a.m.tensor([-1]), x(a, 4, 2)), r"embedding: .*-1"),
    Bad("F.dropout p 1.5", lambda a: a.F.dropout(x(a), 1.5), r"dropout: .*1.5"),
    Bad("F.dropout p -0.1", lambda a: a.F.dropout(x(a), -0.1), r"dropout: .*-0.1"),
    Bad("F.softmax dim range", lambda a: a.F.softmax(x(a), 2), r"softmax: .*2"),
    Bad("F.log_softmax dim range", lambda a: a.F.log_softmax(x(a), -3), r"log_softmax: .*-3"),
    Bad(
        "F.cross_entropy target oob",
        lambda a: a.F.cross_entropy(x(a, 2, 3), a.m.tensor([0, 3])),
        r"cross_entropy: .*3",
    ),
    Bad(
        "F.cross_entropy batch",
        lambda a: a.F.cross_entropy(x(a, 2, 3), a.m.tensor([0, 1, 2])),
        r"cross_entropy: .*",
    ),
    Bad(
        "F.cross_entropy reduction",
        lambda a: a.F.cross_entropy(x(a, 2, 3), a.m.tensor([0, 1]), reduction="avg"),
        r"cross_entropy: .*'avg'",
    ),
    Bad(
        "F.cross_entropy smoothing",
        lambda a: a.F.cross_entropy(x(a, 2, 3), a.m.tensor([0, 1]), label_smoothing=1.5),
        r"cross_entropy: .*1.5",
    ),
    Bad("F.nll_loss target oob", lambda a: a.F.nll_loss(x(a, 2, 3), a.m.tensor([0, -5])), r"nll_loss: .*-5"),
    Bad("F.nll_loss float target", lambda a: a.F.nll_loss(x(a, 2, 3), a.m.tensor([0.0, 1.0])), r"nll_loss: .*"),
    Bad("F.mse_loss reduction", lambda a: a.F.mse_loss(x(a), x(a), reduction="x"), r"mse_loss: .*'x'"),
    Bad("F.mse_loss broadcast", lambda a: a.F.mse_loss(x(a, 2, 3), x(a, 4)), r"mse_loss: .*"),
    Bad("F.l1_loss broadcast", lambda a: a.F.l1_loss(x(a, 2, 3), x(a, 4)), r"l1_loss: .*"),
    Bad("F.bce out of range", lambda a: a.F.binary_cross_entropy(x(a) * 2, x(a)), r"binary_cross_entropy: .*"),
    Bad("F.bce shape", lambda a: a.F.binary_cross_entropy(x(a, 2) * 0.5, x(a, 3)), r"binary_cross_entropy: .*"),
    Bad(
        "F.bce_logits shape",
        lambda a: a.F.binary_cross_entropy_with_logits(x(a, 2), x(a, 3)),
        r"binary_cross_entropy_with_logits: .*",
    ),
    Bad("F.kl_div reduction", lambda a: a.F.kl_div(x(a), x(a), reduction="x"), r"kl_div: .*'x'"),
    Bad("F.huber_loss delta", lambda a: a.F.huber_loss(x(a), x(a), delta=-1.0), r"huber_loss: .*-1"),
    Bad("F.pad odd", lambda a: a.F.pad(x(a), (1,)), r"pad: .*"),
    Bad("F.pad mode", lambda a: a.F.pad(x(a), (1, 1), mode="wrap"), r"pad: .*'wrap'"),
    Bad("F.pad reflect big", lambda a: a.F.pad(x(a, 1, 2, 3), (3, 3), mode="reflect"), r"pad: .*"),
    Bad(
        "F.interpolate size and scale",
        lambda a: a.F.interpolate(x(a, 1, 1, 4, 4), size=2, scale_factor=2.0),
        r"interpolate: .*",
    ),
    Bad(
        "F.interpolate mode", lambda a: a.F.interpolate(x(a, 1, 1, 4, 4), size=2, mode="cubic"), r"interpolate: .*cubic"
    ),
    Bad("F.interpolate neither", lambda a: a.F.interpolate(x(a, 1, 1, 4, 4)), r"interpolate: .*"),
    Bad(
        "F.sdpa scale str",
        lambda a: a.F.scaled_dot_product_attention(x(a, 1, 2, 4), x(a, 1, 2, 4), x(a, 1, 2, 4), scale="x"),
        r"scaled_dot_product_attention: .*scale.*str",
    ),
    Bad(
        "F.sdpa shapes",
        lambda a: a.F.scaled_dot_product_attention(x(a, 1, 2, 4), x(a, 1, 2, 5), x(a, 1, 2, 5)),
        r"scaled_dot_product_attention: .*",
    ),
    Bad(
        "F.sdpa dropout_p",
        lambda a: a.F.scaled_dot_product_attention(x(a, 1, 2, 4), x(a, 1, 2, 4), x(a, 1, 2, 4), dropout_p="a"),
        r"scaled_dot_product_attention: .*",
    ),
    Bad("F.pixel_shuffle", lambda a: a.F.pixel_shuffle(x(a, 1, 3, 2, 2), 2), r"pixel_shuffle: .*"),
    Bad("F.pixel_unshuffle", lambda a: a.F.pixel_unshuffle(x(a, 1, 1, 3, 3), 2), r"pixel_unshuffle: .*"),
    Bad(
        "F.unfold 3-d",
        lambda a: a.F.unfold(x(a, 1, 4, 4), 2)[None] if False else a.F.unfold(x(a, 4, 4), 2),
        r"unfold: .*",
    ),
    Bad("F.fold size", lambda a: a.F.fold(x(a, 1, 4, 5), (3, 3), 2), r"fold: .*"),
    Bad("F.gelu approximate", lambda a: a.F.gelu(x(a), approximate="fast"), r"gelu: .*'fast'"),
    Bad("F.glu odd", lambda a: a.F.glu(x(a, 2, 3)), r"glu: .*"),
    Bad("F.hardtanh bounds", lambda a: a.F.hardtanh(x(a), 1.0, -1.0), r"hardtanh: .*"),
    Bad("F.softmax int", lambda a: a.F.softmax(a.m.tensor([1, 2]), 0), r"softmax: .*int64"),
    Bad("F.prelu weight", lambda a: a.F.prelu(x(a, 2, 3), x(a, 2)), r"prelu: .*"),
    Bad("F.normalize dim", lambda a: a.F.normalize(x(a), dim=3), r"normalize: .*3"),
    Bad("F.relu str", lambda a: a.F.relu("x"), r"relu: .*str"),
    Bad("F.leaky_relu slope str", lambda a: a.F.leaky_relu(x(a), "a"), r"leaky_relu: .*"),
    # ---------------------------------------------------------------- more: structure, cumulative, sorting, pools, fold
    Bad("cumsum dtype str", lambda a: x(a).cumsum(0, dtype="x"), r"cumsum: .*dtype"),
    Bad("cumprod dim out", lambda a: a.m.cumprod(x(a), -3), r"cumprod: .*-3"),
    Bad("sort stable str", lambda a: x(a).sort(stable="x"), r"sort: .*stable"),
    Bad("topk k float", lambda a: x(a, 3).topk(1.5), r"topk: .*float"),
    Bad("argsort descending str", lambda a: x(a).argsort(descending="x"), r"argsort: .*descending"),
    Bad("einsum non-tensor", lambda a: a.m.einsum("i->i", [1.0, 2.0]), r"einsum: .*operand 0"),
    Bad("einsum bad char", lambda a: a.m.einsum("i1->i", x(a, 2, 3)), r"einsum: .*1"),
    Bad("repeat_interleave sizes", lambda a: x(a, 3).repeat_interleave(a.m.tensor([1, 2])), r"repeat_interleave: .*"),
    Bad("tril diagonal float", lambda a: x(a).tril(1.5), r"tril: .*float"),
    Bad("roll no dims mismatch", lambda a: x(a).roll((1, 2)), r"roll: .*"),
    Bad("bitwise_left_shift float", lambda a: a.m.bitwise_left_shift(x(a), 1), r"bitwise_left_shift: .*float"),
    Bad(
        "floor_divide int by 0",
        lambda a: a.m.tensor([1, 2]) // 0,
        r"ZeroDivisionError.*floor_divide|floor_divide: .*zero",
    ),
    Bad("remainder int by 0", lambda a: a.m.tensor([1, 2]) % 0, r"ZeroDivisionError.*remainder|remainder: .*zero"),
    Bad("scatter reduce bad", lambda a: x(a, 3).scatter(0, a.m.tensor([0]), 1.0, reduce="sum"), r"scatter: .*'sum'"),
    Bad("index_add alpha str", lambda a: x(a, 3).index_add(0, a.m.tensor([0]), x(a, 1), alpha="x"), r"index_add: .*"),
    Bad("diag_embed dim range", lambda a: a.m.diag_embed(x(a, 3), 0, 0, 5), r"diag_embed: .*5"),
    Bad("F.unfold kernel 0", lambda a: a.F.unfold(x(a, 1, 1, 4, 4), 0), r"unfold: .*"),
    Bad("F.fold stride 0", lambda a: a.F.fold(x(a, 1, 4, 4), (3, 3), 2, stride=0), r"fold: .*"),
    Bad("F.max_pool2d dilation 0", lambda a: a.F.max_pool2d(x(a, 1, 1, 4, 4), 2, dilation=0), r"max_pool2d: .*"),
    Bad("F.avg_pool2d stride 0", lambda a: a.F.avg_pool2d(x(a, 1, 1, 4, 4), 2, 0), r"avg_pool2d: .*"),
    Bad("F.max_pool2d 2-d", lambda a: a.F.max_pool2d(x(a, 4, 4), 2), r"max_pool2d: .*"),
    Bad("F.max_pool1d stride 0", lambda a: a.F.max_pool1d(x(a, 1, 1, 4), 2, 0), r"max_pool1d: .*"),
    Bad("F.dropout non-tensor", lambda a: a.F.dropout([1.0], 0.5), r"dropout: .*list"),
    Bad(
        "F.conv_transpose2d stride 0",
        lambda a: a.F.conv_transpose2d(x(a, 1, 1, 3, 3), x(a, 1, 1, 2, 2), stride=0),
        r"conv_transpose2d: .*",
    ),
    Bad("F.conv2d dilation 0", lambda a: a.F.conv2d(x(a, 1, 1, 5, 5), x(a, 1, 1, 3, 3), dilation=0), r"conv2d: .*"),
    Bad("F.group_norm weight", lambda a: a.F.group_norm(x(a, 2, 4, 3), 2, x(a, 3)), r"group_norm: .*"),
    Bad(
        "F.batch_norm weight",
        lambda a: a.F.batch_norm(x(a, 2, 3), None, None, x(a, 4), training=True),
        r"batch_norm: .*",
    ),
    Bad("MaxPool2d 2-d", lambda a: a.nn.MaxPool2d(2)(x(a, 4, 4)), r"MaxPool2d: .*|max_pool2d: .*"),
    Bad("Fold stride 0", lambda a: a.nn.Fold((3, 3), 2, stride=0)(x(a, 1, 4, 4)), r"Fold: .*|fold: .*"),
    Bad("Unfold 2-d", lambda a: a.nn.Unfold(2)(x(a, 4, 4)), r"Unfold: .*|unfold: .*"),
    Bad(
        "SGD nesterov dampening",
        lambda a: a.optim.SGD(params(a), 0.1, momentum=0.9, dampening=0.5, nesterov=True),
        r"SGD: .*[Nn]esterov",
    ),
    Bad(
        "Optimizer.load_state_dict no state",
        lambda a: a.optim.SGD(params(a), 0.1).load_state_dict({"param_groups": []}),
        r"load_state_dict: .*",
    ),
    Bad(
        "register_buffer non-tensor",
        lambda a: a.nn.Linear(2, 2).register_buffer("b", 3),
        r"buffer.*'b'|register_buffer: .*int",
    ),
    Bad("ModuleDict non-module", lambda a: a.nn.ModuleDict({"a": 3}), r"ModuleDict.*int|int is not a Module"),
    Bad(
        "default_collate dict keys",
        lambda a: (a.data.default_collate if a.gg else torch.utils.data.default_collate)(
            [{"a": a.m.ones(1)}, {"b": a.m.ones(1)}]
        ),
        r"'a'",
    ),
    # ---------------------------------------------------------------- nn constructors
    Bad("Linear(-1)", lambda a: a.nn.Linear(-1, 2), r"Linear: .*-1"),
    Bad("Linear(2.5)", lambda a: a.nn.Linear(2.5, 3), r"Linear: .*2.5"),
    Bad("Linear(str)", lambda a: a.nn.Linear("3", 3), r"Linear: .*str|Linear: .*'3'"),
    Bad(
        "Conv2d kernel 0",
        lambda a: a.nn.Conv2d(3, 4, 0),
        r"Conv2d: .*0",
        torch_raises=False,
        why="PyTorch builds an empty (4, 3, 0, 0) weight and fails only at forward; we refuse it when it is made",
    ),
    Bad("Conv2d groups", lambda a: a.nn.Conv2d(3, 4, 3, groups=2), r"Conv2d: .*groups"),
    Bad("Conv2d groups out", lambda a: a.nn.Conv2d(4, 3, 3, groups=2), r"Conv2d: .*groups"),
    Bad("Conv2d padding_mode", lambda a: a.nn.Conv2d(1, 1, 3, padding_mode="wrap"), r"Conv2d: .*'wrap'"),
    Bad("Conv2d padding str", lambda a: a.nn.Conv2d(1, 1, 3, padding="full"), r"Conv2d: .*'full'"),
    Bad("Conv2d same stride", lambda a: a.nn.Conv2d(1, 1, 3, padding="same", stride=2), r"Conv2d: .*same"),
    Bad("Conv2d groups 0", lambda a: a.nn.Conv2d(1, 1, 3, groups=0), r"Conv2d: .*groups"),
    Bad("Conv1d groups", lambda a: a.nn.Conv1d(3, 4, 3, groups=2), r"Conv1d: .*groups"),
    Bad("Conv1d padding_mode", lambda a: a.nn.Conv1d(1, 1, 3, padding_mode="x"), r"Conv1d: .*'x'"),
    Bad("ConvTranspose2d groups", lambda a: a.nn.ConvTranspose2d(3, 4, 3, groups=2), r"ConvTranspose2d: .*groups"),
    Bad("BatchNorm1d(-1)", lambda a: a.nn.BatchNorm1d(-1), r"BatchNorm1d: .*-1"),
    Bad("GroupNorm(3, 4)", lambda a: a.nn.GroupNorm(3, 4), r"GroupNorm: .*3.*4|GroupNorm: .*4.*3"),
    Bad("Embedding padding_idx", lambda a: a.nn.Embedding(4, 2, padding_idx=4), r"Embedding: .*padding_idx"),
    Bad("Embedding padding_idx neg", lambda a: a.nn.Embedding(4, 2, padding_idx=-5), r"Embedding: .*padding_idx"),
    Bad("Embedding(-1)", lambda a: a.nn.Embedding(-1, 2), r"Embedding: .*-1"),
    Bad("Dropout(2)", lambda a: a.nn.Dropout(2.0), r"Dropout: .*2"),
    Bad("Dropout(-1)", lambda a: a.nn.Dropout(-1.0), r"Dropout: .*-1"),
    Bad("LeakyReLU str", lambda a: a.nn.LeakyReLU("a")(x(a)), r"LeakyReLU: .*|leaky_relu: .*"),
    Bad("Softmax dim range", lambda a: a.nn.Softmax(dim=2)(x(a)), r"Softmax: .*2|softmax: .*2"),
    Bad("CrossEntropyLoss reduction", lambda a: a.nn.CrossEntropyLoss(reduction="x")(x(a), a.m.tensor([0, 1])), r"'x'"),
    Bad("MSELoss shapes", lambda a: a.nn.MSELoss()(x(a, 2, 3), x(a, 4)), r"MSELoss: .*|mse_loss: .*"),
    Bad("MaxPool2d big kernel", lambda a: a.nn.MaxPool2d(5)(x(a, 1, 1, 3, 3)), r"MaxPool2d: .*|max_pool2d: .*"),
    Bad("AvgPool2d stride 0", lambda a: a.nn.AvgPool2d(2, stride=0)(x(a, 1, 1, 4, 4)), r"AvgPool2d: .*|avg_pool2d: .*"),
    Bad("AdaptiveAvgPool2d 2-d", lambda a: a.nn.AdaptiveAvgPool2d(2)(x(a, 4, 4)), r"AdaptiveAvgPool2d: .*|adaptive"),
    Bad("Flatten 1-d", lambda a: a.nn.Flatten()(x(a, 3)), r"Flatten: .*|flatten: .*"),
    Bad("Unflatten", lambda a: a.nn.Unflatten(1, (2, 2))(x(a, 2, 6)), r"Unflatten: .*\(2, 2\)"),
    Bad("PixelShuffle", lambda a: a.nn.PixelShuffle(2)(x(a, 1, 3, 2, 2)), r"PixelShuffle: .*|pixel_shuffle: .*"),
    Bad("Upsample neither", lambda a: a.nn.Upsample()(x(a, 1, 1, 2, 2)), r"Upsample: .*|interpolate: .*"),
    Bad("Sequential index", lambda a: a.nn.Sequential(a.nn.ReLU())[3], r"Sequential: .*3|index 3"),
    Bad("ModuleList index", lambda a: a.nn.ModuleList([a.nn.ReLU()])[2], r"ModuleList: .*2|index 2"),
    Bad("ModuleList non-module", lambda a: a.nn.ModuleList([3]), r"ModuleList.*int"),
    Bad("Sequential non-module", lambda a: a.nn.Sequential(3), r"Sequential: .*int"),
    Bad("ModuleDict missing", lambda a: a.nn.ModuleDict({"a": a.nn.ReLU()})["b"], r"'b'"),
    Bad("Module missing attr", lambda a: a.nn.Linear(2, 2).nope, r"Linear.*'nope'"),
    # ---------------------------------------------------------------- optim constructors
    Bad("SGD lr -1", lambda a: a.optim.SGD(params(a), lr=-1.0), r"SGD: .*lr.*-1"),
    Bad(
        "SGD lr nan",
        lambda a: a.optim.SGD(params(a), lr=NAN),
        r"SGD: .*lr.*nan",
        torch_raises=False,
        why="PyTorch's SGD checks lr < 0, which NaN passes, and then turns every weight to NaN; Adam refuses NaN",
    ),
    Bad("SGD momentum -1", lambda a: a.optim.SGD(params(a), lr=0.1, momentum=-1.0), r"SGD: .*momentum.*-1"),
    Bad("SGD weight_decay", lambda a: a.optim.SGD(params(a), lr=0.1, weight_decay=-1.0), r"SGD: .*weight_decay.*-1"),
    Bad("SGD nesterov", lambda a: a.optim.SGD(params(a), lr=0.1, nesterov=True), r"SGD: .*[Nn]esterov"),
    Bad("SGD empty", lambda a: a.optim.SGD([], lr=0.1), r"SGD: .*empty"),
    Bad("SGD tensor params", lambda a: a.optim.SGD(a.nn.Parameter(a.m.ones(2)), lr=0.1), r"SGD: .*Tensor"),
    Bad("SGD non-leaf", lambda a: a.optim.SGD([a.m.ones(2, requires_grad=True) * 2], lr=0.1), r"SGD: .*non-leaf"),
    Bad("SGD lr str", lambda a: a.optim.SGD(params(a), lr="0.1"), r"SGD: .*lr.*str|SGD: .*'0.1'"),
    Bad("Adam lr nan", lambda a: a.optim.Adam(params(a), lr=NAN), r"Adam: .*lr.*nan"),
    Bad("Adam lr -1", lambda a: a.optim.Adam(params(a), lr=-1.0), r"Adam: .*lr.*-1"),
    Bad("Adam beta1", lambda a: a.optim.Adam(params(a), betas=(1.0, 0.999)), r"Adam: .*beta.*1.0"),
    Bad("Adam beta2", lambda a: a.optim.Adam(params(a), betas=(0.9, -0.1)), r"Adam: .*beta.*-0.1"),
    Bad("Adam eps", lambda a: a.optim.Adam(params(a), eps=-1.0), r"Adam: .*eps.*-1"),
    Bad("Adam weight_decay", lambda a: a.optim.Adam(params(a), weight_decay=-0.1), r"Adam: .*weight_decay.*-0.1"),
    Bad("Adam empty", lambda a: a.optim.Adam([]), r"Adam: .*empty"),
    Bad("AdamW lr -1", lambda a: a.optim.AdamW(params(a), lr=-1.0), r"AdamW: .*lr.*-1"),
    Bad("AdamW beta", lambda a: a.optim.AdamW(params(a), betas=(0.9, 1.5)), r"AdamW: .*beta.*1.5"),
    Bad("RMSprop alpha", lambda a: a.optim.RMSprop(params(a), alpha=-1.0), r"RMSprop: .*alpha.*-1"),
    Bad("RMSprop momentum", lambda a: a.optim.RMSprop(params(a), momentum=-1.0), r"RMSprop: .*momentum.*-1"),
    Bad("RMSprop eps", lambda a: a.optim.RMSprop(params(a), eps=-1.0), r"RMSprop: .*eps.*-1"),
    Bad("Adagrad lr_decay", lambda a: a.optim.Adagrad(params(a), lr_decay=-1.0), r"Adagrad: .*lr_decay.*-1"),
    Bad(
        "Adagrad initial_accumulator",
        lambda a: a.optim.Adagrad(params(a), initial_accumulator_value=-1.0),
        r"Adagrad: .*initial_accumulator_value.*-1",
    ),
    Bad("Adagrad lr inf", lambda a: a.optim.Adagrad(params(a), lr=-INF), r"Adagrad: .*lr.*-inf"),
    # ---------------------------------------------------------------- lr_scheduler constructors
    Bad("StepLR non-optimizer", lambda a: a.sched.StepLR(3, 1), r"StepLR: .*int"),
    Bad(
        "LinearLR start_factor",
        lambda a: a.sched.LinearLR(a.optim.SGD(params(a), 0.1), start_factor=2.0),
        r"LinearLR: .*",
    ),
    Bad(
        "LinearLR end_factor", lambda a: a.sched.LinearLR(a.optim.SGD(params(a), 0.1), end_factor=-1.0), r"LinearLR: .*"
    ),
    Bad(
        "LambdaLR list length",
        lambda a: a.sched.LambdaLR(a.optim.SGD(params(a), 0.1), [lambda e: 1.0, lambda e: 1.0]),
        r"LambdaLR: .*2.*1|LambdaLR: .*1.*2",
    ),
    Bad(
        "ReduceLROnPlateau mode",
        lambda a: a.sched.ReduceLROnPlateau(a.optim.SGD(params(a), 0.1), mode="up"),
        r"ReduceLROnPlateau: .*'up'",
    ),
    Bad(
        "ReduceLROnPlateau factor",
        lambda a: a.sched.ReduceLROnPlateau(a.optim.SGD(params(a), 0.1), factor=1.0),
        r"ReduceLROnPlateau: .*1.0",
    ),
    Bad(
        "ReduceLROnPlateau threshold_mode",
        lambda a: a.sched.ReduceLROnPlateau(a.optim.SGD(params(a), 0.1), threshold_mode="x"),
        r"ReduceLROnPlateau: .*'x'",
    ),
    Bad(
        "ReduceLROnPlateau min_lr list",
        lambda a: a.sched.ReduceLROnPlateau(a.optim.SGD(params(a), 0.1), min_lr=[0.0, 0.0]),
        r"ReduceLROnPlateau: .*2",
    ),
    Bad(
        "LRScheduler last_epoch without initial_lr",
        lambda a: a.sched.StepLR(a.optim.SGD(params(a), 0.1), 1, last_epoch=3),
        r"StepLR: .*initial_lr",
    ),
    # ---------------------------------------------------------------- data
    Bad("DataLoader batch 0", lambda a: a.data.DataLoader([1, 2], batch_size=0), r"DataLoader: .*batch_size.*0"),
    Bad("DataLoader batch -1", lambda a: a.data.DataLoader([1, 2], batch_size=-1), r"DataLoader: .*batch_size.*-1"),
    Bad("DataLoader batch float", lambda a: a.data.DataLoader([1, 2], batch_size=1.5), r"DataLoader: .*1.5"),
    Bad(
        "DataLoader shuffle str",
        lambda a: a.data.DataLoader([1, 2], shuffle="yes"),
        r"DataLoader: .*shuffle.*'yes'",
        torch_raises=False,
        why="PyTorch takes any truthy value; shuffle='no' would shuffle, so we ask for a bool",
    ),
    Bad("random_split sum", lambda a: a.data.random_split(range(5), [2, 2]), r"random_split: .*"),
    Bad(
        "random_split negative",
        lambda a: a.data.random_split(range(5), [6, -1]),
        r"random_split: .*-1",
        torch_raises=False,
        why="PyTorch returns a subset with an index past the end and a 'negative' subset; a length must be >= 0",
    ),
    Bad("random_split fractions", lambda a: a.data.random_split(range(5), [0.5, 0.6]), r"random_split: .*"),
    Bad(
        "TensorDataset sizes",
        lambda a: a.data.TensorDataset(a.m.ones(3), a.m.ones(2)),
        r"TensorDataset: .*3.*2|TensorDataset: .*2.*3",
    ),
    Bad("TensorDataset index", lambda a: a.data.TensorDataset(a.m.ones(3))[5], r"index 5|5"),
    Bad("Subset index", lambda a: a.data.Subset([1, 2, 3], [0, 7])[1], r"index 7|7"),
    Bad(
        "default_collate shapes",
        lambda a: (a.data.default_collate if a.gg else torch.utils.data.default_collate)([a.m.ones(2), a.m.ones(3)]),
        r"(default_collate|stack): .*",
    ),
    Bad(
        "DataLoader iterate bad shapes",
        lambda a: next(iter(a.data.DataLoader([a.m.ones(2), a.m.ones(3)], batch_size=2))),
        r"(DataLoader|default_collate|stack): .*",
    ),
    # ---------------------------------------------------------------- save / load
    Bad("load missing", lambda a: a.load("/nonexistent/dir/ckpt.pt"), r"/nonexistent/dir/ckpt.pt"),
    Bad("load a directory", lambda a: a.load("/tmp"), r"/tmp"),
    # ---------------------------------------------------------------- .to() / devices / Tensor methods
    Bad("to tpu", lambda a: x(a).to("tpu"), r"to: .*'tpu'"),
    *(
        Bad(
            name,
            call,
            message,
            other_type="PyTorch's CPU-only build raises AssertionError ('Torch not compiled with CUDA enabled'); "
            "a CUDA build on a machine without a GPU raises RuntimeError, as we do",
        )
        for name, call, message in (
            ("tensor device cuda", lambda a: a.m.tensor([1.0], device="cuda"), r"tensor: .*'cuda' is not available"),
            ("zeros device cuda", lambda a: a.m.zeros(2, device="cuda"), r"zeros: .*'cuda' is not available"),
            ("to cuda", lambda a: x(a).to("cuda"), r"to: .*'cuda' is not available"),
            ("Module.to cuda", lambda a: a.nn.Linear(2, 2).to("cuda"), r"Linear.to: .*'cuda' is not available"),
        )
        if not gg.cuda_is_available()
    ),
    Bad("to cuda:x", lambda a: x(a).to("cuda:x"), r"to: .*'cuda:x'"),
    Bad("to dtype str", lambda a: x(a).to(dtype="float"), r"to: .*'float'|to: .*str"),
    Bad("Module.to tpu", lambda a: a.nn.Linear(2, 2).to("tpu"), r"to: .*'tpu'"),
    Bad("item multi", lambda a: x(a).item(), r"item: .*6|item: .*\(2, 3\)"),
    Bad("bool multi", lambda a: bool(x(a)), r"bool|ambiguous"),
    Bad("float multi", lambda a: float(x(a)), r"(float|item): .*\(2, 3\)"),
    Bad("len 0-d", lambda a: len(a.m.tensor(1.0)), r"len|0-d"),
    Bad("iter 0-d", lambda a: iter(a.m.tensor(1.0)), r"iter|0-d"),
    Bad("backward non-scalar", lambda a: (x(a).requires_grad_() * 2).backward(), r"backward: .*scalar"),
    Bad("backward no grad", lambda a: x(a).sum().backward(), r"backward: .*grad"),
    Bad("backward gradient shape", lambda a: (x(a).requires_grad_() * 2).backward(x(a, 3)), r"backward: .*\(3,\)"),
    Bad("requires_grad_ int", lambda a: a.m.tensor([1, 2]).requires_grad_(), r"requires_grad_: .*int64"),
    Bad("numpy requires grad", lambda a: x(a).requires_grad_().numpy(), r"numpy: .*requires_grad|numpy: .*grad"),
    Bad("size dim range", lambda a: x(a).size(2), r"size: .*2"),
    Bad("stride dim range", lambda a: x(a).stride(5), r"stride: .*5"),
    Bad("new_tensor ragged", lambda a: x(a).new_tensor([[1], [2, 3]]), r"new_tensor: .*"),
    Bad("new_full str", lambda a: x(a).new_full((2,), "a"), r"new_full: .*str"),
    Bad("type_as non-tensor", lambda a: x(a).type_as(3), r"type_as: .*int"),
    Bad("unfold step 0", lambda a: x(a, 5).unfold(0, 2, 0), r"unfold: .*step.*0"),
    Bad("unfold size big", lambda a: x(a, 5).unfold(0, 6, 1), r"unfold: .*6"),
    Bad("grad assign shape", lambda a: setattr(x(a).requires_grad_(), "grad", x(a, 3)), r"grad: .*\(3,\).*\(2, 3\)"),
    Bad("grad assign dtype", lambda a: setattr(x(a).requires_grad_(), "grad", x(a).double()), r"grad: .*float64"),
    Bad("register_hook no grad", lambda a: x(a).register_hook(lambda g: g), r"register_hook: .*grad"),
    Bad("retain_grad leaf no grad", lambda a: x(a).retain_grad(), r"retain_grad: .*grad"),
]

# --------------------------------------------------------------------------- stateful cases


def _two_params(a, opt):
    """[p1 (with its grad), the optimizer's state, p2, the optimizer]: p1 and the state must not change
    when p2's gradient has the wrong shape (PyTorch refuses the gradient when it is assigned)."""
    a.m.manual_seed(0)
    p1, p2 = a.nn.Parameter(a.m.ones(3)), a.nn.Parameter(a.m.ones(2))
    kwargs = {"lr": 0.1, "momentum": 0.9} if opt == "SGD" else {"lr": 0.1}
    optimizer = getattr(a.optim, opt)([p1, p2], **kwargs)
    p1.grad = a.m.ones(3)
    return _Hidden([p1, optimizer.state], p2, optimizer)


class _Hidden(list):
    """A list whose snapshot is its first item only; the rest is reachable to the call (st[2], st[3])."""

    def __init__(self, watched, *others):
        super().__init__([watched, None, *others])


def _lin_forward(a, m):
    return m(x(a, 2, 4))


STATEFUL: list[Bad] = [
    # in-place ops: the tensor's contents are unchanged when they raise
    Bad("add_ grows", lambda a, t: t.add_(x(a, 2, 2, 3)), r"add_: .*\(2, 3\).*\(2, 2, 3\)", setup=lambda a: r(a)),
    Bad("mul_ broadcast", lambda a, t: t.mul_(x(a, 4)), r"mul_: .*\(2, 3\).*\(4,\)", setup=lambda a: r(a)),
    Bad("sub_ broadcast", lambda a, t: t.sub_(x(a, 2)), r"sub_: .*\(2, 3\).*\(2,\)", setup=lambda a: r(a)),
    Bad("div_ int", lambda a, t: t.div_(2), r"div_: .*(Float|float).*(Long|int64)", setup=lambda a: a.m.tensor([2, 4])),
    Bad(
        "mul_ int by float",
        lambda a, t: t.mul_(1.5),
        r"mul_: .*(Float|float).*(Long|int64)",
        setup=lambda a: a.m.tensor([2, 4]),
    ),
    Bad(
        "add_ int by float tensor",
        lambda a, t: t.add_(a.m.ones(2)),
        r"add_: .*(Float|float).*(Long|int64)",
        setup=lambda a: a.m.tensor([2, 4]),
    ),
    Bad("pow_ broadcast", lambda a, t: t.pow_(x(a, 2, 2, 3)), r"pow_: .*", setup=lambda a: r(a)),
    Bad("clamp_ no bounds", lambda a, t: t.clamp_(), r"clamp_?: .*", setup=lambda a: r(a)),
    Bad("fill_ tensor 1-d", lambda a, t: t.fill_(a.m.ones(2)), r"fill_: .*1 dimension", setup=lambda a: r(a)),
    Bad("fill_ str", lambda a, t: t.fill_("a"), r"fill_: .*str", setup=lambda a: r(a)),
    Bad("copy_ broadcast", lambda a, t: t.copy_(x(a, 4)), r"copy_: .*\(4,\).*\(2, 3\)", setup=lambda a: r(a)),
    Bad("zero_ leaf grad", lambda a, t: t.zero_(), r"zero_: .*leaf", setup=lambda a: r(a).requires_grad_()),
    Bad("add_ leaf grad", lambda a, t: t.add_(1.0), r"add_: .*leaf", setup=lambda a: r(a).requires_grad_()),
    Bad(
        "masked_fill_ broadcast",
        lambda a, t: t.masked_fill_(x(a, 4) > 0, 0.0),
        r"masked_fill_: .*",
        setup=lambda a: r(a),
    ),
    Bad(
        "index_fill_ oob",
        lambda a, t: t.index_fill_(1, a.m.tensor([0, 3]), -1.0),
        r"index_fill_?: .*3",
        setup=lambda a: r(a),
    ),
    Bad(
        "index_add_ oob",
        lambda a, t: t.index_add_(1, a.m.tensor([0, 3]), x(a, 2, 2)),
        r"index_add_?: .*3",
        setup=lambda a: r(a),
    ),
    Bad(
        "index_copy_ oob",
        lambda a, t: t.index_copy_(1, a.m.tensor([0, 3]), x(a, 2, 2)),
        r"index_copy_?: .*3",
        setup=lambda a: r(a),
    ),
    Bad(
        "scatter_ oob after valid",
        lambda a, t: t.scatter_(1, a.m.tensor([[0, 1, 5]]), -1.0),
        r"scatter_?: .*5",
        setup=lambda a: r(a),
    ),
    Bad(
        "scatter_add_ oob after valid",
        lambda a, t: t.scatter_add_(1, a.m.tensor([[0, 1, 5]]), x(a, 1, 3)),
        r"scatter_add_?: .*5",
        setup=lambda a: r(a),
    ),
    Bad(
        "scatter_reduce_ bad",
        lambda a, t: t.scatter_reduce_(1, a.m.tensor([[0]]), x(a, 1, 1), "avg"),
        r"scatter_reduce_?: .*'avg'",
        setup=lambda a: r(a),
    ),
    Bad(
        "masked_scatter_ small",
        lambda a, t: t.masked_scatter_(a.m.ones(2, 3) > 0, x(a, 2)),
        r"masked_scatter_?: .*",
        setup=lambda a: r(a),
    ),
    Bad("setitem shape", lambda a, t: t.__setitem__(0, x(a, 4)), r"setitem: .*\(4,\).*\(3,\)", setup=lambda a: r(a)),
    Bad(
        "setitem index oob",
        lambda a, t: t.__setitem__(a.m.tensor([0, 5]), 1.0),
        r"setitem: .*5",
        setup=lambda a: r(a),
    ),
    Bad("setitem str", lambda a, t: t.__setitem__(0, "a"), r"setitem: .*str", setup=lambda a: r(a)),
    Bad("normal_ std -1", lambda a, t: t.normal_(0.0, -1.0), r"normal_: .*-1", setup=lambda a: r(a)),
    Bad("uniform_ from>to", lambda a, t: t.uniform_(1.0, 0.0), r"uniform_: .*", setup=lambda a: r(a)),
    Bad("tril_ 1-d", lambda a, t: t.tril_(), r"tril_?: .*", setup=lambda a: r(a, 6)),
    Bad("lerp_ broadcast", lambda a, t: t.lerp_(x(a, 2, 2, 3), 0.5), r"lerp_?: .*", setup=lambda a: r(a)),
    Bad(
        "requires_grad_ non-leaf off",
        lambda a, t: (t * 2).requires_grad_(False),
        r"requires_grad_: .*",
        setup=lambda a: r(a).requires_grad_(),
    ),
    # modules: parameters and buffers unchanged
    Bad("Linear forward in_features", lambda a, m: m(x(a, 2, 4)), r"Linear: .*4.*3|Linear: .*3.*4", setup=lin),
    Bad("Linear forward 0-d", lambda a, m: m(a.m.tensor(1.0)), r"Linear: .*", setup=lin),
    Bad("Linear forward int", lambda a, m: m(a.m.ones(2, 3, dtype=a.m.int64)), r"Linear: .*", setup=lin),
    Bad("Linear forward double", lambda a, m: m(a.m.ones(2, 3, dtype=a.m.float64)), r"Linear: .*", setup=lin),
    Bad(
        "Conv2d forward channels",
        lambda a, m: m(x(a, 1, 2, 5, 5)),
        r"Conv2d: .*",
        setup=lambda a: a.nn.Conv2d(3, 2, 3),
    ),
    Bad("Conv2d forward 2-d", lambda a, m: m(x(a, 5, 5)), r"Conv2d: .*", setup=lambda a: a.nn.Conv2d(1, 1, 3)),
    Bad("Conv2d input small", lambda a, m: m(x(a, 1, 1, 2, 2)), r"Conv2d: .*", setup=lambda a: a.nn.Conv2d(1, 1, 3)),
    Bad("Conv1d forward channels", lambda a, m: m(x(a, 1, 2, 5)), r"Conv1d: .*", setup=lambda a: a.nn.Conv1d(3, 2, 3)),
    Bad(
        "ConvTranspose2d channels",
        lambda a, m: m(x(a, 1, 2, 4, 4)),
        r"ConvTranspose2d: .*",
        setup=lambda a: a.nn.ConvTranspose2d(3, 2, 3),
    ),
    Bad(
        "BatchNorm1d features",
        lambda a, m: m(x(a, 4, 5)),
        r"BatchNorm1d: .*5.*3|BatchNorm1d: .*3.*5",
        setup=lambda a: a.nn.BatchNorm1d(3),
    ),
    Bad("BatchNorm1d 4-d", lambda a, m: m(x(a, 2, 3, 4, 4)), r"BatchNorm1d: .*", setup=lambda a: a.nn.BatchNorm1d(3)),
    Bad("BatchNorm2d 3-d", lambda a, m: m(x(a, 3, 4, 4)), r"BatchNorm2d: .*", setup=lambda a: a.nn.BatchNorm2d(3)),
    Bad(
        "BatchNorm2d channels",
        lambda a, m: m(x(a, 2, 4, 4, 4)),
        r"BatchNorm2d: .*",
        setup=lambda a: a.nn.BatchNorm2d(3),
    ),
    Bad(
        "BatchNorm1d one value",
        lambda a, m: m(x(a, 1, 3)),
        r"BatchNorm1d: .*more than 1 value",
        setup=lambda a: a.nn.BatchNorm1d(3),
    ),
    Bad("LayerNorm shape", lambda a, m: m(x(a, 2, 4)), r"LayerNorm: .*", setup=lambda a: a.nn.LayerNorm(3)),
    Bad("RMSNorm shape", lambda a, m: m(x(a, 2, 4)), r"RMSNorm: .*", setup=lambda a: a.nn.RMSNorm(3)),
    Bad("GroupNorm channels", lambda a, m: m(x(a, 2, 6, 3)), r"GroupNorm: .*", setup=lambda a: a.nn.GroupNorm(2, 4)),
    Bad("Embedding oob", lambda a, m: m(a.m.tensor([0, 4])), r"Embedding: .*4", setup=lambda a: a.nn.Embedding(4, 2)),
    Bad("Embedding float", lambda a, m: m(a.m.tensor([0.0])), r"Embedding: .*", setup=lambda a: a.nn.Embedding(4, 2)),
    Bad("PReLU channels", lambda a, m: m(x(a, 2, 3)), r"PReLU: .*|prelu: .*", setup=lambda a: a.nn.PReLU(2)),
    Bad(
        "Sequential inner error",
        lambda a, m: m(x(a, 2, 5)),
        r"Linear: .*5",
        setup=lambda a: a.nn.Sequential(a.nn.Linear(3, 2), a.nn.ReLU()),
    ),
    Bad(
        "load_state_dict missing",
        lambda a, m: m.load_state_dict({"weight": a.m.zeros(2, 3)}),
        r"state_dict for Linear:.*bias",
        setup=lin,
    ),
    Bad(
        "load_state_dict unexpected",
        lambda a, m: m.load_state_dict({"weight": a.m.zeros(2, 3), "bias": a.m.zeros(2), "extra": a.m.zeros(1)}),
        r"state_dict for Linear:.*extra",
        setup=lin,
    ),
    Bad(
        "load_state_dict shape",
        lambda a, m: m.load_state_dict({"weight": a.m.zeros(2, 3), "bias": a.m.zeros(5)}),
        r"state_dict for Linear:.*bias.*\(5,\).*\(2,\)",
        setup=lin,
    ),
    Bad(
        "load_state_dict shape strict=False",
        lambda a, m: m.load_state_dict({"weight": a.m.zeros(2, 3), "bias": a.m.zeros(5)}, strict=False),
        r"state_dict for Linear:.*bias",
        setup=lin,
    ),
    Bad(
        "load_state_dict BatchNorm buffer",
        lambda a, m: m.load_state_dict({**m.state_dict(), "running_mean": a.m.zeros(4)}),
        r"state_dict for BatchNorm1d:.*running_mean.*\(4,\)",
        setup=lambda a: a.nn.BatchNorm1d(3),
    ),
    Bad(
        "load_state_dict non-dict",
        lambda a, m: m.load_state_dict([1, 2]),
        r"load_state_dict: .*list",
        setup=lin,
    ),
    Bad(
        "register_buffer dotted",
        lambda a, m: m.register_buffer("a.b", a.m.zeros(1)),
        r"buffer name .*a\.b",
        setup=lin,
    ),
    Bad(
        "register_buffer exists",
        lambda a, m: m.register_buffer("weight", a.m.zeros(1)),
        r"register_buffer: .*'weight'|weight",
        setup=lin,
    ),
    Bad(
        "register_parameter non-param",
        lambda a, m: m.register_parameter("w2", a.m.zeros(1)),
        r"parameter 'w2' \(Parameter or None required\)",
        setup=lin,
    ),
    Bad("add_module dotted", lambda a, m: m.add_module("a.b", a.nn.ReLU()), r"add_module: .*'a.b'|a\.b", setup=lin),
    Bad("add_module non-module", lambda a, m: m.add_module("b", 3), r"int is not a Module subclass", setup=lin),
    Bad("assign parameter non-param", lambda a, m: setattr(m, "weight", a.m.zeros(2, 3)), r"weight", setup=lin),
    # optimizers: state, hyper-parameters and parameters unchanged
    Bad(
        "Optimizer.load_state_dict groups",
        lambda a, o: o.load_state_dict({"state": {}, "param_groups": []}),
        r"load_state_dict: .*group",
        setup=opt_with_state,
    ),
    Bad(
        "Optimizer.load_state_dict sizes",
        lambda a, o: o.load_state_dict(
            {"state": {}, "param_groups": [{**o.state_dict()["param_groups"][0], "params": [0, 1]}]}
        ),
        r"Adam.load_state_dict: .*2 parameters .* 1",
        setup=opt_with_state,
    ),
    Bad(
        "add_param_group duplicate",
        lambda a, o: o.add_param_group({"params": o.param_groups[0]["params"]}),
        r"Adam: parameter 0 .*more than one group",
        setup=opt_with_state,
    ),
    Bad(
        "add_param_group lr negative",
        lambda a, o: o.add_param_group({"params": [a.nn.Parameter(a.m.ones(1))], "lr": -1.0}),
        r"add_param_group: .*lr|Adam: .*lr",
        setup=opt_with_state,
        torch_raises=False,
        why="PyTorch checks lr only in the constructor; a group added later with lr=-1 would ascend, so we refuse it",
    ),
    *(
        Bad(
            f"{opt} step bad grad shape",
            lambda a, st: (setattr(st[2], "grad", a.m.ones(3)), st[3].step()),
            # the .grad setter refuses it, as PyTorch's does (the step's own check is for grads set past it)
            rf"{opt}\.step: .*parameter 1 .*\(2,\).*\(3,\)|grad: .*\(3,\).*\(2,\)",
            setup=lambda a, opt=opt: _two_params(a, opt),
        )
        for opt in ("SGD", "Adam", "AdamW", "RMSprop", "Adagrad")
    ),
    Bad(
        "BatchNorm1d float64 input",
        lambda a, m: m(a.m.ones(4, 3, dtype=a.m.float64)),
        r"BatchNorm1d: .*float64|BatchNorm1d: .*[Dd]ouble",
        setup=lambda a: a.nn.BatchNorm1d(3),
    ),
    Bad(
        "step closure raises",
        lambda a, o: o.step(lambda: (_ for _ in ()).throw(ValueError("closure: boom"))),
        r"closure: boom",
        setup=opt_with_state,
    ),
    Bad(
        "scheduler step bad optimizer state",
        lambda a, s: s.step("x"),
        r"ReduceLROnPlateau: .*'x'|step: .*'x'|could not convert",
        setup=lambda a: a.sched.ReduceLROnPlateau(a.optim.SGD(params(a), 0.1)),
    ),
]


def _snap(obj: Any) -> Any:
    """Everything observable about obj's state, as plain numpy / python values."""
    if isinstance(obj, (gg.Tensor, torch.Tensor)):
        arr = obj.detach().cpu().numpy() if isinstance(obj, torch.Tensor) else np.array(obj.detach().numpy())
        grad = obj.grad
        return ("T", arr.copy(), str(obj.dtype), obj.requires_grad, None if grad is None else _snap(grad))
    if isinstance(obj, (gg.nn.Module, torch.nn.Module)):
        sd = {k: _snap(v) for k, v in obj.state_dict().items()}
        names = sorted(n for n, _ in obj.named_parameters())
        return ("M", sd, names, sorted(n for n, _ in obj.named_buffers()), sorted(n for n, _ in obj.named_children()))
    if isinstance(obj, (gg.optim.Optimizer, torch.optim.Optimizer)):
        return ("O", _snap(obj.state_dict()), [_snap(p) for g in obj.param_groups for p in g["params"]])
    if hasattr(obj, "optimizer") and hasattr(obj, "step"):  # a scheduler
        return ("S", _snap({k: v for k, v in vars(obj).items() if k != "optimizer"}), _snap(obj.optimizer))
    if isinstance(obj, _Hidden):
        return _snap(obj[0])
    if isinstance(obj, dict):
        return {k: _snap(v) for k, v in obj.items() if not callable(v)}
    if isinstance(obj, (list, tuple)):
        return [_snap(v) for v in obj]
    return obj


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and np.array_equal(a, b, equal_nan=True)
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return isinstance(b, (list, tuple)) and len(a) == len(b) and all(_same(u, v) for u, v in zip(a, b, strict=True))
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b


def _raise(fn):
    try:
        fn()
    except Exception as err:  # the type is what we compare
        return err
    return None


def _check(case: Bad) -> None:
    if case.setup is None:
        theirs = _raise(lambda: case.call(TORCH))
        ours = _raise(lambda: case.call(OURS))
    else:
        t_obj = case.setup(TORCH)
        theirs = _raise(lambda: case.call(TORCH, t_obj))
        o_obj = case.setup(OURS)
        before = _snap(o_obj)
        ours = _raise(lambda: case.call(OURS, o_obj))
        assert _same(_snap(o_obj), before), f"{case.name}: state changed by the failed call ({ours!r})"
    if case.torch_raises:
        assert theirs is not None, f"{case.name}: PyTorch accepts this call; mark it torch_raises=False with a why"
    else:
        assert theirs is None and case.why, case.name
    assert ours is not None, f"{case.name}: glassgrad accepted it, PyTorch raises {theirs!r}"
    if theirs is not None and not case.other_type:
        # the same type, or a subclass of it (an ``except RuntimeError`` written for PyTorch catches ours)
        assert isinstance(ours, type(theirs)), f"{case.name}: ours {ours!r} vs PyTorch {theirs!r}"
    text = re.sub(r"^([\w.]+)\(\): ", r"\1: ", str(ours))  # PyTorch's "kthvalue(): ..." style is fine too
    assert re.search(case.message, text, re.S), f"{case.name}: message {str(ours)!r} does not match {case.message!r}"


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_call_raises_what_pytorch_raises(case: Bad) -> None:
    _check(case)


@pytest.mark.parametrize("case", STATEFUL, ids=[c.name for c in STATEFUL])
def test_bad_call_leaves_state_unchanged(case: Bad) -> None:
    _check(case)


def test_failed_save_leaves_the_file_unchanged(tmp_path) -> None:
    """A save that raises leaves an existing checkpoint byte for byte (PyTorch's save would pickle a lambda's
    failure half way; we encode everything before touching the file)."""
    path = tmp_path / "ckpt.pt"
    gg.save({"w": gg.ones(2)}, path)
    before = path.read_bytes()
    with pytest.raises(TypeError, match=r"save: .*function"):
        gg.save({"w": gg.ones(2), "f": lambda: 0}, path)
    with pytest.raises(Exception):  # noqa: B017 - PyTorch cannot pickle a lambda either
        torch.save({"f": lambda: 0}, tmp_path / "t.pt")
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_load_garbage_names_load_and_the_file(tmp_path) -> None:
    path = tmp_path / "junk.pt"
    path.write_bytes(b"not a checkpoint")
    with pytest.raises(Exception) as theirs:
        torch.load(path)
    with pytest.raises(Exception) as ours:
        gg.load(path)
    assert "load" in str(ours.value) and "junk.pt" in str(ours.value), ours.value
    assert isinstance(theirs.value, Exception)
    assert path.read_bytes() == b"not a checkpoint"


def test_the_battery_is_big_enough() -> None:
    assert len(CASES) + len(STATEFUL) >= 250
