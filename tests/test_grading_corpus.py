"""The trusted grader against a corpus of adversarial and honest-but-unusual submissions.

Every case (``tests/grading_corpus/``) is a real source notebook of the course, the honest
baseline that scores full marks, with one solution cell replaced or a learner cell inserted,
graded by ``autograder.grading.trusted.grade_notebook`` as a student's submission. The design under
test (issue 12, DESIGN.md "Grading trust model"): the learner can run any Python in the
worker, at any time, and read or replace anything there; the grade is still right because

- no code that computes a graded answer, or a part of one, is reachable from the worker:
  ``refimpl.X`` is a stand-in whose calls the grader answers under a policy, refusing a
  function that could answer an exercise still to be graded (unless the exercise being graded
  is meant to call it); a graded function that calls its own exercise's reference scores 0
  and is reported ("reference-used");
- the worker sees an allow-list of files (bubblewrap), no network, and limits that hold for
  all its processes, which are all gone when grading ends;
- test cells never run in the worker: the grader sends each check's cases, gets plain data
  back, and compares with the reference in its own process; what the worker sends is
  untrusted and bounded, an answer to a question not asked breaks the protocol ("tampered"),
  and a missing answer is a failure with a reason ("crashed", "timeout"), never a pass;
- hidden cases are seeded per submission version, and nothing the learner's code sees or
  prints while they run reaches the graded notebook.

Hence the expectations, by class (each case's ``points``, ``attention`` and ``note``):

1. reaching the reference under another name (submodules, aliases, built names, other public
   or private functions that compute the answer or a part of it: forward_231 with crafted
   weights, neuron, relu_prime, bce_from_logits, mlp_backward, train, dense_backward, the
   mistake catalogue): the targeted cell scores 0; "reference-used" where the graded function
   called its own exercise's reference. ``cheat_works`` cases are first shown to pass the
   check in this process with the real refimpl: the cheat is real, only the grader stops it.
2. rebuilding reference code inside the worker (files at the checkout path, a walk of ``/``,
   site-packages and .pth files, importlib, sys.modules, gc, inspect.getsource, pickle and
   marshal of a stand-in, /proc): 0, and nothing found; one case prints everything
   reference-like it can find and the test reads the cell's output: nothing.
3. pausing, replacing or side-stepping the watch (a thread started earlier, patched
   stand-ins, replaced sys.modules, profilers off, renamed builtins, an ``__import__`` hook,
   results that lie about equality or change when read again, patched worker internals,
   endless loops and swallowed interruptions): 0; the watch is the grader's, not the worker's.
4. forging the report channel (frames on fd 1 and sys.__stdout__, garbage or valid-looking
   replies on the channel, a huge length header, closed descriptors, ``os._exit(0)``,
   ``sys.exit`` in the graded function, suppressed replies, hand-made call frames): 0, with
   "tampered" when the channel got an answer that was not asked for, and the checks that
   could not run "not graded" with a reason.
5. harvesting hidden inputs (printed, raised, warned, in a type name, returned, in a crash
   message, stored and printed by a later cell; a resubmission with a lookup table of the
   last grading's hidden inputs): 0, none of the hidden inputs in any output of the graded
   notebook; the resubmission gets new seeds; regrading the same file gives the same seeds
   and score.
6. isolation (the course folder, another student's submission, the source notebooks, the
   secret, a host TCP port and unix socket, killing the parent, a setsid daemon, a fork bomb
   bounded at 300, an 8 GiB allocation, 6 GiB across four processes, writing outside the
   scratch folder): 0, nothing read, written or reached, no process left, at most the
   sandbox's memory held at once by all its processes, and the grader still grades the next
   submission.
7. bounded reading (200 MB on stdout, 100 MB on stderr, a 2 GiB result, a 100 MB exception
   message, a result nested 100,000 deep): 0, the graded notebook's outputs stay small, the
   grader's memory does not grow, the worker is stopped as soon as a cap is passed, and the
   grader still grades the next submission. A learner's function that raises with a huge
   message is still only that function's failure: the later checks are graded.

Honest-but-unusual submissions keep full marks with no attention item other than
"suspicious-code" (static advice, never scored).

Cases marked ``isolation`` need the bubblewrap view; they skip without it, and fail instead
when BACKPROP_COURSE_REQUIRE_ISOLATION=1 (CI).
"""

