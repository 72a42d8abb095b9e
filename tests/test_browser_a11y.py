"""An explorer driven from the keyboard alone, in a real JupyterLab with headless Chromium.

Notebook 01 (reference solutions filled in) runs; in its first explorer the Tab key walks through
the controls in the order they are laid out (row by row, left to right), every slider's track is
wide enough that a small drag is a small step, and the arrow keys move a focused slider and
redraw the figure. Screenshots go to test-artifacts/browser/ (a11y-*.png).

Without Chromium these tests skip and say how to enable them; with
BACKPROP_COURSE_REQUIRE_BROWSER=1 (set by .ci/run) a missing Chromium fails them.
"""

from __future__ import annotations

import pytest

from browser_tools import (
    WIDGET_OUTPUT,
    LabServer,
    cells,
    chromium,
    image_loaded,
    open_notebook,
    require,
    run_all,
    screenshot,
    with_solutions,
)
from notebook_tools import SOURCE_NOTEBOOKS, explorer_cells
from refimpl.viz._style import SLIDER_TRACK_PX

pytestmark = pytest.mark.browser

STEP = 60_000
NOTEBOOK = next(path for path in SOURCE_NOTEBOOKS if path.name == "01_neuron.ipynb")
#: Tab presses allowed to walk through one explorer's controls (a slider takes two: its handle
#: and its readout).
MAX_TABS = 20
#: Which control of the explorer holds the focus: the index of the control (slider, dropdown,
#: buttons) that contains document.activeElement, or -1 outside them, or -2 outside the widget.
FOCUSED_CONTROL = """widget => {
    const controls = [...widget.querySelectorAll(
        '.widget-slider, .widget-dropdown, .widget-toggle-buttons')];
    const active = document.activeElement;
    if (!widget.contains(active)) return -2;
    return controls.findIndex(control => control.contains(active));
}"""
#: Where each control sits on the page: [top, left] of its box.
CONTROL_BOXES = """widget => [...widget.querySelectorAll(
    '.widget-slider, .widget-dropdown, .widget-toggle-buttons')].map(control => {
        const box = control.getBoundingClientRect();
        return [box.top, box.left];
    })"""


@pytest.fixture(scope="module")
def browser():
    with chromium() as browser:
        yield browser


@pytest.fixture(scope="module")
def explorer_page(browser, tmp_path_factory):
    """A page showing notebook 01 after Run All, and the index of its first explorer cell."""
    if isinstance(browser, str):
        yield None, None
        return
    root = tmp_path_factory.mktemp("lab-root")
    with_solutions(NOTEBOOK, root / NOTEBOOK.name)
    server = LabServer(root=root, home=tmp_path_factory.mktemp("lab-home")).start()
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    context.set_default_timeout(STEP)
    page = context.new_page()
    try:
        open_notebook(page, server, NOTEBOOK.name)
        run_all(page)
        yield page, explorer_cells(NOTEBOOK)[0]
    finally:
        context.close()
        server.stop()


def explorer_widget(page, index: int):
    widget = cells(page).nth(index).locator(WIDGET_OUTPUT)
    image_loaded(widget.locator("img.widget-image").first, STEP)
    widget.scroll_into_view_if_needed()
    return widget


def visual_order(boxes: list[list[float]], row_tolerance: float = 10.0) -> list[int]:
    """Control indices in reading order: by row (tops within ``row_tolerance`` px), then left."""
    rows: list[list[int]] = []
    for index in sorted(range(len(boxes)), key=lambda i: boxes[i][0]):
        if rows and abs(boxes[rows[-1][0]][0] - boxes[index][0]) <= row_tolerance:
            rows[-1].append(index)
        else:
            rows.append([index])
    return [index for row in rows for index in sorted(row, key=lambda i: boxes[i][1])]


def tab_into(page, widget) -> None:
    """Select the explorer's cell (a click on its first label) and press Tab until the focus is
    in the explorer, as a keyboard user goes from a cell to its output."""
    widget.locator(".widget-slider .widget-label").first.click()
    for _ in range(MAX_TABS):
        page.keyboard.press("Tab")
        if widget.evaluate(FOCUSED_CONTROL) != -2:
            return
    raise AssertionError(f"{MAX_TABS} Tab presses from the cell never reach its explorer")


def tab_order(page, widget) -> list[int]:
    """The controls the Tab key visits, from the explorer's first control on (each once)."""
    tab_into(page, widget)
    visited = [widget.evaluate(FOCUSED_CONTROL)]
    for _ in range(MAX_TABS):
        page.keyboard.press("Tab")
        control = widget.evaluate(FOCUSED_CONTROL)
        if control == -2:  # past the explorer
            break
        if control >= 0 and visited[-1] != control:
            visited.append(control)
    return visited


def test_tab_walks_the_controls_in_the_order_they_are_laid_out(browser, explorer_page):
    require(browser)
    page, index = explorer_page
    widget = explorer_widget(page, index)
    boxes = widget.evaluate(CONTROL_BOXES)
    visited = tab_order(page, widget)
    screenshot(page, "a11y-focus-order")
    assert sorted(visited) == list(range(len(boxes))), f"Tab reached controls {visited}"
    assert visited == visual_order(boxes), f"Tab order {visited}; boxes {boxes}"


def test_every_slider_track_is_wide(browser, explorer_page):
    require(browser)
    page, index = explorer_page
    widget = explorer_widget(page, index)
    widths = widget.locator(".widget-slider .noUi-target").evaluate_all(
        "tracks => tracks.map(track => track.getBoundingClientRect().width)"
    )
    assert widths
    for width in widths:  # the layout leaves some px to margins: within 10% of the design
        assert width >= 0.9 * SLIDER_TRACK_PX, f"slider tracks {widths} px"


def test_arrow_keys_move_a_focused_slider_and_redraw(browser, explorer_page):
    require(browser)
    page, index = explorer_page
    widget = explorer_widget(page, index)
    tab_into(page, widget)  # onto the first slider's handle
    handle = widget.locator(".widget-slider .noUi-handle").first
    assert handle.evaluate("handle => handle === document.activeElement")
    image = widget.locator("img.widget-image").first
    before_value = handle.get_attribute("aria-valuetext")
    before_src = image.get_attribute("src")
    screenshot(page, "a11y-before-arrows")
    for _ in range(5):
        page.keyboard.press("ArrowRight")
    page.wait_for_function(
        "([image, src]) => image.getAttribute('src') !== src",
        arg=[image.element_handle(), before_src],
        timeout=STEP,
    )
    after_value = handle.get_attribute("aria-valuetext")
    assert float(after_value) > float(before_value)
    image_loaded(image, STEP)
    screenshot(page, "a11y-after-arrows")
