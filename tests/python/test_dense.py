"""Dense labels, probability targets and z-loss against a float64 reference.

The reference below is written from the definitions, independently of
softmaxce. For logits x along the class axis, labels t, class weights w,
smoothing eps and z-loss coefficient z, with u = (1 - eps) * t + eps / C,
a = w * u, A = sum(a), p = softmax(x) and lse = logsumexp(x):

* loss = sum over classes with a != 0 of -a * log p, plus z * lse**2
  (``0 * log 0 = 0``);
* gradient with respect to x: p * A - a + 2 * z * lse * p;
* gradient with respect to t: -(1 - eps) * w * log p.

Reductions follow PyTorch's probability targets: 'sum' adds the positions and
'mean' divides the sum by the number of positions. Both gradients are scaled
by the upstream gradient over that denominator.

Tolerances. Both sides compute in float64 inside (softmaxce rounds once to the
logits' dtype), so float32 results differ from the reference by a few units in
the last place of the result: rtol 1e-5 with an absolute floor of 2e-6 for the
loss; the gradients' floor is scaled by their largest magnitude. float64
results agree to 1e-13 relative.
"""

from __future__ import annotations

import math
import zlib
from typing import Any

import numpy as np
import oracle
import pytest
import softmaxce

# (rtol, atol) per dtype; the gradient's atol is multiplied by its max |value|.
LOSS_TOLERANCE = {
    "float16": (2e-3, 2e-3),
    "float32": (1e-5, 2e-6),
    "float64": (1e-13, 1e-14),
}
GRAD_TOLERANCE = {
    "float16": (2e-3, 2e-3),
    "float32": (1e-5, 2e-6),
    "float64": (1e-12, 2e-14),
}

DTYPES = ("float32", "float64")
REDUCTIONS = ("none", "sum", "mean")


def make_rng(*key: object) -> np.random.Generator:
    """Return a generator seeded from `key`, the same on every run."""
    return np.random.default_rng(zlib.crc32(repr(key).encode()))


