"""More than 2^31 elements: offsets and label positions are 64-bit.

One float32 problem of (2^21 + 3) rows and 1024 classes holds 2^31 + 3072
elements (8 GiB), the smallest shape of 1024 classes with rows at and past
element 2^31 = row 2^21, where a 32-bit element offset would wrap to row 0.
Rows repeat a block of 4099 random rows (a prime, so row 2^21 and its
neighbours are not copies of rows 0, 1, 2); the rows checked get values of
their own.

Two calls run on it:

* the public cross_entropy with reduction "none", which reads the logits in
  place and writes only a loss per row;
* the fused library call with the gradient written over the logits (in
  place, allowed by the C interface), which also writes at every offset.

The checked rows' losses and gradients are compared with float64 values
computed from copies of those rows alone. The test needs about 8.1 GiB of
memory and is skipped when less is available.
"""

from __future__ import annotations

import ctypes

import numpy as np
import pytest
import softmaxce
from softmaxce import _lib

CLASSES = 1024
BOUNDARY_ROW = 2**31 // CLASSES  # first row at element offset 2^31
ROWS = BOUNDARY_ROW + 3
BLOCK_ROWS = 4099
CHECKED_ROWS = (0, 1, 2, BOUNDARY_ROW - 1, BOUNDARY_ROW, BOUNDARY_ROW + 1, ROWS - 1)
NEEDED_BYTES = ROWS * CLASSES * 4 + (1 << 28)

# float32 kernels against the float64 reference: the loss is off by a few
# ulp of log(C) and |x - m|; the gradient by a few ulp of 1.
LOSS_ATOL = 2e-5
GRAD_ATOL = 1e-6


def available_bytes() -> int:
    """Return MemAvailable from /proc/meminfo, or 0 when it cannot be read."""
    try:
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def reference_row(row: np.ndarray, label: int) -> tuple[float, np.ndarray]:
    """Return the loss and gradient of one row in float64."""
    x = row.astype(np.float64)
    m = x.max()
    s = np.exp(x - m).sum()
    loss = (m - x[label]) + np.log(s)
    grad = np.exp(x - m) / s
    grad[label] -= 1.0
    return float(loss), grad


@pytest.mark.large
@pytest.mark.skipif(
    available_bytes() < NEEDED_BYTES,
    reason=f"needs {NEEDED_BYTES / 2**30:.1f} GiB of available memory",
)
def test_more_than_2pow31_elements() -> None:
    rng = np.random.default_rng(31)
    block = rng.standard_normal((BLOCK_ROWS, CLASSES), dtype=np.float32) * 4
    logits = np.empty((ROWS, CLASSES), dtype=np.float32)
    for start in range(0, ROWS, BLOCK_ROWS):
        stop = min(start + BLOCK_ROWS, ROWS)
        logits[start:stop] = block[: stop - start]
    for row in CHECKED_ROWS:
        logits[row] = rng.standard_normal(CLASSES, dtype=np.float32) * 4
    labels = rng.integers(0, CLASSES, ROWS)
    for i, row in enumerate(CHECKED_ROWS):
        labels[row] = (37 * i + 5) % CLASSES
    assert logits.size > 2**31

    saved = {row: logits[row].copy() for row in CHECKED_ROWS}
    want = {row: reference_row(saved[row], int(labels[row])) for row in CHECKED_ROWS}

    # Public function: the loss per row, logits read in place.
    loss = softmaxce.cross_entropy(logits, labels, reduction="none")
    assert loss.shape == (ROWS,)
    for row in CHECKED_ROWS:
        assert abs(float(loss[row]) - want[row][0]) <= LOSS_ATOL, f"loss of row {row}"
    del loss

    # Library call: loss and gradient, the gradient over the logits.
    fused_loss = np.full(ROWS, np.nan, dtype=np.float32)
    options = _lib.make_options(_lib.SCE_REDUCTION_NONE, -100, 0.0)
    _lib.sparse_cross_entropy(
        _lib.SCE_FLOAT32,
        _lib.SCE_INT64,
        ROWS,
        CLASSES,
        1,
        logits.ctypes.data,
        logits.size,
        labels.ctypes.data,
        labels.size,
        None,
        0,
        None,
        0,
        ctypes.byref(options),
        fused_loss.ctypes.data,
        fused_loss.size,
        logits.ctypes.data,
        logits.size,
    )
    for row in CHECKED_ROWS:
        want_loss, want_grad = want[row]
        assert abs(float(fused_loss[row]) - want_loss) <= LOSS_ATOL, f"row {row}"
        error = np.max(np.abs(logits[row].astype(np.float64) - want_grad))
        assert error <= GRAD_ATOL, f"gradient of row {row} is off by {error:.3g}"
    # Every loss was written: the NaN the buffer was filled with is gone.
    assert np.all(np.isfinite(fused_loss))
