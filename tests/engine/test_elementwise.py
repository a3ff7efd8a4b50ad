"""Elementwise math, rounding, bitwise ops and the rounded divisions against PyTorch: result
dtypes of integer and bool inputs, special values (inf, nan, -0.0), the operators, in-place
forms, and the exceptions bad inputs raise. Each case runs the same expression in glassgrad
and in PyTorch (``m`` is the module: ``gg`` or ``torch``) and checks the two agree."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch

import glassgrad as gg

INF, NAN = float("inf"), float("nan")
SPECIAL = [INF, -INF, NAN, 0.0, -0.0, 1.0, -1.0, 0.5, -0.5, 2.5, -2.5, 0.99, -3.7, 1e-30, 1e30, 88.0, -88.0, 710.0]


def _tensor(m: Any, a: Any) -> Any:
    return m.tensor(a) if isinstance(a, np.ndarray) else a


def _run(m: Any, fn: Callable[..., Any], arrays: tuple[Any, ...]) -> Any:
    try:
        return fn(m, *(_tensor(m, a) for a in arrays))
    except Exception as err:  # the exception is the result being compared
        return err


def _numpy(x: Any) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        return x.detach().numpy()
    return np.asarray(x.detach().array)


def agree(fn: Callable[..., Any], *arrays: Any, rtol: float = 0.0, atol: float = 0.0, name: str | None = None) -> Any:
    """Run ``fn(m, *tensors)`` for m = gg and torch; assert the same exception type, or the same
    dtype and values (nan where nan, the sign of every zero); return glassgrad's result."""
    ours, theirs = _run(gg, fn, arrays), _run(torch, fn, arrays)
    if isinstance(theirs, Exception):
        assert isinstance(ours, Exception), f"PyTorch raised {theirs!r}, glassgrad returned {ours!r}"
        assert type(ours) is type(theirs), f"glassgrad raised {ours!r}, PyTorch {theirs!r}"
        if name is not None:
            assert name in str(ours), f"the message {ours} does not name {name}"
        return ours
    assert not isinstance(ours, Exception), f"glassgrad raised {ours!r}, PyTorch returned {theirs!r}"
    got, want = _numpy(ours), _numpy(theirs)
    assert got.dtype == want.dtype, f"dtype {got.dtype}, PyTorch {want.dtype}"
    assert got.shape == want.shape
    if got.dtype.kind == "f":
        np.testing.assert_allclose(got, want, rtol=rtol, atol=atol, equal_nan=True)
        zeros = (want == 0) & (got == 0)
        np.testing.assert_array_equal(np.signbit(got[zeros]), np.signbit(want[zeros]), err_msg="sign of zero")
    else:
        np.testing.assert_array_equal(got, want)
    return ours


INTS = np.array([[-3, -1, 0], [1, 2, 5]])
BOOLS = np.array([True, False, True])

TRANSCENDENTAL = (
    "tan asin acos atan sinh cosh asinh acosh atanh erf erfc erfinv exp2 expm1 log2 log10 "
    "exp log log1p sqrt rsqrt sin cos tanh sigmoid"
).split()
ROUNDING = "trunc floor ceil round".split()


# ------------------------------------------------------------ result dtypes
@pytest.mark.parametrize("name", TRANSCENDENTAL)
@pytest.mark.parametrize("dtype", ["int64", "int32", "int16", "uint8", "bool"])
def test_integer_and_bool_inputs_give_float32(name: str, dtype: str) -> None:
    a = (np.array([0, 1, 2, 3]) if dtype == "uint8" else INTS).astype(dtype)
    out = agree(lambda m, x: getattr(m, name)(x), a, rtol=2e-6)
    assert out.dtype == gg.float32


@pytest.mark.parametrize("name", ROUNDING)
@pytest.mark.parametrize("dtype", ["int64", "int32", "int8", "uint8"])
def test_rounding_keeps_integer_dtypes(name: str, dtype: str) -> None:
    a = np.abs(INTS).astype(dtype) if dtype == "uint8" else INTS.astype(dtype)
    agree(lambda m, x: getattr(m, name)(x), a)
    agree(lambda m, x: getattr(x, name)(), a)


@pytest.mark.parametrize("name", [*ROUNDING, "frac"])
def test_rounding_of_bool_is_not_implemented(name: str) -> None:
    agree(lambda m, x: getattr(m, name)(x), BOOLS, name=name)