from __future__ import annotations

import os
import resource
import secrets
import time
from collections import Counter
from dataclasses import dataclass

import grading_corpus as corpus
import numpy as np
import pytest
from grading_corpus import Case, Ctx

import refimpl
from autograder import check
from autograder.grading import isolation
from autograder.grading.conversation import Budget
from autograder.grading.trusted import grade_notebook

CELL_SECONDS = 20.0
NOTEBOOK_SECONDS = 120.0
HONEST_REASONS = {"suspicious-code"}


def _budget(case: Case | None) -> Budget:
    seconds = case.cell_seconds if case is not None and case.cell_seconds else CELL_SECONDS
    return Budget(cell_seconds=seconds, notebook_seconds=NOTEBOOK_SECONDS)


def _visible_relu_inputs() -> str:
    return repr([np.asarray(c.args[0]).tolist() for c in check.exercise("relu").cases()])


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@dataclass
class Graded:
    """One graded case: the notebook (graded in place), its record, what the test set up."""

    case: Case
    ctx: Ctx
    nb: object
    record: object
    seconds: float
    rss_before: float

    def cell_text(self, index: int) -> str:
        parts = []
        for out in self.nb.cells[index].get("outputs", []):
            if out.output_type == "stream":
                parts.append(out.text)
            elif out.output_type == "error":
                parts += [out.ename, out.evalue, *out.traceback]
            else:
                parts += [str(v) for v in out.get("data", {}).values()]
        return "\n".join(parts)

    def all_text(self) -> str:
        return "\n".join(self.cell_text(i) for i in range(len(self.nb.cells)))

    def record_cell(self, grade_id: str):
        return next(c for c in self.record.cells if c.grade_id == grade_id)

    def cell_points(self, grade_id: str) -> float:
        return self.record_cell(grade_id).points

    def hidden_inputs_in_outputs(self, exercise: str) -> list[str]:
        """The hidden inputs of ``exercise`` (this grading's seed) that appear in any output."""
        seed = self.record.seeds[exercise]
        text = self.all_text()
        leaked = []
        for case in check.exercise(exercise).cases(True, seed):
            for value in np.asarray(case.args[0], dtype=float).ravel():
                if abs(value) < 1e-3:
                    continue
                for form in (repr(float(value)), f"{value:.6g}", f"{value:.5g}"):
                    if len(form.lstrip("-").replace(".", "")) >= 5 and form in text:
                        leaked.append(form)
        return leaked

    def honest_regrade_works(self) -> None:
        """The grader survived: an honest submission graded next gets full marks."""
        nb = corpus.source_notebook("01_neuron")
        record = grade_notebook(nb, course_root=self.ctx.course, assignment="01_neuron",
                                student="next", notebook="01_neuron", budget=_budget(None))
        assert record.score == record.max_score, _describe(nb, record)
        assert os.getpid() > 0

    def rss_growth_mib(self) -> float:
        return _rss_mib() - self.rss_before


def _describe(nb, record) -> str:
    lines = [f"score {record.score}/{record.max_score}; isolation: {record.isolation}"]
    lines += [f"  {c.grade_id}: {c.points}/{c.max_points} "
              f"{[(o.key, o.hidden, o.passed, o.stage, o.mistake) for o in c.checks]}"
              for c in record.cells]
    lines += [f"  attention {a.reason}: {a.detail[:300]}" for a in record.attention]
    for cell in nb.cells:
        grade_id = corpus.grade_id_of(cell)
        if grade_id and grade_id.startswith("test_"):
            text = "\n".join(o.get("text", "") or "\n".join(o.get("traceback", []))
                             for o in cell.get("outputs", []))
            lines.append(f"  [{grade_id}] {text.strip()[:600]}")
    return "\n".join(lines)


def _needs_isolation() -> None:
    if isolation.detect().namespaces:
        return
    message = "the bubblewrap view is not available on this machine"
    if os.environ.get("BACKPROP_COURSE_REQUIRE_ISOLATION") == "1":
        pytest.fail(message + " (BACKPROP_COURSE_REQUIRE_ISOLATION=1)")
    pytest.skip(message)


