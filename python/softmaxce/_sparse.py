"""Cross-entropy with integer class labels: the PyTorch and TensorFlow fronts.

Both fronts map their arguments to one call of ``sce_sparse_cross_entropy``;
the loss, the gradient, or both come from that single pass over the logits.
The PyTorch front also takes class-probability targets, which it sends to
``sce_dense_cross_entropy`` through the helpers in ``_dense``.
"""

from __future__ import annotations

import ctypes
import math
from typing import Callable, NamedTuple, NoReturn, Union

import numpy as np
from numpy.typing import ArrayLike, NDArray

from . import _dense, _lib
from ._coerce import (
    address,
    as_array,
    as_float,
    as_float_scalar,
    as_int64,
    as_labels,
    check_output,
    class_axis_layout,
    dtype_code,
    normalize_axis,
    reject_overlap,
)
from ._dense import DenseProblem, Loss
from ._errors import (
    InvalidArgumentError,
    InvalidDtypeError,
    InvalidShapeError,
    LabelOutOfRangeError,
    value_text,
)

__all__ = [
    "cross_entropy",
    "cross_entropy_backward",
    "cross_entropy_with_grad",
    "sparse_softmax_cross_entropy_with_logits",
    "sparse_softmax_cross_entropy_with_logits_with_grad",
]

_REDUCTIONS = {
    "none": _lib.SCE_REDUCTION_NONE,
    "sum": _lib.SCE_REDUCTION_SUM,
    "mean": _lib.SCE_REDUCTION_MEAN,
}


class _Problem(NamedTuple):
    """Arguments of one sparse cross-entropy call, checked and converted."""

    logits: NDArray[np.floating]
    labels: NDArray[np.integer]
    weight: NDArray[np.floating] | None
    outer: int
    classes: int
    inner: int
    loss_shape: tuple[int, ...]
    out_dtype: np.dtype
    labels_name: str


# ---- Argument preparation --------------------------------------------------

TorchProblem = Union[_Problem, DenseProblem]


def is_probability_target(input_shape: tuple[int, ...], target: np.ndarray) -> bool:
    """Return whether `target` contains class probabilities, by PyTorch's rule.

    PyTorch reads a target of the input's shape as probabilities; a float or
    complex dtype marks it here, so that integer indices of an unbatched
    (1,)-shaped input stay indices. A complex target is then rejected as a
    dtype error.
    """
    return target.shape == input_shape and target.dtype.kind in "fc"


class ArgumentNames(NamedTuple):
    """Names of the logits, target and class-weight arguments in messages."""

    logits: str = "input"
    target: str = "target"
    weight: str = "weight"


TORCH_NAMES = ArgumentNames()


def prepare_class_axis_one(
    input: ArrayLike,
    target: ArrayLike,
    weight: ArrayLike | None,
    names: ArgumentNames = TORCH_NAMES,
) -> TorchProblem:
    """Check and convert logits with the class axis 1 (0 when 1-D) and a target.

    The target contains class indices of shape (N, d1, ..., dk), or () or (1,)
    for 1-D logits, or class probabilities of the logits' shape. The PyTorch,
    chainer and ONNX fronts share this; `names` are their argument names.
    """
    logits, out_dtype = as_float(input, names.logits)
    shape = logits.shape
    if logits.ndim == 0:
        raise InvalidShapeError(
            f"{names.logits} must have shape (C,), (N, C) or (N, C, d1, ..., dk), "
            "got a 0-d array"
        )

    if logits.ndim == 1:
        # Unbatched: one position, class axis 0; the loss is 0-d.
        outer, classes, inner = 1, shape[0], 1
        loss_shape: tuple[int, ...] = ()
    else:
        outer, classes, inner = shape[0], shape[1], math.prod(shape[2:])
        loss_shape = (shape[0],) + shape[2:]
    weight_array = _dense.as_class_weight(weight, names.weight, logits.dtype, classes)

    if type(target) is np.ndarray:
        target_array = target
    else:
        target_array = as_array(target, names.target)
    if is_probability_target(shape, target_array):
        probabilities = _dense.as_dense_labels(target_array, names.target, logits.dtype)
        return DenseProblem(
            logits,
            probabilities,
            weight_array,
            outer,
            classes,
            inner,
            loss_shape,
            out_dtype,
            names.target,
        )

    labels = as_labels(target_array, names.target, classes)
    if logits.ndim == 1:
        # Like PyTorch, the target of unbatched input may be 0-d or hold one
        # element.
        if labels.shape not in ((), (1,)):
            raise InvalidShapeError(
                f"{names.target} must be 0-d for {names.logits} of shape {shape}, "
                f"got shape {labels.shape}"
            )
    elif labels.shape == shape:
        # The shape of the logits means class probabilities, which are floats.
        raise InvalidDtypeError(
            f"{names.target} has the shape {shape} of {names.logits}, so it must "
            f"contain class probabilities of a float dtype, got {labels.dtype}; "
            f"class indices must have shape {loss_shape}"
        )
    elif labels.shape != loss_shape:
        raise InvalidShapeError(
            f"{names.target} must have shape {loss_shape} for {names.logits} of "
            f"shape {shape} (N, C, d1, ..., dk), or the shape of {names.logits} "
            f"for class probabilities, got shape {labels.shape}"
        )
    return _Problem(
        logits,
        labels,
        weight_array,
        outer,
        classes,
        inner,
        loss_shape,
        out_dtype,
        names.target,
    )


def reduction_code(reduction: object) -> int:
    """Return the library code of 'none', 'sum' or 'mean'.

    Raises
    ------
    InvalidArgumentError
        If `reduction` is not one of those strings.
    """
    code = _REDUCTIONS.get(reduction) if isinstance(reduction, str) else None
    if code is None:
        raise InvalidArgumentError(
            "reduction must be one of 'none', 'sum' or 'mean', got "
            f"{value_text(reduction)}"
        )
    return code


