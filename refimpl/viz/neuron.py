"""One neuron over the study/sleep plane (notebook 01): sliders for w1, w2 and b.

The neuron computes ``a = f(w1 * studied + w2 * slept + b)``. The explorer paints ``a`` over the
plane of (hours studied, hours slept), puts the students of ``refimpl.study_sleep`` on top and
draws the line ``z = 0`` where the neuron switches: a sigmoid crosses 0.5 there, a ReLU turns on.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable

import ipywidgets as widgets
import numpy as np
from IPython.display import HTML
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

import refimpl
from refimpl.activations import relu, sigmoid
from refimpl.data import FEATURE_NAMES, study_sleep
from refimpl.neuron import neuron as reference_neuron
from refimpl.viz._core import DPI, BlitFigure, DescribedFigure, Explorer, LearnerFunction
from refimpl.viz._geometry import plane_grid, switch_line
from refimpl.viz._style import (
    FAIL_STYLE,
    PASS_STYLE,
    SLEPT_RANGE,
    STUDIED_RANGE,
    frame_on_top,
    legend_below,
    pass_fail_handles,
    readout_below,
    slider_options,
    title_text,
)

ACTIVATION_FUNCTIONS = {"sigmoid": sigmoid, "relu": relu}
#: One fixed colour scale per activation, so that the colour bar stays put while sliders move.
COLOUR_SCALES = {
    "sigmoid": {
        "cmap": "RdBu",
        "clim": (0.0, 1.0),
        "label": "neuron output a = sigmoid(z)",
    },
    "relu": {
        "cmap": "Blues",
        "clim": (0.0, 10.0),
        "label": "a = relu(z)  (10 or more: darkest)",
    },
}
#: Length of the arrow that shows the direction of w, in hours.
ARROW_LENGTH = 1.6


class NeuronExplorer(Explorer):
    """Sliders for the weights and the bias of one neuron on the study/sleep data.

    Parameters
    ----------
    neuron : callable, optional
        The learner's ``neuron(X, w, b, activation)``; while it is a stub or broken the reference
        is used and a note says so. The activation is passed as a function (sigmoid or relu).
    X, y : ndarray, optional
        Students (n, 2) and labels (n, 1); ``refimpl.study_sleep()`` by default.
    w1, w2, b, activation :
        Starting values of the controls.
    """

    def __init__(
        self,
        neuron: Callable | None = None,
        X: np.ndarray | None = None,
        y: np.ndarray | None = None,
        *,
        w1: float = 1.0,
        w2: float = 1.0,
        b: float = -10.0,
        activation: str = "sigmoid",
    ):
        super().__init__()
        if X is None:
            X, y = study_sleep()
        self.X = np.asarray(X, dtype=np.float64)
        self.y = np.asarray(y, dtype=np.float64).reshape(-1)
        self.neuron = LearnerFunction(neuron, reference_neuron, "neuron")
        self.X_grid, self.image_shape = plane_grid()

        self.controls = {
            "w1": widgets.FloatSlider(
                value=w1,
                min=-3.0,
                max=3.0,
                step=0.1,
                continuous_update=True,
                **slider_options("w1 (per hour studied)"),
            ),
            "w2": widgets.FloatSlider(
                value=w2,
                min=-3.0,
                max=3.0,
                step=0.1,
                continuous_update=True,
                **slider_options("w2 (per hour slept)"),
            ),
            "b": widgets.FloatSlider(
                value=b,
                min=-30.0,
                max=30.0,
                step=0.5,
                continuous_update=True,
                **slider_options("b (bias)"),
            ),
            "activation": widgets.Dropdown(
                options=list(ACTIVATION_FUNCTIONS), value=activation, description="f"
            ),
        }
        self._scale = ""  # the activation whose colour scale is shown
        self._build_figure()
        # titles and labels in place before the layout is fixed; always for the same colour scale,
        # so that the layout does not depend on the starting activation
        self.draw(**{**self.values(), "activation": "sigmoid"})
        self.fig.freeze_layout()
        self.draw(**self.values())

    def _build_figure(self) -> None:
        self.fig = BlitFigure(figsize=(7.4, 5.6), dpi=DPI, layout="constrained")
        ax = self.ax = self.fig.add_subplot()
        self.heat = ax.imshow(
            np.zeros(self.image_shape),
            origin="lower",
            extent=(*STUDIED_RANGE, *SLEPT_RANGE),
            cmap="RdBu",
            vmin=0.0,
            vmax=1.0,
            interpolation="bilinear",
        )
        self.colorbar = self.fig.colorbar(self.heat, ax=ax, shrink=0.9, pad=0.02)
        passed = self.y == 1.0
        dots = (
            ax.scatter(*self.X[passed].T, **PASS_STYLE),
            ax.scatter(*self.X[~passed].T, **FAIL_STYLE),
        )
        (self.line,) = ax.plot([], [], color="black", linewidth=2.2, linestyle="--")
        self._build_arrow(ax)
        # a plain text, not ax.title: matplotlib moves a title that is hidden while the still
        # parts are drawn
        self.title = title_text(ax, y=1.02)
        self.readout = readout_below(ax, -0.23)  # under the legend: it covers no student
        self._build_axes(ax)
        self.frame = frame_on_top(ax)  # the axes' frame, drawn again over the heat map
        self.fig.set_moving(
            self.heat,
            self.frame,
            *dots,
            self.line,
            self.arrow,
            self.arrow_label,
            self.readout,
            self.title,
        )

    def _build_arrow(self, ax) -> None:
        """The arrow of w, from the switch line towards where z grows, and its label."""
        self.arrow = ax.annotate(
            "",
            xy=(0.0, 0.0),
            xytext=(0.0, 0.0),
            arrowprops={"arrowstyle": "-|>", "color": "black", "linewidth": 2.0},
        )
        self.arrow_label = ax.text(
            0.0, 0.0, "w", fontsize=13, fontweight="bold", ha="center", va="center"
        )

    @staticmethod
    def _build_axes(ax) -> None:
        """The plane's limits and labels, and the legend under it."""
        ax.set(
            xlim=STUDIED_RANGE,
            ylim=SLEPT_RANGE,
            xlabel=f"{FEATURE_NAMES[0]}, x1 (hours)",
            ylabel=f"{FEATURE_NAMES[1]}, x2 (hours)",
            aspect="equal",
        )
        ax.xaxis.label.set_fontsize(11)
        ax.yaxis.label.set_fontsize(11)
        switch = Line2D(
            [], [], color="black", linestyle="--", linewidth=2, label="switch line z = 0"
        )
        handles = [*pass_fail_handles(" (y = 1)", " (y = 0)"), switch]
        legend_below(ax, handles, (0.0, -0.13), ncols=3, fontsize=9.5)

    def notes(self) -> list[str]:
        return [self.neuron.note]

    def draw(self, w1: float, w2: float, b: float, activation: str) -> dict[str, np.ndarray]:
        f = ACTIVATION_FUNCTIONS[activation]
        w = np.array([w1, w2])
        # a copy: a learner's function that changes X in place must not spoil later frames
        a = np.asarray(self.neuron(self.X_grid.copy(), w, b, f), dtype=np.float64)
        image = a.reshape(self.image_shape)
        if activation != self._scale:  # the colour scale is still, except when f changes
            self.heat.set_cmap(COLOUR_SCALES[activation]["cmap"])
            self.heat.set_clim(*COLOUR_SCALES[activation]["clim"])
            self.colorbar.set_label(COLOUR_SCALES[activation]["label"], fontsize=10.5)
            self.fig.invalidate()
            self._scale = activation
        self.heat.set_data(image)

        line = switch_line(w1, w2, b)
        self.line.set_data(line[:, 0], line[:, 1])
        self._place_arrow(w, b)

        z = self.X @ w + b
        right = float(np.mean((z > 0.0) == (self.y == 1.0)))
        rule = "a > 0.5" if activation == "sigmoid" else "a > 0"
        self.readout.set_text(
            "w = 0: the output is the same everywhere, no line"
            if not line.size
            else f"Rule '{rule} means pass' (z > 0):\n{right:.0%} of the students right"
        )
        self.title.set_text(f"a = {activation}(z),  z = {w1:.1f}·x1 {_signed(w2)}·x2 {_signed(b)}")
        return {"output": image, "line": line, "accuracy": np.array(right)}

    def _place_arrow(self, w: np.ndarray, b: float) -> None:
        """Show w as an arrow from the line, pointing to where z (and the output) grows."""
        norm = float(np.hypot(*w))
        centre = np.array([np.mean(STUDIED_RANGE), np.mean(SLEPT_RANGE)])
        if norm == 0.0:
            self.arrow.set_visible(False)
            self.arrow_label.set_visible(False)
            return
        foot = centre - (centre @ w + b) / norm**2 * w  # the point of the line nearest the centre
        inside = STUDIED_RANGE[0] <= foot[0] <= STUDIED_RANGE[1] and (
            SLEPT_RANGE[0] <= foot[1] <= SLEPT_RANGE[1]
        )
        self.arrow.set_visible(inside)
        self.arrow_label.set_visible(inside)
        if inside:
            self.arrow.set_position(tuple(foot))  # the tail
            self.arrow.xy = tuple(foot + ARROW_LENGTH * w / norm)  # the head
            self.arrow_label.set_position(tuple(foot + (ARROW_LENGTH + 0.45) * w / norm))


