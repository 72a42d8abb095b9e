"""The look that the explorers share: ranges, palette, legends, the texts and frames that
frames fill in, and log-scale loss maps.

Every explorer imports what it shares with another one from here (never from another
explorer), so that a colour or a range is changed in one place.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from ipywidgets import FloatLogSlider, Layout
from matplotlib import colormaps
from matplotlib.colorbar import Colorbar
from matplotlib.colors import LogNorm
from matplotlib.image import AxesImage
from matplotlib.legend import Legend
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle
from matplotlib.text import Text
from matplotlib.ticker import FuncFormatter, Locator, NullFormatter

# -- ranges ----------------------------------------------------------------------------------

#: The part of the study/sleep plane shown, in hours: studied 0-10, slept 3-10 (the data's
#: range), padded.
STUDIED_RANGE = (-0.5, 10.5)
SLEPT_RANGE = (2.5, 10.5)

# -- palette ---------------------------------------------------------------------------------

#: Okabe and Ito's colour-blind-safe palette ("Color Universal Design", 2008). Two things that
#: differ only by colour use a pair of these that also differs in lightness, so they are told
#: apart in grey and by deuteranopes and protanopes (tests/test_viz_accessibility.py checks
#: every pair in DISTINCT_PAIRS); where it matters, a shape or a line style says it too.
OKABE_ITO = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky blue": "#56B4E9",
    "bluish green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish purple": "#CC79A7",
}
#: Weights: blue w > 0 (solid), orange w < 0 (dashed: NEGATIVE_LINESTYLE).
POSITIVE, NEGATIVE = OKABE_ITO["blue"], OKABE_ITO["orange"]
NEGATIVE_LINESTYLE = (0, (2.0, 1.2))  # dashes, in units of the line's width
#: Checks that pass and fail: blue and orange, with a tick / a cross (PASS_MARK, FAIL_MARK)
#: or a hatch (FAIL_HATCH), never colour alone.
PASS_COLOUR, FAIL_COLOUR = OKABE_ITO["blue"], OKABE_ITO["orange"]
PASS_MARK, FAIL_MARK = "\N{CHECK MARK}", "\N{BALLOT X}"
FAIL_HATCH = "xxx"
#: Something went wrong (a run diverged, a unit died): words in white on this colour.
ALARM_COLOUR = OKABE_ITO["vermillion"]
#: Test students: the training students' black marks, in bluish green.
TEST_COLOUR = OKABE_ITO["bluish green"]
#: Probabilities, fail (red, 0) .. pass (blue, 1): a ColorBrewer diverging map that stays
#: red-against-blue for colour-blind readers; in grey, the 0.5 line and the students' shapes
#: (PASS_STYLE, FAIL_STYLE) say which side is which.
PROBABILITY_CMAP = colormaps["RdBu"]
#: Pairs of colours that tell two things apart, by what they tell apart (see OKABE_ITO).
DISTINCT_PAIRS = {
    "weight > 0 / weight < 0": (POSITIVE, NEGATIVE),
    "check passes / fails": (PASS_COLOUR, FAIL_COLOUR),
    "training / test students": (OKABE_ITO["black"], TEST_COLOUR),
}
#: Students on the plane: a passed one is a white dot, a failed one a black cross.
PASS_STYLE = {"marker": "o", "s": 28, "facecolor": "white", "edgecolor": "black", "linewidth": 0.9}
FAIL_STYLE = {"marker": "x", "s": 26, "color": "black", "linewidth": 1.3}
#: A box that keeps a text readable over a map.
READOUT_BOX = {"boxstyle": "round", "facecolor": "white", "alpha": 0.85}

# -- controls ------------------------------------------------------------------------------

#: Pixels of a slider's track: a 30 px drag moves it by at most a tenth of its range.
SLIDER_TRACK_PX = 300
#: Pixels of a slider beside its track and its label: the readout and the margins.
SLIDER_READOUT_PX = 90
#: Pixels per character of a control's label (JupyterLab's 13 px font, with room to spare).
LABEL_PX_PER_CHAR = 7.5


def slider_options(description: str, track_px: int = SLIDER_TRACK_PX) -> dict[str, Any]:
    """The description, style and layout of a slider whose track is ``track_px`` wide.

    The label gets a fixed width fitted to ``description``, so the track's width is known from
    the widget alone: ``layout.width - style.description_width - SLIDER_READOUT_PX``.
    """
    label_px = round(LABEL_PX_PER_CHAR * len(description)) + 12
    return {
        "description": description,
        "style": {"description_width": f"{label_px}px"},
        "layout": Layout(width=f"{label_px + track_px + SLIDER_READOUT_PX}px"),
    }


def learning_rate_slider(value: float, exponents: tuple[float, float],
                         description: str = "learning rate") -> FloatLogSlider:
    """A log-scale slider from ``10**exponents[0]`` to ``10**exponents[1]``, 20 stops a decade."""
    return FloatLogSlider(value=value, base=10, min=exponents[0], max=exponents[1], step=0.05,
                          readout_format=".3g", continuous_update=True,
                          **slider_options(description))


def set_slider_range(slider, low: float, high: float, value: float, widest: float) -> None:
    """Move a slider to a new range and value; ``widest`` bounds every range it can have.

    The range is opened to (-widest, widest) first: on the way, ipywidgets refuses a ``min``
    above the old ``max`` (and a ``max`` below the old ``min``).
    """
    slider.min, slider.max = -widest, widest
    slider.min, slider.max, slider.value = low, high, value


# -- words -----------------------------------------------------------------------------------

LOSS_NAMES = {"mse": "MSE", "bce": "BCE"}

# -- legends ---------------------------------------------------------------------------------


def pass_fail_handles(passed: str = "", failed: str = "") -> list[Line2D]:
    """Legend entries for students drawn with PASS_STYLE and FAIL_STYLE ("passed" and
    "failed", each followed by its words here, e.g. ``" (y = 1)"``)."""
    return [
        Line2D(
            [],
            [],
            linestyle="",
            marker="o",
            markerfacecolor="white",
            markeredgecolor="black",
            label="passed" + passed,
        ),
        Line2D([], [], linestyle="", marker="x", color="black", label="failed" + failed),
    ]


# -- texts and frames that every frame redraws --------------------------------------------------


def axes_text(ax, x: float, y: float, **style: Any) -> Text:
    """An empty text at (x, y) in the axes' own coordinates (0 to 1), for frames to fill in."""
    return ax.text(x, y, "", transform=ax.transAxes, **style)


