"""Notebook 05, the chain rule: neuron_loss_grads (by hand), Value (micrograd-style autodiff),
value_neuron_loss (the neuron's loss built from Values).

Each exercise is one ``Entry``: its cases, then its wrong versions, then the declaration
(reference, cases, tolerance, known mistakes, the words of its check's docstring).

The wrong versions have the learner's form, so that a test can plant one in a notebook: the
wrong ``Value`` classes are subclasses of ``refimpl.Value`` with one operation changed (called
with a check case's arguments, ``Cls(program, **leaves)``, they run the case); the wrong
``value_neuron_loss`` functions take ``(w, b, x, y, Value)`` (called with numbers only, they
run the case). The checks call every variant through the exercise's ``adapt``, like the
learner's own object.
"""

from __future__ import annotations

from functools import partial

import numpy as np

import refimpl
from autograder.checks.types import Case, DictOf, Leaf, Mistake, TupleOf
from autograder.exercises.entry import Entry
from autograder.exercises.shared_cases import N_HIDDEN
from autograder.exercises.value_programs import random_program, run_program, run_value_neuron_loss

# ---------------------------------------------------------------------------------------
# neuron_loss_grads
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


def _neuron_loss_grads(w, b, x, y, *, mode="ref"):
    a = float(refimpl.sigmoid(w * x + b))
    dL_da = (a - y) if mode == "missing-factor-2" else 2 * (a - y)
    if mode == "sign-flip":
        dL_da = -dL_da
    if mode == "missing-sigmoid-prime":
        da_dz = 1.0
    elif mode == "sigmoid-prime-of-a":
        da_dz = float(refimpl.sigmoid_prime(a))
    else:
        da_dz = a * (1 - a)
    dL_dz = dL_da * da_dz
    dL_dw = dL_dz if mode == "dw-missing-x" else dL_dz * x
    dL_db = dL_dz * x if mode == "db-times-x" else dL_dz
    return dL_dw, dL_db


NEURON_LOSS_GRADS = Entry.simple(
    "neuron_loss_grads", refimpl.neuron_loss_grads, _neuron_loss_grads_visible,
    _neuron_loss_grads_hidden,
    summary="neuron_loss_grads(w, b, x, y) -> (dL_dw, dL_db) for L = (sigmoid(w x + b) - y)**2, "
            "two floats",
    output=TupleOf((Leaf("dL_dw", scalar=True), Leaf("dL_db", scalar=True))),
    uses=("sigmoid", "sigmoid_prime"),
    mistakes=(
        Mistake("missing-sigmoid-prime", "sigma'(z) is missing from the chain",
                "L depends on z through a = sigma(z): the chain dL/dz = dL/da * da/dz needs "
                "da/dz = a (1 - a).", partial(_neuron_loss_grads, mode="missing-sigmoid-prime")),
        Mistake("missing-factor-2", "the factor 2 of the square is missing",
                "d/da of (a - y)**2 is 2 (a - y).",
                partial(_neuron_loss_grads, mode="missing-factor-2")),
        Mistake("db-times-x", "dL/db has an extra factor x",
                "z = w x + b: dz/dw = x but dz/db = 1.",
                partial(_neuron_loss_grads, mode="db-times-x")),
        Mistake("dw-missing-x", "dL/dw is missing the factor x",
                "z = w x + b, so dz/dw = x: the last link of the chain for w.",
                partial(_neuron_loss_grads, mode="dw-missing-x")),
        Mistake("sign-flip", "both gradients have the wrong sign",
                "d/da of (a - y)**2 is 2 (a - y), not 2 (y - a).",
                partial(_neuron_loss_grads, mode="sign-flip")),
        Mistake("sigmoid-prime-of-a", "sigma'(a) instead of sigma'(z)",
                "da/dz = sigma'(z) = a (1 - a): apply the formula to a, do not take the "
                "sigmoid of a again.", partial(_neuron_loss_grads, mode="sigmoid-prime-of-a")),
    ))


# ---------------------------------------------------------------------------------------
# Value: its cases are programs over leaves
# ---------------------------------------------------------------------------------------

# The operations a + b, a - b, a * b, a ** 2, .relu(), .sigmoid() on Values only (see
# autograder/exercises/value_programs.py).
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


# ---------------------------------------------------------------------------------------
# Value: the wrong classes
# ---------------------------------------------------------------------------------------


class _WrongValue(refimpl.Value):
    """Base of the wrong Value classes below: each overrides one thing of refimpl.Value.

    Like every variant, a wrong class can be called with a check case's arguments:
    ``Cls(program, **leaves)`` runs the program with it (``run_program``) and returns the
    results. Called with a number it is an ordinary Value (in a notebook, too).
    """

    def __new__(cls, data=0.0, *args, **kwargs):
        if isinstance(data, str):  # a check case: (program, **leaves)
            return run_program(cls, data, kwargs)
        return super().__new__(cls)


