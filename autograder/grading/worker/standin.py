"""The ``refimpl`` and ``autograder`` that a notebook imports while it is graded.

The reference implementation is not in the worker, so ``import refimpl`` gives a stand-in:

- a reference function, ``refimpl.relu`` (or ``refimpl.activations.relu``), is a
  :class:`~backprop_worker.codec.Remote`: calling it asks the grader, which runs the real one
  in its own process when its policy allows (a data set, a function of an earlier notebook,
  a helper the exercise being graded is meant to call), and otherwise answers with
  :class:`ReferenceUnavailable`;
- the constants (``refimpl.BCE_EPS``) are plain values, sent by the grader;
- ``refimpl.viz``: explorers and figures are not drawn while grading; each one returns
  ``None`` and prints nothing.

``from autograder import check`` gives checks that do nothing: the grader runs the test cells
itself, and a check the learner calls in a cell of their own is skipped.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
import types
from collections.abc import Callable, Mapping
from typing import Any

from .codec import Handle, Remote

__all__ = ["ReferenceUnavailable", "install"]

REFERENCE = "refimpl"
GRADER = "autograder"


class ReferenceUnavailable(RuntimeError):
    """A reference function that the grader does not run at this point of the notebook."""


class _NotDrawn:
    """``refimpl.viz.X(...)`` while grading: nothing is drawn."""

    def __init__(self, name: str) -> None:
        self.__name__ = name

    def __call__(self, *args: Any, **kwargs: Any) -> None:
        return None


class _SkippedCheck:
    """``check.X(...)`` in a learner's own cell while grading: the grader runs the checks."""

    def __init__(self, name: str) -> None:
        self.__name__ = name

    def __call__(self, *args: Any, **kwargs: Any) -> None:
        print(f"(check.{self.__name__} is run by the grader, not in this cell, while the "
              "notebook is graded)")


class _StandIn(types.ModuleType):
    def __init__(self, name: str, lookup: Callable[[str], Any]) -> None:
        super().__init__(name, f"The {name} of a notebook being graded (a stand-in).")
        self._lookup = lookup

    def __getattr__(self, attribute: str) -> Any:
        if attribute.startswith("__"):
            raise AttributeError(attribute)
        return self._lookup(attribute)


class _Finder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Imports of ``refimpl``, ``refimpl.*`` and ``autograder`` give the stand-ins."""

    def __init__(self, modules: Mapping[str, Callable[[str], types.ModuleType]]) -> None:
        self.modules = modules

    def find_spec(self, fullname, path=None, target=None):
        top = fullname.partition(".")[0]
        if top not in (REFERENCE, GRADER):
            return None
        if fullname not in self.modules and not fullname.startswith(REFERENCE + "."):
            return None  # autograder.checks.engine and the like: not found, as they are not here
        return importlib.machinery.ModuleSpec(fullname, self, is_package=True)

    def create_module(self, spec):
        build = self.modules.get(spec.name)
        return build(spec.name) if build is not None else _reference_module(spec.name,
                                                                           self.reference)

    def exec_module(self, module) -> None:
        return None


def install(call: Callable[[Handle, tuple, dict], Any], names: list[str],
            constants: Mapping[str, Any]) -> None:
    """Put the stand-ins in place of ``refimpl`` and ``autograder`` (before any cell runs).

    ``call(handle, args, kwargs)`` asks the grader to run a reference function; ``names``
    are the reference's public functions and classes, ``constants`` its public values.
    """
    known = set(names)

    def reference(attribute: str) -> Any:
        if attribute in constants:
            return constants[attribute]
        if attribute == "viz":
            return sys.modules.get(REFERENCE + ".viz") or _viz(REFERENCE + ".viz")
        if attribute in known:
            return Remote(Handle(0, attribute), call)
        raise AttributeError(f"module 'refimpl' has no attribute {attribute!r} (while grading, "
                             "the notebook sees the public names of refimpl only)")

    def reference_module(name: str) -> types.ModuleType:
        return _StandIn(name, reference)

    finder = _Finder({REFERENCE: reference_module, REFERENCE + ".viz": _viz, GRADER: _grader,
                      GRADER + ".check": _check})
    finder.reference = reference
    for name in [m for m in sys.modules if m.partition(".")[0] in (REFERENCE, GRADER)]:
        del sys.modules[name]
    sys.meta_path.insert(0, finder)


def _reference_module(name: str, reference: Callable[[str], Any]) -> types.ModuleType:
    return _StandIn(name, reference)


def _viz(name: str) -> types.ModuleType:
    return _StandIn(name, _NotDrawn)


def _check(name: str) -> types.ModuleType:
    return _StandIn(name, _SkippedCheck)


def _grader(name: str) -> types.ModuleType:
    def attribute(attribute: str) -> Any:
        if attribute == "check":
            return sys.modules.get(GRADER + ".check") or _check(GRADER + ".check")
        raise AttributeError(f"module 'autograder' has no attribute {attribute!r} while the "
                             "notebook is graded")
    return _StandIn(name, attribute)
