"""Every notebook in a real JupyterLab, driven by headless Chromium.

One JupyterLab server and one browser serve the whole module. For each notebook of the learner's
workspace with the reference solutions filled in: Run All; no cell shows an error; no console
error about widgets; every explorer widget renders, and moving one of its sliders redraws its
plot. The untouched student release of every notebook runs too: one Run All reaches its last
cell (check cells carry the ``raises-exception`` tag), only its check cells fail, and they teach
("not implemented yet") instead of dumping a traceback of the autograder; every explorer renders
from the reference and says so. Screenshots go to test-artifacts/browser/.

Without Chromium these tests skip and say how to enable them; with
BACKPROP_COURSE_REQUIRE_BROWSER=1 (set by .ci/run) a missing Chromium fails them.
"""

from __future__ import annotations

import re
import shutil

import pytest

from browser_tools import (
    KERNEL_STATUS,
    WIDGET_OUTPUT,
    Console,
    LabServer,
    cells,
    chromium,
    code_prompts,
    error_outputs,
    image_loaded,
    open_notebook,
    output_text,
    prompts,
    run_all,
    screenshot,
    unavailable,
    with_solutions,
)
from notebook_tools import (
    SOURCE_NOTEBOOKS,
    exercises,
    explorer_cells,
    is_test_cell,
    notebook_id,
    read,
    released_course,
)

pytestmark = pytest.mark.browser

#: How long one step may take in the page (generous: CI machines are slow and shared).
STEP = 60_000
#: What an explorer's note says when a notebook function failed and the reference drew the plot
#: instead (refimpl.viz.LearnerFunction): not implemented, raised, or returned a wrong shape.
FALLBACK_NOTE = "this plot uses the reference"


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium, or (a string) why it cannot run: each test then skips or fails."""
    with chromium() as launched:
        yield launched


def require(browser) -> None:
    """First line of every test: skip, or fail when required, if there is no browser."""
    if isinstance(browser, str):
        unavailable(browser)


@pytest.fixture(scope="module")
def lab(browser, tmp_path_factory):
    """JupyterLab serving the solution notebooks (and, once built, the student release)."""
    if isinstance(browser, str):
        yield None
        return
    root = tmp_path_factory.mktemp("lab-root")
    for source in SOURCE_NOTEBOOKS:
        with_solutions(source, root / source.name)
    server = LabServer(root=root, home=tmp_path_factory.mktemp("lab-home")).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def context(browser):
    if isinstance(browser, str):
        yield None
        return
    context = browser.new_context(viewport={"width": 1280, "height": 1000})
    context.set_default_timeout(STEP)
    yield context
    context.close()


@pytest.fixture
def page(context):
    if context is None:
        yield None
        return
    page = context.new_page()
    yield page
    page.close()


@pytest.fixture
def console(page):
    """The page's console errors, collected from before the notebook opens."""
    return None if page is None else Console().attach(page)


def open_and_run_all(page, lab, path: str, name: str) -> None:
    """Open ``path``, Run All; a screenshot named ``name`` shows the page afterwards (or when
    the run did not finish)."""
    try:
        open_notebook(page, lab, path)
        run_all(page)
    finally:
        screenshot(page, name)


def show(page, index: int, name: str) -> None:
    """Scroll cell ``index`` to the top of the notebook and save a screenshot as ``name``."""
    cells(page).nth(index).evaluate("cell => cell.scrollIntoView({block: 'start'})")
    screenshot(page, name)


def describe_errors(errors: dict[int, str]) -> str:
    return "\n".join(f"cell {index}:\n{text[-1500:]}" for index, text in errors.items())


def check_console(console) -> None:
    widget_errors = console.widget_errors()
    assert not widget_errors, "console errors about widgets:\n" + "\n".join(widget_errors)
    other = console.problems()
    assert not other, (
        "console errors (add them to browser_tools.CONSOLE_NOISE only if they are unrelated "
        "to the course):\n" + "\n".join(other)
    )


def uses_the_notebooks_functions(widget, index: int) -> None:
    """The explorer drew with the notebook's functions: none failed and was replaced by the
    reference (which would keep the plot working and hide the bug)."""
    text = widget.inner_text()
    assert FALLBACK_NOTE not in text.lower(), f"cell {index}: the explorer says:\n{text}"


