"""``glassgrad.nn.functional`` (``F``): the functional forms of activations,
softmax, losses, convolution, pooling and attention, with PyTorch's names and
argument order. Each is an engine op (or a short composition of them)."""

from __future__ import annotations

from ..amp.autocast_mode import autocast_args, autocast_state
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
from ..engine.ops.activations import (
    celu,
    glu,
    hardshrink,
    hardsigmoid,
    hardswish,
    hardtanh,
    logsigmoid,
    mish,
    normalize,
    prelu,
    relu6,
    selu,
    softmin,
    softshrink,
    softsign,
    tanhshrink,
    threshold,
)
from ..engine.ops.attention import scaled_dot_product_attention
from ..engine.ops.conv import conv1d, conv2d, conv_transpose2d
from ..engine.ops.dropout import dropout
from ..engine.ops.embedding import embedding
from ..engine.ops.fold import fold, unfold
from ..engine.ops.interpolate import (
    interpolate,
    pixel_shuffle,
    pixel_unshuffle,
    upsample,
    upsample_bilinear,
    upsample_nearest,
)
from ..engine.ops.linalg import Linear, matmul
from ..engine.ops.losses import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    huber_loss,
    kl_div,
    l1_loss,
    mse_loss,
    nll_loss,
    smooth_l1_loss,
)
from ..engine.ops.normalization import batch_norm, group_norm, layer_norm, rms_norm, same_dtype
from ..engine.ops.pooling import adaptive_avg_pool2d, avg_pool1d, avg_pool2d, max_pool1d, max_pool2d
from ..engine.tensor import Tensor


def check_linear(op: str, input: Tensor, weight: Tensor, bias: Tensor | None) -> None:
    """PyTorch's checks of linear, raising RuntimeError that names ``op`` (``linear``, or ``Linear``
    from the module): tensors of one dtype (no promotion), a 1-D or 2-D weight whose last dim is
    the input's, a bias that broadcasts over the output."""
    same_dtype(op, input=input, weight=weight, bias=bias)
    if input.ndim == 0 or weight.ndim == 0:
        raise RuntimeError(
            f"{op}: both arguments need to be at least 1-D, but they are {input.ndim}-D and {weight.ndim}-D"
        )
    if weight.ndim > 2 or input.shape[-1] != weight.shape[-1]:
        raise RuntimeError(
            f"{op}: input of shape {input.shape} and weight of shape {weight.shape} don't match "
            "(weight must be (out_features, in_features) with in_features = input.shape[-1])"
        )
    out_shape = (*input.shape[:-1], *weight.shape[:-1])
    trailing = () if bias is None else zip(reversed(bias.shape), reversed(out_shape), strict=False)
    if bias is not None and (bias.ndim > len(out_shape) or any(b not in (1, o) for b, o in trailing)):
        raise RuntimeError(f"{op}: bias of shape {bias.shape} does not broadcast to the output shape {out_shape}")


def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """y = x Wᵀ + b with W of shape (out_features, in_features) (or (in_features,): y = x·w):
    one ``Linear`` op (engine/ops/linalg.py: dL/dx = g W, dL/dW = gᵀ x, dL/db = Σ g) for a 2-D
    weight and a bias of shape (out_features,) or none; matmul and add otherwise."""
    if autocast_state.enabled:
        input, weight, bias = autocast_args("linear", input, weight, bias)
    check_linear("linear", input, weight, bias)
    if weight.ndim == 2 and (bias is None or bias.shape == weight.shape[:1]):
        return Linear.apply(input, weight, bias)
    out = matmul(input, weight if weight.ndim == 1 else weight.mT)
    return out if bias is None else out + bias


__all__ = [
    "celu",
    "glu",
    "hardsigmoid",
    "hardswish",
    "hardtanh",
    "logsigmoid",
    "mish",
    "normalize",
    "relu6",
    "selu",
    "softmin",
    "softsign",
    "interpolate",
    "pixel_shuffle",
    "pixel_unshuffle",
    "upsample",
    "upsample_bilinear",
    "upsample_nearest",
    "hardshrink",
    "prelu",
    "softshrink",
    "tanhshrink",
    "threshold",
    "scaled_dot_product_attention",
    "adaptive_avg_pool2d",
    "avg_pool1d",
    "avg_pool2d",
    "max_pool1d",
    "max_pool2d",
    "batch_norm",
    "conv1d",
    "conv2d",
    "conv_transpose2d",
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "dropout",
    "embedding",
    "fold",
    "unfold",
    "group_norm",
    "huber_loss",
    "kl_div",
    "l1_loss",
    "layer_norm",
    "rms_norm",
    "linear",
    "mse_loss",
    "nll_loss",
    "smooth_l1_loss",
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
