"""Gradient descent on a surface you can see (notebook 04), and the error of numerical derivatives.

:class:`DescentExplorer` runs the learner's ``gradient_descent`` with the learner's
``numerical_gradient`` as the gradient, on a stretched quadratic bowl or on a 2-D slice of the
example network's loss (the slice of notebook 03), and draws the path over the contours beside
the loss per step, up to where it diverged (``refimpl.diagnostics.divergence_step``).
:func:`derivative_error_figure` plots how the error of a numerical derivative changes with the
step h.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import ipywidgets as widgets
import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from matplotlib.ticker import LogLocator

from refimpl.diagnostics import divergence_step
from refimpl.examples import EXAMPLE_PAIR, bowl, example_network
from refimpl.gradcheck import numerical_derivative as reference_numerical_derivative
from refimpl.gradcheck import numerical_gradient as reference_numerical_gradient
from refimpl.optim import DIVERGENCE_FACTOR
from refimpl.optim import gradient_descent as reference_gradient_descent
from refimpl.surface import loss_surface, parameter_entries, slice_function
from refimpl.viz._core import DPI, BlitFigure, DescribedFigure, Explorer, LearnerFunction
from refimpl.viz._geometry import contour_segments
from refimpl.viz._style import (
    ALARM_COLOUR,
    CONTOUR_LEVELS,
    alarm_text,
    learning_rate_slider,
    log_loss_map,
    set_slider_range,
    slider_options,
    title_text,
)

#: The step of the numerical gradient (the course's default h).
H = 1e-5
#: Past this size (any coordinate) a run has long diverged: the gradient is then taken as 0, so
#: every number stays finite and a diverged run is never mistaken for a broken function. The
#: drawing stops at the divergence anyway, long before.
FREEZE_BOUND = 1e6
#: Drawn coordinates are clipped to this (far outside every view; keeps the renderer exact).
DRAW_BOUND = 1e4
#: The background map: grid points per axis.
GRID_POINTS = 101
PATH_COLOUR = "#ff3b30"


@dataclass(frozen=True)
class Landscape:
    """A function of two numbers to walk down, and how to show it."""

    title: str
    f: Callable[[np.ndarray], float]
    box: tuple[float, float, float, float]  # x_min, x_max, y_min, y_max
    labels: tuple[str, str]
    lr_range: tuple[float, float]  # exponents of 10
    lr: float
    start: tuple[float, float]
    steps: int
    loss_limits: tuple[float, float]  # the log-scale loss axis
    mark: tuple[float, float]  # a point worth knowing (the minimum, the trained network)
    mark_label: str


def _landscapes() -> dict[str, Landscape]:
    X, y, params = example_network()
    trained = params["trained"]
    entries = parameter_entries(trained)
    pa, pb = entries[EXAMPLE_PAIR[0]], entries[EXAMPLE_PAIR[1]]
    ca, cb = float(trained[pa[0]][pa[1]]), float(trained[pb[0]][pb[1]])
    return {
        "bowl": Landscape(
            title="f(w) = w1² + 10·w2²  (minimum 0 at the centre)",
            f=bowl,
            box=(-5.0, 5.0, -2.5, 2.5),
            labels=("w1", "w2"),
            lr_range=(-3.0, -0.5),
            lr=0.02,
            start=(-4.0, 2.0),
            steps=40,
            loss_limits=(1e-8, 1e6),
            mark=(0.0, 0.0),
            mark_label="the minimum",
        ),
        "slice": Landscape(
            title=f"BCE over {EXAMPLE_PAIR[0]} and {EXAMPLE_PAIR[1]}, the other 11 fixed",
            f=slice_function(X, y, trained, pa, pb),
            box=(round(ca) - 6.0, round(ca) + 6.0, round(cb) - 6.0, round(cb) + 6.0),
            labels=EXAMPLE_PAIR,
            lr_range=(-1.0, 2.0),
            lr=3.0,
            start=(round(ca) - 5.0, round(cb) + 4.0),
            steps=60,
            loss_limits=(0.05, 1e3),
            mark=(ca, cb),
            mark_label="the trained network",
        ),
    }


class DescentExplorer(Explorer):
    """Gradient descent on a bowl or on a loss slice: the path and the loss per step.

    Parameters
    ----------
    gradient_descent : callable, optional
        The learner's ``gradient_descent(f, grad_f, x0, lr, steps)``.
    numerical_gradient : callable, optional
        The learner's ``numerical_gradient(f, x, h)``, used as ``grad_f``.
        Either one falls back to the reference (with a note) while it is a stub or broken.
    surface : {"bowl", "slice"}
        Which function to walk down first.
    """

    def __init__(
        self,
        gradient_descent: Callable | None = None,
        numerical_gradient: Callable | None = None,
        *,
        surface: str = "bowl",
    ):
        super().__init__()
        self.gradient_descent = LearnerFunction(
            gradient_descent, reference_gradient_descent, "gradient_descent"
        )
        self.numerical_gradient = LearnerFunction(
            numerical_gradient, reference_numerical_gradient, "numerical_gradient"
        )
        self.landscapes = _landscapes()
        self._maps: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        land = self.landscapes[surface]
        self.controls = {
            "surface": widgets.ToggleButtons(
                options=[("bowl w1² + 10·w2²", "bowl"), ("loss slice of the network", "slice")],
                value=surface,
                description="surface",
                style={"description_width": "initial", "button_width": "auto"},
            ),
            "lr": learning_rate_slider(land.lr, land.lr_range),
            "steps": widgets.IntSlider(
                value=land.steps,
                min=1,
                max=100,
                continuous_update=True,
                **slider_options("steps"),
            ),
            **{
                name: widgets.FloatSlider(
                    value=land.start[k],
                    min=land.box[2 * k],
                    max=land.box[2 * k + 1],
                    step=0.1,
                    continuous_update=True,
                    **slider_options(f"start {land.labels[k]}"),
                )
                for k, name in enumerate(("start_a", "start_b"))
            },
        }
        # A new surface brings its own ranges and starting values (set before the redraw).
        self.controls["surface"].observe(self._on_surface, names="value")
        self._build_figure()

    def controls_box(self) -> widgets.Widget:
        rows = [["surface", "steps"], ["lr", "start_a", "start_b"]]
        wrap = widgets.Layout(flex_flow="row wrap", justify_content="flex-start")
        return widgets.VBox(
            [widgets.HBox([self.controls[name] for name in row], layout=wrap) for row in rows]
        )

    def notes(self) -> list[str]:
        return [self.gradient_descent.note, self.numerical_gradient.note]

    def _on_surface(self, change) -> None:
        land = self.landscapes[change["new"]]
        paused, self._paused = self._paused, True  # one redraw, after every range is set
        try:
            set_slider_range(self.controls["lr"], *land.lr_range, land.lr, widest=10.0)
            for name, (low, high), value, label in (
                ("start_a", land.box[:2], land.start[0], land.labels[0]),
                ("start_b", land.box[2:], land.start[1], land.labels[1]),
            ):
                slider = self.controls[name]
                set_slider_range(slider, low, high, value, widest=1e9)
                slider.description = f"start {label}"
            self.controls["steps"].value = land.steps
        finally:
            self._paused = paused

    def _background(self, surface: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The landscape on a grid (x values, y values, F with rows along y), computed once."""
        if surface not in self._maps:
            land = self.landscapes[surface]
            xs = np.linspace(*land.box[:2], GRID_POINTS)
            ys = np.linspace(*land.box[2:], GRID_POINTS)
            if surface == "slice":
                X, y, params = example_network()
                entries = parameter_entries(params["trained"])
                pa, pb = entries[EXAMPLE_PAIR[0]], entries[EXAMPLE_PAIR[1]]
                F = loss_surface(X, y, params["trained"], pa, pb, xs, ys, "bce").T
            else:
                F = xs[np.newaxis, :] ** 2 + 10.0 * ys[:, np.newaxis] ** 2
            self._maps[surface] = (xs, ys, F)
        return self._maps[surface]

    def _build_figure(self) -> None:
        fig = self.fig = BlitFigure(figsize=(10.5, 4.4), dpi=DPI)
        self.path_ax = fig.add_axes((0.06, 0.13, 0.38, 0.72))
        colour_ax = fig.add_axes((0.45, 0.13, 0.012, 0.72))
        self.loss_ax = fig.add_axes((0.59, 0.13, 0.39, 0.72))
        self.heat, self.norm, self.colorbar = log_loss_map(
            self.path_ax, colour_ax, locator=LogLocator(subs=(1.0, 3.0)), aspect="auto", alpha=0.9
        )
        self.colorbar.set_label("f (log colour scale)", fontsize=10.5)
        self.contours = LineCollection([], colors="white", linewidths=0.6, alpha=0.7)
        self.path_ax.add_collection(self.contours)
        (self.mark,) = self.path_ax.plot(
            [], [], "*", color="white", markeredgecolor="black", markersize=15
        )

        ax = self.path_ax
        (self.path,) = ax.plot([], [], "-o", color=PATH_COLOUR, markersize=3.5, linewidth=1.6)
        (self.start,) = ax.plot(
            [], [], "o", color="white", markeredgecolor="black", markersize=9, label="start"
        )
        (self.end,) = ax.plot(
            [], [], "X", color=PATH_COLOUR, markeredgecolor="white", ms=11, label="last step"
        )
        # How the run went, above the map (a plain text: a moving ax.title is placed wrongly).
        self.verdict = title_text(ax)
        self.title = fig.suptitle("", fontsize=13.5, y=0.985)

        lax = self.loss_ax
        lax.set_yscale("log")
        lax.set_xlabel("step", fontsize=11)
        lax.set_ylabel("loss f(w) (log scale)", fontsize=11)
        lax.grid(alpha=0.3, which="major")
        (self.loss_line,) = lax.plot([], [], "-o", color=PATH_COLOUR, markersize=3, linewidth=1.6)
        self.diverged_line = lax.axvline(0.0, color=ALARM_COLOUR, linestyle="--", linewidth=1.5)
        self.diverged_text = alarm_text(lax, fontsize=11, colour=ALARM_COLOUR)
        # The run's numbers, above the loss panel (a plain text: a moving ax.title is misplaced).
        self.loss_readout = title_text(lax)
        self.fig.moving = [
            self.path,
            self.start,
            self.end,
            self.verdict,
            lax.xaxis,
            self.loss_line,
            self.diverged_line,
            self.diverged_text,
            self.loss_readout,
        ]

    def _show_landscape(self, surface: str) -> None:
        """The still parts: the map, its contours and axes, the loss axis limits."""
        land = self.landscapes[surface]
        xs, ys, F = self._background(surface)
        F = np.maximum(F, 1e-3 * max(float(F.max()), 1e-300))  # the bowl's 0 on a log scale
        self.heat.set_clim(float(F.min()), float(F.max()))  # the colour bar follows, once
        self.heat.set_data(F)
        self.heat.set_extent(land.box)
        levels = np.geomspace(F.min(), F.max(), CONTOUR_LEVELS + 2)[1:-1]
        self.contours.set_segments(contour_segments(xs, ys, F, levels))
        self.mark.set_data([land.mark[0]], [land.mark[1]])
        self.mark.set_label(f"{land.mark_label}")
        self.path_ax.legend(
            handles=[self.start, self.end, self.mark],
            loc="lower right",
            fontsize=9.5,
            framealpha=0.85,
        )
        self.path_ax.set_xlim(land.box[:2])
        self.path_ax.set_ylim(land.box[2:])
        self.path_ax.set_xlabel(land.labels[0], fontsize=11)
        self.path_ax.set_ylabel(land.labels[1], fontsize=11)
        self.loss_ax.set_ylim(*land.loss_limits)
        self.title.set_text(f"Gradient descent on {land.title}")

    def draw(
        self, surface: str, lr: float, steps: int, start_a: float, start_b: float
    ) -> dict[str, np.ndarray]:
        land = self.landscapes[surface]
        if self.fig.still_key != surface:
            self._show_landscape(surface)  # the limits, also for the moving artists
            self.fig.still_key = surface  # the landscape seen before is pasted, not drawn again
        f = land.f

        def grad_f(x: np.ndarray) -> np.ndarray:
            if not np.all(np.abs(x) < FREEZE_BOUND):  # long diverged (or nan): stay finite
                return np.zeros_like(x)
            return self.numerical_gradient(f, x, H)

        x0 = np.array([start_a, start_b], dtype=np.float64)
        with np.errstate(all="ignore"):
            path, losses = self.gradient_descent(f, grad_f, x0, float(lr), int(steps))
        path = np.asarray(path, dtype=np.float64).reshape(-1, 2)
        losses = np.asarray(losses, dtype=np.float64).reshape(-1)
        stop = divergence_step(losses)
        shown = len(losses) if stop is None else stop + 1  # draw up to the divergence
        drawn_path = np.clip(np.nan_to_num(path[:shown]), -DRAW_BOUND, DRAW_BOUND)
        low, high = land.loss_limits
        drawn_losses = np.clip(np.nan_to_num(losses[:shown], nan=high, posinf=high), low, high)
        steps_axis = np.arange(shown)

        self.path.set_data(drawn_path[:, 0], drawn_path[:, 1])
        self.start.set_data(drawn_path[:1, 0], drawn_path[:1, 1])
        self.end.set_data(drawn_path[-1:, 0], drawn_path[-1:, 1])
        self.loss_line.set_data(steps_axis, drawn_losses)
        self.loss_ax.set_xlim(-0.02 * steps, steps * 1.02)
        if stop is None:
            self.verdict.set_text(_verdict(losses, path, land))
            self.diverged_line.set_visible(False)
            self.diverged_text.set_visible(False)
            self.loss_readout.set_text(
                f"loss {losses[0]:.3g} → {losses[-1]:.3g} after {steps} steps"
            )
        else:
            self.verdict.set_text(f"diverged at step {stop}")
            self.diverged_line.set_xdata([stop, stop])
            self.diverged_line.set_visible(True)
            self.diverged_text.set_text(
                f"diverged at step {stop}: the loss passed\n"
                f"{DIVERGENCE_FACTOR:g} × its start. Try a smaller learning rate."
            )
            self.diverged_text.set_visible(True)
            self.loss_readout.set_text(f"loss {losses[0]:.3g} at the start")
        self.verdict.set_color(ALARM_COLOUR if stop is not None else "black")
        return {"path": drawn_path, "losses": drawn_losses, "diverged": np.array(stop is not None)}


