"""Driving a learner's micrograd-style ``Value`` class (the cases of check.Value and
check.value_neuron_loss).

A Value case is a small PROGRAM of assignments in Python syntax over named leaves::

    c = a * b; d = c + a; out = d * d + c.relu()

``run_program(Value, program, leaves)`` makes every leaf ``Value(number)``, runs the
program with exactly these operations of two Values or one Value::

    a + b    a - b    a * b    a ** 2    a.relu()    a.sigmoid()

then ``out.backward()``, and returns ``{"out.data", "out.grad", "a.grad", "b.grad", ...}``
as floats. Nothing else of the class is used (no ``_prev``, no ``_backward``, no numbers
mixed with Values), so any implementation of that behaviour passes. What the class does
wrong in the process (a missing method, an operation that returns a float, an exception)
is raised as a ``LearnerProblem`` naming the operation, never with a leaf's value.

``run_value_neuron_loss(fn, w, b, x, y)`` calls ``fn(Value(w), Value(b), x, y, Value)``
with the reference ``refimpl.Value``, runs ``L.backward()`` and returns
``{"L.data", "w.grad", "b.grad"}``.

``random_program(rng)`` draws the hidden programs: every one contains each operation,
a node used twice by one operation (``p * p``), an intermediate node used by two later
operations, and a relu of exactly 0 (two leaves with the same value, ``(a - e).relu()``).
"""

from __future__ import annotations

import ast
import inspect
from collections.abc import Callable, Mapping
from numbers import Real
from typing import Any

import numpy as np

import refimpl
from autograder import formatting as fmt
from autograder.engine import LearnerProblem

__all__ = ["INTERFACE", "random_program", "run_program", "run_value_neuron_loss"]

# The class is called Value in every message, whatever its __name__ (the notebook's is).
_CLASS = "Value"

# Every method the check uses, and how a program uses it (all of them are required, so a
# missing one is reported on the first case, whatever that case's program needs).
INTERFACE = (("__add__", "a + b"), ("__sub__", "a - b"), ("__mul__", "a * b"),
             ("__pow__", "a ** 2"), ("relu", "x.relu()"), ("sigmoid", "x.sigmoid()"),
             ("backward", "out.backward()"))


# ---------------------------------------------------------------------------------------
# Programs
# ---------------------------------------------------------------------------------------


def _parse(program: str) -> list[tuple[str, ast.expr]]:
    """The (target, expression) assignments of a program; the last target is ``out``."""
    statements = []
    for node in ast.parse(program).body:
        if not (isinstance(node, ast.Assign) and len(node.targets) == 1
                and isinstance(node.targets[0], ast.Name)):
            raise ValueError(f"internal: not an assignment in {program!r}")
        statements.append((node.targets[0].id, node.value))
    if not statements or statements[-1][0] != "out":
        raise ValueError(f"internal: {program!r} must end with out = ...")
    return statements


def _missing_methods(cls: type) -> None:
    """A LearnerProblem naming every method of INTERFACE that ``cls`` lacks."""
    missing = [(method, example) for method, example in INTERFACE
               if not callable(getattr(cls, method, None))]
    if not missing:
        return
    text = (f"{_CLASS} has no method "
            + fmt.join_names([f"{method} (for {example})" for method, example in missing])
            + ": the check builds and differentiates expressions with "
            + ", ".join(example for _, example in INTERFACE) + ".")
    if any(method.startswith("__") for method, _ in missing):
        text += (" Python turns a + b into a.__add__(b), a - b into a.__sub__(b), "
                 "a * b into a.__mul__(b) and a ** 2 into a.__pow__(2).")
    raise LearnerProblem(text, "interface")


def _is_value(obj: Any) -> bool:
    return all(hasattr(obj, name) for name in ("data", "grad", "backward"))


