"""The per-case stages of a check, in the order ``engine`` documents: each looks at one
property of one call and returns the :class:`Problem` it found, or None.

``Judge.problem`` runs them in order and stops at the first problem: exception (or a
required exception not raised), type and structure, inputs changed in place, dtype, shape,
finite entries, values, forbidden floating-point errors.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from autograder.checks import formatting as fmt
from autograder.checks import messages
from autograder.checks.compare import Part, changed_inputs, close
from autograder.checks.exercise import Exercise
from autograder.checks.running import format_learner_traceback, learner_frames
from autograder.checks.types import Case, DictOf, Leaf, Spec, TupleOf
from autograder.grading.worker.calls import Observation
from autograder.grading.worker.problems import LearnerProblem

__all__ = ["Judge", "Problem"]

# In a multi-part result, the first this-many differing parts are printed in full.
_FULL_PARTS = 2


@dataclass
class Problem:
    """What a stage found: ``statement`` (one sentence), ``details`` (lines under it) and
    whether the case's inputs are worth showing."""

    stage: str
    statement: str
    details: list[str] = field(default_factory=list)
    show_inputs: bool = True


@dataclass(frozen=True)
class Judge:
    """Judges calls on one check's cases.

    exercise : the exercise (output spec, tolerance, hints...)
    cases : the cases, in order; expected : the reference's result on each (None for a case
        that must raise)
    hidden : hidden mode: no expected number in any text
    fn_name : the learner's function name (where a NotImplementedError comes from)
    """

    exercise: Exercise
    cases: Sequence[Case]
    expected: Sequence[Any]
    hidden: bool
    fn_name: str

    def problem(self, i: int, obs: Observation) -> Problem | None:
        """The first problem of ``obs``, a call on case ``i``, or None when it passes."""
        required = self.cases[i].raises
        if required is not None:
            return raises_problem(self, self.cases[i], obs)
        if obs.error is not None:
            return exception_problem(obs.error, self.exercise.title, self.fn_name)
        spec = self.exercise.output
        parts, problem = type_problem(spec, obs.output, self.expected[i])
        if problem is not None:
            return problem
        problem = inplace_problem(self, self.cases[i], obs)
        if problem is not None:
            return problem
        top = isinstance(spec, Leaf)
        return (part_problem("dtype", messages.dtype_text, parts, top)
                or part_problem("shape", messages.shape_text, parts, top)
                or finite_problem(parts, obs, top, self.hidden)
                or values_problem(self, parts, top)
                or fp_problem(obs))


# ---------------------------------------------------------------------------------------
# Exceptions
# ---------------------------------------------------------------------------------------


def raises_problem(judge: Judge, case: Case, obs: Observation) -> Problem | None:
    """A case of bad input: the call must raise ``case.raises``."""
    if isinstance(obs.error, case.raises):
        return None
    if obs.error is not None:
        return exception_problem(obs.error, judge.exercise.title, judge.fn_name)
    return Problem("raises", f"Your function returned a result instead of raising "
                             f"{case.raises.__name__}. {case.raises_why}")


def exception_problem(exc: BaseException, title: str, fn_name: str) -> Problem:
    """The call raised ``exc``: a ``LearnerProblem`` as it is, "not implemented yet", or the
    exception with the learner's frames and a hint."""
    if isinstance(exc, LearnerProblem):
        cause = exc.__cause__
        details = ([format_learner_traceback(cause, with_exception=False)]
                   if cause is not None and learner_frames(cause) else [])
        return Problem(exc.stage, str(exc), details)
    frames = learner_frames(exc)
    if isinstance(exc, NotImplementedError):
        text = (f"{title} is not implemented yet: replace the "
                "`raise NotImplementedError()` line with your code.")
        if frames and frames[-1].name not in (fn_name, "<module>"):
            text += (f" (It is raised in `{frames[-1].name}`, which your function calls: "
                     "implement that one first.)")
        return Problem("not-implemented", text, show_inputs=False)
    statement = f"Your function raised {type(exc).__name__}: {exc}"
    details = [format_learner_traceback(exc, with_exception=False)] if frames else []
    hint = messages.exception_hint(exc)
    if hint is not None:
        details.append(hint)
    return Problem("exception", statement, details)


