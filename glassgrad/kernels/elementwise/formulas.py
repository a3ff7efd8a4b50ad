"""The activations' formulas, each written once as a small expression tree: forward z = f(x) and f'.

From these trees codegen_numpy.py writes NumPy functions and codegen_cuda.py
writes CuPy ElementwiseKernel sources, so a formula and its derivative exist in
one place and both array worlds run the same arithmetic in the same order. The
backward of every activation is the one rule dL/dx = g · f'(x) given g = dL/dz
(``backward``), with f' written in terms of x or, for sigmoid and tanh, of the
saved output z (the engine saves z for those two).

An ``Expr`` is a variable, a constant or an operation on expressions; Python's
arithmetic operators build them (``0.5 * x * (1 + tanh(u))``). ``where(c, a, b)``
selects elementwise (both branches are computed in NumPy, one in CUDA); the
comparisons are ``le``/``lt``/``ge``/``gt``. A ``Formula`` is named bindings
computed in order (each may use the inputs and the bindings before it, as
common subexpressions) and a result:

    gelu       z = x·Φ(x), Φ(x) = ½(1 + erf(x/√2));    f' = Φ(x) + x·e^(−x²/2)/√(2π)
    gelu_tanh  z = ½x(1 + t), t = tanh(√(2/π)(x + κx³)), κ = 0.044715;
               f' = ½(1 + t) + ½x(1 − t²)·√(2/π)(1 + 3κx²)
    sigmoid    z = σ(x) = 1/(1 + e^(−|x|)) for x ≥ 0, e^(−|x|)/(1 + e^(−|x|)) below;   f' = (1 − z)·z
    silu       z = x·σ(x);                              f' = σ(x)(1 + x(1 − σ(x)))
    tanh       z = tanh x;                              f' = 1 − z²
    relu       z = 0 where x ≤ 0, else x (NaN stays);   f' = 0 where x ≤ 0, else 1
    identity   z = x;                                   f' = 1

``bias_act`` applies one of these after a broadcast bias add: h = x + b, z = f(h).
``DROPOUT`` draws its mask from ``uniform()``, a counter-based random number of the element's index
(philox.py): z = 0 where u < p, else x/(1 − p); its backward recomputes the same u.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Union

Operand = Union["Expr", float, int]

#: operation kinds and the infix symbol both code generators print for them
BINARY = {"add": "+", "sub": "-", "mul": "*", "div": "/"}
COMPARE = {"le": "<=", "lt": "<", "ge": ">=", "gt": ">"}
FUNCTIONS = ("exp", "tanh", "erf", "sqrt", "abs")


class Expr:
    """A node: ``kind`` "var" (``value`` the name), "const" (``value`` a float, ``name`` for the
    printed comment), an arithmetic/compare operation, "neg", "where", or a FUNCTIONS call."""

    __slots__ = ("args", "kind", "name", "value")

    def __init__(self, kind: str, args: tuple[Expr, ...] = (), value: object = None, name: str = "") -> None:
        self.kind, self.args, self.value, self.name = kind, args, value, name

    def __add__(self, other: Operand) -> Expr:
        return Expr("add", (self, lift(other)))

    def __radd__(self, other: Operand) -> Expr:
        return Expr("add", (lift(other), self))

    def __sub__(self, other: Operand) -> Expr:
        return Expr("sub", (self, lift(other)))

    def __rsub__(self, other: Operand) -> Expr:
        return Expr("sub", (lift(other), self))

    def __mul__(self, other: Operand) -> Expr:
        return Expr("mul", (self, lift(other)))

    def __rmul__(self, other: Operand) -> Expr:
        return Expr("mul", (lift(other), self))

    def __truediv__(self, other: Operand) -> Expr:
        return Expr("div", (self, lift(other)))

    def __rtruediv__(self, other: Operand) -> Expr:
        return Expr("div", (lift(other), self))

    def __neg__(self) -> Expr:
        return Expr("neg", (self,))

    def le(self, other: Operand) -> Expr:
        return Expr("le", (self, lift(other)))

    def lt(self, other: Operand) -> Expr:
        return Expr("lt", (self, lift(other)))

    def ge(self, other: Operand) -> Expr:
        return Expr("ge", (self, lift(other)))

    def gt(self, other: Operand) -> Expr:
        return Expr("gt", (self, lift(other)))

    def variables(self) -> set[str]:
        """The names of the variables this expression reads."""
        if self.kind == "var":
            return {str(self.value)}
        if self.kind == "uniform":
            return {"seed", "offset"}
        return set().union(*(a.variables() for a in self.args)) if self.args else set()

    def uses(self, kind: str) -> bool:
        """Whether a node of ``kind`` appears in this expression."""
        return self.kind == kind or any(a.uses(kind) for a in self.args)

    def __repr__(self) -> str:
        return f"Expr({self.kind}, {self.value if self.kind in ('var', 'const') else self.args})"


def lift(value: Operand) -> Expr:
    """An operand as an expression: numbers become constants."""
    if isinstance(value, Expr):
        return value
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"formulas: an operand must be an Expr or a number, got {type(value).__name__}")
    return Expr("const", value=float(value))


def var(name: str) -> Expr:
    return Expr("var", value=name)


def const(name: str, value: float) -> Expr:
    """A named constant (its name is printed beside the literal)."""
    return Expr("const", value=float(value), name=name)


def call(function: str, x: Operand) -> Expr:
    if function not in FUNCTIONS:
        raise ValueError(f"formulas: unknown function {function!r}; known: {FUNCTIONS}")
    return Expr(function, (lift(x),))


def exp(x: Operand) -> Expr:
    return call("exp", x)


def tanh(x: Operand) -> Expr:
    return call("tanh", x)


def erf(x: Operand) -> Expr:
    return call("erf", x)


def sqrt(x: Operand) -> Expr:
    return call("sqrt", x)


def absolute(x: Operand) -> Expr:
    return call("abs", x)


def uniform() -> Expr:
    """u ∈ [0, 1) for the element being computed: Philox4x32-10 of (seed, offset, element index)
    (philox.py, philox_uniform.cuh); reads the scalars ``seed`` and ``offset``."""
    return Expr("uniform")


def where(condition: Expr, a: Operand, b: Operand) -> Expr:
    """a where ``condition`` holds, else b (elementwise)."""
    if condition.kind not in COMPARE:
        raise ValueError(f"formulas.where: the condition must be a comparison, got {condition.kind}")
    return Expr("where", (condition, lift(a), lift(b)))


@dataclass(frozen=True)
class Formula:
    """``result`` over the arrays ``inputs`` and the scalars ``scalars`` ((name, type): "T", the arrays'
    type, or "uint64"), after ``bindings`` (name, expression) computed in order."""

    name: str
    inputs: tuple[str, ...]
    bindings: tuple[tuple[str, Expr], ...]
    result: Expr
    scalars: tuple[tuple[str, str], ...] = ()

    @property
    def uses_uniform(self) -> bool:
        return any(e.uses("uniform") for e in (*(e for _, e in self.bindings), self.result))

    def __post_init__(self) -> None:
        known = set(self.inputs) | {name for name, _ in self.scalars}
        for name, expr in (*self.bindings, ("result", self.result)):
            unknown = expr.variables() - known
            if unknown:
                raise ValueError(f"formulas.{self.name}: {name} reads {sorted(unknown)} before they are defined")
            known.add(name)


@dataclass(frozen=True)
class Activation:
    """z = f(x) and its slope f', given in terms of the input x, or (``slope_of_output``) of z."""

    name: str
    forward: Formula  # inputs ("x",)
    slope: Formula  # inputs ("x",) or ("z",)

    @property
    def slope_of_output(self) -> bool:
        return self.slope.inputs == ("z",)


