"""The checks of notebook 06_backprop: gradient_errors.

What the catalogue cannot test (see tests/check_tools.py): gradient checks written the
way learners write them, the tolerance, and exact zeros in the visible cases.
"""

from __future__ import annotations

import numpy as np
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
