"""The gradebook on a real PostgreSQL server: every instructor step uses it, nothing falls back.

A throwaway PostgreSQL cluster (``server_tools.Postgres``: ``initdb`` in a temporary folder, a
loopback port, a socket folder of its own) holds the gradebook of a copy of the course whose
``nbgrader_config.py`` names it (``c.CourseDirectory.db_url``). The whole instructor workflow
runs against it: release, collect, autograde (two at a time), feedback, export, the class
report and formgrader's API. The grades are read back from PostgreSQL itself, and no SQLite
file ever appears (nbgrader creates ``gradebook.db`` wherever a step misses the URL). The
command line's ``--db URL`` does the same for a course whose config names no server, and a
server that cannot be reached stops the command with one sentence, never a fallback.

Without PostgreSQL these tests skip and say how to enable them; with
BACKPROP_COURSE_REQUIRE_SERVERS=1 (``.ci/run``) they fail instead.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest
from server_tools import postgres_server, require

from autograder import cli
from autograder.course import generate_release, gradebook_url
from autograder.instructor.collect import collect
from autograder.instructor.export import export
from autograder.instructor.report import build_report
from autograder.instructor.workflow import autograde, feedback
from browser_tools import free_port, stop
from notebook_tools import copy_course, learner_notebook, read

pytestmark = pytest.mark.notebook

A = "01_neuron"
POINTS = 7.0
#: What each student scores (the solution key, a learner who solved it, the blank release).
EXPECTED = {"key": POINTS, "solver": POINTS, "blank": 0.0}

#: Each graded cell's score, per submission, as PostgreSQL has them.
GRADES_SQL = """
SELECT a.student_id, c.name, g.auto_score
FROM grade g
JOIN base_cell c ON g.cell_id = c.id
JOIN submitted_notebook n ON g.notebook_id = n.id
JOIN submitted_assignment a ON n.assignment_id = a.id
ORDER BY a.student_id, c.name
"""


@pytest.fixture(scope="module")
def postgres():
    with postgres_server() as server:
        yield server


def sqlite_files(folder: Path) -> list[Path]:
    """Every SQLite database file in ``folder`` (nbgrader's fallback is ``gradebook.db``)."""
    return sorted(p for p in folder.rglob("*") if p.is_file()
                  and p.read_bytes()[:16] == b"SQLite format 3\x00")


def write_inbox(course: Path, inbox: Path) -> None:
    for student, nb in (("key", read(course / "source" / A / f"{A}.ipynb")),
                        ("solver", learner_notebook(course, A)),
                        ("blank", read(course / "release" / A / f"{A}.ipynb"))):
        (inbox / student).mkdir(parents=True)
        (inbox / student / f"{A}.ipynb").write_text(json.dumps(nb), encoding="utf-8")


@dataclass
class Workflow:
    course: Path
    url: str
    results: list
    feedback_files: list[Path]
    feedback_errors: list[str]


@pytest.fixture(scope="module")
def workflow(postgres, tmp_path_factory) -> Workflow | str:
    """The course of the module's docstring, taken through every step with its API."""
    if isinstance(postgres, str):
        return postgres
    base = tmp_path_factory.mktemp("postgres")
    url = postgres.create_database("gradebook")
    course = copy_course(base / "course", [A])
    with (course / "nbgrader_config.py").open("a", encoding="utf-8") as config:
        config.write(f"\n# The gradebook on a PostgreSQL server\nc.CourseDirectory.db_url = "
                     f"{url!r}\n")
    generate_release(course, [A])
    write_inbox(course, base / "inbox")
    imported = collect(course, base / "inbox")
    assert not imported.errors, imported.errors
    results = autograde(course, jobs=2)
    files, errors = feedback(course, jobs=2)
    return Workflow(course, url, results, files, errors)


def test_the_course_s_config_names_the_server(postgres, workflow):
    require(postgres)
    assert gradebook_url(workflow.course) == workflow.url
    assert workflow.url.startswith("postgresql+psycopg://")


def test_autograde_writes_every_grade_into_postgres(postgres, workflow):
    require(postgres)
    assert {r.student: r.score for r in workflow.results} == EXPECTED
    assert not [r.line() for r in workflow.results if r.error]
    rows = postgres.query("gradebook", GRADES_SQL)
    scores: dict[str, float] = {}
    for student, _cell, auto_score in rows:
        scores[student] = scores.get(student, 0.0) + float(auto_score or 0)
    assert scores == EXPECTED
    cells = {cell for _, cell, _ in rows}
    assert cells == {"test_relu", "test_sigmoid", "test_neuron"}
    assert postgres.query("gradebook", "SELECT id FROM student ORDER BY id") == [
        (s,) for s in sorted(EXPECTED)]
    assert postgres.query("gradebook", "SELECT name FROM assignment") == [(A,)]


def test_no_sqlite_gradebook_appears(postgres, workflow):
    require(postgres)
    assert not (workflow.course / "gradebook.db").exists()
    assert sqlite_files(workflow.course) == []
    assert not Path("gradebook.db").exists()  # nor where the tests run


def test_feedback_reads_the_grades_from_postgres(postgres, workflow):
    require(postgres)
    assert workflow.feedback_errors == []
    assert {p.parent.parent.name for p in workflow.feedback_files} == set(EXPECTED)
    html = (workflow.course / "feedback" / "key" / A / f"{A}.html").read_text()
    assert "Score: 7.0 / 7.0" in html or "7.0 / 7.0" in html


def test_export_and_the_report_read_postgres(postgres, workflow, tmp_path):
    require(postgres)
    exported = export(workflow.course, tmp_path / "exports")
    with exported.exercises_csv.open(newline="") as stream:
        rows = {row["student_id"]: float(row["score"]) for row in csv.DictReader(stream)}
    assert rows == EXPECTED
    report = build_report(workflow.course, A, tmp_path / "reports")
    assert dict(zip(report.students, report.scores, strict=True)) == EXPECTED
    assert sqlite_files(workflow.course) == []


def test_formgrader_shows_the_grades_from_postgres(postgres, workflow, tmp_path):
    require(postgres)
    submissions = formgrader_get(workflow.course, tmp_path, f"submissions/{A}")
    assert {s["student"]: s["score"] for s in submissions} == EXPECTED
    assert sqlite_files(workflow.course) == []


# ---------------------------------------------------------------------------------------
# The command line: --db URL, and a server that is not there
# ---------------------------------------------------------------------------------------


def test_the_command_line_takes_the_database_url(postgres, tmp_path, capsys):
    require(postgres)
    url = postgres.create_database("cli")
    course = copy_course(tmp_path / "course", [A])  # its config names no database
    write = ["--course", str(course), "--db", url]
    assert cli.main(["release", A, *write]) == 0
    write_inbox(course, tmp_path / "inbox")
    assert cli.main(["collect", str(tmp_path / "inbox"), "--course", str(course)]) == 0
    assert cli.main(["autograde", *write, "--jobs", "2"]) == 0
    assert cli.main(["export", *write]) == 0
    assert cli.main(["report", A, *write]) == 0
    out = capsys.readouterr().out
    assert "3 submission(s): 3 graded, 0 failed" in out
    assert "Class report: 01_neuron" in out
    totals = postgres.query("cli", "SELECT a.student_id, SUM(g.auto_score) FROM grade g "
                                   "JOIN submitted_notebook n ON g.notebook_id = n.id "
                                   "JOIN submitted_assignment a ON n.assignment_id = a.id "
                                   "GROUP BY a.student_id")
    assert {s: float(v) for s, v in totals} == EXPECTED
    assert sqlite_files(course) == []
    assert os.environ.get("BACKPROP_COURSE_DB_URL") is None  # --db ends with the command


def test_a_server_that_cannot_be_reached_stops_autograde_without_a_fallback(
        postgres, workflow, tmp_path, capsys):
    require(postgres)
    missing = workflow.url.rsplit("/", 1)[0] + "/no_such_database"
    status = cli.main(["autograde", "--course", str(workflow.course), "--db", missing])
    err = capsys.readouterr().err
    assert status == 2
    assert "cannot open the gradebook at" in err
    assert "no_such_database" in err
    assert sqlite_files(workflow.course) == []


# ---------------------------------------------------------------------------------------


def formgrader_get(course: Path, home: Path, path: str, timeout: float = 120) -> object:
    """GET formgrader's API ``path`` from a Jupyter server started in ``course`` (formgrader
    reads the ``nbgrader_config.py`` of its working folder), then stop the server."""
    port, token = free_port(), os.urandom(12).hex()
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(home / "config"),
           "JUPYTER_RUNTIME_DIR": str(home / "runtime"), "PYTHONUNBUFFERED": "1"}
    argv = [sys.executable, "-m", "jupyter_server", "--no-browser", "--ip=127.0.0.1",
            f"--port={port}", "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
            *cli.jupyterlab_argv(course, [])]
    log = home / "formgrader.log"
    with log.open("wb") as stream:
        server = subprocess.Popen(argv, stdout=stream, stderr=subprocess.STDOUT, env=env,
                                  cwd=course)
    request = urllib.request.Request(f"http://127.0.0.1:{port}/formgrader/api/{path}",
                                     headers={"Authorization": f"token {token}"})
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                with urllib.request.urlopen(request, timeout=30) as reply:
                    return json.loads(reply.read())
            except (urllib.error.URLError, ConnectionError) as error:
                if server.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(f"formgrader did not answer ({error}):\n"
                                         f"{log.read_text(errors='replace')[-3000:]}") from None
                time.sleep(0.3)
    finally:
        stop(server)
