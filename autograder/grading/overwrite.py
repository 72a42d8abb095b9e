"""The learner's cells between submission and feedback: nbgrader's steps, made tamper-proof.

A submission is a JSON file the learner controls, nbgrader metadata included. nbgrader's own
sanitize steps trust that metadata and stop with a raw exception on a cell that is odd in
the wrong way (a grade cell it does not know, a grade_id missing or used twice, metadata
that is not a dict, all cells deleted). The steps here replace them, so that every
submission is graded and every change is kept for the grading record:

- :class:`GuardedDeduplicateIds` (for ``DeduplicateIds``) drops malformed and repeated
  nbgrader metadata;
- :class:`GuardedOverwriteCells` (for ``OverwriteCells``) gives every cell the source knows
  its type and metadata back, locked cells their text, deleted grade cells their place, and
  treats a cell the source does not know as the learner's own (no points);
- :class:`SourceClearHiddenTests` (for ``ClearHiddenTests`` in feedback) removes hidden tests
  from the source's locked test cells only, never from the learner's text;
- :class:`SanitizedHTMLExporter` (feedback's exporter) extends ``HTMLExporter.sanitize_html``
  to the Markdown cells of nbgrader's feedback template.

What the two sanitize steps find goes into the notebook's metadata under
:data:`METADATA_KEY`, which ``autograder.grading.trusted`` turns into the record's attention.
"""

from __future__ import annotations

import copy
import re
from typing import Any

import bleach
from bleach.css_sanitizer import CSSSanitizer
from jinja2 import pass_context
from nbconvert.exporters import HTMLExporter
from nbformat import NotebookNode, from_dict
from nbgrader.api import Gradebook
from nbgrader.preprocessors import ClearHiddenTests, DeduplicateIds, OverwriteCells
from nbgrader.utils import is_grade, is_locked

from autograder.grading.records import Attention

__all__ = [
    "METADATA_KEY",
    "GuardedDeduplicateIds",
    "GuardedOverwriteCells",
    "SanitizedHTMLExporter",
    "SourceClearHiddenTests",
    "sanitize_markdown_html",
]

METADATA_KEY = "backprop_course_grading"  # notebook metadata the sanitize and grade steps share
_FOUND = "backprop_course_sanitize"  # resources key: what GuardedDeduplicateIds found
_OWN = "it counts as the learner's own cell, with no points"
_FLAGS = ("grade", "solution", "locked", "task", "points")  # restored here; nbgrader does the rest


