"""Train a recipe (python -m glassgrad recipes lists them) with a progress bar, metrics, plot and checkpoints.

``--resume`` continues the run in --out with the settings stored in its checkpoint;
options given with it override them. A different --epochs, --lr or --batch-size is
taken and what it changes is printed before training (an lr schedule spans the
run's total number of steps, so for a recipe with one, such as mnist-cnn, it is
recomputed for the new total: the lr jumps at the resume point). --optimizer,
--seed and --image-size cannot change. A run directory that already holds a run
is never replaced without --overwrite. Ctrl-C stops at the end of the current
step, keeps the last completed epoch on disk and prints the command that resumes
it (exit 130); a second Ctrl-C aborts at once.

``--watch grads,activations`` adds, per layer and epoch, the gradient norm of each parameter (mean and
max over the epoch's steps) and the mean and std of each layer's output to metrics.csv/metrics.json,
and draws gradient_flow.png (each layer's gradient norm per epoch, log scale) to show vanishing or
exploding gradients.

``--nproc N`` trains data-parallel on N processes: it starts itself again as ``mpiexec -n N python -m
glassgrad train ...`` (``mpiexec -n N python -m glassgrad train RECIPE`` does the same directly; on
several machines, give mpiexec a host file). --batch-size stays the global batch, each rank taking
1/N of it, so N ranks take the steps of one process on the same batches; ``--nproc 1`` is that one
process (no MPI), and a ``--nproc`` checkpoint resumes on any number of ranks. Rank 0 alone prints,
evaluates and writes; a Ctrl-C stops every rank at the end of the epoch. Needs mpi4py and an MPI:
pip install -e '.[dist]'.
"""

from __future__ import annotations

import argparse
import dataclasses
import shlex
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..cli import PROG, UsageError, require_cuda
from ..engine.random import manual_seed
from ..training import distributed
from ..training.checkpoint import CHECKPOINT_NAME, read_meta
from ..training.config import CELLS, OPTIMIZERS, PRECISIONS, TOKENIZERS, TrainConfig
from ..training.watch import WATCH_CHOICES, parse_watch

CONFIG_KEYS = tuple(f.name for f in dataclasses.fields(TrainConfig))
FIXED_ON_RESUME = ("optimizer", "seed", "image_size", "cell", "tokenizer")
RUN_FILES = (CHECKPOINT_NAME, "metrics.csv", "metrics.json")


def _number(kind: Callable[[str], Any], minimum: float, strict: bool, words: str) -> Callable[[str], Any]:
    """An argparse type: ``kind(text)``, refused unless above (or at) ``minimum``."""

    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"invalid {kind.__name__} value: {text!r}") from None
        if value != value or value < minimum or (strict and value == minimum):
            raise argparse.ArgumentTypeError(f"must be {words}, got {text}")
        return value

    parse.__name__ = kind.__name__
    return parse


