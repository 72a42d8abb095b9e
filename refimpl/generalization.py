"""Generalisation (notebook 10): L2 weight decay, early stopping, and a training loop with both.

A network that is large for its data can learn the training set by heart: the training loss
keeps falling while the loss on held-out (validation) data turns back up. Two remedies:

- L2 regularisation adds ``(lam / 2) * sum(W**2)`` over the weight matrices to the loss, so
  every weight gradient gains ``lam * W``: each step also shrinks the weights towards 0
  ("weight decay"). Biases are not penalised.
- Early stopping watches the validation loss and stops once it has not improved for
  ``patience`` epochs, keeping the parameters of the best epoch.

``fit_classifier`` trains notebook 09's classifier with either (and any optimiser of
``refimpl.optimizers``), recording the training and validation curves.
"""

from __future__ import annotations

from dataclasses import dataclass
from numbers import Real

import numpy as np

from refimpl._validation import as_inputs, as_params, check_count, check_lr
from refimpl.classifier import (
    classifier_forward,
    classifier_gradients,
    cross_entropy,
    minibatches,
)
from refimpl.optim import gd_step
from refimpl.optimizers import (
    adam_step,
    check_beta,
    check_optimizer,
    matching_arrays,
    momentum_step,
    zeros_like_params,
)


def check_lam(lam) -> float:
    """lam as a float; a ValueError unless it is a finite number >= 0."""
    if isinstance(lam, bool) or not isinstance(lam, Real) or not 0.0 <= lam < np.inf:
        raise ValueError(
            f"The regularisation strength lam must be a finite number >= 0; got {lam!r}."
        )
    return float(lam)


def _check_patience(patience) -> int:
    if isinstance(patience, bool) or not isinstance(patience, int | np.integer) or patience < 1:
        raise ValueError(f"patience must be a whole number >= 1 (epochs); got {patience!r}.")
    return int(patience)


def l2_regularize(loss, grads, params, lam) -> tuple[float, dict[str, np.ndarray]]:
    """Add the L2 penalty on the weights to a loss and to its gradients.

    ``total_loss = loss + (lam / 2) * sum over the weight matrices W of sum(W**2)``, so
    ``dW += lam * W`` for every weight (keys starting with "W"); biases (keys starting with
    "b") are not penalised and their gradients are unchanged.

    Parameters
    ----------
    loss : float
        The data loss (e.g. the cross-entropy).
    grads : dict of ndarray
        Its gradients: the keys and shapes of params.
    params : dict of ndarray
        ``W{l}`` (d_{l-1}, d_l) and ``b{l}`` (d_l,).
    lam : float
        The regularisation strength, >= 0 (0 changes nothing).

    Returns
    -------
    total_loss : float
    new_grads : dict of ndarray
        New arrays (the bias gradients copied); grads and params are left untouched.
    """
    lam = check_lam(lam)
    loss = float(loss)
    params, grads = matching_arrays(params, grads=grads)
    weights = [key for key in params if str(key).startswith("W")]
    penalty = sum(float(np.sum(params[key] ** 2)) for key in weights)
    new_grads = {key: np.array(dW) for key, dW in grads.items()}
    for key in weights:
        new_grads[key] += lam * params[key]  # d/dW of (lam / 2) * sum(W**2)
    return loss + 0.5 * lam * penalty, new_grads


