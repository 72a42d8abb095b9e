"""Notebook 06, backpropagation: backward_231 (the 2-3-1 network, loss "mse" or "bce"),
gradient_errors (the gradient check), backward_tanh_231 (the method carried over to a network
the notebook does not show: a tanh hidden layer, BCE).

Each exercise is one ``Entry``: its cases, then its wrong versions, then the declaration
(reference, cases, tolerance, known mistakes, the words of its check's docstring). Notebook 06
teaches the backward pass of one layer (``dW = A_prev.T @ dZ``); notebook 09 checks it as
``dense_backward`` (``nb09_classifier``).
"""

from __future__ import annotations

from dataclasses import replace
from functools import partial

import numpy as np

import refimpl
from autograder.checks.exercise import Exercise
from autograder.checks.types import Case, DictOf, Mistake
from autograder.exercises.entry import Entry
from autograder.exercises.shared_cases import (
    N_HIDDEN,
    grads_spec,
    in_place_hints,
    layer_diagnose,
    layer_order,
    params_231,
    random_params,
    random_X,
    study_sleep,
)
from autograder.exercises.shared_mistakes import (
    hidden_delta,
    matmul_error_with_w2,
    sum_bias,
)

# ---------------------------------------------------------------------------------------
# backward_231: cases
# ---------------------------------------------------------------------------------------


def _backward_231_case(n: int, seed: int, loss: str, zero_row: bool, label: str) -> Case:
    X, y = study_sleep(n, seed)
    if zero_row:
        X[1] = 0.0
    params = params_231(seed, [0.0, 0.1, -0.1] if zero_row else [0.1, -0.2, 0.05], 0.05)
    _, cache = refimpl.forward_231(X, params)
    return Case((X, y, params, cache), label=label, options={"loss": loss})


def _backward_231_visible(loss: str) -> list[Case]:
    return [
        _backward_231_case(5, 4, loss, True,
                           "5 students, X[1] = 0 and b1[0] = 0, so Z1 has exact zeros"),
        _backward_231_case(4, 5, loss, False, "4 students"),
        _backward_231_case(7, 6, loss, False, "7 students"),
    ]


def _backward_231_hidden(rng: np.random.Generator, loss: str) -> list[Case]:
    cases = []
    for i in range(N_HIDDEN):
        n = [1, 3, 4, 2, 6, 5, 8][i % 7]
        zeros = i % 2 == 0
        X = random_X(rng, n, 2, zero_row=zeros and n > 1)
        params = random_params(rng, [2, 3, 1], zero_bias=zeros)
        y = rng.integers(0, 2, (n, 1)).astype(np.float64)
        _, cache = refimpl.forward_231(X, params)
        cases.append(Case((X, y, params, cache), label=f"n = {n}", options={"loss": loss}))
    return cases


# ---------------------------------------------------------------------------------------
# backward_231: the reference formulas with one thing changed
# ---------------------------------------------------------------------------------------


def _hidden_delta_231(dA1, Z1, A1, deriv, hidden):
    """dZ1 from dA1, as hidden_delta has it, or with two mistakes of a tanh layer: relu'
    (``deriv="relu-prime"``) or 1 - Z1**2 (``"tanh-of-z"``) as its derivative."""
    if deriv == "relu-prime":
        return dA1 * refimpl.relu_prime(Z1)
    if deriv == "tanh-of-z":
        return dA1 * (1 - Z1**2)
    return hidden_delta(dA1, Z1, A1, deriv, hidden)


def _backward_231(X, y, params, cache, loss="mse", *, out="ref", factor=1.0,
                  w2_transposed=True, deriv="ref", db="ref", dw_transposed=False,
                  dw2_input="A1", dw1_input="X", hidden="relu"):
    n = X.shape[0]
    y_hat, Z2 = cache["A2"], cache["Z2"]
    sp = refimpl.sigmoid_prime(Z2)
    if out == "ref":
        out = "mse" if loss == "mse" else "shortcut"
    dZ2 = {
        "mse": 2 * (y_hat - y) * sp / n,
        "shortcut": (y_hat - y) / n,
        "no-sigmoid-prime": 2 * (y_hat - y) / n,
        "shortcut-times-sigmoid-prime": (y_hat - y) * sp / n,
    }[out] * factor
    W2 = params["W2"]
    dA1 = dZ2 @ (W2.T if w2_transposed else W2)
    dZ1 = _hidden_delta_231(dA1, cache["Z1"], cache["A1"], deriv, hidden)
    A_for_dW2 = cache["A1"] if dw2_input == "A1" else cache["Z1"]
    A_for_dW1 = X if dw1_input == "X" else cache["A1"]

    def weight_grad(A_prev, dZ):
        return dZ.T @ A_prev if dw_transposed else A_prev.T @ dZ

    return {"W1": weight_grad(A_for_dW1, dZ1), "b1": sum_bias(dZ1, db),
            "W2": weight_grad(A_for_dW2, dZ2), "b2": sum_bias(dZ2, db)}