positive_int = _number(int, 0, True, "a positive integer")
non_negative_int = _number(int, 0, False, "an integer >= 0")
positive_float = _number(float, 0, True, "a positive number")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("recipe", metavar="RECIPE", help="recipe name (python -m glassgrad recipes lists them)")
    parser.add_argument(
        "--epochs",
        type=positive_int,
        help="number of epochs (default: the recipe's; with --resume, the checkpoint's: a larger value trains further)",
    )
    parser.add_argument("--batch-size", type=positive_int, help="mini-batch size (default: the recipe's)")
    parser.add_argument("--lr", type=positive_float, help="learning rate (default: the recipe's)")
    parser.add_argument("--optimizer", choices=OPTIMIZERS, help="optimizer (default: the recipe's)")
    parser.add_argument("--device", choices=("cpu", "cuda"), help="device (default cpu; cuda needs CuPy and a GPU)")
    parser.add_argument(
        "--seed", type=non_negative_int, help="random seed for weights, data order and dropout (default 0)"
    )
    parser.add_argument(
        "--data-dir",
        help="dataset directory (MNIST IDX files, CIFAR-10 batches, an image folder, .txt files for the language "
        "models, a TSV/CSV of (text, label) for bert-classifier; without it MNIST recipes use the offline subset "
        "and the text recipes Python's own documentation)",
    )
    parser.add_argument("--out", type=Path, help="output directory (default runs/RECIPE)")
    parser.add_argument(
        "--resume",
        action="store_true",
        help="continue the run in --out from its checkpoint, with its settings; a changed --epochs/--lr/--batch-size "
        "is applied and what it changes printed (an lr schedule is recomputed for the new total of steps); "
        "--optimizer/--seed/--image-size cannot change",
    )
    parser.add_argument(
        "--overwrite", action="store_true", help="replace the run already in --out (its checkpoint and metrics)"
    )
    parser.add_argument("--image-size", type=positive_int, help="image-cnn: side of the resized images (default 150)")
    parser.add_argument("--classifier", help="gan: a mnist-cnn checkpoint that scores the generated digits")
    parser.add_argument("--cell", choices=CELLS, help="char-lstm: the recurrent cell (default lstm)")
    parser.add_argument(
        "--tokenizer",
        choices=TOKENIZERS,
        help="text recipes: characters, bytes or byte-level BPE (default: the recipe's)",
    )
    parser.add_argument(
        "--precision",
        choices=PRECISIONS,
        help="fp32 (default); bf16: the forward under autocast to bfloat16 (matmuls and convolutions in bfloat16, "
        "losses in float32, weights kept in float32); fp16: autocast to float16 with a GradScaler",
    )
    parser.add_argument("--no-progress", action="store_true", help="no progress bar: one line per epoch (for logs)")
    parser.add_argument(
        "--nproc",
        type=positive_int,
        metavar="N",
        help="data-parallel training on N processes through mpiexec (--batch-size is the global batch, split "
        "evenly over them; rank 0 writes); 1: one process with the same data order; needs pip install -e '.[dist]'",
    )
    parser.add_argument(
        "--watch",
        type=parse_watch,
        default=(),
        metavar="|".join(WATCH_CHOICES),
        help="per layer and epoch, write gradient norms (grads: mean and max over the steps, per parameter and "
        "layer) and activation mean/std (activations) to metrics.csv/metrics.json, and draw gradient_flow.png; "
        "comma-separated: --watch grads,activations",
    )
    parser.add_argument(
        "--cuda-graph",
        action="store_true",
        help="capture the training step (forward, backward, optimizer) as one CUDA graph after 3 eager steps and "
        "replay it for every batch of the same shape (glassgrad/cuda/training.py); needs --device cuda, a "
        "supervised recipe, SGD/Adam/AdamW and no dropout; one process, no --watch, no fp16",
    )


def _flag(key: str) -> str:
    return "--" + key.replace("_", "-")


