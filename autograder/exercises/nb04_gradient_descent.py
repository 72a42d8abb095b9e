"""Notebook 04, gradient descent: numerical_derivative, numerical_gradient, gradient_descent.

Each exercise is one ``Entry``: its cases (with the test functions they hand to the learner's
function), then its wrong versions, then the declaration (reference, cases, tolerance, known
mistakes, the words of its check's docstring).
"""

from __future__ import annotations

from functools import partial

import numpy as np

import refimpl
from autograder.checks import formatting as fmt
from autograder.checks.types import SCALAR, Case, Leaf, Mistake, TupleOf
from autograder.exercises.entry import Entry
from autograder.exercises.shared_cases import N_HIDDEN, array

# ---------------------------------------------------------------------------------------
# numerical_derivative
# ---------------------------------------------------------------------------------------


def _cube(x: float) -> float:
    """f(x) = x**3."""
    return x**3


def _exp(x: float) -> float:
    """f(x) = exp(x)."""
    return float(np.exp(x))


class _Polynomial:
    """f(x) = a x**3 + b x**2 + c x, for hidden cases."""

    def __init__(self, a: float, b: float, c: float) -> None:
        self.a, self.b, self.c = a, b, c

    def __call__(self, x: float) -> float:
        return self.a * x**3 + self.b * x**2 + self.c * x


def _numerical_derivative_visible() -> list[Case]:
    return [
        Case((_cube, 2.0, 1e-3), label="f(x) = x**3 at x = 2, h = 1e-3"),
        Case((np.sin, 1.0, 1e-2), label="f(x) = sin(x) at x = 1, h = 1e-2"),
        Case((_exp, 0.5, 1e-1), label="f(x) = exp(x) at x = 0.5, h = 0.1"),
    ]


def _numerical_derivative_hidden(rng: np.random.Generator) -> list[Case]:
    cases = []
    for i in range(N_HIDDEN):
        a, b, c = rng.uniform(0.5, 2.0, 3) * rng.choice([-1.0, 1.0], 3)
        f = _Polynomial(float(a), float(b), float(c))
        x, h = float(rng.uniform(-2.0, 2.0)), [1e-1, 1e-2, 1e-3][i % 3]
        cases.append(Case((f, x, h), label="a cubic polynomial, a random x and step h"))
    return cases


def _numerical_derivative(f, x, h=1e-5, *, mode="ref"):
    if mode == "forward":
        return (f(x + h) - f(x)) / h
    if mode == "backward":
        return (f(x) - f(x - h)) / h
    if mode == "divides-by-h":
        return (f(x + h) - f(x - h)) / h
    if mode == "ignores-h":
        return (f(x + 1e-5) - f(x - 1e-5)) / (2 * 1e-5)
    raise ValueError(mode)


NUMERICAL_DERIVATIVE = Entry.simple(
    "numerical_derivative", refimpl.numerical_derivative, _numerical_derivative_visible,
    _numerical_derivative_hidden,
    summary="numerical_derivative(f, x, h) = (f(x + h) - f(x - h)) / (2h), one float",
    output=SCALAR,
    mistakes=(
        Mistake("forward-difference", "a forward difference instead of a central one",
                "Evaluate f on BOTH sides, at x + h and x - h: the error of the central "
                "difference shrinks like h**2 instead of h.",
                partial(_numerical_derivative, mode="forward")),
        Mistake("backward-difference", "a backward difference instead of a central one",
                "Evaluate f on BOTH sides, at x + h and x - h.",
                partial(_numerical_derivative, mode="backward")),
        Mistake("missing-2-in-2h", "divided by h instead of 2h",
                "x + h and x - h are 2h apart.",
                partial(_numerical_derivative, mode="divides-by-h")),
        Mistake("ignores-h", "the step h argument is ignored",
                "Use the h you were given: the notebook studies how the error depends on it.",
                partial(_numerical_derivative, mode="ignores-h")),
    ))


# ---------------------------------------------------------------------------------------
# numerical_gradient
# ---------------------------------------------------------------------------------------


def _cube_sum(x: np.ndarray) -> float:
    """f(x) = sum(x**3)."""
    return float(np.sum(np.asarray(x) ** 3))


def _coupled(x: np.ndarray) -> float:
    """f(x) = sum(x**2) * sum(x) + sum(sin(x)): every partial derivative depends on all x."""
    x = np.asarray(x)
    return float(np.sum(x**2) * np.sum(x) + np.sum(np.sin(x)))


class _RandomCubic:
    """f(x) = sum(a * x**3) + (c . x)**2 with fixed random a, c (a non-separable test f)."""

    def __init__(self, a: np.ndarray, c: np.ndarray) -> None:
        self.a, self.c = a, c

    def __call__(self, x: np.ndarray) -> float:
        x = np.asarray(x)
        return float(np.sum(self.a * x**3) + np.sum(self.c * x) ** 2)


def _numerical_gradient_visible() -> list[Case]:
    return [
        Case((_cube_sum, array([-1.0, 0.5, 2.0]), 1e-5),
             label="f(x) = sum(x**3), x of shape (3,), h = 1e-5"),
        Case((_coupled, array([[0.5, -1.0], [1.5, 0.2]]), 1e-4),
             label="f(x) = sum(x**2) * sum(x) + sum(sin(x)), x of shape (2, 2), h = 1e-4"),
        Case((_cube_sum, array([1.5, -0.7]), 1e-2), label="f(x) = sum(x**3), shape (2,), h = 1e-2"),
    ]


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