def _missing_n_variant(X, y, params, cache, loss="mse"):
    return _backward_231(X, y, params, cache, loss, factor=float(X.shape[0]))


# The mistakes of both losses: at the output (1/n, sign) and in the hidden layer.
_MISSING_1_OVER_N = Mistake(
    "missing-1-over-n", "the 1/n of the mean loss is missing",
    "The loss is a MEAN over the n samples, so dZ2 carries a factor 1/n.", _missing_n_variant)
_SIGN_FLIP = Mistake(
    "sign-flip", "every gradient has the wrong sign",
    "The gradient points uphill: check the order in (y_hat - y) and any minus sign.",
    partial(_backward_231, factor=-1.0))
_HIDDEN_LAYER = (
    Mistake("w2-not-transposed", "W2 instead of its transpose when going back to layer 1",
            "dA1 must have the shape of A1, (n, 3); dZ2 is (n, 1) and W2 is (3, 1). Which "
            "product of those two has shape (n, 3)?",
            partial(_backward_231, w2_transposed=False), matmul_error_with_w2),
    Mistake("missing-relu-prime", "the ReLU derivative is missing in the hidden layer",
            "Between dA1 and dZ1 the chain rule passes through A1 = relu(Z1): what is "
            "dA1/dZ1?", partial(_backward_231, deriv="missing")),
    Mistake("relu-instead-of-relu-prime", "the activation itself instead of its derivative",
            "dZ1 = dA1 * (the derivative of relu at Z1), not the value of relu: the "
            "derivative is 0 or 1.", partial(_backward_231, deriv="activation")),
    Mistake("relu-prime-at-zero", "relu'(0) taken as 1",
            "This course uses relu'(0) = 0: the mask keeps only the strictly positive "
            "entries of Z1 (look at your comparison operator).",
            partial(_backward_231, deriv="relu-at-zero")),
    Mistake("sigmoid-prime-in-hidden", "the sigmoid derivative in the hidden (ReLU) layer",
            "Each layer uses the derivative of ITS OWN activation: the hidden layer is ReLU.",
            partial(_backward_231, deriv="sigmoid")),
    Mistake("db-wrong-axis", "the bias gradient is summed over the wrong axis",
            "db has one entry per unit of the layer: which axis of dZ runs over the samples?",
            partial(_backward_231, db="wrong-axis")),
    Mistake("db-keepdims", "the bias gradient keeps a 2-D shape",
            "grads['b1'] must have the shape of params['b1'], (3,): a 1-D array.",
            partial(_backward_231, db="keepdims")),
    Mistake("dw-transposed", "the weight gradient is transposed",
            "dW must have the shape of W, (d_in, d_out): check the order of the product "
            "of the layer input and dZ.", partial(_backward_231, dw_transposed=True)),
    Mistake("dw2-uses-z1", "dW2 uses the pre-activation Z1 instead of A1",
            "The input of layer 2 is what layer 1 outputs after its activation.",
            partial(_backward_231, dw2_input="Z1")),
    Mistake("dw1-uses-a1", "dW1 uses A1 instead of the layer's input X",
            "dW of a layer multiplies dZ of that layer by the layer's INPUT (A_prev).",
            partial(_backward_231, dw1_input="A1")),
)