def random_labels(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Return soft labels in [0, 1) with about a quarter exact zeros.

    The rows do not sum to 1, so the exact gradient p * sum(t) - t differs
    from p - t and a kernel that assumes normalised rows fails.
    """
    labels = rng.uniform(0.0, 1.0, size=shape)
    labels[rng.uniform(size=shape) < 0.25] = 0.0
    return labels


def assert_grad_close(got: Any, want: np.ndarray, dtype: str) -> None:
    """Compare gradients with the atol scaled by the largest reference value."""
    rtol, atol = GRAD_TOLERANCE[dtype]
    finite = np.abs(want[np.isfinite(want)])
    scale = float(finite.max()) if finite.size and finite.max() > 0 else 1.0
    oracle.assert_close(got, want, rtol, atol * scale)


# ---- Reference ------------------------------------------------------------------


def dense_reference(
    logits: np.ndarray,
    labels: np.ndarray,
    axis: int,
    weight: np.ndarray | None = None,
    label_smoothing: float = 0.0,
    z_loss: float = 0.0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return per-position loss and the two unscaled gradients, in float64."""
    x = np.moveaxis(np.asarray(logits, dtype=np.float64), axis, -1)
    t = np.moveaxis(np.asarray(labels, dtype=np.float64), axis, -1)
    classes = x.shape[-1]
    w = np.ones(classes) if weight is None else np.asarray(weight, np.float64)
    eps = label_smoothing

    u = (1.0 - eps) * t + eps / classes
    a = w * u
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        m = np.max(x, axis=-1, keepdims=True)
        log_s = np.log(np.sum(np.exp(x - m), axis=-1, keepdims=True))
        logp = (x - m) - log_s
        lse = (m + log_s)[..., 0]
        p = np.exp(logp)
        loss = np.sum(np.where(a != 0, -a * logp, 0.0), axis=-1) + z_loss * lse**2
        big_a = np.sum(a, axis=-1, keepdims=True)
        grad = p * big_a - a + 2.0 * z_loss * lse[..., None] * p
        grad_labels = -(1.0 - eps) * w * logp
    return (
        loss,
        np.moveaxis(grad, -1, axis),
        np.moveaxis(grad_labels, -1, axis),
    )


def torch_probability_reference(
    logits: np.ndarray,
    target: np.ndarray,
    weight: np.ndarray | None,
    reduction: str,
    label_smoothing: float,
    z_loss: float,
    grad_output: Any,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the reduced loss and the scaled gradients of PyTorch's convention."""
    axis = 0 if logits.ndim == 1 else 1
    loss, grad, grad_target = dense_reference(
        logits, target, axis, weight, label_smoothing, z_loss
    )
    upstream = np.asarray(grad_output, dtype=np.float64)
    if reduction == "none":
        scale = np.expand_dims(np.broadcast_to(upstream, loss.shape), axis)
        return loss, grad * scale, grad_target * scale
    denominator = 1.0 if reduction == "sum" else float(loss.size)
    scale = upstream / denominator
    total = np.sum(loss) if reduction == "sum" else np.sum(loss) / loss.size
    return np.asarray(total), grad * scale, grad_target * scale


# ---- TensorFlow-style dense labels -----------------------------------------------

# (shape, axis): class axis last, first and in the middle; 1-D; one class.
TF_LAYOUTS = (
    ((7, 3), -1),
    ((1, 1), -1),
    ((5,), 0),
    ((4, 5, 6), 0),
    ((4, 5, 6), 1),
    ((4, 5, 6), -1),
    ((3, 200), 1),
)


def layout_id(layout: tuple[tuple[int, ...], int]) -> str:
    shape, axis = layout
    return "x".join(map(str, shape)) + f"-axis{axis}"


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", TF_LAYOUTS, ids=layout_id)
def test_tf_dense_matches_reference(
    layout: tuple[tuple[int, ...], int], dtype: str
) -> None:
    shape, axis = layout
    rng = make_rng("tf", shape, axis, dtype)
    logits = (rng.standard_normal(shape) * 3.0).astype(dtype)
    labels = random_labels(rng, shape).astype(dtype)
    want_loss, want_grad, want_grad_labels = dense_reference(logits, labels, axis)
    upstream = rng.uniform(-2.0, 2.0, size=want_loss.shape).astype(dtype)
    scale = np.expand_dims(upstream.astype(np.float64), axis)

    loss = softmaxce.softmax_cross_entropy_with_logits(labels, logits, axis=axis)
    assert loss.dtype == np.dtype(dtype)
    oracle.assert_close(loss, want_loss, *LOSS_TOLERANCE[dtype])

    fused_loss, grad, grad_labels = (
        softmaxce.softmax_cross_entropy_with_logits_with_grad(
            labels, logits, axis=axis, grad_output=upstream
        )
    )
    oracle.assert_bitwise_equal(fused_loss, loss)
    assert grad.dtype == np.dtype(dtype)
    assert grad_labels.dtype == np.dtype(dtype)
    assert_grad_close(grad, want_grad * scale, dtype)
    assert_grad_close(grad_labels, want_grad_labels * scale, dtype)


def test_tf_dense_documented_values() -> None:
    """The example of TensorFlow's documentation gives its stated losses."""
    logits = np.array([[4.0, 2.0, 1.0], [0.0, 5.0, 1.0]], dtype=np.float32)
    labels = np.array([[1.0, 0.0, 0.0], [0.0, 0.8, 0.2]], dtype=np.float32)
    loss = softmaxce.softmax_cross_entropy_with_logits(labels, logits)
    oracle.assert_close(loss, [0.16984604, 0.82474494], 1e-6, 1e-7)


def test_tf_dense_unit_grad_output_default() -> None:
    """No grad_output means ones: the gradient is that of the summed loss."""
    rng = make_rng("unit")
    logits = rng.standard_normal((6, 4))
    labels = random_labels(rng, (6, 4))
    _, grad, grad_labels = softmaxce.softmax_cross_entropy_with_logits_with_grad(
        labels, logits
    )
    _, want_grad, want_grad_labels = dense_reference(logits, labels, -1)
    assert_grad_close(grad, want_grad, "float64")
    assert_grad_close(grad_labels, want_grad_labels, "float64")


def test_tf_dense_float16_computed_in_float32() -> None:
    rng = make_rng("f16")
    logits = (rng.standard_normal((8, 5)) * 3.0).astype(np.float16)
    labels = random_labels(rng, (8, 5)).astype(np.float16)
    want_loss, want_grad, want_grad_labels = dense_reference(logits, labels, -1)

    loss, grad, grad_labels = softmaxce.softmax_cross_entropy_with_logits_with_grad(
        labels, logits
    )
    assert loss.dtype == grad.dtype == grad_labels.dtype == np.float16
    oracle.assert_close(loss, want_loss, *LOSS_TOLERANCE["float16"])
    assert_grad_close(grad, want_grad, "float16")
    assert_grad_close(grad_labels, want_grad_labels, "float16")


def test_tf_dense_non_contiguous_inputs() -> None:
    """Transposed views give the results of their contiguous copies."""
    rng = make_rng("strided")
    logits = rng.standard_normal((5, 7)).astype(np.float32).T
    labels = random_labels(rng, (5, 7)).astype(np.float32).T
    got = softmaxce.softmax_cross_entropy_with_logits_with_grad(labels, logits, 0)
    want = softmaxce.softmax_cross_entropy_with_logits_with_grad(
        np.ascontiguousarray(labels), np.ascontiguousarray(logits), 0
    )
    for got_part, want_part in zip(got, want):
        oracle.assert_bitwise_equal(got_part, want_part)


def test_tf_dense_inputs_unchanged() -> None:
    rng = make_rng("unchanged")
    logits = rng.standard_normal((4, 3))
    labels = random_labels(rng, (4, 3))
    logits_copy, labels_copy = logits.copy(), labels.copy()
    softmaxce.softmax_cross_entropy_with_logits_with_grad(labels, logits)
    oracle.assert_bitwise_equal(logits, logits_copy)
    oracle.assert_bitwise_equal(labels, labels_copy)


# ---- PyTorch-style probability targets ----------------------------------------

TORCH_SHAPES = ((7, 3), (5,), (2, 4, 3, 2))


@pytest.mark.parametrize("label_smoothing", (0.0, 0.1))
@pytest.mark.parametrize("weighted", (False, True), ids=("unweighted", "weighted"))
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", TORCH_SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_probability_targets_match_reference(
    shape: tuple[int, ...],
    dtype: str,
    reduction: str,
    weighted: bool,
    label_smoothing: float,
) -> None:
    rng = make_rng("torch", shape, dtype, reduction, weighted, label_smoothing)
    axis = 0 if len(shape) == 1 else 1
    logits = (rng.standard_normal(shape) * 3.0).astype(dtype)
    target = random_labels(rng, shape).astype(dtype)
    weight = rng.uniform(0.25, 2.0, shape[axis]).astype(dtype) if weighted else None
    loss_shape = shape[:axis] + shape[axis + 1 :]
    if reduction == "none":
        upstream: Any = rng.uniform(-2.0, 2.0, loss_shape).astype(dtype)
    else:
        upstream = -1.75
    kwargs = {
        "weight": weight,
        "reduction": reduction,
        "label_smoothing": label_smoothing,
    }
    want_loss, want_grad, _ = torch_probability_reference(
        logits, target, weight, reduction, label_smoothing, 0.0, upstream
    )

    loss = softmaxce.cross_entropy(logits, target, **kwargs)
    assert np.asarray(loss).dtype == np.dtype(dtype)
    oracle.assert_close(loss, want_loss, *LOSS_TOLERANCE[dtype])

    grad = softmaxce.cross_entropy_backward(
        logits, target, grad_output=upstream, **kwargs
    )
    assert grad.dtype == np.dtype(dtype)
    assert_grad_close(grad, want_grad, dtype)

    fused_loss, fused_grad = softmaxce.cross_entropy_with_grad(
        logits, target, grad_output=upstream, **kwargs
    )
    oracle.assert_bitwise_equal(fused_loss, loss)
    oracle.assert_bitwise_equal(fused_grad, grad)


def test_probability_mean_divides_by_positions() -> None:
    """Weighted smoothed one-hot targets: the mean divides by N, not by weights.

    With logits [[2, 0, 0], [0, 2, 0]], classes [0, 2], weights [1, 2, 3] and
    eps 0.1, the per-row losses are 0.5968326 and 6.3613465; PyTorch's mean of
    probability targets is their sum over 2 rows.
    """
    logits = np.array([[2.0, 0.0, 0.0], [0.0, 2.0, 0.0]])
    onehot = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    weight = np.array([1.0, 2.0, 3.0])
    per_row = softmaxce.cross_entropy(
        logits, onehot, weight=weight, label_smoothing=0.1, reduction="none"
    )
    oracle.assert_close(per_row, [0.5968326, 6.3613465], 1e-6, 1e-7)
    mean = softmaxce.cross_entropy(logits, onehot, weight=weight, label_smoothing=0.1)
    oracle.assert_close(mean, 3.4790895, 1e-6, 1e-7)


def test_negative_ignore_index_has_no_effect() -> None:
    rng = make_rng("ignore")
    logits = rng.standard_normal((4, 3))
    target = random_labels(rng, (4, 3))
    default = softmaxce.cross_entropy_with_grad(logits, target)
    minus_one = softmaxce.cross_entropy_with_grad(logits, target, ignore_index=-1)
    for got, want in zip(minus_one, default):
        oracle.assert_bitwise_equal(got, want)


@pytest.mark.parametrize("ignore_index", (0, 2, 100))
def test_non_negative_ignore_index_rejected(ignore_index: int) -> None:
    """PyTorch rejects a non-negative ignore_index with probability targets."""
    logits = np.zeros((4, 3))
    with pytest.raises(softmaxce.InvalidArgumentError) as excinfo:
        softmaxce.cross_entropy(
            logits, np.full((4, 3), 1 / 3), ignore_index=ignore_index
        )
    message = str(excinfo.value)
    assert "ignore_index" in message, message
    assert str(ignore_index) in message, message


# ---- z-loss ------------------------------------------------------------------------


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_z_loss_probability_targets(dtype: str, reduction: str) -> None:
    rng = make_rng("z-prob", dtype, reduction)
    logits = (rng.standard_normal((6, 5)) * 3.0 + 2.0).astype(dtype)
    target = random_labels(rng, (6, 5)).astype(dtype)
    upstream: Any = 0.5 if reduction != "none" else rng.uniform(-2, 2, 6).astype(dtype)
    want_loss, want_grad, _ = torch_probability_reference(
        logits, target, None, reduction, 0.0, 1e-2, upstream
    )
    loss, grad = softmaxce.cross_entropy_with_grad(
        logits, target, reduction=reduction, z_loss=1e-2, grad_output=upstream
    )
    oracle.assert_close(loss, want_loss, *LOSS_TOLERANCE[dtype])
    assert_grad_close(grad, want_grad, dtype)


def sparse_z_loss_reference(
    logits: np.ndarray,
    labels: np.ndarray,
    weight: np.ndarray | None,
    ignore_index: int,
    reduction: str,
    label_smoothing: float,
    z_loss: float,
    grad_output: Any,
) -> tuple[np.ndarray, np.ndarray]:
    """Return oracle.cross_entropy plus the z-loss term and its gradient.

    The z-loss adds z * lse**2 at kept positions, unweighted, and the mean
    divides it by the same sum of target weights as the cross-entropy.
    """
    loss, grad = oracle.cross_entropy(
        logits,
        labels,
        weight=weight,
        ignore_index=ignore_index,
        reduction=reduction,
        label_smoothing=label_smoothing,
        grad_output=grad_output,
    )
    x = logits.astype(np.float64)
    m = np.max(x, axis=1, keepdims=True)
    lse = (m + np.log(np.sum(np.exp(x - m), axis=1, keepdims=True)))[:, 0]
    p = np.exp(x - lse[:, None])
    kept = labels != ignore_index
    classes = x.shape[1]
    w = np.ones(classes) if weight is None else weight.astype(np.float64)
    z_term = np.where(kept, z_loss * lse**2, 0.0)
    z_grad = np.where(kept[:, None], 2.0 * z_loss * lse[:, None] * p, 0.0)
    upstream = np.asarray(grad_output, dtype=np.float64)
    if reduction == "none":
        return loss + z_term, grad + z_grad * upstream[:, None]
    denominator = 1.0
    if reduction == "mean":
        denominator = float(np.sum(w[np.where(kept, labels, 0)] * kept))
    total = np.sum(z_term) / denominator
    return loss + total, grad + z_grad * upstream / denominator


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_z_loss_class_indices(dtype: str, reduction: str) -> None:
    rng = make_rng("z-index", dtype, reduction)
    logits = (rng.standard_normal((9, 4)) * 3.0 - 1.0).astype(dtype)
    labels = rng.integers(0, 4, 9)
    labels[::3] = -100
    weight = rng.uniform(0.25, 2.0, 4).astype(dtype)
    upstream: Any = 0.5 if reduction != "none" else rng.uniform(-2, 2, 9).astype(dtype)
    want_loss, want_grad = sparse_z_loss_reference(
        logits, labels, weight, -100, reduction, 0.1, 1e-2, upstream
    )
    kwargs = {"weight": weight, "reduction": reduction, "label_smoothing": 0.1}
    loss, grad = softmaxce.cross_entropy_with_grad(
        logits, labels, z_loss=1e-2, grad_output=upstream, **kwargs
    )
    oracle.assert_close(loss, want_loss, *LOSS_TOLERANCE[dtype])
    assert_grad_close(grad, want_grad, dtype)
    assert_grad_close(
        softmaxce.cross_entropy_backward(
            logits, labels, grad_output=upstream, z_loss=1e-2, **kwargs
        ),
        want_grad,
        dtype,
    )


def test_z_loss_zero_is_plain_cross_entropy() -> None:
    rng = make_rng("z-zero")
    logits = rng.standard_normal((5, 3))
    labels = rng.integers(0, 3, 5)
    plain = softmaxce.cross_entropy_with_grad(logits, labels)
    zero = softmaxce.cross_entropy_with_grad(logits, labels, z_loss=0.0)
    for got, want in zip(zero, plain):
        oracle.assert_bitwise_equal(got, want)


@pytest.mark.parametrize("z_loss", (-1e-3, math.nan, math.inf))
@pytest.mark.parametrize("dense", (False, True), ids=("indices", "probabilities"))
def test_z_loss_invalid(dense: bool, z_loss: float) -> None:
    logits = np.zeros((4, 3))
    target = np.full((4, 3), 1 / 3) if dense else np.zeros(4, dtype=np.int64)
    with pytest.raises(softmaxce.InvalidArgumentError) as excinfo:
        softmaxce.cross_entropy(logits, target, z_loss=z_loss)
    assert "z_loss" in str(excinfo.value), str(excinfo.value)


# ---- K-dimensional layouts equal their flattened 2-D form -----------------------


def flatten_class_axis(array: np.ndarray, axis: int) -> np.ndarray:
    """Move the class axis last and flatten the others into rows, in order."""
    moved = np.moveaxis(array, axis, -1)
    return np.ascontiguousarray(moved.reshape(-1, array.shape[axis]))


def unflatten_class_axis(
    flat: np.ndarray, shape: tuple[int, ...], axis: int
) -> np.ndarray:
    """Undo :func:`flatten_class_axis` for an array of `shape`."""
    moved_shape = shape[:axis] + shape[axis + 1 :] + (shape[axis],)
    return np.moveaxis(flat.reshape(moved_shape), -1, axis)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("axis", (0, 1, 2))
def test_tf_dense_kdim_bitwise_equals_flat(axis: int, dtype: str) -> None:
    """Reading the class axis in place equals transposing it last, bit for bit."""
    shape = (3, 5, 4)
    rng = make_rng("kdim-tf", axis, dtype)
    logits = (rng.standard_normal(shape) * 3.0).astype(dtype)
    labels = random_labels(rng, shape).astype(dtype)
    loss_shape = shape[:axis] + shape[axis + 1 :]
    upstream = rng.uniform(-2, 2, loss_shape).astype(dtype)

    loss, grad, grad_labels = softmaxce.softmax_cross_entropy_with_logits_with_grad(
        labels, logits, axis=axis, grad_output=upstream
    )
    flat_loss, flat_grad, flat_grad_labels = (
        softmaxce.softmax_cross_entropy_with_logits_with_grad(
            flatten_class_axis(labels, axis),
            flatten_class_axis(logits, axis),
            grad_output=upstream.reshape(-1),
        )
    )
    oracle.assert_bitwise_equal(loss, flat_loss.reshape(loss_shape))
    oracle.assert_bitwise_equal(grad, unflatten_class_axis(flat_grad, shape, axis))
    oracle.assert_bitwise_equal(
        grad_labels, unflatten_class_axis(flat_grad_labels, shape, axis)
    )


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("dense", (False, True), ids=("indices", "probabilities"))
def test_torch_kdim_bitwise_equals_flat(
    dense: bool, dtype: str, reduction: str
) -> None:
    """(N, C, d1, d2) equals its (N*d1*d2, C) form for every option, bit for bit."""
    shape = (3, 4, 5, 2)
    rng = make_rng("kdim-torch", dense, dtype, reduction)
    logits = (rng.standard_normal(shape) * 3.0).astype(dtype)
    if dense:
        target = random_labels(rng, shape).astype(dtype)
        flat_target = flatten_class_axis(target, 1)
        ignore: dict[str, Any] = {}
    else:
        target = rng.integers(0, 4, (3, 5, 2))
        target[0, ::2, 1] = -1
        flat_target = target.reshape(-1)
        ignore = {"ignore_index": -1}
    weight = rng.uniform(0.25, 2.0, 4).astype(dtype)
    upstream: Any = -1.75
    if reduction == "none":
        upstream = rng.uniform(-2, 2, (3, 5, 2)).astype(dtype)
    kwargs = {
        "weight": weight,
        "reduction": reduction,
        "label_smoothing": 0.1,
        "z_loss": 1e-3,
        **ignore,
    }

    loss, grad = softmaxce.cross_entropy_with_grad(
        logits, target, grad_output=upstream, **kwargs
    )
    flat_upstream = upstream if reduction != "none" else upstream.reshape(-1)
    flat_loss, flat_grad = softmaxce.cross_entropy_with_grad(
        flatten_class_axis(logits, 1), flat_target, grad_output=flat_upstream, **kwargs
    )
    if reduction == "none":
        flat_loss = flat_loss.reshape(loss.shape)
    oracle.assert_bitwise_equal(loss, flat_loss)
    oracle.assert_bitwise_equal(grad, unflatten_class_axis(flat_grad, shape, 1))


# ---- 0 * log 0, -inf logits and other special values ------------------------------


def test_zero_label_on_neg_inf_logit() -> None:
    """A masked class with label 0 adds nothing; its logits' gradient is 0."""
    logits = np.array([[-np.inf, 1.0, 2.0], [0.0, -np.inf, 0.0]], dtype=np.float32)
    labels = np.array([[0.0, 0.25, 0.75], [0.5, 0.0, 0.5]], dtype=np.float32)
    loss, grad, grad_labels = softmaxce.softmax_cross_entropy_with_logits_with_grad(
        labels, logits
    )
    want_loss, want_grad, _ = dense_reference(logits, labels, -1)
    assert np.isfinite(loss).all(), loss
    oracle.assert_close(loss, want_loss, *LOSS_TOLERANCE["float32"])
    assert grad[0, 0] == 0.0
    assert grad[1, 1] == 0.0
    assert_grad_close(grad, want_grad, "float32")
    # The labels' gradient there is -log p = +inf, the true value.
    assert grad_labels[0, 0] == np.inf
    assert grad_labels[1, 1] == np.inf


def test_positive_label_on_neg_inf_logit() -> None:
    logits = np.array([[-np.inf, 0.0]])
    labels = np.array([[0.5, 0.5]])
    loss, grad, _ = softmaxce.softmax_cross_entropy_with_logits_with_grad(
        labels, logits
    )
    assert loss[0] == np.inf
    oracle.assert_close(grad, [[-0.5, 0.5]], 1e-15, 1e-15)


def test_all_zero_label_row() -> None:
    """An all-zero row has loss 0 and gradient p * 0 - 0 = 0."""
    logits = np.array([[3.0, -1.0, 0.5]])
    loss, grad, _ = softmaxce.softmax_cross_entropy_with_logits_with_grad(
        np.zeros((1, 3)), logits
    )
    assert loss[0] == 0.0
    assert (grad == 0.0).all()


def test_nan_row_stays_in_its_row() -> None:
    logits = np.array([[np.nan, 0.0], [1.0, 0.0]])
    labels = np.array([[0.5, 0.5], [1.0, 0.0]])
    loss, grad, _ = softmaxce.softmax_cross_entropy_with_logits_with_grad(
        labels, logits
    )
    assert np.isnan(loss[0])
    assert np.isnan(grad[0]).all()
    assert np.isfinite(loss[1])
    assert np.isfinite(grad[1]).all()


# ---- Empty inputs --------------------------------------------------------------------


def test_tf_dense_empty_batch() -> None:
    loss, grad, grad_labels = softmaxce.softmax_cross_entropy_with_logits_with_grad(
        np.zeros((0, 4), np.float32), np.zeros((0, 4), np.float32)
    )
    assert loss.shape == (0,)
    assert grad.shape == grad_labels.shape == (0, 4)


@pytest.mark.parametrize("shape", ((0, 3), (2, 3, 0)), ids=("batch", "spatial"))
def test_probability_targets_empty(shape: tuple[int, ...]) -> None:
    """Empty mean is NaN with a zero gradient; an empty sum is 0."""
    logits = np.zeros(shape, np.float32)
    loss, grad = softmaxce.cross_entropy_with_grad(logits, np.zeros(shape, np.float32))
    assert np.isnan(loss)
    assert grad.shape == shape
    assert softmaxce.cross_entropy(logits, logits, reduction="sum") == 0.0
    none = softmaxce.cross_entropy(logits, logits, reduction="none")
    assert none.shape == shape[:1] + shape[2:]


# ---- Invalid input -------------------------------------------------------------------


def test_tf_dense_labels_shape_mismatch() -> None:
    with pytest.raises(softmaxce.InvalidShapeError) as excinfo:
        softmaxce.softmax_cross_entropy_with_logits(np.zeros((4, 2)), np.zeros((4, 3)))
    message = str(excinfo.value)
    assert "(4, 2)" in message, message
    assert "(4, 3)" in message, message


@pytest.mark.parametrize("dtype", ("int64", "bool", "complex64"))
def test_tf_dense_labels_dtype_rejected(dtype: str) -> None:
    with pytest.raises(softmaxce.InvalidDtypeError) as excinfo:
        softmaxce.softmax_cross_entropy_with_logits(
            np.zeros((4, 3), dtype=dtype), np.zeros((4, 3))
        )
    assert dtype in str(excinfo.value), str(excinfo.value)


def test_probability_target_complex_rejected() -> None:
    with pytest.raises(softmaxce.InvalidDtypeError) as excinfo:
        softmaxce.cross_entropy(np.zeros((4, 3)), np.zeros((4, 3), np.complex128))
    assert "complex128" in str(excinfo.value), str(excinfo.value)


@pytest.mark.parametrize("axis", (2, -3))
def test_tf_dense_axis_out_of_bounds(axis: int) -> None:
    with pytest.raises(softmaxce.InvalidArgumentError) as excinfo:
        softmaxce.softmax_cross_entropy_with_logits(
            np.zeros((4, 3)), np.zeros((4, 3)), axis=axis
        )
    assert str(axis) in str(excinfo.value), str(excinfo.value)


def test_tf_dense_axis_not_integer() -> None:
    with pytest.raises(softmaxce.InvalidDtypeError):
        softmaxce.softmax_cross_entropy_with_logits(
            np.zeros((4, 3)), np.zeros((4, 3)), axis=1.0
        )


def test_tf_dense_zero_dimensional_logits() -> None:
    with pytest.raises(softmaxce.InvalidShapeError):
        softmaxce.softmax_cross_entropy_with_logits(1.0, 1.0)


def test_tf_dense_zero_classes() -> None:
    with pytest.raises(softmaxce.InvalidArgumentError):
        softmaxce.softmax_cross_entropy_with_logits(np.zeros((4, 0)), np.zeros((4, 0)))


def test_tf_dense_grad_output_shape() -> None:
    with pytest.raises(softmaxce.InvalidShapeError) as excinfo:
        softmaxce.softmax_cross_entropy_with_logits_with_grad(
            np.zeros((4, 3)), np.zeros((4, 3)), grad_output=np.ones(3)
        )
    assert "(3,)" in str(excinfo.value), str(excinfo.value)


@pytest.mark.parametrize(
    ("weight", "error"),
    [
        (np.ones((1, 3)), softmaxce.InvalidShapeError),
        (np.ones(4), softmaxce.InvalidArgumentError),
        (np.array([1.0, -1.0, 1.0]), softmaxce.InvalidArgumentError),
        (np.array([1.0, np.nan, 1.0]), softmaxce.InvalidArgumentError),
    ],
    ids=("2-d", "length", "negative", "nan"),
)
def test_probability_targets_bad_weight(weight: np.ndarray, error: type) -> None:
    with pytest.raises(error):
        softmaxce.cross_entropy(np.zeros((4, 3)), np.full((4, 3), 1 / 3), weight=weight)


@pytest.mark.parametrize("label_smoothing", (-0.1, 1.5))
def test_probability_targets_bad_smoothing(label_smoothing: float) -> None:
    with pytest.raises(softmaxce.InvalidArgumentError) as excinfo:
        softmaxce.cross_entropy(
            np.zeros((4, 3)), np.full((4, 3), 1 / 3), label_smoothing=label_smoothing
        )
    assert "label_smoothing" in str(excinfo.value), str(excinfo.value)
