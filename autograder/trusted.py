"""Trusted grading: nbgrader's autograde, with the learner's code outside the grader.

nbgrader normally runs a submission and its test cells in one kernel, so the learner's code
can change what the tests see (DESIGN.md lists four cheats that scored full marks). Here
nbgrader still does the logistics (restoring locked cells from the gradebook, saving scores,
late penalties, feedback), but two of its preprocessors are replaced (see
``course/nbgrader_config.py``):

- :class:`TrustedExecute` instead of ``Execute``: the code cells run in a sandbox
  (``autograder.sandbox``); each test cell is parsed into its ``check.NAME(...)`` calls, the
  grader picks the cases (hidden ones seeded per student from the course secret), the
  sandbox calls the learner's objects on them, and the results are compared with the
  reference here, in the grader's process. The test cell's output is the check's message.
- :class:`GuardedOverwriteCells` instead of ``OverwriteCells``: the same restoring, but a test
  cell whose only difference is its hidden tests (all of them: the release strips them) is not
  reported as changed, so a real edit of a locked cell stands out; both are recorded.

Every graded submission leaves a ``records.GradingRecord`` with its seeds, so any grade can be
reproduced, and with every check's outcome and what needs attention, for reports.
"""

from __future__ import annotations

import ast
import copy
import hashlib
import hmac
import os
import re
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from nbformat import NotebookNode
from nbgrader.preprocessors import ClearHiddenTests, NbGraderPreprocessor, OverwriteCells
from nbgrader.utils import is_grade, is_locked, is_solution
from traitlets import Bool, Float, Integer, Unicode

import refimpl
from autograder import check
from autograder.engine import CheckResult
from autograder.records import Attention, CellGrade, CheckOutcome, GradingRecord, load_record
from autograder.sandbox import (
    CellReport,
    Job,
    Limits,
    Probe,
    ProbeReport,
    SandboxOutcome,
    run_job,
)

__all__ = [
    "CheckCall",
    "GuardedOverwriteCells",
    "TrustedExecute",
    "course_secret",
    "grade_notebook",
    "parse_test_cell",
    "student_seed",
]

_METADATA_KEY = "backprop_course_grading"  # notebook metadata the two phases share
_SECRET_FILE = "grading_secret"


# ---------------------------------------------------------------------------------------
# Test cells, seeds
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckCall:
    """One ``check.NAME(target, hidden=..., **options)`` line of a test cell."""

    exercise: str
    target: str  # the expression passed as the learner's object, e.g. "relu"
    options: dict[str, Any] = field(default_factory=dict)
    hidden: bool = False


def parse_test_cell(source: str) -> list[CheckCall]:
    """The check calls of a test cell; ``ValueError`` if it holds anything else.

    A test cell is a docstring and one-line calls ``check.NAME(obj, key=literal, ...)``
    (DESIGN.md, the cell contract); only such cells can be graded outside the learner's process.
    """
    calls = []
    for statement in ast.parse(source).body:
        if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant) \
                and isinstance(statement.value.value, str):
            continue  # the docstring
        call = statement.value if isinstance(statement, ast.Expr) else None
        if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute)
                and isinstance(call.func.value, ast.Name) and call.func.value.id == "check"
                and len(call.args) == 1):
            raise ValueError(f"line {statement.lineno} of the test cell is not a one-line "
                             f"check call: {ast.unparse(statement)[:80]}")
        if any(kw.arg is None for kw in call.keywords):
            raise ValueError(f"line {statement.lineno}: **options are not allowed")
        options = {kw.arg: _option_value(kw.value, statement.lineno) for kw in call.keywords}
        hidden = bool(options.pop("hidden", False))
        options.pop("seed", None)  # the grader seeds hidden cases per student
        check.exercise(call.func.attr, **options)  # unknown exercise or option: ValueError
        calls.append(CheckCall(call.func.attr, ast.unparse(call.args[0]), options, hidden))
    return calls


