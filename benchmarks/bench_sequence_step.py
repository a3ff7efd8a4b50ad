"""Sequence-model training steps against PyTorch, side by side in one run (issue 13's speed table).

    python benchmarks/bench_sequence_step.py [--rows lstm ...] [--json benchmarks/results/sequence_step.json]
                                             [--quick] [--max-retries 3] [--threads 2]

Rows (float32; the same initial weights and data in both libraries, each library's own nn modules):

* ``lstm``: one training step of a 2-layer ``nn.LSTM(512, 512)`` over T=128 steps at batch 32; the input
  is a fixed (128, 32, 512) float32 array of features (no embedding), the loss the mean squared
  difference of the output from a fixed target; forward, loss, backward (every parameter's gradient
  cleared first, no optimizer step).
* ``gpt``: the gpt recipe's model at its batch and block (``gpt_step``).

The machinery is benchmarks/bench_cpu_step.py's (imported, not copied): both libraries at ``--threads``
threads, batches taking turns, best batch of each, the other processes' CPU recorded during every timed
batch and a disturbed row retried (its notes explain why). Both libraries run in this one process (the
rows here are GEMM-bound, where PyTorch's spinning OpenMP threads matter less than in bench_cpu_step's
small-op rows; its ``--isolate`` workers know only its own rows). A row reports tokens/s (T·B tokens
per step) beside the times. To add a row, write ``build(lib, quick) -> step`` (``nn_of(lib)`` gives the
library's ``nn``) and add a ``SequenceRow`` to ``ROWS``.

Notes on the lstm row (2026-12-01; cProfile at 1 thread, where a step repeats well enough to read):

* PyTorch's CPU LSTM is oneDNN's RNN primitive: torch.profiler puts its whole step in
  aten::mkldnn_rnn_layer (~35%) and aten::mkldnn_rnn_layer_backward (~65%).
* The NumPy reference kernels (kernels/recurrent/reference.py: a Python loop, about twenty NumPy
  temporaries per LSTM step): T=32, 1.65-2.2 s a step against PyTorch's 1.2-1.6 s; the gate arithmetic,
  not the GEMMs, was ~0.27 s of each layer's 0.43 s forward.
* The numba variant keeps every GEMM in BLAS (the input projection of all steps before the loop, one
  h·W_hhᵀ and one da·W_hh per step, dL/dW_ih, dL/dW_hh, dL/dx after) and does a step's gate math in one
  kernel. With all four gates in one loop body the forward kernel took 1.3 ms a call at B=32, H=512
  (0.41 s of a 4.9 s T=128 step): not vectorised. Each gate in a contiguous loop of its own (and tanh c_t
  in a loop of its own in the backward): 0.25 ms forward, 0.7 ms backward per call (2-2.5x and 2x).
* σ(a) as ½ + ½·tanh(a/2) (one vectorised tanh, no exp) and contiguous h and c trajectories (one
  compiled array layout per dtype instead of two or three) cut the LSTM forward kernel's first compile
  on the loaded machine from 74 s to 13 s.
* What is left at T=128, 1 thread (2.8 s in a quiet minute, 4.8-5.3 s in busy ones): the weight
  gradients 0.96-1.3 s (five 8.6-GFLOP GEMMs), the input projections 0.3-0.6 s, the 512 per-step GEMMs
  most of the rest, the gate kernels 0.25 s. PyTorch at 1 thread in the same minutes: 4.0-5.0 s.
* At 2 threads this shared 2-core machine (8 sessions, load 2-9) measures the other processes more than
  the code: 128 GEMMs of 32×512 by 512×2048 took 0.19-0.29 s at 1 thread and 1.5-1.6 s at 2 (PyTorch's:
  2.0-3.1 s). The gate kernel parallel or serial made no difference there (1.9-2.1 s against 1.9-2.0 s
  for the GEMM + gate loop). Three full runs of this script, all disturbed (others 72%, 52%, 26% of
  the cores during the kept attempt): lstm 12.37 s / 6.40 s (1.93x), 1.21 s / 0.94 s (1.29x), 1.13 s /
  1.02 s (1.11x; 3630 against 4035 tokens/s). At ``--threads 1`` (others 51%): 1.78 s / 1.96 s (0.91x).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_cpu_step as steps

from glassgrad.kernels import busy
from glassgrad.kernels.harness import machine_info


@dataclass(frozen=True)
class SequenceRow(steps.Row):
    """A row whose step processes ``tokens(quick)`` tokens (T·B), for tokens/s."""

    tokens: Any = None  # (quick) -> tokens per step


def nn_of(lib: steps.Lib) -> Any:
    """The library's ``nn`` package (glassgrad.nn or torch.nn), found from its functional module."""
    return sys.modules[lib.F.__name__.rpartition(".")[0]]


def load_weights(lib: steps.Lib, module: Any, arrays: dict[str, np.ndarray]) -> None:
    """Give ``module`` the weights ``arrays`` (its state_dict's keys) in either library."""
    module.load_state_dict({k: lib.tensor(a) for k, a in arrays.items()})


LSTM_SIZES = {False: (2, 512, 512, 128, 32), True: (2, 16, 16, 8, 2)}  # layers, input, hidden, T, batch


