"""Training the network, epoch by epoch (notebook 07).

:class:`TrainingExplorer` trains an MLP ``[2, width, 1]`` (the 2-3-1 network for width 3) on the
standardized study/sleep data with ``refimpl.train(record_params=True)``, once per choice of
learning rate, hidden width, initialisation and seed, and keeps the run
(``refimpl.examples.training_run``). The epoch slider then only redraws: the loss and the
gradient norm with a marker at that epoch, the network's ``y_hat`` over the plane of hours with
its 0.5 boundary, and, for every hidden unit, the share of students it fires for (a dead unit
fires for none: ``refimpl.diagnostics.dead_units``).

Compute and render (measured on an idle 2-core machine): a new run of 2000 epochs on the 150
training students takes about 0.2 s of compute, once per choice of learning rate, width,
initialisation and seed (a run seen before is kept). Once the explorer is shown, a background
thread trains the 21 runs one control away from the current one, nearest first, while the learner
looks at the frame (``refimpl.viz._prefetch``: about 4 s for all of them), so that a new setting
usually finds its run ready. What depends on the run, or on the width (the unit axis), is redrawn
on every frame over still parts that are rendered once: moving the epoch slider, or going to a run
already trained, takes about 2 ms of numbers and 40-80 ms of drawing and PNG encoding.
"""

from __future__ import annotations

import html
from collections.abc import Callable

import ipywidgets as widgets
import numpy as np
from matplotlib.collections import LineCollection
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle
from matplotlib.ticker import FuncFormatter, NullFormatter

from refimpl.data import FEATURE_NAMES, standardize
from refimpl.diagnostics import dead_units, identical_units
from refimpl.examples import RUN_EPOCHS, SAME_VALUE, Run, training_data, training_run
from refimpl.losses import accuracy as reference_accuracy
from refimpl.mlp import mlp_forward
from refimpl.viz._core import DPI, BlitFigure, Explorer, LearnerFunction
from refimpl.viz._geometry import clip_to_plane, contour_segments, plane_grid, switch_line
from refimpl.viz._prefetch import Prefetcher
from refimpl.viz._style import (
    ALARM_COLOUR,
    FAIL_STYLE,
    NEGATIVE,
    PASS_STYLE,
    POSITIVE,
    PROBABILITY_CMAP,
    SLEPT_RANGE,
    STUDIED_RANGE,
    TEST_COLOUR,
    alarm_text,
    axes_text,
    frame_on_top,
    legend_below,
    pass_fail_handles,
    slider_options,
    title_text,
)

#: Epochs of every run (``refimpl.examples.training_run``); the slider scrubs through them.
EPOCHS = RUN_EPOCHS
#: Runs an explorer keeps (refimpl.examples keeps more): the current one and its neighbours.
KEPT_RUNS = 64
LEARNING_RATES = (0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0)
WIDTHS = (1, 2, 3, 4, 8, 16)
SEEDS = tuple(range(6))
#: Initialisations: refimpl's three, and "same": every weight and bias SAME_VALUE (symmetric).
INIT_OPTIONS = (
    ("He: random, scaled (default)", "he"),
    ("normal: random, unscaled", "normal"),
    ("zeros: every parameter 0", "zeros"),
    (f"same: every parameter {SAME_VALUE:g}", "same"),
)
#: The epochs the slider stops at: 0, then 1-1.2-1.5-2-2.5-3-4-5-6-8 per decade, up to EPOCHS.
EPOCH_STOPS = tuple(
    sorted(
        {0, EPOCHS}
        | {
            round(m * 10**k)
            for k in range(4)
            for m in (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8)
            if m * 10**k <= EPOCHS
        }
    )
)
#: Fixed log axes, so that runs compare at a glance; values outside are drawn at the edge.
LOSS_LIMITS = (3e-3, 30.0)
GRAD_NORM_LIMITS = (1e-5, 100.0)
DEAD_COLOUR = ALARM_COLOUR
#: A dead unit: a red cross at the foot of its (empty) bar.
DEAD_MARK = {
    "linestyle": "",
    "marker": "X",
    "markersize": 11,
    "color": DEAD_COLOUR,
    "markeredgecolor": "white",
}
#: A unit whose outgoing weight is negative: an orange bar, hatched (not colour alone).
NEGATIVE_HATCH = "//"
UNIT_LINE_COLOUR = "gold"  # hidden units' switch lines, visible on red, white and blue
#: The box of the loss and gradient-norm readouts.
CURVE_READOUT_BOX = {"boxstyle": "round", "facecolor": "white", "alpha": 0.85, "edgecolor": "0.8"}
#: The plane's legend: one row under it.
PLANE_LEGEND = {"ncols": 5, "fontsize": 8.5, "handletextpad": 0.2, "columnspacing": 0.7}
#: Points per drawn curve (log-spaced epochs; the curves' x axis is logarithmic after 1).
CURVE_POINTS = 400


