"""The computational-graph explorer of notebook 05: every slider setting draws the chain rule's
numbers, the learner's Value is used when it works, wrong numbers are shown and named, and the
forward-only picture hides the backward pass. (Fallbacks and frames: ``test_viz_explorers.py``.)
"""

import itertools

import numpy as np
import pytest
from IPython.display import Image
from refimpl_tools import neuron_chain_rule

import refimpl
from autograder.exercises.catalogue import mistakes_for
from refimpl.viz.graph import GraphExplorer, neuron_graph

# The catalogue's Value whose every _backward sets (=) its inputs' gradients instead of adding
# to them: it runs, but is wrong wherever a Value is used twice (the square d * d of the loss).
OverwritingValue = next(
    mistake.variant for mistake in mistakes_for("Value") if mistake.slug == "grad-overwritten"
)


@pytest.fixture(scope="module")
def explorer():
    return GraphExplorer(Value=refimpl.Value)


def slider_grid(explorer):
    levels = {}
    for name in ("w", "b", "x"):
        control = explorer.controls[name]
        levels[name] = (control.min, (control.min + control.max) / 2, control.max)
    for y, slope_of in itertools.product((1.0, 0.0), ("w", "b", "x")):
        for w, b, x in itertools.product(levels["w"], levels["b"], levels["x"]):
            yield {"w": w, "b": b, "x": x, "y": y, "slope_of": slope_of}


def test_every_slider_combination_draws_the_chain_rule(explorer):
    for values in slider_grid(explorer):
        drawn = explorer.update(**values)
        for name, array in drawn.items():
            assert np.all(np.isfinite(array)), f"{name} has nan/inf at {values}"
        e = neuron_chain_rule(values["w"], values["b"], values["x"], values["y"])
        np.testing.assert_allclose(drawn["values"], [e["z"], e["a"], e["L"]], rtol=1e-12)
        np.testing.assert_allclose(
            drawn["grads"][:4], [e["dw"], e["db"], e["dx"], e["dz"]], rtol=1e-9, atol=1e-15
        )
        assert np.all((drawn["curve"] >= 0.0) & (drawn["curve"] <= 1.0))
        dL_dw, dL_db = refimpl.neuron_loss_grads(values["w"], values["b"], values["x"], values["y"])
        np.testing.assert_allclose(drawn["grads"][:2], [dL_dw, dL_db], rtol=1e-9, atol=1e-15)
    assert "Using your <code>Value</code>" in explorer.note.value


def test_the_numbers_of_notebook_05_at_the_start():
    drawn = GraphExplorer().update()
    np.testing.assert_allclose(drawn["values"], [0.5, 0.6224593, 0.1425370], atol=1e-7)
    np.testing.assert_allclose(drawn["grads"][:2], [-0.3548938, -0.1774469], atol=1e-7)
    # the local derivatives on the edges: dz/dx = w, dz/dw = x, dz/db = 1, da/dz, dL/da
    np.testing.assert_allclose(drawn["local"], [0.5, 2.0, 1.0, 0.2350037, -0.7550813], atol=1e-7)


def test_the_chain_is_the_product_of_the_local_derivatives(explorer):
    explorer.update(w=-1.2, b=0.4, x=2.5, y=0.0, slope_of="x")
    text = explorer.chain_numbers.get_text()
    e = neuron_chain_rule(-1.2, 0.4, 2.5, 0.0)
    assert text.endswith(f"= {e['dx']:.3f}".replace("-", "−"))
    assert explorer.chain_formula.get_text() == "∂L/∂x = ∂L/∂a · ∂a/∂z · ∂z/∂x"


def test_a_value_that_runs_but_is_wrong_is_shown_and_named():
    explorer = GraphExplorer(Value=OverwritingValue)
    drawn = explorer.update(w=0.5, b=-0.5, x=2.0, y=1.0)
    assert "Using your <code>Value</code>" in explorer.note.value
    assert "differ from the reference" in explorer.note.value
    assert "w.grad" in explorer.note.value
    assert not np.isclose(drawn["grads"][0], neuron_chain_rule(0.5, -0.5, 2.0, 1.0)["dw"])


def test_the_forward_only_picture_hides_the_backward_pass():
    explorer = GraphExplorer(show_backward=False)
    drawn = explorer.update(w=2.0)
    assert np.all(np.isfinite(drawn["values"]))
    assert not explorer.grad_texts
    assert not explorer.edge_texts
    assert not explorer.tangent.get_visible()
    assert not explorer.chain_numbers.get_visible()


def test_neuron_graph_is_a_still_png():
    for show_backward in (True, False):
        picture = neuron_graph(show_backward=show_backward)
        assert isinstance(picture, Image)
        assert picture.data.startswith(b"\x89PNG")
