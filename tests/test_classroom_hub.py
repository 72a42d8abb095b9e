"""The classroom end to end: a real JupyterHub, nbgrader's exchange, two students in Chromium.

The instructor releases 01_neuron through the exchange. Two Unix students log in to a
JupyterHub started from ``course/jupyterhub_config.py`` (configurable-http-proxy, a dummy
authenticator, the local process spawner), fetch it from the Assignment List; one solves it
(saved through the server's contents API, as JupyterLab saves), one leaves it blank after a Run
All (the course runs in their kernel, as their user, and the first stub stops it), both submit
from the browser. One of them also runs Python of their own to submit in the other's name and
to read what is not theirs. The instructor collects (the forgery refused), autogrades through
the trusted grader and returns the feedback; each student fetches their own feedback in the
Assignment List and sees their score, and cannot reach the other's.

Screenshots go to test-artifacts/hub/: each student's Assignment List after submitting, and
the fetched feedback. Skips with a message where the hub cannot run (not root, no proxy, no
Chromium); with BACKPROP_COURSE_REQUIRE_SERVERS=1 (``.ci/run``) it fails instead.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import tempfile
from pathlib import Path
from types import SimpleNamespace

import pytest
from hub_tools import (
    HOW_TO_ENABLE,
    PASSWORD,
    Hub,
    Stopwatch,
    attempts_as,
    hub_problem,
    run_as,
    student_python,
    unix_students,
)
from server_tools import unavailable

from autograder.grading import isolation
from browser_tools import (
    ARTIFACTS,
    STDERR_MIME,
    chromium,
    error_outputs,
    menu,
    open_notebook,
    run_all,
)
from browser_tools import require as require_browser
from notebook_tools import copy_course, learner_notebook, nbgrader_meta, read

pytestmark = [pytest.mark.browser, pytest.mark.notebook]

SHOTS = ARTIFACTS.parent / "hub"
ASSIGNMENT = "01_neuron"
LIST = "#assignments"  # the Assignment List's panel
WAIT = 120_000  # ms: a spawn, a fetch, a submit on a busy 2-core machine
ISOLATION_ENV = "BACKPROP_COURSE_REQUIRE_ISOLATION"


@pytest.fixture(scope="module")
def browser():
    with chromium() as launched:
        yield launched


@pytest.fixture
def classroom():
    """The instructor's course (mode 700) in a temporary folder every student can enter,
    two Unix students, and the hub; yields (hub, {name: home}) or why it cannot run."""
    if problem := hub_problem():
        yield problem
        return
    folder = Path(tempfile.mkdtemp(prefix="bpc-hub-"))
    os.chmod(folder, 0o755)
    course = copy_course(folder / "course", [ASSIGNMENT])
    shutil.copy2(Path(__file__).resolve().parents[1] / "course" / "jupyterhub_config.py", course)
    os.chmod(course, 0o700)
    suffix = secrets.token_hex(2)
    hub = Hub(folder, course, folder / "exchange", student_python(folder / "student-python"))
    try:
        with unix_students([f"alice-{suffix}", f"bob-{suffix}"], folder / "homes") as homes:
            hub.start()
            try:
                yield hub, homes
            finally:
                hub.stop()
                SHOTS.mkdir(parents=True, exist_ok=True)
                shutil.copy2(hub.log, SHOTS / "jupyterhub.log")  # for a failure's story
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def log_in(browser, hub: Hub, name: str):
    """A page of the student's JupyterLab, logged in through the hub's login form."""
    page = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
    page.goto(f"{hub.url}/hub/login")
    page.fill("#username_input", name)
    page.fill("#password_input", PASSWORD)
    page.click("#login_submit")
    page.wait_for_url(re.compile(rf"/user/{re.escape(name)}/lab"), timeout=WAIT)
    page.wait_for_selector("#jp-main-dock-panel", timeout=WAIT)
    return page


def assignment_list(page):
    """Open the Assignment List (menu Nbgrader); its panel once it has listed the course."""
    menu(page, "Nbgrader", "Assignment List")
    panel = page.locator(LIST)
    panel.locator("#released_assignments_list, #fetched_assignments_list").first.wait_for(
        timeout=WAIT)
    return panel


def row(panel, section: str, text: str):
    """The row of ``section`` (released, fetched, submitted) that mentions ``text``."""
    rows = panel.locator(f"#{section}_assignments_list .list_item", has_text=text)
    rows.first.wait_for(timeout=WAIT)
    return rows.first


def save_solution(page, hub: Hub, name: str, course: Path) -> None:
    """Put the solved notebook where the fetch put the student's copy, through the server's
    contents API with the page's cookies (what JupyterLab's Save does)."""
    path = f"{ASSIGNMENT}/{ASSIGNMENT}.ipynb"
    api = f"{hub.url}/user/{name}/api/contents/{path}"
    fetched = page.request.get(api)
    assert fetched.ok, f"{name}'s fetched notebook is not at ~/{path}: {fetched.status}"
    saved = page.request.put(api, headers=xsrf_headers(page), data=json.dumps(
        {"type": "notebook", "format": "json", "content": learner_notebook(course, ASSIGNMENT)}))
    assert saved.ok, f"saving {name}'s solution failed: {saved.status} {saved.text()[:300]}"


def xsrf_headers(page) -> dict[str, str]:
    """What the student's server wants with a request that changes something."""
    return {"X-XSRFToken": next(c["value"] for c in page.context.cookies()
                                if c["name"] == "_xsrf")}


