"""Each framework convention against that framework, or against its formulas.

* PyTorch probability targets (weights, smoothing, every reduction) against
  ``torch.nn.functional.cross_entropy`` with autograd.
* TensorFlow dense labels against ``tf.nn.softmax_cross_entropy_with_logits``,
  gradients with respect to logits and labels from ``tf.GradientTape``.
* :mod:`softmaxce.optax` against optax.
* :mod:`softmaxce.onnx` against onnxruntime (float32) and the ONNX reference
  evaluator (float32 and float64).
* :mod:`softmaxce.chainer` against a reference written in this file from
  chainer 7's ``softmax_cross_entropy`` formulas, because chainer does not
  import with numpy 2.

Where softmaxce differs on purpose (``0 * log 0``, unnormalised soft labels,
empty means, out-of-range labels), a test asserts both our value and the
framework's, so it fails if either changes.

Tolerances are those of test_vs_torch.py. float32 losses agree within 1e-5
relative and 2e-6 absolute, gradients within 1e-5 relative and 2e-6 of the
largest reference magnitude. float64 losses agree within 1e-13 and 1e-14,
gradients within 1e-12 and 2e-14.
"""

from __future__ import annotations

import zlib
from types import ModuleType
from typing import Any

import numpy as np
import oracle
import pytest
import softmaxce
import softmaxce.chainer
import softmaxce.onnx
import softmaxce.optax

LOSS_TOLERANCE = {"float32": (1e-5, 2e-6), "float64": (1e-13, 1e-14)}
GRAD_TOLERANCE = {"float32": (1e-5, 2e-6), "float64": (1e-12, 2e-14)}
DTYPES = ("float32", "float64")
REDUCTIONS = ("none", "sum", "mean")


def make_rng(*key: object) -> np.random.Generator:
    """Return a generator seeded from `key`, the same on every run."""
    return np.random.default_rng(zlib.crc32(repr(key).encode()))


def softmax_rows(rng: np.random.Generator, shape: tuple[int, ...], axis: int) -> Any:
    """Return random probabilities that sum to 1 along `axis`."""
    return oracle.softmax(rng.standard_normal(shape) * 2.0, axis=axis)


def assert_grad_close(got: Any, want: Any, dtype: str) -> None:
    """Compare gradients with the atol scaled by the largest reference value."""
    want = np.asarray(want, dtype=np.float64)
    rtol, atol = GRAD_TOLERANCE[dtype]
    finite = np.abs(want[np.isfinite(want)])
    scale = float(finite.max()) if finite.size and finite.max() > 0 else 1.0
    oracle.assert_close(got, want, rtol, atol * scale)


def shape_id(shape: tuple[int, ...]) -> str:
    return "x".join(map(str, shape))


def without_axis(shape: tuple[int, ...], axis: int) -> tuple[int, ...]:
    """Return `shape` without `axis`, the shape of a per-example loss."""
    index = axis % len(shape)
    return shape[:index] + shape[index + 1 :]


# ---- PyTorch probability targets ---------------------------------------------------


@pytest.mark.torch
@pytest.mark.parametrize("label_smoothing", (0.0, 0.2))
@pytest.mark.parametrize("weighted", (False, True), ids=("unweighted", "weighted"))
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", ((16, 5), (6,), (3, 4, 2, 3)), ids=shape_id)
def test_torch_probability_targets(
    torch: ModuleType,
    shape: tuple[int, ...],
    dtype: str,
    reduction: str,
    weighted: bool,
    label_smoothing: float,
) -> None:
    rng = make_rng("torch", shape, dtype, reduction, weighted, label_smoothing)
    axis = 0 if len(shape) == 1 else 1
    logits = (rng.standard_normal(shape) * 3.0).astype(dtype)
    # Rows that do not sum to 1: PyTorch differentiates the formula, so its
    # gradient is the exact one too.
    target = rng.uniform(0.0, 1.0, shape).astype(dtype)
    weight = rng.uniform(0.25, 2.0, shape[axis]).astype(dtype) if weighted else None
    loss_shape = shape[:axis] + shape[axis + 1 :]
    upstream = rng.uniform(-2.0, 2.0, loss_shape if reduction == "none" else ())
    upstream = upstream.astype(dtype)

    x = torch.tensor(logits, requires_grad=True)
    want = torch.nn.functional.cross_entropy(
        x,
        torch.tensor(target),
        weight=None if weight is None else torch.tensor(weight),
        reduction=reduction,
        label_smoothing=label_smoothing,
    )
    want.backward(torch.tensor(upstream))

    loss, grad = softmaxce.cross_entropy_with_grad(
        logits,
        target,
        weight=weight,
        reduction=reduction,
        label_smoothing=label_smoothing,
        grad_output=upstream,
    )
    assert np.asarray(loss).dtype == np.dtype(dtype)
    oracle.assert_close(loss, want.detach().numpy(), *LOSS_TOLERANCE[dtype])
    assert_grad_close(grad, x.grad.numpy(), dtype)


