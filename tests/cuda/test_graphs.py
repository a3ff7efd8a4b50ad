"""CUDA graphs of training steps (glassgrad/cuda/): the capture logic on the cpu, the losses on a GPU.

Without a GPU, CuPy is replaced by a stand-in whose streams record "launches" (closures) while
capturing and whose graphs run them again on replay, so the tests see the order of warm-up,
capture and replay, that replays read the static input buffers and refreshed scalars, that the
allocator and stream are restored, and that a sync inside a capture is a CaptureError. The
capturable optimizer step is checked against glassgrad's own SGD/Adam/AdamW steps through the
NumPy emulation of the multi-tensor kernel, replay after replay (Adam's bias correction and a
changing lr come from the refreshed scalars). On a GPU (marker ``gpu``): the captured MLP and
mnist-cnn steps give the eager losses, step for step.
"""

from __future__ import annotations

import ctypes
import sys
from types import ModuleType, SimpleNamespace

import numpy as np
import pytest

import glassgrad as gg
import glassgrad.nn as nn
import glassgrad.nn.functional as F
from glassgrad import optim
from glassgrad.cli import main
from glassgrad.cuda import graphs
from glassgrad.cuda.optimizer import MultiTensorStep
from glassgrad.cuda.training import check_graphable
from glassgrad.kernels.optim import cuda_multi_tensor as mt
from glassgrad.training.task import SupervisedTask


class _CaptureUnsupportedError(RuntimeError):
    """What CuPy raises for an operation CUDA refuses during a capture."""


class _Stream:
    def __init__(self, log: list, name: str) -> None:
        self.log, self.name, self.capturing, self.recorded, self.ptr = log, name, False, [], id(self)

    def __enter__(self) -> _Stream:
        self.previous = _FAKE.current
        _FAKE.current = self
        return self

    def __exit__(self, *exc) -> None:
        _FAKE.current = self.previous

    def begin_capture(self) -> None:
        self.log.append("begin_capture")
        self.capturing, self.recorded = True, []

    def end_capture(self) -> _Graph:
        self.log.append("end_capture")
        self.capturing = False
        return _Graph(self.log, list(self.recorded))

    def is_capturing(self) -> bool:
        return self.capturing

    def synchronize(self) -> None:
        if self.capturing:
            raise _CaptureUnsupportedError(
                "cudaErrorStreamCaptureUnsupported: operation not permitted when stream is capturing"
            )

    def record(self, event=None) -> str:
        return f"event on {self.name}"

    def wait_event(self, event) -> None:
        self.log.append(f"{self.name} waits for {event}")


class _Graph:
    def __init__(self, log: list, launches: list) -> None:
        self.log, self.launches = log, launches

    def launch(self, stream) -> None:
        self.log.append(f"replay on {stream.name}")
        for fn in self.launches:
            fn()


class _Fake:
    current: _Stream


_FAKE = _Fake()


def run_kernel(fn) -> None:
    """A 'kernel launch': recorded by a capturing stream, else run now."""
    stream = _FAKE.current
    if stream.capturing:
        stream.recorded.append(fn)
    else:
        fn()


@pytest.fixture
def fake_cupy(monkeypatch: pytest.MonkeyPatch):
    log: list[str] = []
    allocator = {"now": "default allocator"}
    _FAKE.current = _Stream(log, "current")
    cupy = ModuleType("cupy")

    class MemoryPool:
        def malloc(self, nbytes):  # pragma: no cover - never called by the stand-in arrays
            raise AssertionError

    streams = iter(range(100))
    cupy.cuda = SimpleNamespace(
        MemoryPool=MemoryPool,
        Stream=lambda non_blocking=False: _Stream(log, f"stream{next(streams)}"),
        get_current_stream=lambda: _FAKE.current,
        Device=lambda: SimpleNamespace(synchronize=lambda: log.append("device synchronize")),
        get_allocator=lambda: allocator["now"],
        set_allocator=lambda a: allocator.__setitem__("now", a),
        alloc_pinned_memory=_Pinned,
        Event=_Event,
        runtime=SimpleNamespace(memcpyAsync=_memcpy, memcpyHostToDevice=1),
    )
    cupy.empty = lambda shape, dtype: np.empty(shape, dtype)
    monkeypatch.setitem(sys.modules, "cupy", cupy)
    monkeypatch.setattr(mt, "_RING", None)
    return SimpleNamespace(log=log, allocator=allocator)


class _Pinned:
    def __init__(self, nbytes: int) -> None:
        self.buffer = (ctypes.c_uint8 * nbytes)()
        self.ptr = ctypes.addressof(self.buffer)


class _Event:
    def __init__(self, **kwargs) -> None:
        self.done = True

    def record(self, stream=None) -> None:
        pass


