"""Every analytic gradient in refimpl agrees with central differences (relative error < 1e-7).

Two kinds of draw are skipped with ``assume``, because there the comparison itself is
ill-conditioned rather than the gradient wrong:

- a ReLU pre-activation within KINK_MARGIN of 0: a step of h could cross the kink, where
  relu is not differentiable;
- a gradient entry that is not exactly 0 but smaller than SMALL_GRADIENT times the loss
  (at least 1): central differences carry an absolute error of about 1e-11 times the loss
  (its rounding, divided by 2h) plus h**2 |f'''| / 6, a relative error above 1e-7 for
  entries that small.
"""

import numpy as np
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from refimpl import (
    DERIVATIVES,
    backward_231,
    bce,
    bce_from_logits,
    bce_from_logits_grad,
    bce_grad,
    dense_backward,
    dense_forward,
    forward_231,
    grad_check,
    init_231,
    init_mlp,
    loss_231,
    mlp_backward,
    mlp_forward,
    mlp_loss,
    mse,
    mse_grad,
    numerical_gradient,
    relative_error,
)
from refimpl.activations import ACTIVATIONS

TOL = 1e-7
KINK_MARGIN = 1e-3
SMALL_GRADIENT = 1e-3

SETTINGS = settings(max_examples=40, deadline=None, derandomize=True)
seeds = st.integers(0, 2**32 - 1)


def assume_well_conditioned(*arrays, loss=1.0, small=SMALL_GRADIENT):
    """Skip draws with a gradient entry that is tiny but not 0 (see the module docstring)."""
    threshold = small * max(1.0, abs(loss))
    for array in arrays:
        magnitude = np.abs(np.asarray(array))
        assume(not np.any((magnitude > 0) & (magnitude < threshold)))


def assume_off_kinks(*pre_activations):
    """Skip draws with a ReLU pre-activation near 0, where relu has its kink."""
    for Z in pre_activations:
        assume(np.all(np.abs(Z) > KINK_MARGIN))


# --- activations -------------------------------------------------------------------


@SETTINGS
@given(
    name=st.sampled_from(sorted(ACTIVATIONS)),
    seed=seeds,
    shape=st.sampled_from([(), (1,), (5,), (3, 4), (2, 1, 3)]),
)
def test_activation_derivatives_match_central_differences(name, seed, shape):
    f, f_prime = ACTIVATIONS[name], DERIVATIVES[name]
    Z = np.random.default_rng(seed).uniform(-3.0, 3.0, shape)
    assume_off_kinks(Z)
    # d/dZ sum(f(Z)) is f'(Z) entry by entry
    numerical = numerical_gradient(lambda Z: float(np.sum(f(Z))), Z.copy())
    assert relative_error(f_prime(Z), numerical) < TOL


# --- losses ------------------------------------------------------------------------


@SETTINGS
@given(seed=seeds, n=st.integers(1, 8), k=st.integers(1, 3))
def test_mse_grad_matches_central_differences(seed, n, k):
    rng = np.random.default_rng(seed)
    y_hat, y = rng.normal(size=(n, k)), rng.normal(size=(n, k))
    analytic = mse_grad(y_hat, y)
    assume_well_conditioned(analytic)
    assert relative_error(analytic, numerical_gradient(lambda p: mse(p, y), y_hat)) < TOL


@SETTINGS
@given(seed=seeds, n=st.integers(1, 8), soft=st.booleans())
def test_bce_grad_matches_central_differences(seed, n, soft):
    rng = np.random.default_rng(seed)
    y_hat = rng.uniform(0.1, 0.9, (n, 1))
    y = rng.uniform(0.0, 1.0, (n, 1)) if soft else rng.integers(0, 2, (n, 1)).astype(float)
    analytic = bce_grad(y_hat, y)
    assume_well_conditioned(analytic, small=1e-2)  # |f'''| reaches 2 / (1 - y_hat)**3
    assert relative_error(analytic, numerical_gradient(lambda p: bce(p, y), y_hat)) < TOL


@SETTINGS
@given(seed=seeds, n=st.integers(1, 8), soft=st.booleans())
def test_bce_from_logits_grad_matches_central_differences(seed, n, soft):
    rng = np.random.default_rng(seed)
    Z = rng.uniform(-5.0, 5.0, (n, 1))
    y = rng.uniform(0.0, 1.0, (n, 1)) if soft else rng.integers(0, 2, (n, 1)).astype(float)
    analytic = bce_from_logits_grad(Z, y)
    assume_well_conditioned(analytic)
    numerical = numerical_gradient(lambda Z: bce_from_logits(Z, y), Z)
    assert relative_error(analytic, numerical) < TOL