X, Z, G = var("x"), var("z"), var("g")
SQRT1_2 = const("1/√2", 1 / math.sqrt(2))
INV_SQRT_2PI = const("1/√(2π)", 1 / math.sqrt(2 * math.pi))
SQRT_2_OVER_PI = const("√(2/π)", math.sqrt(2 / math.pi))
KAPPA = const("κ", 0.044715)


def _formula(name: str, inputs: tuple[str, ...], result: Expr, *bindings: tuple[str, Expr]) -> Formula:
    return Formula(name, inputs, tuple(bindings), result)


def _sigmoid_bindings(of: Expr) -> tuple[tuple[str, Expr], ...]:
    """s = σ(of) without overflow, from e = e^(−|of|)."""
    e = var("e")
    return (("e", exp(-absolute(of))), ("s", where(of.ge(0), 1 / (1 + e), e / (1 + e))))


_PHI = ("phi", 0.5 * (1 + erf(X * SQRT1_2)))  # Φ(x)
_T = ("t", tanh(SQRT_2_OVER_PI * (X + KAPPA * X * X * X)))
S, PHI, T = var("s"), var("phi"), var("t")

ACTIVATIONS: dict[str, Activation] = {
    a.name: a
    for a in (
        Activation(
            "gelu",
            _formula("gelu", ("x",), X * PHI, _PHI),
            _formula("gelu_slope", ("x",), PHI + X * (exp(-0.5 * X * X) * INV_SQRT_2PI), _PHI),
        ),
        Activation(
            "gelu_tanh",
            _formula("gelu_tanh", ("x",), 0.5 * X * (1 + T), _T),
            _formula(
                "gelu_tanh_slope",
                ("x",),
                0.5 * (1 + T) + 0.5 * X * (1 - T * T) * (SQRT_2_OVER_PI * (1 + 3 * KAPPA * X * X)),
                _T,
            ),
        ),
        Activation(
            "sigmoid",
            _formula("sigmoid", ("x",), S, *_sigmoid_bindings(X)),
            _formula("sigmoid_slope", ("z",), (1 - Z) * Z),
        ),
        Activation(
            "silu",
            _formula("silu", ("x",), X * S, *_sigmoid_bindings(X)),
            _formula("silu_slope", ("x",), S * (1 + X * (1 - S)), *_sigmoid_bindings(X)),
        ),
        Activation("tanh", _formula("tanh", ("x",), tanh(X)), _formula("tanh_slope", ("z",), 1 - Z * Z)),
        Activation(
            "relu", _formula("relu", ("x",), where(X.le(0), 0, X)), _formula("relu_slope", ("x",), where(X.le(0), 0, 1))
        ),
        Activation("identity", _formula("identity", ("x",), X), _formula("identity_slope", ("x",), lift(1))),
    )
}


