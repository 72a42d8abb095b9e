"""refimpl.initialization: init_std, init_mlp's schemes, and the deep stack of notebook 10.

The measured figures in the property tests (seeds 0..4, 10 layers of width 100, 500 samples)
are the ones notebook 10 quotes; each assertion keeps a margin around the measured range.
"""

import dataclasses
import itertools
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from refimpl import (
    INIT_SCHEMES,
    INITS,
    StackStatistics,
    deep_stack_statistics,
    init_mlp,
    init_std,
    numerical_gradient,
)
from refimpl.activations import get_activation

SEEDS = range(5)


# --- init_std ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("d_in", "d_out", "scheme", "expected"),
    [
        (100, 100, "normal", 1.0),
        (100, 100, "xavier", 0.1),  # sqrt(2 / 200)
        (100, 100, "he", math.sqrt(0.02)),
        (2, 3, "xavier", math.sqrt(0.4)),  # the 2-3-1 network's first layer
        (2, 3, "he", 1.0),
        (64, 128, "xavier", math.sqrt(2 / 192)),
        (1, 1, "xavier", 1.0),
    ],
)
def test_init_std_values(d_in, d_out, scheme, expected):
    std = init_std(d_in, d_out, scheme)
    assert type(std) is float
    assert std == pytest.approx(expected, rel=1e-15)


@given(st.integers(1, 10_000), st.integers(1, 10_000))
def test_init_std_orders_the_schemes(d_in, d_out):
    """He keeps twice the variance Xavier gives a square layer; both shrink with the width."""
    he, xavier = init_std(d_in, d_out, "he"), init_std(d_in, d_out, "xavier")
    assert he**2 == pytest.approx(2 / d_in)
    assert xavier**2 == pytest.approx(2 / (d_in + d_out))
    assert init_std(d_in, d_out, "normal") == 1.0
    if d_in == d_out:
        assert he**2 == pytest.approx(2 * xavier**2)


@pytest.mark.parametrize("scheme", ["glorot", "He", "", None, 1])
def test_init_std_rejects_an_unknown_scheme(scheme):
    expected = r"Unknown initialisation scheme.*Use one of 'normal', 'xavier', 'he'"
    with pytest.raises(ValueError, match=expected):
        init_std(3, 3, scheme)


@pytest.mark.parametrize("size", [0, -1, 2.0, True, "3", None])
def test_init_std_rejects_a_bad_size(size):
    with pytest.raises(ValueError, match="d_in must be a whole number >= 1"):
        init_std(size, 3, "he")
    with pytest.raises(ValueError, match="d_out must be a whole number >= 1"):
        init_std(3, size, "he")


def test_init_std_takes_numpy_integers():
    assert init_std(np.int64(50), np.int32(150), "xavier") == pytest.approx(0.1)


# --- init_mlp ------------------------------------------------------------------------


def test_init_mlp_knows_xavier():
    assert "xavier" in INITS
    assert set(INIT_SCHEMES) <= set(INITS)


@pytest.mark.parametrize("init", ["he", "xavier"])
@pytest.mark.parametrize("sizes", [[2, 3, 1], [64, 32, 16, 10], [5, 1]])
def test_init_mlp_scales_the_same_draws_by_init_std(init, sizes):
    """Every scheme draws the same standard normals and multiplies them by its std."""
    scaled = init_mlp(sizes, seed=3, init=init)
    unscaled = init_mlp(sizes, seed=3, init="normal")
    for l, (d_in, d_out) in enumerate(itertools.pairwise(sizes), start=1):
        np.testing.assert_array_equal(
            scaled[f"W{l}"], unscaled[f"W{l}"] * init_std(d_in, d_out, init)
        )
        np.testing.assert_array_equal(scaled[f"b{l}"], np.zeros(d_out))


def test_init_mlp_he_is_unchanged_bit_for_bit():
    """The formula init_mlp used before init_std existed (the course's outputs depend on it)."""
    sizes = [2, 16, 16, 1]
    rng = np.random.default_rng(7)
    params = init_mlp(sizes, seed=7)
    for l, (d_in, d_out) in enumerate(itertools.pairwise(sizes), start=1):
        expected = rng.standard_normal((d_in, d_out)) * np.sqrt(2.0 / d_in)
        assert params[f"W{l}"].tobytes() == expected.tobytes()


# --- deep_stack_statistics: the contract -----------------------------------------------


