"""A hand-built gradebook and grader records for the report and export tests.

No notebook runs: ``build_course`` fills nbgrader's gradebook through its own API and writes
``GradingRecord`` files, so every figure is known by hand. Tests get a private copy of it from
the ``gradebook_course`` fixture (tests/conftest.py).

01_neuron (notebook order: test_relu 2, test_sigmoid 2, written 1 = manual answer)

    student  test_relu  test_sigmoid  written   total  record                 submitted file
    alice    2          2             1         5      clean                  yes
    bob      0          0             waiting   0      relu-returns-mask x2,  yes
                                                       sigmoid-exp-sign
    carol    2          0             0.5       2.5    sigmoid-exp-sign,      yes
                                                       tampered
    dave     2          2             waiting   4      none (plain nbgrader)  yes
    erin     2          0             1         3      sigmoid-tanh           no
    frank    -          -             -         -      relu-abs, not in the gradebook

02_forward: test_forward 3 points, alice 3.
"""

import warnings
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_markdown_cell, new_notebook

from autograder.grading.records import Attention, CellGrade, CheckOutcome, GradingRecord
from notebook_tools import cell_metadata, exercise_cells

A1, A2 = "01_neuron", "02_forward"


def write_source(course, assignment, cells):
    """A source notebook whose graded cells come in the given order."""
    folder = course / "source" / assignment
    folder.mkdir(parents=True)
    nb_cells = []
    for grade_id, points, kind in cells:
        if kind == "code":
            nb_cells += exercise_cells(grade_id.removeprefix("test_"), "pass", '"""Check."""',
                                       points)
        else:
            nb_cells.append(new_markdown_cell("YOUR ANSWER HERE", metadata=cell_metadata(
                grade_id, grade=True, solution=True, locked=False, points=points)))
    nbformat.write(new_notebook(cells=nb_cells), folder / f"{assignment}.ipynb")


def check(exercise, passed, mistake=None, hidden=False):
    return CheckOutcome(exercise=exercise, key=exercise, hidden=hidden, passed=passed,
                        stage=None if passed else "values", mistake=mistake,
                        case=None if passed else "case 1")


def record(student, relu=(), sigmoid=(), attention=()):
    """A grader record of 01_neuron; ``relu``/``sigmoid`` list the named mistakes (else pass)."""
    def cell(exercise, mistakes):
        checks = [check(exercise, not mistakes, m, hidden=i > 0)
                  for i, m in enumerate(mistakes or [None])]
        return CellGrade(f"test_{exercise}", 0.0 if mistakes else 2.0, 2.0, checks)
    return GradingRecord(assignment=A1, student=student, notebook=A1,
                         cells=[cell("relu", list(relu)), cell("sigmoid", list(sigmoid))],
                         attention=[Attention(*a) for a in attention],
                         graded_at="2026-11-30T10:00:00Z")


#: student -> (test_relu, test_sigmoid, written); None = waiting for a manual grade
SCORES = {
    "alice": (2, 2, 1),
    "bob": (0, 0, None),
    "carol": (2, 0, 0.5),
    "dave": (2, 2, None),
    "erin": (2, 0, 1),
}
TAMPERED = "test cell test_relu was edited (nbgrader restored it)"


def build_course(root: Path) -> Path:
    """The course of the module docstring, in ``root``; returns the course root."""
    import nbgrader
    import nbgrader.api
    from alembic.script import ScriptDirectory
    from sqlalchemy.exc import SAWarning

    course = root / "course"
    write_source(course, A1, [("test_relu", 2, "code"), ("test_sigmoid", 2, "code"),
                              ("written", 1, "markdown")])
    write_source(course, A2, [("test_forward", 3, "code")])
    with pytest.MonkeyPatch.context() as mp, warnings.catch_warnings():
        # A new gradebook stamps its schema version by running the `alembic` command (about
        # 3 s); read the same head revision in-process instead.
        scripts = ScriptDirectory(str(Path(nbgrader.__file__).parent / "alembic"))
        mp.setattr(nbgrader.api, "get_alembic_version", scripts.get_current_head)
        warnings.simplefilter("ignore", SAWarning)  # nbgrader's add_submission (SQLAlchemy 2)
        with nbgrader.api.Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
            gb.add_assignment(A2)  # added first: the exports follow course order anyway
            gb.add_notebook(A2, A2)
            gb.add_grade_cell("test_forward", A2, A2, max_score=3, cell_type="code")
            gb.add_assignment(A1)
            gb.add_notebook(A1, A1)
            # Not in notebook order: the source notebook gives the order.
            gb.add_grade_cell("written", A1, A1, max_score=1, cell_type="markdown")
            gb.add_grade_cell("test_sigmoid", A1, A1, max_score=2, cell_type="code")
            gb.add_grade_cell("test_relu", A1, A1, max_score=2, cell_type="code")
            for student in [*SCORES, "zoe"]:
                gb.add_student(student)
            for student, (relu, sigmoid, written) in SCORES.items():
                gb.add_submission(A1, student)
                for grade_id, score in (("test_relu", relu), ("test_sigmoid", sigmoid)):
                    grade = gb.find_grade(grade_id, A1, A1, student)
                    grade.auto_score, grade.needs_manual_grade = score, False
                if written is not None:
                    grade = gb.find_grade("written", A1, A1, student)
                    grade.manual_score, grade.needs_manual_grade = written, False
            gb.add_submission(A2, "alice")
            grade = gb.find_grade("test_forward", A2, A2, "alice")
            grade.auto_score, grade.needs_manual_grade = 3, False
            gb.db.commit()
    for student in ("alice", "bob", "carol", "dave"):  # erin's file is missing
        folder = course / "submitted" / student / A1
        folder.mkdir(parents=True)
        (folder / f"{A1}.ipynb").write_text("{}")
    record("alice").save(course)
    record("bob", relu=["relu-returns-mask", "relu-returns-mask"],
           sigmoid=["sigmoid-exp-sign"]).save(course)
    record("carol", sigmoid=["sigmoid-exp-sign", None],
           attention=[("tampered", TAMPERED)]).save(course)
    record("erin", sigmoid=["sigmoid-tanh"]).save(course)
    record("frank", relu=["relu-abs"]).save(course)  # no gradebook submission
    return course

