"""The checks of notebook 10_training_well, and the numbers its text states.

- solutions written the way a learner writes them pass, visible and hidden; the catalogue
  (tests/test_autograder_catalogue.py) plants every wrong version and asserts its slug and hint;
- the named mistakes the notebook's checks must recognise are there, the cases are designed to
  tell them apart (tiny gradients for eps, a tie for early stopping), and the hints point at the
  idea without giving the formula;
- every number of the notebook's prose that code can compute is computed here (the notebook's
  cells print the others), and the notebook is read to check that it says it.
"""

from __future__ import annotations

import numpy as np
import pytest
from check_tools import failure, passes

import refimpl
from autograder import check
from autograder.checks.running import observe
from notebook_tools import find_cell, source_notebook
from refimpl.viz.initialization import saturated_shares
from refimpl.viz.optimizers import MAX_STEPS, SURFACES

NOTEBOOK = "10_training_well"


def text(grade_id: str) -> str:
    """A cell of the notebook, its whitespace collapsed."""
    return " ".join(find_cell(source_notebook(NOTEBOOK), grade_id).source.split())


# ---------------------------------------------------------------------------------------
# Learners' solutions
# ---------------------------------------------------------------------------------------


def init_std(d_in, d_out, scheme):
    variance = {"normal": 1, "xavier": 2 / (d_in + d_out), "he": 2 / d_in}[scheme]
    return variance**0.5


def momentum_step(params, grads, velocity, lr, beta=0.9):
    velocity = {k: beta * velocity[k] + grads[k] for k in params}
    return {k: params[k] - lr * velocity[k] for k in params}, velocity


def adam_step(params, grads, m, v, t, lr=0.001, beta1=0.9, beta2=0.999, eps=1e-8):
    m = {k: beta1 * m[k] + (1 - beta1) * grads[k] for k in params}
    v = {k: beta2 * v[k] + (1 - beta2) * grads[k] * grads[k] for k in params}
    step = {k: (m[k] / (1 - beta1**t)) / (np.sqrt(v[k] / (1 - beta2**t)) + eps) for k in params}
    return {k: params[k] - lr * step[k] for k in params}, m, v


def l2_regularize(loss, grads, params, lam):
    weights = [k for k in params if k[0] == "W"]
    total = loss + 0.5 * lam * sum(np.sum(params[k] ** 2) for k in weights)
    return total, {k: grads[k] + lam * params[k] if k in weights else grads[k] for k in grads}


def early_stopping(val_losses, patience):
    best = 0
    for epoch in range(len(val_losses)):
        if val_losses[epoch] < val_losses[best]:
            best = epoch
        if epoch - best == patience:
            return best, epoch
    return best, len(val_losses) - 1


def early_stopping_with_numpy(val_losses, patience):
    """As floats, from np.argmin: whole numbers either way."""
    losses = np.asarray(val_losses)
    for stop in range(len(losses)):
        best = int(np.argmin(losses[:stop + 1]))
        if stop - best == patience:
            return float(best), float(stop)
    return float(np.argmin(losses)), float(len(losses) - 1)


LEARNERS = [init_std, momentum_step, adam_step, l2_regularize, early_stopping]


@pytest.mark.parametrize("learner", LEARNERS, ids=lambda f: f.__name__)
def test_a_learners_solution_passes(learner, capsys):
    passes(getattr(check, learner.__name__), learner, capsys)


def test_early_stopping_may_return_floats_or_ints(capsys):
    passes(check.early_stopping, early_stopping_with_numpy, capsys, seeds=(None,))
    case = check.exercise("early_stopping").cases()[0]
    assert all(isinstance(epoch, int) for epoch in early_stopping(*case.args))


# ---------------------------------------------------------------------------------------
# The mistakes, the cases that tell them apart, the hints
# ---------------------------------------------------------------------------------------

REQUIRED_MISTAKES = {
    "init_std": {"variance-not-std", "he-fan-out", "lecun-for-he", "xavier-fan-in"},
    "momentum_step": {"ema-form", "old-velocity", "momentum-ascent", "beta-on-gradient",
                      "momentum-in-place"},
    "adam_step": {"no-bias-correction", "eps-inside-sqrt", "t-from-zero", "betas-swapped",
                  "v-of-g"},
    "l2_regularize": {"biases-decayed", "penalty-without-half", "penalty-missing",
                      "decay-sign"},
    "early_stopping": {"patience-ignored", "last-epoch", "one-epoch-late", "ties-improve"},
}


