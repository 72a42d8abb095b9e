"""Grade export: nbgrader's grades.csv (through its plugin API) and exercises.csv.

The course is the hand-built one of tests/gradebook_tools.py (its docstring has the table).
"""

import csv
import sqlite3
from pathlib import Path

import pytest
from nbgrader.plugins.export import CsvExportPlugin

from autograder.course import CourseError
from autograder.instructor.export import _course_id, export

EXERCISES_CSV = """\
student_id,assignment,test_relu,test_sigmoid,written,test_forward,score,max_score,needs_manual_grade
alice,01_neuron,2,2,1,,5,5,False
bob,01_neuron,0,0,,,0,5,True
carol,01_neuron,2,0,0.5,,2.5,5,False
dave,01_neuron,2,2,,,4,5,True
erin,01_neuron,2,0,1,,3,5,False
alice,02_forward,,,,3,3,3,False
"""




def test_exercises_csv_one_row_per_submission_cells_in_course_and_notebook_order(
        gradebook_course, tmp_path):
    result = export(gradebook_course, tmp_path / "exports")
    # Assignments in course order (02_forward was added to the gradebook first), cells in
    # the source notebook's order (the gradebook got them as written, sigmoid, relu); blank
    # where a written answer still waits for a manual grade.
    assert result.exercises_csv.read_text() == EXERCISES_CSV
    assert result.columns == tuple(EXERCISES_CSV.splitlines()[0].split(","))
    assert result.rows == 6
    assert result.lines() == [
        f"wrote {tmp_path / 'exports' / 'grades.csv'} (nbgrader's grades)",
        f"wrote {tmp_path / 'exports' / 'exercises.csv'} (6 submissions, 4 graded cells)"]


def test_grades_csv_is_nbgraders_own_export(gradebook_course, tmp_path):
    result = export(gradebook_course, tmp_path / "exports")
    with result.grades_csv.open(newline="") as stream:
        reader = csv.DictReader(stream)
        assert reader.fieldnames == [
            "assignment", "duedate", "timestamp", "student_id", "last_name", "first_name",
            "email", "raw_score", "late_submission_penalty", "score", "max_score"]
        rows = {(r["assignment"], r["student_id"]): (r["score"], r["max_score"])
                for r in reader}
    # Every student for every assignment; nothing submitted scores 0 (zoe, 02_forward).
    assert rows == {
        ("01_neuron", "alice"): ("5.0", "5.0"), ("01_neuron", "bob"): ("0.0", "5.0"),
        ("01_neuron", "carol"): ("2.5", "5.0"), ("01_neuron", "dave"): ("4.0", "5.0"),
        ("01_neuron", "erin"): ("3.0", "5.0"), ("01_neuron", "zoe"): ("0.0", "5.0"),
        ("02_forward", "alice"): ("3.0", "3.0"), ("02_forward", "bob"): ("0.0", "3.0"),
        ("02_forward", "carol"): ("0.0", "3.0"), ("02_forward", "dave"): ("0.0", "3.0"),
        ("02_forward", "erin"): ("0.0", "3.0"), ("02_forward", "zoe"): ("0.0", "3.0"),
    }


def test_a_new_export_replaces_the_old_one_atomically(gradebook_course, tmp_path, monkeypatch):
    out = tmp_path / "exports"
    export(gradebook_course, out)
    before = (out / "grades.csv").read_bytes()

    def half_then_fail(self, gradebook):
        Path(self.to).write_text("assignment,duedate\n01_neu")
        raise RuntimeError("disk full")

    monkeypatch.setattr(CsvExportPlugin, "export", half_then_fail)
    with pytest.raises(RuntimeError, match="disk full"):
        export(gradebook_course, out)
    assert (out / "grades.csv").read_bytes() == before  # the old export is intact
    assert sorted(p.name for p in out.iterdir()) == ["exercises.csv", "grades.csv"]

    monkeypatch.undo()
    export(gradebook_course, out)  # regenerating is allowed: exports are build outputs
    assert (out / "exercises.csv").read_text() == EXERCISES_CSV
    assert sorted(p.name for p in out.iterdir()) == ["exercises.csv", "grades.csv"]


def test_the_gradebook_is_opened_under_the_configured_course_id(gradebook_course, tmp_path):
    assert _course_id(gradebook_course) == "default_course"  # no nbgrader_config.py here
    export(gradebook_course, tmp_path / "exports")
    with sqlite3.connect(gradebook_course / "gradebook.db") as db:
        assert db.execute("SELECT id FROM course").fetchall() == [("default_course",)]
    (gradebook_course / "nbgrader_config.py").write_text(
        'c = get_config()\nc.CourseDirectory.course_id = "backprop-course"\n')
    assert _course_id(gradebook_course) == "backprop-course"


def test_no_gradebook_yet(tmp_path):
    with pytest.raises(CourseError) as error:
        export(tmp_path, tmp_path / "exports")
    assert str(error.value).startswith(
        "nothing graded yet: run backprop-course autograde first")
    assert not (tmp_path / "gradebook.db").exists()  # nbgrader would create an empty one
    assert not (tmp_path / "exports").exists()
