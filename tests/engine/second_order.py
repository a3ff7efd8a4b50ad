"""Second derivatives of an op-table case in glassgrad and PyTorch, for the double-backward tests.

For random output weights v and input weights u, each library computes g(x, v) = vᵀ ∂f/∂x with
create_graph, then the gradients of s = Σ u ⊙ g with respect to x (Σ vᵀ ∂²f/∂x²·u) and to v (∂f/∂x · u).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

import glassgrad as gg

from op_case import OpCase, draw_inputs
from oracle import first, to_numpy


def second_derivatives(lib: Any, fn: Any, arrays: list[np.ndarray], v: np.ndarray, u: list[np.ndarray]) -> Any:
    """[d s/d x₁, ..., d s/d xₙ, d s/d v] as arrays, or None when fn's output needs no gradient."""
    tensor = gg.tensor if lib is gg else torch.tensor
    xs = [tensor(a, requires_grad=True) for a in arrays]
    out = first(fn(*xs))
    if not out.requires_grad:
        return None
    vt = tensor(v, requires_grad=True)
    auto = gg.autograd if lib is gg else torch.autograd
    gs = auto.grad(out, xs, vt, create_graph=True, allow_unused=True)
    terms = [(g * tensor(ui)).sum() for g, ui in zip(gs, u, strict=True) if g is not None and g.requires_grad]
    if not terms:
        return [*(np.zeros_like(a) for a in arrays), np.zeros_like(v)]
    s = sum(terms[1:], terms[0])
    dx = auto.grad(s, [*xs, vt], allow_unused=True)
    return [values(d, a.shape) for d, a in zip(dx, [*arrays, v], strict=True)]


def values(d: Any, shape: tuple[int, ...]) -> np.ndarray:
    """The numbers of a gradient; None and PyTorch's ZeroTensor (a derivative known to be 0) are zeros."""
    if d is None or (isinstance(d, torch.Tensor) and d._is_zerotensor()):
        return np.zeros(shape)
    return to_numpy(d)


def random_weights(op: OpCase, arrays: list[np.ndarray], seed: int) -> tuple[np.ndarray, list[np.ndarray]]:
    """v of the output's shape and u of each input's, seeded."""
    rng = np.random.default_rng(seed)
    with torch.no_grad():
        shape = first(op.theirs(*[torch.tensor(a) for a in arrays])).shape
    return rng.standard_normal(tuple(shape)), [rng.standard_normal(a.shape) for a in arrays]


def assert_match_torch(op: OpCase, index: int, seed: int, allow_torch_missing: bool = False) -> None:
    """Our second derivatives of ``op`` on its shapes[index] equal PyTorch's (1e-10). With
    ``allow_torch_missing``, a kernel PyTorch cannot differentiate twice leaves ours to be finite
    (gradgradcheck checks them then)."""
    arrays = draw_inputs(op, op.shapes[index], seed=seed + index)
    v, u = random_weights(op, arrays, index)
    try:
        theirs = second_derivatives(torch, op.theirs, arrays, v, u)
    except RuntimeError as err:
        if not (allow_torch_missing and "is not implemented" in str(err)):
            raise
        theirs = None
    ours = second_derivatives(gg, op.ours, arrays, v, u)
    if theirs is None:
        assert ours is None or all(np.isfinite(a).all() for a in ours)
        return
    for i, (a, b) in enumerate(zip(ours, theirs, strict=True)):
        np.testing.assert_allclose(a, b, atol=1e-10, rtol=1e-8, err_msg=f"{op.name}: d/d(input {i}) of vᵀJ·u")
