"""Short descriptions of Python values for messages (``a list of 3 items``).

Shared by the checks and the grading worker, which sends descriptions of objects that
cannot leave it (:class:`Opaque`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["Opaque", "describe_type", "join_names", "shape"]


def shape(s: tuple[int, ...]) -> str:
    """``(2, 3)``, ``(3,)`` or ``()``: the way NumPy prints a shape."""
    return str(tuple(int(k) for k in s))


@dataclass(frozen=True)
class Opaque:
    """An object that could not leave the grading worker, by its description (``"a Value"``).

    Messages describe it as the original object.
    """

    description: str
    is_callable: bool = False

    def __repr__(self) -> str:
        return f"<{self.description}>"


def describe_type(value: Any) -> str:
    """``None``, ``a list of 3 items``, ``a str``, ``an ndarray of shape (2,)``..."""
    if value is None:
        return "None"
    if isinstance(value, Opaque):
        return value.description
    if isinstance(value, np.ndarray):
        return f"an ndarray of shape {shape(value.shape)} (dtype {value.dtype})"
    if isinstance(value, bool | np.bool_):
        return f"a bool ({value})"
    if isinstance(value, list | tuple):
        kind = type(value).__name__
        return f"a {kind} of {len(value)} item{'s' if len(value) != 1 else ''}"
    if isinstance(value, Mapping):
        keys = ", ".join(repr(k) for k in list(value)[:8])
        return f"a {type(value).__name__} with keys {keys or '(none)'}"
    name = type(value).__name__
    article = "an" if name[:1].lower() in "aeiou" else "a"
    return f"{article} {name}"


def join_names(names: list[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``."""
    if not names:
        return ""
    if len(names) == 1:
        return names[0]
    return ", ".join(names[:-1]) + " and " + names[-1]
