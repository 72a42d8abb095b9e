"""One check per exercise: ``check.relu(relu)``, ``check.backward_231(fn, loss="bce")``.

Every check compares the learner's function with the NumPy reference (``refimpl``) on a few
small fixed VISIBLE cases, or with ``hidden=True`` on 20 seeded-random HIDDEN cases whose
expected values never appear in a message. On success it prints one line; on failure it
raises ``CheckFailed`` (an ``AssertionError``) whose message explains what went wrong, where,
and which known mistake it looks like. ``evaluate(...)`` gives the ``CheckResult`` without
printing or raising (for graders and scripts).

Tolerances (``np.isclose(returned, expected, rtol, atol)``) are stated in each docstring
and in every failure message.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

import numpy as np

import refimpl
from autograder.checks import formatting as fmt
from autograder.checks.engine import (
    SCALAR,
    Case,
    CheckFailed,
    CheckResult,
    DictOf,
    Leaf,
    LearnerProblem,
    TupleOf,
    run_check,
    run_learner,
)
from autograder.checks.exercise import Exercise
from autograder.exercises import catalogue
from autograder.exercises.catalogue import mistakes_for
from autograder.exercises.value_programs import random_program, run_program, run_value_neuron_loss
from autograder.grading import policy

__all__ = [
    "CONFIGURATIONS",
    "EXERCISES",
    "N_HIDDEN",
    "Exercise",
    "Value",
    "accuracy",
    "backward_231",
    "bce",
    "bce_from_logits",
    "dense_backward",
    "dense_forward",
    "evaluate",
    "exercise",
    "forward_231",
    "gd_step",
    "gradient_descent",
    "gradient_errors",
    "mlp_backward",
    "mlp_forward",
    "mse",
    "neuron",
    "neuron_loss_grads",
    "numerical_derivative",
    "numerical_gradient",
    "predict",
    "relu",
    "sigmoid",
    "train",
    "value_neuron_loss",
]

N_HIDDEN = 20  # hidden cases per check

def run(exercise: Exercise, learner_fn: Any, *, hidden: bool = False,
        seed: int | None = None) -> CheckResult:
    """Check ``learner_fn`` on ``exercise``'s cases here, in the learner's process."""
    __tracebackhide__ = True
    cases = exercise.cases(hidden, seed)
    with (_reference_watch(exercise, learner_fn) as used,
          _earlier_exercises_from_reference(learner_fn, exercise.uses)):
        learner = run_learner(exercise, learner_fn, cases)
    result = run_check(exercise, cases, learner_fn=learner_fn, hidden=hidden, learner=learner)
    if not used:
        return result
    return CheckResult(exercise.name, False, (
        f"{exercise.title}: your {learner.fn_name} calls the reference implementation "
        f"refimpl.{used[0]}. That works here, but when the notebook is graded the "
        "reference is not available to this exercise, so this check would score 0 there. "
        "Write it yourself. [uses-reference]"), n_cases=len(cases), hidden=hidden,
        stage="reference-used")


def in_learner_kernel() -> bool:
    """Whether the checks run in a notebook or IPython (a learner's kernel, nbval,
    ``backprop-course check``), rather than in a script or a test of the course itself."""
    ipython = sys.modules.get("IPython")
    return ipython is not None and ipython.get_ipython() is not None


@contextmanager
def _reference_watch(exercise: Exercise, learner_fn: Any) -> Iterator[list[str]]:
    """The reference functions the learner's object is, or calls, that the trusted grader
    would refuse it (``autograder.grading.policy``): this check passing here would score 0
    there. Advice in the learner's own kernel; the grader does not rely on it."""
    used: list[str] = []
    inner = getattr(learner_fn, "func", learner_fn)
    if not in_learner_kernel() or getattr(inner, "__module__", None) == catalogue.__name__:
        yield used  # scripts and tests check the reference itself; a planted mistake
        return
    given = set(exercise.uses) | set(policy.SHIPPED.get(exercise.name, {}))
    watched = {code: name for name in policy.reference_names() if name not in given
               and exercise.name in policy.ANSWERS.get(name, {exercise.name})
               for code in policy.code_objects(getattr(refimpl, name))}
    used += [watched[code] for code in policy.code_objects(inner) if code in watched][:1]

    def on_call(frame, event, arg) -> None:
        if event == "call" and not used and frame.f_code in watched:
            used.append(watched[frame.f_code])

    previous = sys.getprofile()
    sys.setprofile(on_call)
    try:
        yield used
    finally:
        sys.setprofile(previous)


@contextmanager
def _earlier_exercises_from_reference(learner_fn: Any, names: tuple[str, ...]):
    """Grade one exercise at a time: while it runs, the learner's earlier functions that it
    may call (``relu`` inside ``forward_231``) are the reference ones, so that a mistake in
    ``relu`` costs the relu points only. The learner's own functions are put back afterwards.
    """
    namespace = getattr(learner_fn, "__globals__", None)
    if not isinstance(namespace, dict) or not names:
        yield
        return
    saved = {name: namespace[name] for name in names if name in namespace}
    try:
        for name in saved:
            namespace[name] = getattr(refimpl, name)
        yield
    finally:
        namespace.update(saved)


# ---------------------------------------------------------------------------------------
# Small helpers for building cases
# ---------------------------------------------------------------------------------------


def _a(values) -> np.ndarray:
    return np.array(values, dtype=np.float64)


def _fixed(seed: int, shape: tuple[int, ...], scale: float = 1.0) -> np.ndarray:
    """Readable fixed values (2 decimals) for visible cases."""
    return np.round(np.random.default_rng(seed).normal(0.0, scale, shape), 2)


def _random_shape(rng: np.random.Generator, i: int) -> tuple[int, ...]:
    """Cycles through 0-d, 1-D, 2-D, columns, rows and squares, with random sizes."""
    n, m = int(rng.integers(1, 7)), int(rng.integers(2, 7))
    return [(), (m,), (n, m), (m, 1), (1, m), (m, m), (n, m + 1)][i % 7]


def _sprinkle_zeros(rng: np.random.Generator, a: np.ndarray) -> np.ndarray:
    if a.size > 1:
        a[rng.random(a.shape) < 0.25] = 0.0
    return a


def _shapes_label(**arrays: Any) -> str:
    return ", ".join(f"{k} {fmt.shape(np.shape(v))}" for k, v in arrays.items())


# ---------------------------------------------------------------------------------------
# relu, sigmoid
# ---------------------------------------------------------------------------------------


def _relu_visible() -> list[Case]:
    return [
        Case((_a(-1.5),), label="scalar (0-d array)"),
        Case((_a([-2.0, -0.5, 0.0, 0.5, 3.0]),), label="1-D with a zero"),
        Case((_a([[-1.0, 0.0, 2.0], [3.0, -0.5, 0.0]]),), label="2-D with zeros"),
        Case((_a([[-3.0], [-2.0], [-0.001], [-7.0]]),), label="an all-negative column"),
        Case((_a([1e6, -1e6, 1e-8, -1e-8]),), label="huge and tiny values"),
    ]


def _relu_hidden(rng: np.random.Generator) -> list[Case]:
    cases = []
    for i in range(N_HIDDEN):
        shape = _random_shape(rng, i)
        Z = _sprinkle_zeros(rng, rng.normal(0.0, 10.0 ** rng.uniform(-2, 2), shape))
        cases.append(Case((Z,), label=f"Z of shape {fmt.shape(shape)}"))
    return cases


def _sigmoid_visible() -> list[Case]:
    return [
        Case((_a(0.0),), label="z = 0 (0-d array)"),
        Case((_a([-2.0, -1.0, 0.0, 1.0, 2.0]),), label="1-D around 0"),
        Case((_a([-1000.0, -30.0, 30.0, 1000.0]),), label="z = +-1000 and +-30"),
        Case((_a([[0.5, -0.5, 3.0], [-3.0, 10.0, -10.0]]),), label="2-D"),
    ]


def _sigmoid_hidden(rng: np.random.Generator) -> list[Case]:
    cases = []
    for i in range(N_HIDDEN):
        shape = _random_shape(rng, i)
        Z = rng.normal(0.0, 3.0, shape)
        if i % 3 == 2 and Z.size > 1:  # beyond +-709, where exp(-z) or exp(z) overflows
            Z.flat[0] = (-1.0 if i % 2 else 1.0) * rng.uniform(750.0, 1000.0)
        cases.append(Case((Z,), label=f"Z of shape {fmt.shape(shape)}"))
    return cases


# ---------------------------------------------------------------------------------------
# neuron, dense layer
# ---------------------------------------------------------------------------------------


def _activation_label(activation: Any) -> str:
    if activation is None:
        return "default activation"
    if isinstance(activation, str):
        return f"activation={activation!r}"
    return f"activation={getattr(activation, '__name__', 'a function')}"


def _neuron_case(X, w, b, activation, label) -> Case:
    kwargs = {} if activation is None else {"activation": activation}
    return Case((X, w, b), kwargs, label=f"{label}, {_activation_label(activation)}")


