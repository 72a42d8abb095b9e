"""Numbers compared: returned against expected within a tolerance, inputs before against
after a call (bit for bit), and a constant factor between two arrays."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

__all__ = ["Change", "Part", "as_float", "changed_inputs", "close", "constant_factor"]


@dataclass
class Part:
    """One named array (or number) of a result, with the reference's value for it.

    name : its name in messages (``the result``, ``grads["W1"]``)
    got : what the learner's function returned for it (any object)
    expected : ndarray, the reference's value (same shape when the result is right)
    scalar : the part is a single number, not an array
    """

    name: str
    got: Any
    expected: np.ndarray
    scalar: bool


def as_float(value: Any) -> np.ndarray | None:
    """``value`` as a float64 array, or None when it is not numeric."""
    if value is None or isinstance(value, str | bytes | Mapping):
        return None
    try:
        a = np.asarray(value)
    except Exception:
        return None
    if a.dtype.kind not in "biuf":
        return None
    try:
        return a.astype(np.float64)
    except (TypeError, ValueError):
        return None


def close(got: np.ndarray, expected: np.ndarray, rtol: float, atol: float) -> np.ndarray:
    """``np.isclose(got, expected, rtol, atol)`` entry by entry, nan equal to nan, silently."""
    with np.errstate(all="ignore"):
        return np.isclose(got, expected, rtol=rtol, atol=atol, equal_nan=True)


def constant_factor(got: np.ndarray, exp: np.ndarray, atol: float) -> float | None:
    """c when got == c * exp everywhere (c != 1), else None.

    With fewer than two nonzero expected entries any value is "a multiple", so c is only
    reported when it is a telling number: -1, an integer, or 1 / an integer.
    """
    if got.shape != exp.shape or not (np.isfinite(got).all() and np.isfinite(exp).all()):
        return None
    nonzero = np.abs(exp) > atol
    if not nonzero.any():
        return None
    with np.errstate(all="ignore"):
        c = float(np.mean(got[nonzero] / exp[nonzero]))
        if not np.isfinite(c) or abs(c - 1) < 1e-6 or abs(c) < 1e-12:
            return None
        if not close(got, c * exp, 1e-6, atol).all():
            return None
    if nonzero.sum() < 2:
        k = abs(c) if abs(c) >= 1 else 1 / abs(c)
        if abs(k - round(k)) > 1e-9 * k or k > 1000:
            return None
    return c


# ---------------------------------------------------------------------------------------
# Inputs changed by a call
# ---------------------------------------------------------------------------------------


class Change(NamedTuple):
    """One input that a call changed.

    top : the argument's name (``params``)
    name : the changed object's name (``params['W1']``)
    where : ``(first index, entries changed, entries)`` for an array changed entry by entry,
        ``"keys"`` or ``"length"`` for a container, None for an object replaced by another
    old, new : the object before and after the call
    """

    top: str
    name: str
    where: Any
    old: Any
    new: Any


def _bitwise_diff(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """Boolean mask of entries that are not bit-for-bit the same (nan == nan)."""
    if before.dtype.kind in "fc":
        same = (before == after) & (np.signbit(before.real) == np.signbit(after.real))
        same |= np.isnan(before) & np.isnan(after)
        return ~same
    return before != after


def changed_inputs(names: Sequence[str], before: Sequence[Any],
                   after: Sequence[Any]) -> list[Change]:
    """Every input changed by a call, walking arrays inside dicts, lists and tuples."""
    changes: list[Change] = []

    def walk(top: str, name: str, b: Any, a: Any) -> None:
        if isinstance(b, np.ndarray):
            if not isinstance(a, np.ndarray) or a.shape != b.shape or a.dtype != b.dtype:
                changes.append(Change(top, name, None, b, a))
                return
            with np.errstate(all="ignore"):
                diff = _bitwise_diff(b, a)
            if diff.any():
                idx = tuple(int(i) for i in np.argwhere(diff)[0])
                changes.append(Change(top, name, (idx, int(diff.sum()), int(diff.size)), b, a))
        elif isinstance(b, Mapping):
            if not isinstance(a, Mapping) or set(a) != set(b):
                changes.append(Change(top, name, "keys", b, a))
                return
            for k in b:
                walk(top, f"{name}[{k!r}]", b[k], a[k])
        elif isinstance(b, list | tuple):
            if not isinstance(a, list | tuple) or len(a) != len(b):
                changes.append(Change(top, name, "length", b, a))
                return
            for i, (x, y) in enumerate(zip(b, a, strict=True)):
                walk(top, f"{name}[{i}]", x, y)

    for name, b, a in zip(names, before, after, strict=True):
        walk(name, name, b, a)
    return changes
