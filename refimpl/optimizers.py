"""Optimisers beyond plain gradient descent (notebook 10): momentum and Adam.

Each step function takes params and grads (dicts of arrays with the same keys and shapes)
and the optimiser's state (dicts of the same form), and returns new dicts: nothing is
modified in place. The state starts at zero (``zeros_like_params``).

    momentum ("heavy ball", as PyTorch's SGD):  v <- beta v + dW;   W <- W - lr v
    Adam (Kingma and Ba, 2015):                 m <- beta1 m + (1 - beta1) dW
                                                v <- beta2 v + (1 - beta2) dW**2
                                                W <- W - lr m_hat / (sqrt(v_hat) + eps)

with the bias corrections ``m_hat = m / (1 - beta1**t)``, ``v_hat = v / (1 - beta2**t)`` at
step t = 1, 2, ... Adam divides by the gradient's own size, so a step moves each parameter by
about lr whatever the scale of its gradient: lr is a step length in parameter units, which is
why one default, 0.001, works for so many networks.

``optimizer_path`` runs one optimiser on a function of a vector, for the notebook's figures.
"""

from __future__ import annotations

from numbers import Real

import numpy as np

from refimpl._validation import as_scalar, check_count, check_lr
from refimpl.optim import NOT_ONE_NUMBER, gd_step

#: The optimisers of ``optimizer_path`` and ``refimpl.fit_classifier``.
OPTIMIZERS = ("sgd", "momentum", "adam")
#: Adam's defaults, those of the paper and of PyTorch and Keras.
ADAM_DEFAULTS = {"lr": 0.001, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8}


def check_optimizer(optimizer) -> str:
    """optimizer itself; a ValueError naming the valid ones unless it is one of them."""
    if not isinstance(optimizer, str) or optimizer not in OPTIMIZERS:
        valid = ", ".join(map(repr, OPTIMIZERS))
        raise ValueError(f"Unknown optimizer {optimizer!r}. Use one of {valid}.")
    return optimizer


def check_beta(beta, name: str) -> float:
    """beta as a float; a ValueError unless it is a number in [0, 1)."""
    if isinstance(beta, bool) or not isinstance(beta, Real) or not 0.0 <= beta < 1.0:
        raise ValueError(f"{name} must be a number in [0, 1), e.g. 0.9; got {beta!r}.")
    return float(beta)


def matching_arrays(params, **others) -> tuple[dict[str, np.ndarray], ...]:
    """params and every dict in others as float64 arrays, checked to match key for key.

    Parameters
    ----------
    params : dict of array_like
    **others : dict of array_like
        Named by their argument (grads, velocity, m, v): the same keys and shapes as params.

    Returns
    -------
    arrays : tuple of dict of ndarray
        params first, then others in their order; ``np.asarray`` views, not copies.

    Raises
    ------
    TypeError
        When one of them is not a dict.
    ValueError
        When the keys differ, or an entry's shape differs from its parameter's.
    """
    named = {"params": params, **others}
    for name, value in named.items():
        if not hasattr(value, "keys") or not hasattr(value, "__getitem__"):
            raise TypeError(
                f"{name} must be a dict of arrays like {{'W1': ..., 'b1': ...}}; "
                f"got {type(value).__name__}."
            )
    arrays = {"params": {key: np.asarray(params[key], dtype=np.float64) for key in params}}
    for name, value in others.items():
        if set(value) != set(params):
            raise ValueError(
                f"{name} must have the same keys as params; params has "
                f"{sorted(params, key=str)}, {name} has {sorted(value, key=str)}."
            )
        arrays[name] = {}
        for key, W in arrays["params"].items():
            entry = np.asarray(value[key], dtype=np.float64)
            if entry.shape != W.shape:
                raise ValueError(
                    f"{name}[{key!r}] has shape {entry.shape} but params[{key!r}] has shape "
                    f"{W.shape}; each entry has the shape of its parameter."
                )
            arrays[name][key] = entry
    return tuple(arrays.values())


def zeros_like_params(params) -> dict[str, np.ndarray]:
    """Zeros of the keys and shapes of params: the starting velocity, or Adam's m and v.

    Parameters
    ----------
    params : dict of array_like

    Returns
    -------
    zeros : dict of ndarray
        New float64 arrays, one per key of params, in its order.
    """
    (arrays,) = matching_arrays(params)
    return {key: np.zeros_like(value) for key, value in arrays.items()}


