"""Whatever the learner's function does, the check answers with a clear message, never a crash."""

from __future__ import annotations

import sys
import traceback
import warnings
from pathlib import Path

import numpy as np
import pytest
from check_tools import failure

import autograder
import refimpl
from autograder import CheckFailed, CheckResult, check

# --- what the learner returns -------------------------------------------------------------


def test_none_return_asks_about_a_missing_return():
    result = failure(check.relu, lambda Z: None)
    assert result.stage == "type"
    assert "returned None: did you forget `return`?" in result.message


def test_list_return():
    result = failure(check.relu, lambda Z: np.maximum(Z, 0).tolist())
    assert result.stage == "type"
    assert "list" in result.message
    assert "np.array(...)" in result.message


def test_string_and_dict_and_generator_returns():
    assert "a str ('relu')" in failure(check.relu, lambda Z: "relu").message
    assert "a dict" in failure(check.relu, lambda Z: {"A": Z}).message
    assert "a generator" in failure(check.relu, lambda Z: (z for z in Z)).message


def test_tuple_instead_of_array_suggests_returning_one_value():
    result = failure(check.relu, lambda Z: (np.maximum(Z, 0), Z))
    assert "did you return several values" in result.message


def test_wrong_shape_says_expected_and_got():
    result = failure(check.relu, lambda Z: np.maximum(Z, 0).reshape(-1)[:-1] if np.ndim(Z)
                     else np.zeros(2))
    assert result.stage == "shape"
    assert "expected ()" in result.message or "expected (5,)" in result.message


def test_column_versus_flat_array_names_the_broadcasting_trap():
    def forward_flat(X, params):
        y_hat, cache = refimpl.forward_231(X, params)
        return y_hat.ravel(), cache

    result = failure(check.forward_231, forward_flat)
    assert result.stage == "shape"
    assert "y_hat has shape (4,), expected (4, 1)" in result.message
    assert "(n, n)" in result.message
    assert "reshape(-1, 1)" in result.message


def test_nan_output_gives_the_index_and_a_likely_cause():
    def sigmoid_nan(Z):
        Z = np.asarray(Z, dtype=float)
        return np.exp(Z) / (np.exp(Z) + 1)  # inf / inf = nan for z = 1000

    result = failure(check.sigmoid, sigmoid_nan)
    assert result.stage == "finite"
    assert "contains nan at [3]" in result.message
    assert "overflow" in result.message
    assert "exp(-|z|)" in result.message


def test_int_dtype_explains_where_integers_come_from():
    result = failure(check.relu, lambda Z: np.maximum(Z, 0).astype(int))
    assert result.stage == "dtype"
    assert "an integer (int64), expected a floating-point number" in result.message
    assert ".astype(int)" in result.message
    arrays = check.evaluate("relu", lambda Z: np.maximum(Z, 0).astype(int) if np.ndim(Z) else
                            np.float64(0.0) if Z < 0 else np.float64(Z))
    assert "integers (dtype int64), expected floating-point numbers" in arrays.message
    assert "np.maximum(Z, 0.0)" in arrays.message


def test_builtin_max_is_named_as_a_possible_cause_not_a_certain_one():
    """relu as max(0, Z), the commonest beginner answer: the int 0 on a 0-d input."""
    result = failure(check.relu, lambda Z: max(0, Z))
    assert result.stage == "dtype"
    assert "Your function returned an integer (int)" in result.message
    assert "can come, for example, from Python's max(0, z)" in result.message
    assert result.mistake == "relu-builtin-max"  # catalogued: the built-in is not elementwise
    assert "not entries" in result.message


def test_bool_complex_and_object_dtypes():
    assert "returned a bool (bool)" in failure(check.relu, lambda Z: Z > 0).message
    assert "booleans" in failure(check.relu, lambda Z: np.atleast_1d(Z) > 0).message
    assert "complex" in failure(check.relu, lambda Z: np.maximum(Z, 0) + 0j).message
    assert "object" in failure(check.relu, lambda Z: np.array(np.maximum(Z, 0),
                                                              dtype=object)).message


def test_float32_results_get_a_precision_note():
    result = failure(check.sigmoid, lambda Z: (1 / (1 + np.exp(-np.asarray(Z, np.float32)))))
    assert result.stage == "values"
    assert "float64" in result.message


def test_huge_values_are_compared_without_crashing():
    result = failure(check.relu, lambda Z: np.maximum(Z, 0) * 1e300 + 1e300)
    assert result.stage in ("values", "finite")


