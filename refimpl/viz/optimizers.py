"""SGD, momentum and Adam side by side on one loss surface (notebook 10).

:class:`OptimizerExplorer` runs ``refimpl.optimizer_path`` three times from the same start, with
the same learning rate, on one of three functions of two numbers: notebook 04's stretched bowl,
a curved narrow valley and a plateau. Momentum and Adam take the learner's ``momentum_step`` and
``adam_step`` (the reference while theirs is not ready). Each optimiser gets a map of the
surface (one shared log colour scale) with its path, and a title with its final loss and the step
at which its loss first reached the surface's target; below, the three losses per step.

Compute and render: the three paths of ``MAX_STEPS`` steps take 15-30 ms, once per surface,
learning rate and beta (kept: the steps slider only shortens what is drawn). The maps, their
contours and colour bar are rendered once per surface (``BlitFigure``: about 0.1 s, kept; all
three when the widget is first shown, so that a new surface is a frame like any other); a frame
draws the paths, the loss curves, the step axis and the titles: about 45 ms. Only the first
map numbers its axes (the others are the same): text takes most of a still layer's time.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import ipywidgets as widgets
import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

from refimpl.diagnostics import divergence_step
from refimpl.optim import DIVERGENCE_FACTOR
from refimpl.optimizers import OPTIMIZERS, optimizer_path, steps_to_reach
from refimpl.optimizers import adam_step as reference_adam_step
from refimpl.optimizers import momentum_step as reference_momentum_step
from refimpl.viz._core import DPI, BlitFigure, Explorer, LearnerFunction, figure_png
from refimpl.viz._geometry import contour_segments
from refimpl.viz._style import (
    ALARM_COLOUR,
    CONTOUR_LEVELS,
    OKABE_ITO,
    axes_text,
    learning_rate_slider,
    log_loss_map,
    set_slider_range,
    slider_options,
)

__all__ = ["SURFACES", "OptimizerExplorer", "Surface"]

#: The most steps a run takes (the steps slider's end); runs are computed this long, once.
MAX_STEPS = 300
#: The background maps: grid points per axis.
GRID_POINTS = 101
#: Drawn coordinates are clipped to this (far outside every view; keeps the renderer exact).
DRAW_BOUND = 1e4
#: Runs kept (surface, learning rate, beta): going back to a setting seen before only redraws.
KEPT_RUNS = 64
#: One colour per optimiser, three lightnesses apart (told apart in grey, by dichromats), and
#: a line style and a marker each (told apart without colour).
OPTIMIZER_COLOURS = {
    "sgd": OKABE_ITO["black"],
    "momentum": OKABE_ITO["blue"],
    "adam": OKABE_ITO["orange"],
}
OPTIMIZER_STYLES = {"sgd": "-", "momentum": "--", "adam": "-."}
OPTIMIZER_MARKERS = {"sgd": "o", "momentum": "s", "adam": "D"}
OPTIMIZER_NAMES = {"sgd": "SGD", "momentum": "momentum", "adam": "Adam"}
#: Colours that tell two things apart in this figure (tests/test_viz_accessibility.py checks them).
COLOUR_PAIRS = {
    f"{OPTIMIZER_NAMES[a]} / {OPTIMIZER_NAMES[b]}": (OPTIMIZER_COLOURS[a], OPTIMIZER_COLOURS[b])
    for a, b in (("sgd", "momentum"), ("sgd", "adam"), ("momentum", "adam"))
}


@dataclass(frozen=True)
class Surface:
    """A function of two numbers to walk down, and how to show it."""

    title: str
    values: Callable[[np.ndarray], np.ndarray]  # w of shape (2, ...) -> f, shape (...)
    grad: Callable[[np.ndarray], np.ndarray]  # w (2,) -> the gradient (2,)
    box: tuple[float, float, float, float]  # w1_min, w1_max, w2_min, w2_max
    start: tuple[float, float]
    lr_range: tuple[float, float]  # exponents of 10
    lr: float
    steps: int
    target: float  # a run has "reached" the minimum once its loss is at most this
    loss_limits: tuple[float, float]  # the log-scale loss axis
    minimum: tuple[float, float]

    def f(self, w: np.ndarray) -> float:
        """The function at one point w, shape (2,)."""
        return float(self.values(w))


# Each surface is written for w of shape (2, ...): one point, or a grid of points at once.


def bowl_values(w: np.ndarray) -> np.ndarray:
    """``refimpl.examples.bowl`` on points w of shape (2, ...): ``w1**2 + 10 w2**2``."""
    return w[0] ** 2 + 10.0 * w[1] ** 2


def bowl_gradient(w: np.ndarray) -> np.ndarray:
    return np.array([2.0 * w[0], 20.0 * w[1]])


#: The valley's steepness across its floor (Rosenbrock's function has 100: too narrow for SGD at
#: any learning rate that moves along it).
VALLEY_STEEPNESS = 10.0


def valley_values(w: np.ndarray) -> np.ndarray:
    """A curved narrow valley, ``(1 - w1)**2 + 10 (w2 - w1**2)**2`` (minimum 0 at (1, 1)):
    Rosenbrock's function, less steep."""
    return (1.0 - w[0]) ** 2 + VALLEY_STEEPNESS * (w[1] - w[0] ** 2) ** 2


