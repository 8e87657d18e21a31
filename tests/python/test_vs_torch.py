"""Compare softmaxce with PyTorch: cross_entropy loss and gradient, softmax family.

The reference for cross-entropy is ``torch.nn.functional.cross_entropy`` with
autograd for the gradient, in the same dtype as the softmaxce call. torch needs
int64 class indices, so int32 labels are converted for torch only.

Tolerances. Both sides round in the input dtype, so a bound is the sum of two
implementations' errors; test_vs_oracle.py bounds softmaxce's own error more
tightly. A per-position loss ``(m - x_y) + log s`` is within a few ulp of its
larger term. For an s near 1 rounded to float32, ``log s`` is off by up to
ulp(1)/2, so the loss needs an absolute floor as well as a relative bound. A
gradient element is a probability times its row factor
(oracle.cross_entropy_grad_scale), and the label's element is ``p - 1``, so its
atol is a few ulp(1) of the row factor. torch's float32 and float64 sums over
the class axis add an error that grows with the number of classes C, which
label smoothing exposes. Measured against the bounds below (torch 2.15 CPU,
softmaxce 0.1.0): the largest error is about 0.6 of the bound.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any

import numpy as np
import oracle
import pytest
import softmaxce

pytestmark = pytest.mark.torch

# (rtol, atol) of the loss.
LOSS_TOLERANCE = {"float32": (2e-6, 1e-6), "float64": (5e-14, 5e-15)}
# (rtol, atol, atol per class) of the gradient; both atol terms are multiplied by
# the largest row factor of the gradient.
GRAD_TOLERANCE = {"float32": (4e-6, 1e-6, 6e-10), "float64": (1e-13, 5e-15, 2e-19)}
# Base rtol of a probability, before the terms of oracle.probability_rtol that
# grow with |x - m| and the class count. Both implementations round, so the
# comparisons use twice the single-implementation bound of test_vs_oracle.py.
PROBABILITY_RTOL = {"float32": 1e-6, "float64": 2e-15}
# (rtol, atol) of softmax_backward and log_softmax_backward; atol is multiplied
# by max |reference dx|.
SOFTMAX_BACKWARD_TOLERANCE = {"float32": (1e-5, 2e-6), "float64": (1e-12, 2e-14)}

DTYPES = ("float32", "float64")
LABEL_DTYPES = ("int32", "int64")
# 1-D logits (C,) with a 0-d label, 2-D (N, C) and K-dimensional (N, C, d1, d2).
SMALL_SHAPES = ((1, 1), (1, 5), (7, 3), (64, 10), (6,), (4, 5, 3, 2))
BIG_SHAPES = ((128, 1000), (3, 50000))


def shape_id(shape: tuple[int, ...]) -> str:
    """Format a shape as "7x3" ("1d-6" for 1-D logits)."""
    if len(shape) == 1:
        return f"1d-{shape[0]}"
    return "x".join(str(size) for size in shape)


# ---- Reference ---------------------------------------------------------------------


def torch_cross_entropy(
    torch: ModuleType, problem: Any, grad_output: Any
) -> tuple[np.ndarray, np.ndarray]:
    """Return torch's loss and the gradient of ``sum(grad_output * loss)``."""
    logits = torch.tensor(problem.logits, requires_grad=True)
    labels = torch.tensor(problem.labels.astype(np.int64))
    weight = None if problem.weight is None else torch.tensor(problem.weight)
    kwargs: dict[str, Any] = {
        "weight": weight,
        "reduction": problem.reduction,
        "label_smoothing": problem.label_smoothing,
    }
    if problem.ignore_index is not None:
        kwargs["ignore_index"] = problem.ignore_index

    loss = torch.nn.functional.cross_entropy(logits, labels, **kwargs)
    upstream = torch.tensor(np.asarray(grad_output, dtype=problem.logits.dtype))
    loss.backward(upstream.expand_as(loss))
    return loss.detach().numpy(), logits.grad.numpy()


def unit_grad_output(problem: Any) -> Any:
    """Return an upstream gradient of ones in the loss shape."""
    if problem.reduction == "none":
        return np.ones(problem.labels.shape, dtype=problem.logits.dtype)
    return 1.0


