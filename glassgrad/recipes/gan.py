"""gan: a generative adversarial network that draws MNIST digits.

Generator G: 100-d noise z → 256 → 512 → 784 → tanh, reshaped to 1×28×28 in [−1, 1].
Discriminator D: 1×28×28 → 512 → 256 → one logit (LeakyReLU 0.2 between layers).
Alternating updates each batch, with ℓ(s, t) = BCEWithLogits(s, t):

    D step:  L_D = ℓ(D(x), 1) + ℓ(D(G(z)), 0)      (G(z) detached: only D learns)
    G step:  L_G = ℓ(D(G(z)), 1)                    the non-saturating loss: −log σ(D(G(z)))
                                                    keeps a strong gradient while D wins

Adam (lr 2e-4, β = (0.5, 0.999)). Every epoch writes a grid of 64 samples from fixed
noise to ``samples_epoch_NNN.png``. Quality, when ``--classifier`` names a trained
mnist-cnn checkpoint: the share of 1,000 samples it classifies with confidence > 0.9,
and how many of the ten digits appear among those (a collapsed GAN draws one or two).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .. import nn
from ..engine import creation, dtypes
from ..engine.grad_mode import no_grad
from ..engine.tensor import Tensor
from ..training.config import TrainConfig
from ..training.plots import save_image_grid
from ..training.task import StepResult, to_device
from .common import MNIST_MEAN, MNIST_STD, check_mnist_dir, loaders, make_optimizer, mnist_datasets
from .registry import Recipe, register

NOISE_DIM = 100
GRID_SAMPLES = 64
QUALITY_SAMPLES = 1000
CONFIDENCE = 0.9


def build_generator() -> nn.Sequential:
    return nn.Sequential(
        nn.Linear(NOISE_DIM, 256),
        nn.LeakyReLU(0.2),
        nn.Linear(256, 512),
        nn.LeakyReLU(0.2),
        nn.Linear(512, 784),
        nn.Tanh(),
        nn.Unflatten(1, (1, 28, 28)),
    )


def build_discriminator() -> nn.Sequential:
    return nn.Sequential(
        nn.Flatten(),
        nn.Linear(784, 512),
        nn.LeakyReLU(0.2),
        nn.Linear(512, 256),
        nn.LeakyReLU(0.2),
        nn.Linear(256, 1),
    )


def confident_share(images: Tensor, classifier: nn.Module) -> tuple[float, int]:
    """Share of ``images`` (in [0, 1]) that ``classifier`` puts in one class with p > 0.9,
    and the number of distinct classes among them. The classifier is mnist-cnn, which
    sees standardised pixels."""
    classifier.eval()
    with no_grad():
        probabilities = classifier((images - MNIST_MEAN) / MNIST_STD).softmax(dim=1).cpu().numpy()
    confident = probabilities.max(axis=1) > CONFIDENCE
    return float(confident.mean()), len(set(probabilities.argmax(axis=1)[confident].tolist()))


@dataclass
class GANTask:
    """The two players, their optimizers, and the alternating step."""

    generator: nn.Module
    discriminator: nn.Module
    g_optimizer: Any
    d_optimizer: Any
    train_loader: Any
    fixed_noise: Tensor
    classifier: nn.Module | None = None
    device: str = "cpu"
    test_loader: Any = None

    def __post_init__(self) -> None:
        self.loss_fn = nn.BCEWithLogitsLoss()

    def modules(self) -> dict[str, nn.Module]:
        return {"generator": self.generator, "discriminator": self.discriminator}

    def optimizers(self) -> dict[str, Any]:
        return {"generator": self.g_optimizer, "discriminator": self.d_optimizer}

    def metric_labels(self) -> dict[str, str]:
        """Legend names in metrics.png: train_loss is the discriminator's L_D, train_g_loss the generator's L_G."""
        return {"train_loss": "discriminator (train_loss)", "train_g_loss": "generator (train_g_loss)"}

    def train_step(self, batch: Any) -> StepResult:
        images, _ = to_device(batch, self.device)
        real = images * 2 - 1
        n = real.shape[0]
        ones = creation.ones(n, 1, dtype=real.dtype, device=self.device)
        zeros = creation.zeros(n, 1, dtype=real.dtype, device=self.device)
        fake = self.generator(creation.randn(n, NOISE_DIM, dtype=real.dtype, device=self.device))

        d_loss = self.loss_fn(self.discriminator(real), ones) + self.loss_fn(self.discriminator(fake.detach()), zeros)
        self.d_optimizer.zero_grad()
        d_loss.backward()
        self.d_optimizer.step()

        g_loss = self.loss_fn(self.discriminator(fake), ones)
        self.g_optimizer.zero_grad()
        g_loss.backward()
        self.g_optimizer.step()
        return StepResult(d_loss.detach() * n, n, extra={"g_loss": g_loss.detach() * n})

    def sample(self, noise: Tensor) -> Tensor:
        """Generated images for ``noise``, in [0, 1]."""
        self.generator.eval()
        with no_grad():
            images = (self.generator(noise) + 1) / 2
        self.generator.train()
        return images

    def end_epoch(self, epoch: int, out_dir: Path) -> dict[str, float]:
        grid = self.sample(self.fixed_noise).cpu().numpy() * 2 - 1
        save_image_grid(grid, Path(out_dir) / f"samples_epoch_{epoch:03d}.png")
        if self.classifier is None:
            return {}
        rng = np.random.default_rng(epoch)
        noise = creation.tensor(rng.standard_normal((QUALITY_SAMPLES, NOISE_DIM)), dtype=self.fixed_noise.dtype)
        share, classes = confident_share(self.sample(noise.to(self.device)), self.classifier)
        return {"quality_confident_share": share, "quality_digit_classes": classes}


def load_classifier(path: str, device: str) -> nn.Module:
    """A trained mnist-cnn from a ``train mnist-cnn`` checkpoint."""
    import glassgrad

    from .mnist_cnn import build_model

    state = glassgrad.load(path)
    if "model" not in state.get("modules", {}):
        raise ValueError(f"gan: {path} is not a mnist-cnn training checkpoint (no modules.model)")
    classifier = build_model()
    classifier.load_state_dict(state["modules"]["model"])
    return classifier.to(device)


def build(config: TrainConfig) -> GANTask:
    train, _ = mnist_datasets(config.data_dir)
    generator, discriminator = build_generator().to(config.device), build_discriminator().to(config.device)
    train_loader, _ = loaders(train, None, config)
    betas = (0.5, 0.999)
    fixed = np.random.default_rng(config.seed + 1).standard_normal((GRID_SAMPLES, NOISE_DIM))
    return GANTask(
        generator,
        discriminator,
        make_optimizer(config, generator.parameters(), betas=betas),
        make_optimizer(config, discriminator.parameters(), betas=betas),
        train_loader,
        creation.tensor(fixed, dtype=dtypes.float32, device=config.device),
        load_classifier(config.classifier, config.device) if config.classifier else None,
        config.device,
    )


RECIPE = register(
    Recipe(
        "gan",
        "MLP GAN on MNIST (noise 100 → 28×28), non-saturating loss, Adam; sample grid PNG per epoch",
        TrainConfig(epochs=20, batch_size=64, lr=2e-4, optimizer="adam"),
        build,
        check_data=check_mnist_dir,
    )
)
