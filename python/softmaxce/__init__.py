"""softmaxce: exact and fast softmax cross-entropy for numpy arrays.

The functions follow the conventions of the framework they are named after:

* :func:`cross_entropy`, :func:`cross_entropy_backward` and
  :func:`cross_entropy_with_grad` follow ``torch.nn.functional.cross_entropy``
  (class axis 1, ``ignore_index=-100``, the mean of class indices divided
  by their weights).
  Targets are class indices, or class probabilities of the input's shape.
* :func:`sparse_softmax_cross_entropy_with_logits`,
  :func:`softmax_cross_entropy_with_logits` and
  :func:`softmax_cross_entropy_with_logits_with_grad` follow TensorFlow's
  functions (one loss per example; integer labels with the class axis last,
  dense labels with any class axis).
* The submodules :mod:`softmaxce.chainer`, :mod:`softmaxce.onnx` and
  :mod:`softmaxce.optax` follow those libraries' conventions on numpy arrays.
* The submodules :mod:`softmaxce.torch`, :mod:`softmaxce.tensorflow` and
  :mod:`softmaxce.jax` are differentiable drop-in losses for those
  frameworks; each imports its framework only when it is used.
* :func:`softmax`, :func:`log_softmax` and their backward functions work on
  any axis.
* :func:`set_num_threads` and :func:`get_num_threads` control how many
  threads one call may use; results are bitwise identical for any count.

The loss and gradient functions take optional ``out`` and ``grad_out`` arrays
that receive the results without any allocation of the logits' size, and the
gradient may overwrite the logits in place (``grad_out=logits``).

Every function takes array-likes and returns numpy arrays in the dtype of the
logits. The computation runs in libsoftmaxce, a shared library written in Go and
bundled with the package. To load another build of it, set the environment
variable ``SOFTMAXCE_LIBRARY`` to its path.
"""

from . import _lib
from ._dense import (
    softmax_cross_entropy_with_logits,
    softmax_cross_entropy_with_logits_with_grad,
)
from ._errors import (
    ForkedProcessError,
    InternalError,
    InvalidArgumentError,
    InvalidDtypeError,
    InvalidShapeError,
    LabelOutOfRangeError,
    SoftmaxCEError,
)
from ._lib import get_num_threads, set_num_threads
from ._softmax import log_softmax, log_softmax_backward, softmax, softmax_backward
from ._sparse import (
    cross_entropy,
    cross_entropy_backward,
    cross_entropy_with_grad,
    sparse_softmax_cross_entropy_with_logits,
    sparse_softmax_cross_entropy_with_logits_with_grad,
)

__version__: str = _lib.version_string()

__all__ = [
    "ForkedProcessError",
    "InternalError",
    "InvalidArgumentError",
    "InvalidDtypeError",
    "InvalidShapeError",
    "LabelOutOfRangeError",
    "SoftmaxCEError",
    "__version__",
    "cross_entropy",
    "cross_entropy_backward",
    "cross_entropy_with_grad",
    "get_num_threads",
    "log_softmax",
    "log_softmax_backward",
    "set_num_threads",
    "softmax",
    "softmax_backward",
    "softmax_cross_entropy_with_logits",
    "softmax_cross_entropy_with_logits_with_grad",
    "sparse_softmax_cross_entropy_with_logits",
    "sparse_softmax_cross_entropy_with_logits_with_grad",
]
