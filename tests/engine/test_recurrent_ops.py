"""rnn_layer / gru_layer / lstm_layer against torch.nn.RNN / GRU / LSTM (one layer, the weights copied in):
the output, h_n, c_n and the gradients of x, h0, c0 and every weight in float64 at 1e-10, through every cpu
variant; lengths through pack_padded_sequence (unsorted), reverse through a bidirectional module's reverse
direction; gradcheck and gradgradcheck (the decomposition) on tiny layers; bad inputs."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

import glassgrad as gg
from glassgrad import kernels

GATES = {"rnn": 1, "gru": 3, "lstm": 4}
OPS = {"rnn": gg.rnn_layer, "gru": gg.gru_layer, "lstm": gg.lstm_layer}
TORCH = {"rnn": torch.nn.RNN, "gru": torch.nn.GRU, "lstm": torch.nn.LSTM}
VARIANTS = sorted({v.name for v in kernels.list("lstm_forward", "cpu")})

# (cell, T, B, I, H, options): each option appears in a few combined cases
CASES = [
    ("lstm", 5, 3, 4, 6, {"lengths": [5, 2, 4]}),
    ("lstm", 6, 4, 3, 5, {"proj": 3, "reverse": True, "lengths": [2, 6, 1, 4], "bias": False}),
    ("lstm", 1, 1, 2, 3, {}),
    ("gru", 5, 3, 4, 6, {"lengths": [3, 5, 1], "reverse": True}),
    ("gru", 4, 1, 3, 5, {"bias": False}),
    ("rnn", 5, 3, 4, 6, {"lengths": [4, 1, 5]}),
    ("rnn", 4, 1, 3, 5, {"nonlinearity": "relu", "reverse": True, "bias": False}),
]


def _ids(case: tuple[Any, ...]) -> str:
    cell, t, b, i, h, options = case
    return f"{cell}-T{t}B{b}-" + "-".join(f"{k}" for k in options) if options else f"{cell}-T{t}B{b}-plain"


def _arrays(cell: str, t: int, b: int, i: int, h: int, options: dict[str, Any]) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(t * 100 + b * 10 + i)
    out = options.get("proj", h)
    gh = GATES[cell] * h
    arrays = {"x": rng.standard_normal((t, b, i)), "h0": rng.standard_normal((b, out))}
    arrays["w_ih"] = rng.uniform(-0.6, 0.6, (gh, i))
    arrays["w_hh"] = rng.uniform(-0.6, 0.6, (gh, out))
    if options.get("bias", True):
        arrays["b_ih"], arrays["b_hh"] = rng.uniform(-0.5, 0.5, gh), rng.uniform(-0.5, 0.5, gh)
    if cell == "lstm":
        arrays["c0"] = rng.standard_normal((b, h))
        if "proj" in options:
            arrays["w_hr"] = rng.uniform(-0.6, 0.6, (out, h))
    # the loss weights of the output (T, B, P), h_n (B, P) and c_n (B, H)
    arrays["r_out"] = rng.standard_normal((t, b, out))
    arrays["r_h"] = rng.standard_normal((b, out))
    arrays["r_c"] = rng.standard_normal((b, h))
    return arrays


PARAMS = ("w_ih", "w_hh", "b_ih", "b_hh", "w_hr")


def _ours(cell: str, arrays: dict[str, np.ndarray], options: dict[str, Any]) -> dict[str, np.ndarray]:
    """The layer in glassgrad: the output (padded steps zeroed), h_n, c_n, the loss and every gradient."""
    names = ["x", "h0", "c0", *PARAMS] if cell == "lstm" else ["x", "h0", *PARAMS[:4]]
    t = {k: gg.tensor(arrays[k], requires_grad=True) if k in arrays else None for k in names}
    kwargs: dict[str, Any] = {"reverse": options.get("reverse", False), "lengths": options.get("lengths")}
    if cell == "rnn":
        kwargs["nonlinearity"] = options.get("nonlinearity", "tanh")
    traj = OPS[cell](*(t[k] for k in names), **kwargs)
    steps, batch = traj.shape[:2]
    out_size = arrays["h0"].shape[1]
    lengths = np.asarray(options.get("lengths", [steps] * batch))
    valid = gg.tensor((np.arange(steps)[:, None] < lengths[None, :])[:, :, None].astype(np.float64))
    out = traj[:, :, :out_size] * valid
    last = traj[0] if kwargs["reverse"] else traj[steps - 1]
    loss = (out * gg.tensor(arrays["r_out"])).sum() + (last[:, :out_size] * gg.tensor(arrays["r_h"])).sum()
    result = {"out": out.detach().numpy(), "h_n": last[:, :out_size].detach().numpy()}
    if cell == "lstm":
        loss = loss + (last[:, out_size:] * gg.tensor(arrays["r_c"])).sum()
        result["c_n"] = last[:, out_size:].detach().numpy()
    loss.backward()
    result.update({f"d{k}": v.grad.numpy() for k, v in t.items() if v is not None})
    return result


def _theirs(cell: str, arrays: dict[str, np.ndarray], options: dict[str, Any]) -> dict[str, np.ndarray]:
    """The same in PyTorch: a one-layer module (bidirectional for reverse, the loss then reads only the
    reverse direction), a PackedSequence for lengths."""
    steps, batch, features = arrays["x"].shape
    hidden, out_size = arrays["r_c"].shape[1], arrays["h0"].shape[1]
    reverse = options.get("reverse", False)
    kwargs: dict[str, Any] = {"bias": options.get("bias", True), "bidirectional": reverse, "dtype": torch.float64}
    if cell == "rnn":
        kwargs["nonlinearity"] = options.get("nonlinearity", "tanh")
    if "proj" in options:
        kwargs["proj_size"] = options["proj"]
    module = TORCH[cell](features, hidden, **kwargs)
    suffix = "_l0_reverse" if reverse else "_l0"
    torch_names = {"w_ih": "weight_ih", "w_hh": "weight_hh", "b_ih": "bias_ih", "b_hh": "bias_hh", "w_hr": "weight_hr"}
    with torch.no_grad():
        for k, name in torch_names.items():
            if k in arrays:
                getattr(module, name + suffix).copy_(torch.from_numpy(arrays[k]))
    x = torch.tensor(arrays["x"], requires_grad=True)
    h0 = torch.tensor(arrays["h0"], requires_grad=True)
    c0 = torch.tensor(arrays["c0"], requires_grad=True) if cell == "lstm" else None
    dirs = 2 if reverse else 1
    h0_all = h0.unsqueeze(0).expand(dirs, batch, out_size).contiguous()  # both directions start from h0
    state: Any = h0_all
    if cell == "lstm":
        state = (h0_all, c0.unsqueeze(0).expand(dirs, batch, hidden).contiguous())
    lengths = options.get("lengths")
    inp: Any = x if lengths is None else pack_padded_sequence(x, torch.tensor(lengths), enforce_sorted=False)
    out, final = module(inp, state)
    if lengths is not None:
        out, _ = pad_packed_sequence(out, total_length=steps)
    h_n, c_n = final if cell == "lstm" else (final, None)
    d = dirs - 1
    out = out[:, :, d * out_size : (d + 1) * out_size]
    loss = (out * torch.from_numpy(arrays["r_out"])).sum() + (h_n[d] * torch.from_numpy(arrays["r_h"])).sum()
    result = {"out": out.detach().numpy(), "h_n": h_n[d].detach().numpy()}
    if cell == "lstm":
        loss = loss + (c_n[d] * torch.from_numpy(arrays["r_c"])).sum()
        result["c_n"] = c_n[d].detach().numpy()
    loss.backward()
    result["dx"], result["dh0"] = x.grad.numpy(), h0.grad.numpy()
    if cell == "lstm":
        result["dc0"] = c0.grad.numpy()
    for k, name in torch_names.items():
        if k in arrays:
            result[f"d{k}"] = getattr(module, name + suffix).grad.numpy()
    return result


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("case", CASES, ids=[_ids(c) for c in CASES])
def test_matches_torch(case: tuple[Any, ...], variant: str) -> None:
    cell, *shape, options = case
    arrays = _arrays(cell, *shape, options)
    with kernels.use(f"{cell}_forward", variant, "cpu"), kernels.use(f"{cell}_backward", variant, "cpu"):
        ours = _ours(cell, arrays, options)
    theirs = _theirs(cell, arrays, options)
    assert set(ours) == set(theirs)
    for key, want in theirs.items():
        np.testing.assert_allclose(ours[key], want, rtol=1e-10, atol=1e-10, err_msg=f"{cell} {key}")


def test_float32_runs_in_float32() -> None:
    arrays = _arrays("lstm", 3, 2, 4, 5, {})
    args = [gg.tensor(arrays[k].astype(np.float32)) for k in ("x", "h0", "c0", "w_ih", "w_hh")]
    traj = gg.lstm_layer(*args)
    assert traj.dtype == gg.float32 and traj.shape == (3, 2, 10)
    want = gg.lstm_layer(*(gg.tensor(arrays[k]) for k in ("x", "h0", "c0", "w_ih", "w_hh")))
    np.testing.assert_allclose(traj.numpy(), want.numpy(), atol=1e-5)


def _tiny(cell: str, options: dict[str, Any], steps: int) -> list[gg.Tensor]:
    arrays = _arrays(cell, steps, 2, 2, 2, options)
    names = ["x", "h0", "c0", *PARAMS] if cell == "lstm" else ["x", "h0", *PARAMS[:4]]
    return [gg.tensor(arrays[k], requires_grad=True) for k in names if k in arrays]


def _layer(cell: str, options: dict[str, Any]) -> Any:
    kwargs = {"reverse": options.get("reverse", False), "lengths": options.get("lengths")}

    def fn(*args: gg.Tensor) -> gg.Tensor:
        if cell == "lstm":
            x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr = args
            return gg.lstm_layer(x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, **kwargs)
        return OPS[cell](*args, **kwargs)

    return fn


@pytest.mark.parametrize(
    ("cell", "options"),
    [("lstm", {"proj": 1, "lengths": [3, 1]}), ("gru", {"reverse": True, "lengths": [2, 3]}), ("rnn", {})],
)
def test_gradcheck(cell: str, options: dict[str, Any]) -> None:
    assert gg.gradcheck(_layer(cell, options), _tiny(cell, options, 3))


def test_gradgradcheck_through_the_decomposition() -> None:
    options = {"proj": 1, "lengths": [2, 1], "reverse": True}
    inputs = _tiny("lstm", options, 2)
    for constant in (3, 5, 6):  # w_ih and the biases: fewer finite differences, the same paths
        inputs[constant] = inputs[constant].detach()
    assert gg.gradgradcheck(_layer("lstm", options), inputs)


def test_decomposition_is_the_same_layer() -> None:
    arrays = _arrays("lstm", 4, 3, 2, 3, {"proj": 2})
    inputs = [gg.tensor(arrays[k]) for k in ("x", "h0", "c0", "w_ih", "w_hh", "b_ih", "b_hh", "w_hr")]
    options = {"reverse": True, "lengths": np.array([4, 1, 3])}
    want = gg.lstm_layer(*inputs, **options)
    got = gg.engine.ops.recurrent.LSTMLayer.decomposition(*inputs, **options)
    np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-12, atol=1e-12)


def test_bad_inputs_name_the_op() -> None:
    arrays = _arrays("lstm", 3, 2, 4, 5, {})
    x, h0, c0, w_ih, w_hh = (gg.tensor(arrays[k]) for k in ("x", "h0", "c0", "w_ih", "w_hh"))
    with pytest.raises(RuntimeError, match=r"lstm_layer: expected w_hh of shape \(20, 5\)"):
        gg.lstm_layer(x, h0, c0, w_ih, w_hh[:, :4])
    with pytest.raises(RuntimeError, match="lstm_layer: every length must be in 1..3"):
        gg.lstm_layer(x, h0, c0, w_ih, w_hh, lengths=[0, 3])
    with pytest.raises(RuntimeError, match="lstm_layer: lengths must be 2 integers"):
        gg.lstm_layer(x, h0, c0, w_ih, w_hh, lengths=[3, 3, 3])
    with pytest.raises(RuntimeError, match="lstm_layer: expected one floating dtype"):
        gg.lstm_layer(x, h0.float(), c0, w_ih, w_hh)
    with pytest.raises(RuntimeError, match=r"lstm_layer: input must be \(T, B, input_size\)"):
        gg.lstm_layer(x[0], h0, c0, w_ih, w_hh)
    with pytest.raises(ValueError, match="rnn_layer: Unknown nonlinearity 'gelu'"):
        gg.rnn_layer(x, h0, w_ih[:5], w_hh[:5], nonlinearity="gelu")
    with pytest.raises(RuntimeError, match=r"gru_layer: expected h0 of shape \(2, 5\)"):
        gg.gru_layer(x, h0[:, :3], w_ih[:15], w_hh[:15])
    with pytest.raises(TypeError, match="gru_layer: argument 'reverse' must be bool"):
        gg.gru_layer(x, h0, w_ih[:15], w_hh[:15], reverse=1)
