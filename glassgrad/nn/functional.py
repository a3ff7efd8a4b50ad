"""``glassgrad.nn.functional`` (``F``): the functional forms of activations,
softmax, losses, convolution, pooling and attention, with PyTorch's names and
argument order. Each is an engine op (or a short composition of them)."""

from __future__ import annotations

from ..engine.ops import (
    elu,
    gelu,
    leaky_relu,
    log_softmax,
    one_hot,
    pad,
    relu,
    sigmoid,
    silu,
    softmax,
    softplus,
    tanh,
)

__all__ = [
    "elu",
    "gelu",
    "leaky_relu",
    "log_softmax",
    "one_hot",
    "pad",
    "relu",
    "sigmoid",
    "silu",
    "softmax",
    "softplus",
    "tanh",
]
