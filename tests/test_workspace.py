"""Delivering student notebooks into a learner's workspace never overwrites their work."""

import shutil

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from autograder.course import COURSE_ROOT
from autograder.workspace import deliver


def nbgrader(grade_id, **flags):
    meta = {"grade": False, "solution": False, "locked": True, "task": False}
    meta |= flags | {"grade_id": grade_id, "schema_version": 3}
    return {"nbgrader": meta}


@pytest.fixture
def tiny_course(tmp_path):
    """A course with one assignment whose solution must never reach a learner."""
    course = tmp_path / "course"
    (course / "source" / "00_demo").mkdir(parents=True)
    shutil.copy2(COURSE_ROOT / "nbgrader_config.py", course)
    solution = (
        "def double(x):\n    ### BEGIN SOLUTION\n    return 2 * x  # SECRET\n    ### END SOLUTION"
    )
    nb = new_notebook(
        cells=[
            new_code_cell(solution, metadata=nbgrader("double", solution=True, locked=False)),
            new_code_cell('"""Check."""\nassert double(2) == 4', metadata=nbgrader(
                "test_double", grade=True, points=1)),
        ]
    )
    nbformat.write(nb, course / "source" / "00_demo" / "00_demo.ipynb")
    return course


def test_first_delivery_adds_the_student_version(tiny_course, tmp_path):
    workspace = tmp_path / "ws"
    delivery = deliver(workspace, tiny_course)
    assert [path.name for path in delivery.added] == ["00_demo.ipynb"]
    text = (workspace / "00_demo.ipynb").read_text()
    assert "raise NotImplementedError()" in text
    assert "SECRET" not in text
    assert not list(workspace.glob("*.partial"))
    assert not (tiny_course / "release").exists(), "delivery must not build inside the course"


def test_a_second_delivery_keeps_the_learners_notebook(tiny_course, tmp_path):
    workspace = tmp_path / "ws"
    deliver(workspace, tiny_course)
    notebook = workspace / "00_demo.ipynb"
    notebook.write_text(notebook.read_text().replace("raise NotImplementedError()", "return x + x"))
    edited = notebook.read_bytes()
    delivery = deliver(workspace, tiny_course)
    assert delivery.added == []
    assert delivery.kept == [notebook]
    assert notebook.read_bytes() == edited


def test_a_course_without_notebooks_delivers_nothing(tmp_path):
    (tmp_path / "course").mkdir()
    delivery = deliver(tmp_path / "ws", tmp_path / "course")
    assert delivery.added == delivery.kept == []
    assert (tmp_path / "ws").is_dir()
