"""The computational graph of one neuron and its loss, traced forward and backward (notebook 05).

The graph computes ``L = (a - y)**2`` with ``a = sigmoid(z)`` and ``z = w x + b``. The forward
pass writes a value on every node (blue); the backward pass writes a local derivative on every
edge (grey) and the gradient ``dL/d(node)`` on every node (red): the product of the local
derivatives along the path from L. The numbers come from a small autodiff class, the learner's
``Value`` while it works, else ``refimpl.Value`` (``refimpl.autodiff.trace_neuron_loss``).
Beside the graph, L as a function of one leaf, with the tangent whose slope is that leaf's
gradient.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import ipywidgets as widgets
import numpy as np
from IPython.display import Image
from matplotlib.lines import Line2D
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from refimpl.activations import sigmoid
from refimpl.autodiff import Value as ReferenceValue
from refimpl.autodiff import trace_neuron_loss
from refimpl.viz._core import (
    DPI,
    BlitFigure,
    DescribedImage,
    Explorer,
    LearnerFunction,
    figure_png,
)
from refimpl.viz._style import OKABE_ITO, axes_text, legend_below, slider_options, title_text

VALUE_COLOUR = OKABE_ITO["blue"]  # forward: values on the nodes
GRAD_COLOUR = OKABE_ITO["vermillion"]  # backward: gradients dL/d(node), the red tangent
LOCAL_COLOUR = "0.25"  # local derivatives on the edges
NODE_FACE = {"leaf": "#eef3fb", "op": "#f7f7f7", "loss": "#fdeeee", "target": "#f2f2f2"}

#: The starting point: the output neuron of the worked 2-3-1 example (z = 0.5, y = 1).
START = {"w": 0.5, "b": -0.5, "x": 2.0, "y": 1.0}
SLIDER_RANGE = (-3.0, 3.0)
#: Gradients agree with the reference when within this (absolute + relative) tolerance.
AGREE_TOL = 1e-6

# Diagram layout, in data units of the graph axes (50 pixels per unit at the explorer's DPI).
MAIN_ROW = 3.6
NODE_XY = {
    "x": (1.15, 5.9),
    "w": (1.15, MAIN_ROW),
    "b": (1.15, 1.3),
    "z": (5.55, MAIN_ROW),
    "a": (9.1, MAIN_ROW),
    "y": (12.6, 1.3),
    "L": (12.6, MAIN_ROW),
}
BOX = (2.3, 1.3)  # width, height of a node
EDGE_BOX = (2.05, 0.78)  # of a local-derivative label above a horizontal edge
EDGE_BOX_INTO_Z = (1.5, 0.78)  # narrower: the three labels between the leaves and z
FIGSIZE = (12.5, 5.2)
GRAPH_RECT = (0.0, 0.0, 0.705, 1.0)
CURVE_RECT = (0.755, 0.2, 0.23, 0.66)
DIAGRAM_LIMITS = {"xlim": (-0.2, 13.9), "ylim": (-0.25, 8.05)}
TITLES = {
    "x": "x  (input)",
    "w": "w  (weight)",
    "b": "b  (bias)",
    "z": "z = w·x + b",
    "a": "a = σ(z)",
    "y": "y  (target)",
    "L": "L = (a − y)²",
}
KINDS = {"x": "leaf", "w": "leaf", "b": "leaf", "z": "op", "a": "op", "y": "target", "L": "loss"}
# edges (child, parent): the local derivative d(parent)/d(child), as a formula
EDGES = {
    ("x", "z"): "∂z/∂x = w",
    ("w", "z"): "∂z/∂w = x",
    ("b", "z"): "∂z/∂b = 1",
    ("z", "a"): "∂a/∂z = a(1−a)",
    ("a", "L"): "∂L/∂a = 2(a−y)",
}
# where each leaf's gradient comes from: the path of local derivatives from L down to it
CHAIN = {
    "w": ("∂L/∂w", "∂L/∂a · ∂a/∂z · ∂z/∂w"),
    "b": ("∂L/∂b", "∂L/∂a · ∂a/∂z · ∂z/∂b"),
    "x": ("∂L/∂x", "∂L/∂a · ∂a/∂z · ∂z/∂x"),
}
#: Points of the L(leaf) curve on the right.
CURVE_POINTS = 241
TANGENT_HALF_WIDTH = 0.9  # the tangent is drawn this far either side of the point


def _fmt(value: float) -> str:
    """A number on the diagram: 3 decimals, or 2 significant digits when tiny, no '-0.000'."""
    value = float(value)
    if value == 0.0 or not np.isfinite(value):
        return "0.000" if value == 0.0 else str(value)
    if abs(value) < 5e-4:
        return f"{value:.1e}".replace("-", "−")
    return f"{value:.3f}".replace("-", "−")


def _edge_points(child: str, parent: str) -> tuple[np.ndarray, np.ndarray]:
    """Start and end of an edge: from the child's box border to the parent's."""
    start, end = np.array(NODE_XY[child]), np.array(NODE_XY[parent])
    half = np.array(BOX) / 2 + 0.06

    def border(centre: np.ndarray, direction: np.ndarray) -> np.ndarray:
        # leave the box where the ray from its centre crosses the border
        scale = min(
            half[0] / abs(direction[0]) if direction[0] else np.inf,
            half[1] / abs(direction[1]) if direction[1] else np.inf,
        )
        return centre + scale * direction

    direction = (end - start) / np.linalg.norm(end - start)
    return border(start, direction), border(end, -direction)


class GraphExplorer(Explorer):
    """Sliders for w, b and x of one sigmoid neuron with a squared-error loss; the graph traced.

    Parameters
    ----------
    Value : class, optional
        The learner's autodiff class; while it is a stub or broken, ``refimpl.Value`` is used and
        a note says so. When it runs but its numbers differ from the reference, a note says where.
    w, b, x, y : float
        Starting values of the controls (y is 0 or 1).
    slope_of : {"w", "b", "x"}
        The leaf whose L-curve and tangent are shown on the right.
    show_backward : bool
        False shows the forward pass only: values, no local derivatives and no gradients.
    """

    def __init__(
        self,
        Value: Callable | None = None,
        *,
        w: float = START["w"],
        b: float = START["b"],
        x: float = START["x"],
        y: float = START["y"],
        slope_of: str = "w",
        show_backward: bool = True,
    ):
        super().__init__()
        learner = None if Value is None else functools.partial(trace_neuron_loss, Value)
        self.trace = LearnerFunction(learner, self._reference_trace, "Value")
        self.show_backward = show_backward
        self._differs: list[str] = []
        self._slope_of = ""  # the leaf whose words are shown

        toggle = {"style": {"description_width": "initial", "button_width": "auto"}}
        low, high = SLIDER_RANGE
        self.controls = {
            name: widgets.FloatSlider(
                value=start,
                min=low,
                max=high,
                step=0.1,
                continuous_update=True,
                **slider_options(name),
            )
            for name, start in (("w", w), ("b", b), ("x", x))
        } | {
            "y": widgets.ToggleButtons(
                options=[("1 (passed)", 1.0), ("0 (failed)", 0.0)],
                value=float(y),
                description="target y",
                **toggle,
            ),
            "slope_of": widgets.ToggleButtons(
                options=["w", "b", "x"], value=slope_of, description="curve of L over", **toggle
            ),
        }
        self._build_figure()
        self.draw(**self.values())

    @staticmethod
    def _reference_trace(w: float, b: float, x: float, y: float) -> dict[str, float]:
        return trace_neuron_loss(ReferenceValue, w, b, x, y)

    # -- the picture --------------------------------------------------------------------------

    def _build_figure(self) -> None:
        self.fig = BlitFigure(figsize=FIGSIZE, dpi=DPI)
        self.graph_ax = self.fig.add_axes(GRAPH_RECT)
        self.curve_ax = self.fig.add_axes(CURVE_RECT)
        self._build_graph(self.graph_ax)
        self._build_curve(self.curve_ax)
        # only numbers move: every word and formula is part of the still layer
        moving = [*self.value_texts.values(), *self.grad_texts.values()]
        moving += [*self.edge_texts.values(), self.chain_formula, self.chain_numbers]
        moving += [self.curve, self.tangent, self.point, self.slope_text]
        moving += [self.curve_title, self.curve_xlabel]
        self.fig.set_moving(*moving)

    def _build_graph(self, ax) -> None:
        ax.set(**DIAGRAM_LIMITS)
        ax.axis("off")
        for child, parent in [*EDGES, ("y", "L")]:
            start, end = _edge_points(child, parent)
            ax.add_patch(
                FancyArrowPatch(
                    start,
                    end,
                    arrowstyle="-|>",
                    mutation_scale=16,
                    color="0.45" if child != "y" else "0.7",
                    linewidth=1.6 if child != "y" else 1.2,
                    shrinkA=0,
                    shrinkB=0,
                )
            )
        self.value_texts, self.grad_texts, self.edge_texts = {}, {}, {}
        for name in NODE_XY:
            self._build_node(ax, name)
        for child, parent in EDGES if self.show_backward else ():
            self._build_local_derivative(ax, child, parent)
        self._build_pass_titles(ax)
        self.chain_formula = ax.text(3.6, 1.6, "", fontsize=12, color=GRAD_COLOUR, va="bottom")
        self.chain_numbers = ax.text(4.25, 1.5, "", fontsize=12, color=GRAD_COLOUR, va="top")
        self.chain_formula.set_visible(self.show_backward)
        self.chain_numbers.set_visible(self.show_backward)

    def _build_node(self, ax, name: str) -> None:
        """A node's box and title, with its value and (backward) its gradient as rows."""
        (cx, cy), (width, height) = NODE_XY[name], BOX
        ax.add_patch(
            FancyBboxPatch(
                (cx - width / 2, cy - height / 2),
                width,
                height,
                boxstyle="round,pad=0.0,rounding_size=0.2",
                facecolor=NODE_FACE[KINDS[name]],
                edgecolor="0.3",
                linewidth=1.3,
            )
        )
        ax.text(
            cx, cy + 0.36, TITLES[name], ha="center", va="center", fontsize=12, fontweight="bold"
        )
        rows = [("value", VALUE_COLOUR, self.value_texts, -0.06)]
        if name != "y" and self.show_backward:  # the target is data: no gradient needed
            rows.append(("grad", GRAD_COLOUR, self.grad_texts, -0.44))
        for word, colour, texts, dy in rows:
            ax.text(
                cx - 0.22,
                cy + dy,
                word,
                ha="right",
                va="center",
                fontsize=11,
                color=colour,
                alpha=0.8,
            )
            number = ax.text(
                cx - 0.1,
                cy + dy,
                "",
                ha="left",
                va="center",
                fontsize=11.5,
                color=colour,
                fontweight="bold",
            )
            if (name, word) == ("L", "grad"):
                number.set_text(_fmt(1.0))  # dL/dL = 1 always: the start of the backward pass
            else:
                texts[name] = number

    def _build_local_derivative(self, ax, child: str, parent: str) -> None:
        """The label of an edge: its local derivative d(parent)/d(child), formula and number."""
        (sx, sy), (ex, ey) = _edge_points(child, parent)
        mx, my = (sx + ex) / 2, (sy + ey) / 2
        box = EDGE_BOX_INTO_Z if parent == "z" else EDGE_BOX
        if parent != "z":  # a horizontal edge: the label sits above it
            my += 1.05
        ax.add_patch(
            FancyBboxPatch(
                (mx - box[0] / 2, my - box[1] / 2),
                *box,
                boxstyle="round,pad=0.0,rounding_size=0.12",
                facecolor="white",
                edgecolor="0.7",
                linewidth=0.9,
                zorder=3,
            )
        )
        ax.text(
            mx,
            my + 0.17,
            EDGES[child, parent],
            ha="center",
            va="center",
            fontsize=10,
            color=LOCAL_COLOUR,
            style="italic",
            zorder=4,
        )
        number = ax.text(
            mx, my - 0.18, "", ha="center", va="center", fontsize=10.5, color=LOCAL_COLOUR, zorder=4
        )
        if child == "b":
            number.set_text(f"= {_fmt(1.0)}")  # dz/db = 1, whatever the values
        else:
            self.edge_texts[child, parent] = number

    def _build_pass_titles(self, ax) -> None:
        """The words at the top: which way each pass goes and what it writes."""
        top = DIAGRAM_LIMITS["ylim"][1] - 0.1
        right = DIAGRAM_LIMITS["xlim"][1] - 0.1
        forward = "forward pass: values  →"
        ax.text(-0.1, top, forward, color=VALUE_COLOUR, fontsize=12.5, va="top", fontweight="bold")
        if self.show_backward:
            ax.text(
                right,
                top,
                "←  backward pass: gradients ∂L/∂node",
                color=GRAD_COLOUR,
                fontsize=12.5,
                va="top",
                ha="right",
                fontweight="bold",
            )
            ax.text(
                right,
                top - 0.55,
                "on the edges: local derivatives",
                color=LOCAL_COLOUR,
                fontsize=11,
                va="top",
                ha="right",
                style="italic",
            )

    def _build_curve(self, ax) -> None:
        low, high = SLIDER_RANGE
        ax.set(xlim=(low, high), ylim=(-0.05, 1.3))  # L <= 1: the band above is for the text
        ax.set_yticks([0.0, 0.25, 0.5, 0.75, 1.0])
        ax.set_ylabel("L = (σ(w·x + b) − y)²", fontsize=11)
        ax.axhline(0.0, color="0.85", linewidth=0.8)
        (self.curve,) = ax.plot([], [], color=VALUE_COLOUR, linewidth=2.2)
        (self.tangent,) = ax.plot([], [], color=GRAD_COLOUR, linewidth=2.6)
        dot = GRAD_COLOUR if self.show_backward else VALUE_COLOUR
        (self.point,) = ax.plot([], [], "o", color=dot, markersize=8, markeredgecolor="white")
        self.tangent.set_visible(self.show_backward)
        # plain texts, not ax.title / xlabel: they change with the curve's variable, so they are
        # drawn with the moving artists (matplotlib misplaces a title hidden during a still draw)
        self.curve_title = title_text(ax)
        self.curve_xlabel = axes_text(ax, 0.5, -0.1, ha="center", va="top", fontsize=11)
        self.slope_text = axes_text(
            ax,
            0.97,
            0.97,
            ha="right",
            va="top",
            fontsize=11.5,
            color=GRAD_COLOUR,
            fontweight="bold",
            bbox={"boxstyle": "round,pad=0.2", "facecolor": "white", "edgecolor": "none"},
        )
        self.slope_text.set_visible(self.show_backward)
        handles = [Line2D([], [], color=VALUE_COLOUR, linewidth=2.2, label="L")]
        if self.show_backward:
            handles.append(
                Line2D([], [], color=GRAD_COLOUR, linewidth=2.6, label="tangent: slope = gradient")
            )
        legend_below(
            ax, handles, (-0.22, -0.16), ncols=2, fontsize=10, handlelength=1.4, columnspacing=1.0
        )

    def _set_slope_of(self, slope_of: str) -> None:
        """The words that change only with the curve's variable."""
        if slope_of == self._slope_of:
            return
        name, path = CHAIN[slope_of]
        self.chain_formula.set_text(f"{name} = {path}")
        self.curve_xlabel.set_text(f"{slope_of}   (the other inputs fixed)")
        self.curve_title.set_text(
            f"L over {slope_of}: the slope is ∂L/∂{slope_of}"
            if self.show_backward
            else f"L as a function of {slope_of}"
        )
        self._slope_of = slope_of

    # -- one frame --------------------------------------------------------------------------

    def notes(self) -> list[str]:
        lines = [self.trace.note]
        if self._differs:
            lines.append(
                "<b>Your <code>Value</code> runs, but its numbers differ from the reference at "
                f"{', '.join(self._differs)}</b>: the picture shows yours. Run the check cell of "
                "<code>Value</code> for details."
            )
        return lines

    def readouts(self) -> list[str]:
        values = ", ".join(f"{name} = {text.get_text()}" for name, text in self.value_texts.items())
        words = [f"forward values: {values}"]
        if self.show_backward:
            grads = ", ".join(
                f"∂L/∂{name} = {text.get_text()}" for name, text in self.grad_texts.items()
            )
            words += [f"gradients: {grads}", self.slope_text.get_text()]
        return words

    def draw(self, w: float, b: float, x: float, y: float, slope_of: str) -> dict[str, np.ndarray]:
        got = self.trace(w, b, x, y)
        reference = self._reference_trace(w, b, x, y)
        self._differs = []
        if self.trace.note.startswith("Using your"):  # the learner's numbers are shown
            self._differs = [
                f"{key[1:]}.grad" if key.startswith("d") else key
                for key in reference
                if not np.isclose(got[key], reference[key], rtol=AGREE_TOL, atol=AGREE_TOL)
            ]
        self._set_slope_of(slope_of)
        inputs = {"w": w, "b": b, "x": x, "y": y}
        values = {**inputs, "z": got["z"], "a": got["a"], "L": got["L"]}
        for name, text in self.value_texts.items():
            text.set_text(_fmt(values[name]))
        grads = {"w": got["dw"], "b": got["db"], "x": got["dx"], "z": got["dz"], "a": got["da"]}
        for name, text in self.grad_texts.items():
            text.set_text(_fmt(grads[name]))

        # local derivatives, from the forward values (what each _backward multiplies by)
        a = got["a"]
        local = {
            ("x", "z"): w,
            ("w", "z"): x,
            ("b", "z"): 1.0,
            ("z", "a"): a * (1.0 - a),
            ("a", "L"): 2.0 * (a - y),
        }
        for edge, text in self.edge_texts.items():
            text.set_text(f"= {_fmt(local[edge])}")
        factors = [local["a", "L"], local["z", "a"], local[slope_of, "z"]]
        self.chain_numbers.set_text(
            "= " + " · ".join(f"({_fmt(f)})" for f in factors) + f" = {_fmt(np.prod(factors))}"
        )

        # L over one leaf, the others fixed; the tangent's slope is that leaf's gradient
        low, high = SLIDER_RANGE
        t = np.linspace(low, high, CURVE_POINTS)
        inputs_t = {**inputs, slope_of: t}
        curve = (sigmoid(inputs_t["w"] * inputs_t["x"] + inputs_t["b"]) - y) ** 2
        self.curve.set_data(t, curve)
        here, slope = inputs[slope_of], grads[slope_of]
        # the same length on screen at any slope (the axes are about 1 unit of L per 3 of t)
        dt = TANGENT_HALF_WIDTH / np.hypot(1.0, 3.0 * slope)
        tangent_t = np.array([here - dt, here + dt])
        self.tangent.set_data(tangent_t, got["L"] + slope * (tangent_t - here))
        self.point.set_data([here], [got["L"]])
        self.slope_text.set_text(f"∂L/∂{slope_of} = {_fmt(slope)}")
        return {
            "values": np.array([got["z"], got["a"], got["L"]]),
            "grads": np.array([got["dw"], got["db"], got["dx"], got["dz"], got["da"]]),
            "local": np.array(list(local.values())),
            "curve": curve,
        }


def neuron_graph(
    w: float = START["w"],
    b: float = START["b"],
    x: float = START["x"],
    y: float = START["y"],
    *,
    show_backward: bool = True,
) -> Image:
    """A still picture of the neuron-plus-loss graph, with ``refimpl.Value``'s numbers.

    With ``show_backward=False`` only the forward pass: the value of every node.
    """
    explorer = GraphExplorer(w=w, b=b, x=x, y=y, show_backward=show_backward)
    alt = (
        "Computational graph of one sigmoid neuron with a squared-error loss: w and x into "
        "w·x, plus b into z, sigmoid into a, with the target y into L = (a − y)². "
        + "; ".join(explorer.readouts())
        + "."
    )
    return DescribedImage(figure_png(explorer.fig), alt)
