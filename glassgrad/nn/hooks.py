"""Module hooks: the handle that removes one, and the machinery of the full backward hook.

A full backward hook (``Module.register_full_backward_hook``) must see, once per backward, the
gradients of a call's inputs and outputs together, and may replace the input gradients. As in PyTorch,
nothing in the engine knows about modules: ``Module.__call__`` routes the call's tensors through
identity Functions, so the engine's ordinary backward walk calls back here.

Each side of a call (the positional inputs that require grad, then the output tensors) goes through a
*gate*::

    gate  = BackwardHookGate(t₁, …, tₙ)               a scalar 0 that depends on every tᵢ
    tᵢ'   = BackwardHookFunction(tᵢ, gate)            tᵢ's values (no copy)

The module computes with the tᵢ'. In backward, each BackwardHookFunction receives gᵢ = dL/dtᵢ' and
hands it to the call's collector (sending nothing to tᵢ, and a zero to the gate). The engine runs a
vertex only after every vertex that consumed it, so the gate runs after *all* of them: it then knows
every gᵢ of the call, lets the hooks see (and replace) them, and sends dL/dtᵢ on to each tᵢ. Nothing
is wrapped while a module has no backward hooks.
"""

from __future__ import annotations

import warnings
import weakref
from collections.abc import Callable, Sequence
from typing import Any

from ..engine.function import Context, Function
from ..engine.grad_mode import is_grad_enabled
from ..engine.recorded import Recorded
from ..engine.tensor import Tensor


class RemovableHandle:
    """What every ``register_*_hook`` returns (``torch.utils.hooks.RemovableHandle``): ``remove()``
    takes the hook out of ``hooks_dict`` (and its flags out of ``extra_dict``); as a context manager
    it removes the hook on exit."""

    id: int
    next_id: int = 0

    def __init__(self, hooks_dict: Any, *, extra_dict: Any = None) -> None:
        self.hooks_dict_ref = weakref.ref(hooks_dict)
        self.id = RemovableHandle.next_id
        RemovableHandle.next_id += 1
        extras = [extra_dict] if isinstance(extra_dict, dict) else list(extra_dict or ())
        self.extra_dict_ref = tuple(weakref.ref(d) for d in extras)

    def remove(self) -> None:
        for ref in (self.hooks_dict_ref, *self.extra_dict_ref):
            table = ref()
            if table is not None:
                table.pop(self.id, None)

    def __enter__(self) -> RemovableHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()


class _Collector:
    """The gradients handed in by one gate's BackwardHookFunctions, and what the gate does with them."""

    def __init__(self, n: int, on_all: Callable[[tuple[Any, ...]], tuple[Any, ...]]) -> None:
        self.grads: list[Any] = [None] * n
        self.on_all = on_all
        self.made: set[int] = set()  # the BackwardHookFunction outputs made so far

    def release(self) -> tuple[Any, ...]:
        grads, self.grads = tuple(self.grads), [None] * len(self.grads)
        return self.on_all(grads)


class BackwardHookFunction(Function):
    """z = x (the same values);  dL/dx is not sent from here: g = dL/dz goes to the call's collector and
    the gate sends dL/dx once every gradient of the call is known (dL/dgate = 0).

    z shares x's memory, so the engine records it as a view of x; an in-place op on z re-takes the view
    (a second forward for the same output) and raises, as in PyTorch: the written value would bypass
    the gate."""

    @staticmethod
    def forward(ctx: Context, x: Any, gate: Any, collector: _Collector, index: int) -> Any:
        if index in collector.made:
            raise RuntimeError(
                f"Output {index} of BackwardHookFunction is a view and is being modified inplace. This view was "
                "created inside a custom Function (or because an input was returned as-is) and the autograd logic "
                "to handle view+inplace would override the custom backward associated with the custom Function, "
                "leading to incorrect gradients. This behavior is forbidden. You can fix this by cloning the output "
                "of the custom Function."
            )
        collector.made.add(index)
        ctx.collector, ctx.index, ctx.zero = collector, index, gate
        return x

    @staticmethod
    def backward(ctx: Context, g: Any) -> tuple[Any, Any]:
        ctx.collector.grads[ctx.index] = g
        return None, ctx.zero


