"""Module hooks against PyTorch twins: the same module and weights in both, hooks that record what they
see (values, order, None entries), and hooks that replace arguments, outputs and gradients."""

from __future__ import annotations

import contextlib

import numpy as np
import pytest
import torch

import glassgrad as gg
from glassgrad import nn
from glassgrad.nn.hooks import RemovableHandle

from torch_twin import copy_into_torch


def values(seq: tuple) -> list:
    """A hook's gradient tuple as comparable values: arrays, None stays None."""
    out = []
    for t in seq:
        if t is None:
            out.append(None)
        elif isinstance(t, torch.Tensor):
            out.append(t.detach().numpy().copy())
        else:
            out.append(np.asarray(t.array).copy())
    return out


def assert_same_records(ours: list, theirs: list) -> None:
    assert len(ours) == len(theirs)
    for (name_a, *a), (name_b, *b) in zip(ours, theirs, strict=True):
        assert name_a == name_b
        for seq_a, seq_b in zip(a, b, strict=True):
            assert len(seq_a) == len(seq_b), (name_a, seq_a, seq_b)
            for x, y in zip(seq_a, seq_b, strict=True):
                assert (x is None) == (y is None), (name_a, seq_a, seq_b)
                if x is not None:
                    np.testing.assert_allclose(x, y, rtol=1e-12, atol=1e-12)


def mlp_twins() -> tuple[nn.Module, torch.nn.Module]:
    ours = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2)).to(gg.float64)
    theirs = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2)).double()
    copy_into_torch(ours, theirs)
    return ours, theirs


X = np.random.default_rng(0).standard_normal((5, 3))


def run_both(hook_on, x_requires_grad: bool = True):
    """The MLP twins with ``hook_on(module, records, name)`` applied to each layer; backward of a weighted sum."""
    weights = np.random.default_rng(1).standard_normal((5, 2))
    results = []
    for lib, model in zip((gg, torch), mlp_twins(), strict=True):
        records: list = []
        for name, layer in model.named_children():
            hook_on(layer, records, name)
        x = lib.tensor(X, dtype=lib.float64, requires_grad=x_requires_grad)
        (model(x) * lib.tensor(weights, dtype=lib.float64)).sum().backward()
        grads = {n: values((p.grad,))[0] for n, p in model.named_parameters()}
        results.append((records, grads, None if x.grad is None else values((x.grad,))[0]))
    return results


# ---------------------------------------------------------------------------------------- forward hooks


def pre_hook_scenario(lib) -> list:
    layer = lib.nn.Linear(3, 2)
    seen: list = []
    handle = layer.register_forward_pre_hook(lambda m, args: seen.append(tuple(a.shape for a in args)))
    layer.register_forward_pre_hook(lambda m, args: args[0] * 0)  # a Tensor, not a tuple: wrapped
    out = layer(lib.ones(4, 3))
    np.testing.assert_allclose(values((out,))[0], np.broadcast_to(values((layer.bias,))[0], (4, 2)))
    handle.remove()
    layer(lib.ones(1, 3))
    return seen


def test_forward_pre_hook_replaces_args_and_a_non_tuple_is_wrapped() -> None:
    assert pre_hook_scenario(gg) == pre_hook_scenario(torch) == [((4, 3),)]


def order_scenario(lib) -> list:
    class Mul(lib.nn.Module):
        def forward(self, x, *, factor=1.0):
            return x * factor

    m = Mul()
    log: list = []
    m.register_forward_pre_hook(lambda mod, args: log.append("pre-a"))
    m.register_forward_pre_hook(lambda mod, args: log.append("pre-b"), prepend=True)
    m.register_forward_pre_hook(
        lambda mod, args, kwargs: (log.append(("pre-kw", sorted(kwargs))), (args, {"factor": 3.0}))[1],
        with_kwargs=True,
    )
    m.register_forward_hook(lambda mod, args, out: log.append(("fwd", float(out.sum()))))
    m.register_forward_hook(lambda mod, args, kwargs, out: log.append(("fwd-kw", kwargs["factor"])), with_kwargs=True)
    m.register_forward_hook(lambda mod, args, out: (log.append("first"), out + 1)[1], prepend=True)
    out = m(lib.ones(2), factor=2.0)
    log.append(float(out.sum()))
    return log


def test_hooks_run_in_order_with_prepend_and_kwargs_as_in_pytorch() -> None:
    assert order_scenario(gg) == order_scenario(torch) == [
        "pre-b", "pre-a", ("pre-kw", ["factor"]), "first", ("fwd", 8.0), ("fwd-kw", 3.0), 8.0,
    ]  # fmt: skip


