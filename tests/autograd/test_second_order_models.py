"""Second derivatives where users need them, each beside PyTorch in float64:

* the Hessian of a small MLP's loss with respect to all its parameters, flattened;
* WGAN-GP: a critic trained with the gradient penalty (‖∇_x̂ D(x̂)‖₂ − 1)², whose backward goes
  through a gradient (create_graph), a few Adam steps compared step by step;
* Newton's method on the Rosenbrock function with the Hessian from gg.autograd.functional.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
import torch.autograd.functional as TF
import torch.nn.functional as TNF

import glassgrad as gg
import glassgrad.autograd.functional as GF
import glassgrad.nn.functional as GNF

ATOL = 1e-10


def twin(module: gg.nn.Module, torch_module: torch.nn.Module) -> torch.nn.Module:
    """``torch_module`` in float64 with ``module``'s weights (the same state_dict keys)."""
    state = {k: torch.tensor(np.asarray(v.array)) for k, v in module.state_dict().items()}
    torch_module.to(torch.float64).load_state_dict(state, strict=True)
    return torch_module


def assert_same_weights(module: gg.nn.Module, torch_module: torch.nn.Module, what: str) -> None:
    theirs = dict(torch_module.named_parameters())
    for name, p in module.named_parameters():
        np.testing.assert_allclose(
            p.detach().numpy(), theirs[name].detach().numpy(), rtol=1e-10, atol=ATOL, err_msg=f"{what}: {name}"
        )


class TestMLPLossHessian:
    """A 3-4-2 MLP with tanh, MSE loss on a batch of 5: H = ∂²L/∂θ² for θ = all 26 parameters."""

    SHAPES = ((4, 3), (4,), (2, 4), (2,))  # W1, b1, W2, b2

    @staticmethod
    def unflatten(theta: Any) -> list[Any]:
        parts, start = [], 0
        for shape in TestMLPLossHessian.SHAPES:
            n = int(np.prod(shape))
            parts.append(theta[start : start + n].reshape(*shape))
            start += n
        return parts

    @pytest.fixture
    def setup(self, rng: np.random.Generator) -> dict[str, Any]:
        model = gg.nn.Sequential(gg.nn.Linear(3, 4), gg.nn.Tanh(), gg.nn.Linear(4, 2)).to(gg.float64)
        theta = np.concatenate([p.detach().numpy().ravel() for p in model.parameters()])
        assert theta.size == 26
        return {"model": model, "theta": theta, "x": rng.standard_normal((5, 3)), "y": rng.standard_normal((5, 2))}

    def test_hessian_of_the_flattened_parameters(self, setup: dict[str, Any]) -> None:
        x, y = gg.tensor(setup["x"]), gg.tensor(setup["y"])
        tx, ty = torch.tensor(setup["x"]), torch.tensor(setup["y"])

        def loss(theta: gg.Tensor) -> gg.Tensor:
            w1, b1, w2, b2 = self.unflatten(theta)
            return GNF.mse_loss(GNF.linear(GNF.linear(x, w1, b1).tanh(), w2, b2), y)

        def torch_loss(theta: torch.Tensor) -> torch.Tensor:
            w1, b1, w2, b2 = self.unflatten(theta)
            return TNF.mse_loss(TNF.linear(TNF.linear(tx, w1, b1).tanh(), w2, b2), ty)

        ours = GF.hessian(loss, gg.tensor(setup["theta"]))
        theirs = TF.hessian(torch_loss, torch.tensor(setup["theta"]))
        assert ours.shape == (26, 26)
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=0, atol=ATOL)
        np.testing.assert_allclose(ours.numpy(), ours.numpy().T, rtol=0, atol=ATOL)
        # the output layer's block is exact Gauss-Newton: L is quadratic in (W2, b2), H = 2/(N·2) Σ hᵀh ⊗ I
        h = np.tanh(setup["x"] @ self.unflatten(setup["theta"])[0].T + self.unflatten(setup["theta"])[1])
        features = np.hstack([h, np.ones((5, 1))])  # [h, 1] per sample
        block = np.kron(np.eye(2), features.T @ features) * 2 / 10  # θ order: W2 row-major, then b2
        order = [*range(16, 20), 24, *range(20, 24), 25]  # (W2[0,:], b2[0], W2[1,:], b2[1])
        np.testing.assert_allclose(ours.numpy()[np.ix_(order, order)], block, rtol=0, atol=ATOL)

    def test_hessian_vector_product_of_the_model_itself(self, setup: dict[str, Any]) -> None:
        """The gg.nn model (its own Linear layers) and its PyTorch twin: Hv by grad of (∇L · v)."""
        model = setup["model"]
        torch_model = twin(model, torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2)))
        v = np.random.default_rng(7).standard_normal(26)

        def hv(m: Any, lib: Any, functional: Any) -> np.ndarray:
            params = list(m.parameters())
            loss = functional.mse_loss(m(lib.tensor(setup["x"])), lib.tensor(setup["y"]))
            grads = lib.autograd.grad(loss, params, create_graph=True)
            flat_v = self.unflatten(lib.tensor(v))
            dot = sum((g * u).sum() for g, u in zip(grads, flat_v, strict=True))
            return np.concatenate([g.detach().numpy().ravel() for g in lib.autograd.grad(dot, params)])

        ours, theirs = hv(model, gg, GNF), hv(torch_model, torch, TNF)
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=ATOL)


