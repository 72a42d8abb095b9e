"""The gradient-arrows explorer of notebook 06: every control draws, a right backward pass passes
its gradient check and covers the numerical arrow, the shortcut with MSE does not, a classic
mistake fails only where it enters, and a learner's backward that changes its inputs spoils
nothing. (Fallbacks, frames and a == b: ``test_viz_explorers.py``.)
"""

import itertools

import numpy as np
import pytest
from refimpl_tools import mutating_backward_231

import refimpl
from refimpl.examples import example_network
from refimpl.viz.gradients import DEFAULT_PAIR, SPAN, TOLERANCE, GradientArrowsExplorer
from viz_tools import assert_finite, dropdown_pairs


def backward_mse(X, y, params, cache):
    return refimpl.backward_231(X, y, params, cache, loss="mse")


def backward_bce(X, y, params, cache):
    return refimpl.backward_231(X, y, params, cache, loss="bce")


def backward_without_relu_prime(X, y, params, cache):
    """A classic mistake: dZ1 = dA1, the ReLU derivative forgotten."""
    n = X.shape[0]
    y_hat = cache["A2"]
    dZ2 = 2 * (y_hat - y) * refimpl.sigmoid_prime(cache["Z2"]) / n
    dZ1 = dZ2 @ params["W2"].T
    return {
        "W1": X.T @ dZ1,
        "b1": dZ1.sum(axis=0),
        "W2": cache["A1"].T @ dZ2,
        "b2": dZ2.sum(axis=0),
    }


@pytest.fixture(scope="module")
def explorer():
    return GradientArrowsExplorer(backward_mse, backward_bce)


@pytest.fixture(scope="module")
def coarse():
    """A coarse grid: the same drawing, cheaper surfaces for the long sweeps."""
    return GradientArrowsExplorer(backward_mse, backward_bce, grid=21)


def test_every_parameter_in_either_dropdown_draws_finite_values(coarse):
    labels = coarse.controls["a"].options
    assert len(labels) == 13
    for loss in ("mse", "bce"):
        for a, b in dropdown_pairs(labels, DEFAULT_PAIR):
            values = {"a": a, "b": b, "loss": loss, "backward": loss}
            drawn = coarse.update(**values)
            assert_finite(drawn, values)
            assert drawn["errors"].shape == (13,)


def test_every_slider_and_toggle_draws_finite_values(coarse):
    levels = [-SPAN, 0.0, SPAN]
    for at, loss, backward in itertools.product(
        ("initial", "trained"), ("mse", "bce"), ("mse", "bce")
    ):
        for da, db in itertools.product(levels, levels):
            values = {"a": "W1[0, 1]", "b": "W2[2, 0]", "at": at, "loss": loss}
            values.update(backward=backward, da=da, db=db)
            drawn = coarse.update(**values)
            assert_finite(drawn, values)
            if loss == backward:  # the right formula for the loss: the check passes
                assert np.all(drawn["errors"] <= TOLERANCE), values


def test_the_arrows_are_the_two_gradients_of_the_point(explorer):
    drawn = explorer.update(
        a="W1[0, 2]", b="b2[0]", at="trained", da=0.5, db=-1.0, loss="bce", backward="bce"
    )
    X, y, params = example_network()
    moved = {key: value.copy() for key, value in params["trained"].items()}
    moved["W1"][0, 2] += 0.5
    moved["b2"][0] -= 1.0
    _, cache = refimpl.forward_231(X, moved)
    grads = refimpl.backward_231(X, y, moved, cache, loss="bce")
    np.testing.assert_allclose(drawn["analytic"], [-grads["W1"][0, 2], -grads["b2"][0]])
    np.testing.assert_allclose(drawn["numerical"], drawn["analytic"], rtol=1e-6)


def test_the_shortcut_with_mse_fails_the_check_and_points_uphill_by_default(explorer):
    """The story of notebook 06: at the default point the shortcut (y_hat - y) / n, used with
    MSE, points uphill, and every entry fails the gradient check; the MSE formula passes."""
    defaults = {"a": DEFAULT_PAIR[0], "b": DEFAULT_PAIR[1], "at": "initial", "loss": "mse"}
    drawn = explorer.update(**defaults, da=-0.5, db=1.0, backward="mse")
    assert np.all(drawn["errors"] <= TOLERANCE)
    np.testing.assert_allclose(drawn["analytic"], drawn["numerical"], rtol=1e-6)
    assert "all 13 entries pass" in explorer.bar_title.get_text()
    drawn = explorer.update(backward="bce")
    assert np.all(drawn["errors"] > 1e-2)
    assert drawn["analytic"] @ drawn["numerical"] < 0  # uphill
    assert "UPHILL" in explorer.readout[2].get_text()
    assert "13 of 13 entries FAIL" in explorer.bar_title.get_text()


def test_a_classic_mistake_fails_only_where_it_enters():
    explorer = GradientArrowsExplorer(backward_231_mse=backward_without_relu_prime, grid=21)
    drawn = explorer.update(a="W1[0, 0]", b="W2[0, 0]", at="initial", loss="mse", backward="mse")
    labels = list(explorer.entries)
    failing = {
        label for label, error in zip(labels, drawn["errors"], strict=True) if error > TOLERANCE
    }
    assert failing
    assert all(label.startswith(("W1", "b1")) for label in failing)  # the output layer is right
    assert "Using your <code>backward_231_mse</code>" in explorer.note.value


def test_a_learner_function_that_changes_its_inputs_spoils_nothing():
    explorer = GradientArrowsExplorer(backward_231_mse=mutating_backward_231, grid=21)
    explorer.update(da=1.0)
    _, _, params = example_network()
    np.testing.assert_array_equal(explorer.params["initial"]["W1"], params["initial"]["W1"])
    drawn = explorer.update(da=0.5)
    assert np.all(drawn["errors"] <= TOLERANCE)


def test_given_data_and_params_are_used():
    X, y = refimpl.study_sleep(n=30, seed=4)
    params = refimpl.init_231(seed=3)
    explorer = GradientArrowsExplorer(
        backward_mse, X=X, y=y, params=params, a="W2[0, 0]", b="b2[0]", da=0.0, db=0.0, grid=21
    )
    assert explorer.controls["at"].options == (("given", "given"),)
    drawn = explorer.update(loss="mse", backward="mse")
    _, cache = refimpl.forward_231(X, params)
    grads = refimpl.backward_231(X, y, params, cache, loss="mse")
    np.testing.assert_allclose(drawn["analytic"], [-grads["W2"][0, 0], -grads["b2"][0]])
