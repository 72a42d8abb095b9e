"""Claims the notebooks' text makes, computed (issue 16's review): each test holds one claim,
and the notebook is read to check that it says what the computation shows."""

from __future__ import annotations

import numpy as np
import pytest

import refimpl
import refimpl.surface
from notebook_tools import find_cell, source_notebook
from refimpl import examples


def text(assignment: str, grade_id: str) -> str:
    return " ".join(find_cell(source_notebook(assignment), grade_id).source.split())


@pytest.fixture
def rng():
    return np.random.default_rng(16)


def test_03_mse_charges_a_confident_mistake_twice_a_mild_one_and_never_more_than_1():
    confident, mild = (0.01 - 1.0) ** 2, (0.3 - 1.0) ** 2
    assert confident / mild == pytest.approx(2.0, rel=0.01)
    y_hat = np.linspace(0.0, 1.0, 1001)
    assert refimpl.mse(y_hat[:, None], np.ones((1001, 1))) <= 1.0
    assert max((y_hat - 1.0) ** 2) <= 1.0
    said = text("03_loss", "bce_intro")
    assert "twice its charge" in said
    assert "never more than 1" in said


@pytest.mark.parametrize("pair", ["sigmoid+bce", "softmax+cross-entropy", "identity+half-mse"])
def test_06_the_shortcut_is_exact_for_every_matched_pair(pair, rng):
    """delta = (output - y) / n is the gradient of the loss with respect to the logits."""
    n, k = 6, 3 if pair == "softmax+cross-entropy" else 1
    Z = rng.normal(size=(n, k))
    if pair == "sigmoid+bce":
        y = rng.integers(0, 2, (n, 1)).astype(float)
        loss, output = (lambda z: refimpl.bce_from_logits(z, y)), refimpl.sigmoid(Z)
    elif pair == "softmax+cross-entropy":
        y = refimpl.one_hot(rng.integers(0, k, n), k)
        loss, output = (lambda z: refimpl.cross_entropy(z, y)), refimpl.softmax(Z)
    else:
        y = rng.normal(size=(n, 1))
        loss, output = (lambda z: 0.5 * np.mean((z - y) ** 2)), Z
    numerical = refimpl.numerical_gradient(loss, Z.copy())
    np.testing.assert_allclose((output - y) / n, numerical, rtol=1e-6, atol=1e-9)
    assert "every *matched* pair" in text("06_backprop", "shortcut")


def test_06_the_shortcut_is_wrong_for_sigmoid_with_mse(rng):
    Z, y = rng.normal(size=(6, 1)), rng.integers(0, 2, (6, 1)).astype(float)
    numerical = refimpl.numerical_gradient(lambda z: refimpl.mse(refimpl.sigmoid(z), y), Z.copy())
    shortcut = (refimpl.sigmoid(Z) - y) / 6
    assert not np.allclose(shortcut, numerical, rtol=1e-3)
    assert "Sigmoid with MSE, our case, is not one of them" in text("06_backprop", "shortcut")


def test_07_w2_zero_alone_stops_every_gradient_of_the_hidden_layer(rng):
    """Whatever relu'(0) is: with W2 = 0, delta_1 = (delta_2 W2^T) * relu'(Z1) = 0."""
    X, y = rng.normal(size=(8, 2)), rng.integers(0, 2, (8, 1)).astype(float)
    params = refimpl.init_231(seed=3)
    params["W2"] = np.zeros_like(params["W2"])
    _, cache = refimpl.forward_231(X, params)
    assert np.any(cache["Z1"] != 0.0)  # not the all-zero start: relu'(0) plays no part
    for loss in ("mse", "bce"):
        grads = refimpl.backward_231(X, y, params, cache, loss=loss)
        assert np.all(grads["W1"] == 0.0)
        assert np.all(grads["b1"] == 0.0)
    assert "whatever $\\operatorname{relu}'(0)$ is taken to be" in text("07_training", "symmetry")


def test_03_a_k_means_step_never_raises_the_loss(rng):
    X = rng.normal(size=(60, 2))
    centres = X[rng.choice(60, 3, replace=False)].copy()

    def loss(centres):
        return np.mean(np.min(((X[:, None, :] - centres[None]) ** 2).sum(axis=2), axis=1))

    for _ in range(10):
        before = loss(centres)
        nearest = ((X[:, None, :] - centres[None]) ** 2).sum(axis=2).argmin(axis=1)
        centres = np.array([X[nearest == c].mean(axis=0) if np.any(nearest == c)
                            else centres[c] for c in range(3)])
        assert loss(centres) <= before + 1e-12
    assert "neither of which can raise $L$" in text("03_loss", "kmeans")