def _numerical_gradient(f, x, h=1e-5, *, mode="ref"):
    if mode == "ignores-h":
        h = 1e-5
    if mode == "perturbs-all":
        return np.full(np.shape(x), (f(x + h) - f(x - h)) / (2 * h))
    grad = np.zeros(np.shape(x), dtype=np.float64)
    for i in np.ndindex(*np.shape(x)):
        old = x[i]
        x[i] = old + h
        f_plus = f(x)
        if mode == "forward":
            x[i] = old
            grad[i] = (f_plus - f(x)) / h
            continue
        x[i] = old - h
        f_minus = f(x)
        if mode != "not-restored":
            x[i] = old
        grad[i] = (f_plus - f_minus) / (h if mode == "divides-by-h" else 2 * h)
    return grad


NUMERICAL_GRADIENT = Entry.simple(
    "numerical_gradient", refimpl.numerical_gradient, _numerical_gradient_visible,
    _numerical_gradient_hidden,
    summary="numerical_gradient(f, x, h): central differences, and x restored bit for bit "
            "afterwards",
    tolerance_why="Central differences of different but correct codes differ by rounding, "
                  "about eps * |f| / h.",
    rtol=1e-6, atol=1e-8,
    input_hints={"x": "numerical_gradient may perturb x while it works but must put back every "
                      "entry it changes: afterwards x must be bit-for-bit what it was (save "
                      "old = x[i], restore x[i] = old, ideally in a finally: block)."},
    mistakes=(
        Mistake("forward-difference", "a forward difference instead of a central one",
                "Evaluate f on BOTH sides of x[i] (x[i] + h and x[i] - h): the central "
                "difference is far more accurate.",
                partial(_numerical_gradient, mode="forward")),
        Mistake("missing-2-in-2h", "divided by h instead of 2h",
                "x[i] + h and x[i] - h are 2h apart.",
                partial(_numerical_gradient, mode="divides-by-h")),
        Mistake("x-not-restored", "x is not restored after perturbing it",
                "After the two evaluations, put x[i] back to its old value, so that x is "
                "unchanged when the function returns (and the next entries see the right x).",
                partial(_numerical_gradient, mode="not-restored")),
        Mistake("ignores-h", "the step size argument h is ignored",
                "Use the h passed in by the caller.",
                partial(_numerical_gradient, mode="ignores-h")),
        Mistake("perturbs-all-entries", "all entries are perturbed at once",
                "x + h shifts EVERY entry; a partial derivative changes one entry x[i] at "
                "a time.", partial(_numerical_gradient, mode="perturbs-all")),
    ))


# ---------------------------------------------------------------------------------------
# gradient_descent
# ---------------------------------------------------------------------------------------


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
    bowl = _Bowl(array([1.0, 1.0]), array([1.0, -2.0]))
    stretched = _Bowl(array([1.0, 10.0]), array([0.0, 0.0]))
    return [
        Case((bowl.f, bowl.grad, array([0.0, 0.0]), 0.1, 5),
             label="f(x) = sum((x - [1, -2])**2), x0 = [0, 0], lr = 0.1, 5 steps"),
        Case((stretched.f, stretched.grad, array([2.0, 1.0]), 0.04, 4),
             label="f(x) = x0**2 + 10 x1**2, x0 = [2, 1], lr = 0.04, 4 steps"),
        Case((_quartic, _quartic_grad, array([1.0]), 0.1, 3),
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


def _gradient_descent(f, grad_f, x0, lr, steps, *, mode="ref"):
    if mode == "in-place":
        x = x0  # the caller's array: every update below writes into it
        path = [x.copy()]
        for _ in range(steps):
            x -= lr * grad_f(x)
            path.append(x.copy())
    else:
        x = np.array(x0, dtype=np.float64)
        path = [x.copy()]
        for _ in range(steps):
            step = grad_f(x) if mode == "missing-lr" else lr * grad_f(x)
            x = x + step if mode == "ascent" else x - step
            path.append(x.copy())
        if mode == "without-x0":
            path = path[1:]
    path = np.array(path)
    return path, np.array([f(p) for p in path], dtype=np.float64)


GRADIENT_DESCENT = Entry.simple(
    "gradient_descent", refimpl.gradient_descent, _gradient_descent_visible,
    _gradient_descent_hidden,
    summary="gradient_descent(f, grad_f, x0, lr, steps) -> (path, losses); x0 must stay "
            "unchanged",
    output=TupleOf((Leaf("path"), Leaf("losses"))),
    input_hints={"x0": "x = x0 does not copy: x -= lr * g then writes into x0. Start from "
                       "x = x0.copy() or write x = x - lr * g."},
    mistakes=(
        Mistake("gd-ascent", "a step uphill (+ instead of -)",
                "The gradient points uphill; descent goes the other way.",
                partial(_gradient_descent, mode="ascent")),
        Mistake("path-without-x0", "the path does not start at x0",
                "path[0] is x0 and losses[0] is f(x0): steps updates give steps + 1 points.",
                partial(_gradient_descent, mode="without-x0")),
        Mistake("gd-missing-lr", "the learning rate is not used",
                "Each step moves by lr times the gradient.",
                partial(_gradient_descent, mode="missing-lr")),
        Mistake("gd-in-place-update", "x0 is updated in place",
                "x = x0 makes x another name for the caller's array, and x -= ... writes "
                "into it: start from a copy, or write x = x - ....",
                partial(_gradient_descent, mode="in-place")),
    ))


ENTRIES = (NUMERICAL_DERIVATIVE, NUMERICAL_GRADIENT, GRADIENT_DESCENT)
