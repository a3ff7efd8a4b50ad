"""BatchNorm (running statistics over several steps, eval, momentum=None, no
tracking), LayerNorm and GroupNorm against PyTorch twins."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import glassgrad as gg
from glassgrad import nn

from torch_twin import check_twins, copy_into_torch

DTYPES = ["float32", "float64"]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    ("ours", "theirs", "shape"),
    [
        (lambda: nn.BatchNorm1d(3), lambda: torch.nn.BatchNorm1d(3), (5, 3)),
        (lambda: nn.BatchNorm1d(3, affine=False), lambda: torch.nn.BatchNorm1d(3, affine=False), (4, 3, 6)),
        (lambda: nn.BatchNorm2d(2), lambda: torch.nn.BatchNorm2d(2), (3, 2, 4, 5)),
        (lambda: nn.LayerNorm(6), lambda: torch.nn.LayerNorm(6), (3, 4, 6)),
        (lambda: nn.LayerNorm((4, 6), bias=False), lambda: torch.nn.LayerNorm((4, 6), bias=False), (3, 4, 6)),
        (
            lambda: nn.LayerNorm(6, elementwise_affine=False),
            lambda: torch.nn.LayerNorm(6, elementwise_affine=False),
            (2, 6),
        ),
        (lambda: nn.GroupNorm(2, 4), lambda: torch.nn.GroupNorm(2, 4), (3, 4, 3, 2)),
        (lambda: nn.GroupNorm(4, 4, affine=False), lambda: torch.nn.GroupNorm(4, 4, affine=False), (2, 4, 5)),
    ],
)
def test_norm_layers_match_torch_in_training(ours, theirs, shape, dtype: str, rng: np.random.Generator) -> None:
    module = ours()
    if module.weight is not None:  # non-trivial affine parameters
        with gg.no_grad():
            module.weight.copy_(gg.tensor(rng.uniform(0.5, 1.5, module.weight.shape)))
            if module.bias is not None:
                module.bias.copy_(gg.tensor(rng.standard_normal(module.bias.shape)))
    check_twins(module, theirs(), 2 + 3 * rng.standard_normal(shape), dtype)


@pytest.mark.parametrize("momentum", [0.1, 0.5, None])
def test_batchnorm_running_stats_follow_torch_over_steps_and_eval(momentum, rng: np.random.Generator) -> None:
    model, twin = nn.BatchNorm2d(3, momentum=momentum).double(), torch.nn.BatchNorm2d(3, momentum=momentum).double()
    for _ in range(4):
        x = 1 + 2 * rng.standard_normal((4, 3, 2, 3))
        model(gg.tensor(x))
        twin(torch.tensor(x))
    for name, value in twin.state_dict().items():
        np.testing.assert_allclose(model.state_dict()[name].numpy(), value.numpy(), rtol=1e-12, err_msg=name)
    assert model.num_batches_tracked.item() == 4
    model.eval()
    twin.eval()
    x = rng.standard_normal((2, 3, 2, 3))
    xg, xt = gg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    out_g, out_t = model(xg), twin(xt)
    np.testing.assert_allclose(out_g.detach().numpy(), out_t.detach().numpy(), rtol=1e-12, atol=1e-12)
    out_g.sum().backward()
    out_t.sum().backward()
    np.testing.assert_allclose(xg.grad.numpy(), xt.grad.numpy(), rtol=1e-12)
    running_mean = model.running_mean.numpy().copy()
    model(gg.tensor(x))
    np.testing.assert_array_equal(model.running_mean.numpy(), running_mean)  # eval leaves the statistics alone


@pytest.mark.parametrize("dtype", DTYPES)
def test_batchnorm_eval_gradients_match_torch(dtype: str, rng: np.random.Generator) -> None:
    module, twin = nn.BatchNorm1d(4), torch.nn.BatchNorm1d(4)
    module.running_mean.copy_(gg.tensor(rng.standard_normal(4)))
    module.running_var.copy_(gg.tensor(rng.uniform(0.5, 2, 4)))
    copy_into_torch(module, twin)
    check_twins(module.eval(), twin.eval(), rng.standard_normal((5, 4)), dtype)


def test_batchnorm_without_running_stats_uses_batch_stats_in_eval(rng: np.random.Generator) -> None:
    module = nn.BatchNorm1d(2, track_running_stats=False).eval()
    assert module.running_mean is None and "running_mean" not in module.state_dict()
    check_twins(module, torch.nn.BatchNorm1d(2, track_running_stats=False).eval(), rng.standard_normal((6, 2)))


def test_batchnorm_rejects_bad_input_before_changing_state() -> None:
    bn = nn.BatchNorm1d(3)
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        bn(gg.ones(1, 3))
    assert bn.num_batches_tracked.item() == 0
    with pytest.raises(RuntimeError, match=r"BatchNorm1d: expected 3 channels \(dim 1\), got input of shape \(2, 4\)"):
        bn(gg.ones(2, 4))
    with pytest.raises(ValueError, match="BatchNorm2d: expected 4D input"):
        nn.BatchNorm2d(3)(gg.ones(2, 3))
    np.testing.assert_array_equal(bn.running_var.numpy(), 1)


def test_norm_argument_errors() -> None:
    with pytest.raises(ValueError, match="num_channels \\(5\\) must be divisible by num_groups \\(2\\)"):
        nn.GroupNorm(2, 5)
    with pytest.raises(RuntimeError, match=r"does not end in normalized_shape \(4,\)"):
        nn.LayerNorm(4)(gg.ones(2, 3))
    with pytest.raises(RuntimeError, match=r"batch_norm: weight must have shape \(3,\), got \(2,\)"):
        nn.functional.batch_norm(gg.ones(2, 3), None, None, gg.ones(2), training=True)
    with pytest.raises(RuntimeError, match="evaluation .* needs running_mean"):
        nn.functional.batch_norm(gg.ones(2, 3), None, None)