def _neuron_visible(activations: tuple) -> Callable[[], list[Case]]:
    def build() -> list[Case]:
        data = [
            (_a([[1.0, 2.0], [-1.0, 0.5], [0.0, 0.0], [3.0, -2.0]]), _a([0.5, -1.0]), 0.25,
             "4 samples, 2 features"),
            (_a([[0.2, -1.0, 0.5], [1.5, 0.3, -0.8], [-0.6, 0.9, 1.1]]), _a([0.7, -0.4, 0.9]),
             -0.2, "square X (3, 3)"),
            (_a([[0.5, -1.5, 2.0]]), _a([1.0, 0.5, -0.25]), 1.0, "one sample, 3 features"),
        ]
        return [_neuron_case(X, w, b, activations[k % len(activations)], label)
                for k, (X, w, b, label) in enumerate(data)]
    return build


def _neuron_hidden(activations: tuple) -> Callable[[np.random.Generator], list[Case]]:
    def build(rng: np.random.Generator) -> list[Case]:
        cases = []
        for i in range(N_HIDDEN):
            d = int(rng.integers(1, 5))
            n = [1, d, int(rng.integers(2, 8))][i % 3]
            X, w, b = rng.normal(size=(n, d)), rng.normal(size=d), float(rng.normal())
            cases.append(_neuron_case(X, w, b, activations[i % len(activations)],
                                      _shapes_label(X=X, w=w)))
        return cases
    return build


def _dense_forward_visible() -> list[Case]:
    return [
        Case((_a([[1.0, 2.0], [-1.0, 0.5], [0.0, 0.0], [3.0, -2.0]]),
              _a([[0.5, -1.0, 0.2], [0.3, 0.8, -0.6]]), _a([0.1, -0.2, 0.3])),
             label="4 samples, 2 inputs -> 3 units"),
        Case((_fixed(1, (2, 3)), _fixed(2, (3, 3)), _a([0.5, -0.5, 0.0])),
             label="square W (3, 3)"),
        Case((_a([[0.5, -1.5]]), _fixed(3, (2, 4)), _a([0.1, 0.2, -0.3, 0.4])),
             label="one sample, 2 inputs -> 4 units"),
    ]


def _dense_forward_hidden(rng: np.random.Generator) -> list[Case]:
    cases = []
    for i in range(N_HIDDEN):
        n, d_in = int(rng.integers(1, 7)), int(rng.integers(1, 6))
        d_out = d_in if i % 4 == 1 else int(rng.integers(1, 6))
        X, W, b = rng.normal(size=(n, d_in)), rng.normal(size=(d_in, d_out)), rng.normal(size=d_out)
        cases.append(Case((X, W, b), label=_shapes_label(X=X, W=W, b=b)))
    return cases


def _dense_backward_visible() -> list[Case]:
    return [
        Case((_fixed(4, (4, 3)), _fixed(5, (4, 2)), _fixed(6, (2, 3))),
             label="4 samples, 2 inputs -> 3 units"),
        Case((_fixed(7, (3, 3)), _fixed(8, (3, 3)), _fixed(9, (3, 3))),
             label="square: 3 samples, 3 -> 3 units"),
        Case((_fixed(10, (1, 2)), _fixed(11, (1, 3)), _fixed(12, (3, 2))),
             label="one sample, 3 inputs -> 2 units"),
    ]


def _dense_backward_hidden(rng: np.random.Generator) -> list[Case]:
    cases = []
    for i in range(N_HIDDEN):
        n, d_in = int(rng.integers(1, 7)), int(rng.integers(1, 6))
        d_out = d_in if i % 4 == 1 else int(rng.integers(1, 6))
        dZ, A_prev = rng.normal(size=(n, d_out)), rng.normal(size=(n, d_in))
        W = rng.normal(size=(d_in, d_out))
        cases.append(Case((dZ, A_prev, W), label=_shapes_label(dZ=dZ, A_prev=A_prev, W=W)))
    return cases


# ---------------------------------------------------------------------------------------
# The 2-3-1 network and the MLP
# ---------------------------------------------------------------------------------------


def _study_sleep(n: int, seed: int, standardize: bool = True) -> tuple[np.ndarray, np.ndarray]:
    X, y = refimpl.study_sleep(n=n, seed=seed)
    if standardize:
        X = refimpl.standardize(X)[0]
    return np.round(np.asarray(X, dtype=np.float64), 2), np.asarray(y, dtype=np.float64)


def _params_231(seed: int, b1: list[float], b2: float) -> dict[str, np.ndarray]:
    params = {k: np.array(v, dtype=np.float64) for k, v in refimpl.init_231(seed=seed).items()}
    params["W1"], params["W2"] = np.round(params["W1"], 2), np.round(params["W2"], 2)
    params["b1"], params["b2"] = _a(b1), _a([b2])
    return params


def _forward_231_visible() -> list[Case]:
    X1, _ = _study_sleep(4, seed=1, standardize=False)
    X2, _ = _study_sleep(6, seed=2)
    X3, _ = _study_sleep(1, seed=3)
    return [
        Case((X1, _params_231(0, [0.1, -0.2, 0.05], 0.1)), label="4 students, raw hours"),
        Case((X2, _params_231(1, [0.2, 0.0, -0.3], -0.1)),
             label="6 students, standardized features"),
        Case((X3, _params_231(2, [-0.1, 0.3, 0.1], 0.2)), label="one student (n = 1)"),
    ]


def _random_params(rng: np.random.Generator, sizes: list[int], zero_bias: bool) -> dict:
    params = {}
    for l in range(1, len(sizes)):
        params[f"W{l}"] = rng.normal(0.0, 1.0, (sizes[l - 1], sizes[l]))
        params[f"b{l}"] = rng.normal(0.0, 0.3, sizes[l])
    if zero_bias:
        params["b1"][rng.integers(sizes[1])] = 0.0
    return params


def _random_X(rng: np.random.Generator, n: int, d: int, zero_row: bool) -> np.ndarray:
    X = rng.normal(size=(n, d))
    if zero_row:
        X[rng.integers(n)] = 0.0
    return X


def _forward_231_hidden(rng: np.random.Generator) -> list[Case]:
    cases = []
    for i in range(N_HIDDEN):
        n = [1, 2, 3, 5, 8][i % 5]
        X = _random_X(rng, n, 2, zero_row=False)
        cases.append(Case((X, _random_params(rng, [2, 3, 1], False)), label=f"n = {n}"))
    return cases


def _predict_params() -> dict[str, np.ndarray]:
    """Round weights whose predictions spread over (0, 1), none close to a threshold."""
    return {"W1": _a([[0.8, -0.5, 0.3], [0.4, 0.6, -0.7]]), "b1": _a([-2.0, 0.5, 1.0]),
            "W2": _a([[0.9], [-0.6], [0.5]]), "b2": _a([-0.4])}


def _predict_visible() -> list[Case]:
    X = _a([[2.0, 9.0], [8.0, 7.5], [5.0, 4.0], [1.0, 3.5], [6.5, 9.5], [3.0, 6.0], [2.5, 5.0]])
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
        params = _random_params(rng, [2, 3, 1], False)
        threshold = float(np.round(rng.uniform(0.2, 0.8), 2))
        y_hat, _ = refimpl.forward_231(X, params)
        if np.min(np.abs(y_hat - threshold)) < 1e-6:
            continue  # a tie at the threshold is a matter of convention, not of correctness
        cases.append(Case((X, params, threshold), label=f"n = {n}, a random threshold"))
    return cases


_FORWARD_PARTS = TupleOf((
    Leaf("y_hat"),
    DictOf("cache", ("Z1", "A1", "Z2"),
           purpose="The backward pass needs Z1, A1 and Z2: store them in the cache dict."),
))


_FORWARD_ORDER = ('cache["Z1"]', 'cache["A1"]', 'cache["Z2"]', "y_hat")


def _forward_order(name: str) -> int:
    return _FORWARD_ORDER.index(name) if name in _FORWARD_ORDER else len(_FORWARD_ORDER)


def _forward_diagnose(correct: list[str], wrong: list[str]) -> str | None:
    first = next((name for name in _FORWARD_ORDER if name in wrong), None)
    if first is None:
        return None
    return (f"In forward order the first wrong quantity is {first}: look there first; "
            "everything computed after it inherits the error.")


def _backward_231_case(n: int, seed: int, loss: str, zero_row: bool, label: str) -> Case:
    X, y = _study_sleep(n, seed)
    if zero_row:
        X[1] = 0.0
    params = _params_231(seed, [0.0, 0.1, -0.1] if zero_row else [0.1, -0.2, 0.05], 0.05)
    _, cache = refimpl.forward_231(X, params)
    return Case((X, y, params, cache), label=label, options={"loss": loss})


def _backward_231_visible(loss: str) -> Callable[[], list[Case]]:
    def build() -> list[Case]:
        return [
            _backward_231_case(5, 4, loss, True,
                               "5 students, X[1] = 0 and b1[0] = 0, so Z1 has exact zeros"),
            _backward_231_case(4, 5, loss, False, "4 students"),
            _backward_231_case(7, 6, loss, False, "7 students"),
        ]
    return build


