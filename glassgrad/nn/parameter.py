"""Parameter: a Tensor that a Module registers as learnable (``requires_grad=True``)."""

from __future__ import annotations

from typing import Any

from ..engine import dtypes
from ..engine.tensor import Tensor


class Parameter(Tensor):
    """A leaf Tensor that, assigned as a Module attribute, joins ``module.parameters()``.

    ``Parameter(data)`` shares ``data``'s array (no copy), as in PyTorch.
    """

    def __init__(self, data: Tensor | Any = None, requires_grad: bool = True) -> None:
        if data is None:
            from ..engine.creation import empty

            data = empty(0)
        array = data.array if isinstance(data, Tensor) else Tensor(data).array
        if requires_grad and not dtypes.is_floating(array.dtype):
            raise RuntimeError(f"Parameter: only floating point tensors can require gradients, got {array.dtype}")
        super().__init__(array, requires_grad=requires_grad)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()
