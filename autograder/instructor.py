"""The instructor's steps after the release: autograde and feedback, through nbgrader's API.

Import (``autograder.collect``), export (``autograder.export``) and the class report
(``autograder.report``) live in their own modules; ``backprop-course`` ties them together.
One bad submission never stops a batch: each one ends as a :class:`GradedSubmission`, with
its error and what needs attention.
"""

from __future__ import annotations

import multiprocessing
import time
import warnings
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import nbformat

from autograder.course import assignments, nbgrader_api
from autograder.records import Attention, CellGrade, GradingRecord, load_record

__all__ = ["GradedSubmission", "autograde", "feedback", "submissions"]

_LOCK_RETRIES = 3


@dataclass
class GradedSubmission:
    """The outcome of autograding one student's submission of one assignment."""

    student: str
    assignment: str
    score: float | None = None
    max_score: float | None = None
    seconds: float = 0.0
    attention: list[Attention] = field(default_factory=list)
    error: str | None = None  # grading failed (the gradebook still has a zero)

    def line(self) -> str:
        """One line for the terminal: ``alice 01_neuron 7/7 (1.4 s)`` plus problems."""
        score = (f"{self.score:g}/{self.max_score:g}" if self.score is not None
                 and self.max_score is not None else "not graded")
        text = f"{self.student} {self.assignment} {score} ({self.seconds:.1f} s)"
        if self.error:
            text += f" ERROR: {self.error}"
        for item in self.attention:
            text += f"\n    needs attention ({item.reason}): {item.detail}"
        return text


def submissions(course_root: Path, names: Iterable[str] | None = None,
                students: Iterable[str] | None = None) -> list[tuple[str, str]]:
    """(student, assignment) of every submission in ``submitted/``, sorted."""
    submitted = Path(course_root) / "submitted"
    wanted = set(names) if names else None
    who = set(students) if students else None
    found = []
    for folder in sorted(submitted.glob("*/*")):
        student, assignment = folder.parent.name, folder.name
        if folder.is_dir() and (wanted is None or assignment in wanted) \
                and (who is None or student in who):
            found.append((student, assignment))
    return found


def _notebook_names(course_root: Path, assignment: str) -> list[str]:
    return sorted(p.stem for p in (Path(course_root) / "source" / assignment).glob("*.ipynb"))


def _prepare_gradebook(course_root: Path, names: set[str],
                       students: set[str]) -> dict[str, str]:
    """Create every student up front (two parallel workers creating the same new student
    would collide in the gradebook); return why each assignment of ``names`` that cannot be
    graded cannot (unknown, or never released)."""
    from nbgrader.api import Gradebook, MissingEntry

    api = nbgrader_api(course_root)
    known = assignments(course_root)
    problems = {name: f"no assignment {name} in the course (it has {', '.join(known)})"
                for name in names - set(known)}
    with Gradebook(api.coursedir.db_url, api.coursedir.course_id) as gb:
        for name in sorted(names & set(known)):
            try:
                gb.find_assignment(name)
            except MissingEntry:
                problems[name] = (f"{name} has not been released yet: run "
                                  f"`backprop-course release {name}` first")
        for student in sorted(students):
            gb.update_or_create_student(student)
    return problems


def autograde(course_root: Path, names: Iterable[str] | None = None,
              students: Iterable[str] | None = None, *, jobs: int = 1,
              on_result: Callable[[GradedSubmission], None] | None = None,
              ) -> list[GradedSubmission]:
    """Autograde every submission (of ``names``, by ``students``) with the trusted grader.

    ``jobs`` submissions are graded at once, each in its own process. ``on_result`` is
    called as each one finishes (for progress). A submission of an assignment that is unknown
    or was never released ends with its error; the others are still graded.
    """
    course_root = Path(course_root).resolve()
    todo = submissions(course_root, names, students)
    problems = _prepare_gradebook(course_root, {assignment for _, assignment in todo},
                                  {student for student, _ in todo})
    results = []
    for student, assignment in todo:
        if assignment in problems:  # one line each; the other submissions are still graded
            results.append(GradedSubmission(student, assignment, error=problems[assignment]))
            if on_result is not None:
                on_result(results[-1])

    def crashed(student: str, assignment: str, error: Exception) -> GradedSubmission:
        return GradedSubmission(student, assignment, error=f"grading crashed: {error}")

    gradable = [(s, a) for s, a in todo if a not in problems]
    results += _each(grade_submission, course_root, gradable, jobs, on_result, crashed)
    return sorted(results, key=lambda r: (r.assignment, r.student))


def _each(step, course_root: Path, todo: list[tuple[str, str]], jobs: int, on_result,
          crashed) -> list:
    """``step(course_root, assignment, student)`` for every (student, assignment), ``jobs`` at
    once in worker processes; ``crashed(student, assignment, error)`` when a worker dies."""
    results = []

    def done(result) -> None:
        results.append(result)
        if on_result is not None:
            on_result(result)

    if jobs <= 1 or len(todo) <= 1:
        for student, assignment in todo:
            done(step(course_root, assignment, student))
        return results
    context = multiprocessing.get_context("forkserver")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        futures = {pool.submit(step, course_root, assignment, student): (student, assignment)
                   for student, assignment in todo}
        for future in as_completed(futures):
            try:
                done(future.result())
            except Exception as error:  # the worker process itself died
                done(crashed(*futures[future], error))
    return results


