"""A check in a notebook shows its teaching message, and nothing of the checks' own code: a
failure is the message with a red cross, a success a green line."""

from __future__ import annotations

import numpy as np
from IPython.core.interactiveshell import InteractiveShell

from autograder import check
from autograder.checks.types import MESSAGE_WIDTH

WRONG = "def relu(Z):\n    return np.minimum(np.asarray(Z, dtype=float), 0.0)\n"
RIGHT = "def relu(Z):\n    return np.maximum(np.asarray(Z, dtype=float), 0.0)\n"


def _run_in_ipython(capsys, source: str) -> str:
    shell = InteractiveShell.instance()
    try:
        shell.user_ns.update({"np": np, "check": check})
        shell.run_cell(source + "check.relu(relu)\n", store_history=False)
        return capsys.readouterr().out
    finally:
        InteractiveShell.clear_instance()


def test_a_failed_check_shows_only_its_message(capsys):
    out = _run_in_ipython(capsys, WRONG)
    message = check.evaluate("relu", lambda Z: np.minimum(np.asarray(Z, float), 0.0)).message
    assert "\x1b[1;31m✘ relu: case 1 of 5 failed" in out
    assert " ".join(message.splitlines()[1].split()) in " ".join(out.split())  # wrapped
    assert "Traceback" not in out
    assert "check.py" not in out
    assert "raise failure" not in out


def test_a_passed_check_is_green_in_a_notebook_and_plain_elsewhere(capsys):
    out = _run_in_ipython(capsys, RIGHT)
    assert "\x1b[32m✔ relu: 5 visible cases passed" in out
    check.relu(lambda Z: np.maximum(np.asarray(Z, float), 0.0))
    assert capsys.readouterr().out.startswith("✔ relu: 5 visible cases passed")


def test_a_long_success_line_wraps_between_words_in_a_notebook(capsys):
    out = _run_in_ipython(capsys, RIGHT)
    lines = [line.removeprefix("\x1b[32m").removesuffix("\x1b[0m") for line in out.splitlines()]
    message = check.evaluate("relu", lambda Z: np.maximum(np.asarray(Z, float), 0.0)).message
    assert len(message) > MESSAGE_WIDTH  # the labels make it long
    assert all(len(line) <= MESSAGE_WIDTH for line in lines)
    assert " ".join(" ".join(lines).split()) == " ".join(message.split())  # no word broken
