"""A worked example, as a textbook prints one: sections of lines ``lhs = formula = numbers = result``.

``WorkedExample`` is what ``trace`` and ``explain`` build; ``text()``, ``markdown()`` and ``latex()`` print
it. Each ``Line`` keeps the formula in symbols, the same formula with the numbers put in, the result the
engine computed, and a note (``checked``, ``summed``). Numbers are written by ``number``/``values``: at most
6 significant digits, a whole array when it is small, its shape and first values when it is not.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: arrays with at most this many elements are written out whole
SMALL = 8
#: how many values of a larger array are shown after its shape
SAMPLE = 3


def number(value: Any) -> str:
    """A float with at most 6 significant digits (``-0`` as ``0``), an int or bool as itself."""
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    if isinstance(value, int | np.integer):
        return str(int(value))
    text = f"{float(value):.6g}"
    return "0" if text == "-0" else text


def values(array: Any, small: int = SMALL) -> str:
    """An array's values: ``0.5``, ``[1, 2]``, ``[[1, 2], [3, 4]]``, or ``(3, 4) [0.1, 0.2, 0.3, …]``."""
    a = np.asarray(array)
    if a.ndim == 0:
        return number(a.item())
    if a.size <= small:
        return _nested(a)
    first = ", ".join(number(v) for v in a.reshape(-1)[:SAMPLE])
    return f"{tuple(a.shape)} [{first}, …]"


def _nested(a: np.ndarray) -> str:
    if a.ndim == 0:
        return number(a.item())
    return "[" + ", ".join(_nested(row) for row in a) + "]"


def _bare(text: str) -> str:
    return text[1:-1] if text.startswith("(") and text.endswith(")") else text


@dataclass
class Line:
    """``lhs = formula = numbers = result   note``; empty parts are left out."""

    lhs: str
    formula: str = ""
    numbers: str = ""
    result: str = ""
    note: str = ""

    def parts(self) -> list[str]:
        """The chain of equal expressions, without repeats (``numbers`` equal to ``result`` is dropped)."""
        chain = [self.lhs]
        for part in (self.formula, self.numbers, self.result):
            if part and _bare(part) != _bare(chain[-1]):
                chain.append(part)
        if self.numbers and self.result and _bare(self.numbers) == _bare(self.result) and chain[-1] == self.numbers:
            chain[-1] = self.result  # "(-0.5)" then "-0.5": the result only
        return chain


@dataclass
class Section:
    title: str
    lines: list[Line] = field(default_factory=list)
    intro: str = ""


@dataclass
class WorkedExample:
    """A title, optional introduction, and sections of derived lines."""

    title: str
    sections: list[Section] = field(default_factory=list)
    intro: str = ""

    def section(self, title: str, intro: str = "") -> Section:
        s = Section(title, intro=intro)
        self.sections.append(s)
        return s

    def text(self) -> str:
        out = [self.title, "=" * len(self.title)]
        if self.intro:
            out += [self.intro]
        for s in self.sections:
            out += ["", s.title, "-" * len(s.title)]
            if s.intro:
                out.append(s.intro)
            width = max((len(line.lhs) for line in s.lines), default=0)
            for line in s.lines:
                chain = line.parts()
                text = " = ".join([chain[0].ljust(width), *chain[1:]])
                out.append(f"  {text}{'   ' + line.note if line.note else ''}".rstrip())
        return "\n".join(out) + "\n"

    def markdown(self) -> str:
        out = [f"## {_md_text(self.title)}"]
        if self.intro:
            out += ["", _md_text(self.intro)]
        for s in self.sections:
            out += ["", f"### {_md_text(s.title)}", ""]
            if s.intro:
                out += [_md_text(s.intro), ""]
            out += ["| step | formula | with the numbers | result | note |", "|---|---|---|---|---|"]
            for line in s.lines:
                cells = [line.lhs, line.formula, line.numbers, line.result]
                row = [_md_code(c) for c in cells] + [_md_text(line.note)]
                out.append("| " + " | ".join(row) + " |")
        return "\n".join(out) + "\n"

    def latex(self) -> str:
        """A complete LaTeX document (amsmath): one ``align*`` per section."""
        out = [
            r"\documentclass{article}",
            r"\usepackage{amsmath}",
            r"\begin{document}",
            rf"\section*{{{latex_text(self.title)}}}",
        ]
        if self.intro:
            out.append(latex_text(self.intro))
        for s in self.sections:
            out.append(rf"\subsection*{{{latex_text(s.title)}}}")
            if s.intro:
                out.append(latex_text(s.intro))
            if not s.lines:
                continue
            out.append(r"\begin{align*}")
            rows = []
            for line in s.lines:
                chain = [latex_math(p) for p in line.parts()]
                rhs = " = ".join(chain[1:])
                note = rf" && \text{{{latex_text(line.note)}}}" if line.note else ""
                rows.append(f"{chain[0]} &= {rhs}{note}" if rhs else f"{chain[0]} &{note}")
            out.append(" \\\\\n".join(rows))
            out.append(r"\end{align*}")
        out.append(r"\end{document}")
        return "\n".join(out) + "\n"

    def render(self, format: str = "text") -> str:
        """``text``, ``markdown`` or ``latex``."""
        renderers = {"text": self.text, "markdown": self.markdown, "latex": self.latex}
        if format not in renderers:
            raise ValueError(f"WorkedExample.render: format must be one of {sorted(renderers)}, got {format!r}")
        return renderers[format]()