def _returned(obj: Any, text: str) -> None:
    """A LearnerProblem unless ``obj``, the result of ``text``, looks like a Value."""
    if _is_value(obj):
        return
    if obj is None:
        raise LearnerProblem(f"{text} returned None: did you forget to return the new "
                             "Value (return out)?", "interface")
    if isinstance(obj, Real | np.ndarray):
        raise LearnerProblem(
            f"{text} returned {fmt.describe_type(obj)} instead of a Value. An operation must "
            "return a NEW Value that remembers its inputs and how to pass gradients back to "
            "them (out = Value(..., (self, other)) with out._backward set); a plain number is "
            "a dead end for backward().", "interface")
    raise LearnerProblem(f"{text} returned {fmt.describe_type(obj)}, expected a Value (with "
                         ".data, .grad and .backward()).", "interface")


def _number(value: Any, what: str) -> float:
    """``value`` as a float, or a LearnerProblem saying what ``what`` holds instead."""
    if isinstance(value, np.ndarray) and value.size == 1:
        value = value.reshape(()).item()
    if isinstance(value, Real) and not isinstance(value, bool):
        return float(value)
    if _is_value(value):
        if what.endswith(".grad"):
            raise LearnerProblem(
                f"{what} is a Value, expected a plain number: inside each _backward, add "
                "numbers (for a product, other.data * out.grad), not Values.", "interface")
        raise LearnerProblem(f"{what} is a Value, expected a plain number: .data holds the "
                             "number, computed from the inputs' .data.", "interface")
    raise LearnerProblem(f"{what} is {fmt.describe_type(value)}, expected a number.",
                         "interface")


def _call(text: str, operation: Callable[[], Any]) -> Any:
    """Run one operation of the learner's class; its exceptions become LearnerProblems
    naming the operation (NotImplementedError passes: the check says "not implemented")."""
    __tracebackhide__ = True
    try:
        return operation()
    except (NotImplementedError, KeyboardInterrupt):
        raise
    except Exception as exc:
        raise LearnerProblem(f"{text} raised {type(exc).__name__}: {exc}",
                             "exception") from exc


def _leaf(cls: type, value: float) -> Any:
    """``cls(value)``, checked: .data is the number, .grad starts at 0."""
    leaf = _call(f"{_CLASS}(x)", lambda: cls(value))
    for attribute, advice in (("data", "store the number: self.data = data"),
                              ("grad", "start it at 0: self.grad = 0.0")):
        if not hasattr(leaf, attribute):
            raise LearnerProblem(f"{_CLASS}(x) has no attribute {attribute}: in __init__, "
                                 f"{advice}.", "interface")
    if _number(leaf.data, f"{_CLASS}(x).data") != value:
        raise LearnerProblem(f"{_CLASS}(x).data is not the number x: __init__ must keep it "
                             "as it is (self.data = data).", "interface")
    grad = leaf.grad
    if not (isinstance(grad, Real) and not isinstance(grad, bool) and grad == 0):
        what = "not 0" if isinstance(grad, Real) else fmt.describe_type(grad)
        raise LearnerProblem(
            f"A new Value must start with grad 0 (nothing has flowed back yet), but "
            f"{_CLASS}(x).grad is {what}: in __init__, set self.grad = 0.0, so that every "
            "_backward can add into it.", "interface")
    return leaf


def _evaluate(node: ast.expr, env: Mapping[str, Any]) -> Any:
    __tracebackhide__ = True
    if isinstance(node, ast.Name):
        return env[node.id]
    text = ast.unparse(node)
    if isinstance(node, ast.BinOp):
        left = _evaluate(node.left, env)
        if isinstance(node.op, ast.Pow):
            exponent = node.right.value  # a constant: only ** 2 is used
            result = _call(text, lambda: left**exponent)
        else:
            right = _evaluate(node.right, env)
            operator = {ast.Add: lambda: left + right, ast.Sub: lambda: left - right,
                        ast.Mult: lambda: left * right}[type(node.op)]
            result = _call(text, operator)
    else:  # x.relu() or x.sigmoid()
        operand = _evaluate(node.func.value, env)
        result = _call(text, getattr(operand, node.func.attr))
    _returned(result, text)
    return result


