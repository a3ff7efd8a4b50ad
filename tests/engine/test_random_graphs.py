"""Random expression DAGs against PyTorch (hypothesis): the value of every node and the
gradient of every leaf, in float64, to 1e-10.

A :class:`Recipe` is drawn by hypothesis: a seed, a few leaves (shapes that broadcast
together, some of them shared, a few holding the same values as an earlier leaf) and a
list of :class:`Step` (op, operand indices, params). Every step may use ANY earlier node
(leaf or intermediate), in either operand order or twice (``a op a``). Each step renders
itself as one line of Python over a library ``L`` (``n5 = L.maximum(n2, n0)``); that line
is what runs, once with ``L = glassgrad`` and once with ``L = torch``, so a failing example
prints a script that reproduces it::

    print(recipe)               # the graph as Python
    run(gg, recipe)             # its nodes, leaves and loss in either library

The vocabulary (``RENDER``): the issue's ops (broadcasting arithmetic with safe
denominators, maximum, where, matmul, tanh/sigmoid/relu/square/sin/exp of bounded values,
sum/mean/amax/logsumexp over dims with keepdim, softmax, reshape/permute/transpose,
slicing with steps, unsqueeze/expand, flip, cat/stack) and more that a PyTorch user
reaches for (minimum, clamp, powers, activations, var/std/prod/max(dim)/norm,
log_softmax, squeeze/flatten/narrow/repeat/split/chunk, advanced and boolean indexing,
gather, masked_fill, outer/dot).

The loss is a weighted sum ``Σ (n_i * w_i).sum()`` over one or more nodes; leaves that do
not reach it must keep ``grad is None`` in both libraries. Values are continuous random
numbers, so ties in relu/maximum/amax happen only where the graph makes them (a copied
leaf, ``amax`` over an expanded dim), and there both libraries must agree: PyTorch's
conventions (maximum splits a tie ½/½, amax shares it evenly, relu'(0) = 0) are the spec.
Values are kept within ±1e3 while drawing (an op whose result would leave that range is
not added), so float64 round-off stays far below the tolerance. Every test is
derandomized: CI draws the same ~2,400 graphs each run.
"""

from __future__ import annotations

import functools
import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import glassgrad as gg

RTOL = ATOL = 1e-10
MAX_ABS = 1e3  # drawn values stay within this range
MAX_NUMEL = 256  # and nodes stay small
MAX_DIMS = 5

SETTINGS = dict(derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow], database=None)


# ----------------------------------------------------------------------------- recipes


@dataclass(frozen=True)
class Step:
    """One node: ``op`` applied to the nodes ``args`` with ``params``."""

    op: str
    args: tuple[int, ...]
    params: tuple[tuple[str, Any], ...] = ()

    def expr(self) -> str:
        """The step as a Python expression over nodes ``n<i>`` and a library ``L``."""
        p = dict(self.params)
        a = [f"n{i}" for i in self.args]
        return RENDER[self.op](a, p)


@dataclass(frozen=True)
class Leaf:
    shape: tuple[int, ...]
    requires_grad: bool = True
    copy_of: int | None = None  # the same values as that earlier leaf, in a tensor of its own (ties!)


@dataclass
class Recipe:
    seed: int
    leaves: list[Leaf]
    steps: list[Step] = field(default_factory=list)
    shapes: list[tuple[int, ...]] = field(default_factory=list)  # of every node, leaves first
    outputs: list[int] = field(default_factory=list)  # nodes summed (weighted) into the loss

    def lines(self) -> list[str]:
        k = len(self.leaves)
        return [f"n{k + i} = {s.expr()}" for i, s in enumerate(self.steps)]

    def __repr__(self) -> str:
        out = [f"Recipe(seed={self.seed}):  # leaves: rng = np.random.default_rng(seed); rng.standard_normal(shape)"]
        for i, leaf in enumerate(self.leaves):
            values = "" if leaf.copy_of is None else f", values_of=n{leaf.copy_of}"
            out.append(f"    n{i} = leaf({leaf.shape}, requires_grad={leaf.requires_grad}{values})")
        k = len(self.leaves)
        for i, line in enumerate(self.lines()):
            out.append(f"    {line:<60}  # {self.shapes[k + i]}")
        terms = " + ".join(f"(n{i} * w{j}).sum()" for j, i in enumerate(self.outputs))
        out.append(f"    loss = {terms}  # w: np.random.default_rng(seed + 1).standard_normal(shape), in order")
        return "\n".join(out)

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:  # hypothesis prints falsifying examples with this
        p.text(repr(self))


def _fmt_index(index: tuple[Any, ...]) -> str:
    def one(item: Any) -> str:
        if item is None:
            return "None"
        if item is Ellipsis:
            return "..."
        if isinstance(item, slice):
            start = "" if item.start is None else str(item.start)
            stop = "" if item.stop is None else str(item.stop)
            return f"{start}:{stop}" + ("" if item.step is None else f":{item.step}")
        return str(item)

    return ", ".join(one(i) for i in index) + ("," if len(index) == 1 else "")


def _dim_kw(p: dict[str, Any]) -> str:
    return "" if p.get("dim") is None else f"dim={p['dim']}, keepdim={p['keepdim']}"


