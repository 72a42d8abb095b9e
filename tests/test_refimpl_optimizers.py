"""refimpl.optimizers: momentum, Adam, and optimiser paths on notebook 04's stretched bowl.

The bowl figures (steps to reach a loss of 1e-6 from (-4, 1)) are those notebook 10 quotes.
"""

import inspect

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from refimpl_tools import assert_same_params, copy_params

from refimpl import (
    ADAM_DEFAULTS,
    OPTIMIZERS,
    adam_step,
    gd_step,
    gradient_descent,
    momentum_step,
    optimizer_path,
    steps_to_reach,
    zeros_like_params,
)

START = (-4.0, 1.0)
TARGET = 1e-6


def two_params(seed=0):
    rng = np.random.default_rng(seed)
    return {"W1": rng.normal(size=(3, 2)), "b1": rng.normal(size=2)}


finite = st.floats(-1e3, 1e3, allow_nan=False)
vectors = hnp.arrays(np.float64, st.integers(1, 5), elements=finite)


# --- zeros_like_params -------------------------------------------------------------------


def test_zeros_like_params():
    params = two_params()
    zeros = zeros_like_params(params)
    assert list(zeros) == ["W1", "b1"]
    for key in params:
        assert zeros[key].shape == params[key].shape
        assert zeros[key].dtype == np.float64
        assert not zeros[key].any()
    zeros["W1"][0, 0] = 1.0
    assert zeros_like_params(params)["W1"][0, 0] == 0.0
    with pytest.raises(TypeError, match="params must be a dict"):
        zeros_like_params([np.ones(2)])


# --- momentum_step ----------------------------------------------------------------------


def test_momentum_step_by_hand():
    """v = 0.9 * 1 + 2 = 2.9, W = 1 - 0.1 * 2.9 = 0.71."""
    params, grads, velocity = {"w": np.array([1.0])}, {"w": np.array([2.0])}, {"w": np.ones(1)}
    new_params, new_velocity = momentum_step(params, grads, velocity, lr=0.1, beta=0.9)
    np.testing.assert_allclose(new_velocity["w"], [2.9], rtol=1e-15)
    np.testing.assert_allclose(new_params["w"], [0.71], rtol=1e-15)


@given(vectors, st.floats(0, 1, allow_nan=False), st.integers(0, 2**32 - 1))
def test_momentum_with_beta_zero_is_gd_step(w, lr, seed):
    grads = {"w": np.random.default_rng(seed).normal(size=w.shape)}
    velocity = {"w": np.random.default_rng(seed + 1).normal(size=w.shape)}  # forgotten
    new_params, new_velocity = momentum_step({"w": w}, grads, velocity, lr, beta=0.0)
    assert_same_params(new_params, gd_step({"w": w}, grads, lr))
    assert_same_params(new_velocity, grads)


def test_momentum_under_a_constant_gradient_speeds_up_to_one_over_one_minus_beta():
    """After k steps the velocity is g (1 - beta**k) / (1 - beta): 10 g for beta = 0.9."""
    params, grads = {"w": np.zeros(1)}, {"w": np.ones(1)}
    velocity = zeros_like_params(params)
    for k in range(1, 101):
        params, velocity = momentum_step(params, grads, velocity, lr=0.01, beta=0.9)
        assert velocity["w"][0] == pytest.approx((1 - 0.9**k) / 0.1, rel=1e-12)
    assert velocity["w"][0] == pytest.approx(10.0, rel=1e-4)


def test_momentum_step_is_pure():
    params, grads, velocity = two_params(0), two_params(1), two_params(2)
    before = [copy_params(d) for d in (params, grads, velocity)]
    new_params, new_velocity = momentum_step(params, grads, velocity, 0.1)
    for d, saved in zip((params, grads, velocity), before, strict=True):
        assert_same_params(d, saved)
    assert new_params["W1"] is not params["W1"]
    assert new_velocity["W1"] is not velocity["W1"]


# --- adam_step -----------------------------------------------------------------------------


