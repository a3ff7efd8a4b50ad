"""DistributedDataParallel: one replica of a model per rank, gradients averaged across ranks.

Each rank runs the forward and backward of its part of the global batch; during backward the
Reducer (reducer.py) averages the gradients across ranks in buckets that start all-reducing as soon
as they are complete, so after ``loss.backward()`` every rank holds (1/N) Σ_r g_r and the same
optimizer step keeps the replicas identical. Rank 0's parameters and buffers are broadcast at wrap
time, its buffers again before each forward (``broadcast_buffers``).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np

from ... import distributed as dist
from ...engine.grad_mode import is_grad_enabled
from ...engine.tensor import Tensor
from ..module import Module
from .reducer import Reducer

DEFAULT_BUCKET_CAP_MB = 25  # PyTorch's


class DistributedDataParallel(Module):
    """``torch.nn.parallel.DistributedDataParallel``: wraps ``module``; ``forward`` is the module's.

    ``bucket_cap_mb``: the size of a gradient bucket (MiB; the first one at most 1 MiB).
    ``broadcast_buffers``: copy rank 0's buffers to every rank before each forward.
    ``find_unused_parameters``: parameters the forward output does not reach are reduced as zeros
    (without it, a parameter that gets no gradient makes the next forward raise).
    ``init_sync``: broadcast rank 0's parameters and buffers at wrap time.
    ``device_ids``/``output_device``/``dim`` are PyTorch's, for one device per rank: only None (or the
    module's own device) is accepted. The state_dict keys carry the "module." prefix; ``.module`` is
    the wrapped model (save that to get its own keys).
    """

    def __init__(
        self,
        module: Module,
        device_ids: Any = None,
        output_device: Any = None,
        dim: int = 0,
        broadcast_buffers: bool = True,
        init_sync: bool = True,
        process_group: Any = None,
        bucket_cap_mb: float | None = None,
        find_unused_parameters: bool = False,
    ) -> None:
        api = "DistributedDataParallel"
        if not isinstance(module, Module):
            raise TypeError(f"{api}: module must be a glassgrad.nn.Module, got {type(module).__name__}")
        if not dist.is_initialized():
            raise ValueError(
                f"{api}: Default process group has not been initialized, please make sure to call init_process_group."
            )
        if process_group is not None:
            raise ValueError(f"{api}: only the default process group is supported (process_group=None)")
        if dim != 0:
            raise ValueError(f"{api}: dim must be 0 (one replica per rank), got {dim!r}")
        bucket_cap_mb = DEFAULT_BUCKET_CAP_MB if bucket_cap_mb is None else bucket_cap_mb
        if isinstance(bucket_cap_mb, bool) or not isinstance(bucket_cap_mb, int | float) or not bucket_cap_mb > 0:
            raise ValueError(f"{api}: bucket_cap_mb must be a positive number, got {bucket_cap_mb!r}")
        flags = (("broadcast_buffers", broadcast_buffers), ("init_sync", init_sync))
        for name, flag in (*flags, ("find_unused_parameters", find_unused_parameters)):
            if not isinstance(flag, bool):
                raise TypeError(f"{api}: {name} must be a bool, got {flag!r}")
        named = [(n, p) for n, p in module.named_parameters() if p.requires_grad]
        if not named:
            raise RuntimeError(f"{api}: the module has no parameter that requires grad; there is nothing to average")
        devices = {p.device for _, p in named}
        backend_device = "cuda" if dist.get_backend() == "nccl" else "cpu"
        if devices != {backend_device}:
            raise RuntimeError(
                f"{api}: the module's parameters are on {sorted(devices)}, but the {dist.get_backend()!r} backend "
                f"works on {backend_device} tensors; move the module first"
            )
        for name, ids in (("device_ids", device_ids), ("output_device", output_device)):
            if (
                ids is not None
                and not (isinstance(ids, list | tuple) and len(ids) <= 1)
                and not isinstance(ids, int | str)
            ):
                raise ValueError(f"{api}: {name} must name at most one device (one replica per rank), got {ids!r}")
        super().__init__()
        self.module = module
        object.__setattr__(self, "broadcast_buffers", broadcast_buffers)
        object.__setattr__(self, "bucket_cap_mb", bucket_cap_mb)
        object.__setattr__(self, "find_unused_parameters", find_unused_parameters)
        object.__setattr__(self, "require_backward_grad_sync", True)
        _check_same_shapes(api, [p for _, p in named])
        if init_sync:
            _broadcast_from_rank0([p for _, p in named] + list(module.buffers()))
        reducer = Reducer([p for _, p in named], [n for n, _ in named], bucket_cap_mb, find_unused_parameters)
        object.__setattr__(self, "reducer", reducer)

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """The module's forward; buffers from rank 0 first; prepares the gradients' reduction."""
        if self.broadcast_buffers and dist.get_world_size() > 1:
            buffers = list(self.module.buffers())
            if buffers:
                _broadcast_from_rank0(buffers)
        outputs = self.module(*args, **kwargs)
        if is_grad_enabled() and self.require_backward_grad_sync:
            self.reducer.prepare_for_backward(outputs)
        return outputs

    @contextmanager
    def no_sync(self) -> Iterator[None]:
        """Gradient accumulation: backward passes of forwards run inside add into ``.grad`` locally; the
        first backward after it (of a forward outside it) averages the accumulated gradients."""
        previous = self.require_backward_grad_sync
        object.__setattr__(self, "require_backward_grad_sync", False)
        try:
            yield
        finally:
            object.__setattr__(self, "require_backward_grad_sync", previous)

    def extra_repr(self) -> str:
        return f"bucket_cap_mb={self.bucket_cap_mb}, buckets={len(self.reducer.buckets)}"


def _check_same_shapes(api: str, params: list[Tensor]) -> None:
    """Every rank wraps the same parameter shapes (else the buckets would not line up): compares a
    fingerprint of the shapes across ranks."""
    if dist.get_world_size() == 1:
        return
    shapes = zlib.crc32(repr([p.shape for p in params]).encode())
    mine = np.array([len(params), sum(p.numel() for p in params), shapes], np.int64)
    local = Tensor(mine if params[0].device == "cpu" else params[0].xp.asarray(mine))
    gathered = [Tensor(local.xp.zeros_like(local.array)) for _ in range(dist.get_world_size())]
    dist.all_gather(gathered, local)
    for r, other in enumerate(gathered):
        if not bool((other.array == local.array).all()):
            raise RuntimeError(
                f"{api}: rank {r} wraps different parameters (count, elements, shapes' checksum: {other.array.tolist()}) "
                f"than rank {dist.get_rank()} ({local.array.tolist()})"
            )


def _broadcast_from_rank0(tensors: list[Tensor]) -> None:
    """Rank 0's values into ``tensors`` on every rank: one broadcast per dtype of all of them, flattened."""
    by_dtype: dict[Any, list[Tensor]] = {}
    for t in tensors:
        by_dtype.setdefault(t.dtype, []).append(t)
    for group in by_dtype.values():
        xp = group[0].xp
        flat = Tensor(xp.concatenate([xp.ravel(t.array) for t in group]))
        dist.broadcast(flat, 0)
        offset = 0
        for t in group:
            n = t.numel()
            t.array[...] = flat.array[offset : offset + n].reshape(t.shape)
            offset += n
