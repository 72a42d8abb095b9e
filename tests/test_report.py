"""The class report: figures from a hand-built gradebook and grader records, three renderings.

No notebook runs: ``build_course`` fills nbgrader's gradebook through its own API and writes
``GradingRecord`` files, so every figure below is known by hand.

01_neuron (notebook order: test_relu 2, test_sigmoid 2, written 1 = manual answer)

    student  test_relu  test_sigmoid  written   total  record                 submitted file
    alice    2          2             1         5      clean                  yes
    bob      0          0             waiting   0      relu-returns-mask x2,  yes
                                                       sigmoid-exp-sign
    carol    2          0             0.5       2.5    sigmoid-exp-sign,      yes
                                                       tampered
    dave     2          2             waiting   4      none (plain nbgrader)  yes
    erin     2          0             1         3      sigmoid-tanh           no
    frank    -          -             -         -      relu-abs, not in the gradebook

02_forward: test_forward 3 points, alice 3.
"""

import base64
import html
import io
import re
import shutil
import warnings
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook
from rich.console import Console

from autograder.course import CourseError
from autograder.records import Attention, CellGrade, CheckOutcome, GradingRecord
from autograder.report import build_report, print_report, score_bins, to_html, to_markdown

A1, A2 = "01_neuron", "02_forward"


def nbgrader(grade_id, **flags):
    meta = {"grade": False, "solution": False, "locked": True, "task": False}
    return {"nbgrader": meta | flags | {"grade_id": grade_id, "schema_version": 3}}


def write_source(course, assignment, cells):
    """A source notebook whose graded cells come in the given order."""
    folder = course / "source" / assignment
    folder.mkdir(parents=True)
    nb_cells = []
    for grade_id, points, kind in cells:
        if kind == "code":
            nb_cells.append(new_code_cell("pass", metadata=nbgrader(
                grade_id.removeprefix("test_"), solution=True, locked=False)))
            nb_cells.append(new_code_cell('"""Check."""', metadata=nbgrader(
                grade_id, grade=True, points=points)))
        else:
            nb_cells.append(new_markdown_cell("YOUR ANSWER HERE", metadata=nbgrader(
                grade_id, grade=True, solution=True, locked=False, points=points)))
    nbformat.write(new_notebook(cells=nb_cells), folder / f"{assignment}.ipynb")


def check(exercise, passed, mistake=None, hidden=False):
    return CheckOutcome(exercise=exercise, key=exercise, hidden=hidden, passed=passed,
                        stage=None if passed else "values", mistake=mistake,
                        case=None if passed else "case 1")


def record(student, relu=(), sigmoid=(), attention=()):
    """A grader record of 01_neuron; ``relu``/``sigmoid`` list the named mistakes (else pass)."""
    def cell(exercise, mistakes):
        checks = [check(exercise, not mistakes, m, hidden=i > 0)
                  for i, m in enumerate(mistakes or [None])]
        return CellGrade(f"test_{exercise}", 0.0 if mistakes else 2.0, 2.0, checks)
    return GradingRecord(assignment=A1, student=student, notebook=A1,
                         cells=[cell("relu", list(relu)), cell("sigmoid", list(sigmoid))],
                         attention=[Attention(*a) for a in attention],
                         graded_at="2026-11-30T10:00:00Z")


#: student -> (test_relu, test_sigmoid, written); None = waiting for a manual grade
SCORES = {
    "alice": (2, 2, 1),
    "bob": (0, 0, None),
    "carol": (2, 0, 0.5),
    "dave": (2, 2, None),
    "erin": (2, 0, 1),
}
TAMPERED = "test cell test_relu was edited (nbgrader restored it)"