@pytest.mark.parametrize("name", sorted(REQUIRED_MISTAKES))
def test_the_named_mistakes_are_catalogued(name):
    assert REQUIRED_MISTAKES[name] <= {m.slug for m in check.exercise(name).mistakes}


#: Pieces of the answers that no hint may give away.
ANSWERS = {
    "init_std": ("sqrt(2 / d_in)", "2 / d_in", "2 / (d_in", "sqrt(2"),
    "momentum_step": ("beta * v", "beta v +", "lr * v", "lr v"),
    "adam_step": ("1 - beta1**t", "1 - beta2**t", "m / (1", "sqrt(v_hat) + eps"),
    "l2_regularize": ("lam * W", "+ lam W", "lam / 2 *"),
    "early_stopping": ("best_epoch + patience", "len(val_losses) - 1", "argmin"),
}


@pytest.mark.parametrize("name", sorted(ANSWERS))
def test_hints_point_at_the_idea_without_the_formula(name):
    for mistake in check.exercise(name).mistakes:
        for piece in ANSWERS[name]:
            assert piece not in mistake.hint, (mistake.slug, piece)


def test_momentum_changed_in_place_is_told_so():
    def in_place(params, grads, velocity, lr, beta=0.9):
        for k in params:
            velocity[k] = beta * velocity[k] + grads[k]
            params[k] -= lr * velocity[k]
        return params, velocity

    result = failure(check.momentum_step, in_place)
    assert result.stage == "inplace"
    assert "momentum_step changed its argument params['W1'] in place" in result.message
    assert "[momentum-in-place]" in result.message


def _agree(exercise, variant, case) -> bool:
    expected, got = observe(exercise.reference, case), observe(variant, case)
    return all(np.allclose(np.asarray(got.output[i][k]), np.asarray(expected.output[i][k]),
                           rtol=exercise.rtol, atol=exercise.atol)
               for i in range(3) for k in expected.output[i])


def test_only_tiny_gradients_tell_where_eps_goes():
    exercise = check.exercise("adam_step")
    eps_inside = next(m for m in exercise.mistakes if m.slug == "eps-inside-sqrt").variant
    agree = {case.label: _agree(exercise, eps_inside, case) for case in exercise.cases()}
    assert [label for label, same in agree.items() if not same] == [
        next(label for label in agree if "tiny gradients" in label)]


def test_visible_cases_hold_a_first_step_a_tie_and_unequal_layer_sizes():
    adam = check.exercise("adam_step").cases()
    assert any(case.args[4] == 1 and all(not m.any() for m in case.args[2].values())
               for case in adam)
    ties = [case.args[0] for case in check.exercise("early_stopping").cases()]
    assert any(len(set(losses)) < len(losses) for losses in ties)
    layers = [case.args for case in check.exercise("init_std").cases()]
    assert {scheme for d_in, d_out, scheme in layers if d_in != d_out} == {"xavier", "he"}
    momentum = check.exercise("momentum_step").cases()
    assert any(any(v.any() for v in case.args[2].values()) for case in momentum)
    assert any(len(case.args) == 4 for case in momentum)  # beta left at its default


# ---------------------------------------------------------------------------------------
# Section 1: the numbers of the initialisation lab
# ---------------------------------------------------------------------------------------


def test_one_layer_multiplies_the_std_by_sqrt_d_in_std_w():
    rng = np.random.default_rng(0)
    A = rng.standard_normal((1000, 100))
    stds = [(A @ (rng.standard_normal((100, 100)) * s)).std() for s in (1.0, 0.1)]
    assert stds[0] == pytest.approx(10, rel=0.05)
    assert stds[1] == pytest.approx(1, rel=0.05)
    assert "grows tenfold in one layer" in text("schemes")


@pytest.fixture(scope="module")
def stacks():
    return {(a, s): refimpl.deep_stack_statistics(a, s)
            for a in ("sigmoid", "tanh", "relu") for s in refimpl.INIT_SCHEMES}


def _per_layer(std: np.ndarray) -> float:
    """The mean factor per layer from layer 1 to layer 10."""
    return float((std[-1] / std[0]) ** (1 / (len(std) - 1)))


