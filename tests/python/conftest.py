"""Pytest configuration of the softmaxce Python tests.

Markers
    ``large``: needs hundreds of MB or many seconds; skipped unless
    ``--run-large`` is given or SOFTMAXCE_RUN_LARGE=1 is set.
    ``torch``, ``tensorflow``, ``jax``, ``onnx``: compares against that
    framework (``jax`` covers optax too, ``onnx`` covers onnxruntime).

Problems
    The ``make_problem`` and ``make_dense_problem`` fixtures build seeded random
    cross-entropy inputs, with integer and with dense targets, for one shape,
    dtype and option combination. The test modules that compare against torch,
    TensorFlow and the oracle share them.

Frameworks
    The ``torch``, ``tf``, ``jax``, ``optax``, ``onnx`` and ``onnxruntime``
    fixtures import the framework once per session.
    When it cannot be imported the tests that use it are skipped, unless
    SOFTMAXCE_REQUIRE_FRAMEWORKS=1 is set, in which case they fail with a
    message that says what to install.
"""

from __future__ import annotations

import importlib
import itertools
import os
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np
import pytest

# TensorFlow reads these when it is imported: keep its log to warnings and
# errors, and use its portable kernels so results do not depend on oneDNN.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("TF_ENABLE_ONEDNN_OPTS", "0")

# Threads per framework op, so that torch and TensorFlow do not oversubscribe a
# small shared test machine.
FRAMEWORK_THREADS = 2

PIP_NAMES = {
    "torch": "torch",
    "tensorflow": "tensorflow-cpu",
    "jax": "jax",
    "optax": "optax",
    "onnx": "onnx",
    "onnxruntime": "onnxruntime",
}


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--run-large",
        action="store_true",
        default=False,
        help="also run tests marked large (same as SOFTMAXCE_RUN_LARGE=1)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "large: needs much memory or time; runs only with --run-large or "
        "SOFTMAXCE_RUN_LARGE=1",
    )
    config.addinivalue_line("markers", "torch: compares against PyTorch")
    config.addinivalue_line("markers", "tensorflow: compares against TensorFlow")
    config.addinivalue_line("markers", "jax: compares against JAX and optax")
    config.addinivalue_line("markers", "onnx: compares against onnx and onnxruntime")


def _run_large(config: pytest.Config) -> bool:
    return bool(config.getoption("--run-large")) or (
        os.environ.get("SOFTMAXCE_RUN_LARGE") == "1"
    )


def pytest_collection_modifyitems(
    config: pytest.Config, items: list[pytest.Item]
) -> None:
    if _run_large(config):
        return
    skip_large = pytest.mark.skip(
        reason="large test: pass --run-large or set SOFTMAXCE_RUN_LARGE=1"
    )
    for item in items:
        if "large" in item.keywords:
            item.add_marker(skip_large)


def _import_framework(name: str) -> ModuleType:
    """Import framework `name`, or skip (fail when frameworks are required)."""
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        message = (
            f"{name} cannot be imported ({exc}); install it with "
            f"'pip install {PIP_NAMES[name]}'"
        )
        if os.environ.get("SOFTMAXCE_REQUIRE_FRAMEWORKS") == "1":
            pytest.fail(f"SOFTMAXCE_REQUIRE_FRAMEWORKS=1 but {message}", pytrace=False)
        pytest.skip(message)


@pytest.fixture(scope="session")
def torch() -> ModuleType:
    """The torch module, with its intra-op threads set to FRAMEWORK_THREADS."""
    module = _import_framework("torch")
    module.set_num_threads(FRAMEWORK_THREADS)
    return module


@pytest.fixture(scope="session")
def tf() -> ModuleType:
    """The tensorflow module, limited to FRAMEWORK_THREADS threads per op."""
    module = _import_framework("tensorflow")
    threading = module.config.threading
    # The thread counts can be set only before TensorFlow starts its runtime;
    # later calls raise RuntimeError and the earlier setting stays.
    try:
        threading.set_intra_op_parallelism_threads(FRAMEWORK_THREADS)
        threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:
        pass
    return module


@pytest.fixture(scope="session")
def jax() -> ModuleType:
    """The jax module, with float64 enabled so both float dtypes can be tested.

    Enabling float64 changes JAX's default dtype for the whole session; the
    tests pass explicit dtypes everywhere.
    """
    module = _import_framework("jax")
    module.config.update("jax_enable_x64", True)
    return module


@pytest.fixture(scope="session")
def optax(jax: ModuleType) -> ModuleType:
    """The optax module (imported after the jax fixture configured JAX)."""
    return _import_framework("optax")


