"""Notebook 08, why backprop: mlp_forward, mlp_backward (any depth), gd_step.

Each exercise is one ``Entry``: its cases, then its wrong versions, then the declaration
(reference, cases, tolerance, known mistakes, the words of its check's docstring).

The hidden layers' activation is the option ``hidden_activation`` of the checks; the learner's
``mlp_forward`` and ``mlp_backward`` receive it as ``hidden=`` (the notebooks' name), so the
cases' ``learner_options`` (``Case.options``) and the wrong versions call it ``hidden``.
"""

from __future__ import annotations

import re
from functools import partial

import numpy as np

import refimpl
from autograder.checks.exercise import Exercise
from autograder.checks.types import Case, DictOf, Leaf, Mistake, TupleOf
from autograder.exercises.entry import Entry
from autograder.exercises.shared_cases import (
    N_HIDDEN,
    array,
    first_wrong_sentence,
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
    any_matmul_error,
    as_f64,
    hidden_delta,
    matmul_error_with_upper_w,
    sum_bias,
)

# ---------------------------------------------------------------------------------------
# mlp_forward
# ---------------------------------------------------------------------------------------


def _mlp_forward_visible(learner_options: dict) -> list[Case]:
    X4, _ = study_sleep(4, seed=14)
    X5, _ = study_sleep(5, seed=15)
    rng = np.random.default_rng(16)
    X3 = np.round(rng.normal(size=(3, 3)), 2)
    deep = {key: np.round(v, 2)
            for key, v in random_params(rng, [3, 4, 4, 1], zero_bias=False).items()}
    return [
        Case((X4, {"W1": array([[0.8], [-0.5]]), "b1": array([0.1])}),
             label="layers [2, 1]: one layer, logistic regression", options=learner_options),
        Case((X5, params_231(15, [0.1, -0.2, 0.3], 0.05)),
             label="layers [2, 3, 1], 5 students", options=learner_options),
        Case((X3, deep), label="layers [3, 4, 4, 1]: a square hidden layer",
             options=learner_options),
    ]


def _mlp_forward_hidden(rng: np.random.Generator, learner_options: dict) -> list[Case]:
    cases = []
    for i in range(N_HIDDEN):
        n = [1, 3, 4, 2, 6, 5, 7][i % 7]
        width = int(rng.integers(2, 6))
        hidden_sizes = [[], [int(rng.integers(1, 6))], [width, width],
                        [int(rng.integers(1, 6)), int(rng.integers(1, 6))]][i % 4]
        sizes = [int(rng.integers(1, 5)), *hidden_sizes, 1]
        X = random_X(rng, n, sizes[0], zero_row=False)
        params = random_params(rng, sizes, zero_bias=len(sizes) > 2 and i % 2 == 0)
        cases.append(Case((X, params), label=f"layers {sizes}, n = {n}",
                          options=learner_options))
    return cases


def _mlp_forward_order(name: str) -> tuple[int, int]:
    """Forward order: A0, Z1, A1, Z2, ... and y_hat last."""
    m = re.search(r'"([AZ])(\d+)"', name)
    if not m:
        return (10**6, 0)
    return (int(m.group(2)), 0 if m.group(1) == "Z" or m.group(2) == "0" else 1)


def _mlp_forward_diagnose(correct: list[str], wrong: list[str]) -> str | None:
    first = min(wrong, key=_mlp_forward_order, default=None)
    if first is None or first == "y_hat":
        return None
    return first_wrong_sentence(first)


def _mlp_forward(X, params, hidden="relu", output="sigmoid", *, mode="ref"):
    L = len(params) if mode == "keys-as-layers" else len(params) // 2
    f_hidden = refimpl.sigmoid if mode == "sigmoid-in-hidden" else refimpl.ACTIVATIONS[hidden]
    f_output = {"output-sigmoid-missing": refimpl.identity,
                "relu-on-output": refimpl.relu}.get(mode, refimpl.ACTIVATIONS[output])
    last = L - 1 if mode == "last-layer-skipped" else L  # range(1, L) instead of L + 1
    A = as_f64(X)
    cache = {"A0": A}
    for l in range(1, last + 1):
        W = params[f"W{l}"]
        Z = A @ (W.T if mode == "w-transposed" else W) + params[f"b{l}"]
        A = f_hidden(Z) if l < L else f_output(Z)
        cache[f"Z{l}"], cache[f"A{l}"] = Z, A
    return A, cache


