"""Teaching checks and grading for the backprop course.

In a notebook::

    from autograder import check
    check.relu(relu)                      # visible cases: prints one line or raises CheckFailed
    check.backward_231(backward_231, loss="bce")
    check.relu(relu, hidden=True)         # seeded-random hidden cases, no expected values shown

The folders, one job each (arrows: who imports whom; everything imports downwards)::

    check.py      what a notebook calls: check.NAME(fn), one per exercise
                                                      -> exercises, checks, grading.policy
    exercises/    one module per notebook: references, cases, tolerances, mistakes
                                                      -> checks, grading.worker, refimpl
    checks/       the engine: run a learner's function, compare, explain -> grading.worker
    grading/      trusted grading: worker/ (runs the learner's code in the sandbox; imports
                  only the standard library, NumPy and IPython), isolation, the policy,
                  seeds, records, nbgrader's step (``trusted``) and the task a Dask worker
                  runs (``remote``)  -> exercises, checks
    instructor/   collect, autograde (locally or on a Dask cluster: ``cluster``), feedback,
                  export, report  -> grading, exercises, course
    learner/      the workspace that updates never overwrite; ``backprop-course check``;
                  the learner's JupyterLab (``lab``: no instructor tools, no news pop-up)
    course.py     the nbgrader course: config, release (nbgrader's Python API)
    files.py      atomic file writes
    cli.py        the ``backprop-course`` command line  -> instructor, learner, course
"""

from autograder.checks.engine import run_check
from autograder.checks.seeding import resolve_seed
from autograder.checks.types import Case, CheckFailed, CheckResult, Mistake

__all__ = ["Case", "CheckFailed", "CheckResult", "Mistake", "check", "resolve_seed", "run_check"]


def __getattr__(name: str):
    # `autograder.check` imports refimpl: load it on first use, not with the package.
    if name == "check":
        import importlib

        return importlib.import_module("autograder.check")
    raise AttributeError(f"module 'autograder' has no attribute {name!r}")
