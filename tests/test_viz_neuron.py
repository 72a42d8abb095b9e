"""The neuron explorer of notebook 01: every slider setting draws, the switch line is where z is
0, a learner's neuron that overflows or changes its input spoils nothing, and the static figures
draw. (Fallbacks and frames: ``test_viz_explorers.py``.)"""

import itertools

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.transforms import Bbox

import refimpl
from refimpl.viz._geometry import switch_line
from refimpl.viz.neuron import NeuronExplorer, activation_figure, glossary


def naive_neuron(X, w, b, activation):
    """A correct neuron with a naive sigmoid: overflows (with a warning) for very negative z."""
    z = X @ w + b
    return 1.0 / (1.0 + np.exp(-1000.0 * z)) if activation is refimpl.sigmoid else activation(z)


def mutating_neuron(X, w, b, activation):
    X[:] = 0.0  # changes its input in place
    return activation(X @ w + b)


@pytest.fixture(scope="module")
def explorer():
    return NeuronExplorer()


def slider_grid(explorer):
    """min, mid and max of every slider, combined, for every activation."""
    levels = {}
    for name in ("w1", "w2", "b"):
        control = explorer.controls[name]
        levels[name] = (control.min, (control.min + control.max) / 2, control.max)
    for activation in explorer.controls["activation"].options:
        for w1, w2, b in itertools.product(levels["w1"], levels["w2"], levels["b"]):
            yield {"w1": w1, "w2": w2, "b": b, "activation": activation}


def test_every_slider_combination_draws_finite_values(explorer):
    for values in slider_grid(explorer):
        drawn = explorer.update(**values)
        for name, array in drawn.items():
            assert np.all(np.isfinite(array)), f"{name} has nan/inf at {values}"
        f = refimpl.ACTIVATIONS[values["activation"]]
        w = np.array([values["w1"], values["w2"]])
        np.testing.assert_allclose(
            drawn["output"].ravel(), f(explorer.X_grid @ w + values["b"]), rtol=1e-12
        )
        assert 0.0 <= drawn["accuracy"] <= 1.0


def test_the_switch_line_is_where_z_is_zero():
    for w1, w2, b in [(1.0, 1.0, -10.0), (3.0, 0.1, -9.0), (0.0, -2.0, 12.0), (2.5, 0.0, -5.0)]:
        points = switch_line(w1, w2, b)
        assert points.shape == (2, 2)
        np.testing.assert_allclose(points @ [w1, w2] + b, 0.0, atol=1e-9)
    assert switch_line(0.0, 0.0, 3.0).shape == (0, 2)


def test_zero_weights_draw_no_line_and_say_so(explorer):
    drawn = explorer.update(w1=0.0, w2=0.0, b=5.0, activation="sigmoid")
    assert drawn["line"].size == 0
    assert "w = 0" in explorer.readout.get_text()


def test_an_overflowing_learner_function_warns_nothing():
    explorer = NeuronExplorer(neuron=naive_neuron)  # pytest turns warnings into errors
    explorer.update(w1=3.0, w2=3.0, b=-30.0)
    assert "Using your <code>neuron</code>" in explorer.note.value


def test_the_widget_has_the_controls_the_note_and_the_frame(explorer):
    box = explorer.widget()
    assert explorer.image in box.children
    assert explorer.note in box.children
    assert bytes(explorer.image.value).startswith(b"\x89PNG")


def test_activation_figure_and_glossary():
    fig = activation_figure()
    assert len(fig.axes) == 2
    table = glossary().data
    assert table.startswith("<table>")
    for symbol in ("W1", "y_hat", "dZ", "params"):
        assert f"<code>{symbol}" in table  # a symbol cell starts with it
    assert "(n, 1)" in table


def test_a_learner_function_that_changes_its_input_spoils_nothing():
    explorer = NeuronExplorer(neuron=mutating_neuron)
    grid = explorer.X_grid.copy()
    explorer.update(w1=2.0)
    np.testing.assert_array_equal(explorer.X_grid, grid)


def test_the_title_and_labels_stay_inside_the_frame(explorer):
    for activation in explorer.controls["activation"].options:
        explorer.update(w1=-2.9, w2=2.9, b=-29.5, activation=activation)
        renderer = FigureCanvasAgg(explorer.fig).get_renderer()
        frame = explorer.fig.bbox
        for text in (explorer.title, explorer.colorbar.ax.yaxis.label, explorer.ax.xaxis.label):
            box = text.get_window_extent(renderer)
            inside = np.allclose(Bbox.union([box, frame]).bounds, frame.bounds)
            assert inside, f"{text.get_text()!r} sticks out of the frame"
