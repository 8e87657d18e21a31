"""Hostile input through the Python interface: clear errors, untouched buffers.

Three layers are covered:

* The public functions. Each bad input raises the documented exception class
  with a message naming the argument, the offending value and what is valid,
  and leaves every input array bit for bit as it was. The public functions
  take no output arrays, so there is nothing else a call could overwrite.
* The ctypes binding (``softmaxce._lib``), called the way the public
  functions call it but with caller-made output buffers. All buffers of a call
  live in one byte arena filled with a sentinel byte; a rejected call must
  leave every byte of the arena unchanged. This reaches what the public
  functions never pass: NULL pointers, negative lengths, shapes whose size
  overflows int64, overlapping and in-place buffers.
* Valid but unusual input: ignore_index >= C, float16, Fortran-ordered,
  strided, byte-swapped and read-only arrays, empty batches. Layout variants
  must give the bits of the contiguous result.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np
import pytest
import softmaxce
from oracle import assert_bitwise_equal
from softmaxce import _lib

RNG_SEED = 20240611
N, C = 4, 5


def fresh_inputs() -> dict[str, np.ndarray]:
    """Return new float32 logits (N, C), int64 labels, weights and probabilities."""
    rng = np.random.default_rng(RNG_SEED)
    logits = rng.standard_normal((N, C)).astype(np.float32)
    probabilities = rng.dirichlet(np.ones(C), size=N).astype(np.float32)
    return {
        "logits": logits,
        "labels": np.array([0, 4, 2, 1], dtype=np.int64),
        "weight": np.array([1.0, 2.0, 0.5, 1.0, 0.25], dtype=np.float32),
        "probabilities": probabilities,
        "logits3d": rng.standard_normal((2, C, 3)).astype(np.float32),
        "labels2d": np.array([[0, 1, 2], [3, 4, 0]], dtype=np.int64),
    }


# ---- Public functions ----------------------------------------------------------

Call = tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]


@dataclass(frozen=True)
class Hostile:
    """One bad input: how to call, the exception class and the message words."""

    id: str
    build: Callable[[dict[str, np.ndarray]], Call]
    error: type[Exception]
    words: tuple[str, ...] = field(default=())


def ce(**kwargs: Any) -> Callable[[dict[str, np.ndarray]], Call]:
    """Build a cross_entropy_with_grad call on the default inputs with changes.

    Each keyword replaces an argument; a callable value receives the inputs
    and returns the argument.
    """

    def build(inputs: dict[str, np.ndarray]) -> Call:
        args = {"input": inputs["logits"], "target": inputs["labels"]}
        for key, value in kwargs.items():
            args[key] = value(inputs) if callable(value) else value
        return softmaxce.cross_entropy_with_grad, (), args

    return build


def call(
    func: Callable[..., Any], *args: Any, **kwargs: Any
) -> Callable[[dict[str, np.ndarray]], Call]:
    """Build a call of `func`; callable arguments receive the inputs."""

    def build(inputs: dict[str, np.ndarray]) -> Call:
        resolved = tuple(a(inputs) if callable(a) else a for a in args)
        resolved_kwargs = {
            k: v(inputs) if callable(v) else v for k, v in kwargs.items()
        }
        return func, resolved, resolved_kwargs

    return build


def logits(i: dict[str, np.ndarray]) -> np.ndarray:
    return i["logits"]


def labels_with(position: int, value: int, dtype: Any = np.int64) -> Callable:
    """Return a builder of the default labels with one value replaced."""

    def build(i: dict[str, np.ndarray]) -> np.ndarray:
        labels = i["labels"].astype(dtype)
        labels[position] = value
        return labels

    return build


def weight_with(position: int, value: float) -> Callable:
    def build(i: dict[str, np.ndarray]) -> np.ndarray:
        weight = i["weight"].copy()
        weight[position] = value
        return weight

    return build


LabelError = softmaxce.LabelOutOfRangeError
ArgumentError = softmaxce.InvalidArgumentError
ShapeError = softmaxce.InvalidShapeError
DtypeError = softmaxce.InvalidDtypeError
sparse_tf = softmaxce.sparse_softmax_cross_entropy_with_logits
dense_tf = softmaxce.softmax_cross_entropy_with_logits

# fmt: off
HOSTILE = [
    # Labels: always an error outside [0, C), never a wrap to another class.
    Hostile("label-equal-to-C", ce(target=labels_with(1, C)), LabelError,
            ("target", "label value 5", "position 1", "[0, 5)")),
    Hostile("label-far-above-C", ce(target=labels_with(3, 1000)), LabelError,
            ("target", "1000", "position 3", "[0, 5)")),
    Hostile("label-minus-one", ce(target=labels_with(0, -1)), LabelError,
            ("target", "-1", "position 0", "[0, 5)")),
    Hostile("label-int64-2pow32-plus-1", ce(target=labels_with(2, 2**32 + 1)),
            LabelError, ("target", "4294967297", "[0, 5)")),
    Hostile("label-int64-min", ce(target=labels_with(2, -(2**63))), LabelError,
            ("target", "-9223372036854775808", "[0, 5)")),
    Hostile("label-int32-max", ce(target=labels_with(1, 2**31 - 1, np.int32)),
            LabelError, ("target", "2147483647", "[0, 5)")),
    Hostile("label-uint64-max",
            ce(target=labels_with(1, 2**64 - 1, np.uint64)), LabelError,
            ("target", "18446744073709551615", "position (1,)")),
    Hostile("label-default-ignore-with-other-index",
            ce(target=labels_with(0, -100), ignore_index=-1), LabelError,
            ("-100", "ignore index -1")),
    Hostile("label-in-k-dim-target",
            ce(input=lambda i: i["logits3d"],
               target=lambda i: np.array([[0, 1, 2], [3, 9, 0]])),
            LabelError, ("target", "9", "position 4", "row-major")),
    Hostile("sparse-tf-label-equal-to-C",
            call(sparse_tf, labels_with(0, C), logits), LabelError,
            ("labels", "label value 5", "[0, 5)")),
    Hostile("sparse-tf-label-negative",
            call(sparse_tf, labels_with(3, -7), logits), LabelError,
            ("labels", "-7", "position 3")),
    # Class weights.
    Hostile("weight-nan", ce(weight=weight_with(2, np.nan)), ArgumentError,
            ("weight[2]", "NaN", ">= 0")),
    Hostile("weight-plus-inf", ce(weight=weight_with(0, np.inf)), ArgumentError,
            ("weight[0]", "+Inf", "finite")),
    Hostile("weight-negative", ce(weight=weight_with(4, -0.5)), ArgumentError,
            ("weight[4]", "-0.5", ">= 0")),
    Hostile("weight-one-too-many", ce(weight=np.ones(C + 1, np.float32)),
            ShapeError, ("weight", "6", "5")),
    Hostile("weight-2d", ce(weight=np.ones((1, C), np.float32)), ShapeError,
            ("weight", "(1, 5)", "1-D")),
    Hostile("weight-complex", ce(weight=np.ones(C, complex)), DtypeError,
            ("weight", "complex128")),
    Hostile("weight-bool", ce(weight=np.ones(C, bool)), DtypeError,
            ("weight", "bool")),
    # Options.
    Hostile("label-smoothing-nan", ce(label_smoothing=float("nan")), ArgumentError,
            ("label_smoothing", "NaN", "[0, 1]")),
    Hostile("label-smoothing-negative", ce(label_smoothing=-0.1), ArgumentError,
            ("label_smoothing", "-0.1", "[0, 1]")),
    Hostile("label-smoothing-above-one", ce(label_smoothing=1.5), ArgumentError,
            ("label_smoothing", "1.5", "[0, 1]")),
    Hostile("label-smoothing-string", ce(label_smoothing="0.1"), DtypeError,
            ("label_smoothing", "'0.1'", "real number")),
    Hostile("z-loss-negative", ce(z_loss=-1.0), ArgumentError,
            ("z_loss", "-1", ">= 0")),
    Hostile("reduction-unknown", ce(reduction="avg"), ArgumentError,
            ("reduction", "'avg'", "'mean'")),
    Hostile("reduction-upper-case", ce(reduction="MEAN"), ArgumentError,
            ("reduction", "'MEAN'", "'mean'")),
    Hostile("reduction-none-object", ce(reduction=None), ArgumentError,
            ("reduction", "None")),
    Hostile("ignore-index-beyond-int64", ce(ignore_index=2**63), ArgumentError,
            ("ignore_index", "9223372036854775808", "64-bit")),
    Hostile("ignore-index-float", ce(ignore_index=1.5), DtypeError,
            ("ignore_index", "1.5", "integer")),
    # Shapes.
    Hostile("target-one-row-short", ce(target=lambda i: i["labels"][:-1]),
            ShapeError, ("target", "(4,)", "(3,)")),
    Hostile("target-k-dim-mismatch",
            ce(input=lambda i: i["logits3d"], target=lambda i: i["labels2d"][:, :2]),
            ShapeError, ("target", "(2, 3)", "(2, 2)")),
    Hostile("target-0d-for-2d-input", ce(target=1), ShapeError,
            ("target", "(4,)", "()")),
    Hostile("input-0d", ce(input=np.float32(1.0), target=0), ShapeError,
            ("input", "0-d")),
    Hostile("classes-zero",
            ce(input=np.zeros((N, 0), np.float32)), ShapeError,
            ("classes 0", ">= 1")),
    Hostile("probabilities-shape-mismatch",
            call(dense_tf, lambda i: i["probabilities"][:, :4], logits), ShapeError,
            ("labels", "(4, 5)", "(4, 4)")),
    Hostile("probabilities-ignore-index-class",
            ce(target=lambda i: i["probabilities"], ignore_index=1), ArgumentError,
            ("ignore_index 1", "probabilities")),
    Hostile("grad-output-shape", ce(reduction="none", grad_output=np.ones(N + 1)),
            ShapeError, ("grad_output", "(5,)", "(4,)")),
    Hostile("grad-output-not-scalar-for-mean", ce(grad_output=np.ones(2)),
            ShapeError, ("grad_output", "scalar", "(2,)")),
    Hostile("sparse-tf-rank", call(sparse_tf, lambda i: i["labels"][None], logits),
            ShapeError, ("labels", "rank", "(1, 4)")),
    Hostile("softmax-backward-shape",
            call(softmaxce.softmax_backward, logits, lambda i: i["logits"][:2]),
            ShapeError, ("dy", "(4, 5)", "(2, 5)")),
    Hostile("ragged-input", ce(input=[[1.0, 2.0], [3.0]], target=[0, 1]), ShapeError,
            ("input", "inhomogeneous")),
    Hostile("ragged-target", ce(target=[[0], [1, 2]]), ShapeError,
            ("target", "inhomogeneous")),
    # Dtypes: only float16/32/64 logits, integer labels.
    Hostile("logits-int", ce(input=lambda i: i["logits"].astype(np.int64)),
            DtypeError, ("input", "int64", "float32")),
    Hostile("logits-bool", ce(input=lambda i: i["logits"] > 0), DtypeError,
            ("input", "bool")),
    Hostile("logits-object", ce(input=lambda i: i["logits"].astype(object)),
            DtypeError, ("input", "object")),
    Hostile("logits-complex", ce(input=lambda i: i["logits"].astype(complex)),
            DtypeError, ("input", "complex128")),
    Hostile("logits-longdouble", ce(input=lambda i: i["logits"].astype(np.longdouble)),
            DtypeError, ("input", "float128")),
    Hostile("logits-string", ce(input="logits"), DtypeError, ("input", "str")),
    Hostile("labels-float", ce(target=lambda i: i["labels"].astype(np.float32)),
            DtypeError, ("target", "float32", "integer")),
    Hostile("labels-bool", ce(target=lambda i: i["labels"] > 1), DtypeError,
            ("target", "bool")),
    Hostile("labels-object", ce(target=lambda i: i["labels"].astype(object)),
            DtypeError, ("target", "object")),
    Hostile("probabilities-complex",
            ce(target=lambda i: i["probabilities"].astype(complex)), DtypeError,
            ("target", "complex128")),
    Hostile("grad-output-complex", ce(grad_output=1j), DtypeError,
            ("grad_output", "complex")),
    Hostile("sparse-tf-labels-float",
            call(sparse_tf, lambda i: i["labels"].astype(float), logits), DtypeError,
            ("labels", "float64")),
    Hostile("softmax-int", call(softmaxce.softmax, np.arange(6).reshape(2, 3)),
            DtypeError, ("x", "int64")),
    Hostile("log-softmax-complex",
            call(softmaxce.log_softmax, lambda i: i["logits"].astype(complex)),
            DtypeError, ("x", "complex128")),
    Hostile("softmax-0d", call(softmaxce.softmax, np.float64(1.0)), ShapeError,
            ("x", "0-d")),
    # Axes.
    Hostile("softmax-axis-2pow63", call(softmaxce.softmax, logits, axis=2**63),
            ArgumentError, ("axis", "9223372036854775808", "-2 to 1")),
    Hostile("softmax-axis-huge-negative",
            call(softmaxce.log_softmax, logits, axis=-(10**30)), ArgumentError,
            ("axis", str(-(10**30)), "-2 to 1")),
    Hostile("softmax-axis-float", call(softmaxce.softmax, logits, axis=1.0),
            DtypeError, ("axis", "1.0", "integer")),
    Hostile("dense-tf-axis-2pow70",
            call(dense_tf, lambda i: i["probabilities"], logits, axis=2**70),
            ArgumentError, ("axis", str(2**70))),
]
# fmt: on


def test_hostile_table_size() -> None:
    assert len(HOSTILE) >= 40


@pytest.mark.parametrize("case", HOSTILE, ids=[case.id for case in HOSTILE])
def test_hostile_input_rejected(case: Hostile) -> None:
    inputs = fresh_inputs()
    func, args, kwargs = case.build(inputs)
    arrays = [v for v in (*args, *kwargs.values()) if isinstance(v, np.ndarray)]
    copies = [a.copy() for a in arrays]

    with pytest.raises(case.error) as excinfo:
        func(*args, **kwargs)

    assert isinstance(excinfo.value, softmaxce.SoftmaxCEError)
    message = str(excinfo.value)
    for word in case.words:
        assert word in message, f"message {message!r} lacks {word!r}"
    for array, copy in zip(arrays, copies):
        assert array.tobytes() == copy.tobytes(), "a rejected call changed an input"


@pytest.mark.parametrize(
    "name",
    ["cross_entropy", "cross_entropy_backward", "cross_entropy_with_grad"],
)
@pytest.mark.parametrize("bad", [C, -1, 2**32 + 1])
def test_every_torch_entry_point_rejects(name: str, bad: int) -> None:
    inputs = fresh_inputs()
    labels = inputs["labels"].copy()
    labels[2] = bad
    with pytest.raises(softmaxce.LabelOutOfRangeError, match=f"label value {bad} "):
        getattr(softmaxce, name)(inputs["logits"], labels)


# ---- Output arrays of the public functions ------------------------------------


def sentinel(shape: tuple[int, ...], dtype: Any = np.float32) -> np.ndarray:
    """Return a writable array filled with a NaN whose bits no result has."""
    bits = {2: 0x7E5C, 4: 0x7FC05CE1, 8: 0x7FF800005CE15CE1}[np.dtype(dtype).itemsize]
    unsigned = {2: np.uint16, 4: np.uint32, 8: np.uint64}[np.dtype(dtype).itemsize]
    return np.full(shape, bits, dtype=unsigned).view(dtype)


def read_only(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False
    return array


def shared_labels(i: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Return int32 labels and a float32 (N, C) array over the same memory."""
    memory = sentinel((N * C,))
    labels = memory[:N].view(np.int32)
    labels[:] = i["labels"]
    return labels, memory.reshape(N, C)