def valley_gradient(w: np.ndarray) -> np.ndarray:
    across = w[1] - w[0] ** 2  # how far above the valley's floor w2 = w1**2
    return np.array(
        [
            -2.0 * (1.0 - w[0]) - 4.0 * VALLEY_STEEPNESS * w[0] * across,
            2.0 * VALLEY_STEEPNESS * across,
        ]
    )


#: The plateau is the bowl divided by this (2 * 2**2), seen through 1 - exp(-.).
PLATEAU_SCALE = 2.0 * 2.0**2


def plateau_values(w: np.ndarray) -> np.ndarray:
    """A plateau around a well, ``1 - exp(-(w1**2 + 10 w2**2) / 8)`` (minimum 0 at (0, 0)):
    far from the well the slope is nearly 0."""
    return 1.0 - np.exp(-bowl_values(w) / PLATEAU_SCALE)


def plateau_gradient(w: np.ndarray) -> np.ndarray:
    return np.exp(-bowl_values(w) / PLATEAU_SCALE) * bowl_gradient(w) / PLATEAU_SCALE


SURFACES = {
    "bowl": Surface(
        title="the bowl w1² + 10·w2²",
        values=bowl_values,
        grad=bowl_gradient,
        box=(-5.0, 5.0, -2.5, 2.5),
        start=(-4.0, 2.0),
        lr_range=(-3.0, 0.0),
        lr=0.01,
        steps=150,
        target=1e-3,
        loss_limits=(1e-8, 1e4),
        minimum=(0.0, 0.0),
    ),
    "valley": Surface(
        title="a curved valley (1 − w1)² + 10·(w2 − w1²)²",
        values=valley_values,
        grad=valley_gradient,
        box=(-2.0, 2.0, -1.0, 3.0),
        start=(-1.5, 2.0),
        lr_range=(-3.0, 0.0),
        lr=0.01,
        steps=150,
        target=1e-3,
        loss_limits=(1e-8, 1e4),
        minimum=(1.0, 1.0),
    ),
    "plateau": Surface(
        title="a plateau 1 − exp(−(w1² + 10·w2²) / 8)",
        values=plateau_values,
        grad=plateau_gradient,
        box=(-5.0, 5.0, -2.5, 2.5),
        start=(-4.0, 2.0),
        lr_range=(-2.0, 0.5),
        lr=0.1,
        steps=150,
        target=1e-3,
        loss_limits=(1e-8, 10.0),
        minimum=(0.0, 0.0),
    ),
}