def _signed(value: float) -> str:
    """``+ 1.5`` or ``- 1.5``: a term of a sum, written out."""
    return f"{'-' if value < 0 else '+'} {abs(value):.1f}"


def activation_figure() -> Figure:
    """ReLU and sigmoid side by side on z in [-6, 6] (a static figure for notebook 01)."""
    z = np.linspace(-6.0, 6.0, 241)
    fig = DescribedFigure(figsize=(8.0, 3.0), layout="constrained")
    fig.alt = (
        "Two plots over z from -6 to 6. Left, relu(z): 0 for z < 0, then the line z. Right, "
        "sigmoid(z): an S-shaped curve from 0 to 1, 0.5 at z = 0."
    )
    for ax, name, f, note in zip(
        fig.subplots(1, 2),
        ("relu", "sigmoid"),
        (relu, sigmoid),
        ("0 for z < 0, then z itself", "any z into (0, 1); 0.5 at z = 0"),
        strict=True,
    ):
        ax.axhline(0.0, color="0.7", linewidth=0.8)
        ax.axvline(0.0, color="0.7", linewidth=0.8)
        ax.plot(z, f(z), linewidth=2.5, color="tab:blue")
        ax.set(xlabel="z", ylabel=f"{name}(z)")
        ax.set_title(f"{name}: {note}", fontsize=10.5)
    return fig