def _torch_options(
    problem: TorchProblem,
    reduction: str,
    ignore_index: int | None,
    label_smoothing: float,
    z_loss: float,
) -> _lib.SceOptions:
    """Build the options of the PyTorch convention.

    The mean of integer targets divides by the sum of w[y] over kept
    positions, the mean of probability targets by the number of positions.
    """
    code = reduction_code(reduction)
    ignore = None if ignore_index is None else as_int64(ignore_index, "ignore_index")
    smoothing = as_float_scalar(label_smoothing, "label_smoothing")
    z = as_float_scalar(z_loss, "z_loss")
    if not isinstance(problem, DenseProblem):
        return _lib.shared_options(
            code, ignore, smoothing, _lib.SCE_MEAN_BY_WEIGHT_SUM, z_loss=z
        )

    # PyTorch rejects a non-negative ignore_index with probability targets
    # and ignores a negative one, since no probability is an index.
    if ignore is not None and ignore >= 0:
        raise InvalidArgumentError(
            f"ignore_index {ignore} is invalid when target contains class "
            "probabilities (the shape and a float dtype of input); use a "
            "negative value such as the default -100"
        )
    return _lib.shared_options(
        code, None, smoothing, _lib.SCE_MEAN_BY_POSITIONS, z_loss=z
    )


def _prepare_grad_output(
    grad_output: ArrayLike | None, reduction: int, problem: TorchProblem
) -> NDArray[np.floating] | None:
    """Convert the upstream gradient; None means ones."""
    return _dense.prepare_grad_output(
        grad_output, reduction, problem.loss_shape, problem.logits.dtype
    )


# ---- Output arrays -----------------------------------------------------------

_REDUCTION_NAMES = {code: name for name, code in _REDUCTIONS.items()}


def check_outputs(
    problem: TorchProblem,
    reduction: int,
    out: object,
    grad_out: object,
    inputs: list[tuple[str, object]],
) -> None:
    """Check the `out` (loss) and `grad_out` (gradient) arrays of a call.

    `inputs` pairs argument names with the values the caller passed, the
    logits first; `grad_out` may be the logits array itself (in place).

    Raises
    ------
    InvalidArgumentError
        If `out` is given for a reduced loss, an output is read-only or not
        C-contiguous, or an output shares memory with an input or the other
        output.
    InvalidShapeError, InvalidDtypeError
        If an output has the wrong shape or dtype.
    """
    outputs = []
    if out is not None:
        if reduction != _lib.SCE_REDUCTION_NONE:
            raise InvalidArgumentError(
                "out is only valid with reduction 'none', got reduction "
                f"{_REDUCTION_NAMES[reduction]!r}, which returns a scalar"
            )
        outputs.append(
            ("out", check_output(out, "out", problem.loss_shape, problem.out_dtype))
        )
    if grad_out is not None:
        shape = problem.logits.shape
        grad_array = check_output(grad_out, "grad_out", shape, problem.out_dtype)
        outputs.append(("grad_out", grad_array))
    if outputs:
        reject_overlap(outputs, inputs, in_place=("grad_out", inputs[0][0]))


def _direct(output: NDArray | None, dtype: np.dtype) -> NDArray | None:
    """Return `output` if the library can write it directly, else None.

    Only float16 results differ from the working dtype; they are computed
    into a temporary array and rounded into `output` after the call.
    """
    if output is not None and output.dtype == dtype:
        return output
    return None


# ---- The call --------------------------------------------------------------


def _run_sparse(
    problem: _Problem,
    options: _lib.SceOptions,
    grad_output: NDArray[np.floating] | None,
    want_loss: bool,
    want_grad: bool,
    loss: NDArray[np.floating] | None = None,
    grad: NDArray[np.floating] | None = None,
) -> tuple[NDArray[np.floating] | None, NDArray[np.floating] | None]:
    """Fill the requested outputs with one library call.

    `loss` and `grad`, when given, are checked contiguous arrays of the
    working dtype that the library writes directly; missing ones are
    allocated here.
    """
    logits, labels, weight = problem.logits, problem.labels, problem.weight
    dtype = logits.dtype

    if want_loss and loss is None:
        positions = problem.outer * problem.inner
        loss_len = positions if options.reduction == _lib.SCE_REDUCTION_NONE else 1
        loss = np.empty(loss_len, dtype=dtype)
    if want_grad and grad is None:
        grad = np.empty(logits.shape, dtype=dtype)

    args = (
        dtype_code(dtype),
        dtype_code(labels.dtype),
        problem.outer,
        problem.classes,
        problem.inner,
        address(logits),
        logits.size,
        address(labels),
        labels.size,
        address(weight),
        0 if weight is None else weight.size,
        address(grad_output),
        0 if grad_output is None else grad_output.size,
        ctypes.byref(options),
        address(loss),
        0 if loss is None else loss.size,
        address(grad),
        0 if grad is None else grad.size,
    )
    try:
        _lib.sparse_cross_entropy(*args)
    except LabelOutOfRangeError as exc:
        raise _named_label_error(exc, problem.labels_name, labels.ndim) from None
    return loss, grad


def _named_label_error(
    exc: LabelOutOfRangeError, name: str, ndim: int
) -> LabelOutOfRangeError:
    """Return the library's label error with the argument `name` in front.

    The library receives the labels flattened, so the position in its
    message is a row-major index into them.
    """
    note = f" (a row-major index into {name})" if ndim > 1 else ""
    return LabelOutOfRangeError(f"{name}: {exc}{note}", exc.status)


# ---- Fast path ---------------------------------------------------------------
# On small problems the Python code around the library call costs more than
# the call itself. With the call stubbed out, the general path takes about
# 9 us for 32x10 float32 logits, and the fast path below about 2.4 us (timeit,
# Python 3.11, numpy 2.4, on a 2-core Xeon VM).
# The fast path also passes its arguments to the library packed into one
# buffer (_lib.SPARSE_ARGS). A ctypes call with the 18 arguments of
# sce_sparse_cross_entropy took about 3 us for an empty problem, and packing
# plus the one-argument call about 0.8 us.
# The fast path accepts only arguments that need no conversion and no message.
# For anything else it returns None, and the general path converts, checks
# and raises exactly as it always does.
# The extension module softmaxce._fastpath makes the same checks in C and
# calls the library without ctypes. The whole 32x10 call took 1.85 us with
# it and 3.6 us with the Python version below (timeit, Python 3.11, numpy
# 2.4, on a 2-core AMD EPYC VM). Where the module was built, _fast_torch is
# its sparse function, and tests compare the two on every kind of argument.

