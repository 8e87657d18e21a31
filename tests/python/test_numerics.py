"""Special values, label widths, memory layouts, dtypes and reproducibility.

Expected behaviour, as documented for softmaxce:

* A -inf logit in a class other than the label has probability exactly 0, so
  its gradient is exactly 0 and the loss stays finite.
* NaN in a kept position makes only that position's loss and gradient NaN;
  an ignored position contributes exact zeros whatever its logits hold.
* The loss is formed as ``(max - x_label) + log(sum(exp(x - max)))``, so two
  equal logits give log 2 at any magnitude.
* A label outside ``[0, C)`` is an error for every integer width: 2**32 + 1 is
  not class 1 and -1 is not class C - 1.
* Results do not depend on the memory layout of the inputs and keep the dtype
  of the logits.
* Reductions accumulate in float64 and round once, so a float32 sum or mean is
  within 1 ulp of the exact value and repeated calls give identical bits.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import oracle
import pytest
import softmaxce

DTYPES = ("float32", "float64")
REDUCTIONS = ("none", "sum", "mean")
# (rtol, atol) for comparisons with the oracle, as in test_vs_oracle.py.
TOLERANCE = {"float32": (4e-6, 1e-6), "float64": (1e-13, 1e-15)}


def random_problem(
    shape: tuple[int, int], dtype: str, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    logits = (rng.standard_normal(shape) * 3.0).astype(dtype)
    labels = rng.integers(0, shape[1], shape[0])
    return logits, labels


def unit_grad_output(reduction: str, labels: np.ndarray, dtype: str) -> Any:
    if reduction == "none":
        return np.ones(labels.shape, dtype=dtype)
    return 1.0


# ---- Infinities and NaN ------------------------------------------------------------


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_neg_inf_non_target_exact_zero_grad(dtype: str, reduction: str) -> None:
    logits, labels = random_problem((6, 5), dtype)
    mask = np.zeros_like(logits, dtype=bool)
    for row, label in enumerate(labels):
        mask[row, (label + 1) % 5] = True
        mask[row, (label + 3) % 5] = True
    logits[mask] = -np.inf

    loss, grad = softmaxce.cross_entropy_with_grad(logits, labels, reduction=reduction)
    want_loss, want_grad = oracle.cross_entropy(
        logits,
        labels,
        reduction=reduction,
        grad_output=np.ones(6) if reduction == "none" else 1.0,
    )
    assert np.all(grad[mask] == 0.0)
    assert np.all(np.isfinite(loss))
    oracle.assert_close(loss, want_loss, *TOLERANCE[dtype])
    oracle.assert_close(grad, want_grad, *TOLERANCE[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
def test_neg_inf_non_target_with_smoothing(dtype: str) -> None:
    """Smoothing puts mass on a -inf class: the loss is +inf, the gradient finite."""
    logits = np.array([[0.0, -np.inf, 1.0], [2.0, 0.5, -1.0]], dtype=dtype)
    labels = np.array([0, 1])
    loss, grad = softmaxce.cross_entropy_with_grad(
        logits, labels, reduction="none", label_smoothing=0.1
    )
    want_loss, want_grad = oracle.cross_entropy(
        logits, labels, reduction="none", label_smoothing=0.1, grad_output=np.ones(2)
    )
    assert loss[0] == np.inf
    assert np.all(np.isfinite(grad))
    oracle.assert_close(loss, want_loss, *TOLERANCE[dtype])
    oracle.assert_close(grad, want_grad, *TOLERANCE[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
def test_nan_row_stays_in_its_row(dtype: str) -> None:
    """NaN in row 2 makes row 2 NaN; the other rows equal a call without it."""
    logits, labels = random_problem((5, 4), dtype)
    clean_loss, clean_grad = softmaxce.cross_entropy_with_grad(
        logits, labels, reduction="none"
    )
    logits[2, 1] = np.nan
    loss, grad = softmaxce.cross_entropy_with_grad(logits, labels, reduction="none")

    assert np.isnan(loss[2])
    assert np.all(np.isnan(grad[2]))
    others = [0, 1, 3, 4]
    oracle.assert_bitwise_equal(loss[others], clean_loss[others])
    oracle.assert_bitwise_equal(grad[others], clean_grad[others])


@pytest.mark.parametrize("reduction", ("sum", "mean"))
@pytest.mark.parametrize("dtype", DTYPES)
def test_nan_row_makes_reduction_nan(dtype: str, reduction: str) -> None:
    logits, labels = random_problem((5, 4), dtype)
    logits[3, 0] = np.nan
    loss = softmaxce.cross_entropy(logits, labels, reduction=reduction)
    assert np.isnan(loss)


@pytest.mark.parametrize("fill", (np.nan, np.inf, -np.inf), ids=["nan", "inf", "-inf"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_ignored_row_contents_never_read(
    dtype: str, reduction: str, fill: float
) -> None:
    """An ignored row of NaN or infinities gives the same bits as a row of zeros."""
    logits, labels = random_problem((5, 4), dtype)
    labels[1] = -100
    logits[1] = 0.0
    upstream = unit_grad_output(reduction, labels, dtype)
    want_loss, want_grad = softmaxce.cross_entropy_with_grad(
        logits, labels, reduction=reduction, label_smoothing=0.2
    )
    logits[1] = fill
    loss = softmaxce.cross_entropy(
        logits, labels, reduction=reduction, label_smoothing=0.2
    )
    grad = softmaxce.cross_entropy_backward(
        logits, labels, grad_output=upstream, reduction=reduction, label_smoothing=0.2
    )
    oracle.assert_bitwise_equal(loss, want_loss)
    oracle.assert_bitwise_equal(grad, want_grad)
    assert np.all(grad[1] == 0.0)


@pytest.mark.parametrize(
    ("dtype", "magnitude"),
    [
        ("float32", 1e8),
        ("float32", 3e38),
        ("float32", -3e38),
        ("float64", 1e300),
        ("float64", -1.7e308),
    ],
)
def test_huge_equal_logits_give_log_two(dtype: str, magnitude: float) -> None:
    logits = np.full((2, 2), magnitude, dtype=dtype)
    labels = np.array([0, 1])
    loss, grad = softmaxce.cross_entropy_with_grad(logits, labels, reduction="none")
    rtol, atol = TOLERANCE[dtype]
    oracle.assert_close(loss, [np.log(2.0)] * 2, rtol, atol)
    oracle.assert_close(grad, [[-0.5, 0.5], [0.5, -0.5]], rtol, atol)


@pytest.mark.parametrize("dtype", DTYPES)
def test_huge_logit_gap_is_exact(dtype: str) -> None:
    """A label logit 1e30 below the maximum gives loss 1e30, not inf or NaN."""
    logits = np.array([[1e30, 0.0, -1e30]], dtype=dtype)
    loss, grad = softmaxce.cross_entropy_with_grad(logits, np.array([1]))
    oracle.assert_close(loss, 1e30, *TOLERANCE[dtype])
    oracle.assert_close(grad, [[1.0, -1.0, 0.0]], *TOLERANCE[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_special_slices(dtype: str) -> None:
    """An all -inf slice or one holding NaN or +inf is NaN; other slices are not."""
    x = np.array(
        [
            [0.0, 1.0, 2.0],
            [-np.inf, -np.inf, -np.inf],
            [0.0, np.nan, 1.0],
            [0.0, np.inf, 1.0],
            [0.0, -np.inf, 0.0],
        ],
        dtype=dtype,
    )
    y = softmaxce.softmax(x)
    assert np.all(np.isnan(y[1:4]))
    oracle.assert_close(y[0], oracle.softmax(x[0]), *TOLERANCE[dtype])
    oracle.assert_bitwise_equal(y[4], np.array([0.5, 0.0, 0.5], dtype=dtype))

    log_y = softmaxce.log_softmax(x)
    assert np.all(np.isnan(log_y[1:4]))
    assert log_y[4, 1] == -np.inf
    oracle.assert_close(
        log_y[4], [-np.log(2.0), -np.inf, -np.log(2.0)], *TOLERANCE[dtype]
    )


# ---- Label widths: no wrap ------------------------------------------------------


@pytest.mark.parametrize(
    ("label_dtype", "value"),
    [
        ("int64", 2**32 + 1),
        ("int64", 2**32),
        ("int64", 2**31),
        ("int64", 2**63 - 1),
        ("int64", -(2**63)),
        ("int64", -(2**32) + 1),
        ("int32", 2**31 - 1),
        ("int32", -(2**31)),
        ("uint32", 2**32 - 1),
        ("uint64", 2**64 - 1),
        ("uint64", 2**63 + 1),
    ],
)
@pytest.mark.parametrize("api", ("cross_entropy", "sparse"))
def test_wide_label_never_wraps(api: str, label_dtype: str, value: int) -> None:
    """Labels that wrap to 1 or to -1 in a narrower type are still out of range."""
    logits = np.zeros((2, 3), dtype=np.float32)
    labels = np.array([0, value], dtype=label_dtype)
    with pytest.raises(softmaxce.LabelOutOfRangeError):
        if api == "sparse":
            softmaxce.sparse_softmax_cross_entropy_with_logits(labels, logits)
        else:
            softmaxce.cross_entropy(logits, labels, ignore_index=-1)


@pytest.mark.parametrize("label_dtype", ("int8", "int16", "int32", "int64", "uint8"))
def test_narrow_label_dtypes_agree(label_dtype: str) -> None:
    logits, labels = random_problem((6, 5), "float64")
    want = softmaxce.cross_entropy_with_grad(logits, labels, reduction="none")
    got = softmaxce.cross_entropy_with_grad(
        logits, labels.astype(label_dtype), reduction="none"
    )
    oracle.assert_bitwise_equal(got[0], want[0])
    oracle.assert_bitwise_equal(got[1], want[1])


# ---- Memory layout ----------------------------------------------------------------


def layouts(logits: np.ndarray) -> dict[str, np.ndarray]:
    """Return copies of `logits` with equal values and different memory layouts."""
    wide = np.zeros((logits.shape[0], 2 * logits.shape[1]), dtype=logits.dtype)
    wide[:, ::2] = logits
    tall = np.zeros((2 * logits.shape[0], logits.shape[1]), dtype=logits.dtype)
    tall[::2] = logits
    return {
        "fortran": np.asfortranarray(logits),
        "column-strided": wide[:, ::2],
        "row-strided": tall[::2],
        "reversed": logits[::-1, ::-1].copy()[::-1, ::-1],
        "big-endian": logits.astype(logits.dtype.newbyteorder(">")),
    }


LAYOUT_NAMES = tuple(layouts(np.zeros((2, 2))))


@pytest.mark.parametrize("layout", LAYOUT_NAMES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_logits_layout_bitwise_equal(dtype: str, reduction: str, layout: str) -> None:
    logits, labels = random_problem((7, 6), dtype)
    weight = np.linspace(0.5, 2.0, 6).astype(dtype)
    kwargs = {"weight": weight, "reduction": reduction, "label_smoothing": 0.1}
    want_loss, want_grad = softmaxce.cross_entropy_with_grad(logits, labels, **kwargs)

    other = layouts(logits)[layout]
    np.testing.assert_array_equal(other, logits)
    loss, grad = softmaxce.cross_entropy_with_grad(other, labels, **kwargs)
    oracle.assert_bitwise_equal(loss, want_loss)
    oracle.assert_bitwise_equal(grad, want_grad)


@pytest.mark.parametrize("dtype", DTYPES)
def test_labels_weight_grad_output_layout(dtype: str) -> None:
    """Strided labels, class weights and grad_output give the contiguous result."""
    logits, labels = random_problem((7, 6), dtype)
    weight = np.linspace(0.5, 2.0, 6).astype(dtype)
    upstream = np.linspace(-1.0, 1.0, 7).astype(dtype)
    want = softmaxce.cross_entropy_backward(
        logits, labels, grad_output=upstream, weight=weight, reduction="none"
    )

    strided_labels = np.repeat(labels, 2)[::2]
    strided_weight = np.repeat(weight, 3)[::3]
    reversed_upstream = upstream[::-1].copy()[::-1]
    assert not strided_labels.flags.c_contiguous
    got = softmaxce.cross_entropy_backward(
        logits,
        strided_labels,
        grad_output=reversed_upstream,
        weight=strided_weight,
        reduction="none",
    )
    oracle.assert_bitwise_equal(got, want)


@pytest.mark.parametrize("axis", (0, 1, -1))
@pytest.mark.parametrize("name", ("softmax", "log_softmax"))
@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_layout_bitwise_equal(dtype: str, name: str, axis: int) -> None:
    logits, _ = random_problem((7, 6), dtype)
    function = getattr(softmaxce, name)
    want = function(logits, axis=axis)
    for layout, other in layouts(logits).items():
        got = function(other, axis=axis)
        assert np.asarray(got).dtype == np.dtype(dtype), layout
        oracle.assert_bitwise_equal(np.asarray(got, dtype=dtype), want)


def test_k_dimensional_matches_moved_class_axis() -> None:
    """(N, C, d1, d2) gives the result of the same positions laid out as (P, C)."""
    rng = np.random.default_rng(4)
    logits = rng.standard_normal((3, 5, 4, 2))
    labels = rng.integers(0, 5, (3, 4, 2))
    loss, grad = softmaxce.cross_entropy_with_grad(logits, labels, reduction="none")

    flat_logits = np.moveaxis(logits, 1, -1).reshape(-1, 5)
    flat_loss, flat_grad = softmaxce.cross_entropy_with_grad(
        flat_logits, labels.reshape(-1), reduction="none"
    )
    oracle.assert_close(loss, flat_loss.reshape(labels.shape), 1e-15, 0.0)
    oracle.assert_close(
        grad, np.moveaxis(flat_grad.reshape(3, 4, 2, 5), -1, 1), 1e-15, 0.0
    )


# ---- Result dtypes and shapes -------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES)
def test_result_dtypes(dtype: str) -> None:
    logits, labels = random_problem((4, 3), dtype)
    want = np.dtype(dtype)
    for reduction in REDUCTIONS:
        loss, grad = softmaxce.cross_entropy_with_grad(
            logits, labels, reduction=reduction
        )
        assert np.asarray(loss).dtype == want, reduction
        assert np.asarray(grad).dtype == want, reduction
        assert (
            softmaxce.cross_entropy(logits, labels, reduction=reduction).dtype == want
        )
        backward = softmaxce.cross_entropy_backward(logits, labels, reduction=reduction)
        assert backward.dtype == want, reduction
    per_example = softmaxce.sparse_softmax_cross_entropy_with_logits(labels, logits)
    assert per_example.dtype == want
    for name in ("softmax", "log_softmax"):
        y = getattr(softmaxce, name)(logits)
        assert y.dtype == want, name
        assert getattr(softmaxce, f"{name}_backward")(y, y).dtype == want, name


@pytest.mark.parametrize("dtype", DTYPES)
def test_result_shapes(dtype: str) -> None:
    logits = np.zeros((2, 3, 4), dtype=dtype)
    labels = np.zeros((2, 4), dtype=np.int64)
    assert np.shape(softmaxce.cross_entropy(logits, labels)) == ()
    assert np.shape(softmaxce.cross_entropy(logits, labels, reduction="sum")) == ()
    assert np.shape(softmaxce.cross_entropy(logits, labels, reduction="none")) == (2, 4)
    assert np.shape(softmaxce.cross_entropy_backward(logits, labels)) == (2, 3, 4)
    unbatched = softmaxce.cross_entropy(logits[0, :, 0], labels[0, 0], reduction="none")
    assert np.shape(unbatched) == ()
    per_example = softmaxce.sparse_softmax_cross_entropy_with_logits(
        np.zeros((2, 3), dtype=np.int32), logits
    )
    assert np.shape(per_example) == (2, 3)


@pytest.mark.parametrize("dtype", DTYPES)
def test_unbatched_weighted_mean_cancels_weight(dtype: str) -> None:
    """For (C,) logits the weighted mean is the plain loss; weight 0 gives NaN."""
    logits = np.array([1.0, 2.0, 3.0], dtype=dtype)
    weight = np.array([4.0, 0.0, 2.0], dtype=dtype)
    loss = softmaxce.cross_entropy(logits, np.array(2), weight=weight)
    oracle.assert_close(loss, -oracle.log_softmax(logits)[2], *TOLERANCE[dtype])
    assert np.isnan(softmaxce.cross_entropy(logits, np.array(1), weight=weight))


# ---- Reductions and reproducibility --------------------------------------------


@pytest.mark.parametrize("reduction", ("sum", "mean"))
@pytest.mark.parametrize("seed", range(4))
def test_float32_reduction_within_one_ulp(reduction: str, seed: int) -> None:
    """A float32 sum or mean of 20000 positions is within 1 ulp of the exact value."""
    logits, labels = random_problem((20000, 8), "float32", seed)
    weight = np.random.default_rng(seed).uniform(0.5, 2.0, 8).astype(np.float32)
    got = softmaxce.cross_entropy(logits, labels, weight=weight, reduction=reduction)
    exact, _ = oracle.cross_entropy(logits, labels, weight=weight, reduction=reduction)
    nearest = np.float32(exact)
    assert abs(float(got) - float(nearest)) <= float(np.spacing(nearest))


@pytest.mark.parametrize("dtype", DTYPES)
def test_repeated_calls_identical(dtype: str) -> None:
    logits, labels = random_problem((3000, 50), dtype)
    first = softmaxce.cross_entropy_with_grad(logits, labels, label_smoothing=0.1)
    for _ in range(3):
        again = softmaxce.cross_entropy_with_grad(logits, labels, label_smoothing=0.1)
        oracle.assert_bitwise_equal(again[0], first[0])
        oracle.assert_bitwise_equal(again[1], first[1])


def test_row_order_does_not_change_float32_sum() -> None:
    """Permuting rows changes a float32 sum by at most 1 ulp.

    The float64 accumulation order changes, but its rounding error is far below
    a float32 ulp, so only the final rounding can differ.
    """
    logits, labels = random_problem((5000, 10), "float32", seed=6)
    order = np.random.default_rng(6).permutation(5000)
    forward = softmaxce.cross_entropy(logits, labels, reduction="sum")
    permuted = softmaxce.cross_entropy(logits[order], labels[order], reduction="sum")
    assert abs(float(permuted) - float(forward)) <= float(np.spacing(forward))


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_with_grad_matches_separate_calls(dtype: str, reduction: str) -> None:
    logits, labels = random_problem((9, 7), dtype)
    labels[4] = -100
    weight = np.linspace(0.5, 2.0, 7).astype(dtype)
    kwargs = {"weight": weight, "reduction": reduction, "label_smoothing": 0.3}
    upstream = unit_grad_output(reduction, labels, dtype)

    loss, grad = softmaxce.cross_entropy_with_grad(logits, labels, **kwargs)
    oracle.assert_bitwise_equal(loss, softmaxce.cross_entropy(logits, labels, **kwargs))
    oracle.assert_bitwise_equal(
        grad,
        softmaxce.cross_entropy_backward(
            logits, labels, grad_output=upstream, **kwargs
        ),
    )


@pytest.mark.parametrize("dtype", DTYPES)
def test_scalar_grad_output_broadcasts_for_none(dtype: str) -> None:
    logits, labels = random_problem((6, 4), dtype)
    full = np.full(6, 2.5, dtype=dtype)
    want = softmaxce.cross_entropy_backward(
        logits, labels, grad_output=full, reduction="none"
    )
    got = softmaxce.cross_entropy_backward(
        logits, labels, grad_output=2.5, reduction="none"
    )
    oracle.assert_bitwise_equal(got, want)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_backward_is_linear_in_grad_output(dtype: str, reduction: str) -> None:
    """Doubling grad_output doubles the gradient exactly (a power of two)."""
    logits, labels = random_problem((6, 4), dtype)
    upstream = np.linspace(-1.0, 1.0, 6).astype(dtype) if reduction == "none" else 0.625
    once = softmaxce.cross_entropy_backward(
        logits, labels, grad_output=upstream, reduction=reduction
    )
    twice = softmaxce.cross_entropy_backward(
        logits, labels, grad_output=upstream * 2, reduction=reduction
    )
    oracle.assert_bitwise_equal(twice, (2 * once).astype(dtype))
