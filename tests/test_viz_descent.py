"""The gradient-descent explorer and the h-error figure of notebook 04: every slider setting draws
finite values without a warning, divergence is shown, the learner's functions are used when
they work, and a switched-back surface pastes its kept still layer. (Fallbacks and frames:
``test_viz_explorers.py``.)"""

import itertools

import numpy as np
import pytest
from matplotlib.figure import Figure

import refimpl
from refimpl.examples import bowl
from refimpl.viz.descent import DescentExplorer, derivative_error_figure
from viz_tools import count_full_renders, crashing, learner_gradient_descent, pixels, stub


# The learner's functions, right (gradient_descent, a stub and a crashing one: viz_tools).
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