# numpy returns these very objects for native-order arrays of the dtypes, so
# an identity test rules out byte-swapped and other unusual dtypes at once.
# An equal dtype object (from unpickling) takes an equality test after it.
_FLOAT32 = np.dtype(np.float32)
_FLOAT64 = np.dtype(np.float64)
_INT32 = np.dtype(np.int32)
_INT64 = np.dtype(np.int64)
_INT64_RANGE = range(-(2**63), 2**63)
_PLAIN_NUMBERS = (float, int)


# Module-level names for the objects the fast path uses, so that each costs
# one global lookup in place of an attribute lookup as well.
_pack_sparse_args = _lib.SPARSE_ARGS.pack
_run_packed = _lib.sparse_cross_entropy_packed
_empty = np.empty
_ndarray = np.ndarray
_SCE_FLOAT32 = _lib.SCE_FLOAT32
_SCE_FLOAT64 = _lib.SCE_FLOAT64
_SCE_INT32 = _lib.SCE_INT32
_SCE_INT64 = _lib.SCE_INT64
_SCE_REDUCTION_NONE = _lib.SCE_REDUCTION_NONE
_SCE_MEAN_BY_WEIGHT_SUM = _lib.SCE_MEAN_BY_WEIGHT_SUM

# The fast path reads data addresses inline, as _lib.data_address does, to
# save a function call per array. Where that reading does not work, the fast
# path is off and every call takes the general path.
_FAST_PATH_ON = _lib.HEADER_ADDRESSES_WORK
_words = _lib.ADDRESS_WORDS
_pointer_offset = _lib.DATA_POINTER_OFFSET


def _fast_torch_python(
    input: object,
    target: object,
    weight: object,
    ignore_index: object,
    reduction: object,
    label_smoothing: object,
    z_loss: object,
    grad_output: object,
    want_loss: bool,
    want_grad: bool,
    out: object,
    grad_out: object,
) -> tuple[Loss | None, NDArray[np.floating] | None] | None:
    """Run a PyTorch-style call of the common form, or return None.

    The common form has contiguous (N, C) float32 or float64 logits,
    contiguous (N,) int32 or int64 labels and no class weights. The options
    are a Python int `ignore_index`, float or int smoothing and z-loss, and
    an upstream gradient of None or 1; the library checks their values as on
    the general path. Output arrays must be aligned, C-contiguous, writable,
    of the right shape and dtype, and disjoint from the inputs, except that
    `grad_out` may be the logits themselves when the labels do not overlap
    them.
    """
    # Arguments.
    if not _FAST_PATH_ON:
        return None
    if type(input) is not _ndarray or type(target) is not _ndarray:
        return None
    if weight is not None:
        return None
    # numpy's own dtype objects pass the identity tests. An equal dtype that
    # is another object (one unpickled, or with metadata) passes the
    # comparisons after them.
    dtype = input.dtype
    if dtype is _FLOAT32:
        code, itemsize = _SCE_FLOAT32, 4
    elif dtype is _FLOAT64:
        code, itemsize = _SCE_FLOAT64, 8
    elif dtype == _FLOAT32:
        code, itemsize = _SCE_FLOAT32, 4
    elif dtype == _FLOAT64:
        code, itemsize = _SCE_FLOAT64, 8
    else:
        return None
    label_dtype = target.dtype
    if label_dtype is _INT64 or label_dtype == _INT64:
        label_code, label_itemsize = _SCE_INT64, 8
    elif label_dtype is _INT32 or label_dtype == _INT32:
        label_code, label_itemsize = _SCE_INT32, 4
    else:
        return None
    shape = input.shape
    if len(shape) != 2:
        return None
    rows, classes = shape
    if target.shape != (rows,):
        return None
    input_flags = input.flags
    if not (input_flags.c_contiguous and target.flags.c_contiguous):
        return None
    if type(reduction) is not str or type(ignore_index) is not int:
        return None
    reduction_code = _REDUCTIONS.get(reduction)
    if reduction_code is None or ignore_index not in _INT64_RANGE:
        return None
    if type(label_smoothing) is not float:
        label_smoothing = _plain_float(label_smoothing)
        if label_smoothing is None:
            return None
    if type(z_loss) is not float:
        z_loss = _plain_float(z_loss)
        if z_loss is None:
            return None
    if want_grad and not (
        grad_output is None
        or (type(grad_output) in _PLAIN_NUMBERS and grad_output == 1)
    ):
        return None

    # Outputs. Each [start, end) byte range given by the caller must be
    # disjoint from those of the inputs and of the other output. Every array
    # here is contiguous, so its range spans its element count times the
    # item size.
    size = rows * classes
    logits_at = _words[(id(input) + _pointer_offset) >> 3]
    logits_end = logits_at + size * itemsize
    labels_at = _words[(id(target) + _pointer_offset) >> 3]
    labels_end = labels_at + rows * label_itemsize
    reduced = reduction_code != _SCE_REDUCTION_NONE
    loss = grad = None
    loss_at = loss_len = grad_at = grad_len = 0
    loss_end = 0  # no `out`: the empty range [0, 0) overlaps nothing
    if want_loss:
        if out is None:
            loss_len = 1 if reduced else rows
            loss = _empty(loss_len, dtype)
            loss_at = _words[(id(loss) + _pointer_offset) >> 3]
        else:
            # `out` with a reduced loss is an error that the general path
            # raises. carray means aligned, C-contiguous and writable.
            if reduced or type(out) is not _ndarray or out.dtype != dtype:
                return None
            if out.shape != (rows,) or not out.flags.carray:
                return None
            loss_at = _words[(id(out) + _pointer_offset) >> 3]
            loss_end = loss_at + rows * itemsize
            if loss_at < logits_end and logits_at < loss_end:
                return None
            if loss_at < labels_end and labels_at < loss_end:
                return None
            loss, loss_len = out, rows
    if want_grad:
        grad_len = size
        if grad_out is None:
            grad = _empty(shape, dtype)
            grad_at = _words[(id(grad) + _pointer_offset) >> 3]
        elif grad_out is input:
            if not input_flags.writeable:
                return None
            if labels_at < logits_end and logits_at < labels_end:
                return None
            grad, grad_at = input, logits_at
        else:
            if type(grad_out) is not _ndarray or grad_out.dtype != dtype:
                return None
            if grad_out.shape != shape or not grad_out.flags.carray:
                return None
            grad_at = _words[(id(grad_out) + _pointer_offset) >> 3]
            grad_end = grad_at + size * itemsize
            if grad_at < logits_end and logits_at < grad_end:
                return None
            if grad_at < labels_end and labels_at < grad_end:
                return None
            if grad_at < loss_end and loss_at < grad_end:
                return None
            grad = grad_out

    # The call.
    packed = _pack_sparse_args(
        code,
        label_code,
        rows,
        classes,
        1,  # inner
        logits_at,
        size,
        labels_at,
        rows,
        0,  # weight: NULL
        0,
        0,  # grad_output: NULL, which means ones
        0,
        reduction_code,
        1,  # has_ignore_index
        ignore_index,
        label_smoothing,
        z_loss,
        _SCE_MEAN_BY_WEIGHT_SUM,
        0,  # flags
        loss_at,
        loss_len,
        grad_at,
        grad_len,
    )
    try:
        _run_packed(packed)
    except LabelOutOfRangeError as exc:
        raise _named_label_error(exc, TORCH_NAMES.target, 1) from None
    if reduced and loss is not None:
        return loss[0], grad
    return loss, grad


