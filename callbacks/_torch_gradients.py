"""PyTorch's part of the gradient statistics; imported only on that backend."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import torch


def column_squares(gradients: Sequence[Any], columns: Sequence[int], width: int) -> Any:
    """Squared L2 norms summed per column (`columns[i]` for `gradients[i]`), then all in the last."""
    squares = torch.stack(torch._foreach_norm([gradient.float() for gradient in gradients])).square()
    index = torch.tensor(list(columns) + [width - 1] * len(columns), device=squares.device)
    return torch.zeros(width, device=squares.device).index_add_(0, index, torch.cat([squares, squares]))


def reduce_across_replicas(gradients: list[Any]) -> list[Any]:
    """Identity: Keras's torch trainer runs on one device."""
    return gradients


@contextlib.contextmanager
def variable_scope(model: Any) -> Iterator[None]:
    yield


def compile_function(function: Callable[..., Any]) -> Callable[..., Any]:
    return function


def value_and_gradients(loss_function: Callable[[list[Any]], Any], values: list[Any]) -> list[Any]:
    """Gradients of `loss_function(values)` with respect to `values`."""
    leaves = [value.detach().requires_grad_(True) for value in values]
    with torch.enable_grad():
        loss = loss_function(leaves)
        gradients = torch.autograd.grad(loss, leaves, allow_unused=True)
    return [
        torch.zeros_like(leaf) if gradient is None else gradient
        for gradient, leaf in zip(gradients, leaves, strict=True)
    ]


def install(optimizer: Any, state: Any) -> None:
    """Nothing to do: the torch trainer runs the step eagerly on the variables."""


def uninstall(optimizer: Any, state: Any) -> None:
    """Nothing to undo."""


def to_numpy(variable: Any) -> Any:
    """A numpy copy of a Keras variable's value."""
    return variable.value.detach().cpu().numpy().copy()
