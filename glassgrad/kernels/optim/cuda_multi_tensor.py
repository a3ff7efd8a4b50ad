"""The optimizer step over all parameters at once: the ops ``sgd_update_all`` and ``adam_update_all``.

``sgd_update`` and ``adam_update`` take one parameter; a model of 200 tensors
then costs 200 launches per step, most of them too small to fill the GPU. These
ops take lists (params, grads, states) and update every tensor in place:

* reference (cpu and cuda): the per-parameter reference (reference.py) in a loop;
* cuda "multi_tensor": one launch of ``cuda/multi_tensor.cu`` per call: the
  tensors are cut into chunks of CHUNK elements, and block b updates chunk b,
  found through one packed buffer of 64-bit words (``pack``: the step's scalars,
  the tensors' pointers and sizes, the (tensor, chunk) pair of every block);
* cpu "multi_tensor_emulated": the same packed buffer walked chunk by chunk in
  NumPy (``emulate``), with the kernel's per-element math in its order. It
  checks the table and the math against the reference on the cpu, where the
  CUDA kernel cannot run.

The buffer reaches the GPU by one asynchronous copy from pinned host memory
(``PinnedRing``: a few page-locked slots, each reused only after an event says
its last copy is done), so a step never waits for the GPU. A captured CUDA
graph (glassgrad/cuda/) keeps its own buffer and rewrites only the scalars
between replays (``rewrite_scalars``).

Not yet run on a GPU: the CUDA variant is validated only by the nvcc compile
test and by the launcher test on NumPy arrays posing as CuPy ones.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..cuda.compile import kernel
from ..registry import Case, OpSpec, define_op, register
from . import reference
from .reference import adam_scalar_values, check_state, sgd_scalar_values
from .spec import ADAM_OPTIONS, SGD_OPTIONS

SOURCE = Path(__file__).parent / "cuda" / "multi_tensor.cu"
SCALARS = 16  # 64-bit words at the head of the packed buffer (the .cu reads the define)
DEFINES = {"SCALARS": SCALARS}
CHUNK = 1 << 16  # elements per block
THREADS = 512  # threads per block, each striding over its block's chunk
DTYPES = {"float32": "float", "float64": "double"}
#: every template instance the launcher asks NVRTC for (the compile test builds the same)
INSTANCES = tuple(f"multi_tensor_{op}<{t}>" for op in ("sgd", "adam") for t in DTYPES.values())
SGD_SCALARS = ("lr", "momentum", "undamped", "weight_decay")  # the .cu's SgdSlot order
ADAM_SCALARS = (
    "weight1",
    "complement1",
    "beta2",
    "weight2",
    "eps",
    "weight_decay",
    "decay",
    "step_size",
    "bias2_sqrt",
)  # the .cu's AdamSlot order


# ------------------------------------------------------------ the chunk table
def chunk_pairs(sizes: Sequence[int], chunk: int = CHUNK) -> np.ndarray:
    """(blocks, 2) int64: per block, (tensor index, chunk index in it); an empty tensor has no block."""
    counts = np.array([-(-int(n) // chunk) for n in sizes], np.int64)
    tensor = np.repeat(np.arange(len(sizes), dtype=np.int64), counts)
    first = np.cumsum(counts) - counts  # each tensor's first block
    index = np.arange(int(counts.sum()), dtype=np.int64) - np.repeat(first, counts)
    return np.stack([tensor, index], axis=1)


def pointer(array: Any) -> int:
    """The address of an array's first element (CuPy's ``.data.ptr``, NumPy's array interface)."""
    data = getattr(array, "data", None)
    ptr = getattr(data, "ptr", None)
    return int(ptr) if ptr is not None else int(array.__array_interface__["data"][0])


