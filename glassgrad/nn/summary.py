"""``glassgrad.nn.summary(model, input_size)``: a Keras-style table of layers.

It runs one forward pass on zeros under ``no_grad`` in eval mode (so batch-norm
statistics are untouched), with a forward hook on every leaf layer recording its
output shape, and counts each layer's own parameters.

With the default ``print_fn=print`` it prints the table and returns None, so the
table appears once both in a script and at the interactive prompt (a returned
string would be echoed a second time there). ``print_fn=None`` returns the table
as a string without printing; another callable receives it and it is returned.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import Any

from ..engine import creation
from ..engine.grad_mode import no_grad
from ..engine.tensor import Tensor
from .module import Module


def _shape_text(output: Any, batch_size: int) -> str:
    """ "[-1, 32, 26, 26]" (batch shown as -1, as Keras' None), lists for tuple outputs."""
    if isinstance(output, Tensor):
        dims = list(output.shape)
        if dims and batch_size == -1:
            dims[0] = -1
        return str(dims)
    if isinstance(output, tuple | list):
        return ", ".join(_shape_text(o, batch_size) for o in output)
    return type(output).__name__


def _is_sizes(value: Any) -> bool:
    return isinstance(value, Sequence) and all(isinstance(v, int) for v in value)


def summary(
    model: Module,
    input_size: Sequence[int] | Sequence[Sequence[int]],
    batch_size: int = -1,
    dtype: Any = None,
    device: Any = None,
    print_fn: Any = print,
) -> str | None:
    """Print a table of layers, output shapes and parameter counts (returns None), or
    return it: as a string with ``print_fn=None``, after passing it to any other ``print_fn``.

    ``input_size`` is one input's shape without the batch dim, e.g. (1, 28, 28),
    or a list of such shapes for a model with several inputs. ``batch_size=-1``
    runs a batch of 2 and shows the batch dim as -1.
    """
    if not isinstance(model, Module):
        raise TypeError(f"summary: model must be a Module, got {type(model).__name__}")
    sizes = [tuple(input_size)] if _is_sizes(input_size) else [tuple(s) for s in input_size]
    if not sizes or not all(_is_sizes(s) and all(v > 0 for v in s) for s in sizes):
        raise ValueError(
            f"summary: input_size must be a shape of positive ints (or a list of them), got {input_size!r}"
        )
    if batch_size != -1 and batch_size <= 0:
        raise ValueError(f"summary: batch_size must be positive or -1, got {batch_size}")
    params = list(model.parameters())
    dtype = dtype if dtype is not None else (params[0].dtype if params else None)
    device = device if device is not None else (params[0].device if params else None)
    inputs = [creation.zeros(batch_size if batch_size > 0 else 2, *s, dtype=dtype, device=device) for s in sizes]

    rows: list[tuple[str, str, int]] = []
    counters: dict[str, int] = {}

    def record(module: Module, _inputs: tuple[Any, ...], output: Any) -> None:
        kind = type(module).__name__
        counters[kind] = counters.get(kind, 0) + 1
        count = sum(p.numel() for p in module.parameters(recurse=False))
        rows.append((f"{kind}-{counters[kind]}", _shape_text(output, batch_size), count))

    layers = [m for m in model.modules() if m is not model and (not m._modules or m._parameters)] or [model]
    handles = [m.register_forward_hook(record) for m in layers]
    was_training = model.training
    try:
        model.eval()
        with no_grad():
            model(*inputs)
    finally:
        model.train(was_training)
        for handle in handles:
            handle.remove()

    total = sum(p.numel() for p in params)
    trainable = sum(p.numel() for p in params if p.requires_grad)
    width = max([len(r[0]) for r in rows] + [len(r[1]) for r in rows] + [20]) + 2
    rule = "=" * (2 * width + 15)
    lines = [
        "-" * len(rule),
        f"{'Layer (type)':>{width}}  {'Output Shape':>{width}}  {'Param #':>12}",
        rule,
        *(f"{name:>{width}}  {shape:>{width}}  {count:>12,}" for name, shape, count in rows),
        rule,
        f"Total params: {total:,}",
        f"Trainable params: {trainable:,}",
        f"Non-trainable params: {total - trainable:,}",
        "-" * len(rule),
    ]
    text = "\n".join(lines)
    if print_fn is builtins.print:
        print_fn(text)
        return None
    if print_fn is not None:
        print_fn(text)
    return text
