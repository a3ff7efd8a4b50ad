"""GPU-only machinery around the engine: CUDA graphs of whole steps, the optimizer step over all parameters.

* graphs.py     CUDAGraph / graph() in PyTorch's style on CuPy stream capture, and GraphedStep
                (warm-up on a side stream, capture, replay on static buffers)
* optimizer.py  MultiTensorStep: SGD/Adam/AdamW's step for every parameter in one launch, capturable
* training.py   the ``train --cuda-graph`` wrapper of a supervised task

``gg.cuda.is_available()`` is here too, as in torch.cuda.
(glassgrad/kernels/cuda/ is something else: the NVRTC loader of the .cu kernels.) Importing this
package needs no CuPy; using it does.
"""

from ..engine.backend import cuda_is_available as is_available
from . import graphs
from .graphs import CaptureError, CUDAGraph, GraphedStep, graph, is_capturing

__all__ = ["CUDAGraph", "CaptureError", "GraphedStep", "graph", "graphs", "is_available", "is_capturing"]
