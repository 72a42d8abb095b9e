"""refimpl.mlp: initialisation, forward/backward/loss of any depth, and the input checks."""

import numpy as np
import pytest

from refimpl import init_mlp, mlp_backward, mlp_forward, mlp_loss, sigmoid, tanh


def test_init_mlp_keys_shapes_order():
    params = init_mlp([4, 5, 3, 2], seed=1)
    assert list(params) == ["W1", "b1", "W2", "b2", "W3", "b3"]
    shapes = [value.shape for value in params.values()]
    assert shapes == [(4, 5), (5,), (5, 3), (3,), (3, 2), (2,)]
    assert all(value.dtype == np.float64 for value in params.values())


def test_init_mlp_is_deterministic_per_seed():
    a, b, c = init_mlp([3, 4, 1], seed=7), init_mlp([3, 4, 1], seed=7), init_mlp([3, 4, 1], seed=8)
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])
    assert not np.array_equal(a["W1"], c["W1"])


def test_he_init_has_variance_two_over_fan_in():
    params = init_mlp([400, 300, 200], seed=0)
    assert np.std(params["W1"]) == pytest.approx(np.sqrt(2 / 400), rel=0.02)
    assert np.std(params["W2"]) == pytest.approx(np.sqrt(2 / 300), rel=0.02)
    assert np.std(init_mlp([400, 300], init="normal")["W1"]) == pytest.approx(1.0, rel=0.02)


@pytest.mark.parametrize("sizes", [[3], [], [2, 0, 1], [2, 3.0, 1], [2, -1], "231"])
def test_init_mlp_rejects_bad_layer_sizes(sizes):
    with pytest.raises(ValueError, match="layer_sizes must list at least two positive integers"):
        init_mlp(sizes)


def test_forward_by_layers():
    rng = np.random.default_rng(0)
    params = init_mlp([3, 4, 2, 2], seed=0)
    X = rng.normal(size=(5, 3))
    y_hat, cache = mlp_forward(X, params, hidden="tanh", output="identity")
    assert set(cache) == {"A0", "Z1", "A1", "Z2", "A2", "Z3", "A3"}
    assert cache["A0"] is X or np.array_equal(cache["A0"], X)
    A1 = tanh(X @ params["W1"] + params["b1"])
    A2 = tanh(A1 @ params["W2"] + params["b2"])
    Z3 = A2 @ params["W3"] + params["b3"]
    np.testing.assert_allclose(y_hat, Z3, rtol=1e-14)
    assert y_hat.shape == (5, 2)
    y_prob, _ = mlp_forward(X, params, hidden="tanh")
    np.testing.assert_allclose(y_prob, sigmoid(Z3), rtol=1e-14)


def test_one_layer_is_logistic_regression():
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(6, 2)), rng.integers(0, 2, (6, 1)).astype(np.float64)
    params = {"W1": rng.normal(size=(2, 1)), "b1": rng.normal(size=1)}
    y_hat, cache = mlp_forward(X, params)
    np.testing.assert_allclose(y_hat, sigmoid(X @ params["W1"] + params["b1"]), rtol=1e-15)
    grads = mlp_backward(X, y, params, cache)
    np.testing.assert_allclose(grads["W1"], X.T @ (y_hat - y) / 6, rtol=1e-14)


def test_multi_output_mse_averages_over_all_entries():
    rng = np.random.default_rng(2)
    params = init_mlp([2, 3, 4], seed=2)
    X, y = rng.normal(size=(5, 2)), rng.normal(size=(5, 4))
    y_hat, cache = mlp_forward(X, params, output="identity")
    assert mlp_loss(X, y, params, loss="mse", output="identity") == pytest.approx(
        np.mean((y_hat - y) ** 2), rel=1e-14
    )
    grads = mlp_backward(X, y, params, cache, loss="mse", output="identity")
    np.testing.assert_allclose(grads["b2"], 2 * (y_hat - y).sum(axis=0) / y.size, rtol=1e-14)


