"""Property tests: random shapes, dtypes, options and extreme values vs float64.

Hypothesis draws a problem (shape, dtype, label dtype, class weights,
ignore_index, label_smoothing, z_loss, reduction, grad_output) whose logits
mix ordinary values with the extremes the library must handle: +-inf, NaN,
+-1e30, huge equal logits and values near the exp overflow threshold. Each
result is compared with a float64 reference written below from the rules the
library documents:

* a kept position's loss is ``(1 - eps) * w_y * (-log p_y) +
  (eps / C) * sum_c w_c * (-log p_c) + z * lse**2``, with a term left out when
  its coefficient ``1 - eps`` or ``eps`` is 0, and a class of weight 0 left
  out of the sum (0 * log 0 = 0);
* a kept row holding NaN or +inf, or all -inf, has a NaN loss and gradient;
* an ignored position contributes exactly 0, whatever its logits;
* a mean over a zero denominator is NaN with an all-zero gradient.

Tolerances are per dtype and per element, relative to the size of the terms
that form the element (see ``scale`` in the reference); float16 input is
computed in float32 and rounded once, so its tolerance is float16's.

The hypothesis profile is fixed (derandomized, no example database), so a run
is reproducible and the file takes a few seconds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import oracle
import pytest
import softmaxce
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

PROFILE = settings(
    derandomize=True,
    database=None,
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# Tolerance relative to an element's scale, before the growth with the
# number of classes; see tolerance().
TOLERANCE = {"float16": 2e-3, "float32": 2e-5, "float64": 4e-14}
# Largest finite value of each dtype; a reference beyond it may be met by inf.
FINITE_MAX = {
    "float16": float(np.finfo(np.float16).max),
    "float32": float(np.finfo(np.float32).max),
    "float64": float(np.finfo(np.float64).max),
}

EXTREMES = (math.inf, -math.inf, math.nan, 1e30, -1e30, 88.7, -103.0, 0.0)


def tolerance(dtype: str, classes: int) -> float:
    """Return the tolerance for `classes` classes: sums of C terms lose more."""
    return TOLERANCE[dtype] * (1 + classes / 64)


def assert_matches(
    got: Any, want: np.ndarray, scale: np.ndarray, dtype: str, classes: int, what: str
) -> None:
    """Assert got == want within tolerance(dtype) * scale, NaN and inf exactly.

    A reference beyond the dtype's finite range may be met by the infinity of
    its sign, since the library rounds such a value to inf.
    """
    got_arr = np.asarray(got, dtype=np.float64)
    want = np.asarray(want, dtype=np.float64)
    scale = np.nan_to_num(np.asarray(scale, dtype=np.float64), nan=0.0)
    assert got_arr.shape == want.shape, f"{what}: shape {got_arr.shape}"
    overflow = (
        np.isinf(got_arr)
        & np.isfinite(want)
        & (np.abs(want) * (1 + TOLERANCE[dtype]) >= FINITE_MAX[dtype])
        & (np.sign(got_arr) == np.sign(want))
    )
    want = np.where(overflow, got_arr, want)

    nan_mismatch = np.isnan(got_arr) != np.isnan(want)
    assert not nan_mismatch.any(), _first(
        what, "NaN mismatch", got_arr, want, nan_mismatch
    )
    infinite = np.isinf(got_arr) | np.isinf(want)
    inf_mismatch = infinite & (got_arr != want)
    assert not inf_mismatch.any(), _first(
        what, "infinity mismatch", got_arr, want, inf_mismatch
    )
    allowed = tolerance(dtype, classes) * scale + float(np.finfo(dtype).tiny)
    with np.errstate(invalid="ignore"):
        outside = np.isfinite(want) & ~(np.abs(got_arr - want) <= allowed)
    assert not outside.any(), _first(what, "outside tolerance", got_arr, want, outside)


def _first(
    what: str, problem: str, got: np.ndarray, want: np.ndarray, bad: np.ndarray
) -> str:
    """Describe the first bad element for an assertion message."""
    index = tuple(int(i) for i in np.argwhere(bad)[0]) if got.ndim else ()
    return (
        f"{what}: {problem} in {int(np.count_nonzero(bad))} of {got.size} elements;"
        f" at {index} got {got[index]!r}, want {want[index]!r}"
    )


# ---- Strategies ----------------------------------------------------------------


@st.composite
def logit_arrays(draw: st.DrawFn, shape: tuple[int, ...], dtype: str) -> np.ndarray:
    """Draw logits: ordinary values with some elements set to extremes."""
    size = math.prod(shape)
    limit = 60.0 if dtype == "float16" else 30.0
    values = draw(
        st.lists(
            st.floats(-limit, limit, allow_nan=False, width=32),
            min_size=size,
            max_size=size,
        )
    )
    array = np.array(values, dtype=np.float64)
    if size and draw(st.booleans()):
        positions = draw(st.lists(st.integers(0, size - 1), max_size=4))
        for position in positions:
            array[position] = draw(st.sampled_from(EXTREMES))
    if size and draw(st.integers(0, 4)) == 0:
        array[:] = draw(st.sampled_from([1e30, -1e30, 1e4]))  # all equal
    with np.errstate(over="ignore"):
        return array.reshape(shape).astype(dtype)  # 1e30 is inf in float16


@dataclass
class Problem:
    """A drawn cross_entropy call."""

    logits: np.ndarray
    labels: np.ndarray
    weight: np.ndarray | None
    ignore_index: int
    reduction: str
    label_smoothing: float
    z_loss: float
    grad_output: Any
    dtype: str

    def kwargs(self) -> dict[str, Any]:
        return {
            "weight": self.weight,
            "ignore_index": self.ignore_index,
            "reduction": self.reduction,
            "label_smoothing": self.label_smoothing,
            "z_loss": self.z_loss,
        }


@st.composite
def problems(draw: st.DrawFn) -> Problem:
    dtype = draw(st.sampled_from(["float32", "float64", "float16"]))
    classes = draw(st.integers(1, 9))
    if draw(st.integers(0, 5)) == 0:
        shape: tuple[int, ...] = (classes,)
    else:
        batch = draw(st.integers(0, 6))
        extra = tuple(draw(st.lists(st.integers(1, 3), max_size=2)))
        shape = (batch, classes, *extra)
    label_shape = () if len(shape) == 1 else (shape[0], *shape[2:])
    logits = draw(logit_arrays(shape, dtype))

    ignore_index = draw(st.sampled_from([-100, -1, 0, classes, classes + 5]))
    size = math.prod(label_shape)
    label_values = draw(
        st.lists(
            st.one_of(st.integers(0, classes - 1), st.just(ignore_index)),
            min_size=size,
            max_size=size,
        )
    )
    label_dtype = draw(st.sampled_from(["int32", "int64"]))
    labels = np.array(label_values, dtype=label_dtype).reshape(label_shape)

    weight = None
    if draw(st.booleans()):
        weight_values = draw(
            st.lists(
                st.sampled_from([0.0, 0.25, 0.5, 1.0, 1.5, 3.0]),
                min_size=classes,
                max_size=classes,
            )
        )
        weight = np.array(weight_values, dtype=dtype)
    reduction = draw(st.sampled_from(["none", "sum", "mean"]))
    smoothing = draw(
        st.one_of(st.just(0.0), st.just(1.0), st.floats(0.0, 1.0, width=32))
    )
    z_loss = draw(st.sampled_from([0.0, 0.0, 1e-4, 0.5]))
    if reduction == "none":
        grad_output: Any = draw(logit_arrays(label_shape, dtype)).clip(-4, 4)
        grad_output = np.nan_to_num(grad_output, nan=1.0)
    else:
        grad_output = draw(st.sampled_from([1.0, -0.5, 3.0, 0.0]))
    return Problem(
        logits,
        labels,
        weight,
        ignore_index,
        reduction,
        smoothing,
        z_loss,
        grad_output,
        dtype,
    )


# ---- Reference -------------------------------------------------------------------


@dataclass
class Reference:
    """Loss and gradient in float64, with the scale of each element."""

    loss: np.ndarray
    loss_scale: np.ndarray
    grad: np.ndarray
    grad_scale: np.ndarray


def reference(p: Problem) -> Reference:
    """Compute the documented loss and gradient of `p` in float64."""
    x = np.asarray(p.logits, dtype=np.float64)
    class_axis = 0 if x.ndim == 1 else 1
    classes = x.shape[class_axis]
    rows = np.moveaxis(x, class_axis, -1).reshape(-1, classes)
    labels = p.labels.reshape(-1).astype(np.int64)
    weight = (
        np.ones(classes) if p.weight is None else np.asarray(p.weight, dtype=np.float64)
    )
    eps, z = p.label_smoothing, p.z_loss
    kept = labels != p.ignore_index
    positions = rows.shape[0]

    loss = np.zeros(positions)
    loss_scale = np.zeros(positions)
    unit_grad = np.zeros_like(rows)  # gradient of one position's loss
    unit_scale = np.zeros_like(rows)
    with np.errstate(all="ignore"):
        for i in np.flatnonzero(kept):
            row, y = rows[i], labels[i]
            m = np.max(row[~np.isnan(row)], initial=-np.inf)
            s = np.sum(np.exp(row - m))
            log_s = math.log(s) if s > 0 else math.nan
            if math.isnan(log_s) or math.isnan(s):
                loss[i] = math.nan
                unit_grad[i] = math.nan
                continue
            lse = m + log_s
            p_row = np.exp(row - m) / s
            value, scale, a = 0.0, 0.0, 0.0
            b = np.zeros(classes)
            if eps < 1:
                value += (1 - eps) * weight[y] * ((m - row[y]) + log_s)
                scale += (1 - eps) * weight[y] * (abs(m - row[y]) + log_s + 1)
                a += (1 - eps) * weight[y]
                b[y] += (1 - eps) * weight[y]
            if eps > 0:
                nonzero = weight != 0
                terms = weight[nonzero] * ((m - row[nonzero]) + log_s)
                value += eps / classes * np.sum(terms)
                scale += (
                    eps
                    / classes
                    * np.sum(weight[nonzero] * (np.abs(m - row[nonzero]) + log_s + 1))
                )
                a += eps / classes * np.sum(weight)
                b += eps / classes * weight
            if z > 0:
                value += z * lse * lse
                scale += z * (lse * lse + abs(lse) + 1)
                a += 2 * z * lse
            loss[i], loss_scale[i] = value, scale
            unit_grad[i] = a * p_row - b
            unit_scale[i] = abs(a) + np.abs(b)

        if p.reduction == "none":
            coef = np.broadcast_to(
                np.asarray(p.grad_output, dtype=np.float64), p.labels.shape
            ).reshape(-1)
            out_loss = loss.reshape(p.labels.shape)
            out_scale = loss_scale.reshape(p.labels.shape)
        else:
            denominator = np.sum(weight[labels[kept]]) if kept.any() else 0.0
            total = np.sum(loss)
            total_scale = np.sum(loss_scale)
            upstream = float(p.grad_output)
            coef = np.full(positions, upstream)
            if p.reduction == "mean":
                if denominator == 0:
                    total, total_scale = math.nan, 0.0
                    coef = np.zeros(positions)
                    unit_grad = np.zeros_like(rows)
                else:
                    total, total_scale = total / denominator, total_scale / denominator
                    coef = coef / denominator
            out_loss, out_scale = np.asarray(total), np.asarray(total_scale)
        grad = np.where(kept[:, None], coef[:, None] * unit_grad, 0.0)
        grad_scale = np.where(kept[:, None], np.abs(coef)[:, None] * unit_scale, 0.0)

    moved_shape = np.moveaxis(x, class_axis, -1).shape
    grad = np.moveaxis(grad.reshape(moved_shape), -1, class_axis)
    grad_scale = np.moveaxis(grad_scale.reshape(moved_shape), -1, class_axis)
    return Reference(out_loss, out_scale, grad, grad_scale)


# ---- Properties ------------------------------------------------------------------


@PROFILE
@given(problems())
def test_cross_entropy_matches_reference(p: Problem) -> None:
    loss, grad = softmaxce.cross_entropy_with_grad(
        p.logits, p.labels, grad_output=p.grad_output, **p.kwargs()
    )
    want = reference(p)
    classes = p.logits.shape[0 if p.logits.ndim == 1 else 1]
    assert np.asarray(loss).dtype == p.logits.dtype
    assert grad.dtype == p.logits.dtype
    assert_matches(loss, want.loss, want.loss_scale, p.dtype, classes, "loss")
    assert_matches(grad, want.grad, want.grad_scale, p.dtype, classes, "grad")


@PROFILE
@given(problems())
def test_separate_calls_equal_fused_bitwise(p: Problem) -> None:
    """cross_entropy and cross_entropy_backward give the fused call's bits."""
    loss, grad = softmaxce.cross_entropy_with_grad(
        p.logits, p.labels, grad_output=p.grad_output, **p.kwargs()
    )
    alone = softmaxce.cross_entropy(p.logits, p.labels, **p.kwargs())
    backward = softmaxce.cross_entropy_backward(
        p.logits, p.labels, grad_output=p.grad_output, **p.kwargs()
    )
    oracle.assert_bitwise_equal(np.asarray(alone), np.asarray(loss))
    oracle.assert_bitwise_equal(backward, grad)


