"""Dropout with a counter-based mask (kernels/elementwise/dropout.py, philox.py): no GPU needed.

Philox4x32-10 matches Random123's known answers; the mask keeps 1 − p of the elements, is the same
for the forward and the backward, depends on the seed and on both words of the offset, follows the
logical (C-order) index for strided inputs, and bad arguments are refused. The CUDA kernels compile
with the other generated ones (test_elementwise_codegen.py); they have not run on a GPU.
"""

from __future__ import annotations

import numpy as np
import pytest

from glassgrad import kernels
from glassgrad.kernels.elementwise import philox
from glassgrad.kernels.philox import philox4x32_10

#: Random123's kat_vectors for philox4x32 10: (counter, key, output)
KNOWN_ANSWERS = [
    ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
    ((0xFFFFFFFF,) * 4, (0xFFFFFFFF,) * 2, (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
    ((0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344), (0xA4093822, 0x299F31D0),
     (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1)),
]  # fmt: skip


@pytest.mark.parametrize(("counter", "key", "want"), KNOWN_ANSWERS)
def test_philox_gives_random123s_known_answers(counter, key, want) -> None:
    assert tuple(int(w) for w in philox4x32_10(counter, key)) == want


def test_uniform_is_in_the_unit_interval_and_even() -> None:
    u = philox.uniform(np, 3, 4, (200_000,))
    assert u.dtype == np.float32 and u.min() >= 0 and u.max() < 1
    assert abs(u.mean() - 0.5) < 0.005 and abs((u < 0.25).mean() - 0.25) < 0.005


@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
def test_dropout_keeps_one_minus_p_and_scales(p: float) -> None:
    x = np.ones((100, 1000), np.float32)
    z = kernels.run("dropout", x, p, 7, 0)
    kept = z != 0
    assert abs(kept.mean() - (1 - p)) < 4 * np.sqrt(p * (1 - p) / x.size)
    np.testing.assert_allclose(z[kept], np.float32(1 / (1 - p)))


def test_backward_draws_the_forwards_mask() -> None:
    x = np.random.default_rng(0).standard_normal((33, 65)).astype(np.float64)
    g = np.random.default_rng(1).standard_normal(x.shape)
    z = kernels.run("dropout", x, 0.3, 11, 12)
    dx = kernels.run("dropout_backward", g, 0.3, 11, 12)
    np.testing.assert_array_equal(z == 0, dx == 0)
    np.testing.assert_allclose(dx[z != 0], g[z != 0] / 0.7)


def test_seed_and_both_offset_words_change_the_mask() -> None:
    x = np.ones(4096, np.float32)
    base = kernels.run("dropout", x, 0.5, 1, 0)
    assert np.array_equal(base, kernels.run("dropout", x, 0.5, 1, 0))  # a function of (seed, offset, i)
    for seed, offset in [(2, 0), (1, 1), (1, 1 << 32), (1 << 32, 0)]:
        assert not np.array_equal(base, kernels.run("dropout", x, 0.5, seed, offset)), (seed, offset)


def test_p_zero_and_one_and_strided_inputs() -> None:
    x = np.random.default_rng(2).standard_normal((40, 9)).astype(np.float32)
    np.testing.assert_array_equal(kernels.run("dropout", x, 0.0, 1, 2), x)
    assert not kernels.run("dropout", x, 1.0, 1, 2).any()
    np.testing.assert_array_equal(
        kernels.run("dropout", x.T, 0.4, 5, 6), kernels.run("dropout", np.ascontiguousarray(x.T), 0.4, 5, 6)
    )


def test_bad_arguments_are_refused() -> None:
    x = np.ones(3, np.float32)
    with pytest.raises(ValueError, match=r"dropout: p must be a probability in \[0, 1\], got 1.5"):
        kernels.run("dropout", x, 1.5, 0, 0)
    with pytest.raises(ValueError, match=r"dropout_backward: seed must be an integer in \[0, 2\*\*64\), got -1"):
        kernels.run("dropout_backward", x, 0.5, -1, 0)


def test_the_cuda_kernel_is_registered_and_not_the_default() -> None:
    for op in ("dropout", "dropout_backward"):
        assert kernels.variant(op, "cuda", "generated") and kernels.default_name(op, "cuda") == "cupy"


def test_the_cupy_kernel_gets_the_philox_preamble_and_the_scalars(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys
    from types import ModuleType

    from glassgrad.kernels.elementwise import codegen_numpy, formulas, register

    built = []

    class ElementwiseKernel:
        def __init__(self, in_params, out_params, operation, name, preamble=""):
            built.append((in_params, name, preamble))
            self.formula = formulas.DROPOUT if name == "gg_dropout" else formulas.DROPOUT_BACKWARD

        def __call__(self, x, p, scale, seed, offset):
            assert isinstance(seed, np.uint64) and isinstance(offset, np.uint64)
            return codegen_numpy.numpy_function(self.formula)(x, p, scale, int(seed), int(offset))

    cupy = ModuleType("cupy")
    cupy.ElementwiseKernel = ElementwiseKernel
    monkeypatch.setitem(sys.modules, "cupy", cupy)
    register.cupy_formula_kernel.cache_clear()
    try:
        x = np.random.default_rng(3).standard_normal((9, 31)).astype(np.float32)
        got = kernels.variant("dropout", "cuda", "generated")(x, 0.2, 9, 1 << 33)
        np.testing.assert_array_equal(got, kernels.run("dropout", x, 0.2, 9, 1 << 33))
        [(in_params, name, preamble)] = built
        assert in_params == "T x, T p, T scale, uint64 seed, uint64 offset" and name == "gg_dropout"
        assert "philox_uniform" in preamble and "#pragma once" not in preamble
        assert "philox4x32_10(philox_u32x4 c" in preamble and "#include" not in preamble  # the shared header, inlined
    finally:
        register.cupy_formula_kernel.cache_clear()
