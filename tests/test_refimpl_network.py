"""refimpl.network: the 2-3-1 network, and its agreement with the general MLP."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from refimpl import (
    backward_231,
    forward_231,
    init_231,
    init_mlp,
    loss_231,
    mlp_backward,
    mlp_forward,
    mlp_loss,
)

SETTINGS = settings(max_examples=30, deadline=None, derandomize=True)
SHAPES = {"W1": (2, 3), "b1": (3,), "W2": (3, 1), "b2": (1,)}


def data(n=5, seed=0):
    rng = np.random.default_rng(seed)
    return rng.normal(size=(n, 2)), rng.integers(0, 2, (n, 1)).astype(np.float64)


@pytest.mark.parametrize("init", ["he", "zeros", "normal"])
def test_init_231_shapes_and_determinism(init):
    params = init_231(seed=3, init=init)
    assert list(params) == ["W1", "b1", "W2", "b2"]
    for key, shape in SHAPES.items():
        assert params[key].shape == shape
        assert params[key].dtype == np.float64
        np.testing.assert_array_equal(params[key], init_231(seed=3, init=init)[key])
    np.testing.assert_array_equal(params["b1"], np.zeros(3))
    if init == "zeros":
        assert all(not value.any() for value in params.values())
    else:
        assert not np.array_equal(params["W1"], init_231(seed=4, init=init)["W1"])


def test_init_231_rejects_an_unknown_scheme():
    with pytest.raises(ValueError, match="Unknown init 'glorot'"):
        init_231(init="glorot")


def test_forward_231_cache_and_shapes():
    X, _ = data(n=4)
    params = init_231(seed=1)
    y_hat, cache = forward_231(X, params)
    assert y_hat.shape == (4, 1)
    assert set(cache) == {"X", "Z1", "A1", "Z2", "A2"}
    assert cache["A2"] is y_hat
    assert (cache["Z1"].shape, cache["A1"].shape, cache["Z2"].shape) == ((4, 3), (4, 3), (4, 1))
    np.testing.assert_array_equal(cache["A1"], np.maximum(cache["Z1"], 0))
    assert np.all((y_hat > 0) & (y_hat < 1))


def test_forward_231_one_student():
    y_hat, cache = forward_231([[6.0, 8.0]], init_231())
    assert (y_hat.shape, cache["Z1"].shape) == ((1, 1), (1, 3))


@SETTINGS
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 8), loss=st.sampled_from(["mse", "bce"]))
def test_mlp_with_layer_sizes_231_equals_network_231_exactly(seed, n, loss):
    X, y = data(n, seed)
    params = init_231(seed=seed)
    params["b1"] = np.random.default_rng(seed).normal(size=3)
    for key, value in init_mlp([2, 3, 1], seed=seed).items():
        np.testing.assert_array_equal(value, init_231(seed=seed)[key])

    y_hat, cache = forward_231(X, params)
    y_hat_mlp, cache_mlp = mlp_forward(X, params)
    np.testing.assert_array_equal(y_hat, y_hat_mlp)
    for key in ("Z1", "A1", "Z2", "A2"):
        np.testing.assert_array_equal(cache[key], cache_mlp[key])

    grads = backward_231(X, y, params, cache, loss=loss)
    grads_mlp = mlp_backward(X, y, params, cache_mlp, loss=loss)
    assert list(grads) == list(grads_mlp) == ["W1", "b1", "W2", "b2"]
    for key in grads:
        np.testing.assert_array_equal(grads[key], grads_mlp[key])
    assert loss_231(X, y, params, loss=loss) == mlp_loss(X, y, params, loss=loss)


def test_mse_and_bce_give_different_output_deltas():
    X, y = data()
    params = init_231(seed=2)
    _, cache = forward_231(X, params)
    mse_grads = backward_231(X, y, params, cache, loss="mse")
    bce_grads = backward_231(X, y, params, cache, loss="bce")
    y_hat, Z2 = cache["A2"], cache["Z2"]
    n = X.shape[0]
    np.testing.assert_allclose(bce_grads["b2"], [np.sum(y_hat - y) / n], rtol=1e-14)
    sigma_prime = y_hat * (1 - y_hat)
    np.testing.assert_allclose(mse_grads["b2"], [np.sum(2 * (y_hat - y) * sigma_prime) / n])
    assert Z2.shape == (n, 1)


def test_loss_231_values():
    X, y = data()
    params = init_231(seed=2)
    y_hat, _ = forward_231(X, params)
    assert loss_231(X, y, params) == pytest.approx(np.mean((y_hat - y) ** 2), rel=1e-14)
    expected = -np.mean(y * np.log(y_hat) + (1 - y) * np.log(1 - y_hat))
    assert loss_231(X, y, params, loss="bce") == pytest.approx(expected, rel=1e-12)


def test_network_functions_do_not_modify_inputs():
    X, y = data()
    params = init_231(seed=2)
    before = {key: value.copy() for key, value in params.items()}
    X_before, y_before = X.copy(), y.copy()
    _, cache = forward_231(X, params)
    cache_before = {key: value.copy() for key, value in cache.items()}
    backward_231(X, y, params, cache, loss="bce")
    loss_231(X, y, params, loss="bce")
    for key in params:
        np.testing.assert_array_equal(params[key], before[key])
    for key in cache:
        np.testing.assert_array_equal(cache[key], cache_before[key])
    np.testing.assert_array_equal(X, X_before)
    np.testing.assert_array_equal(y, y_before)


def test_network_checks_params():
    X, _ = data()
    params = init_231()
    with pytest.raises(ValueError, match="Missing: 'b2'"):
        forward_231(X, {key: params[key] for key in ("W1", "b1", "W2")})
    with pytest.raises(ValueError, match=r"2-3-1 network needs params W1 \(2, 3\)"):
        forward_231(X, init_mlp([2, 4, 1]))
    with pytest.raises(ValueError, match=r"params\['b1'\] must have shape \(3,\)"):
        forward_231(X, {**params, "b1": np.zeros((1, 3))})
    with pytest.raises(ValueError, match=r"X must have shape \(n, 2\)"):
        forward_231(np.ones((5, 3)), params)
    with pytest.raises(ValueError, match="params must be a dict"):
        forward_231(X, [params["W1"], params["b1"]])


def test_backward_231_checks_targets_cache_and_loss():
    X, y = data()
    params = init_231()
    _, cache = forward_231(X, params)
    with pytest.raises(ValueError, match=r"y.reshape\(-1, 1\)"):
        backward_231(X, y.ravel(), params, cache, loss="mse")
    with pytest.raises(ValueError, match=r"y.reshape\(-1, 1\)"):
        backward_231(X, y.ravel(), params, cache, loss="bce")
    with pytest.raises(ValueError, match="pass the cache that forward_231 returned"):
        backward_231(X, y, params, {"Z1": cache["Z1"]})
    with pytest.raises(ValueError, match=r"cache\['Z1'\] should have shape \(3, 3\)"):
        backward_231(X[:3], y[:3], params, cache)
    with pytest.raises(ValueError, match="Unknown loss 'cross_entropy'"):
        backward_231(X, y, params, cache, loss="cross_entropy")
    with pytest.raises(ValueError, match="Unknown loss"):
        loss_231(X, y, params, loss="mae")


def test_predict_thresholds_the_probability():
    from refimpl import accuracy, forward_231, predict, study_sleep

    X, y = study_sleep(n=40, seed=3)
    params = init_231(seed=1)
    y_hat, _ = forward_231(X, params)
    labels = predict(X, params)
    assert labels.shape == (40, 1)
    assert labels.dtype == np.float64
    np.testing.assert_array_equal(labels, (y_hat >= 0.5).astype(float))
    assert predict(X, params, threshold=0.0).sum() == 40
    assert predict(X, params, threshold=float(y_hat.max()) + 1e-9).sum() == 0
    assert predict(X, params, threshold=float(np.median(y_hat))).sum() >= 20
    assert 0.0 <= accuracy(labels, y) <= 1.0


def test_accuracy_counts_matches_and_checks_shapes():
    from refimpl import accuracy

    y = np.array([[1.0], [0.0], [1.0], [1.0]])
    assert accuracy(np.array([[1.0], [1.0], [1.0], [0.0]]), y) == 0.5
    with pytest.raises(ValueError, match=r"\(n, 1\)"):
        accuracy(np.ones(4), y)
