"""Every CUDA matmul variant beside cuBLAS in the same precision, with the device's measured peaks.

    python benchmarks/gpu/vendor_matmul.py --json OUT.json --plot OUT.png [--sizes 4096 8192 1000x4096x333]

cuBLAS runs through PyTorch (benchmarks may import it; the library never does): FP32 with TF32 off,
TF32 (``allow_tf32``), BF16 and FP16. Each of our variants is compared with cuBLAS in its own math:
FP32 SIMT steps with FP32, the TF32 steps with TF32, the bf16/fp16 steps with BF16/FP16 (bf16 goes in
as its uint16 bits, the lab's form, and comes out FP32). A size "N" is N x N x N, "MxKxN" rectangular.

The same run measures the ceilings the roofline (``--plot``) draws: copy bandwidth (a 1 GiB
device-to-device copy, read + write bytes), the FP32 FMA rate (a register-only FMA kernel) and the
best cuBLAS rate of each precision seen here. CUDA events, median of ``--repeat`` after 2 warm-ups.
Nothing here has been run on a GPU yet.
"""

from __future__ import annotations

import argparse
import json

import cupy
import numpy as np
import torch

from glassgrad import kernels
from glassgrad.kernels.cuda.bfloat16 import from_bfloat16_bits, to_bfloat16_bits
from glassgrad.kernels.harness import machine_info

#: the teaching steps (seconds per call at 8192) left out unless --all
SLOW = {"naive", "coalesced", "smem_tiled", "blocktile_1d", "numba_naive", "numba_smem"}

FMA_PROBE = r"""
extern "C" __global__ void fma_probe(float *out, int iters) {
    float a = threadIdx.x * 1e-3f, b = 1.0001f, x0 = a, x1 = a + 1, x2 = a + 2, x3 = a + 3,
          x4 = a + 4, x5 = a + 5, x6 = a + 6, x7 = a + 7;
    for (int i = 0; i < iters; ++i) {
#pragma unroll
        for (int j = 0; j < 16; ++j) {  // 8 independent chains: 8 FMAs in flight per thread
            x0 = fmaf(x0, b, a); x1 = fmaf(x1, b, a); x2 = fmaf(x2, b, a); x3 = fmaf(x3, b, a);
            x4 = fmaf(x4, b, a); x5 = fmaf(x5, b, a); x6 = fmaf(x6, b, a); x7 = fmaf(x7, b, a);
        }
    }
    out[blockIdx.x * blockDim.x + threadIdx.x] = x0 + x1 + x2 + x3 + x4 + x5 + x6 + x7;
}
"""


def time_ms(fn, repeat: int) -> float:
    """Median milliseconds of ``fn()`` over ``repeat`` runs after 2 warm-ups (CUDA events)."""
    for _ in range(2):
        fn()
    start, stop = cupy.cuda.Event(), cupy.cuda.Event()
    times = []
    for _ in range(repeat):
        start.record()
        fn()
        stop.record()
        stop.synchronize()
        times.append(cupy.cuda.get_elapsed_time(start, stop))
    return float(np.median(times))


def probe_peaks(repeat: int) -> dict[str, float]:
    """Copy bandwidth (GB/s) and the FP32 FMA rate (TFLOP/s) of this GPU, measured now."""
    n = 2**28  # 1 GiB of float32
    src, dst = cupy.ones(n, dtype=cupy.float32), cupy.empty(n, dtype=cupy.float32)
    copy_ms = time_ms(lambda: cupy.copyto(dst, src), repeat)
    fma = cupy.RawKernel(FMA_PROBE, "fma_probe")
    sms = cupy.cuda.Device().attributes["MultiProcessorCount"]
    blocks, threads, iters = sms * 8, 256, 4096
    out = cupy.empty(blocks * threads, dtype=cupy.float32)
    fma_ms = time_ms(lambda: fma((blocks,), (threads,), (out, np.int32(iters))), repeat)
    flops = 2 * 8 * 16 * iters * blocks * threads
    return {"copy_gbytes_per_s": 2 * n * 4 / copy_ms / 1e6, "fp32_fma_tflops": flops / fma_ms / 1e9}


def dims(size: str) -> tuple[int, int, int]:
    d = [int(x) for x in size.lower().split("x")]
    return (d[0], d[0], d[0]) if len(d) == 1 else (d[0], d[1], d[2])


