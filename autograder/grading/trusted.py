"""Trusted grading: nbgrader's autograde, with the learner's code outside the grader.

nbgrader normally runs a submission and its test cells in one kernel, so the learner's code
can change what the tests see (DESIGN.md lists the cheats that scored full marks). Here
nbgrader still does the logistics (restoring locked cells from the gradebook, saving scores,
late penalties, feedback), but :class:`TrustedExecute` replaces its ``Execute`` (see
``course/nbgrader_config.py``):

- each test cell is parsed into its ``check.NAME(...)`` calls; the grader picks the cases
  (hidden ones seeded per submission version, ``autograder.grading.seeds``);
- a worker in a sandbox runs the code cells in order and, in place of each test cell, calls
  the learner's objects on those cases (``autograder.grading.conversation``); it has no
  reference code, and calls of reference functions are answered by the grader under
  ``autograder.grading.policy``;
- the results come back as plain data and are compared with the reference here. The test
  cell's output is the check's message.

Every graded submission leaves a ``records.GradingRecord`` with its seeds and the isolation
in force, so any grade can be reproduced, and with every check's outcome and what needs
attention, for reports.
"""

from __future__ import annotations

import ast
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from nbformat import NotebookNode
from nbgrader.preprocessors import NbGraderPreprocessor
from nbgrader.utils import is_grade, is_locked, is_solution
from traitlets import Bool, Float, Integer, Unicode

import refimpl
from autograder.checks.engine import run_check
from autograder.checks.exercise import Exercise
from autograder.checks.running import from_attempt
from autograder.checks.types import CheckResult
from autograder.exercises.registry import exercise as exercise_named
from autograder.grading import integrity, isolation, policy, seeds
from autograder.grading.conversation import Budget, CellStep, Outcome, ProbeStep, run_notebook
from autograder.grading.overwrite import METADATA_KEY
from autograder.grading.probe_reports import Malformed, attempt_from
from autograder.grading.records import (
    Attention,
    CellGrade,
    CheckOutcome,
    GradingRecord,
    load_record,
)

__all__ = ["CheckCall", "TrustedExecute", "grade_notebook", "parse_test_cell",
           "seed_hidden_checks"]


# ---------------------------------------------------------------------------------------
# Test cells
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
        exercise_named(call.func.attr, **options)  # unknown exercise or option: ValueError
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


# ---------------------------------------------------------------------------------------
# Grading one notebook
# ---------------------------------------------------------------------------------------


@dataclass
class _TestCell:
    index: int
    grade_id: str
    points: float
    calls: list[CheckCall]
    exercises: list[Exercise] = field(default_factory=list)  # one per call
    cases: list[list] = field(default_factory=list)  # one list of cases per call


def _stream(text: str, name: str = "stdout") -> NotebookNode:
    return NotebookNode(output_type="stream", name=name, text=text)


def _error(ename: str, evalue: str, traceback: list[str]) -> NotebookNode:
    return NotebookNode(output_type="error", ename=ename, evalue=evalue, traceback=traceback)


