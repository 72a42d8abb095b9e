"""A probe report from the grading worker, read back into the grader's objects, checked.

What the worker sends is untrusted data: :func:`attempt_from` accepts only the structure the
worker's code sends (plain data of the expected types), raising :class:`Malformed` for anything
else, and rebuilds the learner's exceptions as the nearest built-in ones
(:func:`rebuild_exception`). For hidden cases the learner's own texts, which could carry hidden
inputs, are left out.
"""

from __future__ import annotations

import builtins
import contextlib
import traceback
from collections.abc import Sequence
from typing import Any

import numpy as np

from autograder.checks.types import Case
from autograder.grading.worker import calls
from autograder.grading.worker.codec import Handle, Opaque
from autograder.grading.worker.problems import LearnerProblem

__all__ = ["Malformed", "attempt_from", "rebuild_exception"]


class Malformed(ValueError):
    """A report whose structure is not what the worker's code sends."""


def _need(condition: bool, what: str) -> None:
    if not condition:
        raise Malformed(what)


_WITHHELD = "(its message is not shown for hidden cases)"


def rebuild_exception(carried: Any, depth: int = 0, *, hidden: bool = False) -> BaseException:
    """The nearest built-in exception (same name and message), with the learner's frames.

    ``hidden``: only the built-in type and the learner's frames: the message and the name of
    a learner's own exception class are the learner's text, which could carry hidden inputs.
    """
    _need(isinstance(carried, dict) and isinstance(carried.get("type"), str)
          and isinstance(carried.get("text"), str), "an exception that is not plain data")
    text, name = carried["text"], carried["type"]
    if hidden and not (name == "LearnerProblem" and isinstance(carried.get("stage"), str)):
        carried = {**carried, "text": _WITHHELD, "args": [_WITHHELD], "cause": None,
                   "type": next((b for b in carried.get("bases") or []
                                 if isinstance(getattr(builtins, str(b), None), type)),
                                "Exception")}
        text, name = carried["text"], carried["type"]
    if name == "LearnerProblem" and isinstance(carried.get("stage"), str):
        exc: BaseException = LearnerProblem(text, stage=carried["stage"])
    else:
        bases = carried.get("bases") if isinstance(carried.get("bases"), list) else []
        base = next((cls for b in bases if isinstance(b, str)
                     and isinstance(cls := getattr(builtins, b, None), type)
                     and issubclass(cls, BaseException)), Exception)
        cls = base if base.__name__ == name else type(name, (base,), {})
        exc = cls.__new__(cls)
        args = carried.get("args")
        exc.args = tuple(args) if isinstance(args, list) else (text,)
        with contextlib.suppress(Exception):
            if str(exc) != text:
                exc.args = (text,)
    frames = carried.get("frames") if isinstance(carried.get("frames"), list) else []
    exc.learner_frames = [
        traceback.FrameSummary(str(f[0]), int(f[1]), str(f[2]), line=str(f[3]))
        for f in frames if isinstance(f, list) and len(f) == 4 and isinstance(f[1], int)]
    if carried.get("cause") is not None and depth < 2:
        exc.__cause__ = rebuild_exception(carried["cause"], depth + 1)
    return exc


def _restore(after: Any, before: Any) -> Any:
    """Inputs that could not travel (functions) put back from the grader's own case."""
    if isinstance(after, Opaque | Handle) and not isinstance(before, np.ndarray | list | tuple
                                                             | dict):
        return before
    if isinstance(after, tuple | list) and isinstance(before, tuple | list) \
            and len(after) == len(before):
        return type(after)(_restore(a, b) for a, b in zip(after, before, strict=True))
    if isinstance(after, dict) and isinstance(before, dict) and set(after) == set(before):
        return {k: _restore(after[k], before[k]) for k in after}
    return after


def _plain_output(value: Any, hidden: bool) -> Any:
    """A handle in a result is not the learner's data: describe it. For hidden cases, an
    object's description (its class name is the learner's text) is not shown either."""
    if isinstance(value, Handle):
        return Opaque(f"a function ({value.name})", is_callable=True)
    if isinstance(value, Opaque) and hidden:
        return Opaque("an object that is not a number, an array or a container of them",
                      value.is_callable)
    if isinstance(value, tuple | list):
        return type(value)(_plain_output(v, hidden) for v in value)
    if isinstance(value, dict):
        return {k: _plain_output(v, hidden) for k, v in value.items()}
    return value


def attempt_from(report: dict, cases: Sequence[Case], *, hidden: bool) -> calls.Attempt:
    """The :class:`calls.Attempt` in a probe report, checked; ``Malformed`` otherwise.

    ``hidden``: the learner's own texts (exception messages, class names) are left out.
    """
    data = report.get("attempt")
    _need(isinstance(data, dict), "a probe report without its attempt")
    observations = data.get("observations")
    _need(isinstance(observations, list) and len(observations) <= len(cases),
          "a probe report with more results than cases")
    text = {k: data.get(k) for k in ("fn_name", "not_callable", "bind_error", "signature")}
    _need(isinstance(text["fn_name"], str) and isinstance(text["signature"], str)
          and all(text[k] is None or isinstance(text[k], str)
                  for k in ("not_callable", "bind_error")), "a malformed probe report")
    result = calls.Attempt(text["fn_name"], text["not_callable"], text["bind_error"],
                           text["signature"])
    for obs, case in zip(observations, cases, strict=False):
        _need(isinstance(obs, dict), "a malformed observation")
        lists = [obs.get(k) for k in ("fp_errors", "warnings", "forbidden_fp")]
        _need(all(isinstance(v, list) and all(isinstance(s, str) for s in v) for v in lists),
              "a malformed observation")
        _need(isinstance(obs.get("args"), tuple | list)
              and isinstance(obs.get("kwargs"), dict), "a malformed observation")
        error = obs.get("error")
        result.observations.append(calls.Observation(
            output=_plain_output(obs.get("output"), hidden),
            error=rebuild_exception(error, hidden=hidden) if error is not None else None,
            args=_restore(tuple(obs["args"]), tuple(case.args)),
            kwargs=_restore(dict(obs["kwargs"]), dict(case.kwargs)),
            fp_errors=tuple(lists[0]), warnings=tuple(lists[1]),
            forbidden_fp=tuple(k for k in lists[2] if k in case.forbid_fp_errors)))
    return result
