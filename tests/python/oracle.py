"""Float64 reference formulas and comparison helpers for the softmaxce tests.

The functions here are written directly from the definitions, with numpy only,
and share no code with softmaxce. Every input is upcast to float64, so for
float32 inputs the reference is the exact math on the float32 values, rounded
once per float64 operation.

Definitions, for a position i with logits x over C classes:

* ``log_softmax(x)_c = (x_c - m) - log(sum_k exp(x_k - m))`` with ``m = max x``.
* Integer label y, class weights w, smoothing eps:
  ``loss_i = (1 - eps) * w_y * (-logp_y) + (eps / C) * sum_c w_c * (-logp_c)``.
* Its gradient with respect to x:
  ``(1 - eps) * w_y * (p - onehot_y) + (eps / C) * (sum_c w_c * p - w)``.
* ``mean`` divides the sum over kept positions by ``sum w_y`` over kept positions;
  a zero denominator gives a NaN loss and an all-zero gradient.
* Dense labels t (probabilities, or any finite values):
  ``loss_i = -sum_c w_c * t_c * logp_c`` where a term with ``t_c = 0`` is 0 even
  when ``logp_c = -inf``; the gradient is ``p * sum_c w_c t_c - w * t`` and the
  gradient with respect to the labels ``-w * logp``.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "assert_bitwise_equal",
    "assert_close",
    "cross_entropy",
    "cross_entropy_grad_scale",
    "cross_entropy_probabilities",
    "log_probability_atol",
    "log_softmax",
    "log_softmax_backward",
    "probability_rtol",
    "softmax",
    "softmax_backward",
    "softmax_cross_entropy_with_logits",
    "sparse_softmax_cross_entropy_with_logits",
]


# ---- Comparison helpers -----------------------------------------------------


def assert_close(got: object, want: object, rtol: float, atol: float) -> None:
    """Assert that `got` matches `want` element by element.

    An element passes when ``abs(got - want) <= atol + rtol * abs(want)``. NaN
    must meet NaN, and an infinity must meet the same infinity exactly. The
    shapes must be equal; the difference is taken in float64.

    Parameters
    ----------
    got : array_like
        The value under test.
    want : array_like
        The reference value.
    rtol, atol : float
        Relative and absolute tolerance.
    """
    got_arr = np.asarray(got, dtype=np.float64)
    want_arr = np.asarray(want, dtype=np.float64)
    assert got_arr.shape == want_arr.shape, (
        f"shape {got_arr.shape} differs from the expected {want_arr.shape}"
    )

    got_nan = np.isnan(got_arr)
    want_nan = np.isnan(want_arr)
    bad_nan = got_nan != want_nan
    assert not bad_nan.any(), _describe(
        "NaN where the reference is not NaN (or the reverse)",
        got_arr,
        want_arr,
        bad_nan,
    )

    want_inf = np.isinf(want_arr)
    got_inf = np.isinf(got_arr)
    bad_inf = (want_inf | got_inf) & (got_arr != want_arr)
    assert not bad_inf.any(), _describe(
        "infinity not matched exactly", got_arr, want_arr, bad_inf
    )

    finite = np.isfinite(want_arr)
    with np.errstate(invalid="ignore", over="ignore"):
        error = np.abs(got_arr - want_arr)
        allowed = atol + rtol * np.abs(want_arr)
    bad = finite & ~(error <= allowed)
    assert not bad.any(), _describe(
        f"outside rtol={rtol:g}, atol={atol:g}", got_arr, want_arr, bad
    )


def assert_bitwise_equal(got: object, want: object) -> None:
    """Assert equal dtype, shape and bits, with NaN equal to NaN."""
    got_arr = np.asarray(got)
    want_arr = np.asarray(want)
    assert got_arr.dtype == want_arr.dtype, (
        f"dtype {got_arr.dtype} differs from {want_arr.dtype}"
    )
    assert got_arr.shape == want_arr.shape, (
        f"shape {got_arr.shape} differs from {want_arr.shape}"
    )
    same = (got_arr == want_arr) | (np.isnan(got_arr) & np.isnan(want_arr))
    assert same.all(), _describe(
        "not bitwise equal",
        got_arr.astype(np.float64),
        want_arr.astype(np.float64),
        ~same,
    )


def _describe(what: str, got: np.ndarray, want: np.ndarray, bad: np.ndarray) -> str:
    """Format a failure message naming the count and the worst element."""
    count = int(np.count_nonzero(bad))
    if got.ndim == 0:
        return f"{what}: got {got.item()!r}, want {want.item()!r}"
    with np.errstate(invalid="ignore"):
        error = np.where(bad, np.abs(got - want), -1.0)
    error = np.where(np.isnan(error), np.inf, error)
    worst = np.unravel_index(int(np.argmax(error)), got.shape)
    return (
        f"{what}: {count} of {got.size} elements; at index {tuple(map(int, worst))} "
        f"got {got[worst]!r}, want {want[worst]!r}"
    )


# ---- Tolerances of probabilities -------------------------------------------------

UNIT_ROUNDOFF = {"float32": 2.0**-24, "float64": 2.0**-53}


def _spread(logits: np.ndarray, axis: int) -> np.ndarray:
    """Return ``|x - max(x)|`` along `axis` in float64, 0 where it is not finite."""
    x = logits.astype(np.float64)
    if x.size == 0:
        return np.zeros(x.shape)
    with np.errstate(invalid="ignore"):
        spread = np.abs(x - np.max(x, axis=axis, keepdims=True))
    return np.where(np.isfinite(spread), spread, 0.0)


def probability_rtol(logits: np.ndarray, axis: int, base: float) -> np.ndarray:
    """Return a relative tolerance for each probability ``exp(x - m) / s``.

    Rounding ``x - m`` in the logits' dtype, with unit roundoff u, changes the
    probability by a relative ``u * |x - m|``, and the class sum s carries a
    relative error that grows with the number of classes C, so the tolerance is
    ``base + u * (|x - m| + 4 * log2(C))``.
    """
    u = UNIT_ROUNDOFF[logits.dtype.name]
    classes = logits.shape[axis]
    growth = _spread(logits, axis) + 4.0 * math.log2(max(classes, 1))
    return base + u * growth


def log_probability_atol(
    logits: np.ndarray, log_probs: np.ndarray, axis: int
) -> np.ndarray:
    """Return an absolute tolerance for each ``(x - m) - log s``.

    Each term is rounded to within ulp/2 of its magnitude and s carries the
    class-count error described in :func:`probability_rtol`, so the tolerance is
    ``2u * (|y| + |x - m| + 4 * log2(C) + 1)``.
    """
    u = UNIT_ROUNDOFF[logits.dtype.name]
    classes = logits.shape[axis]
    magnitude = np.abs(np.asarray(log_probs, dtype=np.float64))
    magnitude = np.where(np.isfinite(magnitude), magnitude, 0.0)
    growth = magnitude + _spread(logits, axis) + 4.0 * math.log2(max(classes, 1)) + 1
    return 2.0 * u * growth


# ---- Softmax family ---------------------------------------------------------


def log_softmax(x: object, axis: int = -1) -> np.ndarray:
    """Compute ``(x - m) - log(sum(exp(x - m)))`` along `axis` in float64.

    Subtracting the maximum m keeps every exponent <= 0, so no term overflows.
    A slice whose maximum is -inf or +inf, or that contains NaN, gives NaN.
    """
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        m = np.max(x, axis=axis, keepdims=True)
        shifted = x - m
        total = np.sum(np.exp(shifted), axis=axis, keepdims=True)
        return shifted - np.log(total)


def softmax(x: object, axis: int = -1) -> np.ndarray:
    """Compute ``exp(x - m) / sum(exp(x - m))`` along `axis` in float64."""
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        m = np.max(x, axis=axis, keepdims=True)
        e = np.exp(x - m)
        return e / np.sum(e, axis=axis, keepdims=True)


def softmax_backward(y: object, dy: object, axis: int = -1) -> np.ndarray:
    """Compute ``y * (dy - sum(dy * y))`` along `axis`, y being a softmax output."""
    y = np.asarray(y, dtype=np.float64)
    dy = np.asarray(dy, dtype=np.float64)
    return y * (dy - np.sum(dy * y, axis=axis, keepdims=True))


def log_softmax_backward(y: object, dy: object, axis: int = -1) -> np.ndarray:
    """Compute ``dy - exp(y) * sum(dy)`` along `axis`, y being a log_softmax output."""
    y = np.asarray(y, dtype=np.float64)
    dy = np.asarray(dy, dtype=np.float64)
    return dy - np.exp(y) * np.sum(dy, axis=axis, keepdims=True)


# ---- Cross-entropy with integer labels --------------------------------------


def _check_labels(labels: np.ndarray, classes: int, kept: np.ndarray) -> None:
    """Raise ValueError for zero classes, IndexError for a kept label outside range."""
    if classes < 1:
        raise ValueError(f"the class axis has length {classes}; it must be >= 1")
    bad = kept & ((labels < 0) | (labels >= classes))
    if bad.any():
        first = int(np.flatnonzero(bad)[0])
        raise IndexError(
            f"label {int(labels[first])} at flat position {first} is outside "
            f"[0, {classes})"
        )


def _rows(
    x: np.ndarray,
    labels: np.ndarray,
    weight: np.ndarray,
    kept: np.ndarray,
    label_smoothing: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return per-row loss, per-row gradient and the target weight of each row.

    `x` is (P, C) with classes last; rows that are not kept get exact zeros,
    whatever their logits contain.
    """
    positions, classes = x.shape
    safe_labels = np.where(kept, labels, 0).astype(np.int64)
    logp = log_softmax(x, axis=1)
    p = np.exp(logp)
    onehot = np.zeros_like(x)
    onehot[np.arange(positions), safe_labels] = 1.0
    target_weight = weight[safe_labels]

    with np.errstate(invalid="ignore", over="ignore"):
        nll = -logp[np.arange(positions), safe_labels] * target_weight
        grad = target_weight[:, None] * (p - onehot)
        loss = nll
        if label_smoothing != 0.0:
            eps = label_smoothing
            smooth = np.sum(weight[None, :] * -logp, axis=1)
            loss = (1.0 - eps) * nll + (eps / classes) * smooth
            smooth_grad = np.sum(weight) * p - weight[None, :]
            grad = (1.0 - eps) * grad + (eps / classes) * smooth_grad

    loss = np.where(kept, loss, 0.0)
    grad = np.where(kept[:, None], grad, 0.0)
    return loss, grad, np.where(kept, target_weight, 0.0)