def _show(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def _first_line(err: Exception) -> str:
    """An exception's message on one line (load_state_dict's lists one mismatch per line)."""
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    return " ".join(lines[:2]) if lines else type(err).__name__


def _set_lr(task: Any, lr: float) -> None:
    """After a restore: every optimizer's lr becomes ``lr`` (a scheduler's base lr, scaled by its schedule)."""
    schedulers = getattr(task, "schedulers", dict)()
    scheduled = {id(s.optimizer): s for s in schedulers.values()}
    for optimizer in task.optimizers().values():
        scheduler = scheduled.get(id(optimizer))
        if scheduler is not None:
            scheduler.base_lrs = [lr] * len(optimizer.param_groups)
        for group in optimizer.param_groups:
            group["initial_lr"] = lr
            group["lr"] = lr if scheduler is None else scheduler.lr_at(lr, scheduler.last_epoch)


def _changes(name: str, old: TrainConfig, new: TrainConfig, scheduled: bool) -> list[str]:
    """What a --resume with other --epochs/--lr/--batch-size changes, one line each."""
    schedule = (
        f"; {name}'s lr schedule spans the run's total number of steps, so it is recomputed for the new total: "
        "the lr jumps at the resume point and the run differs from a straight one with these settings"
        if scheduled
        else ""
    )
    lines = []
    if new.epochs != old.epochs:
        lines.append(f"--epochs {old.epochs} → {new.epochs}: training continues to epoch {new.epochs}{schedule}")
    if new.lr != old.lr:
        lines.append(
            f"--lr {old.lr:g} → {new.lr:g}: the optimizer keeps its saved state and steps with the new lr"
            + (" (the schedule scales it)" if scheduled else "")
        )
    if new.batch_size != old.batch_size:
        lines.append(
            f"--batch-size {old.batch_size} → {new.batch_size}: later epochs take {new.batch_size}-sample batches "
            f"(another number of steps and data order than the original run){schedule}"
        )
    return lines


def _run_ranks(command: list[str], env: dict[str, str]) -> int:
    """Run ``command`` (mpiexec and its ranks) to its end and return its exit status. A Ctrl-C reaches
    mpiexec too, which passes it on to every rank: this process keeps waiting for them."""
    print(f"{PROG} train: {shlex.join(command)}", flush=True)
    ranks = subprocess.Popen(command, env=env)
    while True:
        try:
            return ranks.wait()
        except KeyboardInterrupt:
            continue


def run(args: argparse.Namespace) -> int:
    # The recipes pull in data sets and kernels: imported here, not when the CLI starts.
    from ..recipes import get_recipe, list_recipes
    from ..training.trainer import Trainer

    prog = f"{PROG} train"
    try:
        recipe = get_recipe(args.recipe)
    except ValueError:
        names = ", ".join(r.name for r in list_recipes())
        raise UsageError(
            f"no recipe named {args.recipe!r}; available: {names} (python -m glassgrad recipes describes them)", prog
        ) from None
    prog = f"{prog} {recipe.name}"
    out: Path = args.out if args.out is not None else Path("runs") / recipe.name
    checkpoint = out / CHECKPOINT_NAME
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} is a file, not a directory; give another --out", prog)
    if args.resume and args.overwrite:
        raise UsageError("--resume continues the run in --out and --overwrite replaces it: give one of them", prog)
    given = {key: getattr(args, key) for key in CONFIG_KEYS if getattr(args, key, None) is not None}

    saved, base = None, recipe.defaults
    if args.resume:
        if not checkpoint.is_file():
            raise UsageError(
                f"--resume given but {out} holds no {CHECKPOINT_NAME}; leave out --resume to start there", prog
            )
        try:
            saved = read_meta(checkpoint)
        except (ValueError, OSError) as err:
            raise UsageError(f"--resume: cannot read {checkpoint} ({err})", prog) from None
        if saved["recipe"] is not None and saved["recipe"] != recipe.name:
            raise UsageError(
                f"--resume: {checkpoint} was written by recipe {saved['recipe']}, not {recipe.name}; resume it with "
                f"`{PROG} train {saved['recipe']} --out {shlex.quote(str(out))} --resume`, "
                f"or train {recipe.name} into another --out",
                prog,
            )
        if saved["config"] is not None:
            stored = {k: v for k, v in saved["config"].items() if k in CONFIG_KEYS}
            try:
                base = dataclasses.replace(recipe.defaults, **stored)
            except (ValueError, TypeError) as err:
                raise UsageError(
                    f"--resume: {checkpoint} records settings this glassgrad refuses ({err})", prog
                ) from None
        for key in FIXED_ON_RESUME:
            if key in given and given[key] != getattr(base, key) and saved["config"] is not None:
                raise UsageError(
                    f"--resume: {checkpoint} was trained with {_flag(key)} {_show(getattr(base, key))}, it cannot "
                    f"continue with {_flag(key)} {_show(given[key])} (drop {_flag(key)}, or start a new run: "
                    "another --out, or --overwrite)",
                    prog,
                )
    else:
        existing = [name for name in RUN_FILES if (out / name).exists()]
        if existing and not args.overwrite:
            raise UsageError(
                f"{out} already holds a run ({', '.join(existing)}); pass --resume to continue it, "
                "--overwrite to replace it, or another --out",
                prog,
            )
    try:
        config = base.replace(**given)
    except ValueError as err:
        raise UsageError(str(err), prog) from None

    cuda_graph = getattr(args, "cuda_graph", False)
    if cuda_graph and config.device != "cuda":
        raise UsageError(
            f"--cuda-graph needs --device cuda: a CUDA graph replays recorded GPU work, and this run is on "
            f"{config.device}; add --device cuda or leave --cuda-graph out",
            prog,
        )
    if cuda_graph and (args.watch or args.nproc is not None):
        raise UsageError("--cuda-graph: one process and no --watch (their hooks run on the host every step)", prog)
    if config.device == "cuda":
        require_cuda(prog, "train")
    if recipe.check_data is not None:
        try:
            recipe.check_data(config)
        except ValueError as err:
            raise UsageError(str(err), prog) from None
    if config.classifier is not None and not Path(config.classifier).is_file():
        raise UsageError(
            f"--classifier {config.classifier} is not a file; give a checkpoint.ggt written by "
            f"`{PROG} train mnist-cnn`",
            prog,
        )
    if saved is not None and saved["epoch"] >= config.epochs:
        more = "" if saved["epoch"] == config.epochs else f" (--epochs {config.epochs} asks for fewer)"
        print(
            f"{out} already holds all {saved['epoch']} epochs{more}; pass --epochs M > {saved['epoch']} to train further"
        )
        return 0

    launched = distributed.launched_world_size()
    data_parallel = args.nproc is not None or launched > 1 or (saved is not None and saved["data_parallel"])
    if data_parallel:
        try:
            distributed.shard_batch_size(config.batch_size, args.nproc or launched)
        except ValueError as err:
            raise UsageError(str(err), prog) from None
    if args.nproc is not None and args.nproc > 1 and launched == 1:
        try:
            if config.device == "cuda":
                distributed.check_gpus(args.nproc)
            command = distributed.launch_command(args.nproc, args.argv)
            return _run_ranks(command, distributed.launch_environment(args.nproc))
        except (ValueError, ImportError) as err:
            raise UsageError(str(err), prog) from None
    try:
        world = distributed.start(data_parallel, args.nproc, config.device)
    except (ValueError, ImportError) as err:
        raise UsageError(str(err), prog) from None

    manual_seed(config.seed)
    started = time.perf_counter()
    try:
        task = distributed.distribute(recipe.build(config), world, recipe.name, config.seed)
    except (ValueError, OSError) as err:
        raise UsageError(f"{err} (--debug shows where)", prog) from None
    if getattr(task, "precision", "fp32") != config.precision:
        raise UsageError(f"--precision {config.precision}: recipe {recipe.name} trains in fp32 only", prog)
    if cuda_graph:
        from ..cuda.training import graphed_task

        try:
            task = graphed_task(task)
        except ValueError as err:
            raise UsageError(str(err), prog) from None
    meta = distributed.record(world, {"recipe": recipe.name, "config": dataclasses.asdict(config)})
    trainer = Trainer(
        task, config, out, title=recipe.name, progress=not args.no_progress, meta=meta, watch=args.watch, world=world
    )
    notes: list[str] = []
    if saved is not None:
        try:
            trainer.restore()
        except FileNotFoundError as err:
            raise UsageError(
                f"--resume: {err}; the run in {out} is incomplete: start it again with --overwrite", prog
            ) from None
        except (ValueError, KeyError, RuntimeError, TypeError) as err:
            raise UsageError(
                f"--resume: {checkpoint} was written by {saved['recipe'] or 'an unknown recipe'} and does not fit "
                f"{recipe.name} ({_first_line(err)}); train {recipe.name} into another --out",
                prog,
            ) from None
        if saved["config"] is None:
            notes.append(f"{checkpoint} records no settings (an older glassgrad): the options given and the defaults")
        else:
            notes += _changes(recipe.name, base, config, bool(getattr(task, "schedulers", dict)()))
        if config.lr != base.lr or saved["config"] is None:
            _set_lr(task, config.lr)
        if saved["data_parallel"] and args.nproc is None and launched == 1:
            notes.append(f"{checkpoint} was written by a --nproc run: its data order continues on this one process")
        elif world.data_parallel and not saved["data_parallel"]:
            notes.append(
                f"{checkpoint} was written by a one-process run: the later epochs take the sharded data order of "
                "--nproc (not the order the run would have had)"
            )
    elif args.overwrite and world.main:
        pictures = [out / "metrics.png", out / "gradient_flow.png", *out.glob("samples_epoch_*.*")]
        for path in [out / name for name in RUN_FILES] + pictures:
            path.unlink(missing_ok=True)

    print(f"{recipe.name}: {recipe.description}")
    print(
        f"epochs {config.epochs}, batch {config.batch_size}, {config.optimizer} lr {config.lr:g}, "
        f"device {config.device}, seed {config.seed} → {out}/"
        + (f" (resuming after epoch {saved['epoch']})" if saved is not None else ""),
        flush=True,
    )
    if world.data_parallel:
        print(f"data parallel: {world.size} rank(s), {config.batch_size // world.size} samples each per step")
    for note in notes:
        print(f"note: {note}", flush=True)
    try:
        summary = trainer.fit(resume=saved is not None)
    except KeyboardInterrupt:
        if world.collective:  # the other ranks would wait for this one in their next collective
            distributed.abort(130)
        raise
    if summary.stopped:
        nproc = f" --nproc {world.size}" if world.data_parallel else ""
        resume = f"{PROG} train {recipe.name} --out {shlex.quote(str(out))} --resume{nproc}" + (
            " --no-progress" if args.no_progress else ""
        )
        cut = f"epoch {summary.discarded} was cut short and discarded; " if summary.discarded else ""
        saved_text = (
            f"{checkpoint} holds epochs 1-{summary.saved_epoch} of {config.epochs}; resume with: {resume}"
            if summary.saved_epoch
            else "no epoch was completed, nothing saved"
        )
        if world.main:
            print(f"interrupted: {cut}{saved_text}", file=sys.stderr)
        return 130
    print("\n".join(summary.lines()))
    if recipe.report is not None and world.main:
        with distributed.unwrapped(task):
            print("\n".join(recipe.report(task)))
    flow = ", gradient_flow.png" if "grads" in args.watch else ""
    print(
        f"total {time.perf_counter() - started:.1f} s; metrics.csv, metrics.json, metrics.png{flow}, "
        f"{CHECKPOINT_NAME} in {out}/"
    )
    return 0