def shared_weight(i: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Return class weights and a float32 (N, C) array over the same memory."""
    memory = sentinel((N * C,))
    memory[:C] = i["weight"]
    return memory[:C], memory.reshape(N, C)


def shifted_logits(i: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Return the logits and an (N, C) array starting one element into them."""
    memory = sentinel((N * C + 1,))
    memory[: N * C] = i["logits"].ravel()
    return memory[: N * C].reshape(N, C), memory[1:].reshape(N, C)


def with_outputs(**kwargs: Any) -> Callable[[dict[str, np.ndarray]], Call]:
    """Build a cross_entropy_with_grad call with output arrays.

    A callable value receives the inputs; one that returns a pair stands for
    two arguments sharing memory, named by the key "first__second".
    """

    def build(inputs: dict[str, np.ndarray]) -> Call:
        args: dict[str, Any] = {"input": inputs["logits"], "target": inputs["labels"]}
        for key, value in kwargs.items():
            resolved = value(inputs) if callable(value) else value
            if "__" in key:
                first, second = key.split("__")
                args[first], args[second] = resolved
            else:
                args[key] = resolved
        return softmaxce.cross_entropy_with_grad, (), args

    return build


LOSS_SHAPE, GRAD_SHAPE = (N,), (N, C)

# fmt: off
OUTPUT_HOSTILE = [
    Hostile("out-read-only",
            with_outputs(reduction="none", out=read_only(sentinel(LOSS_SHAPE))),
            ArgumentError, ("out", "read-only")),
    Hostile("grad-out-read-only",
            with_outputs(grad_out=read_only(sentinel(GRAD_SHAPE))),
            ArgumentError, ("grad_out", "read-only")),
    Hostile("out-wrong-shape",
            with_outputs(reduction="none", out=sentinel((N + 1,))), ShapeError,
            ("out", "(4,)", "(5,)")),
    Hostile("out-wrong-dtype",
            with_outputs(reduction="none", out=sentinel(LOSS_SHAPE, np.float64)),
            DtypeError, ("out", "float32", "float64")),
    Hostile("grad-out-fortran",
            with_outputs(grad_out=np.asfortranarray(sentinel(GRAD_SHAPE))),
            ArgumentError, ("grad_out", "C-contiguous")),
    Hostile("grad-out-strided",
            with_outputs(grad_out=sentinel((N, 2 * C))[:, ::2]), ArgumentError,
            ("grad_out", "C-contiguous")),
    Hostile("grad-out-list", with_outputs(grad_out=[[0.0] * C] * N), DtypeError,
            ("grad_out", "list")),
    Hostile("out-for-mean", with_outputs(out=sentinel(LOSS_SHAPE)), ArgumentError,
            ("out", "'mean'", "'none'")),
    Hostile("grad-out-overlaps-target", with_outputs(target__grad_out=shared_labels),
            ArgumentError, ("grad_out", "target")),
    Hostile("grad-out-overlaps-weight", with_outputs(weight__grad_out=shared_weight),
            ArgumentError, ("grad_out", "weight")),
    Hostile("grad-out-one-element-into-input",
            with_outputs(input__grad_out=shifted_logits), ArgumentError,
            ("grad_out", "partially overlaps input")),
    Hostile("out-inside-input",
            with_outputs(reduction="none",
                         input__out=lambda i: (i["logits"], i["logits"].ravel()[:N])),
            ArgumentError, ("out", "input")),
    Hostile("out-inside-grad-out",
            with_outputs(reduction="none",
                         grad_out__out=lambda i: (g := sentinel(GRAD_SHAPE),
                                                  g.ravel()[:N])),
            ArgumentError, ("out", "grad_out")),
    Hostile("label-error-with-outputs",
            with_outputs(reduction="none", target=labels_with(1, C),
                         out=sentinel(LOSS_SHAPE), grad_out=sentinel(GRAD_SHAPE)),
            LabelError, ("target", "label value 5")),
    Hostile("label-error-with-float16-outputs",
            with_outputs(reduction="none", target=labels_with(2, -1),
                         input=lambda i: i["logits"].astype(np.float16),
                         out=sentinel(LOSS_SHAPE, np.float16),
                         grad_out=sentinel(GRAD_SHAPE, np.float16)),
            LabelError, ("target", "-1")),
    Hostile("weight-error-with-in-place-gradient",
            with_outputs(weight=weight_with(0, np.nan),
                         input__grad_out=lambda i: (i["logits"], i["logits"])),
            ArgumentError, ("weight[0]", "NaN")),
    Hostile("sparse-tf-label-error-with-out",
            call(sparse_tf, labels_with(1, 9), logits, out=sentinel(LOSS_SHAPE)),
            LabelError, ("labels", "9")),
    Hostile("softmax-out-wrong-shape",
            call(softmaxce.softmax, logits, out=sentinel((C, N))), ShapeError,
            ("out", "(4, 5)")),
]
# fmt: on


@pytest.mark.parametrize("case", OUTPUT_HOSTILE, ids=[c.id for c in OUTPUT_HOSTILE])
def test_output_arrays_rejected_untouched(case: Hostile) -> None:
    """A rejected call leaves its output arrays and its inputs bit for bit."""
    inputs = fresh_inputs()
    func, args, kwargs = case.build(inputs)
    arrays = [v for v in (*args, *kwargs.values()) if isinstance(v, np.ndarray)]
    before = [a.tobytes() for a in arrays]

    with pytest.raises(case.error) as excinfo:
        func(*args, **kwargs)

    message = str(excinfo.value)
    for word in case.words:
        assert word in message, f"message {message!r} lacks {word!r}"
    for array, bits in zip(arrays, before):
        assert array.tobytes() == bits, "a rejected call changed an argument"


@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_in_place_gradient_equals_separate(reduction: str, dtype: Any) -> None:
    """grad_out=input overwrites the logits with the bits of a separate gradient."""
    inputs = fresh_inputs()
    x = inputs["logits"].astype(dtype)
    options = {"weight": inputs["weight"], "reduction": reduction}
    want_loss, want_grad = softmaxce.cross_entropy_with_grad(
        x, inputs["labels"], **options
    )
    loss, grad = softmaxce.cross_entropy_with_grad(
        x, inputs["labels"], grad_out=x, **options
    )
    assert grad is x
    assert_bitwise_equal(x, want_grad)
    assert_bitwise_equal(np.asarray(loss), np.asarray(want_loss))


# ---- The binding, with caller-made output buffers --------------------------------

ARENA_BYTES = 4096
SENTINEL_BYTE = 0xA5
# Byte offsets of the buffers in the arena, 128 bytes or more apart.
OFFSETS = {
    "logits": 64,
    "labels": 448,
    "weight": 832,
    "grad_output": 1024,
    "loss": 1216,
    "grad": 1408,
    "grad_labels": 1792,
}


class Arena:
    """One sentinel-filled byte buffer holding every buffer of a call."""

    def __init__(self) -> None:
        self.bytes = np.full(ARENA_BYTES, SENTINEL_BYTE, dtype=np.uint8)

    def view(self, name: str, dtype: Any, count: int, shift: int = 0) -> np.ndarray:
        """Return `count` elements of `dtype` at the offset of `name` plus `shift`."""
        start = OFFSETS[name] + shift
        stop = start + count * np.dtype(dtype).itemsize
        return self.bytes[start:stop].view(dtype)

    def address(self, name: str, shift: int = 0) -> int:
        return self.bytes.ctypes.data + OFFSETS[name] + shift


@dataclass
class RawCall:
    """Arguments of one library call, as the public functions build them."""

    arena: Arena
    dtype: Any = np.float32
    label_dtype: Any = np.int64
    outer: int = N
    classes: int = C
    inner: int = 1
    options: _lib.SceOptions = field(
        default_factory=lambda: _lib.make_options(_lib.SCE_REDUCTION_MEAN, -100, 0.0)
    )
    pointers: dict[str, int | None] = field(default_factory=dict)
    lengths: dict[str, int] = field(default_factory=dict)
    dtype_code: int | None = None
    label_dtype_code: int | None = None

    def code(self) -> int:
        if self.dtype_code is not None:
            return self.dtype_code
        return _lib.SCE_FLOAT64 if self.dtype == np.float64 else _lib.SCE_FLOAT32

    def label_code(self) -> int:
        if self.label_dtype_code is not None:
            return self.label_dtype_code
        return _lib.SCE_INT32 if self.label_dtype == np.int32 else _lib.SCE_INT64

    def arg(self, name: str) -> tuple[int | None, int]:
        return self.pointers[name], self.lengths[name]

    def sparse(self) -> None:
        _lib.sparse_cross_entropy(
            self.code(), self.label_code(), self.outer, self.classes, self.inner,
            *self.arg("logits"), *self.arg("labels"), *self.arg("weight"),
            *self.arg("grad_output"), ctypes.byref(self.options),
            *self.arg("loss"), *self.arg("grad"),
        )  # fmt: skip

    def dense(self) -> None:
        _lib.dense_cross_entropy(
            self.code(), self.outer, self.classes, self.inner,
            *self.arg("logits"), *self.arg("labels"), *self.arg("weight"),
            *self.arg("grad_output"), ctypes.byref(self.options),
            *self.arg("loss"), *self.arg("grad"), *self.arg("grad_labels"),
        )  # fmt: skip

    def softmax(self) -> None:
        _lib.softmax(
            self.code(), self.outer, self.classes, self.inner,
            *self.arg("logits"), *self.arg("grad"),
        )  # fmt: skip

    def softmax_backward(self) -> None:
        _lib.softmax_backward(
            self.code(), self.outer, self.classes, self.inner,
            *self.arg("logits"), *self.arg("grad_output"), *self.arg("grad"),
        )  # fmt: skip


def raw_call(dtype: Any = np.float32, dense: bool = False) -> RawCall:
    """Return a valid (N, C) call: mean, class weights, loss and gradient."""
    arena = Arena()
    inputs = fresh_inputs()
    raw = RawCall(arena, dtype=dtype)
    arena.view("logits", dtype, N * C)[:] = inputs["logits"].ravel()
    arena.view("weight", dtype, C)[:] = inputs["weight"]
    if dense:
        arena.view("labels", dtype, N * C)[:] = inputs["probabilities"].ravel()
        raw.options = _lib.make_options(
            _lib.SCE_REDUCTION_MEAN, None, 0.0, _lib.SCE_MEAN_BY_POSITIONS
        )
    else:
        arena.view("labels", np.int64, N)[:] = inputs["labels"]
    # dy of the softmax backward calls: N * C values.
    arena.view("grad_output", dtype, N * C)[:] = inputs["probabilities"].ravel()
    lengths = {
        "logits": N * C,
        "labels": N * C if dense else N,
        "weight": C,
        "grad_output": 0,
        "loss": 1,
        "grad": N * C,
        "grad_labels": N * C if dense else 0,
    }
    raw.lengths = lengths
    raw.pointers = {name: arena.address(name) for name in OFFSETS}
    raw.pointers["grad_output"] = None
    return raw


def set_ptr(name: str, pointer: Callable[[RawCall], int | None]) -> Callable:
    def change(raw: RawCall) -> None:
        raw.pointers[name] = pointer(raw)

    return change


def set_len(name: str, length: int) -> Callable:
    def change(raw: RawCall) -> None:
        raw.lengths[name] = length

    return change


def set_attr(**values: Any) -> Callable:
    def change(raw: RawCall) -> None:
        for key, value in values.items():
            setattr(raw, key, value)

    return change


def set_option(**values: Any) -> Callable:
    def change(raw: RawCall) -> None:
        for key, value in values.items():
            setattr(raw.options, key, value)

    return change


def set_label(position: int, value: int) -> Callable:
    def change(raw: RawCall) -> None:
        raw.arena.view("labels", np.int64, N)[position] = value

    return change


def chain(*changes: Callable) -> Callable:
    def change(raw: RawCall) -> None:
        for c in changes:
            c(raw)

    return change


def at(name: str, shift: int = 0) -> Callable[[RawCall], int]:
    return lambda raw: raw.arena.address(name, shift)


# fmt: off
RAW_SPARSE = [
    ("logits-null", set_ptr("logits", lambda r: None), ArgumentError,
     ("logits is NULL", "logits_len is 20")),
    ("labels-null", set_ptr("labels", lambda r: None), ArgumentError,
     ("labels is NULL",)),
    ("weight-null-with-length", set_ptr("weight", lambda r: None), ArgumentError,
     ("weight is NULL", "5")),
    ("grad-output-null-with-length", set_len("grad_output", 1), ArgumentError,
     ("grad_output is NULL",)),
    ("loss-null-with-length", set_ptr("loss", lambda r: None), ArgumentError,
     ("loss is NULL",)),
    ("grad-null-with-length", set_ptr("grad", lambda r: None), ArgumentError,
     ("grad is NULL",)),
    ("logits-len-negative", set_len("logits", -1), ShapeError, ("logits_len -1",)),
    ("labels-len-int64-min", set_len("labels", -(2**63)), ShapeError,
     ("labels_len -9223372036854775808",)),
    ("grad-len-int64-max", set_len("grad", 2**63 - 1), ShapeError,
     ("grad_len 9223372036854775807", "outside")),
    ("outer-times-classes-overflows", set_attr(outer=2**62), ShapeError,
     ("4611686018427387904", "overflows")),
    ("classes-int64-max", set_attr(classes=2**63 - 1), ShapeError, ("overflows",)),
    ("outer-negative", set_attr(outer=-4), ShapeError, ("outer -4", ">= 0")),
    ("classes-negative", set_attr(classes=-5), ShapeError, ("classes -5", ">= 1")),
    ("label-2pow32-plus-1", set_label(1, 2**32 + 1), LabelError,
     ("4294967297", "[0, 5)")),
    ("grad-overlaps-labels", set_ptr("grad", at("labels")), ArgumentError,
     ("grad overlaps labels",)),
    ("grad-overlaps-weight", set_ptr("grad", at("weight", -16)), ArgumentError,
     ("grad overlaps weight",)),
    ("grad-one-element-into-logits", set_ptr("grad", at("logits", 4)), ArgumentError,
     ("grad partially overlaps logits",)),
    ("loss-inside-grad", set_ptr("loss", at("grad", 8)), ArgumentError,
     ("loss overlaps grad",)),
    ("loss-is-grad-output",
     chain(set_ptr("grad_output", at("loss")), set_len("grad_output", 1)),
     ArgumentError, ("loss overlaps grad_output",)),
    ("dtype-int32", set_attr(dtype_code=_lib.SCE_INT32), DtypeError,
     ("dtype 3", "SCE_FLOAT32")),
    ("dtype-99", set_attr(dtype_code=99), DtypeError, ("dtype 99",)),
    ("label-dtype-float32", set_attr(label_dtype_code=_lib.SCE_FLOAT32), DtypeError,
     ("label_dtype 1", "SCE_INT64")),
    ("reduction-7", set_option(reduction=7), ArgumentError, ("reduction 7",)),
    ("mean-by-9", set_option(mean_by=9), ArgumentError, ("mean_by 9",)),
    ("flags-kl-on-integer-labels", set_option(flags=1), ArgumentError, ("flags 1",)),
    ("z-loss-nan", set_option(z_loss=float("nan")), ArgumentError, ("z_loss NaN",)),
]
# fmt: on


def _check_rejected(
    raw: RawCall, run: Callable[[], None], error: type, words: tuple[str, ...]
) -> None:
    before = raw.arena.bytes.copy()
    with pytest.raises(error) as excinfo:
        run()
    message = str(excinfo.value)
    for word in words:
        assert word in message, f"message {message!r} lacks {word!r}"
    changed = np.flatnonzero(raw.arena.bytes != before)
    assert changed.size == 0, f"a rejected call changed arena bytes {changed[:8]}"


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    ("change", "error", "words"),
    [case[1:] for case in RAW_SPARSE],
    ids=[case[0] for case in RAW_SPARSE],
)
def test_raw_sparse_rejected_untouched(
    dtype: Any, change: Callable, error: type, words: tuple[str, ...]
) -> None:
    raw = raw_call(dtype)
    change(raw)
    if dtype == np.float64 and "logits_len is 20" in words:
        words = ("logits is NULL",)
    _check_rejected(raw, raw.sparse, error, words)


