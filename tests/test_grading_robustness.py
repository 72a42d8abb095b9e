"""Submissions that break nbgrader's own steps: each still gets a score and a reason.

A learner controls every byte of a submission, nbgrader metadata included. One module-scoped
course (01_neuron only) gets one student per way of breaking it, is autograded through
``autograder.instructor.workflow.autograde`` (two at a time) and given feedback; the tests read what
that produced. Then: learner Markdown that would run in the feedback page, and a submission
that kills the process grading it.
"""

from __future__ import annotations

import os
import re
import signal
import warnings
from html.parser import HTMLParser
from pathlib import Path

import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell

from autograder.grading.overwrite import sanitize_markdown_html
from autograder.grading.records import load_record
from autograder.instructor import workflow
from autograder.instructor.workflow import KILLED, autograde, feedback
from notebook_tools import cell_metadata, find_cell, learner_notebook, read, released_course, submit

A = "01_neuron"
POINTS = 7.0
OWN = "it counts as the learner's own cell, with no points"
QUOTE = 's = "### BEGIN HIDDEN TESTS"  # a string, not a region\n# ### BEGIN HIDDEN TESTS\n'
MARKDOWN = """## My notes on *relu*

I **really** get it now: $x^2$ grows, and $\\max(z, 0) \\ge 0$.

| z | relu(z) |
|--:|--:|
| -1 | 0 |

<script>alert("script")</script>

<img src=x onerror="alert('img')">

<a href="javascript:alert('link')">a link</a> and [another](javascript:alert('md'))

<iframe src="https://example.org/"></iframe>
"""


# ---------------------------------------------------------------------------------------
# The students: how each one changes a correct notebook, and what grading must say
# ---------------------------------------------------------------------------------------


def no_cells(nb):
    nb.cells = []


def makes_a_grade_cell(nb):
    nb.cells.append(new_code_cell("bonus = 1", metadata=cell_metadata("my_bonus", grade=True,
                                                                       points=5)))


def renames_a_test_cell(nb):
    find_cell(nb, "test_relu").metadata.nbgrader.grade_id = "test_relu_mine"


def turns_a_solution_into_a_test(nb):
    find_cell(nb, "relu").metadata.nbgrader.update(grade=True, solution=False, locked=True,
                                                   points=2)


def quotes_the_hidden_marker(nb):
    find_cell(nb, "relu").source += "\n" + QUOTE


def metadata_not_a_dict(nb):
    find_cell(nb, "relu").metadata.nbgrader = "solution"


def no_grade_id(nb):
    del find_cell(nb, "test_sigmoid").metadata.nbgrader["grade_id"]


def duplicate_grade_ids(nb):
    find_cell(nb, "sigmoid").metadata.nbgrader.grade_id = "relu"


def writes_markdown(nb):
    at = nb.cells.index(find_cell(nb, "relu"))
    nb.cells.insert(at, new_markdown_cell(MARKDOWN))


#: student -> (change, score, [(reason, part of the detail)])
STUDENTS = {
    "honest": (lambda nb: None, POINTS, []),
    "empty": (no_cells, 0.0, [
        ("missing-cells", "the notebook has no cells; its graded cells were put back: "
                          "test_neuron, test_relu, test_sigmoid")]),
    "grade-maker": (makes_a_grade_cell, POINTS, [
        ("tampered", "claims to be the graded cell 'my_bonus' (5 points), which the course "
                     f"does not have; {OWN}")]),
    "renamer": (renames_a_test_cell, POINTS, [
        ("tampered", f"claims to be the graded cell 'test_relu_mine' (2 points), which the "
                     f"course does not have; {OWN}"),
        ("missing-cells", "graded cells deleted and put back: test_relu")]),
    "promoter": (turns_a_solution_into_a_test, POINTS, [
        ("tampered", "solution cell relu: its grade, solution, locked, points changed; the "
                     "original was restored")]),
    "quoter": (quotes_the_hidden_marker, POINTS, []),
    "not-a-dict": (metadata_not_a_dict, POINTS, [
        ("tampered", f"its nbgrader metadata is 'solution', not a dict; {OWN}")]),
    "no-id": (no_grade_id, POINTS, [
        ("tampered", f"its nbgrader metadata has no grade_id; {OWN}"),
        ("missing-cells", "graded cells deleted and put back: test_sigmoid")]),
    "duplicate": (duplicate_grade_ids, POINTS, [
        ("tampered", f"repeats the grade_id 'relu' of a later cell, cell 18, which keeps it; "
                     f"{OWN}")]),
    "writer": (writes_markdown, POINTS, []),
}


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """(course, results by student, feedback files, feedback errors)."""
    course = released_course(tmp_path_factory.mktemp("robust") / "course", [A])
    for student, (change, _, _) in STUDENTS.items():
        nb = learner_notebook(course, A)
        change(nb)
        submit(course, student, nb, A)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SQLAlchemy's, inside nbgrader
        results = {r.student: r for r in autograde(course, jobs=2)}
        files, errors = feedback(course, jobs=2)
    return course, results, files, errors


