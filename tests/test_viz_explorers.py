"""What every explorer promises, tested once over all of them: a redrawn frame equals a fresh full
drawing, moving a control changes the frame, the learner's function is used when it works and a
fallback note appears when it does not (or when there is none), and a slice of one parameter
against itself says so instead of failing.

Each case names its explorer (``case.name``), so ``-m nb01`` ... ``-m nb08`` select its notebook's
cases. What only one explorer does is tested in its own ``test_viz_<module>.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest

import refimpl
from refimpl.viz import (
    DescentExplorer,
    GradientArrowsExplorer,
    GraphExplorer,
    LossSurfaceExplorer,
    NetworkExplorer,
    NeuronExplorer,
    TrainingExplorer,
)
from refimpl.viz.gradients import DEFAULT_PAIR as ARROWS_PAIR
from refimpl.viz.gradients import TOLERANCE
from refimpl.viz.surface import DEFAULT_PAIR as SURFACE_PAIR
from viz_tools import assert_finite, crashing, learner_gradient_descent, pixels, stub


def backward_mse(X, y, params, cache):
    return refimpl.backward_231(X, y, params, cache, loss="mse")


def backward_bce(X, y, params, cache):
    return refimpl.backward_231(X, y, params, cache, loss="bce")


#: How each explorer is built in these tests (the learner's functions where it takes them).
MAKE: dict[str, Callable[..., Any]] = {
    "NeuronExplorer": NeuronExplorer,
    "NetworkExplorer": NetworkExplorer,
    "LossSurfaceExplorer": LossSurfaceExplorer,
    "DescentExplorer": DescentExplorer,
    "GraphExplorer": lambda **values: GraphExplorer(Value=refimpl.Value, **values),
    "GradientArrowsExplorer": lambda **values: GradientArrowsExplorer(
        backward_mse, backward_bce, **values
    ),
    "TrainingExplorer": TrainingExplorer,
}


@pytest.fixture(scope="module")
def shared():
    """One explorer per kind for this module: each test finds it as earlier tests left it."""
    built = {}

    def explorer(name: str):
        if name not in built:
            built[name] = MAKE[name]()
        return built[name]

    return explorer


# ---------------------------------------------------------------------------------------------
# A redrawn frame equals a fresh full drawing
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Redraw:
    """Draw ``before`` (one update each), then ``values``; a fresh explorer built with
    ``construct`` and updated with ``then`` must give the same pixels."""

    name: str
    before: tuple[dict, ...]
    values: dict
    construct: dict
    then: dict = field(default_factory=dict)
    label: str = ""

    def __str__(self) -> str:
        return f"{self.name}{f'-{self.label}' if self.label else ''}"


def _same(values: dict) -> dict:
    return {"values": values, "construct": values}


NEURON = {"w1": -0.7, "w2": 1.9, "b": -6.5}
SURFACE = {"a": "W1[1, 1]", "b": "W2[2, 0]", "span": 3.0, "loss": "mse"}
ARROWS = {"a": "W1[1, 0]", "b": "b1[2]", "da": 1.5, "db": -2.0, "loss": "bce"}
GRAPH = {"w": -2.0, "b": 1.5, "x": -0.5, "y": 0.0, "slope_of": "b"}
TRAINING = {"lr": 1.0, "width": 3, "init": "he", "seed": 1, "epoch": 40}
#: The landscapes' own learning rate and steps (what switching to the surface sets).
DESCENT = {"bowl": {"lr": 0.02, "steps": 40}, "slice": {"lr": 3.0, "steps": 60}}

REDRAWS = [
    *(
        Redraw(
            "NeuronExplorer",
            ({"w1": 2.9, "w2": -2.5, "b": 20.0, "activation": activation},),
            label=activation,
            **_same({**NEURON, "activation": activation}),
        )
        for activation in ("sigmoid", "relu")
    ),
    Redraw(
        "NetworkExplorer",
        ({"studied": 9.5, "slept": 3.5},),
        **_same({"studied": 2.5, "slept": 8.5}),
    ),
    *(
        Redraw(
            "LossSurfaceExplorer",
            ({"a": "b1[0]", "b": "W1[0, 0]", "span": 3.0, "loss": "bce", "at": "initial",
              "view": view},),
            values={**SURFACE, "at": "trained", "view": view},
            construct=SURFACE,
            then={"view": view},
            label=view,
        )
        for view in ("contours", "3-D")
    ),
    *(
        Redraw(
            "DescentExplorer",
            ({"surface": surface}, {"lr": 3 * start["lr"], "steps": 100}),  # a different frame
            values=start,
            construct={"surface": surface},
            then=start,
            label=surface,
        )
        for surface, start in DESCENT.items()
    ),
    Redraw(
        "GradientArrowsExplorer",
        ({"a": "W2[0, 0]", "b": "W1[0, 0]", "da": -3.0, "db": 3.0, "loss": "mse",
          "at": "trained"},),
        values={**ARROWS, "at": "initial", "backward": "mse"},
        construct=ARROWS,
    ),
    Redraw(
        "GraphExplorer",
        ({"w": 3.0, "b": -3.0, "x": 3.0, "y": 1.0, "slope_of": "x"},),
        **_same(GRAPH),
    ),
    Redraw(
        "TrainingExplorer",
        ({"lr": 10.0, "width": 16, "init": "normal", "seed": 2, "epoch": 5},),
        **_same(TRAINING),
    ),
]


@pytest.mark.parametrize("case", REDRAWS, ids=str)
def test_a_redrawn_frame_equals_a_fresh_full_drawing(shared, case):
    """The still parts are drawn once and reused: no trace of an earlier frame may remain."""
    explorer = shared(case.name)
    for values in case.before:
        explorer.update(**values)
    explorer.update(**case.values)
    fresh = MAKE[case.name](**case.construct)
    fresh.update(**case.then)
    np.testing.assert_array_equal(pixels(explorer.image.value), pixels(fresh.image.value))


# ---------------------------------------------------------------------------------------------
# Moving a control changes the frame
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Moves:
    """From ``start``, each change of ``changes`` gives a frame unlike every frame before it."""

    name: str
    start: dict
    changes: tuple[dict, ...]

    def __str__(self) -> str:
        return self.name


MOVES = [
    Moves("NeuronExplorer", {"w1": 1.0, "w2": 1.0, "b": -10.0, "activation": "sigmoid"},
          ({"w1": 1.5}, {"activation": "relu"})),
    Moves("NetworkExplorer", {"studied": 6.0, "slept": 7.0}, ({"slept": 4.0},)),
    Moves("LossSurfaceExplorer",
          {"a": SURFACE_PAIR[0], "b": SURFACE_PAIR[1], "loss": "bce", "span": 6.0,
           "view": "contours"},
          ({"span": 4.0}, {"b": "b1[1]"}, {"loss": "mse"})),
    Moves("DescentExplorer",
          {"surface": "bowl", "lr": 0.02, "steps": 40, "start_a": -4.0, "start_b": 2.0},
          ({"lr": 0.05}, {"steps": 10})),
    Moves("GradientArrowsExplorer",
          {"a": ARROWS_PAIR[0], "b": ARROWS_PAIR[1], "da": -0.5, "db": 1.0, "loss": "mse",
           "backward": "mse"},
          ({"da": 1.0}, {"backward": "bce"}, {"b": "W2[1, 0]"})),
    Moves("GraphExplorer", {"w": 0.5, "b": -0.5, "x": 2.0, "y": 1.0, "slope_of": "w"},
          ({"w": 0.6}, {"slope_of": "b"}, {"y": 0.0})),
    Moves("TrainingExplorer", {"lr": 1.0, "width": 3, "init": "he", "seed": 1, "epoch": 10},
          ({"epoch": 100},)),
]


@pytest.mark.parametrize("case", MOVES, ids=str)
def test_moving_a_control_changes_the_frame(shared, case):
    explorer = shared(case.name)
    explorer.update(**case.start)
    frames = [explorer.image.value]
    for change in case.changes:
        explorer.update(**change)
        for earlier in frames:
            assert explorer.image.value != earlier, f"{change} left the frame as it was"
        frames.append(explorer.image.value)


# ---------------------------------------------------------------------------------------------
# The learner's functions, or the reference with a note
# ---------------------------------------------------------------------------------------------

# Each explorer's learner functions that must not be drawn: a stub, a broken one, one that raises.


def stub_neuron(X, w, b, activation):
    raise NotImplementedError()


def broken_neuron(X, w, b, activation):
    return activation(X @ w + b).reshape(-1, 1)  # (n, 1) instead of (n,)


def crashing_neuron(X, w, b, activation):
    return X @ w.T @ b  # a shape bug that raises


def stub_forward_231(X, params):
    raise NotImplementedError()


def forward_without_cache(X, params):
    y_hat, _ = refimpl.forward_231(X, params)
    return y_hat  # forgot the cache


def forward_with_missing_key(X, params):
    y_hat, cache = refimpl.forward_231(X, params)
    del cache["A1"]
    return y_hat, cache


def forward_with_a_nan(X, params):
    y_hat, cache = refimpl.forward_231(X, params)
    return np.full_like(y_hat, np.nan), cache


def broken_gradient_descent(f, grad_f, x0, lr, steps):
    path, losses = learner_gradient_descent(f, grad_f, x0, lr, steps)
    return path[1:], losses[1:]  # forgets the starting point


def broken_numerical_gradient(f, x, h):
    return np.zeros(x.size + 1)


def stub_backward(X, y, params, cache):
    raise NotImplementedError()


def backward_without_b2(X, y, params, cache):
    grads = refimpl.backward_231(X, y, params, cache, loss="mse")
    del grads["b2"]
    return grads


def backward_with_a_transposed_dW1(X, y, params, cache):
    grads = refimpl.backward_231(X, y, params, cache, loss="mse")
    return {**grads, "W1": grads["W1"].T}  # (3, 2) instead of (2, 3)


class StubValue:
    """The release's Value: the constructor works, every operation is still to be written."""

    def __init__(self, data, _children=()):
        self.data, self.grad, self._prev = float(data), 0.0, tuple(_children)

    def __add__(self, other):
        raise NotImplementedError()

    __mul__ = __add__

    def sigmoid(self):
        raise NotImplementedError()

    def backward(self):
        raise NotImplementedError()