def _memcpy(dst, src, nbytes, kind, stream) -> None:
    data = bytes((ctypes.c_uint8 * nbytes).from_address(src))  # read now: a later refresh rewrites the slot
    run_kernel(lambda: ctypes.memmove(dst, data, nbytes))


def _summing_step(calls: list):
    """fn(x) -> a tensor holding x's sum, computed by a 'kernel' that replays read the static x."""

    def fn(x):
        calls.append(_FAKE.current.name)
        out = gg.zeros(1)
        run_kernel(lambda: out.array.__setitem__(0, x.array.sum()))
        return out

    return fn


def test_warm_up_on_a_side_stream_then_capture_then_replay(fake_cupy) -> None:
    calls: list[str] = []
    step = graphs.GraphedStep(_summing_step(calls), warmup=2)
    results = [float(step(gg.tensor([1.0, float(i)])).item()) for i in range(5)]
    assert results == [1.0, 2.0, 3.0, 4.0, 5.0]  # every call computed on its own input
    assert calls == ["stream0", "stream0", "stream1"]  # 2 warm-ups on the side stream, the capture, no more
    log = fake_cupy.log
    assert log[:2] == ["stream0 waits for event on current", "current waits for event on stream0"]
    assert log[4:] == ["device synchronize", "begin_capture", "end_capture", "replay on current", "replay on current",
                       "replay on current"]  # fmt: skip
    assert step.replays == 3 and step.eager_calls == 0 and step.graph.captured
    assert fake_cupy.allocator["now"] == "default allocator" and not graphs.is_capturing()
    assert _FAKE.current.name == "current"


def test_replays_reuse_the_static_inputs_and_return_clones(fake_cupy) -> None:
    step = graphs.GraphedStep(_summing_step([]), warmup=1)
    step(gg.tensor([0.0]))
    static = step.static_inputs[0]
    first = step(gg.tensor([2.0]))
    second = step(gg.tensor([3.0]))
    assert step.static_inputs[0] is static and static.array.tolist() == [3.0]
    assert first.item() == 2.0 and second.item() == 3.0  # the first result survived the next replay


def test_a_batch_of_another_shape_runs_eagerly(fake_cupy) -> None:
    calls: list[str] = []
    step = graphs.GraphedStep(_summing_step(calls), warmup=1)
    step(gg.tensor([1.0, 1.0]))
    step(gg.tensor([1.0, 2.0]))
    assert step(gg.tensor([5.0])).item() == 5.0
    assert step.eager_calls == 1 and calls[-1] == "current" and step.replays == 1


def test_the_allocator_is_the_graphs_pool_during_capture(fake_cupy) -> None:
    seen = []
    g = graphs.CUDAGraph()
    with graphs.graph(g):
        seen.append(fake_cupy.allocator["now"])
        seen.append(graphs.is_capturing())
    assert seen == [g.pool().malloc, True]
    assert fake_cupy.allocator["now"] == "default allocator"


def test_a_sync_inside_the_capture_is_a_capture_error_and_state_is_restored(fake_cupy) -> None:
    def syncing(x):
        out = x * 2
        _FAKE.current.synchronize()  # what .item() does
        return out

    step = graphs.GraphedStep(syncing, warmup=1)
    step(gg.tensor([1.0]))
    with pytest.raises(graphs.CaptureError, match=r"synchronised with the host .*\.item\(\)"):
        step(gg.tensor([1.0]))
    assert not graphs.is_capturing() and not step.graph.captured
    assert fake_cupy.allocator["now"] == "default allocator" and _FAKE.current.name == "current"


def test_misuse_is_refused(fake_cupy) -> None:
    g = graphs.CUDAGraph()
    with pytest.raises(RuntimeError, match="CUDAGraph.replay: nothing was captured"):
        g.replay()
    with pytest.raises(RuntimeError, match="capture_end: no capture in progress"):
        g.capture_end()
    with graphs.graph(g):
        with pytest.raises(RuntimeError, match="another capture is in progress"):
            graphs.CUDAGraph().capture_begin()
    with pytest.raises(RuntimeError, match="already holds a capture"):
        g.capture_begin()
    with pytest.raises(ValueError, match="warmup must be an integer >= 1"):
        graphs.GraphedStep(lambda x: x, warmup=0)
    with pytest.raises(TypeError, match="graph: expected a CUDAGraph"):
        graphs.graph("g")
    with pytest.raises(TypeError, match="input 0 must be a Tensor"):
        graphs.GraphedStep(lambda x: x)(np.ones(2))


def test_before_replay_hooks_run_before_each_launch(fake_cupy) -> None:
    step = graphs.GraphedStep(_summing_step([]), warmup=1, before_replay=[lambda: fake_cupy.log.append("hook")])
    for _ in range(3):
        step(gg.tensor([1.0]))
    assert [e for e in fake_cupy.log if e in ("hook", "replay on current")] == ["hook", "replay on current"] * 2


