"""Reference recurrent layers: a whole layer over time, one direction, written step by step in NumPy/CuPy.

Shapes (PyTorch's layout, time-major): x (T, B, I); h0 (B, P) with P = proj_size or H; c0 (B, H);
w_ih (G·H, I), w_hh (G·H, P), biases (G·H,) or None, w_hr (P, H) or None. Gates in PyTorch's order:

    rnn   h' = act(W_ih x + b_ih + W_hh h + b_hh)                      act = tanh or relu, G = 1
    gru   r = σ(W_ir x + b_ir + W_hr h + b_hr),  z = σ(W_iz x + b_iz + W_hz h + b_hz)        G = 3
          n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)),   h' = (1 − z) ⊙ n + z ⊙ h
    lstm  i, f, g, o = σ, σ, tanh, σ of (W_ih x + b_ih + W_hh h + b_hh) split in four          G = 4
          c' = f ⊙ c + i ⊙ g,   h' = o ⊙ tanh c'   (with proj_size: h' = W_hr (o ⊙ tanh c'))

``lengths`` (B,) int or None: step t of sequence b runs only when t < lengths[b], otherwise the state is
carried unchanged; ``reverse`` runs the steps from T − 1 down to 0. The forward returns the state
trajectory (T, B, S): the state after each step (rnn/gru h, S = H; lstm [h, c], S = P + H) and what its
backward needs (the gate activations); the backward takes dL/d(trajectory) and returns the gradients.

The backward through time walks the steps in the opposite order, carrying dL/dh (and dL/dc) from step to
step; the per-step gate gradients of all steps are kept, so the weight gradients are three GEMMs after the
loop: dL/dW_ih = Σ_t daᵀ x_t, dL/dW_hh = Σ_t daᵀ h_{t−1}, dL/db = Σ_t Σ_b da, dL/dx_t = da W_ih (the
equations of each cell are in its backward's docstring).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ...engine import backend
from ..registry import register

# ---------------------------------------------------------------- what the loops share


def steps(length: int, reverse: bool) -> range:
    """The order the time steps run in."""
    return range(length - 1, -1, -1) if reverse else range(length)


def active_steps(xp: Any, length: int, lengths: Any) -> Any:
    """(T, B, 1) bool: whether step t of sequence b runs (t < lengths[b]); None when every step runs."""
    if lengths is None:
        return None
    lengths = np.asarray(lengths)
    if bool((lengths >= length).all()):
        return None
    return xp.asarray(np.arange(length)[:, None, None] < lengths[None, :, None])


def previous_states(xp: Any, states: Any, first: Any, reverse: bool) -> Any:
    """(T, B, S): the state each step started from: ``first`` (h0 or c0) at the first step run, then the
    state the step before it left (states[t − 1] forward, states[t + 1] reverse)."""
    parts = (first[None], states[:-1]) if not reverse else (states[1:], first[None])
    return xp.concatenate(parts, axis=0)


def input_projection(x: Any, w_ih: Any, *biases: Any) -> Any:
    """W_ih x_t + Σ biases for every step at once: one (T·B, I) × (I, G·H) GEMM."""
    t, b, i = x.shape
    out = (x.reshape(t * b, i) @ w_ih.T).reshape(t, b, w_ih.shape[0])
    for bias in biases:
        if bias is not None:
            out += bias
    return out


def weight_grads(da: Any, x: Any, h_prev: Any, need_x: bool, w_ih: Any) -> tuple[Any, Any, Any, Any]:
    """(dL/dx, dL/dW_ih, dL/dW_hh, dL/db) from the gate gradients of every step da (T, B, G·H), as GEMMs
    over all T·B rows (dL/dx None unless ``need_x``); for the GRU, whose hidden-side gate gradient differs
    in its n part, dL/dW_hh and dL/db are those of ``da`` (the caller passes the right one)."""
    t, b, gh = da.shape
    rows = da.reshape(t * b, gh)
    dw_ih = rows.T @ x.reshape(t * b, x.shape[2])
    dw_hh = rows.T @ h_prev.reshape(t * b, h_prev.shape[2])
    dx = (rows @ w_ih).reshape(t, b, w_ih.shape[1]) if need_x else None
    return dx, dw_ih, dw_hh, rows.sum(axis=0)


def sigmoid(xp: Any, a: Any) -> Any:
    """σ(a) = 1 / (1 + e^(−a)) (e^(−a) overflowing to inf gives 0, as it should)."""
    with np.errstate(over="ignore"):
        return 1 / (1 + xp.exp(-a))


def _where(active: Any, t: int, new: Any, old: Any) -> Any:
    return new if active is None else backend.xp_of(new).where(active[t], new, old)


# ---------------------------------------------------------------- Elman RNN


@register("rnn_forward", "cpu", "numpy", "Python loop over steps, one h·W_hhᵀ GEMM each", reference=True)
@register("rnn_forward", "cuda", "cupy", "Python loop over steps with CuPy", reference=True)
def rnn_forward(
    x: Any,
    h0: Any,
    w_ih: Any,
    w_hh: Any,
    b_ih: Any = None,
    b_hh: Any = None,
    nonlinearity: str = "tanh",
    lengths: Any = None,
    reverse: bool = False,
) -> Any:
    """The trajectory (T, B, H) of h' = act(W_ih x + b_ih + W_hh h + b_hh)."""
    xp = backend.xp_of(x)
    pre = input_projection(x, w_ih, b_ih, b_hh)
    active = active_steps(xp, x.shape[0], lengths)
    traj = xp.empty((x.shape[0], *h0.shape), dtype=x.dtype)
    h = h0
    for t in steps(x.shape[0], reverse):
        a = pre[t] + h @ w_hh.T
        h = traj[t] = _where(active, t, xp.tanh(a) if nonlinearity == "tanh" else xp.maximum(a, 0), h)
    return traj