def test_adam_defaults_are_the_signature_defaults():
    defaults = {
        name: p.default
        for name, p in inspect.signature(adam_step).parameters.items()
        if p.default is not inspect.Parameter.empty
    }
    assert defaults == ADAM_DEFAULTS == {"lr": 0.001, "beta1": 0.9, "beta2": 0.999, "eps": 1e-8}


def test_adam_two_steps_by_hand():
    """g = 2 then g = -1, with the defaults:
    t=1: m = 0.2, v = 0.004, m_hat = 2, v_hat = 4, step = 0.001 * 2 / (2 + 1e-8);
    t=2: m = 0.18 - 0.1 = 0.08, v = 0.003996 + 0.001 = 0.004996,
         m_hat = 0.08 / 0.19, v_hat = 0.004996 / 0.001999."""
    params, m, v = {"w": np.array([1.0])}, {"w": np.zeros(1)}, {"w": np.zeros(1)}
    params, m, v = adam_step(params, {"w": np.array([2.0])}, m, v, t=1)
    np.testing.assert_allclose(m["w"], [0.2], rtol=1e-15)
    np.testing.assert_allclose(v["w"], [0.004], rtol=1e-15)
    np.testing.assert_allclose(params["w"], [1 - 0.001 * 2 / (2 + 1e-8)], rtol=1e-15)
    w1 = params["w"][0]
    params, m, v = adam_step(params, {"w": np.array([-1.0])}, m, v, t=2)
    np.testing.assert_allclose(m["w"], [0.08], rtol=1e-14)
    np.testing.assert_allclose(v["w"], [0.004996], rtol=1e-14)
    m_hat, v_hat = 0.08 / (1 - 0.9**2), 0.004996 / (1 - 0.999**2)
    np.testing.assert_allclose(params["w"], [w1 - 0.001 * m_hat / (np.sqrt(v_hat) + 1e-8)],
                               rtol=1e-15)


@given(
    hnp.arrays(np.float64, st.integers(1, 6), elements=st.floats(1e-3, 1e6)),
    hnp.arrays(np.bool_, st.integers(1, 6)),
    st.sampled_from([1e-4, 1e-3, 1e-2]),
)
def test_adams_first_step_is_lr_whatever_the_gradient_scale(magnitudes, signs, lr):
    """t = 1: m_hat = g and v_hat = g**2, so each parameter moves by lr * g / (|g| + eps):
    lr against the gradient's sign, for gradients from 1e-3 to 1e6 alike. (This is why one
    default, lr = 0.001, suits so many networks: it is a distance in parameter units.)"""
    size = min(magnitudes.size, signs.size)
    g = np.where(signs[:size], 1.0, -1.0) * magnitudes[:size]
    params = {"w": np.linspace(-1, 1, size)}
    new, _, _ = adam_step(params, {"w": g}, zeros_like_params(params), zeros_like_params(params),
                          t=1, lr=lr)
    np.testing.assert_allclose(new["w"] - params["w"], -lr * np.sign(g), rtol=1e-4)


def test_adam_bias_correction():
    """Under a constant gradient m_hat = g and v_hat = g**2 at every step: each step is lr.
    Without the correction the first step would be lr * 0.1 / sqrt(0.001) = 3.16 lr."""
    params = {"w": np.zeros(3)}
    grads = {"w": np.array([5.0, -0.01, 300.0])}
    m, v = zeros_like_params(params), zeros_like_params(params)
    for t in range(1, 51):
        new, m, v = adam_step(params, grads, m, v, t, lr=0.01)
        np.testing.assert_allclose(new["w"] - params["w"], -0.01 * np.sign(grads["w"]), rtol=1e-6)
        params = new
    uncorrected = 0.01 * (0.1 * 5.0) / np.sqrt(0.001 * 25.0)
    assert uncorrected == pytest.approx(0.01 * 3.1623, rel=1e-4)


def test_adam_step_is_pure():
    params, grads, m, v = two_params(0), two_params(1), two_params(2), two_params(3)
    m["W1"], v["b1"] = np.abs(m["W1"]), np.abs(v["b1"])
    v["W1"] = np.abs(v["W1"])
    before = [copy_params(d) for d in (params, grads, m, v)]
    adam_step(params, grads, m, v, t=3)
    for d, saved in zip((params, grads, m, v), before, strict=True):
        assert_same_params(d, saved)


