"""The instructor's whole workflow on a synthetic class: release, collect, autograde (trusted,
two at a time), feedback, export and the class report, with every score known in advance.

One module-scoped fixture builds the class in a copy of the course and grades it once (a few
minutes: ~180 submissions); the tests below only read what it produced. The students are
described in ``tests/class_tools.py``.
"""

from __future__ import annotations

import csv
import html
import time
from collections import Counter
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest
from class_tools import (
    HARDCODED,
    SyntheticClass,
    build_inbox,
    hidden_call_lines,
    hidden_reference_values,
    leaked,
)

from autograder.course import generate_release
from autograder.grading.records import GradingRecord, load_record
from autograder.instructor.collect import collect
from autograder.instructor.export import export
from autograder.instructor.report import build_report
from autograder.instructor.workflow import autograde, feedback
from notebook_tools import copy_course, exercises, find_cell, first_check, read

pytestmark = pytest.mark.notebook

JOBS = 2
REPORTED = ("01_neuron", "06_backprop")

#: Planted mistakes that the grader legitimately names differently, (key, slug) -> the slug
#: named instead. Two catalogued variants can be the same wrong function on every case.
NAMED_AS: dict[tuple[str, str], str] = {}


@dataclass
class Graded:
    course: Path
    klass: SyntheticClass
    collected: object  # CollectResult
    results: list  # list[GradedSubmission]
    feedback_files: list[Path]
    feedback_errors: list[str]
    export: object  # ExportResult
    reports: dict  # assignment -> Report
    seconds: dict[str, float]


@pytest.fixture(scope="module")
def graded(tmp_path_factory) -> Graded:
    base = tmp_path_factory.mktemp("e2e")
    course = copy_course(base / "course")
    seconds = {}
    started = time.perf_counter()
    generate_release(course)
    seconds["release"] = time.perf_counter() - started
    klass = build_inbox(course, base / "inbox")
    started = time.perf_counter()
    collected = collect(course, klass.inbox)
    seconds["collect"] = time.perf_counter() - started
    started = time.perf_counter()
    results = autograde(course, jobs=JOBS)
    seconds["autograde"] = time.perf_counter() - started
    started = time.perf_counter()
    files, errors = feedback(course, jobs=JOBS)
    seconds["feedback"] = time.perf_counter() - started
    exported = export(course, base / "exports")
    reports = {name: build_report(course, name, base / "reports") for name in REPORTED}
    print("\nend-to-end timings (s): " + ", ".join(f"{k} {v:.1f}" for k, v in seconds.items())
          + f"; {len(results)} submissions")
    return Graded(course, klass, collected, results, files, errors, exported, reports, seconds)


def _record(g: Graded, student: str, assignment: str) -> GradingRecord:
    return load_record(g.course, assignment, student)


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        self._skip += tag in ("style", "script")

    def handle_endtag(self, tag):
        self._skip -= tag in ("style", "script") and self._skip > 0

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def _html_text(path: Path) -> str:
    parser = _Text()
    parser.feed(path.read_text(encoding="utf-8"))
    return "".join(parser.parts)


def _autograded(g: Graded, student: str, assignment: str):
    return nbformat.read(g.course / "autograded" / student / assignment / f"{assignment}.ipynb",
                         as_version=4)


def _cell_output_text(cell) -> str:
    text = []
    for output in cell.get("outputs", []):
        if output.get("output_type") == "stream":
            text.append(output.get("text", ""))
        elif output.get("output_type") == "error":
            text += [output.get("evalue", ""), *output.get("traceback", [])]
    return "\n".join(text)


# ---------------------------------------------------------------------------------------
# Collect
# ---------------------------------------------------------------------------------------


def test_collect_imports_every_submission(graded):
    assert sorted(graded.collected.imported) == sorted(graded.klass.expected)
    assert not graded.collected.warnings
    assert not graded.collected.replaced
    assert not graded.collected.unchanged


def test_collect_reports_the_ghost_notebooks(graded):
    errors = graded.collected.errors
    assert len(errors) == 2, errors
    assert any(e.startswith("ghost/09_attention.ipynb:") and "09_attention.ipynb" in e
               for e in errors), errors
    assert any(e.startswith("ghost/neuron.ipynb:") and "did you mean 01_neuron.ipynb" in e
               for e in errors), errors
    assert not (graded.course / "submitted" / "ghost").exists()


# ---------------------------------------------------------------------------------------
# Autograde: exact scores, records and gradebook agree
# ---------------------------------------------------------------------------------------


def test_every_submission_was_graded_without_error(graded):
    got = {(r.student, r.assignment) for r in graded.results}
    assert got == set(graded.klass.expected)
    failed = [r.line() for r in graded.results if r.error or r.score is None]
    assert not failed, "\n".join(failed)