def _raise_fast_status(status: int) -> NoReturn:
    """Raise the error of a failed call of the C fast path (_lib.FASTPATH)."""
    try:
        _lib.raise_for_status(status)
    except LabelOutOfRangeError as exc:
        raise _named_label_error(exc, TORCH_NAMES.target, 1) from None


# The fast path: the extension module's version of _fast_torch_python where it
# was built. It returns what _fast_torch_python returns, except that a failed
# call returns the library's status for _raise_fast_status.
_fast_torch: Callable[..., object] = (
    _fast_torch_python if _lib.FASTPATH is None else _lib.FASTPATH.sparse
)


def _plain_float(value: object) -> float | None:
    """Return an int `value` as a float; None for other types or huge ints."""
    if type(value) is not int:
        return None
    try:
        return float(value)
    except OverflowError:
        return None


def _finish_loss(
    loss: NDArray[np.floating],
    options: _lib.SceOptions,
    problem: TorchProblem,
    out: NDArray[np.floating] | None = None,
) -> Loss:
    """Return a scalar for sum and mean, else the per-position loss array.

    With `out` given, the per-position loss is in `out` (rounded into it
    from `loss` for float16), and `out` is returned.
    """
    if out is not None:
        if loss is not out:
            np.copyto(out, loss.reshape(out.shape), casting="same_kind")
        return out
    return _dense.finish_loss(
        loss, options.reduction, problem.loss_shape, problem.out_dtype
    )


def _finish_grad(
    grad: NDArray[np.floating],
    problem: TorchProblem,
    grad_out: NDArray[np.floating] | None = None,
) -> NDArray[np.floating]:
    """Return the gradient in the result dtype, in `grad_out` when it is given."""
    if grad_out is not None:
        if grad is not grad_out:
            np.copyto(grad_out, grad, casting="same_kind")
        return grad_out
    if grad.dtype is problem.out_dtype:
        return grad
    return grad.astype(problem.out_dtype, copy=False)


class TorchResult(NamedTuple):
    """Outputs of one PyTorch-style call, None for an output not requested.

    `grad_target` is set only for probability targets, when requested.
    """

    loss: Loss | None
    grad: NDArray[np.floating] | None
    grad_target: NDArray[np.floating] | None


def run_problem(
    problem: TorchProblem,
    options: _lib.SceOptions,
    grad_output: ArrayLike | None,
    want_loss: bool,
    want_grad: bool,
    want_grad_target: bool = False,
    out: NDArray[np.floating] | None = None,
    grad_out: NDArray[np.floating] | None = None,
) -> TorchResult:
    """Compute the requested outputs of a prepared problem in one library call.

    `grad_output` scales the gradients only, never the loss. The target's
    gradient exists only for probability targets. `out` and `grad_out` are
    output arrays already checked by :func:`check_outputs`; the loss and the
    gradient are written into them and they are returned.
    """
    upstream = None
    if want_grad or want_grad_target:
        upstream = _prepare_grad_output(grad_output, options.reduction, problem)

    dtype = problem.logits.dtype
    loss_buffer, grad_buffer = _direct(out, dtype), _direct(grad_out, dtype)
    grad_target = None
    if isinstance(problem, DenseProblem):
        loss, grad, grad_target = _dense.run(
            problem,
            options,
            upstream,
            want_loss,
            want_grad,
            want_grad_target,
            loss_buffer,
            grad_buffer,
        )
    else:
        loss, grad = _run_sparse(
            problem, options, upstream, want_loss, want_grad, loss_buffer, grad_buffer
        )

    return TorchResult(
        None if loss is None else _finish_loss(loss, options, problem, out),
        None if grad is None else _finish_grad(grad, problem, grad_out),
        None if grad_target is None else _finish_grad(grad_target, problem),
    )


