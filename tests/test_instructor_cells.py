"""Locked cells in submissions: stripped hidden tests are silent, real edits and deletions are
restored by nbgrader and reported as needing attention."""

import shutil
import warnings

import nbformat
import pytest

from autograder.course import COURSE_ROOT, generate_release
from autograder.instructor import grade_submission
from autograder.records import load_records

pytestmark = pytest.mark.notebook

ASSIGNMENT = "01_neuron"


def _grade_id(cell) -> str | None:
    return cell.metadata.get("nbgrader", {}).get("grade_id")


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """A correct student with the release's test cells, one who edits a test cell, one who
    deletes one; graded through nbgrader with the trusted grader."""
    course = tmp_path_factory.mktemp("course")
    shutil.copy(COURSE_ROOT / "nbgrader_config.py", course)
    shutil.copytree(COURSE_ROOT / "source" / ASSIGNMENT, course / "source" / ASSIGNMENT)
    generate_release(course, [ASSIGNMENT])
    release = {_grade_id(c): c for c in nbformat.read(
        course / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4).cells}

    def submit(student, change=lambda cells: cells):
        nb = nbformat.read(course / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
        # What a learner holds: the solution written, the test cells as released.
        cells = [nbformat.from_dict(dict(release[_grade_id(c)]))
                 if c.metadata.get("nbgrader", {}).get("grade") and c.cell_type == "code"
                 else c for c in nb.cells]
        nb.cells = change(cells)
        folder = course / "submitted" / student / ASSIGNMENT
        folder.mkdir(parents=True)
        nbformat.write(nb, folder / f"{ASSIGNMENT}.ipynb")

    def edit_test(cells):
        for cell in cells:
            if _grade_id(cell) == "test_relu":
                cell.source = "pass  # nothing to check here"
        return cells

    submit("honest")
    submit("editor", edit_test)
    submit("deleter", lambda cells: [c for c in cells if _grade_id(c) != "test_sigmoid"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = {s: grade_submission(course, ASSIGNMENT, s)
                   for s in ("honest", "editor", "deleter")}
    records = {r.student: r for r in load_records(course, ASSIGNMENT)}
    return results, records


def test_the_released_test_cells_are_not_reported_as_changed(graded):
    results, records = graded
    assert results["honest"].attention == []
    assert records["honest"].attention == []
    assert records["honest"].score == records["honest"].max_score == 7


def test_an_edited_test_cell_is_restored_and_reported(graded):
    results, records = graded
    reasons = [(a.reason, a.detail) for a in records["editor"].attention]
    assert reasons == [("tampered", "locked cell test_relu was edited; the original was "
                                    "restored")]
    assert records["editor"].score == 7  # the original check ran on a correct relu
    assert results["editor"].attention == records["editor"].attention


def test_a_deleted_test_cell_is_put_back_graded_and_reported(graded):
    _, records = graded
    record = records["deleter"]
    assert [a.reason for a in record.attention] == ["missing-cells"]
    assert "test_sigmoid" in record.attention[0].detail
    assert {c.grade_id: c.points for c in record.cells} == {
        "test_relu": 2, "test_sigmoid": 2, "test_neuron": 3}