def _short(value: Any, limit: int = 40) -> str:
    """A learner-controlled value for a record: quoted, on one line, bounded."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _grade_id(cell: NotebookNode) -> str | None:
    meta = cell["metadata"].get("nbgrader")
    return meta.get("grade_id") if isinstance(meta, dict) else None


def _claims_a_role(meta: dict) -> bool:
    return any(meta.get(flag) for flag in ("grade", "solution", "locked", "task"))


def _drop_malformed(nb: NotebookNode) -> list[Attention]:
    """Remove nbgrader metadata that is not a dict, or that has no grade_id.

    Such a cell cannot be matched with the source; it becomes a plain cell. Metadata with no
    role (no grade, solution, locked or task flag) is dropped without a word.
    """
    found = []
    for number, cell in enumerate(nb.cells, 1):
        if "nbgrader" not in cell.metadata:
            continue
        meta = cell.metadata["nbgrader"]
        if not isinstance(meta, dict):
            problem = f"its nbgrader metadata is {_short(meta)}, not a dict"
        elif isinstance(meta.get("grade_id"), str) and meta["grade_id"]:
            continue
        elif _claims_a_role(meta):
            problem = "its nbgrader metadata has no grade_id"
        else:
            problem = None
        del cell.metadata["nbgrader"]
        if problem:
            found.append(Attention("tampered", f"cell {number}: {problem}; {_OWN}"))
    return found


class GuardedDeduplicateIds(DeduplicateIds):
    """nbgrader's ``DeduplicateIds`` that survives malformed metadata and says what it dropped.

    As in nbgrader, of cells that share a grade_id the last one keeps it; the others lose
    their nbgrader metadata altogether (nbgrader leaves an empty dict, on which its
    ``OverwriteCells`` fails), whatever their flags.
    """

    def preprocess(self, nb: NotebookNode, resources: dict) -> tuple[NotebookNode, dict]:
        self._found = _drop_malformed(nb)
        self._kept: dict[str, int] = {}
        self._count = len(nb.cells)
        nb, resources = super().preprocess(nb, resources)  # walks the cells last to first
        resources[_FOUND] = self._found
        return nb, resources

    def preprocess_cell(self, cell: NotebookNode, resources: dict, cell_index: int):
        grade_id = _grade_id(cell)
        if grade_id is None:
            return cell, resources
        number = self._count - cell_index  # cell_index counts from the end
        if grade_id not in self._kept:
            self._kept[grade_id] = number
            return cell, resources
        self.log.warning("Cell with id '%s' exists multiple times!", grade_id)
        del cell.metadata["nbgrader"]
        self._found.append(Attention("tampered", (
            f"cell {number} repeats the grade_id {_short(grade_id)} of a later cell, cell "
            f"{self._kept[grade_id]}, which keeps it; {_OWN}")))
        return cell, resources


def _source_cells(gradebook: Gradebook, notebook: str, assignment: str) -> dict[str, tuple]:
    """grade_id -> (cell type, nbgrader metadata) of every cell the source notebook has."""
    source = gradebook.find_notebook(notebook, assignment)
    points = {c.name: c.max_score for c in (*source.grade_cells, *source.task_cells)}
    grade = {c.name for c in source.grade_cells}
    solution = {c.name for c in source.solution_cells}
    task = {c.name for c in source.task_cells}
    cells = {}
    for cell in source.source_cells:
        meta = {"grade": cell.name in grade, "solution": cell.name in solution,
                "locked": bool(cell.locked), "task": cell.name in task,
                "grade_id": cell.name, "schema_version": 3}
        if cell.name in points:
            meta["points"] = float(points[cell.name])
        cells[cell.name] = (cell.cell_type, meta)
    return cells


def _differs(submitted: dict, expected: dict, key: str) -> bool:
    if key != "points":
        return bool(submitted.get(key, False)) != expected[key]
    if "points" not in expected:
        return submitted.get("points") not in (None, 0)
    try:
        return float(submitted.get("points")) != expected["points"]
    except (TypeError, ValueError):
        return True


def _kind(meta: dict) -> str:
    if meta["locked"]:
        return "locked cell"
    return "answer cell" if meta["grade"] else "solution cell"


class GuardedOverwriteCells(OverwriteCells):
    """nbgrader's ``OverwriteCells`` that restores all of a cell and records what it changed.

    Beyond nbgrader's own restoring (cell type, locked flag, points, the text of locked
    cells, deleted grade cells): the grade, solution and task flags come back from the source
    too; a cell whose grade_id the source does not have loses its nbgrader metadata (a grade
    cell a learner made or renamed grades nothing); a deleted grade cell goes back after the
    nearest cell before it that is still there (nbgrader fails when that one was deleted
    too). A test cell whose only difference is its hidden tests (the release strips them) is
    not reported as changed, so a real edit of a locked cell stands out.
    """

    def preprocess(self, nb: NotebookNode, resources: dict) -> tuple[NotebookNode, dict]:
        self._attention: list[Attention] = list(resources.pop(_FOUND, []))
        self._attention += _drop_malformed(nb)  # already done when GuardedDeduplicateIds ran
        self._source: dict[str, tuple] | None = None
        empty = not nb.cells
        before = {_grade_id(c) for c in nb.cells}
        nb, resources = super().preprocess(nb, resources)
        missing = sorted(_grade_id(c) for c in nb.cells
                         if is_grade(c) and _grade_id(c) not in before)
        if empty:
            self._attention.append(Attention(
                "missing-cells", "the notebook has no cells; its graded cells were put back: "
                                 f"{', '.join(missing) or 'none'}"))
        elif missing:
            self._attention.append(Attention(
                "missing-cells", f"graded cells deleted and put back: {', '.join(missing)}"))
        nb.metadata[METADATA_KEY] = {"attention": [vars(a) for a in self._attention]}
        return nb, resources

    def _known(self) -> dict[str, tuple]:
        if self._source is None:  # read once, inside nbgrader's open gradebook
            self._source = _source_cells(self.gradebook, self.notebook_id, self.assignment_id)
        return self._source

    def preprocess_cell(self, cell: NotebookNode, resources: dict, cell_index: int):
        grade_id = _grade_id(cell)
        if grade_id is None:
            return cell, resources
        if grade_id not in self._known():
            self.log.warning("Cell '%s' does not exist in the database", grade_id)
            if _claims_a_role(cell.metadata["nbgrader"]):
                self._attention.append(Attention("tampered", _unknown(cell, cell_index,
                                                                      grade_id)))
            del cell.metadata["nbgrader"]
            return cell, resources
        submitted = cell.source
        self._changes: list[tuple[str, str, Any, Any]] = []
        _, expected = self._known()[grade_id]
        meta = cell.metadata["nbgrader"]
        for key in _FLAGS:
            if _differs(meta, expected, key):
                self.report_change(grade_id, key, expected.get(key), meta.get(key))
        cell.metadata["nbgrader"] = from_dict(copy.deepcopy(expected))
        cell, resources = super().preprocess_cell(cell, resources, cell_index)
        edited, changed = False, []
        for name, attr, _old, _new in self._changes:
            if attr == "checksum" and _without_hidden_tests(cell) == submitted.strip():
                continue  # the release stripped the hidden tests: not an edit
            self.log.warning("Cell %s was changed (%s) and has been restored.", name, attr)
            if attr == "checksum":
                edited = True
            else:
                changed.append(attr.replace("_", " "))
        if changed:
            self._attention.append(Attention("tampered", (
                f"{_kind(expected)} {grade_id}: its {', '.join(changed)} changed; the original "
                "was restored")))
        if edited:
            self._attention.append(Attention(
                "tampered", f"locked cell {grade_id} was edited; the original was restored"))
        return cell, resources

    def report_change(self, name: str, attr: str, old: Any, new: Any) -> None:
        self._changes.append((name, attr, old, new))

    def add_missing_grade_cells(self, nb: NotebookNode,
                                resources: dict) -> tuple[NotebookNode, dict]:
        """Put each deleted grade cell back after the nearest source cell before it that the
        notebook still has (at the top when there is none), in source order."""
        source = self.gradebook.find_notebook(self.notebook_id, self.assignment_id)
        order = [cell.name for cell in source.source_cells]
        cells = dict(zip(order, source.source_cells, strict=True))
        grade_cells = {cell.name: cell for cell in source.grade_cells}
        solutions = {cell.name for cell in source.solution_cells}
        for position, name in enumerate(order):
            present = {_grade_id(c): i for i, c in enumerate(nb.cells)}
            if name not in grade_cells or name in present:
                continue
            self.log.warning("Missing grade cell %s encountered, adding to notebook", name)
            before = next((present[p] for p in reversed(order[:position]) if p in present), -1)
            nb.cells.insert(before + 1, self.missing_cell_transform(
                cells[name], grade_cells[name].max_score, is_solution=name in solutions))
        return nb, resources


def _unknown(cell: NotebookNode, cell_index: int, grade_id: str) -> str:
    meta = cell.metadata["nbgrader"]
    claim = f"carries the nbgrader metadata of a cell {_short(grade_id)}"
    if meta.get("grade"):
        points = _short(meta.get("points"))
        claim = f"claims to be the graded cell {_short(grade_id)} ({points} points)"
    return f"cell {cell_index + 1} {claim}, which the course does not have; {_OWN}"


def _without_hidden_tests(cell: NotebookNode) -> str:
    stripped = copy.deepcopy(cell)
    if is_locked(stripped):
        ClearHiddenTests()._remove_hidden_test_region(stripped)
    return stripped.source.strip()


class SourceClearHiddenTests(ClearHiddenTests):
    """nbgrader's ``ClearHiddenTests`` for feedback, on the source's locked test cells only.

    nbgrader's step reads every cell, so a learner's cell that merely quotes the hidden-tests
    marker (in a string or a comment) made it fail, and that learner got no feedback. The
    cells touched here are found in the gradebook, never in the learner's metadata.
    """

    def preprocess(self, nb: NotebookNode, resources: dict) -> tuple[NotebookNode, dict]:
        info = resources["nbgrader"]
        with Gradebook(info["db_url"]) as gradebook:
            source = gradebook.find_notebook(info["notebook"], info["assignment"])
            locked = {cell.name for cell in source.source_cells if cell.locked}
            self._tests = {cell.name for cell in source.grade_cells} & locked
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell: NotebookNode, resources: dict, cell_index: int):
        if _grade_id(cell) in self._tests and is_grade(cell):
            self._remove_hidden_test_region(cell)
        return cell, resources


# What rendered Markdown may keep: what Markdown itself produces (headings, tables with
# their alignment, code highlighting, task lists, images) and nothing that runs.
_TAGS = frozenset({
    *bleach.ALLOWED_TAGS, "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "span",
    "div", "table", "thead", "tbody", "tfoot", "tr", "th", "td", "caption", "img", "del", "s",
    "sup", "sub", "kbd", "dl", "dt", "dd", "details", "summary", "input"})
_ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "title", "width", "height"},
               "th": {"style"}, "td": {"style"}, "abbr": {"title"}, "acronym": {"title"},
               "ol": {"start"}, "input": {"type", "disabled", "checked"}}
_IMAGE_DATA = re.compile(r"data:image/(png|jpeg|gif|webp);base64,")
_CSS = CSSSanitizer(allowed_css_properties=["text-align"])


def _allowed(tag: str, name: str, value: str) -> bool:
    if name not in ("class", "id") and name not in _ATTRIBUTES.get(tag, ()):
        return False
    if name in ("href", "src"):
        # Embedded images (a notebook's attachments) only: bleach checks the scheme after.
        compact = re.sub(r"[\x00-\x20]", "", value).lower()
        return not compact.startswith("data:") or (
            tag == "img" and _IMAGE_DATA.match(compact) is not None)
    return name != "type" or value.lower() == "checkbox"


def sanitize_markdown_html(html: str) -> str:
    """Rendered Markdown without anything that runs: no script, iframe, event handler, or
    ``javascript:`` link (they are shown as text or dropped), formatting and math kept."""
    return bleach.clean(html, tags=_TAGS, attributes=_allowed,
                        protocols=["http", "https", "mailto", "data"], css_sanitizer=_CSS)


class SanitizedHTMLExporter(HTMLExporter):
    """``HTMLExporter`` whose ``sanitize_html`` also reaches Markdown cells.

    nbgrader's feedback template renders Markdown cells with its own block, which ignores
    ``sanitize_html``; and nbconvert's ``clean_html`` escapes paragraphs and headings. Here
    the Markdown filter itself sanitizes, keeping what Markdown produces.
    """

    @pass_context
    def markdown2html(self, context, source):
        html = super().markdown2html(context, source)
        return sanitize_markdown_html(html) if self.sanitize_html else html