def _refuse_shape_mix(y_hat, y):
    if np.shape(y_hat) != np.shape(y):
        raise ValueError(f"y_hat has shape {np.shape(y_hat)} but y has shape {np.shape(y)}")


def test_scalar_exercise_accepts_python_numpy_and_0d_results(capsys):
    def as_float(y_hat, y):
        _refuse_shape_mix(y_hat, y)
        return float(np.mean((y_hat - y) ** 2))

    def as_numpy_scalar(y_hat, y):
        _refuse_shape_mix(y_hat, y)
        return np.mean((y_hat - y) ** 2)

    def as_0d_array(y_hat, y):
        _refuse_shape_mix(y_hat, y)
        return np.asarray(np.mean((y_hat - y) ** 2))

    for mse in (as_float, as_numpy_scalar, as_0d_array):
        check.mse(mse)
    assert capsys.readouterr().out.count("✔ mse") == 3


@pytest.mark.parametrize("hidden", [False, True])
def test_a_loss_that_does_not_refuse_a_shape_mix_fails_with_the_reason(hidden):
    result = check.evaluate("mse", lambda y_hat, y: float(np.mean((y_hat - y) ** 2)),
                            hidden=hidden)
    assert result.stage == "raises"
    assert "instead of raising ValueError" in result.message
    assert "broadcasts silently" in result.message
    assert result.mistake == "mse-no-shape-check"


def test_scalar_exercise_with_a_1_element_array_is_told_to_reduce_fully():
    result = failure(check.mse, lambda y_hat, y: np.mean((y_hat - y) ** 2, axis=0))
    assert result.stage == "shape"
    assert "single number" in result.message
    assert "without axis=" in result.message


def test_multi_output_container_messages():
    assert "expected a tuple (dA_prev, dW, db)" in failure(
        check.dense_backward, lambda dZ, A, W: dZ @ W.T).message
    assert "expected 3 items" in failure(
        check.dense_backward, lambda dZ, A, W: (dZ @ W.T, A.T @ dZ)).message


def test_multi_output_list_is_accepted(capsys):
    check.dense_backward(lambda dZ, A, W: list(refimpl.dense_backward(dZ, A, W)))
    assert "✔ dense_backward" in capsys.readouterr().out


def test_missing_cache_key_is_named():
    def forward_no_z2(X, params):
        y_hat, cache = refimpl.forward_231(X, params)
        del cache["Z2"]
        return y_hat, cache

    result = failure(check.forward_231, forward_no_z2)
    assert result.stage == "type"
    assert "cache has no key 'Z2'" in result.message
    assert "backward pass" in result.message


def test_grads_with_d_prefixed_keys_get_the_naming_rule():
    def backward_dkeys(X, y, params, cache):
        return {f"d{k}": v for k, v in refimpl.backward_231(X, y, params, cache).items()}

    result = failure(check.backward_231, backward_dkeys)
    assert "grads['W1'], not grads['dW1']" in result.message


def test_multi_output_says_which_parts_are_right_and_where_the_error_is():
    def backward_no_relu_prime(X, y, params, cache, loss="mse"):
        grads = refimpl.backward_231(X, y, params, cache, loss=loss)
        dZ2 = 2 * (cache["A2"] - y) * refimpl.sigmoid_prime(cache["Z2"]) / X.shape[0]
        dZ1 = dZ2 @ params["W2"].T  # relu'(Z1) forgotten
        return grads | {"W1": X.T @ dZ1, "b1": dZ1.sum(axis=0)}

    result = failure(check.backward_231, backward_no_relu_prime)
    assert "dW2 and db2 are correct; dW1 and db1 differ" in result.message
    assert "the hidden layer" in result.message
    assert result.mistake == "missing-relu-prime"


# --- exceptions ---------------------------------------------------------------------------


def _helper_that_fails(Z):
    raise ValueError("deliberate failure deep in a helper")


def _middle(Z):
    return _helper_that_fails(Z) + 1


def test_exception_shows_the_learners_frames_only():
    def relu_broken(Z):
        return _middle(Z)

    result = failure(check.relu, relu_broken)
    assert result.stage == "exception"
    message = result.message
    assert "ValueError: deliberate failure deep in a helper" in message
    assert "Traceback (your code only" in message
    for name in ("relu_broken", "_middle", "_helper_that_fails", __file__):
        assert name in message
    package_dir = str(Path(autograder.__file__).parent)
    assert package_dir not in message
    assert "engine.py" not in message


