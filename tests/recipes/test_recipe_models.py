"""The recipes: registry, exact parameter counts, linreg's exact θ, bad configs."""

from __future__ import annotations

import pytest

import glassgrad as gg
from glassgrad.recipes import cifar_cnn, get_recipe, image_cnn, list_recipes, mlp_bce, mnist_cnn
from glassgrad.training import Trainer


def count(model: gg.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


@pytest.mark.parametrize(
    ("build", "expected"),
    [
        (mlp_bce.build_model, 4_929),
        (mnist_cnn.build_model, 93_322),
        (cifar_cnn.build_model, 122_570),
        (image_cnn.build_model, 3_453_121),
    ],
    ids=["mlp-bce", "mnist-cnn", "cifar-cnn", "image-cnn"],
)
def test_parameter_counts_are_exact(build, expected: int) -> None:
    assert count(build()) == expected


def test_cnn_output_shapes() -> None:
    with gg.no_grad():
        assert mnist_cnn.build_model()(gg.zeros(2, 1, 28, 28)).shape == (2, 10)
        assert cifar_cnn.build_model()(gg.zeros(2, 3, 32, 32)).shape == (2, 10)
        assert image_cnn.build_model(64)(gg.zeros(2, 3, 64, 64)).shape == (2,)


def test_image_cnn_rejects_too_small_images() -> None:
    with pytest.raises(ValueError, match="image-cnn: image_size 40"):
        image_cnn.build_model(40)


def test_registry_lists_every_reference_model_with_a_description() -> None:
    names = [r.name for r in list_recipes()]
    assert names == [
        "linreg",
        "mlp-tiny",
        "mlp-bce",
        "softmax-regression",
        "mnist-cnn",
        "cifar-cnn",
        "image-cnn",
        "gan",
        "char-lstm",
        "gpt",
        "bert-classifier",
    ]
    assert all(r.description and "\n" not in r.description for r in list_recipes())


def test_unknown_recipe_names_the_available_ones() -> None:
    with pytest.raises(ValueError, match="no recipe named 'mnist'.*mnist-cnn"):
        get_recipe("mnist")


def test_linreg_reaches_the_stated_theta_to_six_digits(tmp_path) -> None:
    recipe = get_recipe("linreg")
    config = recipe.config()
    task = recipe.build(config)
    summary = Trainer(task, config, tmp_path, progress=False).fit()
    theta = task.model.theta.detach().numpy()
    assert round(float(theta[0]), 6) == 2.136117
    assert round(float(theta[1]), 6) == 0.617695
    assert summary.final["epoch"] == 1000


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"epochs": 0}, "epochs must be a positive integer, got 0"),
        ({"batch_size": -3}, "batch_size must be a positive integer, got -3"),
        ({"lr": -0.1}, "lr must be a positive number, got -0.1"),
        ({"lr": float("nan")}, "lr must be a positive number"),
        ({"optimizer": "lbfgs"}, "optimizer must be one of .* got 'lbfgs'"),
        ({"device": "tpu"}, "device must be 'cpu' or 'cuda', got 'tpu'"),
        ({"image_size": 0}, "image_size must be a positive integer, got 0"),
    ],
)
def test_bad_hyperparameters_are_rejected(changes: dict, message: str) -> None:
    with pytest.raises(ValueError, match=f"TrainConfig: {message}"):
        get_recipe("mnist-cnn").config(**changes)


def test_recipes_needing_a_data_dir_say_so() -> None:
    for name in ("cifar-cnn", "image-cnn"):
        recipe = get_recipe(name)
        with pytest.raises(ValueError, match=f"{name}: --data-dir"):
            recipe.build(recipe.config())


def test_trainer_rejects_bad_log_every(tmp_path) -> None:
    recipe = get_recipe("linreg")
    with pytest.raises(ValueError, match="Trainer: log_every must be a positive integer, got 0"):
        Trainer(recipe.build(recipe.config()), recipe.config(), tmp_path, log_every=0)
