"""The loss as a function of two parameters, on a whole grid at once.

Changing the entry ``W{l}[i, j]`` from w to v changes only unit j of layer l:
``Z{l}[:, j]`` moves by ``(v - w) * A{l-1}[:, i]``; a bias entry ``b{l}[j]``
moves it by ``v - w``. So the layers below the lowest touched layer are computed
once for the whole grid; in that layer only the touched units differ between
grid points, (G, n) each, with G = len(values_a) * len(values_b); from the next
layer on every array carries the grid axis, (G, n, d) instead of (n, d).
"""

from __future__ import annotations

import numpy as np

from refimpl.losses import _check_labels, validate_targets
from refimpl.mlp import _activations, _as_inputs, _as_params


def _check_choice(params, choice, label: str) -> tuple[str, tuple[int, ...], int]:
    """Validate ("W1", (0, 1)) style choices; return (name, index, layer number)."""
    if not (isinstance(choice, tuple | list) and len(choice) == 2 and choice[0] in params):
        raise ValueError(
            f"{label} must be a pair (name, index) such as ('W1', (0, 1)) or ('b2', (0,)), "
            f"with a name from {', '.join(map(repr, params))}; got {choice!r}."
        )
    name, index = choice[0], choice[1]
    index = (index,) if isinstance(index, int | np.integer) else tuple(index)
    shape = params[name].shape
    if len(index) != len(shape) or not all(
        isinstance(i, int | np.integer) and 0 <= i < s for i, s in zip(index, shape, strict=True)
    ):
        raise ValueError(
            f"{label}: {index!r} is not an index of {name}, which has shape {shape}; "
            f"use a tuple of {len(shape)} integer(s)."
        )
    return name, tuple(int(i) for i in index), int(name[1:])


def _as_values(values, label: str) -> np.ndarray:
    values = np.asarray(values, dtype=np.float64)
    if values.ndim != 1 or values.size == 0 or not np.all(np.isfinite(values)):
        raise ValueError(f"{label} must be a non-empty 1-D array of finite numbers.")
    return values


