"""Training speed, glassgrad vs PyTorch on the CPU, side by side in one run.

Timed workloads (same model, same initial weights, same batches, Adam lr 1e-3):
  * mnist-cnn: one epoch over the 4,000 offline training images, batch 64 (63 steps);
  * mlp: 100 steps of the 784-256-256-10 ReLU MLP, batch 64, cross-entropy.
Both libraries run on ``--threads`` threads (numba's and PyTorch's). Each is warmed
up first (numba compiles its kernels on first use) and timed as the best of
``--repeats`` runs, the two libraries' runs interleaved. Prints a table and writes benchmarks/results/training_cpu.json.

``--accuracy`` also trains the mnist-cnn recipe for 5 epochs once per seed (``--seeds``,
default 0-4) and records its test accuracy per epoch in benchmarks/results/training_mnist_cnn.json.

    python benchmarks/bench_training.py [--threads 2] [--repeats 3] [--accuracy]
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).parent / "results"


def set_threads(threads: int) -> None:
    """Pin the thread counts before numba/numpy/torch start their pools."""
    for var in ("NUMBA_NUM_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(threads)


def torch_twin(model, torch):
    """A torch.nn.Sequential with the layers and weights of a glassgrad Sequential."""
    layers = []
    for layer in model:
        kind = type(layer).__name__
        if kind == "Linear":
            twin = torch.nn.Linear(layer.in_features, layer.out_features)
        elif kind == "Conv2d":
            twin = torch.nn.Conv2d(layer.in_channels, layer.out_channels, layer.kernel_size)
        elif kind == "MaxPool2d":
            twin = torch.nn.MaxPool2d(layer.kernel_size)
        elif kind in ("ReLU", "Flatten"):
            twin = getattr(torch.nn, kind)()
        else:
            raise ValueError(f"torch_twin: no PyTorch twin for layer {kind}")
        layers.append(twin)
    twin = torch.nn.Sequential(*layers)
    twin.load_state_dict({k: torch.tensor(np.array(v.numpy())) for k, v in model.state_dict().items()})
    return twin


def time_glassgrad(model, batches: list, steps: int) -> float:
    import glassgrad as gg

    optimizer = gg.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = gg.nn.CrossEntropyLoss()
    xs = [(gg.tensor(x), gg.tensor(y)) for x, y in batches]
    start = time.perf_counter()
    total = None
    for i in range(steps):
        x, y = xs[i % len(xs)]
        loss = loss_fn(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total = loss.detach() if total is None else total + loss.detach()
    total.item()
    return time.perf_counter() - start


def time_torch(model, batches: list, steps: int, torch) -> float:
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    xs = [(torch.tensor(x), torch.tensor(y)) for x, y in batches]
    start = time.perf_counter()
    total = 0.0
    for i in range(steps):
        x, y = xs[i % len(xs)]
        loss = loss_fn(model(x), y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total = total + loss.detach()
    float(total)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--accuracy", action="store_true", help="also train mnist-cnn for 5 epochs per seed")
    parser.add_argument("--seeds", default="0,1,2,3,4", help="seeds of the --accuracy runs (comma-separated)")
    args = parser.parse_args()
    set_threads(args.threads)

    import torch

    import glassgrad as gg
    from glassgrad.recipes import mnist_cnn
    from glassgrad.recipes.common import mnist_datasets

    torch.set_num_threads(args.threads)
    train, _ = mnist_datasets(None)
    images, labels = (t.numpy() for t in train.tensors)
    cnn_batches = [(images[i : i + 64], labels[i : i + 64]) for i in range(0, len(images), 64)]
    mlp_batches = [(x.reshape(len(x), -1), y) for x, y in cnn_batches]

    def mlp() -> gg.nn.Sequential:
        nn = gg.nn
        return nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10))

    workloads = [
        ("mnist-cnn, 1 epoch (4,000 images, batch 64)", mnist_cnn.build_model, cnn_batches, len(cnn_batches)),
        ("mlp 784-256-256-10, 100 steps (batch 64)", mlp, mlp_batches, 100),
    ]
    rows = []
    for name, build, batches, steps in workloads:
        gg.manual_seed(0)
        time_glassgrad(build(), batches, 3)  # warm-up: numba compiles here
        time_torch(torch_twin(build(), torch), batches, 3, torch)
        runs = []  # interleaved, so that both libraries see the same load on a shared machine
        for _ in range(args.repeats):
            runs.append(
                (time_glassgrad(build(), batches, steps), time_torch(torch_twin(build(), torch), batches, steps, torch))
            )
        t_gg, t_torch = (min(column) for column in zip(*runs, strict=True))
        rows.append(
            {"workload": name, "steps": steps, "glassgrad_s": t_gg, "torch_s": t_torch, "ratio": t_gg / t_torch}
        )

    print(f"\nTraining on the CPU, {args.threads} threads, best of {args.repeats}\n")
    print(f"{'workload':<46} {'glassgrad':>10} {'PyTorch':>10} {'ratio':>7}")
    for r in rows:
        print(f"{r['workload']:<46} {r['glassgrad_s']:>9.2f}s {r['torch_s']:>9.2f}s {r['ratio']:>6.2f}×")
    meta = {
        "date": datetime.date.today().isoformat(),
        "machine": platform.machine(),
        "processor": platform.processor() or platform.platform(),
        "cpu_count": os.cpu_count(),
        "threads": args.threads,
        "repeats": args.repeats,
        "numpy": np.__version__,
        "torch": torch.__version__,
        "glassgrad": gg.__version__,
        "optimizer": "Adam lr 1e-3",
        "target": "ratio <= 2",
    }
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "training_cpu.json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=1) + "\n")
    print(f"\nwrote {RESULTS / 'training_cpu.json'}")
    if args.accuracy:
        record_accuracy(meta, [int(seed) for seed in args.seeds.split(",")])


def record_accuracy(meta: dict, seeds: list[int]) -> None:
    """Train the mnist-cnn recipe with its own defaults (5 epochs, Adam, batch 64) once per seed
    and record the test accuracy per epoch of every run."""
    import tempfile

    import glassgrad as gg
    from glassgrad.recipes import get_recipe
    from glassgrad.training import Trainer

    recipe = get_recipe("mnist-cnn")
    runs = []
    for seed in seeds:
        config = recipe.config(seed=seed)
        gg.manual_seed(config.seed)
        with tempfile.TemporaryDirectory() as out:
            summary = Trainer(recipe.build(config), config, out, title="mnist-cnn", progress=False).fit()
            rows = json.loads((Path(out) / "metrics.json").read_text())
        runs.append({"seed": seed, "epochs": rows, "seconds": summary.seconds})
        print(f"mnist-cnn, seed {seed}, {len(rows)} epochs: test accuracy {summary.final['test_accuracy']:.2%}")
    recipe_meta = {
        "recipe": "mnist-cnn",
        "data": "offline MNIST 4,000 train / 1,000 test",
        "optimizer": f"{config.optimizer}, lr warm-up to {config.lr} over 20% of the steps, then cosine to 0",
        "target": "test accuracy >= 96% within 5 epochs",
    }
    finals = [run["epochs"][-1]["test_accuracy"] for run in runs]
    result = {"meta": meta | recipe_meta, "final_test_accuracy": dict(zip(seeds, finals, strict=True)), "runs": runs}
    (RESULTS / "training_mnist_cnn.json").write_text(json.dumps(result, indent=1) + "\n")
    print(f"lowest final test accuracy over seeds {seeds}: {min(finals):.2%}")
    print(f"wrote {RESULTS / 'training_mnist_cnn.json'}")


if __name__ == "__main__":
    main()