P, U, SCALE = var("p"), var("u"), var("scale")
_DROPOUT_SCALARS = (("p", "T"), ("scale", "T"), ("seed", "uint64"), ("offset", "uint64"))
_DROPOUT_BINDINGS = (("u", uniform()),)
#: dropout: z = 0 where u < p, else x·scale;  dL/dx = g · (0 where u < p, else scale), with scale = 1/(1 − p)
#: (0 for p = 1, computed by the caller) and the same u recomputed from (seed, offset) instead of a stored mask
DROPOUT = Formula("dropout", ("x",), _DROPOUT_BINDINGS, where(U.lt(P), 0, X * SCALE), _DROPOUT_SCALARS)
DROPOUT_BACKWARD = Formula(
    "dropout_backward", ("g",), _DROPOUT_BINDINGS, G * where(U.lt(P), 0, SCALE), _DROPOUT_SCALARS
)


def backward(activation: Activation) -> Formula:
    """dL/dx = g · f'(·): the slope's bindings, then g times its result; inputs (x or z, g)."""
    slope = activation.slope
    return Formula(f"{activation.name}_backward", (*slope.inputs, "g"), slope.bindings, G * slope.result)


def with_bias(formula: Formula) -> Formula:
    """``formula`` of h = x + b: inputs (x, b, then the rest), h bound first, x renamed to h."""
    if formula.inputs[0] != "x":
        raise ValueError(f"formulas.with_bias: {formula.name} is not a function of x")
    h = var("h")

    def rename(e: Expr) -> Expr:
        if e.kind == "var" and e.value == "x":
            return h
        return e if not e.args else Expr(e.kind, tuple(rename(a) for a in e.args), e.value, e.name)

    bindings = (("h", X + var("b")), *((n, rename(e)) for n, e in formula.bindings))
    return Formula(f"bias_{formula.name}", ("x", "b", *formula.inputs[1:]), bindings, rename(formula.result))
