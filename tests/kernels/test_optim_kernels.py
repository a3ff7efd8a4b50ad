"""The optimizer update ops: every variant against the reference, the reference against torch.optim,
the registry's choice of variant, the cases' copies and the benchmark's steady state."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from glassgrad import kernels
from glassgrad.kernels.optim.spec import FreshArgs

OPS = ["sgd_update", "adam_update", "rmsprop_update", "adagrad_update"]


@pytest.mark.parametrize("op", OPS)
def test_numba_variant_validates_and_is_the_cpu_default(op: str) -> None:
    report = kernels.validate(op, "numba_fused")
    assert report.passed, str(report)
    ran = [r for r in report.results if not r.skipped]
    skipped = [r for r in report.results if r.skipped]
    assert {r.dtype for r in ran} == {"float32", "float64"}
    assert skipped and all("non-contiguous" in r.case for r in skipped)  # those go to the reference
    assert kernels.default_name(op, "cpu") == "numba_fused"
    assert kernels.reference(op, "cpu").name == "numpy"
    assert kernels.reference(op, "cuda").name == "cupy"


@pytest.mark.parametrize("op", OPS)
def test_validation_cases_are_not_changed_by_the_calls(op: str) -> None:
    case = kernels.spec(op).cases(np, np.dtype("float32"))[-1]  # the non-contiguous parameter
    before = [a.copy() for a in tuple.__iter__(case.args) if a is not None]
    kernels.reference(op, "cpu")(*case.args, **case.kwargs)
    after = [a for a in tuple.__iter__(case.args) if a is not None]
    for a, b in zip(before, after, strict=True):
        np.testing.assert_array_equal(a, b)
    copies = list(case.args)
    assert not copies[0].flags.c_contiguous and copies[0].shape == (40, 9)
    assert not np.shares_memory(copies[0], case.args[0])


def test_fresh_args_copies_keep_layout_and_pass_other_values() -> None:
    base = np.arange(12.0).reshape(3, 4)
    args = FreshArgs((base, base[:, ::2], None, 2.5))
    full, view, none, number = args
    assert full.flags.c_contiguous and not view.flags.c_contiguous and none is None and number == 2.5
    np.testing.assert_array_equal(view, base[:, ::2])
    assert not np.shares_memory(full, base) and not np.shares_memory(view, base)


def _arrays(shape: tuple[int, ...], count: int, dtype: type, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.standard_normal(shape).astype(dtype) for _ in range(count)]


@pytest.mark.parametrize("contiguous", [True, False])
def test_run_picks_numba_for_contiguous_arrays_and_the_reference_otherwise(contiguous: bool) -> None:
    p, g, m, v = _arrays((8, 6), 4, np.float32)
    if not contiguous:
        p = np.ones((8, 12), np.float32)[:, ::2]
    kwargs = dict(step=1, lr=0.1, beta1=0.9, beta2=0.999, eps=1e-8)
    chosen = kernels.pick("adam_update", "cpu", p, g, m, np.abs(v), None, **kwargs)
    assert chosen.name == ("numba_fused" if contiguous else "numpy")
    mixed = kernels.pick("adam_update", "cpu", p, g.astype(np.float64), m, np.abs(v), None, **kwargs)
    assert mixed.name == "numpy"  # a state of another dtype goes to the reference too
    half = [a.astype(np.float16) for a in (p, g, m, np.abs(v))]
    assert kernels.pick("adam_update", "cpu", *half, None, **kwargs).name == "numpy"


@pytest.mark.parametrize("name", ["numpy", "numba_fused"])
def test_the_gradient_is_only_read(name: str) -> None:
    p, g, buf = _arrays((33,), 3, np.float64)
    kept = g.copy()
    variant = kernels.variant("sgd_update", "cpu", name)
    variant(p, g, buf, lr=0.1, momentum=0.9, weight_decay=0.1, nesterov=True, maximize=True)
    np.testing.assert_array_equal(g, kept)


@pytest.mark.parametrize("name", ["numpy", "numba_fused"])
def test_empty_and_scalar_parameters_are_updated_in_place(name: str) -> None:
    variant, reference = kernels.variant("adam_update", "cpu", name), kernels.reference("adam_update", "cpu")
    kwargs = dict(step=2, lr=0.1, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.1, decoupled=True)
    for shape in [(0,), (0, 3), ()]:
        p, g, m = (np.asarray(a) for a in _arrays(shape, 3, np.float32))
        v = np.asarray(np.abs(_arrays(shape, 1, np.float32, seed=1)[0]))
        want = reference(p.copy(), g, m.copy(), v.copy(), None, **kwargs)
        arrays = (p, m, v)
        got = variant(p, g, m, v, None, **kwargs)
        assert all(a is b for a, b in zip(got, arrays, strict=True))  # the same arrays, written in place
        for a, b in zip(got, want, strict=True):
            assert a.shape == shape
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", ["numpy", "numba_fused"])
def test_missing_or_unexpected_state_is_refused(name: str) -> None:
    p, g = _arrays((5,), 2, np.float32)
    sgd = kernels.variant("sgd_update", "cpu", name)
    with pytest.raises(ValueError, match=r"kernels.sgd_update: momentum_buffer must be an array when momentum is 0.9"):
        sgd(p, g, None, lr=0.1, momentum=0.9)
    with pytest.raises(ValueError, match=r"momentum_buffer must be None when momentum is 0"):
        sgd(p, g, p.copy(), lr=0.1)
    rmsprop = kernels.variant("rmsprop_update", "cpu", name)
    with pytest.raises(ValueError, match=r"kernels.rmsprop_update: momentum_buffer must be an array"):
        rmsprop(p, g, np.ones(5, np.float32), None, None, lr=0.1, alpha=0.9, eps=1e-8, momentum=0.5)


# One step of each op from a random state, against the same step of torch.optim on torch tensors
# whose state was set to that state (PyTorch's single-tensor path on cpu is the specification).
def _torch_step(optimizer: type, param: np.ndarray, grad: np.ndarray, state: dict, **options: object) -> dict:
    p = torch.tensor(param, requires_grad=True)
    opt = optimizer([p], **options)
    p.grad = torch.tensor(grad)
    if state:
        opt.state[p] = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in state.items()}
    opt.step()
    return {"param": p.detach().numpy(), **{k: v.numpy() for k, v in opt.state[p].items() if torch.is_tensor(v)}}


TORCH_STEPS = [
    (
        "adam_update",
        torch.optim.Adam,
        dict(lr=0.01, betas=(0.3, 0.9), weight_decay=0.1, amsgrad=True, maximize=True),
        dict(step=3, lr=0.01, beta1=0.3, beta2=0.9, eps=1e-8, weight_decay=0.1, maximize=True),
        ["exp_avg", "exp_avg_sq", "max_exp_avg_sq"],
    ),
    (
        "adam_update",
        torch.optim.AdamW,
        dict(lr=0.01, weight_decay=0.3),
        dict(step=3, lr=0.01, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.3, decoupled=True),
        ["exp_avg", "exp_avg_sq", None],
    ),
    (
        "sgd_update",
        torch.optim.SGD,
        dict(lr=0.1, momentum=0.9, dampening=0.2, weight_decay=0.05),
        dict(lr=0.1, momentum=0.9, dampening=0.2, weight_decay=0.05),
        ["momentum_buffer"],
    ),
    (
        "rmsprop_update",
        torch.optim.RMSprop,
        dict(lr=0.01, alpha=0.9, momentum=0.5, centered=True, weight_decay=0.1),
        dict(lr=0.01, alpha=0.9, eps=1e-8, momentum=0.5, weight_decay=0.1),
        ["square_avg", "grad_avg", "momentum_buffer"],
    ),
    (
        "adagrad_update",
        torch.optim.Adagrad,
        dict(lr=0.1, lr_decay=0.01, weight_decay=0.1),
        dict(step=3, lr=0.1, lr_decay=0.01, eps=1e-10, weight_decay=0.1),
        ["sum"],
    ),
]


@pytest.mark.parametrize("name", ["numpy", "numba_fused"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    ("op", "optimizer", "options", "kwargs", "states"), TORCH_STEPS, ids=["Adam", "AdamW", "SGD", "RMSprop", "Adagrad"]
)
def test_one_step_matches_torch_optim(op, optimizer, options, kwargs, states, dtype, name) -> None:
    rng = np.random.default_rng(7)
    param, grad = (rng.standard_normal((6, 35)).astype(dtype) for _ in range(2))
    state = {k: np.abs(rng.standard_normal(param.shape)).astype(dtype) + 0.5 for k in states if k}
    if "grad_avg" in state:  # keep square_avg − grad_avg² positive
        state["grad_avg"] = 0.5 * state["grad_avg"] - 0.75
    if optimizer is not torch.optim.SGD:  # torch counts the step inside step(); RMSprop's only counts
        state["step"] = torch.tensor(float(kwargs.get("step", 3) - 1))
    want = _torch_step(optimizer, param, grad, state, **options)
    arrays = [state[k].copy() if k else None for k in states]
    got = kernels.variant(op, "cpu", name)(param.copy(), grad, *arrays, **kwargs)
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(got[0], want["param"], **tol)
    for array, key in zip(got[1:], [k for k in states if k], strict=True):
        np.testing.assert_allclose(array, want[key], **tol, err_msg=key)


@pytest.mark.parametrize("op", OPS)
def test_benchmark_runs_every_variant_and_its_steady_state_keeps_the_error_column_meaningful(op: str) -> None:
    rows = kernels.benchmark(op, sizes=["1000", "4097"], repeat=3, warmup=1)
    assert {(r.variant, r.size) for r in rows} == {(v, s) for v in ("numpy", "numba_fused") for s in ("1000", "4097")}
    for r in rows:
        assert r.max_rel_error < 1e-5, r
        assert r.gbytes_per_s > 0 and r.gflops > 0