def early_stopping(val_losses, patience) -> tuple[int, int]:
    """Where early stopping stops, and the best epoch up to there.

    Epochs are indices into val_losses. An epoch improves when its loss is strictly below
    every earlier one (epoch 0 always does; nan counts as +inf, never an improvement).
    Training stops at the first epoch that comes ``patience`` epochs after the last
    improvement, or at the last epoch if that never happens.

    Parameters
    ----------
    val_losses : array_like, shape (epochs,)
        The validation loss after each epoch; at least one.
    patience : int, >= 1
        How many epochs without improvement to wait.

    Returns
    -------
    best_epoch : int
        The index of the lowest loss up to stop_epoch (the first such index on ties).
    stop_epoch : int
        ``best_epoch + patience``, or ``len(val_losses) - 1`` if training never stops early.
    """
    patience = _check_patience(patience)
    losses = np.asarray(val_losses, dtype=np.float64)
    if losses.ndim != 1 or losses.size == 0:
        raise ValueError(
            f"val_losses must be a 1-D sequence with one loss per epoch, at least one; got "
            f"shape {losses.shape}."
        )
    losses = np.where(np.isnan(losses), np.inf, losses)
    epochs = np.arange(losses.size)
    best_before = np.minimum.accumulate(np.concatenate([[np.inf], losses[:-1]]))
    improves = losses < best_before
    improves[0] = True
    last_improvement = np.maximum.accumulate(np.where(improves, epochs, 0))  # per epoch
    stops = np.flatnonzero(epochs - last_improvement >= patience)
    stop_epoch = int(stops[0]) if stops.size else losses.size - 1
    return int(last_improvement[stop_epoch]), stop_epoch


@dataclass(frozen=True)
class FitHistory:
    """What ``fit_classifier`` recorded, one entry per epoch it ran.

    Entry i is measured after i + 1 passes over the training data.

    Attributes
    ----------
    params : dict of ndarray
        The trained params: with ``patience``, those of best_epoch; else the last.
    train_loss : ndarray, shape (epochs_run,)
        The cross-entropy on the whole training set (without the L2 penalty).
    train_accuracy : ndarray, shape (epochs_run,)
    val_loss : ndarray, shape (epochs_run,)
        The same on the validation data; shape (0,) without it.
    val_accuracy : ndarray, shape (epochs_run,)
        Shape (0,) without validation data.
    best_epoch : int or None
        The epoch of the lowest validation loss (the first on ties, up to stopped_epoch);
        None without validation data.
    stopped_epoch : int or None
        The epoch at which early stopping fired (training ran no further); None when it did
        not (no patience given, or the validation loss kept improving).
    """

    params: dict[str, np.ndarray]
    train_loss: np.ndarray
    train_accuracy: np.ndarray
    val_loss: np.ndarray
    val_accuracy: np.ndarray
    best_epoch: int | None
    stopped_epoch: int | None


def _loss_and_accuracy(X, Y, params) -> tuple[float, float]:
    """The mean cross-entropy of the classifier on (X, Y) and its accuracy."""
    Z_out, _ = classifier_forward(X, params)  # (n, k) logits
    accuracy = float(np.mean(Z_out.argmax(axis=1) == Y.argmax(axis=1)))
    return cross_entropy(Z_out, Y), accuracy


def _check_fit_data(X, Y, params, X_val, Y_val):
    """The training and validation data as float64 arrays, checked against params."""
    params, n_layers = as_params(params)
    k = params[f"W{n_layers}"].shape[1]
    data = []
    for name, (inputs, targets) in (("", (X, Y)), ("_val", (X_val, Y_val))):
        if name and inputs is None and targets is None:
            break
        if inputs is None or targets is None:
            raise ValueError("Pass both X_val and Y_val, or neither.")
        inputs = as_inputs(inputs, params)
        targets = np.asarray(targets, dtype=np.float64)
        if targets.shape != (inputs.shape[0], k):
            raise ValueError(
                f"Y{name} must be one-hot with shape (n, k) = ({inputs.shape[0]}, {k}); got "
                f"shape {targets.shape}. For integer labels use refimpl.one_hot(labels, {k})."
            )
        data.append((inputs, targets))
    return params, data


def _optimizer_step(optimizer, lr, beta1, beta2, params):
    """A function ``step(params, grads) -> new_params`` that keeps the optimiser's state."""
    state = {"t": 0, **{name: zeros_like_params(params) for name in ("velocity", "m", "v")}}

    def step(current, grads):
        state["t"] += 1
        if optimizer == "momentum":
            current, state["velocity"] = momentum_step(
                current, grads, state["velocity"], lr, beta1)
        elif optimizer == "adam":
            current, state["m"], state["v"] = adam_step(
                current, grads, state["m"], state["v"], state["t"], lr, beta1, beta2)
        else:
            current = gd_step(current, grads, lr)
        return current

    return step


