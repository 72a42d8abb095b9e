"""The loss as a function of two parameters, on a whole grid at once.

Changing the entry ``W{l}[i, j]`` from w to v changes only unit j of layer l:
``Z{l}[:, j]`` moves by ``(v - w) * A{l-1}[:, i]``; a bias entry ``b{l}[j]``
moves it by ``v - w``. So the layers below the lowest touched layer are computed
once for the whole grid. In that layer only the touched units differ between grid
points, and a unit touched by one parameter only depends on that parameter's axis of
the grid: (Ga, 1, n) or (1, Gb, n), with Ga = len(values_a) and Gb = len(values_b).
In the next layer each of them adds its term ``A[:, i] W[i]`` to the part of Z that all
grid points share; from there on every array carries the whole grid, (G, n, d) instead
of (n, d), with G = Ga * Gb.

The grid is computed a few rows at a time, in arrays that every chunk reuses (see
``CHUNK_ENTRIES``); the result does not depend on the chunk size.

``parameter_entries`` names every entry of a params dict ("W1[1, 0]") as ``loss_surface``
takes it; ``slice_function`` is the 2-3-1 network's BCE at one point of such a slice.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from refimpl.activations import identity, relu, sigmoid, sigmoid_into, tanh
from refimpl.mlp import check_training_data

#: Grid points are computed a chunk at a time, in arrays of at most this many entries (2 MiB)
#: that every chunk reuses: memory already mapped and warm in the CPU caches. A 150 x 150 grid
#: in one go (n = 200) makes fresh arrays of 36 MB, slower to fill than the arithmetic on them.
CHUNK_ENTRIES = 2**18


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
    X, y, params, n_layers, (f_h, _, f_o, _) = check_training_data(
        X, y, params, loss, hidden, output
    )
    shifts, Ga, Gb = _grid_shifts(params, param_a, param_b, values_a, values_b)

    # Below the lowest touched layer every grid point sees the same numbers: computed once.
    lowest = min(shifts)
    A = X
    for l in range(1, lowest):
        A = f_h(A @ params[f"W{l}"] + params[f"b{l}"])  # (n, d_l)

    # The rest, a few rows of the grid at a time (see CHUNK_ENTRIES). The largest arrays
    # are (rows, Gb, n, d_l) from the layer above the lowest touched one.
    n = X.shape[0]
    widest = max([1] + [params[f"W{l}"].shape[1] for l in range(lowest + 1, n_layers + 1)])
    rows = max(1, CHUNK_ENTRIES // (n * widest * Gb))
    surface = np.empty((Ga, Gb))
    work = _Workspace()
    for start in range(0, Ga, rows):
        chunk = {  # param_a's shift (Ga, 1) for these rows; param_b's (1, Gb) for every column
            layer: [
                (name, index, shift[start : start + rows] if shift.shape[0] > 1 else shift)
                for name, index, shift in moved
            ]
            for layer, moved in shifts.items()
        }
        grid = (min(rows, Ga - start), Gb)
        Z = _output_logits(A, params, lowest, n_layers, chunk, grid, f_h, work)
        surface[start : start + rows] = _mean_loss(Z, y, loss, f_o, work).reshape(grid)
    return surface


def _grid_shifts(
    params, param_a, param_b, values_a, values_b
) -> tuple[dict[int, list[tuple[str, tuple[int, ...], np.ndarray]]], int, int]:
    """The two varied entries, checked, as what each grid point adds to them.

    Returns
    -------
    shifts : dict
        Layer number -> its varied entries ``(name, index, shift)``, where shift (new value -
        current value) is shaped to broadcast over the grid: (Ga, 1) for param_a, (1, Gb)
        for param_b.
    Ga, Gb : int
        The numbers of values of param_a and of param_b.
    """
    name_a, index_a, layer_a = _check_choice(params, param_a, "param_a")
    name_b, index_b, layer_b = _check_choice(params, param_b, "param_b")
    if (name_a, index_a) == (name_b, index_b):
        raise ValueError("param_a and param_b must be two different parameters.")
    values_a = _as_values(values_a, "values_a")
    values_b = _as_values(values_b, "values_b")
    shifts: dict[int, list[tuple[str, tuple[int, ...], np.ndarray]]] = {}
    for name, index, layer, shift in (
        (name_a, index_a, layer_a, (values_a - params[name_a][index_a])[:, np.newaxis]),
        (name_b, index_b, layer_b, (values_b - params[name_b][index_b])[np.newaxis, :]),
    ):
        shifts.setdefault(layer, []).append((name, index, shift))
    return shifts, values_a.size, values_b.size


def parameter_entries(params) -> dict[str, tuple[str, tuple[int, ...]]]:
    """Every entry of a params dict by its label, as ``loss_surface`` takes them.

    Parameters
    ----------
    params : dict of array_like
        ``W{l}`` (d_{l-1}, d_l) and ``b{l}`` (d_l,), or any dict of arrays.

    Returns
    -------
    entries : dict
        ``{"W1[0, 0]": ("W1", (0, 0)), "W1[0, 1]": ("W1", (0, 1)), ..., "b2[0]": ("b2", (0,))}``,
        in the order of params and, within an array, of ``np.ndindex``.
    """
    return {
        f"{name}[{', '.join(map(str, index))}]": (name, index)
        for name, value in params.items()
        for index in np.ndindex(np.shape(value))
    }


def slice_function(X, y, params, param_a, param_b) -> Callable[[np.ndarray], float]:
    """The BCE of the 2-3-1 network as a function of two of its entries, the others fixed.

    One point of the slice that ``loss_surface`` computes on a whole grid, for code that
    walks the slice (gradient descent on it calls this thousands of times).

    Parameters
    ----------
    X : ndarray, shape (n, 2)
    y : ndarray, shape (n, 1)
    params : dict
        W1 (2, 3), b1 (3,), W2 (3, 1), b2 (1,).
    param_a, param_b : tuple (str, tuple of int)
        The two entries, e.g. ``("W1", (1, 0))``.

    Returns
    -------
    f : callable
        ``f(x)`` for x of shape (2,): the loss with ``param_a = x[0]`` and ``param_b = x[1]``.
        The same number as ``refimpl.loss_231(X, y, params, loss="bce")`` with those two
        entries set, written out for speed (no validation, no cache).
    """
    work = {key: np.array(value, dtype=np.float64) for key, value in params.items()}
    (name_a, index_a), (name_b, index_b) = param_a, param_b

    def f(x: np.ndarray) -> float:
        work[name_a][index_a], work[name_b][index_b] = x[0], x[1]
        A1 = np.maximum(X @ work["W1"] + work["b1"], 0.0)  # (n, 3) relu
        Z2 = A1 @ work["W2"] + work["b2"]  # (n, 1) logits
        return float(np.mean(np.logaddexp(0.0, Z2) - y * Z2))  # BCE from the logits

    return f


class _Workspace:
    """Arrays that every chunk reuses: a fresh array of megabytes costs page faults to fill."""

    def __init__(self):
        self._arrays: dict[tuple, np.ndarray] = {}

    def __call__(self, *key, shape: tuple[int, ...]) -> np.ndarray:
        """An uninitialised array of this shape, the same memory for the same key."""
        size = int(np.prod(shape))
        flat = self._arrays.get(key)
        if flat is None or flat.size < size:
            flat = self._arrays[key] = np.empty(size)
        return flat[:size].reshape(shape)


def _in_place(f, Z: np.ndarray, work) -> np.ndarray:
    """``f(Z)``, written into Z itself for refimpl's activations (the others: a new array)."""
    if f is relu:
        return np.maximum(Z, 0.0, out=Z)
    if f is tanh:
        return np.tanh(Z, out=Z)
    if f is sigmoid:  # the same numbers as sigmoid(Z), without its temporaries of Z's size
        return sigmoid_into(Z, Z, work("sigmoid", shape=Z.shape))
    if f is identity:
        return Z
    return f(Z)  # a function from elsewhere: a new array