def neighbour_settings(key: tuple[float, int, str, int]) -> list[tuple[float, int, str, int]]:
    """The runs one control away from ``key`` = (lr, width, init, seed), nearest first.

    One step of the learning rate, the seed or the width, then every other initialisation, then
    two steps, and so on: what a learner moving one control reaches first comes first.
    """
    lr, width, init, seed = key
    axes = ((0, LEARNING_RATES, lr), (3, SEEDS, seed), (1, WIDTHS, width))

    def steps_away(steps: int) -> list[tuple[float, int, str, int]]:
        found = []
        for position, options, value in axes:
            at = options.index(value)
            for index in (at - steps, at + steps):
                if 0 <= index < len(options):
                    found.append((*key[:position], options[index], *key[position + 1 :]))
        return found

    inits = [(lr, width, other, seed) for _, other in INIT_OPTIONS if other != init]
    farther = range(2, max(len(LEARNING_RATES), len(SEEDS), len(WIDTHS)))
    return [*steps_away(1), *inits, *(found for steps in farther for found in steps_away(steps))]


def curve_epochs(count: int, points: int = CURVE_POINTS) -> np.ndarray:
    """The epochs 0 .. count - 1 at which the curves are drawn: all of the first ones, then
    evenly spaced on the log axis (2000 points would be ~10 per pixel there, and a jagged curve
    of 2000 points takes several ms to draw)."""
    if count <= points:
        return np.arange(count)
    spaced = np.geomspace(1.0, count - 1, points).round().astype(int)
    return np.unique(np.concatenate([np.arange(min(count, 20)), spaced]))


def _clip_log(values: np.ndarray, limits: tuple[float, float]) -> np.ndarray:
    """Finite values inside a log axis (nan and inf at the top edge)."""
    low, high = limits
    return np.clip(np.nan_to_num(values, nan=high, posinf=high, neginf=low), low, high)


def _epoch_ticks(ax) -> None:
    ax.set_xscale("symlog", linthresh=1.0, linscale=0.4)
    ax.set_xlim(0.0, EPOCHS * 1.15)
    ax.set_xticks([0, 1, 10, 100, 1000])
    ax.set_xticklabels(["0", "1", "10", "100", "1000"])
    ax.grid(alpha=0.3, which="major")


def _plane_handles() -> list[Line2D]:
    """The plane's legend: students, test students, the boundary, the units' lines."""
    return [
        *pass_fail_handles(),
        Line2D(
            [],
            [],
            linestyle="",
            marker="o",
            markerfacecolor="white",
            markeredgecolor=TEST_COLOUR,
            markeredgewidth=1.6,
            label="test (green)",
        ),
        Line2D([], [], color="black", linestyle="--", label="y_hat = 0.5"),
        Line2D([], [], color=UNIT_LINE_COLOUR, linestyle=(0, (2, 2)), label="a unit's z = 0"),
    ]


