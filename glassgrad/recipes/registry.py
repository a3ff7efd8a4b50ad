"""The recipe registry: each reference model registers itself by name with a
one-line description, its default hyperparameters and a ``build`` function that
turns a TrainConfig into a Task (model, data, loss, optimizer).

``check_data(config)`` (optional) raises ValueError, saying what to do, when the
run's ``--data-dir`` is missing, absent or lacks the files the recipe reads; the
``train`` command calls it before anything is built or written. ``report(task)``
(optional) gives lines printed after training (linreg's θ). ``generator(config, run_dir)``
(optional, language models) rebuilds the run's model and tokenizer for ``python -m glassgrad generate``:
it returns ``(model, tokenizer)``, the model with ``generate(idx, max_new_tokens, temperature, top_k)``."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..training.config import TrainConfig
from ..training.task import Task


@dataclass(frozen=True)
class Recipe:
    name: str
    description: str
    defaults: TrainConfig
    build: Callable[[TrainConfig], Task]
    check_data: Callable[[TrainConfig], None] | None = None
    report: Callable[[Task], list[str]] | None = None
    generator: Callable[[TrainConfig, Path], tuple[Any, Any]] | None = None

    def config(self, **overrides: object) -> TrainConfig:
        """The defaults with ``overrides`` applied (None means "keep the default")."""
        return self.defaults.replace(**overrides)


_RECIPES: dict[str, Recipe] = {}


def register(recipe: Recipe) -> Recipe:
    if recipe.name in _RECIPES:
        raise ValueError(f"register: a recipe named {recipe.name!r} is already registered")
    _RECIPES[recipe.name] = recipe
    return recipe


def get_recipe(name: str) -> Recipe:
    """The recipe called ``name``; the error lists the ones that exist."""
    if name not in _RECIPES:
        raise ValueError(f"get_recipe: no recipe named {name!r}; available: {', '.join(_RECIPES)}")
    return _RECIPES[name]


def list_recipes() -> list[Recipe]:
    return list(_RECIPES.values())
