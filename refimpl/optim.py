"""Gradient descent: one step, a path on a function, and training an MLP."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from refimpl._validation import as_scalar, check_count, check_lr
from refimpl.mlp import (
    backward_unchecked,
    check_training_data,
    forward_unchecked,
    loss_unchecked,
)

# train() calls a run diverged when the loss exceeds this many times its first
# value: ordinary training only lowers the loss, and a large learning rate can
# cause a bump, but not a thousandfold runaway.
DIVERGENCE_FACTOR = 1e3


#: gradient_descent's (and optimizer_path's) error when f returns more than one number.
NOT_ONE_NUMBER = "f must return a single number; got shape {shape}."


def gd_step(params, grads, lr) -> dict[str, np.ndarray]:
    """One gradient-descent step, ``W <- W - lr * dW`` for every parameter.

    Parameters
    ----------
    params : dict of ndarray
    grads : dict of ndarray
        The same keys and shapes as params.
    lr : float
        The learning rate, >= 0.

    Returns
    -------
    new_params : dict of ndarray
        New arrays; params and grads are left untouched.
    """
    lr = check_lr(lr)
    if set(params) != set(grads):
        raise ValueError(
            f"grads must have the same keys as params; params has {sorted(params)}, "
            f"grads has {sorted(grads)}."
        )
    new_params: dict[str, np.ndarray] = {}
    for key in params:
        W = np.asarray(params[key], dtype=np.float64)
        dW = np.asarray(grads[key], dtype=np.float64)
        if dW.shape != W.shape:
            raise ValueError(
                f"grads[{key!r}] has shape {dW.shape} but params[{key!r}] has shape "
                f"{W.shape}; a gradient has the shape of its parameter."
            )
        new_params[key] = W - lr * dW
    return new_params


def gradient_descent(f, grad_f, x0, lr, steps) -> tuple[np.ndarray, np.ndarray]:
    """Run gradient descent on a function of a vector, ``x <- x - lr * grad_f(x)``.

    A learning rate that is too large makes the path diverge: the values then
    grow to inf or nan, quietly (no warning, no exception), for you to plot.

    Parameters
    ----------
    f : callable
        ``f(x) -> float`` for x of shape (d,).
    grad_f : callable
        ``grad_f(x) -> ndarray (d,)``, the gradient of f.
    x0 : array_like, shape (d,)
        The starting point (a single number counts as d = 1).
    lr : float
        The learning rate, >= 0.
    steps : int
        Number of steps, >= 0.

    Returns
    -------
    path : ndarray, shape (steps + 1, d)
        ``path[0] = x0`` and ``path[i + 1] = path[i] - lr * grad_f(path[i])``.
    losses : ndarray, shape (steps + 1,)
        ``losses[i] = f(path[i])``.
    """
    lr = check_lr(lr)
    steps = check_count(steps, "steps")
    x0 = np.array(x0, dtype=np.float64)
    if x0.ndim == 0:
        x0 = x0.reshape(1)
    if x0.ndim != 1:
        raise ValueError(f"x0 must be a vector of shape (d,); got shape {x0.shape}.")
    path = np.empty((steps + 1, x0.size))
    losses = np.empty(steps + 1)
    path[0] = x0
    # Divergence is allowed here (it is what a notebook shows): overflow to inf
    # and inf - inf = nan are silenced, not warned about.
    with np.errstate(all="ignore"):
        losses[0] = as_scalar(f(path[0].copy()), NOT_ONE_NUMBER)
        for i in range(steps):
            g = np.asarray(grad_f(path[i].copy()), dtype=np.float64)
            if g.shape != x0.shape and not (g.size == 1 and x0.size == 1):
                raise ValueError(f"grad_f must return shape {x0.shape}; got shape {g.shape}.")
            path[i + 1] = path[i] - lr * g.reshape(x0.shape)
            losses[i + 1] = as_scalar(f(path[i + 1].copy()), NOT_ONE_NUMBER)
    return path, losses


@dataclass
class TrainingHistory:
    """What ``train`` recorded, one entry per completed epoch.

    Attributes
    ----------
    losses : ndarray, shape (epochs_run,)
        The loss at the start of each epoch (before that epoch's update).
    grad_norms : ndarray, shape (epochs_run,)
        The norm of all gradients together, ``sqrt(sum of dW**2 over every W and b)``.
    params_trace : list of dict or None
        The params at the start of each epoch when ``record_params=True``, else None.
    status : {"completed", "diverged"}
    message : str
        One sentence on what happened (for a diverged run: when, and what to try).
    """

    losses: np.ndarray
    grad_norms: np.ndarray
    params_trace: list[dict[str, np.ndarray]] | None
    status: str
    message: str


def grad_norm(grads) -> float:
    """The norm of all gradients taken together as one long vector.

    ``sqrt(sum of dW**2 over every entry of every W and b)``: what ``train`` records as
    ``history.grad_norms``, one number per epoch.

    Parameters
    ----------
    grads : dict of ndarray
        dL/dW{l} (d_{l-1}, d_l) and dL/db{l} (d_l,), or any dict of float64 arrays.

    Returns
    -------
    norm : float
    """
    # np.add.reduce is np.sum without its Python wrapper: the same sum, a few µs less a call
    return float(np.sqrt(sum(np.add.reduce(g * g, axis=None) for g in grads.values())))


def _divergence(loss_value: float, norm: float, limit: float) -> str | None:
    """Why training must stop at this epoch, or None to go on."""
    if not np.isfinite(loss_value):
        return f"the loss became {loss_value}"
    if loss_value > limit:
        return f"the loss grew to {loss_value:.4g}, over {DIVERGENCE_FACTOR:g} times its start"
    if not np.isfinite(norm):
        return f"the gradient norm became {norm}"
    return None


def _all_finite(params: dict[str, np.ndarray]) -> bool:
    return all(np.all(np.isfinite(value)) for value in params.values())


@dataclass
class _Descent:
    """What the epochs of ``train`` did: the recorded numbers, and why they stopped early."""

    last_good: dict[str, np.ndarray]  # the params at the start of the last recorded epoch
    losses: list[float] = field(default_factory=list)
    grad_norms: list[float] = field(default_factory=list)
    trace: list[dict[str, np.ndarray]] | None = None
    problem: str | None = None  # why the run diverged (None: it did not)
    stopped_at: int = 0  # the epoch it stopped at (the last one, if after its update)

    def conclusion(self, epochs: int, lr: float) -> tuple[str, str]:
        """The run's status and the sentence on it (``TrainingHistory.status``, ``.message``)."""
        losses = self.losses
        if self.problem is None:
            if not losses:
                return "completed", "Training ran 0 epochs: the params are unchanged."
            return "completed", (
                f"Training completed {epochs} epochs: the loss went from {losses[0]:.4g} "
                f"to {losses[-1]:.4g}."
            )
        if not losses:
            return "diverged", (
                f"Training stopped before the first step: {self.problem} at the starting params. "
                "Check the scale of X and of the params."
            )
        return "diverged", (
            f"Training stopped at epoch {self.stopped_at} of {epochs}: {self.problem} "
            f"(it started at {losses[0]:.4g}). The learning rate {lr:g} is too large; "
            f"try a smaller one, e.g. {lr / 10:g}."
        )


def _descend(
    loss_and_grads: Callable[[dict[str, np.ndarray]], tuple[float, dict[str, np.ndarray]]],
    params: dict[str, np.ndarray],
    lr: float,
    epochs: int,
    record_params: bool,
) -> tuple[dict[str, np.ndarray], _Descent]:
    """Full-batch gradient descent from ``params``, recording each epoch, until ``epochs``
    steps are taken or the run diverges; returns the last params and the record."""
    run = _Descent(last_good=params, trace=[] if record_params else None, stopped_at=epochs)
    current = params
    limit = np.inf  # DIVERGENCE_FACTOR times the first loss, once that is known
    # A too-large lr overflows to inf/nan; that is detected below, not warned about.
    with np.errstate(all="ignore"):
        for epoch in range(1, epochs + 1):
            loss_value, grads = loss_and_grads(current)
            norm = grad_norm(grads)
            run.problem = _divergence(loss_value, norm, limit)
            if run.problem is not None:
                run.stopped_at = epoch
                break
            run.losses.append(loss_value)
            run.grad_norms.append(norm)
            limit = DIVERGENCE_FACTOR * run.losses[0]
            if run.trace is not None:
                run.trace.append(current)  # gd_step makes new arrays: no copy needed
            run.last_good = current
            current = gd_step(current, grads, lr)
    if run.problem is None and not _all_finite(current):
        run.problem = "the parameters became inf or nan in the last update"
    return current, run


def train(
    X,
    y,
    params,
    lr,
    epochs,
    loss="bce",
    hidden="relu",
    output="sigmoid",
    record_params=False,
) -> tuple[dict[str, np.ndarray], TrainingHistory]:
    """Train an MLP with full-batch gradient descent.

    Each epoch computes the loss and the gradients on all of X, records them,
    then takes one step ``W <- W - lr * dW``. The run stops early, cleanly
    (no exception, no warning), when the loss or a gradient stops being finite
    or the loss exceeds ``DIVERGENCE_FACTOR`` times its first value.

    Parameters
    ----------
    X : array_like, shape (n, d_0)
    y : array_like, shape (n, d_L)
    params : dict
        Starting ``W{l}`` (d_{l-1}, d_l) and ``b{l}`` (d_l,); never modified.
    lr : float
        The learning rate, >= 0.
    epochs : int
        Number of gradient-descent steps, >= 0.
    loss : {"bce", "mse"}, default "bce"
    hidden : str, default "relu"
    output : {"sigmoid", "identity"}, default "sigmoid"
    record_params : bool, default False
        Keep a copy of the params of every epoch in ``history.params_trace``.

    Returns
    -------
    params : dict
        The trained params; after a divergence, the last params whose loss
        was finite (the start of the last recorded epoch).
    history : TrainingHistory
    """
    lr = check_lr(lr)
    epochs = check_count(epochs, "epochs")
    X, y, start, n_layers, activations = check_training_data(X, y, params, loss, hidden, output)
    f_h, f_h_prime, f_o, f_o_prime = activations
    start = {key: value.copy() for key, value in start.items()}
    for name, value in (("X", X), ("y", y), *((f"params[{k!r}]", v) for k, v in start.items())):
        if not np.all(np.isfinite(value)):
            raise ValueError(f"{name} contains nan or inf; training needs finite numbers.")

    def loss_and_grads(current: dict[str, np.ndarray]) -> tuple[float, dict[str, np.ndarray]]:
        _, cache = forward_unchecked(X, current, n_layers, f_h, f_o)
        loss_value = loss_unchecked(cache, y, n_layers, loss)
        grads = backward_unchecked(
            X, y, current, cache, n_layers, loss, output, f_h_prime, f_o_prime
        )
        return loss_value, grads

    current, run = _descend(loss_and_grads, start, lr, epochs, record_params)
    status, message = run.conclusion(epochs, lr)
    trained = current if run.problem is None else run.last_good
    history = TrainingHistory(
        losses=np.array(run.losses, dtype=np.float64),
        grad_norms=np.array(run.grad_norms, dtype=np.float64),
        params_trace=run.trace,
        status=status,
        message=message,
    )
    return {key: value.copy() for key, value in trained.items()}, history