def test_deep_stack_statistics_fields():
    stats = deep_stack_statistics("tanh", "xavier", depth=4, width=6, n=5, seed=1)
    assert isinstance(stats, StackStatistics)
    assert (stats.activation, stats.scheme) == ("tanh", "xavier")
    assert len(stats.activations) == len(stats.gradients) == 4
    for A, dA in zip(stats.activations, stats.gradients, strict=True):
        assert A.shape == dA.shape == (5, 6)
        assert A.dtype == dA.dtype == np.float64
    np.testing.assert_array_equal(stats.activation_std, [A.std() for A in stats.activations])
    np.testing.assert_array_equal(stats.gradient_std, [g.std() for g in stats.gradients])
    assert stats.activation_std.shape == stats.gradient_std.shape == (4,)
    with pytest.raises(dataclasses.FrozenInstanceError):
        stats.scheme = "he"


def test_deep_stack_statistics_is_reproducible():
    a = deep_stack_statistics("relu", "he", depth=3, width=8, n=10, seed=5)
    b = deep_stack_statistics("relu", "he", depth=3, width=8, n=10, seed=5)
    c = deep_stack_statistics("relu", "he", depth=3, width=8, n=10, seed=6)
    for x, y in zip(a.activations + a.gradients, b.activations + b.gradients, strict=True):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a.activations[0], c.activations[0])


def redraw_stack(activation, scheme, depth, width, n, seed):
    """X, the weights and G, drawn in the order the docstring states."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, width))
    std = init_std(width, width, scheme)
    weights = [rng.standard_normal((width, width)) * std for _ in range(depth)]
    G = rng.standard_normal((n, width))
    return X, weights, G


def forward_from(A, weights, f):
    for W in weights:
        A = f(A @ W)
    return A


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu"])
@pytest.mark.parametrize("scheme", INIT_SCHEMES)
def test_deep_stack_forward_and_backward_against_central_differences(activation, scheme):
    """A_l recomputed from the documented draws, and dL/dA_l = the numerical gradient of
    L = sum(A_depth * G) with respect to A_l, on a small stack.

    A relu layer whose units are all off for a sample passes Z = 0 exactly to the next, where
    relu'(0) = 0 but central differences see a kink; this stack (seed 0) has no such row."""
    depth, width, n, seed = 4, 6, 3, 0
    stats = deep_stack_statistics(activation, scheme, depth=depth, width=width, n=n, seed=seed)
    X, weights, G = redraw_stack(activation, scheme, depth, width, n, seed)
    f, _ = get_activation(activation)
    for l in range(depth):
        np.testing.assert_allclose(
            stats.activations[l], forward_from(X, weights[: l + 1], f), rtol=1e-13, atol=1e-300
        )
    np.testing.assert_array_equal(stats.gradients[-1], G)
    assert all(np.any(A != 0, axis=1).all() for A in stats.activations)
    for l in range(depth):
        A_l = stats.activations[l].copy()

        def loss(A, above=weights[l + 1 :]):
            return float(np.sum(forward_from(A, above, f) * G))

        numerical = numerical_gradient(loss, A_l)
        scale = np.max(np.abs(numerical)) + 1e-12
        np.testing.assert_allclose(stats.gradients[l], numerical, rtol=1e-6, atol=1e-7 * scale)


def test_deep_stack_uses_the_init_std_it_is_given():
    calls = []

    def learner_std(d_in, d_out, scheme):
        calls.append((d_in, d_out, scheme))
        return 0.5

    stats = deep_stack_statistics("tanh", "he", depth=2, width=4, n=3, seed=0, init_std=learner_std)
    assert calls == [(4, 4, "he")]
    X, (W1, _), _ = redraw_stack("tanh", "normal", 2, 4, 3, 0)  # "normal": W1 unscaled
    np.testing.assert_allclose(stats.activations[0], np.tanh(X @ (0.5 * W1)), rtol=1e-14)
    reference = deep_stack_statistics("tanh", "he", depth=2, width=4, n=3, seed=0, init_std=None)
    np.testing.assert_allclose(
        reference.activations[0], np.tanh(X @ (init_std(4, 4, "he") * W1)), rtol=1e-14
    )


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"activation": "softplus"}, ValueError, "Unknown activation 'softplus'"),
        ({"activation": "identity"}, ValueError, "Unknown activation"),
        ({"scheme": "glorot"}, ValueError, "Unknown initialisation scheme 'glorot'"),
        ({"depth": 0}, ValueError, "depth must be a whole number >= 1"),
        ({"width": 2.5}, ValueError, "width must be a whole number >= 1"),
        ({"n": -3}, ValueError, "n must be a whole number >= 1"),
        ({"init_std": 0.1}, TypeError, "init_std must be a function or None"),
        ({"init_std": lambda *a: -1.0}, ValueError, "finite number >= 0"),
        ({"init_std": lambda *a: np.nan}, ValueError, "finite number >= 0"),
        ({"init_std": lambda *a: np.ones(2)}, ValueError, "single number"),
    ],
)
def test_deep_stack_statistics_checks_its_arguments(kwargs, error, match):
    arguments = {"activation": "relu", "scheme": "he", "depth": 2, "width": 3, "n": 2, **kwargs}
    with pytest.raises(error, match=match):
        deep_stack_statistics(**arguments)


