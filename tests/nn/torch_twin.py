"""Test helper: a glassgrad module and its PyTorch twin with the same weights,
compared on forward values and on the gradients of ``out.sum()`` (or a loss)."""

from __future__ import annotations

import numpy as np
import torch

import glassgrad as gg

from oracle import TOL, to_numpy


def copy_into_torch(module: gg.nn.Module, twin: torch.nn.Module) -> torch.nn.Module:
    """Load ``module``'s state_dict (same keys as PyTorch's) into ``twin``, in its dtype."""
    state = {k: torch.tensor(np.asarray(v.array)) for k, v in module.state_dict().items()}
    twin.load_state_dict(state, strict=True)
    return twin


def check_twins(
    module: gg.nn.Module,
    twin: torch.nn.Module,
    x: np.ndarray,
    dtype: str = "float64",
    tol_scale: float = 1.0,
) -> None:
    """Same weights, same input: outputs, input gradient and parameter gradients agree."""
    module.to(getattr(gg, dtype))
    copy_into_torch(module, twin.to(getattr(torch, dtype)))
    floating = np.asarray(x).dtype.kind == "f"
    xg = gg.tensor(np.asarray(x, dtype=dtype) if floating else x, requires_grad=floating)
    xt = torch.tensor(np.asarray(x, dtype=dtype) if floating else x, requires_grad=floating)
    out_g, out_t = module(xg), twin(xt)
    fa, fr = (t * tol_scale for t in TOL[dtype]["forward"])
    np.testing.assert_allclose(to_numpy(out_g), to_numpy(out_t), atol=fa, rtol=fr, err_msg="forward")
    weights = np.random.default_rng(0).standard_normal(out_t.shape)
    (out_g * gg.tensor(weights, dtype=getattr(gg, dtype))).sum().backward()
    (out_t * torch.tensor(weights, dtype=getattr(torch, dtype))).sum().backward()
    ga, gr = (t * tol_scale for t in TOL[dtype]["grad"])
    if floating:
        np.testing.assert_allclose(to_numpy(xg.grad), to_numpy(xt.grad), atol=ga, rtol=gr, err_msg="input grad")
    twin_params = dict(twin.named_parameters())
    for name, param in module.named_parameters():
        np.testing.assert_allclose(
            to_numpy(param.grad), to_numpy(twin_params[name].grad), atol=ga, rtol=gr, err_msg=f"grad of {name}"
        )
