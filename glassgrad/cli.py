"""``python -m glassgrad COMMAND``: each command lives in ``glassgrad/commands/<name>.py``
with ``add_arguments(parser)`` and ``run(args) -> int``.

A user's mistake (a bad option, a missing file) is one line on stderr — what is
wrong and what to do — and exit status 2, with no traceback; commands raise
``UsageError`` for it (``main`` returns 2; for a bad command line it raises
SystemExit(2), as argparse does). ``--debug`` (before or after the command) shows the
traceback instead. Ctrl-C outside a training loop exits 130 with one line.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import re
import sys
from typing import NoReturn

from . import commands

PROG = "python -m glassgrad"


class UsageError(Exception):
    """A user's mistake, printed as ``PROG COMMAND: message`` on one line; exit status 2."""

    def __init__(self, message: str, prog: str = PROG) -> None:
        super().__init__(message)
        self.prog = prog


def require_cuda(prog: str, instead: str) -> None:
    """UsageError for ``--device cuda`` where CuPy or a GPU is missing; ``instead`` says what to do without it."""
    from .engine.backend import cupy_module

    try:
        cupy_module()
    except RuntimeError as err:
        raise UsageError(f"--device cuda: {err}; or leave --device out to {instead} on the cpu", prog) from None


class Parser(argparse.ArgumentParser):
    """argparse, with its errors as one line (no usage block) raised as UsageError."""

    def error(self, message: str) -> NoReturn:
        message = re.sub(r"^argument ([^:]+): ", r"\1: ", message)
        raise UsageError(f"{message} (see --help)", self.prog)


DEBUG_HELP = "on an error, show the full traceback instead of one line"


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog=PROG, description=__doc__.splitlines()[0])
    parser.add_argument("--debug", action="store_true", help=DEBUG_HELP)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{commands.__name__}.{info.name}")
        command = sub.add_parser(
            info.name.replace("_", "-"),
            help=module.__doc__.splitlines()[0],
            description=module.__doc__,  # `COMMAND --help` shows the module's whole docstring
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        module.add_arguments(command)
        command.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=DEBUG_HELP)
        command.set_defaults(run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    debug = "--debug" in argv
    try:
        args = build_parser().parse_args(argv)
    except UsageError as err:  # as argparse itself does, a bad command line raises SystemExit(2)
        if debug:
            raise
        print(f"{err.prog}: {' '.join(str(err).split())}", file=sys.stderr)
        raise SystemExit(2) from None
    args.argv = argv  # the command line, for a command that starts itself again (train --nproc N)
    try:
        return int(args.run(args) or 0)
    except UsageError as err:
        if debug:
            raise
        print(f"{err.prog}: {' '.join(str(err).split())}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        if debug:
            raise
        print(f"{PROG}: interrupted (Ctrl-C)", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