# ---------------------------------------------------------------------------------------
# Type and structure
# ---------------------------------------------------------------------------------------


def _leaf_type_text(value: Any, leaf: Leaf, expected: np.ndarray, top: bool) -> str | None:
    """Why ``value`` is not an array (or a number for a scalar leaf), or None."""
    subject = "Your function returned" if top else f"{leaf.name} is"
    if value is None:
        if top:
            return "Your function returned None: did you forget `return`?"
        return f"{leaf.name} is None: did you forget to compute or store it?"
    if isinstance(value, np.ndarray):
        return None
    if isinstance(value, int | float | complex | np.generic):
        if leaf.scalar or expected.ndim == 0:
            return None
        return (f"{subject} a single number ({type(value).__name__}), expected an array of "
                f"shape {fmt.shape(expected.shape)}: did you reduce (sum, mean, max) where no "
                f"reduction was needed, or use a Python loop variable?")
    want = "a single number" if leaf.scalar else "a NumPy array"
    if top and isinstance(value, tuple):
        return (f"Your function returned {fmt.describe_type(value)}, expected {want}: did you "
                "return several "
                "values (e.g. `return A, Z`)? Return only the result.")
    if isinstance(value, list | tuple):
        return (f"{subject} {fmt.describe_type(value)}, expected {want}: build it with NumPy "
                "operations, or convert at the end with np.array(...).")
    if isinstance(value, str):
        return f"{subject} a str ({fmt.truncate(repr(value), 40)}), expected {want}."
    return f"{subject} {fmt.describe_type(value)}, expected {want}."


def _tuple_text(spec: TupleOf, value: Any) -> str | None:
    """Why ``value`` is not a tuple (or list) of ``spec``'s items, or None."""
    names = spec.names()
    if value is None:
        return (f"Your function returned None: did you forget `return`? It must "
                f"return a tuple {names}.")
    if not isinstance(value, tuple | list):
        return (f"Your function returned {fmt.describe_type(value)}, expected a "
                f"tuple {names}: end with `return {names[1:-1]}`.")
    if len(value) != len(spec.items):
        return (f"Your function returned {fmt.describe_type(value)}, expected "
                f"{len(spec.items)} items {names}.")
    return None


def _missing_keys_text(spec: DictOf, item: Mapping, missing: list[str]) -> str:
    """The returned dict ``item`` lacks the keys ``missing`` (named dL/dW keys spotted)."""
    have = ", ".join(repr(k) for k in item) or "none"
    text = (f"{spec.name} has no key {fmt.join_names([repr(k) for k in missing])} "
            f"(its keys: {have}).")
    renamed = [k for k in missing if f"d{k}" in item]
    if renamed:
        text += (f" Use the keys of params: store dL/d{renamed[0]} as "
                 f"{spec.name}[{renamed[0]!r}], not {spec.name}['d{renamed[0]}'].")
    if spec.purpose:
        text += " " + spec.purpose
    return text


def _dict_parts(spec: DictOf, item: Any, expected: Any, top: bool,
                parts: list[Part]) -> str | None:
    """Append the parts of a returned dict to ``parts``; or why it is not the dict needed.
    ``top``: the dict is the whole result."""
    if item is None and top:
        return ("Your function returned None: did you forget `return`? It must "
                f"return the dict {spec.name}.")
    if not isinstance(item, Mapping):
        where = "Your function returned" if top else f"{spec.name} is"
        return f"{where} {fmt.describe_type(item)}, expected a dict ({spec.name})."
    keys = spec.keys if spec.keys is not None else tuple(expected)
    missing = [k for k in keys if k not in item]
    if missing:
        return _missing_keys_text(spec, item, missing)
    for key in keys:
        name = spec.part_name(key)
        text = _leaf_type_text(item[key], Leaf(name, scalar=spec.scalar),
                               np.asarray(expected[key]), top=False)
        if text:
            return text
        parts.append(Part(name, item[key], np.asarray(expected[key]), spec.scalar))
    return None


def _parts(spec: Leaf | DictOf, value: Any, expected: Any, top: bool,
           parts: list[Part]) -> str | None:
    """Append the parts of ``value`` (an array, a number or a dict) to ``parts``; or why its
    type does not fit. ``top``: ``value`` is the whole result."""
    if isinstance(spec, DictOf):
        return _dict_parts(spec, value, expected, top, parts)
    parts.append(Part(spec.name, value, np.asarray(expected), spec.scalar))
    return _leaf_type_text(value, spec, np.asarray(expected), top)