def test_frac_and_round_with_decimals_of_integers_are_not_implemented() -> None:
    agree(lambda m, x: m.frac(x), INTS, name="frac")
    agree(lambda m, x: m.round(x, decimals=1), INTS, name="round")
    agree(lambda m, x: m.round(x, decimals=0), INTS)


def test_round_decimals_must_be_an_int() -> None:
    agree(lambda m, x: m.round(x, decimals=1.5), np.array([1.25]))


def test_sign_of_integers_and_bools_keeps_the_dtype() -> None:
    agree(lambda m, x: m.sign(x), INTS)
    agree(lambda m, x: m.sign(x), INTS.astype(np.int8))
    agree(lambda m, x: m.sign(x), BOOLS)


@pytest.mark.parametrize("name", ["atan2", "copysign"])
@pytest.mark.parametrize("dtypes", [("int64", "int64"), ("bool", "bool"), ("int32", "float64"), ("int64", "float32")])
def test_binary_math_promotes_integers_to_float(name: str, dtypes: tuple[str, str]) -> None:
    a, b = INTS.astype(dtypes[0]), (INTS[::-1] - 1).astype(dtypes[1])
    agree(lambda m, x, y: getattr(m, name)(x, y), a, b, rtol=2e-6)


@pytest.mark.parametrize("name", ["hypot", "logaddexp", "logaddexp2"])
def test_hypot_and_logaddexp_need_floating_point(name: str) -> None:
    agree(lambda m, x, y: getattr(m, name)(x, y), INTS, INTS, name=name)
    agree(lambda m, x, y: getattr(m, name)(x, y), BOOLS, BOOLS, name=name)
    agree(lambda m, x, y: getattr(m, name)(x, y), INTS.astype(float), INTS, rtol=1e-12, atol=1e-15)  # float64, int64


@pytest.mark.parametrize("name", ["atan2", "hypot", "logaddexp", "logaddexp2"])
def test_binary_math_other_must_be_a_tensor(name: str) -> None:
    agree(lambda m, x: getattr(m, name)(x, 2.0), np.array([1.0, 2.0]))
    agree(lambda m, x: getattr(m, name)(x, 2), np.array([1.0, 2.0]))


def test_copysign_takes_a_number() -> None:
    agree(lambda m, x: m.copysign(x, -1.0), np.array([1.0, -2.0, 0.0]))
    agree(lambda m, x: m.copysign(x, -1), INTS)
    agree(lambda m, x: x.copysign(-0.0), np.array([1.0, -2.0, 0.0], dtype=np.float32))