def _topological(root) -> list:
    topo, seen = [], set()

    def build(node):
        if node not in seen:
            seen.add(node)
            for child in node._prev:
                build(child)
            topo.append(node)

    build(root)
    return topo


class _GradOverwritten(_WrongValue):
    """Every _backward assigns (=) instead of adding (+=)."""

    def __add__(self, other):
        other = self._wrap(other)
        out = type(self)(self.data + other.data, (self, other), "+")

        def _backward():
            self.grad = out.grad
            other.grad = out.grad

        out._backward = _backward
        return out

    def __mul__(self, other):
        other = self._wrap(other)
        out = type(self)(self.data * other.data, (self, other), "*")

        def _backward():
            self.grad = other.data * out.grad
            other.grad = self.data * out.grad

        out._backward = _backward
        return out

    def __pow__(self, k):
        out = type(self)(self.data**k, (self,), f"**{k}")

        def _backward():
            self.grad = k * self.data ** (k - 1) * out.grad

        out._backward = _backward
        return out

    def relu(self):
        out = type(self)(max(self.data, 0.0), (self,), "relu")

        def _backward():
            self.grad = (self.data > 0) * out.grad

        out._backward = _backward
        return out

    def sigmoid(self):
        s = float(refimpl.sigmoid(self.data))
        out = type(self)(s, (self,), "sigmoid")

        def _backward():
            self.grad = s * (1 - s) * out.grad

        out._backward = _backward
        return out


class _NotTopological(_WrongValue):
    """backward() walks the graph depth-first and calls _backward on the way down."""

    def backward(self):
        self.grad = 1.0

        def visit(node):
            node._backward()
            for child in node._prev:
                visit(child)

        visit(self)


class _NoSeed(_WrongValue):
    """backward() forgets self.grad = 1."""

    def backward(self):
        for node in reversed(_topological(self)):
            node._backward()


class _MulGradSwapped(_WrongValue):
    """a * b passes a.data to a and b.data to b."""

    def __mul__(self, other):
        other = self._wrap(other)
        out = type(self)(self.data * other.data, (self, other), "*")

        def _backward():
            self.grad += self.data * out.grad
            other.grad += other.data * out.grad

        out._backward = _backward
        return out


class _SigmoidGradFromInput(_WrongValue):
    """sigmoid's _backward uses x (1 - x) with x the INPUT."""

    def sigmoid(self):
        out = type(self)(float(refimpl.sigmoid(self.data)), (self,), "sigmoid")

        def _backward():
            self.grad += self.data * (1 - self.data) * out.grad

        out._backward = _backward
        return out


class _ReluPrimeAtZero(_WrongValue):
    """relu passes the gradient where x >= 0 (relu'(0) = 1)."""

    def relu(self):
        out = type(self)(max(self.data, 0.0), (self,), "relu")

        def _backward():
            self.grad += (self.data >= 0) * out.grad

        out._backward = _backward
        return out


VALUE = Entry.simple(
    "Value", _value_reference, _value_visible, _value_hidden,
    summary="a micrograd-style Value class against refimpl.Value",
    tolerance_why="Different correct classes differ by the order of additions into .grad, "
                  "about 1e-16 relative; atol absorbs the rounding of gradients that cancel "
                  "to about 0.",
    details="Each case is a small program over leaves, e.g. ``c = a * b; out = c * c + "
            "c.relu()``, using only ``Value(number)``, ``a + b``, ``a - b``, ``a * b`` (both "
            "Values), ``a ** 2``, ``.relu()``, ``.sigmoid()``, ``out.backward()``, ``.data`` "
            "and ``.grad``. It compares ``out.data``, ``out.grad`` and every leaf's ``.grad`` "
            "after ``out.backward()``. The programs include forks (a node used twice) and a "
            "relu of exactly 0 (relu'(0) = 0).",
    learner="learner_class",
    output=DictOf("results", None, label=str, scalar=True), atol=1e-9,
    diagnose=_value_diagnose, part_order=_value_order, driver="value_class",
    mistakes=(
        Mistake("grad-overwritten", "gradients are overwritten (=) instead of accumulated (+=)",
                "A Value used twice (a * a, or a in two branches) must receive the SUM of "
                "both contributions: in every _backward, add into .grad with +=.",
                _GradOverwritten),
        Mistake("backward-not-topological", "backward() visits the nodes in the wrong order",
                "A node may pass its gradient on only after EVERY node that uses it has added "
                "its share: build a topological order first (each node after its inputs), "
                "then call each node's _backward once, in reverse order.", _NotTopological),
        Mistake("backward-no-seed", "backward() does not start with out.grad = 1",
                "The chain rule starts at the output, dout/dout = 1: set self.grad = 1.0 in "
                "backward() before calling the _backward functions.", _NoSeed),
        Mistake("mul-grad-swapped", "the local derivatives of a * b are swapped",
                "For out = a * b, dout/da = b and dout/db = a: each input's gradient uses the "
                "OTHER input's data.", _MulGradSwapped),
        Mistake("sigmoid-grad-from-input", "sigmoid's derivative computed from its input",
                "sigma'(x) = s (1 - s) with s = sigma(x), the sigmoid's OUTPUT (out.data), "
                "not its input x.", _SigmoidGradFromInput),
        Mistake("relu-prime-at-zero", "relu'(0) taken as 1",
                "This course uses relu'(0) = 0: pass the gradient on only where the input is "
                "strictly positive (look at your comparison operator).", _ReluPrimeAtZero),
    ))


