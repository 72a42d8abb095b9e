"""The optimiser explorer of notebook 10: every slider setting draws finite values, momentum cures
the bowl's crawl and Adam the plateau's, a diverged run is said in red, the steps slider only
redraws, the learner's momentum_step and adam_step are used when they work and the reference
with a note when they do not, frames equal a fresh full drawing, and the surfaces' gradients are
right."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

import refimpl
import refimpl.viz._core
import refimpl.viz.optimizers as optimizers_module
from refimpl.examples import bowl
from refimpl.gradcheck import numerical_gradient
from refimpl.viz._style import ALARM_COLOUR
from refimpl.viz.optimizers import MAX_STEPS, SURFACES, OptimizerExplorer
from viz_tools import assert_finite, count_full_renders, crashing, pixels, stub


@pytest.fixture(scope="module")
def explorer():
    return OptimizerExplorer()


def slider_grid(explorer, surface):
    """min, mid and max of every slider of one surface, combined."""
    explorer.update(surface=surface)
    lr = explorer.controls["lr"]
    low, high = 10.0**lr.min, 10.0**lr.max
    levels = {
        "lr": (low, np.sqrt(low * high), high),
        "beta": (0.0, 0.5, 0.99),
        "steps": (1, MAX_STEPS // 2, MAX_STEPS),
    }
    for combination in itertools.product(*levels.values()):
        yield dict(zip(levels, combination, strict=True))


@pytest.mark.parametrize("surface", sorted(SURFACES))
def test_every_slider_combination_draws_finite_values(explorer, surface):
    diverged = []
    for values in slider_grid(explorer, surface):
        drawn = explorer.update(**values)  # pytest turns any numpy warning into an error
        assert_finite(drawn, values)
        for name in refimpl.OPTIMIZERS:
            assert len(drawn[f"{name}_path"]) == len(drawn[f"{name}_losses"])
            assert len(drawn[f"{name}_losses"]) <= values["steps"] + 1
        diverged.extend(drawn["diverged"])
    assert not all(diverged)
    if surface != "plateau":  # its slope is at most ~0.5: no learning rate offered diverges
        assert any(diverged)


def test_the_three_runs_share_the_start(explorer):
    drawn = explorer.update(surface="valley", lr=0.01, beta=0.9, steps=20)
    for name in refimpl.OPTIMIZERS:
        np.testing.assert_array_equal(drawn[f"{name}_path"][0], SURFACES["valley"].start)


@pytest.mark.parametrize("lr", [0.003, 0.01, 0.02])
def test_momentum_reaches_the_bowls_minimum_in_fewer_steps_than_sgd(explorer, lr):
    drawn = explorer.update(surface="bowl", lr=lr, beta=0.9, steps=MAX_STEPS)
    sgd, momentum, _ = drawn["reached"]
    assert momentum > 0
    assert sgd == -1 or momentum < sgd
    assert "≤ 0.001 at step" in explorer.titles["momentum"].get_text()


def test_adam_crosses_the_plateau_where_sgd_stays_stuck(explorer):
    drawn = explorer.update(surface="plateau", lr=0.1, beta=0.9, steps=150)
    sgd, momentum, adam = drawn["reached"]
    assert sgd == -1
    assert 0 < adam < momentum
    assert drawn["final_loss"][0] > 0.99  # SGD has hardly moved


def test_the_sgd_path_is_reference_gradient_descent(explorer):
    drawn = explorer.update(surface="bowl", lr=0.03, beta=0.9, steps=25)
    path, _ = refimpl.gradient_descent(
        bowl, lambda w: np.array([2 * w[0], 20 * w[1]]), np.array([-4.0, 2.0]), 0.03, 25
    )
    np.testing.assert_allclose(drawn["sgd_path"], path, rtol=1e-12)


def test_beta_zero_makes_momentum_plain_gradient_descent(explorer):
    drawn = explorer.update(surface="valley", lr=0.01, beta=0.0, steps=60)
    np.testing.assert_allclose(drawn["momentum_path"], drawn["sgd_path"], rtol=1e-12)


def test_a_diverged_run_is_said_in_red(explorer):
    drawn = explorer.update(surface="bowl", lr=0.3, beta=0.9, steps=100)
    assert list(drawn["diverged"]) == [True, True, False]
    for name in ("sgd", "momentum"):
        title = explorer.titles[name]
        assert "DIVERGED at step" in title.get_text()
        assert title.get_color() == ALARM_COLOUR
        assert explorer.diverged_lines[name].get_visible()
        assert len(drawn[f"{name}_losses"]) < 101  # the curve stops at the divergence
    drawn = explorer.update(lr=0.01)
    assert not drawn["diverged"].any()
    assert explorer.titles["sgd"].get_color() == "black"
    assert not any(line.get_visible() for line in explorer.diverged_lines.values())


def test_the_steps_slider_only_redraws(explorer, monkeypatch):
    explorer.update(surface="bowl", lr=0.02, beta=0.8, steps=100)

    def no_new_run(*args, **kwargs):
        raise AssertionError("moving the steps slider must not run the optimisers again")

    monkeypatch.setattr(optimizers_module, "optimizer_path", no_new_run)
    long = explorer.update(steps=MAX_STEPS)
    short = explorer.update(steps=10)
    np.testing.assert_array_equal(short["adam_path"], long["adam_path"][:11])


def test_switching_the_surface_sets_its_ranges(explorer):
    explorer.update(surface="bowl")
    assert explorer.controls["lr"].max == SURFACES["bowl"].lr_range[1]
    explorer.update(surface="plateau")
    assert explorer.controls["lr"].max == SURFACES["plateau"].lr_range[1]
    assert explorer.controls["lr"].value == pytest.approx(SURFACES["plateau"].lr)
    explorer.update(surface="bowl", lr=0.05)
    assert explorer.controls["lr"].value == pytest.approx(0.05)


@pytest.mark.parametrize("name", sorted(SURFACES))
def test_each_surface_has_its_gradient_and_its_minimum(name):
    surface = SURFACES[name]
    rng = np.random.default_rng(0)
    low = np.array(surface.box[::2])
    high = np.array(surface.box[1::2])
    for w in rng.uniform(low, high, size=(5, 2)):
        np.testing.assert_allclose(
            surface.grad(w), numerical_gradient(surface.f, w.copy(), 1e-6), rtol=1e-5, atol=1e-7
        )
    assert surface.f(np.array(surface.minimum)) == 0.0
    np.testing.assert_array_equal(surface.grad(np.array(surface.minimum)), [0.0, 0.0])


def test_the_bowl_is_notebook_04s():
    w = np.array([1.5, -0.7])
    assert SURFACES["bowl"].f(w) == bowl(w)


# -- the learner's step functions ------------------------------------------------------------------


def learner_momentum_step(params, grads, velocity, lr, beta=0.9):
    new_velocity = {key: beta * velocity[key] + grads[key] for key in params}
    return {key: params[key] - lr * new_velocity[key] for key in params}, new_velocity


def learner_adam_step(params, grads, m, v, t, lr=0.001, beta1=0.9, beta2=0.999, eps=1e-8):
    new_m = {key: beta1 * m[key] + (1 - beta1) * grads[key] for key in params}
    new_v = {key: beta2 * v[key] + (1 - beta2) * grads[key] ** 2 for key in params}
    new_params = {
        key: params[key]
        - lr * (new_m[key] / (1 - beta1**t)) / (np.sqrt(new_v[key] / (1 - beta2**t)) + eps)
        for key in params
    }
    return new_params, new_m, new_v


def adam_without_bias_correction(params, grads, m, v, t, lr=0.001, beta1=0.9, beta2=0.999,
                                 eps=1e-8):
    """A known mistake, well formed: it is drawn (and moves differently)."""
    new_m = {key: beta1 * m[key] + (1 - beta1) * grads[key] for key in params}
    new_v = {key: beta2 * v[key] + (1 - beta2) * grads[key] ** 2 for key in params}
    return {key: params[key] - lr * new_m[key] / (np.sqrt(new_v[key]) + eps)
            for key in params}, new_m, new_v


def momentum_returning_only_params(params, grads, velocity, lr, beta=0.9):
    return {key: params[key] - lr * grads[key] for key in params}


def adam_with_a_nan(params, grads, m, v, t, lr=0.001, beta1=0.9, beta2=0.999, eps=1e-8):
    new_params, new_m, new_v = learner_adam_step(params, grads, m, v, t, lr, beta1, beta2, eps)
    return {key: np.full_like(value, np.nan) for key, value in new_params.items()}, new_m, new_v


@pytest.mark.parametrize(
    ("momentum_step", "adam_step", "words"),
    [
        (None, None, "Using the reference"),
        (learner_momentum_step, learner_adam_step, "Using your"),
        (stub, stub, "not implemented yet"),
        (crashing, crashing, "raised IndexError"),
        (momentum_returning_only_params, adam_with_a_nan, "unlike the reference"),
    ],
)
def test_the_note_says_whose_step_functions_are_drawn(momentum_step, adam_step, words):
    explorer = OptimizerExplorer(momentum_step, adam_step)
    drawn = explorer.update(surface="bowl", lr=0.01, beta=0.9, steps=100)
    assert_finite(drawn, words)
    assert explorer.note.value.count(words) == 2
    plain = words.replace("<code>", "")
    assert explorer.footer.get_text().count(plain) == 2  # in the figure too
    reference = OptimizerExplorer().update(surface="bowl", lr=0.01, beta=0.9, steps=100)
    for name in refimpl.OPTIMIZERS:  # right or replaced by the reference: the same paths
        np.testing.assert_allclose(
            drawn[f"{name}_path"], reference[f"{name}_path"], rtol=1e-9, atol=1e-12
        )


def test_a_well_formed_wrong_adam_step_is_drawn_as_it_is():
    explorer = OptimizerExplorer(adam_step=adam_without_bias_correction)
    drawn = explorer.update(surface="bowl", lr=0.01, beta=0.9, steps=50)
    assert "Using your <code>adam_step</code>" in explorer.note.value
    reference = OptimizerExplorer().update(surface="bowl", lr=0.01, beta=0.9, steps=50)
    assert not np.allclose(drawn["adam_path"], reference["adam_path"])


# -- frames ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("surface", sorted(SURFACES))
def test_a_redrawn_frame_equals_a_fresh_full_drawing(explorer, surface):
    land = SURFACES[surface]
    explorer.update(surface=surface)
    explorer.update(lr=3 * land.lr, beta=0.5, steps=MAX_STEPS)  # a different frame
    explorer.update(lr=land.lr, beta=0.9, steps=land.steps)
    fresh = OptimizerExplorer(surface=surface)
    fresh.update()
    np.testing.assert_array_equal(pixels(explorer.image.value), pixels(fresh.image.value))


def test_moving_a_control_changes_the_frame(explorer):
    explorer.update(surface="bowl", lr=0.01, beta=0.9, steps=100)
    frames = [explorer.image.value]
    for change in ({"lr": 0.02}, {"beta": 0.5}, {"steps": 50}, {"surface": "valley"}):
        explorer.update(**change)
        assert explorer.image.value not in frames, change
        frames.append(explorer.image.value)


def test_switching_back_to_a_surface_pastes_its_kept_still_layer(explorer, monkeypatch):
    for surface in SURFACES:
        explorer.update(surface=surface)
    rendered = count_full_renders(monkeypatch)
    for surface in ("bowl", "plateau", "valley"):
        explorer.update(surface=surface)
    assert rendered == []


def test_a_shown_explorer_has_every_surface_ready(monkeypatch):
    explorer = OptimizerExplorer()
    explorer.widget()  # shown: every surface's still layer is rendered once
    rendered = count_full_renders(monkeypatch)
    for surface in ("valley", "plateau", "bowl"):
        explorer.update(surface=surface)
    assert rendered == []
    fresh = OptimizerExplorer()
    fresh.update()
    np.testing.assert_array_equal(pixels(explorer.image.value), pixels(fresh.image.value))


def test_displaying_gives_the_widget_and_a_described_static_png(monkeypatch):
    shown = []
    monkeypatch.setattr(refimpl.viz._core, "display", lambda bundle, raw: shown.append(bundle))
    explorer = OptimizerExplorer()
    explorer._ipython_display_()
    [bundle] = shown
    assert bundle["image/png"][:4] == b"\x89PNG"
    assert "application/vnd.jupyter.widget-view+json" in bundle
    alt = explorer.describe()
    for name in ("SGD", "momentum", "Adam"):
        assert f"{name}" in alt
    assert "at step" in alt
