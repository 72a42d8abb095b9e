"""The checks of notebooks 05-08: honest solutions pass, broken ones get a teaching message.

The catalogue's mistakes are tested by tests/test_autograder_catalogue.py (every mistake
caught and named, visible and hidden) and tests/test_autograder_hidden.py (no expected
number in a hidden message). This file tests what the catalogue cannot: solutions written
the way a learner writes them, objects of the wrong kind, and the design of the cases.
"""

from __future__ import annotations

import ast
import math
import warnings

import numpy as np
import pytest

import refimpl
from autograder import CheckFailed, CheckResult, check
from autograder.autodiff import INTERFACE, random_program, run_program
from autograder.catalogue import mistakes_for
from autograder.engine import Case, DictOf, LearnerProblem, Mistake, run_check

NEW = ("neuron_loss_grads", "Value", "value_neuron_loss", "gradient_errors", "train",
       "accuracy", "mlp_forward", "gd_step")


def failure(name, learner, **kwargs) -> CheckResult:
    with pytest.raises(CheckFailed) as info:
        getattr(check, name)(learner, **kwargs)
    assert str(info.value) == info.value.result.message
    return info.value.result


def passes(name, learner, capsys, seeds=(None, 5)):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing may leak from a check
        for seed in seeds:
            getattr(check, name)(learner, seed=seed)
            getattr(check, name)(learner, hidden=True, seed=seed)
    out = capsys.readouterr()
    assert out.out.count("✔") == 2 * len(seeds)
    assert out.err == ""


@pytest.mark.parametrize("name", NEW)
def test_every_new_exercise_is_registered(name):
    assert name in check.EXERCISES
    assert name in check.CONFIGURATIONS
    assert name in check.__all__
    assert callable(getattr(check, name))
    assert len(mistakes_for(name)) >= 3
    ex = check.exercise(name)
    assert check.evaluate(name, ex.reference).passed


# ---------------------------------------------------------------------------------------
# Notebook 05: neuron_loss_grads, Value, value_neuron_loss
# ---------------------------------------------------------------------------------------


def neuron_loss_grads(w, b, x, y):
    z = w * x + b
    a = 1 / (1 + np.exp(-z))
    dL_dz = 2 * (a - y) * a * (1 - a)
    return dL_dz * x, dL_dz


def test_neuron_loss_grads_by_hand_passes(capsys):
    passes("neuron_loss_grads", neuron_loss_grads, capsys)


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
    passes("Value", Value, capsys)


def test_refimpl_value_passes(capsys):
    passes("Value", refimpl.Value, capsys)


def _without(*names):
    namespace = {name: getattr(Value, name) for name in
                 ("__init__", "__add__", "__mul__", "__pow__", "relu", "sigmoid", "backward",
                  "__neg__", "__sub__") if name not in names}
    return type("Value", (), namespace)


def test_missing_methods_are_named_on_the_first_case():
    result = failure("Value", _without("relu"))
    assert (result.stage, result.case) == ("interface", check.exercise("Value").cases()[0].label)
    assert "Value has no method relu (for x.relu())" in result.message
    result = failure("Value", _without("__sub__", "sigmoid"))
    assert "Value has no method __sub__ (for a - b) and sigmoid (for x.sigmoid())" in (
        result.message)
    assert "a - b into a.__sub__(b)" in result.message


class _Learner(refimpl.Value):
    """A learner's class built on refimpl.Value with one thing changed (ops use type(self))."""


def _learner_class(**methods):
    return type("Value", (_Learner,), methods)


def test_an_operation_that_returns_a_float():
    result = failure("Value", _learner_class(__mul__=lambda self, other: self.data * other.data))
    assert result.stage == "interface"
    assert "a * b returned a float instead of a Value" in result.message
    assert "backward()" in result.message


def test_an_operation_that_returns_none():
    def relu(self):
        refimpl.Value.relu(self)  # forgot return

    result = failure("Value", _learner_class(relu=relu))
    assert "relu() returned None: did you forget to return the new Value" in result.message


def _broken_mul(self, other):
    return self.data.shape  # AttributeError in the learner's own code


def test_an_operation_that_raises_shows_the_learners_traceback():
    result = failure("Value", _learner_class(__mul__=_broken_mul))
    assert result.stage == "exception"
    assert "a * b raised AttributeError: 'float' object has no attribute 'shape'" in (
        result.message)
    assert "Traceback (your code only" in result.message
    assert "_broken_mul" in result.message
    assert "autodiff.py" not in result.message