def grade_notebook(nb: NotebookNode, *, course_root: Path | None = None, assignment: str,
                   student: str, notebook: str, budget: Budget | None = None,
                   isolate: bool = True,
                   hidden_seeds: Mapping[str, int] | None = None) -> GradingRecord:
    """Grade ``nb`` (already sanitized by nbgrader) in place; return its record.

    Test cells get the checks' messages as outputs (an error output when a check fails, which
    nbgrader scores 0); other code cells get what they printed in the sandbox.

    ``hidden_seeds`` (exercise key -> seed, from :func:`seed_hidden_checks`) seeds the hidden
    checks; without it they are seeded from ``course_root``'s secret and records. A grader
    away from the course (a Dask worker, ``autograder.grading.remote``) gets the seeds alone.
    """
    budget = budget or Budget()
    if hidden_seeds is None:
        if course_root is None:
            raise ValueError("grade_notebook needs course_root or hidden_seeds")
        hidden_seeds = seed_hidden_checks(nb, Path(course_root), assignment, student)
    record = GradingRecord(assignment=assignment, student=student, notebook=notebook,
                           graded_at=datetime.now(UTC).isoformat(timespec="seconds"))
    sanitized = nb.metadata.pop(METADATA_KEY, {})
    record.attention += [Attention(**a) for a in sanitized.get("attention", [])]
    steps, tests = _plan(nb, record, hidden_seeds)
    graded = {call.exercise for test in tests for call in test.calls}
    record.attention += integrity.suspicious_lines(nb, graded)
    record.attention += integrity.copies_of_the_reference(nb, graded)
    rules = policy.Policy([call.exercise for test in tests for call in test.calls])
    if not steps:
        outcome = Outcome(isolation=isolation.detect().describe() if isolate else "")
    else:
        outcome = run_notebook(steps, rules, budget=budget, isolate=isolate)
    record.isolation = outcome.isolation
    record.execution_seconds = round(outcome.seconds, 3)
    if outcome.stopped is not None:  # the detail, with stderr's last lines, is not feedback
        record.attention.append(Attention(outcome.stop_reason or "crashed",
                                          outcome.detail or outcome.stopped))
    first_hidden = min((step.index for step in steps
                        if isinstance(step, ProbeStep) and step.hidden), default=len(nb.cells))
    for index, report in outcome.cells.items():
        cell = nb.cells[index]
        # After a hidden check, a cell could print what the learner's code saw in it.
        cell.outputs = (_cell_outputs(report, narration=is_locked(cell))
                        if index < first_hidden else
                        [_stream("(not shown: this cell ran after a hidden check of the "
                                 "grader)\n")])
        if report.get("timed_out") is True:
            record.attention.append(Attention(
                "timeout", f"cell {index + 1} ran past its {budget.cell_seconds:g} s limit"))
    for test in tests:
        record.cells.append(_grade_test_cell(nb.cells[test.index], test, outcome, budget,
                                             record))
    if not tests:
        record.attention.append(Attention(
            "error", "the notebook has no test cell the grader knows: nothing was graded"))
    record.attention = list(dict.fromkeys(record.attention))  # once each, in order
    return record


def seed_hidden_checks(nb: NotebookNode, course_root: Path, assignment: str,
                       student: str) -> dict[str, int]:
    """The seed of each hidden check of ``nb`` (exercise key -> seed), on the grader's side.

    The seeds of an earlier grading of the same version of the submission (its record), else
    HMACs of the course secret (``seeds.submission_seed``). Test cells that cannot be parsed
    have no seeds: they are not graded.
    """
    version = seeds.notebook_version(nb)
    stored = _stored_seeds(course_root, assignment, student, version)
    secret = seeds.course_secret(course_root)
    found: dict[str, int] = {}
    for cell in nb.cells:
        if cell.cell_type != "code" or not is_grade(cell) or is_solution(cell):
            continue
        try:
            calls = parse_test_cell(cell.source)
        except (SyntaxError, ValueError):
            continue
        for call in calls:
            if call.hidden:
                key = exercise_named(call.exercise, **call.options).key
                found[key] = stored.get(key) or seeds.submission_seed(
                    secret, assignment, student, key, version)
    return found


def _plan(nb: NotebookNode, record: GradingRecord, hidden_seeds: Mapping[str, int]
          ) -> tuple[list[CellStep | ProbeStep], list[_TestCell]]:
    """The worker's steps (code cells; probes in place of test cells) and the test cells."""
    record.version = seeds.notebook_version(nb)
    tests: list[_TestCell] = []
    steps: list[CellStep | ProbeStep] = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        cell.outputs, cell.execution_count = [], None
        if not is_grade(cell) or is_solution(cell):
            steps.append(CellStep(index, cell.source))
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
        for position, call in enumerate(test.calls):
            exercise = exercise_named(call.exercise, **call.options)
            test.exercises.append(exercise)
            seed = None
            if call.hidden:
                seed = hidden_seeds[exercise.key]
                record.seeds[exercise.key] = seed
            cases = exercise.cases(call.hidden, seed)
            test.cases.append(cases)
            steps.append(ProbeStep(index, position, call.exercise, call.target, cases,
                                   exercise.uses, exercise.driver, call.hidden))
    return steps, tests


