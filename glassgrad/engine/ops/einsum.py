"""einsum: sums of products over labelled axes, written in one equation.

``einsum("ij,jk->ik", A, B)`` is the matrix product: every label names an axis,
labels shared between operands are multiplied along, and labels missing from
the output are summed over. The rules are PyTorch's (which are NumPy's, plus
size-1 broadcasting of labelled axes):

* implicit output (no ``->``): the ellipsis axes, then the labels that appear
  exactly once, in ASCII order (upper case before lower case);
* ``...`` stands for the axes not otherwise labelled; ellipsis axes broadcast
  against each other right-aligned, like NumPy broadcasting;
* a label repeated within one operand takes its diagonal (``"ii->i"``, and
  ``"ii->"`` is the trace); an axis of size 1 broadcasts against the same
  label's size elsewhere.

The equation is first rewritten into a canonical form with a letter for each
ellipsis axis and an explicit output, so forward and backward only deal with
letters. The forward is ``xp.einsum`` (NumPy's or CuPy's) on that equation.
"""

from __future__ import annotations

import string
from collections.abc import Sequence
from typing import Any

from ...amp.autocast_mode import autocast_args, autocast_state
from .. import dtypes
from ..function import Context, Function
from ..tensor import Tensor


def _diagonal_scatter(xp: Any, shape: tuple[int, ...], term: str, unique: str, values: Any) -> Any:
    """Zeros of ``shape`` (axes labelled by ``term``) with ``values`` (axes ``unique``) written
    on the diagonal where ``term`` repeats a label: z[..., a, ..., a, ...] = values[..., a, ...]."""
    grid = []
    for label in term:
        at = unique.index(label)
        grid.append(xp.arange(shape[term.index(label)]).reshape([-1 if i == at else 1 for i in range(len(unique))]))
    out = xp.zeros(shape, dtype=values.dtype)
    out[tuple(grid)] = values
    return out


def _broadcast(ctx: Context, arrays: Sequence[Any]) -> tuple[Any, ...]:
    """Each operand broadcast to its labels' sizes (size-1 axes stretched; views, no copies)."""
    out = []
    for a, term in zip(arrays, ctx.terms, strict=True):
        shape = tuple(ctx.sizes[c] for c in term)
        out.append(a if a.shape == shape else ctx.xp.broadcast_to(a, shape))
    return tuple(out)


class Einsum(Function):
    """z = einsum("t_1,...,t_n->o", x_1, ..., x_n): z[o] = Σ over the labels not in o of Π_k x_k[t_k].

    dL/dx_k = einsum("o,t_j (j ≠ k)->t_k", g, x_j...): z is linear in each operand, and the
    coefficient of x_k[t_k] is the product of the other operands summed as in the forward,
    so the gradient is the same contraction with g in the place of x_k. Two cases need
    more than that one einsum:

    * a label of t_k that occurs in neither o nor any other operand (summed inside x_k
      alone, as j in "ij->i") gets no factor: the gradient is constant along it, so the
      einsum is taken without it and broadcast along it;
    * a label repeated in t_k (the diagonal, "ii->i"): x_k[a, b] only takes part for
      a = b, so the gradient is zeros with the einsum (over the distinct labels) written
      on that diagonal.

    Operands broadcast to the labels' sizes are differentiated in the broadcast shape;
    the engine's unbroadcast sums back over the stretched axes.
    """

    @staticmethod
    def forward(ctx: Context, *arrays: Any, terms: tuple[str, ...], output: str, sizes: dict[str, int]) -> Any:
        ctx.save_for_backward(*arrays)  # the inputs themselves: a recorded backward knows them
        ctx.terms, ctx.output, ctx.sizes = terms, output, sizes
        return ctx.xp.einsum(",".join(terms) + "->" + output, *_broadcast(ctx, arrays), optimize=len(arrays) > 1)

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple[Any, ...]:
        xp = ctx.xp
        arrays, terms, output, sizes = _broadcast(ctx, ctx.saved_arrays), ctx.terms, ctx.output, ctx.sizes
        grads = []
        for k, (x, term) in enumerate(zip(arrays, terms, strict=True)):
            if not ctx.needs_input_grad[k]:
                grads.append(None)
                continue
            others = [(a, t) for j, (a, t) in enumerate(zip(arrays, terms, strict=True)) if j != k]
            reachable = set(output).union(*(t for _, t in others))
            unique = "".join(dict.fromkeys(term))  # t_k's distinct labels, in order
            kept = "".join(c for c in unique if c in reachable)
            equation = ",".join([output, *(t for _, t in others)]) + "->" + kept
            part = xp.einsum(equation, grad, *(a for a, _ in others), optimize=len(others) > 0)
            part = xp.asarray(part).reshape([sizes[c] if c in reachable else 1 for c in unique])
            part = xp.broadcast_to(part, tuple(sizes[c] for c in unique))
            grads.append(part if unique == term else _diagonal_scatter(xp, x.shape, term, unique, part))
        return tuple(grads)


# ------------------------------------------------------------------------------ parsing the equation


