"""``gg.autograd``: PyTorch's functional autograd API over the engine's backward pass.

``grad(outputs, inputs, ...)`` returns gradients instead of accumulating them; with
``create_graph=True`` they carry a graph and can be differentiated again.
"""

from ..engine.autograd import backward, grad
from ..engine.gradcheck import gradcheck, gradgradcheck
from . import functional
from .anomaly import detect_anomaly, is_anomaly_check_nan_enabled, is_anomaly_enabled, set_detect_anomaly
from .trace import Trace, trace  # the class shadows the module name: gg.autograd.trace() is the context

__all__ = [
    "backward",
    "detect_anomaly",
    "functional",
    "grad",
    "gradcheck",
    "gradgradcheck",
    "is_anomaly_check_nan_enabled",
    "is_anomaly_enabled",
    "set_detect_anomaly",
    "Trace",
    "trace",
]
