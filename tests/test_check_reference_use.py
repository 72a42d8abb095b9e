"""A learner's function that uses the reference of its own exercise passes the numbers but
scores 0 when graded (the grader refuses the call). The local check says so plainly, with
the grader's own rule (``autograder.grading.policy``), instead of "passed"."""

from __future__ import annotations

import functools

import numpy as np
import pytest

import refimpl
from autograder import check
from autograder.exercises.catalogue import mistakes_for
from refimpl import relu as imported_relu


@pytest.fixture(autouse=True)
def in_a_notebook(monkeypatch):
    """The advice is given in a learner's kernel only (scripts check the reference itself)."""
    monkeypatch.setattr(check, "in_learner_kernel", lambda: True)


def _via_module(Z):
    return refimpl.relu(Z)


def _via_import(Z):
    return imported_relu(Z)


def _via_forward(Z):  # another reference function that computes relu (with crafted weights)
    Z = np.asarray(Z, dtype=float)
    params = {"W1": np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 0.0]]), "b1": np.zeros(3),
              "W2": np.zeros((3, 1)), "b2": np.zeros(1)}
    X = np.stack([Z.ravel(), np.zeros(Z.size)], axis=1)
    return refimpl.forward_231(X, params)[1]["A1"][:, 0].reshape(Z.shape)


@pytest.mark.parametrize("learner", [
    refimpl.relu, _via_module, _via_import, functools.partial(refimpl.relu), _via_forward],
    ids=["is-the-reference", "refimpl.relu", "imported", "partial", "forward_231"])
def test_a_relu_built_on_the_reference_is_told_it_scores_0_when_graded(learner):
    result = check.evaluate("relu", learner)
    assert not result.passed
    assert result.stage == "reference-used"
    assert "would score 0" in result.message
    assert result.message.endswith("[uses-reference]")


def test_helpers_the_exercise_is_given_are_not_flagged():
    def forward_231(X, params):  # relu and sigmoid are what forward_231 is built on
        Z1 = X @ params["W1"] + params["b1"]
        A1 = refimpl.relu(Z1)
        Z2 = A1 @ params["W2"] + params["b2"]
        return refimpl.sigmoid(Z2), {"Z1": Z1, "A1": A1, "Z2": Z2, "A2": refimpl.sigmoid(Z2)}

    assert check.evaluate("forward_231", forward_231).passed


def test_an_honest_function_and_the_catalogue_mistakes_are_not_flagged():
    assert check.evaluate("relu", lambda Z: np.maximum(np.asarray(Z, float), 0.0)).passed
    for mistake in mistakes_for("sigmoid"):  # sigmoid-derivative calls refimpl.sigmoid
        if mistake.variant is not None:
            result = check.evaluate("sigmoid", mistake.variant)
            assert result.mistake == mistake.slug, mistake.slug


def test_outside_a_notebook_the_reference_passes_its_own_check(monkeypatch):
    monkeypatch.setattr(check, "in_learner_kernel", lambda: False)
    assert check.evaluate("relu", refimpl.relu).passed
    monkeypatch.undo()
    assert not check.in_learner_kernel()  # pytest is not IPython


def test_the_profile_hook_of_the_notebook_is_put_back():
    import sys

    def hook(frame, event, arg):
        return None

    sys.setprofile(hook)
    try:
        check.evaluate("relu", _via_module)
        assert sys.getprofile() is hook
    finally:
        sys.setprofile(None)
