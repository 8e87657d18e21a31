"""Compare softmaxce with the float64 oracle in oracle.py, and check the oracle.

The oracle evaluates the definitions in float64 on the same input values, so it
is the exact result up to float64 rounding, and the tolerances here bound the
error of softmaxce alone. They are tighter than those against torch and
TensorFlow, which add their own error.

Tolerances, with u the unit roundoff of the dtype (2**-24 or 2**-53):

* Loss: rtol of a few ulp, and an absolute floor. The floor is needed because
  ``log s`` of a sum ``s >= 1`` rounded to float32 has an absolute error of up
  to ulp(1)/2, which is large relative to the loss of a confident position. With
  class weights up to 2 the float32 floor is 5e-7, about 4 ulp(1).
* Probabilities (softmax and the gradient): the rounding of ``x - m`` gives a
  relative error of ``u * |x - m|``, and the class sum s a relative error that
  grows with the number of classes C, so ``rtol = base + u * (|x - m| + 4 *
  log2(C))`` element by element. The gradient element of the label is ``p - 1``:
  its absolute error is a few ulp(1) of the row factor
  (oracle.cross_entropy_grad_scale), which is the gradient's atol.
* log_softmax: an absolute error of ``2u * (|y| + |x - m| + 4 * log2(C) + 1)``
  (oracle.log_probability_atol).
* Backward of softmax and log_softmax: a sum over classes of ``dy * y``, so an
  atol of a few ulp of ``max |dy|`` times ``log2(C)``.

Measured on the shapes below and on logits up to 20 times larger (softmaxce
0.1.0, x86-64): the largest error is below 0.8 of each bound.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import oracle
import pytest
import softmaxce
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

# (rtol, atol) of the loss.
LOSS_TOLERANCE = {"float32": (1e-6, 5e-7), "float64": (1e-14, 1e-15)}
# Base rtol of a probability, before the terms that grow with |x - m| and C.
PROBABILITY_RTOL = {"float32": 1e-6, "float64": 2e-15}
# atol of the gradient, multiplied by its largest row factor.
GRAD_ATOL = {"float32": 2.5e-7, "float64": 1e-15}
# (rtol, atol) of softmax_backward and log_softmax_backward; atol is multiplied
# by max |dy| * max(1, log2(C)).
BACKWARD_TOLERANCE = {"float32": (1e-6, 2.5e-7), "float64": (2e-15, 1e-15)}

DTYPES = ("float32", "float64")
LABEL_DTYPES = ("int32", "int64")
SMALL_SHAPES = ((1, 1), (1, 5), (7, 3), (64, 10), (6,), (4, 5, 3, 2), (2, 7, 0))
BIG_SHAPES = ((128, 1000), (3, 50000), (2, 300, 17, 5))


def shape_id(shape: tuple[int, ...]) -> str:
    """Format a shape as "7x3" ("1d-6" for 1-D logits)."""
    if len(shape) == 1:
        return f"1d-{shape[0]}"
    return "x".join(str(size) for size in shape)


def assert_grad_close(
    got: Any, want: np.ndarray, problem: Any, grad_output: Any
) -> None:
    """Compare a cross-entropy gradient with the oracle's."""
    dtype = problem.logits.dtype.name
    axis = 0 if problem.logits.ndim == 1 else 1
    scale = oracle.cross_entropy_grad_scale(
        problem.logits, problem.labels, grad_output=grad_output, **problem.kwargs()
    )
    rtol = oracle.probability_rtol(problem.logits, axis, PROBABILITY_RTOL[dtype])
    oracle.assert_close(got, want, rtol, GRAD_ATOL[dtype] * scale)


