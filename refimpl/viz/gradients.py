"""Analytic against numerical gradients, drawn as arrows on a slice of the loss (notebook 06).

Two of the 2-3-1 network's 13 parameters vary over a grid (``refimpl.loss_surface``), the other
11 stay fixed: the contours of that slice. At a point chosen with sliders the explorer runs a
backward pass (the learner's ``backward_231_mse`` or ``backward_231_bce``, with the reference
as fallback) and ``refimpl.numerical_gradients`` (``refimpl.diagnostics.slice_gradients``), and
draws both negative gradients, restricted to the two parameters, as arrows: a right gradient
points straight downhill, across the contours, and covers the numerical arrow; a wrong one
points elsewhere. Beside the map, the gradient check of all 13 parameters at that point: one
relative error per entry.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial

import ipywidgets as widgets
import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import FancyArrowPatch
from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

from refimpl.diagnostics import entry_errors, slice_gradients
from refimpl.gradcheck import RIGHT_UP_TO
from refimpl.network import backward_231
from refimpl.surface import loss_surface, parameter_entries
from refimpl.viz._core import (
    DPI,
    BlitFigure,
    Explorer,
    LearnerFunction,
    hidden,
    slice_networks,
)
from refimpl.viz._geometry import contour_segments
from refimpl.viz._style import (
    CONTOUR_LEVELS,
    FAIL_COLOUR,
    FAIL_HATCH,
    FAIL_MARK,
    LOSS_NAMES,
    PASS_COLOUR,
    PASS_MARK,
    colour_ticks,
    log_loss_map,
    message_text,
    slider_options,
    title_text,
)

#: The default slice: the sleep weights of hidden units 1 and 2 of the network at its
#: initialisation. There the shortcut (y_hat - y) / n, used with MSE, points far from downhill.
DEFAULT_PAIR = ("W1[1, 1]", "W1[1, 2]")
DEFAULT_POINT = (-0.5, 1.0)
#: Each parameter of the slice varies over its value +- SPAN.
SPAN = 3.0
GRID_POINTS = 51
#: The tolerance of a gradient check: refimpl.grad_check's, the upper end of the verdict "right".
TOLERANCE = RIGHT_UP_TO
#: Relative errors are drawn on a log axis from ERROR_FLOOR (a perfect match) to 1.
ERROR_FLOOR = 1e-12
#: Each arrow is this fraction of the half-width of the map long.
ARROW_FRACTION = 0.5
#: Below this length (both gradients, in the slice) the point is flat: no direction to draw.
FLAT = 1e-10
READOUT_ROWS = (
    "numerical −gradient",
    "analytic −gradient",
    "angle between the arrows",
    "length: analytic / numerical",
)
READOUT_TOP, READOUT_STEP = 0.74, 0.052  # figure fractions

MAP_CMAP = "YlGnBu"  # low loss pale yellow, high loss blue
MAP_ALPHA = 0.85  # softened a little, so that the arrows stand out
NUMERICAL_COLOUR = "black"
ANALYTIC_COLOUR = "#ff7f0e"
BOX_STYLE = {"boxstyle": "round", "facecolor": "white", "alpha": 0.9, "edgecolor": "0.7"}


class SliceFigure(BlitFigure):
    """A BlitFigure with a middle layer, for what changes only now and then (the slice's map).

    Three layers: the still parts (rendered once), the :attr:`middle` artists (rendered again
    after :meth:`invalidate_middle`, e.g. when another slice is chosen) and the moving artists
    (every frame). A new slice then costs the map and its colour bar, not the whole figure.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.middle: list = []
        self._middle = None  # (key, pixels) of still + middle

    def invalidate(self) -> None:
        super().invalidate()
        self._middle = None

    def invalidate_middle(self) -> None:
        """Render the middle layer again on the next draw."""
        self._middle = None

    def draw(self, renderer) -> None:
        can_blit = self.get_layout_engine() is None and hasattr(renderer, "copy_from_bbox")
        if not can_blit:
            super().draw(renderer)  # a plain full drawing
            return
        key = (self.still_key, renderer.width, renderer.height, self.dpi)
        if self._middle is not None and self._middle[0] == key:
            renderer.restore_region(self._middle[1])
        else:
            if self._still is not None and self._still[0] == key:
                renderer.restore_region(self._still[1])
            else:
                with hidden(self.middle + self.moving):
                    Figure.draw(self, renderer)  # the still parts only
                self._still = (key, renderer.copy_from_bbox(self.bbox))
            with hidden(self.moving):
                for artist in self.middle:
                    artist.draw(renderer)
            self._middle = (key, renderer.copy_from_bbox(self.bbox))
        for artist in self.moving:
            artist.draw(renderer)  # an invisible artist draws nothing
        self.stale = False


def _controls(
    labels: list[str],
    at_options: list[tuple[str, str]],
    *,
    a: str,
    b: str,
    da: float,
    db: float,
    loss: str,
    backward: str,
) -> dict[str, widgets.Widget]:
    """The explorer's controls: the slice (a, b, which network), the point, the two passes."""
    wide = {"style": {"description_width": "initial"}}
    slider = {"continuous_update": True, "min": -SPAN, "max": SPAN, "step": 0.05}
    toggle = {"style": {"description_width": "initial", "button_width": "auto"}}
    return {
        "a": widgets.Dropdown(options=labels, value=a, description="parameter a (x)", **wide),
        "b": widgets.Dropdown(options=labels, value=b, description="parameter b (y)", **wide),
        "at": widgets.ToggleButtons(
            options=at_options, value=at_options[0][1], description="network", **toggle
        ),
        "da": widgets.FloatSlider(value=da, **slider, **slider_options("point: change in a")),
        "db": widgets.FloatSlider(value=db, **slider, **slider_options("change in b")),
        "loss": widgets.ToggleButtons(
            options=[("MSE", "mse"), ("BCE", "bce")], value=loss, description="loss", **toggle
        ),
        "backward": widgets.ToggleButtons(
            options=[("your backward_231_mse", "mse"), ("your backward_231_bce", "bce")],
            value=backward,
            description="backward pass",
            **toggle,
        ),
    }


def _arrow_handles() -> list[Line2D]:
    """The legend of the map: the two arrows, and the network's own point."""
    return [
        Line2D(
            [],
            [],
            color=NUMERICAL_COLOUR,
            linewidth=2.0,
            label="numerical: central differences (the true downhill)",
        ),
        Line2D(
            [],
            [],
            color=ANALYTIC_COLOUR,
            linewidth=6.0,
            alpha=0.85,
            label="analytic: from the backward pass",
        ),
        Line2D(
            [],
            [],
            color="0.3",
            marker="+",
            markersize=10,
            linestyle="",
            label="the network's own values (change 0, 0)",
        ),
    ]


class GradientArrowsExplorer(Explorer):
    """Gradient arrows from a backward pass and from central differences on a loss slice.

    Parameters
    ----------
    backward_231_mse, backward_231_bce : callable, optional
        The learner's backward passes ``(X, y, params, cache) -> grads``; while one is a stub or
        broken, ``refimpl.backward_231`` with that loss is used and a note says so.
    X, y : ndarray, optional
        Data (n, 2) and targets (n, 1). Default: the standardized study_sleep data of notebook 03.
    params : dict, optional
        The network's params. Default: the example network of notebook 03, at initialisation or
        trained (a toggle picks which).
    a, b : str
        Labels of the two parameters of the slice, e.g. ``"W1[1, 1]"``.
    da, db : float
        The point: how far each parameter is moved from its value (within +-SPAN).
    loss : {"mse", "bce"}
        The loss drawn and differentiated numerically.
    backward : {"mse", "bce"}
        Which backward pass gives the analytic arrow.
    """

    def __init__(
        self,
        backward_231_mse: Callable | None = None,
        backward_231_bce: Callable | None = None,
        X: np.ndarray | None = None,
        y: np.ndarray | None = None,
        params: Mapping[str, np.ndarray] | None = None,
        *,
        a: str = DEFAULT_PAIR[0],
        b: str = DEFAULT_PAIR[1],
        da: float = DEFAULT_POINT[0],
        db: float = DEFAULT_POINT[1],
        loss: str = "mse",
        backward: str = "mse",
        grid: int = GRID_POINTS,
    ):
        super().__init__()
        self.X, self.y, self.params, at_options = slice_networks(
            X, y, params, order=("initial", "trained")
        )
        self.entries = parameter_entries(self.params[at_options[0][1]])
        self.grid = int(grid) | 1  # odd: the centre of the grid is the network itself
        self.backward = {
            "mse": LearnerFunction(
                backward_231_mse, partial(backward_231, loss="mse"), "backward_231_mse"
            ),
            "bce": LearnerFunction(
                backward_231_bce, partial(backward_231, loss="bce"), "backward_231_bce"
            ),
        }
        self._surfaces: dict[tuple, tuple[np.ndarray, list[np.ndarray]]] = {}
        self._shown: tuple | None = None  # the slice the still layer shows
        self._used = "mse"  # the backward pass of the last frame (for the note)

        start = {"a": a, "b": b, "da": da, "db": db, "loss": loss, "backward": backward}
        self.controls = _controls(list(self.entries), at_options, **start)
        self._build_figure()
        self.draw(**self.values())

    def controls_box(self) -> widgets.Widget:
        rows = [["a", "b", "at"], ["da", "db"], ["loss", "backward"]]
        wrap = widgets.Layout(flex_flow="row wrap", justify_content="flex-start")
        return widgets.VBox(
            [widgets.HBox([self.controls[name] for name in row], layout=wrap) for row in rows]
        )

    # -- the picture --------------------------------------------------------------------------

    def _build_figure(self) -> None:
        fig = self.fig = SliceFigure(figsize=(12.5, 5.6), dpi=DPI)
        # a square map: 0.62 of the height is 0.62 * 5.6 / 12.5 of the width
        ax = self.map_ax = fig.add_axes((0.065, 0.16, 0.278, 0.62))
        colour_ax = fig.add_axes((0.35, 0.16, 0.011, 0.62))
        self.bar_ax = fig.add_axes((0.505, 0.15, 0.48, 0.31))
        self._build_map(colour_ax)
        self._build_arrows()
        self._build_key()
        self._build_bars()
        # drawn again only for a new slice: the map, the frame over it, its words, the colour bar
        fig.middle = [self.heat, self.contours, self.centre, *ax.spines.values()]
        fig.middle += [self.map_xlabel, self.map_ylabel, self.map_title, colour_ax]
        fig.set_moving(
            self.analytic_arrow,
            self.numerical_arrow,
            self.point,
            self.message,
            *self.readout,
            *self.bars,
            self.bar_title,
        )

    def _build_map(self, colour_ax) -> None:
        """The slice's map: the loss as colour, its contours, the labels set per slice."""
        ax = self.map_ax
        # a few round ticks, set per slice (fewer labels: a new slice draws faster)
        self.heat, self.norm, self.colorbar = log_loss_map(
            ax,
            colour_ax,
            locator=FixedLocator([]),
            formatter=".3g",
            cmap=MAP_CMAP,
            extent=(-SPAN, SPAN, -SPAN, SPAN),
            alpha=MAP_ALPHA,
        )
        self.colorbar.minorlocator = NullLocator()
        colour_ax.tick_params(labelsize=9.5)
        self.colour_label = colour_ax.set_ylabel("", fontsize=10.5)
        self.contours = LineCollection([], colors="0.15", linewidths=0.7, alpha=0.45)
        ax.add_collection(self.contours)
        ax.set(xlim=(-SPAN, SPAN), ylim=(-SPAN, SPAN), aspect="equal")
        self.map_xlabel = ax.set_xlabel("", fontsize=11)
        self.map_ylabel = ax.set_ylabel("", fontsize=11)
        # a plain text, not ax.title: matplotlib misplaces a title hidden during a still draw
        self.map_title = title_text(ax)
        (self.centre,) = ax.plot([0.0], [0.0], "+", color="0.3", markersize=10)  # the network

    def _build_arrows(self) -> None:
        """The two arrows (analytic under numerical), the point, and the map's message."""
        ax = self.map_ax
        style = {"arrowstyle": "-|>", "mutation_scale": 20, "shrinkA": 0, "shrinkB": 0}
        self.analytic_arrow = FancyArrowPatch(
            (0, 0), (0, 0), color=ANALYTIC_COLOUR, linewidth=6.0, alpha=0.85, zorder=4, **style
        )
        self.numerical_arrow = FancyArrowPatch(
            (0, 0), (0, 0), color=NUMERICAL_COLOUR, linewidth=2.0, zorder=5, **style
        )
        ax.add_patch(self.analytic_arrow)
        ax.add_patch(self.numerical_arrow)
        (self.point,) = ax.plot(
            [], [], "o", color="white", markeredgecolor="black", markersize=8, zorder=6
        )
        self.message = message_text(ax, bbox=BOX_STYLE, zorder=7)

    def _build_key(self) -> None:
        """The right column: what the arrows mean, and a table of the numbers at the point
        (the words are still, only the numbers move)."""
        fig = self.fig
        fig.legend(
            handles=_arrow_handles(),
            loc="upper left",
            bbox_to_anchor=(0.475, 0.985),
            fontsize=11,
            frameon=False,
            title="arrows: −gradient = the DOWNHILL direction (in this slice)",
            title_fontproperties={"size": 11.5, "weight": "bold"},
            alignment="left",
        )
        for row, words in enumerate(READOUT_ROWS):
            fig.text(0.48, READOUT_TOP - row * READOUT_STEP, words, fontsize=11, va="top")
        self.readout = [
            fig.text(0.705, READOUT_TOP - row * READOUT_STEP, "", fontsize=11, va="top")
            for row in range(len(READOUT_ROWS))
        ]

    def _build_bars(self) -> None:
        """The gradient check of every parameter: one relative error per entry, on a log axis."""
        bars = self.bar_ax
        labels = list(self.entries)
        positions = np.arange(len(labels))
        self.bars = bars.bar(positions, np.ones(len(labels)), bottom=ERROR_FLOOR, width=0.7)
        bars.set_yscale("log")
        bars.set_ylim(ERROR_FLOOR, 3.0)
        bars.yaxis.set_major_locator(FixedLocator([1e-12, 1e-9, 1e-6, 1e-3, 1.0]))
        bars.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:.0e}"))
        bars.yaxis.set_minor_locator(NullLocator())
        bars.tick_params(labelsize=9.5)
        bars.set_xlim(-0.6, len(labels) - 0.4)
        bars.set_xticks(
            positions, labels, rotation=40, ha="right", fontsize=9.5, rotation_mode="anchor"
        )
        bars.axhline(TOLERANCE, color="0.2", linestyle="--", linewidth=1.2)
        bars.set_ylabel(f"relative error\n(- - tolerance {TOLERANCE:.0e})", fontsize=10.5)
        self.bar_title = title_text(bars, y=1.04, fontweight="bold")

    def _surface(self, at: str, a: str, b: str, loss: str):
        """The loss over the slice and its contour lines (cached per slice)."""
        key = (at, a, b, loss)
        if key not in self._surfaces:
            params = self.params[at]
            (na, ia), (nb, ib) = self.entries[a], self.entries[b]
            offsets = np.linspace(-SPAN, SPAN, self.grid)
            values_a = float(params[na][ia]) + offsets
            values_b = float(params[nb][ib]) + offsets
            S = loss_surface(self.X, self.y, params, (na, ia), (nb, ib), values_a, values_b, loss)
            low, high = float(S.min()), float(S.max())
            high = max(high, low * 1.001)
            levels = np.geomspace(low, high, CONTOUR_LEVELS + 2)[1:-1]
            self._surfaces[key] = (S, contour_segments(offsets, offsets, S.T, levels))
        return self._surfaces[key]

    def _show_slice(self, at: str, a: str, b: str, loss: str) -> np.ndarray:
        """Show the slice's map (drawn again only when the slice changed); return the loss."""
        S, segments = self._surface(at, a, b, loss)
        if self._shown != (at, a, b, loss):
            self.heat.set_data(S.T)  # image rows: parameter b
            low = float(S.min())
            high = max(float(S.max()), low * 1.001)
            self.heat.set_clim(low, high)  # both at once
            self.colorbar.locator = FixedLocator(colour_ticks(low, high))
            self.contours.set_segments(segments)
            self.map_xlabel.set_text(f"change in a = {a}")
            self.map_ylabel.set_text(f"change in b = {b}")
            network = {"initial": "at initialisation", "trained": "trained"}.get(at, "given")
            self.map_title.set_text(f"{LOSS_NAMES[loss]} over a slice, network {network}")
            self.colour_label.set_text(f"{LOSS_NAMES[loss]} (log colour scale)")
            for artist in (self.heat, self.contours):
                artist.set_visible(True)
            self._shown = (at, a, b, loss)
            self.fig.invalidate_middle()
        return S

    def _show_message(self, text: str) -> None:
        self.message.set_text(text)
        self.message.set_visible(True)
        for artist in (self.analytic_arrow, self.numerical_arrow, self.point):
            artist.set_visible(False)
        for line in self.readout:
            line.set_text("")
        for bar in self.bars:
            bar.set_height(0.0)
        self.bar_title.set_text("")
        if self._shown != "message":
            for artist in (self.heat, self.contours):
                artist.set_visible(False)
            self._shown = "message"
            self.fig.invalidate_middle()

    # -- one frame --------------------------------------------------------------------------

    def notes(self) -> list[str]:
        return [self.backward[self._used].note]

    def draw(
        self, a: str, b: str, at: str, da: float, db: float, loss: str, backward: str
    ) -> dict[str, np.ndarray]:
        self._used = backward
        if a == b:
            self._show_message(f"Pick two different parameters:\nboth are {a}.")
            return {}
        self.message.set_visible(False)
        self.point.set_visible(True)
        self._show_slice(at, a, b, loss)

        (na, ia), (nb, ib) = self.entries[a], self.entries[b]
        params = {key: value.copy() for key, value in self.params[at].items()}
        params[na][ia] += da
        params[nb][ib] += db
        with np.errstate(all="ignore"):
            analytic, numerical = slice_gradients(
                self.backward[backward], self.X, self.y, params, loss
            )
        # downhill in the slice: minus the two entries of each gradient
        down_analytic = -np.array([analytic[na][ia], analytic[nb][ib]], dtype=np.float64)
        down_numerical = -np.array([numerical[na][ia], numerical[nb][ib]])
        size_a, size_n = np.hypot(*down_analytic), np.hypot(*down_numerical)
        here = np.array([da, db])
        self.point.set_data([da], [db])
        for arrow, down, size in (
            (self.analytic_arrow, down_analytic, size_a),
            (self.numerical_arrow, down_numerical, size_n),
        ):
            arrow.set_visible(size > FLAT)  # no direction to show at a flat spot
            if size > FLAT:  # every arrow has the same length: only the direction is compared
                arrow.set_positions(here, here + ARROW_FRACTION * SPAN * down / size)
        for text, line in zip(self.readout, _readout(down_analytic, down_numerical), strict=True):
            text.set_text(line)

        errors = entry_errors(analytic, numerical, self.entries)
        shown = np.clip(np.nan_to_num(errors, nan=1.0), ERROR_FLOOR, 1.0)
        for bar, error in zip(self.bars, shown, strict=True):
            bar.set_height(error - ERROR_FLOOR)
            passed = error <= TOLERANCE
            bar.set_facecolor(PASS_COLOUR if passed else FAIL_COLOUR)
            bar.set_edgecolor(PASS_COLOUR if passed else "black")
            bar.set_hatch("" if passed else FAIL_HATCH)  # not colour alone
            bar.set_hatchcolor("black")
        failing = int(np.sum(~(errors <= TOLERANCE)))
        self.bar_title.set_text(
            f"{PASS_MARK} gradient check here: all {errors.size} entries pass"
            if not failing
            else f"{FAIL_MARK} gradient check here: {failing} of {errors.size} entries FAIL"
        )
        return {
            "analytic": down_analytic,
            "numerical": down_numerical,
            "errors": shown,
        }


def _readout(down_analytic: np.ndarray, down_numerical: np.ndarray) -> list[str]:
    """The numbers of the table beside the map (one per row of READOUT_ROWS)."""
    size_a, size_n = np.hypot(*down_analytic), np.hypot(*down_numerical)
    lines = [
        f"({_num(down_numerical[0])}, {_num(down_numerical[1])})",
        f"({_num(down_analytic[0])}, {_num(down_analytic[1])})",
    ]
    if size_a <= FLAT or size_n <= FLAT:
        zero = (
            "both are"
            if max(size_a, size_n) <= FLAT
            else ("the analytic one is" if size_a <= FLAT else "the numerical one is")
        )
        return [*lines, f"none: {zero} 0 here", "-"]
    cosine = float(np.clip(down_analytic @ down_numerical / (size_a * size_n), -1.0, 1.0))
    angle = float(np.degrees(np.arccos(cosine)))
    verdict = "goes downhill" if cosine > 0 else "goes UPHILL"
    return [*lines, f"{angle:.0f}°: the analytic arrow {verdict}", f"{size_a / size_n:#.3g}"]


def _num(value: float) -> str:
    """A gradient component: 3 significant digits, minus sign as in the legend."""
    return f"{value:+.3g}".replace("-", "−")
