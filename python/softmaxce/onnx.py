"""Softmax cross-entropy with the conventions of the ONNX operator, on numpy arrays.

:func:`softmax_cross_entropy_loss` follows the ONNX operator
``SoftmaxCrossEntropyLoss`` (opset 13). It takes scores of shape (N, C) or
(N, C, D1, ..., Dk), integer labels and optional class weights. Its mean
divides by the sum of the target weights of the non-ignored positions, as the
operator's function body defines it. It maps the arguments onto the same core
as every other front and imports neither onnx nor onnxruntime. A mean with
nothing to divide by (every label ignored, zero total weight, or no positions)
is NaN, as the ONNX reference evaluator and onnxruntime 1.32 give.

Differences from ONNX, all on purpose:

* A label outside ``[0, C)`` that is not ``ignore_index`` raises
  :class:`LabelOutOfRangeError`. The operator's function body, which the ONNX
  reference evaluator and onnxruntime 1.32 on the CPU run, gathers with
  indices in ``[-C, C)``, so there -1 selects class C - 1.
* The log-probabilities are ``(x - m) - log(sum(exp(x - m)))``, never
  ``log(softmax(x))``, so they stay finite where the softmax underflows.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from . import _lib
from ._coerce import as_int64, as_labels
from ._dense import Loss
from ._errors import InvalidShapeError
from ._softmax import log_softmax
from ._sparse import ArgumentNames, prepare_class_axis_one, reduction_code, run_problem

__all__ = ["softmax_cross_entropy_loss"]

_NAMES = ArgumentNames("scores", "labels", "weights")


def softmax_cross_entropy_loss(
    scores: ArrayLike,
    labels: ArrayLike,
    weights: ArrayLike | None = None,
    reduction: str = "mean",
    ignore_index: int | None = None,
    return_log_prob: bool = False,
) -> Loss | tuple[Loss, NDArray[np.floating]]:
    r"""Compute softmax cross-entropy as the ONNX operator SoftmaxCrossEntropyLoss.

    Parameters
    ----------
    scores : array_like
        Logits of shape (N, C) or (N, C, D1, ..., Dk); float16, float32 or
        float64 (float16 is computed in float32).
    labels : array_like of int
        Class indices of shape (N, D1, ..., Dk), each in [0, C) or equal to
        `ignore_index`.
    weights : array_like, optional
        Class weights of shape (C,), finite and >= 0. Default: all ones.
    reduction : {'mean', 'sum', 'none'}, optional
        The operator's ``reduction`` attribute. 'mean' divides the sum by the
        sum of ``weights[label]`` over non-ignored positions (their count
        without weights). Default: 'mean'.
    ignore_index : int, optional
        The operator's ``ignore_index`` attribute: positions with this label
        give loss 0 and a zero gradient. None, the default, ignores nothing,
        as an absent attribute does.
    return_log_prob : bool, optional
        Also return the operator's optional second output, the
        log-probabilities. Default: False.

    Returns
    -------
    output : numpy.floating or numpy.ndarray
        A scalar for 'mean' and 'sum', else an array of shape (N, D1, ..., Dk);
        the dtype of `scores`.
    log_prob : numpy.ndarray
        Only with `return_log_prob`: the log-softmax of `scores` over axis 1,
        of its shape and dtype.

    Raises
    ------
    LabelOutOfRangeError
        If a label is outside [0, C) and not `ignore_index`. An
        ``IndexError`` subclass.
    InvalidShapeError
        If `scores` has fewer than 2 dimensions, or `labels` or `weights` does
        not fit its shape. A ``ValueError`` subclass.
    InvalidArgumentError
        If `reduction`, `ignore_index` or a weight is invalid. A
        ``ValueError`` subclass.
    InvalidDtypeError
        If `labels` is not an integer array or `scores` not a float array. A
        ``TypeError`` subclass.
    ForkedProcessError
        If called in a child process forked after softmaxce was loaded.

    Notes
    -----
    The loss of a kept position with label :math:`y` is
    :math:`w_y \left((m - x_y) + \log \sum_c e^{x_c - m}\right)` with
    :math:`m` the maximum over the classes, the value PyTorch's
    ``cross_entropy`` gives with the same weights and ignored label.

    Examples
    --------
    >>> import numpy as np
    >>> from softmaxce import onnx
    >>> scores = np.array([[2.0, 0.0, 0.0], [0.0, 2.0, 0.0], [0.0, 0.0, 2.0]])
    >>> labels = np.array([0, 2, 2])
    >>> weights = np.array([1.0, 2.0, 3.0])
    >>> print(round(float(onnx.softmax_cross_entropy_loss(scores, labels, weights)), 6))
    1.096688
    >>> output, log_prob = onnx.softmax_cross_entropy_loss(
    ...     scores, labels, reduction="none", ignore_index=2, return_log_prob=True
    ... )
    >>> print(np.round(output, 6))
    [0.239545 0.       0.      ]
    >>> print(np.round(log_prob[0], 6))
    [-0.239545 -2.239545 -2.239545]
    """
    if np.ndim(scores) < 2:
        raise InvalidShapeError(
            "scores must have shape (N, C) or (N, C, D1, ..., Dk), got shape "
            f"{np.shape(scores)}"
        )
    code = reduction_code(reduction)
    ignore = None if ignore_index is None else as_int64(ignore_index, "ignore_index")

    # Converting first keeps float labels of the scores' shape from being read
    # as class probabilities, which the operator does not take.
    label_array = as_labels(labels, "labels", np.shape(scores)[1])
    problem = prepare_class_axis_one(scores, label_array, weights, _NAMES)
    options = _lib.make_options(code, ignore, 0.0, _lib.SCE_MEAN_BY_WEIGHT_SUM)
    output = run_problem(problem, options, None, True, False).loss
    if not return_log_prob:
        return output
    return output, log_softmax(scores, axis=1)
