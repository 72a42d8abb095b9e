"""Explorers for every learner: sliders fine enough to drag, text boxes that hide no data, one
meaning per colour, colours told apart in grey and by colour-blind readers, a text alternative
for every figure, and the training explorer's first visits cheap (runs trained ahead)."""

from __future__ import annotations

import re

import ipywidgets as widgets
import numpy as np
import pytest
from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import PathCollection
from matplotlib.colors import to_rgb
from matplotlib.lines import Line2D
from matplotlib.text import Text

import refimpl
import refimpl.examples
import refimpl.viz._core
from benchmarks.widgets import explorers
from refimpl.viz import (
    NetworkExplorer,
    TrainingExplorer,
    activation_figure,
    derivative_error_figure,
    gradient_cost_figure,
    measure_gradient_costs,
    neuron_graph,
    overfitting_figure,
)
from refimpl.viz import generalization as generalization_figures
from refimpl.viz import initialization as initialization_explorer
from refimpl.viz import optimizers as optimizer_explorer
from refimpl.viz._style import (
    DISTINCT_PAIRS,
    FAIL_STYLE,
    NEGATIVE,
    PASS_STYLE,
    PROBABILITY_CMAP,
    SLIDER_READOUT_PX,
)
from refimpl.viz.training import neighbour_settings

EXPLORERS = explorers()
SLIDERS = (
    widgets.FloatSlider,
    widgets.IntSlider,
    widgets.FloatLogSlider,
    widgets.SelectionSlider,
    widgets.FloatRangeSlider,
    widgets.IntRangeSlider,
)
#: A drag of this many pixels ...
DRAG_PX = 30
#: ... moves a slider by at most this share of its range.
DRAG_SHARE = 0.10
#: Lightness (CIE L*) two distinguishing colours differ by at least, once printed in grey.
GREY_MIN_DELTA_L = 20.0
#: Colour difference (CIE76 delta E) two distinguishing colours keep for a dichromat.
CVD_MIN_DELTA_E = 20.0

