"""Benchmark of fused cross-entropy forward and backward: ``python -m softmaxce bench``.

Each contender computes the mean cross-entropy of float logits (N, C) and
int64 labels (N,) and its gradient with respect to the logits, the step of a
training loop:

* softmaxce: ``cross_entropy_with_grad(logits, labels, grad_out=grad)``, one
  fused call that writes into a reused gradient array.
* torch: ``F.cross_entropy(x, y).backward()`` with ``x.grad`` cleared first.
* tensorflow: ``tf.nn.sparse_softmax_cross_entropy_with_logits``, then
  ``tf.reduce_mean``, with the gradient from a ``tf.GradientTape``, all in one
  ``tf.function``.
* jax: ``jax.jit(jax.value_and_grad(loss))`` of the mean of
  ``optax.softmax_cross_entropy_with_integer_labels``.
* numpy: a vectorised numpy implementation writing into a reused array.
* copy: ``np.copyto`` of an array of the logits' size into a reused array, the
  memory-bandwidth floor of any kernel that reads the logits and writes a
  gradient of the same size.

Every contender runs in its own subprocess, once per thread count, so that
thread settings are made before a framework starts its thread pools and the
memory of one contender is returned before the next starts. A worker prints
one JSON line per shape on stdout; the parent process shows progress, prints
a table and writes the JSON and plot files.
"""

from __future__ import annotations

import dataclasses
import gc
import importlib.util
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import timeit
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["DEFAULT_SHAPES", "CONTENDERS", "run"]

DEFAULT_SHAPES = (
    "f32:4096x32000",
    "f32:1024x50257",
    "f32:8192x1000",
    "f32:32x10",
    "f64:4096x32000",
)

# Contender name -> modules it needs.
CONTENDERS: dict[str, tuple[str, ...]] = {
    "softmaxce": (),
    "torch": ("torch",),
    "tensorflow": ("tensorflow",),
    "jax": ("jax", "optax"),
    "numpy": (),
    "copy": (),
}

# Peak memory of a contender in units of the logits' size. These are estimates
# from the arrays each one keeps: the logits and the gradient for softmaxce
# and copy, plus a temporary for numpy. The frameworks add up to three more
# arrays of that size (log-probabilities, their gradient, a copy of the input).
MEMORY_FACTORS = {
    "softmaxce": 2.0,
    "copy": 2.0,
    "numpy": 2.5,
    "torch": 5.0,
    "tensorflow": 5.0,
    "jax": 5.0,
}
MEMORY_HEADROOM = 1 << 30  # bytes left free for everything else

_LINE_PREFIX = "SOFTMAXCE_BENCH "
_DTYPES = {"f32": np.float32, "f64": np.float64}
_SEED = 20240611


# ---- Shapes and options --------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Shape:
    """One benchmark problem: the logits' dtype name ('f32' or 'f64'), N and C."""

    dtype: str
    n: int
    c: int

    @property
    def name(self) -> str:
        return f"{self.dtype} {self.n}x{self.c}"

    @property
    def elements(self) -> int:
        return self.n * self.c

    @property
    def logits_bytes(self) -> int:
        return self.elements * np.dtype(_DTYPES[self.dtype]).itemsize


def parse_shape(text: str) -> Shape:
    """Parse 'f32:4096x32000' (dtype f32 or f64, then N x C).

    Raises
    ------
    ValueError
        If `text` has another form.
    """
    dtype, _, dims = text.strip().partition(":")
    n_text, _, c_text = dims.partition("x")
    if dtype not in _DTYPES or not n_text.isdigit() or not c_text.isdigit():
        raise ValueError(
            f"invalid shape {text!r}: expected DTYPE:NxC with DTYPE f32 or f64, "
            "for example f32:4096x32000"
        )
    n, c = int(n_text), int(c_text)
    if n < 1 or c < 1:
        raise ValueError(f"invalid shape {text!r}: N and C must be >= 1")
    return Shape(dtype, n, c)