@pytest.fixture(scope="session")
def onnx() -> ModuleType:
    """The onnx module, used to build models and for its reference evaluator."""
    return _import_framework("onnx")


@pytest.fixture(scope="session")
def onnxruntime() -> ModuleType:
    """The onnxruntime module."""
    return _import_framework("onnxruntime")


# ---- Random cross-entropy problems --------------------------------------------

REDUCTIONS = ("none", "sum", "mean")
# How labels meet ignore_index:
#   "none"      no ignore_index argument and no label equal to the default -100;
#   "default"   no ignore_index argument, every third position labelled -100;
#   "negative"  ignore_index=-1, every third position labelled -1;
#   "class"     ignore_index=0, a real class: every position labelled 0 is skipped.
IGNORE_MODES = ("none", "default", "negative", "class")
LABEL_SMOOTHINGS = (0.0, 0.1, 1.0)

# Upstream gradient of sum and mean in the backward checks; a value other than
# 1 catches a backward that ignores grad_output.
SCALAR_GRAD_OUTPUT = -1.75


@dataclass(frozen=True)
class Options:
    """One combination of cross_entropy options."""

    reduction: str
    weighted: bool
    ignore: str
    label_smoothing: float

    @property
    def id(self) -> str:
        weight = "weighted" if self.weighted else "unweighted"
        return (
            f"{self.reduction}-{weight}-ignore_{self.ignore}-ls{self.label_smoothing:g}"
        )


def option_matrix() -> list[Options]:
    """Return every combination of reduction, weight, ignore mode and smoothing."""
    return [
        Options(*combination)
        for combination in itertools.product(
            REDUCTIONS, (False, True), IGNORE_MODES, LABEL_SMOOTHINGS
        )
    ]


@dataclass
class Problem:
    """Inputs of one cross_entropy call; the class axis is 1 (0 for 1-D logits)."""

    logits: np.ndarray
    labels: np.ndarray
    weight: np.ndarray | None
    ignore_index: int | None
    reduction: str
    label_smoothing: float
    grad_output: Any

    def kwargs(self) -> dict[str, Any]:
        """Keyword arguments of softmaxce.cross_entropy and oracle.cross_entropy."""
        kwargs: dict[str, Any] = {
            "weight": self.weight,
            "reduction": self.reduction,
            "label_smoothing": self.label_smoothing,
        }
        if self.ignore_index is not None:
            kwargs["ignore_index"] = self.ignore_index
        return kwargs


def build_problem(
    shape: tuple[int, ...],
    dtype: str,
    label_dtype: str,
    options: Options,
    logit_scale: float = 3.0,
) -> Problem:
    """Build seeded random logits, labels, weights and a non-unit grad_output.

    The seed is derived from the arguments, so a failing combination gives the
    same inputs on every run.
    """
    key = f"{shape}-{dtype}-{label_dtype}-{options.id}"
    rng = np.random.default_rng(zlib.crc32(key.encode()))

    class_axis = 0 if len(shape) == 1 else 1
    classes = shape[class_axis]
    label_shape = shape[:class_axis] + shape[class_axis + 1 :]

    logits = (rng.standard_normal(shape) * logit_scale).astype(dtype)
    labels = rng.integers(0, classes, size=label_shape).astype(label_dtype)

    ignore_index = None
    marked = (np.arange(labels.size) % 3 == 2).reshape(label_shape)
    if options.ignore == "default":
        labels[marked] = -100
    elif options.ignore == "negative":
        ignore_index = -1
        labels[marked] = -1
    elif options.ignore == "class":
        ignore_index = 0

    weight = None
    if options.weighted:
        weight = rng.uniform(0.25, 2.0, size=classes).astype(dtype)

    if options.reduction == "none":
        grad_output: Any = rng.uniform(-2.0, 2.0, size=label_shape).astype(dtype)
    else:
        grad_output = SCALAR_GRAD_OUTPUT

    return Problem(
        logits=logits,
        labels=labels,
        weight=weight,
        ignore_index=ignore_index,
        reduction=options.reduction,
        label_smoothing=options.label_smoothing,
        grad_output=grad_output,
    )