def precision(v) -> str | None:
    """Which cuBLAS mode a variant is measured against: fp32, tf32, bf16 or fp16 (None: not a GEMM of ours)."""
    if v.reference:
        return None
    if v.supports_dtype("bfloat16"):
        return "bf16"
    if v.supports_dtype("float16"):
        return "fp16"
    if v.supports_dtype("float32"):
        return "tf32" if "tf32" in v.name else "fp32"
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=["4096", "8192", "1000x4096x333"])
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--all", action="store_true", help="also time the slow teaching steps")
    parser.add_argument("--json")
    parser.add_argument("--plot", help="roofline PNG: every variant at every size under the measured ceilings")
    args = parser.parse_args()
    peaks = probe_peaks(args.repeat)
    print(f"measured: copy {peaks['copy_gbytes_per_s']:.0f} GB/s, FP32 FMA {peaks['fp32_fma_tflops']:.1f} TFLOP/s")
    variants = [v for v in kernels.list("matmul", "cuda") if precision(v) and (args.all or v.name not in SLOW)]
    rows = []
    for size in args.sizes:
        m, k, n = dims(size)
        flops = 2 * m * n * k
        rng = np.random.default_rng(0)
        a32 = cupy.asarray(rng.standard_normal((m, k), dtype=np.float32))
        b32 = cupy.asarray(rng.standard_normal((k, n), dtype=np.float32))
        a16, b16 = to_bfloat16_bits(a32), to_bfloat16_bits(b32)
        ah, bh = a32.astype(cupy.float16), b32.astype(cupy.float16)
        ta, tb = torch.as_tensor(a32, device="cuda"), torch.as_tensor(b32, device="cuda")
        tbf = (ta.bfloat16(), tb.bfloat16())
        thf = (ta.half(), tb.half())
        vendor = {}
        for mode, (x, y), tf32 in [
            ("fp32", (ta, tb), False),
            ("tf32", (ta, tb), True),
            ("bf16", tbf, False),
            ("fp16", thf, False),
        ]:
            torch.backends.cuda.matmul.allow_tf32 = tf32
            vendor[mode] = time_ms(lambda x=x, y=y: torch.matmul(x, y), args.repeat)
        torch.backends.cuda.matmul.allow_tf32 = False
        exact = cupy.matmul(a32.astype(cupy.float64), b32.astype(cupy.float64))
        exact16 = cupy.matmul(
            from_bfloat16_bits(a16).astype(cupy.float64), from_bfloat16_bits(b16).astype(cupy.float64)
        )
        exacth = cupy.matmul(ah.astype(cupy.float64), bh.astype(cupy.float64))
        inputs = {"fp32": (a32, b32), "tf32": (a32, b32), "bf16": (a16, b16), "fp16": (ah, bh)}
        exacts = {"fp32": exact, "tf32": exact, "bf16": exact16, "fp16": exacth}
        for mode, ms in vendor.items():
            rows.append(
                {
                    "size": size,
                    "variant": f"cublas_{mode}",
                    "precision": mode,
                    "ms": ms,
                    "tflops": flops / ms / 1e9,
                    "pct_of_cublas": 100.0,
                    "rel_error": None,
                }
            )
        for v in variants:
            mode = precision(v)
            x, y = inputs[mode]
            try:
                ms = time_ms(lambda v=v, x=x, y=y: v.fn(x, y), args.repeat)
                got = v.fn(x, y).astype(cupy.float64)
            except Exception as err:  # report and go on
                print(f"{v.name} at {size} failed: {err!r}", flush=True)
                continue
            want = exacts[mode]
            rel = float(cupy.linalg.norm(got - want) / cupy.linalg.norm(want))
            rows.append(
                {
                    "size": size,
                    "variant": v.name,
                    "precision": mode,
                    "ms": ms,
                    "tflops": flops / ms / 1e9,
                    "pct_of_cublas": 100.0 * vendor[mode] / ms,
                    "rel_error": rel,
                }
            )
        for r in (r for r in rows if r["size"] == size):
            r["intensity_flop_per_byte"] = flops / _bytes(m, k, n, r["precision"])
            print(
                f"{size:>14s} {r['variant']:18s} {r['precision']:5s} {r['ms']:9.3f} ms {r['tflops']:8.1f} TFLOP/s"
                f" {r['pct_of_cublas']:6.1f}% of cuBLAS",
                flush=True,
            )
    ceilings = {
        **peaks,
        **{
            f"cublas_{p}_best_tflops": max(r["tflops"] for r in rows if r["variant"] == f"cublas_{p}")
            for p in ("fp32", "tf32", "bf16", "fp16")
        },
    }
    if args.json:
        with open(args.json, "w") as f:
            json.dump(
                {"machine": machine_info("cuda"), "torch": torch.__version__, "ceilings": ceilings, "rows": rows},
                f,
                indent=2,
            )
    if args.plot:
        roofline(rows, ceilings, args.plot)


def _bytes(m: int, k: int, n: int, mode: str) -> int:
    """Least traffic: A and B read once (2 or 4 bytes per element), C written once."""
    size = 2 if mode in ("bf16", "fp16") else 4
    return (m * k + k * n) * size + m * n * 4


def roofline(rows: list[dict], ceilings: dict[str, float], path: str) -> None:
    """TFLOP/s against FLOP per byte, log-log, under the measured bandwidth and compute ceilings."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(9, 6))
    xs = np.logspace(0, 4, 200)
    bw = ceilings["copy_gbytes_per_s"] / 1e3  # TB/s -> TFLOP/s per FLOP/byte
    ax.plot(xs, bw * xs, "k-", lw=1, label=f"copy bandwidth {ceilings['copy_gbytes_per_s']:.0f} GB/s (measured)")
    for key, style in [
        ("fp32_fma_tflops", "k--"),
        ("cublas_tf32_best_tflops", "b--"),
        ("cublas_bf16_best_tflops", "r--"),
    ]:
        ax.axhline(ceilings[key], color=style[0], ls="--", lw=1, label=f"{key} {ceilings[key]:.0f}")
    markers = {"fp32": "o", "tf32": "s", "bf16": "^", "fp16": "v"}
    for name in sorted({r["variant"] for r in rows}):
        pts = [r for r in rows if r["variant"] == name]
        ax.scatter(
            [r["intensity_flop_per_byte"] for r in pts],
            [r["tflops"] for r in pts],
            marker=markers[pts[0]["precision"]],
            label=name,
            s=25,
        )
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_ylim(1, 2 * max(v for k, v in ceilings.items() if k.endswith("tflops")))
    ax.set_xlabel("arithmetic intensity (FLOP per byte of least traffic)")
    ax.set_ylabel("TFLOP/s")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=6, ncol=2)
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)


if __name__ == "__main__":
    main()