def _cell_outputs(report: dict, *, narration: bool) -> list[NotebookNode]:
    """What a code cell printed and raised. An error in a cell of the course's own text
    (``narration``: locked) is not the learner's: it becomes a note, not a red traceback."""
    outputs = []
    for name in ("stdout", "stderr"):
        text = report.get(name)
        if isinstance(text, str) and text:
            outputs.append(_stream(text[-100_000:], name))
    error = report.get("error")
    if isinstance(error, list) and len(error) == 3 and isinstance(error[2], list):
        ename, evalue = str(error[0])[:200], str(error[1])[:5000]
        if narration:
            first = evalue.splitlines()[0] if evalue else ""
            outputs.append(_stream(f"(this cell of the course did not run while the notebook "
                                   f"was graded: {ename}: {first})\n"))
        else:
            outputs.append(_error(ename, evalue, [str(line)[:5000] for line in error[2][-50:]]))
    return outputs


def _grade_test_cell(cell: NotebookNode, test: _TestCell, outcome: Outcome, budget: Budget,
                     record: GradingRecord) -> CellGrade:
    """The cell's grade (all its checks pass, or 0), its outputs, and what needs attention."""
    if not test.calls:  # a test cell that could not be parsed
        return CellGrade(test.grade_id, 0.0, test.points)
    results = []
    for position, (call, exercise, cases) in enumerate(
            zip(test.calls, test.exercises, test.cases, strict=True)):
        key = (test.index, position)
        result, attention = _check_result(exercise, call, cases, outcome.probes.get(key),
                                          outcome.used_reference.get(key), outcome, budget)
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


def _check_result(exercise: Exercise, call: CheckCall, cases: list,
                  report: dict | None, used_reference: str | None, outcome: Outcome,
                  budget: Budget) -> tuple[CheckResult, list[tuple[str, str]]]:
    """One check's result from its probe report, and (reason, detail) pairs for attention."""
    title = exercise.title

    def fail(stage: str, message: str) -> CheckResult:
        return CheckResult(call.exercise, False, f"{title}: {message}", stage=stage)

    if report is None:
        why = outcome.stopped or "the notebook stopped before this cell"
        return fail("not-run", f"not graded: {why}."), []
    if used_reference is not None:
        message = (f"not graded as your own work: your {call.exercise} called the reference "
                   f"implementation refimpl.{used_reference}. The exercise is to write it "
                   "yourself. [uses-reference]")
        return fail("reference-used", message), [
            ("reference-used", f"{call.exercise} called refimpl.{used_reference}")]
    if report.get("unsendable") is not None:
        message = ("your function's results are too large to grade (the grader reads at most "
                   "64 MiB of them): does it return the right thing?")
        return fail("too-large", message), [("error", f"{call.exercise}: results too large")]
    if report.get("timed_out") is True or report.get("attempt") is None:
        seconds = f"{budget.cell_seconds:g} s"
        message = (f"your function did not finish within {seconds} on the check's cases (an "
                   "endless loop, or far too many iterations?)")
        return fail("timeout", message), [("timeout", f"{call.exercise} ran past {seconds}")]
    try:
        attempt = attempt_from(report, cases, hidden=call.hidden)
    except Malformed as error:
        return fail("forged", f"not graded: the grader received {error}. [forged-result]"), [
            ("tampered", f"malformed results on the grading channel ({error})")]
    run = from_attempt(exercise, attempt, cases)
    return run_check(exercise, cases, hidden=call.hidden, learner=run), []


