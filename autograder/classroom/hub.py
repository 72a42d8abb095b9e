"""The class's JupyterHub: what ``course/jupyterhub_config.py`` sets for the course.

:func:`configure` gives a hub on one machine what a class of backprop-course needs:

- every student's server is a JupyterLab that runs as the student's own Unix user
  (``LocalProcessSpawner``), so that nbgrader's exchange can tell students apart by who owns
  a file, and opens on ``/lab``;
- its Jupyter config folder (:func:`student_config_files`, written at every start of the
  hub) turns on nbgrader's Assignment List with the course's id and
  exchange, and Validate; the Formgrader, the Course List and the Create Assignment sidebar
  stay off, as in the self-paced lab (``autograder/learner/lab.py``);
- the hub refuses to start when the folders would let a student read what they must not
  (:func:`autograder.classroom.exchange.layout_problems`), or when the students cannot run
  the course's Python; it creates the exchange root with the sticky bit;
- a student's server does not start while their home folder is open to other users (nbgrader
  keeps a copy of each submission, and the secret that names its feedback, in the home).

The site's own choices (the authenticator, who may log in, the port) stay in
``jupyterhub_config.py``, where the instructor sees them.
"""

from __future__ import annotations

import math
import os
import pwd
import stat
import subprocess
import sys
from pathlib import Path

from autograder.classroom.exchange import (
    ROOT_MODE,
    Exchange,
    ExchangeError,
    exchange_of,
    layout_problems,
)
from autograder.learner.lab import (
    INSTRUCTOR_LAB_PLUGINS,
    INSTRUCTOR_SERVER_EXTENSIONS,
    VALIDATE_SERVER_EXTENSION,
    server_config_files,
    write_files,
)
from autograder.learner.progress import CELL_TIMEOUT

#: What the students' interpreter says about itself: its prefix, where it imports the course.
ENVIRONMENT_PROBE = "import sys, autograder; print(sys.prefix); print(autograder.__file__)"
#: nbgrader's server extension behind the Assignment List: on for students.
ASSIGNMENT_LIST_EXTENSION = "nbgrader.server_extensions.assignment_list"
#: The lab plugins students use on a hub: the Nbgrader menu and the Assignment List.
STUDENT_LAB_PLUGINS = ("@jupyter/nbgrader:menu", "@jupyter/nbgrader:assignment-list")
STUDENT_NBGRADER_CONFIG = '''\
"""nbgrader settings of the students' servers on the class's JupyterHub.

Written by the hub at every start (autograder/classroom/hub.py): edits are lost.
"""

c = get_config()  # noqa: F821  (nbgrader injects get_config)

# The Assignment List shows this course's assignments from this exchange.
c.CourseDirectory.course_id = {course_id!r}
c.Exchange.root = {root!r}

# Validate runs the notebook: one cell may run this long, as in `backprop-course check`.
c.Execute.timeout = {timeout}
'''


def student_config_files(exchange: Exchange) -> dict[str, bytes]:
    """The students' Jupyter config folder: relative path -> content."""
    extensions = dict.fromkeys(INSTRUCTOR_SERVER_EXTENSIONS, False)
    extensions.update({ASSIGNMENT_LIST_EXTENSION: True, VALIDATE_SERVER_EXTENSION: True,
                       "jupyterlab": True})
    plugins_off = [p for p in INSTRUCTOR_LAB_PLUGINS if p not in STUDENT_LAB_PLUGINS]
    return server_config_files(extensions, plugins_off, STUDENT_NBGRADER_CONFIG.format(
        course_id=exchange.course_id, root=str(exchange.root),
        timeout=math.ceil(CELL_TIMEOUT)))


def unreachable(path: Path) -> Path | None:
    """The first folder on the way to ``path`` (and, for a link, to what it names) that other
    users cannot enter, or ``path`` itself when they cannot read it; None when every user can
    read it (and run it, if it is a program or a folder)."""
    path = Path(path).absolute()
    for way in (path, path.resolve()):
        for folder in reversed(way.parents):
            if not os.stat(folder).st_mode & stat.S_IXOTH:
                return folder
    mode = os.stat(path).st_mode
    runnable = not mode & stat.S_IXUSR or mode & stat.S_IXOTH
    return None if mode & stat.S_IROTH and runnable else path


