"""refimpl.optim: gd_step, gradient_descent and train (pure, honest about divergence)."""

import numpy as np
import pytest
from refimpl_tools import assert_same_params, copy_params

from refimpl import (
    DIVERGENCE_FACTOR,
    TrainingHistory,
    gd_step,
    gradient_descent,
    init_231,
    init_mlp,
    mlp_backward,
    mlp_forward,
    mlp_loss,
    standardize,
    study_sleep,
    train,
)
from refimpl.optim import grad_norm


@pytest.fixture(scope="module")
def students():
    X, y = study_sleep(n=60, seed=0)
    return standardize(X)[0], y


# --- gd_step -----------------------------------------------------------------------


def test_gd_step_is_pure():
    params = {"W": np.array([[1.0, 2.0]]), "b": np.array([0.5])}
    grads = {"W": np.array([[0.5, -1.0]]), "b": np.array([1.0])}
    params_before, grads_before = copy_params(params), copy_params(grads)
    new = gd_step(params, grads, lr=0.1)
    np.testing.assert_allclose(new["W"], [[0.95, 2.1]], rtol=1e-15)
    np.testing.assert_allclose(new["b"], [0.4], rtol=1e-15)
    assert_same_params(params, params_before)
    assert_same_params(grads, grads_before)
    assert new["W"] is not params["W"]


def test_gd_step_checks_its_inputs():
    params = {"W": np.ones((2, 3))}
    with pytest.raises(ValueError, match="same keys"):
        gd_step(params, {"dW": np.ones((2, 3))}, lr=0.1)
    with pytest.raises(ValueError, match=r"grads\['W'\] has shape \(3, 2\)"):
        gd_step(params, {"W": np.ones((3, 2))}, lr=0.1)
    for lr in (-0.1, np.nan, np.inf, "0.1", None):
        with pytest.raises(ValueError, match="learning rate"):
            gd_step(params, {"W": np.ones((2, 3))}, lr=lr)


# --- gradient_descent on f(x) = a/2 |x|^2: x <- (1 - lr a) x -------------------------

A = 4.0


def quadratic(x):
    return 0.5 * A * np.sum(x**2)


def quadratic_grad(x):
    return A * x


def test_gradient_descent_path_and_losses():
    x0 = np.array([1.0, -2.0])
    path, losses = gradient_descent(quadratic, quadratic_grad, x0, lr=0.1, steps=5)
    assert (path.shape, losses.shape) == ((6, 2), (6,))
    np.testing.assert_array_equal(path[0], x0)
    expected = x0 * (1 - 0.1 * A) ** np.arange(6)[:, None]
    np.testing.assert_allclose(path, expected, rtol=1e-14)
    np.testing.assert_allclose(losses, [quadratic(x) for x in path], rtol=1e-15)
    np.testing.assert_array_equal(x0, [1.0, -2.0])


def test_small_lr_converges_monotonically():
    path, losses = gradient_descent(quadratic, quadratic_grad, [3.0], lr=0.5 / A, steps=50)
    assert np.all(np.diff(losses) < 0)
    assert np.all(path[:, 0] > 0)  # never overshoots the minimum
    assert abs(path[-1, 0]) < 1e-12


def test_lr_between_one_and_two_over_a_oscillates_but_converges():
    path, losses = gradient_descent(quadratic, quadratic_grad, [3.0], lr=1.5 / A, steps=60)
    signs = np.sign(path[:, 0])
    assert np.all(signs[1:] == -signs[:-1])  # overshoots the minimum every step
    assert np.all(np.diff(losses) < 0)
    assert abs(path[-1, 0]) < 1e-12


def test_lr_beyond_two_over_a_diverges_quietly():
    # pytest turns numpy warnings into errors: overflow must be silent here
    path, losses = gradient_descent(quadratic, quadratic_grad, [3.0], lr=10.0 / A, steps=400)
    assert path.shape == (401, 1)
    assert abs(path[10, 0]) > 1e8
    assert not np.isfinite(path[-1, 0])
    assert not np.isfinite(losses[-1])


def test_gradient_descent_accepts_a_scalar_start():
    path, losses = gradient_descent(lambda x: x[0] ** 2, lambda x: 2 * x, 1.0, lr=0.25, steps=2)
    np.testing.assert_allclose(path, [[1.0], [0.5], [0.25]])
    np.testing.assert_allclose(losses, [1.0, 0.25, 0.0625])


def test_gradient_descent_checks_its_inputs():
    with pytest.raises(ValueError, match=r"x0 must be a vector of shape \(d,\)"):
        gradient_descent(quadratic, quadratic_grad, np.ones((2, 2)), lr=0.1, steps=3)
    with pytest.raises(ValueError, match=r"grad_f must return shape \(2,\)"):
        gradient_descent(quadratic, lambda x: np.ones(3), np.ones(2), lr=0.1, steps=3)
    with pytest.raises(ValueError, match="f must return a single number"):
        gradient_descent(lambda x: x, quadratic_grad, np.ones(2), lr=0.1, steps=3)
    with pytest.raises(ValueError, match="steps must be a whole number"):
        gradient_descent(quadratic, quadratic_grad, np.ones(2), lr=0.1, steps=2.5)


# --- train -------------------------------------------------------------------------