# fmt: off
RAW_DENSE = [
    ("ignore-index", set_option(has_ignore_index=1), ArgumentError,
     ("ignore_index",)),
    ("mean-by-weight-sum", set_option(mean_by=_lib.SCE_MEAN_BY_WEIGHT_SUM),
     ArgumentError, ("mean_by 0",)),
    ("grad-labels-is-labels", set_ptr("grad_labels", at("labels")), ArgumentError,
     ("grad_labels overlaps labels",)),
    ("grad-labels-is-grad", set_ptr("grad_labels", at("grad")), ArgumentError,
     ("grad overlaps grad_labels",)),
    ("labels-len-short", set_len("labels", N * C - 1), ShapeError,
     ("labels has 19 elements", "20")),
    ("grad-labels-null", set_ptr("grad_labels", lambda r: None), ArgumentError,
     ("grad_labels is NULL",)),
]
# fmt: on


@pytest.mark.parametrize(
    ("change", "error", "words"),
    [case[1:] for case in RAW_DENSE],
    ids=[case[0] for case in RAW_DENSE],
)
def test_raw_dense_rejected_untouched(
    change: Callable, error: type, words: tuple[str, ...]
) -> None:
    raw = raw_call(np.float32, dense=True)
    change(raw)
    _check_rejected(raw, raw.dense, error, words)


