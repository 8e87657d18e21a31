"""A drop-in replacement for ``torch.nn.functional.cross_entropy`` on CPU tensors.

:func:`cross_entropy` takes the arguments of PyTorch's function and returns a
tensor that autograd differentiates. Its forward pass computes the loss and
the gradient in one library call and keeps the gradient, so the backward pass
only scales it by the upstream gradient. The semantics are those of
:func:`softmaxce.cross_entropy`, with its documented differences from PyTorch
(labels always checked, ``0 * log 0 = 0`` for probability targets).

PyTorch is imported on the first call, not when this module is imported.

Limits:

* CPU tensors only. A contiguous float32 or float64 tensor is read in place
  through ``Tensor.numpy()``; float16 and bfloat16 are computed in float32 and
  rounded once.
* No gradient with respect to ``weight``, and no second derivatives: a
  double backward raises ``RuntimeError``.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

import numpy as np

from ._errors import InvalidArgumentError
from ._sparse import torch_cross_entropy

if TYPE_CHECKING:
    import torch

__all__ = ["cross_entropy"]


def _torch() -> Any:
    """Import torch; raise ImportError with the install command if missing."""
    try:
        import torch
    except ImportError as exc:
        raise ImportError(
            f"softmaxce.torch needs PyTorch, which cannot be imported ({exc}); "
            "install it with 'pip install torch'"
        ) from exc
    return torch


def _to_numpy(tensor: torch.Tensor | None, name: str) -> np.ndarray | None:
    """Return a CPU tensor's data as numpy, without a copy where possible."""
    if tensor is None:
        return None
    if tensor.device.type != "cpu":
        raise InvalidArgumentError(
            f"{name} is on device {tensor.device}, but softmaxce.torch computes on "
            f"the CPU only; move it with {name}.cpu()"
        )
    tensor = tensor.detach()
    if tensor.dtype == _torch().bfloat16:
        # numpy has no bfloat16; compute in float32 as for float16.
        tensor = tensor.float()
    return tensor.numpy()


def _from_numpy(array: Any, like: torch.Tensor) -> torch.Tensor:
    """Return numpy `array` as a tensor of the dtype of `like`."""
    torch = _torch()
    return torch.from_numpy(np.asarray(array)).to(like.dtype)


def _scale(grad: torch.Tensor, grad_output: torch.Tensor, class_axis: int) -> Any:
    """Multiply a saved gradient by the upstream gradient of the loss.

    For reduction 'none' the upstream gradient has one value per position,
    which is broadcast along the class axis.
    """
    if grad_output.dim() > 0:
        grad_output = grad_output.unsqueeze(class_axis)
    return grad * grad_output


@functools.cache
def _function() -> Any:
    """Define the autograd function once torch is imported."""
    torch = _torch()
    from torch.autograd.function import once_differentiable

    class CrossEntropy(torch.autograd.Function):
        """Loss forward; the gradient comes from the same library call."""

        @staticmethod
        def forward(
            ctx: Any,
            input: torch.Tensor,
            target: torch.Tensor,
            weight: torch.Tensor | None,
            options: dict[str, Any],
        ) -> torch.Tensor:
            want_grad, want_grad_target = ctx.needs_input_grad[:2]
            result = torch_cross_entropy(
                _to_numpy(input, "input"),
                _to_numpy(target, "target"),
                _to_numpy(weight, "weight"),
                grad_output=None,
                want_loss=True,
                want_grad=want_grad,
                want_grad_target=want_grad_target,
                **options,
            )
            ctx.class_axis = 0 if input.dim() == 1 else 1
            saved = [
                None if array is None else _from_numpy(array, like)
                for array, like in (
                    (result.grad, input),
                    (result.grad_target, target),
                )
            ]
            ctx.save_for_backward(*saved)
            return _from_numpy(result.loss, input)

        @staticmethod
        @once_differentiable
        def backward(ctx: Any, grad_output: torch.Tensor) -> tuple[Any, ...]:
            grad, grad_target = ctx.saved_tensors
            if grad is not None:
                grad = _scale(grad, grad_output, ctx.class_axis)
            if grad_target is not None:
                grad_target = _scale(grad_target, grad_output, ctx.class_axis)
            return grad, grad_target, None, None

    return CrossEntropy


def cross_entropy(
    input: torch.Tensor,
    target: torch.Tensor,
    weight: torch.Tensor | None = None,
    ignore_index: int = -100,
    reduction: str = "mean",
    label_smoothing: float = 0.0,
    z_loss: float = 0.0,
) -> torch.Tensor:
    r"""Compute the softmax cross-entropy of CPU tensors, differentiably.

    A replacement for ``torch.nn.functional.cross_entropy`` with the same
    arguments (``size_average`` and ``reduce``, deprecated in PyTorch, are
    left out) plus `z_loss`. The values are those of
    :func:`softmaxce.cross_entropy`.

    Parameters
    ----------
    input : torch.Tensor
        Logits of shape (C,), (N, C) or (N, C, d1, ..., dk) on the CPU; float16,
        bfloat16, float32 or float64.
    target : torch.Tensor
        Class indices of shape (), (N,) or (N, d1, ..., dk), or class
        probabilities of the shape of `input`. Autograd differentiates with
        respect to probabilities that require a gradient.
    weight : torch.Tensor, optional
        Class weights of shape (C,), finite and >= 0. No gradient flows into
        them. Default: None.
    ignore_index, reduction, label_smoothing, z_loss
        As in :func:`softmaxce.cross_entropy`.

    Returns
    -------
    torch.Tensor
        The loss, of the dtype of `input`: 0-d for 'mean' and 'sum', else of
        the shape of the per-position loss.

    Raises
    ------
    LabelOutOfRangeError, InvalidShapeError, InvalidArgumentError, \
InvalidDtypeError
        As in :func:`softmaxce.cross_entropy`; InvalidArgumentError also for a
        tensor that is not on the CPU.
    ImportError
        If PyTorch cannot be imported.

    Notes
    -----
    When autograd will need the gradient, the forward pass computes it for an
    upstream gradient of ones in the same library call as the loss. The
    backward pass multiplies it by the actual upstream gradient. Without
    gradient tracking (``torch.no_grad()`` or no input that requires a
    gradient) only the loss is computed.

    Examples
    --------
    >>> import torch
    >>> import softmaxce.torch
    >>> logits = torch.tensor([[2.0, 0.0, 0.0], [0.0, 2.0, 0.0]], requires_grad=True)
    >>> loss = softmaxce.torch.cross_entropy(logits, torch.tensor([0, 2]))
    >>> loss.backward()
    >>> print(round(loss.item(), 6))
    1.239545
    >>> print(logits.grad)
    tensor([[-0.1065,  0.0533,  0.0533],
            [ 0.0533,  0.3935, -0.4467]])
    """
    torch = _torch()
    options = {
        "ignore_index": ignore_index,
        "reduction": reduction,
        "label_smoothing": label_smoothing,
        "z_loss": z_loss,
    }
    tracked = torch.is_grad_enabled() and (input.requires_grad or target.requires_grad)
    if not tracked:
        result = torch_cross_entropy(
            _to_numpy(input, "input"),
            _to_numpy(target, "target"),
            _to_numpy(weight, "weight"),
            grad_output=None,
            want_loss=True,
            want_grad=False,
            **options,
        )
        return _from_numpy(result.loss, input)
    return _function().apply(input, target, weight, options)