class TestWGANGradientPenalty:
    """Critic D: 2 → 8 → 8 → 1 (Linear, LeakyReLU(0.2)); generator G: 2 → 8 → 2. Each step: the critic's
    loss D(G(z)) − D(x) + λ(‖∇_x̂ D(x̂)‖₂ − 1)² at x̂ = εx + (1−ε)G(z), one Adam step of D; then one
    Adam step of G on −D(G(z)). The penalty's backward is a second derivative of D."""

    STEPS = 5
    LAMBDA = 10.0

    @staticmethod
    def critic(lib: Any) -> Any:
        nn = lib.nn
        return nn.Sequential(nn.Linear(2, 8), nn.LeakyReLU(0.2), nn.Linear(8, 8), nn.LeakyReLU(0.2), nn.Linear(8, 1))

    @staticmethod
    def generator(lib: Any) -> Any:
        nn = lib.nn
        return nn.Sequential(nn.Linear(2, 8), nn.LeakyReLU(0.2), nn.Linear(8, 2))

    @staticmethod
    def penalty(lib: Any, critic: Any, x_hat: Any) -> Any:
        (g,) = lib.autograd.grad(critic(x_hat).sum(), x_hat, create_graph=True)
        return ((g.norm(2, dim=1) - 1.0) ** 2).mean()

    def run(self, lib: Any, critic: Any, generator: Any, data: dict[str, np.ndarray]) -> list[dict[str, Any]]:
        """Train STEPS steps; per step the losses and the weights after it."""
        d_opt = lib.optim.Adam(critic.parameters(), lr=1e-2, betas=(0.5, 0.9))
        g_opt = lib.optim.Adam(generator.parameters(), lr=1e-2, betas=(0.5, 0.9))
        history = []
        for step in range(self.STEPS):
            real, z = lib.tensor(data["real"][step]), lib.tensor(data["z"][step])
            eps = lib.tensor(data["eps"][step])
            fake = generator(z).detach()
            x_hat = (eps * real + (1 - eps) * fake).requires_grad_(True)
            gp = self.penalty(lib, critic, x_hat)
            d_loss = critic(fake).mean() - critic(real).mean() + self.LAMBDA * gp
            d_opt.zero_grad()
            d_loss.backward()
            d_opt.step()
            g_loss = -critic(generator(z)).mean()
            g_opt.zero_grad()
            g_loss.backward()
            g_opt.step()
            history.append(
                {
                    "gp": gp.item(),
                    "d_loss": d_loss.item(),
                    "g_loss": g_loss.item(),
                    "critic": [p.detach().numpy().copy() for p in critic.parameters()],
                    "generator": [p.detach().numpy().copy() for p in generator.parameters()],
                }
            )
        return history

    def test_trains_beside_pytorch(self, rng: np.random.Generator) -> None:
        data = {
            "real": rng.standard_normal((self.STEPS, 6, 2)) * 0.5 + np.array([2.0, -1.0]),
            "z": rng.standard_normal((self.STEPS, 6, 2)),
            "eps": rng.uniform(size=(self.STEPS, 6, 1)),
        }
        critic, generator = self.critic(gg).to(gg.float64), self.generator(gg).to(gg.float64)
        torch_critic, torch_generator = twin(critic, self.critic(torch)), twin(generator, self.generator(torch))
        ours = self.run(gg, critic, generator, data)
        theirs = self.run(torch, torch_critic, torch_generator, data)
        for step, (o, t) in enumerate(zip(ours, theirs, strict=True)):
            for key in ("gp", "d_loss", "g_loss"):
                np.testing.assert_allclose(o[key], t[key], rtol=1e-10, atol=ATOL, err_msg=f"step {step}: {key}")
            for net in ("critic", "generator"):
                for i, (a, b) in enumerate(zip(o[net], t[net], strict=True)):
                    np.testing.assert_allclose(a, b, rtol=1e-10, atol=ATOL, err_msg=f"step {step}: {net} param {i}")
        assert ours[0]["gp"] > 0.1  # the penalty is active: a random critic's gradient norm is far from 1
        assert ours[-1]["critic"][0].tolist() != ours[0]["critic"][0].tolist()

    def test_the_penalty_gradient_is_a_second_derivative(self, rng: np.random.Generator) -> None:
        """dGP/dθ of the critic alone, against PyTorch: it exists only through the recorded backward."""
        critic = self.critic(gg).to(gg.float64)
        torch_critic = twin(critic, self.critic(torch))
        x_hat = rng.standard_normal((4, 2))
        gp = self.penalty(gg, critic, gg.tensor(x_hat, requires_grad=True))
        tgp = self.penalty(torch, torch_critic, torch.tensor(x_hat, requires_grad=True))
        gp.backward()
        tgp.backward()
        theirs = dict(torch_critic.named_parameters())
        for name, p in critic.named_parameters():
            theirs_grad = theirs[name].grad
            if name.endswith("bias"):
                # ∇_x D is piecewise constant in the biases (LeakyReLU's slopes are fixed): dGP/db = 0.
                # PyTorch returns zeros for the hidden biases (its graph reaches them through the masks)
                # and None for the last one; ours has no edge through a mask, so None for all three.
                assert p.grad is None
                assert theirs_grad is None or not theirs_grad.any()
                continue
            np.testing.assert_allclose(p.grad.numpy(), theirs_grad.numpy(), rtol=1e-10, atol=ATOL, err_msg=name)


