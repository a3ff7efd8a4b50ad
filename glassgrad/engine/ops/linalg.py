"""Matrix multiplication with batch broadcasting and 1-D operands, through the
kernel registry's matmul (``glassgrad.kernels.use("matmul", name)`` picks the variant).

z = x y;  dL/dx = g · yᵀ,  dL/dy = xᵀ · g   (g = dL/dz)
(both computed with the same kernel, on transposed views, never copies).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ... import kernels
from ...amp.autocast_mode import autocast_args, autocast_state
from .. import backend, dtypes
from ..function import Context, Function
from ..recorded import Recorded
from ..tensor import Tensor


def matmul_arrays(a: Any, b: Any) -> Any:
    """a @ b for arrays with ndim ≥ 2, batch dims broadcast, via the selected kernel.

    A 2-D right operand folds the left batch into its rows (one big GEMM, as
    for a Linear layer); otherwise both are broadcast to one batch and run as
    a batched (B, M, K) @ (B, K, N) product. In a recorded backward (``create_graph``,
    engine/recorded.py) the operands are Recorded and this is the recorded matmul op.
    """
    if type(a) is Recorded or type(b) is Recorded:
        return a @ b
    if a.ndim == 2 and b.ndim == 2:
        return kernels.run("matmul", a, b)
    m, k = a.shape[-2:]
    n = b.shape[-1]
    if b.ndim == 2:
        return kernels.run("matmul", a.reshape(-1, k), b).reshape(a.shape[:-1] + (n,))
    xp = backend.xp_of(a)
    batch = np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    a3 = xp.broadcast_to(a, batch + (m, k)).reshape(-1, m, k)
    b3 = xp.broadcast_to(b, batch + (k, n)).reshape(-1, k, n)
    return kernels.run("matmul", a3, b3).reshape(batch + (m, n))


class MatMul(Function):
    """z = x @ y (1-D x is a row, 1-D y a column, dropped from the result);
    dL/dx = g @ yᵀ,  dL/dy = xᵀ @ g, summed over broadcast batch dims"""

    @staticmethod
    def forward(ctx: Context, x: Any, y: Any) -> Any:
        x2 = x[None, :] if x.ndim == 1 else x
        y2 = y[:, None] if y.ndim == 1 else y
        z = matmul_arrays(x2, y2)
        ctx.save_for_backward(x, y)
        if y.ndim == 1:
            z = z[..., 0]
        if x.ndim == 1:
            z = z[..., 0, :] if y.ndim > 1 else z[..., 0]
        return z

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple[Any, Any]:
        x, y = ctx.saved_arrays
        x2 = x[None, :] if x.ndim == 1 else x
        y2 = y[:, None] if y.ndim == 1 else y
        g = grad
        if y.ndim == 1:
            g = g[..., None]
        if x.ndim == 1:
            g = g[..., None, :]
        gx = gy = None
        if ctx.needs_input_grad[0]:
            gx = matmul_arrays(g, y2.swapaxes(-1, -2))
            gx = gx[..., 0, :] if x.ndim == 1 else gx
        if ctx.needs_input_grad[1]:
            gy = _weight_grad(x2, y2, g) if y2.ndim == 2 else matmul_arrays(x2.swapaxes(-1, -2), g)
            gy = gy[..., 0] if y.ndim == 1 else gy
        return gx, gy


class Linear(Function):
    """z = x Wᵀ + b for W of shape (out, in), x of shape (..., in), b of shape (out,) or None; x's
    leading dims folded into the rows of one GEMM each way (PyTorch's addmm):
    dL/dx = g W,  dL/dW = Σ_rows gᵀ x,  dL/db = Σ_rows g"""

    @staticmethod
    def forward(ctx: Context, x: Any, weight: Any, bias: Any) -> Any:
        z = kernels.run("matmul", x.reshape(-1, x.shape[-1]), weight.T)
        if bias is not None:
            z += bias  # z is the kernel's fresh output
        ctx.save_for_backward(x, weight)
        return z.reshape(*x.shape[:-1], weight.shape[0])

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple[Any, Any, Any]:
        x, weight = ctx.saved_arrays
        g = grad.reshape(-1, weight.shape[0])
        need_x, need_w, need_b = ctx.needs_input_grad
        grad_x = kernels.run("matmul", g, weight).reshape(x.shape) if need_x else None
        grad_w = kernels.run("matmul", g.T, x.reshape(-1, x.shape[-1])) if need_w else None
        return grad_x, grad_w, dtypes.summed(g, 0) if need_b else None

    @staticmethod
    def decomposition(x: Tensor, weight: Tensor, bias: Tensor | None) -> Tensor:
        """x @ Wᵀ + b as a matmul and an add (create_graph differentiates these)."""
        z = x @ weight.T
        return z if bias is None else z + bias


def _weight_grad(x: Any, y: Any, g: Any) -> Any:
    """dL/dy = Σ_batch xᵀ g for a 2-D y (a Linear layer's Wᵀ): x's batch folded into its rows, one
    GEMM. Laid out as y is: for y = Wᵀ (a transposed view) it is computed as (gᵀ x)ᵀ, so W.grad comes
    back C-contiguous like W, at no cost (PyTorch's gradient layout contract)."""
    k, n = y.shape
    rows, grads = x.reshape(-1, k), g.reshape(-1, n)
    if y.flags.f_contiguous and not y.flags.c_contiguous:
        return matmul_arrays(grads.T, rows).T
    return matmul_arrays(rows.T, grads)


def matmul(input: Tensor, other: Tensor) -> Tensor:
    """Matrix product with NumPy's rules for 1-D operands and batch broadcasting."""
    if autocast_state.enabled:
        input, other = autocast_args("matmul", input, other)
    if not (isinstance(input, Tensor) and isinstance(other, Tensor)):
        raise TypeError(f"matmul: expected Tensors, got {type(input).__name__} and {type(other).__name__}")
    a, b = input.array, other.array
    if a.ndim == 0 or b.ndim == 0:
        raise RuntimeError(f"matmul: both arguments need at least 1 dim, got shapes {a.shape} and {b.shape}")
    if a.dtype != b.dtype:
        raise RuntimeError(f"matmul: expected both operands to have the same dtype, got {a.dtype} and {b.dtype}")
    k1, k2 = a.shape[-1], b.shape[-2 if b.ndim > 1 else 0]
    if k1 != k2:
        raise RuntimeError(f"matmul: shapes {a.shape} and {b.shape} cannot be multiplied ({k1} != {k2})")
    if a.ndim > 2 and b.ndim > 2:
        try:
            np.broadcast_shapes(a.shape[:-2], b.shape[:-2])
        except ValueError as err:
            raise RuntimeError(f"matmul: batch dims of {a.shape} and {b.shape} don't broadcast") from err
    return MatMul.apply(input, other)


def _check_same_dtype(op: str, input: Tensor, other: Tensor) -> None:
    if not (isinstance(input, Tensor) and isinstance(other, Tensor)):
        raise TypeError(f"{op}: expected Tensors, got {type(input).__name__} and {type(other).__name__}")
    if input.dtype != other.dtype:
        raise RuntimeError(f"{op}: expected both operands to have the same dtype, got {input.dtype} and {other.dtype}")


def mm(input: Tensor, mat2: Tensor) -> Tensor:
    """Product of two matrices (n, m) @ (m, p), without broadcasting (use matmul for that)."""
    if autocast_state.enabled:
        input, mat2 = autocast_args("mm", input, mat2)
    _check_same_dtype("mm", input, mat2)
    if input.ndim != 2 or mat2.ndim != 2:
        which = "self" if input.ndim != 2 else "mat2"
        raise RuntimeError(f"mm: {which} must be a matrix, got shapes {input.shape} and {mat2.shape}")
    if input.shape[1] != mat2.shape[0]:
        raise RuntimeError(
            f"mm: mat1 and mat2 shapes cannot be multiplied ({input.shape[0]}x{input.shape[1]} and "
            f"{mat2.shape[0]}x{mat2.shape[1]})"
        )
    return MatMul.apply(input, mat2)


def bmm(input: Tensor, mat2: Tensor) -> Tensor:
    """Batched product (b, n, m) @ (b, m, p), the same b on both sides, without broadcasting."""
    if autocast_state.enabled:
        input, mat2 = autocast_args("bmm", input, mat2)
    _check_same_dtype("bmm", input, mat2)
    if input.ndim != 3 or mat2.ndim != 3:
        which = "batch1" if input.ndim != 3 else "batch2"
        raise RuntimeError(f"bmm: {which} must be a 3D tensor, got shapes {input.shape} and {mat2.shape}")
    if mat2.shape[:2] != (input.shape[0], input.shape[2]):
        raise RuntimeError(
            f"bmm: expected size for first two dimensions of batch2 tensor to be: [{input.shape[0]}, "
            f"{input.shape[2]}] but got: [{mat2.shape[0]}, {mat2.shape[1]}] (shapes {input.shape} and {mat2.shape})"
        )
    return MatMul.apply(input, mat2)


def outer(input: Tensor, vec2: Tensor) -> Tensor:
    """z_ij = x_i · y_j of two 1-D tensors (dtypes promote);  dL/dx_i = Σ_j g_ij y_j,  dL/dy_j = Σ_i g_ij x_i"""
    if not (isinstance(input, Tensor) and isinstance(vec2, Tensor)):
        raise TypeError(f"outer: expected Tensors, got {type(input).__name__} and {type(vec2).__name__}")
    for name, value in (("self", input), ("vec2", vec2)):
        if value.ndim != 1:
            raise RuntimeError(
                f"outer: expected 1-D argument {name}, but got {value.ndim}-D (shapes {input.shape} and {vec2.shape})"
            )
    return input.unsqueeze(1) * vec2.unsqueeze(0)


def dot(input: Tensor, tensor: Tensor) -> Tensor:
    """z = Σ_i x_i y_i of two 1-D tensors of one dtype and size;  dL/dx = g · y,  dL/dy = g · x"""
    if autocast_state.enabled:
        input, tensor = autocast_args("dot", input, tensor)
    _check_same_dtype("dot", input, tensor)
    if input.ndim != 1 or tensor.ndim != 1:
        raise RuntimeError(
            f"dot: 1D tensors expected, but got {input.ndim}D and {tensor.ndim}D tensors "
            f"(shapes {input.shape} and {tensor.shape})"
        )
    if input.shape != tensor.shape:
        raise RuntimeError(
            f"dot: inconsistent tensor size, expected tensors {input.shape} and {tensor.shape} to have the same "
            f"number of elements, but got {input.shape[0]} and {tensor.shape[0]} elements respectively"
        )
    return MatMul.apply(input, tensor)
