"""Run every JSON case under tests/data/cases against softmaxce.

Each case contains a small input with the value the mathematical definition gives
(tests/data/cases/README.md describes the schema). A case checks the loss and
the gradient for an upstream gradient of ones, or the exception class when the
input is invalid. The float64 oracle is checked against the same values, so a
case that fails for both points at the case, and one that fails only for
softmaxce points at the library.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import oracle
import pytest
import softmaxce

CASES_DIR = Path(__file__).resolve().parents[1] / "data" / "cases"

# The exception each `expected.error` value must raise: the softmaxce class and
# the built-in class that callers may catch instead.
ERROR_CLASSES: dict[str, tuple[str, type[Exception]]] = {
    "label_out_of_range": ("LabelOutOfRangeError", IndexError),
    "invalid_shape": ("InvalidArgumentError", ValueError),
    "invalid_argument": ("InvalidArgumentError", ValueError),
}


# ---- Loading ----------------------------------------------------------------


def load_cases() -> list[dict[str, Any]]:
    """Read every case file, sorted by name."""
    cases = []
    for path in sorted(CASES_DIR.glob("*.json")):
        with path.open(encoding="utf-8") as handle:
            case = json.load(handle)
        assert case["name"] == path.stem, f"{path.name} names itself {case['name']!r}"
        cases.append(case)
    return cases


def is_dense(case: dict[str, Any]) -> bool:
    """Return whether the case uses probability (dense) labels."""
    return case["api"] == "softmax_cross_entropy_with_logits" or (
        "label_dtype" not in case
    )


def case_params(cases: list[dict[str, Any]]) -> list[Any]:
    """Wrap each case in a pytest.param with its name as id and its marks."""
    params = []
    for case in cases:
        marks = []
        if case.get("generate", {}).get("large"):
            marks.append(pytest.mark.large)
        params.append(pytest.param(case, id=case["name"], marks=marks))
    return params


ALL_CASES = load_cases()


# ---- Building inputs and expected values -------------------------------------


def decode(value: Any) -> Any:
    """Replace the strings "inf", "-inf" and "nan" in nested lists by floats."""
    if isinstance(value, list):
        return [decode(item) for item in value]
    if isinstance(value, str):
        return float(value)
    return value


def generate_fill(spec: dict[str, Any], dtype: np.dtype) -> tuple[np.ndarray, None]:
    """Build logits of `spec["shape"]` with every element `spec["value"]`."""
    return np.full(spec["shape"], spec["value"], dtype=dtype), None


def generate_hash_uniform(
    spec: dict[str, Any], dtype: np.dtype
) -> tuple[np.ndarray, np.ndarray]:
    """Build pseudo-random logits from a multiplicative hash of the flat index.

    ``k = i*C + c; v = (k * multiplier) mod 2**32;
    logits[i, c] = (v >> shift) * scale + offset`` and
    ``labels[i] = (i * label_multiplier) mod C``.
    """
    rows, classes = spec["shape"]
    k = np.arange(rows * classes, dtype=np.uint64)
    v = (k * np.uint64(spec["multiplier"])) & np.uint64(0xFFFFFFFF)
    level = (v >> np.uint64(spec["shift"])).astype(np.float64)
    logits = (level * spec["scale"] + spec["offset"]).reshape(rows, classes)
    labels = (np.arange(rows, dtype=np.int64) * spec["label_multiplier"]) % classes
    return logits.astype(dtype), labels


def generate_periodic_two_class(
    spec: dict[str, Any], dtype: np.dtype
) -> tuple[np.ndarray, np.ndarray]:
    """Build two-class logits and labels that repeat with short periods.

    ``logits[i] = [0, step * (i mod logit_period)]`` and
    ``labels[i] = i mod label_period``.
    """
    i = np.arange(spec["n"], dtype=np.int64)
    logits = np.zeros((spec["n"], 2), dtype=np.float64)
    logits[:, 1] = spec["step"] * (i % spec["logit_period"])
    labels = i % spec["label_period"]
    return logits.astype(dtype), labels


GENERATORS: dict[str, Callable[..., tuple[np.ndarray, np.ndarray | None]]] = {
    "fill": generate_fill,
    "hash_uniform": generate_hash_uniform,
    "periodic_two_class": generate_periodic_two_class,
}


def build_inputs(case: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """Return the case's logits and labels as arrays of the case dtypes."""
    dtype = np.dtype(case["dtype"])
    generated_labels = None
    if "generate" in case:
        kind = case["generate"]["kind"]
        # NOTE: the schema also names a "strided_view" kind, but no case uses
        # it yet, so it has no builder and a case using it fails here.
        assert kind in GENERATORS, f"no builder for generate kind {kind!r}"
        logits, generated_labels = GENERATORS[kind](case["generate"], dtype)
    else:
        logits = np.array(decode(case["logits"]), dtype=dtype)

    label_dtype = np.dtype(case.get("label_dtype", case["dtype"]))
    if "labels" in case:
        labels = np.array(decode(case["labels"]), dtype=label_dtype)
    else:
        assert generated_labels is not None, "case has neither labels nor a generator"
        labels = generated_labels.astype(label_dtype)
    return logits, labels