@register("rnn_backward", "cpu", "numpy", "Python loop over steps back in time, weight GEMMs after", reference=True)
@register("rnn_backward", "cuda", "cupy", "Python loop over steps back in time with CuPy", reference=True)
def rnn_backward(
    grad: Any,
    x: Any,
    h0: Any,
    w_ih: Any,
    w_hh: Any,
    traj: Any,
    nonlinearity: str = "tanh",
    lengths: Any = None,
    reverse: bool = False,
    need_x: bool = True,
) -> tuple[Any, ...]:
    """(dL/dx, dL/dh0, dL/dW_ih, dL/dW_hh, dL/db): per step, dL/dh = g_t + the carried gradient,
    da = dL/dh ⊙ (1 − h²) (tanh) or dL/dh ⊙ [h > 0] (relu), and dL/dh_{t−1} = da W_hh."""
    xp = backend.xp_of(x)
    active = active_steps(xp, x.shape[0], lengths)
    da = xp.zeros(traj.shape, dtype=traj.dtype)
    dh = xp.zeros(h0.shape, dtype=traj.dtype)
    for t in steps(x.shape[0], not reverse):
        dh = dh + grad[t]
        h = traj[t]
        a = dh * (1 - h * h) if nonlinearity == "tanh" else dh * (h > 0)
        if active is not None:
            a = xp.where(active[t], a, 0)
        da[t] = a
        dh = _where(active, t, a @ w_hh, dh)
    dx, dw_ih, dw_hh, db = weight_grads(da, x, previous_states(xp, traj, h0, reverse), need_x, w_ih)
    return dx, dh, dw_ih, dw_hh, db


# ---------------------------------------------------------------- GRU


@register("gru_forward", "cpu", "numpy", "Python loop over steps, one h·W_hhᵀ GEMM each", reference=True)
@register("gru_forward", "cuda", "cupy", "Python loop over steps with CuPy", reference=True)
def gru_forward(
    x: Any,
    h0: Any,
    w_ih: Any,
    w_hh: Any,
    b_ih: Any = None,
    b_hh: Any = None,
    lengths: Any = None,
    reverse: bool = False,
) -> tuple[Any, Any]:
    """(trajectory (T, B, H), gates (T, B, 4H) = [r, z, n, W_hn h + b_hn] of every step)."""
    xp = backend.xp_of(x)
    hidden = h0.shape[1]
    pre = input_projection(x, w_ih, b_ih)
    active = active_steps(xp, x.shape[0], lengths)
    traj = xp.empty((x.shape[0], *h0.shape), dtype=x.dtype)
    gates = xp.empty((x.shape[0], h0.shape[0], 4 * hidden), dtype=x.dtype)
    h = h0
    for t in steps(x.shape[0], reverse):
        hh = h @ w_hh.T
        if b_hh is not None:
            hh = hh + b_hh
        rz = sigmoid(xp, pre[t, :, : 2 * hidden] + hh[:, : 2 * hidden])
        r, z = rz[:, :hidden], rz[:, hidden:]
        hn = hh[:, 2 * hidden :]
        n = xp.tanh(pre[t, :, 2 * hidden :] + r * hn)
        gates[t] = xp.concatenate([r, z, n, hn], axis=1)
        h = traj[t] = _where(active, t, (1 - z) * n + z * h, h)
    return traj, gates