def test_raw_softmax_rejected_untouched() -> None:
    raw = raw_call()
    raw.pointers["grad"] = raw.arena.address("logits", 4)
    _check_rejected(raw, raw.softmax, ArgumentError, ("output partially overlaps x",))

    raw = raw_call()
    raw.lengths["grad_output"] = N * C
    raw.pointers["grad_output"] = raw.arena.address("grad_output")
    raw.pointers["grad"] = raw.arena.address("grad_output", 4)
    _check_rejected(
        raw, raw.softmax_backward, ArgumentError, ("output partially overlaps dy",)
    )


def test_raw_error_status_codes() -> None:
    raw = raw_call()
    raw.pointers["grad"] = raw.arena.address("labels")
    with pytest.raises(softmaxce.InvalidArgumentError) as excinfo:
        raw.sparse()
    assert excinfo.value.status == _lib.SCE_ERROR_OVERLAP

    raw = raw_call()
    raw.outer = -1
    with pytest.raises(softmaxce.InvalidShapeError) as excinfo:
        raw.sparse()
    assert excinfo.value.status == _lib.SCE_ERROR_INVALID_SHAPE


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_raw_in_place_gradient(dtype: Any) -> None:
    """grad == logits is allowed and gives the bits of a separate gradient."""
    raw = raw_call(dtype)
    raw.sparse()
    want_grad = raw.arena.view("grad", dtype, N * C).copy()
    want_loss = raw.arena.view("loss", dtype, 1).copy()

    raw = raw_call(dtype)
    raw.pointers["grad"] = raw.arena.address("logits")
    before = raw.arena.bytes.copy()
    raw.sparse()
    assert_bitwise_equal(raw.arena.view("logits", dtype, N * C), want_grad)
    assert_bitwise_equal(raw.arena.view("loss", dtype, 1), want_loss)
    written = np.zeros(ARENA_BYTES, dtype=bool)
    for name, count in (("logits", N * C), ("loss", 1)):
        start = OFFSETS[name]
        written[start : start + count * np.dtype(dtype).itemsize] = True
    unchanged = raw.arena.bytes[~written] == before[~written]
    assert unchanged.all(), "an in-place call wrote outside its outputs"