def _verdict(losses: np.ndarray, path: np.ndarray, land: Landscape) -> str:
    """A few words on how the run went: converged, slow, oscillating, or stuck."""
    steps = len(losses) - 1
    moves = np.diff(path, axis=0)
    if steps >= 2 and np.any(np.sum(moves[1:] * moves[:-1], axis=1) < 0):
        bounce = "the path zig-zags (steps overshoot)"
    else:
        bounce = ""
    width = land.box[1] - land.box[0]
    if steps and np.linalg.norm(path[-1] - path[-2]) < 1e-4 * width and losses[-1] > 0.2:
        return "stuck: the slope here is almost 0 (a plateau)"
    fraction = (losses[0] - losses[-1]) / max(abs(losses[0]), 1e-300)
    if fraction <= 0:
        text = "the loss did not fall"
    else:
        text = "the loss fell by " + ("over 99 %" if fraction > 0.99 else f"{fraction:.0%}")
    return f"{text}; {bounce}" if bounce else text


# ---------------------------------------------------------------------------------------------
# The error of a numerical derivative against the step h (a static figure)
# ---------------------------------------------------------------------------------------------

#: x where the derivative of sin is estimated, and the steps tried.
DERIVATIVE_AT = 1.0
STEPS_H = np.logspace(-16, 0, 65)
#: A zero error (the estimate happened to be exact) is drawn at this floor of the log axis.
ERROR_FLOOR = 1e-17
EPS = float(np.finfo(np.float64).eps)


