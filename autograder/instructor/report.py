"""The class report of one assignment: scores, pass rates, named mistakes, attention.

Scores come from nbgrader's gradebook (the truth: it includes manual grades of written
answers); named mistakes and attention items come from the trusted grader's records
(``autograder.grading.records``). A submission graded by plain nbgrader has no record: it counts in
every score figure and is listed as needing attention ("no-record"), with no mistakes.

Every number lives in one :class:`Report`; ``Report.tables()`` turns it into rows of text once,
and the Markdown, HTML and terminal renderings only lay those rows out, so they cannot
disagree.
"""

from __future__ import annotations

import base64
import html
import io
import itertools
import math
import os
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from autograder.course import CourseError
from autograder.exercises.catalogue import mistakes_for
from autograder.grading.records import ATTENTION_REASONS, load_records
from autograder.instructor.export import format_number, open_gradebook, read_gradebook

__all__ = [
    "REPORT_REASONS",
    "AttentionItem",
    "MistakeCount",
    "PassRate",
    "Report",
    "ReportTable",
    "build_report",
    "histogram_png",
    "print_report",
    "score_bins",
    "to_html",
    "to_markdown",
]

#: Attention reasons the report derives from the gradebook (the grader's own are in
#: ``records.ATTENTION_REASONS``).
GRADEBOOK_REASONS = (
    "needs-manual-grade",  # written answers (or flagged cells) to grade in formgrader
    "missing-notebook",  # a notebook of the assignment has no submitted file
    "no-record",  # graded by plain nbgrader: no trusted-grader record
    "not-in-gradebook",  # a grader record without a gradebook submission
)
REPORT_REASONS = ATTENTION_REASONS + tuple(
    r for r in GRADEBOOK_REASONS if r not in ATTENTION_REASONS)

#: At most this many bars in the score histogram (wider bins beyond).
_MAX_BINS = 25
#: Width in characters of the longest text bar.
_BAR = 40


# ---------------------------------------------------------------------------------------
# The figures
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PassRate:
    """How many submissions got full points on one graded cell.

    graded : submissions whose cell has a grade (not waiting for a manual grade)
    full : of those, the ones with full points
    pending : submissions whose cell still waits for a manual grade
    """

    grade_id: str  # the exercises.csv column (grade_id, or notebook/grade_id)
    notebook: str
    cell_type: str  # "code" or "markdown"
    max_score: float
    full: int
    graded: int
    pending: int

    @property
    def rate(self) -> float | None:
        """``full / graded``; None when no submission is graded yet."""
        return self.full / self.graded if self.graded else None


@dataclass(frozen=True)
class MistakeCount:
    """How many submissions had a check name one known mistake.

    count : submissions (each counted once, even if several checks named the mistake)
    """

    exercise: str  # check name, e.g. "backward_231"
    key: str  # catalogue key, e.g. "backward_231_mse"
    slug: str
    name: str  # the catalogue's human name (the slug when the catalogue lacks it)
    count: int


@dataclass(frozen=True)
class AttentionItem:
    """One reason for a person to look at one submission."""

    student: str
    reason: str  # one of REPORT_REASONS
    detail: str
    source: str  # "grader" (from its record) or "gradebook"


@dataclass(frozen=True)
class ReportTable:
    """A table of the report, already as text: every rendering lays out these strings."""

    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    empty: str  # the sentence shown instead of an empty table


