"""What a training step costs on cuda beyond its kernels, and the new step kernels against the references.

* Allocations: after warm-up, a step takes all its memory from CuPy's pool (no cudaMalloc:
  ``alloc`` hook calls stay 0); the pool requests per step are counted and printed (eager
  per-parameter Adam, eager multi-tensor Adam, the captured step), and the captured step makes
  only the few the trainer's copies of its results need.
* The captured step (glassgrad/cuda/training.py) never waits for the GPU: it returns while a
  spin kernel keeps the GPU busy, as tests/gpu/test_training_cuda.py checks for the eager step.
* The multi-tensor optimizer kernels and the generated elementwise kernels (dropout's Philox mask
  too, which must equal the CuPy reference's bit for bit) pass ``kernels.validate`` on cuda
  (awkward sizes: empty tensors, one element, a chunk and a bit).
"""

from __future__ import annotations

import time

import numpy as np
import pytest

import glassgrad as gg
import glassgrad.nn as nn
import glassgrad.nn.functional as F
from glassgrad import kernels, optim

pytestmark = pytest.mark.gpu


def _mlp() -> nn.Module:
    return nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(), nn.Linear(256, 10))


class _Counter:
    """Pool requests (malloc) and driver allocations (alloc) while active."""

    def __init__(self) -> None:
        import cupy

        counter = self
        self.pool = self.driver = 0

        class Hook(cupy.cuda.MemoryHook):
            name = "glassgrad-step-allocations"

            def malloc_preprocess(self, **kwargs):
                counter.pool += 1

            def alloc_preprocess(self, **kwargs):
                counter.driver += 1

        self.hook = Hook()

    def __enter__(self) -> _Counter:
        self.hook.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self.hook.__exit__(*exc)


def _task(graphed: bool, multi_tensor: bool):
    from glassgrad.cuda.optimizer import MultiTensorStep
    from glassgrad.cuda.training import graphed_task
    from glassgrad.training.task import SupervisedTask

    gg.manual_seed(0)
    model = _mlp().to("cuda")
    opt = optim.Adam(model.parameters(), lr=1e-3)
    task = SupervisedTask(model, F.cross_entropy, opt, [], device="cuda")
    if graphed:
        return graphed_task(task)
    if multi_tensor:
        task.optimizer = MultiTensorStep(opt)
    return task


@pytest.mark.parametrize(("graphed", "multi_tensor"), [(False, False), (False, True), (True, True)])
def test_a_steady_step_allocates_only_from_the_pool(graphed: bool, multi_tensor: bool, capsys) -> None:
    import cupy

    task = _task(graphed, multi_tensor)
    rng = np.random.default_rng(0)
    batch = (gg.tensor(rng.standard_normal((64, 784)).astype(np.float32), device="cuda"),
             gg.tensor(rng.integers(0, 10, 64), device="cuda"))  # fmt: skip
    for _ in range(5):
        task.train_step(batch)
    cupy.cuda.Device().synchronize()
    with _Counter() as counter:
        for _ in range(3):
            task.train_step(batch)
        cupy.cuda.Device().synchronize()
    with capsys.disabled():
        print(f"\n[step allocations] graphed={graphed} multi_tensor={multi_tensor}: {counter.pool / 3:.0f} pool "
              f"requests and {counter.driver / 3:.1f} cudaMalloc per step")  # fmt: skip
    assert counter.driver == 0
    if graphed:
        assert counter.pool <= 3 * 4  # the clones of the results (and the scalars' buffer needs none)


def test_a_captured_step_never_waits_for_the_gpu() -> None:
    import cupy
    from test_training_cuda import _spin_gpu  # tests/gpu is on sys.path (pytest prepends it)

    task = _task(graphed=True, multi_tensor=True)
    rng = np.random.default_rng(1)
    batch = (gg.tensor(rng.standard_normal((32, 784)).astype(np.float32), device="cuda"),
             gg.tensor(rng.integers(0, 10, 32), device="cuda"))  # fmt: skip
    for _ in range(5):
        task.train_step(batch)
    cupy.cuda.Device().synchronize()
    done = _spin_gpu(3.0)
    start = time.perf_counter()
    task.train_step(batch)
    seconds = time.perf_counter() - start
    busy = not done.done
    done.synchronize()
    assert busy, f"the captured step returned only after the GPU went idle ({seconds:.2f} s)"


@pytest.mark.parametrize("op", ["sgd_update_all", "adam_update_all"])
def test_multi_tensor_kernels_pass_validation(op: str) -> None:
    report = kernels.validate(op, "multi_tensor", "cuda")
    assert report.passed, str(report)


GENERATED = ["gelu", "gelu_backward", "silu", "silu_backward", "sigmoid", "sigmoid_backward", "tanh_backward",
             "bias_act", "bias_act_backward", "dropout", "dropout_backward"]  # fmt: skip


@pytest.mark.parametrize("op", GENERATED)
def test_generated_elementwise_kernels_pass_validation(op: str) -> None:
    report = kernels.validate(op, "generated", "cuda")
    assert report.passed, str(report)
