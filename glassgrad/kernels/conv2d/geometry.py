"""The shape arithmetic every conv2d variant shares.

For one spatial dim with input size H, kernel size k, stride s, padding p and
dilation d, the kernel spans d·(k − 1) + 1 pixels and slides over the padded
input (H + 2p pixels) in steps of s, so the output has

    H_out = ⌊(H + 2p − d·(k − 1) − 1) / s⌋ + 1

positions. Output pixel (oh, ow) reads input pixel (oh·s − p + i·d, ...) for
kernel tap i.
"""

from __future__ import annotations

from dataclasses import dataclass


def output_size(size: int, kernel: int, stride: int, padding: int, dilation: int) -> int:
    """Output positions along one dim (the formula above)."""
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


@dataclass(frozen=True)
class ConvGeometry:
    """Everything about one conv2d but the numbers: NCHW input, (O, C/groups, kh, kw) weight."""

    batch: int
    in_channels: int
    height: int
    width: int
    out_channels: int
    kernel: tuple[int, int]
    stride: tuple[int, int]
    padding: tuple[int, int]
    dilation: tuple[int, int]
    groups: int

    @classmethod
    def of(
        cls,
        input_size: tuple[int, ...],
        weight_size: tuple[int, ...],
        stride: tuple[int, int],
        padding: tuple[int, int],
        dilation: tuple[int, int],
        groups: int,
    ) -> ConvGeometry:
        """Build and check the geometry; ValueError names the shapes that do not fit."""
        if len(input_size) != 4 or len(weight_size) != 4:
            raise RuntimeError(
                f"conv2d: expected a 4-D input and weight, got {tuple(input_size)} and {tuple(weight_size)}"
            )
        n, c, h, w = (int(v) for v in input_size)
        o, cg, kh, kw = (int(v) for v in weight_size)
        if groups < 1 or c % groups or o % groups:
            raise RuntimeError(f"conv2d: groups={groups} must divide in_channels ({c}) and out_channels ({o})")
        if cg * groups != c:
            raise RuntimeError(
                f"conv2d: input {tuple(input_size)} has {c} channels but weight {tuple(weight_size)} "
                f"expects {cg} × groups ({groups}) = {cg * groups}"
            )
        if min(stride) < 1 or min(dilation) < 1 or min(padding) < 0:
            raise RuntimeError(f"conv2d: stride {stride} and dilation {dilation} must be ≥ 1, padding {padding} ≥ 0")
        geometry = cls(n, c, h, w, o, (kh, kw), tuple(stride), tuple(padding), tuple(dilation), groups)
        if min(geometry.out_height, geometry.out_width) < 1:
            span = tuple(d * (k - 1) + 1 for d, k in zip(dilation, (kh, kw), strict=True))
            padded = (h + 2 * padding[0], w + 2 * padding[1])
            raise RuntimeError(
                f"conv2d: kernel of size {(kh, kw)} (dilated span {span}) is larger than the padded input "
                f"{padded} (input {tuple(input_size)}, padding {tuple(padding)})"
            )
        return geometry

    @property
    def out_height(self) -> int:
        return output_size(self.height, self.kernel[0], self.stride[0], self.padding[0], self.dilation[0])

    @property
    def out_width(self) -> int:
        return output_size(self.width, self.kernel[1], self.stride[1], self.padding[1], self.dilation[1])

    @property
    def input_shape(self) -> tuple[int, int, int, int]:
        return (self.batch, self.in_channels, self.height, self.width)

    @property
    def output_shape(self) -> tuple[int, int, int, int]:
        return (self.batch, self.out_channels, self.out_height, self.out_width)

    @property
    def weight_shape(self) -> tuple[int, int, int, int]:
        return (self.out_channels, self.in_channels // self.groups, *self.kernel)

    @property
    def column_rows(self) -> int:
        """Rows of one group's im2col matrix: (C/groups)·kh·kw, the GEMM's inner dim."""
        return self.in_channels // self.groups * self.kernel[0] * self.kernel[1]

    @property
    def positions(self) -> int:
        """Columns of the im2col matrix: H_out·W_out output positions."""
        return self.out_height * self.out_width

    def flops(self) -> int:
        """2·N·O·H_out·W_out·(C/groups)·kh·kw: a multiply and an add per weight tap per output."""
        return 2 * self.batch * self.out_channels * self.positions * self.column_rows