def _output_logits(A, params, lowest, n_layers, shifts, grid, f_h, work) -> np.ndarray:
    """The output layer's Z at the G = Ga * Gb points of a grid, (G, n, d_L).

    A (n, d) is the input of layer ``lowest``; ``shifts`` maps a layer to its varied entries
    (name, index, shift), each shift of shape (Ga, 1) or (1, Gb).
    """
    n = A.shape[0]

    # Layer `lowest`: Z (n, d) is shared but for the touched units j, whose columns get
    # the grid axes of the parameters that touch them: varying[j] is (Ga, 1, n), (1, Gb, n)
    # or, when both parameters feed unit j, (Ga, Gb, n).
    W, b = params[f"W{lowest}"], params[f"b{lowest}"]
    Z = A @ W + b  # (n, d_l-1) @ (d_l-1, d_l) -> (n, d_l)
    varying: dict[int, np.ndarray] = {}
    for name, index, shift in shifts[lowest]:
        j = index[-1]
        if name.startswith("W"):  # W[i, j] += shift moves Z[:, j] by shift * A[:, i]
            move = shift[:, :, np.newaxis] * A[:, index[0]]
        else:  # b[j] += shift moves Z[:, j] by shift
            move = shift[:, :, np.newaxis]
        varying[j] = varying.get(j, Z[:, j]) + move
    if lowest == n_layers:  # the output layer: spread every column over the whole grid
        out = work("spread", shape=(*grid, n, Z.shape[1]))
        for j in range(Z.shape[1]):
            out[..., j] = varying.get(j, Z[:, j])
        return out.reshape(-1, n, Z.shape[1])
    A = f_h(Z)  # (n, d_l): shared
    varying = {j: _in_place(f_h, column, work) for j, column in varying.items()}

    # Layer lowest + 1: Z = A @ W + b, where a varying unit i adds its own A[:, i] W[i] at
    # every grid point. Its weights W[i] are a row (d_l,), or (Ga, 1, 1, d_l) or
    # (1, Gb, 1, d_l) when one of them is varied.
    W, b = params[f"W{lowest + 1}"], params[f"b{lowest + 1}"]
    weights = {i: W[i] for i in varying}
    moves = []  # (j, change of Z[..., j]) for the other varied entries of this layer
    for name, index, shift in shifts.get(lowest + 1, []):
        i, j = index[0], index[-1]
        if name.startswith("W") and i in varying:
            row = np.broadcast_to(W[i], (*shift.shape, 1, W.shape[1])).copy()
            row[..., j] += shift[:, :, np.newaxis]  # (Ga, 1, 1, d_l) or (1, Gb, 1, d_l)
            weights[i] = row
        elif name.startswith("W"):
            moves.append((j, shift[:, :, np.newaxis] * A[:, i]))  # (Ga, 1, n) or (1, Gb, n)
        else:
            moves.append((j, shift[:, :, np.newaxis]))
    shared = A @ W + b  # (n, d_l), then without the varying units' terms
    for i in varying:
        shared -= np.outer(A[:, i], W[i])
    Z = work("Z", lowest + 1, shape=(*grid, n, W.shape[1]))
    for k, (i, column) in enumerate(varying.items()):
        if k == 0:  # the first term fills Z, over the whole grid
            np.multiply(column[..., np.newaxis], weights[i], out=Z)
            Z += shared
        else:
            Z += column[..., np.newaxis] * weights[i]
    for j, move in moves:
        Z[..., j] += move
    Z = Z.reshape(-1, n, W.shape[1])  # (G, n, d_l): one row per grid point from here on

    # The layers above: every array has the grid axis, (G, n, d_l).
    for l in range(lowest + 2, n_layers + 1):
        A = _in_place(f_h, Z, work)
        W, b = params[f"W{l}"], params[f"b{l}"]
        Z = np.matmul(A, W, out=work("Z", l, shape=(A.shape[0], n, W.shape[1])))
        Z += b
        for name, index, shift in shifts.get(l, []):
            shift = np.broadcast_to(shift, grid).reshape(-1, 1)  # (G, 1)
            if name.startswith("W"):  # W[i, j] += shift moves Z[..., j] by shift * A[..., i]
                Z[:, :, index[-1]] += shift * A[:, :, index[0]]
            else:
                Z[:, :, index[-1]] += shift
    return Z


