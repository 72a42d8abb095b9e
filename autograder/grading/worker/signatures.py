"""A function's signature in messages, and whether it can take a call's arguments.

One place for every "your function cannot be called as ..." of the checks: the learner's
kernel (``autograder.checks``) and the grading worker (``calls``, ``drivers``) use the same
texts. A callable without a signature to inspect (some builtins) is never refused: it is
called, and what it raises is reported as its exception.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .problems import LearnerProblem

__all__ = ["accepted_options", "bind_error", "bind_or_explain", "cannot_call",
           "positional_names", "signature_of", "signature_text"]


def signature_of(fn: Any) -> inspect.Signature | None:
    """``inspect.signature(fn)``, or None when ``fn`` has none (a builtin, not callable)."""
    try:
        return inspect.signature(fn)
    except (TypeError, ValueError):
        return None


def signature_text(fn: Any) -> str:
    """``fn``'s parameters as written, ``(X, W, b)``, without a return annotation; ``(...)``
    when it has no signature. A class shows its constructor's (without ``self``)."""
    signature = signature_of(fn)
    if signature is None:
        return "(...)"
    return str(signature.replace(return_annotation=inspect.Signature.empty))


def positional_names(fn: Any) -> list[str]:
    """The names of ``fn``'s parameters that a positional argument can fill, in order."""
    signature = signature_of(fn)
    if signature is None:
        return []
    return [p.name for p in signature.parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]


def accepted_options(fn: Any, names: set[str]) -> set[str]:
    """The option names that ``fn``'s signature accepts (all of them if it takes **kwargs or
    has no signature)."""
    signature = signature_of(fn)
    if signature is None:
        return set(names)
    params = signature.parameters.values()
    if any(p.kind == p.VAR_KEYWORD for p in params):
        return set(names)
    return {p.name for p in params
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)} & names


def bind_error(fn: Any, args: Sequence[Any] = (),
               kwargs: Mapping[str, Any] | None = None) -> str | None:
    """Why ``fn`` cannot be called with ``args`` and ``kwargs`` (``inspect``'s text, e.g.
    ``missing a required argument: 'b'``), or None when it can or has no signature."""
    signature = signature_of(fn)
    if signature is None:
        return None
    try:
        signature.bind(*args, **(kwargs or {}))
    except TypeError as exc:
        return str(exc)
    return None


def cannot_call(cannot: str, error: str, signature: str, needs: str = "") -> str:
    """The message for a call that does not fit: ``cannot`` says what was tried, ``error``
    why it failed, ``signature`` the function's parameters, ``needs`` (appended as it is)
    what the exercise needs."""
    return f"{cannot}: {error}. Its parameters are {signature}{needs}."


def bind_or_explain(fn: Callable[..., Any], args: Sequence[Any], cannot: str,
                    needs: str = "") -> None:
    """Raise a :class:`LearnerProblem` (stage ``"signature"``, see :func:`cannot_call`) when
    ``fn`` cannot take the positional ``args``; a builtin without a signature passes."""
    error = bind_error(fn, args)
    if error is not None:
        raise LearnerProblem(cannot_call(cannot, error, signature_text(fn), needs),
                             "signature")