@pytest.mark.torch
def test_torch_probability_zero_log_zero(torch: ModuleType) -> None:
    """Intentional difference: PyTorch gives NaN for 0 * log 0, softmaxce 0."""
    logits = np.array([[0.0, -np.inf, 0.0]], dtype=np.float32)
    target = np.array([[0.5, 0.0, 0.5]], dtype=np.float32)
    x = torch.tensor(logits, requires_grad=True)
    theirs = torch.nn.functional.cross_entropy(x, torch.tensor(target))
    theirs.backward()
    assert torch.isnan(theirs).item()

    loss, grad = softmaxce.cross_entropy_with_grad(logits, target)
    oracle.assert_close(loss, np.log(2.0), 1e-6, 1e-7)
    # The gradients agree: autograd's derivative of 0 * log p is 0.
    oracle.assert_close(grad, x.grad.numpy(), 0.0, 1e-7)
    oracle.assert_close(grad, [[0.0, 0.0, 0.0]], 0.0, 1e-7)


@pytest.mark.torch
def test_torch_probability_ignore_index_rule(torch: ModuleType) -> None:
    """Both reject a non-negative ignore_index with probability targets."""
    logits = np.zeros((2, 3), dtype=np.float32)
    target = np.full((2, 3), 1 / 3, dtype=np.float32)
    with pytest.raises((RuntimeError, ValueError)):
        torch.nn.functional.cross_entropy(
            torch.tensor(logits), torch.tensor(target), ignore_index=1
        )
    with pytest.raises(softmaxce.InvalidArgumentError):
        softmaxce.cross_entropy(logits, target, ignore_index=1)


# ---- TensorFlow dense labels ---------------------------------------------------------

TF_LAYOUTS = (((16, 5), -1), ((4, 5, 6), 0), ((4, 5, 6), 1), ((3, 300), -1), ((7,), 0))


def tf_dense(
    tf: ModuleType, labels: np.ndarray, logits: np.ndarray, axis: int, upstream: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return TensorFlow's loss and the gradients for `upstream`."""
    x = tf.constant(logits)
    t = tf.constant(labels)
    with tf.GradientTape() as tape:
        tape.watch([x, t])
        loss = tf.nn.softmax_cross_entropy_with_logits(labels=t, logits=x, axis=axis)
    grad, grad_labels = tape.gradient(
        loss, [x, t], output_gradients=tf.constant(upstream)
    )
    return loss.numpy(), grad.numpy(), grad_labels.numpy()


@pytest.mark.tensorflow
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "layout", TF_LAYOUTS, ids=lambda item: f"{shape_id(item[0])}-axis{item[1]}"
)
def test_tf_dense(
    tf: ModuleType, layout: tuple[tuple[int, ...], int], dtype: str
) -> None:
    shape, axis = layout
    rng = make_rng("tf", shape, axis, dtype)
    logits = (rng.standard_normal(shape) * 3.0).astype(dtype)
    # TensorFlow's fused gradient p - t is right only for rows that sum to 1.
    labels = softmax_rows(rng, shape, axis).astype(dtype)
    upstream = rng.uniform(-2.0, 2.0, without_axis(shape, axis)).astype(dtype)

    want_loss, want_grad, want_grad_labels = tf_dense(
        tf, labels, logits, axis, upstream
    )
    loss, grad, grad_labels = softmaxce.softmax_cross_entropy_with_logits_with_grad(
        labels, logits, axis=axis, grad_output=upstream
    )
    oracle.assert_close(loss, want_loss, *LOSS_TOLERANCE[dtype])
    assert_grad_close(grad, want_grad, dtype)
    assert_grad_close(grad_labels, want_grad_labels, dtype)


