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


def learner_gradient_descent(f, grad_f, x0, lr, steps):
    """A learner's right gradient_descent: the path (steps + 1, d) and the losses (steps + 1,)."""
    x = np.array(x0, dtype=np.float64)
    path, losses = [x.copy()], [f(x)]
    for _ in range(steps):
        x = x - lr * grad_f(x)
        path.append(x.copy())
        losses.append(f(x))
    return np.array(path), np.array(losses)


def dropdown_pairs(labels, default_pair):
    """Every label in either of two dropdowns, with the other one at its default (a != b)."""
    for label in labels:
        for a, b in ((label, default_pair[1]), (default_pair[0], label)):
            if a != b:
                yield a, b


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
