"""conv2d forward + input gradient + weight gradient on cuda: the implicit-GEMM kernels against
cuDNN (through PyTorch) on the same data, ResNet-50's 3×3 and 1×1 layers at batch 32.

    python benchmarks/gpu/bench_conv2d_cuda.py [--json out.json] [--repeat 5] [--batch 32]
    compute-sanitizer --tool racecheck python benchmarks/gpu/bench_conv2d_cuda.py --sanitizer-run

Pairs, each timed with CUDA events (median of --repeat after one warm-up call):

    implicit_gemm_simt   vs  cuDNN FP32 with TF32 off   (the issue's FP32 target: >= 60%)
    implicit_gemm_tf32   vs  cuDNN with TF32 on
    implicit_gemm_bf16   vs  cuDNN BF16                  (the issue's BF16 target: >= 50%)

Each pass costs 2·N·K·P·Q·(C/G)·R·S flops. The JSON holds per layer and pass the times, TFLOP/s,
the share of cuDNN, and each result's relative error against cuDNN FP32 on the same values.
cuDNN picks its algorithms (``cudnn.benchmark``) during the warm-up. Not yet run on a GPU.
"""

from __future__ import annotations

import argparse
import json
import time

import cupy
import numpy as np
import torch

from glassgrad.kernels.conv2d import cuda_implicit_gemm as ig
from glassgrad.kernels.conv2d.geometry import ConvGeometry
from glassgrad.kernels.cuda.bfloat16 import to_bfloat16_bits

#: (name, C, H=W, K, kernel, stride, padding): ResNet-50's bottleneck convolutions
LAYERS = [
    ("conv2 3x3 64", 64, 56, 64, 3, 1, 1),
    ("conv3 3x3 128", 128, 28, 128, 3, 1, 1),
    ("conv4 3x3 256", 256, 14, 256, 3, 1, 1),
    ("conv5 3x3 512", 512, 7, 512, 3, 1, 1),
    ("conv2 1x1 64->256", 64, 56, 256, 1, 1, 0),
    ("conv2 1x1 256->64", 256, 56, 64, 1, 1, 0),
    ("conv4 1x1 1024->256", 1024, 14, 256, 1, 1, 0),
    ("conv5 1x1 512->2048", 512, 7, 2048, 1, 1, 0),
]
PASSES = ("fwd", "dgrad", "wgrad")
PAIRS = {"simt": "cudnn_fp32", "tf32": "cudnn_tf32", "bf16": "cudnn_bf16"}


def timed(fn, repeat: int) -> float:
    """Median ms of ``fn()`` by CUDA events, after one warm-up call."""
    fn()
    cupy.cuda.Device().synchronize()
    torch.cuda.synchronize()
    times = []
    for _ in range(repeat):
        start, stop = cupy.cuda.Event(), cupy.cuda.Event()
        start.record()
        fn()
        stop.record()
        stop.synchronize()
        times.append(cupy.cuda.get_elapsed_time(start, stop))
    return float(np.median(times))


def ours(variant: str, g: ConvGeometry, x, w, dy, options: dict) -> dict:
    """The three passes of one implicit-GEMM variant, as callables."""
    return {
        "fwd": lambda: ig.conv2d_forward(variant, x, w, None, **options),
        "dgrad": lambda: ig.conv2d_grad_input(variant, dy, w, g.input_shape, **options),
        "wgrad": lambda: ig.conv2d_grad_weight(variant, x, dy, g.weight_shape, **options),
    }


def cudnn(g: ConvGeometry, x, w, dy, options: dict) -> dict:
    """The three passes through PyTorch (cuDNN), as callables."""
    s, p = options["stride"], options["padding"]
    return {
        "fwd": lambda: torch.nn.functional.conv2d(x, w, None, s, p),
        "dgrad": lambda: torch.nn.grad.conv2d_input(g.input_shape, w, dy, s, p),
        "wgrad": lambda: torch.nn.grad.conv2d_weight(x, g.weight_shape, dy, s, p),
    }


def _as_cupy_float32(a):
    if isinstance(a, torch.Tensor):
        a = cupy.from_dlpack(a.float().contiguous())
    return a.astype(cupy.float32, copy=False)


def _rel_err(got, want) -> float:
    got, want = _as_cupy_float32(got), _as_cupy_float32(want)
    return float(cupy.linalg.norm(got - want) / max(float(cupy.linalg.norm(want)), 1e-30))


