"""Module: the base class of every layer and model.

A Module keeps three ordered registries, filled by plain attribute assignment:

* ``self.weight = Parameter(...)``  goes to ``_parameters`` (learnable, in ``parameters()``);
* ``self.register_buffer("running_mean", t)`` goes to ``_buffers`` (state, not learned);
* ``self.fc = Linear(...)``  goes to ``_modules`` (a child; its names get the prefix ``fc.``).

Everything else — ``parameters()``, ``state_dict()``, ``to()``, ``train()`` — is a
walk over that tree. Names and behaviour follow ``torch.nn.Module``.
"""

from __future__ import annotations

import warnings
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from typing import Any, NamedTuple

import numpy as np

from ..engine import backend, dtypes
from ..engine.grad_mode import no_grad
from ..engine.tensor import Tensor
from .hooks import BackwardHook, RemovableHandle
from .parameter import Parameter

__all__ = ["IncompatibleKeys", "Module", "RemovableHandle"]

ForwardHook = Callable[["Module", tuple[Any, ...], Any], Any]
ForwardPreHook = Callable[["Module", tuple[Any, ...]], Any]
BackwardHookFn = Callable[["Module", tuple[Any, ...], tuple[Any, ...]], Any]
BackwardPreHook = Callable[["Module", tuple[Any, ...]], Any]


class IncompatibleKeys(NamedTuple):
    """What ``load_state_dict`` returns: keys the model has but the dict lacks, and the reverse."""

    missing_keys: list[str]
    unexpected_keys: list[str]


