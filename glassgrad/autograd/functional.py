"""``gg.autograd.functional``: derivatives of a function, as PyTorch's ``torch.autograd.functional``.

Each takes ``func`` and ``inputs`` (a Tensor or a tuple of Tensors; ``func(*inputs)`` returns a Tensor
or a tuple of Tensors) and differentiates func at inputs with ``gg.autograd.grad``. For f: x ↦ y with
Jacobian J = ∂y/∂x and, for a scalar f, Hessian H = ∂²f/∂x²:

* ``vjp``: vᵀJ, one reverse pass (v shaped as the outputs);
* ``jvp``: Jv, by the double-vjp trick: u ↦ uᵀJ is linear in u, so Jv = ∂(uᵀJ v)/∂u (v shaped as the inputs);
* ``jacobian``: J, one reverse pass per output element (row);
* ``hessian``: H, the Jacobian of the gradient (its graph kept with ``create_graph``);
* ``vhp``: vᵀH = ∂(∇f · v)/∂x;   ``hvp``: Hv, by the double-vjp trick on x ↦ ∇f.

Results nest as PyTorch's do: a Tensor where the argument was a Tensor, a tuple where it was a tuple;
``jacobian(...)[i][j]`` is ∂out_i/∂in_j of shape out_i.shape + in_j.shape, ``hessian(...)[i][j]`` is
∂²f/∂in_i∂in_j. ``create_graph=True`` keeps the results differentiable; ``strict=True`` raises where
an output does not depend on an input instead of returning zeros.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..engine.autograd import grad
from ..engine.creation import zeros_like
from ..engine.grad_mode import enable_grad
from ..engine.ops import stack
from ..engine.tensor import Tensor

__all__ = ["hessian", "hvp", "jacobian", "jvp", "vhp", "vjp"]

Tensors = Tensor | tuple[Tensor, ...]
Strategy = str  # "reverse-mode" (the only one supported) or "forward-mode"


def vjp(
    func: Callable[..., Any],
    inputs: Tensors,
    v: Tensors | None = None,
    create_graph: bool = False,
    strict: bool = False,
) -> tuple[Any, Any]:
    """``(func(*inputs), vᵀJ)``: the outputs and the vector-Jacobian product, shaped as the inputs.
    v may be omitted when func returns one one-element Tensor."""
    with enable_grad():
        inputs_tuple, xs = _as_tuple("vjp", inputs, "inputs")
        xs = _prepare(xs, create_graph, need_graph=True)
        outputs_tuple, ys = _as_tuple("vjp", func(*xs), "outputs of the user-provided function")
        _check_outputs(ys, strict)
        vs = _vector("vjp", v, ys, outputs_tuple, create_graph, "the output of the user-provided function")
        vjps = _fill_in_zeros(_grad(ys, xs, vs, create_graph), xs, strict, create_graph, "back")
    return _nest(_detach(ys, create_graph), outputs_tuple), _nest(_detach(vjps, create_graph), inputs_tuple)


def jvp(
    func: Callable[..., Any],
    inputs: Tensors,
    v: Tensors | None = None,
    create_graph: bool = False,
    strict: bool = False,
) -> tuple[Any, Any]:
    """``(func(*inputs), Jv)``: the outputs and the Jacobian-vector product, shaped as the outputs.

    With u a dummy cotangent of the outputs, w(u) = uᵀJ (a vjp recorded with create_graph) is linear
    in u, so ∂(w · v)/∂u = Jv: a second vjp, of w against v, taken with respect to u. u's value never
    enters the result; it is zeros. v may be omitted when the input is one one-element Tensor."""
    with enable_grad():
        inputs_tuple, xs = _as_tuple("jvp", inputs, "inputs")
        xs = _prepare(xs, create_graph, need_graph=True)
        vs = _vector("jvp", v, xs, inputs_tuple, create_graph, "the input to the user-provided function")
        outputs_tuple, ys = _as_tuple("jvp", func(*xs), "outputs of the user-provided function")
        _check_outputs(ys, strict)
        us = tuple(zeros_like(y, requires_grad=True) for y in ys)
        u_jac = _grad(ys, xs, us, create_graph=True)
        if strict:
            _check_independent(
                u_jac,
                "The gradient with respect to input {i} is independent of the inputs of the user-provided function.",
            )
        jvps = _fill_in_zeros(_grad(u_jac, us, vs, create_graph), ys, strict, create_graph, "back_trick")
    return _nest(_detach(ys, create_graph), outputs_tuple), _nest(_detach(jvps, create_graph), outputs_tuple)


def jacobian(
    func: Callable[..., Any],
    inputs: Tensors,
    create_graph: bool = False,
    strict: bool = False,
    vectorize: bool = False,
    strategy: Strategy = "reverse-mode",
) -> Any:
    """J = ∂func(*inputs)/∂inputs: ``J[i][j]`` of shape outputs[i].shape + inputs[j].shape (a Tensor
    where func returns one Tensor and inputs is one Tensor). Row k of J[i] is the vjp of the one-hot
    k-th element of outputs[i]: one reverse pass per output element. ``vectorize=True`` gives the same
    values by the same passes (there is no vmap to batch them); only ``strategy="reverse-mode"`` exists."""
    _check_strategy("jacobian", "strategy", strategy, create_graph, strict)
    with enable_grad():
        inputs_tuple, xs = _as_tuple("jacobian", inputs, "inputs")
        xs = _prepare(xs, create_graph, need_graph=True)
        outputs_tuple, ys = _as_tuple("jacobian", func(*xs), "outputs of the user-provided function")
        _check_outputs(ys, strict)
        if vectorize and strict:
            raise RuntimeError(
                "jacobian: `strict=True` and `vectorize=True` are not supported together. "
                "Please either set `strict=False` or `vectorize=False`."
            )
        rows = tuple(_jacobian_rows(i, y, xs, create_graph, strict) for i, y in enumerate(ys))
    return _nest(_detach(rows, create_graph), (outputs_tuple, inputs_tuple))


def _jacobian_rows(i: int, y: Tensor, xs: tuple[Tensor, ...], create_graph: bool, strict: bool) -> tuple[Tensor, ...]:
    """∂y/∂x for each x in xs, of shape y.shape + x.shape: the vjp of each element of y, stacked."""
    per_input: list[list[Tensor]] = [[] for _ in xs]
    flat = y.reshape(-1)
    for k in range(y.numel()):
        row = _grad((flat[k],), xs, None, create_graph, retain_graph=True)
        for j, (g, x) in enumerate(zip(row, xs, strict=True)):
            if g is None:
                if strict:
                    raise RuntimeError(
                        f"Output {i} of the user-provided function is independent of input {j}. "
                        "This is not allowed in strict mode."
                    )
                g = zeros_like(x)
            elif strict and create_graph and not g.requires_grad:
                raise RuntimeError(
                    f"The jacobian of the user-provided function is independent of input {j}. "
                    "This is not allowed in strict mode when create_graph=True."
                )
            per_input[j].append(g)
    if y.numel() == 0:  # no rows to stack
        return tuple(x.new_zeros(*y.shape, *x.shape) for x in xs)
    return tuple(stack(gs, dim=0).reshape(*y.shape, *x.shape) for gs, x in zip(per_input, xs, strict=True))


def hessian(
    func: Callable[..., Any],
    inputs: Tensors,
    create_graph: bool = False,
    strict: bool = False,
    vectorize: bool = False,
    outer_jacobian_strategy: Strategy = "reverse-mode",
) -> Any:
    """H = ∂²func(*inputs)/∂inputs² for a func returning one one-element Tensor: the Jacobian of the
    gradient, whose graph is kept (create_graph) so it can be differentiated once more. ``H[i][j]`` has
    shape inputs[i].shape + inputs[j].shape (one Tensor where inputs is one Tensor)."""
    _check_strategy("hessian", "outer_jacobian_strategy", outer_jacobian_strategy, create_graph, strict)
    inputs_tuple, xs = _as_tuple("hessian", inputs, "inputs")

    def scalar_func(*args: Tensor) -> Tensor:
        out = func(*args)
        outputs_tuple, ys = _as_tuple("hessian", out, "outputs of the user-provided function")
        _check_outputs(ys, strict)
        if outputs_tuple:
            raise RuntimeError("The function given to hessian should return a single Tensor")
        if out.numel() != 1:
            raise RuntimeError(
                "The Tensor returned by the function given to hessian should contain a single element, "
                f"got shape {tuple(out.shape)}"
            )
        return out.reshape(())

    def gradient(*args: Tensor) -> tuple[Tensor, ...]:
        g = jacobian(scalar_func, args, create_graph=True)
        if strict:
            _check_independent(g, _JACOBIAN_CONSTANT)
        return g

    h = jacobian(gradient, xs, create_graph=create_graph, strict=strict, vectorize=vectorize)
    return _nest(h, (inputs_tuple, inputs_tuple))


def vhp(
    func: Callable[..., Any],
    inputs: Tensors,
    v: Tensors | None = None,
    create_graph: bool = False,
    strict: bool = False,
) -> tuple[Any, Any]:
    """``(func(*inputs), vᵀH)`` for a func returning one one-element Tensor: vᵀH = ∂(∇f · v)/∂x, a vjp
    of the gradient (recorded with create_graph) against v."""
    with enable_grad():
        inputs_tuple, xs, vs, ys = _scalar_func_at("vhp", func, inputs, v, create_graph, strict)
        g = _grad(ys, xs, None, create_graph=True)
        if strict:
            _check_independent(g, _JACOBIAN_CONSTANT)
        vhps = _fill_in_zeros(_grad(g, xs, vs, create_graph), xs, strict, create_graph, "double_back")
    return _detach(ys, create_graph)[0], _nest(_detach(vhps, create_graph), inputs_tuple)


def hvp(
    func: Callable[..., Any],
    inputs: Tensors,
    v: Tensors | None = None,
    create_graph: bool = False,
    strict: bool = False,
) -> tuple[Any, Any]:
    """``(func(*inputs), Hv)`` for a func returning one one-element Tensor: the double-vjp trick on
    x ↦ ∇f (its Jacobian is H): w(u) = uᵀH is linear in a dummy u, so Hv = ∂(w · v)/∂u. Equal to vhp
    when f is twice continuously differentiable (H symmetric)."""
    with enable_grad():
        inputs_tuple, xs, vs, ys = _scalar_func_at("hvp", func, inputs, v, create_graph, strict)
        g = _grad(ys, xs, None, create_graph=True)
        if strict:
            _check_independent(g, _JACOBIAN_CONSTANT)
        us = tuple(zeros_like(x, requires_grad=True) for x in xs)
        u_hess = _grad(g, xs, us, create_graph=True)
        hvps = _fill_in_zeros(_grad(u_hess, us, vs, create_graph), xs, strict, create_graph, "double_back_trick")
    return _detach(ys, create_graph)[0], _nest(_detach(hvps, create_graph), inputs_tuple)


def _scalar_func_at(
    op: str, func: Callable[..., Any], inputs: Tensors, v: Tensors | None, create_graph: bool, strict: bool
) -> tuple[bool, tuple[Tensor, ...], tuple[Tensor, ...] | None, tuple[Tensor, ...]]:
    """vhp/hvp's common start: the prepared inputs and v, and func's one one-element output."""
    inputs_tuple, xs = _as_tuple(op, inputs, "inputs")
    xs = _prepare(xs, create_graph, need_graph=True)
    vs = _vector(op, v, xs, inputs_tuple, create_graph, "the input to the user-provided function")
    outputs_tuple, ys = _as_tuple(op, func(*xs), "outputs of the user-provided function")
    _check_outputs(ys, strict)
    if outputs_tuple:
        raise RuntimeError(f"The function given to {op} should return a single Tensor")
    if ys[0].numel() != 1:
        raise RuntimeError(
            f"The Tensor returned by the function given to {op} should contain a single element, "
            f"got shape {tuple(ys[0].shape)}"
        )
    return inputs_tuple, xs, vs, ys


# ------------------------------------------------------------------ helpers


def _as_tuple(op: str, value: Any, what: str) -> tuple[bool, tuple[Tensor, ...]]:
    """(whether ``value`` was a tuple, ``value`` as a tuple of Tensors); TypeError naming what is not a Tensor."""
    is_tuple = isinstance(value, tuple)
    items = value if is_tuple else (value,)
    for i, item in enumerate(items):
        if not isinstance(item, Tensor):
            where = f"the value at index {i}" if is_tuple else f"the given {what}"
            raise TypeError(
                f"The {what} given to {op} must be either a Tensor or a tuple of Tensors but {where} "
                f"has type {type(item).__name__}."
            )
    return is_tuple, items


def _prepare(tensors: tuple[Tensor, ...], create_graph: bool, need_graph: bool) -> tuple[Tensor, ...]:
    """New Tensor objects for func to see (so a tensor func captures itself is told apart from an
    argument): with create_graph, one that requires grad stays in the graph (a view of itself), so
    the results can be differentiated back to it; otherwise the same values detached (sharing memory),
    requiring grad when ``need_graph``."""
    return tuple(
        t.view_as(t) if create_graph and t.requires_grad else t.detach().requires_grad_(need_graph) for t in tensors
    )


def _grad(
    outputs: tuple[Tensor | None, ...],
    inputs: tuple[Tensor, ...],
    grad_outputs: tuple[Tensor | None, ...] | None,
    create_graph: bool,
    retain_graph: bool | None = None,
) -> tuple[Tensor | None, ...]:
    """``autograd.grad`` over the outputs that require grad (skipping None and the others), with None
    for an input they do not reach; all None when no output requires grad."""
    pairs = [
        (y, None if grad_outputs is None else grad_outputs[i])
        for i, y in enumerate(outputs)
        if y is not None and y.requires_grad
    ]
    if not pairs:
        return (None,) * len(inputs)
    ys, gs = zip(*pairs, strict=True)
    return grad(
        list(ys),
        list(inputs),
        list(gs) if grad_outputs is not None else None,
        retain_graph=retain_graph,
        create_graph=create_graph,
        allow_unused=True,
    )


def _vector(
    op: str, v: Tensors | None, like: tuple[Tensor, ...], like_tuple: bool, create_graph: bool, what: str
) -> tuple[Tensor, ...] | None:
    """v as a tuple, prepared and checked against ``like`` (the outputs for vjp, the inputs otherwise);
    None (v = 1) only where ``like`` is one one-element Tensor (``what`` names it in the error)."""
    if v is None:
        if len(like) != 1 or like[0].numel() != 1:
            raise RuntimeError(
                f"{op}: the vector v can only be None if {what} is a single Tensor with a single element; "
                f"got {len(like)} Tensor(s) of shapes {[tuple(t.shape) for t in like]}"
            )
        return None
    vs = _prepare(_as_tuple(op, v, "v")[1], create_graph, need_graph=False)
    _validate_v(vs, like, like_tuple)
    return vs


def _validate_v(vs: tuple[Tensor, ...], like: tuple[Tensor, ...], is_tuple: bool) -> None:
    """v has one Tensor per Tensor of ``like``, each of its shape."""
    if len(vs) != len(like):
        if is_tuple:
            raise RuntimeError(f"v is a tuple of invalid length: should be {len(like)} but got {len(vs)}.")
        raise RuntimeError("The given v should contain a single Tensor.")
    for i, (v, t) in enumerate(zip(vs, like, strict=True)):
        if v.shape != t.shape:
            entry = f"Entry {i} in " if is_tuple else ""
            raise RuntimeError(f"{entry}v has invalid size: should be {tuple(t.shape)} but got {tuple(v.shape)}.")


def _check_outputs(ys: tuple[Tensor, ...], strict: bool) -> None:
    if strict:
        for i, y in enumerate(ys):
            if not y.requires_grad:
                raise RuntimeError(
                    f"Output {i} of the user-provided function does not require gradients. The outputs must be "
                    "computed in a differentiable manner from the input when running in strict mode."
                )


_JACOBIAN_CONSTANT = (
    "While computing the hessian, found that the jacobian of the user-provided function with respect to input {i} "
    "is independent of the input. You should ensure that your function is twice differentiable and that the "
    "jacobian depends on the inputs (this would be violated by a linear function for example)."
)


def _check_independent(grads: tuple[Tensor | None, ...], constant: str) -> None:
    """strict mode: each gradient exists, and has a graph back to the inputs (else ``constant``, with {i})."""
    for i, g in enumerate(grads):
        if g is None:
            raise RuntimeError(
                f"The output of the user-provided function is independent of input {i}. "
                "This is not allowed in strict mode."
            )
        if not g.requires_grad:
            raise RuntimeError(constant.format(i=i) + " This is not allowed in strict mode.")


_INDEPENDENT = {
    "back": "The output of the user-provided function is independent of input {i}.",
    "back_trick": "The gradient with respect to the input is independent of entry {i} in the grad_outputs "
    "when using the double backward trick to compute forward mode gradients.",
    "double_back": "The jacobian of the user-provided function is independent of input {i}.",
    "double_back_trick": "The hessian of the user-provided function is independent of entry {i} in the "
    "grad_jacobian, which prevents using the double backward trick to replace forward mode AD.",
}


def _fill_in_zeros(
    grads: tuple[Tensor | None, ...], like: tuple[Tensor, ...], strict: bool, create_graph: bool, stage: str
) -> tuple[Tensor, ...]:
    """Zeros (shaped as ``like``) where a gradient is None: the derivative of a function that does not
    depend on that input. In strict mode that raises instead, as does, with create_graph, a gradient
    without a graph (``stage`` says which pass found it, for the message)."""
    filled = []
    for i, (g, t) in enumerate(zip(grads, like, strict=True)):
        if g is None:
            if strict:
                raise RuntimeError(_INDEPENDENT[stage].format(i=i) + " This is not allowed in strict mode.")
            g = zeros_like(t)
        elif strict and create_graph and not g.requires_grad:
            what = "hessian" if "double" in stage else "jacobian"
            raise RuntimeError(
                f"The {what} of the user-provided function is independent of input {i}. "
                "This is not allowed in strict mode when create_graph=True."
            )
        filled.append(g)
    return tuple(filled)


def _detach(value: Any, create_graph: bool) -> Any:
    """The results as given with create_graph, else cut from the graph (nested tuples kept)."""
    if create_graph:
        return value
    if isinstance(value, Tensor):
        return value.detach()
    return tuple(_detach(v, create_graph) for v in value)


def _nest(value: tuple[Any, ...], was_tuple: bool | tuple[bool, bool]) -> Any:
    """Undo the tupling of arguments that were single Tensors: ``was_tuple`` per level (outer, inner)."""
    if isinstance(was_tuple, tuple):
        outer, inner = was_tuple
        if not inner:
            value = tuple(v[0] for v in value)
        return value if outer else value[0]
    return value if was_tuple else value[0]


def _check_strategy(op: str, name: str, strategy: str, create_graph: bool, strict: bool) -> None:
    """Only reverse mode exists: "forward-mode" raises (NotImplementedError, or PyTorch's RuntimeError
    for strict), anything else is an AssertionError as in PyTorch."""
    if strategy not in ("forward-mode", "reverse-mode"):
        raise AssertionError(f'{op}: expected {name} to be either "forward-mode" or "reverse-mode", got {strategy!r}')
    if strategy == "forward-mode":
        if create_graph:
            raise NotImplementedError(
                f'{op}: `create_graph=True` and `{name}="forward-mode"` are not supported together. '
                f'Please either set `create_graph=False` or `{name}="reverse-mode"`.'
            )
        if strict:
            raise RuntimeError(
                f'{op}: `strict=True` and `{name}="forward-mode"` are not supported together. '
                f'Please either set `strict=False` or `{name}="reverse-mode"`.'
            )
        raise NotImplementedError(
            f'{op}: {name}="forward-mode" needs forward-mode AD, which glassgrad does not have; '
            f'use {name}="reverse-mode" (the default)'
        )