def test_raw_empty_batch_with_null_pointers() -> None:
    raw = raw_call()
    raw.outer = 0
    for name in ("logits", "labels", "weight", "grad"):
        raw.pointers[name], raw.lengths[name] = None, 0
    raw.sparse()
    assert np.isnan(raw.arena.view("loss", np.float32, 1)[0])


# ---- Valid but unusual input ------------------------------------------------------


@pytest.mark.parametrize("ignore_index", [C, C + 2, 2**40])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_ignore_index_at_or_above_classes(ignore_index: int, reduction: str) -> None:
    """An ignore_index >= C is valid: its positions count as absent, as in torch."""
    inputs = fresh_inputs()
    labels = inputs["labels"].copy()
    labels[[0, 2]] = ignore_index
    kept = np.array([1, 3])
    loss, grad = softmaxce.cross_entropy_with_grad(
        inputs["logits"], labels, ignore_index=ignore_index, reduction=reduction
    )
    want_loss, want_grad = softmaxce.cross_entropy_with_grad(
        inputs["logits"][kept], labels[kept], reduction=reduction
    )
    assert np.all(grad[[0, 2]] == 0)
    assert_bitwise_equal(grad[kept], want_grad)
    if reduction == "none":
        assert np.all(loss[[0, 2]] == 0)
        assert_bitwise_equal(loss[kept], want_loss)
    else:
        np.testing.assert_allclose(loss, want_loss, rtol=1e-6)


