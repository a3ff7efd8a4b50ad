"""Data-parallel scaling on this machine: the gradient all-reduce of three recipes' models on 2 ranks
against the ring model, and a training step on 1 process against 2 (issue 17's scale table).

    python benchmarks/bench_allreduce.py [--json benchmarks/results/allreduce.json] [--quick]
                                         [--rows mlp-tiny mnist-cnn gpt] [--ranks 2]

Per row (a recipe's model, float32, its default global batch B):

* bytes: the gradient's size, 4 · parameters, all-reduced once per step by DistributedDataParallel.
* all-reduce: the best time of one all-reduce of that many float32 values on ``--ranks`` ranks
  (``glassgrad.distributed.all_reduce``, MPI through mpi4py), against the ring all-reduce model

      t_ring = 2 (N − 1) / N · bytes / bandwidth

  with the bandwidth measured first by a large all-reduce (64 MiB; the model inverted on its time).
  A small gradient costs the collective's latency, not bytes / bandwidth: ``measured / model`` shows it.
* step: forward, loss, backward and the optimizer step (the recipe's optimizer and lr) on the global
  batch: in one process with all the cores' threads and with one thread (on a busy machine a pool of
  threads waits for its slowest one: the better of the two is the one-process figure), and on N ranks
  of B/N samples each (cores / N threads each) through DistributedDataParallel, whose buckets
  all-reduce during backward; beside it the same N-rank step without the gradients' reduction
  (``no_sync``): the difference is the communication that backward did not hide.

Times are the best of several steps after a warm-up one (on N ranks, each step after a barrier, timed
on rank 0); the other processes' CPU (glassgrad/kernels/busy.py, as the other benchmarks) is recorded
for the timed spans, in cores, the ranks' own CPU not counted. The N-rank part runs as ``mpiexec -n N python benchmarks/bench_allreduce.py --worker``
(started by this script); rank 0 hands its figures back in a JSON file.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_cpu_step as steps

import glassgrad as gg
from glassgrad.kernels import busy
from glassgrad.kernels.harness import machine_info
from glassgrad.training import distributed as training_distributed

MIB = 1024 * 1024


@dataclass(frozen=True)
class Row:
    """A recipe's model and a step on ``batch`` samples of synthetic data."""

    name: str
    batch: int  # the recipe's default global batch
    build: Callable[[bool], tuple[Any, Callable[[int, int], tuple[Any, Any]], Callable[[Any, Any], Any], Any]]
    # (quick) -> (model, data(batch, seed) -> (x, y), loss(output, y), recipe config)


def _mlp_tiny(quick: bool) -> Any:
    from glassgrad.recipes import get_recipe, mlp_tiny

    def data(batch: int, seed: int) -> tuple[Any, Any]:
        rng = np.random.default_rng(seed)
        return gg.tensor(rng.standard_normal((batch, 3), dtype=np.float32)), gg.tensor(
            rng.standard_normal((batch, 1), dtype=np.float32)
        )

    return mlp_tiny.build_model(), data, gg.nn.functional.mse_loss, get_recipe("mlp-tiny").defaults


def _mnist_cnn(quick: bool) -> Any:
    from glassgrad.recipes import get_recipe, mnist_cnn

    def data(batch: int, seed: int) -> tuple[Any, Any]:
        rng = np.random.default_rng(seed)
        x = rng.standard_normal((batch, 1, 28, 28), dtype=np.float32)
        return gg.tensor(x), gg.tensor(rng.integers(0, 10, batch))

    return mnist_cnn.build_model(), data, gg.nn.functional.cross_entropy, get_recipe("mnist-cnn").defaults


def _gpt(quick: bool) -> Any:
    from glassgrad.models.gpt2 import GPT2LMHeadModel
    from glassgrad.recipes import get_recipe, gpt

    vocab = 102  # the char tokenizer of the recipe's default corpus (Python's documentation)
    block = 8 if quick else gpt.BLOCK_SIZE

    def data(batch: int, seed: int) -> tuple[Any, Any]:
        ids = np.random.default_rng(seed).integers(0, vocab, (batch, block + 1))
        return gg.tensor(ids[:, :-1]), gg.tensor(ids[:, 1:])

    def loss(logits: Any, y: Any) -> Any:
        return gg.nn.functional.cross_entropy(logits.reshape(-1, vocab), y.reshape(-1))

    return GPT2LMHeadModel(gpt.model_config(vocab)), data, loss, get_recipe("gpt").defaults


ROWS = {
    "mlp-tiny": Row("mlp-tiny", 128, _mlp_tiny),
    "mnist-cnn": Row("mnist-cnn", 64, _mnist_cnn),
    "gpt": Row("gpt", 32, _gpt),
}


