"""The checks of notebook 09_classifier: solutions written the way a learner writes them pass,
visible and hidden; the catalogue (tests/test_autograder_catalogue.py) plants every mistake."""

from __future__ import annotations

import numpy as np
import pytest
from check_tools import failure, passes

import refimpl
from autograder import check
from autograder.exercises import nb09_classifier


def relu_backward(dA, Z):
    return dA * (Z > 0)


def log_softmax(Z):
    S = Z - Z.max(axis=1, keepdims=True)
    return S - np.log(np.exp(S).sum(axis=1, keepdims=True))


def softmax_cross_entropy_backward(Z, Y):
    return (np.exp(log_softmax(Z)) - Y) / Z.shape[0]


def train_classifier(X, Y, params, lr, epochs, batch_size, seed):
    rng = np.random.default_rng(seed)
    losses = []
    for _ in range(epochs):
        for batch in refimpl.minibatches(X.shape[0], batch_size, rng):
            loss, grads = refimpl.classifier_gradients(X[batch], Y[batch], params)
            params = {key: params[key] - lr * grads[key] for key in params}
            losses.append(loss)
    return params, {"loss": np.array(losses)}


@pytest.mark.parametrize("learner", [relu_backward, log_softmax, softmax_cross_entropy_backward,
                                     refimpl.dense_backward, refimpl.classifier_gradients,
                                     train_classifier], ids=lambda f: f.__name__)
def test_a_learners_solution_passes(learner, capsys):
    passes(getattr(check, learner.__name__), learner, capsys, seeds=(None,))


def test_dense_backward_is_declared_and_checked_in_09():
    assert "dense_backward" in nb09_classifier.ENTRIES[1].name
    assert check.exercise("dense_backward").mistakes[0].slug == "dw-transposed"


def test_log_softmax_without_the_shift_fails_at_large_logits():
    def naive(Z):
        with np.errstate(all="ignore"):
            return Z - np.log(np.exp(Z).sum(axis=1, keepdims=True))

    result = failure(check.log_softmax, naive)
    assert "[no-max-shift]" in result.message


def test_a_training_run_that_does_not_learn_fails_the_hidden_held_out_accuracy():
    def frozen(X, Y, params, lr, epochs, batch_size, seed):
        trained, history = train_classifier(X, Y, params, lr, epochs, batch_size, seed)
        if X.shape[0] > 1000:  # the digits case: return the start, with the right history
            return {k: v.copy() for k, v in params.items()}, history
        return trained, history

    result = failure(check.train_classifier, frozen, hidden=True)
    assert result.case == "the digits, then a held-out test"


def test_the_hidden_cases_train_once_on_the_digits_from_a_seeded_start():
    cases = check.exercise("train_classifier").cases(hidden=True)
    digits = [case for case in cases if "held_out" in case.private]
    assert len(digits) == 1
    X, Y, params, _lr, _epochs, _batch, _seed = digits[0].args
    assert X.shape[1] == 64
    assert Y.shape[1] == 10
    assert params["W1"].shape == (64, 32)