def glossary() -> HTML:
    """The glossary of symbols from ``refimpl``'s module docstring, as an HTML table.

    The docstring holds it as a reST simple table (symbol, shape, meaning); a row whose first
    column is blank continues the meaning of the row above.
    """
    lines = (refimpl.__doc__ or "").splitlines()
    rules = [k for k, line in enumerate(lines) if re.fullmatch(r"=+( +=+)+", line.strip())]
    if len(rules) < 3:
        return HTML("<pre>" + html.escape(refimpl.__doc__ or "") + "</pre>")
    starts = [match.start() for match in re.finditer(r"=+", lines[rules[0]])]
    bounds = list(zip(starts, [*starts[1:], None], strict=True))

    def cells(line: str) -> list[str]:
        return [line[start:stop].strip() for start, stop in bounds]

    header, rows = cells(lines[rules[0] + 1]), []
    for line in lines[rules[1] + 1 : rules[2]]:
        row = cells(line)
        if rows and not row[0]:
            rows[-1][-1] += " " + row[-1]  # the meaning goes on
        elif any(row):
            rows.append(row)
    head = "".join(f"<th style='text-align:left'>{html.escape(h)}</th>" for h in header)

    def cell_html(k: int, text: str) -> str:
        code = k == 0 or text.startswith("(")  # symbols and shapes as code, words as words
        text = html.escape(text)
        return f"<td style='text-align:left'>{f'<code>{text}</code>' if code else text}</td>"

    body = "".join(
        "<tr>" + "".join(cell_html(k, cell) for k, cell in enumerate(row)) + "</tr>" for row in rows
    )
    return HTML(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
