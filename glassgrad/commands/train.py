"""Train a recipe (python -m glassgrad recipes lists them) with a progress bar, metrics, plot and checkpoints."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from ..engine.random import manual_seed
from ..training.checkpoint import CHECKPOINT_NAME
from ..training.config import OPTIMIZERS


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("recipe", metavar="RECIPE", help="recipe name (python -m glassgrad recipes lists them)")
    parser.add_argument("--epochs", type=int, help="number of epochs (default: the recipe's)")
    parser.add_argument("--batch-size", type=int, help="mini-batch size (default: the recipe's)")
    parser.add_argument("--lr", type=float, help="learning rate (default: the recipe's)")
    parser.add_argument("--optimizer", choices=OPTIMIZERS, help="optimizer (default: the recipe's)")
    parser.add_argument("--device", choices=("cpu", "cuda"), help="device (default cpu)")
    parser.add_argument("--seed", type=int, help="random seed for weights, data order and dropout (default 0)")
    parser.add_argument("--data-dir", help="dataset directory (MNIST IDX files; else the offline MNIST subset)")
    parser.add_argument("--out", type=Path, help="output directory (default runs/RECIPE)")
    parser.add_argument("--resume", action="store_true", help="continue from the checkpoint in --out")
    parser.add_argument("--image-size", type=int, help="image-cnn: side of the resized images (default 150)")
    parser.add_argument("--classifier", help="gan: a mnist-cnn checkpoint that scores the generated digits")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar (for logs)")


def run(args: argparse.Namespace) -> int:
    # The recipes pull in data sets and kernels: imported here, not when the CLI starts.
    from ..recipes import get_recipe
    from ..training.trainer import Trainer

    try:
        recipe = get_recipe(args.recipe)
    except ValueError as err:
        print(f"train: {err}", file=sys.stderr)
        return 2
    try:
        config = recipe.config(
            epochs=args.epochs,
            batch_size=args.batch_size,
            lr=args.lr,
            optimizer=args.optimizer,
            device=args.device,
            seed=args.seed,
            data_dir=args.data_dir,
            image_size=args.image_size,
            classifier=args.classifier,
        )
    except ValueError as err:
        print(f"train {recipe.name}: {err}", file=sys.stderr)
        return 2
    out = args.out if args.out is not None else Path("runs") / recipe.name
    if args.resume and not (out / CHECKPOINT_NAME).exists():
        print(f"train {recipe.name}: --resume given but {out} holds no {CHECKPOINT_NAME}", file=sys.stderr)
        return 2
    manual_seed(config.seed)
    started = time.perf_counter()
    task = recipe.build(config)
    print(f"{recipe.name}: {recipe.description}")
    print(
        f"epochs {config.epochs}, batch {config.batch_size}, {config.optimizer} lr {config.lr:g}, "
        f"device {config.device}, seed {config.seed} → {out}/"
    )
    summary = Trainer(task, config, out, title=recipe.name, progress=not args.no_progress).fit(resume=args.resume)
    print("\n".join(summary.lines()))
    print(
        f"total {time.perf_counter() - started:.1f} s; metrics.csv, metrics.json, metrics.png, {CHECKPOINT_NAME} in {out}/"
    )
    return 0
