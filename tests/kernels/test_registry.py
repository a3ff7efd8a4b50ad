"""The registry picks the variant for a call: the user's choice, the default, the rest, the reference,
taking the first whose dtypes and ``when`` accept the call; ops never fall back themselves."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest

from glassgrad import kernels
from glassgrad.kernels import registry

ENGINE = Path(registry.__file__).parents[1] / "engine"


@pytest.fixture
def toy_op():
    """A throwaway op "toy" on cpu: a reference, a float32-only variant for 2-D input, and a default."""
    op = "toy_test_op"
    kernels.register(op, "cpu", "reference", "x + 0", reference=True)(lambda x, dim=-1: x + 0)
    kernels.register(op, "cpu", "flat", "2-D float32 only", dtypes=("float32",), when=lambda x, dim=-1: x.ndim == 2)(
        lambda x, dim=-1: x + 1
    )
    kernels.register(op, "cpu", "last", "last dim only", when=lambda x, dim=-1: dim in (-1, x.ndim - 1), default=True)(
        lambda x, dim=-1: x + 2
    )
    yield op
    registry._variants.pop((op, "cpu"))
    registry._defaults.pop((op, "cpu"), None)
    registry._chosen.pop((op, "cpu"), None)
    registry._forget_order()


def test_order_is_choice_default_rest_reference(toy_op: str) -> None:
    assert [v.name for v in kernels.order(toy_op, "cpu")] == ["last", "flat", "reference"]
    with kernels.use(toy_op, "flat"):
        assert [v.name for v in kernels.order(toy_op, "cpu")] == ["flat", "last", "reference"]
    assert [v.name for v in kernels.order(toy_op, "cpu")] == ["last", "flat", "reference"]


def test_run_falls_back_through_the_order(toy_op: str) -> None:
    x32 = np.zeros((2, 3), np.float32)
    assert kernels.run(toy_op, x32)[0, 0] == 2  # the default takes it
    assert kernels.run(toy_op, x32, dim=0)[0, 0] == 1  # not the last dim: the next variant
    assert kernels.run(toy_op, np.zeros((2, 3, 4), np.float32), dim=0)[0, 0, 0] == 0  # only the reference
    with kernels.use(toy_op, "flat"):
        assert kernels.run(toy_op, x32)[0, 0] == 1
        assert kernels.run(toy_op, x32.astype(np.float64))[0, 0] == 2  # flat is float32-only
    assert kernels.run(toy_op, x32)[0, 0] == 2  # back to the default: run's dtype shortcut went with the choice
    assert kernels.pick(toy_op, "cpu", x32.astype(np.int64), dim=0).name == "reference"


def test_a_reference_takes_every_call() -> None:
    with pytest.raises(ValueError, match="must take every call"):
        kernels.register("toy_bad_ref", "cpu", "ref", "-", reference=True, when=lambda x: False)(lambda x: x)
    assert ("toy_bad_ref", "cpu") not in registry._variants or not registry._variants[("toy_bad_ref", "cpu")]


def test_every_kernel_op_runs_on_cpu_and_cuda() -> None:
    """kernels.list() shows every kernel op on both devices, each with a reference to fall back to."""
    for op in kernels.ops():
        for device in ("cpu", "cuda"):
            assert kernels.list(op, device), f"{op} has no variant on {device}"
            assert kernels.reference(op, device)


def _calls(tree: ast.AST, dotted: str) -> list[int]:
    owner, attr = dotted.split(".")
    return [
        n.lineno
        for n in ast.walk(tree)
        if isinstance(n, ast.Call)
        and isinstance(n.func, ast.Attribute)
        and n.func.attr == attr
        and isinstance(n.func.value, ast.Name)
        and n.func.value.id == owner
    ]


def test_engine_ops_reach_kernels_only_through_run() -> None:
    """No op looks a variant up itself (kernels.get with a device string): one call, kernels.run."""
    offenders = {}
    for path in sorted(ENGINE.rglob("*.py")):
        lines = _calls(ast.parse(path.read_text()), "kernels.get")
        if lines:
            offenders[str(path.relative_to(ENGINE))] = lines
    assert not offenders, offenders
