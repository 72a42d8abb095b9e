"""The loss-surface explorer of notebook 03: every control draws, the numbers are refimpl's,
the slice shows non-convexity, and a reused still layer leaves no trace of earlier frames (nor is
it rendered again when a setting seen before comes back).

The explorer calls no learner function (the surface comes from ``refimpl.loss_surface``), so it
has no fallback note to test. (Frames and a == b: ``test_viz_explorers.py``.)
"""

import numpy as np
import pytest

import refimpl
from refimpl.examples import example_network
from refimpl.viz.surface import DEFAULT_PAIR, LossSurfaceExplorer
from viz_tools import assert_finite, count_full_renders, dropdown_pairs, pixels


@pytest.fixture(scope="module")
def explorer():
    return LossSurfaceExplorer()


def test_every_parameter_in_either_dropdown_draws_finite_values(explorer):
    labels = explorer.controls["a"].options
    assert len(labels) == 13
    for loss in ("mse", "bce"):
        for a, b in dropdown_pairs(labels, DEFAULT_PAIR):
            values = {"a": a, "b": b, "loss": loss, "view": "contours", "span": 3.0}
            drawn = explorer.update(**values)
            assert_finite(drawn, values)
            assert drawn["surface"].shape == (explorer.grid, explorer.grid)


@pytest.mark.parametrize("view", ["contours", "3-D"])
def test_every_toggle_and_the_range_slider_draw_finite_values(explorer, view):
    span = explorer.controls["span"]
    for value in (span.min, (span.min + span.max) / 2, span.max):
        for loss in ("mse", "bce"):
            for at in ("trained", "initial"):
                values = {"a": "W1[0, 1]", "b": "b2[0]", "span": value, "loss": loss}
                values.update(at=at, view=view)
                drawn = explorer.update(**values)
                assert_finite(drawn, values)
                assert drawn["values_a"][0] == pytest.approx(drawn["values_a"][-1] - 2 * value)


def test_the_surface_is_refimpl_loss_surface_of_the_chosen_pair(explorer):
    # a weight into hidden unit 2 and that unit's output weight: the two touched layers interact
    drawn = explorer.update(a="W1[0, 2]", b="W2[2, 0]", loss="mse", at="trained", span=2.0)
    X, y, params = example_network()
    expected = refimpl.loss_surface(
        X,
        y,
        params["trained"],
        ("W1", (0, 2)),
        ("W2", (2, 0)),
        drawn["values_a"],
        drawn["values_b"],
        loss="mse",
    )
    np.testing.assert_allclose(drawn["surface"], expected, rtol=1e-12)
    # one grid point by hand: set the two entries and evaluate the network's loss
    i, j = 7, 60
    changed = {key: value.copy() for key, value in params["trained"].items()}
    changed["W1"][0, 2], changed["W2"][2, 0] = drawn["values_a"][i], drawn["values_b"][j]
    assert drawn["surface"][i, j] == pytest.approx(refimpl.loss_231(X, y, changed, loss="mse"))
    # the marked point (the centre) is the network itself
    middle = explorer.grid // 2
    assert drawn["surface"][middle, middle] == pytest.approx(
        refimpl.loss_231(X, y, params["trained"], loss="mse")
    )


@pytest.mark.parametrize("loss", ["mse", "bce"])
def test_the_default_slice_shows_that_the_surface_is_not_convex(explorer, loss):
    drawn = explorer.update(a=DEFAULT_PAIR[0], b=DEFAULT_PAIR[1], loss=loss, at="trained", span=6.0)
    assert drawn["bends_down"]
    assert explorer.fig.get_suptitle().startswith("2-D slice of a 13-dimensional loss surface")


def test_given_params_are_used_and_the_network_toggle_offers_them():
    X, y = refimpl.study_sleep(n=40, seed=3)
    params = refimpl.init_231(seed=5)
    explorer = LossSurfaceExplorer(X, y, params, a="b1[0]", b="b2[0]", span=1.0, grid=21)
    assert explorer.controls["at"].value == "given"
    assert len(explorer.controls["at"].options) == 1
    drawn = explorer.update(loss="bce")
    middle = explorer.grid // 2
    assert drawn["surface"][middle, middle] == pytest.approx(refimpl.loss_231(X, y, params, "bce"))


@pytest.fixture
def full_renders(monkeypatch):
    return count_full_renders(monkeypatch)


def test_a_setting_seen_before_pastes_its_kept_still_layer(explorer, full_renders):
    """Each range, and each 3-D surface, keeps its still layer: coming back renders nothing new,
    nor does the message for a == b, and the frame equals a fresh drawing."""
    pair = {"a": "W1[0, 0]", "b": "b1[1]", "loss": "bce", "at": "trained"}
    settings = [
        {"span": 2.5, "view": "contours"},
        {"span": 7.5, "view": "contours"},
        {"span": 2.5, "view": "3-D"},
        {"span": 2.5, "view": "3-D", "loss": "mse"},
    ]
    for values in settings:
        explorer.update(**{**pair, **values})
    assert len(full_renders) == len(settings)  # each a new still layer
    full_renders.clear()
    for values in settings:
        explorer.update(**{**pair, **values})
    explorer.update(**pair, span=7.5, view="contours")
    explorer.update(b=pair["a"])  # the message is drawn on the map at the same range
    assert "two different parameters" in explorer.message.get_text()
    assert full_renders == []
    explorer.update(**pair, span=2.5, view="3-D")  # kept since its first visit
    fresh = LossSurfaceExplorer(a=pair["a"], b=pair["b"], span=2.5, view="3-D")
    fresh.update()
    np.testing.assert_array_equal(pixels(explorer.image.value), pixels(fresh.image.value))
