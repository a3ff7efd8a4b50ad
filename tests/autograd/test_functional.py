"""gg.autograd.functional against torch.autograd.functional in float64 (atol 1e-10): the same
function (written with methods both libraries have) at the same point, single and tuple inputs and
outputs, the nesting of the results, create_graph, strict mode and the argument errors."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
import torch.autograd.functional as TF

import glassgrad as gg
import glassgrad.autograd.functional as GF

ATOL = 1e-10


def as_gg(arrays: Any) -> Any:
    return tuple(gg.tensor(a) for a in arrays) if isinstance(arrays, tuple) else gg.tensor(arrays)


def as_torch(arrays: Any) -> Any:
    return tuple(torch.tensor(a) for a in arrays) if isinstance(arrays, tuple) else torch.tensor(arrays)


def assert_same(ours: Any, theirs: Any, path: str = "result") -> None:
    """Same nesting (tuples where PyTorch has tuples), shapes, dtypes and values."""
    if isinstance(theirs, tuple):
        assert isinstance(ours, tuple), f"{path}: PyTorch returns a tuple, we return {type(ours).__name__}"
        assert len(ours) == len(theirs), f"{path}: {len(ours)} entries, PyTorch {len(theirs)}"
        for i, (o, t) in enumerate(zip(ours, theirs, strict=True)):
            assert_same(o, t, f"{path}[{i}]")
        return
    assert isinstance(ours, gg.Tensor), f"{path}: PyTorch returns a Tensor, we return {type(ours).__name__}"
    assert ours.shape == tuple(theirs.shape), f"{path}: shape {ours.shape}, PyTorch {tuple(theirs.shape)}"
    assert str(ours.dtype) == str(theirs.dtype).removeprefix("torch."), path
    np.testing.assert_allclose(ours.detach().numpy(), theirs.detach().numpy(), rtol=0, atol=ATOL, err_msg=path)


def requires_grad_everywhere(value: Any, expected: bool) -> None:
    if isinstance(value, tuple):
        for v in value:
            requires_grad_everywhere(v, expected)
    else:
        assert value.requires_grad is expected


@pytest.fixture
def arrays(rng: np.random.Generator) -> dict[str, np.ndarray]:
    return {
        "x": rng.standard_normal((2, 3)),
        "y": rng.standard_normal(3),
        "s": rng.standard_normal(1),
        "vx": rng.standard_normal((2, 3)),
        "vy": rng.standard_normal(3),
        "u2": rng.standard_normal(2),
    }


# func(x) -> Tensor, func(x, y) -> Tensor, func(x, y) -> tuple: methods both libraries share
def one_to_one(x: Any) -> Any:
    return x.exp().sum(1) * x.sin().sum(1)


def two_to_one(x: Any, y: Any) -> Any:
    return (x.tanh() * y).sum(1) + (y * y).sum()


def two_to_two(x: Any, y: Any) -> tuple[Any, Any]:
    return (x.tanh() * y).sum(1), (x * x).sum() * y


def scalar_of_one(x: Any) -> Any:
    return (x.sin() * x.exp()).sum() ** 2


def scalar_of_two(x: Any, y: Any) -> Any:
    return ((x.tanh() * y).sum(1) ** 3).sum() + (y.exp() * y).sum()


class TestJacobian:
    def test_one_input_one_output(self, arrays: dict[str, np.ndarray]) -> None:
        ours = GF.jacobian(one_to_one, as_gg(arrays["x"]))
        assert_same(ours, TF.jacobian(one_to_one, as_torch(arrays["x"])))
        assert ours.shape == (2, 2, 3) and not ours.requires_grad

    def test_tuple_inputs(self, arrays: dict[str, np.ndarray]) -> None:
        xy = (arrays["x"], arrays["y"])
        assert_same(GF.jacobian(two_to_one, as_gg(xy)), TF.jacobian(two_to_one, as_torch(xy)))

    def test_tuple_inputs_and_outputs_nest_output_first(self, arrays: dict[str, np.ndarray]) -> None:
        xy = (arrays["x"], arrays["y"])
        ours = GF.jacobian(two_to_two, as_gg(xy))
        assert_same(ours, TF.jacobian(two_to_two, as_torch(xy)))
        assert ours[1][0].shape == (3, 2, 3)  # ∂out_1/∂x: out_1.shape + x.shape

    def test_tuple_outputs_of_one_input(self, arrays: dict[str, np.ndarray]) -> None:
        def f(x: Any) -> tuple[Any, Any]:
            return x.exp(), x.sum()

        assert_same(GF.jacobian(f, as_gg(arrays["x"])), TF.jacobian(f, as_torch(arrays["x"])))

    def test_one_element_tuple_input_stays_a_tuple(self, arrays: dict[str, np.ndarray]) -> None:
        ours = GF.jacobian(one_to_one, (gg.tensor(arrays["x"]),))
        assert_same(ours, TF.jacobian(one_to_one, (torch.tensor(arrays["x"]),)))

    def test_unused_input_is_zeros(self, arrays: dict[str, np.ndarray]) -> None:
        def f(x: Any, y: Any) -> Any:
            return x.exp()

        xy = (arrays["x"], arrays["y"])
        ours = GF.jacobian(f, as_gg(xy))
        assert_same(ours, TF.jacobian(f, as_torch(xy)))
        assert not ours[1].numpy().any()

    def test_vectorize_gives_the_same_values(self, arrays: dict[str, np.ndarray]) -> None:
        xy = (arrays["x"], arrays["y"])
        assert_same(
            GF.jacobian(two_to_two, as_gg(xy), vectorize=True), TF.jacobian(two_to_two, as_torch(xy), vectorize=True)
        )

    def test_create_graph_result_can_be_differentiated(self, arrays: dict[str, np.ndarray]) -> None:
        x = gg.tensor(arrays["x"], requires_grad=True)
        t = torch.tensor(arrays["x"], requires_grad=True)
        ours = GF.jacobian(one_to_one, x, create_graph=True)
        theirs = TF.jacobian(one_to_one, t, create_graph=True)
        assert_same(ours, theirs)
        assert ours.requires_grad
        (ours**2).sum().backward()
        (theirs**2).sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=0, atol=ATOL)

    def test_strict_raises_for_an_independent_input(self, arrays: dict[str, np.ndarray]) -> None:
        def f(x: Any, y: Any) -> Any:
            return x.exp()

        xy = (arrays["x"], arrays["y"])
        with pytest.raises(RuntimeError, match="Output 0 of the user-provided function is independent of input 1"):
            GF.jacobian(f, as_gg(xy), strict=True)
        with pytest.raises(RuntimeError, match="Output 0 of the user-provided function is independent of input 1"):
            TF.jacobian(f, as_torch(xy), strict=True)

    def test_strict_raises_for_an_output_without_grad(self, arrays: dict[str, np.ndarray]) -> None:
        def f(x: Any) -> Any:
            return x.detach()

        with pytest.raises(RuntimeError, match="Output 0 of the user-provided function does not require gradients"):
            GF.jacobian(f, as_gg(arrays["x"]), strict=True)
        with pytest.raises(RuntimeError, match="Output 0 of the user-provided function does not require gradients"):
            TF.jacobian(f, as_torch(arrays["x"]), strict=True)

    def test_strict_with_create_graph_raises_for_a_constant_jacobian(self, arrays: dict[str, np.ndarray]) -> None:
        def linear(x: Any) -> Any:
            return x * 3.0

        message = "jacobian of the user-provided function is independent of input 0.* when create_graph=True"
        with pytest.raises(RuntimeError, match=message):
            GF.jacobian(linear, as_gg(arrays["y"]), create_graph=True, strict=True)
        with pytest.raises(RuntimeError, match=message):
            TF.jacobian(linear, as_torch(arrays["y"]), create_graph=True, strict=True)
        ours = GF.jacobian(linear, as_gg(arrays["y"]), create_graph=True)
        assert not ours.requires_grad  # a constant: no graph to keep, as in PyTorch
        assert_same(ours, TF.jacobian(linear, as_torch(arrays["y"]), create_graph=True))

    def test_an_empty_output_has_an_empty_jacobian(self, arrays: dict[str, np.ndarray]) -> None:
        ours = GF.jacobian(lambda x: x[:0] * 2.0, as_gg(arrays["y"]))
        assert ours.shape == (0, 3) and ours.dtype == gg.float64

    def test_strict_and_vectorize_are_not_supported_together(self, arrays: dict[str, np.ndarray]) -> None:
        with pytest.raises(RuntimeError, match="`strict=True` and `vectorized?=True`"):
            GF.jacobian(one_to_one, as_gg(arrays["x"]), strict=True, vectorize=True)
        with pytest.raises(RuntimeError, match="`strict=True` and `vectorized?=True`"):
            TF.jacobian(one_to_one, as_torch(arrays["x"]), strict=True, vectorize=True)

    def test_forward_mode_is_not_implemented(self, arrays: dict[str, np.ndarray]) -> None:
        with pytest.raises(NotImplementedError, match='strategy="forward-mode" needs forward-mode AD'):
            GF.jacobian(one_to_one, as_gg(arrays["x"]), strategy="forward-mode")
        with pytest.raises(NotImplementedError, match="create_graph=True"):  # as PyTorch, checked first
            GF.jacobian(one_to_one, as_gg(arrays["x"]), strategy="forward-mode", create_graph=True)
        with pytest.raises(NotImplementedError, match="create_graph=True"):
            TF.jacobian(one_to_one, as_torch(arrays["x"]), strategy="forward-mode", create_graph=True)

    def test_unknown_strategy(self, arrays: dict[str, np.ndarray]) -> None:
        with pytest.raises(AssertionError, match="forward-mode"):
            GF.jacobian(one_to_one, as_gg(arrays["x"]), strategy="sideways")
        with pytest.raises(AssertionError, match="forward-mode"):
            TF.jacobian(one_to_one, as_torch(arrays["x"]), strategy="sideways")

    def test_inputs_must_be_tensors(self) -> None:
        with pytest.raises(TypeError, match="inputs given to jacobian must be either a Tensor or a tuple"):
            GF.jacobian(one_to_one, [1.0, 2.0])
        with pytest.raises(TypeError, match="the value at index 1 has type float"):
            GF.jacobian(two_to_one, (gg.ones(2), 3.0))

    def test_does_not_touch_the_callers_tensors(self, arrays: dict[str, np.ndarray]) -> None:
        x = gg.tensor(arrays["x"], requires_grad=True)
        GF.jacobian(one_to_one, x)
        assert x.grad is None and x.is_leaf


class TestHessian:
    def test_one_input(self, arrays: dict[str, np.ndarray]) -> None:
        ours = GF.hessian(scalar_of_one, as_gg(arrays["x"]))
        assert_same(ours, TF.hessian(scalar_of_one, as_torch(arrays["x"])))
        assert ours.shape == (2, 3, 2, 3)
        flat = ours.numpy().reshape(6, 6)
        np.testing.assert_allclose(flat, flat.T, rtol=0, atol=ATOL)

    def test_tuple_inputs(self, arrays: dict[str, np.ndarray]) -> None:
        xy = (arrays["x"], arrays["y"])
        ours = GF.hessian(scalar_of_two, as_gg(xy))
        assert_same(ours, TF.hessian(scalar_of_two, as_torch(xy)))
        assert ours[0][1].shape == (2, 3, 3)

    def test_one_element_output_of_any_shape(self, arrays: dict[str, np.ndarray]) -> None:
        def f(x: Any) -> Any:
            return (x.exp() * x).sum().reshape(1, 1)

        assert_same(GF.hessian(f, as_gg(arrays["y"])), TF.hessian(f, as_torch(arrays["y"])))

    def test_vectorize_gives_the_same_values(self, arrays: dict[str, np.ndarray]) -> None:
        assert_same(
            GF.hessian(scalar_of_one, as_gg(arrays["y"]), vectorize=True),
            TF.hessian(scalar_of_one, as_torch(arrays["y"]), vectorize=True),
        )

    def test_create_graph(self, arrays: dict[str, np.ndarray]) -> None:
        y = gg.tensor(arrays["y"], requires_grad=True)
        t = torch.tensor(arrays["y"], requires_grad=True)
        ours = GF.hessian(scalar_of_one, y, create_graph=True)
        theirs = TF.hessian(scalar_of_one, t, create_graph=True)
        assert_same(ours, theirs)
        assert ours.requires_grad
        (ours * ours).sum().backward()  # a third derivative
        (theirs * theirs).sum().backward()
        np.testing.assert_allclose(y.grad.numpy(), t.grad.numpy(), rtol=1e-12, atol=1e-9)

    def test_needs_one_element(self, arrays: dict[str, np.ndarray]) -> None:
        with pytest.raises(RuntimeError, match="should contain a single element"):
            GF.hessian(lambda x: x.exp(), as_gg(arrays["y"]))
        with pytest.raises(RuntimeError, match="should contain a single element"):
            TF.hessian(lambda x: x.exp(), as_torch(arrays["y"]))
        with pytest.raises(RuntimeError, match="should return a single Tensor"):
            GF.hessian(lambda x: (x.sum(), x.sum()), as_gg(arrays["y"]))

    def test_strict_raises_for_a_linear_function(self, arrays: dict[str, np.ndarray]) -> None:
        def linear(x: Any) -> Any:
            return (x * 3.0).sum()

        with pytest.raises(RuntimeError, match="jacobian of the user-provided function with respect to input 0"):
            GF.hessian(linear, as_gg(arrays["y"]), strict=True)
        with pytest.raises(RuntimeError, match="jacobian of the user-provided function with respect to input 0"):
            TF.hessian(linear, as_torch(arrays["y"]), strict=True)
        assert_same(GF.hessian(linear, as_gg(arrays["y"])), TF.hessian(linear, as_torch(arrays["y"])))  # zeros

    def test_outer_forward_mode_is_not_implemented(self, arrays: dict[str, np.ndarray]) -> None:
        with pytest.raises(NotImplementedError, match="forward-mode"):
            GF.hessian(scalar_of_one, as_gg(arrays["y"]), outer_jacobian_strategy="forward-mode")


class TestProducts:
    """vjp, jvp, vhp, hvp: (func's output, the product), each nested as PyTorch nests it."""

    @pytest.mark.parametrize("op", ["vjp", "jvp"])
    @pytest.mark.parametrize("func", [one_to_one, two_to_one, two_to_two], ids=lambda f: f.__name__)
    def test_jacobian_products(self, op: str, func: Any, arrays: dict[str, np.ndarray]) -> None:
        two = func is not one_to_one
        inputs = (arrays["x"], arrays["y"]) if two else arrays["x"]
        if op == "jvp":
            v = (arrays["vx"], arrays["vy"]) if two else arrays["vx"]
        else:
            v = (arrays["u2"], arrays["vy"]) if func is two_to_two else arrays["u2"]
        ours = getattr(GF, op)(func, as_gg(inputs), as_gg(v))
        theirs = getattr(TF, op)(func, as_torch(inputs), as_torch(v))
        assert_same(ours, theirs)
        requires_grad_everywhere(ours, False)

    @pytest.mark.parametrize("op", ["vhp", "hvp"])
    @pytest.mark.parametrize("two", [False, True], ids=["one_input", "two_inputs"])
    def test_hessian_products(self, op: str, two: bool, arrays: dict[str, np.ndarray]) -> None:
        func = scalar_of_two if two else scalar_of_one
        inputs = (arrays["x"], arrays["y"]) if two else arrays["x"]
        v = (arrays["vx"], arrays["vy"]) if two else arrays["vx"]
        ours = getattr(GF, op)(func, as_gg(inputs), as_gg(v))
        assert_same(ours, getattr(TF, op)(func, as_torch(inputs), as_torch(v)))
        requires_grad_everywhere(ours, False)

    def test_hvp_is_hessian_times_v(self, arrays: dict[str, np.ndarray]) -> None:
        x, v = as_gg(arrays["x"]), arrays["vx"]
        h = GF.hessian(scalar_of_one, x).numpy().reshape(6, 6)
        _, hv = GF.hvp(scalar_of_one, x, gg.tensor(v))
        np.testing.assert_allclose(hv.numpy().reshape(6), h @ v.reshape(6), rtol=0, atol=ATOL)

    @pytest.mark.parametrize("op", ["vjp", "jvp", "vhp", "hvp"])
    def test_v_may_be_omitted_for_one_element(self, op: str, arrays: dict[str, np.ndarray]) -> None:
        def f(s: Any) -> Any:
            return (s.exp() * s).sum()

        assert_same(getattr(GF, op)(f, as_gg(arrays["s"])), getattr(TF, op)(f, as_torch(arrays["s"])))

    @pytest.mark.parametrize("op", ["vjp", "jvp", "vhp", "hvp"])
    def test_v_is_needed_for_more_elements(self, op: str, arrays: dict[str, np.ndarray]) -> None:
        func = one_to_one if op in ("vjp", "jvp") else scalar_of_one
        with pytest.raises(RuntimeError, match="The vector v can only be None"):
            getattr(TF, op)(func, as_torch(arrays["x"]))
        with pytest.raises(RuntimeError, match="the vector v can only be None"):
            getattr(GF, op)(func, as_gg(arrays["x"]))

    @pytest.mark.parametrize("op", ["jvp", "vhp", "hvp"])
    def test_v_of_the_wrong_shape_or_length(self, op: str, arrays: dict[str, np.ndarray]) -> None:
        func = scalar_of_two if op != "jvp" else two_to_one
        xy = (arrays["x"], arrays["y"])
        bad = (arrays["vx"], arrays["u2"])
        for lib, mod in ((as_gg, GF), (as_torch, TF)):
            with pytest.raises(RuntimeError, match=r"Entry 1 in v has invalid size: should be \(?(torch.Size\(\[)?3"):
                getattr(mod, op)(func, lib(xy), lib(bad))
            with pytest.raises(RuntimeError, match="v is a tuple of invalid length: should be 2 but got 1"):
                getattr(mod, op)(func, lib(xy), (lib(arrays["vx"]),))

    def test_create_graph_products_are_differentiable(self, arrays: dict[str, np.ndarray]) -> None:
        x = gg.tensor(arrays["x"], requires_grad=True)
        v = gg.tensor(arrays["vx"], requires_grad=True)
        tx = torch.tensor(arrays["x"], requires_grad=True)
        tv = torch.tensor(arrays["vx"], requires_grad=True)
        for op in ("vhp", "hvp"):
            out, hv = getattr(GF, op)(scalar_of_one, x, v, create_graph=True)
            tout, thv = getattr(TF, op)(scalar_of_one, tx, tv, create_graph=True)
            assert out.requires_grad and hv.requires_grad
            assert_same((out, hv), (tout, thv))
            (hv * hv).sum().backward()  # back to both x (a third derivative) and v
            (thv * thv).sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12, atol=1e-9)
        np.testing.assert_allclose(v.grad.numpy(), tv.grad.numpy(), rtol=1e-12, atol=1e-9)

    def test_create_graph_jvp_is_differentiable(self, arrays: dict[str, np.ndarray]) -> None:
        x = gg.tensor(arrays["x"], requires_grad=True)
        tx = torch.tensor(arrays["x"], requires_grad=True)
        out, jv = GF.jvp(one_to_one, x, gg.tensor(arrays["vx"]), create_graph=True)
        tout, tjv = TF.jvp(one_to_one, tx, torch.tensor(arrays["vx"]), create_graph=True)
        assert_same((out, jv), (tout, tjv))
        jv.sum().backward()
        tjv.sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=0, atol=ATOL)

    def test_unused_input_gives_zeros_or_raises_in_strict_mode(self, arrays: dict[str, np.ndarray]) -> None:
        def f(x: Any, y: Any) -> Any:
            return (x.exp() * x).sum()

        xy, v = (arrays["x"], arrays["y"]), (arrays["vx"], arrays["vy"])
        for op in ("vjp", "vhp", "hvp"):
            vv = None if op == "vjp" else v
            assert_same(
                getattr(GF, op)(f, as_gg(xy), None if vv is None else as_gg(vv)),
                getattr(TF, op)(f, as_torch(xy), None if vv is None else as_torch(vv)),
            )
            for lib, mod in ((as_gg, GF), (as_torch, TF)):
                with pytest.raises(RuntimeError, match="independent of input 1. This is not allowed in strict mode"):
                    getattr(mod, op)(f, lib(xy), None if vv is None else lib(vv), strict=True)

    def test_jvp_strict_output_without_grad(self, arrays: dict[str, np.ndarray]) -> None:
        for lib, mod in ((as_gg, GF), (as_torch, TF)):
            with pytest.raises(RuntimeError, match="Output 0 of the user-provided function does not require grad"):
                mod.jvp(lambda x: x.detach() * 2, lib(arrays["x"]), lib(arrays["vx"]), strict=True)

    def test_hessian_products_need_one_element(self, arrays: dict[str, np.ndarray]) -> None:
        for op in ("vhp", "hvp"):
            with pytest.raises(RuntimeError, match="should contain a single element"):
                getattr(GF, op)(lambda x: x.exp(), as_gg(arrays["x"]), as_gg(arrays["vx"]))
            with pytest.raises(RuntimeError, match=f"The function given to {op} should return a single Tensor"):
                getattr(GF, op)(lambda x: (x.sum(),), as_gg(arrays["x"]), as_gg(arrays["vx"]))

    def test_works_inside_no_grad(self, arrays: dict[str, np.ndarray]) -> None:
        with gg.no_grad():
            ours = GF.vhp(scalar_of_one, as_gg(arrays["x"]), as_gg(arrays["vx"]))
        with torch.no_grad():
            theirs = TF.vhp(scalar_of_one, as_torch(arrays["x"]), as_torch(arrays["vx"]))
        assert_same(ours, theirs)