def assert_grad_close(
    got: Any, want: np.ndarray, problem: Any, grad_output: Any
) -> None:
    """Compare a gradient with atol scaled by the gradient's largest row factor."""
    dtype = problem.logits.dtype.name
    classes = problem.logits.shape[0 if problem.logits.ndim == 1 else 1]
    rtol, atol, atol_per_class = GRAD_TOLERANCE[dtype]
    scale = oracle.cross_entropy_grad_scale(
        problem.logits, problem.labels, grad_output=grad_output, **problem.kwargs()
    )
    oracle.assert_close(got, want, rtol, (atol + atol_per_class * classes) * scale)


def check_cross_entropy(torch: ModuleType, problem: Any, dtype: str) -> None:
    """Compare loss, gradient for unit upstream, and gradient for grad_output."""
    kwargs = problem.kwargs()
    unit = unit_grad_output(problem)
    want_loss, want_grad = torch_cross_entropy(torch, problem, unit)
    _, want_scaled_grad = torch_cross_entropy(torch, problem, problem.grad_output)

    loss = softmaxce.cross_entropy(problem.logits, problem.labels, **kwargs)
    assert np.asarray(loss).dtype == np.dtype(dtype)
    oracle.assert_close(loss, want_loss, *LOSS_TOLERANCE[dtype])

    fused_loss, grad = softmaxce.cross_entropy_with_grad(
        problem.logits, problem.labels, **kwargs
    )
    oracle.assert_close(fused_loss, want_loss, *LOSS_TOLERANCE[dtype])
    assert np.asarray(grad).dtype == np.dtype(dtype)
    assert_grad_close(grad, want_grad, problem, unit)

    scaled_grad = softmaxce.cross_entropy_backward(
        problem.logits, problem.labels, grad_output=problem.grad_output, **kwargs
    )
    assert_grad_close(scaled_grad, want_scaled_grad, problem, problem.grad_output)


# ---- cross_entropy -------------------------------------------------------------


