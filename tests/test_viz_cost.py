"""The gradient-cost measurement and figure of notebook 08: honest counts, finite timings, a
backprop that beats central differences, and a figure that draws without a warning."""

import io

import matplotlib.image
import numpy as np
import pytest
from matplotlib.figure import Figure

import refimpl
from refimpl.viz._core import figure_png
from refimpl.viz.cost import (
    gradient_cost_figure,
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


def test_the_figure_draws_the_measurements(costs):
    fig = gradient_cost_figure(costs)  # pytest turns any warning into an error
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    assert ax.get_yscale() == "log"
    measured_fd, _, measured_bp = ax.get_lines()[:3]
    np.testing.assert_allclose(measured_fd.get_ydata(), costs["finite_differences"] * 1e3)
    np.testing.assert_allclose(measured_bp.get_ydata(), costs["backprop"] * 1e3)
    assert any("faster" in text.get_text() for text in ax.texts)
    image = matplotlib.image.imread(io.BytesIO(figure_png(fig)), format="png")
    assert image.shape[0] > 200


def test_the_figure_draws_a_made_up_measurement():
    P = np.array([13.0, 130.0, 1300.0])
    costs = {
        "width": np.array([1, 2, 3]),
        "P": P,
        "finite_differences": 2 * P * 1e-5,
        "backprop": np.full(3, 3e-5),
        "forward": np.full(3, 1e-5),
        "loss": np.full(3, 1e-5),
    }
    fig = gradient_cost_figure(costs)
    assert "867× faster" in " ".join(text.get_text() for text in fig.axes[0].texts)
    figure_png(fig)
