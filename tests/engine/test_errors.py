"""Bad input raises a clear error that names the op and the offending shapes or values."""

from __future__ import annotations

import pytest

import glassgrad as gg

CASES = [
    (lambda: gg.ones(2, 3) @ gg.ones(4, 5), RuntimeError, r"matmul: shapes \(2, 3\) and \(4, 5\)"),
    (lambda: gg.ones(2, 3) @ gg.ones(3, 2, dtype=gg.float64), RuntimeError, "matmul: .*float32 and float64"),
    (
        lambda: gg.ones(2, 3) + gg.ones(4),
        RuntimeError,
        r"add: the size of tensor a \(3\) must match .*\(2, 3\) and \(4,\)",
    ),
    (
        lambda: gg.ones(2, 3).reshape(4, 2),
        RuntimeError,
        r"reshape: shape \(4, 2\) is invalid for input of shape \(2, 3\)",
    ),
    (lambda: gg.ones(2, 3).sum(2), IndexError, "sum: dim 2 is out of range for a tensor with 2 dims"),
    (lambda: gg.ones(2, 3).permute(0, 0), RuntimeError, r"permute: dims \(0, 0\)"),
    (
        lambda: gg.cat([gg.ones(2, 3), gg.ones(3, 3)], 1),
        RuntimeError,
        r"cat: sizes must match except in dim 1; got \(2, 3\) and \(3, 3\)",
    ),
    (lambda: gg.stack([gg.ones(2), gg.ones(3)]), RuntimeError, r"stack: .*\(2,\) and \(3,\)"),
    (lambda: gg.ones(2, 1).expand(3, 3), RuntimeError, r"expand: the input's shape \(2, 1\) can't be expanded"),
    (lambda: gg.ones(3)[5], IndexError, r"getitem: index 5 is invalid for shape \(3,\)"),
    (lambda: gg.ones(3).split([1, 1]), RuntimeError, "split: sections"),
    (lambda: gg.nn.functional.gelu(gg.ones(2), approximate="fast"), RuntimeError, "gelu: approximate"),
    (lambda: gg.ones(2).norm(p="abc"), RuntimeError, "norm: order 'abc' is not supported"),
    (lambda: gg.nn.functional.one_hot(gg.tensor([0, 3]), 2), RuntimeError, "one_hot: class value 3"),
    (lambda: gg.tensor([1, 2]).mean(), RuntimeError, "mean: input dtype should be floating"),
    (lambda: gg.ones(2).clamp(), RuntimeError, "clamp: at least one"),
    (lambda: gg.where(gg.ones(2), gg.ones(2), gg.zeros(2)), RuntimeError, "where: condition must be a bool"),
    (lambda: gg.nn.functional.pad(gg.ones(2), (1, 1, 1, 1)), RuntimeError, "pad:"),
    (lambda: gg.ones(2).gather(0, gg.tensor([[0]])), RuntimeError, "gather:"),
]


@pytest.mark.parametrize(("call", "error", "message"), CASES, ids=[c[2][:30] for c in CASES])
def test_error_names_the_op_and_values(call, error: type[Exception], message: str) -> None:
    with pytest.raises(error, match=message):
        call()


def test_errors_leave_state_unchanged() -> None:
    x = gg.ones(2, 3, requires_grad=True)
    with pytest.raises(RuntimeError):
        x @ gg.ones(4, 5)
    assert x.grad is None and x.grad_fn is None
    y = gg.zeros(3)
    with pytest.raises(RuntimeError, match="doesn't match the broadcast shape"):
        with gg.no_grad():
            y.add_(gg.ones(2, 3))
    assert y.tolist() == [0.0, 0.0, 0.0]