def check_cross_entropy(problem: Any, dtype: str) -> None:
    """Compare loss and gradients (unit and non-unit upstream) with the oracle."""
    kwargs = problem.kwargs()
    unit = np.ones(problem.labels.shape) if problem.reduction == "none" else 1.0
    want_loss, want_grad = oracle.cross_entropy(
        problem.logits, problem.labels, grad_output=unit, **kwargs
    )
    _, want_scaled_grad = oracle.cross_entropy(
        problem.logits, problem.labels, grad_output=problem.grad_output, **kwargs
    )

    loss, grad = softmaxce.cross_entropy_with_grad(
        problem.logits, problem.labels, **kwargs
    )
    assert np.asarray(loss).dtype == np.dtype(dtype)
    assert np.asarray(grad).dtype == np.dtype(dtype)
    oracle.assert_close(loss, want_loss, *LOSS_TOLERANCE[dtype])
    assert_grad_close(grad, want_grad, problem, unit)

    scaled_grad = softmaxce.cross_entropy_backward(
        problem.logits, problem.labels, grad_output=problem.grad_output, **kwargs
    )
    assert_grad_close(scaled_grad, want_scaled_grad, problem, problem.grad_output)


# ---- softmaxce against the oracle --------------------------------------------


@pytest.mark.parametrize("label_dtype", LABEL_DTYPES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SMALL_SHAPES, ids=shape_id)
def test_cross_entropy_small_shapes(
    make_problem: Any,
    shape: tuple[int, ...],
    dtype: str,
    label_dtype: str,
    options: Any,
) -> None:
    check_cross_entropy(make_problem(shape, dtype, label_dtype, options), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", BIG_SHAPES, ids=shape_id)
def test_cross_entropy_big_shapes(
    make_problem: Any, shape: tuple[int, ...], dtype: str, sampled_options: Any
) -> None:
    check_cross_entropy(make_problem(shape, dtype, "int64", sampled_options), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_cross_entropy_confident_rows(
    make_problem: Any, dtype: str, options: Any
) -> None:
    """Logits spread over +-60 make most rows confident, with tiny or huge losses."""
    problem = make_problem((32, 7), dtype, "int64", options, logit_scale=20.0)
    check_cross_entropy(problem, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", ((5, 7), (3, 4, 6)), ids=shape_id)
def test_sparse_cross_entropy(shape: tuple[int, ...], dtype: str) -> None:
    rng = np.random.default_rng(3)
    logits = (rng.standard_normal(shape) * 3.0).astype(dtype)
    labels = rng.integers(0, shape[-1], size=shape[:-1])
    want_loss, _ = oracle.sparse_softmax_cross_entropy_with_logits(labels, logits)

    loss = softmaxce.sparse_softmax_cross_entropy_with_logits(labels, logits)
    assert np.asarray(loss).dtype == np.dtype(dtype)
    oracle.assert_close(loss, want_loss, *LOSS_TOLERANCE[dtype])


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    rows=st.integers(0, 6),
    classes=st.integers(1, 9),
    spatial=st.lists(st.integers(0, 3), max_size=2),
    dtype=st.sampled_from(DTYPES),
    reduction=st.sampled_from(("none", "sum", "mean")),
    weighted=st.booleans(),
    ignore_index=st.sampled_from((None, -100, -1, 0, 2)),
    label_smoothing=st.sampled_from((0.0, 0.05, 0.5, 1.0)),
    seed=st.integers(0, 2**32 - 1),
)
def test_cross_entropy_random_problems(
    rows: int,
    classes: int,
    spatial: list[int],
    dtype: str,
    reduction: str,
    weighted: bool,
    ignore_index: int | None,
    label_smoothing: float,
    seed: int,
) -> None:
    """Random shapes, including empty ones, and options against the oracle."""
    rng = np.random.default_rng(seed)
    shape = (rows, classes, *spatial)
    logits = (rng.standard_normal(shape) * 4.0).astype(dtype)
    label_shape = (rows, *spatial)
    labels = rng.integers(0, classes, size=label_shape)
    if ignore_index is not None:
        # Every second position carries the ignore value (a real class for 0).
        labels.reshape(-1)[::2] = ignore_index
    weight = rng.uniform(0.0, 3.0, classes).astype(dtype) if weighted else None

    kwargs: dict[str, Any] = {
        "weight": weight,
        "reduction": reduction,
        "label_smoothing": label_smoothing,
    }
    if ignore_index is not None:
        kwargs["ignore_index"] = ignore_index
    unit = np.ones(label_shape) if reduction == "none" else 1.0
    want_loss, want_grad = oracle.cross_entropy(
        logits, labels, grad_output=unit, **kwargs
    )

    loss, grad = softmaxce.cross_entropy_with_grad(logits, labels, **kwargs)
    oracle.assert_close(loss, want_loss, *LOSS_TOLERANCE[dtype])
    scale = oracle.cross_entropy_grad_scale(logits, labels, grad_output=unit, **kwargs)
    rtol = oracle.probability_rtol(logits, 1, PROBABILITY_RTOL[dtype])
    oracle.assert_close(grad, want_grad, rtol, GRAD_ATOL[dtype] * scale)


# ---- softmax family against the oracle ----------------------------------------

SOFTMAX_LAYOUTS = (
    ((1, 1), -1),
    ((7, 3), 0),
    ((64, 10), 1),
    ((3, 50000), -1),
    ((4, 5, 6), 1),
    ((4, 5, 6), -3),
    ((9,), 0),
    ((0, 4), 1),
)


def layout_id(layout: tuple[tuple[int, ...], int]) -> str:
    shape, axis = layout
    return f"{shape_id(shape)}-axis{axis}"


@pytest.mark.parametrize("name", ("softmax", "log_softmax"))
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", SOFTMAX_LAYOUTS, ids=layout_id)
def test_softmax_family(
    layout: tuple[tuple[int, ...], int], dtype: str, name: str
) -> None:
    shape, axis = layout
    rng = np.random.default_rng(11)
    x = (rng.standard_normal(shape) * 3.0).astype(dtype)
    dy = (rng.standard_normal(shape) * 3.0).astype(dtype)

    y = getattr(softmaxce, name)(x, axis=axis)
    assert np.asarray(y).dtype == np.dtype(dtype)
    want_y = getattr(oracle, name)(x, axis=axis)
    if name == "softmax":
        rtol = oracle.probability_rtol(x, axis, PROBABILITY_RTOL[dtype])
        oracle.assert_close(y, want_y, rtol, np.finfo(dtype).tiny)
    else:
        atol = oracle.log_probability_atol(x, want_y, axis)
        oracle.assert_close(y, want_y, 0.0, atol)

    # The backward is checked on softmaxce's own y, so only its error counts.
    dx = getattr(softmaxce, f"{name}_backward")(y, dy, axis=axis)
    assert np.asarray(dx).dtype == np.dtype(dtype)
    want_dx = getattr(oracle, f"{name}_backward")(y, dy, axis=axis)
    rtol, atol = BACKWARD_TOLERANCE[dtype]
    scale = float(np.abs(dy).max()) if dy.size else 1.0
    scale *= max(1.0, math.log2(shape[axis]))
    oracle.assert_close(dx, want_dx, rtol, atol * scale)


# ---- The oracle itself ---------------------------------------------------------


def test_oracle_weighted_mean_worked_example() -> None:
    """Weighted mean over rows [2,0,0], [0,2,0], [0,0,2] with labels [0, 2, 2].

    A row whose label is the class with logit 2 has loss ``a = log(e**2 + 2) - 2``,
    a row whose label has logit 0 has ``b = log(e**2 + 2)``. With weights
    [1, 2, 3] the target weights are 1, 3 and 3, so the mean is (a + 3b + 3a) / 7.
    """
    logits = 2.0 * np.eye(3)
    a = math.log(math.e**2 + 2.0) - 2.0
    b = math.log(math.e**2 + 2.0)
    loss, _ = oracle.cross_entropy(logits, [0, 2, 2], weight=[1.0, 2.0, 3.0])
    assert loss == pytest.approx((a + 3.0 * b + 3.0 * a) / 7.0, rel=1e-15)


def test_oracle_smoothing_equals_smoothed_targets() -> None:
    """Unweighted smoothing is the cross-entropy with ``(1 - eps) onehot + eps / C``."""
    rng = np.random.default_rng(5)
    logits = rng.standard_normal((6, 4))
    labels = rng.integers(0, 4, 6)
    eps = 0.3
    targets = (1.0 - eps) * np.eye(4)[labels] + eps / 4.0
    want = -np.sum(targets * oracle.log_softmax(logits), axis=1)
    loss, _ = oracle.cross_entropy(
        logits, labels, reduction="none", label_smoothing=eps
    )
    np.testing.assert_allclose(loss, want, rtol=1e-14)


@pytest.mark.parametrize("reduction", ("none", "sum", "mean"))
@pytest.mark.parametrize("label_smoothing", (0.0, 0.2))
def test_oracle_gradient_matches_finite_differences(
    reduction: str, label_smoothing: float
) -> None:
    """Central differences of the oracle's loss against its analytic gradient."""
    rng = np.random.default_rng(9)
    logits = rng.standard_normal((5, 4))
    labels = np.array([0, 3, -100, 1, 2])
    weight = rng.uniform(0.5, 2.0, 4)
    upstream = rng.uniform(-1.0, 1.0, 5) if reduction == "none" else 0.7
    kwargs = {
        "weight": weight,
        "reduction": reduction,
        "label_smoothing": label_smoothing,
    }
    _, grad = oracle.cross_entropy(logits, labels, grad_output=upstream, **kwargs)

    def objective(x: np.ndarray) -> float:
        loss, _ = oracle.cross_entropy(x, labels, **kwargs)
        return float(np.sum(np.asarray(upstream) * loss))

    step = 1e-6
    numeric = np.zeros_like(logits)
    for index in np.ndindex(logits.shape):
        plus = logits.copy()
        minus = logits.copy()
        plus[index] += step
        minus[index] -= step
        numeric[index] = (objective(plus) - objective(minus)) / (2.0 * step)
    np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-9)


# ---- Dense (probability) targets against the oracle ----------------------------

# Tolerance of a dense loss, a sum of non-negative terms ``-w t logp``, in units
# of the unit roundoff u: relative, and absolute times the problem's loss_scale.
DENSE_LOSS_RTOL_ULPS = 32.0
DENSE_LOSS_ATOL_ULPS = 4.0
DENSE_SHAPES = ((1, 1), (7, 3), (64, 10), (6,), (4, 5, 3, 2), (3, 50000))


def dense_grad_atol(problem: Any) -> float:
    """Return ``u * (16 + 4 * log2(C))`` times the gradient's largest row factor.

    A gradient element ``p * sum(w t) - w t`` carries the rounding of p and of the
    class sums, which grows with the number of classes C.
    """
    u = oracle.UNIT_ROUNDOFF[problem.logits.dtype.name]
    classes = problem.logits.shape[0 if problem.logits.ndim == 1 else 1]
    return u * (16.0 + 4.0 * math.log2(classes)) * problem.grad_scale()


@pytest.mark.parametrize("label_smoothing", (0.0, 0.1, 1.0))
@pytest.mark.parametrize("weighted", (False, True), ids=("unweighted", "weighted"))
@pytest.mark.parametrize("reduction", ("none", "sum", "mean"))
@pytest.mark.parametrize("kind", ("normalized", "unnormalized"))
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", DENSE_SHAPES, ids=shape_id)
def test_cross_entropy_probability_targets(
    make_dense_problem: Any,
    shape: tuple[int, ...],
    dtype: str,
    kind: str,
    reduction: str,
    weighted: bool,
    label_smoothing: float,
) -> None:
    problem = make_dense_problem(
        shape, dtype, kind, reduction, weighted, label_smoothing
    )
    kwargs = problem.kwargs()
    want_loss, want_grad = oracle.cross_entropy_probabilities(
        problem.logits, problem.targets, grad_output=problem.grad_output, **kwargs
    )

    loss, grad = softmaxce.cross_entropy_with_grad(
        problem.logits, problem.targets, grad_output=problem.grad_output, **kwargs
    )
    assert np.asarray(loss).dtype == np.dtype(dtype)
    assert np.asarray(grad).dtype == np.dtype(dtype)
    u = oracle.UNIT_ROUNDOFF[dtype]
    atol = DENSE_LOSS_ATOL_ULPS * u * problem.loss_scale()
    oracle.assert_close(loss, want_loss, DENSE_LOSS_RTOL_ULPS * u, atol)
    oracle.assert_close(grad, want_grad, 0.0, dense_grad_atol(problem))


@pytest.mark.parametrize("axis", (-1, 0, 1))
@pytest.mark.parametrize("kind", ("normalized", "unnormalized"))
@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_cross_entropy_with_logits(
    make_dense_problem: Any, dtype: str, kind: str, axis: int
) -> None:
    """TensorFlow-style dense labels: loss and both gradients on any class axis."""
    base = make_dense_problem((6, 5, 4), dtype, kind, "none", False, 0.0)
    # Moving the class axis keeps the loss shape (6, 4) of base.grad_output.
    logits = np.moveaxis(base.logits, 1, axis)
    labels = np.moveaxis(base.targets, 1, axis)
    grad_output = base.grad_output
    want_loss, want_grad, want_grad_labels = oracle.softmax_cross_entropy_with_logits(
        labels, logits, axis=axis, grad_output=grad_output
    )

    loss = softmaxce.softmax_cross_entropy_with_logits(labels, logits, axis=axis)
    fused = softmaxce.softmax_cross_entropy_with_logits_with_grad(
        labels, logits, axis=axis, grad_output=grad_output
    )
    fused_loss, grad, grad_labels = fused
    u = oracle.UNIT_ROUNDOFF[dtype]
    loss_atol = DENSE_LOSS_ATOL_ULPS * u * base.loss_scale()
    oracle.assert_close(loss, want_loss, DENSE_LOSS_RTOL_ULPS * u, loss_atol)
    oracle.assert_bitwise_equal(fused_loss, loss)
    oracle.assert_close(grad, want_grad, 0.0, dense_grad_atol(base))
    # The labels' gradient is -g * logp: a few ulp of each element plus the
    # rounding of log s (below 8 here) times max |g| (2).
    oracle.assert_close(grad_labels, want_grad_labels, 8.0 * u, 16.0 * u)


@pytest.mark.parametrize("dtype", DTYPES)
def test_dense_zero_label_on_masked_class(dtype: str) -> None:
    """A zero label on a -inf logit adds nothing, and its gradient is exactly 0."""
    logits = np.array([[-np.inf, 0.5, 1.5, -np.inf], [0.0, 1.0, 2.0, 3.0]], dtype)
    labels = np.array([[0.0, 0.25, 0.75, 0.0], [0.1, 0.2, 0.3, 0.4]], dtype)
    want_loss, want_grad, _ = oracle.softmax_cross_entropy_with_logits(labels, logits)

    loss, grad, _ = softmaxce.softmax_cross_entropy_with_logits_with_grad(
        labels, logits
    )
    assert np.all(np.isfinite(loss))
    assert grad[0, 0] == 0.0
    assert grad[0, 3] == 0.0
    rtol = DENSE_LOSS_RTOL_ULPS * oracle.UNIT_ROUNDOFF[dtype]
    oracle.assert_close(loss, want_loss, rtol, 0.0)
    oracle.assert_close(grad, want_grad, rtol, 8.0 * oracle.UNIT_ROUNDOFF[dtype])
