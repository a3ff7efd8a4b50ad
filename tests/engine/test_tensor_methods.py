"""Tensor's methods are written out in tensor.py (no setattr loop), pass every argument through to
their op with PyTorch's names, and reach the kernel lab through the one ``kernels.run`` call."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch

import glassgrad as gg
import glassgrad.nn.functional as F
from glassgrad import kernels
from glassgrad.engine import ops
from glassgrad.engine import tensor as tensor_module
from glassgrad.engine.tensor import Tensor

# The methods that tensor.py once attached with a setattr loop (each forwards to the op of its name).
DELEGATED = (
    "abs exp log log1p log2 log10 sqrt rsqrt sin cos tanh sigmoid relu neg reciprocal sign square "
    "clamp clip maximum minimum where "
    "sum mean var std max min amax amin prod logsumexp argmax argmin norm all any "
    "reshape view flatten permute transpose squeeze unsqueeze expand expand_as broadcast_to repeat "
    "flip split chunk view_as reshape_as contiguous clone gather take_along_dim "
    "matmul softmax log_softmax masked_fill lt le gt ge eq ne isnan isinf "
    "add sub mul div pow subtract multiply divide"
).split()


@pytest.mark.parametrize("name", DELEGATED)
def test_method_is_written_out_in_the_class_body(name: str) -> None:
    method = Tensor.__dict__.get(name)
    assert inspect.isfunction(method), f"Tensor.{name} is not a function defined in the class"
    assert method.__qualname__ == f"Tensor.{name}"
    assert inspect.getsourcefile(method) == inspect.getsourcefile(tensor_module)
    assert inspect.getsource(method).lstrip().startswith(f"def {name}(self")
    assert method is not getattr(ops, name, None)  # a method of its own, not the op itself


def test_tensor_py_has_no_setattr_loop() -> None:
    source = inspect.getsource(tensor_module)
    assert "setattr(Tensor" not in source and "_OP_METHODS" not in source


def _pair(data: np.ndarray, requires_grad: bool = True) -> tuple[Tensor, torch.Tensor]:
    return gg.tensor(data, requires_grad=requires_grad), torch.tensor(data, requires_grad=requires_grad)


def _first(out: Any) -> Any:
    return out[0] if isinstance(out, tuple) else out


X = np.random.default_rng(0).standard_normal((3, 4))

# (id, call(t, lib) on a (3, 4) float64 tensor t; lib is gg or torch)
CALLS: list[tuple[str, Callable[[Any, Any], Any]]] = [
    ("sum dim keepdim", lambda t, lib: t.sum(dim=1, keepdim=True)),
    ("sum dtype", lambda t, lib: t.sum(0, dtype=lib.float32)),
    ("mean dims", lambda t, lib: t.mean(dim=(0, 1))),
    ("var unbiased", lambda t, lib: t.var(dim=0, unbiased=False)),
    ("var correction", lambda t, lib: t.var(1, correction=0, keepdim=True)),
    ("std", lambda t, lib: t.std(dim=1)),
    ("max dim", lambda t, lib: t.max(dim=1, keepdim=True)),
    ("max other", lambda t, lib: t.max(t.flip(0))),
    ("min all", lambda t, lib: t.min()),
    ("amax", lambda t, lib: t.amax(dim=0)),
    ("prod", lambda t, lib: t.prod(dim=1, keepdim=True)),
    ("logsumexp", lambda t, lib: t.logsumexp(dim=1, keepdim=True)),
    ("norm p=1 dim", lambda t, lib: t.norm(p=1, dim=1)),
    ("norm fro", lambda t, lib: t.norm()),
    ("clamp kw", lambda t, lib: t.clamp(min=-0.5, max=0.5)),
    ("clip", lambda t, lib: t.clip(-0.2)),
    ("where", lambda t, lib: t.where(t > 0, t * 2)),
    ("where scalar", lambda t, lib: t.where(t > 0, 0.0)),
    ("add alpha", lambda t, lib: t.add(t.exp(), alpha=2)),
    ("sub alpha", lambda t, lib: t.sub(1.5, alpha=3)),
    ("subtract", lambda t, lib: t.subtract(t.sin(), alpha=0.5)),
    ("multiply", lambda t, lib: t.multiply(t)),
    ("div floor", lambda t, lib: t.div(0.3, rounding_mode="floor")),
    ("divide", lambda t, lib: t.divide(t.exp())),
    ("pow", lambda t, lib: t.abs().pow(exponent=1.5)),
    ("matmul", lambda t, lib: t.matmul(t.transpose(0, 1))),
    ("softmax dim", lambda t, lib: t.softmax(dim=0)),
    ("log_softmax", lambda t, lib: t.log_softmax(1)),
    ("relu sigmoid tanh", lambda t, lib: t.relu() + t.sigmoid() * t.tanh()),
    ("unary chain", lambda t, lib: t.abs().sqrt().log1p().exp().rsqrt().reciprocal().square().neg()),
    ("maximum minimum", lambda t, lib: t.maximum(t.cos()).minimum(t.sin())),
    ("reshape view", lambda t, lib: t.reshape(2, 6).view(-1, 3).flatten(start_dim=0)),
    ("permute unsqueeze squeeze", lambda t, lib: t.permute(1, 0).unsqueeze(dim=0).squeeze(dim=0)),
    ("expand repeat", lambda t, lib: t[:1].expand(2, 3, 4).repeat(1, 2, 1)),
    ("broadcast_to expand_as", lambda t, lib: t[0].broadcast_to((2, 4)) + t[1].expand_as(t[:2])),
    ("split", lambda t, lib: t.split(3, dim=1)[1]),
    ("split sizes", lambda t, lib: t.split([1, 3], 1)[1]),
    ("chunk", lambda t, lib: t.chunk(2, dim=1)[0]),
    ("flip view_as reshape_as", lambda t, lib: t.flip(0, 1).contiguous().view_as(t) + t.clone().reshape_as(t)),
    ("gather", lambda t, lib: t.gather(1, lib.tensor([[0, 3], [1, 1], [2, 0]]))),
    ("take_along_dim", lambda t, lib: t.take_along_dim(lib.tensor([[0], [3], [1]]), dim=1)),
    ("masked_fill", lambda t, lib: t.masked_fill(t < 0, 1.5)),
]


@pytest.mark.parametrize(("name", "call"), CALLS, ids=[c[0] for c in CALLS])
def test_method_calls_match_pytorch(name: str, call: Callable[[Any, Any], Any]) -> None:
    ours_in, theirs_in = _pair(X.copy())
    ours, theirs = _first(call(ours_in, gg)), _first(call(theirs_in, torch))
    assert ours.shape == tuple(theirs.shape) and str(ours.dtype) == str(theirs.dtype).replace("torch.", "")
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=1e-6, atol=1e-12)
    if theirs.requires_grad:
        ours.sum().backward()
        theirs.sum().backward()
        np.testing.assert_allclose(ours_in.grad.numpy(), theirs_in.grad.numpy(), rtol=1e-6, atol=1e-12)


@pytest.mark.parametrize(
    "call",
    [
        lambda t, lib: (t.lt(0), t.le(0), t.gt(0), t.ge(0), t.eq(t), t.ne(0)),
        lambda t, lib: (t.isnan(), t.isinf(), t.all(dim=1), t.any(dim=0, keepdim=True)),
        lambda t, lib: (t.argmax(dim=1), t.argmin(dim=0, keepdim=True), t.argmax()),
        lambda t, lib: (t.sign(), t.log().isnan(), t.abs().log2(), t.abs().log10()),
    ],
)
def test_non_differentiable_method_results_match_pytorch(call: Callable[[Any, Any], Any]) -> None:
    for ours, theirs in zip(call(gg.tensor(X), gg), call(torch.tensor(X), torch), strict=True):
        assert str(ours.dtype) == str(theirs.dtype).replace("torch.", "")
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-15, atol=0)  # log10 may round apart


def test_where_method_takes_self_where_the_condition_holds() -> None:
    """x.where(condition, y) is torch.where(condition, x, y): x is the value, not the condition."""
    x = gg.tensor([1.0, -2.0, 3.0])
    np.testing.assert_array_equal(x.where(x > 0, -1.0).numpy(), [1.0, -1.0, 3.0])


def test_add_alpha_is_keyword_only_as_in_pytorch() -> None:
    x = gg.ones(2)
    with pytest.raises(TypeError):
        x.add(x, 2)  # PyTorch: add(other, *, alpha=1)
    with pytest.raises(TypeError):
        torch.ones(2).add(torch.ones(2), 2)


# --------------------------------------------------------------- kernel-backed ops: one kernels.run call
def _calls_to_run(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    real = kernels.run

    def spy(op: str, *args: Any, **kwargs: Any) -> Any:
        calls.append(op)
        return real(op, *args, **kwargs)

    monkeypatch.setattr(kernels, "run", spy)
    return calls


def _rand(*shape: int) -> Tensor:
    return gg.tensor(np.random.default_rng(1).standard_normal(shape), requires_grad=True)


@pytest.mark.parametrize(
    ("compute", "expected"),
    [
        (lambda: _rand(3, 4) @ _rand(4, 5), ["matmul", "matmul", "matmul"]),
        (lambda: _rand(2, 3, 4).matmul(_rand(4, 2)), ["matmul", "matmul", "matmul"]),
        (
            lambda: F.conv2d(_rand(1, 2, 6, 6), _rand(3, 2, 3, 3), padding="same"),
            ["conv2d", "conv2d_grad_input", "conv2d_grad_weight"],
        ),
        (
            lambda: F.conv_transpose2d(_rand(1, 2, 4, 4), _rand(2, 3, 3, 3), stride=2),
            ["conv2d_grad_input", "conv2d", "conv2d_grad_weight"],
        ),
        (lambda: F.max_pool2d(_rand(1, 2, 6, 6), 2), ["max_pool2d_argmax", "max_pool2d_grad"]),
        (
            lambda: F.scaled_dot_product_attention(_rand(2, 5, 4), _rand(2, 6, 4), _rand(2, 6, 4)),
            ["attention", "attention_backward"],
        ),
    ],
)
def test_kernel_backed_ops_make_one_registry_call_each_way(
    monkeypatch: pytest.MonkeyPatch, compute: Callable[[], Tensor], expected: list[str]
) -> None:
    calls = _calls_to_run(monkeypatch)
    out = compute()
    out.sum().backward()
    assert calls == expected


def test_the_registry_choice_reaches_the_op() -> None:
    """kernels.use picks the variant the op runs (the registry, not the op, decides)."""
    a, b = _rand(7, 33), _rand(33, 5)
    want = a.detach().numpy() @ b.detach().numpy()
    for name in ("numpy", "naive", "blocked"):
        with kernels.use("matmul", name, device="cpu"):
            np.testing.assert_allclose((a @ b).detach().numpy(), want, rtol=1e-12)