# --- input checks ----------------------------------------------------------------------------


def test_the_steps_check_keys_and_shapes():
    params = {"W1": np.ones((2, 3)), "b1": np.ones(3)}
    good = zeros_like_params(params)
    with pytest.raises(ValueError, match="grads must have the same keys as params"):
        momentum_step(params, {"W1": np.ones((2, 3))}, good, 0.1)
    with pytest.raises(ValueError, match=r"velocity\['W1'\] has shape \(3, 2\)"):
        momentum_step(params, good, {"W1": np.ones((3, 2)), "b1": np.ones(3)}, 0.1)
    with pytest.raises(ValueError, match="m must have the same keys"):
        adam_step(params, good, {"W1": np.ones((2, 3))}, good, t=1)
    with pytest.raises(ValueError, match=r"v\['b1'\] has shape \(1, 3\)"):
        adam_step(params, good, good, {"W1": np.ones((2, 3)), "b1": np.ones((1, 3))}, t=1)
    with pytest.raises(TypeError, match="velocity must be a dict"):
        momentum_step(params, good, None, 0.1)


@pytest.mark.parametrize("t", [0, -1, 1.0, True, "1", None])
def test_adam_step_needs_t_from_one(t):
    params = {"w": np.ones(2)}
    zeros = zeros_like_params(params)
    with pytest.raises(ValueError, match="t is the number of this step, a whole number >= 1"):
        adam_step(params, zeros, zeros, zeros, t)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"lr": -0.1}, "learning rate"),
        ({"lr": np.nan}, "learning rate"),
        ({"beta1": 1.0}, r"beta1 must be a number in \[0, 1\)"),
        ({"beta2": -0.1}, r"beta2 must be a number in \[0, 1\)"),
        ({"eps": 0.0}, "eps must be a small positive number"),
        ({"eps": np.inf}, "eps must be a small positive number"),
    ],
)
def test_adam_step_checks_its_hyperparameters(kwargs, match):
    params = {"w": np.ones(2)}
    zeros = zeros_like_params(params)
    with pytest.raises(ValueError, match=match):
        adam_step(params, zeros, zeros, zeros, 1, **kwargs)


@pytest.mark.parametrize("beta", [1.0, 1.5, -0.5, np.nan, "0.9", True])
def test_momentum_step_checks_beta(beta):
    params = {"w": np.ones(2)}
    with pytest.raises(ValueError, match=r"beta must be a number in \[0, 1\)"):
        momentum_step(params, params, params, 0.1, beta)


# --- optimizer_path --------------------------------------------------------------------------


def bowl(a=10.0):
    """Notebook 04's stretched bowl w1**2 + a w2**2 and its gradient."""

    def f(w):
        return float(w[0] ** 2 + a * w[1] ** 2)

    def grad_f(w):
        return np.array([2 * w[0], 2 * a * w[1]])

    return f, grad_f


def test_sgd_path_is_gradient_descent():
    f, grad_f = bowl()
    for lr in (0.01, 0.09, 0.12):
        expected = gradient_descent(f, grad_f, START, lr, 60)
        path, losses = optimizer_path(f, grad_f, START, "sgd", lr, 60)
        np.testing.assert_array_equal(path, expected[0])
        np.testing.assert_array_equal(losses, expected[1])


@pytest.mark.parametrize("optimizer", ["momentum", "adam"])
def test_path_is_the_steps_taken_in_turn(optimizer):
    f, grad_f = bowl()
    path, losses = optimizer_path(f, grad_f, START, optimizer, 0.02, 30, beta1=0.8, beta2=0.99)
    assert path.shape == (31, 2)
    assert losses.shape == (31,)
    params = {"w": np.array(START)}
    state = [zeros_like_params(params) for _ in range(2 if optimizer == "adam" else 1)]
    for i in range(30):
        grads = {"w": grad_f(params["w"])}
        if optimizer == "momentum":
            params, *state = momentum_step(params, grads, *state, 0.02, beta=0.8)
        else:
            params, *state = adam_step(params, grads, *state, t=i + 1, lr=0.02, beta1=0.8,
                                       beta2=0.99)
        np.testing.assert_array_equal(path[i + 1], params["w"])
        assert losses[i + 1] == f(params["w"])