class ValueWithoutSigmoid(refimpl.Value):
    """Crashes: the method is missing."""

    sigmoid = None


class NanValue(refimpl.Value):
    """Returns a nan for the loss."""

    def backward(self):
        super().backward()
        self.data = float("nan")


def stub_accuracy(labels, y):
    raise NotImplementedError()


def accuracy_as_percent_array(labels, y):
    return np.mean(labels == y, axis=0) * 100  # an array of shape (1,), not a float


def crashing_accuracy(labels, y):
    return labels[len(labels)]  # IndexError


def learner_accuracy(labels, y):
    return float(np.mean(labels == y))


def descent_note_twice(explorer, drawn, values, words):
    """Both of the learner's functions are stubs or broken: the note says so for each."""
    assert explorer.note.value.count(words) == 2


def arrows_name_the_backward_and_draw_the_reference(explorer, drawn, values, words):
    assert f"backward_231_{values['backward']}" in explorer.note.value
    assert np.all(drawn["errors"] <= TOLERANCE)  # the reference is drawn


def graph_draws_the_reference_gradients(explorer, drawn, values, words):
    dL_dw, dL_db = refimpl.neuron_loss_grads(1.0, -0.5, 2.0, 1.0)  # the chain rule by hand
    np.testing.assert_allclose(drawn["grads"][:2], [dL_dw, dL_db], rtol=1e-12)


