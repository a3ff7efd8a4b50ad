"""The collectives, with PyTorch's names and arguments: each checks its arguments (naming itself and
the values, before anything is sent), starts the backend's non-blocking call and either returns its
Work (``async_op=True``) or waits for it.

With ranks r = 0..N-1 (x_r is rank r's tensor):
    all_reduce:      x ← reduce_r x_r on every rank (in place)
    broadcast:       x ← x_src on every rank (in place)
    all_gather:      tensor_list[r] ← x_r on every rank
    reduce_scatter:  output ← reduce_r input_list_r[rank]
    barrier:         returns once every rank has called it
"""

from __future__ import annotations

from typing import Any

from ..engine import dtypes
from ..engine.tensor import Tensor
from .process_group import default_group
from .reduce_op import ReduceOp, check_reduce_op
from .work import Work


def all_reduce(tensor: Tensor, op: ReduceOp = ReduceOp.SUM, group: Any = None, async_op: bool = False) -> Work | None:
    """Reduce ``tensor`` across all ranks, in place, so every rank holds the result."""
    backend = default_group("all_reduce", group)
    _check_tensor("all_reduce", "tensor", tensor, backend, write=True)
    op = _check_op("all_reduce", op, tensor)
    return _result(backend.all_reduce(tensor.array, op), async_op)


def broadcast(
    tensor: Tensor, src: int | None = None, group: Any = None, async_op: bool = False, group_src: int | None = None
) -> Work | None:
    """Copy rank ``src``'s ``tensor`` into ``tensor`` on every rank."""
    backend = default_group("broadcast", group)
    if src is None:
        src = group_src
    elif group_src is not None and group_src != src:
        raise ValueError(f"broadcast: src={src} and group_src={group_src} disagree (the default group is the world)")
    if src is None:
        raise ValueError("broadcast: src (the rank to copy from) is required")
    if isinstance(src, bool) or not isinstance(src, int):
        raise TypeError(f"broadcast: src must be an int, got {src!r}")
    if not 0 <= src < backend.world_size:
        raise ValueError(f"broadcast: src {src} is out of range for world size {backend.world_size}")
    _check_tensor("broadcast", "tensor", tensor, backend, write=True)
    return _result(backend.broadcast(tensor.array, src), async_op)


def all_gather(tensor_list: list[Tensor], tensor: Tensor, group: Any = None, async_op: bool = False) -> Work | None:
    """Fill ``tensor_list[r]`` with rank r's ``tensor`` on every rank."""
    backend = default_group("all_gather", group)
    _check_tensor("all_gather", "tensor", tensor, backend)
    _check_list("all_gather", "tensor_list", tensor_list, tensor, backend)
    return _result(backend.all_gather([t.array for t in tensor_list], tensor.array), async_op)


def reduce_scatter(
    output: Tensor, input_list: list[Tensor], op: ReduceOp = ReduceOp.SUM, group: Any = None, async_op: bool = False
) -> Work | None:
    """Reduce ``input_list[i]`` across ranks into rank i's ``output``."""
    backend = default_group("reduce_scatter", group)
    _check_tensor("reduce_scatter", "output", output, backend, write=True)
    _check_list("reduce_scatter", "input_list", input_list, output, backend)
    op = _check_op("reduce_scatter", op, output)
    return _result(backend.reduce_scatter(output.array, [t.array for t in input_list], op), async_op)


def barrier(group: Any = None, async_op: bool = False, device_ids: Any = None) -> Work | None:
    """Wait until every rank has called ``barrier``."""
    backend = default_group("barrier", group)
    return _result(backend.barrier(), async_op)


def _result(work: Work, async_op: bool) -> Work | None:
    if not isinstance(async_op, bool):
        raise TypeError(f"{work.op}: async_op must be a bool, got {async_op!r}")
    if async_op:
        return work
    work.wait()
    return None


def _check_op(api: str, op: Any, tensor: Tensor) -> ReduceOp:
    op = check_reduce_op(api, op)
    if op is ReduceOp.AVG and not dtypes.is_floating(tensor.dtype):
        raise TypeError(f"{api}: ReduceOp.AVG needs a floating tensor, got {tensor.dtype}")
    return op


def _check_tensor(api: str, name: str, tensor: Any, backend: Any, write: bool = False) -> None:
    """A Tensor on the backend's device (and writable when the result goes into it)."""
    if not isinstance(tensor, Tensor):
        raise TypeError(f"{api}: {name} must be a glassgrad Tensor, got {type(tensor).__name__}")
    if tensor.device != backend.device:
        raise RuntimeError(
            f"{api}: {name} is on {tensor.device}, but the {backend.name!r} backend works on {backend.device} tensors"
        )
    if write and not getattr(tensor.array.flags, "writeable", True):  # a CuPy array is always writable
        raise RuntimeError(f"{api}: {name} is read-only (a broadcast or otherwise unwritable array)")


def _check_list(api: str, name: str, tensors: Any, like: Tensor, backend: Any) -> None:
    """A list of world_size Tensors, each with ``like``'s shape and dtype."""
    if not isinstance(tensors, list):
        raise TypeError(f"{api}: {name} must be a list of Tensors, got {type(tensors).__name__}")
    if len(tensors) != backend.world_size:
        raise ValueError(f"{api}: {name} has {len(tensors)} tensors, but the world size is {backend.world_size}")
    for i, t in enumerate(tensors):
        _check_tensor(api, f"{name}[{i}]", t, backend, write=api == "all_gather")
        if t.shape != like.shape or t.dtype != like.dtype:
            raise ValueError(
                f"{api}: {name}[{i}] has shape {t.shape} and dtype {t.dtype}, "
                f"but the tensor has shape {like.shape} and dtype {like.dtype}"
            )
