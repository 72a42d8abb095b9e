"""The training explorer of notebook 07: every control draws finite values, runs are the reference
runs and are trained once, dead units, symmetry and divergence show, fallbacks appear, and still
parts are rendered once per width."""

import io
import itertools

import matplotlib.image
import numpy as np
import pytest

import refimpl
import refimpl.viz.training as training
from refimpl.viz.training import (
    EPOCHS,
    INIT_OPTIONS,
    LEARNING_RATES,
    SEEDS,
    WIDTHS,
    TrainingExplorer,
    dead_units,
    identical_units,
    initial_params,
    training_data,
    training_run,
)
from viz_tools import count_full_renders

INITS = [value for _, value in INIT_OPTIONS]


def pixels(png: bytes) -> np.ndarray:
    return matplotlib.image.imread(io.BytesIO(png), format="png")


def learner_accuracy(labels, y):
    return float(np.mean(labels == y))


def stub_accuracy(labels, y):
    raise NotImplementedError()


def accuracy_as_percent_array(labels, y):
    return np.mean(labels == y, axis=0) * 100  # an array of shape (1,), not a float


def crashing_accuracy(labels, y):
    return labels[len(labels)]  # IndexError


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


def test_a_run_is_the_reference_run_on_the_standardized_split():
    data = training_data()
    X, y = refimpl.study_sleep()
    X_train, _, y_train, y_test = refimpl.train_test_split(X, y, test_fraction=0.25, seed=0)
    np.testing.assert_array_equal(data.X_train, X_train)
    np.testing.assert_array_equal(data.y_test, y_test)
    np.testing.assert_allclose(data.X_train_std.mean(axis=0), 0.0, atol=1e-12)
    trained, history = refimpl.train(
        data.X_train_std, y_train, refimpl.init_231(seed=1), lr=1.0, epochs=EPOCHS
    )
    run = training_run(1.0, 3, "he", 1)
    assert run.epochs_recorded == EPOCHS + 1
    np.testing.assert_allclose(run.losses[:-1], history.losses)
    np.testing.assert_allclose(run.grad_norms[:-1], history.grad_norms)
    for key, value in trained.items():
        np.testing.assert_allclose(run.params(EPOCHS)[key], value)
    assert run.losses[-1] == pytest.approx(
        refimpl.loss_231(data.X_train_std, y_train, trained, "bce")
    )


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

    monkeypatch.setattr(training, "train", no_training)
    frames = set()
    for epoch in explorer.controls["epoch"].options[::4]:
        explorer.update(epoch=epoch)
        frames.add(explorer.image.value)
    assert len(frames) > 5  # the frames differ


def test_moving_the_epoch_slider_changes_the_frame(explorer):
    explorer.update(lr=1.0, width=3, init="he", seed=1, epoch=10)
    before = explorer.image.value
    explorer.update(epoch=100)
    assert explorer.image.value != before


def test_a_redrawn_frame_equals_a_fresh_full_drawing(explorer):
    """The still parts are kept between frames: no trace of an earlier frame or run may remain."""
    explorer.update(lr=10.0, width=16, init="normal", seed=2, epoch=5)
    explorer.update(lr=1.0, width=3, init="he", seed=1, epoch=40)
    fresh = TrainingExplorer(lr=1.0, width=3, init="he", seed=1, epoch=40)
    fresh.update()
    np.testing.assert_array_equal(pixels(explorer.image.value), pixels(fresh.image.value))


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


def test_zero_initialisation_learns_only_the_output_bias():
    run = training_run(1.0, 3, "zeros", 1)
    end = run.params(EPOCHS)
    for key in ("W1", "b1", "W2"):
        np.testing.assert_array_equal(end[key], 0.0)
    assert end["b2"][0] != 0.0


def test_a_diverging_run_raises_the_alarm(explorer):
    drawn = explorer.update(lr=100.0, width=3, init="he", seed=1, epoch=EPOCHS)
    assert explorer.alarm.get_visible()
    assert "DIVERGED" in explorer.alarm.get_text()
    assert "Training stopped" in explorer.note.value
    assert "the run stopped here" in explorer.loss_readout.get_text()
    assert len(drawn["losses"]) < 10
    explorer.update(lr=1.0)
    assert not explorer.alarm.get_visible()


def test_the_learner_accuracy_is_used_when_it_is_right():
    explorer = TrainingExplorer(accuracy=learner_accuracy)
    explorer.update(epoch=100)
    assert "Using your <code>accuracy</code>" in explorer.note.value
    assert "only redraws" in explorer.note.value


@pytest.mark.parametrize(
    ("learner", "words"),
    [
        (stub_accuracy, "not implemented yet"),
        (accuracy_as_percent_array, "unlike the reference"),
        (crashing_accuracy, "raised IndexError"),
    ],
)
def test_the_fallback_note_appears_for_a_stub_or_a_broken_accuracy(learner, words):
    explorer = TrainingExplorer(accuracy=learner)
    drawn = explorer.update(epoch=100)
    assert words in explorer.note.value
    assert "reference" in explorer.note.value
    assert np.all(np.isfinite(drawn["accuracy"]))
    assert np.all(drawn["accuracy"] <= 1.0)


def test_dead_units_and_identical_units_helpers():
    Z1 = np.array([[-1.0, 0.0, 2.0], [-0.5, 0.0, -1.0]])
    np.testing.assert_array_equal(dead_units(Z1), [True, True, False])
    same = initial_params(4, "same", seed=0)
    assert identical_units(same)
    assert all(np.all(value == 0.5) for value in same.values())
    assert not identical_units(initial_params(4, "he", seed=0))
    assert not identical_units(initial_params(1, "same", seed=0))  # one unit: nothing to compare
