"""What the notebooks' figures point out about a network, a loss or a run, as numbers.

- :func:`bends_down`: where a 1-D cut of the loss curves downward (it is not convex; nb 03);
- :func:`divergence_step`: where a run of gradient descent diverged (``train``'s rule; nb 04);
- :func:`slice_gradients`, :func:`entry_errors`: a backward pass against central differences,
  entry by entry (nb 06);
- :func:`dead_units`, :func:`identical_units`: hidden units that never fire, and a symmetry
  that was never broken (nb 07).

Not exported by ``refimpl``: ``refimpl.viz`` draws these.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np

from refimpl.gradcheck import numerical_gradients, relative_error
from refimpl.network import forward_231, loss_231
from refimpl.optim import DIVERGENCE_FACTOR

#: A 1-D cut "bends down" where its second difference is below -BEND_TOL times its range:
#: far above rounding noise, small enough to catch every visible bend.
BEND_TOL = 1e-4
#: The central-difference step of ``slice_gradients`` (the course's default h).
H = 1e-5


def bends_down(cut: np.ndarray) -> np.ndarray:
    """True where a 1-D cut of the loss curves downward (negative second difference).

    Parameters
    ----------
    cut : ndarray, shape (G,)
        The loss at G evenly spaced values of one parameter.

    Returns
    -------
    mask : ndarray of bool, shape (G,)
        True at the interior points where ``cut[i-1] - 2 cut[i] + cut[i+1] < -BEND_TOL * range``.
    """
    mask = np.zeros(cut.shape, dtype=bool)
    spread = float(np.ptp(cut))
    if cut.size >= 3 and spread > 0:
        mask[1:-1] = (cut[:-2] - 2.0 * cut[1:-1] + cut[2:]) < -BEND_TOL * spread
    return mask


def divergence_step(losses: np.ndarray) -> int | None:
    """The first step whose loss is not finite or exceeds DIVERGENCE_FACTOR times the first loss.

    The same rule as ``refimpl.train``.

    Parameters
    ----------
    losses : ndarray, shape (steps + 1,)
        The loss at every point of a path, the start first.

    Returns
    -------
    step : int or None
        None when the run did not diverge.
    """
    with np.errstate(all="ignore"):
        bad = ~np.isfinite(losses) | (losses > DIVERGENCE_FACTOR * abs(losses[0]))
    bad[0] = not np.isfinite(losses[0])
    return int(np.argmax(bad)) if bad.any() else None


def slice_gradients(
    backward: Callable,
    X: np.ndarray,
    y: np.ndarray,
    params: Mapping[str, np.ndarray],
    loss: str,
    h: float = H,
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """The analytic gradients of a backward pass and the numerical gradients of the loss.

    The backward pass gets copies of everything: a learner's function that changes its
    inputs in place spoils nothing.

    Parameters
    ----------
    backward : callable
        ``backward(X, y, params, cache) -> grads`` (the learner's, or a reference).
    X : ndarray, shape (n, 2)
    y : ndarray, shape (n, 1)
    params : dict
        W1 (2, 3), b1 (3,), W2 (3, 1), b2 (1,).
    loss : {"mse", "bce"}
        The loss the numerical gradients differentiate.
    h : float, default 1e-5
        The central-difference step.

    Returns
    -------
    analytic, numerical : dict of ndarray
        The same keys and shapes as params (analytic: whatever backward returned).
    """
    _, cache = forward_231(X, params)
    copies = {key: value.copy() for key, value in params.items()}  # a learner may change them
    analytic = backward(X.copy(), y.copy(), copies, {k: v.copy() for k, v in cache.items()})
    numerical = numerical_gradients(lambda p: loss_231(X, y, p, loss=loss), params, h)
    return analytic, numerical


def entry_errors(
    analytic: Mapping[str, np.ndarray], numerical: Mapping[str, np.ndarray], labels
) -> np.ndarray:
    """The relative error of every entry, ``|g - g_num| / max(|g| + |g_num|, 1e-8)``, in label
    order.

    Parameters
    ----------
    analytic, numerical : dict of ndarray
        Gradients with the same keys and shapes (``slice_gradients``).
    labels : dict
        ``{label: (name, index)}``, as ``refimpl.surface.parameter_entries`` gives them.

    Returns
    -------
    errors : ndarray, shape (len(labels),)
    """
    return np.array(
        [
            relative_error(
                np.asarray(analytic[name], dtype=np.float64)[index], numerical[name][index]
            )
            for name, index in labels.values()
        ]
    )


def dead_units(Z1: np.ndarray) -> np.ndarray:
    """True for each hidden unit whose pre-activation is <= 0 for every student.

    Such a ReLU unit outputs 0 and has slope relu'(z) = 0 for everyone: no gradient reaches its
    weights, so it never comes back.

    Parameters
    ----------
    Z1 : ndarray, shape (n, width)

    Returns
    -------
    dead : ndarray of bool, shape (width,)
    """
    return np.all(Z1 <= 0.0, axis=0)


def identical_units(params: dict[str, np.ndarray]) -> bool:
    """True when every hidden unit has the same weights in, bias and weight out (and width > 1).

    Parameters
    ----------
    params : dict
        W1 (d_0, width), b1 (width,), W2 (width, d_2) of a network with one hidden layer.

    Returns
    -------
    identical : bool
    """
    W1, b1, W2 = params["W1"], params["b1"], params["W2"]
    if W1.shape[1] < 2:
        return False
    return bool(np.all(W1[:, :1] == W1) and np.all(b1[0] == b1) and np.all(W2[:1, :] == W2))
