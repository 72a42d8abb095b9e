"""The ``backprop-course`` command line."""

import json
import math
import os
import re
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_markdown_cell, new_notebook

from autograder import cli
from autograder.course import CourseError
from autograder.learner import lab as learner_lab
from autograder.learner import workspace as ws_module
from autograder.learner.progress import CELL_TIMEOUT
from autograder.learner.workspace import Release, release_key
from browser_tools import free_port, stop
from notebook_tools import copy_course


def test_info_prints_versions(capsys):
    assert cli.main(["info"]) == 0
    out = capsys.readouterr().out
    assert "nbgrader" in out
    assert "numpy" in out


def test_unknown_option_is_rejected_where_nothing_is_passed_through():
    with pytest.raises(SystemExit):
        cli.main(["info", "--bogus"])


@pytest.fixture
def course(tmp_path, monkeypatch):
    """A one-notebook course whose release is made without nbgrader (`publish` a version)."""
    root = tmp_path / "course"
    (root / "source" / "00_demo").mkdir(parents=True)
    (root / "nbgrader_config.py").write_text("c = get_config()  # noqa: F821\n")
    monkeypatch.setattr(cli, "COURSE_ROOT", root)

    def publish(version):
        nb = new_notebook(cells=[new_markdown_cell(f"# Demo, version {version}")])
        nbformat.write(nb, root / "source" / "00_demo" / "00_demo.ipynb")
        student = nbformat.writes(nb).encode()
        monkeypatch.setattr(ws_module, "build_release", lambda course_root: Release(
            release_key(course_root), {"00_demo.ipynb": student}))

    publish(1)
    return publish


def test_update_says_what_it_did_and_never_overwrites_work(course, tmp_path, capsys):
    workspace = tmp_path / "ws"
    assert cli.main(["update", f"--workspace={workspace}"]) == 0
    assert capsys.readouterr().out == "backprop-course: Added 00_demo.ipynb.\n"

    assert cli.main(["update", f"--workspace={workspace}"]) == 0
    assert "the workspace is up to date (1 notebook)" in capsys.readouterr().out

    notebook = workspace / "00_demo.ipynb"
    notebook.write_text(notebook.read_text().replace("version 1", "version 1, my notes"))
    mine = notebook.read_bytes()
    course(2)
    assert cli.main(["update", f"--workspace={workspace}"]) == 0
    out = capsys.readouterr().out
    [beside] = workspace.glob("00_demo.new-*.ipynb")
    assert f"Kept your 00_demo.ipynb as it is (you changed it); the new version is beside it: " \
           f"{beside.name}." in out
    assert "reload it from disk" in out
    assert notebook.read_bytes() == mine
    assert "version 2" in beside.read_text()


def test_update_that_cannot_build_the_release_exits_2(course, tmp_path, capsys, monkeypatch):
    def broken(course_root):
        raise CourseError("nbgrader could not release 00_demo:\nboom")

    monkeypatch.setattr(ws_module, "build_release", broken)
    assert cli.main(["update", f"--workspace={tmp_path / 'ws'}"]) == 2
    assert "nbgrader could not release 00_demo" in capsys.readouterr().err


def test_lab_updates_the_workspace_then_starts_jupyterlab_there(
    course, tmp_path, capsys, monkeypatch
):
    from jupyterlab.labapp import LabApp

    started, config_paths = [], []

    def launch_instance(argv):
        started.append(argv)
        config_paths.append(os.environ.get("JUPYTER_CONFIG_PATH"))

    monkeypatch.setattr(LabApp, "launch_instance", launch_instance)
    monkeypatch.setenv("JUPYTER_CONFIG_PATH", "/elsewhere")
    workspace = tmp_path / "ws"
    assert cli.main(["lab", f"--workspace={workspace}", "--no-browser"]) == 0
    assert "Added 00_demo.ipynb." in capsys.readouterr().out
    [argv] = started
    assert argv[0] == f"--ServerApp.root_dir={workspace}"
    assert argv[-1] == "--no-browser"
    # The learner's server reads its own config folder first (learner/lab.py), the rest after.
    own = workspace / learner_lab.CONFIG_DIR
    assert config_paths == [os.pathsep.join([str(own), "/elsewhere"])]
    assert os.environ["JUPYTER_CONFIG_PATH"] == "/elsewhere"

    def broken(course_root):  # a failed update still opens the notebooks the learner has
        raise CourseError("boom")

    course(2)
    monkeypatch.setattr(ws_module, "build_release", broken)
    assert cli.main(["lab", f"--workspace={workspace}"]) == 0
    assert len(started) == 2
    assert "starting JupyterLab on the notebooks you already have" in capsys.readouterr().err


