"""Cross-entropy with dense labels: the TensorFlow front and the shared call.

Dense labels (class probabilities, or any finite weights per class) have the
shape of the logits. The TensorFlow front here and the probability-target path
of :func:`softmaxce.cross_entropy` both map their arguments to one call of
``sce_dense_cross_entropy``. That call returns the loss and the gradients with
respect to the logits and to the labels from one pass.

The upstream-gradient conversion and the shaping of a returned loss live here
too, because the integer-label fronts share them.
"""

from __future__ import annotations

import ctypes
from typing import NamedTuple, Union

import numpy as np
from numpy.typing import ArrayLike, NDArray

from . import _lib
from ._coerce import (
    address,
    as_array,
    as_float,
    as_real,
    class_axis_layout,
    dtype_code,
    normalize_axis,
    work_dtype_for,
)
from ._errors import InvalidDtypeError, InvalidShapeError

__all__ = [
    "softmax_cross_entropy_with_logits",
    "softmax_cross_entropy_with_logits_with_grad",
]

Loss = Union[np.floating, NDArray[np.floating]]


class DenseProblem(NamedTuple):
    """Arguments of one dense cross-entropy call, checked and converted."""

    logits: NDArray[np.floating]
    labels: NDArray[np.floating]
    weight: NDArray[np.floating] | None
    outer: int
    classes: int
    inner: int
    loss_shape: tuple[int, ...]
    out_dtype: np.dtype
    labels_name: str


class DenseResult(NamedTuple):
    """Outputs of one dense call, None for an output not requested."""

    loss: NDArray[np.floating] | None
    grad: NDArray[np.floating] | None
    grad_labels: NDArray[np.floating] | None


# ---- Shared by every front -------------------------------------------------


def prepare_grad_output(
    grad_output: ArrayLike | None,
    reduction: int,
    loss_shape: tuple[int, ...],
    dtype: np.dtype,
) -> NDArray[np.floating] | None:
    """Convert the upstream gradient of a loss of `loss_shape`; None means ones.

    Raises
    ------
    InvalidShapeError
        If `grad_output` is not a scalar for a reduced loss, or does not
        broadcast to `loss_shape` for reduction 'none'.
    """
    if grad_output is None or (type(grad_output) in (int, float) and grad_output == 1):
        # The library reads a missing upstream gradient as all ones, which
        # saves building an array of ones for reduction 'none'.
        return None
    array = as_real(grad_output, "grad_output", dtype)
    if reduction != _lib.SCE_REDUCTION_NONE:
        if array.ndim != 0:
            raise InvalidShapeError(
                "grad_output must be a scalar for reduction 'sum' or 'mean', got "
                f"shape {array.shape}"
            )
        return array
    try:
        broadcast = np.broadcast_to(array, loss_shape)
    except ValueError:
        raise InvalidShapeError(
            "grad_output must have the shape of the per-position loss "
            f"{loss_shape} (or broadcast to it) for reduction 'none', got "
            f"shape {array.shape}"
        ) from None
    return np.ascontiguousarray(broadcast)


def finish_loss(
    loss: NDArray[np.floating],
    reduction: int,
    loss_shape: tuple[int, ...],
    out_dtype: np.dtype,
) -> Loss:
    """Return a scalar for sum and mean, else the per-position loss array."""
    if reduction != _lib.SCE_REDUCTION_NONE:
        value = loss[0]
        return value if loss.dtype is out_dtype else out_dtype.type(value)
    return loss.reshape(loss_shape).astype(out_dtype, copy=False)


def as_dense_labels(value: ArrayLike, name: str, dtype: np.dtype) -> NDArray:
    """Convert dense `value` to a contiguous array of the logits' working `dtype`.

    Raises
    ------
    InvalidDtypeError
        If `value` is not a float16, float32 or float64 array.
    """
    array = as_array(value, name)
    if work_dtype_for(array.dtype) is None:
        raise InvalidDtypeError(
            f"{name} must be a float16, float32 or float64 array of class "
            f"probabilities, got dtype {array.dtype.name}; integer class indices "
            "need the sparse function, or an array of the logits' shape converted "
            f"with {name}.astype(np.float32)"
        )
    return np.asarray(array, dtype=dtype, order="C")


def as_class_weight(
    value: ArrayLike | None, name: str, dtype: np.dtype, classes: int
) -> NDArray[np.floating] | None:
    """Convert class weights to a contiguous 1-D array of `dtype`, or keep None.

    The library checks the length and the values; this checks the rank, so a
    (1, C) array is not read as C weights.
    """
    if value is None:
        return None
    array = as_real(value, name, dtype)
    if array.ndim != 1:
        raise InvalidShapeError(
            f"{name} must be a 1-D array with one value per class ({classes}), "
            f"got shape {array.shape}"
        )
    return array