_BACKWARD_231_MISTAKES = {
    "mse": (
        Mistake("missing-sigmoid-prime", "sigma'(Z2) is missing at the output (MSE)",
                "With MSE, dL/dZ2 = dL/dy_hat * dy_hat/dZ2: the sigmoid derivative does NOT "
                "cancel (it only does for BCE).", partial(_backward_231, out="no-sigmoid-prime")),
        Mistake("bce-shortcut-with-mse", "the BCE shortcut y_hat - y used with MSE",
                "dZ2 = (y_hat - y) / n is exact for sigmoid + BCE only; derive dL/dZ2 for MSE "
                "with the chain rule.", partial(_backward_231, out="shortcut")),
        _MISSING_1_OVER_N,
        Mistake("missing-factor-2", "the factor 2 of the squared error is missing",
                "The derivative of (y_hat - y)**2 is 2 (y_hat - y); this course's MSE has "
                "no 1/2.", partial(_backward_231, factor=0.5)),
        _SIGN_FLIP,
        *_HIDDEN_LAYER,
    ),
    "bce": (
        Mistake("extra-sigmoid-prime", "sigma'(Z2) applied on top of y_hat - y (BCE)",
                "For sigmoid + BCE the sigmoid derivative cancels: dL/dZ2 = (y_hat - y) / n "
                "already includes it.", partial(_backward_231, out="shortcut-times-sigmoid-prime")),
        Mistake("mse-gradient-with-bce", "the MSE output gradient used with BCE",
                "The output delta depends on the loss: derive dL/dZ2 for BCE.",
                partial(_backward_231, out="mse")),
        _MISSING_1_OVER_N,
        Mistake("extra-factor-2", "an extra factor 2 at the output",
                "The factor 2 comes from the square in MSE; BCE has no square.",
                partial(_backward_231, factor=2.0)),
        _SIGN_FLIP,
        *_HIDDEN_LAYER,
    ),
}


def _backward_231_exercise(loss: str = "mse") -> Exercise:
    if loss not in _BACKWARD_231_MISTAKES:
        raise ValueError(f"loss must be 'mse' or 'bce', got {loss!r}")
    return Exercise("backward_231", f"backward_231_{loss}", f"backward_231 (loss={loss!r})",
                    refimpl.backward_231, partial(_backward_231_visible, loss),
                    partial(_backward_231_hidden, loss=loss),
                    output=grads_spec(("W1", "b1", "W2", "b2")), rtol=1e-6, atol=1e-9,
                    mistakes=_BACKWARD_231_MISTAKES[loss], diagnose=layer_diagnose,
                    part_order=layer_order,
                    input_hints=in_place_hints("X", "y", "params", "cache"))


BACKWARD_231 = Entry(
    _backward_231_exercise,
    summary='backward_231(X, y, params, cache) -> grads for loss "mse" or "bce"',
    details="``loss`` is passed on only if the learner's function has a ``loss`` parameter.",
    configurations=({"loss": "mse"}, {"loss": "bce"}))


# ---------------------------------------------------------------------------------------
# gradient_errors
# ---------------------------------------------------------------------------------------


class _Loss231:
    """loss_fn(params) -> float: the 2-3-1 network's loss on fixed data (a named callable)."""

    def __init__(self, X: np.ndarray, y: np.ndarray, loss: str) -> None:
        self.X, self.y, self.loss = X, y, loss
        self.__name__ = f"the {loss.upper()} of the 2-3-1 network on {X.shape[0]} students"

    def __call__(self, params: dict) -> float:
        return refimpl.loss_231(self.X, self.y, params, loss=self.loss)


def _gradient_errors_case(X, y, params, loss: str, grads: dict, h: float | None,
                          label: str) -> Case:
    args = (_Loss231(X, y, loss), params, grads) + (() if h is None else (h,))
    return Case(args, label=label)


def _grads_231(X, y, params, loss: str) -> dict[str, np.ndarray]:
    _, cache = refimpl.forward_231(X, params)
    return refimpl.backward_231(X, y, params, cache, loss=loss)


def _gradient_errors_visible() -> list[Case]:
    X, y = study_sleep(6, seed=8)
    dead = params_231(8, [0.2, -0.1, -5.0], 0.1)  # unit 3 never fires: exact zero gradients
    params = params_231(9, [0.3, 0.2, 0.1], -0.2)
    shortcut = _grads_231(X, y, params, "bce")
    sign = _grads_231(X, y, params, "bce")
    sign["W2"] = -sign["W2"]
    return [
        _gradient_errors_case(X, y, dead, "bce", _grads_231(X, y, dead, "bce"), None,
                              "correct BCE gradients; hidden unit 3 is dead (exact zeros)"),
        _gradient_errors_case(X, y, params, "mse", shortcut, None,
                              "the BCE shortcut (y_hat - y) / n used for an MSE loss"),
        _gradient_errors_case(X, y, params, "bce", sign, 1e-4,
                              "dW2 with the wrong sign, h = 1e-4"),
    ]


