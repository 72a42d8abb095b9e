"""refimpl.fast.MLPTrainer: the in-place training path gives the numbers of the pure functions."""

import numpy as np
import pytest
from refimpl_tools import perturbed_mlp

from refimpl import MLPTrainer, gd_step, mlp_backward, mlp_forward, mlp_loss

CONFIGS = [  # (loss, hidden, output)
    ("bce", "relu", "sigmoid"),
    ("mse", "relu", "identity"),
    ("mse", "relu", "sigmoid"),
    ("bce", "tanh", "sigmoid"),
    ("mse", "sigmoid", "identity"),
    ("mse", "identity", "identity"),
]
TOL = {"rtol": 1e-12, "atol": 1e-14}


def case(sizes, n, loss, seed=0):
    """Random params (not at their init, so that every unit is busy), X and y."""
    return perturbed_mlp(sizes, n, loss, seed, scale=0.1)[:3]


def pure_training(X, y, params, lr, steps, **options):
    """The reference: mlp_forward, mlp_loss, mlp_backward, gd_step; the loss before each step."""
    losses = []
    for _ in range(steps):
        _, cache = mlp_forward(X, params, options["hidden"], options["output"])
        losses.append(mlp_loss(X, y, params, **options))
        grads = mlp_backward(X, y, params, cache, **options)
        params = gd_step(params, grads, lr)
    return losses, params


@pytest.mark.parametrize(("loss", "hidden", "output"), CONFIGS)
def test_steps_give_the_params_and_losses_of_the_pure_functions(loss, hidden, output):
    options = {"loss": loss, "hidden": hidden, "output": output}
    X, y, params = case([6, 8, 7, 10], 32, loss)  # 10 outputs: the loss is a mean of n * 10
    trainer = MLPTrainer(params, **options)
    losses = [trainer.step(X, y, lr=0.1) for _ in range(6)]
    expected_losses, expected = pure_training(X, y, params, 0.1, 6, **options)
    np.testing.assert_allclose(losses, expected_losses, **TOL)
    assert losses[-1] < losses[0]  # it trains
    assert trainer.params.keys() == expected.keys()
    for key, value in expected.items():
        np.testing.assert_allclose(trainer.params[key], value, err_msg=key, **TOL)


@pytest.mark.parametrize(("loss", "hidden", "output"), CONFIGS)
def test_forward_and_backward_equal_mlp_forward_and_mlp_backward(loss, hidden, output):
    options = {"loss": loss, "hidden": hidden, "output": output}
    X, y, params = case([3, 5, 4, 2], 9, loss, seed=1)
    trainer = MLPTrainer(params, **options)
    y_hat = trainer.forward(X)
    expected_y_hat, cache = mlp_forward(X, params, hidden, output)
    np.testing.assert_allclose(y_hat, expected_y_hat, **TOL)
    assert trainer.loss(y) == pytest.approx(mlp_loss(X, y, params, **options), rel=1e-12)
    grads = trainer.backward(y)
    for key, value in mlp_backward(X, y, params, cache, **options).items():
        np.testing.assert_allclose(grads[key], value, err_msg=key, **TOL)


def test_the_benchmarked_network_784_512_512_10():
    X, y, params = case([784, 512, 512, 10], 16, "bce", seed=2)
    trainer = MLPTrainer(params)
    losses = [trainer.step(X, y, lr=0.1) for _ in range(3)]
    expected_losses, expected = pure_training(
        X, y, params, 0.1, 3, loss="bce", hidden="relu", output="sigmoid"
    )
    np.testing.assert_allclose(losses, expected_losses, **TOL)
    for key, value in expected.items():
        np.testing.assert_allclose(trainer.params[key], value, err_msg=key, **TOL)


def test_a_new_batch_size_gets_new_arrays_and_the_same_numbers():
    X, y, params = case([2, 3, 1], 40, "bce", seed=3)
    trainer = MLPTrainer(params)
    trainer.step(X, y, lr=0.3)
    trainer.step(X[:7], y[:7], lr=0.3)
    trainer.step(X, y, lr=0.3)
    moved = gd_step(params, mlp_backward(X, y, params, mlp_forward(X, params)[1]), 0.3)
    small = mlp_backward(X[:7], y[:7], moved, mlp_forward(X[:7], moved)[1])
    moved = gd_step(moved, small, 0.3)
    moved = gd_step(moved, mlp_backward(X, y, moved, mlp_forward(X, moved)[1]), 0.3)
    for key, value in moved.items():
        np.testing.assert_allclose(trainer.params[key], value, err_msg=key, **TOL)


def test_the_callers_params_are_never_modified():
    X, y, params = case([2, 3, 1], 10, "bce", seed=4)
    before = {key: value.copy() for key, value in params.items()}
    MLPTrainer(params).step(X, y, lr=1.0)
    for key, value in before.items():
        np.testing.assert_array_equal(params[key], value)


def test_saturated_sigmoids_stay_finite_and_silent():
    """Logits of +-1e4: the in-place sigmoid takes only e^-|z|, so nothing overflows or warns."""
    X, y, params = case([2, 3, 1], 8, "bce", seed=5)
    params = {key: 1e3 * value for key, value in params.items()}
    trainer = MLPTrainer(params, loss="bce", hidden="sigmoid")
    loss = trainer.step(1e2 * X, y, lr=0.1)
    assert np.isfinite(loss)
    assert loss == pytest.approx(mlp_loss(1e2 * X, y, params, hidden="sigmoid"), rel=1e-12)
    assert all(np.all(np.isfinite(value)) for value in trainer.params.values())


def test_wrong_use_gets_a_clear_message():
    X, y, params = case([2, 3, 1], 5, "bce")
    with pytest.raises(ValueError, match="BCE needs probabilities"):
        MLPTrainer(params, loss="bce", output="identity")
    with pytest.raises(ValueError, match="hidden must be the name of an activation"):
        MLPTrainer(params, hidden=np.sin)
    trainer = MLPTrainer(params)
    with pytest.raises(ValueError, match=r"Call forward\(X\) before"):
        trainer.backward(y)
    with pytest.raises(ValueError, match=r"X must have shape \(n, 2\)"):
        trainer.step(X.T, y, lr=0.1)
    with pytest.raises(ValueError, match=r"targets must have the shape of the predictions"):
        trainer.step(X, y.ravel(), lr=0.1)
    with pytest.raises(ValueError, match="BCE needs targets y in"):
        trainer.step(X, 2 * y - 1, lr=0.1)
    with pytest.raises(ValueError, match="learning rate"):
        trainer.step(X, y, lr=-1.0)
