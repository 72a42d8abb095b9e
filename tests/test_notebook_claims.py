"""Claims the notebooks' text makes, computed (issue 16's review): each test holds one claim,
and the notebook is read to check that it says what the computation shows."""

from __future__ import annotations

import numpy as np
import pytest

import refimpl
from notebook_tools import find_cell, source_notebook


def text(assignment: str, grade_id: str) -> str:
    return " ".join(find_cell(source_notebook(assignment), grade_id).source.split())


@pytest.fixture
def rng():
    return np.random.default_rng(16)


def test_03_mse_charges_a_confident_mistake_twice_a_mild_one_and_never_more_than_1():
    confident, mild = (0.01 - 1.0) ** 2, (0.3 - 1.0) ** 2
    assert confident / mild == pytest.approx(2.0, rel=0.01)
    y_hat = np.linspace(0.0, 1.0, 1001)
    assert refimpl.mse(y_hat[:, None], np.ones((1001, 1))) <= 1.0
    assert max((y_hat - 1.0) ** 2) <= 1.0
    said = text("03_loss", "bce_intro")
    assert "twice its charge" in said
    assert "never more than 1" in said


@pytest.mark.parametrize("pair", ["sigmoid+bce", "softmax+cross-entropy", "identity+half-mse"])
def test_06_the_shortcut_is_exact_for_every_matched_pair(pair, rng):
    """delta = (output - y) / n is the gradient of the loss with respect to the logits."""
    n, k = 6, 3 if pair == "softmax+cross-entropy" else 1
    Z = rng.normal(size=(n, k))
    if pair == "sigmoid+bce":
        y = rng.integers(0, 2, (n, 1)).astype(float)
        loss, output = (lambda z: refimpl.bce_from_logits(z, y)), refimpl.sigmoid(Z)
    elif pair == "softmax+cross-entropy":
        y = refimpl.one_hot(rng.integers(0, k, n), k)
        loss, output = (lambda z: refimpl.cross_entropy(z, y)), refimpl.softmax(Z)
    else:
        y = rng.normal(size=(n, 1))
        loss, output = (lambda z: 0.5 * np.mean((z - y) ** 2)), Z
    numerical = refimpl.numerical_gradient(loss, Z.copy())
    np.testing.assert_allclose((output - y) / n, numerical, rtol=1e-6, atol=1e-9)
    assert "every *matched* pair" in text("06_backprop", "shortcut")


def test_06_the_shortcut_is_wrong_for_sigmoid_with_mse(rng):
    Z, y = rng.normal(size=(6, 1)), rng.integers(0, 2, (6, 1)).astype(float)
    numerical = refimpl.numerical_gradient(lambda z: refimpl.mse(refimpl.sigmoid(z), y), Z.copy())
    shortcut = (refimpl.sigmoid(Z) - y) / 6
    assert not np.allclose(shortcut, numerical, rtol=1e-3)
    assert "Sigmoid with MSE, our case, is not one of them" in text("06_backprop", "shortcut")


def test_07_w2_zero_alone_stops_every_gradient_of_the_hidden_layer(rng):
    """Whatever relu'(0) is: with W2 = 0, delta_1 = (delta_2 W2^T) * relu'(Z1) = 0."""
    X, y = rng.normal(size=(8, 2)), rng.integers(0, 2, (8, 1)).astype(float)
    params = refimpl.init_231(seed=3)
    params["W2"] = np.zeros_like(params["W2"])
    _, cache = refimpl.forward_231(X, params)
    assert np.any(cache["Z1"] != 0.0)  # not the all-zero start: relu'(0) plays no part
    for loss in ("mse", "bce"):
        grads = refimpl.backward_231(X, y, params, cache, loss=loss)
        assert np.all(grads["W1"] == 0.0)
        assert np.all(grads["b1"] == 0.0)
    assert "whatever $\\operatorname{relu}'(0)$ is taken to be" in text("07_training", "symmetry")


def test_03_a_k_means_step_never_raises_the_loss(rng):
    X = rng.normal(size=(60, 2))
    centres = X[rng.choice(60, 3, replace=False)].copy()

    def loss(centres):
        return np.mean(np.min(((X[:, None, :] - centres[None]) ** 2).sum(axis=2), axis=1))

    for _ in range(10):
        before = loss(centres)
        nearest = ((X[:, None, :] - centres[None]) ** 2).sum(axis=2).argmin(axis=1)
        centres = np.array([X[nearest == c].mean(axis=0) if np.any(nearest == c)
                            else centres[c] for c in range(3)])
        assert loss(centres) <= before + 1e-12
    assert "neither of which can raise $L$" in text("03_loss", "kmeans")