_MLP_FORWARD_MISTAKES = (
    Mistake("sigmoid-in-hidden", "sigmoid in the hidden layers",
            "Hidden layers use the hidden activation (ReLU); only the output layer uses "
            "sigmoid.", partial(_mlp_forward, mode="sigmoid-in-hidden")),
    Mistake("output-sigmoid-missing", "the output sigmoid is missing",
            "y_hat is a probability: the LAST layer applies sigmoid to ZL.",
            partial(_mlp_forward, mode="output-sigmoid-missing")),
    Mistake("relu-on-output", "ReLU on the output layer",
            "The last layer is the output: it applies sigmoid, not the hidden activation.",
            partial(_mlp_forward, mode="relu-on-output")),
    Mistake("last-layer-skipped", "the loop stops one layer early",
            "An MLP with params W1..WL has L = len(params) // 2 layers, and range(1, L) "
            "stops at L - 1: the output layer L must run too.",
            partial(_mlp_forward, mode="last-layer-skipped")),
    Mistake("layers-counted-as-keys", "len(params) taken as the number of layers",
            "params holds TWO arrays per layer (W and b): L = len(params) // 2.",
            partial(_mlp_forward, mode="keys-as-layers")),
    Mistake("w-transposed", "W transposed",
            "A_prev is (n, d_in) and W is (d_in, d_out): Z = A_prev @ W + b, no .T.",
            partial(_mlp_forward, mode="w-transposed"), any_matmul_error),
)


def _mlp_forward_exercise(hidden_activation: str = "relu", output: str = "sigmoid") -> Exercise:
    learner_options = {"hidden": hidden_activation, "output": output}
    title = "mlp_forward" + ("" if (hidden_activation, output) == ("relu", "sigmoid")
                             else f" (hidden={hidden_activation!r}, output={output!r})")
    return Exercise("mlp_forward", "mlp_forward", title, refimpl.mlp_forward,
                    partial(_mlp_forward_visible, learner_options),
                    partial(_mlp_forward_hidden, learner_options=learner_options),
                    output=TupleOf((
                        Leaf("y_hat"),
                        DictOf("cache", None, label=lambda key: f'cache["{key}"]',
                               purpose="mlp_backward needs A0 (= X) and every Zl and Al: "
                                       "store them in the cache dict."),
                    )),
                    mistakes=_MLP_FORWARD_MISTAKES, diagnose=_mlp_forward_diagnose,
                    part_order=_mlp_forward_order, input_hints=in_place_hints("X", "params"),
                    uses=("relu", "sigmoid", "dense_forward"))


MLP_FORWARD = Entry(
    _mlp_forward_exercise,
    summary='mlp_forward(X, params) -> (y_hat, cache) on MLPs of 1, 2 and 3 layers: y_hat and '
            'cache["A0"] (= X), cache["Z1"], cache["A1"], ...',
    details="``hidden_activation`` and ``output`` are passed to the learner's function as "
            "``hidden=`` and ``output=`` only if it accepts them.")


# ---------------------------------------------------------------------------------------
# mlp_backward
# ---------------------------------------------------------------------------------------


def _mlp_case(X: np.ndarray, y: np.ndarray, params: dict, learner_options: dict,
              label: str) -> Case:
    _, cache = refimpl.mlp_forward(X, params, hidden=learner_options["hidden"],
                                   output=learner_options["output"])
    return Case((X, y, params, cache), label=label, options=learner_options)


def _mlp_targets(rng: np.random.Generator, n: int, k: int, output: str) -> np.ndarray:
    if output == "identity":
        return np.round(rng.normal(size=(n, k)), 2)
    return rng.integers(0, 2, (n, k)).astype(np.float64)


