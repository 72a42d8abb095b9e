"""The checks of notebook 05_chain_rule: neuron_loss_grads, Value, value_neuron_loss.

What the catalogue cannot test (see tests/check_tools.py): solutions written the way a learner
writes them (micrograd's Value among them), objects of the wrong kind, and the programs the
Value check runs.
"""

from __future__ import annotations

import ast
import math

import numpy as np
import pytest
from check_tools import failure, passes

import refimpl
from autograder import check
from autograder.exercises.catalogue import mistakes_for
from autograder.exercises.value_programs import INTERFACE, random_program, run_program


def neuron_loss_grads(w, b, x, y):
    z = w * x + b
    a = 1 / (1 + np.exp(-z))
    dL_dz = 2 * (a - y) * a * (1 - a)
    return dL_dz * x, dL_dz


def test_neuron_loss_grads_by_hand_passes(capsys):
    passes(check.neuron_loss_grads, neuron_loss_grads, capsys)


class Value:
    """micrograd's engine.Value as Karpathy wrote it (plus sigmoid): it must pass."""

    def __init__(self, data, _children=(), _op=""):
        self.data = data
        self.grad = 0
        self._backward = lambda: None
        self._prev = set(_children)
        self._op = _op

    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data + other.data, (self, other), "+")

        def _backward():
            self.grad += out.grad
            other.grad += out.grad

        out._backward = _backward
        return out

    def __mul__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        out = Value(self.data * other.data, (self, other), "*")

        def _backward():
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad

        out._backward = _backward
        return out

    def __pow__(self, other):
        out = Value(self.data**other, (self,), f"**{other}")

        def _backward():
            self.grad += (other * self.data ** (other - 1)) * out.grad

        out._backward = _backward
        return out

    def relu(self):
        out = Value(0 if self.data < 0 else self.data, (self,), "ReLU")

        def _backward():
            self.grad += (out.data > 0) * out.grad

        out._backward = _backward
        return out

    def sigmoid(self):
        s = 1 / (1 + math.exp(-self.data))  # plain math.exp: the check's inputs are moderate
        out = Value(s, (self,), "sigmoid")

        def _backward():
            self.grad += s * (1 - s) * out.grad

        out._backward = _backward
        return out

    def backward(self):
        topo, visited = [], set()

        def build_topo(v):
            if v not in visited:
                visited.add(v)
                for child in v._prev:
                    build_topo(child)
                topo.append(v)

        build_topo(self)
        self.grad = 1
        for v in reversed(topo):
            v._backward()

    def __neg__(self):
        return self * -1

    def __sub__(self, other):
        return self + (-other)


def test_micrograd_passes(capsys):
    passes(check.Value, Value, capsys)


def test_refimpl_value_passes(capsys):
    passes(check.Value, refimpl.Value, capsys)


def _without(*names):
    namespace = {name: getattr(Value, name) for name in
                 ("__init__", "__add__", "__mul__", "__pow__", "relu", "sigmoid", "backward",
                  "__neg__", "__sub__") if name not in names}
    return type("Value", (), namespace)


def test_missing_methods_are_named_on_the_first_case():
    result = failure(check.Value, _without("relu"))
    assert (result.stage, result.case) == ("interface", check.exercise("Value").cases()[0].label)
    assert "Value has no method relu (for x.relu())" in result.message
    result = failure(check.Value, _without("__sub__", "sigmoid"))
    assert "Value has no method __sub__ (for a - b) and sigmoid (for x.sigmoid())" in (
        result.message)
    assert "a - b into a.__sub__(b)" in result.message


class _Learner(refimpl.Value):
    """A learner's class built on refimpl.Value with one thing changed (ops use type(self))."""


def _learner_class(**methods):
    return type("Value", (_Learner,), methods)


def test_an_operation_that_returns_a_float():
    result = failure(check.Value,
                     _learner_class(__mul__=lambda self, other: self.data * other.data))
    assert result.stage == "interface"
    assert "a * b returned a float instead of a Value" in result.message
    assert "backward()" in result.message


def test_an_operation_that_returns_none():
    def relu(self):
        refimpl.Value.relu(self)  # forgot return

    result = failure(check.Value, _learner_class(relu=relu))
    assert "relu() returned None: did you forget to return the new Value" in result.message


def _broken_mul(self, other):
    return self.data.shape  # AttributeError in the learner's own code


def test_an_operation_that_raises_shows_the_learners_traceback():
    result = failure(check.Value, _learner_class(__mul__=_broken_mul))
    assert result.stage == "exception"
    assert "a * b raised AttributeError: 'float' object has no attribute 'shape'" in (
        result.message)
    assert "Traceback (your code only" in result.message
    assert "_broken_mul" in result.message
    assert "autodiff.py" not in result.message


def test_a_stub_method_is_not_implemented_yet():
    def sigmoid(self):
        raise NotImplementedError()

    result = failure(check.Value, _learner_class(sigmoid=sigmoid), hidden=True)
    assert result.stage == "not-implemented"
    assert "It is raised in `sigmoid`" in result.message


