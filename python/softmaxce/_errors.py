"""Exceptions raised by softmaxce.

Every exception derives from :class:`SoftmaxCEError` and from the built-in
exception that Python code would expect for the same mistake, so callers may
catch either ``IndexError`` or ``LabelOutOfRangeError``.
"""

from __future__ import annotations

__all__ = [
    "ForkedProcessError",
    "InternalError",
    "InvalidArgumentError",
    "InvalidDtypeError",
    "InvalidShapeError",
    "LabelOutOfRangeError",
    "SoftmaxCEError",
]


class SoftmaxCEError(Exception):
    """Base class of every error raised by softmaxce.

    Parameters
    ----------
    message : str
        Text naming the argument, the offending value and what is valid.
    status : int, optional
        Status code returned by the C library, or ``None`` when the error was
        detected in Python before the library was called.
    """

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class LabelOutOfRangeError(SoftmaxCEError, IndexError):
    """Error for a label outside ``[0, classes)`` that is not the ignore index."""


class InvalidArgumentError(SoftmaxCEError, ValueError):
    """Error for an option or weight value that is invalid, or overlapping buffers."""


class InvalidShapeError(InvalidArgumentError):
    """Error for a dimension, rank or length that does not fit the other arguments."""


class InvalidDtypeError(SoftmaxCEError, TypeError):
    """Error for an array whose dtype cannot be used for that argument."""


class ForkedProcessError(SoftmaxCEError, RuntimeError):
    """Error for a call made in a child process forked after softmaxce was loaded.

    The Go runtime inside the library does not survive ``fork()``, so such a
    call is rejected instead of entering the runtime, where it would hang.
    """


class InternalError(SoftmaxCEError, RuntimeError):
    """Error for a failure that indicates a bug in softmaxce itself."""


def int_text(value: int) -> str:
    """Return `value` in decimal for a message, or its size if it is huge.

    Python refuses to convert an int of more than 4300 digits to a string (by
    default), so a message that formatted such a value would raise
    ValueError in place of the intended error.

    >>> int_text(-42)
    '-42'
    >>> int_text(10**5000)
    'an int of 16610 bits'
    """
    if value.bit_length() <= 256:
        return str(value)
    sign = "a negative" if value < 0 else "an"
    return f"{sign} int of {value.bit_length()} bits"


def value_text(value: object) -> str:
    """Return the repr of a caller's `value` for a message, safely and briefly.

    A huge int is described by its size (:func:`int_text`), a repr longer than
    80 characters is cut, and a repr that raises gives the type name instead,
    so that formatting the message never raises in place of the error.

    >>> value_text("avg")
    "'avg'"
    >>> value_text(-(10**5000))
    'a negative int of 16610 bits'
    >>> value_text("x" * 100)
    "'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx...'"
    """
    if isinstance(value, int) and value.bit_length() > 256:
        return int_text(int(value))
    try:
        text = repr(value)
    except Exception:  # noqa: BLE001 - any failing __repr__ falls back
        return f"a {type(value).__name__} object"
    if len(text) > 80:
        text = text[:77] + "..." + text[-1]
    return text
