"""Notebook 07, training: train, accuracy (and predict again: ``nb02_forward``).

Each exercise is one ``Entry``: its cases, then its wrong versions, then the declaration
(reference, cases, tolerance, known mistakes, the words of its check's docstring).
"""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np

import refimpl
from autograder.checks.types import SCALAR, Case, DictOf, Mistake, TupleOf
from autograder.exercises.entry import Entry
from autograder.exercises.shared_cases import (
    N_HIDDEN,
    array,
    in_place_hints,
    params_231,
    random_params,
    study_sleep,
    trained_params,
)
from autograder.exercises.shared_mistakes import as_f64
from autograder.grading.worker.problems import LearnerProblem

# ---------------------------------------------------------------------------------------
# train: cases
# ---------------------------------------------------------------------------------------

# Hidden training runs on study_sleep must reach this held-out accuracy (the reference
# reaches it on every drawn split: splits where it does not are drawn again).
_HELD_OUT_ACCURACY = 0.9
_TRAIN_STUDENTS, _TRAIN_LR, _TRAIN_EPOCHS = 160, 1.0, 200


def _train_reference(X, y, params, lr, epochs):
    """refimpl.train with BCE, its history as the exercise's dict."""
    trained, history = refimpl.train(X, y, params, lr, epochs, loss="bce")
    return trained, {"loss": history.losses, "grad_norm": history.grad_norms}


def _train_visible() -> list[Case]:
    X, y = study_sleep(8, seed=10)
    X1, y1 = study_sleep(1, seed=11)
    return [
        Case((X, y, params_231(10, [0.1, -0.2, 0.05], 0.0), 0.5, 5),
             label="8 students, lr = 0.5, 5 epochs"),
        Case((X, y, params_231(12, [0.0, 0.1, 0.2], -0.1), 0.1, 12),
             label="the same students, lr = 0.1, 12 epochs"),
        Case((X1, y1, params_231(13, [0.2, 0.1, -0.1], 0.1), 0.3, 3),
             label="one student, lr = 0.3, 3 epochs"),
    ]


def _study_sleep_split(seed: int):
    X, y = refimpl.study_sleep(n=_TRAIN_STUDENTS, seed=seed)
    X_train, X_test, y_train, y_test = refimpl.train_test_split(X, y, seed=seed)
    X_train, mean, std = refimpl.standardize(X_train)
    X_test = refimpl.standardize(X_test, mean, std)[0]
    return X_train, X_test, y_train, y_test


def _held_out_case(rng: np.random.Generator) -> Case:
    """Training on study_sleep, on a split where the reference generalises."""
    while True:
        seed = int(rng.integers(2**31))
        X, X_test, y, y_test = _study_sleep_split(seed)
        params = refimpl.init_231(seed=seed)
        trained, _ = _train_reference(X, y, params, _TRAIN_LR, _TRAIN_EPOCHS)
        labels = refimpl.predict(X_test, trained)
        if refimpl.accuracy(labels, y_test) >= _HELD_OUT_ACCURACY + 0.02:
            return Case((X, y, params, _TRAIN_LR, _TRAIN_EPOCHS),
                        label="study_sleep, standardized, then a held-out test",
                        private={"held_out": (X_test, y_test)})


def _train_hidden(rng: np.random.Generator) -> list[Case]:
    cases = []
    for i in range(N_HIDDEN):
        if i % 4 == 0:  # train on study_sleep; the trained network must generalise
            cases.append(_held_out_case(rng))
            continue
        n, epochs = [1, 3, 5, 8][i % 4], int(rng.integers(1, 9))
        X = rng.normal(size=(n, 2))
        y = rng.integers(0, 2, (n, 1)).astype(np.float64)
        params = random_params(rng, [2, 3, 1], zero_bias=False)
        lr = float(rng.uniform(0.05, 0.5))
        cases.append(Case((X, y, params, lr, epochs),
                          label=f"n = {n}, a random network, lr and number of epochs"))
    return cases


# ---------------------------------------------------------------------------------------
# train: what a training run must achieve
# ---------------------------------------------------------------------------------------


