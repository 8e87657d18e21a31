"""Differentiable softmax cross-entropy for JAX, with optax's argument conventions.

:func:`softmax_cross_entropy_with_integer_labels`,
:func:`softmax_cross_entropy` and :func:`safe_softmax_cross_entropy` take the
arguments of the optax functions of the same names and return JAX arrays
that ``jax.grad`` differentiates and ``jax.jit`` and ``jax.vmap`` transform.
The library runs through ``jax.pure_callback`` on the host. Its forward pass
computes the loss and the gradients in one call, and the ``jax.custom_vjp``
backward pass only scales them by the upstream gradient. The values are those
of :mod:`softmaxce.optax`, with its documented differences from optax
(negative integer labels are errors, ``0 * log 0 = 0``).

JAX is imported on the first call, not when this module is imported.

Limits:

* Called on concrete arrays, outside any transformation, the functions run
  the library directly and raise softmaxce's own exceptions. Inside
  ``jax.jit``, ``jax.grad`` or ``jax.vmap`` a bad label is found on the host
  at run time, inside ``jax.pure_callback``. JAX documents an exception raised
  there as undefined behaviour; JAX 0.10 on the CPU raises its runtime error,
  which carries the same message.
* float16 and bfloat16 are computed in float32 and rounded once.
* Reverse mode only, to first order: forward-mode differentiation
  (``jax.jvp``, ``jax.jacfwd``) and second derivatives raise an error.
* On an accelerator every call copies the arrays to the host and back.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

import numpy as np

from ._coerce import normalize_axis
from ._dense import (
    softmax_cross_entropy_with_logits,
    softmax_cross_entropy_with_logits_with_grad,
)
from ._errors import InvalidDtypeError, InvalidShapeError
from ._sparse import per_example_cross_entropy

if TYPE_CHECKING:
    import jax

__all__ = [
    "safe_softmax_cross_entropy",
    "softmax_cross_entropy",
    "softmax_cross_entropy_with_integer_labels",
]


def _jax() -> Any:
    """Import JAX; raise ImportError with the install command if missing."""
    try:
        import jax
    except ImportError as exc:
        raise ImportError(
            f"softmaxce.jax needs JAX, which cannot be imported ({exc}); install "
            "it with 'pip install jax'"
        ) from exc
    return jax


def _compute_dtype(dtype: Any) -> Any:
    """Return the dtype the library computes in: float64 or float32."""
    return np.dtype(np.float64) if dtype == np.float64 else np.dtype(np.float32)


def _is_traced(*arrays: Any) -> bool:
    """Return whether any of `arrays` is a tracer of a JAX transformation."""
    tracer = _jax().core.Tracer
    return any(isinstance(array, tracer) for array in arrays)


def _negative_axis(axis: object, ndim: int) -> int:
    """Return `axis` counted from the end, so added batch axes do not move it."""
    return normalize_axis(axis, ndim) - ndim


@functools.cache
def _integer_labels() -> Any:
    """Define the custom-VJP function for integer labels once JAX is imported."""
    jax = _jax()

    def callback(logits: Any, labels: Any, axis: int, want_grad: bool) -> Any:
        dtype = _compute_dtype(logits.dtype)
        loss_type = jax.ShapeDtypeStruct(labels.shape, dtype)
        grad_type = jax.ShapeDtypeStruct(logits.shape, dtype)

        def host(x: np.ndarray, y: np.ndarray) -> Any:
            loss, grad = per_example_cross_entropy(y, x, axis, want_grad)
            return (loss, grad) if want_grad else loss

        result_type = (loss_type, grad_type) if want_grad else loss_type
        return jax.pure_callback(
            host, result_type, logits.astype(dtype), labels, vmap_method="broadcast_all"
        )

    @functools.partial(jax.custom_vjp, nondiff_argnums=(2,))
    def loss(logits: Any, labels: Any, axis: int) -> Any:
        return callback(logits, labels, axis, False).astype(logits.dtype)

    def forward(logits: Any, labels: Any, axis: int) -> Any:
        value, grad = callback(logits, labels, axis, True)
        return value.astype(logits.dtype), grad

    def backward(axis: int, grad: Any, upstream: Any) -> Any:
        # The upstream gradient has the dtype of the loss, which is that of
        # the logits; the saved gradient is in the wider computing dtype.
        scale = jax.numpy.expand_dims(upstream, axis).astype(grad.dtype)
        return (grad * scale).astype(upstream.dtype), None

    loss.defvjp(forward, backward)
    return loss


@functools.cache
def _dense_labels() -> Any:
    """Define the custom-VJP function for dense labels once JAX is imported."""
    jax = _jax()

    def callback(logits: Any, labels: Any, axis: int) -> Any:
        dtype = _compute_dtype(logits.dtype)
        loss_shape = logits.shape[:axis] + logits.shape[axis:][1:]
        result_type = (
            jax.ShapeDtypeStruct(loss_shape, dtype),
            jax.ShapeDtypeStruct(logits.shape, dtype),
            jax.ShapeDtypeStruct(logits.shape, dtype),
        )

        def host(x: np.ndarray, t: np.ndarray) -> Any:
            return softmax_cross_entropy_with_logits_with_grad(t, x, axis)

        return jax.pure_callback(
            host,
            result_type,
            logits.astype(dtype),
            labels.astype(dtype),
            vmap_method="broadcast_all",
        )

    @functools.partial(jax.custom_vjp, nondiff_argnums=(2,))
    def loss(logits: Any, labels: Any, axis: int) -> Any:
        return callback(logits, labels, axis)[0].astype(logits.dtype)

    def forward(logits: Any, labels: Any, axis: int) -> Any:
        value, grad, grad_labels = callback(logits, labels, axis)
        # Residuals cannot carry a dtype, so the labels' gradient is saved in
        # the labels' dtype; the logits' dtype is that of the upstream gradient.
        saved = (grad, grad_labels.astype(labels.dtype))
        return value.astype(logits.dtype), saved

    def backward(axis: int, saved: Any, upstream: Any) -> Any:
        grad, grad_labels = saved
        scale = jax.numpy.expand_dims(upstream, axis)
        grad = (grad * scale.astype(grad.dtype)).astype(upstream.dtype)
        return grad, grad_labels * scale.astype(grad_labels.dtype)

    loss.defvjp(forward, backward)
    return loss


def _check_dtype(array: Any, name: str, kind: str) -> None:
    """Raise InvalidDtypeError unless `array` is of `kind`, 'float' or 'integer'.

    The host function would reject the dtype too, but only at run time, where
    inside ``jax.jit`` the error loses its type.
    """
    jnp = _jax().numpy
    if kind == "float" and not jnp.issubdtype(array.dtype, jnp.floating):
        raise InvalidDtypeError(
            f"{name} must be a float16, bfloat16, float32 or float64 array, got "
            f"dtype {array.dtype}"
        )
    if kind == "integer" and not jnp.issubdtype(array.dtype, jnp.integer):
        raise InvalidDtypeError(
            f"{name} must contain integer class indices, got dtype {array.dtype}"
        )


def softmax_cross_entropy_with_integer_labels(
    logits: Any, labels: Any, axis: int = -1
) -> jax.Array:
    r"""Compute per-example cross-entropy of integer labels, differentiably.

    A replacement for ``optax.softmax_cross_entropy_with_integer_labels``
    (without ``where``, and with one integer `axis`).

    Parameters
    ----------
    logits : jax.Array or array_like
        Logits of any rank >= 1; float16, bfloat16, float32 or float64.
    labels : jax.Array or array_like of int
        Class indices in [0, C), of the shape of `logits` without `axis`. A
        negative label is an error, not a count from the end as in optax.
    axis : int, optional
        The class axis. Default: -1.

    Returns
    -------
    jax.Array
        Loss per example, of the shape of `labels` and the dtype of `logits`.
        Its gradient flows into `logits` only.

    Raises
    ------
    LabelOutOfRangeError, InvalidShapeError, InvalidDtypeError
        As in :func:`softmaxce.optax.softmax_cross_entropy_with_integer_labels`.
        Inside a JAX transformation a bad label arrives as JAX's runtime
        error.
    ImportError
        If JAX cannot be imported.

    Examples
    --------
    >>> import jax
    >>> import jax.numpy as jnp
    >>> import numpy as np
    >>> import softmaxce.jax
    >>> logits = jnp.array([[1.2, -0.8, -0.5], [0.9, -1.2, 1.1]], jnp.float32)
    >>> labels = jnp.array([0, 1])
    >>> loss_fn = softmaxce.jax.softmax_cross_entropy_with_integer_labels
    >>> print(np.asarray(loss_fn(logits, labels)).round(4))
    [0.2761 2.9518]
    >>> def total(x):
    ...     return loss_fn(x, labels).sum()
    >>> print(np.asarray(jax.jit(jax.grad(total))(logits)).round(4))
    [[-0.2413  0.1027  0.1386]
     [ 0.4266 -0.9478  0.5211]]
    """
    jnp = _jax().numpy
    logits = jnp.asarray(logits)
    labels = jnp.asarray(labels)
    _check_dtype(logits, "logits", "float")
    _check_dtype(labels, "labels", "integer")
    axis = _negative_axis(axis, logits.ndim)
    if not _is_traced(logits, labels):
        # Concrete arrays: run on the host now, so errors keep their type.
        dtype = _compute_dtype(logits.dtype)
        x = np.asarray(logits.astype(dtype))
        loss, _ = per_example_cross_entropy(np.asarray(labels), x, axis)
        return jnp.asarray(loss).astype(logits.dtype)
    return _integer_labels()(logits, labels, axis)


def softmax_cross_entropy(logits: Any, labels: Any, axis: int = -1) -> jax.Array:
    r"""Compute per-example cross-entropy of dense labels, differentiably.

    A replacement for ``optax.softmax_cross_entropy`` (without ``where``, and
    with one integer `axis`), with gradients with respect to both arguments.

    Parameters
    ----------
    logits : jax.Array or array_like
        Logits of any rank >= 1; float16, bfloat16, float32 or float64.
    labels : jax.Array or array_like of float
        Class probabilities (or any finite per-class weights), of the shape
        of `logits`.
    axis : int, optional
        The class axis. Default: -1.

    Returns
    -------
    jax.Array
        Loss per example: the shape of `logits` without `axis`, the dtype of
        `logits`.

    Raises
    ------
    InvalidShapeError, InvalidArgumentError, InvalidDtypeError
        As in :func:`softmaxce.optax.softmax_cross_entropy`.
    ImportError
        If JAX cannot be imported.

    Notes
    -----
    A class with label 0 adds nothing even when its logit is -inf
    (``0 * log 0 = 0``), where optax's function returns NaN. The logits'
    gradient is ``softmax * sum(labels) - labels``; the labels' gradient is
    ``-log_softmax(logits)``.

    Examples
    --------
    >>> import jax
    >>> import jax.numpy as jnp
    >>> import softmaxce.jax
    >>> logits = jnp.array([[-jnp.inf, 0.0, 0.0]], jnp.float32)
    >>> labels = jnp.array([[0.0, 1.0, 0.0]], jnp.float32)
    >>> print(softmaxce.jax.softmax_cross_entropy(logits, labels))
    [0.6931472]
    >>> def total(x):
    ...     return softmaxce.jax.softmax_cross_entropy(x, labels).sum()
    >>> print(jax.grad(total)(logits))
    [[ 0.  -0.5  0.5]]
    """
    jnp = _jax().numpy
    logits = jnp.asarray(logits)
    labels = jnp.asarray(labels)
    _check_dtype(logits, "logits", "float")
    _check_dtype(labels, "labels", "float")
    if labels.shape != logits.shape:
        raise InvalidShapeError(
            f"labels must have the shape of logits {logits.shape}, got {labels.shape}"
        )
    axis = _negative_axis(axis, logits.ndim)
    if not _is_traced(logits, labels):
        # Concrete arrays: run on the host now, so errors keep their type.
        dtype = _compute_dtype(logits.dtype)
        x = np.asarray(logits.astype(dtype))
        t = np.asarray(labels.astype(dtype))
        loss = softmax_cross_entropy_with_logits(t, x, axis)
        return jnp.asarray(loss).astype(logits.dtype)
    return _dense_labels()(logits, labels, axis)


def safe_softmax_cross_entropy(logits: Any, labels: Any) -> jax.Array:
    r"""Compute per-example cross-entropy of dense labels, 0 where labels are 0.

    A replacement for ``optax.safe_softmax_cross_entropy``: the class axis is
    the last one. Every function here treats a zero label so, which makes
    this :func:`softmax_cross_entropy` with ``axis=-1``.

    Parameters
    ----------
    logits, labels
        As in :func:`softmax_cross_entropy`, with the class axis last.

    Returns
    -------
    jax.Array
        Loss per example: the shape of `logits` without its last axis.

    Raises
    ------
    InvalidShapeError, InvalidDtypeError, ImportError
        As in :func:`softmax_cross_entropy`.

    Examples
    --------
    >>> import jax.numpy as jnp
    >>> import softmaxce.jax
    >>> logits = jnp.array([[-jnp.inf, 0.0]], jnp.float32)
    >>> labels = jnp.array([[0.0, 1.0]], jnp.float32)
    >>> print(softmaxce.jax.safe_softmax_cross_entropy(logits, labels))
    [0.]
    """
    return softmax_cross_entropy(logits, labels, -1)