@pytest.mark.parametrize("label_dtype", LABEL_DTYPES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", SMALL_SHAPES, ids=shape_id)
def test_cross_entropy_small_shapes(
    torch: ModuleType,
    make_problem: Any,
    shape: tuple[int, ...],
    dtype: str,
    label_dtype: str,
    options: Any,
) -> None:
    problem = make_problem(shape, dtype, label_dtype, options)
    check_cross_entropy(torch, problem, dtype)


@pytest.mark.parametrize("label_dtype", LABEL_DTYPES)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", BIG_SHAPES, ids=shape_id)
def test_cross_entropy_big_shapes(
    torch: ModuleType,
    make_problem: Any,
    shape: tuple[int, ...],
    dtype: str,
    label_dtype: str,
    sampled_options: Any,
) -> None:
    problem = make_problem(shape, dtype, label_dtype, sampled_options)
    check_cross_entropy(torch, problem, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_cross_entropy_confident_rows(
    torch: ModuleType, make_problem: Any, dtype: str, options: Any
) -> None:
    """Logits spread over +-60 make most rows confident, with tiny or huge losses."""
    problem = make_problem((32, 7), dtype, "int64", options, logit_scale=20.0)
    check_cross_entropy(torch, problem, dtype)


# ---- softmax family ------------------------------------------------------------

# (shape, axis) pairs: the class axis last, first and in the middle.
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


def random_logits(shape: tuple[int, ...], dtype: str, seed: int) -> np.ndarray:
    return (np.random.default_rng(seed).standard_normal(shape) * 3.0).astype(dtype)


@pytest.mark.parametrize("name", ("softmax", "log_softmax"))
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("layout", SOFTMAX_LAYOUTS, ids=layout_id)
def test_softmax_family(
    torch: ModuleType,
    layout: tuple[tuple[int, ...], int],
    dtype: str,
    name: str,
) -> None:
    shape, axis = layout
    x = random_logits(shape, dtype, seed=len(shape) * 100 + axis)
    dy = random_logits(shape, dtype, seed=7)

    x_torch = torch.tensor(x, requires_grad=True)
    y_torch = getattr(torch, name)(x_torch, dim=axis)
    y_torch.backward(torch.tensor(dy))

    y = getattr(softmaxce, name)(x, axis=axis)
    assert np.asarray(y).dtype == np.dtype(dtype)
    want_y = y_torch.detach().numpy()
    if name == "softmax":
        rtol = 2.0 * oracle.probability_rtol(x, axis, PROBABILITY_RTOL[dtype])
        oracle.assert_close(y, want_y, rtol, np.finfo(dtype).tiny)
    else:
        atol = 2.0 * oracle.log_probability_atol(x, want_y, axis)
        oracle.assert_close(y, want_y, 0.0, atol)

    dx = getattr(softmaxce, f"{name}_backward")(y, dy, axis=axis)
    assert np.asarray(dx).dtype == np.dtype(dtype)
    want_dx = x_torch.grad.numpy()
    rtol, atol = SOFTMAX_BACKWARD_TOLERANCE[dtype]
    scale = float(np.abs(want_dx).max()) or 1.0
    oracle.assert_close(dx, want_dx, rtol, atol * scale)


# ---- Probability targets ---------------------------------------------------------

# Tolerances of probability targets in units of the unit roundoff u. The loss is
# a sum of non-negative terms: relative, plus an absolute floor times the
# problem's loss_scale. torch's sums over the class axis give a gradient error
# that grows with the class count C (203 u of the row factor measured at
# C = 50000), so the gradient atol is ``u * (32 + C / 100)`` times the row factor.
PROBABILITY_LOSS_ULPS = {"rtol": 64.0, "atol": 8.0}
PROBABILITY_GRAD_ULPS = {"base": 32.0, "per_class": 0.01}
PROBABILITY_SHAPES = ((1, 1), (7, 3), (64, 10), (6,), (4, 5, 3, 2), (3, 50000))


@pytest.mark.parametrize("label_smoothing", (0.0, 0.1, 1.0))
@pytest.mark.parametrize("weighted", (False, True), ids=("unweighted", "weighted"))
@pytest.mark.parametrize("reduction", ("none", "sum", "mean"))
@pytest.mark.parametrize("kind", ("normalized", "unnormalized"))
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", PROBABILITY_SHAPES, ids=shape_id)
def test_cross_entropy_probability_targets(
    torch: ModuleType,
    make_dense_problem: Any,
    shape: tuple[int, ...],
    dtype: str,
    kind: str,
    reduction: str,
    weighted: bool,
    label_smoothing: float,
) -> None:
    """Targets of the logits' shape are class probabilities, as in torch."""
    problem = make_dense_problem(
        shape, dtype, kind, reduction, weighted, label_smoothing
    )
    logits = torch.tensor(problem.logits, requires_grad=True)
    weight = None if problem.weight is None else torch.tensor(problem.weight)
    want_loss = torch.nn.functional.cross_entropy(
        logits,
        torch.tensor(problem.targets),
        weight=weight,
        reduction=reduction,
        label_smoothing=label_smoothing,
    )
    upstream = torch.tensor(np.asarray(problem.grad_output, dtype=dtype))
    want_loss.backward(upstream.expand_as(want_loss))

    loss, grad = softmaxce.cross_entropy_with_grad(
        problem.logits,
        problem.targets,
        grad_output=problem.grad_output,
        **problem.kwargs(),
    )
    u = oracle.UNIT_ROUNDOFF[dtype]
    classes = shape[0 if len(shape) == 1 else 1]
    oracle.assert_close(
        loss,
        want_loss.detach().numpy(),
        PROBABILITY_LOSS_ULPS["rtol"] * u,
        PROBABILITY_LOSS_ULPS["atol"] * u * problem.loss_scale(),
    )
    ulps = PROBABILITY_GRAD_ULPS["base"] + PROBABILITY_GRAD_ULPS["per_class"] * classes
    oracle.assert_close(grad, logits.grad.numpy(), 0.0, ulps * u * problem.grad_scale())
