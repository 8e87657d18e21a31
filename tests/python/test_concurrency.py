"""Concurrent calls from Python threads: same bits as serial calls, GIL released.

* 16 threads make 10,000 calls in all, over problems of different shapes,
  dtypes, options and entry points. Each result must equal, bit for bit, the
  result of the same call made before the threads started.
* Some calls fail on purpose with a label unique to the thread and the call;
  the exception each thread gets must name its own label, so the library's
  per-thread error message never leaks between threads.
* The GIL is released during a call: while one thread is inside a long call,
  another thread completes whole library calls. No timing is asserted; the
  test checks the order of events.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import softmaxce
from oracle import assert_bitwise_equal
from softmaxce import _lib

THREADS = 16
TOTAL_CALLS = 10_000
FAILING_EVERY = 8  # every 8th call of a thread fails on purpose

Problem = Callable[[], tuple[np.ndarray, ...]]


def _as_arrays(result: Any) -> tuple[np.ndarray, ...]:
    items = result if isinstance(result, tuple) else (result,)
    return tuple(np.asarray(item) for item in items)


def _torch_call(
    x: np.ndarray, y: np.ndarray, options: dict[str, Any]
) -> tuple[np.ndarray, ...]:
    return _as_arrays(softmaxce.cross_entropy_with_grad(x, y, **options))


def _sparse_tf_call(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, ...]:
    return _as_arrays(softmaxce.sparse_softmax_cross_entropy_with_logits(y, x))


def _dense_tf_call(x: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, ...]:
    return _as_arrays(softmaxce.softmax_cross_entropy_with_logits_with_grad(p, x))


def _softmax_calls(x: np.ndarray) -> tuple[np.ndarray, ...]:
    y = softmaxce.softmax(x, axis=1)
    return (y, softmaxce.log_softmax_backward(y, x, axis=1))


def make_problems() -> list[Problem]:
    """Return calls of every entry point with varied shapes and options."""
    rng = np.random.default_rng(7)
    problems: list[Problem] = []
    for index in range(24):
        dtype = (np.float32, np.float64)[index % 2]
        batch = int(rng.integers(1, 48))
        classes = int(rng.integers(1, 300))
        inner = 1 + index % 3
        logits = (rng.standard_normal((batch, classes, inner)) * 4).astype(dtype)
        labels = rng.integers(0, classes, (batch, inner))
        probabilities = rng.dirichlet(np.ones(classes), size=batch).astype(dtype)
        weight = rng.uniform(0.25, 2.0, classes).astype(dtype)
        options = {
            "reduction": ("none", "sum", "mean")[index % 3],
            "label_smoothing": (0.0, 0.1)[index % 2],
            "weight": weight if index % 4 == 1 else None,
            "ignore_index": classes + 1,
        }
        if index % 5 == 0:
            labels[0, 0] = classes + 1
        kind = index % 6
        if kind in (0, 1, 2):
            call = functools.partial(_torch_call, logits, labels, options)
        elif kind == 3:
            in_range = np.minimum(labels[:, 0], classes - 1)
            call = functools.partial(_sparse_tf_call, logits[:, :, 0], in_range)
        elif kind == 4:
            call = functools.partial(_dense_tf_call, logits[:, :, 0], probabilities)
        else:
            call = functools.partial(_softmax_calls, logits)
        problems.append(call)
    return problems


def test_threads_equal_serial_bitwise() -> None:
    problems = make_problems()
    serial = [problem() for problem in problems]
    calls_per_thread = TOTAL_CALLS // THREADS
    start = threading.Barrier(THREADS)
    failures: list[str] = []
    calls = [0] * THREADS

    def worker(thread: int) -> None:
        rng = np.random.default_rng(thread)
        logits = rng.standard_normal((2, 3)).astype(np.float32)
        start.wait()
        for k in range(calls_per_thread):
            calls[thread] += 1
            if k % FAILING_EVERY == FAILING_EVERY - 1:
                label = 1_000_000 + thread * 10_000 + k
                try:
                    softmaxce.cross_entropy(logits, [0, label])
                    failures.append(f"thread {thread}: label {label} was accepted")
                except softmaxce.LabelOutOfRangeError as exc:
                    if f"label value {label} " not in str(exc):
                        failures.append(
                            f"thread {thread}: message of another call: {exc}"
                        )
                continue
            index = (thread * 7 + k) % len(problems)
            got = problems[index]()
            for g, w in zip(got, serial[index]):
                try:
                    assert_bitwise_equal(g, w)
                except AssertionError as exc:
                    failures.append(f"thread {thread}, problem {index}: {exc}")

    def guarded(thread: int) -> None:
        try:
            worker(thread)
        except Exception as exc:  # reported below; a thread must not die silently
            failures.append(f"thread {thread} raised {exc!r}")

    threads = [threading.Thread(target=guarded, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert not failures, f"{len(failures)} failures, first: {failures[:3]}"
    assert sum(calls) == TOTAL_CALLS


def _long_call_inputs() -> tuple[np.ndarray, np.ndarray]:
    """Return inputs of a call that takes a few hundred milliseconds."""
    rng = np.random.default_rng(3)
    logits = rng.standard_normal((16384, 2048)).astype(np.float32)
    labels = rng.integers(0, 2048, 16384)
    return logits, labels


def test_gil_released_during_call() -> None:
    """Another thread completes calls while one thread is inside a long call.

    If the GIL were held for the whole long call, no other Python code could
    run between its start and its end, so no short call could begin after the
    first third of it and end before the last third.
    """
    logits, labels = _long_call_inputs()
    small_logits = np.ones((4, 3), np.float32)
    small_labels = np.array([0, 1, 2, 0])
    long_call: dict[str, float] = {}
    short_calls: list[tuple[float, float]] = []
    done = threading.Event()

    def run_long() -> None:
        try:
            long_call["start"] = time.perf_counter()
            softmaxce.cross_entropy_with_grad(logits, labels, label_smoothing=0.1)
            long_call["end"] = time.perf_counter()
        finally:
            done.set()

    thread = threading.Thread(target=run_long)
    thread.start()
    while not done.is_set():
        begin = time.perf_counter()
        softmaxce.cross_entropy(small_logits, small_labels)
        short_calls.append((begin, time.perf_counter()))
    thread.join()

    assert "end" in long_call, "the long call raised"
    third = (long_call["end"] - long_call["start"]) / 3
    inside = [
        (begin, end)
        for begin, end in short_calls
        if begin > long_call["start"] + third and end < long_call["end"] - third
    ]
    assert inside, (
        f"no short call ran in the middle third of the long call "
        f"({len(short_calls)} short calls in all)"
    )


def test_two_long_calls_overlap(record_property: Callable[[str, Any], None]) -> None:
    """Two threads are inside long calls at the same time.

    Both threads are released by a barrier; each call must start before the
    other ends. The wall time of the pair relative to one call is recorded as
    a property, not asserted, because the machine is shared.
    """
    logits, labels = _long_call_inputs()
    times: dict[int, tuple[float, float]] = {}
    barrier = threading.Barrier(2)

    def run(thread: int) -> None:
        barrier.wait()
        begin = time.perf_counter()
        softmaxce.cross_entropy_with_grad(logits, labels, label_smoothing=0.1)
        times[thread] = (begin, time.perf_counter())

    one_begin = time.perf_counter()
    softmaxce.cross_entropy_with_grad(logits, labels, label_smoothing=0.1)
    one_call = time.perf_counter() - one_begin

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    (a_begin, a_end), (b_begin, b_end) = times[0], times[1]
    assert b_begin < a_end
    assert a_begin < b_end
    pair = max(a_end, b_end) - min(a_begin, b_begin)
    record_property("two_calls_over_one_call_wall_time", round(pair / one_call, 2))


@pytest.mark.parametrize("entry_point", ["softmax", "cross_entropy"])
def test_error_in_one_thread_does_not_reach_another(entry_point: str) -> None:
    """A failing call in one thread leaves another thread's results intact."""
    logits = np.random.default_rng(5).standard_normal((64, 10)).astype(np.float32)
    labels = np.arange(64) % 10
    want = softmaxce.cross_entropy(logits, labels, reduction="none")
    stop = threading.Event()
    errors: list[str] = []

    def fail_repeatedly() -> None:
        while not stop.is_set():
            try:
                if entry_point == "softmax":
                    softmaxce.softmax(logits, axis=5)
                else:
                    softmaxce.cross_entropy(logits, labels + 10)
            except (softmaxce.InvalidArgumentError, softmaxce.LabelOutOfRangeError):
                continue
            errors.append("a bad call succeeded")

    thread = threading.Thread(target=fail_repeatedly)
    thread.start()
    try:
        for _ in range(2000):
            got = softmaxce.cross_entropy(logits, labels, reduction="none")
            assert_bitwise_equal(got, want)
    finally:
        stop.set()
        thread.join()
    assert not errors


