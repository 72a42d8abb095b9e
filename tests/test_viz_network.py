"""The 2-3-1 network explorer of notebook 02: every student draws, fallbacks show, frames move."""

import io
import itertools

import matplotlib.image
import numpy as np
import pytest

import refimpl
from refimpl.viz.network import NetworkExplorer, trained_params_231


def stub_forward_231(X, params):
    raise NotImplementedError()


def forward_without_cache(X, params):
    y_hat, _ = refimpl.forward_231(X, params)
    return y_hat  # forgot the cache


def forward_with_missing_key(X, params):
    y_hat, cache = refimpl.forward_231(X, params)
    del cache["A1"]
    return y_hat, cache


def forward_with_a_nan(X, params):
    y_hat, cache = refimpl.forward_231(X, params)
    return np.full_like(y_hat, np.nan), cache


def mutating_forward_231(X, params):
    params["W1"] *= 0.0  # changes the params in place
    return refimpl.forward_231(X, params)


def pixels(png: bytes) -> np.ndarray:
    return matplotlib.image.imread(io.BytesIO(png), format="png")


@pytest.fixture(scope="module")
def explorer():
    return NetworkExplorer()


def test_trained_params_fit_the_data_and_take_hours():
    params, message = trained_params_231()
    assert {key: value.shape for key, value in params.items()} == refimpl.network.SHAPES_231
    assert "completed" in message
    X, y = refimpl.study_sleep()
    y_hat, _ = refimpl.forward_231(X, params)
    assert np.mean((y_hat >= 0.5) == (y == 1.0)) >= 0.95


def test_trained_params_are_fresh_copies():
    params, _ = trained_params_231()
    params["W1"][:] = 0.0
    again, _ = trained_params_231()
    assert np.any(again["W1"] != 0.0)


def test_every_slider_combination_draws_the_reference_numbers(explorer):
    levels = [
        (control.min, (control.min + control.max) / 2, control.max)
        for control in (explorer.controls["studied"], explorer.controls["slept"])
    ]
    for studied, slept in itertools.product(*levels):
        drawn = explorer.update(studied=studied, slept=slept)
        for name, array in drawn.items():
            assert np.all(np.isfinite(array)), f"{name} has nan/inf at {studied}, {slept}"
        y_hat, cache = refimpl.forward_231(np.array([[studied, slept]]), explorer.params)
        np.testing.assert_allclose(drawn["Z1"], cache["Z1"][0])
        np.testing.assert_allclose(drawn["A1"], cache["A1"][0])
        np.testing.assert_allclose(drawn["y_hat"], y_hat[0])


def test_the_nodes_show_the_values(explorer):
    explorer.update(studied=8.0, slept=4.5)
    texts = [text.get_text() for text in explorer.node_texts]
    assert texts[:2] == ["8.0 h", "4.5 h"]
    assert "predicted: fail" in explorer.summary.get_text()
    explorer.update(studied=6.0, slept=8.0)
    assert "predicted: pass" in explorer.summary.get_text()


def test_huge_parameters_draw_without_warnings():
    params, _ = trained_params_231()
    huge = {key: 1e6 * value for key, value in params.items()}
    explorer = NetworkExplorer(params=huge)  # pytest turns warnings into errors
    for studied in (0.0, 10.0):
        drawn = explorer.update(studied=studied)
        assert all(np.all(np.isfinite(array)) for array in drawn.values())


def test_the_learner_function_is_used_when_it_is_right():
    explorer = NetworkExplorer(forward_231=refimpl.forward_231)
    explorer.update(studied=3.0)
    assert "Using your <code>forward_231</code>" in explorer.note.value


@pytest.mark.parametrize(
    ("learner", "words"),
    [
        (stub_forward_231, "not implemented yet"),
        (forward_without_cache, "unlike the reference"),
        (forward_with_missing_key, "unlike the reference"),
        (forward_with_a_nan, "unlike the reference"),
    ],
)
def test_the_fallback_note_appears_for_a_stub_or_a_broken_forward(learner, words):
    explorer = NetworkExplorer(forward_231=learner)
    drawn = explorer.update(studied=4.0)
    assert words in explorer.note.value
    assert "reference" in explorer.note.value
    assert all(np.all(np.isfinite(array)) for array in drawn.values())


def test_moving_a_slider_changes_the_frame(explorer):
    explorer.update(studied=6.0, slept=7.0)
    before = explorer.image.value
    explorer.update(slept=4.0)
    assert explorer.image.value != before


def test_a_redrawn_frame_equals_a_fresh_full_drawing(explorer):
    """The still parts are drawn once and reused: no trace of an earlier frame may remain."""
    explorer.update(studied=9.5, slept=3.5)
    explorer.update(studied=2.5, slept=8.5)
    fresh = NetworkExplorer(studied=2.5, slept=8.5)
    fresh.update()
    np.testing.assert_array_equal(pixels(explorer.image.value), pixels(fresh.image.value))


def test_the_trained_network_tells_the_story_of_notebook_02():
    """Notebook 02's explorer tasks: one hidden unit fires below about 6 h of sleep, another
    below about 3 h of study; each pulls the prediction to "fail" through a negative W2."""
    params, _ = trained_params_231()

    def hidden_and_y_hat(studied, slept):
        y_hat, cache = refimpl.forward_231(np.array([[studied, slept]]), params)
        return cache["A1"][0] > 0, y_hat[0, 0]

    on_pass, y_pass = hidden_and_y_hat(6.0, 7.0)
    on_sleepy, y_sleepy = hidden_and_y_hat(6.0, 4.0)
    on_lazy, y_lazy = hidden_and_y_hat(1.0, 7.0)
    assert y_pass > 0.9 > 0.1 > max(y_sleepy, y_lazy)
    sleep_alarm = on_sleepy & ~on_pass
    study_alarm = on_lazy & ~on_pass
    assert sleep_alarm.sum() == 1
    assert study_alarm.sum() == 1
    assert np.all(params["W2"][sleep_alarm | study_alarm] < 0)


def test_a_learner_function_that_changes_the_params_spoils_nothing():
    params, _ = trained_params_231()
    explorer = NetworkExplorer(forward_231=mutating_forward_231, params=params)
    explorer.update(studied=2.0)
    np.testing.assert_array_equal(explorer.params["W1"], trained_params_231()[0]["W1"])
    assert np.any(params["W1"] != 0.0)  # the caller's params are untouched too
