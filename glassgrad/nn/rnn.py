"""Recurrent layers: RNN (tanh/relu), LSTM (with projections), GRU and their one-step cells, with
PyTorch's arguments, parameter names, shapes, gate order and initialisation.

Each layer and direction runs as one engine op over the whole sequence (``engine/ops/recurrent.py``:
``rnn_layer``, ``gru_layer``, ``lstm_layer``, whose backward through time is written out gate by gate);
this file stacks the layers, runs the reverse direction, applies dropout between layers and converts
batch-first, unbatched and packed inputs to and from the ops' time-major form. Per layer l, direction d:

    RNN   h_t = act(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)
    GRU   r, z = σ(W_ir x_t + b_ir + W_hr h + b_hr), σ(W_iz x_t + ...);  n = tanh(W_in x_t + b_in + r ⊙ (W_hn h + b_hn))
          h_t = (1 − z) ⊙ n + z ⊙ h_{t-1}
    LSTM  i, f, g, o = σ, σ, tanh, σ of (W_ih x_t + b_ih + W_hh h_{t-1} + b_hh) split in four
          c_t = f ⊙ c_{t-1} + i ⊙ g,  h_t = o ⊙ tanh(c_t)  (then h_t = W_hr h_t with proj_size > 0)
"""

from __future__ import annotations

import math
import numbers
import warnings
from typing import Any

import numpy as np

from ..engine import creation, ops
from ..engine.ops.recurrent import gru_layer, lstm_layer, rnn_layer
from ..engine.tensor import Tensor
from . import functional as F
from . import init
from .module import Module
from .parameter import Parameter
from .utils.rnn import PackedSequence, packed_to_time_major, time_major_to_packed_data

__all__ = ["RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell"]

_GATES = {"RNN_TANH": 1, "RNN_RELU": 1, "LSTM": 4, "GRU": 3}


