"""In-place ops on views: writing through ``v = base[...]`` changes ``base``, in values and in history.

An op whose output shares memory with its first input (slicing, ``view``,
``transpose``, ``permute``, ``squeeze``...) makes a *view*: ``Function.apply``
records on it the root tensor that owns the memory and the function that
re-creates the view from that root (``ViewOf``). When an in-place op is then
recorded on the view (``v.mul_(10)``), the engine does what PyTorch's
CopySlices does:

    base ← ScatterView(base, v_new)   the base with the view's region replaced by v's new value
    v    ← view(base)                  the view re-taken from the new base

so both tensors hold the new values and later gradients flow through both.
The new values go to fresh memory (the arrays saved for earlier backward
steps are never overwritten); other views taken of the base before the write
keep the old memory and so the old values of any region they share with it.
A recorded backward (``create_graph``) differentiates ``ScatterView.decomposition``:
``index_put`` of v at the flat positions the view selects in base.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .function import Context, Function
from .grad_mode import no_grad


@dataclass(frozen=True)
class ViewOf:
    """A view's root (the tensor owning the memory) and how to take the view of it again."""

    base: Any  # Tensor
    take: Callable[[Any], Any]  # Tensor -> Tensor


def owner(array: Any) -> Any:
    """The array that owns ``array``'s memory (NumPy and CuPy keep that one as ``.base`` of every view)."""
    base = getattr(array, "base", None)
    return array if base is None else base


def record_view(result: Any, source: Any, take: Callable[[Any], Any]) -> None:
    """Mark ``result`` (made from ``source`` by ``take``) as a view when it shares ``source``'s memory."""
    if owner(result.array) is not owner(source.array):
        return
    parent = source._view_of
    if parent is None:
        result._view_of = ViewOf(source, take)
    else:
        result._view_of = ViewOf(parent.base, lambda t: take(parent.take(t)))


def region(array: Any, take: Callable[[Any], Any], op: str) -> Any:
    """The part of ``array`` that the view selects, as an array view of it (writable)."""
    from .tensor import Tensor

    with no_grad():
        part = take(Tensor(array)).array
    if owner(part) is not owner(array):
        raise RuntimeError(f"{op}: the view could not be re-taken without a copy; write to a clone() instead")
    if not getattr(part, "flags", None) or not part.flags.writeable:
        raise RuntimeError(
            f"{op}: unsupported operation: more than one element of the written-to tensor refers to a single "
            "memory location (an expanded view); call clone() first"
        )
    return part


class ScatterView(Function):
    """z = base with the region selected by the view replaced by v (an in-place op on a view);
    dL/dbase = g with that region set to 0;  dL/dv = g restricted to the region."""

    @staticmethod
    def forward(ctx: Context, base: Any, value: Any, take: Callable[[Any], Any], op: str) -> Any:
        out = _laid_out_like(base, base, ctx.xp)
        region(out, take, op)[...] = value
        ctx.take, ctx.op, ctx.layout = take, op, base
        return out

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        to_base = _laid_out_like(ctx.layout, grad, ctx.xp)
        to_value = region(to_base, ctx.take, ctx.op).copy()
        region(to_base, ctx.take, ctx.op)[...] = 0
        return to_base, to_value

    @staticmethod
    def decomposition(base: Any, value: Any, take: Callable[[Any], Any], op: str) -> Any:
        """z = base with v put at the view's flat positions (the view taken of base's own positions)"""
        from .ops.indexing import index_put

        positions = base.xp.empty_like(base.array, dtype=np.int64)  # base's layout, so the view is taken alike
        positions[...] = base.xp.arange(base.numel()).reshape(base.shape)
        return index_put(base.reshape(-1), region(positions, take, op), value).reshape(base.shape)


def _laid_out_like(template: Any, values: Any, xp: Any) -> Any:
    """A fresh array with ``template``'s memory layout holding ``values``, so a view is re-taken the same way."""
    out = xp.empty_like(template)
    out[...] = values
    return out


def check_inplace_on_view(tensor: Any, op: str) -> None:
    """PyTorch's rule: a view of a leaf that requires grad can't be changed in place while grad is on."""
    view = tensor._view_of
    if view is not None and view.base.is_leaf and view.base.requires_grad:
        raise RuntimeError(
            f"{op}: a view of a leaf tensor that requires grad is being used in an in-place operation; "
            "wrap it in no_grad() or clone() the view"
        )


def assign_through_view(view: Any, result: Any, op: str) -> None:
    """``view`` takes ``result``'s value and history, and its root base the matching update."""
    base, take = view._view_of.base, view._view_of.take
    region(base.array, take, op)  # fails here, before anything changes, if the write is impossible
    updated = ScatterView.apply(base, result, take=take, op=op)  # records base's history as it is now
    base._take_history(updated.array, updated.grad_fn)
    fresh = take(base)
    view._take_history(fresh.array, fresh.grad_fn)