# A few combinations for the big shapes, which together use every value of
# every option at least once.
SAMPLED_OPTIONS = (
    Options("mean", False, "none", 0.0),
    Options("sum", True, "default", 0.1),
    Options("none", True, "class", 1.0),
    Options("mean", True, "negative", 0.1),
    Options("none", False, "default", 0.0),
    Options("sum", False, "negative", 1.0),
)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Parametrize `options` with the full matrix, `sampled_options` with a subset."""
    if "options" in metafunc.fixturenames:
        matrix = option_matrix()
        metafunc.parametrize("options", matrix, ids=[item.id for item in matrix])
    if "sampled_options" in metafunc.fixturenames:
        metafunc.parametrize(
            "sampled_options",
            SAMPLED_OPTIONS,
            ids=[item.id for item in SAMPLED_OPTIONS],
        )


@pytest.fixture
def make_problem() -> Callable[..., Problem]:
    """The build_problem function."""
    return build_problem


# ---- Random problems with dense (probability) targets --------------------------

# "normalized" rows are softmax outputs, so they sum to 1 like probabilities.
# "unnormalized" rows are uniform in [0, 2), with about a fifth set to 0.
TARGET_KINDS = ("normalized", "unnormalized")


@dataclass
class DenseProblem:
    """Inputs of one cross_entropy call with targets of the logits' shape."""

    logits: np.ndarray
    targets: np.ndarray
    weight: np.ndarray | None
    reduction: str
    label_smoothing: float
    grad_output: Any

    def kwargs(self) -> dict[str, Any]:
        """Keyword arguments of cross_entropy and oracle.cross_entropy_probabilities."""
        return {
            "weight": self.weight,
            "reduction": self.reduction,
            "label_smoothing": self.label_smoothing,
        }

    def loss_scale(self) -> float:
        """Return the largest target mass ``sum_c w_c * t_c`` of a position.

        Multiplied by the number of positions for reduction "sum". The term
        ``log s`` of a confident position is close to 0 but, when s is rounded
        to float32, off by up to ulp(1)/2, so the loss needs an absolute floor
        of a few ulp(1) times this mass.
        """
        mass = self._mass()
        if mass.size == 0:
            return 1.0
        largest = float(np.max(mass))
        if self.reduction == "sum":
            largest *= mass.size
        return largest if largest > 0.0 else 1.0

    def _mass(self) -> np.ndarray:
        """Return ``sum_c w_c * t_c`` per position, after label smoothing."""
        class_axis = 0 if self.logits.ndim == 1 else 1
        classes = self.logits.shape[class_axis]
        eps = self.label_smoothing
        smoothed = (1.0 - eps) * self.targets.astype(np.float64) + eps / classes
        weight = np.ones(classes) if self.weight is None else self.weight
        return np.moveaxis(smoothed, class_axis, -1) @ weight.astype(np.float64)

    def grad_scale(self) -> float:
        """Return the largest row factor ``|g_i| * sum_c w_c * t_c / denominator``.

        A gradient element is ``p_c`` times this factor minus ``w_c * t_c``
        times the upstream gradient, so its rounding error is a few ulp of it.
        """
        mass = self._mass()
        upstream = np.abs(np.asarray(self.grad_output, dtype=np.float64))
        factor = mass * np.broadcast_to(upstream, mass.shape)
        if self.reduction == "mean" and mass.size:
            factor = factor / mass.size
        largest = float(np.max(factor)) if factor.size else 0.0
        return largest if largest > 0.0 else 1.0


def build_dense_problem(
    shape: tuple[int, ...],
    dtype: str,
    kind: str,
    reduction: str,
    weighted: bool,
    label_smoothing: float,
) -> DenseProblem:
    """Build seeded random logits, dense targets, weights and a grad_output."""
    key = f"{shape}-{dtype}-{kind}-{reduction}-{weighted}-{label_smoothing}"
    rng = np.random.default_rng(zlib.crc32(key.encode()))
    class_axis = 0 if len(shape) == 1 else 1
    classes = shape[class_axis]
    loss_shape = shape[:class_axis] + shape[class_axis + 1 :]

    logits = (rng.standard_normal(shape) * 3.0).astype(dtype)
    if kind == "normalized":
        scores = np.exp(rng.standard_normal(shape) * 2.0)
        targets = scores / np.sum(scores, axis=class_axis, keepdims=True)
    else:
        targets = rng.uniform(0.0, 2.0, shape)
        targets[rng.random(shape) < 0.2] = 0.0
    weight = rng.uniform(0.25, 2.0, classes).astype(dtype) if weighted else None
    if reduction == "none":
        grad_output: Any = rng.uniform(-2.0, 2.0, loss_shape).astype(dtype)
    else:
        grad_output = SCALAR_GRAD_OUTPUT
    return DenseProblem(
        logits=logits,
        targets=targets.astype(dtype),
        weight=weight,
        reduction=reduction,
        label_smoothing=label_smoothing,
        grad_output=grad_output,
    )


@pytest.fixture
def make_dense_problem() -> Callable[..., DenseProblem]:
    """The build_dense_problem function."""
    return build_dense_problem
