"""The seed network of the course: 2 inputs, 3 ReLU hidden units, 1 sigmoid output.

Inputs are (hours studied, hours slept); the output y_hat is the probability
of passing. Written out layer by layer; ``refimpl.mlp`` is the same computation
for any depth and agrees with it exactly.
"""

from __future__ import annotations

import numpy as np

from refimpl._validation import as_inputs, as_params, check_labels, check_loss_name
from refimpl.activations import relu, relu_prime, sigmoid, sigmoid_prime
from refimpl.layers import dense_forward
from refimpl.losses import bce_from_logits, mse, mse_grad, validate_targets
from refimpl.mlp import init_mlp

SHAPES_231 = {"W1": (2, 3), "b1": (3,), "W2": (3, 1), "b2": (1,)}


def _as_params_231(params) -> dict[str, np.ndarray]:
    """Validate a 2-3-1 params dict; return it as float64 arrays."""
    arrays, _ = as_params(params)
    if set(arrays) != set(SHAPES_231) or any(
        arrays[key].shape != shape for key, shape in SHAPES_231.items()
    ):
        got = ", ".join(f"{key} {value.shape}" for key, value in arrays.items())
        raise ValueError(
            f"The 2-3-1 network needs params W1 (2, 3), b1 (3,), W2 (3, 1), b2 (1,); got {got}."
        )
    return arrays


def init_231(seed=0, init="he") -> dict[str, np.ndarray]:
    """Initial parameters of the 2-3-1 network (the same as ``init_mlp([2, 3, 1])``).

    Parameters
    ----------
    seed : int, default 0
    init : {"he", "zeros", "normal", "xavier"}, default "he"

    Returns
    -------
    params : dict
        W1 (2, 3), b1 (3,), W2 (3, 1), b2 (1,).
    """
    return init_mlp([2, 3, 1], seed=seed, init=init)


def forward_231(X, params) -> tuple[np.ndarray, dict]:
    """Forward pass of the 2-3-1 network.

    Parameters
    ----------
    X : array_like, shape (n, 2)
        [hours studied, hours slept] per student (possibly standardized).
    params : dict
        W1 (2, 3), b1 (3,), W2 (3, 1), b2 (1,).

    Returns
    -------
    y_hat : ndarray, shape (n, 1)
        Probability of passing.
    cache : dict
        "X" (n, 2), "Z1" (n, 3), "A1" (n, 3), "Z2" (n, 1), "A2" (n, 1) = y_hat.
    """
    p = _as_params_231(params)
    X = as_inputs(X, p)
    Z1 = dense_forward(X, p["W1"], p["b1"])  # (n, 2) @ (2, 3) + (3,) -> (n, 3)
    A1 = relu(Z1)  # (n, 3)
    Z2 = dense_forward(A1, p["W2"], p["b2"])  # (n, 3) @ (3, 1) + (1,) -> (n, 1)
    A2 = sigmoid(Z2)  # (n, 1): y_hat
    return A2, {"X": X, "Z1": Z1, "A1": A1, "Z2": Z2, "A2": A2}


def backward_231(X, y, params, cache, loss="mse") -> dict[str, np.ndarray]:
    """Backward pass of the 2-3-1 network: dL/dW1, dL/db1, dL/dW2, dL/db2.

    Parameters
    ----------
    X : array_like, shape (n, 2)
    y : array_like, shape (n, 1)
        Targets (1.0 = passed, 0.0 = failed).
    params : dict
        W1 (2, 3), b1 (3,), W2 (3, 1), b2 (1,).
    cache : dict
        The cache returned by ``forward_231`` for the same X and params.
    loss : {"mse", "bce"}, default "mse"

    Returns
    -------
    grads : dict
        "W1" (2, 3), "b1" (3,), "W2" (3, 1), "b2" (1,): the same shapes as params.
    """
    p = _as_params_231(params)
    X = as_inputs(X, p)
    y = np.asarray(y, dtype=np.float64)
    check_loss_name(loss)
    n = X.shape[0]
    for key, width in (("Z1", 3), ("A1", 3), ("Z2", 1), ("A2", 1)):
        if key not in cache or np.shape(cache[key]) != (n, width):
            raise ValueError(
                f"cache[{key!r}] should have shape ({n}, {width}); pass the cache that "
                "forward_231 returned for the same X and params."
            )
    Z1, A1, Z2, y_hat = (np.asarray(cache[k], dtype=np.float64) for k in ("Z1", "A1", "Z2", "A2"))
    W2 = p["W2"]

    if loss == "mse":
        # L = mean((y_hat - y)**2): dL/dy_hat = 2 (y_hat - y) / n, times sigma'(Z2)
        dZ2 = mse_grad(y_hat, y) * sigmoid_prime(Z2)  # (n, 1)
    else:
        # sigmoid + BCE: sigma'(Z2) cancels, so dZ2 = (y_hat - y) / n exactly
        validate_targets(y_hat, y)
        check_labels(y)
        dZ2 = (y_hat - y) / y.size  # (n, 1)
    dW2 = A1.T @ dZ2  # (3, n) @ (n, 1) -> (3, 1)
    db2 = dZ2.sum(axis=0)  # (1,)
    dA1 = dZ2 @ W2.T  # (n, 1) @ (1, 3) -> (n, 3)
    dZ1 = dA1 * relu_prime(Z1)  # (n, 3): zero where a hidden unit was inactive
    dW1 = X.T @ dZ1  # (2, n) @ (n, 3) -> (2, 3)
    db1 = dZ1.sum(axis=0)  # (3,)
    return {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}


def loss_231(X, y, params, loss="mse") -> float:
    """Loss of the 2-3-1 network on (X, y).

    Parameters
    ----------
    X : array_like, shape (n, 2)
    y : array_like, shape (n, 1)
    params : dict
        W1 (2, 3), b1 (3,), W2 (3, 1), b2 (1,).
    loss : {"mse", "bce"}, default "mse"
        BCE is computed stably from the logits Z2 (``bce_from_logits``).

    Returns
    -------
    L : float
    """
    check_loss_name(loss)
    y_hat, cache = forward_231(X, params)
    if loss == "bce":
        return bce_from_logits(cache["Z2"], y)
    return mse(y_hat, y)


def predict(X, params, threshold=0.5) -> np.ndarray:
    """Pass (1.0) or fail (0.0) for each student: ``y_hat >= threshold``.

    Parameters
    ----------
    X : array_like, shape (n, 2)
    params : dict
        W1 (2, 3), b1 (3,), W2 (3, 1), b2 (1,).
    threshold : float, default 0.5
        The probability from which a student is predicted to pass.

    Returns
    -------
    labels : ndarray, shape (n, 1)
        Floats 0.0 and 1.0, comparable with y.
    """
    y_hat, _ = forward_231(X, params)
    return (y_hat >= threshold).astype(np.float64)