@dataclasses.dataclass(frozen=True)
class Options:
    """Shapes, thread counts, contenders and timing budget of a run."""

    shapes: tuple[Shape, ...]
    threads: tuple[int, ...]
    contenders: tuple[str, ...]
    repeats: int
    min_time: float  # seconds per timed repeat, reached by calling repeatedly


def installed_contenders() -> list[str]:
    """Return the contenders whose modules can be imported here."""
    return [
        name
        for name, modules in CONTENDERS.items()
        if all(importlib.util.find_spec(m) is not None for m in modules)
    ]


# ---- Worker: one contender, one thread count, every shape ------------------------


def _make_inputs(shape: Shape) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(_SEED)
    dtype = _DTYPES[shape.dtype]
    logits = rng.standard_normal((shape.n, shape.c), dtype=dtype)
    logits *= 3
    labels = rng.integers(0, shape.c, shape.n, dtype=np.int64)
    return logits, labels


def _softmaxce_step(logits: np.ndarray, labels: np.ndarray) -> Callable[[], Any]:
    import softmaxce

    grad = np.empty_like(logits)
    fused = softmaxce.cross_entropy_with_grad
    return lambda: fused(logits, labels, grad_out=grad)


def _numpy_step(logits: np.ndarray, labels: np.ndarray) -> Callable[[], Any]:
    n = logits.shape[0]
    rows = np.arange(n)
    grad = np.empty_like(logits)

    def step() -> Any:
        row_max = logits.max(axis=1, keepdims=True)
        np.subtract(logits, row_max, out=grad)
        np.exp(grad, out=grad)
        row_sum = grad.sum(axis=1, keepdims=True)
        picked = logits[rows, labels] - row_max[:, 0]
        loss = np.mean(np.log(row_sum[:, 0]) - picked)
        np.multiply(grad, 1 / (n * row_sum), out=grad)
        grad[rows, labels] -= 1 / n
        return loss

    return step


def _copy_step(logits: np.ndarray, threads: int) -> Callable[[], Any]:
    destination = np.empty_like(logits)
    if threads == 1 or logits.nbytes < (1 << 20):
        return lambda: np.copyto(destination, logits)

    # np.copyto releases the GIL, so threads copy their parts concurrently.
    from concurrent.futures import ThreadPoolExecutor

    source_parts = np.array_split(logits.reshape(-1), threads)
    destination_parts = np.array_split(destination.reshape(-1), threads)
    pool = ThreadPoolExecutor(threads)

    def step() -> None:
        list(pool.map(np.copyto, destination_parts, source_parts))

    return step


def _torch_step(logits: np.ndarray, labels: np.ndarray) -> Callable[[], Any]:
    import torch
    import torch.nn.functional as functional

    x = torch.from_numpy(logits).requires_grad_(True)
    y = torch.from_numpy(labels)

    def step() -> None:
        x.grad = None
        functional.cross_entropy(x, y).backward()

    return step


def _tensorflow_step(logits: np.ndarray, labels: np.ndarray) -> Callable[[], Any]:
    import tensorflow as tf

    @tf.function
    def fused(x: Any, y: Any) -> Any:
        with tf.GradientTape() as tape:
            tape.watch(x)
            losses = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=x)
            loss = tf.reduce_mean(losses)
        return loss, tape.gradient(loss, x)

    x = tf.constant(logits)
    y = tf.constant(labels)
    return lambda: fused(x, y)


def _jax_step(logits: np.ndarray, labels: np.ndarray) -> Callable[[], Any]:
    import jax
    import optax

    def loss(x: Any, y: Any) -> Any:
        return optax.softmax_cross_entropy_with_integer_labels(x, y).mean()

    fused = jax.jit(jax.value_and_grad(loss))
    x = jax.device_put(logits)
    y = jax.device_put(labels)
    return lambda: jax.block_until_ready(fused(x, y))


