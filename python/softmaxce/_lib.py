"""ctypes binding of libsoftmaxce, the C interface declared in capi/softmaxce.h.

This is the only module that touches ctypes. It loads the shared library once,
declares the argument and result types of every C function once (the C
prototype is written above each declaration), and turns a non-zero status code
into an exception in one place, :func:`raise_for_status`.

Pointers are passed as plain ``int`` addresses (``c_void_p`` accepts them), so
a call costs no per-element Python work; :func:`data_address` reads them. ctypes
releases the GIL while a C function runs, so calls from several threads run in
parallel.
"""

from __future__ import annotations

import ctypes
import math
import operator
import os
import struct
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

from ._errors import (
    ForkedProcessError,
    InternalError,
    InvalidArgumentError,
    InvalidDtypeError,
    InvalidShapeError,
    LabelOutOfRangeError,
    SoftmaxCEError,
    int_text,
    value_text,
)

LIBRARY_ENV_VAR = "SOFTMAXCE_LIBRARY"
LIBRARY_NAME = "libsoftmaxce.so"

# Status codes; the values are pinned by the C interface.
SCE_OK = 0
SCE_ERROR_LABEL_OUT_OF_RANGE = 1
SCE_ERROR_INVALID_SHAPE = 2
SCE_ERROR_INVALID_ARGUMENT = 3
SCE_ERROR_INVALID_DTYPE = 4
SCE_ERROR_OVERLAP = 5
SCE_ERROR_FORKED = 6
SCE_ERROR_INTERNAL = 7

# Dtype codes.
SCE_FLOAT32 = 1
SCE_FLOAT64 = 2
SCE_INT32 = 3
SCE_INT64 = 4

# Reductions and the denominators of a mean.
SCE_REDUCTION_NONE = 0
SCE_REDUCTION_SUM = 1
SCE_REDUCTION_MEAN = 2
SCE_MEAN_BY_WEIGHT_SUM = 0
SCE_MEAN_BY_VALID_COUNT = 1
SCE_MEAN_BY_OUTER = 2
SCE_MEAN_BY_POSITIONS = 3

# Bits of sce_options.flags.
SCE_FLAG_KL_DIVERGENCE = 1

_STATUS_ERRORS: dict[int, type[SoftmaxCEError]] = {
    SCE_ERROR_LABEL_OUT_OF_RANGE: LabelOutOfRangeError,
    SCE_ERROR_INVALID_SHAPE: InvalidShapeError,
    SCE_ERROR_INVALID_ARGUMENT: InvalidArgumentError,
    SCE_ERROR_INVALID_DTYPE: InvalidDtypeError,
    SCE_ERROR_OVERLAP: InvalidArgumentError,
    SCE_ERROR_FORKED: ForkedProcessError,
    SCE_ERROR_INTERNAL: InternalError,
}

FORKED_MESSAGE = (
    "softmaxce cannot run in a child process forked after the library was "
    "loaded, because the Go runtime inside it does not survive fork(); use the "
    'multiprocessing "spawn" start method, or import softmaxce only inside the '
    "child processes"
)


class SceOptions(ctypes.Structure):
    """Options of a cross-entropy call, laid out as ``struct sce_options``."""

    _fields_ = [
        ("reduction", ctypes.c_int32),
        ("has_ignore_index", ctypes.c_int32),
        ("ignore_index", ctypes.c_int64),
        ("label_smoothing", ctypes.c_double),
        ("z_loss", ctypes.c_double),
        ("mean_by", ctypes.c_int32),
        ("flags", ctypes.c_int32),
    ]


# ---- Loading ---------------------------------------------------------------


def _library_path() -> Path:
    """Return the library named by $SOFTMAXCE_LIBRARY, else the packaged one."""
    override = os.environ.get(LIBRARY_ENV_VAR)
    if override:
        return Path(override)
    return Path(__file__).resolve().parent / LIBRARY_NAME