def build_course(root: Path) -> Path:
    """The course of the module docstring, in ``root``; returns the course root."""
    import nbgrader
    import nbgrader.api
    from alembic.script import ScriptDirectory
    from sqlalchemy.exc import SAWarning

    course = root / "course"
    write_source(course, A1, [("test_relu", 2, "code"), ("test_sigmoid", 2, "code"),
                              ("written", 1, "markdown")])
    write_source(course, A2, [("test_forward", 3, "code")])
    with pytest.MonkeyPatch.context() as mp, warnings.catch_warnings():
        # A new gradebook stamps its schema version by running the `alembic` command (about
        # 3 s); read the same head revision in-process instead.
        scripts = ScriptDirectory(str(Path(nbgrader.__file__).parent / "alembic"))
        mp.setattr(nbgrader.api, "get_alembic_version", scripts.get_current_head)
        warnings.simplefilter("ignore", SAWarning)  # nbgrader's add_submission (SQLAlchemy 2)
        with nbgrader.api.Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gb:
            gb.add_assignment(A2)  # added first: the exports follow course order anyway
            gb.add_notebook(A2, A2)
            gb.add_grade_cell("test_forward", A2, A2, max_score=3, cell_type="code")
            gb.add_assignment(A1)
            gb.add_notebook(A1, A1)
            # Not in notebook order: the source notebook gives the order.
            gb.add_grade_cell("written", A1, A1, max_score=1, cell_type="markdown")
            gb.add_grade_cell("test_sigmoid", A1, A1, max_score=2, cell_type="code")
            gb.add_grade_cell("test_relu", A1, A1, max_score=2, cell_type="code")
            for student in [*SCORES, "zoe"]:
                gb.add_student(student)
            for student, (relu, sigmoid, written) in SCORES.items():
                gb.add_submission(A1, student)
                for grade_id, score in (("test_relu", relu), ("test_sigmoid", sigmoid)):
                    grade = gb.find_grade(grade_id, A1, A1, student)
                    grade.auto_score, grade.needs_manual_grade = score, False
                if written is not None:
                    grade = gb.find_grade("written", A1, A1, student)
                    grade.manual_score, grade.needs_manual_grade = written, False
            gb.add_submission(A2, "alice")
            grade = gb.find_grade("test_forward", A2, A2, "alice")
            grade.auto_score, grade.needs_manual_grade = 3, False
            gb.db.commit()
    for student in ("alice", "bob", "carol", "dave"):  # erin's file is missing
        folder = course / "submitted" / student / A1
        folder.mkdir(parents=True)
        (folder / f"{A1}.ipynb").write_text("{}")
    record("alice").save(course)
    record("bob", relu=["relu-returns-mask", "relu-returns-mask"],
           sigmoid=["sigmoid-exp-sign"]).save(course)
    record("carol", sigmoid=["sigmoid-exp-sign", None],
           attention=[("tampered", TAMPERED)]).save(course)
    record("erin", sigmoid=["sigmoid-tanh"]).save(course)
    record("frank", relu=["relu-abs"]).save(course)  # no gradebook submission
    return course


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return build_course(tmp_path_factory.mktemp("built"))


@pytest.fixture
def course(built, tmp_path):
    """A private copy of the built course (tests may change it)."""
    return Path(shutil.copytree(built, tmp_path / "course"))


@pytest.fixture
def report(course, tmp_path):
    return build_report(course, A1, tmp_path / "reports")


def test_scores_histogram_mean_and_median(report):
    assert report.students == ("alice", "bob", "carol", "dave", "erin")
    assert report.scores == (5.0, 0.0, 2.5, 4.0, 3.0)
    assert report.max_score == 5.0
    assert report.mean == pytest.approx(2.9)
    assert report.median == 3.0
    # One bar per point, centred on 0..5; 2.5 falls in [2.5, 3.5).
    assert report.bin_edges == (-0.5, 0.5, 1.5, 2.5, 3.5, 4.5, 5.5)
    assert report.bin_counts == (1, 0, 0, 2, 1, 1)
    assert report.records == 4  # frank's record has no gradebook submission


def test_pass_rates_from_the_gradebook_worst_first(report):
    rates = [(p.grade_id, p.full, p.graded, p.pending) for p in report.pass_rates]
    assert rates == [
        ("test_sigmoid", 2, 5, 0),  # 40%
        ("written", 2, 3, 2),  # 67%: carol's 0.5 is not full; bob and dave wait
        ("test_relu", 4, 5, 0),  # 80%
    ]
    assert [round(p.rate, 2) for p in report.pass_rates] == [0.4, 0.67, 0.8]


def test_mistakes_counted_once_per_submission_most_frequent_first(report):
    assert [(m.exercise, m.slug, m.name, m.count) for m in report.mistakes] == [
        ("sigmoid", "sigmoid-exp-sign", "exp(z) instead of exp(-z)", 2),
        # bob's visible and hidden relu checks both named it: one submission
        ("relu", "relu-returns-mask", "the mask Z > 0 instead of the values", 1),
        ("sigmoid", "sigmoid-tanh", "tanh instead of the logistic sigmoid", 1),
    ]  # frank's relu-abs is not counted: he has no gradebook submission


def test_attention_from_records_and_from_the_gradebook(report):
    assert [(a.student, a.reason, a.source) for a in report.attention] == [
        ("bob", "needs-manual-grade", "gradebook"),
        ("carol", "tampered", "grader"),
        ("dave", "needs-manual-grade", "gradebook"),
        ("dave", "no-record", "gradebook"),
        ("erin", "missing-notebook", "gradebook"),
        ("frank", "not-in-gradebook", "grader"),
    ]
    details = {(a.student, a.reason): a.detail for a in report.attention}
    assert details["carol", "tampered"] == TAMPERED
    assert details["bob", "needs-manual-grade"].startswith("grade written in formgrader")
    assert f"submitted/erin/{A1}/{A1}.ipynb" in details["erin", "missing-notebook"]