def _option_value(node: ast.expr, lineno: int) -> Any:
    """A literal, or a tuple of literals and reference functions (``refimpl.relu``)."""
    if isinstance(node, ast.Tuple):
        return tuple(_option_value(item, lineno) for item in node.elts)
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
            and node.value.id == "refimpl" and hasattr(refimpl, node.attr):
        return getattr(refimpl, node.attr)
    try:
        return ast.literal_eval(node)
    except ValueError as error:
        raise ValueError(f"line {lineno}: a check option must be a literal or a refimpl "
                         f"function, not {ast.unparse(node)[:60]}") from error


def course_secret(course_root: Path) -> bytes:
    """The course's grading secret (created on first use, readable by its owner only)."""
    path = Path(course_root) / _SECRET_FILE
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as stream:
            stream.write(secrets.token_hex(32) + "\n")
    return path.read_text().strip().encode()


def student_seed(secret: bytes, assignment: str, student: str, key: str) -> int:
    """The hidden-case seed of one student, assignment and exercise: an HMAC of the ids."""
    message = f"{assignment}\0{student}\0{key}".encode()
    digest = hmac.new(secret, message, hashlib.sha256).digest()
    return int.from_bytes(digest[:8], "big") >> 1  # 63 bits, like seeding.resolve_seed


# ---------------------------------------------------------------------------------------
# Grading one notebook
# ---------------------------------------------------------------------------------------

_SUSPICIOUS = [
    (re.compile(r"\bsys\s*\.\s*(setprofile|settrace|argv|modules|_getframe)"
                r"|\bthreading\s*\.\s*(setprofile|settrace)"),
     "reaches into the interpreter (tracing, frames, modules, arguments)"),
    (re.compile(r"__code__|__globals__|__closure__|__builtins__|\bgc\s*\.|\bimport\s+gc\b"
                r"|\bctypes\b|\bmarshal\b|\bpickle\b|\bFunctionType\b"),
     "reaches into the interpreter's internals"),
    (re.compile(r"\bexec\s*\(|\beval\s*\(|\bcompile\s*\(|__import__|\bimportlib\b"
                r"|\brunpy\b|\bgetsource\b|\bgetattr\s*\([^)]*(\+|\bf[\"'])"),
     "builds or runs code from text"),
    (re.compile(r"\bautograder\s*\.\s*(engine|check|sandbox|wire|trusted|seeding)\b"
                r"|\bfrom\s+autograder\b.*\bimport\b"),
     "reaches into the grader"),
    (re.compile(r"get_ipython\s*\(\s*\)\s*\.\s*(events|input_transformers|ast_transformers)"),
     "hooks the notebook's execution"),
    (re.compile(r"\bsubprocess\b|\bos\s*\.\s*(system|exec\w*|fork|kill|write|fdopen|open)\b"
                r"|\bsocket\b|/proc/"),
     "starts processes, opens connections or writes to raw files"),
]


def _is_learner_cell(cell: NotebookNode) -> bool:
    meta = cell.metadata.get("nbgrader", {})
    return cell.cell_type == "code" and (is_solution(cell) or "grade_id" not in meta)


def suspicious_lines(nb: NotebookNode, exercises: set[str]) -> list[Attention]:
    """Lines of the learner's cells that reach past the exercise (flagged, never scored).

    ``exercises``: the names graded in this notebook; naming their reference implementation
    (``refimpl.relu``) is flagged, using other reference functions is not.
    """
    patterns = list(_SUSPICIOUS)
    if exercises:
        names = "|".join(sorted(map(re.escape, exercises)))
        patterns.insert(0, (re.compile(rf"\brefimpl\s*\.\s*({names})\b"
                                       rf"|\bfrom\s+refimpl\S*\s+import\b.*\b({names})\b"),
                            "uses the reference implementation of a graded exercise"))
    found = []
    for index, cell in enumerate(nb.cells):
        if not _is_learner_cell(cell):
            continue
        for number, line in enumerate(cell.source.splitlines(), 1):
            code = line.split("#", 1)[0]
            for pattern, what in patterns:
                if pattern.search(code):
                    found.append(Attention("suspicious-code", f"cell {index + 1}, line {number} "
                                           f"{what}: `{line.strip()[:80]}`"))
                    break
    return found


