"""The worked examples behind the notebooks' figures: networks, data and runs, computed once.

- :func:`trained_params_231`: the 2-3-1 network trained on ``study_sleep()``, taking hours
  (notebook 02);
- :func:`example_network`: the standardized study/sleep data and the example 2-3-1 network,
  at initialisation and trained; its loss slices are those of notebooks 03, 04 and 06;
- :func:`bowl`: the stretched quadratic bowl of notebook 04;
- :func:`training_data`, :func:`initial_params`, :func:`training_run`: the split of notebook
  07 and a training run recorded epoch by epoch, for each learning rate, width,
  initialisation and seed.

Not exported by ``refimpl``: ``refimpl.viz`` draws these, and the benchmarks time them.
"""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass

import numpy as np

from refimpl.data import standardize, study_sleep, train_test_split
from refimpl.mlp import init_mlp, mlp_backward, mlp_forward, mlp_loss
from refimpl.network import init_231
from refimpl.optim import grad_norm, train

# ---------------------------------------------------------------------------------------------
# Notebook 02: the trained 2-3-1 network, for inputs in hours
# ---------------------------------------------------------------------------------------------

#: The trained network of notebook 02: 99 % of the students of study_sleep() right.
TRAINED_231 = {"seed": 2, "lr": 1.0, "epochs": 2000}


@functools.cache
def _trained_231(seed: int, lr: float, epochs: int) -> tuple[dict, str]:
    X, y = study_sleep()
    X_std, mean, std = standardize(X)
    params, history = train(X_std, y, init_231(seed=seed), lr=lr, epochs=epochs)
    W1, b1 = params["W1"], params["b1"]
    # (X - mean) / std @ W1 + b1  ==  X @ (W1 / std[:, None]) + (b1 - (mean / std) @ W1):
    # the standardization folded into layer 1, so the params take hours directly.
    hours = {"W1": W1 / std[:, None], "b1": b1 - (mean / std) @ W1}
    return {**params, **hours}, history.message


def trained_params_231(
    seed: int = TRAINED_231["seed"],
    lr: float = TRAINED_231["lr"],
    epochs: int = TRAINED_231["epochs"],
) -> tuple[dict[str, np.ndarray], str]:
    """Parameters of a 2-3-1 network trained on ``study_sleep()``, for inputs in hours.

    Trains with ``refimpl.train`` (full-batch gradient descent, BCE) from ``init_231(seed)`` on
    standardized inputs (training is much faster on them), then folds the standardization into
    the first layer, ``W1 / std`` and ``b1 - (mean / std) @ W1``, so that the returned params take
    raw hours. Takes about 0.2 s the first time; later calls reuse the result.

    Parameters
    ----------
    seed : int
        Seed of ``init_231``.
    lr : float
        The learning rate.
    epochs : int
        Gradient-descent steps.

    Returns
    -------
    params : dict
        W1 (2, 3), b1 (3,), W2 (3, 1), b2 (1,) (fresh copies: change them freely).
    message : str
        The training summary (``history.message``).
    """
    params, message = _trained_231(int(seed), float(lr), int(epochs))
    return {key: value.copy() for key, value in params.items()}, message


# ---------------------------------------------------------------------------------------------
# Notebooks 03, 04 and 06: the example network and its loss slices
# ---------------------------------------------------------------------------------------------

#: The example network of notebooks 03 and 04: the 2-3-1 network trained with full-batch gradient
#: descent (BCE) on the standardized study_sleep data. This seed trains to 99 % accuracy, and its
#: slice over W1[1, 0] and W2[0, 0] shows a curved valley beside a flat plateau.
EXAMPLE_SEED = 2
EXAMPLE_LR = 0.5
EXAMPLE_EPOCHS = 500
#: The slice of notebooks 03 and 04 (labels of ``refimpl.surface.parameter_entries``): the weight
#: from "hours slept" into hidden unit 0, and that unit's output weight.
EXAMPLE_PAIR = ("W1[1, 0]", "W2[0, 0]")


@functools.cache
def _example() -> tuple[np.ndarray, ...]:
    X, y = study_sleep()
    X, _, _ = standardize(X)
    initial = init_231(seed=EXAMPLE_SEED)
    trained, _ = train(X, y, initial, lr=EXAMPLE_LR, epochs=EXAMPLE_EPOCHS, loss="bce")
    return X, y, initial, trained


def example_network() -> tuple[np.ndarray, np.ndarray, dict[str, dict[str, np.ndarray]]]:
    """The study/sleep data and the example 2-3-1 network, before and after training.

    Trained once per process (about 0.05 s); every call hands out fresh copies.

    Returns
    -------
    X : ndarray, shape (200, 2)
        ``refimpl.study_sleep()`` inputs, standardized (each column mean 0, sd 1).
    y : ndarray, shape (200, 1)
    params : dict
        ``{"trained": params, "initial": params}``: the 2-3-1 params (W1 (2, 3), b1 (3,),
        W2 (3, 1), b2 (1,)) after ``EXAMPLE_EPOCHS`` epochs of gradient descent (BCE, lr
        ``EXAMPLE_LR``) and at their He initialisation.
    """
    X, y, initial, trained = _example()
    copies = {
        name: {key: value.copy() for key, value in params.items()}
        for name, params in (("trained", trained), ("initial", initial))
    }
    return X.copy(), y.copy(), copies


def bowl(w: np.ndarray) -> float:
    """The stretched bowl of notebook 04, ``f(w) = w1**2 + 10 w2**2`` (minimum 0 at w = (0, 0)).

    Parameters
    ----------
    w : ndarray, shape (2,)

    Returns
    -------
    f : float
    """
    return float(w[0] ** 2 + 10.0 * w[1] ** 2)