# ------------------------------------------------------------ special values
@pytest.mark.parametrize("name", [*TRANSCENDENTAL, *ROUNDING, "frac", "sign", "abs", "neg", "square", "reciprocal"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_special_values_match_torch(name: str, dtype: str) -> None:
    a = np.array(SPECIAL, dtype=dtype)
    rtol = 1e-12 if dtype == "float64" else 2e-6
    if name == "erfinv":  # erfinv lives on [-1, 1]: its own special values
        a = np.array([1.0, -1.0, 0.0, -0.0, NAN, INF, 1.5, -1.0000001, 0.999999, -0.5, 1e-30], dtype=dtype)
    agree(lambda m, x: getattr(m, name)(x), a, rtol=rtol)


@pytest.mark.parametrize("decimals", [1, 2, 3, -1, -2])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_round_with_decimals_matches_torch(decimals: int, dtype: str) -> None:
    a = np.array([1.25, 2.675, -0.04, 0.5, 125.0, 175.0, -150.0, 1e30, INF, NAN, -0.0, 0.015, 0.025], dtype=dtype)
    agree(lambda m, x: m.round(x, decimals=decimals), a)
    agree(lambda m, x: x.round(decimals=decimals), a)


def _grid(values: list[float], dtype: str = "float64") -> tuple[np.ndarray, np.ndarray]:
    a, b = np.meshgrid(np.array(values, dtype=dtype), np.array(values, dtype=dtype))
    return a.ravel(), b.ravel()


GRID = [INF, -INF, NAN, 0.0, -0.0, 1.5, -1.5, 5.0, -5.0, 7.0, 1e300]
BINARY = {
    "atan2": lambda m, x, y: m.atan2(x, y),
    "hypot": lambda m, x, y: m.hypot(x, y),
    "logaddexp": lambda m, x, y: m.logaddexp(x, y),
    "logaddexp2": lambda m, x, y: m.logaddexp2(x, y),
    "copysign": lambda m, x, y: m.copysign(x, y),
    "fmod": lambda m, x, y: m.fmod(x, y),
    "remainder": lambda m, x, y: m.remainder(x, y),
    "mod": lambda m, x, y: x % y,
    "floordiv": lambda m, x, y: x // y,
    "floor_divide": lambda m, x, y: m.floor_divide(x, y),
    "div_trunc": lambda m, x, y: m.div(x, y, rounding_mode="trunc"),
    "div_floor": lambda m, x, y: m.div(x, y, rounding_mode="floor"),
    "div": lambda m, x, y: m.div(x, y),
}


def _same_but_nan_signs(fn: Callable[..., Any], a: np.ndarray, b: np.ndarray, rtol: float) -> None:
    agree(lambda m, x, y: m.where(m.isnan(fn(m, x, y)), 0.25, fn(m, x, y)), a, b, rtol=rtol)


@pytest.mark.parametrize("name", list(BINARY))
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_binary_special_values_match_torch(name: str, dtype: str) -> None:
    a, b = _grid(GRID if dtype == "float64" else [v for v in GRID if v != 1e300], dtype)
    _same_but_nan_signs(BINARY[name], a, b, rtol=1e-12 if dtype == "float64" else 2e-6)


@pytest.mark.parametrize(
    "name", ["fmod", "remainder", "mod", "floordiv", "floor_divide", "div_trunc", "div_floor", "div"]
)
@pytest.mark.parametrize("dtypes", [("int64", "int64"), ("int32", "int64"), ("int8", "int8"), ("int64", "float32")])
def test_integer_division_matches_torch(name: str, dtypes: tuple[str, str]) -> None:
    a, b = np.meshgrid(np.array([7, -7, 6, -6, 0, 1, -1, 13]), np.array([3, -3, 2, -2, 1, -1, 5, 7]))
    agree(BINARY[name], a.ravel().astype(dtypes[0]), b.ravel().astype(dtypes[1]), rtol=1e-6)


@pytest.mark.parametrize("name", ["fmod", "remainder", "mod", "floordiv", "floor_divide", "div_trunc", "div_floor"])
def test_integer_division_by_zero_raises_like_torch(name: str) -> None:
    err = agree(BINARY[name], np.array([5, -5, 3]), np.array([2, 0, 1]))
    assert "ZeroDivisionError" in str(err)
    agree(lambda m, x: BINARY[name](m, x, 0), np.array([5, -5]))
    agree(BINARY[name], np.array([5.0, -5.0, 0.0]), np.array([0.0, -0.0, 0.0]))  # floats: inf and nan


def test_true_division_of_integers_by_zero_is_float() -> None:
    agree(lambda m, x: m.div(x, 0), np.array([5, -5, 0]))
    agree(lambda m, x: x / 0, np.array([5, -5, 0]))


@pytest.mark.parametrize("name", ["fmod", "remainder", "mod", "floordiv", "div_trunc", "div_floor"])
def test_rounded_division_of_bools_is_not_implemented(name: str) -> None:
    agree(BINARY[name], BOOLS, BOOLS)


def test_div_rounding_mode_must_be_known() -> None:
    agree(lambda m, x: m.div(x, 2, rounding_mode="round"), np.array([1.0]), name="rounding_mode")
    agree(lambda m, x: x.div(2, rounding_mode="floor"), np.array([-3, 3]))
    agree(lambda m, x: x.div(2.5, rounding_mode="floor"), np.array([-3, 3]))  # int with float: float32


def test_operators_with_python_numbers_on_either_side() -> None:
    i, f = np.array([7, -7, 3, -2]), np.array([7.5, -7.5, 3.0, -0.0], dtype=np.float32)
    for expr in (
        lambda m, x: x // 2,
        lambda m, x: x // -2,
        lambda m, x: 7 // x,
        lambda m, x: x % 3,
        lambda m, x: x % -3,
        lambda m, x: -7 % x,
        lambda m, x: 7.5 % x,
        lambda m, x: 7.5 // x,
        lambda m, x: x // 2.5,
        lambda m, x: x % 2.5,
        lambda m, x: m.remainder(7, x),
        lambda m, x: m.floor_divide(7, x),
        lambda m, x: x.fmod(-3),
        lambda m, x: x.fmod(2.5),
    ):
        agree(expr, i)
        agree(expr, f)


def test_fmod_input_must_be_a_tensor() -> None:
    agree(lambda m, x: m.fmod(7, x), np.array([2, 3]))


# ------------------------------------------------------------ gradients at special points
def _grads(fn: Callable[..., Any], *values: list[float]) -> None:
    """The gradient of fn(...).sum() in float64, glassgrad against PyTorch (or the same exception)."""
    results = []
    for m in (gg, torch):
        xs = [m.tensor(np.array(v, dtype=np.float64), requires_grad=True) for v in values]
        try:
            out = fn(m, *xs)
            out.sum().backward()
            results.append(
                [_numpy(x.grad) if x.grad is not None else np.zeros(len(v)) for x, v in zip(xs, values, strict=True)]
            )
        except RuntimeError as err:
            results.append(err)
    ours, theirs = results
    if isinstance(theirs, Exception):
        assert isinstance(ours, RuntimeError), f"PyTorch raised {theirs!r}, glassgrad gave {ours!r}"
        return
    for got, want in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-12, equal_nan=True)


X = [1.5, -2.5, 0.0, -0.0, 3.0, NAN, INF, -7.0]
Y = [2.0, 2.0, -1.0, 2.0, -0.0, 1.0, 2.0, 3.0]


def test_gradients_of_remainder_fmod_copysign_match_torch() -> None:
    _grads(lambda m, x, y: m.remainder(x, y), X, Y)
    _grads(lambda m, x, y: x % y, X, Y)
    _grads(lambda m, x, y: m.fmod(x, y), X, Y)
    _grads(lambda m, x, y: m.copysign(x, y), X, Y)


def test_gradients_of_rounding_are_zero_and_of_frac_one() -> None:
    for name in ["trunc", "floor", "ceil", "round", "sign"]:
        _grads(lambda m, x, name=name: getattr(m, name)(x), X)
    _grads(lambda m, x: m.round(x, decimals=1), X)
    _grads(lambda m, x: m.frac(x), X)
    _grads(lambda m, x, y: m.div(x, y, rounding_mode="floor"), X, Y)
    _grads(lambda m, x, y: m.div(x, y, rounding_mode="trunc"), X, Y)


def test_rounding_results_require_grad_like_torch() -> None:
    for name in ["trunc", "floor", "ceil", "round", "sign", "frac"]:
        x = gg.tensor([1.5, -2.5], requires_grad=True)
        assert getattr(x, name)().requires_grad, name


def test_floor_divide_and_number_remainder_have_no_derivative_like_torch() -> None:
    _grads(lambda m, x, y: m.floor_divide(x, y), X, Y)
    _grads(lambda m, x, y: x // y, X, Y)
    _grads(lambda m, y: 2.5 % y, Y)
    with pytest.raises(RuntimeError, match="floor_divide"):
        (gg.tensor([1.0, 2.0], requires_grad=True) // 2).sum().backward()


def test_gradients_at_the_edges_of_the_domain_match_torch() -> None:
    _grads(lambda m, x, y: m.hypot(x, y), [0.0, 3.0], [0.0, 4.0])
    _grads(lambda m, x, y: m.atan2(x, y), [0.0, 1.0, -1.0], [0.0, 0.0, -2.0])
    _grads(lambda m, x, y: m.logaddexp(x, y), [INF, -INF, 1.0, 800.0], [INF, -INF, 1.0, -800.0])
    _grads(lambda m, x, y: m.logaddexp2(x, y), [INF, -INF, 1.0, 2000.0], [INF, -INF, 1.0, -2000.0])
    _grads(lambda m, x: m.erfinv(x), [1.0, -1.0, 0.5, 0.0])
    _grads(lambda m, x: m.acosh(x), [1.0, 2.0])
    _grads(lambda m, x: m.asin(x), [1.0, -1.0, 0.0])
    _grads(lambda m, x: m.atanh(x), [1.0, 0.5])
    _grads(lambda m, x: m.abs(x), [0.0, -0.0, 1.0])


def test_nan_to_num_gradient_passes_only_finite_entries() -> None:
    _grads(lambda m, x: m.nan_to_num(x), X)
    _grads(lambda m, x: m.nan_to_num(x, nan=1.0, posinf=2.0, neginf=-2.0), [NAN, INF, -INF, 2.0])


# ------------------------------------------------------------ bitwise and logical operators
I1, I2 = np.array([5, -7, 3, 0, -1]), np.array([2, 2, -2, 7, 1])
B1, B2 = np.array([True, False, True, False]), np.array([True, True, False, False])
OPERATORS = {
    "and": lambda m, x, y: x & y,
    "or": lambda m, x, y: x | y,
    "xor": lambda m, x, y: x ^ y,
    "lshift": lambda m, x, y: x << y,
    "rshift": lambda m, x, y: x >> y,
    "bitwise_and": lambda m, x, y: m.bitwise_and(x, y),
    "bitwise_or": lambda m, x, y: m.bitwise_or(x, y),
    "bitwise_xor": lambda m, x, y: m.bitwise_xor(x, y),
    "bitwise_left_shift": lambda m, x, y: m.bitwise_left_shift(x, y),
    "bitwise_right_shift": lambda m, x, y: m.bitwise_right_shift(x, y),
    "method_and": lambda m, x, y: x.bitwise_and(y),
    "method_left_shift": lambda m, x, y: x.bitwise_left_shift(y),
}


@pytest.mark.parametrize("name", list(OPERATORS))
@pytest.mark.parametrize("dtypes", [("int64", "int64"), ("int32", "int64"), ("int8", "int8"), ("uint8", "int16")])
def test_bitwise_on_integers_matches_torch(name: str, dtypes: tuple[str, str]) -> None:
    a, b = I1.astype(dtypes[0]), I2.astype(dtypes[1])
    if dtypes[0] == "uint8":
        a = np.abs(I1).astype("uint8")
    agree(OPERATORS[name], a, b)


@pytest.mark.parametrize("name", list(OPERATORS))
def test_bitwise_on_bools_is_logical_and_shifts_are_not_implemented(name: str) -> None:
    agree(OPERATORS[name], B1, B2)


@pytest.mark.parametrize("name", list(OPERATORS))
def test_bitwise_with_python_numbers_matches_torch(name: str) -> None:
    fn = OPERATORS[name]
    for left, right in ((I1, 3), (I1, True), (B1, 1), (B1, True), (I1.astype(np.int8), 2)):
        agree(lambda m, x, fn=fn, right=right: fn(m, x, right), left)
    agree(lambda m, y: 3 & y, I2)
    agree(lambda m, y: 1 << y, I2)
    agree(lambda m, y: 256 >> y, I2)
    agree(lambda m, y: True | y, B1)


@pytest.mark.parametrize("name", list(OPERATORS))
def test_bitwise_on_floats_is_not_implemented(name: str) -> None:
    fn = OPERATORS[name]
    f = np.array([1.0, 2.0])
    agree(fn, f, f)
    agree(fn, I1[:2], f)
    agree(lambda m, x: fn(m, x, 1), f)
    agree(lambda m, x: fn(m, x, 1.5), I1)


def test_invert() -> None:
    agree(lambda m, x: ~x, I1)
    agree(lambda m, x: ~x, I1.astype(np.uint8))
    agree(lambda m, x: ~x, B1)
    agree(lambda m, x: m.bitwise_not(x), I1.astype(np.int16))
    agree(lambda m, x: x.bitwise_not(), B1)
    agree(lambda m, x: ~x, np.array([1.0, -2.0]))  # TypeError
    agree(lambda m, x: m.bitwise_not(x), np.array([1.0, -2.0]))  # NotImplementedError
    agree(lambda m, x: ~(x > 0), I1)


@pytest.mark.parametrize("dtype", ["int64", "int32", "int8", "uint8"])
def test_shifts_past_the_width_of_the_dtype(dtype: str) -> None:
    a = np.array([1, 5, 100, 127], dtype=dtype) if dtype == "uint8" else np.array([1, -5, 100, -128], dtype=dtype)
    counts = np.array([0, 1, 7, 8, 9, 31, 32, 63, 64, 65, 70, -1, -64])
    for c in counts:
        agree(lambda m, x, c=int(c): x << c, a)
        agree(lambda m, x, c=int(c): x >> c, a)
    agree(
        lambda m, x, y: m.bitwise_left_shift(x, y),
        a[:, None],
        counts[None].astype(dtype if dtype != "uint8" else "int16"),
    )
    agree(lambda m, x, y: m.bitwise_right_shift(x, y), a[:, None], counts[None])


def test_logical_ops_and_xor() -> None:
    for name in ["logical_and", "logical_or", "logical_xor"]:
        agree(lambda m, x, y, name=name: getattr(m, name)(x, y), I1, I2.astype(float))
        agree(lambda m, x, y, name=name: getattr(x, name)(y), B1, B2)
    agree(lambda m, x: m.logical_not(x), I1)
    agree(lambda m, x: x.logical_not(), np.array([0.0, -0.0, NAN, 2.0]))


# ------------------------------------------------------------ in place
def _inplace(fn: Callable[..., Any], a: np.ndarray, *other: Any) -> None:
    def both(m: Any, x: Any, *o: Any) -> Any:
        fn(m, x, *o)
        return x

    agree(both, a, *other, rtol=1e-12)


def test_inplace_operators_and_methods() -> None:
    _inplace(lambda m, x, y: x.__iand__(y), I1, I2)
    _inplace(lambda m, x, y: x.__ior__(y), I1, I2)
    _inplace(lambda m, x, y: x.__ixor__(y), B1, B2)
    _inplace(lambda m, x: x.__ilshift__(2), I1)
    _inplace(lambda m, x: x.__irshift__(1), I1)
    _inplace(lambda m, x: x.__ifloordiv__(2), I1)
    _inplace(lambda m, x: x.__imod__(-3), I1)
    _inplace(lambda m, x: x.__ifloordiv__(2), I1.astype(float))
    _inplace(lambda m, x: x.__imod__(2.5), I1.astype(float))
    _inplace(lambda m, x: x.bitwise_not_(), I1)
    _inplace(lambda m, x: x.remainder_(3), I1)
    _inplace(lambda m, x: x.fmod_(3), I1)
    _inplace(lambda m, x: x.floor_divide_(3), I1)
    _inplace(lambda m, x: x.floor_(), np.array([1.5, -2.5]))
    _inplace(lambda m, x: x.round_(decimals=1), np.array([1.25, -2.55]))
    _inplace(lambda m, x: x.frac_(), np.array([1.25, -2.55]))
    _inplace(lambda m, x: x.tan_(), np.array([0.25, -0.5]))
    _inplace(lambda m, x: x.erfinv_(), np.array([0.25, -0.5]))
    _inplace(lambda m, x: x.nan_to_num_(), np.array([NAN, INF, -INF, 1.0]))
    _inplace(lambda m, x, y: x.copysign_(y), np.array([1.0, 2.0]), np.array([-1.0, 0.0]))
    _inplace(lambda m, x, y: x.atan2_(y), np.array([1.0, 2.0]), np.array([-1.0, 0.0]))
    _inplace(lambda m, x, y: x.hypot_(y), np.array([1.0, 2.0]), np.array([-1.0, 0.0]))


def test_inplace_results_that_do_not_fit_raise_like_torch() -> None:
    _inplace(lambda m, x, y: x.__iand__(y), B1, I2[:4])  # int64 into bool
    _inplace(lambda m, x: x.__ifloordiv__(2.5), I1)  # float into int
    _inplace(lambda m, x: x.tan_(), I1)  # float into int
    _inplace(lambda m, x: x.__ixor__(1), np.array([1.0, 2.0]))  # not implemented for float


def test_inplace_on_a_graph_keeps_the_gradient() -> None:
    for m in (gg, torch):
        x = m.tensor([0.3, -1.7, 2.2], dtype=m.float64, requires_grad=True)
        y = x * 3
        y.frac_()
        y.mul_(2)
        (y * y).sum().backward()
        if m is gg:
            ours = _numpy(x.grad)
        else:
            np.testing.assert_allclose(ours, _numpy(x.grad), rtol=1e-12)


# ------------------------------------------------------------ integer powers
def test_integer_to_negative_integer_power_raises_like_torch() -> None:
    for exponent in (-1, -2):
        err = agree(lambda m, x, e=exponent: x**e, I1)
        assert "Integers to negative integer powers are not allowed" in str(err)
        agree(lambda m, x, e=exponent: m.pow(x, e), I1.astype(np.int32))
        agree(lambda m, x, e=exponent: x**e, B1)
    agree(lambda m, x: x**-1.0, I1)  # a float exponent: float32
    agree(lambda m, x: x**0, I1)
    agree(lambda m, x: x**3, I1)
    agree(lambda m, x: x**True, I1)
    agree(lambda m, x: x**2, B1)


def test_integer_tensor_to_negative_integer_tensor_power_matches_torch() -> None:
    base, exponent = np.meshgrid(np.array([0, 1, -1, 2, -2, 3]), np.array([-1, -2, -3, 0, 1, 2, 3]))
    agree(lambda m, x, y: x**y, base.ravel(), exponent.ravel())
    agree(lambda m, x, y: x**y, base.ravel().astype(np.int8), exponent.ravel().astype(np.int8))
    agree(lambda m, y: 2**y, exponent.ravel())
    agree(lambda m, y: (-1) ** y, exponent.ravel())
    agree(lambda m, x, y: x**y, base.ravel(), exponent.ravel().astype(float))


# ------------------------------------------------------------ value tests
VALUES = np.array([1.0, INF, -INF, NAN, 0.0, -0.0, 1e300])


@pytest.mark.parametrize("name", ["isnan", "isinf", "isfinite", "isposinf", "isneginf"])
def test_value_tests_match_torch(name: str) -> None:
    agree(lambda m, x: getattr(m, name)(x), VALUES)
    agree(lambda m, x: getattr(m, name)(x), VALUES.astype(np.float32))
    agree(lambda m, x: getattr(x, name)(), INTS)
    agree(lambda m, x: getattr(m, name)(x), INTS.astype(np.uint8))
    agree(lambda m, x: getattr(m, name)(x), BOOLS)


def test_isclose_matches_torch() -> None:
    a = np.array([NAN, INF, INF, -INF, 1.0, 1.0, 0.0, 1e-9, 100.0])
    b = np.array([NAN, INF, -INF, -INF, 1.0 + 1e-6, 1.001, 1e-9, 0.0, 100.1])
    agree(lambda m, x, y: m.isclose(x, y), a, b)
    agree(lambda m, x, y: m.isclose(x, y, equal_nan=True), a, b)
    agree(lambda m, x, y: x.isclose(y, rtol=1e-3, atol=0.0), a, b)
    agree(lambda m, x, y: m.isclose(x, y, rtol=0.0, atol=0.0), a, b)
    agree(lambda m, x, y: m.isclose(x, y, 0.01, 0.05), a.astype(np.float32), b.astype(np.float32))
    agree(lambda m, x, y: m.isclose(x, y), np.array([10, 11, -3]), np.array([10, 10, -3]))
    agree(lambda m, x, y: m.isclose(x, y, rtol=0.1, atol=0), np.array([10, 11, 12]), np.array([10, 10, 10]))
    agree(lambda m, x, y: m.isclose(x, y), BOOLS, B2[:3])
    agree(lambda m, x, y: m.isclose(x, y, rtol=0.5), BOOLS, B2[:3])


def test_isclose_bad_inputs_raise_like_torch() -> None:
    agree(lambda m, x, y: m.isclose(x, y), np.array([1, 2]), np.array([1.0, 2.0]))  # dtypes differ
    agree(lambda m, x, y: m.isclose(x, y), np.array([1.0]), np.array([1.0], dtype=np.float32))
    agree(lambda m, x, y: m.isclose(x, y, rtol=-1.0), np.array([1.0]), np.array([1.0]), name="rtol")
    agree(lambda m, x, y: m.isclose(x, y, atol=-1.0), np.array([1.0]), np.array([1.0]), name="atol")
    agree(lambda m, x: m.isclose(x, 1.0), np.array([1.0]))


def test_nan_to_num_matches_torch() -> None:
    for dtype in ("float32", "float64"):
        agree(lambda m, x: m.nan_to_num(x), VALUES.astype(dtype))
        agree(lambda m, x: m.nan_to_num(x, nan=2.0, posinf=3.0, neginf=-4.0), VALUES.astype(dtype))
        agree(lambda m, x: x.nan_to_num(posinf=1e300), VALUES.astype(dtype))  # inf in float32
        agree(lambda m, x: x.nan_to_num(neginf=1), VALUES.astype(dtype))
    agree(lambda m, x: m.nan_to_num(x), INTS)
    agree(lambda m, x: m.nan_to_num(x, nan=1.5), BOOLS)


def test_number_to_integer_tensor_power_keeps_the_tensor_dtype() -> None:
    agree(lambda m, y: 2**y, np.array([-1, 2, 3], dtype=np.int8))
    agree(lambda m, y: (-1) ** y, np.array([-1, 2, 3], dtype=np.int16))
    agree(lambda m, y: 2.5**y, np.array([-1, 2, 3], dtype=np.int16))


def test_bitwise_with_numpy_arrays_behaves_as_with_tensors() -> None:
    """A NumPy array operand is taken as a tensor (PyTorch hands it to NumPy instead, so its side here is a tensor)."""

    def lift(m: Any, a: np.ndarray) -> Any:
        return a if m is gg else torch.tensor(a)

    agree(lambda m, x: x & lift(m, np.array([3, 3, 1, 1, 0])), I1)
    agree(lambda m, x: x | lift(m, np.array([False, True, False, True])), B1)
    agree(lambda m, x: lift(m, np.array([True, True, False, False])) ^ x, B1)
    agree(lambda m, x: x & lift(m, np.array([1.5, 2.0, 0, 0, 0])), I1)


# ------------------------------------------------------------ bool and integer inputs of the basic ops
@pytest.mark.parametrize(
    "expr",
    [
        lambda m, b, i, f: m.abs(b),
        lambda m, b, i, f: m.abs(i.to(m.uint8)),
        lambda m, b, i, f: -b,
        lambda m, b, i, f: m.neg(i.to(m.uint8)),
        lambda m, b, i, f: m.square(b),
        lambda m, b, i, f: m.square(i.to(m.int8)),
        lambda m, b, i, f: b - b,
        lambda m, b, i, f: b - 1,
        lambda m, b, i, f: 1 - b,
        lambda m, b, i, f: i - True,
        lambda m, b, i, f: f - b,
        lambda m, b, i, f: m.sub(b, True),
        lambda m, b, i, f: b + b,
        lambda m, b, i, f: b * b,
        lambda m, b, i, f: b / b,
        lambda m, b, i, f: b**b,
        lambda m, b, i, f: b**True,
        lambda m, b, i, f: b**False,
        lambda m, b, i, f: b**2,
        lambda m, b, i, f: m.clamp(i, 0, 1),
        lambda m, b, i, f: m.clamp(i, 0.5, 1),
        lambda m, b, i, f: m.clamp(i, min=0.5),
        lambda m, b, i, f: m.clamp(b, 0, 1),
        lambda m, b, i, f: m.clamp(i.to(m.int32), -1, 1),
        lambda m, b, i, f: m.where(b, 1, 2.5),
        lambda m, b, i, f: m.where(b, 1, 2),
        lambda m, b, i, f: m.where(b, True, False),
        lambda m, b, i, f: m.where(b, i, 2.5),
        lambda m, b, i, f: m.where(b, 2, i.to(m.int8)),
        lambda m, b, i, f: i.masked_fill(b, 2.5),
        lambda m, b, i, f: b.masked_fill(b, 5),
        lambda m, b, i, f: f.masked_fill(b, 7),
        lambda m, b, i, f: m.sign(i.to(m.uint8)),
    ],
)
def test_bool_and_integer_inputs_of_basic_ops_match_torch(expr: Callable[..., Any]) -> None:
    agree(expr, np.array([True, False]), np.array([3, -2]), np.array([1.5, -2.0], dtype=np.float32))


def test_inplace_div_takes_a_rounding_mode_as_pytorch() -> None:
    for mode in ("floor", "trunc"):
        ours, theirs = gg.tensor([7, -7]), torch.tensor([7, -7])
        ours.div_(2, rounding_mode=mode)
        theirs.div_(2, rounding_mode=mode)
        assert ours.tolist() == theirs.tolist() and str(ours.dtype) == "int64"
    with pytest.raises(RuntimeError, match="div_: result type float32 can't be cast to int64"):
        gg.tensor([7, -7]).div_(2)
