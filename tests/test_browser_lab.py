"""The learner's JupyterLab as ``make lab`` starts it, driven by headless Chromium.

``backprop-course lab`` runs on a fresh workspace (it delivers the student notebooks, then
starts JupyterLab with the learner's configuration, autograder/learner/lab.py). In that lab:
nbgrader's instructor tools are nowhere (no Nbgrader menu; no Formgrader, Course List,
Assignment List or Create Assignment in the menus, the command palette, the launcher or the
side bars); every notebook's toolbar has Validate, and it validates (a stub fails with the
check's message, a solved notebook passes); JupyterLab asks nothing about news; and the
server log has no error, no traceback and no warning from nbgrader. Screenshots go to
test-artifacts/browser/learner-lab*.png.

Without Chromium these tests skip and say how to enable them; with
BACKPROP_COURSE_REQUIRE_BROWSER=1 (set by .ci/run) a missing Chromium fails them.
"""

from __future__ import annotations

import json
import re
import urllib.request
from pathlib import Path

import nbformat
import pytest

from browser_tools import (
    Console,
    LearnerLab,
    check_console,
    check_server_log,
    chromium,
    menu,
    open_notebook,
    require,
    screenshot,
)
from notebook_tools import nbgrader_meta, read, source_notebook

pytestmark = pytest.mark.browser

#: How long one step may take in the page (generous: CI machines are slow and shared).
STEP = 60_000
#: What nbgrader's instructor lab plugins show: a menu, panels, a side bar and their commands.
INSTRUCTOR_TOOLS = re.compile(
    r"nbgrader|formgrader|course list|assignment list|create assignment", re.IGNORECASE
)
NOTEBOOK = "01_neuron.ipynb"
SOLVED = "01_neuron-solved.ipynb"


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium, or (a string) why it cannot run: each test then skips or fails."""
    with chromium() as browser:
        yield browser


@pytest.fixture(scope="module")
def lab(browser, tmp_path_factory):
    """``backprop-course lab`` on a fresh workspace, its Jupyter folders isolated."""
    if isinstance(browser, str):
        yield None
        return
    workspace = tmp_path_factory.mktemp("learner") / "workspace"
    server = LearnerLab(root=workspace, home=tmp_path_factory.mktemp("lab-home"))
    yield server.start(timeout=300)  # the first start builds the student release
    server.stop()


@pytest.fixture
def page(browser, lab):
    if lab is None:
        yield None
        return
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(STEP)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def console(page):
    """The page's console errors, collected from before the lab opens."""
    return None if page is None else Console().attach(page)


def labels(page, selector: str) -> list[str]:
    """The visible text and the tooltip of every element that ``selector`` matches."""
    return page.eval_on_selector_all(
        selector, "els => els.map(e => `${e.innerText} ${e.title || ''}`.trim())"
    )


def instructor_tools(texts: list[str]) -> list[str]:
    return [text for text in texts if INSTRUCTOR_TOOLS.search(text)]


def palette_entries(page) -> list[str]:
    """Every command in the command palette, with its category (opened and closed again)."""
    menu(page, "View", "Activate Command Palette")
    page.wait_for_selector(".lm-CommandPalette-input")
    entries = labels(page, ".lm-CommandPalette-header") + labels(page, ".lm-CommandPalette-item")
    page.keyboard.press("Escape")
    return entries


def setting_defaults(lab: LearnerLab, plugin: str) -> dict:
    """The defaults the server gives ``plugin``'s settings (its schema's, with overrides)."""
    request = urllib.request.Request(f"{lab.base}/lab/api/settings/{plugin}",
                                     headers={"Authorization": f"token {lab.token}"})
    with urllib.request.urlopen(request, timeout=10) as reply:
        schema = json.load(reply)["schema"]
    return {name: spec.get("default") for name, spec in schema["properties"].items()}


def test_the_lab_shows_no_instructor_tool_and_no_news(browser, lab, page, console):
    require(browser)
    page.goto(f"{lab.base}/lab/workspaces/learner-lab?token={lab.token}")
    page.wait_for_selector(".jp-LauncherCard")
    menus = labels(page, ".lm-MenuBar-itemLabel")
    assert {"File", "Run", "Kernel", "Settings"} <= set(menus), menus
    assert not instructor_tools(menus), f"menus: {menus}"
    entries = palette_entries(page)
    assert len(entries) > 100, "the command palette lists JupyterLab's own commands"
    assert not instructor_tools(entries), f"command palette: {instructor_tools(entries)}"
    launcher = labels(page, ".jp-LauncherCard")
    assert any(card.startswith("Terminal") for card in launcher), launcher
    assert not instructor_tools(launcher), f"launcher: {launcher}"
    side_bars = labels(page, ".jp-SideBar .lm-TabBar-tab")
    assert any("File Browser" in tab for tab in side_bars), side_bars
    assert not instructor_tools(side_bars), f"side bars: {side_bars}"
    assert page.locator("#nbgrader-create_assignemnt").count() == 0  # nbgrader's own id

    # JupyterLab's news question is a toast with a notification in the status bar; by now
    # (the palette came and went after the lab was restored) it would have been asked.
    notifications = page.locator(".jp-Notification-Status")
    assert notifications.inner_text().strip() == "0", "JupyterLab shows a notification"
    assert page.locator(".Toastify__toast").count() == 0
    defaults = setting_defaults(lab, "@jupyterlab/apputils-extension:notification")
    assert defaults["fetchNews"] == "false"
    assert defaults["checkForUpdates"] is False
    screenshot(page, "learner-lab")
    check_console(console)
    check_server_log(lab)


def solved_copy(student: Path, destination: Path) -> Path:
    """The learner's notebook ``student`` with the source's solutions in its solution cells
    (its test cells, with the checksums nbgrader validates, as they were delivered)."""
    solutions = {nbgrader_meta(cell).get("grade_id"): cell.source
                 for cell in source_notebook(student.stem).cells
                 if nbgrader_meta(cell).get("solution")}
    nb = read(student)
    for cell in nb.cells:
        if nbgrader_meta(cell).get("solution"):
            cell.source = solutions[nbgrader_meta(cell)["grade_id"]]
    nbformat.write(nb, destination)
    return destination


def validate(page, lab: LearnerLab, path: str) -> tuple[str, str]:
    """Open ``path``, press Validate, wait for the result; its CSS classes and text."""
    open_notebook(page, lab, path)
    button = page.locator(".jp-NotebookPanel-toolbar .validate-button")
    assert button.count() == 1, "the notebook's toolbar has no Validate button"
    button.click()
    message = page.locator("#validation-message")
    message.wait_for(timeout=180_000)  # nbgrader runs the whole notebook
    return message.get_attribute("class") or "", message.inner_text()


def test_validate_runs_the_checks_of_the_open_notebook(browser, lab, page, console):
    require(browser)
    solved_copy(lab.root / NOTEBOOK, lab.root / SOLVED)
    try:
        classes, text = validate(page, lab, NOTEBOOK)
        screenshot(page, "learner-lab.validate-stub")
        assert "validation-failed" in classes, text
        assert "not implemented yet" in text, text
        assert "Traceback" not in text, text
        page.locator(".jp-Dialog .jp-mod-accept").click()

        classes, text = validate(page, lab, SOLVED)
        screenshot(page, "learner-lab.validate-solved")
        assert "validation-success" in classes, text
        assert "Success! Your notebook passes all the tests." in text
    finally:
        for path in (NOTEBOOK, SOLVED):
            lab.shut_down_kernels(path)
    check_console(console)
    check_server_log(lab)