def _bad(message: str) -> RuntimeError:
    return RuntimeError(f"einsum(): {message}")


def _split_ellipsis(term: str, where: str) -> tuple[str, bool]:
    """``term`` without its ``...`` (at most one), and whether it had one."""
    if "." not in term:
        return term, False
    head, sep, tail = term.partition("...")
    if not sep or "." in head:
        raise _bad(f"found '.' for {where} that is not part of any ellipsis in {term!r}")
    if "." in tail:
        if tail.find("...") >= 0:
            raise _bad(f"found '.' for {where} for which an ellipsis was already found in {term!r}")
        raise _bad(f"found '.' for {where} that is not part of any ellipsis in {term!r}")
    return head + "\0" + tail, True  # "\0" marks where the ellipsis axes go


def parse(equation: str, shapes: Sequence[tuple[int, ...]]) -> tuple[tuple[str, ...], str, dict[str, int]]:
    """The canonical form of ``equation`` for operands of ``shapes``: one letter term per
    operand (ellipsis axes given fresh letters), the explicit output, and each label's size
    after broadcasting. RuntimeError (as PyTorch) for anything malformed."""
    eq = "".join(equation.split())  # PyTorch ignores spaces
    lhs, arrow, rhs = eq.partition("->")
    for i, c in enumerate(eq):
        inside_arrow = bool(arrow) and i in (len(lhs), len(lhs) + 1)
        if not (c in string.ascii_letters or c == "." or (c == "," and i < len(lhs)) or inside_arrow):
            raise _bad(
                f"invalid subscript {c!r} given at index {i} in the equation string {equation!r}, "
                "subscripts must be in [a-zA-Z]"
            )
    raw = lhs.split(",")
    if len(raw) > len(shapes):
        raise _bad(f"fewer operands were provided than specified in the equation {equation!r} ({len(shapes)} given)")
    if len(raw) < len(shapes):
        raise _bad(f"more operands were provided than specified in the equation {equation!r} ({len(shapes)} given)")

    parsed = [_split_ellipsis(t, f"operand {k}") for k, t in enumerate(raw)]
    ellipsis_shapes = []
    for k, ((term, has_ellipsis), shape) in enumerate(zip(parsed, shapes, strict=True)):
        labels = len(term) - has_ellipsis
        if (not has_ellipsis and labels != len(shape)) or labels > len(shape):
            raise _bad(
                f"the number of subscripts in the equation ({labels}) does not match the number of dimensions "
                f"({len(shape)}) for operand {k}" + ("" if has_ellipsis else " and no ellipsis was given")
            )
        start = term.find("\0")
        ellipsis_shapes.append(shape[start : start + len(shape) - labels] if has_ellipsis else ())
    n_ellipsis = max((len(s) for s in ellipsis_shapes), default=0)
    used = set(lhs) | set(rhs)
    fresh = [c for c in string.ascii_letters if c not in used]
    if n_ellipsis > len(fresh):
        raise _bad(f"too many dimensions: the equation {equation!r} needs more than 52 labels")
    ellipsis_letters = "".join(fresh[:n_ellipsis])

    terms = tuple(
        term.replace("\0", ellipsis_letters[n_ellipsis - len(e) :])
        for (term, _), e in zip(parsed, ellipsis_shapes, strict=True)
    )
    sizes: dict[str, int] = {}
    for k, (term, shape) in enumerate(zip(terms, shapes, strict=True)):
        own: dict[str, int] = {}
        for c, n in zip(term, shape, strict=True):
            if c in own and own[c] != n:
                raise _bad(f"subscript {c} is repeated for operand {k} but the sizes don't match, {own[c]} != {n}")
            own[c] = n
            seen = sizes.get(c, 1)
            if n != seen and n != 1 and seen != 1:
                what = f"dimension covered by ellipsis in operand {k}" if c in ellipsis_letters else f"subscript {c}"
                raise _bad(f"{what} has size {n} which does not broadcast with previously seen size {seen}")
            sizes[c] = n if n != 1 else seen  # 1 broadcasts against anything (also 0)
    if not arrow:  # implicit output: the ellipsis axes, then the labels seen once, in ASCII order
        counts = "".join(t for t, _ in parsed)
        return (
            terms,
            ellipsis_letters + "".join(sorted(c for c in set(counts) if c.isalpha() and counts.count(c) == 1)),
            sizes,
        )

    out, has_ellipsis = _split_ellipsis(rhs, "the output")
    for c in out.replace("\0", ""):
        if out.count(c) > 1:
            raise _bad(f"output subscript {c} appears more than once in the output {rhs!r}")
        if c not in lhs:
            raise _bad(f"output subscript {c} does not appear in the equation for any input operand {equation!r}")
    return terms, out.replace("\0", ellipsis_letters), sizes


_SUBLIST_LETTERS = string.ascii_uppercase + string.ascii_lowercase  # ASCII order = the labels' order