@dataclass
class Report:
    """All the figures of one assignment's class report, and the files written from them.

    students, scores : shape (n,) each, by student id; total scores from the gradebook
    bin_edges : shape (n_bins + 1,); bin_counts : shape (n_bins,), the histogram of scores
    (``np.histogram`` semantics: half-open bins, the last one closed)
    """

    assignment: str
    max_score: float
    students: tuple[str, ...]
    scores: tuple[float, ...]
    mean: float | None
    median: float | None
    bin_edges: tuple[float, ...]
    bin_counts: tuple[int, ...]
    pass_rates: tuple[PassRate, ...]  # worst first
    mistakes: tuple[MistakeCount, ...]  # most frequent first
    attention: tuple[AttentionItem, ...]  # by student
    records: int  # submissions with a trusted-grader record
    # (the isolation in force, in one sentence; submissions graded with it), most first
    isolation: tuple[tuple[str, int], ...] = ()
    png: Path | None = None
    markdown: Path | None = None
    html: Path | None = None
    written: list[Path] = field(default_factory=list)

    @property
    def submissions(self) -> int:
        return len(self.scores)

    def summary(self) -> str:
        """One sentence: how many submissions, the maximum, mean and median."""
        if not self.scores:
            return (f"No submissions of {self.assignment} in the gradebook "
                    f"(max score {format_number(self.max_score)}).")
        return (f"{self.submissions} submission{'s' * (self.submissions != 1)} "
                f"({self.records} with a grader record), "
                f"max score {format_number(self.max_score)}; "
                f"mean {_round(self.mean)}, median {_round(self.median)}.")

    def tables(self) -> list[ReportTable]:
        """The report's tables as text, in reading order."""
        peak = max(self.bin_counts, default=0)
        return [
            ReportTable(
                "Score distribution", ("score", "submissions", ""),
                tuple((label, str(count), "#" * _bar(count, peak))
                      for label, count in zip(_bin_labels(self.bin_edges), self.bin_counts,
                                              strict=True)),
                "No submissions."),
            ReportTable(
                "Pass rate per exercise (worst first)",
                ("cell", "notebook", "points", "full points", "graded", "pass rate"),
                tuple((p.grade_id, p.notebook, format_number(p.max_score), str(p.full),
                       f"{p.graded}" + (f" ({p.pending} waiting)" if p.pending else ""),
                       "-" if p.rate is None else f"{p.rate:.0%}")
                      for p in self.pass_rates),
                "No graded cells."),
            ReportTable(
                "Named mistakes (most frequent first)",
                ("exercise", "mistake", "what it is", "submissions"),
                tuple((m.exercise if m.key == m.exercise else f"{m.exercise} ({m.key})",
                       m.slug, m.name, str(m.count)) for m in self.mistakes),
                "No check named a known mistake."),
            ReportTable(
                "Needs attention", ("student", "reason", "detail"),
                tuple((a.student, a.reason, a.detail) for a in self.attention),
                "Nothing needs attention."),
            ReportTable(
                "Isolation of the learner's code while grading", ("isolation", "submissions"),
                tuple((text, str(count)) for text, count in self.isolation),
                "No submission has a grading record."),
        ]


def _round(value: float | None) -> str:
    return "-" if value is None else format_number(round(value, 2))


def _bar(count: int, peak: int) -> int:
    return 0 if peak == 0 else max(int(count > 0), round(count / peak * _BAR))


def _bin_labels(edges: tuple[float, ...]) -> list[str]:
    """``"3"`` for a one-point bin centred on 3, else ``"0-4"`` (the last bin is closed)."""
    labels = []
    for lo, hi in itertools.pairwise(edges):
        centre = (lo + hi) / 2
        if hi - lo == 1 and float(centre).is_integer():
            labels.append(format_number(centre))
        else:
            labels.append(f"{format_number(lo)}-{format_number(hi)}")
    return labels


def score_bins(max_score: float, scores: tuple[float, ...]) -> np.ndarray:
    """Histogram edges over 0..max: one bar per point (centred on it) up to 25 points.

    Returns
    -------
    edges : ndarray, shape (n_bins + 1,)
    """
    top = max([max_score, *scores, 1.0])  # extra credit can go past the maximum
    width = max(1, math.ceil(top / _MAX_BINS))
    if width == 1:
        return np.arange(math.ceil(top) + 2) - 0.5  # bins centred on 0, 1, ..., top
    return np.arange(0, math.ceil(top / width) * width + width, width, dtype=np.float64)


# ---------------------------------------------------------------------------------------
# Building the report
# ---------------------------------------------------------------------------------------


def _pass_rates(cells, submissions) -> tuple[PassRate, ...]:
    position = {c.column: i for i, c in enumerate(cells)}
    rates = []
    for cell in cells:
        values = [s.cells.get(cell.column) for s in submissions]
        graded = [v for v in values if v is not None]
        rates.append(PassRate(
            grade_id=cell.column, notebook=cell.notebook, cell_type=cell.cell_type,
            max_score=cell.max_score, full=sum(v >= cell.max_score for v in graded),
            graded=len(graded), pending=len(values) - len(graded)))
    # Worst first; cells nobody has a grade for yet go last; ties keep notebook order.
    return tuple(sorted(rates, key=lambda p: (p.rate is None, p.rate or 0.0,
                                              position[p.grade_id])))


