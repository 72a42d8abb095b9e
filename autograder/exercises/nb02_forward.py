"""Notebook 02, the forward pass: dense_forward, forward_231, predict.

Each exercise is one ``Entry``: its cases, then its wrong versions, then the declaration
(reference, cases, tolerance, known mistakes, the words of its check's docstring).
"""

from __future__ import annotations

from functools import partial

import numpy as np

import refimpl
from autograder.checks.types import Case, DictOf, Leaf, Mistake, TupleOf
from autograder.exercises.entry import Entry
from autograder.exercises.shared_cases import (
    N_HIDDEN,
    array,
    first_wrong_sentence,
    fixed,
    in_place_hints,
    params_231,
    random_params,
    random_X,
    shapes_label,
    study_sleep,
)
from autograder.exercises.shared_mistakes import any_matmul_error, as_f64

# ---------------------------------------------------------------------------------------
# dense_forward
# ---------------------------------------------------------------------------------------


def _dense_forward_visible() -> list[Case]:
    return [
        Case((array([[1.0, 2.0], [-1.0, 0.5], [0.0, 0.0], [3.0, -2.0]]),
              array([[0.5, -1.0, 0.2], [0.3, 0.8, -0.6]]), array([0.1, -0.2, 0.3])),
             label="4 samples, 2 inputs -> 3 units"),
        Case((fixed(1, (2, 3)), fixed(2, (3, 3)), array([0.5, -0.5, 0.0])),
             label="square W (3, 3)"),
        Case((array([[0.5, -1.5]]), fixed(3, (2, 4)), array([0.1, 0.2, -0.3, 0.4])),
             label="one sample, 2 inputs -> 4 units"),
    ]


def _dense_forward_hidden(rng: np.random.Generator) -> list[Case]:
    cases = []
    for i in range(N_HIDDEN):
        n, d_in = int(rng.integers(1, 7)), int(rng.integers(1, 6))
        d_out = d_in if i % 4 == 1 else int(rng.integers(1, 6))
        X, W, b = rng.normal(size=(n, d_in)), rng.normal(size=(d_in, d_out)), rng.normal(size=d_out)
        cases.append(Case((X, W, b), label=shapes_label(X=X, W=W, b=b)))
    return cases


def _dense_forward(X, W, b, *, mode="ref"):
    if mode == "bias-missing":
        return X @ W
    if mode == "transposed":
        return X @ W.T + b
    if mode == "activation":
        return refimpl.relu(X @ W + b)
    raise ValueError(mode)


DENSE_FORWARD = Entry.simple(
    "dense_forward", refimpl.dense_forward, _dense_forward_visible, _dense_forward_hidden,
    summary="dense_forward(X, W, b) = X @ W + b",
    input_hints=in_place_hints("X", "W", "b"),
    mistakes=(
        Mistake("bias-missing", "the bias is missing",
                "Z = X @ W + b: every unit has its own bias.",
                partial(_dense_forward, mode="bias-missing")),
        Mistake("w-transposed", "W transposed",
                "X is (n, d_in) and W is (d_in, d_out): Z must be (n, d_out). Check the "
                "order of the product and any .T.",
                partial(_dense_forward, mode="transposed"), any_matmul_error),
        Mistake("activation-applied", "an activation is applied",
                "dense_forward returns the pre-activation Z; the activation comes after, "
                "in a separate step.", partial(_dense_forward, mode="activation")),
    ))


# ---------------------------------------------------------------------------------------
# forward_231
# ---------------------------------------------------------------------------------------


def _forward_231_visible() -> list[Case]:
    X1, _ = study_sleep(4, seed=1, standardize=False)
    X2, _ = study_sleep(6, seed=2)
    X3, _ = study_sleep(1, seed=3)
    return [
        Case((X1, params_231(0, [0.1, -0.2, 0.05], 0.1)), label="4 students, raw hours"),
        Case((X2, params_231(1, [0.2, 0.0, -0.3], -0.1)),
             label="6 students, standardized features"),
        Case((X3, params_231(2, [-0.1, 0.3, 0.1], 0.2)), label="one student (n = 1)"),
    ]


def _forward_231_hidden(rng: np.random.Generator) -> list[Case]:
    cases = []
    for i in range(N_HIDDEN):
        n = [1, 2, 3, 5, 8][i % 5]
        X = random_X(rng, n, 2, zero_row=False)
        cases.append(Case((X, random_params(rng, [2, 3, 1], False)), label=f"n = {n}"))
    return cases


_FORWARD_ORDER = ('cache["Z1"]', 'cache["A1"]', 'cache["Z2"]', "y_hat")


def _forward_order(name: str) -> int:
    return _FORWARD_ORDER.index(name) if name in _FORWARD_ORDER else len(_FORWARD_ORDER)


def _forward_diagnose(correct: list[str], wrong: list[str]) -> str | None:
    first = next((name for name in _FORWARD_ORDER if name in wrong), None)
    return None if first is None else first_wrong_sentence(first)


def _forward_231(X, params, *, hidden_activation=None, output=None, bias=True,
                 transposed=False):
    hidden_activation = hidden_activation or refimpl.relu
    output = output or refimpl.sigmoid
    X = as_f64(X)
    W1, W2 = params["W1"], params["W2"]
    b1, b2 = (params["b1"], params["b2"]) if bias else (0.0, 0.0)
    Z1 = X @ (W1.T if transposed else W1) + b1
    A1 = hidden_activation(Z1)
    Z2 = A1 @ W2 + b2
    A2 = output(Z2)
    return A2, {"X": X, "Z1": Z1, "A1": A1, "Z2": Z2, "A2": A2}


