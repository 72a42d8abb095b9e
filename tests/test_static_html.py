"""Every notebook renders to static HTML with each explorer's fallback figure visible.

An explorer displays a widget view together with a PNG of its figure
(``refimpl.viz.display_with_fallback``). Where no widget state is saved, which is how JupyterLab
saves a notebook by default, nbconvert's HTML shows that PNG instead of an empty widget. Each
source notebook is executed, its widget state dropped, and exported with ``HTMLExporter``: every
explorer cell must show an ``<img>`` whose source is a PNG data URI, with an ``alt`` text that
says what the figure shows, and no cell may show an error.
"""

from __future__ import annotations

import base64
from html.parser import HTMLParser

import pytest
from nbconvert import HTMLExporter

from notebook_tools import (
    SOURCE_NOTEBOOKS,
    cell_errors,
    execute,
    explorer_cells,
    notebook_id,
    read,
)

pytestmark = pytest.mark.notebook

WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
PNG_URI = "data:image/png;base64,"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
MIN_ALT_CHARS = 120
ERROR_MIME = "application/vnd.jupyter.stderr"  # nbconvert's mark on error and stderr outputs


class CellOutputs(HTMLParser):
    """What each cell of nbconvert's HTML shows: images, widget views, error outputs."""

    def __init__(self) -> None:
        super().__init__()
        self.cell: str | None = None
        self.images: dict[str, list[str]] = {}
        self.alts: dict[str, list[str]] = {}  # the images' alt texts, in the same order
        self.widget_views: dict[str, int] = {}
        self.errors: dict[str, int] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        element_id = attributes.get("id") or ""
        if tag == "div" and element_id.startswith("cell-id="):
            self.cell = element_id.removeprefix("cell-id=")
            return
        if self.cell is None:
            return
        if tag == "img":
            self.images.setdefault(self.cell, []).append(attributes.get("src") or "")
            self.alts.setdefault(self.cell, []).append(attributes.get("alt") or "")
        elif tag == "script" and attributes.get("type") == WIDGET_VIEW:
            self.widget_views[self.cell] = self.widget_views.get(self.cell, 0) + 1
        elif attributes.get("data-mime-type") == ERROR_MIME:
            self.errors[self.cell] = self.errors.get(self.cell, 0) + 1


def widget_cells(nb) -> list[int]:
    """Code cells that displayed a widget view (the explorers)."""
    return [
        index
        for index, cell in enumerate(nb.cells)
        if cell.cell_type == "code"
        and any(WIDGET_VIEW in output.get("data", {}) for output in cell.get("outputs", []))
    ]


@pytest.mark.parametrize("source_path", SOURCE_NOTEBOOKS, ids=notebook_id)
def test_static_html_shows_every_explorer_as_a_png(source_path):
    calls = explorer_cells(source_path)
    nb = execute(read(source_path), source_path.parent)
    errors = cell_errors(nb)
    assert not errors, {index: f"{e['ename']}: {e['evalue'][:300]}" for index, e in errors.items()}
    nb.metadata.pop("widgets", None)  # saved as JupyterLab saves by default: no widget state

    body, _ = HTMLExporter().from_notebook_node(nb)
    shown = CellOutputs()
    shown.feed(body)
    assert not shown.errors, f"cells (by id) with error output in the HTML: {shown.errors}"

    explorers = widget_cells(nb)
    assert explorers == calls, f"cells calling viz.*Explorer: {calls}; showing widgets: {explorers}"
    for index in explorers:
        cell_id = nb.cells[index].id
        label = f"explorer cell {index} ({cell_id})"
        assert not shown.widget_views.get(cell_id), f"{label}: an empty widget view, not its PNG"
        images = zip(shown.images.get(cell_id, []), shown.alts.get(cell_id, []), strict=True)
        pngs, alts = [], []
        for src, alt in images:
            if src.startswith(PNG_URI):
                pngs.append(src)
                alts.append(alt)
        assert len(pngs) == 1, f"{label} shows {len(pngs)} PNG images in the HTML"
        # the text alternative says what the figure shows: its controls, not just "figure"
        assert len(alts[0]) > MIN_ALT_CHARS, f"{label}: alt text {alts[0]!r}"
        assert "Controls:" in alts[0], f"{label}: alt text {alts[0]!r}"
        data = base64.b64decode(pngs[0].removeprefix(PNG_URI), validate=True)
        assert data.startswith(PNG_SIGNATURE), f"{label}: the image is not a PNG"
        assert len(data) > 5_000, f"{label}: the PNG is only {len(data)} bytes"
