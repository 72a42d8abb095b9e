"""Notebook 09, a digit classifier from layers: relu_backward, dense_backward (declared here,
taught in notebook 06), log_softmax, softmax_cross_entropy_backward, classifier_gradients,
train_classifier.

Each exercise is one ``Entry``: its cases, then its wrong versions, then the declaration.
Targets are one-hot ``Y`` of shape (n, k); the logits ``Z`` are (n, k) too.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np

import refimpl
from autograder.checks.types import Case, DictOf, Leaf, Mistake, TupleOf
from autograder.exercises.entry import Entry
from autograder.exercises.shared_cases import (
    N_HIDDEN,
    fixed,
    grads_spec,
    in_place_hints,
    layer_diagnose,
    layer_order,
    random_params,
    shapes_label,
    trained_params,
)
from autograder.exercises.shared_mistakes import as_f64, matmul_error_with_w
from autograder.grading.worker.problems import LearnerProblem


def _one_hot(rng: np.random.Generator, n: int, k: int) -> np.ndarray:
    return refimpl.one_hot(rng.integers(0, k, n), k)


def _fixed_one_hot(labels: list[int], k: int) -> np.ndarray:
    return refimpl.one_hot(np.array(labels), k)


# ---------------------------------------------------------------------------------------
# relu_backward
# ---------------------------------------------------------------------------------------


def _relu_backward_visible() -> list[Case]:
    Z = np.array([[1.5, 0.0, -0.7], [-2.0, 0.3, 0.0]])
    return [
        Case((fixed(20, (2, 3)), Z), label="2 samples, 3 units, two entries of Z exactly 0"),
        Case((fixed(21, (4, 2)), fixed(22, (4, 2))), label="4 samples, 2 units"),
        Case((np.array([[-1.0, 2.0, -3.0, 0.5]]), np.array([[0.4, 0.0, 1.0, -1.0]])),
             label="one sample, negative upstream gradients"),
    ]


def _relu_backward_hidden(rng: np.random.Generator) -> list[Case]:
    cases = []
    for _ in range(N_HIDDEN):
        n, d = int(rng.integers(1, 7)), int(rng.integers(1, 7))
        dA, Z = rng.normal(size=(n, d)), rng.normal(size=(n, d))
        Z[rng.random((n, d)) < 0.2] = 0.0
        cases.append(Case((dA, Z), label=shapes_label(dA=dA, Z=Z)))
    return cases


def _relu_backward(dA, Z, *, mode="ref"):
    dA, Z = as_f64(dA), as_f64(Z)
    if mode == "relu-prime-at-zero":
        return dA * (Z >= 0)
    if mode == "missing-upstream":
        return (Z > 0).astype(np.float64)
    if mode == "relu-instead-of-relu-prime":
        return dA * np.maximum(Z, 0.0)
    if mode == "mask-from-da":
        return dA * (dA > 0)
    raise ValueError(mode)


RELU_BACKWARD = Entry.simple(
    "relu_backward", refimpl.relu_backward, _relu_backward_visible, _relu_backward_hidden,
    summary="relu_backward(dA, Z) -> dZ = dA * relu'(Z), with relu'(0) = 0",
    input_hints=in_place_hints("dA", "Z"),
    mistakes=tuple(
        Mistake(slug, name, hint, partial(_relu_backward, mode=slug))
        for slug, name, hint in (
            ("relu-prime-at-zero", "relu'(0) taken as 1",
             "This course uses relu'(0) = 0: keep only the strictly positive entries of Z."),
            ("missing-upstream", "the mask alone, without the upstream gradient",
             "The chain rule multiplies: dZ = dA * relu'(Z), not relu'(Z) alone."),
            ("relu-instead-of-relu-prime", "relu(Z) instead of its derivative",
             "The derivative of relu is 0 or 1, not relu(Z) itself."),
            ("mask-from-da", "the mask is taken from dA instead of Z",
             "Whether a unit passes its gradient depends on its own pre-activation Z, not "
             "on the sign of the gradient."),
        )))


# ---------------------------------------------------------------------------------------
# dense_backward (taught in notebook 06, written again in notebook 09)
# ---------------------------------------------------------------------------------------


def _dense_backward_visible() -> list[Case]:
    return [
        Case((fixed(4, (4, 3)), fixed(5, (4, 2)), fixed(6, (2, 3))),
             label="4 samples, 2 inputs -> 3 units"),
        Case((fixed(7, (3, 3)), fixed(8, (3, 3)), fixed(9, (3, 3))),
             label="square: 3 samples, 3 -> 3 units"),
        Case((fixed(10, (1, 2)), fixed(11, (1, 3)), fixed(12, (3, 2))),
             label="one sample, 3 inputs -> 2 units"),
    ]


def _dense_backward_hidden(rng: np.random.Generator) -> list[Case]:
    cases = []
    for i in range(N_HIDDEN):
        n, d_in = int(rng.integers(1, 7)), int(rng.integers(1, 6))
        d_out = d_in if i % 4 == 1 else int(rng.integers(1, 6))
        dZ, A_prev = rng.normal(size=(n, d_out)), rng.normal(size=(n, d_in))
        W = rng.normal(size=(d_in, d_out))
        cases.append(Case((dZ, A_prev, W), label=shapes_label(dZ=dZ, A_prev=A_prev, W=W)))
    return cases


def _dense_backward(dZ, A_prev, W, *, mode="ref"):
    dA_prev, dW, db = dZ @ W.T, A_prev.T @ dZ, dZ.sum(axis=0)
    if mode == "dw-transposed":
        dW = dZ.T @ A_prev
    elif mode == "da-uses-w":
        dA_prev = dZ @ W
    elif mode == "db-wrong-axis":
        db = dZ.sum(axis=1)
    elif mode == "db-not-summed":
        db = dZ.copy()
    elif mode == "db-mean":
        db = dZ.mean(axis=0)
    elif mode == "dw-extra-1-over-n":
        dW = dW / dZ.shape[0]
    else:
        raise ValueError(mode)
    return dA_prev, dW, db


_NO_SECOND_1_OVER_N = "dZ already contains the 1/n of the mean loss: do not divide by n again."

DENSE_BACKWARD = Entry.simple(
    "dense_backward", refimpl.dense_backward, _dense_backward_visible, _dense_backward_hidden,
    summary="dense_backward(dZ, A_prev, W) -> (dA_prev, dW, db)",
    output=TupleOf((Leaf("dA_prev"), Leaf("dW"), Leaf("db"))),
    input_hints=in_place_hints("dZ", "A_prev", "W"),
    mistakes=(
        Mistake("dw-transposed", "dW is transposed",
                "dW must have the shape of W, (d_in, d_out): check the order of the product "
                "of A_prev and dZ.", partial(_dense_backward, mode="dw-transposed")),
        Mistake("da-uses-w", "W instead of its transpose in dA_prev",
                "dA_prev must have the shape of A_prev, (n, d_in); dZ is (n, d_out). Which "
                "product with W gives that shape?",
                partial(_dense_backward, mode="da-uses-w"), matmul_error_with_w),
        Mistake("db-wrong-axis", "db is summed over the wrong axis",
                "db has one entry per output unit: which axis of dZ runs over the samples?",
                partial(_dense_backward, mode="db-wrong-axis")),
        Mistake("db-not-summed", "db is dZ itself",
                "b is shared by all samples, so its gradient adds up the contributions of "
                "every sample.", partial(_dense_backward, mode="db-not-summed")),
        Mistake("db-mean", "db is a mean instead of a sum", _NO_SECOND_1_OVER_N,
                partial(_dense_backward, mode="db-mean")),
        Mistake("dw-extra-1-over-n", "dW is divided by n", _NO_SECOND_1_OVER_N,
                partial(_dense_backward, mode="dw-extra-1-over-n")),
    ))


# ---------------------------------------------------------------------------------------
# log_softmax
# ---------------------------------------------------------------------------------------


def _log_softmax_visible() -> list[Case]:
    return [
        Case((np.array([[1.0, 2.0, 3.0], [0.5, -0.5, 0.0]]),), label="2 samples, 3 classes"),
        Case((fixed(30, (4, 5), scale=2.0),), label="4 samples, 5 classes"),
        Case((np.array([[1000.0, 990.0, 1001.0, -5.0]]),),
             label="logits near 1000: exp(1000) overflows"),
    ]


def _log_softmax_hidden(rng: np.random.Generator) -> list[Case]:
    cases = []
    for i in range(N_HIDDEN):
        n, k = int(rng.integers(1, 7)), int(rng.integers(2, 11))
        scale = [1.0, 5.0, 300.0, 1000.0][i % 4]
        Z = rng.normal(0.0, scale, (n, k)) + (800.0 if i % 5 == 2 else 0.0)
        cases.append(Case((Z,), label=f"{shapes_label(Z=Z)}, logits of size about {scale:g}"))
    return cases


def _log_softmax(Z, *, mode="ref"):
    Z = as_f64(Z)
    if mode == "no-max-shift":
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            return Z - np.log(np.exp(Z).sum(axis=1, keepdims=True))
    if mode == "max-over-wrong-axis":
        shifted = Z - Z.max(axis=0, keepdims=True)
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            return shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    shifted = Z - Z.max(axis=1, keepdims=True)
    if mode == "sum-over-wrong-axis":
        return shifted - np.log(np.exp(shifted).sum(axis=0, keepdims=True))
    if mode == "softmax-not-log":
        return np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
    raise ValueError(mode)


LOG_SOFTMAX = Entry.simple(
    "log_softmax", refimpl.log_softmax, _log_softmax_visible, _log_softmax_hidden,
    summary="log_softmax(Z) -> Z - log(sum(exp(Z))) row by row, stable for logits of 1e3",
    details="A result that overflows (inf or nan) fails even where the formula is right: "
            "subtract each row's maximum first.",
    input_hints=in_place_hints("Z"),
    mistakes=tuple(
        Mistake(slug, name, hint, partial(_log_softmax, mode=slug))
        for slug, name, hint in (
            ("no-max-shift", "exp of the raw logits (no max subtracted)",
             "exp(1000) overflows to inf: subtract each row's maximum from Z first; "
             "log-softmax does not change when a row is shifted."),
            ("max-over-wrong-axis", "the maximum of each column instead of each row",
             "Only a constant per ROW (per sample) leaves the softmax unchanged: take the "
             "maximum over the classes, axis=1."),
            ("sum-over-wrong-axis", "the sum over the samples instead of the classes",
             "Each sample's probabilities add up to 1: sum exp over axis=1, keepdims=True."),
            ("softmax-not-log", "the probabilities instead of their logarithm",
             "Return log P, that is shifted - log(sum(exp(shifted))), not P."),
        )))


# ---------------------------------------------------------------------------------------
# softmax_cross_entropy_backward
# ---------------------------------------------------------------------------------------


def _sce_backward_visible() -> list[Case]:
    return [
        Case((np.array([[2.0, 1.0, 0.1], [0.5, 2.5, -1.0]]), _fixed_one_hot([0, 2], 3)),
             label="2 samples, 3 classes"),
        Case((fixed(31, (4, 4)), _fixed_one_hot([3, 0, 1, 1], 4)),
             label="4 samples, 4 classes"),
        Case((fixed(32, (5, 3)), _fixed_one_hot([1, 1, 0, 2, 2], 3)),
             label="5 samples, 3 classes"),
    ]


def _sce_backward_hidden(rng: np.random.Generator) -> list[Case]:
    cases = []
    for i in range(N_HIDDEN):
        n, k = [1, 3, 4, 6, 8][i % 5], int(rng.integers(2, 11))
        Z = rng.normal(0.0, [1.0, 3.0, 50.0][i % 3], (n, k))
        cases.append(Case((Z, _one_hot(rng, n, k)), label=f"n = {n}, k = {k}"))
    return cases


def _sce_backward(Z, Y, *, mode="ref"):
    Z, Y = as_f64(Z), as_f64(Y)
    E = np.exp(Z - Z.max(axis=1, keepdims=True))
    P = E / E.sum(axis=1, keepdims=True)
    n = Z.shape[0]
    return {
        "missing-1-over-n": P - Y,
        "sign-flip": (Y - P) / n,
        "mean-over-all-entries": (P - Y) / Y.size,
        "logits-instead-of-probabilities": (Z - Y) / n,
        "extra-softmax-prime": (P - Y) * P * (1 - P) / n,
    }[mode]


SOFTMAX_CROSS_ENTROPY_BACKWARD = Entry.simple(
    "softmax_cross_entropy_backward", refimpl.softmax_cross_entropy_backward,
    _sce_backward_visible, _sce_backward_hidden,
    summary="softmax_cross_entropy_backward(Z, Y) -> dZ = (softmax(Z) - Y) / n",
    input_hints=in_place_hints("Z", "Y"),
    mistakes=tuple(
        Mistake(slug, name, hint, partial(_sce_backward, mode=slug))
        for slug, name, hint in (
            ("missing-1-over-n", "the 1/n of the mean loss is missing",
             "The loss is a MEAN over the n samples (rows), so dZ carries a factor 1/n."),
            ("sign-flip", "Y - P instead of P - Y",
             "The gradient points uphill: raising the logit of the true class lowers the "
             "loss, so its entry of dZ is negative."),
            ("mean-over-all-entries", "divided by n * k instead of n",
             "The mean runs over the n samples only; each row's sum over the k classes is "
             "part of one sample's loss."),
            ("logits-instead-of-probabilities", "Z - Y instead of softmax(Z) - Y",
             "Compare probabilities with the one-hot targets: P = softmax(Z) first."),
            ("extra-softmax-prime", "an extra factor P (1 - P)",
             "For softmax + cross-entropy the softmax derivative cancels: (P - Y) / n is the "
             "whole gradient, as y_hat - y was for sigmoid + BCE."),
        )))


# ---------------------------------------------------------------------------------------
# classifier_gradients
# ---------------------------------------------------------------------------------------


#: The reference layers a network's gradients are built from (and the functions they call).
_LAYERS = ("relu_backward", "dense_backward", "log_softmax", "softmax_cross_entropy_backward",
           "softmax", "dense_forward", "relu", "relu_prime")


def _gradients_case(rng: np.random.Generator, n: int, sizes: list[int], label: str) -> Case:
    X = np.round(rng.normal(size=(n, sizes[0])), 2)
    params = {k: np.round(v, 2) for k, v in random_params(rng, sizes, zero_bias=False).items()}
    return Case((X, _one_hot(rng, n, sizes[-1]), params), label=label)


def _classifier_gradients_visible() -> list[Case]:
    rng = np.random.default_rng(33)
    return [
        _gradients_case(rng, 4, [3, 5, 4], "layers [3, 5, 4], 4 samples"),
        _gradients_case(rng, 6, [2, 4, 4, 3], "layers [2, 4, 4, 3], 6 samples"),
        _gradients_case(rng, 1, [4, 3, 5], "layers [4, 3, 5], one sample"),
    ]


def _classifier_gradients_hidden(rng: np.random.Generator) -> list[Case]:
    cases = []
    for i in range(N_HIDDEN):
        sizes = [int(rng.integers(1, 6)) for _ in range(2 + i % 3)] + [int(rng.integers(2, 8))]
        n = int(rng.integers(1, 8))
        cases.append(_gradients_case(rng, n, sizes, f"layers {sizes}, {n} samples"))
    return cases


def _classifier_gradients(X, Y, params, *, mode="ref"):
    X, Y = as_f64(X), as_f64(Y)
    n_layers = len(params) // 2
    A, cache = X, {"A0": X}
    for l in range(1, n_layers + 1):
        Z = A @ params[f"W{l}"] + params[f"b{l}"]
        cache[f"Z{l}"] = Z
        if l < n_layers:
            A = cache[f"A{l}"] = np.maximum(Z, 0.0)
    shifted = Z - Z.max(axis=1, keepdims=True)
    log_P = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    P = np.exp(log_P)
    n = X.shape[0]
    loss = float(-np.sum(Y * log_P) / n)
    dZ = P - Y if mode == "missing-1-over-n" else (P - Y) / n
    grads = {}
    for l in range(n_layers, 0, -1):
        A_prev = cache[f"Z{l - 1}"] if mode == "dw-uses-z" and l > 1 else cache[f"A{l - 1}"]
        grads[f"W{l}"], grads[f"b{l}"] = A_prev.T @ dZ, dZ.sum(axis=0)
        if l > 1:
            dA = dZ @ params[f"W{l}"].T
            dZ = dA if mode == "missing-relu-backward" else dA * (cache[f"Z{l - 1}"] > 0)
    if mode == "loss-sum":
        loss *= n
    return loss, {key: grads[key] for key in params}


CLASSIFIER_GRADIENTS = Entry.simple(
    "classifier_gradients", refimpl.classifier_gradients, _classifier_gradients_visible,
    _classifier_gradients_hidden,
    summary="classifier_gradients(X, Y, params) -> (loss, grads): the mean cross-entropy of "
            "a ReLU network with a softmax output, and dL/dW, dL/db of every layer",
    output=TupleOf((Leaf("loss", scalar=True),
                    grads_spec(None))),
    diagnose=layer_diagnose, part_order=layer_order,
    input_hints=in_place_hints("X", "Y", "params"),
    uses=_LAYERS,
    mistakes=(
        Mistake("missing-1-over-n", "the 1/n of the mean loss is missing in dZ",
                "The loss is a MEAN over the samples: the output delta is (P - Y) / n.",
                partial(_classifier_gradients, mode="missing-1-over-n")),
        Mistake("missing-relu-backward", "the ReLU derivative is skipped between layers",
                "Going down through A = relu(Z), dZ = relu_backward(dA_prev, Z) of the layer "
                "below.", partial(_classifier_gradients, mode="missing-relu-backward")),
        Mistake("dw-uses-z", "dW uses the pre-activation Z of the layer below, not A",
                "The input of layer l is A{l-1} = relu(Z{l-1}): dense_backward needs A_prev.",
                partial(_classifier_gradients, mode="dw-uses-z")),
        Mistake("loss-sum", "the loss is a sum over the samples, not a mean",
                "Return the MEAN cross-entropy over the n samples.",
                partial(_classifier_gradients, mode="loss-sum")),
    ))


# ---------------------------------------------------------------------------------------
# train_classifier
# ---------------------------------------------------------------------------------------

#: A seeded digits run must reach this held-out accuracy (the reference reaches it on every
#: drawn split by a margin: splits where it does not are drawn again).
HELD_OUT_ACCURACY = 0.95
DIGITS_SIZES, DIGITS_LR, DIGITS_EPOCHS, DIGITS_BATCH = [64, 32, 10], 0.1, 30, 32


def _train_visible() -> list[Case]:
    rng = np.random.default_rng(34)
    cases = []
    for n, sizes, lr, epochs, batch, label in (
            (10, [3, 4, 3], 0.5, 3, 4, "10 samples in batches of 4 (the last one of 2), "
                                        "3 epochs"),
            (6, [2, 5, 2], 0.2, 2, 6, "6 samples, one batch of 6, 2 epochs"),
            (7, [4, 3, 3, 4], 0.3, 2, 3, "7 samples, layers [4, 3, 3, 4], batches of 3")):
        X = np.round(rng.normal(size=(n, sizes[0])), 2)
        params = {k: np.round(v, 2) for k, v in random_params(rng, sizes, zero_bias=False).items()}
        cases.append(Case((X, _one_hot(rng, n, sizes[-1]), params, lr, epochs, batch, 7),
                          label=f"{label}, seed 7"))
    return cases


def _digits_case(rng: np.random.Generator) -> Case:
    """Training on the digits, on a split where the reference generalises."""
    while True:
        seed = int(rng.integers(2**31))
        X, X_test, labels, labels_test = refimpl.load_digits_split(seed)
        params = refimpl.init_mlp(DIGITS_SIZES, seed=seed)
        Y = refimpl.one_hot(labels)
        trained, _ = _train_reference(X, Y, params, DIGITS_LR, DIGITS_EPOCHS, DIGITS_BATCH, seed)
        right = refimpl.label_accuracy(refimpl.predict_labels(X_test, trained), labels_test)
        if right >= HELD_OUT_ACCURACY + 0.005:
            return Case((X, Y, params, DIGITS_LR, DIGITS_EPOCHS, DIGITS_BATCH, seed),
                        label="the digits, then a held-out test",
                        private={"held_out": (X_test, labels_test)})


def _train_hidden(rng: np.random.Generator) -> list[Case]:
    cases = [_digits_case(rng)]
    while len(cases) < N_HIDDEN:
        n, batch, epochs = int(rng.integers(1, 12)), int(rng.integers(1, 6)), int(
            rng.integers(1, 4))
        sizes = [int(rng.integers(1, 5)), int(rng.integers(1, 5)), int(rng.integers(2, 5))]
        X = rng.normal(size=(n, sizes[0]))
        params = random_params(rng, sizes, zero_bias=False)
        cases.append(Case((X, _one_hot(rng, n, sizes[-1]), params, float(rng.uniform(0.05, 0.5)),
                           epochs, batch, int(rng.integers(100))),
                          label=f"n = {n}, batches of {batch}, {epochs} epochs"))
    return cases


def _train_reference(X, Y, params, lr, epochs, batch_size, seed):
    """refimpl.train_classifier with the exercise's seven parameters (no record_params)."""
    return refimpl.train_classifier(X, Y, params, lr, epochs, batch_size, seed)


