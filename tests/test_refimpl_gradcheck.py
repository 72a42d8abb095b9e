"""refimpl.gradcheck: central differences that put x back, and checks that fail clearly."""

import inspect

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from refimpl import (
    GradientCheckError,
    backward_231,
    forward_231,
    grad_check,
    init_231,
    loss_231,
    numerical_gradient,
    numerical_gradients,
    relative_error,
)

SETTINGS = settings(max_examples=50, deadline=None, derandomize=True)


def test_numerical_gradient_of_a_polynomial():
    x = np.array([[1.0, -2.0], [0.5, 3.0]])
    grad = numerical_gradient(lambda x: np.sum(x**3), x)
    assert grad.shape == (2, 2)
    assert grad.dtype == np.float64
    np.testing.assert_allclose(grad, 3 * x**2, rtol=1e-9)


def test_numerical_gradient_of_a_scalar_and_of_a_list():
    assert numerical_gradient(lambda x: float(x) ** 2, np.array(3.0)) == pytest.approx(6.0)
    np.testing.assert_allclose(numerical_gradient(lambda x: x @ x, [1, 2]), [2.0, 4.0])


@SETTINGS
@given(x=arrays(np.float64, st.integers(1, 6), elements=st.floats(-1e6, 1e6)))
def test_numerical_gradient_restores_x_bit_for_bit(x):
    original = x.copy()
    numerical_gradient(lambda x: np.sum(np.sin(x)), x)
    assert x.tobytes() == original.tobytes()


def test_numerical_gradient_restores_x_when_f_raises():
    x = np.array([1e-8, 0.7, -1e-3, 3.3])
    assert (x[0] + 1e-5) - 1e-5 != x[0]  # so undoing the step by arithmetic would not restore x
    original = x.copy()
    calls = []

    def fails_on_the_third_call(x):
        calls.append(x.copy())
        if len(calls) == 3:
            raise RuntimeError("boom")
        return float(np.sum(x))

    with pytest.raises(RuntimeError, match="boom"):
        numerical_gradient(fails_on_the_third_call, x)
    assert x.tobytes() == original.tobytes()
    # f saw one entry moved by +h, then by -h, then the next entry moved
    np.testing.assert_allclose(calls[0] - original, [1e-5, 0, 0, 0], rtol=1e-9, atol=0)
    np.testing.assert_allclose(calls[1] - original, [-1e-5, 0, 0, 0], rtol=1e-9, atol=0)
    np.testing.assert_allclose(calls[2] - original, [0, 1e-5, 0, 0], rtol=1e-9, atol=0)


def test_numerical_gradient_perturbs_in_place():
    x = np.zeros(3)
    seen = []
    numerical_gradient(lambda v: seen.append(v is x) or 0.0, x)
    assert seen == [True] * 6  # two calls per entry, each with x itself


def test_numerical_gradient_needs_a_scalar_f_and_a_positive_h():
    with pytest.raises(ValueError, match="f must return a single number"):
        numerical_gradient(lambda x: x * 2, np.ones(2))
    with pytest.raises(ValueError, match="positive"):
        numerical_gradient(np.sum, np.ones(2), h=0.0)


def test_numerical_gradients_leaves_params_untouched():
    params = {"a": np.array([1.0, 2.0]), "b": np.array(3.0)}
    grads = numerical_gradients(lambda p: np.sum(p["a"] ** 2) * p["b"], params)
    np.testing.assert_allclose(grads["a"], [6.0, 12.0], rtol=1e-9)
    np.testing.assert_allclose(grads["b"], 5.0, rtol=1e-9)
    np.testing.assert_array_equal(params["a"], [1.0, 2.0])
    assert params["b"] == 3.0


def test_relative_error():
    assert relative_error([1.0, 2.0], [1.0, 2.0]) == 0.0
    assert relative_error([0.0], [0.0]) == 0.0  # 0 / max(0, 1e-8)
    assert relative_error([1.0, 3.0], [1.0, 1.0]) == pytest.approx(0.5)  # |3 - 1| / (3 + 1)
    assert relative_error([1e-9], [0.0]) == pytest.approx(0.1)  # floor 1e-8
    assert relative_error(np.zeros((0, 2)), np.zeros((0, 2))) == 0.0
    with pytest.raises(ValueError, match="same shape"):
        relative_error(np.ones(2), np.ones((2, 1)))


def test_verdict_reads_an_error_as_notebook_06_s_table():
    from refimpl.gradcheck import RIGHT_UP_TO, WRONG_FROM, verdict

    assert (RIGHT_UP_TO, WRONG_FROM) == (1e-7, 1e-2)
    assert verdict(0.0) == verdict(RIGHT_UP_TO) == "right"
    assert verdict(np.nextafter(RIGHT_UP_TO, 1.0)) == "suspicious"
    assert verdict(np.nextafter(WRONG_FROM, 0.0)) == "suspicious"
    assert verdict(WRONG_FROM) == verdict(1.0) == "wrong"
    assert verdict(float("nan")) == "wrong"  # a gradient that is not a number
    with pytest.raises(ValueError, match="never negative"):
        verdict(-1e-9)
    # grad_check passes exactly the errors the table calls right
    assert inspect.signature(grad_check).parameters["tol"].default == RIGHT_UP_TO


@pytest.fixture
def network():
    X = np.array([[1.0, -0.5], [0.3, 2.0], [-1.2, 0.7]])
    y = np.array([[1.0], [0.0], [1.0]])
    params = init_231(seed=1)
    params["b1"] = np.array([0.1, -0.2, 0.3])
    _, cache = forward_231(X, params)
    grads = backward_231(X, y, params, cache, loss="bce")
    return (lambda p: loss_231(X, y, p, loss="bce")), params, grads