def parameters(model: Any) -> int:
    return sum(p.numel() for p in model.parameters())


def ring_seconds(nbytes: float, ranks: int, bandwidth: float) -> float:
    """The ring all-reduce's time: 2 (N − 1) / N · bytes / bandwidth (bytes per second)."""
    return 2 * (ranks - 1) / ranks * nbytes / bandwidth


def timed_steps(step: Callable[[], Any], reps: int) -> tuple[float, busy.Span | None]:
    """The best of ``reps`` calls of ``step`` after a warm-up one, and the others' CPU over them."""
    step()
    best, spans = float("inf"), []
    for _ in range(reps):
        start = busy.mark()
        t0 = time.perf_counter()
        step()
        best = min(best, time.perf_counter() - t0)
        spans.append(busy.since(start))
    return best, busy.total(spans)


def make_step(row: Row, quick: bool, rank: int, ranks: int, ddp: bool, sync: bool = True) -> Callable[[], Any]:
    """One training step of ``row`` on this rank's B / ranks samples (the whole batch for ranks = 1)."""
    from glassgrad.recipes.common import make_optimizer

    gg.manual_seed(0)
    model, data, loss_fn, config = row.build(quick)
    batch = row.batch // ranks
    x, y = data(row.batch, 1)
    x, y = x[rank * batch : (rank + 1) * batch], y[rank * batch : (rank + 1) * batch]
    wrapped = gg.nn.parallel.DistributedDataParallel(model) if ddp else model
    optimizer = make_optimizer(config, model.parameters())

    def step() -> Any:
        optimizer.zero_grad()
        loss = loss_fn(wrapped(x), y)
        loss.backward()
        optimizer.step()
        return loss

    if ddp and not sync:

        def local_step() -> Any:
            with wrapped.no_sync():
                return step()

        return local_step
    return step


def _span(span: busy.Span | None) -> float | None:
    return None if span is None else round(span.cores, 3)


def single_process(rows: list[Row], quick: bool, reps: int, threads: list[int]) -> dict[str, Any]:
    """Step times in this one process at each number of ``threads`` (BLAS and numba)."""
    out: dict[str, Any] = {row.name: {} for row in rows}
    for n in threads:
        steps.set_threads(n, with_torch=False)
        for row in rows:
            seconds, span = timed_steps(make_step(row, quick, 0, 1, ddp=False), reps)
            out[row.name][n] = {"step_s": seconds, "others_cores": _span(span)}
    return out


def job_span(start: busy.Mark | None) -> busy.Span | None:
    """``busy.since(start)`` on N ranks, with the other ranks' own CPU not counted as the others'
    (every rank's jiffies summed by an all-reduce, after the timed part)."""
    import glassgrad.distributed as dist

    end = busy.mark()
    if start is None or end is None:
        return None
    own = gg.tensor(np.array([end.own - start.own], dtype=np.float64))
    dist.all_reduce(own)
    return busy.Span(end.seconds - start.seconds, (end.all_busy - start.all_busy) - int(own.item()))


def timed_job_steps(step: Callable[[], Any], reps: int) -> tuple[float, busy.Span | None]:
    """``timed_steps`` on every rank at once (a barrier before each step), the others' CPU by ``job_span``."""
    import glassgrad.distributed as dist

    step()
    best, spans = float("inf"), []
    for _ in range(reps):
        dist.barrier()
        start, t0 = busy.mark(), time.perf_counter()
        step()
        best = min(best, time.perf_counter() - t0)
        spans.append(job_span(start))
    return best, busy.total(spans)


def worker(out: Path, names: list[str], quick: bool, reps: int) -> int:
    """Rank r of N: the bandwidth, each row's all-reduce and DDP steps; rank 0 writes ``out``."""
    import glassgrad.distributed as dist

    dist.init_process_group("mpi")
    rank, ranks = dist.get_rank(), dist.get_world_size()

    def collective(values: int) -> tuple[float, busy.Span | None]:
        buffer = gg.zeros(values)
        return timed_job_steps(lambda: dist.all_reduce(buffer), reps * 2)

    big = (1 if quick else 64) * MIB
    big_s, big_span = collective(big // 4)
    bandwidth = 2 * (ranks - 1) / ranks * big / big_s
    rows = []
    for name in names:
        row = ROWS[name]
        params = parameters(row.build(quick)[0])
        nbytes = 4 * params
        reduce_s, reduce_span = collective(params)
        timed = {}
        for label, sync in (("step_s", True), ("no_sync_step_s", False)):
            step = make_step(row, quick, rank, ranks, ddp=True, sync=sync)
            timed[label], timed[label + "_others"] = timed_job_steps(step, reps)
        model = ring_seconds(nbytes, ranks, bandwidth)
        rows.append(
            {
                "row": name,
                "parameters": params,
                "bytes": nbytes,
                "allreduce_s": reduce_s,
                "ring_model_s": model,
                "measured_over_model": reduce_s / model,
                "allreduce_others_cores": _span(reduce_span),
                "step_s": timed["step_s"],
                "no_sync_step_s": timed["no_sync_step_s"],
                "exposed_comm_s": timed["step_s"] - timed["no_sync_step_s"],
                "step_others_cores": _span(timed["step_s_others"]),
            }
        )
    if rank == 0:
        payload = {
            "ranks": ranks,
            "threads_per_rank": gg_threads(),
            "bandwidth": {
                "bytes": big,
                "allreduce_s": big_s,
                "bytes_per_s": bandwidth,
                "others_cores": _span(big_span),
            },
            "rows": rows,
        }
        out.write_text(json.dumps(payload))
    dist.barrier()
    return 0


def gg_threads() -> int:
    import numba

    return numba.get_num_threads()


def _cores(cores: float | None) -> str:
    return "-" if cores is None else f"{cores:.2f}"


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.3f}"


