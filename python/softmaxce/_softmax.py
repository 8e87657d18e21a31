"""Softmax and log-softmax over any axis, and their backward passes.

The axis is mapped to the (outer, classes, inner) layout of the C library, so
an array is read where it lies in memory, without a transpose.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike, NDArray

from . import _lib
from ._coerce import (
    address,
    as_float,
    check_output,
    class_axis_layout,
    dtype_code,
    normalize_axis,
    reject_overlap,
    work_dtype_for,
)
from ._errors import InvalidShapeError

__all__ = ["log_softmax", "log_softmax_backward", "softmax", "softmax_backward"]


def _layout(shape: tuple[int, ...], axis: object, name: str) -> tuple[int, int, int]:
    if not shape:
        raise InvalidShapeError(
            f"{name} must have at least one dimension (the class axis), got a 0-d array"
        )
    return class_axis_layout(shape, normalize_axis(axis, len(shape)))


def _forward(
    func: Callable[..., None], x: ArrayLike, axis: object, out: object = None
) -> NDArray[np.floating]:
    """Apply the library's `func` (softmax or log-softmax) along `axis`.

    `out`, when given, receives the result and may be `x` itself.
    """
    array, out_dtype = as_float(x, "x")
    outer, classes, inner = _layout(array.shape, axis, "x")
    if out is not None:
        out = check_output(out, "out", array.shape, out_dtype)
        reject_overlap([("out", out)], [("x", x)], in_place=("out", "x"))
    if array.size == 0:
        # An empty array, an empty class axis included, has an empty result.
        if out is not None:
            return out
        return np.empty(array.shape, dtype=out_dtype)

    # float16 results are computed in float32 and rounded into `out`.
    direct = out is not None and out.dtype == array.dtype
    y = out if direct else np.empty_like(array)
    func(
        dtype_code(array.dtype),
        outer,
        classes,
        inner,
        address(array),
        array.size,
        address(y),
        y.size,
    )
    if out is not None:
        if y is not out:
            np.copyto(out, y, casting="same_kind")
        return out
    return y.astype(out_dtype, copy=False)


def _backward(
    func: Callable[..., None], y: ArrayLike, dy: ArrayLike, axis: object
) -> NDArray[np.floating]:
    """Apply the library's backward `func` to output `y` and its gradient `dy`."""
    y_array, y_out_dtype = as_float(y, "y")
    dy_array, dy_out_dtype = as_float(dy, "dy")
    if dy_array.shape != y_array.shape:
        raise InvalidShapeError(
            f"dy must have the shape of y {y_array.shape}, got {dy_array.shape}"
        )
    outer, classes, inner = _layout(y_array.shape, axis, "y")

    # Compute in the wider of the two dtypes, as numpy would promote them.
    out_dtype = np.result_type(y_out_dtype, dy_out_dtype)
    dtype = work_dtype_for(out_dtype)
    y_array = y_array.astype(dtype, copy=False)
    dy_array = dy_array.astype(dtype, copy=False)
    if y_array.size == 0:
        return np.empty(y_array.shape, dtype=out_dtype)

    dx = np.empty_like(y_array)
    func(
        dtype_code(dtype),
        outer,
        classes,
        inner,
        address(y_array),
        y_array.size,
        address(dy_array),
        dy_array.size,
        address(dx),
        dx.size,
    )
    return dx.astype(out_dtype, copy=False)


def softmax(
    x: ArrayLike, axis: int = -1, *, out: NDArray[np.floating] | None = None
) -> NDArray[np.floating]:
    r"""Compute the softmax of `x` along `axis`.

    Parameters
    ----------
    x : array_like
        Input of any rank >= 1. float32 and float64 are used as they are,
        float16 is computed in float32 and the result rounded to float16; other
        dtypes raise InvalidDtypeError. A non-contiguous array is copied.
    axis : int, optional
        Axis to normalise over, negative values counting from the end.
        Default: -1.
    out : numpy.ndarray, optional
        Array that receives the result: writable, C-contiguous, of the shape
        and dtype of `x`. It may be `x` itself (in place); any other memory
        shared with `x` is an error. Default: None, a new array.

    Returns
    -------
    numpy.ndarray
        Array of the shape and dtype of `x`; an empty `x` gives an empty result.
        It is `out` when given.

    Raises
    ------
    InvalidArgumentError
        If `axis` is out of bounds, or `out` is read-only, not C-contiguous or
        partially overlaps `x`. A ``ValueError`` subclass.
    InvalidShapeError
        If `x` is 0-d, or `out` has another shape.
    InvalidDtypeError
        If `x` does not have a float dtype, or `out` is not an array of the
        dtype of `x`. A ``TypeError`` subclass.
    ForkedProcessError
        If called in a child process forked after softmaxce was loaded.

    See Also
    --------
    log_softmax : the logarithm of this function, computed directly.
    softmax_backward : gradient of this function.

    Notes
    -----
    With :math:`m = \max_j x_j` along the axis,

    .. math:: y_c = \frac{\exp(x_c - m)}{\sum_j \exp(x_j - m)}.

    Subtracting the maximum makes every exponent <= 0, so nothing overflows,
    and the denominator >= 1, so it never underflows to 0. A slice along the
    axis that is entirely -inf, or that contains NaN or +inf, gives NaN in
    that slice only.

    Examples
    --------
    >>> import numpy as np
    >>> import softmaxce
    >>> x = np.array([[1.0, 2.0, 3.0], [1.0, 1.0, 1.0]])
    >>> print(np.round(softmaxce.softmax(x), 4))
    [[0.09   0.2447 0.6652]
     [0.3333 0.3333 0.3333]]
    >>> print(np.round(softmaxce.softmax(x, axis=0), 4))
    [[0.5    0.7311 0.8808]
     [0.5    0.2689 0.1192]]
    >>> print(softmaxce.softmax(np.array([1000.0, 1000.0])))
    [0.5 0.5]
    >>> y = softmaxce.softmax(x, out=x)
    >>> y is x
    True
    """
    return _forward(_lib.softmax, x, axis, out)