# Each op as Python source. ``L`` is glassgrad or torch; the two share these names.
RENDER = {
    # binary (broadcasting)
    "add": lambda a, p: f"{a[0]} + {a[1]}",
    "sub": lambda a, p: f"{a[0]} - {a[1]}",
    "mul": lambda a, p: f"{a[0]} * {a[1]}",
    "div_sq": lambda a, p: f"{a[0]} / (1 + {a[1]} * {a[1]})",
    "div_exp": lambda a, p: f"{a[0]} / {a[1]}.sin().exp()",
    "maximum": lambda a, p: f"L.maximum({a[0]}, {a[1]})",
    "where": lambda a, p: f"L.where({a[0]} > 0, {a[1]}, {a[2]})",
    "matmul": lambda a, p: f"{a[0]} @ {a[1]}" + (".transpose(-1, -2)" if p["bt"] else ""),
    # unary
    "tanh": lambda a, p: f"{a[0]}.tanh()",
    "sigmoid": lambda a, p: f"{a[0]}.sigmoid()",
    "relu": lambda a, p: f"{a[0]}.relu()",
    "square": lambda a, p: f"{a[0]}.square()",
    "sin": lambda a, p: f"{a[0]}.sin()",
    "exp": lambda a, p: f"{a[0]}.exp()",  # drawn only where |a| <= 5
    "exp_tanh": lambda a, p: f"{a[0]}.tanh().exp()",
    "affine": lambda a, p: f"{p['scale']} * {a[0]} + {p['shift']}",
    "rsub": lambda a, p: f"{p['c']} - {a[0]}",
    "rdiv": lambda a, p: f"{p['c']} / (1 + {a[0]} * {a[0]})",
    # reductions
    "sum": lambda a, p: f"{a[0]}.sum({_dim_kw(p)})",
    "mean": lambda a, p: f"{a[0]}.mean({_dim_kw(p)})",
    "amax": lambda a, p: f"{a[0]}.amax({_dim_kw(p)})",
    "logsumexp": lambda a, p: f"{a[0]}.logsumexp({_dim_kw(p)})",
    "softmax": lambda a, p: f"{a[0]}.softmax(dim={p['dim']})",
    # views
    "reshape": lambda a, p: f"{a[0]}.reshape({p['shape']})",
    "permute": lambda a, p: f"{a[0]}.permute{p['dims']}",
    "transpose": lambda a, p: f"{a[0]}.transpose({p['dim0']}, {p['dim1']})",
    "getitem": lambda a, p: f"{a[0]}[{_fmt_index(p['index'])}]",
    "unsqueeze": lambda a, p: f"{a[0]}.unsqueeze({p['dim']})",
    "expand": lambda a, p: f"{a[0]}.expand{p['sizes']}",
    "flip": lambda a, p: f"{a[0]}.flip({p['dims']})",
    # more: the vocabulary beyond the issue's list (ops a PyTorch user reaches for)
    "minimum": lambda a, p: f"L.minimum({a[0]}, {a[1]})",
    "clamp_t": lambda a, p: f"{a[0]}.clamp(min={a[1]})",
    "where_s": lambda a, p: f"L.where({a[0]} > 0, {a[1]}, {p['c']})",
    "masked_fill": lambda a, p: f"{a[1]}.masked_fill({a[0]} > 0, {p['c']})",
    "outer": lambda a, p: f"L.outer({a[0]}, {a[1]})",
    "dot": lambda a, p: f"L.dot({a[0]}, {a[1]})",
    "clamp": lambda a, p: f"{a[0]}.clamp({p['lo']}, {p['hi']})",
    "pow3": lambda a, p: f"{a[0]} ** 3",  # drawn only where |a| <= 5
    "hypot1": lambda a, p: f"(1 + {a[0]} * {a[0]}) ** 0.5",
    "rpow": lambda a, p: f"2 ** {a[0]}.tanh()",
    "sqrt1p": lambda a, p: f"(1 + {a[0]}.square()).sqrt()",
    "log1p_sq": lambda a, p: f"({a[0]} * {a[0]}).log1p()",
    "abs": lambda a, p: f"{a[0]}.abs()",
    "neg": lambda a, p: f"-{a[0]}",
    "cos": lambda a, p: f"{a[0]}.cos()",
    "gelu": lambda a, p: f"L.nn.functional.gelu({a[0]})",
    "silu": lambda a, p: f"L.nn.functional.silu({a[0]})",
    "softplus": lambda a, p: f"L.nn.functional.softplus({a[0]})",
    "leaky_relu": lambda a, p: f"L.nn.functional.leaky_relu({a[0]}, 0.1)",
    "elu": lambda a, p: f"L.nn.functional.elu({a[0]})",
    "var": lambda a, p: f"{a[0]}.var({_dim_kw(p)})",
    "std": lambda a, p: f"{a[0]}.std({_dim_kw(p)})",
    "prod": lambda a, p: f"{a[0]}.prod({_dim_kw(p)})",
    "max_dim": lambda a, p: f"{a[0]}.max({_dim_kw(p)}).values",
    "min_dim": lambda a, p: f"{a[0]}.min({_dim_kw(p)})[0]",
    "amin": lambda a, p: f"{a[0]}.amin({_dim_kw(p)})",
    "norm": lambda a, p: f"{a[0]}.norm({_dim_kw(p)})",
    "log_softmax": lambda a, p: f"{a[0]}.log_softmax(dim={p['dim']})",
    "squeeze": lambda a, p: f"{a[0]}.squeeze({'' if p['dim'] is None else p['dim']})",
    "flatten": lambda a, p: f"{a[0]}.flatten({p['start']}, {p['end']})",
    "narrow": lambda a, p: f"{a[0]}.narrow({p['dim']}, {p['start']}, {p['length']})",
    "repeat": lambda a, p: f"{a[0]}.repeat{p['sizes']}",
    "split": lambda a, p: f"{a[0]}.split({p['size']}, dim={p['dim']})[{p['k']}]",
    "chunk": lambda a, p: f"{a[0]}.chunk({p['chunks']}, dim={p['dim']})[{p['k']}]",
    "t": lambda a, p: f"{a[0]}.t()",
    "index": lambda a, p: f"{a[0]}[{_fmt_index(p['index'])}]",  # lists: advanced indexing, repeats add up
    "mask": lambda a, p: f"{a[1]}[{a[0]} > 0]",
    "gather": lambda a, p: f"{a[0]}.gather({p['dim']}, L.tensor({p['index']}))",
    # joins
    "cat": lambda a, p: f"L.cat([{', '.join(a)}], dim={p['dim']})",
    "stack": lambda a, p: f"L.stack([{', '.join(a)}], dim={p['dim']})",
}