def _check_training(out: Any, X: np.ndarray, y: np.ndarray, start: dict,
                    held_out: tuple[np.ndarray, np.ndarray]) -> None:
    """The properties of a training run: a lower loss, a good held-out accuracy.

    Raises LearnerProblem when one fails; says nothing when the output is malformed (the
    comparison with the reference reports that).
    """
    trained = trained_params(out, start)
    if trained is None:
        return
    with np.errstate(all="ignore"):
        before = refimpl.loss_231(X, y, start, loss="bce")
        after = refimpl.loss_231(X, y, trained, loss="bce")
    if not after < before:
        raise LearnerProblem(
            "Training did not lower the loss: on the training students, the BCE of your "
            "trained params is not below that of the starting params. Every step must go "
            "downhill, W - lr * dW, with the gradients of the current params.", "property")
    X_test, y_test = held_out
    correct = int(np.sum(refimpl.predict(X_test, trained) == y_test))
    if correct < _HELD_OUT_ACCURACY * len(y_test):
        raise LearnerProblem(
            f"After training, your network labels {correct} of {len(y_test)} held-out "
            f"students correctly; a correct train reaches at least "
            f"{round(100 * _HELD_OUT_ACCURACY)} % on this split. Compare your loop with the "
            "visible cases: the loss before each step, then W - lr * dW for every parameter.",
            "property")


def _train_postcheck(out: Any, case: Case) -> None:
    """The properties of a training run on a case with a held-out split."""
    held_out = case.private.get("held_out")
    if held_out is not None:
        X, y, start = case.args[:3]
        _check_training(out, X, y, start, held_out)


# ---------------------------------------------------------------------------------------
# train: wrong versions and the declaration
# ---------------------------------------------------------------------------------------


def _grad_norm(grads):
    """The learner's own norm, as notebook 07 asks for it (the reference's is
    ``refimpl.optim.grad_norm``; a planted variant cannot call it in the grading worker)."""
    return float(np.sqrt(sum(np.sum(g**2) for g in grads.values())))


def _train(X, y, params, lr, epochs, *, mode="ref"):
    if mode == "in-place":
        current = params  # the caller's arrays: every step writes into them
    else:
        current = {key: np.array(value, dtype=np.float64) for key, value in params.items()}
    losses, norms = [], []
    for _ in range(epochs):
        _, cache = refimpl.forward_231(X, current)
        loss = refimpl.loss_231(X, y, current, loss="bce")
        grads = refimpl.backward_231(X, y, current, cache,
                                     loss="mse" if mode == "mse-gradients" else "bce")
        norm = _grad_norm(grads)
        step = 1.0 if mode == "lr-ignored" else lr
        if mode == "in-place":
            for key in current:
                current[key] -= step * grads[key]
        elif mode == "ascent":
            current = {key: current[key] + step * grads[key] for key in current}
        else:
            current = {key: current[key] - step * grads[key] for key in current}
        if mode == "loss-after-step":
            loss = refimpl.loss_231(X, y, current, loss="bce")
        losses.append(loss)
        norms.append(norm**2 if mode == "norm-squared" else norm)
    return current, {"loss": np.array(losses), "grad_norm": np.array(norms)}


