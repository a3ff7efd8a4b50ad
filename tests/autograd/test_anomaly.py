"""Anomaly mode: the first op whose forward output or backward gradient holds NaN/Inf raises,
naming the op (PyTorch's message) and showing the user's line that created it; off, nothing is
checked."""

from __future__ import annotations

import inspect
import warnings

import numpy as np
import pytest
import torch

import glassgrad as gg
from glassgrad.engine import observers

# the NaN and Inf here are made on purpose: NumPy's warnings about them are expected
pytestmark = pytest.mark.filterwarnings("ignore::RuntimeWarning")


def next_line() -> int:
    """The line number of the caller's next line (where the forward call under test is)."""
    return inspect.currentframe().f_back.f_lineno + 1


class Siamese(gg.nn.Module):
    """Embeds two inputs with one Linear layer; the loss is the mean Euclidean distance of the pairs,
    √Σ(e₁ − e₂)². A pair of equal inputs is at distance 0: finite forward, but d√u/du = 1/(2√u) = ∞."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = gg.nn.Linear(3, 2, dtype=gg.float64)

    def forward(self, a: gg.Tensor, b: gg.Tensor) -> gg.Tensor:
        d = self.embed(a) - self.embed(b)
        self.line = next_line()
        return (d * d).sum(1).sqrt().mean()


@pytest.fixture(autouse=True)
def _anomaly_off_after() -> None:
    yield
    assert not gg.autograd.is_anomaly_enabled() and not observers.ACTIVE, "a test left anomaly mode on"


def pair_with_a_twin(rng: np.random.Generator) -> tuple[gg.Tensor, gg.Tensor]:
    a = rng.standard_normal((3, 3))
    b = rng.standard_normal((3, 3))
    b[1] = a[1]  # the second pair is one point twice
    return gg.tensor(a), gg.tensor(b)


class TestBackward:
    def test_a_model_whose_backward_makes_inf(self, rng: np.random.Generator) -> None:
        model = Siamese()
        a, b = pair_with_a_twin(rng)
        with gg.autograd.detect_anomaly():
            loss = model(a, b)
            assert np.isfinite(loss.item())  # the forward is fine
            with pytest.raises(RuntimeError) as info:
                loss.backward()
        message = str(info.value)
        assert message.startswith("Function 'SqrtBackward' returned inf values in its 0th output.\n")
        assert "Traceback of forward call that created SqrtBackward" in message
        assert f'File "{__file__}", line {model.line}, in forward' in message
        assert "return (d * d).sum(1).sqrt().mean()" in message
        assert "loss = model(a, b)" in message  # the user's call into the model, above it
        assert "glassgrad/engine" not in message  # only the user's frames

    def test_without_anomaly_mode_the_same_model_gives_nan_silently(self, rng: np.random.Generator) -> None:
        model = Siamese()
        a, b = pair_with_a_twin(rng)
        model(a, b).backward()
        assert np.isnan(model.embed.weight.grad.numpy()).all()  # every weight touches the twin pair

    def test_nan_in_backward_named_like_pytorch(self) -> None:
        """√x at 0 followed by relu(· − 1): the incoming gradient is 0, so dL/dx = 0/(2·0) = NaN."""
        values = np.array([0.0, 4.0])
        x, tx = gg.tensor(values, requires_grad=True), torch.tensor(values, requires_grad=True)
        with gg.autograd.detect_anomaly():
            line = next_line()
            y = x.sqrt()
            loss = (y - 1.0).relu().sum()
            with pytest.raises(RuntimeError) as ours:
                loss.backward()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # PyTorch warns its forward traceback
            with torch.autograd.detect_anomaly():
                loss = (tx.sqrt() - 1.0).relu().sum()
                with pytest.raises(RuntimeError) as theirs:
                    loss.backward()
        first = str(ours.value).splitlines()[0]
        assert first == "Function 'SqrtBackward' returned nan values in its 0th output."
        assert first == str(theirs.value).splitlines()[0].replace("SqrtBackward0", "SqrtBackward")
        assert f'File "{__file__}", line {line}, in test_nan_in_backward_named_like_pytorch' in str(ours.value)
        assert "y = x.sqrt()" in str(ours.value)

    def test_the_index_names_the_input(self) -> None:
        """z = x / y at x = 1, y = 1e-200: z = 1e200 and dL/dx = 1/y = 1e200 are finite, dL/dy = -z/y overflows."""
        x, tx = (
            gg.tensor(np.array([1.0]), requires_grad=True),
            torch.tensor([1.0], dtype=torch.float64, requires_grad=True),
        )
        y, ty = (
            gg.tensor(np.array([1e-200]), requires_grad=True),
            torch.tensor([1e-200], dtype=torch.float64, requires_grad=True),
        )
        with gg.autograd.detect_anomaly():
            with pytest.raises(RuntimeError, match=r"^Function 'DivBackward' returned inf values in its 1th output"):
                (x / y).sum().backward()
        ((tx / ty).sum()).backward()
        assert np.isfinite(tx.grad.item()) and np.isinf(ty.grad.item())  # the same values in PyTorch

    def test_a_node_made_outside_anomaly_mode(self) -> None:
        x = gg.tensor(np.array([0.0]), requires_grad=True)
        y = x.sqrt()
        with gg.autograd.detect_anomaly():
            with pytest.raises(RuntimeError, match="No forward pass information available for SqrtBackward"):
                y.sum().backward()

    def test_a_recorded_backward_is_checked_too(self) -> None:
        """The norm of a zero vector: its recorded backward's ops make the Inf; the node is named."""
        x = gg.tensor(np.array([0.0, 0.0]), requires_grad=True)
        with gg.autograd.detect_anomaly():
            y = (x * x).sum().sqrt()
            with pytest.raises(RuntimeError, match="^Function 'SqrtBackward' returned inf values in its 0th output"):
                gg.autograd.grad(y, x, create_graph=True)


