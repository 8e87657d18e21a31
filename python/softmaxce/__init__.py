"""softmaxce: exact and fast softmax cross-entropy for numpy arrays.

The functions follow the conventions of the framework they are named after:

* :func:`cross_entropy`, :func:`cross_entropy_backward` and
  :func:`cross_entropy_with_grad` follow ``torch.nn.functional.cross_entropy``
  (class axis 1, ``ignore_index=-100``, mean divided by the target weights).
* :func:`sparse_softmax_cross_entropy_with_logits` follows TensorFlow's
  function of that name (class axis last, one loss per example).
* :func:`softmax`, :func:`log_softmax` and their backward functions work on
  any axis.

Every function takes array-likes and returns numpy arrays in the dtype of the
logits. The computation runs in libsoftmaxce, a shared library written in Go and
bundled with the package. To load another build of it, set the environment
variable ``SOFTMAXCE_LIBRARY`` to its path.
"""

from . import _lib
from ._errors import (
    ForkedProcessError,
    InternalError,
    InvalidArgumentError,
    InvalidDtypeError,
    InvalidShapeError,
    LabelOutOfRangeError,
    SoftmaxCEError,
)
from ._softmax import log_softmax, log_softmax_backward, softmax, softmax_backward
from ._sparse import (
    cross_entropy,
    cross_entropy_backward,
    cross_entropy_with_grad,
    sparse_softmax_cross_entropy_with_logits,
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
    "log_softmax",
    "log_softmax_backward",
    "softmax",
    "softmax_backward",
    "sparse_softmax_cross_entropy_with_logits",
]
