"""The generic check engine: compare a learner's function with the reference, case by case.

``run_check`` calls the learner's function on every ``Case`` (always on fresh copies of the
inputs, under ``np.errstate`` and ``warnings.catch_warnings`` so that nothing leaks to stderr)
and reports the FIRST failing case, checking in this order and stopping at the first failure:

1. the function is callable and accepts the reference's arguments;
2. it returns without raising (only the learner's own traceback frames are shown;
   ``NotImplementedError`` means "not implemented yet"), or, for a case of bad input
   (``Case.raises``), it raises the exception the case requires;
3. it returns the right type / container (an ndarray, a number, a tuple of the right
   length, a dict with the right keys);
4. it left its inputs untouched (bit for bit);
5. the dtype is floating;
6. the shape matches (with the (n,) vs (n, 1) broadcasting trap spelled out);
7. every entry is finite where the reference is finite;
8. the values agree within the documented tolerance (``np.isclose(returned, expected,
   rtol, atol)``);
9. no floating-point error the case forbids happened (``Case.forbid_fp_errors``, e.g. an
   overflow that a notebook would show as a RuntimeWarning even though the values are right).

A check whose exercise is not a plain function (a class, a function whose result must be
driven further) passes an ``adapt`` function: the engine calls ``adapt(learner)`` and
``adapt(variant)`` the same way, and the adapted callable may raise ``LearnerProblem`` to
report what it found in a teaching sentence.

Then it compares the learner's behaviour with every known ``Mistake`` of the exercise and
names the best match in square brackets: ``[missing-sigmoid-prime]``. A mistake whose variant
passes the failing case is never named: it cannot explain the failure.

Hidden mode (``hidden=True``) never prints an expected number: only the property that
failed, shapes, indices, counts, one-significant-digit error sizes and the matched mistake.
"""

from __future__ import annotations

import importlib.util
import inspect
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from autograder.checks import formatting as fmt
from autograder.checks.exercise import Exercise, Postcheck
from autograder.checks.types import (
    ARRAY,
    SCALAR,
    Case,
    CheckFailed,
    CheckResult,
    DictOf,
    Leaf,
    Mistake,
    Spec,
    TupleOf,
)
from autograder.grading.worker import calls
from autograder.grading.worker.calls import Observation
from autograder.grading.worker.drivers import LearnerProblem

__all__ = [
    "ARRAY",
    "SCALAR",
    "Case",
    "CheckFailed",
    "CheckResult",
    "DictOf",
    "Leaf",
    "LearnerProblem",
    "LearnerRun",
    "Mistake",
    "Observation",
    "TupleOf",
    "observe",
    "run_check",
    "run_learner",
    "same_behaviour",
]


# At most this many of the learner's traceback frames are shown (deep recursion).
_MAX_FRAMES = 10

# In a multi-part result, the first this-many differing parts are printed in full.
_FULL_PARTS = 2


@dataclass
class _Part:
    name: str
    got: Any
    expected: np.ndarray
    scalar: bool


# ---------------------------------------------------------------------------------------
# Running a function safely
# ---------------------------------------------------------------------------------------


def observe(fn: Callable[..., Any], case: Case,
            options: Sequence[str] | None = None) -> Observation:
    """Call ``fn`` on fresh copies of the case's inputs; never raises (except Ctrl-C).

    ``options``: names of ``case.options`` to pass (None: all of them). NumPy floating-point
    errors and Python warnings are recorded, not shown.
    """
    __tracebackhide__ = True
    passed = {k: v for k, v in case.options.items() if options is None or k in options}
    return calls.observe(fn, case.args, case.kwargs, passed, case.forbid_fp_errors)


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


# ---------------------------------------------------------------------------------------
# Comparing
# ---------------------------------------------------------------------------------------


def _as_float(value: Any) -> np.ndarray | None:
    """``value`` as a float64 array, or None when it is not numeric."""
    if value is None or isinstance(value, str | bytes | Mapping):
        return None
    try:
        a = np.asarray(value)
    except Exception:
        return None
    if a.dtype.kind not in "biuf":
        return None
    try:
        return a.astype(np.float64)
    except (TypeError, ValueError):
        return None


def _close(got: np.ndarray, expected: np.ndarray, rtol: float, atol: float) -> np.ndarray:
    with np.errstate(all="ignore"):
        return np.isclose(got, expected, rtol=rtol, atol=atol, equal_nan=True)


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
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        fa, fb = _as_float(a), _as_float(b)
        return (fa is not None and fb is not None and fa.shape == fb.shape
                and bool(_close(fa, fb, rtol, atol).all()))
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
        fa, fb = _as_float(va), _as_float(vb)
        if fa is None or fb is None or fa.shape != fb.shape:
            return False
        if not _close(fa, fb, rtol, atol).all():
            return False
    return _same_inputs(first.args, second.args, rtol, atol) and _same_inputs(
        first.kwargs, second.kwargs, rtol, atol)


