"""Flatten and Unflatten: reshape modules (their backward is reshape's)."""

from __future__ import annotations

from collections.abc import Sequence

from ..engine.ops.shape import flatten, unflatten
from ..engine.tensor import Tensor
from .module import Module


class Flatten(Module):
    """Merge dims start_dim..end_dim into one: (N, C, H, W) → (N, C·H·W) by default."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1) -> None:
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, input: Tensor) -> Tensor:
        return flatten(input, self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Split dim ``dim`` into ``unflattened_size``: (N, 576) → (N, 64, 3, 3)."""

    def __init__(self, dim: int, unflattened_size: Sequence[int]) -> None:
        super().__init__()
        self.dim, self.unflattened_size = dim, tuple(unflattened_size)

    def forward(self, input: Tensor) -> Tensor:
        size = 1
        for s in self.unflattened_size:
            size *= s
        if input.shape[self.dim] != size:
            raise RuntimeError(  # PyTorch's type ("unflatten: Provided sizes [2, 2] don't multiply up to ...")
                f"Unflatten: dim {self.dim} of input shape {input.shape} has size {input.shape[self.dim]}, "
                f"which does not match unflattened_size {self.unflattened_size}"
            )
        return unflatten(input, self.dim, self.unflattened_size)

    def extra_repr(self) -> str:
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"