# ---------------------------------------------------------------------------------------------
# 02: the explorer's switch point; the columns convention of other courses
# ---------------------------------------------------------------------------------------------


def crossing(g, low: float, high: float) -> float:
    """Where the continuous g changes sign between low and high (bisection to 1e-12)."""
    assert np.sign(g(low)) != np.sign(g(high))
    while high - low > 1e-12:
        middle = (low + high) / 2
        low, high = (middle, high) if np.sign(g(middle)) == np.sign(g(low)) else (low, middle)
    return (low + high) / 2


def test_02_a_unit_switches_on_just_above_6_hours_of_sleep_and_y_hat_crosses_half_below():
    """02's explorer, 6 hours of study, sleep lowered from 7 to 4 with the trained params."""
    params, _ = examples.trained_params_231()

    def hidden_z(slept):
        return refimpl.forward_231(np.array([[6.0, slept]]), params)[1]["Z1"][0]

    def logit(slept):
        return refimpl.forward_231(np.array([[6.0, slept]]), params)[1]["Z2"][0, 0]

    switching = [j for j in range(3) if np.sign(hidden_z(4.0)[j]) != np.sign(hidden_z(7.0)[j])]
    assert len(switching) == 1  # one unit, and it switches on as sleep falls
    unit = switching[0]
    assert hidden_z(4.0)[unit] > 0 > hidden_z(7.0)[unit]
    assert params["W2"][unit, 0] < -5  # its large negative weight to the output
    switch_on = crossing(lambda s: hidden_z(s)[unit], 4.0, 7.0)
    half = crossing(logit, 4.0, 7.0)  # y_hat = 0.5 where z2 = 0
    assert 5.9 < half < 6.0 < switch_on < 6.1  # between two stops of the 0.1-hour slider
    said = text("02_forward", "explorer_intro")
    assert f"about {switch_on:.2f} hours" in said
    assert f"near {half:.2f} hours" in said
    assert "below 6 hours" not in said


def test_02_rows_here_are_the_transposed_columns_of_other_courses(rng):
    """Z = X W + b (rows are samples) is (W' X' + b')^T with W' = W^T, X' = X^T (columns)."""
    n, d_in, d_out = 5, 2, 3
    X, W, b = rng.normal(size=(n, d_in)), rng.normal(size=(d_in, d_out)), rng.normal(size=d_out)
    W_cols, X_cols, b_cols = W.T, X.T, b[:, None]  # (d_out, d_in), (d_in, n), (d_out, 1)
    np.testing.assert_allclose(X @ W + b, (W_cols @ X_cols + b_cols).T)
    said = text("02_forward", "equations")
    assert "DeepLearning.AI" in said
    assert "$W' = W^\\top$" in said


# ---------------------------------------------------------------------------------------------
# 04 and 08: what a gradient costs; the plateau of the slice
# ---------------------------------------------------------------------------------------------


def test_backprop_does_two_products_per_forward_one_in_04_and_08(monkeypatch):
    """The multiply-adds of refimpl.mlp_backward are twice those of mlp_forward: a gradient
    costs about three forward passes (notebook 08 measures it), which 04 and 08 both say."""
    import refimpl.mlp

    madds = {"forward": 0, "backward": 0}
    forward, backward = refimpl.mlp.dense_forward, refimpl.mlp.dense_backward

    def counted_forward(A, W, b):
        madds["forward"] += A.shape[0] * W.shape[0] * W.shape[1]  # A @ W
        return forward(A, W, b)

    def counted_backward(dZ, A_prev, W):
        madds["backward"] += 2 * dZ.shape[0] * W.shape[0] * W.shape[1]  # A_prev.T @ dZ, dZ @ W.T
        return backward(dZ, A_prev, W)

    monkeypatch.setattr(refimpl.mlp, "dense_forward", counted_forward)
    monkeypatch.setattr(refimpl.mlp, "dense_backward", counted_backward)
    X, y = refimpl.study_sleep(n=32, seed=0)
    params = refimpl.init_mlp([2, 64, 64, 1], seed=0)
    _, cache = refimpl.mlp_forward(X, params)
    refimpl.mlp_backward(X, y, params, cache)
    assert madds["backward"] == 2 * madds["forward"]
    assert "about three forward passes" in text("04_gradient_descent", "brute_force")
    assert "about **3 forward passes" in text("08_why_backprop", "cost")
    assert "cost of two" not in text("04_gradient_descent", "brute_force")


