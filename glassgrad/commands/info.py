"""Show devices, kernel ops and their variants (which one is the default)."""

from __future__ import annotations

import argparse

from .. import kernels
from ..engine.backend import cuda_is_available


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--op", help="only this kernel op")


def run(args: argparse.Namespace) -> int:
    print(f"devices: cpu{', cuda' if cuda_is_available() else ' (cuda: not available)'}")
    for op in kernels.ops():
        if args.op and op != args.op:
            continue
        print(f"\n{op}: {kernels.spec(op).description}")
        for v in kernels.list(op):
            marks = [
                m
                for m, on in (("default", kernels.default_name(op, v.device) == v.name), ("reference", v.reference))
                if on
            ]
            if v.when is not None:
                marks.append(f"only {v.condition or 'calls its when= accepts'}")
            print(
                f"  {v.device:4s} {v.name:16s} {','.join(v.dtypes):18s} {v.description}{'  [' + ', '.join(marks) + ']' if marks else ''}"
            )
    return 0