def test_lab_that_cannot_write_its_settings_says_so_and_keeps_the_notebooks(
    course, tmp_path, capsys, monkeypatch
):
    from jupyterlab.labapp import LabApp

    started = []
    monkeypatch.setattr(LabApp, "launch_instance", started.append)
    workspace = tmp_path / "ws"
    assert cli.main(["update", f"--workspace={workspace}"]) == 0
    blocker = workspace / learner_lab.CONFIG_DIR
    blocker.parent.mkdir(parents=True, exist_ok=True)
    blocker.write_text("a file where the settings folder goes")  # unwritable, even for root
    notebooks = {path: path.read_bytes() for path in workspace.glob("*.ipynb")}
    capsys.readouterr()
    assert cli.main(["lab", f"--workspace={workspace}", "--no-browser"]) == 2
    err = capsys.readouterr().err
    assert "could not write the learner's JupyterLab settings" in err
    assert "Traceback" not in err
    assert started == []
    assert {path: path.read_bytes() for path in workspace.glob("*.ipynb")} == notebooks


def nbgrader_lab_plugins() -> set[str]:
    """The plugin ids in nbgrader's installed lab extension: the ``"@jupyter/nbgrader:NAME"``
    strings of its built JavaScript."""
    from jupyter_core.paths import jupyter_path

    found = set()
    for folder in jupyter_path("labextensions"):
        for script in (Path(folder) / "@jupyter" / "nbgrader" / "static").glob("*.js"):
            found |= set(re.findall(r'"(@jupyter/nbgrader:[\w-]+)"', script.read_text("utf-8")))
    return found


def test_the_learners_lab_turns_off_every_instructor_part_of_nbgrader_and_keeps_validate(
    monkeypatch,
):
    """What nbgrader installs, against what learner/lab.py turns off: a tool that a newer
    nbgrader adds (or renames) fails this test instead of showing up in the learner's lab."""
    from jupyter_core.paths import jupyter_config_path
    from jupyter_server.extension.config import ExtensionConfigManager

    monkeypatch.delenv("JUPYTER_CONFIG_PATH", raising=False)
    installed = ExtensionConfigManager(read_config_path=jupyter_config_path())
    server = {name for name, on in installed.get_jpserver_extensions().items()
              if on and name.startswith("nbgrader")}
    assert server == {*learner_lab.INSTRUCTOR_SERVER_EXTENSIONS,
                      learner_lab.VALIDATE_SERVER_EXTENSION}
    assert nbgrader_lab_plugins() == {*learner_lab.INSTRUCTOR_LAB_PLUGINS,
                                      learner_lab.VALIDATE_LAB_PLUGIN}


def test_the_learners_config_folder_is_what_jupyter_reads(tmp_path, monkeypatch, capfd):
    """Read back through Jupyter's own loaders, as the learner's server reads it."""
    from jupyter_core.paths import jupyter_path
    from jupyter_server.serverapp import ServerApp
    from jupyter_server.services.config import ConfigManager
    from jupyterlab_server.config import get_page_config
    from nbgrader.apps import NbGrader

    monkeypatch.setenv("JUPYTER_CONFIG_DIR", str(tmp_path / "user-config"))  # not the machine's
    monkeypatch.delenv("JUPYTER_CONFIG_PATH", raising=False)
    monkeypatch.chdir(tmp_path)  # nbgrader also reads the current folder's config
    with learner_lab.configured(tmp_path / "ws") as folder:
        assert folder == tmp_path / "ws" / learner_lab.CONFIG_DIR
        server = ServerApp()
        server.load_config_file()
        server.find_server_extensions()
        nbgrader_on = {name for name, on in server.jpserver_extensions.items()
                       if on and name.startswith("nbgrader")}
        assert nbgrader_on == {learner_lab.VALIDATE_SERVER_EXTENSION}

        page = get_page_config(jupyter_path("labextensions"), None)
        assert sorted(page["disabledExtensions"]) == sorted(learner_lab.INSTRUCTOR_LAB_PLUGINS)
        assert sorted(page["lockedExtensions"]) == sorted(learner_lab.INSTRUCTOR_LAB_PLUGINS)
        overrides = ConfigManager(config_dir_name="labconfig").get("default_setting_overrides")
        assert overrides["@jupyterlab/apputils-extension:notification"] == {
            "fetchNews": "false", "checkForUpdates": False}

        validate = NbGrader()  # how nbgrader's Validate handler loads its config
        validate.load_config_file()
        assert validate.config.Execute.timeout == math.ceil(CELL_TIMEOUT)
        assert "No nbgrader_config.py" not in capfd.readouterr().err
    assert "JUPYTER_CONFIG_PATH" not in os.environ


