"""A dense (fully connected) layer: forward beside backward."""

from __future__ import annotations

import numpy as np


def _check_dense_shapes(A_prev: np.ndarray, W: np.ndarray, A_name: str) -> None:
    """Raise a ValueError unless A_prev (n, d_in) and W (d_in, d_out) fit together."""
    if A_prev.ndim != 2:
        raise ValueError(
            f"{A_name} must be 2-D with shape (n, d_in), one sample per row; got shape "
            f"{A_prev.shape}. For a single sample use {A_name}.reshape(1, -1)."
        )
    if W.ndim != 2:
        raise ValueError(f"W must be 2-D with shape (d_in, d_out); got shape {W.shape}.")
    if A_prev.shape[1] != W.shape[0]:
        hint = (
            " W looks transposed: in this course W is (d_in, d_out) and Z = X @ W + b."
            if A_prev.shape[1] == W.shape[1]
            else ""
        )
        raise ValueError(
            f"{A_name} has {A_prev.shape[1]} columns but W has {W.shape[0]} rows; "
            f"{A_name} @ W needs {A_name} (n, d_in) and W (d_in, d_out).{hint}"
        )


def dense_forward(X, W, b) -> np.ndarray:
    """Forward pass of a dense layer, ``Z = X @ W + b``.

    Parameters
    ----------
    X : array_like, shape (n, d_in)
        The layer's input, one sample per row.
    W : array_like, shape (d_in, d_out)
    b : array_like, shape (d_out,)

    Returns
    -------
    Z : ndarray, shape (n, d_out)
        Pre-activations.
    """
    X = np.asarray(X, dtype=np.float64)
    W = np.asarray(W, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    _check_dense_shapes(X, W, "X")
    if b.shape != (W.shape[1],):
        raise ValueError(
            f"b must have shape (d_out,) = ({W.shape[1]},), one bias per output unit; "
            f"got shape {b.shape}."
        )
    return X @ W + b  # (n, d_in) @ (d_in, d_out) + (d_out,) -> (n, d_out)


def dense_backward(dZ, A_prev, W) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Backward pass of a dense layer.

    Given ``dZ = dL/dZ`` for ``Z = A_prev @ W + b``, the chain rule gives the
    gradients of the layer's input, weights and biases.

    Parameters
    ----------
    dZ : array_like, shape (n, d_out)
        dL/dZ for this layer (already includes the 1/n of a mean loss).
    A_prev : array_like, shape (n, d_in)
        The layer's input in the forward pass.
    W : array_like, shape (d_in, d_out)

    Returns
    -------
    dA_prev : ndarray, shape (n, d_in)
    dW : ndarray, shape (d_in, d_out)
    db : ndarray, shape (d_out,)
    """
    dZ = np.asarray(dZ, dtype=np.float64)
    A_prev = np.asarray(A_prev, dtype=np.float64)
    W = np.asarray(W, dtype=np.float64)
    _check_dense_shapes(A_prev, W, "A_prev")
    if dZ.shape != (A_prev.shape[0], W.shape[1]):
        raise ValueError(
            f"dZ must have shape (n, d_out) = ({A_prev.shape[0]}, {W.shape[1]}), the shape "
            f"of Z; got shape {dZ.shape}."
        )
    dW = A_prev.T @ dZ  # (d_in, n) @ (n, d_out) -> (d_in, d_out)
    db = dZ.sum(axis=0)  # (d_out,): b is added to every sample's row
    dA_prev = dZ @ W.T  # (n, d_out) @ (d_out, d_in) -> (n, d_in)
    return dA_prev, dW, db
