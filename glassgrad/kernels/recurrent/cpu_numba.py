"""The recurrent layers on the cpu: NumPy's GEMMs with one fused numba gate kernel per step.

The time loop cannot be one GEMM (step t needs h_{t−1}), so each step is
    forward:   hh = h_{t−1} W_hhᵀ                     one (B, P) × (P, G·H) BLAS GEMM, into a buffer
               gate kernel                            one parallel pass over the B rows: reads hh, the
                                                      step's input projection, the previous state; writes
                                                      the gates and the new state straight into the
                                                      trajectory (the state carried where t ≥ lengths[b])
    backward:  gate kernel                            one pass: da (and the carried dL/dc, GRU's dL/dh ⊙ z)
               dL/dh_{t−1} = da W_hh                  one (B, G·H) × (G·H, P) GEMM, into a buffer
with the input projection x W_ihᵀ of every step one (T·B, I) GEMM before the forward loop, and dL/dx,
dL/dW_ih, dL/dW_hh, dL/db GEMMs over all T·B rows after the backward loop (reference.weight_grads). So
the gate math costs one read and one write of each array instead of a NumPy temporary per operation
(the reference's LSTM step makes about twenty), and no step allocates.

The kernels compute every row's gates (the reference does too, so the two agree everywhere) and choose
the new or the carried state per row. GEMMs stay in NumPy: numba's np.dot needs SciPy's BLAS bindings,
which glassgrad does not depend on. float32 uses the fast tanh/exp of kernels/activations/fast_math.py
(LLVM vectorises them), float64 libm's; the constants reach the loops in the array's dtype.
Compiled on first call (numba's cache keeps the machine code), never at import.
"""

from __future__ import annotations

from typing import Any

import numba
import numpy as np

from ..activations.fast_math import tanh
from ..cpu_parallel import ELEMENTWISE_MIN_SIZE, parallel_njit
from ..registry import register
from .reference import active_steps, input_projection, previous_states, steps, weight_grads

OPTIONS = {"min_size": ELEMENTWISE_MIN_SIZE, "cache": True, "error_model": "numpy"}


@numba.njit(cache=True, error_model="numpy", inline="always")
def _sigmoid(a, one):  # pragma: no cover - compiled
    """σ(a) = ½ + ½ tanh(a/2): one tanh (no exp), which neither overflows nor needs a branch."""
    half = one / (one + one)
    return half + half * tanh(half * a)


def _runs(xp: Any, length: int, batch: int, lengths: Any) -> np.ndarray:
    """(T, B) bool: whether step t of sequence b runs."""
    active = active_steps(xp, length, lengths)
    return np.ones((length, batch), dtype=bool) if active is None else active[:, :, 0]


def _keep(dst: np.ndarray, src: np.ndarray, runs: np.ndarray, masked: bool) -> None:
    """dst = src on the rows whose step ran (all of them when nothing is masked)."""
    if masked:
        np.copyto(dst, src, where=runs[:, None])
    else:
        dst[...] = src


# ---------------------------------------------------------------- Elman RNN


@parallel_njit(**OPTIONS)
def _rnn_cell(hh, pre, h_prev, runs, h_out, relu):  # pragma: no cover - compiled
    """h = act(hh + pre) where the step runs, else h_prev."""
    zero = hh.dtype.type(0)
    for b in numba.prange(hh.shape[0]):
        if runs[b] and relu:
            for j in range(hh.shape[1]):
                a = hh[b, j] + pre[b, j]
                h_out[b, j] = zero if a <= zero else a  # NaN stays NaN, as in np.maximum
        elif runs[b]:
            for j in range(hh.shape[1]):
                h_out[b, j] = tanh(hh[b, j] + pre[b, j])
        else:
            for j in range(hh.shape[1]):
                h_out[b, j] = h_prev[b, j]


@parallel_njit(**OPTIONS)
def _rnn_cell_backward(dh, h, runs, da, relu):  # pragma: no cover - compiled
    """da = dL/dh ⊙ (1 − h²) (tanh) or dL/dh ⊙ [h > 0] (relu); 0 where the step did not run."""
    zero, one = dh.dtype.type(0), dh.dtype.type(1)
    for b in numba.prange(dh.shape[0]):
        for j in range(dh.shape[1]):
            v = h[b, j]
            slope = (one if v > zero else zero) if relu else one - v * v
            da[b, j] = dh[b, j] * slope if runs[b] else zero


