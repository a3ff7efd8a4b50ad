"""The autograd core: Tensor, Function, backward, ops, gradcheck."""

from .function import Context, Function
from .grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .tensor import Tensor

__all__ = ["Context", "Function", "Tensor", "enable_grad", "is_grad_enabled", "no_grad", "set_grad_enabled"]