def _mistakes(records) -> tuple[MistakeCount, ...]:
    counts: Counter[tuple[str, str, str]] = Counter()
    for record in records:
        named = {(check.exercise, check.key, check.mistake)
                 for cell in record.cells for check in cell.checks if check.mistake}
        counts.update(named)  # a set: one count per submission
    found = []
    for (exercise, key, slug), count in counts.items():
        names = {m.slug: m.name for m in mistakes_for(key)}
        found.append(MistakeCount(exercise, key, slug, names.get(slug, slug), count))
    return tuple(sorted(found, key=lambda m: (-m.count, m.exercise, m.key, m.slug)))


def _attention(course_root, assignment, notebooks, submissions, records):
    by_student = {r.student: r for r in records}
    items = []
    for s in submissions:
        record = by_student.get(s.student)
        if record is not None:
            items.extend(AttentionItem(s.student, a.reason, a.detail, "grader")
                         for a in record.attention)
        reported = {a.reason for a in record.attention} if record else set()
        if s.needs_manual_grade:
            waiting = ", ".join(s.pending) or "a cell"
            items.append(AttentionItem(
                s.student, "needs-manual-grade",
                f"grade {waiting} in formgrader (counted as 0 until graded)",
                "gradebook"))
        if "missing-notebook" not in reported:
            for nb in notebooks:
                rel = Path("submitted") / s.student / assignment / f"{nb}.ipynb"
                if not (Path(course_root) / rel).is_file():
                    items.append(AttentionItem(
                        s.student, "missing-notebook",
                        f"no submitted file {rel.as_posix()} (nbgrader scores it 0)",
                        "gradebook"))
        if record is None:
            items.append(AttentionItem(
                s.student, "no-record",
                "graded by plain nbgrader: no trusted-grader record, so no named mistakes "
                "and no tamper or sandbox checks", "gradebook"))
    in_gradebook = {s.student for s in submissions}
    items.extend(AttentionItem(
        r.student, "not-in-gradebook",
        f"the grader has a record ({r.graded_at or 'no date'}) but the gradebook has no "
        "submission: autograde it again", "grader")
        for r in records if r.student not in in_gradebook)
    return tuple(sorted(items, key=lambda a: a.student))  # stable: keeps each one's order


def build_report(course_root: Path, assignment: str, out_dir: Path) -> Report:
    """Compute the class report of ``assignment`` and write it to ``out_dir/<assignment>/``.

    Writes ``scores.png`` (histogram of total scores, mean and median marked),
    ``report.md`` (links the PNG) and ``report.html`` (self-contained: the PNG inlined).

    Parameters
    ----------
    course_root : Path
        the nbgrader course folder (``gradebook.db``, ``grading/``, ``submitted/``)
    assignment : str
        an assignment of the gradebook, e.g. ``"01_neuron"``
    out_dir : Path
        the reports folder, e.g. ``course/reports``

    Returns
    -------
    Report

    Raises
    ------
    CourseError
        no gradebook yet, or no such assignment in it
    """
    with open_gradebook(course_root) as gradebook:
        snap = read_gradebook(gradebook, course_root)
    if assignment not in snap.assignments:
        known = ", ".join(snap.assignments) or "none"
        raise CourseError(f"the gradebook has no assignment {assignment!r} (it has: {known})")

    submissions = snap.of(assignment)
    records = load_records(course_root, assignment)
    scores = tuple(s.score for s in submissions)
    edges = score_bins(snap.max_scores[assignment], scores)
    counts, _ = np.histogram(scores, bins=edges)
    in_gradebook = {s.student for s in submissions}
    report = Report(
        assignment=assignment,
        max_score=snap.max_scores[assignment],
        students=tuple(s.student for s in submissions),
        scores=scores,
        mean=float(np.mean(scores)) if scores else None,
        median=float(np.median(scores)) if scores else None,
        bin_edges=tuple(float(e) for e in edges),
        bin_counts=tuple(int(c) for c in counts),
        pass_rates=_pass_rates(snap.cells[assignment], submissions),
        mistakes=_mistakes([r for r in records if r.student in in_gradebook]),
        attention=_attention(course_root, assignment, snap.notebooks[assignment],
                             submissions, records),
        records=sum(r.student in in_gradebook for r in records),
        isolation=tuple(Counter(r.isolation or "not recorded" for r in records
                                if r.student in in_gradebook).most_common()),
    )
    folder = Path(out_dir) / assignment
    png = histogram_png(report)
    report.png = _write(folder / "scores.png", png)
    report.markdown = _write(folder / "report.md", to_markdown(report).encode())
    report.html = _write(folder / "report.html", to_html(report, png).encode())
    report.written = [report.png, report.markdown, report.html]
    return report


