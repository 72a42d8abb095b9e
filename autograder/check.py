"""One check per exercise: ``check.relu(relu)``, ``check.backward_231(fn, loss="bce")``.

Every check compares the learner's function with the NumPy reference (``refimpl``) on a few
small fixed VISIBLE cases, or with ``hidden=True`` on 20 seeded-random HIDDEN cases whose
expected values never appear in a message. On success it prints one line; on failure it
raises ``CheckFailed`` (an ``AssertionError``) whose message explains what went wrong, where,
and which known mistake it looks like. ``evaluate(...)`` gives the ``CheckResult`` without
printing or raising (for graders and scripts).

The checks ``check.NAME`` are made from the exercises' declarations
(``autograder.exercises.registry``), one per exercise, with the signature and the docstring
of that exercise: its options, and its tolerance (``np.isclose(returned, expected, rtol,
atol)``), which every failure message states too.
"""

from __future__ import annotations

import inspect
import sys
import textwrap
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import refimpl
from autograder.checks.engine import run_check
from autograder.checks.exercise import Exercise
from autograder.checks.running import run_learner
from autograder.checks.types import MESSAGE_WIDTH, Case, CheckFailed, CheckResult
from autograder.exercises.entry import Entry
from autograder.exercises.registry import CONFIGURATIONS, ENTRIES, EXERCISES, exercise
from autograder.exercises.shared_cases import N_HIDDEN
from autograder.grading import policy

__all__ = ["CONFIGURATIONS", "EXERCISES", "N_HIDDEN", "Case", "CheckFailed", "CheckResult",
           "Exercise", "evaluate", "exercise", "in_learner_kernel", "run", *ENTRIES]

_EXERCISE_MODULES = "autograder.exercises."


def run(exercise: Exercise, learner_fn: Any, *, hidden: bool = False,
        seed: int | None = None) -> CheckResult:
    """Check ``learner_fn`` on ``exercise``'s cases here, in the learner's process."""
    __tracebackhide__ = True
    cases = exercise.cases(hidden, seed)
    with (_reference_watch(exercise, learner_fn) as used,
          _earlier_exercises_from_reference(learner_fn, exercise.uses)):
        learner = run_learner(exercise, learner_fn, cases)
    result = run_check(exercise, cases, learner_fn=learner_fn, hidden=hidden, learner=learner)
    if not used:
        return result
    return CheckResult(exercise.name, False, (
        f"{exercise.title}: your {learner.fn_name} calls the reference implementation "
        f"refimpl.{used[0]}. That works here, but when the notebook is graded the "
        "reference is not available to this exercise, so this check would score 0 there. "
        "Write it yourself. [uses-reference]"), n_cases=len(cases), hidden=hidden,
        stage="reference-used")


def in_learner_kernel() -> bool:
    """Whether the checks run in a notebook or IPython (a learner's kernel, nbval,
    ``backprop-course check``), rather than in a script or a test of the course itself."""
    ipython = sys.modules.get("IPython")
    return ipython is not None and ipython.get_ipython() is not None


@contextmanager
def _reference_watch(exercise: Exercise, learner_fn: Any) -> Iterator[list[str]]:
    """The reference functions the learner's object is, or calls, that the trusted grader
    would refuse it (``autograder.grading.policy``): this check passing here would score 0
    there. Advice in the learner's own kernel; the grader does not rely on it."""
    used: list[str] = []
    inner = getattr(learner_fn, "func", learner_fn)
    if not in_learner_kernel() or _declared_by_an_exercise(inner):
        yield used  # scripts and tests check the reference itself; a planted mistake
        return
    given = set(exercise.uses) | set(policy.SHIPPED.get(exercise.name, {}))
    watched = {code: name for name in policy.reference_names() if name not in given
               and exercise.name in policy.ANSWERS.get(name, {exercise.name})
               for code in policy.code_objects(getattr(refimpl, name))}
    used += [watched[code] for code in policy.code_objects(inner) if code in watched][:1]

    def on_call(frame, event, arg) -> None:
        if event == "call" and not used and frame.f_code in watched:
            used.append(watched[frame.f_code])

    previous = sys.getprofile()
    sys.setprofile(on_call)
    try:
        yield used
    finally:
        sys.setprofile(previous)


@contextmanager
def _earlier_exercises_from_reference(learner_fn: Any, names: tuple[str, ...]):
    """Grade one exercise at a time: while it runs, the learner's earlier functions that it
    may call (``relu`` inside ``forward_231``) are the reference ones, so that a mistake in
    ``relu`` costs the relu points only. The learner's own functions are put back afterwards.
    """
    namespace = getattr(learner_fn, "__globals__", None)
    if not isinstance(namespace, dict) or not names:
        yield
        return
    saved = {name: namespace[name] for name in names if name in namespace}
    try:
        for name in saved:
            namespace[name] = getattr(refimpl, name)
        yield
    finally:
        namespace.update(saved)


def _declared_by_an_exercise(obj: Any) -> bool:
    """A function or class of the exercise modules: a planted mistake, in a test."""
    return (getattr(obj, "__module__", None) or "").startswith(_EXERCISE_MODULES)


# ---------------------------------------------------------------------------------------
# The public checks, one per exercise
# ---------------------------------------------------------------------------------------


def evaluate(name: str, learner_fn: Any, *, hidden: bool = False, seed: int | None = None,
             **options: Any) -> CheckResult:
    """Run the check ``name`` and return its ``CheckResult`` (no printing, no raising)."""
    __tracebackhide__ = True
    return run(exercise(name, **options), learner_fn, hidden=hidden, seed=seed)


def _conclude(result: CheckResult) -> CheckFailed | None:
    """Print the success line and return None, or return the CheckFailed to raise.

    The check function itself raises it (``raise failure from None``), so that a notebook
    shows one short frame of the autograder and no internal traceback.
    """
    if result.passed:  # green in a notebook, wrapped between words; plain text elsewhere
        if not in_learner_kernel():
            print(result.message)
            return None
        lines = textwrap.wrap(result.message, MESSAGE_WIDTH, break_long_words=False,
                              break_on_hyphens=False, subsequent_indent="  ")
        print("\n".join(f"\x1b[32m{line}\x1b[0m" for line in lines))
        return None
    return CheckFailed(result)


def _check_function(name: str, entry: Entry) -> Callable[..., None]:
    """``check.NAME``: its signature has the entry's options, its docstring the entry's words
    and tolerance."""
    keyword = inspect.Parameter.KEYWORD_ONLY
    signature = inspect.Signature([
        inspect.Parameter(entry.learner, inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=Any),
        *(option.replace(kind=keyword) for option in entry.options()),
        inspect.Parameter("hidden", keyword, default=False, annotation=bool),
        inspect.Parameter("seed", keyword, default=None, annotation=int | None),
    ], return_annotation=None)

    def check(*args: Any, **kwargs: Any) -> None:
        __tracebackhide__ = True
        arguments = signature.bind(*args, **kwargs)
        arguments.apply_defaults()
        options = dict(arguments.arguments)
        result = evaluate(name, options.pop(entry.learner), **options)
        if (failure := _conclude(result)) is not None:
            raise failure from None

    check.__name__ = check.__qualname__ = name
    check.__module__ = __name__
    check.__doc__ = entry.docstring()
    check.__signature__ = signature
    return check


globals().update({name: _check_function(name, entry) for name, entry in ENTRIES.items()})
