"""Every op of the engine, one family per module; each op is a Function whose
forward and backward sit side by side with their math in the docstring."""

from .activations import celu, elu, gelu, hardshrink, leaky_relu, prelu, relu, selu, silu, softplus, threshold
from .arithmetic import add, cast, clone, contiguous, div, floor_divide, fmod, mul, neg, pow, remainder, sub, to_device
from .binary_math import arctan2, atan2, copysign, hypot, logaddexp, logaddexp2
from .bitwise import bitwise_and, bitwise_left_shift, bitwise_not, bitwise_or, bitwise_right_shift, bitwise_xor
from .compare import (
    allclose,
    eq,
    equal,
    ge,
    gt,
    isclose,
    isfinite,
    isinf,
    isnan,
    isneginf,
    isposinf,
    le,
    logical_and,
    logical_not,
    logical_or,
    logical_xor,
    lt,
    ne,
)
from .conv import conv1d, conv2d, conv_transpose2d
from .cumulative import cummax, cummin, cumprod, cumsum, logcumsumexp
from .einsum import einsum
from .error_function import erf, erfc, erfinv
from .indexing import gather, getitem, index_arrays, index_put, setitem_array, split_index, take_along_dim
from .interpolate import pixel_shuffle, pixel_unshuffle
from .linalg import bmm, dot, matmul, mm, outer
from .pooling import adaptive_avg_pool2d, avg_pool1d, avg_pool2d, max_pool1d, max_pool2d
from .recurrent import gru_layer, lstm_layer, rnn_layer
from .reductions import (
    all,
    amax,
    amin,
    any,
    argmax,
    argmin,
    logsumexp,
    max,
    mean,
    min,
    norm,
    prod,
    std,
    std_mean,
    sum,
    var,
    var_mean,
)
from .rounding import ceil, fix, floor, frac, round, trunc
from .scatter import (
    index_add,
    index_copy,
    index_fill,
    index_select,
    masked_scatter,
    masked_select,
    nonzero,
    scatter,
    scatter_add,
    scatter_reduce,
)
from .select import clamp, clip, masked_fill, maximum, minimum, nan_to_num, where
from .shape import (
    broadcast_tensors,
    broadcast_to,
    cat,
    chunk,
    concat,
    concatenate,
    expand,
    expand_as,
    flatten,
    flip,
    narrow,
    pad,
    permute,
    repeat,
    reshape,
    reshape_as,
    split,
    squeeze,
    stack,
    t,
    transpose,
    unflatten,
    unsqueeze,
    view,
    view_as,
)
from .softmax import log_softmax, one_hot, softmax
from .sorting import argsort, kthvalue, median, sort, topk
from .structure import diag, diag_embed, diagonal, lerp, meshgrid, repeat_interleave, roll, rot90, trace, tril, triu
from .unary import (
    abs,
    acos,
    acosh,
    arccos,
    arccosh,
    arcsin,
    arcsinh,
    arctan,
    arctanh,
    asin,
    asinh,
    atan,
    atanh,
    cos,
    cosh,
    exp,
    exp2,
    expm1,
    log,
    log1p,
    log2,
    log10,
    reciprocal,
    rsqrt,
    sigmoid,
    sign,
    sin,
    sinh,
    sqrt,
    square,
    tan,
    tanh,
)

subtract, multiply, divide, true_divide, negative = sub, mul, div, div, neg
