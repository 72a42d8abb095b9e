"""``Exercise``: everything the engine needs to check one exercise, in one object.

An exercise module (``autograder.exercises.nbNN_*``) builds one ``Exercise`` per check
configuration; the engine (``run_learner``, ``run_check``) takes it whole.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from autograder.checks.seeding import resolve_seed
from autograder.checks.types import ARRAY, Case, Mistake, Spec
from autograder.grading.worker import drivers

__all__ = ["ATOL", "RTOL", "Exercise", "Postcheck"]

# Default tolerance: float64 implementations of the same formula agree to ~1e-15 relative.
RTOL, ATOL = 1e-7, 1e-10

Postcheck = Callable[[Any, Case], None]


@dataclass(frozen=True)
class Exercise:
    """One check configuration: the reference, the cases, the output, the tolerance, the
    known mistakes.

    name : the check's name, ``check.NAME`` (``"backward_231"``)
    key : the catalogue and seed key (``"backward_231_mse"``)
    title : the name in messages (``"backward_231 (loss='mse')"``)
    reference : the reference implementation (trusted; its failure is an internal error)
    visible : ``visible() -> cases``, a few small fixed cases whose values may be shown
    hidden : ``hidden(rng) -> cases``, seeded-random cases whose expected values never are
    output : what the function returns (``ARRAY``, ``SCALAR``, ``TupleOf``, ``DictOf``)
    rtol, atol : the tolerance of ``np.isclose(returned, expected, rtol, atol)``
    mistakes : the known mistakes to recognise on failure
    diagnose : ``diagnose(correct_parts, wrong_parts) -> str | None`` for multi-part results
    input_hints : advice by argument name when that argument was changed in place
    part_order : sort key of part names: the order in which differing parts are reported
    uses : earlier exercises the solution may call (graded on their own)
    driver : how the learner's object (and every mistake's variant) is called on a case, for
        exercises that are not plain functions: a name of
        ``autograder.grading.worker.drivers.DRIVERS``, with ``driver_context()``
    postcheck : ``postcheck(output, case)`` raises ``LearnerProblem`` when a returned result
        lacks a property that needs the reference (``running.apply_postcheck``)
    forbid_fp_errors : NumPy floating-point errors that fail a case even when the values are
        right (``Case.forbid_fp_errors``)
    """

    name: str
    key: str
    title: str
    reference: Callable[..., Any]
    visible: Callable[[], list[Case]]
    hidden: Callable[[np.random.Generator], list[Case]]
    output: Spec = ARRAY
    rtol: float = RTOL
    atol: float = ATOL
    mistakes: tuple[Mistake, ...] = ()
    diagnose: Callable[[list[str], list[str]], str | None] | None = None
    input_hints: Mapping[str, str] = field(default_factory=dict)
    part_order: Callable[[str], Any] | None = None
    uses: tuple[str, ...] = ()
    driver: str | None = None
    driver_context: Callable[[], dict[str, Any]] = dict
    postcheck: Postcheck | None = None
    forbid_fp_errors: tuple[str, ...] = ()

    def adapt(self, obj: Any) -> Any:
        """``obj`` (the learner's or a mistake's) as this exercise calls it on a case."""
        return drivers.adapt(self.driver, obj, **self.driver_context())

    def cases(self, hidden: bool = False, seed: int | None = None) -> list[Case]:
        """The visible cases, or the hidden ones drawn with ``resolve_seed(key, seed)``."""
        cases = (self.hidden(np.random.default_rng(resolve_seed(self.key, seed))) if hidden
                 else self.visible())
        if self.forbid_fp_errors:
            cases = [replace(case, forbid_fp_errors=self.forbid_fp_errors) for case in cases]
        return cases
