"""The ``backprop-course`` command line."""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from autograder import cli


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_info_prints_versions(capsys):
    assert cli.main(["info"]) == 0
    out = capsys.readouterr().out
    assert "nbgrader" in out
    assert "numpy" in out


def test_unknown_option_is_rejected_where_nothing_is_passed_through():
    with pytest.raises(SystemExit):
        cli.main(["info", "--bogus"])


def test_lab_passes_unknown_options_to_jupyterlab(tmp_path):
    argv = cli.jupyterlab_argv(tmp_path, ["--no-browser", "--port=9999"])
    assert argv[0] == f"--ServerApp.root_dir={tmp_path}"
    assert argv[-2:] == ["--no-browser", "--port=9999"]


def test_lab_starts_jupyterlab_in_the_workspace(tmp_path):
    """The README's first command ends in `backprop-course lab`: it must serve JupyterLab."""
    workspace = tmp_path / "ws"
    port, token = free_port(), "backprop-test-token"
    command = [
        sys.executable, "-m", "autograder.cli", "lab", f"--workspace={workspace}",
        "--no-browser", f"--port={port}", "--ip=127.0.0.1", f"--IdentityProvider.token={token}",
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
        assert workspace.is_dir()
        lab_url = f"http://127.0.0.1:{port}/lab?token={token}"
        with urllib.request.urlopen(lab_url, timeout=5) as page:
            assert b"JupyterLab" in page.read()
    finally:
        server.terminate()
        try:
            server.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.communicate()
