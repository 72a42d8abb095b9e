"""The engine's pieces on their own: the stages in their documented order
(autograder.checks.stages), the comparisons (compare), the texts (messages) and the choice
of the best known mistake (mistakes)."""

from __future__ import annotations

import numpy as np

import refimpl
from autograder.checks import messages
from autograder.checks.compare import Part, changed_inputs, constant_factor
from autograder.checks.exercise import Exercise
from autograder.checks.mistakes import best_mistake
from autograder.checks.running import observe
from autograder.checks.stages import Judge, type_problem
from autograder.checks.types import Case, DictOf, Leaf, Mistake, TupleOf


def relu_judge(cases: list[Case], mistakes: tuple[Mistake, ...] = (),
               hidden: bool = False) -> Judge:
    exercise = Exercise("relu", "relu", "relu", refimpl.relu, visible=list,
                        hidden=lambda rng: [], mistakes=mistakes)
    expected = [refimpl.relu(*case.args) for case in cases]
    return Judge(exercise, cases, expected, hidden, "relu")


CASE = Case((np.array([[-1.0], [2.0], [3.0]]),), label="column")


def stage_of(judge: Judge, fn) -> str | None:
    problem = judge.problem(0, observe(fn, judge.cases[0]))
    return problem and problem.stage


def test_the_first_failing_stage_in_the_documented_order_is_reported():
    judge = relu_judge([CASE])

    def in_place_and_wrong(Z):
        Z *= 2
        return Z

    assert stage_of(judge, refimpl.relu) is None
    assert stage_of(judge, lambda Z: 1 / 0) == "exception"
    assert stage_of(judge, lambda Z: [0.0, 2.0, 3.0]) == "type"
    assert stage_of(judge, in_place_and_wrong) == "inplace"
    assert stage_of(judge, lambda Z: np.maximum(Z, 0).astype(int).ravel()) == "dtype"
    assert stage_of(judge, lambda Z: np.maximum(Z, 0).ravel()) == "shape"
    assert stage_of(judge, lambda Z: np.maximum(Z, 0) * np.nan) == "finite"
    assert stage_of(judge, lambda Z: 2 * np.maximum(Z, 0)) == "values"


def test_type_problem_names_the_container_that_does_not_fit():
    spec = TupleOf((Leaf("dW"), DictOf("grads")))
    expected = (np.zeros(2), {"W1": np.zeros(2)})
    parts, problem = type_problem(spec, (np.zeros(2),), expected)
    assert parts == []
    assert problem.statement == ("Your function returned a tuple of 1 item, expected 2 items "
                                 "(dW, grads).")
    _, problem = type_problem(spec, (np.zeros(2), {"dW1": np.zeros(2)}), expected)
    assert "grads has no key 'W1' (its keys: 'dW1')" in problem.statement
    assert "store dL/dW1 as grads['W1'], not grads['dW1']" in problem.statement
    parts, problem = type_problem(spec, (np.ones(2), {"W1": np.ones(2)}), expected)
    assert problem is None
    assert [p.name for p in parts] == ["dW", 'grads["W1"]']


def test_changed_inputs_finds_the_first_changed_entry_inside_containers():
    before = [{"W": np.zeros((2, 2))}, [np.ones(3)]]
    after = [{"W": np.array([[0.0, 0.0], [0.0, 5.0]])}, [np.ones(3)]]
    (change,) = changed_inputs(["params", "xs"], before, after)
    assert (change.top, change.name, change.where) == ("params", "params['W']", ((1, 1), 1, 4))
    assert changed_inputs(["x"], [np.array([0.0])], [np.array([-0.0])])  # the sign bit


def test_constant_factor_is_reported_only_when_it_tells_something():
    exp = np.array([1.0, -2.0, 3.0])
    assert constant_factor(-exp, exp, 1e-10) == -1.0
    assert constant_factor(exp + 1, exp, 1e-10) is None
    one = np.array([0.0, 2.0])
    assert constant_factor(one * 3, one, 1e-10) == 3.0
    assert constant_factor(one * 1.7, one, 1e-10) is None  # any value is "a multiple" of one


def test_shape_text_spells_out_the_column_trap():
    part = Part("the result", np.zeros(4), np.zeros((4, 1)), scalar=False)
    text = messages.shape_text(part, top=True)
    assert text.startswith("Your result has shape (4,), expected (4, 1).")
    assert "broadcasts silently to an (n, n) table" in text
    assert messages.shape_text(Part("x", np.zeros(3), np.zeros(3), False), top=True) is None


def test_best_mistake_must_explain_the_failure():
    def halves(Z):
        return 0.5 * np.maximum(Z, 0)

    def right_on_columns(Z):  # agrees with relu: cannot explain a failure
        return np.maximum(Z, 0)

    mistakes = (Mistake("right-here", "correct", "-", right_on_columns),
                Mistake("half", "half the result", "Why 0.5?", halves))
    cases = [CASE, Case((np.array([-3.0, 4.0]),), label="row")]
    judge = relu_judge(cases, mistakes)
    observations = [observe(halves, case) for case in cases]
    assert best_mistake(judge, observations, 0).slug == "half"
    assert best_mistake(relu_judge(cases, mistakes[:1]), observations, 0) is None