BINARY = ("add", "sub", "mul", "div_sq", "div_exp", "maximum")
UNARY = ("tanh", "sigmoid", "relu", "square", "sin", "exp", "exp_tanh", "affine", "rsub", "rdiv")
REDUCTIONS = ("sum", "mean", "amax", "logsumexp", "softmax")
VIEWS = ("reshape", "permute", "transpose", "getitem", "unsqueeze", "expand", "flip")
JOINS = ("cat", "stack")
# "clamp_t" is x.clamp(min=tensor): copied leaves make exact ties, where PyTorch gives all of g to x
MORE_BINARY = ("minimum", "where_s", "masked_fill", "outer", "dot", "clamp_t")
MORE_UNARY = ("clamp", "pow3", "hypot1", "rpow", "sqrt1p", "log1p_sq", "abs", "neg", "cos")
MORE_UNARY += ("gelu", "silu", "softplus", "leaky_relu", "elu")
MORE_REDUCTIONS = ("var", "std", "prod", "max_dim", "min_dim", "amin", "norm", "log_softmax")
MORE_VIEWS = ("squeeze", "flatten", "narrow", "repeat", "split", "chunk", "t", "index", "mask", "gather")
ISSUE_OPS = BINARY + ("where", "matmul") + UNARY + REDUCTIONS + VIEWS + JOINS
OPS = ISSUE_OPS + MORE_BINARY + MORE_UNARY + MORE_REDUCTIONS + MORE_VIEWS
#: what a step draws from: the ops that often do not apply (matmul) or are rare in unary's crowd, more than once
WEIGHTED_OPS = ISSUE_OPS * 2 + ("matmul",) * 6 + REDUCTIONS + VIEWS + ("getitem", "amax", "logsumexp", "cat") + OPS
#: ops that keep the shape (or broadcast back to it): the f of a residual x + f(x)
SHAPE_KEEPING = BINARY + ("where",) + UNARY + ("softmax", "flip", "minimum") + MORE_UNARY


@functools.lru_cache(maxsize=4096)
def _compiled(src: str) -> Any:
    return compile(src, "<recipe>", "eval")


def leaf_arrays(recipe: Recipe) -> list[np.ndarray]:
    rng = np.random.default_rng(recipe.seed)
    arrays: list[np.ndarray] = []
    for leaf in recipe.leaves:
        a = rng.standard_normal(leaf.shape)  # drawn for copies too, so that a copy leaves the others as they were
        arrays.append(a if leaf.copy_of is None else arrays[leaf.copy_of].copy())
    return arrays


def weight_arrays(recipe: Recipe) -> list[np.ndarray]:
    rng = np.random.default_rng(recipe.seed + 1)
    return [rng.standard_normal(recipe.shapes[i]) for i in recipe.outputs]


def build(lib: Any, recipe: Recipe, leaves: list[Any]) -> list[Any]:
    """Every node of the recipe, leaves first, computed with library ``lib``."""
    env: dict[str, Any] = {"L": lib}
    for i, leaf in enumerate(leaves):
        env[f"n{i}"] = leaf
    k = len(leaves)
    for i, step in enumerate(recipe.steps):
        env[f"n{k + i}"] = eval(_compiled(step.expr()), env)  # our own rendered recipe
    return [env[f"n{i}"] for i in range(k + len(recipe.steps))]


def make_leaves(lib: Any, recipe: Recipe) -> list[Any]:
    return [
        lib.tensor(a, requires_grad=f.requires_grad) for a, f in zip(leaf_arrays(recipe), recipe.leaves, strict=True)
    ]


def loss_of(lib: Any, recipe: Recipe, nodes: list[Any], weights: list[np.ndarray] | None = None) -> Any:
    weights = weight_arrays(recipe) if weights is None else weights
    total = None
    for i, w in zip(recipe.outputs, weights, strict=True):
        term = (nodes[i] * lib.tensor(w)).sum()
        total = term if total is None else total + term
    return total


def run(lib: Any, recipe: Recipe) -> tuple[list[Any], list[Any], Any]:
    """(nodes, leaves, loss) of the recipe in library ``lib``, before any backward."""
    leaves = make_leaves(lib, recipe)
    nodes = build(lib, recipe, leaves)
    return nodes, leaves, loss_of(lib, recipe, nodes)


# ------------------------------------------------------------------- drawing a recipe


def _broadcasts(a: tuple[int, ...], b: tuple[int, ...]) -> bool:
    return all(x == y or x == 1 or y == 1 for x, y in zip(reversed(a), reversed(b), strict=False))


def _matmul_ok(a: tuple[int, ...], b: tuple[int, ...], bt: bool) -> bool:
    if bt:
        if len(b) < 2:
            return False
        b = b[:-2] + (b[-1], b[-2])
    if not a or not b:
        return False
    k_b = b[0] if len(b) == 1 else b[-2]
    return a[-1] == k_b and _broadcasts(a[:-2], b[:-2])


