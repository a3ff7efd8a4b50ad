"""benchmark(op, ...): one harness for every kernel op and device.

For each size and variant: a first (compiling) call timed on its own, then
warm-up and repeated timing (median and the 25-75 % spread), work from the
op's spec (FLOP/s and bytes/s), the ratio to the reference variant measured
in the same run, the max relative error against the reference, and
optionally the peak memory. Results are rows that print as a table and write
as JSON (with a description of the machine) or as a plot.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..engine import backend
from . import timing
from .registry import list as list_variants
from .registry import reference, spec
from .validation import compare


@dataclass
class BenchRow:
    op: str
    variant: str
    device: str
    dtype: str
    size: str
    median_s: float
    q25_s: float
    q75_s: float
    first_call_s: float
    gflops: float
    gbytes_per_s: float
    vs_reference: float
    max_rel_error: float
    peak_mb: float | None = None


def machine_info(device: str) -> dict[str, Any]:
    """CPU model, cores and library versions; on cuda the GPU, driver and CUDA runtime."""
    import numba

    info: dict[str, Any] = {
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numba": numba.__version__,
        "cpu": _cpu_model(),
        "cores": os.cpu_count(),
        "numba_threads": numba.get_num_threads(),
        "glassgrad": str(Path(__file__).resolve().parents[1]),  # which checkout ran (editable installs move)
    }
    if device == "cuda":
        import cupy

        props = cupy.cuda.runtime.getDeviceProperties(0)
        info.update(
            gpu=props["name"].decode() if isinstance(props["name"], bytes) else props["name"],
            sm_count=props["multiProcessorCount"],
            driver=cupy.cuda.runtime.driverGetVersion(),
            cuda_runtime=cupy.cuda.runtime.runtimeGetVersion(),
            cupy=cupy.__version__,
        )
    return info


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def benchmark(
    op: str,
    variants: list[str] | None = None,
    sizes: list[str] | None = None,
    device: str = "cpu",
    dtype: str = "float32",
    repeat: int = 10,
    warmup: int = 2,
    measure_memory: bool = False,
) -> list[BenchRow]:
    """Time every (size, variant) of ``op`` on ``device``; the reference always runs too."""
    op_spec = spec(op)
    xp = backend.array_module(device)
    ref = reference(op, device)
    chosen = [v for v in list_variants(op, device) if variants is None or v.name in variants or v.reference]
    if variants:
        unknown = set(variants) - {v.name for v in chosen}
        if unknown:
            raise KeyError(f"benchmark: {op} on {device} has no variants {sorted(unknown)}")
    timer = timing.TIMERS[device]
    rows = []
    for size in sizes or list(op_spec.default_sizes.get(device, ())):
        case = op_spec.make_inputs(size, xp, _dtype(dtype))
        # A dtype the reference lacks (bf16 storage) is compared with the reference run on
        # float32 inputs drawn from the same seed: "x ref" is then against that float32 run.
        ref_case = case if ref.supports_dtype(dtype) else op_spec.make_inputs(size, xp, np.dtype("float32"))
        want = ref(*ref_case.args, **ref_case.kwargs)
        ref_time = None
        for v in sorted(chosen, key=lambda v: not v.reference):  # the reference first
            if not (v.supports_dtype(dtype) or v.reference) or not v.accepts(*case.args, **case.kwargs):
                continue
            inputs = case if v.supports_dtype(dtype) else ref_case

            def call(v: Any = v, inputs: Any = inputs) -> Any:
                return v(*inputs.args, **inputs.kwargs)

            try:
                first = timing.first_call_seconds(call, device)
            except Exception as err:  # report and go on with the other variants
                print(f"benchmark: {op}/{device}/{v.name} at {size} failed: {err!r}", file=sys.stderr)
                continue
            times = np.array(timer(call, repeat, warmup))
            median = float(np.median(times))
            ref_time = median if v.reference else ref_time
            _, rel = compare(call(), want)
            peak = timing.peak_bytes(call, device) / 2**20 if measure_memory else None
            rows.append(
                BenchRow(
                    op=op,
                    variant=v.name,
                    device=device,
                    dtype=dtype if v.supports_dtype(dtype) else "float32",
                    size=size,
                    median_s=median,
                    q25_s=float(np.percentile(times, 25)),
                    q75_s=float(np.percentile(times, 75)),
                    first_call_s=first,
                    gflops=op_spec.flops(case) / median / 1e9,
                    gbytes_per_s=op_spec.bytes(case) / median / 1e9,
                    vs_reference=(ref_time / median) if ref_time else float("nan"),
                    max_rel_error=rel,
                    peak_mb=peak,
                )
            )
    return rows


def _dtype(name: str) -> Any:
    """np.dtype for real NumPy dtypes; "bfloat16" stays a name (specs store it as uint16 bits)."""
    return name if name == "bfloat16" else np.dtype(name)


def format_table(rows: list[BenchRow]) -> str:
    """A fixed-width table: one line per (size, variant)."""
    header = f"{'op':20s} {'variant':14s} {'size':>16s} {'time':>10s} {'±IQR':>9s} {'GFLOP/s':>10s} {'GB/s':>8s} {'x ref':>7s} {'max rel err':>11s} {'1st call':>9s} {'peak MB':>8s}"
    lines = [header, "-" * len(header)]
    for r in rows:
        peak = f"{r.peak_mb:8.1f}" if r.peak_mb is not None else f"{'':8s}"
        lines.append(
            f"{r.op:20s} {r.variant:14s} {r.size:>16s} {_ms(r.median_s):>10s} {_ms(r.q75_s - r.q25_s):>9s} "
            f"{r.gflops:10.1f} {r.gbytes_per_s:8.1f} {r.vs_reference:7.3f} {r.max_rel_error:11.1e} {r.first_call_s:8.2f}s {peak}"
        )
    return "\n".join(lines)


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.3f} ms"


def write_json(rows: list[BenchRow], path: str | Path, device: str, notes: str = "") -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    payload = {"machine": machine_info(device), "notes": notes, "rows": [asdict(r) for r in rows]}
    Path(path).write_text(json.dumps(payload, indent=2))


def write_plot(rows: list[BenchRow], path: str | Path) -> None:
    """GFLOP/s against size, one line per (op, variant)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 5))
    for key in sorted({(r.op, r.variant) for r in rows}):
        pts = [r for r in rows if (r.op, r.variant) == key]
        ax.plot([r.size for r in pts], [r.gflops for r in pts], marker="o", label=f"{key[0]}/{key[1]}")
    ax.set_xlabel("size")
    ax.set_ylabel("GFLOP/s")
    ax.set_yscale("log")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
