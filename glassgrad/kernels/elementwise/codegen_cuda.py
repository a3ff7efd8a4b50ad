"""CUDA C written from formulas.py's trees: the pieces of a CuPy ``ElementwiseKernel``, and a nvcc unit.

``elementwise_parts(formula)`` gives what ``cupy.ElementwiseKernel(in_params,
out_params, operation, name)`` takes: every input and the output of one type
``T`` (CuPy instantiates T from the arguments' dtype), and an operation of one
statement per binding and one for the output, parenthesised exactly as the tree
(and as codegen_numpy.py's source) is::

    in_params  "T x, T g"
    out_params "T out"
    operation  "const T t = tanh((T(0.7978845608028654) * (x + ...)));
                out = (g * ((T(0.5) * (T(1.0) + t)) + ...));"

Constants are written ``T(value)`` so a float32 kernel computes in float32, as
NumPy does with float32 arrays; a comparison's ``where`` is C's ``?:``, which
(unlike NumPy's where) computes one branch. Scalars follow the arrays in
in_params (``T p, uint64 seed``); ``uniform()`` is philox_uniform.cuh's
``philox_uniform(seed, offset, i)``, with CuPy's element index ``i``, and that
file is the kernel's preamble.

CuPy wraps the operation in a __global__ loop over the broadcast elements. CI
has no CuPy, so ``nvcc_unit`` wraps the same operation text into a template
__global__ grid-stride loop (inputs indexed by the element, a bias ``b`` by the
element's column), instantiated for float and double, so the tests compile every
generated operation with nvcc for sm_80 and sm_90.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from . import philox
from .formulas import BINARY, COMPARE, Expr, Formula

OUTPUT = "out"  # the output's name in every generated kernel
_C_TYPES = {"T": "T", "uint64": "unsigned long long"}  # a scalar's CuPy type name -> its C type
_CALLS = {"exp": "exp", "tanh": "tanh", "erf": "erf", "sqrt": "sqrt", "abs": "fabs"}


def expression(e: Expr) -> str:
    """``e`` as a C++ expression of type T."""
    if e.kind == "var":
        return str(e.value)
    if e.kind == "const":
        return f"T({float(e.value)!r})"
    if e.kind in BINARY or e.kind in COMPARE:
        symbol = BINARY.get(e.kind) or COMPARE[e.kind]
        return f"({expression(e.args[0])} {symbol} {expression(e.args[1])})"
    if e.kind == "neg":
        return f"(-{expression(e.args[0])})"
    if e.kind == "where":
        condition, a, b = (expression(x) for x in e.args)
        return f"({condition} ? {a} : {b})"
    if e.kind == "uniform":
        return "philox_uniform(seed, offset, (unsigned long long)i)"  # i: the element's index in CuPy's loop
    return f"{_CALLS[e.kind]}({expression(e.args[0])})"


@dataclass(frozen=True)
class ElementwiseParts:
    """The arguments of ``cupy.ElementwiseKernel`` for one formula."""

    name: str
    inputs: tuple[str, ...]
    in_params: str
    out_params: str
    operation: str
    scalars: tuple[tuple[str, str], ...] = ()
    preamble: str = ""  # philox_uniform.cuh (inlined) for a formula that draws uniform()


def elementwise_parts(formula: Formula) -> ElementwiseParts:
    """``formula`` as an ElementwiseKernel's in_params, out_params and operation (all of type T)."""
    if OUTPUT in formula.inputs or any(name == OUTPUT for name, _ in formula.bindings):
        raise ValueError(f"codegen_cuda: {formula.name} uses the output's name {OUTPUT!r}")
    statements = [f"const T {name} = {expression(e)};" for name, e in formula.bindings]
    statements.append(f"{OUTPUT} = {expression(formula.result)};")
    return ElementwiseParts(
        name=f"gg_{formula.name}",
        inputs=formula.inputs,
        in_params=", ".join([*(f"T {name}" for name in formula.inputs), *(f"{t} {n}" for n, t in formula.scalars)]),
        out_params=f"T {OUTPUT}",
        operation="\n".join(statements),
        scalars=formula.scalars,
        preamble=philox.preamble() if formula.uses_uniform else "",
    )


def _global(parts: ElementwiseParts) -> str:
    """A template __global__ that runs ``parts.operation`` per element, as CuPy's loop does."""
    pointers = ", ".join(
        [
            *(f"const T* __restrict__ {name}_" for name in parts.inputs),
            *(f"{_C_TYPES[t]} {n}" for n, t in parts.scalars),
        ]
    )
    loads = "\n".join(
        f"        const T {name} = {name}_[{'i % cols' if name == 'b' else 'i'}];" for name in parts.inputs
    )
    body = "\n".join(f"        {line}" for line in parts.operation.splitlines())
    return (
        f"template <typename T>\n"
        f"__global__ void {parts.name}({pointers}, T* __restrict__ {OUTPUT}_, long long n, long long cols) {{\n"
        f"    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n;\n"
        f"         i += (long long)gridDim.x * blockDim.x) {{\n"
        f"{loads}\n"
        f"        T {OUTPUT};\n"
        f"{body}\n"
        f"        {OUTPUT}_[i] = {OUTPUT};\n"
        f"    }}\n"
        f"}}\n"
    )


def nvcc_unit(formulas: Iterable[tuple[Formula, tuple[str, ...]]]) -> tuple[str, list[str]]:
    """(a .cu translation unit holding the kernel of each (formula, C types), the instance names it builds)."""
    chosen = [(elementwise_parts(f), types) for f, types in formulas]
    instances = [f"{p.name}<{t}>" for p, types in chosen for t in types]
    addresses = ", ".join(f"(const void *)&{name}" for name in instances)
    text = "// Generated by glassgrad/kernels/elementwise/codegen_cuda.py from formulas.py.\n"
    if any(p.preamble for p, _ in chosen):
        text += f'#include "{philox.SOURCE}"\n'
    text += "\n".join(_global(p) for p, _ in chosen)
    text += f"\n[[maybe_unused]] static const void *const instances[] = {{{addresses}}};\n"
    return text, instances
