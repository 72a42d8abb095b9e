"""refimpl.classifier: the digits, softmax and cross-entropy, the layers' backward passes (each
against central differences), mini-batches and a training run that generalises."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import refimpl
from refimpl import (
    classifier_gradients,
    cross_entropy,
    dense_backward,
    dense_forward,
    load_digits_split,
    log_softmax,
    minibatches,
    numerical_gradient,
    numerical_gradients,
    one_hot,
    relu,
    relu_backward,
    softmax,
    softmax_cross_entropy_backward,
)

LOGITS = arrays(np.float64, st.tuples(st.integers(1, 6), st.integers(2, 8)),
                elements=st.floats(-1e3, 1e3))


def _targets(rng, n, k):
    return one_hot(rng.integers(0, k, n), k)


def test_digits_are_sklearns_scaled_and_split():
    from sklearn.datasets import load_digits

    X, labels = refimpl.load_digits()
    digits = load_digits()
    np.testing.assert_array_equal(X * refimpl.DIGIT_MAX, digits.data)
    np.testing.assert_array_equal(labels, digits.target)
    X_train, X_test, l_train, _l_test = load_digits_split(seed=3)
    assert X_train.shape == (1348, 64)
    assert X_test.shape == (449, 64)
    assert l_train.shape == (1348,)
    assert l_train.dtype == np.int64
    assert X_train.min() >= 0.0
    assert X_train.max() <= 1.0
    rows = {row.tobytes() for row in X_train}
    assert sum(row.tobytes() in rows for row in X_test) < 5  # a few duplicate images at most
    np.testing.assert_array_equal(load_digits_split(seed=3)[1], X_test)


def test_one_hot_rows_and_bad_labels():
    np.testing.assert_array_equal(one_hot([2, 0], 3), [[0, 0, 1], [1, 0, 0]])
    with pytest.raises(ValueError, match="class indices"):
        one_hot([3], 3)
    with pytest.raises(ValueError, match="1-D"):
        one_hot([[1]], 3)


@settings(max_examples=60, deadline=None)
@given(LOGITS)
def test_softmax_rows_sum_to_one_and_log_softmax_is_finite(Z):
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        log_P = log_softmax(Z)
        P = softmax(Z)
    assert np.all(np.isfinite(log_P))
    assert np.all(log_P <= 0.0)
    np.testing.assert_allclose(P.sum(axis=1), 1.0, rtol=1e-12)


def test_log_softmax_is_stable_at_logits_of_1e3():
    Z = np.array([[1000.0, 999.0, -1000.0]])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        log_P = log_softmax(Z)
    np.testing.assert_allclose(log_P, log_softmax(Z - 1000.0), rtol=1e-15)
    assert log_P[0, 0] == pytest.approx(-np.log1p(np.exp(-1.0)))


@settings(max_examples=60, deadline=None)
@given(LOGITS, st.integers(0, 2**31))
def test_cross_entropy_is_non_negative(Z, seed):
    Y = _targets(np.random.default_rng(seed), *Z.shape)
    assert cross_entropy(Z, Y) >= 0.0


@pytest.mark.parametrize("seed", range(4))
def test_softmax_cross_entropy_backward_matches_central_differences(seed):
    rng = np.random.default_rng(seed)
    Z = rng.normal(0.0, 2.0, (5, 4))
    Y = _targets(rng, 5, 4)
    numerical = numerical_gradient(lambda z: cross_entropy(z, Y), Z)
    np.testing.assert_allclose(softmax_cross_entropy_backward(Z, Y), numerical, atol=1e-9)


def test_cross_entropy_refuses_labels_for_one_hot_targets():
    with pytest.raises(ValueError, match="one_hot"):
        cross_entropy(np.zeros((3, 4)), np.array([0, 1, 2]))


@pytest.mark.parametrize("seed", range(4))
def test_relu_backward_matches_central_differences_with_a_random_upstream_gradient(seed):
    rng = np.random.default_rng(seed)
    Z = rng.normal(size=(4, 3))
    Z[np.abs(Z) < 1e-3] = 0.5  # away from the kink
    G = rng.normal(size=(4, 3))
    numerical = numerical_gradient(lambda z: np.sum(G * relu(z)), Z)
    np.testing.assert_allclose(relu_backward(G, Z), numerical, atol=1e-9)
    assert relu_backward(np.ones((1, 2)), np.zeros((1, 2))).tolist() == [[0.0, 0.0]]


@pytest.mark.parametrize("seed", range(3))
def test_dense_backward_matches_central_differences_with_a_random_upstream_gradient(seed):
    rng = np.random.default_rng(seed)
    layer = {"A_prev": rng.normal(size=(5, 4)), "W": rng.normal(size=(4, 3)),
             "b": rng.normal(size=3)}
    G = rng.normal(size=(5, 3))
    numerical = numerical_gradients(
        lambda p: np.sum(G * dense_forward(p["A_prev"], p["W"], p["b"])), layer)
    for got, key in zip(dense_backward(G, layer["A_prev"], layer["W"]), ("A_prev", "W", "b"),
                        strict=True):
        np.testing.assert_allclose(got, numerical[key], rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("sizes", [[3, 5, 4], [2, 4, 4, 3], [4, 6]])
def test_classifier_gradients_match_central_differences(sizes):
    rng = np.random.default_rng(len(sizes))
    X = rng.normal(size=(7, sizes[0]))
    Y = _targets(rng, 7, sizes[-1])
    params = refimpl.init_mlp(sizes, seed=1)
    params = {k: v + rng.normal(0.0, 0.1, v.shape) for k, v in params.items()}  # biases != 0
    loss, grads = classifier_gradients(X, Y, params)
    assert loss == pytest.approx(cross_entropy(refimpl.classifier_forward(X, params)[0], Y))
    errors = refimpl.grad_check(lambda p: classifier_gradients(X, Y, p)[0], params, grads)
    assert max(errors.values()) < 1e-7


def test_minibatches_cover_every_sample_once_and_follow_the_seed():
    rng = np.random.default_rng(0)
    batches = minibatches(10, 4, rng)
    assert [len(b) for b in batches] == [4, 4, 2]
    assert sorted(np.concatenate(batches).tolist()) == list(range(10))
    again = minibatches(10, 4, np.random.default_rng(0))
    assert all(np.array_equal(a, b) for a, b in zip(batches, again, strict=True))
    with pytest.raises(ValueError, match="batch_size"):
        minibatches(3, 0, rng)


def test_training_on_the_digits_generalises_and_leaves_the_start_alone():
    X_train, X_test, l_train, l_test = load_digits_split(seed=0)
    start = refimpl.init_mlp([64, 32, 10], seed=0)
    copy = {k: v.copy() for k, v in start.items()}
    trained, history = refimpl.train_classifier(X_train, one_hot(l_train), start, 0.1, 30, 32,
                                                seed=0, record_params=True)
    assert all(np.array_equal(start[k], copy[k]) for k in start)
    assert history["loss"].shape == (30 * 43,)
    assert len(history["params"]) == 31
    assert history["loss"][-43:].mean() < 0.2 * history["loss"][:43].mean()
    predicted = refimpl.predict_labels(X_test, trained)
    assert refimpl.label_accuracy(predicted, l_test) >= 0.95
    counts = refimpl.confusion_matrix(l_test, predicted)
    assert counts.sum() == len(l_test)
    assert np.trace(counts) == np.sum(predicted == l_test)
