"""Features of the check engine (autograder.checks) that any check can use: forbidden
floating-point errors, ``adapt``, a ``LearnerProblem`` shown at its stage, and mistakes matched
on results that lack keys."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

import refimpl
from autograder.checks.engine import run_check
from autograder.checks.exercise import Exercise
from autograder.checks.types import Case, DictOf, Mistake
from autograder.grading.worker.problems import LearnerProblem


@dataclass(frozen=True)
class Adapted(Exercise):
    """An exercise that calls the learner's object through a test's own adapter."""

    adapter: Callable[[Any], Callable[..., Any]] = lambda obj: obj

    def adapt(self, obj: Any) -> Any:
        return self.adapter(obj)


def spec(name, reference, **fields) -> Exercise:
    """An exercise whose cases each test gives ``run_check`` itself."""
    kind = Adapted if "adapter" in fields else Exercise
    return kind(name, name, name, reference, visible=list, hidden=lambda rng: [], **fields)


def test_forbidden_fp_errors_are_a_case_option_of_any_check():
    def exp_relu(Z):
        return np.maximum(Z, 0.0) + (np.exp(Z) < 0)  # right values, overflow for z = 1000

    cases = [Case((np.array([1.0, 1000.0]),), label="big")]
    assert run_check(spec("relu", refimpl.relu), cases, learner_fn=exp_relu).passed
    strict = [Case((np.array([1.0, 1000.0]),), label="big", forbid_fp_errors=("overflow",))]
    result = run_check(spec("relu", refimpl.relu), strict, learner_fn=exp_relu)
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
    assert run_check(spec("double", reference, adapter=adapt), cases,
                     learner_fn=Doubler).passed
    result = run_check(spec("double", reference, mistakes=tuple(mistakes), adapter=adapt),
                       cases, learner_fn=Tripler)
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
    result = run_check(spec("demo", lambda x: x, adapter=adapt), cases, learner_fn=learner)
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
    result = run_check(spec("demo", reference, output=DictOf("out"), mistakes=tuple(mistakes)),
                       cases, learner_fn=lacks_b)
    assert (result.stage, result.mistake) == ("type", "no-b")
