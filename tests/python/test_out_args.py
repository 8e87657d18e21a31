"""Output arrays (``out=``, ``grad_out=``), the fast path and the thread count.

Results written into caller-owned arrays or in place over the logits come
from the same library computation as the default results. So do results of
the fast path of the common call and of the general path. They are therefore
compared bit for bit (``tobytes``), which also distinguishes -0.0 from 0.0.
Rejected output arrays must leave every argument unchanged.
"""

from __future__ import annotations

import ctypes
import os
import pickle
import subprocess
import sys
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import softmaxce
from softmaxce import _lib, _sparse

PYTHON_DIR = str(Path(softmaxce.__file__).resolve().parent.parent)
N, C = 6, 5
FLOAT_DTYPES = [np.float16, np.float32, np.float64]


def problem(dtype: Any = np.float32, n: int = N, c: int = C, seed: int = 0) -> tuple:
    """Return seeded logits (n, c) of `dtype` and int64 labels, one ignored."""
    rng = np.random.default_rng(seed)
    logits = (3 * rng.standard_normal((n, c))).astype(dtype)
    labels = rng.integers(0, c, n)
    labels[n // 2] = -100
    return logits, labels


def assert_same_bits(got: Any, want: Any) -> None:
    got, want = np.asarray(got), np.asarray(want)
    assert got.dtype == want.dtype, f"dtype {got.dtype} != {want.dtype}"
    assert got.shape == want.shape, f"shape {got.shape} != {want.shape}"
    assert got.tobytes() == want.tobytes(), f"bits differ:\n{got}\n{want}"


def snapshot(*arrays: np.ndarray) -> list[bytes]:
    return [a.tobytes() for a in arrays]


# ---- Results in caller-owned arrays ------------------------------------------


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_cross_entropy_out_none_matches(dtype: Any) -> None:
    logits, labels = problem(dtype)
    want = softmaxce.cross_entropy(logits, labels, reduction="none")
    out = np.full(N, 7, dtype=dtype)
    got = softmaxce.cross_entropy(logits, labels, reduction="none", out=out)
    assert got is out
    assert_same_bits(out, want)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_with_grad_outputs_match(dtype: Any, reduction: str) -> None:
    logits, labels = problem(dtype)
    want_loss, want_grad = softmaxce.cross_entropy_with_grad(
        logits, labels, reduction=reduction
    )
    grad_out = np.full_like(logits, 7)
    out = np.full(N, 7, dtype=dtype) if reduction == "none" else None
    loss, grad = softmaxce.cross_entropy_with_grad(
        logits, labels, reduction=reduction, out=out, grad_out=grad_out
    )
    assert grad is grad_out
    assert_same_bits(grad_out, want_grad)
    assert_same_bits(loss, want_loss)
    if out is not None:
        assert loss is out


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_backward_grad_out_matches(dtype: Any) -> None:
    logits, labels = problem(dtype)
    upstream = np.linspace(0.5, 2.0, N)
    want = softmaxce.cross_entropy_backward(
        logits, labels, grad_output=upstream, reduction="none"
    )
    grad_out = np.full_like(logits, 7)
    got = softmaxce.cross_entropy_backward(
        logits, labels, grad_output=upstream, reduction="none", grad_out=grad_out
    )
    assert got is grad_out
    assert_same_bits(grad_out, want)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_grad_out_in_place_over_logits(dtype: Any) -> None:
    logits, labels = problem(dtype)
    want_loss, want_grad = softmaxce.cross_entropy_with_grad(
        logits, labels, label_smoothing=0.1
    )
    loss, grad = softmaxce.cross_entropy_with_grad(
        logits, labels, label_smoothing=0.1, grad_out=logits
    )
    assert grad is logits
    assert_same_bits(logits, want_grad)
    assert_same_bits(loss, want_loss)


def test_grad_out_with_probability_targets() -> None:
    logits, _ = problem(np.float64)
    targets = np.random.default_rng(1).dirichlet(np.ones(C), size=N)
    want_loss, want_grad = softmaxce.cross_entropy_with_grad(logits, targets)
    grad_out = np.empty_like(logits)
    loss, grad = softmaxce.cross_entropy_with_grad(logits, targets, grad_out=grad_out)
    assert grad is grad_out
    assert_same_bits(grad_out, want_grad)
    assert_same_bits(loss, want_loss)


def test_grad_out_with_spatial_dims() -> None:
    rng = np.random.default_rng(2)
    logits = rng.standard_normal((2, C, 3, 4)).astype(np.float32)
    labels = rng.integers(0, C, (2, 3, 4))
    want_loss, want_grad = softmaxce.cross_entropy_with_grad(
        logits, labels, reduction="none"
    )
    out = np.empty((2, 3, 4), dtype=np.float32)
    grad_out = np.empty_like(logits)
    loss, grad = softmaxce.cross_entropy_with_grad(
        logits, labels, reduction="none", out=out, grad_out=grad_out
    )
    assert loss is out
    assert grad is grad_out
    assert_same_bits(out, want_loss)
    assert_same_bits(grad_out, want_grad)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_tf_sparse_out_and_grad_out(dtype: Any) -> None:
    rng = np.random.default_rng(3)
    logits = rng.standard_normal((2, 3, C)).astype(dtype)
    labels = rng.integers(0, C, (2, 3))
    upstream = rng.uniform(0.5, 2.0, (2, 3))
    with_grad = softmaxce.sparse_softmax_cross_entropy_with_logits_with_grad
    want_loss, want_grad = with_grad(labels, logits, upstream)
    assert_same_bits(
        want_loss, softmaxce.sparse_softmax_cross_entropy_with_logits(labels, logits)
    )

    out = np.empty((2, 3), dtype=dtype)
    got = softmaxce.sparse_softmax_cross_entropy_with_logits(labels, logits, out=out)
    assert got is out
    assert_same_bits(out, want_loss)

    out = np.empty((2, 3), dtype=dtype)
    loss, grad = with_grad(labels, logits, upstream, out=out, grad_out=logits)
    assert loss is out
    assert grad is logits
    assert_same_bits(out, want_loss)
    assert_same_bits(logits, want_grad)


def test_tf_sparse_grad_matches_formula() -> None:
    # Independent check of the new function: g * (softmax - onehot).
    rng = np.random.default_rng(4)
    logits = rng.standard_normal((4, C))
    labels = np.array([0, 4, 2, 1])
    upstream = np.array([1.0, 0.5, 2.0, -1.0])
    loss, grad = softmaxce.sparse_softmax_cross_entropy_with_logits_with_grad(
        labels, logits, upstream
    )
    shifted = logits - logits.max(axis=1, keepdims=True)
    p = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
    want_loss = -np.log(p[np.arange(4), labels])
    want_grad = upstream[:, None] * (p - np.eye(C)[labels])
    # float64 with C = 5: a few ulp of rounding differences at most.
    np.testing.assert_allclose(loss, want_loss, rtol=1e-13, atol=0)
    np.testing.assert_allclose(grad, want_grad, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
@pytest.mark.parametrize("func", [softmaxce.softmax, softmaxce.log_softmax])
def test_softmax_out_and_in_place(func: Callable, dtype: Any) -> None:
    x = np.random.default_rng(5).standard_normal((3, 4, C)).astype(dtype)
    want = func(x, axis=1)
    out = np.full_like(x, 7)
    assert func(x, axis=1, out=out) is out
    assert_same_bits(out, want)
    assert func(x, axis=1, out=x) is x
    assert_same_bits(x, want)


def test_empty_batch_with_outputs() -> None:
    logits = np.empty((0, C), dtype=np.float32)
    labels = np.empty(0, dtype=np.int64)
    out = np.empty(0, dtype=np.float32)
    grad_out = np.empty((0, C), dtype=np.float32)
    loss, grad = softmaxce.cross_entropy_with_grad(
        logits, labels, reduction="none", out=out, grad_out=grad_out
    )
    assert loss is out
    assert grad is grad_out


# ---- No allocation of the logits' size ---------------------------------------


def peak_traced_bytes(call: Callable[[], object]) -> int:
    """Return the peak of memory traced (numpy's buffers included) during call."""
    call()  # warm caches: options, first-call setup
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        call()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(
    "extra",
    [{}, {"weight": np.ones(1000), "label_smoothing": 0.1}],
    ids=["fast-path", "general-path"],
)
def test_grad_out_allocates_nothing_large(dtype: Any, extra: dict) -> None:
    logits, labels = problem(dtype, n=512, c=1000)
    grad_out = np.empty_like(logits)
    nbytes = logits.nbytes  # 2 or 4 MB

    without = peak_traced_bytes(
        lambda: softmaxce.cross_entropy_with_grad(logits, labels, **extra)
    )
    assert without >= nbytes, "tracemalloc did not see the gradient allocation"

    with_out = peak_traced_bytes(
        lambda: softmaxce.cross_entropy_with_grad(
            logits, labels, grad_out=grad_out, **extra
        )
    )
    assert with_out < nbytes // 16, f"peak {with_out} B with grad_out given"

    in_place = peak_traced_bytes(
        lambda: softmaxce.cross_entropy_with_grad(
            logits, labels, grad_out=logits, **extra
        )
    )
    assert in_place < nbytes // 16, f"peak {in_place} B with grad_out=logits"


# ---- Rejected output arrays --------------------------------------------------


def _read_only(shape: tuple, dtype: Any) -> np.ndarray:
    array = np.zeros(shape, dtype=dtype)
    array.flags.writeable = False
    return array


def _strided(shape: tuple, dtype: Any) -> np.ndarray:
    return np.zeros(shape[:-1] + (2 * shape[-1],), dtype=dtype)[..., ::2]


def _byte_swapped(shape: tuple, dtype: Any) -> np.ndarray:
    return np.zeros(shape, dtype=np.dtype(dtype).newbyteorder())


# (id, make output from (shape, dtype), exception, words in the message)
BAD_OUTPUTS = [
    ("read-only", _read_only, softmaxce.InvalidArgumentError, ("read-only",)),
    ("strided", _strided, softmaxce.InvalidArgumentError, ("C-contiguous",)),
    (
        "other-dtype",
        lambda s, d: np.zeros(s, dtype=np.float16),
        softmaxce.InvalidDtypeError,
        ("float16", "float32"),
    ),
    (
        "byte-swapped",
        _byte_swapped,
        softmaxce.InvalidDtypeError,
        ("non-native byte order",),
    ),
    (
        "other-shape",
        lambda s, d: np.zeros(s + (1,), dtype=d),
        softmaxce.InvalidShapeError,
        ("shape",),
    ),
    (
        "list",
        lambda s, d: np.zeros(s, dtype=d).tolist(),
        softmaxce.InvalidDtypeError,
        ("numpy.ndarray", "list"),
    ),
]


@pytest.mark.parametrize(
    ("make", "error", "words"),
    [case[1:] for case in BAD_OUTPUTS],
    ids=[case[0] for case in BAD_OUTPUTS],
)
@pytest.mark.parametrize("argument", ["out", "grad_out"])
def test_bad_output_rejected_untouched(
    argument: str, make: Callable, error: type, words: tuple[str, ...]
) -> None:
    logits, labels = problem(np.float32)
    shape = (N,) if argument == "out" else (N, C)
    bad = make(shape, np.float32)
    before = snapshot(logits, labels)
    bad_before = np.array(bad).tobytes()
    with pytest.raises(error) as excinfo:
        softmaxce.cross_entropy_with_grad(
            logits, labels, reduction="none", **{argument: bad}
        )
    message = str(excinfo.value)
    assert argument in message, message
    for word in words:
        assert word in message, f"{message!r} lacks {word!r}"
    assert snapshot(logits, labels) == before
    assert np.array(bad).tobytes() == bad_before


@pytest.mark.parametrize(
    ("make", "error", "words"),
    [case[1:] for case in BAD_OUTPUTS],
    ids=[case[0] for case in BAD_OUTPUTS],
)
def test_bad_softmax_out_rejected(
    make: Callable, error: type, words: tuple[str, ...]
) -> None:
    x = np.random.default_rng(6).standard_normal((N, C)).astype(np.float32)
    before = x.tobytes()
    with pytest.raises(error) as excinfo:
        softmaxce.softmax(x, out=make((N, C), np.float32))
    assert "out" in str(excinfo.value)
    assert x.tobytes() == before


def test_out_rejected_for_reduced_loss() -> None:
    logits, labels = problem()
    out = np.zeros(N, dtype=np.float32)
    with pytest.raises(softmaxce.InvalidArgumentError, match="reduction 'none'"):
        softmaxce.cross_entropy(logits, labels, out=out)
    with pytest.raises(softmaxce.InvalidArgumentError, match="'sum'"):
        softmaxce.cross_entropy_with_grad(logits, labels, reduction="sum", out=out)
    assert not out.any()


def test_float16_out_needs_float16() -> None:
    logits, labels = problem(np.float16)
    with pytest.raises(softmaxce.InvalidDtypeError, match="float16"):
        softmaxce.cross_entropy_with_grad(
            logits, labels, grad_out=np.empty((N, C), dtype=np.float32)
        )


def _arena_views(dtype: Any = np.float32) -> tuple[np.ndarray, np.ndarray]:
    """Return (logits, arena): logits in an arena twice their size."""
    arena = np.zeros(2 * N * C, dtype=dtype)
    logits = arena[: N * C].reshape(N, C)
    logits[:] = problem(dtype)[0]
    return logits, arena


def test_grad_out_partial_overlap_rejected() -> None:
    logits, arena = _arena_views()
    labels = problem()[1]
    grad_out = arena[3 : 3 + N * C].reshape(N, C)
    before = arena.tobytes()
    with pytest.raises(softmaxce.InvalidArgumentError, match="partially overlaps"):
        softmaxce.cross_entropy_with_grad(logits, labels, grad_out=grad_out)
    assert arena.tobytes() == before


def test_read_only_logits_in_place_rejected() -> None:
    logits, labels = problem()
    logits.flags.writeable = False
    before = logits.tobytes()
    with pytest.raises(softmaxce.InvalidArgumentError, match="grad_out is read-only"):
        softmaxce.cross_entropy_with_grad(logits, labels, grad_out=logits)
    assert logits.tobytes() == before


def test_grad_out_fortran_rejected() -> None:
    logits, labels = problem()
    grad_out = np.asfortranarray(np.zeros((N, C), dtype=np.float32))
    with pytest.raises(softmaxce.InvalidArgumentError, match="grad_out must be C-"):
        softmaxce.cross_entropy_with_grad(logits, labels, grad_out=grad_out)
    assert not grad_out.any()


def test_grad_out_over_strided_logits_rejected() -> None:
    # The bytes of non-contiguous logits are not the same buffer as a
    # contiguous gradient, so this is no in-place call.
    logits, labels = problem()
    base = np.zeros((N, 2 * C), dtype=np.float32)
    strided_logits = base[:, ::2]
    strided_logits[:] = logits
    grad_out = base.reshape(-1)[: N * C].reshape(N, C)
    before = base.tobytes()
    with pytest.raises(softmaxce.InvalidArgumentError, match="partially overlaps"):
        softmaxce.cross_entropy_with_grad(strided_logits, labels, grad_out=grad_out)
    assert base.tobytes() == before


def test_output_overlapping_labels_rejected() -> None:
    logits = problem()[0]
    arena = np.zeros(N * C + 2 * N, dtype=np.float32)
    labels = arena[N * C :].view(np.int64)
    labels[:] = problem()[1]
    grad_out = arena[: N * C + 1][1:].reshape(N, C)
    before = arena.tobytes()
    with pytest.raises(
        softmaxce.InvalidArgumentError, match="shares memory with target"
    ):
        softmaxce.cross_entropy_with_grad(logits, labels, grad_out=grad_out)
    assert arena.tobytes() == before


def test_outputs_sharing_memory_rejected() -> None:
    logits, labels = problem()
    arena = np.zeros(N * C + N, dtype=np.float32)
    grad_out = arena[: N * C].reshape(N, C)
    out = arena[N * C - 1 : N * C - 1 + N]
    with pytest.raises(softmaxce.InvalidArgumentError, match="share memory"):
        softmaxce.cross_entropy_with_grad(
            logits, labels, reduction="none", out=out, grad_out=grad_out
        )
    assert not arena.any()


def test_out_is_logits_rejected() -> None:
    # Only the gradient may overwrite the logits.
    logits = np.random.default_rng(7).standard_normal((N, 1)).astype(np.float32)
    labels = np.zeros(N, dtype=np.int64)
    before = logits.tobytes()
    with pytest.raises(softmaxce.InvalidShapeError):
        softmaxce.cross_entropy(logits, labels, reduction="none", out=logits)
    out = logits.reshape(N)
    with pytest.raises(
        softmaxce.InvalidArgumentError, match="shares memory with input"
    ):
        softmaxce.cross_entropy(logits, labels, reduction="none", out=out)
    assert logits.tobytes() == before


def test_softmax_out_partial_overlap_rejected() -> None:
    x, arena = _arena_views()
    out = arena[1 : 1 + N * C].reshape(N, C)
    before = arena.tobytes()
    with pytest.raises(softmaxce.InvalidArgumentError, match="partially overlaps x"):
        softmaxce.softmax(x, out=out)
    assert arena.tobytes() == before


# ---- Fast path and general path ----------------------------------------------


@pytest.fixture(params=["extension", "python"])
def fast_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a test with the C fast path, then with its Python version."""
    if request.param == "python":
        monkeypatch.setattr(_sparse, "_fast_torch", _sparse._fast_torch_python)
    elif _lib.FASTPATH is None:
        pytest.skip("the extension module softmaxce._fastpath was not built")
    return request.param


@pytest.mark.usefixtures("fast_path")
def test_common_call_takes_fast_path(monkeypatch: pytest.MonkeyPatch) -> None:
    def general_path(*args: object, **kwargs: object) -> None:
        raise AssertionError("the common call took the general path")

    monkeypatch.setattr(_sparse, "torch_cross_entropy", general_path)
    logits, labels = problem()
    grad_out = np.empty_like(logits)
    softmaxce.cross_entropy(logits, labels)
    softmaxce.cross_entropy_backward(logits, labels, grad_out=grad_out)
    softmaxce.cross_entropy_with_grad(logits, labels, grad_out=grad_out)
    softmaxce.cross_entropy_with_grad(logits, labels.astype(np.int32), grad_out=logits)


@pytest.mark.usefixtures("fast_path")
def test_unpickled_arrays_take_fast_path(monkeypatch: pytest.MonkeyPatch) -> None:
    # Arrays sent to another process arrive with dtype objects that are not
    # numpy's own, but equal to them.
    want = softmaxce.cross_entropy_with_grad(*problem())
    logits, labels = pickle.loads(pickle.dumps(problem()))
    assert logits.dtype is not np.dtype(np.float32)

    def general_path(*args: object, **kwargs: object) -> None:
        raise AssertionError("the unpickled call took the general path")

    monkeypatch.setattr(_sparse, "torch_cross_entropy", general_path)
    got = softmaxce.cross_entropy_with_grad(logits, labels)
    assert_same_bits(got[0], want[0])
    assert_same_bits(got[1], want[1])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.usefixtures("fast_path")
def test_fast_and_general_paths_agree(dtype: Any, reduction: str) -> None:
    logits, labels = problem(dtype, n=64, c=33)
    labels[labels == -100] = 3
    fast = softmaxce.cross_entropy_with_grad(
        logits, labels, reduction=reduction, label_smoothing=0.05, ignore_index=3
    )
    # A numpy float and a list target are not plain arguments, so these calls
    # take the general path.
    general = softmaxce.cross_entropy_with_grad(
        logits,
        labels.tolist(),
        reduction=reduction,
        label_smoothing=np.float64(0.05),
        ignore_index=np.int64(3),
    )
    assert type(fast[0]) is type(general[0])
    assert_same_bits(fast[0], general[0])
    assert_same_bits(fast[1], general[1])


@pytest.mark.usefixtures("fast_path")
def test_fast_and_general_label_errors_agree() -> None:
    logits, labels = problem()
    labels[2] = C
    with pytest.raises(softmaxce.LabelOutOfRangeError) as fast:
        softmaxce.cross_entropy_with_grad(logits, labels)
    with pytest.raises(softmaxce.LabelOutOfRangeError) as general:
        softmaxce.cross_entropy_with_grad(logits, labels.tolist())
    assert str(fast.value) == str(general.value)
    assert str(fast.value).startswith("target: ")


@pytest.mark.parametrize(
    ("option", "value"),
    [("label_smoothing", 1.5), ("z_loss", -1.0), ("reduction", "avg")],
)
@pytest.mark.usefixtures("fast_path")
def test_fast_and_general_option_errors_agree(option: str, value: object) -> None:
    logits, labels = problem()
    with pytest.raises(softmaxce.InvalidArgumentError) as fast:
        softmaxce.cross_entropy_with_grad(logits, labels, **{option: value})
    with pytest.raises(softmaxce.InvalidArgumentError) as general:
        softmaxce.cross_entropy_with_grad(logits, labels.tolist(), **{option: value})
    assert str(fast.value) == str(general.value)


def test_negative_zero_smoothing_keeps_its_options() -> None:
    # The options cache must not hand a -0.0 call the structure of a 0.0 call.
    first = _lib.shared_options(_lib.SCE_REDUCTION_MEAN, None, 0.0)
    second = _lib.shared_options(_lib.SCE_REDUCTION_MEAN, None, -0.0)
    assert first is not second
    assert np.signbit(second.label_smoothing)
    assert not np.signbit(first.label_smoothing)


@pytest.mark.parametrize(
    "array",
    [
        np.arange(10.0),
        np.arange(10.0)[3:],
        np.arange(24, dtype=np.float32).reshape(4, 6)[1:, 2:],
        np.asfortranarray(np.ones((3, 4))),
        np.frombuffer(bytes(24), dtype=np.int64),
        np.empty(0),
        np.zeros(()),
    ],
    ids=["plain", "offset", "2d-view", "fortran", "read-only", "empty", "0-d"],
)
def test_data_address_matches_numpy(array: np.ndarray) -> None:
    assert _lib.data_address(array) == array.__array_interface__["data"][0]


# ---- Threads -------------------------------------------------------------------


@pytest.fixture
def restore_threads() -> Any:
    before = softmaxce.get_num_threads()
    yield
    softmaxce.set_num_threads(before)


@pytest.mark.usefixtures("restore_threads")
def test_set_and_get_num_threads() -> None:
    for count in (1, 3, 2):
        softmaxce.set_num_threads(count)
        assert softmaxce.get_num_threads() == count


@pytest.mark.usefixtures("restore_threads")
@pytest.mark.parametrize(
    ("value", "error", "words"),
    [
        (-1, softmaxce.InvalidArgumentError, ("-1", "1024")),
        (1025, softmaxce.InvalidArgumentError, ("1025", "1024")),
        (2**40, softmaxce.InvalidArgumentError, (str(2**40), "1024")),
        (1.5, softmaxce.InvalidDtypeError, ("1.5", "integer")),
        ("2", softmaxce.InvalidDtypeError, ("'2'", "integer")),
    ],
    ids=["negative", "too-many", "beyond-c-int", "float", "string"],
)
def test_bad_thread_count_rejected(
    value: object, error: type, words: tuple[str, ...]
) -> None:
    softmaxce.set_num_threads(2)
    with pytest.raises(error) as excinfo:
        softmaxce.set_num_threads(value)  # type: ignore[arg-type]
    for word in words:
        assert word in str(excinfo.value)
    assert softmaxce.get_num_threads() == 2


def test_zero_threads_restores_environment_default() -> None:
    script = (
        "import softmaxce\n"
        "print(softmaxce.get_num_threads())\n"
        "softmaxce.set_num_threads(1)\n"
        "print(softmaxce.get_num_threads())\n"
        "softmaxce.set_num_threads(0)\n"
        "print(softmaxce.get_num_threads())\n"
    )
    env = dict(os.environ, SOFTMAXCE_NUM_THREADS="3", PYTHONPATH=PYTHON_DIR)
    result = subprocess.run(
        [sys.executable, "-c", script],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert result.stdout.split() == ["3", "1", "3"]


@pytest.mark.usefixtures("restore_threads")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reduction", ["mean", "none"])
def test_thread_count_keeps_bits(dtype: Any, reduction: str) -> None:
    # 512 x 1000 is several blocks of work, so two threads share the rows.
    logits, labels = problem(dtype, n=512, c=1000, seed=8)
    results = []
    for count in (1, 2):
        softmaxce.set_num_threads(count)
        loss, grad = softmaxce.cross_entropy_with_grad(
            logits, labels, reduction=reduction, label_smoothing=0.1
        )
        softmax = softmaxce.softmax(logits)
        results.append((loss, grad, softmax))
    for one_thread, two_threads in zip(*results):
        assert_same_bits(two_threads, one_thread)


# ---- The packed call of the fast path ------------------------------------------


def packed_args(logits: np.ndarray, labels: np.ndarray, **fields: Any) -> bytes:
    """Pack a mean-reduced call with a gradient, as the fast path does."""
    loss = fields.pop("loss")
    grad = fields.pop("grad")
    values = {
        "dtype": _lib.SCE_FLOAT32,
        "label_dtype": _lib.SCE_INT64,
        "reduction": _lib.SCE_REDUCTION_MEAN,
        "has_ignore_index": 1,
        "mean_by": _lib.SCE_MEAN_BY_WEIGHT_SUM,
        "flags": 0,
    }
    values.update(fields)
    n, c = logits.shape
    return _lib.SPARSE_ARGS.pack(
        values["dtype"],
        values["label_dtype"],
        n,
        c,
        1,
        _lib.data_address(logits),
        logits.size,
        _lib.data_address(labels),
        n,
        0,
        0,
        0,
        0,
        values["reduction"],
        values["has_ignore_index"],
        -100,
        0.0,
        0.0,
        values["mean_by"],
        values["flags"],
        _lib.data_address(loss),
        1,
        _lib.data_address(grad),
        grad.size,
    )


def test_packed_call_matches_public_call() -> None:
    logits, labels = problem()
    loss, grad = np.empty(1, np.float32), np.empty_like(logits)
    _lib.sparse_cross_entropy_packed(packed_args(logits, labels, loss=loss, grad=grad))
    want_loss, want_grad = np.empty(1, np.float32), np.empty_like(logits)
    options = _lib.make_options(_lib.SCE_REDUCTION_MEAN, -100, 0.0)
    _lib.sparse_cross_entropy(
        _lib.SCE_FLOAT32,
        _lib.SCE_INT64,
        N,
        C,
        1,
        _lib.data_address(logits),
        logits.size,
        _lib.data_address(labels),
        N,
        None,
        0,
        None,
        0,
        ctypes.byref(options),
        _lib.data_address(want_loss),
        1,
        _lib.data_address(want_grad),
        want_grad.size,
    )
    assert_same_bits(loss, want_loss)
    assert_same_bits(grad, want_grad)


@pytest.mark.parametrize(
    "field",
    ["dtype", "label_dtype", "reduction", "has_ignore_index", "mean_by", "flags"],
)
def test_packed_call_rejects_wide_int_field(field: str) -> None:
    logits, labels = problem()
    loss, grad = np.full(1, 7, np.float32), np.full_like(logits, 7)
    packed = packed_args(logits, labels, loss=loss, grad=grad, **{field: 2**32 + 1})
    with pytest.raises(softmaxce.InvalidArgumentError, match=f"{field} 4294967297"):
        _lib.sparse_cross_entropy_packed(packed)
    assert (loss == 7).all()
    assert (grad == 7).all()


def test_packed_layout_matches_library() -> None:
    assert _lib.SPARSE_ARGS.size == _lib._sce_private_sparse_args_size()


def test_data_address_of_unaligned_array() -> None:
    raw = np.zeros(4 * N * C + 1, dtype=np.uint8)
    unaligned = raw[1:].view(np.float32).reshape(N, C)
    assert not unaligned.flags.aligned
    want = unaligned.__array_interface__["data"][0]
    assert _lib.data_address(unaligned) == want


@pytest.mark.usefixtures("fast_path")
def test_fast_path_refuses_unaligned_grad_out() -> None:
    logits, labels = problem(np.float32)
    raw = np.zeros(4 * N * C + 1, dtype=np.uint8)
    grad_out = raw[1:].view(np.float32).reshape(N, C)
    assert (
        _sparse._fast_torch(
            logits,
            labels,
            None,
            -100,
            "mean",
            0.0,
            0.0,
            None,
            True,
            True,
            None,
            grad_out,
        )
        is None
    )
    loss, grad = softmaxce.cross_entropy_with_grad(logits, labels, grad_out=grad_out)
    want_loss, want_grad = softmaxce.cross_entropy_with_grad(logits, labels)
    assert_same_bits(loss, want_loss)
    assert_same_bits(grad_out, want_grad)


def test_in_place_grad_over_logits_holding_labels_rejected() -> None:
    arena = np.zeros(N * C + 2 * N, dtype=np.float32)
    logits = arena.reshape(-1)[: N * C + 2 * N].reshape(N, C + 2)
    labels = arena[N * C :].view(np.int64)
    labels[:] = problem()[1]
    before = arena.tobytes()
    with pytest.raises(softmaxce.SoftmaxCEError):
        softmaxce.cross_entropy_with_grad(logits, labels, grad_out=logits)
    assert arena.tobytes() == before