def _controls(lr: float, width: int, init: str, seed: int, epoch: int) -> dict[str, widgets.Widget]:
    """The explorer's controls with these starting values: a run's settings, then the epoch."""
    wide = {"style": {"description_width": "initial"}}

    def dropdown(options, value, description: str, pixels: int) -> widgets.Dropdown:
        layout = widgets.Layout(width=f"{pixels}px")
        return widgets.Dropdown(
            options=options, value=value, description=description, layout=layout, **wide
        )

    widths = [(f"{w} ({'the 2-3-1 network' if w == 3 else f'2-{w}-1'})", w) for w in WIDTHS]
    return {
        "lr": widgets.SelectionSlider(
            options=[(f"{rate:g}", rate) for rate in LEARNING_RATES],
            value=lr,
            continuous_update=False,  # a new run on release, not on every step of a drag
            **slider_options("learning rate"),
        ),
        "width": dropdown(widths, width, "hidden units", 250),
        "init": dropdown(INIT_OPTIONS, init, "initialisation", 330),
        "seed": dropdown(SEEDS, seed, "seed", 120),
        "epoch": widgets.SelectionSlider(
            options=EPOCH_STOPS,
            value=epoch,
            continuous_update=True,
            **slider_options("epoch (only redraws)"),
        ),
    }


