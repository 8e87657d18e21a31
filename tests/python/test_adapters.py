"""The framework adapters as drop-in losses in short training loops.

Each loop trains two copies of a linear classifier from the same start with
plain SGD, one through the framework's own loss and one through the softmaxce
adapter, and compares the loss and the parameter gradients at every step.
Then come the adapter-specific checks: gradients with respect to dense labels,
dtypes, devices, transformations (``jax.jit``, ``jax.vmap``, ``tf.function``)
and the errors for second derivatives.

Tolerances. Per step the two losses and gradients differ by the rounding of
two implementations, a few units in the last place. The parameters carry that
difference into the next step, multiplied by at most ``1 + lr * |H|`` with H
the Hessian of the loss. Summed losses take a step size divided by the number
of positions, so every loop is as stable as one with a mean. After 8 steps
the float32 difference stays within 1e-5 relative (atol 1e-5 of the largest
value), float64 within 1e-12.
"""

from __future__ import annotations

import os
import subprocess
import sys
import zlib
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import oracle
import pytest
import softmaxce

STEPS = 8
LEARNING_RATE = 0.5
BATCH, FEATURES, CLASSES = 32, 10, 5
LOOP_TOLERANCE = {"float32": (1e-5, 1e-5), "float64": (1e-12, 1e-12)}
DTYPES = ("float32", "float64")


def make_rng(*key: object) -> np.random.Generator:
    """Return a generator seeded from `key`, the same on every run."""
    return np.random.default_rng(zlib.crc32(repr(key).encode()))


def assert_step_close(got: Any, want: Any, dtype: str, what: str) -> None:
    """Compare one step's values with the atol scaled by the largest reference."""
    want = np.asarray(want, dtype=np.float64)
    rtol, atol = LOOP_TOLERANCE[dtype]
    scale = max(float(np.abs(want).max()), 1.0) if want.size else 1.0
    try:
        oracle.assert_close(got, want, rtol, atol * scale)
    except AssertionError as exc:
        raise AssertionError(f"{what}: {exc}") from None


def test_import_loads_no_framework() -> None:
    """Importing softmaxce and every adapter module imports no framework."""
    code = (
        "import sys\n"
        "import softmaxce, softmaxce.torch, softmaxce.tensorflow, softmaxce.jax\n"
        "import softmaxce.optax, softmaxce.onnx, softmaxce.chainer\n"
        "names = ('torch', 'tensorflow', 'jax', 'optax', 'onnx', 'onnxruntime',\n"
        "         'chainer')\n"
        "print(sorted(name for name in names if name in sys.modules))\n"
    )
    package_root = Path(softmaxce.__file__).resolve().parents[1]
    environment = {**os.environ, "PYTHONPATH": str(package_root)}
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]", result.stdout


# ---- PyTorch -------------------------------------------------------------------------

# Options of each torch loop: how targets are made and what the loss gets.
TORCH_LOOPS = {
    "indices-mean": {"target": "indices", "kwargs": {}},
    "indices-weighted-ignored-smoothed": {
        "target": "indices",
        "kwargs": {"weight": True, "ignore_index": 1, "label_smoothing": 0.1},
    },
    "indices-sum": {"target": "indices", "kwargs": {"reduction": "sum"}},
    "indices-none-weighted-positions": {
        "target": "indices",
        "kwargs": {"reduction": "none"},
    },
    "probabilities-weighted-smoothed": {
        "target": "probabilities",
        "kwargs": {"weight": True, "label_smoothing": 0.2},
    },
    "probabilities-none": {"target": "probabilities", "kwargs": {"reduction": "none"}},
    "kdim-indices": {"target": "indices", "kwargs": {}, "spatial": 3},
    "kdim-probabilities-sum": {
        "target": "probabilities",
        "kwargs": {"reduction": "sum"},
        "spatial": 3,
    },
}


