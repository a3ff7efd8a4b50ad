"""Test helper for the attention and transformer layers: a PyTorch module and its glassgrad twin with the
same state_dict (loaded from PyTorch and back), run on the same named inputs, compared on every output,
every input's gradient and every parameter's gradient (float64, 1e-10)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch

import glassgrad as gg

TOL = {"atol": 1e-10, "rtol": 1e-10}


def twins(make_ours: Callable[[], gg.nn.Module], make_theirs: Callable[[], torch.nn.Module], seed: int = 0):
    """PyTorch's module (seeded) in float64 eval mode and ours with its weights; ours' state_dict has the same
    keys in the same order and loads back into a fresh PyTorch module unchanged."""
    torch.manual_seed(seed)
    theirs = make_theirs().double().eval()
    ours = make_ours().to(gg.float64).eval()
    ours.load_state_dict({k: gg.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()})
    assert list(ours.state_dict()) == list(theirs.state_dict())
    torch.manual_seed(seed + 1)
    back = make_theirs().double()
    back.load_state_dict({k: torch.tensor(v.numpy()) for k, v in ours.state_dict().items()}, strict=True)
    for key, value in theirs.state_dict().items():
        assert torch.equal(back.state_dict()[key], value), key
    return ours, theirs


def _outputs(result: Any) -> list[Any]:
    return list(result) if isinstance(result, tuple) else [result]


def compare(
    ours: gg.nn.Module,
    theirs: torch.nn.Module,
    arrays: dict[str, np.ndarray],
    run: Callable[[Any, dict[str, Any]], Any],
) -> list[np.ndarray]:
    """``run(module, tensors)`` on both libraries with ``arrays`` as tensors (the floating ones require grad);
    outputs (None must be None in both), the gradients of Σ r ⊙ outputs for random r, with respect to every
    floating input and every parameter, agree. Returns our outputs as arrays."""
    mine = {k: gg.tensor(a, requires_grad=a.dtype.kind == "f") for k, a in arrays.items()}
    yours = {k: torch.tensor(a, requires_grad=a.dtype.kind == "f") for k, a in arrays.items()}
    got, want = _outputs(run(ours, mine)), _outputs(run(theirs, yours))
    assert len(got) == len(want)
    rng = np.random.default_rng(0)
    loss_g, loss_t = 0.0, 0.0
    for i, (a, b) in enumerate(zip(got, want, strict=True)):
        assert (a is None) == (b is None), f"output {i}: {a is None} vs {b is None}"
        if a is None:
            continue
        assert a.shape == tuple(b.shape), f"output {i}: {a.shape} vs {tuple(b.shape)}"
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), **TOL, err_msg=f"output {i}")
        r = rng.standard_normal(a.shape)
        loss_g, loss_t = loss_g + (a * gg.tensor(r)).sum(), loss_t + (b * torch.tensor(r)).sum()
    loss_g.backward()
    loss_t.backward()
    for name, t in yours.items():
        if t.grad is None:  # an input the result does not depend on (a mask replaced by the causal hint)
            assert mine[name].grad is None, name
        elif t.requires_grad:
            np.testing.assert_allclose(mine[name].grad.numpy(), t.grad.numpy(), **TOL, err_msg=f"grad of {name}")
    their_params = dict(theirs.named_parameters())
    assert sorted(n for n, _ in ours.named_parameters()) == sorted(their_params)
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), their_params[name].grad.numpy(), **TOL, err_msg=f"grad of {name}")
    return [None if a is None else a.detach().numpy() for a in got]


def raises_like_torch(ours: Callable[[], Any], theirs: Callable[[], Any], match: str) -> None:
    """Both raise; ours the exception type PyTorch raises, with a message matching ``match``."""
    try:
        theirs()
    except Exception as err:  # the type is read from torch
        kind = type(err)
    else:
        raise AssertionError("PyTorch did not raise")
    with pytest.raises(kind, match=match):
        ours()