def _mlp_backward_visible(learner_options: dict) -> list[Case]:
    cases = []
    X, y = study_sleep(5, 7)
    X[1] = 0.0
    if learner_options["output"] == "identity":
        y = _mlp_targets(np.random.default_rng(7), 5, 1, "identity")
    params = params_231(7, [0.0, 0.1, -0.1], 0.05)
    cases.append(_mlp_case(X, y, params, learner_options,
                           "layers [2, 3, 1], 5 students, exact zeros in Z1"))
    for k, (sizes, n) in enumerate((([3, 4, 4, 1], 4), ([2, 5, 3, 1], 6))):
        rng = np.random.default_rng(20 + k)
        X = np.round(random_X(rng, n, sizes[0], zero_row=k == 0), 2)
        params = {key: np.round(v, 2)
                  for key, v in random_params(rng, sizes, zero_bias=k == 0).items()}
        y = _mlp_targets(rng, n, 1, learner_options["output"])
        zeros = ", exact zeros in Z1" if k == 0 else ""
        cases.append(_mlp_case(X, y, params, learner_options,
                               f"layers {sizes}, {n} samples{zeros}"))
    rng = np.random.default_rng(22)  # two outputs: the mean runs over all n * d_L entries
    sizes, n = [2, 3, 2], 4
    X = np.round(random_X(rng, n, sizes[0], zero_row=False), 2)
    params = {key: np.round(v, 2) for key, v in random_params(rng, sizes, False).items()}
    y = _mlp_targets(rng, n, 2, learner_options["output"])
    cases.append(_mlp_case(X, y, params, learner_options, f"layers {sizes}: two outputs"))
    return cases


def _mlp_backward_hidden(rng: np.random.Generator, learner_options: dict) -> list[Case]:
    cases = []
    for i in range(N_HIDDEN):
        n = [1, 3, 4, 2, 6, 5, 7][i % 7]
        width = int(rng.integers(2, 6))
        hidden_sizes = [width, width] if i % 3 == 1 else [int(rng.integers(1, 6))
                                                          for _ in range(1 + i % 2)]
        outputs = 2 if i % 4 == 3 else 1
        sizes = [int(rng.integers(1, 5)), *hidden_sizes, outputs]
        zeros = i % 2 == 0
        X = random_X(rng, n, sizes[0], zero_row=zeros and n > 1)
        params = random_params(rng, sizes, zero_bias=zeros)
        y = _mlp_targets(rng, n, outputs, learner_options["output"])
        cases.append(_mlp_case(X, y, params, learner_options, f"layers {sizes}, n = {n}"))
    return cases


def _mlp_backward(X, y, params, cache, loss="bce", hidden="relu", output="sigmoid", *,
                  factor=1.0, extra_sigmoid_prime=False, w_transposed=True, deriv="ref",
                  dw_input="prev", db="ref"):
    L = len([k for k in params if k.startswith("W")])
    Z_L, A_L = cache[f"Z{L}"], cache[f"A{L}"]
    if loss == "bce":
        dZ = (A_L - y) / y.size
    else:
        dZ = 2 * (A_L - y) / y.size * refimpl.DERIVATIVES[output](Z_L)
    if extra_sigmoid_prime:
        dZ = dZ * refimpl.sigmoid_prime(Z_L)
    dZ = dZ * factor
    grads = {}
    for l in range(L, 0, -1):
        if dw_input == "own":
            A_in = cache[f"A{l}"]
        elif dw_input == "z" and l > 1:
            A_in = cache[f"Z{l - 1}"]
        else:
            A_in = cache[f"A{l - 1}"] if l > 1 else X
        grads[f"W{l}"] = A_in.T @ dZ
        grads[f"b{l}"] = sum_bias(dZ, db)
        if l > 1:
            W = params[f"W{l}"]
            dA = dZ @ (W.T if w_transposed else W)
            if deriv == "relu-at-zero" and hidden != "relu":
                dZ = hidden_delta(dA, cache[f"Z{l - 1}"], cache[f"A{l - 1}"], "ref", hidden)
            else:
                dZ = hidden_delta(dA, cache[f"Z{l - 1}"], cache[f"A{l - 1}"], deriv, hidden)
    return grads