def _setup_framework(contender: str, threads: int) -> str:
    """Set the thread count of `contender` before it starts; return its version."""
    if contender == "softmaxce":
        import softmaxce

        softmaxce.set_num_threads(threads)
        return softmaxce.__version__
    if contender == "torch":
        import torch

        torch.set_num_threads(threads)
        torch.set_num_interop_threads(threads)
        return torch.__version__
    if contender == "tensorflow":
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
        return tf.__version__
    if contender == "jax":
        import jax
        import optax

        # float64 logits stay float64 and int64 labels stay int64.
        jax.config.update("jax_enable_x64", True)
        return f"{jax.__version__} (optax {optax.__version__})"
    return np.__version__


def _make_step(contender: str, shape: Shape, threads: int) -> Callable[[], Any]:
    logits, labels = _make_inputs(shape)
    if contender == "softmaxce":
        return _softmaxce_step(logits, labels)
    if contender == "numpy":
        return _numpy_step(logits, labels)
    if contender == "copy":
        return _copy_step(logits, threads)
    if contender == "torch":
        return _torch_step(logits, labels)
    if contender == "tensorflow":
        return _tensorflow_step(logits, labels)
    if contender == "jax":
        return _jax_step(logits, labels)
    raise ValueError(f"unknown contender {contender!r}")


# Cheap measurements repeat for at least this many repeats' worth of
# min_time (at most MAX_REPEATS repeats), so that a burst of load from other
# processes on a shared machine moves the median less.
SPREAD_REPEATS = 30
MAX_REPEATS = 100


def measure(
    step: Callable[[], Any], repeats: int, min_time: float
) -> tuple[int, list[float]]:
    """Return (calls per repeat, seconds per call of each repeat) of `step`.

    Two untimed calls come first (compilation, first-touch of buffers). Each
    repeat then calls `step` often enough to last about `min_time` seconds,
    so that the timer's resolution and the loop cost do not matter. At least
    `repeats` repeats run, more for a cheap `step` (see SPREAD_REPEATS).
    timeit turns the garbage collector off while it times.
    """
    timer = timeit.Timer(step)
    timer.timeit(1)
    single = max(timer.timeit(1), 1e-9)
    calls = max(1, math.ceil(min_time / single))
    if calls * single < 1.0:
        timer.timeit(calls)  # one more warm-up repeat, when it is cheap
    spread = int(SPREAD_REPEATS * min_time / (calls * single))
    count = max(repeats, min(spread, MAX_REPEATS))
    return calls, [timer.timeit(calls) / calls for _ in range(count)]


def available_memory() -> int | None:
    """Return MemAvailable from /proc/meminfo in bytes, or None if unknown."""
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def memory_shortfall(contender: str, shape: Shape) -> str | None:
    """Return why `shape` would not fit in memory for `contender`, or None."""
    need = MEMORY_FACTORS[contender] * shape.logits_bytes
    free = available_memory()
    if free is None or need + MEMORY_HEADROOM <= free:
        return None
    return (
        f"needs about {need / 2**30:.1f} GiB for {contender}, "
        f"{free / 2**30:.1f} GiB is available"
    )


def _pin(contender: str, threads: int) -> None:
    """Restrict a jax worker to `threads` CPUs, since XLA has no thread API."""
    if contender != "jax" or not hasattr(os, "sched_setaffinity"):
        return
    cpus = sorted(os.sched_getaffinity(0))
    if threads < len(cpus):
        os.sched_setaffinity(0, cpus[:threads])


def _emit(record: dict[str, Any]) -> None:
    print(_LINE_PREFIX + json.dumps(record), flush=True)


def worker(spec: dict[str, Any]) -> None:
    """Benchmark one contender at one thread count on every shape of `spec`."""
    contender, threads = spec["contender"], spec["threads"]
    _pin(contender, threads)
    version = _setup_framework(contender, threads)
    for text in spec["shapes"]:
        shape = parse_shape(text)
        base = {"contender": contender, "threads": threads, "shape": text}
        reason = memory_shortfall(contender, shape)
        if reason is not None:
            _emit({**base, "skipped": reason})
            continue
        step = _make_step(contender, shape, threads)
        calls, times = measure(step, spec["repeats"], spec["min_time"])
        del step
        gc.collect()
        median = statistics.median(times)
        _emit(
            {
                **base,
                "version": version,
                "dtype": shape.dtype,
                "n": shape.n,
                "c": shape.c,
                "calls_per_repeat": calls,
                "times_s": times,
                "median_s": median,
                "min_s": min(times),
                "max_s": max(times),
                "elements_per_s": shape.elements / median,
            }
        )