# Machado, Oliveira and Fernandes (2009), severity 1.0, on linear RGB.
PROTANOPIA = np.array(
    [
        [0.152286, 1.052583, -0.204868],
        [0.114503, 0.786281, 0.099216],
        [-0.003882, -0.048116, 1.051998],
    ]
)
DEUTERANOPIA = np.array(
    [
        [0.367322, 0.860646, -0.227968],
        [0.280085, 0.672501, 0.047413],
        [-0.011820, 0.042940, 0.968881],
    ]
)
SRGB_TO_XYZ = np.array(
    [[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]
)
D65_WHITE = np.array([0.95047, 1.0, 1.08883])


def linear_rgb(colour) -> np.ndarray:
    """A matplotlib colour as linear RGB, shape (3,)."""
    c = np.array(to_rgb(colour))
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def cielab(linear: np.ndarray) -> np.ndarray:
    """Linear RGB, shape (3,), as CIE L*a*b* (D65)."""
    xyz = SRGB_TO_XYZ @ np.clip(linear, 0.0, 1.0) / D65_WHITE
    delta = 6 / 29
    f = np.where(xyz > delta**3, np.cbrt(xyz), xyz / (3 * delta**2) + 4 / 29)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def grey_difference(a, b) -> float:
    """How far apart two colours are in grey: the difference of their lightness L*."""
    return abs(cielab(linear_rgb(a))[0] - cielab(linear_rgb(b))[0])


def dichromat_difference(a, b, simulation: np.ndarray) -> float:
    """Delta E between two colours as a dichromat sees them (``simulation`` on linear RGB)."""
    return float(
        np.linalg.norm(cielab(simulation @ linear_rgb(a)) - cielab(simulation @ linear_rgb(b)))
    )


def pixels_of(value: str) -> float:
    match = re.fullmatch(r"(\d+(?:\.\d+)?)px", str(value))
    assert match, f"{value!r} is not a width in px"
    return float(match.group(1))


# -- sliders -----------------------------------------------------------------------------------


def every_slider():
    for name, cls in EXPLORERS.items():
        explorer = cls()
        for control_name, control in explorer.controls.items():
            if isinstance(control, SLIDERS):
                yield f"{name}.{control_name}", control


@pytest.mark.parametrize(("label", "slider"), list(every_slider()), ids=lambda x: str(x))
def test_every_slider_moves_a_small_step_per_pixel(label, slider):
    track = (
        pixels_of(slider.layout.width)
        - pixels_of(slider.style.description_width)
        - SLIDER_READOUT_PX
    )
    assert track * DRAG_SHARE >= DRAG_PX, f"{label}: a track of {track:.0f} px"
    label_px = pixels_of(slider.style.description_width)
    assert label_px >= 6 * len(slider.description), f"{label}: its label would be cut"


def test_the_explorers_have_sliders():
    assert len(list(every_slider())) >= 10


# -- text boxes over data ----------------------------------------------------------------------


def plotted_points(fig) -> np.ndarray:
    """Every visible point marker of the figure, in display pixels, shape (n, 2)."""
    points = [np.empty((0, 2))]
    for artist in fig.findobj(lambda a: a.get_visible()):
        if isinstance(artist, PathCollection) and len(artist.get_offsets()):
            points.append(artist.get_offset_transform().transform(artist.get_offsets()))
        elif isinstance(artist, Line2D) and artist.get_marker() not in (None, "", "None", " "):
            xy = np.column_stack([artist.get_xdata(), artist.get_ydata()]).astype(float)
            if len(xy):
                points.append(artist.get_transform().transform(xy))
    return np.concatenate(points)


def boxed_texts(fig) -> list[Text]:
    """The visible texts drawn in a box (readouts, notes) that have something to say."""
    return [
        text
        for text in fig.findobj(Text)
        if text.get_visible() and text.get_text().strip() and text.get_bbox_patch() is not None
    ]


SETTINGS = {
    "NeuronExplorer": [{}, {"w1": -1.0, "w2": 2.0, "b": 5.0}, {"activation": "relu"}],
    "TrainingExplorer": [{}, {"epoch": 0}, {"lr": 100.0}, {"width": 16, "epoch": 40}],
    "OptimizerExplorer": [{}, {"lr": 0.3}, {"surface": "valley"}, {"surface": "plateau"}],
    "InitializationExplorer": [{}, {"activation": "relu"}, {"scheme": "he"}],
}


@pytest.mark.parametrize("name", sorted(EXPLORERS))
def test_no_text_box_covers_a_plotted_point(name):
    explorer = EXPLORERS[name]()
    for values in SETTINGS.get(name, [{}]):
        explorer.update(**values)
        canvas = FigureCanvasAgg(explorer.fig)  # as figure_png renders a frame, at its dpi
        canvas.draw()
        renderer = canvas.get_renderer()
        points = plotted_points(explorer.fig)
        assert len(points) or name not in SETTINGS
        for text in boxed_texts(explorer.fig):
            box = text.get_bbox_patch().get_window_extent(renderer)
            inside = (
                (points[:, 0] > box.x0)
                & (points[:, 0] < box.x1)
                & (points[:, 1] > box.y0)
                & (points[:, 1] < box.y1)
            )
            words = text.get_text()[:40]
            assert not inside.any(), f"{name} {values}: {words!r} covers {inside.sum()} points"


# -- colours -----------------------------------------------------------------------------------


def test_the_network_gives_each_colour_one_meaning():
    explorer = NetworkExplorer()
    explorer.update(studied=6.0, slept=7.0)  # hidden unit 1 on, units 0 and 2 off
    hidden = explorer.nodes[2:5]
    a1 = explorer.update()["A1"]
    assert (a1 > 0).any()
    assert (a1 == 0).any()
    negative_edges = [edge for edge in explorer.edges.values() if edge.get_color() == NEGATIVE]
    assert negative_edges
    for node, a in zip(hidden, a1, strict=True):
        r, g, b, _ = node.get_facecolor()
        assert r == pytest.approx(g) == pytest.approx(b), "a unit is filled with a grey"
        assert not np.allclose((r, g, b), to_rgb(NEGATIVE))
        # told without colour: a solid rim when on, a dashed one when off
        assert (node.get_linestyle() in ("-", "solid")) == (a > 0)
    # a unit's fill has no hue (chroma ~0); a negative weight's orange has a strong one
    for node in hidden:
        assert np.hypot(*cielab(linear_rgb(node.get_facecolor()[:3]))[1:]) < 1.0
    assert np.hypot(*cielab(linear_rgb(NEGATIVE))[1:]) > 40.0
    # a weight's sign without colour: negative edges are dashed, positive ones solid
    for (name, i, j), edge in explorer.edges.items():
        w = explorer.params[name][i, j]
        assert (edge.get_linestyle() == "-") == (w >= 0), (name, i, j)


#: The shared pairs, and those of the figures of notebook 10 (each module names its own).
EVERY_PAIR = {
    **DISTINCT_PAIRS,
    **initialization_explorer.COLOUR_PAIRS,
    **optimizer_explorer.COLOUR_PAIRS,
    **generalization_figures.COLOUR_PAIRS,
}


@pytest.mark.parametrize("meaning", sorted(EVERY_PAIR))
def test_distinguishing_colours_differ_in_grey_and_for_dichromats(meaning):
    a, b = EVERY_PAIR[meaning]
    assert grey_difference(a, b) >= GREY_MIN_DELTA_L, f"{meaning}: alike in grey"
    for simulation in (PROTANOPIA, DEUTERANOPIA):
        assert dichromat_difference(a, b, simulation) >= CVD_MIN_DELTA_E, meaning


def test_the_check_catches_a_red_green_pair():
    red, green = "#d62728", "#2ca02c"  # matplotlib's tab:red and tab:green
    assert grey_difference(red, green) < GREY_MIN_DELTA_L
    assert dichromat_difference(red, green, DEUTERANOPIA) < CVD_MIN_DELTA_E


def test_the_probability_map_stays_two_sided_for_dichromats():
    fail, passed = PROBABILITY_CMAP(0.0), PROBABILITY_CMAP(1.0)
    for simulation in (PROTANOPIA, DEUTERANOPIA):
        assert dichromat_difference(fail[:3], passed[:3], simulation) >= CVD_MIN_DELTA_E
    # in grey the middle (0.5) is the lightest, and the students' shapes say pass or fail
    assert PASS_STYLE["marker"] != FAIL_STYLE["marker"]


def test_loss_maps_grow_lighter_with_the_loss():
    lightness = [cielab(linear_rgb(colormaps["viridis"](t)[:3]))[0] for t in np.linspace(0, 1, 9)]
    assert np.all(np.diff(lightness) > 0)


def test_gradient_checks_pass_and_fail_with_a_mark_and_a_hatch():
    explorer = EXPLORERS["GradientArrowsExplorer"]()
    explorer.update(loss="mse", backward="mse")  # the right formula: every entry passes
    assert explorer.bar_title.get_text().startswith("\N{CHECK MARK}")
    assert not any(bar.get_hatch() for bar in explorer.bars)
    explorer.update(backward="bce")  # the shortcut with MSE: every entry fails
    assert explorer.bar_title.get_text().startswith("\N{BALLOT X}")
    assert all(bar.get_hatch() for bar in explorer.bars)
    for bar in explorer.bars:  # a hatch drawn in the face's own colour would not show
        assert grey_difference(bar.get_hatchcolor()[:3], bar.get_facecolor()[:3]) >= 40


# -- text alternatives -------------------------------------------------------------------------


def displayed_bundle(explorer, monkeypatch) -> dict:
    shown = []
    monkeypatch.setattr(refimpl.viz._core, "display", lambda bundle, raw: shown.append(bundle))
    explorer._ipython_display_()
    [bundle] = shown
    return bundle


@pytest.mark.parametrize("name", sorted(EXPLORERS))
def test_every_static_fallback_says_what_it_shows(name, monkeypatch):
    explorer = EXPLORERS[name]()
    bundle = displayed_bundle(explorer, monkeypatch)
    alt = explorer.describe()
    assert len(alt) > 120
    assert alt.lower() not in {"figure", "plot", "image"}
    summary = " ".join(type(explorer).__doc__.split("\n\n")[0].split())
    assert alt.startswith(summary)
    assert "Controls:" in alt
    for ax in explorer.fig.axes:  # each labelled panel's axes are named
        if ax.get_xlabel().strip() and ax.get_ylabel().strip():
            assert " ".join(ax.get_ylabel().split()) in alt
    # the alt text reaches the HTML that nbconvert and an untrusted notebook show
    html = bundle["text/html"]
    assert html.startswith('<img src="data:image/png;base64,')
    match = re.search(r'alt="([^"]*)"', html)
    assert match
    assert len(match.group(1)) > 120
    assert bundle["text/plain"].startswith(alt[:60])
    assert bundle["image/png"][:4] == b"\x89PNG"


# -- first visits of the training explorer -----------------------------------------------------


def test_neighbour_settings_are_one_control_away_nearest_first():
    key = (1.0, 3, "he", 1)
    found = neighbour_settings(key)
    assert len(found) == len(set(found)) == 8 + 5 + 3 + 5
    for setting in found:
        assert sum(a != b for a, b in zip(setting, key, strict=True)) == 1
    assert set(found[:6]) == {
        (0.3, 3, "he", 1),
        (3.0, 3, "he", 1),
        (1.0, 3, "he", 0),
        (1.0, 3, "he", 2),
        (1.0, 2, "he", 1),
        (1.0, 4, "he", 1),
    }


def test_a_shown_training_explorer_trains_the_next_runs_ahead(monkeypatch):
    explorer = TrainingExplorer()
    explorer.widget()  # shown: the runs one control away are trained in the background
    assert explorer.settle(timeout=120)

    def no_training(*args, **kwargs):
        raise AssertionError("a run one control away must be ready")

    explorer._prefetching = False  # nothing more ahead: the background would train
    monkeypatch.setattr(refimpl.examples, "train", no_training)
    refimpl.examples.training_run.cache_clear()  # only the explorer's own runs are left
    for values in ({"lr": 0.3}, {"seed": 2}, {"init": "normal"}, {"width": 4}):
        explorer.update(**{**{"lr": 1.0, "width": 3, "init": "he", "seed": 1}, **values})


def test_an_explorer_not_shown_trains_nothing_ahead():
    explorer = TrainingExplorer()
    explorer.update(lr=0.3)
    assert explorer._runs._thread is None


def overfitting_histories():
    """A short run that overfits 40 digits, and the same with L2 and early stopping."""
    X_train, X_test, labels_train, labels_test = refimpl.load_digits_split(seed=0)
    data = {
        "X": X_train[:40],
        "Y": refimpl.one_hot(labels_train[:40]),
        "X_val": X_test[:200],
        "Y_val": refimpl.one_hot(labels_test[:200]),
    }
    params = refimpl.init_mlp([64, 32, 10], seed=0)
    run = {"optimizer": "adam", "lr": 0.01, "epochs": 30, "batch_size": 10}
    plain = refimpl.fit_classifier(**data, params=params, **run)
    regularised = refimpl.fit_classifier(**data, params=params, **run, lam=0.01, patience=5)
    return plain, regularised


def still_figures():
    """Every figure a notebook shows still (no controls), by name."""
    costs = measure_gradient_costs(widths=(2, 4), repeats=1)
    plain, regularised = overfitting_histories()
    return {
        "overfitting_figure": overfitting_figure(plain, regularised),
        "overfitting_figure(one run)": overfitting_figure(plain),
        "activation_figure": activation_figure(),
        "derivative_error_figure": derivative_error_figure(),
        "gradient_cost_figure": gradient_cost_figure(costs),
        "neuron_graph": neuron_graph(),
        "neuron_graph(forward only)": neuron_graph(show_backward=False),
    }


def test_every_still_figure_has_a_text_alternative():
    for name, figure in still_figures().items():
        bundle = figure._repr_mimebundle_()
        assert bundle["image/png"][:4] == b"\x89PNG", name
        match = re.search(r'alt="([^"]*)"', bundle["text/html"])
        assert match, name
        assert len(match.group(1)) > 80, f"{name}: {match.group(1)!r}"
        assert bundle["text/plain"] == figure.alt