def rendered_explorer(page, index: int):
    """The explorer widget of cell ``index``, once its picture has loaded (widget views render
    after their output arrives): one view, with a slider."""
    widget = cells(page).nth(index).locator(WIDGET_OUTPUT)
    try:
        image_loaded(widget.locator("img.widget-image").first, STEP)
    except Exception as error:
        text = cells(page).nth(index).locator(".jp-OutputArea").inner_text()
        raise AssertionError(f"cell {index} shows no explorer picture:\n{text}") from error
    assert widget.count() == 1, f"cell {index} shows {widget.count()} widget views"
    controls = widget.locator(".widget-slider, .widget-toggle-button").count()
    assert controls >= 1, f"cell {index}: no slider and no toggle button"
    return widget


def only_explorers_show_widgets(page, explorers: list[int]) -> None:
    """One widget view per explorer cell, and no widget that failed to render."""
    views = page.locator(WIDGET_OUTPUT).count()
    assert views == len(explorers), f"{views} widget views; explorer cells: {explorers}"
    shown = page.locator(".jp-Notebook .jp-OutputArea").all_inner_texts()
    broken = [t for t in shown if "Error displaying widget" in t or "Loading widget" in t]
    assert not broken, f"widgets that did not render: {broken}"


def move_a_control(page, widget) -> None:
    """Move the widget's first slider one step, or, in an explorer without sliders, press a
    toggle button that is not pressed; wait until the explorer's picture is redrawn."""
    if widget.locator(".widget-slider").count() == 0:
        press_a_toggle_button(page, widget)
    else:
        move_a_slider(page, widget)


def press_a_toggle_button(page, widget) -> None:
    """Press the first toggle button that is not pressed; wait for the picture to change."""
    button = widget.locator(".widget-toggle-button:not(.mod-active)").first
    image = widget.locator("img.widget-image").first
    before_src = image.get_attribute("src")
    label = button.inner_text()
    button.scroll_into_view_if_needed()
    button.click()
    wait_for_redraw(page, image, before_src, f"the button {label!r} was pressed")


def wait_for_redraw(page, image, before_src: str, what: str) -> None:
    """Wait until the explorer's picture ``image`` shows a new frame, after ``what``."""
    try:
        page.wait_for_function(
            "([image, src]) => image.getAttribute('src') !== src",
            arg=[image.element_handle(), before_src],
            timeout=STEP,
        )
    except Exception as error:
        raise AssertionError(f"{what}, but the plot was not redrawn") from error
    image_loaded(image, STEP)


def move_a_slider(page, widget) -> None:
    """Move the widget's first slider one step (right, or left at the maximum) and wait until
    the explorer's picture is redrawn."""
    slider = widget.locator(".widget-slider").first
    handle = slider.locator(".noUi-handle")
    image = widget.locator("img.widget-image").first
    handle.scroll_into_view_if_needed()
    # aria-valuetext holds the exact value (aria-valuenow is rounded to one decimal).
    before_value = handle.get_attribute("aria-valuetext")
    before_src = image.get_attribute("src")
    at_max = float(before_value) >= float(handle.get_attribute("aria-valuemax"))
    handle.focus()
    handle.press("ArrowLeft" if at_max else "ArrowRight")
    page.wait_for_function(
        "([handle, value]) => handle.getAttribute('aria-valuetext') !== value",
        arg=[handle.element_handle(), before_value],
        timeout=STEP,
    )
    label = slider.locator(".widget-label").inner_text()
    wait_for_redraw(page, image, before_src, f"the slider {label!r} moved from {before_value} "
                    f"to {handle.get_attribute('aria-valuetext')}")


@pytest.mark.parametrize("source", SOURCE_NOTEBOOKS, ids=notebook_id)
def test_notebook_runs_in_jupyterlab_and_its_widgets_respond(browser, lab, page, console, source):
    require(browser)
    served = lab.root / source.name
    try:
        open_and_run_all(page, lab, source.name, source.stem)

        not_run = {i: p for i, p in prompts(page).items() if not re.fullmatch(r"\[\d+\]:", p)}
        errors = error_outputs(page)
        if errors:
            show(page, min(errors), source.stem)
        assert not errors, f"cells show errors after Run All:\n{describe_errors(errors)}"
        assert not not_run, f"Run All did not run these cells (cell: prompt): {not_run}"

        first_check = next(i for i, cell in enumerate(read(served).cells) if is_test_cell(cell))
        passed = output_text(page, first_check)
        assert passed.lstrip().startswith("✔"), f"check cell {first_check} says:\n{passed}"
        show(page, first_check, f"{source.stem}.passed")  # a passed check: its green line

        explorers = explorer_cells(served)
        for index in explorers:
            uses_the_notebooks_functions(rendered_explorer(page, index), index)
        only_explorers_show_widgets(page, explorers)

        for number, index in enumerate(explorers):
            name = source.stem if number == 0 else f"{source.stem}-{number + 1}"
            show(page, index, name)  # the explorer as Run All left it
            widget = cells(page).nth(index).locator(WIDGET_OUTPUT)
            move_a_control(page, widget)
            uses_the_notebooks_functions(widget, index)
            show(page, index, f"{name}.moved")
        check_console(console)
    finally:
        lab.shut_down_kernels(source.name)