def test_relu_explodes_with_n01_fades_with_xavier_and_stays_steady_with_he(stacks):
    normal, xavier, he = (stacks["relu", s] for s in ("normal", "xavier", "he"))
    assert _per_layer(normal.activation_std) == pytest.approx(np.sqrt(100 / 2), rel=0.05)
    assert 1e8 <= normal.activation_std[-1] < 1e9  # hundreds of millions
    assert normal.gradient_std[0] > 1e7  # just as inflated
    assert refimpl.init_std(100, 100, "xavier") == pytest.approx(0.1)
    assert _per_layer(xavier.activation_std) == pytest.approx(1 / np.sqrt(2), rel=0.05)
    assert _per_layer(xavier.gradient_std[::-1]) == pytest.approx(1 / np.sqrt(2), rel=0.05)
    assert 2 / 3 < he.activation_std[-1] / he.activation_std[0] < 1.5
    assert 2 / 3 < he.gradient_std[0] < 1.5
    assert "reach hundreds of millions at layer 10" in text("stack_result")


def test_tanh_saturates_with_n01_and_keeps_its_gradient_with_xavier_and_he(stacks):
    normal = stacks["tanh", "normal"]
    assert saturated_shares("tanh", normal.activations)[-1] > 0.5  # most units at -1 or 1
    assert normal.gradient_std[0] > 100
    for scheme in ("xavier", "he"):
        assert 1 / 3 < stacks["tanh", scheme].gradient_std[0] < 3
    assert "within a factor of 3" in text("stack_result")


def test_sigmoid_loses_its_gradient_at_any_scale(stacks):
    assert refimpl.sigmoid_prime(np.linspace(-5, 5, 1001)).max() == pytest.approx(0.25)
    for scheme in ("xavier", "he"):
        assert stacks["sigmoid", scheme].gradient_std[0] < 1e-4
    assert saturated_shares("sigmoid", stacks["sigmoid", "normal"].activations)[-1] >= 0.25
    assert "below $10^{-4}$" in text("stack_result")


# ---------------------------------------------------------------------------------------
# Section 2: momentum against the crawl, Adam's scale, the explorer's things to try
# ---------------------------------------------------------------------------------------


def _steps(a: float, optimizer: str, beta: float = 0.9) -> int | None:
    f = lambda w: w[0] ** 2 + a * w[1] ** 2  # noqa: E731
    grad_f = lambda w: np.array([2 * w[0], 2 * a * w[1]])  # noqa: E731
    _, losses = refimpl.optimizer_path(f, grad_f, np.array([-4.0, 1.0]), optimizer, 0.9 / a,
                                       2000, beta1=beta)
    return refimpl.steps_to_reach(losses, 1e-4)


def test_momentum_pays_more_the_narrower_the_valley():
    bowl = {beta: _steps(10.0, "momentum", beta) for beta in (0.5, 0.8, 0.9)}
    assert bowl[0.5] <= 0.6 * _steps(10.0, "sgd")  # nearly halves
    assert bowl[0.9] > _steps(10.0, "sgd")  # slower than plain descent
    narrow_sgd = _steps(100.0, "sgd")
    assert 200 <= narrow_sgd < 1000  # hundreds of steps
    assert _steps(100.0, "momentum", 0.8) <= narrow_sgd / 5
    said = text("race_result")
    assert "nearly halves the steps" in said
    assert "five times fewer" in said


def test_adams_first_step_is_lr_whatever_the_gradients_size():
    params = {"W": np.zeros(3)}
    zeros = refimpl.zeros_like_params(params)
    for size in (1e-4, 1.0, 1e4):
        grads = {"W": size * np.array([2.0, -0.5, 1.0])}
        new, _, _ = refimpl.adam_step(params, grads, zeros, zeros, 1)
        np.testing.assert_allclose(new["W"], -0.001 * np.sign(grads["W"]), rtol=1e-3)
    assert refimpl.ADAM_DEFAULTS["lr"] == 0.001
    assert "ten times too small" in text("adam_intro")  # (1 - 0.9) g


def test_gradient_descent_with_adams_learning_rate_barely_moves_07s_network():
    X, y = refimpl.study_sleep()
    X_train, _, y_train, _ = refimpl.train_test_split(X, y, seed=0)
    X_std, _, _ = refimpl.standardize(X_train)
    start = refimpl.init_231(seed=1)
    _, cache = refimpl.forward_231(X_std, start)
    grads = refimpl.backward_231(X_std, y_train, start, cache, loss="bce")
    typical = np.median(np.concatenate([np.abs(g).ravel() for g in grads.values()]))
    assert 0.01 <= typical < 0.1  # lr = 1: a few hundredths; lr = 0.001: hundred-thousandths
    loss = {(lr, epochs): refimpl.loss_231(
        X_std, y_train, refimpl.train(X_std, y_train, start, lr=lr, epochs=epochs)[0], loss="bce")
        for lr, epochs in ((0.001, 2000), (1.0, 2), (1.0, 2000))}
    assert round(loss[0.001, 2000], 2) == round(loss[1.0, 2], 2) == 0.47
    assert loss[1.0, 2000] < 0.05  # where 07's training ended
    assert "2000 epochs at $\\eta = 0.001$ would get about as far as 2 epochs at $\\eta = 1$" \
        in text("gd_scale_result")