def whole_notebook(page, hub: Hub, name: str) -> None:
    """The student's setting that renders every cell (browser_tools.WHOLE_NOTEBOOK), so that
    the prompts and outputs of all cells are in the page, through the settings API."""
    settings = page.request.put(
        f"{hub.url}/user/{name}/lab/api/settings/@jupyterlab/notebook-extension:tracker",
        headers=xsrf_headers(page), data=json.dumps({"raw": json.dumps(
            {"windowingMode": "none"})}))
    assert settings.ok, f"{name}'s settings: {settings.status} {settings.text()[:300]}"


def run_the_fetched_notebook(page, hub: Hub, name: str) -> dict[int, str]:
    """Open the fetched notebook in a second tab and Run All, as the student does first; the
    cells' error outputs."""
    whole_notebook(page, hub, name)
    tab = page.context.new_page()
    server = SimpleNamespace(
        notebook_url=lambda path: f"{hub.url}/user/{name}/lab/tree/{path}")
    open_notebook(tab, server, f"{ASSIGNMENT}/{ASSIGNMENT}.ipynb", timeout=WAIT)
    run_all(tab, timeout=WAIT)
    # The run's end and its error's rendering are two events: wait for the error too.
    tab.locator(f'.jp-OutputArea-output[data-mime-type="{STDERR_MIME}"]').first.wait_for(
        timeout=WAIT)
    errors = error_outputs(tab)
    tab.close()
    return errors


def fetch_and_submit(page, hub: Hub, name: str, solve: bool) -> None:
    panel = assignment_list(page)
    row(panel, "released", ASSIGNMENT).locator("button", has_text="Fetch").click()
    fetched = row(panel, "fetched", ASSIGNMENT)
    if solve:
        save_solution(page, hub, name, hub.course)
    else:  # the student's kernel runs the course as their own user: the stub stops Run All
        errors = run_the_fetched_notebook(page, hub, name)
        first = errors[min(errors)] if errors else ""
        assert "NotImplementedError" in first, errors
        assert not re.search(r"ModuleNotFound|ImportError|PermissionError", str(errors)), errors
    fetched.locator("button", has_text="Submit").click()
    row(panel, "submitted", ASSIGNMENT)
    page.screenshot(path=str(SHOTS / f"assignment_list_{name.split('-')[0]}.png"))


def fetch_feedback(page, name: str) -> str:
    """Fetch Feedback in the Assignment List, then "view feedback" (the file browser goes to
    the fetched folder) and open the HTML there, as a student does; the feedback's text."""
    page.reload()
    page.wait_for_selector("#jp-main-dock-panel", timeout=WAIT)
    panel = assignment_list(page)
    row(panel, "submitted", ASSIGNMENT).locator("button", has_text="Fetch Feedback").click()
    panel.locator("#submitted_assignments_list a", has_text="view feedback").first.click(
        timeout=WAIT)
    page.locator(".jp-DirListing-item", has_text=f"{ASSIGNMENT}.html").dblclick(timeout=WAIT)
    viewer = page.frame_locator(".jp-HTMLViewer iframe").first
    score = viewer.get_by_text(re.compile(r"\(Score: ")).first
    score.wait_for(timeout=WAIT)
    page.screenshot(path=str(SHOTS / f"feedback_{name.split('-')[0]}.png"))
    return viewer.locator("body").inner_text()


def forge(hub: Hub, forger: str, victim: str) -> str:
    """As ``forger``'s Unix user, with Python of their own, submit in ``victim``'s name an
    empty copy of the forger's fetched notebook, dated later than the victim's submit; the
    forged folder's name."""
    inbound = hub.exchange / "backprop-course" / "inbound"
    script = f"""
import json, os, shutil, time
stamp = time.strftime("%Y-%m-%d %H:%M:%S.000000 UTC", time.gmtime(time.time() + 60))
forged = os.path.join({str(inbound)!r}, f"{victim}+{ASSIGNMENT}+" + stamp + "+forged")
os.mkdir(forged)
shutil.copy(os.path.expanduser("~/{ASSIGNMENT}/{ASSIGNMENT}.ipynb"), forged)
with open(os.path.join(forged, "timestamp.txt"), "w") as f:
    f.write(stamp)
print(json.dumps({{"forged": os.path.basename(forged)}}))
"""
    return run_as(forger, hub.python, script)["forged"]