def _divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


@functools.cache
def _index(n: int) -> st.SearchStrategy[int]:
    return st.sampled_from(range(n))


@functools.cache
def _permutations(n: int) -> st.SearchStrategy[list[int]]:
    return st.permutations(range(n))


def choose(draw: Any, options: Any) -> Any:
    """One of ``options``, drawn evenly; as an index, through a strategy cached per length
    (building strategies is the slow part of hypothesis)."""
    options = tuple(options)
    return options[draw(_index(len(options)))]


def between(draw: Any, lo: int, hi: int) -> int:
    """An int in [lo, hi], drawn evenly (``st.integers`` favours the ends)."""
    return lo + draw(_index(hi - lo + 1))


def subset(draw: Any, nd: int, lo: int, hi: int) -> list[int]:
    """lo..hi distinct dims of ``nd``, in a random order."""
    return draw(_permutations(nd))[: between(draw, lo, hi)]


def _draw_dims(draw: Any, nd: int, allow_none: bool, allow_tuple: bool) -> Any:
    kinds = ["int"] + (["none"] if allow_none else []) + (["tuple"] if allow_tuple and nd >= 2 else [])
    kind = choose(draw, kinds)
    if kind == "none":
        return None
    if kind == "int":
        return between(draw, -nd, nd - 1)
    return tuple(d - nd if choose(draw, (False, True)) else d for d in subset(draw, nd, 2, nd))


def _draw_index_item(draw: Any, size: int, lists: list[int] | None = None) -> Any:
    """One item of an index into a dim of ``size``; with ``lists`` (the length every list of
    this index has, or [] before the first), maybe a list of ints (repeats allowed)."""
    kind = choose(draw, ["slice", "slice", "int", "full"] + (["list", "list"] if lists is not None else []))
    if kind == "list":
        if not lists:
            lists.append(between(draw, 1, 4))
        return [between(draw, -size, size - 1) for _ in range(lists[0])]
    if kind == "full":
        return slice(None)
    if kind == "int":
        return between(draw, -size, size - 1)
    start = choose(draw, (None, *range(-size, size)))
    stop = choose(draw, (None, *range(-size, size + 1)))
    step = choose(draw, [None, 1, 2, 3])
    return slice(start, stop, step)


def _draw_index(draw: Any, shape: tuple[int, ...], advanced: bool = False) -> tuple[Any, ...]:
    nd = len(shape)
    lists: list[int] | None = [] if advanced else None
    if choose(draw, (False, True)) and nd >= 2:  # x[..., item]: the last dim
        return (Ellipsis, _draw_index_item(draw, shape[-1], lists))
    k = between(draw, 1, nd)
    index: list[Any] = []
    for d in range(k):
        if between(draw, 0, 5) == 0:
            index.append(None)
        index.append(_draw_index_item(draw, shape[d], lists))
    return tuple(index)


def _draw_reshape(draw: Any, shape: tuple[int, ...]) -> tuple[int, ...]:
    left = math.prod(shape)
    nd = between(draw, 0 if left == 1 else 1, 4)
    sizes = []
    for _ in range(max(nd - 1, 0)):
        d = choose(draw, _divisors(left))
        sizes.append(d)
        left //= d
    if nd:
        sizes.append(left)
        if choose(draw, (False, True)):
            sizes[between(draw, 0, nd - 1)] = -1
    return tuple(sizes)


def _draw_expand(draw: Any, shape: tuple[int, ...]) -> tuple[int, ...]:
    lead = choose(draw, [(), (), (2,), (3,), (1,)])
    sizes = [choose(draw, [1, 2, 3, -1]) if n == 1 else choose(draw, [n, -1]) for n in shape]
    return lead + tuple(sizes)


