"""The learner's JupyterLab: nbgrader's instructor tools hidden, Validate kept, no news pop-up.

nbgrader installs lab and server extensions for everyone who has it: the Formgrader, the
Course List, the Assignment List, Create Assignment (a sidebar that edits cell types, ids and
points) and Validate. The instructor never uses them here (``backprop-course``'s instructor
commands drive nbgrader's Python API), and in a learner's server they only show tools that
fail ("exchange directory does not exist") and log errors. So ``backprop-course lab`` turns
them off for the learner's server alone, without touching the installed environment: it
writes a Jupyter config folder into the workspace (:data:`CONFIG_DIR`) and puts it first on
``JUPYTER_CONFIG_PATH`` for the server's process (:func:`configured`). That folder holds

``jupyter_server_config.json``
    ``ServerApp.jpserver_extensions``: nbgrader's formgrader, assignment_list and course_list
    server extensions off. A key set in config wins over the ``jupyter_server_config.d``
    files that enable them (``ServerApp.find_server_extensions`` adds only keys not set);
    validate_assignment stays, the Validate button calls it.
``labconfig/page_config.json``
    ``disabledExtensions`` and ``lockedExtensions``: the lab plugins of the instructor tools
    (:data:`INSTRUCTOR_LAB_PLUGINS`) do not start, and the plugin manager cannot turn them
    back on. JupyterLab reads ``labconfig/page_config.json`` in every Jupyter config folder,
    the first on the path winning (``jupyterlab_server.config.get_page_config``); this is the
    file ``jupyter labextension disable`` writes.
``labconfig/default_setting_overrides.json``
    New defaults for the notification settings: ``fetchNews`` "false" and
    ``checkForUpdates`` false, so that JupyterLab neither asks about Jupyter news in a pop-up
    nor calls the internet (``jupyterlab_server.settings_utils._get_overrides``). They are
    defaults: the learner can still change them in the Settings.
``nbgrader_config.py``
    What Validate reads: nbgrader's validate handler loads ``nbgrader_config.py`` from the
    Jupyter config path and the server's current folder, and warns "No nbgrader_config.py
    file found" on every Validate when there is none. It sets the per-cell time limit of
    ``backprop-course check``.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from autograder.files import write_atomic
from autograder.learner.progress import CELL_TIMEOUT
from autograder.learner.workspace import STATE_DIR

#: The learner server's Jupyter config folder, inside the workspace.
CONFIG_DIR = Path(STATE_DIR) / "jupyter"

#: nbgrader's server extensions for instructors and exchanges (on in its
#: ``jupyter_server_config.d/nbgrader.json``), off in the learner's server.
INSTRUCTOR_SERVER_EXTENSIONS = (
    "nbgrader.server_extensions.formgrader",
    "nbgrader.server_extensions.assignment_list",
    "nbgrader.server_extensions.course_list",
)
#: The server extension the Validate button calls (``/assignments/validate``): kept.
VALIDATE_SERVER_EXTENSION = "nbgrader.server_extensions.validate_assignment"

#: nbgrader's lab plugins for instructors and exchanges, off in the learner's lab: the
#: "Nbgrader" menu, the Formgrader, the Course List, the Assignment List, and the Create
#: Assignment sidebar.
INSTRUCTOR_LAB_PLUGINS = (
    "@jupyter/nbgrader:menu",
    "@jupyter/nbgrader:formgrader",
    "@jupyter/nbgrader:course-list",
    "@jupyter/nbgrader:assignment-list",
    "@jupyter/nbgrader:create-assignment",
)
#: The lab plugin that adds the Validate button to a notebook's toolbar: kept.
VALIDATE_LAB_PLUGIN = "@jupyter/nbgrader:validate-assignment"

#: Default settings of the learner's lab: no pop-up about news, no check for updates.
SETTING_DEFAULTS = {
    "@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False},
}

NBGRADER_CONFIG = '''\
"""nbgrader settings of the learner's JupyterLab, for its Validate button.

Written by `backprop-course lab` at every start (autograder/learner/lab.py): edits are lost.
"""

c = get_config()  # noqa: F821  (nbgrader injects get_config)

# Validate runs the notebook: one cell may run this long, as in `backprop-course check`.
c.Execute.timeout = {timeout}
'''


def server_config_files(server_extensions: dict[str, bool], plugins_off: Iterable[str],
                        nbgrader_config: str) -> dict[str, bytes]:
    """A Jupyter config folder's files (relative path -> content): server extensions on or
    off, lab plugins off and locked, :data:`SETTING_DEFAULTS`, and ``nbgrader_config.py``."""

    def as_json(value) -> bytes:
        return (json.dumps(value, indent=1, sort_keys=True) + "\n").encode("utf-8")

    plugins = dict.fromkeys(plugins_off, True)
    return {
        "jupyter_server_config.json": as_json(
            {"ServerApp": {"jpserver_extensions": server_extensions}}),
        "labconfig/page_config.json": as_json(
            {"disabledExtensions": plugins, "lockedExtensions": plugins}
        ),
        "labconfig/default_setting_overrides.json": as_json(SETTING_DEFAULTS),
        "nbgrader_config.py": nbgrader_config.encode("utf-8"),
    }


def config_files() -> dict[str, bytes]:
    """The files of the learner server's config folder: relative path -> content."""
    return server_config_files(
        dict.fromkeys(INSTRUCTOR_SERVER_EXTENSIONS, False), INSTRUCTOR_LAB_PLUGINS,
        NBGRADER_CONFIG.format(timeout=math.ceil(CELL_TIMEOUT)))  # nbclient: whole seconds


def write_files(folder: Path, files: dict[str, bytes]) -> Path:
    """Write ``files`` (relative path -> content) into ``folder``, each one only when it
    changed; return the folder."""
    for name, content in files.items():
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.is_file() or path.read_bytes() != content:
            write_atomic(path, content)
    return folder


def write_config(workspace: Path) -> Path:
    """Write (or bring up to date) the learner server's config folder; return its path."""
    return write_files(Path(workspace) / CONFIG_DIR, config_files())


@contextmanager
def configured(workspace: Path) -> Iterator[Path]:
    """While inside, Jupyter applications of this process read the learner's config folder
    before every other one (kernels the server starts inherit it); yields the folder."""
    folder = write_config(workspace)
    previous = os.environ.get("JUPYTER_CONFIG_PATH")
    os.environ["JUPYTER_CONFIG_PATH"] = os.pathsep.join(filter(None, [str(folder), previous]))
    try:
        yield folder
    finally:
        if previous is None:
            os.environ.pop("JUPYTER_CONFIG_PATH", None)
        else:
            os.environ["JUPYTER_CONFIG_PATH"] = previous
