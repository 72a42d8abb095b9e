"""Helpers for the tests about notebooks: which notebooks the course has, cells read and built by
their nbgrader role, copies and releases of the course, submissions, execution.

tests/conftest.py imports this module at every pytest start, so nbformat, nbclient and the
trusted grader (about 2 s of imports together) are imported by the functions that use them.
"""

from __future__ import annotations

import copy
import json
import re
import shutil
import textwrap
from dataclasses import dataclass
from pathlib import Path

from autograder.course import COURSE_ROOT, generate_release

README = Path(__file__).resolve().parents[1] / "README.md"
SOURCE = COURSE_ROOT / "source"
SOURCE_NOTEBOOKS = sorted(SOURCE.glob("*/*.ipynb"))
#: Generous per-cell limit for CI; the notebooks themselves take seconds.
CELL_TIMEOUT = 180
#: A row of the README's table of notebooks: "| 01_neuron: what a neuron computes | ...".
_README_ROW = re.compile(r"^\| (\d\d_\w+): ", re.MULTILINE)
#: A cell that shows an explorer widget calls ``viz.<Name>Explorer(``.
EXPLORER_CALL = re.compile(r"\bviz\.(\w*Explorer)\(")
#: A check call in a test cell (DESIGN.md, the cell contract): ``check.NAME(``.
CHECK_CALL = re.compile(r"^check\.(\w+)\(", re.MULTILINE)
#: The cell tag that lets Run All (JupyterLab, nbclient) go on past a cell that raises: every
#: test cell carries it, so that an unfinished exercise does not stop the notebook.
RAISES_EXCEPTION = "raises-exception"


def notebook_id(path: Path) -> str:
    return path.stem


# ---------------------------------------------------------------------------------------
# The course's notebooks
# ---------------------------------------------------------------------------------------


def readme_notebooks(readme: Path | None = None) -> list[str]:
    """The notebooks the README's table lists (``01_neuron`` ...), in course order."""
    return _README_ROW.findall((readme or README).read_text(encoding="utf-8"))


def missing_notebooks(readme: Path | None = None, source: Path | None = None) -> list[str]:
    """What keeps the course from being the one the README lists (nothing: an empty list)."""
    readme, source = readme or README, source or SOURCE
    names = readme_notebooks(readme)
    if not names:
        return [f"{readme} lists no notebook (no table row '| NN_topic: ...')"]
    paths = [source / name / f"{name}.ipynb" for name in names]
    return [f"{path} is missing ({readme.name} lists it)" for path in paths if not path.is_file()]


def read(path: Path):
    import nbformat

    return nbformat.read(path, as_version=4)


def source_notebook(assignment: str):
    """The instructor notebook of ``assignment`` (solutions and hidden tests in)."""
    return read(SOURCE / assignment / f"{assignment}.ipynb")


def notebook_subjects() -> dict[str, set[str]]:
    """Notebook -> the names tests give what it teaches: the notebook itself, its exercises,
    the checks its test cells call and their catalogue keys, and its explorers."""
    from autograder import check

    subjects = {}
    for path in SOURCE_NOTEBOOKS:
        nb = json.loads(path.read_text(encoding="utf-8"))  # plain JSON: no nbformat needed
        source = ["".join(cell["source"]) for cell in nb["cells"]]
        found = exercises(nb)
        checks = {name for e in found for name in CHECK_CALL.findall(source[e.test_index])}
        names = {path.stem, *(e.name for e in found), *checks}
        names |= {key for key, (name, _) in check.CONFIGURATIONS.items() if name in checks}
        for cell, text in zip(nb["cells"], source, strict=True):
            if cell["cell_type"] == "code":
                names.update(EXPLORER_CALL.findall(text))
        subjects[path.stem] = names
    return subjects


# ---------------------------------------------------------------------------------------
# Cells by their nbgrader role
# ---------------------------------------------------------------------------------------


def nbgrader_meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def is_test_cell(cell) -> bool:
    """A graded test cell (``grade: true``, not a solution): the cell that calls ``check.NAME``."""
    meta = nbgrader_meta(cell)
    return cell.get("cell_type") == "code" and bool(meta.get("grade")) and not meta.get("solution")


def find_cell(nb, grade_id: str):
    """The cell whose nbgrader ``grade_id`` is ``grade_id``."""
    return next(c for c in nb.cells if nbgrader_meta(c).get("grade_id") == grade_id)


def cell_metadata(grade_id: str, **flags) -> dict:
    """A cell's metadata in the cell contract (DESIGN.md): read-only unless ``flags`` say
    otherwise (``solution=True, locked=False``: a solution; ``grade=True, points=2``: a test)."""
    meta = {"grade": False, "solution": False, "locked": True, "task": False}
    return {"nbgrader": meta | flags | {"grade_id": grade_id, "schema_version": 3}}


def exercise_cells(name: str, solution: str, test: str, points: float = 1) -> list:
    """An exercise as the cell contract has it: solution cell ``name``, test cell ``test_name``."""
    from nbformat.v4 import new_code_cell

    return [
        new_code_cell(solution, metadata=cell_metadata(name, solution=True, locked=False)),
        new_code_cell(test, metadata=cell_metadata(f"test_{name}", grade=True, points=points)),
    ]


@dataclass(frozen=True)
class Exercise:
    """A solution cell and the test cell that grades it."""

    name: str  # the solution cell's grade_id, which is also the function name
    solution_index: int
    test_index: int
    points: float


