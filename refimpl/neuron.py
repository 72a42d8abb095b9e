"""A single neuron: a weighted sum plus a bias, then an activation."""

from __future__ import annotations

import numpy as np

from refimpl.activations import get_activation


def neuron(X, w, b, activation="sigmoid") -> np.ndarray:
    """Output of one neuron for every sample, ``f(X @ w + b)``.

    Parameters
    ----------
    X : array_like, shape (n, d_in)
        One sample per row.
    w : array_like, shape (d_in,)
        One weight per input feature.
    b : float
        The bias (a single number).
    activation : str or callable, default "sigmoid"
        A name from ``ACTIVATIONS`` or a function applied elementwise.

    Returns
    -------
    a : ndarray, shape (n,)
        The neuron's output for each sample.
    """
    X = np.asarray(X, dtype=np.float64)
    w = np.asarray(w, dtype=np.float64)
    f, _ = get_activation(activation)
    if X.ndim != 2:
        raise ValueError(
            f"X must be 2-D with shape (n, d_in), one sample per row; got shape {X.shape}. "
            "For a single sample use X.reshape(1, -1)."
        )
    if w.ndim != 1 or w.shape[0] != X.shape[1]:
        raise ValueError(
            f"w must have shape (d_in,) = ({X.shape[1]},) to match the {X.shape[1]} columns "
            f"of X; got shape {w.shape}."
        )
    if np.ndim(b) != 0:
        raise ValueError(
            f"b must be a single number (one neuron has one bias); got shape {np.shape(b)}."
        )
    z = X @ w + float(b)  # (n, d_in) @ (d_in,) -> (n,)
    return np.asarray(f(z), dtype=np.float64)