def _check_size(layer: str, name: str, value: Any) -> None:
    """PyTorch's checks on a size argument: TypeError for a non-int, ValueError for <= 0."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{layer}: {name} should be of type int, got: {type(value).__name__}")
    if value <= 0:
        raise ValueError(f"{layer}: {name} must be greater than zero, got {value}")


def _check_flag(layer: str, name: str, value: Any) -> None:
    if not isinstance(value, bool):
        raise TypeError(f"{layer}: {name} should be of type bool, got: {type(value).__name__}")


def _check_dtype(layer: str, input: Tensor, weight: Tensor) -> None:
    if input.dtype != weight.dtype:
        raise ValueError(
            f"{layer}: input dtype ({input.dtype}) does not match weight dtype ({weight.dtype}). Convert input: "
            f"input.to({weight.dtype}), or convert model: model.to({input.dtype})"
        )


def _uniform_init(module: Module, hidden_size: int) -> None:
    """Every parameter ~ U(−1/√H, 1/√H), as PyTorch initialises its recurrent layers and cells."""
    bound = 1.0 / math.sqrt(hidden_size)
    for weight in module.parameters():
        init.uniform_(weight, -bound, bound)


class RNNBase(Module):
    """The stacked, optionally bidirectional recurrent layer shared by RNN, LSTM and GRU.

    Parameters, for layer k and direction suffix s ("" forward, "_reverse" backward), in PyTorch's order:
    weight_ih_l{k}{s} (G·H, I_k), weight_hh_l{k}{s} (G·H, H_out), bias_ih_l{k}{s}, bias_hh_l{k}{s} (G·H,),
    weight_hr_l{k}{s} (proj_size, H) for an LSTM with proj_size > 0; G = 1 (RNN), 3 (GRU), 4 (LSTM),
    H_out = proj_size or H, I_0 = input_size, I_k = D·H_out above.
    """

    def __init__(
        self,
        mode: str,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__()
        layer = type(self).__name__
        if mode not in _GATES:
            raise ValueError(f"{layer}: Unrecognized RNN mode: {mode}")
        if isinstance(dropout, bool) or not isinstance(dropout, numbers.Real) or not 0 <= dropout <= 1:
            raise ValueError(
                f"{layer}: dropout should be a number in range [0, 1] representing the probability of an element "
                f"being zeroed, got {dropout!r}"
            )
        _check_flag(layer, "bias", bias)
        _check_flag(layer, "batch_first", batch_first)
        _check_size(layer, "input_size", input_size)
        _check_size(layer, "hidden_size", hidden_size)
        _check_size(layer, "num_layers", num_layers)
        if isinstance(proj_size, bool) or not isinstance(proj_size, int) or proj_size < 0:
            raise ValueError(
                f"{layer}: proj_size should be a positive integer or zero to disable projections, got {proj_size!r}"
            )
        if proj_size >= hidden_size:
            raise ValueError(f"{layer}: proj_size has to be smaller than hidden_size, got {proj_size} >= {hidden_size}")
        if dropout > 0 and num_layers == 1:
            warnings.warn(
                "dropout option adds dropout after all but last recurrent layer, so non-zero dropout expects "
                f"num_layers greater than 1, but got dropout={dropout} and num_layers={num_layers}",
                stacklevel=3,
            )
        self.mode, self.input_size, self.hidden_size, self.num_layers = mode, input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.dropout = bias, batch_first, float(dropout)
        self.bidirectional, self.proj_size = bidirectional, proj_size
        gates = _GATES[mode] * hidden_size
        out_size = proj_size or hidden_size
        self._all_weights: list[list[str]] = []
        for k in range(num_layers):
            for direction in range(self.num_directions):
                suffix = "_reverse" if direction else ""
                shapes = {
                    "weight_ih": (gates, input_size if k == 0 else out_size * self.num_directions),
                    "weight_hh": (gates, out_size),
                }
                if bias:
                    shapes.update(bias_ih=(gates,), bias_hh=(gates,))
                if proj_size:
                    shapes["weight_hr"] = (proj_size, hidden_size)
                names = []
                for kind, shape in shapes.items():
                    names.append(f"{kind}_l{k}{suffix}")
                    setattr(self, names[-1], Parameter(creation.empty(*shape, device=device, dtype=dtype)))
                self._all_weights.append(names)
        self.reset_parameters()

    @property
    def num_directions(self) -> int:
        return 2 if self.bidirectional else 1

    @property
    def all_weights(self) -> list[list[Parameter]]:
        """The parameters per layer and direction, in PyTorch's order."""
        return [[getattr(self, name) for name in names] for names in self._all_weights]

    def reset_parameters(self) -> None:
        _uniform_init(self, self.hidden_size)

    def flatten_parameters(self) -> None:
        """PyTorch packs the weights for cuDNN here; glassgrad keeps them separate, so this does nothing."""

    def _state_sizes(self) -> tuple[int, ...]:
        """The size of each state's last dim: (H_out,) or, for the LSTM, (H_out, H)."""
        out_size = self.proj_size or self.hidden_size
        return (out_size, self.hidden_size) if self.mode == "LSTM" else (out_size,)

    def _layer(self, x: Tensor, states: list[Tensor], k: int, direction: int, lengths: Any) -> Tensor:
        """The state trajectory of layer k in one direction (the engine op's result)."""
        names = self._all_weights[k * self.num_directions + direction]
        weights = {name.split("_l")[0]: getattr(self, name) for name in names}  # "weight_ih_l0_reverse" -> "weight_ih"
        w = (weights["weight_ih"], weights["weight_hh"], weights.get("bias_ih"), weights.get("bias_hh"))
        reverse = direction == 1
        if self.mode == "LSTM":
            return lstm_layer(x, *states, *w, weights.get("weight_hr"), reverse=reverse, lengths=lengths)
        if self.mode == "GRU":
            return gru_layer(x, *states, *w, reverse=reverse, lengths=lengths)
        nonlinearity = "tanh" if self.mode == "RNN_TANH" else "relu"
        return rnn_layer(x, *states, *w, nonlinearity=nonlinearity, reverse=reverse, lengths=lengths)

    def _check_states(self, states: tuple[Tensor, ...], batch: int) -> None:
        """Each state must be (L·D, B, size), as PyTorch checks it."""
        expected = [(self.num_layers * self.num_directions, batch, size) for size in self._state_sizes()]
        for i, (state, shape) in enumerate(zip(states, expected, strict=True)):
            if tuple(state.shape) != shape:
                which = f"hidden[{i}]" if len(states) > 1 else "hidden"
                raise RuntimeError(f"{type(self).__name__}: Expected {which} size {shape}, got {list(state.shape)}")

    def _given_states(self, hx: Any, batched: bool) -> tuple[Tensor, ...] | None:
        """hx as a tuple of states ((h0,) or (h0, c0)), unbatched ones given a batch dim of 1."""
        if hx is None:
            return None
        layer = type(self).__name__
        if self.mode == "LSTM":
            if not isinstance(hx, tuple | list) or len(hx) != 2:
                raise TypeError(f"{layer}: hx must be a tuple (h_0, c_0), got {type(hx).__name__}")
            states = tuple(hx)
        else:
            states = (hx,)
        if not all(isinstance(s, Tensor) for s in states):
            raise TypeError(f"{layer}: hx must hold Tensors, got {[type(s).__name__ for s in states]}")
        want = 3 if batched else 2
        if any(s.ndim != want for s in states):
            dims = ", ".join(f"{s.ndim}-D" for s in states)
            kind = "batched 3-D" if batched else "unbatched 2-D"
            what = "hx and cx" if self.mode == "LSTM" else "hx"
            raise RuntimeError(f"{layer}: For {kind} input, {what} should also be {want}-D but got ({dims}) tensor(s)")
        return states if batched else tuple(s.unsqueeze(1) for s in states)

    def forward(self, input: Tensor | PackedSequence, hx: Any = None) -> tuple[Any, Any]:
        """(output, h_n) for RNN/GRU and (output, (h_n, c_n)) for the LSTM. ``input`` is (T, B, I)
        ((B, T, I) with batch_first), (T, I) unbatched, or a PackedSequence (then output is one too);
        h_n, c_n: (L·D, B, H_out), (L·D, B, H), and h0/c0 in ``hx`` default to zeros."""
        layer = type(self).__name__
        packed, lengths = isinstance(input, PackedSequence), None
        if packed:
            data = input.data
            if data.ndim != 2:
                raise RuntimeError(f"{layer}: packed input data must have 2 dimensions, got {data.ndim}")
            batched = True
        else:
            if not isinstance(input, Tensor):
                raise TypeError(f"{layer}: input must be a Tensor or a PackedSequence, got {type(input).__name__}")
            if input.ndim not in (2, 3):
                raise ValueError(f"{layer}: Expected input to be 2D or 3D, got {input.ndim}D instead")
            data, batched = input, input.ndim == 3
        _check_dtype(layer, data, self.weight_ih_l0)
        if data.shape[-1] != self.input_size:
            raise RuntimeError(
                f"{layer}: input.size(-1) must be equal to input_size. Expected {self.input_size}, got {data.shape[-1]}"
            )
        states = self._given_states(hx, batched)
        if states is not None:
            if packed:
                batch = int(input.batch_sizes.tolist()[0])
            else:
                batch = data.shape[0 if self.batch_first else 1] if batched else 1
            self._check_states(states, batch)
        if packed:
            x, lengths = packed_to_time_major(input)
            if states is not None and input.sorted_indices is not None:  # hx is in the batch's own order
                states = tuple(s.index_select(1, input.sorted_indices) for s in states)
        elif not batched:
            x = input.unsqueeze(1)
        else:
            x = input.transpose(0, 1) if self.batch_first else input
        if states is None:
            states = tuple(
                creation.zeros(self.num_layers * self.num_directions, x.shape[1], size, dtype=x.dtype, device=x.device)
                for size in self._state_sizes()
            )
        output, finals = self._run_layers(x, states, lengths)
        if packed:
            output = PackedSequence(
                time_major_to_packed_data(output, input.batch_sizes),
                input.batch_sizes,
                input.sorted_indices,
                input.unsorted_indices,
            )
            if input.unsorted_indices is not None:
                finals = [s.index_select(1, input.unsorted_indices) for s in finals]
        elif not batched:
            output, finals = output.squeeze(1), [s.squeeze(1) for s in finals]
        elif self.batch_first:
            output = output.transpose(0, 1)
        return (output, tuple(finals)) if self.mode == "LSTM" else (output, finals[0])

    def _run_layers(
        self, x: Tensor, states: tuple[Tensor, ...], lengths: np.ndarray | None
    ) -> tuple[Tensor, list[Tensor]]:
        """Run the layers on time-major x (T, B, I): the last layer's output (T, B, D·H_out) and the final
        states (L·D, B, size) each. The final state is the trajectory's last step forward and its first
        step in reverse (the op carries a state unchanged through a sequence's padded steps); the output
        at padded steps is never read (repacking picks the running steps only)."""
        out_size = self.proj_size or self.hidden_size
        steps = x.shape[0]
        finals: list[list[Tensor]] = [[] for _ in states]
        for k in range(self.num_layers):
            outputs = []
            for direction in range(self.num_directions):
                index = k * self.num_directions + direction
                trajectory = self._layer(x, [s[index] for s in states], k, direction, lengths)
                last = trajectory[0 if direction else steps - 1]
                if self.mode == "LSTM":
                    outputs.append(trajectory[:, :, :out_size])
                    finals[0].append(last[:, :out_size])
                    finals[1].append(last[:, out_size:])
                else:
                    outputs.append(trajectory)
                    finals[0].append(last)
            x = ops.cat(outputs, 2) if len(outputs) > 1 else outputs[0]
            if self.training and self.dropout > 0 and k < self.num_layers - 1:
                x = F.dropout(x, self.dropout, True)
        return x, [ops.stack(f, 0) for f in finals]

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if self.batch_first:
            s += f", batch_first={self.batch_first}"
        if self.dropout:
            s += f", dropout={self.dropout}"
        if self.bidirectional:
            s += f", bidirectional={self.bidirectional}"
        return s