def test_grad_check_passes_correct_gradients(network):
    loss_fn, params, grads = network
    errors = grad_check(loss_fn, params, grads)
    assert set(errors) == set(params)
    assert max(errors.values()) < 1e-7


def test_grad_check_names_the_parameter_and_its_worst_entry(network):
    loss_fn, params, grads = network
    wrong = {**grads, "W2": grads["W2"].copy()}
    wrong["W2"][1, 0] += 0.5
    with pytest.raises(GradientCheckError) as info:
        grad_check(loss_fn, params, wrong)
    message = str(info.value)
    assert message.startswith("Gradient check failed for W2: relative error ")
    assert "exceeds the tolerance 1e-07" in message
    assert "The worst entry is W2[1, 0]: analytic " in message
    assert f"analytic {wrong['W2'][1, 0]:.6g}, numerical {grads['W2'][1, 0]:.6g}." in message
    assert isinstance(info.value, AssertionError)


def test_grad_check_reports_every_failing_parameter(network):
    loss_fn, params, grads = network
    wrong = {key: -value for key, value in grads.items()}
    with pytest.raises(GradientCheckError, match="fails too"):
        grad_check(loss_fn, params, wrong)


def test_grad_check_missing_extra_and_misshapen_gradients(network):
    loss_fn, params, grads = network
    with pytest.raises(GradientCheckError, match="grads has no entry for 'b2'"):
        grad_check(loss_fn, params, {key: grads[key] for key in ("W1", "b1", "W2")})
    with pytest.raises(GradientCheckError, match=r"grads\['W1'\] has shape \(3, 2\)"):
        grad_check(loss_fn, params, {**grads, "W1": grads["W1"].T})
    with pytest.raises(GradientCheckError, match="keys that params lacks: 'W3'"):
        grad_check(loss_fn, params, {**grads, "W3": np.zeros(1)})


def test_grad_check_catches_the_bce_shortcut_used_for_mse():
    """The course's key lesson: (y_hat - y) / n is not the output delta of sigmoid + MSE."""
    X = np.array([[1.0, -0.5], [0.3, 2.0], [-1.2, 0.7]])
    y = np.array([[1.0], [0.0], [1.0]])
    params = init_231(seed=1)
    _, cache = forward_231(X, params)
    shortcut = backward_231(X, y, params, cache, loss="bce")
    with pytest.raises(GradientCheckError, match="Gradient check failed for"):
        grad_check(lambda p: loss_231(X, y, p, loss="mse"), params, shortcut)


# ---------------------------------------------------------------------------------------
# numerical_derivative (notebook 04's first exercise)
# ---------------------------------------------------------------------------------------


@settings(max_examples=50, deadline=None, derandomize=True)
@given(x=st.floats(-3, 3), h=st.sampled_from([1e-2, 1e-3, 1e-4]))
def test_numerical_derivative_of_a_cubic_has_error_h_squared(x, h):
    """For f = x**3 the central difference is exactly 3 x**2 + h**2."""
    from refimpl import numerical_derivative

    slope = numerical_derivative(lambda t: t**3, x, h)
    assert slope == pytest.approx(3 * x**2 + h**2, rel=1e-9, abs=1e-7)


def test_numerical_derivative_rejects_a_bad_step():
    from refimpl import numerical_derivative

    with pytest.raises(ValueError, match="positive"):
        numerical_derivative(np.sin, 0.0, h=0.0)


# ---------------------------------------------------------------------------------------
# gradient_errors (notebook 06): what grad_check measures, never judged
# ---------------------------------------------------------------------------------------


def test_gradient_errors_are_tiny_for_correct_gradients_and_equal_grad_checks(network):
    from refimpl import gradient_errors

    loss_fn, params, grads = network
    errors = gradient_errors(loss_fn, params, grads)
    assert list(errors) == list(params)
    assert all(isinstance(e, float) for e in errors.values())
    assert max(errors.values()) < 1e-7
    assert errors == grad_check(loss_fn, params, grads)  # one computation behind both


def test_gradient_errors_report_wrong_gradients_without_raising(network):
    from refimpl import gradient_errors

    loss_fn, params, grads = network
    before = {key: value.copy() for key, value in params.items()}
    wrong = {**grads, "W2": -grads["W2"]}
    errors = gradient_errors(loss_fn, params, wrong)
    assert errors["W2"] == pytest.approx(1.0)  # |-g - g| / (|g| + |g|) for every entry
    assert max(errors[key] for key in ("W1", "b1", "b2")) < 1e-7
    for key in params:
        np.testing.assert_array_equal(params[key], before[key])


def test_gradient_errors_use_the_step_h(network):
    from refimpl import gradient_errors

    loss_fn, params, grads = network
    coarse = gradient_errors(loss_fn, params, grads, h=1e-1)
    fine = gradient_errors(loss_fn, params, grads, h=1e-5)
    assert max(coarse.values()) > 100 * max(fine.values())


def test_gradient_errors_reject_grads_that_cannot_be_compared(network):
    from refimpl import gradient_errors

    loss_fn, params, grads = network
    with pytest.raises(ValueError, match="grads has no entry for 'b2'"):
        gradient_errors(loss_fn, params, {key: grads[key] for key in ("W1", "b1", "W2")})
    with pytest.raises(ValueError, match=r"grads\['W1'\] has shape \(3, 2\)"):
        gradient_errors(loss_fn, params, {**grads, "W1": grads["W1"].T})
    with pytest.raises(ValueError, match="keys that params lacks: 'W3'"):
        gradient_errors(loss_fn, params, {**grads, "W3": np.zeros(1)})