class BackwardHookGate(Function):
    """z = 0 (a scalar, consumed by every BackwardHookFunction of one call);  dL/dxᵢ = the gradient its
    BackwardHookFunction collected, after the module's hooks have seen it (or the hooks' replacement)."""

    @staticmethod
    def forward(ctx: Context, *xs: Any, collector: _Collector) -> Any:
        ctx.collector = collector
        return ctx.xp.zeros((), dtype=xs[0].dtype)

    @staticmethod
    def backward(ctx: Context, g: Any) -> tuple[Any, ...]:
        return ctx.collector.release()


def _gated(tensors: Sequence[Tensor], on_all: Callable[[tuple[Any, ...]], tuple[Any, ...]]) -> list[Tensor]:
    """``tensors`` through one gate: the returned tensors have their values; in backward ``on_all(grads)``
    gets every dL/dtᵢ' at once (arrays, Recorded under create_graph, None where none came) and returns dL/dtᵢ."""
    collector = _Collector(len(tensors), on_all)
    gate = BackwardHookGate.apply(*tensors, collector=collector)
    return [BackwardHookFunction.apply(t, gate, collector=collector, index=i) for i, t in enumerate(tensors)]


def _as_tensor(g: Any) -> Tensor | None:
    return None if g is None else g.tensor if type(g) is Recorded else Tensor(g)


def _as_engine(t: Any, recorded: bool, api: str, what: str, i: int, shape: tuple[int, ...]) -> Any:
    """A hook's gradient as the engine carries it (an array, or Recorded under create_graph)."""
    if t is None:
        return None
    if not isinstance(t, Tensor):
        raise TypeError(f"{api}: the hook returned {what}[{i}] of type {type(t).__name__}; expected a Tensor or None")
    if t.shape != shape:
        raise RuntimeError(f"{api}: the hook returned {what}[{i}] of shape {t.shape}; expected shape {shape}")
    return Recorded(t) if recorded else t.array


