"""Signals during library calls: no crash, no corrupted result, no lost Ctrl-C.

The library embeds a Go runtime, which installs its own signal handlers and
runs threads of its own, so a signal may arrive on a Go thread in the middle
of a call. Each scenario runs in a fresh interpreter (subprocess), so a crash
is a failed test:

* SIGINT sent during a long call (from another thread, to the process or to
  that thread) raises KeyboardInterrupt once the call returns. The call still
  runs to its end: the caller's output buffers hold the complete result.
* faulthandler, enabled before or after the library is loaded, with periodic
  traceback dumps and a user signal bound to it, does not crash the process
  or change results.
* A sampling profiler's timer (setitimer ITIMER_PROF with a SIGPROF handler,
  thousands of signals a second) and an ITIMER_REAL SIGALRM timer during a
  loop of calls do not crash the process or change results.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import softmaxce

SCENARIO_TIMEOUT_S = 180

PACKAGE_PARENT = str(Path(softmaxce.__file__).resolve().parent.parent)

COMMON = """
import ctypes, json, os, signal, sys, threading, time
import numpy as np
import softmaxce
from softmaxce import _lib

rng = np.random.default_rng(11)
BIG_LOGITS = rng.standard_normal((8192, 2048), dtype=np.float32)
BIG_LABELS = rng.integers(0, 2048, 8192).astype(np.int64)
SMALL = [
    (rng.standard_normal((n, c)).astype(np.float32), rng.integers(0, c, n))
    for n, c in ((1, 3), (17, 10), (64, 100), (300, 1000))
]


def raw_call(loss, grad):
    # One fused library call writing into caller-owned buffers, so that its
    # result survives an exception raised right after it returns.
    options = _lib.make_options(_lib.SCE_REDUCTION_MEAN, -100, 0.1)
    _lib.sparse_cross_entropy(
        _lib.SCE_FLOAT32, _lib.SCE_INT64, BIG_LOGITS.shape[0], BIG_LOGITS.shape[1],
        1, BIG_LOGITS.ctypes.data, BIG_LOGITS.size, BIG_LABELS.ctypes.data,
        BIG_LABELS.size, None, 0, None, 0, ctypes.byref(options),
        loss.ctypes.data, 1, grad.ctypes.data, grad.size)


def small_results():
    out = []
    for x, y in SMALL:
        loss, grad = softmaxce.cross_entropy_with_grad(x, y, label_smoothing=0.05)
        out.append((loss.tobytes(), grad.tobytes(), softmaxce.softmax(x).tobytes()))
    return out


def call_loop(seconds, want):
    # Call the library for `seconds`; return the number of loops and of
    # results that differ from `want`.
    loops = mismatches = 0
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        if small_results() != want:
            mismatches += 1
        loops += 1
    return loops, mismatches