# ---------------------------------------------------------------------------------------
# value_neuron_loss
# ---------------------------------------------------------------------------------------


def _value_neuron_loss_visible() -> list[Case]:
    return [Case((w, b, x, y), label=f"w = {w:g}, b = {b:g}, x = {x:g}, y = {y:g}")
            for w, b, x, y in ((0.5, 0.1, 1.5, 1.0), (-1.2, 0.4, 2.0, 0.0),
                               (0.8, -0.3, -0.5, 0.3))]


def _value_neuron_loss_reference(w, b, x, y, Value=None):
    """L = (sigmoid(w x + b) - y) ** 2 built from Values; called with numbers only (no Value
    class), it runs as a check case (``run_value_neuron_loss``)."""
    if Value is None:
        return run_value_neuron_loss(_value_neuron_loss_reference, w, b, x, y, refimpl.Value)
    a = (w * Value(x) + b).sigmoid()
    return (a - Value(y)) ** 2


def _value_neuron_loss_diagnose(correct: list[str], wrong: list[str]) -> str | None:
    if "L.data" in wrong:
        return "L.data is already wrong: check the formula L = (sigmoid(w x + b) - y) ** 2."
    return ("L.data is right but the gradients are not: L must be built from w and b with "
            "Value operations only, and returned without calling backward().")


def _value_loss(w, b, x, y, Value=None, *, mode="ref"):
    """value_neuron_loss with one thing wrong; called with numbers only (no Value class),
    it runs as a check case (``run_value_neuron_loss``)."""
    if Value is None:
        return run_value_neuron_loss(partial(_value_loss, mode=mode), w, b, x, y,
                                     refimpl.Value)
    if mode == "from-data":  # a float computation wrapped at the end: the graph is cut
        a = float(refimpl.sigmoid(w.data * x + b.data))
        return Value((a - y) ** 2)
    z = w * Value(x) if mode == "no-bias" else w * Value(x) + b
    a = z if mode == "no-sigmoid" else z.sigmoid()
    L = a - Value(y) if mode == "no-square" else (a - Value(y)) ** 2
    if mode == "backward-inside":
        L.backward()
    return L


VALUE_NEURON_LOSS = Entry.simple(
    "value_neuron_loss", _value_neuron_loss_reference, _value_neuron_loss_visible,
    _neuron_loss_grads_hidden,
    summary="value_neuron_loss(w, b, x, y, Value) -> L, the Value (sigmoid(w x + b) - y) ** 2",
    details="The check passes refimpl.Value as ``Value`` and leaves ``w = Value(w0)``, ``b = "
            "Value(b0)`` (x and y are floats), runs ``L.backward()`` itself and compares "
            "``L.data``, ``w.grad`` and ``b.grad``.",
    output=DictOf("results", None, label=str, scalar=True),
    diagnose=_value_neuron_loss_diagnose, driver="value_neuron_loss",
    driver_context=lambda: {"Value": refimpl.Value},
    mistakes=(
        Mistake("sigmoid-missing", "the sigmoid is missing",
                "The neuron's output is a = sigma(z) with z = w x + b: call .sigmoid() on z.",
                partial(_value_loss, mode="no-sigmoid")),
        Mistake("bias-missing", "the bias is missing",
                "z = w x + b: add b.", partial(_value_loss, mode="no-bias")),
        Mistake("loss-not-squared", "the error a - y is not squared",
                "L = (a - y) ** 2.", partial(_value_loss, mode="no-square")),
        Mistake("graph-cut", "L is computed from w.data and b.data",
                "Numbers taken out of a Value (.data) are no longer connected to it: build L "
                "with Value operations on w and b themselves, so that L.backward() reaches "
                "them.", partial(_value_loss, mode="from-data")),
        Mistake("backward-inside", "the function calls L.backward() itself",
                "Return L without calling backward(): the caller runs L.backward() once, and "
                "a second call adds the gradients again.",
                partial(_value_loss, mode="backward-inside")),
    ))


ENTRIES = (NEURON_LOSS_GRADS, VALUE, VALUE_NEURON_LOSS)
