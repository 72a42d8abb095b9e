"""The 2-3-1 network on one student, worked by hand: every intermediate number.

One student studied 6 hours, slept 8 hours and passed (y = 1). The weights are small
round numbers; hidden unit 2 (the middle one) is inactive (Z1 < 0), so relu' = 0 there
and every gradient that flows through it is exactly 0. The notebooks reuse this example.

The expected numbers below were computed separately with Python's ``decimal`` module at
40 significant digits (not with numpy) and are asserted to 1e-12.

Shapes: X (1, 2), W1 (2, 3), b1 (3,), Z1 and A1 (1, 3), W2 (3, 1), b2 (1,), Z2 (1, 1).
"""

import numpy as np
import pytest

from refimpl import backward_231, bce, forward_231, loss_231, mlp_backward, mse, relu_prime

ATOL = 1e-12

X = np.array([[6.0, 8.0]])  # hours studied, hours slept
y = np.array([[1.0]])  # passed
PARAMS = {
    "W1": np.array([[0.1, -0.2, 0.1], [0.05, 0.1, -0.1]]),
    "b1": np.array([0.0, 0.2, 0.5]),
    "W2": np.array([[0.5], [-0.4], [1.0]]),
    "b2": np.array([-0.3]),
}

# Forward pass
# Z1 = X @ W1 + b1
#    = [6*0.1 + 8*0.05 + 0.0,  6*(-0.2) + 8*0.1 + 0.2,  6*0.1 + 8*(-0.1) + 0.5]
#    = [0.6 + 0.4 + 0.0,       -1.2 + 0.8 + 0.2,         0.6 - 0.8 + 0.5]
#    = [1.0, -0.2, 0.3]                                   unit 2 is inactive
Z1 = np.array([[1.0, -0.2, 0.3]])
# A1 = relu(Z1) = [1.0, 0.0, 0.3]
A1 = np.array([[1.0, 0.0, 0.3]])
# Z2 = A1 @ W2 + b2 = 1.0*0.5 + 0.0*(-0.4) + 0.3*1.0 - 0.3 = 0.5
Z2 = np.array([[0.5]])
# y_hat = sigmoid(0.5) = 1 / (1 + e^-0.5) = 0.622459...
Y_HAT = 0.6224593312018545646
# sigma'(Z2) = y_hat (1 - y_hat) = 0.622459 * 0.377541 = 0.235004
SIGMA_PRIME = 0.2350037122015944891

# Losses
# MSE = (y_hat - y)^2 = (0.622459 - 1)^2 = (-0.377541)^2 = 0.142537
MSE = 0.1425369565965509463
# BCE = -(y log y_hat + (1 - y) log(1 - y_hat)) = -log(0.622459) = 0.474077
BCE = 0.4740769841801066809

# Backward pass, MSE (n = 1)
# dL/dy_hat = 2 (y_hat - y) / n = 2 * (-0.377541) = -0.755081
# dZ2 = dL/dy_hat * sigma'(Z2) = -0.755081 * 0.235004 = -0.177447
DZ2_MSE = -0.1774469173492737485
# dW2 = A1.T @ dZ2 = [1.0, 0.0, 0.3] * -0.177447 = [-0.177447, 0.0, -0.053234]
# db2 = dZ2 = -0.177447
# dA1 = dZ2 @ W2.T = -0.177447 * [0.5, -0.4, 1.0] = [-0.088723, 0.070979, -0.177447]
# dZ1 = dA1 * relu'(Z1) = dA1 * [1, 0, 1] = [-0.088723, 0.0, -0.177447]
# dW1 = X.T @ dZ1 = [[6 * -0.088723, 0, 6 * -0.177447],  = [[-0.532341, 0.0, -1.064682],
#                    [8 * -0.088723, 0, 8 * -0.177447]]     [-0.709788, 0.0, -1.419575]]
# db1 = dZ1 = [-0.088723, 0.0, -0.177447]
GRADS_MSE = {
    "W1": [[-0.5323407520478212455, 0.0, -1.0646815040956424911],
           [-0.7097876693970949940, 0.0, -1.4195753387941899881]],
    "b1": [-0.0887234586746368743, 0.0, -0.1774469173492737485],
    "W2": [[-0.1774469173492737485], [0.0], [-0.0532340752047821246]],
    "b2": [-0.1774469173492737485],
}  # fmt: skip

