"""One autograde or feedback at a time per course: the second one stops with a message naming
the first, or waits for it (``--wait``); a killed run frees the course.

Every run here is a real process: the lock is an advisory ``flock`` on
``COURSE/.grading.lock``, which only another process can feel.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from nbformat.v4 import new_code_cell

from autograder import cli
from autograder.instructor.workflow import LOCK_FILE, course_lock
from notebook_tools import learner_notebook, released_course, submit

A = "01_neuron"
#: Holds the lock of the course ``argv[1]`` for the command ``argv[2]``, ``argv[3]`` seconds.
HOLD = """
import sys, time
from autograder.instructor.workflow import course_lock
with course_lock(sys.argv[1], sys.argv[2]):
    print("locked", flush=True)
    time.sleep(float(sys.argv[3]))
"""
SINCE = r"\(pid {pid}, since \d\d:\d\d\)"
SLEEP = 15  # seconds the slow submission sleeps: the first run holds the course that long


def hold(course: Path, command: str, seconds: float) -> subprocess.Popen:
    """A process that holds the course's lock, once it has said so."""
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(course), command, str(seconds)],
                              stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "locked"
    return holder


def backprop_course(*argv: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "autograder.cli", *argv],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


@pytest.fixture
def bare_course(course) -> Path:
    """A course folder with one submission and nothing else (nothing here gets graded)."""
    (course / "submitted" / "ada" / A).mkdir(parents=True)
    return course


def test_a_second_run_stops_at_once_and_names_the_first(bare_course, capsys):
    holder = hold(bare_course, "feedback", 120)
    try:
        assert cli.main(["autograde", "--course", str(bare_course)]) == 2
        err = capsys.readouterr().err
        assert re.search("another `backprop-course feedback` is writing the feedback of this "
                         f"course {SINCE.format(pid=holder.pid)}; wait for it or pass "
                         "--wait SECONDS", err), err
        started = time.monotonic()
        assert cli.main(["feedback", "--course", str(bare_course), "--wait", "1"]) == 2
        assert time.monotonic() - started >= 1
        err = capsys.readouterr().err
        assert re.search(f"is still writing the feedback of this course "
                         f"{SINCE.format(pid=holder.pid)} after 1 s of waiting; wait for it or "
                         "pass a longer --wait SECONDS", err), err
    finally:
        holder.kill()
        holder.communicate()
    with course_lock(bare_course, "autograde"):  # a killed run leaves the course free
        holder = json.loads((bare_course / LOCK_FILE).read_text())
        assert (holder["command"], holder["pid"]) == ("autograde", os.getpid())


def test_a_run_that_may_wait_starts_when_the_first_one_ends(bare_course):
    holder = hold(bare_course, "autograde", 1)
    told = []
    started = time.monotonic()
    with course_lock(bare_course, "feedback", wait=60, on_wait=told.append):
        waited = time.monotonic() - started
    assert 0.5 < waited < 30  # the first one held it for 1 s
    holder.communicate()
    assert len(told) == 1
    assert re.fullmatch("another `backprop-course autograde` is grading this course "
                        f"{SINCE.format(pid=holder.pid)}; waiting for it \\(at most 60 s\\)",
                        told[0]), told


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_the_lock_file_of_the_course_is_not_committed():
    root = Path(__file__).resolve().parents[1]
    ignored = subprocess.run(["git", "check-ignore", "-q", f"course/{LOCK_FILE}"], cwd=root)
    assert ignored.returncode == 0


@pytest.mark.notebook
def test_two_autogrades_at_once_never_collide(tmp_path):
    """The first grades a slow submission; a second one stops, a feedback too, and a third one
    that may wait grades after it, with no gradebook error anywhere."""
    course = released_course(tmp_path / "course", [A])
    submit(course, "honest", learner_notebook(course, A), A)
    slow = learner_notebook(course, A)
    slow.cells.insert(0, new_code_cell(f"import time\ntime.sleep({SLEEP})"))
    submit(course, "slow", slow, A)
    first = backprop_course("autograde", "--course", str(course), "--jobs", "1")
    deadline = time.monotonic() + 120
    while not (course / LOCK_FILE).exists() or str(first.pid) not in (
            course / LOCK_FILE).read_text():
        assert first.poll() is None, first.communicate()
        assert time.monotonic() < deadline
        time.sleep(0.1)
    second = backprop_course("autograde", "--course", str(course), "--jobs", "1")
    writer = backprop_course("feedback", "--course", str(course))
    third = backprop_course("autograde", "--course", str(course), "--student", "honest",
                            "--jobs", "1", "--wait", "300")
    outputs = {name: (run, *run.communicate(timeout=300)) for name, run in
               (("first", first), ("second", second), ("feedback", writer),
                ("third", third))}
    busy = (f"another `backprop-course autograde` is grading this course "
            f"{SINCE.format(pid=first.pid)}")
    for name in ("second", "feedback"):
        run, out, err = outputs[name]
        assert run.returncode == 2, (name, out, err)
        assert re.search(f"{busy}; wait for it or pass --wait SECONDS", err), (name, err)
    run, out, err = outputs["first"]
    assert run.returncode == 0, (out, err)
    assert "2 submission(s): 2 graded, 0 failed" in out
    run, out, err = outputs["third"]
    assert run.returncode == 0, (out, err)
    assert re.search(f"{busy}; waiting for it \\(at most 300 s\\)", out), out
    assert "1 submission(s): 1 graded, 0 failed" in out
    for _, out, err in outputs.values():
        assert "UNIQUE constraint" not in out + err
        assert "database is locked" not in out + err