"""


def run_scenario(directory: Path, body: str, prefix: str = "") -> dict[str, Any]:
    """Run `prefix` + COMMON + `body` in a new interpreter.

    Returns the JSON object the script prints last.
    """
    script = directory / "scenario.py"
    script.write_text(textwrap.dedent(prefix) + COMMON + textwrap.dedent(body))
    env = dict(os.environ, PYTHONPATH=PACKAGE_PARENT)
    try:
        result = subprocess.run(
            [sys.executable, str(script)],
            capture_output=True,
            text=True,
            timeout=SCENARIO_TIMEOUT_S,
            env=env,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"scenario hung for {SCENARIO_TIMEOUT_S} s: {exc.stderr!r}")
    assert result.returncode == 0, (
        f"scenario exited with {result.returncode}: {result.stderr[-3000:]}"
    )
    assert "fatal error" not in result.stderr, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("sender", ["os.kill", "pthread_kill", "raise_signal"])
def test_sigint_during_call_raised_after_it(tmp_path: Path, sender: str) -> None:
    """Ctrl-C during a long call: KeyboardInterrupt once it returns, result whole.

    os.kill targets the process, so the kernel may deliver the signal to any
    thread, Go's included; pthread_kill targets the calling thread, which is
    inside the library; raise_signal raises it in the timer thread.
    """
    report = run_scenario(
        tmp_path,
        f"""
        sender = "{sender}"
        want_loss = np.zeros(1, np.float32)
        want_grad = np.zeros(BIG_LOGITS.shape, np.float32)
        start = time.perf_counter()
        raw_call(want_loss, want_grad)
        duration = time.perf_counter() - start

        main_thread = threading.get_ident()

        def attempt(delay):
            # One interrupted call; returns what happened.
            loss = np.full(1, np.nan, np.float32)
            grad = np.full(BIG_LOGITS.shape, np.nan, np.float32)
            entered = threading.Event()

            def interrupt():
                entered.wait()
                time.sleep(delay)
                if sender == "os.kill":
                    os.kill(os.getpid(), signal.SIGINT)
                elif sender == "pthread_kill":
                    signal.pthread_kill(main_thread, signal.SIGINT)
                else:
                    signal.raise_signal(signal.SIGINT)

            timer = threading.Thread(target=interrupt)
            timer.start()
            interrupted = returned = False
            try:
                entered.set()
                raw_call(loss, grad)
                returned = True
                time.sleep(5 * duration)  # a signal sent late lands here
            except KeyboardInterrupt:
                interrupted = True
            timer.join()
            return {{
                "interrupted": interrupted,
                # Raised before the statement after the call: the signal came
                # in while the call ran.
                "during_call": interrupted and not returned,
                "whole": loss.tobytes() == want_loss.tobytes()
                    and grad.tobytes() == want_grad.tobytes(),
            }}

        # A busy machine may slow the timer thread until the call is over;
        # such an attempt is repeated with a shorter delay.
        attempts = []
        for k in range(6):
            attempts.append(attempt(duration / (4 * 2**k)))
            if attempts[-1]["during_call"]:
                break

        after_loss = np.zeros(1, np.float32)
        after_grad = np.zeros(BIG_LOGITS.shape, np.float32)
        raw_call(after_loss, after_grad)
        print(json.dumps({{
            "attempts": attempts,
            "next_call_equal": after_grad.tobytes() == want_grad.tobytes()
                and after_loss.tobytes() == want_loss.tobytes(),
            "call_seconds": duration,
        }}))
        """,
    )
    attempts = report["attempts"]
    for attempt in attempts:
        assert attempt["interrupted"], "KeyboardInterrupt was lost"
    last = attempts[-1]
    assert last["during_call"], f"no SIGINT arrived during a call: {attempts}"
    assert last["whole"], "the interrupted call's loss or gradient is incomplete"
    assert report["next_call_equal"]


def test_sigint_interrupts_public_call_loop(tmp_path: Path) -> None:
    """KeyboardInterrupt reaches a loop of public calls; later calls are intact."""
    report = run_scenario(
        tmp_path,
        """
        want = small_results()
        timer = threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT))
        timer.start()
        interrupted = False
        try:
            call_loop(30.0, want)
        except KeyboardInterrupt:
            interrupted = True
        timer.join()
        loops, mismatches = call_loop(0.3, want)
        print(json.dumps({"interrupted": interrupted, "loops": loops,
                          "mismatches": mismatches}))
        """,
    )
    assert report["interrupted"]
    assert report["loops"] > 0
    assert report["mismatches"] == 0


FAULTHANDLER_ENABLE = """
import faulthandler, os
faulthandler.enable(file=open(os.devnull, "w"), all_threads=True)
"""


@pytest.mark.parametrize("when", ["before-import", "after-import"])
def test_faulthandler_does_not_crash(tmp_path: Path, when: str) -> None:
    """faulthandler enabled, a SIGUSR1 dump binding and timed dumps, during calls.

    Enabled before the library is loaded, the Go runtime finds faulthandler's
    handlers installed; enabled after, faulthandler replaces Go's handlers
    for the fatal signals. SIGUSR1, sent to the process, may run
    faulthandler's handler on a Go thread.

    NOTE: CPython's dumps of other threads' tracebacks read their frames
    without the GIL and can crash while those threads run Python code (with
    or without this library: a loop of ctypes calls is enough on CPython
    3.11). So the SIGUSR1 binding dumps only the current thread, and each
    all-threads dump_traceback_later fires once, while the main thread is
    inside a long library call and its frames do not change.
    """
    report = run_scenario(
        tmp_path,
        f"""
        import faulthandler
        sink = open(os.devnull, "w")
        if "{when}" == "after-import":
            faulthandler.enable(file=sink, all_threads=True)
        want = small_results()
        big_want = (np.zeros(1, np.float32), np.zeros(BIG_LOGITS.shape, np.float32))
        start = time.perf_counter()
        raw_call(*big_want)
        duration = time.perf_counter() - start

        faulthandler.register(signal.SIGUSR1, file=sink, all_threads=False)
        stop = threading.Event()
        def poke():
            while not stop.is_set():
                os.kill(os.getpid(), signal.SIGUSR1)
                time.sleep(0.002)
        poker = threading.Thread(target=poke)
        poker.start()
        loops, mismatches = call_loop(1.0, want)
        stop.set()
        poker.join()
        faulthandler.unregister(signal.SIGUSR1)

        big_equal = True
        for _ in range(3):
            big = (np.zeros(1, np.float32), np.zeros(BIG_LOGITS.shape, np.float32))
            faulthandler.dump_traceback_later(duration / 2, file=sink)
            raw_call(*big)
            faulthandler.cancel_dump_traceback_later()
            big_equal &= big[0].tobytes() == big_want[0].tobytes()
            big_equal &= big[1].tobytes() == big_want[1].tobytes()
        print(json.dumps({{"loops": loops, "mismatches": mismatches,
                           "big_equal": big_equal}}))
        """,
        prefix=FAULTHANDLER_ENABLE if when == "before-import" else "",
    )
    assert report["loops"] > 0
    assert report["mismatches"] == 0
    assert report["big_equal"]


@pytest.mark.parametrize(
    ("timer", "signal_name"),
    [("ITIMER_PROF", "SIGPROF"), ("ITIMER_REAL", "SIGALRM")],
)
def test_profiler_timer_signals(tmp_path: Path, timer: str, signal_name: str) -> None:
    """A timer signal every 200 microseconds during calls, as a profiler sends."""
    report = run_scenario(
        tmp_path,
        f"""
        want = small_results()
        big_want = (np.zeros(1, np.float32), np.zeros(BIG_LOGITS.shape, np.float32))
        raw_call(*big_want)
        count = 0
        def handler(signum, frame):
            global count
            count += 1
        signal.signal(signal.{signal_name}, handler)
        signal.setitimer(signal.{timer}, 0.0002, 0.0002)
        loops, mismatches = call_loop(1.0, want)
        big = (np.zeros(1, np.float32), np.zeros(BIG_LOGITS.shape, np.float32))
        raw_call(*big)
        signal.setitimer(signal.{timer}, 0, 0)
        print(json.dumps({{
            "signals": count, "loops": loops, "mismatches": mismatches,
            "big_equal": big[0].tobytes() == big_want[0].tobytes()
                and big[1].tobytes() == big_want[1].tobytes(),
        }}))
        """,
    )
    assert report["signals"] > 0, "the timer signal never arrived"
    assert report["loops"] > 0
    assert report["mismatches"] == 0
    assert report["big_equal"]
