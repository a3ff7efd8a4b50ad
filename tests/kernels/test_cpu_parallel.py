"""Kernels compiled serially and in parallel (kernels/cpu_parallel.py) give the reference's results
either way: every CPU variant of the row, activation and optimizer ops validates with each forced."""

from __future__ import annotations

import numba
import numpy as np
import pytest

from glassgrad import kernels
from glassgrad.kernels import cpu_parallel

FAMILIES = ("softmax", "log_softmax", "layer_norm", "rms_norm", "cross_entropy", "gelu", "silu", "bias_act")
OPTIMIZERS = ("sgd_update", "adam_update", "rmsprop_update", "adagrad_update")
CASES = [
    (op, v.name)
    for op in kernels.ops()
    if op.removesuffix("_backward") in FAMILIES + OPTIMIZERS
    for v in kernels.list(op, "cpu")
    if not v.reference
]


@pytest.mark.parametrize("mode", ["serial", "parallel"])
@pytest.mark.parametrize(("op", "name"), CASES, ids=[f"{o}-{n}" for o, n in CASES])
def test_variant_validates_serial_and_parallel(op: str, name: str, mode: str) -> None:
    with cpu_parallel.forced(mode):
        report = kernels.validate(op, name, "cpu")
    assert report.passed, str(report)


def test_size_picks_the_compilation() -> None:
    """Below min_size the serial compilation runs (the parallel one is never compiled), above it the parallel."""

    @cpu_parallel.parallel_njit(min_size=100)
    def double(x, out):  # pragma: no cover - compiled
        for i in numba.prange(x.size):
            out[i] = 2 * x[i]

    small, large = np.arange(10.0), np.arange(1000.0)
    out = np.empty_like(small)
    double(small, out)
    np.testing.assert_array_equal(out, 2 * small)
    assert len(double.serial.signatures) == 1 and not double.parallel.signatures
    out = np.empty_like(large)
    double(large, out)
    np.testing.assert_array_equal(out, 2 * large)
    assert len(double.parallel.signatures) == 1
    with pytest.raises(ValueError, match="mode must be"), cpu_parallel.forced("threads"):
        pass
