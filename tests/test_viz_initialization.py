"""The initialisation explorer of notebook 10: every setting draws finite values, the stacks do
what the notebook says (sigmoid and tanh with N(0, 1) saturate, relu with N(0, 1) explodes, relu
with He and tanh/sigmoid with Xavier keep their activations steady), the learner's init_std is
used when it works and the reference with a note when it does not, frames equal a fresh full
drawing and take well under 100 ms, the other stacks are computed ahead once shown, and the
static fallback."""

from __future__ import annotations

import time

import numpy as np
import pytest

import refimpl.viz._core
from refimpl.initialization import INIT_SCHEMES, STACK_ACTIVATIONS, init_std
from refimpl.viz._style import ALARM_COLOUR
from refimpl.viz.initialization import (
    BINS,
    DEPTH,
    STEADY_FACTOR,
    InitializationExplorer,
    layer_histograms,
    other_pairs,
)
from viz_tools import assert_finite, crashing, pixels, stub

PAIRS = [(a, s) for a in STACK_ACTIVATIONS for s in INIT_SCHEMES]


@pytest.fixture(scope="module")
def explorer():
    return InitializationExplorer()


def verdicts(explorer) -> tuple[str, str]:
    return tuple(" ".join(text.get_text().split()) for text in explorer.verdicts)


@pytest.mark.parametrize(("activation", "scheme"), PAIRS)
def test_every_setting_draws_finite_values(explorer, activation, scheme):
    drawn = explorer.update(activation=activation, scheme=scheme)
    assert_finite(drawn, (activation, scheme))
    assert drawn["activation_heights"].shape == (DEPTH, BINS + 2)
    assert drawn["std"] == pytest.approx(init_std(100, 100, scheme))


def test_the_he_stack_of_relu_layers_stays_steady(explorer):
    drawn = explorer.update(activation="relu", scheme="he")
    std = drawn["activation_std"]
    assert np.all(std / std[0] < 2.0)
    assert np.all(std / std[0] > 0.5)
    gradients = drawn["gradient_std"]
    assert np.all(gradients / gradients[-1] < 2.0)
    assert verdicts(explorer)[0].startswith("activations: steady")
    assert verdicts(explorer)[1].startswith("gradients: steady")


def test_relu_with_unit_normal_weights_explodes(explorer):
    drawn = explorer.update(activation="relu", scheme="normal")
    assert drawn["activation_std"][-1] > 1e6 * drawn["activation_std"][0]
    assert verdicts(explorer)[0].startswith("activations: explode")
    assert verdicts(explorer)[1].startswith("gradients: explode")
    # nearly every positive value lies beyond the axis, in the hatched bin on the right
    heights = drawn["activation_heights"]
    assert np.all(heights[1:, -1] == heights[1:].max(axis=1))


