"""CUDA Graphs: capture a whole step's kernel launches once, then replay them with one launch.

The API is PyTorch's (torch.cuda.CUDAGraph, torch.cuda.graph), built on CuPy's
stream capture (``Stream.begin_capture``/``end_capture`` → ``cupy.cuda.Graph``,
``graph.launch(stream)``)::

    g = gg.cuda.graphs.CUDAGraph()
    with gg.cuda.graphs.graph(g):          # capture: nothing runs, every launch is recorded
        loss = step(static_x, static_y)
    static_x.array[...] = next_x           # new data goes into the same buffers
    g.replay()                             # the recorded launches, on the current stream

A capture is valid only when the step it records

* reads and writes the same device memory every time: inputs are copied into static buffers the
  step was captured with, and outputs are read from the buffers it wrote (``GraphedStep`` clones
  them after each replay);
* never waits for the GPU or reads a value on the host (``.item()``, ``.numpy()``, ``float(t)``,
  printing a tensor, a shape that depends on the data): the recorded work does not run during
  the capture, so there is nothing to read, and CUDA invalidates the capture; the error is
  raised here as ``CaptureError``, naming the likely causes;
* allocates only from the memory pool the capture owns: ``capture_begin`` makes CuPy allocate
  from a private ``cupy.cuda.MemoryPool`` until ``capture_end``, so no allocation of the eager
  code between replays can be handed memory that the graph's temporaries use;
* has host-side state that changes per step (Adam's step t, a scheduled lr) read from device
  memory that the host rewrites before each replay (``before_replay`` hooks; see
  glassgrad/cuda/optimizer.py), because a kernel argument is frozen into the graph.

``GraphedStep`` adds the usual protocol: warm-up calls run eagerly on a side stream (compiling
every kernel, creating the optimizer's state), the next call captures, and later calls copy
their inputs into the static buffers and replay. Not yet run on a GPU: the capture logic is
tested on the cpu with stand-in streams and graphs (tests/cuda/test_graphs.py).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ..engine.grad_mode import no_grad
from ..engine.tensor import Tensor

_ACTIVE: list[CUDAGraph] = []  # the capture in progress, if any (one at a time per process)

CAPTURE_MESSAGE = (
    "the captured step synchronised with the host or used an operation a capture cannot record: "
    "a .item(), .numpy(), .tolist(), float()/bool() of a tensor, printing a tensor, cupy.asnumpy, a "
    "synchronize(), a shape or branch that depends on the data (nonzero, boolean masks), or a copy "
    "from pageable host memory. Move it out of the captured step (read results after replay())"
)


class CaptureError(RuntimeError):
    """A step cannot be captured: it synchronised with the host or did something a graph cannot hold."""


def _cupy() -> Any:
    import cupy

    return cupy


def is_capturing() -> bool:
    """Whether a CUDAGraph capture is in progress in this process (launches are recorded, not run)."""
    return bool(_ACTIVE)


def _is_capture_violation(error: BaseException) -> bool:
    """Whether ``error`` is CUDA refusing an operation because a stream is capturing."""
    text = str(error)  # CUDA's names: cudaErrorStreamCaptureUnsupported, ...Invalidated, ...Implicit, ...
    return "cudaErrorStreamCapture" in text or "not permitted when stream is capturing" in text


class CUDAGraph:
    """One captured sequence of GPU work and the memory pool it allocated from.

    ``before_replay`` is a list of callables run (in order) by ``replay`` just before the launch:
    they rewrite what the graph reads from device memory for this replay.
    """

    def __init__(self) -> None:
        self._graph: Any = None
        self._pool: Any = None
        self._stream: Any = None
        self._allocator: Any = None
        self.before_replay: list[Callable[[], None]] = []

    def capture_begin(self, pool: Any = None, stream: Any = None) -> None:
        """Wait for the device, switch CuPy to this graph's pool and start recording on ``stream`` (a new
        non-blocking stream by default: the legacy default stream cannot capture)."""
        cupy = _cupy()
        if self._graph is not None:
            raise RuntimeError("CUDAGraph.capture_begin: this graph already holds a capture; call reset() first")
        if _ACTIVE:
            raise RuntimeError("CUDAGraph.capture_begin: another capture is in progress (captures do not nest)")
        self._pool = pool if pool is not None else cupy.cuda.MemoryPool()
        self._stream = stream if stream is not None else cupy.cuda.Stream(non_blocking=True)
        cupy.cuda.Device().synchronize()  # the eager work before the capture is done
        self._allocator = cupy.cuda.get_allocator()
        cupy.cuda.set_allocator(self._pool.malloc)
        self._stream.__enter__()
        _ACTIVE.append(self)
        try:
            self._stream.begin_capture()
        except BaseException:
            self._restore()
            raise

    def _restore(self) -> None:
        """Leave the capture stream and give CuPy its allocator back."""
        if self in _ACTIVE:
            _ACTIVE.remove(self)
        self._stream.__exit__(None, None, None)
        _cupy().cuda.set_allocator(self._allocator)

    def capture_end(self) -> None:
        """Stop recording; the graph is ready to replay."""
        if self not in _ACTIVE:
            raise RuntimeError("CUDAGraph.capture_end: no capture in progress (call capture_begin first)")
        try:
            self._graph = self._stream.end_capture()
        except Exception as err:
            if _is_capture_violation(err):
                raise CaptureError(f"CUDAGraph.capture_end: {CAPTURE_MESSAGE}") from err
            raise
        finally:
            self._restore()

    def abort(self) -> None:
        """End a capture that failed part-way (its graph is dropped) and restore CuPy's state."""
        if self not in _ACTIVE:
            return
        try:
            if self._stream.is_capturing():
                self._stream.end_capture()
        except Exception:  # an invalidated capture cannot end cleanly; its graph is dropped either way
            pass
        finally:
            self._restore()
        self._graph = None

    def replay(self) -> None:
        """Run the ``before_replay`` hooks, then launch the recorded work on the current stream."""
        if self._graph is None:
            raise RuntimeError("CUDAGraph.replay: nothing was captured (capture_begin ... capture_end first)")
        for hook in self.before_replay:
            hook()
        self._graph.launch(_cupy().cuda.get_current_stream())

    def reset(self) -> None:
        """Drop the captured graph (its pool stays with this object)."""
        self._graph = None

    def pool(self) -> Any:
        """The memory pool the capture allocated from (pass it to another capture to share it)."""
        return self._pool

    @property
    def captured(self) -> bool:
        return self._graph is not None


