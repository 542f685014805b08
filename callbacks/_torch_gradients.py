"""PyTorch's part of the gradient statistics; imported only on that backend."""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import torch


def column_squares(gradients: Sequence[Any], columns: Sequence[int], width: int) -> Any:
    """Squared L2 norms summed per column (`columns[i]` for `gradients[i]`), then all in the last."""
    index, _ = _constants(tuple(columns), width, gradients[0].device)
    squares = torch.stack(torch._foreach_norm([gradient.float() for gradient in gradients])).square()
    return torch.zeros(width, device=squares.device).index_add_(0, index, squares.repeat(2))


@functools.lru_cache(maxsize=64)
def _constants(columns: tuple[int, ...], width: int, device: Any) -> tuple[Any, Any]:
    """The segment index of `column_squares` and the `seen` vector, made once per layout."""
    index = torch.tensor(list(columns) + [width - 1] * len(columns), device=device)
    seen = torch.zeros(width, device=device)
    seen[list(columns) + [width - 1]] = 1.0
    return index, seen


def accumulate(sums: Any, peak: Any, gradients: Sequence[Any], columns: Sequence[int], width: int) -> None:
    """Folds one step's gradients into the statistics variables, in place.

    The step runs eagerly, where each `keras.ops` call costs Python dispatch
    of its own: plain in-place torch ops keep the monitor's share small.
    """
    squares = column_squares(gradients, columns, width)
    _, seen = _constants(tuple(columns), width, squares.device)
    finite = torch.isfinite(squares)
    finite_squares = torch.where(finite, squares, 0.0)
    with torch.no_grad():
        sums.value.add_(torch.cat([finite_squares, finite * seen, seen]))
        torch.maximum(peak.value, finite_squares, out=peak.value)


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


def to_numpy(variables: Sequence[Any]) -> list[Any]:
    """Numpy copies of Keras variables' values."""
    return [variable.value.detach().cpu().numpy().copy() for variable in variables]