class RNN(RNNBase):
    """Elman RNN, h_t = tanh or relu(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh), stacked and optionally
    bidirectional; forward(input, h_0=None) -> (output, h_n)."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        nonlinearity: str = "tanh",
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNN: Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'.")
        self.nonlinearity = nonlinearity
        mode = "RNN_TANH" if nonlinearity == "tanh" else "RNN_RELU"
        super().__init__(
            mode, input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, 0, device, dtype
        )


class LSTM(RNNBase):
    """Long short-term memory, gates i, f, g, o; with proj_size > 0 the hidden state is projected,
    h_t = W_hr (o ⊙ tanh c_t). forward(input, (h_0, c_0)=None) -> (output, (h_n, c_n))."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(
            "LSTM",
            input_size,
            hidden_size,
            num_layers,
            bias,
            batch_first,
            dropout,
            bidirectional,
            proj_size,
            device,
            dtype,
        )


class GRU(RNNBase):
    """Gated recurrent unit, gates r, z, n (PyTorch's form: r multiplies W_hn h + b_hn);
    forward(input, h_0=None) -> (output, h_n)."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        super().__init__(
            "GRU", input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, 0, device, dtype
        )


class RNNCellBase(Module):
    """One step of a recurrent layer: weight_ih (G·H, I), weight_hh (G·H, H), bias_ih, bias_hh (G·H,),
    all ~ U(−1/√H, 1/√H). The step runs as the layer op over a sequence of length 1."""

    def __init__(
        self, input_size: int, hidden_size: int, bias: bool, num_chunks: int, device: Any = None, dtype: Any = None
    ) -> None:
        super().__init__()
        layer = type(self).__name__
        _check_size(layer, "input_size", input_size)
        _check_size(layer, "hidden_size", hidden_size)
        _check_flag(layer, "bias", bias)
        self.input_size, self.hidden_size, self.bias = input_size, hidden_size, bias
        gates = num_chunks * hidden_size
        self.weight_ih = Parameter(creation.empty(gates, input_size, device=device, dtype=dtype))
        self.weight_hh = Parameter(creation.empty(gates, hidden_size, device=device, dtype=dtype))
        if bias:
            self.bias_ih = Parameter(creation.empty(gates, device=device, dtype=dtype))
            self.bias_hh = Parameter(creation.empty(gates, device=device, dtype=dtype))
        else:
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        _uniform_init(self, self.hidden_size)

    def _prepare(self, input: Tensor, states: tuple[Tensor, ...] | None, count: int) -> tuple[Tensor, list[Tensor]]:
        """Checks as PyTorch's cells do; returns (input (1, B, I), states each (B, H)), zeros by default."""
        layer = type(self).__name__
        if not isinstance(input, Tensor):
            raise TypeError(f"{layer}: input must be a Tensor, got {type(input).__name__}")
        if input.ndim not in (1, 2):
            raise ValueError(f"{layer}: Expected input to be 1D or 2D, got {input.ndim}D instead")
        if states is not None:
            if not all(isinstance(s, Tensor) for s in states) or len(states) != count:
                expected = f"a tuple of {count} Tensors" if count > 1 else "a Tensor"
                raise TypeError(f"{layer}: hx must be {expected}, got {[type(s).__name__ for s in states]}")
            for i, s in enumerate(states):
                if s.ndim not in (1, 2):
                    which = f"hx[{i}]" if count > 1 else "hidden"
                    raise ValueError(f"{layer}: Expected {which} to be 1D or 2D, got {s.ndim}D instead")
        _check_dtype(layer, input, self.weight_ih)
        batched = input.ndim == 2
        x = input if batched else input.unsqueeze(0)
        if x.shape[1] != self.input_size:
            raise RuntimeError(
                f"{layer}: input has inconsistent input_size: got {x.shape[1]} expected {self.input_size}"
            )
        if states is None:
            zeros = creation.zeros(x.shape[0], self.hidden_size, dtype=x.dtype, device=x.device)
            return x.unsqueeze(0), [zeros] * count
        states = [s if batched else s.unsqueeze(0) for s in states]
        for i, s in enumerate(states):
            if s.shape[0] != x.shape[0]:
                raise RuntimeError(
                    f"{layer}: Input batch size {x.shape[0]} doesn't match hidden{i} batch size {s.shape[0]}"
                )
            if s.shape[1] != self.hidden_size:
                raise RuntimeError(
                    f"{layer}: hidden{i} has inconsistent hidden_size: got {s.shape[1]}, expected {self.hidden_size}"
                )
        return x.unsqueeze(0), states

    def _weights(self) -> tuple[Any, ...]:
        return self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.bias is not True:
            s += f", bias={self.bias}"
        if getattr(self, "nonlinearity", "tanh") != "tanh":
            s += f", nonlinearity={self.nonlinearity}"
        return s


