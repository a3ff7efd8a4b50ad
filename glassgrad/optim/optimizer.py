"""Optimizer: parameter groups, per-parameter state, and the state_dict layout of PyTorch.

Subclasses implement ``update(group, param, grad, state)`` — one parameter's
step: create its state on the first step, then one ``kernels.run`` of the
optimizer's update op (kernels/optim/: the math, in PyTorch's order of
operations) — and the base class walks the groups. Updates happen in place on
``param.array`` and its state arrays, under ``no_grad``: nothing is recorded.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Iterable
from typing import Any

from ..engine.grad_mode import no_grad
from ..engine.tensor import Tensor


class Optimizer:
    """Base class: ``params`` is an iterable of tensors or of dicts (parameter groups).

    ``nonnegative`` names the hyperparameters that must be >= 0; a subclass with
    further rules (Adam's betas, SGD's nesterov) extends ``check_group``.
    """

    nonnegative: tuple[str, ...] = ("lr", "weight_decay")

    def __init__(self, params: Iterable[Any], defaults: dict[str, Any]) -> None:
        name = type(self).__name__
        if isinstance(params, Tensor | dict):
            raise TypeError(
                f"{name}: params must be an iterable of Tensors or of parameter-group dicts, "
                f"got a single {type(params).__name__} (wrap it in a list)"
            )
        self.defaults = dict(defaults)
        self.param_groups: list[dict[str, Any]] = []
        self.state: dict[Tensor, dict[str, Any]] = {}
        groups = list(params)
        if not groups:
            raise ValueError(f"{type(self).__name__}: got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a group; hyperparameters it leaves out come from the defaults."""
        name = type(self).__name__
        if not isinstance(param_group, dict) or "params" not in param_group:
            raise TypeError(f"{name}.add_param_group: expected a dict with a 'params' entry, got {param_group!r}")
        group = dict(param_group)
        params = group.get("params")
        params = [params] if isinstance(params, Tensor) else list(params or [])
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        for i, p in enumerate(params):
            if not isinstance(p, Tensor):
                raise TypeError(f"{name}: parameter {i} is a {type(p).__name__}, not a Tensor")
            if not p.is_leaf:
                raise ValueError(f"{name}: can't optimize a non-leaf tensor (parameter {i}, shape {p.shape})")
            if id(p) in seen:
                raise ValueError(f"{name}: parameter {i} (shape {p.shape}) appears in more than one group")
            seen.add(id(p))
        unknown = set(group) - set(self.defaults) - {"params", "initial_lr"}
        if unknown:
            raise TypeError(f"{name}: unknown hyperparameters {sorted(unknown)}")
        group["params"] = params
        for key, value in self.defaults.items():
            group.setdefault(key, value)
        self.check_group(group)
        self.param_groups.append(group)

    def check_group(self, group: dict[str, Any]) -> None:
        """Reject a group's bad hyperparameters (negative lr, ...), naming the optimizer."""
        name = type(self).__name__
        for key in self.nonnegative:
            value = group[key]
            if isinstance(value, bool) or not isinstance(value, numbers.Real):  # TypeError, as PyTorch's compare
                raise TypeError(f"{name}: invalid {key} {value!r} (must be a number >= 0, not {type(value).__name__})")
            if not value >= 0:  # NaN too: it would turn every weight to NaN
                raise ValueError(f"{name}: invalid {key} {value!r} (must be a number >= 0)")

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the accumulated gradients (None, or zeros in place)."""
        for group in self.param_groups:
            for p in group["params"]:
                if set_to_none:
                    p.grad = None
                elif p.grad is not None:
                    p.grad.array[...] = 0

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Apply one update to every parameter that has a gradient."""
        loss = None
        if closure is not None:
            from ..engine.grad_mode import enable_grad

            with enable_grad():
                loss = closure()
        self._check_grads()
        with no_grad():
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is not None:
                        self.update(group, p, p.grad.array, self.state.setdefault(p, {}))
        return loss

    def _check_grads(self) -> None:
        """Every gradient matches its parameter's shape and device (checked before any update)."""
        for i, group in enumerate(self.param_groups):
            for j, p in enumerate(group["params"]):
                g = p.grad
                if g is not None and (g.shape != p.shape or type(g.array) is not type(p.array)):
                    raise RuntimeError(
                        f"{type(self).__name__}.step: parameter {j} of group {i} has shape {p.shape} on {p.device} "
                        f"but its gradient has shape {g.shape} on {g.device}"
                    )

    def update(self, group: dict[str, Any], param: Tensor, grad: Any, state: dict[str, Any]) -> None:
        """Update ``param.array`` in place from ``grad`` (its gradient's array, as accumulated: the
        update applies ``maximize``) and ``state`` (this parameter's, filled on its first step)."""
        raise NotImplementedError(f"{type(self).__name__} must define update()")

    # ------------------------------------------------------------ state dicts
    def state_dict(self) -> dict[str, Any]:
        """``{"state": {index: {...}}, "param_groups": [{..., "params": [indices]}]}`` as in PyTorch."""
        index: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            ids = []
            for p in group["params"]:
                index.setdefault(id(p), len(index))
                ids.append(index[id(p)])
            groups.append({**{k: v for k, v in group.items() if k != "params"}, "params": ids})
        state = {
            index[id(p)]: {k: Tensor(v.copy()) if hasattr(v, "shape") else v for k, v in s.items()}
            for p, s in self.state.items()
            if id(p) in index
        }
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore hyperparameters and state; group and parameter counts/shapes must match."""
        name = type(self).__name__
        if not isinstance(state_dict, dict) or not {"state", "param_groups"} <= set(state_dict):
            raise ValueError(f"{name}.load_state_dict: expected a dict with 'state' and 'param_groups' entries")
        groups = state_dict["param_groups"]
        if len(groups) != len(self.param_groups):
            raise ValueError(
                f"{name}.load_state_dict: {len(groups)} groups given, optimizer has {len(self.param_groups)}"
            )
        params: dict[int, Tensor] = {}
        for saved, group in zip(groups, self.param_groups, strict=True):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(
                    f"{name}.load_state_dict: a group has {len(saved['params'])} parameters in the file "
                    f"but {len(group['params'])} in the optimizer"
                )
            params.update(zip(saved["params"], group["params"], strict=True))
        new_state: dict[Tensor, dict[str, Any]] = {}
        for key, values in state_dict["state"].items():
            if int(key) not in params:
                raise ValueError(f"{name}.load_state_dict: state for parameter {key}, which no group lists")
            p = params[int(key)]
            restored = {}
            for k, v in values.items():
                if isinstance(v, Tensor):
                    if v.shape != p.shape and v.numel() != 1:
                        raise ValueError(
                            f"{name}.load_state_dict: state {k!r} has shape {v.shape}, parameter {p.shape}"
                        )
                    v = (
                        p.xp.asarray(v.array, dtype=p.dtype).copy()
                        if v.numel() != 1 or v.shape == p.shape
                        else v.item()
                    )
                restored[k] = v
            new_state[p] = restored
        for saved, group in zip(groups, self.param_groups, strict=True):
            group.update({k: v for k, v in saved.items() if k != "params"})
        self.state = new_state

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {v}" for k, v in sorted(group.items()) if k != "params"]
        return "\n".join(lines) + "\n)"