def test_exception_inside_numpy_hides_numpy_frames():
    result = failure(check.dense_forward, lambda X, W, b: np.dot(X, W.T) + b)
    assert "not aligned" in result.message
    assert "numpy" not in result.message.split("Traceback", 1)[-1].split("ValueError")[0]
    assert result.mistake == "w-transposed"


def test_not_implemented_stub():
    def relu(Z):
        # YOUR CODE HERE
        raise NotImplementedError()

    result = failure(check.relu, relu)
    assert result.stage == "not-implemented"
    assert ("not implemented yet: replace the `raise NotImplementedError()` line with your code"
            in result.message)
    assert result.mistake is None


def test_not_implemented_in_a_called_helper_names_it():
    def sigmoid_prime_stub(Z):
        raise NotImplementedError()

    def sigmoid(Z):
        return sigmoid_prime_stub(Z)

    assert "`sigmoid_prime_stub`" in failure(check.sigmoid, sigmoid).message


def test_system_exit_is_reported_not_obeyed():
    result = failure(check.relu, lambda Z: sys.exit(3))
    assert result.stage == "exception"
    assert "SystemExit" in result.message


def test_keyboard_interrupt_propagates():
    def relu(Z):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        check.relu(relu)


def test_recursion_is_reported_with_a_short_traceback():
    def relu(Z):
        return relu(Z)

    result = failure(check.relu, relu)
    assert "RecursionError" in result.message
    assert "calls itself" in result.message
    assert result.message.count("in relu") <= 10


def test_wrong_signature_and_not_callable():
    result = failure(check.relu, lambda Z, alpha: Z)
    assert result.stage == "signature"
    assert "(Z)" in result.message
    assert failure(check.relu, None).stage == "callable"
    message = failure(check.relu, np.zeros(3)).message
    assert "check.relu(relu), not" in message


def test_options_are_passed_only_when_the_learner_accepts_them(capsys):
    def backward_mse_only(X, y, params, cache):
        return refimpl.backward_231(X, y, params, cache, loss="mse")

    def backward_any(X, y, params, cache, **kwargs):
        return refimpl.backward_231(X, y, params, cache, **kwargs)

    check.backward_231(backward_mse_only, loss="mse")
    check.backward_231(backward_any, loss="bce")
    check.mlp_backward(refimpl.mlp_backward, loss="mse", hidden_activation="tanh",
                       output="identity")
    out = capsys.readouterr().out
    assert out.count("✔") == 3
    assert "hidden='tanh'" in out


# --- inputs changed in place --------------------------------------------------------------


def test_modifying_the_input_in_place_is_named():
    def relu(Z):
        Z[Z < 0] = 0
        return Z

    result = failure(check.relu, relu)
    assert result.stage == "inplace"
    assert "relu changed its argument Z in place" in result.message
    assert "Z[Z < 0] = 0 writes into the caller's array" in result.message
    assert result.mistake == "relu-in-place"


def test_modifying_a_params_entry_names_the_key():
    def backward(X, y, params, cache, loss="mse"):
        params["W1"] -= 0.1
        return refimpl.backward_231(X, y, params, cache, loss=loss)

    result = failure(check.backward_231, backward)
    assert "changed its argument params['W1'] in place" in result.message


def test_numerical_gradient_restored_by_arithmetic_is_told_to_save_the_old_value():
    def numerical_gradient(f, x, h=1e-5):
        grad = np.zeros_like(x)
        for i in np.ndindex(x.shape):
            x[i] += h
            f_plus = f(x)
            x[i] -= 2 * h
            f_minus = f(x)
            x[i] += h  # rounding: not always bit-for-bit the old value
            grad[i] = (f_plus - f_minus) / (2 * h)
        return grad

    result = failure(check.numerical_gradient, numerical_gradient)
    assert result.stage == "inplace"
    assert "tiny rounding errors" in result.message
    assert "x[i] = old" in result.message


def test_numerical_gradient_on_copies_passes(capsys):
    def numerical_gradient(f, x, h=1e-5):
        grad = np.zeros_like(x)
        for i in np.ndindex(x.shape):
            step = np.zeros_like(x)
            step[i] = h
            grad[i] = (f(x + step) - f(x - step)) / (2 * h)
        return grad

    numerical_gradient_check = check.numerical_gradient
    numerical_gradient_check(numerical_gradient)
    numerical_gradient_check(numerical_gradient, hidden=True)
    assert capsys.readouterr().out.count("✔") == 2


# --- warnings -----------------------------------------------------------------------------