@register("rnn_forward", "cpu", "numba", "GEMM per step + fused numba gate kernel", default=True)
def rnn_forward(
    x: np.ndarray,
    h0: np.ndarray,
    w_ih: np.ndarray,
    w_hh: np.ndarray,
    b_ih: Any = None,
    b_hh: Any = None,
    nonlinearity: str = "tanh",
    lengths: Any = None,
    reverse: bool = False,
) -> np.ndarray:
    """The trajectory (T, B, H)."""
    length, batch = x.shape[:2]
    pre = input_projection(x, w_ih, b_ih, b_hh)
    runs = _runs(np, length, batch, lengths)
    traj = np.empty((length, *h0.shape), dtype=x.dtype)
    hh = np.empty(h0.shape, dtype=x.dtype)
    h = np.ascontiguousarray(h0)
    for t in steps(length, reverse):
        np.matmul(h, w_hh.T, out=hh)
        _rnn_cell(hh, pre[t], h, runs[t], traj[t], nonlinearity == "relu")
        h = traj[t]
    return traj


@register("rnn_backward", "cpu", "numba", "fused numba gate kernel + GEMM per step, weight GEMMs after", default=True)
def rnn_backward(
    grad: np.ndarray,
    x: np.ndarray,
    h0: np.ndarray,
    w_ih: np.ndarray,
    w_hh: np.ndarray,
    traj: np.ndarray,
    nonlinearity: str = "tanh",
    lengths: Any = None,
    reverse: bool = False,
    need_x: bool = True,
) -> tuple[Any, ...]:
    """(dL/dx, dL/dh0, dL/dW_ih, dL/dW_hh, dL/db)."""
    length, batch = x.shape[:2]
    runs = _runs(np, length, batch, lengths)
    masked = lengths is not None and not runs.all()
    grad = np.ascontiguousarray(grad)
    da = np.empty(traj.shape, dtype=traj.dtype)
    dh = np.zeros(h0.shape, dtype=traj.dtype)
    back = np.empty_like(dh)
    for t in steps(length, not reverse):
        dh += grad[t]
        _rnn_cell_backward(dh, traj[t], runs[t], da[t], nonlinearity == "relu")
        np.matmul(da[t], w_hh, out=back)
        _keep(dh, back, runs[t], masked)
    dx, dw_ih, dw_hh, db = weight_grads(da, x, previous_states(np, traj, h0, reverse), need_x, w_ih)
    return dx, dh, dw_ih, dw_hh, db


# ---------------------------------------------------------------- GRU


@parallel_njit(**OPTIONS)
def _gru_cell(hh, b_hh, pre, h_prev, runs, gates, h_out):  # pragma: no cover - compiled
    """r, z, n and hn = W_hn h + b_hn into gates; h = (1 − z) ⊙ n + z ⊙ h_prev where the step runs
    (contiguous loops, each of which vectorises)."""
    one = hh.dtype.type(1)
    hidden = h_prev.shape[1]
    for b in numba.prange(hh.shape[0]):
        a, p, g = hh[b], pre[b], gates[b]
        for j in range(2 * hidden):  # r, z
            g[j] = _sigmoid(p[j] + a[j] + b_hh[j], one)
        for j in range(hidden):  # hn, n
            hn = a[2 * hidden + j] + b_hh[2 * hidden + j]
            g[3 * hidden + j] = hn
            g[2 * hidden + j] = tanh(p[2 * hidden + j] + g[j] * hn)
        if runs[b]:
            for j in range(hidden):
                z = g[hidden + j]
                h_out[b, j] = (one - z) * g[2 * hidden + j] + z * h_prev[b, j]
        else:
            for j in range(hidden):
                h_out[b, j] = h_prev[b, j]


