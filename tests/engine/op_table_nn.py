"""The nn.functional entries (activations, pad, interpolate) of the op table (see op_table.py)."""

from __future__ import annotations

import torch.nn.functional as TF

import glassgrad.nn.functional as F

from op_case import OpCase

ACT_SHAPES = (((3, 4),), ((1,),), ((2, 0, 3),), ((2, 1, 3),))
WIDE = (-4.0, 4.0)  # reaches the flat parts of hardtanh, relu6 (x < 0), hardsigmoid and hardswish (|x| > 3)


def _act(name: str, ours, theirs, domain: tuple[float, float] | None = WIDE) -> OpCase:
    return OpCase(name, ours, theirs, ACT_SHAPES, domain=domain)


OPS: list[OpCase] = [
    # activations
    _act("celu", F.celu, TF.celu),
    _act("celu_alpha", lambda a: F.celu(a, 0.5), lambda a: TF.celu(a, 0.5)),
    _act("selu", F.selu, TF.selu),
    _act("elu_alpha", lambda a: F.elu(a, 1.7), lambda a: TF.elu(a, 1.7)),
    _act("relu6", F.relu6, TF.relu6, domain=(-3.0, 9.0)),
    _act("hardtanh", F.hardtanh, TF.hardtanh),
    _act("hardtanh_range", lambda a: F.hardtanh(a, -0.5, 2.0), lambda a: TF.hardtanh(a, -0.5, 2.0)),
    _act("hardsigmoid", F.hardsigmoid, TF.hardsigmoid),
    _act("hardswish", F.hardswish, TF.hardswish),
    _act("mish", F.mish, TF.mish, domain=(-6.0, 6.0)),
    _act("softsign", F.softsign, TF.softsign),
    _act("logsigmoid", F.logsigmoid, TF.logsigmoid, domain=(-8.0, 8.0)),
    _act("threshold", lambda a: F.threshold(a, 0.3, -2.0), lambda a: TF.threshold(a, 0.3, -2.0)),
    _act("hardshrink", F.hardshrink, TF.hardshrink, domain=(-2.0, 2.0)),
    _act("softshrink", lambda a: F.softshrink(a, 0.7), lambda a: TF.softshrink(a, 0.7), domain=(-2.0, 2.0)),
    _act("tanhshrink", F.tanhshrink, TF.tanhshrink),
    OpCase(
        "prelu_channels",
        lambda a, w: F.prelu(a, w.reshape(-1)),
        lambda a, w: TF.prelu(a, w.reshape(-1)),
        (((2, 3, 4), (3,)), ((2, 3, 2, 2), (3,)), ((4, 2), (2,))),
    ),
    OpCase("prelu_shared", F.prelu, TF.prelu, (((2, 3, 4), (1,)), ((5,), (1,)))),
    OpCase("softmin", lambda a: F.softmin(a, -1), lambda a: TF.softmin(a, -1), (((3, 4),), ((2, 3, 4),), ((1, 5),))),
    OpCase("softmin_dim0", lambda a: F.softmin(a, 0), lambda a: TF.softmin(a, 0), (((3, 4),), ((2, 3, 4),))),
    OpCase("glu", F.glu, TF.glu, (((3, 4),), ((2, 3, 6),), ((0, 2),))),
    OpCase("glu_dim0", lambda a: F.glu(a, 0), lambda a: TF.glu(a, 0), (((4, 3),), ((2, 5),))),
    OpCase("normalize", F.normalize, TF.normalize, (((3, 4),), ((2, 3, 4),), ((2, 1),))),
    OpCase(
        "normalize_p1_dim",
        lambda a: F.normalize(a, p=1, dim=-1),
        lambda a: TF.normalize(a, p=1, dim=-1),
        (((3, 4),), ((2, 3, 4),)),
    ),
    OpCase(
        "normalize_p3_dims",
        lambda a: F.normalize(a, p=3, dim=(0, 2)),
        lambda a: TF.normalize(a, p=3, dim=(0, 2)),
        (((2, 3, 4),),),
    ),
    # F.pad's copying modes: 1-d, 2-d and 3-d padding, batched and unbatched, negative widths crop
    *[
        OpCase(
            f"pad_{mode}_{i}",
            lambda a, m=mode, p=p: F.pad(a, p, mode=m),
            lambda a, m=mode, p=p: TF.pad(a, p, mode=m),
            shapes,
        )
        for mode in ("reflect", "replicate", "circular")
        for i, (p, shapes) in enumerate(
            [
                ((2, 3), (((2, 3, 5),), ((3, 4),))),
                ((1, -1), (((2, 3, 5),),)),
                ((4, 0), (((1, 2, 5),),)),
                ((1, 2, 2, 1), (((2, 3, 4, 5),), ((3, 4, 5),))),
                ((0, 3, -1, 2), (((1, 2, 4, 5),),)),
                ((1, 1, 2, 0, 1, 2), (((1, 2, 3, 4, 5),), ((2, 3, 4, 3),))),
            ]
        )
    ],
    OpCase(
        "pad_replicate_wide",
        lambda a: F.pad(a, (6, 7), mode="replicate"),
        lambda a: TF.pad(a, (6, 7), mode="replicate"),
        (((2, 2, 3),),),
    ),
    OpCase(
        "pad_circular_full",
        lambda a: F.pad(a, (5, 5, 0, 3), mode="circular"),
        lambda a: TF.pad(a, (5, 5, 0, 3), mode="circular"),
        (((1, 2, 3, 5),),),
    ),
    OpCase(
        "pad_constant_value",
        lambda a: F.pad(a, (1, 1, 2, 0), "constant", -1.5),
        lambda a: TF.pad(a, (1, 1, 2, 0), "constant", -1.5),
        (((2, 3, 4),),),
    ),
    # F.interpolate: every mode, size given and scale_factor given, align_corners both ways
    *[
        OpCase(
            f"interpolate_{name}",
            lambda a, kw=kw: F.interpolate(a, **kw),
            lambda a, kw=kw: TF.interpolate(a, **kw),
            shapes,
        )
        for name, kw, shapes in [
            ("nearest_size", {"size": 7}, (((2, 3, 5),),)),
            ("nearest_scale", {"scale_factor": 2.5}, (((2, 3, 4),),)),
            ("nearest_down", {"size": 3}, (((1, 2, 7),),)),
            ("nearest_exact", {"size": 7, "mode": "nearest-exact"}, (((2, 3, 5),),)),
            ("nearest_exact_scale", {"scale_factor": 1.7, "mode": "nearest-exact"}, (((2, 2, 6),),)),
            ("linear", {"size": 8, "mode": "linear"}, (((2, 3, 5),), ((1, 1, 1),))),
            ("linear_ac", {"size": 8, "mode": "linear", "align_corners": True}, (((2, 3, 5),),)),
            ("linear_down", {"scale_factor": 0.6, "mode": "linear"}, (((2, 3, 9),),)),
            ("nearest2d", {"size": (3, 7)}, (((2, 3, 4, 5),),)),
            ("nearest2d_x2", {"scale_factor": 2}, (((1, 2, 3, 4),),)),
            ("nearest_exact2d", {"scale_factor": (1.5, 0.7), "mode": "nearest-exact"}, (((1, 2, 4, 5),),)),
            ("bilinear", {"size": (5, 7), "mode": "bilinear"}, (((2, 3, 4, 5),),)),
            ("bilinear_ac", {"size": (5, 7), "mode": "bilinear", "align_corners": True}, (((2, 3, 4, 5),),)),
            ("bilinear_scale", {"scale_factor": (1.5, 0.5), "mode": "bilinear"}, (((1, 2, 4, 6),),)),
            ("bicubic", {"size": (7, 9), "mode": "bicubic"}, (((2, 2, 4, 5),),)),
            ("bicubic_ac", {"size": (7, 3), "mode": "bicubic", "align_corners": True}, (((1, 2, 4, 5),),)),
            ("bicubic_scale", {"scale_factor": 2, "mode": "bicubic"}, (((1, 2, 3, 3),),)),
            ("bicubic_down", {"size": (2, 3), "mode": "bicubic"}, (((1, 1, 5, 7),),)),
            ("trilinear", {"size": (3, 4, 5), "mode": "trilinear"}, (((1, 2, 2, 3, 4),),)),
            ("nearest3d", {"scale_factor": (2.0, 1.5, 0.5)}, (((1, 2, 2, 3, 4),),)),
            ("bilinear_aa", {"size": (3, 4), "mode": "bilinear", "antialias": True}, (((2, 2, 7, 9),),)),
            ("bilinear_aa_up", {"size": (6, 3), "mode": "bilinear", "antialias": True}, (((1, 2, 4, 8),),)),
            ("bicubic_aa", {"scale_factor": 0.4, "mode": "bicubic", "antialias": True}, (((1, 2, 8, 10),),)),
            (
                "bicubic_aa_ac",
                {"size": (3, 5), "mode": "bicubic", "antialias": True, "align_corners": True},
                (((1, 2, 7, 9),),),
            ),
            ("area", {"size": 3, "mode": "area"}, (((2, 3, 7),), ((1, 2, 2),))),
            ("area2d", {"size": (2, 5), "mode": "area"}, (((1, 2, 5, 7),),)),
            ("area_scale", {"scale_factor": 0.5, "mode": "area"}, (((1, 2, 5, 6),),)),
            ("area3d", {"size": (2, 3, 2), "mode": "area"}, (((1, 1, 3, 4, 5),),)),
        ]
    ],
    OpCase(
        "pixel_shuffle",
        lambda a: F.pixel_shuffle(a, 2),
        lambda a: TF.pixel_shuffle(a, 2),
        (((2, 8, 3, 3),), ((4, 2, 5),)),
    ),
    OpCase(
        "pixel_unshuffle",
        lambda a: F.pixel_unshuffle(a, 2),
        lambda a: TF.pixel_unshuffle(a, 2),
        (((1, 2, 4, 6),), ((2, 1, 2, 2, 4),)),
    ),
]