def test_record_scores_are_exact(graded):
    wrong = []
    for (student, assignment), expected in sorted(graded.klass.expected.items()):
        record = _record(graded, student, assignment)
        got = {cell.grade_id: cell.points for cell in record.cells}
        if got != expected:
            wrong.append(f"{student} {assignment}: got {got}, expected {expected}")
        assert {c.grade_id: c.max_points for c in record.cells} == \
            graded.klass.points[assignment]
    assert not wrong, "\n".join(wrong)


def test_gradebook_scores_are_exact_and_agree_with_the_records(graded):
    from nbgrader.api import Gradebook

    db = f"sqlite:///{graded.course / 'gradebook.db'}"
    wrong = []
    with Gradebook(db, "backprop-course") as gb:
        for (student, assignment), expected in sorted(graded.klass.expected.items()):
            notebook = gb.find_submission_notebook(assignment, assignment, student)
            code = {g.cell.name: float(g.score) for g in notebook.grades
                    if g.cell.cell_type == "code"}
            record = {c.grade_id: c.points for c in _record(graded, student, assignment).cells}
            if code != expected or code != record:
                wrong.append(f"{student} {assignment}: gradebook {code}, record {record}, "
                             f"expected {expected}")
            submission = gb.find_submission(assignment, student)
            assert submission.score == pytest.approx(sum(expected.values()))
    assert not wrong, "\n".join(wrong)


def test_results_carry_the_exact_totals(graded):
    for result in graded.results:
        expected = graded.klass.expected[(result.student, result.assignment)]
        assert result.score == pytest.approx(sum(expected.values())), result.line()


def test_each_planted_mistake_is_named_in_its_failing_check(graded):
    wrong = []
    for p in graded.klass.planted:
        cell = next(c for c in _record(graded, p.student, p.assignment).cells
                    if c.grade_id == f"test_{p.exercise}")
        visible = [c for c in cell.checks if not c.hidden]
        slug = NAMED_AS.get((p.key, p.slug), p.slug)
        assert visible, (p, cell)
        assert not visible[0].passed, (p, cell)
        named = [c.mistake for c in cell.checks if not c.passed]
        if visible[0].mistake != slug:
            wrong.append(f"{p.student} ({p.assignment}): visible check named "
                         f"{visible[0].mistake!r}, failing checks named {named}")
    assert not wrong, "\n".join(wrong)


def test_other_cells_of_a_mistake_notebook_pass_every_check(graded):
    for p in graded.klass.planted:
        for cell in _record(graded, p.student, p.assignment).cells:
            if cell.grade_id != f"test_{p.exercise}":
                assert all(c.passed for c in cell.checks), (p.student, cell)


def test_reordered_test_above_its_solution_says_the_function_is_not_defined(graded):
    record = _record(graded, "reordered", "01_neuron")
    cell = next(c for c in record.cells if c.grade_id == "test_relu")
    assert cell.points == 0
    assert not any(c.passed for c in cell.checks)
    nb = _autograded(graded, "reordered", "01_neuron")
    text = _cell_output_text(find_cell(nb, "test_relu"))
    assert "got None" in text, text
    assert "Did you run the cell that defines it?" in text, text


def test_attention(graded):
    by = {}
    for result in graded.results:
        by[(result.student, result.assignment)] = {a.reason for a in result.attention}
        record = _record(graded, result.student, result.assignment)
        assert [(a.reason, a.detail) for a in record.attention] == \
            [(a.reason, a.detail) for a in result.attention]
    planted = {(p.student, p.assignment) for p in graded.klass.planted}
    for key, reasons in by.items():
        if key == ("cheat", "01_neuron"):
            assert "reference-used" in reasons, reasons
            assert reasons <= {"reference-used", "suspicious-code"}, reasons
        elif key in planted:
            # a planted variant may name a reference function, and a planted Value class is
            # built on a copy of the reference's: both are flagged, never scored
            assert reasons <= {"suspicious-code", "reference-copied"}, (key, reasons)
        elif key[0] == "key":
            # the solution key is the reference's code: flagged as copied, never scored
            assert reasons <= {"reference-copied"}, (key, reasons)
        else:
            assert reasons == set(), (key, reasons)


def test_noisy_really_renamed_printed_and_warned(graded):
    assert len(graded.klass.renamed) >= 20
    nb = _autograded(graded, "noisy", "01_neuron")
    printed = "".join(_cell_output_text(c) for c in nb.cells if c.cell_type == "code")
    assert "noisy: solution cell ran" in printed