#: True once every code cell shows an execution count ("[7]:") and the kernel is idle. A Run All
#: that goes on past a failing cell can look finished early to ``run_all``: JupyterLab clears the
#: "[*]" of the cells still queued when the first one fails, and the kernel is briefly idle
#: between two cells.
EVERY_CELL_RAN = """(status) => {
    const prompts = [...document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputPrompt')]
        .map(prompt => prompt.textContent.trim());
    const kernel = document.querySelector(status);
    return prompts.every(p => /^\\[\\d+\\]:$/.test(p)) && kernel !== null
        && /\\| Idle$/.test(kernel.textContent.trim());
}"""


@pytest.fixture(scope="module")
def student_release(lab, tmp_path_factory):
    """The student release of every notebook (built by nbgrader), served at student/."""
    if lab is None:
        return None
    release = released_course(tmp_path_factory.mktemp("course")) / "release"
    for source in SOURCE_NOTEBOOKS:
        target = lab.root / "student" / source.name
        target.parent.mkdir(exist_ok=True)
        shutil.copy2(release / source.parent.name / source.name, target)
    return lab.root / "student"


def wait_until_every_cell_ran(page) -> None:
    """Wait until every code cell has run; fail naming the cells that did not."""
    try:
        page.wait_for_function(EVERY_CELL_RAN, arg=KERNEL_STATUS, timeout=2 * STEP, polling=250)
    except Exception as error:
        not_run = {i: p for i, p in prompts(page).items() if not re.fullmatch(r"\[\d+\]:", p)}
        raise AssertionError(f"Run All stopped before these cells (cell: prompt): {not_run}"
                             ) from error


def teaches(text: str, index: int) -> None:
    """A failed check of a stub shows the checks' message alone: a red cross, "not implemented
    yet", no traceback and none of the autograder's code."""
    assert "not implemented yet" in text, f"check cell {index} says:\n{text}"
    assert "engine.py" not in text, f"check cell {index} shows the grader's code:\n{text}"
    assert "Traceback" not in text, f"check cell {index} shows a traceback:\n{text}"
    assert not re.findall(r"File \S*autograder\S*", text), (
        f"check cell {index} shows the checks' own code:\n{text}")
    assert text.lstrip().startswith("✘"), f"check cell {index} says:\n{text}"


def uses_a_learner_function(cell_source: str, names: list[str]) -> bool:
    """Whether an explorer cell passes one of the notebook's exercises to the explorer."""
    return any(re.search(rf"\b{re.escape(name)}\b", cell_source) for name in names)


@pytest.mark.parametrize("source", SOURCE_NOTEBOOKS, ids=notebook_id)
def test_run_all_reaches_the_end_of_an_untouched_student_notebook(
    browser, lab, page, console, student_release, source
):
    require(browser)
    path = f"student/{source.name}"
    name = f"student-{source.stem}"
    nb = read(student_release / source.name)
    found = exercises(nb)
    checks = [exercise.test_index for exercise in found]
    try:
        try:
            open_notebook(page, lab, path)
            run_all(page)
            wait_until_every_cell_ran(page)
        finally:
            screenshot(page, name)
        counts = [int(p[1:-2]) for p in code_prompts(page)]
        assert counts == sorted(counts), f"Run All ran the cells out of order: {prompts(page)}"

        errors = error_outputs(page)
        assert set(errors) == set(checks), (
            f"only the check cells {checks} should fail in the student release:\n"
            f"{describe_errors(errors)}"
        )
        for index in checks:
            teaches(output_text(page, index), index)

        # Every explorer renders on stubs: it plots the reference and, when it was given a
        # notebook function, says so.
        explorers = explorer_cells(student_release / source.name)
        for index in explorers:
            text = rendered_explorer(page, index).inner_text()
            if uses_a_learner_function(nb.cells[index].source, [e.name for e in found]):
                assert FALLBACK_NOTE in text.lower(), f"cell {index}: the explorer says:\n{text}"
                assert "not implemented yet" in text, f"cell {index}: the explorer says:\n{text}"
        only_explorers_show_widgets(page, explorers)
        show(page, checks[0], f"{name}.checks")
        check_console(console)
    finally:
        lab.shut_down_kernels(path)