@pytest.mark.parametrize("hidden", [False, True], ids=["visible", "hidden"])
def test_naive_sigmoid_overflow_fails_with_a_named_mistake_and_leaks_nothing(hidden, capsys):
    def sigmoid(Z):
        return 1 / (1 + np.exp(-Z))  # overflows for z = -1000, but the value 0.0 is right

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a leaked warning would raise here
        result = failure(check.sigmoid, sigmoid, hidden=hidden)
    assert result.stage == "fp-error"
    assert result.mistake == "sigmoid-overflow"
    assert "The values are right, but NumPy reported an overflow" in result.message
    assert "exp(-|z|)" in result.message
    assert capsys.readouterr().err == ""


def test_sigmoid_with_np_where_over_both_branches_still_overflows():
    def sigmoid(Z):
        Z = np.asarray(Z, dtype=float)
        return np.where(Z >= 0, 1 / (1 + np.exp(-Z)), np.exp(Z) / (1 + np.exp(Z)))

    result = failure(check.sigmoid, sigmoid)
    assert (result.stage, result.mistake) == ("fp-error", "sigmoid-overflow")
    assert "np.where computes BOTH of its branches" in result.message


def test_stable_sigmoids_pass_without_warnings(capsys):
    def sigmoid_abs(Z):
        Z = np.asarray(Z, dtype=float)
        E = np.exp(-np.abs(Z))
        return np.where(Z >= 0, 1 / (1 + E), E / (1 + E))

    def sigmoid_masked(Z):
        Z = np.asarray(Z, dtype=float)
        out = np.empty_like(Z)
        positive = Z >= 0
        out[positive] = 1 / (1 + np.exp(-Z[positive]))
        out[~positive] = np.exp(Z[~positive]) / (1 + np.exp(Z[~positive]))
        return out

    for sigmoid in (sigmoid_abs, sigmoid_masked):
        check.sigmoid(sigmoid)
        check.sigmoid(sigmoid, hidden=True)
    assert capsys.readouterr().out.count("✔ sigmoid") == 4


def test_a_sigmoid_that_overflows_into_nan_fails_on_the_value():
    """exp(z) / (1 + exp(z)) gives inf / inf = nan at z = 1000: the finite stage names it."""
    result = failure(check.sigmoid, lambda Z: np.exp(Z) / (1 + np.exp(Z)))
    assert result.stage == "finite"
    assert "overflow" in result.message


def test_explicit_runtime_warning_does_not_leak(capsys):
    def relu(Z):
        warnings.warn("something odd", RuntimeWarning, stacklevel=1)
        return np.maximum(Z, 0)

    check.relu(relu)
    captured = capsys.readouterr()
    assert "✔ relu" in captured.out
    assert captured.err == ""


def test_bce_with_a_common_clipping_epsilon_passes(capsys):
    def bce(y_hat, y):
        _refuse_shape_mix(y_hat, y)
        p = np.clip(y_hat, 1e-7, 1 - 1e-7)
        return -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))

    check.bce(bce)
    check.bce(bce, hidden=True)
    assert capsys.readouterr().out.count("✔ bce") == 2


# --- the exception a notebook shows -------------------------------------------------------


def test_check_failed_has_a_short_traceback():
    with pytest.raises(CheckFailed) as info:
        check.relu(lambda Z: -Z)
    exc = info.value
    assert exc.__cause__ is None
    assert exc.__suppress_context__
    files = [frame.filename for frame in traceback.extract_tb(exc.__traceback__)]
    assert not any(f.endswith("engine.py") for f in files)
    for tb in traceback.walk_tb(exc.__traceback__):
        frame = tb[0]
        if frame.f_code.co_filename.endswith("check.py"):
            assert frame.f_locals.get("__tracebackhide__") is True


def test_success_line(capsys):
    check.relu(refimpl.relu)
    check.relu(refimpl.relu, hidden=True)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("✔ relu: 5 visible cases passed (scalar")
    assert lines[1] == "✔ relu: 20 hidden cases passed"


def test_evaluate_returns_the_result_without_printing(capsys):
    result = check.evaluate("relu", lambda Z: np.abs(Z))
    assert isinstance(result, CheckResult)
    assert (result.exercise, result.passed, result.mistake) == ("relu", False, "relu-abs")
    assert result.n_cases == 5
    assert result.stage == "values"
    assert capsys.readouterr().out == ""
    with pytest.raises(ValueError, match="unknown exercise"):
        check.evaluate("nope", abs)