def torch_cross_entropy(
    input: ArrayLike,
    target: ArrayLike,
    weight: ArrayLike | None,
    ignore_index: int | None,
    reduction: str,
    label_smoothing: float,
    z_loss: float,
    grad_output: ArrayLike | None,
    want_loss: bool,
    want_grad: bool,
    want_grad_target: bool = False,
    out: object = None,
    grad_out: object = None,
) -> TorchResult:
    """Compute what the PyTorch-style functions return, in one library call.

    The public functions and the torch adapter share this. An `ignore_index`
    of None ignores no label. `out` and `grad_out` are the callers' output
    arrays, checked here.
    """
    problem = prepare_class_axis_one(input, target, weight)
    options = _torch_options(problem, reduction, ignore_index, label_smoothing, z_loss)
    if out is not None or grad_out is not None:
        inputs = [
            ("input", input),
            ("target", target),
            ("weight", weight),
            ("grad_output", grad_output),
        ]
        check_outputs(problem, options.reduction, out, grad_out, inputs)
    return run_problem(
        problem,
        options,
        grad_output,
        want_loss,
        want_grad,
        want_grad_target,
        out,  # type: ignore[arg-type]
        grad_out,  # type: ignore[arg-type]
    )


# ---- PyTorch front ---------------------------------------------------------


def cross_entropy(
    input: ArrayLike,
    target: ArrayLike,
    weight: ArrayLike | None = None,
    ignore_index: int = -100,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
    z_loss: float = 0.0,
    *,
    out: NDArray[np.floating] | None = None,
) -> Loss:
    r"""Compute the softmax cross-entropy of logits and targets, as PyTorch.

    Follows ``torch.nn.functional.cross_entropy``: the class axis is 1, or 0
    for 1-D input. The target contains class indices, or class probabilities
    when it has the shape of `input` and a float dtype.

    Parameters
    ----------
    input : array_like
        Logits of shape (C,), (N, C) or (N, C, d1, ..., dk). float32 and float64
        are used as they are, float16 is computed in float32; other dtypes raise
        InvalidDtypeError. A non-contiguous array is copied.
    target : array_like
        Class indices in [0, C) or equal to `ignore_index`, of shape () or (1,)
        for 1-D input, else (N, d1, ..., dk). int32 and int64 are used as
        they are, narrower and unsigned integers are converted. Or class
        probabilities (any finite values) of the shape of `input`, in float16,
        float32 or float64, converted to the dtype `input` is computed in.
    weight : array_like, optional
        Class weights of shape (C,), finite and >= 0, converted to the dtype of
        `input`. Default: all ones.
    ignore_index : int, optional
        Label value whose positions contribute nothing to the loss, the
        gradient or the mean's denominator. With probability targets it must
        be negative and has no effect, as in PyTorch. Default: -100.
    reduction : {'mean', 'sum', 'none'}, optional
        'none' returns one loss per position, 'sum' their sum, and 'mean' the
        sum divided by the sum of ``weight[target]`` over kept positions, or
        by the number of positions for probability targets. Default: 'mean'.
    label_smoothing : float, optional
        Epsilon in [0, 1]; the target becomes ``(1 - eps) * onehot + eps / C``,
        or ``(1 - eps) * target + eps / C`` for probabilities. Default: 0.0.
    z_loss : float, optional
        Coefficient >= 0 of an extra ``z_loss * logsumexp(x)**2`` per kept
        position, unweighted, that keeps the log-normaliser near 0 (the
        auxiliary z-loss of PaLM). PyTorch has no such argument. Default: 0.0.
    out : numpy.ndarray, optional
        Array that receives the per-position loss, for reduction 'none' only:
        writable, C-contiguous, of the loss shape and the dtype of `input`,
        sharing no memory with the other arguments. The library writes into
        it directly (float16 results are rounded into it). Default: None, a
        new array.

    Returns
    -------
    numpy.floating or numpy.ndarray
        For 'sum' and 'mean', a scalar of the dtype of `input`; for 'none', an
        array of shape (N, d1, ..., dk) (0-d for 1-D input), which is `out`
        when it is given.

    Raises
    ------
    LabelOutOfRangeError
        If a label is outside [0, C) and not `ignore_index`. The message names
        the label and its position. An ``IndexError`` subclass.
    InvalidShapeError
        If the shapes of `input`, `target` and `weight` do not fit together.
    InvalidArgumentError
        If `reduction`, `label_smoothing`, `z_loss` or a weight value is
        invalid, or `ignore_index` is >= 0 with probability targets, or `out`
        is read-only, not C-contiguous, shares memory with an input, or is
        given for 'sum' or 'mean'. A ``ValueError`` subclass, as is
        InvalidShapeError (also raised for an `out` of the wrong shape).
    InvalidDtypeError
        If an argument has a dtype that cannot be used, or `out` is not an
        array of the dtype of `input`. A ``TypeError`` subclass.
    ForkedProcessError
        If called in a child process forked after softmaxce was loaded.

    See Also
    --------
    cross_entropy_backward : gradient of this loss.
    cross_entropy_with_grad : loss and gradient from one pass.

    Notes
    -----
    For a position with label :math:`y`, class weights :math:`w`,
    :math:`m = \max_c x_c` and :math:`s = \sum_c \exp(x_c - m)`, the loss is

    .. math:: \ell = w_y \left( (m - x_y) + \log s \right).

    Every exponent is <= 0, so nothing overflows, and :math:`1 \le s \le C`, so
    the logarithm is finite. Forming :math:`m - x_y` directly, instead of
    subtracting two large log-probabilities, keeps full precision for large
    logits: two equal logits of 1e30 give :math:`\log 2`, not 0.

    With label smoothing :math:`\varepsilon` the loss is
    :math:`(1 - \varepsilon) w_y (-\log p_y) + (\varepsilon / C)
    \sum_c w_c (-\log p_c)`, as in PyTorch. A mean with nothing to divide by
    (no positions, all ignored, zero total weight) is NaN; a sum over nothing
    is 0.

    For probability targets :math:`t`, with :math:`u = (1 - \varepsilon) t +
    \varepsilon / C`, the loss is :math:`\sum_{c : w_c u_c \ne 0} w_c u_c
    \left( (m - x_c) + \log s \right)`. A class whose weighted target is 0
    adds nothing, even when its logit is -inf (:math:`0 \cdot \log 0 = 0`),
    where PyTorch multiplies :math:`0 \cdot (-\infty)` and returns NaN.

    Examples
    --------
    >>> import numpy as np
    >>> import softmaxce
    >>> logits = np.array([[2.0, 0.0, 0.0], [0.0, 2.0, 0.0], [0.0, 0.0, 2.0]])
    >>> labels = np.array([0, 2, 2])
    >>> print(round(float(softmaxce.cross_entropy(logits, labels)), 6))
    0.906211
    >>> print(np.round(softmaxce.cross_entropy(logits, labels, reduction="none"), 6))
    [0.239545 2.239545 0.239545]
    >>> weight = np.array([1.0, 2.0, 3.0])
    >>> loss = softmaxce.cross_entropy(logits, labels, weight=weight)
    >>> print(round(float(loss), 6))
    1.096688
    >>> print(round(float(softmaxce.cross_entropy(logits, [0, -100, 2])), 6))
    0.239545

    Probability targets: one-hot rows give the loss of the indices, and the
    mean divides by the number of positions, never by the weights.

    >>> onehot = np.eye(3)[labels]
    >>> print(round(float(softmaxce.cross_entropy(logits, onehot)), 6))
    0.906211
    >>> loss = softmaxce.cross_entropy(logits, onehot, weight=weight)
    >>> print(round(float(loss), 6))
    2.558938

    A per-position loss can go into a reused array:

    >>> losses = np.empty(3)
    >>> result = softmaxce.cross_entropy(logits, labels, reduction="none", out=losses)
    >>> result is losses
    True
    """
    fast = _fast_torch(
        input,
        target,
        weight,
        ignore_index,
        reduction,
        label_smoothing,
        z_loss,
        None,
        True,
        False,
        out,
        None,
    )
    if fast is not None:
        if type(fast) is int:
            _raise_fast_status(fast)
        return fast[0]  # type: ignore[index]
    result = torch_cross_entropy(
        input,
        target,
        weight,
        ignore_index,
        reduction,
        label_smoothing,
        z_loss,
        grad_output=None,
        want_loss=True,
        want_grad=False,
        out=out,
    )
    return result.loss


