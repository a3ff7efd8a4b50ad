"""Training checkpoints: every module's, optimizer's and lr scheduler's state, the
epoch, and the random-number generator, written with ``glassgrad.save`` (no pickle).

Restoring the generator is what makes ``--resume`` exact: the shuffling of later
epochs and any dropout masks draw the same numbers as in an uninterrupted run.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..engine import random as engine_random
from .task import Task

CHECKPOINT_NAME = "checkpoint.ggt"


def rng_state() -> str:
    """The CPU generator's state as JSON (its 128-bit integers do not fit an int64 array)."""
    return json.dumps(engine_random.cpu_generator().bit_generator.state)


def set_rng_state(state: str) -> None:
    engine_random.cpu_generator().bit_generator.state = json.loads(state)


def save_checkpoint(path: str | Path, task: Task, epoch: int) -> None:
    """Write the state after ``epoch`` completed epochs to ``path`` (atomically, by glassgrad.save)."""
    import glassgrad

    state: dict[str, Any] = {
        "epoch": epoch,
        "rng": rng_state(),
        "modules": {name: module.state_dict() for name, module in task.modules().items()},
        "optimizers": {name: opt.state_dict() for name, opt in task.optimizers().items()},
        "schedulers": {name: scheduler.state_dict() for name, scheduler in _schedulers(task).items()},
    }
    glassgrad.save(state, path)


def _schedulers(task: Task) -> dict[str, Any]:
    """The task's lr schedulers by name (a task without a ``schedulers()`` method has none)."""
    schedulers = getattr(task, "schedulers", None)
    return schedulers() if schedulers is not None else {}


def load_checkpoint(path: str | Path, task: Task) -> int:
    """Restore ``task`` from ``path``; return the number of epochs already done."""
    import glassgrad

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"load_checkpoint: no checkpoint at {path} to resume from")
    state = glassgrad.load(path)
    modules, optimizers, schedulers = task.modules(), task.optimizers(), _schedulers(task)
    expected = {"modules": set(modules), "optimizers": set(optimizers), "schedulers": set(schedulers)}
    for key, names in expected.items():
        found = set(state.get(key, {}))
        if found != names:
            raise ValueError(f"load_checkpoint: {path} holds {key} {sorted(found)}, this recipe has {sorted(names)}")
    for name, module in modules.items():
        module.load_state_dict(state["modules"][name])
    for name, optimizer in optimizers.items():
        optimizer.load_state_dict(state["optimizers"][name])
    for name, scheduler in schedulers.items():
        scheduler.load_state_dict(state["schedulers"][name])
    set_rng_state(state["rng"])
    return int(state["epoch"])
