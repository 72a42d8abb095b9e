"""refimpl.gradient_costs, the measurement of notebook 08: honest counts, finite timings."""

import numpy as np
import pytest

import refimpl
from refimpl.gradient_costs import (
    layer_sizes,
    measure_gradient_costs,
    median_seconds,
    parameter_count,
)

KEYS = {"width", "P", "finite_differences", "backprop", "forward", "loss"}


@pytest.fixture(scope="module")
def costs():
    return measure_gradient_costs(widths=(2, 8, 16), repeats=2)


@pytest.mark.parametrize("width", [1, 2, 5, 64])
def test_the_parameter_count_is_that_of_init_mlp(width):
    params = refimpl.init_mlp(layer_sizes(width))
    assert parameter_count(layer_sizes(width)) == sum(value.size for value in params.values())
    assert parameter_count([2, 3, 1]) == 13  # the 2-3-1 network of the course


def test_the_measurements_are_positive_and_finite(costs):
    assert set(costs) == KEYS
    np.testing.assert_array_equal(costs["width"], [2, 8, 16])
    np.testing.assert_array_equal(costs["P"], [parameter_count(layer_sizes(w)) for w in (2, 8, 16)])
    for key in KEYS - {"width", "P"}:
        assert costs[key].shape == (3,)
        assert np.all(np.isfinite(costs[key]))
        assert np.all(costs[key] > 0)


@pytest.mark.parametrize("width", [2, 8])
def test_central_differences_evaluate_the_loss_exactly_2p_times(width):
    """The claim the timings illustrate, counted instead of timed (timings are not tests)."""
    sizes = layer_sizes(width)
    params = refimpl.init_mlp(sizes, seed=0)
    X, y = refimpl.study_sleep(n=20, seed=0)
    calls = []

    def loss(p):
        calls.append(1)
        return refimpl.mlp_loss(X, y, p)

    refimpl.numerical_gradients(loss, params)
    assert len(calls) == 2 * parameter_count(sizes)


def test_median_seconds_stops_at_the_budget():
    calls = []
    median_seconds(lambda: calls.append(1), repeats=50, budget=0.0)
    assert len(calls) == 1  # one run, then the budget is spent
    calls.clear()
    median_seconds(lambda: calls.append(1), repeats=3, number=4)
    assert len(calls) == 12