def exercises(nb) -> list[Exercise]:
    """The graded exercises of a notebook (read by nbformat, or plain JSON), in order."""
    found = []
    for index, cell in enumerate(nb["cells"]):
        meta = nbgrader_meta(cell)
        if meta.get("grade") and cell["cell_type"] == "code":
            name = meta["grade_id"].removeprefix("test_")
            solution_index = next(
                i for i, c in enumerate(nb["cells"]) if nbgrader_meta(c).get("grade_id") == name
            )
            found.append(Exercise(name, solution_index, index, float(meta["points"])))
    return found


def first_check(test_source: str) -> tuple[str, dict]:
    """Check name and options of a test cell's first (visible) check call."""
    from autograder.grading.trusted import parse_test_cell

    call = parse_test_cell(test_source)[0]
    return call.exercise, dict(call.options)


# ---------------------------------------------------------------------------------------
# A one-exercise notebook (relu) for the grader's tests
# ---------------------------------------------------------------------------------------

RELU_SETUP = "import numpy as np\nimport refimpl\nfrom autograder import check\n"
HONEST_RELU = "def relu(Z):\n    return np.maximum(np.asarray(Z, dtype=float), 0.0)\n"
WRONG_RELU = "def relu(Z):\n    return np.minimum(np.asarray(Z, dtype=float), 0.0)\n"
RELU_TEST_CELL = ('"""Check relu against the reference."""\n'
                  "check.relu(relu)\n"
                  "### BEGIN HIDDEN TESTS\n"
                  "check.relu(relu, hidden=True)\n"
                  "### END HIDDEN TESTS")


def relu_notebook(solution: str, *extra_cells: str):
    """setup, the learner's relu (a solution cell), extra learner cells, the test cell."""
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

    nb = new_notebook()
    nb.cells = [
        new_markdown_cell("# relu", metadata=cell_metadata("intro")),
        new_code_cell(RELU_SETUP, metadata=cell_metadata("setup")),
        new_code_cell(textwrap.dedent(solution),
                      metadata=cell_metadata("relu", solution=True, locked=False)),
        *[new_code_cell(textwrap.dedent(src)) for src in extra_cells],
        new_code_cell(RELU_TEST_CELL, metadata=cell_metadata("test_relu", grade=True, points=2)),
    ]
    return nb


def checks_output(nb) -> str:
    """What the last cell (the test cell) printed, and the tracebacks it showed."""
    parts = []
    for out in nb.cells[-1].outputs:
        parts.append(out.get("text", "") if out.output_type == "stream"
                     else "\n".join(out.get("traceback", [])))
    return "\n".join(parts)


# ---------------------------------------------------------------------------------------
# Copies of the course, submissions
# ---------------------------------------------------------------------------------------


def copy_course(destination: Path, assignments: list[str] | None = None) -> Path:
    """A copy of the course to build and grade in: its config and the sources of
    ``assignments`` (all by default)."""
    destination.mkdir(parents=True, exist_ok=True)
    shutil.copy2(COURSE_ROOT / "nbgrader_config.py", destination)
    if assignments is None:
        shutil.copytree(SOURCE, destination / "source")
    for name in assignments or ():
        shutil.copytree(SOURCE / name, destination / "source" / name)
    return destination


def released_course(destination: Path, assignments: list[str] | None = None) -> Path:
    """``copy_course`` with its student release built by nbgrader (``course/release``)."""
    course = copy_course(destination, assignments)
    generate_release(course, assignments)
    return course


def learner_notebook(course: Path, assignment: str):
    """What a learner who solved everything holds: the source's solutions, the release's test
    cells (no hidden tests)."""
    release = {nbgrader_meta(c).get("grade_id"): c
               for c in read(course / "release" / assignment / f"{assignment}.ipynb").cells}
    nb = read(course / "source" / assignment / f"{assignment}.ipynb")
    nb.cells = [copy.deepcopy(release[nbgrader_meta(c)["grade_id"]])
                if nbgrader_meta(c).get("grade") and not nbgrader_meta(c).get("solution")
                else c for c in nb.cells]
    return nb


def submit(course: Path, student: str, nb, assignment: str) -> None:
    """Write ``nb`` as the student's submission, as JSON: nbformat refuses to write some."""
    folder = course / "submitted" / student / assignment
    folder.mkdir(parents=True)
    (folder / f"{assignment}.ipynb").write_text(json.dumps(nb), encoding="utf-8")


# ---------------------------------------------------------------------------------------
# Execution
# ---------------------------------------------------------------------------------------


def execute(nb, cwd: Path, allow_errors: bool = True):
    """Run every cell and return the notebook. Errors are recorded in the outputs; with
    ``allow_errors=False`` only a cell tagged ``raises-exception`` may raise, as in JupyterLab's
    Run All, and nbclient raises ``CellExecutionError`` at any other cell that does."""
    from nbclient import NotebookClient

    client = NotebookClient(
        nb,
        timeout=CELL_TIMEOUT,
        kernel_name="python3",
        allow_errors=allow_errors,
        resources={"metadata": {"path": str(cwd)}},
    )
    return client.execute()


def explorer_cells(path: Path) -> list[int]:
    """Indices of the cells that show an explorer widget."""
    return [index for index, cell in enumerate(read(path).cells)
            if cell.cell_type == "code" and EXPLORER_CALL.search(cell.source)]


def cell_errors(nb) -> dict[int, dict]:
    """Cell index -> its error output (ename, evalue, traceback), for cells that raised."""
    return {
        index: output
        for index, cell in enumerate(nb.cells)
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
        if output.get("output_type") == "error"
    }