def type_problem(spec: Spec, value: Any, expected: Any) -> tuple[list[Part], Problem | None]:
    """The parts of the returned ``value`` by name, or the problem with its type or
    container structure (a tuple of the right length, a dict with the right keys)."""
    parts: list[Part] = []
    if not isinstance(spec, TupleOf):
        text = _parts(spec, value, expected, True, parts)
    elif (text := _tuple_text(spec, value)) is None:
        for item_spec, item, item_expected in zip(spec.items, value, expected, strict=True):
            text = _parts(item_spec, item, item_expected, False, parts)
            if text:
                break
    return ([], Problem("type", text)) if text else (parts, None)


# ---------------------------------------------------------------------------------------
# Inputs changed in place
# ---------------------------------------------------------------------------------------


_IN_PLACE_ADVICE = (
    "Writing into an argument (e.g. Z[Z < 0] = 0, Z *= 2, x -= lr * g) changes the "
    "caller's array too. Build a new array instead (A = np.maximum(Z, 0), "
    "x = x - lr * g) or work on a copy (A = Z.copy()).")


def _entry_change_lines(name: str, where: tuple, old: np.ndarray, new: Any,
                        hidden: bool) -> list[str]:
    """Which entries of the array ``name`` changed (and, visible, from what to what)."""
    idx, count, size = where
    entry = f"{name}{fmt.index(idx)}" if idx else name
    if hidden:
        lines = [f"{count} of {size} entries changed; the first is {entry}."]
    else:
        lines = [f"{entry} was {fmt.exact(old[idx])} before the call and is "
                 f"{fmt.exact(new[idx])} after it ({count} of {size} entries changed)."]
    with np.errstate(all="ignore"):
        delta = np.abs(np.asarray(new, dtype=np.float64) - old)
        scale = np.maximum(np.abs(old), 1.0)
    if old.dtype.kind == "f" and np.all(delta <= 1e-9 * scale):
        lines.append("The changes are tiny rounding errors: undoing a change by "
                     "arithmetic (x[i] += h, later x[i] -= h) does not always give "
                     "back the same float. Save the old value and put it back: "
                     "old = x[i]; ...; x[i] = old.")
    return lines


def inplace_problem(judge: Judge, case: Case, obs: Observation) -> Problem | None:
    """The call changed one of its inputs (compared bit for bit)."""
    exercise = judge.exercise
    names = messages.arg_names(exercise.reference, len(case.args)) + list(case.kwargs)
    before = list(case.args) + list(case.kwargs.values())
    after = list(obs.args) + [obs.kwargs.get(k) for k in case.kwargs]
    changes = changed_inputs(names, before, after)
    if not changes:
        return None
    change = changes[0]
    name = change.name
    statement = f"{exercise.name} changed its argument {name} in place."
    if isinstance(change.where, tuple):
        details = _entry_change_lines(name, change.where, change.old, change.new, judge.hidden)
    elif change.where == "keys":
        details = [f"keys were added to or removed from {name}."]
    else:
        details = [f"{name} was replaced by something of another shape or type."]
    details.append(exercise.input_hints.get(change.top) or _IN_PLACE_ADVICE)
    return Problem("inplace", statement, details)


# ---------------------------------------------------------------------------------------
# dtype, shape, finite entries, values, floating-point errors
# ---------------------------------------------------------------------------------------


def part_problem(stage: str, text_of: Callable[[Part, bool], str | None], parts: list[Part],
                 top: bool) -> Problem | None:
    """The first part that ``text_of(part, top)`` finds wrong (dtype, shape); the others
    are listed under it."""
    texts = [t for p in parts if (t := text_of(p, top)) is not None]
    return Problem(stage, texts[0], texts[1:]) if texts else None


