"""Neural-network building blocks: modules, layers, losses, init, functional."""

from . import functional

__all__ = ["functional"]
