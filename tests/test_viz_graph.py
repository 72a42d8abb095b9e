"""The computational-graph explorer of notebook 05: every slider setting draws the chain rule's
numbers, the learner's Value is used when it works, fallbacks and wrong numbers show, frames move.
"""

import io
import itertools

import matplotlib.image
import numpy as np
import pytest
from IPython.display import Image

import refimpl
from autograder.catalogue import mistakes_for
from refimpl.viz.graph import GraphExplorer, neuron_graph, trace_neuron_loss


class StubValue:
    """The release's Value: the constructor works, every operation is still to be written."""

    def __init__(self, data, _children=()):
        self.data, self.grad, self._prev = float(data), 0.0, tuple(_children)

    def __add__(self, other):
        raise NotImplementedError()

    __mul__ = __add__

    def sigmoid(self):
        raise NotImplementedError()

    def backward(self):
        raise NotImplementedError()


class ValueWithoutSigmoid(refimpl.Value):
    """Crashes: the method is missing."""

    sigmoid = None


# The catalogue's Value whose every _backward sets (=) its inputs' gradients instead of adding
# to them: it runs, but is wrong wherever a Value is used twice (the square d * d of the loss).
OverwritingValue = next(
    mistake.variant for mistake in mistakes_for("Value") if mistake.slug == "grad-overwritten"
)


class NanValue(refimpl.Value):
    """Returns a nan for the loss."""

    def backward(self):
        super().backward()
        self.data = float("nan")


def expected(w, b, x, y):
    """The chain rule written out, independently of any Value class."""
    z = w * x + b
    a = float(refimpl.sigmoid(z))
    dz = 2 * (a - y) * a * (1 - a)
    return {"z": z, "a": a, "L": (a - y) ** 2, "dw": dz * x, "db": dz, "dx": dz * w, "dz": dz}


def pixels(png: bytes) -> np.ndarray:
    return matplotlib.image.imread(io.BytesIO(png), format="png")


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
        e = expected(values["w"], values["b"], values["x"], values["y"])
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
    e = expected(-1.2, 0.4, 2.5, 0.0)
    assert text.endswith(f"= {e['dx']:.3f}".replace("-", "−"))
    assert explorer.chain_formula.get_text() == "∂L/∂x = ∂L/∂a · ∂a/∂z · ∂z/∂x"


def test_trace_uses_only_add_mul_sigmoid_and_backward():
    got = trace_neuron_loss(refimpl.Value, 0.5, -0.5, 2.0, 1.0)
    e = expected(0.5, -0.5, 2.0, 1.0)
    for key, value in e.items():
        assert got[key] == pytest.approx(value, rel=1e-12)


@pytest.mark.parametrize(
    ("learner", "words"),
    [
        (StubValue, "not implemented yet"),
        (ValueWithoutSigmoid, "raised TypeError"),
        (NanValue, "unlike the reference"),
    ],
)
def test_the_fallback_note_appears_for_a_stub_or_a_broken_value(learner, words):
    explorer = GraphExplorer(Value=learner)
    drawn = explorer.update(w=1.0)
    assert words in explorer.note.value
    assert "reference" in explorer.note.value
    e = expected(1.0, -0.5, 2.0, 1.0)
    np.testing.assert_allclose(drawn["grads"][:2], [e["dw"], e["db"]], rtol=1e-12)


def test_a_value_that_runs_but_is_wrong_is_shown_and_named():
    explorer = GraphExplorer(Value=OverwritingValue)
    drawn = explorer.update(w=0.5, b=-0.5, x=2.0, y=1.0)
    assert "Using your <code>Value</code>" in explorer.note.value
    assert "differ from the reference" in explorer.note.value
    assert "w.grad" in explorer.note.value
    assert not np.isclose(drawn["grads"][0], expected(0.5, -0.5, 2.0, 1.0)["dw"])


def test_without_a_learner_class_the_reference_is_used():
    explorer = GraphExplorer()
    explorer.update()
    assert "Using the reference <code>Value</code>" in explorer.note.value


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


def test_moving_a_control_changes_the_frame(explorer):
    explorer.update(w=0.5, b=-0.5, x=2.0, y=1.0, slope_of="w")
    before = explorer.image.value
    explorer.update(w=0.6)
    after_slider = explorer.image.value
    assert after_slider != before
    explorer.update(slope_of="b")
    assert explorer.image.value != after_slider
    explorer.update(y=0.0)
    assert explorer.image.value != after_slider


def test_a_redrawn_frame_equals_a_fresh_full_drawing(explorer):
    """The still parts are drawn once and reused: no trace of an earlier frame may remain."""
    values = {"w": -2.0, "b": 1.5, "x": -0.5, "y": 0.0, "slope_of": "b"}
    explorer.update(w=3.0, b=-3.0, x=3.0, y=1.0, slope_of="x")
    explorer.update(**values)
    fresh = GraphExplorer(Value=refimpl.Value, **values)
    fresh.update()
    np.testing.assert_array_equal(pixels(explorer.image.value), pixels(fresh.image.value))
