"""Helpers for the tests of the teaching checks: run a check that must fail, or must pass quietly.

The catalogue's mistakes are tested by tests/test_autograder_catalogue.py (every mistake caught
and named, visible and hidden) and tests/test_autograder_hidden.py (no expected number in a
hidden message). The ``test_autograder_checks_<notebook topic>.py`` files test what the catalogue
cannot: solutions written the way a learner writes them, objects of the wrong kind, and the
design of the cases.
"""

from __future__ import annotations

import warnings

import pytest

from autograder import CheckFailed, CheckResult


def failure(check_fn, learner, **kwargs) -> CheckResult:
    """The result of a check that must fail (it raises CheckFailed, whose text is the message)."""
    with pytest.raises(CheckFailed) as info:
        check_fn(learner, **kwargs)
    assert isinstance(info.value, AssertionError)
    assert str(info.value) == info.value.result.message
    return info.value.result


def passes(check_fn, learner, capsys, seeds=(None, 5)) -> None:
    """The check passes, visible and hidden, for every seed, with no warning and no stderr."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # nothing may leak from a check
        for seed in seeds:
            check_fn(learner, seed=seed)
            check_fn(learner, hidden=True, seed=seed)
    out = capsys.readouterr()
    assert out.out.count("✔") == 2 * len(seeds)
    assert out.err == ""
