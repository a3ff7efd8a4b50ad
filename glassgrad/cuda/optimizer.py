"""An optimizer's step over all its parameters at once, and one that a CUDA graph can capture.

``MultiTensorStep(optimizer).step()`` does what ``optimizer.step()`` does for SGD,
Adam and AdamW (the same state keys, so ``state_dict`` and checkpoints are
unchanged), but with one ``sgd_update_all``/``adam_update_all`` call per
parameter group, dtype and step count (kernels/optim/cuda_multi_tensor.py: one
launch on cuda; on cpu the NumPy emulation of the same kernel).

Inside a CUDA graph capture (glassgrad/cuda/graphs.py) the step is recorded
differently, because a graph replays its kernel arguments as they were:

* the kernel reads its scalars (η, Adam's η/(1 − β₁ᵗ) and √(1 − β₂ᵗ)) and its
  table of pointers from a device buffer that belongs to the captured launch;
* the step counter stays on the host (``state["step"]``, an int as in
  glassgrad's Adam, so ``state_dict`` is unchanged): ``refresh()``, run before
  every replay, counts the step, recomputes the scalars from it and from the
  group's current lr (a scheduler may have changed it), and copies them into
  that buffer on the replay's stream (asynchronously, from pinned memory);
* the capture itself is not a step: it changes no state. The optimizer's state
  must exist before it (run at least one eager step: ``GraphedStep`` warms up).

A gradient that is not C-contiguous (a Linear weight's gradient can be a
transposed view) is copied to a contiguous array first: the kernel walks every
array of a tensor by one flat index.

Checked on the cpu (tests/cuda/test_graphs.py: the eager step equals SGD/Adam/AdamW's, and a
captured step replayed on stand-in streams follows them, step count and lr schedule included);
not yet run on a GPU.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .. import kernels
from ..engine.grad_mode import no_grad
from ..engine.tensor import Tensor
from ..kernels.optim import cuda_multi_tensor as mt
from ..optim.adam import Adam
from ..optim.sgd import SGD
from . import graphs

#: the variant of the all-parameters ops each device runs
VARIANTS = {"cuda": "multi_tensor", "cpu": "multi_tensor_emulated"}


@dataclass
class _CapturedLaunch:
    """A launch recorded in a graph: its packed host words, the device buffer the kernel reads, and how
    to compute the scalars of the next replay's step."""

    words: Any
    device_words: Any
    scalars: Callable[[], list[float]]


def _contiguous(xp: Any, a: Any) -> Any:
    return a if a.flags.c_contiguous else xp.ascontiguousarray(a)