@dataclass
class _TestCell:
    index: int
    grade_id: str
    points: float
    calls: list[CheckCall]
    exercises: list[check.Exercise] = field(default_factory=list)  # one per call
    cases: list[list] = field(default_factory=list)  # one list of cases per call


def _stream(text: str, name: str = "stdout") -> NotebookNode:
    return NotebookNode(output_type="stream", name=name, text=text)


def _error(ename: str, evalue: str, traceback: list[str]) -> NotebookNode:
    return NotebookNode(output_type="error", ename=ename, evalue=evalue, traceback=traceback)


def grade_notebook(nb: NotebookNode, *, course_root: Path, assignment: str, student: str,
                   notebook: str, limits: Limits | None = None,
                   isolate: bool = True) -> GradingRecord:
    """Grade ``nb`` (already sanitized by nbgrader) in place; return its record.

    Test cells get the checks' messages as outputs (an error output when a check fails, which
    nbgrader scores 0); other code cells get what they printed in the sandbox.
    """
    limits = limits or Limits()
    record = GradingRecord(assignment=assignment, student=student, notebook=notebook,
                           graded_at=datetime.now(UTC).isoformat(timespec="seconds"))
    sanitized = nb.metadata.pop(_METADATA_KEY, {})
    record.attention += [Attention(**a) for a in sanitized.get("attention", [])]
    job, tests = _plan(nb, record, course_root, limits)
    record.attention += suspicious_lines(
        nb, {call.exercise for test in tests for call in test.calls})
    outcome = run_job(job, hide=[Path(course_root).resolve()], isolate=isolate)
    record.execution_seconds = round(outcome.seconds, 3)
    stopped = _stop_reason(outcome, limits)
    if stopped is not None:
        record.attention.append(Attention("timeout" if outcome.timed_out else "crashed", stopped))
    if any(key[0] == "cell" for key in outcome.forged):
        record.attention.append(Attention(
            "tampered", "the grading channel received cell reports that were not asked for"))
    for index, report in outcome.cells.items():
        nb.cells[index].outputs = _cell_outputs(report)
        if report.timed_out:
            record.attention.append(Attention(
                "timeout", f"cell {index + 1} ran past its {limits.cell_seconds:g} s limit"))
    for test in tests:
        record.cells.append(_grade_test_cell(nb.cells[test.index], test, outcome, stopped,
                                             limits, record))
    record.attention = list(dict.fromkeys(record.attention))  # once each, in order
    return record


def _plan(nb: NotebookNode, record: GradingRecord, course_root: Path,
          limits: Limits) -> tuple[Job, list[_TestCell]]:
    """The sandbox's job (code cells; probes in place of test cells) and the test cells."""
    stored = _stored_seeds(course_root, record.assignment, record.student)
    secret = course_secret(course_root)
    tests: list[_TestCell] = []
    job = Job(cells=[], limits=limits)
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        cell.outputs, cell.execution_count = [], None
        if not is_grade(cell) or is_solution(cell):
            job.cells.append((index, cell.source))
            continue
        test = _TestCell(index, cell.metadata.nbgrader["grade_id"],
                         float(cell.metadata.nbgrader.get("points", 0)), [])
        tests.append(test)
        try:
            test.calls = parse_test_cell(cell.source)
        except (SyntaxError, ValueError) as error:
            cell.outputs = [_error("GradingError", str(error), [
                f"This test cell cannot be graded outside your notebook: {error}"])]
            record.attention.append(Attention("error", f"{test.grade_id}: {error}"))
            continue
        probes = []
        for call in test.calls:
            exercise = check.exercise(call.exercise, **call.options)
            test.exercises.append(exercise)
            seed = None
            if call.hidden:
                seed = stored[exercise.key] if exercise.key in stored else student_seed(
                    secret, record.assignment, record.student, exercise.key)
                record.seeds[exercise.key] = seed
            cases = exercise.cases(call.hidden, seed)
            test.cases.append(cases)
            probes.append(Probe(call.exercise, call.options, call.target, cases))
        job.cells.append((index, ""))  # the sandbox never sees a test cell's source
        job.probes[index] = probes
    return job, tests


