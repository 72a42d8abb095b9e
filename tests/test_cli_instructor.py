"""The instructor's commands, end to end on one assignment: release, collect, autograde,
feedback, export, report."""

import csv
import shutil

import pytest

from autograder import cli
from notebook_tools import copy_course

pytestmark = pytest.mark.notebook

ASSIGNMENT = "01_neuron"


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """A copy of the course holding only ``ASSIGNMENT``, shared by the module's tests."""
    return copy_course(tmp_path_factory.mktemp("course"), [ASSIGNMENT])


def run(capsys, *argv) -> tuple[int, str, str]:
    status = cli.main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_the_whole_path_from_release_to_report(course, tmp_path, capsys):
    status, out, _ = run(capsys, "release", "--course", str(course))
    assert status == 0
    assert f"released {ASSIGNMENT}" in out

    inbox = tmp_path / "inbox"
    (inbox / "ada").mkdir(parents=True)
    (inbox / "bob").mkdir()
    source = course / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    shutil.copy(source, inbox / "ada" / f"{ASSIGNMENT}.ipynb")
    shutil.copy(course / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb",
                inbox / "bob" / f"{ASSIGNMENT}.ipynb")
    shutil.copy(source, inbox / "bob" / "neuron.ipynb")
    status, out, _ = run(capsys, "collect", str(inbox), "--course", str(course))
    assert status == 1  # one misnamed file
    assert "imported ada 01_neuron" in out
    assert "imported bob 01_neuron" in out
    assert "did you mean 01_neuron.ipynb?" in out

    status, out, _ = run(capsys, "autograde", "--course", str(course), "--jobs", "1")
    assert status == 0
    assert "ada 01_neuron 7/7" in out
    assert "bob 01_neuron 0/7" in out
    assert "2 submission(s): 2 graded, 0 failed, 0 need attention" in out

    status, out, _ = run(capsys, "feedback", "--course", str(course))
    assert status == 0
    assert "2 feedback file(s), 0 error(s)" in out
    html = (course / "feedback" / "bob" / ASSIGNMENT / f"{ASSIGNMENT}.html").read_text()
    assert "not implemented yet" in html
    assert "HIDDEN TESTS" not in html
    assert "hidden=True" not in html

    status, out, _ = run(capsys, "export", "--course", str(course))
    assert status == 0
    with open(course / "exports" / "exercises.csv", newline="") as stream:
        rows = {row["student_id"]: row for row in csv.DictReader(stream)}
    assert rows["ada"]["score"] == "7"
    assert rows["bob"]["test_relu"] == "0"

    status, out, _ = run(capsys, "report", ASSIGNMENT, "--course", str(course))
    assert status == 0
    assert "Class report: 01_neuron" in out
    assert (course / "reports" / ASSIGNMENT / "scores.png").stat().st_size > 1000


def test_autograde_with_nothing_submitted_says_what_to_do(tmp_path, capsys):
    status, _, err = run(capsys, "autograde", "--course", str(tmp_path))
    assert status == 2
    assert "backprop-course collect" in err


def test_collect_of_a_missing_folder_is_one_clear_line(tmp_path, capsys, course):
    status, _, err = run(capsys, "collect", str(tmp_path / "nope"), "--course", str(course))
    assert status == 2
    assert "nope" in err


def test_report_with_nothing_submitted_says_so(tmp_path, capsys):
    status, _, err = run(capsys, "report", "--course", str(tmp_path))
    assert status == 2
    assert "no submissions yet" in err


def test_a_submission_of_an_unknown_assignment_does_not_stop_the_batch(course, capsys):
    assert cli.main(["release", ASSIGNMENT, "--course", str(course)]) == 0
    for assignment in ("09_attention", ASSIGNMENT):
        folder = course / "submitted" / "zed" / assignment
        folder.mkdir(parents=True)
        shutil.copy(course / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb",
                    folder / f"{assignment}.ipynb")
    capsys.readouterr()
    status, out, _ = run(capsys, "autograde", "--course", str(course), "--student", "zed",
                         "--jobs", "1")
    assert status == 1
    assert "zed 09_attention not graded" in out
    assert "no assignment 09_attention in the course" in out
    assert "zed 01_neuron 0/7" in out
