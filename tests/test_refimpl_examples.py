"""refimpl.examples: the networks, data and runs behind the notebooks' figures are what the
notebooks say, computed by the reference, and handed out as copies."""

import numpy as np
import pytest

import refimpl
from refimpl.examples import (
    EXAMPLE_PAIR,
    RUN_EPOCHS,
    example_network,
    trained_params_231,
    training_data,
    training_run,
)
from refimpl.surface import parameter_entries

# -- notebook 02: the trained 2-3-1 network, taking hours -------------------------------------


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


# -- notebooks 03, 04, 06: the example network -------------------------------------------------


def test_example_network_hands_out_copies():
    _, _, first = example_network()
    first["trained"]["W1"][:] = 0.0
    _, _, second = example_network()
    assert np.any(second["trained"]["W1"] != 0.0)
    assert set(parameter_entries(second["trained"])) >= set(EXAMPLE_PAIR)


# -- notebook 07: training runs ----------------------------------------------------------------


def test_a_run_is_the_reference_run_on_the_standardized_split():
    data = training_data()
    X, y = refimpl.study_sleep()
    X_train, _, y_train, y_test = refimpl.train_test_split(X, y, test_fraction=0.25, seed=0)
    np.testing.assert_array_equal(data.X_train, X_train)
    np.testing.assert_array_equal(data.y_test, y_test)
    np.testing.assert_allclose(data.X_train_std.mean(axis=0), 0.0, atol=1e-12)
    trained, history = refimpl.train(
        data.X_train_std, y_train, refimpl.init_231(seed=1), lr=1.0, epochs=RUN_EPOCHS
    )
    run = training_run(1.0, 3, "he", 1)
    assert run.epochs_recorded == RUN_EPOCHS + 1
    np.testing.assert_allclose(run.losses[:-1], history.losses)
    np.testing.assert_allclose(run.grad_norms[:-1], history.grad_norms)
    for key, value in trained.items():
        np.testing.assert_allclose(run.params(RUN_EPOCHS)[key], value)
    assert run.losses[-1] == pytest.approx(
        refimpl.loss_231(data.X_train_std, y_train, trained, "bce")
    )


def test_zero_initialisation_learns_only_the_output_bias():
    run = training_run(1.0, 3, "zeros", 1)
    end = run.params(RUN_EPOCHS)
    for key in ("W1", "b1", "W2"):
        np.testing.assert_array_equal(end[key], 0.0)
    assert end["b2"][0] != 0.0
