"""Counting correct predictions on the device (a tensor, read only when needed)."""

from __future__ import annotations

from ..engine.tensor import Tensor


def multiclass_correct(logits: Tensor, target: Tensor) -> Tensor:
    """Σ [argmax_c logits[i, c] == target[i]]: correct class indices in the batch."""
    return (logits.argmax(dim=1) == target).sum()


def binary_correct(probability: Tensor, target: Tensor, threshold: float = 0.5) -> Tensor:
    """Σ [(p_i > threshold) == (y_i > 0.5)] for probabilities p (after a sigmoid)."""
    predicted = probability.reshape(-1) > threshold
    return (predicted == (target.reshape(-1) > 0.5)).sum()
