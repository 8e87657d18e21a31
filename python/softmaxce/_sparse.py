"""Cross-entropy with integer class labels: the PyTorch and TensorFlow fronts.

Both fronts map their arguments to one call of ``sce_sparse_cross_entropy``;
the loss, the gradient, or both come from that single pass over the logits.
"""

from __future__ import annotations

import ctypes
import math
from typing import NamedTuple, Union

import numpy as np
from numpy.typing import ArrayLike, NDArray

from . import _lib
from ._coerce import (
    address,
    as_float,
    as_float_scalar,
    as_int64,
    as_labels,
    as_real,
    dtype_code,
)
from ._errors import InvalidArgumentError, InvalidShapeError, LabelOutOfRangeError

__all__ = [
    "cross_entropy",
    "cross_entropy_backward",
    "cross_entropy_with_grad",
    "sparse_softmax_cross_entropy_with_logits",
]

Loss = Union[np.floating, NDArray[np.floating]]

_REDUCTIONS = {
    "none": _lib.SCE_REDUCTION_NONE,
    "sum": _lib.SCE_REDUCTION_SUM,
    "mean": _lib.SCE_REDUCTION_MEAN,
}


class _Problem(NamedTuple):
    """Arguments of one sparse cross-entropy call, checked and converted."""

    logits: NDArray[np.floating]
    labels: NDArray[np.integer]
    weight: NDArray[np.floating] | None
    outer: int
    classes: int
    inner: int
    loss_shape: tuple[int, ...]
    out_dtype: np.dtype
    labels_name: str


# ---- Argument preparation --------------------------------------------------


def _prepare_torch(
    input: ArrayLike, target: ArrayLike, weight: ArrayLike | None
) -> _Problem:
    """Check and convert the arguments of the PyTorch-style functions."""
    logits, out_dtype = as_float(input, "input")
    shape = logits.shape
    if logits.ndim == 0:
        raise InvalidShapeError(
            "input must have shape (C,), (N, C) or (N, C, d1, ..., dk), got a 0-d array"
        )

    target_array = np.asarray(target)
    if target_array.shape == shape and target_array.dtype.kind in "fc":
        # TODO: the C interface has no entry point for probability targets
        # yet, so they raise here until one is added.
        raise NotImplementedError(
            f"target has the shape of input {shape} and dtype "
            f"{target_array.dtype.name}, so it would be class probabilities; "
            "probability (dense) targets are not supported yet, pass integer "
            "class indices instead"
        )
    labels = as_labels(target_array, "target")

    if logits.ndim == 1:
        # Unbatched: one position, class axis 0; like PyTorch, the target may
        # be 0-d or hold one element, and the loss is 0-d.
        if labels.shape not in ((), (1,)):
            raise InvalidShapeError(
                f"target must be 0-d for input of shape {shape}, got shape "
                f"{labels.shape}"
            )
        outer, classes, inner = 1, shape[0], 1
        loss_shape: tuple[int, ...] = ()
    else:
        expected = (shape[0],) + shape[2:]
        if labels.shape != expected:
            raise InvalidShapeError(
                f"target must have shape {expected} for input of shape {shape} "
                f"(N, C, d1, ..., dk), got shape {labels.shape}"
            )
        outer, classes, inner = shape[0], shape[1], math.prod(shape[2:])
        loss_shape = expected

    weight_array = None
    if weight is not None:
        weight_array = as_real(weight, "weight", logits.dtype)
        if weight_array.ndim != 1:
            raise InvalidShapeError(
                f"weight must be a 1-D array with one value per class ({classes}), "
                f"got shape {weight_array.shape}"
            )

    return _Problem(
        logits,
        labels,
        weight_array,
        outer,
        classes,
        inner,
        loss_shape,
        out_dtype,
        "target",
    )


def _reduction_code(reduction: object) -> int:
    code = _REDUCTIONS.get(reduction) if isinstance(reduction, str) else None
    if code is None:
        raise InvalidArgumentError(
            f"reduction must be one of 'none', 'sum' or 'mean', got {reduction!r}"
        )
    return code