# ---------------------------------------------------------------------------------------
# Feedback: nothing hidden leaks
# ---------------------------------------------------------------------------------------


def test_feedback_for_every_submission(graded):
    assert not graded.feedback_errors, graded.feedback_errors
    made = {(p.parent.parent.name, p.parent.name) for p in graded.feedback_files}
    assert made == set(graded.klass.expected)
    assert len(graded.feedback_files) == len(graded.klass.expected)


def test_feedback_never_shows_hidden_tests(graded):
    calls = set()
    for path in sorted((graded.course / "source").glob("*/*.ipynb")):
        nb = read(path)
        for exercise in exercises(nb):
            calls.update(hidden_call_lines(nb.cells[exercise.test_index].source))
    assert len(calls) == 35  # 36 test cells; predict's hidden call is in 02 and 07
    leaks = []
    for path in graded.feedback_files:
        raw = path.read_text(encoding="utf-8")
        text = _html_text(path)
        for needle in ("HIDDEN TESTS", "hidden=True", *calls):
            if needle in raw or needle in text or html.escape(needle) in raw:
                leaks.append(f"{path.relative_to(graded.course)}: {needle}")
    assert not leaks, "\n".join(leaks[:20])


def test_feedback_names_the_planted_mistake(graded):
    missing = []
    for p in graded.klass.planted:
        path = graded.course / "feedback" / p.student / p.assignment / f"{p.assignment}.html"
        slug = NAMED_AS.get((p.key, p.slug), p.slug)
        if f"[{slug}]" not in _html_text(path):
            missing.append(p.student)
    assert not missing, missing


def test_hidden_check_messages_carry_no_hidden_value(graded):
    """Where only a hidden check fails, the feedback shows its message: it must not contain
    any of the reference's outputs on that student's hidden cases."""
    checked, found = 0, []
    for (student, assignment) in sorted(graded.klass.expected):
        record = _record(graded, student, assignment)
        source = read(graded.course / "source" / assignment / f"{assignment}.ipynb")
        nb = None
        for exercise in exercises(source):
            cell = next(c for c in record.cells if c.grade_id == f"test_{exercise.name}")
            failing = [c for c in cell.checks if c.hidden and not c.passed]
            if not failing or any(not c.passed for c in cell.checks if not c.hidden):
                continue  # else the feedback shows the first failing check: a visible one
            nb = nb or _autograded(graded, student, assignment)
            check_name, options = first_check(source.cells[exercise.test_index].source)
            messages = _cell_output_text(find_cell(nb, f"test_{exercise.name}"))
            assert "hidden case" in messages, messages
            for outcome in failing:
                values = hidden_reference_values(check_name, options, record.seeds[outcome.key])
                assert values, (student, outcome.key)
                checked += 1
                hits = leaked(messages, values)
                if hits:
                    found.append(f"{student} {exercise.name}: {hits[:5]}")
    assert checked >= len(HARDCODED)  # at least the hardcoder's relu and sigmoid
    assert not found, "\n".join(found)


# ---------------------------------------------------------------------------------------
# Export
# ---------------------------------------------------------------------------------------


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as stream:
        return list(csv.DictReader(stream))


def test_exercises_csv_has_one_exact_row_per_submission(graded):
    rows = _rows(graded.export.exercises_csv)
    keys = [(r["student_id"], r["assignment"]) for r in rows]
    assert sorted(keys) == sorted(graded.klass.expected)
    assert graded.export.rows == len(rows)
    for row in rows:
        expected = graded.klass.expected[(row["student_id"], row["assignment"])]
        for grade_id, points in expected.items():
            assert float(row[grade_id]) == points, (row["student_id"], grade_id)
        assert float(row["score"]) == sum(expected.values())
        # max_score also counts the manually graded written answer of 06
        assert float(row["max_score"]) >= sum(graded.klass.points[row["assignment"]].values())


def test_grades_csv_has_the_exact_totals(graded):
    rows = _rows(graded.export.grades_csv)
    by = {(r["student_id"], r["assignment"]): r for r in rows}
    for (student, assignment), expected in graded.klass.expected.items():
        assert float(by[(student, assignment)]["raw_score"]) == sum(expected.values())
    students = {s for s, _ in graded.klass.expected}
    assert {r["student_id"] for r in rows} == students
    # nbgrader lists every student with every assignment; the ones not submitted score 0
    for (student, assignment), row in by.items():
        if (student, assignment) not in graded.klass.expected:
            assert float(row["raw_score"]) == 0


# ---------------------------------------------------------------------------------------
# The class report
# ---------------------------------------------------------------------------------------


def _of(g: Graded, assignment: str) -> dict[str, dict[str, float]]:
    return {s: scores for (s, a), scores in g.klass.expected.items() if a == assignment}


