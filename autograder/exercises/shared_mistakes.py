"""What the known mistakes of several exercises share: the predicates that recognise a matrix
product of the wrong shapes in the learner's traceback, and pieces of wrong versions (a
backward pass's bias gradient and hidden delta, with one thing changed).

Wrong versions are planted in notebooks by tests (``catalogue.planted_source``), with the
helpers of this module they use: those helpers use only ``np`` and ``refimpl``.
"""

from __future__ import annotations

import re

import numpy as np

import refimpl
from autograder.checks.types import Case

__all__ = ["any_matmul_error", "as_f64", "hidden_delta", "matmul_error_with_upper_w",
           "matmul_error_with_w", "matmul_error_with_w2", "sum_bias"]


# ---------------------------------------------------------------------------------------
# Exception predicates: a matrix product of the wrong shapes
# ---------------------------------------------------------------------------------------

_MATMUL_SIZES = (
    re.compile(r"size (\d+) is different from (\d+)"),  # a @ b, np.matmul
    re.compile(r"(\d+) \(dim \d+\) != (\d+) \(dim \d+\)"),  # np.dot
)


def _matmul_sizes(exc: BaseException) -> frozenset[int] | None:
    """The two mismatched sizes of a matrix-product shape error, else None."""
    if not isinstance(exc, ValueError):
        return None
    for pattern in _MATMUL_SIZES:
        m = pattern.search(str(exc))
        if m:
            return frozenset(int(g) for g in m.groups())
    return None


def any_matmul_error(exc: BaseException, case: Case) -> bool:
    """Any matrix product of mismatched shapes."""
    return _matmul_sizes(exc) is not None


def matmul_error_with_w2(exc: BaseException, case: Case) -> bool:
    """backward_231: a product that fails on exactly the two sizes of W2 (an untransposed W2)."""
    sizes = _matmul_sizes(exc)
    params = case.args[2]
    return sizes is not None and sizes == frozenset(params["W2"].shape)


def matmul_error_with_w(exc: BaseException, case: Case) -> bool:
    """dense_backward: a product that fails on exactly the two sizes of W (dZ @ W)."""
    sizes = _matmul_sizes(exc)
    return sizes is not None and sizes == frozenset(np.shape(case.args[2]))


def matmul_error_with_upper_w(exc: BaseException, case: Case) -> bool:
    """mlp_backward: a product that fails on the two sizes of some W_l, l >= 2 (dZ @ W_l)."""
    sizes = _matmul_sizes(exc)
    params = case.args[2]
    return sizes is not None and any(
        sizes == frozenset(np.shape(W)) for key, W in params.items()
        if key.startswith("W") and key != "W1")


# ---------------------------------------------------------------------------------------
# Pieces of wrong versions
# ---------------------------------------------------------------------------------------


def as_f64(Z):
    """``Z`` as a float64 array."""
    return np.asarray(Z, dtype=np.float64)


def sum_bias(dZ, db):
    """A layer's bias gradient from its dZ (n, d): right (``db="ref"``), summed over the wrong
    axis (``"wrong-axis"``), or kept 2-D (``"keepdims"``)."""
    if db == "wrong-axis":
        return dZ.sum(axis=1)
    if db == "keepdims":
        return dZ.sum(axis=0, keepdims=True)
    return dZ.sum(axis=0)


def hidden_delta(dA, Z, A, deriv, activation="relu"):
    """dZ of a hidden layer with this ``activation`` from dA: right (``deriv="ref"``), or
    without the activation's derivative, with the activation itself, with relu'(0) = 1, or
    with sigmoid'."""
    if deriv == "missing":
        return dA
    if deriv == "activation":
        return dA * A
    if deriv == "relu-at-zero":
        return dA * (Z >= 0)
    if deriv == "sigmoid":
        return dA * refimpl.sigmoid_prime(Z)
    return dA * refimpl.DERIVATIVES[activation](Z)