# Backward pass, BCE (n = 1): sigmoid + BCE gives dZ2 = (y_hat - y) / n directly
# dZ2 = 0.622459 - 1 = -0.377541
DZ2_BCE = -0.3775406687981454354
# dW2 = [1.0, 0.0, 0.3] * -0.377541 = [-0.377541, 0.0, -0.113262];  db2 = -0.377541
# dA1 = -0.377541 * [0.5, -0.4, 1.0] = [-0.188770, 0.151016, -0.377541]
# dZ1 = dA1 * [1, 0, 1] = [-0.188770, 0.0, -0.377541]
# dW1 = [[6 * -0.188770, 0, 6 * -0.377541],  = [[-1.132622, 0.0, -2.265244],
#        [8 * -0.188770, 0, 8 * -0.377541]]     [-1.510163, 0.0, -3.020325]]
# db1 = [-0.188770, 0.0, -0.377541]
GRADS_BCE = {
    "W1": [[-1.1326220063944363061, 0.0, -2.2652440127888726122],
           [-1.5101626751925817414, 0.0, -3.0203253503851634829]],
    "b1": [-0.1887703343990727177, 0.0, -0.3775406687981454354],
    "W2": [[-0.3775406687981454354], [0.0], [-0.1132622006394436306]],
    "b2": [-0.3775406687981454354],
}  # fmt: skip


def test_forward_pass_by_hand():
    y_hat, cache = forward_231(X, PARAMS)
    np.testing.assert_allclose(cache["Z1"], Z1, rtol=0, atol=ATOL)
    np.testing.assert_allclose(cache["A1"], A1, rtol=0, atol=ATOL)
    np.testing.assert_allclose(cache["Z2"], Z2, rtol=0, atol=ATOL)
    np.testing.assert_allclose(y_hat, [[Y_HAT]], rtol=0, atol=ATOL)
    np.testing.assert_allclose(y_hat * (1 - y_hat), [[SIGMA_PRIME]], rtol=0, atol=ATOL)
    # the middle hidden unit is off: its relu' is 0
    np.testing.assert_array_equal(relu_prime(cache["Z1"]), [[1.0, 0.0, 1.0]])


def test_losses_by_hand():
    y_hat, _ = forward_231(X, PARAMS)
    assert mse(y_hat, y) == pytest.approx(MSE, abs=ATOL)
    assert bce(y_hat, y) == pytest.approx(BCE, abs=ATOL)
    assert loss_231(X, y, PARAMS, loss="mse") == pytest.approx(MSE, abs=ATOL)
    assert loss_231(X, y, PARAMS, loss="bce") == pytest.approx(BCE, abs=ATOL)


@pytest.mark.parametrize(
    ("loss", "dZ2", "expected"), [("mse", DZ2_MSE, GRADS_MSE), ("bce", DZ2_BCE, GRADS_BCE)]
)
def test_gradients_by_hand(loss, dZ2, expected):
    _, cache = forward_231(X, PARAMS)
    grads = backward_231(X, y, PARAMS, cache, loss=loss)
    assert list(grads) == ["W1", "b1", "W2", "b2"]
    for key, value in expected.items():
        np.testing.assert_allclose(grads[key], value, rtol=0, atol=ATOL, err_msg=key)
        assert grads[key].shape == PARAMS[key].shape
    np.testing.assert_allclose(grads["b2"], [dZ2], rtol=0, atol=ATOL)  # db2 = dZ2 for n = 1
    # everything through the inactive unit 2 is exactly zero
    assert grads["W1"][0, 1] == grads["W1"][1, 1] == grads["b1"][1] == grads["W2"][1, 0] == 0.0
    # the general MLP gives the same numbers
    mlp_grads = mlp_backward(X, y, PARAMS, {"A0": X, **cache}, loss=loss)
    for key in expected:
        np.testing.assert_array_equal(mlp_grads[key], grads[key])


def test_the_bce_shortcut_is_wrong_for_mse():
    """(y_hat - y) / n is the output delta for sigmoid + BCE only; MSE needs 2 sigma'."""
    np.testing.assert_allclose(DZ2_BCE, Y_HAT - 1.0, rtol=0, atol=ATOL)
    np.testing.assert_allclose(DZ2_MSE, 2 * (Y_HAT - 1.0) * SIGMA_PRIME, rtol=0, atol=ATOL)
    assert abs(DZ2_MSE - DZ2_BCE) > 0.1
