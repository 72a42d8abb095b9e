"""The checks of notebook 07_training: train, accuracy.

What the catalogue cannot test (see tests/check_tools.py): solutions written the way a
learner writes them, runs that do not learn, wrong returns, and the held-out hidden cases.
"""

from __future__ import annotations

import numpy as np
from check_tools import failure, passes

import refimpl
from autograder import check


def train(X, y, params, lr, epochs):
    params = {k: v.copy() for k, v in params.items()}
    history = {"loss": [], "grad_norm": []}
    for _ in range(epochs):
        y_hat, cache = refimpl.forward_231(X, params)
        grads = refimpl.backward_231(X, y, params, cache, loss="bce")
        history["loss"].append(refimpl.bce(y_hat, y))  # clipped probabilities, not logits
        history["grad_norm"].append(np.sqrt(sum(np.sum(g**2) for g in grads.values())))
        params = {k: params[k] - lr * grads[k] for k in params}
    return params, history


def test_train_with_list_history_passes(capsys):
    passes(check.train, train, capsys)


def test_hidden_train_cases_include_held_out_study_sleep_runs():
    cases = check.exercise("train").cases(hidden=True, seed=3)
    held_out = [case for case in cases if "held_out" in case.private]
    assert len(held_out) >= 4
    for case in held_out:
        X, y, params, lr, epochs = case.args
        X_test, y_test = case.private["held_out"]
        np.testing.assert_allclose(X.mean(axis=0), 0.0, atol=1e-12)  # standardized
        trained, _ = refimpl.train(X, y, params, lr, epochs)
        assert refimpl.accuracy(refimpl.predict(X_test, trained), y_test) >= 0.9
    assert not any(ch.isdigit() for case in held_out for ch in case.label)


def test_train_that_does_not_learn_gets_the_property_message():
    def lazy(X, y, params, lr, epochs):
        _, history = train(X, y, params, 0.0, epochs)
        return {k: v.copy() for k, v in params.items()}, history

    result = failure(check.train, lazy, hidden=True, seed=3)
    assert result.stage == "property"
    assert "Training did not lower the loss" in result.message

    def barely(X, y, params, lr, epochs):
        return train(X, y, params, lr, 2)

    result = failure(check.train, barely, hidden=True, seed=3)
    assert result.stage == "property"
    assert "held-out students correctly" in result.message
    assert "at least 90 %" in result.message


def test_train_wrong_returns_and_signature():
    result = failure(check.train,
                     lambda X, y, params, lr, epochs: train(X, y, params, lr, epochs)[0])
    assert "expected a tuple (trained_params, history)" in result.message

    def no_norm(X, y, params, lr, epochs):
        params, history = train(X, y, params, lr, epochs)
        return params, {"loss": history["loss"]}

    result = failure(check.train, no_norm)
    assert "history has no key 'grad_norm'" in result.message
    result = failure(check.train, lambda X, y, params, lr: train(X, y, params, lr, 3))
    assert result.stage == "signature"
    assert "train(X, y, params, lr, epochs)" in result.message


def test_accuracy_written_two_ways_passes(capsys):
    passes(check.accuracy, lambda labels, y: np.mean(labels == y), capsys)
    passes(check.accuracy, lambda labels, y: (labels == y).sum() / len(y), capsys)