class TrainingExplorer(Explorer):
    """Train the network with a learning rate, a width, an initialisation and a seed; scrub epochs.

    Parameters
    ----------
    accuracy : callable, optional
        The learner's ``accuracy(labels, y) -> float``, used for the share of students right;
        while it is a stub or broken the reference is used and a note says so.
    lr, width, init, seed, epoch :
        Starting values of the controls (epoch: one of ``EPOCH_STOPS``).
    """

    def __init__(
        self,
        accuracy: Callable | None = None,
        *,
        lr: float = 1.0,
        width: int = 3,
        init: str = "he",
        seed: int = 1,
        epoch: int = EPOCHS,
    ):
        super().__init__()
        self.accuracy = LearnerFunction(accuracy, reference_accuracy, "accuracy")
        self.data = training_data()
        self.X_grid, self.image_shape = plane_grid(points=(111, 81))
        self.X_grid_std, _, _ = standardize(self.X_grid, self.data.mean, self.data.std)
        self._run: Run | None = None
        self._run_key: tuple | None = None
        self._shown_width = 0
        self._runs = Prefetcher(training_run, keep=KEPT_RUNS)
        self._prefetching = False  # from the first widget on: a learner is moving controls

        self.controls = _controls(lr, width, init, seed, epoch)
        self._build_figure()
        self.draw(**self.values())

    def widget(self) -> widgets.Widget:
        self._prefetching = True
        return super().widget()

    def settle(self, timeout: float | None = None) -> bool:
        return self._runs.settle(timeout)

    def controls_box(self) -> widgets.Widget:
        rows = [["lr", "width", "init", "seed"], ["epoch"]]
        wrap = widgets.Layout(flex_flow="row wrap")
        return widgets.VBox(
            [widgets.HBox([self.controls[name] for name in row], layout=wrap) for row in rows]
        )

    def notes(self) -> list[str]:
        run = self._run
        if run is None:
            return [self.accuracy.note]
        message = html.escape(run.message)
        if run.status == "diverged":
            message = f'<span style="color: {ALARM_COLOUR}; font-weight: bold">{message}</span>'
        timing = f"(trained in {run.seconds:.2f} s, once: moving the epoch slider only redraws)"
        return [self.accuracy.note, f"<code>refimpl.train</code>: {message} {timing}"]

    # -- the picture ---------------------------------------------------------------------------

    def _build_figure(self) -> None:
        fig = self.fig = BlitFigure(figsize=(12.6, 4.9), dpi=DPI)
        self.loss_ax = fig.add_axes((0.07, 0.575, 0.22, 0.37))
        self.grad_ax = fig.add_axes((0.07, 0.115, 0.22, 0.37))
        self.plane_ax = fig.add_axes((0.35, 0.165, 0.31, 0.77))
        colour_ax = fig.add_axes((0.665, 0.23, 0.009, 0.64))
        self.units_ax = fig.add_axes((0.795, 0.26, 0.195, 0.64))
        self._build_curves()
        self._build_plane(colour_ax)
        self._build_units()
        # Everything that changes with a run moves, so a new learning rate, initialisation or seed
        # renders no still parts. Those depend on the width only (the unit axis): the figure keeps
        # a still layer per width, so each width is rendered once (about 0.15 s), then pasted.
        fig.set_moving(
            *self.curves,
            *self.cursors,
            *self.markers,
            self.alarm,
            self.loss_readout,
            self.grad_readout,
            self.heat,
            self.unit_lines,
            self.boundary,
            self.frame,
            *self.dots,
            self.plane_title,
            *self.bars,
            self.dead_marks,
            self.units_note,
            self.units_ax.xaxis,  # its ticks follow the width: moving, so no width renders again
        )

    def _build_curves(self) -> None:
        """Loss and gradient norm per epoch: the curves are still (per run), the marker moves."""
        self.curves, self.markers, self.cursors = [], [], []
        for ax, label, limits, colour in (
            (self.loss_ax, "training loss (BCE)", LOSS_LIMITS, "tab:blue"),
            (self.grad_ax, "gradient norm ‖∇L‖", GRAD_NORM_LIMITS, "tab:purple"),
        ):
            ax.set_yscale("log")
            ax.set_ylim(*limits)
            # plain labels (0.01, 1, 100): mathtext labels would cost ~20 ms per new run
            ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:g}"))
            ax.yaxis.set_minor_formatter(NullFormatter())
            _epoch_ticks(ax)
            ax.set_ylabel(label, fontsize=10.5)
            (curve,) = ax.plot([], [], color=colour, linewidth=1.8)
            (marker,) = ax.plot([], [], "o", color=colour, markeredgecolor="black", ms=8)
            cursor = ax.axvline(0.0, color="0.3", linewidth=1.0, linestyle=":")
            self.curves.append(curve)
            self.markers.append(marker)
            self.cursors.append(cursor)
        self.grad_ax.set_xlabel("epoch (gradient-descent steps; log scale after 1)", fontsize=10)
        self.loss_ax.tick_params(labelbottom=False)
        self.alarm = alarm_text(self.loss_ax, fontsize=10, colour=DEAD_COLOUR, wrap=True)
        self.loss_readout, self.grad_readout = (
            axes_text(ax, 0.03, 0.05, fontsize=10.5, va="bottom", bbox=CURVE_READOUT_BOX)
            for ax in (self.loss_ax, self.grad_ax)
        )

    def _build_plane(self, colour_ax) -> None:
        """The plane: y_hat as colour, the 0.5 boundary, hidden units' switch lines, students."""
        ax = self.plane_ax
        self.heat = ax.imshow(
            np.full(self.image_shape, 0.5),
            origin="lower",
            extent=(*STUDIED_RANGE, *SLEPT_RANGE),
            cmap=PROBABILITY_CMAP,
            vmin=0.0,
            vmax=1.0,
            interpolation="bilinear",
        )
        colorbar = self.fig.colorbar(self.heat, cax=colour_ax)
        colorbar.set_label("y_hat = P(pass)", fontsize=10)
        self.unit_lines = LineCollection(
            [], colors=UNIT_LINE_COLOUR, linewidths=1.1, linestyles=(0, (3, 2)), alpha=0.9
        )
        self.boundary = LineCollection([], colors="black", linewidths=2.2, linestyles="--")
        ax.add_collection(self.unit_lines)
        ax.add_collection(self.boundary)
        self.dots = self._students(ax)
        ax.set(
            xlim=STUDIED_RANGE,
            ylim=SLEPT_RANGE,
            aspect="equal",
            xlabel=FEATURE_NAMES[0],
            ylabel=FEATURE_NAMES[1],
        )
        self.frame = frame_on_top(ax)
        self.plane_title = title_text(ax, y=1.02, fontsize=11)
        legend_below(ax, _plane_handles(), (-0.04, -0.14), **PLANE_LEGEND)

    def _students(self, ax) -> list:
        """Training students as the other plots draw them; test students ringed in green."""
        d = self.data
        train_pass = d.y_train[:, 0] == 1.0
        test_pass = d.y_test[:, 0] == 1.0
        return [
            ax.scatter(*d.X_train[train_pass].T, **{**PASS_STYLE, "s": 20}),
            ax.scatter(*d.X_train[~train_pass].T, **{**FAIL_STYLE, "s": 18, "linewidth": 1.0}),
            ax.scatter(
                *d.X_test[test_pass].T,
                **{**PASS_STYLE, "s": 26, "edgecolor": TEST_COLOUR, "linewidth": 1.6},
            ),
            ax.scatter(
                *d.X_test[~test_pass].T,
                **{**FAIL_STYLE, "s": 26, "color": TEST_COLOUR, "linewidth": 1.6},
            ),
        ]

    def _build_units(self) -> None:
        """Hidden units: the share of training students each one fires for."""
        uax = self.units_ax
        uax.set_ylim(0.0, 100.0)
        uax.set_ylabel("% of training students it fires for (z > 0)", fontsize=10)
        uax.set_title("hidden units", fontsize=11)
        uax.grid(alpha=0.3, axis="y")
        handles = [
            Rectangle((0, 0), 1, 1, color=POSITIVE, label="weight out > 0"),
            Rectangle(
                (0, 0), 1, 1, facecolor=NEGATIVE, hatch=NEGATIVE_HATCH, label="weight out < 0"
            ),
            Line2D([], [], **DEAD_MARK, label="dead: off for every student"),
        ]
        legend_below(uax, handles, (-0.05, -0.13), ncols=1, fontsize=8.5)
        self.units_note = axes_text(
            uax,
            0.5,
            0.97,
            ha="center",
            va="top",
            fontsize=9.5,
            fontweight="bold",
            color=DEAD_COLOUR,
            bbox={"boxstyle": "round", "facecolor": "white", "alpha": 0.9, "edgecolor": "none"},
        )
        uax.set_xlabel("hidden unit j", fontsize=10)
        # one bar per unit of the widest network; those beyond the width are hidden
        self.bars = [
            uax.add_patch(Rectangle((j - 0.38, 0.0), 0.76, 0.0, facecolor=POSITIVE))
            for j in range(max(WIDTHS))
        ]
        (self.dead_marks,) = uax.plot([], [], **DEAD_MARK)

    def _show_run(self, run: Run) -> None:
        """What belongs to one run: its curves and its alarm (moving artists)."""
        epochs = curve_epochs(run.epochs_recorded)
        self.curves[0].set_data(epochs, _clip_log(run.losses[epochs], LOSS_LIMITS))
        self.curves[1].set_data(epochs, _clip_log(run.grad_norms[epochs], GRAD_NORM_LIMITS))
        diverged = run.status == "diverged"
        self.alarm.set_visible(diverged)
        self.alarm.set_text("DIVERGED: the loss exploded.\nTry a smaller learning rate.")

    def _show_width(self, width: int) -> None:
        """The still parts that depend on the width (the unit axis), and one bar per unit."""
        for j, bar in enumerate(self.bars):
            bar.set_visible(j < width)
        uax = self.units_ax
        uax.set_xlim(-0.6, width - 0.4)
        uax.set_xticks(range(width))
        uax.tick_params(axis="x", labelsize=9 if width <= 8 else 7)

    # -- one frame ---------------------------------------------------------------------------

    def draw(
        self, lr: float, width: int, init: str, seed: int, epoch: int
    ) -> dict[str, np.ndarray]:
        key = (float(lr), int(width), str(init), int(seed))
        run = self._runs.get(key)
        if self._shown_width != int(width):
            self._show_width(int(width))  # moving artists only: nothing still to render again
            self._shown_width = int(width)
        if self._prefetching:
            self._runs.ahead(neighbour_settings(key))
        if self._run_key != key:
            self._show_run(run)
            self._run_key = key
        self._run = run
        k = min(int(epoch), run.epochs_recorded - 1)
        params = run.params(k)
        d = self.data

        with np.errstate(all="ignore"):  # a diverging run may have huge (but finite) params
            y_hat_grid, _ = mlp_forward(self.X_grid_std, params)
            image = np.clip(np.nan_to_num(y_hat_grid, nan=0.5), 0.0, 1.0).reshape(self.image_shape)
            Z1_train = d.X_train_std @ params["W1"] + params["b1"]  # (150, width)
            right = []
            for X_std, y in ((d.X_train_std, d.y_train), (d.X_test_std, d.y_test)):
                y_hat, _ = mlp_forward(X_std, params)
                labels = (np.nan_to_num(y_hat, nan=0.0) >= 0.5).astype(np.float64)  # (n, 1)
                right.append(float(self.accuracy(labels, y)))
        self.heat.set_data(image)
        studied = np.linspace(*STUDIED_RANGE, self.image_shape[1])
        slept = np.linspace(*SLEPT_RANGE, self.image_shape[0])
        self.boundary.set_segments(
            contour_segments(studied, slept, image, [0.5])
            if image.min() < 0.5 < image.max()
            else []
        )
        self.unit_lines.set_segments(self._unit_lines(params))

        loss, grad_norm = run.losses[k], run.grad_norms[k]
        for marker, cursor, value, limits in (
            (self.markers[0], self.cursors[0], loss, LOSS_LIMITS),
            (self.markers[1], self.cursors[1], grad_norm, GRAD_NORM_LIMITS),
        ):
            marker.set_data([k], _clip_log(np.array([value]), limits))
            cursor.set_xdata([k, k])
        stopped = "\n(the run stopped here)" if int(epoch) > k else ""
        self.loss_readout.set_text(f"epoch {k}: loss {loss:.4g}{stopped}")
        self.grad_readout.set_text(f"epoch {k}: ‖∇L‖ = {grad_norm:.2g}")
        self.plane_title.set_text(
            f"epoch {k}: {right[0]:.0%} right (training), {right[1]:.0%} (test)"
        )

        active = 100.0 * np.mean(Z1_train > 0.0, axis=0)  # (width,)
        dead = dead_units(Z1_train)
        for bar, share, w_out in zip(self.bars[:width], active, params["W2"][:, 0], strict=True):
            bar.set_height(share)
            bar.set_facecolor(POSITIVE if w_out >= 0 else NEGATIVE)
            bar.set_hatch("" if w_out >= 0 else NEGATIVE_HATCH)  # the sign without colour
        self.dead_marks.set_data(np.flatnonzero(dead), np.full(int(dead.sum()), 4.0))
        notes = []
        if identical_units(params):
            notes.append(f"all {width} units identical:\nsymmetry never broken")
        if dead.any():
            count = int(dead.sum())
            notes.append(f"{'all' if count == width else count} dead:\noff for every student")
        self.units_note.set_text("\n".join(notes))
        self.units_note.set_visible(bool(notes))
        return {
            "y_hat": image,
            "losses": _clip_log(run.losses[: k + 1], LOSS_LIMITS),
            "grad_norms": _clip_log(run.grad_norms[: k + 1], GRAD_NORM_LIMITS),
            "active": active,
            "dead": dead,
            "accuracy": np.array(right),
        }

    def _unit_lines(self, params: dict[str, np.ndarray]) -> list[np.ndarray]:
        """Each hidden unit's line z_j = 0 in hours (the standardization undone)."""
        W1, b1 = params["W1"], params["b1"]
        mean, std = self.data.mean, self.data.std
        lines = []
        for j in range(W1.shape[1]):
            # z = ((x - mean) / std) @ W1[:, j] + b1[j] = x @ (W1[:, j] / std) + b1[j] - ...
            w = W1[:, j] / std
            b = b1[j] - float(mean @ w)
            if np.all(np.isfinite(w)) and np.isfinite(b):
                line = clip_to_plane(switch_line(float(w[0]), float(w[1]), b))
                if line.size:
                    lines.append(line)
        return lines
