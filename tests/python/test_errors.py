"""Invalid input raises a clear error on every entry point; empty input does not.

Out-of-range labels raise an IndexError subclass, bad shapes and option values
a ValueError subclass, bad dtypes a TypeError subclass, all derived from
softmaxce.SoftmaxCEError. Each message names the argument, the offending value
and what is valid. Empty batches and fully ignored batches are not errors: they
follow the documented reductions (an empty mean is NaN with a zero gradient).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import softmaxce

ENTRY_POINTS = ("cross_entropy", "cross_entropy_backward", "cross_entropy_with_grad")

# Shapes of the default problem: 9 positions, 5 classes.
ROWS, CLASSES = 9, 5


def call(entry_point: str, logits: Any, labels: Any, **kwargs: Any) -> Any:
    """Call one of the torch-style entry points by name."""
    return getattr(softmaxce, entry_point)(logits, labels, **kwargs)


def default_inputs(dtype: str = "float32") -> tuple[np.ndarray, np.ndarray]:
    """Return (9, 5) logits and in-range int64 labels."""
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((ROWS, CLASSES)).astype(dtype)
    labels = rng.integers(0, CLASSES, ROWS)
    return logits, labels


def message_of(excinfo: pytest.ExceptionInfo[BaseException]) -> str:
    return str(excinfo.value)


def has_word(text: str, word: str) -> bool:
    """Return whether `word` occurs in `text` not as part of a longer number."""
    return re.search(rf"(?<![\w.-]){re.escape(word)}(?![\w.])", text) is not None


# ---- Exception classes ------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "builtin"),
    [
        ("LabelOutOfRangeError", IndexError),
        ("InvalidArgumentError", ValueError),
        ("InvalidDtypeError", TypeError),
    ],
)
def test_exception_classes(name: str, builtin: type[Exception]) -> None:
    error_class = getattr(softmaxce, name)
    assert issubclass(error_class, softmaxce.SoftmaxCEError)
    assert issubclass(error_class, builtin)


# ---- Labels out of range -------------------------------------------------------


@pytest.mark.parametrize("entry_point", ENTRY_POINTS)
@pytest.mark.parametrize(
    ("label_dtype", "value"),
    [
        ("int32", 1234),
        ("int64", 1234),
        ("int64", CLASSES),
        ("uint8", 200),
        ("uint32", 2**32 - 1),
        ("uint64", 2**64 - 1),
    ],
    ids=["int32", "int64", "int64-equal-classes", "uint8", "uint32-max", "uint64-max"],
)
def test_label_above_range_message(
    entry_point: str, label_dtype: str, value: int
) -> None:
    logits, labels = default_inputs()
    labels = labels.astype(label_dtype)
    labels[7] = value
    with pytest.raises(softmaxce.LabelOutOfRangeError) as excinfo:
        call(entry_point, logits, labels)
    message = message_of(excinfo)
    assert has_word(message, str(value)), message
    assert has_word(message, "7"), message
    assert "[0, 5)" in message, message


@pytest.mark.parametrize("entry_point", ENTRY_POINTS)
@pytest.mark.parametrize("value", (-1, -4, -101))
def test_negative_label_not_ignored(entry_point: str, value: int) -> None:
    """A negative label is an error unless it equals ignore_index; -1 is not C - 1."""
    logits, labels = default_inputs()
    labels[3] = value
    with pytest.raises(softmaxce.LabelOutOfRangeError) as excinfo:
        call(entry_point, logits, labels)
    message = message_of(excinfo)
    assert has_word(message, str(value)), message
    assert has_word(message, "3"), message


def test_default_ignore_value_not_ignored_with_custom_index() -> None:
    """With ignore_index=-1, a label of -100 is an ordinary out-of-range label."""
    logits, labels = default_inputs()
    labels[2] = -100
    with pytest.raises(softmaxce.LabelOutOfRangeError):
        softmaxce.cross_entropy(logits, labels, ignore_index=-1)


def test_label_position_in_k_dimensional_target() -> None:
    """The message locates the label as a flat row-major index or as a tuple."""
    logits = np.zeros((2, CLASSES, 3))
    labels = np.array([[0, 1, 2], [3, 9, 4]])
    with pytest.raises(softmaxce.LabelOutOfRangeError) as excinfo:
        softmaxce.cross_entropy(logits, labels)
    message = message_of(excinfo)
    assert has_word(message, "9"), message
    assert has_word(message, "4") or "(1, 1)" in message, message


@pytest.mark.parametrize("value", (CLASSES, -1, 2**40))
def test_sparse_label_out_of_range(value: int) -> None:
    """TensorFlow semantics have no ignore index, so every label must be in range."""
    logits, labels = default_inputs()
    labels[5] = value
    with pytest.raises(softmaxce.LabelOutOfRangeError) as excinfo:
        softmaxce.sparse_softmax_cross_entropy_with_logits(labels, logits)
    message = message_of(excinfo)
    assert has_word(message, str(value)), message
    assert "[0, 5)" in message, message


# ---- Shapes -------------------------------------------------------------------------


@pytest.mark.parametrize("entry_point", ENTRY_POINTS)
def test_zero_classes(entry_point: str) -> None:
    logits = np.zeros((5, 0), dtype=np.float32)
    labels = np.zeros(5, dtype=np.int64)
    with pytest.raises(softmaxce.InvalidArgumentError) as excinfo:
        call(entry_point, logits, labels)
    assert isinstance(excinfo.value, ValueError)
    assert has_word(message_of(excinfo), "0"), message_of(excinfo)


def test_zero_classes_sparse() -> None:
    with pytest.raises(softmaxce.InvalidArgumentError):
        softmaxce.sparse_softmax_cross_entropy_with_logits(
            np.zeros(5, dtype=np.int64), np.zeros((5, 0), dtype=np.float32)
        )


@pytest.mark.parametrize("entry_point", ENTRY_POINTS)
@pytest.mark.parametrize(
    ("logits_shape", "labels_shape"),
    [
        ((9, 5), (8,)),
        ((9, 5), (10,)),
        ((9, 5), (9, 2)),
        ((9, 5), ()),
        ((2, 5, 3), (2, 4)),
        ((2, 5, 3), (2,)),
        ((5,), (1, 1)),
    ],
    ids=["fewer", "more", "extra-axis", "scalar", "k-dim-spatial", "k-dim-rank", "1d"],
)
def test_target_shape_mismatch(
    entry_point: str, logits_shape: tuple[int, ...], labels_shape: tuple[int, ...]
) -> None:
    logits = np.zeros(logits_shape, dtype=np.float32)
    labels = np.zeros(labels_shape, dtype=np.int64)
    with pytest.raises(softmaxce.InvalidArgumentError) as excinfo:
        call(entry_point, logits, labels)
    assert str(labels_shape) in message_of(excinfo), message_of(excinfo)


def test_sparse_labels_shape_mismatch() -> None:
    logits = np.zeros((4, 3, 5), dtype=np.float32)
    with pytest.raises(softmaxce.InvalidArgumentError):
        softmaxce.sparse_softmax_cross_entropy_with_logits(
            np.zeros((4, 2), dtype=np.int64), logits
        )


@pytest.mark.parametrize("entry_point", ENTRY_POINTS)
def test_logits_zero_dimensional(entry_point: str) -> None:
    with pytest.raises(softmaxce.InvalidArgumentError):
        call(entry_point, np.float32(1.0), np.int64(0))


# ---- Class weights ----------------------------------------------------------


@pytest.mark.parametrize("entry_point", ENTRY_POINTS)
@pytest.mark.parametrize(
    "weight",
    [np.ones(4), np.ones(6), np.ones((5, 1)), np.ones(())],
    ids=["short", "long", "2-d", "0-d"],
)
def test_weight_shape_mismatch(entry_point: str, weight: np.ndarray) -> None:
    logits, labels = default_inputs()
    with pytest.raises(softmaxce.InvalidArgumentError) as excinfo:
        call(entry_point, logits, labels, weight=weight.astype(np.float32))
    assert "weight" in message_of(excinfo), message_of(excinfo)


@pytest.mark.parametrize("entry_point", ENTRY_POINTS)
@pytest.mark.parametrize("bad", (-1.0, np.nan, np.inf), ids=["negative", "nan", "inf"])
def test_weight_value_invalid(entry_point: str, bad: float) -> None:
    logits, labels = default_inputs()
    weight = np.ones(CLASSES, dtype=np.float32)
    weight[2] = bad
    with pytest.raises(softmaxce.InvalidArgumentError) as excinfo:
        call(entry_point, logits, labels, weight=weight)
    message = message_of(excinfo)
    assert "weight" in message, message
    assert has_word(message, "2"), message


# ---- Options ----------------------------------------------------------------


@pytest.mark.parametrize("entry_point", ENTRY_POINTS)
@pytest.mark.parametrize(
    "label_smoothing",
    (-0.1, 1.5, np.nan, np.inf, -np.inf),
    ids=["negative", "above-one", "nan", "inf", "minus-inf"],
)
def test_label_smoothing_outside_unit_interval(
    entry_point: str, label_smoothing: float
) -> None:
    logits, labels = default_inputs()
    with pytest.raises(softmaxce.InvalidArgumentError) as excinfo:
        call(entry_point, logits, labels, label_smoothing=label_smoothing)
    message = message_of(excinfo)
    assert "label_smoothing" in message, message
    assert "[0, 1]" in message, message


@pytest.mark.parametrize("entry_point", ENTRY_POINTS)
@pytest.mark.parametrize("reduction", ("avg", "Mean", "", None))
def test_unknown_reduction(entry_point: str, reduction: Any) -> None:
    logits, labels = default_inputs()
    with pytest.raises(softmaxce.InvalidArgumentError) as excinfo:
        call(entry_point, logits, labels, reduction=reduction)
    message = message_of(excinfo)
    assert repr(reduction) in message, message
    for valid in ("none", "sum", "mean"):
        assert valid in message, message


@pytest.mark.parametrize("ignore_index", (1.5, "x"), ids=["float", "string"])
def test_ignore_index_not_integer(ignore_index: Any) -> None:
    logits, labels = default_inputs()
    with pytest.raises(softmaxce.InvalidDtypeError):
        softmaxce.cross_entropy(logits, labels, ignore_index=ignore_index)


def test_ignore_index_beyond_int64() -> None:
    logits, labels = default_inputs()
    with pytest.raises(softmaxce.InvalidArgumentError) as excinfo:
        softmaxce.cross_entropy(logits, labels, ignore_index=2**63)
    assert str(2**63) in message_of(excinfo), message_of(excinfo)


@pytest.mark.parametrize(
    ("reduction", "grad_output_shape"),
    [("none", (8,)), ("none", (9, 5)), ("sum", (9,)), ("mean", (2,))],
    ids=["none-short", "none-logits-shape", "sum-array", "mean-array"],
)
def test_grad_output_shape_mismatch(
    reduction: str, grad_output_shape: tuple[int, ...]
) -> None:
    logits, labels = default_inputs()
    grad_output = np.ones(grad_output_shape, dtype=np.float32)
    with pytest.raises(softmaxce.InvalidArgumentError) as excinfo:
        softmaxce.cross_entropy_backward(
            logits, labels, grad_output=grad_output, reduction=reduction
        )
    assert "grad_output" in message_of(excinfo), message_of(excinfo)


# ---- Dtypes ----------------------------------------------------------------------


@pytest.mark.parametrize("entry_point", ENTRY_POINTS)
@pytest.mark.parametrize("dtype", ("int32", "int64", "bool", "complex64"))
def test_logits_dtype_rejected(entry_point: str, dtype: str) -> None:
    _, labels = default_inputs()
    logits = np.zeros((ROWS, CLASSES), dtype=dtype)
    with pytest.raises(softmaxce.InvalidDtypeError) as excinfo:
        call(entry_point, logits, labels)
    assert isinstance(excinfo.value, TypeError)
    assert dtype in message_of(excinfo), message_of(excinfo)


@pytest.mark.parametrize("entry_point", ENTRY_POINTS)
@pytest.mark.parametrize("dtype", ("float32", "float64", "bool"))
def test_labels_dtype_rejected(entry_point: str, dtype: str) -> None:
    """Non-integer labels of the integer-label shape are a dtype error."""
    logits, labels = default_inputs()
    with pytest.raises(softmaxce.InvalidDtypeError) as excinfo:
        call(entry_point, logits, labels.astype(dtype))
    assert dtype in message_of(excinfo), message_of(excinfo)


@pytest.mark.parametrize("dtype", ("float32", "bool"))
def test_sparse_labels_dtype_rejected(dtype: str) -> None:
    logits, labels = default_inputs()
    with pytest.raises(softmaxce.InvalidDtypeError):
        softmaxce.sparse_softmax_cross_entropy_with_logits(labels.astype(dtype), logits)


def test_sparse_logits_dtype_rejected() -> None:
    _, labels = default_inputs()
    with pytest.raises(softmaxce.InvalidDtypeError):
        softmaxce.sparse_softmax_cross_entropy_with_logits(
            labels, np.zeros((ROWS, CLASSES), dtype=np.int64)
        )


# ---- Softmax family ---------------------------------------------------------------

SOFTMAX_FUNCTIONS: dict[str, Callable[[np.ndarray, int], Any]] = {
    "softmax": lambda x, axis: softmaxce.softmax(x, axis=axis),
    "log_softmax": lambda x, axis: softmaxce.log_softmax(x, axis=axis),
    "softmax_backward": lambda x, axis: softmaxce.softmax_backward(x, x, axis=axis),
    "log_softmax_backward": lambda x, axis: softmaxce.log_softmax_backward(
        x, x, axis=axis
    ),
}


@pytest.mark.parametrize("name", SOFTMAX_FUNCTIONS)
@pytest.mark.parametrize("axis", (2, -3))
def test_softmax_axis_out_of_bounds(name: str, axis: int) -> None:
    x = np.zeros((3, 4), dtype=np.float32)
    with pytest.raises(softmaxce.InvalidArgumentError) as excinfo:
        SOFTMAX_FUNCTIONS[name](x, axis)
    assert has_word(message_of(excinfo), str(axis)), message_of(excinfo)


@pytest.mark.parametrize("name", SOFTMAX_FUNCTIONS)
def test_softmax_integer_input_rejected(name: str) -> None:
    with pytest.raises(softmaxce.InvalidDtypeError):
        SOFTMAX_FUNCTIONS[name](np.zeros((3, 4), dtype=np.int32), -1)


@pytest.mark.parametrize("name", SOFTMAX_FUNCTIONS)
def test_softmax_zero_dimensional_rejected(name: str) -> None:
    with pytest.raises(softmaxce.InvalidArgumentError):
        SOFTMAX_FUNCTIONS[name](np.zeros((), dtype=np.float32), -1)


@pytest.mark.parametrize("name", ("softmax_backward", "log_softmax_backward"))
def test_softmax_backward_shape_mismatch(name: str) -> None:
    y = np.zeros((3, 4), dtype=np.float32)
    dy = np.zeros((3, 5), dtype=np.float32)
    with pytest.raises(softmaxce.InvalidArgumentError) as excinfo:
        getattr(softmaxce, name)(y, dy)
    assert "(3, 5)" in message_of(excinfo), message_of(excinfo)


# ---- Inputs are never modified -------------------------------------------------


@pytest.mark.parametrize("entry_point", ENTRY_POINTS)
@pytest.mark.parametrize("fails", (False, True), ids=["success", "error"])
def test_inputs_unchanged(entry_point: str, fails: bool) -> None:
    """Neither a successful nor a failed call writes to the caller's arrays."""
    logits, labels = default_inputs()
    if fails:
        labels[-1] = CLASSES
    weight = np.linspace(0.5, 2.0, CLASSES).astype(np.float32)
    saved = (logits.copy(), labels.copy(), weight.copy())

    try:
        call(entry_point, logits, labels, weight=weight, label_smoothing=0.1)
    except softmaxce.LabelOutOfRangeError:
        assert fails
    else:
        assert not fails

    np.testing.assert_array_equal(logits, saved[0])
    np.testing.assert_array_equal(labels, saved[1])
    np.testing.assert_array_equal(weight, saved[2])


