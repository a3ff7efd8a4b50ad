"""The gradient reducer behind DistributedDataParallel: buckets of gradients, each all-reduced
(averaged) as soon as backward has produced every gradient in it.

With N ranks, each computing the gradient g_r of its own loss (the mean over its part of the global
batch), the global gradient of the mean over the whole batch is (1/N) Σ_r g_r: ReduceOp.AVG.

- Buckets (``assign_buckets``): the parameters cut in order into buckets of about ``bucket_cap_mb``
  (the first one 1 MiB), one dtype per bucket, as PyTorch's ``_compute_bucket_assignment_by_size``,
  then taken in reverse order: backward produces the last layers' gradients first.
- A parameter's post-accumulate-grad hook marks it ready; when its bucket is complete, the bucket's
  gradients are copied into one flat array and its all-reduce starts (async). Buckets start in index
  order on every rank (a bucket that completes early waits for the ones before it), so all ranks issue
  the same collectives in the same order.
- While backward goes on, each hook tests the oldest bucket in flight (``_progress``), which is what
  moves an MPI non-blocking collective along.
- The end of the reduction: the hook that starts the last bucket waits for every bucket and writes the
  averaged gradients back into ``.grad``; when ``backward()`` returns, the gradients are synchronized.
- Parameters that get no gradient (``find_unused_parameters=True``): the forward output's graph is walked
  to find them; they are marked ready right away, contributing zeros. A parameter unused on every rank
  keeps its ``.grad`` (a used-parameter count is all-reduced with the last bucket); one unused here but used
  elsewhere gets the average. Without it, a missing gradient leaves the reduction unfinished, and the
  next forward raises (as PyTorch).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ... import distributed as dist
from ...engine.tensor import Tensor
from ..parameter import Parameter

MIB = 1024 * 1024
FIRST_BUCKET_BYTES = MIB  # torch.distributed._DEFAULT_FIRST_BUCKET_BYTES


def assign_buckets(params: Sequence[Tensor], bucket_cap_mb: float) -> list[list[int]]:
    """Indices into ``params`` per bucket, PyTorch's assignment: walking the parameters in order, one
    open bucket per dtype and device closes once it holds at least its limit of bytes (1 MiB for the
    first, then bucket_cap_mb); the buckets, sorted by their first parameter, are then reversed, since
    backward produces the last parameters' gradients first."""
    cap = int(bucket_cap_mb * MIB)
    limits = [FIRST_BUCKET_BYTES, cap] if FIRST_BUCKET_BYTES < cap else [cap]
    open_buckets: dict[tuple[str, str], tuple[list[int], int, int]] = {}  # (dtype, device) -> indices, bytes, limit
    closed: list[list[int]] = []
    for i, p in enumerate(params):
        key = (str(p.dtype), p.device)
        indices, size, which = open_buckets.get(key, ([], 0, 0))
        indices.append(i)
        size += p.array.nbytes
        if size >= limits[which]:
            closed.append(indices)
            open_buckets[key] = ([], 0, min(which + 1, len(limits) - 1))
        else:
            open_buckets[key] = (indices, size, which)
    closed += [indices for indices, _, _ in open_buckets.values() if indices]
    return sorted(closed, key=lambda bucket: bucket[0], reverse=True)


