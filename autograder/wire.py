"""Carry what a learner's code did out of the grading sandbox, as plain data only.

The sandbox (``autograder.sandbox``) runs the learner's code; the grader compares the results
with the reference in another process. Everything that crosses is first reduced to plain data
(numbers, strings, base-class NumPy arrays, lists, tuples and dicts of them): a learner's
object cannot travel, so it cannot lie to the grader (an ``__eq__`` that is always True, an
ndarray subclass). Any other object becomes an :class:`Opaque` description, and an exception
becomes a :class:`CarriedException` that is rebuilt as the nearest built-in exception.
The grader reads the sandbox's bytes with :func:`loads_untrusted`, which refuses every class
that is not on this module's short list.
"""

from __future__ import annotations

import builtins
import io
import pickle
import traceback
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from autograder import formatting as fmt
from autograder.engine import LearnerProblem, LearnerRun, Observation, learner_frames
from autograder.formatting import Opaque

__all__ = [
    "CarriedException",
    "Opaque",
    "carry_run",
    "dumps",
    "loads_untrusted",
    "rebuild_run",
    "to_plain",
]

#: Results larger than this (bytes of array data) are not carried, only described.
MAX_CARRIED_BYTES = 64 * 2**20
_MAX_DEPTH = 8


@dataclass
class CarriedException:
    """An exception raised by the learner's code, as plain data."""

    type_name: str
    base_names: list[str]  # the names of its classes, most derived first
    args: tuple
    text: str  # str(exception)
    frames: list[tuple[str, int, str, str]]  # the learner's frames: file, line, function, code
    stage: str | None = None  # for LearnerProblem
    cause: CarriedException | None = None


class _Budget:
    def __init__(self) -> None:
        self.left = MAX_CARRIED_BYTES


def to_plain(value: Any, _budget: _Budget | None = None, _depth: int = 0) -> Any:
    """``value`` reduced to plain data; other objects become :class:`Opaque`. Never raises."""
    budget = _budget or _Budget()
    try:
        return _plain(value, budget, _depth)
    except Exception as exc:  # a learner's object whose __len__ or keys() raise
        return Opaque(f"an object that could not be read ({type(exc).__name__})")


def _plain(value: Any, budget: _Budget, depth: int) -> Any:
    if value is None or type(value) in (bool, int, float, complex, str):
        return value
    if depth > _MAX_DEPTH:
        return Opaque("a structure nested too deeply")
    if isinstance(value, np.ndarray):
        if value.dtype.hasobject or value.dtype.kind == "V":
            return Opaque(fmt.describe_type(np.asarray(value)))
        budget.left -= value.nbytes
        if budget.left < 0:
            return Opaque(f"an ndarray of shape {fmt.shape(value.shape)} too large to grade")
        return np.array(value, copy=True, subok=False)
    if isinstance(value, np.generic):
        if isinstance(value, np.object_ | np.void):
            return Opaque(fmt.describe_type(value))
        return np.asarray(value)[()]
    for base in (bool, int, float, complex, str):
        if isinstance(value, base):  # a subclass of a built-in number or str
            return base(value)
    if isinstance(value, tuple):
        return tuple(_plain(v, budget, depth + 1) for v in value)
    if isinstance(value, list):
        return [_plain(v, budget, depth + 1) for v in value]
    if isinstance(value, dict):
        if not all(type(k) in (str, int) for k in value):
            return Opaque(fmt.describe_type(value))
        return {k: _plain(v, budget, depth + 1) for k, v in value.items()}
    return Opaque(fmt.describe_type(value), is_callable=callable(value))


def carry_exception(exc: BaseException, _depth: int = 0) -> CarriedException:
    """``exc`` as plain data, with the learner's traceback frames."""
    frames = [(f.filename, f.lineno or 0, f.name, f.line or "") for f in learner_frames(exc)]
    cause = exc.__cause__
    return CarriedException(
        type_name=type(exc).__name__,
        base_names=[cls.__name__ for cls in type(exc).__mro__],
        args=tuple(a if type(a) in (bool, int, float, str) else str(a) for a in exc.args),
        text=_safe_str(exc),
        frames=frames,
        stage=getattr(exc, "stage", None) if isinstance(exc, LearnerProblem) else None,
        cause=(carry_exception(cause, _depth + 1)
               if cause is not None and _depth < 2 else None),
    )


def _safe_str(exc: BaseException) -> str:
    try:
        return str(exc)
    except Exception:
        return f"<{type(exc).__name__} whose message could not be read>"


