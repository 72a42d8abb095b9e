"""The 2-3-1 network as a diagram, with one student's numbers flowing through it (notebook 02).

Two sliders set one student's hours studied and hours slept. The diagram shows every node's
value (inputs, hidden ``z`` and ``a = relu(z)``, output ``z`` and ``y_hat = sigmoid(z)``) and every
weight on its edge: blue solid edges are positive weights, orange dashed ones negative, the width
grows with ``|w|`` and an edge fades when it carries little signal for this student. A hidden unit
that fires is grey with a solid rim, one that is off white with a dashed rim. Beside it, the
network's predicted probability over the whole study/sleep plane, with the student marked.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import ipywidgets as widgets
import numpy as np
from matplotlib import colormaps
from matplotlib.image import AxesImage
from matplotlib.lines import Line2D
from matplotlib.patches import Circle

from refimpl.data import FEATURE_NAMES, study_sleep
from refimpl.examples import trained_params_231
from refimpl.network import forward_231 as reference_forward_231
from refimpl.viz._core import DPI, BlitFigure, Explorer, LearnerFunction
from refimpl.viz._geometry import plane_grid
from refimpl.viz._style import (
    FAIL_STYLE,
    NEGATIVE,
    NEGATIVE_LINESTYLE,
    PASS_STYLE,
    POSITIVE,
    PROBABILITY_CMAP,
    SLEPT_RANGE,
    STUDIED_RANGE,
    legend_below,
    pass_fail_handles,
    slider_options,
)

#: Hidden units: white with a dashed rim when off (a = 0); grey with a solid rim when firing,
#: darker the larger a (never a colour of the weights: one meaning per colour).
ACTIVE_CMAP = colormaps["Greys"]
OFF_FACE, OFF_RIM = "white", "--"
ON_RIM = "-"

# Diagram layout (data units of an equal-aspect axes): inputs, hidden units, output.
NODE_RADIUS = 0.45
INPUT_XY = np.array([[0.0, 1.95], [0.0, 0.65]])
HIDDEN_XY = np.array([[2.4, 2.6], [2.4, 1.3], [2.4, 0.0]])
OUTPUT_XY = np.array([[4.8, 1.3]])
DIAGRAM_LIMITS = {"xlim": (-1.75, 5.55), "ylim": (-1.05, 3.55)}
# Where each panel sits in the figure (left, bottom, width, height): fixed, no layout engine.
DIAGRAM_RECT = (0.0, 0.0, 0.56, 1.0)
PLANE_RECT = (0.605, 0.2, 0.3, 0.7)
COLORBAR_RECT = (0.915, 0.2, 0.012, 0.7)
#: The box of a weight's value on its edge.
WEIGHT_BOX = {
    "boxstyle": "round,pad=0.15",
    "facecolor": "white",
    "edgecolor": "none",
    "alpha": 0.85,
}
#: The plane's legend: one row under it.
PLANE_LEGEND = {"ncols": 4, "fontsize": 8.5, "handletextpad": 0.3, "columnspacing": 0.8}
#: The student on the plane (and in its legend): a gold star.
STUDENT_STYLE = {"linestyle": "", "marker": "*", "color": "gold", "markeredgecolor": "black"}


def unit_colour(a: float) -> tuple | str:
    """A hidden unit's fill for its activation ``a``: white when off, then greys up to a = 5."""
    return ACTIVE_CMAP(0.2 + 0.35 * min(a / 5.0, 1.0)) if a > 0 else OFF_FACE


def _fmt(value: float) -> str:
    """A node value, short: 3 significant digits, no '-0.00'."""
    value = float(value)
    return f"{0.0 if abs(value) < 5e-3 else value:.3g}" if abs(value) < 1e4 else f"{value:.2e}"