class BackwardHook:
    """One module call's backward hooks (PyTorch's ``torch.utils.hooks.BackwardHook``).

    ``setup_input_hook(args)`` gates the positional tensors that require grad, ``setup_output_hook(result)``
    the output tensors. In backward the output gate runs first: the backward pre-hooks see
    ``grad_output`` (one entry per output, None where no gradient came) and may replace it; then the
    input gate calls ``hook(module, grad_input, grad_output)`` with one entry per positional argument:
    None for a non-tensor, dL/dx for a tensor (zeros where none came, as PyTorch gives). When no input
    requires grad the hooks are called from the output gate with every grad_input None.
    """

    def __init__(self, module: Any, user_hooks: list[Callable], user_pre_hooks: list[Callable]) -> None:
        self.module, self.user_hooks, self.user_pre_hooks = module, user_hooks, user_pre_hooks
        self.grad_outputs: tuple[Any, ...] | None = None
        self.n_inputs, self.n_outputs = 0, 0
        self.input_tensors_index: list[int] | None = None
        self.inputs: tuple[Any, ...] = ()
        self.shapes: list[Any] = []

    @staticmethod
    def _gate(values: tuple[Any, ...], on_all: Callable) -> tuple[tuple[Any, ...], list[int] | None]:
        """``values`` with its tensors that require grad gated; the positions of all its tensors (None when
        nothing was gated: grad mode is off or no tensor requires grad)."""
        index = [i for i, v in enumerate(values) if isinstance(v, Tensor)]
        wanted = [i for i in index if values[i].requires_grad]
        if not wanted or not is_grad_enabled():
            return values, None
        out = list(values)
        for i, t in zip(wanted, _gated([values[i] for i in wanted], lambda grads: on_all(wanted, grads)), strict=True):
            out[i] = t
        return tuple(out), index

    def setup_input_hook(self, args: tuple[Any, ...]) -> tuple[Any, ...]:
        self.n_inputs, self.inputs = len(args), args
        res, self.input_tensors_index = self._gate(args, self._input_gate)
        return res

    def setup_output_hook(self, result: Any) -> Any:
        single = isinstance(result, Tensor)
        if not single and not isinstance(result, tuple):
            warnings.warn(
                "For backward hooks to be called, module output should be a Tensor or a tuple of Tensors"
                f" but received {type(result)}",
                stacklevel=3,
            )
            return result
        outputs = (result,) if single else result
        self.n_outputs = len(outputs)
        self.shapes = [o.shape if isinstance(o, Tensor) else None for o in outputs]
        res, _ = self._gate(outputs, self._output_gate)
        return res[0] if single else res

    def _output_gate(self, wanted: list[int], grads: tuple[Any, ...]) -> tuple[Any, ...]:
        packed: list[Any] = [None] * self.n_outputs
        for i, g in zip(wanted, grads, strict=True):
            packed[i] = _as_tensor(g)
        self.grad_outputs = tuple(packed)
        for hook in self.user_pre_hooks:
            out = hook(self.module, self.grad_outputs)
            if out is None:
                continue
            if len(out) != len(self.grad_outputs):
                raise RuntimeError(
                    "Backward pre hook returned an invalid number of grad_output, "
                    f"got {len(out)}, but expected {len(self.grad_outputs)}"
                )
            self.grad_outputs = tuple(out)
        local = self.grad_outputs
        if self.input_tensors_index is None:  # no input requires grad: the hooks are called from here
            if self.user_hooks:
                warnings.warn(
                    "Full backward hook is firing when gradients are computed with respect to module outputs "
                    "since no inputs require gradients.",
                    stacklevel=2,
                )
            grad_inputs = (None,) * self.n_inputs
            for hook in self.user_hooks:
                res = hook(self.module, grad_inputs, self.grad_outputs)
                if res is not None and not (isinstance(res, tuple) and all(r is None for r in res)):
                    raise RuntimeError(
                        "Backward hook for Modules where no input requires gradient should always return None "
                        "or None for all gradients."
                    )
            self.grad_outputs = None
        recorded = any(type(g) is Recorded for g in grads)
        return tuple(
            g
            if local[i] is packed[i]  # unchanged: the gradient as it came
            else _as_engine(local[i], recorded, "register_full_backward_pre_hook", "grad_output", i, self.shapes[i])
            for i, g in zip(wanted, grads, strict=True)
        )

    def _input_gate(self, wanted: list[int], grads: tuple[Any, ...]) -> tuple[Any, ...]:
        if self.grad_outputs is None:  # the gradient reached the inputs without passing the outputs
            return grads
        index = self.input_tensors_index or []
        res: list[Any] = [None] * self.n_inputs
        for i in index:  # a tensor that got no gradient gets zeros, as in PyTorch
            x = self.inputs[i]
            res[i] = Tensor(x.xp.zeros_like(x.array))
        for i, g in zip(wanted, grads, strict=True):
            if g is not None:
                res[i] = _as_tensor(g)
        given = tuple(res)
        for hook in self.user_hooks:
            out = hook(self.module, tuple(res), self.grad_outputs)
            if out is None:
                continue
            if len(out) != len(res):
                raise RuntimeError(
                    f"Backward hook returned an invalid number of grad_input, got {len(out)}, but expected {len(res)}"
                )
            res = list(out)
        self.grad_outputs = None
        recorded = any(type(g) is Recorded for g in grads)
        sent = []
        for i, g in zip(wanted, grads, strict=True):
            if res[i] is given[i]:  # unchanged: the gradient as it came (None stays None, not zeros)
                sent.append(g)
            else:
                sent.append(
                    _as_engine(res[i], recorded, "register_full_backward_hook", "grad_input", i, self.inputs[i].shape)
                )
        return tuple(sent)