def _bitwise_diff(before: np.ndarray, after: np.ndarray) -> np.ndarray:
    """Boolean mask of entries that are not bit-for-bit the same (nan == nan)."""
    if before.dtype.kind in "fc":
        same = (before == after) & (np.signbit(before.real) == np.signbit(after.real))
        same |= np.isnan(before) & np.isnan(after)
        return ~same
    return before != after


def _changed_inputs(names: Sequence[str], before: Sequence[Any],
                    after: Sequence[Any]) -> list[tuple[str, str, Any, Any, Any]]:
    """(top name, name, index or None, old, new) of every input changed by a call."""
    changes: list[tuple[str, str, Any, Any, Any]] = []

    def walk(top: str, name: str, b: Any, a: Any) -> None:
        if isinstance(b, np.ndarray):
            if not isinstance(a, np.ndarray) or a.shape != b.shape or a.dtype != b.dtype:
                changes.append((top, name, None, b, a))
                return
            with np.errstate(all="ignore"):
                diff = _bitwise_diff(b, a)
            if diff.any():
                idx = tuple(int(i) for i in np.argwhere(diff)[0])
                changes.append((top, name, (idx, int(diff.sum()), int(diff.size)), b, a))
        elif isinstance(b, Mapping):
            if not isinstance(a, Mapping) or set(a) != set(b):
                changes.append((top, name, "keys", b, a))
                return
            for k in b:
                walk(top, f"{name}[{k!r}]", b[k], a[k])
        elif isinstance(b, list | tuple):
            if not isinstance(a, list | tuple) or len(a) != len(b):
                changes.append((top, name, "length", b, a))
                return
            for i, (x, y) in enumerate(zip(b, a, strict=True)):
                walk(top, f"{name}[{i}]", x, y)

    for name, b, a in zip(names, before, after, strict=True):
        walk(name, name, b, a)
    return changes


# ---------------------------------------------------------------------------------------
# Messages for single properties
# ---------------------------------------------------------------------------------------


_DTYPE_HELP = {
    "i": ("integers", "Integer arrays come from e.g. np.zeros(shape, dtype=int), (Z > 0) * 1, "
          ".astype(int), integer division // or np.maximum(Z, 0) on an integer array; compute "
          "with floats (0.0 instead of 0, np.zeros(shape) without dtype=int)."),
    "b": ("booleans (True/False)", "A comparison such as Z > 0 gives a mask, not numbers: "
          "multiply by it or use np.where(...) to build the values."),
    "c": ("complex numbers", "A power or square root of a negative number becomes complex: "
          "check the signs inside ** and np.sqrt."),
    "O": ("Python objects (dtype object)", "np.array(...) of a list that mixes arrays of "
          "different shapes, or None values, gives an object array: build the result with "
          "NumPy operations."),
    "U": ("strings", "The values must be numbers."),
}


def _dtype_problem(part: _Part, top: bool) -> str | None:
    a = np.asarray(part.got)
    kind = a.dtype.kind
    if kind == "f":
        return None
    kind = {"u": "i", "S": "U"}.get(kind, kind)
    what, help_text = _DTYPE_HELP.get(kind, (f"values of dtype {a.dtype}", ""))
    subject = "Your function returned" if top else f"{part.name} holds"
    if part.scalar and a.ndim == 0:
        subject = "Your function returned" if top else f"{part.name} is"
        single = {"i": "an integer", "b": "a bool", "c": "a complex number"}.get(
            kind, f"a value of dtype {a.dtype}")
        help_text = {"i": "Integer arithmetic (// or sums of integers) gives integers: "
                          "compute with floats or convert with float(...).",
                     "b": "A comparison gives True/False, not a number."}.get(kind, help_text)
        return (f"{subject} {single} ({type(part.got).__name__}), expected a floating-point "
                f"number. {help_text}")
    return (f"{subject} {what} (dtype {a.dtype}), expected floating-point numbers "
            f"(float64). {help_text}")


