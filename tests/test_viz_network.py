"""The 2-3-1 network explorer of notebook 02: every student draws the reference numbers, the nodes
show them, huge weights draw, and a learner's forward that changes the params spoils nothing.
(Fallbacks and frames: ``test_viz_explorers.py``.)"""

import itertools

import numpy as np
import pytest

import refimpl
from refimpl.examples import trained_params_231
from refimpl.viz.network import NetworkExplorer


def mutating_forward_231(X, params):
    params["W1"] *= 0.0  # changes the params in place
    return refimpl.forward_231(X, params)


@pytest.fixture(scope="module")
def explorer():
    return NetworkExplorer()


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


def test_a_learner_function_that_changes_the_params_spoils_nothing():
    params, _ = trained_params_231()
    explorer = NetworkExplorer(forward_231=mutating_forward_231, params=params)
    explorer.update(studied=2.0)
    np.testing.assert_array_equal(explorer.params["W1"], trained_params_231()[0]["W1"])
    assert np.any(params["W1"] != 0.0)  # the caller's params are untouched too
