"""``backprop-course check``: run the learner's notebooks headless and report every exercise.

Each notebook runs top to bottom in a fresh kernel (nbclient, errors recorded rather than
raised) with a limit per cell and a limit for the whole notebook; the learner's file is only
read, never written. An exercise is a test cell (``grade_id`` ``test_<name>``) and the solution
cell it grades (``grade_id`` ``<name>``); its status is

- ``passed``: the test cell ran without an error;
- ``not started``: the stub still raises ``NotImplementedError`` (the check says so);
- ``failed``: anything else, with the first lines of the teaching message;
- ``not run``: the notebook stopped (kernel crash, notebook limit) before its test cell;
- ``by hand``: a written answer (a Markdown cell nbgrader grades manually): its points count
  in the total, and the instructor grades it.

A cell that runs past the per-cell limit is interrupted and the notebook goes on, so one
endless loop costs one exercise. A notebook that cannot be read, whose kernel dies or that
reaches the whole-notebook limit is reported as a problem, and the next notebook still runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import logging
import math
import subprocess
import textwrap
import warnings
from dataclasses import dataclass, field
from pathlib import Path

#: Seconds one cell may run before it is interrupted (nbgrader's own default is 30).
CELL_TIMEOUT = 30.0
#: Seconds a whole notebook may run.
NOTEBOOK_TIMEOUT = 300.0
#: How many lines of a teaching message the table shows (wrapped to WIDTH columns).
MESSAGE_LINES = 4
WIDTH = 100

PASSED, FAILED, NOT_STARTED, NOT_RUN = "passed", "failed", "not started", "not run"
BY_HAND = "by hand"

_QUIET = logging.getLogger("backprop-course.check")  # nbclient's own error log stays quiet
_QUIET.addHandler(logging.NullHandler())
_QUIET.propagate = False


@dataclass(frozen=True)
class ExerciseReport:
    """One exercise's outcome; ``message`` is empty when it passed."""

    name: str
    points: float
    status: str
    message: str = ""

    @property
    def earned(self) -> float:
        return self.points if self.status == PASSED else 0.0


@dataclass
class NotebookReport:
    """One notebook's exercises, and the problem that stopped it early (None: it ran through)."""

    path: Path
    exercises: list[ExerciseReport] = field(default_factory=list)
    problem: str | None = None

    @property
    def points(self) -> tuple[float, float]:
        return sum(e.earned for e in self.exercises), sum(e.points for e in self.exercises)


@dataclass(frozen=True)
class _Graded:
    name: str
    points: float
    test: int  # index of the test cell
    solution: int | None  # index of the solution cell, None when the learner deleted it


def written_answers(nb) -> list[ExerciseReport]:
    """The notebook's written answers (Markdown cells graded by hand), in order."""
    found = []
    for cell in nb.cells:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.get("cell_type") == "markdown" and meta.get("grade") and meta.get("grade_id"):
            found.append(ExerciseReport(str(meta["grade_id"]), float(meta.get("points") or 0),
                                        BY_HAND, "a written answer: your instructor grades it"))
    return found


def graded_exercises(nb) -> list[_Graded]:
    """The exercises of a notebook, in order: one per nbgrader test cell."""
    ids = {
        cell.get("metadata", {}).get("nbgrader", {}).get("grade_id"): index
        for index, cell in enumerate(nb.cells)
    }
    found = []
    for index, cell in enumerate(nb.cells):
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if cell.get("cell_type") == "code" and meta.get("grade") and meta.get("grade_id"):
            name = str(meta["grade_id"]).removeprefix("test_")
            points = float(meta.get("points") or 0)
            found.append(_Graded(name, points, index, ids.get(name)))
    return found


# ---------------------------------------------------------------------------------------
# Running one notebook
# ---------------------------------------------------------------------------------------