# ------------------------------------------------------------ the optimizer
def _model_and_batches(seed: int = 0):
    gg.manual_seed(seed)
    model = nn.Sequential(nn.Linear(5, 7), nn.Tanh(), nn.Linear(7, 3))
    rng = np.random.default_rng(seed)
    batches = [(rng.standard_normal((4, 5)).astype(np.float32), rng.integers(0, 3, 4)) for _ in range(5)]
    return model, batches


OPTIMIZERS = {
    "adam": lambda p: optim.Adam(p, lr=0.01, weight_decay=0.01),
    "adamw amsgrad": lambda p: optim.AdamW(p, lr=0.02, amsgrad=True),
    "sgd nesterov": lambda p: optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01),
    "sgd": lambda p: optim.SGD(p, lr=0.1),
}


def _losses(make_optimizer, stepper=None, schedule: bool = False) -> tuple[list[float], list]:
    model, batches = _model_and_batches()
    opt = make_optimizer(model.parameters())
    scheduler = optim.lr_scheduler.LambdaLR(opt, lambda i: 1 / (1 + i)) if schedule else None
    step = (stepper or (lambda o: o))(opt)
    losses = []
    for x, y in batches:
        opt.zero_grad(set_to_none=False)  # the gradients stay in the arrays a captured step reads
        loss = F.cross_entropy(model(gg.tensor(x)), gg.tensor(y))
        loss.backward()
        step.step()
        if scheduler is not None:
            scheduler.step()
        losses.append(loss.item())
    return losses, [p.array.copy() for p in model.parameters()]


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_multi_tensor_step_is_the_optimizers_step(name: str) -> None:
    want, want_params = _losses(OPTIMIZERS[name])
    got, got_params = _losses(OPTIMIZERS[name], MultiTensorStep)
    np.testing.assert_allclose(got, want, rtol=1e-6)
    for g, w in zip(got_params, want_params, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("name", ["adam", "sgd nesterov"])
def test_captured_optimizer_step_replays_with_refreshed_scalars(fake_cupy, monkeypatch, name: str) -> None:
    """Forward and backward run eagerly each step (numpy); the optimizer step is warmed up once, captured
    and replayed: its parameters follow the eager optimizer's, Adam's step count and the lr schedule too."""
    launched = []

    def fake_launch(op, dtype, table, lists, tensors, blocks, flags):
        launched.append(op)
        arrays = fake_launch.lists
        run_kernel(lambda: mt.emulate(op, np.asarray(table), arrays, flags))

    monkeypatch.setattr(mt, "launch", fake_launch)
    real_record = MultiTensorStep._record

    def record(self, op, lists, scalars, flags):
        fake_launch.lists = lists
        return real_record(self, op, lists, scalars, flags)

    monkeypatch.setattr(MultiTensorStep, "_record", record)

    class Captured:
        """step(): eager first, then a capture on the first call after, then replays."""

        def __init__(self, opt) -> None:
            self.inner, self.graph, self.calls, self.opt = MultiTensorStep(opt), graphs.CUDAGraph(), 0, opt
            self.graph.before_replay.append(self.inner.refresh)

        def step(self) -> None:
            self.calls += 1
            if self.calls == 1:
                return self.inner.step()
            if not self.graph.captured:
                with graphs.graph(self.graph):
                    self.inner.step()
            self.graph.replay()

    want, want_params = _losses(OPTIMIZERS[name], schedule=True)
    got, got_params = _losses(OPTIMIZERS[name], Captured, schedule=True)
    assert launched == [("adam" if "adam" in name else "sgd")]  # captured once
    np.testing.assert_allclose(got, want, rtol=1e-6)
    for g, w in zip(got_params, want_params, strict=True):
        np.testing.assert_allclose(g, w, rtol=1e-5, atol=1e-7)


def test_capturing_an_optimizer_without_state_is_refused(fake_cupy) -> None:
    model, (batch, *_) = _model_and_batches()
    opt = optim.Adam(model.parameters())
    F.cross_entropy(model(gg.tensor(batch[0])), gg.tensor(batch[1])).backward()
    with pytest.raises(RuntimeError, match="no optimizer state yet; run at least one step eagerly"):
        with graphs.graph(graphs.CUDAGraph()):
            MultiTensorStep(opt).step()
    assert opt.state == {} or all(not s for s in opt.state.values())


# ------------------------------------------------------------- the trainer
def _task(**changes) -> SupervisedTask:
    model = changes.pop("model", None) or nn.Sequential(nn.Linear(4, 3))
    opt = changes.pop("optimizer", None) or optim.Adam(model.parameters())
    fields = dict(model=model, loss_fn=F.cross_entropy, optimizer=opt, train_loader=[], device="cuda") | changes
    task = SupervisedTask.__new__(SupervisedTask)  # no GradScaler: nothing here touches a GPU
    task.__dict__.update(fields, precision=changes.get("precision", "fp32"))
    return task


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        (dict(device="cpu"), "--cuda-graph needs --device cuda"),
        (dict(precision="fp16"), "--precision fp16 is refused: its GradScaler reads on the host"),
        (dict(optimizer="rmsprop"), "takes SGD, Adam or AdamW"),
        (dict(model=nn.Sequential(nn.Linear(4, 3), nn.Dropout(0.1))), r"model's 1 is Dropout\(p=0.1\)"),
    ],
)
def test_steps_a_graph_cannot_hold_are_refused(changes, message: str) -> None:
    if changes.get("optimizer") == "rmsprop":
        changes["optimizer"] = optim.RMSprop(nn.Linear(2, 2).parameters())
    with pytest.raises(ValueError, match=message):
        check_graphable(_task(**changes))