@pytest.mark.tensorflow
def test_tf_dense_unnormalised_labels_gradient(tf: ModuleType) -> None:
    """Intentional difference: TensorFlow's fused gradient is p - t.

    For labels [0.5, 1] on logits [0, log 3], p = [0.25, 0.75]: the exact
    gradient p * 1.5 - t is [-0.125, 0.125], TensorFlow's [-0.25, -0.25].
    """
    logits = np.array([[0.0, np.log(3.0)]])
    labels = np.array([[0.5, 1.0]])
    want_loss, theirs, _ = tf_dense(tf, labels, logits, -1, np.ones(1))
    oracle.assert_close(theirs, [[-0.25, -0.25]], 1e-12, 1e-15)

    loss, grad, _ = softmaxce.softmax_cross_entropy_with_logits_with_grad(
        labels, logits
    )
    oracle.assert_close(loss, want_loss, 1e-13, 1e-14)
    oracle.assert_close(grad, [[-0.125, 0.125]], 1e-12, 1e-15)


@pytest.mark.tensorflow
def test_tf_dense_zero_log_zero(tf: ModuleType) -> None:
    """Intentional difference: TensorFlow gives NaN for 0 * log 0, softmaxce 0."""
    logits = np.array([[-np.inf, 0.0, 0.0]], dtype=np.float32)
    labels = np.array([[0.0, 1.0, 0.0]], dtype=np.float32)
    theirs, _, _ = tf_dense(tf, labels, logits, -1, np.ones(1, np.float32))
    assert np.isnan(theirs).all(), theirs

    ours = softmaxce.softmax_cross_entropy_with_logits(labels, logits)
    assert np.isfinite(ours).all(), ours
    oracle.assert_close(ours, [np.log(2.0)], 1e-6, 1e-7)


# ---- optax ---------------------------------------------------------------------------


@pytest.mark.jax
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize(
    "layout", (((16, 5), -1), ((4, 5, 6), 1), ((4, 5, 6), 0)), ids=str
)
def test_optax_conventions(
    optax: ModuleType, jax: ModuleType, layout: tuple[tuple[int, ...], int], dtype: str
) -> None:
    shape, axis = layout
    rng = make_rng("optax", shape, axis, dtype)
    logits = (rng.standard_normal(shape) * 3.0).astype(dtype)
    labels = rng.uniform(0.0, 1.0, shape).astype(dtype)
    indices = rng.integers(0, shape[axis], without_axis(shape, axis))
    x, t = jax.numpy.asarray(logits), jax.numpy.asarray(labels)

    want = np.asarray(optax.softmax_cross_entropy(x, t, axis=axis))
    got = softmaxce.optax.softmax_cross_entropy(logits, labels, axis=axis)
    assert got.dtype == np.dtype(dtype)
    oracle.assert_close(got, want, *LOSS_TOLERANCE[dtype])

    want = np.asarray(
        optax.softmax_cross_entropy_with_integer_labels(
            x, jax.numpy.asarray(indices), axis=axis
        )
    )
    got = softmaxce.optax.softmax_cross_entropy_with_integer_labels(
        logits, indices, axis=axis
    )
    oracle.assert_close(got, want, *LOSS_TOLERANCE[dtype])

    if axis == -1:
        want = np.asarray(optax.safe_softmax_cross_entropy(x, t))
        got = softmaxce.optax.safe_softmax_cross_entropy(logits, labels)
        oracle.assert_close(got, want, *LOSS_TOLERANCE[dtype])


