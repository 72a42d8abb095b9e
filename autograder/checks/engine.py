"""The generic check engine: compare a learner's function with the reference, case by case.

``run_check`` calls the learner's function on every ``Case`` (always on fresh copies of the
inputs, under ``np.errstate`` and ``warnings.catch_warnings`` so that nothing leaks to stderr)
and reports the FIRST failing case, checking in this order and stopping at the first failure:

1. the function is callable and accepts the reference's arguments (``running.learner_run``);
2. it returns without raising (only the learner's own traceback frames are shown;
   ``NotImplementedError`` means "not implemented yet"), or, for a case of bad input
   (``Case.raises``), it raises the exception the case requires (``stages.exception_problem``,
   ``stages.raises_problem``);
3. it returns the right type / container (an ndarray, a number, a tuple of the right
   length, a dict with the right keys) (``stages.type_problem``);
4. it left its inputs untouched (bit for bit) (``stages.inplace_problem``);
5. the dtype is floating (``messages.dtype_text``);
6. the shape matches (with the (n,) vs (n, 1) broadcasting trap spelled out)
   (``messages.shape_text``);
7. every entry is finite where the reference is finite (``stages.finite_problem``);
8. the values agree within the documented tolerance (``np.isclose(returned, expected,
   rtol, atol)``) (``stages.values_problem``);
9. no floating-point error the case forbids happened (``Case.forbid_fp_errors``, e.g. an
   overflow that a notebook would show as a RuntimeWarning even though the values are right)
   (``stages.fp_problem``).

Steps 2 to 9 are ``stages.Judge.problem``; the texts are in ``messages``.

A check whose exercise is not a plain function (a class, a function whose result must be
driven further) names a driver (``Exercise.driver``): the engine calls
``exercise.adapt(learner)`` and ``exercise.adapt(variant)`` the same way, and the adapted
callable may raise ``LearnerProblem`` to report what it found in a teaching sentence.

Then it compares the learner's behaviour with every known ``Mistake`` of the exercise and
names the best match in square brackets: ``[missing-sigmoid-prime]`` (``mistakes``). A
mistake whose variant passes the failing case is never named: it cannot explain the failure.

Hidden mode (``hidden=True``) never prints an expected number: only the property that
failed, shapes, indices, counts, one-significant-digit error sizes and the matched mistake.

Modules: ``running`` (calling the learner's code, its tracebacks), ``stages`` (steps 2-9),
``messages`` (the texts), ``compare`` (tolerances, inputs changed in place), ``mistakes``
(the best known mistake).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from autograder.checks import messages
from autograder.checks.exercise import Exercise
from autograder.checks.mistakes import best_mistake
from autograder.checks.running import LearnerRun, observe, run_learner
from autograder.checks.stages import Judge, Problem
from autograder.checks.types import Case, CheckResult, Mistake

__all__ = ["run_check"]


def run_check(exercise: Exercise, cases: Sequence[Case], *, learner_fn: Any = None,
              hidden: bool = False, learner: LearnerRun | None = None) -> CheckResult:
    """Compare the learner's object with ``exercise.reference`` on ``cases``, in order; never
    raises for learner errors.

    Parameters
    ----------
    exercise : what to compare and how (reference, output, tolerance, mistakes, ...)
    cases : the cases, in the order they are checked (``exercise.cases(...)``)
    learner_fn : the learner's function (anything: a non-callable is reported)
    hidden : hidden mode: no expected number ever appears in the message
    learner : what the learner's object did, when it ran elsewhere (``run_learner`` in the
        grading sandbox); ``learner_fn`` is then only used for messages

    Returns
    -------
    CheckResult
    """
    __tracebackhide__ = True
    cases = list(cases)

    def result(passed: bool, message: str, **fields: Any) -> CheckResult:
        return CheckResult(exercise=exercise.name, passed=passed, message=message,
                           n_cases=len(cases), hidden=hidden, **fields)

    if learner is None:
        learner = run_learner(exercise, learner_fn, cases)
    if learner.callable_problem is not None:
        return result(False, learner.callable_problem, stage="callable")
    expected = [_reference_output(exercise, case) for case in cases]
    if learner.signature_problem is not None:
        return result(False, learner.signature_problem, stage="signature")
    observations = learner.observations
    if len(observations) != len(cases):
        raise RuntimeError(f"internal error of the course: {len(observations)} "
                           f"observations for {len(cases)} cases of {exercise.name}")
    judge = Judge(exercise, cases, expected, hidden, learner.fn_name)
    for i, obs in enumerate(observations):
        problem = judge.problem(i, obs)
        if problem is None:
            continue
        mistake = best_mistake(judge, observations, i) \
            if problem.stage != "not-implemented" else None
        return result(False, _failure_message(judge, i, problem, mistake),
                      mistake=mistake and mistake.slug, stage=problem.stage,
                      case=cases[i].label)
    return result(True, messages.success_line(exercise.title, cases, hidden))


def _reference_output(exercise: Exercise, case: Case) -> Any:
    """The reference's result on ``case`` (None for a case it must refuse by raising); its
    failure is an internal error of the course."""
    obs = observe(exercise.reference, case)
    if case.raises is not None:
        if not isinstance(obs.error, case.raises):
            raise RuntimeError(
                f"internal error of the course: the reference {exercise.name} did not raise "
                f"{case.raises.__name__} on the case {case.label!r}")
        return None  # nothing to compare: the case passes when the learner raises too
    if obs.error is not None:
        raise RuntimeError(
            f"internal error of the course: the reference {exercise.name} failed on the "
            f"case {case.label!r}") from obs.error
    return obs.output


def _failure_message(judge: Judge, i: int, problem: Problem, mistake: Mistake | None) -> str:
    """The header, the problem, the inputs (visible mode) and the matched mistake."""
    exercise, case = judge.exercise, judge.cases[i]
    lines = [messages.header(exercise.title, judge.cases, i, judge.hidden), problem.statement]
    inputs = (messages.inputs_block(exercise.reference, case)
              if problem.show_inputs and not judge.hidden else [])
    if problem.stage == "exception":  # the traceback right under the exception
        lines.extend(problem.details + inputs)
    else:
        lines.extend(inputs + problem.details)
    if mistake is not None:
        lines.append(messages.mistake_line(mistake))
    return "\n".join(lines)