def run_program(cls: type, program: str, leaves: Mapping[str, float]) -> dict[str, float]:
    """Run ``program`` with the class ``cls`` and backpropagate from ``out``.

    Parameters
    ----------
    cls : the learner's Value class (or ``refimpl.Value``)
    program : assignments such as ``"c = a * b; out = c * c + c.relu()"``
    leaves : the leaves' names and numbers, e.g. ``{"a": 2.0, "b": -1.5}``

    Returns
    -------
    dict of float: ``out.data``, ``out.grad`` and ``<leaf>.grad`` for every leaf.

    Raises
    ------
    LearnerProblem
        When the class lacks a method of ``INTERFACE``, an operation raises or returns
        something other than a Value, or a .data/.grad is not a number.
    """
    __tracebackhide__ = True
    statements = _parse(program)
    _missing_methods(cls)
    env = {name: _leaf(cls, float(value)) for name, value in leaves.items()}
    nodes = dict(env)
    for target, expr in statements:
        nodes[target] = _evaluate(expr, nodes)
    out = nodes["out"]
    _call("out.backward()", out.backward)
    results = {"out.data": _number(out.data, "out.data"),
               "out.grad": _number(out.grad, "out.grad")}
    for name, leaf in env.items():
        results[f"{name}.grad"] = _number(leaf.grad, f"{name}.grad")
    return results


# ---------------------------------------------------------------------------------------
# value_neuron_loss
# ---------------------------------------------------------------------------------------

_LOSS_CALL = "value_neuron_loss(w, b, x, y, Value)"


def run_value_neuron_loss(fn: Callable[..., Any], w: float, b: float, x: float,
                          y: float) -> dict[str, float]:
    """``L = fn(Value(w), Value(b), x, y, Value)`` with ``refimpl.Value``, then
    ``L.backward()``: returns ``{"L.data", "w.grad", "b.grad"}``.

    Raises
    ------
    LearnerProblem
        When fn cannot be called that way or does not return a Value.
    """
    __tracebackhide__ = True
    Value = refimpl.Value
    w_leaf, b_leaf = Value(w), Value(b)
    try:
        inspect.signature(fn).bind(w_leaf, b_leaf, x, y, Value)
    except TypeError as exc:
        raise LearnerProblem(
            f"Your function cannot be called as {_LOSS_CALL}: {exc}. Its parameters are "
            f"{_signature(fn)}; the exercise needs (w, b, x, y, Value).", "signature") from None
    except ValueError:  # no signature to inspect (a builtin): just call it
        pass
    L = fn(w_leaf, b_leaf, x, y, Value)
    if not _is_value(L) and isinstance(L, Real | np.ndarray):
        raise LearnerProblem(
            f"{_LOSS_CALL} returned {fmt.describe_type(L)} instead of a Value: build L from "
            "w and b with Value operations (not from w.data and b.data), so that "
            "L.backward() can reach w and b.", "interface")
    _returned(L, _LOSS_CALL)
    _call("L.backward()", L.backward)
    return {"L.data": _number(L.data, "L.data"), "w.grad": _number(w_leaf.grad, "w.grad"),
            "b.grad": _number(b_leaf.grad, "b.grad")}


def _signature(fn: Callable[..., Any]) -> str:
    try:
        return str(inspect.signature(fn))
    except (TypeError, ValueError):
        return "(...)"


# ---------------------------------------------------------------------------------------
# Random programs (hidden cases)
# ---------------------------------------------------------------------------------------

_TEMPORARIES = "pqrstuvghijkmn"  # intermediate names: letters only (no digits in messages)

