"""One training step (forward, backward, Adam) on cuda: glassgrad against PyTorch on the same GPU.

    python benchmarks/gpu/bench_train_step.py [--json out.json] [--steps 20]

Models: the 784-1024-1024-10 MLP at batch 4096, and mnist-cnn at batch 64.
Each step is timed with CUDA events around it (median of --steps after warm-up),
and with a synchronize-bracketed wall clock, which also counts Python overhead.
"""

from __future__ import annotations

import argparse
import json
import time

import cupy
import numpy as np

import glassgrad as gg
import glassgrad.nn as nn
import glassgrad.nn.functional as F
from glassgrad import optim


def mlp_layers(nn) -> list:
    """784-1024-1024-10 with ReLU, from either library's ``nn``."""
    return [nn.Linear(784, 1024), nn.ReLU(), nn.Linear(1024, 1024), nn.ReLU(), nn.Linear(1024, 10)]


def cnn_layers(nn) -> list:
    """mnist-cnn, from either library's ``nn``."""
    return [
        nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(64, 64, 3), nn.ReLU(), nn.Flatten(),
        nn.Linear(576, 64), nn.ReLU(), nn.Linear(64, 10),
    ]  # fmt: skip


MODELS = {"mlp-784-1024-1024-10": (mlp_layers, (4096, 784)), "mnist-cnn": (cnn_layers, (64, 1, 28, 28))}


def measure(step, sync, event_pair, steps: int, warmup: int = 3) -> tuple[float, float]:
    """(median ms by events, median ms by synchronized wall clock)."""
    for _ in range(warmup):
        step()
    sync()
    events, walls = [], []
    for _ in range(steps):
        start, stop = event_pair()
        t0 = time.perf_counter()
        start.record()
        step()
        stop.record()
        stop.synchronize()
        walls.append((time.perf_counter() - t0) * 1e3)
        events.append(
            start.elapsed_time(stop) if hasattr(start, "elapsed_time") else cupy.cuda.get_elapsed_time(start, stop)
        )
    return float(np.median(events)), float(np.median(walls))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--json")
    args = parser.parse_args()
    rows = []
    rng = np.random.default_rng(0)
    for name, (layers, shape) in MODELS.items():
        x_np = rng.standard_normal(shape).astype(np.float32)
        y_np = rng.integers(0, 10, shape[0]).astype(np.int64)
        model = nn.Sequential(*layers(nn)).to("cuda")
        opt = optim.Adam(model.parameters(), lr=1e-3)
        x, y = gg.tensor(x_np, device="cuda"), gg.tensor(y_np, device="cuda")

        def step(model=model, opt=opt, x=x, y=y) -> None:
            opt.zero_grad()
            F.cross_entropy(model(x), y).backward()
            opt.step()

        ev, wall = measure(
            step, cupy.cuda.Device().synchronize, lambda: (cupy.cuda.Event(), cupy.cuda.Event()), args.steps
        )
        row = dict(model=name, batch=shape[0], glassgrad_ms_events=ev, glassgrad_ms_wall=wall)
        try:
            import torch

            tmodel = torch.nn.Sequential(*layers(torch.nn)).cuda()
            topt = torch.optim.Adam(tmodel.parameters(), lr=1e-3)
            tx, ty = torch.from_numpy(x_np).cuda(), torch.from_numpy(y_np).cuda()

            def tstep(model=tmodel, opt=topt, x=tx, y=ty) -> None:
                opt.zero_grad()
                torch.nn.functional.cross_entropy(model(x), y).backward()
                opt.step()

            tev, twall = measure(
                tstep,
                torch.cuda.synchronize,
                lambda: (torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)),
                args.steps,
            )
            row.update(
                torch_ms_events=tev, torch_ms_wall=twall, torch_version=torch.__version__, glassgrad_over_torch=ev / tev
            )
        except Exception as exc:  # report and go on without the PyTorch column
            row["torch_error"] = repr(exc)
        rows.append(row)
        print(json.dumps(row))
    if args.json:
        props = cupy.cuda.runtime.getDeviceProperties(cupy.cuda.Device().id)
        meta = dict(
            device=props["name"].decode(),
            cupy=cupy.__version__,
            steps=args.steps,
            timing="median over steps; events bracket one step, wall = perf_counter with stop.synchronize()",
        )
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(dict(meta=meta, rows=rows), f, indent=1)


if __name__ == "__main__":
    main()