def training_accuracy_is_a_share(explorer, drawn, values, words):
    assert np.all(drawn["accuracy"] <= 1.0)


@dataclass(frozen=True)
class Fallback:
    """``make(learner)`` with a learner that must not be drawn; each of ``updates`` shows
    ``words`` and the reference, then ``extra(explorer, drawn, values, words)`` holds."""

    name: str
    make: Callable[[Any], Any]
    updates: tuple[dict, ...]
    extra: Callable[..., None] | None = None

    def __str__(self) -> str:
        return self.name


NEURON_FALLBACK = Fallback("NeuronExplorer", lambda f: NeuronExplorer(neuron=f), ({"w1": 2.0},))
NETWORK_FALLBACK = Fallback(
    "NetworkExplorer", lambda f: NetworkExplorer(forward_231=f), ({"studied": 4.0},)
)
DESCENT_FALLBACK = Fallback(
    "DescentExplorer", lambda fs: DescentExplorer(*fs), ({"lr": 0.05},), descent_note_twice
)
ARROWS_FALLBACK = Fallback(
    "GradientArrowsExplorer",
    lambda f: GradientArrowsExplorer(backward_231_mse=f, backward_231_bce=f, grid=21),
    tuple({"backward": loss, "loss": loss} for loss in ("mse", "bce")),
    arrows_name_the_backward_and_draw_the_reference,
)
GRAPH_FALLBACK = Fallback(
    "GraphExplorer", lambda V: GraphExplorer(Value=V), ({"w": 1.0},),
    graph_draws_the_reference_gradients,
)
TRAINING_FALLBACK = Fallback(
    "TrainingExplorer", lambda f: TrainingExplorer(accuracy=f), ({"epoch": 100},),
    training_accuracy_is_a_share,
)

