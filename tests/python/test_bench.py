"""Smoke tests of ``python -m softmaxce bench`` on tiny shapes.

Nothing here asserts a time, because the machine is shared. The tests check
that every contender's worker runs and that the table, JSON and plot are
written. They also check that ratios come from the right rows, and that a
shape too large for the memory is skipped with a message, not allocated.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import softmaxce
from softmaxce import _bench

PYTHON_DIR = str(Path(softmaxce.__file__).resolve().parent.parent)
TINY = "f32:8x10,f64:4x3"


def run_bench(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=PYTHON_DIR)
    return subprocess.run(
        [sys.executable, "-m", "softmaxce", "bench", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def results_of(path: Path) -> list[dict[str, Any]]:
    document = json.loads(path.read_text())
    assert document["machine"]["cpus"] >= 1
    assert document["repeats"] == 1
    return document["results"]


def test_bench_numpy_contenders_write_all_outputs(tmp_path: Path) -> None:
    json_path, plot_path = tmp_path / "bench.json", tmp_path / "bench.png"
    result = run_bench(
        "--shapes", TINY,
        "--repeats", "1",
        "--min-time", "0.001",
        "--threads", "1,2",
        "--contenders", "softmaxce,numpy,copy",
        "--json", str(json_path),
        "--plot", str(plot_path),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    for word in ("softmaxce", "numpy", "copy", "f32 8x10", "f64 4x3", "median"):
        assert word in result.stdout, result.stdout

    records = results_of(json_path)
    assert len(records) == 2 * 2 * 3  # shapes x thread counts x contenders
    for record in records:
        assert 1 <= len(record["times_s"]) <= _bench.MAX_REPEATS
        assert record["median_s"] > 0
        assert record["min_s"] <= record["median_s"] <= record["max_s"]
        assert record["time_over_softmaxce"] > 0
        if record["contender"] == "softmaxce":
            assert record["time_over_softmaxce"] == 1.0
            assert record["softmaxce_over_copy"] > 0
    versions = {r["contender"]: r["version"] for r in records}
    assert versions["softmaxce"] == softmaxce.__version__

    # The plot needs matplotlib, which requirements-test.txt lists: where the
    # frameworks are required (CI), a missing matplotlib fails too.
    has_matplotlib = importlib.util.find_spec("matplotlib") is not None
    if has_matplotlib or os.environ.get("SOFTMAXCE_REQUIRE_FRAMEWORKS") == "1":
        assert plot_path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


FRAMEWORKS = [
    pytest.param(name, marks=getattr(pytest.mark, marker))
    for name, marker in (
        ("torch", "torch"),
        ("tensorflow", "tensorflow"),
        ("jax", "jax"),
    )
]


@pytest.mark.parametrize("contender", FRAMEWORKS)
def test_bench_framework_worker_runs(contender: str, tmp_path: Path) -> None:
    if contender not in _bench.installed_contenders():
        pytest.skip(f"{contender} is not installed")
    json_path = tmp_path / "bench.json"
    result = run_bench(
        "--shapes", TINY,
        "--repeats", "1",
        "--min-time", "0.001",
        "--threads", "1",
        "--contenders", f"softmaxce,{contender}",
        "--json", str(json_path),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    records = [r for r in results_of(json_path) if r["contender"] == contender]
    assert [r["shape"] for r in records] == ["f32:8x10", "f64:4x3"]
    for record in records:
        assert record["median_s"] > 0
        assert record["time_over_softmaxce"] > 0


def test_bench_skips_shape_beyond_memory(tmp_path: Path) -> None:
    # 8 TB of float64 logits: the worker must report, not allocate.
    json_path = tmp_path / "bench.json"
    result = run_bench(
        "--shapes", "f64:1000000x1000000,f32:4x3",
        "--repeats", "1",
        "--min-time", "0.001",
        "--threads", "1",
        "--contenders", "softmaxce",
        "--json", str(json_path),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    records = results_of(json_path)
    assert "GiB" in records[0]["skipped"]
    assert "skipped" in result.stderr
    assert "skipped" in result.stdout
    assert records[1]["median_s"] > 0


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("--contenders", "softmaxce,nope"), ("unknown contender", "nope")),
        (("--shapes", "f16:4x3"), ("invalid shape", "f16:4x3")),
        (("--shapes", "f32:4by3"), ("invalid shape",)),
        (("--threads", "0"), ("thread counts",)),
        (("--threads", "two"), ("thread counts", "two")),
    ],
    ids=["contender", "dtype", "dims", "zero-threads", "word-threads"],
)
def test_bench_rejects_bad_arguments(args: tuple[str, ...], words: tuple) -> None:
    result = run_bench(*args, timeout=60)
    assert result.returncode == 2
    for word in words:
        assert word in result.stderr, result.stderr


def test_parse_shape() -> None:
    assert _bench.parse_shape("f64:4096x32000") == _bench.Shape("f64", 4096, 32000)
    shape = _bench.parse_shape(" f32:32x10 ")
    assert shape.name == "f32 32x10"
    assert shape.logits_bytes == 32 * 10 * 4
    with pytest.raises(ValueError, match="N and C must be >= 1"):
        _bench.parse_shape("f32:0x10")


def test_ratios_use_same_shape_and_threads() -> None:
    def record(contender: str, threads: int, median: float) -> dict[str, Any]:
        return {
            "shape": "f32:4x3",
            "threads": threads,
            "contender": contender,
            "median_s": median,
        }

    records = [
        record("softmaxce", 1, 2.0),
        record("torch", 1, 10.0),
        record("copy", 1, 1.0),
        record("softmaxce", 2, 1.0),
        record("torch", 2, 3.0),
        record("copy", 2, 4.0),  # slower with two threads: the floor stays 1.0
        record("softmaxce", 4, 1.0),
        {"shape": "f32:4x3", "threads": 4, "contender": "copy", "skipped": "memory"},
        {**record("softmaxce", 1, 8.0), "shape": "f64:4x3"},
    ]
    _bench._add_ratios(records)
    assert records[0]["time_over_softmaxce"] == 1.0
    assert records[0]["softmaxce_over_copy"] == 2.0
    assert records[1]["time_over_softmaxce"] == 5.0
    assert records[2]["time_over_softmaxce"] == 0.5
    assert records[4]["time_over_softmaxce"] == 3.0
    assert records[3]["copy_floor_s"] == 1.0
    assert records[3]["softmaxce_over_copy"] == 1.0
    assert records[6]["softmaxce_over_copy"] == 1.0
    assert records[8]["softmaxce_over_copy"] is None


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(2.5, "2.5 s"), (0.0123, "12.3 ms"), (3.21e-6, "3.21 us"), (5e-8, "50 ns")],
)
def test_format_seconds(seconds: float, text: str) -> None:
    assert _bench.format_seconds(seconds) == text
