"""Hidden mode never prints an expected number, whatever the learner gets wrong.

A hidden message may contain integers (case numbers, shapes, indices, counts) and sizes
written with ONE significant digit (``3e-01``: error sizes, tolerances). The test strips the
static texts (the exercise title and the catalogue's names and hints), then checks that every
number left has one of those two forms, and that no expected value of any hidden case
appears in any of the usual float formats.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from autograder import check
from autograder.checks.engine import run_check
from autograder.checks.running import observe
from autograder.checks.types import Leaf, TupleOf
from autograder.exercises.catalogue import CATALOGUE

CONFIGS = check.CONFIGURATIONS

SEED = 11
NUMBER = re.compile(r"(?<![\w.])[-+]?(?:\d+\.\d+|\.\d+|\d+)(?:[eE][-+]?\d+)?(?!\w|\.\d)")
ONE_DIGIT_SCIENTIFIC = re.compile(r"^\d[eE][-+]\d+$")


def _expected_numbers(ex) -> np.ndarray:
    values = []
    for case in ex.cases(hidden=True, seed=SEED):
        out = observe(ex.reference, case).output
        stack = [out]
        while stack:
            item = stack.pop()
            if isinstance(item, dict):
                stack.extend(item.values())
            elif isinstance(item, tuple | list):
                stack.extend(item)
            else:
                values.append(np.ravel(np.asarray(item, dtype=np.float64)))
    return np.concatenate(values)


def _formats(v: float) -> set[str]:
    texts = {repr(v), str(v), np.format_float_positional(v), np.format_float_scientific(v)}
    texts |= {f"{v:.{d}g}" for d in range(2, 18)} | {f"{v:.{d}f}" for d in range(1, 9)}
    texts |= {f"{v:.{d}e}" for d in range(1, 9)}
    return {t for t in texts if any(c.isdigit() for c in t) and len(t.lstrip("-")) >= 3}


def _wrong_learners(ex):
    """Every catalogued mistake, plus generic failures: off by a little, nan, in place."""
    learners = {m.slug: m.variant for m in ex.mistakes}

    def scale(value):
        if isinstance(value, dict):
            return {k: v * 1.001 + 1e-3 for k, v in value.items()}
        return value * 1.001 + 1e-3

    def scaled(*args, **kwargs):
        out = ex.reference(*args, **kwargs)
        if isinstance(out, tuple):
            # (y_hat, cache): the dict is scaled too, or (params, history) would pass.
            return tuple(scale(o) for o in out)
        return scale(out)

    def poisoned(*args, **kwargs):
        out = scaled(*args, **kwargs)
        if isinstance(out, dict):
            return {k: np.where(np.ones_like(v, dtype=bool), np.nan, v) for k, v in out.items()}
        if isinstance(out, tuple):
            return tuple(np.full_like(o, np.nan) if not isinstance(o, dict) else o for o in out)
        return np.full_like(np.asarray(out), np.nan)

    learners["<off by a little>"] = scaled
    learners["<nan>"] = poisoned
    return learners


@pytest.mark.parametrize("key", sorted(CATALOGUE))
def test_hidden_messages_contain_no_expected_number(key):
    name, options = CONFIGS[key]
    ex = check.exercise(name, **options)
    expected = _expected_numbers(ex)
    forbidden = set()
    for v in expected:
        if np.isfinite(v) and v != round(v):
            forbidden |= _formats(float(v))
    static = [ex.title] + [text for m in ex.mistakes for text in (m.hint, m.name)]
    for label, learner in _wrong_learners(ex).items():
        result = check.run(ex, learner, hidden=True, seed=SEED)
        assert not result.passed, label
        message = result.message
        for text in sorted(static, key=len, reverse=True):
            message = message.replace(text, " ")
        numbers = NUMBER.findall(message)
        bad = [t for t in numbers
               if not (t.lstrip("+-").isdigit() or ONE_DIGIT_SCIENTIFIC.match(t.lstrip("+-")))]
        assert bad == [], f"{label}: {bad} in\n{result.message}"
        leaked = [t for t in forbidden if t in message]
        assert leaked == [], f"{label}: {leaked[:5]} in\n{result.message}"
        assert not re.search(r"expected\s*=|expected [-+]?\d+\.\d", message), label


def test_hidden_message_reports_shape_index_and_error_size():
    result = check.evaluate("relu", lambda Z: np.maximum(Z, 0) + 0.5, hidden=True, seed=SEED)
    assert "hidden case 1 of 20" in result.message
    assert "about 5e-01" in result.message
    assert re.search(r"(Z of shape \(\))|first difference is at \[", result.message)


def test_visible_message_shows_expected_and_returned_values():
    result = check.evaluate("relu", lambda Z: np.minimum(Z, 0))
    assert "expected 0, returned -1.5" in result.message
    result = check.evaluate("dense_forward", lambda X, W, b: X @ W)
    assert "expected = [[ 1.2 ," in result.message
    assert "returned = [[ 1.1 ," in result.message
    assert "The first difference is at [0, 0]: expected 1.2, returned 1.1." in result.message


def test_large_arrays_are_summarised_in_visible_messages():
    cases = [check.Case((np.linspace(-3, 3, 100).reshape(50, 2),), label="big")]
    result = run_check(check.exercise("relu"), cases, learner_fn=lambda Z: np.minimum(Z, 0))
    assert "an array of shape (50, 2): min" in result.message


def test_output_specs_are_exported():
    assert Leaf().name
    assert TupleOf((Leaf("a"),)).names() == "(a)"