@pytest.mark.jax
def test_optax_zero_log_zero(optax: ModuleType, jax: ModuleType) -> None:
    """Intentional difference: optax's softmax_cross_entropy gives NaN, safe 0."""
    logits = np.array([[-np.inf, 0.0, 0.0]], dtype=np.float32)
    labels = np.array([[0.0, 1.0, 0.0]], dtype=np.float32)
    x, t = jax.numpy.asarray(logits), jax.numpy.asarray(labels)
    assert np.isnan(np.asarray(optax.softmax_cross_entropy(x, t))).all()
    safe = np.asarray(optax.safe_softmax_cross_entropy(x, t))

    ours = softmaxce.optax.softmax_cross_entropy(logits, labels)
    assert np.isfinite(ours).all(), ours
    oracle.assert_close(ours, safe, 1e-6, 1e-7)
    oracle.assert_close(
        softmaxce.optax.safe_softmax_cross_entropy(logits, labels), safe, 1e-6, 1e-7
    )


@pytest.mark.jax
def test_optax_negative_label(optax: ModuleType, jax: ModuleType) -> None:
    """Intentional difference: optax reads -1 as class C - 1; softmaxce raises."""
    logits = np.array([[2.0, 0.0, 0.0]])
    theirs = optax.softmax_cross_entropy_with_integer_labels(
        jax.numpy.asarray(logits), jax.numpy.asarray([-1])
    )
    oracle.assert_close(np.asarray(theirs), [2.2395448], 1e-6, 1e-7)
    with pytest.raises(softmaxce.LabelOutOfRangeError) as excinfo:
        softmaxce.optax.softmax_cross_entropy_with_integer_labels(logits, [-1])
    assert "-1" in str(excinfo.value), str(excinfo.value)


def test_optax_tuple_axis_rejected() -> None:
    with pytest.raises(softmaxce.InvalidDtypeError) as excinfo:
        softmaxce.optax.softmax_cross_entropy(
            np.zeros((2, 3, 4)), np.zeros((2, 3, 4)), axis=(1, 2)
        )
    assert "axis" in str(excinfo.value), str(excinfo.value)


# ---- ONNX ----------------------------------------------------------------------------


def onnx_model(
    onnx: ModuleType,
    dtype: str,
    shape: tuple[int, ...],
    weighted: bool,
    reduction: str,
    ignore_index: int | None,
) -> Any:
    """Build a model of one SoftmaxCrossEntropyLoss node with both outputs."""
    helper = onnx.helper
    element = helper.np_dtype_to_tensor_dtype(np.dtype(dtype))
    inputs = [
        helper.make_tensor_value_info("scores", element, list(shape)),
        helper.make_tensor_value_info(
            "labels", onnx.TensorProto.INT64, [shape[0], *shape[2:]]
        ),
    ]
    if weighted:
        inputs.append(helper.make_tensor_value_info("weights", element, [shape[1]]))
    attributes: dict[str, Any] = {"reduction": reduction}
    if ignore_index is not None:
        attributes["ignore_index"] = ignore_index
    node = helper.make_node(
        "SoftmaxCrossEntropyLoss",
        [value.name for value in inputs],
        ["output", "log_prob"],
        **attributes,
    )
    outputs = [
        helper.make_tensor_value_info("output", element, None),
        helper.make_tensor_value_info("log_prob", element, list(shape)),
    ]
    graph = helper.make_graph([node], "softmax_cross_entropy", inputs, outputs)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    # The IR version of opset 13; onnxruntime reads older IR versions as well.
    model.ir_version = 7
    return model


def run_onnxruntime(onnxruntime: ModuleType, model: Any, feeds: dict) -> list:
    session = onnxruntime.InferenceSession(
        model.SerializeToString(), providers=["CPUExecutionProvider"]
    )
    return session.run(None, feeds)


def onnx_inputs(
    shape: tuple[int, ...], dtype: str, weighted: bool, ignore_index: int | None
) -> dict[str, np.ndarray]:
    rng = make_rng("onnx", shape, dtype, weighted, ignore_index)
    feeds = {
        "scores": (rng.standard_normal(shape) * 3.0).astype(dtype),
        "labels": rng.integers(0, shape[1], (shape[0], *shape[2:])).astype(np.int64),
    }
    if ignore_index is not None and ignore_index < 0:
        feeds["labels"].reshape(-1)[::3] = ignore_index
    if weighted:
        feeds["weights"] = rng.uniform(0.25, 2.0, shape[1]).astype(dtype)
    return feeds


