"""linreg: a straight line fitted by gradient descent, with nothing but engine ops.

    ŷ = θ₀ + θ₁ x,   L(θ) = mean((ŷ − y)²),
    ∂L/∂θ₀ = 2 mean(ŷ − y),   ∂L/∂θ₁ = 2 mean((ŷ − y) x),   θ ← θ − lr ∇L

On x = 1..5, y = (2, 4, 5, 4, 5), from θ = 0 with lr 0.01, 1000 full-batch steps
(one per epoch) give θ = (2.136117, 0.617695); least squares is (2.2, 0.6), which
gradient descent approaches only slowly along the poorly conditioned direction.
Float64, so that the six digits are the method's, not rounding's.
"""

from __future__ import annotations

from .. import nn
from ..data import DataLoader, TensorDataset
from ..engine import creation, dtypes
from ..engine.tensor import Tensor
from ..training.config import TrainConfig
from ..training.task import SupervisedTask, Task
from .common import make_optimizer
from .registry import Recipe, register

X = [1.0, 2.0, 3.0, 4.0, 5.0]
Y = [2.0, 4.0, 5.0, 4.0, 5.0]


class LinearRegression(nn.Module):
    """ŷ = θ₀ + θ₁ x with θ = (intercept, slope) starting at zero."""

    def __init__(self) -> None:
        super().__init__()
        self.theta = nn.Parameter(creation.zeros(2, dtype=dtypes.float64))

    def forward(self, x: Tensor) -> Tensor:
        return self.theta[0] + self.theta[1] * x


def build(config: TrainConfig) -> SupervisedTask:
    model = LinearRegression().to(config.device)
    x = creation.tensor(X, dtype=dtypes.float64)
    y = creation.tensor(Y, dtype=dtypes.float64)
    train_loader = DataLoader(TensorDataset(x, y), batch_size=config.batch_size)
    optimizer = make_optimizer(config, model.parameters())
    return SupervisedTask(
        model, nn.MSELoss(), optimizer, train_loader, device=config.device, precision=config.precision
    )


def report(task: Task) -> list[str]:
    """θ = (intercept, slope) after training."""
    theta = [float(v) for v in task.model.theta.detach().cpu().numpy()]
    return [f"θ = ({theta[0]:.6f}, {theta[1]:.6f})  (ŷ = θ₀ + θ₁ x; least squares: (2.2, 0.6))"]


RECIPE = register(
    Recipe(
        "linreg",
        "linear regression by gradient descent on 5 points (θ → 2.136117, 0.617695)",
        TrainConfig(epochs=1000, batch_size=5, lr=0.01, optimizer="sgd"),
        build,
        report=report,
    )
)