@PROFILE
@given(problems())
def test_class_axis_last_equals_axis_one_bitwise(p: Problem) -> None:
    """TF's layout (classes last) gives the per-position bits of torch's."""
    if p.logits.ndim < 2:
        return
    kept = p.labels != p.ignore_index
    labels = np.where(kept, p.labels, 0)
    torch_style = softmaxce.cross_entropy(
        p.logits, labels, reduction="none", ignore_index=-100
    )
    tf_style = softmaxce.sparse_softmax_cross_entropy_with_logits(
        labels, np.moveaxis(p.logits, 1, -1)
    )
    oracle.assert_bitwise_equal(tf_style, torch_style)


@st.composite
def softmax_inputs(draw: st.DrawFn) -> tuple[np.ndarray, int, np.ndarray]:
    dtype = draw(st.sampled_from(["float32", "float64"]))
    shape = tuple(draw(st.lists(st.integers(1, 6), min_size=1, max_size=3)))
    axis = draw(st.integers(-len(shape), len(shape) - 1))
    x = draw(logit_arrays(shape, dtype))
    dy = np.nan_to_num(draw(logit_arrays(shape, dtype)), posinf=5, neginf=-5, nan=1)
    return x, axis, dy.clip(-10, 10)


@PROFILE
@given(softmax_inputs())
def test_softmax_family_matches_reference(case: tuple[np.ndarray, int, Any]) -> None:
    x, axis, dy = case
    dtype = x.dtype.name
    classes = x.shape[axis]
    x64 = x.astype(np.float64)
    with np.errstate(all="ignore"):
        m = np.max(np.where(np.isnan(x64), -np.inf, x64), axis=axis, keepdims=True)
        gap = np.abs(x64 - m)
        want_p = oracle.softmax(x64, axis=axis)
        want_log = oracle.log_softmax(x64, axis=axis)
        row_bad = np.isnan(want_log).any(axis=axis, keepdims=True)
        want_p = np.where(row_bad, np.nan, want_p)
        want_log = np.where(row_bad, np.nan, want_log)
        log_s = np.log(np.sum(np.exp(x64 - m), axis=axis, keepdims=True))
        p_scale = np.where(want_p > 0, want_p * (2 + gap), 0.0)
        log_scale = gap + np.abs(log_s) + 1

    p = softmaxce.softmax(x, axis=axis)
    log_p = softmaxce.log_softmax(x, axis=axis)
    assert_matches(p, want_p, p_scale, dtype, classes, "softmax")
    assert_matches(log_p, want_log, log_scale, dtype, classes, "log_softmax")

    finite = np.isfinite(p).all(axis=axis, keepdims=True)
    y, y_log = np.where(finite, p, 0.5), np.where(finite, log_p, -1.0)
    y64, y_log64, dy64 = (a.astype(np.float64) for a in (y, y_log, dy))
    dot = np.sum(np.abs(dy64 * y64), axis=axis, keepdims=True)
    total = np.sum(np.abs(dy64), axis=axis, keepdims=True)
    assert_matches(
        softmaxce.softmax_backward(y, dy, axis=axis),
        oracle.softmax_backward(y64, dy64, axis=axis),
        np.abs(y64) * (np.abs(dy64) + dot),
        dtype,
        classes,
        "softmax_backward",
    )
    assert_matches(
        softmaxce.log_softmax_backward(y_log, dy, axis=axis),
        oracle.log_softmax_backward(y_log64, dy64, axis=axis),
        np.abs(dy64) + np.exp(y_log64) * total,
        dtype,
        classes,
        "log_softmax_backward",
    )


