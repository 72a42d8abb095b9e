"""Running the learner's code on a check's cases, and showing its tracebacks.

``run_learner`` calls the learner's object (through ``Exercise.adapt``) on every case where
the learner's code lives, and returns a :class:`LearnerRun`: what it did, before any
comparison and without any expected value. The trusted grader computes the same
:class:`LearnerRun` from what its sandbox sent (:func:`from_attempt`).

A traceback shows the learner's own frames only: never those of autograder, refimpl or NumPy.
"""

from __future__ import annotations

import importlib.util
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from autograder.checks import messages
from autograder.checks.exercise import Exercise, Postcheck
from autograder.checks.types import Case
from autograder.grading.worker import calls
from autograder.grading.worker.calls import Observation
from autograder.grading.worker.problems import LearnerProblem

__all__ = ["LearnerRun", "apply_postcheck", "call_case", "format_learner_traceback",
           "from_attempt", "learner_frames", "learner_run", "observe", "run_learner"]

# At most this many of the learner's traceback frames are shown (deep recursion).
_MAX_FRAMES = 10


def observe(fn: Callable[..., Any], case: Case,
            options: Sequence[str] | None = None) -> Observation:
    """Call ``fn`` on fresh copies of the case's inputs; never raises (except Ctrl-C).

    ``options``: names of ``case.options`` to pass (None: all of them). NumPy floating-point
    errors and Python warnings are recorded, not shown.
    """
    __tracebackhide__ = True
    passed = {k: v for k, v in case.options.items() if options is None or k in options}
    return calls.observe(fn, case.args, case.kwargs, passed, case.forbid_fp_errors)


# ---------------------------------------------------------------------------------------
# The learner's run
# ---------------------------------------------------------------------------------------


@dataclass
class LearnerRun:
    """What the learner's object did on every case of a check, before any comparison.

    It is computed where the learner's code runs (this process, or the trusted grader's
    sandbox, see ``autograder.grading``) and holds no expected value, so it can be carried to
    the process that compares it with the reference.
    """

    fn_name: str  # the learner's function name, for messages
    callable_problem: str | None = None  # why the object cannot be called at all
    signature_problem: str | None = None  # why it cannot be called with the case's arguments
    observations: list[Observation] = field(default_factory=list)  # one per case


def run_learner(exercise: Exercise, learner_fn: Any, cases: Sequence[Case]) -> LearnerRun:
    """Call ``learner_fn`` (through ``exercise.adapt``) on every case; never raises for learner
    errors. The exercise's ``postcheck`` then looks at every result (:func:`apply_postcheck`).
    """
    __tracebackhide__ = True
    # An adapter may also explain a wrong object, e.g. an instance where a class is needed.
    call = exercise.adapt(learner_fn) if learner_fn is not None else None
    result = calls.attempt(learner_fn, call, [call_case(case) for case in cases],
                           fallback_name=exercise.name)
    return from_attempt(exercise, result, cases)


def from_attempt(exercise: Exercise, result: calls.Attempt, cases: Sequence[Case]) -> LearnerRun:
    """The :class:`LearnerRun` of an attempt on ``cases``: its problems explained
    (:func:`learner_run`) and the exercise's postcheck applied to every result."""
    run = learner_run(exercise, result, n_args=len(cases[0].args) if cases else 0)
    for obs, case in zip(run.observations, cases, strict=False):
        apply_postcheck(exercise.postcheck, obs, case)
    return run


def learner_run(exercise: Exercise, result: calls.Attempt, *, n_args: int) -> LearnerRun:
    """The :class:`LearnerRun` of an attempt, its problems explained (``n_args``: how many
    positional arguments a case has)."""
    run = LearnerRun(fn_name=result.fn_name, observations=list(result.observations))
    if result.not_callable is not None:
        run.callable_problem = messages.not_callable_message(exercise.name, result.not_callable)
    elif result.bind_error is not None:
        run.signature_problem = messages.cannot_call_message(
            exercise.title, exercise.name, exercise.reference, n_args, result.bind_error,
            result.signature)
    return run


def apply_postcheck(postcheck: Postcheck | None, obs: Observation, case: Case) -> None:
    """``postcheck(output, case)`` on a call that returned: properties of a result that need
    the reference (a trained network must generalise). Its ``LearnerProblem`` becomes the
    call's error; it runs where the reference is, never beside the learner's code."""
    if postcheck is None or obs.error is not None:
        return
    try:
        postcheck(obs.output, case)
    except LearnerProblem as problem:
        obs.error = problem


def call_case(case: Case) -> calls.CallCase:
    """The part of ``case`` the learner's object is called with."""
    return calls.CallCase(tuple(case.args), dict(case.kwargs), dict(case.options),
                          tuple(case.forbid_fp_errors))


# ---------------------------------------------------------------------------------------
# Tracebacks: the learner's frames only
# ---------------------------------------------------------------------------------------


def _package_dir(name: str) -> str | None:
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return str(Path(next(iter(spec.submodule_search_locations))).resolve())


_INTERNAL_DIRS: tuple[str, ...] | None = None


def _internal_dirs() -> tuple[str, ...]:
    """The folders of autograder, refimpl and numpy (found once)."""
    global _INTERNAL_DIRS
    if _INTERNAL_DIRS is None:
        dirs = [str(Path(__file__).resolve().parent.parent)]  # all of autograder
        for name in ("refimpl", "numpy"):
            d = _package_dir(name)
            if d:
                dirs.append(d)
        _INTERNAL_DIRS = tuple(dirs)
    return _INTERNAL_DIRS


def learner_frames(exc: BaseException) -> list[traceback.FrameSummary]:
    """The traceback frames of ``exc`` outside autograder, refimpl and numpy."""
    carried = getattr(exc, "learner_frames", None)  # an exception rebuilt from the sandbox
    if carried is not None:
        return list(carried)
    return [f for f in traceback.extract_tb(exc.__traceback__)
            if not calls.is_internal(f.filename, _internal_dirs())]


def format_learner_traceback(exc: BaseException, with_exception: bool = True) -> str:
    """The learner's frames of ``exc`` (at most the last 10) and the exception line."""
    frames = learner_frames(exc)
    lines = []
    if frames:
        omitted = max(0, len(frames) - _MAX_FRAMES)
        lines.append("Traceback (your code only, most recent call last):")
        if omitted:
            lines.append(f"  ... {omitted} earlier frames omitted ...")
        lines.extend(s.rstrip("\n") for s in traceback.format_list(frames[-_MAX_FRAMES:]))
    if with_exception:
        lines.extend(s.rstrip("\n") for s in traceback.format_exception_only(type(exc), exc))
    return "\n".join(lines)
