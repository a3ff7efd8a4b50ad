"""Data: datasets (tensors, MNIST, CIFAR-10, image folders), loaders, splits, transforms."""

from . import transforms
from .cifar import CIFAR10
from .dataloader import DataLoader, default_collate
from .dataset import Dataset, Subset, TensorDataset, random_split
from .distributed_sampler import DistributedSampler
from .image_folder import ImageFolder
from .mnist import MNIST, download_mnist, read_idx

__all__ = [
    "CIFAR10",
    "MNIST",
    "DataLoader",
    "Dataset",
    "DistributedSampler",
    "ImageFolder",
    "Subset",
    "TensorDataset",
    "default_collate",
    "download_mnist",
    "random_split",
    "read_idx",
    "transforms",
]
