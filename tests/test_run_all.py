"""Run All reaches the end of a notebook with unfinished or wrong exercises (issue 17, item 2).

Every test cell carries the ``raises-exception`` cell tag (tests/test_notebook_contract.py).
What each consumer of the notebooks does with it:

- JupyterLab and nbclient send a tagged cell with ``stop_on_error`` false, so the kernel runs
  the cells queued after it even when it raises. tests/test_browser.py runs every untouched
  student notebook in JupyterLab; tests/test_notebook_release.py runs them with nbclient, and
  the first test here runs every notebook with all its exercises wrong.
- nbval lets a tagged cell raise. The repository's root conftest.py turns that off for test
  cells, so a source notebook with a broken solution still fails CI, and fails a run on that
  notebook alone; shown here in pytest processes started with the options of ``make test``.
- nbgrader ignores the tag. Checksums do not cover it, generate_assignment keeps it, and
  autograde and validate score a test cell by its outputs. The trusted grader never reads it.
  Below, a tagged check that fails scores 0 and one that passes scores full points.
"""

from __future__ import annotations

import re
import subprocess
import sys
import warnings
from pathlib import Path

import nbformat
import pytest
from class_tools import plant
from nbclient.exceptions import CellExecutionError

from autograder import check
from autograder.instructor.workflow import grade_submission
from notebook_tools import (
    RAISES_EXCEPTION,
    SOURCE_NOTEBOOKS,
    WRONG_RELU,
    Exercise,
    cell_errors,
    execute,
    exercises,
    find_cell,
    first_check,
    learner_notebook,
    notebook_id,
    read,
    released_course,
    source_notebook,
    submit,
)

pytestmark = pytest.mark.notebook

ROOT = Path(__file__).resolve().parents[1]
ASSIGNMENT = "01_neuron"
#: A failed nbval cell in pytest's short summary: "FAILED <path>::Cell 6 - ...".
FAILED_CELL = re.compile(r"^FAILED \S*::Cell (\d+)\b", re.MULTILINE)


def make_test_options() -> list[str]:
    """The pytest options of the Makefile's ``test`` target, with one worker and no paths."""
    recipe = re.search(r"^test:.*\n\t\$\(BIN\)/pytest (.+)$",
                       (ROOT / "Makefile").read_text(encoding="utf-8"), re.MULTILINE)
    assert recipe, "the Makefile has no `test` target that runs $(BIN)/pytest"
    words = recipe.group(1).replace("$(PYTEST_WORKERS)", "1").split()
    return [word for word in words if word not in ("tests", "course/source")]


def with_wrong_relu(nb):
    """``nb`` with a wrong relu defined after its solution (the minimum instead of the max)."""
    find_cell(nb, "relu").source += "\n\n" + WRONG_RELU
    return nb


# ---------------------------------------------------------------------------------------
# Run All with every exercise wrong
# ---------------------------------------------------------------------------------------


def first_mistake(nb, exercise: Exercise) -> tuple[str, str]:
    """The catalogue key of the exercise's check and the slug of its first planted mistake."""
    name, options = first_check(nb.cells[exercise.test_index].source)
    spec = check.exercise(name, **options)
    return spec.key, next(m for m in spec.mistakes if m.variant).slug


@pytest.mark.parametrize("path", SOURCE_NOTEBOOKS, ids=notebook_id)
def test_run_all_reaches_the_end_with_every_exercise_wrong(path):
    """Every exercise answered with a catalogued mistake at once: Run All (nbclient, only
    tagged cells may raise) runs every cell, and only the checks fail. The widgets and demos
    below them fall back to the reference instead of raising."""
    nb = read(path)
    found = exercises(nb)
    for exercise in found:
        nb = plant(nb, exercise, *first_mistake(nb, exercise))
    try:
        nb = execute(nb, path.parent, allow_errors=False)
    except CellExecutionError as error:
        pytest.fail(f"Run All stops with every exercise wrong:\n{str(error)[-2000:]}")
    errors = cell_errors(nb)
    assert set(errors) == {e.test_index for e in found}, {
        i: e["evalue"][:200] for i, e in errors.items()}
    assert {e["ename"] for e in errors.values()} == {"CheckFailed"}
    assert all(cell.execution_count for cell in nb.cells if cell.cell_type == "code")


# ---------------------------------------------------------------------------------------
# nbval: a check that fails still fails CI
# ---------------------------------------------------------------------------------------


