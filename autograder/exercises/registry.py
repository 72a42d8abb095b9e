"""The exercises of the course, in course order, collected from one module per notebook.

``autograder/exercises/nbNN_topic.py`` declares the exercises of notebook ``NN_topic`` (its
``ENTRIES``); adding an exercise means adding one ``Entry`` there. ``autograder.check`` makes
``check.NAME`` of every entry, the trusted grader builds ``exercise(name, **options)`` for
every check call of a test cell, and ``catalogue`` lists their known mistakes.
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
from typing import Any

from autograder.checks.exercise import Exercise
from autograder.exercises import (
    nb01_neuron,
    nb02_forward,
    nb03_loss,
    nb04_gradient_descent,
    nb05_chain_rule,
    nb06_backprop,
    nb07_training,
    nb08_why_backprop,
    nb09_classifier,
    nb10_training_well,
)
from autograder.exercises.entry import Entry

__all__ = ["CONFIGURATIONS", "ENTRIES", "EXERCISES", "NOTEBOOKS", "exercise", "notebook_name"]

MODULES: tuple[ModuleType, ...] = (nb01_neuron, nb02_forward, nb03_loss, nb04_gradient_descent,
                                   nb05_chain_rule, nb06_backprop, nb07_training,
                                   nb08_why_backprop, nb09_classifier, nb10_training_well)


def notebook_name(module: ModuleType) -> str:
    """``autograder.exercises.nb06_backprop`` -> ``06_backprop``."""
    return module.__name__.rsplit(".", 1)[-1].removeprefix("nb")


def _collect() -> tuple[dict[str, Entry], dict[str, tuple[str, ...]]]:
    entries: dict[str, Entry] = {}
    notebooks = {}
    for module in MODULES:
        names = tuple(entry.name for entry in module.ENTRIES)
        for name, entry in zip(names, module.ENTRIES, strict=True):
            if name in entries:
                raise ValueError(f"exercise {name!r} is declared twice ({module.__name__})")
            entries[name] = entry
        notebooks[notebook_name(module)] = names
    return entries, notebooks


#: check name -> its entry, in course order; notebook -> the names of its exercises.
ENTRIES, NOTEBOOKS = _collect()

#: check name -> ``build(**options) -> Exercise``.
EXERCISES: dict[str, Callable[..., Exercise]] = {
    name: entry.build for name, entry in ENTRIES.items()}

#: Every configuration with its own cases and known mistakes: key -> (check name, options).
CONFIGURATIONS: dict[str, tuple[str, dict[str, Any]]] = {
    entry.build(**options).key: (name, dict(options))
    for name, entry in ENTRIES.items() for options in entry.configurations}


def exercise(name: str, **options: Any) -> Exercise:
    """The ``Exercise`` behind ``check.NAME(..., **options)`` (its cases, reference, ...).

    Raises ``ValueError`` for an unknown exercise or option value, ``TypeError`` for an
    unknown option.
    """
    if name not in EXERCISES:
        raise ValueError(f"unknown exercise {name!r}; the exercises are {', '.join(EXERCISES)}")
    return EXERCISES[name](**options)
