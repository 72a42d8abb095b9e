"""refimpl.activations: values, conventions, stability, lookup."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from refimpl import (
    ACTIVATIONS,
    DERIVATIVES,
    get_activation,
    identity,
    identity_prime,
    relu,
    relu_prime,
    sigmoid,
    sigmoid_prime,
    tanh,
    tanh_prime,
)
from refimpl.activations import sigmoid_into

SETTINGS = settings(max_examples=50, deadline=None, derandomize=True)
ALL_FUNCTIONS = [*ACTIVATIONS.values(), *DERIVATIVES.values()]
finite_arrays = arrays(
    np.float64,
    st.tuples(st.integers(1, 4), st.integers(1, 4)),
    elements=st.floats(-1e4, 1e4, allow_nan=False),
)


def test_tables_pair_each_activation_with_its_derivative():
    assert set(ACTIVATIONS) == set(DERIVATIVES) == {"relu", "sigmoid", "tanh", "identity"}
    pairs = {"relu": (relu, relu_prime), "sigmoid": (sigmoid, sigmoid_prime)}
    pairs |= {"tanh": (tanh, tanh_prime), "identity": (identity, identity_prime)}
    for name, (f, f_prime) in pairs.items():
        assert ACTIVATIONS[name] is f
        assert DERIVATIVES[name] is f_prime


@pytest.mark.parametrize("f", ALL_FUNCTIONS, ids=lambda f: f.__name__)
@pytest.mark.parametrize("Z", [0.5, 3, [1, -2], [[1.0], [-2.0]], np.arange(6).reshape(2, 3)])
def test_float64_array_of_the_input_shape(f, Z):
    out = f(Z)
    assert isinstance(out, np.ndarray)
    assert out.dtype == np.float64
    assert out.shape == np.shape(Z)


def test_known_values():
    Z = np.array([-2.0, 0.0, 3.0])
    np.testing.assert_array_equal(relu(Z), [0.0, 0.0, 3.0])
    np.testing.assert_array_equal(relu_prime(Z), [0.0, 0.0, 1.0])
    np.testing.assert_allclose(sigmoid(Z), 1 / (1 + np.exp(-Z)), rtol=1e-15)
    np.testing.assert_allclose(sigmoid_prime(0.0), 0.25, rtol=1e-15)
    np.testing.assert_allclose(tanh(Z), np.tanh(Z), rtol=1e-15)
    np.testing.assert_allclose(tanh_prime(Z), 1 - np.tanh(Z) ** 2, rtol=1e-15)
    np.testing.assert_array_equal(identity(Z), Z)
    np.testing.assert_array_equal(identity_prime(Z), np.ones(3))


def test_relu_prime_at_zero_is_zero():
    assert relu_prime(0.0) == 0.0
    assert relu_prime(-0.0) == 0.0
    np.testing.assert_array_equal(relu_prime([-1e-300, 0.0, 1e-300]), [0.0, 0.0, 1.0])


@SETTINGS
@given(Z=finite_arrays)
def test_sigmoid_is_symmetric(Z):
    np.testing.assert_allclose(sigmoid(-Z), 1.0 - sigmoid(Z), rtol=0, atol=1e-15)


@SETTINGS
@given(Z=finite_arrays)
def test_sigmoid_in_unit_interval_without_warnings(Z):
    # pytest turns any numpy RuntimeWarning (overflow in exp) into an error
    S = sigmoid(Z)
    assert np.all((S >= 0.0) & (S <= 1.0))
    assert np.all(np.isfinite(sigmoid_prime(Z)))


def test_sigmoid_is_stable_at_the_extremes():
    Z = np.array([-1e4, -800.0, -710.0, -40.0, 40.0, 710.0, 800.0, 1e4])
    S = sigmoid(Z)
    np.testing.assert_array_equal(S[[0, 1, -2, -1]], [0.0, 0.0, 1.0, 1.0])
    # small probabilities keep their relative precision (no 1 - (1 - p))
    np.testing.assert_allclose(sigmoid(-40.0), np.exp(-40.0) / (1 + np.exp(-40.0)), rtol=1e-14)
    assert np.all(sigmoid_prime(Z) >= 0.0)


def test_tanh_and_derivatives_are_stable_at_the_extremes():
    Z = np.array([-1e4, 1e4])
    np.testing.assert_array_equal(tanh(Z), [-1.0, 1.0])
    np.testing.assert_array_equal(tanh_prime(Z), [0.0, 0.0])


def test_identity_returns_a_new_array():
    Z = np.array([1.0, 2.0])
    out = identity(Z)
    out[0] = 99.0
    assert Z[0] == 1.0


@pytest.mark.parametrize("f", ALL_FUNCTIONS, ids=lambda f: f.__name__)
def test_input_is_not_modified(f):
    Z = np.array([[-1.0, 0.0, 2.0]])
    f(Z)
    np.testing.assert_array_equal(Z, [[-1.0, 0.0, 2.0]])


def test_get_activation_by_name_and_by_function():
    assert get_activation("tanh") == (tanh, tanh_prime)
    assert get_activation(sigmoid) == (sigmoid, sigmoid_prime)

    def softsign(Z):
        return Z / (1 + np.abs(Z))

    assert get_activation(softsign) == (softsign, None)


@pytest.mark.parametrize("bad", ["Relu", "softmax", ""])
def test_get_activation_names_the_valid_choices(bad):
    with pytest.raises(ValueError, match="Unknown activation") as info:
        get_activation(bad)
    for name in ACTIVATIONS:
        assert repr(name) in str(info.value)


def test_get_activation_rejects_other_things():
    with pytest.raises(ValueError, match=r"a name .* or a function"):
        get_activation(3)


@SETTINGS
@given(Z=finite_arrays)
def test_sigmoid_into_gives_the_numbers_of_sigmoid_bit_for_bit(Z):
    """refimpl.fast and refimpl.surface compute the sigmoid in place: the same numbers."""
    expected = sigmoid(Z)
    out, scratch = np.empty_like(Z), np.empty_like(Z)
    assert sigmoid_into(Z, out, scratch) is out
    assert out.tobytes() == expected.tobytes()
    in_place = Z.copy()
    sigmoid_into(in_place, in_place, scratch)  # out may be Z itself
    assert in_place.tobytes() == expected.tobytes()


def test_sigmoid_into_at_the_extremes_and_signed_zeros():
    Z = np.array([-1e300, -745.0, -1.0, -0.0, 0.0, 1.0, 745.0, 1e300, np.inf, -np.inf])
    out = sigmoid_into(Z, np.empty_like(Z), np.empty_like(Z))
    assert out.tobytes() == sigmoid(Z).tobytes()
