"""PyTorch as the test oracle: run the same function in glassgrad and PyTorch
on the same inputs and compare forward values and the gradient of ``.sum()``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

import glassgrad as gg

# (atol, rtol) for comparing against PyTorch: float32 forward 1e-6 / 1e-3 and
# gradient 1e-4 / 1e-3 (the two libraries sum in different orders); float64 1e-10 for both.
TOL = {
    "float32": {"forward": (1e-6, 1e-3), "grad": (1e-4, 1e-3)},
    "float64": {"forward": (1e-10, 1e-10), "grad": (1e-10, 1e-10)},
}


def to_numpy(x: Any) -> np.ndarray:
    if isinstance(x, gg.Tensor):
        return np.asarray(x.detach().cpu().array)
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()
    return np.asarray(x)


def first(out: Any) -> Any:
    """Ops such as max(dim) return (values, indices): compare the values."""
    return out[0] if isinstance(out, tuple) else out


def compare_with_torch(
    fn_gg: Callable[..., Any],
    fn_torch: Callable[..., Any],
    arrays: Sequence[np.ndarray],
    dtype: str = "float64",
    grad: bool = True,
    tol_scale: float = 1.0,
    device: str = "cpu",
) -> None:
    """Assert glassgrad and PyTorch agree on forward and on d(sum(out))/d(inputs)."""
    arrays = [np.asarray(a, dtype=dtype) if np.asarray(a).dtype.kind == "f" else np.asarray(a) for a in arrays]
    xs = [gg.tensor(a, requires_grad=grad and a.dtype.kind == "f", device=device) for a in arrays]
    ts = [torch.tensor(a, requires_grad=grad and a.dtype.kind == "f") for a in arrays]
    out_g, out_t = first(fn_gg(*xs)), first(fn_torch(*ts))
    fa, fr = (t * tol_scale for t in TOL[dtype]["forward"])
    np.testing.assert_allclose(to_numpy(out_g), to_numpy(out_t), atol=fa, rtol=fr, err_msg="forward")
    if not grad:
        return
    out_g.sum().backward()
    out_t.sum().backward()
    ga, gr = (t * tol_scale for t in TOL[dtype]["grad"])
    for i, (x, t) in enumerate(zip(xs, ts, strict=True)):
        if t.grad is None:
            continue
        got = to_numpy(x.grad) if x.grad is not None else np.zeros(x.shape)
        np.testing.assert_allclose(got, to_numpy(t.grad), atol=ga, rtol=gr, err_msg=f"gradient of input {i}")