def test_thread_count_changes_during_calls() -> None:
    """Changing the library's thread count mid-run never changes a result.

    Reference results come from one library thread; then 8 Python threads
    repeat the calls on inputs of several blocks (so the worker pool runs)
    while another thread cycles the count through 1, 2, 3, 8 and the default.
    """
    rng = np.random.default_rng(9)
    problems = []
    for batch, classes in ((256, 1000), (700, 300), (64, 5000)):
        logits = rng.standard_normal((batch, classes)).astype(np.float32)
        labels = rng.integers(0, classes, batch)
        problems.append(functools.partial(_torch_call, logits, labels, {}))
        problems.append(functools.partial(_softmax_calls, logits[:, :, None]))
    default = _lib.get_num_threads()
    try:
        _lib.set_num_threads(1)
        want = [problem() for problem in problems]
        stop = threading.Event()
        failures: list[str] = []

        def toggle() -> None:
            counts = (1, 2, 3, 8, 0)
            k = 0
            while not stop.is_set():
                _lib.set_num_threads(counts[k % len(counts)])
                k += 1

        def work(thread: int) -> None:
            for k in range(40):
                index = (thread + k) % len(problems)
                for g, w in zip(problems[index](), want[index]):
                    if g.tobytes() != w.tobytes():
                        failures.append(f"thread {thread}: problem {index} differs")

        toggler = threading.Thread(target=toggle)
        toggler.start()
        workers = [threading.Thread(target=work, args=(i,)) for i in range(8)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        stop.set()
        toggler.join()
    finally:
        _lib.set_num_threads(0)
    assert not failures, failures[:3]
    assert _lib.get_num_threads() == default