def rebuild_exception(carried: CarriedException) -> BaseException:
    """The nearest built-in exception (same name and message), with the learner's frames."""
    if carried.stage is not None:
        exc: BaseException = LearnerProblem(carried.text, stage=carried.stage)
    else:
        base = next((cls for name in carried.base_names
                     if isinstance(cls := getattr(builtins, name, None), type)
                     and issubclass(cls, BaseException)), Exception)
        cls = base if base.__name__ == carried.type_name else type(carried.type_name, (base,), {})
        exc = cls.__new__(cls)
        exc.args = carried.args
        if _safe_str(exc) != carried.text:
            exc.args = (carried.text,)
    exc.learner_frames = [traceback.FrameSummary(file, line, name, line=code)
                          for file, line, name, code in carried.frames]
    if carried.cause is not None:
        exc.__cause__ = rebuild_exception(carried.cause)
    return exc


def carry_run(run: LearnerRun) -> LearnerRun:
    """``run`` with every observation reduced to plain data (in the sandbox)."""
    budget = _Budget()
    observations = []
    for obs in run.observations:
        observations.append(replace(
            obs,
            output=to_plain(obs.output, budget),
            error=carry_exception(obs.error) if obs.error is not None else None,
            args=to_plain(obs.args, budget),
            kwargs=to_plain(obs.kwargs, budget),
            fp_errors=tuple(str(e) for e in obs.fp_errors),
            warnings=tuple(str(w)[:500] for w in obs.warnings),
            forbidden_fp=tuple(str(e) for e in obs.forbidden_fp)))
    return replace(run, fn_name=str(run.fn_name), observations=observations)


def rebuild_run(run: LearnerRun, cases: list) -> LearnerRun:
    """A carried ``run`` ready for ``run_check``: exceptions rebuilt, inputs that could not
    travel (functions passed as arguments) put back from the grader's own ``cases``."""
    if not isinstance(run, LearnerRun) or not all(isinstance(o, Observation)
                                                  for o in run.observations):
        raise ValueError("the sandbox sent something that is not a learner run")
    observations = []
    for obs, case in zip(run.observations, cases, strict=False):
        error = obs.error
        if error is not None:
            if not isinstance(error, CarriedException):
                raise ValueError("the sandbox sent an exception that is not plain data")
            error = rebuild_exception(error)
        observations.append(replace(
            obs, error=error,
            args=_restore(obs.args, tuple(case.args)),
            kwargs=_restore(obs.kwargs, dict(case.kwargs))))
    return replace(run, observations=observations)


def _restore(after: Any, before: Any) -> Any:
    if isinstance(after, Opaque) and not isinstance(before, np.ndarray | list | tuple | dict):
        return before
    if isinstance(after, tuple | list) and isinstance(before, tuple | list) \
            and len(after) == len(before):
        return type(after)(_restore(a, b) for a, b in zip(after, before, strict=True))
    if isinstance(after, dict) and isinstance(before, dict) and set(after) == set(before):
        return {k: _restore(after[k], before[k]) for k in after}
    return after


# ---------------------------------------------------------------------------------------
# Bytes
# ---------------------------------------------------------------------------------------

_ALLOWED = {
    ("builtins", "complex"), ("builtins", "set"), ("builtins", "frozenset"),
    ("builtins", "slice"),
    ("numpy", "ndarray"), ("numpy", "dtype"),
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
    ("numpy._core.numeric", "_frombuffer"), ("numpy.core.numeric", "_frombuffer"),
    ("autograder.formatting", "Opaque"), ("autograder.wire", "CarriedException"),
    ("autograder.engine", "LearnerRun"), ("autograder.engine", "Observation"),
    ("autograder.sandbox", "CellReport"), ("autograder.sandbox", "ProbeReport"),
}


class _PlainUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ALLOWED:
            return super().find_class(module, name)
        if module in ("numpy", "numpy.dtypes"):
            cls = super().find_class(module, name)
            if isinstance(cls, type) and (issubclass(cls, np.generic | np.dtype)):
                return cls
        raise pickle.UnpicklingError(f"the sandbox sent a {module}.{name}, which is not plain data")


def dumps(value: Any) -> bytes:
    return pickle.dumps(value, protocol=5)


def loads_untrusted(data: bytes) -> Any:
    """Read bytes written by the sandbox, accepting plain data and this module's classes only."""
    return _PlainUnpickler(io.BytesIO(data)).load()

