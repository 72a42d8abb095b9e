"""The gradient-cost figure of notebook 08: it draws the measurements (or made-up ones) without a
warning. (The measurement itself: ``test_refimpl_gradient_costs.py``.)"""

import numpy as np
import pytest
from matplotlib.figure import Figure

from refimpl import viz
from refimpl.gradient_costs import measure_gradient_costs
from refimpl.viz._core import figure_png
from refimpl.viz.cost import gradient_cost_figure
from viz_tools import pixels


@pytest.fixture(scope="module")
def costs():
    return measure_gradient_costs(widths=(2, 8, 16), repeats=2)


def test_the_notebook_measures_through_viz():
    """Notebook 08 calls ``viz.measure_gradient_costs``: the refimpl function, exported by viz."""
    assert viz.measure_gradient_costs is measure_gradient_costs


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
    image = pixels(figure_png(fig))
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
