"""The catalogue of known mistakes, keyed by exercise key, as the exercise modules declare them.

Each ``Mistake`` has a slug (counted in reports: it appears in square brackets in the
message), a name, a hint that points at the right place without giving the answer away, and
a ``variant``: the wrong formula with the reference's signature. The check names a mistake
when the learner's function behaves like its variant (same values, same exception, same
inputs changed in place). Mistakes that show up as an exception in the learner's own code
(a matmul shape error) also have a ``predicate``.

Every mistake of an exercise gives a different result from the reference and from every
other mistake of that exercise on the visible cases (tests/test_autograder_catalogue.py).

Keys: the exercise names, except ``backward_231_mse`` / ``backward_231_bce`` (the check
``backward_231(fn, loss=...)`` picks one): ``registry.CONFIGURATIONS``.

``planted_source`` writes a variant as a learner would type it, for tests that plant one in a
notebook.
"""

from __future__ import annotations

import functools
import inspect
import sys
from collections.abc import Callable
from typing import Any

from autograder.checks.types import Mistake
from autograder.exercises.registry import CONFIGURATIONS, exercise

__all__ = ["CATALOGUE", "mistakes_for", "planted_source"]

#: key -> the known mistakes of that configuration.
CATALOGUE: dict[str, tuple[Mistake, ...]] = {
    key: exercise(name, **options).mistakes for key, (name, options) in CONFIGURATIONS.items()}


def mistakes_for(key: str) -> tuple[Mistake, ...]:
    """The known mistakes of an exercise key (empty for an unknown key)."""
    return CATALOGUE.get(key, ())


# ---------------------------------------------------------------------------------------
# Planting a variant in a notebook
# ---------------------------------------------------------------------------------------

_PACKAGE = "autograder.exercises"
_SHARED = (f"{_PACKAGE}.shared_cases", f"{_PACKAGE}.shared_mistakes")


def _declared_here(value: Any) -> bool:
    """A function or class of a notebook's exercise module or a shared one: a wrong version
    or one of its helpers."""
    module = getattr(value, "__module__", None) or ""
    return (inspect.isfunction(value) or inspect.isclass(value)) \
        and (module.startswith(f"{_PACKAGE}.nb") or module in _SHARED)


def _helpers(obj: Any, found: dict[str, Any]) -> None:
    """The exercise modules' functions and classes that ``obj`` uses, transitively, by the
    names ``obj``'s own module gives them (which are their own names)."""
    module = vars(sys.modules[obj.__module__])
    codes = [obj.__code__] if hasattr(obj, "__code__") else [
        v.__code__ for v in vars(obj).values() if hasattr(v, "__code__")]
    for base in getattr(obj, "__bases__", ()):
        if _declared_here(base) and base.__name__ not in found:
            found[base.__name__] = base
            _helpers(base, found)
    while codes:
        code = codes.pop()
        codes += [c for c in code.co_consts if hasattr(c, "co_names")]
        for name in code.co_names:
            value = module.get(name)
            if name not in found and _declared_here(value):
                if value.__name__ != name:
                    raise ValueError(f"{obj.__name__} uses {value.__name__} as {name}: a "
                                     "planted source needs helpers under their own names")
                found[name] = value
                _helpers(value, found)


def _literal(value: Any) -> str:
    if callable(value):  # a reference function or a NumPy ufunc
        module = "refimpl" if getattr(value, "__module__", "").startswith("refimpl") else "np"
        return f"{module}.{value.__name__}"
    return repr(value)


def _source_order(obj: Any) -> tuple[bool, str, int]:
    """Shared helpers first (the exercise modules' code uses them), then by module and line:
    a base class comes before its subclasses."""
    return obj.__module__ not in _SHARED, obj.__module__, inspect.getsourcelines(obj)[1]


def planted_source(variant: Callable[..., Any], name: str) -> str:
    """Source that defines ``name`` as ``variant`` as a learner would type it: the variant
    and the exercise modules' helpers it uses, no import of the autograder (the grading worker
    has none). A wrong Value class is built on a copy of the reference's own."""
    func = variant.func if isinstance(variant, functools.partial) else variant
    found = {func.__name__: func}
    _helpers(func, found)
    ordered = sorted(found.values(), key=_source_order)
    body = "\n\n".join(inspect.getsource(obj) for obj in ordered)
    if "(refimpl.Value)" in body:  # a learner's Value class is their own, not the reference's
        from autograder.grading.policy import shipped_source

        reference = shipped_source("value_neuron_loss")["Value"].replace(
            "from __future__ import annotations\n", "").replace("class Value", "class _Own")
        body = reference + "\n\n" + body.replace("(refimpl.Value)", "(_Own)")
    if isinstance(variant, functools.partial):
        arguments = [_literal(a) for a in variant.args]
        arguments += [f"{k}={_literal(v)}" for k, v in variant.keywords.items()]
        binding = f"{name} = partial({', '.join([func.__name__, *arguments])})"
    else:
        binding = f"{name} = {func.__name__}"
    return ("import re\nfrom functools import partial\nimport numpy as np\nimport refimpl\n\n"
            + body + "\n" + binding + "\n")