@parallel_njit(**OPTIONS)
def _gru_cell_backward(dh, gates, h_prev, runs, da_x, da_h, dh_direct):  # pragma: no cover - compiled
    """da_x = [da_r, da_z, da_n], da_h = [da_r, da_z, da_n ⊙ r], dh_direct = dL/dh ⊙ z (where the step ran;
    else zeros and dL/dh carried whole)."""
    zero, one = dh.dtype.type(0), dh.dtype.type(1)
    hidden = dh.shape[1]
    for b in numba.prange(dh.shape[0]):
        for j in range(hidden):
            r, z, n, hn = gates[b, j], gates[b, hidden + j], gates[b, 2 * hidden + j], gates[b, 3 * hidden + j]
            g = dh[b, j] if runs[b] else zero
            an = g * (one - z) * (one - n * n)
            ar = an * hn * r * (one - r)
            az = g * (h_prev[b, j] - n) * z * (one - z)
            da_x[b, j], da_x[b, hidden + j], da_x[b, 2 * hidden + j] = ar, az, an
            da_h[b, j], da_h[b, hidden + j], da_h[b, 2 * hidden + j] = ar, az, an * r
            dh_direct[b, j] = dh[b, j] * z if runs[b] else dh[b, j]


@register("gru_forward", "cpu", "numba", "GEMM per step + fused numba gate kernel", default=True)
def gru_forward(
    x: np.ndarray,
    h0: np.ndarray,
    w_ih: np.ndarray,
    w_hh: np.ndarray,
    b_ih: Any = None,
    b_hh: Any = None,
    lengths: Any = None,
    reverse: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """(trajectory (T, B, H), gates (T, B, 4H))."""
    length, batch = x.shape[:2]
    hidden = h0.shape[1]
    pre = input_projection(x, w_ih, b_ih)
    runs = _runs(np, length, batch, lengths)
    bias = np.zeros(3 * hidden, dtype=x.dtype) if b_hh is None else np.ascontiguousarray(b_hh)
    traj = np.empty((length, *h0.shape), dtype=x.dtype)
    gates = np.empty((length, batch, 4 * hidden), dtype=x.dtype)
    hh = np.empty((batch, 3 * hidden), dtype=x.dtype)
    h = np.ascontiguousarray(h0)
    for t in steps(length, reverse):
        np.matmul(h, w_hh.T, out=hh)
        _gru_cell(hh, bias, pre[t], h, runs[t], gates[t], traj[t])
        h = traj[t]
    return traj, gates


@register("gru_backward", "cpu", "numba", "fused numba gate kernel + GEMM per step, weight GEMMs after", default=True)
def gru_backward(
    grad: np.ndarray,
    x: np.ndarray,
    h0: np.ndarray,
    w_ih: np.ndarray,
    w_hh: np.ndarray,
    traj: np.ndarray,
    gates: np.ndarray,
    lengths: Any = None,
    reverse: bool = False,
    need_x: bool = True,
) -> tuple[Any, ...]:
    """(dL/dx, dL/dh0, dL/dW_ih, dL/dW_hh, dL/db_ih, dL/db_hh)."""
    length, batch = x.shape[:2]
    hidden = h0.shape[1]
    runs = _runs(np, length, batch, lengths)
    grad = np.ascontiguousarray(grad)
    h_prev = previous_states(np, traj, np.ascontiguousarray(h0), reverse)
    da_x = np.empty((length, batch, 3 * hidden), dtype=traj.dtype)
    da_h = np.empty_like(da_x)
    dh = np.zeros(h0.shape, dtype=traj.dtype)
    direct, back = np.empty_like(dh), np.empty_like(dh)
    for t in steps(length, not reverse):
        dh += grad[t]
        _gru_cell_backward(dh, gates[t], h_prev[t], runs[t], da_x[t], da_h[t], direct)
        np.matmul(da_h[t], w_hh, out=back)
        np.add(direct, back, out=dh)  # da_h is 0 where the step did not run, so dh = dh there
    dx, dw_ih, _, db_ih = weight_grads(da_x, x, h_prev, need_x, w_ih)
    _, _, dw_hh, db_hh = weight_grads(da_h, x[:, :, :0], h_prev, False, w_ih)
    return dx, dh, dw_ih, dw_hh, db_ih, db_hh


# ---------------------------------------------------------------- LSTM


@parallel_njit(**OPTIONS)
def _lstm_cell(hh, pre, c_prev, h_prev, runs, gates, c_out, m_out, carry_h):  # pragma: no cover - compiled
    """i, f, g, o into gates; c = f ⊙ c_prev + i ⊙ g and m = o ⊙ tanh c where the step runs, else c_prev
    (and h_prev into m_out when ``carry_h``: m is h itself without proj_size). Each gate is its own
    contiguous loop, so that each vectorises (one loop over all four ran at half the speed)."""
    one = hh.dtype.type(1)
    hidden = c_prev.shape[1]
    for b in numba.prange(hh.shape[0]):
        a, p, z = hh[b], pre[b], gates[b]
        for j in range(2 * hidden):  # i, f
            z[j] = _sigmoid(a[j] + p[j], one)
        for j in range(2 * hidden, 3 * hidden):  # g
            z[j] = tanh(a[j] + p[j])
        for j in range(3 * hidden, 4 * hidden):  # o
            z[j] = _sigmoid(a[j] + p[j], one)
        if runs[b]:
            for j in range(hidden):
                c = z[hidden + j] * c_prev[b, j] + z[j] * z[2 * hidden + j]
                c_out[b, j] = c
                m_out[b, j] = z[3 * hidden + j] * tanh(c)
        else:
            for j in range(hidden):
                c_out[b, j] = c_prev[b, j]
            if carry_h:
                for j in range(hidden):
                    m_out[b, j] = h_prev[b, j]


@parallel_njit(**OPTIONS)
def _lstm_cell_backward(dm, dc, grad_c, gates, c_t, c_prev, runs, da, m_out):  # pragma: no cover - compiled
    """Where the step ran: dL/dc_t = dc + grad_c + dL/dm ⊙ o ⊙ (1 − tanh² c_t), da = [dL/di ⊙ i(1 − i),
    dL/df ⊙ f(1 − f), dL/dg ⊙ (1 − g²), dL/do ⊙ o(1 − o)], dc ← dL/dc_t ⊙ f, m = o ⊙ tanh c_t; elsewhere
    da = 0, m = 0 and dc ← dc + grad_c."""
    zero, one = dm.dtype.type(0), dm.dtype.type(1)
    hidden = dc.shape[1]
    for b in numba.prange(dm.shape[0]):
        if runs[b]:
            m = m_out[b]
            for j in range(hidden):  # tanh c_t in a loop of its own, which vectorises (2x faster)
                m[j] = tanh(c_t[b, j])
            for j in range(hidden):
                i, f, g, o = gates[b, j], gates[b, hidden + j], gates[b, 2 * hidden + j], gates[b, 3 * hidden + j]
                tc = m[j]
                d = dm[b, j]
                dct = dc[b, j] + grad_c[b, j] + d * o * (one - tc * tc)
                da[b, j] = dct * g * i * (one - i)
                da[b, hidden + j] = dct * c_prev[b, j] * f * (one - f)
                da[b, 2 * hidden + j] = dct * i * (one - g * g)
                da[b, 3 * hidden + j] = d * tc * o * (one - o)
                dc[b, j] = dct * f
                m[j] = o * tc
        else:
            for j in range(hidden):
                da[b, j] = da[b, hidden + j] = da[b, 2 * hidden + j] = da[b, 3 * hidden + j] = zero
                dc[b, j] += grad_c[b, j]
                m_out[b, j] = zero


@register("lstm_forward", "cpu", "numba", "GEMM per step + fused numba gate kernel", default=True)
def lstm_forward(
    x: np.ndarray,
    h0: np.ndarray,
    c0: np.ndarray,
    w_ih: np.ndarray,
    w_hh: np.ndarray,
    b_ih: Any = None,
    b_hh: Any = None,
    w_hr: Any = None,
    lengths: Any = None,
    reverse: bool = False,
) -> tuple[np.ndarray, np.ndarray]:
    """(trajectory (T, B, P + H), gates (T, B, 4H))."""
    length, batch = x.shape[:2]
    hidden, proj = c0.shape[1], h0.shape[1]
    pre = input_projection(x, w_ih, b_ih, b_hh)
    runs = _runs(np, length, batch, lengths)
    masked = lengths is not None and not runs.all()
    hs = np.empty((length, batch, proj), dtype=x.dtype)  # contiguous h and c: one compiled layout
    cs = np.empty((length, batch, hidden), dtype=x.dtype)
    gates = np.empty((length, batch, 4 * hidden), dtype=x.dtype)
    hh = np.empty((batch, 4 * hidden), dtype=x.dtype)
    m = np.empty((batch, hidden), dtype=x.dtype) if w_hr is not None else None
    h, c = np.ascontiguousarray(h0), np.ascontiguousarray(c0)
    for t in steps(length, reverse):
        np.matmul(h, w_hh.T, out=hh)
        if w_hr is None:
            _lstm_cell(hh, pre[t], c, h, runs[t], gates[t], cs[t], hs[t], True)
        else:
            _lstm_cell(hh, pre[t], c, h, runs[t], gates[t], cs[t], m, False)
            np.matmul(m, w_hr.T, out=hs[t])
            if masked:
                np.copyto(hs[t], h, where=~runs[t][:, None])
        h, c = hs[t], cs[t]
    return np.concatenate([hs, cs], axis=2), gates


@register("lstm_backward", "cpu", "numba", "fused numba gate kernel + GEMM per step, weight GEMMs after", default=True)
def lstm_backward(
    grad: np.ndarray,
    x: np.ndarray,
    h0: np.ndarray,
    c0: np.ndarray,
    w_ih: np.ndarray,
    w_hh: np.ndarray,
    w_hr: Any,
    traj: np.ndarray,
    gates: np.ndarray,
    lengths: Any = None,
    reverse: bool = False,
    need_x: bool = True,
) -> tuple[Any, ...]:
    """(dL/dx, dL/dh0, dL/dc0, dL/dW_ih, dL/dW_hh, dL/db, dL/dW_hr or None)."""
    length, batch = x.shape[:2]
    hidden, proj = c0.shape[1], h0.shape[1]
    runs = _runs(np, length, batch, lengths)
    masked = lengths is not None and not runs.all()
    c_traj = np.ascontiguousarray(traj[:, :, proj:])  # contiguous: one compiled layout
    c_prev = previous_states(np, c_traj, np.ascontiguousarray(c0), reverse)
    grad_h, grad_c = np.ascontiguousarray(grad[:, :, :proj]), np.ascontiguousarray(grad[:, :, proj:])
    da = np.empty(gates.shape, dtype=traj.dtype)
    dh = np.zeros(h0.shape, dtype=traj.dtype)
    dc = np.zeros(c0.shape, dtype=traj.dtype)
    back = np.empty_like(dh)
    if w_hr is not None:
        m = np.empty((length, batch, hidden), dtype=traj.dtype)
        dh_steps = np.empty((length, batch, proj), dtype=traj.dtype)
        dm = np.empty((batch, hidden), dtype=traj.dtype)
    for t in steps(length, not reverse):
        dh += grad_h[t]
        if w_hr is None:
            _lstm_cell_backward(dh, dc, grad_c[t], gates[t], c_traj[t], c_prev[t], runs[t], da[t], back)
        else:
            np.multiply(dh, runs[t][:, None], out=dh_steps[t])
            np.matmul(dh, w_hr, out=dm)
            _lstm_cell_backward(dm, dc, grad_c[t], gates[t], c_traj[t], c_prev[t], runs[t], da[t], m[t])
        np.matmul(da[t], w_hh, out=back)
        _keep(dh, back, runs[t], masked)
    h_prev = previous_states(np, traj[:, :, :proj], h0, reverse)
    dx, dw_ih, dw_hh, db = weight_grads(da, x, h_prev, need_x, w_ih)
    dw_hr = None
    if w_hr is not None:
        rows = length * batch
        dw_hr = dh_steps.reshape(rows, proj).T @ m.reshape(rows, hidden)
    return dx, dh, dc, dw_ih, dw_hh, db, dw_hr
