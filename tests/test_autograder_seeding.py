"""Seeds of the hidden cases: explicit, from BACKPROP_COURSE_SEED, or a stable default."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from autograder import check
from autograder.checks.seeding import SEED_ENV_VAR, resolve_seed


def test_explicit_seed_wins(monkeypatch):
    monkeypatch.setenv(SEED_ENV_VAR, "5")
    assert resolve_seed("relu", 42) == 42
    assert resolve_seed("relu", 0) == 0


def test_default_is_stable_per_exercise_and_differs_between_exercises(monkeypatch):
    monkeypatch.delenv(SEED_ENV_VAR, raising=False)
    assert resolve_seed("relu") == resolve_seed("relu")
    assert resolve_seed("relu") != resolve_seed("sigmoid")
    assert 0 <= resolve_seed("relu") < 2**63


def test_default_does_not_depend_on_the_process(monkeypatch):
    """hashlib, not the salted built-in hash(): a fresh interpreter gives the same seed."""
    monkeypatch.delenv(SEED_ENV_VAR, raising=False)
    code = "from autograder.checks.seeding import resolve_seed; print(resolve_seed('mse'))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env={"PYTHONHASHSEED": "123"}).stdout
    assert int(out) == resolve_seed("mse")


def test_env_var_is_mixed_with_the_exercise(monkeypatch):
    monkeypatch.setenv(SEED_ENV_VAR, "7")
    a, b = resolve_seed("relu"), resolve_seed("sigmoid")
    assert a != b
    monkeypatch.setenv(SEED_ENV_VAR, "8")
    assert resolve_seed("relu") != a
    monkeypatch.delenv(SEED_ENV_VAR)
    assert resolve_seed("relu") not in (a, b)


@pytest.mark.parametrize("bad", ["abc", "1.5"])
def test_bad_env_var_is_a_clear_error(monkeypatch, bad):
    monkeypatch.setenv(SEED_ENV_VAR, bad)
    with pytest.raises(ValueError, match=SEED_ENV_VAR):
        resolve_seed("relu")


@pytest.mark.parametrize("bad", [-1, 1.5, True, "3"])
def test_bad_explicit_seed(bad):
    with pytest.raises(ValueError, match="non-negative integer"):
        resolve_seed("relu", bad)


def test_hidden_cases_follow_the_seed(monkeypatch):
    ex = check.exercise("relu")

    def values(**kwargs):
        return [case.args[0] for case in ex.cases(hidden=True, **kwargs)]

    assert all(np.array_equal(a, b) for a, b in zip(values(seed=1), values(seed=1), strict=True))
    assert not all(np.array_equal(a, b) for a, b in zip(values(seed=1), values(seed=2),
                                                        strict=True))
    monkeypatch.setenv(SEED_ENV_VAR, "99")
    from_env = values()
    assert not all(np.array_equal(a, b) for a, b in zip(from_env, values(seed=1), strict=True))