def test_a_missing_notebook_the_grader_reported_is_listed_once(course, tmp_path):
    record("erin", sigmoid=["sigmoid-tanh"],
           attention=[("missing-notebook", "no file 01_neuron.ipynb")]).save(course)
    report = build_report(course, A1, tmp_path / "reports")
    assert [(a.reason, a.detail, a.source) for a in report.attention if a.student == "erin"] \
        == [("missing-notebook", "no file 01_neuron.ipynb", "grader")]


def test_files_written_next_to_each_other(report, tmp_path):
    folder = tmp_path / "reports" / A1
    assert report.written == [folder / "scores.png", folder / "report.md",
                              folder / "report.html"]
    assert (folder / "scores.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    assert sorted(p.name for p in folder.iterdir()) == ["report.html", "report.md",
                                                        "scores.png"]  # no temp files left


def test_markdown_links_the_png(report):
    text = report.markdown.read_text()
    assert text == to_markdown(report)
    assert f"![Score distribution of {A1}](scores.png)" in text
    assert "| test_sigmoid | 01_neuron | 2 | 2 | 5 | 40% |" in text
    assert "| written | 01_neuron | 1 | 2 | 3 (2 waiting) | 67% |" in text
    assert "| sigmoid | sigmoid-exp-sign | exp(z) instead of exp(-z) | 2 |" in text


def test_html_is_self_contained(report):
    text = report.html.read_text()
    sources = re.findall(r'(?:src|href)="([^"]*)"', text)
    assert len(sources) == 1
    assert sources[0].startswith("data:image/png;base64,")
    png = base64.b64decode(sources[0].removeprefix("data:image/png;base64,"))
    assert png == report.png.read_bytes()
    assert not re.search(r"https?:|<link|<script|url\(", text)
    assert "<td>sigmoid-exp-sign</td>" in text


def test_md_html_and_terminal_show_the_same_rows(report):
    stream = io.StringIO()
    print_report(report, Console(file=stream, width=250, color_system=None))
    terminal, md = stream.getvalue(), report.markdown.read_text()
    page = to_html(report, report.png.read_bytes())
    for table in report.tables():
        for row in table.rows:
            for cell in row:
                assert cell in terminal
                assert cell.replace("|", "\\|") in md
                assert f"<td>{html.escape(cell)}</td>" in page
    assert report.summary() in terminal
    assert report.summary() == (
        "5 submissions (4 with a grader record), max score 5; mean 2.9, median 3.")


def test_terminal_shows_markup_like_text_verbatim(course, tmp_path):
    record("carol", attention=[("tampered", "cell [bold]x[/bold] edited")]).save(course)
    report = build_report(course, A1, tmp_path / "reports")
    stream = io.StringIO()
    print_report(report, Console(file=stream, width=250, color_system=None))
    assert "cell [bold]x[/bold] edited" in stream.getvalue()


def test_an_assignment_nobody_submitted(course, tmp_path):
    shutil.rmtree(course / "grading")
    report = build_report(course, A2, tmp_path / "reports")
    assert (report.scores, report.bin_counts) == ((3.0,), (0, 0, 0, 1))
    assert [(a.student, a.reason) for a in report.attention] == [
        ("alice", "missing-notebook"), ("alice", "no-record")]


def test_unknown_assignment(course, tmp_path):
    with pytest.raises(CourseError, match=r"no assignment '09_attention'.*01_neuron, 02_forward"):
        build_report(course, "09_attention", tmp_path / "reports")


def test_no_gradebook_yet(tmp_path):
    with pytest.raises(CourseError, match="nothing graded yet: run backprop-course autograde"):
        build_report(tmp_path, A1, tmp_path / "reports")
    assert not (tmp_path / "gradebook.db").exists()
    assert not (tmp_path / "reports").exists()


def test_bins_are_one_point_wide_up_to_25_points_then_wider():
    assert list(score_bins(3.0, ())) == [-0.5, 0.5, 1.5, 2.5, 3.5]
    assert list(score_bins(4.0, (4.5,))) == [-0.5, 0.5, 1.5, 2.5, 3.5, 4.5, 5.5]  # extra credit
    edges = score_bins(100.0, (0.0, 100.0))
    assert (edges[0], edges[1], edges[-1], len(edges)) == (0.0, 4.0, 100.0, 26)
