"""matmul_epilogue: a matmul whose bias, activation and residual add happen in the GEMM's store.

    C = act(A @ B + bias) + residual

with ``bias`` of shape (N,) broadcast over the rows, ``act`` one of None/"identity", "relu", "gelu"
(erf form, ``F.gelu``'s default) or "gelu_tanh" (``approximate="tanh"``), and ``residual``
broadcast to C's shape. With B = W.T this is PyTorch's ``residual + act(F.linear(x, W, bias))``.
On cuda the tensor-core variant (step 9, ``cuda/mma_sync.cu``) applies all of it to the FP32
accumulators before the one rounding to the output dtype; the references run it as separate
whole-array calls. No variant here has been run on a GPU yet.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...engine.backend import xp_of
from ..activations.reference import _value as activation_value
from ..registry import Case, OpSpec, define_op, register, run
from . import cuda_ladder
from .spec import _rand
from .spec import bytes_moved as matmul_bytes
from .spec import flops as matmul_flops

#: the activations the epilogue applies (None is "identity")
ACTIVATIONS = (None, "identity", "relu", "gelu", "gelu_tanh")


def check_arguments(a: Any, b: Any, bias: Any, activation: str | None, residual: Any) -> None:
    """ValueError naming matmul_epilogue for an unknown activation or a bias/residual of the wrong shape."""
    if activation not in ACTIVATIONS:
        raise ValueError(f"matmul_epilogue: activation must be one of {ACTIVATIONS}, got {activation!r}")
    if a.ndim < 2 or b.ndim < 2 or a.shape[-1] != b.shape[-2]:
        raise ValueError(f"matmul_epilogue: shapes {tuple(a.shape)} and {tuple(b.shape)} cannot be multiplied")
    n = b.shape[-1]
    if bias is not None and tuple(bias.shape) != (n,):
        raise ValueError(f"matmul_epilogue: bias must have shape ({n},), got {tuple(bias.shape)}")
    if residual is not None:
        out = np.broadcast_shapes(a.shape[:-2], b.shape[:-2]) + (a.shape[-2], n)
        try:
            if np.broadcast_shapes(tuple(residual.shape), out) != out:
                raise ValueError
        except ValueError:
            raise ValueError(
                f"matmul_epilogue: residual of shape {tuple(residual.shape)} does not broadcast to the output {out}"
            ) from None


def matmul_epilogue(a: Any, b: Any, bias: Any = None, activation: str | None = None, residual: Any = None) -> Any:
    """act(a @ b + bias) + residual on NumPy or CuPy arrays, through the lab's variant choice."""
    check_arguments(a, b, bias, activation, residual)
    return run("matmul_epilogue", a, b, bias=bias, activation=activation, residual=residual)


@register(
    "matmul_epilogue",
    "cpu",
    "numpy",
    "np.matmul, then the bias, activation and residual as whole-array calls",
    reference=True,
)
@register(
    "matmul_epilogue",
    "cuda",
    "cupy",
    "cupy.matmul (cuBLAS), then bias, activation, residual as CuPy calls",
    reference=True,
)
def reference(a: Any, b: Any, bias: Any = None, activation: str | None = None, residual: Any = None) -> Any:
    """C = act(a @ b + bias) + residual, each step one array call in a's dtype (float32 for float16)."""
    xp = xp_of(a)
    c = xp.matmul(a, b)
    if bias is not None:
        c = c + bias
    c = activation_value(c, activation or "identity")
    if residual is not None:
        c = c + residual
    return c


@register(
    "matmul_epilogue",
    "cuda",
    "mma_sync",
    "step 9's mma.sync GEMM with the epilogue applied to the FP32 accumulators in the store",
    dtypes=("float32", "bfloat16", "float16"),
    tolerance=5e-3,  # TF32 and FP16 keep 10 mantissa bits
)
def mma_sync(a: Any, b: Any, bias: Any = None, activation: str | None = None, residual: Any = None) -> Any:
    return cuda_ladder.mma_sync_matmul(
        a, b, bias=bias, activation=activation, residual=residual, splits=None, name="matmul_epilogue"
    )