def _backward_231_hidden(loss: str) -> Callable[[np.random.Generator], list[Case]]:
    def build(rng: np.random.Generator) -> list[Case]:
        cases = []
        for i in range(N_HIDDEN):
            n = [1, 3, 4, 2, 6, 5, 8][i % 7]
            zeros = i % 2 == 0
            X = _random_X(rng, n, 2, zero_row=zeros and n > 1)
            params = _random_params(rng, [2, 3, 1], zero_bias=zeros)
            y = rng.integers(0, 2, (n, 1)).astype(np.float64)
            _, cache = refimpl.forward_231(X, params)
            cases.append(Case((X, y, params, cache), label=f"n = {n}", options={"loss": loss}))
        return cases
    return build


def _grad_name(key: str) -> str:
    return f"d{key}"


def _layer_of(name: str) -> int:
    m = re.search(r"(\d+)$", name)
    return int(m.group(1)) if m else 0


def _layer_order(name: str) -> tuple[int, int]:
    """Output layer first (the error of a backward pass flows down), dW before db."""
    return -_layer_of(name), 0 if name.startswith("dW") else 1


def _layer_diagnose(correct: list[str], wrong: list[str]) -> str | None:
    """Where the error enters, from which gradients are right (names dW1, db1, ...)."""
    if not wrong:
        return None
    if all(name.startswith("db") for name in wrong):
        return ("Only bias gradients differ: db adds up dZ over the samples, one entry per "
                "unit of the layer.")
    if all(name.startswith("dW") for name in wrong) and correct:
        return ("The bias gradients are right, so every dZ is right: look at how dW combines "
                "dZ with the layer's input.")
    layers = [_layer_of(n) for n in correct + wrong]
    top, last = max(_layer_of(n) for n in wrong), max(layers)
    if top == last:
        return (f"The error starts at the output layer (dZ{last}); every gradient below "
                "inherits it.")
    where = "the hidden layer, layer 1" if last == 2 else f"layer {top}"
    return (f"The layers above are right, so the error is in {where}: look at how you go back "
            f"from dZ{top + 1} to dA{top}, the activation derivative in dZ{top}, and dW{top}, "
            f"db{top}.")


def _grads_spec(keys: tuple[str, ...] | None) -> DictOf:
    return DictOf("grads", keys, label=_grad_name,
                  purpose="grads uses the keys of params: grads['W1'] is dL/dW1.")


def _mlp_case(sizes: list[int], X: np.ndarray, y: np.ndarray, params: dict, options: dict,
              label: str) -> Case:
    _, cache = refimpl.mlp_forward(X, params, hidden=options["hidden"], output=options["output"])
    return Case((X, y, params, cache), label=label, options=options)


def _mlp_targets(rng: np.random.Generator, n: int, k: int, output: str) -> np.ndarray:
    if output == "identity":
        return np.round(rng.normal(size=(n, k)), 2)
    return rng.integers(0, 2, (n, k)).astype(np.float64)


def _mlp_visible(options: dict) -> Callable[[], list[Case]]:
    def build() -> list[Case]:
        cases = []
        X, y = _study_sleep(5, 7)
        X[1] = 0.0
        if options["output"] == "identity":
            y = _mlp_targets(np.random.default_rng(7), 5, 1, "identity")
        params = _params_231(7, [0.0, 0.1, -0.1], 0.05)
        cases.append(_mlp_case([2, 3, 1], X, y, params, options,
                               "layers [2, 3, 1], 5 students, exact zeros in Z1"))
        for k, (sizes, n) in enumerate((([3, 4, 4, 1], 4), ([2, 5, 3, 1], 6))):
            rng = np.random.default_rng(20 + k)
            X = np.round(_random_X(rng, n, sizes[0], zero_row=k == 0), 2)
            params = {key: np.round(v, 2)
                      for key, v in _random_params(rng, sizes, zero_bias=k == 0).items()}
            y = _mlp_targets(rng, n, 1, options["output"])
            zeros = ", exact zeros in Z1" if k == 0 else ""
            cases.append(_mlp_case(sizes, X, y, params, options,
                                   f"layers {sizes}, {n} samples{zeros}"))
        return cases
    return build


def _mlp_hidden(options: dict) -> Callable[[np.random.Generator], list[Case]]:
    def build(rng: np.random.Generator) -> list[Case]:
        cases = []
        for i in range(N_HIDDEN):
            n = [1, 3, 4, 2, 6, 5, 7][i % 7]
            width = int(rng.integers(2, 6))
            hidden = [width, width] if i % 3 == 1 else [int(rng.integers(1, 6))
                                                        for _ in range(1 + i % 2)]
            sizes = [int(rng.integers(1, 5)), *hidden, 1]
            zeros = i % 2 == 0
            X = _random_X(rng, n, sizes[0], zero_row=zeros and n > 1)
            params = _random_params(rng, sizes, zero_bias=zeros)
            y = _mlp_targets(rng, n, 1, options["output"])
            cases.append(_mlp_case(sizes, X, y, params, options,
                                   f"layers {sizes}, n = {n}"))
        return cases
    return build


# ---------------------------------------------------------------------------------------
# Losses
# ---------------------------------------------------------------------------------------


def _shape_trap(first: np.ndarray, y: np.ndarray, name: str, label: str) -> Case:
    """A (n,) vs (n, 1) mix, which a loss must refuse: it would broadcast silently to (n, n)."""
    n = len(y)
    why = (f"{name} of shape {fmt.shape(first.shape)} against y of shape {fmt.shape(y.shape)} "
           f"broadcasts silently to ({n}, {n}), and the mean of those {n * n} numbers looks "
           f"plausible but is wrong: compare {name}.shape with y.shape first and raise a "
           "ValueError when they differ.")
    return Case((first, y), label=label, raises=ValueError, raises_why=why)


def _hidden_shape_trap(rng: np.random.Generator, name: str, low: float, high: float) -> Case:
    n = int(rng.integers(2, 7))
    first, y = rng.uniform(low, high, (n, 1)), rng.integers(0, 2, (n, 1)).astype(np.float64)
    if rng.random() < 0.5:
        return _shape_trap(first.ravel(), y, name, f"{name} and y of different shapes")
    return _shape_trap(first, y.ravel(), name, f"{name} and y of different shapes")


def _mse_visible() -> list[Case]:
    return [
        Case((_a([[0.9], [0.2], [0.4], [0.7]]), _a([[1.0], [0.0], [1.0], [0.0]])),
             label="4 samples, errors of both signs"),
        Case((_a([[0.3], [0.8], [1.0]]), _a([[0.3], [0.8], [1.0]])),
             label="perfect predictions (loss 0)"),
        Case((_a([[2.5]]), _a([[1.0]])), label="one sample"),
        Case((_a([[3.0], [-1.0], [0.5], [2.0], [0.0]]), _a([[1.0], [1.0], [0.0], [2.5], [-1.5]])),
             label="5 samples, larger errors"),
        _shape_trap(_a([0.9, 0.2, 0.4, 0.7]), _a([[1.0], [0.0], [1.0], [0.0]]), "y_hat",
                    "y_hat of shape (4,) against y of shape (4, 1): must raise ValueError"),
    ]


def _mse_hidden(rng: np.random.Generator) -> list[Case]:
    cases = []
    for i in range(N_HIDDEN - 1):
        n = [1, 2, 3, 5, 8, 13][i % 6]
        y = rng.normal(size=(n, 1))
        y_hat = y + rng.normal(0.0, 10.0 ** rng.uniform(-1, 1), (n, 1))
        cases.append(Case((y_hat, y), label=_shapes_label(y_hat=y_hat, y=y)))
    return [*cases, _hidden_shape_trap(rng, "y_hat", -2.0, 2.0)]


def _bce_visible() -> list[Case]:
    return [
        Case((_a([[0.9], [0.2], [0.6], [0.3]]), _a([[1.0], [0.0], [0.0], [1.0]])),
             label="4 samples"),
        Case((_a([[0.0], [1.0], [0.8], [0.3]]), _a([[0.0], [1.0], [1.0], [0.0]])),
             label="predictions of exactly 0 and 1 (both right)"),
        Case((_a([[0.7]]), _a([[1.0]])), label="one sample"),
        _shape_trap(_a([[0.9], [0.2], [0.6], [0.3]]), _a([1.0, 0.0, 0.0, 1.0]), "y_hat",
                    "y_hat of shape (4, 1) against y of shape (4,): must raise ValueError"),
    ]


def _bce_hidden(rng: np.random.Generator) -> list[Case]:
    cases = []
    for i in range(N_HIDDEN - 1):
        n = [1, 2, 3, 5, 8][i % 5]
        y = rng.integers(0, 2, (n, 1)).astype(np.float64)
        y_hat = rng.uniform(0.02, 0.98, (n, 1))
        if i % 2 == 0:
            y_hat[0] = y[0]  # a confident, correct prediction of exactly 0 or 1
        cases.append(Case((y_hat, y), label=_shapes_label(y_hat=y_hat, y=y)))
    return [*cases, _hidden_shape_trap(rng, "y_hat", 0.02, 0.98)]


def _bce_from_logits_visible() -> list[Case]:
    return [
        Case((_a([[2.0], [-1.0], [0.5], [-3.0]]), _a([[1.0], [0.0], [0.0], [1.0]])),
             label="4 samples, moderate logits"),
        Case((_a([[800.0], [-800.0], [30.0], [-30.0]]), _a([[0.0], [1.0], [1.0], [0.0]])),
             label="logits of +-800 and +-30, where sigmoid rounds to exactly 0 or 1"),
        Case((_a([[0.0]]), _a([[1.0]])), label="one sample with Z = 0"),
        _shape_trap(_a([2.0, -1.0, 0.5]), _a([[1.0], [0.0], [0.0]]), "Z",
                    "Z of shape (3,) against y of shape (3, 1): must raise ValueError"),
    ]


