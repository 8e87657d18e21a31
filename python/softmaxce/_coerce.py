"""Conversion of array-like arguments to the dense arrays the C library reads.

Rules, shared by every public function:

* Logits (and softmax inputs and outputs): float32 and float64 are used as
  they are. float16 is computed in float32 and the results are rounded back
  to float16 once. Integer, bool, complex, object and wider-than-float64 float
  arrays raise :class:`InvalidDtypeError`, because a loss of integers is
  almost always a bug and the other casts would lose values.
* Integer labels: int32 and int64 are used as they are. int8, int16, uint8,
  uint16 and uint32 are cast to int64, which is exact. uint64 is cast to int64
  when every value fits, else :class:`LabelOutOfRangeError` names the first
  one that does not. Float, bool and other labels raise
  :class:`InvalidDtypeError`; an empty array of any real dtype is accepted.
* Class weights and upstream gradients: any real dtype other than bool is
  converted to the working float dtype of the logits.
* Every array is made C-contiguous, in native byte order; that copies a
  non-contiguous or byte-swapped input, and a cast copies too.
"""

from __future__ import annotations

import math
import operator
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

from . import _lib
from ._errors import (
    InvalidArgumentError,
    InvalidDtypeError,
    InvalidShapeError,
    LabelOutOfRangeError,
    int_text,
    value_text,
)

_FLOAT32 = np.dtype(np.float32)
_FLOAT64 = np.dtype(np.float64)
_INT32 = np.dtype(np.int32)
_INT64 = np.dtype(np.int64)
_INT64_MAX = np.iinfo(np.int64).max
# The smallest int that float() rounds to infinity, and so refuses to convert.
_FLOAT64_LIMIT = 2**1024 - 2**970
_INT64_MIN = np.iinfo(np.int64).min

# Label dtypes widened to int64 without loss.
_WIDENED_LABEL_DTYPES = frozenset(
    np.dtype(t) for t in (np.int8, np.int16, np.uint8, np.uint16, np.uint32)
)


class FloatArray(NamedTuple):
    """A float array ready for the library, with the dtype to return results in."""

    array: NDArray[np.floating]
    out_dtype: np.dtype


def dtype_code(dtype: np.dtype) -> int:
    """Return the library's code for a float32/float64 or int32/int64 dtype."""
    if dtype == _FLOAT32:
        return _lib.SCE_FLOAT32
    if dtype == _FLOAT64:
        return _lib.SCE_FLOAT64
    if dtype == _INT32:
        return _lib.SCE_INT32
    return _lib.SCE_INT64


def address(array: NDArray | None) -> int | None:
    """Return the address of the first element of `array`, or None for None."""
    if array is None:
        return None
    return _lib.data_address(array)


def as_array(value: ArrayLike, name: str) -> NDArray:
    """Return ``np.asarray(value)``, naming `name` when numpy cannot convert it.

    Raises
    ------
    InvalidShapeError
        If `value` is a ragged nested sequence, which has no array shape.
    """
    try:
        return np.asarray(value)
    except ValueError as exc:
        raise InvalidShapeError(
            f"{name} cannot be converted to an array: {exc}"
        ) from None


def _describe(dtype: np.dtype) -> str:
    return f"dtype {dtype.name}"


def work_dtype_for(dtype: np.dtype) -> np.dtype | None:
    """Return the dtype the library computes in for floats of `dtype`, or None."""
    if dtype.kind != "f":
        return None
    if dtype.itemsize == 8:
        return _FLOAT64
    if dtype.itemsize <= 4:
        return _FLOAT32
    return None


def as_float(value: ArrayLike, name: str) -> FloatArray:
    """Convert logits-like `value` to a contiguous float32/float64 array.

    Raises
    ------
    InvalidDtypeError
        If `value` is not a float16, float32 or float64 array.
    """
    if type(value) is np.ndarray:
        # Fast path: a contiguous float32/float64 array in native byte order
        # (only those dtypes are these singletons) is used as it is.
        dtype = value.dtype
        if (dtype is _FLOAT32 or dtype is _FLOAT64) and value.flags.c_contiguous:
            return FloatArray(value, dtype)
    array = as_array(value, name)
    work_dtype = work_dtype_for(array.dtype)
    if work_dtype is None:
        raise InvalidDtypeError(
            f"{name} must be a float16, float32 or float64 array, got "
            f"{_describe(array.dtype)}; convert it explicitly, for example with "
            f"{name}.astype(np.float32)"
        )
    # float16 is the only float narrower than its working dtype.
    out_dtype = array.dtype.newbyteorder("=")
    return FloatArray(np.asarray(array, dtype=work_dtype, order="C"), out_dtype)