def _load(path: Path) -> ctypes.CDLL:
    """Load the library at `path`; raise ImportError saying how to build it."""
    if not path.is_file():
        if os.environ.get(LIBRARY_ENV_VAR):
            raise ImportError(
                f"softmaxce: {LIBRARY_ENV_VAR} is set to {str(path)!r}, but no file "
                "exists there; point it at a built libsoftmaxce.so or unset it"
            )
        raise ImportError(
            f"softmaxce: the native library {str(path)!r} is missing; build it "
            "with 'pip install .' from the repository root, or with 'make lib' "
            f"for an in-place checkout (or set {LIBRARY_ENV_VAR} to its path)"
        )
    try:
        return ctypes.CDLL(str(path))
    except OSError as exc:
        raise ImportError(
            f"softmaxce: failed to load the native library {str(path)!r}: {exc}; "
            "rebuild it with 'pip install .' or 'make lib'"
        ) from exc


LIBRARY_PATH = _library_path()
_dll = _load(LIBRARY_PATH)


def _declare(
    name: str, restype: object, argtypes: list[object]
) -> Callable[..., object]:
    """Look up the C function `name` and set its result and argument types."""
    try:
        func = getattr(_dll, name)
    except AttributeError:
        raise ImportError(
            f"softmaxce: the library {str(LIBRARY_PATH)!r} has no function "
            f"{name!r}; it is not a compatible softmaxce build, so rebuild it "
            "with 'pip install .' or 'make lib'"
        ) from None
    func.restype = restype
    func.argtypes = argtypes
    return func


_int = ctypes.c_int
_i64 = ctypes.c_int64
_ptr = ctypes.c_void_p

# unsigned sce_version_number(void);
_sce_version_number = _declare("sce_version_number", ctypes.c_uint, [])

# const char *sce_version_string(void);
_sce_version_string = _declare("sce_version_string", ctypes.c_char_p, [])

# const char *sce_status_name(int status);
_sce_status_name = _declare("sce_status_name", ctypes.c_char_p, [_int])

# const char *sce_last_error(void);
_sce_last_error = _declare("sce_last_error", ctypes.c_char_p, [])

# int sce_sparse_cross_entropy(
#     int dtype, int label_dtype, int64_t outer, int64_t classes, int64_t inner,
#     const void *logits, int64_t logits_len, const void *labels, int64_t labels_len,
#     const void *weight, int64_t weight_len, const void *grad_output,
#     int64_t grad_output_len, const sce_options *options, void *loss,
#     int64_t loss_len, void *grad, int64_t grad_len);
_sce_sparse_cross_entropy = _declare(
    "sce_sparse_cross_entropy",
    _int,
    [_int, _int, _i64, _i64, _i64]
    + [_ptr, _i64, _ptr, _i64, _ptr, _i64, _ptr, _i64]
    + [ctypes.POINTER(SceOptions), _ptr, _i64, _ptr, _i64],
)

# int sce_dense_cross_entropy(
#     int dtype, int64_t outer, int64_t classes, int64_t inner, const void *logits,
#     int64_t logits_len, const void *labels, int64_t labels_len, const void *weight,
#     int64_t weight_len, const void *grad_output, int64_t grad_output_len,
#     const sce_options *options, void *loss, int64_t loss_len, void *grad,
#     int64_t grad_len, void *grad_labels, int64_t grad_labels_len);
_sce_dense_cross_entropy = _declare(
    "sce_dense_cross_entropy",
    _int,
    [_int, _i64, _i64, _i64]
    + [_ptr, _i64, _ptr, _i64, _ptr, _i64, _ptr, _i64]
    + [ctypes.POINTER(SceOptions), _ptr, _i64, _ptr, _i64, _ptr, _i64],
)