def test_a_stub_method_is_not_implemented_yet():
    def sigmoid(self):
        raise NotImplementedError()

    result = failure("Value", _learner_class(sigmoid=sigmoid), hidden=True)
    assert result.stage == "not-implemented"
    assert "It is raised in `sigmoid`" in result.message


def test_gradient_must_start_at_zero_and_be_a_number():
    def init_none(self, data, _children=(), _op=""):
        refimpl.Value.__init__(self, data, _children, _op)
        self.grad = None

    result = failure("Value", _learner_class(__init__=init_none))
    assert "Value(x).grad is None: in __init__, set self.grad = 0.0" in result.message

    def mul_adds_values(self, other):
        out = refimpl.Value.__mul__(self, other)

        def _backward():
            self.grad += other * out.grad  # a Value, not other.data
            other.grad += self * out.grad

        out._backward = _backward
        return out

    result = failure("Value", _learner_class(__mul__=mul_adds_values))
    assert "is a Value, expected a plain number" in result.message


def test_an_instance_or_a_function_instead_of_the_class():
    result = failure("Value", Value(2.0))
    assert "needs your class Value" in result.message
    assert "got a Value object (an instance)" in result.message
    result = failure("Value", lambda data: Value(data))
    assert "needs your class Value" in result.message
    assert failure("Value", None).stage == "callable"


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
    passes("value_neuron_loss", value_neuron_loss, capsys)

    def with_plain_numbers(w, b, x, y, Value):
        return ((w * x + b).sigmoid() - y) ** 2

    passes("value_neuron_loss", with_plain_numbers, capsys)


def test_value_neuron_loss_wrong_returns_and_signature():
    def returns_float(w, b, x, y, Value):
        return value_neuron_loss(w, b, x, y, Value).data

    result = failure("value_neuron_loss", returns_float)
    assert "returned a float instead of a Value" in result.message
    assert "not from w.data and b.data" in result.message

    def four_parameters(w, b, x, y):
        return value_neuron_loss(w, b, x, y, refimpl.Value)

    result = failure("value_neuron_loss", four_parameters)
    assert result.stage == "signature"
    assert "the exercise needs (w, b, x, y, Value)" in result.message


def test_value_neuron_loss_variants_work_as_learner_functions():
    for mistake in mistakes_for("value_neuron_loss"):
        L = mistake.variant(refimpl.Value(0.5), refimpl.Value(0.1), 1.5, 1.0, refimpl.Value)
        assert isinstance(L, refimpl.Value)


# ---------------------------------------------------------------------------------------
# Notebook 06: gradient_errors
# ---------------------------------------------------------------------------------------


def gradient_errors(loss_fn, params, grads, h=1e-5):
    errors = {}
    for key in params:
        def f(x, key=key):
            return loss_fn({**params, key: x})

        numerical = refimpl.numerical_gradient(f, params[key].copy(), h)
        errors[key] = refimpl.relative_error(grads[key], numerical)
    return errors


def gradient_errors_in_place(loss_fn, params, grads, h=1e-5):
    errors = {}
    for key, x in params.items():
        numerical = np.zeros_like(x)
        for i in np.ndindex(x.shape):
            old = x[i]
            x[i] = old + h
            f_plus = loss_fn(params)
            x[i] = old - h
            f_minus = loss_fn(params)
            x[i] = old
            numerical[i] = (f_plus - f_minus) / (2 * h)
        a = grads[key]
        errors[key] = float(np.max(np.abs(a - numerical)
                                   / np.maximum(np.abs(a) + np.abs(numerical), 1e-8)))
    return errors


def test_gradient_errors_written_two_ways_pass(capsys):
    passes("gradient_errors", gradient_errors, capsys)
    passes("gradient_errors", gradient_errors_in_place, capsys)


def test_gradient_errors_tolerance_treats_tiny_errors_as_equal():
    """Correct gradients give rounding noise (about 1e-10) that differs between correct
    implementations; below atol = 1e-6 those all count as 'passes the gradient check'."""
    ex = check.exercise("gradient_errors")
    assert (ex.rtol, ex.atol) == (1e-3, 1e-6)

    def noisy(loss_fn, params, grads, h=1e-5):
        return {k: e * 37.0 if e < 1e-8 else e
                for k, e in refimpl.gradient_errors(loss_fn, params, grads, h).items()}

    assert check.evaluate("gradient_errors", noisy).passed


