"""How the checks call objects that are not plain functions, where the learner's code lives.

An exercise names its driver (``Exercise.driver``); ``adapt(name, obj, **context)`` turns
the learner's object into the callable that a check calls on each case. The learner's own
kernel and the grading worker use the same drivers, so a check behaves the same in both.

- ``value_class``: a micrograd-style ``Value`` class runs a small PROGRAM of assignments
  over named leaves, ``c = a * b; d = c + a; out = d * d + c.relu()``, with exactly these
  operations of two Values or one Value: ``a + b, a - b, a * b, a ** 2, a.relu(),
  a.sigmoid()``, then ``out.backward()``; the case's result is ``{"out.data", "out.grad",
  "a.grad", ...}`` as floats. Nothing else of the class is used, so any implementation of
  that behaviour passes. What the class does wrong (a missing method, an operation that
  returns a float, an exception) is a :class:`LearnerProblem` naming the operation, never
  with a leaf's value.
- ``value_neuron_loss``: ``fn(Value(w), Value(b), x, y, Value)`` with the reference Value
  class (given as ``Value=`` context), then ``L.backward()``; ``{"L.data", "w.grad",
  "b.grad"}``.
- ``train``: ``fn(X, y, params, lr, epochs)``, its history's lists as arrays.
"""

from __future__ import annotations

import ast
import contextlib
from collections.abc import Callable, Mapping
from numbers import Real
from typing import Any

import numpy as np

from .describe import describe_type, join_names
from .problems import LearnerProblem
from .signatures import bind_error, bind_or_explain, signature_of

__all__ = ["DRIVERS", "INTERFACE", "LearnerProblem", "adapt", "evaluate_node", "parse_program",
           "run_program", "run_value_neuron_loss"]


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


