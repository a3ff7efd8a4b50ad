"""Training on cuda: the same losses as on the cpu, and no host round-trips inside a step.

* An MLP and mnist-cnn, built on the cpu from one seed, one copy moved to
  cuda, trained a few Adam steps on the same batches: the losses agree to
  float32 tolerance (the GPU sums in a different order, and Adam divides by
  √v, so a few ulps grow a little over the steps).
* A training step never waits for the GPU. Counters on the Python-level exits
  (``cupy.asnumpy``, stream and device ``synchronize``, where CuPy lets them be
  patched) must stay at zero; and, since ``ndarray.get``/``__float__`` live in
  compiled code that cannot be patched, the step also runs while a spin kernel
  keeps the GPU busy for seconds: if anything in the step copied to the host
  or synchronised, the step could not return before the spin kernel ends.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

import glassgrad as gg
import glassgrad.nn as nn
import glassgrad.nn.functional as F
from glassgrad import optim

pytestmark = pytest.mark.gpu


def mlp() -> nn.Module:
    return nn.Sequential(nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 64), nn.ReLU(), nn.Linear(64, 10))


def mnist_cnn() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 32, 3),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(64, 64, 3),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(576, 64),
        nn.ReLU(),
        nn.Linear(64, 10),
    )


MODELS = {"mlp": (mlp, (32, 784)), "mnist-cnn": (mnist_cnn, (16, 1, 28, 28))}


def _batches(shape: tuple[int, ...], steps: int) -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(0)
    return [
        (rng.standard_normal(shape).astype(np.float32), rng.integers(0, 10, shape[0]).astype(np.int64))
        for _ in range(steps)
    ]


def _train(build, device: str, batches) -> list[float]:
    gg.manual_seed(0)
    model = build().to(device)
    opt = optim.Adam(model.parameters(), lr=1e-3)
    losses = []
    for x, y in batches:
        opt.zero_grad()
        loss = F.cross_entropy(model(gg.tensor(x, device=device)), gg.tensor(y, device=device))
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


@pytest.mark.parametrize("name", list(MODELS))
def test_losses_on_cuda_match_cpu(name: str) -> None:
    build, shape = MODELS[name]
    batches = _batches(shape, 1) * 6  # one batch six times: the loss must fall
    cpu, cuda = _train(build, "cpu", batches), _train(build, "cuda", batches)
    np.testing.assert_allclose(cuda, cpu, rtol=1e-3, atol=1e-5)
    assert cpu[-1] < cpu[0]  # it trains


SPIN = r"""
extern "C" __global__ void spin(long long cycles) {
    const long long start = clock64();
    while (clock64() - start < cycles) {}
}
"""


def _spin_gpu(seconds: float):
    """Launch a one-thread kernel that keeps the current stream busy for ``seconds``; its end event."""
    import cupy

    clock_khz = cupy.cuda.runtime.getDeviceProperties(cupy.cuda.Device().id)["clockRate"]
    cupy.RawKernel(SPIN, "spin")((1,), (1,), (np.int64(seconds * clock_khz * 1e3),))
    done = cupy.cuda.Event()
    done.record()
    return done


class _Counters:
    """Count calls of the patchable host-sync entry points of CuPy."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        import cupy

        self.calls: dict[str, int] = {}
        self.patched: list[str] = []
        targets = [
            (cupy, "asnumpy"),
            (cupy.ndarray, "get"),
            (cupy.cuda.Stream, "synchronize"),
            (cupy.cuda.Device, "synchronize"),
            (cupy.cuda.runtime, "deviceSynchronize"),
            (cupy.cuda.runtime, "streamSynchronize"),
        ]
        for owner, name in targets:
            label = f"{getattr(owner, '__name__', owner)}.{name}"
            original = getattr(owner, name)

            def counted(*args, _original=original, _label=label, **kwargs):
                self.calls[_label] = self.calls.get(_label, 0) + 1
                return _original(*args, **kwargs)

            try:
                monkeypatch.setattr(owner, name, counted)
                self.patched.append(label)
            except (TypeError, AttributeError):  # compiled (Cython) types cannot be patched
                pass


@pytest.mark.parametrize("loss_name", ["mse", "cross_entropy"])
@pytest.mark.parametrize("name", list(MODELS))
def test_a_training_step_never_waits_for_the_gpu(name: str, loss_name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import cupy

    build, shape = MODELS[name]
    gg.manual_seed(0)
    model = build().to("cuda")
    opt = optim.Adam(model.parameters(), lr=1e-3)
    x_np, y_np = _batches(shape, 1)[0]
    x, y = gg.tensor(x_np, device="cuda"), gg.tensor(y_np, device="cuda")
    target = gg.tensor(np.eye(10, dtype=np.float32)[y_np], device="cuda")

    def step() -> None:
        opt.zero_grad()
        out = model(x)
        loss = F.mse_loss(out, target) if loss_name == "mse" else F.cross_entropy(out, y)
        loss.backward()
        opt.step()

    step()  # compile every kernel and fill the memory pool first
    step()
    cupy.cuda.Device().synchronize()

    counters = _Counters(monkeypatch)
    done = _spin_gpu(3.0)
    start = time.perf_counter()
    step()
    host_seconds = time.perf_counter() - start
    still_busy = not done.done
    monkeypatch.undo()
    done.synchronize()
    assert counters.calls == {}, f"host syncs during a step: {counters.calls} (patched: {counters.patched})"
    assert still_busy, (
        f"the step returned only after the GPU went idle ({host_seconds:.2f} s on the host): something in it "
        "copied to the host or synchronised"
    )