def lstm_step(lib: steps.Lib, quick: bool) -> steps.Step:
    layers, features, hidden, length, batch = LSTM_SIZES[quick]
    model = nn_of(lib).LSTM(features, hidden, layers)
    rng = steps._rng()
    bound = 1 / np.sqrt(hidden)
    arrays = {k: rng.uniform(-bound, bound, tuple(v.shape)).astype(np.float32) for k, v in model.state_dict().items()}
    load_weights(lib, model, arrays)
    params = list(model.parameters())
    x = lib.tensor(rng.standard_normal((length, batch, features)).astype(np.float32))
    target = lib.tensor((0.1 * rng.standard_normal((length, batch, hidden))).astype(np.float32))

    def step() -> Any:
        for p in params:
            p.grad = None
        out, _ = model(x)
        loss = ((out - target) ** 2).mean()
        loss.backward()
        return loss

    return step


GPT_VOCAB = 102  # the characters of text.pydoc_text(), the gpt recipe's default vocabulary


def gpt_sizes(quick: bool) -> tuple[int, int]:
    """(batch, block): the gpt recipe's defaults, or tiny ones for --quick."""
    if quick:
        return 2, 16
    from glassgrad.recipes import get_recipe
    from glassgrad.recipes.gpt import BLOCK_SIZE

    return get_recipe("gpt").defaults.batch_size, BLOCK_SIZE


def gpt_step(lib: steps.Lib, quick: bool) -> steps.Step:
    """The gpt recipe's model (recipes/gpt.py; 2 layers of d 16 for --quick): glassgrad's GPT2LMHeadModel, or
    transformers' GPT2LMHeadModel (sdpa attention) holding the same weights (hf_state_dict: Conv1D layout)."""
    import dataclasses

    import glassgrad as gg
    from glassgrad.models.gpt2 import GPT2LMHeadModel
    from glassgrad.recipes.gpt import BETAS, WEIGHT_DECAY, model_config

    batch, block = gpt_sizes(quick)
    config = dataclasses.replace(model_config(GPT_VOCAB), n_positions=block)
    if quick:
        config = dataclasses.replace(config, n_layer=2, n_embd=16, n_head=2)
    gg.manual_seed(11)
    ours = GPT2LMHeadModel(config)
    if lib.name == "glassgrad":
        model = ours
    else:
        import torch
        from transformers import GPT2Config
        from transformers import GPT2LMHeadModel as HFModel

        settings = dataclasses.asdict(config) | {"bos_token_id": None, "eos_token_id": None}
        model = HFModel(GPT2Config(**settings, attn_implementation="sdpa"))
        model.load_state_dict({k: torch.tensor(a) for k, a in ours.hf_state_dict().items()}, strict=False)
        model.tie_weights()
    model.train()
    optimizer = lib.optim.AdamW(model.parameters(), lr=1e-3, betas=BETAS, weight_decay=WEIGHT_DECAY)
    ids = steps._rng().integers(0, GPT_VOCAB, (batch, block + 1))
    x, y = lib.tensor(ids[:, :-1]), lib.tensor(ids[:, 1:].reshape(-1))

    def step() -> Any:
        optimizer.zero_grad()
        logits = model(x) if lib.name == "glassgrad" else model(x).logits
        loss = lib.F.cross_entropy(logits.reshape(-1, GPT_VOCAB), y)
        loss.backward()
        optimizer.step()
        return loss

    return step


ROWS = {
    row.name: row
    for row in (
        SequenceRow(
            "lstm",
            "2-layer LSTM(512, 512), T=128, batch 32, float32 features in, MSE loss, fwd+bwd",
            1.5,
            lstm_step,
            tokens=lambda quick: LSTM_SIZES[quick][3] * LSTM_SIZES[quick][4],
        ),
        SequenceRow(
            "gpt",
            "the gpt recipe's GPT-2 (4 layers, d 128) at its batch and block, cross-entropy, fwd+bwd+AdamW",
            1.5,
            gpt_step,
            checks=2,
            tokens=lambda quick: gpt_sizes(quick)[0] * gpt_sizes(quick)[1],
        ),
    )
}


def format_table(rows: list[dict[str, Any]]) -> str:
    """bench_cpu_step's table, then tokens/s per row."""
    lines = [steps.format_table(rows), f"{'row':8s} {'ours tok/s':>11s} {'torch tok/s':>11s}"]
    lines += [f"{r['row']:8s} {r['ours_tokens_per_s']:11.0f} {r['torch_tokens_per_s']:11.0f}" for r in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    steps.add_timing_arguments(parser, list(ROWS), "benchmarks/results/sequence_step.json")
    args = parser.parse_args(argv)
    args.isolate, args.processes = False, 1
    args.rounds = args.rounds or (1 if args.quick else 5)
    args.batch_seconds = args.batch_seconds or (0.01 if args.quick else 0.2)
    threads = steps.set_threads(args.threads)
    print(f"threads: {threads}; others' CPU threshold {args.threshold} cores of {busy.CORES}")
    results = []
    for name in args.rows:
        row = ROWS[name]
        r = steps.measure(row, args)
        tokens = row.tokens(args.quick)
        r.update(tokens_per_step=tokens, ours_tokens_per_s=tokens / r["ours_ms"] * 1e3)
        r["torch_tokens_per_s"] = tokens / r["torch_ms"] * 1e3
        results.append(r)
        print(f"  {name}: {r['ratio']:.2f}x ({r['ours_ms']:.1f} / {r['torch_ms']:.1f} ms), retries {r['retries']}")
    print(format_table(results))
    if args.json:
        payload = {
            "machine": machine_info("cpu"),
            "torch": __import__("torch").__version__,
            "threads": threads,
            "command": "python benchmarks/bench_sequence_step.py " + " ".join(sys.argv[1:] if argv is None else argv),
            "threshold_cores": args.threshold,
            "quick": args.quick,
            "rows": results,
        }
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(payload, indent=2) + "\n")
    return 0 if all(r["check"]["ok"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
