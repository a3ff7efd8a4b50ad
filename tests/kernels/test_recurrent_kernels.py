"""The recurrent kernels: the numba variants equal the NumPy reference on the spec's cases (T = 1, B = 1,
odd sizes, no bias, relu, reverse, unsorted lengths, proj_size, a non-contiguous x) run serially and in
parallel, in float32 and float64; the reference's one LSTM step written out by hand; the benchmark sizes
parse and count their GEMMs."""

from __future__ import annotations

import numpy as np
import pytest

from glassgrad import kernels
from glassgrad.kernels import cpu_parallel
from glassgrad.kernels.recurrent import reference, spec

OPS = [f"{cell}_{part}" for cell in ("rnn", "gru", "lstm") for part in ("forward", "backward")]


@pytest.mark.parametrize("op", OPS)
def test_numba_equals_the_reference_in_parallel(op: str) -> None:
    # serially on these small cases: tests/kernels/test_lab.py (every cpu variant)
    with cpu_parallel.forced("parallel"):
        report = kernels.validate(op, "numba", "cpu")
    assert report.passed, str(report)
    assert {r.dtype for r in report.results if not r.skipped} == {"float32", "float64"}


def test_numba_is_the_cpu_default() -> None:
    for op in OPS:
        assert kernels.get(op, "cpu", "float32").name == "numba"


def test_one_lstm_step_by_hand() -> None:
    rng = np.random.default_rng(0)
    x, h0, c0 = rng.standard_normal((1, 2, 3)), rng.standard_normal((2, 4)), rng.standard_normal((2, 4))
    w_ih, w_hh, b = rng.standard_normal((16, 3)), rng.standard_normal((16, 4)), rng.standard_normal(16)
    a = x[0] @ w_ih.T + h0 @ w_hh.T + b
    sig = 1 / (1 + np.exp(-a))
    i, f, o, g = sig[:, :4], sig[:, 4:8], sig[:, 12:], np.tanh(a[:, 8:12])
    c = f * c0 + i * g
    traj, gates = reference.lstm_forward(x, h0, c0, w_ih, w_hh, b, None)
    np.testing.assert_allclose(traj[0], np.concatenate([o * np.tanh(c), c], axis=1), rtol=1e-13)
    np.testing.assert_allclose(gates[0], np.concatenate([i, f, g, o], axis=1), rtol=1e-13)


def test_benchmark_sizes() -> None:
    assert spec.parse_size("128x32x512x512:p256") == (128, 32, 512, 512, {"proj": 256})
    case = kernels.spec("lstm_forward").make_inputs("4x3x5x6", np, np.float64)
    assert case.args[0].shape == (4, 3, 5) and case.args[4].shape == (24, 6)
    assert kernels.spec("lstm_forward").flops(case) == 2 * 4 * 3 * 24 * (5 + 6)
    back = kernels.spec("lstm_backward").make_inputs("4x3x5x6", np, np.float64)
    assert kernels.spec("lstm_backward").flops(back) == 2 * kernels.spec("lstm_forward").flops(case)
