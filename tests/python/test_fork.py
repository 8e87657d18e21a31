"""fork() after import: a clear ForkedProcessError in the child, never a hang.

The Go runtime inside the library does not survive fork(), so a call made in
a forked child must be rejected before it enters the library. Each scenario
runs in a fresh interpreter (subprocess), so a crash or a hang is a failed
test and not a dead test run: the subprocess has a timeout, and forked
children also arm an alarm that kills them if they hang.

The child measures the time from its call to the error (the "seconds" field
of its report, about half a millisecond on a 2-core x86-64 machine) but it is
not asserted, because the machine is shared.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import softmaxce

# Seconds before a scenario counts as hung; far above the few hundred
# milliseconds a scenario needs, so a loaded machine does not fail it.
SCENARIO_TIMEOUT_S = 120
# Seconds after which a forked child kills itself with SIGALRM.
CHILD_ALARM_S = 30

PACKAGE_PARENT = str(Path(softmaxce.__file__).resolve().parent.parent)

COMMON = f"""
import json, os, signal, sys, time
import numpy as np
import softmaxce
from softmaxce import _lib

CHILD_ALARM_S = {CHILD_ALARM_S}
LOGITS = np.array([[1.0, 2.0, 0.5], [0.0, -1.0, 3.0]], dtype=np.float32)
LABELS = np.array([1, 2])


def call():
    return softmaxce.cross_entropy(LOGITS, LABELS)


def raw_call():
    # Enters the C function directly, past the binding's own fork check.
    loss = np.full(1, -7.0, dtype=np.float32)
    options = _lib.make_options(_lib.SCE_REDUCTION_SUM, None, 0.0)
    import ctypes
    status = _lib._sce_sparse_cross_entropy(
        _lib.SCE_FLOAT32, _lib.SCE_INT64, 2, 3, 1,
        LOGITS.ctypes.data, 6, LABELS.astype(np.int64).ctypes.data, 2,
        None, 0, None, 0, ctypes.byref(options), loss.ctypes.data, 1, None, 0)
    return status, float(loss[0])


def child_report():
    # What a forked child sees; written as JSON to the parent.
    signal.alarm(CHILD_ALARM_S)
    report = {{}}
    start = time.perf_counter()
    try:
        call()
        report["error"] = None
    except Exception as exc:
        report["error"] = type(exc).__name__
        report["message"] = str(exc)
        report["is_runtime_error"] = isinstance(exc, RuntimeError)
    report["seconds"] = time.perf_counter() - start
    report["raw_status"], report["raw_loss"] = raw_call()
    return report
"""


def run_scenario(directory: Path, body: str) -> dict[str, Any]:
    """Run COMMON + `body` as a script in a new interpreter.

    The script is a file, so that the spawn and forkserver start methods can
    import its functions in their workers. Returns the JSON it prints last.
    """
    script = directory / "scenario.py"
    script.write_text(COMMON + textwrap.dedent(body))
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
        f"scenario exited with {result.returncode}: {result.stderr[-2000:]}"
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def check_child_report(report: dict[str, Any]) -> None:
    assert report["error"] == "ForkedProcessError"
    assert report["is_runtime_error"]
    assert "fork" in report["message"]
    assert "spawn" in report["message"]
    assert report["raw_status"] == 6, "the C function did not return SCE_ERROR_FORKED"
    assert report["raw_loss"] == -7.0, "the C function wrote its output in the child"


@pytest.mark.parametrize("called_before_fork", [True, False])
def test_os_fork_child_gets_forked_error(
    tmp_path: Path, called_before_fork: bool
) -> None:
    """Loading the library starts Go, so even a child of an idle parent is refused."""
    report = run_scenario(
        tmp_path,
        f"""
        if {called_before_fork}:
            want = call()
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(read_end)
            os.write(write_end, json.dumps(child_report()).encode())
            os._exit(0)
        os.close(write_end)
        data = b""
        while chunk := os.read(read_end, 65536):
            data += chunk
        _, status = os.waitpid(pid, 0)
        report = json.loads(data) if data else {{}}
        report["child_status"] = status
        # The parent still works after the fork.
        report["parent_after_fork"] = float(call())
        print(json.dumps(report))
        """,
    )
    assert report["child_status"] == 0, "the forked child crashed or hung"
    check_child_report(report)
    logits = np.array([[1.0, 2.0, 0.5], [0.0, -1.0, 3.0]], dtype=np.float32)
    want = float(softmaxce.cross_entropy(logits, np.array([1, 2])))
    assert report["parent_after_fork"] == want


def test_multiprocessing_fork_pool_raises_forked_error(tmp_path: Path) -> None:
    report = run_scenario(
        tmp_path,
        """
        import multiprocessing

        def work(_):
            return child_report()

        if __name__ == "__main__":
            call()
            context = multiprocessing.get_context("fork")
            with context.Pool(2) as pool:
                reports = pool.map_async(work, range(4)).get(CHILD_ALARM_S * 2)
            # An error raised in a worker reaches the parent pickled.
            with context.Pool(1) as pool:
                try:
                    pool.apply_async(call).get(CHILD_ALARM_S * 2)
                    propagated = None
                except Exception as exc:
                    propagated = type(exc).__name__
            print(json.dumps({"reports": reports, "propagated": propagated}))
        """,
    )
    assert len(report["reports"]) == 4
    for child in report["reports"]:
        check_child_report(child)
    assert report["propagated"] == "ForkedProcessError"


def test_multiprocessing_fork_process_exits_cleanly(tmp_path: Path) -> None:
    report = run_scenario(
        tmp_path,
        """
        import multiprocessing

        def work(queue):
            queue.put(child_report())

        if __name__ == "__main__":
            call()
            context = multiprocessing.get_context("fork")
            queue = context.Queue()
            process = context.Process(target=work, args=(queue,))
            process.start()
            child = queue.get(timeout=CHILD_ALARM_S * 2)
            process.join(CHILD_ALARM_S * 2)
            child["exitcode"] = process.exitcode
            print(json.dumps(child))
        """,
    )
    assert report["exitcode"] == 0
    check_child_report(report)


@pytest.mark.parametrize("method", ["spawn", "forkserver"])
def test_spawn_and_forkserver_work(tmp_path: Path, method: str) -> None:
    """Processes that load the library themselves compute normally."""
    report = run_scenario(
        tmp_path,
        f"""
        import multiprocessing

        def work(seed):
            rng = np.random.default_rng(seed)
            x = rng.standard_normal((8, 5)).astype(np.float32)
            y = rng.integers(0, 5, 8)
            return softmaxce.cross_entropy(x, y).tobytes().hex()

        if __name__ == "__main__":
            want = [work(seed) for seed in range(4)]
            context = multiprocessing.get_context("{method}")
            with context.Pool(2) as pool:
                got = pool.map_async(work, range(4)).get(CHILD_ALARM_S * 2)
            print(json.dumps({{"equal": got == want}}))
        """,
    )
    assert report["equal"], "results from worker processes differ from the parent's"