def test_ignore_index_above_classes_sparse_labels_still_checked() -> None:
    inputs = fresh_inputs()
    labels = inputs["labels"].copy()
    labels[0] = C + 1
    with pytest.raises(softmaxce.LabelOutOfRangeError, match="ignore index 7"):
        softmaxce.cross_entropy(inputs["logits"], labels, ignore_index=C + 2)


def _probabilities16(inputs: dict[str, np.ndarray], dtype: Any) -> np.ndarray:
    """Return the probabilities rounded to float16, in `dtype`."""
    return inputs["probabilities"].astype(np.float16).astype(dtype)


FLOAT16_CALLS = {
    "cross_entropy_with_grad": lambda x, i: softmaxce.cross_entropy_with_grad(
        x, i["labels"], weight=i["weight"], label_smoothing=0.1
    ),
    "cross_entropy_probabilities": lambda x, i: softmaxce.cross_entropy_with_grad(
        x, _probabilities16(i, x.dtype)
    ),
    "sparse_tf": lambda x, i: sparse_tf(i["labels"], x),
    "dense_tf": lambda x, i: softmaxce.softmax_cross_entropy_with_logits_with_grad(
        _probabilities16(i, x.dtype), x
    ),
    "softmax": lambda x, i: softmaxce.softmax(x, axis=0),
    "log_softmax": lambda x, i: softmaxce.log_softmax(x),
}