@pytest.fixture
def ctx(course, tmp_path):
    context = Ctx(course=course, tmp=tmp_path, mark=f"bpc{secrets.token_hex(5)}")
    context.facts["visible_relu"] = _visible_relu_inputs()
    yield context
    for cleanup in reversed(context.cleanups):
        cleanup()


def grade_case(case: Case, ctx: Ctx, student: str = "s1") -> Graded:
    if case.isolation:
        _needs_isolation()
    if case.setup is not None:
        case.setup(ctx)
    nb = corpus.build_notebook(case, ctx)
    rss = _rss_mib()
    started = time.monotonic()
    record = grade_notebook(nb, course_root=ctx.course, assignment=case.assignment,
                            student=student, notebook=case.assignment, budget=_budget(case))
    return Graded(case, ctx, nb, record, time.monotonic() - started, rss)


def check_expectations(graded: Graded) -> None:
    case, record = graded.case, graded.record
    why = _describe(graded.nb, record)
    expected = corpus.test_cells(corpus.source_notebook(case.assignment))
    got = {c.grade_id: c for c in record.cells}
    assert set(got) == set(expected), why
    for grade_id, full in expected.items():
        want = case.points.get(grade_id, full) if grade_id in case.points else full
        if want is None:
            continue
        assert got[grade_id].points == want, f"{grade_id}: expected {want}\n{why}"
        assert got[grade_id].max_points == full, why
    reasons = {a.reason for a in record.attention}
    assert case.attention <= reasons, f"missing attention {case.attention - reasons}\n{why}"
    if case.attention_any:
        assert reasons & case.attention_any, f"none of {case.attention_any}\n{why}"
    if case.honest:
        assert reasons <= HONEST_REASONS, why
    assert isinstance(record.isolation, str), why
    assert record.isolation.strip(), why
    if case.max_seconds is not None:
        assert graded.seconds <= case.max_seconds, \
            f"grading took {graded.seconds:.1f} s, more than {case.max_seconds} s\n{why}"
    if case.extra is not None:
        try:
            case.extra(graded)
        except AssertionError as error:
            raise AssertionError(f"{error}\n{why}") from None


# ---------------------------------------------------------------------------------------
# The corpus
# ---------------------------------------------------------------------------------------


def test_the_corpus_covers_every_class():
    counts = Counter(case.attack for case in corpus.CORPUS)
    assert set(counts) == set(corpus.CLASSES)
    assert sum(n for attack, n in counts.items() if attack != "honest") >= 40
    assert counts["honest"] >= 15
    ids = [case.id for case in corpus.CORPUS]
    assert len(ids) == len(set(ids))
    for case in corpus.ADVERSARIAL:
        assert 0 in case.points.values(), f"{case.id}: no targeted cell at 0 points"
        corpus.build_notebook(case, None)
    for case in corpus.HONEST:
        assert not case.points
        assert not case.attention


@pytest.mark.parametrize("assignment", ["01_neuron", "02_forward", "06_backprop",
                                        "07_training"])
def test_the_unmodified_source_notebook_gets_full_marks(assignment, tmp_path):
    nb = corpus.source_notebook(assignment)
    record = grade_notebook(nb, course_root=tmp_path, assignment=assignment, student="s1",
                            notebook=assignment, budget=_budget(None))
    assert record.score == record.max_score > 0, _describe(nb, record)
    assert {a.reason for a in record.attention} <= HONEST_REASONS, _describe(nb, record)


_CHEATS = [case for case in corpus.ADVERSARIAL if case.cheat_works]
_CHECKS = {
    "relu": ("relu", {}),
    "sigmoid": ("sigmoid", {}),
    "neuron": ("neuron", {"activations": (refimpl.sigmoid, refimpl.relu)}),
    "backward_231_mse": ("backward_231", {"loss": "mse"}),
    "backward_231_bce": ("backward_231", {"loss": "bce"}),
    "backward_tanh_231": ("backward_tanh_231", {}),
}


