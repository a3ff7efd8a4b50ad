"""Watching a run's layers (``train --watch grads,activations``): per layer and epoch, how large the
gradients are and what the activations look like, so vanishing or exploding gradients show.

A *layer* is a module of the task with parameters of its own (``Linear``, ``Conv2d``, a norm), named
by its path in the model (``"0"``, ``"encoder.fc"``; prefixed by the task's module name, such as
``"generator.0"``, when the task has several). Each epoch adds these columns to the metrics row:

* ``grads``: for each parameter p, ``grad_norm_mean/<p>`` and ``grad_norm_max/<p>``, the mean and the
  maximum over the epoch's optimizer steps of ‖dL/dp‖₂ — read just before the step that uses it
  (after any clipping; a GAN's discriminator is stepped on its own loss's gradient, not on what
  the generator's backward adds later); and for each layer, ``layer_grad_norm_mean/<layer>`` and
  ``layer_grad_norm_max/<layer>`` of ‖dL/dθ‖₂ = √(Σₚ ‖dL/dp‖₂²) over the layer's parameters θ.
* ``activations``: for each layer, ``activation_mean/<layer>`` and ``activation_std/<layer>``, the mean
  and the (population) standard deviation of every element of the layer's output over the epoch's
  training forwards (a forward hook; its first tensor when the output is a tuple). Evaluation and
  sampling forwards are not counted.

Every sum stays on the device until the epoch's row is read (one host read per number per epoch).
"""

from __future__ import annotations

import argparse
import functools
import math
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np

from ..engine.tensor import Tensor
from ..nn.module import Module

WATCH_CHOICES = ("grads", "activations")


def check_watch(watch: Sequence[str], api: str) -> tuple[str, ...]:
    """``watch`` as a tuple of known names (each once), or a ValueError naming the valid choices."""
    if isinstance(watch, str):
        watch = (watch,)
    unknown = [w for w in watch if w not in WATCH_CHOICES]
    if unknown:
        raise ValueError(f"{api}: unknown watch {unknown[0]!r} (choose from {', '.join(WATCH_CHOICES)})")
    return tuple(dict.fromkeys(watch))


def parse_watch(text: str) -> tuple[str, ...]:
    """The argparse type of ``--watch``: comma-separated names from WATCH_CHOICES."""
    items = [item.strip() for item in text.split(",")]
    for item in items:
        if item not in WATCH_CHOICES:
            raise argparse.ArgumentTypeError(f"invalid choice: {item!r} (choose from {', '.join(WATCH_CHOICES)})")
    return tuple(dict.fromkeys(items))


def watched_layers(modules: dict[str, Module]) -> list[tuple[str, Module, list[tuple[str, Tensor]]]]:
    """(layer name, module, [(parameter name, parameter)]) for every module with parameters of its own,
    in model order, each parameter once."""
    layers, seen = [], set()
    for key, root in modules.items():
        prefix = key if len(modules) > 1 else ""
        for path, module in root.named_modules():
            name = ".".join(part for part in (prefix, path) if part) or key
            own = [(p_name, p) for p_name, p in module._parameters.items() if p is not None and id(p) not in seen]
            if own:
                seen.update(id(p) for _, p in own)
                layers.append((name, module, [(f"{name}.{p_name}", p) for p_name, p in own]))
    return layers


class _Stat:
    """Mean and max of one quantity over an epoch's samples, kept on the device."""

    __slots__ = ("count", "max", "total")

    def __init__(self) -> None:
        self.total: Any = 0.0
        self.max: Any = None
        self.count = 0

    def add(self, value: Any, xp: Any) -> None:
        self.total = self.total + value
        self.max = value if self.max is None else xp.maximum(self.max, value)
        self.count += 1


class _Moments:
    """Count, mean and sum of squared deviations of every element seen, merged batch by batch
    (Chan et al.: M₂ = M₂ₐ + M₂ᵦ + δ²·nₐnᵦ/n with δ = meanᵦ − meanₐ), kept on the device."""

    __slots__ = ("count", "m2", "mean")

    def __init__(self) -> None:
        self.count, self.mean, self.m2 = 0, 0.0, 0.0

    def add(self, a: Any) -> None:
        n_b = a.size
        if n_b == 0:
            return
        mean_b = a.mean(dtype=np.float64)
        m2_b = a.var(dtype=np.float64) * n_b
        n = self.count + n_b
        delta = mean_b - self.mean
        self.mean = self.mean + delta * (n_b / n)
        self.m2 = self.m2 + m2_b + delta * delta * (self.count * n_b / n)
        self.count = n