def title_text(ax, y: float = 1.025, fontsize: float = 12, **style: Any) -> Text:
    """A title above the axes that frames change: a plain text, since matplotlib moves an
    ``ax.set_title`` that is hidden while the still parts are drawn."""
    return axes_text(ax, 0.5, y, ha="center", va="bottom", fontsize=fontsize, **style)


def corner_readout(ax) -> Text:
    """Numbers at the axes' lower left corner, in a box that keeps them readable over a map."""
    return axes_text(ax, 0.02, 0.02, fontsize=10, va="bottom", bbox=READOUT_BOX)


def readout_below(ax, y: float) -> Text:
    """Numbers under the axes, at height ``y`` in the axes' coordinates (below the tick labels
    and a legend there): outside the axes, they cover no student and no line."""
    return axes_text(ax, 0.0, y, fontsize=10, va="top", ha="left", bbox=READOUT_BOX)


def message_text(ax, bbox: dict[str, Any] = READOUT_BOX, **style: Any) -> Text:
    """A message in the middle of the axes (shown instead of a picture that cannot be drawn)."""
    return axes_text(ax, 0.5, 0.5, ha="center", va="center", fontsize=12, bbox=bbox, **style)


def alarm_text(ax, *, fontsize: float, colour: str, **style: Any) -> Text:
    """White bold words in a box of ``colour`` at the axes' top right (a run that diverged)."""
    box = {"boxstyle": "round", "facecolor": colour, "edgecolor": "none"}
    return axes_text(
        ax,
        0.97,
        0.95,
        ha="right",
        va="top",
        fontsize=fontsize,
        color="white",
        fontweight="bold",
        bbox=box,
        **style,
    )


def frame_on_top(ax) -> Rectangle:
    """The axes' frame as an artist of its own, to be drawn again over a moving heat map."""
    frame = Rectangle(
        (0.0, 0.0), 1.0, 1.0, transform=ax.transAxes, fill=False, linewidth=0.8, clip_on=False
    )
    ax.add_artist(frame)
    return frame


def legend_below(ax, handles: list, anchor: tuple[float, float], **style: Any) -> Legend:
    """A legend without a frame whose top left corner is at ``anchor``, in the axes'
    coordinates: (0, -0.13) puts it under the axes, below their tick labels."""
    return ax.legend(
        handles=handles, loc="upper left", bbox_to_anchor=anchor, frameon=False, **style
    )


# -- loss maps on a log colour scale -----------------------------------------------------------

#: Contour lines per loss map (spaced evenly on the log colour scale).
CONTOUR_LEVELS = 14


def log_loss_map(
    ax, colour_ax, *, locator: Locator, formatter: str = "g", cmap: str = "viridis", **imshow: Any
) -> tuple[AxesImage, LogNorm, Colorbar]:
    """An empty heat map on a log colour scale, with its colour bar in ``colour_ax``.

    Each frame sets the data (``heat.set_data``) and the range (``heat.set_clim``; the colour
    bar follows). The colour bar's ticks come from ``locator``, labelled with
    ``format(value, formatter)``; minor ticks get no label.

    Parameters
    ----------
    ax, colour_ax : matplotlib.axes.Axes
        The map's axes and the colour bar's.
    locator : matplotlib.ticker.Locator
        The colour bar's major ticks.
    formatter : str
        A format spec for their labels.
    cmap : str
    **imshow
        More arguments of ``ax.imshow`` (extent, aspect, alpha).

    Returns
    -------
    heat : AxesImage
    norm : LogNorm
    colorbar : Colorbar
    """
    norm = LogNorm(vmin=0.1, vmax=1.0)  # a placeholder range: every frame sets its own
    heat = ax.imshow(
        np.ones((2, 2)), origin="lower", cmap=cmap, norm=norm, interpolation="bilinear", **imshow
    )
    colorbar = ax.figure.colorbar(heat, cax=colour_ax)
    colorbar.locator = locator
    colorbar.formatter = FuncFormatter(lambda value, _: format(value, formatter))
    colour_ax.yaxis.set_minor_formatter(NullFormatter())
    return heat, norm, colorbar


def colour_ticks(low: float, high: float, count: int = 5) -> np.ndarray:
    """About ``count`` ticks between low and high (> 0), evenly spaced on a log scale and
    rounded to 2 significant digits (kept inside [low, high])."""
    ticks = np.geomspace(low, high, count)
    digits = 1 - np.floor(np.log10(ticks)).astype(int)  # 2 significant digits
    rounded = np.array([round(t, int(d)) for t, d in zip(ticks, digits, strict=True)])
    return np.unique(rounded[(rounded >= low) & (rounded <= high)])