def _mlp_missing_n(X, y, params, cache, loss="bce", hidden="relu", output="sigmoid"):
    return _mlp_backward(X, y, params, cache, loss, hidden, output, factor=float(y.size))


def _mlp_over_samples(X, y, params, cache, loss="bce", hidden="relu", output="sigmoid"):
    return _mlp_backward(X, y, params, cache, loss, hidden, output,
                         factor=float(np.shape(y)[1]) if np.ndim(y) == 2 else 1.0)


_MLP_BACKWARD_MISTAKES = (
    Mistake("w-not-transposed", "W instead of its transpose when going back a layer",
            "dA of the layer below must have that layer's shape (n, d_prev); dZ is "
            "(n, d) and W is (d_prev, d). Which product gives (n, d_prev)?",
            partial(_mlp_backward, w_transposed=False), matmul_error_with_upper_w),
    Mistake("missing-hidden-derivative", "the hidden activation's derivative is missing",
            "Going from dA to dZ in a hidden layer passes through its activation.",
            partial(_mlp_backward, deriv="missing")),
    Mistake("relu-prime-at-zero", "relu'(0) taken as 1",
            "This course uses relu'(0) = 0: only strictly positive entries pass.",
            partial(_mlp_backward, deriv="relu-at-zero")),
    Mistake("dw-uses-own-activation", "dW uses the layer's own output instead of its input",
            "dW of layer l multiplies dZ of layer l by the INPUT of layer l, A_(l-1).",
            partial(_mlp_backward, dw_input="own")),
    Mistake("dw-uses-z", "dW uses the pre-activation Z of the layer below",
            "The input of layer l is A_(l-1), the output AFTER the activation.",
            partial(_mlp_backward, dw_input="z")),
    Mistake("missing-1-over-n", "the 1/n of the mean loss is missing",
            "The loss is a MEAN: the output delta carries the 1/n.", _mlp_missing_n),
    Mistake("mean-over-samples-only", "the output delta divided by n, not by n * d_L",
            "With several outputs the loss is a mean over every entry of y, not only over "
            "the samples: how many entries does y have?", _mlp_over_samples),
    Mistake("sign-flip", "every gradient has the wrong sign",
            "The gradient points uphill: check the order in (y_hat - y).",
            partial(_mlp_backward, factor=-1.0)),
    Mistake("extra-sigmoid-prime", "sigma'(Z_L) applied on top of the output delta",
            "For sigmoid + BCE the sigmoid derivative cancels in dL/dZ_L.",
            partial(_mlp_backward, extra_sigmoid_prime=True)),
    Mistake("db-wrong-axis", "db is summed over the wrong axis",
            "db has one entry per unit: which axis of dZ runs over the samples?",
            partial(_mlp_backward, db="wrong-axis")),
)


def _mlp_backward_exercise(loss: str = "bce", hidden_activation: str = "relu",
                           output: str = "sigmoid") -> Exercise:
    learner_options = {"loss": loss, "hidden": hidden_activation, "output": output}
    title = "mlp_backward" + ("" if (loss, hidden_activation, output) == ("bce", "relu", "sigmoid")
                              else f" (loss={loss!r}, hidden={hidden_activation!r}, "
                                   f"output={output!r})")
    return Exercise("mlp_backward", "mlp_backward", title, refimpl.mlp_backward,
                    partial(_mlp_backward_visible, learner_options),
                    partial(_mlp_backward_hidden, learner_options=learner_options),
                    output=grads_spec(None),
                    rtol=1e-6, atol=1e-9, mistakes=_MLP_BACKWARD_MISTAKES,
                    diagnose=layer_diagnose, part_order=layer_order,
                    input_hints=in_place_hints("X", "y", "params", "cache"))


