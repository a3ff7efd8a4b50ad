"""The CUDA C FlashAttention-2 kernels against PyTorch's scaled_dot_product_attention, side by side.

    python benchmarks/gpu/bench_attention_cuda.py [--lengths 1024 4096 8192] [--json out.json] [--plot out.png]

(a) BF16 ``flash_mma`` forward and backward TFLOP/s against torch's SDPA restricted to its flash and
    cuDNN backends (same GPU, same process, CUDA events, median of ``--repeat``) at B=4, H=16,
    L = ``--lengths``, D = 64 and 128, causal and not; share of torch and of the BF16 dense peak.
(b) FP32 ``flash_simt`` forward against the CuPy reference (full score matrix) at B=4, H=16, D=64,
    L = 1024, 2048, 4096: time, speed-up, and the memory pool's bytes after one call from an empty
    pool (the call's peak footprint: linear in L for the flash kernel, quadratic for the reference).

FLOPs: forward 4·B·H·L²·D (two products), backward 2.5× that (five products), halved when causal
(the spec's counts). The BF16 peak is the H100/H200 SXM datasheet's dense 989 TFLOP/s (a lead, not
a measurement of this card).
"""

from __future__ import annotations

import argparse
import json
import platform

import cupy
import numpy as np

from glassgrad.kernels.attention import cuda_flash, reference
from glassgrad.kernels.cuda.bfloat16 import to_bfloat16_bits

BF16_PEAK = 989e12


def time_ms(fn, repeat: int, sync) -> float:
    """Median milliseconds of ``fn()`` over ``repeat`` runs after one warm-up (``sync`` gives event pairs)."""
    fn()
    times = []
    for _ in range(repeat):
        start, stop = sync()
        start.record()
        fn()
        stop.record()
        stop.synchronize()
        times.append(
            start.elapsed_time(stop) if hasattr(start, "elapsed_time") else cupy.cuda.get_elapsed_time(start, stop)
        )
    return float(np.median(times))


def cupy_events():
    return cupy.cuda.Event(), cupy.cuda.Event()


def forward_flops(b: int, h: int, length: int, d: int, causal: bool) -> float:
    return float(cuda_flash.attention_flops(b, h, length, length, d, causal))