def _shape_problem(part: _Part, top: bool) -> str | None:
    got = np.asarray(part.got)
    exp = part.expected
    if got.shape == exp.shape:
        return None
    name = "Your result" if top else part.name
    g, e = fmt.shape(got.shape), fmt.shape(exp.shape)
    if part.scalar:
        if got.size == 1:
            return (f"{name} is an array of shape {g} holding one value, expected a single "
                    f"number: reduce over ALL entries (np.mean(...) or np.sum(...) without "
                    f"axis=) or convert with float(...).")
        return (f"{name} is an array of shape {g}, expected a single number: the result "
                f"averages or sums over ALL entries (no axis= argument).")
    text = f"{name} has shape {g}, expected {e}."
    if len(exp.shape) == 2 and exp.shape[1] == 1 and got.shape == (exp.shape[0],):
        text += (" You have a 1-D array of n values where a column (n, 1) is expected. "
                 "Mixing (n,) and (n, 1) arrays in arithmetic broadcasts silently to an (n, n) "
                 "table: keep columns with .reshape(-1, 1) or keepdims=True.")
    elif len(got.shape) == 2 and got.shape[1] == 1 and exp.shape == (got.shape[0],):
        text += (" You have a column (n, 1) where a 1-D array of n values is expected: "
                 "use .ravel() or reduce without keepdims=True.")
    elif (len(exp.shape) == 2 and exp.shape[1] == 1 and exp.shape[0] > 1
          and got.shape == (exp.shape[0], exp.shape[0])):
        text += (" An (n, n) table instead of a column (n, 1) is what broadcasting makes of "
                 "an (n,) array combined with an (n, 1) array: check that both are (n, 1).")
    elif got.ndim == exp.ndim == 2 and got.shape == exp.shape[::-1]:
        text += " It looks transposed: check the order of a matrix product and any .T."
    elif got.size == exp.size:
        text += " It has the right number of entries arranged differently."
    elif got.ndim == exp.ndim + 1 and got.shape[1:] == exp.shape:
        text += (" There is one extra leading axis: did you forget to sum over the samples "
                 "(axis=0)?")
    elif got.ndim == exp.ndim + 1 and got.shape[:-1] == exp.shape:
        text += " There is one extra axis at the end (keepdims=True, or a reshape?)."
    elif got.ndim == exp.ndim == 1:
        text += " It has a different length."
    elif got.ndim == exp.ndim and got.ndim >= 1 and got.shape[1:] == exp.shape[1:]:
        text += " It has a different number of rows."
    elif got.ndim == 2 and exp.ndim == 2 and got.shape[0] == exp.shape[0]:
        text += " It has a different number of columns."
    return text


def _fp_cause(fp_errors: Sequence[str], kind: str) -> str:
    causes = []
    if "overflow" in fp_errors:
        causes.append("NumPy reported an overflow: exp of a large number is inf "
                      "(np.exp(1000) = inf); rewrite the formula so that exp only sees "
                      "non-positive numbers, e.g. exp(-|z|)")
    if "divide by zero" in fp_errors:
        causes.append("NumPy reported a division by zero: a log(0) or an x / 0 happened (keep "
                      "the argument of a log away from 0, e.g. with np.clip)")
    if "invalid value" in fp_errors:
        causes.append("NumPy reported an invalid operation: 0 * inf, inf - inf, 0 / 0, or the "
                      "log or sqrt of a negative number")
    if not causes:
        causes.append("Common causes are exp of a large number (overflow), log(0), a "
                      "division by zero, and 0 * inf" if kind == "inf"
                      else "Common causes are 0 * log(0), inf - inf, 0 / 0 and the log of a "
                      "negative number")
    return "; ".join(causes) + "."


# ---------------------------------------------------------------------------------------
# The run
# ---------------------------------------------------------------------------------------


@dataclass
class _Problem:
    stage: str
    statement: str
    details: list[str] = field(default_factory=list)
    show_inputs: bool = True