@pytest.mark.parametrize(("notebook", "setting"), [
    ("07_training", "lr=1.0"), ("08_why_backprop", "lr=0.3"), ("09_classifier", "lr=0.1")])
def test_the_learning_rates_notebooks_07_to_09_trained_with(notebook, setting):
    code = [c.source for c in source_notebook(notebook).cells if c.cell_type == "code"]
    assert any(setting in source for source in code)


def _run(surface: str, lr: float, beta: float = 0.9) -> dict[str, tuple]:
    """Per optimiser: the step that reached the surface's target (None: not in MAX_STEPS
    steps), the last finite loss, and whether the run diverged (a loss or point not finite)."""
    land = SURFACES[surface]
    runs = {}
    for optimizer in refimpl.OPTIMIZERS:
        _, losses = refimpl.optimizer_path(land.f, land.grad, land.start, optimizer, lr,
                                           MAX_STEPS, beta1=beta)
        finite = losses[np.isfinite(losses)]
        runs[optimizer] = (refimpl.steps_to_reach(losses, land.target), float(finite[-1]),
                           len(finite) < len(losses) or finite[-1] > 1e6)
    return runs


def _slider(exponent: float) -> float:
    """A value the explorer's log slider takes (steps of 0.05 in the exponent)."""
    return 10.0 ** exponent


def test_explorer_try_1_and_2_the_bowl():
    default = _run("bowl", SURFACES["bowl"].lr)
    assert SURFACES["bowl"].lr == 0.01
    assert default["momentum"][0] <= SURFACES["bowl"].steps
    assert SURFACES["bowl"].steps < default["sgd"][0] <= MAX_STEPS == 300
    assert default["adam"][0] is None
    assert _run("bowl", _slider(-1.05))["sgd"][0] is not None  # about 0.09
    for exponent in (-1.0, -0.7, -0.3, 0.0):
        assert _run("bowl", _slider(exponent))["sgd"][0] is None  # 0.1 and above: no
    assert _run("bowl", 0.1)["momentum"][0] is not None
    assert _run("bowl", _slider(-0.7))["momentum"][2]  # 0.2: diverges
    for exponent in np.arange(-1.0, 0.01, 0.05):
        assert _run("bowl", _slider(exponent))["adam"][0] is not None


def test_explorer_try_3_little_momentum_beats_descent_much_spirals():
    lr = _slider(-1.05)
    assert _run("bowl", lr, 0.5)["momentum"][0] < _run("bowl", lr, 0.5)["sgd"][0]
    spiral = _run("bowl", lr, 0.99)["momentum"][0]
    assert spiral is None or spiral > _run("bowl", lr, 0.5)["momentum"][0]


def test_explorer_try_4_the_curved_valley():
    slow = _run("valley", 0.01)
    assert slow["sgd"][0] is None
    assert slow["momentum"][0] is not None
    for exponent in np.arange(-1.5, 0.01, 0.05):
        run = _run("valley", _slider(exponent))
        assert run["sgd"][2]
        assert run["momentum"][2]
    for exponent in np.arange(-1.3, 0.01, 0.05):
        assert _run("valley", _slider(exponent))["adam"][0] is not None


def test_explorer_try_5_the_plateau():
    run = _run("plateau", SURFACES["plateau"].lr)
    assert SURFACES["plateau"].lr == 0.1
    assert run["sgd"][1] > 0.9  # barely moved from the plateau's height 1
    assert run["adam"][0] < run["momentum"][0] <= MAX_STEPS


# ---------------------------------------------------------------------------------------
# Section 3: the overfitting run and the tiny batch
# ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def digits():
    X_rest, _, labels_rest, _ = refimpl.load_digits_split(seed=0)
    return (X_rest[:100], refimpl.one_hot(labels_rest[:100]), labels_rest[:100],
            X_rest[100:500], refimpl.one_hot(labels_rest[100:500]), labels_rest[100:500])


@pytest.fixture(scope="module")
def runs(digits):
    X, Y, _, X_val, Y_val, _ = digits
    start = refimpl.init_mlp([64, 64, 10], seed=0)
    setting = {"optimizer": "adam", "lr": 0.01, "epochs": 100, "batch_size": 10,
               "X_val": X_val, "Y_val": Y_val}
    return {"plain": refimpl.fit_classifier(X, Y, start, **setting),
            "l2": refimpl.fit_classifier(X, Y, start, lam=0.003, **setting),
            "early": refimpl.fit_classifier(X, Y, start, patience=10, **setting)}