def slice_04():
    """The loss slice of 04's explorer and the trained network it is cut through."""
    X, y, params = examples.example_network()
    trained = params["trained"]
    entries = refimpl.surface.parameter_entries(trained)
    pair = [entries[label] for label in examples.EXAMPLE_PAIR]
    assert pair == [("W1", (1, 0)), ("W2", (0, 0))]
    return X, trained, refimpl.surface.slice_function(X, y, trained, *pair)


def test_04_the_plateau_of_the_slice_is_where_hidden_unit_0_is_off_for_every_student():
    """Its gradient is exactly 0 for W1[1, 0] in [start, end] (any W2[0, 0]), not at (-1, 1)."""
    X, trained, f = slice_04()
    # z of unit 0 = fixed + X[:, 1] * W1[1, 0]: <= 0 for every student on an interval of W1[1, 0]
    fixed, slept = X[:, 0] * trained["W1"][0, 0] + trained["b1"][0], X[:, 1]
    start = np.max(-fixed[slept < 0] / slept[slept < 0])
    end = np.min(-fixed[slept > 0] / slept[slept > 0])

    def gradient(point):
        return refimpl.numerical_gradient(f, np.array(point, dtype=np.float64))

    for inside in np.linspace(start + 1e-3, end - 1e-3, 7):
        assert np.all(gradient([inside, 1.0]) == 0.0)
        assert np.all(gradient([inside, -4.0]) == 0.0)
    assert np.all(gradient([start - 0.05, 1.0]) != 0.0)
    at_minus_1 = gradient([-1.0, 1.0])
    path, _ = refimpl.gradient_descent(f, gradient, np.array([-1.0, 1.0]), 3.0, 60)
    moved = np.linalg.norm(path[-1] - path[0])
    assert start < path[-1][0] < end  # it walks onto the plateau, then stops
    said = text("04_gradient_descent", "explorer_intro")
    assert f"between ${start:.2f}$ and ${end:.2f}$" in said
    assert f"$({at_minus_1[0]:.3f}, {at_minus_1[1]:.3f})$" in said
    assert f"moves {moved:.2f} in all" in said
    assert f"$\\approx {path[-1][0]:.2f}$" in said
    assert "almost exactly 0" not in said


# ---------------------------------------------------------------------------------------------
# 07: the learning rate, and what a small gradient does not say
# ---------------------------------------------------------------------------------------------


def test_07_at_lr_10_only_b2_moves_and_it_cycles_past_its_stable_limit():
    """Every hidden unit dead, b2 is a 1-D problem whose stable limit (04's 1 - 2 a lr rule,
    2a = sigma'(b2*)) is below 10: b2 cycles, the loss alternates, the predictions flip."""
    data = examples.training_data()
    assert all(np.array_equal(value, refimpl.init_231(seed=1)[key])
               for key, value in examples.initial_params(3, "he", 1).items())  # 07's start
    run = examples.training_run(10.0, 3, "he", 1)
    late = slice(100, None)
    for key in ("W1", "b1", "W2"):
        assert np.all(run.trace[key][late] == run.trace[key][100])
    assert np.all(data.X_train_std @ run.trace["W1"][-1] + run.trace["b1"][-1] < 0)
    b2, losses = run.trace["b2"][late, 0], run.losses[late]
    np.testing.assert_allclose(b2[2:], b2[:-2], atol=1e-9)  # a cycle of two epochs
    low, high = sorted(b2[-2:])
    loss_low, loss_high = sorted(losses[-2:])
    passed = float(np.mean(data.y_train))
    curvature = passed * (1 - passed)  # sigma'(b2*) where sigma(b2*) = passed
    limit, factor = 2 / curvature, 1 - 10.0 * curvature
    assert limit < 10.0
    assert factor < -1.0
    said = text("07_training", "learning_rate_result")
    for figure in (f"{passed:.3f}", f"{curvature:.3f}", f"{factor:.2f}", f"{limit:.1f}",
                   f"{low:.2f}", f"{high:.2f}", f"{loss_low:.3f}", f"{loss_high:.3f}"):
        assert figure in said, figure
    assert "1 - 2a\\eta" in said
    last_two = [refimpl.predict(data.X_train_std, run.params(k)) for k in (1999, 2000)]
    assert [np.unique(decisions).tolist() for decisions in last_two] == [[1.0], [0.0]]
    # the whole plane of 07's explorer says "fail" at epoch 20 and "pass" at epoch 25
    from refimpl.viz._style import SLEPT_RANGE, STUDIED_RANGE

    grid = np.stack(np.meshgrid(np.linspace(*STUDIED_RANGE, 41), np.linspace(*SLEPT_RANGE, 41)))
    plane = (grid.reshape(2, -1).T - data.mean) / data.std
    assert np.all(refimpl.predict(plane, run.params(20)) == 0.0)
    assert np.all(refimpl.predict(plane, run.params(25)) == 1.0)
    assert refimpl.predict(plane, run.params(examples.RUN_EPOCHS))[0, 0] == 0.0
    assert "epochs 20 and 25" in said


