"""Finite-difference gradient checks: of the gradient (``gradcheck``) and of the gradient's gradient
(``gradgradcheck``).

For a function f and random weights v, let L(x) = Σ v ⊙ f(x). Backprop gives
∂L/∂xᵢ for every input element at once; central differences give
(L(x + εeᵢ) - L(x - εeᵢ)) / 2ε, with error O(ε²). The two must agree within
atol + rtol·|numeric| for every element of every input that requires grad.
The random v makes every output element count with a different weight, so a
wrong derivative cannot cancel out.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from . import backend, dtypes
from .grad_mode import enable_grad, no_grad
from .tensor import Tensor


class GradcheckError(AssertionError):
    """Raised when analytic and numeric gradients disagree."""


def _float_outputs(out: Any) -> list[Tensor]:
    """The floating-point tensors among fn's outputs (indices and masks don't count)."""
    outs = list(out) if isinstance(out, tuple | list) else [out]
    return [o for o in outs if isinstance(o, Tensor) and dtypes.is_floating(o.dtype)]


def _checked_inputs(op: str, inputs: Sequence[Any] | Tensor) -> tuple[tuple[Any, ...], list[int]]:
    """The inputs as a tuple and the positions of those that require grad (ValueError if none does)."""
    inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    checked = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    if not checked:
        raise ValueError(f"{op}: no input requires grad")
    return inputs, checked


def gradcheck(
    fn: Callable[..., Any],
    inputs: Sequence[Any] | Tensor,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
    seed: int = 0,
) -> bool:
    """Check ``fn``'s backward against central differences (inputs in float64).

    Returns True, or raises GradcheckError naming the input, the worst element's
    index, and the analytic and numeric values there.
    """
    inputs, checked = _checked_inputs("gradcheck", inputs)
    for i in checked:
        if inputs[i].dtype != np.float64:
            raise ValueError(f"gradcheck: input {i} is {inputs[i].dtype}; finite differences need float64")

    rng = np.random.default_rng(seed)
    outs = _float_outputs(fn(*inputs))
    weights = [o.xp.asarray(rng.standard_normal(o.shape)) for o in outs]

    def objective() -> float:
        with no_grad():
            values = _float_outputs(fn(*inputs))
        return float(sum(float((v.array * w).sum()) for v, w in zip(values, weights, strict=True)))

    for i in checked:
        inputs[i].grad = None
    terms = [(o * Tensor(w)).sum() for o, w in zip(outs, weights, strict=True) if o.requires_grad]
    if terms:
        sum(terms[1:], terms[0]).backward()

    for i in checked:
        x = inputs[i]
        analytic = np.zeros(x.shape) if x.grad is None else np.asarray(backend.to_device(x.grad.array, "cpu"))
        numeric = np.zeros(x.shape)
        flat = x.array.reshape(-1) if x.array.flags.c_contiguous else None
        if flat is None:  # non-contiguous input: perturb through the view itself
            for idx in np.ndindex(*x.shape):
                numeric[idx] = _central_difference(x.array, idx, eps, objective)
        else:
            for k in range(flat.size):
                numeric.reshape(-1)[k] = _central_difference(flat, k, eps, objective)
        error = np.abs(analytic - numeric) - (atol + rtol * np.abs(numeric))
        if error.size and (error.max() > 0 or not np.isfinite(analytic).all()):
            worst = np.unravel_index(np.nanargmax(np.where(np.isfinite(error), error, np.inf)), x.shape)
            msg = (
                f"gradcheck: gradient of input {i} (shape {x.shape}) is wrong at index {tuple(int(w) for w in worst)}: "
                f"analytic {analytic[worst]:.10g}, numeric {numeric[worst]:.10g} "
                f"(atol {atol}, rtol {rtol}, eps {eps})"
            )
            if raise_exception:
                raise GradcheckError(msg)
            return False
    return True


def _central_difference(array: Any, index: Any, eps: float, objective: Callable[[], float]) -> float:
    original = array[index].item() if hasattr(array[index], "item") else array[index]
    array[index] = original + eps
    plus = objective()
    array[index] = original - eps
    minus = objective()
    array[index] = original
    return (plus - minus) / (2 * eps)


def gradgradcheck(
    fn: Callable[..., Any],
    inputs: Sequence[Any] | Tensor,
    grad_outputs: Sequence[Tensor] | None = None,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    raise_exception: bool = True,
    seed: int = 0,
) -> bool:
    """Check the second derivatives of ``fn`` (``torch.autograd.gradgradcheck``): ``gradcheck`` of
    (x, v) ↦ vᵀ ∂fn/∂x, the first derivative computed with ``create_graph=True``. Both x and the
    output weights v (random float64 when ``grad_outputs`` is None) are checked, so the recorded
    backward must be right in the gradient it receives as well as in the inputs."""
    inputs, checked = _checked_inputs("gradgradcheck", inputs)
    with enable_grad():
        outs = [o for o in _float_outputs(fn(*inputs)) if o.requires_grad]
    if grad_outputs is None:
        rng = np.random.default_rng(seed + 1)
        grad_outputs = [
            Tensor(o.xp.asarray(rng.standard_normal(o.shape)), requires_grad=True).to(o.dtype) for o in outs
        ]
    grad_outputs = list(grad_outputs)
    n = len(inputs)

    def first_derivative(*args: Any) -> tuple[Tensor, ...]:
        xs, vs = args[:n], args[n:]
        with enable_grad():
            ys = [o for o in _float_outputs(fn(*xs)) if o.requires_grad]
            grads = autograd.grad(ys, [xs[i] for i in checked], list(vs), create_graph=True, allow_unused=True)
        return tuple(
            Tensor(xs[i].xp.zeros_like(xs[i].array)) if g is None else g for i, g in zip(checked, grads, strict=True)
        )

    return gradcheck(first_derivative, (*inputs, *grad_outputs), eps, atol, rtol, raise_exception, seed)


from . import autograd  # noqa: E402 - at the end: autograd imports tensor, which imports this package's ops
