"""The argument checks that refimpl's modules share (internal: not part of the public API).

Each check turns a learner's likely slip into a ValueError that says what was expected and
what came instead, and returns the argument in the form the computation needs (float64
arrays, a float, an int). The public functions validate once, then call the unchecked
computations (``refimpl.mlp.forward_unchecked`` and the like).

Imported by ``mlp``, ``network``, ``losses``, ``optim``, ``gradcheck``, ``surface`` and
``fast``; it imports only ``refimpl.activations``, so that any of them can use it without an
import cycle.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from numbers import Real

import numpy as np

from refimpl.activations import get_activation

#: The names of ``refimpl.losses.LOSSES``, in its order (``tests/test_refimpl_losses.py``
#: checks that the two agree); kept here so that the checks need not import the losses.
LOSS_NAMES = ("mse", "bce")
#: The output activations of an MLP: probabilities, or unbounded values (regression).
OUTPUTS = ("sigmoid", "identity")


def check_loss_name(loss) -> None:
    """Raise a ValueError naming the valid losses unless ``loss`` is one of them."""
    if not isinstance(loss, str) or loss not in LOSS_NAMES:
        valid = ", ".join(repr(name) for name in LOSS_NAMES)
        raise ValueError(f"Unknown loss {loss!r}. Use one of {valid}.")


def check_labels(y: np.ndarray) -> None:
    """BCE needs targets in [0, 1]; a common slip is passing -1/+1 labels.

    Parameters
    ----------
    y : ndarray, shape (n, d_L)
        The targets, already float64.
    """
    if y.size and not (np.min(y) >= 0.0 and np.max(y) <= 1.0):  # NaN fails too
        if np.isnan(y).any():
            raise ValueError("BCE needs targets y in [0, 1] (labels 0.0 and 1.0); y contains NaN.")
        raise ValueError(
            f"BCE needs targets y in [0, 1] (labels 0.0 and 1.0); got values from "
            f"{np.min(y):.4g} to {np.max(y):.4g}."
        )


def check_lr(lr) -> float:
    """lr as a float; a ValueError unless it is a finite number >= 0."""
    if type(lr) is float and 0.0 <= lr < math.inf:  # the common case, without numpy's cost
        return lr
    if isinstance(lr, bool) or not isinstance(lr, Real) or not np.isfinite(lr) or lr < 0:
        raise ValueError(f"The learning rate lr must be a finite number >= 0; got {lr!r}.")
    return float(lr)


def as_scalar(value, message: str) -> float:
    """A function's return value as a float; a ValueError unless it is one number.

    Parameters
    ----------
    value : any
        What the function returned: a number, or an array of size 1.
    message : str
        The error's text, with ``{shape}`` where the shape that came instead goes.
    """
    array = np.asarray(value, dtype=np.float64)
    if array.size != 1:
        raise ValueError(message.format(shape=array.shape))
    return float(array.reshape(()))


def check_count(value, name: str) -> int:
    """value as an int; a ValueError unless it is a whole number >= 0."""
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 0:
        raise ValueError(f"{name} must be a whole number >= 0; got {value!r}.")
    return int(value)


def as_params(params) -> tuple[dict[str, np.ndarray], int]:
    """Validate an MLP params dict.

    Parameters
    ----------
    params : dict
        ``W{l}`` (d_{l-1}, d_l) and ``b{l}`` (d_l,) for l = 1..L, nothing else.

    Returns
    -------
    arrays : dict of ndarray
        The same entries as float64 arrays, in the order W1, b1, W2, b2, ...
    n_layers : int
        L.
    """
    if not isinstance(params, Mapping):
        raise ValueError(
            f"params must be a dict like {{'W1': ..., 'b1': ..., 'W2': ..., 'b2': ...}}; "
            f"got {type(params).__name__}."
        )
    n_layers = 0
    while f"W{n_layers + 1}" in params:
        n_layers += 1
    expected = [f"{kind}{l}" for l in range(1, n_layers + 1) for kind in "Wb"]
    if n_layers == 0 or set(params) != set(expected):
        missing = [k for k in expected if k not in params] or (["W1"] if n_layers == 0 else [])
        extra = sorted(set(params) - set(expected), key=str)
        detail = "".join(
            [
                f" Missing: {', '.join(map(repr, missing))}." if missing else "",
                f" Unexpected: {', '.join(map(repr, extra))}." if extra else "",
            ]
        )
        raise ValueError(
            f"params must hold W1..WL and b1..bL for an L-layer network "
            f"(here {expected or ['W1', 'b1']}).{detail}"
        )
    arrays = {key: np.asarray(params[key], dtype=np.float64) for key in expected}
    for l in range(1, n_layers + 1):
        W, b = arrays[f"W{l}"], arrays[f"b{l}"]
        if W.ndim != 2:
            raise ValueError(f"params['W{l}'] must be 2-D (d_in, d_out); got shape {W.shape}.")
        if b.shape != (W.shape[1],):
            raise ValueError(
                f"params['b{l}'] must have shape ({W.shape[1]},), one bias per column of "
                f"W{l}; got shape {b.shape}."
            )
        if l > 1 and W.shape[0] != arrays[f"W{l - 1}"].shape[1]:
            raise ValueError(
                f"params['W{l}'] has {W.shape[0]} rows but layer {l - 1} has "
                f"{arrays[f'W{l - 1}'].shape[1]} units; W{l} must be (d_in, d_out)."
            )
    return arrays, n_layers


def as_inputs(X, params: dict[str, np.ndarray]) -> np.ndarray:
    """X as a float64 array of shape (n, d_0), checked against W1 (d_0, d_1)."""
    X = np.asarray(X, dtype=np.float64)
    d_in = params["W1"].shape[0]
    if X.ndim != 2 or X.shape[1] != d_in:
        raise ValueError(
            f"X must have shape (n, {d_in}), one sample per row with the {d_in} inputs "
            f"that W1 expects; got shape {X.shape}."
        )
    return X


def resolve_activations(hidden, output, loss=None) -> tuple[Callable, Callable, Callable, Callable]:
    """The MLP's activations after checking their names (and the loss, when given).

    Parameters
    ----------
    hidden : str
        A name from ``refimpl.ACTIVATIONS`` (its derivative must be known).
    output : {"sigmoid", "identity"}
    loss : {"bce", "mse"} or None
        Checked too, with the pair: BCE needs the sigmoid's probabilities.

    Returns
    -------
    f_hidden, f_hidden_prime, f_output, f_output_prime : callable
    """
    if output not in OUTPUTS:
        raise ValueError(
            f"Unknown output activation {output!r}. Use one of {', '.join(map(repr, OUTPUTS))}."
        )
    f_h, f_h_prime = get_activation(hidden)
    if f_h_prime is None:
        raise ValueError(
            "hidden must be the name of an activation ('relu', 'sigmoid', 'tanh', "
            "'identity'), so that its derivative is known."
        )
    f_o, f_o_prime = get_activation(output)
    if loss is not None:
        check_loss_name(loss)
        if loss == "bce" and output == "identity":
            raise ValueError(
                "BCE needs probabilities, but output='identity' gives unbounded outputs. "
                "Use output='sigmoid' with loss='bce', or loss='mse'."
            )
    return f_h, f_h_prime, f_o, f_o_prime