def cross_entropy(
    logits: object,
    labels: object,
    weight: object | None = None,
    ignore_index: int | None = -100,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
    grad_output: object = 1.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Compute PyTorch-style cross-entropy and its gradient in float64.

    Parameters
    ----------
    logits : array_like
        ``(C,)``, ``(N, C)`` or ``(N, C, d1, ..., dk)``; classes on axis 1, or
        axis 0 for 1-D logits.
    labels : array_like of int
        ``()``, ``(N,)`` or ``(N, d1, ..., dk)``.
    weight : array_like, optional
        Class weights of length C; all ones when omitted.
    ignore_index : int or None, default -100
        Label value whose positions contribute nothing; None keeps every position.
    reduction : {"none", "sum", "mean"}, default "mean"
        Reduction over positions.
    label_smoothing : float, default 0.0
        Mass eps spread uniformly over the classes.
    grad_output : array_like, default 1.0
        Upstream gradient: a scalar for sum and mean, the loss shape for none.

    Returns
    -------
    loss : numpy.ndarray
        0-d for sum and mean, the labels' shape for none.
    grad : numpy.ndarray
        Gradient of ``sum(grad_output * loss)`` with respect to the logits.

    Raises
    ------
    IndexError
        If a kept label is outside ``[0, C)``.
    """
    x = np.asarray(logits, dtype=np.float64)
    y = np.asarray(labels).astype(np.int64)
    class_axis = 0 if x.ndim == 1 else 1
    classes = x.shape[class_axis]

    # Move classes last and flatten every other axis into positions.
    moved = np.moveaxis(x, class_axis, -1)
    flat_x = moved.reshape(-1, classes)
    flat_y = y.reshape(-1)
    w = np.ones(classes) if weight is None else np.asarray(weight, dtype=np.float64)
    if ignore_index is None:
        kept = np.ones(flat_y.shape, dtype=bool)
    else:
        kept = flat_y != ignore_index
    _check_labels(flat_y, classes, kept)

    row_loss, row_grad, target_weight = _rows(flat_x, flat_y, w, kept, label_smoothing)

    if reduction == "none":
        upstream = np.broadcast_to(
            np.asarray(grad_output, dtype=np.float64), y.shape
        ).reshape(-1)
        loss = row_loss.reshape(y.shape)
        with np.errstate(invalid="ignore"):
            grad_rows = np.where(kept[:, None], row_grad * upstream[:, None], 0.0)
    elif reduction in ("sum", "mean"):
        total = math.fsum(row_loss) if np.isfinite(row_loss).all() else row_loss.sum()
        upstream = float(grad_output)
        if reduction == "sum":
            loss = np.float64(total)
            scale = upstream
        else:
            denominator = math.fsum(target_weight)
            if denominator == 0.0:
                loss = np.float64(np.nan)
                scale = 0.0
            else:
                loss = np.float64(total / denominator)
                scale = upstream / denominator
        with np.errstate(invalid="ignore"):
            grad_rows = np.where(kept[:, None], row_grad * scale, 0.0)
    else:
        raise ValueError(f"unknown reduction {reduction!r}")

    grad = np.moveaxis(grad_rows.reshape(moved.shape), -1, class_axis)
    return np.asarray(loss), grad


def cross_entropy_grad_scale(
    logits: object,
    labels: object,
    weight: object | None = None,
    ignore_index: int | None = -100,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
    grad_output: object = 1.0,
) -> float:
    """Return the largest row factor of the gradient of :func:`cross_entropy`.

    The gradient of a kept position is its row factor ``|g_i| / denominator *
    ((1 - eps) * w_y + (eps / C) * sum(w))`` times a vector of entries in
    ``[-1, 1]``, and it is formed from probabilities near 1 minus 1, so its
    rounding error is a few ulp(1) of this factor. The result is 1.0 when no
    position is kept or every factor is 0, so it can scale a tolerance.
    """
    x = np.asarray(logits, dtype=np.float64)
    label_array = np.asarray(labels).astype(np.int64)
    y = label_array.reshape(-1)
    classes = x.shape[0 if x.ndim == 1 else 1]
    w = np.ones(classes) if weight is None else np.asarray(weight, dtype=np.float64)
    kept = np.ones(y.shape, bool) if ignore_index is None else y != ignore_index
    target_weight = np.where(kept, w[np.where(kept, y, 0)], 0.0)

    eps = label_smoothing
    factor = (1.0 - eps) * target_weight + (eps / classes) * np.sum(w)
    upstream = np.abs(np.asarray(grad_output, dtype=np.float64))
    upstream = np.broadcast_to(upstream, label_array.shape).reshape(-1)
    factor = np.where(kept, factor * upstream, 0.0)
    if reduction == "mean":
        denominator = math.fsum(target_weight)
        factor = factor / denominator if denominator > 0.0 else 0.0 * factor
    largest = float(np.max(factor)) if factor.size else 0.0
    return largest if largest > 0.0 else 1.0


def sparse_softmax_cross_entropy_with_logits(
    labels: object, logits: object, grad_output: object = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """Compute TensorFlow-style per-example losses and their gradient in float64.

    Classes are on the last axis of `logits`; `labels` has the other axes. No
    label is ignored and nothing is reduced. The gradient is that of
    ``sum(grad_output * loss)``.
    """
    x = np.asarray(logits, dtype=np.float64)
    y = np.asarray(labels).astype(np.int64)
    classes = x.shape[-1]
    flat_x = x.reshape(-1, classes)
    flat_y = y.reshape(-1)
    kept = np.ones(flat_y.shape, dtype=bool)
    _check_labels(flat_y, classes, kept)

    row_loss, row_grad, _ = _rows(flat_x, flat_y, np.ones(classes), kept, 0.0)
    upstream = np.broadcast_to(np.asarray(grad_output, dtype=np.float64), y.shape)
    grad = row_grad * upstream.reshape(-1)[:, None]
    return row_loss.reshape(y.shape), grad.reshape(x.shape)


# ---- Cross-entropy with dense labels ----------------------------------------------


def _dense_rows(
    x: np.ndarray, t: np.ndarray, weight: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return per-row loss, logits gradient and labels gradient for (P, C) rows.

    A label of exactly 0 contributes nothing to the loss, so ``0 * log 0 = 0``.
    """
    logp = log_softmax(x, axis=1)
    p = np.exp(logp)
    weighted = weight[None, :] * t
    with np.errstate(invalid="ignore", over="ignore"):
        terms = np.where(weighted != 0.0, -weighted * logp, 0.0)
        loss = np.sum(terms, axis=1)
        grad = p * np.sum(weighted, axis=1, keepdims=True) - weighted
        grad_labels = -weight[None, :] * logp
    return loss, grad, grad_labels


def cross_entropy_probabilities(
    logits: object,
    targets: object,
    weight: object | None = None,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
    grad_output: object = 1.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Compute PyTorch-style cross-entropy with probability targets in float64.

    `targets` has the shape of `logits`; classes are on axis 1 (axis 0 for 1-D
    logits). Smoothing replaces t by ``(1 - eps) * t + eps / C``. The mean
    divides by the number of positions, never by the weights, and is NaN with a
    zero gradient when there are no positions.

    Returns
    -------
    loss : numpy.ndarray
        0-d for sum and mean, the logits' shape without the class axis for none.
    grad : numpy.ndarray
        Gradient of ``sum(grad_output * loss)`` with respect to the logits.
    """
    x = np.asarray(logits, dtype=np.float64)
    t = np.asarray(targets, dtype=np.float64)
    class_axis = 0 if x.ndim == 1 else 1
    classes = x.shape[class_axis]
    if classes < 1:
        raise ValueError(f"the class axis has length {classes}; it must be >= 1")
    w = np.ones(classes) if weight is None else np.asarray(weight, dtype=np.float64)
    if label_smoothing != 0.0:
        t = (1.0 - label_smoothing) * t + label_smoothing / classes

    moved = np.moveaxis(x, class_axis, -1)
    loss_shape = moved.shape[:-1]
    flat_x = moved.reshape(-1, classes)
    flat_t = np.moveaxis(t, class_axis, -1).reshape(-1, classes)
    row_loss, row_grad, _ = _dense_rows(flat_x, flat_t, w)

    positions = flat_x.shape[0]
    if reduction == "none":
        upstream = np.broadcast_to(
            np.asarray(grad_output, dtype=np.float64), loss_shape
        ).reshape(-1)
        loss = row_loss.reshape(loss_shape)
        scale = upstream[:, None]
    elif reduction in ("sum", "mean"):
        if np.isfinite(row_loss).all():
            total = math.fsum(row_loss)
        else:
            total = float(row_loss.sum())
        if reduction == "sum":
            loss = np.asarray(total)
            scale = float(grad_output)
        elif positions == 0:
            return np.asarray(np.nan), np.zeros(x.shape)
        else:
            loss = np.asarray(total / positions)
            scale = float(grad_output) / positions
    else:
        raise ValueError(f"unknown reduction {reduction!r}")

    with np.errstate(invalid="ignore"):
        grad_rows = row_grad * scale
    grad = np.moveaxis(grad_rows.reshape(moved.shape), -1, class_axis)
    return loss, grad


def softmax_cross_entropy_with_logits(
    labels: object, logits: object, axis: int = -1, grad_output: object = 1.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Compute TensorFlow-style dense cross-entropy in float64.

    Returns the per-example loss and the gradients of ``sum(grad_output *
    loss)`` with respect to the logits and to the labels. The logits' gradient
    is the exact ``p * sum(t) - t``, also for rows that do not sum to 1.
    """
    x = np.asarray(logits, dtype=np.float64)
    t = np.asarray(labels, dtype=np.float64)
    axis = axis % x.ndim
    classes = x.shape[axis]
    if classes < 1:
        raise ValueError(f"the class axis has length {classes}; it must be >= 1")

    moved = np.moveaxis(x, axis, -1)
    loss_shape = moved.shape[:-1]
    flat_x = moved.reshape(-1, classes)
    flat_t = np.moveaxis(t, axis, -1).reshape(-1, classes)
    row_loss, row_grad, row_grad_labels = _dense_rows(flat_x, flat_t, np.ones(classes))

    upstream = np.broadcast_to(np.asarray(grad_output, dtype=np.float64), loss_shape)
    upstream = upstream.reshape(-1, 1)
    with np.errstate(invalid="ignore"):
        grad = np.moveaxis((row_grad * upstream).reshape(moved.shape), -1, axis)
        grad_labels = np.moveaxis(
            (row_grad_labels * upstream).reshape(moved.shape), -1, axis
        )
    return row_loss.reshape(loss_shape), grad, grad_labels
