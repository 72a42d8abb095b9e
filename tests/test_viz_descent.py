"""The gradient-descent explorer and the h-error figure of notebook 04: every slider setting draws
finite values without a warning, divergence is shown, the learner's functions are used when
they work, and a fallback note appears when they do not."""

import io
import itertools

import matplotlib.image
import numpy as np
import pytest
from matplotlib.figure import Figure

import refimpl
from refimpl.viz.descent import (
    DescentExplorer,
    bowl,
    derivative_error_figure,
    divergence_step,
    slice_function,
)
from refimpl.viz.surface import example_network
from viz_tools import count_full_renders


def pixels(png: bytes) -> np.ndarray:
    return matplotlib.image.imread(io.BytesIO(png), format="png")


# The learner's functions: right, a stub, broken (wrong shape) and crashing.
def learner_gradient_descent(f, grad_f, x0, lr, steps):
    x = np.array(x0, dtype=np.float64)
    path, losses = [x.copy()], [f(x)]
    for _ in range(steps):
        x = x - lr * grad_f(x)
        path.append(x.copy())
        losses.append(f(x))
    return np.array(path), np.array(losses)


def learner_numerical_gradient(f, x, h):
    grad = np.zeros_like(x)
    for i in range(x.size):
        old = x[i]
        x[i] = old + h
        f_plus = f(x)
        x[i] = old - h
        f_minus = f(x)
        x[i] = old
        grad[i] = (f_plus - f_minus) / (2 * h)
    return grad


def learner_numerical_derivative(f, x, h):
    return (f(x + h) - f(x - h)) / (2 * h)


def stub(*args):
    raise NotImplementedError()


def broken_gradient_descent(f, grad_f, x0, lr, steps):
    path, losses = learner_gradient_descent(f, grad_f, x0, lr, steps)
    return path[1:], losses[1:]  # forgets the starting point


def broken_numerical_gradient(f, x, h):
    return np.zeros(x.size + 1)


def crashing(*args):
    return args[99]


@pytest.fixture(scope="module")
def explorer():
    return DescentExplorer()


def slider_grid(explorer, surface):
    """min, mid and max of every slider of one surface, combined."""
    explorer.update(surface=surface)
    levels = {}
    for name in ("lr", "steps", "start_a", "start_b"):
        control = explorer.controls[name]
        if name == "lr":  # a log slider: min and max are exponents
            low, high = 10.0**control.min, 10.0**control.max
            levels[name] = (low, np.sqrt(low * high), high)
        else:
            low, high = control.min, control.max
            middle = (low + high) // 2 if name == "steps" else (low + high) / 2
            levels[name] = (low, middle, high)
    for combination in itertools.product(*levels.values()):
        yield dict(zip(levels, combination, strict=True))


@pytest.mark.parametrize("surface", ["bowl", "slice"])
def test_every_slider_combination_draws_finite_values(explorer, surface):
    diverged = []
    for values in slider_grid(explorer, surface):
        drawn = explorer.update(**values)  # pytest turns any numpy warning into an error
        for name, array in drawn.items():
            assert np.all(np.isfinite(array)), f"{name} has nan/inf at {values}"
        assert len(drawn["path"]) == len(drawn["losses"]) <= values["steps"] + 1
        diverged.append(bool(drawn["diverged"]))
    assert any(diverged)
    assert not all(diverged)


def test_a_large_learning_rate_diverges_plainly(explorer):
    explorer.update(surface="bowl", lr=0.3, steps=100, start_a=-4.0, start_b=2.0)
    drawn = explorer.update(lr=0.3)
    assert drawn["diverged"]
    assert "diverged at step" in explorer.diverged_text.get_text()
    assert explorer.diverged_text.get_visible()
    assert len(drawn["losses"]) < 101  # the curve stops at the divergence
    drawn = explorer.update(lr=0.02)
    assert not drawn["diverged"]
    assert not explorer.diverged_text.get_visible()


def test_the_bowl_path_is_reference_gradient_descent(explorer):
    drawn = explorer.update(surface="bowl", lr=0.03, steps=25, start_a=3.0, start_b=-1.5)
    exact = refimpl.gradient_descent(
        bowl, lambda w: np.array([2 * w[0], 20 * w[1]]), np.array([3.0, -1.5]), 0.03, 25
    )
    np.testing.assert_allclose(drawn["path"], exact[0], rtol=1e-6, atol=1e-8)


