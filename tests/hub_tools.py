"""A real JupyterHub for the classroom test: Unix students, the course's own hub config.

- :func:`hub_problem`: why a hub with real students cannot run here (None when it can): it
  needs root (the spawner switches to each student's user, and the test creates them),
  ``useradd``, configurable-http-proxy on PATH, jupyterhub, and an interpreter every user can
  run (:func:`student_python`).
- :func:`unix_students`: Unix users with private homes (``HOME_MODE=0700``), removed after,
  with their processes.
- :func:`student_python`: an interpreter every user can run with the course (the ``.venv``
  of a checkout points at pyenv's interpreter under ``/root``, which no student may run).
- :class:`Hub`: ``jupyterhub -f COURSE/jupyterhub_config.py`` (the recipe the README gives
  instructors) with the test's overrides: a dummy authenticator with one password, loopback
  ports, and the hub's folders in the test's temporary folder.

Every wait is a condition polled with a timeout.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import subprocess
import sys
import sysconfig
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import autograder
from autograder.classroom.hub import unreachable
from browser_tools import free_port, stop

PASSWORD = "classroom-" + secrets.token_hex(4)
CHECKOUT = Path(__file__).resolve().parents[1]
PURELIB = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
PROXY = "configurable-http-proxy"
START_SECONDS = 120.0
HOW_TO_ENABLE = (
    "The JupyterHub classroom test runs as root (it creates two Unix students and the hub "
    "switches to their users), with configurable-http-proxy on PATH (`sudo npm install -g "
    "configurable-http-proxy`), jupyterhub (`pip install -e '.[test]'`) and Chromium."
)


def hub_problem() -> str | None:
    """Why the classroom hub cannot run here; None when it can."""
    if os.geteuid() != 0:
        return "The tests do not run as root."
    if shutil.which("useradd") is None or shutil.which("userdel") is None:
        return "useradd/userdel are not on PATH."
    if shutil.which(PROXY) is None:
        return f"{PROXY} is not on PATH."
    if not (Path(sys.executable).parent / "jupyterhub").exists():
        return "jupyterhub is not installed in this environment."
    if unreachable(Path(sys.executable)) and system_python() is None:
        return (f"Students cannot run {sys.executable} and there is no system python"
                f"{sys.version_info.major}.{sys.version_info.minor} they could run instead.")
    return None


# ---------------------------------------------------------------------------------------
# Students
# ---------------------------------------------------------------------------------------


@contextlib.contextmanager
def unix_students(names: list[str], homes: Path) -> Iterator[dict[str, Path]]:
    """Unix users ``names`` with homes ``homes/NAME`` only they can read; name -> home. On
    exit their processes are killed and the users removed."""
    homes.mkdir(parents=True, exist_ok=True)
    os.chmod(homes, 0o755)
    made = {}
    try:
        for name in names:
            home = homes / name
            subprocess.run(["useradd", "--create-home", "--home-dir", str(home), "--key",
                            "HOME_MODE=0700", "--shell", "/bin/sh", "--user-group", name],
                           check=True, capture_output=True)
            made[name] = home
        yield made
    finally:
        for name in made:
            subprocess.run(["pkill", "-KILL", "-u", name], capture_output=True)
            for _ in range(20):  # userdel refuses while a process of the user lives
                if subprocess.run(["userdel", name], capture_output=True).returncode in (0, 6):
                    break
                time.sleep(0.25)


def run_as(user: str, python: str, script: str, timeout: float = 60) -> dict:
    """Run the Python ``script`` as Unix ``user``; the JSON object it prints last."""
    done = subprocess.run(["setpriv", "--reuid", user, "--regid", user, "--init-groups",
                           "--reset-env", python, "-c", script],
                          capture_output=True, text=True, timeout=timeout, cwd="/")
    assert done.returncode == 0, f"{user}'s script failed:\n{done.stderr[-3000:]}"
    return json.loads(done.stdout.strip().splitlines()[-1])


def attempts_as(user: str, python: str, attempts: dict[str, str]) -> dict[str, str]:
    """Run each Python expression of ``attempts`` as Unix ``user``: label -> "denied" (a
    PermissionError) or "ALLOWED"."""
    script = "\n".join(["import json, os", "results = {}", *(
        f"try:\n    {expression}\n    results[{label!r}] = 'ALLOWED'\n"
        f"except PermissionError:\n    results[{label!r}] = 'denied'"
        for label, expression in attempts.items()), "print(json.dumps(results))"])
    return run_as(user, python, script)


# ---------------------------------------------------------------------------------------
# The students' interpreter
# ---------------------------------------------------------------------------------------


def system_python() -> str | None:
    """The system's python3.X of this version, when every user can run it."""
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    for folder in ("/usr/bin", "/usr/local/bin"):
        candidate = Path(folder) / version
        if candidate.exists() and unreachable(candidate) is None:
            return str(candidate)
    return None