def check_notebook(
    path: Path, cell_timeout: float = CELL_TIMEOUT, notebook_timeout: float = NOTEBOOK_TIMEOUT
) -> NotebookReport:
    """Run ``path`` in a fresh kernel and report each of its exercises."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import DeadKernelError

    path = Path(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a learner's notebook may be slightly off-schema
            nb = nbformat.read(path, as_version=4)
        exercises = graded_exercises(nb)
        written = written_answers(nb)
    except Exception as error:  # not JSON, not a notebook, unreadable file, ...
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        return NotebookReport(path, problem=(
            f"This file could not be read as a notebook ({reason[:120]}). {_fresh_copy(path)}"
        ))
    if not exercises:
        return NotebookReport(path, written)

    running: list[int] = [0]  # index of the cell that is running now

    def on_cell_start(cell, cell_index: int) -> None:
        running[0] = cell_index

    client = NotebookClient(
        nb,
        timeout=max(1, math.ceil(cell_timeout)),  # nbclient counts whole seconds
        interrupt_on_timeout=True,
        allow_errors=True,
        kernel_name="python3",
        shutdown_kernel="immediate",
        resources={"metadata": {"path": str(path.parent.resolve())}},
        on_cell_start=on_cell_start,
        log=_QUIET,
    )
    stop: tuple[int, str] | None = None  # (cell index, what happened: a sentence)
    try:
        asyncio.run(_execute(client, notebook_timeout))
    except TimeoutError:
        stop = (running[0], f"was still running when the notebook reached its limit of "
                            f"{notebook_timeout:g} s.")
    except DeadKernelError:
        stop = (running[0], "made the Python kernel die (crash). Does it end the process "
                            "(os._exit, exit) or use too much memory?")
    except Exception as error:  # the kernel could not start, ...
        return NotebookReport(path, [
            ExerciseReport(ex.name, ex.points, NOT_RUN, "not checked") for ex in exercises
        ] + written, problem=f"The notebook could not be run: {type(error).__name__}: {error}")

    problem = None
    if stop is not None:
        problem = f"{_describe(nb, stop[0], exercises)} {stop[1]} Later cells did not run."
    reports = [_exercise_report(nb, ex, stop, cell_timeout) for ex in exercises]
    return NotebookReport(path, reports + written, problem)


def _fresh_copy(path: Path) -> str:
    """Where a fresh copy of a damaged course notebook is, or how to get one."""
    beside = sorted(path.parent.glob(f"{glob.escape(path.stem)}.new-*.ipynb"),
                    key=lambda p: p.stat().st_mtime)
    if beside:
        return (f"A fresh copy is already beside it: {beside[-1].name}. Carry your work over "
                "to it and check that one.")
    return "For a course notebook, `backprop-course update` puts a fresh copy beside it."


async def _execute(client, limit: float) -> None:
    """Run the notebook; TimeoutError after ``limit`` seconds (the kernel is shut down)."""
    # The kernel's own stderr (transport warnings) is noise here; the cells' output is kept.
    task = asyncio.ensure_future(client.async_execute(stderr=subprocess.DEVNULL))
    done, _ = await asyncio.wait({task}, timeout=limit)
    if task not in done:
        task.cancel()  # nbclient turns this into DeadKernelError and shuts the kernel down
        with contextlib.suppress(BaseException):
            await task
        raise TimeoutError
    ctrl_c = getattr(client, "_async_cleanup_kernel_future", None)  # set by nbclient on SIGINT
    if ctrl_c is not None:
        with contextlib.suppress(BaseException):
            await ctrl_c  # let nbclient finish shutting the kernel down
        with contextlib.suppress(BaseException):
            task.result()  # "kernel died": we know why
        raise KeyboardInterrupt
    task.result()


def _exercise_report(nb, ex: _Graded, stop: tuple[int, str] | None, cell_timeout: float):
    if stop is not None and ex.test >= stop[0]:
        if stop[0] in (ex.test, ex.solution):
            return ExerciseReport(ex.name, ex.points, FAILED, f"This exercise's cell {stop[1]}")
        return ExerciseReport(ex.name, ex.points, NOT_RUN,
                              "not checked: the notebook stopped before this exercise")
    test_error = _error(nb.cells[ex.test])
    solution_error = _error(nb.cells[ex.solution]) if ex.solution is not None else None
    if any(e and e.get("ename") == "KeyboardInterrupt" for e in (solution_error, test_error)):
        return ExerciseReport(ex.name, ex.points, FAILED, (
            f"Stopped after {cell_timeout:g} s, the limit for one cell. Does a loop never end?"))
    if test_error is None:
        stderr = "".join(o.get("text", "") for o in nb.cells[ex.test].get("outputs", [])
                         if o.get("output_type") == "stream" and o.get("name") == "stderr")
        if stderr.strip():  # nbgrader scores a test cell that writes to stderr 0
            return ExerciseReport(ex.name, ex.points, FAILED, _first_lines(
                "The test cell wrote to stderr (a warning?), and nbgrader counts that as a "
                f"failure:\n{stderr}"))
        return ExerciseReport(ex.name, ex.points, PASSED)
    ename, evalue = test_error.get("ename", ""), str(test_error.get("evalue", ""))
    if ename == "NotImplementedError" or "not implemented yet" in evalue:
        said = [line.strip() for line in evalue.splitlines() if "not implemented yet" in line]
        message = said[0] if said else (
            f"{ex.name} is not implemented yet: replace the `raise NotImplementedError()` line "
            "with your code.")
        return ExerciseReport(ex.name, ex.points, NOT_STARTED, message)
    if solution_error is not None:
        return ExerciseReport(ex.name, ex.points, FAILED, _first_lines(
            f"Your cell `{ex.name}` raised {_error_text(solution_error)}"))
    return ExerciseReport(ex.name, ex.points, FAILED, _first_lines(
        evalue if ename == "CheckFailed" and evalue else _error_text(test_error)))


def _error(cell) -> dict | None:
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            return output
    return None


def _error_text(error: dict) -> str:
    ename, evalue = error.get("ename", "Error"), str(error.get("evalue", "")).strip()
    return f"{ename}: {evalue}" if evalue else ename


def _first_lines(message: str, n: int = MESSAGE_LINES) -> str:
    """The first ``n`` lines of a message that say something: indented detail blocks (the
    ``Input:`` values, a traceback) and the lines that introduce them are left to the notebook.
    """
    lines = [line.rstrip() for line in message.strip().splitlines() if line.strip()]
    said = [
        line
        for line, after in zip(lines, [*lines[1:], ""], strict=True)
        if not line[0].isspace() and not (line.endswith(":") and after[:1].isspace())
    ] or lines
    omitted = len(said) > n or len(said) < len(lines)
    return "\n".join(said[:n] + (["..."] if omitted else []))


def _describe(nb, index: int, exercises: list[_Graded]) -> str:
    """A cell as the learner can find it: by its exercise, or by its first line."""
    for ex in exercises:
        if index == ex.solution:
            return f"The cell of exercise `{ex.name}`"
        if index == ex.test:
            return f"The test cell of exercise `{ex.name}`"
    first = next((line for line in nb.cells[index].source.splitlines() if line.strip()), "")
    return f"Cell {index + 1} (`{first.strip()[:40]}`)"


# ---------------------------------------------------------------------------------------
# The table
# ---------------------------------------------------------------------------------------


def _number(x: float) -> str:
    return f"{x:g}"


def _points(x: float) -> str:
    return f"{x:g} point" + ("" if x == 1 else "s")


def format_notebook(report: NotebookReport) -> str:
    """One notebook's block of the table: a title line, then one row per exercise."""
    earned, total = report.points
    title = report.path.name
    if report.exercises:
        title += f": {_number(earned)} of {_points(total)}"
    lines = [title]
    if report.problem:
        lines += textwrap.wrap(report.problem, WIDTH, initial_indent="  ! ",
                               subsequent_indent="    ", break_on_hyphens=False)
    if not report.exercises and not report.problem:
        lines.append("  (no exercises to check)")
    name_width = max((len(e.name) for e in report.exercises), default=0)
    points = [f"{'-' if e.status == BY_HAND else _number(e.earned)}/{_number(e.points)}"
              for e in report.exercises]
    points_width = max((len(p) for p in points), default=0)
    indent = 2 + len(NOT_STARTED) + 2 + name_width + 2 + points_width + 2
    stubs = 0
    for exercise, score in zip(report.exercises, points, strict=True):
        row = f"  {exercise.status:<{len(NOT_STARTED)}}  {exercise.name:<{name_width}}  "
        row += f"{score:>{points_width}}"
        width = max(40, WIDTH - indent)
        text = exercise.message
        if exercise.status == NOT_STARTED:  # how to start is said once per notebook
            stubs += 1
            text = text if stubs == 1 else "not implemented yet (as above)"
        message = [
            wrapped
            for line in text.splitlines()
            for wrapped in textwrap.wrap(line, width, break_long_words=False,
                                         break_on_hyphens=False) or [""]
        ] or [""]
        lines.append(f"{row}  {message[0]}".rstrip())
        lines.extend(" " * indent + line for line in message[1:])
    return "\n".join(lines)