def _cell_outputs(report: CellReport) -> list[NotebookNode]:
    outputs = []
    if report.stdout:
        outputs.append(_stream(report.stdout))
    if report.stderr:
        outputs.append(_stream(report.stderr, "stderr"))
    if report.error is not None:
        outputs.append(_error(*report.error))
    return outputs


def _stop_reason(outcome: SandboxOutcome, limits: Limits) -> str | None:
    if outcome.timed_out:
        return (f"the notebook ran past its {limits.notebook_seconds:g} s limit and was "
                "stopped")
    return outcome.crashed


def _grade_test_cell(cell: NotebookNode, test: _TestCell, outcome: SandboxOutcome,
                     stopped: str | None, limits: Limits, record: GradingRecord) -> CellGrade:
    """The cell's grade (all its checks pass, or 0), its outputs, and what needs attention."""
    if not test.calls:  # a test cell that could not be parsed
        return CellGrade(test.grade_id, 0.0, test.points)
    forged = {key[1:] for key in outcome.forged if key[0] == "probe"}
    results = []
    for position, (call, exercise, cases) in enumerate(
            zip(test.calls, test.exercises, test.cases, strict=True)):
        report = outcome.probes.get((test.index, position))
        result, attention = _check_result(exercise, call, cases, report,
                                          forged=(test.index, position) in forged,
                                          stopped=stopped, limits=limits)
        record.attention += [Attention(reason, f"{test.grade_id}: {detail}")
                             for reason, detail in attention]
        results.append(result)
    passed = [r for r in results if r.passed]
    failed = [r for r in results if not r.passed]
    cell.outputs = [_stream("\n".join(r.message for r in passed) + "\n")] if passed else []
    if failed:
        lines = failed[0].message.splitlines()
        cell.outputs.append(_error("CheckFailed", lines[0], lines))
    checks = [CheckOutcome(r.exercise, exercise.key, call.hidden, r.passed, r.stage, r.mistake,
                           r.case)
              for r, call, exercise in zip(results, test.calls, test.exercises, strict=True)]
    return CellGrade(test.grade_id, 0.0 if failed else test.points, test.points, checks)


def _check_result(exercise, call: CheckCall, cases: list, report: ProbeReport | None, *,
                  forged: bool, stopped: str | None,
                  limits: Limits) -> tuple[CheckResult, list[tuple[str, str]]]:
    """One check's result from its probe report, and (reason, detail) pairs for attention."""
    from autograder.wire import rebuild_run

    title = exercise.title

    def fail(stage: str, message: str) -> CheckResult:
        return CheckResult(call.exercise, False, f"{title}: {message}", stage=stage)

    if report is None:
        why = stopped or "the notebook stopped before this cell"
        return fail("not-run", f"not graded: {why}."), []
    if forged:
        message = ("not graded: the grader received more than one result for this check, so "
                   "something in the notebook wrote to the grader's channel. [forged-result]")
        return fail("forged", message), [("tampered", "forged results on the grading channel")]
    if report.reference_used is not None:
        message = (f"not graded as your own work: {report.reference_used}. The exercise is to "
                   "write it yourself. [uses-reference]")
        return fail("reference-used", message), [("reference-used", report.reference_used)]
    if report.timed_out or report.run is None:
        seconds = f"{limits.cell_seconds:g} s"
        message = (f"your function did not finish within {seconds} on the check's cases (an "
                   "endless loop, or far too many iterations?)")
        return fail("timeout", message), [("timeout", f"{call.exercise} ran past {seconds}")]
    attention = ([("reference-copied", report.reference_copied)]
                 if report.reference_copied is not None else [])
    try:
        result = exercise.grade(rebuild_run(report.run, cases), cases, hidden=call.hidden)
    except ValueError as error:  # the sandbox sent something malformed
        return fail("error", f"not graded: {error}."), [*attention, ("error", str(error))]
    return result, attention