def check_onnx(want: list, feeds: dict, reduction: str, ignore_index: Any) -> None:
    dtype = feeds["scores"].dtype.name
    output, log_prob = softmaxce.onnx.softmax_cross_entropy_loss(
        feeds["scores"],
        feeds["labels"],
        feeds.get("weights"),
        reduction=reduction,
        ignore_index=ignore_index,
        return_log_prob=True,
    )
    assert np.asarray(output).dtype == np.dtype(dtype)
    oracle.assert_close(output, want[0], *LOSS_TOLERANCE[dtype])
    oracle.assert_close(log_prob, want[1], *LOSS_TOLERANCE[dtype])


ONNX_OPTIONS = [
    (reduction, weighted, ignore_index)
    for reduction in REDUCTIONS
    for weighted in (False, True)
    for ignore_index in (None, -1, 1)
]


def onnx_option_id(option: tuple[str, bool, Any]) -> str:
    reduction, weighted, ignore_index = option
    weight = "weighted" if weighted else "unweighted"
    return f"{reduction}-{weight}-ignore_{ignore_index}"


@pytest.mark.onnx
@pytest.mark.parametrize("shape", ((12, 5), (3, 4, 5)), ids=shape_id)
@pytest.mark.parametrize("option", ONNX_OPTIONS, ids=onnx_option_id)
def test_onnx_against_onnxruntime(
    onnx: ModuleType,
    onnxruntime: ModuleType,
    option: tuple[str, bool, Any],
    shape: tuple[int, ...],
) -> None:
    reduction, weighted, ignore_index = option
    feeds = onnx_inputs(shape, "float32", weighted, ignore_index)
    model = onnx_model(onnx, "float32", shape, weighted, reduction, ignore_index)
    check_onnx(
        run_onnxruntime(onnxruntime, model, feeds), feeds, reduction, ignore_index
    )


@pytest.mark.onnx
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("option", ONNX_OPTIONS[::2], ids=onnx_option_id)
def test_onnx_against_reference_evaluator(
    onnx: ModuleType, option: tuple[str, bool, Any], dtype: str
) -> None:
    from onnx.reference import ReferenceEvaluator

    reduction, weighted, ignore_index = option
    shape = (3, 4, 5)
    feeds = onnx_inputs(shape, dtype, weighted, ignore_index)
    model = onnx_model(onnx, dtype, shape, weighted, reduction, ignore_index)
    check_onnx(
        ReferenceEvaluator(model).run(None, feeds), feeds, reduction, ignore_index
    )


@pytest.mark.onnx
def test_onnx_all_ignored_mean(onnx: ModuleType, onnxruntime: ModuleType) -> None:
    """A mean over no kept position is NaN in softmaxce and both ONNX runtimes."""
    from onnx.reference import ReferenceEvaluator

    feeds = {
        "scores": np.zeros((3, 4), np.float32),
        "labels": np.full(3, -1, np.int64),
    }
    model = onnx_model(onnx, "float32", (3, 4), False, "mean", -1)
    assert np.isnan(run_onnxruntime(onnxruntime, model, feeds)[0])
    with np.errstate(invalid="ignore", divide="ignore"):
        assert np.isnan(ReferenceEvaluator(model).run(None, feeds)[0])
    ours = softmaxce.onnx.softmax_cross_entropy_loss(
        feeds["scores"], feeds["labels"], ignore_index=-1
    )
    assert np.isnan(ours), ours