# ---------------------------------------------------------------------------------------------
# Notebook 07: training runs, recorded epoch by epoch
# ---------------------------------------------------------------------------------------------

#: The split of notebook 07: ``train_test_split(*study_sleep(), **SPLIT)``, 150 + 50 students.
SPLIT = {"test_fraction": 0.25, "seed": 0}
#: Epochs of every run.
RUN_EPOCHS = 2000
#: The initialisation "same" sets every weight and bias to this (all hidden units identical).
SAME_VALUE = 0.5
#: Runs kept (each holds its params for every epoch: about 2 MB for width 16).
CACHED_RUNS = 48


@dataclass(frozen=True)
class TrainingData:
    """The students of notebook 07, split and standardized with the training set's mean and std."""

    X_train: np.ndarray  # (150, 2) hours
    X_test: np.ndarray  # (50, 2) hours
    y_train: np.ndarray  # (150, 1)
    y_test: np.ndarray  # (50, 1)
    X_train_std: np.ndarray  # (150, 2)
    X_test_std: np.ndarray  # (50, 2)
    mean: np.ndarray  # (2,)
    std: np.ndarray  # (2,)


@functools.cache
def training_data() -> TrainingData:
    """The split of notebook 07: ``train_test_split(*study_sleep(), **SPLIT)``, standardized.

    Returns
    -------
    data : TrainingData
        150 training and 50 test students, in hours and standardized.
    """
    X, y = study_sleep()
    X_train, X_test, y_train, y_test = train_test_split(X, y, **SPLIT)
    X_train_std, mean, std = standardize(X_train)
    X_test_std, _, _ = standardize(X_test, mean, std)
    return TrainingData(X_train, X_test, y_train, y_test, X_train_std, X_test_std, mean, std)


def initial_params(width: int, init: str, seed: int) -> dict[str, np.ndarray]:
    """Starting params of the MLP ``[2, width, 1]``.

    Parameters
    ----------
    width : int
        Hidden units.
    init : {"he", "normal", "zeros", "same"}
        One of ``refimpl.INITS``, or "same": every weight and bias ``SAME_VALUE``, so that
        all hidden units start identical (and stay so).
    seed : int
        Seed of ``init_mlp`` (unused by "same").

    Returns
    -------
    params : dict
        W1 (2, width), b1 (width,), W2 (width, 1), b2 (1,).
    """
    if init == "same":
        return {k: np.full_like(v, SAME_VALUE) for k, v in init_mlp([2, width, 1]).items()}
    return init_mlp([2, width, 1], seed=seed, init=init)


@dataclass(frozen=True)
class Run:
    """One training run, recorded epoch by epoch.

    Attributes
    ----------
    trace : dict of ndarray
        ``trace["W1"][k]`` is W1 after k steps, for k = 0 .. epochs_recorded - 1 (shape
        (epochs_recorded, 2, width)); likewise b1, W2, b2.
    losses, grad_norms : ndarray, shape (epochs_recorded,)
        The BCE on the training students and the norm of the whole gradient after k steps.
    status, message : str
        ``history.status`` and ``history.message`` of ``refimpl.train``.
    seconds : float
        How long the training took.
    """

    trace: dict[str, np.ndarray]
    losses: np.ndarray
    grad_norms: np.ndarray
    status: str
    message: str
    seconds: float

    @property
    def epochs_recorded(self) -> int:
        return len(self.losses)

    def params(self, epoch: int) -> dict[str, np.ndarray]:
        """The params after ``epoch`` steps (the last recorded ones for a later epoch)."""
        k = min(int(epoch), self.epochs_recorded - 1)
        return {key: value[k] for key, value in self.trace.items()}


@functools.lru_cache(maxsize=CACHED_RUNS)
def training_run(lr: float, width: int, init: str, seed: int) -> Run:
    """Train ``[2, width, 1]`` for RUN_EPOCHS epochs on the training students, every epoch kept.

    Parameters
    ----------
    lr : float
        The learning rate.
    width : int
        Hidden units.
    init : {"he", "normal", "zeros", "same"}
        See :func:`initial_params`.
    seed : int

    Returns
    -------
    run : Run
        A completed run has RUN_EPOCHS + 1 recorded epochs (0 .. RUN_EPOCHS: the trained
        params are appended, with their loss and gradient norm); a diverged one stops at its
        last finite params. The same arguments give the same (kept) run.
    """
    data = training_data()
    start = time.perf_counter()
    trained, history = train(
        data.X_train_std,
        data.y_train,
        initial_params(width, init, seed),
        lr=lr,
        epochs=RUN_EPOCHS,
        loss="bce",
        record_params=True,
    )
    trace = history.params_trace or []
    losses, grad_norms = list(history.losses), list(history.grad_norms)
    if history.status == "completed":  # the end point too: the params after the last step
        _, cache = mlp_forward(data.X_train_std, trained)
        grads = mlp_backward(data.X_train_std, data.y_train, trained, cache)
        trace = [*trace, trained]
        losses.append(mlp_loss(data.X_train_std, data.y_train, trained))
        grad_norms.append(grad_norm(grads))
    if not trace:  # diverged before the first step: show the start
        trace = [initial_params(width, init, seed)]
        losses, grad_norms = [np.nan], [np.nan]
    stacked = {key: np.stack([p[key] for p in trace]) for key in trace[0]}
    return Run(
        trace=stacked,
        losses=np.array(losses, dtype=np.float64),
        grad_norms=np.array(grad_norms, dtype=np.float64),
        status=history.status,
        message=history.message,
        seconds=time.perf_counter() - start,
    )