def always_call_scenario(lib) -> list:
    class Broken(lib.nn.Module):
        def forward(self, x):
            raise ValueError("broken forward")

    m = Broken()
    seen: list = []
    m.register_forward_hook(lambda mod, args, out: seen.append(("always", out)), always_call=True)
    m.register_forward_hook(lambda mod, args, out: seen.append("plain"))
    with pytest.raises(ValueError, match="broken forward"):
        m(lib.ones(2))
    return seen


def test_always_call_forward_hook_runs_when_forward_raises() -> None:
    assert always_call_scenario(gg) == always_call_scenario(torch) == [("always", None)]


def test_handles_remove_hooks_and_their_flags_and_work_as_context_managers() -> None:
    layer = nn.Linear(2, 2)
    seen = []
    with layer.register_forward_hook(lambda m, a, kw, o: seen.append(1), with_kwargs=True, always_call=True) as h:
        assert isinstance(h, RemovableHandle)
        layer(gg.ones(1, 2))
        assert h.id in layer._forward_hooks_with_kwargs and h.id in layer._forward_hooks_always_called
    layer(gg.ones(1, 2))
    assert seen == [1]
    assert not layer._forward_hooks and not layer._forward_hooks_with_kwargs and not layer._forward_hooks_always_called
    handle = layer.register_full_backward_hook(lambda m, gi, go: None)
    handle.remove()
    handle.remove()  # a second remove does nothing, as in PyTorch
    assert not layer._backward_hooks


def test_hooks_must_be_callable() -> None:
    layer = nn.Linear(2, 2)
    for register in ("register_forward_pre_hook", "register_forward_hook", "register_full_backward_hook"):
        with pytest.raises(TypeError, match=f"{register}: hook must be callable, got int"):
            getattr(layer, register)(3)
    assert not layer._forward_hooks and not layer._backward_hooks


# --------------------------------------------------------------------------------------- backward hooks


def record_backward(layer, records, name) -> None:
    layer.register_full_backward_pre_hook(lambda m, go: records.append((f"pre {name}", values(go))))
    layer.register_full_backward_hook(lambda m, gi, go: records.append((name, values(gi), values(go))))


@pytest.mark.parametrize("x_requires_grad", [True, False])
def test_full_backward_hooks_see_what_pytorch_shows(x_requires_grad: bool) -> None:
    """Order, grad_input (None for the first Linear's input when it needs no grad) and grad_output."""
    with pytest.warns(UserWarning) if not x_requires_grad else contextlib.nullcontext():
        (ours, grads_g, xg), (theirs, grads_t, xt) = run_both(record_backward, x_requires_grad)
    assert [r[0] for r in ours] == ["pre 2", "2", "pre 1", "1", "pre 0", "0"]
    assert_same_records(ours, theirs)
    for name, g in grads_g.items():
        np.testing.assert_allclose(g, grads_t[name], rtol=1e-12)
    assert (xg is None) == (xt is None)


def test_a_backward_hook_replaces_grad_input_and_a_pre_hook_replaces_grad_output() -> None:
    def hook_on(layer, records, name):
        if name == "1":  # Tanh: the gradient sent to the first Linear is doubled
            layer.register_full_backward_hook(lambda m, gi, go: tuple(2 * g for g in gi))
        if name == "2":  # the last Linear sees (and passes on) a gradient of its output times 3
            layer.register_full_backward_pre_hook(lambda m, go: (go[0] * 3,))
        layer.register_full_backward_hook(lambda m, gi, go: records.append((name, values(gi), values(go))))

    (ours, grads_g, xg), (theirs, grads_t, xt) = run_both(hook_on)
    assert_same_records(ours, theirs)
    for name, g in grads_g.items():
        np.testing.assert_allclose(g, grads_t[name], rtol=1e-12)
    np.testing.assert_allclose(xg, xt, rtol=1e-12)


def test_several_inputs_and_outputs_get_pytorch_s_entries() -> None:
    """A non-tensor argument gives None; a tensor without grad, or whose output is unused, gives zeros;
    an unused output's grad_output is None. The hook fires once, after both input gradients are known."""
    ours, theirs = pair_scenario(gg), pair_scenario(torch)
    assert [r[0] for r in ours] == ["pre", "full", "x"]
    assert_same_records(ours, theirs)


def pair_scenario(lib) -> list:
    class Pair(lib.nn.Module):
        def forward(self, x, k, y, z):
            return x * y + x * x, y * k, z * 2

    m = Pair()
    log: list = []
    m.register_full_backward_pre_hook(lambda mod, go: log.append(("pre", values(go))))
    m.register_full_backward_hook(lambda mod, gi, go: log.append(("full", values(gi), values(go))))
    x = lib.tensor([1.0, 2.0], dtype=lib.float64, requires_grad=True)
    y = lib.tensor([3.0, -1.0], dtype=lib.float64, requires_grad=True)
    z = lib.tensor([0.5, 0.5], dtype=lib.float64)
    a, b, c = m(x, 4, y, z)
    (a.sum() + 2 * a[0]).backward()
    log.append(("x", values((x.grad, y.grad))))
    return log


