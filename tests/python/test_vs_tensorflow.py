"""Compare softmaxce with TensorFlow: per-example sparse loss, gradient, softmax family.

The reference is ``tf.nn.sparse_softmax_cross_entropy_with_logits`` with the
gradient from ``tf.GradientTape``, in the same dtypes as the softmaxce call;
TensorFlow takes int32 and int64 labels as they are. softmaxce's gradient of
the per-example loss is ``cross_entropy_backward`` with reduction "none" on the
logits flattened to (positions, classes), which is the same function once the
class axis is last.

Tolerances follow the error analysis in test_vs_torch.py: the loss has a
relative bound and an absolute floor of a few ulp(1), the gradient an atol of a
few ulp(1) of its largest row factor, here ``max |grad_output|``. Measured
TensorFlow error against the float64 oracle on the 2-D shapes below
(TensorFlow 2.21, CPU, oneDNN off): float32 loss below 1e-7 of max(|loss|, 1)
and gradient below 2e-7 of the scale; float64 below 5e-16 and 7e-16.
"""

from __future__ import annotations

import zlib
from types import ModuleType
from typing import Any

import numpy as np
import oracle
import pytest
import softmaxce

pytestmark = pytest.mark.tensorflow

# (rtol, atol) of the per-example loss.
LOSS_TOLERANCE = {"float32": (2e-6, 1e-6), "float64": (5e-14, 5e-15)}
# (rtol, atol) of the gradient; atol is multiplied by max |grad_output|.
GRAD_TOLERANCE = {"float32": (4e-6, 1e-6), "float64": (1e-13, 5e-15)}
# Base rtol of a probability, before the terms of oracle.probability_rtol that
# grow with |x - m| and the class count. Both implementations round, so the
# comparisons use twice the single-implementation bound of test_vs_oracle.py.
PROBABILITY_RTOL = {"float32": 1e-6, "float64": 2e-15}
# (rtol, atol) of softmax_backward and log_softmax_backward; atol is multiplied
# by max |reference dx|.
SOFTMAX_BACKWARD_TOLERANCE = {"float32": (1e-5, 2e-6), "float64": (1e-12, 2e-14)}

DTYPES = ("float32", "float64")
LABEL_DTYPES = ("int32", "int64")
# Logits shapes with the class axis last: 1-D (C,) has a 0-d label.
SHAPES = ((1, 1), (1, 5), (7, 3), (64, 10), (128, 1000), (3, 50000), (4, 3, 5), (6,))


def shape_id(shape: tuple[int, ...]) -> str:
    """Format a shape as "7x3" ("1d-6" for 1-D logits)."""
    if len(shape) == 1:
        return f"1d-{shape[0]}"
    return "x".join(str(size) for size in shape)


