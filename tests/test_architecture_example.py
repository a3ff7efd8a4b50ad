"""ARCHITECTURE.md's worked example (a kernel op "cube" with a reference and a numba variant, and
its Function) runs as written, and behaves as the text says."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import numpy as np
import pytest
import torch

import glassgrad as gg
from glassgrad import kernels
from glassgrad.kernels import registry

ARCHITECTURE = Path(__file__).parents[1] / "ARCHITECTURE.md"


@pytest.fixture
def example(tmp_path: Path) -> dict:
    """The block, written out as a module and imported (numba's disk cache needs a real module)."""
    text = ARCHITECTURE.read_text()
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    (code,) = [b for b in blocks if 'register("cube"' in b]
    path = tmp_path / "cube_example.py"
    path.write_text(code)
    spec = importlib.util.spec_from_file_location("cube_example", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    yield vars(module)
    for device in ("cpu", "cuda"):
        registry._variants.pop(("cube", device), None)
        registry._defaults.pop(("cube", device), None)
        registry._chosen.pop(("cube", device), None)
    registry._forget_order()


def test_the_worked_example_runs(example: dict) -> None:
    cube = example["Cube"]
    x = np.random.default_rng(0).standard_normal((5, 7))
    t = gg.tensor(x, requires_grad=True)
    ref = torch.tensor(x, requires_grad=True)
    cube.apply(t).sum().backward()
    (ref**3).sum().backward()
    np.testing.assert_allclose(t.grad.numpy(), ref.grad.numpy(), rtol=1e-12)
    assert kernels.pick("cube", "cpu", x).name == "numba"
    assert kernels.pick("cube", "cpu", x.T).name == "numpy"  # not C-contiguous: the reference
    np.testing.assert_allclose(cube.apply(gg.tensor(x.T)).numpy(), x.T**3, rtol=1e-12)
    with kernels.use("cube", "numpy"):
        assert kernels.pick("cube", "cpu", x).name == "numpy"
    assert {v.device for v in kernels.list("cube")} == {"cpu", "cuda"}
