"""The classifier explorer of notebook 09: finite draws at every epoch, frames that change with
the epoch and equal a fresh full drawing, the learner's train_classifier or the reference with a
note, frames well under 100 ms, the static fallback; the digits figure and the peer comparison."""

from __future__ import annotations

import time

import numpy as np
import pytest

import refimpl
import refimpl.viz._core
from refimpl.viz._core import figure_png
from refimpl.viz.classifier import (
    ClassifierExplorer,
    compare_with_mlp_classifier,
    digits_figure,
    mosaic,
)
from viz_tools import crashing, pixels, stub

EPOCHS = 6


@pytest.fixture(scope="module")
def split():
    return refimpl.load_digits_split(seed=0)


@pytest.fixture(scope="module")
def explorer(split):
    explorer = ClassifierExplorer(split, epochs=EPOCHS)
    explorer.widget()
    return explorer


def learner_train(X, Y, params, lr, epochs, batch_size, seed):
    return refimpl.train_classifier(X, Y, params, lr, epochs, batch_size, seed)


def test_every_epoch_draws_finite_values_and_a_full_confusion_matrix(explorer, split):
    for epoch in range(EPOCHS + 1):
        drawn = explorer.update(epoch=epoch)
        assert all(np.all(np.isfinite(value)) for value in drawn.values())
        assert drawn["confusion"].shape == (10, 10)
        assert drawn["confusion"].sum() == len(split[3])
    assert explorer.update(epoch=0)["accuracy"] < 0.5 < explorer.update(epoch=EPOCHS)["accuracy"]


def test_moving_the_epoch_changes_the_frame(explorer):
    explorer.update(epoch=1)
    before = pixels(explorer.image.value)
    explorer.update(epoch=EPOCHS)
    assert not np.array_equal(before, pixels(explorer.image.value))


def test_a_redrawn_frame_equals_a_fresh_full_drawing(explorer, split):
    explorer.update(epoch=0)
    explorer.update(epoch=3)
    fresh = ClassifierExplorer(split, epochs=EPOCHS)
    fresh.widget()
    fresh.update(epoch=3)
    np.testing.assert_array_equal(pixels(explorer.image.value), pixels(fresh.image.value))


def test_frames_take_well_under_100_ms(explorer):
    explorer.update(epoch=0)
    times = []
    for epoch in list(range(EPOCHS + 1)) * 2:
        start = time.perf_counter()
        explorer.update(epoch=epoch)
        times.append(time.perf_counter() - start)
    assert np.median(times) < 0.1


@pytest.mark.parametrize(("learner", "words"), [(None, "Using the reference"),
                                                 (stub, "not implemented yet"),
                                                 (crashing, "raised IndexError"),
                                                 (learner_train, "Using your")])
def test_the_note_says_whose_train_classifier_is_used(split, learner, words):
    explorer = ClassifierExplorer(split, train_classifier=learner, epochs=1)
    explorer.widget()
    assert words in explorer.note.value


def test_displaying_gives_the_widget_and_a_static_png(split, monkeypatch):
    shown = []
    monkeypatch.setattr(refimpl.viz._core, "display", lambda bundle, raw: shown.append(bundle))
    ClassifierExplorer(split, epochs=1)._ipython_display_()
    [bundle] = shown
    assert bundle["image/png"][:4] == b"\x89PNG"
    assert "application/vnd.jupyter.widget-view+json" in bundle


def test_mosaic_places_tiles_with_gaps():
    tiles = np.arange(3 * 64, dtype=float).reshape(3, 64)
    out = mosaic(tiles, columns=2)
    assert out.shape == (17, 17)
    np.testing.assert_array_equal(out[:8, 9:], tiles[1].reshape(8, 8))
    assert np.isnan(out[9:, 9:]).all()
    assert np.isnan(out[8]).all()


def test_digits_figure_and_the_peer_comparison(split, capsys):
    assert figure_png(digits_figure(split[0], split[2], count=10))[:4] == b"\x89PNG"
    trained, _ = refimpl.train_classifier(split[0], refimpl.one_hot(split[2]),
                                          refimpl.init_mlp([64, 32, 10], seed=0), 0.1, 30, 32, 0)
    scores = compare_with_mlp_classifier(split, trained, max_iter=100, random_state=0)
    assert scores["yours"] >= 0.95
    assert scores["MLPClassifier"] >= 0.95
    assert "MLPClassifier" in capsys.readouterr().out
