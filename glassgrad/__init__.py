"""glassgrad: an autodiff and neural-network engine whose backprop, optimizers
and kernels are written out in the open.

    import glassgrad as gg
    x = gg.randn(3, 4, requires_grad=True)
    (x.tanh() @ gg.ones(4, 2)).sum().backward()
    x.grad          # d(sum)/dx, computed by the ops' hand-written backward
"""

from . import cpu_threads, data, kernels, nn, optim  # cpu_threads: numba's threading layer (first)
from .engine import ops as _ops
from .engine.backend import cuda_is_available
from .engine.creation import (
    arange,
    as_tensor,
    empty,
    empty_like,
    eye,
    from_dlpack,
    from_numpy,
    full,
    full_like,
    linspace,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randn,
    randn_like,
    randperm,
    tensor,
    zeros,
    zeros_like,
)
from .engine.dtypes import (
    bfloat16,
    bool_,
    double,
    finfo,
    float16,
    float32,
    float64,
    half,
    int8,
    int16,
    int32,
    int64,
    is_floating_point,
    long,
    promote_types,
    uint8,
)
from .engine.function import Context, Function
from .engine.grad_mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .engine.gradcheck import GradcheckError, gradcheck, gradgradcheck
from .engine.ops import *  # the top-level functions: gg.exp, gg.cat, ...
from .engine.random import initial_seed, manual_seed
from .engine.tensor import Tensor
from .serialization import load, save

bool = bool_  # PyTorch's name for the dtype
__version__ = "0.1.0"


from . import (  # noqa: E402 - after the engine they wrap
    amp,  # gg.amp.autocast, gg.amp.GradScaler
    autograd,  # gg.autograd.grad, .functional, ...
    cuda,  # gg.cuda.is_available(), gg.cuda.graphs (CUDA graphs), as torch.cuda
    distributed,  # gg.distributed: process groups on MPI / NCCL, collectives
    viz,  # gg.viz.graph: the graph as Graphviz DOT
)
from .amp import autocast, get_autocast_dtype, is_autocast_enabled  # noqa: E402 - gg.autocast as torch.autocast
