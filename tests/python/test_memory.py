"""Resident memory stays flat over many small calls, failing calls included.

A fresh interpreter (subprocess) makes a warm-up round of calls, reads its
resident set size (RSS) from /proc/self/statm, makes many more calls and
reads it again. Every entry point is called in turn, and one call in five
fails on purpose, so that a leak on an error path (the message the library
allocates for each error) shows too.

The bound is generous: the machine is shared and both the Python allocator
and the Go runtime keep freed memory for reuse. It still catches a leak of
about 170 bytes per call over 10^5 calls (16 MiB), and 34 bytes per call over
10^6 calls (32 MiB).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import softmaxce

PACKAGE_PARENT = str(Path(softmaxce.__file__).resolve().parent.parent)
MIB = 1 << 20

SCRIPT = """
import gc, json, os, sys
import numpy as np
import softmaxce

rng = np.random.default_rng(2)
x = rng.standard_normal((8, 10)).astype(np.float32)
y = rng.integers(0, 10, 8)
p = rng.dirichlet(np.ones(10), size=8).astype(np.float32)
bad = y.copy()
bad[3] = 10


def ok_call(k):
    kind = k % 4
    if kind == 0:
        return softmaxce.cross_entropy_with_grad(x, y, label_smoothing=0.1)
    if kind == 1:
        return softmaxce.sparse_softmax_cross_entropy_with_logits(y, x)
    if kind == 2:
        return softmaxce.softmax_cross_entropy_with_logits_with_grad(p, x)
    return softmaxce.log_softmax_backward(softmaxce.log_softmax(x), x)


def failing_call(k):
    try:
        if k % 2:
            softmaxce.cross_entropy(x, bad)
        else:
            softmaxce.softmax(x, axis=7)
    except (softmaxce.LabelOutOfRangeError, softmaxce.InvalidArgumentError):
        return
    raise AssertionError("a bad call succeeded")


def run(calls):
    for k in range(calls):
        if k % 5 == 4:
            failing_call(k)
        else:
            ok_call(k)


def rss():
    gc.collect()
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


calls = int(sys.argv[1])
run(min(calls // 2, 50_000))  # pools and the Go heap reach their size
before = rss()
run(calls)
after = rss()
print(json.dumps({"before": before, "after": after}))
"""


def measure(tmp_path: Path, calls: int) -> dict[str, int]:
    script = tmp_path / "memory.py"
    script.write_text(textwrap.dedent(SCRIPT))
    result = subprocess.run(
        [sys.executable, str(script), str(calls)],
        capture_output=True,
        text=True,
        timeout=1800,
        env=dict(os.environ, PYTHONPATH=PACKAGE_PARENT),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="needs Linux /proc")
def test_rss_flat_over_1e5_calls(tmp_path: Path) -> None:
    rss = measure(tmp_path, 100_000)
    growth = rss["after"] - rss["before"]
    assert growth < 16 * MIB, (
        f"RSS grew by {growth / MIB:.1f} MiB over 10^5 calls "
        f"({rss['before'] / MIB:.1f} -> {rss['after'] / MIB:.1f} MiB)"
    )


@pytest.mark.large
@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="needs Linux /proc")
def test_rss_flat_over_1e6_calls(tmp_path: Path) -> None:
    rss = measure(tmp_path, 1_000_000)
    growth = rss["after"] - rss["before"]
    assert growth < 32 * MIB, (
        f"RSS grew by {growth / MIB:.1f} MiB over 10^6 calls "
        f"({rss['before'] / MIB:.1f} -> {rss['after'] / MIB:.1f} MiB)"
    )
