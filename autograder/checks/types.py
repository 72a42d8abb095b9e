"""What the engine works with: a ``Case`` to call, the ``Mistake``s to recognise, the
output specification (``Leaf``, ``DictOf``, ``TupleOf``) and the ``CheckResult``."""

from __future__ import annotations

import re
import textwrap
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["ARRAY", "SCALAR", "Case", "CheckFailed", "CheckResult", "DictOf", "Leaf", "Mistake",
           "Spec", "TupleOf"]

_SLUG = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


# ---------------------------------------------------------------------------------------
# Data types
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One call of the exercise: positional ``args``, ``kwargs`` and a short human ``label``.

    ``options`` are keyword arguments the reference always receives and the learner's
    function receives only if its signature accepts them (e.g. ``loss="bce"``).

    ``raises``: the case is bad input that the function must refuse by raising this
    exception (``raises_why`` says why, e.g. a shape mix that would broadcast silently).

    ``forbid_fp_errors`` names NumPy floating-point errors (``"overflow"``, ``"invalid
    value"``, ``"divide by zero"``, ``"underflow"``) that fail the case even when the values
    are right: a notebook would show them as a RuntimeWarning.
    """

    args: tuple = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    label: str = ""
    options: Mapping[str, Any] = field(default_factory=dict)
    forbid_fp_errors: tuple[str, ...] = ()
    raises: type[Exception] | None = None  # the function must raise this (bad input)
    raises_why: str = ""  # why it must, in one sentence shown when it does not
    # Data only the grader's side uses (``postcheck``); never given to the learner's code.
    private: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Mistake:
    """A known wrong answer of an exercise.

    slug : short id such as ``"missing-sigmoid-prime"`` (lower case, digits, dashes)
    name : what the mistake is, in a few words
    hint : what to look at, without giving the answer away
    variant : the wrong formula, with the reference's signature (also used by the tests)
    predicate : ``predicate(exception, case) -> bool`` for mistakes that show up as an
        exception in the learner's code (e.g. a matmul shape error -> a missing transpose)
    """

    slug: str
    name: str
    hint: str
    variant: Callable[..., Any] | None = None
    predicate: Callable[[BaseException, Case], bool] | None = None

    def __post_init__(self) -> None:
        if not _SLUG.match(self.slug):
            raise ValueError(f"mistake slug {self.slug!r} must be lower-case words joined by -")
        if self.variant is None and self.predicate is None:
            raise ValueError(f"mistake {self.slug!r} needs a variant or a predicate")


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one check.

    exercise : the exercise name (``"relu"``)
    passed : True when every case passed
    message : the success line or the teaching failure message
    mistake : the slug of the matched known mistake, or None
    n_cases : how many cases the check has
    hidden : whether the cases were the hidden (seeded-random) ones
    stage : which property failed (``"exception"``, ``"raises"``, ``"type"``, ``"inplace"``,
        ``"dtype"``,
        ``"shape"``, ``"finite"``, ``"values"``, ``"fp-error"``, ``"not-implemented"``,
        ``"signature"``, ``"callable"``, or the stage of a ``LearnerProblem`` such as
        ``"interface"`` or ``"property"``), None on success
    case : the label of the failing case, None on success
    """

    exercise: str
    passed: bool
    message: str
    mistake: str | None = None
    n_cases: int = 0
    hidden: bool = False
    stage: str | None = None
    case: str | None = None


# Columns a failure message's sentences are wrapped to in a notebook.
MESSAGE_WIDTH = 88


class CheckFailed(AssertionError):
    """Raised by a failing check; ``.result`` is the ``CheckResult``."""

    def __init__(self, result: CheckResult) -> None:
        super().__init__(result.message)
        self.result = result

    def _render_traceback_(self) -> list[str]:
        """What IPython (a notebook, JupyterLab's Validate) shows: the teaching message alone,
        its first line marked in red and with a cross, and no traceback of the checks' code.

        Sentences are wrapped between words at ``MESSAGE_WIDTH`` columns (JupyterLab would
        break them mid-word); indented lines (values, tracebacks) are shown as they are."""
        lines = [wrapped for line in self.result.message.splitlines() or [""]
                 for wrapped in _wrap_prose(line)]
        return [f"\x1b[1;31m✘ {lines[0]}\x1b[0m", *lines[1:]]


def _wrap_prose(line: str) -> list[str]:
    if not line or line[0].isspace():
        return [line]
    return textwrap.wrap(line, MESSAGE_WIDTH, break_long_words=False,
                         break_on_hyphens=False) or [line]


# ---------------------------------------------------------------------------------------
# Output specifications: what the function must return
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Leaf:
    """One array (or one number when ``scalar``) named ``name`` in messages."""

    name: str = "the result"
    scalar: bool = False


@dataclass(frozen=True)
class DictOf:
    """A dict; ``keys`` to compare (None: the reference's keys); ``label(key)`` names a part.

    ``purpose`` is appended when a key is missing (why the key must be there); ``scalar``:
    every value is a single number (not an array).
    """

    name: str
    keys: tuple[str, ...] | None = None
    label: Callable[[str], str] | None = None
    purpose: str = ""
    scalar: bool = False

    def part_name(self, key: str) -> str:
        return self.label(key) if self.label else f'{self.name}["{key}"]'


@dataclass(frozen=True)
class TupleOf:
    """A tuple (a list is accepted too) of the given items, e.g. ``(dA_prev, dW, db)``."""

    items: tuple[Leaf | DictOf, ...]

    def names(self) -> str:
        return "(" + ", ".join(item.name for item in self.items) + ")"


Spec = Leaf | DictOf | TupleOf
ARRAY = Leaf()
SCALAR = Leaf(scalar=True)