@register("gru_backward", "cpu", "numpy", "Python loop over steps back in time, weight GEMMs after", reference=True)
@register("gru_backward", "cuda", "cupy", "Python loop over steps back in time with CuPy", reference=True)
def gru_backward(
    grad: Any,
    x: Any,
    h0: Any,
    w_ih: Any,
    w_hh: Any,
    traj: Any,
    gates: Any,
    lengths: Any = None,
    reverse: bool = False,
    need_x: bool = True,
) -> tuple[Any, ...]:
    """(dL/dx, dL/dh0, dL/dW_ih, dL/dW_hh, dL/db_ih, dL/db_hh). Per step, with dL/dh = g_t + carried:
    dL/dn = dL/dh ⊙ (1 − z), dL/dz = dL/dh ⊙ (h_{t−1} − n), da_n = dL/dn ⊙ (1 − n²),
    da_r = da_n ⊙ (W_hn h + b_hn) ⊙ r(1 − r), da_z = dL/dz ⊙ z(1 − z); the input side's gate gradient is
    [da_r, da_z, da_n], the hidden side's [da_r, da_z, da_n ⊙ r]; dL/dh_{t−1} = dL/dh ⊙ z + da_h W_hh."""
    xp = backend.xp_of(x)
    hidden = h0.shape[1]
    active = active_steps(xp, x.shape[0], lengths)
    h_prev = previous_states(xp, traj, h0, reverse)
    da_x = xp.zeros((*traj.shape[:2], 3 * hidden), dtype=traj.dtype)
    da_h = xp.zeros_like(da_x)
    dh = xp.zeros(h0.shape, dtype=traj.dtype)
    for t in steps(x.shape[0], not reverse):
        dh = dh + grad[t]
        r, z, n, hn = (gates[t, :, k * hidden : (k + 1) * hidden] for k in range(4))
        an = dh * (1 - z) * (1 - n * n)
        ar = an * hn * r * (1 - r)
        az = dh * (h_prev[t] - n) * z * (1 - z)
        ax, ah = xp.concatenate([ar, az, an], axis=1), xp.concatenate([ar, az, an * r], axis=1)
        if active is not None:
            ax, ah = xp.where(active[t], ax, 0), xp.where(active[t], ah, 0)
        da_x[t], da_h[t] = ax, ah
        dh = _where(active, t, dh * z + ah @ w_hh, dh)
    dx, dw_ih, _, db_ih = weight_grads(da_x, x, h_prev, need_x, w_ih)
    _, _, dw_hh, db_hh = weight_grads(da_h, x[:, :, :0], h_prev, False, w_ih)
    return dx, dh, dw_ih, dw_hh, db_ih, db_hh


# ---------------------------------------------------------------- LSTM


@register("lstm_forward", "cpu", "numpy", "Python loop over steps, one h·W_hhᵀ GEMM each", reference=True)
@register("lstm_forward", "cuda", "cupy", "Python loop over steps with CuPy", reference=True)
def lstm_forward(
    x: Any,
    h0: Any,
    c0: Any,
    w_ih: Any,
    w_hh: Any,
    b_ih: Any = None,
    b_hh: Any = None,
    w_hr: Any = None,
    lengths: Any = None,
    reverse: bool = False,
) -> tuple[Any, Any]:
    """(trajectory (T, B, P + H) of [h, c] after each step, gates (T, B, 4H) = [i, f, g, o] of every step)."""
    xp = backend.xp_of(x)
    hidden, proj = c0.shape[1], h0.shape[1]
    pre = input_projection(x, w_ih, b_ih, b_hh)
    active = active_steps(xp, x.shape[0], lengths)
    traj = xp.empty((x.shape[0], h0.shape[0], proj + hidden), dtype=x.dtype)
    gates = xp.empty((x.shape[0], h0.shape[0], 4 * hidden), dtype=x.dtype)
    h, c = h0, c0
    for t in steps(x.shape[0], reverse):
        a = pre[t] + h @ w_hh.T
        ifo = sigmoid(xp, a)
        i, f, o = ifo[:, :hidden], ifo[:, hidden : 2 * hidden], ifo[:, 3 * hidden :]
        g = xp.tanh(a[:, 2 * hidden : 3 * hidden])
        gates[t] = xp.concatenate([i, f, g, o], axis=1)
        c_new = f * c + i * g
        h_new = o * xp.tanh(c_new)
        if w_hr is not None:
            h_new = h_new @ w_hr.T
        h = traj[t, :, :proj] = _where(active, t, h_new, h)
        c = traj[t, :, proj:] = _where(active, t, c_new, c)
    return traj, gates


