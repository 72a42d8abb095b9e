"""The loss over two of the network's parameters, all others fixed (notebook 03).

The 2-3-1 network has 13 parameters, so its loss is a surface over a 13-dimensional space. The
explorer cuts a 2-D slice through it: two chosen entries vary over a grid around their current
values, the other 11 stay fixed, and ``refimpl.loss_surface`` computes the whole grid at once.
Beside the map, the two 1-D cuts through the marked point show where the surface bends downward
(``refimpl.diagnostics.bends_down``), which a convex surface never does.
"""

from __future__ import annotations

from collections.abc import Mapping

import ipywidgets as widgets
import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator

from refimpl.diagnostics import bends_down
from refimpl.examples import EXAMPLE_PAIR
from refimpl.surface import loss_surface, parameter_entries
from refimpl.viz._core import DPI, BlitFigure, Explorer, slice_networks
from refimpl.viz._geometry import contour_segments
from refimpl.viz._style import (
    CONTOUR_LEVELS,
    LOSS_NAMES,
    OKABE_ITO,
    corner_readout,
    log_loss_map,
    message_text,
    slider_options,
    title_text,
)

#: The default slice: the weight from "hours slept" into hidden unit 0, and its output weight.
DEFAULT_PAIR = EXAMPLE_PAIR
#: Grid points per axis (odd, so that the marked values are grid points).
GRID_POINTS = 81
#: The log colour scale needs a positive loss; an exact 0 (fully saturated MSE) is floored here.
LOSS_FLOOR = 1e-12
#: The 3-D view draws every STRIDE_3D-th grid point (a coarser mesh renders much faster).
STRIDE_3D = 3
#: Elevation and azimuth of the 3-D view (degrees): looking down the valley of the default slice.
VIEW_3D = (40.0, -60.0)

#: The cuts along a and along b: sky blue and orange, bright enough to read on the dark valleys,
#: and told apart without colour by their dashes (on the map) and line styles (in the cuts).
CUT_COLOURS = (OKABE_ITO["sky blue"], OKABE_ITO["orange"])
CUT_MAP_DASHES = ("--", (0, (1.0, 1.5)))
CUT_LINESTYLES = ("-", (0, (5.0, 2.0)))
BEND_STYLE = {"color": "tab:red", "linewidth": 6.0, "alpha": 0.35, "solid_capstyle": "butt"}
MARK_STYLE = {"marker": "*", "markersize": 15, "color": "tab:red", "markeredgecolor": "white"}