# --- deep_stack_statistics: what notebook 10 says about it ------------------------------


def stacks(activation, scheme):
    return [deep_stack_statistics(activation, scheme, seed=seed) for seed in SEEDS]


def growth_per_layer(stds):
    """The geometric mean of std_{l+1} / std_l."""
    return float(np.exp(np.mean(np.diff(np.log(stds)))))


def test_relu_with_unit_normal_weights_explodes():
    """N(0, 1) weights: each layer multiplies the std by about sqrt(width / 2) = 7.07
    (measured 6.98-7.42), to 2.3e8-4.0e8 at layer 10; the gradients grow as much downwards."""
    for stats in stacks("relu", "normal"):
        assert 6.5 < growth_per_layer(stats.activation_std) < 8.0
        assert stats.activation_std[-1] > 1e8
        assert stats.gradient_std[0] > 1e7 * stats.gradient_std[-1]


def test_relu_with_he_weights_keeps_its_scale():
    """He: every layer's activation std within 0.74-1.27 (max / min <= 1.55), gradients
    within a factor 1.25 of each other, through 10 layers."""
    for stats in stacks("relu", "he"):
        assert np.all((stats.activation_std > 0.6) & (stats.activation_std < 1.5))
        assert stats.activation_std.max() / stats.activation_std.min() < 2.0
        assert stats.gradient_std.max() / stats.gradient_std.min() < 1.5


def test_relu_with_xavier_weights_fades():
    """Xavier gives a square ReLU layer half He's variance: the std shrinks by about
    1 / sqrt(2) per layer (measured 0.70-0.74), to 0.02-0.04 at layer 10."""
    for stats in stacks("relu", "xavier"):
        assert 0.65 < growth_per_layer(stats.activation_std) < 0.78
        assert stats.activation_std[-1] < 0.05


def saturated_fraction(stats):
    A = np.stack(stats.activations)
    if stats.activation == "sigmoid":
        return float(np.mean(np.minimum(A, 1 - A) < 0.01))
    return float(np.mean(np.abs(A) > 0.99))


def test_sigmoid_with_unit_normal_weights_saturates():
    """N(0, 1): about half of all activations (50-52 %) lie within 0.01 of 0 or 1, where the
    slope sigma' is below 0.01; Xavier and He leave almost none there (< 0.02 %)."""
    for normal, xavier, he in zip(*(stacks("sigmoid", s) for s in INIT_SCHEMES), strict=True):
        assert saturated_fraction(normal) > 0.45
        assert saturated_fraction(xavier) < 1e-4
        assert saturated_fraction(he) < 1e-3
        # the activations keep a near-constant spread either way: the std alone hides this
        assert normal.activation_std.max() / normal.activation_std.min() < 1.2
        assert xavier.activation_std[1:].max() / xavier.activation_std[1:].min() < 1.5


def test_sigmoid_gradients_vanish_even_with_xavier():
    """sigma' <= 1/4: with Xavier the gradient shrinks about 4x per layer downwards, to about
    2e-6 of the upstream gradient at layer 1 (measured 2.2e-6 to 2.3e-6)."""
    for stats in stacks("sigmoid", "xavier"):
        assert stats.gradient_std[0] < 1e-5 * stats.gradient_std[-1]
        assert 3.5 < growth_per_layer(stats.gradient_std) < 4.8  # upwards


def test_tanh_with_xavier_keeps_gradients_unit_normal_saturates():
    """tanh: N(0, 1) leaves 78 % of the activations beyond 0.99 in size and the gradient
    2000-2900x larger at layer 1 than at the top; Xavier keeps the gradients within a
    factor 2.6 and the activations unsaturated (< 0.1 %)."""
    for normal, xavier in zip(stacks("tanh", "normal"), stacks("tanh", "xavier"), strict=True):
        assert saturated_fraction(normal) > 0.7
        assert normal.gradient_std[0] > 1e3 * normal.gradient_std[-1]
        assert saturated_fraction(xavier) < 1e-3
        assert xavier.gradient_std.max() / xavier.gradient_std.min() < 3.5