def test_graphed_task_warms_up_captures_and_steps_the_scheduler_on_the_host(fake_cupy, monkeypatch) -> None:
    """The trainer's view: every train_step is one optimizer step and one scheduler step; the first three
    run eagerly, the fourth captures, later ones replay; the task's other attributes are the task's."""
    from glassgrad.cuda import training

    monkeypatch.setattr(training, "to_device", lambda batch, device: batch)  # the stand-in 'cuda' is numpy
    launches = []
    monkeypatch.setattr(mt, "launch", lambda *args: launches.append(args[0]))
    model, batches = _model_and_batches()
    opt = optim.Adam(model.parameters(), lr=0.01)
    scheduler = optim.lr_scheduler.LambdaLR(opt, lambda i: 1 / (1 + i))
    task = _task(model=model, optimizer=opt, scheduler=scheduler, count_correct=None, train_loader=batches)
    graphed = training.graphed_task(task)
    results = [graphed.train_step((gg.tensor(x), gg.tensor(y))) for x, y in batches]
    assert graphed.step.calls == 5 and graphed.step.replays == 2 and launches == ["adam"]
    assert scheduler.last_epoch == 5 and opt.param_groups[0]["lr"] == pytest.approx(0.01 / 6)
    assert graphed.stepper.steps == 5 and opt.state[next(iter(model.parameters()))]["step"] == 5
    assert all(r.count == 4 and r.correct is None and r.loss_sum.shape == () for r in results)
    assert graphed.train_loader is batches and graphed.optimizers() == {"optimizer": opt}


def test_train_refuses_cuda_graph_on_the_cpu(tmp_path, capsys) -> None:
    out = tmp_path / "run"
    assert main(["train", "mlp-tiny", "--cuda-graph", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "--cuda-graph needs --device cuda: a CUDA graph replays recorded GPU work, and this run is on cpu" in err
    assert not out.exists()


def test_gg_cuda_is_the_package_and_keeps_is_available() -> None:
    assert gg.cuda.graphs is graphs and isinstance(gg.cuda.is_available(), bool)


# ------------------------------------------------------------------ on a GPU
def _mlp() -> nn.Module:
    return nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 10))


def _mnist_cnn() -> nn.Module:
    from glassgrad.recipes.mnist_cnn import build_model

    return build_model()


GPU_MODELS = {"mlp": (_mlp, (32, 784)), "mnist-cnn": (_mnist_cnn, (16, 1, 28, 28))}


def _gpu_losses(build, shape, graphed: bool, steps: int = 8) -> list[float]:
    from glassgrad.cuda.training import graphed_task

    gg.manual_seed(0)
    model = build().to("cuda")
    opt = optim.Adam(model.parameters(), lr=1e-3)
    scheduler = optim.lr_scheduler.LambdaLR(opt, lambda i: 1 / (1 + 0.1 * i))
    rng = np.random.default_rng(0)
    batches = [
        (gg.tensor(rng.standard_normal(shape).astype(np.float32)), gg.tensor(rng.integers(0, 10, shape[0])))
        for _ in range(steps)
    ]
    task = SupervisedTask(model, F.cross_entropy, opt, batches, device="cuda", scheduler=scheduler)
    if graphed:
        task = graphed_task(task, warmup=3)
    losses = [task.train_step(b).loss_sum for b in batches]
    return [float(t.item()) / shape[0] for t in losses]


@pytest.mark.gpu
@pytest.mark.parametrize("name", list(GPU_MODELS))
def test_captured_step_gives_the_eager_losses(name: str) -> None:
    """3 eager warm-up steps, the capture, then replays: 8 steps (5 of them replayed) as eagerly."""
    build, shape = GPU_MODELS[name]
    eager = _gpu_losses(build, shape, graphed=False)
    graphed = _gpu_losses(build, shape, graphed=True)
    np.testing.assert_allclose(graphed, eager, rtol=1e-4, atol=1e-6)
    assert eager[-1] < eager[0]