class MultiTensorStep:
    """``step()`` for every parameter of an SGD, Adam or AdamW ``optimizer`` in one call per group."""

    def __init__(self, optimizer: Any) -> None:
        if not isinstance(optimizer, SGD | Adam):
            raise TypeError(
                f"MultiTensorStep: takes SGD, Adam or AdamW (the ops sgd_update_all / adam_update_all), "
                f"got {type(optimizer).__name__}"
            )
        self.optimizer = optimizer
        self.captured: list[_CapturedLaunch] = []
        self.steps = 0  # eager steps plus replays

    @property
    def param_groups(self) -> list[dict[str, Any]]:
        return self.optimizer.param_groups

    def zero_grad(self, set_to_none: bool = True) -> None:
        self.optimizer.zero_grad(set_to_none)

    def step(self, closure: Callable[[], Any] | None = None) -> None:
        """One step of every parameter with a gradient (recorded, not counted, during a capture)."""
        if closure is not None:
            raise ValueError("MultiTensorStep.step: closures are not supported (call the closure, then step())")
        self.optimizer._check_grads()
        capturing = graphs.is_capturing()
        if capturing and self.captured:
            raise RuntimeError("MultiTensorStep.step: captured twice; one graph holds one step of this optimizer")
        with no_grad():
            for group in self.optimizer.param_groups:
                params = [p for p in group["params"] if p.grad is not None]
                for subset in _by_dtype(params):
                    if str(subset[0].array.dtype) not in mt.DTYPES or not subset[0].array.flags.c_contiguous:
                        # bfloat16/float16, or parameters that are strided views: the per-parameter step
                        if capturing:
                            raise RuntimeError(
                                f"MultiTensorStep: cannot capture {subset[0].dtype} or non-contiguous parameters"
                            )
                        for p in subset:
                            self.optimizer.update(group, p, p.grad.array, self.optimizer.state.setdefault(p, {}))
                        continue
                    if isinstance(self.optimizer, Adam):
                        self._adam(group, subset, capturing)
                    else:
                        self._sgd(group, subset, capturing)
        if not capturing:
            self.steps += 1

    def refresh(self) -> None:
        """Before a replay: count the step and put its scalars into every captured launch's buffer."""
        for launch in self.captured:
            mt.rewrite_scalars(launch.words, launch.scalars())
            mt.ring().upload(launch.words, out=launch.device_words)
        self.steps += 1

    # ------------------------------------------------------------------ Adam
    def _adam(self, group: dict[str, Any], params: list[Tensor], capturing: bool) -> None:
        state = self.optimizer.state
        amsgrad = group["amsgrad"]
        for p in params:
            s = state.setdefault(p, {})
            if not s:
                if capturing:
                    raise _no_state(p)
                s["step"] = 0
                s["exp_avg"] = p.xp.zeros_like(p.array)
                s["exp_avg_sq"] = p.xp.zeros_like(p.array)
                if amsgrad:
                    s["max_exp_avg_sq"] = p.xp.zeros_like(p.array)
        beta1, beta2 = group["betas"]
        options = dict(
            beta1=beta1,
            beta2=beta2,
            eps=group["eps"],
            weight_decay=group["weight_decay"],
            decoupled=self.optimizer.decoupled_weight_decay,
            maximize=group["maximize"],
        )
        by_step: dict[int, list[Tensor]] = {}
        for p in params:
            by_step.setdefault(state[p]["step"] + (0 if capturing else 1), []).append(p)
        for step, same in by_step.items():
            lists = mt.adam_lists(
                [p.array for p in same],
                [_contiguous(p.xp, p.grad.array) for p in same],
                [state[p]["exp_avg"] for p in same],
                [state[p]["exp_avg_sq"] for p in same],
                [state[p]["max_exp_avg_sq"] for p in same] if amsgrad else None,
            )
            if capturing:

                def scalars(same: list[Tensor] = same, group: dict[str, Any] = group) -> list[float]:
                    for p in same:
                        state[p]["step"] += 1
                    return mt.adam_scalar_values(
                        state[same[0]]["step"], group["lr"], beta1, beta2, group["eps"], group["weight_decay"]
                    )

                self._record("adam", lists, scalars, (int(options["decoupled"]), int(group["maximize"])))
                continue
            for p in same:
                state[p]["step"] = step
            _variant("adam_update_all", same[0])(*lists[:4], lists[4] if amsgrad else None, step=step, lr=group["lr"],
                                                  **options)  # fmt: skip

    # ------------------------------------------------------------------- SGD
    def _sgd(self, group: dict[str, Any], params: list[Tensor], capturing: bool) -> None:
        state = self.optimizer.state
        momentum = group["momentum"]
        fresh, old = [], []
        for p in params:
            s = state.setdefault(p, {})
            if momentum != 0 and s.get("momentum_buffer") is None:
                if capturing:
                    raise _no_state(p)
                s["momentum_buffer"] = p.xp.empty_like(p.array)
                fresh.append(p)
            else:
                old.append(p)
        for first_step, same in ((True, fresh), (False, old)):
            if not same:
                continue
            buffers = [state[p]["momentum_buffer"] for p in same] if momentum != 0 else None
            grads = [_contiguous(p.xp, p.grad.array) for p in same]
            lists = mt.sgd_lists([p.array for p in same], grads, buffers)
            if capturing:

                def scalars(group: dict[str, Any] = group) -> list[float]:
                    return mt.sgd_scalar_values(group["lr"], group["momentum"], group["dampening"],
                                                group["weight_decay"])  # fmt: skip

                self._record("sgd", lists, scalars, (int(group["nesterov"]), int(group["maximize"]), 0))
                continue
            _variant("sgd_update_all", same[0])(
                lists[0],
                lists[1],
                buffers,
                lr=group["lr"],
                momentum=momentum,
                dampening=group["dampening"],
                weight_decay=group["weight_decay"],
                nesterov=group["nesterov"],
                maximize=group["maximize"],
                first_step=first_step,
            )

    def _record(self, op: str, lists: list[Any], scalars: Callable[[], list[float]], flags: tuple[int, ...]) -> None:
        """Launch the kernel into the capture, reading a buffer of its own that ``refresh`` fills."""
        import cupy

        words, blocks = mt.pack(lists, [0.0] * mt.SCALARS)
        device_words = cupy.empty(words.shape, words.dtype)  # from the capture's pool; filled by refresh()
        mt.launch(op, lists[0][0].dtype, device_words, len(lists), len(lists[0]), blocks, flags)
        self.captured.append(_CapturedLaunch(words, device_words, scalars))


def _by_dtype(params: list[Tensor]) -> list[list[Tensor]]:
    """The parameters by (dtype, C-contiguous), in their order: one kernel call each."""
    groups: dict[tuple[str, bool], list[Tensor]] = {}
    for p in params:
        groups.setdefault((str(p.array.dtype), bool(p.array.flags.c_contiguous)), []).append(p)
    return list(groups.values())


def _variant(op: str, p: Tensor) -> Callable[..., Any]:
    """The all-parameters variant for ``p``'s device."""
    return kernels.variant(op, p.device, VARIANTS[p.device]).fn


def _no_state(p: Tensor) -> RuntimeError:
    return RuntimeError(
        f"MultiTensorStep: parameter of shape {p.shape} has no optimizer state yet; run at least one step "
        "eagerly before capturing (GraphedStep's warm-up does)"
    )