def _as_tuple(result: Any) -> tuple[Any, ...]:
    return result if isinstance(result, tuple) else (result,)


@pytest.mark.parametrize("name", list(FLOAT16_CALLS))
def test_float16_computed_in_float32(name: str) -> None:
    """float16 input is computed in float32 and each result rounded once."""
    inputs = fresh_inputs()
    x16 = inputs["logits"].astype(np.float16)
    got = _as_tuple(FLOAT16_CALLS[name](x16, inputs))
    want = _as_tuple(FLOAT16_CALLS[name](x16.astype(np.float32), inputs))
    for g, w in zip(got, want):
        assert np.asarray(g).dtype == np.float16
        assert_bitwise_equal(np.asarray(g), np.asarray(w).astype(np.float16))


def _layouts(array: np.ndarray) -> dict[str, np.ndarray]:
    """Return views of `array`'s values in other memory layouts."""
    doubled = np.repeat(array, 2, axis=-1)
    reversed_copy = np.ascontiguousarray(array[::-1])
    swapped = array.astype(array.dtype.newbyteorder(">"))
    read_only = array.copy()
    read_only.flags.writeable = False
    return {
        "fortran": np.asfortranarray(array),
        "strided": doubled[..., ::2],
        "negative-stride": reversed_copy[::-1],
        "byte-swapped": swapped,
        "read-only": read_only,
    }


LAYOUT_CALLS = {
    "cross_entropy_with_grad": lambda x, y: softmaxce.cross_entropy_with_grad(
        x, y, reduction="none"
    ),
    "cross_entropy_mean": lambda x, y: softmaxce.cross_entropy_with_grad(x, y),
    "sparse_tf": lambda x, y: sparse_tf(y, x),
    "softmax_axis0": lambda x, y: softmaxce.softmax(x, axis=0),
    "log_softmax": lambda x, y: softmaxce.log_softmax(x),
    "softmax_backward": lambda x, y: softmaxce.softmax_backward(x, x[::-1], axis=0),
}


LAYOUTS = ["fortran", "strided", "negative-stride", "byte-swapped", "read-only"]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("name", list(LAYOUT_CALLS))
def test_layouts_equal_contiguous_bitwise(name: str, layout: str, dtype: Any) -> None:
    inputs = fresh_inputs()
    x = inputs["logits"].astype(dtype)
    y = inputs["labels"]
    want = _as_tuple(LAYOUT_CALLS[name](x, y))

    got = _as_tuple(LAYOUT_CALLS[name](_layouts(x)[layout], y))
    for g, w in zip(got, want):
        assert_bitwise_equal(np.asarray(g), np.asarray(w))

    got = _as_tuple(LAYOUT_CALLS[name](x, _layouts(y)[layout]))
    for g, w in zip(got, want):
        assert_bitwise_equal(np.asarray(g), np.asarray(w))


