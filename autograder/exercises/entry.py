"""``Entry``: one exercise as its notebook's module declares it.

An entry says how to build the exercise's ``Exercise`` (the reference, the visible and hidden
cases, the output, the tolerance, the known mistakes) and what its check checks, in words.
The registry (``autograder.exercises.registry``) collects the entries of every notebook;
``autograder.check`` turns each into ``check.NAME``, whose docstring is made here from those
words and from the tolerance of the ``Exercise`` itself (stated once, in the declaration).
"""

from __future__ import annotations

import inspect
import textwrap
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from autograder.checks.exercise import Exercise

__all__ = ["Entry"]


@dataclass(frozen=True)
class Entry:
    """One exercise: how to build it, and the words of its check's docstring.

    build : ``build(**options) -> Exercise``; its keyword parameters, with their defaults, are
        the options of ``check.NAME`` (``loss="mse"``); ``build()`` is the default exercise
    summary : what the check checks, a phrase: ``"relu(Z) = max(Z, 0) entrywise"``
    details : further paragraphs of the docstring (what the options mean, what else is
        checked)
    tolerance_why : why the tolerance is what it is, when it is not the default
    configurations : the options of every configuration with its own cases, mistakes and
        seed key (``({"loss": "mse"}, {"loss": "bce"})`` for ``backward_231``)
    learner : the name of the check's first parameter (``learner_class`` for ``Value``)
    """

    build: Callable[..., Exercise]
    summary: str
    details: str = ""
    tolerance_why: str = ""
    configurations: tuple[Mapping[str, Any], ...] = ({},)
    learner: str = "learner_fn"

    @classmethod
    def simple(cls, name: str, reference: Callable[..., Any], visible: Callable, hidden: Callable,
               *, summary: str, details: str = "", tolerance_why: str = "",
               learner: str = "learner_fn", **fields: Any) -> Entry:
        """The entry of an exercise without options, whose key and title are its name;
        ``fields`` are the other fields of its ``Exercise`` (``mistakes``, ``rtol``, ...)."""
        exercise = Exercise(name, name, name, reference, visible, hidden, **fields)
        return cls(lambda: exercise, summary, details, tolerance_why, learner=learner)

    @property
    def name(self) -> str:
        """The check's name, ``check.NAME``."""
        return self.build().name

    def options(self) -> list[inspect.Parameter]:
        """The check's options: the keyword parameters of ``build``, with their defaults."""
        return list(inspect.signature(self.build, eval_str=True).parameters.values())

    def docstring(self) -> str:
        """The docstring of ``check.NAME``: what it checks and the tolerance of its default
        exercise, then the parameters (numpydoc)."""
        exercise = self.build()
        tolerance = (f"Tolerance: rtol={exercise.rtol:g}, atol={exercise.atol:g}, as in "
                     "np.isclose(returned, expected, rtol, atol).")
        what = "class" if self.learner == "learner_class" else "function"
        parameters = [
            f"{self.learner} : {what}\n    The learner's {what}.",
            *(f"{option.name} : {_type_name(option.annotation)}, default {option.default!r}"
              for option in self.options()),
            "hidden : bool, default False\n    False: the few visible cases, whose values a "
            "message may show. True: the seeded-random\n    hidden cases, whose expected values "
            "no message shows.",
            "seed : int or None, default None\n    The seed of the hidden cases (None: the "
            "exercise's own fixed seed).",
        ]
        sections = [
            _fill(f"Check {self.summary}."),
            _fill(" ".join(filter(None, (tolerance, self.tolerance_why)))),
            _fill(self.details),
            "Parameters\n----------\n" + "\n".join(parameters),
            "Raises\n------\nCheckFailed\n    When a case fails; its message says what went "
            "wrong, where, and which known\n    mistake it looks like. A passed check prints "
            "one line.",
        ]
        return "\n\n".join(section for section in sections if section)


def _fill(paragraph: str) -> str:
    return textwrap.fill(paragraph, width=88, break_on_hyphens=False)


def _type_name(annotation: Any) -> str:
    return getattr(annotation, "__name__", str(annotation))
