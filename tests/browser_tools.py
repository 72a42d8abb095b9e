"""Helpers for the real-browser tests: Chromium, an isolated JupyterLab server, notebook pages.

JupyterLab runs as a subprocess on a free loopback port with a token and its own config,
runtime, settings and workspace folders, so the tests neither read nor change the machine's
Jupyter setup. Playwright drives Debian's Chromium (Playwright's own browser download is not
used). Every wait is a condition polled with a timeout, never a fixed sleep.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import pytest

from autograder.cli import jupyterlab_argv

#: Set (to anything but "" or "0") where the browser tests must run: a missing Chromium fails.
REQUIRE_ENV = "BACKPROP_COURSE_REQUIRE_BROWSER"
#: Optional path to a Chromium binary (default: /usr/bin/chromium, or chromium on PATH).
CHROMIUM_ENV = "BACKPROP_COURSE_CHROMIUM"
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts" / "browser"
HOW_TO_ENABLE = (
    "The real-browser tests need Chromium and Playwright. To run them, install Chromium "
    f"(Debian/Ubuntu: `sudo apt-get install chromium`, or set {CHROMIUM_ENV} to a Chromium "
    "binary) and the test extra (`.venv/bin/pip install -e '.[test]'` brings playwright). "
    f"Set {REQUIRE_ENV}=1 to make a missing browser a failure instead of a skip (CI does)."
)

#: JupyterLab user setting: every cell rendered in the DOM (no windowing), so that cell ``i`` of
#: the notebook is ``.jp-Notebook .jp-Cell`` number ``i``.
WHOLE_NOTEBOOK = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
}
#: JupyterLab user settings for the tests: no news/update pop-up (it covers the notebook and
#: asks for network), and :data:`WHOLE_NOTEBOOK`.
LAB_SETTINGS = {
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
        "fetchNews": "false",
        "checkForUpdates": False,
    },
    **WHOLE_NOTEBOOK,
}

#: Browser console errors that are not about the course and are ignored (each one explained).
CONSOLE_NOISE = [
    re.compile(r"favicon", re.I),  # a missing icon
    # A request Chromium itself blocks or that has no network here (fonts, CDNs, news feeds):
    re.compile(r"net::ERR_(BLOCKED_BY_CLIENT|INTERNET_DISCONNECTED|NAME_NOT_RESOLVED|"
               r"CONNECTION_REFUSED|ADDRESS_UNREACHABLE|NETWORK_CHANGED)"),
]
#: Console errors about widgets: each one fails the test.
WIDGET_ERROR = re.compile(r"widget|ipywidgets|model not found|\bcomms?\b", re.I)

STDERR_MIME = "application/vnd.jupyter.stderr"
#: The status-bar item with the notebook's kernel and its state: "Python 3 (ipykernel) | Idle".
KERNEL_STATUS = '.jp-StatusBar-TextItem[title^="Change kernel"]'
#: One output that holds a widget view (ipywidgets 8 in JupyterLab 4).
WIDGET_OUTPUT = ".jp-OutputArea-output:has(> .jupyter-widgets)"


# ---------------------------------------------------------------------------------------
# Chromium
# ---------------------------------------------------------------------------------------


def browser_required() -> bool:
    return os.environ.get(REQUIRE_ENV, "") not in ("", "0")


def unavailable(reason: str):
    """Skip, or fail where the browser tests are required (CI), saying how to enable them.

    Call it from the test itself, so that a required browser that is missing makes the test
    FAIL (a fixture that fails only makes a setup error).
    """
    message = f"{reason}\n{HOW_TO_ENABLE}"
    if browser_required():
        pytest.fail(f"{REQUIRE_ENV} is set but the browser tests cannot run: {message}",
                    pytrace=False)
    pytest.skip(message)


def require(browser) -> None:
    """First line of a browser test: skip, or fail where required, when ``browser`` (from
    :func:`chromium`) is the reason it cannot run."""
    if isinstance(browser, str):
        unavailable(browser)


def find_chromium() -> str | None:
    configured = os.environ.get(CHROMIUM_ENV)
    if configured:
        return configured if Path(configured).is_file() else None
    if Path("/usr/bin/chromium").is_file():
        return "/usr/bin/chromium"
    return shutil.which("chromium") or shutil.which("chromium-browser")


def browser_problem() -> str | None:
    """Why the browser tests cannot run here (None when Playwright and Chromium are there)."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "The Python package playwright is not installed."
    if find_chromium() is None:
        where = os.environ.get(CHROMIUM_ENV) or "/usr/bin/chromium (nor chromium on PATH)"
        return f"Chromium not found: {where}."
    return None