class graph:  # noqa: N801 - PyTorch's name: with torch.cuda.graph(g): ...
    """``with graph(g):`` captures the block into CUDAGraph ``g``; an error inside ends the capture,
    restores CuPy's stream and allocator, and a sync inside is raised as CaptureError."""

    def __init__(self, cuda_graph: CUDAGraph, pool: Any = None, stream: Any = None) -> None:
        if not isinstance(cuda_graph, CUDAGraph):
            raise TypeError(f"graph: expected a CUDAGraph, got {type(cuda_graph).__name__}")
        self.cuda_graph, self.pool, self.stream = cuda_graph, pool, stream

    def __enter__(self) -> CUDAGraph:
        self.cuda_graph.capture_begin(self.pool, self.stream)
        return self.cuda_graph

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> bool:
        if exc is None:
            self.cuda_graph.capture_end()
            return False
        self.cuda_graph.abort()
        if _is_capture_violation(exc) and not isinstance(exc, CaptureError):
            raise CaptureError(f"graph: {CAPTURE_MESSAGE}") from exc
        return False


def _signature(inputs: Sequence[Tensor]) -> tuple[Any, ...]:
    return tuple((t.shape, str(t.dtype), t.device) for t in inputs)


def _clone(out: Any) -> Any:
    """A fresh copy of every tensor in ``out`` (a tensor, None, or a tuple/list of them)."""
    if isinstance(out, tuple | list):
        return type(out)(_clone(x) for x in out)
    if isinstance(out, Tensor):
        with no_grad():
            return out.detach().clone()
    return out


class GraphedStep:
    """``fn(*inputs)`` (tensors in, a tensor or a tuple/list of tensors or None out) run as a CUDA graph.

    Calls 1 … ``warmup`` run ``fn`` eagerly on a side stream; call ``warmup + 1`` captures it on
    static copies of its inputs and replays it once; later calls copy their inputs into those
    buffers and replay. A call whose inputs have other shapes or dtypes than the captured ones
    (a last, smaller batch) runs ``fn`` eagerly instead (``eager_calls`` counts them). The outputs
    returned are clones, so that the next replay does not overwrite what the caller holds.
    ``before_replay`` hooks run before every replay (and are given to the graph).
    """

    def __init__(
        self, fn: Callable[..., Any], warmup: int = 3, before_replay: Sequence[Callable[[], None]] = ()
    ) -> None:
        if isinstance(warmup, bool) or not isinstance(warmup, int) or warmup < 1:
            raise ValueError(
                f"GraphedStep: warmup must be an integer >= 1 (the eager steps that compile the kernels "
                f"and create the optimizer's state before the capture), got {warmup!r}"
            )
        self.fn, self.warmup = fn, warmup
        self.graph = CUDAGraph()
        self.graph.before_replay.extend(before_replay)
        self.static_inputs: list[Tensor] | None = None
        self.static_outputs: Any = None
        self.calls = self.replays = self.eager_calls = 0
        self._signature: tuple[Any, ...] | None = None

    def __call__(self, *inputs: Tensor) -> Any:
        for i, t in enumerate(inputs):
            if not isinstance(t, Tensor):
                raise TypeError(f"GraphedStep: input {i} must be a Tensor, got {type(t).__name__}")
        signature = _signature(inputs)
        if self._signature is None:
            self._signature = signature
            self.static_inputs = [Tensor(t.xp.empty_like(t.array)) for t in inputs]
        if signature != self._signature:
            self.eager_calls += 1
            return self.fn(*inputs)
        for static, t in zip(self.static_inputs, inputs, strict=True):
            static.array[...] = t.array
        self.calls += 1
        if self.calls <= self.warmup:
            return self._side_stream(self.static_inputs)
        if not self.graph.captured:
            with graph(self.graph):
                self.static_outputs = self.fn(*self.static_inputs)
        self.graph.replay()
        self.replays += 1
        return _clone(self.static_outputs)

    def _side_stream(self, inputs: list[Tensor]) -> Any:
        """One eager call on a side stream that waits for the current one, and is waited for."""
        cupy = _cupy()
        current = cupy.cuda.get_current_stream()
        side = getattr(self, "_side", None) or cupy.cuda.Stream(non_blocking=True)
        self._side = side
        side.wait_event(current.record())
        with side:
            out = self.fn(*inputs)
        current.wait_event(side.record())
        return out