# int sce_private_sparse_cross_entropy(const void *packed);
# The C half of the shim defines this private entry point for this module
# alone. It is not in softmaxce.h and may change with the library. It reads
# every argument of sce_sparse_cross_entropy, the sce_options fields included,
# from one buffer laid out as SPARSE_ARGS, so ctypes converts one argument in
# place of 18. A bytes object passes as c_char_p without a copy, and the C
# side only reads it.
_sce_private_sparse_cross_entropy = _declare(
    "sce_private_sparse_cross_entropy", _int, [ctypes.c_char_p]
)

# size_t sce_private_sparse_args_size(void);
_sce_private_sparse_args_size = _declare(
    "sce_private_sparse_args_size", ctypes.c_size_t, []
)

#: Layout of the buffer of sce_private_sparse_cross_entropy: 8-byte fields in
#: native byte order, in the order of sce_sparse_cross_entropy's arguments,
#: with ``options`` replaced by its seven fields. Pointers are "Q" (0 for
#: NULL) and the int and int32_t values are "q".
SPARSE_ARGS = struct.Struct(
    "="
    "q"  # dtype
    "q"  # label_dtype
    "qqq"  # outer, classes, inner
    "Qq"  # logits, logits_len
    "Qq"  # labels, labels_len
    "Qq"  # weight, weight_len
    "Qq"  # grad_output, grad_output_len
    "qqq"  # reduction, has_ignore_index, ignore_index
    "dd"  # label_smoothing, z_loss
    "qq"  # mean_by, flags
    "Qq"  # loss, loss_len
    "Qq"  # grad, grad_len
)
if SPARSE_ARGS.size != _sce_private_sparse_args_size():
    raise ImportError(
        f"softmaxce: the library {str(LIBRARY_PATH)!r} expects "
        f"{_sce_private_sparse_args_size()} bytes of packed sparse arguments, "
        f"this module packs {SPARSE_ARGS.size}; the library and the Python "
        "package come from different builds, so rebuild it with "
        "'pip install .' or 'make lib'"
    )


def _load_fastpath() -> Any:
    """Return the extension module softmaxce._fastpath, set up, or None.

    setup.py builds the module as an optional extension, so it is missing
    where no C compiler or numpy headers were at hand. The package then runs
    the same checks in Python (_sparse._fast_torch_python), about 1.7 us
    slower per call.
    """
    try:
        from . import _fastpath  # type: ignore[attr-defined]
    except ImportError:
        return None
    address = ctypes.cast(_sce_private_sparse_cross_entropy, ctypes.c_void_p).value
    _fastpath.init(address, _sce_private_sparse_args_size())
    return _fastpath


#: The extension module of the fast path, or None where it was not built.
FASTPATH = _load_fastpath()

_SOFTMAX_ARGTYPES = [_int, _i64, _i64, _i64, _ptr, _i64, _ptr, _i64]

# int sce_softmax(int dtype, int64_t outer, int64_t classes, int64_t inner,
#                 const void *x, int64_t x_len, void *y, int64_t y_len);
_sce_softmax = _declare("sce_softmax", _int, _SOFTMAX_ARGTYPES)

# int sce_log_softmax(int dtype, int64_t outer, int64_t classes, int64_t inner,
#                     const void *x, int64_t x_len, void *y, int64_t y_len);
_sce_log_softmax = _declare("sce_log_softmax", _int, _SOFTMAX_ARGTYPES)

_BACKWARD_ARGTYPES = [_int, _i64, _i64, _i64, _ptr, _i64, _ptr, _i64, _ptr, _i64]

# int sce_softmax_backward(int dtype, int64_t outer, int64_t classes, int64_t inner,
#                          const void *y, int64_t y_len, const void *dy,
#                          int64_t dy_len, void *dx, int64_t dx_len);
_sce_softmax_backward = _declare("sce_softmax_backward", _int, _BACKWARD_ARGTYPES)