def run_nbval(*args: str) -> subprocess.CompletedProcess:
    """pytest with the options of ``make test``, in a new process, from the repository's root."""
    return subprocess.run([sys.executable, "-m", "pytest", *make_test_options(), *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=900)


def test_a_tagged_check_that_fails_in_a_source_notebook_fails_nbval(tmp_path):
    nb = with_wrong_relu(source_notebook(ASSIGNMENT))
    test_cell = find_cell(nb, "test_relu")
    assert RAISES_EXCEPTION in test_cell.metadata.get("tags", [])
    # nbval names code cells by their position among the code cells.
    code_cells = [cell for cell in nb.cells if cell.cell_type == "code"]
    failing = str(code_cells.index(test_cell))
    copy = tmp_path / f"{ASSIGNMENT}.ipynb"
    nbformat.write(nb, copy)

    # The root conftest.py holds the rule; passing it loads it for a notebook outside the
    # repository (a notebook inside it gets it anyway, see the next test).
    strict = run_nbval("conftest.py", str(copy))
    output = strict.stdout + strict.stderr
    assert strict.returncode == 1, output[-3000:]
    assert FAILED_CELL.findall(output) == [failing], output[-3000:]
    assert "relu-min-not-max" in output, "nbval should show the check's message"

    # Without the conftest, nbval lets the tagged check fail: the danger the conftest removes.
    lenient = run_nbval("--noconftest", str(copy))
    assert lenient.returncode == 0, (lenient.stdout + lenient.stderr)[-3000:]
    assert not FAILED_CELL.findall(lenient.stdout)



def test_nbval_on_one_notebook_of_the_repository_is_as_strict(tmp_path):
    """``pytest --nbval path/to/one.ipynb`` loads the root conftest.py: no tests/ needed."""
    import tempfile

    nb = with_wrong_relu(source_notebook(ASSIGNMENT))
    (ROOT / "test-artifacts").mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(dir=ROOT / "test-artifacts") as folder:
        copy = Path(folder) / f"{ASSIGNMENT}.ipynb"
        nbformat.write(nb, copy)
        strict = run_nbval(str(copy.relative_to(ROOT)))
    output = strict.stdout + strict.stderr
    assert strict.returncode == 1, output[-3000:]
    assert "relu-min-not-max" in output

# ---------------------------------------------------------------------------------------
# nbgrader and the trusted grader: the tag changes no score
# ---------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def course(tmp_path_factory) -> Path:
    """01_neuron released, and three submissions graded by autograde with the trusted grader:
    every exercise solved, relu wrong, and the untouched release."""
    course = released_course(tmp_path_factory.mktemp("course"), [ASSIGNMENT])
    release = read(course / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    submit(course, "solved", learner_notebook(course, ASSIGNMENT), ASSIGNMENT)
    submit(course, "wrong_relu", with_wrong_relu(learner_notebook(course, ASSIGNMENT)),
           ASSIGNMENT)
    submit(course, "untouched", release, ASSIGNMENT)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SQLAlchemy's warnings inside nbgrader
        for student in ("solved", "wrong_relu", "untouched"):
            result = grade_submission(course, ASSIGNMENT, student)
            assert result.error is None, result.line()
    return course


def gradebook_scores(course: Path, student: str) -> dict[str, float]:
    """The score of each test cell of the student's 01_neuron in nbgrader's gradebook."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", "backprop-course") as gb:
        notebook = gb.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, student)
        return {g.cell.name: float(g.score) for g in notebook.grades
                if g.cell.cell_type == "code"}


def test_the_submitted_test_cells_carry_the_tag(course):
    submitted = read(course / "submitted" / "wrong_relu" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    tests = [submitted.cells[e.test_index] for e in exercises(submitted)]
    assert [RAISES_EXCEPTION in cell.metadata.get("tags", []) for cell in tests] == [True] * 3


@pytest.mark.parametrize(("student", "scores"), [
    ("solved", {"test_relu": 2, "test_sigmoid": 2, "test_neuron": 3}),
    ("wrong_relu", {"test_relu": 0, "test_sigmoid": 2, "test_neuron": 3}),
    ("untouched", {"test_relu": 0, "test_sigmoid": 0, "test_neuron": 0}),
])
def test_autograde_scores_a_tagged_check_by_its_result(course, student, scores):
    assert gradebook_scores(course, student) == scores


def test_nbgrader_validate_reports_a_tagged_check_that_fails(course):
    """nbgrader's own execution (the Validate button) runs past a failing tagged check and
    reports it; the checks after it pass."""
    from nbgrader.validator import Validator

    folder = course / "submitted" / "wrong_relu" / ASSIGNMENT
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = Validator().validate(str(folder / f"{ASSIGNMENT}.ipynb"))
    failed = [cell["source"] for cell in results.get("failed", [])]
    assert failed == [find_cell(read(folder / f"{ASSIGNMENT}.ipynb"), "test_relu").source.strip()]