class Reducer:
    """Averages the gradients of ``params`` across ranks, bucket by bucket, during backward."""

    def __init__(self, params: list[Parameter], names: list[str], bucket_cap_mb: float, find_unused: bool) -> None:
        self.params, self.names, self.find_unused = params, names, find_unused
        self.buckets = assign_buckets(params, bucket_cap_mb)
        self.bucket_of = {i: b for b, bucket in enumerate(self.buckets) for i in bucket}
        self.world_size = dist.get_world_size()
        self.expecting = False  # a forward prepared a reduction that backward has not finished
        self.handles = [p.register_post_accumulate_grad_hook(self._make_hook(i)) for i, p in enumerate(params)]
        self._reset()

    def _reset(self) -> None:
        self.ready = [False] * len(self.params)
        self.missing = [len(bucket) for bucket in self.buckets]
        self.next_bucket = 0
        self.works: list[tuple[int, np.ndarray, Any]] = []
        self.used = np.ones(len(self.params), np.int64)

    def remove_hooks(self) -> None:
        for remove in self.handles:
            remove()

    # ------------------------------------------------------------------ per iteration
    def prepare_for_backward(self, outputs: Any) -> None:
        """Called at the end of a forward whose backward is to synchronize gradients."""
        if self.expecting and any(self.ready):
            not_ready = [self.names[i] for i, r in enumerate(self.ready) if not r]
            raise RuntimeError(
                "DistributedDataParallel: Expected to have finished reduction in the prior iteration before "
                "starting a new one. The module has parameters that were not used in producing the loss: "
                f"{', '.join(not_ready)}. Pass find_unused_parameters=True to DistributedDataParallel, "
                "or make sure every forward output takes part in the loss."
            )
        self._reset()
        self.expecting = True
        if self.find_unused:
            reached = _reachable_leaves(outputs)
            for i, p in enumerate(self.params):
                if id(p) not in reached:
                    self.used[i] = 0
                    self._mark_ready(i)

    def _make_hook(self, i: int) -> Any:
        def hook(param: Tensor) -> None:
            if self.expecting:
                self._mark_ready(i)

        return hook

    def _mark_ready(self, i: int) -> None:
        if self.ready[i]:
            raise RuntimeError(
                f"DistributedDataParallel: parameter {self.names[i]} got its gradient twice in one iteration "
                "(a second backward without a new forward); synchronize once per forward"
            )
        self.ready[i] = True
        b = self.bucket_of[i]
        self.missing[b] -= 1
        while self.next_bucket < len(self.buckets) and self.missing[self.next_bucket] == 0:
            self._launch(self.next_bucket)
            self.next_bucket += 1
        if self.next_bucket == len(self.buckets):
            self._finish()
        elif self.works:
            self._progress()

    def _progress(self) -> None:
        """Let the buckets in flight advance while backward goes on: MPI moves a non-blocking collective
        along only inside MPI calls (unless MPICH runs its progress thread, MPIR_CVAR_ASYNC_PROGRESS=1),
        so each hook tests the oldest unfinished one."""
        for _, _, work in self.works:
            if not work.is_completed():
                return

    def _launch(self, b: int) -> None:
        """Copy bucket b's gradients (zeros for a parameter without one) into one flat array; start its average."""
        params = [self.params[i] for i in self.buckets[b]]
        xp = params[0].xp
        buffer = Tensor(xp.concatenate([_flat_grad(xp, p) for p in params]))
        self.works.append((b, buffer, dist.all_reduce(buffer, op=dist.ReduceOp.AVG, async_op=True)))

    def _finish(self) -> None:
        """Wait for every bucket; write the averages back into .grad (not for parameters unused on every rank)."""
        self.expecting = False
        used = Tensor(self.used.copy())
        if self.find_unused:
            dist.all_reduce(used, op=dist.ReduceOp.SUM)
        for b, buffer, work in self.works:
            work.wait()
            offset = 0
            for i in self.buckets[b]:
                p = self.params[i]
                n = p.numel()
                if used.array[i] > 0:
                    _write_grad(p, buffer.array[offset : offset + n].reshape(p.shape))
                offset += n
        self.works = []


def _flat_grad(xp: Any, p: Parameter) -> Any:
    """p's gradient as a 1-d array (zeros when it has none)."""
    return xp.ravel(p.grad.array) if p.grad is not None else xp.zeros(p.numel(), p.dtype)


def _write_grad(p: Parameter, value: Any) -> None:
    """p.grad ← value (in place when p.grad exists and is writable)."""
    if p.grad is not None and getattr(p.grad.array.flags, "writeable", True):  # CuPy: always
        p.grad.array[...] = value
    else:
        p.grad = Tensor(value.copy())


def _reachable_leaves(outputs: Any) -> set[int]:
    """The ids of every leaf tensor that requires grad and that the graph of ``outputs`` reaches."""
    from ...engine.autograd import consumer_counts

    roots = [t.grad_fn or t for t in _tensors(outputs) if t.requires_grad]
    return set(consumer_counts(*roots)) if roots else set()


def _tensors(value: Any) -> list[Tensor]:
    """The tensors in a forward output: a Tensor, or lists, tuples and dicts of them."""
    if isinstance(value, Tensor):
        return [value]
    if isinstance(value, list | tuple):
        return [t for item in value for t in _tensors(item)]
    if isinstance(value, dict):
        return [t for item in value.values() for t in _tensors(item)]
    return []