@pytest.mark.parametrize("assignment", REPORTED)
def test_report_scores_and_histogram(graded, assignment):
    report = graded.reports[assignment]
    expected = _of(graded, assignment)
    assert report.students == tuple(sorted(expected))
    assert dict(zip(report.students, report.scores, strict=True)) == {
        s: pytest.approx(sum(v.values())) for s, v in expected.items()}
    assert sum(report.bin_counts) == report.submissions == len(expected)
    assert report.records == len(expected)


@pytest.mark.parametrize("assignment", REPORTED)
def test_report_pass_rates(graded, assignment):
    report = graded.reports[assignment]
    expected = _of(graded, assignment)
    rates = {p.grade_id: p for p in report.pass_rates}
    for grade_id, max_points in graded.klass.points[assignment].items():
        rate = rates[grade_id]
        assert rate.graded == len(expected)
        assert rate.pending == 0
        assert rate.full == sum(v[grade_id] >= max_points for v in expected.values()), grade_id
    manual = [p for p in report.pass_rates if p.cell_type != "code"]
    # nbgrader scores an unchanged written answer 0 itself: blank's is graded, no one else's
    assert all(p.graded == ("blank" in expected) for p in manual)
    assert all(p.pending == len(expected) - ("blank" in expected) for p in manual)


@pytest.mark.parametrize("assignment", REPORTED)
def test_report_counts_each_planted_mistake_once(graded, assignment):
    report = graded.reports[assignment]
    got = Counter({(m.key, m.slug): m.count for m in report.mistakes})
    planted = Counter((p.key, NAMED_AS.get((p.key, p.slug), p.slug))
                      for p in graded.klass.planted if p.assignment == assignment)
    assert planted, assignment
    assert got == planted


@pytest.mark.parametrize("assignment", REPORTED)
def test_report_attention(graded, assignment):
    report = graded.reports[assignment]
    planted = {p.student for p in graded.klass.planted if p.assignment == assignment}
    grader = Counter((a.student, a.reason) for a in report.attention if a.source == "grader")
    for (student, reason) in grader:
        if student == "key":
            assert reason == "reference-copied"
        elif student == "cheat":
            assert reason in ("reference-used", "suspicious-code")
        else:
            assert student in planted, (student, reason)
            assert reason in ("suspicious-code", "reference-copied"), (student, reason)
    assert not any(a.student == "blank" and a.source == "grader" for a in report.attention)
    if assignment == "01_neuron":
        assert ("cheat", "reference-used") in grader
        assert not any(a.source == "gradebook" for a in report.attention)
    else:  # the written answer of 06 waits for formgrader in every submission
        gradebook = Counter((a.student, a.reason) for a in report.attention
                            if a.source == "gradebook")
        assert gradebook == Counter({(s, "needs-manual-grade"): 1
                                     for s in _of(graded, assignment) if s != "blank"})


# ---------------------------------------------------------------------------------------
# Written answers: graded by hand in formgrader, the rubric only in the source
# ---------------------------------------------------------------------------------------

WRITTEN = {"04_gradient_descent": "why_diverge", "06_backprop": "why_shortcut",
           "08_why_backprop": "why_cheap"}


@pytest.mark.parametrize(("assignment", "grade_id"), WRITTEN.items())
def test_written_answers_wait_for_formgrader_and_keep_their_rubric(graded, assignment,
                                                                   grade_id):
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{graded.course / 'gradebook.db'}", "backprop-course") as gb:
        answered = gb.find_grade(grade_id, assignment, assignment, "key")
        assert answered.needs_manual_grade
        assert answered.max_score == 2
        untouched = gb.find_grade(grade_id, assignment, assignment, "blank")
        assert not untouched.needs_manual_grade
        assert untouched.score == 0  # nbgrader: an unchanged answer cell scores 0
    source = (graded.course / "source" / assignment / f"{assignment}.ipynb").read_text()
    assert "Rubric for instructors" in source
    release = (graded.course / "release" / assignment / f"{assignment}.ipynb").read_text()
    assert "Rubric for instructors" not in release
    feedback = graded.course / "feedback" / "blank" / assignment / f"{assignment}.html"
    assert "Rubric for instructors" not in feedback.read_text(encoding="utf-8")


@pytest.mark.parametrize("assignment", REPORTED)
def test_report_says_which_isolation_was_in_force(graded, assignment):
    from autograder.grading import isolation

    report = graded.reports[assignment]
    assert [text for text, _ in report.isolation] == [isolation.detect().describe()]
    assert sum(count for _, count in report.isolation) == report.records
    assert "Isolation of the learner's code while grading" in report.markdown.read_text()