def momentum_step(params, grads, velocity, lr, beta=0.9):
    """One step of gradient descent with momentum, per parameter W:

    ``v <- beta * v + dW``, then ``W <- W - lr * v``.

    The velocity is a running sum of past gradients, each step's weight shrunk by beta: along
    a direction where the gradient keeps its sign the steps grow (up to ``1 / (1 - beta)``
    times, 10x for beta = 0.9); across a narrow valley, where it flips, they cancel.

    Parameters
    ----------
    params : dict of ndarray
        Any keys and shapes (W1 (d_0, d_1), b1 (d_1,), ...).
    grads : dict of ndarray
        The same keys and shapes: ``grads["W1"]`` is dL/dW1.
    velocity : dict of ndarray
        The same keys and shapes; zeros before the first step.
    lr : float
        The learning rate, >= 0.
    beta : float, default 0.9
        The momentum, in [0, 1); beta = 0 is plain gradient descent.

    Returns
    -------
    new_params : dict of ndarray
    new_velocity : dict of ndarray
        New arrays; params, grads and velocity are left untouched.
    """
    lr = check_lr(lr)
    beta = check_beta(beta, "beta")
    params, grads, velocity = matching_arrays(params, grads=grads, velocity=velocity)
    new_params, new_velocity = {}, {}
    for key, W in params.items():
        v = beta * velocity[key] + grads[key]
        new_params[key] = W - lr * v
        new_velocity[key] = v
    return new_params, new_velocity


def adam_step(params, grads, m, v, t, lr=0.001, beta1=0.9, beta2=0.999, eps=1e-8):
    """One Adam step, per parameter W with gradient g = dW:

    ``m <- beta1 m + (1 - beta1) g`` and ``v <- beta2 v + (1 - beta2) g**2`` (running means of
    the gradient and of its square), ``m_hat = m / (1 - beta1**t)`` and
    ``v_hat = v / (1 - beta2**t)`` (they undo the pull towards the zeros m and v start at),
    then ``W <- W - lr * m_hat / (sqrt(v_hat) + eps)``.

    At t = 1, ``m_hat = g`` and ``v_hat = g**2``: every parameter moves by ``lr`` against the
    sign of its gradient (less only when |g| is near eps), whatever the gradient's scale.

    Parameters
    ----------
    params : dict of ndarray
    grads : dict of ndarray
        The same keys and shapes as params.
    m, v : dict of ndarray
        Adam's first and second moments, the same keys and shapes; zeros before step 1.
    t : int, >= 1
        The number of this step (1 for the first), for the bias correction.
    lr : float, default 0.001
        The step size, >= 0.
    beta1 : float, default 0.9
        Decay of the running mean of the gradient, in [0, 1).
    beta2 : float, default 0.999
        Decay of the running mean of its square, in [0, 1).
    eps : float, default 1e-8
        Keeps the division finite where v_hat is 0; > 0.

    Returns
    -------
    new_params : dict of ndarray
    new_m : dict of ndarray
    new_v : dict of ndarray
        New arrays; the inputs are left untouched.
    """
    lr = check_lr(lr)
    beta1 = check_beta(beta1, "beta1")
    beta2 = check_beta(beta2, "beta2")
    if isinstance(eps, bool) or not isinstance(eps, Real) or not 0.0 < eps < np.inf:
        raise ValueError(f"eps must be a small positive number, e.g. 1e-8; got {eps!r}.")
    if isinstance(t, bool) or not isinstance(t, int | np.integer) or t < 1:
        raise ValueError(
            f"t is the number of this step, a whole number >= 1 (1 for the first step); "
            f"got {t!r}."
        )
    params, grads, m, v = matching_arrays(params, grads=grads, m=m, v=v)
    correction1 = 1.0 - beta1 ** int(t)
    correction2 = 1.0 - beta2 ** int(t)
    new_params, new_m, new_v = {}, {}, {}
    for key, W in params.items():
        g = grads[key]
        new_m[key] = beta1 * m[key] + (1.0 - beta1) * g
        new_v[key] = beta2 * v[key] + (1.0 - beta2) * g * g
        m_hat = new_m[key] / correction1
        v_hat = new_v[key] / correction2
        new_params[key] = W - lr * m_hat / (np.sqrt(v_hat) + eps)
    return new_params, new_m, new_v


def _as_start(x0) -> np.ndarray:
    x0 = np.array(x0, dtype=np.float64)
    if x0.ndim == 0:
        x0 = x0.reshape(1)
    if x0.ndim != 1:
        raise ValueError(f"x0 must be a vector of shape (d,); got shape {x0.shape}.")
    return x0