def test_gradient_errors_restored_by_arithmetic_is_told_to_save_the_old_value():
    def restored_by_arithmetic(loss_fn, params, grads, h=1e-5):
        errors = {}
        for key, x in params.items():
            numerical = np.zeros_like(x)
            for i in np.ndindex(x.shape):
                x[i] += h
                f_plus = loss_fn(params)
                x[i] -= 2 * h
                f_minus = loss_fn(params)
                x[i] += h  # rounding: not always the old float
                numerical[i] = (f_plus - f_minus) / (2 * h)
            errors[key] = refimpl.relative_error(grads[key], numerical)
        return errors

    result = failure("gradient_errors", restored_by_arithmetic)
    assert result.stage == "inplace"
    assert "tiny rounding errors" in result.message
    # its errors agree with a mistake's within tolerance, but that mistake's variant passes
    # this case: it cannot explain the failure and must not be named
    assert result.mistake is None


def test_gradient_errors_visible_cases_have_exact_zero_gradients():
    case = check.exercise("gradient_errors").cases()[0]
    grads = case.args[2]
    assert any((g == 0).any() for g in grads.values())


# ---------------------------------------------------------------------------------------
# Notebook 07: train, accuracy
# ---------------------------------------------------------------------------------------


def train(X, y, params, lr, epochs):
    params = {k: v.copy() for k, v in params.items()}
    history = {"loss": [], "grad_norm": []}
    for _ in range(epochs):
        y_hat, cache = refimpl.forward_231(X, params)
        grads = refimpl.backward_231(X, y, params, cache, loss="bce")
        history["loss"].append(refimpl.bce(y_hat, y))  # clipped probabilities, not logits
        history["grad_norm"].append(np.sqrt(sum(np.sum(g**2) for g in grads.values())))
        params = {k: params[k] - lr * grads[k] for k in params}
    return params, history


def test_train_with_list_history_passes(capsys):
    passes("train", train, capsys)


def test_hidden_train_cases_include_held_out_study_sleep_runs():
    cases = check.exercise("train").cases(hidden=True, seed=3)
    held_out = [case for case in cases if "held_out" in case.private]
    assert len(held_out) >= 4
    for case in held_out:
        X, y, params, lr, epochs = case.args
        X_test, y_test = case.private["held_out"]
        np.testing.assert_allclose(X.mean(axis=0), 0.0, atol=1e-12)  # standardized
        trained, _ = refimpl.train(X, y, params, lr, epochs)
        assert refimpl.accuracy(refimpl.predict(X_test, trained), y_test) >= 0.9
    assert not any(ch.isdigit() for case in held_out for ch in case.label)


def test_train_that_does_not_learn_gets_the_property_message():
    def lazy(X, y, params, lr, epochs):
        _, history = train(X, y, params, 0.0, epochs)
        return {k: v.copy() for k, v in params.items()}, history

    result = failure("train", lazy, hidden=True, seed=3)
    assert result.stage == "property"
    assert "Training did not lower the loss" in result.message

    def barely(X, y, params, lr, epochs):
        return train(X, y, params, lr, 2)

    result = failure("train", barely, hidden=True, seed=3)
    assert result.stage == "property"
    assert "held-out students correctly" in result.message
    assert "at least 90 %" in result.message


def test_train_wrong_returns_and_signature():
    result = failure("train", lambda X, y, params, lr, epochs: train(X, y, params, lr, epochs)[0])
    assert "expected a tuple (trained_params, history)" in result.message

    def no_norm(X, y, params, lr, epochs):
        params, history = train(X, y, params, lr, epochs)
        return params, {"loss": history["loss"]}

    result = failure("train", no_norm)
    assert "history has no key 'grad_norm'" in result.message
    result = failure("train", lambda X, y, params, lr: train(X, y, params, lr, 3))
    assert result.stage == "signature"
    assert "train(X, y, params, lr, epochs)" in result.message


def test_accuracy_and_gd_step_pass(capsys):
    passes("accuracy", lambda labels, y: np.mean(labels == y), capsys)
    passes("accuracy", lambda labels, y: (labels == y).sum() / len(y), capsys)
    passes("gd_step", lambda params, grads, lr: {k: params[k] - lr * grads[k] for k in params},
           capsys)


# ---------------------------------------------------------------------------------------
# Notebook 08: mlp_forward, gd_step
# ---------------------------------------------------------------------------------------


def mlp_forward(X, params):
    L = len(params) // 2
    A = X
    cache = {"A0": X}
    for l in range(1, L + 1):
        Z = A @ params[f"W{l}"] + params[f"b{l}"]
        A = refimpl.relu(Z) if l < L else refimpl.sigmoid(Z)
        cache[f"Z{l}"], cache[f"A{l}"] = Z, A
    return A, cache


def test_mlp_forward_passes(capsys):
    passes("mlp_forward", mlp_forward, capsys)


