"""Benchmark kernel variants: ``bench matmul|conv2d|attention|... [--device] [--sizes] [--variants]``.

``bench FAMILY`` runs every op named FAMILY or starting with FAMILY + "_"
(``bench conv2d`` covers the forward and both gradients). Prints a table and
optionally writes JSON and a GFLOP/s plot.
"""

from __future__ import annotations

import argparse

from .. import kernels
from ..kernels.harness import benchmark, format_table, write_json, write_plot


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("family", help="op or op family: matmul, conv2d, attention, softmax, ...")
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"], help="device to run on (default cpu)")
    parser.add_argument("--sizes", nargs="+", help="sizes as the op's spec reads them (e.g. 1024, 32x64x32x32)")
    parser.add_argument("--variants", nargs="+", help="variant names (the reference always runs)")
    parser.add_argument("--dtype", default="float32", help="float32 (default), float64, bfloat16 (where supported)")
    parser.add_argument("--repeat", type=int, default=10, help="timed runs per point (default 10)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed runs before timing each point (default 2)")
    parser.add_argument("--memory", action="store_true", help="also measure peak memory per call")
    parser.add_argument("--json", help="write the rows and the machine description here")
    parser.add_argument("--plot", help="write a GFLOP/s-vs-size PNG here")
    parser.add_argument(
        "--write-defaults",
        action="store_true",
        help="cuda, float32: record in kernels/cuda/measured_defaults.json, for this GPU, each op's variant that "
        "validated and beat the reference at every size of this run (applied when CuPy starts)",
    )


def family_ops(family: str) -> list[str]:
    ops = [op for op in kernels.ops() if op == family or op.startswith(family + "_")]
    if not ops:
        from ..cli import PROG, UsageError

        raise UsageError(f"no kernel op named {family!r}; known: {', '.join(kernels.ops())}", f"{PROG} bench")
    return ops


def run(args: argparse.Namespace) -> int:
    if args.write_defaults and (args.device != "cuda" or args.dtype != "float32"):
        from ..cli import PROG, UsageError

        raise UsageError("--write-defaults needs --device cuda and --dtype float32", f"{PROG} bench")
    rows = []
    for op in family_ops(args.family):
        variants = None
        if args.variants:
            names = {v.name for v in kernels.list(op, args.device)}
            variants = [n for n in args.variants if n in names]
            if not variants:  # none of the named variants is one of this op's (matmul_epilogue for "naive")
                continue
        rows += benchmark(op, variants, args.sizes, args.device, args.dtype, args.repeat, args.warmup, args.memory)
    if not rows:
        from ..cli import PROG, UsageError

        known = sorted({v.name for op in family_ops(args.family) for v in kernels.list(op, args.device)})
        raise UsageError(
            f"no variant named {' or '.join(args.variants)} on {args.device}; known: {', '.join(known)}",
            f"{PROG} bench",
        )
    print(format_table(rows))
    if args.json:
        write_json(
            rows, args.json, args.device, notes=f"python -m glassgrad bench {args.family} --device {args.device}"
        )
    if args.plot:
        write_plot(rows, args.plot)
    if args.write_defaults:
        _write_defaults(args, rows)
    return 0


def _write_defaults(args: argparse.Namespace, rows: list) -> None:
    from ..engine.backend import cupy_module
    from ..kernels.cuda import measured_defaults

    cap = measured_defaults.capability(cupy_module("bench --write-defaults"))
    choices = measured_defaults.choose(rows, measured_defaults.validated_at_op_tolerance)
    measured_defaults.write(cap, choices)
    print(f"measured defaults for {cap}: {choices or 'none (no variant validated and beat the reference)'}")
