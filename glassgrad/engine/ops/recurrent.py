"""Recurrent layers as engine ops: one Function per cell type runs a WHOLE layer over time, in one direction.

    rnn_layer(x, h0, w_ih, w_hh, b_ih, b_hh, nonlinearity=, reverse=, lengths=)  -> (T, B, H)        h after each step
    gru_layer(x, h0, w_ih, w_hh, b_ih, b_hh, reverse=, lengths=)                 -> (T, B, H)        h after each step
    lstm_layer(x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, reverse=, lengths=)      -> (T, B, P + H)    [h, c] after each

Weights in PyTorch's layout and gate order (LSTM i, f, g, o; GRU r, z, n), x time-major (T, B, I). Step t
of sequence b runs only when t < lengths[b] (the state is carried unchanged through the other steps), and
``reverse`` runs the steps from the last down to the first, so h_n is traj[T − 1] forward and traj[0]
reverse. nn.RNN/GRU/LSTM zero the output's padded steps; the cells call these with T = 1.

Forward and backward each make one kernel call (glassgrad/kernels/recurrent: a step-by-step NumPy
reference, and a numba variant whose fused gate kernels run between NumPy's GEMMs); the backward through
time is written out gate by gate in each Function's docstring. ``decomposition`` is the same loop in
engine ops (matmul, sigmoid, tanh, where), which a recorded backward (``create_graph``) differentiates.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ... import kernels
from .. import backend, dtypes
from ..function import Context, Function
from ..tensor import Tensor
from .linalg import matmul
from .select import where
from .shape import cat, stack

NONLINEARITIES = ("tanh", "relu")


# ---------------------------------------------------------------- the decomposition's loop, shared by the cells


def _unrolled(
    x: Tensor,
    states: tuple[Tensor, ...],
    step: Callable[[Tensor, tuple[Tensor, ...]], tuple[Tensor, ...]],
    reverse: bool,
    lengths: Any,
) -> Tensor:
    """The layer in engine ops: ``step(x_t, states) -> new states`` over the steps in order, each state kept
    where step t does not run (t ≥ lengths[b]); the states after each step, concatenated, stacked over time."""
    length = x.shape[0]
    out: list[Any] = [None] * length
    for t in range(length - 1, -1, -1) if reverse else range(length):
        new = step(x[t], states)
        if lengths is not None:
            runs = Tensor(x.xp.asarray(t < np.asarray(lengths))[:, None])
            new = tuple(where(runs, n, s) for n, s in zip(new, states, strict=True))
        states = new
        out[t] = states[0] if len(states) == 1 else cat(list(states), dim=1)
    return stack(out)


def _affine(x: Tensor, w: Tensor, b: Tensor | None) -> Tensor:
    """x Wᵀ + b."""
    y = matmul(x, w.t())
    return y if b is None else y + b


# ---------------------------------------------------------------- Elman RNN


class RNNLayer(Function):
    """h_t = act(a_t), a_t = W_ih x_t + b_ih + W_hh h_{t−1} + b_hh, act = tanh or relu; the trajectory (h_t)_t.

    Backward through time, given g = dL/d(trajectory), from the last step run to the first, carrying
    dL/dh_t = g_t + (dL/dh_{t+1} W_hh's share):
        da_t = dL/dh_t ⊙ (1 − h_t²)  (tanh)   or   dL/dh_t ⊙ [h_t > 0]  (relu)
        dL/dh_{t−1} = g_{t−1} + da_t W_hh,      dL/dh0 = what is carried past the first step
        dL/dx_t = da_t W_ih,   dL/dW_ih = Σ_t da_tᵀ x_t,   dL/dW_hh = Σ_t da_tᵀ h_{t−1},
        dL/db_ih = dL/db_hh = Σ_t Σ_b da_t
    A step that does not run (t ≥ lengths[b]) passes dL/dh_t on unchanged and has da_t = 0.
    """

    @staticmethod
    def forward(ctx: Context, x: Any, h0: Any, w_ih: Any, w_hh: Any, b_ih: Any, b_hh: Any, **options: Any) -> Any:
        traj = kernels.run("rnn_forward", x, h0, w_ih, w_hh, b_ih, b_hh, **options)
        ctx.save_for_backward(x, h0, w_ih, w_hh, traj)
        ctx.options = options
        return traj

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple[Any, ...]:
        x, h0, w_ih, w_hh, traj = ctx.saved_arrays
        need = ctx.needs_input_grad
        dx, dh0, dw_ih, dw_hh, db = kernels.run(
            "rnn_backward", grad, x, h0, w_ih, w_hh, traj, **ctx.options, need_x=need[0]
        )
        return dx, dh0, dw_ih, dw_hh, db if need[4] else None, db.copy() if need[5] else None

    @staticmethod
    def decomposition(
        x: Tensor,
        h0: Tensor,
        w_ih: Tensor,
        w_hh: Tensor,
        b_ih: Tensor | None,
        b_hh: Tensor | None,
        nonlinearity: str = "tanh",
        reverse: bool = False,
        lengths: Any = None,
    ) -> Tensor:
        """h' = act(W_ih x + b_ih + W_hh h + b_hh), step by step."""

        def step(xt: Tensor, states: tuple[Tensor, ...]) -> tuple[Tensor, ...]:
            a = _affine(xt, w_ih, b_ih) + _affine(states[0], w_hh, b_hh)
            return (a.tanh() if nonlinearity == "tanh" else a.relu(),)

        return _unrolled(x, (h0,), step, reverse, lengths)


# ---------------------------------------------------------------- GRU


class GRULayer(Function):
    """r = σ(W_ir x + b_ir + W_hr h + b_hr), z = σ(W_iz x + b_iz + W_hz h + b_hz),
    n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)), h_t = (1 − z) ⊙ n + z ⊙ h_{t−1}; the trajectory (h_t)_t.

    Backward through time, given g = dL/d(trajectory), carrying dL/dh_t = g_t + the later steps' share,
    with hn = W_hn h_{t−1} + b_hn:
        dL/dn = dL/dh_t ⊙ (1 − z),   dL/dz = dL/dh_t ⊙ (h_{t−1} − n),   dL/dr = da_n ⊙ hn
        da_n = dL/dn ⊙ (1 − n²),   da_z = dL/dz ⊙ z(1 − z),   da_r = dL/dr ⊙ r(1 − r)
        input side:  dx_gates = [da_r, da_z, da_n];   hidden side: dh_gates = [da_r, da_z, da_n ⊙ r]
        dL/dh_{t−1} = g_{t−1} + dL/dh_t ⊙ z + dh_gates W_hh,   dL/dx_t = dx_gates W_ih
        dL/dW_ih = Σ_t dx_gatesᵀ x_t,  dL/dW_hh = Σ_t dh_gatesᵀ h_{t−1},
        dL/db_ih = Σ dx_gates,  dL/db_hh = Σ dh_gates
    A step that does not run passes dL/dh_t on unchanged and has zero gate gradients.
    """

    @staticmethod
    def forward(ctx: Context, x: Any, h0: Any, w_ih: Any, w_hh: Any, b_ih: Any, b_hh: Any, **options: Any) -> Any:
        traj, gates = kernels.run("gru_forward", x, h0, w_ih, w_hh, b_ih, b_hh, **options)
        ctx.save_for_backward(x, h0, w_ih, w_hh, traj, gates)
        ctx.options = options
        return traj

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple[Any, ...]:
        x, h0, w_ih, w_hh, traj, gates = ctx.saved_arrays
        need = ctx.needs_input_grad
        dx, dh0, dw_ih, dw_hh, db_ih, db_hh = kernels.run(
            "gru_backward", grad, x, h0, w_ih, w_hh, traj, gates, **ctx.options, need_x=need[0]
        )
        return dx, dh0, dw_ih, dw_hh, db_ih if need[4] else None, db_hh if need[5] else None

    @staticmethod
    def decomposition(
        x: Tensor,
        h0: Tensor,
        w_ih: Tensor,
        w_hh: Tensor,
        b_ih: Tensor | None,
        b_hh: Tensor | None,
        reverse: bool = False,
        lengths: Any = None,
    ) -> Tensor:
        """The GRU step in engine ops."""

        def step(xt: Tensor, states: tuple[Tensor, ...]) -> tuple[Tensor, ...]:
            (h,) = states
            xr, xz, xn = _affine(xt, w_ih, b_ih).chunk(3, dim=1)
            hr, hz, hn = _affine(h, w_hh, b_hh).chunk(3, dim=1)
            r, z = (xr + hr).sigmoid(), (xz + hz).sigmoid()
            n = (xn + r * hn).tanh()
            return ((1 - z) * n + z * h,)

        return _unrolled(x, (h0,), step, reverse, lengths)


# ---------------------------------------------------------------- LSTM


class LSTMLayer(Function):
    """i, f, g, o = σ, σ, tanh, σ of a_t = W_ih x_t + b_ih + W_hh h_{t−1} + b_hh (split in four),
    c_t = f ⊙ c_{t−1} + i ⊙ g,  m_t = o ⊙ tanh c_t,  h_t = m_t (or W_hr m_t with proj_size);
    the trajectory ([h_t, c_t])_t.

    Backward through time, given g = dL/d(trajectory) = [g^h_t, g^c_t], carrying dL/dh_t = g^h_t + the
    later steps' share and dL/dc = g^c_t + the later steps' share:
        dL/dm = dL/dh_t  (proj_size: dL/dh_t W_hr,  dL/dW_hr = Σ_t dL/dh_tᵀ m_t)
        dL/do = dL/dm ⊙ tanh c_t
        dL/dc_t = dL/dc + dL/dm ⊙ o ⊙ (1 − tanh² c_t)
        dL/di = dL/dc_t ⊙ g,   dL/df = dL/dc_t ⊙ c_{t−1},   dL/dg = dL/dc_t ⊙ i
        da = [dL/di ⊙ i(1 − i), dL/df ⊙ f(1 − f), dL/dg ⊙ (1 − g²), dL/do ⊙ o(1 − o)]
        carried: dL/dc_{t−1} = g^c_{t−1} + dL/dc_t ⊙ f,   dL/dh_{t−1} = g^h_{t−1} + da W_hh
        dL/dx_t = da W_ih,  dL/dW_ih = Σ_t daᵀ x_t,  dL/dW_hh = Σ_t daᵀ h_{t−1},  dL/db_ih = dL/db_hh = Σ da
    dL/dh0, dL/dc0: what is carried past the first step. A step that does not run passes dL/dh_t and
    dL/dc_t on unchanged and has da = 0.
    """

    @staticmethod
    def forward(
        ctx: Context,
        x: Any,
        h0: Any,
        c0: Any,
        w_ih: Any,
        w_hh: Any,
        b_ih: Any,
        b_hh: Any,
        w_hr: Any,
        **options: Any,
    ) -> Any:
        traj, gates = kernels.run("lstm_forward", x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, **options)
        ctx.save_for_backward(x, h0, c0, w_ih, w_hh, w_hr, traj, gates)
        ctx.options = options
        return traj

    @staticmethod
    def backward(ctx: Context, grad: Any) -> tuple[Any, ...]:
        x, h0, c0, w_ih, w_hh, w_hr, traj, gates = ctx.saved_arrays
        need = ctx.needs_input_grad
        dx, dh0, dc0, dw_ih, dw_hh, db, dw_hr = kernels.run(
            "lstm_backward", grad, x, h0, c0, w_ih, w_hh, w_hr, traj, gates, **ctx.options, need_x=need[0]
        )
        return dx, dh0, dc0, dw_ih, dw_hh, db if need[5] else None, db.copy() if need[6] else None, dw_hr

    @staticmethod
    def decomposition(
        x: Tensor,
        h0: Tensor,
        c0: Tensor,
        w_ih: Tensor,
        w_hh: Tensor,
        b_ih: Tensor | None,
        b_hh: Tensor | None,
        w_hr: Tensor | None,
        reverse: bool = False,
        lengths: Any = None,
    ) -> Tensor:
        """The LSTM step in engine ops."""

        def step(xt: Tensor, states: tuple[Tensor, ...]) -> tuple[Tensor, ...]:
            h, c = states
            i, f, g, o = (_affine(xt, w_ih, b_ih) + _affine(h, w_hh, b_hh)).chunk(4, dim=1)
            c = f.sigmoid() * c + i.sigmoid() * g.tanh()
            m = o.sigmoid() * c.tanh()
            return (m if w_hr is None else matmul(m, w_hr.t()), c)

        return _unrolled(x, (h0, c0), step, reverse, lengths)


# ---------------------------------------------------------------- the public functions and their checks


def _shape_error(name: str, what: str, got: tuple[int, ...], want: tuple[int, ...]) -> RuntimeError:
    return RuntimeError(f"{name}: expected {what} of shape {want}, got {tuple(got)}")


def _lengths(name: str, lengths: Any, steps: int, batch: int) -> np.ndarray | None:
    """``lengths`` as a (B,) int64 NumPy array with every entry in 1..T, or None (every step runs)."""
    if lengths is None:
        return None
    values = np.asarray(backend.to_device(lengths.array, "cpu") if isinstance(lengths, Tensor) else lengths)
    if values.dtype.kind not in "iu" or values.shape != (batch,):
        raise RuntimeError(
            f"{name}: lengths must be {batch} integers (one per sequence), got {values.dtype} of shape {values.shape}"
        )
    if values.size and (values.min() < 1 or values.max() > steps):
        raise RuntimeError(f"{name}: every length must be in 1..{steps} (the input's steps), got {values.tolist()}")
    return values.astype(np.int64)


def _check_layer(
    name: str,
    gates: int,
    x: Tensor,
    states: Sequence[tuple[str, Tensor, int]],
    w_ih: Tensor,
    w_hh: Tensor,
    biases: Sequence[Tensor | None],
    hidden: int,
    out: int,
) -> None:
    """Types, dtypes and shapes of a layer's inputs, or an exception naming ``name`` and the values."""
    named = [("input", x), *((label, t) for label, t, _ in states), ("w_ih", w_ih), ("w_hh", w_hh)]
    named += [(label, b) for label, b in zip(("b_ih", "b_hh"), biases, strict=True) if b is not None]
    for label, t in named:
        if not isinstance(t, Tensor):
            raise TypeError(f"{name}: {label} must be a Tensor, got {type(t).__name__}")
    found = {t.dtype for _, t in named}
    if len(found) != 1 or not dtypes.is_floating(x.dtype):
        raise RuntimeError(
            f"{name}: expected one floating dtype, got " + ", ".join(f"{label} {t.dtype}" for label, t in named)
        )
    if x.ndim != 3:
        raise RuntimeError(f"{name}: input must be (T, B, input_size), got shape {x.shape}")
    steps, batch, features = x.shape
    if steps == 0:
        raise RuntimeError(f"{name}: input has no time steps (shape {x.shape})")
    for label, t, size in states:
        if t.shape != (batch, size):
            raise _shape_error(name, label, t.shape, (batch, size))
    if w_ih.shape != (gates * hidden, features):
        raise _shape_error(name, "w_ih", w_ih.shape, (gates * hidden, features))
    if w_hh.shape != (gates * hidden, out):
        raise _shape_error(name, "w_hh", w_hh.shape, (gates * hidden, out))
    for label, b in zip(("b_ih", "b_hh"), biases, strict=True):
        if b is not None and b.shape != (gates * hidden,):
            raise _shape_error(name, label, b.shape, (gates * hidden,))


def _reverse(name: str, reverse: Any) -> bool:
    if not isinstance(reverse, bool | np.bool_):
        raise TypeError(f"{name}: argument 'reverse' must be bool, not {type(reverse).__name__} ({reverse!r})")
    return bool(reverse)


def rnn_layer(
    x: Tensor,
    h0: Tensor,
    w_ih: Tensor,
    w_hh: Tensor,
    b_ih: Tensor | None = None,
    b_hh: Tensor | None = None,
    *,
    nonlinearity: str = "tanh",
    reverse: bool = False,
    lengths: Any = None,
) -> Tensor:
    """An Elman RNN layer over time (one direction): x (T, B, I), h0 (B, H), w_ih (H, I), w_hh (H, H),
    biases (H,) or None; returns h after each step (T, B, H). ``lengths``: (B,) ints in 1..T or None."""
    name = "rnn_layer"
    if nonlinearity not in NONLINEARITIES:
        raise ValueError(f"{name}: Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'.")
    hidden = getattr(w_hh, "shape", (0, 0))[-1]
    _check_layer(name, 1, x, [("h0", h0, hidden)], w_ih, w_hh, (b_ih, b_hh), hidden, hidden)
    options = {"nonlinearity": nonlinearity, "reverse": _reverse(name, reverse)}
    options["lengths"] = _lengths(name, lengths, *x.shape[:2])
    return RNNLayer.apply(x, h0, w_ih, w_hh, b_ih, b_hh, **options)


def gru_layer(
    x: Tensor,
    h0: Tensor,
    w_ih: Tensor,
    w_hh: Tensor,
    b_ih: Tensor | None = None,
    b_hh: Tensor | None = None,
    *,
    reverse: bool = False,
    lengths: Any = None,
) -> Tensor:
    """A GRU layer over time (one direction): x (T, B, I), h0 (B, H), w_ih (3H, I), w_hh (3H, H) in gate
    order r, z, n, biases (3H,) or None; returns h after each step (T, B, H)."""
    name = "gru_layer"
    hidden = getattr(w_hh, "shape", (0, 0))[-1]
    _check_layer(name, 3, x, [("h0", h0, hidden)], w_ih, w_hh, (b_ih, b_hh), hidden, hidden)
    options = {"reverse": _reverse(name, reverse), "lengths": _lengths(name, lengths, *x.shape[:2])}
    return GRULayer.apply(x, h0, w_ih, w_hh, b_ih, b_hh, **options)


def lstm_layer(
    x: Tensor,
    h0: Tensor,
    c0: Tensor,
    w_ih: Tensor,
    w_hh: Tensor,
    b_ih: Tensor | None = None,
    b_hh: Tensor | None = None,
    w_hr: Tensor | None = None,
    *,
    reverse: bool = False,
    lengths: Any = None,
) -> Tensor:
    """An LSTM layer over time (one direction): x (T, B, I), h0 (B, P), c0 (B, H), w_ih (4H, I), w_hh (4H, P)
    in gate order i, f, g, o, biases (4H,) or None, w_hr (P, H) or None (P = proj_size, else H); returns
    [h, c] after each step (T, B, P + H)."""
    name = "lstm_layer"
    hidden = getattr(c0, "shape", (0, 0))[-1]
    out = hidden
    if w_hr is not None:
        if not isinstance(w_hr, Tensor) or w_hr.ndim != 2 or w_hr.shape[1] != hidden:
            raise RuntimeError(f"{name}: w_hr must be (proj_size, {hidden}), got {getattr(w_hr, 'shape', w_hr)}")
        if w_hr.dtype != x.dtype:
            raise RuntimeError(f"{name}: expected one floating dtype, got input {x.dtype}, w_hr {w_hr.dtype}")
        out = w_hr.shape[0]
    _check_layer(name, 4, x, [("h0", h0, out), ("c0", c0, hidden)], w_ih, w_hh, (b_ih, b_hh), hidden, out)
    options = {"reverse": _reverse(name, reverse), "lengths": _lengths(name, lengths, *x.shape[:2])}
    return LSTMLayer.apply(x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, **options)
