"""Grade export: nbgrader's ``grades.csv`` and a per-exercise ``exercises.csv``.

Both files come from nbgrader's gradebook (``<course>/gradebook.db``), the truth for scores:
it holds the autograder's points and the instructor's manual grades of written answers.
``read_gradebook`` copies what the exports and the class report need into plain dataclasses,
so that nothing downstream holds a database session.
"""

from __future__ import annotations

import csv
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from autograder.course import CourseError, assignments, gradebook_url, is_sqlite

__all__ = [
    "ExportResult",
    "GradebookSnapshot",
    "GradedCell",
    "SubmissionScores",
    "export",
    "format_number",
    "open_gradebook",
    "read_gradebook",
]

NOTHING_GRADED = "nothing graded yet: run backprop-course autograde first"

#: The fixed columns of ``exercises.csv`` around the per-cell ones.
LEADING_COLUMNS = ("student_id", "assignment")
TRAILING_COLUMNS = ("score", "max_score", "needs_manual_grade")


# ---------------------------------------------------------------------------------------
# Reading the gradebook
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GradedCell:
    """A graded cell of an assignment (autograded test or manually graded answer).

    column : the ``exercises.csv`` column, the cell's grade_id (``notebook/grade_id`` only
        when two notebooks of one assignment share a grade_id)
    """

    notebook: str
    grade_id: str
    max_score: float
    cell_type: str  # "code" (autograded test) or "markdown" (written answer)
    column: str


@dataclass(frozen=True)
class SubmissionScores:
    """One student's submission of one assignment, as the gradebook scores it.

    cells : column -> score; None while the cell is not graded yet (a written answer waiting
        for formgrader)
    pending : columns of the cells still waiting for a manual grade, in notebook order
    """

    assignment: str
    student: str
    cells: dict[str, float | None]
    score: float
    max_score: float
    needs_manual_grade: bool
    pending: tuple[str, ...] = ()


@dataclass
class GradebookSnapshot:
    """Everything the exports and the report read from the gradebook, in course order.

    assignments : names, in course order (``course.assignments``), then any others by name
    cells : assignment -> its graded cells, notebooks by name, cells in notebook order
    notebooks : assignment -> its notebook names
    max_scores : assignment -> maximum score
    submissions : in assignment order, then by student id
    students : every student id of the gradebook, sorted
    """

    assignments: list[str] = field(default_factory=list)
    cells: dict[str, list[GradedCell]] = field(default_factory=dict)
    notebooks: dict[str, list[str]] = field(default_factory=dict)
    max_scores: dict[str, float] = field(default_factory=dict)
    submissions: list[SubmissionScores] = field(default_factory=list)
    students: list[str] = field(default_factory=list)

    def of(self, assignment: str) -> list[SubmissionScores]:
        """The submissions of one assignment, by student id."""
        return [s for s in self.submissions if s.assignment == assignment]


def gradebook_path(course_root: Path) -> Path:
    return Path(course_root) / "gradebook.db"


def _course_id(course_root: Path) -> str:
    """The course id of ``nbgrader_config.py`` (nbgrader's default when there is none).

    Opening the gradebook under another id would add a course row to it.
    """
    config_file = Path(course_root) / "nbgrader_config.py"
    if not config_file.is_file():
        return "default_course"
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader(config_file.name, path=str(config_file.parent)).load_config()
    return str(config.CourseDirectory.get("course_id") or "default_course")


@contextmanager
def open_gradebook(course_root: Path) -> Iterator:
    """nbgrader's ``Gradebook`` of ``course_root``, closed on exit: the database of
    ``autograder.course.gradebook_url`` (``nbgrader_config.py``'s, or --db), else
    ``gradebook.db``.

    Raises :class:`CourseError` when there is no ``gradebook.db`` yet (``Gradebook`` itself
    would silently create an empty one).
    """
    from nbgrader.api import Gradebook

    url = gradebook_url(course_root)
    if is_sqlite(url):
        path = gradebook_path(course_root)
        if not path.is_file():
            raise CourseError(f"{NOTHING_GRADED} (no {path})")
        url = f"sqlite:///{path.resolve()}"
    with Gradebook(url, _course_id(course_root)) as gradebook:
        yield gradebook


def _source_order(course_root: Path, assignment: str, notebook: str) -> list[str]:
    """grade_ids of the graded cells of a source notebook, in cell order ([] if unreadable)."""
    path = Path(course_root) / "source" / assignment / f"{notebook}.ipynb"
    try:
        cells = json.loads(path.read_text(encoding="utf-8")).get("cells", [])
    except (OSError, ValueError, AttributeError):
        return []
    order = []
    for cell in cells:
        meta = cell.get("metadata", {}).get("nbgrader", {}) if isinstance(cell, dict) else {}
        if (meta.get("grade") or meta.get("task")) and meta.get("grade_id"):
            order.append(meta["grade_id"])
    return order


def _is_pending(grade) -> bool:
    """True while a grade is not graded yet: waiting for a manual grade, or never scored."""
    return bool(grade.needs_manual_grade) or (
        grade.auto_score is None and grade.manual_score is None)