def test_backward_hook_once_per_call_of_a_shared_module_and_an_output_used_twice() -> None:
    ours, theirs = shared_scenario(gg), shared_scenario(torch)
    assert [r[0] for r in ours] == ["tanh", "tanh", "x"]
    assert_same_records(ours, theirs)


def shared_scenario(lib) -> list:
    layer = lib.nn.Tanh()
    log: list = []
    layer.register_full_backward_hook(lambda m, gi, go: log.append(("tanh", values(gi), values(go))))
    x = lib.tensor([0.3, -0.7], dtype=lib.float64, requires_grad=True)
    h = layer(x)
    out = layer(h * h + h)
    (out * lib.tensor([1.0, 2.0], dtype=lib.float64)).sum().backward()
    log.append(("x", values((x.grad,))))
    return log


def test_the_graph_has_pytorch_s_hook_node_only_while_a_backward_hook_is_registered() -> None:
    layer = nn.Linear(2, 2)
    x = gg.ones(1, 2, requires_grad=True)
    plain = layer(x).grad_fn.name()
    handle = layer.register_full_backward_hook(lambda m, gi, go: None)
    assert layer(x).grad_fn.name() == "BackwardHookFunctionBackward"
    handle.remove()
    assert layer(x).grad_fn.name() == plain != "BackwardHookFunctionBackward"
    with layer.register_forward_hook(lambda m, a, o: None):
        assert layer(x).grad_fn.name() == plain  # forward hooks add no node


def test_a_hook_returning_the_wrong_number_of_gradients_raises_as_pytorch() -> None:
    for lib, kind in ((gg, RuntimeError), (torch, RuntimeError)):
        layer = lib.nn.Tanh()
        layer.register_full_backward_hook(lambda m, gi, go: (gi[0], gi[0]))
        x = lib.ones(2, requires_grad=True)
        with pytest.raises(kind, match="Backward hook returned an invalid number of grad_input, got 2, but expected 1"):
            layer(x).sum().backward()
    layer = nn.Tanh()
    layer.register_full_backward_pre_hook(lambda m, go: (go[0], go[0]))
    with pytest.raises(RuntimeError, match="Backward pre hook returned an invalid number of grad_output, got 2"):
        layer(gg.ones(2, requires_grad=True)).sum().backward()
    layer = nn.Tanh()
    layer.register_full_backward_hook(lambda m, gi, go: (gg.ones(3),))
    with pytest.raises(RuntimeError, match=r"grad_input\[0\] of shape \(3,\); expected shape \(2,\)"):
        layer(gg.ones(2, requires_grad=True)).sum().backward()


def test_second_derivatives_through_a_hooked_module_match_pytorch() -> None:
    """With create_graph the hooks see gradients that have a graph, and a replacement keeps it."""
    ours, theirs = second_derivative_scenario(gg), second_derivative_scenario(torch)
    assert ours[1] == theirs[1] == 1
    for a, b in zip(ours[0], theirs[0], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12)


def second_derivative_scenario(lib) -> tuple[list, int]:
    layer = lib.nn.Tanh()
    seen: list = []
    layer.register_full_backward_hook(lambda m, gi, go: (seen.append(1), (gi[0] * 2,))[1])
    x = lib.tensor([0.3, -0.7, 1.1], dtype=lib.float64, requires_grad=True)
    (g,) = lib.autograd.grad(layer(x).sum(), x, create_graph=True)
    (gg_x,) = lib.autograd.grad((g * g).sum(), x)
    return values((g, gg_x)), len(seen)


def inplace_scenario(lib) -> list:
    """Writing in place into a hooked call's input (inside forward) or output raises, before any change."""

    class Triple(lib.nn.Module):
        def forward(self, x):
            x.mul_(3)
            return x

    log = []
    for module in (Triple(), lib.nn.Linear(2, 2)):
        module.register_full_backward_hook(lambda m, gi, go: None)
        a = lib.ones(1, 2, requires_grad=True) * 1
        with pytest.raises(RuntimeError, match="Output 0 of BackwardHookFunction is a view and is being modified"):
            module(a).add_(1)
        log.append(values((a,)))
    return log


def test_an_in_place_write_through_the_hook_s_view_raises_as_in_pytorch() -> None:
    ours, theirs = inplace_scenario(gg), inplace_scenario(torch)
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_array_equal(a[0], b[0])
        np.testing.assert_array_equal(a[0], np.ones((1, 2)))
