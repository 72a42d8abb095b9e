"""Text helpers for check messages: arrays, shapes, indices, numbers and Python types.

Visible messages may show numbers (``show``, ``num``); hidden messages use only shapes,
indices, counts and one-significant-digit magnitudes (``magnitude``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from autograder.grading.worker.describe import (  # noqa: F401  (part of this module's API)
    Opaque,
    describe_type,
    join_names,
    shape,
)

# Arrays with at most this many entries are printed in full; bigger ones are summarised.
FULL_PRINT_MAX_SIZE = 40


def index(idx: Iterable[int]) -> str:
    """``[0, 2]``: an index written the way you would type it after an array name."""
    return "[" + ", ".join(str(int(i)) for i in idx) + "]"


def num(x: Any, digits: int = 6) -> str:
    """A number with ``digits`` significant digits (``nan``/``inf`` spelled out)."""
    try:
        value = complex(x)
    except (TypeError, ValueError):
        return repr(x)
    if value.imag != 0:
        return repr(x)
    return f"{value.real:.{digits}g}"


def exact(x: Any) -> str:
    """The shortest text that gives back exactly the same float (Python's repr)."""
    try:
        return repr(float(x))
    except (TypeError, ValueError):
        return repr(x)


def magnitude(x: float) -> str:
    """A size with ONE significant digit (``3e-01``): safe for hidden messages."""
    x = abs(float(x))
    if not np.isfinite(x):
        return "infinite" if np.isinf(x) else "undefined (nan)"
    return f"{x:.0e}"


def tolerance(rtol: float, atol: float) -> str:
    return f"rtol={rtol:.0e}, atol={atol:.0e}, as in np.isclose"


def summary(a: np.ndarray) -> str:
    """Shape, min, max and mean of a (large) array."""
    a = np.asarray(a)
    if a.size == 0:
        return f"an empty array of shape {shape(a.shape)}"
    try:
        f = a.astype(np.float64)
    except (TypeError, ValueError):
        return f"an array of shape {shape(a.shape)} and dtype {a.dtype}"
    finite = f[np.isfinite(f)]
    text = f"an array of shape {shape(a.shape)}"
    if finite.size:
        text += (
            f": min {num(finite.min(), 4)}, max {num(finite.max(), 4)},"
            f" mean {num(finite.mean(), 4)}"
        )
    if finite.size < f.size:
        text += f", with {f.size - finite.size} non-finite entries (nan/inf)"
    return text


def show(name: str, value: Any, indent: str = "  ") -> str:
    """``  name = <value>``: small arrays in full (np.array2string), large ones summarised."""
    prefix = f"{indent}{name} = "
    if isinstance(value, str):
        return prefix + repr(value)
    if isinstance(value, Mapping):
        inner = ", ".join(f"{k!r}: {describe_value(v)}" for k, v in value.items())
        return prefix + "{" + inner + "}"
    if isinstance(value, np.ndarray | np.generic | float | int):
        a = np.asarray(value)
        if a.ndim == 0:
            return prefix + num(a.item(), 10)
        if a.size > FULL_PRINT_MAX_SIZE:
            return prefix + summary(a)
        with np.printoptions(precision=6, suppress=False, threshold=10**6):
            text = np.array2string(a, separator=", ", prefix=prefix, max_line_width=100)
        return prefix + text
    return prefix + describe_value(value)


def describe_value(value: Any) -> str:
    """A short description: arrays by shape, callables by name, numbers in full."""
    if isinstance(value, np.ndarray):
        return f"array of shape {shape(value.shape)}"
    if callable(value):
        return getattr(value, "__name__", "a function")
    if isinstance(value, float | int | np.generic):
        return num(value, 10)
    return describe_type(value)


def truncate(text: str, width: int = 90) -> str:
    return text if len(text) <= width else text[: width - 3].rstrip(", ") + "..."
