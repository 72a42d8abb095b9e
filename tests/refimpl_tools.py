"""Helpers shared by the refimpl tests."""

import numpy as np

import refimpl
from refimpl import init_mlp


def perturbed_mlp(sizes, n, loss, seed, scale):
    """Random X (n, d_0), targets for the loss, and init_mlp params moved off their init.

    Every parameter gets ``scale * N(0, 1)`` added, so that no unit sits at its starting
    symmetry. BCE targets are 0/1 labels, MSE targets any real. The generator is returned
    too, for further draws from the same stream.
    """
    rng = np.random.default_rng(seed)
    params = init_mlp(sizes, seed=seed)
    params = {key: value + scale * rng.normal(size=value.shape) for key, value in params.items()}
    X = rng.normal(size=(n, sizes[0]))
    shape = (n, sizes[-1])
    y = rng.integers(0, 2, shape).astype(float) if loss == "bce" else rng.normal(size=shape)
    return X, y, params, rng


def mutating_backward_231(X, y, params, cache):
    """A learner's backward pass that is right, but changes its inputs in place after using
    them (MSE)."""
    grads = refimpl.backward_231(X, y, params, cache, loss="mse")
    params["W1"][:] = 0.0
    cache["Z1"][:] = 0.0
    X[:] = 0.0
    return grads


def neuron_chain_rule(w, b, x, y):
    """The neuron's loss ``(sigmoid(w x + b) - y)**2`` and its gradients, the chain rule
    written out independently of any Value class."""
    z = w * x + b
    a = float(refimpl.sigmoid(z))
    dz = 2 * (a - y) * a * (1 - a)
    return {"z": z, "a": a, "L": (a - y) ** 2, "dw": dz * x, "db": dz, "dx": dz * w, "dz": dz}


def copy_params(params):
    """A params dict of new arrays: to compare with after a call that must not change them."""
    return {key: np.array(value) for key, value in params.items()}


def assert_same_params(a, b):
    """The same keys in the same order, and bit-identical arrays."""
    assert list(a) == list(b)
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])