# ---- Empty and fully ignored input ----------------------------------------------


@pytest.mark.parametrize("dtype", ("float32", "float64"))
@pytest.mark.parametrize(
    "shape",
    ((0, 4), (0, 4, 3), (2, 4, 0)),
    ids=["batch", "k-dim-batch", "k-dim-spatial"],
)
def test_empty_reductions(shape: tuple[int, ...], dtype: str) -> None:
    """none gives an empty array, sum gives 0, mean gives NaN; gradients are empty."""
    logits = np.zeros(shape, dtype=dtype)
    labels = np.zeros(shape[:1] + shape[2:], dtype=np.int64)

    none_loss, none_grad = softmaxce.cross_entropy_with_grad(
        logits, labels, reduction="none"
    )
    assert np.asarray(none_loss).shape == labels.shape
    assert np.asarray(none_loss).dtype == np.dtype(dtype)
    assert np.asarray(none_grad).shape == shape

    sum_loss, sum_grad = softmaxce.cross_entropy_with_grad(
        logits, labels, reduction="sum"
    )
    assert sum_loss == 0.0
    assert np.asarray(sum_loss).dtype == np.dtype(dtype)
    assert np.asarray(sum_grad).shape == shape

    mean_loss, mean_grad = softmaxce.cross_entropy_with_grad(
        logits, labels, reduction="mean"
    )
    assert np.isnan(mean_loss)
    assert np.asarray(mean_loss).dtype == np.dtype(dtype)
    assert np.asarray(mean_grad).shape == shape