def test_bce_loss_is_stable_for_huge_logits():
    params = {"W1": np.array([[1e4]]), "b1": np.array([0.0])}
    X, y = np.array([[1.0], [-1.0]]), np.array([[0.0], [1.0]])
    assert mlp_loss(X, y, params) == pytest.approx(1e4, rel=1e-12)  # no warning, no inf


def test_mlp_functions_do_not_modify_inputs():
    rng = np.random.default_rng(3)
    params = init_mlp([2, 3, 3, 1], seed=3)
    X, y = rng.normal(size=(4, 2)), np.ones((4, 1))
    copies = {key: value.copy() for key, value in params.items()}
    _, cache = mlp_forward(X, params)
    cache_copy = {key: value.copy() for key, value in cache.items()}
    mlp_backward(X, y, params, cache)
    mlp_loss(X, y, params)
    for key in params:
        np.testing.assert_array_equal(params[key], copies[key])
    for key in cache:
        np.testing.assert_array_equal(cache[key], cache_copy[key])


def test_mlp_checks_params():
    X = np.ones((3, 2))
    params = init_mlp([2, 3, 1])
    with pytest.raises(ValueError, match="Missing: 'b2'"):
        mlp_forward(X, {key: params[key] for key in ("W1", "b1", "W2")})
    with pytest.raises(ValueError, match="Unexpected: 'W_out'"):
        mlp_forward(X, {**params, "W_out": np.ones((1, 1))})
    with pytest.raises(ValueError, match="Missing: 'W1'"):
        mlp_forward(X, {})
    with pytest.raises(ValueError, match=r"params\['W2'\] has 4 rows but layer 1 has 3 units"):
        mlp_forward(X, {**params, "W2": np.ones((4, 1))})
    with pytest.raises(ValueError, match=r"params\['W1'\] must be 2-D"):
        mlp_forward(X, {**params, "W1": np.ones(6)})
    with pytest.raises(ValueError, match=r"X must have shape \(n, 2\)"):
        mlp_forward(np.ones(2), params)


def test_mlp_checks_names():
    X, y = np.ones((3, 2)), np.ones((3, 1))
    params = init_mlp([2, 3, 1])
    _, cache = mlp_forward(X, params)
    with pytest.raises(ValueError, match="Unknown activation 'leaky'"):
        mlp_forward(X, params, hidden="leaky")
    with pytest.raises(ValueError, match="Unknown output activation 'softmax'"):
        mlp_forward(X, params, output="softmax")
    with pytest.raises(ValueError, match="Unknown loss 'l1'"):
        mlp_loss(X, y, params, loss="l1")
    with pytest.raises(ValueError, match="BCE needs probabilities"):
        mlp_loss(X, y, params, loss="bce", output="identity")
    with pytest.raises(ValueError, match="BCE needs probabilities"):
        mlp_backward(X, y, params, cache, loss="bce", output="identity")
    with pytest.raises(ValueError, match="so that its derivative is known"):
        mlp_backward(X, y, params, cache, hidden=np.sin)


def test_mlp_backward_checks_targets_and_cache():
    X, y = np.ones((3, 2)), np.ones((3, 1))
    params = init_mlp([2, 3, 1])
    _, cache = mlp_forward(X, params)
    with pytest.raises(ValueError, match=r"broadcast silently to \(3, 3\)"):
        mlp_backward(X, y.ravel(), params, cache)
    with pytest.raises(ValueError, match=r"broadcast silently to \(3, 3\)"):
        mlp_loss(X, y.ravel(), params, loss="mse")
    with pytest.raises(ValueError, match="cache has no 'Z2'"):
        mlp_backward(X, y, params, {key: cache[key] for key in ("A0", "Z1", "A1")})
    with pytest.raises(ValueError, match="computed for a different X"):
        mlp_backward(X[:2], y[:2], params, cache)
    with pytest.raises(ValueError, match=r"targets y in \[0, 1\]"):
        mlp_backward(X, -y, params, cache)
