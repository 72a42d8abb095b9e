"""The instructor's steps after the release: autograde and feedback, through nbgrader's API.

Import (``collect``), export (``export``) and the class report (``report``) live in their own
modules of ``autograder.instructor``; ``backprop-course`` ties them together.
One bad submission never stops a batch: each one ends as a :class:`GradedSubmission`, with
its score, its error and what needs attention.

Autograde and feedback both write the gradebook, so each holds the course's lock
(:func:`course_lock`, ``COURSE/.grading.lock``) while it runs: a second one waits for it, or
stops at once with a message naming the first.

The gradebook is SQLite's ``gradebook.db`` in the course folder unless a database URL says
otherwise (``db_url``, ``nbgrader_config.py``: ``autograder.course.gradebook_url``). With a
``scheduler``, autograde grades on a Dask cluster (``autograder.instructor.cluster``): nbgrader's
steps stay here, the sandboxed grading runs on the workers.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import re
import time
import warnings
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import nbformat

from autograder.course import DB_URL_ENV, CourseError, assignments, nbgrader_api
from autograder.grading import isolation, remote
from autograder.grading.records import Attention, CellGrade, GradingRecord, load_record

try:
    import fcntl
except ImportError:  # Windows: no advisory locks, runs are not serialised
    fcntl = None

__all__ = ["LOCK_FILE", "CourseBusy", "GradedSubmission", "UnisolatedMachine", "autograde",
           "course_lock", "feedback", "submissions"]

_LOCK_RETRIES = 3
#: The course's lock, held by autograde and feedback (both write the gradebook).
LOCK_FILE = ".grading.lock"
_DOING = {"autograde": "grading", "feedback": "writing the feedback of"}
KILLED = "the grading process was killed while grading this submission"


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
    killed: bool = False  # its grading process (or every Dask worker that ran it) died

    @property
    def failed(self) -> bool:
        """Grading failed, or what graded it died (not: the learner's notebook crashed)."""
        return self.error is not None or self.killed

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


class UnisolatedMachine(CourseError):
    """Grading refused: the machine cannot isolate the learner's code."""


class CourseBusy(CourseError):
    """Another autograde or feedback holds the course's lock; the message names it."""


def _holder(path: Path) -> dict:
    """What the lock file says about the run holding it (empty when it does not say)."""
    try:
        holder = json.loads(path.read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        return {}
    return holder if isinstance(holder, dict) else {}


def _running(holder: dict, still: bool = False) -> str:
    """Who holds the lock: another `backprop-course autograde` is grading ... (pid, since)."""
    command = holder.get("command") if holder.get("command") in _DOING else "autograde"
    try:
        started = datetime.fromisoformat(holder["since"]).astimezone()
        since = started.strftime("%H:%M" if started.date() == datetime.now().date()
                                 else "%Y-%m-%d %H:%M")
        who = f" (pid {int(holder['pid'])}, since {since})"
    except (KeyError, TypeError, ValueError):  # not written yet, or by a killed run
        who = ""
    doing = f"still {_DOING[command]}" if still else _DOING[command]
    return f"another `backprop-course {command}` is {doing} this course{who}"


@contextmanager
def course_lock(course_root: Path, command: str, wait: float = 0.0,
                on_wait: Callable[[str], None] | None = None) -> Iterator[None]:
    """Hold the course's lock (``COURSE/.grading.lock``) for ``command``.

    An advisory ``flock``: it goes with the process, so a run that is killed frees it. While
    another run holds it, wait up to ``wait`` seconds (``on_wait`` is told once, with the
    reason), then raise :class:`CourseBusy` naming that run. Without ``fcntl`` (Windows)
    nothing is locked.
    """
    path = Path(course_root) / LOCK_FILE
    if fcntl is None or not path.parent.is_dir():
        yield
        return
    with open(path, "a+", encoding="utf-8") as stream:
        deadline = time.monotonic() + wait
        told = False
        while True:
            try:
                fcntl.flock(stream, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    if wait:
                        raise CourseBusy(f"{_running(_holder(path), still=True)} after {wait:g} "
                                         "s of waiting; wait for it or pass a longer --wait "
                                         "SECONDS") from None
                    raise CourseBusy(f"{_running(_holder(path))}; wait for it or pass --wait "
                                     "SECONDS") from None
                if on_wait is not None and not told:
                    on_wait(f"{_running(_holder(path))}; waiting for it (at most {wait:g} s)")
                    told = True
                time.sleep(min(0.25, max(deadline - time.monotonic(), 0.01)))
        stream.seek(0)
        stream.truncate()
        stream.write(json.dumps({"command": command, "pid": os.getpid(),
                                 "since": datetime.now(UTC).isoformat(timespec="seconds")}))
        stream.flush()
        try:
            yield
        finally:
            stream.truncate(0)  # nobody holds it any more; closing the file unlocks it


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


def _prepare_gradebook(course_root: Path, names: set[str], students: set[str],
                       db_url: str | None = None) -> dict[str, str]:
    """Create every student up front (two parallel workers creating the same new student
    would collide in the gradebook); return why each assignment of ``names`` that cannot be
    graded cannot (unknown, or never released)."""
    from nbgrader.api import MissingEntry

    api = nbgrader_api(course_root, db_url=db_url)
    known = assignments(course_root)
    problems = {name: f"no assignment {name} in the course (it has {', '.join(known)})"
                for name in names - set(known)}
    with _gradebook(api) as gb:
        for name in sorted(names & set(known)):
            try:
                gb.find_assignment(name)
            except MissingEntry:
                problems[name] = (f"{name} has not been released yet: run "
                                  f"`backprop-course release {name}` first")
        for student in sorted(students):
            gb.update_or_create_student(student)
    return problems


@contextmanager
def _gradebook(api) -> Iterator:
    """nbgrader's ``Gradebook`` of the course; a database that cannot be opened is a
    :class:`CourseError` naming it (never a fallback to another)."""
    from nbgrader.api import Gradebook
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import OperationalError

    try:
        gradebook = Gradebook(api.coursedir.db_url, api.coursedir.course_id)
    except OperationalError as error:
        where = make_url(api.coursedir.db_url).render_as_string(hide_password=True)
        reason = str(error.orig or error).strip().splitlines()[0]
        raise CourseError(f"cannot open the gradebook at {where}: {reason}") from None
    with gradebook:
        yield gradebook


def autograde(course_root: Path, names: Iterable[str] | None = None,
              students: Iterable[str] | None = None, *, jobs: int | None = 1,
              on_result: Callable[[GradedSubmission], None] | None = None,
              wait: float = 0.0, on_wait: Callable[[str], None] | None = None,
              allow_unisolated: bool = False, scheduler: str | None = None,
              db_url: str | None = None, on_running: Callable[[int], None] | None = None,
              on_cluster: Callable[..., None] | None = None) -> list[GradedSubmission]:
    """Autograde every submission (of ``names``, by ``students``) with the trusted grader.

    ``jobs`` submissions are graded at once, each in its own process. ``on_result`` is
    called as each one finishes, ``on_running`` with how many are being graded (for
    progress). A submission of an assignment that is unknown or was never released ends with
    its error; the others are still graded. While another autograde or feedback runs on the
    course, wait up to ``wait`` seconds for it, then raise :class:`CourseBusy` (see
    :func:`course_lock`). On a machine that cannot isolate the learner's code
    (``isolation.detect()``), raise :class:`UnisolatedMachine` unless ``allow_unisolated``.

    ``scheduler``: the address of a Dask scheduler; each notebook is then graded by one of its
    workers, ``jobs`` (None: ``Cluster.lanes()``) submissions in flight; ``on_cluster(cluster,
    jobs)`` is told where, before the first. ``db_url``: the gradebook's database URL (default:
    ``nbgrader_config.py``'s, or $BACKPROP_COURSE_DB_URL).
    """
    cluster = None
    if scheduler:  # the workers run the learner's code: their isolation counts, not ours
        from autograder.instructor.cluster import connect

        cluster = connect(scheduler, allow_unisolated=allow_unisolated)
        jobs = jobs or cluster.lanes()
        if on_cluster is not None:
            on_cluster(cluster, jobs)
    elif (why := isolation.refusal()) is not None and not allow_unisolated:
        raise UnisolatedMachine(why)
    if allow_unisolated and (cluster is not None or isolation.refusal() is not None):
        os.environ[isolation.ALLOW_UNISOLATED_ENV] = "1"  # for the grading processes (jobs)
    jobs = jobs or 1
    db_url = db_url or os.environ.get(DB_URL_ENV) or None
    course_root = Path(course_root).resolve()
    try:
        return _autograde(course_root, submissions(course_root, names, students), jobs,
                          on_result, on_running, wait, on_wait, db_url, cluster,
                          allow_unisolated)
    finally:
        if cluster is not None:
            remote.close_client(cluster.address)


def _autograde(course_root: Path, todo: list[tuple[str, str]], jobs: int, on_result,
               on_running, wait: float, on_wait, db_url: str | None, cluster,
               allow_unisolated: bool) -> list[GradedSubmission]:
    """:func:`autograde` once the backend is chosen: under the course's lock, every
    submission of ``todo`` through ``grade_submission``."""
    with course_lock(course_root, "autograde", wait, on_wait):
        problems = _prepare_gradebook(course_root, {assignment for _, assignment in todo},
                                      {student for student, _ in todo}, db_url)
        results = []
        for student, assignment in todo:
            if assignment in problems:  # one line each; the other submissions are still graded
                results.append(GradedSubmission(student, assignment,
                                                error=problems[assignment]))
                if on_result is not None:
                    on_result(results[-1])

        def crashed(student: str, assignment: str, error: Exception) -> GradedSubmission:
            if isinstance(error, BrokenProcessPool):  # killed twice, on its own the second time
                return _killed(course_root, assignment, student, db_url=db_url)
            return GradedSubmission(student, assignment, error=f"grading crashed: {error}")

        gradable = [(s, a) for s, a in todo if a not in problems]
        step = _grading_step(db_url, cluster, allow_unisolated and cluster is not None)
        progress = _Progress(len(gradable), jobs, on_result, on_running,
                             count_running=cluster is None)
        with _watching(cluster, on_running):
            results += _each(step, course_root, gradable, jobs, progress.done, crashed)
    return sorted(results, key=lambda r: (r.assignment, r.student))


def _grading_step(db_url: str | None, cluster, allow_unisolated: bool):
    """``grade_submission``, with the options that differ from the course's defaults (the
    function itself when none do)."""
    options = {"db_url": db_url,
               "scheduler": cluster.address if cluster is not None else None,
               "run_label": cluster.label if cluster is not None else None,
               "allow_unisolated": allow_unisolated}
    options = {name: value for name, value in options.items() if value}
    return partial(grade_submission, **options) if options else grade_submission


def _watching(cluster, on_running):
    """While grading on a cluster, tell ``on_running`` the scheduler's count of running
    tasks."""
    if cluster is None or on_running is None:
        return nullcontext()
    from autograder.instructor.cluster import RunningTasks

    return RunningTasks(cluster, on_running)


class _Progress:
    """Passes each result on, and how many are being graded (at most ``jobs``: the pool keeps
    that many busy while there is work) when ``count_running``."""

    def __init__(self, total: int, jobs: int, on_result, on_running, *,
                 count_running: bool = True) -> None:
        self.left, self.jobs = total, jobs
        self.on_result, self.on_running = on_result, on_running
        self.count_running = count_running
        self._tell_running()

    def _tell_running(self) -> None:
        if self.on_running is not None and self.count_running:
            self.on_running(min(self.jobs, self.left))

    def done(self, result) -> None:
        self.left -= 1
        if self.on_result is not None:
            self.on_result(result)
        self._tell_running()


def _each(step, course_root: Path, todo: list[tuple[str, str]], jobs: int, on_result,
          crashed) -> list:
    """``step(course_root, assignment, student)`` for every (student, assignment), ``jobs`` at
    once in worker processes; ``crashed(student, assignment, error)`` when one fails.

    A learner's code may kill the process grading it (where the machine cannot isolate it),
    which breaks the whole pool. Every submission the pool had not finished then runs again,
    each in a process of its own, so that only the one(s) that kill it again end in
    ``crashed``, with a ``BrokenProcessPool`` error.
    """
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
    unfinished = []
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        futures = {pool.submit(step, course_root, assignment, student): (student, assignment)
                   for student, assignment in todo}
        for future in as_completed(futures):
            try:
                done(future.result())
            except BrokenProcessPool:  # a worker died: which submission killed it is unknown
                unfinished.append(futures[future])
            except Exception as error:
                done(crashed(*futures[future], error))
    if not unfinished:
        return results

    def alone(student: str, assignment: str):
        with ProcessPoolExecutor(max_workers=1, mp_context=context) as solo:
            return solo.submit(step, course_root, assignment, student).result()

    with ThreadPoolExecutor(max_workers=jobs) as threads:  # still ``jobs`` at once
        futures = {threads.submit(alone, *item): item for item in sorted(unfinished)}
        for future in as_completed(futures):
            try:
                done(future.result())
            except Exception as error:
                done(crashed(*futures[future], error))
    return results


_APIS: dict[tuple, object] = {}


def _api(course_root: Path, db_url: str | None = None, scheduler: str | None = None,
         run_label: str | None = None, allow_unisolated: bool = False):
    """This process's ``NbGraderAPI`` of the course (kept): with ``scheduler``, its
    ``TrustedExecute`` grades on that Dask cluster, its tasks' keys carrying ``run_label``."""
    key = (course_root, db_url, scheduler, run_label, allow_unisolated)
    if key not in _APIS:
        overrides = None
        if scheduler:
            from traitlets.config import Config

            overrides = Config({"TrustedExecute": {"scheduler": scheduler,
                                                   "run_label": run_label or "",
                                                   "allow_unisolated": allow_unisolated}})
        _APIS[key] = nbgrader_api(course_root, overrides, db_url=db_url)
    return _APIS[key]


def grade_submission(course_root: Path, assignment: str, student: str, *,
                     db_url: str | None = None, scheduler: str | None = None,
                     run_label: str | None = None,
                     allow_unisolated: bool = False) -> GradedSubmission:
    """Autograde one submission; never raises (problems end up in the result).

    ``db_url``: the gradebook's database (default: the course's). ``scheduler``: grade its
    notebooks on that Dask cluster (``run_label``: in the tasks' keys; ``allow_unisolated``: on
    workers that cannot isolate the learner's code too).
    """
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
    api = _api(course_root, db_url, scheduler, run_label, allow_unisolated)
    log = ""
    for _ in range(_LOCK_RETRIES):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SQLAlchemy's warnings inside nbgrader
            outcome = api.autograde(assignment, student, force=True, create=True)
        # nbgrader's log names the exception; its "error" is only its own generic one
        log = "\n".join(part for part in (outcome.get("log"), outcome.get("error")) if part)
        if outcome["success"] or "database is locked" not in log:
            break
    if scheduler and (why := remote.take_killed(assignment, student)) is not None:
        killed = _killed(course_root, assignment, student, why, db_url=db_url)
        killed.seconds = time.perf_counter() - started
        return killed
    if not outcome["success"] and not broken:
        result.error = _nbgrader_error(log)
        failed = Attention("error", f"nbgrader could not grade it: {result.error}")
        broken = [(name, failed) for name in expected]  # what could not be graded scores 0
    with Gradebook(api.coursedir.db_url, api.coursedir.course_id) as gb:
        for name, attention in broken:
            _zero_notebook(gb, course_root, assignment, student, name, attention)
            if attention not in result.attention:
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
                   attention: Attention, *, reset: bool = False) -> None:
    """A notebook that could not be graded scores 0 in every cell, with a record.

    A cell keeps a score it already has (a manual grade), unless ``reset``: then only manual
    grades stay. The record keeps the hidden seeds of an earlier one.
    """
    from nbgrader.api import MissingEntry

    try:
        gb.update_or_create_student(student)
        gb.update_or_create_submission(assignment, student)
        notebook = gb.find_submission_notebook(name, assignment, student)
    except MissingEntry:
        return
    cells = []
    for grade in notebook.grades:
        if reset or (grade.auto_score is None and grade.manual_score is None):
            grade.auto_score = 0
        grade.needs_manual_grade = False
        cells.append(CellGrade(grade.cell.name, float(grade.score), float(grade.max_score)))
    gb.db.commit()
    try:
        earlier = load_record(course_root, assignment, student)
    except (OSError, ValueError, TypeError):  # a damaged record: nothing to keep
        earlier = None
    GradingRecord(assignment=assignment, student=student, notebook=name, cells=cells,
                  seeds=dict(earlier.seeds) if earlier is not None else {},
                  attention=[attention],
                  graded_at=datetime.now(UTC).isoformat(timespec="seconds")).save(course_root)


def _killed(course_root: Path, assignment: str, student: str, detail: str = KILLED, *,
            db_url: str | None = None) -> GradedSubmission:
    """A submission whose grading process was killed, twice (or whose grading task killed
    its Dask workers, ``detail``): 0 in the gradebook, reported."""
    from nbgrader.api import Gradebook, MissingEntry

    result = GradedSubmission(student, assignment, attention=[Attention("crashed", detail)],
                              killed=True)
    api = _api(course_root, db_url)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SQLAlchemy's warnings inside nbgrader
        with Gradebook(api.coursedir.db_url, api.coursedir.course_id) as gb:
            for name in _notebook_names(course_root, assignment):
                _zero_notebook(gb, course_root, assignment, student, name,
                               result.attention[0], reset=True)
            try:
                submission = gb.find_submission(assignment, student)
                result.score, result.max_score = submission.score, submission.max_score
            except MissingEntry:
                pass
    return result


def _last_line(log: str) -> str:
    lines = [line.strip() for line in log.strip().splitlines() if line.strip()]
    return lines[-1][:300] if lines else "no detail from nbgrader"


_EXCEPTION = re.compile(r"^\s*(?:\[\w+\]\s*)?([A-Za-z_][\w.]*(?:Error|Exception|Entry|Exit)\b.*)$")


def _nbgrader_error(log: str) -> str:
    """The exception that stopped nbgrader, from its log: the last one that is not nbgrader's
    generic "see the above traceback"."""
    found = [m.group(1).strip() for m in map(_EXCEPTION.match, log.splitlines()) if m]
    specific = [line for line in found if "above traceback" not in line]
    return (specific or found or [_last_line(log)])[-1][:300]


def feedback(course_root: Path, names: Iterable[str] | None = None,
             students: Iterable[str] | None = None, *, jobs: int = 1, wait: float = 0.0,
             on_wait: Callable[[str], None] | None = None,
             db_url: str | None = None) -> tuple[list[Path], list[str]]:
    """Generate the HTML feedback of every autograded submission; (files, errors).

    Holds the course's lock as :func:`autograde` does (``wait``, ``on_wait``, ``db_url``: the
    same).
    """
    course_root = Path(course_root).resolve()
    db_url = db_url or os.environ.get(DB_URL_ENV) or None
    step = partial(feedback_of, db_url=db_url) if db_url else feedback_of
    wanted = set(names) if names else None
    who = set(students) if students else None
    todo = [(folder.parent.name, folder.name)
            for folder in sorted((course_root / "autograded").glob("*/*"))
            if (not wanted or folder.name in wanted) and (not who or folder.parent.name in who)]

    def crashed(student: str, assignment: str, error: Exception) -> tuple[list, str]:
        return [], f"{student} {assignment}: feedback crashed: {error}"

    files, errors = [], []
    with course_lock(course_root, "feedback", wait, on_wait):
        for made, error in _each(step, course_root, todo, jobs, None, crashed):
            files += made
            if error:
                errors.append(error)
    return sorted(files), errors


def feedback_of(course_root: Path, assignment: str, student: str, *,
                db_url: str | None = None) -> tuple[list[Path], str]:
    """The feedback files of one submission, and an error line ("" when none)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        outcome = _api(course_root, db_url).generate_feedback(assignment, student, force=True)
    if not outcome["success"]:
        return [], (f"{student} {assignment}: "
                    f"{_last_line(outcome.get('error') or outcome.get('log') or '')}")
    return sorted((course_root / "feedback" / student / assignment).glob("*.html")), ""