class Module:
    """Base class for all neural-network modules; subclasses define ``forward``."""

    training: bool

    def __init__(self) -> None:
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent_buffers", set())
        object.__setattr__(self, "_modules", OrderedDict())
        # hooks by handle id; the flags of a forward (pre-)hook registered with_kwargs / always_call
        for table in (
            "_forward_pre_hooks",
            "_forward_pre_hooks_with_kwargs",
            "_forward_hooks",
            "_forward_hooks_with_kwargs",
            "_forward_hooks_always_called",
            "_backward_pre_hooks",
            "_backward_hooks",
        ):
            object.__setattr__(self, table, OrderedDict())

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f'Module [{type(self).__name__}] is missing the required "forward" function')

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self._forward_hooks or self._forward_pre_hooks or self._backward_hooks or self._backward_pre_hooks:
            return self._call_with_hooks(args, kwargs)
        return self.forward(*args, **kwargs)

    def _call_with_hooks(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """forward with its hooks, in PyTorch's order: forward pre-hooks (may replace the args), the
        backward hooks' gate on the inputs (nn/hooks.py), forward, forward hooks (may replace the
        output), the gate on the outputs. A forward hook with ``always_call`` also runs when forward raises."""
        result = None
        called: set[int] = set()
        try:
            for hook_id, hook in list(self._forward_pre_hooks.items()):
                if hook_id in self._forward_pre_hooks_with_kwargs:
                    replaced = hook(self, args, kwargs)
                    if replaced is not None:
                        if not (isinstance(replaced, tuple) and len(replaced) == 2):
                            raise RuntimeError(
                                "forward pre-hook must return None or a tuple of (new_args, new_kwargs), "
                                f"but got {replaced}."
                            )
                        args, kwargs = replaced
                else:
                    replaced = hook(self, args)
                    if replaced is not None:
                        args = replaced if isinstance(replaced, tuple) else (replaced,)
            backward_hook = None
            if self._backward_hooks or self._backward_pre_hooks:
                backward_hook = BackwardHook(
                    self, list(self._backward_hooks.values()), list(self._backward_pre_hooks.values())
                )
                args = backward_hook.setup_input_hook(args)
            result = self.forward(*args, **kwargs)
            for hook_id, hook in list(self._forward_hooks.items()):
                if hook_id in self._forward_hooks_always_called:
                    called.add(hook_id)
                result = self._run_forward_hook(hook_id, hook, args, kwargs, result)
            if backward_hook is not None:
                result = backward_hook.setup_output_hook(result)
            return result
        except Exception:
            for hook_id, hook in list(self._forward_hooks.items()):
                if hook_id not in self._forward_hooks_always_called or hook_id in called:
                    continue
                try:
                    result = self._run_forward_hook(hook_id, hook, args, kwargs, result)
                except Exception as err:
                    warnings.warn(
                        "forward hook with ``always_call=True`` raised an exception that was silenced as another "
                        f"error was raised in forward: {err}",
                        stacklevel=2,
                    )
            raise

    def _run_forward_hook(
        self, hook_id: int, hook: Any, args: tuple[Any, ...], kwargs: dict[str, Any], result: Any
    ) -> Any:
        """The output after one forward hook: what it returned, or ``result`` when it returned None."""
        if hook_id in self._forward_hooks_with_kwargs:
            replaced = hook(self, args, kwargs, result)
        else:
            replaced = hook(self, args, result)
        return result if replaced is None else replaced

    # ----------------------------------------------------------- registration
    def _check_name(self, kind: str, name: str) -> None:
        if "_parameters" not in self.__dict__:
            raise AttributeError(f"cannot assign {kind} before Module.__init__() call")
        if not isinstance(name, str) or not name or "." in name:
            raise KeyError(f'{kind} name must be a non-empty string without ".", got {name!r}')

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Add ``param`` (or a ``None`` placeholder, like a missing bias) under ``name``."""
        self._check_name("parameter", name)
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(
                f"cannot assign '{type(param).__name__}' object to parameter '{name}' (Parameter or None required)"
            )
        if name in self.__dict__ or name in self._modules or name in self._buffers:
            raise KeyError(f"attribute '{name}' already exists")
        self._parameters[name] = param

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """Add state that is not learned (``running_mean``); ``persistent=False`` keeps it out of state_dict."""
        self._check_name("buffer", name)
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(
                f"cannot assign '{type(tensor).__name__}' object to buffer '{name}' (Tensor or None required)"
            )
        if name in self.__dict__ or name in self._modules or name in self._parameters:
            raise KeyError(f"attribute '{name}' already exists")
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent_buffers.discard(name)
        else:
            self._non_persistent_buffers.add(name)

    def add_module(self, name: str, module: Module | None) -> None:
        """Add a child module under ``name``."""
        self._check_name("module", name)
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        if name in self.__dict__ or name in self._parameters or name in self._buffers:
            raise KeyError(f"attribute '{name}' already exists")
        self._modules[name] = module

    register_module = add_module

    def __setattr__(self, name: str, value: Any) -> None:
        registries = ("_parameters", "_buffers", "_modules")
        if isinstance(value, Parameter):
            self._check_name("parameter", name)
            self._forget(name, keep="_parameters")
            self._parameters[name] = value
        elif isinstance(value, Module):
            self._check_name("module", name)
            self._forget(name, keep="_modules")
            self._modules[name] = value
        elif name in self.__dict__.get("_parameters", {}):
            if value is not None:
                raise TypeError(
                    f"cannot assign '{type(value).__name__}' as parameter '{name}' (Parameter or None expected)"
                )
            self._parameters[name] = None
        elif name in self.__dict__.get("_modules", {}):
            if value is not None:
                raise TypeError(
                    f"cannot assign '{type(value).__name__}' as child module '{name}' (Module or None expected)"
                )
            self._modules[name] = None
        elif name in self.__dict__.get("_buffers", {}):
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"cannot assign '{type(value).__name__}' as buffer '{name}' (Tensor or None expected)")
            self._buffers[name] = value
        else:
            if name not in registries:
                self._forget(name, keep=None)
            object.__setattr__(self, name, value)

    def _forget(self, name: str, keep: str | None) -> None:
        """Drop ``name`` from every registry but ``keep`` (re-assigning changes its kind)."""
        self.__dict__.pop(name, None)
        for registry in ("_parameters", "_buffers", "_modules"):
            if registry != keep:
                self.__dict__.get(registry, {}).pop(name, None)

    def __getattr__(self, name: str) -> Any:
        # Only called when normal lookup fails: look in the three registries.
        for registry in ("_parameters", "_buffers", "_modules"):
            table = self.__dict__.get(registry)
            if table is not None and name in table:
                return table[name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name: str) -> None:
        for registry in ("_parameters", "_buffers", "_modules"):
            if name in self.__dict__.get(registry, {}):
                del self.__dict__[registry][name]
                self._non_persistent_buffers.discard(name)
                return
        object.__delattr__(self, name)

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | set(self._parameters) | set(self._buffers) | set(self._modules))

    # ------------------------------------------------------------------ hooks
    def _add_hook(self, api: str, hook: Any, table: str, prepend: bool, flags: dict[str, bool]) -> RemovableHandle:
        """Register ``hook`` in ``table`` (first when ``prepend``), with the flag tables in ``flags`` that are True."""
        if not callable(hook):
            raise TypeError(f"{api}: hook must be callable, got {type(hook).__name__}")
        hooks = getattr(self, table)
        handle = RemovableHandle(hooks, extra_dict=[getattr(self, name) for name in flags])
        hooks[handle.id] = hook
        for name, on in flags.items():
            if on:
                getattr(self, name)[handle.id] = True
        if prepend:
            hooks.move_to_end(handle.id, last=False)
        return handle

    def register_forward_pre_hook(
        self, hook: ForwardPreHook, *, prepend: bool = False, with_kwargs: bool = False
    ) -> RemovableHandle:
        """Call ``hook(module, args)`` before every forward; a non-None result replaces the positional
        args (a non-tuple is wrapped in one). With ``with_kwargs``: ``hook(module, args, kwargs)`` returning
        None or ``(args, kwargs)``. ``prepend`` runs it before the hooks already registered."""
        flags = {"_forward_pre_hooks_with_kwargs": with_kwargs}
        return self._add_hook("register_forward_pre_hook", hook, "_forward_pre_hooks", prepend, flags)

    def register_forward_hook(
        self, hook: ForwardHook, *, prepend: bool = False, with_kwargs: bool = False, always_call: bool = False
    ) -> RemovableHandle:
        """Call ``hook(module, args, output)`` after every forward; a non-None result replaces the output.
        With ``with_kwargs``: ``hook(module, args, kwargs, output)``; with ``always_call`` it also runs when
        forward raises (then ``output`` is None)."""
        flags = {"_forward_hooks_with_kwargs": with_kwargs, "_forward_hooks_always_called": always_call}
        return self._add_hook("register_forward_hook", hook, "_forward_hooks", prepend, flags)

    def register_full_backward_pre_hook(self, hook: BackwardPreHook, prepend: bool = False) -> RemovableHandle:
        """Call ``hook(module, grad_output)`` when the gradients of this call's outputs are known (one entry
        per output, None where none came), before they flow into the module; a non-None result (a tuple
        of the same length) replaces them."""
        return self._add_hook("register_full_backward_pre_hook", hook, "_backward_pre_hooks", prepend, {})

    def register_full_backward_hook(self, hook: BackwardHookFn, prepend: bool = False) -> RemovableHandle:
        """Call ``hook(module, grad_input, grad_output)`` once per backward through a call, when the
        gradients of all its positional inputs are known: grad_input has one entry per positional argument
        (dL/dx for a tensor, None for anything else), grad_output one per output. A non-None result (a
        tuple of the same length) replaces grad_input. Built on identity Functions (nn/hooks.py), so the
        engine's ordinary backward calls it."""
        return self._add_hook("register_full_backward_hook", hook, "_backward_hooks", prepend, {})

    # ----------------------------------------------------------------- walks
    def named_modules(self, memo: set[int] | None = None, prefix: str = "") -> Iterator[tuple[str, Module]]:
        """Every module in the tree (this one first, as ``""``), each once."""
        memo = set() if memo is None else memo
        if id(self) in memo:
            return
        memo.add(id(self))
        yield prefix, self
        for name, child in self._modules.items():
            if child is not None:
                yield from child.named_modules(memo, f"{prefix}.{name}" if prefix else name)

    def modules(self) -> Iterator[Module]:
        for _, module in self.named_modules():
            yield module

    def named_children(self) -> Iterator[tuple[str, Module]]:
        """The direct sub-modules, each once."""
        seen: set[int] = set()
        for name, child in self._modules.items():
            if child is not None and id(child) not in seen:
                seen.add(id(child))
                yield name, child

    def children(self) -> Iterator[Module]:
        for _, child in self.named_children():
            yield child

    def _named_members(self, registry: str, prefix: str, recurse: bool) -> Iterator[tuple[str, Tensor]]:
        modules = self.named_modules(prefix=prefix) if recurse else [(prefix, self)]
        seen: set[int] = set()  # a tensor shared by two modules is listed once
        for module_prefix, module in modules:
            for name, value in getattr(module, registry).items():
                if value is None or id(value) in seen:
                    continue
                seen.add(id(value))
                yield (f"{module_prefix}.{name}" if module_prefix else name), value

    def named_parameters(self, prefix: str = "", recurse: bool = True) -> Iterator[tuple[str, Parameter]]:
        """("fc.weight", Parameter) for every parameter of the tree (or of this module only)."""
        yield from self._named_members("_parameters", prefix, recurse)  # type: ignore[misc]

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        for _, param in self.named_parameters(recurse=recurse):
            yield param

    def named_buffers(self, prefix: str = "", recurse: bool = True) -> Iterator[tuple[str, Tensor]]:
        yield from self._named_members("_buffers", prefix, recurse)

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        for _, buffer in self.named_buffers(recurse=recurse):
            yield buffer

    # ------------------------------------------------------------ state dicts
    def state_dict(self, destination: dict[str, Tensor] | None = None, prefix: str = "") -> OrderedDict[str, Tensor]:
        """Parameters and persistent buffers by dotted name, detached (sharing memory)."""
        out: OrderedDict[str, Tensor] = OrderedDict() if destination is None else destination  # type: ignore[assignment]
        for name, param in self._parameters.items():
            if param is not None:
                out[prefix + name] = param.detach()
        for name, buffer in self._buffers.items():
            if buffer is not None and name not in self._non_persistent_buffers:
                out[prefix + name] = buffer.detach()
        for name, child in self._modules.items():
            if child is not None:
                child.state_dict(out, prefix + name + ".")
        return out

    def _state_tensors(self) -> OrderedDict[str, Tensor]:
        """The live tensors behind ``state_dict()`` (the same keys, not detached)."""
        out: OrderedDict[str, Tensor] = OrderedDict()
        for prefix, module in self.named_modules():
            dotted = prefix + "." if prefix else ""
            for name, param in module._parameters.items():
                if param is not None:
                    out[dotted + name] = param
            for name, buffer in module._buffers.items():
                if buffer is not None and name not in module._non_persistent_buffers:
                    out[dotted + name] = buffer
        return out

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True) -> IncompatibleKeys:
        """Copy values into this model's parameters and buffers, in place.

        Every check runs before anything is written: a shape mismatch always raises,
        and with ``strict=True`` so do missing or unexpected keys.
        """
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"load_state_dict: expected a mapping of names to tensors, got {type(state_dict).__name__}")
        own = self._state_tensors()
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        errors = []
        if strict and unexpected:
            errors.append("Unexpected key(s) in state_dict: " + ", ".join(f'"{k}"' for k in unexpected) + ".")
        if strict and missing:
            errors.append("Missing key(s) in state_dict: " + ", ".join(f'"{k}"' for k in missing) + ".")
        arrays = {}
        for key, target in own.items():
            if key not in state_dict:
                continue
            value = state_dict[key]
            array = value.array if isinstance(value, Tensor) else value
            if not hasattr(array, "shape"):  # a nested list or a number
                array = np.asarray(array)
            shape = tuple(np.shape(array))
            if shape != target.shape:
                errors.append(
                    f"size mismatch for {key}: copying a param with shape {shape} from checkpoint, "
                    f"the shape in current model is {target.shape}."
                )
            arrays[key] = array
        if errors:
            raise RuntimeError(f"Error(s) in loading state_dict for {type(self).__name__}:\n\t" + "\n\t".join(errors))
        for key, array in arrays.items():
            target = own[key]
            target.array[...] = backend.to_device(backend.xp_of(array).asarray(array), target.device)
        return IncompatibleKeys(missing, unexpected)

    # ------------------------------------------------------------------ modes
    def train(self, mode: bool = True) -> Module:
        """Training mode (dropout drops, batch norm uses batch statistics) for the whole tree."""
        if not isinstance(mode, bool):
            raise ValueError(f"train: training mode is expected to be boolean, got {mode!r}")
        for module in self.modules():
            object.__setattr__(module, "training", mode)
        return self

    def eval(self) -> Module:
        """Evaluation mode: ``train(False)``."""
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        for param in self.parameters():
            param.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget accumulated gradients: drop them (default) or fill them with zeros."""
        for param in self.parameters():
            if param.grad is None:
                continue
            if set_to_none:
                param.grad = None
            else:
                param.grad = Tensor(param.grad.xp.zeros_like(param.grad.array))

    def apply(self, fn: Callable[[Module], Any]) -> Module:
        """Call ``fn`` on every sub-module (children first) and then on this one, e.g. custom init."""
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    # ------------------------------------------------------- device and dtype
    def _convert(self, device: str | None, dtype: np.dtype | None) -> Module:
        """Move/cast every parameter and buffer in place, keeping the Parameter objects
        (so an optimizer built before ``to()`` still holds them). Only floating-point
        tensors change dtype, as in PyTorch (``num_batches_tracked`` stays int64)."""

        def convert(t: Tensor) -> Any:
            array = t.array
            if dtype is not None and dtypes.is_floating(array.dtype) and array.dtype != dtype:
                array = array.astype(dtype)
            return backend.to_device(array, device) if device is not None else array

        for module in self.modules():
            for param in module._parameters.values():
                if param is not None:
                    param.array = convert(param)
                    if param.grad is not None:
                        param.grad = Tensor(convert(param.grad))
            for name, buffer in module._buffers.items():
                if buffer is not None:
                    module._buffers[name] = Tensor(convert(buffer))
        return self

    def to(self, *args: Any, device: Any = None, dtype: Any = None) -> Module:
        """``to("cuda")``, ``to(glassgrad.float64)``, ``to("cpu", float32)``; in place, returns self."""
        for arg in args:
            if isinstance(arg, str):  # a string is a device, as in PyTorch ("tpu" is an unknown device, not a dtype)
                device = arg
            elif isinstance(arg, Tensor):
                device, dtype = arg.device, arg.dtype
            else:
                dtype = arg
        device = backend.normalize_device(device, f"{type(self).__name__}.to") if device is not None else None
        if device == "cuda":
            backend.cupy_module(f"{type(self).__name__}.to")  # raises a clear error where there is no GPU
        if dtype is not None:
            dtype = dtypes.to_dtype(dtype)
            if not dtypes.is_floating(dtype):
                raise TypeError(f"{type(self).__name__}.to: only floating point dtypes are accepted, got {dtype}")
        with no_grad():
            return self._convert(device, dtype)

    def cpu(self) -> Module:
        return self.to("cpu")

    def cuda(self) -> Module:
        return self.to("cuda")

    def float(self) -> Module:
        return self.to(dtypes.float32)

    def double(self) -> Module:
        return self.to(dtypes.float64)

    def half(self) -> Module:
        return self.to(dtypes.float16)

    def bfloat16(self) -> Module:
        return self.to(dtypes.bfloat16)

    # ------------------------------------------------------------------- repr
    def extra_repr(self) -> str:
        """The text between the parentheses of this module's repr; layers override it."""
        return ""

    def _get_name(self) -> str:
        return type(self).__name__

    def __repr__(self) -> str:
        lines = [line for line in self.extra_repr().split("\n") if line]
        for name, child in self._modules.items():
            child_repr = repr(child).replace("\n", "\n  ")
            lines.append(f"({name}): {child_repr}")
        if not self._modules and len(lines) <= 1:
            return f"{self._get_name()}({lines[0] if lines else ''})"
        return self._get_name() + "(\n  " + "\n  ".join(lines) + "\n)"