def format_table(payload: dict[str, Any]) -> str:
    n = payload["ranks"]
    bw = payload["bandwidth"]
    lines = [
        "others: the other processes' CPU in cores during the 1-process / the N-rank steps",
        f"bandwidth: all-reduce of {bw['bytes'] / MIB:.0f} MiB on {n} ranks in {_ms(bw['allreduce_s'])} ms "
        f"-> {bw['bytes_per_s'] / 1e9:.2f} GB/s (ring model inverted)",
        f"{'row':10s} {'params':>10s} {'bytes':>11s} {'allreduce ms':>12s} {'ring ms':>9s} {'meas/model':>10s} "
        f"{'1 proc ms':>13s} {f'{n} ranks ms':>11s} {'no_sync ms':>10s} {'speed-up':>8s} {'others':>12s}",
    ]
    for r in payload["rows"]:
        one = f"{_ms(r['one_process_step_s'])} ({r['one_process_threads']}t)"
        others = f"{_cores(r['one_process_others_cores'])}/{_cores(r['step_others_cores'])}"
        lines.append(
            f"{r['row']:10s} {r['parameters']:>10,d} {r['bytes']:>11,d} {_ms(r['allreduce_s']):>12s} "
            f"{_ms(r['ring_model_s']):>9s} {r['measured_over_model']:>10.1f} "
            f"{one:>13s} {_ms(r['step_s']):>11s} {_ms(r['no_sync_step_s']):>10s} {r['speedup']:>7.2f}x {others:>12s}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", nargs="+", choices=list(ROWS), default=list(ROWS), help="rows to run")
    parser.add_argument("--json", help="write the results here (e.g. benchmarks/results/allreduce.json)")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, few repetitions (a smoke test)")
    parser.add_argument("--ranks", type=int, default=2, help="ranks of the data-parallel part (default 2)")
    parser.add_argument("--reps", type=int, default=None, help="timed steps per measurement (default 5; quick 2)")
    parser.add_argument("--worker", metavar="OUT", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    reps = args.reps or (2 if args.quick else 5)
    if args.worker:
        return worker(Path(args.worker), args.rows, args.quick, reps)
    thread_counts = sorted({busy.CORES, 1}, reverse=True)
    one = single_process([ROWS[name] for name in args.rows], args.quick, reps, thread_counts)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "ranks.json"
        command = training_distributed.launch_command(args.ranks, [])[:3] + [sys.executable, __file__]
        command += ["--worker", str(out), "--rows", *args.rows, "--reps", str(reps)] + (
            ["--quick"] if args.quick else []
        )
        env = training_distributed.launch_environment(args.ranks)
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=1800)
        if done.returncode != 0 or not out.exists():
            print(done.stdout + done.stderr, file=sys.stderr)
            return 1
        payload = json.loads(out.read_text())
    for r in payload["rows"]:
        r["one_process"] = {str(n): timed for n, timed in one[r["row"]].items()}
        best = min(one[r["row"]], key=lambda n: one[r["row"]][n]["step_s"])
        r["one_process_threads"] = best
        r["one_process_step_s"] = one[r["row"]][best]["step_s"]
        r["one_process_others_cores"] = one[r["row"]][best]["others_cores"]
        r["speedup"] = r["one_process_step_s"] / r["step_s"]
    payload = {
        "machine": machine_info("cpu"),
        "command": "python benchmarks/bench_allreduce.py " + " ".join(sys.argv[1:] if argv is None else argv),
        "quick": args.quick,
        "one_process_thread_counts": thread_counts,
        "reps": reps,
        **payload,
    }
    print(format_table(payload))
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(payload, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