@pytest.mark.onnx
def test_onnx_negative_label(onnx: ModuleType, onnxruntime: ModuleType) -> None:
    """Intentional difference: the ONNX function reads -1 as class C - 1."""
    from onnx.reference import ReferenceEvaluator

    feeds = {
        "scores": np.array([[2.0, 0.0, 0.0]], np.float32),
        "labels": np.array([-1], np.int64),
    }
    model = onnx_model(onnx, "float32", (1, 3), False, "none", None)
    theirs = ReferenceEvaluator(model).run(None, feeds)[0]
    oracle.assert_close(theirs, [2.2395448], 1e-6, 1e-7)
    theirs = run_onnxruntime(onnxruntime, model, feeds)[0]
    oracle.assert_close(theirs, [2.2395448], 1e-6, 1e-7)
    with pytest.raises(softmaxce.LabelOutOfRangeError):
        softmaxce.onnx.softmax_cross_entropy_loss(feeds["scores"], feeds["labels"])


@pytest.mark.parametrize(
    ("scores", "labels", "error"),
    [
        (np.zeros(3), np.zeros((), np.int64), softmaxce.InvalidShapeError),
        (np.zeros((2, 3)), np.zeros((2, 3)), softmaxce.InvalidDtypeError),
        (np.zeros((2, 3)), np.zeros(3, np.int64), softmaxce.InvalidShapeError),
    ],
    ids=("rank-1", "float-labels", "labels-shape"),
)
def test_onnx_invalid(scores: Any, labels: Any, error: type) -> None:
    with pytest.raises(error):
        softmaxce.onnx.softmax_cross_entropy_loss(scores, labels)


def test_onnx_reduction_invalid() -> None:
    with pytest.raises(softmaxce.InvalidArgumentError) as excinfo:
        softmaxce.onnx.softmax_cross_entropy_loss(
            np.zeros((2, 3)), np.zeros(2, np.int64), reduction="average"
        )
    assert "average" in str(excinfo.value), str(excinfo.value)


# ---- chainer -------------------------------------------------------------------------