def test_07_lr_0_001_crawls_on_standardized_inputs():
    """The classic example's 0.001 (Adam's default) moves plain gradient descent by less than
    0.0002 a step here: after 2000 epochs the loss has barely fallen."""
    data = examples.training_data()
    start = refimpl.init_231(seed=1)
    runs = {lr: refimpl.train(data.X_train_std, data.y_train, start, lr=lr, epochs=2000)[1]
            for lr in (0.001, 1.0)}
    slow, used = runs[0.001], runs[1.0]
    assert np.max(0.001 * slow.grad_norms) < 0.0002
    said = text("07_training", "learning_rate_result")
    assert f"from {slow.losses[0]:.3f} to {slow.losses[-1]:.3f}" in said
    assert f"at 1 it is {used.losses[-1]:.3f}" in said
    assert "less than 0.0002" in said
    assert "Adam" in said
    assert "notebook 10" in said
    assert "0.001" in find_cell(source_notebook("07_training"), "learning_rate_code").source


def test_07_a_tiny_gradient_norm_alone_does_not_mean_a_trained_network():
    """The all-zero start ends with a gradient norm far below the trained run's, predicting
    one probability, the share who passed, for everyone."""
    data = examples.training_data()
    start = refimpl.init_231(seed=1)
    _, trained = refimpl.train(data.X_train_std, data.y_train, start, lr=1.0, epochs=2000)
    zeros, stuck = refimpl.train(data.X_train_std, data.y_train,
                                 refimpl.init_231(init="zeros"), lr=1.0, epochs=2000)
    assert stuck.grad_norms[-1] < 1e-15
    y_hat, _ = refimpl.forward_231(data.X_train_std, zeros)
    assert np.ptp(y_hat) == 0.0
    said = text("07_training", "watch_result")
    assert f"{trained.grad_norms[0]:.2f} to {trained.grad_norms[-1]:.3f}" in said
    assert "below $10^{-15}$" in said
    assert f"{100 * y_hat[0, 0]:.0f} %" in said
    assert "plateau" in said
    assert "dead" in said
    assert "does not mean" in text("07_training", "recap")


# ---------------------------------------------------------------------------------------------
# Notation (item 14): a delta is introduced before it is used
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("assignment", "symbol", "definition"),
    [
        ("07_training", "\\delta_2", "$\\delta_2 = dZ_2$"),
        ("07_training", "\\delta_1", "$\\delta_1 = dZ_1$"),
        ("08_why_backprop", "\\delta_l", "$\\delta_l = dZ_l"),
    ],
)
def test_a_layer_delta_is_defined_where_it_first_appears(assignment, symbol, definition):
    cells = [c.source for c in source_notebook(assignment).cells if c.cell_type == "markdown"]
    first = next(source for source in cells if symbol in source)
    assert definition in " ".join(first.split())


# ---------------------------------------------------------------------------------------------
# 05: the 2-3-1 network on Values; a second backward compounds; zero_grad
# ---------------------------------------------------------------------------------------------


def network_05():
    """05's six students, standardized, the seed-1 start, and backward_231's gradients."""
    X, y = refimpl.study_sleep(n=6, seed=0)
    X, _, _ = refimpl.standardize(X)
    params = refimpl.init_231(seed=1)
    _, cache = refimpl.forward_231(X, params)
    return X, y, params, refimpl.backward_231(X, y, params, cache)


def ratios_and_largest(param_values, expected):
    grads = refimpl.value_grads(param_values)
    ratios = np.concatenate([(grads[key] / expected[key]).ravel() for key in expected])
    return ratios, max(np.max(np.abs(grads[key] - expected[key])) for key in expected)