def bf16_rows(lengths: list[int], repeat: int) -> list[dict]:
    try:
        import torch
        from torch.nn.attention import SDPBackend, sdpa_kernel
    except Exception as exc:  # torch is optional: ours still gets timed
        print("torch unavailable:", exc)
        torch = None
    b, h = 4, 16
    rows = []
    print(
        f"{'L':>5s} {'D':>4s} {'causal':6s} {'ours fwd':>9s} {'torch fwd':>9s} {'ratio':>6s}  {'ours bwd':>9s} "
        f"{'torch bwd':>9s} {'ratio':>6s}  (TFLOP/s; fwd/bwd share of BF16 peak)"
    )
    for d in (64, 128):
        for length in lengths:
            for causal in (False, True):
                x = [cupy.random.standard_normal((b, h, length, d), dtype=cupy.float32) for _ in range(3)]
                q, k, v = (to_bfloat16_bits(a) for a in x)
                grad = to_bfloat16_bits(cupy.random.standard_normal((b, h, length, d), dtype=cupy.float32))
                scale = d**-0.5
                out, lse = cuda_flash.mma_forward(q, k, v, is_causal=causal, scale=scale)
                fwd = time_ms(
                    lambda: cuda_flash.mma_forward(q, k, v, is_causal=causal, scale=scale), repeat, cupy_events
                )
                bwd = time_ms(
                    lambda: cuda_flash.mma_backward(q, k, v, out, grad, lse, is_causal=causal, scale=scale),
                    repeat,
                    cupy_events,
                )
                flops = forward_flops(b, h, length, d, causal)
                row = {
                    "B": b,
                    "H": h,
                    "L": length,
                    "D": d,
                    "causal": causal,
                    "ours_fwd_ms": fwd,
                    "ours_bwd_ms": bwd,
                    "ours_fwd_tflops": flops / fwd / 1e9,
                    "ours_bwd_tflops": 2.5 * flops / bwd / 1e9,
                }
                if torch is not None:
                    tq, tk, tv = (
                        torch.randn(b, h, length, d, device="cuda", dtype=torch.bfloat16, requires_grad=True)
                        for _ in range(3)
                    )
                    tg = torch.randn(b, h, length, d, device="cuda", dtype=torch.bfloat16)

                    def events():
                        return torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)

                    with sdpa_kernel([SDPBackend.FLASH_ATTENTION, SDPBackend.CUDNN_ATTENTION]):
                        sdpa = torch.nn.functional.scaled_dot_product_attention
                        with torch.no_grad():
                            tf = time_ms(lambda: sdpa(tq, tk, tv, is_causal=causal), repeat, events)
                        tfb = time_ms(lambda: sdpa(tq, tk, tv, is_causal=causal).backward(tg), repeat, events)
                    tb = max(tfb - tf, 1e-6)
                    row |= {
                        "torch_fwd_ms": tf,
                        "torch_bwd_ms": tb,
                        "torch_fwd_tflops": flops / tf / 1e9,
                        "torch_bwd_tflops": 2.5 * flops / tb / 1e9,
                    }
                row["ours_fwd_peak_share"] = row["ours_fwd_tflops"] * 1e12 / BF16_PEAK
                row["ours_bwd_peak_share"] = row["ours_bwd_tflops"] * 1e12 / BF16_PEAK
                rows.append(row)
                tfw, tbw = row.get("torch_fwd_tflops", float("nan")), row.get("torch_bwd_tflops", float("nan"))
                print(
                    f"{length:5d} {d:4d} {causal!s:6s} {row['ours_fwd_tflops']:9.1f} {tfw:9.1f} "
                    f"{row['ours_fwd_tflops'] / tfw:6.2f}  {row['ours_bwd_tflops']:9.1f} {tbw:9.1f} "
                    f"{row['ours_bwd_tflops'] / tbw:6.2f}  ({row['ours_fwd_peak_share']:.0%}/"
                    f"{row['ours_bwd_peak_share']:.0%})",
                    flush=True,
                )
                cupy.get_default_memory_pool().free_all_blocks()
    return rows


def pool_bytes_of(fn) -> int:
    """Bytes the memory pool holds after one call of ``fn`` from an empty pool (≈ the call's peak)."""
    pool = cupy.get_default_memory_pool()
    cupy.cuda.get_current_stream().synchronize()
    pool.free_all_blocks()
    base = pool.total_bytes()
    fn()
    cupy.cuda.get_current_stream().synchronize()
    return pool.total_bytes() - base


def fp32_rows(repeat: int) -> list[dict]:
    b, h, d = 4, 16, 64
    rows = []
    print(
        f"\n{'L':>5s} {'simt ms':>9s} {'cupy ms':>9s} {'speed-up':>8s} {'simt MB':>9s} {'cupy MB':>9s}  (FP32, B=4 H=16 D=64)"
    )
    for length in (1024, 2048, 4096):
        q, k, v = (cupy.random.standard_normal((b * h, length, d), dtype=cupy.float32) for _ in range(3))
        scale = d**-0.5
        ours = lambda: cuda_flash.simt_forward(q, k, v, scale=scale)  # noqa: E731
        ref = lambda: reference.attention_forward(q, k, v, scale=scale)  # noqa: E731
        t_ours, t_ref = time_ms(ours, repeat, cupy_events), time_ms(ref, repeat, cupy_events)
        m_ours, m_ref = pool_bytes_of(ours), pool_bytes_of(ref)
        flops = forward_flops(b, h, length, d, False)
        rows.append(
            {
                "B": b,
                "H": h,
                "L": length,
                "D": d,
                "simt_ms": t_ours,
                "cupy_reference_ms": t_ref,
                "speedup": t_ref / t_ours,
                "simt_tflops": flops / t_ours / 1e9,
                "simt_peak_bytes": m_ours,
                "cupy_reference_peak_bytes": m_ref,
            }
        )
        print(
            f"{length:5d} {t_ours:9.2f} {t_ref:9.2f} {t_ref / t_ours:8.2f} {m_ours / 2**20:9.1f} {m_ref / 2**20:9.1f}",
            flush=True,
        )
        cupy.get_default_memory_pool().free_all_blocks()
    return rows


