"""Helpers for the notebook tests: read cells by their nbgrader role, build releases, execute."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from autograder.course import COURSE_ROOT, generate_release

SOURCE_NOTEBOOKS = sorted((COURSE_ROOT / "source").glob("*/*.ipynb"))
#: Generous per-cell limit for CI; the notebooks themselves take seconds.
CELL_TIMEOUT = 180


def notebook_id(path: Path) -> str:
    return path.stem


def nbgrader_meta(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


@dataclass(frozen=True)
class Exercise:
    """A solution cell and the test cell that grades it."""

    name: str  # the solution cell's grade_id, which is also the function name
    solution_index: int
    test_index: int
    points: float


def exercises(nb) -> list[Exercise]:
    """The graded exercises of a notebook, in order."""
    found = []
    for index, cell in enumerate(nb.cells):
        meta = nbgrader_meta(cell)
        if meta.get("grade") and cell.cell_type == "code":
            name = meta["grade_id"].removeprefix("test_")
            solution_index = next(
                i for i, c in enumerate(nb.cells) if nbgrader_meta(c).get("grade_id") == name
            )
            found.append(Exercise(name, solution_index, index, float(meta["points"])))
    return found


def read(path: Path):
    return nbformat.read(path, as_version=4)


def execute(nb, cwd: Path):
    """Run every cell (errors are recorded in the outputs, not raised) and return the notebook."""
    client = NotebookClient(
        nb,
        timeout=CELL_TIMEOUT,
        kernel_name="python3",
        allow_errors=True,
        resources={"metadata": {"path": str(cwd)}},
    )
    return client.execute()


def cell_errors(nb) -> dict[int, dict]:
    """Cell index -> its error output (ename, evalue, traceback), for cells that raised."""
    return {
        index: output
        for index, cell in enumerate(nb.cells)
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
        if output.get("output_type") == "error"
    }


def copy_course(destination: Path) -> Path:
    """A copy of the course (sources and config only) to build and grade in."""
    destination.mkdir(parents=True, exist_ok=True)
    shutil.copytree(COURSE_ROOT / "source", destination / "source")
    shutil.copy2(COURSE_ROOT / "nbgrader_config.py", destination)
    return destination


def build_release(destination: Path) -> Path:
    course = copy_course(destination)
    generate_release(course)
    return course / "release"
