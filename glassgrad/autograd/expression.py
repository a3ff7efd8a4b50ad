"""A small expression over named tensors, read with ``ast`` and evaluated by walking the tree: never ``eval``.

Allowed: the given variable names, numbers, ``+ - * / ** @``, unary ``-`` and ``+``, and calls from an
allowlist of Tensor methods, written either way (``(x*w + b).tanh()`` or ``tanh(x*w + b)``), with number
arguments (``x.sum(0)``, ``x.clamp(min=0)``). Anything else — another name, an attribute, a subscript,
a lambda — raises ``ExpressionError`` naming it and what is allowed.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable
from typing import Any

from ..engine.tensor import Tensor

METHODS = (
    "abs",
    "cos",
    "exp",
    "log",
    "log_softmax",
    "logsumexp",
    "max",
    "mean",
    "min",
    "neg",
    "pow",
    "prod",
    "reciprocal",
    "relu",
    "rsqrt",
    "sigmoid",
    "sin",
    "softmax",
    "sqrt",
    "square",
    "sum",
    "tanh",
    "clamp",
)
_BINARY: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Pow: operator.pow,
    ast.MatMult: operator.matmul,
}
_UNARY: dict[type, Callable[[Any], Any]] = {ast.USub: operator.neg, ast.UAdd: operator.pos}
_SYMBOLS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/", ast.Pow: "**", ast.MatMult: "@"}


class ExpressionError(ValueError):
    """An expression with something that is not allowed in it."""


def evaluate(source: str, variables: dict[str, Tensor]) -> Tensor:
    """The value of ``source`` with ``variables`` bound to their tensors; see the module docstring."""
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except SyntaxError as err:
        raise ExpressionError(f"cannot read the expression {source!r}: {err.msg}") from None
    result = _Evaluator(source, variables).visit(tree.body)
    if not isinstance(result, Tensor):
        raise ExpressionError(f"the expression {source!r} uses none of the variables {', '.join(variables)}")
    return result


def names_in(source: str) -> list[str]:
    """The variable names ``source`` uses, in order of first use (calls' names excluded)."""
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except SyntaxError as err:
        raise ExpressionError(f"cannot read the expression {source!r}: {err.msg}") from None
    called = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    found = [n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and id(n) not in called]
    return list(dict.fromkeys(found))


class _Evaluator:
    def __init__(self, source: str, variables: dict[str, Tensor]) -> None:
        self.source = source
        self.variables = variables

    def allowed(self) -> str:
        names = ", ".join(self.variables) or "(none)"
        return (
            f"allowed: the variables {names}, numbers, + - * / ** @, unary -, and the functions/methods "
            f"{', '.join(sorted(METHODS))}"
        )

    def refuse(self, what: str) -> ExpressionError:
        return ExpressionError(f"{what} is not allowed in the expression {self.source!r}; {self.allowed()}")

    def visit(self, node: ast.AST) -> Any:
        if isinstance(node, ast.Constant) and type(node.value) in (int, float):
            return node.value
        if isinstance(node, ast.Name):
            if node.id not in self.variables:
                raise ExpressionError(f"unknown name {node.id!r} in the expression {self.source!r}; {self.allowed()}")
            return self.variables[node.id]
        if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
            return _BINARY[type(node.op)](self.visit(node.left), self.visit(node.right))
        if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
            return _UNARY[type(node.op)](self.visit(node.operand))
        if isinstance(node, ast.Call):
            return self.call(node)
        if isinstance(node, ast.BinOp | ast.UnaryOp):
            raise self.refuse(f"the operator {type(node.op).__name__}")
        raise self.refuse(f"{ast.unparse(node)!r} ({type(node).__name__})")

    def call(self, node: ast.Call) -> Any:
        if isinstance(node.func, ast.Attribute):
            name, receiver = node.func.attr, node.func.value
            args = [receiver, *node.args]
        elif isinstance(node.func, ast.Name):
            name, args = node.func.id, list(node.args)
            if not args:
                raise self.refuse(f"the call {name}() without an argument")
        else:
            raise self.refuse(f"the call {ast.unparse(node.func)!r}")
        if name not in METHODS:
            raise ExpressionError(f"unknown function {name!r} in the expression {self.source!r}; {self.allowed()}")
        target = self.visit(args[0])
        rest = [self.number(a) for a in args[1:]]
        options = {}
        for k in node.keywords:
            if k.arg is None:
                raise self.refuse("**keywords")
            options[k.arg] = self.number(k.value)
        if not isinstance(target, Tensor):
            raise self.refuse(f"{name}() of a number")
        return getattr(target, name)(*rest, **options)

    def number(self, node: ast.AST) -> Any:
        """A call's extra argument: a number (``x.sum(0)``, ``x.pow(-2)``), not a tensor."""
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return -self.number(node.operand)
        if isinstance(node, ast.Constant) and type(node.value) in (int, float, bool):
            return node.value
        raise self.refuse(f"the argument {ast.unparse(node)!r} (only numbers are allowed there)")


def parse_values(text: str) -> dict[str, Any]:
    """``"x=0.5,w=-1.2,v=[1,2]"`` → ``{"x": 0.5, "w": -1.2, "v": [1, 2]}`` (numbers or lists of numbers,
    read with ``ast.literal_eval``)."""
    out: dict[str, Any] = {}
    depth, start, parts = 0, 0, []
    for i, c in enumerate(text):
        depth += c == "["
        depth -= c == "]"
        if c == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    for part in (p.strip() for p in parts):
        if not part:
            continue
        name, sep, value = part.partition("=")
        name = name.strip()
        if not sep or not name.isidentifier():
            raise ExpressionError(f"--values: expected NAME=NUMBER pairs separated by commas, got {part!r}")
        try:
            parsed = ast.literal_eval(value.strip())
        except (ValueError, SyntaxError):
            raise ExpressionError(f"--values: {name}={value.strip()!r} is not a number or a list of numbers") from None
        if not _numeric(parsed):
            raise ExpressionError(f"--values: {name}={value.strip()!r} is not a number or a list of numbers")
        out[name] = parsed
    return out


def _numeric(value: Any) -> bool:
    if type(value) in (int, float):
        return True
    return isinstance(value, list) and len(value) > 0 and all(_numeric(v) for v in value)
