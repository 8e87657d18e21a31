"""Softmax cross-entropy with the argument conventions of optax, on numpy arrays.

The functions take ``(logits, labels)`` in optax's order, return one loss per
example and never reduce, as ``optax.softmax_cross_entropy``,
``optax.safe_softmax_cross_entropy`` and
``optax.softmax_cross_entropy_with_integer_labels`` do (optax 0.2). They only
map arguments onto :func:`softmaxce.softmax_cross_entropy_with_logits` and the
integer-label core, and import neither JAX nor optax. For losses that JAX can
differentiate and compile, use :mod:`softmaxce.jax`.

Differences from optax, all on purpose:

* ``axis`` is one integer; optax also takes a tuple of axes or None. The
  ``where`` argument is not supported.
* A zero label on a -inf logit adds nothing (``0 * log 0 = 0``) in every
  function here; optax's ``softmax_cross_entropy`` returns NaN there, and only
  ``safe_softmax_cross_entropy`` returns 0.
* An integer label outside ``[0, C)`` raises :class:`LabelOutOfRangeError`.
  optax wraps a label in ``[-C, -1]`` to class ``C + label`` and returns NaN
  for the others.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ._dense import softmax_cross_entropy_with_logits
from ._sparse import per_example_cross_entropy

__all__ = [
    "safe_softmax_cross_entropy",
    "softmax_cross_entropy",
    "softmax_cross_entropy_with_integer_labels",
]


def softmax_cross_entropy(
    logits: ArrayLike, labels: ArrayLike, axis: int = -1
) -> NDArray[np.floating]:
    r"""Compute per-example cross-entropy with dense labels, as optax.

    Follows ``optax.softmax_cross_entropy``:
    :math:`\ell = -\sum_c t_c \log \operatorname{softmax}(x)_c` along `axis`.

    Parameters
    ----------
    logits : array_like
        Logits of any rank >= 1; float16, float32 or float64 (float16 is
        computed in float32 and the result rounded to float16).
    labels : array_like of float
        Class probabilities (or any finite per-class weights) of the shape of
        `logits`.
    axis : int, optional
        The class axis. Default: -1.

    Returns
    -------
    numpy.ndarray
        Loss per example: the shape of `logits` without `axis`, the dtype of
        `logits`.

    Raises
    ------
    InvalidShapeError, InvalidArgumentError, InvalidDtypeError, \
ForkedProcessError
        As in :func:`softmaxce.softmax_cross_entropy_with_logits`.

    Notes
    -----
    A class with label 0 adds nothing, even when its logit is -inf
    (:math:`0 \cdot \log 0 = 0`); optax's function returns NaN there. This
    function therefore equals :func:`safe_softmax_cross_entropy` for
    ``axis=-1``.

    Examples
    --------
    >>> import numpy as np
    >>> from softmaxce import optax
    >>> logits = np.array([[1.2, -0.8, -0.5], [0.9, -1.2, 1.1]])
    >>> labels = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    >>> print(np.round(optax.softmax_cross_entropy(logits, labels), 4))
    [0.2761 2.9518]
    >>> print(np.round(optax.softmax_cross_entropy(logits.T, labels.T, axis=0), 4))
    [0.2761 2.9518]
    """
    return softmax_cross_entropy_with_logits(labels, logits, axis)


def safe_softmax_cross_entropy(
    logits: ArrayLike, labels: ArrayLike
) -> NDArray[np.floating]:
    r"""Compute per-example cross-entropy with dense labels, 0 where labels are 0.

    Follows ``optax.safe_softmax_cross_entropy``: the class axis is the last
    one, and a class with label 0 contributes 0 even when its logit is -inf.
    Every function of softmaxce behaves so, so this is
    :func:`softmax_cross_entropy` with ``axis=-1``.

    Parameters
    ----------
    logits, labels
        As in :func:`softmax_cross_entropy`, with the class axis last.

    Returns
    -------
    numpy.ndarray
        Loss per example: the shape of `logits` without its last axis.

    Raises
    ------
    InvalidShapeError, InvalidArgumentError, InvalidDtypeError, \
ForkedProcessError
        As in :func:`softmaxce.softmax_cross_entropy_with_logits`.

    Examples
    --------
    >>> import numpy as np
    >>> from softmaxce import optax
    >>> logits = np.array([[-np.inf, 0.0, 0.0]])
    >>> print(optax.safe_softmax_cross_entropy(logits, [[0.0, 1.0, 0.0]]))
    [0.69314718]
    """
    return softmax_cross_entropy_with_logits(labels, logits, -1)


def softmax_cross_entropy_with_integer_labels(
    logits: ArrayLike, labels: ArrayLike, axis: int = -1
) -> NDArray[np.floating]:
    r"""Compute per-example cross-entropy with integer labels, as optax.

    Follows ``optax.softmax_cross_entropy_with_integer_labels``:
    :math:`\ell = \operatorname{logsumexp}(x) - x_y` along `axis`.

    Parameters
    ----------
    logits : array_like
        Logits of any rank >= 1; float16, float32 or float64.
    labels : array_like of int
        Class indices in [0, C), of the shape of `logits` without `axis`.
        Unlike optax, a negative label is an error, not a count from the end.
    axis : int, optional
        The class axis. Default: -1.

    Returns
    -------
    numpy.ndarray
        Loss per example, of the shape of `labels` and the dtype of `logits`.

    Raises
    ------
    LabelOutOfRangeError
        If a label is outside [0, C). An ``IndexError`` subclass.
    InvalidShapeError
        If `labels` does not have the shape of `logits` without `axis`, or C
        is 0.
    InvalidArgumentError
        If `axis` is out of bounds.
    InvalidDtypeError
        If `labels` is not an integer array or `logits` not a float array.
    ForkedProcessError
        If called in a child process forked after softmaxce was loaded.

    Notes
    -----
    The loss is formed as :math:`(m - x_y) + \log \sum_c \exp(x_c - m)` with
    :math:`m = \max_c x_c`, so a -inf logit on a class other than the label
    is harmless and huge equal logits give :math:`\log C`.

    Examples
    --------
    >>> import numpy as np
    >>> from softmaxce import optax
    >>> logits = np.array([[1.2, -0.8, -0.5], [0.9, -1.2, 1.1]])
    >>> losses = optax.softmax_cross_entropy_with_integer_labels(logits, [0, 1])
    >>> print(np.round(losses, 4))
    [0.2761 2.9518]
    >>> optax.softmax_cross_entropy_with_integer_labels(logits, [0, -1])
    ... # doctest: +ELLIPSIS
    Traceback (most recent call last):
        ...
    softmaxce._errors.LabelOutOfRangeError: labels: label value -1 ... [0, 3)
    """
    loss, _ = per_example_cross_entropy(labels, logits, axis)
    return loss
