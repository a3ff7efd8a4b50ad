"""The kernel lab: matmul, convolution and attention variants, registered by
(op, device, name), validated against a reference and benchmarked by one harness.

Kernels take and return plain NumPy or CuPy arrays; they know nothing of Tensor.
"""

from . import (
    activations,  # registers the gelu / silu / bias + activation variants
    attention,  # registers the attention variants
    conv2d,  # registers the conv2d variants
    fused,  # registers the fused softmax / layer norm / cross-entropy variants
    matmul,  # registers the matmul variants
    optim,  # registers the optimizer update variants (sgd / adam / rmsprop / adagrad)
    pooling,  # registers the max-pooling variants
    recurrent,  # registers the rnn / gru / lstm layer variants (forward and backward through time)
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