def log_softmax(
    x: ArrayLike, axis: int = -1, *, out: NDArray[np.floating] | None = None
) -> NDArray[np.floating]:
    r"""Compute the logarithm of the softmax of `x` along `axis`.

    Parameters
    ----------
    x : array_like
        Input of any rank >= 1, converted as in :func:`softmax`.
    axis : int, optional
        Axis to normalise over. Default: -1.
    out : numpy.ndarray, optional
        As in :func:`softmax`. Default: None.

    Returns
    -------
    numpy.ndarray
        Array of the shape and dtype of `x`; an empty `x` gives an empty result.
        It is `out` when given.

    Raises
    ------
    InvalidArgumentError, InvalidShapeError, InvalidDtypeError, \
ForkedProcessError
        As in :func:`softmax`.

    Notes
    -----
    With :math:`m = \max_j x_j` along the axis,

    .. math:: y_c = (x_c - m) - \log \sum_j \exp(x_j - m).

    This never forms the softmax itself, so very negative log-probabilities
    stay finite where ``log(softmax(x))`` would give -inf. A -inf input gives
    -inf; a slice that is entirely -inf, or that contains NaN or +inf, gives
    NaN in that slice only.

    Examples
    --------
    >>> import numpy as np
    >>> import softmaxce
    >>> print(softmaxce.log_softmax(np.array([1000.0, 0.0])))
    [    0. -1000.]
    """
    return _forward(_lib.log_softmax, x, axis, out)


def softmax_backward(
    y: ArrayLike, dy: ArrayLike, axis: int = -1
) -> NDArray[np.floating]:
    r"""Compute the gradient of :func:`softmax` from its output.

    Parameters
    ----------
    y : array_like
        Output of ``softmax(x, axis)``, converted as in :func:`softmax`.
    dy : array_like
        Upstream gradient, of the shape of `y`.
    axis : int, optional
        The axis `y` was normalised over. Default: -1.

    Returns
    -------
    numpy.ndarray
        Gradient with respect to `x`, of the shape of `y`, in the wider dtype
        of `y` and `dy`.

    Raises
    ------
    InvalidShapeError
        If `dy` does not have the shape of `y`, or `y` is 0-d.
    InvalidArgumentError, InvalidDtypeError, ForkedProcessError
        As in :func:`softmax`.

    Notes
    -----
    Along the axis, :math:`dx_c = y_c \left(dy_c - \sum_j dy_j \, y_j\right)`.

    Examples
    --------
    >>> import numpy as np
    >>> import softmaxce
    >>> y = softmaxce.softmax(np.array([[1.0, 2.0, 3.0], [1.0, 1.0, 1.0]]))
    >>> dy = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    >>> print(np.round(softmaxce.softmax_backward(y, dy), 4))
    [[ 0.0819 -0.022  -0.0599]
     [-0.1111  0.2222 -0.1111]]
    """
    return _backward(_lib.softmax_backward, y, dy, axis)


def log_softmax_backward(
    y: ArrayLike, dy: ArrayLike, axis: int = -1
) -> NDArray[np.floating]:
    r"""Compute the gradient of :func:`log_softmax` from its output.

    Parameters
    ----------
    y : array_like
        Output of ``log_softmax(x, axis)``, converted as in :func:`softmax`.
    dy : array_like
        Upstream gradient, of the shape of `y`.
    axis : int, optional
        The axis `y` was normalised over. Default: -1.

    Returns
    -------
    numpy.ndarray
        Gradient with respect to `x`, of the shape of `y`, in the wider dtype
        of `y` and `dy`.

    Raises
    ------
    InvalidShapeError
        If `dy` does not have the shape of `y`, or `y` is 0-d.
    InvalidArgumentError, InvalidDtypeError, ForkedProcessError
        As in :func:`softmax`.

    Notes
    -----
    Along the axis, :math:`dx_c = dy_c - \exp(y_c) \sum_j dy_j`.

    Examples
    --------
    >>> import numpy as np
    >>> import softmaxce
    >>> y = softmaxce.log_softmax(np.array([[1.0, 2.0, 3.0], [1.0, 1.0, 1.0]]))
    >>> dy = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    >>> print(np.round(softmaxce.log_softmax_backward(y, dy), 4))
    [[ 0.91   -0.2447 -0.6652]
     [-0.3333  0.6667 -0.3333]]
    """
    return _backward(_lib.log_softmax_backward, y, dy, axis)