def run(
    problem: DenseProblem,
    options: _lib.SceOptions,
    grad_output: NDArray[np.floating] | None,
    want_loss: bool,
    want_grad: bool,
    want_grad_labels: bool,
    loss: NDArray[np.floating] | None = None,
    grad: NDArray[np.floating] | None = None,
) -> DenseResult:
    """Fill the requested outputs with one library call.

    The outputs are flat or logits-shaped arrays of the working dtype; the
    caller reshapes and casts them. `loss` and `grad`, when given, are
    checked contiguous arrays of the working dtype that the library writes
    directly; missing ones are allocated here.
    """
    logits, labels, weight = problem.logits, problem.labels, problem.weight
    dtype = logits.dtype

    if want_loss and loss is None:
        positions = problem.outer * problem.inner
        loss_len = positions if options.reduction == _lib.SCE_REDUCTION_NONE else 1
        loss = np.empty(loss_len, dtype=dtype)
    if want_grad and grad is None:
        grad = np.empty(logits.shape, dtype=dtype)
    grad_labels = np.empty(logits.shape, dtype=dtype) if want_grad_labels else None

    _lib.dense_cross_entropy(
        dtype_code(dtype),
        problem.outer,
        problem.classes,
        problem.inner,
        address(logits),
        logits.size,
        address(labels),
        labels.size,
        address(weight),
        0 if weight is None else weight.size,
        address(grad_output),
        0 if grad_output is None else grad_output.size,
        ctypes.byref(options),
        address(loss),
        0 if loss is None else loss.size,
        address(grad),
        0 if grad is None else grad.size,
        address(grad_labels),
        0 if grad_labels is None else grad_labels.size,
    )
    return DenseResult(loss, grad, grad_labels)


# ---- TensorFlow front ------------------------------------------------------


def _prepare_tf(labels: ArrayLike, logits: ArrayLike, axis: object) -> DenseProblem:
    """Check and convert the arguments of the TensorFlow-style dense functions."""
    logits_array, out_dtype = as_float(logits, "logits")
    shape = logits_array.shape
    if logits_array.ndim == 0:
        raise InvalidShapeError(
            "logits must have rank >= 1 (one axis is the class axis), got a 0-d array"
        )
    axis_index = normalize_axis(axis, logits_array.ndim)
    label_array = as_dense_labels(labels, "labels", logits_array.dtype)
    if label_array.shape != shape:
        raise InvalidShapeError(
            f"labels must have the shape of logits {shape}, got {label_array.shape}"
        )
    outer, classes, inner = class_axis_layout(shape, axis_index)
    loss_shape = shape[:axis_index] + shape[axis_index + 1 :]
    return DenseProblem(
        logits_array,
        label_array,
        None,
        outer,
        classes,
        inner,
        loss_shape,
        out_dtype,
        "labels",
    )


def softmax_cross_entropy_with_logits(
    labels: ArrayLike, logits: ArrayLike, axis: int = -1
) -> NDArray[np.floating]:
    r"""Compute per-example softmax cross-entropy with dense labels, as TensorFlow.

    Follows ``tf.nn.softmax_cross_entropy_with_logits`` (TensorFlow 2): the
    labels have the shape of the logits, the class axis is `axis`, and there
    is no reduction.

    Parameters
    ----------
    labels : array_like of float
        Class probabilities (or any finite per-class weights) of the shape of
        `logits`. float16, float32 and float64 are converted to the dtype the
        logits are computed in.
    logits : array_like
        Logits of any rank >= 1. float32 and float64 are used as they are,
        float16 is computed in float32 and the result rounded to float16; other
        dtypes raise InvalidDtypeError. A non-contiguous array is copied.
    axis : int, optional
        The class axis, negative values counting from the end. It is read
        where it lies in memory, without a transpose. Default: -1.

    Returns
    -------
    numpy.ndarray
        Loss per example: the shape of `logits` without `axis`, the dtype of
        `logits`.

    Raises
    ------
    InvalidShapeError
        If `labels` and `logits` differ in shape, `logits` is 0-d or the class
        axis has length 0. A ``ValueError`` subclass.
    InvalidArgumentError
        If `axis` is out of bounds. A ``ValueError`` subclass.
    InvalidDtypeError
        If an argument has a dtype that cannot be used. A ``TypeError``
        subclass.
    ForkedProcessError
        If called in a child process forked after softmaxce was loaded.

    See Also
    --------
    softmax_cross_entropy_with_logits_with_grad : loss and both gradients.
    sparse_softmax_cross_entropy_with_logits : integer class labels.

    Notes
    -----
    For each example with labels :math:`t`, :math:`m = \max_c x_c` and
    :math:`s = \sum_c \exp(x_c - m)`, the loss is

    .. math:: \ell = \sum_{c : t_c \ne 0} t_c \left( (m - x_c) + \log s \right).

    A class with label 0 adds nothing, even when its logit is -inf
    (:math:`0 \cdot \log 0 = 0`). TensorFlow, PyTorch and optax's
    ``softmax_cross_entropy`` multiply :math:`0 \cdot (-\infty)` there and
    return NaN. A positive label on a -inf logit gives +inf.

    Examples
    --------
    >>> import numpy as np
    >>> import softmaxce
    >>> logits = np.array([[4.0, 2.0, 1.0], [0.0, 5.0, 1.0]], dtype=np.float32)
    >>> labels = np.array([[1.0, 0.0, 0.0], [0.0, 0.8, 0.2]], dtype=np.float32)
    >>> loss = softmaxce.softmax_cross_entropy_with_logits(labels, logits)
    >>> loss.dtype
    dtype('float32')
    >>> print(np.round(loss, 6))
    [0.169846 0.824745]
    >>> masked = np.array([[-np.inf, 0.0, 0.0]])
    >>> print(softmaxce.softmax_cross_entropy_with_logits([[0.0, 0.5, 0.5]], masked))
    [0.69314718]
    """
    problem = _prepare_tf(labels, logits, axis)
    options = _lib.shared_options(
        _lib.SCE_REDUCTION_NONE, None, 0.0, _lib.SCE_MEAN_BY_POSITIONS
    )
    loss, _, _ = run(problem, options, None, True, False, False)
    return loss.reshape(problem.loss_shape).astype(problem.out_dtype, copy=False)