def _train_postcheck(out: Any, case: Case) -> None:
    """A trained digit classifier must label the held-out images right."""
    held_out = case.private.get("held_out")
    trained = None if held_out is None else trained_params(out, case.args[2])
    if trained is None:
        return
    X_test, labels_test = held_out
    correct = int(np.sum(refimpl.predict_labels(X_test, trained) == labels_test))
    if correct < HELD_OUT_ACCURACY * len(labels_test):
        raise LearnerProblem(
            f"After training, your network labels {correct} of {len(labels_test)} held-out "
            f"digits correctly; a correct train_classifier reaches at least "
            f"{round(100 * HELD_OUT_ACCURACY)} % on this split. Compare your loop with the "
            "visible cases: one rng for the whole run, one step per batch.", "property")


def _train(X, Y, params, lr, epochs, batch_size, seed, *, mode="ref"):
    X, Y = as_f64(X), as_f64(Y)
    current = {key: np.array(value, dtype=np.float64) for key, value in params.items()}
    rng = np.random.default_rng(seed)
    n, losses = X.shape[0], []
    for _ in range(epochs):
        if mode == "rng-per-epoch":
            rng = np.random.default_rng(seed)
        order = np.arange(n) if mode == "no-shuffle" else rng.permutation(n)
        size = n if mode == "full-batch" else batch_size
        for start in range(0, n, size):
            batch = order[start:start + size]
            loss, grads = _classifier_gradients(X[batch], Y[batch], current)
            step = -lr if mode == "ascent" else lr
            current = {key: current[key] - step * grads[key] for key in current}
            losses.append(loss)
    return current, {"loss": np.array(losses)}


