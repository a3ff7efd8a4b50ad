"""Every optimizer against torch.optim: same parameters, same gradients, 100 steps, float64."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import glassgrad as gg
from glassgrad import kernels, optim

CASES = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9)),
    ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.3, weight_decay=0.01)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01)),
    ("SGD", dict(lr=0.05, momentum=0.5, maximize=True)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1)),
    ("Adam", dict(lr=0.01, amsgrad=True)),
    ("Adam", dict(lr=0.01, weight_decay=0.05, amsgrad=True, maximize=True)),
    ("AdamW", dict(lr=0.01)),
    ("AdamW", dict(lr=0.01, weight_decay=0.3, amsgrad=True)),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, alpha=0.9, momentum=0.5, weight_decay=0.1)),
    ("RMSprop", dict(lr=0.01, centered=True, momentum=0.3)),
    ("RMSprop", dict(lr=0.01, centered=True, weight_decay=0.1, maximize=True)),
    ("Adagrad", dict(lr=0.1)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01, weight_decay=0.1, initial_accumulator_value=0.1, eps=1e-8)),
    ("Adagrad", dict(lr=0.1, maximize=True)),
]


def _run(name: str, options: dict, steps: int = 100, groups: bool = False) -> tuple[list, list]:
    rng = np.random.default_rng(0)
    shapes = [(5, 3), (3,), (2, 2, 2)]
    starts = [rng.standard_normal(s) for s in shapes]
    grads = [[rng.standard_normal(s) for s in shapes] for _ in range(steps)]
    ours = [gg.tensor(p, requires_grad=True) for p in starts]
    theirs = [torch.tensor(p, requires_grad=True) for p in starts]
    if groups:  # two groups, the second with its own lr
        opt_g = getattr(optim, name)([{"params": ours[:2]}, {"params": ours[2:], "lr": 0.003}], **options)
        opt_t = getattr(torch.optim, name)([{"params": theirs[:2]}, {"params": theirs[2:], "lr": 0.003}], **options)
    else:
        opt_g, opt_t = getattr(optim, name)(ours, **options), getattr(torch.optim, name)(theirs, **options)
    for step_grads in grads:
        for p, q, g in zip(ours, theirs, step_grads, strict=True):
            p.grad, q.grad = gg.tensor(g), torch.tensor(g)
        opt_g.step()
        opt_t.step()
    return [p.detach().numpy() for p in ours], [q.detach().numpy() for q in theirs]


@pytest.mark.parametrize(("name", "options"), CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(CASES)])
def test_matches_torch_for_100_steps(name: str, options: dict) -> None:
    ours, theirs = _run(name, options)
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("name", ["SGD", "Adam", "RMSprop"])
def test_param_groups_have_their_own_hyperparameters(name: str) -> None:
    options = {"lr": 0.01, "momentum": 0.9} if name != "Adam" else {"lr": 0.01}
    ours, theirs = _run(name, options, steps=20, groups=True)
    for a, b in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad"])
def test_state_dict_round_trip_continues_identically(name: str, tmp_path) -> None:
    options = {"lr": 0.01, "momentum": 0.9} if name in ("SGD", "RMSprop") else {"lr": 0.01}
    rng = np.random.default_rng(3)
    start = rng.standard_normal((4, 3))
    grads = [rng.standard_normal((4, 3)) for _ in range(10)]
    a, b = gg.tensor(start, requires_grad=True), gg.tensor(start, requires_grad=True)
    opt_a = getattr(optim, name)([a], **options)
    for g in grads[:5]:
        a.grad = gg.tensor(g)
        opt_a.step()
    gg.save({"param": a.detach(), "opt": opt_a.state_dict()}, tmp_path / "ckpt")
    loaded = gg.load(tmp_path / "ckpt")
    with gg.no_grad():
        b.copy_(loaded["param"])
    opt_b = getattr(optim, name)([b], **options)
    opt_b.load_state_dict(loaded["opt"])
    for g in grads[5:]:
        a.grad, b.grad = gg.tensor(g), gg.tensor(g)
        opt_a.step()
        opt_b.step()
    np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())


def test_state_dict_layout_is_pytorchs() -> None:
    p, q = gg.zeros(2, requires_grad=True), gg.zeros(3, requires_grad=True)
    opt = optim.Adam([p, q], lr=0.1)
    p.grad, q.grad = gg.ones(2), gg.ones(3)
    opt.step()
    sd = opt.state_dict()
    assert sd["param_groups"][0]["params"] == [0, 1]
    assert sd["param_groups"][0]["lr"] == 0.1
    assert set(sd["state"][0]) == {"step", "exp_avg", "exp_avg_sq"}


def test_zero_grad() -> None:
    p = gg.zeros(2, requires_grad=True)
    opt = optim.SGD([p], lr=0.1)
    p.grad = gg.ones(2)
    opt.zero_grad(set_to_none=False)
    assert p.grad is not None and float(p.grad.sum()) == 0
    opt.zero_grad()
    assert p.grad is None


def test_parameters_without_grad_are_skipped() -> None:
    p, q = gg.ones(2, requires_grad=True), gg.ones(2, requires_grad=True)
    opt = optim.SGD([p, q], lr=0.5)
    p.grad = gg.ones(2)
    opt.step()
    assert p.tolist() == [0.5, 0.5] and q.tolist() == [1.0, 1.0]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: optim.SGD([], lr=0.1), "empty parameter list"),
        (lambda: optim.SGD([gg.ones(2, requires_grad=True)], lr=-1), "invalid lr"),
        (lambda: optim.Adam([gg.ones(2, requires_grad=True)], betas=(1.5, 0.9)), "betas"),
        (lambda: optim.SGD([gg.ones(2, requires_grad=True)], lr=0.1, nesterov=True), "nesterov"),
        (lambda: optim.SGD([gg.ones(2, requires_grad=True) * 2], lr=0.1), "non-leaf"),
        (lambda: optim.SGD([[1.0]], lr=0.1), "not a Tensor"),
        (lambda: optim.SGD(gg.ones(2, requires_grad=True), lr=0.1), "single Tensor"),
        (lambda: optim.SGD([gg.ones(2, requires_grad=True)], lr="fast"), "invalid lr 'fast'"),
        (lambda: optim.RMSprop([gg.ones(2, requires_grad=True)], alpha=-0.1), "invalid alpha"),
        (lambda: optim.Adagrad([gg.ones(2, requires_grad=True)], eps=-1.0), "invalid eps"),
        (lambda: optim.Adam([{"params": [gg.ones(2, requires_grad=True)], "lr": -0.5}]), "invalid lr -0.5"),
        (lambda: optim.SGD([{"params": [gg.ones(2, requires_grad=True)], "lrr": 0.1}], lr=0.1), "unknown"),
    ],
)
def test_bad_arguments(make, message: str) -> None:
    with pytest.raises((ValueError, TypeError), match=message):
        make()


def test_same_parameter_in_two_groups_is_refused() -> None:
    p = gg.ones(2, requires_grad=True)
    with pytest.raises(ValueError, match="more than one group"):
        optim.SGD([{"params": [p]}, {"params": [p]}], lr=0.1)


def test_load_state_dict_with_wrong_group_count() -> None:
    p, q = gg.ones(2, requires_grad=True), gg.ones(2, requires_grad=True)
    sd = optim.SGD([{"params": [p]}, {"params": [q]}], lr=0.1).state_dict()
    with pytest.raises(ValueError, match="groups"):
        optim.SGD([p, q], lr=0.1).load_state_dict(sd)


def test_add_param_group_checks_the_group_before_adding_it() -> None:
    p, q = gg.ones(2, requires_grad=True), gg.ones(2, requires_grad=True)
    opt = optim.SGD([p], lr=0.1, momentum=0.9)
    with pytest.raises(ValueError, match="invalid momentum"):
        opt.add_param_group({"params": [q], "momentum": -1.0})
    with pytest.raises(TypeError, match="'params' entry"):
        opt.add_param_group({"lr": 0.1})
    assert len(opt.param_groups) == 1
    opt.add_param_group({"params": q, "lr": 0.5})
    assert opt.param_groups[1]["lr"] == 0.5 and opt.param_groups[1]["momentum"] == 0.9


def test_gradient_of_the_wrong_shape_is_refused_before_any_update() -> None:
    p, q = gg.ones(2, requires_grad=True), gg.ones(3, requires_grad=True)
    opt = optim.SGD([p, q], lr=0.1)
    with pytest.raises(RuntimeError, match=r"grad: .*\(1,\).*\(3,\)"):  # refused at assignment, as in PyTorch
        q.grad = gg.ones(1)
    p.grad, q._grad = gg.ones(2), gg.ones(1)  # past that check (as a buggy hook could), the optimizer checks too
    with pytest.raises(RuntimeError, match=r"parameter 1 of group 0 has shape \(3,\).*gradient has shape \(1,\)"):
        opt.step()
    assert p.tolist() == [1.0, 1.0]  # the first parameter was not updated either


def test_load_state_dict_refuses_bad_state() -> None:
    p = gg.ones(2, requires_grad=True)
    opt = optim.Adam([p], lr=0.1)
    p.grad = gg.ones(2)
    opt.step()
    sd = opt.state_dict()
    with pytest.raises(ValueError, match="'state' and 'param_groups'"):
        opt.load_state_dict({"state": {}})
    with pytest.raises(ValueError, match="parameter 5"):
        opt.load_state_dict({"state": {5: sd["state"][0]}, "param_groups": sd["param_groups"]})
    wrong = {**sd["state"][0], "exp_avg": gg.zeros(7)}
    with pytest.raises(ValueError, match="shape"):
        opt.load_state_dict({"state": {0: wrong}, "param_groups": sd["param_groups"]})


# Step for step against torch.optim with each variant of the update kernels, in float32 and float64.
STEP_CASES = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9)),
    ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.3)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True)),
    ("SGD", dict(lr=0.1, weight_decay=0.1)),
    ("SGD", dict(lr=0.1, maximize=True)),
    ("SGD", dict(lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.05, maximize=True)),
    ("SGD", dict(lr=0.05, momentum=0.8, dampening=0.5, weight_decay=0.05, maximize=True)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.01, amsgrad=True)),
    ("Adam", dict(lr=0.01, weight_decay=0.1)),
    ("Adam", dict(lr=0.01, maximize=True)),
    ("Adam", dict(lr=0.01, betas=(0.3, 0.9), eps=1e-6, weight_decay=0.1, amsgrad=True, maximize=True)),
    ("AdamW", dict(lr=0.01)),
    ("AdamW", dict(lr=0.01, amsgrad=True)),
    ("AdamW", dict(lr=0.01, weight_decay=0.3, maximize=True)),
    ("AdamW", dict(lr=0.01, betas=(0.8, 0.99), weight_decay=0.1, amsgrad=True, maximize=True)),
    ("RMSprop", dict(lr=0.01, alpha=0.9, momentum=0.5, weight_decay=0.1)),
    ("RMSprop", dict(lr=0.01, alpha=0.3, centered=True, momentum=0.3, maximize=True)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.01, weight_decay=0.1, initial_accumulator_value=0.1, maximize=True)),
]
KERNEL_OP = {"SGD": "sgd_update", "Adam": "adam_update", "AdamW": "adam_update"}
KERNEL_OP |= {"RMSprop": "rmsprop_update", "Adagrad": "adagrad_update"}
TOLERANCE = {np.float32: dict(rtol=2e-5, atol=2e-6), np.float64: dict(rtol=1e-12, atol=1e-13)}


def _torch_state(value: object) -> object:
    return value.detach().numpy() if torch.is_tensor(value) and value.ndim else value


@pytest.mark.parametrize("variant", ["numpy", "numba_fused"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["float32", "float64"])
@pytest.mark.parametrize(("name", "options"), STEP_CASES, ids=[f"{n}-{i}" for i, (n, _) in enumerate(STEP_CASES)])
def test_each_kernel_variant_matches_torch_step_for_step(name: str, options: dict, dtype: type, variant: str) -> None:
    rng = np.random.default_rng(1)
    shapes = [(5, 3), (3,), (2, 2, 2), (129,)]
    starts = [rng.standard_normal(s).astype(dtype) for s in shapes]
    ours = [gg.tensor(p, requires_grad=True) for p in starts]
    theirs = [torch.tensor(p, requires_grad=True) for p in starts]
    opt_g, opt_t = getattr(optim, name)(ours, **options), getattr(torch.optim, name)(theirs, **options)
    with kernels.use(KERNEL_OP[name], variant):
        for _ in range(20):
            for p, q in zip(ours, theirs, strict=True):
                g = rng.standard_normal(p.shape).astype(dtype)
                p.grad, q.grad = gg.tensor(g), torch.tensor(g)
            opt_g.step()
            opt_t.step()
            for p, q in zip(ours, theirs, strict=True):
                assert p.dtype == (gg.float32 if dtype == np.float32 else gg.float64)
                np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), **TOLERANCE[dtype])
    for p, q in zip(ours, theirs, strict=True):  # the state too: the same keys, the same values
        ours_state, theirs_state = opt_g.state[p], {k: _torch_state(v) for k, v in opt_t.state[q].items()}
        assert set(ours_state) == {k for k, v in theirs_state.items() if v is not None}
        for key, value in ours_state.items():
            if key == "step":
                assert value == float(theirs_state[key]) == 20
            else:
                np.testing.assert_allclose(value, theirs_state[key], **TOLERANCE[dtype], err_msg=key)


@pytest.mark.parametrize("variant", ["numpy", "numba_fused"])
@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad"])
def test_state_dict_round_trip_with_each_kernel_variant(name: str, variant: str, tmp_path) -> None:
    options = {"lr": 0.01, "momentum": 0.9} if name in ("SGD", "RMSprop") else {"lr": 0.01, "amsgrad": True}
    options = {"lr": 0.01} if name == "Adagrad" else options
    rng = np.random.default_rng(4)
    start = rng.standard_normal((6, 5)).astype(np.float32)
    grads = [rng.standard_normal((6, 5)).astype(np.float32) for _ in range(8)]
    a, b = gg.tensor(start, requires_grad=True), gg.tensor(start, requires_grad=True)
    with kernels.use(KERNEL_OP[name], variant):
        opt_a = getattr(optim, name)([a], **options)
        for g in grads[:4]:
            a.grad = gg.tensor(g)
            opt_a.step()
        gg.save({"param": a.detach(), "opt": opt_a.state_dict()}, tmp_path / "ckpt")
        loaded = gg.load(tmp_path / "ckpt")
        with gg.no_grad():
            b.copy_(loaded["param"])
        opt_b = getattr(optim, name)([b], **options)
        opt_b.load_state_dict(loaded["opt"])
        for g in grads[4:]:
            a.grad, b.grad = gg.tensor(g), gg.tensor(g)
            opt_a.step()
            opt_b.step()
    np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
    for key, value in opt_a.state[a].items():
        np.testing.assert_array_equal(value, opt_b.state[b][key], err_msg=key)


def test_a_non_contiguous_parameter_is_updated_in_place_by_the_reference() -> None:
    base = np.random.default_rng(5).standard_normal((4, 10))
    p = gg.Tensor(base[:, ::2], requires_grad=True)  # a view: the numba kernel does not take it
    q = torch.tensor(base[:, ::2].copy(), requires_grad=True)
    opt_g, opt_t = optim.AdamW([p], lr=0.1), torch.optim.AdamW([q], lr=0.1)
    g = np.random.default_rng(6).standard_normal((4, 5))
    for _ in range(3):
        p.grad, q.grad = gg.tensor(g), torch.tensor(g)
        opt_g.step()
        opt_t.step()
    np.testing.assert_allclose(base[:, ::2], q.detach().numpy(), rtol=1e-12, atol=1e-13)  # written through the view
    assert p.array.base is not None and np.shares_memory(p.array, base)