def _operands(xp: Any, m: int, k: int, n: int, dtype: Any, seed: int, batch: tuple[int, ...] = ()) -> tuple:
    """(a, b, bias, residual): a and b in ``dtype`` (bf16 as its bits), bias and residual in the output's
    dtype (float32 for bf16 bits, whose variants return the FP32 result)."""
    out = np.float32 if str(dtype) == "bfloat16" else dtype
    a = _rand(xp, (*batch, m, k), dtype, seed)
    b = _rand(xp, (*batch, k, n), dtype, seed + 1)
    return a, b, _rand(xp, (n,), out, seed + 2), _rand(xp, (*batch, m, n), out, seed + 3)


def cases(xp: Any, dtype: Any) -> list[Case]:
    """Each activation with bias and residual on sizes off every tile, then each part alone, a transposed
    B (F.linear's x @ W.T), a long K (split-K) and a batch."""
    out = []
    for i, (m, k, n) in enumerate([(1, 1, 1), (7, 33, 5), (33, 7, 127), (127, 65, 33), (130, 67, 129)]):
        for activation in ACTIVATIONS[1:]:
            a, b, bias, res = _operands(xp, m, k, n, dtype, 10 * i)
            out.append(
                Case(f"{m}x{k}x{n} {activation}", (a, b), {"bias": bias, "activation": activation, "residual": res})
            )
    a, b, bias, res = _operands(xp, 65, 97, 33, dtype, 60)
    out.append(Case("bias only", (a, b), {"bias": bias}))
    out.append(Case("gelu only", (a, b), {"activation": "gelu"}))
    out.append(Case("residual only", (a, b), {"residual": res}))
    out.append(Case("residual broadcast over rows", (a, b), {"residual": res[:1]}))
    w = _rand(xp, (33, 97), dtype, 61)
    out.append(Case("F.linear: x @ W.T + bias, relu", (a, w.T), {"bias": bias, "activation": "relu"}))
    a, b, bias, res = _operands(xp, 17, 2000, 9, dtype, 70)
    out.append(Case("long K 17x2000x9 (split-K)", (a, b), {"bias": bias, "activation": "gelu_tanh", "residual": res}))
    a, b, bias, res = _operands(xp, 19, 23, 21, dtype, 80, batch=(3,))
    out.append(Case("batched 3x(19x23 @ 23x21)", (a, b), {"bias": bias, "activation": "gelu", "residual": res}))
    return out


def make_inputs(size: str, xp: Any, dtype: Any) -> Case:
    """ "N", "MxKxN" or "BxMxKxN", as matmul's; with a bias, GELU (tanh form) and a residual."""
    dims = [int(d) for d in size.lower().split("x")]
    if len(dims) == 1:
        dims = dims * 3
    *batch, m, k, n = dims
    a, b, bias, res = _operands(xp, m, k, n, dtype, 0, tuple(batch))
    return Case(size, (a, b), {"bias": bias, "activation": "gelu_tanh", "residual": res})


def flops(case: Case) -> int:
    """The matmul's 2·M·N·K; the epilogue's few operations per output are not counted."""
    return matmul_flops(case)


def bytes_moved(case: Case) -> int:
    """The matmul's traffic, plus the residual read and the bias."""
    extra = sum(x.nbytes for x in (case.kwargs.get("bias"), case.kwargs.get("residual")) if x is not None)
    return matmul_bytes(case) + extra


SPEC = define_op(
    OpSpec(
        op="matmul_epilogue",
        description="C = act(A @ B + bias) + residual (F.linear + activation + residual add)",
        cases=cases,
        make_inputs=make_inputs,
        flops=flops,
        bytes=bytes_moved,
        tolerance={"float32": 1e-4, "float64": 1e-10, "bfloat16": 3e-2, "float16": 5e-3},
        default_sizes={"cpu": ("256", "512"), "cuda": ("4096", "8192", "1000x4096x333")},
    )
)