def test_optimizer_path_calls_the_step_functions_it_is_given():
    f, grad_f = bowl()
    calls = []

    def learner_momentum(params, grads, velocity, lr, beta=0.9):
        calls.append(("momentum", lr, beta))
        return momentum_step(params, grads, velocity, lr, beta)

    def learner_adam(params, grads, m, v, t, lr=0.001, beta1=0.9, beta2=0.999, eps=1e-8):
        calls.append(("adam", t, lr, beta1, beta2))
        return adam_step(params, grads, m, v, t, lr, beta1, beta2, eps)

    kwargs = {"momentum_step": learner_momentum, "adam_step": learner_adam}
    optimizer_path(f, grad_f, START, "momentum", 0.05, 2, beta1=0.7, **kwargs)
    optimizer_path(f, grad_f, START, "adam", 0.05, 2, beta1=0.7, beta2=0.9, **kwargs)
    assert calls == [("momentum", 0.05, 0.7), ("momentum", 0.05, 0.7),
                     ("adam", 1, 0.05, 0.7, 0.9), ("adam", 2, 0.05, 0.7, 0.9)]


def test_a_diverging_path_stops_quietly_and_pads_with_nan():
    f, grad_f = bowl()
    path, losses = optimizer_path(f, grad_f, START, "momentum", 1.0, 2000)  # no warning either
    assert path.shape == (2001, 2)
    first_bad = int(np.argmax(~np.isfinite(losses)))
    assert 0 < first_bad < 2000
    assert np.all(np.isfinite(losses[:first_bad]))
    assert np.all(np.isnan(losses[first_bad + 1 :]))
    assert np.all(np.isnan(path[first_bad + 1 :]))


def test_optimizer_path_keeps_x0_and_one_number_starts():
    x0 = np.array(START)
    f, grad_f = bowl()
    path, _ = optimizer_path(f, grad_f, x0, "adam", 0.1, 5)
    np.testing.assert_array_equal(x0, START)
    np.testing.assert_array_equal(path[0], START)
    path, losses = optimizer_path(lambda x: float(x[0] ** 2), lambda x: 2 * x, 3.0, "momentum",
                                  0.1, 4)
    assert path.shape == (5, 1)
    assert losses[0] == 9.0


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"optimizer": "rmsprop"}, "Unknown optimizer 'rmsprop'. Use one of 'sgd', 'momentum'"),
        ({"lr": -1.0}, "learning rate"),
        ({"steps": -1}, "steps must be a whole number >= 0"),
        ({"beta1": 1.0}, "beta1 must be"),
        ({"beta2": 2.0}, "beta2 must be"),
        ({"x0": np.ones((2, 2))}, r"x0 must be a vector of shape \(d,\)"),
    ],
)
def test_optimizer_path_checks_its_arguments(kwargs, match):
    f, grad_f = bowl()
    arguments = {"x0": START, "optimizer": "sgd", "lr": 0.01, "steps": 3, **kwargs}
    with pytest.raises(ValueError, match=match):
        optimizer_path(f, grad_f, **arguments)


def test_optimizer_path_checks_what_f_and_grad_f_return():
    f, grad_f = bowl()
    with pytest.raises(ValueError, match=r"grad_f must return shape \(2,\)"):
        optimizer_path(f, lambda w: np.ones(3), START, "momentum", 0.01, 3)
    with pytest.raises(ValueError, match="f must return a single number"):
        optimizer_path(lambda w: w, grad_f, START, "adam", 0.01, 3)


def test_optimizers_constant():
    assert OPTIMIZERS == ("sgd", "momentum", "adam")


# --- steps_to_reach ----------------------------------------------------------------------


