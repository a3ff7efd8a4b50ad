"""The generated kernels as "generated" variants of the activation ops, on cuda and cpu (neither default).

Each op maps to one formula of formulas.py (``formula_for``): gelu to gelu or
gelu_tanh, silu_backward to g·f'(x) of silu, bias_act to f(x + b), ... On cuda
the formula runs as a CuPy ``ElementwiseKernel`` built from codegen_cuda.py's
parts (one kernel per formula, built on first call, any strides and the bias's
broadcast handled by CuPy); on cpu as the NumPy function codegen_numpy.py
writes, so ``kernels.validate(op, "generated", "cpu")`` checks the very
formulas the CUDA kernels are printed from against the hand-written references.

bias_act_backward's dL/db = Σ_rows dL/dh is the array module's sum over all but
the last dim (the identity's dL/dh is g itself, as in the reference).

Not yet run on a GPU: the CUDA variants are checked by nvcc compiling their
operations (tests/kernels/test_elementwise_codegen.py) and by the NumPy twins.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from ..activations.reference import ACTIVATIONS as BIAS_ACTIVATIONS
from ..activations.reference import gelu_activation
from ..registry import register
from .codegen_cuda import elementwise_parts
from .codegen_numpy import numpy_function
from .formulas import ACTIVATIONS, Formula, backward, with_bias

DTYPES = ("float32", "float64")


@functools.cache
def formula(key: str) -> Formula:
    """The formula called ``key``: an activation's name (forward), ``<name>_backward``, ``bias_<name>``
    or ``bias_<name>_backward``."""
    bias = key.startswith("bias_")
    name = key.removeprefix("bias_")
    is_backward = name.endswith("_backward")
    activation = ACTIVATIONS[name.removesuffix("_backward")]
    f = backward(activation) if is_backward else activation.forward
    return with_bias(f) if bias else f


@functools.cache
def numpy_formula(f: Formula) -> Callable[..., Any]:
    """``f`` as a NumPy/CuPy function (codegen_numpy), made once per formula."""
    return numpy_function(f)


@functools.cache
def cupy_formula_kernel(f: Formula) -> Callable[..., Any]:
    """``f`` as a CuPy ElementwiseKernel (codegen_cuda's parts), built once per formula."""
    import cupy

    parts = elementwise_parts(f)
    return cupy.ElementwiseKernel(
        parts.in_params, parts.out_params, parts.operation, parts.name, preamble=parts.preamble
    )


def numpy_kernel(key: str) -> Callable[..., Any]:
    return numpy_formula(formula(key))


def cupy_kernel(key: str) -> Callable[..., Any]:
    return cupy_formula_kernel(formula(key))


def same_dtype(*args: Any, **kwargs: Any) -> bool:
    """Every array argument has the first one's dtype (the kernels have one type T)."""
    arrays = [a for a in args if hasattr(a, "dtype")]
    return all(a.dtype == arrays[0].dtype for a in arrays)


def _variants(kernel: Callable[[str], Callable[..., Any]]) -> dict[str, Callable[..., Any]]:
    """The ops' variants, each a call of ``kernel(key)`` on its arrays."""

    def gelu(x: Any, approximate: str = "none") -> Any:
        return kernel(gelu_activation(approximate))(x)

    def gelu_backward(x: Any, grad: Any, approximate: str = "none") -> Any:
        return kernel(f"{gelu_activation(approximate)}_backward")(x, grad)

    def silu(x: Any) -> Any:
        return kernel("silu")(x)

    def silu_backward(x: Any, grad: Any) -> Any:
        return kernel("silu_backward")(x, grad)

    def sigmoid(x: Any) -> Any:
        return kernel("sigmoid")(x)

    def sigmoid_backward(z: Any, grad: Any) -> Any:
        return kernel("sigmoid_backward")(z, grad)

    def tanh_backward(z: Any, grad: Any) -> Any:
        return kernel("tanh_backward")(z, grad)

    def bias_act(x: Any, bias: Any, activation: str = "identity") -> Any:
        _check(activation, "bias_act")
        return kernel(f"bias_{activation}")(x, bias)

    def bias_act_backward(x: Any, bias: Any, grad: Any, activation: str = "identity") -> tuple[Any, Any]:
        _check(activation, "bias_act_backward")
        dx = grad if activation == "identity" else kernel(f"bias_{activation}_backward")(x, bias, grad)
        return dx, dx.sum(axis=tuple(range(dx.ndim - 1)))

    return {f.__name__: f for f in (gelu, gelu_backward, silu, silu_backward, sigmoid, sigmoid_backward,
                                     tanh_backward, bias_act, bias_act_backward)}  # fmt: skip


def _check(activation: str, op: str) -> None:
    if activation not in BIAS_ACTIVATIONS:
        raise ValueError(f"{op}: activation must be one of {BIAS_ACTIVATIONS}, got {activation!r}")


def register_generated(device: str) -> None:
    """Register the generated kernels of every activation op as variant "generated" on ``device``. On
    import: cuda only (CuPy ElementwiseKernels). The NumPy twins are registered on cpu only by the tests
    (tests/kernels/test_elementwise_codegen.py), which validate them: registered for good, they would come
    before the NumPy reference for every call the numba default does not take (the registry's order)."""
    kernel, how = {
        "cuda": (cupy_kernel, "a CuPy ElementwiseKernel generated from formulas.py (not yet run on a GPU)"),
        "cpu": (numpy_kernel, "the NumPy function generated from formulas.py (the CUDA kernels' twin)"),
    }[device]
    for op, fn in _variants(kernel).items():
        register(op, device, "generated", how, dtypes=DTYPES, when=same_dtype, condition="arrays of one dtype")(fn)


def unregister_generated(device: str) -> None:
    """Undo ``register_generated(device)``."""
    from .. import registry

    for op in _variants(numpy_kernel):
        registry._variants[(op, device)].pop("generated", None)
    registry._forget_order()


register_generated("cuda")