def student_python(folder: Path) -> str:
    """An interpreter every user can run, with the course and its dependencies: this one when
    every user can reach it; else a venv of the system's Python that adds this environment's
    site folder (about a second); else, when this checkout is closed to other users too (a
    clone under /root), a venv with a copy of the course installed (uv: about 20 s)."""
    ours = Path(sysconfig.get_paths()["purelib"])
    course = Path(autograder.__file__).parent
    if all(unreachable(p) is None for p in (Path(sys.executable), ours, course)):
        return sys.executable
    base = system_python()
    assert base is not None, hub_problem()
    python = folder / "bin" / "python"
    if unreachable(ours) is None and unreachable(course) is None:
        subprocess.run([base, "-m", "venv", "--without-pip", str(folder)], check=True,
                       capture_output=True)
        theirs = subprocess.run([str(python), "-c", PURELIB], check=True, capture_output=True,
                                text=True).stdout.strip()
        # A site folder, not a path entry: its .pth files (the editable course) count too.
        Path(theirs, "zz_backprop_course.pth").write_text(
            f"import site; site.addsitedir({str(ours)!r})\n")
        return str(python)
    checkout = f"{CHECKOUT}[hub]"
    uv = shutil.which("uv") or CHECKOUT / ".uv" / "bin" / "uv"
    if Path(uv).exists():
        commands = [[str(uv), "venv", "--quiet", "--python", base, str(folder)],
                    [str(uv), "pip", "install", "--quiet", "--python", str(python), checkout]]
    else:
        commands = [[base, "-m", "venv", "--without-pip", str(folder)],
                    [sys.executable, "-m", "pip", "install", "--quiet", "--python", str(python),
                     checkout]]
    for command in commands:
        done = subprocess.run(command, capture_output=True, text=True)
        assert done.returncode == 0, f"{' '.join(command)}:\n{done.stderr[-2000:]}"
    return str(python)


# ---------------------------------------------------------------------------------------
# The hub
# ---------------------------------------------------------------------------------------


@dataclass
class Hub:
    """``jupyterhub -f course/jupyterhub_config.py`` on loopback, in ``folder``."""

    folder: Path
    course: Path
    exchange: Path
    python: str
    port: int = 0
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log(self) -> Path:
        return self.folder / "jupyterhub.log"

    def environment(self) -> dict[str, str]:
        """What the hub and the instructor's commands read: the exchange, the hub's folders."""
        return {**os.environ,
                "BACKPROP_COURSE_EXCHANGE": str(self.exchange),
                "BACKPROP_COURSE_HUB_STATE": str(self.folder / "hub-state"),
                "BACKPROP_COURSE_HUB_STUDENT_CONFIG": str(self.folder / "student-config"),
                "BACKPROP_COURSE_HUB_PYTHON": self.python}

    def command(self) -> list[str]:
        return [str(Path(sys.executable).parent / "jupyterhub"),
                "-f", str(self.course / "jupyterhub_config.py"),
                "--JupyterHub.authenticator_class=dummy",  # any password: the test's
                "--Authenticator.allow_all=True",
                f"--JupyterHub.bind_url=http://127.0.0.1:{self.port}/",
                f"--JupyterHub.hub_bind_url=http://127.0.0.1:{free_port()}",
                f"--ConfigurableHTTPProxy.api_url=http://127.0.0.1:{free_port()}",
                "--Spawner.start_timeout=120", "--Spawner.http_timeout=120"]

    def start(self) -> Hub:
        self.port = free_port()
        with open(self.log, "wb") as log:
            self.process = subprocess.Popen(self.command(), stdout=log, stderr=subprocess.STDOUT,
                                            env=self.environment(), cwd=self.folder)
        deadline = time.monotonic() + START_SECONDS
        while not self._answers():
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"JupyterHub did not start:\n{self.log_tail()}")
            time.sleep(0.3)
        return self

    def _answers(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/hub/api", timeout=5) as response:
                return "version" in json.load(response)
        except (OSError, urllib.error.URLError, ValueError):
            return False

    def log_tail(self, chars: int = 6000) -> str:
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return ""

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            stop(self.process)  # SIGTERM: the hub stops the students' servers and the proxy

    def instructor(self, *argv: str, timeout: float = 600) -> subprocess.CompletedProcess:
        """``backprop-course ARGV --course COURSE`` as the instructor, in the hub's setting."""
        return subprocess.run([sys.executable, "-m", "autograder.cli", *argv,
                               "--course", str(self.course)],
                              capture_output=True, text=True, env=self.environment(),
                              timeout=timeout)


class Stopwatch:
    """Seconds per step of a long test, saved beside its screenshots."""

    def __init__(self) -> None:
        self.last = time.perf_counter()
        self.laps: dict[str, float] = {}

    def lap(self, step: str) -> None:
        now = time.perf_counter()
        self.laps[step] = round(now - self.last, 2)
        self.last = now

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.laps, indent=1) + "\n")