# int sce_log_softmax_backward(int dtype, int64_t outer, int64_t classes,
#                              int64_t inner, const void *y, int64_t y_len,
#                              const void *dy, int64_t dy_len, void *dx,
#                              int64_t dx_len);
_sce_log_softmax_backward = _declare(
    "sce_log_softmax_backward", _int, _BACKWARD_ARGTYPES
)


# int sce_set_num_threads(int n);
_sce_set_num_threads = _declare("sce_set_num_threads", _int, [_int])

# int sce_get_num_threads(void);
_sce_get_num_threads = _declare("sce_get_num_threads", _int, [])


# ---- Data addresses ----------------------------------------------------------
# numpy's own accessors, ``a.ctypes.data`` and ``a.__array_interface__``, build
# helper objects and took about 2 us per array in timeit runs (Python 3.11,
# numpy 2.4, a 2-core Xeon VM). numpy's C API (PyArray_DATA)
# reads the data pointer of an ndarray from the first field after the object
# header. Compiled extensions depend on that layout, so numpy cannot change it
# without breaking its ABI. On CPython, where id() is the object's address,
# that field can be read from Python. ctypes.c_void_p.from_address builds a
# ctypes object per read and took about 0.16 us. Indexing ADDRESS_WORDS, a
# read-only memoryview of the whole address space as native 64-bit words,
# took about 0.11 us (both timed inline on the same VM). The index is exact
# because an ndarray contains pointers, so its address is a multiple of 8 on
# 64-bit platforms, and so is the header size (checked below). The
# import-time check compares the result with __array_interface__ on several
# arrays and falls back to the latter if they ever differ. Only numpy arrays
# may be passed to data_address.

#: Offset in bytes of the data pointer from the address of an ndarray: the
#: size of the object header.
DATA_POINTER_OFFSET = object.__basicsize__