def _torch_options(
    reduction: str, ignore_index: int, label_smoothing: float
) -> _lib.SceOptions:
    """Build the options of the PyTorch convention: the mean divides by Σ w[y]."""
    return _lib.make_options(
        _reduction_code(reduction),
        as_int64(ignore_index, "ignore_index"),
        as_float_scalar(label_smoothing, "label_smoothing"),
        _lib.SCE_MEAN_BY_WEIGHT_SUM,
    )


def _prepare_grad_output(
    grad_output: ArrayLike | None, reduction: int, problem: _Problem
) -> NDArray[np.floating] | None:
    """Convert the upstream gradient; None means ones."""
    if grad_output is None or (type(grad_output) in (int, float) and grad_output == 1):
        # The library reads a missing upstream gradient as all ones, which
        # saves building an array of ones for reduction 'none'.
        return None
    array = as_real(grad_output, "grad_output", problem.logits.dtype)
    if reduction != _lib.SCE_REDUCTION_NONE:
        if array.ndim != 0:
            raise InvalidShapeError(
                "grad_output must be a scalar for reduction 'sum' or 'mean', got "
                f"shape {array.shape}"
            )
        return array
    try:
        broadcast = np.broadcast_to(array, problem.loss_shape)
    except ValueError:
        raise InvalidShapeError(
            "grad_output must have the shape of the per-position loss "
            f"{problem.loss_shape} (or broadcast to it) for reduction 'none', got "
            f"shape {array.shape}"
        ) from None
    return np.ascontiguousarray(broadcast)


# ---- The call --------------------------------------------------------------


def _run(
    problem: _Problem,
    options: _lib.SceOptions,
    grad_output: NDArray[np.floating] | None,
    want_loss: bool,
    want_grad: bool,
) -> tuple[NDArray[np.floating] | None, NDArray[np.floating] | None]:
    """Allocate the requested outputs and fill them with one library call."""
    logits, labels, weight = problem.logits, problem.labels, problem.weight
    dtype = logits.dtype

    loss = None
    if want_loss:
        positions = problem.outer * problem.inner
        loss_len = positions if options.reduction == _lib.SCE_REDUCTION_NONE else 1
        loss = np.empty(loss_len, dtype=dtype)
    grad = np.empty(logits.shape, dtype=dtype) if want_grad else None

    args = (
        dtype_code(dtype),
        dtype_code(labels.dtype),
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
    )
    try:
        _lib.sparse_cross_entropy(*args)
    except LabelOutOfRangeError as exc:
        # Name the argument. The library receives the labels flattened, so the
        # position in its message is a row-major index into them.
        name = problem.labels_name
        note = f" (a row-major index into {name})" if labels.ndim > 1 else ""
        raise LabelOutOfRangeError(f"{name}: {exc}{note}", exc.status) from None
    return loss, grad


def _finish_loss(
    loss: NDArray[np.floating], options: _lib.SceOptions, problem: _Problem
) -> Loss:
    """Return a scalar for sum and mean, else the per-position loss array."""
    if options.reduction != _lib.SCE_REDUCTION_NONE:
        return problem.out_dtype.type(loss[0])
    return loss.reshape(problem.loss_shape).astype(problem.out_dtype, copy=False)


def _finish_grad(grad: NDArray[np.floating], problem: _Problem) -> NDArray[np.floating]:
    return grad.astype(problem.out_dtype, copy=False)


# ---- PyTorch front ---------------------------------------------------------


