"""Bad arguments raise the exception type PyTorch raises, with a message that names the op and
the offending value, before any state changes. Each case runs in PyTorch too."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import glassgrad as gg
import glassgrad.nn.functional as F


def _x(m):
    return m.ones(2, 3, 4)


def _int(m):
    return m.tensor([[1, 2], [3, 4]])


# (name, call(m) for m in {gg, torch} -- m.nn.functional via the F argument, regex for our message)
CASES = [
    # sizes: floats, strings, bools are TypeError; negative sizes RuntimeError
    ("ones float", lambda m, f: m.ones(2.5), r"ones: size must be a tuple of ints, got \(2.5,\)"),
    ("zeros str", lambda m, f: m.zeros("3"), r"zeros: size must be a tuple of ints, got \('3',\)"),
    ("zeros bool", lambda m, f: m.zeros(True), r"zeros: size must be a tuple of ints"),
    ("full float", lambda m, f: m.full((2.5,), 1.0), r"full: size must be a tuple of ints"),
    ("full int size", lambda m, f: m.full(2, 1.0), r"full: size must be a tuple of ints, got int 2"),
    ("ones list float", lambda m, f: m.ones([2, 3.0]), r"ones: size must be a tuple of ints"),
    ("new_zeros float", lambda m, f: m.ones(2).new_zeros(2.5), r"new_zeros: size must be a tuple of ints"),
    ("randn str", lambda m, f: m.randn(2, "3"), r"randn: size must be a tuple of ints"),
    ("rand float", lambda m, f: m.rand(2.0), r"rand: size must be a tuple of ints"),
    ("zeros -1", lambda m, f: m.zeros(-1), r"zeros: dimension sizes must be non-negative, got -1"),
    ("zeros 2,-3", lambda m, f: m.zeros(2, -3), r"zeros: .* got -3 in size \(2, -3\)"),
    ("empty -1", lambda m, f: m.empty(-1), r"empty: .*non-negative, got -1"),
    ("full -2", lambda m, f: m.full((-2,), 1.0), r"full: .*non-negative, got -2"),
    ("randn -1", lambda m, f: m.randn(-1), r"randn: .*non-negative, got -1"),
    ("new_zeros -1", lambda m, f: m.ones(2).new_zeros(-1), r"new_zeros: .*non-negative, got -1"),
    ("eye -1", lambda m, f: m.eye(-1), r"eye: .*got n=-1"),
    ("eye float", lambda m, f: m.eye(2.0), r"eye: argument 'n' must be int, not float"),
    ("randperm -1", lambda m, f: m.randperm(-1), r"randperm: n must be non-negative, got -1"),
    ("randint low>=high", lambda m, f: m.randint(5, 2, (3,)), r"randint: .*low=5 >= high=2"),
    ("randint equal", lambda m, f: m.randint(5, 5, (3,)), r"randint: .*low=5 >= high=5"),
    ("randint high<0", lambda m, f: m.randint(-1, (3,)), r"randint: .*low=0 >= high=-1"),
    ("randint -size", lambda m, f: m.randint(0, 5, (-1,)), r"randint: .*non-negative, got -1"),
    ("randint float", lambda m, f: m.randint(2.5, 5, (2,)), r"randint: argument 'low' must be int, not float"),
    ("arange wrong sign", lambda m, f: m.arange(0, 5, -1), r"arange: .*inconsistent with step sign.*step=-1"),
    ("arange wrong sign 2", lambda m, f: m.arange(5, 0, 1), r"arange: .*start=5, end=0, step=1"),
    ("arange float sign", lambda m, f: m.arange(0.0, 5, -0.5), r"arange: .*step=-0.5"),
    ("arange negative end", lambda m, f: m.arange(-3), r"arange: .*end=-3"),
    ("arange zero step", lambda m, f: m.arange(0, 5, 0), r"arange: step must be nonzero, got 0"),
    ("linspace -1", lambda m, f: m.linspace(0, 1, -1), r"linspace: number of steps must be non-negative, got -1"),
    ("linspace float", lambda m, f: m.linspace(0, 1, 2.0), r"linspace: argument 'steps' must be int, not float"),
    # shape arguments of shape ops
    ("reshape float", lambda m, f: _x(m).reshape(2.0, 12), r"reshape: size must be a tuple of ints, got \(2.0, 12\)"),
    ("view float", lambda m, f: _x(m).view(2.0, 12), r"view: size must be a tuple of ints"),
    ("view bool", lambda m, f: _x(m).view(True, 24), r"view: size must be a tuple of ints"),
    ("view two -1", lambda m, f: _x(m).view(-1, -1), r"view: only one dim can be -1"),
    ("reshape size", lambda m, f: _x(m).reshape(5, 5), r"reshape: shape \(5, 5\) is invalid for input of shape"),
    ("expand float", lambda m, f: _x(m).expand(2.0, 3, 4), r"expand: size must be a tuple of ints"),
    ("repeat float", lambda m, f: _x(m).repeat(2.0, 1, 1), r"repeat: size must be a tuple of ints"),
    ("permute float", lambda m, f: _x(m).permute(0, 1, 2.0), r"permute: size must be a tuple of ints"),
    ("flip float", lambda m, f: _x(m).flip(1.0), r"flip: size must be a tuple of ints"),
    ("split float", lambda m, f: _x(m).split(2.0), r"split: argument 'split_size' must be int, not float"),
    ("split sizes float", lambda m, f: _x(m).split([1, 2.0], 1), r"split: size must be a tuple of ints"),
    ("split -1", lambda m, f: _x(m).split(-1), r"split: split_size must be positive, got -1"),
    ("chunk float", lambda m, f: _x(m).chunk(2.0), r"chunk: argument 'chunks' must be int, not float \(2.0\)"),
    ("chunk 2.5", lambda m, f: _x(m).chunk(2.5), r"chunk: argument 'chunks' must be int, not float \(2.5\)"),
    ("chunk 0", lambda m, f: _x(m).chunk(0), r"chunk: chunks must be positive, got 0"),
    ("unflatten", lambda m, f: _x(m).unflatten(1, (2, 2)), r"unflatten: provided sizes \(2, 2\) don't multiply"),
    ("unflatten empty", lambda m, f: _x(m).unflatten(1, ()), r"unflatten: sizes must be non-empty"),
    ("t 3-d", lambda m, f: _x(m).t(), r"t: expects a tensor with <= 2 dims, got shape \(2, 3, 4\)"),
    # dims: floats, strings, bools TypeError; out of range IndexError; repeated RuntimeError
    ("sum float dim", lambda m, f: _x(m).sum(dim=1.5), r"sum: argument 'dim' must be int, not float \(1.5\)"),
    ("sum str dim", lambda m, f: _x(m).sum(dim="a"), r"sum: argument 'dim' must be int, not str"),
    ("sum 1.0", lambda m, f: _x(m).sum(1.0), r"sum: argument 'dim' must be int, not float"),
    ("sum bool dim", lambda m, f: _x(m).sum(True), r"sum: argument 'dim' must be int, not bool"),
    ("mean float dim", lambda m, f: _x(m).mean(1.5), r"mean: argument 'dim' must be int"),
    ("prod float dim", lambda m, f: _x(m).prod(1.5), r"prod: argument 'dim' must be int"),
    ("all float dim", lambda m, f: _x(m).all(1.0), r"all: argument 'dim' must be int"),
    ("unsqueeze float", lambda m, f: _x(m).unsqueeze(1.0), r"unsqueeze: argument 'dim' must be int"),
    ("squeeze float", lambda m, f: _x(m).squeeze(1.0), r"squeeze: argument 'dim' must be int"),
    ("transpose float", lambda m, f: _x(m).transpose(0, 1.0), r"transpose: argument 'dim' must be int"),
    ("cat float dim", lambda m, f: m.cat([_x(m), _x(m)], 1.0), r"cat: argument 'dim' must be int"),
    ("softmax float dim", lambda m, f: _x(m).softmax(1.0), r"softmax: argument 'dim' must be int"),
    ("narrow float", lambda m, f: _x(m).narrow(1, 1, 1.0), r"narrow: argument 'length' must be int"),
    ("sum dim 3", lambda m, f: _x(m).sum(3), r"sum: dim 3 is out of range for a tensor with 3 dims"),
    ("var dim 5", lambda m, f: _x(m).var(5), r"var: dim 5 is out of range"),
    ("std_mean dim 5", lambda m, f: m.std_mean(_x(m), 5), r"std_mean: dim 5 is out of range"),
    ("max dim 5", lambda m, f: _x(m).max(5), r"max: dim 5 is out of range"),
    ("amax dim 5", lambda m, f: _x(m).amax(5), r"amax: dim 5 is out of range"),
    ("argmax dim 5", lambda m, f: _x(m).argmax(5), r"argmax: dim 5 is out of range"),
    ("logsumexp dim 5", lambda m, f: _x(m).logsumexp(5), r"logsumexp: dim 5 is out of range"),
    ("softmax dim 5", lambda m, f: m.softmax(_x(m), 5), r"softmax: dim 5 is out of range"),
    ("unsqueeze dim 4", lambda m, f: _x(m).unsqueeze(4), r"unsqueeze: dim 4 is out of range"),
    ("flip dim 3", lambda m, f: _x(m).flip(3), r"flip: dim 3 is out of range"),
    ("transpose dim 3", lambda m, f: _x(m).transpose(0, 3), r"transpose: dim 3 is out of range"),
    ("stack dim 4", lambda m, f: m.stack([_x(m), _x(m)], 4), r"stack: dim 4 is out of range"),
    ("cat dim 3", lambda m, f: m.cat([_x(m), _x(m)], 3), r"cat: dim 3 is out of range"),
    ("squeeze dim 5", lambda m, f: _x(m).squeeze(5), r"squeeze: dim 5 is out of range"),
    ("0-d sum dim 1", lambda m, f: m.tensor(1.0).sum(1), r"sum: dim 1 is out of range for a tensor with 0 dims"),
    ("sum repeated", lambda m, f: _x(m).sum((0, 0)), r"sum: dim \(0, 0\) names a dim more than once"),
    ("mean repeated", lambda m, f: _x(m).mean(dim=(0, 0)), r"mean: dim \(0, 0\) names a dim more than once"),
    # narrow, gather
    ("narrow past end", lambda m, f: _x(m).narrow(1, 2, 2), r"narrow: start \(2\) \+ length \(2\) exceeds .*\(3\)"),
    ("narrow start", lambda m, f: _x(m).narrow(1, 4, 0), r"narrow: start out of range .*\[-3, 3\], but got 4"),
    ("narrow -start", lambda m, f: _x(m).narrow(1, -4, 1), r"narrow: start out of range .*got -4"),
    ("narrow -length", lambda m, f: _x(m).narrow(1, 0, -1), r"narrow: length must be non-negative, got -1"),
    (
        "gather high",
        lambda m, f: m.gather(_x(m), 1, m.tensor([[[3]]])),
        r"gather: index 3 is out of bounds for dimension 1 with size 3",
    ),
    (
        "gather negative",
        lambda m, f: m.gather(_x(m), 1, m.tensor([[[-1]]])),
        r"gather: index -1 is out of bounds for dimension 1 with size 3",
    ),
    ("gather float", lambda m, f: _x(m).gather(1, m.zeros(2, 3, 4)), r"gather: index must be an int64 tensor"),
    # mm / bmm refuse what matmul would broadcast
    (
        "mm 1-d",
        lambda m, f: m.mm(m.ones(2, 3), m.ones(3)),
        r"mm: mat2 must be a matrix, got shapes \(2, 3\) and \(3,\)",
    ),
    ("mm 3-d", lambda m, f: m.mm(m.ones(2, 2, 3), m.ones(3, 2)), r"mm: self must be a matrix"),
    (
        "mm shapes",
        lambda m, f: m.mm(m.ones(2, 3), m.ones(4, 2)),
        r"mm: mat1 and mat2 shapes cannot be .*\(2x3 and 4x2\)",
    ),
    (
        "mm dtypes",
        lambda m, f: m.mm(m.ones(2, 3), m.ones(3, 2, dtype=m.float64)),
        r"mm: expected both operands to have the same dtype, got float32 and float64",
    ),
    ("bmm 2-d", lambda m, f: m.bmm(m.ones(2, 2, 3), m.ones(3, 2)), r"bmm: batch2 must be a 3D tensor"),
    ("bmm 2-d first", lambda m, f: m.bmm(m.ones(2, 3), m.ones(2, 3, 2)), r"bmm: batch1 must be a 3D tensor"),
    ("bmm batch", lambda m, f: m.bmm(m.ones(1, 2, 3), m.ones(2, 3, 2)), r"bmm: .*to be: \[1, 3\] but got: \[2, 3\]"),
    ("bmm inner", lambda m, f: m.bmm(m.ones(2, 2, 3), m.ones(2, 4, 2)), r"bmm: .*\[2, 3\] but got: \[2, 4\]"),
    ("tensor.mm", lambda m, f: m.ones(2, 3).mm(m.ones(3)), r"mm: mat2 must be a matrix"),
    # view needs compatible strides
    (
        "view of a transpose",
        lambda m, f: m.ones(3, 4).t().view(12),
        r"view: view size is not compatible with input tensor's size and stride .*\(4, 3\) with strides \(1, 4\)",
    ),
    ("view of a slice", lambda m, f: m.ones(3, 4)[:, :2].view(6), r"view: view size is not compatible"),
    ("view of an expand", lambda m, f: m.ones(3, 1).expand(3, 4).view(12), r"view: view size is not compatible"),
    # indexing
    ("index too many", lambda m, f: _x(m)[0, 0, 0, 0], r"getitem: too many indices for a tensor of dimension 3"),
    ("index 5", lambda m, f: _x(m)[5], r"getitem: index 5 is invalid for shape \(2, 3, 4\)"),
    ("index :, 7", lambda m, f: _x(m)[:, 7], r"getitem: index .* is invalid for shape \(2, 3, 4\)"),
    ("index tensor 5", lambda m, f: _x(m)[m.tensor([5])], r"getitem: index .* is invalid for shape"),
    ("index float tensor", lambda m, f: _x(m)[m.tensor([1.0])], r"getitem: tensors used as indices must be long"),
    ("negative step", lambda m, f: _x(m)[::-1], r"getitem: step must be greater than zero, got -1"),
    # float-only ops refuse integer inputs
    ("softmax int", lambda m, f: f.softmax(_int(m), 0), r"softmax: not implemented for int64 input"),
    ("log_softmax int", lambda m, f: f.log_softmax(_int(m), 0), r"log_softmax: not implemented for int64"),
    ("Tensor.softmax int", lambda m, f: _int(m).softmax(0), r"softmax: not implemented for int64"),
    ("cross_entropy int", lambda m, f: f.cross_entropy(_int(m), m.tensor([0, 1])), r"cross_entropy: not implemented"),
    ("nll_loss int", lambda m, f: f.nll_loss(_int(m), m.tensor([0, 1])), r"nll_loss: not implemented for int64"),
    ("var int", lambda m, f: _int(m).var(), r"var: std and var only support floating point dtypes, got int64"),
    ("std int", lambda m, f: _int(m).std(), r"std: std and var only support floating point"),
    ("std_mean int", lambda m, f: m.std_mean(_int(m)), r"std_mean: std and var only support floating point"),
    ("mean int", lambda m, f: _int(m).mean(), r"mean: input dtype should be floating point, got int64"),
    ("norm int", lambda m, f: _int(m).norm(), r"norm: expected a floating point tensor as input, got int64"),
    # view(dtype)
    ("view dtype size", lambda m, f: m.ones(2, 3).view(m.float64), r"view: self.size\(-1\) must be divisible by 2"),
    ("view dtype stride", lambda m, f: m.ones(4, 2).t().view(m.float16), r"view: self.stride\(-1\) must be 1 .* got 2"),
    # smooth_l1_loss
    (
        "smooth_l1 beta",
        lambda m, f: f.smooth_l1_loss(m.ones(3), m.zeros(3), beta=-1.0),
        r"smooth_l1_loss: does not support negative values for beta, got -1.0",
    ),
    (
        "smooth_l1 reduction",
        lambda m, f: f.smooth_l1_loss(m.ones(3), m.zeros(3), reduction="x"),
        r"smooth_l1_loss: 'x' is not a valid value for reduction",
    ),
    (
        "smooth_l1 int",
        lambda m, f: f.smooth_l1_loss(m.tensor([1, 2]), m.tensor([1, 3])),
        r"smooth_l1_loss: not implemented for int64",
    ),
    ("SmoothL1Loss beta", lambda m, f: m.nn.SmoothL1Loss(beta=-1.0)(m.ones(2), m.ones(2)), r"SmoothL1Loss: .*beta"),
]


@pytest.mark.parametrize(("name", "call", "message"), CASES, ids=[c[0] for c in CASES])
def test_bad_input_raises_what_torch_raises(name, call, message) -> None:
    with pytest.raises(Exception) as theirs:  # the type is what we compare
        call(torch, TF)
    with pytest.raises(Exception) as ours:
        call(gg, F)
    assert type(ours.value) is type(theirs.value), (name, ours.value, theirs.value)
    assert ours.match(message)


def test_bad_dims_change_nothing() -> None:
    x = gg.ones(2, 3, requires_grad=True)
    for bad in (lambda: x.sum(1.5), lambda: x.view(3, 2.0), lambda: x.t().view(6), lambda: x.narrow(1, 2, 2)):
        with pytest.raises((TypeError, RuntimeError)):
            bad()
    assert x.grad is None and x.grad_fn is None and x.tolist() == [[1.0] * 3] * 2
    y = gg.zeros(3)
    with pytest.raises(IndexError):
        with gg.no_grad():
            y[5] = 1.0
    assert y.tolist() == [0.0, 0.0, 0.0]


def test_valid_neighbours_of_the_bad_inputs_work_like_torch() -> None:
    """The edges just inside each check: what PyTorch accepts, glassgrad accepts with the same result."""
    pairs = [
        (gg.arange(5, 5, 1), torch.arange(5, 5, 1)),
        (gg.arange(5, 0, -2), torch.arange(5, 0, -2)),
        (gg.linspace(0, 1, 0), torch.linspace(0, 1, 0)),
        (gg.zeros(0, 3), torch.zeros(0, 3)),
        (gg.ones(2, 3, 4).narrow(1, -1, 1), torch.ones(2, 3, 4).narrow(1, -1, 1)),
        (gg.ones(2, 3, 4).narrow(1, 3, 0), torch.ones(2, 3, 4).narrow(1, 3, 0)),
        (gg.ones(2, 3, 4).expand(-1, 3, 4), torch.ones(2, 3, 4).expand(-1, 3, 4)),
        (gg.ones(2, 3).sum(np.int64(1)), torch.ones(2, 3).sum(int(np.int64(1)))),
        (gg.ones(2, 3).sum(gg.tensor(1)), torch.ones(2, 3).sum(1)),
        (gg.randint(5, (3,)), torch.randint(5, (3,))),
    ]
    for ours, theirs in pairs:
        assert ours.shape == tuple(theirs.shape) and str(ours.dtype) == str(theirs.dtype).replace("torch.", "")
