"""refimpl.generalization: L2 regularisation, early stopping, and fit_classifier.

The last section pins the overfitting figures notebook 10 quotes (the digits, seeds 0..4).
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from refimpl_tools import assert_same_params, copy_params

from refimpl import (
    FitHistory,
    classifier_forward,
    classifier_gradients,
    cross_entropy,
    early_stopping,
    fit_classifier,
    grad_check,
    init_mlp,
    l2_regularize,
    load_digits_split,
    one_hot,
    train_classifier,
)


def small_problem(seed=0, n=40, sizes=(6, 8, 4)):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, sizes[0]))
    Y = one_hot(rng.integers(0, sizes[-1], n), sizes[-1])
    return X, Y, init_mlp(list(sizes), seed=seed)


# --- l2_regularize ------------------------------------------------------------------------


def test_l2_regularize_by_hand():
    """sum of W**2 = 1 + 4 + 9 = 14 over W1 and W2 (b1 is not penalised): 0.5 + 0.1 / 2 * 14."""
    params = {"W1": np.array([[1.0, -2.0]]), "b1": np.array([5.0, 5.0]), "W2": np.array([[3.0]])}
    grads = {"W1": np.array([[0.1, 0.2]]), "b1": np.array([0.3, 0.4]), "W2": np.array([[0.5]])}
    total, new = l2_regularize(0.5, grads, params, lam=0.1)
    assert total == pytest.approx(0.5 + 0.7, rel=1e-15)
    np.testing.assert_allclose(new["W1"], [[0.2, 0.0]], atol=1e-16)
    np.testing.assert_allclose(new["W2"], [[0.8]], rtol=1e-15)
    np.testing.assert_array_equal(new["b1"], grads["b1"])
    assert new["b1"] is not grads["b1"]
    assert list(new) == list(grads)


@pytest.mark.parametrize("lam", [0.0, 1e-3, 0.5])
def test_l2_gradient_passes_a_gradient_check(lam):
    """The lam W term is the derivative of (lam / 2) sum W**2: checked against central
    differences of the regularised cross-entropy of a 6-8-4 classifier."""
    X, Y, params = small_problem(seed=1)
    params = {k: v + 0.1 * np.random.default_rng(2).normal(size=v.shape) for k, v in params.items()}

    def total_loss(p):
        return l2_regularize(cross_entropy(classifier_forward(X, p)[0], Y),
                             {k: np.zeros_like(v) for k, v in p.items()}, p, lam)[0]

    loss, grads = classifier_gradients(X, Y, params)
    total, new_grads = l2_regularize(loss, grads, params, lam)
    assert total == pytest.approx(total_loss(params), rel=1e-14)
    grad_check(total_loss, params, new_grads)


def test_l2_regularize_with_zero_lam_changes_nothing_and_is_pure():
    X, Y, params = small_problem()
    loss, grads = classifier_gradients(X, Y, params)
    saved_params, saved_grads = copy_params(params), copy_params(grads)
    total, new = l2_regularize(loss, grads, params, 0.0)
    assert total == loss
    assert_same_params(new, grads)
    assert all(new[k] is not grads[k] for k in grads)
    l2_regularize(loss, grads, params, 0.3)
    assert_same_params(params, saved_params)
    assert_same_params(grads, saved_grads)


@pytest.mark.parametrize("lam", [-0.1, np.nan, np.inf, "0.1", None, True])
def test_l2_regularize_rejects_a_bad_lam(lam):
    params = {"W1": np.ones((2, 2)), "b1": np.ones(2)}
    with pytest.raises(ValueError, match="lam must be a finite number >= 0"):
        l2_regularize(1.0, params, params, lam)


def test_l2_regularize_checks_keys_and_shapes():
    params = {"W1": np.ones((2, 2)), "b1": np.ones(2)}
    with pytest.raises(ValueError, match="grads must have the same keys as params"):
        l2_regularize(1.0, {"W1": np.ones((2, 2))}, params, 0.1)
    with pytest.raises(ValueError, match=r"grads\['W1'\] has shape \(2, 3\)"):
        l2_regularize(1.0, {"W1": np.ones((2, 3)), "b1": np.ones(2)}, params, 0.1)


# --- early_stopping --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("losses", "patience", "expected"),
    [
        ([1.0, 0.8, 0.6, 0.7, 0.9, 1.0, 1.1], 2, (2, 4)),  # a clear minimum
        ([1.0, 0.8, 0.6, 0.7, 0.9, 1.0, 1.1], 1, (2, 3)),  # patience 1: stop at the first rise
        ([1.0, 0.8, 0.8, 0.8, 0.8], 2, (1, 3)),  # a tie is not an improvement
        ([0.5, 0.5, 0.4, 0.5, 0.5, 0.5], 3, (2, 5)),  # ...but a later, lower one is
        ([1.0, 1.1, 1.2, 1.3], 2, (0, 2)),  # never improves: epoch 0 is the best
        ([1.0, 1.1, 1.2, 1.3], 10, (0, 3)),  # patience longer than the run
        ([1.0, 1.2, 1.1, 1.3, 0.2], 4, (4, 4)),  # improves at the very end, within patience
        ([1.0, 1.2, 1.1, 1.3, 0.2], 3, (0, 3)),  # ...too late for patience 3
        ([3.0], 1, (0, 0)),  # a single epoch
        ([np.inf, 2.0, np.nan, 1.0, 1.5], 2, (3, 4)),  # inf and nan never beat a number
        ([np.nan, np.nan, 5.0], 5, (2, 2)),
    ],
)
def test_early_stopping_on_hand_made_sequences(losses, patience, expected):
    assert early_stopping(losses, patience) == expected
    assert all(type(x) is int for x in early_stopping(np.array(losses), patience))


def stop_by_loop(losses, patience):
    """The rule of the docstring, written as the obvious loop."""
    best_epoch, best = 0, losses[0]
    for epoch in range(1, len(losses)):
        if losses[epoch] < best:
            best_epoch, best = epoch, losses[epoch]
        elif epoch - best_epoch >= patience:
            return best_epoch, epoch
    return best_epoch, len(losses) - 1


@given(st.lists(st.integers(0, 6), min_size=1, max_size=40), st.integers(1, 8))
def test_early_stopping_agrees_with_the_loop(values, patience):
    losses = [float(v) for v in values]  # small integers: plenty of ties
    best, stop = early_stopping(losses, patience)
    assert (best, stop) == stop_by_loop(losses, patience)
    assert losses[best] == min(losses[: stop + 1])
    assert stop == best + patience or stop == len(losses) - 1


@pytest.mark.parametrize("patience", [0, -1, 1.5, True, None, "3"])
def test_early_stopping_needs_a_whole_patience(patience):
    with pytest.raises(ValueError, match="patience must be a whole number >= 1"):
        early_stopping([1.0, 0.5], patience)


@pytest.mark.parametrize("losses", [[], np.ones((2, 2)), 3.0])
def test_early_stopping_needs_losses(losses):
    with pytest.raises(ValueError, match="val_losses must be a 1-D sequence"):
        early_stopping(losses, 2)


def test_early_stopping_leaves_its_input_alone():
    losses = np.array([1.0, np.nan, 0.5])
    early_stopping(losses, 1)
    assert np.isnan(losses[1])


# --- fit_classifier -----------------------------------------------------------------------


def test_fit_classifier_records_every_epoch():
    X, Y, params = small_problem()
    history = fit_classifier(X, Y, params, epochs=7, batch_size=8)
    assert isinstance(history, FitHistory)
    assert history.train_loss.shape == history.train_accuracy.shape == (7,)
    assert history.val_loss.shape == history.val_accuracy.shape == (0,)
    assert history.best_epoch is None
    assert history.stopped_epoch is None
    Z, _ = classifier_forward(X, history.params)
    assert history.train_loss[-1] == pytest.approx(cross_entropy(Z, Y), rel=1e-14)
    assert history.train_accuracy[-1] == np.mean(Z.argmax(axis=1) == Y.argmax(axis=1))


def test_fit_classifier_with_sgd_is_train_classifier():
    """Same batches (one generator, seeded once), same steps W <- W - lr dW."""
    X, Y, params = small_problem(seed=3)
    history = fit_classifier(X, Y, params, lr=0.2, epochs=5, batch_size=7, seed=4)
    trained, _ = train_classifier(X, Y, params, lr=0.2, epochs=5, batch_size=7, seed=4)
    assert_same_params(history.params, trained)


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam"])
def test_fit_classifier_is_reproducible_and_pure(optimizer):
    X, Y, params = small_problem(seed=5)
    saved = [X.copy(), Y.copy(), copy_params(params)]
    kwargs = {"optimizer": optimizer, "lr": 0.01, "epochs": 4, "batch_size": 8, "lam": 1e-2,
              "X_val": X[:10], "Y_val": Y[:10]}
    a = fit_classifier(X, Y, params, seed=1, **kwargs)
    b = fit_classifier(X, Y, params, seed=1, **kwargs)
    c = fit_classifier(X, Y, params, seed=2, **kwargs)
    assert_same_params(a.params, b.params)
    np.testing.assert_array_equal(a.val_loss, b.val_loss)
    assert not np.array_equal(a.params["W1"], c.params["W1"])
    np.testing.assert_array_equal(X, saved[0])
    np.testing.assert_array_equal(Y, saved[1])
    assert_same_params(params, saved[2])
    assert all(a.params[k] is not params[k] for k in params)


def test_fit_classifier_with_zero_epochs_returns_a_copy_of_the_start():
    X, Y, params = small_problem()
    history = fit_classifier(X, Y, params, epochs=0, X_val=X, Y_val=Y, patience=3)
    assert_same_params(history.params, params)
    assert history.params["W1"] is not params["W1"]
    assert history.train_loss.shape == (0,)
    assert history.best_epoch is None


def test_l2_shrinks_the_weights():
    X, Y, params = small_problem(seed=6)
    norms = []
    for lam in (0.0, 0.01, 0.1):
        trained = fit_classifier(X, Y, params, lr=0.1, epochs=60, batch_size=8, lam=lam).params
        norms.append(sum(np.sum(trained[k] ** 2) for k in ("W1", "W2")))
    assert norms[0] > norms[1] > norms[2]


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"optimizer": "rmsprop"}, ValueError, "Unknown optimizer 'rmsprop'"),
        ({"lr": -1.0}, ValueError, "learning rate"),
        ({"epochs": -1}, ValueError, "epochs must be a whole number >= 0"),
        ({"batch_size": 0}, ValueError, "batch_size must be a whole number >= 1"),
        ({"lam": -0.1}, ValueError, "lam must be a finite number >= 0"),
        ({"beta1": 1.0}, ValueError, "beta1 must be"),
        ({"patience": 3}, ValueError, "needs validation data"),
        ({"X_val": np.ones((3, 6))}, ValueError, "Pass both X_val and Y_val, or neither"),
        ({"X_val": np.ones((3, 6)), "Y_val": np.ones((3, 5))}, ValueError,
         r"Y_val must be one-hot with shape \(n, k\) = \(3, 4\)"),
        ({"X_val": np.ones((3, 5)), "Y_val": np.ones((3, 4))}, ValueError, r"shape \(n, 6\)"),
        ({"X_val": np.ones((3, 6)), "Y_val": np.ones((3, 4)), "patience": 0}, ValueError,
         "patience must be a whole number >= 1"),
    ],
)
def test_fit_classifier_checks_its_arguments(kwargs, error, match):
    X, Y, params = small_problem()
    with pytest.raises(error, match=match):
        fit_classifier(X, Y, params, **kwargs)


def test_fit_classifier_checks_the_training_data():
    X, Y, params = small_problem()
    with pytest.raises(ValueError, match=r"Y must be one-hot with shape \(n, k\) = \(40, 4\)"):
        fit_classifier(X, Y.argmax(axis=1), params)
    with pytest.raises(ValueError, match=r"params must hold W1\.\.WL"):
        fit_classifier(X, Y, {"W1": params["W1"]})


# --- the overfitting demonstration of notebook 10 --------------------------------------------

#: The digits set-up that overfits: 150 training images, the next 450 of the training split
#: for validation, a 64-128-10 network, Adam, 200 epochs of batches of 16 (about 0.4 s a run).
N_TRAIN, N_VAL = 150, 450
OVERFIT = {"optimizer": "adam", "lr": 0.01, "epochs": 200, "batch_size": 16}
LAM, PATIENCE = 1e-3, 10
SEEDS = range(5)


@pytest.fixture(scope="module")
def digits():
    X_train, _, labels_train, _ = load_digits_split(seed=0)
    X, Y = X_train[:N_TRAIN], one_hot(labels_train[:N_TRAIN])
    X_val = X_train[N_TRAIN : N_TRAIN + N_VAL]
    Y_val = one_hot(labels_train[N_TRAIN : N_TRAIN + N_VAL])
    return X, Y, X_val, Y_val


def fit_digits(digits, seed, **kwargs):
    X, Y, X_val, Y_val = digits
    return fit_classifier(X, Y, init_mlp([64, 128, 10], seed=seed), X_val=X_val, Y_val=Y_val,
                          seed=seed, **OVERFIT, **kwargs)


@pytest.fixture(scope="module")
def plain_runs(digits):
    return [fit_digits(digits, seed) for seed in SEEDS]


def weight_norm(params):
    return float(np.sqrt(sum(np.sum(params[k] ** 2) for k in ("W1", "W2"))))


def test_the_network_learns_the_training_set_by_heart(plain_runs):
    """Training accuracy 100 % from epoch 6-11 on, training loss about 1e-4 at the end; the
    validation loss bottoms out at epoch 10-18 (0.17-0.19) and then climbs by a third
    (0.23-0.26 at epoch 199), while validation accuracy stays at 94-96 %."""
    for history in plain_runs:
        assert np.all(history.train_accuracy[15:] == 1.0)
        assert history.train_loss[-1] < 1e-3
        best = history.best_epoch
        assert best == int(np.argmin(history.val_loss))
        assert 5 <= best <= 25
        assert 0.15 < history.val_loss[best] < 0.21
        assert history.val_loss[-1] > 1.25 * history.val_loss[best]
        assert history.val_loss[-1] > history.val_loss[100] + 0.01  # still climbing
        assert 0.92 < history.val_accuracy[-1] < 0.97


def test_l2_keeps_the_validation_loss_down(digits, plain_runs):
    """lam = 1e-3: on every seed the final validation loss is lower (0.17-0.21 against
    0.23-0.26) and the weights less than 2/3 the size (norm 12-16 against 26-27). The
    accuracy does not improve (93-95 %): on the digits overfitting shows in the confidence."""
    for seed, plain in zip(SEEDS, plain_runs, strict=True):
        l2 = fit_digits(digits, seed, lam=LAM)
        assert l2.val_loss[-1] < plain.val_loss[-1] - 0.02
        assert weight_norm(l2.params) < 0.67 * weight_norm(plain.params)
        assert abs(l2.val_accuracy[-1] - plain.val_accuracy[-1]) < 0.03


def test_early_stopping_keeps_the_best_epoch(digits, plain_runs):
    """patience = 10: the run is the plain one cut at epoch 20-28; it returns the params of
    the best epoch (10-18), whose validation loss is the minimum of the plain run."""
    _X, _Y, X_val, Y_val = digits
    for seed, plain in zip(SEEDS, plain_runs, strict=True):
        stopped = fit_digits(digits, seed, patience=PATIENCE)
        run = stopped.val_loss.size
        np.testing.assert_array_equal(stopped.val_loss, plain.val_loss[:run])
        np.testing.assert_array_equal(stopped.train_loss, plain.train_loss[:run])
        assert (stopped.best_epoch, stopped.stopped_epoch) == early_stopping(plain.val_loss,
                                                                             PATIENCE)
        assert stopped.stopped_epoch == run - 1 == stopped.best_epoch + PATIENCE
        assert 15 <= stopped.stopped_epoch <= 35
        assert stopped.best_epoch == plain.best_epoch
        kept = cross_entropy(classifier_forward(X_val, stopped.params)[0], Y_val)
        assert kept == stopped.val_loss[stopped.best_epoch] == plain.val_loss.min()
