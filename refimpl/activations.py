"""Activation functions, each forward beside its derivative.

Every function accepts any array_like (a scalar too) and returns a float64
ndarray of the same shape (``sigmoid_into``, which writes into given arrays, aside).
``relu'(0) = 0`` by the course convention.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def _as_float(Z) -> np.ndarray:
    """``Z`` as a float64 ndarray (no copy when it already is one)."""
    return np.asarray(Z, dtype=np.float64)


def relu(Z) -> np.ndarray:
    """Rectified linear unit, ``relu(z) = max(z, 0)`` elementwise.

    Parameters
    ----------
    Z : array_like, any shape
        Pre-activations.

    Returns
    -------
    A : ndarray, same shape as Z
    """
    return np.asarray(np.maximum(_as_float(Z), 0.0))


def relu_prime(Z) -> np.ndarray:
    """Derivative of relu: 1.0 where ``z > 0``, else 0.0 (so ``relu'(0) = 0``).

    Parameters
    ----------
    Z : array_like, any shape
        Pre-activations (not the activations A).

    Returns
    -------
    dA_dZ : ndarray, same shape as Z
    """
    return np.asarray(_as_float(Z) > 0.0, dtype=np.float64)


def sigmoid(Z) -> np.ndarray:
    """Logistic sigmoid, ``sigma(z) = 1 / (1 + exp(-z))``, computed stably.

    ``exp(-z)`` overflows for z < -709. Both branches below only ever take
    ``exp(-|z|)``, which lies in (0, 1], so no overflow (and no warning) can
    happen, even for ``|z| = 1e4``.

    Parameters
    ----------
    Z : array_like, any shape

    Returns
    -------
    A : ndarray, same shape as Z, values in [0, 1]
    """
    Z = _as_float(Z)
    E = np.exp(-np.abs(Z))  # in (0, 1]: never overflows
    # z >= 0: 1 / (1 + e^-z);   z < 0: e^z / (1 + e^z), the same number rewritten
    return np.asarray(np.where(Z >= 0.0, 1.0 / (1.0 + E), E / (1.0 + E)))


def sigmoid_into(Z: np.ndarray, out: np.ndarray, scratch: np.ndarray) -> np.ndarray:
    """``out <- sigmoid(Z)`` in preallocated arrays: the numbers of ``sigmoid``, bit for bit.

    The same stable formula, one operation at a time into ``out`` and ``scratch``, for the
    code that computes on large arrays (``refimpl.fast``, ``refimpl.surface``): ``sigmoid``
    makes several temporaries of Z's size, and those cost more than the arithmetic. Not
    exported by ``refimpl``.

    Parameters
    ----------
    Z : ndarray of float64, any shape
    out : ndarray of float64, shape of Z
        Receives the result; may be Z itself.
    scratch : ndarray of float64, shape of Z
        Overwritten; must not be Z or out.

    Returns
    -------
    A : ndarray
        ``out``.
    """
    positive = Z >= 0.0
    E = np.copysign(Z, -1.0, out=scratch)  # -|z|
    np.exp(E, out=E)  # e^-|z|, in (0, 1]: never overflows
    np.add(E, 1.0, out=out)  # the denominator, 1 + e^-|z|
    np.copyto(E, 1.0, where=positive)  # the numerator: 1 where z >= 0, e^-|z| elsewhere
    return np.divide(E, out, out=out)


def sigmoid_prime(Z) -> np.ndarray:
    """Derivative of the sigmoid, ``sigma'(z) = sigma(z) (1 - sigma(z))``.

    Parameters
    ----------
    Z : array_like, any shape
        Pre-activations.

    Returns
    -------
    dA_dZ : ndarray, same shape as Z, values in [0, 0.25]
    """
    S = sigmoid(Z)
    return np.asarray(S * (1.0 - S))


def tanh(Z) -> np.ndarray:
    """Hyperbolic tangent elementwise (``np.tanh`` is stable for any z).

    Parameters
    ----------
    Z : array_like, any shape

    Returns
    -------
    A : ndarray, same shape as Z, values in [-1, 1]
    """
    return np.asarray(np.tanh(_as_float(Z)))


def tanh_prime(Z) -> np.ndarray:
    """Derivative of tanh, ``tanh'(z) = 1 - tanh(z)**2``.

    Parameters
    ----------
    Z : array_like, any shape

    Returns
    -------
    dA_dZ : ndarray, same shape as Z, values in [0, 1]
    """
    T = tanh(Z)
    return np.asarray(1.0 - T**2)


def identity(Z) -> np.ndarray:
    """Identity, ``f(z) = z`` (a new array: the input is never aliased).

    Parameters
    ----------
    Z : array_like, any shape

    Returns
    -------
    A : ndarray, same shape as Z
    """
    return np.array(Z, dtype=np.float64, copy=True)


def identity_prime(Z) -> np.ndarray:
    """Derivative of the identity: 1.0 everywhere.

    Parameters
    ----------
    Z : array_like, any shape

    Returns
    -------
    dA_dZ : ndarray, same shape as Z
    """
    return np.ones_like(_as_float(Z))


ACTIVATIONS: dict[str, Callable] = {
    "relu": relu,
    "sigmoid": sigmoid,
    "tanh": tanh,
    "identity": identity,
}
DERIVATIVES: dict[str, Callable] = {
    "relu": relu_prime,
    "sigmoid": sigmoid_prime,
    "tanh": tanh_prime,
    "identity": identity_prime,
}


def get_activation(name_or_callable) -> tuple[Callable, Callable | None]:
    """Look up an activation and its derivative.

    Parameters
    ----------
    name_or_callable : str or callable
        A name from ``ACTIVATIONS`` ("relu", "sigmoid", "tanh", "identity"),
        one of the functions in ``ACTIVATIONS``, or any other callable.

    Returns
    -------
    f, f_prime : callable, callable or None
        ``f_prime`` is None for a callable this module does not know (its
        derivative is unknown; a forward pass works, a backward pass does not).

    Raises
    ------
    ValueError
        For an unknown name or something that is neither a name nor callable.
    """
    valid = ", ".join(repr(name) for name in ACTIVATIONS)
    if isinstance(name_or_callable, str):
        if name_or_callable not in ACTIVATIONS:
            raise ValueError(
                f"Unknown activation {name_or_callable!r}. Use one of {valid}, or pass a function."
            )
        return ACTIVATIONS[name_or_callable], DERIVATIVES[name_or_callable]
    if callable(name_or_callable):
        for name, f in ACTIVATIONS.items():
            if name_or_callable is f:
                return f, DERIVATIVES[name]
        return name_or_callable, None
    raise ValueError(
        f"The activation must be a name ({valid}) or a function, "
        f"got {type(name_or_callable).__name__}."
    )