@pytest.mark.parametrize("case", _CHEATS, ids=[case.id for case in _CHEATS])
def test_the_cheat_is_real(case):
    """With the real refimpl in reach (this process), the cheat passes its check."""
    namespace = {"np": np, "refimpl": refimpl, "check": check,
                 "relu_prime": refimpl.relu_prime, "sigmoid_prime": refimpl.sigmoid_prime}
    for edit in case.edits:
        exec(compile(corpus.fill(edit.source, None), f"<{case.id}>", "exec"), namespace)
    name, options = _CHECKS[case.cheat_works]
    exercise = check.exercise(name, **options)
    target = namespace[case.cheat_works]
    assert check.run(exercise, target).passed
    assert check.run(exercise, target, hidden=True, seed=12345).passed


@pytest.mark.parametrize("case", corpus.ADVERSARIAL, ids=[c.id for c in corpus.ADVERSARIAL])
def test_adversarial(case, ctx):
    check_expectations(grade_case(case, ctx))


@pytest.mark.parametrize("case", corpus.HONEST, ids=[c.id for c in corpus.HONEST])
def test_honest_but_unusual(case, ctx):
    check_expectations(grade_case(case, ctx))


# ---------------------------------------------------------------------------------------
# 5. Harvesting hidden inputs across gradings
# ---------------------------------------------------------------------------------------

_TABLE_RELU = """
_TABLE = {@@TABLE@@}
def relu(Z):
    Z = np.asarray(Z, dtype=float)
    key = (Z.shape, tuple(Z.ravel().tolist()))
    if key in _TABLE:
        return np.array(_TABLE[key], dtype=float).reshape(Z.shape)
    return np.zeros(Z.shape)  # anything not in the table: wrong
"""


def _table_of(seed: int) -> str:
    """Inputs and reference outputs of the visible cases and of the hidden ones of ``seed``."""
    exercise = check.exercise("relu")
    entries = []
    for case in exercise.cases() + exercise.cases(True, seed):
        Z = np.asarray(case.args[0], dtype=float)
        entries.append(f"({Z.shape!r}, {tuple(Z.ravel().tolist())!r}): "
                       f"{np.asarray(refimpl.relu(Z)).ravel().tolist()!r}")
    return ", ".join(entries)


def test_resubmission_with_a_lookup_table_of_the_last_hidden_inputs(ctx):
    """5-harvest: the hidden cases of the first grading, tabulated offline, do not pass the
    resubmission's: it is another version, with new seeds."""
    honest = Case("first", "5-harvest", "01_neuron", (corpus.replace("relu", corpus.HONEST_RELU),))
    first = grade_case(honest, ctx)
    first.record.save(ctx.course)
    assert first.record.score == first.record.max_score, _describe(first.nb, first.record)
    seed = first.record.seeds["relu"]
    table = corpus.replace("relu", _TABLE_RELU.replace("@@TABLE@@", _table_of(seed)))
    namespace = {"np": np}
    exec(table.source, namespace)
    # the table would pass the first grading's hidden cases: the cheat is real
    assert check.run(check.exercise("relu"), namespace["relu"], hidden=True, seed=seed).passed
    second = grade_case(Case("table", "5-harvest", "01_neuron", (table,)), ctx)
    second.record.save(ctx.course)
    assert second.record.seeds["relu"] != seed
    assert second.cell_points("test_relu") == 0, _describe(second.nb, second.record)
    assert second.cell_points("test_sigmoid") == 2


def test_regrading_the_same_file_gives_the_same_seeds_and_score(ctx):
    """5-harvest: the same file, graded again (also after another version was graded and
    stored), gets the same seeds, the same cases and the same score."""
    wrong = Case("wrong", "5-harvest", "01_neuron", (corpus.replace("relu", corpus.WRONG_RELU),))
    first = grade_case(wrong, ctx)
    first.record.save(ctx.course)
    again = grade_case(wrong, ctx)
    assert again.record.seeds == first.record.seeds
    assert again.record.score == first.record.score == 5
    assert [c.checks for c in again.record.cells] == [c.checks for c in first.record.cells]
    other = grade_case(Case("other", "5-harvest", "01_neuron",
                            (corpus.replace("relu", corpus.WRONG_RELU + "\n# v2\n"),)), ctx)
    other.record.save(ctx.course)
    assert other.record.seeds["relu"] != first.record.seeds["relu"]
    third = grade_case(wrong, ctx)
    assert third.record.seeds == first.record.seeds
    assert third.record.score == first.record.score