def _gradient_errors_hidden(rng: np.random.Generator) -> list[Case]:
    cases = []
    while len(cases) < N_HIDDEN:
        i = len(cases)
        n = [1, 3, 4, 6, 8][i % 5]
        X = rng.normal(size=(n, 2))
        params = random_params(rng, [2, 3, 1], False)
        if i % 3 == 0:
            params["b1"][rng.integers(3)] = -50.0  # a dead unit: exact zero gradients
        loss = ["bce", "mse"][i % 2]
        y = rng.integers(0, 2, (n, 1)).astype(np.float64)
        Z1 = X @ params["W1"] + params["b1"]
        grads = _grads_231(X, y, params, loss)
        nonzero = np.concatenate([np.abs(g).ravel() for g in grads.values()])
        nonzero = nonzero[nonzero > 0]
        if np.min(np.abs(Z1)) < 1e-2 or nonzero.size == 0 or nonzero.min() < 1e-3:
            continue  # a ReLU kink within reach of h, or gradients too small to compare
        kind = i % 4
        if kind == 1:  # the other loss's output delta
            grads = _grads_231(X, y, params, "mse" if loss == "bce" else "bce")
        elif kind == 2:  # one parameter with the wrong sign
            key = str(rng.choice(list(grads)))
            grads[key] = -grads[key]
        elif kind == 3:  # one entry off
            key = str(rng.choice(list(grads)))
            grads[key] = grads[key].copy()
            grads[key].flat[rng.integers(grads[key].size)] += rng.choice([-1, 1]) * 0.05
        h = [None, 1e-4, None, 1e-6][i % 4]
        cases.append(_gradient_errors_case(X, y, params, loss, grads, h,
                                           "random gradients of a random network"))
    return cases


def _gradient_errors(loss_fn, params, grads, h=1e-5, *, mode="ref"):
    if mode == "not-restored":
        work = params  # the caller's arrays: perturbed and left perturbed
    else:
        work = {key: np.array(value, dtype=np.float64) for key, value in params.items()}
    errors = {}
    for key in params:
        x = work[key]
        g_num = np.zeros(np.shape(x))
        for i in np.ndindex(*np.shape(x)):
            old = x[i]
            x[i] = old + h
            f_plus = loss_fn(work)
            if mode == "forward":
                x[i] = old
                g_num[i] = (f_plus - loss_fn(work)) / h
                continue
            x[i] = old - h
            f_minus = loss_fn(work)
            if mode != "not-restored":
                x[i] = old
            g_num[i] = (f_plus - f_minus) / (2 * h)
        g = np.asarray(grads[key], dtype=np.float64)
        diff = np.abs(g - g_num)
        if mode == "absolute":
            entrywise = diff
        elif mode == "no-floor":
            entrywise = diff / (np.abs(g) + np.abs(g_num))
        elif mode == "max-denominator":  # CS231n's convention, not this course's
            entrywise = diff / np.maximum(np.maximum(np.abs(g), np.abs(g_num)), 1e-8)
        else:
            entrywise = diff / np.maximum(np.abs(g) + np.abs(g_num), 1e-8)
        if mode == "not-reduced":
            errors[key] = entrywise
        else:
            errors[key] = float(np.mean(entrywise) if mode == "mean" else np.max(entrywise))
    return errors