def read_gradebook(gradebook, course_root: Path) -> GradebookSnapshot:
    """Copy the gradebook's assignments, graded cells and submission scores.

    Parameters
    ----------
    gradebook : nbgrader.api.Gradebook, open
    course_root : Path
        the course folder; ``source/`` gives the course order of assignments and the
        notebook order of cells (the gradebook stores neither)

    Returns
    -------
    GradebookSnapshot
    """
    snap = GradebookSnapshot()
    course_order = assignments(course_root)
    by_name = {a.name: a for a in gradebook.assignments}
    snap.assignments = ([name for name in course_order if name in by_name]
                        + sorted(set(by_name) - set(course_order)))
    snap.students = sorted(student.id for student in gradebook.students)

    for name in snap.assignments:
        assignment = by_name[name]
        snap.max_scores[name] = float(assignment.max_score or 0.0)
        snap.notebooks[name] = [nb.name for nb in assignment.notebooks]
        cells = []
        for nb in assignment.notebooks:
            # The gradebook lists cells in insertion order, which is the notebook order when
            # nbgrader created them; the source notebook, when present, is authoritative.
            order = {grade_id: i for i, grade_id in enumerate(
                _source_order(course_root, name, nb.name))}
            graded = [*nb.grade_cells, *nb.task_cells]
            graded.sort(key=lambda c, order=order: order.get(c.name, len(order)))
            cells.extend((nb.name, c) for c in graded)
        ids = [c.name for _, c in cells]
        snap.cells[name] = [
            GradedCell(notebook=nb_name, grade_id=c.name, max_score=float(c.max_score),
                       cell_type=c.cell_type,
                       column=c.name if ids.count(c.name) == 1 else f"{nb_name}/{c.name}")
            for nb_name, c in cells]

        for submission in sorted(assignment.submissions, key=lambda s: s.student_id):
            scores: dict[str, float | None] = {}
            for nb in submission.notebooks:
                for grade in nb.grades:
                    column = (grade.cell.name if ids.count(grade.cell.name) == 1
                              else f"{nb.name}/{grade.cell.name}")
                    scores[column] = None if _is_pending(grade) else float(grade.score)
            columns = [c.column for c in snap.cells[name]]
            snap.submissions.append(SubmissionScores(
                assignment=name,
                student=submission.student_id,
                cells={column: scores.get(column) for column in columns},
                score=float(submission.score or 0.0),
                max_score=float(submission.max_score or 0.0),
                needs_manual_grade=bool(submission.needs_manual_grade),
                pending=tuple(column for column in columns if scores.get(column) is None),
            ))
    return snap


# ---------------------------------------------------------------------------------------
# Export
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExportResult:
    """What ``export`` wrote.

    grades_csv : nbgrader's own export, one row per student and assignment (0 when missing)
    exercises_csv : one row per submission, one column per graded cell
    columns : the header of ``exercises.csv``
    rows : the number of data rows of ``exercises.csv``
    """

    grades_csv: Path
    exercises_csv: Path
    columns: tuple[str, ...]
    rows: int

    def lines(self) -> list[str]:
        """One human line per written file, for the CLI."""
        return [f"wrote {self.grades_csv} (nbgrader's grades)",
                f"wrote {self.exercises_csv} ({self.rows} submissions, "
                f"{len(self.columns) - len(LEADING_COLUMNS) - len(TRAILING_COLUMNS)} "
                "graded cells)"]


def format_number(value: float | None) -> str:
    """A score as text: ``2`` for 2.0, ``1.5``, and ``""`` for None (not graded yet)."""
    if value is None:
        return ""
    value = float(value)
    return str(int(value)) if value.is_integer() else repr(value)


@contextmanager
def _atomic(path: Path) -> Iterator[Path]:
    """A temporary path beside ``path``; moved onto ``path`` only when the block succeeds."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    os.chmod(tmp, 0o644)  # mkstemp makes it private; an export is for sharing
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def exercise_columns(snap: GradebookSnapshot) -> list[str]:
    """The header of ``exercises.csv``: assignments in course order, cells in notebook order."""
    columns = list(LEADING_COLUMNS)
    for name in snap.assignments:
        columns.extend(c.column for c in snap.cells[name] if c.column not in columns)
    return columns + list(TRAILING_COLUMNS)


def exercise_rows(snap: GradebookSnapshot) -> list[dict[str, str]]:
    """The rows of ``exercises.csv``: one per submission, blank cells where not graded yet.

    A student who submitted nothing has no row here (``grades.csv`` lists them with 0).
    """
    return [{
        "student_id": s.student,
        "assignment": s.assignment,
        **{column: format_number(value) for column, value in s.cells.items()},
        "score": format_number(s.score),
        "max_score": format_number(s.max_score),
        "needs_manual_grade": str(s.needs_manual_grade),
    } for s in snap.submissions]


def export(course_root: Path, out_dir: Path) -> ExportResult:
    """Write ``grades.csv`` (nbgrader's CSV export) and ``exercises.csv`` into ``out_dir``.

    Each file is written to a temporary file and moved into place, so a reader never sees a
    half-written export; an existing export is replaced (exports are regenerated outputs).

    Parameters
    ----------
    course_root : Path
        the nbgrader course folder, holding ``gradebook.db``
    out_dir : Path
        created if missing

    Returns
    -------
    ExportResult

    Raises
    ------
    CourseError
        when nothing has been graded yet (no gradebook)
    """
    from nbgrader.plugins.export import CsvExportPlugin

    out_dir = Path(out_dir)
    grades_csv, exercises_csv = out_dir / "grades.csv", out_dir / "exercises.csv"
    with open_gradebook(course_root) as gradebook:
        with _atomic(grades_csv) as tmp:
            # What `nbgrader export` does: ExportApp sets the plugin's `to`, calls export(gb).
            CsvExportPlugin(to=str(tmp)).export(gradebook)
        snap = read_gradebook(gradebook, course_root)

    columns = exercise_columns(snap)
    rows = exercise_rows(snap)
    with _atomic(exercises_csv) as tmp, tmp.open("w", encoding="utf-8", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=columns, restval="", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return ExportResult(grades_csv=grades_csv, exercises_csv=exercises_csv,
                        columns=tuple(columns), rows=len(rows))
