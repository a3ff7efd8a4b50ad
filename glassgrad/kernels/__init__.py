"""The kernel lab: matmul, convolution and attention variants, registered by
(op, device, name), validated against a reference and benchmarked by one harness.

Kernels take and return plain NumPy or CuPy arrays; they know nothing of Tensor.
"""

from . import matmul  # noqa: F401 - registers the matmul variants
from .registry import Variant, default_name, get, list, reference, register, set_default, use, variant

__all__ = ["Variant", "default_name", "get", "list", "reference", "register", "set_default", "use", "variant"]
