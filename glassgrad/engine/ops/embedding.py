"""Embedding: look up rows of a weight matrix by index.

    z[..., :] = W[i, :];   dL/dW[k, :] = Σ over positions where i = k of dL/dz[..., :]

Rows hit several times accumulate (a scatter-add); the ``padding_idx`` row gets
no gradient, so it stays as initialised (usually zeros).
"""

from __future__ import annotations

from typing import Any

from .. import dtypes
from ..backend import scatter_add
from ..function import Context, Function
from ..tensor import Tensor


class Embedding(Function):
    """z = W[indices];  dL/dW = scatter-add of g into the looked-up rows (none for padding_idx)"""

    @staticmethod
    def forward(ctx: Context, indices: Any, weight: Any, padding_idx: int | None) -> Any:
        ctx.save_for_backward(indices)
        ctx.weight_shape, ctx.padding_idx = weight.shape, padding_idx
        return weight[indices]

    @staticmethod
    def backward(ctx: Context, grad: Any) -> Any:
        (indices,) = ctx.saved_arrays
        grad_weight = ctx.xp.zeros(ctx.weight_shape, dtype=grad.dtype)
        scatter_add(grad_weight, indices.reshape(-1), grad.reshape(-1, ctx.weight_shape[1]))
        if ctx.padding_idx is not None:
            grad_weight[ctx.padding_idx] = 0
        return None, grad_weight


def embedding(input: Tensor, weight: Tensor, padding_idx: int | None = None, *, _op: str = "embedding") -> Tensor:
    """Rows of ``weight`` (num_embeddings, embedding_dim) at the integer ``input`` indices.
    (``_op``: the name errors give, "Embedding" when the module calls it.)"""
    if not isinstance(input, Tensor) or not isinstance(weight, Tensor):
        raise TypeError(f"{_op}: input and weight must be Tensors")
    if dtypes.category(input.dtype) != 1:
        raise RuntimeError(f"{_op}: input must hold integer indices (Long or Int), got {input.dtype}")
    if weight.ndim != 2:
        raise RuntimeError(f"{_op}: weight must be 2-d (num_embeddings, embedding_dim), got shape {weight.shape}")
    rows = weight.shape[0]
    if padding_idx is not None:
        if not -rows <= padding_idx < rows:
            raise AssertionError(f"{_op}: padding_idx {padding_idx} must be within num_embeddings {rows}")
        padding_idx %= rows
    if input.numel() and (int(input.array.min()) < 0 or int(input.array.max()) >= rows):
        bad = int(input.array.min()) if int(input.array.min()) < 0 else int(input.array.max())
        raise IndexError(f"{_op}: index {bad} is out of range for num_embeddings {rows}")
    return Embedding.apply(input, weight, padding_idx=padding_idx)