def torch_loop_inputs(
    torch: ModuleType, name: str, dtype: str
) -> tuple[Any, Any, Any, dict[str, Any], Any, int]:
    """Return features, targets, initial weights, loss kwargs, row weights, spatial."""
    spec = TORCH_LOOPS[name]
    spatial = spec.get("spatial", 1)
    rng = make_rng("torch-loop", name, dtype)
    torch_dtype = getattr(torch, dtype)
    features = torch.tensor(rng.standard_normal((BATCH, FEATURES)), dtype=torch_dtype)
    weights = torch.tensor(
        rng.standard_normal((FEATURES, CLASSES * spatial)) * 0.3, dtype=torch_dtype
    )
    target_shape = (BATCH,) if spatial == 1 else (BATCH, spatial)
    if spec["target"] == "indices":
        target = torch.tensor(rng.integers(0, CLASSES, target_shape))
    else:
        shape = (BATCH, CLASSES) if spatial == 1 else (BATCH, CLASSES, spatial)
        target = torch.tensor(rng.uniform(0, 1, shape), dtype=torch_dtype)
    kwargs = dict(spec["kwargs"])
    if kwargs.pop("weight", False):
        kwargs["weight"] = torch.tensor(
            rng.uniform(0.25, 2.0, CLASSES), dtype=torch_dtype
        )
    # Per-position weights of a 'none' loss, so its upstream gradient is not ones.
    row_weights = torch.tensor(rng.uniform(0.0, 2.0, target_shape), dtype=torch_dtype)
    return features, target, weights, kwargs, row_weights, spatial