def cross_entropy_backward(
    input: ArrayLike,
    target: ArrayLike,
    grad_output: ArrayLike = 1.0,
    weight: ArrayLike | None = None,
    ignore_index: int = -100,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
    z_loss: float = 0.0,
    *,
    grad_out: NDArray[np.floating] | None = None,
) -> NDArray[np.floating]:
    r"""Compute the gradient of :func:`cross_entropy` with respect to the logits.

    Parameters
    ----------
    input, target, weight, ignore_index, reduction, label_smoothing, z_loss
        As in :func:`cross_entropy`.
    grad_output : array_like, optional
        Upstream gradient of the loss: a scalar for 'sum' and 'mean', an array
        of the per-position loss shape (or one that broadcasts to it) for
        'none'. Default: 1.0.
    grad_out : numpy.ndarray, optional
        Array that receives the gradient: writable, C-contiguous, of the
        shape and dtype of `input`. It may be `input` itself, which is then
        overwritten in place; any other memory shared with an argument is an
        error. The library writes into it directly, so a float32 or float64
        `input` that is already C-contiguous allocates nothing of its size.
        Default: None, a new array.

    Returns
    -------
    numpy.ndarray
        Gradient of the shape and dtype of `input`; `grad_out` when given.

    Raises
    ------
    LabelOutOfRangeError, InvalidShapeError, InvalidArgumentError, \
InvalidDtypeError, ForkedProcessError
        As in :func:`cross_entropy`, where the rules for `out` apply to
        `grad_out`; InvalidShapeError also when `grad_output` has the wrong
        shape.

    Notes
    -----
    Without label smoothing the gradient at a kept position with label
    :math:`y` is

    .. math:: \frac{\partial \ell}{\partial x_c}
              = \frac{g \, w_y}{D} \left(p_c - [c = y]\right),
              \qquad p = \operatorname{softmax}(x),

    with :math:`g` the upstream gradient and :math:`D` the mean's denominator
    (1 for 'sum' and 'none'). The softmax is computed with the row maximum
    subtracted, so it is stable for any finite logits. Ignored positions get
    an exactly zero gradient, whatever their logits hold, and a mean with
    nothing to divide by gives an all-zero gradient.

    For probability targets, with :math:`a_c = w_c u_c` the weighted smoothed
    target, the gradient is the exact :math:`(g / D)(p_c \sum_k a_k - a_c)`,
    also when target rows do not sum to 1. The z-loss adds
    :math:`(g / D) \, 2 z \log(\sum_k e^{x_k}) \, p_c`.

    Examples
    --------
    >>> import numpy as np
    >>> import softmaxce
    >>> logits = np.array([[2.0, 0.0, 0.0], [0.0, 2.0, 0.0], [0.0, 0.0, 2.0]])
    >>> labels = np.array([0, 2, 2])
    >>> print(np.round(softmaxce.cross_entropy_backward(logits, labels), 4))
    [[-0.071   0.0355  0.0355]
     [ 0.0355  0.2623 -0.2978]
     [ 0.0355  0.0355 -0.071 ]]

    The gradient can overwrite the logits, as in a training step that no
    longer needs them:

    >>> grad = softmaxce.cross_entropy_backward(logits, labels, grad_out=logits)
    >>> grad is logits
    True
    """
    fast = _fast_torch(
        input,
        target,
        weight,
        ignore_index,
        reduction,
        label_smoothing,
        z_loss,
        grad_output,
        False,
        True,
        None,
        grad_out,
    )
    if fast is not None:
        if type(fast) is int:
            _raise_fast_status(fast)
        return fast[1]  # type: ignore[index]
    result = torch_cross_entropy(
        input,
        target,
        weight,
        ignore_index,
        reduction,
        label_smoothing,
        z_loss,
        grad_output=grad_output,
        want_loss=False,
        want_grad=True,
        grad_out=grad_out,
    )
    return result.grad