MLP_BACKWARD = Entry(
    _mlp_backward_exercise,
    summary="mlp_backward(X, y, params, cache, loss, hidden, output) -> grads on MLPs such as "
            "[2, 3, 1] and [3, 4, 4, 1]",
    details="``hidden_activation`` is passed to the learner's function as ``hidden=`` (the name "
            "``hidden`` is taken by hidden mode here); each option is passed only if the "
            "learner's function accepts it.")


# ---------------------------------------------------------------------------------------
# gd_step
# ---------------------------------------------------------------------------------------


def _gd_step_case(sizes: list[int], seed: int, lr: float, label: str) -> Case:
    rng = np.random.default_rng(seed)
    params = {k: np.round(v, 2) for k, v in random_params(rng, sizes, False).items()}
    grads = {k: np.round(rng.normal(0.0, 0.5, v.shape), 2) for k, v in params.items()}
    return Case((params, grads, lr), label=label)


def _gd_step_visible() -> list[Case]:
    return [
        _gd_step_case([2, 3, 1], 17, 0.1, "the 2-3-1 network, lr = 0.1"),
        _gd_step_case([3, 4, 4, 1], 18, 0.5, "layers [3, 4, 4, 1], lr = 0.5"),
        _gd_step_case([2, 1], 19, 2.5, "one layer, lr = 2.5"),
    ]


def _gd_step_hidden(rng: np.random.Generator) -> list[Case]:
    cases = []
    for i in range(N_HIDDEN):
        hidden_sizes = [[], [int(rng.integers(1, 6))], [3, 3]][i % 3]
        sizes = [int(rng.integers(1, 5)), *hidden_sizes, 1]
        params = random_params(rng, sizes, False)
        grads = {k: rng.normal(0.0, 0.5, v.shape) for k, v in params.items()}
        lr = float(rng.uniform(0.01, 2.0))
        cases.append(Case((params, grads, lr), label=f"layers {sizes}, a random lr"))
    return cases


def _gd_step(params, grads, lr, *, mode="ref"):
    if mode == "in-place":
        for key in params:
            params[key] -= lr * grads[key]
        return params
    if mode == "d-prefixed-keys":
        return {key: params[key] - lr * grads["d" + key] for key in params}
    if mode == "biases-not-updated":
        return {key: params[key] - lr * grads[key] if key.startswith("W") else params[key].copy()
                for key in params}
    if mode == "ascent":
        return {key: params[key] + lr * grads[key] for key in params}
    if mode == "lr-ignored":
        return {key: params[key] - grads[key] for key in params}
    raise ValueError(mode)


GD_STEP = Entry.simple(
    "gd_step", refimpl.gd_step, _gd_step_visible, _gd_step_hidden,
    summary="gd_step(params, grads, lr) -> new params, W - lr * dW for every key; params and "
            "grads must stay unchanged",
    output=DictOf("new_params", None, label=lambda key: f'new_params["{key}"]'),
    input_hints={"params": "gd_step returns NEW arrays: params[k] -= ... writes into the "
                           "caller's params; write params[k] - lr * grads[k] instead."}
    | in_place_hints("grads"),
    mistakes=(
        Mistake("gd-step-in-place", "params is updated in place",
                "params[k] -= ... writes into the caller's arrays, so their params change "
                "too: return new arrays and leave the ones you were given as they were.",
                partial(_gd_step, mode="in-place")),
        Mistake("gd-step-ascent", "a step uphill (+ instead of -)",
                "The gradient points uphill; descent goes the other way.",
                partial(_gd_step, mode="ascent")),
        Mistake("gd-step-lr-ignored", "the learning rate is not used",
                "Each parameter moves by lr times its gradient.",
                partial(_gd_step, mode="lr-ignored")),
        Mistake("grads-d-prefixed-keys", "grads looked up as grads['dW1']",
                "grads uses the SAME keys as params: grads['W1'] is dL/dW1.",
                partial(_gd_step, mode="d-prefixed-keys")),
        Mistake("biases-not-updated", "only the weights are updated",
                "Every parameter learns: the biases b1, b2, ... take a step too.",
                partial(_gd_step, mode="biases-not-updated")),
    ))


ENTRIES = (MLP_FORWARD, MLP_BACKWARD, GD_STEP)