def _first_tensor(output: Any) -> Tensor | None:
    if isinstance(output, Tensor):
        return output
    if isinstance(output, tuple | list):
        return next((o for o in output if isinstance(o, Tensor)), None)
    return None


def _squared_norm(array: Any) -> Any:
    """‖a‖₂² as a float64 scalar on a's device (a half-precision gradient is summed in float32)."""
    flat = array.reshape(-1)
    if flat.dtype.itemsize < 4:
        flat = flat.astype(np.float32)
    return flat.dot(flat).astype(np.float64)


class Watcher:
    """The statistics of ``watch`` for the layers of ``task.modules()``; see the module docstring.

    ``with watcher.attached(task):`` installs the forward hooks and the optimizer-step reads (and
    removes them after); only ``with watcher.recording():`` sections are counted; ``read()`` returns
    the epoch's columns and starts the next epoch.
    """

    def __init__(self, watch: Sequence[str]) -> None:
        self.watch = check_watch(watch, "Watcher")
        self.layers: list[tuple[str, Module, list[tuple[str, Tensor]]]] = []
        self.on = False
        self._reset()

    def _reset(self) -> None:
        self.grads: dict[str, _Stat] = {}
        self.layer_grads: dict[str, _Stat] = {}
        self.activations: dict[str, _Moments] = {}

    @contextmanager
    def attached(self, task: Any) -> Iterator[Watcher]:
        self.layers = watched_layers(task.modules())
        handles, wrapped = [], []
        try:
            if "activations" in self.watch:
                for name, module, _ in self.layers:
                    handles.append(module.register_forward_hook(functools.partial(self._on_forward, name)))
            if "grads" in self.watch:  # each optimizer's step reads the gradients it is about to use
                for optimizer in task.optimizers().values():
                    wrapped.append((optimizer, optimizer.__dict__.get("step")))
                    optimizer.step = functools.partial(self._step, optimizer, optimizer.step)
            yield self
        finally:
            for handle in handles:
                handle.remove()
            for optimizer, own in reversed(wrapped):
                if own is None:
                    del optimizer.step  # the instance attribute goes: the class's step again
                else:
                    optimizer.step = own

    @contextmanager
    def recording(self) -> Iterator[None]:
        self.on = True
        try:
            yield
        finally:
            self.on = False

    def _on_forward(self, name: str, module: Module, args: tuple[Any, ...], output: Any) -> None:
        if self.on:
            out = _first_tensor(output)
            if out is not None:
                self.activations.setdefault(name, _Moments()).add(out.array)

    def _step(self, optimizer: Any, step: Any, *args: Any, **kwargs: Any) -> Any:
        if self.on:
            self._record_grads({id(p) for group in optimizer.param_groups for p in group["params"]})
        return step(*args, **kwargs)

    def _record_grads(self, stepped: set[int]) -> None:
        for layer, _, params in self.layers:
            layer_sq, xp = None, np
            for name, p in params:
                if id(p) not in stepped or p.grad is None:
                    continue
                sq, xp = _squared_norm(p.grad.array), p.grad.xp
                self.grads.setdefault(name, _Stat()).add(xp.sqrt(sq), xp)
                layer_sq = sq if layer_sq is None else layer_sq + sq
            if layer_sq is not None:
                self.layer_grads.setdefault(layer, _Stat()).add(xp.sqrt(layer_sq), xp)

    def read(self) -> dict[str, float]:
        """This epoch's columns (in layer order; see the module docstring), then a fresh epoch."""
        row: dict[str, float] = {}
        for layer, _, params in self.layers:
            for name, _ in params:
                if name in self.grads:
                    stat = self.grads[name]
                    row[f"grad_norm_mean/{name}"] = float(stat.total) / stat.count
                    row[f"grad_norm_max/{name}"] = float(stat.max)
            if layer in self.layer_grads:
                stat = self.layer_grads[layer]
                row[f"layer_grad_norm_mean/{layer}"] = float(stat.total) / stat.count
                row[f"layer_grad_norm_max/{layer}"] = float(stat.max)
            if layer in self.activations:
                moments = self.activations[layer]
                row[f"activation_mean/{layer}"] = float(moments.mean)
                row[f"activation_std/{layer}"] = math.sqrt(max(float(moments.m2), 0.0) / moments.count)
        self._reset()
        return row

    def discard(self) -> None:
        """Forget a partial epoch (stopped by Ctrl-C)."""
        self._reset()