def _gradebook_score(course: Path, student: str) -> float:
    from nbgrader.api import Gradebook

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with Gradebook(f"sqlite:///{course / 'gradebook.db'}", "backprop-course") as gb:
            return gb.find_submission(A, student).score


@pytest.mark.notebook
@pytest.mark.parametrize("student", sorted(STUDENTS))
def test_every_submission_gets_a_score_and_a_reason(graded, student):
    course, results, _, _ = graded
    _, score, expected = STUDENTS[student]
    result = results[student]
    assert result.error is None, result.line()
    assert (result.score, result.max_score) == (score, POINTS), result.line()
    assert _gradebook_score(course, student) == score
    found = [(a.reason, a.detail) for a in result.attention]
    assert len(found) == len(expected), result.line()
    for (reason, detail), (want_reason, want_detail) in zip(found, expected, strict=True):
        assert reason == want_reason, result.line()
        assert want_detail in detail, result.line()
    assert load_record(course, A, student).attention == result.attention


@pytest.mark.notebook
def test_every_submission_gets_its_feedback(graded):
    _, _, files, errors = graded
    assert errors == []
    assert sorted(p.parent.parent.name for p in files) == sorted(STUDENTS)


class _Page(HTMLParser):
    """Every element of an HTML page, with its attributes and its text."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict, list[str]]] = []
        self._open: list[list[str]] = []
        self.text: list[str] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs), []))
        if tag not in ("img", "input", "br", "hr", "meta", "link"):
            self._open.append(self.elements[-1][2])

    def handle_endtag(self, tag):
        if self._open:
            self._open.pop()

    def handle_data(self, data):
        self.text.append(data)
        for texts in self._open:
            texts.append(data)

    def all_text(self) -> str:
        return "".join(self.text)


def _page(course: Path, student: str) -> _Page:
    return _Page((course / "feedback" / student / A / f"{A}.html").read_text(encoding="utf-8"))


@pytest.mark.notebook
def test_a_learner_who_quotes_the_hidden_marker_gets_feedback_without_hidden_tests(graded):
    course, _, _, _ = graded
    text = _page(course, "quoter").all_text()
    assert 's = "### BEGIN HIDDEN TESTS"' in text  # the learner's own text, untouched
    assert "hidden=True" not in text  # the test cells' hidden checks are gone
    assert "✔ relu: " in text


def _runs_code(tag: str, attrs: dict) -> list[str]:
    """Why an element of the page could run code, if it could."""
    why = [f"{tag} {name}" for name in attrs if name.lower().startswith("on")]
    for name in ("href", "src", "action", "formaction"):
        value = re.sub(r"[\x00-\x20]", "", attrs.get(name) or "").lower()
        if value.startswith(("javascript:", "vbscript:", "data:text")):
            why.append(f"{tag} {name}={attrs[name]}")
    if tag in ("iframe", "object", "embed", "frame"):
        why.append(tag)
    return why


@pytest.mark.notebook
def test_learner_markdown_cannot_run_code_in_the_feedback(graded):
    course, _, _, _ = graded
    page = _page(course, "writer")
    running = [why for tag, attrs, _ in page.elements for why in _runs_code(tag, attrs)]
    assert running == []
    scripts = ["".join(texts) for tag, _, texts in page.elements if tag == "script"]
    assert not any("alert" in script for script in scripts)
    # the page's own scripts (MathJax) are still there
    assert any(tag == "script" and "mathjax" in (attrs.get("src") or "").lower()
               for tag, attrs, _ in page.elements)


@pytest.mark.notebook
def test_learner_markdown_still_renders_in_the_feedback(graded):
    course, _, _, _ = graded
    page = _page(course, "writer")
    texts = {tag: [] for tag in ("h1", "h2", "em", "strong", "td")}
    for tag, _, text in page.elements:
        if tag in texts:
            texts[tag].append("".join(text))
    assert any(t.startswith("My notes on relu") for t in texts["h2"])
    assert "relu" in texts["em"]
    assert "really" in texts["strong"]
    assert "-1" in texts["td"]
    text = page.all_text()
    assert "$x^2$" in text  # left for MathJax
    assert "$\\max(z, 0) \\ge 0$" in text
    assert '<script>alert("script")</script>' in text  # shown as text, not run
    assert any(t.startswith("01 · What a neuron computes") for t in texts["h1"])
    assert "✔ relu: " in text  # the checks' messages
    assert "✔ neuron: " in text


def test_the_sanitizer_keeps_the_course_s_own_markdown_as_it_is():
    """Every Markdown cell of every source notebook renders the same, sanitized or not."""
    from nbconvert.exporters import HTMLExporter

    render = HTMLExporter().markdown2html
    changed = []
    for path in sorted((Path(__file__).resolve().parents[1] / "course" / "source")
                       .glob("*/*.ipynb")):
        for number, md in enumerate(read(path).cells, 1):
            if md.cell_type != "markdown":
                continue
            html = render({"cell": md}, md.source)
            if _Page(html).elements != _Page(sanitize_markdown_html(html)).elements:
                changed.append(f"{path.stem} cell {number}")
    assert changed == []


# ---------------------------------------------------------------------------------------
# A submission that kills the process grading it
# ---------------------------------------------------------------------------------------

KILLER = "mallory"
_GRADE = workflow.grade_submission  # the real step, also in the pool's fresh processes


def kill_for_mallory(course_root, assignment, student):
    """A grading step whose learner kills the process grading them (what
    ``os.kill(os.getppid(), 9)`` does from a notebook where the machine cannot isolate it)."""
    if student == KILLER:
        os.kill(os.getpid(), signal.SIGKILL)
    return ("done", student, assignment)


def kill_or_grade(course_root, assignment, student):
    if student == KILLER:
        os.kill(os.getpid(), signal.SIGKILL)
    return _GRADE(course_root, assignment, student)


def test_the_pool_survives_a_submission_that_kills_its_process(tmp_path):
    todo = [(student, A) for student in ("ada", KILLER, "bob", "cy")]
    seen = []

    def crashed(student, assignment, error):
        return ("crashed", student, type(error).__name__)

    results = workflow._each(kill_for_mallory, tmp_path, todo, 2, seen.append, crashed)
    assert sorted(results) == sorted(
        [("done", s, A) for s, _ in todo if s != KILLER]
        + [("crashed", KILLER, "BrokenProcessPool")])
    assert sorted(seen) == sorted(results)  # each one reported once, as it finished


@pytest.mark.notebook
def test_a_submission_that_kills_its_grader_scores_zero_and_the_others_are_graded(
        graded, monkeypatch):
    course, _, _, _ = graded
    submit(course, KILLER, learner_notebook(course, A), A)
    monkeypatch.setattr(workflow, "grade_submission", kill_or_grade)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        results = {r.student: r for r in autograde(course, students=[KILLER, "honest"],
                                                    jobs=2)}
    killed = results[KILLER]
    assert killed.error is None, killed.line()
    assert (killed.score, killed.max_score) == (0.0, POINTS)
    assert [(a.reason, a.detail) for a in killed.attention] == [("crashed", KILLED)]
    assert load_record(course, A, KILLER).attention == killed.attention
    assert _gradebook_score(course, KILLER) == 0.0
    assert (results["honest"].score, results["honest"].attention) == (POINTS, [])


def test_an_nbgrader_failure_is_named_by_its_own_exception():
    """When nbgrader still fails, the line names its exception, not nbgrader's generic one."""
    log = """[INFO] Sanitizing /c/submitted/x/01_neuron/01_neuron.ipynb
[ERROR] There was an error processing assignment: /c/submitted/x/01_neuron
[ERROR] Traceback (most recent call last):
      File "nbgrader/preprocessors/overwritecells.py", line 159, in <listcomp>
        submitted_ids = [cell["metadata"]["nbgrader"]["grade_id"] for cell in nb.cells if
    KeyError: 'grade_id'
[ERROR] There was an error processing assignment '01_neuron' for student 'x'
[ERROR] Please see the the above traceback for details on the specific errors on the above failures.
Traceback (most recent call last):
nbgrader.converters.base.NbGraderException: Please see the the above traceback for details on the
"""
    assert workflow._nbgrader_error(log) == "KeyError: 'grade_id'"
    assert workflow._nbgrader_error("") == "no detail from nbgrader"
