"""The student release nbgrader builds from the sources: stubs everywhere, its test cells keep
their ``raises-exception`` tag, and Run All goes to the end with only the checks failing."""

import pytest
from nbclient.exceptions import CellExecutionError

from notebook_tools import (
    RAISES_EXCEPTION,
    SOURCE_NOTEBOOKS,
    cell_errors,
    execute,
    exercises,
    is_test_cell,
    nbgrader_meta,
    notebook_id,
    read,
    released_course,
)

pytestmark = pytest.mark.notebook
NOTEBOOKS = pytest.mark.parametrize("source_path", SOURCE_NOTEBOOKS, ids=notebook_id)


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    return released_course(tmp_path_factory.mktemp("course")) / "release"


def released(release, source_path):
    path = release / source_path.parent.name / source_path.name
    assert path.exists(), f"nbgrader did not release {source_path.name}"
    return path


@NOTEBOOKS
def test_release_has_a_stub_in_every_solution_cell_and_no_hidden_test(release, source_path):
    source, student = read(source_path), read(released(release, source_path))
    assert len(student.cells) == len(source.cells)
    for index, (original, cell) in enumerate(zip(source.cells, student.cells, strict=True)):
        assert nbgrader_meta(cell).get("grade_id") == nbgrader_meta(original).get("grade_id")
        assert "HIDDEN" not in cell.source, f"cell {index} leaks hidden tests"
        assert "hidden=True" not in cell.source, f"cell {index} leaks hidden tests"
        assert "BEGIN SOLUTION" not in cell.source
        if nbgrader_meta(original).get("solution"):
            stub = "raise NotImplementedError()" if cell.cell_type == "code" else "YOUR ANSWER HERE"
            assert stub in cell.source, f"cell {index} has no stub"
            solution = original.source.split("### BEGIN SOLUTION")[1].split("### END SOLUTION")[0]
            body = [line.strip() for line in solution.splitlines() if line.strip()]
            assert not any(line in cell.source.splitlines() for line in body[-1:]), (
                f"cell {index}: the solution's last line survived into the release"
            )


@NOTEBOOKS
def test_release_keeps_the_raises_exception_tag_on_every_test_cell(release, source_path):
    student = read(released(release, source_path))
    tagged = [i for i, cell in enumerate(student.cells)
              if RAISES_EXCEPTION in cell.metadata.get("tags", [])]
    assert tagged == [i for i, cell in enumerate(student.cells) if is_test_cell(cell)]


@NOTEBOOKS
def test_release_runs_and_only_the_checks_fail_with_not_implemented(release, source_path):
    path = released(release, source_path)
    # Run All: a cell that raises stops the run unless it is tagged raises-exception.
    try:
        nb = execute(read(path), path.parent, allow_errors=False)
    except CellExecutionError as error:
        pytest.fail(f"Run All stops in the student release:\n{str(error)[-2000:]}")
    errors = cell_errors(nb)
    tests = {exercise.test_index: exercise.name for exercise in exercises(nb)}
    stray = {index: error["ename"] for index, error in errors.items() if index not in tests}
    assert not stray, f"cells other than checks failed in the student release: {stray}"
    assert set(errors) == set(tests), "every check fails while its stub is unimplemented"
    for index, error in errors.items():
        assert "not implemented yet" in error["evalue"], (
            f"check of {tests[index]} failed with {error['ename']}: {error['evalue'][:300]}"
        )