def loss_surface(
    X,
    y,
    params,
    param_a,
    param_b,
    values_a,
    values_b,
    loss="bce",
    hidden="relu",
    output="sigmoid",
) -> np.ndarray:
    """The loss on a grid of values of two parameters, every other parameter fixed.

    Parameters
    ----------
    X : array_like, shape (n, d_0)
    y : array_like, shape (n, d_L)
    params : dict
        ``W{l}`` (d_{l-1}, d_l) and ``b{l}`` (d_l,) for l = 1..L (the 2-3-1
        params are the MLP [2, 3, 1]).
    param_a, param_b : tuple (str, tuple of int)
        The two parameters to vary, e.g. ``("W1", (0, 1))`` for ``W1[0, 1]``
        or ``("b2", (0,))`` for ``b2[0]``. They must differ.
    values_a : array_like, shape (Ga,)
        Values to give param_a.
    values_b : array_like, shape (Gb,)
        Values to give param_b.
    loss : {"bce", "mse"}, default "bce"
    hidden : str, default "relu"
    output : {"sigmoid", "identity"}, default "sigmoid"

    Returns
    -------
    surface : ndarray, shape (Ga, Gb)
        ``surface[i, j]`` is the loss with param_a = values_a[i] and
        param_b = values_b[j] (matrix indexing: transpose it for
        ``plt.contour(values_a, values_b, surface.T)``).
    """
    params, n_layers = _as_params(params)
    X = _as_inputs(X, params)
    y = np.asarray(y, dtype=np.float64)
    f_h, _, f_o, _ = _activations(hidden, output, loss)
    validate_targets(np.zeros((X.shape[0], params[f"W{n_layers}"].shape[1])), y)
    if loss == "bce":
        _check_labels(y)
    name_a, index_a, layer_a = _check_choice(params, param_a, "param_a")
    name_b, index_b, layer_b = _check_choice(params, param_b, "param_b")
    if (name_a, index_a) == (name_b, index_b):
        raise ValueError("param_a and param_b must be two different parameters.")
    values_a = _as_values(values_a, "values_a")
    values_b = _as_values(values_b, "values_b")

    # One row per grid point: the shift (new value - current value) of each varied entry
    grid_a, grid_b = np.meshgrid(values_a, values_b, indexing="ij")  # (Ga, Gb) each
    G = grid_a.size
    shifts: dict[int, list[tuple[str, tuple[int, ...], np.ndarray]]] = {}
    for name, index, layer, grid in (
        (name_a, index_a, layer_a, grid_a),
        (name_b, index_b, layer_b, grid_b),
    ):
        shifts.setdefault(layer, []).append((name, index, grid.ravel() - params[name][index]))

    # A, the input of layer l, is (n, d) while every grid point shares it, then (G, n, d).
    # Just above the lowest touched layer only its touched units differ between grid
    # points: `varying` maps such a unit i to its values on the whole grid, (G, n).
    # Arrays of G * n entries are large: updating them in place spares copies.
    n = X.shape[0]
    A, varying = X, {}
    for l in range(1, n_layers + 1):
        W, b = params[f"W{l}"], params[f"b{l}"]
        Z = A @ W + b  # (n, d_l-1) @ (d_l-1, d_l) -> (n, d_l); (G, n, d_l) once A is (G, n, d)
        moves = []  # (j, change of Z[..., j], is it a new array): W[i, j], b[j] feed unit j
        for name, index, shift in shifts.get(l, []):
            if name.startswith("W"):  # W[i, j] += shift moves Z[:, j] by shift * A[:, i]
                A_i = varying.get(index[0], A[..., index[0]])  # (n,) or (G, n)
                moves.append((index[-1], shift[:, np.newaxis] * A_i, True))  # (G, n)
            else:  # b[j] += shift moves Z[:, j] by shift
                moves.append((index[-1], shift[:, np.newaxis], False))  # (G, 1)
        for i, column in varying.items():
            # unit i below differs per grid point: its change reaches Z through row W[i]
            column -= A[:, i]  # in place (read for the last time above): the change, (G, n)
            change = column[:, :, np.newaxis] * W[i]  # (G, n, 1) * (d_l,) -> (G, n, d_l)
            change += Z
            Z = change
        varying = {}
        for j, move, is_new in moves:
            if Z.ndim == 3:
                Z[:, :, j] += move
            elif j in varying:
                varying[j] += move  # (G, n)
            elif is_new:  # unit j starts to differ per grid point: reuse the move's array
                move += Z[:, j]
                varying[j] = move  # (G, n)
            else:
                varying[j] = Z[:, j] + move  # (n,) + (G, 1) -> (G, n)
        if l < n_layers:
            A = f_h(Z)
            varying = {j: f_h(column) for j, column in varying.items()}

    if Z.ndim == 2:  # only the output layer was touched: spread it over the grid
        columns = [varying.get(j, np.broadcast_to(Z[:, j], (G, n))) for j in range(Z.shape[1])]
        Z = columns[0][:, :, np.newaxis] if len(columns) == 1 else np.stack(columns, axis=-1)
    # Z is the output layer's, (G, n, d_L); the loss averages over its n * d_L entries.
    if loss == "mse":
        per_point = ((f_o(Z) - y) ** 2).mean(axis=(1, 2))
    else:
        # Stable BCE from the logits: log(1 + e^z) - y z = log1p(e^-|z|) + max(z, 0) - y z,
        # summed per grid point. max(z, 0) = (z + |z|) / 2 lets the sums reuse |z|.
        sum_z = Z.sum(axis=(1, 2))
        sum_yz = Z.reshape(G, -1) @ y.ravel()  # (G, n * d_L) @ (n * d_L,)
        T = np.abs(Z, out=Z)  # in place: Z (this function's own array) is not needed again
        sum_abs = T.sum(axis=(1, 2))
        np.negative(T, out=T)
        np.exp(T, out=T)  # e^-|z|, in (0, 1]: never overflows
        np.log1p(T, out=T)
        per_point = (T.sum(axis=(1, 2)) + (sum_z + sum_abs) / 2 - sum_yz) / y.size
    return per_point.reshape(grid_a.shape)