@dataclass(frozen=True)
class Run:
    """One optimiser's run of MAX_STEPS steps, and whose step function took it."""

    path: np.ndarray  # (MAX_STEPS + 1, 2), nan after the run stopped (inf or nan)
    losses: np.ndarray  # (MAX_STEPS + 1,)
    step_function: LearnerFunction | None  # momentum's or Adam's (None: SGD's is refimpl's)


class OptimizerExplorer(Explorer):
    """SGD, momentum and Adam on the same loss surface, from the same start, side by side.

    Each map shows one optimiser's path over the surface (one log colour scale for all three);
    its title gives the final loss and the step at which the loss first reached the target. The
    bottom panel draws the three losses per step.

    Parameters
    ----------
    momentum_step : callable, optional
        The learner's ``momentum_step(params, grads, velocity, lr, beta=0.9)``.
    adam_step : callable, optional
        The learner's ``adam_step(params, grads, m, v, t, lr, beta1, beta2, eps)``.
        Either one falls back to the reference (with a note) while it is a stub or broken.
    surface : {"bowl", "valley", "plateau"}
        The surface shown first.
    """

    def __init__(
        self,
        momentum_step: Callable | None = None,
        adam_step: Callable | None = None,
        *,
        surface: str = "bowl",
    ):
        super().__init__()
        self.learner = {"momentum": momentum_step, "adam": adam_step}
        self._runs: OrderedDict[tuple, dict[str, Run]] = OrderedDict()
        self._shown: dict[str, Run] = {}
        self._maps: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        self._warm = False  # every surface's still layer rendered (the widget was shown)
        land = SURFACES[surface]
        self.controls = {
            "surface": widgets.Dropdown(
                options=[(s.title, name) for name, s in SURFACES.items()],
                value=surface,
                description="surface",
                style={"description_width": "initial"},
                layout=widgets.Layout(width="420px"),
            ),
            "lr": learning_rate_slider(land.lr, land.lr_range),
            "beta": widgets.FloatSlider(
                value=0.9,
                min=0.0,
                max=0.99,
                step=0.01,
                continuous_update=True,
                **slider_options("beta (momentum, Adam's beta1)"),
            ),
            "steps": widgets.IntSlider(
                value=land.steps,
                min=1,
                max=MAX_STEPS,
                continuous_update=True,
                **slider_options("steps"),
            ),
        }
        # A new surface brings its own learning-rate range and value (set before the redraw).
        self.controls["surface"].observe(self._on_surface, names="value")
        self._build_figure()

    def widget(self) -> widgets.Widget:
        """The controls and the figure; the first time, every surface's still parts are rendered
        (about 0.1 s each, then kept), so that choosing a surface is a frame like any other."""
        if not self._warm:
            for surface in SURFACES:
                self._show_surface(surface)
                self.fig.still_key = surface
                figure_png(self.fig)  # renders the still layer of this key, and keeps it
            self.fig.still_key = None  # the next frame shows its surface again (kept layer)
            self._warm = True
        return super().widget()

    def controls_box(self) -> widgets.Widget:
        rows = [["surface", "steps"], ["lr", "beta"]]
        wrap = widgets.Layout(flex_flow="row wrap", justify_content="flex-start")
        return widgets.VBox(
            [widgets.HBox([self.controls[name] for name in row], layout=wrap) for row in rows]
        )

    def notes(self) -> list[str]:
        return [run.step_function.note for run in self._shown.values() if run.step_function]

    def _on_surface(self, change) -> None:
        land = SURFACES[change["new"]]
        paused, self._paused = self._paused, True  # one redraw, after the range is set
        try:
            set_slider_range(self.controls["lr"], *land.lr_range, land.lr, widest=10.0)
            self.controls["steps"].value = land.steps
        finally:
            self._paused = paused

    # -- the numbers -----------------------------------------------------------------------

    def runs(self, surface: str, lr: float, beta: float) -> dict[str, Run]:
        """The three runs of MAX_STEPS steps for this setting (computed once, kept)."""
        key = (surface, float(lr), float(beta))
        if key in self._runs:
            self._runs.move_to_end(key)
            return self._runs[key]
        land = SURFACES[surface]
        runs = {}
        references = {"momentum": reference_momentum_step, "adam": reference_adam_step}
        for optimizer in OPTIMIZERS:
            step, replaces = None, {}  # SGD: refimpl's gd_step, the learner wrote theirs in 04
            if optimizer in references:
                name = f"{optimizer}_step"
                step = LearnerFunction(self.learner[optimizer], references[optimizer], name)
                replaces = {name: step}
            path, losses = optimizer_path(
                land.f, land.grad, land.start, optimizer, lr, MAX_STEPS, beta1=beta, **replaces
            )
            runs[optimizer] = Run(path, losses, step)
        self._runs[key] = runs
        while len(self._runs) > KEPT_RUNS:
            self._runs.popitem(last=False)
        return runs

    def _background(self, surface: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The surface on a grid (w1 values, w2 values, F with rows along w2), computed once."""
        if surface not in self._maps:
            land = SURFACES[surface]
            xs = np.linspace(*land.box[:2], GRID_POINTS)
            ys = np.linspace(*land.box[2:], GRID_POINTS)
            F = land.values(np.stack(np.meshgrid(xs, ys)))  # rows along w2
            self._maps[surface] = (xs, ys, F)
        return self._maps[surface]

    # -- the picture -----------------------------------------------------------------------

    def _build_figure(self) -> None:
        fig = self.fig = BlitFigure(figsize=(12.6, 7.4), dpi=DPI)
        self.map_axes = {
            name: fig.add_axes((0.05 + 0.3 * k, 0.45, 0.26, 0.4))
            for k, name in enumerate(OPTIMIZERS)
        }
        colour_ax = fig.add_axes((0.925, 0.45, 0.01, 0.4))
        self.loss_ax = fig.add_axes((0.075, 0.1, 0.775, 0.25))
        first = self.map_axes["sgd"]
        self.heat, self.norm, colorbar = log_loss_map(
            first, colour_ax, locator=LogLocator(subs=(1.0, 3.0)), aspect="auto", alpha=0.9
        )
        colorbar.set_label("f (log colour scale)", fontsize=10)
        self.heats, self.contours, self.marks = [], [], []
        self.halos, self.paths, self.starts, self.ends, self.titles = {}, {}, {}, {}, {}
        for name, ax in self.map_axes.items():
            self._build_map(name, ax)
        self._build_losses()
        self.suptitle = fig.suptitle("", fontsize=13, y=0.99)
        self.footer = fig.text(0.005, 0.005, "", fontsize=9.5, color="0.3", va="bottom")
        fig.set_moving(
            *(artist for name in OPTIMIZERS for artist in self._map_moving(name)),
            self.loss_ax.xaxis,
            *self.loss_lines.values(),
            *self.reached_marks.values(),
            *self.diverged_lines.values(),
            self.footer,
        )

    def _map_moving(self, name: str) -> list:
        return [
            self.halos[name],
            self.paths[name],
            self.starts[name],
            self.ends[name],
            self.titles[name],
        ]

    def _build_map(self, name: str, ax) -> None:
        """One optimiser's map: the shared surface, its contours, the minimum; its path."""
        if name != "sgd":  # the first map's image came with the colour bar
            heat = ax.imshow(
                np.ones((2, 2)),
                origin="lower",
                cmap=self.heat.get_cmap(),
                norm=self.norm,
                interpolation="bilinear",
                aspect="auto",
                alpha=0.9,
            )
            self.heats.append(heat)
        else:
            self.heats.append(self.heat)
        contours = LineCollection([], colors="white", linewidths=0.6, alpha=0.7)
        ax.add_collection(contours)
        self.contours.append(contours)
        (mark,) = ax.plot([], [], "*", color="white", markeredgecolor="black", markersize=14)
        self.marks.append(mark)
        colour = OPTIMIZER_COLOURS[name]
        (self.halos[name],) = ax.plot([], [], color="white", linewidth=3.6, alpha=0.85)
        (self.paths[name],) = ax.plot(
            [], [], color=colour, linewidth=1.7, linestyle=OPTIMIZER_STYLES[name]
        )
        (self.starts[name],) = ax.plot(
            [], [], "o", color="white", markeredgecolor="black", markersize=9
        )
        (self.ends[name],) = ax.plot(
            [], [], OPTIMIZER_MARKERS[name], color=colour, markeredgecolor="white", ms=10
        )
        self.titles[name] = axes_text(ax, 0.0, 1.02, va="bottom", fontsize=10.5, linespacing=1.3)
        if name == "sgd":
            ax.set_xlabel("w1", fontsize=10, labelpad=1)
            ax.set_ylabel("w2", fontsize=10)
        else:  # the first map's axes: numbered once (text takes most of a still layer's time)
            ax.tick_params(labelleft=False, labelbottom=False)

    def _build_losses(self) -> None:
        """The three losses per step, the target, where each run reached it or diverged."""
        ax = self.loss_ax
        ax.set_yscale("log")
        # plain labels (1e+03): mathtext ones (10³) would cost ~40 ms per still layer
        ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:.0e}"))
        ax.yaxis.set_minor_formatter(NullFormatter())
        ax.set_xlabel("step", fontsize=10)
        ax.set_ylabel("loss f(w) (log scale)", fontsize=10)
        ax.grid(alpha=0.3, which="major")
        self.target_line = ax.axhline(1.0, color="0.35", linestyle=":", linewidth=1.4)
        self.loss_lines, self.reached_marks, self.diverged_lines = {}, {}, {}
        for name in OPTIMIZERS:
            colour = OPTIMIZER_COLOURS[name]
            (self.loss_lines[name],) = ax.plot(
                [],
                [],
                color=colour,
                linestyle=OPTIMIZER_STYLES[name],
                linewidth=1.8,
                label=OPTIMIZER_NAMES[name],
            )
            (self.reached_marks[name],) = ax.plot(
                [], [], OPTIMIZER_MARKERS[name], color=colour, markeredgecolor="white", ms=9
            )
            self.diverged_lines[name] = ax.axvline(
                0.0, color=ALARM_COLOUR, linestyle="--", linewidth=1.4
            )
        self.target_line.set_label("target loss")
        ax.legend(
            handles=[*self.loss_lines.values(), self.target_line],
            loc="upper left",
            bbox_to_anchor=(1.005, 1.0),
            fontsize=9.5,
            frameon=False,
        )

    def _show_surface(self, surface: str) -> None:
        """The still parts: the maps, their contours and limits, the loss axis and target."""
        land = SURFACES[surface]
        xs, ys, F = self._background(surface)
        F = np.maximum(F, 1e-3 * max(float(F.max()), 1e-300))  # a minimum of 0 on a log scale
        self.heat.set_clim(float(F.min()), float(F.max()))  # the colour bar follows, once
        levels = np.geomspace(F.min(), F.max(), CONTOUR_LEVELS + 2)[1:-1]
        segments = contour_segments(xs, ys, F, levels)
        for heat, contours, mark, ax in zip(
            self.heats, self.contours, self.marks, self.map_axes.values(), strict=True
        ):
            heat.set_data(F)
            heat.set_extent(land.box)
            contours.set_segments(segments)
            mark.set_data([land.minimum[0]], [land.minimum[1]])
            ax.set_xlim(land.box[:2])
            ax.set_ylim(land.box[2:])
        self.loss_ax.set_ylim(*land.loss_limits)
        self.target_line.set_ydata([land.target, land.target])
        self.suptitle.set_text(
            f"SGD, momentum and Adam on {land.title}, from the same start "
            f"({land.start[0]:g}, {land.start[1]:g}) with the same learning rate"
        )

    def draw(self, surface: str, lr: float, beta: float, steps: int) -> dict[str, np.ndarray]:
        land = SURFACES[surface]
        if self.fig.still_key != surface:
            self._show_surface(surface)
            self.fig.still_key = surface  # a surface seen before is pasted, not drawn again
        runs = self._shown = self.runs(surface, lr, beta)
        drawn: dict[str, np.ndarray] = {}
        reached, finals, diverged = [], [], []
        for name in OPTIMIZERS:
            shown = self._draw_run(name, runs[name], land, int(steps), float(beta))
            drawn[f"{name}_path"], drawn[f"{name}_losses"] = shown["path"], shown["losses"]
            reached.append(shown["reached"])
            finals.append(shown["final"])
            diverged.append(shown["diverged"])
        self.loss_ax.set_xlim(-0.01 * steps, steps * 1.01 + 0.5)
        self.footer.set_text(
            " ".join(run.step_function.plain_note for run in runs.values() if run.step_function)
        )
        drawn["reached"] = np.array(reached)  # the step each reached the target; -1: never
        drawn["final_loss"] = np.array(finals)
        drawn["diverged"] = np.array(diverged)
        return drawn

    def _draw_run(self, name: str, run: Run, land: Surface, steps: int, beta: float) -> dict:
        """One optimiser's path, loss curve and title, up to ``steps`` or its divergence."""
        losses = run.losses[: steps + 1]
        stop = divergence_step(losses)
        shown = len(losses) if stop is None else stop + 1  # draw up to the divergence
        path = np.clip(np.nan_to_num(run.path[:shown]), -DRAW_BOUND, DRAW_BOUND)
        low, high = land.loss_limits
        curve = np.clip(np.nan_to_num(losses[:shown], nan=high, posinf=high), low, high)
        reached = steps_to_reach(losses[:shown], land.target) if stop is None else None
        for line in (self.halos[name], self.paths[name]):
            line.set_data(path[:, 0], path[:, 1])
        self.starts[name].set_data(path[:1, 0], path[:1, 1])
        self.ends[name].set_data(path[-1:, 0], path[-1:, 1])
        self.loss_lines[name].set_data(np.arange(shown), curve)
        self.reached_marks[name].set_data(
            [reached] if reached is not None else [],
            [curve[reached]] if reached is not None else [],
        )
        self.diverged_lines[name].set_xdata([stop or 0, stop or 0])
        self.diverged_lines[name].set_visible(stop is not None)
        title = self.titles[name]
        label = (
            OPTIMIZER_NAMES[name]
            + {"sgd": "", "momentum": f" (β = {beta:g})", "adam": f" (β1 = {beta:g})"}[name]
        )
        if stop is not None:
            title.set_text(
                f"{label}: DIVERGED at step {stop}\n"
                f"loss > {DIVERGENCE_FACTOR:g} × its start: lower the lr"
            )
        else:
            when = (
                f"≤ {land.target:g} at step {reached}"
                if reached is not None
                else f"not ≤ {land.target:g} in {steps} steps"
            )
            title.set_text(f"{label}: loss {losses[0]:.3g} → {losses[-1]:.2g}\n{when}")
        title.set_color(ALARM_COLOUR if stop is not None else "black")
        title.set_fontweight("bold" if stop is not None else "normal")
        return {
            "path": path,
            "losses": curve,
            "reached": -1 if reached is None else reached,
            "final": curve[-1],
            "diverged": stop is not None,
        }

    def readouts(self) -> list[str]:
        """Each map's title, then whose step functions were used."""
        words = [" ".join(self.titles[name].get_text().split()) for name in OPTIMIZERS]
        return [*words, self.footer.get_text()]
