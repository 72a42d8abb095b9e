"""Helpers shared by the refimpl tests."""

import numpy as np

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
