"""What every explorer shares: learner-or-reference calls, PNG frames, fallback display, and
the networks a loss-slice explorer offers."""

from __future__ import annotations

import base64
import contextlib
import html
import io
import re
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

import ipywidgets as widgets
import numpy as np
from IPython.display import Image, display
from matplotlib.figure import Figure  # a bare Figure renders off-screen, without pyplot state
from matplotlib.text import Text

from refimpl.examples import example_network

WIDGET_VIEW_MIMETYPE = "application/vnd.jupyter.widget-view+json"
#: Resolution of explorer frames: sharp enough to read, small enough to redraw in well under 100 ms.
DPI = 80
#: Still layers a BlitFigure keeps, one per still_key (about 1.5 MB each at DPI; the least recently
#: used goes first): going back to a recent setting (another option, a range seen before) is a blit.
STILL_LAYERS = 8


def figure_png(fig: Figure) -> bytes:
    """Render a matplotlib figure to PNG bytes (Agg, no pyplot state involved)."""
    buffer = io.BytesIO()
    # Light compression: a frame is shown once, and level 1 saves ~10-20 ms per redraw.
    fig.savefig(buffer, format="png", dpi=DPI, pil_kwargs={"compress_level": 1})
    return buffer.getvalue()


class BlitFigure(Figure):
    """A Figure that renders its still parts once, then redraws only the artists that move.

    Ticks, labels, legends and colour-bar frames cost most of a frame and never change while a
    slider moves. On an Agg canvas the figure is first rendered without the artists in
    :attr:`moving`; those pixels are kept per :attr:`still_key` and canvas size, for the last
    :data:`STILL_LAYERS` keys (until :meth:`invalidate` is called). Every frame pastes the layer
    of the current key back and draws the moving artists on top, in order. Another renderer, or a
    figure with a layout engine, gets a full draw.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.moving: list = []
        #: Anything hashable that identifies the still parts (e.g. axis limits): a new value
        #: renders them, one seen recently pastes its kept layer. So the still parts, and the
        #: choice of moving artists, must depend on nothing else (or call :meth:`invalidate`).
        self.still_key: Any = None
        self._still = None  # (key, pixels) of the still layer in use
        self._layers: OrderedDict[Any, Any] = OrderedDict()  # key -> pixels, least recent first

    def set_moving(self, *artists: Any) -> None:
        """Redraw these artists (in this order) on every frame; everything else is kept."""
        self.moving = list(artists)
        self.invalidate()

    def invalidate(self) -> None:
        """Render the still parts again on the next draw (after changing one of them).

        Every kept layer is dropped, since the change may concern any of them.
        """
        self._still = None
        self._layers.clear()

    def freeze_layout(self) -> None:
        """Lay the figure out with its layout engine, then keep that layout (so blitting works)."""
        for _ in range(2):  # the 2nd pass sees label positions the 1st one updated
            self.draw_without_rendering()
        self.set_layout_engine(None)
        self.invalidate()

    def draw(self, renderer: Any) -> None:
        can_blit = self.get_layout_engine() is None and hasattr(renderer, "copy_from_bbox")
        if not can_blit:  # laying out, or another renderer: a plain full drawing
            super().draw(renderer)
            return
        key = (self.still_key, renderer.width, renderer.height, self.dpi)
        pixels = self._layers.get(key)
        if pixels is not None:
            renderer.restore_region(pixels)
            self._layers.move_to_end(key)
        else:
            with hidden(self.moving):
                super().draw(renderer)  # the still parts only
            pixels = self._layers[key] = renderer.copy_from_bbox(self.bbox)
            while len(self._layers) > STILL_LAYERS:
                self._layers.popitem(last=False)  # the least recently used
        self._still = (key, pixels)
        for artist in self.moving:
            artist.draw(renderer)  # an invisible artist draws nothing
        self.stale = False


@contextlib.contextmanager
def hidden(artists: Iterable[Any]) -> Iterator[None]:
    """Hide these artists for the duration of a ``with`` block (then as they were)."""
    artists = list(artists)
    shown = [artist.get_visible() for artist in artists]
    for artist in artists:
        artist.set_visible(False)
    try:
        yield
    finally:
        for artist, visible in zip(artists, shown, strict=True):
            artist.set_visible(visible)


def png_html(png: bytes, alt: str) -> str:
    """An ``<img>`` of PNG bytes with its text alternative (``alt``, and ``title`` on hover)."""
    source = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
    words = html.escape(alt, quote=True)
    return f'<img src="{source}" alt="{words}" title="{words}">'


def display_with_fallback(widget: widgets.Widget, fig: Figure, alt: str = "") -> None:
    """Display ``widget``, with a static PNG of ``fig`` for places that cannot show widgets.

    JupyterLab renders the widget view. nbconvert's HTML export skips a widget view whose state
    was not saved and falls back to the PNG, and so does a notebook opened untrusted. So the
    fallback needs notebooks executed without saved widget state (JupyterLab's default when it
    saves; ``store_widget_state = False`` for nbclient and nbgrader, see nbgrader_config.py).
    The PNG is also given as HTML with ``alt`` as its text alternative (what a screen reader
    reads; nbconvert prefers that HTML to the bare PNG), and ``alt`` leads the plain text.
    """
    bundle = dict(widget._repr_mimebundle_())
    png = figure_png(fig)
    bundle["image/png"] = png
    bundle["text/html"] = png_html(png, alt or FALLBACK_ALT)
    bundle["text/plain"] = (
        f"{alt}\n" if alt else ""
    ) + "Interactive figure: run this cell in JupyterLab to use the sliders."
    display(bundle, raw=True)


def described_png(png: bytes, alt: str) -> dict[str, Any]:
    """A display bundle of a still picture: the PNG, the PNG as HTML with ``alt`` as its text
    alternative (what nbconvert and a screen reader use), and ``alt`` as plain text."""
    return {"image/png": png, "text/html": png_html(png, alt), "text/plain": alt}


class DescribedFigure(Figure):
    """A still Figure that a notebook shows with a text alternative: set :attr:`alt` to what
    it shows (displayed as :func:`described_png` of the figure, as the inline backend draws it:
    at the figure's dpi, trimmed to what is drawn)."""

    alt: str = ""

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        buffer = io.BytesIO()
        self.savefig(buffer, format="png", dpi=self.dpi, bbox_inches="tight")
        return described_png(buffer.getvalue(), self.alt or FALLBACK_ALT)


class DescribedImage(Image):
    """An IPython PNG Image shown with a text alternative ``alt`` (see :func:`described_png`)."""

    def __init__(self, png: bytes, alt: str):
        super().__init__(data=png, format="png")
        self.alt = alt

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        return described_png(self.data, self.alt)


#: The text alternative of a figure that was given none.
FALLBACK_ALT = "An interactive figure: run this cell in JupyterLab to use its controls."


class LearnerFunction:
    """Call the learner's function, or the reference while theirs is not ready.

    The learner's function is used when it returns without raising and its result has the
    reference's shape and no NaN. Otherwise the reference is used and :attr:`note` says why,
    so the plot keeps working and the learner sees that it is not (yet) their code.

    Parameters
    ----------
    learner : callable or None
        The learner's implementation (None: use the reference).
    reference : callable
        The refimpl implementation with the same signature.
    name : str
        The exercise name, used in the note.
    """

    def __init__(self, learner: Callable | None, reference: Callable, name: str):
        self.learner, self.reference, self.name = learner, reference, name
        self.note = "" if learner is not None else f"Using the reference <code>{name}</code>."

    @property
    def plain_note(self) -> str:
        """The note without HTML tags, for text drawn inside a figure."""
        return html.unescape(re.sub(r"<[^>]+>", "", self.note))

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        expected = self.reference(*args, **kwargs)
        if self.learner is None:
            return expected
        try:
            with np.errstate(all="ignore"):
                got = self.learner(*args, **kwargs)
        except NotImplementedError:
            self.note = (
                f"Your <code>{self.name}</code> is not implemented yet: this plot uses the "
                "reference."
            )
            return expected
        except Exception as error:  # the plot must survive any learner bug
            self.note = (
                f"Your <code>{self.name}</code> raised {type(error).__name__}: "
                f"{html.escape(str(error))}. "
                "This plot uses the reference; run its check cell for details."
            )
            return expected
        if not _same_structure(got, expected):
            self.note = (
                f"Your <code>{self.name}</code> returned something unlike the reference (wrong "
                "type, shape or a NaN): this plot uses the reference; run its check cell for "
                "details."
            )
            return expected
        self.note = f"Using your <code>{self.name}</code>."
        return got


def _same_structure(got: Any, expected: Any) -> bool:
    if isinstance(expected, tuple):
        return (
            isinstance(got, tuple)
            and len(got) == len(expected)
            and all(_same_structure(g, e) for g, e in zip(got, expected, strict=True))
        )
    if isinstance(expected, Mapping):
        return isinstance(got, Mapping) and all(
            key in got and _same_structure(got[key], value) for key, value in expected.items()
        )
    try:
        got_array = np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    if got_array.shape != np.shape(expected):
        return False
    # Non-finite only where the reference is too (a diverging run is legitimately inf).
    reference_finite = np.isfinite(np.asarray(expected, dtype=np.float64))
    return bool(np.all(np.isfinite(got_array)[reference_finite]))


class Explorer:
    """A matplotlib figure driven by ipywidgets controls.

    Subclasses build ``self.fig`` and ``self.controls`` (name -> ipywidgets control) in
    ``__init__`` and implement :meth:`draw`, which updates the figure for the given control values
    and returns the arrays it drew (tests check them for NaN). ``update(**values)`` sets
    controls, redraws and returns those arrays; moving a control in JupyterLab does the same.
    """

    fig: Figure
    controls: dict[str, widgets.ValueWidget]

    def __init__(self) -> None:
        self.note = widgets.HTML()
        self.image = widgets.Image(format="png")
        self._wired = False  # observers registered on the controls
        self._paused = False  # set while update() changes several controls at once

    def draw(self, **values: Any) -> dict[str, Any]:
        """Redraw ``self.fig`` for these control values; return what was drawn."""
        raise NotImplementedError  # each explorer draws its own picture

    def notes(self) -> list[str]:
        """Lines shown above the figure (for example, which functions are the learner's)."""
        return []

    def settle(self, timeout: float | None = None) -> bool:
        """Wait until what the explorer computes ahead in the background is done (or ``timeout``
        seconds); True if nothing is left. An explorer that computes nothing ahead: at once."""
        return True

    def values(self) -> dict[str, Any]:
        return {name: control.value for name, control in self.controls.items()}

    def update(self, **values: Any) -> dict[str, Any]:
        """Set the named controls (others keep their value), redraw, and return what was drawn."""
        unknown = set(values) - set(self.controls)
        if unknown:
            raise ValueError(
                f"{type(self).__name__} has no control named {sorted(unknown)}; "
                f"its controls are {sorted(self.controls)}."
            )
        self._paused = True  # one redraw for several changes
        try:
            for name, value in values.items():
                self.controls[name].value = value
        finally:
            self._paused = False
        return self._redraw()

    def _redraw(self) -> dict[str, Any]:
        drawn = self.draw(**self.values())
        self.image.value = figure_png(self.fig)
        self.note.value = "<br>".join(self.notes())
        return drawn

    def _on_change(self, change: Mapping[str, Any]) -> None:
        if not self._paused:
            self._redraw()

    def widget(self) -> widgets.Widget:
        """The controls above the figure, wired to redraw on every change."""
        if not self._wired:
            for control in self.controls.values():
                control.observe(self._on_change, names="value")
            self._wired = True
        self._redraw()
        return widgets.VBox([self.controls_box(), self.note, self.image])

    def controls_box(self) -> widgets.Widget:
        """How the controls are laid out (a wrapping row unless a subclass says otherwise)."""
        return widgets.HBox(
            list(self.controls.values()), layout=widgets.Layout(flex_flow="row wrap")
        )

    def describe(self) -> str:
        """The figure in words, for readers who cannot see it (the static PNG's alt text).

        What the explorer shows (the first paragraph of its class docstring), the axes of each
        panel, the numbers its frame writes (titles, readouts) and the controls' values.
        """
        summary = " ".join((type(self).__doc__ or "").split("\n\n")[0].split())
        panels = [words for ax in self.fig.axes if (words := axes_words(ax))]
        written = self.readouts()
        settings = ", ".join(
            f"{control.description or name} = {control.value}"
            for name, control in self.controls.items()
        )
        parts = [summary, *(f"Panel: {words}." for words in panels)]
        if written:
            parts.append("Shown now: " + "; ".join(written) + ".")
        parts.append(f"Controls: {settings}.")
        return " ".join(parts)

    def readouts(self) -> list[str]:
        """The words and numbers the current frame writes, for :meth:`describe`: by default the
        texts that move with the frame (titles, readouts), those of a word or more."""
        texts = (
            " ".join(artist.get_text().split())
            for artist in getattr(self.fig, "moving", [])
            if isinstance(artist, Text) and artist.get_visible()
        )
        return [text for text in texts if len(text) > 3]

    def _ipython_display_(self) -> None:
        widget = self.widget()  # draws the first frame, so that describe() tells of it
        display_with_fallback(widget, self.fig, self.describe())


def axes_words(ax) -> str:
    """One panel in words: its title, then what its y axis shows against its x axis."""
    title = " ".join(ax.get_title().split())
    x, y = (" ".join(label.split()) for label in (ax.get_xlabel(), ax.get_ylabel()))
    axes = f"{y} against {x}" if x and y else x or y
    return ": ".join(part for part in (title, axes) if part)


def slice_networks(
    X: np.ndarray | None,
    y: np.ndarray | None,
    params: Mapping[str, np.ndarray] | None,
    order: tuple[str, ...] = ("trained", "initial"),
) -> tuple[np.ndarray, np.ndarray, dict[str, dict[str, np.ndarray]], list[tuple[str, str]]]:
    """The data and the networks a loss-slice explorer cuts, with the options of its toggle.

    Without ``params``: the example network (``refimpl.examples.example_network``), trained and
    at initialisation, offered in ``order``. With ``params``: that one network, named "given".
    ``X`` and ``y`` default to the example data.
    """
    example_X, example_y, example_params = example_network()
    X = example_X if X is None else np.asarray(X, dtype=np.float64)
    y = example_y if y is None else np.asarray(y, dtype=np.float64)
    if params is None:
        labels = {"trained": "trained", "initial": "at initialisation"}
        return X, y, example_params, [(labels[name], name) for name in order]
    given = {key: np.asarray(value, dtype=np.float64) for key, value in params.items()}
    return X, y, {"given": given}, [("given", "given")]
