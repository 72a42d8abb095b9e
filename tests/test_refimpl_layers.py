"""refimpl.neuron and refimpl.layers: values, shapes and the input checks."""

import numpy as np
import pytest

from refimpl import dense_backward, dense_forward, neuron, relu, sigmoid


def test_neuron_by_hand():
    X = np.array([[6.0, 8.0], [1.0, 4.0]])
    w, b = np.array([0.5, -0.25]), -1.0
    # z = [3 - 2 - 1, 0.5 - 1 - 1] = [0, -1.5]
    np.testing.assert_allclose(neuron(X, w, b), sigmoid([0.0, -1.5]), rtol=1e-15)
    np.testing.assert_array_equal(neuron(X, w, b, activation="relu"), [0.0, 0.0])
    np.testing.assert_array_equal(neuron(X, w, b, activation=lambda z: 2 * z), [0.0, -3.0])
    assert neuron(X, w, b).shape == (2,)
    assert neuron(X.tolist(), w.tolist(), np.float64(b), activation=relu).dtype == np.float64


def test_neuron_checks_its_inputs():
    X = np.ones((3, 2))
    with pytest.raises(ValueError, match=r"X.reshape\(1, -1\)"):
        neuron(np.ones(2), np.ones(2), 0.0)
    with pytest.raises(ValueError, match=r"w must have shape \(d_in,\) = \(2,\)"):
        neuron(X, np.ones(3), 0.0)
    with pytest.raises(ValueError, match=r"w must have shape"):
        neuron(X, np.ones((2, 1)), 0.0)
    with pytest.raises(ValueError, match="b must be a single number"):
        neuron(X, np.ones(2), np.zeros(3))
    with pytest.raises(ValueError, match="Unknown activation"):
        neuron(X, np.ones(2), 0.0, activation="step")


def test_dense_forward_by_hand():
    X = np.array([[1.0, 2.0]])
    W = np.array([[1.0, 0.0, -1.0], [0.5, 2.0, 1.0]])
    b = np.array([0.0, 1.0, -1.0])
    np.testing.assert_array_equal(dense_forward(X, W, b), [[2.0, 5.0, 0.0]])


def test_dense_backward_by_hand():
    A_prev = np.array([[1.0, 2.0], [3.0, -1.0]])  # n = 2, d_in = 2
    W = np.array([[1.0, 0.0, -1.0], [0.5, 2.0, 1.0]])  # d_out = 3
    dZ = np.array([[1.0, 0.0, 0.5], [0.0, -1.0, 1.0]])
    dA_prev, dW, db = dense_backward(dZ, A_prev, W)
    np.testing.assert_array_equal(dW, A_prev.T @ dZ)  # (2, 3)
    np.testing.assert_array_equal(dW, [[1.0, -3.0, 3.5], [2.0, 1.0, 0.0]])
    np.testing.assert_array_equal(db, [1.0, -1.0, 1.5])
    np.testing.assert_array_equal(dA_prev, [[0.5, 1.0], [-1.0, -1.0]])


@pytest.mark.parametrize(("n", "d_in", "d_out"), [(1, 1, 1), (1, 3, 2), (5, 2, 4), (4, 4, 1)])
def test_dense_shapes(n, d_in, d_out):
    rng = np.random.default_rng(n + d_in + d_out)
    X, W, b = rng.normal(size=(n, d_in)), rng.normal(size=(d_in, d_out)), rng.normal(size=d_out)
    assert dense_forward(X, W, b).shape == (n, d_out)
    dA_prev, dW, db = dense_backward(rng.normal(size=(n, d_out)), X, W)
    assert (dA_prev.shape, dW.shape, db.shape) == ((n, d_in), (d_in, d_out), (d_out,))


def test_dense_checks_its_inputs():
    X, W, b = np.ones((4, 2)), np.ones((2, 3)), np.ones(3)
    with pytest.raises(ValueError, match="W looks transposed"):
        dense_forward(X, W.T, b)
    with pytest.raises(ValueError, match=r"X has 2 columns but W has 5 rows"):
        dense_forward(X, np.ones((5, 3)), b)
    with pytest.raises(ValueError, match=r"b must have shape \(d_out,\) = \(3,\)"):
        dense_forward(X, W, np.ones((1, 3)))
    with pytest.raises(ValueError, match=r"X.reshape\(1, -1\)"):
        dense_forward(np.ones(2), W, b)
    with pytest.raises(ValueError, match=r"dZ must have shape \(n, d_out\) = \(4, 3\)"):
        dense_backward(np.ones((4, 2)), X, W)
    with pytest.raises(ValueError, match="A_prev has 2 columns"):
        dense_backward(np.ones((4, 3)), X, np.ones((3, 3)))


def test_dense_does_not_modify_inputs():
    X, W, b, dZ = np.ones((2, 2)), np.ones((2, 3)), np.ones(3), np.ones((2, 3))
    dense_forward(X, W, b)
    dense_backward(dZ, X, W)
    for array in (X, W, b, dZ):
        np.testing.assert_array_equal(array, np.ones_like(array))