class RNNCell(RNNCellBase):
    """h' = tanh or relu(W_ih x + b_ih + W_hh h + b_hh); input (B, I) or (I,), h (B, H) or (H,)."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        nonlinearity: str = "tanh",
        device: Any = None,
        dtype: Any = None,
    ) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNNCell: Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'.")
        super().__init__(input_size, hidden_size, bias, 1, device, dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        x, (h,) = self._prepare(input, None if hx is None else (hx,), 1)
        out = rnn_layer(x, h, *self._weights(), nonlinearity=self.nonlinearity)[0]
        return out if input.ndim == 2 else out.squeeze(0)


class GRUCell(RNNCellBase):
    """One GRU step (gates r, z, n); input (B, I) or (I,), h (B, H) or (H,)."""

    def __init__(
        self, input_size: int, hidden_size: int, bias: bool = True, device: Any = None, dtype: Any = None
    ) -> None:
        super().__init__(input_size, hidden_size, bias, 3, device, dtype)

    def forward(self, input: Tensor, hx: Tensor | None = None) -> Tensor:
        x, (h,) = self._prepare(input, None if hx is None else (hx,), 1)
        out = gru_layer(x, h, *self._weights())[0]
        return out if input.ndim == 2 else out.squeeze(0)


class LSTMCell(RNNCellBase):
    """One LSTM step (gates i, f, g, o): (h', c'); input (B, I) or (I,), hx = (h, c) each (B, H) or (H,)."""

    def __init__(
        self, input_size: int, hidden_size: int, bias: bool = True, device: Any = None, dtype: Any = None
    ) -> None:
        super().__init__(input_size, hidden_size, bias, 4, device, dtype)

    def forward(self, input: Tensor, hx: tuple[Tensor, Tensor] | None = None) -> tuple[Tensor, Tensor]:
        if hx is not None and (not isinstance(hx, tuple | list) or len(hx) != 2):
            raise TypeError(f"LSTMCell: hx must be a tuple (h, c), got {type(hx).__name__}")
        x, (h, c) = self._prepare(input, None if hx is None else tuple(hx), 2)
        state = lstm_layer(x, h, c, *self._weights())[0]
        h, c = state[:, : self.hidden_size], state[:, self.hidden_size :]
        return (h, c) if input.ndim == 2 else (h.squeeze(0), c.squeeze(0))