def test_k_dim_fortran_and_strided_equal_contiguous() -> None:
    inputs = fresh_inputs()
    x, y = inputs["logits3d"], inputs["labels2d"]
    want = softmaxce.cross_entropy_with_grad(x, y, reduction="sum")
    for view in (np.asfortranarray(x), np.repeat(x, 2, axis=2)[:, :, ::2]):
        got = softmaxce.cross_entropy_with_grad(
            view, np.asfortranarray(y), reduction="sum"
        )
        assert_bitwise_equal(got[0], want[0])
        assert_bitwise_equal(got[1], want[1])


def test_dense_labels_strided_equal_contiguous() -> None:
    inputs = fresh_inputs()
    x, p = inputs["logits"], inputs["probabilities"]
    call_dense = softmaxce.softmax_cross_entropy_with_logits_with_grad
    want = call_dense(p, x)
    for view in _layouts(p).values():
        got = call_dense(view, np.asfortranarray(x))
        for g, w in zip(got, want):
            assert_bitwise_equal(g, w)


@pytest.mark.parametrize("dtype", [np.int8, np.int16, np.uint8, np.uint32, np.int32])
def test_narrow_label_dtypes_equal_int64(dtype: Any) -> None:
    inputs = fresh_inputs()
    want = softmaxce.cross_entropy_with_grad(inputs["logits"], inputs["labels"])
    got = softmaxce.cross_entropy_with_grad(
        inputs["logits"], inputs["labels"].astype(dtype)
    )
    assert_bitwise_equal(got[0], want[0])
    assert_bitwise_equal(got[1], want[1])


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_empty_batch(reduction: str) -> None:
    logits = np.zeros((0, C), np.float32)
    loss, grad = softmaxce.cross_entropy_with_grad(
        logits, np.zeros(0, np.int64), reduction=reduction
    )
    assert grad.shape == (0, C)
    if reduction == "mean":
        assert np.isnan(loss)
    elif reduction == "sum":
        assert loss == 0
    else:
        assert loss.shape == (0,)


@pytest.mark.parametrize("target", [2, [2], np.int32(2)])
def test_unbatched_input_target_forms(target: Any) -> None:
    inputs = fresh_inputs()
    got = softmaxce.cross_entropy(inputs["logits"][1], target, reduction="none")
    want = softmaxce.cross_entropy(inputs["logits"][1:2], [2], reduction="none")
    assert np.shape(got) == ()
    assert_bitwise_equal(np.asarray(got), want[0])


# ---- Integers beyond every range ----------------------------------------------
# Python formats an int of more than 4300 digits only on request, and float()
# refuses an int beyond the float64 range. Errors about such values must still
# be the library's errors, naming the argument.

HUGE = 10**5000


@pytest.mark.parametrize(
    "value",
    [HUGE, -HUGE, 10**400, 2**1024 - 2**970],
    ids=["1e5000", "-1e5000", "1e400", "float64-limit"],
)
@pytest.mark.parametrize(
    ("name", "call"),
    [
        ("ignore_index", lambda x, y, v: softmaxce.cross_entropy(x, y, ignore_index=v)),
        (
            "label_smoothing",
            lambda x, y, v: softmaxce.cross_entropy(x, y, label_smoothing=v),
        ),
        ("z_loss", lambda x, y, v: softmaxce.cross_entropy_with_grad(x, y, z_loss=v)),
        ("axis", lambda x, y, v: softmaxce.softmax(x, axis=v)),
        ("axis", lambda x, y, v: softmaxce.log_softmax(x, axis=v)),
        ("number of threads", lambda x, y, v: softmaxce.set_num_threads(v)),
    ],
)
def test_huge_int_argument_rejected(name: str, call: Callable, value: int) -> None:
    x = np.zeros((N, C), np.float32)
    y = np.zeros(N, np.int64)
    before = x.tobytes()
    threads = softmaxce.get_num_threads()
    with pytest.raises(softmaxce.InvalidArgumentError) as error:
        call(x, y, value)
    assert name in str(error.value)
    assert "int of" in str(error.value)
    assert x.tobytes() == before
    assert softmaxce.get_num_threads() == threads


def test_largest_float64_int_accepted() -> None:
    # The largest int that float() converts is a valid (finite) z-loss.
    x = np.zeros((N, C), np.float64)
    loss = softmaxce.cross_entropy(
        x, np.zeros(N, np.int64), z_loss=2**1024 - 2**970 - 1
    )
    # z*lse^2 with lse = log(5) is beyond float64
    assert loss == np.inf


class IntSubclass(int):
    pass


class BadRepr:
    def __repr__(self) -> str:
        raise RuntimeError("no repr")


@pytest.mark.parametrize(
    ("name", "kwargs", "error"),
    [
        ("reduction", {"reduction": HUGE}, softmaxce.InvalidArgumentError),
        ("reduction", {"reduction": "x" * 10_000}, softmaxce.InvalidArgumentError),
        ("reduction", {"reduction": BadRepr()}, softmaxce.InvalidArgumentError),
        (
            "label_smoothing",
            {"label_smoothing": Fraction(10**400)},
            softmaxce.InvalidArgumentError,
        ),
        ("z_loss", {"z_loss": IntSubclass(10**400)}, softmaxce.InvalidArgumentError),
        ("z_loss", {"z_loss": BadRepr()}, softmaxce.InvalidDtypeError),
    ],
    ids=[
        "huge-int",
        "long-str",
        "bad-repr",
        "huge-fraction",
        "huge-int-subclass",
        "bad-repr",
    ],
)
def test_unprintable_option_rejected(name: str, kwargs: dict, error: type) -> None:
    # The message shows a short description of the value, never raising.
    x = np.zeros((N, C), np.float32)
    with pytest.raises(error) as raised:
        softmaxce.cross_entropy(x, np.zeros(N, np.int64), **kwargs)
    message = str(raised.value)
    assert name in message
    assert len(message) < 400