# ---- Parent: subprocesses, progress, report ------------------------------------


def _worker_env(contender: str, threads: int) -> dict[str, str]:
    env = dict(os.environ)
    package_parent = str(Path(__file__).resolve().parent.parent)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (package_parent, env.get("PYTHONPATH")) if p
    )
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env.setdefault("JAX_PLATFORMS", "cpu")
    if contender == "torch":
        env["OMP_NUM_THREADS"] = str(threads)
        env["MKL_NUM_THREADS"] = str(threads)
    if contender == "jax" and threads < _cpu_count():
        # XLA has no thread-count API; these flags size its CPU thread pools.
        # The worker is also pinned to `threads` CPUs (see _pin).
        flags = (
            f"--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads={threads}"
        )
        env["XLA_FLAGS"] = f"{env.get('XLA_FLAGS', '')} {flags}".strip()
    return env


def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


class _Progress:
    """A tqdm bar on stderr, or a text bar when tqdm is not installed."""

    def __init__(self, total: int) -> None:
        self.total, self.done = total, 0
        try:
            from tqdm import tqdm
        except ImportError:
            self.bar = None
        else:
            self.bar = tqdm(total=total, file=sys.stderr, unit="run", leave=False)

    def describe(self, text: str) -> None:
        if self.bar is not None:
            self.bar.set_description(text)
        else:
            self._draw(text)

    def advance(self, text: str) -> None:
        self.done += 1
        if self.bar is not None:
            self.bar.update(1)
        else:
            self._draw(text)

    def _draw(self, text: str) -> None:
        width = 30
        filled = width * self.done // max(self.total, 1)
        bar = "#" * filled + "." * (width - filled)
        sys.stderr.write(f"\r[{bar}] {self.done}/{self.total} {text:<40.40}")
        sys.stderr.flush()

    def note(self, text: str) -> None:
        if self.bar is not None:
            self.bar.write(text, file=sys.stderr)
        else:
            sys.stderr.write("\r" + " " * 80 + "\r" + text + "\n")

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
        else:
            sys.stderr.write("\n")