def cross_entropy_with_grad(
    input: ArrayLike,
    target: ArrayLike,
    weight: ArrayLike | None = None,
    ignore_index: int = -100,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
    grad_output: ArrayLike = 1.0,
    z_loss: float = 0.0,
    *,
    out: NDArray[np.floating] | None = None,
    grad_out: NDArray[np.floating] | None = None,
) -> tuple[Loss, NDArray[np.floating]]:
    r"""Compute the loss of :func:`cross_entropy` and its gradient in one pass.

    One library call reads the logits once and writes both results, which is
    faster than :func:`cross_entropy` followed by
    :func:`cross_entropy_backward`.

    Parameters
    ----------
    input, target, weight, ignore_index, reduction, label_smoothing, z_loss
        As in :func:`cross_entropy`.
    grad_output : array_like, optional
        As in :func:`cross_entropy_backward`. Default: 1.0.
    out : numpy.ndarray, optional
        As in :func:`cross_entropy`: receives the loss for reduction 'none'.
    grad_out : numpy.ndarray, optional
        As in :func:`cross_entropy_backward`: receives the gradient, and may
        be `input` itself. It must not share memory with `out`.

    Returns
    -------
    loss : numpy.floating or numpy.ndarray
        As returned by :func:`cross_entropy`.
    grad : numpy.ndarray
        As returned by :func:`cross_entropy_backward`.

    Raises
    ------
    LabelOutOfRangeError, InvalidShapeError, InvalidArgumentError, \
InvalidDtypeError, ForkedProcessError
        As in :func:`cross_entropy_backward`.

    Notes
    -----
    The formulas are those of :func:`cross_entropy` and
    :func:`cross_entropy_backward`; `grad_output` scales the gradient only,
    never the returned loss.

    Examples
    --------
    >>> import numpy as np
    >>> import softmaxce
    >>> logits = np.array([[1.0, 2.0, 3.0], [1.0, 1.0, 1.0]], dtype=np.float32)
    >>> loss, grad = softmaxce.cross_entropy_with_grad(logits, [2, 0], reduction="sum")
    >>> loss.dtype, grad.dtype
    (dtype('float32'), dtype('float32'))
    >>> print(round(float(loss), 5))
    1.50622
    >>> print(np.round(grad, 4))
    [[ 0.09    0.2447 -0.3348]
     [-0.6667  0.3333  0.3333]]

    In a training loop, one gradient array serves every step:

    >>> grad = np.empty_like(logits)
    >>> loss, result = softmaxce.cross_entropy_with_grad(logits, [2, 0], grad_out=grad)
    >>> result is grad
    True
    """
    fast = _fast_torch(
        input,
        target,
        weight,
        ignore_index,
        reduction,
        label_smoothing,
        z_loss,
        grad_output,
        True,
        True,
        out,
        grad_out,
    )
    if fast is not None:
        if type(fast) is int:
            _raise_fast_status(fast)
        return fast  # type: ignore[return-value]
    result = torch_cross_entropy(
        input,
        target,
        weight,
        ignore_index,
        reduction,
        label_smoothing,
        z_loss,
        grad_output=grad_output,
        want_loss=True,
        want_grad=True,
        out=out,
        grad_out=grad_out,
    )
    return result.loss, result.grad


# ---- TensorFlow front ------------------------------------------------------


def _prepare_per_example(
    labels: ArrayLike, logits: ArrayLike, axis: object
) -> _Problem:
    """Check and convert integer labels and logits with class axis `axis`.

    The labels have the shape of the logits without the class axis; the
    per-example loss has the labels' shape.
    """
    logits_array, out_dtype = as_float(logits, "logits")
    shape = logits_array.shape
    label_array = as_labels(labels, "labels", shape[-1] if shape else None)
    if logits_array.ndim == 0:
        raise InvalidShapeError(
            "logits must have rank >= 1 (one axis is the class axis), got a 0-d array"
        )
    axis_index = normalize_axis(axis, logits_array.ndim)
    if label_array.ndim != logits_array.ndim - 1:
        raise InvalidShapeError(
            "labels rank must equal logits rank - 1; got labels of shape "
            f"{label_array.shape} (rank {label_array.ndim}) and logits of shape "
            f"{shape} (rank {logits_array.ndim})"
        )
    expected = shape[:axis_index] + shape[axis_index + 1 :]
    if label_array.shape != expected:
        raise InvalidShapeError(
            f"labels must have shape {expected}, the shape of logits {shape} "
            f"without its class axis {axis_index}, got {label_array.shape}"
        )
    outer, classes, inner = class_axis_layout(shape, axis_index)
    return _Problem(
        logits_array,
        label_array,
        None,
        outer,
        classes,
        inner,
        expected,
        out_dtype,
        "labels",
    )


def per_example_cross_entropy(
    labels: ArrayLike,
    logits: ArrayLike,
    axis: object = -1,
    want_grad: bool = False,
    grad_output: ArrayLike | None = None,
    out: object = None,
    grad_out: object = None,
) -> tuple[NDArray[np.floating], NDArray[np.floating] | None]:
    """Return the per-example loss of integer labels and, if asked, its gradient.

    The gradient is that of ``sum(grad_output * loss)`` (None means ones), in
    the shape of `logits`. `out` and `grad_out` are the callers' output
    arrays, checked here. The TensorFlow and optax fronts and the framework
    adapters share this.
    """
    problem = _prepare_per_example(labels, logits, axis)
    options = _lib.shared_options(_lib.SCE_REDUCTION_NONE, None, 0.0)
    if out is not None or grad_out is not None:
        inputs = [("logits", logits), ("labels", labels), ("grad_output", grad_output)]
        check_outputs(problem, options.reduction, out, grad_out, inputs)
    upstream = None
    if want_grad:
        upstream = _dense.prepare_grad_output(
            grad_output, options.reduction, problem.loss_shape, problem.logits.dtype
        )

    dtype = problem.logits.dtype
    loss, grad = _run_sparse(
        problem,
        options,
        upstream,
        True,
        want_grad,
        _direct(out, dtype),  # type: ignore[arg-type]
        _direct(grad_out, dtype),  # type: ignore[arg-type]
    )
    loss = _finish_loss(loss, options, problem, out)  # type: ignore[arg-type]
    if grad is not None:
        grad = _finish_grad(grad, problem, grad_out)  # type: ignore[arg-type]
    return loss, grad  # type: ignore[return-value]


