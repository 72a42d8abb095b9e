"""The training explorer of notebook 07: every control draws finite values, runs are trained once,
dead units, symmetry and divergence show, and still parts are rendered once per width. (The runs
themselves: ``test_refimpl_examples.py``; fallbacks and frames: ``test_viz_explorers.py``.)"""

import itertools

import numpy as np
import pytest

import refimpl.examples
from refimpl.diagnostics import identical_units
from refimpl.examples import training_run
from refimpl.viz.training import (
    EPOCHS,
    INIT_OPTIONS,
    LEARNING_RATES,
    SEEDS,
    WIDTHS,
    TrainingExplorer,
)
from viz_tools import count_full_renders, pixels

INITS = [value for _, value in INIT_OPTIONS]


@pytest.fixture(scope="module")
def explorer():
    return TrainingExplorer()


def epoch_levels(explorer):
    stops = explorer.controls["epoch"].options
    return (stops[0], stops[len(stops) // 2], stops[-1])


def lr_levels():
    return (LEARNING_RATES[0], LEARNING_RATES[len(LEARNING_RATES) // 2], LEARNING_RATES[-1])


def sweep():
    """Every initialisation with the smallest, middle and largest learning rate; every width and
    every seed at the middle one; and the widest network at the largest learning rate."""
    middle = lr_levels()[1]
    combos = [
        {"init": init, "lr": lr, "width": 3, "seed": 1}
        for init, lr in itertools.product(INITS, lr_levels())
    ]
    combos += [{"init": "he", "lr": middle, "width": w, "seed": 1} for w in WIDTHS]
    combos += [{"init": "he", "lr": middle, "width": 3, "seed": s} for s in SEEDS]
    combos += [{"init": "normal", "lr": LEARNING_RATES[-1], "width": WIDTHS[-1], "seed": 0}]
    return combos


def test_every_control_draws_finite_values(explorer):
    statuses = set()
    for values in sweep():
        for epoch in epoch_levels(explorer):
            drawn = explorer.update(**values, epoch=epoch)  # numpy warnings are errors here
            for name, array in drawn.items():
                assert np.all(np.isfinite(np.asarray(array, dtype=np.float64))), (
                    f"{name} has nan/inf at {values}, epoch {epoch}"
                )
            assert drawn["active"].shape == (values["width"],)
            assert np.all((drawn["accuracy"] >= 0) & (drawn["accuracy"] <= 1))
        statuses.add(
            training_run(values["lr"], values["width"], values["init"], values["seed"]).status
        )
    assert statuses == {"completed", "diverged"}


def test_the_controls_offer_the_stated_options(explorer):
    assert [w for _, w in explorer.controls["width"].options] == list(WIDTHS)
    assert [v for _, v in explorer.controls["init"].options] == INITS
    assert [v for _, v in explorer.controls["lr"].options] == list(LEARNING_RATES)
    stops = explorer.controls["epoch"].options
    assert stops[0] == 0
    assert stops[-1] == EPOCHS
    assert list(stops) == sorted(set(stops))


def test_the_trained_network_fits_and_its_gradient_norm_falls(explorer):
    drawn = explorer.update(lr=1.0, width=3, init="he", seed=1, epoch=EPOCHS)
    train_right, test_right = drawn["accuracy"]
    assert train_right >= 0.97
    assert test_right >= 0.9
    assert drawn["grad_norms"][-1] < drawn["grad_norms"][0] / 50
    assert drawn["losses"][-1] < drawn["losses"][0] / 20


def test_the_epoch_slider_only_redraws(explorer, monkeypatch):
    explorer.update(lr=1.0, width=3, init="he", seed=1, epoch=0)

    def no_training(*args, **kwargs):
        raise AssertionError("the epoch slider must not train again")

    monkeypatch.setattr(refimpl.examples, "train", no_training)  # what training_run calls
    frames = set()
    for epoch in explorer.controls["epoch"].options[::4]:
        explorer.update(epoch=epoch)
        frames.add(explorer.image.value)
    assert len(frames) > 5  # the frames differ


def test_a_new_run_or_a_width_seen_before_renders_no_still_parts(explorer, monkeypatch):
    for width in WIDTHS:
        explorer.update(lr=1.0, width=width, init="he", seed=1, epoch=40)
    rendered = count_full_renders(monkeypatch)
    for width in (*WIDTHS, 3):
        explorer.update(width=width)
    explorer.update(lr=0.3, init="normal", seed=4)  # a new run, at width 3
    assert rendered == []
    fresh = TrainingExplorer(lr=0.3, width=3, init="normal", seed=4, epoch=40)
    fresh.update()
    np.testing.assert_array_equal(pixels(explorer.image.value), pixels(fresh.image.value))


def test_dead_units_are_found_and_labelled(explorer):
    drawn = explorer.update(lr=10.0, width=3, init="he", seed=1, epoch=EPOCHS)
    assert drawn["dead"].all()
    assert "all dead" in explorer.units_note.get_text()
    np.testing.assert_array_equal(explorer.dead_marks.get_xdata(), [0, 1, 2])
    drawn = explorer.update(lr=1.0, seed=0)
    assert drawn["dead"].sum() == 1  # one unit dies during training, the others fit the data
    assert "1 dead" in explorer.units_note.get_text()
    drawn = explorer.update(seed=1)
    assert not drawn["dead"].any()
    assert not explorer.units_note.get_visible()


def test_a_symmetric_start_keeps_the_hidden_units_identical(explorer):
    drawn = explorer.update(lr=1.0, width=3, init="same", seed=1, epoch=EPOCHS)
    assert "identical" in explorer.units_note.get_text()
    assert np.ptp(drawn["active"]) == 0.0
    run = training_run(1.0, 3, "same", 1)
    assert all(identical_units(run.params(k)) for k in (0, 10, EPOCHS))
    assert not np.allclose(run.params(EPOCHS)["W1"], run.params(0)["W1"])  # yet they learned


def test_a_diverging_run_raises_the_alarm(explorer):
    drawn = explorer.update(lr=100.0, width=3, init="he", seed=1, epoch=EPOCHS)
    assert explorer.alarm.get_visible()
    assert "DIVERGED" in explorer.alarm.get_text()
    assert "Training stopped" in explorer.note.value
    assert "the run stopped here" in explorer.loss_readout.get_text()
    assert len(drawn["losses"]) < 10
    explorer.update(lr=1.0)
    assert not explorer.alarm.get_visible()