def _bce_from_logits_hidden(rng: np.random.Generator) -> list[Case]:
    cases = []
    for i in range(N_HIDDEN - 1):
        n = [1, 2, 3, 5, 8][i % 5]
        y = rng.integers(0, 2, (n, 1)).astype(np.float64)
        Z = rng.normal(0.0, 3.0, (n, 1))
        if i % 2 == 0:
            Z[0] = rng.choice([-1.0, 1.0]) * rng.uniform(50.0, 1000.0)
        cases.append(Case((Z, y), label=_shapes_label(Z=Z, y=y)))
    return [*cases, _hidden_shape_trap(rng, "Z", -3.0, 3.0)]


# ---------------------------------------------------------------------------------------
# numerical_gradient, gradient_descent
# ---------------------------------------------------------------------------------------


def _cube_sum(x: np.ndarray) -> float:
    """f(x) = sum(x**3)."""
    return float(np.sum(np.asarray(x) ** 3))


def _coupled(x: np.ndarray) -> float:
    """f(x) = sum(x**2) * sum(x) + sum(sin(x)): every partial derivative depends on all x."""
    x = np.asarray(x)
    return float(np.sum(x**2) * np.sum(x) + np.sum(np.sin(x)))


def _numerical_gradient_visible() -> list[Case]:
    return [
        Case((_cube_sum, _a([-1.0, 0.5, 2.0]), 1e-5),
             label="f(x) = sum(x**3), x of shape (3,), h = 1e-5"),
        Case((_coupled, _a([[0.5, -1.0], [1.5, 0.2]]), 1e-4),
             label="f(x) = sum(x**2) * sum(x) + sum(sin(x)), x of shape (2, 2), h = 1e-4"),
        Case((_cube_sum, _a([1.5, -0.7]), 1e-2), label="f(x) = sum(x**3), shape (2,), h = 1e-2"),
    ]


def _cube(x: float) -> float:
    """f(x) = x**3."""
    return x**3


def _exp(x: float) -> float:
    """f(x) = exp(x)."""
    return float(np.exp(x))


def _numerical_derivative_visible() -> list[Case]:
    return [
        Case((_cube, 2.0, 1e-3), label="f(x) = x**3 at x = 2, h = 1e-3"),
        Case((np.sin, 1.0, 1e-2), label="f(x) = sin(x) at x = 1, h = 1e-2"),
        Case((_exp, 0.5, 1e-1), label="f(x) = exp(x) at x = 0.5, h = 0.1"),
    ]


class _Polynomial:
    """f(x) = a x**3 + b x**2 + c x, for hidden cases."""

    def __init__(self, a: float, b: float, c: float) -> None:
        self.a, self.b, self.c = a, b, c

    def __call__(self, x: float) -> float:
        return self.a * x**3 + self.b * x**2 + self.c * x


def _numerical_derivative_hidden(rng: np.random.Generator) -> list[Case]:
    cases = []
    for i in range(N_HIDDEN):
        a, b, c = rng.uniform(0.5, 2.0, 3) * rng.choice([-1.0, 1.0], 3)
        f = _Polynomial(float(a), float(b), float(c))
        x, h = float(rng.uniform(-2.0, 2.0)), [1e-1, 1e-2, 1e-3][i % 3]
        cases.append(Case((f, x, h), label="a cubic polynomial, a random x and step h"))
    return cases


class _RandomCubic:
    """f(x) = sum(a * x**3) + (c . x)**2 with fixed random a, c (a non-separable test f)."""

    def __init__(self, a: np.ndarray, c: np.ndarray) -> None:
        self.a, self.c = a, c

    def __call__(self, x: np.ndarray) -> float:
        x = np.asarray(x)
        return float(np.sum(self.a * x**3) + np.sum(self.c * x) ** 2)


def _numerical_gradient_hidden(rng: np.random.Generator) -> list[Case]:
    cases = []
    for i in range(N_HIDDEN):
        k = int(rng.integers(1, 5))
        shape = (k,) if i % 2 == 0 else (int(rng.integers(1, 4)), max(k, 2))
        f = _RandomCubic(rng.uniform(0.5, 2.0, shape) * rng.choice([-1, 1], shape),
                         rng.normal(size=shape))
        h = [1e-2, 1e-5, 1e-3, 1e-4][i % 4]
        cases.append(Case((f, rng.uniform(-2.0, 2.0, shape), h),
                          label=f"a cubic f, x of shape {fmt.shape(shape)}"))
    return cases


class _Bowl:
    """f(x) = sum(a * (x - c)**2), a quadratic bowl with its minimum at c."""

    def __init__(self, a: np.ndarray, c: np.ndarray) -> None:
        self.a, self.c = a, c

    def f(self, x: np.ndarray) -> float:
        return float(np.sum(self.a * (np.asarray(x) - self.c) ** 2))

    def grad(self, x: np.ndarray) -> np.ndarray:
        return 2 * self.a * (np.asarray(x) - self.c)


def _quartic(x: np.ndarray) -> float:
    """f(x) = sum((x - 3)**4) / 4."""
    return float(np.sum((np.asarray(x) - 3.0) ** 4) / 4)


def _quartic_grad(x: np.ndarray) -> np.ndarray:
    return (np.asarray(x) - 3.0) ** 3


def _gradient_descent_visible() -> list[Case]:
    bowl = _Bowl(_a([1.0, 1.0]), _a([1.0, -2.0]))
    stretched = _Bowl(_a([1.0, 10.0]), _a([0.0, 0.0]))
    return [
        Case((bowl.f, bowl.grad, _a([0.0, 0.0]), 0.1, 5),
             label="f(x) = sum((x - [1, -2])**2), x0 = [0, 0], lr = 0.1, 5 steps"),
        Case((stretched.f, stretched.grad, _a([2.0, 1.0]), 0.04, 4),
             label="f(x) = x0**2 + 10 x1**2, x0 = [2, 1], lr = 0.04, 4 steps"),
        Case((_quartic, _quartic_grad, _a([1.0]), 0.1, 3),
             label="f(x) = (x - 3)**4 / 4, x0 = [1], lr = 0.1, 3 steps"),
    ]


def _gradient_descent_hidden(rng: np.random.Generator) -> list[Case]:
    cases = []
    for _ in range(N_HIDDEN):
        d, steps = int(rng.integers(1, 5)), int(rng.integers(1, 9))
        bowl = _Bowl(rng.uniform(0.5, 3.0, d), rng.normal(size=d))
        lr = float(rng.uniform(0.02, 0.15))
        cases.append(Case((bowl.f, bowl.grad, rng.normal(size=d), lr, steps),
                          label=f"a quadratic bowl in {d} dimensions, {steps} step"
                                + ("s" if steps != 1 else "")))
    return cases


# ---------------------------------------------------------------------------------------
# Notebook 05: the chain rule by hand, Value, value_neuron_loss
# ---------------------------------------------------------------------------------------


def _neuron_loss_grads_visible() -> list[Case]:
    return [
        Case((0.5, 0.1, 1.5, 1.0), label="w = 0.5, b = 0.1, x = 1.5, y = 1"),
        Case((-1.2, 0.4, 2.0, 0.0), label="w = -1.2, b = 0.4, x = 2, y = 0"),
        Case((0.8, -0.3, -0.5, 0.3), label="a negative input, x = -0.5, y = 0.3"),
    ]


def _neuron_loss_grads_hidden(rng: np.random.Generator) -> list[Case]:
    cases = []
    for i in range(N_HIDDEN):
        w, b = rng.normal(0.0, 1.5, 2)
        x = float(rng.choice([-1.0, 1.0]) * rng.uniform(0.3, 3.0))
        y = float(rng.integers(0, 2)) if i % 2 == 0 else float(rng.uniform(0.0, 1.0))
        cases.append(Case((float(w), float(b), x, y), label="random w, b, x and y"))
    return cases


# Programs of the Value check: the operations a + b, a - b, a * b, a ** 2, .relu(),
# .sigmoid() on Values only (see autograder/exercises/value_programs.py).
_VALUE_PROGRAMS = (
    ("out = a * b + c", {"a": 2.0, "b": -3.0, "c": 10.0}, "out = a * b + c"),
    ("out = a * a + a * b", {"a": 3.0, "b": -2.0},
     "a leaf used three times: out = a * a + a * b"),
    ("c = a * b; d = c + a; out = d * d + c.relu()", {"a": 1.5, "b": 2.0},
     "intermediate results used twice: c and d"),
    ("z = w * x + b; out = (z.sigmoid() - y) ** 2", {"w": 0.5, "x": 1.5, "b": 0.1, "y": 1.0},
     "the neuron's loss (sigmoid(w x + b) - y) ** 2"),
    ("out = (a - b).relu() * c + (a * c).sigmoid()", {"a": 1.5, "b": 1.5, "c": -2.0},
     "a relu of exactly 0: (a - b).relu() with a = b"),
)


def _value_visible() -> list[Case]:
    return [Case((program,), dict(leaves), label=label)
            for program, leaves, label in _VALUE_PROGRAMS]


