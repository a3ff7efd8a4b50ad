"""The vectorisable exp of flash attention's tiles (glassgrad/kernels/numba_exp.py)."""

from __future__ import annotations

import numba
import numpy as np

from glassgrad.kernels.numba_exp import exp_rows


@numba.njit
def _in_numba(s, shifts):
    exp_rows(s, shifts)


def test_float32_tiles_agree_with_float64_exp() -> None:
    """The error grows with |s - shift| (float32 argument reduction): ~1e-7 near 0, where softmax's mass is."""
    rng = np.random.default_rng(0)
    s = (rng.standard_normal((64, 64)) * 20).astype(np.float32)
    shifts = s.max(axis=1)
    shifts[3] = -5.0  # some values above their shift
    expected = np.exp(s.astype(np.float64) - shifts[:, None].astype(np.float64))
    got = s.copy()
    _in_numba(got, shifts)
    x = s.astype(np.float64) - shifts[:, None]
    normal = expected > 1e-37
    relative = np.abs(got - expected)[normal] / expected[normal]
    assert np.all(relative <= 2e-7 * (1 + np.abs(x[normal]))), relative.max()
    assert np.all(got[~normal] <= 2e-37)


def test_minus_infinity_gives_zero_and_nan_stays_nan() -> None:
    s = np.array([[-np.inf, -1000.0, 0.0, np.nan, 88.0]], dtype=np.float32)
    _in_numba(s, np.zeros(1, np.float32))
    assert s[0, 0] == 0.0 and s[0, 1] == 0.0 and s[0, 2] == 1.0 and np.isnan(s[0, 3])
    np.testing.assert_allclose(s[0, 4], np.exp(np.float64(88.0)), rtol=2e-6)


def test_float64_tiles_use_the_library_exp() -> None:
    rng = np.random.default_rng(1)
    s = rng.standard_normal((5, 7)) * 10
    shifts = rng.standard_normal(5)
    got = s.copy()
    _in_numba(got, shifts)
    np.testing.assert_allclose(got, np.exp(s - shifts[:, None]), rtol=1e-15)  # libm vs NumPy's SIMD exp: 1 ulp


def test_outside_numba_it_is_plain_numpy() -> None:
    s = np.array([[0.0, 1.0], [2.0, 3.0]], dtype=np.float32)
    exp_rows(s, np.array([1.0, 2.0], dtype=np.float32))
    np.testing.assert_allclose(s, np.exp([[-1.0, 0.0], [0.0, 1.0]]), rtol=1e-6)
