"""Notebook 01, the neuron: relu, sigmoid, neuron.

Each exercise is one ``Entry``: its cases, then its wrong versions, then the declaration
(reference, cases, tolerance, known mistakes, the words of its check's docstring).
"""

from __future__ import annotations

from functools import partial

import numpy as np

import refimpl
from autograder.checks import formatting as fmt
from autograder.checks.exercise import Exercise
from autograder.checks.types import Case, Mistake
from autograder.exercises.entry import Entry
from autograder.exercises.shared_cases import (
    N_HIDDEN,
    array,
    in_place_hints,
    random_shape,
    shapes_label,
    sprinkle_zeros,
)
from autograder.exercises.shared_mistakes import any_matmul_error, as_f64

# ---------------------------------------------------------------------------------------
# relu
# ---------------------------------------------------------------------------------------


def _relu_visible() -> list[Case]:
    return [
        Case((array(-1.5),), label="scalar (0-d array)"),
        Case((array([-2.0, -0.5, 0.0, 0.5, 3.0]),), label="1-D with a zero"),
        Case((array([[-1.0, 0.0, 2.0], [3.0, -0.5, 0.0]]),), label="2-D with zeros"),
        Case((array([[-3.0], [-2.0], [-0.001], [-7.0]]),), label="an all-negative column"),
        Case((array([1e6, -1e6, 1e-8, -1e-8]),), label="huge and tiny values"),
    ]


def _relu_hidden(rng: np.random.Generator) -> list[Case]:
    cases = []
    for i in range(N_HIDDEN):
        shape = random_shape(rng, i)
        Z = sprinkle_zeros(rng, rng.normal(0.0, 10.0 ** rng.uniform(-2, 2), shape))
        cases.append(Case((Z,), label=f"Z of shape {fmt.shape(shape)}"))
    return cases


def _relu_mask(Z):
    return (as_f64(Z) > 0).astype(np.float64)


def _relu_min(Z):
    return np.minimum(as_f64(Z), 0.0)


def _relu_abs(Z):
    return np.abs(as_f64(Z))


def _relu_builtin_max(Z):
    return max(0, Z)


def _relu_in_place(Z):
    Z[Z < 0] = 0
    return Z


RELU = Entry.simple(
    "relu", refimpl.relu, _relu_visible, _relu_hidden,
    summary="relu(Z) = max(Z, 0) entrywise",
    input_hints={"Z": "Z[Z < 0] = 0 writes into the caller's array; build a new array instead "
                      "(np.maximum, np.where)."},
    mistakes=(
        Mistake("relu-returns-mask", "the mask Z > 0 instead of the values",
                "relu keeps the positive entries of Z with their values: relu(3.0) is 3.0, "
                "not 1.", _relu_mask),
        Mistake("relu-min-not-max", "the minimum instead of the maximum",
                "relu(Z) keeps positive values and turns negative ones into 0: which of "
                "min/max with 0 does that?", _relu_min),
        Mistake("relu-builtin-max", "Python's built-in max(0, Z)",
                "The built-in max compares two whole objects, not entries: max(0, Z) gives "
                "the int 0 or Z itself, and for an array of several entries it cannot decide "
                "at all (the truth value of an array is ambiguous). Which NumPy function "
                "compares entry by entry?", _relu_builtin_max),
        Mistake("relu-abs", "the absolute value",
                "Negative inputs must give 0, not their size.", _relu_abs),
        Mistake("relu-in-place", "the input array is modified (Z[Z < 0] = 0)",
                "Whoever called relu(Z) still needs their Z: return a new array and leave "
                "the argument as it was.", _relu_in_place),
    ))


# ---------------------------------------------------------------------------------------
# sigmoid
# ---------------------------------------------------------------------------------------


def _sigmoid_visible() -> list[Case]:
    return [
        Case((array(0.0),), label="z = 0 (0-d array)"),
        Case((array([-2.0, -1.0, 0.0, 1.0, 2.0]),), label="1-D around 0"),
        Case((array([-1000.0, -30.0, 30.0, 1000.0]),), label="z = +-1000 and +-30"),
        Case((array([[0.5, -0.5, 3.0], [-3.0, 10.0, -10.0]]),), label="2-D"),
    ]


def _sigmoid_hidden(rng: np.random.Generator) -> list[Case]:
    cases = []
    for i in range(N_HIDDEN):
        shape = random_shape(rng, i)
        Z = rng.normal(0.0, 3.0, shape)
        if i % 3 == 2 and Z.size > 1:  # beyond +-709, where exp(-z) or exp(z) overflows
            Z.flat[0] = (-1.0 if i % 2 else 1.0) * rng.uniform(750.0, 1000.0)
        cases.append(Case((Z,), label=f"Z of shape {fmt.shape(shape)}"))
    return cases


def _sigmoid_exp_sign(Z):
    return 1.0 / (1.0 + np.exp(as_f64(Z)))


def _sigmoid_tanh(Z):
    return np.tanh(as_f64(Z))


def _sigmoid_minus(Z):
    return 1.0 / (1.0 - np.exp(-as_f64(Z)))


def _sigmoid_missing_one(Z):
    return 1.0 / np.exp(-as_f64(Z))


def _sigmoid_derivative(Z):
    s = refimpl.sigmoid(Z)
    return s * (1.0 - s)


def _sigmoid_overflows(Z):
    return 1.0 / (1.0 + np.exp(-as_f64(Z)))