def _value_hidden(rng: np.random.Generator) -> list[Case]:
    cases = []
    for i in range(N_HIDDEN):
        program, leaves = random_program(rng, extra_ops=i % 3)
        cases.append(Case((program,), leaves,
                          label="a random expression with forks and a relu of zero"))
    return cases


def _value_reference(program: str, **leaves: float) -> dict[str, float]:
    """The reference case function: the program run with refimpl.Value."""
    return run_program(refimpl.Value, program, leaves)


_VALUE_ORDER = ("out.data", "out.grad")


def _value_order(name: str) -> int:
    return _VALUE_ORDER.index(name) if name in _VALUE_ORDER else 2  # leaves in program order


def _value_diagnose(correct: list[str], wrong: list[str]) -> str | None:
    if "out.data" in wrong:
        return ("The forward value out.data is already wrong: check what each operation "
                "computes (the .data of its result) before looking at gradients.")
    if "out.grad" in wrong:
        return ("backward() must first set the output's own grad to 1 (dout/dout = 1), "
                "then call the _backward functions.")
    return ("The forward value is right, so the error is in the backward pass: a local "
            "derivative in some _backward, = instead of +=, or the order in which "
            "backward() visits the nodes.")


def _value_neuron_loss_visible() -> list[Case]:
    return [Case((w, b, x, y), label=f"w = {w:g}, b = {b:g}, x = {x:g}, y = {y:g}")
            for w, b, x, y in ((0.5, 0.1, 1.5, 1.0), (-1.2, 0.4, 2.0, 0.0),
                               (0.8, -0.3, -0.5, 0.3))]


def _value_neuron_loss_hidden(rng: np.random.Generator) -> list[Case]:
    return _neuron_loss_grads_hidden(rng)


def _value_neuron_loss_reference(w, b, x, y, Value=None):
    """L = (sigmoid(w x + b) - y) ** 2 built from Values; called with numbers only (no Value
    class), it runs as a check case (``run_value_neuron_loss``)."""
    if Value is None:
        return run_value_neuron_loss(_value_neuron_loss_reference, w, b, x, y, refimpl.Value)
    a = (w * Value(x) + b).sigmoid()
    return (a - Value(y)) ** 2


# ---------------------------------------------------------------------------------------
# Notebook 06: gradient_errors
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
    X, y = _study_sleep(6, seed=8)
    dead = _params_231(8, [0.2, -0.1, -5.0], 0.1)  # unit 3 never fires: exact zero gradients
    params = _params_231(9, [0.3, 0.2, 0.1], -0.2)
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
        params = _random_params(rng, [2, 3, 1], False)
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


# ---------------------------------------------------------------------------------------
# Notebook 07: train, accuracy
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
    X, y = _study_sleep(8, seed=10)
    X1, y1 = _study_sleep(1, seed=11)
    return [
        Case((X, y, _params_231(10, [0.1, -0.2, 0.05], 0.0), 0.5, 5),
             label="8 students, lr = 0.5, 5 epochs"),
        Case((X, y, _params_231(12, [0.0, 0.1, 0.2], -0.1), 0.1, 12),
             label="the same students, lr = 0.1, 12 epochs"),
        Case((X1, y1, _params_231(13, [0.2, 0.1, -0.1], 0.1), 0.3, 3),
             label="one student, lr = 0.3, 3 epochs"),
    ]


def _study_sleep_split(seed: int):
    X, y = refimpl.study_sleep(n=_TRAIN_STUDENTS, seed=seed)
    X_train, X_test, y_train, y_test = refimpl.train_test_split(X, y, seed=seed)
    X_train, mean, std = refimpl.standardize(X_train)
    X_test = refimpl.standardize(X_test, mean, std)[0]
    return X_train, X_test, y_train, y_test


def _train_hidden(rng: np.random.Generator) -> list[Case]:
    cases = []
    for i in range(N_HIDDEN):
        if i % 4 == 0:  # train on study_sleep; the trained network must generalise
            while True:
                seed = int(rng.integers(2**31))
                X, X_test, y, y_test = _study_sleep_split(seed)
                params = refimpl.init_231(seed=seed)
                trained, _ = _train_reference(X, y, params, _TRAIN_LR, _TRAIN_EPOCHS)
                labels = refimpl.predict(X_test, trained)
                if refimpl.accuracy(labels, y_test) >= _HELD_OUT_ACCURACY + 0.02:
                    break
            cases.append(Case((X, y, params, _TRAIN_LR, _TRAIN_EPOCHS),
                              label="study_sleep, standardized, then a held-out test",
                              private={"held_out": (X_test, y_test)}))
            continue
        n, epochs = [1, 3, 5, 8][i % 4], int(rng.integers(1, 9))
        X = rng.normal(size=(n, 2))
        y = rng.integers(0, 2, (n, 1)).astype(np.float64)
        params = _random_params(rng, [2, 3, 1], zero_bias=False)
        lr = float(rng.uniform(0.05, 0.5))
        cases.append(Case((X, y, params, lr, epochs),
                          label=f"n = {n}, a random network, lr and number of epochs"))
    return cases


def _check_training(out: Any, X: np.ndarray, y: np.ndarray, start: dict,
                    held_out: tuple[np.ndarray, np.ndarray]) -> None:
    """The properties of a training run: a lower loss, a good held-out accuracy.

    Raises LearnerProblem when one fails; says nothing when the output is malformed (the
    comparison with the reference reports that).
    """
    if not (isinstance(out, tuple | list) and len(out) == 2 and isinstance(out[0], Mapping)):
        return
    try:
        trained = {key: np.asarray(out[0][key], dtype=np.float64) for key in start}
    except (KeyError, TypeError, ValueError):
        return
    if any(trained[k].shape != start[k].shape or not np.isfinite(trained[k]).all()
           for k in start):
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


_TRAIN_PARTS = TupleOf((
    DictOf("trained_params", None, label=lambda key: f'trained_params["{key}"]'),
    DictOf("history", ("loss", "grad_norm"), label=lambda key: f'history["{key}"]',
           purpose='history records every epoch: history["loss"] (the loss before the '
                   'step) and history["grad_norm"] (the norm of all gradients).'),
))