def _from_sublists(args: Sequence[Any]) -> tuple[str, list[Any]]:
    """PyTorch's second form, einsum(x, [0, 1], y, [1, 2], [0, 2]), as an equation; label s becomes
    the s-th letter of A-Z a-z, so an implicit output (sorted) comes in the labels' numeric order."""

    def letters(sublist: Any) -> str:
        out = []
        for s in sublist:
            if s is Ellipsis:
                out.append("...")
            elif not isinstance(s, int) or not 0 <= s < 52:
                raise ValueError(f"einsum(): subscript {s!r} in subscript list is not within the valid range [0, 52)")
            else:
                out.append(_SUBLIST_LETTERS[s])
        return "".join(out)

    operands, terms = list(args[0::2]), [letters(s) for s in args[1::2]]
    output = letters(args[-1]) if len(args) % 2 else None
    if output is not None:
        operands = operands[:-1]
    return ",".join(terms) + ("" if output is None else "->" + output), operands


def _integer_plan(terms: Sequence[str], output: str, shapes: Sequence[tuple[int, ...]]) -> tuple[bool, bool]:
    """For integer and bool operands: whether PyTorch's result is int64, and whether it multiplies
    and sums while still in bool (which PyTorch has not implemented).

    PyTorch contracts left to right: at step i (operand i joining the running result) a label
    not in the output whose last operand of size ≠ 1 is i goes through ``sum`` when only one side
    has it (size 1 on the other), which promotes integers and bool to int64, and through
    ``bmm``/``dot`` when both have it, which keeps the dtype. Labels only operand 0 has are summed
    before anything else; a single operand is summed directly; with a size-0 label PyTorch
    skips the products."""
    if len(terms) == 1:
        return any(c not in output for c in terms[0]), False
    promoted_at, product_at = len(terms), len(terms)  # the first step of each
    for label in set("".join(terms)) - set(output):
        own = [dict(zip(t, s, strict=True)).get(label, 1) for t, s in zip(terms, shapes, strict=True)]
        last = max((i for i in range(1, len(own)) if own[i] != 1), default=0)
        running = next((n for n in own[:last] if n != 1), 1)  # the running result's size along it
        if (last == 0 and own[0] != 1) or (last > 0 and running == 1):
            promoted_at = min(promoted_at, last)
        elif last > 0:
            product_at = min(product_at, last)
    empty = any(0 in s for s in shapes)
    return promoted_at < len(terms), product_at < promoted_at and not empty


def einsum(*args: Any) -> Tensor:
    """``einsum(equation, *operands)`` (operands also as one list or tuple), or PyTorch's
    sublist form ``einsum(x, [0, 1], y, [1, 2], [0, 2])``.

    z[o] = Σ over the labels not in o of Π_k x_k[t_k];  dL/dx_k = einsum("o,t_j (j ≠ k)->t_k",
    g, x_j...), broadcast along labels summed inside x_k alone and written on the diagonal of
    zeros where t_k repeats a label (the derivation is in ``Einsum``). All operands must share
    one dtype (RuntimeError otherwise, as PyTorch). Integer and bool results take PyTorch's
    dtype, which depends on how it contracts (see ``_integer_plan``).
    """
    if autocast_state.enabled:
        args = autocast_args("einsum", *args)
    if not args or (isinstance(args[0], str) and len(args) < 2):
        raise ValueError(
            "einsum(): must specify the equation string and at least one operand, "
            "or at least one operand and its subscripts list"
        )
    if isinstance(args[0], Tensor):
        equation, operands = _from_sublists(args)
    elif isinstance(args[0], str):
        equation = args[0]
        operands = list(args[1]) if len(args) == 2 and isinstance(args[1], list | tuple) else list(args[1:])
    else:
        raise TypeError(f"einsum(): argument 'equation' must be str, not {type(args[0]).__name__}")
    for i, o in enumerate(operands):
        if not isinstance(o, Tensor):
            raise TypeError(f"einsum(): expected Tensor as operand {i}, but got {type(o).__name__}")
    terms, output, sizes = parse(equation, [o.shape for o in operands])
    kinds = {o.dtype for o in operands}
    if len(kinds) > 1:
        raise RuntimeError(
            f"einsum(): expected all operands to have the same dtype, got {', '.join(str(o.dtype) for o in operands)}"
        )
    dtype = operands[0].dtype
    if dtype in dtypes.LOW_PRECISION:  # NumPy's einsum has no bfloat16: in float32, rounded once (as PyTorch)
        wide = [o.to(dtypes.COMPUTE_DTYPE) for o in operands]
        return Einsum.apply(*wide, terms=terms, output=output, sizes=sizes).to(dtype)
    if dtypes.is_floating(dtype):
        return Einsum.apply(*operands, terms=terms, output=output, sizes=sizes)
    int64, bool_product_sum = _integer_plan(terms, output, [o.shape for o in operands])
    if dtype == dtypes.bool_:  # products of 0/1 in int64 are the logical and
        if bool_product_sum:
            raise NotImplementedError(f"einsum(): {equation!r} sums products, which is not implemented for bool")
        operands = [o.to(dtypes.int64) for o in operands]
    result = Einsum.apply(*operands, terms=terms, output=output, sizes=sizes)
    return result.to(dtypes.int64 if int64 else dtype)