class NetworkExplorer(Explorer):
    """One student's hours flowing through the 2-3-1 network, and where they sit on the map.

    Parameters
    ----------
    forward_231 : callable, optional
        The learner's ``forward_231(X, params) -> (y_hat, cache)``; while it is a stub or broken
        the reference is used and a note says so.
    params : dict, optional
        W1 (2, 3), b1 (3,), W2 (3, 1), b2 (1,) for inputs in hours; by default the trained
        network of ``refimpl.examples.trained_params_231``.
    X, y : ndarray, optional
        The students drawn on the map (``study_sleep()`` by default).
    studied, slept : float
        The starting student (hours).
    """

    def __init__(
        self,
        forward_231: Callable | None = None,
        params: Mapping[str, np.ndarray] | None = None,
        X: np.ndarray | None = None,
        y: np.ndarray | None = None,
        *,
        studied: float = 6.0,
        slept: float = 7.0,
    ):
        super().__init__()
        if params is None:
            params, _ = trained_params_231()
        if X is None:
            X, y = study_sleep()
        self.params = {key: np.array(value, dtype=np.float64) for key, value in params.items()}
        self.X = np.asarray(X, dtype=np.float64)
        self.y = np.asarray(y, dtype=np.float64).reshape(-1)
        self.forward = LearnerFunction(forward_231, reference_forward_231, "forward_231")

        self.controls = {
            "studied": widgets.FloatSlider(
                value=studied,
                min=0.0,
                max=10.0,
                step=0.1,
                continuous_update=True,
                **slider_options("hours studied"),
            ),
            "slept": widgets.FloatSlider(
                value=slept,
                min=3.0,
                max=10.0,
                step=0.1,
                continuous_update=True,
                **slider_options("hours slept"),
            ),
        }
        self._build_figure()
        self.draw(**self.values())

    # -- the picture --------------------------------------------------------------------------

    def _build_figure(self) -> None:
        self.fig = BlitFigure(figsize=(12.0, 5.0), dpi=DPI)
        self.net_ax = self.fig.add_axes(DIAGRAM_RECT)
        self.plane_ax = self.fig.add_axes(PLANE_RECT)
        self._build_diagram(self.net_ax)
        self._build_plane(self.plane_ax, self.fig.add_axes(COLORBAR_RECT))
        self.fig.set_moving(
            *self.edges.values(),
            *self.weight_labels,
            *self.nodes,
            *self.node_texts,
            self.student,
            self.summary,
        )

    def _build_diagram(self, ax) -> None:
        ax.set(**DIAGRAM_LIMITS, aspect="equal")
        ax.axis("off")
        self._build_edges(ax)
        self.nodes, self.node_texts = [], []
        for xy in (*INPUT_XY, *HIDDEN_XY, *OUTPUT_XY):
            node = Circle(
                xy, NODE_RADIUS, facecolor="white", edgecolor="0.2", linewidth=1.4, zorder=3
            )
            ax.add_patch(node)
            self.nodes.append(node)
            self.node_texts.append(ax.text(*xy, "", fontsize=9, ha="center", va="center", zorder=4))
        self._build_names(ax)
        ax.legend(
            handles=[
                Line2D([], [], color=POSITIVE, linewidth=3, label="weight > 0 (solid)"),
                Line2D(
                    [],
                    [],
                    color=NEGATIVE,
                    linewidth=3,
                    linestyle=NEGATIVE_LINESTYLE,
                    label="weight < 0 (dashed)",
                ),
                Line2D(
                    [],
                    [],
                    linestyle="",
                    marker="o",
                    markersize=12,
                    markerfacecolor=ACTIVE_CMAP(0.35),
                    markeredgecolor="0.2",
                    label="unit on (a > 0): grey",
                ),
                Line2D(
                    [],
                    [],
                    linestyle="",
                    marker="o",
                    markersize=12,
                    markerfacecolor=OFF_FACE,
                    markeredgecolor="0.2",
                    label="unit off (a = 0): white",
                ),
            ],
            title="edge width ~ |weight|\nfaded: little signal here",
            title_fontsize=9,
            fontsize=9,
            loc="lower left",
            frameon=False,
        )
        self.summary = ax.text(
            OUTPUT_XY[0, 0],
            OUTPUT_XY[0, 1] - 1.35,
            "",
            fontsize=12,
            ha="center",
            va="center",
            fontweight="bold",
        )

    def _build_edges(self, ax) -> None:
        """One line per weight, its width ~ |w|, with the weight's value written on it."""
        W1, W2 = self.params["W1"], self.params["W2"]
        widest = max(float(np.max(np.abs(W1))), float(np.max(np.abs(W2))), 1e-12)
        # edges[name, i, j]: the edge of weight name[i, j], from unit i to unit j of the next layer
        self.edges: dict[tuple[str, int, int], Line2D] = {}
        self.weight_labels = []  # drawn over the edges, so they move with them
        # weight labels near the unit they feed (W1[:, j] is what hidden unit j receives)
        layers = ((INPUT_XY, HIDDEN_XY, W1, 0.7), (HIDDEN_XY, OUTPUT_XY, W2, 0.45))
        for name, (sources, targets, W, label_at) in zip(("W1", "W2"), layers, strict=True):
            for i, source in enumerate(sources):
                for j, target in enumerate(targets):
                    w = float(W[i, j])
                    (edge,) = ax.plot(
                        *np.column_stack([source, target]),
                        color=POSITIVE if w >= 0 else NEGATIVE,
                        linestyle="-" if w >= 0 else NEGATIVE_LINESTYLE,
                        linewidth=0.6 + 6.0 * abs(w) / widest,
                        solid_capstyle="round",
                        zorder=1,
                    )
                    self.edges[name, i, j] = edge
                    # the weight's value, part of the way along its edge
                    x, y = source + label_at * (target - source)
                    label = ax.text(
                        x,
                        y,
                        f"{w:.2f}".replace("-0.00", "0.00"),
                        fontsize=9,
                        ha="center",
                        va="center",
                        zorder=2,
                        bbox=WEIGHT_BOX,
                    )
                    self.weight_labels.append(label)

    def _build_names(self, ax) -> None:
        """The still words: the inputs' names, the biases, the layers' titles."""
        b1, b2 = self.params["b1"], self.params["b2"]
        for xy, name in zip(INPUT_XY, ("x1\nstudied", "x2\nslept"), strict=True):
            ax.text(xy[0] - NODE_RADIUS - 0.1, xy[1], name, fontsize=10, ha="right", va="center")
        biases = [f"b1[{k}] = {value:.2f}" for k, value in enumerate(b1)] + [f"b2 = {b2[0]:.2f}"]
        for xy, bias in zip((*HIDDEN_XY, *OUTPUT_XY), biases, strict=True):
            ax.text(
                xy[0],
                xy[1] + NODE_RADIUS + 0.05,
                bias,
                fontsize=9,
                ha="center",
                va="bottom",
                color="0.3",
            )
        top = DIAGRAM_LIMITS["ylim"][1]
        for xy, title in zip(
            (INPUT_XY[0], HIDDEN_XY[0], OUTPUT_XY[0]),
            ("inputs X (hours)", "hidden: A1 = relu(Z1)", "output: sigmoid(Z2)"),
            strict=True,
        ):
            ax.text(xy[0], top, title, fontsize=11, ha="center", va="top", fontweight="bold")

    def _build_plane(self, ax, colorbar_ax) -> None:
        heat = self._probability_map(ax)
        passed = self.y == 1.0
        ax.scatter(*self.X[passed].T, **{**PASS_STYLE, "s": 18})
        ax.scatter(*self.X[~passed].T, **{**FAIL_STYLE, "s": 16, "linewidth": 1.0})
        (self.student,) = ax.plot([], [], **STUDENT_STYLE, markersize=22, markeredgewidth=1.4)
        colorbar = self.fig.colorbar(heat, cax=colorbar_ax)
        colorbar.set_label("predicted P(pass) = y_hat", fontsize=10)
        ax.set(
            xlim=STUDIED_RANGE,
            ylim=SLEPT_RANGE,
            aspect="equal",
            xlabel=f"{FEATURE_NAMES[0]} (hours)",
            ylabel=f"{FEATURE_NAMES[1]} (hours)",
        )
        ax.set_title("the network's y_hat for every student", fontsize=11)
        handles = [
            Line2D([], [], **STUDENT_STYLE, markersize=13, label="this student"),
            *pass_fail_handles(),
            Line2D([], [], color="black", linestyle="--", label="y_hat = 0.5"),
        ]
        legend_below(ax, handles, (-0.12, -0.13), **PLANE_LEGEND)

    def _probability_map(self, ax) -> AxesImage:
        """The network's y_hat over the plane (still: it depends on the params only), with its
        0.5 boundary."""
        X_grid, shape = plane_grid(points=(111, 81))
        y_hat_grid, _ = self.forward(X_grid, self._params_copy())
        grid = np.clip(np.nan_to_num(np.asarray(y_hat_grid, dtype=np.float64)), 0.0, 1.0)
        image = grid.reshape(shape)
        heat = ax.imshow(
            image,
            origin="lower",
            extent=(*STUDIED_RANGE, *SLEPT_RANGE),
            cmap=PROBABILITY_CMAP,
            vmin=0.0,
            vmax=1.0,
            interpolation="bilinear",
        )
        if image.min() < 0.5 < image.max():
            studied, slept = (
                np.linspace(*STUDIED_RANGE, shape[1]),
                np.linspace(*SLEPT_RANGE, shape[0]),
            )
            ax.contour(
                studied, slept, image, levels=[0.5], colors="black", linewidths=1.8, linestyles="--"
            )
        return heat

    def _params_copy(self) -> dict[str, np.ndarray]:
        """The params for one call: a learner's function that changes them cannot spoil ours."""
        return {key: value.copy() for key, value in self.params.items()}

    # -- one frame --------------------------------------------------------------------------

    def notes(self) -> list[str]:
        return [self.forward.note]

    def readouts(self) -> list[str]:
        studied, slept = self.student.get_xdata()[0], self.student.get_ydata()[0]
        hidden = ", ".join(" ".join(text.get_text().split()) for text in self.node_texts[2:5])
        return [
            f"this student studied {studied:.1f} h and slept {slept:.1f} h",
            f"hidden units: {hidden} (grey: on, white: off)",
            " ".join(self.summary.get_text().split()),
        ]

    def draw(self, studied: float, slept: float) -> dict[str, np.ndarray]:
        X = np.array([[studied, slept]])  # one student: a batch of n = 1
        y_hat, cache = self.forward(X, self._params_copy())
        with np.errstate(all="ignore"):
            values = {
                key: np.nan_to_num(np.asarray(cache[key], dtype=np.float64).reshape(-1))
                for key in ("Z1", "A1", "Z2")
            }
            p = float(np.clip(np.nan_to_num(np.asarray(y_hat, dtype=np.float64)).item(), 0, 1))
        x, z1, a1, z2 = X[0], values["Z1"], values["A1"], values["Z2"]

        texts = [f"{x[0]:.1f} h", f"{x[1]:.1f} h"]
        texts += [f"z = {_fmt(z)}\na = {_fmt(a)}" for z, a in zip(z1, a1, strict=True)]
        texts.append(f"z = {_fmt(z2[0])}\ny_hat\n= {p:.3f}")
        colours = ["0.93", "0.93"]
        colours += [unit_colour(a) for a in a1]
        colours.append(PROBABILITY_CMAP(p))
        rims = ["-", "-", *(ON_RIM if a > 0 else OFF_RIM for a in a1), "-"]
        for node, text, colour, rim, label in zip(
            self.nodes, self.node_texts, colours, rims, texts, strict=True
        ):
            node.set_facecolor(colour)
            node.set_linestyle(rim)
            text.set_text(label)
        # the output node's text must stay readable on a dark red or blue
        self.node_texts[-1].set_color("white" if abs(p - 0.5) > 0.3 else "black")

        # edge opacity: how much signal it carries for this student, |input * weight|
        flows = {
            "W1": np.abs(x[:, None] * self.params["W1"]),  # (2, 1) * (2, 3)
            "W2": np.abs(a1[:, None] * self.params["W2"]),  # (3, 1) * (3, 1)
        }
        for name, flow in flows.items():
            top = float(np.max(flow))
            for (i, j), value in np.ndenumerate(flow):
                self.edges[name, i, j].set_alpha(0.15 + 0.85 * (value / top if top > 0 else 0.0))

        self.student.set_data([studied], [slept])
        verdict = "pass" if p >= 0.5 else "fail"
        self.summary.set_text(f"P(pass) = {p:.3f}\npredicted: {verdict}")
        return {"Z1": z1, "A1": a1, "Z2": z2, "y_hat": np.array([p])}