_APIS: dict[Path, object] = {}


def _api(course_root: Path):
    if course_root not in _APIS:
        _APIS[course_root] = nbgrader_api(course_root)
    return _APIS[course_root]


def grade_submission(course_root: Path, assignment: str, student: str) -> GradedSubmission:
    """Autograde one submission; never raises (problems end up in the result)."""
    from nbgrader.api import Gradebook, MissingEntry

    started = time.perf_counter()
    result = GradedSubmission(student, assignment)
    folder = Path(course_root) / "submitted" / student / assignment
    expected = _notebook_names(course_root, assignment)
    broken: list[tuple[str, Attention]] = []
    for name in expected:
        path = folder / f"{name}.ipynb"
        if not path.exists():
            broken.append((name, Attention("missing-notebook", f"no {name}.ipynb was submitted")))
            continue
        try:
            nbformat.read(path, as_version=4)
        except Exception as error:
            broken.append((name, Attention(
                "unreadable", f"{name}.ipynb is not a notebook nbformat can read "
                              f"({type(error).__name__}: {str(error)[:120]})")))
    for path in sorted(folder.glob("*.ipynb")):
        if path.stem not in expected:
            result.attention.append(Attention(
                "error", f"{path.name} is not a notebook of {assignment} and was not graded"))
    api = _api(course_root)
    log = ""
    for _ in range(_LOCK_RETRIES):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SQLAlchemy's warnings inside nbgrader
            outcome = api.autograde(assignment, student, force=True, create=True)
        log = outcome.get("error") or outcome.get("log") or ""
        if outcome["success"] or "database is locked" not in log:
            break
    if not outcome["success"] and not broken:
        result.error = _last_line(log)
        result.attention.append(Attention("error", f"nbgrader could not grade it: {result.error}"))
    with Gradebook(api.coursedir.db_url, api.coursedir.course_id) as gb:
        for name, attention in broken:
            _zero_notebook(gb, course_root, assignment, student, name, attention)
            result.attention.append(attention)
        try:
            submission = gb.find_submission(assignment, student)
            result.score, result.max_score = submission.score, submission.max_score
        except MissingEntry:
            pass
    record = load_record(course_root, assignment, student)
    if record is not None:
        result.attention += [a for a in record.attention if a not in result.attention]
        if result.attention != record.attention:
            record.attention = result.attention
            record.save(course_root)
    result.seconds = time.perf_counter() - started
    return result


def _zero_notebook(gb, course_root: Path, assignment: str, student: str, name: str,
                   attention: Attention) -> None:
    """A notebook that is missing or unreadable scores 0 in every cell, with a record."""
    from nbgrader.api import MissingEntry

    try:
        gb.update_or_create_student(student)
        gb.update_or_create_submission(assignment, student)
        notebook = gb.find_submission_notebook(name, assignment, student)
    except MissingEntry:
        return
    cells = []
    for grade in notebook.grades:
        if grade.auto_score is None and grade.manual_score is None:
            grade.auto_score = 0
        grade.needs_manual_grade = False
        cells.append(CellGrade(grade.cell.name, float(grade.score), float(grade.max_score)))
    gb.db.commit()
    GradingRecord(assignment=assignment, student=student, notebook=name, cells=cells,
                  attention=[attention],
                  graded_at=datetime.now(UTC).isoformat(timespec="seconds")).save(course_root)


def _last_line(log: str) -> str:
    lines = [line.strip() for line in log.strip().splitlines() if line.strip()]
    return lines[-1][:300] if lines else "no detail from nbgrader"


def feedback(course_root: Path, names: Iterable[str] | None = None,
             students: Iterable[str] | None = None, *,
             jobs: int = 1) -> tuple[list[Path], list[str]]:
    """Generate the HTML feedback of every autograded submission; (files, errors)."""
    course_root = Path(course_root).resolve()
    wanted = set(names) if names else None
    who = set(students) if students else None
    todo = [(folder.parent.name, folder.name)
            for folder in sorted((course_root / "autograded").glob("*/*"))
            if (not wanted or folder.name in wanted) and (not who or folder.parent.name in who)]

    def crashed(student: str, assignment: str, error: Exception) -> tuple[list, str]:
        return [], f"{student} {assignment}: feedback crashed: {error}"

    files, errors = [], []
    for made, error in _each(feedback_of, course_root, todo, jobs, None, crashed):
        files += made
        if error:
            errors.append(error)
    return sorted(files), errors


def feedback_of(course_root: Path, assignment: str, student: str) -> tuple[list[Path], str]:
    """The feedback files of one submission, and an error line ("" when none)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        outcome = _api(course_root).generate_feedback(assignment, student, force=True)
    if not outcome["success"]:
        return [], (f"{student} {assignment}: "
                    f"{_last_line(outcome.get('error') or outcome.get('log') or '')}")
    return sorted((course_root / "feedback" / student / assignment).glob("*.html")), ""