def as_real(value: ArrayLike, name: str, dtype: np.dtype) -> NDArray[np.floating]:
    """Convert weight- or gradient-like `value` to a contiguous array of `dtype`.

    Raises
    ------
    InvalidDtypeError
        If `value` is not an integer or float array.
    """
    array = as_array(value, name)
    if array.dtype.kind not in "iuf":
        raise InvalidDtypeError(
            f"{name} must contain real numbers (an integer or float dtype), got "
            f"{_describe(array.dtype)}"
        )
    return np.asarray(array, dtype=dtype, order="C")


def as_labels(
    value: ArrayLike, name: str, classes: int | None = None
) -> NDArray[np.integer]:
    """Convert class-index `value` to a contiguous int32 or int64 array.

    `classes`, when known, goes into the message for a uint64 label that does
    not fit in int64 (no such label is a valid class).

    Raises
    ------
    InvalidDtypeError
        If `value` is not an integer array.
    LabelOutOfRangeError
        If a uint64 label does not fit in int64.
    """
    if type(value) is np.ndarray:
        dtype = value.dtype
        if (dtype is _INT64 or dtype is _INT32) and value.flags.c_contiguous:
            return value
    array = as_array(value, name)
    dtype = array.dtype
    if dtype.kind == "i" and dtype.itemsize in (4, 8):
        native = _INT32 if dtype.itemsize == 4 else _INT64
        return np.asarray(array, dtype=native, order="C")
    if dtype in _WIDENED_LABEL_DTYPES or (array.size == 0 and dtype.kind in "iuf"):
        return np.asarray(array, dtype=_INT64, order="C")
    if dtype.kind == "u" and dtype.itemsize == 8:
        _check_uint64_labels(array, name, classes)
        return np.asarray(array, dtype=_INT64, order="C")
    raise InvalidDtypeError(
        f"{name} must contain integer class indices (int32 or int64; int8, int16, "
        f"uint8, uint16, uint32 and uint64 are converted), got "
        f"{_describe(dtype)}"
    )


def _check_uint64_labels(
    array: NDArray[np.unsignedinteger], name: str, classes: int | None
) -> None:
    too_large = array > _INT64_MAX
    if too_large.any():
        position = np.unravel_index(int(np.argmax(too_large)), array.shape)
        valid = "[0, classes)" if classes is None else f"[0, {classes})"
        raise LabelOutOfRangeError(
            f"{name} contains the label {int(array[position])} at position "
            f"{tuple(int(i) for i in position)}, which is outside the valid range "
            f"of class indices {valid}"
        )


def as_int64(value: object, name: str) -> int:
    """Return `value` as a Python int in the int64 range.

    Raises
    ------
    InvalidDtypeError
        If `value` is not an integer.
    InvalidArgumentError
        If `value` does not fit in int64.
    """
    try:
        number = operator.index(value)
    except TypeError:
        raise InvalidDtypeError(
            f"{name} must be an integer, got {value_text(value)} of type "
            f"{type(value).__name__}"
        ) from None
    if not _INT64_MIN <= number <= _INT64_MAX:
        raise InvalidArgumentError(
            f"{name} must fit in a signed 64-bit integer [{_INT64_MIN}, "
            f"{_INT64_MAX}], got {int_text(number)}"
        )
    return number


def as_float_scalar(value: object, name: str) -> float:
    """Return the real number `value` as a Python float.

    Raises
    ------
    InvalidDtypeError
        If `value` is not a real number (a string, a complex or an array).
    InvalidArgumentError
        If `value` is an int beyond the float64 range.
    """
    if type(value) is int and not -_FLOAT64_LIMIT < value < _FLOAT64_LIMIT:
        raise InvalidArgumentError(
            f"{name} must be a finite float64 value, got {int_text(value)}, "
            "beyond the float64 range"
        )
    if type(value) in (float, int):
        return float(value)
    if isinstance(value, (str, bytes, complex, np.complexfloating)) or np.ndim(value):
        raise InvalidDtypeError(
            f"{name} must be a real number, got {value_text(value)} of type "
            f"{type(value).__name__}"
        )
    try:
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InvalidDtypeError(
            f"{name} must be a real number, got {value_text(value)} of type "
            f"{type(value).__name__}"
        ) from None
    except OverflowError:
        # an int subclass or a Fraction beyond the float64 range
        raise InvalidArgumentError(
            f"{name} must be a finite float64 value, got {value_text(value)}, "
            "beyond the float64 range"
        ) from None


def class_axis_layout(shape: tuple[int, ...], axis: int) -> tuple[int, int, int]:
    """Return (outer, classes, inner) for a class axis `axis` of `shape`.

    The layout describes the array as it lies in memory, so no transpose is
    needed whatever the axis.
    """
    return math.prod(shape[:axis]), shape[axis], math.prod(shape[axis + 1 :])


