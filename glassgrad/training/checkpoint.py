"""Training checkpoints: every module's and optimizer's state, the epoch, and the
random-number generator, written with ``glassgrad.save`` (no pickle).

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
    }
    glassgrad.save(state, path)


def load_checkpoint(path: str | Path, task: Task) -> int:
    """Restore ``task`` from ``path``; return the number of epochs already done."""
    import glassgrad

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"load_checkpoint: no checkpoint at {path} to resume from")
    state = glassgrad.load(path)
    modules, optimizers = task.modules(), task.optimizers()
    expected = {"modules": set(modules), "optimizers": set(optimizers)}
    for key, names in expected.items():
        found = set(state.get(key, {}))
        if found != names:
            raise ValueError(f"load_checkpoint: {path} holds {key} {sorted(found)}, this recipe has {sorted(names)}")
    for name, module in modules.items():
        module.load_state_dict(state["modules"][name])
    for name, optimizer in optimizers.items():
        optimizer.load_state_dict(state["optimizers"][name])
    set_rng_state(state["rng"])
    return int(state["epoch"])
