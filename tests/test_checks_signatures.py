"""The one signature formatter and bind-or-explain helper (autograder.grading.worker.signatures),
and the messages the checks build from them."""

from __future__ import annotations

import numpy as np
import pytest

import refimpl
from autograder.checks import messages
from autograder.checks.exercise import Exercise
from autograder.checks.running import from_attempt, run_learner
from autograder.checks.types import Case
from autograder.grading.worker import calls
from autograder.grading.worker.problems import LearnerProblem
from autograder.grading.worker.signatures import (
    accepted_options,
    bind_error,
    bind_or_explain,
    positional_names,
    signature_text,
)


def two_weights(W1, b1, *, scale=1.0) -> np.ndarray:
    return W1 * scale + b1


class Layer:
    def __init__(self, W, b=None):
        self.W, self.b = W, b


def test_signature_text_shows_the_parameters_as_written_without_the_return_annotation():
    assert signature_text(two_weights) == "(W1, b1, *, scale=1.0)"
    assert signature_text(Layer) == "(W, b=None)"  # a class: its constructor, no self
    assert signature_text(max) == "(...)"  # a builtin without a signature
    assert signature_text(42) == "(...)"


def test_positional_names_and_accepted_options():
    assert positional_names(two_weights) == ["W1", "b1"]
    assert positional_names(Layer) == ["W", "b"]
    assert positional_names(max) == []
    assert accepted_options(two_weights, {"scale", "loss"}) == {"scale"}
    assert accepted_options(lambda x, **kw: x, {"loss"}) == {"loss"}
    assert accepted_options(max, {"loss"}) == {"loss"}


def test_bind_error_says_what_is_missing_or_extra():
    assert bind_error(two_weights, (1.0,)) == "missing a required argument: 'b1'"
    assert bind_error(two_weights, (1.0, 2.0, 3.0)) == "too many positional arguments"
    assert bind_error(two_weights, (1.0, 2.0), {"shift": 1}) == (
        "got an unexpected keyword argument 'shift'")
    assert bind_error(two_weights, (1.0, 2.0), {"scale": 2}) is None
    assert bind_error(Layer, (), {}) == "missing a required argument: 'W'"
    assert bind_error(max, (1, 2, 3, 4)) is None  # no signature: called, never refused


def test_bind_or_explain_raises_a_learner_problem_at_the_signature_stage():
    with pytest.raises(LearnerProblem) as info:
        bind_or_explain(two_weights, (1.0,), "Your function cannot be called as f(W1)",
                        "; the exercise needs (W1)")
    assert info.value.stage == "signature"
    assert str(info.value) == (
        "Your function cannot be called as f(W1): missing a required argument: 'b1'. "
        "Its parameters are (W1, b1, *, scale=1.0); the exercise needs (W1).")
    with pytest.raises(LearnerProblem, match=r"too many positional arguments\. Its "
                                             r"parameters are \(W, b=None\)\.$"):
        bind_or_explain(Layer, (1, 2, 3), "cannot")
    bind_or_explain(max, (1, 2, 3), "cannot")  # a builtin without a signature passes
    bind_or_explain(two_weights, (1.0, 2.0), "cannot")


def relu_exercise(**fields) -> Exercise:
    return Exercise("relu", "relu", "relu", refimpl.relu, visible=list,
                    hidden=lambda rng: [], **fields)


def test_a_function_that_cannot_take_the_cases_arguments_is_explained_once():
    cases = [Case((np.array([1.0, -1.0]),), label="x")]
    run = run_learner(relu_exercise(), lambda Z, mask: Z, cases)
    assert run.observations == []
    assert run.signature_problem == (
        "relu: your function cannot be called as relu(Z): missing a required argument: "
        "'mask'. Its parameters are (Z, mask); the exercise needs (Z).")
    assert run_learner(relu_exercise(), max, cases).signature_problem is None


def test_not_callable_message_says_what_to_pass():
    assert messages.not_callable_message("relu", "None") == (
        "relu: check.relu needs your function, but got None. Did you run the cell that "
        "defines it?")
    assert "not the result of calling it, check.relu(relu(...))" in (
        messages.not_callable_message("relu", "an ndarray of shape (3,) (dtype float64)"))


def test_from_attempt_explains_and_applies_the_postcheck():
    def postcheck(output, case):
        if output.sum() < 1:
            raise LearnerProblem("too small", "property")

    cases = [Case((np.array([2.0]),), label="big"), Case((np.array([0.5]),), label="small")]
    attempt = calls.attempt(refimpl.relu, refimpl.relu,
                            [calls.CallCase(c.args, {}, {}) for c in cases],
                            fallback_name="relu")
    run = from_attempt(relu_exercise(postcheck=postcheck), attempt, cases)
    assert run.observations[0].error is None
    assert isinstance(run.observations[1].error, LearnerProblem)
    assert run.observations[1].error.stage == "property"
