"""The multi-tensor optimizer step (kernels/optim/cuda_multi_tensor.py) without a GPU.

* the chunk table: a block per CHUNK elements of every tensor, none for an empty one;
* the packed buffer: pack and unpack agree with the .cu header's layout;
* the CUDA launcher, run on NumPy arrays posing as CuPy ones: one launch for all the tensors, with a
  grid of one block per chunk and an instance the compile test builds, and the buffer it uploads,
  walked by the NumPy emulation of the kernel's chunk loop, gives the reference's step;
* the pinned ring reuses a slot only after its copy is done.
"""

from __future__ import annotations

import ctypes
import sys
from types import ModuleType, SimpleNamespace

import numpy as np
import pytest

from glassgrad import kernels
from glassgrad.kernels.optim import cuda_multi_tensor as mt
from glassgrad.kernels.optim.spec import ADAM_OPTIONS, SGD_OPTIONS


def test_chunk_pairs_cover_every_element_once() -> None:
    sizes = [0, 1, mt.CHUNK, mt.CHUNK + 1, 3]
    pairs = mt.chunk_pairs(sizes)
    assert pairs.tolist() == [[1, 0], [2, 0], [3, 0], [3, 1], [4, 0]]
    assert mt.chunk_pairs([]).shape == (0, 2)
    assert mt.chunk_pairs([10, 25], chunk=8).tolist() == [[0, 0], [0, 1], [1, 0], [1, 1], [1, 2], [1, 3]]


def test_pack_and_unpack_agree() -> None:
    lists = [[np.zeros(s, np.float32) for s in (5, 0, 70000)] for _ in range(3)]
    words, blocks = mt.pack(lists, [0.5, 2.0])
    scalars, pointers, sizes, pairs = mt.unpack(words, 3, 3)
    assert blocks == 3 == len(pairs)
    assert scalars[:3].tolist() == [0.5, 2.0, 0.0] and len(scalars) == mt.SCALARS
    assert pointers.tolist() == [[a.__array_interface__["data"][0] for a in group] for group in lists]
    assert sizes.tolist() == [5, 0, 70000] and pairs.tolist() == [[0, 0], [2, 0], [2, 1]]
    mt.rewrite_scalars(words, [1.0])
    assert mt.unpack(words, 3, 3)[0][0] == 1.0 and mt.unpack(words, 3, 3)[1].tolist() == pointers.tolist()


def test_scalar_names_are_the_cu_enumerators() -> None:
    text = mt.SOURCE.read_text(encoding="utf-8")
    for prefix, names in (("SGD", mt.SGD_SCALARS), ("ADAM", mt.ADAM_SCALARS)):
        body = text[text.index(f"enum {prefix.capitalize()}Slot") :]
        body = body[: body.index("}")]
        assert [w.strip() for w in body[body.index("{") + 1 :].split(",")] == [f"{prefix}_{n.upper()}" for n in names]
    assert len(mt.ADAM_SCALARS) <= mt.SCALARS


class _DeviceArray(np.ndarray):
    """A NumPy array that answers ``.data.ptr`` as a CuPy array does."""

    @property
    def data(self) -> SimpleNamespace:  # type: ignore[override]
        return SimpleNamespace(ptr=self.__array_interface__["data"][0])


class _Event:
    def __init__(self, **kwargs) -> None:
        self.done, self.records, self.waits = True, 0, 0

    def record(self, stream=None) -> None:
        self.records += 1

    def synchronize(self) -> None:
        self.waits += 1
        self.done = True


def _fake_cupy(copies: list) -> ModuleType:
    """The CuPy calls of the launcher and its pinned ring, on host memory."""
    cupy = ModuleType("cupy")
    cupy.empty = lambda shape, dtype: np.empty(shape, dtype).view(_DeviceArray)

    def memcpy_async(dst, src, nbytes, kind, stream):
        copies.append(nbytes)
        ctypes.memmove(dst, src, nbytes)

    runtime = SimpleNamespace(memcpyAsync=memcpy_async, memcpyHostToDevice=1)
    cupy.cuda = SimpleNamespace(
        alloc_pinned_memory=lambda n: _Pinned(n),
        Event=_Event,
        get_current_stream=lambda: SimpleNamespace(ptr=7),
        runtime=runtime,
    )
    return cupy


class _Pinned:
    """Page-locked memory stand-in: host bytes with a ``.ptr``."""

    def __init__(self, nbytes: int) -> None:
        self.buffer = (ctypes.c_uint8 * nbytes)()
        self.ptr = ctypes.addressof(self.buffer)