TRAIN = Entry.simple(
    "train", _train_reference, _train_visible, _train_hidden,
    summary='train(X, y, params, lr, epochs) -> (trained_params, history) against '
            'refimpl.train(..., loss="bce")',
    tolerance_why="BCE from logits or from clipped probabilities, norms summed in another "
                  "order: the trajectories of correct implementations agree to about 1e-13.",
    details='history["loss"][i] is the BCE before step i and history["grad_norm"][i] the norm '
            "of all gradients of that step (lists or arrays). params must stay unchanged. "
            "Hidden cases also train on study_sleep (standardized) and require a lower loss "
            f"and at least {round(100 * _HELD_OUT_ACCURACY)} % accuracy on held-out students.",
    output=TupleOf((
        DictOf("trained_params", None, label=lambda key: f'trained_params["{key}"]'),
        DictOf("history", ("loss", "grad_norm"), label=lambda key: f'history["{key}"]',
               purpose='history records every epoch: history["loss"] (the loss before the '
                       'step) and history["grad_norm"] (the norm of all gradients).'),
    )),
    rtol=1e-8, atol=1e-10, driver="train", postcheck=_train_postcheck,
    input_hints={"params": "train must leave params as it was: start from a copy ({k: "
                           "v.copy() for k, v in params.items()}) or build new arrays each "
                           "step (W = W - lr * dW)."} | in_place_hints("X", "y"),
    uses=("forward_231", "backward_231", "loss_231", "relu", "sigmoid", "dense_forward", "bce",
          "gd_step"),
    mistakes=(
        Mistake("loss-after-step", "the loss is recorded after the update",
                "history['loss'][i] is the loss of the params BEFORE step i: compute it with "
                "the gradients, before you update.", partial(_train, mode="loss-after-step")),
        Mistake("train-ascent", "a step uphill (+ instead of -)",
                "The gradient points uphill; descent goes the other way.",
                partial(_train, mode="ascent")),
        Mistake("train-in-place", "the caller's params are updated in place",
                "params[k] -= ... writes into the caller's arrays: start from a copy "
                "({k: v.copy() for k, v in params.items()}) or build new arrays each step.",
                partial(_train, mode="in-place")),
        Mistake("train-lr-ignored", "the learning rate is not used",
                "Each step moves by lr times the gradient.", partial(_train, mode="lr-ignored")),
        Mistake("mse-gradients", "the gradients of the MSE loss",
                "backward_231 uses loss='mse' unless told otherwise: train minimises BCE, so "
                "pass loss='bce'.", partial(_train, mode="mse-gradients")),
        Mistake("grad-norm-squared", "the squared gradient norm",
                "The norm is the square ROOT of the sum of all squared gradient entries.",
                partial(_train, mode="norm-squared")),
    ))


# ---------------------------------------------------------------------------------------
# accuracy
# ---------------------------------------------------------------------------------------


def _accuracy_visible() -> list[Case]:
    return [
        Case((array([[1.0], [0.0], [1.0], [1.0], [0.0]]),
              array([[1.0], [0.0], [0.0], [1.0], [0.0]])),
             label="5 students, 4 right"),
        Case((array([[1.0], [1.0], [0.0], [0.0], [1.0], [0.0], [1.0], [1.0]]),
              array([[1.0], [0.0], [0.0], [1.0], [1.0], [0.0], [1.0], [1.0]])),
             label="8 students, 6 right"),
        Case((array([[1.0]]), array([[1.0]])), label="one student, right"),
    ]


def _accuracy_hidden(rng: np.random.Generator) -> list[Case]:
    cases = []
    for i in range(N_HIDDEN):
        n = [1, 2, 3, 5, 8, 12][i % 6]
        y = rng.integers(0, 2, (n, 1)).astype(np.float64)
        labels = y.copy()
        flip = rng.random((n, 1)) < [0.0, 0.3, 1.0, 0.6][i % 4]
        labels[flip] = 1.0 - labels[flip]
        cases.append(Case((labels, y), label=f"n = {n}"))
    return cases


def _accuracy(labels, y, *, mode="ref"):
    labels, y = as_f64(labels), as_f64(y)
    if mode == "count":
        return np.sum(labels == y)
    if mode == "percent":
        return 100.0 * np.mean(labels == y)
    if mode == "error-rate":
        return 1.0 - np.mean(labels == y)
    if mode == "broadcast":
        return np.mean(labels == y.ravel())
    raise ValueError(mode)


ACCURACY = Entry.simple(
    "accuracy", refimpl.accuracy, _accuracy_visible, _accuracy_hidden,
    summary="accuracy(labels, y) -> the fraction of labels equal to y, one float in [0, 1]",
    output=SCALAR, input_hints=in_place_hints("labels", "y"),
    mistakes=(
        Mistake("accuracy-count", "the number of correct predictions instead of the fraction",
                "Accuracy is a fraction between 0 and 1: divide by the number of samples (or "
                "take the mean).", partial(_accuracy, mode="count")),
        Mistake("accuracy-percent", "a percentage instead of a fraction",
                "Return the fraction (0.8), not the percentage (80).",
                partial(_accuracy, mode="percent")),
        Mistake("error-rate", "the fraction of WRONG predictions",
                "Accuracy counts the predictions that EQUAL the targets.",
                partial(_accuracy, mode="error-rate")),
        Mistake("accuracy-broadcast", "an (n, 1) column compared with an (n,) array",
                "labels == y.ravel() broadcasts to an (n, n) table of every pair: compare two "
                "arrays of the same shape.", partial(_accuracy, mode="broadcast")),
    ))


ENTRIES = (TRAIN, ACCURACY)