def make_inputs(
    shape: tuple[int, ...], dtype: str, label_dtype: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return seeded logits, labels and a random upstream gradient."""
    rng = np.random.default_rng(zlib.crc32(f"{shape}-{dtype}-{label_dtype}".encode()))
    logits = (rng.standard_normal(shape) * 3.0).astype(dtype)
    labels = rng.integers(0, shape[-1], size=shape[:-1]).astype(label_dtype)
    grad_output = rng.uniform(-2.0, 2.0, size=shape[:-1]).astype(dtype)
    return logits, labels, grad_output


def tf_sparse_cross_entropy(
    tf: ModuleType, logits: np.ndarray, labels: np.ndarray, grad_output: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Return TensorFlow's per-example loss and the gradient for `grad_output`."""
    x = tf.constant(logits)
    with tf.GradientTape() as tape:
        tape.watch(x)
        loss = tf.nn.sparse_softmax_cross_entropy_with_logits(
            labels=tf.constant(labels), logits=x
        )
    grad = tape.gradient(loss, x, output_gradients=tf.constant(grad_output))
    return loss.numpy(), grad.numpy()


def softmaxce_sparse_grad(
    logits: np.ndarray, labels: np.ndarray, grad_output: np.ndarray
) -> np.ndarray:
    """Return softmaxce's gradient of ``sum(grad_output * per-example loss)``."""
    classes = logits.shape[-1]
    grad = softmaxce.cross_entropy_backward(
        logits.reshape(-1, classes),
        labels.reshape(-1),
        grad_output=grad_output.reshape(-1),
        reduction="none",
    )
    return np.asarray(grad).reshape(logits.shape)


def assert_grad_close(got: Any, want: np.ndarray, grad_output: np.ndarray) -> None:
    dtype = want.dtype.name
    rtol, atol = GRAD_TOLERANCE[dtype]
    scale = float(np.abs(grad_output).max()) if grad_output.size else 1.0
    oracle.assert_close(got, want, rtol, atol * scale)


@pytest.mark.parametrize("label_dtype", LABEL_DTYPES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SHAPES, ids=shape_id)
def test_sparse_cross_entropy(
    tf: ModuleType, shape: tuple[int, ...], dtype: str, label_dtype: str
) -> None:
    logits, labels, grad_output = make_inputs(shape, dtype, label_dtype)
    ones = np.ones_like(grad_output)
    want_loss, want_grad = tf_sparse_cross_entropy(tf, logits, labels, ones)
    _, want_scaled_grad = tf_sparse_cross_entropy(tf, logits, labels, grad_output)

    loss = softmaxce.sparse_softmax_cross_entropy_with_logits(
        labels=labels, logits=logits
    )
    assert np.asarray(loss).dtype == np.dtype(dtype)
    oracle.assert_close(loss, want_loss, *LOSS_TOLERANCE[dtype])

    grad = softmaxce_sparse_grad(logits, labels, ones)
    assert grad.dtype == np.dtype(dtype)
    assert_grad_close(grad, want_grad, ones)

    scaled_grad = softmaxce_sparse_grad(logits, labels, grad_output)
    assert_grad_close(scaled_grad, want_scaled_grad, grad_output)


@pytest.mark.parametrize("dtype", DTYPES)
def test_sparse_cross_entropy_positional_arguments(tf: ModuleType, dtype: str) -> None:
    """TensorFlow's argument order is (labels, logits); check it positionally."""
    logits, labels, _ = make_inputs((5, 4), dtype, "int64")
    want = tf.nn.sparse_softmax_cross_entropy_with_logits(labels, logits).numpy()
    got = softmaxce.sparse_softmax_cross_entropy_with_logits(labels, logits)
    oracle.assert_close(got, want, *LOSS_TOLERANCE[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
def test_sparse_cross_entropy_empty_batch(tf: ModuleType, dtype: str) -> None:
    logits = np.zeros((0, 4), dtype=dtype)
    labels = np.zeros((0,), dtype=np.int64)
    want = tf.nn.sparse_softmax_cross_entropy_with_logits(labels, logits).numpy()
    got = softmaxce.sparse_softmax_cross_entropy_with_logits(labels, logits)
    assert np.asarray(got).shape == want.shape


# ---- softmax family ------------------------------------------------------------

SOFTMAX_LAYOUTS = (
    ((1, 1), -1),
    ((7, 3), -1),
    ((7, 3), 0),
    ((64, 10), 1),
    ((3, 50000), -1),
    ((4, 5, 6), 1),
    ((4, 5, 6), 0),
    ((9,), 0),
)


def layout_id(layout: tuple[tuple[int, ...], int]) -> str:
    shape, axis = layout
    return f"{shape_id(shape)}-axis{axis}"


@pytest.mark.parametrize("name", ("softmax", "log_softmax"))
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", SOFTMAX_LAYOUTS, ids=layout_id)
def test_softmax_family(
    tf: ModuleType,
    layout: tuple[tuple[int, ...], int],
    dtype: str,
    name: str,
) -> None:
    shape, axis = layout
    rng = np.random.default_rng(len(shape) * 100 + axis)
    x = (rng.standard_normal(shape) * 3.0).astype(dtype)
    dy = (rng.standard_normal(shape) * 3.0).astype(dtype)

    x_tf = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(x_tf)
        y_tf = getattr(tf.nn, name)(x_tf, axis=axis)
    want_dx = tape.gradient(y_tf, x_tf, output_gradients=tf.constant(dy)).numpy()

    y = getattr(softmaxce, name)(x, axis=axis)
    assert np.asarray(y).dtype == np.dtype(dtype)
    want_y = y_tf.numpy()
    if name == "softmax":
        rtol = 2.0 * oracle.probability_rtol(x, axis, PROBABILITY_RTOL[dtype])
        oracle.assert_close(y, want_y, rtol, np.finfo(dtype).tiny)
    else:
        atol = 2.0 * oracle.log_probability_atol(x, want_y, axis)
        oracle.assert_close(y, want_y, 0.0, atol)

    dx = getattr(softmaxce, f"{name}_backward")(y, dy, axis=axis)
    assert np.asarray(dx).dtype == np.dtype(dtype)
    rtol, atol = SOFTMAX_BACKWARD_TOLERANCE[dtype]
    scale = float(np.abs(want_dx).max()) or 1.0
    oracle.assert_close(dx, want_dx, rtol, atol * scale)


# ---- Dense labels ------------------------------------------------------------------

# Tolerances of dense labels in units of the unit roundoff u, as for probability
# targets in test_vs_torch.py.
DENSE_LOSS_ULPS = {"rtol": 64.0, "atol": 8.0}
DENSE_GRAD_ULPS = {"base": 32.0, "per_class": 0.01}
# (shape with classes on axis 1, class axis after moving them there).
DENSE_LAYOUTS = (
    ((7, 3), -1),
    ((64, 10), -1),
    ((64, 10), 0),
    ((4, 5, 6), -1),
    ((3, 50000), -1),
)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", DENSE_LAYOUTS, ids=layout_id)
def test_softmax_cross_entropy_with_logits(
    tf: ModuleType,
    make_dense_problem: Any,
    layout: tuple[tuple[int, ...], int],
    dtype: str,
) -> None:
    """Rows that sum to 1, where TensorFlow's fused gradient ``p - t`` is exact."""
    shape, axis = layout
    base = make_dense_problem(shape, dtype, "normalized", "none", False, 0.0)
    logits = np.moveaxis(base.logits, 1, axis)
    labels = np.moveaxis(base.targets, 1, axis)
    # Moving the class axis keeps the loss shape of base.grad_output.
    grad_output = base.grad_output

    x = tf.constant(logits)
    t = tf.constant(labels)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch([x, t])
        want_loss = tf.nn.softmax_cross_entropy_with_logits(
            labels=t, logits=x, axis=axis
        )
    upstream = tf.constant(grad_output)
    want_grad = tape.gradient(want_loss, x, output_gradients=upstream).numpy()
    want_grad_labels = tape.gradient(want_loss, t, output_gradients=upstream).numpy()

    loss, grad, grad_labels = softmaxce.softmax_cross_entropy_with_logits_with_grad(
        labels, logits, axis=axis, grad_output=grad_output
    )
    u = oracle.UNIT_ROUNDOFF[dtype]
    oracle.assert_close(
        loss,
        want_loss.numpy(),
        DENSE_LOSS_ULPS["rtol"] * u,
        DENSE_LOSS_ULPS["atol"] * u * base.loss_scale(),
    )
    ulps = DENSE_GRAD_ULPS["base"] + DENSE_GRAD_ULPS["per_class"] * shape[1]
    oracle.assert_close(grad, want_grad, 0.0, ulps * u * base.grad_scale())

    # The labels' gradient is -g * logp: twice the log_softmax bound of one
    # implementation, times max |g|, plus the rounding of the product.
    log_probs = oracle.log_softmax(logits, axis=axis)
    largest_upstream = float(np.max(np.abs(grad_output)))
    atol = 2.0 * oracle.log_probability_atol(logits, log_probs, axis)
    oracle.assert_close(grad_labels, want_grad_labels, 8.0 * u, atol * largest_upstream)
