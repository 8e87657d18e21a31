"""Softmax cross-entropy with the conventions of chainer, on numpy arrays.

:func:`softmax_cross_entropy` follows ``chainer.functions.softmax_cross_entropy``
(chainer 7). The class axis is 1 and ``ignore_label=-1``. Class weights scale
each loss but never enter the mean's denominator, ``normalize=False`` divides
by the batch size only, and a float target of the shape of ``x`` is a soft
target. The function maps its arguments onto the same core as every other
front. It does not import chainer, which does not run on numpy 2.

Differences from chainer, all on purpose:

* Labels are always checked: a label outside ``[0, C)`` that is not
  ``ignore_label`` raises :class:`LabelOutOfRangeError`. chainer checks only
  in debug mode and otherwise wraps negative labels or reads out of bounds.
* A mean with nothing to divide by (an empty batch, or every label ignored) is
  NaN with an all-zero gradient, as everywhere in softmaxce; chainer returns 0.
* Soft targets: the gradient is the exact ``softmax(x) * sum(t) - t``;
  chainer returns ``softmax(x) - t``, which is right only for target rows
  that sum to 1. The KL divergence uses ``t * log(t)`` with ``0 * log 0 = 0``;
  chainer uses ``t * log(t + 1e-7)``, which differs by up to ``1e-7`` per class.
* Soft targets with a ``class_weight`` raise an error, because chainer
  ignores the weights there without a warning.
* Class weights must be finite and >= 0.
* The arguments after ``normalize`` are keyword-only, because chainer's
  ``cache_score`` and ``enable_double_backprop``, which have no use here, sit
  between them.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from . import _lib
from ._coerce import as_int64
from ._dense import DenseProblem, Loss
from ._errors import InvalidArgumentError, InvalidShapeError, value_text
from ._sparse import ArgumentNames, TorchProblem, prepare_class_axis_one, run_problem

__all__ = ["softmax_cross_entropy", "softmax_cross_entropy_with_grad"]

_NAMES = ArgumentNames("x", "t", "class_weight")
_REDUCTIONS = {"mean": _lib.SCE_REDUCTION_MEAN, "no": _lib.SCE_REDUCTION_NONE}
_SOFT_TARGET_FLAGS = {"cross-entropy": 0, "kl-divergence": _lib.SCE_FLAG_KL_DIVERGENCE}


def _prepare(
    x: ArrayLike,
    t: ArrayLike,
    normalize: bool,
    class_weight: ArrayLike | None,
    ignore_label: int,
    reduce: str,
    soft_target_loss: str,
) -> tuple[TorchProblem, _lib.SceOptions]:
    """Check the arguments and build the problem and options of one call."""
    reduction = _REDUCTIONS.get(reduce) if isinstance(reduce, str) else None
    if reduction is None:
        raise InvalidArgumentError(
            f"reduce must be 'mean' or 'no', got {value_text(reduce)}"
        )
    flags = (
        _SOFT_TARGET_FLAGS.get(soft_target_loss)
        if isinstance(soft_target_loss, str)
        else None
    )
    if flags is None:
        raise InvalidArgumentError(
            "soft_target_loss must be 'cross-entropy' or 'kl-divergence', got "
            f"{value_text(soft_target_loss)}"
        )
    if np.ndim(x) < 2:
        raise InvalidShapeError(
            f"x must have shape (N, C) or (N, C, d1, ..., dk), got shape {np.shape(x)}"
        )

    problem = prepare_class_axis_one(x, t, class_weight, _NAMES)
    if isinstance(problem, DenseProblem):
        # chainer ignores class_weight, ignore_label and normalize for soft
        # targets; weights that silently do nothing are rejected here.
        if class_weight is not None:
            raise InvalidArgumentError(
                "class_weight cannot be used with soft targets (t of the shape "
                "of x and a float dtype), because chainer ignores it there; pass "
                "class_weight=None"
            )
        options = _lib.make_options(
            reduction, None, 0.0, _lib.SCE_MEAN_BY_POSITIONS, flags=flags
        )
        return problem, options

    mean_by = _lib.SCE_MEAN_BY_VALID_COUNT if normalize else _lib.SCE_MEAN_BY_OUTER
    ignore = as_int64(ignore_label, "ignore_label")
    return problem, _lib.make_options(reduction, ignore, 0.0, mean_by)


def softmax_cross_entropy(
    x: ArrayLike,
    t: ArrayLike,
    normalize: bool = True,
    *,
    class_weight: ArrayLike | None = None,
    ignore_label: int = -1,
    reduce: str = "mean",
    soft_target_loss: str = "cross-entropy",
) -> Loss:
    r"""Compute softmax cross-entropy of logits and labels, as chainer.

    Follows ``chainer.functions.softmax_cross_entropy``; see the module
    documentation for the deliberate differences.

    Parameters
    ----------
    x : array_like
        Logits of shape (N, C) or (N, C, d1, ..., dk); float16, float32 or
        float64 (float16 is computed in float32).
    t : array_like
        Class indices of shape (N, d1, ..., dk), each in [0, C) or equal to
        `ignore_label`. Or soft targets: class probabilities of the shape of
        `x` and a float dtype.
    normalize : bool, optional
        For class indices with ``reduce='mean'``: True divides the sum by the
        number of positions whose label is not `ignore_label`, False by N,
        the first dimension of `x` only. Not used for soft targets, whose
        mean divides by ``x.size / C``. Default: True.
    class_weight : array_like, optional
        Weights of shape (C,), finite and >= 0. The loss of a position with
        label y is multiplied by ``class_weight[y]``; the weights do not enter
        the mean's denominator. Only for class indices. Default: None.
    ignore_label : int, optional
        Label value whose positions give loss 0 and a zero gradient. Not used
        for soft targets. Default: -1.
    reduce : {'mean', 'no'}, optional
        'mean' returns a scalar, 'no' one loss per position. Default: 'mean'.
    soft_target_loss : {'cross-entropy', 'kl-divergence'}, optional
        For soft targets: ``-sum(t * log_softmax(x))``, or that minus
        ``-sum(t * log(t))``. Default: 'cross-entropy'.

    Returns
    -------
    numpy.floating or numpy.ndarray
        A scalar for 'mean', else an array of shape (N, d1, ..., dk); the dtype
        of `x`.

    Raises
    ------
    LabelOutOfRangeError
        If a label is outside [0, C) and not `ignore_label`. An
        ``IndexError`` subclass.
    InvalidShapeError
        If `x` has fewer than 2 dimensions or `t` or `class_weight` does not
        fit its shape. A ``ValueError`` subclass.
    InvalidArgumentError
        If `reduce`, `soft_target_loss` or a weight is invalid, or a
        `class_weight` is given with soft targets. A ``ValueError`` subclass.
    InvalidDtypeError
        If an argument has a dtype that cannot be used. A ``TypeError``
        subclass.
    ForkedProcessError
        If called in a child process forked after softmaxce was loaded.

    See Also
    --------
    softmax_cross_entropy_with_grad : loss and gradient from one pass.

    Notes
    -----
    For class indices the loss of a kept position is
    :math:`w_y \left((m - x_y) + \log \sum_c e^{x_c - m}\right)`. For soft
    targets it is :math:`\sum_{c : t_c \ne 0} t_c (-\log p_c)`, minus
    :math:`\sum_{c : t_c \ne 0} t_c \log t_c` for the KL divergence.

    Examples
    --------
    >>> import numpy as np
    >>> from softmaxce import chainer
    >>> x = np.array([[-1.0, 0.0, 1.0, 2.0], [2.0, 0.0, 1.0, -1.0]], np.float32)
    >>> print(round(float(chainer.softmax_cross_entropy(x, np.array([3, 0]))), 6))
    0.44019
    >>> w = np.array([1.0, 2.0, 3.0, 4.0], np.float32)
    >>> loss = chainer.softmax_cross_entropy(x, np.array([3, -1]), class_weight=w)
    >>> print(round(float(loss), 6))
    1.760759
    """
    problem, options = _prepare(
        x, t, normalize, class_weight, ignore_label, reduce, soft_target_loss
    )
    return run_problem(problem, options, None, True, False).loss


def softmax_cross_entropy_with_grad(
    x: ArrayLike,
    t: ArrayLike,
    normalize: bool = True,
    *,
    class_weight: ArrayLike | None = None,
    ignore_label: int = -1,
    reduce: str = "mean",
    soft_target_loss: str = "cross-entropy",
    grad_output: ArrayLike = 1.0,
) -> tuple[Loss, NDArray[np.floating]]:
    r"""Compute :func:`softmax_cross_entropy` and its gradient with respect to x.

    Parameters
    ----------
    x, t, normalize, class_weight, ignore_label, reduce, soft_target_loss
        As in :func:`softmax_cross_entropy`.
    grad_output : array_like, optional
        Upstream gradient: a scalar for 'mean', an array of the loss shape (or
        one that broadcasts to it) for 'no'. Default: 1.0.

    Returns
    -------
    loss : numpy.floating or numpy.ndarray
        As returned by :func:`softmax_cross_entropy`, not scaled by
        `grad_output`.
    grad : numpy.ndarray
        Gradient with respect to `x`, of its shape and dtype.

    Raises
    ------
    LabelOutOfRangeError, InvalidShapeError, InvalidArgumentError, \
InvalidDtypeError, ForkedProcessError
        As in :func:`softmax_cross_entropy`; InvalidShapeError also when
        `grad_output` has the wrong shape.

    Notes
    -----
    For class indices the gradient at a kept position is
    :math:`(g / D)\, w_y (p - \mathrm{onehot}(y))` with :math:`D` the mean's
    denominator (1 for 'no'), as in chainer. For soft targets it is
    :math:`(g / D)(p \sum_c t_c - t)`; chainer returns
    :math:`(g / D)(p - t)`, which agrees when each row of `t` sums to 1.

    Examples
    --------
    >>> import numpy as np
    >>> from softmaxce import chainer
    >>> x = np.array([[0.0, np.log(3.0)]])
    >>> loss, grad = chainer.softmax_cross_entropy_with_grad(x, np.array([[0.5, 1.0]]))
    >>> print(round(float(loss), 6), grad)
    0.980829 [[-0.125  0.125]]
    """
    problem, options = _prepare(
        x, t, normalize, class_weight, ignore_label, reduce, soft_target_loss
    )
    result = run_problem(problem, options, grad_output, True, True)
    return result.loss, result.grad
