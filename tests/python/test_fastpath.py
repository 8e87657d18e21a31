"""The C fast path (softmaxce._fastpath) against the Python fast path.

Both take the twelve arguments of _sparse._fast_torch_python and must agree
on every call. Either both return None, because the call is not of the
common form, or both return results with the same bits and the same output
objects, or both fail with the same error. The cases vary one argument at a
time away from a common call, across the types, dtypes, layouts and
overlaps that either implementation tests for.
"""

from __future__ import annotations

import os
import pickle
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import softmaxce
from softmaxce import _lib, _sparse

N, C = 6, 5

pytestmark = pytest.mark.skipif(
    _lib.FASTPATH is None and os.environ.get("SOFTMAXCE_REQUIRE_EXTENSION") != "1",
    reason="the extension module softmaxce._fastpath was not built",
)


def test_extension_is_built() -> None:
    # Skipped with the module where it was not built, unless the environment
    # requires it (CI does), and then it fails.
    assert _lib.FASTPATH is not None, "softmaxce._fastpath did not import"


def base_arguments(
    dtype: Any = np.float32, label_dtype: Any = np.int64, seed: int = 0
) -> dict[str, Any]:
    """Return the arguments of a common call: float logits (N, C), int labels."""
    rng = np.random.default_rng(seed)
    logits = (3 * rng.standard_normal((N, C))).astype(dtype)
    labels = rng.integers(0, C, N).astype(label_dtype)
    labels[N // 2] = -100
    return {
        "input": logits,
        "target": labels,
        "weight": None,
        "ignore_index": -100,
        "reduction": "mean",
        "label_smoothing": 0.0,
        "z_loss": 0.0,
        "grad_output": None,
        "want_loss": True,
        "want_grad": True,
        "out": None,
        "grad_out": None,
    }


def mean_call(
    logits: np.ndarray, labels: np.ndarray, grad_out: np.ndarray | None = None
) -> list[Any]:
    """Return the arguments of a mean loss-and-gradient call of the fast path."""
    args = base_arguments()
    args.update(input=logits, target=labels, ignore_index=-100, grad_out=grad_out)
    return list(args.values())


def unaligned(shape: tuple[int, ...], dtype: Any) -> np.ndarray:
    """Return a zeroed array of `shape` whose data starts one byte off."""
    size = int(np.prod(shape)) * np.dtype(dtype).itemsize
    raw = np.zeros(size + 1, dtype=np.uint8)
    return raw[1:].view(dtype).reshape(shape)


def read_only(a: np.ndarray) -> np.ndarray:
    a.flags.writeable = False
    return a


def arena_logits_and_grad(args: dict[str, Any], offset: int) -> None:
    """Make grad_out overlap the logits: both views of one buffer."""
    arena = np.zeros(2 * N * C, dtype=np.float32)
    arena[: N * C] = args["input"].ravel()
    args["input"] = arena[: N * C].reshape(N, C)
    args["grad_out"] = arena[offset : offset + N * C].reshape(N, C)


def labels_inside_logits(args: dict[str, Any]) -> None:
    """Put the int64 labels in the last bytes of a float32 logits buffer."""
    arena = np.zeros(N * C + 2 * N, dtype=np.float32)
    labels = arena[N * C :].view(np.int64)
    labels[:] = args["target"]
    args["input"] = arena.reshape(N, C + 2)
    args["target"] = labels


def ignore_three(args: dict[str, Any]) -> None:
    """Ignore class 3, which one label is."""
    args["target"][N // 2] = 3
    args["ignore_index"] = 3


def in_place_over_labels(args: dict[str, Any]) -> None:
    """Write the gradient over logits whose buffer also contains the labels."""
    labels_inside_logits(args)
    args["grad_out"] = args["input"]


def grad_over_labels(args: dict[str, Any]) -> None:
    """Make grad_out share its first bytes with the labels."""
    buffer = np.zeros(N * C, np.int64)
    args["target"] = buffer[:N]
    buffer[:N] = 0
    args["grad_out"] = buffer[: N * C // 2].view(np.float32).reshape(N, C)


class Subclass(np.ndarray):
    pass


# Dtypes equal to numpy's own but other objects.
METADATA_F32 = np.dtype(np.float32, metadata={"unit": "logit"})
METADATA_I64 = np.dtype(np.int64, metadata={"unit": "class"})


def modify(**changes: Any) -> Callable[[dict[str, Any]], None]:
    def apply(args: dict[str, Any]) -> None:
        for name, change in changes.items():
            args[name] = change(args) if callable(change) else change

    return apply


# Each case turns the common call into a variant: (name, function on args).
CASES: list[tuple[str, Callable[[dict[str, Any]], None]]] = [
    ("common", modify()),
    ("float64", modify(input=lambda a: a["input"].astype(np.float64))),
    ("float16", modify(input=lambda a: a["input"].astype(np.float16))),
    ("big-endian logits", modify(input=lambda a: a["input"].astype(">f4"))),
    ("int32 labels", modify(target=lambda a: a["target"].astype(np.int32))),
    ("uint8 labels", modify(target=lambda a: np.abs(a["target"]).astype(np.uint8))),
    ("longlong labels", modify(target=lambda a: a["target"].astype(np.longlong))),
    ("big-endian labels", modify(target=lambda a: a["target"].astype(">i8"))),
    (
        "unpickled logits",
        modify(input=lambda a: pickle.loads(pickle.dumps(a["input"]))),
    ),
    (
        "unpickled labels",
        modify(target=lambda a: pickle.loads(pickle.dumps(a["target"]))),
    ),
    ("metadata logits", modify(input=lambda a: a["input"].astype(METADATA_F32))),
    ("metadata labels", modify(target=lambda a: a["target"].astype(METADATA_I64))),
    (
        "unpickled grad_out",
        modify(
            grad_out=lambda a: pickle.loads(pickle.dumps(np.zeros((N, C), np.float32)))
        ),
    ),
    (
        "metadata out",
        modify(reduction="none", out=lambda a: np.zeros(N, METADATA_F32)),
    ),
    ("list logits", modify(input=lambda a: a["input"].tolist())),
    ("list labels", modify(target=lambda a: a["target"].tolist())),
    ("subclass logits", modify(input=lambda a: a["input"].view(Subclass))),
    ("matrix labels", modify(target=lambda a: a["target"].reshape(1, N))),
    ("1-d logits", modify(input=lambda a: a["input"].ravel())),
    ("3-d logits", modify(input=lambda a: a["input"].reshape(N, C, 1))),
    ("short labels", modify(target=lambda a: a["target"][:-1].copy())),
    ("fortran logits", modify(input=lambda a: np.asfortranarray(a["input"]))),
    ("strided labels", modify(target=lambda a: np.repeat(a["target"], 2)[::2])),
    (
        "empty batch",
        modify(input=lambda a: a["input"][:0], target=lambda a: a["target"][:0]),
    ),
    ("no classes", modify(input=lambda a: np.zeros((N, 0), np.float32))),
    ("weights", modify(weight=np.ones(C, np.float32))),
    ("sum", modify(reduction="sum")),
    ("none", modify(reduction="none")),
    ("unknown reduction", modify(reduction="avg")),
    ("bytes reduction", modify(reduction=b"mean")),
    ("numpy str reduction", modify(reduction=np.str_("mean"))),
    ("ignore 3", ignore_three),
    ("bool ignore", modify(ignore_index=True)),
    ("numpy int ignore", modify(ignore_index=np.int64(-100))),
    ("int64 max ignore", modify(ignore_index=2**63 - 1)),
    ("int64 min ignore", modify(ignore_index=-(2**63))),
    ("too big ignore", modify(ignore_index=2**63)),
    ("too small ignore", modify(ignore_index=-(2**63) - 1)),
    ("smoothing", modify(label_smoothing=0.1)),
    ("int smoothing", modify(label_smoothing=1)),
    ("negative zero smoothing", modify(label_smoothing=-0.0)),
    ("bool smoothing", modify(label_smoothing=False)),
    ("numpy smoothing", modify(label_smoothing=np.float64(0.1))),
    ("huge int smoothing", modify(label_smoothing=2**1100)),
    ("bad smoothing", modify(label_smoothing=1.5)),
    ("nan smoothing", modify(label_smoothing=float("nan"))),
    ("z-loss", modify(z_loss=1e-3)),
    ("int z-loss", modify(z_loss=2)),
    ("negative z-loss", modify(z_loss=-1.0)),
    ("string z-loss", modify(z_loss="0")),
    ("grad_output 1", modify(grad_output=1)),
    ("grad_output 1.0", modify(grad_output=1.0)),
    ("grad_output True", modify(grad_output=True)),
    ("grad_output 2", modify(grad_output=2.0)),
    ("grad_output nan", modify(grad_output=float("nan"))),
    ("grad_output huge int", modify(grad_output=2**70)),
    ("grad_output numpy", modify(grad_output=np.float32(1))),
    ("grad_output array", modify(grad_output=np.ones(1))),
    ("grad_output 2 without grad", modify(grad_output=2.0, want_grad=False)),
    ("loss only", modify(want_grad=False)),
    ("grad only", modify(want_loss=False)),
    ("neither", modify(want_loss=False, want_grad=False)),
    ("label out of range", lambda a: a["target"].__setitem__(1, C)),
    ("negative label", lambda a: a["target"].__setitem__(1, -1)),
    ("nan logits", lambda a: a["input"].__setitem__((0, 0), np.nan)),
    # out= (a per-position loss)
    ("out", modify(reduction="none", out=np.zeros(N, np.float32))),
    ("out with mean", modify(out=np.zeros(N, np.float32))),
    ("out float64", modify(reduction="none", out=np.zeros(N, np.float64))),
    ("out 2-d", modify(reduction="none", out=np.zeros((N, 1), np.float32))),
    ("out short", modify(reduction="none", out=np.zeros(N - 1, np.float32))),
    ("out list", modify(reduction="none", out=[0.0] * N)),
    ("out read-only", modify(reduction="none", out=read_only(np.zeros(N, np.float32)))),
    ("out unaligned", modify(reduction="none", out=unaligned((N,), np.float32))),
    ("out strided", modify(reduction="none", out=np.zeros(2 * N, np.float32)[::2])),
    (
        "out subclass",
        modify(reduction="none", out=np.zeros(N, np.float32).view(Subclass)),
    ),
    (
        "out is logits row",
        modify(reduction="none", out=lambda a: a["input"].reshape(-1)[:N]),
    ),
    (
        "out over labels",
        modify(
            reduction="none",
            target=lambda a: a["target"].copy(),
            out=lambda a: a["target"].view(np.float32)[:N],
        ),
    ),
    (
        "out without loss",
        modify(reduction="none", want_loss=False, out=np.zeros(N, np.float32)),
    ),
    # grad_out=
    ("grad_out", modify(grad_out=np.zeros((N, C), np.float32))),
    ("grad_out is logits", modify(grad_out=lambda a: a["input"])),
    (
        "grad_out is read-only logits",
        modify(input=lambda a: read_only(a["input"]), grad_out=lambda a: a["input"]),
    ),
    ("grad_out float64", modify(grad_out=np.zeros((N, C), np.float64))),
    ("grad_out transposed", modify(grad_out=np.zeros((C, N), np.float32))),
    ("grad_out flat", modify(grad_out=np.zeros(N * C, np.float32))),
    ("grad_out fortran", modify(grad_out=np.zeros((N, C), np.float32, order="F"))),
    ("grad_out unaligned", modify(grad_out=unaligned((N, C), np.float32))),
    ("grad_out read-only", modify(grad_out=read_only(np.zeros((N, C), np.float32)))),
    ("grad_out subclass", modify(grad_out=np.zeros((N, C), np.float32).view(Subclass))),
    ("grad_out half over logits", lambda a: arena_logits_and_grad(a, N * C // 2)),
    ("grad_out after logits", lambda a: arena_logits_and_grad(a, N * C)),
    ("grad_out over labels", grad_over_labels),
    ("in place over logits holding labels", in_place_over_labels),
    (
        "grad_out over out",
        lambda a: a.update(
            reduction="none",
            out=(buffer := np.zeros(N * C + N, np.float32))[:N],
            grad_out=buffer[N // 2 : N // 2 + N * C].reshape(N, C),
        ),
    ),
    (
        "grad_out over out, loss not wanted",
        lambda a: a.update(
            reduction="none",
            want_loss=False,
            out=(buffer := np.zeros(N * C, np.float32))[:N],
            grad_out=buffer.reshape(N, C),
        ),
    ),
    (
        "grad_out without grad",
        modify(want_grad=False, grad_out=np.zeros((N, C), np.float32)),
    ),
]


def run(implementation: Callable[..., Any], args: dict[str, Any]) -> tuple[str, Any]:
    """Call `implementation` and describe the outcome: None, result or error."""
    try:
        result = implementation(*args.values())
        if type(result) is int:
            _sparse._raise_fast_status(result)
    except Exception as exc:  # noqa: BLE001 - the type is compared below
        return "error", (type(exc), str(exc))
    if result is None:
        return "none", None
    return "result", result


def arguments(case: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    args = base_arguments()
    case(args)
    return args


@pytest.mark.parametrize(("name", "case"), CASES, ids=[name for name, _ in CASES])
def test_extension_agrees_with_python(name: str, case: Callable) -> None:
    assert _lib.FASTPATH is not None
    ext_args, py_args = arguments(case), arguments(case)
    ext_kind, ext_value = run(_lib.FASTPATH.sparse, ext_args)
    py_kind, py_value = run(_sparse._fast_torch_python, py_args)
    assert ext_kind == py_kind, f"{name}: C gave {ext_value!r}, Python {py_value!r}"
    if ext_kind == "error":
        assert ext_value == py_value
    if ext_kind != "result":
        return

    for position, (ext_part, py_part) in enumerate(zip(ext_value, py_value)):
        part = ("loss", "grad")[position]
        if py_part is None:
            assert ext_part is None, f"{name}: {part}"
            continue
        assert type(ext_part) is type(py_part), f"{name}: {part} type"
        assert np.asarray(ext_part).dtype == np.asarray(py_part).dtype
        assert np.asarray(ext_part).shape == np.asarray(py_part).shape
        assert np.asarray(ext_part).tobytes() == np.asarray(py_part).tobytes(), part
    # Caller-owned outputs come back as the very objects passed in.
    names = list(ext_args)
    for position, argument in ((0, "out"), (1, "grad_out")):
        ext_object, py_object = ext_value[position], py_value[position]
        passed_ext, passed_py = ext_args[argument], py_args[argument]
        if argument == "grad_out" and py_args["grad_out"] is py_args["input"]:
            passed_ext, passed_py = ext_args["input"], py_args["input"]
        assert (ext_object is passed_ext) == (py_object is passed_py), (
            f"{name}: {argument} identity",
            names,
        )
    # Every input is left as it was, unless the gradient went over it.
    for argument in ("input", "target"):
        if py_args["grad_out"] is py_args[argument]:
            continue
        assert (
            np.asarray(ext_args[argument]).tobytes()
            == np.asarray(py_args[argument]).tobytes()
        ), f"{name}: {argument} changed"


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_extension_rejects_leave_outputs_untouched(dtype: Any) -> None:
    assert _lib.FASTPATH is not None
    args = base_arguments(dtype)
    args["target"][1] = C  # out of range: the library raises
    args["grad_out"] = np.full((N, C), 7, dtype)
    before = args["grad_out"].tobytes()
    status = _lib.FASTPATH.sparse(*args.values())
    assert status == _lib.SCE_ERROR_LABEL_OUT_OF_RANGE
    assert args["grad_out"].tobytes() == before


def test_extension_wrong_argument_count() -> None:
    assert _lib.FASTPATH is not None
    with pytest.raises(TypeError, match="12 arguments"):
        _lib.FASTPATH.sparse(1, 2, 3)


def test_extension_init_rejects_other_layout() -> None:
    assert _lib.FASTPATH is not None
    with pytest.raises(ImportError, match="different builds"):
        _lib.FASTPATH.init(1, _lib.SPARSE_ARGS.size + 8)


@pytest.mark.parametrize(
    "name",
    [
        "common",
        "float64",
        "int32 labels",
        "sum",
        "none",
        "ignore 3",
        "smoothing",
        "out",
        "grad_out",
        "grad_out is logits",
        "unpickled logits",
        "loss only",
        "grad only",
    ],
)
def test_common_forms_return_results(name: str) -> None:
    # Agreement alone would also hold if both versions returned None.
    assert _lib.FASTPATH is not None
    case = dict(CASES)[name]
    kind, value = run(_lib.FASTPATH.sparse, arguments(case))
    assert kind == "result", f"{name}: {value!r}"


def test_large_call_releases_gil() -> None:
    # With a switch interval far longer than the call, the interpreter does
    # not take the GIL from this thread during it: the counting thread can
    # only run while the call has released the GIL itself.
    assert _lib.FASTPATH is not None
    rng = np.random.default_rng(4)
    logits = rng.standard_normal((2048, 4000)).astype(np.float32)
    labels = rng.integers(0, 4000, 2048)
    grad = np.empty_like(logits)
    counter = [0]
    stop = threading.Event()

    def count() -> None:
        while not stop.is_set():
            counter[0] += 1

    previous_threads = softmaxce.get_num_threads()
    previous_interval = sys.getswitchinterval()
    softmaxce.set_num_threads(1)  # leave the other CPU to the counting thread
    sys.setswitchinterval(0.25)
    thread = threading.Thread(target=count)
    thread.start()
    try:
        while counter[0] == 0:
            time.sleep(0.001)
        steps = []
        for _ in range(3):
            before = counter[0]
            result = _lib.FASTPATH.sparse(*mean_call(logits, labels, grad))
            steps.append(counter[0] - before)
            assert type(result) is tuple
    finally:
        stop.set()
        thread.join()
        sys.setswitchinterval(previous_interval)
        softmaxce.set_num_threads(previous_threads)
    assert min(steps) > 0, f"counting steps during each call: {steps}"


def test_large_calls_run_concurrently() -> None:
    # Problems of 16384 elements and more release the GIL during the library
    # call: threads running them at once must each get their own results.
    assert _lib.FASTPATH is not None
    rng = np.random.default_rng(3)
    logits = rng.standard_normal((64, 1000)).astype(np.float32)
    labels = rng.integers(0, 1000, 64)
    want = _sparse._fast_torch_python(*mean_call(logits, labels))
    results: list[Any] = [None] * 8

    def work(slot: int) -> None:
        for _ in range(20):
            results[slot] = _lib.FASTPATH.sparse(*mean_call(logits, labels))

    threads = [threading.Thread(target=work, args=(slot,)) for slot in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for loss, grad in results:
        assert loss.tobytes() == want[0].tobytes()
        assert grad.tobytes() == want[1].tobytes()