@st.composite
def dense_problems(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    dtype = draw(st.sampled_from(["float32", "float64"]))
    batch, classes = draw(st.integers(0, 6)), draw(st.integers(1, 8))
    x = draw(logit_arrays((batch, classes), dtype))
    raw = draw(
        st.lists(
            st.sampled_from([0.0, 0.0, 0.1, 0.5, 1.0, 2.0]),
            min_size=batch * classes,
            max_size=batch * classes,
        )
    )
    return x, np.array(raw, dtype=dtype).reshape(batch, classes)


@PROFILE
@given(dense_problems())
def test_dense_labels_match_reference(case: tuple[np.ndarray, np.ndarray]) -> None:
    """Per-example dense cross-entropy: sum_c t_c (m - x_c + log s), 0 log 0 = 0."""
    x, t = case
    loss, grad, grad_labels = softmaxce.softmax_cross_entropy_with_logits_with_grad(
        t, x
    )
    x64, t64 = x.astype(np.float64), t.astype(np.float64)
    classes = x.shape[1]
    with np.errstate(all="ignore"):
        m = np.max(np.where(np.isnan(x64), -np.inf, x64), axis=1, keepdims=True)
        s = np.sum(np.exp(x64 - m), axis=1, keepdims=True)
        log_s = np.log(s)
        bad = np.isnan(log_s)[:, 0]
        terms = np.where(t64 != 0, t64 * ((m - x64) + log_s), 0.0)
        want_loss = np.where(bad, np.nan, np.sum(terms, axis=1))
        loss_scale = np.sum(
            np.where(t64 != 0, t64 * (np.abs(m - x64) + log_s + 1), 0.0), axis=1
        )
        total = np.sum(t64, axis=1, keepdims=True)
        want_grad = np.where(bad[:, None], np.nan, np.exp(x64 - m) / s * total - t64)
        want_labels = np.where(bad[:, None], np.nan, log_s - (x64 - m))
        grad_scale = total + t64
        labels_scale = log_s + np.abs(x64 - m) + 1
    dtype = x.dtype.name
    assert_matches(loss, want_loss, loss_scale, dtype, classes, "loss")
    assert_matches(grad, want_grad, grad_scale, dtype, classes, "grad")
    assert_matches(grad_labels, want_labels, labels_scale, dtype, classes, "labels")


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_reference_catches_a_wrong_gradient(dtype: str) -> None:
    """The reference and tolerance reject a gradient off by one unit in 1e-3."""
    p = Problem(
        np.array([[1.0, 2.0, 0.5]], dtype=dtype),
        np.array([1]),
        None,
        -100,
        "sum",
        0.0,
        0.0,
        1.0,
        dtype,
    )
    _, grad = softmaxce.cross_entropy_with_grad(p.logits, p.labels, reduction="sum")
    want = reference(p)
    assert_matches(grad, want.grad, want.grad_scale, dtype, 3, "grad")
    with pytest.raises(AssertionError):
        assert_matches(grad * 1.001, want.grad, want.grad_scale, dtype, 3, "grad")