def _md_text(text: str) -> str:
    return re.sub(r"([\\`*_|<>\[\]])", r"\\\1", text)


def _md_code(text: str) -> str:
    if not text:
        return ""
    return "`" + text.replace("`", "'").replace("|", "\\|") + "`"


_LATEX_SPECIAL = {"&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "{": r"\{", "}": r"\}", "~": r"\~{}"}
_LATEX_SYMBOLS = {
    "·": r"\cdot ",
    "⊙": r"\odot ",
    "×": r"\times ",
    "ᵀ": r"^{\top}",
    "²": "^{2}",
    "³": "^{3}",
    "⁻": "^{-}",
    "ˣ": "^{x}",
    "Σ": r"\sum ",
    "σ": r"\sigma ",
    "δ": r"\delta ",
    "γ": r"\gamma ",
    "β": r"\beta ",
    "η": r"\eta ",
    "μ": r"\mu ",
    "π": r"\pi ",
    "ε": r"\varepsilon ",
    "√": r"\surd ",
    "±": r"\pm ",
    "‖": r"\| ",
    "∞": r"\infty ",
    "Π": r"\prod ",
    "⊗": r"\otimes ",
    "≤": r"\le ",
    "≥": r"\ge ",
    "≠": r"\ne ",
    "≈": r"\approx ",
    "−": "-",
    "←": r"\leftarrow ",
    "→": r"\to ",
    "…": r"\dots ",
    "½": r"\tfrac{1}{2}",
    "∂": r"\partial ",
    "*": r"\ast ",
    "_": r"\_",
    "^": r"\hat{}",
    "\\": r"\backslash ",
    **{chr(0x2080 + d): f"_{{{d}}}" for d in range(10)},
}
_LATEX_FUNCTIONS = {"tanh", "ln", "log", "exp", "sin", "cos", "max", "min"}
_LATEX_ACCENTS = {"\u0302": r"\hat", "\u0304": r"\bar", "\u0303": r"\tilde", "\u0307": r"\dot"}
_LATEX_TOKEN = re.compile(r"dL/d|\^\(([^()]*)\)|_([A-Za-z]+)|(\S)([\u0302\u0304\u0303\u0307])|[A-Za-z]{2,}|.", re.S)
_GREEK_CAPITALS = {"Gamma", "Delta", "Theta", "Lambda", "Xi", "Pi", "Sigma", "Upsilon", "Phi", "Psi", "Omega"}


def latex_math(text: str) -> str:
    """A formula in math mode: ``dL/dx`` as ∂L/∂x, Unicode math as macros, words as ``\\text``; the result
    is ASCII."""

    def one(m: re.Match) -> str:
        token = m.group(0)
        if token == "dL/d":
            return r"\partial L/\partial "
        if m.group(1) is not None:
            return "^{" + latex_math(m.group(1)) + "}"
        if m.group(2) is not None:
            return r"_{\text{" + m.group(2) + "}}"
        if m.group(3) is not None:  # x̂, ḡ: a letter and a combining accent
            return f"{_LATEX_ACCENTS[m.group(4)]}{{{latex_math(m.group(3))}}}"
        if len(token) > 1:
            return rf"\{token} " if token in _LATEX_FUNCTIONS else rf"\text{{ {token} }}"
        if token in _LATEX_SPECIAL:
            return _LATEX_SPECIAL[token]
        return latex_symbol(token)

    return _LATEX_TOKEN.sub(one, unicodedata.normalize("NFD", text))


def latex_symbol(c: str) -> str:
    """One character in math mode, as ASCII: the table above, Greek letters by name, super- and subscripts
    by what they raise or lower, anything else as its Unicode name."""
    if c in _LATEX_SYMBOLS:
        return _LATEX_SYMBOLS[c]
    if c.isascii():
        return c
    name = unicodedata.name(c, "")
    greek = re.fullmatch(r"GREEK (SMALL|CAPITAL) LETTER (\w+)", name)
    if greek:
        letter = greek.group(2).capitalize().replace("Lamda", "Lambda")  # Unicode's spelling
        if greek.group(1) == "SMALL":
            return rf"\{letter.lower()} "
        return rf"\{letter} " if letter in _GREEK_CAPITALS else unicodedata.normalize("NFKD", c)[:1] or "?"
    plain = unicodedata.normalize("NFKC", c)
    if plain.isascii() and plain and plain != c:
        if "SUBSCRIPT" in name:
            return f"_{{{latex_math(plain)}}}"
        if "SUPERSCRIPT" in name or name.startswith("MODIFIER LETTER"):
            return f"^{{{latex_math(plain)}}}"
        return latex_math(plain)
    return rf"\text{{[{name.lower() or hex(ord(c))}]}}"


def latex_text(text: str) -> str:
    """Prose for LaTeX: special characters escaped, math symbols as inline math."""
    out = []
    for c in text:
        if c in _LATEX_SPECIAL:
            out.append(_LATEX_SPECIAL[c])
        elif c in _LATEX_TEXT_SPECIAL:
            out.append(_LATEX_TEXT_SPECIAL[c])
        elif c.isascii():
            out.append(c)
        else:
            out.append(rf"\({latex_math(c)}\)")
    return "".join(out)


_LATEX_TEXT_SPECIAL = {
    "_": r"\_",
    "\\": r"\textbackslash{}",
    "^": r"\textasciicircum{}",
    "<": r"\textless{}",
    ">": r"\textgreater{}",
    "|": r"\textbar{}",
}
