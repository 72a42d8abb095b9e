"""Static checks of every source notebook against the cell contract in DESIGN.md."""

import re

import pytest

from notebook_tools import (
    RAISES_EXCEPTION,
    SOURCE_NOTEBOOKS,
    exercises,
    is_test_cell,
    nbgrader_meta,
    notebook_id,
    read,
)

NOTEBOOKS = pytest.mark.parametrize("path", SOURCE_NOTEBOOKS, ids=notebook_id)


@NOTEBOOKS
def test_committed_without_outputs(path):
    for index, cell in enumerate(read(path).cells):
        if cell.cell_type == "code":
            assert not cell.outputs, f"cell {index} has stored outputs"
            assert cell.execution_count is None, f"cell {index} has an execution count"


@NOTEBOOKS
def test_every_cell_has_nbgrader_metadata_with_a_unique_id(path):
    nb = read(path)
    ids = []
    for index, cell in enumerate(nb.cells):
        meta = nbgrader_meta(cell)
        assert meta.get("schema_version") == 3, f"cell {index} lacks nbgrader schema 3 metadata"
        assert meta.get("grade_id"), f"cell {index} has no grade_id"
        ids.append(meta["grade_id"])
        if not meta.get("solution"):
            assert meta.get("locked"), f"cell {index} ({meta['grade_id']}) should be read-only"
    assert len(ids) == len(set(ids)), "grade_ids repeat"
    assert nb.metadata["kernelspec"]["name"] == "python3"


@NOTEBOOKS
def test_at_least_three_exercises_each_graded_right_after_its_solution(path):
    nb = read(path)
    found = exercises(nb)
    assert len(found) >= 3
    for exercise in found:
        solution = nb.cells[exercise.solution_index]
        assert nbgrader_meta(solution)["solution"] is True
        assert exercise.test_index == exercise.solution_index + 1
        assert exercise.points > 0
        assert re.search(rf"^(def|class) {exercise.name}\b", solution.source, re.M)
        assert "### BEGIN SOLUTION" in solution.source
        assert "### END SOLUTION" in solution.source


@NOTEBOOKS
def test_test_cells_are_a_docstring_and_one_line_check_calls(path):
    nb = read(path)
    for exercise in exercises(nb):
        source = nb.cells[exercise.test_index].source
        assert source.startswith('"""'), "a test cell opens with a docstring saying what it checks"
        body = source.split('"""', 2)[2]
        calls = [line for line in body.splitlines() if line.strip() and not line.startswith("###")]
        assert calls, "a test cell calls its check"
        for line in calls:
            # check.NAME(exercise[, options]): the check may be shared (check.backward_231).
            assert re.fullmatch(rf"check\.\w+\({exercise.name}(, .+)?\)", line), line
        visible, _, hidden = body.partition("### BEGIN HIDDEN TESTS")
        assert "hidden=True" in hidden
        assert "### END HIDDEN TESTS" in hidden
        assert "hidden=True" not in visible


@NOTEBOOKS
def test_test_cells_and_only_they_carry_the_raises_exception_tag(path):
    """Run All goes on past a tagged cell that raises (JupyterLab, nbclient): a check of an
    unfinished exercise must not stop the widgets and the recap below it. Another cell with the
    tag would hide its own error the same way; a demo that raises on purpose catches the error
    and prints it instead (03_loss, ``shape_trap_error``)."""
    for index, cell in enumerate(read(path).cells):
        tagged = RAISES_EXCEPTION in cell.metadata.get("tags", [])
        grade_id = nbgrader_meta(cell).get("grade_id")
        if is_test_cell(cell):
            assert tagged, (f"test cell {index} ({grade_id}) lacks the {RAISES_EXCEPTION!r} "
                            "tag: Run All stops there while its exercise is unfinished")
        else:
            assert not tagged, (f"cell {index} ({grade_id}) is tagged {RAISES_EXCEPTION!r} but "
                                "is not a test cell: Run All would go on past its errors")


@NOTEBOOKS
def test_opens_with_goals_and_time_and_closes_with_a_recap(path):
    nb = read(path)
    opening = nb.cells[0].source.lower()
    assert "minutes" in opening, "the first cell gives a time estimate"
    assert "goal" in opening or "you will" in opening or "learn" in opening
    last_cells = nb.cells[-2:]
    closing = " ".join(cell.source.lower() for cell in last_cells if cell.cell_type == "markdown")
    assert "recap" in closing


#: A transpose written any other way than ``^\top`` in math (``.T`` stays in code).
OTHER_TRANSPOSES = re.compile(r"\^T\b|\^\{T\}|ᵀ|\\intercal|\^\{\\top\}")


@NOTEBOOKS
def test_one_transpose_notation_in_the_prose(path):
    """Math writes a transpose as ``^\\top`` everywhere (issue 16, item 14)."""
    found = [f"cell {index}: {match.group(0)!r}"
             for index, cell in enumerate(read(path).cells) if cell.cell_type == "markdown"
             for match in OTHER_TRANSPOSES.finditer(cell.source)]
    assert found == [], "write transposes as ^\\top: " + ", ".join(found)