# Programs whose intermediate values exceed this are drawn again: repeated squaring would
# otherwise reach 1e18, and a plain math.exp sigmoid overflows beyond |x| = 709.
_MAX_NODE_VALUE = 10.0


def random_program(rng: np.random.Generator, extra_ops: int = 2) -> tuple[str, dict[str, float]]:
    """A random program over 3 to 5 leaves with every operation, forks and a relu(0).

    Every intermediate value stays within +-10 (other programs are drawn again).

    Returns
    -------
    program : str, assignments ending with ``out = ...``
    leaves : dict of float, the leaves' values (two of them equal: the relu(0) pair)
    """
    while True:
        program, leaves = _draw_program(rng, extra_ops)
        nodes = {name: refimpl.Value(value) for name, value in leaves.items()}
        for target, expr in _parse(program):
            nodes[target] = _evaluate(expr, nodes)
        if max(abs(node.data) for node in nodes.values()) <= _MAX_NODE_VALUE:
            return program, leaves


def _draw_program(rng: np.random.Generator, extra_ops: int) -> tuple[str, dict[str, float]]:
    n_leaves = int(rng.integers(3, 6))
    names = "abcde"[:n_leaves]
    values = rng.choice([-1.0, 1.0], n_leaves) * rng.uniform(0.3, 2.0, n_leaves)
    values[-1] = values[0]  # a - e is exactly 0: relu'(0) decides a's and e's gradient
    leaves = {name: float(v) for name, v in zip(names, values, strict=True)}

    lines: list[str] = []
    pool: list[str] = list(names)  # nodes available as operands
    unused: list[str] = list(names)  # nodes no operation has used yet (summed into out)
    final: list[str] = []  # nodes reserved for the final sum

    def new(expr: str, *operands: str) -> str:
        name = _TEMPORARIES[len(lines)]
        lines.append(f"{name} = {expr}")
        for operand in operands:
            if operand in unused:
                unused.remove(operand)
        pool.append(name)
        unused.append(name)
        return name

    def pick() -> str:
        if unused and rng.random() < 0.7:
            return str(rng.choice(unused))
        return str(rng.choice(pool))

    def two() -> tuple[str, str]:
        first = pick()
        second = pick()
        while second == first and len(pool) > 1:
            second = str(rng.choice(pool))
        return first, second

    def binary(op: str) -> str:
        x, y = two()
        return new(f"{x} {op} {y}", x, y)

    def unary(kind: str) -> str:
        x = pick()
        expr = f"{x} ** 2" if kind == "square" else f"{x}.{kind}()"
        return new(expr, x)

    motifs = ["relu-at-zero", "self-product", "two-parents", "add", "sub", "mul",
              "square", "relu", "sigmoid"]
    motifs += list(rng.choice(["add", "sub", "mul", "square", "relu", "sigmoid"], extra_ops))
    rng.shuffle(motifs)
    for motif in motifs:
        if motif == "relu-at-zero":
            zero = new(f"({names[0]} - {names[-1]}).relu()", names[0], names[-1])
            pool.remove(zero)  # straight into the sum: its upstream gradient is 1
            unused.remove(zero)
            final.append(zero)
        elif motif == "self-product":  # one node used twice by ONE operation
            x = pick()
            new(f"{x} * {x}", x)
        elif motif == "two-parents":  # an intermediate node used by TWO later operations
            shared = binary(str(rng.choice(["+", "*", "-"])))
            other = pick()
            new(f"{shared} * {other}" if other != shared else f"{shared} + {shared}",
                shared, other)
            new(f"{shared}.{rng.choice(['relu', 'sigmoid'])}()" if rng.random() < 0.5
                else f"{shared} ** 2", shared)
        elif motif in ("add", "sub", "mul"):
            binary({"add": "+", "sub": "-", "mul": "*"}[motif])
        else:
            unary(motif)
    lines.append("out = " + " + ".join(unused + final))
    return "; ".join(lines), leaves