def pack(lists: Sequence[Sequence[Any]], scalars: Sequence[float], chunk: int = CHUNK) -> tuple[np.ndarray, int]:
    """(the packed int64 buffer the kernel reads, number of blocks); the layout is the .cu header's."""
    tensors = len(lists[0])
    sizes = [int(a.size) for a in lists[0]]
    pairs = chunk_pairs(sizes, chunk)
    words = np.zeros(SCALARS + len(lists) * tensors + tensors + pairs.size, np.int64)
    words[:SCALARS].view(np.float64)[: len(scalars)] = scalars
    words[SCALARS : SCALARS + len(lists) * tensors] = [pointer(a) for arrays in lists for a in arrays]
    words[SCALARS + len(lists) * tensors : SCALARS + (len(lists) + 1) * tensors] = sizes
    words[SCALARS + (len(lists) + 1) * tensors :] = pairs.reshape(-1)
    return words, len(pairs)


def rewrite_scalars(words: np.ndarray, scalars: Sequence[float]) -> None:
    """Put a new step's scalars into a packed buffer (host copy), leaving its table as it is."""
    words[:SCALARS].view(np.float64)[: len(scalars)] = scalars


def unpack(words: np.ndarray, lists: int, tensors: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(scalars, pointers (lists, tensors), sizes, pairs (blocks, 2)) of a packed buffer: pack's inverse."""
    head = SCALARS + lists * tensors
    pointers = words[SCALARS:head].reshape(lists, tensors)
    return (
        words[:SCALARS].view(np.float64),
        pointers,
        words[head : head + tensors],
        words[head + tensors :].reshape(-1, 2),
    )


# ---------------------------------------------------------------- the launch
class PinnedRing:
    """A few page-locked host slots for the host → device copies of packed buffers.

    ``upload(words, stream)`` copies into the next slot and from there, asynchronously on
    ``stream``, into a new device array: the host never waits for the GPU, except when a slot's
    previous copy (``len(slots)`` uploads ago) has not yet run, which only a GPU far behind causes.
    """

    def __init__(self, slots: int = 8, nbytes: int = 1 << 16) -> None:
        self.slots: list[tuple[Any, np.ndarray, Any]] = []
        self.count, self.nbytes, self.size = 0, nbytes, slots

    def _slot(self, nbytes: int) -> tuple[Any, np.ndarray, Any]:
        import cupy

        i = self.count % self.size
        self.count += 1
        if i < len(self.slots) and self.slots[i][1].nbytes >= nbytes:
            memory, host, event = self.slots[i]
            if not event.done:
                event.synchronize()  # the copy from this slot `size` uploads ago is still queued
            return self.slots[i]
        size = max(nbytes, self.nbytes)
        memory = cupy.cuda.alloc_pinned_memory(size)
        host = np.ctypeslib.as_array((ctypes.c_uint8 * size).from_address(memory.ptr))
        slot = (memory, host, cupy.cuda.Event(block=False, disable_timing=True))
        if i < len(self.slots):
            self.slots[i] = slot
        else:
            self.slots.append(slot)
        return slot

    def upload(self, words: np.ndarray, out: Any = None) -> Any:
        """``words`` on the device (into ``out`` when given), copied asynchronously on the current stream."""
        import cupy

        memory, host, event = self._slot(words.nbytes)
        host[: words.nbytes] = words.view(np.uint8)
        out = cupy.empty(words.shape, words.dtype) if out is None else out
        stream = cupy.cuda.get_current_stream()
        cupy.cuda.runtime.memcpyAsync(
            pointer(out), memory.ptr, words.nbytes, cupy.cuda.runtime.memcpyHostToDevice, stream.ptr
        )
        event.record(stream)
        return out


_RING: PinnedRing | None = None


def ring() -> PinnedRing:
    """The process's ring of pinned slots (made on the first CUDA call)."""
    global _RING
    if _RING is None:
        _RING = PinnedRing()
    return _RING


def blocks_and_threads(blocks: int) -> tuple[tuple[int], tuple[int]]:
    """(grid, block) of one launch: a block per chunk."""
    return (blocks,), (THREADS,)


def launch(op: str, dtype: Any, table: Any, lists: int, tensors: int, blocks: int, flags: Sequence[int]) -> None:
    """Launch ``multi_tensor_<op><T>`` over ``blocks`` chunks of the packed device buffer ``table``."""
    if blocks == 0:
        return
    name = f"multi_tensor_{op}<{DTYPES[np.dtype(dtype).name]}>"
    grid, block = blocks_and_threads(blocks)
    args = (table, np.int32(lists), np.int32(tensors), np.int64(CHUNK), *(np.int32(f) for f in flags))
    kernel(SOURCE, name, INSTANCES, DEFINES)(grid, block, args)


def same_dtype_contiguous(*lists: Any, **options: Any) -> bool:
    """Every array of every list given is C-contiguous and of the first parameter's float32/float64 dtype."""
    arrays = [a for group in lists if group is not None for a in group]
    if not arrays:
        return True
    dtype = arrays[0].dtype
    return dtype.name in DTYPES and all(a.dtype == dtype and a.flags.c_contiguous for a in arrays)


CONDITION = "lists of C-contiguous arrays, all float32 or all float64"


def _check_lists(op: str, *lists: Any) -> None:
    """Every list given is as long as the parameters' and each array has its parameter's shape."""
    params = lists[0]
    for k, group in enumerate(lists[1:], 1):
        if group is None:
            continue
        if len(group) != len(params):
            raise ValueError(f"kernels.{op}: list {k} has {len(group)} arrays for {len(params)} parameters")
        for i, (a, p) in enumerate(zip(group, params, strict=True)):
            if a.shape != p.shape:
                raise ValueError(f"kernels.{op}: list {k}, array {i} has shape {a.shape}, its parameter {p.shape}")


def _flatten(*lists: Any) -> tuple[Any, ...]:
    """Every array of the lists that are not None, list by list (the ops' result)."""
    return tuple(a for group in lists if group is not None for a in group)


# ------------------------------------------------- the ops' fronts, one per op
#: runs one op's step on its kernel lists: (op "sgd" or "adam", lists, scalars in the .cu's order, flags)
Runner = Callable[[str, list[Any], list[float], tuple[int, ...]], None]


def sgd_lists(params: Sequence[Any], grads: Sequence[Any], momentum_buffers: Sequence[Any] | None) -> list[Any]:
    """The kernel's lists: params, grads and (with momentum) the buffers."""
    return [params, grads] + ([] if momentum_buffers is None else [momentum_buffers])


def adam_lists(
    params: Sequence[Any],
    grads: Sequence[Any],
    exp_avgs: Sequence[Any],
    exp_avg_sqs: Sequence[Any],
    max_exp_avg_sqs: Sequence[Any] | None,
) -> list[Any]:
    """The kernel's lists: params, grads, m, v and (amsgrad) v̂."""
    return [params, grads, exp_avgs, exp_avg_sqs] + ([] if max_exp_avg_sqs is None else [max_exp_avg_sqs])


def sgd_variant(run: Runner, doc: str) -> Callable[..., tuple[Any, ...]]:
    """sgd_update_all with the packed step done by ``run``: checks the lists, then runs every parameter's
    SGD step (reference.sgd_update's math) at once; returns params then buffers."""

    def sgd_update_all(
        params: Sequence[Any],
        grads: Sequence[Any],
        momentum_buffers: Sequence[Any] | None,
        *,
        lr: float,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
        maximize: bool = False,
        first_step: bool = False,
    ) -> tuple[Any, ...]:
        _check_sgd(params, grads, momentum_buffers, momentum)
        if params:
            scalars = sgd_scalar_values(lr, momentum, dampening, weight_decay)
            run(
                "sgd",
                sgd_lists(params, grads, momentum_buffers),
                scalars,
                (int(nesterov), int(maximize), int(first_step)),
            )
        return _flatten(params, momentum_buffers)

    sgd_update_all.__doc__ = doc
    return sgd_update_all


def adam_variant(run: Runner, doc: str) -> Callable[..., tuple[Any, ...]]:
    """adam_update_all with the packed step done by ``run``: checks the lists, then runs every parameter's
    Adam/AdamW step (reference.adam_update's math, all at step t) at once; returns params, m's, v's[, v̂'s]."""

    def adam_update_all(
        params: Sequence[Any],
        grads: Sequence[Any],
        exp_avgs: Sequence[Any],
        exp_avg_sqs: Sequence[Any],
        max_exp_avg_sqs: Sequence[Any] | None,
        *,
        step: int,
        lr: float,
        beta1: float,
        beta2: float,
        eps: float,
        weight_decay: float = 0.0,
        decoupled: bool = False,
        maximize: bool = False,
    ) -> tuple[Any, ...]:
        _check_lists("adam_update_all", params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs)
        if params:
            scalars = adam_scalar_values(step, lr, beta1, beta2, eps, weight_decay)
            lists = adam_lists(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs)
            run("adam", lists, scalars, (int(decoupled), int(maximize)))
        return _flatten(params, exp_avgs, exp_avg_sqs, max_exp_avg_sqs)

    adam_update_all.__doc__ = doc
    return adam_update_all


def _check_sgd(params: Sequence[Any], grads: Sequence[Any], buffers: Sequence[Any] | None, momentum: float) -> None:
    check_state("sgd_update_all", "momentum_buffers", buffers, momentum != 0, f"momentum is {momentum}")
    _check_lists("sgd_update_all", params, grads, buffers)


# ------------------------------------------------------------ the references
@register("sgd_update_all", "cpu", "numpy", "sgd_update's reference, one parameter after another", reference=True)
@register("sgd_update_all", "cuda", "cupy", "sgd_update's reference, one parameter after another", reference=True)
def sgd_update_all_reference(
    params: Sequence[Any],
    grads: Sequence[Any],
    momentum_buffers: Sequence[Any] | None,
    *,
    momentum: float = 0.0,
    **options: Any,
) -> tuple[Any, ...]:
    """reference.sgd_update (its keyword options) on each (param, grad, buffer); returns params then buffers."""
    _check_sgd(params, grads, momentum_buffers, momentum)
    for i, (p, g) in enumerate(zip(params, grads, strict=True)):
        buffer = None if momentum_buffers is None else momentum_buffers[i]
        reference.sgd_update(p, g, buffer, momentum=momentum, **options)
    return _flatten(params, momentum_buffers)


@register("adam_update_all", "cpu", "numpy", "adam_update's reference, one parameter after another", reference=True)
@register("adam_update_all", "cuda", "cupy", "adam_update's reference, one parameter after another", reference=True)
def adam_update_all_reference(
    params: Sequence[Any],
    grads: Sequence[Any],
    exp_avgs: Sequence[Any],
    exp_avg_sqs: Sequence[Any],
    max_exp_avg_sqs: Sequence[Any] | None,
    **options: Any,
) -> tuple[Any, ...]:
    """reference.adam_update (its keyword options) on each parameter; returns params, m's, v's[, v̂'s]."""
    _check_lists("adam_update_all", params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs)
    for i, p in enumerate(params):
        vmax = None if max_exp_avg_sqs is None else max_exp_avg_sqs[i]
        reference.adam_update(p, grads[i], exp_avgs[i], exp_avg_sqs[i], vmax, **options)
    return _flatten(params, exp_avgs, exp_avg_sqs, max_exp_avg_sqs)


# ---------------------------------------------------------- the CUDA variant
def _launch_packed(op: str, lists: list[Any], scalars: list[float], flags: tuple[int, ...]) -> None:
    """Pack the lists, upload the buffer through the pinned ring and launch multi_tensor_<op> once."""
    words, blocks = pack(lists, scalars)
    launch(op, lists[0][0].dtype, ring().upload(words), len(lists), len(lists[0]), blocks, flags)


sgd_update_all = register(
    "sgd_update_all",
    "cuda",
    "multi_tensor",
    "every parameter's SGD step in one launch (cuda/multi_tensor.cu; not yet run on a GPU)",
    when=same_dtype_contiguous,
    condition=CONDITION,
)(sgd_variant(_launch_packed, "The reference's SGD step on every parameter, in one launch."))

adam_update_all = register(
    "adam_update_all",
    "cuda",
    "multi_tensor",
    "every parameter's Adam/AdamW step in one launch (cuda/multi_tensor.cu; not yet run on a GPU)",
    when=same_dtype_contiguous,
    condition=CONDITION,
)(adam_variant(_launch_packed, "The reference's Adam/AdamW step on every parameter, in one launch."))


# ------------------------------------------------- the kernel, emulated in NumPy
def _resolve(words: np.ndarray, lists: Sequence[Sequence[np.ndarray]]) -> dict[int, np.ndarray]:
    """Address → flat NumPy view, for the arrays a packed buffer points at (only these may be named)."""
    return {pointer(a): a.reshape(-1) for group in lists for a in group}


def emulate(op: str, words: np.ndarray, lists: Sequence[Sequence[np.ndarray]], flags: Sequence[int]) -> None:
    """Run the kernel's chunk loop on NumPy arrays: for each block's (tensor, chunk) pair of the packed
    buffer, the per-element math of multi_tensor_<op> on [chunk·CHUNK, min(size, (chunk + 1)·CHUNK)),
    with the scalars cast to the arrays' dtype first, as the kernel does."""
    scalars, pointers, sizes, pairs = unpack(words, len(lists), len(lists[0]))
    arrays = _resolve(words, lists)
    dtype = lists[0][0].dtype.type
    names = SGD_SCALARS if op == "sgd" else ADAM_SCALARS
    s = {name: dtype(scalars[i]) for i, name in enumerate(names)}
    for tensor, index in pairs:
        lo, hi = index * CHUNK, min(int(sizes[tensor]), (index + 1) * CHUNK)
        view = [arrays[int(pointers[k, tensor])][lo:hi] for k in range(len(lists))]
        (_sgd_chunk if op == "sgd" else _adam_chunk)(view, s, *flags)


def _sgd_chunk(view: list[np.ndarray], s: dict[str, Any], nesterov: int, maximize: int, first_step: int) -> None:
    p, g = view[0], view[1]
    d = -g if maximize else g.copy()
    if s["weight_decay"] != 0:
        d = d + s["weight_decay"] * p
    if len(view) > 2:
        b = d.copy() if first_step else view[2] * s["momentum"] + s["undamped"] * d
        view[2][...] = b
        d = d + s["momentum"] * b if nesterov else b
    p[...] = p - s["lr"] * d


def _adam_chunk(view: list[np.ndarray], s: dict[str, Any], decoupled: int, maximize: int) -> None:
    p, g, m, v = view[:4]
    x = p.copy()
    d = -g if maximize else g.copy()
    if s["weight_decay"] != 0:
        if decoupled:
            x = x * s["decay"]
        else:
            d = d + s["weight_decay"] * x
    if s["weight1"] < 0.5:
        mi = m + s["weight1"] * (d - m)
    else:
        mi = d - (d - m) * s["complement1"]
    vi = v * s["beta2"] + s["weight2"] * d * d
    m[...], v[...] = mi, vi
    if len(view) > 4:
        vi = np.maximum(view[4], vi)
        view[4][...] = vi
    p[...] = x - s["step_size"] * mi / (np.sqrt(vi) / s["bias2_sqrt"] + s["eps"])


def _emulate_packed(op: str, lists: list[Any], scalars: list[float], flags: tuple[int, ...]) -> None:
    """Pack the lists and walk the buffer with ``emulate``, as the kernel would."""
    words, _ = pack(lists, scalars)
    emulate(op, words, lists, flags)


_EMULATED = "the CUDA kernel's packed table and chunk loop, emulated in NumPy (checks the table on the cpu)"
sgd_update_all_emulated = register(
    "sgd_update_all", "cpu", "multi_tensor_emulated", _EMULATED, when=same_dtype_contiguous, condition=CONDITION
)(sgd_variant(_emulate_packed, "multi_tensor_sgd's chunk loop on NumPy arrays."))
adam_update_all_emulated = register(
    "adam_update_all", "cpu", "multi_tensor_emulated", _EMULATED, when=same_dtype_contiguous, condition=CONDITION
)(adam_variant(_emulate_packed, "multi_tensor_adam's chunk loop on NumPy arrays."))


# ----------------------------------------------------------------- the specs
#: the tensors of one case: empty and one-element ones, sizes off every width, one 3 past a chunk (two blocks)
CASE_SHAPES = [(), (1,), (7,), (0,), (33, 31), (CHUNK + 3,), (1000,)]


class FreshLists(tuple):
    """A case's arguments that hand out copies of their arrays (lists of them too) each time they are
    iterated, so every variant starts from the same state."""

    def __iter__(self):  # type: ignore[override]
        return (_copy(a) for a in tuple.__iter__(self))


def _copy(a: Any) -> Any:
    if isinstance(a, list):
        return [x.copy() for x in a]
    return a.copy() if hasattr(a, "dtype") else a


def _arrays(xp: Any, dtype: Any, seed: int, scale: float = 1.0, positive: bool = False) -> list[Any]:
    rng = np.random.default_rng(seed)
    out = []
    for shape in CASE_SHAPES:
        values = scale * rng.standard_normal(shape)
        out.append(xp.asarray((np.abs(values) if positive else values).astype(dtype)))
    return out


def _sgd_cases(xp: Any, dtype: Any) -> list[Case]:
    cases = []
    for i, (what, given) in enumerate(SGD_OPTIONS):
        kwargs = dict(given)
        buffers = _arrays(xp, dtype, 10 * i + 2) if kwargs.get("momentum", 0) != 0 else None
        args = FreshLists((_arrays(xp, dtype, 10 * i), _arrays(xp, dtype, 10 * i + 1), buffers))
        cases.append(Case(f"{len(CASE_SHAPES)} tensors, {what}", args, kwargs))
    return cases


def _adam_cases(xp: Any, dtype: Any) -> list[Case]:
    cases = []
    for i, (what, given) in enumerate(ADAM_OPTIONS):
        kwargs = dict(given)
        v = _arrays(xp, dtype, 10 * i + 3, 0.1, positive=True)
        vmax = None
        if kwargs.pop("amsgrad", False):
            vmax = [
                xp.asarray(a + b) for a, b in zip(v, _arrays(xp, dtype, 10 * i + 4, 0.05, positive=True), strict=True)
            ]
        state = (_arrays(xp, dtype, 10 * i + 2, 0.1), v, vmax)
        args = FreshLists((_arrays(xp, dtype, 10 * i), _arrays(xp, dtype, 10 * i + 1), *state))
        cases.append(Case(f"{len(CASE_SHAPES)} tensors, {what}", args, kwargs))
    return cases


def _bench(op: str) -> Any:
    """Benchmark input: "N" tensors of 1024x1024 elements (about a 12-layer transformer's count for N=150)."""

    def make_inputs(size: str, xp: Any, dtype: Any) -> Case:
        count = int(size)
        rng = np.random.default_rng(0)
        g = [xp.asarray(rng.standard_normal((1024, 1024)).astype(dtype)) for _ in range(count)]
        p = [xp.asarray(rng.standard_normal((1024, 1024)).astype(dtype)) for _ in range(count)]
        if op == "sgd_update_all":
            return Case(size, (p, g, [x * 10 for x in g]), dict(lr=1e-6, momentum=0.9, weight_decay=1e-4))
        kwargs = dict(step=1000, lr=1e-6, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.01, decoupled=True)
        return Case(size, (p, g, [x.copy() for x in g], [x * x for x in g], None), kwargs)

    return make_inputs


def _traffic(case: Case) -> int:
    """Every array read once; all but the gradients (args[1]) written once."""
    arrays = [a for group in case.args if group is not None for a in group]
    return 2 * sum(a.nbytes for a in arrays) - sum(a.nbytes for a in case.args[1])


def _flops(per_element: int) -> Any:
    return lambda case: per_element * sum(a.size for a in case.args[0])


for _op, _what, _cases, _flop in [
    ("sgd_update_all", "SGD step on a list of parameters, in place", _sgd_cases, 6),
    ("adam_update_all", "Adam/AdamW step on a list of parameters, in place", _adam_cases, 14),
]:
    define_op(
        OpSpec(
            op=_op,
            description=_what,
            cases=_cases,
            make_inputs=_bench(_op),
            flops=_flops(_flop),
            bytes=_traffic,
            default_sizes={"cpu": ("4", "16"), "cuda": ("16", "150")},
        )
    )


__all__ = ["CHUNK", "INSTANCES", "PinnedRing", "chunk_pairs", "emulate", "pack", "rewrite_scalars", "unpack"]