def normalize_axis(axis: object, ndim: int, name: str = "axis") -> int:
    """Return `axis` as an index in [0, ndim), accepting negative values.

    Raises
    ------
    InvalidDtypeError
        If `axis` is not an integer.
    InvalidArgumentError
        If `axis` is outside [-ndim, ndim).
    """
    try:
        index = operator.index(axis)
    except TypeError:
        raise InvalidDtypeError(
            f"{name} must be an integer, got {value_text(axis)} of type "
            f"{type(axis).__name__}"
        ) from None
    if not -ndim <= index < ndim:
        raise InvalidArgumentError(
            f"{name} {int_text(index)} is out of bounds for an array of {ndim} "
            "dimensions; "
            f"valid values are {-ndim} to {ndim - 1}"
        )
    return index % ndim


# ---- Output arrays ---------------------------------------------------------


def check_output(
    value: object, name: str, shape: tuple[int, ...], dtype: np.dtype
) -> NDArray:
    """Check that `value` can receive a result of `shape` and `dtype` in place.

    An output array is written as it is, never copied, so it must be a
    writable, C-contiguous numpy array of exactly that shape and dtype.

    Raises
    ------
    InvalidDtypeError
        If `value` is not a numpy array, or has another dtype.
    InvalidShapeError
        If `value` has another shape.
    InvalidArgumentError
        If `value` is read-only or not C-contiguous.
    """
    if not isinstance(value, np.ndarray):
        raise InvalidDtypeError(
            f"{name} must be a numpy.ndarray of dtype {dtype.name} and shape "
            f"{shape}, got {type(value).__name__}"
        )
    if value.dtype != dtype:
        got = _describe(value.dtype)
        if value.dtype.newbyteorder("=") == dtype:
            got += " in non-native byte order"
        raise InvalidDtypeError(
            f"{name} must have dtype {dtype.name}, the dtype of the result, got {got}"
        )
    if value.shape != shape:
        raise InvalidShapeError(
            f"{name} must have shape {shape}, the shape of the result, got "
            f"shape {value.shape}"
        )
    if not value.flags.writeable:
        raise InvalidArgumentError(f"{name} is read-only; pass a writable array")
    if not value.flags.c_contiguous:
        raise InvalidArgumentError(
            f"{name} must be C-contiguous, because the result is written into it "
            f"directly; got strides {value.strides}, pass a contiguous array "
            "such as np.empty_like(...)"
        )
    return value


def _byte_range(array: NDArray) -> tuple[int, int] | None:
    """Return [start, stop) of a contiguous array's bytes, or None if strided."""
    if array.flags.c_contiguous or array.flags.f_contiguous:
        start = _lib.data_address(array)
        return start, start + array.nbytes
    return None


def shares_memory(a: NDArray, b: NDArray) -> bool:
    """Return whether the memory spans of `a` and `b` overlap (may share memory)."""
    if a.size == 0 or b.size == 0:
        return False
    range_a, range_b = _byte_range(a), _byte_range(b)
    if range_a is None or range_b is None:
        return bool(np.may_share_memory(a, b))
    return range_a[0] < range_b[1] and range_b[0] < range_a[1]


def _is_whole_buffer(output: NDArray, value: NDArray) -> bool:
    """Return whether `value` is exactly the buffer of the contiguous `output`."""
    return (
        value.flags.c_contiguous
        and value.nbytes == output.nbytes
        and _lib.data_address(value) == _lib.data_address(output)
    )


def reject_overlap(
    outputs: list[tuple[str, NDArray]],
    inputs: list[tuple[str, object]],
    in_place: tuple[str, str] | None = None,
) -> None:
    """Reject output arrays that share memory with an input or each other.

    `outputs` and `inputs` pair argument names with the values the caller
    passed. `in_place` names an (output, input) pair that may be exactly the
    same buffer, such as a gradient written over the logits. A partial
    overlap of that pair is rejected too.

    Raises
    ------
    InvalidArgumentError
        If an output overlaps an input or another output.
    """
    for i, (name, output) in enumerate(outputs):
        for input_name, value in inputs:
            if not isinstance(value, np.ndarray) or not shares_memory(output, value):
                continue
            if in_place == (name, input_name):
                if _is_whole_buffer(output, value):
                    continue
                raise InvalidArgumentError(
                    f"{name} partially overlaps {input_name}: it may only be "
                    f"{input_name} itself (in place) or an array that shares no "
                    "memory with it"
                )
            raise InvalidArgumentError(
                f"{name} shares memory with {input_name}; outputs must not "
                "overlap the inputs"
            )
        for other_name, other in outputs[i + 1 :]:
            if shares_memory(output, other):
                raise InvalidArgumentError(
                    f"{name} and {other_name} share memory; they must be "
                    "separate arrays"
                )