def launch_chromium(playwright):
    """Headless Chromium, or the reason it did not start (a string)."""
    executable = find_chromium()
    try:
        return playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
    except Exception as error:  # a broken or sandboxed install: say what Playwright said
        return f"Chromium at {executable} did not start: {str(error)[:800]}"


@contextlib.contextmanager
def chromium():
    """Headless Chromium (closed on exit), or, as a string, why it cannot run here: a test
    module's ``browser`` fixture yields it, and each test calls :func:`unavailable` with it."""
    problem = browser_problem()
    if problem is not None:
        yield problem
        return
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            yield browser
        finally:
            if not isinstance(browser, str):
                browser.close()


# ---------------------------------------------------------------------------------------
# Notebooks to serve
# ---------------------------------------------------------------------------------------

HIDDEN_TESTS = re.compile(
    r"[ \t]*### BEGIN HIDDEN TESTS.*?### END HIDDEN TESTS[ \t]*\n?", flags=re.DOTALL
)


def with_solutions(source: Path, destination: Path) -> Path:
    """The learner's notebook with every solution filled in: the source without hidden tests."""
    nb = nbformat.read(source, as_version=4)
    for cell in nb.cells:
        cell.source = HIDDEN_TESTS.sub("", cell.source).rstrip("\n")
    destination.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, destination)
    return destination


# ---------------------------------------------------------------------------------------
# JupyterLab
# ---------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def stop(process: subprocess.Popen) -> bytes:
    """Terminate a server started by a test (kill it after 20 s); its output."""
    process.terminate()
    try:
        return process.communicate(timeout=20)[0] or b""
    except subprocess.TimeoutExpired:
        process.kill()
        return process.communicate()[0] or b""