def chainer_reference(
    x: np.ndarray,
    t: np.ndarray,
    normalize: bool = True,
    class_weight: np.ndarray | None = None,
    ignore_label: int = -1,
    reduce: str = "mean",
    soft_target_loss: str = "cross-entropy",
    grad_output: Any = 1.0,
    kl_epsilon: float = 1e-7,
) -> tuple[np.ndarray, np.ndarray]:
    """Compute chainer 7's softmax_cross_entropy and its gradient in float64.

    The formulas are those of ``chainer.functions.softmax_cross_entropy``:
    log_y = log_softmax(x, axis=1); hard labels take ``w[t] * log_y[t]`` at
    positions with ``t != ignore_label`` and the mean multiplies by
    ``1 / max(count, 1)`` with count the kept positions (``normalize``) or
    ``len(x)``; soft targets take ``-sum(t * log_y)`` or
    ``sum(t * (log(t + kl_epsilon) - log_y))``, the mean divides by
    ``x.size / C``, and the gradient is ``softmax(x) - t``.
    """
    x = x.astype(np.float64)
    log_y = oracle.log_softmax(x, axis=1)
    y = np.exp(log_y)
    upstream = np.asarray(grad_output, dtype=np.float64)

    if t.dtype.kind == "f":
        t = t.astype(np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            if soft_target_loss == "kl-divergence":
                terms = np.where(t != 0, t * (np.log(t + kl_epsilon) - log_y), 0.0)
            else:
                terms = np.where(t != 0, -t * log_y, 0.0)
        loss = terms.sum(axis=1)
        grad = y - t
        if reduce == "mean":
            coefficient = 1.0 / (x.size / x.shape[1])
            return np.asarray(loss.sum() * coefficient), grad * coefficient * upstream
        return loss, grad * np.expand_dims(upstream, 1)

    classes = x.shape[1]
    w = np.ones(classes) if class_weight is None else class_weight.astype(np.float64)
    valid = t != ignore_label
    safe_t = np.where(valid, t, 0)
    picked = np.take_along_axis(log_y, np.expand_dims(safe_t, 1), axis=1)[:, 0]
    loss = -np.where(valid, w[safe_t] * picked, 0.0)
    onehot = np.moveaxis(np.eye(classes)[safe_t], -1, 1)
    grad = (y - onehot) * np.expand_dims(np.where(valid, w[safe_t], 0.0), 1)
    if reduce == "mean":
        count = valid.sum() if normalize else len(x)
        coefficient = 1.0 / max(count, 1)
        return np.asarray(loss.sum() * coefficient), grad * coefficient * upstream
    return loss, grad * np.expand_dims(upstream, 1)


CHAINER_OPTIONS = [
    (normalize, weighted, reduce)
    for normalize in (True, False)
    for weighted in (False, True)
    for reduce in ("mean", "no")
]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", ((10, 4), (3, 4, 5)), ids=shape_id)
@pytest.mark.parametrize(
    "option",
    CHAINER_OPTIONS,
    ids=lambda o: f"normalize_{o[0]}-{'weighted' if o[1] else 'unweighted'}-{o[2]}",
)
def test_chainer_class_indices(
    option: tuple[bool, bool, str], shape: tuple[int, ...], dtype: str
) -> None:
    normalize, weighted, reduce = option
    rng = make_rng("chainer", option, shape, dtype)
    x = (rng.standard_normal(shape) * 3.0).astype(dtype)
    t = rng.integers(0, shape[1], (shape[0], *shape[2:])).astype(np.int32)
    t.reshape(-1)[::4] = -1
    class_weight = rng.uniform(0.25, 2.0, shape[1]).astype(dtype) if weighted else None
    upstream: Any = -1.5 if reduce == "mean" else rng.uniform(-2, 2, t.shape)
    kwargs: dict[str, Any] = {"class_weight": class_weight, "reduce": reduce}
    want_loss, want_grad = chainer_reference(
        x, t, normalize, grad_output=upstream, **kwargs
    )

    loss = softmaxce.chainer.softmax_cross_entropy(x, t, normalize, **kwargs)
    assert np.asarray(loss).dtype == np.dtype(dtype)
    oracle.assert_close(loss, want_loss, *LOSS_TOLERANCE[dtype])
    fused_loss, grad = softmaxce.chainer.softmax_cross_entropy_with_grad(
        x, t, normalize, grad_output=upstream, **kwargs
    )
    oracle.assert_bitwise_equal(fused_loss, loss)
    assert_grad_close(grad, want_grad, dtype)


@pytest.mark.parametrize("reduce", ("mean", "no"))
@pytest.mark.parametrize(
    "soft_target_loss",
    (
        "cross-entropy",
        "kl-divergence",
    ),
)
@pytest.mark.parametrize("shape", ((10, 4), (3, 4, 5)), ids=shape_id)
def test_chainer_soft_targets(
    shape: tuple[int, ...], soft_target_loss: str, reduce: str
) -> None:
    """Soft targets whose rows sum to 1, where chainer's gradient p - t is exact.

    The reference uses the exact KL divergence (no 1e-7 inside the log), as
    softmaxce does on purpose; test_chainer_kl_epsilon checks that difference.
    """
    rng = make_rng("chainer-soft", shape, soft_target_loss, reduce)
    x = rng.standard_normal(shape) * 3.0
    t = softmax_rows(rng, shape, 1)
    t[0, 0] = 0.0  # a zero target: 0 * log 0 = 0 in both terms
    t[0] /= t[0].sum(axis=0, keepdims=True)
    upstream: Any = -1.5
    if reduce == "no":
        upstream = rng.uniform(-2, 2, without_axis(shape, 1))
    kwargs = {"reduce": reduce, "soft_target_loss": soft_target_loss}
    want_loss, want_grad = chainer_reference(
        x, t, grad_output=upstream, kl_epsilon=0.0, **kwargs
    )

    # normalize and ignore_label do not apply to soft targets.
    loss, grad = softmaxce.chainer.softmax_cross_entropy_with_grad(
        x, t, False, ignore_label=0, grad_output=upstream, **kwargs
    )
    oracle.assert_close(loss, want_loss, *LOSS_TOLERANCE["float64"])
    assert_grad_close(grad, want_grad, "float64")


def test_chainer_documented_value() -> None:
    x = np.array([[-1, 0, 1, 2], [2, 0, 1, -1]], dtype=np.float32)
    loss = softmaxce.chainer.softmax_cross_entropy(x, np.array([3, 0]))
    oracle.assert_close(loss, 0.44018972, 1e-6, 1e-7)


def test_chainer_weights_not_in_denominator() -> None:
    """Weights [1, 2, 3] on the shared example: 7.6768134 / 3, not / 7."""
    x = np.array([[2.0, 0.0, 0.0], [0.0, 2.0, 0.0], [0.0, 0.0, 2.0]])
    loss = softmaxce.chainer.softmax_cross_entropy(
        x, np.array([0, 2, 2]), class_weight=np.array([1.0, 2.0, 3.0])
    )
    oracle.assert_close(loss, 2.5589378, 1e-7, 1e-8)


def test_chainer_kl_epsilon() -> None:
    """Intentional difference: chainer's KL uses log(t + 1e-7), softmaxce log t.

    The difference is sum(t * log(1 + 1e-7 / t)) per row, about 1e-7 per
    nonzero class.
    """
    x = np.array([[0.5, -1.0, 2.0]])
    t = np.array([[0.2, 0.3, 0.5]])
    ours = softmaxce.chainer.softmax_cross_entropy(
        x, t, soft_target_loss="kl-divergence"
    )
    theirs, _ = chainer_reference(x, t, soft_target_loss="kl-divergence")
    exact, _ = chainer_reference(x, t, soft_target_loss="kl-divergence", kl_epsilon=0)
    expected_gap = float(np.sum(t * np.log1p(1e-7 / t)))
    oracle.assert_close(ours, exact, 1e-14, 1e-15)
    oracle.assert_close(theirs - ours, expected_gap, 1e-6, 1e-16)


def test_chainer_unnormalised_soft_target_gradient() -> None:
    """Intentional difference: chainer's soft-target gradient is p - t."""
    x = np.array([[0.0, np.log(3.0)]])
    t = np.array([[0.5, 1.0]])
    _, theirs = chainer_reference(x, t)
    oracle.assert_close(theirs, [[-0.25, -0.25]], 1e-12, 1e-15)
    _, ours = softmaxce.chainer.softmax_cross_entropy_with_grad(x, t)
    oracle.assert_close(ours, [[-0.125, 0.125]], 1e-12, 1e-15)


def test_chainer_all_ignored_mean() -> None:
    """Intentional difference: chainer's empty mean is 0, softmaxce's NaN."""
    x = np.zeros((3, 4))
    t = np.full(3, -1)
    theirs, _ = chainer_reference(x, t)
    assert theirs == 0.0
    loss, grad = softmaxce.chainer.softmax_cross_entropy_with_grad(x, t)
    assert np.isnan(loss)
    assert (grad == 0.0).all()


def test_chainer_label_always_checked() -> None:
    with pytest.raises(softmaxce.LabelOutOfRangeError) as excinfo:
        softmaxce.chainer.softmax_cross_entropy(np.zeros((3, 4)), np.array([0, 4, -1]))
    assert "4" in str(excinfo.value), str(excinfo.value)


@pytest.mark.parametrize(
    ("kwargs", "text"),
    [
        ({"reduce": "sum"}, "sum"),
        ({"soft_target_loss": "mse"}, "mse"),
    ],
    ids=("reduce", "soft_target_loss"),
)
def test_chainer_invalid_option(kwargs: dict[str, Any], text: str) -> None:
    with pytest.raises(softmaxce.InvalidArgumentError) as excinfo:
        softmaxce.chainer.softmax_cross_entropy(
            np.zeros((3, 4)), np.zeros(3, np.int32), **kwargs
        )
    assert text in str(excinfo.value), str(excinfo.value)


def test_chainer_soft_target_with_class_weight_rejected() -> None:
    with pytest.raises(softmaxce.InvalidArgumentError) as excinfo:
        softmaxce.chainer.softmax_cross_entropy(
            np.zeros((3, 4)), np.full((3, 4), 0.25), class_weight=np.ones(4)
        )
    assert "class_weight" in str(excinfo.value), str(excinfo.value)


def test_chainer_one_dimensional_rejected() -> None:
    with pytest.raises(softmaxce.InvalidShapeError):
        softmaxce.chainer.softmax_cross_entropy(np.zeros(4), np.zeros((), np.int32))