def test_the_early_stopping_example():
    losses = [1.0, 0.8, 0.7, 0.75, 0.72, 0.69, 0.71, 0.73, 0.74, 0.8]
    assert refimpl.early_stopping(losses, 3) == (5, 8)
    improves = [e for e in range(len(losses)) if all(losses[e] < x for x in losses[:e])]
    assert improves == [0, 1, 2, 5]
    assert "training stops at epoch 8, with best epoch 5" in text("early")


def test_the_plain_run_memorises_and_its_validation_loss_climbs_by_a_third(runs, digits):
    plain = runs["plain"]
    assert np.flatnonzero(plain.train_accuracy == 1.0)[0] < 10  # within a few epochs
    lowest = int(np.argmin(plain.val_loss))
    assert lowest < 20  # early
    assert 1.25 <= plain.val_loss[-1] / plain.val_loss[lowest] <= 1.45  # about a third
    right = refimpl.label_accuracy(refimpl.predict_labels(digits[3], plain.params), digits[5])
    assert 0.87 <= right <= 0.93  # near 90 %
    assert "climbs by about a third" in text("overfit_result")
    assert "stays near 90 %" in text("overfit_result")


def test_l2_keeps_the_validation_loss_near_its_lowest_and_early_stopping_stops_10_later(runs):
    plain, l2, early = runs["plain"], runs["l2"], runs["early"]
    assert l2.train_loss[-1] > plain.train_loss[-1]
    assert l2.val_loss[-1] / l2.val_loss.min() < 1.1
    assert early.stopped_epoch == early.best_epoch + 10 == int(np.argmin(plain.val_loss)) + 10


def test_notebook_09s_network_on_all_training_images_gets_96_percent():
    X, X_test, labels, labels_test = refimpl.load_digits_split(seed=0)
    assert X.shape[0] == 1348
    trained, _ = refimpl.train_classifier(X, refimpl.one_hot(labels),
                                          refimpl.init_mlp([64, 32, 10], seed=0), lr=0.1,
                                          epochs=30, batch_size=32, seed=0)
    right = refimpl.label_accuracy(refimpl.predict_labels(X_test, trained), labels_test)
    assert 0.955 <= right < 0.97  # about 96 %, as notebook 09 says
    assert "the 96 % that notebook 09's network reached with all 1348" in text("overfit_result")


def _without_relu_derivative(X, Y, params):
    """classifier_gradients that skips relu_backward between the layers."""
    loss, _ = refimpl.classifier_gradients(X, Y, params)
    Z1 = X @ params["W1"] + params["b1"]
    A1 = refimpl.relu(Z1)
    dZ2 = refimpl.softmax_cross_entropy_backward(A1 @ params["W2"] + params["b2"], Y)
    dA1, dW2, db2 = refimpl.dense_backward(dZ2, A1, params["W2"])
    _, dW1, db1 = refimpl.dense_backward(dA1, X, params["W1"])
    return loss, {"W1": dW1, "b1": db1, "W2": dW2, "b2": db2}


def _with_a_sign_slip(X, Y, params):
    loss, grads = refimpl.classifier_gradients(X, Y, params)
    return loss, grads | {"W1": -grads["W1"]}


@pytest.mark.parametrize(("gradients", "fits"), [
    (refimpl.classifier_gradients, True), (_without_relu_derivative, True),
    (_with_a_sign_slip, False)], ids=["right", "no-relu-derivative", "sign-slip"])
def test_a_tiny_batch_is_fit_by_the_right_gradients_not_by_a_sign_slip(gradients, fits, digits):
    X, Y, labels = digits[:3]
    first = [int(np.flatnonzero(labels == digit)[0]) for digit in range(10)]
    params = refimpl.init_mlp([64, 32, 10], seed=0)
    for _ in range(100):
        _, grads = gradients(X[first], Y[first], params)
        params = refimpl.gd_step(params, grads, lr=0.3)
    Z, _ = refimpl.classifier_forward(X[first], params)
    loss = refimpl.cross_entropy(Z, Y[first])
    right = refimpl.label_accuracy(refimpl.predict_labels(X[first], params), np.arange(10))
    if fits:
        assert loss < 0.05
        assert right == 1.0
    else:
        assert loss == pytest.approx(np.log(10), abs=0.2)  # a guess's loss: near chance
        assert right <= 0.2
    assert "a forgotten ReLU derivative" in text("tiny_result")