def fit_classifier(
    X,
    Y,
    params,
    *,
    optimizer="sgd",
    lr=0.1,
    epochs=50,
    batch_size=32,
    seed=0,
    lam=0.0,
    X_val=None,
    Y_val=None,
    patience=None,
    beta1=0.9,
    beta2=0.999,
) -> FitHistory:
    """Mini-batch training of notebook 09's classifier, with L2, early stopping, any optimiser.

    ``rng = np.random.default_rng(seed)`` draws each epoch's batches
    (``refimpl.minibatches``, as ``refimpl.train_classifier`` does). For each batch:
    ``loss, grads = classifier_gradients``, then ``l2_regularize(loss, grads, params, lam)``,
    then one step of the optimiser. After each epoch the loss and accuracy on the whole
    training set (and on the validation data) are recorded; with ``patience`` the run stops
    where ``early_stopping`` says and returns the params of the best epoch.

    Parameters
    ----------
    X : array_like, shape (n, d_0)
    Y : array_like, shape (n, k)
        One-hot targets.
    params : dict
        The starting ``W{l}`` (d_{l-1}, d_l), ``b{l}`` (d_l,), d_L = k; left unchanged.
    optimizer : {"sgd", "momentum", "adam"}, default "sgd"
    lr : float, default 0.1
    epochs : int, default 50
        The most epochs to run, >= 0.
    batch_size : int, default 32
    seed : int, default 0
    lam : float, default 0.0
        L2 strength, >= 0.
    X_val : array_like, shape (n_val, d_0), optional
    Y_val : array_like, shape (n_val, k), optional
        Validation data: both or neither.
    patience : int or None, default None
        Early stopping's patience (needs validation data); None trains all epochs.
    beta1 : float, default 0.9
        Momentum's beta, or Adam's beta1.
    beta2 : float, default 0.999
        Adam's beta2.

    Returns
    -------
    history : FitHistory
    """
    optimizer = check_optimizer(optimizer)
    lr, lam = check_lr(lr), check_lam(lam)
    epochs = check_count(epochs, "epochs")
    beta1, beta2 = check_beta(beta1, "beta1"), check_beta(beta2, "beta2")
    if (isinstance(batch_size, bool) or not isinstance(batch_size, int | np.integer)
            or batch_size < 1):
        raise ValueError(f"batch_size must be a whole number >= 1; got {batch_size!r}.")
    current, data = _check_fit_data(X, Y, params, X_val, Y_val)
    if patience is not None:
        patience = _check_patience(patience)
        if len(data) < 2:
            raise ValueError("Early stopping (patience) needs validation data X_val, Y_val.")
    (X, Y), validation = data[0], data[1:]
    step = _optimizer_step(optimizer, lr, beta1, beta2, current)
    rng = np.random.default_rng(seed)
    record = {"train": [], "val": []}
    best = (None, current)  # (epoch, params) of the lowest validation loss so far
    stopped = None
    for epoch in range(epochs):
        for batch in minibatches(X.shape[0], batch_size, rng):
            loss, grads = classifier_gradients(X[batch], Y[batch], current)
            _, grads = l2_regularize(loss, grads, current, lam)
            current = step(current, grads)
        record["train"].append(_loss_and_accuracy(X, Y, current))
        if validation:
            record["val"].append(_loss_and_accuracy(*validation[0], current))
            best_epoch, stop_epoch = early_stopping([v[0] for v in record["val"]],
                                                    patience or epochs)
            if best_epoch == epoch:
                best = (epoch, current)
            if patience is not None and stop_epoch - best_epoch >= patience:
                stopped = epoch
                break
    train = np.array(record["train"], dtype=np.float64).reshape(-1, 2)
    val = np.array(record["val"], dtype=np.float64).reshape(-1, 2)
    final = best[1] if patience is not None else current
    return FitHistory(
        params={key: np.array(value) for key, value in final.items()},
        train_loss=train[:, 0],
        train_accuracy=train[:, 1],
        val_loss=val[:, 0],
        val_accuracy=val[:, 1],
        best_epoch=best[0],
        stopped_epoch=stopped,
    )