class LossSurfaceExplorer(Explorer):
    """The loss over a chosen pair of the 2-3-1 network's parameters, the others fixed.

    Both axes show the change of a parameter from its current value, so the network itself sits
    at the centre (the red star), whatever the pair.

    Parameters
    ----------
    X, y : ndarray, optional
        Data (n, 2) and targets (n, 1). Default: the standardized study_sleep data.
    params : dict, optional
        The network's params. Default: the example network, trained or at initialisation (a
        toggle picks which).
    a, b : str
        Labels of the two parameters to vary, e.g. ``"W1[1, 0]"``.
    loss : {"bce", "mse"}
    span : float
        Each parameter varies over its value +- span.
    view : {"contours", "3-D"}
    grid : int
        Grid points per axis (made odd).
    """

    def __init__(
        self,
        X: np.ndarray | None = None,
        y: np.ndarray | None = None,
        params: Mapping[str, np.ndarray] | None = None,
        *,
        a: str = DEFAULT_PAIR[0],
        b: str = DEFAULT_PAIR[1],
        loss: str = "bce",
        span: float = 6.0,
        view: str = "contours",
        grid: int = GRID_POINTS,
    ):
        super().__init__()
        self.X, self.y, self.params, at_options = slice_networks(
            X, y, params, order=("trained", "initial")
        )
        first = self.params[at_options[0][1]]
        self.entries = parameter_entries(first)
        self.size = len(self.entries)
        self.grid = int(grid) | 1  # odd: the centre of the grid is the marked point
        self._cache: dict[tuple, np.ndarray] = {}

        labels = list(self.entries)
        wide = {"style": {"description_width": "initial"}}
        toggle = {"style": {"description_width": "initial", "button_width": "auto"}}
        self.controls = {
            "a": widgets.Dropdown(options=labels, value=a, description="parameter a (x)", **wide),
            "b": widgets.Dropdown(options=labels, value=b, description="parameter b (y)", **wide),
            "span": widgets.FloatSlider(
                value=span, min=0.5, max=10.0, step=0.5, **slider_options("range ±")
            ),
            "loss": widgets.ToggleButtons(
                options=[("MSE", "mse"), ("BCE", "bce")], value=loss, description="loss", **toggle
            ),
            "at": widgets.ToggleButtons(
                options=at_options, value=at_options[0][1], description="network", **toggle
            ),
            "view": widgets.ToggleButtons(
                options=["contours", "3-D"], value=view, description="view", **toggle
            ),
        }
        self._build_figure()

    def controls_box(self) -> widgets.Widget:
        rows = [["a", "b", "span"], ["loss", "at", "view"]]
        wrap = widgets.Layout(flex_flow="row wrap", justify_content="flex-start")
        return widgets.VBox(
            [widgets.HBox([self.controls[name] for name in row], layout=wrap) for row in rows]
        )

    def _build_figure(self) -> None:
        fig = self.fig = BlitFigure(figsize=(10.5, 4.6), dpi=DPI)
        fig.suptitle(
            f"2-D slice of a {self.size}-dimensional loss surface: two parameters vary, "
            f"the other {self.size - 2} stay fixed",
            fontsize=13.5,
            y=0.985,
        )
        self.map_ax = fig.add_axes((0.075, 0.12, 0.38, 0.72))
        self.surface_ax = fig.add_axes((-0.01, 0.05, 0.44, 0.86), projection="3d")
        self.surface_ax.set_visible(False)
        colour_ax = fig.add_axes((0.465, 0.12, 0.013, 0.72))
        self.cut_ax = fig.add_axes((0.62, 0.12, 0.365, 0.72))
        for axis in (self.map_ax.xaxis, self.map_ax.yaxis, self.cut_ax.xaxis):
            axis.set_major_locator(MaxNLocator(nbins=6, steps=[1, 2, 5, 10]))  # short labels
        self._build_map(colour_ax)
        self.surface = None
        (self.surface_mark,) = self.surface_ax.plot([], [], [], linestyle="", **MARK_STYLE)
        self._build_cuts()
        # Everything that changes between frames; the rest is rendered once per still_key.
        self._moving_2d = [
            self.heat,
            self.contours,
            self.cut_a_line,
            self.cut_b_line,
            self.mark,
            self.mark_text,
            self.message,
            self.map_title,
            colour_ax.yaxis,
        ]
        self._moving_cuts = [
            self.cut_ax.yaxis,
            self.cut_a,
            self.cut_b,
            self.bend_a,
            self.bend_b,
            self.cut_mark,
        ]

    def _build_map(self, colour_ax) -> None:
        """The 2-D map: the loss as colour, its contours, the two cuts' lines, the network."""
        ax, fig = self.map_ax, self.fig
        ax.set_xlabel("change in parameter a", fontsize=11)
        ax.set_ylabel("change in parameter b", fontsize=11)
        # a few labelled ticks: 1, 2 and 5 per decade
        self.heat, self.norm, self.colorbar = log_loss_map(
            ax, colour_ax, locator=LogLocator(subs=(1.0, 2.0, 5.0)), aspect="auto"
        )
        # Axis labels are figure texts: they never change, so they stay in the still layer.
        fig.text(0.525, 0.48, "loss (log colour scale)", rotation=90, va="center", fontsize=11)
        fig.text(0.57, 0.48, "loss", rotation=90, va="center", fontsize=11)
        self.contours = LineCollection([], colors="white", linewidths=0.6, alpha=0.8)
        ax.add_collection(self.contours)
        self.cut_a_line, self.cut_b_line = (
            ax.plot([], [], linestyle=dashes, color=colour, linewidth=1.6)[0]
            for colour, dashes in zip(CUT_COLOURS, CUT_MAP_DASHES, strict=True)
        )
        (self.mark,) = ax.plot([0.0], [0.0], linestyle="", **MARK_STYLE)
        self.mark_text = corner_readout(ax)
        self.map_title = title_text(ax)
        self.message = message_text(ax)

    def _build_cuts(self) -> None:
        """The two 1-D cuts through the marked point, with where they bend downward."""
        cut = self.cut_ax
        self.cut_a, self.cut_b = (
            cut.plot([], [], color=colour, linestyle=style, linewidth=2, label=label)[0]
            for colour, style, label in zip(
                CUT_COLOURS,
                CUT_LINESTYLES,
                ("along a (b fixed)", "along b (a fixed)"),
                strict=True,
            )
        )
        (self.bend_a,) = cut.plot([], [], **BEND_STYLE, label="bends downward: not convex")
        (self.bend_b,) = cut.plot([], [], **BEND_STYLE)
        (self.cut_mark,) = cut.plot([0.0], [0.0], linestyle="", **MARK_STYLE)
        cut.axvline(0.0, color="0.6", linewidth=0.8)
        cut.set_xlabel("change from the marked value ★", fontsize=11)
        cut.set_title("1-D cuts along the dashed lines", fontsize=12)
        cut.legend(
            handles=[self.cut_a, self.cut_b, self.bend_a],
            loc="upper center",
            fontsize=9.5,
            framealpha=0.9,
        )

    def _surface(self, params, pa, pb, values_a, values_b, loss) -> np.ndarray:
        key = (id(params), pa, pb, values_a[0], values_a[-1], values_b[0], values_b[-1], loss)
        if key not in self._cache:
            if len(self._cache) > 32:
                self._cache.clear()
            S = loss_surface(self.X, self.y, params, pa, pb, values_a, values_b, loss)
            self._cache[key] = np.maximum(S, LOSS_FLOOR)  # log colours need a positive loss
        return self._cache[key]

    def draw(
        self, a: str, b: str, span: float, loss: str, at: str, view: str
    ) -> dict[str, np.ndarray]:
        params = self.params[at]
        three_d = view == "3-D" and a != b  # the message for a == b is shown on the map
        self.map_ax.set_visible(not three_d)
        self.surface_ax.set_visible(three_d)
        self.fig.moving = ([] if three_d else self._moving_2d) + self._moving_cuts
        # The still parts: the ticks of both offset axes (set by span) and, in 3-D, the whole
        # surface (nothing on it moves). The figure keeps a layer per key: a setting seen
        # recently (the other loss, network or view, a range seen before) is pasted, not drawn.
        self.fig.still_key = ("3-D", span, a, b, loss, at) if three_d else ("2-D", span)
        if self.surface is not None:
            self.surface.remove()
            self.surface = None

        pa, pb = self.entries[a], self.entries[b]
        centre_a, centre_b = float(params[pa[0]][pa[1]]), float(params[pb[0]][pb[1]])
        which = {"trained": "trained", "initial": "initial"}.get(at, "current")
        self.map_title.set_text(f"{LOSS_NAMES[loss]} over a = {a} and b = {b}")
        for axis_ax in (self.map_ax, self.cut_ax):
            axis_ax.set_xlim(-span, span)
        self.map_ax.set_ylim(-span, span)
        if a == b:
            self._show_message(f"Pick two different parameters:\nboth are {a}.")
            return {}
        self.message.set_visible(False)
        for artist in (self.heat, self.contours, self.mark, self.mark_text):
            artist.set_visible(True)

        offsets = np.linspace(-span, span, self.grid)
        values_a, values_b = centre_a + offsets, centre_b + offsets
        S = self._surface(params, pa, pb, values_a, values_b, loss)  # (G_a, G_b)
        low, high = float(S.min()), float(S.max())
        high = max(high, low * 1.001)  # a flat slice still gets a colour scale
        self.heat.set_clim(low, high)  # the norm, then the colour bar follows (once for both)
        middle = self.grid // 2
        loss_here = float(S[middle, middle])

        if three_d:
            self._draw_3d(offsets, S, a, b, loss_here)
        else:
            self.heat.set_data(S.T)  # image rows: parameter b
            self.heat.set_extent((-span, span, -span, span))
            levels = np.geomspace(low, high, CONTOUR_LEVELS + 2)[1:-1]
            self.contours.set_segments(contour_segments(offsets, offsets, S.T, levels))
            self.cut_a_line.set_data([-span, span], [0.0, 0.0])
            self.cut_b_line.set_data([0.0, 0.0], [-span, span])
            self.mark_text.set_text(
                f"★ {which} network: a = {centre_a:.2f}, b = {centre_b:.2f}, "
                f"{LOSS_NAMES[loss]} = {loss_here:.3g}"
            )

        cut_a, cut_b = S[:, middle], S[middle, :]  # along a (b fixed), along b (a fixed)
        bends = self._draw_cuts(offsets, cut_a, cut_b, loss_here)
        return {
            "surface": S,
            "values_a": values_a,
            "values_b": values_b,
            "cut_a": cut_a,
            "cut_b": cut_b,
            "bends_down": np.array(bends),
        }

    def _draw_cuts(self, offsets, cut_a, cut_b, loss_here: float) -> bool:
        """The two cuts (G,), with where they bend downward; whether either one does."""
        bend_a, bend_b = bends_down(cut_a), bends_down(cut_b)
        self.cut_a.set_data(offsets, cut_a)
        self.cut_b.set_data(offsets, cut_b)
        self.bend_a.set_data(offsets, np.where(bend_a, cut_a, np.nan))
        self.bend_b.set_data(offsets, np.where(bend_b, cut_b, np.nan))
        self.cut_mark.set_data([0.0], [loss_here])
        top, bottom = max(cut_a.max(), cut_b.max()), min(cut_a.min(), cut_b.min())
        pad = 0.06 * (top - bottom) + 1e-12
        self.cut_ax.set_ylim(bottom - pad, top + pad + 0.25 * (top - bottom))  # room for the legend
        return bool(bend_a.any() or bend_b.any())

    def _draw_3d(self, offsets, S, a, b, loss_here) -> None:
        """Loss as height (log scale, labelled in loss values), coloured like the map."""
        ax = self.surface_ax
        A, B = np.meshgrid(offsets[::STRIDE_3D], offsets[::STRIDE_3D], indexing="ij")
        part = S[::STRIDE_3D, ::STRIDE_3D]
        self.surface = ax.plot_surface(
            A,
            B,
            np.log10(part),
            facecolors=self.heat.cmap(self.norm(part)),
            linewidth=0,
            antialiased=False,
            shade=False,
            rstride=1,
            cstride=1,
        )
        self.surface_mark.set_data_3d([0.0], [0.0], [np.log10(loss_here)])
        self.surface_mark.set_zorder(10)  # drawn after the surface, so always in sight
        ax.set_xlim(offsets[0], offsets[-1])
        ax.set_ylim(offsets[0], offsets[-1])
        ax.set_zlim(np.log10(S.min()), np.log10(S.max()) + 1e-9)
        ax.zaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{10**value:.2g}"))
        ax.set_xlabel(f"change in {a}", fontsize=10)
        ax.set_ylabel(f"change in {b}", fontsize=10)
        ax.set_zlabel("loss (log scale)", fontsize=10)
        ax.view_init(elev=VIEW_3D[0], azim=VIEW_3D[1])

    def _show_message(self, text: str) -> None:
        for artist in (self.heat, self.contours, self.mark, self.mark_text):
            artist.set_visible(False)
        for line in (self.cut_a, self.cut_b, self.bend_a, self.bend_b, self.cut_mark):
            line.set_data([], [])
        for line in (self.cut_a_line, self.cut_b_line):
            line.set_data([], [])
        self.message.set_text(text)
        self.message.set_visible(True)