def build_expected_grad(
    spec: Any, logits: np.ndarray, labels: np.ndarray
) -> np.ndarray:
    """Build the expected gradient from a nested list or a formula object."""
    if isinstance(spec, list):
        return np.array(decode(spec), dtype=np.float64).reshape(logits.shape)

    kind = spec["kind"]
    if kind == "fill":
        return np.full(logits.shape, spec["value"], dtype=np.float64)
    if kind == "onehot_rows":
        grad = np.full(logits.shape, spec["off_target"], dtype=np.float64)
        grad[np.arange(len(labels)), labels] = spec["on_target"]
        return grad
    if kind == "periodic_rows":
        rows = np.array(spec["rows"], dtype=np.float64)
        return rows[np.arange(logits.shape[0]) % spec["period"]]
    if kind == "softmax_minus_onehot":
        row_lse = np.array(spec["row_lse"], dtype=np.float64)
        grad = np.exp(logits.astype(np.float64) - row_lse[:, None])
        grad[np.arange(len(labels)), labels] -= 1.0
        return spec["scale"] * grad
    raise AssertionError(f"no builder for expected grad kind {kind!r}")


def build_expected_loss(case: dict[str, Any]) -> np.ndarray:
    """Return the expected loss as a float64 array (0-d for a scalar)."""
    return np.array(decode(case["expected"]["loss"]), dtype=np.float64)


# ---- Calling softmaxce -------------------------------------------------------


def cross_entropy_kwargs(case: dict[str, Any]) -> dict[str, Any]:
    """Map the case options onto keyword arguments of cross_entropy."""
    options = case.get("options", {})
    kwargs: dict[str, Any] = {}
    for key in ("reduction", "ignore_index", "label_smoothing"):
        if key in options:
            kwargs[key] = options[key]
    if "weight" in options:
        kwargs["weight"] = np.array(options["weight"], dtype=case["dtype"])
    return kwargs


def ones_like_loss(case: dict[str, Any], labels: np.ndarray) -> Any:
    """Return the upstream gradient of ones matching the loss shape."""
    if case.get("options", {}).get("reduction", "mean") == "none":
        return np.ones(labels.shape, dtype=case["dtype"])
    return 1.0


def compute(
    case: dict[str, Any], logits: np.ndarray, labels: np.ndarray
) -> tuple[Any, Any]:
    """Return softmaxce's (loss, grad) for the case's API and options."""
    api = case["api"]
    if api == "cross_entropy":
        kwargs = cross_entropy_kwargs(case)
        loss = softmaxce.cross_entropy(logits, labels, **kwargs)
        grad = softmaxce.cross_entropy_backward(
            logits, labels, grad_output=ones_like_loss(case, labels), **kwargs
        )
        return loss, grad

    if api == "sparse_softmax_cross_entropy_with_logits":
        loss = softmaxce.sparse_softmax_cross_entropy_with_logits(
            labels=labels, logits=logits
        )
        # The per-example gradient for upstream ones is the unreduced torch-style
        # gradient once the class axis (last here) is flattened to (P, C).
        classes = logits.shape[-1]
        grad = softmaxce.cross_entropy_backward(
            logits.reshape(-1, classes),
            labels.reshape(-1),
            grad_output=np.ones(labels.size, dtype=logits.dtype),
            reduction="none",
        )
        return loss, np.asarray(grad).reshape(logits.shape)

    if api == "softmax_cross_entropy_with_logits":
        axis = case.get("options", {}).get("axis", -1)
        loss = softmaxce.softmax_cross_entropy_with_logits(
            labels=labels, logits=logits, axis=axis
        )
        assert logits.ndim == 2, "only 2-D dense cases exist"
        assert axis in (-1, 1), "only dense cases with classes last exist"
        grad = softmaxce.cross_entropy_backward(
            logits,
            labels,
            grad_output=np.ones(logits.shape[0], dtype=logits.dtype),
            reduction="none",
        )
        return loss, grad

    raise AssertionError(f"unknown api {api!r}")