def rosenbrock(p: Any) -> Any:
    """f(x, y) = (1 − x)² + 100 (y − x²)²: a curved valley, minimum 0 at (1, 1)."""
    x, y = p[0], p[1]
    return (1 - x) ** 2 + 100 * (y - x**2) ** 2


class TestNewtonOnRosenbrock:
    START = (-1.2, 1.0)  # the classic start, on the far side of the valley

    @staticmethod
    def newton(lib: Any, functional: Any, solve: Any, steps: int) -> list[tuple[np.ndarray, float]]:
        """pₖ₊₁ = pₖ − H(pₖ)⁻¹ ∇f(pₖ), with ∇f and H from the library's functional API."""
        p = lib.tensor(np.array(TestNewtonOnRosenbrock.START))
        path = [(np.array(TestNewtonOnRosenbrock.START), float(rosenbrock(p)))]
        for _ in range(steps):
            f, grad = functional.vjp(rosenbrock, p)
            hess = functional.hessian(rosenbrock, p)
            p = p - solve(hess, grad)
            path.append((p.numpy().copy(), float(f)))
        return path

    def test_converges_to_the_minimum_matching_pytorch_step_by_step(self) -> None:
        def gg_solve(a: gg.Tensor, b: gg.Tensor) -> gg.Tensor:
            return gg.tensor(np.linalg.solve(a.numpy(), b.numpy()))

        ours = self.newton(gg, GF, gg_solve, steps=7)
        theirs = self.newton(torch, TF, torch.linalg.solve, steps=7)
        for k, ((p, f), (tp, tf)) in enumerate(zip(ours, theirs, strict=True)):
            np.testing.assert_allclose(p, tp, rtol=0, atol=ATOL, err_msg=f"iterate {k}")
            np.testing.assert_allclose(f, tf, rtol=1e-10, atol=ATOL, err_msg=f"f at iterate {k}")
        np.testing.assert_allclose(ours[-1][0], [1.0, 1.0], rtol=0, atol=1e-12)

    def test_the_hessian_is_the_hand_derived_one(self) -> None:
        """H = [[2 − 400(y − 3x²), −400x], [−400x, 200]] (d²f/dx² = 2 − 400y + 1200x²)."""
        x, y = 0.3, -0.7
        got = GF.hessian(rosenbrock, gg.tensor(np.array([x, y]))).numpy()
        want = np.array([[2 - 400 * (y - 3 * x * x), -400 * x], [-400 * x, 200.0]])
        np.testing.assert_allclose(got, want, rtol=0, atol=1e-10)
