"""Observers: code that watches the forward and backward passes (trace, anomaly mode) without changing them.

An observer is an object with any of three methods, called while it is active (``observing``):

* ``on_forward(function, args, kwargs, result)`` after each op's forward (``result.grad_fn`` is its
  Node when the op was recorded);
* ``on_backward(node, grad_output, grad_inputs)`` after each node's backward: g = dL/d(output) and the
  gradient sent to each input, already summed back to the input's shape and cast (None where none);
* ``on_accumulate(leaf, grad)`` when a leaf's gradient is added into ``.grad``.

Gradients are NumPy/CuPy arrays, or Recorded values in a recorded backward (``create_graph``). With no
observer active the engine pays one truth test of ``ACTIVE`` per op.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

ACTIVE: list[Any] = []


@contextlib.contextmanager
def observing(observer: Any) -> Iterator[Any]:
    """Call ``observer``'s methods for every op inside the block."""
    ACTIVE.append(observer)
    try:
        yield observer
    finally:
        ACTIVE.remove(observer)


def forward(function: Any, args: tuple[Any, ...], kwargs: dict[str, Any], result: Any) -> None:
    for o in list(ACTIVE):
        if hasattr(o, "on_forward"):
            o.on_forward(function, args, kwargs, result)


def backward(node: Any, grad_output: Any, grad_inputs: tuple[Any, ...]) -> None:
    for o in list(ACTIVE):
        if hasattr(o, "on_backward"):
            o.on_backward(node, grad_output, grad_inputs)


def accumulate(leaf: Any, grad: Any) -> None:
    for o in list(ACTIVE):
        if hasattr(o, "on_accumulate"):
            o.on_accumulate(leaf, grad)
