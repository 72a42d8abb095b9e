"""A second `make lab` finds the learner's running JupyterLab and prints its URL instead of
starting another server on the next port."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request

from browser_tools import free_port, stop


def test_a_second_lab_reuses_the_running_server(tmp_path):
    workspace, port, token = tmp_path / "ws", free_port(), "backprop-reuse-token"
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(tmp_path / "config"),
           "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
           "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path / "lab-workspaces")}
    lab = [sys.executable, "-m", "autograder.cli", "lab", f"--workspace={workspace}",
           "--no-browser"]
    first = subprocess.Popen([*lab, f"--port={port}", "--ip=127.0.0.1",
                              f"--IdentityProvider.token={token}"],
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                url = f"http://127.0.0.1:{port}/api/status?token={token}"
                with urllib.request.urlopen(url, timeout=2):
                    break
            except OSError:
                assert time.monotonic() < deadline, "the first server did not answer"
                assert first.poll() is None, "the first server stopped"
                time.sleep(0.3)
        second = subprocess.run([*lab, f"--port={free_port()}"], capture_output=True,
                                text=True, env=env, timeout=60)
        assert second.returncode == 0, second.stderr
        assert "JupyterLab is already running on the workspace" in second.stdout
        assert f":{port}/lab?token={token}" in second.stdout
        assert first.poll() is None
    finally:
        stop(first)