def students_environment(python: str) -> tuple[Path, Path]:
    """The prefix of ``python`` and the folder it imports the course from.

    Raises :class:`ExchangeError` when it cannot run or cannot import the course.
    """
    try:
        probe = subprocess.run([python, "-c", ENVIRONMENT_PROBE], capture_output=True,
                               text=True, timeout=120, cwd="/")
    except OSError as error:
        raise ExchangeError(f"The hub does not start: cannot run {python} ({error}).") from None
    if probe.returncode != 0:
        last = (probe.stderr.strip().splitlines() or ["no message"])[-1]
        raise ExchangeError(f"The hub does not start: {python} cannot import the course "
                            f"({last}); install it there with pip install '.[hub]'.")
    prefix, module = probe.stdout.strip().splitlines()[-2:]
    return Path(prefix), Path(module).parent


def prepare_exchange(exchange: Exchange) -> None:
    """Create the exchange root if it is missing, with :data:`ROOT_MODE`."""
    if not exchange.root.exists():
        exchange.root.mkdir(parents=True)
        os.chmod(exchange.root, ROOT_MODE)


def refuse_open_home(spawner) -> None:
    """``Spawner.pre_spawn_hook``: no server for a user whose home others can read."""
    try:
        home = Path(pwd.getpwnam(spawner.user.name).pw_dir)
    except KeyError:
        raise RuntimeError(f"{spawner.user.name} has no Unix account on this machine; "
                           "create it (README, Teaching on a JupyterHub)") from None
    mode = stat.S_IMODE(os.stat(home).st_mode)
    if mode & 0o077:
        raise RuntimeError(
            f"The home folder {home} is open to other users (mode {mode:o}): they could read "
            f"this student's submissions. The instructor fixes it with chmod 700 {home}.")


def configure(c, course_root: Path, state_dir: Path, student_config_dir: Path, *,
              python: str | None = None) -> Exchange:
    """Set the course's part of a JupyterHub config ``c``; return the course's exchange.

    Parameters
    ----------
    c : traitlets.config.Config
        ``get_config()`` of ``jupyterhub_config.py``.
    course_root : Path
        The instructor's nbgrader course (mode 700); its ``nbgrader_config.py`` names the
        course id and the exchange.
    state_dir : Path
        The hub's own folder (made mode 700): its database, cookie secret and pid files.
    student_config_dir : Path
        The students' Jupyter config folder, written here (readable by everyone).
    python : str, optional
        The interpreter of the students' servers (default: this one); every user must be
        able to run it, with the course installed.

    Raises
    ------
    ExchangeError
        The folders would let a student read what they must not, or the students cannot run
        ``python``.
    """
    course_root = Path(course_root).resolve()
    state_dir = Path(state_dir).resolve()
    exchange = exchange_of(course_root)
    python = python or sys.executable
    problems = layout_problems(course_root, exchange)
    prefix, package = students_environment(python)
    for needed in (Path(python), package):
        if (blocked := unreachable(needed)) is not None:
            problems.append(
                f"the students' servers run as the students, who cannot reach {needed} "
                f"({blocked} is closed to other users): install the course in a folder every "
                "user can read, such as /opt/backprop-course")
    if problems:
        raise ExchangeError("The hub does not start: " + "; ".join(problems) + ".")
    prepare_exchange(exchange)
    state_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(state_dir, 0o700)
    config_dir = write_files(Path(student_config_dir).resolve(), student_config_files(exchange))
    for path in [config_dir, *config_dir.rglob("*")]:
        os.chmod(path, 0o755 if path.is_dir() else 0o644)

    # Jupyter's data (lab extensions) and settings of the students' environment, and of this
    # one: an interpreter that adds this environment's site folder finds them only here.
    prefixes = dict.fromkeys([prefix, Path(sys.prefix)])
    c.JupyterHub.spawner_class = "localprocess"
    c.Spawner.cmd = [python, "-m", "jupyterhub.singleuser"]
    c.Spawner.default_url = "/lab"
    c.Spawner.environment = {
        "JUPYTER_CONFIG_PATH": os.pathsep.join(
            [str(config_dir), *(str(p / "etc" / "jupyter") for p in prefixes)]),
        "JUPYTER_PATH": os.pathsep.join(str(p / "share" / "jupyter") for p in prefixes),
    }
    c.Spawner.pre_spawn_hook = refuse_open_home
    c.JupyterHub.db_url = f"sqlite:///{state_dir / 'jupyterhub.sqlite'}"
    c.JupyterHub.cookie_secret_file = str(state_dir / "jupyterhub_cookie_secret")
    c.JupyterHub.pid_file = str(state_dir / "jupyterhub.pid")
    c.ConfigurableHTTPProxy.pid_file = str(state_dir / "jupyterhub-proxy.pid")
    return exchange