SIGMOID = Entry.simple(
    "sigmoid", refimpl.sigmoid, _sigmoid_visible, _sigmoid_hidden,
    summary="sigmoid(Z) = 1 / (1 + exp(-Z)), including z = +-1000",
    details="The function must not overflow: an overflow inside it fails the case even when "
            "the values are right ([sigmoid-overflow]), because a notebook shows it as a "
            "RuntimeWarning. (Nothing leaks: the check records NumPy's report instead of "
            "printing it.)",
    input_hints=in_place_hints("Z"), forbid_fp_errors=("overflow",),
    mistakes=(
        Mistake("sigmoid-exp-sign", "exp(z) instead of exp(-z)",
                "sigmoid(z) must grow with z: sigmoid(5) is close to 1. Check the sign "
                "inside exp.", _sigmoid_exp_sign),
        Mistake("sigmoid-tanh", "tanh instead of the logistic sigmoid",
                "sigmoid(0) is 0.5 and its outputs lie between 0 and 1; tanh is a different "
                "function.", _sigmoid_tanh),
        Mistake("sigmoid-minus-in-denominator", "1 - exp(-z) in the denominator",
                "Check the operator between 1 and exp(-z) in the denominator.",
                _sigmoid_minus),
        Mistake("sigmoid-missing-one", "the 1 + in the denominator is missing",
                "sigmoid(0) must be 0.5: look at the denominator.", _sigmoid_missing_one),
        Mistake("sigmoid-derivative", "the derivative sigmoid'(z) instead of sigmoid(z)",
                "sigmoid(0) is 0.5, and s * (1 - s) is its derivative, not the function.",
                _sigmoid_derivative),
        Mistake("sigmoid-overflow", "exp(-z) overflows for very negative z",
                "1 / (1 + exp(-z)) computes exp(1000) = inf for z = -1000: the value happens "
                "to be right, but NumPy warns. For each sign of z there is a form of sigmoid "
                "that only ever exponentiates a number <= 0. Careful: np.where computes BOTH "
                "of its branches for every entry before choosing.",
                _sigmoid_overflows),
    ))


# ---------------------------------------------------------------------------------------
# neuron
# ---------------------------------------------------------------------------------------


def _activation_label(activation: object) -> str:
    if activation is None:
        return "default activation"
    if isinstance(activation, str):
        return f"activation={activation!r}"
    return f"activation={getattr(activation, '__name__', 'a function')}"


def _neuron_case(X, w, b, activation, label) -> Case:
    kwargs = {} if activation is None else {"activation": activation}
    return Case((X, w, b), kwargs, label=f"{label}, {_activation_label(activation)}")


def _neuron_visible(activations: tuple) -> list[Case]:
    data = [
        (array([[1.0, 2.0], [-1.0, 0.5], [0.0, 0.0], [3.0, -2.0]]), array([0.5, -1.0]),
         0.25, "4 samples, 2 features"),
        (array([[0.2, -1.0, 0.5], [1.5, 0.3, -0.8], [-0.6, 0.9, 1.1]]),
         array([0.7, -0.4, 0.9]), -0.2, "square X (3, 3)"),
        (array([[0.5, -1.5, 2.0]]), array([1.0, 0.5, -0.25]), 1.0, "one sample, 3 features"),
    ]
    return [_neuron_case(X, w, b, activations[k % len(activations)], label)
            for k, (X, w, b, label) in enumerate(data)]


def _neuron_hidden(rng: np.random.Generator, activations: tuple) -> list[Case]:
    cases = []
    for i in range(N_HIDDEN):
        d = int(rng.integers(1, 5))
        n = [1, d, int(rng.integers(2, 8))][i % 3]
        X, w, b = rng.normal(size=(n, d)), rng.normal(size=d), float(rng.normal())
        cases.append(_neuron_case(X, w, b, activations[i % len(activations)],
                                  shapes_label(X=X, w=w)))
    return cases


def _activation(activation):
    return refimpl.ACTIVATIONS[activation] if isinstance(activation, str) else activation


def _neuron(X, w, b, activation="sigmoid", *, mode="ref"):
    f = _activation(activation)
    X, w = as_f64(X), as_f64(w)
    if mode == "no-activation":
        return X @ w + b
    if mode == "bias-after":
        return f(X @ w) + b
    if mode == "transposed":
        return f(X.T @ w + b)
    if mode == "elementwise":
        return f(X * w + b)
    raise ValueError(mode)


_NEURON_MISTAKES = (
    Mistake("activation-not-applied", "the activation is not applied",
            "A neuron outputs f(z), not z.", partial(_neuron, mode="no-activation")),
    Mistake("bias-after-activation", "the bias is added after the activation",
            "The bias is part of the pre-activation z, which goes into f.",
            partial(_neuron, mode="bias-after")),
    Mistake("neuron-transposed", "X transposed in the product with w",
            "X is (n, d_in) and w is (d_in,): one output per sample (row). Check the "
            "order of the product and any .T.",
            partial(_neuron, mode="transposed"), any_matmul_error),
    Mistake("elementwise-not-dot", "X * w instead of a product that sums over features",
            "Each sample's z is a weighted SUM over its features: one number per row.",
            partial(_neuron, mode="elementwise")),
)


def _neuron_exercise(activations: tuple = ("sigmoid", "relu")) -> Exercise:
    activations = tuple(activations) or (None,)
    return Exercise("neuron", "neuron", "neuron", refimpl.neuron,
                    partial(_neuron_visible, activations),
                    partial(_neuron_hidden, activations=activations),
                    input_hints=in_place_hints("X", "w"),
                    mistakes=_NEURON_MISTAKES, uses=("relu", "sigmoid"))


NEURON = Entry(
    _neuron_exercise,
    summary="neuron(X, w, b, activation) = f(X @ w + b), shape (n,)",
    details="``activations``: what the cases pass as ``activation`` (names or functions), in "
            "turn; ``(None,)`` calls ``neuron(X, w, b)`` with the learner's default activation "
            "(sigmoid).")


ENTRIES = (RELU, SIGMOID, NEURON)