def softmax_cross_entropy_with_logits_with_grad(
    labels: ArrayLike,
    logits: ArrayLike,
    axis: int = -1,
    grad_output: ArrayLike | None = None,
) -> tuple[NDArray[np.floating], NDArray[np.floating], NDArray[np.floating]]:
    r"""Compute the loss of :func:`softmax_cross_entropy_with_logits` and its gradients.

    One library call reads the logits once and returns the per-example loss,
    the gradient with respect to the logits and the gradient with respect to
    the labels, as TensorFlow 2's gradient of that function gives them.

    Parameters
    ----------
    labels, logits, axis
        As in :func:`softmax_cross_entropy_with_logits`.
    grad_output : array_like, optional
        Upstream gradient of the per-example loss: an array of the loss shape,
        or one that broadcasts to it. None means ones. Default: None.

    Returns
    -------
    loss : numpy.ndarray
        As returned by :func:`softmax_cross_entropy_with_logits`; not scaled
        by `grad_output`.
    grad_logits : numpy.ndarray
        Gradient with respect to `logits`, of its shape and dtype.
    grad_labels : numpy.ndarray
        Gradient with respect to `labels`, of the shape and dtype of `logits`.

    Raises
    ------
    InvalidShapeError, InvalidArgumentError, InvalidDtypeError, \
ForkedProcessError
        As in :func:`softmax_cross_entropy_with_logits`; InvalidShapeError also
        when `grad_output` does not broadcast to the loss shape.

    Notes
    -----
    With :math:`p = \operatorname{softmax}(x)` and upstream gradient :math:`g`,

    .. math:: \frac{\partial \ell}{\partial x_c} = g \left( p_c \sum_k t_k
              - t_c \right), \qquad
              \frac{\partial \ell}{\partial t_c} = -g \log p_c.

    The logits' gradient is exact also when a label row does not sum to 1;
    TensorFlow's fused kernel returns :math:`g (p_c - t_c)` there, which is
    right only for rows that sum to 1. A class with label 0 and logit -inf
    gets a logits' gradient of exactly 0 and a labels' gradient of +inf, the
    true value of :math:`-\log 0`.

    Examples
    --------
    >>> import numpy as np
    >>> import softmaxce
    >>> logits = np.array([[0.0, np.log(3.0)]])
    >>> labels = np.array([[0.5, 1.0]])
    >>> loss, grad, grad_labels = softmaxce.softmax_cross_entropy_with_logits_with_grad(
    ...     labels, logits
    ... )
    >>> print(np.round(loss, 6))
    [0.980829]
    >>> print(grad)
    [[-0.125  0.125]]
    >>> print(np.round(grad_labels, 6))
    [[1.386294 0.287682]]
    """
    problem = _prepare_tf(labels, logits, axis)
    options = _lib.shared_options(
        _lib.SCE_REDUCTION_NONE, None, 0.0, _lib.SCE_MEAN_BY_POSITIONS
    )
    upstream = prepare_grad_output(
        grad_output, options.reduction, problem.loss_shape, problem.logits.dtype
    )
    loss, grad, grad_labels = run(problem, options, upstream, True, True, True)
    out_dtype = problem.out_dtype
    return (
        loss.reshape(problem.loss_shape).astype(out_dtype, copy=False),
        grad.astype(out_dtype, copy=False),
        grad_labels.astype(out_dtype, copy=False),
    )