def test_the_slice_is_the_network_loss_with_two_entries_changed():
    X, y, params = example_network()
    f = slice_function(X, y, params["trained"], ("W1", (1, 0)), ("W2", (0, 0)))
    changed = {key: value.copy() for key, value in params["trained"].items()}
    changed["W1"][1, 0], changed["W2"][0, 0] = -1.5, 2.0
    assert f(np.array([-1.5, 2.0])) == pytest.approx(refimpl.loss_231(X, y, changed, "bce"))


def test_switching_the_surface_sets_its_ranges(explorer):
    explorer.update(surface="bowl")
    bowl_max = explorer.controls["lr"].max
    explorer.update(surface="slice")
    assert explorer.controls["lr"].max > bowl_max
    assert "W1[1, 0]" in explorer.controls["start_a"].description
    explorer.update(surface="bowl", lr=0.05)
    assert explorer.controls["lr"].value == pytest.approx(0.05)
    assert explorer.controls["start_a"].description == "start w1"


def test_the_learner_functions_are_used_when_they_work_even_when_the_run_diverges():
    explorer = DescentExplorer(learner_gradient_descent, learner_numerical_gradient)
    for lr in (0.01, 0.3):
        explorer.update(surface="bowl", lr=lr, steps=100)
        assert "Using your <code>gradient_descent</code>" in explorer.note.value
        assert "Using your <code>numerical_gradient</code>" in explorer.note.value
    explorer.update(surface="slice", lr=100.0)
    assert "Using your <code>gradient_descent</code>" in explorer.note.value


@pytest.mark.parametrize(
    ("gradient_descent", "numerical_gradient", "words"),
    [
        (stub, stub, "not implemented yet"),
        (broken_gradient_descent, broken_numerical_gradient, "unlike the reference"),
        (crashing, crashing, "raised"),
    ],
)
def test_the_fallback_note_appears_for_a_stub_or_a_broken_function(
    gradient_descent, numerical_gradient, words
):
    explorer = DescentExplorer(gradient_descent, numerical_gradient)
    drawn = explorer.update(lr=0.05)
    assert explorer.note.value.count(words) == 2
    assert "reference" in explorer.note.value
    assert np.all(np.isfinite(drawn["path"]))


def test_divergence_step_follows_the_training_rule():
    assert divergence_step(np.array([1.0, 0.5, 0.1])) is None
    assert divergence_step(np.array([1.0, 10.0, 2e3, 5.0])) == 2
    assert divergence_step(np.array([1.0, np.inf, np.nan])) == 1
    assert divergence_step(np.array([np.nan, 1.0])) == 0


def test_moving_a_slider_changes_the_frame(explorer):
    explorer.update(surface="bowl", lr=0.02, steps=40, start_a=-4.0, start_b=2.0)
    before = explorer.image.value
    explorer.update(lr=0.05)
    assert explorer.image.value != before
    explorer.update(steps=10)
    assert explorer.image.value != before


@pytest.mark.parametrize("surface", ["bowl", "slice"])
def test_a_redrawn_frame_equals_a_fresh_full_drawing(explorer, surface):
    """The still parts are drawn once and reused: no trace of an earlier frame may remain."""
    explorer.update(surface=surface)
    values = {name: explorer.controls[name].value for name in ("lr", "steps")}
    explorer.update(lr=explorer.controls["lr"].value * 3, steps=100)  # a different frame first
    explorer.update(**values)
    fresh = DescentExplorer(surface=surface)
    fresh.update(**values)
    np.testing.assert_array_equal(pixels(explorer.image.value), pixels(fresh.image.value))


@pytest.mark.parametrize(
    ("learner", "words"),
    [
        (None, "Using the reference"),
        (learner_numerical_derivative, "Using your"),
        (stub, "not implemented yet"),
        (crashing, "raised"),
    ],
)
def test_the_h_error_figure_shows_both_differences_and_whose_function(learner, words):
    fig = derivative_error_figure(learner)
    assert isinstance(fig, Figure)
    assert words in fig.get_supxlabel()
    forward, central = (line.get_ydata() for line in fig.axes[0].get_lines()[:2])
    assert np.all(np.isfinite(forward))
    assert np.all(np.isfinite(central))
    assert central.min() < 1e-10 < forward.min()  # central differences get much closer


def test_switching_back_to_a_surface_pastes_its_kept_still_layer(explorer, monkeypatch):
    explorer.update(surface="bowl")
    explorer.update(surface="slice")
    rendered = count_full_renders(monkeypatch)
    for surface in ("bowl", "slice", "bowl"):
        explorer.update(surface=surface)
    assert rendered == []
    fresh = DescentExplorer(surface="bowl")
    fresh.update()
    np.testing.assert_array_equal(pixels(explorer.image.value), pixels(fresh.image.value))
