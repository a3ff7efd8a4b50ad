"""Embedding: a lookup table of num_embeddings vectors (``F.embedding``)."""

from __future__ import annotations

from typing import Any

from ..engine import creation
from ..engine.grad_mode import no_grad
from ..engine.ops.embedding import embedding as embedding_op
from ..engine.tensor import Tensor
from . import init
from .linear import check_positive_int
from .module import Module
from .parameter import Parameter


class Embedding(Module):
    """``weight[input]`` with weight (num_embeddings, embedding_dim) ~ N(0, 1), as PyTorch.

    The ``padding_idx`` row starts at zero and receives no gradient.
    """

    def __init__(
        self,
        num_embeddings: int,
        embedding_dim: int,
        padding_idx: int | None = None,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        check_positive_int("Embedding", num_embeddings=num_embeddings, embedding_dim=embedding_dim)
        if padding_idx is not None:
            if not -num_embeddings <= padding_idx < num_embeddings:
                # AssertionError is PyTorch's type here
                raise AssertionError(
                    f"Embedding: padding_idx {padding_idx} must be within num_embeddings {num_embeddings}"
                )
            padding_idx %= num_embeddings
        self.num_embeddings, self.embedding_dim, self.padding_idx = num_embeddings, embedding_dim, padding_idx
        self.weight = Parameter(creation.empty(num_embeddings, embedding_dim, device=device, dtype=dtype))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init.normal_(self.weight)
        if self.padding_idx is not None:
            with no_grad():
                self.weight[self.padding_idx] = 0

    def forward(self, input: Tensor) -> Tensor:
        return embedding_op(input, self.weight, self.padding_idx, _op="Embedding")

    def extra_repr(self) -> str:
        text = f"{self.num_embeddings}, {self.embedding_dim}"
        return text if self.padding_idx is None else text + f", padding_idx={self.padding_idx}"
