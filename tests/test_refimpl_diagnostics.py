"""refimpl.diagnostics: where a loss bends down, where a run diverged, a gradient check entry by
entry, and dead or identical hidden units."""

import numpy as np
from refimpl_tools import mutating_backward_231

import refimpl
from refimpl.diagnostics import (
    bends_down,
    dead_units,
    divergence_step,
    entry_errors,
    identical_units,
    slice_gradients,
)
from refimpl.examples import example_network, initial_params
from refimpl.surface import parameter_entries


def test_bends_down_finds_only_downward_curvature():
    x = np.linspace(-2, 2, 81)
    assert not bends_down(x**2).any()
    assert not bends_down(np.abs(x)).any()
    assert bends_down(np.minimum(x**2, 1.0)).any()  # a valley that flattens into a plateau
    assert not bends_down(np.ones(5)).any()


def test_divergence_step_follows_the_training_rule():
    assert divergence_step(np.array([1.0, 0.5, 0.1])) is None
    assert divergence_step(np.array([1.0, 10.0, 2e3, 5.0])) == 2
    assert divergence_step(np.array([1.0, np.inf, np.nan])) == 1
    assert divergence_step(np.array([np.nan, 1.0])) == 0


def test_slice_gradients_leaves_the_params_alone():
    X, y, params = example_network()
    before = {key: value.copy() for key, value in params["initial"].items()}
    analytic, numerical = slice_gradients(mutating_backward_231, X, y, params["initial"], "mse")
    for key, value in before.items():
        np.testing.assert_array_equal(params["initial"][key], value)
        assert refimpl.relative_error(analytic[key], numerical[key]) > 0.0


def test_entry_errors_are_the_relative_errors_of_every_entry_in_label_order():
    X, y, params = example_network()
    analytic, numerical = slice_gradients(
        lambda *args: refimpl.backward_231(*args, loss="bce"), X, y, params["trained"], "bce"
    )
    labels = parameter_entries(params["trained"])
    errors = entry_errors(analytic, numerical, labels)
    assert errors.shape == (13,)
    assert np.all(errors <= 1e-7)  # the right backward pass passes the check, entry by entry
    wrong = {**analytic, "b1": -analytic["b1"]}
    failing = [label for label, e in zip(labels, entry_errors(wrong, numerical, labels),
                                         strict=True) if e > 1e-7]
    assert failing == [label for label in labels if label.startswith("b1")]


def test_dead_units_and_identical_units_helpers():
    Z1 = np.array([[-1.0, 0.0, 2.0], [-0.5, 0.0, -1.0]])
    np.testing.assert_array_equal(dead_units(Z1), [True, True, False])
    same = initial_params(4, "same", seed=0)
    assert identical_units(same)
    assert all(np.all(value == 0.5) for value in same.values())
    assert not identical_units(initial_params(4, "he", seed=0))
    assert not identical_units(initial_params(1, "same", seed=0))  # one unit: nothing to compare
