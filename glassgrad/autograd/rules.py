"""The local derivative rule of an op, read from its Function's docstring.

Every Function's docstring states its math in one form, ``z = <forward>;  dL/dx = <rule>,  dL/dy = <rule>``
(g = dL/dz). ``rule_of(function)`` splits that text into the forward formula and one rule per positional
input, each cut into its algebra (``g · y``) and any remark in words (``summed over broadcast batch dims``),
so a worked example can put the program's names and numbers into the algebra.
"""

from __future__ import annotations

import functools
import inspect
import re
from dataclasses import dataclass, field

_RULE = re.compile(r"dL/d([^\s=,;\[]+)(?:\[[^\]]*\])?\s*=\s*")
_MATH_WORDS = "where|else|not|and|tanh|exp|log|sin|cos|max|min|sum|sqrt|mean|softmax|erf|abs|sign"
_WORD = rf"\b(?!(?:{_MATH_WORDS})\b)[a-z]{{3,}}\b"  # a word of prose, not of math
#: a remark in words starts at ", " or " " followed by a word of prose (``g @ yᵀ, summed over ...``)
_REMARK = re.compile(rf"(?:,\s+|\s+)(?={_WORD})")
#: " (0 where y = 0)", " (and where x is NaN)": a parenthesis with prose in it; not "(1 - z²)"
_PARENTHESISED_REMARK = re.compile(rf"\s+\((?=[^()]*(?:where|{_WORD}))[^()]*\)")


@dataclass(frozen=True)
class Formula:
    """One side of a rule: the algebra, in the docstring's symbols, and what the docstring says in words."""

    algebra: str
    remark: str = ""


@dataclass(frozen=True)
class Rule:
    """An op's math: ``z = forward`` and, per positional input (by index), ``dL/d<symbol> = formula``."""

    op: str
    forward: Formula | None
    symbols: tuple[str, ...]  # the docstring's name for each positional input
    gradients: dict[int, Formula] = field(default_factory=dict)
    every: Formula | None = None  # the one rule of every input, for a forward that takes ``*xs``
    every_symbol: str | None = None

    def gradient(self, index: int) -> Formula | None:
        return self.gradients.get(index, self.every)


def split_remark(text: str) -> Formula:
    """``"g @ yᵀ, summed over broadcast batch dims"`` → algebra ``g @ yᵀ``, remark ``summed over ...``."""
    text = " ".join(text.split()).rstrip(" ,;.:")
    remarks = [m.group(0).strip(" ()") for m in _PARENTHESISED_REMARK.finditer(text)]
    text = _PARENTHESISED_REMARK.sub("", text)
    cut = _REMARK.search(text)
    if cut is not None:
        remarks.insert(0, text[cut.end() :])
        text = text[: cut.start()]
    return Formula(text.strip(" ,"), "; ".join(r for r in remarks if r))


@functools.cache
def rule_of(function: type) -> Rule:
    """The Rule in ``function``'s docstring (the paragraph that states the derivatives); inputs it names
    no rule for get none. A rule's symbol may carry an index (``dL/dxᵢ``, ``dL/dx_j``, ``dL/dx[i]``): it
    is the rule of input ``x``, or of every input of a Function whose forward takes ``*xs``."""
    doc = inspect.getdoc(function) or ""
    paragraphs = [" ".join(p.split()) for p in doc.split("\n\n")]
    head = next((p for p in paragraphs if "dL/d" in p), paragraphs[0])
    params, variadic = _positional_names(function)
    forward = None
    match = re.search(r"(?:^|:\s+)z\s*=\s*(.*?)(?:;|$)", head)
    if match:
        forward = split_remark(match.group(1))
    found = list(_RULE.finditer(head))
    texts: dict[str, str] = {}
    for i, m in enumerate(found):
        end = found[i + 1].start() if i + 1 < len(found) else len(head)
        texts.setdefault(m.group(1), head[m.end() : end])
    symbols = list(params)
    gradients: dict[int, Formula] = {}
    bases = {_base(symbol): symbol for symbol in reversed(list(texts))}  # the first rule per base
    for index, name in enumerate(params):
        symbol = _matching_symbol(name, bases)
        if symbol is not None:
            symbols[index] = symbol
            gradients[index] = split_remark(texts[symbol])
    every = None
    if variadic and not params and len(bases) == 1:
        every = split_remark(texts[next(iter(bases.values()))])
    return Rule(function.__name__, forward, tuple(symbols), gradients, every, next(iter(bases.values()), None))


def _base(symbol: str) -> str:
    """``xᵢ``, ``x_j``, ``x_nc`` → ``x``."""
    return re.sub(r"(?:_\w+|[ᵢⱼₖₙ₀-₉]+)$", "", symbol) or symbol


def _positional_names(function: type) -> tuple[list[str], bool]:
    """The forward's positional parameters after ctx, and whether it takes ``*xs`` (any number of inputs)."""
    try:
        parameters = list(inspect.signature(function.forward).parameters.values())[1:]  # after ctx
    except (TypeError, ValueError):
        return [], False
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    variadic = any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in parameters)
    return [p.name for p in parameters if p.kind in kinds], variadic


#: the math names of parameters, beyond their initials
_SYNONYMS = {"weight": ("γ",), "bias": ("β",)}


def _matching_symbol(name: str, bases: dict[str, str]) -> str | None:
    """The docstring's symbol for the forward's parameter ``name``, indices ignored: the same name, its
    initial (``W`` for ``weight``, ``b`` for ``bias``), a prefix of it (``lo`` for ``low``) or its math
    name (``γ`` for ``weight``)."""
    for candidate in (name, name[:1], name[:1].upper(), *_SYNONYMS.get(name, ())):
        if candidate in bases:
            return bases[candidate]
    prefixes = [b for b in bases if len(b) > 1 and name.startswith(b)]
    return bases[max(prefixes, key=len)] if prefixes else None
