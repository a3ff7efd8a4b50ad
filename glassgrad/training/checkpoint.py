"""Training checkpoints: every module's, optimizer's and lr scheduler's state, the
epoch, the random-number generator, and which recipe and settings wrote it, written
with ``glassgrad.save`` (no pickle).

Restoring the generator is what makes ``--resume`` exact: the shuffling of later
epochs and any dropout masks draw the same numbers as in an uninterrupted run.
``meta`` (``{"recipe": name, "config": {...}}``) lets ``train --resume`` refuse
another recipe's checkpoint by name and continue with the run's own settings;
checkpoints written before it existed have none (an unknown recipe).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from ..engine import random as engine_random
from ..engine.tensor import Tensor
from .task import Task

CHECKPOINT_NAME = "checkpoint.ggt"


def rng_state() -> str:
    """The CPU generator's state as JSON (its 128-bit integers do not fit an int64 array)."""
    return json.dumps(engine_random.cpu_generator().bit_generator.state)


def set_rng_state(state: str) -> None:
    engine_random.cpu_generator().bit_generator.state = json.loads(state)


def _snapshot(value: Any) -> Any:
    """A deep copy of a state tree (tensors and arrays copied, so later steps leave it alone)."""
    if isinstance(value, Tensor):
        return value.detach().clone()
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, dict):
        return type(value)((k, _snapshot(v)) for k, v in value.items())
    if isinstance(value, list | tuple):
        return type(value)(_snapshot(v) for v in value)
    return value


def checkpoint_state(task: Task, epoch: int, meta: dict[str, Any] | None = None) -> dict[str, Any]:
    """The state after ``epoch`` completed epochs, as an in-memory copy that later steps do not change."""
    state: dict[str, Any] = {
        "epoch": epoch,
        "rng": rng_state(),
        "modules": {name: module.state_dict() for name, module in task.modules().items()},
        "optimizers": {name: opt.state_dict() for name, opt in task.optimizers().items()},
        "schedulers": {name: scheduler.state_dict() for name, scheduler in _schedulers(task).items()},
        "scalers": {name: scaler.state_dict() for name, scaler in _scalers(task).items()},
    }
    if meta is not None:
        state["meta"] = {"recipe": meta.get("recipe"), "config": json.dumps(meta.get("config"))}
        if meta.get("data_parallel"):  # the data sharded as for N ranks (training/distributed.py)
            state["meta"]["data_parallel"] = True
    return _snapshot(state)


def write_state(path: str | Path, state: dict[str, Any]) -> None:
    """Write a ``checkpoint_state`` to ``path`` (atomically, by glassgrad.save)."""
    import glassgrad

    glassgrad.save(state, path)


def save_checkpoint(path: str | Path, task: Task, epoch: int, meta: dict[str, Any] | None = None) -> None:
    """Write the state after ``epoch`` completed epochs to ``path`` (atomically, by glassgrad.save)."""
    write_state(path, checkpoint_state(task, epoch, meta))


def _scalers(task: Task) -> dict[str, Any]:
    """The task's enabled loss scalers (fp16's GradScaler) by name: their scale and growth tracker resume with
    the run (a disabled scaler has no state; a task without a ``scalers()`` method has none)."""
    scalers = getattr(task, "scalers", None)
    return {name: s for name, s in scalers().items() if s.is_enabled()} if scalers is not None else {}


def _schedulers(task: Task) -> dict[str, Any]:
    """The task's lr schedulers by name (a task without a ``schedulers()`` method has none)."""
    schedulers = getattr(task, "schedulers", None)
    return schedulers() if schedulers is not None else {}


def read_meta(path: str | Path) -> dict[str, Any]:
    """``{"epoch": n, "recipe": name or None, "config": dict or None, "data_parallel": bool}`` of the
    checkpoint at ``path`` (``data_parallel``: written by a ``--nproc`` run, whose data order it keeps)."""
    import glassgrad

    state = glassgrad.load(path)
    if not isinstance(state, dict) or "epoch" not in state:
        raise ValueError(f"read_meta: {path} is not a training checkpoint (no epoch)")
    meta = state.get("meta") if isinstance(state.get("meta"), dict) else {}
    config = meta.get("config")
    return {
        "epoch": int(state["epoch"]),
        "recipe": meta.get("recipe"),
        "config": json.loads(config) if isinstance(config, str) else None,
        "data_parallel": meta.get("data_parallel") is True,
    }


def load_checkpoint(path: str | Path, task: Task) -> int:
    """Restore ``task`` from ``path``; return the number of epochs already done."""
    import glassgrad

    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"load_checkpoint: no checkpoint at {path} to resume from")
    state = glassgrad.load(path)
    modules, optimizers, schedulers, scalers = task.modules(), task.optimizers(), _schedulers(task), _scalers(task)
    expected = {"modules": set(modules), "optimizers": set(optimizers), "schedulers": set(schedulers)}
    expected["scalers"] = set(scalers)
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
    for name, scaler in scalers.items():
        scaler.load_state_dict(state["scalers"][name])
    set_rng_state(state["rng"])
    return int(state["epoch"])