def test_gradient_must_start_at_zero_and_be_a_number():
    def init_none(self, data, _children=(), _op=""):
        refimpl.Value.__init__(self, data, _children, _op)
        self.grad = None

    result = failure(check.Value, _learner_class(__init__=init_none))
    assert "Value(x).grad is None: in __init__, set self.grad = 0.0" in result.message

    def mul_adds_values(self, other):
        out = refimpl.Value.__mul__(self, other)

        def _backward():
            self.grad += other * out.grad  # a Value, not other.data
            other.grad += self * out.grad

        out._backward = _backward
        return out

    result = failure(check.Value, _learner_class(__mul__=mul_adds_values))
    assert "is a Value, expected a plain number" in result.message


def test_an_instance_or_a_function_instead_of_the_class():
    result = failure(check.Value, Value(2.0))
    assert "needs your class Value" in result.message
    assert "got a Value object (an instance)" in result.message
    result = failure(check.Value, lambda data: Value(data))
    assert "needs your class Value" in result.message
    assert failure(check.Value, None).stage == "callable"


def test_value_visible_cases_include_forks_and_a_relu_of_zero():
    cases = check.exercise("Value").cases()
    programs = [case.args[0] for case in cases]
    assert "out = a * a + a * b" in programs  # the brief's fork
    assert any(_has_intermediate_fork(p) for p in programs)
    assert any(_relu_of_zero(case.args[0], case.kwargs) for case in cases)


def _statements(program):
    return [(node.targets[0].id, node.value) for node in ast.parse(program).body]


def _uses(expr):
    return [node.id for node in ast.walk(expr) if isinstance(node, ast.Name)]


def _has_intermediate_fork(program):
    statements = _statements(program)
    names = {target for target, _ in statements}
    uses = [name for _, expr in statements for name in _uses(expr)]
    return any(uses.count(name) >= 2 for name in names)


def _relu_of_zero(program, leaves):
    """Some .relu() gets an input of exactly 0 (run with refimpl.Value)."""
    seen = []
    relu = refimpl.Value.relu

    def spy(self):
        seen.append(self.data)
        return relu(self)

    refimpl.Value.relu = spy
    try:
        run_program(refimpl.Value, program, leaves)
    finally:
        refimpl.Value.relu = relu
    return 0.0 in seen


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_every_hidden_program_has_all_operations_forks_and_a_relu_of_zero(seed):
    for case in check.exercise("Value").cases(hidden=True, seed=seed):
        program, leaves = case.args[0], case.kwargs
        assert all(op in program for op in (" + ", " - ", " * ", " ** 2", ".relu()",
                                            ".sigmoid()")), program
        assert _has_intermediate_fork(program), program
        assert any(f"{x} * {x}" in program for x in "abcdepqrstuvghijkmn"), program
        assert _relu_of_zero(program, leaves), program
        assert not any(ch.isdigit() for ch in case.label)


def test_hidden_programs_keep_values_moderate():
    """A learner's plain math.exp sigmoid must not overflow on a hidden case."""
    rng = np.random.default_rng(0)
    for _ in range(200):
        program, leaves = random_program(rng)
        results = run_program(refimpl.Value, program, leaves)
        assert max(abs(v) for v in results.values()) < 1e4


def test_catalogue_classes_are_ordinary_values_when_called_with_a_number():
    """test_notebook_mistakes plants them as the notebook's Value: demos must still work."""
    for mistake in mistakes_for("Value"):
        a = mistake.variant(2.0)
        out = a * a + a
        out.backward()
        assert isinstance(a, refimpl.Value)
        assert out.data == 6.0


def value_neuron_loss(w, b, x, y, Value):
    a = (w * Value(x) + b).sigmoid()
    return (a - Value(y)) ** 2


def test_value_neuron_loss_passes(capsys):
    passes(check.value_neuron_loss, value_neuron_loss, capsys)

    def with_plain_numbers(w, b, x, y, Value):
        return ((w * x + b).sigmoid() - y) ** 2

    passes(check.value_neuron_loss, with_plain_numbers, capsys)


def test_value_neuron_loss_wrong_returns_and_signature():
    def returns_float(w, b, x, y, Value):
        return value_neuron_loss(w, b, x, y, Value).data

    result = failure(check.value_neuron_loss, returns_float)
    assert "returned a float instead of a Value" in result.message
    assert "not from w.data and b.data" in result.message

    def four_parameters(w, b, x, y):
        return value_neuron_loss(w, b, x, y, refimpl.Value)

    result = failure(check.value_neuron_loss, four_parameters)
    assert result.stage == "signature"
    assert "the exercise needs (w, b, x, y, Value)" in result.message


def test_value_neuron_loss_variants_work_as_learner_functions():
    for mistake in mistakes_for("value_neuron_loss"):
        L = mistake.variant(refimpl.Value(0.5), refimpl.Value(0.1), 1.5, 1.0, refimpl.Value)
        assert isinstance(L, refimpl.Value)


def test_the_program_interface_is_what_the_docstring_promises():
    assert [example for _, example in INTERFACE] == [
        "a + b", "a - b", "a * b", "a ** 2", "x.relu()", "x.sigmoid()", "out.backward()"]
