"""The checks of notebook 06_backprop: gradient_errors and backward_tanh_231.

What the catalogue cannot test (see tests/check_tools.py): gradient checks written the
way learners write them, the tolerance, and exact zeros in the visible cases.
"""

from __future__ import annotations

import numpy as np
import pytest
from check_tools import failure, passes

import refimpl
from autograder import check


def gradient_errors(loss_fn, params, grads, h=1e-5):
    errors = {}
    for key in params:
        def f(x, key=key):
            return loss_fn({**params, key: x})

        numerical = refimpl.numerical_gradient(f, params[key].copy(), h)
        errors[key] = refimpl.relative_error(grads[key], numerical)
    return errors


def gradient_errors_in_place(loss_fn, params, grads, h=1e-5):
    errors = {}
    for key, x in params.items():
        numerical = np.zeros_like(x)
        for i in np.ndindex(x.shape):
            old = x[i]
            x[i] = old + h
            f_plus = loss_fn(params)
            x[i] = old - h
            f_minus = loss_fn(params)
            x[i] = old
            numerical[i] = (f_plus - f_minus) / (2 * h)
        a = grads[key]
        errors[key] = float(np.max(np.abs(a - numerical)
                                   / np.maximum(np.abs(a) + np.abs(numerical), 1e-8)))
    return errors


def test_gradient_errors_written_two_ways_pass(capsys):
    passes(check.gradient_errors, gradient_errors, capsys)
    passes(check.gradient_errors, gradient_errors_in_place, capsys)


def test_gradient_errors_tolerance_treats_tiny_errors_as_equal():
    """Correct gradients give rounding noise (about 1e-10) that differs between correct
    implementations; below atol = 1e-6 those all count as 'passes the gradient check'."""
    ex = check.exercise("gradient_errors")
    assert (ex.rtol, ex.atol) == (1e-3, 1e-6)

    def noisy(loss_fn, params, grads, h=1e-5):
        return {k: e * 37.0 if e < 1e-8 else e
                for k, e in refimpl.gradient_errors(loss_fn, params, grads, h).items()}

    assert check.evaluate("gradient_errors", noisy).passed


def test_gradient_errors_restored_by_arithmetic_is_told_to_save_the_old_value():
    def restored_by_arithmetic(loss_fn, params, grads, h=1e-5):
        errors = {}
        for key, x in params.items():
            numerical = np.zeros_like(x)
            for i in np.ndindex(x.shape):
                x[i] += h
                f_plus = loss_fn(params)
                x[i] -= 2 * h
                f_minus = loss_fn(params)
                x[i] += h  # rounding: not always the old float
                numerical[i] = (f_plus - f_minus) / (2 * h)
            errors[key] = refimpl.relative_error(grads[key], numerical)
        return errors

    result = failure(check.gradient_errors, restored_by_arithmetic)
    assert result.stage == "inplace"
    assert "tiny rounding errors" in result.message
    # its errors agree with a mistake's within tolerance, but that mistake's variant passes
    # this case: it cannot explain the failure and must not be named
    assert result.mistake is None


def test_gradient_errors_visible_cases_have_exact_zero_gradients():
    case = check.exercise("gradient_errors").cases()[0]
    grads = case.args[2]
    assert any((g == 0).any() for g in grads.values())


# ---------------------------------------------------------------------------------------
# backward_tanh_231: the transfer exercise
# ---------------------------------------------------------------------------------------


def _exp_tanh(Z):
    return (np.exp(Z) - np.exp(-Z)) / (np.exp(Z) + np.exp(-Z))


def _exp_sigmoid(Z):
    return 1.0 / (1.0 + np.exp(-Z))


def backward_tanh_231_unfused(X, y, params):
    """Every link of the chain rule on its own: BCE's dL/dy_hat, then sigma', then tanh' as
    1 / cosh(Z1)**2, tanh and sigmoid from exp: the same numbers, rounded differently."""
    n = X.shape[0]
    Z1 = X @ params["W1"] + params["b1"]
    A1 = _exp_tanh(Z1)
    Z2 = A1 @ params["W2"] + params["b2"]
    y_hat = _exp_sigmoid(Z2)
    dy_hat = (-(y / y_hat) + (1 - y) / (1 - y_hat)) / n
    dZ2 = dy_hat * y_hat * (1 - y_hat)
    dZ1 = (dZ2 @ params["W2"].T) / np.cosh(Z1) ** 2
    return {"W1": X.T @ dZ1, "b1": dZ1.sum(axis=0), "W2": A1.T @ dZ2, "b2": dZ2.sum(axis=0)}


def backward_tanh_231_per_student(X, y, params):
    """One student at a time, the gradients added up (a loop the exercise asks to avoid, but
    a right answer), with refimpl's tanh_prime."""
    grads = {key: np.zeros_like(value, dtype=float) for key, value in params.items()}
    for x, target in zip(X, y, strict=True):
        z1 = x @ params["W1"] + params["b1"]
        a1 = np.tanh(z1)
        y_hat = refimpl.sigmoid(a1 @ params["W2"] + params["b2"])
        dz2 = (y_hat - target) / len(X)  # (1,)
        dz1 = params["W2"] @ dz2 * refimpl.tanh_prime(z1)  # (3,)
        grads["W1"] += np.outer(x, dz1)
        grads["b1"] += dz1
        grads["W2"] += np.outer(a1, dz2)
        grads["b2"] += dz2
    return grads


def test_backward_tanh_231_written_other_ways_passes(capsys):
    passes(check.backward_tanh_231, backward_tanh_231_unfused, capsys, seeds=(None, 5, 11))
    passes(check.backward_tanh_231, backward_tanh_231_per_student, capsys, seeds=(None, 5, 11))


@pytest.mark.parametrize("h", [1e-3, 1e-4, 1e-5, 1e-6])
def test_backward_tanh_231_central_differences_do_not_pass(h):
    """The tolerance asks for the backward pass: a smooth network has no ReLU kink that would
    give central differences away, so it is the tolerance that does."""
    ex = check.exercise("backward_tanh_231")
    assert (ex.rtol, ex.atol) == (1e-9, 1e-12)

    def by_central_differences(X, y, params):
        def loss(p):
            return refimpl.mlp_loss(X, y, p, loss="bce", hidden="tanh")

        return refimpl.numerical_gradients(loss, params, h)

    assert not check.evaluate("backward_tanh_231", by_central_differences).passed
    assert not check.evaluate("backward_tanh_231", by_central_differences, hidden=True).passed


def test_backward_tanh_231_visible_cases_have_saturated_units():
    """tanh' near 0 somewhere: where 1 - A1**2 and 1 - Z1**2 differ most."""
    for case in check.exercise("backward_tanh_231").cases():
        X, _, params = case.args
        assert np.min(refimpl.tanh_prime(X @ params["W1"] + params["b1"])) < 0.01