def test_lab_passes_unknown_options_to_jupyterlab(tmp_path):
    argv = cli.jupyterlab_argv(tmp_path, ["--no-browser", "--port=9999"])
    assert argv[0] == f"--ServerApp.root_dir={tmp_path}"
    assert argv[-2:] == ["--no-browser", "--port=9999"]


def test_lab_starts_jupyterlab_in_the_workspace(tmp_path):
    """The README's first command ends in `backprop-course lab`: it must serve JupyterLab."""
    workspace = tmp_path / "ws"
    port, token = free_port(), "backprop-test-token"
    command = [
        sys.executable,
        "-m",
        "autograder.cli",
        "lab",
        f"--workspace={workspace}",
        "--no-browser",
        f"--port={port}",
        "--ip=127.0.0.1",
        f"--IdentityProvider.token={token}",
    ]
    isolated = {
        "JUPYTER_CONFIG_DIR": str(tmp_path / "config"),
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
        "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path / "lab-workspaces"),
    }
    server = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env={**os.environ, **isolated}
    )
    try:
        status = None
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and server.poll() is None:
            try:
                url = f"http://127.0.0.1:{port}/api/contents?token={token}"
                with urllib.request.urlopen(url, timeout=2) as reply:
                    status = json.load(reply)
                    break
            except OSError:
                time.sleep(0.3)
        if status is None:
            server.kill()
            output = server.communicate()[0].decode(errors="replace")
            pytest.fail(f"JupyterLab did not answer within 60 s. Its output:\n{output[-3000:]}")
        assert status["type"] == "directory"
        names = {item["name"] for item in status["content"]}
        assert "01_neuron.ipynb" in names, "the student notebooks are delivered before the start"
        lab_url = f"http://127.0.0.1:{port}/lab?token={token}"
        with urllib.request.urlopen(lab_url, timeout=5) as page:
            html = page.read()
        assert b"JupyterLab" in html
        # The widgets and nbgrader's Validate button are front-end extensions of this page.
        assert b"@jupyter-widgets/jupyterlab-manager" in html
        assert b"@jupyter/nbgrader" in html
        # What the Validate button calls: nbgrader runs the notebook and lists the failures.
        url = f"http://127.0.0.1:{port}/assignments/validate?token={token}"
        request = urllib.request.Request(url, data=b"path=01_neuron.ipynb", method="POST")
        with urllib.request.urlopen(request, timeout=120) as reply:
            validated = json.load(reply)
        assert validated["success"], validated
        assert "NotImplementedError" in json.dumps(validated["value"])
    finally:
        stop(server)


def test_release_generates_the_student_version(tmp_path, capsys):
    course = copy_course(tmp_path / "course", ["01_neuron"])
    assert cli.main(["release", "01_neuron", "--course", str(course)]) == 0
    released = course / "release" / "01_neuron" / "01_neuron.ipynb"
    assert "released 01_neuron" in capsys.readouterr().out
    text = released.read_text()
    assert "raise NotImplementedError()" in text
    assert "BEGIN SOLUTION" not in text
    assert "hidden=True" not in text


def test_release_of_an_unknown_assignment_says_which_exist(tmp_path, capsys):
    assert cli.main(["release", "99_nothing", "--course", str(cli.COURSE_ROOT)]) == 2
    err = capsys.readouterr().err
    assert "no assignment 99_nothing" in err
    assert "01_neuron" in err