def cross_entropy(
    input: ArrayLike,
    target: ArrayLike,
    weight: ArrayLike | None = None,
    ignore_index: int = -100,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> Loss:
    r"""Compute the softmax cross-entropy of logits and class indices, as PyTorch.

    Follows ``torch.nn.functional.cross_entropy`` with integer targets: the
    class axis is 1, or 0 for 1-D input.

    Parameters
    ----------
    input : array_like
        Logits of shape (C,), (N, C) or (N, C, d1, ..., dk). float32 and float64
        are used as they are, float16 is computed in float32; other dtypes raise
        InvalidDtypeError. A non-contiguous array is copied.
    target : array_like of int
        Class indices in [0, C) or equal to `ignore_index`, of shape () or (1,)
        for 1-D input, else (N, d1, ..., dk). int32 and int64 are used as
        they are, narrower and unsigned integers are converted.
    weight : array_like, optional
        Class weights of shape (C,), finite and >= 0, converted to the dtype of
        `input`. Default: all ones.
    ignore_index : int, optional
        Label value whose positions contribute nothing to the loss, the
        gradient or the mean's denominator. Default: -100.
    reduction : {'mean', 'sum', 'none'}, optional
        'none' returns one loss per position, 'sum' their sum, and 'mean' the
        sum divided by the sum of ``weight[target]`` over kept positions.
        Default: 'mean'.
    label_smoothing : float, optional
        Epsilon in [0, 1]; the target becomes ``(1 - eps) * onehot + eps / C``.
        Default: 0.0.

    Returns
    -------
    numpy.floating or numpy.ndarray
        For 'sum' and 'mean', a scalar of the dtype of `input`; for 'none', an
        array of the target's shape (0-d for 1-D input).

    Raises
    ------
    LabelOutOfRangeError
        If a label is outside [0, C) and not `ignore_index`. The message names
        the label and its position. An ``IndexError`` subclass.
    InvalidShapeError
        If the shapes of `input`, `target` and `weight` do not fit together.
    InvalidArgumentError
        If `reduction`, `label_smoothing` or a weight value is invalid. A
        ``ValueError`` subclass, as is InvalidShapeError.
    InvalidDtypeError
        If an argument has a dtype that cannot be used. A ``TypeError``
        subclass.
    NotImplementedError
        If `target` has the shape of `input` and a float dtype, which would
        make it class probabilities.
    ForkedProcessError
        If called in a child process forked after softmaxce was loaded.

    See Also
    --------
    cross_entropy_backward : gradient of this loss.
    cross_entropy_with_grad : loss and gradient from one pass.

    Notes
    -----
    For a position with label :math:`y`, class weights :math:`w`,
    :math:`m = \max_c x_c` and :math:`s = \sum_c \exp(x_c - m)`, the loss is

    .. math:: \ell = w_y \left( (m - x_y) + \log s \right).

    Every exponent is <= 0, so nothing overflows, and :math:`1 \le s \le C`, so
    the logarithm is finite. Forming :math:`m - x_y` directly, instead of
    subtracting two large log-probabilities, keeps full precision for large
    logits: two equal logits of 1e30 give :math:`\log 2`, not 0.

    With label smoothing :math:`\varepsilon` the loss is
    :math:`(1 - \varepsilon) w_y (-\log p_y) + (\varepsilon / C)
    \sum_c w_c (-\log p_c)`, as in PyTorch. A mean with nothing to divide by
    (no positions, all ignored, zero total weight) is NaN; a sum over nothing
    is 0.

    Examples
    --------
    >>> import numpy as np
    >>> import softmaxce
    >>> logits = np.array([[2.0, 0.0, 0.0], [0.0, 2.0, 0.0], [0.0, 0.0, 2.0]])
    >>> labels = np.array([0, 2, 2])
    >>> print(round(float(softmaxce.cross_entropy(logits, labels)), 6))
    0.906211
    >>> print(np.round(softmaxce.cross_entropy(logits, labels, reduction="none"), 6))
    [0.239545 2.239545 0.239545]
    >>> weight = np.array([1.0, 2.0, 3.0])
    >>> loss = softmaxce.cross_entropy(logits, labels, weight=weight)
    >>> print(round(float(loss), 6))
    1.096688
    >>> print(round(float(softmaxce.cross_entropy(logits, [0, -100, 2])), 6))
    0.239545
    """
    problem = _prepare_torch(input, target, weight)
    options = _torch_options(reduction, ignore_index, label_smoothing)
    loss, _ = _run(problem, options, None, want_loss=True, want_grad=False)
    return _finish_loss(loss, options, problem)


def cross_entropy_backward(
    input: ArrayLike,
    target: ArrayLike,
    grad_output: ArrayLike = 1.0,
    weight: ArrayLike | None = None,
    ignore_index: int = -100,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
) -> NDArray[np.floating]:
    r"""Compute the gradient of :func:`cross_entropy` with respect to the logits.

    Parameters
    ----------
    input, target, weight, ignore_index, reduction, label_smoothing
        As in :func:`cross_entropy`.
    grad_output : array_like, optional
        Upstream gradient of the loss: a scalar for 'sum' and 'mean', an array
        of the per-position loss shape (or one that broadcasts to it) for
        'none'. Default: 1.0.

    Returns
    -------
    numpy.ndarray
        Gradient of the shape and dtype of `input`.

    Raises
    ------
    LabelOutOfRangeError, InvalidShapeError, InvalidArgumentError, \
InvalidDtypeError, NotImplementedError, ForkedProcessError
        As in :func:`cross_entropy`; InvalidShapeError also when `grad_output`
        has the wrong shape.

    Notes
    -----
    Without label smoothing the gradient at a kept position with label
    :math:`y` is

    .. math:: \frac{\partial \ell}{\partial x_c}
              = \frac{g \, w_y}{D} \left(p_c - [c = y]\right),
              \qquad p = \operatorname{softmax}(x),

    with :math:`g` the upstream gradient and :math:`D` the mean's denominator
    (1 for 'sum' and 'none'). The softmax is computed with the row maximum
    subtracted, so it is stable for any finite logits. Ignored positions get
    an exactly zero gradient, whatever their logits hold, and a mean with
    nothing to divide by gives an all-zero gradient.

    Examples
    --------
    >>> import numpy as np
    >>> import softmaxce
    >>> logits = np.array([[2.0, 0.0, 0.0], [0.0, 2.0, 0.0], [0.0, 0.0, 2.0]])
    >>> labels = np.array([0, 2, 2])
    >>> print(np.round(softmaxce.cross_entropy_backward(logits, labels), 4))
    [[-0.071   0.0355  0.0355]
     [ 0.0355  0.2623 -0.2978]
     [ 0.0355  0.0355 -0.071 ]]
    """
    problem = _prepare_torch(input, target, weight)
    options = _torch_options(reduction, ignore_index, label_smoothing)
    upstream = _prepare_grad_output(grad_output, options.reduction, problem)
    _, grad = _run(problem, options, upstream, want_loss=False, want_grad=True)
    return _finish_grad(grad, problem)


def cross_entropy_with_grad(
    input: ArrayLike,
    target: ArrayLike,
    weight: ArrayLike | None = None,
    ignore_index: int = -100,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
    grad_output: ArrayLike = 1.0,
) -> tuple[Loss, NDArray[np.floating]]:
    r"""Compute the loss of :func:`cross_entropy` and its gradient in one pass.

    One library call reads the logits once and writes both results, which is
    faster than :func:`cross_entropy` followed by
    :func:`cross_entropy_backward`.

    Parameters
    ----------
    input, target, weight, ignore_index, reduction, label_smoothing
        As in :func:`cross_entropy`.
    grad_output : array_like, optional
        As in :func:`cross_entropy_backward`. Default: 1.0.

    Returns
    -------
    loss : numpy.floating or numpy.ndarray
        As returned by :func:`cross_entropy`.
    grad : numpy.ndarray
        As returned by :func:`cross_entropy_backward`.

    Raises
    ------
    LabelOutOfRangeError, InvalidShapeError, InvalidArgumentError, \
InvalidDtypeError, NotImplementedError, ForkedProcessError
        As in :func:`cross_entropy_backward`.

    Notes
    -----
    The formulas are those of :func:`cross_entropy` and
    :func:`cross_entropy_backward`; `grad_output` scales the gradient only,
    never the returned loss.

    Examples
    --------
    >>> import numpy as np
    >>> import softmaxce
    >>> logits = np.array([[1.0, 2.0, 3.0], [1.0, 1.0, 1.0]], dtype=np.float32)
    >>> loss, grad = softmaxce.cross_entropy_with_grad(logits, [2, 0], reduction="sum")
    >>> loss.dtype, grad.dtype
    (dtype('float32'), dtype('float32'))
    >>> print(round(float(loss), 5))
    1.50622
    >>> print(np.round(grad, 4))
    [[ 0.09    0.2447 -0.3348]
     [-0.6667  0.3333  0.3333]]
    """
    problem = _prepare_torch(input, target, weight)
    options = _torch_options(reduction, ignore_index, label_smoothing)
    upstream = _prepare_grad_output(grad_output, options.reduction, problem)
    loss, grad = _run(problem, options, upstream, want_loss=True, want_grad=True)
    return _finish_loss(loss, options, problem), _finish_grad(grad, problem)


# ---- TensorFlow front ------------------------------------------------------


def sparse_softmax_cross_entropy_with_logits(
    labels: ArrayLike, logits: ArrayLike
) -> NDArray[np.floating]:
    r"""Compute per-example softmax cross-entropy, as TensorFlow's function does.

    Follows ``tf.nn.sparse_softmax_cross_entropy_with_logits``: the class axis
    is the last one, there is no reduction, no class weight and no ignored
    label.

    Parameters
    ----------
    labels : array_like of int
        Class indices in [0, C) of shape (d0, ..., dr-1). int32 and int64 are
        used as they are, narrower and unsigned integers are converted.
    logits : array_like
        Logits of shape (d0, ..., dr-1, C). float32 and float64 are used as
        they are, float16 is computed in float32 and the result rounded to
        float16; other dtypes raise InvalidDtypeError. A non-contiguous array
        is copied.

    Returns
    -------
    numpy.ndarray
        Loss per example, of the shape of `labels` and the dtype of `logits`.

    Raises
    ------
    LabelOutOfRangeError
        If a label is outside [0, C); the message names the label and its
        position. An ``IndexError`` subclass.
    InvalidShapeError
        If the rank of `labels` is not the rank of `logits` minus 1, or the
        leading dimensions differ, or C is 0. A ``ValueError`` subclass.
    InvalidDtypeError
        If an argument has a dtype that cannot be used. A ``TypeError``
        subclass.
    ForkedProcessError
        If called in a child process forked after softmaxce was loaded.

    Notes
    -----
    For each example with label :math:`y`, :math:`m = \max_c x_c` and
    :math:`s = \sum_c \exp(x_c - m)`, the loss is
    :math:`(m - x_y) + \log s`. Every exponent is <= 0, so nothing overflows,
    and a logit of -inf in a class other than the label is harmless. Unlike
    TensorFlow on GPU, an out-of-range label is always an error, never NaN.

    Examples
    --------
    >>> import numpy as np
    >>> import softmaxce
    >>> logits = np.array([[3.0, 1.0, 0.2], [0.5, 0.5, 4.0]], dtype=np.float32)
    >>> losses = softmaxce.sparse_softmax_cross_entropy_with_logits([0, 1], logits)
    >>> losses.shape, losses.dtype
    ((2,), dtype('float32'))
    >>> print(np.round(losses, 4))
    [0.1791 3.5586]
    """
    logits_array, out_dtype = as_float(logits, "logits")
    label_array = as_labels(labels, "labels")
    if logits_array.ndim == 0:
        raise InvalidShapeError(
            "logits must have rank >= 1 (the last axis is the class axis), got a "
            "0-d array"
        )
    if label_array.ndim != logits_array.ndim - 1:
        raise InvalidShapeError(
            "labels rank must equal logits rank - 1; got labels of shape "
            f"{label_array.shape} (rank {label_array.ndim}) and logits of shape "
            f"{logits_array.shape} (rank {logits_array.ndim})"
        )
    if label_array.shape != logits_array.shape[:-1]:
        raise InvalidShapeError(
            f"labels must have shape {logits_array.shape[:-1]}, the shape of logits "
            f"{logits_array.shape} without its last (class) axis, got "
            f"{label_array.shape}"
        )

    problem = _Problem(
        logits_array,
        label_array,
        None,
        label_array.size,
        logits_array.shape[-1],
        1,
        label_array.shape,
        out_dtype,
        "labels",
    )
    options = _lib.make_options(_lib.SCE_REDUCTION_NONE, None, 0.0)
    loss, _ = _run(problem, options, None, want_loss=True, want_grad=False)
    return loss.reshape(problem.loss_shape).astype(out_dtype, copy=False)
