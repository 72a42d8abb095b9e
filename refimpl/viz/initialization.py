"""A deep stack at initialisation: what the scale of the starting weights does (notebook 10).

:class:`InitializationExplorer` pushes random data up a stack of 10 layers of 100 units and a
random gradient back down (``refimpl.deep_stack_statistics``), for the chosen activation and
initialisation scheme, with the std of the weights from the learner's ``init_std`` (the
reference while theirs is not ready). It draws, per layer, the histogram of the activations and
of the gradients on fixed axes (values beyond them in a hatched bin at the edge), and the std per
layer on a log axis, with a verdict on each: steady, exploding, vanishing or saturated.

Compute and render: one stack takes 10-50 ms and its 20 histograms about 10 ms, once per
activation/scheme pair (9 in all, all kept; once the explorer is shown, a background thread
computes the pairs not seen yet, ``refimpl.viz._prefetch``). A frame then only hands the kept
polygons, a few texts, 2 lines and the activation's value axis to still axes rendered once
(``BlitFigure``): about 35 ms. The std of each layer is drawn in the std panel (and given in
the text alternative), not written beside each histogram: 20 more texts would double a frame.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass

import ipywidgets as widgets
import numpy as np
from matplotlib.collections import PolyCollection
from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

from refimpl.initialization import INIT_SCHEMES, STACK_ACTIVATIONS, deep_stack_statistics
from refimpl.initialization import init_std as reference_init_std
from refimpl.viz._core import DPI, BlitFigure, Explorer, LearnerFunction
from refimpl.viz._prefetch import Prefetcher
from refimpl.viz._style import ALARM_COLOUR, OKABE_ITO, axes_text

__all__ = ["InitializationExplorer", "stack_verdicts"]

#: The stack: layers, units per layer (and inputs), samples.
DEPTH, WIDTH, SAMPLES = 10, 100, 500
#: Activations in blue, gradients in orange (told apart in grey; also by panel, line and marker).
ACTIVATION_COLOUR, GRADIENT_COLOUR = OKABE_ITO["blue"], OKABE_ITO["orange"]
#: Colours that tell two things apart in this figure (tests/test_viz_accessibility.py checks them).
COLOUR_PAIRS = {"activations / gradients": (ACTIVATION_COLOUR, GRADIENT_COLOUR)}
#: The histograms' fixed ranges: what each activation can reach (relu: where a steady stack's
#: values lie), and the gradients around the upstream gradient's N(0, 1).
ACTIVATION_RANGES = {"sigmoid": (0.0, 1.0), "tanh": (-1.0, 1.0), "relu": (0.0, 4.0)}
GRADIENT_RANGE = (-4.0, 4.0)
BINS = 40
#: A bin for the values beyond an open end of the range: this many bins wide, this many away.
OUTSIDE_BINS, OUTSIDE_GAP = 4, 2
OUTSIDE_HATCH = "////"
#: Each layer's histogram is scaled so that its tallest bin is this high (layers are 1 apart).
RIDGE_HEIGHT = 0.85
#: A std that changes by less than this factor from layer 1 to the last one is "steady".
STEADY_FACTOR = 10.0
#: A sigmoid or tanh unit within this of a limit (0 or 1, -1 or 1) is saturated (slope ~0) ...
SATURATION_MARGIN = 0.01
#: ... and a stack whose last layer has at least this share of them is called saturated.
SATURATED_SHARE = 0.25
#: The std panel's fixed log axis (values beyond it are drawn at its edge).
STD_LIMITS = (1e-9, 1e9)
SCHEME_LABELS = {"normal": "N(0, 1)", "xavier": "Xavier (Glorot)", "he": "He"}


@dataclass(frozen=True)
class Histograms:
    """One panel's histograms, one row per layer.

    Attributes
    ----------
    inside : ndarray, shape (depth, BINS)
        Share of the layer's values in each bin of the range.
    below, above : ndarray, shape (depth,)
        Share below and above the range.
    zeros : ndarray, shape (depth,)
        Share of values exactly 0 when they are counted apart (relu activations), else 0.
    not_finite : ndarray, shape (depth,)
        Share of inf or nan values (a stack that overflowed).
    """

    inside: np.ndarray
    below: np.ndarray
    above: np.ndarray
    zeros: np.ndarray
    not_finite: np.ndarray


def layer_histograms(
    layers: tuple[np.ndarray, ...], value_range: tuple[float, float], zeros_apart: bool
) -> Histograms:
    """The share of each layer's values per bin of ``value_range`` (BINS bins) and beyond it.

    Parameters
    ----------
    layers : tuple of ndarray, each shape (n, width)
    value_range : (low, high)
    zeros_apart : bool
        Count exact zeros apart (relu's switched-off units), not in the first bin.
    """
    low, high = value_range
    rows = {name: [] for name in ("inside", "below", "above", "zeros", "not_finite")}
    for values in layers:
        values = values.ravel()
        finite = np.isfinite(values)
        rows["not_finite"].append(1.0 - finite.mean())
        kept = values[finite]
        rows["zeros"].append(np.mean(kept == 0.0) * finite.mean() if zeros_apart else 0.0)
        if zeros_apart:
            kept = kept[kept != 0.0]
        counts, _ = np.histogram(kept, bins=BINS, range=(low, high))  # the top edge included
        rows["inside"].append(counts / values.size)
        rows["below"].append(np.count_nonzero(kept < low) / values.size)
        rows["above"].append(np.count_nonzero(kept > high) / values.size)
    return Histograms(**{name: np.array(row) for name, row in rows.items()})


def saturated_shares(activation: str, layers: tuple[np.ndarray, ...]) -> np.ndarray:
    """Per layer, the share of units within SATURATION_MARGIN of a limit of a sigmoid (0, 1) or a
    tanh (-1, 1); zeros for relu, which has no upper limit. Shape (depth,)."""
    if activation == "relu":
        return np.zeros(len(layers))
    low = 0.0 if activation == "sigmoid" else -1.0
    with np.errstate(invalid="ignore"):
        at_limit = [(A - low < SATURATION_MARGIN) | (1.0 - A < SATURATION_MARGIN) for A in layers]
        return np.array([np.mean(mask) for mask in at_limit])


def _change(factor: float, what: str) -> tuple[str, bool]:
    """Words for a std that changed by ``factor``, and whether that is a problem."""
    if not np.isfinite(factor):
        return "not finite\nthe numbers overflowed", True
    if factor > STEADY_FACTOR:
        return f"explode\nstd ×{factor:.2g} {what}", True
    if factor < 1.0 / STEADY_FACTOR:
        return f"vanish\nstd ×{factor:.2g} {what}", True
    return f"steady\nstd ×{factor:.2g} {what}", False


def stack_verdicts(
    activation: str,
    activation_std: np.ndarray,
    gradient_std: np.ndarray,
    saturated: np.ndarray,
) -> tuple[tuple[str, bool], tuple[str, bool]]:
    """How the activations and the gradients fare through the stack, in words.

    Activations go up (layer 1 to the last), gradients come down (the last layer to layer 1).
    A std that changes by more than STEADY_FACTOR explodes or vanishes; a sigmoid or tanh stack
    whose last layer has SATURATED_SHARE of its units at a limit is saturated.

    Parameters
    ----------
    activation : {"sigmoid", "tanh", "relu"}
    activation_std, gradient_std : ndarray, shape (depth,)
        Per layer, as ``StackStatistics`` has them.
    saturated : ndarray, shape (depth,)
        Per layer, the share of saturated units (:func:`saturated_shares`).

    Returns
    -------
    (words, problem) for the activations, then for the gradients
    """
    depth = len(activation_std)
    with np.errstate(all="ignore"):
        up = activation_std[-1] / activation_std[0]
        down = gradient_std[0] / gradient_std[-1]
    if saturated[-1] >= SATURATED_SHARE:
        limits = "0 or 1" if activation == "sigmoid" else "-1 or 1"
        ups = (f"saturate\n{saturated[-1]:.0%} of layer {depth} at {limits} (slope ~0)", True)
    else:
        ups = _change(float(up), f"from layer 1 to {depth}")
    return ups, _change(float(down), f"from layer {depth} down to 1")


@dataclass(frozen=True)
class Stack:
    """What the explorer keeps of one activation/scheme pair (computed once)."""

    std: float  # the weights' std that was used
    init_std: LearnerFunction  # whose init_std gave it: its note says
    activation_std: np.ndarray  # (depth,)
    gradient_std: np.ndarray  # (depth,)
    saturated: np.ndarray  # (depth,)
    histograms: tuple[Histograms, Histograms]  # activations, gradients


class InitializationExplorer(Explorer):
    """A 10-layer stack at initialisation: per-layer histograms of activations and gradients.

    Random inputs go up a stack of 10 dense layers of 100 units (one activation for all, biases
    0, weights N(0, std²) with std from ``init_std``) and a random gradient comes back down.
    Each panel draws one histogram per layer (layer 1 at the bottom) on a fixed axis, and the
    right panel the std of both per layer on a log axis.

    Parameters
    ----------
    init_std : callable, optional
        The learner's ``init_std(d_in, d_out, scheme)``; the reference is used, with a note,
        while it is a stub or broken.
    activation : {"sigmoid", "tanh", "relu"}
    scheme : {"normal", "xavier", "he"}
        The first setting shown.
    """

    def __init__(
        self,
        init_std: Callable | None = None,
        *,
        activation: str = "sigmoid",
        scheme: str = "normal",
    ):
        super().__init__()
        self.learner_init_std = init_std
        # Every pair, once: 9 stacks. Shown, the explorer computes the others in the background.
        self._stacks = Prefetcher(self._compute, keep=len(STACK_ACTIVATIONS) * len(INIT_SCHEMES))
        self._prefetching = False  # from the first widget on: a learner is moving controls
        self._stack: Stack | None = None
        toggle = {"style": {"description_width": "initial", "button_width": "auto"}}
        self.controls = {
            "activation": widgets.ToggleButtons(
                options=list(STACK_ACTIVATIONS),
                value=activation,
                description="activation",
                **toggle,
            ),
            "scheme": widgets.ToggleButtons(
                options=[(SCHEME_LABELS[s], s) for s in INIT_SCHEMES],
                value=scheme,
                description="initialisation",
                **toggle,
            ),
        }
        self._build_figure()

    def widget(self) -> widgets.Widget:
        self._prefetching = True
        return super().widget()

    def settle(self, timeout: float | None = None) -> bool:
        return self._stacks.settle(timeout)

    def notes(self) -> list[str]:
        return [self._stack.init_std.note] if self._stack is not None else []

    # -- the numbers -----------------------------------------------------------------------

    def stack(self, activation: str, scheme: str) -> Stack:
        """The statistics and histograms of one pair (computed once, kept)."""
        return self._stacks.get((activation, scheme))

    def _compute(self, activation: str, scheme: str) -> Stack:
        """One pair's stack (called in the background too: its LearnerFunction is its own)."""
        init_std = LearnerFunction(self.learner_init_std, reference_init_std, "init_std")
        try:
            stats = deep_stack_statistics(
                activation, scheme, DEPTH, WIDTH, SAMPLES, init_std=init_std
            )
            std = float(init_std(WIDTH, WIDTH, scheme))
        except ValueError as error:  # the learner's std is not a usable one (e.g. negative)
            stats = deep_stack_statistics(activation, scheme, DEPTH, WIDTH, SAMPLES)
            std = reference_init_std(WIDTH, WIDTH, scheme)
            init_std.note = (
                f"Your <code>init_std</code> cannot be used: {html.escape(str(error))} "
                "This plot uses the reference; run its check cell for details."
            )
        with np.errstate(all="ignore"):  # an overflowed stack has inf and nan: counted apart
            histograms = (
                layer_histograms(
                    stats.activations, ACTIVATION_RANGES[activation], activation == "relu"
                ),
                layer_histograms(stats.gradients, GRADIENT_RANGE, False),
            )
            saturated = saturated_shares(activation, stats.activations)
        return Stack(std, init_std, stats.activation_std, stats.gradient_std, saturated, histograms)

    # -- the picture -----------------------------------------------------------------------

    def _build_figure(self) -> None:
        fig = self.fig = BlitFigure(figsize=(12.6, 5.6), dpi=DPI)
        # histograms | their numbers | histograms | their numbers | std per layer
        self.value_axes = (
            fig.add_axes((0.05, 0.16, 0.22, 0.66)),
            fig.add_axes((0.395, 0.16, 0.22, 0.66)),
        )
        self.std_ax = fig.add_axes((0.78, 0.16, 0.2, 0.66))
        self.ridges, self.outside, self.ridge_texts, self.verdicts = [], [], [], []
        for ax, colour in zip(self.value_axes, (ACTIVATION_COLOUR, GRADIENT_COLOUR), strict=True):
            self._build_ridges(ax, colour)
        self._build_std_panel()
        self.title = fig.text(0.5, 0.975, "", ha="center", va="top", fontsize=13)
        self.footer = fig.text(0.01, 0.01, "", fontsize=9.5, color="0.3")
        _value_axis(self.value_axes[1], "gradient dL/dA_l", GRADIENT_RANGE, (True, True))
        self._shown_activation = None
        fig.set_moving(
            self.value_axes[0].xaxis,  # first: its grid lies under the histograms
            self.title,
            *self.verdicts,
            *self.ridges,
            *self.outside,
            *self.ridge_texts[0],
            *self.ridge_texts[1],
            *self.std_lines,
            self.footer,
        )

    def readouts(self) -> list[str]:
        """The title and verdicts, then per layer (1 to 10) the std of the activations and of
        the gradients (the right panel) and the shares that the histograms leave out."""
        words = [" ".join(t.get_text().split()) for t in (self.title, *self.verdicts)]
        stack = self._stack
        if stack is not None:
            for name, values in (
                ("std of the activations", stack.activation_std),
                ("std of the gradients", stack.gradient_std),
            ):
                words.append(f"{name} per layer: " + ", ".join(f"{v:.2g}" for v in values))
            for name, histograms in zip(
                ("activations", "gradients"), stack.histograms, strict=True
            ):
                for kind, shares in (
                    ("exactly 0", histograms.zeros),
                    ("inf or nan", histograms.not_finite),
                ):
                    if shares.any():
                        words.append(
                            f"share of the {name} {kind} per layer: "
                            + ", ".join(f"{v:.0%}" for v in shares)
                        )
            words.append(stack.init_std.plain_note)
        return [w for w in words if w]

    def _build_ridges(self, ax, colour: str) -> None:
        """One panel of histograms: a filled outline per layer, a hatched bin per open end."""
        ridges = PolyCollection([], facecolors=colour, edgecolors="black", linewidths=0.5)
        outside = PolyCollection(
            [], facecolors="white", edgecolors=colour, hatch=OUTSIDE_HATCH, linewidths=1.0
        )
        ax.add_collection(ridges)
        ax.add_collection(outside)
        ax.set_ylim(0.7, DEPTH + 1.0)
        ax.set_yticks(range(1, DEPTH + 1))
        if not self.ridges:  # the first panel names the rows; the second one has the same
            ax.set_ylabel("layer l", fontsize=10, labelpad=2)
        ax.grid(alpha=0.3, axis="x")
        texts = [
            ax.text(
                1.01, layer + 0.3, "", transform=ax.get_yaxis_transform(), fontsize=8.5, va="center"
            )
            for layer in range(1, DEPTH + 1)
        ]
        self.ridges.append(ridges)
        self.outside.append(outside)
        self.ridge_texts.append(texts)
        self.verdicts.append(axes_text(ax, 0.0, 1.02, va="bottom", fontsize=10.5, linespacing=1.3))

    def _build_std_panel(self) -> None:
        ax = self.std_ax
        ax.set_yscale("log")
        ax.set_ylim(*STD_LIMITS)
        # plain labels (1e+03): mathtext ones (10³) would cost ~0.1 s per still layer
        ax.yaxis.set_major_locator(FixedLocator(np.logspace(-9, 9, 7)))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{value:.0e}"))
        ax.yaxis.set_minor_locator(NullLocator())
        ax.set_xlim(0.5, DEPTH + 0.5)
        ax.set_xticks(range(1, DEPTH + 1))
        ax.set_xlabel("layer l", fontsize=10)
        ax.set_ylabel("std over the layer (log scale)", fontsize=10)
        ax.grid(alpha=0.3, which="major")
        ax.axhline(1.0, color="0.5", linewidth=0.8)
        (activations,) = ax.plot(
            [], [], "-o", color=ACTIVATION_COLOUR, ms=6, lw=2, label="activations A_l"
        )
        (gradients,) = ax.plot(
            [],
            [],
            "--s",
            color=GRADIENT_COLOUR,
            ms=6,
            lw=2,
            markeredgecolor="black",
            label="gradients dL/dA_l",
        )
        ax.legend(
            loc="upper center", bbox_to_anchor=(0.5, -0.11), ncols=2, fontsize=9, frameon=False
        )
        axes_text(ax, 0.5, 1.02, ha="center", va="bottom", fontsize=10.5).set_text("std per layer")
        self.std_lines = [activations, gradients]

    def _show_activation(self, activation: str) -> None:
        """The activation panel's value axis (a moving artist: a new activation renders no
        still parts, which would take ~3 times a frame)."""
        _value_axis(
            self.value_axes[0],
            "activation A_l",
            ACTIVATION_RANGES[activation],
            _open_ends(activation),
        )
        self._shown_activation = activation

    def draw(self, activation: str, scheme: str) -> dict[str, np.ndarray]:
        stack = self._stack = self.stack(activation, scheme)
        if self._prefetching:
            self._stacks.ahead(other_pairs(activation, scheme))
        if self._shown_activation != activation:
            self._show_activation(activation)
        ranges = (ACTIVATION_RANGES[activation], GRADIENT_RANGE)
        opens = (_open_ends(activation), (True, True))
        stds = (stack.activation_std, stack.gradient_std)
        verdicts = stack_verdicts(activation, *stds, stack.saturated)
        heights = []
        for k, histograms in enumerate(stack.histograms):
            inside, outside, scaled = ridge_polygons(histograms, ranges[k], opens[k])
            self.ridges[k].set_verts(inside)
            self.outside[k].set_verts(outside)
            heights.append(scaled)
            for layer, text in enumerate(self.ridge_texts[k]):
                text.set_text(_ridge_words(histograms, layer))
            words, problem = verdicts[k]
            self.verdicts[k].set_text(("activations: " if k == 0 else "gradients: ") + words)
            self.verdicts[k].set_color(ALARM_COLOUR if problem else "black")
            self.verdicts[k].set_fontweight("bold" if problem else "normal")
        layers = np.arange(1, DEPTH + 1)
        for line, std in zip(self.std_lines, stds, strict=True):
            line.set_data(layers, _clip_log(std, STD_LIMITS))
        self.title.set_text(
            f"{activation} layers, weights N(0, std²) with std = init_std({WIDTH}, {WIDTH}, "
            f"'{scheme}') = {stack.std:.3g}"
        )
        self.footer.set_text(stack.init_std.plain_note)
        return {
            "activation_std": _clip_log(stack.activation_std, STD_LIMITS),
            "gradient_std": _clip_log(stack.gradient_std, STD_LIMITS),
            "activation_heights": heights[0],
            "gradient_heights": heights[1],
            "saturated": stack.saturated,
            "std": np.array(stack.std),
        }


def other_pairs(activation: str, scheme: str) -> list[tuple[str, str]]:
    """The other activation/scheme pairs, nearest first: the other schemes of this activation,
    the other activations with this scheme, then the rest."""
    pairs = [
        (a, s) for a in STACK_ACTIVATIONS for s in INIT_SCHEMES if (a, s) != (activation, scheme)
    ]
    return sorted(pairs, key=lambda pair: 2 * (pair[0] != activation) + (pair[1] != scheme))


def _value_axis(
    ax, label: str, value_range: tuple[float, float], open_ends: tuple[bool, bool]
) -> None:
    """A histogram panel's x axis: the range, and a tick for each outside bin of an open end."""
    below, above = open_ends
    hatched = " (hatched: beyond the axis)" if below or above else ""
    ax.set_xlabel(label + hatched, fontsize=10)
    low, high = value_range
    step = (high - low) / BINS
    ticks = list(np.linspace(low, high, 5)[slice(int(below), 5 - int(above))])
    labels = [f"{t:g}" for t in ticks]  # an open end is named by its outside bin
    if below:
        ticks.insert(0, low - step * (OUTSIDE_GAP + OUTSIDE_BINS / 2))
        labels.insert(0, f"<{low:g}")
    if above:
        ticks.append(high + step * (OUTSIDE_GAP + OUTSIDE_BINS / 2))
        labels.append(f">{high:g}")
    margin = step * (OUTSIDE_GAP + OUTSIDE_BINS + 1)
    ax.set_xlim(low - (margin if below else step), high + (margin if above else step))
    ax.set_xticks(ticks)
    ax.set_xticklabels(labels, fontsize=9)


def _open_ends(activation: str) -> tuple[bool, bool]:
    """Whether an activation's values can lie below and above its histogram's range."""
    return (False, activation == "relu")


def _clip_log(values: np.ndarray, limits: tuple[float, float]) -> np.ndarray:
    """Finite values inside a log axis (nan and inf at the top edge)."""
    low, high = limits
    return np.clip(np.nan_to_num(values, nan=high, posinf=high, neginf=low), low, high)


def _ridge_words(histograms: Histograms, layer: int) -> str:
    """What one layer's histogram does not show (its std is in the std panel): the share of
    values counted apart, exactly 0 (relu) or not finite."""
    words = []
    if histograms.zeros[layer] > 0:
        words.append(f"{histograms.zeros[layer]:.0%} = 0")
    if histograms.not_finite[layer] > 0:
        words.append(f"{histograms.not_finite[layer]:.0%} inf/nan")
    return ", ".join(words)


def ridge_polygons(
    histograms: Histograms, value_range: tuple[float, float], open_ends: tuple[bool, bool]
) -> tuple[list[np.ndarray], list[np.ndarray], np.ndarray]:
    """Each layer's histogram as a filled step outline at height ``layer``, and its outside bins
    as rectangles (at ``OUTSIDE_GAP`` bins from the range), scaled so that a layer's tallest bin
    is RIDGE_HEIGHT high.

    Returns
    -------
    inside : list of ndarray, each shape (2 * BINS + 2, 2)
    outside : list of ndarray, each shape (4, 2)
    heights : ndarray, shape (depth, BINS + 2)
        The scaled heights: below the range, the BINS bins, above it.
    """
    low, high = value_range
    step = (high - low) / BINS
    edges = np.linspace(low, high, BINS + 1)
    below = np.where(open_ends[0], histograms.below, 0.0)
    above = np.where(open_ends[1], histograms.above, 0.0)
    shares = np.column_stack([below, histograms.inside, above])  # (depth, BINS + 2)
    tallest = shares.max(axis=1, keepdims=True)
    heights = np.divide(
        shares * RIDGE_HEIGHT, tallest, out=np.zeros_like(shares), where=tallest > 0
    )
    xs = np.repeat(edges, 2)
    outside_x = (
        (low - step * (OUTSIDE_GAP + OUTSIDE_BINS), low - step * OUTSIDE_GAP),
        (high + step * OUTSIDE_GAP, high + step * (OUTSIDE_GAP + OUTSIDE_BINS)),
    )
    inside, outside = [], []
    for layer, row in enumerate(heights, start=1):
        ys = layer + np.concatenate([[0.0], np.repeat(row[1:-1], 2), [0.0]])
        inside.append(np.column_stack([xs, ys]))
        for (x0, x1), height, is_open in zip(outside_x, row[[0, -1]], open_ends, strict=True):
            if is_open and height > 0:
                outside.append(
                    np.array([[x0, layer], [x0, layer + height], [x1, layer + height], [x1, layer]])
                )
    return inside, outside, heights