def bench_layer(layer: tuple, batch: int, repeat: int) -> list[dict]:
    name, c, hw, k, r, stride, pad = layer
    options = {"stride": (stride, stride), "padding": (pad, pad), "dilation": (1, 1), "groups": 1}
    g = ConvGeometry.of((batch, c, hw, hw), (k, c, r, r), **options)
    rng = np.random.default_rng(0)
    x, w, dy = (
        cupy.asarray(rng.standard_normal(s, dtype=np.float32)) for s in (g.input_shape, g.weight_shape, g.output_shape)
    )
    bits = [to_bfloat16_bits(a) for a in (x, w, dy)]
    tx, tw, tdy = (torch.from_dlpack(a) for a in (x, w, dy))
    tbits = [torch.from_dlpack(b).view(torch.bfloat16) for b in bits]
    flops = g.flops()
    candidates = {
        "simt": ours("simt", g, x, w, dy, options),
        "tf32": ours("tf32", g, x, w, dy, options),
        "bf16": ours("bf16", g, *bits, options),
        "cudnn_fp32": cudnn(g, tx, tw, tdy, options),
        "cudnn_tf32": cudnn(g, tx, tw, tdy, options),
        "cudnn_bf16": cudnn(g, *tbits, options),
    }
    rows = []
    for pass_name in PASSES:
        torch.backends.cudnn.allow_tf32 = False
        want = candidates["cudnn_fp32"][pass_name]()
        times, errors = {}, {}
        for label, passes in candidates.items():
            torch.backends.cudnn.allow_tf32 = label == "cudnn_tf32"
            try:
                errors[label] = _rel_err(passes[pass_name](), want)
                times[label] = timed(passes[pass_name], repeat)
            except Exception as exc:  # a failing variant is reported, not fatal to the run
                times[label], errors[label] = None, f"{type(exc).__name__}: {exc}"
        for variant, vendor in PAIRS.items():
            mine, theirs = times[variant], times[vendor]
            rows.append(
                {
                    "layer": name,
                    "pass": pass_name,
                    "variant": f"implicit_gemm_{variant}",
                    "vendor": vendor,
                    "ms": mine,
                    "vendor_ms": theirs,
                    "tflops": None if not mine else flops / mine / 1e9,
                    "vendor_tflops": None if not theirs else flops / theirs / 1e9,
                    "share_of_vendor": None if not (mine and theirs) else theirs / mine,
                    "rel_err_vs_cudnn_fp32": errors[variant],
                    "vendor_rel_err_vs_cudnn_fp32": errors[vendor],
                }
            )
    return rows


#: small awkward geometries for --sanitizer-run: (x shape, weight shape, stride, padding, dilation, groups)
SANITIZER_GEOMETRIES = [
    ((2, 4, 9, 7), (6, 2, 3, 3), (2, 1), (1, 2), (1, 1), 2),
    ((1, 3, 13, 11), (5, 3, 7, 7), (2, 2), (3, 3), (2, 1), 1),
    ((3, 64, 6, 5), (8, 64, 1, 1), (1, 1), (0, 0), (1, 1), 1),
]


def sanitizer_run() -> None:
    """Every variant, pass and layout once on small awkward shapes (for compute-sanitizer memcheck/racecheck)."""
    rng = np.random.default_rng(1)
    for x_shape, w_shape, stride, padding, dilation, groups in SANITIZER_GEOMETRIES:
        options = {"stride": stride, "padding": padding, "dilation": dilation, "groups": groups}
        g = ConvGeometry.of(x_shape, w_shape, **options)
        for channels_last in (False, True):
            arrays = []
            for shape in (g.input_shape, g.weight_shape, g.output_shape):
                a = rng.standard_normal(shape, dtype=np.float32)
                a = (
                    cupy.asarray(a.transpose(0, 2, 3, 1).copy()).transpose(0, 3, 1, 2)
                    if channels_last
                    else cupy.asarray(a)
                )
                arrays.append(a)
            if channels_last:  # bf16 bits in the same (NHWC) memory order
                bits = [to_bfloat16_bits(a.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2) for a in arrays]
            else:
                bits = [to_bfloat16_bits(a) for a in arrays]
            for variant in PAIRS:
                for fn in ours(variant, g, *(bits if variant == "bf16" else arrays), options).values():
                    fn()
    cupy.cuda.Device().synchronize()
    print("sanitizer run: every variant, pass and layout ran")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sanitizer-run", action="store_true", help="small shapes once each, no timing")
    parser.add_argument("--json", default=None)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--layers", type=int, default=len(LAYERS), help="the first N layers only")
    args = parser.parse_args()
    if args.sanitizer_run:
        sanitizer_run()
        return
    torch.backends.cudnn.benchmark = True
    torch.backends.cuda.matmul.allow_tf32 = False
    started = time.time()
    rows: list[dict] = []
    report = {"share_of_cudnn_total": {}}
    for layer in LAYERS[: args.layers]:
        rows += bench_layer(layer, args.batch, args.repeat)
        for row in rows[-9:]:
            share = row["share_of_vendor"]
            print(
                f"{row['layer']:22s} {row['pass']:5s} {row['variant']:20s} {row['ms'] or float('nan'):8.3f} ms "
                f"{row['vendor']:10s} {row['vendor_ms'] or float('nan'):8.3f} ms  "
                f"share {share if share is not None else float('nan'):5.2f}  err {row['rel_err_vs_cudnn_fp32']}"
            )
        report = summary(rows, args.batch, started)
        if args.json:  # after every layer: a run cut short by its time limit keeps what it measured
            with open(args.json, "w", encoding="utf-8") as f:
                json.dump(report, f, indent=1)
    print("share of cuDNN, fwd+dgrad+wgrad over the layers:", report["share_of_cudnn_total"])


def summary(rows: list[dict], batch: int, started: float) -> dict:
    """The JSON report: the device, versions, the shares of cuDNN summed over the layers so far, every row."""
    totals = {}
    for variant in PAIRS:
        mine = [r for r in rows if r["variant"] == f"implicit_gemm_{variant}"]
        if mine and all(r["ms"] and r["vendor_ms"] for r in mine):
            totals[variant] = sum(r["vendor_ms"] for r in mine) / sum(r["ms"] for r in mine)
    props = cupy.cuda.runtime.getDeviceProperties(0)
    return {
        "device": props["name"].decode(),
        "cuda_runtime": cupy.cuda.runtime.runtimeGetVersion(),
        "cudnn": torch.backends.cudnn.version(),
        "torch": torch.__version__,
        "date": time.strftime("%Y-%m-%d", time.gmtime()),
        "batch": batch,
        "seconds": time.time() - started,
        "layers": sorted({r["layer"] for r in rows}, key=[layer[0] for layer in LAYERS].index),
        "share_of_cudnn_total": totals,
        "rows": rows,
    }


if __name__ == "__main__":
    main()
