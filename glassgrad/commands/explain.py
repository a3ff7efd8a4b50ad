"""Explain a backward pass as a worked example: each step's formula, its numbers, its result.

    python -m glassgrad explain --list
    python -m glassgrad explain mlp-2-2-3-1                 # the classic hand-worked example, checked
    python -m glassgrad explain --expr "(x*w + b).tanh()" --values x=0.5,w=-1.2,b=0.1
    python -m glassgrad explain neuron --format markdown --out neuron.md --graph neuron.svg

An expression may use its variables, numbers, + - * / ** @, unary -, and the Tensor methods listed in
the error for anything else (it is read with ``ast``, never evaluated as Python). ``--graph FILE.dot``
writes the graph as Graphviz DOT text; ``.svg``/``.png`` need Graphviz's ``dot`` program.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from ..autograd.examples import EXAMPLES, describe, explain_expression
from ..autograd.expression import ExpressionError, parse_values
from ..autograd.mlp_by_hand import DerivationError
from ..cli import UsageError
from ..viz import FORMATS, INSTALL_DOT, graph

PROG = "python -m glassgrad explain"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("example", nargs="?", help="a built-in example (see --list)")
    parser.add_argument("--list", action="store_true", help="list the built-in examples and exit")
    parser.add_argument("--expr", help='an expression to explain instead, e.g. "(x*w + b).tanh()"')
    parser.add_argument("--values", default="", help="the expression's variables, e.g. x=0.5,w=-1.2,v=[1,2]")
    parser.add_argument(
        "--format", choices=("text", "markdown", "latex"), default="text", help="how to write it (default: text)"
    )
    parser.add_argument("--out", type=Path, help="write the explanation to this file instead of printing it")
    parser.add_argument(
        "--graph", type=Path, help="also draw the graph: FILE.dot (DOT text), FILE.svg or FILE.png (needs Graphviz)"
    )


def run(args: argparse.Namespace) -> int:
    if args.list:
        print(describe())
        return 0
    if args.graph is not None:
        fmt = args.graph.suffix.lstrip(".").lower()
        if fmt not in FORMATS:
            raise UsageError(
                f"--graph {args.graph}: the file should end in {', '.join('.' + f for f in FORMATS)}", PROG
            )
        if fmt != "dot" and shutil.which("dot") is None:  # said before any output
            raise UsageError(f"--graph {args.graph}: {INSTALL_DOT}", PROG)
    explanation = _explanation(args)
    text = explanation.document.render(args.format)
    if args.out is not None:
        try:
            args.out.write_text(text, encoding="utf-8")
        except OSError as err:
            raise UsageError(f"--out {args.out}: cannot write it ({err.strerror})", PROG) from None
        print(f"wrote {args.out}")
    else:
        sys.stdout.write(text)
    if args.graph is not None:
        drawing = graph(explanation.output, values=True, grads=True, params=explanation.params, trace=explanation.trace)
        try:
            drawing.render(args.graph)
        except RuntimeError as err:
            raise UsageError(f"--graph {args.graph}: {err}", PROG) from None
        except OSError as err:
            raise UsageError(f"--graph {args.graph}: cannot write it ({err.strerror})", PROG) from None
        print(f"wrote {args.graph}")
    differs = [line for s in explanation.document.sections for line in s.lines if "DIFFERS" in line.note]
    if differs:
        print(f"{PROG}: {len(differs)} gradient(s) differ from central differences (see above)", file=sys.stderr)
        return 1
    return 0


def _explanation(args: argparse.Namespace):
    if args.expr is not None:
        if args.example is not None:
            raise UsageError(f"give an EXAMPLE or --expr, not both (got {args.example!r} and --expr)", PROG)
        try:
            return explain_expression(args.expr, parse_values(args.values))
        except ExpressionError as err:
            raise UsageError(str(err), PROG) from None
    if args.example is None:
        raise UsageError("which example? give its name (see --list) or --expr EXPRESSION --values ...", PROG)
    if args.values:
        raise UsageError("--values goes with --expr", PROG)
    if args.example not in EXAMPLES:
        raise UsageError(f"no example {args.example!r}; the examples are {', '.join(EXAMPLES)} (see --list)", PROG)
    try:
        return EXAMPLES[args.example].build()
    except DerivationError as err:  # a derived number the engine disagrees with: a bug, said loudly
        raise RuntimeError(f"{err} — the engine and the hand derivation disagree; please report this") from err
