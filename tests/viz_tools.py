"""Helpers shared by the widget tests."""

import io

import matplotlib.image
import numpy as np
from matplotlib.figure import Figure


def pixels(png: bytes) -> np.ndarray:
    """A PNG frame as an array of pixels (rows, columns, RGBA), to compare two frames."""
    return matplotlib.image.imread(io.BytesIO(png), format="png")


def stub(*args):
    """A learner's function still to be written (any signature)."""
    raise NotImplementedError()


def crashing(*args):
    """A learner's function with a bug that raises (IndexError, whatever the arguments)."""
    return args[99]


def assert_finite(drawn, values):
    """Every array an explorer drew for these control values is finite."""
    assert drawn, f"nothing drawn for {values}"
    for name, array in drawn.items():
        assert np.all(np.isfinite(array)), f"{name} has nan/inf at {values}"


def count_full_renders(monkeypatch) -> list:
    """From now on, the figures whose still parts are rendered (BlitFigure renders them with
    ``Figure.draw``); an empty list means every frame was pasted from kept backgrounds."""
    rendered = []
    full_draw = Figure.draw

    def counted(fig, renderer):
        rendered.append(fig)
        return full_draw(fig, renderer)

    monkeypatch.setattr(Figure, "draw", counted)
    return rendered
