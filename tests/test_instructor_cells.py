"""Locked cells in submissions: stripped hidden tests are silent, real edits and deletions are
restored by nbgrader and reported as needing attention."""

import warnings

import pytest

from autograder.grading.records import load_records
from autograder.instructor.workflow import grade_submission
from notebook_tools import find_cell, learner_notebook, released_course, submit

pytestmark = pytest.mark.notebook

ASSIGNMENT = "01_neuron"


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """A correct student with the release's test cells, one who edits a test cell, one who
    deletes one; graded through nbgrader with the trusted grader."""
    course = released_course(tmp_path_factory.mktemp("course"), [ASSIGNMENT])

    def submit_changed(student, change=lambda nb: None):
        nb = learner_notebook(course, ASSIGNMENT)
        change(nb)
        submit(course, student, nb, ASSIGNMENT)

    def edit_test(nb):
        find_cell(nb, "test_relu").source = "pass  # nothing to check here"

    def delete_test(nb):
        nb.cells.remove(find_cell(nb, "test_sigmoid"))

    submit_changed("honest")
    submit_changed("editor", edit_test)
    submit_changed("deleter", delete_test)
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
