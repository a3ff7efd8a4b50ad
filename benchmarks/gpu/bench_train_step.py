"""Training steps on cuda, glassgrad against PyTorch on the same GPU; JSON rows per measurement.

    python benchmarks/gpu/bench_train_step.py --section steps   [--json out.json] [--steps 20]
    python benchmarks/gpu/bench_train_step.py --section gpt     [--json out.json] [--gpt-steps 5] [--gpt-batch 8]
    python benchmarks/gpu/bench_train_step.py --section recipes [--json out.json] [--out DIR]

steps: one step (forward, cross-entropy, backward, Adam) of the 784-1024-1024-10 MLP at batch
  4096 and of mnist-cnn at batch 64, each way: glassgrad eager (optim.Adam, one kernel op per
  parameter), glassgrad eager with the multi-tensor step (glassgrad.cuda.optimizer), glassgrad
  captured as a CUDA graph (glassgrad.cuda.graphs.GraphedStep), PyTorch eager (its default
  Adam, the foreach multi-tensor one on CUDA) and PyTorch captured (torch.cuda.graph with
  Adam(capturable=True)). Median of --steps steps after 3 warm-up steps (the glassgrad graph
  captures on the 4th), timed by CUDA events around each step, and by a synchronize-bracketed
  wall clock, which also counts the host's Python.
gpt: a GPT-2 small step (12 layers, d = 768, 12 heads, T = 1024, batch 8; AdamW) in BF16 autocast
  when the library takes it, else FP32 (the row says which), with tokens/s and MFU: model FLOPs
  per token 6·N + 12·L·T·d (N the parameters but the position embedding; the tied head counts,
  as its matmul runs) over the time, against the peak measured here (a bf16 8192³ matmul by
  PyTorch, else an fp32 one by CuPy). A batch that runs out of memory is halved (the row says).
recipes: ``python -m glassgrad train mnist-cnn --device cuda`` (eager and --cuda-graph) and
  ``train gpt --device cuda`` on a 200,000-character corpus cut from Python's own docs, one epoch
  each, with wall time and the final losses/accuracy.

Nothing here has run on a GPU yet (written without one).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
WARMUP = 3
_OUTPUT: dict = {"path": None, "meta": {}, "rows": []}


def emit(row: dict) -> None:
    """Print ``row`` and rewrite the JSON file with every row so far (a stage cut by its timeout keeps them)."""
    print(json.dumps({k: v for k, v in row.items() if k != "tail"}), flush=True)
    _OUTPUT["rows"].append(row)
    if _OUTPUT["path"]:
        Path(_OUTPUT["path"]).write_text(json.dumps(dict(meta=_OUTPUT["meta"], rows=_OUTPUT["rows"]), indent=1))


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


def measure(step, sync, event_pair, steps: int, warmup: int = WARMUP) -> dict[str, float]:
    """Median ms per step by CUDA events and by a synchronized wall clock, after ``warmup`` steps."""
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
        events.append(start.elapsed_time(stop) if hasattr(start, "elapsed_time") else _cupy_elapsed(start, stop))
    return {"ms_events": float(np.median(events)), "ms_wall": float(np.median(walls))}


def _cupy_elapsed(start, stop) -> float:
    import cupy

    return cupy.cuda.get_elapsed_time(start, stop)


def _gg_timing():
    import cupy

    return cupy.cuda.Device().synchronize, lambda: (cupy.cuda.Event(), cupy.cuda.Event())


def _torch_timing():
    import torch

    return torch.cuda.synchronize, lambda: (torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True))


# ------------------------------------------------------------------ steps
def glassgrad_steps(name: str, x_np, y_np, steps: int) -> list[dict]:
    import glassgrad as gg
    import glassgrad.nn as nn
    import glassgrad.nn.functional as F
    from glassgrad import optim
    from glassgrad.cuda.graphs import GraphedStep
    from glassgrad.cuda.optimizer import MultiTensorStep

    layers, _ = MODELS[name]
    rows = []
    sync, events = _gg_timing()
    for mode in ("eager", "eager_multi_tensor", "cuda_graph"):
        gg.manual_seed(0)
        model = nn.Sequential(*layers(nn)).to("cuda")
        opt = optim.Adam(model.parameters(), lr=1e-3)
        stepper = opt if mode == "eager" else MultiTensorStep(opt)
        x, y = gg.tensor(x_np, device="cuda"), gg.tensor(y_np, device="cuda")

        def body(x, y, model=model, opt=opt, stepper=stepper):
            opt.zero_grad()
            loss = F.cross_entropy(model(x), y)
            loss.backward()
            stepper.step()
            return loss.detach()

        if mode == "cuda_graph":
            graphed = GraphedStep(body, warmup=WARMUP, before_replay=[stepper.refresh])

            def step(graphed=graphed, x=x, y=y):
                return graphed(x, y)

        else:

            def step(body=body, x=x, y=y):
                return body(x, y)

        try:
            row = measure(step, sync, events, steps, warmup=WARMUP + 1)
            row["loss_after"] = float(step().item())
        except Exception as exc:  # report and go on with the other modes
            row = {"error": repr(exc)[:500]}
        rows.append({"library": "glassgrad", "mode": mode, **row})
    return rows


def torch_steps(name: str, x_np, y_np, steps: int) -> list[dict]:
    import torch

    layers, _ = MODELS[name]
    rows = []
    sync, events = _torch_timing()
    for mode in ("eager", "cuda_graph"):
        try:
            torch.manual_seed(0)
            model = torch.nn.Sequential(*layers(torch.nn)).cuda()
            capturable = mode == "cuda_graph"
            opt = torch.optim.Adam(model.parameters(), lr=1e-3, capturable=capturable)
            x, y = torch.from_numpy(x_np).cuda(), torch.from_numpy(y_np).cuda()

            def body(model=model, opt=opt, x=x, y=y):
                opt.zero_grad(set_to_none=True)
                loss = torch.nn.functional.cross_entropy(model(x), y)
                loss.backward()
                opt.step()
                return loss.detach()

            step = body
            if capturable:  # PyTorch's whole-network capture: warm up on a side stream, then capture
                side = torch.cuda.Stream()
                side.wait_stream(torch.cuda.current_stream())
                with torch.cuda.stream(side):
                    for _ in range(WARMUP):
                        body()
                torch.cuda.current_stream().wait_stream(side)
                graph = torch.cuda.CUDAGraph()
                opt.zero_grad(set_to_none=True)
                with torch.cuda.graph(graph):
                    static_loss = body()

                def step(graph=graph, static_loss=static_loss):
                    graph.replay()
                    return static_loss

            row = measure(step, sync, events, steps)
            row["loss_after"] = float(step().item())
            row["torch_version"] = torch.__version__
        except Exception as exc:
            row = {"error": repr(exc)[:500]}
        rows.append({"library": "torch", "mode": mode, **row})
    return rows


def section_steps(args) -> list[dict]:
    rows = []
    rng = np.random.default_rng(0)
    for name, (_, shape) in MODELS.items():
        x_np = rng.standard_normal(shape).astype(np.float32)
        y_np = rng.integers(0, 10, shape[0]).astype(np.int64)
        found = glassgrad_steps(name, x_np, y_np, args.steps)
        try:
            found += torch_steps(name, x_np, y_np, args.steps)
        except ImportError as exc:
            found.append({"library": "torch", "error": repr(exc)})
        torch_eager = next((r.get("ms_events") for r in found if r.get("library") == "torch" and r.get("mode") == "eager"), None)  # fmt: skip
        for r in found:
            r.update(model=name, batch=shape[0])
            if torch_eager and "ms_events" in r:
                r["over_torch_eager"] = r["ms_events"] / torch_eager
            emit(r)
        rows += found
    return rows


# -------------------------------------------------------------------- gpt
N_LAYER, N_EMBD, N_HEAD, T, VOCAB = 12, 768, 12, 1024, 50257


def model_flops_per_token(n_params: int) -> float:
    """6·N + 12·L·T·d (the forward and backward of every matmul, and of attention's QKᵀ and AV)."""
    return 6.0 * n_params + 12.0 * N_LAYER * T * N_EMBD


def measured_peak_tflops() -> dict:
    """The matmul rate of this GPU: bf16 8192³ by PyTorch when present, else fp32 by CuPy."""
    n = 8192
    try:
        import torch

        a = torch.randn(n, n, device="cuda", dtype=torch.bfloat16)
        b = torch.randn(n, n, device="cuda", dtype=torch.bfloat16)
        run, sync, what = (lambda: a @ b), torch.cuda.synchronize, "torch bf16 matmul 8192^3"
    except Exception:
        import cupy

        a = cupy.random.standard_normal((n, n), dtype=cupy.float32)
        b = cupy.random.standard_normal((n, n), dtype=cupy.float32)
        run, sync, what = (lambda: a @ b), cupy.cuda.Device().synchronize, "cupy fp32 matmul 8192^3"
    for _ in range(3):
        run()
    sync()
    t0 = time.perf_counter()
    for _ in range(10):
        run()
    sync()
    seconds = (time.perf_counter() - t0) / 10
    return {"peak_tflops": 2 * n**3 / seconds / 1e12, "peak_source": what}


def glassgrad_gpt(batch: int, steps: int) -> dict:
    import cupy

    import glassgrad as gg
    import glassgrad.nn.functional as F
    from glassgrad import optim
    from glassgrad.models.gpt2 import GPT2Config, GPT2LMHeadModel

    config = GPT2Config(vocab_size=VOCAB, n_positions=T, n_embd=N_EMBD, n_layer=N_LAYER, n_head=N_HEAD,
                        embd_pdrop=0.0, attn_pdrop=0.0, resid_pdrop=0.0)  # fmt: skip
    gg.manual_seed(0)
    model = GPT2LMHeadModel(config).to("cuda")
    opt = optim.AdamW(model.parameters(), lr=3e-4)
    n_params = model.num_parameters() - N_EMBD * T  # the position embedding is a lookup
    while True:
        rng = np.random.default_rng(0)
        ids = gg.tensor(rng.integers(0, VOCAB, (batch, T + 1)), device="cuda")
        x, y = ids[:, :-1], ids[:, 1:]
        for precision in ("bf16", "fp32"):
            region = (lambda: gg.autocast("cuda", dtype=gg.bfloat16)) if precision == "bf16" else None

            def step(x=x, y=y, region=region):
                opt.zero_grad()
                if region is None:
                    logits = model(x)
                else:
                    with region():
                        logits = model(x)
                loss = F.cross_entropy(logits.reshape(-1, VOCAB).float(), y.reshape(-1))
                loss.backward()
                opt.step()
                return loss

            try:
                sync, events = _gg_timing()
                row = measure(step, sync, events, steps, warmup=2)
                row.update(precision=precision, batch=batch, n_params=n_params)
                return row
            except cupy.cuda.memory.OutOfMemoryError:
                break  # a smaller batch
            except Exception as exc:  # bf16 not taken: FP32
                if precision == "fp32":
                    return {"error": repr(exc)[:500], "batch": batch}
                bf16_error = repr(exc)[:300]
                print(f"glassgrad gpt bf16 failed ({bf16_error}); FP32", flush=True)
        cupy.get_default_memory_pool().free_all_blocks()
        if batch == 1:
            return {"error": "out of memory at batch 1"}
        batch //= 2


class TorchGPT:
    """GPT-2 small in PyTorch (pre-LN blocks, SDPA causal attention, tanh GELU, tied head)."""

    @staticmethod
    def build():
        import torch
        from torch import nn

        class Block(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.ln_1, self.ln_2 = nn.LayerNorm(N_EMBD), nn.LayerNorm(N_EMBD)
                self.attn, self.proj = nn.Linear(N_EMBD, 3 * N_EMBD), nn.Linear(N_EMBD, N_EMBD)
                self.fc, self.fc_proj = nn.Linear(N_EMBD, 4 * N_EMBD), nn.Linear(4 * N_EMBD, N_EMBD)

            def forward(self, x):
                b, t, _ = x.shape
                q, k, v = self.attn(self.ln_1(x)).split(N_EMBD, dim=2)
                q, k, v = (z.view(b, t, N_HEAD, N_EMBD // N_HEAD).transpose(1, 2) for z in (q, k, v))
                a = torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)
                x = x + self.proj(a.transpose(1, 2).reshape(b, t, N_EMBD))
                return x + self.fc_proj(torch.nn.functional.gelu(self.fc(self.ln_2(x)), approximate="tanh"))

        class GPT(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.wte, self.wpe = nn.Embedding(VOCAB, N_EMBD), nn.Embedding(T, N_EMBD)
                self.blocks = nn.ModuleList(Block() for _ in range(N_LAYER))
                self.ln_f = nn.LayerNorm(N_EMBD)

            def forward(self, idx):
                x = self.wte(idx) + self.wpe(torch.arange(idx.shape[1], device=idx.device))
                for block in self.blocks:
                    x = block(x)
                return self.ln_f(x) @ self.wte.weight.T

        return GPT().cuda()


def torch_gpt(batch: int, steps: int) -> dict:
    import torch

    torch.manual_seed(0)
    model = TorchGPT.build()
    opt = torch.optim.AdamW(model.parameters(), lr=3e-4)
    n_params = sum(p.numel() for p in model.parameters()) - N_EMBD * T
    ids = torch.randint(0, VOCAB, (batch, T + 1), device="cuda")
    x, y = ids[:, :-1], ids[:, 1:]
    bf16 = torch.cuda.is_bf16_supported()

    def step():
        opt.zero_grad(set_to_none=True)
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=bf16):
            logits = model(x)
        loss = torch.nn.functional.cross_entropy(logits.float().reshape(-1, VOCAB), y.reshape(-1))
        loss.backward()
        opt.step()
        return loss

    sync, events = _torch_timing()
    row = measure(step, sync, events, steps, warmup=2)
    row.update(precision="bf16" if bf16 else "fp32", batch=batch, n_params=n_params, torch_version=torch.__version__)
    return row


def section_gpt(args) -> list[dict]:
    peak = measured_peak_tflops()
    emit(dict(peak))
    rows = []
    for library, run in (("torch", torch_gpt), ("glassgrad", glassgrad_gpt)):  # PyTorch first: it is quick
        try:
            row = run(args.gpt_batch, args.gpt_steps)
        except Exception as exc:
            row = {"error": repr(exc)[:500]}
        row.update(library=library, model="gpt2-small 12x768x12, T=1024", **peak)
        if "ms_events" in row:
            tokens = row["batch"] * T
            row["tokens_per_s"] = tokens / (row["ms_events"] / 1e3)
            row["model_tflops"] = model_flops_per_token(row["n_params"]) * row["tokens_per_s"] / 1e12
            row["mfu"] = row["model_tflops"] / peak["peak_tflops"]
            if row["batch"] != args.gpt_batch:
                row["note"] = f"batch shrunk from {args.gpt_batch} to {row['batch']} (out of memory)"
        if library == "glassgrad" and "tokens_per_s" in row and "tokens_per_s" in rows[0]:
            row["torch_tokens_per_s_over_glassgrad"] = rows[0]["tokens_per_s"] / row["tokens_per_s"]
        emit(row)
        rows.append(row)
    return rows


# ---------------------------------------------------------------- recipes
def _corpus(out: Path) -> Path:
    """200,000 characters of Python's own documentation (pydoc_data), as one .txt file."""
    from pydoc_data.topics import topics

    text = "\n\n".join(topics[k] for k in sorted(topics))[:200_000]
    path = out / "corpus" / "pydoc_200k.txt"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path.parent


def _last(pattern: str, text: str) -> float | None:
    found = re.findall(pattern, text)
    return float(found[-1]) if found else None


def section_recipes(args) -> list[dict]:
    out = Path(args.out)
    runs = [
        ("mnist-cnn", []),
        ("mnist-cnn", ["--cuda-graph"]),
        ("gpt", ["--data-dir", str(_corpus(out))]),
    ]
    rows = []
    for recipe, extra in runs:
        label = recipe + ("-cuda-graph" if "--cuda-graph" in extra else "")
        cmd = [sys.executable, "-m", "glassgrad", "train", recipe, "--device", "cuda", "--epochs", "1", "--no-progress",
               "--overwrite", "--out", str(out / label), *extra]  # fmt: skip
        t0 = time.perf_counter()
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=args.recipe_timeout, cwd=ROOT)
            text, code = done.stdout + done.stderr, done.returncode
        except subprocess.TimeoutExpired as exc:
            text, code = f"timed out after {args.recipe_timeout} s: {exc.stdout or ''}", None
        row = {
            "recipe": label,
            "command": " ".join(cmd[1:]),
            "exit_code": code,
            "wall_s": time.perf_counter() - t0,
            "train_loss": _last(r"train\s+loss ([\d.e+-]+)", text),
            "test_loss": _last(r"test\s+loss ([\d.e+-]+)", text),
            "test_accuracy": _last(r"accuracy ([\d.]+)", text),
            "tail": text[-1500:],
        }
        emit(row)
        rows.append(row)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--section", choices=("steps", "gpt", "recipes"), default="steps")
    parser.add_argument("--steps", type=int, default=20, help="timed steps per model and mode (median)")
    parser.add_argument("--gpt-steps", type=int, default=5)
    parser.add_argument("--gpt-batch", type=int, default=8)
    parser.add_argument("--recipe-timeout", type=int, default=60, help="seconds per recipe run")
    parser.add_argument("--out", default="benchmarks/results/gpu_run", help="recipes: run directories go here")
    parser.add_argument("--json")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    import cupy

    props = cupy.cuda.runtime.getDeviceProperties(cupy.cuda.Device().id)
    _OUTPUT.update(
        path=args.json,
        meta=dict(
            section=args.section,
            device=props["name"].decode(),
            cupy=cupy.__version__,
            date=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
            timing="median over steps; events bracket one step, wall = perf_counter with stop.synchronize()",
        ),
    )
    {"steps": section_steps, "gpt": section_gpt, "recipes": section_recipes}[args.section](args)


if __name__ == "__main__":
    main()