def scores(hub: Hub) -> dict[str, tuple[float, float]]:
    """Student -> (score, max score) of the assignment, from the course's gradebook."""
    from nbgrader.api import Gradebook

    from autograder.course import gradebook_url

    with Gradebook(gradebook_url(hub.course), "backprop-course") as gb:
        return {s.student.id: (s.score, s.max_score)
                for s in gb.find_assignment(ASSIGNMENT).submissions}


def points(course: Path) -> float:
    """The assignment's points, from its release's grade cells."""
    nb = read(course / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    return sum(float(nbgrader_meta(c).get("points", 0)) for c in nb.cells
               if nbgrader_meta(c).get("grade"))


def test_a_class_on_jupyterhub(classroom, browser):
    require_browser(browser)
    if isinstance(classroom, str):
        unavailable(f"{classroom}\n{HOW_TO_ENABLE}")
    hub, homes = classroom
    alice, bob = homes
    SHOTS.mkdir(parents=True, exist_ok=True)
    clock = Stopwatch()

    released = hub.instructor("release", "--exchange", ASSIGNMENT)
    assert released.returncode == 0, released.stdout + released.stderr
    assert f"released {ASSIGNMENT} to {hub.exchange}" in released.stdout
    clock.lap("release --exchange")

    pages = {}
    for name in (alice, bob):
        pages[name] = log_in(browser, hub, name)
        clock.lap(f"{name}: log in, server started, JupyterLab loaded")
    fetch_and_submit(pages[alice], hub, alice, solve=True)
    clock.lap(f"{alice}: fetch, save the solution, submit")
    fetch_and_submit(pages[bob], hub, bob, solve=False)
    clock.lap(f"{bob}: fetch, Run All, submit")

    forged = forge(hub, bob, alice)
    snooping = attempts_as(bob, hub.python, {
        "list inbound": f"os.listdir({str(hub.exchange / 'backprop-course' / 'inbound')!r})",
        "read the victim's home": f"os.listdir({str(homes[alice])!r})",
        "read the course source": f"os.listdir({str(hub.course / 'source')!r})",
        "read the gradebook": f"open({str(hub.course / 'gradebook.db')!r}, 'rb').read()"})
    assert snooping == dict.fromkeys(snooping, "denied"), snooping

    collected = hub.instructor("collect", "--exchange", "--assignment", ASSIGNMENT)
    out = collected.stdout + collected.stderr
    assert f"imported {alice} {ASSIGNMENT}" in out, out
    assert f"imported {bob} {ASSIGNMENT}" in out, out
    assert (f"inbound/{forged}: claims to be {alice}'s submission but belongs to {bob}; "
            "refused") in out, out
    assert collected.returncode == 1, out  # the refused forgery is an error line
    clock.lap("collect --exchange")

    grade = ["autograde", ASSIGNMENT]
    if isolation.refusal() and os.environ.get(ISOLATION_ENV, "") in ("", "0"):
        grade.append("--allow-unisolated")  # a learner's machine without bubblewrap
    graded = hub.instructor(*grade)
    assert graded.returncode == 0, graded.stdout + graded.stderr
    clock.lap("autograde (trusted grader)")
    returned = hub.instructor("feedback", ASSIGNMENT, "--release")
    assert returned.returncode == 0, returned.stdout + returned.stderr
    for name in (alice, bob):
        assert f"returned the feedback of {name} {ASSIGNMENT}" in returned.stdout
    clock.lap("feedback --release")

    full = points(hub.course)
    assert scores(hub) == {alice: (full, full), bob: (0.0, full)}
    for name, score in ((alice, full), (bob, 0.0)):
        text = fetch_feedback(pages[name], name)
        assert f"{ASSIGNMENT} (Score: {score:.1f} / {full:.1f})" in text, text[:500]
        clock.lap(f"{name}: Fetch Feedback, open it")
    clock.save(SHOTS / "steps.json")

    # Bob's Assignment List holds his own feedback only, and Alice's server is closed to him.
    bob_feedback = list((homes[bob] / ASSIGNMENT / "feedback").glob("*/*.html"))
    assert len(bob_feedback) == 1
    assert f"Score: 0.0 / {full:.1f}" in bob_feedback[0].read_text()
    foreign = pages[bob].request.get(f"{hub.url}/user/{alice}/api/contents")
    assert foreign.status in (403, 404), foreign.status
    assert attempts_as(bob, hub.python, {"list feedback": "os.listdir("
                       f"{str(hub.exchange / 'backprop-course' / 'feedback')!r})"}) == {
        "list feedback": "denied"}
