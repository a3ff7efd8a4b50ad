"""The kernel lab: matmul, convolution and attention variants, registered by
(op, device, name), validated against a reference and benchmarked by one harness.

Kernels take and return plain NumPy or CuPy arrays; they know nothing of Tensor.
"""

from . import (
    activations,  # noqa: F401 - registers the gelu / silu / bias + activation variants
    attention,  # noqa: F401 - registers the attention variants
    conv2d,  # noqa: F401 - registers the conv2d variants
    fused,  # noqa: F401 - registers the fused softmax / layer norm / cross-entropy variants
    matmul,  # noqa: F401 - registers the matmul variants
    optim,  # noqa: F401 - registers the optimizer update variants (sgd / adam / rmsprop / adagrad)
    pooling,  # noqa: F401 - registers the max-pooling variants
)
from .harness import benchmark
from .registry import (
    Case,
    OpSpec,
    Variant,
    default_name,
    define_op,
    get,
    list,
    ops,
    order,
    pick,
    reference,
    register,
    run,
    set_default,
    spec,
    use,
    variant,
)
from .validation import validate

__all__ = [
    "benchmark",
    "validate",
    "Case",
    "OpSpec",
    "Variant",
    "default_name",
    "define_op",
    "get",
    "list",
    "ops",
    "order",
    "pick",
    "reference",
    "register",
    "run",
    "set_default",
    "spec",
    "use",
    "variant",
]
