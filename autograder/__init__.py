"""Teaching checks for the backprop course: compare a learner's function with ``refimpl``.

In a notebook::

    from autograder import check
    check.relu(relu)                      # visible cases: prints one line or raises CheckFailed
    check.backward_231(backward_231, loss="bce")
    check.relu(relu, hidden=True)         # seeded-random hidden cases, no expected values shown

Modules
-------
check      one function per exercise (``check.evaluate`` returns the result without raising)
engine     the generic comparison of a learner's function with the reference
catalogue  the known mistakes, by exercise, each with a wrong variant and a hint
autodiff   runs a learner's ``Value`` class on small expression programs
seeding    seeds of the hidden cases
formatting message text
course     the nbgrader course: config, release through nbgrader's Python API
workspace  the learner's workspace: delivery and updates that never overwrite their work
progress   ``backprop-course check``: run notebooks headless, tabulate every exercise
cli        the ``backprop-course`` command line
"""

from autograder.engine import Case, CheckFailed, CheckResult, Mistake, run_check
from autograder.seeding import resolve_seed

__all__ = ["Case", "CheckFailed", "CheckResult", "Mistake", "check", "resolve_seed", "run_check"]


def __getattr__(name: str):
    # `autograder.check` imports refimpl: load it on first use, not with the package.
    if name in ("check", "catalogue"):
        import importlib

        return importlib.import_module(f"autograder.{name}")
    raise AttributeError(f"module 'autograder' has no attribute {name!r}")
