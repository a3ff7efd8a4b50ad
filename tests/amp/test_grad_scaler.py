"""gg.amp.GradScaler step by step against torch.amp.GradScaler("cpu"): float16 losses under a float16
autocast, an overflowing step (skip + backoff), a NaN step, growth after growth_interval, state dicts,
and PyTorch's errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import glassgrad as gg


def _loss(lib, x, w):
    """A float16 loss: the matmul runs in float16 under autocast, its sum stays float16."""
    with lib.autocast("cpu", dtype=lib.float16):
        return lib.matmul(x, w).sum()


class _TorchSGD:
    """Plain SGD for the torch twin (torch.optim's first step costs seconds of lazy imports)."""

    def __init__(self, params: list, lr: float) -> None:
        self.param_groups = [{"params": params}]
        self.lr = lr

    def zero_grad(self) -> None:
        for p in self.param_groups[0]["params"]:
            p.grad = None

    def step(self) -> None:
        with torch.no_grad():
            for p in self.param_groups[0]["params"]:
                p -= self.lr * p.grad


@pytest.mark.filterwarnings("error::RuntimeWarning")  # PyTorch is silent when a scaled gradient overflows
def test_steps_match_torch_with_overflow_nan_and_growth() -> None:
    rng = np.random.default_rng(0)
    w0 = rng.standard_normal((3, 2)).astype(np.float32)
    batches = [rng.standard_normal((4, 3)).astype(np.float32) for _ in range(7)]
    batches[4][1, 2] = np.nan  # a poisoned batch: its step must be skipped
    ours_w, theirs_w = gg.tensor(w0, requires_grad=True), torch.tensor(w0, requires_grad=True)
    ours_opt, theirs_opt = gg.optim.SGD([ours_w], lr=0.1), _TorchSGD([theirs_w], lr=0.1)
    ours = gg.amp.GradScaler("cpu", init_scale=2.0**16, growth_interval=2)
    theirs = torch.amp.GradScaler("cpu", init_scale=2.0**16, growth_interval=2)
    history = []
    for x in batches:
        before = ours_w.detach().numpy().copy()
        for lib, w, opt, scaler in ((gg, ours_w, ours_opt, ours), (torch, theirs_w, theirs_opt, theirs)):
            opt.zero_grad()
            loss = _loss(lib, lib.tensor(x), w)
            assert str(loss.dtype).endswith("float16")
            scaler.scale(loss).backward()  # at 2^16 the float16 gradient of the sum overflows
            scaler.step(opt)
            scaler.update()
        skipped = np.array_equal(before, ours_w.detach().numpy())
        history.append((skipped, ours.get_scale()))
        assert ours.get_scale() == theirs.get_scale()
        assert ours._get_growth_tracker() == theirs._get_growth_tracker()
        np.testing.assert_allclose(ours_w.detach().numpy(), theirs_w.detach().numpy(), rtol=1e-3, atol=1e-4)
        assert ours.state_dict() == theirs.state_dict()
    scales = [2.0**16] + [scale for _, scale in history]
    for (skipped, _), before, after in zip(history, scales, scales[1:], strict=False):
        assert after == (before / 2 if skipped else after)  # a skipped step backs off, a clean one never shrinks
    assert history[0][0] and history[4][0]  # float16 overflow at 2^16, and the NaN batch
    assert any(b > a for a, b in zip(scales, scales[1:], strict=False))  # growth after two clean steps


def test_unscale_then_clip_and_state_dict_round_trip() -> None:
    w = gg.tensor([[1.0], [2.0]], requires_grad=True)
    opt = gg.optim.SGD([w], lr=1.0)
    scaler = gg.amp.GradScaler(init_scale=8.0, growth_factor=4.0, backoff_factor=0.25, growth_interval=5)
    scaler.scale((w * 3).sum()).backward()
    np.testing.assert_array_equal(w.grad.numpy(), [[24.0], [24.0]])
    scaler.unscale_(opt)
    np.testing.assert_array_equal(w.grad.numpy(), [[3.0], [3.0]])
    with pytest.raises(RuntimeError, match=r"unscale_\(\) has already been called on this optimizer"):
        scaler.unscale_(opt)
    scaler.step(opt)  # uses the gradients unscaled above, not unscaled twice
    np.testing.assert_array_equal(w.detach().numpy(), [[-2.0], [-1.0]])
    with pytest.raises(RuntimeError, match=r"step\(\) has already been called since the last update\(\)"):
        scaler.step(opt)
    with pytest.raises(RuntimeError, match=r"unscale_\(\) is being called after step\(\)"):
        scaler.unscale_(opt)
    scaler.update()
    state = scaler.state_dict()
    reference = torch.amp.GradScaler("cpu", init_scale=8.0, growth_factor=4.0, backoff_factor=0.25, growth_interval=5)
    assert state == {**reference.state_dict(), "_growth_tracker": 1}
    restored = gg.amp.GradScaler()
    restored.load_state_dict(state)
    assert restored.state_dict() == state
    scaler.update(new_scale=2.0)
    assert scaler.get_scale() == 2.0
    scaler.update(new_scale=gg.tensor(0.5))
    assert scaler.get_scale() == 0.5


def test_disabled_scaler_passes_through_and_bad_use_raises() -> None:
    w = gg.tensor([1.0], requires_grad=True)
    opt = gg.optim.SGD([w], lr=1.0)
    off = gg.amp.GradScaler(enabled=False)
    loss = (w * 2).sum()
    assert off.scale(loss) is loss and off.get_scale() == 1.0 and off.state_dict() == {} and not off.is_enabled()
    loss.backward()
    off.step(opt)
    off.update()
    np.testing.assert_array_equal(w.detach().numpy(), [-1.0])

    scaler = gg.amp.GradScaler()
    with pytest.raises(AssertionError, match="Attempted step but _scale is None"):
        scaler.step(opt)
    with pytest.raises(AssertionError, match="The growth factor must be > 1.0."):
        gg.amp.GradScaler(growth_factor=1.0)
    with pytest.raises(AssertionError, match="The backoff factor must be < 1.0."):
        gg.amp.GradScaler(backoff_factor=1.0)
    with pytest.raises(ValueError, match="outputs must be a Tensor or an iterable of Tensors"):
        scaler.scale([1.0])
    pair = scaler.scale((gg.tensor(1.0), gg.tensor(2.0)))
    assert isinstance(pair, tuple) and [p.item() for p in pair] == [2.0**16, 2.0**17]
    with pytest.raises(RuntimeError, match="Closure use is not currently supported"):
        scaler.step(opt, closure=lambda: None)
    with pytest.raises(RuntimeError, match="source state dict is empty"):
        scaler.load_state_dict({})
    half = gg.tensor([1.0], dtype=gg.float16, requires_grad=True)
    (half * 2).sum().backward()
    with pytest.raises(ValueError, match="Attempting to unscale FP16 gradients."):
        scaler.unscale_(gg.optim.SGD([half], lr=1.0))