def _stored_seeds(course_root: Path, assignment: str, student: str,
                  version: str) -> dict[str, int]:
    """The seeds of an earlier grading of the same version of this submission."""
    try:
        record = load_record(course_root, assignment, student)
    except (ValueError, TypeError, OSError):  # a damaged record: seed from the secret
        return {}
    if record is None or record.version != version:
        return {}
    return dict(record.seeds)


# ---------------------------------------------------------------------------------------
# The nbgrader preprocessor
# ---------------------------------------------------------------------------------------


class UnisolatedGrading(RuntimeError):
    """This machine cannot isolate the worker, and grading without isolation was not allowed."""


class TrustedExecute(NbGraderPreprocessor):
    """Replaces nbgrader's ``Execute`` in ``Autograde.autograde_preprocessors``."""

    cell_timeout = Float(60.0, help="Seconds one code cell, or one check, may run.").tag(
        config=True)
    notebook_timeout = Float(600.0, help="Seconds the whole notebook may run.").tag(config=True)
    memory_limit_mb = Integer(4096, help="Memory of the whole sandbox, in MiB.").tag(
        config=True)
    processes = Integer(64, help="Processes of the sandbox at once.").tag(config=True)
    isolate = Bool(True, help="Run the sandbox in namespaces when the machine allows.").tag(
        config=True)
    allow_unisolated = Bool(False, help="Grade even where the machine cannot isolate the "
                                        "worker (also the environment variable "
                                        f"{isolation.ALLOW_UNISOLATED_ENV}=1).").tag(config=True)
    course_root = Unicode("", help="The course folder (hidden from the sandbox; holds the "
                                   "secret and the grading records).").tag(config=True)
    scheduler = Unicode("", help="A Dask scheduler's address: grade the notebook on one of its "
                                 "workers (autograder.grading.remote); empty: here.").tag(
        config=True)
    run_label = Unicode("", help="Part of the key of each task sent to the scheduler (one "
                                 "autograde run's).").tag(config=True)

    def preprocess(self, nb: NotebookNode, resources: dict) -> tuple[NotebookNode, dict]:
        info = resources["nbgrader"]
        if not self.course_root:
            raise ValueError("TrustedExecute.course_root is not set (see nbgrader_config.py)")
        course_root = Path(self.course_root)
        allowed = self.allow_unisolated or os.environ.get(isolation.ALLOW_UNISOLATED_ENV) == "1"
        sandbox = isolation.Limits(memory_bytes=self.memory_limit_mb * 2**20,
                                   processes=self.processes,
                                   cpu_seconds=self.notebook_timeout + 60)
        budget = Budget(cell_seconds=self.cell_timeout, notebook_seconds=self.notebook_timeout,
                        sandbox=sandbox)
        if self.scheduler:  # the worker checks its own isolation
            nb, record = self._grade_remotely(nb, info, course_root, budget, allowed)
        else:
            if self.isolate and not allowed and (why := isolation.refusal()) is not None:
                raise UnisolatedGrading(why)
            record = grade_notebook(nb, course_root=course_root,
                                    assignment=info["assignment"], student=info["student"],
                                    notebook=info["notebook"], budget=budget,
                                    isolate=self.isolate)
        record.save(course_root)
        for item in record.attention:
            self.log.warning("%s/%s needs attention (%s): %s", info["student"],
                             info["assignment"], item.reason, item.detail)
        return nb, resources

    def _grade_remotely(self, nb: NotebookNode, info: dict, course_root: Path, budget: Budget,
                        allowed: bool) -> tuple[NotebookNode, GradingRecord]:
        """``grade_notebook`` on a worker of :attr:`scheduler`: the seeds go, the secret stays."""
        from autograder.grading import remote

        job = remote.GradingJob(
            nb=nb, assignment=info["assignment"], student=info["student"],
            notebook=info["notebook"],
            hidden_seeds=seed_hidden_checks(nb, course_root, info["assignment"],
                                            info["student"]),
            budget=budget, isolate=self.isolate, allow_unisolated=allowed,
            fingerprint=remote.code_fingerprint())
        return remote.grade(self.scheduler, job, self.run_label)