@pytest.mark.parametrize("activation", ["sigmoid", "tanh"])
def test_unit_normal_weights_saturate_sigmoid_and_tanh(explorer, activation):
    drawn = explorer.update(activation=activation, scheme="normal")
    assert np.all(drawn["saturated"] > 0.25)
    assert verdicts(explorer)[0].startswith("activations: saturate")
    # the histograms pile up at both ends of the axis
    heights = drawn["activation_heights"][:, 1:-1]
    assert np.all(heights[:, 0] > heights[:, BINS // 2])
    assert np.all(heights[:, -1] > heights[:, BINS // 2])


@pytest.mark.parametrize("activation", ["sigmoid", "tanh"])
def test_xavier_keeps_sigmoid_and_tanh_activations_steady(explorer, activation):
    drawn = explorer.update(activation=activation, scheme="xavier")
    std = drawn["activation_std"]
    assert std.max() / std.min() < STEADY_FACTOR
    assert np.all(drawn["saturated"][1:] < 0.01)
    assert verdicts(explorer)[0].startswith("activations: steady")


def test_the_verdict_is_red_only_for_a_problem(explorer):
    explorer.update(activation="relu", scheme="normal")
    assert explorer.verdicts[0].get_color() == ALARM_COLOUR
    explorer.update(scheme="he")
    assert explorer.verdicts[0].get_color() == "black"


def test_histogram_shares_add_up_to_one():
    rng = np.random.default_rng(0)
    layer = rng.normal(0.0, 3.0, size=(50, 20))
    layer[layer < 0] = 0.0
    layer[0, :3] = [np.inf, np.nan, -np.inf]
    h = layer_histograms((layer,), (0.0, 4.0), zeros_apart=True)
    total = h.inside.sum() + h.below + h.above + h.zeros + h.not_finite
    np.testing.assert_allclose(total, 1.0)
    assert h.zeros[0] == pytest.approx(np.mean(layer == 0.0))
    assert h.not_finite[0] == pytest.approx(3 / layer.size)


# -- the learner's init_std ---------------------------------------------------------------------


def learner_init_std(d_in, d_out, scheme):
    return {"normal": 1.0, "xavier": np.sqrt(2 / (d_in + d_out)), "he": np.sqrt(2 / d_in)}[scheme]


def he_without_the_two(d_in, d_out, scheme):
    """A known mistake: He's std as sqrt(1 / d_in); well formed, so it is drawn."""
    return np.sqrt(1 / d_in) if scheme == "he" else learner_init_std(d_in, d_out, scheme)


def negative_std(d_in, d_out, scheme):
    return -0.1


def std_as_array(d_in, d_out, scheme):
    return np.full(d_out, 0.1)


@pytest.mark.parametrize(
    ("learner", "words"),
    [
        (None, "Using the reference <code>init_std</code>"),
        (learner_init_std, "Using your <code>init_std</code>"),
        (stub, "not implemented yet"),
        (crashing, "raised IndexError"),
        (std_as_array, "unlike the reference"),
        (negative_std, "cannot be used"),
    ],
)
def test_the_note_says_whose_init_std_is_drawn(learner, words):
    explorer = InitializationExplorer(learner, activation="relu", scheme="he")
    drawn = explorer.update()
    assert words in explorer.note.value
    assert_finite(drawn, words)
    in_the_figure = explorer.footer.get_text()  # said in the figure too, as plain text
    assert words.replace("<code>", "").replace("</code>", "") in in_the_figure
    if learner not in (None, learner_init_std):
        assert "reference" in explorer.note.value
        assert drawn["std"] == pytest.approx(init_std(100, 100, "he"))


def test_a_well_formed_wrong_init_std_is_drawn_as_it_is():
    explorer = InitializationExplorer(he_without_the_two, activation="relu", scheme="he")
    drawn = explorer.update()
    assert "Using your" in explorer.note.value
    assert drawn["std"] == pytest.approx(0.1)
    std = drawn["activation_std"]
    assert std[-1] < std[0] / 10  # half the variance lost per layer: it vanishes


# -- frames ----------------------------------------------------------------------------------------


def test_a_redrawn_frame_equals_a_fresh_full_drawing(explorer):
    explorer.update(activation="tanh", scheme="normal")
    explorer.update(activation="relu", scheme="xavier")
    fresh = InitializationExplorer(activation="relu", scheme="xavier")
    fresh.update()
    np.testing.assert_array_equal(pixels(explorer.image.value), pixels(fresh.image.value))


def test_moving_a_control_changes_the_frame(explorer):
    explorer.update(activation="sigmoid", scheme="normal")
    frames = [explorer.image.value]
    for change in ({"scheme": "xavier"}, {"activation": "relu"}, {"scheme": "he"}):
        explorer.update(**change)
        assert explorer.image.value not in frames, change
        frames.append(explorer.image.value)


def test_frames_take_well_under_100_ms(explorer):
    for activation, scheme in PAIRS:  # every stack computed, every still layer seen
        explorer.update(activation=activation, scheme=scheme)
    times = []
    for scheme in INIT_SCHEMES * 3:
        start = time.perf_counter()
        explorer.update(activation="relu", scheme=scheme)
        times.append(time.perf_counter() - start)
    assert np.median(times) < 0.1


def test_a_shown_explorer_computes_the_other_stacks_ahead():
    explorer = InitializationExplorer()
    explorer.widget()
    assert explorer.settle(timeout=60)
    assert len(explorer._stacks._results) == len(PAIRS)


def test_an_explorer_not_shown_computes_nothing_ahead():
    explorer = InitializationExplorer()
    explorer.update(scheme="he")
    assert explorer._stacks._thread is None


def test_the_other_pairs_come_nearest_first():
    found = other_pairs("relu", "he")
    assert len(found) == len(set(found)) == len(PAIRS) - 1
    assert set(found[:2]) == {("relu", "normal"), ("relu", "xavier")}
    assert set(found[2:4]) == {("sigmoid", "he"), ("tanh", "he")}


def test_displaying_gives_the_widget_and_a_described_static_png(monkeypatch):
    shown = []
    monkeypatch.setattr(refimpl.viz._core, "display", lambda bundle, raw: shown.append(bundle))
    explorer = InitializationExplorer(activation="relu", scheme="normal")
    explorer._ipython_display_()
    [bundle] = shown
    assert bundle["image/png"][:4] == b"\x89PNG"
    assert "application/vnd.jupyter.widget-view+json" in bundle
    alt = explorer.describe()
    assert "explode" in alt
    assert "std of the activations per layer" in alt
    assert "exactly 0" in alt  # relu's zeros, which the histograms leave out
