"""6. Grading throughput: one synthetic class graded three ways, side by side.

The class: for every assignment, the solution key, the blank release and one student with a
catalogued mistake planted (24 submissions; ``--quick``: 2 of the first assignment). Each way
grades its own copy of the course, so the gradebooks do not interfere:

- stock ``nbgrader autograde`` (its own Execute and OverwriteCells, through its Python API,
  one submission after the other, as ``nbgrader autograde`` does);
- the trusted grader, ``backprop-course autograde --jobs 1``;
- the same with ``--jobs 2``.

The overhead per submission is the grading time beyond the notebook's own run in the sandbox
(``execution_seconds`` of the grading records).
"""

from __future__ import annotations

import shutil
import statistics
import tempfile
import time
import warnings
from pathlib import Path

from benchmarks._common import Table, Target

ROOT = Path(__file__).resolve().parent.parent
SPEEDUP_TARGET = Target(">=", 2.5, "x")


def _plant(source: Path, variant, function: str) -> str:
    import nbformat

    from autograder.exercises.catalogue import planted_source

    nb = nbformat.read(source, as_version=4)
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution") and meta.get("grade_id") == function:
            cell.source += "\n" + planted_source(variant, function)
            return nbformat.writes(nb)
    raise LookupError(f"no solution cell {function} in {source}")


def build_class(course: Path, quick: bool) -> int:
    """Release a copy of the course in ``course`` and write its submissions; their number."""
    from autograder import check
    from autograder.course import assignments, generate_release
    from autograder.grading.trusted import parse_test_cell

    course.mkdir(parents=True)
    shutil.copy(ROOT / "course" / "nbgrader_config.py", course)
    shutil.copytree(ROOT / "course" / "source", course / "source")
    names = assignments(course)[:1] if quick else assignments(course)
    generate_release(course, names)
    count = 0
    for name in names:
        source = course / "source" / name / f"{name}.ipynb"
        texts = {"key": source.read_text(), "blank": (course / "release" / name /
                                                      f"{name}.ipynb").read_text()}
        if not quick:
            import nbformat

            nb = nbformat.read(source, as_version=4)
            test = next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")
                        and c.cell_type == "code")
            call = parse_test_cell(test.source)[0]
            exercise = check.exercise(call.exercise, **call.options)
            mistake = next(m for m in exercise.mistakes if m.variant is not None)
            texts["mistake"] = _plant(source, mistake.variant, call.target)
        for student, text in texts.items():
            folder = course / "submitted" / student / name
            folder.mkdir(parents=True)
            (folder / f"{name}.ipynb").write_text(text)
            count += 1
    return count


def grade_stock(course: Path) -> None:
    from nbgrader.converters import Autograde
    from traitlets.config import Config

    from autograder.course import nbgrader_api
    from autograder.instructor.workflow import submissions

    overrides = Config()
    traits = Autograde.class_traits()
    overrides.Autograde.sanitize_preprocessors = traits["sanitize_preprocessors"].default()
    overrides.Autograde.autograde_preprocessors = traits["autograde_preprocessors"].default()
    overrides.Execute.extra_arguments = ["--log-level=ERROR"]  # ipykernel 7's TCP warning
    api = nbgrader_api(course, overrides)
    for student, assignment in submissions(course):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            outcome = api.autograde(assignment, student, force=True, create=True)
        if not outcome["success"]:
            raise RuntimeError(f"stock nbgrader failed on {student}/{assignment}")


def grade_trusted(course: Path, jobs: int) -> float:
    """Grade with the trusted grader; the mean sandbox execution time per submission."""
    from autograder.grading.records import load_records
    from autograder.instructor.workflow import autograde

    results = autograde(course, jobs=jobs)
    failed = [r for r in results if r.error]
    if failed:
        raise RuntimeError(f"the trusted grader failed on {failed[0].line()}")
    records = [r for a in {r.assignment for r in results} for r in load_records(course, a)]
    return statistics.mean(r.execution_seconds for r in records)


def run(quick: bool = False, repeats: int = 1) -> Table:
    table = Table("6. Grading throughput", quick=quick)
    with tempfile.TemporaryDirectory(prefix="backprop-bench-grading-") as tmp:
        base = Path(tmp) / "class"
        n = build_class(base, quick)
        ways = {"stock": None, "jobs1": 1, "jobs2": 2}
        seconds: dict[str, list[float]] = {way: [] for way in ways}
        execution: list[float] = []
        for repeat in range(max(1, repeats)):
            for way, jobs in ways.items():
                course = Path(tmp) / f"{way}-{repeat}"
                shutil.copytree(base, course)
                start = time.perf_counter()
                if jobs is None:
                    grade_stock(course)
                else:
                    execution.append(grade_trusted(course, jobs))
                seconds[way].append(time.perf_counter() - start)
    stock, jobs1, jobs2 = (statistics.median(seconds[w]) for w in ways)
    run_each = statistics.median(execution)
    table.add(f"stock nbgrader autograde, {n} submissions, per submission", stock / n, "s")
    table.add("trusted grader --jobs 1, per submission", jobs1 / n, "s")
    table.add("trusted grader --jobs 2, per submission (wall)", jobs2 / n, "s")
    table.add("stock / --jobs 1", stock / jobs1, "x")
    table.add("stock / --jobs 2", stock / jobs2, "x", SPEEDUP_TARGET)
    table.add("notebook run in the sandbox, per submission", run_each, "s")
    table.add("--jobs 1 overhead beyond the notebook's run", jobs1 / n - run_each, "s")
    table.add("stock overhead beyond the same run", stock / n - run_each, "s")
    return table
