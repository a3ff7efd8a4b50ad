"""clip_grad_norm_ / clip_grad_value_ against torch.nn.utils."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import glassgrad as gg
from glassgrad import nn


@pytest.mark.parametrize("norm_type", [2.0, 1.0, float("inf"), 3.0])
@pytest.mark.parametrize("max_norm", [0.5, 100.0])
def test_clip_grad_norm_matches_torch(norm_type: float, max_norm: float) -> None:
    rng = np.random.default_rng(0)
    grads = [rng.standard_normal(s) for s in [(3, 4), (5,), (2, 2)]]
    ours = [gg.zeros(g.shape, dtype=gg.float64, requires_grad=True) for g in grads]
    theirs = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in grads]
    for p, q, g in zip(ours, theirs, grads, strict=True):
        p.grad, q.grad = gg.tensor(g), torch.tensor(g)
    total = nn.utils.clip_grad_norm_(ours, max_norm, norm_type)
    want = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type)
    assert float(total) == pytest.approx(float(want), rel=1e-12)
    for p, q in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-12)


def test_clip_grad_value() -> None:
    p = gg.zeros(4, requires_grad=True)
    p.grad = gg.tensor([-3.0, -0.5, 0.5, 3.0])
    nn.utils.clip_grad_value_([p], 1.0)
    assert p.grad.tolist() == [-1.0, -0.5, 0.5, 1.0]
    with pytest.raises(ValueError, match="clip_value"):
        nn.utils.clip_grad_value_([p], -1.0)


def test_nonfinite_norm_is_an_error_when_asked() -> None:
    p = gg.zeros(2, requires_grad=True)
    p.grad = gg.tensor([float("nan"), 1.0])
    with pytest.raises(RuntimeError, match="non-finite"):
        nn.utils.clip_grad_norm_([p], 1.0, error_if_nonfinite=True)


def test_bad_arguments_are_refused_before_touching_gradients() -> None:
    p = gg.zeros(2, requires_grad=True)
    p.grad = gg.tensor([3.0, 4.0])
    with pytest.raises(ValueError, match="norm_type"):
        nn.utils.clip_grad_norm_([p], 1.0, norm_type=0)
    with pytest.raises(TypeError, match="parameter 1 is a list"):
        nn.utils.clip_grad_norm_([p, [1.0]], 1.0)
    assert p.grad.tolist() == [3.0, 4.0]


def test_single_tensor_and_no_gradients() -> None:
    p = gg.zeros(2, requires_grad=True)
    assert float(nn.utils.clip_grad_norm_(p, 1.0)) == 0.0  # no gradient yet: norm 0, nothing to scale
    p.grad = gg.tensor([3.0, 4.0])
    assert float(nn.utils.clip_grad_norm_(p, 1.0)) == pytest.approx(5.0)
    np.testing.assert_allclose(p.grad.numpy(), [0.6, 0.8], rtol=1e-5)