def _accuracy_visible() -> list[Case]:
    return [
        Case((_a([[1.0], [0.0], [1.0], [1.0], [0.0]]), _a([[1.0], [0.0], [0.0], [1.0], [0.0]])),
             label="5 students, 4 right"),
        Case((_a([[1.0], [1.0], [0.0], [0.0], [1.0], [0.0], [1.0], [1.0]]),
              _a([[1.0], [0.0], [0.0], [1.0], [1.0], [0.0], [1.0], [1.0]])),
             label="8 students, 6 right"),
        Case((_a([[1.0]]), _a([[1.0]])), label="one student, right"),
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


# ---------------------------------------------------------------------------------------
# Notebook 08: mlp_forward, gd_step
# ---------------------------------------------------------------------------------------


def _mlp_forward_visible(options: dict) -> Callable[[], list[Case]]:
    def build() -> list[Case]:
        X4, _ = _study_sleep(4, seed=14)
        X5, _ = _study_sleep(5, seed=15)
        rng = np.random.default_rng(16)
        X3 = np.round(rng.normal(size=(3, 3)), 2)
        deep = {key: np.round(v, 2)
                for key, v in _random_params(rng, [3, 4, 4, 1], zero_bias=False).items()}
        return [
            Case((X4, {"W1": _a([[0.8], [-0.5]]), "b1": _a([0.1])}),
                 label="layers [2, 1]: one layer, logistic regression", options=options),
            Case((X5, _params_231(15, [0.1, -0.2, 0.3], 0.05)),
                 label="layers [2, 3, 1], 5 students", options=options),
            Case((X3, deep), label="layers [3, 4, 4, 1]: a square hidden layer",
                 options=options),
        ]
    return build


def _mlp_forward_hidden(options: dict) -> Callable[[np.random.Generator], list[Case]]:
    def build(rng: np.random.Generator) -> list[Case]:
        cases = []
        for i in range(N_HIDDEN):
            n = [1, 3, 4, 2, 6, 5, 7][i % 7]
            width = int(rng.integers(2, 6))
            hidden = [[], [int(rng.integers(1, 6))], [width, width],
                      [int(rng.integers(1, 6)), int(rng.integers(1, 6))]][i % 4]
            sizes = [int(rng.integers(1, 5)), *hidden, 1]
            X = _random_X(rng, n, sizes[0], zero_row=False)
            params = _random_params(rng, sizes, zero_bias=len(sizes) > 2 and i % 2 == 0)
            cases.append(Case((X, params), label=f"layers {sizes}, n = {n}", options=options))
        return cases
    return build


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
    return (f"In forward order the first wrong quantity is {first}: look there first; "
            "everything computed after it inherits the error.")


_MLP_FORWARD_PARTS = TupleOf((
    Leaf("y_hat"),
    DictOf("cache", None, label=lambda key: f'cache["{key}"]',
           purpose="mlp_backward needs A0 (= X) and every Zl and Al: store them in the "
                   "cache dict."),
))


def _gd_step_case(sizes: list[int], seed: int, lr: float, label: str) -> Case:
    rng = np.random.default_rng(seed)
    params = {k: np.round(v, 2) for k, v in _random_params(rng, sizes, False).items()}
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
        hidden = [[], [int(rng.integers(1, 6))], [3, 3]][i % 3]
        sizes = [int(rng.integers(1, 5)), *hidden, 1]
        params = _random_params(rng, sizes, False)
        grads = {k: rng.normal(0.0, 0.5, v.shape) for k, v in params.items()}
        lr = float(rng.uniform(0.01, 2.0))
        cases.append(Case((params, grads, lr), label=f"layers {sizes}, a random lr"))
    return cases


# ---------------------------------------------------------------------------------------
# The registry
# ---------------------------------------------------------------------------------------

_NOT_IN_PLACE = ("{name} must not be changed: compute new arrays (B = A * 2, A.copy()) instead "
                 "of writing into the ones you were given.")


def _in_place_hints(*names: str) -> dict[str, str]:
    return {name: _NOT_IN_PLACE.format(name=name) for name in names}


def exercise(name: str, **options: Any) -> Exercise:
    """The ``Exercise`` behind ``check.NAME(..., **options)`` (its cases, reference, ...)."""
    if name not in EXERCISES:
        raise ValueError(f"unknown exercise {name!r}; the exercises are {', '.join(EXERCISES)}")
    spec = EXERCISES[name](**options)
    return replace(spec, mistakes=mistakes_for(spec.key))


def _relu_exercise() -> Exercise:
    return Exercise("relu", "relu", "relu", refimpl.relu, _relu_visible, _relu_hidden,
                    input_hints={"Z": "Z[Z < 0] = 0 writes into the caller's array; build a "
                                      "new array instead (np.maximum, np.where)."})


def _sigmoid_exercise() -> Exercise:
    # The course requires a sigmoid that survives z = +-1000 without a RuntimeWarning: an
    # overflow fails the case even when the values are right ([sigmoid-overflow]).
    return Exercise("sigmoid", "sigmoid", "sigmoid", refimpl.sigmoid, _sigmoid_visible,
                    _sigmoid_hidden, input_hints=_in_place_hints("Z"),
                    forbid_fp_errors=("overflow",))


def _neuron_exercise(activations: tuple = ("sigmoid", "relu")) -> Exercise:
    activations = tuple(activations) or (None,)
    return Exercise("neuron", "neuron", "neuron", refimpl.neuron, _neuron_visible(activations),
                    _neuron_hidden(activations), input_hints=_in_place_hints("X", "w"),
                    uses=("relu", "sigmoid"))


def _dense_forward_exercise() -> Exercise:
    return Exercise("dense_forward", "dense_forward", "dense_forward", refimpl.dense_forward,
                    _dense_forward_visible, _dense_forward_hidden,
                    input_hints=_in_place_hints("X", "W", "b"))


def _dense_backward_exercise() -> Exercise:
    return Exercise("dense_backward", "dense_backward", "dense_backward",
                    refimpl.dense_backward, _dense_backward_visible, _dense_backward_hidden,
                    output=TupleOf((Leaf("dA_prev"), Leaf("dW"), Leaf("db"))),
                    input_hints=_in_place_hints("dZ", "A_prev", "W"))


def _forward_231_exercise() -> Exercise:
    return Exercise("forward_231", "forward_231", "forward_231", refimpl.forward_231,
                    _forward_231_visible, _forward_231_hidden, output=_FORWARD_PARTS,
                    diagnose=_forward_diagnose, input_hints=_in_place_hints("X", "params"),
                    part_order=_forward_order, uses=("relu", "sigmoid", "dense_forward"))


def _mse_exercise() -> Exercise:
    return Exercise("mse", "mse", "mse", refimpl.mse, _mse_visible, _mse_hidden, output=SCALAR,
                    input_hints=_in_place_hints("y_hat", "y"))


def _bce_exercise() -> Exercise:
    # A learner's clipping epsilon changes the loss of an exact 0/1 prediction by about eps:
    # rtol 1e-5, atol 1e-6 accept any epsilon up to about 1e-6 (1e-7, 1e-12, 1e-15 pass).
    return Exercise("bce", "bce", "bce", refimpl.bce, _bce_visible, _bce_hidden, output=SCALAR,
                    rtol=1e-5, atol=1e-6, input_hints=_in_place_hints("y_hat", "y"))


def _predict_exercise() -> Exercise:
    return Exercise("predict", "predict", "predict", refimpl.predict, _predict_visible,
                    _predict_hidden, input_hints=_in_place_hints("X", "params"),
                    uses=("forward_231", "relu", "sigmoid", "dense_forward"))


def _bce_from_logits_exercise() -> Exercise:
    return Exercise("bce_from_logits", "bce_from_logits", "bce_from_logits",
                    refimpl.bce_from_logits, _bce_from_logits_visible, _bce_from_logits_hidden,
                    output=SCALAR, input_hints=_in_place_hints("Z", "y"), uses=("sigmoid",))


def _numerical_derivative_exercise() -> Exercise:
    return Exercise("numerical_derivative", "numerical_derivative", "numerical_derivative",
                    refimpl.numerical_derivative, _numerical_derivative_visible,
                    _numerical_derivative_hidden, output=SCALAR)


def _numerical_gradient_exercise() -> Exercise:
    # Central differences of different but correct codes differ by rounding ~ eps * |f| / h.
    return Exercise("numerical_gradient", "numerical_gradient", "numerical_gradient",
                    refimpl.numerical_gradient, _numerical_gradient_visible,
                    _numerical_gradient_hidden, rtol=1e-6, atol=1e-8,
                    input_hints={"x": "numerical_gradient may perturb x while it works but must "
                                      "put back every entry it changes: afterwards x must be "
                                      "bit-for-bit what it was (save old = x[i], restore "
                                      "x[i] = old, ideally in a finally: block)."})


def _gradient_descent_exercise() -> Exercise:
    return Exercise("gradient_descent", "gradient_descent", "gradient_descent",
                    refimpl.gradient_descent, _gradient_descent_visible,
                    _gradient_descent_hidden, output=TupleOf((Leaf("path"), Leaf("losses"))),
                    input_hints={"x0": "x = x0 does not copy: x -= lr * g then writes into x0. "
                                       "Start from x = x0.copy() or write x = x - lr * g."})


def _backward_231_exercise(loss: str = "mse") -> Exercise:
    if loss not in ("mse", "bce"):
        raise ValueError(f"loss must be 'mse' or 'bce', got {loss!r}")
    return Exercise("backward_231", f"backward_231_{loss}", f"backward_231 (loss={loss!r})",
                    refimpl.backward_231, _backward_231_visible(loss), _backward_231_hidden(loss),
                    output=_grads_spec(("W1", "b1", "W2", "b2")), rtol=1e-6, atol=1e-9,
                    diagnose=_layer_diagnose, part_order=_layer_order,
                    input_hints=_in_place_hints("X", "y", "params", "cache"))


def _mlp_backward_exercise(loss: str = "bce", hidden_activation: str = "relu",
                           output: str = "sigmoid") -> Exercise:
    options = {"loss": loss, "hidden": hidden_activation, "output": output}
    title = "mlp_backward" + ("" if (loss, hidden_activation, output) == ("bce", "relu", "sigmoid")
                              else f" (loss={loss!r}, hidden={hidden_activation!r}, "
                                   f"output={output!r})")
    return Exercise("mlp_backward", "mlp_backward", title, refimpl.mlp_backward,
                    _mlp_visible(options), _mlp_hidden(options), output=_grads_spec(None),
                    rtol=1e-6, atol=1e-9, diagnose=_layer_diagnose, part_order=_layer_order,
                    input_hints=_in_place_hints("X", "y", "params", "cache"))


def _neuron_loss_grads_exercise() -> Exercise:
    return Exercise("neuron_loss_grads", "neuron_loss_grads", "neuron_loss_grads",
                    refimpl.neuron_loss_grads, _neuron_loss_grads_visible,
                    _neuron_loss_grads_hidden,
                    output=TupleOf((Leaf("dL_dw", scalar=True), Leaf("dL_db", scalar=True))),
                    uses=("sigmoid", "sigmoid_prime"))


def _value_exercise() -> Exercise:
    # Different correct classes differ by the order of additions into .grad: ~1e-16 relative;
    # atol 1e-9 absorbs the rounding of gradients that cancel to about 0.
    return Exercise("Value", "Value", "Value", _value_reference, _value_visible, _value_hidden,
                    output=DictOf("results", None, label=str, scalar=True), atol=1e-9,
                    diagnose=_value_diagnose, part_order=_value_order, driver="value_class")


def _value_neuron_loss_exercise() -> Exercise:
    return Exercise("value_neuron_loss", "value_neuron_loss", "value_neuron_loss",
                    _value_neuron_loss_reference, _value_neuron_loss_visible,
                    _value_neuron_loss_hidden,
                    output=DictOf("results", None, label=str, scalar=True),
                    diagnose=_value_diagnose_loss, driver="value_neuron_loss",
                    driver_context=lambda: {"Value": refimpl.Value})


def _value_diagnose_loss(correct: list[str], wrong: list[str]) -> str | None:
    if "L.data" in wrong:
        return "L.data is already wrong: check the formula L = (sigmoid(w x + b) - y) ** 2."
    return ("L.data is right but the gradients are not: L must be built from w and b with "
            "Value operations only, and returned without calling backward().")


def _gradient_errors_exercise() -> Exercise:
    # A correct gradient's relative error is rounding noise (about 1e-11 / |gradient entry|,
    # below 1e-7 here): two correct implementations may differ there by orders of magnitude,
    # so every error below about atol = 1e-6 counts as "passes the gradient check" and equal.
    # Larger errors (wrong gradients) are computed stably and must agree to rtol = 1e-3.
    return Exercise("gradient_errors", "gradient_errors", "gradient_errors",
                    refimpl.gradient_errors, _gradient_errors_visible, _gradient_errors_hidden,
                    output=DictOf("errors", None, label=lambda key: f'errors["{key}"]',
                                  scalar=True),
                    rtol=1e-3, atol=1e-6,
                    input_hints=_in_place_hints("params", "grads") | {
                        "params": "gradient_errors may perturb params while it works but "
                                  "must put back every entry it changes (save old = x[i], "
                                  "restore x[i] = old), or perturb a copy."},
                    uses=("numerical_gradient", "numerical_gradients", "relative_error"))


def _train_exercise() -> Exercise:
    # BCE from logits or from clipped probabilities, norms summed in another order: the
    # trajectories of correct implementations agree to about 1e-13.
    return Exercise("train", "train", "train", _train_reference, _train_visible, _train_hidden,
                    output=_TRAIN_PARTS, rtol=1e-8, atol=1e-10, driver="train",
                    postcheck=_train_postcheck,
                    input_hints={"params": "train must leave params as it was: start from "
                                           "a copy ({k: v.copy() for k, v in params.items()})"
                                           " or build new arrays each step (W = W - lr * dW)."}
                    | _in_place_hints("X", "y"),
                    uses=("forward_231", "backward_231", "loss_231", "relu", "sigmoid",
                          "dense_forward", "bce", "gd_step"))


def _accuracy_exercise() -> Exercise:
    return Exercise("accuracy", "accuracy", "accuracy", refimpl.accuracy, _accuracy_visible,
                    _accuracy_hidden, output=SCALAR, input_hints=_in_place_hints("labels", "y"))


def _mlp_forward_exercise(hidden_activation: str = "relu", output: str = "sigmoid") -> Exercise:
    options = {"hidden": hidden_activation, "output": output}
    title = "mlp_forward" + ("" if (hidden_activation, output) == ("relu", "sigmoid")
                             else f" (hidden={hidden_activation!r}, output={output!r})")
    return Exercise("mlp_forward", "mlp_forward", title, refimpl.mlp_forward,
                    _mlp_forward_visible(options), _mlp_forward_hidden(options),
                    output=_MLP_FORWARD_PARTS, diagnose=_mlp_forward_diagnose,
                    part_order=_mlp_forward_order, input_hints=_in_place_hints("X", "params"),
                    uses=("relu", "sigmoid", "dense_forward"))


def _gd_step_exercise() -> Exercise:
    return Exercise("gd_step", "gd_step", "gd_step", refimpl.gd_step, _gd_step_visible,
                    _gd_step_hidden,
                    output=DictOf("new_params", None, label=lambda key: f'new_params["{key}"]'),
                    input_hints={"params": "gd_step returns NEW arrays: params[k] -= ... "
                                           "writes into the caller's params; write "
                                           "params[k] - lr * grads[k] instead."}
                    | _in_place_hints("grads"))


EXERCISES: dict[str, Callable[..., Exercise]] = {
    "relu": _relu_exercise,
    "sigmoid": _sigmoid_exercise,
    "neuron": _neuron_exercise,
    "dense_forward": _dense_forward_exercise,
    "dense_backward": _dense_backward_exercise,
    "forward_231": _forward_231_exercise,
    "predict": _predict_exercise,
    "mse": _mse_exercise,
    "bce": _bce_exercise,
    "bce_from_logits": _bce_from_logits_exercise,
    "numerical_derivative": _numerical_derivative_exercise,
    "numerical_gradient": _numerical_gradient_exercise,
    "gradient_descent": _gradient_descent_exercise,
    "backward_231": _backward_231_exercise,
    "mlp_backward": _mlp_backward_exercise,
    "neuron_loss_grads": _neuron_loss_grads_exercise,
    "Value": _value_exercise,
    "value_neuron_loss": _value_neuron_loss_exercise,
    "gradient_errors": _gradient_errors_exercise,
    "train": _train_exercise,
    "accuracy": _accuracy_exercise,
    "mlp_forward": _mlp_forward_exercise,
    "gd_step": _gd_step_exercise,
}


# Every configuration with its own cases and catalogue entry: key -> (check name, options).
CONFIGURATIONS: dict[str, tuple[str, dict[str, Any]]] = {
    **{name: (name, {}) for name in EXERCISES if name != "backward_231"},
    "backward_231_mse": ("backward_231", {"loss": "mse"}),
    "backward_231_bce": ("backward_231", {"loss": "bce"}),
}


# ---------------------------------------------------------------------------------------
# The public checks
# ---------------------------------------------------------------------------------------


def evaluate(name: str, learner_fn: Any, *, hidden: bool = False, seed: int | None = None,
             **options: Any) -> CheckResult:
    """Run the check ``name`` and return its ``CheckResult`` (no printing, no raising)."""
    __tracebackhide__ = True
    return run(exercise(name, **options), learner_fn, hidden=hidden, seed=seed)


def _conclude(result: CheckResult) -> CheckFailed | None:
    """Print the success line and return None, or return the CheckFailed to raise.

    The check function itself raises it (``raise failure from None``), so that a notebook
    shows one short frame of the autograder and no internal traceback.
    """
    if result.passed:  # green in a notebook; plain text in scripts and logs
        print(f"\x1b[32m{result.message}\x1b[0m" if in_learner_kernel() else result.message)
        return None
    return CheckFailed(result)


def relu(learner_fn: Any, *, hidden: bool = False, seed: int | None = None) -> None:
    """Check relu(Z) = max(Z, 0) entrywise (tolerance rtol=1e-7, atol=1e-10)."""
    __tracebackhide__ = True
    result = evaluate("relu", learner_fn, hidden=hidden, seed=seed)
    if (failure := _conclude(result)) is not None:
        raise failure from None


def sigmoid(learner_fn: Any, *, hidden: bool = False, seed: int | None = None) -> None:
    """Check sigmoid(Z) = 1 / (1 + exp(-Z)), including z = +-1000 (rtol=1e-7, atol=1e-10).

    The function must not overflow: an overflow inside it fails the case even when the values
    are right ([sigmoid-overflow]), because a notebook shows it as a RuntimeWarning. (Nothing
    leaks: the check records NumPy's report instead of printing it.)"""
    __tracebackhide__ = True
    result = evaluate("sigmoid", learner_fn, hidden=hidden, seed=seed)
    if (failure := _conclude(result)) is not None:
        raise failure from None


def neuron(learner_fn: Any, *, hidden: bool = False, seed: int | None = None,
           activations: tuple = ("sigmoid", "relu")) -> None:
    """Check neuron(X, w, b, activation) = f(X @ w + b), shape (n,) (rtol=1e-7, atol=1e-10).

    ``activations``: what the cases pass as ``activation`` (names or functions), in turn;
    ``(None,)`` calls ``neuron(X, w, b)`` with the learner's default activation (sigmoid)."""
    __tracebackhide__ = True
    result = evaluate("neuron", learner_fn, hidden=hidden, seed=seed,
                      activations=activations)
    if (failure := _conclude(result)) is not None:
        raise failure from None


def dense_forward(learner_fn: Any, *, hidden: bool = False, seed: int | None = None) -> None:
    """Check dense_forward(X, W, b) = X @ W + b (rtol=1e-7, atol=1e-10)."""
    __tracebackhide__ = True
    result = evaluate("dense_forward", learner_fn, hidden=hidden, seed=seed)
    if (failure := _conclude(result)) is not None:
        raise failure from None


def dense_backward(learner_fn: Any, *, hidden: bool = False, seed: int | None = None) -> None:
    """Check dense_backward(dZ, A_prev, W) -> (dA_prev, dW, db) (rtol=1e-7, atol=1e-10)."""
    __tracebackhide__ = True
    result = evaluate("dense_backward", learner_fn, hidden=hidden, seed=seed)
    if (failure := _conclude(result)) is not None:
        raise failure from None


def forward_231(learner_fn: Any, *, hidden: bool = False, seed: int | None = None) -> None:
    """Check forward_231(X, params) -> (y_hat, cache): y_hat and cache["Z1"], cache["A1"],
    cache["Z2"] (rtol=1e-7, atol=1e-10)."""
    __tracebackhide__ = True
    result = evaluate("forward_231", learner_fn, hidden=hidden, seed=seed)
    if (failure := _conclude(result)) is not None:
        raise failure from None


def predict(learner_fn: Any, *, hidden: bool = False, seed: int | None = None) -> None:
    """Check predict(X, params, threshold=0.5) -> (n, 1) floats, 1.0 where y_hat >= threshold
    (rtol=1e-7, atol=1e-10)."""
    __tracebackhide__ = True
    result = evaluate("predict", learner_fn, hidden=hidden, seed=seed)
    if (failure := _conclude(result)) is not None:
        raise failure from None


def mse(learner_fn: Any, *, hidden: bool = False, seed: int | None = None) -> None:
    """Check mse(y_hat, y) = mean((y_hat - y)**2), one float (rtol=1e-7, atol=1e-10)."""
    __tracebackhide__ = True
    result = evaluate("mse", learner_fn, hidden=hidden, seed=seed)
    if (failure := _conclude(result)) is not None:
        raise failure from None


def bce(learner_fn: Any, *, hidden: bool = False, seed: int | None = None) -> None:
    """Check bce(y_hat, y), one float, finite for predictions of exactly 0 and 1.

    Tolerance rtol=1e-5, atol=1e-6: any clipping epsilon up to about 1e-6 passes."""
    __tracebackhide__ = True
    result = evaluate("bce", learner_fn, hidden=hidden, seed=seed)
    if (failure := _conclude(result)) is not None:
        raise failure from None


def bce_from_logits(learner_fn: Any, *, hidden: bool = False, seed: int | None = None) -> None:
    """Check bce_from_logits(Z, y) = mean(log(1 + e^Z) - y Z), one float, finite and exact for
    logits up to +-1000 (rtol=1e-7, atol=1e-10)."""
    __tracebackhide__ = True
    result = evaluate("bce_from_logits", learner_fn, hidden=hidden, seed=seed)
    if (failure := _conclude(result)) is not None:
        raise failure from None


def numerical_derivative(learner_fn: Any, *, hidden: bool = False,
                         seed: int | None = None) -> None:
    """Check numerical_derivative(f, x, h) = (f(x + h) - f(x - h)) / (2h), one float
    (rtol=1e-7, atol=1e-10)."""
    __tracebackhide__ = True
    result = evaluate("numerical_derivative", learner_fn, hidden=hidden, seed=seed)
    if (failure := _conclude(result)) is not None:
        raise failure from None


def numerical_gradient(learner_fn: Any, *, hidden: bool = False, seed: int | None = None) -> None:
    """Check numerical_gradient(f, x, h): central differences (rtol=1e-6, atol=1e-8), and x
    restored bit for bit afterwards."""
    __tracebackhide__ = True
    result = evaluate("numerical_gradient", learner_fn, hidden=hidden, seed=seed)
    if (failure := _conclude(result)) is not None:
        raise failure from None


def gradient_descent(learner_fn: Any, *, hidden: bool = False, seed: int | None = None) -> None:
    """Check gradient_descent(f, grad_f, x0, lr, steps) -> (path, losses) (rtol=1e-7,
    atol=1e-10); x0 must stay unchanged."""
    __tracebackhide__ = True
    result = evaluate("gradient_descent", learner_fn, hidden=hidden, seed=seed)
    if (failure := _conclude(result)) is not None:
        raise failure from None


def backward_231(learner_fn: Any, *, loss: str = "mse", hidden: bool = False,
                 seed: int | None = None) -> None:
    """Check backward_231(X, y, params, cache) -> grads for loss "mse" or "bce" (rtol=1e-6,
    atol=1e-9). ``loss`` is passed on only if the learner's function has a ``loss``
    parameter."""
    __tracebackhide__ = True
    result = evaluate("backward_231", learner_fn, hidden=hidden, seed=seed, loss=loss)
    if (failure := _conclude(result)) is not None:
        raise failure from None


def mlp_backward(learner_fn: Any, *, loss: str = "bce", hidden_activation: str = "relu",
                 output: str = "sigmoid", hidden: bool = False, seed: int | None = None) -> None:
    """Check mlp_backward(X, y, params, cache, loss, hidden, output) -> grads (rtol=1e-6,
    atol=1e-9) on MLPs such as [2, 3, 1] and [3, 4, 4, 1].

    ``hidden_activation`` is passed to the learner's function as ``hidden=`` (the name
    ``hidden`` is taken by hidden mode here); each option is passed only if the learner's
    function accepts it."""
    __tracebackhide__ = True
    result = evaluate("mlp_backward", learner_fn, hidden=hidden, seed=seed, loss=loss,
                      hidden_activation=hidden_activation, output=output)
    if (failure := _conclude(result)) is not None:
        raise failure from None


def neuron_loss_grads(learner_fn: Any, *, hidden: bool = False, seed: int | None = None) -> None:
    """Check neuron_loss_grads(w, b, x, y) -> (dL_dw, dL_db) for L = (sigmoid(w x + b) - y)**2,
    two floats (rtol=1e-7, atol=1e-10)."""
    __tracebackhide__ = True
    result = evaluate("neuron_loss_grads", learner_fn, hidden=hidden, seed=seed)
    if (failure := _conclude(result)) is not None:
        raise failure from None


def Value(learner_class: Any, *, hidden: bool = False, seed: int | None = None) -> None:
    """Check a micrograd-style Value class against refimpl.Value (rtol=1e-7, atol=1e-9).

    Each case is a small program over leaves, e.g. ``c = a * b; out = c * c + c.relu()``,
    using only ``Value(number)``, ``a + b``, ``a - b``, ``a * b`` (both Values), ``a ** 2``,
    ``.relu()``, ``.sigmoid()``, ``out.backward()``, ``.data`` and ``.grad``. It compares
    ``out.data``, ``out.grad`` and every leaf's ``.grad`` after ``out.backward()``. The
    programs include forks (a node used twice) and a relu of exactly 0 (relu'(0) = 0)."""
    __tracebackhide__ = True
    result = evaluate("Value", learner_class, hidden=hidden, seed=seed)
    if (failure := _conclude(result)) is not None:
        raise failure from None


def value_neuron_loss(learner_fn: Any, *, hidden: bool = False, seed: int | None = None) -> None:
    """Check value_neuron_loss(w, b, x, y, Value) -> L, the Value
    (sigmoid(w x + b) - y) ** 2 (rtol=1e-7, atol=1e-10).

    The check passes refimpl.Value as ``Value`` and leaves ``w = Value(w0)``, ``b = Value(b0)``
    (x and y are floats), runs ``L.backward()`` itself and compares ``L.data``, ``w.grad``
    and ``b.grad``."""
    __tracebackhide__ = True
    result = evaluate("value_neuron_loss", learner_fn, hidden=hidden, seed=seed)
    if (failure := _conclude(result)) is not None:
        raise failure from None


def gradient_errors(learner_fn: Any, *, hidden: bool = False, seed: int | None = None) -> None:
    """Check gradient_errors(loss_fn, params, grads, h=1e-5) -> {name: max relative error}.

    Tolerance rtol=1e-3, atol=1e-6: errors below about 1e-6 (correct gradients, whose error
    is rounding noise) all count as equal; larger errors must agree to 0.1 %. params must be
    left as it was (bit for bit)."""
    __tracebackhide__ = True
    result = evaluate("gradient_errors", learner_fn, hidden=hidden, seed=seed)
    if (failure := _conclude(result)) is not None:
        raise failure from None


def train(learner_fn: Any, *, hidden: bool = False, seed: int | None = None) -> None:
    """Check train(X, y, params, lr, epochs) -> (trained_params, history) against
    refimpl.train(..., loss="bce") (rtol=1e-8, atol=1e-10).

    history["loss"][i] is the BCE before step i and history["grad_norm"][i] the norm of all
    gradients of that step (lists or arrays). params must stay unchanged. Hidden cases also
    train on study_sleep (standardized) and require a lower loss and at least 90 % accuracy
    on held-out students."""
    __tracebackhide__ = True
    result = evaluate("train", learner_fn, hidden=hidden, seed=seed)
    if (failure := _conclude(result)) is not None:
        raise failure from None


def accuracy(learner_fn: Any, *, hidden: bool = False, seed: int | None = None) -> None:
    """Check accuracy(labels, y) -> the fraction of labels equal to y, one float in [0, 1]
    (rtol=1e-7, atol=1e-10)."""
    __tracebackhide__ = True
    result = evaluate("accuracy", learner_fn, hidden=hidden, seed=seed)
    if (failure := _conclude(result)) is not None:
        raise failure from None


def mlp_forward(learner_fn: Any, *, hidden_activation: str = "relu", output: str = "sigmoid",
                hidden: bool = False, seed: int | None = None) -> None:
    """Check mlp_forward(X, params) -> (y_hat, cache) on MLPs of 1, 2 and 3 layers: y_hat and
    cache["A0"] (= X), cache["Z1"], cache["A1"], ... (rtol=1e-7, atol=1e-10).

    ``hidden_activation`` and ``output`` are passed to the learner's function as ``hidden=``
    and ``output=`` only if it accepts them."""
    __tracebackhide__ = True
    result = evaluate("mlp_forward", learner_fn, hidden=hidden, seed=seed,
                      hidden_activation=hidden_activation, output=output)
    if (failure := _conclude(result)) is not None:
        raise failure from None


def gd_step(learner_fn: Any, *, hidden: bool = False, seed: int | None = None) -> None:
    """Check gd_step(params, grads, lr) -> new params, W - lr * dW for every key (rtol=1e-7,
    atol=1e-10); params and grads must stay unchanged."""
    __tracebackhide__ = True
    result = evaluate("gd_step", learner_fn, hidden=hidden, seed=seed)
    if (failure := _conclude(result)) is not None:
        raise failure from None
