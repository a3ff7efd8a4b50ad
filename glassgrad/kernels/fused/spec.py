"""The fused ops' validation cases, benchmark inputs and minimum memory traffic.

Sizes are "ROWSxCOLS" (the benchmarks reduce over the last dim; the validation
cases also reduce softmax over other dims, and give cross-entropy N-d logits,
class weights, label smoothing and probability targets, which the variants
that do not take them skip and the registry sends to the reference). These kernels are
memory-bound, so ``bytes`` is what matters: the least a kernel must move —
every input read once, every output written once — and the lab's GB/s is that
over the measured time (to compare with the HBM peak). ``flops`` is a rough
count (an exp or a log counted as one).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..registry import Case, OpSpec, define_op
from ..spec_helpers import flops_per_element, normal, rows_and_cols
from . import reference

#: (rows, cols): a single element, sizes off every warp and block width, a row
#: longer than one block's registers (8192), and one that needs the loop path.
SHAPES = [(1, 1), (7, 7), (33, 33), (5, 1000), (3, 4097), (2, 9000), (130, 257)]
IGNORE = -100


def _targets(xp: Any, rows: int, cols: int, seed: int) -> Any:
    t = np.random.default_rng(seed).integers(0, cols, rows)
    t[::3] = IGNORE  # every third row ignored
    return xp.asarray(t.astype(np.int64))


def _inputs(xp: Any, dtype: Any) -> list[tuple[str, Any]]:
    out = [(f"{r}x{c}", normal(xp, (r, c), dtype, i)) for i, (r, c) in enumerate(SHAPES)]
    out.append(("3-D (2, 5, 33)", normal(xp, (2, 5, 33), dtype, 20)))
    out.append(("transposed view (40x9).T", normal(xp, (40, 9), dtype, 21).T))
    return out


def _forward_cases(xp: Any, dtype: Any) -> list[Case]:
    out = [Case(name, (x,)) for name, x in _inputs(xp, dtype)]
    out.append(Case("3-D (2, 5, 33), dim=2", (normal(xp, (2, 5, 33), dtype, 22),), {"dim": 2}))
    out.append(Case("dim 0 of (33, 7)", (normal(xp, (33, 7), dtype, 23),), {"dim": 0}))
    out.append(Case("dim 1 of (4, 9, 5)", (normal(xp, (4, 9, 5), dtype, 24),), {"dim": 1}))
    return out


def _softmax_cases(xp: Any, dtype: Any) -> list[Case]:
    """The forward cases and a row with -inf entries (masked scores: e^-inf = 0)."""
    masked = normal(xp, (6, 50), dtype, 25)
    masked[:, 10:] = -np.inf
    return [*_forward_cases(xp, dtype), Case("-inf entries (6, 50)", (masked,))]


def _softmax_backward_cases(forward: Any) -> Any:
    def cases(xp: Any, dtype: Any) -> list[Case]:
        return [
            Case(
                case.name,
                (forward(*case.args, **case.kwargs), normal(xp, case.args[0].shape, dtype, 100 + i, 1.0)),
                case.kwargs,
            )
            for i, case in enumerate(_forward_cases(xp, dtype))
        ]

    return cases


def _norm_cases(xp: Any, dtype: Any, shift: float) -> list[Case]:
    """(x + shift, weight, bias) for every input; then weight only, and neither with eps 1e-3."""
    out = []
    for i, (name, x) in enumerate(_inputs(xp, dtype)):
        cols = x.shape[-1]
        out.append(
            Case(name, (x + shift, normal(xp, (cols,), dtype, 50 + i, 1.0), normal(xp, (cols,), dtype, 70 + i, 1.0)))
        )
    out.append(Case("weight only (9, 100)", (normal(xp, (9, 100), dtype, 89) + shift, normal(xp, (100,), dtype, 88))))
    out.append(Case("no weight, no bias, eps 1e-3", (normal(xp, (9, 100), dtype, 90),), {"eps": 1e-3}))
    return out


def _layer_norm_cases(xp: Any, dtype: Any) -> list[Case]:
    return _norm_cases(xp, dtype, 1.5)


def _layer_norm_backward_cases(xp: Any, dtype: Any) -> list[Case]:
    out = []
    for i, case in enumerate(_layer_norm_cases(xp, dtype)):
        x = case.args[0]
        weight = case.args[1] if len(case.args) > 1 else None
        _, mean, rstd = reference.layer_norm(*case.args, **case.kwargs)
        out.append(Case(case.name, (normal(xp, x.shape, dtype, 200 + i, 1.0), x, mean, rstd, weight)))
    return out


def _rms_norm_cases(xp: Any, dtype: Any) -> list[Case]:
    """The layer-norm inputs without the bias (rms_norm has none); eps given or None (machine epsilon).
    A row of one value gets eps 0.5: with a tiny eps its x̂ is ±1 and dL/dx = r ĝ (1 − x̂²) is all
    cancellation, rounding error only."""
    out = []
    for case in _norm_cases(xp, dtype, 0.5):
        eps = 0.5 if case.args[0].shape[-1] == 1 else 1e-6
        kwargs = case.kwargs if case.kwargs else ({"eps": eps} if len(case.args) > 2 else {})
        out.append(Case(case.name.replace(", no bias", ""), case.args[:2], kwargs))
    return out


def _rms_norm_backward_cases(xp: Any, dtype: Any) -> list[Case]:
    out = []
    for i, case in enumerate(_rms_norm_cases(xp, dtype)):
        x = case.args[0]
        weight = case.args[1] if len(case.args) > 1 else None
        _, rstd = reference.rms_norm(*case.args, **case.kwargs)
        out.append(Case(case.name, (normal(xp, x.shape, dtype, 400 + i, 1.0), x, rstd, weight)))
    return out


def _probabilities(xp: Any, shape: tuple[int, ...], dtype: Any, seed: int) -> Any:
    """Class probabilities along dim 1 (each sample's sum is 1)."""
    return reference.softmax(normal(xp, shape, dtype, seed), 1)


def _cross_entropy_cases(xp: Any, dtype: Any) -> list[Case]:
    """Class indices with every third row ignored at every size; then ignore_index a class, class
    weights, label smoothing, both, N-d logits, a transposed view, and probability targets."""
    out = [
        Case(f"{r}x{c}", (normal(xp, (r, c), dtype, i), _targets(xp, r, c, 30 + i))) for i, (r, c) in enumerate(SHAPES)
    ]
    out.append(
        Case("ignore_index 0", (normal(xp, (6, 10), dtype, 40), _targets(xp, 6, 10, 41) % 10), {"ignore_index": 0})
    )
    weight = xp.abs(normal(xp, (33,), dtype, 42, 1.0))
    weight[3] = 0  # a class of weight 0
    x, t = normal(xp, (40, 33), dtype, 43), _targets(xp, 40, 33, 44)
    out.append(Case("weight (40, 33)", (x, t), {"weight": weight}))
    out.append(Case("label_smoothing 0.1 (40, 33)", (x, t), {"label_smoothing": 0.1}))
    out.append(Case("weight, label_smoothing 0.25", (x, t), {"weight": weight, "label_smoothing": 0.25}))
    masked = x.copy()
    masked[:, 20:] = -np.inf  # masked logits: the targets below 20 keep a finite loss
    out.append(Case("-inf logits, weight", (masked, t % 20), {"weight": weight}))
    out.append(Case("transposed view (33x40).T", (normal(xp, (33, 40), dtype, 45).T, t)))
    t3 = np.random.default_rng(46).integers(0, 7, (4, 3, 5))
    t3[0, 0] = IGNORE
    logits3 = normal(xp, (4, 7, 3, 5), dtype, 47)
    out.append(Case("(4, 7, 3, 5) logits, smoothing 0.1", (logits3, xp.asarray(t3)), {"label_smoothing": 0.1}))
    probs = _probabilities(xp, (40, 33), dtype, 48)
    out.append(Case("probabilities (40, 33)", (x, probs)))
    out.append(Case("probabilities, weight, smoothing", (x, probs), {"weight": weight, "label_smoothing": 0.2}))
    probs3 = _probabilities(xp, (4, 7, 3, 5), dtype, 49)
    out.append(Case("probabilities (4, 7, 3, 5)", (logits3, probs3)))
    return out


def _cross_entropy_backward_cases(xp: Any, dtype: Any) -> list[Case]:
    out = []
    for i, case in enumerate(_cross_entropy_cases(xp, dtype)):
        logits, target = case.args
        loss, lse = reference.cross_entropy(logits, target, **case.kwargs)
        per_row = i % 2 == 0  # alternate reduction "none" (one grad per sample) and "mean" (one grad, /count)
        grad = normal(xp, loss.shape, dtype, 300 + i, 1.0) if per_row else xp.asarray(np.array(0.25, dtype=dtype))
        out.append(
            Case(case.name + (" grad per row" if per_row else " scalar grad"), (logits, target, lse, grad), case.kwargs)
        )
    return out


def _parse(size: str) -> tuple[int, int]:
    rows, cols = (int(d) for d in size.lower().split("x"))
    return rows, cols


def _make(kind: str) -> Any:
    """make_inputs for one op: a (rows, cols) benchmark input built like its validation cases."""

    def make_inputs(size: str, xp: Any, dtype: Any) -> Case:
        rows, cols = _parse(size)
        x = normal(xp, (rows, cols), dtype, 0)
        if kind == "forward":
            return Case(size, (x,))
        if kind in ("softmax_backward", "log_softmax_backward"):
            y = reference.softmax(x) if kind == "softmax_backward" else reference.log_softmax(x)
            return Case(size, (y, normal(xp, (rows, cols), dtype, 1, 1.0)))
        if kind == "layer_norm":
            return Case(size, (x, normal(xp, (cols,), dtype, 2, 1.0), normal(xp, (cols,), dtype, 3, 1.0)))
        if kind == "layer_norm_backward":
            weight = normal(xp, (cols,), dtype, 2, 1.0)
            _, mean, rstd = reference.layer_norm(x, weight)
            return Case(size, (normal(xp, (rows, cols), dtype, 1, 1.0), x, mean, rstd, weight))
        if kind == "rms_norm":
            return Case(size, (x, normal(xp, (cols,), dtype, 2, 1.0)))
        if kind == "rms_norm_backward":
            weight = normal(xp, (cols,), dtype, 2, 1.0)
            _, rstd = reference.rms_norm(x, weight)
            return Case(size, (normal(xp, (rows, cols), dtype, 1, 1.0), x, rstd, weight))
        target = xp.asarray(np.random.default_rng(4).integers(0, cols, rows).astype(np.int64))
        if kind == "cross_entropy":
            return Case(size, (x, target))
        _, lse = reference.cross_entropy(x, target)
        return Case(size, (x, target, lse, xp.asarray(np.array(1.0 / rows, dtype=dtype))))

    return make_inputs


def _traffic(arrays_read: int, arrays_written: int, row_values: int = 0, col_values: int = 0) -> Any:
    """bytes(case): whole (rows, cols) arrays read and written once, plus per-row and per-column vectors."""

    def count(case: Case) -> int:
        rows, cols = rows_and_cols(case)
        item = case.args[0].dtype.itemsize
        return item * ((arrays_read + arrays_written) * rows * cols + row_values * rows + col_values * cols)

    return count


SIZES = {
    "cuda": ("8192x8192", "65536x1024", "4096x50257", "32768x128"),
    "cpu": ("2048x768", "8192x256", "256x50257", "4096x512"),
}

for _op, _what, _cases, _kind, _bytes, _flop in [
    ("softmax", "softmax over a dim (the last in the benchmarks)", _softmax_cases, "forward", _traffic(1, 1), 4),
    (
        "log_softmax",
        "log_softmax over a dim (the last in the benchmarks)",
        _forward_cases,
        "forward",
        _traffic(1, 1),
        4,
    ),
    (
        "softmax_backward",
        "dx = y*(g - sum(g*y)) over the last dim",
        _softmax_backward_cases(reference.softmax),
        "softmax_backward",
        _traffic(2, 1),
        4,
    ),
    (
        "log_softmax_backward",
        "dx = g - exp(y)*sum(g) over the last dim",
        _softmax_backward_cases(reference.log_softmax),
        "log_softmax_backward",
        _traffic(2, 1),
        4,
    ),
    # x read, y written; γ, β read; μ, rstd written
    (
        "layer_norm",
        "layer norm over the last dim (saves mean, rstd)",
        _layer_norm_cases,
        "layer_norm",
        _traffic(1, 1, row_values=2, col_values=2),
        8,
    ),
    # g, x read, dx written; μ, rstd read; γ read, dγ, dβ written
    (
        "layer_norm_backward",
        "layer norm backward: dx, dweight, dbias",
        _layer_norm_backward_cases,
        "layer_norm_backward",
        _traffic(2, 1, row_values=2, col_values=3),
        12,
    ),
    # x read, y written; γ read; rstd written
    (
        "rms_norm",
        "RMS norm over the last dim (saves rstd)",
        _rms_norm_cases,
        "rms_norm",
        _traffic(1, 1, row_values=1, col_values=1),
        5,
    ),
    # g, x read, dx written; rstd read; γ read, dγ written
    (
        "rms_norm_backward",
        "RMS norm backward: dx, dweight",
        _rms_norm_backward_cases,
        "rms_norm_backward",
        _traffic(2, 1, row_values=1, col_values=2),
        8,
    ),
    # logits read; target (int64 = 2 float32 words) read, loss and lse written
    (
        "cross_entropy",
        "softmax + cross-entropy per row (loss, lse)",
        _cross_entropy_cases,
        "cross_entropy",
        _traffic(1, 0, row_values=4),
        4,
    ),
    # logits read, dx written; target (2 words) and lse read per row
    (
        "cross_entropy_backward",
        "dx = (softmax - onehot) * g",
        _cross_entropy_backward_cases,
        "cross_entropy_backward",
        _traffic(1, 1, row_values=3),
        4,
    ),
]:
    define_op(
        OpSpec(
            op=_op,
            description=_what,
            cases=_cases,
            make_inputs=_make(_kind),
            flops=flops_per_element(_flop),
            bytes=_bytes,
            default_sizes=SIZES,
        )
    )