def test_mlp_forward_options_are_passed_when_accepted(capsys):
    check.mlp_forward(refimpl.mlp_forward, hidden_activation="tanh", output="identity")
    assert "mlp_forward (hidden='tanh', output='identity')" in capsys.readouterr().out


def test_mlp_forward_cases_cover_depths_square_layers_and_n_1():
    depth = [len(case.args[1]) // 2 for case in check.exercise("mlp_forward").cases()]
    assert sorted(depth) == [1, 2, 3]
    deep = check.exercise("mlp_forward").cases()[2].args[1]
    assert deep["W2"].shape[0] == deep["W2"].shape[1]
    hidden = check.exercise("mlp_forward").cases(hidden=True)
    assert {len(case.args[1]) // 2 for case in hidden} == {1, 2, 3}
    assert any(case.args[0].shape[0] == 1 for case in hidden)


def test_mlp_forward_missing_cache_key_is_named_with_its_purpose():
    def no_a0(X, params):
        y_hat, cache = mlp_forward(X, params)
        del cache["A0"]
        return y_hat, cache

    result = failure("mlp_forward", no_a0)
    assert "cache has no key 'A0'" in result.message
    assert "mlp_backward needs A0 (= X)" in result.message


# ---------------------------------------------------------------------------------------
# sigmoid: overflow is a failure
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", [None, 0, 1, 3, 11, 12345])
def test_every_hidden_sigmoid_run_contains_overflowing_inputs(seed):
    cases = check.exercise("sigmoid").cases(hidden=True, seed=seed)
    assert any((case.args[0] < -709).any() for case in cases)
    assert any((case.args[0] > 709).any() for case in cases)
    assert all(case.forbid_fp_errors == ("overflow",) for case in cases)


# ---------------------------------------------------------------------------------------
# The engine features behind these checks
# ---------------------------------------------------------------------------------------


def test_forbidden_fp_errors_are_a_case_option_of_any_check():
    def exp_relu(Z):
        return np.maximum(Z, 0.0) + (np.exp(Z) < 0)  # right values, overflow for z = 1000

    cases = [Case((np.array([1.0, 1000.0]),), label="big")]
    assert run_check("relu", exp_relu, refimpl.relu, cases).passed
    strict = [Case((np.array([1.0, 1000.0]),), label="big", forbid_fp_errors=("overflow",))]
    result = run_check("relu", exp_relu, refimpl.relu, strict)
    assert result.stage == "fp-error"
    assert "NumPy reported an overflow" in result.message


def test_adapt_applies_to_the_learner_and_to_variants_alike():
    class Doubler:
        def __init__(self, factor=2.0):
            self.factor = factor

        def apply(self, x):
            return self.factor * x

    class Tripler(Doubler):
        def __init__(self):
            super().__init__(3.0)

    def adapt(cls):
        return lambda x: cls().apply(x)

    def reference(x):
        return 2.0 * x

    cases = [Case((np.array([1.0, -2.0]),), label="x")]
    mistakes = [Mistake("triples", "three times x", "Twice, not three times.", Tripler)]
    assert run_check("double", Doubler, reference, cases, adapt=adapt).passed
    result = run_check("double", Tripler, reference, cases, mistakes=mistakes, adapt=adapt)
    assert result.mistake == "triples"


def test_learner_problem_is_shown_as_it_is_at_its_stage():
    def learner(x):
        return x

    def adapt(fn):
        def call(x):
            try:
                raise KeyError("inner")
            except KeyError as exc:
                raise LearnerProblem("A clear sentence about the learner's object.",
                                     "interface") from exc
        return call

    cases = [Case((np.array([1.0]),), label="x")]
    result = run_check("demo", learner, lambda x: x, cases, adapt=adapt)
    assert result.stage == "interface"
    assert "A clear sentence about the learner's object." in result.message
    assert "Your function raised" not in result.message


def test_results_that_lack_the_same_keys_can_match_a_mistake():
    def reference(x):
        return {"a": x, "b": 2 * x}

    def lacks_b(x):
        return {"a": x}

    cases = [Case((np.array([1.0]),), label="x")]
    mistakes = [Mistake("no-b", "b is missing", "Return b too.", lacks_b)]
    result = run_check("demo", lacks_b, reference, cases, output=DictOf("out"),
                       mistakes=mistakes)
    assert (result.stage, result.mistake) == ("type", "no-b")


def test_the_program_interface_is_what_the_docstring_promises():
    assert [example for _, example in INTERFACE] == [
        "a + b", "a - b", "a * b", "a ** 2", "x.relu()", "x.sigmoid()", "out.backward()"]