@pytest.fixture
def fake_gpu(monkeypatch: pytest.MonkeyPatch):
    """(launches, copies): the kernel launches the launcher made and the bytes it copied to the 'device';
    each launch runs the NumPy emulation on the buffer it was given."""
    launches: list = []
    copies: list = []
    monkeypatch.setitem(sys.modules, "cupy", _fake_cupy(copies))
    monkeypatch.setattr(mt, "_RING", None)
    arrays: dict[int, list] = {}

    def fake_kernel(path, name, name_expressions=(), defines=None):
        assert path == mt.SOURCE and set(name_expressions) == set(mt.INSTANCES) and name in mt.INSTANCES
        assert defines == mt.DEFINES

        def run(grid, block, args):
            table, lists, tensors, chunk, *flags = args
            launches.append((name, grid, block, int(lists), int(tensors), int(chunk)))
            op = name[len("multi_tensor_") : name.index("<")]
            mt.emulate(op, np.asarray(table), arrays["lists"], [int(f) for f in flags])

        return run

    monkeypatch.setattr(mt, "kernel", fake_kernel)
    return launches, copies, arrays


def _device(lists):
    return [None if group is None else [np.ascontiguousarray(a).view(_DeviceArray) for a in group] for group in lists]


# two option sets each (amsgrad's five lists, momentum's three); test_lab validates the emulation on all of them
@pytest.mark.parametrize("options", ADAM_OPTIONS[2:4], ids=[w for w, _ in ADAM_OPTIONS[2:4]])
def test_adam_launcher_is_one_launch_with_the_references_step(fake_gpu, options) -> None:
    launches, copies, arrays = fake_gpu
    what, kwargs = options
    kwargs = dict(kwargs)
    [case] = [c for c in kernels.spec("adam_update_all").cases(np, np.dtype(np.float32)) if what in c.name]
    want = mt.adam_update_all_reference(*case.args, **case.kwargs)
    args = _device(list(case.args))
    arrays["lists"] = mt.adam_lists(*args)
    got = mt.adam_update_all(*args, **case.kwargs)
    [(name, grid, block, lists, tensors, chunk)] = launches
    sizes = [a.size for a in args[0]]
    assert name == "multi_tensor_adam<float>" and lists == (5 if kwargs.get("amsgrad") else 4)
    assert tensors == len(sizes) and chunk == mt.CHUNK
    assert grid == (sum(-(-n // mt.CHUNK) for n in sizes),) and block == (mt.THREADS,)
    assert len(copies) == 1
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("options", SGD_OPTIONS[:2], ids=[w for w, _ in SGD_OPTIONS[:2]])
def test_sgd_launcher_is_one_launch_with_the_references_step(fake_gpu, options) -> None:
    launches, copies, arrays = fake_gpu
    what, _ = options
    [case] = [c for c in kernels.spec("sgd_update_all").cases(np, np.dtype(np.float64)) if what in c.name]
    want = mt.sgd_update_all_reference(*case.args, **case.kwargs)
    args = _device(list(case.args))
    arrays["lists"] = mt.sgd_lists(*args)
    got = mt.sgd_update_all(*args, **case.kwargs)
    [(name, grid, block, lists, tensors, _)] = launches
    assert name == "multi_tensor_sgd<double>" and lists == (3 if args[2] is not None else 2)
    for g, w in zip(got, want, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-14)


def test_no_parameters_no_launch(fake_gpu) -> None:
    launches, copies, _ = fake_gpu
    assert mt.sgd_update_all([], [], None, lr=0.1) == ()
    assert launches == [] and copies == []


def test_the_pinned_ring_reuses_a_slot_after_its_copy(fake_gpu) -> None:
    ring = mt.PinnedRing(slots=2, nbytes=64)
    words = np.arange(4, dtype=np.int64)
    first = ring.upload(words)
    assert first.tolist() == [0, 1, 2, 3]
    ring.upload(words * 2)
    ring.slots[0][2].done = False  # the first slot's copy has not run yet
    third = ring.upload(words * 3)
    assert ring.slots[0][2].waits == 1 and third.tolist() == [0, 3, 6, 9] and len(ring.slots) == 2
    big = np.arange(20, dtype=np.int64)
    assert ring.upload(big).tolist() == list(range(20))  # a bigger slot replaces the small one


def test_bad_lists_are_refused_before_any_update() -> None:
    p = [np.ones(3, np.float32)]
    with pytest.raises(ValueError, match="adam_update_all: list 1 has 2 arrays for 1 parameters"):
        mt.adam_update_all_emulated(p, p * 2, p, p, None, step=1, lr=0.1, beta1=0.9, beta2=0.99, eps=1e-8)
    with pytest.raises(ValueError, match="sgd_update_all: momentum_buffers must be an array"):
        mt.sgd_update_all_emulated(p, p, None, lr=0.1, momentum=0.9)
    assert p[0].tolist() == [1.0, 1.0, 1.0]


def test_the_cuda_variant_is_registered_but_not_the_default() -> None:
    for op in ("sgd_update_all", "adam_update_all"):
        assert kernels.variant(op, "cuda", "multi_tensor")
        assert kernels.default_name(op, "cuda") == "cupy"
        assert not kernels.variant(op, "cuda", "multi_tensor").accepts([np.ones(2, np.float16)], [], None, lr=1)