def finite_problem(parts: list[Part], obs: Observation, top: bool,
                   hidden: bool) -> Problem | None:
    """A nan or inf where the reference is finite."""
    texts = []
    for part in parts:
        got = np.asarray(part.got, dtype=np.float64)
        bad = ~np.isfinite(got) & np.isfinite(part.expected)
        if not bad.any():
            continue
        idx = tuple(int(k) for k in np.argwhere(bad)[0])
        value = got[idx]
        kind = "nan" if np.isnan(value) else "inf"
        name = "Your result" if top else part.name
        where = f" at {fmt.index(idx)}" if idx else ""
        text = (f"{name} contains {fmt.num(value)}{where} ({int(bad.sum())} of {bad.size} "
                f"entries are nan or inf) where the reference is finite")
        if not hidden:
            text += f" ({fmt.num(part.expected[idx], 10)})"
        texts.append(text + ".")
        cause = messages.fp_cause(obs.fp_errors, kind)
    if not texts:
        return None
    return Problem("finite", texts[0], [*texts[1:], cause])


def _values_statement(judge: Judge, correct: list[str], wrong: list[str]) -> str:
    """The statement for a multi-part result with ``wrong`` parts that differ."""
    verb = "differs" if len(wrong) == 1 else "differ"
    statement = (f"Some results differ from the reference (tolerance: "
                 f"{fmt.tolerance(judge.exercise.rtol, judge.exercise.atol)}).")
    if correct:
        is_are = "is" if len(correct) == 1 else "are"
        statement += (f" {fmt.join_names(correct)} {is_are} correct; "
                      f"{fmt.join_names(wrong)} {verb}.")
    else:
        statement += f" All of {fmt.join_names(wrong)} differ."
    if judge.exercise.diagnose is not None:
        extra = judge.exercise.diagnose(correct, wrong)
        if extra:
            statement += " " + extra
    return statement


def values_problem(judge: Judge, parts: list[Part], top: bool) -> Problem | None:
    """Values that differ from the reference beyond the exercise's tolerance."""
    exercise, hidden = judge.exercise, judge.hidden
    order = exercise.part_order or (lambda name: 0)
    wrong: list[tuple[Part, np.ndarray, np.ndarray]] = []
    correct: list[str] = []
    for part in sorted(parts, key=lambda p: order(p.name)):
        got = np.asarray(part.got, dtype=np.float64)
        agree = close(got, part.expected, exercise.rtol, exercise.atol)
        if agree.all():
            correct.append(part.name)
        else:
            wrong.append((part, got, agree))
    if not wrong:
        return None
    if len(parts) == 1:
        part, got, agree = wrong[0]
        tol = fmt.tolerance(exercise.rtol, exercise.atol)
        if part.scalar or agree.size == 1:
            statement = f"The returned value differs from the reference (tolerance: {tol})."
        else:
            statement = (f"The values differ from the reference (tolerance: {tol}): "
                         f"{int((~agree).sum())} of {agree.size} entries differ.")
        details = messages.difference_lines(part, got, agree, single=True, full=True,
                                            hidden=hidden)
    else:
        statement = _values_statement(judge, correct, [p.name for p, _, _ in wrong])
        details = [line for k, (part, got, agree) in enumerate(wrong)
                   for line in messages.difference_lines(part, got, agree, single=False,
                                                         full=k < _FULL_PARTS, hidden=hidden)]
    if not hidden:
        details.extend(messages.factor_lines(wrong, len(parts) == 1, exercise.atol))
    low = [p.name if not top else "Your result"
           for p, _, _ in wrong if np.asarray(p.got).dtype.itemsize < 8]
    if low:
        details.append(f"{fmt.join_names(low)} {'is' if len(low) == 1 else 'are'} in low "
                       "precision (float32 or float16, about 7 or 3 digits): compute in "
                       "float64, the NumPy default.")
    return Problem("values", statement, details)


def fp_problem(obs: Observation) -> Problem | None:
    """Right values, but a floating-point error the case forbids happened."""
    if not obs.forbidden_fp:
        return None
    kinds = fmt.join_names([("an " if kind[0] in "aeiou" else "a ") + kind
                            for kind in obs.forbidden_fp])
    statement = (f"The values are right, but NumPy reported {kinds} inside your "
                 "function. A notebook shows that as a RuntimeWarning, and in a longer "
                 "formula the inf or nan it produces spreads to the result.")
    return Problem("fp-error", statement, [messages.fp_cause(obs.forbidden_fp, "inf")])