@register("lstm_backward", "cpu", "numpy", "Python loop over steps back in time, weight GEMMs after", reference=True)
@register("lstm_backward", "cuda", "cupy", "Python loop over steps back in time with CuPy", reference=True)
def lstm_backward(
    grad: Any,
    x: Any,
    h0: Any,
    c0: Any,
    w_ih: Any,
    w_hh: Any,
    w_hr: Any,
    traj: Any,
    gates: Any,
    lengths: Any = None,
    reverse: bool = False,
    need_x: bool = True,
) -> tuple[Any, ...]:
    """(dL/dx, dL/dh0, dL/dc0, dL/dW_ih, dL/dW_hh, dL/db, dL/dW_hr or None). Per step, with dL/dh and
    dL/dc = g_t + carried, m = o ⊙ tanh c_t, dL/dm = dL/dh (or dL/dh W_hr with proj_size):
    dL/do = dL/dm ⊙ tanh c_t, dL/dc_t = dL/dc + dL/dm ⊙ o ⊙ (1 − tanh² c_t), dL/di = dL/dc_t ⊙ g,
    dL/df = dL/dc_t ⊙ c_{t−1}, dL/dg = dL/dc_t ⊙ i; da = [dL/di ⊙ i(1 − i), dL/df ⊙ f(1 − f),
    dL/dg ⊙ (1 − g²), dL/do ⊙ o(1 − o)]; carried: dL/dh_{t−1} = da W_hh, dL/dc_{t−1} = dL/dc_t ⊙ f;
    dL/dW_hr = Σ_t dL/dh_tᵀ m_t."""
    xp = backend.xp_of(x)
    hidden, proj = c0.shape[1], h0.shape[1]
    active = active_steps(xp, x.shape[0], lengths)
    c_traj = traj[:, :, proj:]
    c_prev = previous_states(xp, c_traj, c0, reverse)
    da = xp.zeros(gates.shape, dtype=traj.dtype)
    dh_steps = xp.zeros((*traj.shape[:2], proj), dtype=traj.dtype) if w_hr is not None else None
    dh = xp.zeros(h0.shape, dtype=traj.dtype)
    dc = xp.zeros(c0.shape, dtype=traj.dtype)
    for t in steps(x.shape[0], not reverse):
        dh = dh + grad[t, :, :proj]
        dc = dc + grad[t, :, proj:]
        i, f, g, o = (gates[t, :, k * hidden : (k + 1) * hidden] for k in range(4))
        tc = xp.tanh(c_traj[t])
        if w_hr is not None:
            dh_steps[t] = dh if active is None else xp.where(active[t], dh, 0)
            dm = dh @ w_hr
        else:
            dm = dh
        dct = dc + dm * o * (1 - tc * tc)
        a = xp.concatenate(
            [dct * g * i * (1 - i), dct * c_prev[t] * f * (1 - f), dct * i * (1 - g * g), dm * tc * o * (1 - o)], axis=1
        )
        if active is not None:
            a = xp.where(active[t], a, 0)
        da[t] = a
        dh = _where(active, t, a @ w_hh, dh)
        dc = _where(active, t, dct * f, dc)
    h_prev = previous_states(xp, traj[:, :, :proj], h0, reverse)
    dx, dw_ih, dw_hh, db = weight_grads(da, x, h_prev, need_x, w_ih)
    dw_hr = None
    if w_hr is not None:
        m = gates[:, :, 3 * hidden :] * xp.tanh(c_traj)
        rows = traj.shape[0] * traj.shape[1]
        dw_hr = dh_steps.reshape(rows, proj).T @ m.reshape(rows, hidden)
    return dx, dh, dc, dw_ih, dw_hh, db, dw_hr
