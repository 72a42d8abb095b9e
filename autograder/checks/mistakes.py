"""Matching a failing learner's behaviour with the exercise's known mistakes.

A mistake matches a call when its ``predicate`` recognises the learner's exception, or when
its ``variant`` (called through ``Exercise.adapt``, like the learner's object) behaves the
same (:func:`same_behaviour`). The failure names the mistake that matches the most cases
among those that can explain it: a mistake whose variant passes the failing case is never
named, and a variant must match every failing case.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from autograder.checks.compare import as_float, close
from autograder.checks.running import apply_postcheck, observe
from autograder.checks.stages import Judge
from autograder.checks.types import Leaf, Mistake, Spec, TupleOf
from autograder.grading.worker.calls import Observation

__all__ = ["best_mistake", "same_behaviour"]

# A key that a returned dict lacks: two results that lack the same keys can still agree.
_MISSING = object()


def _lenient_parts(spec: Spec, value: Any, expected: Any) -> dict[str, Any] | None:
    """The parts of ``value`` by name when its container structure fits, else None
    (a missing dict key is the part ``_MISSING``)."""
    parts: dict[str, Any] = {}

    def walk(s: Spec, v: Any, e: Any) -> bool:
        if isinstance(s, Leaf):
            parts[s.name] = v
            return True
        if isinstance(s, TupleOf):
            if not isinstance(v, tuple | list) or len(v) != len(s.items):
                return False
            return all(walk(si, vi, ei) for si, vi, ei in zip(s.items, v, e, strict=True))
        if not isinstance(v, Mapping):
            return False
        for key in s.keys if s.keys is not None else tuple(e):
            parts[s.part_name(key)] = v.get(key, _MISSING)
        return True

    return parts if walk(spec, value, expected) else None


def _same_inputs(a: Any, b: Any, rtol: float, atol: float) -> bool:
    """Inputs left in the same state: arrays that agree, inside dicts, lists and tuples."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        fa, fb = as_float(a), as_float(b)
        return (fa is not None and fb is not None and fa.shape == fb.shape
                and bool(close(fa, fb, rtol, atol).all()))
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return set(a) == set(b) and all(_same_inputs(a[k], b[k], rtol, atol) for k in a)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(
            _same_inputs(x, y, rtol, atol) for x, y in zip(a, b, strict=True))
    return True


def same_behaviour(first: Observation, second: Observation, spec: Spec, expected: Any,
                   rtol: float, atol: float) -> bool:
    """Did two calls behave alike: the same exception (type and text), or outputs that agree
    within the tolerance (lacking the same dict keys, if any), inputs left in the same state
    AND the same forbidden floating-point errors?"""
    if first.error is not None or second.error is not None:
        return (first.error is not None and second.error is not None
                and type(first.error) is type(second.error)
                and str(first.error) == str(second.error))
    if first.forbidden_fp != second.forbidden_fp:
        return False
    pa = _lenient_parts(spec, first.output, expected)
    pb = _lenient_parts(spec, second.output, expected)
    if pa is None or pb is None or set(pa) != set(pb):
        return False
    for name, va in pa.items():
        vb = pb[name]
        if va is _MISSING or vb is _MISSING:
            if va is vb:
                continue
            return False
        if va is None and vb is None:
            continue
        fa, fb = as_float(va), as_float(vb)
        if fa is None or fb is None or fa.shape != fb.shape:
            return False
        if not close(fa, fb, rtol, atol).all():
            return False
    return _same_inputs(first.args, second.args, rtol, atol) and _same_inputs(
        first.kwargs, second.kwargs, rtol, atol)


# ---------------------------------------------------------------------------------------
# The best known mistake
# ---------------------------------------------------------------------------------------


class _Variant:
    """A mistake's variant, run on a case when first needed (each case at most once)."""

    def __init__(self, judge: Judge, mistake: Mistake) -> None:
        self.judge = judge
        self.mistake = mistake
        self.observations: list[Observation | None] = [None] * len(judge.cases)

    def on(self, j: int) -> Observation | None:
        """The variant's call on case ``j`` (None for a mistake without a variant)."""
        if self.mistake.variant is not None and self.observations[j] is None:
            exercise, case = self.judge.exercise, self.judge.cases[j]
            self.observations[j] = observe(exercise.adapt(self.mistake.variant), case)
            apply_postcheck(exercise.postcheck, self.observations[j], case)
        return self.observations[j]

    def matches(self, j: int, learner: Observation) -> bool:
        """Does the mistake explain the learner's call ``learner`` on case ``j``?"""
        if learner.error is not None and self.mistake.predicate is not None:
            try:
                if self.mistake.predicate(learner.error, self.judge.cases[j]):
                    return True
            except Exception:
                pass
        variant = self.on(j)
        if variant is None:
            return False
        exercise = self.judge.exercise
        return same_behaviour(learner, variant, exercise.output, self.judge.expected[j],
                              exercise.rtol, exercise.atol)


def _score(variant: _Variant, observations: list[Observation], i: int,
           failing: list[int]) -> int | None:
    """How many cases the mistake matches, or None when it cannot explain the failure of
    case ``i``."""
    judge = variant.judge
    if not variant.matches(i, observations[i]):
        return None
    own = variant.on(i)
    if observations[i].error is None and own is not None and judge.problem(i, own) is None:
        # The variant passes this case, so it cannot explain the failure (e.g. the
        # learner changed an input by rounding and agrees with it within tolerance).
        return None
    # A mistake with a variant must explain every failing case, not just the first: a
    # function that fails for another reason may agree with a variant on one case.
    if variant.mistake.variant is not None and not all(
            variant.matches(j, observations[j]) for j in failing):
        return None
    return sum(variant.matches(j, obs) for j, obs in enumerate(observations))


def best_mistake(judge: Judge, observations: list[Observation], i: int) -> Mistake | None:
    """The known mistake that best explains the learner's failure on case ``i``: among those
    that can explain it, the one matching the most cases (the first listed on a tie)."""
    failing = [j for j, obs in enumerate(observations) if judge.problem(j, obs) is not None]
    best: tuple[int, int, Mistake] | None = None
    for order, mistake in enumerate(judge.exercise.mistakes):
        score = _score(_Variant(judge, mistake), observations, i, failing)
        if score is not None and (best is None or (score, -order) > (best[0], best[1])):
            best = (score, -order, mistake)
    return best[2] if best else None