@dataclass
class LabServer:
    """A JupyterLab server with its own Jupyter folders, serving ``root``."""

    root: Path
    home: Path  # holds the config, runtime, settings and workspace folders and the log
    port: int = field(default_factory=free_port)
    token: str = field(default_factory=lambda: os.urandom(12).hex())
    process: subprocess.Popen | None = None
    #: The JupyterLab user settings written before the start.
    settings: dict = field(default_factory=lambda: LAB_SETTINGS)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.home / "jupyterlab.log"

    def log_tail(self, chars: int = 4000) -> str:
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return "(no log)"

    def command(self, extra: list[str]) -> list[str]:
        """The command that starts the server; ``extra``: options for JupyterLab."""
        return [sys.executable, "-m", "jupyterlab", *jupyterlab_argv(self.root, extra)]

    def start(self, timeout: float = 90, attempts: int = 3) -> LabServer:
        """Start the server and wait until its API answers; on a port that another process
        took meanwhile, try again on another free port."""
        settings = self.home / "settings"
        for name, values in self.settings.items():
            path = settings / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(values))
        env = {
            **os.environ,
            "JUPYTER_CONFIG_DIR": str(self.home / "config"),
            "JUPYTER_RUNTIME_DIR": str(self.home / "runtime"),
            "JUPYTERLAB_SETTINGS_DIR": str(settings),
            "JUPYTERLAB_WORKSPACES_DIR": str(self.home / "workspaces"),
            "PYTHONUNBUFFERED": "1",
        }
        for attempt in range(attempts):
            if attempt:
                self.port = free_port()
            extra = [
                "--no-browser",
                "--ip=127.0.0.1",
                f"--port={self.port}",
                "--ServerApp.port_retries=0",  # this port or none: the tests' URLs use it
                f"--IdentityProvider.token={self.token}",
            ]
            with self.log.open("wb") as log:
                self.process = subprocess.Popen(
                    self.command(extra), stdout=log, stderr=subprocess.STDOUT, env=env,
                    cwd=self.home,
                )
            if self._answers(timeout):
                return self
            if "already in use" not in self.log_tail():
                break
        self.stop()
        raise RuntimeError(f"JupyterLab did not start (exit status {self.process.returncode}):\n"
                           f"{self.log_tail()}")

    def _answers(self, timeout: float) -> bool:
        """Poll the API until it answers (True) or the server exits or times out (False)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                self.api("GET", "status")
                return True
            except OSError:
                time.sleep(0.2)  # the polling interval
        return False

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def api(self, method: str, path: str, timeout: float = 10):
        request = urllib.request.Request(
            f"{self.base}/api/{path}",
            method=method,
            headers={"Authorization": f"token {self.token}"},
        )
        with urllib.request.urlopen(request, timeout=timeout) as reply:
            body = reply.read()
        return json.loads(body) if body else None

    def shut_down_kernels(self, path: str) -> None:
        """End the sessions (and kernels) of the notebook at ``path`` (relative to ``root``)."""
        for session in self.api("GET", "sessions"):
            if session.get("path") == path:
                with contextlib.suppress(urllib.error.HTTPError):  # already gone
                    self.api("DELETE", f"sessions/{session['id']}", timeout=30)

    def notebook_url(self, path: str) -> str:
        # A workspace of its own per notebook: JupyterLab restores nothing else into the page.
        workspace = re.sub(r"[^A-Za-z0-9]+", "-", path)
        return f"{self.base}/lab/workspaces/{workspace}/tree/{path}?token={self.token}"


@dataclass
class LearnerLab(LabServer):
    """JupyterLab started as ``make lab`` starts it: ``backprop-course lab`` on the workspace
    ``root`` (delivered or updated first), with the learner's own configuration. Only
    :data:`WHOLE_NOTEBOOK` is set for the tests: the news pop-up must be off by the course's own
    settings."""

    settings: dict = field(default_factory=lambda: WHOLE_NOTEBOOK)

    def command(self, extra: list[str]) -> list[str]:
        return [sys.executable, "-m", "autograder.cli", "lab", f"--workspace={self.root}", *extra]


#: The level of a server-log message: "[W 2026-11-02 10:00:00.123 ServerApp] ..." is a warning.
LOG_LEVEL = re.compile(r"^\[([DIWEC]) \S+ \S+ [^\]]+\] ")
#: A warning or error that nbgrader logs through its own handler: "[NbGrader | WARNING] ...".
NBGRADER_LOG_PROBLEM = re.compile(r"^\[NbGrader \| (WARNING|ERROR|CRITICAL)\]")
#: Server-log warnings that are not about the course (each one explained); any other warning,
#: every error and every traceback is a problem.
SERVER_LOG_NOISE = [
    # JupyterLab opens a notebook that nobody signed (the course ships no outputs to trust):
    re.compile(r"Notebook \S+ is not trusted"),
    # jupyter_server's default ping timeout is longer than tornado allows; tornado shortens it:
    re.compile(r"websocket_ping_timeout \(\d+\) cannot be longer than"),
]


def log_problems(log: str) -> list[str]:
    """The lines of a JupyterLab server log that report a problem: an error, an unexplained
    warning (:data:`SERVER_LOG_NOISE`), nbgrader's own warnings, the first line of a traceback."""
    problems = []
    for line in log.splitlines():
        level = LOG_LEVEL.match(line)
        level = level[1] if level else None
        explained = any(noise.search(line) for noise in SERVER_LOG_NOISE)
        if (
            "Traceback (most recent call last)" in line
            or NBGRADER_LOG_PROBLEM.match(line)
            or level in ("E", "C")
            or (level == "W" and not explained)
        ):
            problems.append(line)
    return problems


def check_server_log(server: LabServer) -> None:
    """Fail with the problems of ``server``'s log so far (:func:`log_problems`)."""
    problems = log_problems(server.log.read_text(errors="replace"))
    assert not problems, (
        "the server log reports problems (add a warning to browser_tools.SERVER_LOG_NOISE "
        "only if it is unrelated to the course):\n" + "\n".join(problems)
        + f"\n\nThe log ends with:\n{server.log_tail()}"
    )


# ---------------------------------------------------------------------------------------
# A notebook in the page
# ---------------------------------------------------------------------------------------

#: True once a run started by the caller has finished: the prompts differ from ``before``
#: (the prompts when the run was asked for), no cell is running or queued ("[*]"), and the
#: kernel is idle. (The notebook's execution indicator alone says idle too early.)
RUN_FINISHED = """({before, status}) => {
    const prompts = [...document.querySelectorAll('.jp-Notebook .jp-CodeCell .jp-InputPrompt')]
        .map(prompt => prompt.textContent.trim());
    const kernel = document.querySelector(status);
    return prompts.some((p, i) => p !== before[i]) && !prompts.some(p => p.includes('*'))
        && kernel !== null && /\\| Idle$/.test(kernel.textContent.trim());
}"""