def _stored_seeds(course_root: Path, assignment: str, student: str) -> dict[str, int]:
    try:
        record = load_record(course_root, assignment, student)
    except (ValueError, TypeError, OSError):  # a damaged record: seed from the secret
        return {}
    return dict(record.seeds) if record is not None else {}


# ---------------------------------------------------------------------------------------
# nbgrader preprocessors
# ---------------------------------------------------------------------------------------


class TrustedExecute(NbGraderPreprocessor):
    """Replaces nbgrader's ``Execute`` in ``Autograde.autograde_preprocessors``."""

    cell_timeout = Float(60.0, help="Seconds one code cell, or one check, may run.").tag(
        config=True)
    notebook_timeout = Float(600.0, help="Seconds the whole notebook may run.").tag(config=True)
    memory_limit_mb = Integer(4096, help="Memory (address space) of the sandbox, in MiB.").tag(
        config=True)
    isolate = Bool(True, help="Run the sandbox in namespaces when the machine allows.").tag(
        config=True)
    course_root = Unicode("", help="The course folder (hidden from the sandbox; holds the "
                                   "secret and the grading records).").tag(config=True)

    def preprocess(self, nb: NotebookNode, resources: dict) -> tuple[NotebookNode, dict]:
        info = resources["nbgrader"]
        if not self.course_root:
            raise ValueError("TrustedExecute.course_root is not set (see nbgrader_config.py)")
        course_root = Path(self.course_root)
        limits = Limits(cell_seconds=self.cell_timeout, notebook_seconds=self.notebook_timeout,
                        memory_bytes=self.memory_limit_mb * 2**20)
        record = grade_notebook(nb, course_root=course_root, assignment=info["assignment"],
                                student=info["student"], notebook=info["notebook"],
                                limits=limits, isolate=self.isolate)
        record.save(course_root)
        for item in record.attention:
            self.log.warning("%s/%s needs attention (%s): %s", info["student"],
                             info["assignment"], item.reason, item.detail)
        return nb, resources


class GuardedOverwriteCells(OverwriteCells):
    """nbgrader's ``OverwriteCells`` that tells a real edit from stripped hidden tests."""

    def preprocess(self, nb: NotebookNode, resources: dict) -> tuple[NotebookNode, dict]:
        self._attention: list[Attention] = []
        before = {c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells}
        nb, resources = super().preprocess(nb, resources)
        # Cells put back by nbgrader hold plain dicts, hence the item access.
        missing = sorted(
            c["metadata"]["nbgrader"]["grade_id"] for c in nb.cells
            if is_grade(c) and c["metadata"]["nbgrader"].get("grade_id") not in before)
        if missing:
            self._attention.append(Attention(
                "missing-cells", f"graded cells deleted and put back: {', '.join(missing)}"))
        nb.metadata[_METADATA_KEY] = {"attention": [vars(a) for a in self._attention]}
        return nb, resources

    def preprocess_cell(self, cell: NotebookNode, resources: dict, cell_index: int):
        submitted = cell.source
        self._changes: list[tuple[str, str, Any, Any]] = []
        cell, resources = super().preprocess_cell(cell, resources, cell_index)
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        for name, attr, _old, _new in self._changes:
            if attr == "checksum" and _without_hidden_tests(cell) == submitted.strip():
                continue  # the release stripped the hidden tests: not an edit
            self.log.warning("Cell %s was changed (%s) and has been restored.", name, attr)
            what = "edited" if attr == "checksum" else f"its {attr} changed"
            self._attention.append(Attention(
                "tampered", f"locked cell {grade_id} was {what}; the original was restored"))
        return cell, resources

    def report_change(self, name: str, attr: str, old: Any, new: Any) -> None:
        self._changes.append((name, attr, old, new))


def _without_hidden_tests(cell: NotebookNode) -> str:
    stripped = copy.deepcopy(cell)
    if is_locked(stripped):
        ClearHiddenTests()._remove_hidden_test_region(stripped)
    return stripped.source.strip()