def format_summary(reports: list[NotebookReport], course: list[Path] | None = None) -> str:
    """Points so far and the next step; ``course``: every notebook of the workspace, when
    only some of them were checked (the next step may then be in another one)."""
    exercises = [(r, e) for r in reports for e in r.exercises]
    auto = [e for _, e in exercises if e.status != BY_HAND]
    by_hand = [e for _, e in exercises if e.status == BY_HAND]
    earned = sum(e.earned for e in auto)
    total = sum(e.points for _, e in exercises)
    passed = sum(e.status == PASSED for e in auto)
    line = (f"Points so far: {_number(earned)} of {_number(total)} "
            f"({passed} of {len(auto)} exercises passed")
    if by_hand:
        line += (f"; {len(by_hand)} written answer{'s' * (len(by_hand) != 1)} "
                 f"({_points(sum(e.points for e in by_hand))}) graded by hand")
    lines = [line + ")."]
    lines.append(f"Next step: {next_step(reports, course)}")
    return "\n".join(lines)


def next_step(reports: list[NotebookReport], course: list[Path] | None = None) -> str:
    """The first exercise not passed (with its notebook), in course order."""
    for report in reports:
        if report.problem and not report.exercises:
            return f"repair {report.path.name} (see above)."
        for exercise in report.exercises:
            if exercise.status == NOT_RUN:
                return f"{report.path.name}: fix the problem above, then check again."
            if exercise.status not in (PASSED, BY_HAND):
                what = "start it" if exercise.status == NOT_STARTED else "fix it"
                return (f"{report.path.name}, exercise `{exercise.name}` "
                        f"({_points(exercise.points)}): {what}.")
        if report.problem:
            return f"{report.path.name}: fix the problem above."
    if not any(r.exercises for r in reports):
        return "nothing to check."
    checked = {r.path.resolve() for r in reports}
    rest = [p for p in course or [] if p.resolve() not in checked]
    if rest:
        names = ", ".join(r.path.stem for r in reports)
        return (f"every exercise of {names} passes. Then {rest[0].name}: "
                f"`backprop-course check {rest[0].stem[:2]}`.")
    return "every exercise passes. Well done!"


def exit_code(reports: list[NotebookReport]) -> int:
    """0 when every exercise passed, 1 when some did not, 2 when a notebook could not be run."""
    if any(r.problem for r in reports):
        return 2
    if any(e.status not in (PASSED, BY_HAND) for r in reports for e in r.exercises):
        return 1
    return 0