def _write(path: Path, data: bytes) -> Path:
    """Write atomically (temporary file, then ``os.replace``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as stream:
            stream.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


# ---------------------------------------------------------------------------------------
# Renderings
# ---------------------------------------------------------------------------------------


def histogram_png(report: Report) -> bytes:
    """The score histogram as PNG bytes (matplotlib's object API; no pyplot, no display)."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    fig = Figure(figsize=(6.4, 3.6), dpi=100, layout="constrained")
    ax = fig.add_subplot()
    edges = np.asarray(report.bin_edges)
    ax.bar(edges[:-1], report.bin_counts, width=np.diff(edges), align="edge",
           color="#4c72b0", edgecolor="white")
    if report.mean is not None:
        ax.axvline(report.mean, color="#dd8452", linestyle="--",
                   label=f"mean {_round(report.mean)}")
        ax.axvline(report.median, color="#55a868", linestyle=":", linewidth=2,
                   label=f"median {_round(report.median)}")
        ax.legend(loc="best", frameon=False)
    else:
        ax.text(0.5, 0.5, "no submissions", transform=ax.transAxes, ha="center")
    ax.set_xlim(edges[0], edges[-1])
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel(f"total score (max {format_number(report.max_score)})")
    ax.set_ylabel("submissions")
    ax.set_title(f"{report.assignment}: {report.submissions} "
                 f"submission{'s' * (report.submissions != 1)}")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


def _md_cell(text: str) -> str:
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def to_markdown(report: Report) -> str:
    """The report in Markdown; the histogram is linked as ``scores.png`` (same folder)."""
    lines = [f"# Class report: {report.assignment}", "", report.summary(), "",
             f"![Score distribution of {report.assignment}](scores.png)", ""]
    for table in report.tables():
        lines += [f"## {table.title}", ""]
        if not table.rows:
            lines += [table.empty, ""]
            continue
        lines.append("| " + " | ".join(_md_cell(c) for c in table.columns) + " |")
        lines.append("|" + "---|" * len(table.columns))
        lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in table.rows]
        lines.append("")
    return "\n".join(lines)


_CSS = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 60em; color: #222; }
table { border-collapse: collapse; margin-bottom: 1.5em; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: left; }
th { background: #f3f3f3; }
img { max-width: 100%; }
"""


def to_html(report: Report, png: bytes) -> str:
    """The report as one self-contained HTML page: the PNG inlined, no external resource."""
    e = html.escape
    data = base64.b64encode(png).decode("ascii")
    parts = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">',
             f"<title>Class report: {e(report.assignment)}</title>",
             f"<style>{_CSS}</style>", "</head>", "<body>",
             f"<h1>Class report: {e(report.assignment)}</h1>",
             f"<p>{e(report.summary())}</p>",
             f'<img alt="Score distribution of {e(report.assignment)}" '
             f'src="data:image/png;base64,{data}">']
    for table in report.tables():
        parts.append(f"<h2>{e(table.title)}</h2>")
        if not table.rows:
            parts.append(f"<p>{e(table.empty)}</p>")
            continue
        parts.append("<table>")
        parts.append("<tr>" + "".join(f"<th>{e(c)}</th>" for c in table.columns) + "</tr>")
        parts += ["<tr>" + "".join(f"<td>{e(c)}</td>" for c in row) + "</tr>"
                  for row in table.rows]
        parts.append("</table>")
    parts += ["</body>", "</html>", ""]
    return "\n".join(parts)


def print_report(report: Report, console=None) -> None:
    """Show the report in the terminal with ``rich`` (tables; rich falls back to ASCII).

    Parameters
    ----------
    report : Report
    console : rich.console.Console, optional
        defaults to a new console on stdout
    """
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    console = console or Console()
    console.print(Text(f"Class report: {report.assignment}", style="bold"))
    console.print(Text(report.summary()))
    for table in report.tables():
        if not table.rows:
            console.print(Text(f"{table.title}: {table.empty}"))
            continue
        shown = Table(title=table.title, title_justify="left")
        for column in table.columns:
            shown.add_column(column)
        for row in table.rows:
            shown.add_row(*(Text(cell) for cell in row))  # Text: no markup from student data
        console.print(shown)
    for path in report.written:
        console.print(Text(f"wrote {path}"))
