"""Linear (y = x Wᵀ + b) and Identity."""

from __future__ import annotations

from typing import Any

from ..amp.autocast_mode import autocast_state
from ..engine import creation
from ..engine.tensor import Tensor
from . import functional as F
from . import init
from .module import Module
from .parameter import Parameter


def check_positive_int(layer: str, **values: Any) -> None:
    """Raise naming ``layer`` unless every value is an int > 0: TypeError for a non-int and RuntimeError
    for a negative size (PyTorch's types: its empty() refuses them); ValueError for 0 and for groups <= 0
    (PyTorch builds an empty layer from a 0 size; we refuse it)."""
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{layer}: {name} must be a positive integer, got {type(value).__name__} {value!r}")
        if value < 0 and name != "groups":
            raise RuntimeError(f"{layer}: {name} must be a positive integer, got {value!r}")
        if value <= 0:
            raise ValueError(f"{layer}: {name} must be a positive integer, got {value!r}")


class Identity(Module):
    """Returns its input unchanged (a placeholder); accepts and ignores any arguments."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()

    def forward(self, input: Tensor) -> Tensor:
        return input


class Linear(Module):
    """y = x Wᵀ + b with W of shape (out_features, in_features), as PyTorch lays it out.

    Initialisation as PyTorch: W ~ kaiming_uniform_(a=√5) = U(±1/√in), b ~ U(±1/√in).
    """

    def __init__(
        self, in_features: int, out_features: int, bias: bool = True, device: Any = None, dtype: Any = None
    ) -> None:
        super().__init__()
        check_positive_int("Linear", in_features=in_features, out_features=out_features)
        self.in_features, self.out_features = in_features, out_features
        self.weight = Parameter(creation.empty(out_features, in_features, device=device, dtype=dtype))
        if bias:
            self.bias = Parameter(creation.empty(out_features, device=device, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init.kaiming_uniform_(self.weight, a=5**0.5)
        if self.bias is not None:
            init.fan_in_bias_(self.bias, self.weight)

    def forward(self, input: Tensor) -> Tensor:
        if not autocast_state.enabled:  # under autocast F.linear checks the operands it casts
            F.check_linear("Linear", input, self.weight, self.bias)
        return F.linear(input, self.weight, self.bias)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"