def _mean_loss(Z, y, loss, f_o, work) -> np.ndarray:
    """The loss at each of G grid points from the output logits Z (G, n, d_L), which it
    overwrites: the mean over the n * d_L entries, like ``mse`` and ``bce_from_logits``.
    """
    if loss == "mse":
        E = _in_place(f_o, Z, work)
        E -= y
        np.square(E, out=E)
        return E.mean(axis=(1, 2))
    # Stable BCE from the logits: log(1 + e^z) - y z = log1p(e^-|z|) + max(z, 0) - y z,
    # where max(z, 0) - y z = z (1/2 - y) + |z| / 2.
    # The sum of z (1/2 - y) per grid point. einsum, not a matrix-vector product: BLAS may
    # sum a row in another order depending on its place in the chunk, and a grid point's
    # loss must not depend on where the chunks begin.
    sum_linear = np.einsum("gk,k->g", Z.reshape(len(Z), -1), (0.5 - y).ravel())
    T = np.copysign(Z, -1.0, out=Z)  # -|z|, in place: Z is not needed again
    sum_abs = -T.sum(axis=(1, 2))
    np.exp(T, out=T)  # e^-|z|, in (0, 1]: never overflows
    np.log1p(T, out=T)
    return (T.sum(axis=(1, 2)) + sum_linear + sum_abs / 2) / y.size