@pytest.mark.parametrize("dtype", ("float32", "float64"))
def test_empty_sparse_batch(dtype: str) -> None:
    loss = softmaxce.sparse_softmax_cross_entropy_with_logits(
        np.zeros((0,), dtype=np.int32), np.zeros((0, 3), dtype=dtype)
    )
    assert np.asarray(loss).shape == (0,)
    assert np.asarray(loss).dtype == np.dtype(dtype)


@pytest.mark.parametrize("dtype", ("float32", "float64"))
@pytest.mark.parametrize(
    ("ignore_index", "weighted"),
    [(-100, False), (-1, False), (3, True)],
    ids=["default-index", "custom-index", "weighted"],
)
def test_all_ignored_mean(dtype: str, ignore_index: int, weighted: bool) -> None:
    """A mean over no kept position is NaN and its gradient is all zeros."""
    logits = np.random.default_rng(1).standard_normal((4, 5)).astype(dtype)
    labels = np.full(4, ignore_index)
    weight = np.ones(5, dtype=dtype) if weighted else None
    loss, grad = softmaxce.cross_entropy_with_grad(
        logits, labels, weight=weight, ignore_index=ignore_index, label_smoothing=0.1
    )
    assert np.isnan(loss)
    np.testing.assert_array_equal(grad, np.zeros((4, 5), dtype=dtype))


@pytest.mark.parametrize("dtype", ("float32", "float64"))
def test_zero_target_weight_mean(dtype: str) -> None:
    """A mean whose kept positions all have weight 0 is NaN with a zero gradient."""
    logits = np.random.default_rng(2).standard_normal((3, 4)).astype(dtype)
    labels = np.array([1, 1, 3])
    weight = np.array([1.0, 0.0, 1.0, 0.0], dtype=dtype)
    loss, grad = softmaxce.cross_entropy_with_grad(logits, labels, weight=weight)
    assert np.isnan(loss)
    np.testing.assert_array_equal(grad, np.zeros((3, 4), dtype=dtype))


def test_integer_target_of_input_shape_names_dtype() -> None:
    """An integer target shaped like the input is a dtype error, not a shape one."""
    logits = np.zeros((3, 5), dtype=np.float32)
    target = np.ones((3, 5), dtype=np.int64)
    with pytest.raises(softmaxce.InvalidDtypeError) as excinfo:
        softmaxce.cross_entropy(logits, target)
    message = str(excinfo.value)
    assert "float dtype" in message, message
    assert "(3,)" in message, message
