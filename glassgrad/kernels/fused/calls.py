"""The calls the row variants take beyond their dtypes (their ``when=``), shared by cpu and cuda.

softmax and log_softmax variants other than the reference reduce over the last dim only; their
backward also wants ``grad`` of y's shape and dtype. The registry gives every other call to the
reference, which takes any dim.
"""

from __future__ import annotations

from typing import Any

LAST_DIM = "dim is the last dim"
LAST_DIM_SAME_GRAD = LAST_DIM + ", grad of y's shape and dtype"


def last_dim(x: Any, dim: int = -1) -> bool:
    """The call reduces over the last dim, which holds at least one value."""
    return x.ndim > 0 and dim in (-1, x.ndim - 1) and x.shape[-1] > 0


def last_dim_same_grad(y: Any, grad: Any, dim: int = -1) -> bool:
    """A backward call over the last dim with ``grad`` of y's shape and dtype."""
    return last_dim(y, dim) and grad.dtype == y.dtype and grad.shape == y.shape
