"""The class report: figures from a hand-built gradebook and grader records (the table is
in tests/gradebook_tools.py), three renderings.
"""

import base64
import html
import io
import re
import shutil

import pytest
from gradebook_tools import A1, A2, TAMPERED, record
from rich.console import Console

from autograder.course import CourseError
from autograder.instructor.report import (
    build_report,
    print_report,
    score_bins,
    to_html,
    to_markdown,
)


@pytest.fixture
def report(gradebook_course, tmp_path):
    return build_report(gradebook_course, A1, tmp_path / "reports")


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


def test_a_missing_notebook_the_grader_reported_is_listed_once(gradebook_course, tmp_path):
    record("erin", sigmoid=["sigmoid-tanh"],
           attention=[("missing-notebook", "no file 01_neuron.ipynb")]).save(gradebook_course)
    report = build_report(gradebook_course, A1, tmp_path / "reports")
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


def test_terminal_shows_markup_like_text_verbatim(gradebook_course, tmp_path):
    record("carol", attention=[("tampered", "cell [bold]x[/bold] edited")]).save(gradebook_course)
    report = build_report(gradebook_course, A1, tmp_path / "reports")
    stream = io.StringIO()
    print_report(report, Console(file=stream, width=250, color_system=None))
    assert "cell [bold]x[/bold] edited" in stream.getvalue()


def test_an_assignment_nobody_submitted(gradebook_course, tmp_path):
    shutil.rmtree(gradebook_course / "grading")
    report = build_report(gradebook_course, A2, tmp_path / "reports")
    assert (report.scores, report.bin_counts) == ((3.0,), (0, 0, 0, 1))
    assert [(a.student, a.reason) for a in report.attention] == [
        ("alice", "missing-notebook"), ("alice", "no-record")]


def test_unknown_assignment(gradebook_course, tmp_path):
    with pytest.raises(CourseError, match=r"no assignment '09_attention'.*01_neuron, 02_forward"):
        build_report(gradebook_course, "09_attention", tmp_path / "reports")


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
