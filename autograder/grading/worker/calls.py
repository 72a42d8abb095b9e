"""Calling a learner's object on a check's cases, where the learner's code lives.

The checks (``autograder.checks.running``) use these in the learner's own kernel; the grading
worker uses them in the sandbox and sends the :class:`Attempt` back as plain data. Every call
gets fresh copies of its inputs and runs under ``np.errstate`` and ``warnings.catch_warnings``,
so nothing leaks to stderr; the inputs are kept as they were afterwards (a function must not
change them). Whether the object can take the cases' arguments is :mod:`signatures`' job.
"""

from __future__ import annotations

import traceback
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .codec import new_budget, to_plain
from .describe import describe_type
from .signatures import accepted_options, bind_error, signature_text

__all__ = ["Attempt", "CallCase", "Observation", "attempt", "carry_attempt", "carry_exception",
           "clone", "is_internal", "observe"]


@dataclass
class Observation:
    """What one call did: its output or exception, and its inputs as they were afterwards."""

    output: Any = None
    error: BaseException | None = None
    args: tuple = ()
    kwargs: dict = field(default_factory=dict)
    fp_errors: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    forbidden_fp: tuple[str, ...] = ()  # the case's forbidden fp errors that happened


@dataclass
class Attempt:
    """What the learner's object did on every case, before any comparison.

    ``not_callable``: the object's description when it cannot be called at all;
    ``bind_error``: why it cannot be called with the cases' arguments (a TypeError's text).
    """

    fn_name: str
    not_callable: str | None = None
    bind_error: str | None = None
    signature: str = "(...)"
    observations: list[Observation] = field(default_factory=list)


def clone(obj: Any) -> Any:
    """A deep copy of arrays and containers of arrays; other objects are shared."""
    if isinstance(obj, np.ndarray):
        return obj.copy()
    if isinstance(obj, dict):
        return {k: clone(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [clone(v) for v in obj]
    if isinstance(obj, tuple):
        return tuple(clone(v) for v in obj)
    return obj


def observe(fn: Callable[..., Any], args: Sequence[Any], kwargs: Mapping[str, Any],
            options: Mapping[str, Any] | None = None,
            forbid_fp_errors: Sequence[str] = ()) -> Observation:
    """Call ``fn`` on fresh copies of the inputs; never raises (except Ctrl-C).

    NumPy floating-point errors and Python warnings are recorded, not shown.
    """
    __tracebackhide__ = True
    args, kwargs = clone(tuple(args)), clone(dict(kwargs))
    fp_errors: set[str] = set()

    def on_fp_error(kind: str, flag: int) -> None:
        fp_errors.add(kind)

    obs = Observation(args=args, kwargs=kwargs)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with np.errstate(all="call", call=on_fp_error):
            try:
                obs.output = fn(*args, **kwargs, **clone(dict(options or {})))
            except KeyboardInterrupt:
                raise
            except BaseException as exc:  # a learner's sys.exit() is reported, not obeyed
                obs.error = exc
    obs.fp_errors = tuple(sorted(fp_errors))
    obs.warnings = tuple(f"{w.category.__name__}: {w.message}" for w in caught)
    # A function may also turn NumPy's reports into warnings itself (np.errstate(all="warn")).
    obs.forbidden_fp = tuple(
        kind for kind in forbid_fp_errors
        if kind in fp_errors or any(f"{kind} encountered" in w for w in obs.warnings))
    return obs


@dataclass(frozen=True)
class CallCase:
    """One call: arguments, the options the reference always gets, forbidden fp errors."""

    args: tuple
    kwargs: Mapping[str, Any]
    options: Mapping[str, Any]
    forbid_fp_errors: tuple[str, ...] = ()


def attempt(obj: Any, call: Any, cases: Sequence[CallCase], *, fallback_name: str,
            each: Callable[[Observation], bool] | None = None) -> Attempt:
    """Call ``call`` (``obj`` as the exercise calls it) on every case; never raises for the
    learner's errors. ``each(observation)`` may return False to stop early (a timeout)."""
    __tracebackhide__ = True
    result = Attempt(fn_name=str(getattr(obj, "__name__", fallback_name)))
    if not callable(call):
        result.not_callable = describe_type(obj) if obj is not None else "None"
        return result
    result.signature = signature_text(obj)
    names = set().union(*(set(c.options) for c in cases)) if cases else set()
    options = accepted_options(call, names)
    if cases:
        first = cases[0]
        passed = dict(first.kwargs) | {k: v for k, v in first.options.items() if k in options}
        result.bind_error = bind_error(call, first.args, passed)
        if result.bind_error is not None:
            return result
    for case in cases:
        obs = observe(call, case.args, case.kwargs,
                      {k: v for k, v in case.options.items() if k in options},
                      case.forbid_fp_errors)
        result.observations.append(obs)
        if each is not None and not each(obs):
            break
    return result


# ---------------------------------------------------------------------------------------
# Exceptions as plain data
# ---------------------------------------------------------------------------------------

_INTERNAL = (str(Path(__file__).resolve().parent), str(Path(np.__file__).resolve().parent))


def is_internal(filename: str, folders: Sequence[str] = _INTERNAL) -> bool:
    """Whether a traceback frame's file is in one of ``folders`` (not the learner's code)."""
    if filename.startswith(("<__array_function__", "<frozen")):
        return True
    try:
        path = str(Path(filename).resolve())
    except (OSError, ValueError):
        return False
    return any(path == d or path.startswith((d + "/", d + "\\")) for d in folders)


def carry_exception(exc: BaseException, depth: int = 0) -> dict[str, Any]:
    """``exc`` as plain data, with the learner's traceback frames only."""
    frames = [[f.filename[:500], f.lineno or 0, f.name[:200], (f.line or "")[:500]]
              for f in traceback.extract_tb(exc.__traceback__) if not is_internal(f.filename)]
    cause = exc.__cause__
    try:
        text = str(exc)
    except Exception:
        text = f"<{type(exc).__name__} whose message could not be read>"
    return {
        "type": type(exc).__name__[:200],
        "bases": [cls.__name__ for cls in type(exc).__mro__][:20],
        "args": [a[:2000] if type(a) is str else a if type(a) in (bool, int, float)
                 else str(a)[:2000] for a in exc.args[:10]],
        "text": text[:5000],
        "frames": frames[-20:],
        "stage": getattr(exc, "stage", None) if type(exc).__name__ == "LearnerProblem" else None,
        "cause": carry_exception(cause, depth + 1) if cause is not None and depth < 2 else None,
    }


def carry_attempt(result: Attempt) -> dict[str, Any]:
    """``result`` as plain data for the grader."""
    budget = new_budget()
    observations = []
    for obs in result.observations:
        observations.append({
            "output": to_plain(obs.output, budget),
            "error": carry_exception(obs.error) if obs.error is not None else None,
            "args": to_plain(obs.args, budget),
            "kwargs": to_plain(obs.kwargs, budget),
            "fp_errors": [str(e) for e in obs.fp_errors],
            "warnings": [str(w)[:500] for w in obs.warnings[:20]],
            "forbidden_fp": [str(e) for e in obs.forbidden_fp],
        })
    return {"fn_name": result.fn_name[:200], "not_callable": result.not_callable,
            "bind_error": result.bind_error, "signature": result.signature[:500],
            "observations": observations}