def _run_worker(
    contender: str, threads: int, options: Options, progress: _Progress
) -> tuple[list[dict[str, Any]], str | None]:
    """Run one worker; return its records and an error message or None."""
    spec = {
        "contender": contender,
        "threads": threads,
        "shapes": [f"{s.dtype}:{s.n}x{s.c}" for s in options.shapes],
        "repeats": options.repeats,
        "min_time": options.min_time,
    }
    command = [sys.executable, "-m", "softmaxce._bench", json.dumps(spec)]
    records: list[dict[str, Any]] = []
    label = f"{contender} threads={threads}"
    progress.describe(f"{label} {options.shapes[0].name}")
    with subprocess.Popen(
        command,
        env=_worker_env(contender, threads),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        assert process.stdout is not None and process.stderr is not None
        for line in process.stdout:
            if not line.startswith(_LINE_PREFIX):
                continue
            record = json.loads(line[len(_LINE_PREFIX) :])
            records.append(record)
            if "skipped" in record:
                progress.note(
                    f"skipped {contender} threads={threads} {record['shape']}: "
                    f"{record['skipped']}"
                )
            progress.advance(f"{label} {record['shape']}")
            following = len(records)
            if following < len(options.shapes):
                progress.describe(f"{label} {options.shapes[following].name}")
        stderr = process.stderr.read()
    if process.returncode != 0:
        tail = "\n".join(stderr.strip().splitlines()[-15:])
        for _ in range(len(options.shapes) - len(records)):
            progress.advance(label)
        return records, f"{label} failed with exit status {process.returncode}:\n{tail}"
    return records, None


def _add_ratios(records: list[dict[str, Any]]) -> None:
    """Add contender/softmaxce and softmaxce/copy time ratios to `records`.

    The copy floor at T threads is the fastest copy measured with at most T
    threads, because a T-thread kernel may use fewer, and on a busy machine
    a copy split over more threads can be slower than one without a split.
    """
    medians = {
        (r["shape"], r["threads"], r["contender"]): r["median_s"]
        for r in records
        if "median_s" in r
    }
    for r in records:
        if "median_s" not in r:
            continue
        ours = medians.get((r["shape"], r["threads"], "softmaxce"))
        r["time_over_softmaxce"] = None if ours is None else r["median_s"] / ours
        if r["contender"] != "softmaxce":
            continue
        copies = [
            median
            for (shape, threads, contender), median in medians.items()
            if contender == "copy" and shape == r["shape"] and threads <= r["threads"]
        ]
        r["copy_floor_s"] = min(copies) if copies else None
        r["softmaxce_over_copy"] = r["median_s"] / min(copies) if copies else None


def format_seconds(seconds: float) -> str:
    """Format a duration with a unit that keeps 3 or 4 significant digits."""
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def format_table(records: list[dict[str, Any]], options: Options) -> str:
    """Return the results as a text table, one block per shape and thread count."""
    header = (
        f"{'shape':<16} {'threads':>7}  {'contender':<11} {'median':>9} "
        f"{'min':>9} {'max':>9} {'Gelem/s':>8} {'/softmaxce':>10} {'sce/copy':>8}"
    )
    lines = [header, "-" * len(header)]
    order = {name: i for i, name in enumerate(options.contenders)}
    for shape in options.shapes:
        key = f"{shape.dtype}:{shape.n}x{shape.c}"
        for threads in options.threads:
            rows = [r for r in records if r["shape"] == key and r["threads"] == threads]
            rows.sort(key=lambda r: order.get(r["contender"], len(order)))
            for r in rows:
                lines.append(_format_row(shape, r))
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _format_row(shape: Shape, r: dict[str, Any]) -> str:
    start = f"{shape.name:<16} {r['threads']:>7}  {r['contender']:<11}"
    if "skipped" in r:
        return f"{start} skipped: {r['skipped']}"
    ratio = r.get("time_over_softmaxce")
    over_copy = r.get("softmaxce_over_copy")
    return (
        f"{start} {format_seconds(r['median_s']):>9} {format_seconds(r['min_s']):>9} "
        f"{format_seconds(r['max_s']):>9} {r['elements_per_s'] / 1e9:>8.3f} "
        f"{'' if ratio is None else f'{ratio:.2f}x':>10} "
        f"{'' if over_copy is None else f'{over_copy:.2f}x':>8}"
    )


def machine_info() -> dict[str, Any]:
    """Describe this machine: CPU model, CPUs, caches, memory, Python, numpy."""
    info: dict[str, Any] = {
        "cpu_model": None,
        "cpus": os.cpu_count(),
        "cpus_usable": _cpu_count(),
        "caches": {},
        "memory_bytes": None,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
    }
    try:
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    info["cpu_model"] = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    cache_dir = Path("/sys/devices/system/cpu/cpu0/cache")
    for index in sorted(cache_dir.glob("index*")):
        try:
            level = (index / "level").read_text().strip()
            kind = (index / "type").read_text().strip()
            size = (index / "size").read_text().strip()
        except OSError:
            continue
        name = f"L{level}" + {"Data": "d", "Instruction": "i"}.get(kind, "")
        info["caches"][name] = size
    try:
        with open("/proc/meminfo") as meminfo:
            info["memory_bytes"] = int(meminfo.readline().split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return info


def plot(records: list[dict[str, Any]], options: Options, path: Path) -> bool:
    """Plot throughput against C per contender; return False without matplotlib."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False

    figure, axes = plt.subplots(
        1, len(options.threads), figsize=(6 * len(options.threads), 4.5), squeeze=False
    )
    # One color per contender (the copy floor in black), one line style per
    # dtype.
    colors = {name: f"C{i}" for i, name in enumerate(CONTENDERS)}
    colors["copy"] = "black"
    for ax, threads in zip(axes[0], options.threads):
        for contender in options.contenders:
            for dtype, style in (("f32", "o-"), ("f64", "s--")):
                points = sorted(
                    (r["c"], r["elements_per_s"])
                    for r in records
                    if r["contender"] == contender
                    and r["threads"] == threads
                    and r.get("dtype") == dtype
                    and "elements_per_s" in r
                )
                if points:
                    xs, ys = zip(*points)
                    ax.plot(
                        xs,
                        ys,
                        style,
                        color=colors[contender],
                        label=f"{contender} {dtype}",
                    )
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("classes C")
        ax.set_ylabel("logits elements per second")
        ax.set_title(f"fused cross-entropy fwd+bwd, {threads} thread(s)")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize="x-small", loc="lower right", ncol=2)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    plt.close(figure)
    return True


def run(options: Options, json_path: Path | None, plot_path: Path | None) -> int:
    """Run the benchmark, print the table, write the files; return the exit status."""
    progress = _Progress(
        len(options.threads) * len(options.contenders) * len(options.shapes)
    )
    records: list[dict[str, Any]] = []
    errors: list[str] = []
    try:
        for threads in options.threads:
            for contender in options.contenders:
                got, error = _run_worker(contender, threads, options, progress)
                records.extend(got)
                if error is not None:
                    errors.append(error)
                    progress.note(error)
    finally:
        progress.close()

    _add_ratios(records)
    print(format_table(records, options), end="")
    for error in errors:
        print(f"error: {error}", file=sys.stderr)

    if json_path is not None:
        document = {
            "command": [sys.executable, "-m", "softmaxce", *sys.argv[1:]],
            "machine": machine_info(),
            "repeats": options.repeats,
            "min_time_s": options.min_time,
            "results": records,
            "errors": errors,
        }
        json_path.write_text(json.dumps(document, indent=1) + "\n")
        print(f"wrote {json_path}")
    if plot_path is not None:
        if plot(records, options, plot_path):
            print(f"wrote {plot_path}")
        else:
            print("matplotlib is not installed; no plot written", file=sys.stderr)
    return 1 if errors else 0


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def make_options(
    shapes: str | None,
    threads: str | None,
    contenders: str | None,
    repeats: int | None,
    min_time: float | None,
    quick: bool,
) -> Options:
    """Build the options of a run from the command-line values.

    Raises
    ------
    ValueError
        If a shape, thread count or contender name is invalid or missing.
    """
    shape_list = tuple(
        parse_shape(s) for s in _split(shapes or ",".join(DEFAULT_SHAPES))
    )
    if threads is None:
        thread_list: Iterable[int] = sorted({1, _cpu_count()})
    else:
        try:
            thread_list = [int(t) for t in _split(threads)]
        except ValueError:
            raise ValueError(
                f"thread counts must be integers >= 1, got {threads!r}"
            ) from None
    thread_counts = tuple(dict.fromkeys(thread_list))
    if not thread_counts or min(thread_counts) < 1:
        raise ValueError(f"thread counts must be integers >= 1, got {threads!r}")

    installed = installed_contenders()
    if contenders is None:
        names: Sequence[str] = installed
    else:
        names = _split(contenders)
        unknown = [n for n in names if n not in CONTENDERS]
        if unknown:
            raise ValueError(
                f"unknown contender(s) {', '.join(unknown)}; valid names are "
                f"{', '.join(CONTENDERS)}"
            )
        missing = [n for n in names if n not in installed]
        if missing:
            raise ValueError(
                f"contender(s) {', '.join(missing)} not installed; install them or "
                f"choose from {', '.join(installed)}"
            )
    if not shape_list or not names:
        raise ValueError("at least one shape and one contender are needed")
    if repeats is None:
        repeats = 3 if quick else 10
    if min_time is None:
        min_time = 0.01 if quick else 0.05
    return Options(
        shapes=shape_list,
        threads=thread_counts,
        contenders=tuple(dict.fromkeys(names)),
        repeats=repeats,
        min_time=min_time,
    )


if __name__ == "__main__":
    worker(json.loads(sys.argv[1]))