def torch_train(
    torch: ModuleType,
    loss_fn: Any,
    features: Any,
    target: Any,
    weights: Any,
    kwargs: dict[str, Any],
    row_weights: Any,
    spatial: int,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Run SGD on a linear classifier; return (loss, weight gradient) per step."""
    weights = weights.clone().requires_grad_(True)
    # A summed loss grows with the number of positions; scale the step so the
    # loop stays as stable as with a mean.
    learning_rate = LEARNING_RATE
    if kwargs.get("reduction", "mean") != "mean":
        learning_rate /= BATCH * spatial
    history = []
    for _ in range(STEPS):
        logits = features @ weights
        if spatial > 1:
            logits = logits.reshape(BATCH, CLASSES, spatial)
        loss = loss_fn(logits, target, **kwargs)
        if kwargs.get("reduction") == "none":
            loss = (loss * row_weights).sum()
        weights.grad = None
        loss.backward()
        history.append((loss.detach().numpy().copy(), weights.grad.numpy().copy()))
        with torch.no_grad():
            weights -= learning_rate * weights.grad
    return history


@pytest.mark.torch
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", list(TORCH_LOOPS))
def test_torch_training_loop(torch: ModuleType, name: str, dtype: str) -> None:
    import softmaxce.torch

    inputs = torch_loop_inputs(torch, name, dtype)
    want = torch_train(torch, torch.nn.functional.cross_entropy, *inputs)
    got = torch_train(torch, softmaxce.torch.cross_entropy, *inputs)
    for step, ((loss, grad), (want_loss, want_grad)) in enumerate(zip(got, want)):
        assert loss.dtype == np.dtype(dtype)
        assert_step_close(loss, want_loss, dtype, f"loss at step {step}")
        assert_step_close(grad, want_grad, dtype, f"gradient at step {step}")


@pytest.mark.torch
@pytest.mark.parametrize("reduction", ("none", "sum", "mean"))
def test_torch_probability_target_gradient(torch: ModuleType, reduction: str) -> None:
    """The gradient flows into probability targets, as in PyTorch."""
    import softmaxce.torch

    rng = make_rng("torch-target", reduction)
    logits = torch.tensor(rng.standard_normal((6, 4, 3)), requires_grad=True)
    kwargs = {
        "weight": torch.tensor(rng.uniform(0.25, 2.0, 4)),
        "label_smoothing": 0.1,
        "reduction": reduction,
    }
    upstream = torch.tensor(rng.uniform(-2, 2, (6, 3) if reduction == "none" else ()))
    probabilities = rng.uniform(0, 1, (6, 4, 3))
    grads = []
    for loss_fn in (torch.nn.functional.cross_entropy, softmaxce.torch.cross_entropy):
        x = logits.detach().clone().requires_grad_(True)
        target = torch.tensor(probabilities, requires_grad=True)
        loss = loss_fn(x, target, **kwargs)
        loss.backward(upstream)
        grads.append((loss.detach().numpy(), x.grad.numpy(), target.grad.numpy()))
    for got, want, what in zip(grads[1], grads[0], ("loss", "input", "target")):
        assert_step_close(got, want, "float64", what)


@pytest.mark.torch
def test_torch_only_target_requires_grad(torch: ModuleType) -> None:
    import softmaxce.torch

    logits = torch.tensor([[1.0, 2.0, 0.5]])
    target = torch.tensor([[0.2, 0.3, 0.5]], requires_grad=True)
    softmaxce.torch.cross_entropy(logits, target).backward()
    want = -torch.log_softmax(logits, dim=1)
    assert_step_close(target.grad.numpy(), want.numpy(), "float32", "target")


@pytest.mark.torch
def test_torch_no_grad(torch: ModuleType) -> None:
    import softmaxce.torch

    logits = torch.randn(4, 3, requires_grad=True)
    with torch.no_grad():
        loss = softmaxce.torch.cross_entropy(logits, torch.tensor([0, 1, 2, 0]))
    assert loss.grad_fn is None
    want = torch.nn.functional.cross_entropy(
        logits.detach(), torch.tensor([0, 1, 2, 0])
    )
    assert_step_close(loss.numpy(), want.numpy(), "float32", "loss")


@pytest.mark.torch
def test_torch_double_backward_raises(torch: ModuleType) -> None:
    import softmaxce.torch

    logits = torch.randn(4, 3, requires_grad=True)
    loss = softmaxce.torch.cross_entropy(logits, torch.tensor([0, 1, 2, 0]))
    (grad,) = torch.autograd.grad(loss, logits, create_graph=True)
    with pytest.raises(RuntimeError):
        grad.sum().backward()


@pytest.mark.torch
@pytest.mark.parametrize("dtype", ("float16", "bfloat16"))
def test_torch_half_precision(torch: ModuleType, dtype: str) -> None:
    """16-bit logits are computed in float32 and rounded once."""
    import softmaxce.torch

    torch_dtype = getattr(torch, dtype)
    logits = torch.randn(8, 5, generator=torch.Generator().manual_seed(0))
    labels = torch.tensor([0, 1, 2, 3, 4, 0, 1, 2])
    x = logits.to(torch_dtype).requires_grad_(True)
    loss = softmaxce.torch.cross_entropy(x, labels, reduction="none")
    loss.sum().backward()
    assert loss.dtype == torch_dtype
    assert x.grad.dtype == torch_dtype

    x32 = x.detach().float().requires_grad_(True)
    want = torch.nn.functional.cross_entropy(x32, labels, reduction="none")
    want.sum().backward()
    # One rounding to the 16-bit format: half an ulp of 2**-8 (bfloat16) or
    # 2**-11 (float16), relative.
    rtol = 2**-8 if dtype == "bfloat16" else 2**-11
    oracle.assert_close(
        loss.float().detach().numpy(), want.detach().numpy(), rtol, 1e-3
    )
    oracle.assert_close(x.grad.float().numpy(), x32.grad.numpy(), rtol, 1e-3)


@pytest.mark.torch
def test_torch_non_cpu_device_rejected(torch: ModuleType) -> None:
    import softmaxce.torch

    logits = torch.empty(4, 3, device="meta")
    with pytest.raises(softmaxce.InvalidArgumentError) as excinfo:
        softmaxce.torch.cross_entropy(logits, torch.zeros(4, dtype=torch.long))
    assert "meta" in str(excinfo.value), str(excinfo.value)


@pytest.mark.torch
def test_torch_label_out_of_range(torch: ModuleType) -> None:
    import softmaxce.torch

    logits = torch.randn(4, 3, requires_grad=True)
    with pytest.raises(softmaxce.LabelOutOfRangeError) as excinfo:
        softmaxce.torch.cross_entropy(logits, torch.tensor([0, 1, 3, 0]))
    assert "3" in str(excinfo.value), str(excinfo.value)


# ---- TensorFlow ----------------------------------------------------------------------


def tf_train(
    tf: ModuleType,
    loss_fn: Any,
    features: np.ndarray,
    labels: np.ndarray,
    weights: np.ndarray,
    axis: int | None,
    graph: bool,
) -> list[tuple[np.ndarray, np.ndarray, np.ndarray | None]]:
    """Run SGD; return (mean loss, weight gradient, labels gradient) per step.

    `axis` None means integer labels; otherwise dense labels with that class
    axis, whose gradient is returned too. `graph` runs each step in
    ``tf.function``.
    """
    w = tf.Variable(weights)
    x = tf.constant(features)
    t = tf.constant(labels)

    def step() -> tuple[Any, Any, Any]:
        with tf.GradientTape(persistent=True) as tape:
            tape.watch(t)
            logits = tf.matmul(x, w)
            if axis is None:
                per_example = loss_fn(labels=t, logits=logits)
            else:
                if axis == 0:
                    logits = tf.transpose(logits)
                per_example = loss_fn(labels=t, logits=logits, axis=axis)
            loss = tf.reduce_mean(per_example)
        grad_w = tape.gradient(loss, w)
        grad_t = None if axis is None else tape.gradient(loss, t)
        return loss, grad_w, grad_t

    run = tf.function(step) if graph else step
    history = []
    for _ in range(STEPS):
        loss, grad_w, grad_t = run()
        history.append(
            (loss.numpy(), grad_w.numpy(), None if grad_t is None else grad_t.numpy())
        )
        w.assign_sub(LEARNING_RATE * grad_w)
    return history


TF_LOOPS = {
    "sparse": None,
    "dense-last-axis": -1,
    "dense-axis0": 0,
}


@pytest.mark.tensorflow
@pytest.mark.parametrize("graph", (False, True), ids=("eager", "tf_function"))
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", list(TF_LOOPS))
def test_tf_training_loop(tf: ModuleType, name: str, dtype: str, graph: bool) -> None:
    import softmaxce.tensorflow

    axis = TF_LOOPS[name]
    rng = make_rng("tf-loop", name, dtype)
    features = rng.standard_normal((BATCH, FEATURES)).astype(dtype)
    weights = (rng.standard_normal((FEATURES, CLASSES)) * 0.3).astype(dtype)
    if axis is None:
        labels = rng.integers(0, CLASSES, BATCH).astype(np.int32)
        theirs = tf.nn.sparse_softmax_cross_entropy_with_logits
        ours = softmaxce.tensorflow.sparse_softmax_cross_entropy_with_logits
    else:
        labels = oracle.softmax(rng.standard_normal((BATCH, CLASSES)), axis=1)
        labels = labels.astype(dtype) if axis == -1 else labels.T.astype(dtype)
        theirs = tf.nn.softmax_cross_entropy_with_logits
        ours = softmaxce.tensorflow.softmax_cross_entropy_with_logits

    want = tf_train(tf, theirs, features, labels, weights, axis, graph)
    got = tf_train(tf, ours, features, labels, weights, axis, graph)
    for step, (mine, reference) in enumerate(zip(got, want)):
        assert mine[0].dtype == np.dtype(dtype)
        assert_step_close(mine[0], reference[0], dtype, f"loss at step {step}")
        assert_step_close(mine[1], reference[1], dtype, f"gradient at step {step}")
        if axis is not None:
            assert_step_close(mine[2], reference[2], dtype, f"labels at step {step}")


@pytest.mark.tensorflow
@pytest.mark.parametrize("dense", (False, True), ids=("sparse", "dense"))
def test_tf_second_derivative_raises(tf: ModuleType, dense: bool) -> None:
    import softmaxce.tensorflow

    x = tf.Variable([[1.0, 2.0, 3.0]])
    with tf.GradientTape() as outer:
        with tf.GradientTape() as inner:
            if dense:
                loss = softmaxce.tensorflow.softmax_cross_entropy_with_logits(
                    tf.constant([[0.0, 0.0, 1.0]]), x
                )
            else:
                loss = softmaxce.tensorflow.sparse_softmax_cross_entropy_with_logits(
                    tf.constant([2]), x
                )
        grad = inner.gradient(loss, x)
    with pytest.raises(NotImplementedError):
        outer.gradient(grad, x)


@pytest.mark.tensorflow
def test_tf_label_errors(tf: ModuleType) -> None:
    """Eagerly softmaxce's exception; in a graph TensorFlow's, with the message."""
    import softmaxce.tensorflow

    loss_fn = softmaxce.tensorflow.sparse_softmax_cross_entropy_with_logits
    logits = tf.constant([[1.0, 2.0, 3.0]])
    with pytest.raises(softmaxce.LabelOutOfRangeError):
        loss_fn(tf.constant([3]), logits)
    with pytest.raises(tf.errors.OpError, match=r"\[0, 3\)"):
        tf.function(loss_fn)(tf.constant([3]), logits)


@pytest.mark.tensorflow
@pytest.mark.parametrize("dtype", ("float16", "bfloat16"))
def test_tf_half_precision(tf: ModuleType, dtype: str) -> None:
    import softmaxce.tensorflow

    logits32 = tf.constant(make_rng("tf-half").standard_normal((6, 4)), tf.float32)
    x = tf.Variable(tf.cast(logits32, getattr(tf, dtype)))
    labels = tf.constant([0, 1, 2, 3, 0, 1])
    with tf.GradientTape() as tape:
        loss = softmaxce.tensorflow.sparse_softmax_cross_entropy_with_logits(labels, x)
    grad = tape.gradient(loss, x)
    assert loss.dtype == x.dtype
    assert grad.dtype == x.dtype
    want = tf.nn.sparse_softmax_cross_entropy_with_logits(
        labels, tf.cast(x, tf.float32)
    )
    rtol = 2**-8 if dtype == "bfloat16" else 2**-11
    oracle.assert_close(tf.cast(loss, tf.float32).numpy(), want.numpy(), rtol, 1e-3)


# ---- JAX -----------------------------------------------------------------------------


def jax_train(
    jax: ModuleType,
    loss_fn: Any,
    features: Any,
    labels: Any,
    weights: Any,
    axis: int,
    dense: bool,
) -> list[tuple[np.ndarray, ...]]:
    """Run jitted SGD; return (loss, weight gradient, labels gradient) per step."""

    def objective(w: Any, t: Any) -> Any:
        logits = features @ w
        if axis == 0:
            logits = logits.T
        return loss_fn(logits, t, axis=axis).mean()

    argnums = (0, 1) if dense else 0
    step = jax.jit(jax.value_and_grad(objective, argnums=argnums))
    history = []
    for _ in range(STEPS):
        loss, grads = step(weights, labels)
        grad_w, grad_t = grads if dense else (grads, None)
        history.append(
            (
                np.asarray(loss),
                np.asarray(grad_w),
                None if grad_t is None else np.asarray(grad_t),
            )
        )
        weights = weights - LEARNING_RATE * grad_w
    return history


JAX_LOOPS = {
    "integer-last-axis": (False, -1),
    "integer-axis0": (False, 0),
    "dense-last-axis": (True, -1),
    "dense-axis0": (True, 0),
}


@pytest.mark.jax
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", list(JAX_LOOPS))
def test_jax_training_loop(
    jax: ModuleType, optax: ModuleType, name: str, dtype: str
) -> None:
    import softmaxce.jax

    dense, axis = JAX_LOOPS[name]
    rng = make_rng("jax-loop", name, dtype)
    jnp = jax.numpy
    features = jnp.asarray(rng.standard_normal((BATCH, FEATURES)).astype(dtype))
    weights = jnp.asarray(
        (rng.standard_normal((FEATURES, CLASSES)) * 0.3).astype(dtype)
    )
    if dense:
        labels = oracle.softmax(rng.standard_normal((BATCH, CLASSES)), axis=1)
        labels = jnp.asarray((labels if axis == -1 else labels.T).astype(dtype))
        theirs = optax.softmax_cross_entropy
        ours = softmaxce.jax.softmax_cross_entropy
    else:
        labels = jnp.asarray(rng.integers(0, CLASSES, BATCH).astype(np.int32))
        theirs = optax.softmax_cross_entropy_with_integer_labels
        ours = softmaxce.jax.softmax_cross_entropy_with_integer_labels

    want = jax_train(jax, theirs, features, labels, weights, axis, dense)
    got = jax_train(jax, ours, features, labels, weights, axis, dense)
    for step, (mine, reference) in enumerate(zip(got, want)):
        assert mine[0].dtype == np.dtype(dtype)
        assert_step_close(mine[0], reference[0], dtype, f"loss at step {step}")
        assert_step_close(mine[1], reference[1], dtype, f"gradient at step {step}")
        if dense:
            assert_step_close(mine[2], reference[2], dtype, f"labels at step {step}")


@pytest.mark.jax
def test_jax_vmap(jax: ModuleType, optax: ModuleType) -> None:
    """vmap over a batch of problems, of the loss and of its gradient."""
    import softmaxce.jax

    jnp = jax.numpy
    rng = make_rng("jax-vmap")
    logits = jnp.asarray(rng.standard_normal((3, 6, 4)))
    labels = jnp.asarray(rng.integers(0, 4, (3, 6)))

    def total(loss_fn: Any) -> Any:
        return lambda x, y: loss_fn(x, y).sum()

    ours = softmaxce.jax.softmax_cross_entropy_with_integer_labels
    theirs = optax.softmax_cross_entropy_with_integer_labels
    got = jax.vmap(ours)(logits, labels)
    oracle.assert_close(got, jax.vmap(theirs)(logits, labels), 1e-13, 1e-14)
    got = jax.vmap(jax.grad(total(ours)))(logits, labels)
    oracle.assert_close(
        got, jax.vmap(jax.grad(total(theirs)))(logits, labels), 1e-13, 1e-14
    )


@pytest.mark.jax
def test_jax_zero_log_zero(jax: ModuleType, optax: ModuleType) -> None:
    """Intentional difference: optax's dense loss and gradient are NaN there."""
    import softmaxce.jax

    jnp = jax.numpy
    logits = jnp.asarray([[-jnp.inf, 0.0, 0.0]])
    labels = jnp.asarray([[0.0, 1.0, 0.0]])

    def total(loss_fn: Any) -> Any:
        return lambda x: loss_fn(x, labels).sum()

    assert np.isnan(np.asarray(optax.softmax_cross_entropy(logits, labels))).all()
    loss = softmaxce.jax.softmax_cross_entropy(logits, labels)
    grad = jax.jit(jax.grad(total(softmaxce.jax.softmax_cross_entropy)))(logits)
    oracle.assert_close(loss, [np.log(2.0)], 1e-13, 1e-14)
    oracle.assert_close(grad, [[0.0, -0.5, 0.5]], 1e-13, 1e-14)


@pytest.mark.jax
def test_jax_label_errors(jax: ModuleType) -> None:
    """Concrete arrays raise softmaxce's exception; under jit JAX's, with the text."""
    import softmaxce.jax

    jnp = jax.numpy
    loss_fn = softmaxce.jax.softmax_cross_entropy_with_integer_labels
    logits = jnp.zeros((2, 3))
    with pytest.raises(softmaxce.LabelOutOfRangeError):
        loss_fn(logits, jnp.asarray([0, -1]))
    with pytest.raises(Exception, match=r"\[0, 3\)"):
        jax.jit(loss_fn)(logits, jnp.asarray([0, -1])).block_until_ready()
    with pytest.raises(softmaxce.InvalidDtypeError):
        loss_fn(logits, jnp.asarray([0.0, 1.0]))


@pytest.mark.jax
def test_jax_second_derivative_raises(jax: ModuleType) -> None:
    import softmaxce.jax

    labels = jax.numpy.asarray([0, 2])

    def total(x: Any) -> Any:
        return softmaxce.jax.softmax_cross_entropy_with_integer_labels(x, labels).sum()

    with pytest.raises(ValueError):
        jax.hessian(total)(jax.numpy.zeros((2, 3)))


@pytest.mark.jax
@pytest.mark.parametrize("dtype", ("float16", "bfloat16"))
def test_jax_half_precision(jax: ModuleType, optax: ModuleType, dtype: str) -> None:
    import softmaxce.jax

    jnp = jax.numpy
    x32 = jnp.asarray(make_rng("jax-half").standard_normal((6, 4)), jnp.float32)
    x = x32.astype(getattr(jnp, dtype))
    labels = jnp.asarray([0, 1, 2, 3, 0, 1])
    loss_fn = softmaxce.jax.softmax_cross_entropy_with_integer_labels
    loss = jax.jit(loss_fn)(x, labels)
    grad = jax.grad(lambda a: loss_fn(a, labels).sum())(x)
    assert loss.dtype == x.dtype
    assert grad.dtype == x.dtype
    want = optax.softmax_cross_entropy_with_integer_labels(
        x.astype(jnp.float32), labels
    )
    rtol = 2**-8 if dtype == "bfloat16" else 2**-11
    oracle.assert_close(np.asarray(loss, np.float32), np.asarray(want), rtol, 1e-3)