def derivative_error_figure(numerical_derivative: Callable | None = None) -> Figure:
    """Log-log plot of the error of the forward and the central difference of sin at x = 1.

    Parameters
    ----------
    numerical_derivative : callable, optional
        The learner's ``numerical_derivative(f, x, h)`` (central difference); the reference is
        used, with a note under the plot, while it is a stub or broken.

    Returns
    -------
    fig : matplotlib.figure.Figure
    """
    central = LearnerFunction(
        numerical_derivative, reference_numerical_derivative, "numerical_derivative"
    )
    x, exact = DERIVATIVE_AT, np.cos(DERIVATIVE_AT)
    with np.errstate(all="ignore"):
        central_error = np.array([abs(central(np.sin, x, h) - exact) for h in STEPS_H])
        forward_error = np.abs((np.sin(x + STEPS_H) - np.sin(x)) / STEPS_H - exact)
    central_error = np.maximum(np.nan_to_num(central_error, nan=1.0), ERROR_FLOOR)
    forward_error = np.maximum(forward_error, ERROR_FLOOR)

    fig = DescribedFigure(figsize=(8.6, 4.6), dpi=DPI, layout="constrained")
    best_forward, best_central = (STEPS_H[np.argmin(e)] for e in (forward_error, central_error))
    fig.alt = (
        "Log-log plot of the error of a numerical derivative of sin at x = 1 against the step h "
        "(smaller h to the right), for the forward difference (orange) and the central "
        "difference (blue): each error first falls as h shrinks (truncation), then rises again "
        f"(round-off). The forward difference is best near h = {best_forward:.0e}, the central "
        f"one near h = {best_central:.0e}. {central.plain_note}"
    )
    ax = fig.add_subplot()
    _error_curves(ax, forward_error, central_error)
    for error, colour, shift in ((forward_error, "tab:orange", 40), (central_error, "tab:blue", 0)):
        _mark_best_step(ax, error, colour, shift)
    ax.set_ylim(1e-15, 10.0)
    ax.invert_xaxis()  # h shrinks from left to right, as in the text
    ax.set_xlabel("step h (log scale, smaller to the right)", fontsize=11)
    ax.set_ylabel("|estimate − exact derivative| (log scale)", fontsize=11)
    ax.set_title("Error of a numerical derivative of sin at x = 1 (exact: cos 1)", fontsize=12)
    ax.grid(alpha=0.3, which="major")
    ax.legend(fontsize=9.5, loc="upper center", ncols=2)
    fig.supxlabel(central.plain_note, fontsize=9.5, color="0.3")
    return fig


