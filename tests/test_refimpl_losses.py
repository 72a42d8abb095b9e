"""refimpl.losses: values, properties, stability and the target checks."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from refimpl import (
    BCE_EPS,
    LOSS_GRADS,
    LOSSES,
    bce,
    bce_from_logits,
    bce_from_logits_grad,
    bce_grad,
    mse,
    mse_grad,
    sigmoid,
    validate_targets,
)
from refimpl._validation import LOSS_NAMES

SETTINGS = settings(max_examples=50, deadline=None, derandomize=True)
# multiples of 1/8: two unequal entries differ by enough that their square cannot underflow
eighths = st.integers(-8000, 8000).map(lambda k: k / 8)
columns = arrays(np.float64, st.tuples(st.integers(1, 6), st.just(1)), elements=eighths)


def test_tables():
    assert set(LOSSES) == set(LOSS_GRADS) == {"mse", "bce"}
    assert tuple(LOSSES) == LOSS_NAMES  # the names the argument checks accept, in this order
    assert (LOSSES["mse"], LOSS_GRADS["mse"]) == (mse, mse_grad)
    assert (LOSSES["bce"], LOSS_GRADS["bce"]) == (bce, bce_grad)


def test_known_values():
    y_hat, y = np.array([[0.8], [0.4]]), np.array([[1.0], [0.0]])
    assert mse(y_hat, y) == pytest.approx((0.04 + 0.16) / 2, rel=1e-15)
    np.testing.assert_allclose(mse_grad(y_hat, y), [[-0.2], [0.4]], rtol=1e-15)
    assert bce(y_hat, y) == pytest.approx(-(np.log(0.8) + np.log(0.6)) / 2, rel=1e-15)
    np.testing.assert_allclose(bce_grad(y_hat, y), [[-1 / 0.8 / 2], [1 / 0.6 / 2]], rtol=1e-14)
    assert isinstance(mse(y_hat, y), float)
    assert isinstance(bce(y_hat, y), float)


@SETTINGS
@given(y_hat=columns, data=st.data())
def test_mse_is_nonnegative_and_zero_exactly_for_equal_arrays(y_hat, data):
    y = data.draw(arrays(np.float64, y_hat.shape, elements=eighths))
    assert mse(y_hat, y) >= 0.0
    assert mse(y_hat, y_hat.copy()) == 0.0
    assert (mse(y_hat, y) == 0.0) == np.array_equal(y_hat, y)


@pytest.mark.parametrize("label", [0.0, 1.0])
@pytest.mark.parametrize("prediction", [0.0, 1.0])
def test_bce_is_finite_at_zero_and_one(prediction, label):
    y_hat, y = np.array([[prediction]]), np.array([[label]])
    loss = bce(y_hat, y)
    assert np.isfinite(loss)
    assert np.all(np.isfinite(bce_grad(y_hat, y)))
    if prediction == label:
        assert loss < 1e-11
    else:
        # a confident wrong answer costs -log(BCE_EPS), about 27.6 (1 - BCE_EPS is not
        # exact in float64, hence the loose tolerance)
        assert loss == pytest.approx(-np.log(BCE_EPS), rel=1e-4)


@SETTINGS
@given(data=st.data(), n=st.integers(1, 6))
def test_bce_equals_bce_from_logits_on_moderate_logits(data, n):
    Z = data.draw(arrays(np.float64, (n, 1), elements=st.floats(-10, 10)))
    y = data.draw(arrays(np.float64, (n, 1), elements=st.floats(0, 1)))
    assert bce(sigmoid(Z), y) == pytest.approx(bce_from_logits(Z, y), rel=1e-9, abs=1e-12)
    np.testing.assert_allclose(bce_from_logits_grad(Z, y), (sigmoid(Z) - y) / n, rtol=1e-15)


def test_bce_from_logits_is_exact_where_clipping_is_not():
    Z = np.array([[-1e4], [1e4], [-800.0], [800.0]])
    y = np.array([[1.0], [0.0], [0.0], [1.0]])
    # wrong answers cost |z| each, right ones (almost) nothing: mean (1e4 + 1e4) / 4
    assert bce_from_logits(Z, y) == pytest.approx(5000.0, rel=1e-12)
    np.testing.assert_array_equal(bce_from_logits_grad(Z, y), [[-0.25], [0.25], [0.0], [0.0]])


def test_losses_average_over_every_entry():
    y_hat, y = np.zeros((4, 3)), np.ones((4, 3))
    assert mse(y_hat, y) == 1.0
    np.testing.assert_array_equal(mse_grad(y_hat, y), np.full((4, 3), -2.0 / 12))


@pytest.mark.parametrize("loss", [mse, bce, mse_grad, bce_grad, bce_from_logits])
def test_every_loss_rejects_a_flat_target(loss):
    y_hat, y = np.full((5, 1), 0.5), np.ones(5)
    with pytest.raises(ValueError, match=r"broadcast silently to \(5, 5\)"):
        loss(y_hat, y)


def test_validate_targets_explains_the_n_vs_n1_mix_up():
    with pytest.raises(ValueError, match="y has shape") as info:
        validate_targets(np.zeros((5, 1)), np.zeros(5))
    message = str(info.value)
    assert "y has shape (5,)" in message
    assert "(5, 5)" in message
    assert "y.reshape(-1, 1)" in message
    with pytest.raises(ValueError, match=r"y_hat.reshape\(-1, 1\)"):
        validate_targets(np.zeros(5), np.zeros((5, 1)))


def test_validate_targets_other_mismatches():
    with pytest.raises(ValueError, match=r"\(4, 1\) but y has shape \(5, 1\)"):
        validate_targets(np.zeros((4, 1)), np.zeros((5, 1)))
    with pytest.raises(ValueError, match="empty"):
        validate_targets(np.zeros((0, 1)), np.zeros((0, 1)))
    assert validate_targets([[0.5]], [[1.0]]) is None


def test_bce_rejects_logits_and_minus_one_labels():
    with pytest.raises(ValueError, match="bce_from_logits"):
        bce(np.array([[2.5]]), np.array([[1.0]]))
    with pytest.raises(ValueError, match=r"targets y in \[0, 1\]"):
        bce(np.array([[0.5]]), np.array([[-1.0]]))
    with pytest.raises(ValueError, match=r"targets y in \[0, 1\]"):
        bce_from_logits(np.array([[0.5]]), np.array([[2.0]]))


def test_losses_do_not_modify_inputs():
    y_hat, y = np.array([[0.0], [1.0]]), np.array([[1.0], [1.0]])
    for function in (mse, mse_grad, bce, bce_grad, bce_from_logits, bce_from_logits_grad):
        function(y_hat, y)
    np.testing.assert_array_equal(y_hat, [[0.0], [1.0]])
    np.testing.assert_array_equal(y, [[1.0], [1.0]])


def test_bce_refuses_nan_targets_by_name():
    y_hat = np.full((2, 1), 0.5)
    with pytest.raises(ValueError, match="y contains NaN"):
        bce(y_hat, np.array([[1.0], [np.nan]]))