def optimizer_path(
    f,
    grad_f,
    x0,
    optimizer,
    lr,
    steps,
    beta1=0.9,
    beta2=0.999,
    momentum_step=None,
    adam_step=None,
) -> tuple[np.ndarray, np.ndarray]:
    """Run one optimiser on a function of a vector, ``refimpl.gradient_descent``'s contract.

    The vector x is the one parameter ``{"w": x}`` of the step functions. "sgd" takes the
    steps of ``gradient_descent`` (the same numbers); "momentum" those of
    ``momentum_step(..., beta=beta1)``; "adam" those of ``adam_step(..., t=i + 1, lr,
    beta1, beta2)`` with the default eps. State starts at zero.

    A learning rate that is too large makes the path diverge. That is quiet (no warning, no
    exception): once a point or its loss is inf or nan the run stops, and the remaining rows
    of path and losses are nan, for a plot to leave out.

    Parameters
    ----------
    f : callable
        ``f(x) -> float`` for x of shape (d,).
    grad_f : callable
        ``grad_f(x) -> ndarray (d,)``, the gradient of f.
    x0 : array_like, shape (d,)
        The starting point (a single number counts as d = 1).
    optimizer : {"sgd", "momentum", "adam"}
    lr : float
        The learning rate, >= 0.
    steps : int
        Number of steps, >= 0.
    beta1 : float, default 0.9
        Momentum's beta, or Adam's beta1.
    beta2 : float, default 0.999
        Adam's beta2 (unused by the others).
    momentum_step, adam_step : callable or None, default None
        Replacements for ``refimpl.momentum_step`` and ``refimpl.adam_step`` (a learner's),
        called with the reference's arguments; None is the reference.

    Returns
    -------
    path : ndarray, shape (steps + 1, d)
        ``path[0] = x0``, ``path[i + 1]`` the point after step i + 1.
    losses : ndarray, shape (steps + 1,)
        ``losses[i] = f(path[i])``.
    """
    optimizer = check_optimizer(optimizer)
    lr = check_lr(lr)
    steps = check_count(steps, "steps")
    beta1 = check_beta(beta1, "beta1")
    beta2 = check_beta(beta2, "beta2")
    step_fn = {
        "sgd": None,
        "momentum": _reference_momentum_step if momentum_step is None else momentum_step,
        "adam": _reference_adam_step if adam_step is None else adam_step,
    }[optimizer]
    x0 = _as_start(x0)
    path = np.full((steps + 1, x0.size), np.nan)
    losses = np.full(steps + 1, np.nan)
    path[0] = x0
    current = {"w": x0}
    # the velocity, or Adam's m and v: zeros of x's shape
    state = [zeros_like_params(current) for _ in range(2 if optimizer == "adam" else 1)]
    with np.errstate(all="ignore"):  # divergence is shown, not warned about
        losses[0] = as_scalar(f(x0.copy()), NOT_ONE_NUMBER)
        for i in range(steps):
            if not (np.isfinite(losses[i]) and np.all(np.isfinite(path[i]))):
                break
            g = np.asarray(grad_f(path[i].copy()), dtype=np.float64)
            if g.shape != x0.shape and not (g.size == 1 and x0.size == 1):
                raise ValueError(f"grad_f must return shape {x0.shape}; got shape {g.shape}.")
            grads = {"w": g.reshape(x0.shape)}
            if optimizer == "sgd":
                current = gd_step(current, grads, lr)
            elif optimizer == "momentum":
                current, *state = step_fn(current, grads, *state, lr, beta1)
            else:
                current, *state = step_fn(current, grads, *state, i + 1, lr, beta1, beta2)
            path[i + 1] = np.asarray(current["w"], dtype=np.float64).reshape(x0.shape)
            losses[i + 1] = as_scalar(f(path[i + 1].copy()), NOT_ONE_NUMBER)
    return path, losses


_reference_momentum_step = momentum_step  # optimizer_path's arguments shadow these names
_reference_adam_step = adam_step


def steps_to_reach(losses, target) -> int | None:
    """The first step whose loss is at most target.

    Parameters
    ----------
    losses : array_like, shape (steps + 1,)
        ``losses[i]`` after i steps (``optimizer_path``'s second result); nan never counts.
    target : float

    Returns
    -------
    step : int or None
        The smallest i with ``losses[i] <= target``; None if there is none.
    """
    losses = np.asarray(losses, dtype=np.float64)
    if losses.ndim != 1:
        raise ValueError(f"losses must be 1-D, one loss per step; got shape {losses.shape}.")
    if isinstance(target, bool) or not isinstance(target, Real) or np.isnan(target):
        raise ValueError(f"target must be a number; got {target!r}.")
    reached = np.flatnonzero(losses <= target)
    return int(reached[0]) if reached.size else None
