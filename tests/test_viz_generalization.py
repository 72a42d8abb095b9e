"""The overfitting figure of notebook 10: training and validation loss per run, early stopping
marked where the learner's early_stopping (or the reference, with a note) says, or where the run
stopped itself; a text alternative that gives the numbers; a clear error without validation
data."""

from __future__ import annotations

import re

import numpy as np
import pytest
from matplotlib.lines import Line2D

import refimpl
from refimpl.generalization import FitHistory
from refimpl.viz.generalization import overfitting_figure
from viz_tools import crashing, stub

# A still figure, not an explorer: conftest cannot tell its notebook from this module's name.
pytestmark = pytest.mark.nb10


def history(val_loss, *, best_epoch=None, stopped_epoch=None) -> FitHistory:
    """A run's record with these validation losses (the training loss falls steadily)."""
    val_loss = np.asarray(val_loss, dtype=np.float64)
    epochs = len(val_loss)
    return FitHistory(
        params={},
        train_loss=np.geomspace(2.0, 1e-3, epochs),
        train_accuracy=np.linspace(0.2, 1.0, epochs),
        val_loss=val_loss,
        val_accuracy=np.linspace(0.2, 0.8, epochs),
        best_epoch=best_epoch,
        stopped_epoch=stopped_epoch,
    )


#: Falls to its lowest at epoch 5, then rises: early stopping with patience 3 stops at 8.
OVERFITTING = history([2.0, 1.5, 1.2, 1.0, 0.9, 0.85, 0.9, 0.95, 1.0, 1.1, 1.2, 1.3])


def marks(ax) -> tuple[float, float]:
    """The epoch the figure keeps (the diamond) and the one where it stops (the dashed line)."""
    lines = {line.get_label(): line for line in ax.get_lines() if isinstance(line, Line2D)}
    kept = lines["kept: best validation loss"].get_xdata()[0]
    stop = lines["early stopping stops"].get_xdata()[0]
    return kept, stop


def test_early_stopping_is_marked_where_it_stops_and_what_it_keeps():
    fig = overfitting_figure(OVERFITTING, patience=3)
    [ax] = fig.axes
    assert marks(ax) == (5, 8)
    assert refimpl.early_stopping(OVERFITTING.val_loss, 3) == (5, 8)
    assert "kept epoch 5" in ax.get_title()
    train, val = (line.get_ydata() for line in ax.get_lines()[:2])
    np.testing.assert_allclose(train, OVERFITTING.train_loss)
    np.testing.assert_allclose(val, OVERFITTING.val_loss)


def test_a_run_that_stopped_early_is_marked_where_it_stopped():
    stopped = history([2.0, 1.0, 0.8, 0.9, 0.95], best_epoch=2, stopped_epoch=4)
    fig = overfitting_figure(OVERFITTING, stopped, patience=3)
    plain, regularised = fig.axes
    assert marks(plain) == (5, 8)
    assert marks(regularised) == (2, 4)
    assert "stopped early itself" in regularised.get_title()
    assert plain.get_shared_y_axes().joined(plain, regularised)


def test_the_text_alternative_gives_the_numbers():
    fig = overfitting_figure(OVERFITTING, patience=3)
    bundle = fig._repr_mimebundle_()
    assert bundle["image/png"][:4] == b"\x89PNG"
    alt = re.search(r'alt="([^"]*)"', bundle["text/html"]).group(1)
    assert "stops at epoch 8 and keeps epoch 5" in alt
    assert "0.85" in alt
    assert bundle["text/plain"] == fig.alt


def learner_early_stopping(val_losses, patience):
    best, stop = 0, len(val_losses) - 1
    for epoch, loss in enumerate(val_losses):
        if loss < val_losses[best]:
            best = epoch
        if epoch - best >= patience:
            stop = epoch
            break
    return best, stop


def early_stopping_as_list(val_losses, patience):
    return list(refimpl.early_stopping(val_losses, patience))


def early_stopping_that_empties_its_input(val_losses, patience):
    result = refimpl.early_stopping(val_losses, patience)
    val_losses[:] = np.nan  # a bug that must not reach the figure's curves
    return result


@pytest.mark.parametrize(
    ("learner", "words"),
    [
        (None, "Using the reference early_stopping"),
        (learner_early_stopping, "Using your early_stopping"),
        (stub, "not implemented yet"),
        (crashing, "raised IndexError"),
        (early_stopping_as_list, "unlike the reference"),
        (early_stopping_that_empties_its_input, "Using your early_stopping"),
    ],
)
def test_the_note_says_whose_early_stopping_is_marked(learner, words):
    fig = overfitting_figure(OVERFITTING, patience=3, early_stopping=learner)
    assert words in fig.get_supxlabel()
    assert words in fig.alt
    [ax] = fig.axes
    assert marks(ax) == (5, 8)  # theirs is right, or the reference's is drawn
    assert np.all(np.isfinite(ax.get_lines()[1].get_ydata()))


def test_a_real_overfitting_run_draws():
    X_train, X_test, labels_train, labels_test = refimpl.load_digits_split(seed=0)
    run = refimpl.fit_classifier(
        X_train[:40], refimpl.one_hot(labels_train[:40]), refimpl.init_mlp([64, 32, 10], seed=0),
        optimizer="adam", lr=0.01, epochs=40, batch_size=10,
        X_val=X_test[:200], Y_val=refimpl.one_hot(labels_test[:200]),
    )
    fig = overfitting_figure(run)
    [ax] = fig.axes
    kept, stop = marks(ax)
    assert (kept, stop) == refimpl.early_stopping(run.val_loss, 10)
    assert run.train_loss[-1] < run.val_loss[-1] / 10  # it learned the 40 images by heart


def test_without_validation_data_the_error_says_what_to_pass():
    no_validation = FitHistory({}, np.ones(3), np.ones(3), np.empty(0), np.empty(0), None, None)
    with pytest.raises(ValueError, match="X_val and Y_val"):
        overfitting_figure(no_validation)
