"""How the CPU thread pools are set up, measured: the figures behind glassgrad/cpu_threads.py.

(a) numba's threading layer: one mnist-cnn epoch (4,000 offline images, batch 64,
    Adam) in a fresh process per layer (a process cannot switch layers), with
    OpenBLAS left at its default spin (OPENBLAS_THREAD_TIMEOUT=28);
(b) OpenBLAS's spin before an idle thread sleeps (2^t cycles): one mnist-cnn
    epoch and 100 steps of the 784-256-256-10 MLP in one process, switching t
    through OpenBLAS's own ``openblas_read_env``/``blas_thread_shutdown_``
    between runs, the settings taking turns; best (and median) of ``--rounds``.
Prints two tables and writes benchmarks/results/cpu_threads.json.

    python benchmarks/bench_cpu_threads.py [--rounds 4]
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from bench_training import time_glassgrad

RESULTS = Path(__file__).parent / "results"
LAYERS = ("omp", "workqueue", "tbb")
SPINS = (4, 16, 20, 28)


def workloads() -> tuple[list, list]:
    """mnist-cnn's batches and the MLP's (the same images, flattened), as NumPy arrays."""
    from glassgrad.recipes.common import mnist_datasets

    train, _ = mnist_datasets(None, normalize=True)
    images, labels = (t.numpy() for t in train.tensors)
    cnn = [(images[i : i + 64], labels[i : i + 64]) for i in range(0, len(images), 64)]
    return cnn, [(x.reshape(len(x), -1), y) for x, y in cnn]


def mlp():  # a glassgrad Sequential
    from glassgrad import nn

    return nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10))


def one_epoch() -> float:
    """Best of two mnist-cnn epochs after a warm-up (run in the child process of part a)."""
    from glassgrad.recipes import mnist_cnn

    cnn, _ = workloads()
    time_glassgrad(mnist_cnn.build_model(), cnn, 3)
    return min(time_glassgrad(mnist_cnn.build_model(), cnn, len(cnn)) for _ in range(2))


def layer_rows() -> list[dict]:
    rows = []
    for layer in LAYERS:
        env = os.environ | {"NUMBA_THREADING_LAYER": layer, "OPENBLAS_THREAD_TIMEOUT": "28"}
        done = subprocess.run(
            [sys.executable, __file__, "--epoch-only"], env=env, capture_output=True, text=True, check=True
        )
        rows.append({"numba_layer": layer, "mnist_cnn_epoch_s": float(done.stdout.split()[-1])})
        print(f"{layer:10s} {rows[-1]['mnist_cnn_epoch_s']:8.2f} s")
    return rows


def spin_rows(rounds: int) -> list[dict]:
    from glassgrad.cpu_threads import loaded_openblas_paths
    from glassgrad.recipes import mnist_cnn

    libraries = [ctypes.CDLL(path) for path in loaded_openblas_paths()]
    if not libraries:
        raise SystemExit("bench_cpu_threads: no OpenBLAS loaded in this process (part b needs one)")

    def set_spin(t: int) -> None:
        os.environ["OPENBLAS_THREAD_TIMEOUT"] = str(t)
        for library in libraries:
            library.openblas_read_env()
            library.blas_thread_shutdown_()

    cnn, flat = workloads()
    time_glassgrad(mnist_cnn.build_model(), cnn, 3)
    times: dict[int, list[tuple[float, float]]] = {t: [] for t in SPINS}
    for _ in range(rounds):
        for t in SPINS:
            set_spin(t)
            time_glassgrad(mlp(), flat, 5)
            times[t].append((time_glassgrad(mnist_cnn.build_model(), cnn, len(cnn)), time_glassgrad(mlp(), flat, 100)))
    rows = []
    for t, runs in times.items():
        cnn_s, mlp_s = (np.array(column) for column in zip(*runs, strict=True))
        row = {"spin_log2_cycles": t, "cnn_best_s": cnn_s.min(), "cnn_median_s": float(np.median(cnn_s))}
        row |= {"mlp_best_s": mlp_s.min(), "mlp_median_s": float(np.median(mlp_s))}
        rows.append({k: float(v) for k, v in row.items()})
        print(
            f"2^{t:<3d} {row['cnn_best_s']:8.2f} {row['cnn_median_s']:8.2f} {row['mlp_best_s']:8.3f} {row['mlp_median_s']:8.3f}"
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--epoch-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.epoch_only:
        print(one_epoch())
        return
    from glassgrad.kernels.harness import machine_info

    print("(a) numba threading layer, OpenBLAS spin 2^28: one mnist-cnn epoch")
    layers = layer_rows()
    print(f"\n(b) OpenBLAS spin, best and median of {args.rounds}: mnist-cnn epoch (s), MLP 100 steps (s)")
    spins = spin_rows(args.rounds)
    RESULTS.mkdir(exist_ok=True)
    result = {"machine": machine_info("cpu"), "command": "python benchmarks/bench_cpu_threads.py"}
    (RESULTS / "cpu_threads.json").write_text(
        json.dumps(result | {"numba_layers": layers, "openblas_spin": spins}, indent=1) + "\n"
    )
    print(f"\nwrote {RESULTS / 'cpu_threads.json'}")


if __name__ == "__main__":
    main()