def parse_program(program: str) -> list[tuple[str, ast.expr]]:
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
            + join_names([f"{method} (for {example})" for method, example in missing])
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
            f"{text} returned {describe_type(obj)} instead of a Value. An operation must "
            "return a NEW Value that remembers its inputs and how to pass gradients back to "
            "them (out = Value(..., (self, other)) with out._backward set); a plain number is "
            "a dead end for backward().", "interface")
    raise LearnerProblem(f"{text} returned {describe_type(obj)}, expected a Value (with "
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
    raise LearnerProblem(f"{what} is {describe_type(value)}, expected a number.",
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
        what = "not 0" if isinstance(grad, Real) else describe_type(grad)
        raise LearnerProblem(
            f"A new Value must start with grad 0 (nothing has flowed back yet), but "
            f"{_CLASS}(x).grad is {what}: in __init__, set self.grad = 0.0, so that every "
            "_backward can add into it.", "interface")
    return leaf


def evaluate_node(node: ast.expr, env: Mapping[str, Any]) -> Any:
    __tracebackhide__ = True
    if isinstance(node, ast.Name):
        return env[node.id]
    text = ast.unparse(node)
    if isinstance(node, ast.BinOp):
        left = evaluate_node(node.left, env)
        if isinstance(node.op, ast.Pow):
            exponent = node.right.value  # a constant: only ** 2 is used
            result = _call(text, lambda: left**exponent)
        else:
            right = evaluate_node(node.right, env)
            operator = {ast.Add: lambda: left + right, ast.Sub: lambda: left - right,
                        ast.Mult: lambda: left * right}[type(node.op)]
            result = _call(text, operator)
    else:  # x.relu() or x.sigmoid()
        operand = evaluate_node(node.func.value, env)
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
    statements = parse_program(program)
    _missing_methods(cls)
    env = {name: _leaf(cls, float(value)) for name, value in leaves.items()}
    nodes = dict(env)
    for target, expr in statements:
        nodes[target] = evaluate_node(expr, nodes)
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


def run_value_neuron_loss(fn: Callable[..., Any], w: float, b: float, x: float, y: float,
                          Value: type) -> dict[str, float]:
    """``L = fn(Value(w), Value(b), x, y, Value)`` with the given (reference) ``Value``, then
    ``L.backward()``: returns ``{"L.data", "w.grad", "b.grad"}``.

    Raises
    ------
    LearnerProblem
        When fn cannot be called that way or does not return a Value.
    """
    __tracebackhide__ = True
    w_leaf, b_leaf = Value(w), Value(b)
    bind_or_explain(fn, (w_leaf, b_leaf, x, y, Value), f"Your function cannot be called as "
                    f"{_LOSS_CALL}", "; the exercise needs (w, b, x, y, Value)")
    L = fn(w_leaf, b_leaf, x, y, Value)
    if not _is_value(L) and isinstance(L, Real | np.ndarray):
        raise LearnerProblem(
            f"{_LOSS_CALL} returned {describe_type(L)} instead of a Value: build L from "
            "w and b with Value operations (not from w.data and b.data), so that "
            "L.backward() can reach w and b.", "interface")
    _returned(L, _LOSS_CALL)
    _call("L.backward()", L.backward)
    return {"L.data": _number(L.data, "L.data"), "w.grad": _number(w_leaf.grad, "w.grad"),
            "b.grad": _number(b_leaf.grad, "b.grad")}


# ---------------------------------------------------------------------------------------
# train
# ---------------------------------------------------------------------------------------


def _as_arrays(history: Any) -> Any:
    """A learner's history with list values as arrays (the exercise allows both)."""
    if not isinstance(history, Mapping):
        return history
    converted = dict(history)
    for key, value in history.items():
        if isinstance(value, list | tuple):
            with contextlib.suppress(TypeError, ValueError):  # ragged: the check says so
                converted[key] = np.asarray(value)
    return converted


def _train_driver(fn: Any) -> Callable[..., Any]:
    if not callable(fn):
        return fn  # the check explains that it is not callable

    def train_case(X, y, params, lr, epochs):
        __tracebackhide__ = True
        bind_or_explain(fn, (X, y, params, lr, epochs), "train: your function cannot be "
                        "called as train(X, y, params, lr, epochs)")
        out = fn(X, y, params, lr, epochs)
        if isinstance(out, tuple | list) and len(out) == 2:
            out = (out[0], _as_arrays(out[1]))
        return out
    return train_case


# ---------------------------------------------------------------------------------------
# Value
# ---------------------------------------------------------------------------------------


def _value_class_driver(obj: Any) -> Callable[..., Any]:
    """A class is run on the programs; a case function (the reference, a grader's wrapper)
    is called as it is; anything else is not a Value class."""
    if not callable(obj) and not hasattr(obj, "data"):
        return obj  # the check explains that it is not callable
    if isinstance(obj, type):
        def value_case(program: str, **leaves: float) -> dict[str, float]:
            __tracebackhide__ = True
            return run_program(obj, program, leaves)
        return value_case
    if (callable(obj) and signature_of(obj) is not None
            and bind_error(obj, ("out = a",), {"a": 0.0}) is None):
        return obj
    what = ("a Value object (an instance)" if hasattr(obj, "data") else describe_type(obj))

    def not_a_class(program: str, **leaves: float) -> None:
        raise LearnerProblem(
            f"check.Value needs your class Value (defined with `class Value:`), but got "
            f"{what}: pass the class itself, check.Value(Value), not Value(...).",
            "interface")
    return not_a_class


def _value_neuron_loss_driver(fn: Any, *, Value: type) -> Callable[..., Any]:
    if not callable(fn):
        return fn  # the check explains that it is not callable

    def value_neuron_loss_case(w: float, b: float, x: float, y: float) -> dict[str, float]:
        __tracebackhide__ = True
        return run_value_neuron_loss(fn, w, b, x, y, Value)
    return value_neuron_loss_case


DRIVERS: dict[str, Callable[..., Callable[..., Any]]] = {
    "value_class": _value_class_driver,
    "value_neuron_loss": _value_neuron_loss_driver,
    "train": _train_driver,
}


def adapt(driver: str | None, obj: Any, **context: Any) -> Any:
    """``obj`` as the exercise calls it on each case (``obj`` itself without a driver)."""
    return obj if driver is None else DRIVERS[driver](obj, **context)