def test_steps_to_reach():
    losses = np.array([5.0, 2.0, np.nan, 0.5, 0.1, 0.7])
    assert steps_to_reach(losses, 0.5) == 3
    assert steps_to_reach(losses, 5.0) == 0
    assert steps_to_reach(losses, 0.01) is None
    assert type(steps_to_reach(losses, 1)) is int
    assert steps_to_reach([], 1.0) is None
    with pytest.raises(ValueError, match="losses must be 1-D"):
        steps_to_reach(np.ones((2, 2)), 1.0)
    with pytest.raises(ValueError, match="target must be a number"):
        steps_to_reach(losses, np.nan)


# --- the figures notebook 10 quotes ----------------------------------------------------------


def steps_needed(optimizer, lr, a=10.0, steps=600, beta1=0.9):
    f, grad_f = bowl(a)
    _, losses = optimizer_path(f, grad_f, START, optimizer, lr, steps, beta1=beta1)
    return steps_to_reach(losses, TARGET)


def best_over(optimizer, lrs, a=10.0, steps=600):
    """(steps, lr) of the fastest run over a grid of learning rates."""
    runs = [(steps_needed(optimizer, lr, a, steps), lr) for lr in lrs]
    return min((s, lr) for s, lr in runs if s is not None)


def test_sgd_at_its_best_stable_learning_rate_on_the_bowl():
    """From (-4, 1) (loss 26): lr = 0.09 is the fastest on a 0.001 grid below the stable
    limit 0.1 (theory: 1/11, factor 9/11 per step on both axes), 42 steps to 1e-6; at 0.1 the
    w2 axis flips forever and never gets there."""
    lrs = np.round(np.arange(0.001, 0.1, 0.001), 3)
    assert best_over("sgd", lrs, steps=200) == (42, 0.09)
    assert steps_needed("sgd", 0.1, steps=1000) is None


@pytest.mark.parametrize(("lr", "sgd", "momentum"), [(0.001, 4143, 325), (0.01, 411, 152),
                                                     (0.02, 204, 135)])
def test_momentum_cures_the_crawl_at_a_small_learning_rate(lr, sgd, momentum):
    """At the same small lr, momentum (beta 0.9) runs along the shallow w1 axis up to
    1 / (1 - beta) = 10x faster: far fewer steps than the crawl of plain gradient descent."""
    assert steps_needed("sgd", lr, steps=5000) == sgd
    assert steps_needed("momentum", lr, steps=5000) == momentum


def test_on_a_10_to_1_bowl_tuned_sgd_beats_momentum_0_9():
    """The honest half: momentum with beta 0.9 contracts by at best sqrt(0.9) = 0.95 per step,
    while tuned SGD does 9/11 = 0.82 here. Over lr 0.001..0.2, the fastest momentum run needs
    96 steps (lr 0.012), SGD's 42; beta 0.5 does it in 20."""
    lrs = np.round(np.arange(0.001, 0.2, 0.001), 3)
    assert best_over("momentum", lrs, steps=300) == (96, 0.012)
    assert best_over("momentum", lrs[:100], steps=300)[0] == 96
    assert steps_needed("momentum", 0.068, beta1=0.5) == 20


def test_momentum_wins_in_a_narrower_valley():
    """w1**2 + 100 w2**2: SGD must keep lr < 0.01 and crawls (best 457 steps, lr 0.009);
    momentum 0.9 needs 123 (lr 0.008), 3.7x fewer."""
    assert best_over("sgd", np.round(np.arange(0.001, 0.01, 0.001), 3), a=100.0) == (457, 0.009)
    momentum = best_over("momentum", np.round(np.arange(0.001, 0.02, 0.001), 3), a=100.0)
    assert momentum == (123, 0.008)


def test_adams_default_lr_is_a_distance_per_step():
    """Adam at lr = 0.001 from (-4, 1): 1000 steps move w1 by 0.94 (at most lr a step), and it
    needs 7905 steps to reach 1e-6; lr = 0.1 needs 149."""
    f, grad_f = bowl()
    path, losses = optimizer_path(f, grad_f, START, "adam", ADAM_DEFAULTS["lr"], 8000)
    assert 0.9 < path[1000, 0] - path[0, 0] <= 1000 * 0.001
    assert steps_to_reach(losses, TARGET) == 7905
    assert steps_needed("adam", 0.1, steps=300) == 149