def test_train_records_the_loss_before_each_step(students):
    X, y = students
    start = init_231(seed=0)
    params, history = train(X, y, start, lr=0.5, epochs=4, record_params=True)
    assert isinstance(history, TrainingHistory)
    assert history.status == "completed"
    assert history.message.startswith("Training completed 4 epochs: the loss went from")
    assert history.losses.shape == history.grad_norms.shape == (4,)
    assert len(history.params_trace) == 4
    assert_same_params(history.params_trace[0], start)
    # the same run by hand: loss and gradient norm at the params before each update
    current = copy_params(start)
    for epoch in range(4):
        assert_same_params(history.params_trace[epoch], current)
        assert history.losses[epoch] == mlp_loss(X, y, current)
        _, cache = mlp_forward(X, current)
        grads = mlp_backward(X, y, current, cache)
        norm = np.sqrt(sum(np.sum(g**2) for g in grads.values()))
        assert history.grad_norms[epoch] == pytest.approx(norm, rel=1e-14)
        current = gd_step(current, grads, 0.5)
    assert_same_params(params, current)


def test_train_lowers_the_loss_and_leaves_its_inputs_alone(students):
    X, y = students
    start = init_231(seed=1)
    start_copy, X_copy, y_copy = copy_params(start), X.copy(), y.copy()
    params, history = train(X, y, start, lr=1.0, epochs=100, loss="mse")
    assert history.params_trace is None
    assert history.losses[-1] < 0.5 * history.losses[0]
    assert_same_params(start, start_copy)
    np.testing.assert_array_equal(X, X_copy)
    np.testing.assert_array_equal(y, y_copy)
    params["W1"][0, 0] = 123.0  # the result is a fresh dict of fresh arrays
    assert start["W1"][0, 0] != 123.0


def test_train_zero_epochs():
    X, y = np.ones((2, 2)), np.ones((2, 1))
    params, history = train(X, y, init_231(), lr=0.1, epochs=0)
    assert history.status == "completed"
    assert history.losses.shape == (0,)
    assert_same_params(params, init_231())


@pytest.mark.parametrize("lr", [50.0, 1e3, 1e8])
def test_train_diverges_cleanly_for_a_huge_lr(students, lr):
    X, y = students
    params, history = train(X, y, init_231(seed=0), lr=lr, epochs=100, record_params=True)
    assert history.status == "diverged"
    stopped = len(history.losses) + 1
    assert history.message.startswith(f"Training stopped at epoch {stopped} of 100: the loss")
    assert f"(it started at {history.losses[0]:.4g})" in history.message
    assert f"The learning rate {lr:g} is too large; try a smaller one, e.g. {lr / 10:g}." in (
        history.message
    )
    assert np.all(np.isfinite(history.losses))
    assert np.all(np.isfinite(history.grad_norms))
    assert all(np.all(np.isfinite(value)) for value in params.values())
    # the returned params are the last ones with a finite, recorded loss
    assert_same_params(params, history.params_trace[-1])
    assert mlp_loss(X, y, params) == history.losses[-1]


def test_train_detects_a_loss_that_becomes_inf():
    # a linear model with MSE; one step of lr 1e200 sends w from 1 to -2e200, and w**2 overflows
    X, y = np.array([[1.0]]), np.array([[0.0]])
    start = {"W1": np.array([[1.0]]), "b1": np.array([0.0])}
    _, history = train(X, y, start, lr=1e200, epochs=10, loss="mse", output="identity")
    assert history.status == "diverged"
    assert history.message.startswith(
        "Training stopped at epoch 2 of 10: the loss became inf (it started at 1)."
    )


def test_train_stops_before_the_first_step_when_the_start_overflows():
    X, y = np.array([[1e200, 1e200]]), np.array([[1.0]])
    start = {"W1": np.full((2, 1), 1e200), "b1": np.zeros(1)}
    params, history = train(X, y, start, lr=0.1, epochs=10, loss="mse", output="identity")
    assert history.status == "diverged"
    assert history.message.startswith("Training stopped before the first step: the loss became")
    assert_same_params(params, start)


def test_divergence_factor_is_a_named_constant():
    assert DIVERGENCE_FACTOR >= 10


def test_train_checks_its_inputs(students):
    X, y = students
    params = init_231()
    with pytest.raises(ValueError, match=r"y.reshape\(-1, 1\)"):
        train(X, y.ravel(), params, lr=0.1, epochs=1)
    with pytest.raises(ValueError, match="epochs must be a whole number"):
        train(X, y, params, lr=0.1, epochs=10.0)
    with pytest.raises(ValueError, match="learning rate"):
        train(X, y, params, lr=-1.0, epochs=1)
    with pytest.raises(ValueError, match="X contains nan or inf"):
        train(np.full_like(X, np.nan), y, params, lr=0.1, epochs=1)
    with pytest.raises(ValueError, match=r"params\['W1'\] contains nan or inf"):
        train(X, y, {**params, "W1": np.full((2, 3), np.inf)}, lr=0.1, epochs=1)
    with pytest.raises(ValueError, match="BCE needs probabilities"):
        train(X, y, params, lr=0.1, epochs=1, output="identity")
    with pytest.raises(ValueError, match=r"X must have shape \(n, 3\)"):
        train(X, y, init_mlp([3, 1]), lr=0.1, epochs=1)


def test_grad_norm_is_the_norm_of_all_gradients_as_one_vector():
    grads = {"W1": np.array([[3.0, 0.0], [0.0, 0.0]]), "b1": np.array([4.0, 0.0]),
             "W2": np.array([[12.0], [0.0]]), "b2": np.array([0.0])}
    assert grad_norm(grads) == 13.0  # sqrt(9 + 16 + 144)
    assert isinstance(grad_norm(grads), float)
    rng = np.random.default_rng(0)
    grads = {key: rng.normal(size=value.shape) for key, value in init_mlp([2, 5, 3, 1]).items()}
    flat = np.concatenate([value.ravel() for value in grads.values()])
    assert grad_norm(grads) == pytest.approx(np.linalg.norm(flat), rel=1e-14)
