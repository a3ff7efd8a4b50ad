"""gg.autocast: values and gradients against torch.autocast("cpu", torch.bfloat16), and the region's rules
(nesting, decorator, per-thread state, the weight-cast cache, bad arguments)."""

from __future__ import annotations

import threading
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as torch_F

import glassgrad as gg
import glassgrad.nn as nn
import glassgrad.nn.functional as F
from glassgrad.amp.autocast_mode import autocast_args

SHAPES = {
    "x": (4, 6),
    "w1": (5, 6),
    "b1": (5,),
    "gamma": (5,),
    "beta": (5,),
    "w2": (6, 3),
    "img": (2, 2, 5, 5),
    "kernel": (3, 2, 3, 3),
    "kbias": (3,),
    "q": (2, 2, 4, 8),
}


def _forward(t, f, p: dict, target) -> dict:
    """The ops whose values the test compares; the same code runs on glassgrad and PyTorch."""
    h = f.linear(p["x"], p["w1"], p["b1"])  # low precision
    out = {
        "linear": h,
        "softmax": f.softmax(h, -1),  # on cpu: in h's dtype
        "layer_norm": f.layer_norm(h, (5,), p["gamma"], p["beta"]),  # bfloat16 input, float32 parameters
        "matmul": t.matmul(p["x"], p["w2"]),
        "conv2d": f.conv2d(p["img"], p["kernel"], p["kbias"], padding=1),
        "sdpa": f.scaled_dot_product_attention(p["q"], p["q"], p["q"], is_causal=True),
        "cross_entropy": f.cross_entropy(h, target),  # float32
    }
    return out


@pytest.fixture(scope="module")
def twins() -> tuple[dict, dict, dict, dict]:
    rng = np.random.default_rng(0)
    arrays = {name: rng.standard_normal(shape).astype(np.float32) for name, shape in SHAPES.items()}
    target = np.array([0, 2, 4, 1])
    ours = {name: gg.tensor(a, requires_grad=True) for name, a in arrays.items()}
    theirs = {name: torch.tensor(a, requires_grad=True) for name, a in arrays.items()}
    with gg.autocast("cpu"):
        out = _forward(gg, F, ours, gg.tensor(target))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        ref = _forward(torch, torch_F, theirs, torch.tensor(target))
    for outputs in (out, ref):  # one scalar through every output, backward outside the region (as in training)
        total = sum((o.float() * (i + 1)).sum() for i, o in enumerate(outputs.values()))
        total.backward()
    return out, ref, ours, theirs


def _close(ours, theirs, tol: float) -> None:
    a = np.asarray(ours.float().detach().numpy() if hasattr(ours, "detach") else ours, dtype=np.float64)
    b = theirs.detach().float().numpy().astype(np.float64)
    scale = max(1.0, float(np.abs(b).max()))
    np.testing.assert_allclose(a, b, rtol=tol, atol=tol * scale)


def test_values_and_dtypes_match_torch(twins) -> None:
    out, ref, _, _ = twins
    for name in ref:
        assert str(out[name].dtype) == str(ref[name].dtype).removeprefix("torch."), name
        _close(out[name], ref[name], 2e-2)  # a bfloat16 value: 8 significant bits, one rounding apart


def test_float32_parameters_get_float32_gradients_as_torch(twins) -> None:
    _, _, ours, theirs = twins
    for name in SHAPES:
        assert ours[name].grad.dtype == gg.float32, name
        _close(ours[name].grad, theirs[name].grad, 3e-2)


def test_region_nests_restores_and_decorates() -> None:
    assert not gg.is_autocast_enabled("cpu") and gg.get_autocast_dtype("cpu") == gg.bfloat16
    assert gg.get_autocast_dtype("cuda") == gg.float16
    x, w = gg.randn(2, 3), gg.randn(3, 3)
    with gg.autocast("cpu"):
        assert gg.is_autocast_enabled("cpu") and not gg.is_autocast_enabled("cuda")
        assert (x @ w).dtype == gg.bfloat16
        with gg.autocast("cpu", enabled=False):
            assert (x @ w).dtype == gg.float32 and not gg.is_autocast_enabled("cpu")
        with gg.autocast("cpu", dtype=gg.float16):
            assert (x @ w).dtype == gg.float16 and gg.get_autocast_dtype("cpu") == gg.float16
        assert (x @ w).dtype == gg.bfloat16
    assert (x @ w).dtype == gg.float32 and not gg.is_autocast_enabled("cpu")

    @gg.autocast("cpu", dtype=gg.float16)
    def product(a, b, depth=0):
        return product(a, b, depth - 1) if depth else a @ b

    assert product(x, w, depth=2).dtype == gg.float16 and not gg.is_autocast_enabled("cpu")
    assert gg.amp.autocast is gg.autocast


def test_state_is_per_thread() -> None:
    seen = []
    with gg.autocast("cpu"):
        worker = threading.Thread(target=lambda: seen.append(gg.is_autocast_enabled("cpu")))
        worker.start()
        worker.join()
    assert seen == [False]


def test_weight_cast_is_cached_in_the_region_and_dropped_after() -> None:
    layer = nn.Linear(3, 2)
    x = gg.randn(4, 3)
    with gg.autocast("cpu"):
        (_, w1, _) = autocast_args("linear", x, layer.weight, None)
        (_, w2, _) = autocast_args("linear", x, layer.weight, None)
        assert w1 is w2 and w1.dtype == gg.bfloat16  # one Cast node for every use of the weight
        (x1,) = autocast_args("mm", x)
        (x2,) = autocast_args("mm", x)
        assert x1 is not x2  # not a leaf that requires grad: cast each time (PyTorch caches parameters only)
    with gg.autocast("cpu"):
        assert autocast_args("linear", x, layer.weight, None)[1] is not w1
    with gg.autocast("cpu", cache_enabled=False):
        assert autocast_args("mm", layer.weight)[0] is not autocast_args("mm", layer.weight)[0]
    # the cached copy used twice: both uses' gradients reach the float32 weight
    with gg.autocast("cpu"):
        loss = (layer(x).float().sum() + layer(2 * x).float().sum()).float()
    loss.backward()
    expected = 3 * x.sum(0).numpy()
    np.testing.assert_allclose(layer.weight.grad.numpy(), np.stack([expected] * 2), rtol=2e-2)


def test_float64_and_integers_are_left_alone_and_mixed_low_dtypes_do_not_promote() -> None:
    with gg.autocast("cpu"):
        assert gg.mm(gg.randn(2, 2, dtype=gg.float64), gg.randn(2, 2, dtype=gg.float64)).dtype == gg.float64
        assert gg.cat([gg.arange(3), gg.arange(2)]).dtype == gg.int64
        with pytest.raises(RuntimeError, match="cat"):
            gg.cat([gg.ones(2, dtype=gg.float16), gg.ones(2, dtype=gg.bfloat16)])


def test_bad_arguments() -> None:
    with pytest.raises(ValueError, match="device_type"):
        gg.autocast(0)
    with pytest.raises(RuntimeError, match="unsupported autocast device_type 'tpu'"):
        gg.autocast("tpu")
    with pytest.raises(RuntimeError, match="device_type"):
        gg.is_autocast_enabled("tpu")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        region = gg.autocast("cpu", dtype=gg.float32)
    assert "CPU Autocast only supports" in str(caught[0].message)
    with region:
        assert not gg.is_autocast_enabled("cpu")
    with pytest.raises(TypeError, match="requires a callable"):
        gg.autocast("cpu")(3)