GRADIENT_ERRORS = Entry.simple(
    "gradient_errors", refimpl.gradient_errors, _gradient_errors_visible,
    _gradient_errors_hidden,
    summary="gradient_errors(loss_fn, params, grads, h=1e-5) -> {name: max relative error}",
    tolerance_why="A correct gradient's relative error is rounding noise (about 1e-11 / "
                  "|gradient entry|, below 1e-7 here): two correct implementations may differ "
                  "there by orders of magnitude, so every error below about atol counts as "
                  "\"passes the gradient check\" and as equal. Larger errors (wrong gradients) "
                  "are computed stably and must agree to rtol.",
    details="params must be left as it was (bit for bit).",
    output=DictOf("errors", None, label=lambda key: f'errors["{key}"]', scalar=True),
    rtol=1e-3, atol=1e-6,
    input_hints=in_place_hints("params", "grads") | {
        "params": "gradient_errors may perturb params while it works but must put back every "
                  "entry it changes (save old = x[i], restore x[i] = old), or perturb a copy."},
    uses=("numerical_gradient", "numerical_gradients", "relative_error"),
    mistakes=(
        Mistake("forward-difference", "a forward difference instead of a central one",
                "Evaluate the loss on BOTH sides of each entry, at +h and -h, and divide by "
                "2h: the forward difference is far less accurate.",
                partial(_gradient_errors, mode="forward")),
        Mistake("absolute-error", "the absolute error instead of the relative one",
                "Divide |g - g_num| by max(|g| + |g_num|, 1e-8): a relative error means the "
                "same for large and small gradients.", partial(_gradient_errors, mode="absolute")),
        Mistake("max-instead-of-sum", "divides by max(|g|, |g_num|) instead of |g| + |g_num|",
                "Compare your denominator with the one in the notebook's formula for e: other "
                "texts (CS231n) use another one, which gives up to twice this course's number.",
                partial(_gradient_errors, mode="max-denominator")),
        Mistake("mean-instead-of-max", "the mean over the entries instead of the maximum",
                "One wrong entry must show: report the LARGEST entrywise error of each "
                "parameter.", partial(_gradient_errors, mode="mean")),
        Mistake("errors-not-reduced", "one error per entry instead of one per parameter",
                "errors[name] is a single number: the largest entrywise error of that "
                "parameter.", partial(_gradient_errors, mode="not-reduced")),
        Mistake("relative-error-without-floor", "0 / 0 for entries that are exactly 0",
                "A dead ReLU unit has gradient entries that are exactly 0, analytic AND "
                "numerical: divide by max(|g| + |g_num|, 1e-8), not by |g| + |g_num|.",
                partial(_gradient_errors, mode="no-floor")),
        Mistake("params-not-restored", "params is left perturbed",
                "After the two evaluations of an entry, put its old value back (old = x[i]; "
                "...; x[i] = old), or perturb a copy of params.",
                partial(_gradient_errors, mode="not-restored")),
    ))


# ---------------------------------------------------------------------------------------
# backward_tanh_231: the method carried over to a network the notebook does not show
# ---------------------------------------------------------------------------------------


def _backward_tanh_231_reference(X, y, params):
    """The gradients of the BCE of the 2-3-1 network with a tanh hidden layer and a sigmoid
    output: refimpl.mlp_forward and refimpl.mlp_backward with hidden="tanh"."""
    _, cache = refimpl.mlp_forward(X, params, hidden="tanh")
    return refimpl.mlp_backward(X, y, params, cache, loss="bce", hidden="tanh")


def _tanh_231_case(n: int, seed: int, w1_scale: float, label: str) -> Case:
    X, y = study_sleep(n, seed)
    params = params_231(seed, [0.1, -0.2, 0.05], 0.05)
    params["W1"] = params["W1"] * w1_scale
    return Case((X, y, params), label=label)


def _backward_tanh_231_visible() -> list[Case]:
    return [
        _tanh_231_case(5, 4, 1.0, "5 students"),
        _tanh_231_case(4, 5, 4.0, "4 students, W1 four times larger: tanh saturates"),
        _tanh_231_case(7, 6, 1.0, "7 students"),
    ]


def _backward_tanh_231_hidden(rng: np.random.Generator) -> list[Case]:
    cases = []
    for i in range(N_HIDDEN):
        n = [1, 3, 4, 2, 6, 5, 8][i % 7]
        X = random_X(rng, n, 2, zero_row=False)
        params = random_params(rng, [2, 3, 1], zero_bias=False)
        if i % 3 == 2:  # saturated units: tanh' near 0, far from 1 - Z1**2
            params["W1"] *= 4.0
        y = rng.integers(0, 2, (n, 1)).astype(np.float64)
        cases.append(Case((X, y, params), label=f"n = {n}"))
    return cases


def _forward_hidden_231(X, params, hidden):
    Z1 = X @ params["W1"] + params["b1"]
    A1 = refimpl.ACTIVATIONS[hidden](Z1)
    Z2 = A1 @ params["W2"] + params["b2"]
    return {"X": X, "Z1": Z1, "A1": A1, "Z2": Z2, "A2": refimpl.sigmoid(Z2)}