def _draw_step(draw: Any, op: str, shapes: list[tuple[int, ...]], values: list[torch.Tensor], pick: Any) -> Any:
    """(args, params) for ``op`` on the nodes so far, or None where it does not apply."""
    n = len(shapes)
    a = pick(draw, n)
    sa, nd = shapes[a], len(shapes[a])
    params: dict[str, Any] = {}
    if op in BINARY or op == "minimum":
        return (a, choose(draw, [j for j in range(n) if _broadcasts(sa, shapes[j])])), params
    if op == "where":
        b = choose(draw, [j for j in range(n) if _broadcasts(sa, shapes[j])])
        sab = tuple(np.broadcast_shapes(sa, shapes[b]))
        c = choose(draw, [j for j in range(n) if _broadcasts(sab, shapes[j])])
        return (a, b, c), params
    if op in ("where_s", "masked_fill", "mask"):  # the first operand is the condition's
        ok = [j for j in range(n) if (shapes[j] == sa if op == "mask" else _broadcasts(sa, shapes[j]))]
        return (a, choose(draw, ok)), {"c": choose(draw, [0.5, -1.25])}
    if op in ("outer", "dot"):
        ok = [j for j in range(n) if len(shapes[j]) == 1 and (op == "outer" or shapes[j] == sa)]
        return ((a, choose(draw, ok)), params) if nd == 1 and ok else None
    if op in ("pow3", "clamp_t"):
        if op == "clamp_t":
            return (a, choose(draw, [j for j in range(n) if _broadcasts(sa, shapes[j])])), params
        if values[a].abs().max() > 5:
            return None
    if op == "matmul":
        bt = choose(draw, (False, True))
        ok = [j for j in range(n) if _matmul_ok(sa, shapes[j], bt)]
        return ((a, choose(draw, ok)), {"bt": bt}) if ok else None
    if op == "exp" and values[a].abs().max() > 5:
        return None
    if op == "affine":
        params = {"scale": choose(draw, [-2.0, -0.5, 0.5, 1.5]), "shift": choose(draw, [-1.0, 0.25])}
    elif op in ("rsub", "rdiv"):
        params = {"c": choose(draw, [1.0, -2.5])}
    elif op == "clamp":
        params = {"lo": choose(draw, [-0.5, -1.0]), "hi": choose(draw, [0.7, 1.5])}
    elif op in UNARY or op in MORE_UNARY:
        pass
    elif op in ("var", "std", "prod", "max_dim", "min_dim", "amin", "norm"):
        if nd == 0:
            return None
        one = op in ("prod", "max_dim", "min_dim")  # torch takes one int dim there
        params = {"dim": _draw_dims(draw, nd, allow_none=False, allow_tuple=not one)}
        params["keepdim"] = choose(draw, (False, True))
    elif op == "log_softmax":
        if nd == 0:
            return None
        params = {"dim": between(draw, -nd, nd - 1)}
    elif op == "squeeze":
        params = {"dim": choose(draw, (None, *range(-nd, nd)))}
    elif op == "flatten":
        if nd == 0:
            return None
        start = between(draw, 0, nd - 1)
        params = {"start": start, "end": between(draw, start, nd - 1) - choose(draw, [0, nd])}
    elif op in ("narrow", "split", "chunk"):
        if nd == 0:
            return None
        d = between(draw, -nd, nd - 1)
        size = sa[d]
        if op == "narrow":
            start = between(draw, 0, size - 1)
            params = {"dim": d, "start": start, "length": between(draw, 1, size - start)}
        elif op == "split":
            piece = between(draw, 1, size)
            params = {"size": piece, "dim": d, "k": between(draw, 0, -(-size // piece) - 1)}
        else:
            chunks = between(draw, 1, 3)
            pieces = -(-size // -(-size // chunks))  # how many torch makes
            params = {"chunks": chunks, "dim": d, "k": between(draw, 0, pieces - 1)}
    elif op == "repeat":
        params = {"sizes": tuple(choose(draw, [1, 1, 2, 3]) for _ in range(nd + between(draw, 0, 1)))}
        if not params["sizes"]:
            return None
    elif op == "t":
        if nd > 2:
            return None
    elif op == "index":
        if nd == 0:
            return None
        params = {"index": _draw_index(draw, sa, advanced=True)}
    elif op == "gather":
        if nd == 0:
            return None
        d = between(draw, -nd, nd - 1)
        rng = np.random.default_rng(between(draw, 0, 99))
        shape = tuple(between(draw, 1, 4) if i == d % nd else between(draw, 1, s) for i, s in enumerate(sa))
        params = {"dim": d, "index": rng.integers(0, sa[d], size=shape).tolist()}
    elif op in ("sum", "mean", "amax", "logsumexp"):
        if nd == 0:
            if op not in ("sum", "mean"):
                return None
            params = {"dim": None}
        else:
            params = {"dim": _draw_dims(draw, nd, allow_none=op in ("sum", "mean"), allow_tuple=True)}
            params["keepdim"] = choose(draw, (False, True))
    elif nd == 0 and op not in ("reshape", "unsqueeze", "expand", "stack"):
        return None
    elif op == "softmax":
        params = {"dim": between(draw, -nd, nd - 1)}
    elif op == "reshape":
        params = {"shape": _draw_reshape(draw, sa)}
    elif op == "permute":
        if nd < 2:
            return None
        params = {"dims": tuple(draw(_permutations(nd)))}
    elif op == "transpose":
        if nd < 2:
            return None
        params = {"dim0": between(draw, -nd, nd - 1), "dim1": between(draw, -nd, nd - 1)}
    elif op == "getitem":
        params = {"index": _draw_index(draw, sa)}
    elif op == "unsqueeze":
        params = {"dim": between(draw, -nd - 1, nd)}
    elif op == "expand":
        params = {"sizes": _draw_expand(draw, sa)}
        if not params["sizes"]:
            return None
    elif op == "flip":
        params = {"dims": tuple(d - nd if choose(draw, (False, True)) else d for d in subset(draw, nd, 1, nd))}
    elif op == "cat":
        d = between(draw, -nd, nd - 1)
        ok = [
            j
            for j in range(n)
            if len(shapes[j]) == nd
            and all(x == y for i, (x, y) in enumerate(zip(sa, shapes[j], strict=True)) if i != d % nd)
        ]
        more = [choose(draw, ok) for _ in range(between(draw, 1, 2))]
        return (a, *more), {"dim": d}
    elif op == "stack":
        ok = [j for j in range(n) if shapes[j] == sa]
        more = [choose(draw, ok) for _ in range(between(draw, 0, 2))]
        return (a, *more), {"dim": between(draw, -nd - 1, nd)}
    else:  # pragma: no cover - every op above has a branch
        raise AssertionError(op)
    return (a,), params


def _uniform(draw: Any, n: int) -> int:
    return between(draw, 0, n - 1)


def _leaf_shapes(draw: Any) -> list[Leaf]:
    ndim = choose(draw, [1, 2, 2, 3, 3, 3, 4, 0])
    base = tuple(choose(draw, [2, 3, 4, 1]) for _ in range(ndim))
    while math.prod(base) > 48:
        base = base[1:]
    leaves: list[Leaf] = []
    for _ in range(choose(draw, [2, 3, 4, 1])):
        copy_of = None
        if leaves and between(draw, 0, 2) == 0:  # a shape shared with an earlier leaf, sometimes its values too
            src = between(draw, 0, len(leaves) - 1)
            shape = leaves[src].shape
            copy_of = src if between(draw, 0, 2) == 0 else None
        else:
            drop = min(choose(draw, [0, 0, 0, 1, 1, 2, 3, 4]), len(base))  # leading dims dropped
            shape = tuple(1 if between(draw, 0, 3) == 0 else s for s in base[drop:])
        leaves.append(Leaf(shape, choose(draw, [True, True, True, False]), copy_of))
    return leaves


def _accept(v: torch.Tensor) -> bool:
    return (
        0 < v.numel() <= MAX_NUMEL and v.ndim <= MAX_DIMS and bool(torch.isfinite(v).all()) and v.abs().max() <= MAX_ABS
    )


@st.composite
def recipes(
    draw: Any, max_steps: int = 12, ops: tuple[str, ...] = WEIGHTED_OPS, hub: bool = False, residual: bool = False
) -> Recipe:
    """A random DAG. ``hub``: half of all first operands are one intermediate node.
    ``residual``: every other step is ``x = x + f(x)`` on the running node ``x``."""
    recipe = Recipe(seed=draw(st.integers(0, 2**31 - 1)), leaves=_leaf_shapes(draw))
    values = [torch.tensor(a) for a in leaf_arrays(recipe)]
    recipe.shapes = [tuple(v.shape) for v in values]
    k = len(values)
    state = {"hub": None, "x": k - 1}

    def pick(draw: Any, n: int) -> int:
        if state["hub"] is not None and choose(draw, (False, True)):
            return state["hub"]
        return _uniform(draw, n)

    def add(step: Step) -> bool:
        nodes = dict(zip((f"n{i}" for i in range(len(values))), values, strict=True))
        try:
            with warnings.catch_warnings():  # var over one element: torch warns, and _accept refuses the nan
                warnings.simplefilter("ignore")
                v = eval(_compiled(step.expr()), {"L": torch, **nodes})
        except (RuntimeError, IndexError):  # an op that does not apply to these shapes
            return False
        if not _accept(v):
            return False
        recipe.steps.append(step)
        values.append(v)
        recipe.shapes.append(tuple(v.shape))
        return True

    wanted = choose(draw, [max_steps, max_steps, max_steps - 1, max_steps // 2, max_steps // 3, 2, 1])
    for _ in range(3 * wanted):  # an op that does not apply to the node drawn is skipped
        if len(recipe.steps) >= wanted:
            break
        if residual:  # f(x), then x + f(x)
            op = choose(draw, SHAPE_KEEPING)
            drawn = _draw_step(draw, op, recipe.shapes, values, lambda draw, n: state["x"])
            if drawn is None or not add(Step(op, drawn[0], tuple(drawn[1].items()))):
                continue
            fx = len(values) - 1
            if _broadcasts(recipe.shapes[fx], recipe.shapes[state["x"]]) and add(Step("add", (state["x"], fx))):
                state["x"] = len(values) - 1
            continue
        op = choose(draw, ops)
        drawn = _draw_step(draw, op, recipe.shapes, values, pick)
        if drawn is not None and add(Step(op, drawn[0], tuple(drawn[1].items()))) and hub and state["hub"] is None:
            state["hub"] = len(values) - 1
    n = len(values)
    extra = draw(_permutations(n))[: choose(draw, [0, 0, 1, 2])]
    last = [n - 1] if between(draw, 0, 3) or not extra else []  # usually the last node, and up to two more
    recipe.outputs = last + [i for i in extra if i not in last]
    return recipe


# ------------------------------------------------------------------------- checking


def _close(ours: Any, theirs: torch.Tensor, what: str) -> None:
    assert tuple(ours.shape) == tuple(theirs.shape), f"{what}: shape {tuple(ours.shape)} vs torch {tuple(theirs.shape)}"
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=RTOL, atol=ATOL, err_msg=what)


def check_values(recipe: Recipe, ours: list[Any], theirs: list[torch.Tensor]) -> None:
    for i, (o, t) in enumerate(zip(ours, theirs, strict=True)):
        _close(o, t, f"value of n{i}")
        assert o.requires_grad == t.requires_grad, f"n{i}.requires_grad: {o.requires_grad} vs torch {t.requires_grad}"


def check_grads(our_leaves: list[Any], their_leaves: list[torch.Tensor]) -> None:
    for i, (o, t) in enumerate(zip(our_leaves, their_leaves, strict=True)):
        if t.grad is None:
            assert o.grad is None, f"n{i}.grad: torch has None (the leaf does not reach the loss), ours {o.grad}"
        else:
            assert o.grad is not None, f"n{i}.grad: ours is None, torch has {t.grad}"
            _close(o.grad, t.grad, f"n{i}.grad")


def backward_both(ours: Any, theirs: torch.Tensor, retain_graph: bool = False) -> bool:
    """Backward in both libraries when the loss needs a gradient; False where it does not."""
    assert ours.requires_grad == theirs.requires_grad, "loss.requires_grad differs"
    if not theirs.requires_grad:
        return False
    ours.backward(retain_graph=retain_graph)
    theirs.backward(retain_graph=retain_graph)
    return True


def check_recipe(recipe: Recipe) -> None:
    nodes, leaves, loss = run(gg, recipe)
    t_nodes, t_leaves, t_loss = run(torch, recipe)
    check_values(recipe, nodes, t_nodes)
    _close(loss, t_loss, "loss")
    backward_both(loss, t_loss)
    check_grads(leaves, t_leaves)


# ---------------------------------------------------------------------------- tests


@settings(max_examples=1200, **SETTINGS)
@given(recipe=recipes())
def test_random_dag_matches_torch(recipe: Recipe) -> None:
    check_recipe(recipe)


@settings(max_examples=300, **SETTINGS)
@given(recipe=recipes(hub=True))
def test_dag_with_a_node_used_many_times(recipe: Recipe) -> None:
    check_recipe(recipe)


@settings(max_examples=300, **SETTINGS)
@given(recipe=recipes(residual=True))
def test_residual_chains_x_plus_f_of_x(recipe: Recipe) -> None:
    check_recipe(recipe)


@settings(max_examples=300, **SETTINGS)
@given(recipe=recipes(max_steps=8), data=st.data())
def test_retain_graph_two_losses_on_one_graph(recipe: Recipe, data: Any) -> None:
    """loss1.backward(retain_graph=True) twice, then a second loss over other nodes of the
    SAME graph: leaf grads are 2·dloss1 + dloss2 in both libraries."""
    n = len(recipe.shapes)
    other = data.draw(_permutations(n), label="outputs of loss2, first 1 to 3")[: 1 + recipe.seed % 3]
    recipe2 = Recipe(recipe.seed + 7, recipe.leaves, recipe.steps, recipe.shapes, other)
    nodes, leaves, loss = run(gg, recipe)
    t_nodes, t_leaves, t_loss = run(torch, recipe)
    if not backward_both(loss, t_loss, retain_graph=True):
        return
    backward_both(loss, t_loss, retain_graph=True)
    check_grads(leaves, t_leaves)
    backward_both(loss_of(gg, recipe2, nodes), loss_of(torch, recipe2, t_nodes))
    check_grads(leaves, t_leaves)


@settings(max_examples=300, **SETTINGS)
@given(recipe=recipes(max_steps=8))
def test_grads_accumulate_across_two_graphs_on_the_same_leaves(recipe: Recipe) -> None:
    """The graph built twice from the same leaves, each backward once: the leaf grads add up."""
    leaves, t_leaves = make_leaves(gg, recipe), make_leaves(torch, recipe)
    for _ in range(2):
        loss = loss_of(gg, recipe, build(gg, recipe, leaves))
        t_loss = loss_of(torch, recipe, build(torch, recipe, t_leaves))
        backward_both(loss, t_loss)
        check_grads(leaves, t_leaves)


# ------------------------------- a tensor as both operands, exact ties, in-place ops: fixed examples

SAME_OPERAND = [
    ("add", "a + a"),
    ("sub", "a - a"),
    ("mul", "a * a"),
    ("div", "a / (1 + a * a)"),
    ("div_self", "(a + 3) / (a + 3)"),
    ("maximum", "L.maximum(a, a)"),
    ("maximum_mixed", "L.maximum(a, a) + L.maximum(a, 2 * a)"),
    ("where", "L.where(a > 0, a, a * a)"),
    ("where_cond_self", "L.where(a > 0, a, -a)"),
    ("matmul_gram", "a @ a.transpose(-1, -2)"),
    ("matmul_square", "a[:, :3] @ a[:3, :]"),
    ("cat", "L.cat([a, a, a.flip(0)], dim=0)"),
    ("stack", "L.stack([a, a.square()], dim=1)"),
    ("amax_expanded_ties", "a.unsqueeze(1).expand(3, 4, 4).amax(dim=1)"),  # 4 equal values: ¼ each
    ("amax_cat_ties", "L.cat([a, a], dim=1).amax(dim=1, keepdim=True)"),
    ("softmax_self", "a.softmax(dim=0) * a"),
    ("logsumexp_self", "a.logsumexp(dim=1, keepdim=True) - a"),
    ("residual_chain", "(a + a.tanh()) + (a + a.tanh()).sigmoid()"),
    ("many_uses", "a * a.sin() + a.exp() * a - a.sum(dim=0) * a.mean(dim=1, keepdim=True)"),
    # b holds the same values as a in a tensor of its own: ties between different tensors,
    # where the convention shows (torch: maximum splits ½/½, amax shares evenly, relu'(0) = 0)
    ("maximum_tie", "L.maximum(a, b)"),
    ("maximum_tie_weighted", "L.maximum(a, b) * b"),
    ("maximum_tie_at_zero", "L.maximum(a - b, b - a)"),
    ("maximum_then_amax", "L.maximum(a, b).amax(dim=1)"),
    ("amax_cat_tie", "L.cat([a, b], dim=0).amax(dim=0)"),
    ("amax_stack_tie_3", "L.stack([a, b, a]).amax(dim=0)"),
    ("amax_tuple_dims_tie", "L.stack([a, b]).amax(dim=(0, 2), keepdim=True)"),
    ("where_tie", "L.where(a > b, a, b)"),
    ("relu_at_zero", "(a - b).relu() + (b - a).relu()"),
    ("minimum_tie", "L.minimum(a, b) * a"),
    ("abs_at_zero", "(a - b).abs()"),  # torch: sign(0) = 0
    # clamp with tensor bounds at a tie: torch gives all of the gradient to the input (x >= min), none to the bound
    ("clamp_min_tensor_tie", "a.clamp(min=b)"),
    ("clamp_max_tensor_tie", "a.clamp(max=b)"),
    ("clamp_both_tensor_tie", "a.clamp(min=b - 1, max=b)"),
    # in-place ops inside a graph (t := ... names the tensor written to); torch records each one
    ("inplace_add", "a.clone().add_(b)"),
    ("inplace_mul_div", "a.clone().mul_(b).div_(1 + b * b)"),
    ("inplace_clamp", "a.clone().clamp_(-0.5, 0.5)"),
    ("inplace_on_row_view", "(t := a.clone(), t[0].mul_(2.0), t)[2]"),
    ("inplace_on_strided_view", "(t := a * 1, t[:, ::2].add_(b[:, 1::2]), t)[2]"),
    ("inplace_on_transposed_view", "(t := a.clone(), t.t()[1].mul_(b[0, :3]), t)[2]"),
    ("inplace_view_then_use_view", "(t := a.clone(), v := t[1], v.mul_(b[0]), t * v)[3]"),
    ("inplace_row_from_row", "(t := a.clone(), t[0].add_(t[1]), t)[2]"),
    ("setitem_row_from_value", "(t := a * 1, t.__setitem__(0, b[1] * 3), t)[2]"),
    ("setitem_list_index", "(t := a * 1, t.__setitem__([0, 1], b[0] + 1), t)[2]"),
    ("inplace_copy_into_view", "(t := a.clone(), t[0:2].copy_(b[1:]), t)[2]"),
    ("inplace_mul_by_zero_on_view", "(t := a.clone(), t[1:].mul_(0.0), t)[2]"),
    # fill_/zero_ on a tensor in the graph: torch records them (the filled elements get no gradient);
    # glassgrad (tensor.py fill_) writes the array unrecorded, so the gradient flows as if nothing changed: a bug
    ("inplace_fill_on_view", "(t := a.clone(), t[1].fill_(0.5), t)[2]"),
    ("inplace_zero_on_view", "(t := a.clone(), t[..., 1].zero_(), t)[2]"),
    ("inplace_fill_whole", "(t := a * 2, t.fill_(0.5), t * b)[2]"),
]


@pytest.mark.parametrize(("name", "src"), SAME_OPERAND, ids=[n for n, _ in SAME_OPERAND])
def test_fixed_graphs_same_operand_ties_inplace(name: str, src: str) -> None:
    x = np.random.default_rng(3).standard_normal((3, 4))
    shape = eval(src, {"L": torch, "a": torch.tensor(x), "b": torch.tensor(x)}).shape
    w = np.random.default_rng(4).standard_normal(shape)
    got = {}
    for L in (gg, torch):
        a, b = L.tensor(x, requires_grad=True), L.tensor(x.copy(), requires_grad=True)
        out = eval(src, {"L": L, "a": a, "b": b})
        (out * L.tensor(w)).sum().backward()
        got[L.__name__] = (out, a.grad, b.grad)
    (out, ga, gb), (t_out, t_ga, t_gb) = got["glassgrad"], got["torch"]
    _close(out, t_out, f"{src}: value")
    for ours, theirs, leaf in ((ga, t_ga, "a"), (gb, t_gb, "b")):
        assert (ours is None) == (theirs is None), f"{src}: {leaf}.grad is {ours} vs torch {theirs}"
        if theirs is not None:
            _close(ours, theirs, f"{src}: {leaf}.grad")


def _second_order(lib: Any, recipe: Recipe) -> tuple[list[np.ndarray], list[np.ndarray]] | None:
    """(g, h) per leaf that requires grad: g = dloss/dleaf with create_graph, h = d(Σ u ⊙ g)/dleaf;
    None where the loss needs no gradient. A missing gradient counts as zeros (a leaf reached only
    through a mask gets None from us where PyTorch has zeros; ARCHITECTURE.md says so)."""
    nodes, leaves, loss = run(lib, recipe)
    if not loss.requires_grad:
        return None
    xs = [x for x in leaves if x.requires_grad]
    auto = gg.autograd if lib is gg else torch.autograd
    gs = auto.grad(loss, xs, create_graph=True, allow_unused=True)
    rng = np.random.default_rng(recipe.seed + 2)
    us = [rng.standard_normal(tuple(x.shape)) for x in xs]
    terms = [(g * lib.tensor(u)).sum() for g, u in zip(gs, us, strict=True) if g is not None and g.requires_grad]
    hs = auto.grad(sum(terms[1:], terms[0]), xs, allow_unused=True) if terms else [None] * len(xs)

    def numbers(ds: Any) -> list[np.ndarray]:
        zero = [d is None or (isinstance(d, torch.Tensor) and d._is_zerotensor()) for d in ds]  # PyTorch's known 0
        return [np.zeros(tuple(x.shape)) if z else d.detach().numpy() for d, x, z in zip(ds, xs, zero, strict=True)]

    return numbers(gs), numbers(hs)


@settings(max_examples=300, **SETTINGS)
@given(recipe=recipes(residual=True))
def test_second_derivatives_through_residual_chains_match_torch(recipe: Recipe) -> None:
    """x + f(x) chains, differentiated twice."""
    _check_second_order(recipe)


@settings(max_examples=500, **SETTINGS)
@given(recipe=recipes())
def test_second_derivatives_of_random_dags_match_torch(recipe: Recipe) -> None:
    """create_graph through a random DAG (reuse, broadcasting, views, reductions): the first derivative
    it records and the derivative of Σ u ⊙ (that first derivative) agree with PyTorch's."""
    _check_second_order(recipe)


def _check_second_order(recipe: Recipe) -> None:
    theirs = _second_order(torch, recipe)
    ours = _second_order(gg, recipe)
    assert (ours is None) == (theirs is None)
    if theirs is None:
        return
    for what, o_list, t_list in (("g", ours[0], theirs[0]), ("h", ours[1], theirs[1])):
        for i, (o, t) in enumerate(zip(o_list, t_list, strict=True)):
            np.testing.assert_allclose(o, t, rtol=1e-9, atol=1e-9, err_msg=f"{what} of leaf {i}\n{recipe}")