def test_05_the_network_on_values_compounds_on_a_second_backward_and_zero_grad_fixes_it():
    X, y, params, expected = network_05()
    code = find_cell(source_notebook("05_chain_rule"), "value_network_code").source
    assert "study_sleep(n=6, seed=0)" in code
    assert "init_231(seed=1)" in code
    assert sum(value.size for value in params.values()) == 13
    loss, param_values = refimpl.value_network_231(X, y, params)
    loss.backward()
    _, largest = ratios_and_largest(param_values, expected)
    assert largest < 1e-15
    said = text("05_chain_rule", "value_network")
    assert "all 13 weights and biases" in said
    assert "within $10^{-15}$" in said
    assert "within $10^{-15}$" in text("05_chain_rule", "recap")

    loss.backward()  # again, on the same graph
    ratios, largest = ratios_and_largest(param_values, expected)
    assert largest > 0.1
    assert np.all(np.abs(ratios - 2.0) > 0.1)  # nowhere near doubled
    assert len(np.unique(np.round(ratios, 6))) == ratios.size  # a different ratio each
    assert np.sum(ratios < 0) == 1
    said = text("05_chain_rule", "second_backward")
    assert "nowhere near 2, and one gradient even has the wrong sign" in said
    p = refimpl.Value(1.0)
    r = 3 * (2 * p)
    r.backward()
    once = p.grad
    r.backward()
    assert f"`p.grad` is {once:.0f} after one call and {p.grad:.0f} after two, not 12" in said

    refimpl.zero_grad(loss)
    loss.backward()
    assert ratios_and_largest(param_values, expected)[1] < 1e-15


def test_05_the_network_is_built_with_the_operations_of_the_notebooks_value_only():
    """The Value class of 05's solution cell (the learner's, once it passes its check)."""
    namespace = {"sigmoid": refimpl.sigmoid}
    exec(find_cell(source_notebook("05_chain_rule"), "Value").source, namespace)
    learner_value = namespace["Value"]
    X, y, params, expected = network_05()
    for loss in ("mse", "bce"):
        root, param_values = refimpl.value_network_231(X, y, params, value=learner_value,
                                                       loss=loss)
        root.backward()
        if loss == "bce":
            _, cache = refimpl.forward_231(X, params)
            expected = refimpl.backward_231(X, y, params, cache, loss="bce")
        assert ratios_and_largest(param_values, expected)[1] < 1e-15
        assert type(param_values["W1"][0, 0]) is learner_value
    assert "using only the operations your class has" in " ".join(
        text("05_chain_rule", "value_network").split())


def test_05_a_new_graph_on_the_same_parameters_doubles_their_gradients():
    """What PyTorch's optimizer.zero_grad() prevents: each step's gradients add up."""
    X, y, params, expected = network_05()
    loss, param_values = refimpl.value_network_231(X, y, params)
    loss.backward()
    again, _ = refimpl.value_network_231(X, y, param_values)
    again.backward()
    ratios, _ = ratios_and_largest(param_values, expected)
    assert f"{ratios.min():.6f}" == f"{ratios.max():.6f}" == "2.000000"  # as the cell prints
    said = text("05_chain_rule", "new_graph")
    assert "the sum of both passes, twice the right one" in said
    assert "`optimizer.zero_grad()` before `loss.backward()`" in said
    assert "optimizer.zero_grad()" in text("05_chain_rule", "recap")


def test_07_the_accuracies_and_losses_the_text_types():
    """07's typed figures: raw hours 64 % against 96 % standardized (also in the recap), the loss
    0.31 at lr 0.01, and width 1 no better than about 85 % of the training students."""
    data = examples.training_data()
    start = refimpl.init_231(seed=1)

    def test_right(X_train, X_test, lr):
        params, history = refimpl.train(X_train, data.y_train, start, lr=lr, epochs=2000)
        return refimpl.accuracy(refimpl.predict(X_test, params), data.y_test), history

    raw, _ = test_right(data.X_train, data.X_test, 0.1)
    standardized, _ = test_right(data.X_train_std, data.X_test_std, 1.0)
    _, slow = test_right(data.X_train_std, data.X_test_std, 0.01)
    said = text("07_training", "raw_hours_result")
    assert f"{raw:.0%}".replace("%", " %") in said
    assert f"against {standardized:.0%}".replace("%", " %") in said
    assert f"{standardized:.0%}".replace("%", " %") in text("07_training", "recap")
    assert f"still {slow.losses[-1]:.2f}" in text("07_training", "learning_rate_result")

    one_unit = examples.training_run(1.0, 1, "he", 1).params(examples.RUN_EPOCHS)
    y_hat, _ = refimpl.mlp_forward(data.X_train_std, one_unit)
    right = refimpl.accuracy((y_hat >= 0.5).astype(float), data.y_train)
    assert 0.80 <= right <= 0.86  # "no better than about 85 %"
    assert "no better than about 85 %" in text("07_training", "explorer_intro")
