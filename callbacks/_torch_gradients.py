"""PyTorch's part of the gradient statistics; imported only on that backend.

The torch trainer runs each step eagerly, where every tensor op costs Python
dispatch of its own (~5-20 us on CPU, next to a small model's ~1-2 ms step).
So a step does the least it can: one fused norm over all its gradients,
written into a row of a buffer on the device (`accumulate`). The per-layer
sums, finite counts and maxima of `_gradient_statistics` are computed over
the buffered rows at once, when the statistics are read or the buffer is
full (`flush`): a dozen ops per `FLUSH_ROWS` steps instead of per step.
"""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import torch

from ._gradient_statistics import numpy_squared_norms

logger = logging.getLogger("kerasforge.callbacks")

FLUSH_ROWS = 256  # steps buffered between two folds into the statistics variables


def public_norms(tensors: Sequence[Any]) -> list[Any]:
    """L2 norm of each tensor, with public torch API only (one op per tensor)."""
    return [torch.linalg.vector_norm(tensor) for tensor in tensors]


def choose_norms(candidate: Callable[[Sequence[Any]], Any] | None) -> Callable[[Sequence[Any]], Any]:
    """`candidate` (torch's private fused `torch._foreach_norm`) when it exists and
    gives the norms `public_norms` gives on a small check, else `public_norms`.

    Called once, at import: a torch release that drops or changes the private
    function costs speed, never correctness.
    """
    if candidate is not None:
        check = [torch.arange(3, dtype=torch.float32), torch.full((2, 2), -2.0)]
        try:
            values = [float(value) for value in candidate(check)]
        except (RuntimeError, TypeError, ValueError) as error:
            logger.debug("torch._foreach_norm failed (%s): using torch.linalg.vector_norm", error)
            return public_norms
        if len(values) == len(check) and all(
            abs(value - float(expected)) <= 1e-6 * max(1.0, float(expected))
            for value, expected in zip(values, public_norms(check), strict=True)
        ):
            return candidate
        logger.debug("torch._foreach_norm gave %s: using torch.linalg.vector_norm", values)
    return public_norms


norms = choose_norms(getattr(torch, "_foreach_norm", None))


def _float32(gradients: Sequence[Any]) -> list[Any]:
    return [gradient if gradient.dtype == torch.float32 else gradient.float() for gradient in gradients]


def column_squares(gradients: Sequence[Any], columns: Sequence[int], width: int) -> Any:
    """Squared L2 norms summed per column (`columns[i]` for `gradients[i]`), then all in the last."""
    squares = torch.stack(norms(_float32(gradients))).square()
    return _fold_columns(squares[None], tuple(columns), width)[0]


def _fold_columns(squares: Any, columns: tuple[int, ...], width: int) -> Any:
    """Rows of per-gradient squared norms -> rows of per-column sums, the global last."""
    index, _ = _constants(columns, width, squares.device)
    out = torch.zeros(squares.shape[0], width, device=squares.device)
    return out.index_add_(1, index, squares.repeat(1, 2))


@functools.lru_cache(maxsize=64)
def _constants(columns: tuple[int, ...], width: int, device: Any) -> tuple[Any, Any]:
    """The segment index of `_fold_columns` and the `seen` vector, made once per layout."""
    index = torch.tensor(list(columns) + [width - 1] * len(columns), device=device)
    seen = torch.zeros(width, device=device)
    seen[list(columns) + [width - 1]] = 1.0
    return index, seen


def accumulate(
    sums: Any, peak: Any, gradients: Sequence[Any], columns: Sequence[int], width: int, pending: dict
) -> None:
    """Writes one step's gradient norms into the `pending` buffer (see the module docstring).

    Args:
        sums: Statistics variable of the `ADDED` rows, flattened.
        peak: Statistics variable of the `PEAK` row.
        gradients: The step's gradients.
        columns: The column of each gradient.
        width: Number of columns, the global one included.
        pending: The buffer's state, kept by the caller between steps.
    """
    layout = (tuple(columns), width)
    buffer = pending.get("buffer")
    if buffer is None or pending["layout"] != layout or pending["count"] == buffer.shape[0]:
        flush(sums, peak, pending)
        if buffer is None or pending["layout"] != layout:
            device = gradients[0].device
            buffer = pending["buffer"] = torch.zeros(FLUSH_ROWS, len(columns), device=device)
            pending["layout"] = layout
    with torch.no_grad():
        torch.stack(norms(_float32(gradients)), out=buffer[pending["count"]])
    pending["count"] += 1


def flush(sums: Any, peak: Any, pending: dict) -> None:
    """Folds the buffered steps into the statistics variables, and empties the buffer."""
    count = pending.get("count", 0)
    pending["count"] = 0
    if not count:
        return
    columns, width = pending["layout"]
    with torch.no_grad():
        squares = _fold_columns(pending["buffer"][:count].square(), columns, width)
        _, seen = _constants(columns, width, squares.device)
        finite = torch.isfinite(squares)
        finite_squares = torch.where(finite, squares, 0.0)
        sums.value.add_(torch.cat([finite_squares.sum(0), (finite * seen).sum(0), seen * count]))
        torch.maximum(peak.value, finite_squares.amax(0), out=peak.value)


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


def snapshot(model: Any) -> list[Any]:
    """The model's trainable weights now, as numpy copies (the step that made them has run)."""
    return to_numpy(model.trainable_variables)


current = snapshot  # the weights now, for `squared_norms`
squared_norms = numpy_squared_norms
