"""Which ops autocast runs in which precision: THE one table, per device type.

The policy is PyTorch's (``aten/src/ATen/autocast_mode.cpp``); an op outside every list runs in the
dtypes it is given, under the op's own promotion rules. Inside an enabled ``autocast(device_type,
dtype)`` region, an op named here first casts its floating tensor arguments of that device (never a
float64 one, never an integer one):

* ``LOWER_PRECISION``: to the region's low dtype (bfloat16 or float16). These are the ops whose cost is
  a matrix product (GEMMs, convolutions, attention), where the low dtype halves the bytes moved and
  the kernels still accumulate in float32; the output is in the low dtype.
* ``FLOAT32``: to float32. Ops whose result loses too much in the low dtype: losses, products,
  traces and F.pad's reflect/replicate modes on cpu; on cuda also softmax, layer and group norms,
  sums, cumulative sums and products, logsumexp, softplus.
* ``PROMOTE``: to the widest floating dtype among the arguments (float32 if any is float32, else the
  low dtype; float64 arguments are left as they are). Ops that need one dtype across their inputs
  (``cat``, ``stack``); mixing float16 and bfloat16 here is an error, as in PyTorch.

The cpu lists were read off ``torch.autocast("cpu", torch.bfloat16)`` (torch 2.13) op by op: each op
below and a set of ops on no list run there and here on float32, bfloat16, float16 and float64 inputs
and on a bfloat16/float32 mix, and the output dtypes (or the error) must agree
(``tests/amp/test_autocast_op_lists.py``). PyTorch reaches some of them by decomposition rather than by
a list entry: ``einsum`` runs its ``bmm``, and ``pad_reflect``/``pad_replicate`` are F.pad's "reflect"
and "replicate" modes (PyTorch's reflection_pad/replication_pad kernels; "circular" keeps the input's
dtype). The cuda lists are transcribed from PyTorch's cuda lists for the ops glassgrad has (torch here
is a cpu build, so they are not probed); not yet wired on cuda: the pointwise float32 ops (exp, log,
pow, ...), interpolate, cosine_similarity, index_put and atan2. Norms on either device also take a
low-precision input with float32 parameters (``normalization.norm_dtypes``), as PyTorch's do.
"""

from __future__ import annotations

LOWER_PRECISION = "lower_precision"
FLOAT32 = "float32"
PROMOTE = "promote"

_GEMMS = ("matmul", "mm", "bmm", "einsum", "linear", "conv1d", "conv2d", "conv_transpose2d")
_ATTENTION = ("scaled_dot_product_attention", "prelu")
_LOSSES = (
    "binary_cross_entropy",
    "binary_cross_entropy_with_logits",
    "cross_entropy",
    "huber_loss",
    "kl_div",
    "l1_loss",
    "mse_loss",
    "nll_loss",
    "smooth_l1_loss",
)

OP_LISTS: dict[str, dict[str, frozenset[str]]] = {
    "cpu": {
        LOWER_PRECISION: frozenset(_GEMMS + _ATTENTION),
        FLOAT32: frozenset(_LOSSES + ("prod", "trace", "pad_reflect", "pad_replicate")),
        PROMOTE: frozenset(("cat", "stack", "index_copy")),
    },
    "cuda": {
        LOWER_PRECISION: frozenset(_GEMMS + _ATTENTION),
        FLOAT32: frozenset(
            tuple(name for name in _LOSSES if name != "binary_cross_entropy")  # cuda autocast refuses plain BCE
            + ("softmax", "log_softmax", "layer_norm", "group_norm", "norm", "cumsum", "cumprod", "prod", "sum")
            + ("logsumexp", "softplus")
        ),
        PROMOTE: frozenset(("cat", "stack", "dot", "scatter_add")),
    },
}

POLICIES = (LOWER_PRECISION, FLOAT32, PROMOTE)


def policy(device_type: str, op: str) -> str | None:
    """The list ``op`` is on under autocast on ``device_type`` (None: it runs in its inputs' dtypes)."""
    lists = OP_LISTS[device_type]
    for name in POLICIES:
        if op in lists[name]:
            return name
    return None
