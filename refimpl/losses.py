"""Loss functions, each beside its gradient dL/dy_hat.

Every loss is a mean over all entries of y (``y.size`` of them, n for targets
of shape (n, 1)), so every gradient carries that 1/n.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from refimpl._validation import check_labels
from refimpl.activations import sigmoid

# log(0) = -inf: bce clips y_hat into [BCE_EPS, 1 - BCE_EPS] so the loss stays
# finite when a prediction is exactly 0 or 1. 1e-12 costs at most
# -log(1e-12) = 27.6 per sample and is far above float64 resolution near 1.
BCE_EPS = 1e-12


def validate_targets(y_hat, y) -> None:
    """Check that predictions and targets have the same shape.

    Parameters
    ----------
    y_hat : array_like, shape (n, 1)
        Predictions.
    y : array_like, shape (n, 1)
        Targets.

    Raises
    ------
    ValueError
        When the shapes differ (above all (n,) against (n, 1), which numpy
        would broadcast silently to (n, n)) or when y is empty.
    """
    y_hat_shape, y_shape = np.shape(y_hat), np.shape(y)
    if y_hat_shape != y_shape:
        if len(y_shape) == 1 and y_hat_shape == (y_shape[0], 1):
            n = y_shape[0]
            raise ValueError(
                f"y has shape {y_shape} but y_hat has shape {y_hat_shape}. Subtracting them "
                f"would broadcast silently to ({n}, {n}) and give a wrong loss. "
                "Targets must be a column (n, 1): use y.reshape(-1, 1)."
            )
        if len(y_hat_shape) == 1 and y_shape == (y_hat_shape[0], 1):
            n = y_hat_shape[0]
            raise ValueError(
                f"y_hat has shape {y_hat_shape} but y has shape {y_shape}. Subtracting them "
                f"would broadcast silently to ({n}, {n}) and give a wrong loss. "
                "Predictions must be a column (n, 1): use y_hat.reshape(-1, 1)."
            )
        raise ValueError(
            f"y_hat has shape {y_hat_shape} but y has shape {y_shape}; "
            "predictions and targets must have the same shape, (n, 1)."
        )
    if np.size(y) == 0:
        raise ValueError("y is empty: a loss needs at least one sample.")


def _check_probabilities(y_hat: np.ndarray) -> None:
    """BCE needs y_hat in [0, 1]; a common slip is passing the logits Z instead."""
    if np.any((y_hat < 0.0) | (y_hat > 1.0)):
        raise ValueError(
            f"BCE needs predictions y_hat in [0, 1] (probabilities); got values from "
            f"{np.nanmin(y_hat):.4g} to {np.nanmax(y_hat):.4g}. "
            "If these are logits Z, use bce_from_logits(Z, y)."
        )


def _targets(y_hat, y) -> tuple[np.ndarray, np.ndarray]:
    """Validate, then return both as float64 arrays."""
    validate_targets(y_hat, y)
    return np.asarray(y_hat, dtype=np.float64), np.asarray(y, dtype=np.float64)


def accuracy(labels, y) -> float:
    """Fraction of samples whose predicted label equals the target.

    Parameters
    ----------
    labels : array_like, shape (n, 1)
        Predicted labels 0.0 / 1.0 (for example from ``predict``).
    y : array_like, shape (n, 1)

    Returns
    -------
    fraction : float, in [0, 1]
    """
    labels, y = _targets(labels, y)
    return float(np.mean(labels == y))


def mse(y_hat, y) -> float:
    """Mean squared error, ``L = mean((y_hat - y)**2)`` (no 1/2).

    Parameters
    ----------
    y_hat : array_like, shape (n, 1)
    y : array_like, shape (n, 1)

    Returns
    -------
    L : float
    """
    y_hat, y = _targets(y_hat, y)
    return float(np.mean((y_hat - y) ** 2))


def mse_grad(y_hat, y) -> np.ndarray:
    """Gradient of mse, ``dL/dy_hat = 2 (y_hat - y) / n``.

    Parameters
    ----------
    y_hat : array_like, shape (n, 1)
    y : array_like, shape (n, 1)

    Returns
    -------
    dy_hat : ndarray, shape (n, 1)
    """
    y_hat, y = _targets(y_hat, y)
    return 2.0 * (y_hat - y) / y.size


def bce(y_hat, y) -> float:
    """Binary cross-entropy, ``L = -mean(y log(y_hat) + (1 - y) log(1 - y_hat))``.

    y_hat is clipped into ``[BCE_EPS, 1 - BCE_EPS]`` first, so the loss is
    finite even for predictions of exactly 0 or 1.

    Parameters
    ----------
    y_hat : array_like, shape (n, 1)
        Probabilities in [0, 1].
    y : array_like, shape (n, 1)
        Targets in [0, 1] (usually the labels 0.0 and 1.0).

    Returns
    -------
    L : float
    """
    y_hat, y = _targets(y_hat, y)
    check_labels(y)
    _check_probabilities(y_hat)
    P = np.clip(y_hat, BCE_EPS, 1.0 - BCE_EPS)  # keeps log() finite
    return float(-np.mean(y * np.log(P) + (1.0 - y) * np.log(1.0 - P)))


def bce_grad(y_hat, y) -> np.ndarray:
    """Gradient of bce, ``dL/dy_hat = (y_hat - y) / (y_hat (1 - y_hat)) / n``.

    Uses the same clipped y_hat as ``bce``, so it stays finite at 0 and 1.

    Parameters
    ----------
    y_hat : array_like, shape (n, 1)
    y : array_like, shape (n, 1)

    Returns
    -------
    dy_hat : ndarray, shape (n, 1)
    """
    y_hat, y = _targets(y_hat, y)
    check_labels(y)
    _check_probabilities(y_hat)
    P = np.clip(y_hat, BCE_EPS, 1.0 - BCE_EPS)  # keeps the division finite
    return (P - y) / (P * (1.0 - P)) / y.size


def softplus(Z: np.ndarray) -> np.ndarray:
    """``log(1 + e^z)`` without overflow, as ``max(z, 0) + log1p(e^-|z|)``.

    ``e^z`` overflows for z > 709, while ``e^-|z|`` lies in (0, 1]. This is
    the formula of ``np.logaddexp(0, z)``, about twice as fast. Used by
    ``bce_from_logits`` and ``MLPTrainer`` (not exported by ``refimpl``).

    Parameters
    ----------
    Z : ndarray, any shape
        Logits.

    Returns
    -------
    S : ndarray, same shape as Z, values >= 0
    """
    return np.maximum(Z, 0.0) + np.log1p(np.exp(-np.abs(Z)))


def bce_from_logits(Z, y) -> float:
    """BCE of ``sigmoid(Z)`` computed stably from the logits Z.

    ``-[y log(sigma(z)) + (1 - y) log(1 - sigma(z))] = log(1 + e^z) - y z``,
    which needs no clipping: it is finite for every finite z, and ``log(1 + e^z)``
    is evaluated without overflow (``softplus``).

    Parameters
    ----------
    Z : array_like, shape (n, 1)
        Logits (the output layer's pre-activations).
    y : array_like, shape (n, 1)
        Targets in [0, 1].

    Returns
    -------
    L : float
    """
    Z, y = _targets(Z, y)
    check_labels(y)
    return float(np.mean(softplus(Z) - y * Z))


def bce_from_logits_grad(Z, y) -> np.ndarray:
    """Gradient of bce_from_logits, ``dL/dZ = (sigmoid(Z) - y) / n``.

    This is the famous ``y_hat - y`` shortcut, exact for sigmoid + BCE.

    Parameters
    ----------
    Z : array_like, shape (n, 1)
    y : array_like, shape (n, 1)

    Returns
    -------
    dZ : ndarray, shape (n, 1)
    """
    Z, y = _targets(Z, y)
    check_labels(y)
    return (sigmoid(Z) - y) / y.size


LOSSES: dict[str, Callable] = {"mse": mse, "bce": bce}
LOSS_GRADS: dict[str, Callable] = {"mse": mse_grad, "bce": bce_grad}