def _backward_tanh_231(X, y, params, *, hidden="tanh", **changed):
    """backward_tanh_231 with one thing changed: the hidden activation of the whole network
    (``hidden="relu"``), or one of ``_backward_231``'s (``deriv="tanh-of-z"``, ...)."""
    cache = _forward_hidden_231(X, params, hidden)
    return _backward_231(X, y, params, cache, "bce", hidden=hidden, **changed)


def _backward_tanh_231_missing_n(X, y, params):
    return _backward_tanh_231(X, y, params, factor=float(X.shape[0]))


#: The mistakes of backward_231 (loss "bce") that a tanh network can repeat, by slug: the
#: same words, made again in backward_tanh_231.
_BCE_MISTAKES = {m.slug: m for m in _BACKWARD_231_MISTAKES["bce"]}


def _repeated(slug: str, variant) -> Mistake:
    return replace(_BCE_MISTAKES[slug], variant=variant)


BACKWARD_TANH_231 = Entry.simple(
    "backward_tanh_231", _backward_tanh_231_reference, _backward_tanh_231_visible,
    _backward_tanh_231_hidden,
    summary="backward_tanh_231(X, y, params) -> grads of the BCE of a 2-3-1 network with a "
            "tanh hidden layer and a sigmoid output, against refimpl.mlp_backward "
            '(hidden="tanh")',
    tolerance_why="Tighter than backward_231's: a smooth network has no ReLU kink, so a "
                  "central-difference estimate of the gradient (relative error 1e-10 to "
                  "1e-8) could pass a loose tolerance, and this exercise asks for the backward "
                  "pass. Honest float64 versions of the formulas agree far closer (measured: "
                  "tanh and sigmoid from exp, the unfused chain rule through BCE's "
                  "1 / (y_hat (1 - y_hat)), 1 / cosh(Z1)**2 for tanh').",
    details="The function does its own forward pass: Z1 = X @ W1 + b1, A1 = tanh(Z1), "
            "Z2 = A1 @ W2 + b2, y_hat = sigmoid(Z2).",
    output=grads_spec(("W1", "b1", "W2", "b2")), rtol=1e-9, atol=1e-12,
    diagnose=layer_diagnose, part_order=layer_order,
    input_hints=in_place_hints("X", "y", "params"),
    mistakes=(
        Mistake("tanh-prime-of-z", "tanh' computed from Z1 (1 - Z1**2) instead of from A1",
                "tanh'(z) = 1 - tanh(z)**2 squares the tanh of z, not z itself: which of your "
                "arrays already holds tanh(Z1)?",
                partial(_backward_tanh_231, deriv="tanh-of-z")),
        Mistake("relu-prime-in-tanh-layer", "relu' (of Exercises 1 and 3) in the tanh layer",
                "Each layer uses the derivative of ITS OWN activation: this hidden layer is "
                "tanh, whose slope changes smoothly with z instead of being a 0/1 mask.",
                partial(_backward_tanh_231, deriv="relu-prime")),
        Mistake("relu-network", "the ReLU network of Exercises 1 and 3, not the tanh one",
                "Start with the forward pass: this network's hidden activation is tanh, and "
                "the backward pass needs that activation's derivative.",
                partial(_backward_tanh_231, hidden="relu")),
        Mistake("tanh-instead-of-tanh-prime", "the activation itself instead of its derivative",
                "dZ1 is dA1 times the SLOPE of tanh at Z1, not its value.",
                partial(_backward_tanh_231, deriv="activation")),
        Mistake("missing-tanh-prime", "the tanh derivative is missing in the hidden layer",
                "Between dA1 and dZ1 the chain rule passes through A1 = tanh(Z1): what is "
                "dA1/dZ1?", partial(_backward_tanh_231, deriv="missing")),
        _repeated("mse-gradient-with-bce", partial(_backward_tanh_231, out="mse")),
        _repeated("extra-sigmoid-prime",
                  partial(_backward_tanh_231, out="shortcut-times-sigmoid-prime")),
        _repeated("missing-1-over-n", _backward_tanh_231_missing_n),
        _repeated("sign-flip", partial(_backward_tanh_231, factor=-1.0)),
        _repeated("w2-not-transposed", partial(_backward_tanh_231, w2_transposed=False)),
        _repeated("dw2-uses-z1", partial(_backward_tanh_231, dw2_input="Z1")),
        _repeated("db-wrong-axis", partial(_backward_tanh_231, db="wrong-axis")),
    ))


ENTRIES = (BACKWARD_231, GRADIENT_ERRORS, BACKWARD_TANH_231)
