"""List the trainable recipes (reference models), one line each."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--verbose", "-v", action="store_true", help="also show each recipe's default hyperparameters")


def run(args: argparse.Namespace) -> int:
    from ..recipes import list_recipes  # imports every recipe's data and kernels: only when asked

    recipes = list_recipes()
    width = max(len(r.name) for r in recipes)
    for recipe in recipes:
        print(f"{recipe.name:<{width}}  {recipe.description}")
        if args.verbose:
            d = recipe.defaults
            print(f"{'':<{width}}    epochs {d.epochs}, batch {d.batch_size}, {d.optimizer} lr {d.lr:g}")
    return 0
