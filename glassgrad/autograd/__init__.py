"""``gg.autograd``: PyTorch's functional autograd API over the engine's backward pass.

``grad(outputs, inputs, ...)`` returns gradients instead of accumulating them; with
``create_graph=True`` they carry a graph and can be differentiated again.
"""

from ..engine.autograd import backward, grad
from ..engine.gradcheck import gradcheck, gradgradcheck

__all__ = ["backward", "grad", "gradcheck", "gradgradcheck"]