TRAIN_CLASSIFIER = Entry.simple(
    "train_classifier", _train_reference, _train_visible, _train_hidden,
    summary="train_classifier(X, Y, params, lr, epochs, batch_size, seed) -> (trained_params, "
            "history): mini-batch SGD on the cross-entropy",
    tolerance_why="Sums in another order: the trajectories of correct implementations agree "
                  "to about 1e-12.",
    details='history["loss"] holds every batch\'s loss before its step, in order. Each epoch '
            "cuts rng.permutation(n) into consecutive batches of batch_size (as "
            "refimpl.minibatches does), with one rng = np.random.default_rng(seed) for the "
            "whole run. Hidden cases also train on "
            f"the digits and require at least {round(100 * HELD_OUT_ACCURACY)} % accuracy on "
            "held-out images.",
    output=TupleOf((
        DictOf("trained_params", None, label=lambda key: f'trained_params["{key}"]'),
        DictOf("history", ("loss",), label=lambda key: f'history["{key}"]',
               purpose='history["loss"] records the loss of every batch, before its step.'),
    )),
    rtol=1e-7, atol=1e-10, postcheck=_train_postcheck,
    input_hints={"params": "train_classifier must leave params as it was: build new arrays "
                           "each step (W = W - lr * dW)."} | in_place_hints("X", "Y"),
    uses=("classifier_gradients", "classifier_forward", "cross_entropy", "minibatches",
          "predict_labels",
          *_LAYERS),
    mistakes=tuple(
        Mistake(slug, name, hint, partial(_train, mode=slug))
        for slug, name, hint in (
            ("no-shuffle", "the batches are taken in the data's order",
             "Shuffle every epoch: order = rng.permutation(n), then batches of consecutive "
             "entries of order."),
            ("rng-per-epoch", "the generator is made again every epoch",
             "Make rng = np.random.default_rng(seed) ONCE, before the first epoch: made again "
             "each epoch, it repeats the same order."),
            ("full-batch", "one batch of all samples per epoch",
             "One step per mini-batch of batch_size samples: an epoch has ceil(n / "
             "batch_size) steps."),
            ("ascent", "a step uphill (+ instead of -)",
             "The gradient points uphill; descent goes the other way."),
        )))


ENTRIES = (RELU_BACKWARD, DENSE_BACKWARD, LOG_SOFTMAX, SOFTMAX_CROSS_ENTROPY_BACKWARD,
           CLASSIFIER_GRADIENTS, TRAIN_CLASSIFIER)
