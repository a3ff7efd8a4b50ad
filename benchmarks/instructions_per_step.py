"""Instructions per step of the engine alone (no PyTorch), counted by callgrind: a measure of the
per-op Python cost that, unlike wall-clock time, a busy or two-speed machine does not move.

    python benchmarks/instructions_per_step.py [--rows chain mlp] [--steps 10] [--json FILE]

Each row is built and run a few times untimed, then callgrind counts the instructions of ``--steps``
steps only (``valgrind --tool=callgrind --instr-atstart=no``, switched on and off with
``callgrind_control`` around the steps; one thread; PYTHONHASHSEED=0). The same code gives the same
count to about 0.2%; builds of different code differ by about 1% even where the changed lines do not
run (object ids hash into dicts differently). Rows: ``chain`` (200 small ops on (16, 16), forward and
backward, as bench_cpu_step.py's) and ``mlp`` (a 784-64-64-10 MLP forward and backward at batch 32).
Needs valgrind.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from bench_cpu_step import CHAIN_OPS  # the same 200-op chain (this folder is on sys.path when run as a script)


def build(row: str) -> Callable[[], None]:
    import glassgrad as gg
    import glassgrad.nn.functional as F

    rng = np.random.default_rng(0)

    def param(*shape: int, scale: float = 1.0) -> Any:
        return gg.tensor((rng.standard_normal(shape) * scale).astype(np.float32), requires_grad=True)

    if row == "chain":
        x0, a, b = param(16, 16), param(16, 16), param(16, 16)

        def chain() -> None:
            for t in (x0, a, b):
                t.grad = None
            x = x0
            for i in range(200):
                x = CHAIN_OPS[i % len(CHAIN_OPS)](x, a, b)
            x.sum().backward()

        return chain
    weights = [param(64, 784, scale=0.03), param(64, 64, scale=0.1), param(10, 64, scale=0.1)]
    biases = [param(n, scale=0.0) for n in (64, 64, 10)]
    x = gg.tensor(rng.standard_normal((32, 784)).astype(np.float32))
    y = gg.tensor(rng.integers(0, 10, 32))

    def mlp() -> None:
        for t in (*weights, *biases):
            t.grad = None
        h = x
        for i, (w, b) in enumerate(zip(weights, biases, strict=True)):
            h = F.linear(h, w, b)
            h = F.relu(h) if i < 2 else h
        F.cross_entropy(h, y).backward()

    return mlp


def count(row: str, steps: int) -> int:
    """Run this script as a callgrind child that counts ``steps`` steps of ``row``; the instructions."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "callgrind.out"
        env = {**os.environ, "PYTHONHASHSEED": "0", "OMP_NUM_THREADS": "1", "NUMBA_NUM_THREADS": "1"}
        env["OPENBLAS_NUM_THREADS"] = "1"
        cmd = ["valgrind", "--tool=callgrind", "--instr-atstart=no", f"--callgrind-out-file={out}"]
        cmd += [sys.executable, __file__, "--child", row, "--steps", str(steps)]
        subprocess.run(cmd, env=env, check=True, capture_output=True)
        totals = [line for line in out.read_text().splitlines() if line.startswith("totals:")]
        return int(totals[0].split()[1])


def child(row: str, steps: int) -> None:
    step = build(row)
    for _ in range(5):
        step()
    subprocess.run(["callgrind_control", "-i", "on", str(os.getpid())], capture_output=True, check=True)
    for _ in range(steps):
        step()
    subprocess.run(["callgrind_control", "-i", "off", str(os.getpid())], capture_output=True, check=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", nargs="+", choices=("chain", "mlp"), default=["chain", "mlp"])
    parser.add_argument("--steps", type=int, default=10, help="steps counted (default 10)")
    parser.add_argument("--json", help="write the counts here")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        child(args.child, args.steps)
        return 0
    if shutil.which("valgrind") is None or shutil.which("callgrind_control") is None:
        print("instructions_per_step: needs valgrind (apt install valgrind)", file=sys.stderr)
        return 2
    results = {row: count(row, args.steps) / args.steps for row in args.rows}
    print(f"{'row':6s} {'instructions per step':>22s}")
    for row, n in results.items():
        print(f"{row:6s} {n / 1e6:21.2f}M")
    if args.json:
        Path(args.json).write_text(json.dumps({"steps": args.steps, "instructions_per_step": results}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