FALLBACKS = [
    (NEURON_FALLBACK, stub_neuron, "not implemented yet"),
    (NEURON_FALLBACK, broken_neuron, "unlike the reference"),
    (NEURON_FALLBACK, crashing_neuron, "raised"),
    (NETWORK_FALLBACK, stub_forward_231, "not implemented yet"),
    (NETWORK_FALLBACK, forward_without_cache, "unlike the reference"),
    (NETWORK_FALLBACK, forward_with_missing_key, "unlike the reference"),
    (NETWORK_FALLBACK, forward_with_a_nan, "unlike the reference"),
    (DESCENT_FALLBACK, (stub, stub), "not implemented yet"),
    (DESCENT_FALLBACK, (broken_gradient_descent, broken_numerical_gradient),
     "unlike the reference"),
    (DESCENT_FALLBACK, (crashing, crashing), "raised"),
    (ARROWS_FALLBACK, stub_backward, "not implemented yet"),
    (ARROWS_FALLBACK, backward_without_b2, "unlike the reference"),
    (ARROWS_FALLBACK, backward_with_a_transposed_dW1, "unlike the reference"),
    (GRAPH_FALLBACK, StubValue, "not implemented yet"),
    (GRAPH_FALLBACK, ValueWithoutSigmoid, "raised TypeError"),
    (GRAPH_FALLBACK, NanValue, "unlike the reference"),
    (TRAINING_FALLBACK, stub_accuracy, "not implemented yet"),
    (TRAINING_FALLBACK, accuracy_as_percent_array, "unlike the reference"),
    (TRAINING_FALLBACK, crashing_accuracy, "raised IndexError"),
]


def _learner_id(learner) -> str:
    if isinstance(learner, tuple):
        return "+".join(f.__name__ for f in learner)
    return learner.__name__


@pytest.mark.parametrize(
    ("case", "learner", "words"),
    FALLBACKS,
    ids=[f"{case}-{_learner_id(learner)}" for case, learner, _ in FALLBACKS],
)
def test_the_fallback_note_appears_for_a_stub_or_a_broken_function(case, learner, words):
    explorer = case.make(learner)
    for values in case.updates:
        drawn = explorer.update(**values)  # pytest turns any warning into an error
        assert words in explorer.note.value
        assert "reference" in explorer.note.value
        assert_finite(drawn, values)  # the reference is drawn
        if case.extra is not None:
            case.extra(explorer, drawn, values, words)


#: Explorer -> the names of the learner's functions it takes.
LEARNER_FUNCTIONS = {
    "NeuronExplorer": ["neuron"],
    "NetworkExplorer": ["forward_231"],
    "DescentExplorer": ["gradient_descent", "numerical_gradient"],
    "GradientArrowsExplorer": ["backward_231_mse"],
    "GraphExplorer": ["Value"],
    "TrainingExplorer": ["accuracy"],
}


@dataclass(frozen=True)
class Named:
    name: str

    def __str__(self) -> str:
        return self.name


@pytest.mark.parametrize("case", [Named(name) for name in LEARNER_FUNCTIONS], ids=str)
def test_without_learner_functions_the_references_are_used(case):
    explorer = {"GradientArrowsExplorer": lambda: GradientArrowsExplorer(grid=21)}.get(
        case.name, getattr(refimpl.viz, case.name)
    )()
    explorer.update()
    for function in LEARNER_FUNCTIONS[case.name]:
        assert f"Using the reference <code>{function}</code>" in explorer.note.value


RIGHT = [
    (NEURON_FALLBACK, refimpl.neuron, {"w1": 0.5}, ("Using your <code>neuron</code>",)),
    (NETWORK_FALLBACK, refimpl.forward_231, {"studied": 3.0},
     ("Using your <code>forward_231</code>",)),
    (TRAINING_FALLBACK, learner_accuracy, {"epoch": 100},
     ("Using your <code>accuracy</code>", "only redraws")),
]


@pytest.mark.parametrize(("case", "learner", "values", "notes"), RIGHT,
                         ids=[str(case) for case, *_ in RIGHT])
def test_the_learner_function_is_used_when_it_is_right(case, learner, values, notes):
    explorer = case.make(learner)
    explorer.update(**values)
    for words in notes:
        assert words in explorer.note.value


# ---------------------------------------------------------------------------------------------
# A loss slice needs two different parameters
# ---------------------------------------------------------------------------------------------

TWICE = [
    (Named("LossSurfaceExplorer"), LossSurfaceExplorer,
     {"a": "W2[0, 0]", "b": "W2[0, 0]", "view": "contours"}),
    (Named("GradientArrowsExplorer"),
     lambda: GradientArrowsExplorer(backward_mse, backward_bce, grid=21),  # a coarse grid
     {"a": "b1[0]", "b": "b1[0]"}),
]


@pytest.mark.parametrize(("case", "make", "twice"), TWICE, ids=[str(c) for c, *_ in TWICE])
def test_the_same_parameter_twice_says_so_instead_of_failing(case, make, twice):
    explorer = make()
    drawn = explorer.update(**twice)
    assert drawn == {}
    assert "two different parameters" in explorer.message.get_text()
    drawn = explorer.update(b="b2[0]")
    assert_finite(drawn, "after the message")
    assert not explorer.message.get_visible()