@dataclass
class Console:
    """The page's console errors and uncaught exceptions."""

    errors: list[str] = field(default_factory=list)

    def attach(self, page) -> Console:
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda error: self.errors.append(f"uncaught: {error}"))
        return self

    def problems(self) -> list[str]:
        """Errors that are not listed as noise in :data:`CONSOLE_NOISE`."""
        return [e for e in self.errors if not any(noise.search(e) for noise in CONSOLE_NOISE)]

    def widget_errors(self) -> list[str]:
        return [e for e in self.problems() if WIDGET_ERROR.search(e)]


def check_console(console: Console) -> None:
    """Fail with the page's console errors that are not noise (:data:`CONSOLE_NOISE`)."""
    problems = console.problems()
    assert not problems, (
        "console errors (add them to browser_tools.CONSOLE_NOISE only if they are unrelated "
        "to the course):\n" + "\n".join(problems)
    )


def open_notebook(page, server: LabServer, path: str, timeout: float = 90_000) -> None:
    """Open ``path`` in JupyterLab and wait until its kernel is idle."""
    from playwright.sync_api import expect

    page.goto(server.notebook_url(path))
    page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=timeout)
    expect(page.locator(KERNEL_STATUS)).to_have_text(re.compile(r"\| Idle$"), timeout=timeout)


def menu(page, top: str, item: str) -> None:
    """Click ``item`` in the menu bar's ``top`` menu."""
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(f"^{re.escape(top)}$")).click()
    page.locator(".lm-Menu-itemLabel", has_text=re.compile(f"^{re.escape(item)}$")).click()


def code_prompts(page) -> list[str]:
    return [text.strip() for text in page.locator(
        ".jp-Notebook .jp-CodeCell .jp-InputPrompt").all_text_contents()]


def run(page, top: str, item: str, timeout: float = 180_000) -> None:
    """Choose a menu item that runs cells; wait until the run has finished."""
    before = code_prompts(page)
    menu(page, top, item)
    page.wait_for_function(
        RUN_FINISHED, arg={"before": before, "status": KERNEL_STATUS}, timeout=timeout,
        polling=250,
    )


def run_all(page, timeout: float = 180_000) -> None:
    """Run > Run All Cells, and wait until no cell runs or waits and the kernel is idle."""
    run(page, "Run", "Run All Cells", timeout)


def cells(page):
    return page.locator(".jp-Notebook .jp-Cell")


def prompts(page) -> dict[int, str]:
    """Cell index -> its input prompt ("[3]:", "[ ]:"), for code cells."""
    texts = page.eval_on_selector_all(
        ".jp-Notebook .jp-Cell",
        """cells => cells.map(cell => cell.classList.contains('jp-CodeCell')
            ? cell.querySelector('.jp-InputPrompt').textContent : null)""",
    )
    return {index: text.strip() for index, text in enumerate(texts) if text is not None}


def error_outputs(page) -> dict[int, str]:
    """Cell index -> text of its error and stderr outputs.

    JupyterLab renders both with the stderr MIME type. Both count as errors: a warning on
    stderr is red in the learner's notebook, and nbgrader fails a check cell that writes one.
    """
    texts = page.eval_on_selector_all(
        ".jp-Notebook .jp-Cell",
        f"""cells => cells.map(cell => [...cell.querySelectorAll(
                '.jp-OutputArea-output[data-mime-type="{STDERR_MIME}"]')]
            .map(output => output.innerText).join('\\n'))""",
    )
    return {index: text for index, text in enumerate(texts) if text}


def output_text(page, index: int) -> str:
    return cells(page).nth(index).locator(".jp-OutputArea").inner_text()


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path


def image_loaded(image, timeout: float) -> None:
    """Wait until ``image`` (an <img> locator) shows a decoded picture."""
    image.wait_for(state="visible", timeout=timeout)
    image.page.wait_for_function(
        "image => image.complete && image.naturalWidth > 0",
        arg=image.element_handle(),
        timeout=timeout,
    )