# --- dense layer -------------------------------------------------------------------


@SETTINGS
@given(seed=seeds, n=st.integers(1, 5), d_in=st.integers(1, 4), d_out=st.integers(1, 4))
def test_dense_backward_matches_central_differences(seed, n, d_in, d_out):
    rng = np.random.default_rng(seed)
    A_prev, W = rng.normal(size=(n, d_in)), rng.normal(size=(d_in, d_out))
    b, dZ = rng.normal(size=d_out), rng.normal(size=(n, d_out))
    # L = sum(dZ * Z) has dL/dZ = dZ, so its gradients are exactly what dense_backward returns
    dA_prev, dW, db = dense_backward(dZ, A_prev, W)
    assume_well_conditioned(dA_prev, dW, db)
    grads = {"A_prev": dA_prev, "W": dW, "b": db}
    params = {"A_prev": A_prev, "W": W, "b": b}
    grad_check(lambda p: np.sum(dZ * dense_forward(p["A_prev"], p["W"], p["b"])), params, grads)


# --- the 2-3-1 network and the MLP -------------------------------------------------


def random_params(sizes, rng):
    """He-initialised params with random biases too (zeros would hide bias mistakes)."""
    params = init_mlp(sizes, seed=int(rng.integers(2**32)))
    return {key: value + 0.5 * rng.normal(size=value.shape) for key, value in params.items()}


def random_targets(loss, shape, rng):
    if loss == "bce":
        return rng.integers(0, 2, shape).astype(np.float64)
    return rng.normal(size=shape)


@SETTINGS
@given(seed=seeds, n=st.integers(1, 6), loss=st.sampled_from(["mse", "bce"]))
def test_backward_231_matches_central_differences(seed, n, loss):
    rng = np.random.default_rng(seed)
    params = random_params([2, 3, 1], rng)
    X = rng.normal(size=(n, 2))
    y = rng.integers(0, 2, (n, 1)).astype(np.float64)
    _, cache = forward_231(X, params)
    assume_off_kinks(cache["Z1"])
    grads = backward_231(X, y, params, cache, loss=loss)
    assume_well_conditioned(*grads.values(), loss=loss_231(X, y, params, loss=loss))
    grad_check(lambda p: loss_231(X, y, p, loss=loss), params, grads, tol=TOL)


def test_backward_231_matches_central_differences_from_init_231():
    X = np.array([[1.0, -0.5], [0.3, 2.0], [-1.2, 0.7]])
    y = np.array([[1.0], [0.0], [1.0]])
    params = init_231(seed=1)
    params["b1"] = np.array([0.1, -0.2, 0.3])
    _, cache = forward_231(X, params)
    assert np.all(np.abs(cache["Z1"]) > KINK_MARGIN)
    for loss in ("mse", "bce"):
        grads = backward_231(X, y, params, cache, loss=loss)
        errors = grad_check(lambda p, loss=loss: loss_231(X, y, p, loss=loss), params, grads)
        assert max(errors.values()) < TOL


@SETTINGS
@given(
    seed=seeds,
    sizes=st.lists(st.integers(1, 4), min_size=2, max_size=5),
    n=st.integers(1, 5),
    hidden=st.sampled_from(["relu", "tanh", "sigmoid", "identity"]),
    output_loss=st.sampled_from([("sigmoid", "bce"), ("sigmoid", "mse"), ("identity", "mse")]),
)
def test_mlp_backward_matches_central_differences(seed, sizes, n, hidden, output_loss):
    output, loss = output_loss
    rng = np.random.default_rng(seed)
    params = random_params(sizes, rng)
    X = rng.normal(size=(n, sizes[0]))
    y = random_targets(loss, (n, sizes[-1]), rng)
    _, cache = mlp_forward(X, params, hidden=hidden, output=output)
    if hidden == "relu":
        assume_off_kinks(*(cache[f"Z{l}"] for l in range(1, len(sizes) - 1)))
    grads = mlp_backward(X, y, params, cache, loss=loss, hidden=hidden, output=output)
    L = mlp_loss(X, y, params, loss=loss, hidden=hidden, output=output)
    assume_well_conditioned(*grads.values(), loss=L)
    grad_check(lambda p: mlp_loss(X, y, p, loss=loss, hidden=hidden, output=output), params, grads)