def sparse_softmax_cross_entropy_with_logits(
    labels: ArrayLike,
    logits: ArrayLike,
    *,
    out: NDArray[np.floating] | None = None,
) -> NDArray[np.floating]:
    r"""Compute per-example softmax cross-entropy, as TensorFlow's function does.

    Follows ``tf.nn.sparse_softmax_cross_entropy_with_logits``: the class axis
    is the last one, there is no reduction, no class weight and no ignored
    label.

    Parameters
    ----------
    labels : array_like of int
        Class indices in [0, C) of shape (d0, ..., dr-1). int32 and int64 are
        used as they are, narrower and unsigned integers are converted.
    logits : array_like
        Logits of shape (d0, ..., dr-1, C). float32 and float64 are used as
        they are, float16 is computed in float32 and the result rounded to
        float16; other dtypes raise InvalidDtypeError. A non-contiguous array
        is copied.
    out : numpy.ndarray, optional
        Array that receives the loss: writable, C-contiguous, of the shape of
        `labels` and the dtype of `logits`, sharing no memory with the other
        arguments. Default: None, a new array.

    Returns
    -------
    numpy.ndarray
        Loss per example, of the shape of `labels` and the dtype of `logits`;
        `out` when it is given.

    Raises
    ------
    LabelOutOfRangeError
        If a label is outside [0, C); the message names the label and its
        position. An ``IndexError`` subclass.
    InvalidShapeError
        If the rank of `labels` is not the rank of `logits` minus 1, or the
        leading dimensions differ, or C is 0, or `out` has the wrong shape. A
        ``ValueError`` subclass, as is InvalidArgumentError.
    InvalidArgumentError
        If `out` is read-only, not C-contiguous or shares memory with an
        argument.
    InvalidDtypeError
        If an argument has a dtype that cannot be used, or `out` is not an
        array of the dtype of `logits`. A ``TypeError`` subclass.
    ForkedProcessError
        If called in a child process forked after softmaxce was loaded.

    See Also
    --------
    sparse_softmax_cross_entropy_with_logits_with_grad : loss and gradient.
    softmax_cross_entropy_with_logits : dense labels (class probabilities).

    Notes
    -----
    For each example with label :math:`y`, :math:`m = \max_c x_c` and
    :math:`s = \sum_c \exp(x_c - m)`, the loss is
    :math:`(m - x_y) + \log s`. Every exponent is <= 0, so nothing overflows,
    and a logit of -inf in a class other than the label is harmless. Unlike
    TensorFlow on GPU, an out-of-range label is always an error, never NaN.

    Examples
    --------
    >>> import numpy as np
    >>> import softmaxce
    >>> logits = np.array([[3.0, 1.0, 0.2], [0.5, 0.5, 4.0]], dtype=np.float32)
    >>> losses = softmaxce.sparse_softmax_cross_entropy_with_logits([0, 1], logits)
    >>> losses.shape, losses.dtype
    ((2,), dtype('float32'))
    >>> print(np.round(losses, 4))
    [0.1791 3.5586]
    """
    loss, _ = per_example_cross_entropy(labels, logits, -1, out=out)
    return loss


def sparse_softmax_cross_entropy_with_logits_with_grad(
    labels: ArrayLike,
    logits: ArrayLike,
    grad_output: ArrayLike | None = None,
    *,
    out: NDArray[np.floating] | None = None,
    grad_out: NDArray[np.floating] | None = None,
) -> tuple[NDArray[np.floating], NDArray[np.floating]]:
    r"""Compute :func:`sparse_softmax_cross_entropy_with_logits` and its gradient.

    One library call reads the logits once and returns the per-example loss
    and its gradient with respect to the logits, which is what TensorFlow's
    fused kernel computes for the function's gradient.

    Parameters
    ----------
    labels, logits, out
        As in :func:`sparse_softmax_cross_entropy_with_logits`.
    grad_output : array_like, optional
        Upstream gradient of the per-example loss: an array of the shape of
        `labels`, or one that broadcasts to it. None means ones. Default:
        None.
    grad_out : numpy.ndarray, optional
        Array that receives the gradient: writable, C-contiguous, of the
        shape and dtype of `logits`. It may be `logits` itself, which is then
        overwritten in place; any other memory shared with an argument or
        with `out` is an error. The library writes into it directly, so a
        float32 or float64 `logits` that is already C-contiguous allocates
        nothing of its size. Default: None, a new array.

    Returns
    -------
    loss : numpy.ndarray
        As returned by :func:`sparse_softmax_cross_entropy_with_logits`; not
        scaled by `grad_output`.
    grad : numpy.ndarray
        Gradient with respect to `logits`, of its shape and dtype; `grad_out`
        when it is given.

    Raises
    ------
    LabelOutOfRangeError, InvalidShapeError, InvalidArgumentError, \
InvalidDtypeError, ForkedProcessError
        As in :func:`sparse_softmax_cross_entropy_with_logits`, where the
        rules for `out` apply to `grad_out`; InvalidShapeError also when
        `grad_output` does not broadcast to the shape of `labels`.

    Notes
    -----
    With :math:`p = \operatorname{softmax}(x)` and upstream gradient
    :math:`g`, the gradient of an example with label :math:`y` is
    :math:`g \, (p_c - [c = y])`.

    Examples
    --------
    >>> import numpy as np
    >>> import softmaxce
    >>> logits = np.array([[3.0, 1.0, 0.2], [0.5, 0.5, 4.0]], dtype=np.float32)
    >>> f = softmaxce.sparse_softmax_cross_entropy_with_logits_with_grad
    >>> loss, grad = f([0, 1], logits)
    >>> print(np.round(loss, 4))
    [0.1791 3.5586]
    >>> print(np.round(grad, 4))
    [[-0.164   0.1131  0.0508]
     [ 0.0285 -0.9715  0.943 ]]
    >>> loss, grad = f([0, 1], logits, grad_out=logits)
    >>> grad is logits
    True
    """
    loss, grad = per_example_cross_entropy(
        labels, logits, -1, True, grad_output, out, grad_out
    )
    return loss, grad  # type: ignore[return-value]