def _error_curves(ax, forward_error: np.ndarray, central_error: np.ndarray) -> None:
    """The two measured errors (one per step h), and the guides: truncation and round-off."""
    x = DERIVATIVE_AT
    ax.loglog(
        STEPS_H,
        forward_error,
        "o-",
        ms=3.5,
        color="tab:orange",
        label="forward difference (f(x+h) − f(x)) / h",
    )
    ax.loglog(
        STEPS_H,
        central_error,
        "o-",
        ms=3.5,
        color="tab:blue",
        label="central difference (f(x+h) − f(x−h)) / 2h",
    )
    guide = {"linestyle": "--", "linewidth": 1.2, "alpha": 0.8}
    ax.loglog(
        STEPS_H,
        np.sin(x) / 2 * STEPS_H,
        color="tab:orange",
        **guide,
        label="truncation ~ h  (forward)",
    )
    ax.loglog(
        STEPS_H,
        np.cos(x) / 6 * STEPS_H**2,
        color="tab:blue",
        **guide,
        label="truncation ~ h²  (central)",
    )
    ax.loglog(
        STEPS_H, EPS * abs(np.sin(x)) / STEPS_H, color="0.35", **guide, label="round-off ~ ε / h"
    )


def _mark_best_step(ax, error: np.ndarray, colour: str, shift: float) -> None:
    """An arrow to the step h with the smallest error, labelled with that h."""
    best = int(np.argmin(error))
    ax.annotate(
        f"best h ≈ {STEPS_H[best]:.0e}",
        (STEPS_H[best], error[best]),
        xytext=(shift, -28),
        textcoords="offset points",
        ha="center",
        color=colour,
        fontsize=10.5,
        fontweight="bold",
        arrowprops={"arrowstyle": "->", "color": colour},
    )
