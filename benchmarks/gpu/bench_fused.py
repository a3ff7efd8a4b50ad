"""GB/s of each fused kernel and of its composite CuPy version at large sizes (CUDA events).

    python benchmarks/gpu/bench_fused.py [--sizes 8192x8192 65536x1024] [--json out.json]

The bytes are each op's minimum traffic (kernels/fused/spec.py: inputs read
once, outputs written once); the share is of the H100 SXM's 3.35 TB/s HBM3 peak.
"""

from __future__ import annotations

import argparse
import json
import platform

import cupy
import numpy as np

from glassgrad import kernels

OPS = [
    "softmax",
    "softmax_backward",
    "log_softmax",
    "log_softmax_backward",
    "layer_norm",
    "layer_norm_backward",
    "cross_entropy",
    "cross_entropy_backward",
]
PEAK_BYTES_PER_S = 3.35e12


def time_ms(fn, args, kwargs, repeat: int) -> float:
    fn(*args, **kwargs)  # compile, warm the pool
    cupy.cuda.get_current_stream().synchronize()
    times = []
    for _ in range(repeat):
        start, stop = cupy.cuda.Event(), cupy.cuda.Event()
        start.record()
        fn(*args, **kwargs)
        stop.record()
        stop.synchronize()
        times.append(cupy.cuda.get_elapsed_time(start, stop))
    return float(np.median(times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", nargs="+", default=["8192x8192", "65536x1024", "4096x50257", "32768x128"])
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--json")
    args = parser.parse_args()
    rows = []
    print(f"{'op':24s} {'size':>12s} {'variant':>8s} {'ms':>9s} {'GB/s':>8s} {'% peak':>7s} {'x cupy':>7s}")
    for op in OPS:
        spec = kernels.spec(op)
        for size in args.sizes:
            case = spec.make_inputs(size, cupy, np.dtype("float32"))
            nbytes = spec.bytes(case)
            ref_ms = None
            for name in ("cupy", "fused"):
                ms = time_ms(kernels.variant(op, "cuda", name), case.args, case.kwargs, args.repeat)
                ref_ms = ms if name == "cupy" else ref_ms
                gbs = nbytes / (ms * 1e-3) / 1e9
                row = dict(
                    op=op,
                    size=size,
                    variant=name,
                    ms=ms,
                    bytes=nbytes,
                    gb_per_s=gbs,
                    share_of_peak=gbs * 1e9 / PEAK_BYTES_PER_S,
                    speedup_vs_cupy=ref_ms / ms,
                )
                rows.append(row)
                print(
                    f"{op:24s} {size:>12s} {name:>8s} {ms:9.3f} {gbs:8.0f} {100 * row['share_of_peak']:6.1f}% {row['speedup_vs_cupy']:6.2f}x"
                )
            del case
            cupy.get_default_memory_pool().free_all_blocks()
    if args.json:
        props = cupy.cuda.runtime.getDeviceProperties(cupy.cuda.Device().id)
        meta = dict(
            device=props["name"].decode(),
            cuda_runtime=cupy.cuda.runtime.runtimeGetVersion(),
            driver=cupy.cuda.runtime.driverGetVersion(),
            cupy=cupy.__version__,
            python=platform.python_version(),
            peak_bytes_per_s=PEAK_BYTES_PER_S,
            timing="CUDA events, median of --repeat",
        )
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(dict(meta=meta, rows=rows), f, indent=1)


if __name__ == "__main__":
    main()
