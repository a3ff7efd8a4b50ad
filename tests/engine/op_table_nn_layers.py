"""The nn layer entries (conv, norms, fold) of the op table (see op_table.py)."""

from __future__ import annotations

import torch.nn.functional as TF

import glassgrad.nn.functional as F

from op_case import OpCase


def _both(name: str, fn: str, shapes: tuple, **options: object) -> OpCase:
    """The F function ``fn`` with the same options in glassgrad and PyTorch."""
    ours, theirs = getattr(F, fn), getattr(TF, fn)
    return OpCase(name, lambda *a: ours(*a, **options), lambda *a: theirs(*a, **options), shapes)


# conv_transpose2d: input (N, C, H, W), weight (C, O/groups, kh, kw), bias (O,)
_CONV_T = (((2, 4, 4, 5), (4, 3, 3, 2), (6,)),)

OPS: list[OpCase] = [
    _both("unfold", "unfold", (((2, 3, 5, 6),), ((3, 4, 4),)), kernel_size=2),
    _both(
        "unfold_options",
        "unfold",
        (((2, 3, 6, 7),), ((1, 2, 5, 5),)),
        kernel_size=(2, 3),
        dilation=(1, 2),
        padding=(1, 0),
        stride=(2, 1),
    ),
    _both("fold", "fold", (((2, 12, 20),), ((8, 20),)), output_size=(5, 6), kernel_size=2),
    # blocks: ((5 + 2 − 1 − 1)//2 + 1) × ((6 − 2·2 − 1)//1 + 1) = 3 × 2 = 6, rows C·2·3
    _both(
        "fold_options",
        "fold",
        (((2, 12, 6),), ((6, 6),)),
        output_size=(5, 6),
        kernel_size=(2, 3),
        dilation=(1, 2),
        padding=(1, 0),
        stride=(2, 1),
    ),
    _both("linear", "linear", (((3, 4), (5, 4), (5,)), ((2, 3, 4), (5, 4), (5,)), ((4,), (5, 4)))),
    _both(
        "conv2d", "conv2d", (((2, 4, 6, 5), (6, 2, 3, 2), (6,)),), stride=(2, 1), padding=1, dilation=(1, 2), groups=2
    ),
    _both("conv2d_same", "conv2d", (((1, 3, 5, 6), (2, 3, 2, 3)), ((3, 5, 6), (2, 3, 2, 3))), padding="same"),
    _both("conv1d", "conv1d", (((2, 4, 9), (6, 4, 3), (6,)),), stride=2, padding=1),
    OpCase(
        "layer_norm",
        lambda x, w, b: F.layer_norm(x, (4,), w, b),
        lambda x, w, b: TF.layer_norm(x, (4,), w, b),
        (((3, 4), (4,), (4,)), ((2, 3, 4), (4,), (4,))),
    ),
    _both("layer_norm_2d", "layer_norm", (((2, 3, 4),),), normalized_shape=(3, 4), eps=0.1),
    OpCase(
        "group_norm",
        lambda x, w, b: F.group_norm(x, 3, w, b),
        lambda x, w, b: TF.group_norm(x, 3, w, b),
        (((2, 6, 3), (6,), (6,)), ((2, 6, 2, 2), (6,), (6,))),
    ),
    OpCase(
        "batch_norm_training",
        lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True),
        lambda x, w, b: TF.batch_norm(x, None, None, w, b, training=True),
        (((4, 3), (3,), (3,)), ((4, 3, 2), (3,), (3,))),
    ),
    OpCase(
        "rms_norm",
        lambda x, w: F.rms_norm(x, (4,), w),
        lambda x, w: TF.rms_norm(x, (4,), w),
        (((3, 4), (4,)), ((2, 3, 4), (4,)), ((1, 4), (4,))),
    ),
    OpCase(
        "rms_norm_2d_eps",
        lambda x, w: F.rms_norm(x, (3, 4), w, eps=0.1),
        lambda x, w: TF.rms_norm(x, (3, 4), w, eps=0.1),
        (((2, 3, 4), (3, 4)),),
    ),
    _both("rms_norm_no_weight", "rms_norm", (((5, 6),), ((2, 1, 6),)), normalized_shape=(6,)),
    _both("conv_transpose2d", "conv_transpose2d", (((2, 4, 4, 5), (4, 3, 3, 2), (3,)), ((4, 4, 5), (4, 2, 2, 2)))),
    _both(
        "conv_transpose2d_options",
        "conv_transpose2d",
        _CONV_T,
        stride=(2, 3),
        padding=(1, 0),
        output_padding=(1, 2),
        groups=2,
        dilation=(1, 2),
    ),
    # output_padding ≥ stride (allowed below the dilation): the cropped-window path
    _both(
        "conv_transpose2d_output_padding_over_stride",
        "conv_transpose2d",
        _CONV_T,
        stride=1,
        padding=(0, 1),
        output_padding=(1, 2),
        groups=2,
        dilation=(2, 3),
    ),
]