def plot(rows: list[dict], path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
    for ax, phase in zip(axes, ("fwd", "bwd"), strict=True):
        for d in (64, 128):
            for causal in (False, True):
                sel = [r for r in rows if r["D"] == d and r["causal"] == causal]
                lengths = [r["L"] for r in sel]
                style = "--" if causal else "-"
                ax.plot(
                    lengths,
                    [r[f"ours_{phase}_tflops"] for r in sel],
                    style + "o",
                    label=f"flash_mma D{d}{' c' * causal}",
                )
                if sel and f"torch_{phase}_tflops" in sel[0]:
                    ax.plot(
                        lengths,
                        [r[f"torch_{phase}_tflops"] for r in sel],
                        style + "x",
                        label=f"torch D{d}{' c' * causal}",
                    )
        ax.set_xscale("log", base=2)
        ax.set_xlabel("sequence length L (B=4, H=16)")
        ax.set_title(f"BF16 {phase}")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("TFLOP/s")
    axes[1].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    print("plot:", path)


def sanitizer_run() -> None:
    """Each kernel once on small awkward shapes (Lq ≠ Lk, tails, causal, masks, GQA, dropout): for
    compute-sanitizer's memcheck and racecheck, which slow kernels down a thousandfold."""
    rng = np.random.default_rng(0)
    for element in ("float32", "bfloat16", "float16"):
        forward, backward = (
            (cuda_flash.simt_forward, cuda_flash.simt_backward)
            if element == "float32"
            else (cuda_flash.mma_forward, cuda_flash.mma_backward)
        )
        for lq, lk, causal, hq, hkv, masked, p in ((70, 33, True, 4, 2, False, 0.2), (33, 130, False, 2, 2, True, 0.0)):
            x = [
                cupy.asarray(rng.standard_normal((1, h, n, 64)).astype(np.float32))
                for h, n in ((hq, lq), (hkv, lk), (hkv, lk))
            ]
            q, k, v = (to_bfloat16_bits(a) for a in x) if element == "bfloat16" else (a.astype(element) for a in x)
            mask = cupy.asarray(rng.random((1, 1, 1, lk)) > 0.3) if masked else None
            out, lse = forward(q, k, v, mask=mask, is_causal=causal, scale=0.125, dropout_p=p, seed=1)
            backward(q, k, v, out, out, lse, mask=mask, is_causal=causal, scale=0.125, dropout_p=p, seed=1)
    cupy.cuda.get_current_stream().synchronize()
    print("sanitizer run: done")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lengths", type=int, nargs="+", default=[1024, 4096, 8192])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--json", help="write the results here")
    parser.add_argument("--plot", help="write a PNG of TFLOP/s against L here")
    parser.add_argument("--skip-fp32", action="store_true")
    parser.add_argument("--sanitizer-run", action="store_true", help="only run each kernel once on small shapes")
    args = parser.parse_args()
    if args.sanitizer_run:
        sanitizer_run()
        return
    props = cupy.cuda.runtime.getDeviceProperties(0)
    device = props["name"].decode()
    print("device:", device)
    results = {
        "device": device,
        "python": platform.python_version(),
        "cupy": cupy.__version__,
        "cuda_runtime": cupy.cuda.runtime.runtimeGetVersion(),
        "bf16_peak_flops": BF16_PEAK,
    }

    def save() -> None:  # after each part: a stage cut short by its time limit keeps what it measured
        if args.json:
            with open(args.json, "w") as f:
                json.dump(results, f, indent=2)

    results["bf16"] = bf16 = bf16_rows(args.lengths, args.repeat)
    save()
    results["fp32"] = [] if args.skip_fp32 else fp32_rows(args.repeat)
    save()
    if args.plot:
        try:
            plot(bf16, args.plot)
        except ImportError as exc:
            print("no plot:", exc)


if __name__ == "__main__":
    main()
