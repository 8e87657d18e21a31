"""Drop-in replacements for TensorFlow's softmax cross-entropy functions.

:func:`sparse_softmax_cross_entropy_with_logits` and
:func:`softmax_cross_entropy_with_logits` take the arguments of the
``tf.nn`` functions of the same names and return tensors that
``tf.GradientTape`` differentiates. The forward pass computes the loss and the
gradients in one library call; the gradient function only scales them by the
upstream gradient. The values are those of the numpy functions of the same
names in :mod:`softmaxce`, with their documented differences from TensorFlow.

TensorFlow is imported on the first call, not when this module is imported.

Limits:

* In eager mode the tensors are read through ``Tensor.numpy()`` and a bad
  label raises softmaxce's own exception. Inside ``tf.function`` the call
  runs through ``tf.numpy_function``: it works on the CPU in a graph, but the
  graph cannot be compiled with XLA (``jit_compile=True``) or serialised to a
  SavedModel, and errors arrive as TensorFlow errors carrying the same message.
* bfloat16 tensors are computed in float32 and rounded once, as float16 is.
* No second derivatives: differentiating the gradient raises
  ``NotImplementedError`` instead of returning a wrong value.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from ._dense import softmax_cross_entropy_with_logits_with_grad
from ._sparse import per_example_cross_entropy

if TYPE_CHECKING:
    import tensorflow as tf

__all__ = [
    "softmax_cross_entropy_with_logits",
    "sparse_softmax_cross_entropy_with_logits",
]


def _tf() -> Any:
    """Import TensorFlow; raise ImportError with the install command if missing."""
    try:
        import tensorflow
    except ImportError as exc:
        raise ImportError(
            "softmaxce.tensorflow needs TensorFlow, which cannot be imported "
            f"({exc}); install it with 'pip install tensorflow-cpu'"
        ) from exc
    return tensorflow


def _call_numpy(
    func: Callable[..., tuple[np.ndarray, ...]],
    inputs: list[tf.Tensor],
    dtypes: list[Any],
) -> list[tf.Tensor]:
    """Run numpy `func` on `inputs`, eagerly or as a graph node."""
    tf = _tf()
    if tf.executing_eagerly():
        results = func(*(tensor.numpy() for tensor in inputs))
        return [
            tf.convert_to_tensor(np.asarray(result, dtype=dtype.as_numpy_dtype))
            for result, dtype in zip(results, dtypes)
        ]
    return tf.numpy_function(func, inputs, dtypes, stateful=False)


def _compute_dtype(dtype: Any) -> Any:
    """Return float32 for bfloat16, which numpy lacks, else `dtype`."""
    tf = _tf()
    return tf.float32 if dtype == tf.bfloat16 else dtype


@functools.cache
def _no_second_order() -> Callable[[Any, Any], Any]:
    """Return ``f(grad, x) = grad`` whose own gradient raises NotImplementedError.

    A saved gradient comes from numpy, so TensorFlow's graph has no path from
    the logits `x` to it and would report a second derivative of zero. Making
    `x` an input of this identity creates that path, and the gradient
    function turns the wrong value into an error.
    """
    tf = _tf()

    @tf.custom_gradient
    def identity(grad: tf.Tensor, x: tf.Tensor) -> Any:
        def backward(*_: tf.Tensor) -> tf.Tensor:
            raise NotImplementedError(
                "softmaxce.tensorflow has no second derivatives, because its "
                "gradient is computed outside TensorFlow; use the tf.nn function "
                "for higher-order gradients"
            )

        return tf.identity(grad), backward

    return identity


def sparse_softmax_cross_entropy_with_logits(
    labels: Any, logits: Any, name: str | None = None
) -> tf.Tensor:
    r"""Compute per-example cross-entropy of integer labels, differentiably.

    A replacement for ``tf.nn.sparse_softmax_cross_entropy_with_logits``: the
    class axis is the last one and there is no reduction.

    Parameters
    ----------
    labels : tf.Tensor or array_like of int
        Class indices in [0, C) of shape (d0, ..., dr-1).
    logits : tf.Tensor or array_like
        Logits of shape (d0, ..., dr-1, C); float16, bfloat16, float32 or
        float64.
    name : str, optional
        Name scope of the operation. Default: None.

    Returns
    -------
    tf.Tensor
        Loss per example, of the shape of `labels` and the dtype of `logits`.
        Its gradient flows into `logits` only.

    Raises
    ------
    LabelOutOfRangeError, InvalidShapeError, InvalidDtypeError
        As in :func:`softmaxce.sparse_softmax_cross_entropy_with_logits`, in
        eager mode.
    ImportError
        If TensorFlow cannot be imported.

    Examples
    --------
    >>> import tensorflow as tf
    >>> import softmaxce.tensorflow
    >>> logits = tf.Variable([[2.0, -5.0, 0.5, -0.1], [0.0, 0.0, 1.9, 1.4]])
    >>> with tf.GradientTape() as tape:
    ...     loss = softmaxce.tensorflow.sparse_softmax_cross_entropy_with_logits(
    ...         tf.constant([0, 3]), logits
    ...     )
    >>> print(loss.numpy().round(5))
    [0.29751 1.14483]
    >>> print(tape.gradient(loss, logits).numpy().round(4))
    [[-0.2573  0.0007  0.1657  0.0909]
     [ 0.0785  0.0785  0.5248 -0.6817]]
    """
    tf = _tf()
    with tf.name_scope(name or "SparseSoftmaxCrossEntropyWithLogits"):
        logits = tf.convert_to_tensor(logits)
        labels = tf.convert_to_tensor(labels)
        out_dtype = logits.dtype
        dtype = _compute_dtype(out_dtype)

        def fused(labels: np.ndarray, logits: np.ndarray) -> tuple[np.ndarray, ...]:
            return per_example_cross_entropy(labels, logits, -1, want_grad=True)

        @tf.custom_gradient
        def loss_and_grad(x: tf.Tensor) -> Any:
            loss, grad = _call_numpy(fused, [labels, tf.cast(x, dtype)], [dtype] * 2)
            loss.set_shape(labels.shape)
            grad.set_shape(x.shape)

            def backward(upstream: tf.Tensor) -> tf.Tensor:
                scale = tf.expand_dims(tf.cast(upstream, dtype), -1)
                guarded = _no_second_order()(grad, x)
                return tf.cast(guarded * scale, out_dtype)

            return tf.cast(loss, out_dtype), backward

        return loss_and_grad(logits)


def softmax_cross_entropy_with_logits(
    labels: Any, logits: Any, axis: int = -1, name: str | None = None
) -> tf.Tensor:
    r"""Compute per-example cross-entropy of dense labels, differentiably.

    A replacement for ``tf.nn.softmax_cross_entropy_with_logits`` (TensorFlow
    2): labels of the shape of the logits, class axis `axis`, no reduction,
    and gradients with respect to both logits and labels.

    Parameters
    ----------
    labels : tf.Tensor or array_like of float
        Class probabilities (or any finite per-class weights), of the shape
        of `logits`.
    logits : tf.Tensor or array_like
        Logits of any rank >= 1; float16, bfloat16, float32 or float64.
    axis : int, optional
        The class axis. Default: -1.
    name : str, optional
        Name scope of the operation. Default: None.

    Returns
    -------
    tf.Tensor
        Loss per example: the shape of `logits` without `axis`, the dtype of
        `logits`.

    Raises
    ------
    InvalidShapeError, InvalidArgumentError, InvalidDtypeError
        As in :func:`softmaxce.softmax_cross_entropy_with_logits`, in eager
        mode.
    ImportError
        If TensorFlow cannot be imported.

    Notes
    -----
    A class with label 0 adds nothing even when its logit is -inf
    (``0 * log 0 = 0``), where TensorFlow returns NaN. The logits' gradient is
    the exact ``softmax * sum(labels) - labels``, also for rows that do not sum
    to 1, where TensorFlow's fused kernel returns ``softmax - labels``.

    Examples
    --------
    >>> import tensorflow as tf
    >>> import softmaxce.tensorflow
    >>> logits = tf.Variable([[4.0, 2.0, 1.0], [0.0, 5.0, 1.0]])
    >>> labels = tf.Variable([[1.0, 0.0, 0.0], [0.0, 0.8, 0.2]])
    >>> with tf.GradientTape() as tape:
    ...     loss = softmaxce.tensorflow.softmax_cross_entropy_with_logits(
    ...         labels, logits
    ...     )
    >>> print(loss.numpy().round(6))
    [0.169846 0.824745]
    >>> grad_logits, grad_labels = tape.gradient(loss, [logits, labels])
    >>> print(grad_labels.numpy().round(4))
    [[0.1698 2.1698 3.1698]
     [5.0247 0.0247 4.0247]]
    """
    tf = _tf()
    with tf.name_scope(name or "SoftmaxCrossEntropyWithLogits"):
        logits = tf.convert_to_tensor(logits)
        labels = tf.convert_to_tensor(labels)
        out_dtype = logits.dtype
        dtype = _compute_dtype(out_dtype)

        def fused(labels: np.ndarray, logits: np.ndarray) -> tuple[np.ndarray, ...]:
            return softmax_cross_entropy_with_logits_with_grad(labels, logits, axis)

        @tf.custom_gradient
        def loss_and_grads(x: tf.Tensor, t: tf.Tensor) -> Any:
            inputs = [tf.cast(t, dtype), tf.cast(x, dtype)]
            loss, grad, grad_labels = _call_numpy(fused, inputs, [dtype] * 3)
            rank = x.shape.rank
            if rank is not None and -rank <= axis < rank:
                index = axis % rank
                loss.set_shape(x.shape[:index].concatenate(x.shape[index + 1 :]))
            grad.set_shape(x.shape)
            grad_labels.set_shape(x.shape)

            def backward(upstream: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
                scale = tf.expand_dims(tf.cast(upstream, dtype), axis)
                guard = _no_second_order()
                return (
                    tf.cast(guard(grad, x) * scale, out_dtype),
                    tf.cast(guard(grad_labels, x) * scale, t.dtype),
                )

            return tf.cast(loss, out_dtype), backward

        return loss_and_grads(logits, labels)