def _arg_names(reference: Callable[..., Any], n_args: int) -> list[str]:
    try:
        params = [p.name for p in inspect.signature(reference).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        params = []
    return [params[i] if i < len(params) else f"argument {i + 1}" for i in range(n_args)]


_EXCEPTION_HINTS: tuple[tuple[type[BaseException], str, str], ...] = (
    (ValueError, "matmul", "A matrix product got shapes that do not fit: in A @ B the last "
     "axis of A must equal the first axis of B. Print the shapes right before the failing "
     "line and check the order of the factors and any missing or extra .T."),
    (ValueError, "not aligned", "A matrix product (np.dot) got shapes that do not fit: print "
     "the shapes right before the failing line and check the order of the factors and .T."),
    (ValueError, "could not be broadcast", "Two arrays could not be combined entry by entry: "
     "their shapes must be equal or broadcastable. Print the shapes and compare."),
    (NameError, "", "A name is not defined: did you run the cell that defines it (and "
     "`import numpy as np`) in this kernel?"),
    (TypeError, "'str' object is not callable", "You called a string as a function: an "
     "argument such as activation='relu' is a NAME; look the function up first."),
    (RecursionError, "", "Your function calls itself without end: did a helper get the same "
     "name as the function it calls?"),
    (SystemExit, "", "Your code called exit() or sys.exit(): return a value instead."),
)


@dataclass
class LearnerRun:
    """What the learner's object did on every case of a check, before any comparison.

    It is computed where the learner's code runs (this process, or the trusted grader's
    sandbox, see ``autograder.sandbox``) and holds no expected value, so it can be carried to
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
    run = learner_run(exercise, result, n_args=len(cases[0].args) if cases else 0)
    for obs, case in zip(run.observations, cases, strict=False):
        apply_postcheck(exercise.postcheck, obs, case)
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


def learner_run(exercise: Exercise, result: calls.Attempt, *, n_args: int) -> LearnerRun:
    """The :class:`LearnerRun` of an attempt, its problems explained."""
    run = LearnerRun(fn_name=result.fn_name, observations=list(result.observations))
    if result.not_callable is not None:
        run.callable_problem = _not_callable_message(exercise.name, result.not_callable)
    elif result.bind_error is not None:
        names = ", ".join(_arg_names(exercise.reference, n_args))
        run.signature_problem = (
            f"{exercise.title}: your function cannot be called as "
            f"{exercise.name}({names}): {result.bind_error}. Its parameters are "
            f"{result.signature}; the exercise needs "
            f"{calls.signature_text(exercise.reference)}.")
    return run


class _Run:
    def __init__(self, exercise: Exercise, cases: Sequence[Case], *, learner_fn: Any,
                 hidden: bool, learner: LearnerRun | None):
        self.spec_of = exercise
        self.exercise = exercise.name
        self.fn = learner_fn
        self.adapt = exercise.adapt
        self.postcheck = exercise.postcheck
        self.learner: LearnerRun | None = learner  # None: run the learner's code here
        self.reference = exercise.reference
        self.cases = list(cases)
        self.spec = exercise.output
        self.mistakes = tuple(exercise.mistakes)
        self.hidden = hidden
        self.rtol = exercise.rtol
        self.atol = exercise.atol
        self.title = exercise.title
        self.diagnose = exercise.diagnose
        self.input_hints = dict(exercise.input_hints)
        self.part_order = exercise.part_order or (lambda name: 0)

    # -- the pieces of a message --------------------------------------------------------

    def header(self, i: int) -> str:
        n = len(self.cases)
        case = self.cases[i]
        if self.hidden:
            label = f" ({case.label})" if case.label else ""
            return f"{self.title}: hidden case {i + 1} of {n} failed{label}."
        label = f' ("{case.label}")' if case.label else ""
        return f"{self.title}: case {i + 1} of {n} failed{label}."

    def inputs_block(self, i: int) -> list[str]:
        case = self.cases[i]
        names = _arg_names(self.reference, len(case.args))
        shown = [(name, v) for name, v in zip(names, case.args, strict=True)]
        shown += list(case.kwargs.items())
        lines = []
        width = max((len(name) for name, _ in shown), default=0)
        for name, value in shown:
            if callable(value) and not isinstance(value, np.ndarray):
                continue
            if isinstance(value, Mapping) and _small_arrays(value):
                lines.extend(fmt.show(f"{name}[{key!r}]", v) for key, v in value.items())
            else:
                lines.append(fmt.show(name.ljust(width), value))
        return ["Input:", *lines] if lines else []

    # -- per-case evaluation ----------------------------------------------------------------

    def evaluate(self, i: int, obs: Observation, expected: Any) -> _Problem | None:
        required = self.cases[i].raises
        if required is not None:
            if isinstance(obs.error, required):
                return None
            if obs.error is not None:
                return self.exception_problem(obs.error)
            return _Problem("raises", f"Your function returned a result instead of raising "
                                      f"{required.__name__}. {self.cases[i].raises_why}")
        if obs.error is not None:
            return self.exception_problem(obs.error)
        parts, problem = self.structure(obs.output, expected)
        if problem is not None:
            return problem
        problem = self.inplace_problem(i, obs)
        if problem is not None:
            return problem
        top = isinstance(self.spec, Leaf)
        for stage, check in (("dtype", _dtype_problem), ("shape", _shape_problem)):
            texts = [t for p in parts if (t := check(p, top)) is not None]
            if texts:
                return _Problem(stage, texts[0], texts[1:])
        problem = self.finite_problem(parts, obs, top)
        if problem is not None:
            return problem
        problem = self.values_problem(parts, top)
        if problem is not None:
            return problem
        return self.fp_problem(obs)

    def exception_problem(self, exc: BaseException) -> _Problem:
        if isinstance(exc, LearnerProblem):
            cause = exc.__cause__
            details = ([format_learner_traceback(cause, with_exception=False)]
                       if cause is not None and learner_frames(cause) else [])
            return _Problem(exc.stage, str(exc), details)
        frames = learner_frames(exc)
        fn_name = self.learner.fn_name
        if isinstance(exc, NotImplementedError):
            text = (f"{self.title} is not implemented yet: replace the "
                    "`raise NotImplementedError()` line with your code.")
            if frames and frames[-1].name not in (fn_name, "<module>"):
                text += (f" (It is raised in `{frames[-1].name}`, which your function calls: "
                         "implement that one first.)")
            return _Problem("not-implemented", text, show_inputs=False)
        statement = f"Your function raised {type(exc).__name__}: {exc}"
        details = [format_learner_traceback(exc, with_exception=False)] if frames else []
        for kind, needle, hint in _EXCEPTION_HINTS:
            if isinstance(exc, kind) and needle in str(exc):
                details.append(hint)
                break
        return _Problem("exception", statement, details)

    def structure(self, value: Any, expected: Any) -> tuple[list[_Part], _Problem | None]:
        parts: list[_Part] = []

        def fail(text: str) -> tuple[list[_Part], _Problem]:
            return [], _Problem("type", text)

        spec = self.spec
        if isinstance(spec, Leaf):
            text = _leaf_type_problem(value, spec, np.asarray(expected), top=True)
            if text:
                return fail(text)
            return [_Part(spec.name, value, np.asarray(expected), spec.scalar)], None
        if isinstance(spec, TupleOf):
            names = spec.names()
            if value is None:
                return fail(f"Your function returned None: did you forget `return`? It must "
                            f"return a tuple {names}.")
            if not isinstance(value, tuple | list):
                return fail(f"Your function returned {fmt.describe_type(value)}, expected a "
                            f"tuple {names}: end with `return {names[1:-1]}`.")
            if len(value) != len(spec.items):
                return fail(f"Your function returned {fmt.describe_type(value)}, expected "
                            f"{len(spec.items)} items {names}.")
            items = list(zip(spec.items, value, expected, strict=True))
        else:
            items = [(spec, value, expected)]
        for item_spec, item, item_expected in items:
            if isinstance(item_spec, Leaf):
                text = _leaf_type_problem(item, item_spec, np.asarray(item_expected), top=False)
                if text:
                    return fail(text)
                parts.append(_Part(item_spec.name, item, np.asarray(item_expected),
                                   item_spec.scalar))
                continue
            where = "Your function returned" if item_spec is spec else f"{item_spec.name} is"
            if item is None and item_spec is spec:
                return fail("Your function returned None: did you forget `return`? It must "
                            f"return the dict {item_spec.name}.")
            if not isinstance(item, Mapping):
                return fail(f"{where} {fmt.describe_type(item)}, expected a dict "
                            f"({item_spec.name}).")
            keys = item_spec.keys if item_spec.keys is not None else tuple(item_expected)
            missing = [k for k in keys if k not in item]
            if missing:
                have = ", ".join(repr(k) for k in item) or "none"
                text = (f"{item_spec.name} has no key {fmt.join_names([repr(k) for k in missing])}"
                        f" (its keys: {have}).")
                renamed = [k for k in missing if f"d{k}" in item]
                if renamed:
                    text += (f" Use the keys of params: store dL/d{renamed[0]} as "
                             f"{item_spec.name}[{renamed[0]!r}], not {item_spec.name}"
                             f"['d{renamed[0]}'].")
                if item_spec.purpose:
                    text += " " + item_spec.purpose
                return fail(text)
            for key in keys:
                name = item_spec.part_name(key)
                sub = Leaf(name, scalar=item_spec.scalar)
                text = _leaf_type_problem(item[key], sub, np.asarray(item_expected[key]),
                                          top=False)
                if text:
                    return fail(text)
                parts.append(_Part(name, item[key], np.asarray(item_expected[key]),
                                   item_spec.scalar))
        return parts, None

    def inplace_problem(self, i: int, obs: Observation) -> _Problem | None:
        case = self.cases[i]
        names = _arg_names(self.reference, len(case.args)) + list(case.kwargs)
        before = list(case.args) + list(case.kwargs.values())
        after = list(obs.args) + [obs.kwargs.get(k) for k in case.kwargs]
        changes = _changed_inputs(names, before, after)
        if not changes:
            return None
        top, name, where, old, new = changes[0]
        fn = self.exercise
        statement = f"{fn} changed its argument {name} in place."
        details = []
        if isinstance(where, tuple):
            idx, count, size = where
            entry = f"{name}{fmt.index(idx)}" if idx else name
            if self.hidden:
                details.append(f"{count} of {size} entries changed; the first is {entry}.")
            else:
                details.append(f"{entry} was {fmt.exact(old[idx])} before the call and is "
                               f"{fmt.exact(new[idx])} after it ({count} of {size} entries "
                               "changed).")
            with np.errstate(all="ignore"):
                delta = np.abs(np.asarray(new, dtype=np.float64) - old)
                scale = np.maximum(np.abs(old), 1.0)
            if old.dtype.kind == "f" and np.all(delta <= 1e-9 * scale):
                details.append("The changes are tiny rounding errors: undoing a change by "
                               "arithmetic (x[i] += h, later x[i] -= h) does not always give "
                               "back the same float. Save the old value and put it back: "
                               "old = x[i]; ...; x[i] = old.")
        elif where == "keys":
            details.append(f"keys were added to or removed from {name}.")
        else:
            details.append(f"{name} was replaced by something of another shape or type.")
        details.append(self.input_hints.get(top) or (
            "Writing into an argument (e.g. Z[Z < 0] = 0, Z *= 2, x -= lr * g) changes the "
            "caller's array too. Build a new array instead (A = np.maximum(Z, 0), "
            "x = x - lr * g) or work on a copy (A = Z.copy())."))
        return _Problem("inplace", statement, details)

    def finite_problem(self, parts: list[_Part], obs: Observation, top: bool) -> _Problem | None:
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
            if not self.hidden:
                text += f" ({fmt.num(part.expected[idx], 10)})"
            texts.append(text + ".")
            cause = _fp_cause(obs.fp_errors, kind)
        if not texts:
            return None
        return _Problem("finite", texts[0], [*texts[1:], cause])

    def fp_problem(self, obs: Observation) -> _Problem | None:
        if not obs.forbidden_fp:
            return None
        kinds = fmt.join_names([("an " if kind[0] in "aeiou" else "a ") + kind
                                for kind in obs.forbidden_fp])
        statement = (f"The values are right, but NumPy reported {kinds} inside your "
                     "function. A notebook shows that as a RuntimeWarning, and in a longer "
                     "formula the inf or nan it produces spreads to the result.")
        return _Problem("fp-error", statement, [_fp_cause(obs.forbidden_fp, "inf")])

    def values_problem(self, parts: list[_Part], top: bool) -> _Problem | None:
        tol = fmt.tolerance(self.rtol, self.atol)
        wrong: list[tuple[_Part, np.ndarray, np.ndarray]] = []
        correct: list[str] = []
        for part in sorted(parts, key=lambda p: self.part_order(p.name)):
            got = np.asarray(part.got, dtype=np.float64)
            close = _close(got, part.expected, self.rtol, self.atol)
            if close.all():
                correct.append(part.name)
            else:
                wrong.append((part, got, close))
        if not wrong:
            return None
        details: list[str] = []
        if len(parts) == 1:
            part, got, close = wrong[0]
            if part.scalar or close.size == 1:
                statement = f"The returned value differs from the reference (tolerance: {tol})."
            else:
                statement = (f"The values differ from the reference (tolerance: {tol}): "
                             f"{int((~close).sum())} of {close.size} entries differ.")
            details = self.difference_lines(part, got, close, single=True, full=True)
        else:
            wrong_names = [p.name for p, _, _ in wrong]
            verb = "differs" if len(wrong_names) == 1 else "differ"
            statement = f"Some results differ from the reference (tolerance: {tol})."
            if correct:
                is_are = "is" if len(correct) == 1 else "are"
                statement += (f" {fmt.join_names(correct)} {is_are} correct; "
                              f"{fmt.join_names(wrong_names)} {verb}.")
            else:
                statement += f" All of {fmt.join_names(wrong_names)} differ."
            if self.diagnose is not None:
                extra = self.diagnose(correct, wrong_names)
                if extra:
                    statement += " " + extra
            for k, (part, got, close) in enumerate(wrong):
                details.extend(self.difference_lines(part, got, close, single=False,
                                                     full=k < _FULL_PARTS))
        if not self.hidden:
            details.extend(self.factor_lines(wrong, single=len(parts) == 1))
        low = [p.name if not top else "Your result"
               for p, _, _ in wrong if np.asarray(p.got).dtype.itemsize < 8]
        if low:
            details.append(f"{fmt.join_names(low)} {'is' if len(low) == 1 else 'are'} in low "
                           "precision (float32 or float16, about 7 or 3 digits): compute in "
                           "float64, the NumPy default.")
        return _Problem("values", statement, details)

    def difference_lines(self, part: _Part, got: np.ndarray, close: np.ndarray,
                         single: bool, full: bool) -> list[str]:
        exp = part.expected
        with np.errstate(all="ignore"):
            err = np.abs(got - exp)
        err = np.where(np.isnan(err) & ~close, np.inf, err)
        err = np.where(close, 0.0, err)
        worst = fmt.magnitude(float(err.max()))
        idx = tuple(int(k) for k in np.argwhere(~close)[0])
        n_wrong = int((~close).sum())
        one_value = part.scalar or close.size == 1
        if self.hidden:
            if one_value:
                return [("It" if single else part.name) + f" is off by about {worst}."]
            where = (f"The first difference is at {fmt.index(idx)}" if single else
                     f"{part.name}: {n_wrong} of {close.size} entries differ, the first at "
                     f"{fmt.index(idx)}")
            return [f"{where}; the largest difference is about {worst}."]
        if one_value:
            label = "" if single else f"{part.name}: "
            value_idx = idx if exp.ndim else ()
            return [f"{label}expected {fmt.num(exp[value_idx], 10)}, returned "
                    f"{fmt.num(got[value_idx], 10)}."]
        first = (f"expected {fmt.num(exp[idx], 10)}, returned {fmt.num(got[idx], 10)}")
        if not full:
            return [f"{part.name}: {n_wrong} of {close.size} entries differ, the first at "
                    f"{fmt.index(idx)} ({first})."]
        lines = [] if single else [f"{part.name} ({n_wrong} of {close.size} entries differ):"]
        lines.append(fmt.show("expected", exp))
        lines.append(fmt.show("returned", got))
        lines.append(f"The first difference is at {fmt.index(idx)}: {first}.")
        return lines

    def factor_lines(self, wrong: list[tuple[_Part, np.ndarray, np.ndarray]],
                     single: bool) -> list[str]:
        """Point out a constant factor (a sign, a 2, n...) between returned and expected."""
        factors = [_constant_factor(got, part.expected, self.atol) for part, got, _ in wrong]
        if single or len(wrong) == 1:
            c = factors[0]
            if c is None:
                return []
            return [f"Returned = {fmt.num(c, 4)} x expected everywhere: a constant factor is "
                    "missing or extra (a sign, a 2, an n or 1/n?)."]
        known = [c for c in factors if c is not None]
        if known and len(known) == len(factors) and np.allclose(known, known[0], rtol=1e-6):
            return [f"Every differing result is {fmt.num(known[0], 4)} x the expected one: a "
                    "constant factor is missing or extra (a sign, a 2, an n or 1/n?)."]
        return [f"{part.name}: returned = {fmt.num(c, 4)} x expected everywhere (a constant "
                "factor)." for (part, got, _), c in zip(wrong, factors, strict=True)
                if c is not None and np.count_nonzero(np.abs(part.expected) > self.atol) >= 2]

    # -- mistakes --------------------------------------------------------------------------

    def matches(self, j: int, mistake: Mistake, variant_obs: Observation | None,
                expected: Any) -> bool:
        learner = self.observations[j]
        if learner.error is not None and mistake.predicate is not None:
            try:
                if mistake.predicate(learner.error, self.cases[j]):
                    return True
            except Exception:
                pass
        if variant_obs is None:
            return False
        return same_behaviour(learner, variant_obs, self.spec, expected, self.rtol, self.atol)

    def match_mistake(self, i: int) -> Mistake | None:
        best: tuple[int, int, Mistake] | None = None
        # A mistake with a variant must explain every failing case, not just the first: a
        # function that fails for another reason may agree with a variant on one case.
        failing = [j for j in range(len(self.cases))
                   if self.evaluate(j, self.observations[j], self.expected[j]) is not None]
        for order, mistake in enumerate(self.mistakes):
            variant_obs: list[Observation | None] = [None] * len(self.cases)

            def run(j: int, mistake: Mistake = mistake, variant_obs=variant_obs) -> None:
                if mistake.variant is not None and variant_obs[j] is None:
                    variant_obs[j] = observe(self.adapt(mistake.variant), self.cases[j])
                    apply_postcheck(self.postcheck, variant_obs[j], self.cases[j])

            run(i)
            if not self.matches(i, mistake, variant_obs[i], self.expected[i]):
                continue
            if (self.observations[i].error is None and variant_obs[i] is not None
                    and self.evaluate(i, variant_obs[i], self.expected[i]) is None):
                # The variant passes this case, so it cannot explain the failure (e.g. the
                # learner changed an input by rounding and agrees with it within tolerance).
                continue
            if mistake.variant is not None:
                for j in failing:
                    run(j)
                if not all(self.matches(j, mistake, variant_obs[j], self.expected[j])
                           for j in failing):
                    continue
            score = 0
            for j in range(len(self.cases)):
                run(j)
                score += self.matches(j, mistake, variant_obs[j], self.expected[j])
            if best is None or (score, -order) > (best[0], best[1]):
                best = (score, -order, mistake)
        return best[2] if best else None

    # -- the whole check -----------------------------------------------------------------

    def result(self, passed: bool, message: str, *, mistake: str | None = None,
               stage: str | None = None, case: str | None = None) -> CheckResult:
        return CheckResult(exercise=self.exercise, passed=passed, message=message,
                           mistake=mistake, n_cases=len(self.cases), hidden=self.hidden,
                           stage=stage, case=case)

    def run(self) -> CheckResult:
        __tracebackhide__ = True
        if self.learner is None:
            self.learner = run_learner(self.spec_of, self.fn, self.cases)
        if self.learner.callable_problem is not None:
            return self.result(False, self.learner.callable_problem, stage="callable")
        self.expected = [self.call_reference(case) for case in self.cases]
        if self.learner.signature_problem is not None:
            return self.result(False, self.learner.signature_problem, stage="signature")
        self.observations = self.learner.observations
        if len(self.observations) != len(self.cases):
            raise RuntimeError(f"internal error of the course: {len(self.observations)} "
                               f"observations for {len(self.cases)} cases of {self.exercise}")
        for i, (obs, expected) in enumerate(zip(self.observations, self.expected,
                                                strict=True)):
            problem = self.evaluate(i, obs, expected)
            if problem is None:
                continue
            lines = [self.header(i), problem.statement]
            inputs = self.inputs_block(i) if problem.show_inputs and not self.hidden else []
            if problem.stage == "exception":  # the traceback right under the exception
                lines.extend(problem.details + inputs)
            else:
                lines.extend(inputs + problem.details)
            mistake = self.match_mistake(i) if problem.stage != "not-implemented" else None
            if mistake is not None:
                lines.append(f"This looks like a known mistake [{mistake.slug}]: "
                             f"{mistake.name}. {mistake.hint}")
            return self.result(False, "\n".join(lines), mistake=mistake and mistake.slug,
                               stage=problem.stage, case=self.cases[i].label)
        return self.result(True, self.success_line())

    def call_reference(self, case: Case) -> Any:
        obs = observe(self.reference, case)
        if case.raises is not None:
            if not isinstance(obs.error, case.raises):
                raise RuntimeError(
                    f"internal error of the course: the reference {self.exercise} did not raise "
                    f"{case.raises.__name__} on the case {case.label!r}")
            return None  # nothing to compare: the case passes when the learner raises too
        if obs.error is not None:
            raise RuntimeError(
                f"internal error of the course: the reference {self.exercise} failed on the "
                f"case {case.label!r}") from obs.error
        return obs.output

    def success_line(self) -> str:
        n = len(self.cases)
        plural = "s" if n != 1 else ""
        if self.hidden:
            return f"✔ {self.title}: {n} hidden case{plural} passed"
        labels: list[str] = []
        for label in (c.label for c in self.cases if c.label):
            if sum(len(x) + 2 for x in labels) + len(label) > 80:
                labels.append("...")
                break
            labels.append(label)
        return f"✔ {self.title}: {n} visible case{plural} passed" + (
            f" ({'; '.join(labels)})" if labels else "")


def _small_arrays(mapping: Mapping[str, Any]) -> bool:
    """A dict of arrays small enough to print in full (a 2-3-1 params dict is)."""
    values = list(mapping.values())
    return (all(isinstance(v, np.ndarray) for v in values)
            and sum(v.size for v in values) <= fmt.FULL_PRINT_MAX_SIZE)


def _leaf_type_problem(value: Any, leaf: Leaf, expected: np.ndarray, top: bool) -> str | None:
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


def _constant_factor(got: np.ndarray, exp: np.ndarray, atol: float) -> float | None:
    """c when got == c * exp everywhere (c != 1), else None.

    With fewer than two nonzero expected entries any value is "a multiple", so c is only
    reported when it is a telling number: -1, an integer, or 1 / an integer.
    """
    if got.shape != exp.shape or not (np.isfinite(got).all() and np.isfinite(exp).all()):
        return None
    nonzero = np.abs(exp) > atol
    if not nonzero.any():
        return None
    with np.errstate(all="ignore"):
        c = float(np.mean(got[nonzero] / exp[nonzero]))
        if not np.isfinite(c) or abs(c - 1) < 1e-6 or abs(c) < 1e-12:
            return None
        if not _close(got, c * exp, 1e-6, atol).all():
            return None
    if nonzero.sum() < 2:
        k = abs(c) if abs(c) >= 1 else 1 / abs(c)
        if abs(k - round(k)) > 1e-9 * k or k > 1000:
            return None
    return c


def _not_callable_message(exercise: str, description: str) -> str:
    text = f"{exercise}: check.{exercise} needs your function, but got {description}."
    if description == "None":
        text += " Did you run the cell that defines it?"
    else:
        text += (f" Pass the function itself, check.{exercise}({exercise}), not the result "
                 f"of calling it, check.{exercise}({exercise}(...)).")
    return text


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
    return _Run(exercise, cases, learner_fn=learner_fn, hidden=hidden, learner=learner).run()