def _address_space_words() -> memoryview | None:
    """Return all memory as a read-only view of 64-bit words, or None.

    None means that pointers are not 64 bits wide or the header size is not
    a multiple of 8, so header addresses cannot be read as words.
    """
    if ctypes.sizeof(ctypes.c_void_p) != 8 or DATA_POINTER_OFFSET % 8 != 0:
        return None
    # Only the items that are indexed are ever read.
    everything = (ctypes.c_uint64 * (sys.maxsize // 8)).from_address(0)
    return memoryview(everything).cast("B").cast("Q").toreadonly()


#: Memory as native 64-bit words, where item i is at address 8 * i. None
#: where pointers are not 64 bits wide.
ADDRESS_WORDS = _address_space_words()


def _interface_address(array: Any) -> int:
    return array.__array_interface__["data"][0]


def _header_address(array: Any) -> int:
    return ADDRESS_WORDS[(id(array) + DATA_POINTER_OFFSET) >> 3]  # type: ignore[index]


def _header_address_works() -> bool:
    """Return whether _header_address agrees with numpy on sample arrays."""
    if sys.implementation.name != "cpython" or ADDRESS_WORDS is None:
        return False
    import numpy as np

    base = np.arange(24, dtype=np.float64)
    samples = [
        base,
        base[5:],
        base.reshape(4, 6)[1:, 2:],
        np.frombuffer(bytes(16), dtype=np.int32)[1:],
        np.empty(0, dtype=np.float32),
        np.zeros((), dtype=np.float32),
    ]
    return all(_header_address(a) == _interface_address(a) for a in samples)


#: Whether data_address reads the header field. When it does, code that
#: cannot afford a function call may read the address of an ndarray `a` as
#: ``ADDRESS_WORDS[(id(a) + DATA_POINTER_OFFSET) >> 3]``.
HEADER_ADDRESSES_WORK = _header_address_works()

#: The address of the first element of a numpy array, as an int.
data_address: Callable[[Any], int] = (
    _header_address if HEADER_ADDRESSES_WORK else _interface_address
)


# ---- Fork safety -----------------------------------------------------------

# Set in a child created by os.fork() (multiprocessing's "fork" start method
# included). The C library rejects such calls too, but checking here first
# keeps the call out of the library entirely.
_forked = False


def _mark_forked() -> None:
    global _forked
    _forked = True


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_mark_forked)


# ---- Status codes to exceptions --------------------------------------------


def raise_for_status(status: int) -> NoReturn:
    """Raise the exception for a non-zero `status`, with the library's message.

    Parameters
    ----------
    status : int
        Value returned by a computing function of the library.

    Raises
    ------
    SoftmaxCEError
        The subclass mapped to `status`, always.
    """
    if status == SCE_ERROR_FORKED:
        # The message comes from Python because asking the library for its
        # message would enter the runtime that did not survive the fork.
        raise ForkedProcessError(FORKED_MESSAGE, status)

    message = _sce_last_error().decode("utf-8", errors="replace")
    name = _sce_status_name(status).decode("ascii", errors="replace")
    if not message:
        message = f"softmaxce: call failed with status {status} ({name})"
    if status == SCE_ERROR_INTERNAL:
        message += " (this is a bug in softmaxce; please report it)"
    error_class = _STATUS_ERRORS.get(status, SoftmaxCEError)
    raise error_class(message, status)


def _checked(func: Callable[..., int], c_name: str) -> Callable[..., None]:
    """Wrap the C function `func` so that an error status raises."""

    def call(*args: object) -> None:
        if _forked:
            raise ForkedProcessError(FORKED_MESSAGE, SCE_ERROR_FORKED)
        status = func(*args)
        if status != SCE_OK:
            raise_for_status(status)

    call.__name__ = c_name.removeprefix("sce_")
    call.__qualname__ = call.__name__
    call.__doc__ = f"Run ``{c_name}``; raise on an error status."
    return call


# ---- Public wrappers ---------------------------------------------------------
# Each computing wrapper takes the C arguments in the order of the prototype.


def version_string() -> str:
    """Return the version of the loaded library, as "MAJOR.MINOR.PATCH"."""
    return _sce_version_string().decode("ascii")


def version_number() -> int:
    """Return the library version as MAJOR * 10000 + MINOR * 100 + PATCH."""
    return int(_sce_version_number())


def make_options(
    reduction: int,
    ignore_index: int | None,
    label_smoothing: float,
    mean_by: int = SCE_MEAN_BY_WEIGHT_SUM,
    z_loss: float = 0.0,
    flags: int = 0,
) -> SceOptions:
    """Build a ``sce_options`` value; `ignore_index` None means no label is ignored.

    The caller must have checked that `ignore_index` fits in int64, because
    ctypes truncates an out-of-range field value without an error.
    """
    options = SceOptions()
    options.reduction = reduction
    if ignore_index is not None:
        options.has_ignore_index = 1
        options.ignore_index = ignore_index
    options.label_smoothing = label_smoothing
    options.z_loss = z_loss
    options.mean_by = mean_by
    options.flags = flags
    return options


_SHARED_OPTIONS: dict[tuple[object, ...], SceOptions] = {}
_copysign = math.copysign
_SHARED_OPTIONS_MAX = 256


def shared_options(
    reduction: int,
    ignore_index: int | None,
    label_smoothing: float,
    mean_by: int = SCE_MEAN_BY_WEIGHT_SUM,
    z_loss: float = 0.0,
    flags: int = 0,
) -> SceOptions:
    """Return a cached ``sce_options`` value with the fields of :func:`make_options`.

    Building the structure took about 1 us in timeit runs, which matters
    for small problems. The cached values are shared by every thread, so
    callers must never modify one. Use :func:`make_options` for a value to
    modify. The sign of each float is part of the key, so 0.0 and -0.0
    never share an entry.
    """
    key = (
        reduction,
        ignore_index,
        label_smoothing,
        _copysign(1.0, label_smoothing),
        mean_by,
        z_loss,
        _copysign(1.0, z_loss),
        flags,
    )
    options = _SHARED_OPTIONS.get(key)
    if options is None:
        options = make_options(
            reduction, ignore_index, label_smoothing, mean_by, z_loss, flags
        )
        if len(_SHARED_OPTIONS) >= _SHARED_OPTIONS_MAX:
            _SHARED_OPTIONS.clear()
        _SHARED_OPTIONS[key] = options
    return options


def sparse_cross_entropy_packed(packed: bytes) -> None:
    """Run ``sce_sparse_cross_entropy`` with arguments packed as SPARSE_ARGS.

    Raise on an error status, as :func:`sparse_cross_entropy` does.
    """
    if _forked:
        raise ForkedProcessError(FORKED_MESSAGE, SCE_ERROR_FORKED)
    status = _sce_private_sparse_cross_entropy(packed)
    if status != SCE_OK:
        raise_for_status(status)


sparse_cross_entropy = _checked(_sce_sparse_cross_entropy, "sce_sparse_cross_entropy")
dense_cross_entropy = _checked(_sce_dense_cross_entropy, "sce_dense_cross_entropy")
softmax = _checked(_sce_softmax, "sce_softmax")
log_softmax = _checked(_sce_log_softmax, "sce_log_softmax")
softmax_backward = _checked(_sce_softmax_backward, "sce_softmax_backward")
log_softmax_backward = _checked(_sce_log_softmax_backward, "sce_log_softmax_backward")


# ---- Threads -----------------------------------------------------------------


def set_num_threads(n: int) -> None:
    """Set how many threads each softmaxce call may use, process-wide.

    A call splits its positions into fixed blocks of about 65536 elements and
    runs them on a pool of worker threads that lives as long as the process.
    A call with a single block runs on the calling thread alone. Results are
    bitwise identical for any thread count, because every reduction sums in
    a fixed order. The setting applies to calls that start after it returns.

    Parameters
    ----------
    n : int
        Number of threads in [1, 1024], or 0 to restore the default: the
        environment variable ``SOFTMAXCE_NUM_THREADS`` as read when the
        library was loaded, else the number of CPUs the process may use.

    Raises
    ------
    InvalidDtypeError
        If `n` is not an integer. A ``TypeError`` subclass.
    InvalidArgumentError
        If `n` is outside [0, 1024]; the setting is then unchanged. A
        ``ValueError`` subclass.
    ForkedProcessError
        If called in a child process forked after softmaxce was loaded.

    See Also
    --------
    get_num_threads : the current setting.

    Examples
    --------
    >>> import softmaxce
    >>> previous = softmaxce.get_num_threads()
    >>> softmaxce.set_num_threads(1)
    >>> softmaxce.get_num_threads()
    1
    >>> softmaxce.set_num_threads(previous)
    """
    try:
        count = operator.index(n)
    except TypeError:
        raise InvalidDtypeError(
            f"the number of threads must be an integer, got {value_text(n)} of type "
            f"{type(n).__name__}"
        ) from None
    if not -(2**31) <= count < 2**31:
        # ctypes would truncate this to a C int without an error.
        raise InvalidArgumentError(
            f"number of threads {int_text(count)} does not fit in a C int; valid "
            "values are 1 to 1024, or 0 to restore the default"
        )
    _set_num_threads(count)


def get_num_threads() -> int:
    """Return how many threads each softmaxce call may use.

    Returns
    -------
    int
        The count set by :func:`set_num_threads`, or the default: the
        environment variable ``SOFTMAXCE_NUM_THREADS`` as read when the
        library was loaded, else the number of CPUs the process may use.

    Raises
    ------
    ForkedProcessError
        If called in a child process forked after softmaxce was loaded.
    """
    if _forked:
        raise ForkedProcessError(FORKED_MESSAGE, SCE_ERROR_FORKED)
    count = _sce_get_num_threads()
    if count < 0:
        raise_for_status(-count)
    return count


_set_num_threads = _checked(_sce_set_num_threads, "sce_set_num_threads")