def call_each_entry_point(
    case: dict[str, Any], logits: np.ndarray, labels: np.ndarray
) -> list[Callable[[], Any]]:
    """Return zero-argument calls of every entry point the case's API has."""
    api = case["api"]
    if api == "cross_entropy":
        kwargs = cross_entropy_kwargs(case)
        return [
            lambda: softmaxce.cross_entropy(logits, labels, **kwargs),
            lambda: softmaxce.cross_entropy_backward(logits, labels, **kwargs),
            lambda: softmaxce.cross_entropy_with_grad(logits, labels, **kwargs),
        ]
    if api == "sparse_softmax_cross_entropy_with_logits":
        return [
            lambda: softmaxce.sparse_softmax_cross_entropy_with_logits(
                labels=labels, logits=logits
            )
        ]
    return [
        lambda: softmaxce.softmax_cross_entropy_with_logits(
            labels=labels, logits=logits
        )
    ]


# ---- Tests ----------------------------------------------------------------------


@pytest.mark.parametrize("case", case_params(ALL_CASES))
def test_case(case: dict[str, Any]) -> None:
    logits, labels = build_inputs(case)
    expected = case["expected"]

    if "error" in expected:
        class_name, builtin = ERROR_CLASSES[expected["error"]]
        error_class = getattr(softmaxce, class_name)
        assert issubclass(error_class, builtin)
        assert issubclass(error_class, softmaxce.SoftmaxCEError)
        for call in call_each_entry_point(case, logits, labels):
            with pytest.raises(error_class):
                call()
        return

    loss, grad = compute(case, logits, labels)
    want_loss = build_expected_loss(case)
    want_grad = build_expected_grad(expected["grad"], logits, labels)

    assert np.asarray(loss).dtype == logits.dtype
    oracle.assert_close(loss, want_loss, case["rtol"], case["atol"])
    assert np.asarray(grad).dtype == logits.dtype
    oracle.assert_close(grad, want_grad, case["rtol"], case["atol"])


def run_oracle(
    case: dict[str, Any], logits: np.ndarray, labels: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Return the oracle's (loss, grad) for the case, upstream gradient ones."""
    options = case.get("options", {})
    api = case["api"]
    if api == "sparse_softmax_cross_entropy_with_logits":
        return oracle.sparse_softmax_cross_entropy_with_logits(labels, logits)
    if api == "softmax_cross_entropy_with_logits":
        loss, grad, _ = oracle.softmax_cross_entropy_with_logits(
            labels, logits, axis=options.get("axis", -1)
        )
        return loss, grad

    reduction = options.get("reduction", "mean")
    if is_dense(case):
        return oracle.cross_entropy_probabilities(
            logits,
            labels,
            weight=options.get("weight"),
            reduction=reduction,
            label_smoothing=options.get("label_smoothing", 0.0),
        )
    upstream = np.ones(labels.shape) if reduction == "none" else 1.0
    return oracle.cross_entropy(
        logits,
        labels,
        weight=options.get("weight"),
        ignore_index=options.get("ignore_index", -100),
        reduction=reduction,
        label_smoothing=options.get("label_smoothing", 0.0),
        grad_output=upstream,
    )


@pytest.mark.parametrize("case", case_params(ALL_CASES))
def test_oracle_matches_case(case: dict[str, Any]) -> None:
    """Check the float64 oracle itself against the independently computed cases."""
    logits, labels = build_inputs(case)
    expected = case["expected"]

    if "error" in expected:
        # A class axis of length 0 is a ValueError; a bad label an IndexError.
        builtin = ERROR_CLASSES[expected["error"]][1]
        with pytest.raises(builtin):
            run_oracle(case, logits, labels)
        return

    loss, grad = run_oracle(case, logits, labels)
    oracle.assert_close(loss, build_expected_loss(case), case["rtol"], case["atol"])
    want_grad = build_expected_grad(expected["grad"], logits, labels)
    oracle.assert_close(grad, want_grad, case["rtol"], case["atol"])