class TestForward:
    def test_nan_from_finite_inputs(self) -> None:
        x = gg.tensor(np.array([-1.0, 4.0]), requires_grad=True)
        with gg.autograd.detect_anomaly():
            line = next_line()
            with pytest.raises(RuntimeError) as info:
                x.sqrt()
        message = str(info.value)
        assert message.startswith("Function 'Sqrt' returned nan values in its output in the forward pass.\n")
        assert f'File "{__file__}", line {line + 1}, in test_nan_from_finite_inputs' in message

    def test_inf_from_finite_inputs(self) -> None:
        with gg.autograd.detect_anomaly():
            with pytest.raises(RuntimeError, match="Function 'Log' returned inf values in its output"):
                gg.tensor(np.array([0.0, 1.0])).log()
            with pytest.raises(RuntimeError, match="Function 'Exp' returned inf values"):
                gg.tensor(np.array([1000.0])).exp()

    def test_inf_passed_through_or_asked_for_is_fine(self) -> None:
        with gg.autograd.detect_anomaly():
            x = gg.tensor(np.array([1.0, 2.0]), requires_grad=True)
            masked = x.masked_fill(gg.tensor(np.array([True, False])), float("-inf"))  # an attention mask
            shifted = masked + 1.0  # -inf in, -inf out
            assert np.isneginf(shifted.detach().numpy()[0])
            assert shifted.softmax(-1).detach().numpy().tolist() == [0.0, 1.0]

    def test_nan_from_nan_inputs_says_so(self) -> None:
        with gg.autograd.detect_anomaly():
            with pytest.raises(RuntimeError, match=r"Function 'Mul' .*\(its inputs already held non-finite values\)"):
                gg.tensor(np.array([np.nan, 1.0])) * 2.0

    def test_check_nan_false_only_records(self) -> None:
        x = gg.tensor(np.array([-1.0]), requires_grad=True)
        with gg.autograd.detect_anomaly(check_nan=False):
            assert not gg.autograd.is_anomaly_check_nan_enabled()
            x.sqrt().sum().backward()
        assert np.isnan(x.grad.numpy()).all()
        assert gg.autograd.is_anomaly_check_nan_enabled()


class TestSwitches:
    def test_nothing_is_checked_outside_the_context(self) -> None:
        assert not gg.autograd.is_anomaly_enabled()
        with gg.autograd.detect_anomaly():
            assert gg.autograd.is_anomaly_enabled() and len(observers.ACTIVE) == 1
        assert not observers.ACTIVE
        y = gg.tensor(np.array([-1.0]), requires_grad=True).sqrt()  # NaN, unchecked
        y.sum().backward()

    def test_the_decorator(self) -> None:
        calls = []

        @gg.autograd.detect_anomaly()
        def train_step(values: np.ndarray) -> float:
            calls.append(gg.autograd.is_anomaly_enabled())
            x = gg.tensor(values, requires_grad=True)
            loss = (x.sqrt() - 1.0).relu().sum()
            loss.backward()
            return loss.item()

        assert train_step(np.array([4.0])) == 1.0
        assert not gg.autograd.is_anomaly_enabled()
        with pytest.raises(RuntimeError, match="Function 'SqrtBackward' returned nan values") as info:
            train_step(np.array([0.0, 4.0]))
        assert "in train_step" in str(info.value) and "x.sqrt()" in str(info.value)
        assert calls == [True, True] and not gg.autograd.is_anomaly_enabled()

    def test_the_mode_is_restored_after_an_error(self) -> None:
        with pytest.raises(ValueError), gg.autograd.detect_anomaly():
            raise ValueError("inside")
        assert not gg.autograd.is_anomaly_enabled()

    def test_set_detect_anomaly(self) -> None:
        gg.autograd.set_detect_anomaly(True)
        try:
            assert gg.autograd.is_anomaly_enabled()
            with pytest.raises(RuntimeError, match="Function 'Log'"):
                gg.tensor(np.array([0.0])).log()
            with gg.autograd.set_detect_anomaly(False):  # as a context manager: the old mode comes back
                assert not gg.autograd.is_anomaly_enabled() and not observers.ACTIVE
                gg.tensor(np.array([0.0])).log()
            assert gg.autograd.is_anomaly_enabled()
        finally:
            gg.autograd.set_detect_anomaly(False)
        assert not gg.autograd.is_anomaly_enabled()

    def test_nesting(self) -> None:
        with gg.autograd.detect_anomaly():
            with gg.autograd.detect_anomaly(check_nan=False):
                assert gg.autograd.is_anomaly_enabled() and not gg.autograd.is_anomaly_check_nan_enabled()
            assert gg.autograd.is_anomaly_check_nan_enabled() and len(observers.ACTIVE) == 1
        assert not gg.autograd.is_anomaly_enabled()

    def test_bad_arguments(self) -> None:
        with pytest.raises(TypeError, match="set_detect_anomaly: mode must be a bool, got 'yes'"):
            gg.autograd.set_detect_anomaly("yes")
        with pytest.raises(TypeError, match="detect_anomaly: check_nan must be a bool"):
            gg.autograd.detect_anomaly(check_nan=1)
        assert not gg.autograd.is_anomaly_enabled()