FORWARD_231 = Entry.simple(
    "forward_231", refimpl.forward_231, _forward_231_visible, _forward_231_hidden,
    summary='forward_231(X, params) -> (y_hat, cache): y_hat and cache["Z1"], cache["A1"], '
            'cache["Z2"]',
    output=TupleOf((
        Leaf("y_hat"),
        DictOf("cache", ("Z1", "A1", "Z2"),
               purpose="The backward pass needs Z1, A1 and Z2: store them in the cache dict."),
    )),
    diagnose=_forward_diagnose, input_hints=in_place_hints("X", "params"),
    part_order=_forward_order, uses=("relu", "sigmoid", "dense_forward"),
    mistakes=(
        Mistake("hidden-relu-missing", "the hidden layer has no activation",
                "A1 is the hidden layer's output AFTER its ReLU.",
                partial(_forward_231, hidden_activation=refimpl.identity)),
        Mistake("output-sigmoid-missing", "the output sigmoid is missing",
                "y_hat is a probability in (0, 1): the output layer applies sigmoid to Z2.",
                partial(_forward_231, output=refimpl.identity)),
        Mistake("sigmoid-in-hidden", "sigmoid in the hidden layer",
                "The hidden layer of the 2-3-1 network uses ReLU; only the output uses "
                "sigmoid.", partial(_forward_231, hidden_activation=refimpl.sigmoid)),
        Mistake("relu-on-output", "ReLU on the output",
                "The output is a probability: which activation maps any number into (0, 1)?",
                partial(_forward_231, output=refimpl.relu)),
        Mistake("bias-missing", "the biases are missing",
                "Z = A_prev @ W + b in both layers.", partial(_forward_231, bias=False)),
        Mistake("w-transposed", "W1 transposed",
                "X is (n, 2) and W1 is (2, 3): Z1 must be (n, 3). Check the product and any "
                ".T.", partial(_forward_231, transposed=True), any_matmul_error),
    ))


# ---------------------------------------------------------------------------------------
# predict (notebook 07 checks it again)
# ---------------------------------------------------------------------------------------


def _predict_params() -> dict[str, np.ndarray]:
    """Round weights whose predictions spread over (0, 1), none close to a threshold."""
    return {"W1": array([[0.8, -0.5, 0.3], [0.4, 0.6, -0.7]]), "b1": array([-2.0, 0.5, 1.0]),
            "W2": array([[0.9], [-0.6], [0.5]]), "b2": array([-0.4])}


def _predict_visible() -> list[Case]:
    X = array([[2.0, 9.0], [8.0, 7.5], [5.0, 4.0], [1.0, 3.5], [6.5, 9.5], [3.0, 6.0],
               [2.5, 5.0]])
    return [
        Case((X, _predict_params()), label="7 students, the default threshold 0.5"),
        Case((X, _predict_params(), 0.3), label="the same 7 students, threshold 0.3"),
        Case((X[:1], _predict_params(), 0.7), label="one student, threshold 0.7"),
    ]


def _predict_hidden(rng: np.random.Generator) -> list[Case]:
    cases = []
    while len(cases) < N_HIDDEN:
        n = [1, 3, 5, 8][len(cases) % 4]
        X = rng.uniform(0.0, 10.0, (n, 2))
        params = random_params(rng, [2, 3, 1], False)
        threshold = float(np.round(rng.uniform(0.2, 0.8), 2))
        y_hat, _ = refimpl.forward_231(X, params)
        if np.min(np.abs(y_hat - threshold)) < 1e-6:
            continue  # a tie at the threshold is a matter of convention, not of correctness
        cases.append(Case((X, params, threshold), label=f"n = {n}, a random threshold"))
    return cases


def _predict(X, params, threshold=0.5, *, mode="ref"):
    y_hat, cache = refimpl.forward_231(X, params)
    if mode == "probabilities":
        return y_hat
    if mode == "inverted":
        return (y_hat < threshold).astype(np.float64)
    if mode == "threshold-ignored":
        return (y_hat >= 0.5).astype(np.float64)
    if mode == "logit":
        return (cache["Z2"] >= threshold).astype(np.float64)
    raise ValueError(mode)


PREDICT = Entry.simple(
    "predict", refimpl.predict, _predict_visible, _predict_hidden,
    summary="predict(X, params, threshold=0.5) -> (n, 1) floats, 1.0 where y_hat >= threshold",
    input_hints=in_place_hints("X", "params"),
    uses=("forward_231", "relu", "sigmoid", "dense_forward"),
    mistakes=(
        Mistake("predict-returns-probabilities", "probabilities instead of labels",
                "predict turns each probability into a decision: 1.0 for pass, 0.0 for fail.",
                partial(_predict, mode="probabilities")),
        Mistake("predict-inverted", "the labels are swapped",
                "A student passes when the probability is AT LEAST the threshold.",
                partial(_predict, mode="inverted")),
        Mistake("threshold-ignored", "the threshold argument is ignored",
                "Compare with the threshold you were given, not with a fixed 0.5.",
                partial(_predict, mode="threshold-ignored")),
        Mistake("threshold-on-logit", "the logit Z2 is compared with the threshold",
                "The threshold is a probability: compare it with y_hat = sigmoid(Z2).",
                partial(_predict, mode="logit")),
    ))


ENTRIES = (DENSE_FORWARD, FORWARD_231, PREDICT)
