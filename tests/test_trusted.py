"""The trusted grader (autograder.grading.trusted): test cells, seeds, and the in-band cheats of
DESIGN.md ("nbgrader grades in-band"), each in a small notebook graded by grade_notebook.

A cheat that scored full marks under nbgrader's own Execute must score 0 here; an honest
solution must keep its full marks.
"""

from __future__ import annotations

import re
import stat
import textwrap
from pathlib import Path

import pytest
from nbformat.v4 import new_code_cell
from nbgrader.utils import is_grade, is_solution

from autograder import check
from autograder.grading.conversation import Budget
from autograder.grading.integrity import suspicious_lines
from autograder.grading.seeds import course_secret, notebook_version, submission_seed
from autograder.grading.trusted import CheckCall, grade_notebook, parse_test_cell
from notebook_tools import (
    HONEST_RELU,
    WRONG_RELU,
    cell_metadata,
    checks_output,
    relu_notebook,
    source_notebook,
)

LIMITS = Budget(cell_seconds=10, notebook_seconds=60)


def grade(nb, course: Path, student: str = "alice"):
    return grade_notebook(nb, course_root=course, assignment="01_neuron", student=student,
                          notebook="01_neuron", budget=LIMITS)


# ---------------------------------------------------------------------------------------
# Test cells
# ---------------------------------------------------------------------------------------

EXPECTED_EXERCISES = {
    "01_neuron": {"relu", "sigmoid", "neuron"},
    "02_forward": {"dense_forward", "forward_231", "predict"},
    "03_loss": {"mse", "bce", "bce_from_logits"},
    "04_gradient_descent": {"numerical_derivative", "numerical_gradient", "gradient_descent"},
    "05_chain_rule": {"neuron_loss_grads", "Value", "value_neuron_loss"},
    "06_backprop": {"backward_231", "gradient_errors", "backward_tanh_231"},
    "07_training": {"train", "predict", "accuracy"},
    "08_why_backprop": {"mlp_forward", "mlp_backward", "gd_step"},
    "09_classifier": {"relu_backward", "dense_backward", "log_softmax",
                      "softmax_cross_entropy_backward", "classifier_gradients",
                      "train_classifier"},
    "10_training_well": {"init_std", "momentum_step", "adam_step", "l2_regularize",
                         "early_stopping"},
}


@pytest.mark.parametrize("assignment", sorted(EXPECTED_EXERCISES))
def test_every_source_test_cell_parses(assignment):
    nb = source_notebook(assignment)
    found = set()
    test_cells = [c for c in nb.cells
                  if c.cell_type == "code" and is_grade(c) and not is_solution(c)]
    assert test_cells
    for cell in test_cells:
        grade_id = cell.metadata.nbgrader["grade_id"]
        calls = parse_test_cell(cell.source)
        assert [c.hidden for c in calls] == [False, True], grade_id
        target = grade_id.removeprefix("test_")
        for call in calls:
            assert call.target == target
            assert call.exercise == target or target.startswith(call.exercise + "_")
            check.exercise(call.exercise, **call.options)
        found |= {c.exercise for c in calls}
    assert found == EXPECTED_EXERCISES[assignment]


def test_parse_test_cell_reads_options_and_drops_seeds():
    calls = parse_test_cell('"""doc"""\ncheck.backward_231(f, loss="bce", hidden=True, seed=3)\n'
                            "check.neuron(g, activations=(refimpl.sigmoid, refimpl.relu))")
    assert calls[0] == CheckCall("backward_231", "f", {"loss": "bce"}, True)
    assert calls[1].options["activations"][1].__name__ == "relu"
    assert parse_test_cell('"""only a docstring"""') == []


@pytest.mark.parametrize(("source", "words"), [
    ("assert relu(1) == 1", "not a one-line check call"),
    ("o = {}\ncheck.relu(relu)", "not a one-line check call"),
    ("check.relu(relu, **o)", "**options are not allowed"),
    ("check.no_such_exercise(relu)", "unknown exercise 'no_such_exercise'"),
    ("check.relu(relu, hidden=flag)", "must be a literal or a refimpl function"),
    ("check.backward_231(f, loss=LOSS)", "must be a literal or a refimpl function"),
    ("check.relu(relu, relu)", "not a one-line check call"),
    ("print(check.relu(relu))", "not a one-line check call"),
    ("import os; check.relu(relu)", "not a one-line check call"),
])
def test_bad_test_cells_are_refused_with_a_useful_message(source, words):
    with pytest.raises(ValueError, match=re.escape(words)):
        parse_test_cell(source)


def test_a_bad_option_value_is_refused():
    with pytest.raises(ValueError, match="loss"):
        parse_test_cell("check.backward_231(f, loss='nope')")


# ---------------------------------------------------------------------------------------
# Seeds, the secret
# ---------------------------------------------------------------------------------------


def test_submission_seed_is_deterministic_and_depends_on_everything():
    seed = submission_seed(b"s", "01_neuron", "alice", "relu", "v1")
    assert seed == submission_seed(b"s", "01_neuron", "alice", "relu", "v1")
    others = {submission_seed(b"t", "01_neuron", "alice", "relu", "v1"),
              submission_seed(b"s", "02_forward", "alice", "relu", "v1"),
              submission_seed(b"s", "01_neuron", "bob", "relu", "v1"),
              submission_seed(b"s", "01_neuron", "alice", "sigmoid", "v1"),
              submission_seed(b"s", "01_neuron", "alice", "relu", "v2")}
    assert seed not in others
    assert len(others) == 5
    assert 0 <= seed < 2**63
    # the fields are separated: "a" + "bc" is not "ab" + "c"
    assert submission_seed(b"s", "a", "bc", "k", "v") != submission_seed(b"s", "ab", "c", "k", "v")


def test_course_secret_is_created_once_owner_only(course):
    secret = course_secret(course)
    path = course / "grading_secret"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(secret) >= 32
    assert course_secret(course) == secret
    assert course_secret(course) == path.read_text().strip().encode()
    other = course.parent / "other"
    other.mkdir()
    assert course_secret(other) != secret


# ---------------------------------------------------------------------------------------
# The in-band cheats
# ---------------------------------------------------------------------------------------


def test_an_honest_relu_gets_full_points(course):
    nb = relu_notebook(HONEST_RELU)
    record = grade(nb, course)
    assert record.score == record.max_score == 2, checks_output(nb)
    assert not [a for a in record.attention if a.reason != "suspicious-code"]
    assert record.attention == []
    assert [c.passed for c in record.cells[0].checks] == [True, True]
    assert all(o.output_type == "stream" for o in nb.cells[-1].outputs)


def test_a_wrong_relu_gets_zero_with_its_named_mistake(course):
    nb = relu_notebook(WRONG_RELU)
    record = grade(nb, course)
    assert record.score == 0
    assert nb.cells[-1].outputs[-1].output_type == "error"
    assert record.cells[0].checks[0].mistake is not None


def test_a_relu_that_prints_and_warns_gets_full_points_without_stderr(course):
    solution = HONEST_RELU + textwrap.dedent("""
    import sys, warnings
    _relu = relu
    def relu(Z):
        print("computing relu")
        print("debug", file=sys.stderr)
        warnings.warn("a learner's warning")
        return _relu(Z)
    print("defined", file=sys.stderr)
    """)
    nb = relu_notebook(solution)
    record = grade(nb, course)
    assert record.score == 2, checks_output(nb)
    assert all(out.get("name") != "stderr" for out in nb.cells[-1].outputs)
    solution_outputs = nb.cells[2].outputs
    assert [o.name for o in solution_outputs if o.output_type == "stream"] == ["stderr"]


CHEATS = {
    "a-replace-check-helper": (
        WRONG_RELU, "import autograder.check as c\nc.relu = lambda *a, **k: None\n"
               "check.relu = lambda *a, **k: None\n"),
    "a-patch-run-check": (
        WRONG_RELU, "import autograder.checks.engine as e\n"
               "from autograder.checks.types import CheckResult\n"
               "e.run_check = lambda name, *a, **k: CheckResult(name, True, 'ok')\n"
               "import autograder.check\n"
               "autograder.check.run_check = e.run_check\n"),
    "a-patch-exercise-grade": (
        WRONG_RELU, "import autograder.check as c\n"
               "c.run = lambda exercise, fn, **k: c.run_check(exercise, exercise.cases(), "
               "learner_fn=refimpl.relu)\n"),
    "b-pre-run-cell-hook": (
        WRONG_RELU, "def skip(info):\n    raise SystemExit\n"
               "get_ipython().events.register('pre_run_cell', skip)\n"),
    "b-input-transformer": (
        WRONG_RELU, "get_ipython().input_transformers_post.append(lambda lines: [])\n"),
    "c-read-test-source": (
        "import inspect\n"
        "def relu(Z):\n"
        "    seen = [f.frame.f_locals.get('expected') for f in inspect.stack()]\n"
        "    source = '\\n'.join(globals().get('In', []))\n"
        "    if 'expected' in source or any(s is not None for s in seen):\n"
        "        return next(s for s in seen if s is not None)\n"
        "    return np.zeros_like(np.asarray(Z, dtype=float))\n", ""),
}


@pytest.mark.parametrize("cheat", CHEATS.values(), ids=CHEATS.keys())
def test_in_band_cheats_score_zero(course, cheat):
    solution, extra = cheat
    nb = relu_notebook(solution, *([extra] if extra else []))
    record = grade(nb, course)
    assert record.score == 0, checks_output(nb)
    assert record.cells[0].points == 0
    assert nb.cells[-1].outputs
    assert nb.cells[-1].outputs[-1].output_type == "error"


def test_the_hooks_of_a_cheat_do_not_hide_an_honest_answer(course):
    nb = relu_notebook(HONEST_RELU, "get_ipython().input_transformers_post.append(lambda l: [])")
    assert grade(nb, course).score == 2


def test_the_reference_itself_scores_zero_and_is_flagged(course):
    nb = relu_notebook("relu = refimpl.relu\n")
    record = grade(nb, course)
    assert record.score == 0
    reasons = [a.reason for a in record.attention]
    assert "reference-used" in reasons
    assert "suspicious-code" in reasons
    assert "[uses-reference]" in checks_output(nb)
    assert {c.stage for c in record.cells[0].checks} == {"reference-used"}


def test_a_copy_of_the_reference_source_does_not_score(course):
    solution = ("import inspect, refimpl.activations as acts\n"
                "_ns = {}\n"
                "exec('\\n' + inspect.getsource(acts), _ns)  # shifted: new code objects\n"
                "relu = _ns['re' + 'lu']\n")
    record = grade(relu_notebook(solution), course)
    assert record.score == 0


def test_the_hidden_tests_cannot_be_read_from_the_worker(course):
    spy = ("import gc\n"
           "texts = [o for o in getattr(gc, 'get_' + 'objects')() if isinstance(o, (str, dict))]\n"
           "print(sum(('BEGIN ' + 'HIDDEN') in str(t) or ('hidden=' + 'True') in str(t)\n"
           "          for t in texts))\n")
    nb = relu_notebook(HONEST_RELU, spy)
    grade(nb, course)
    spy_output = "".join(o.get("text", "") for o in nb.cells[3].outputs)
    assert spy_output.strip() == "0", spy_output


# ---------------------------------------------------------------------------------------
# Records
# ---------------------------------------------------------------------------------------


def test_grading_is_reproducible_and_records_the_hidden_seeds(course):
    first_nb, second_nb = relu_notebook(WRONG_RELU), relu_notebook(WRONG_RELU)
    version = notebook_version(first_nb)
    first = grade(first_nb, course)
    first.save(course)
    second = grade(second_nb, course)
    secret = course_secret(course)
    assert first.version == version
    assert first.seeds == {"relu": submission_seed(secret, "01_neuron", "alice", "relu",
                                                   version)}
    assert second.seeds == first.seeds
    assert second.cells == first.cells
    assert [o.get("traceback") for o in first_nb.cells[-1].outputs] == \
        [o.get("traceback") for o in second_nb.cells[-1].outputs]
    bob = grade(relu_notebook(WRONG_RELU), course, student="bob")
    assert bob.seeds["relu"] != first.seeds["relu"]
    changed = grade(relu_notebook(WRONG_RELU.replace("0.0", "0.00")), course)
    assert changed.seeds["relu"] != first.seeds["relu"]  # a new version: new hidden cases


def test_stored_seeds_win_over_the_secret_for_the_same_version_only(course):
    record = grade(relu_notebook(HONEST_RELU), course)
    record.seeds["relu"] = 424242
    record.save(course)
    assert grade(relu_notebook(HONEST_RELU), course).seeds == {"relu": 424242}
    assert grade(relu_notebook(HONEST_RELU + "\n"), course).seeds != {"relu": 424242}


def test_suspicious_lines():
    nb = relu_notebook("import sys\nsys.setprofile(None)\nrelu = refimpl.relu\n"
                       "s = refimpl.sigmoid(np.zeros(2))\n"
                       "# relu = refimpl.relu in a comment\n")
    found = [a.detail for a in suspicious_lines(nb, {"relu"})]
    assert any("sys.setprofile" in d and "tracing" in d for d in found)
    assert any("relu = refimpl.relu" in d and "reference implementation" in d for d in found)
    assert not any("sigmoid" in d for d in found)
    assert len(found) == 2
    assert all(d.startswith("cell 3, line") for d in found)
    # the locked setup and test cells are not the learner's
    assert suspicious_lines(relu_notebook(HONEST_RELU), {"relu"}) == []
    # with sigmoid graded too, its reference is flagged as well
    assert len(suspicious_lines(nb, {"relu", "sigmoid"})) == 3
    # a fresh copy of a whole refimpl module, run from its file
    rerun = relu_notebook("import runpy\nns = runpy.run_path(refimpl.activations.__file__)\n")
    assert [a.detail for a in suspicious_lines(rerun, {"relu"})] == [
        "cell 3, line 1 builds or runs code from text: `import runpy`",
        "cell 3, line 2 builds or runs code from text: "
        "`ns = runpy.run_path(refimpl.activations.__file__)`"]


def test_suspicious_lines_see_the_reference_under_an_alias():
    """``import refimpl as ref`` in a locked cell makes ``ref.relu`` the reference too."""
    nb = relu_notebook("relu = ref.relu\n", "s = ref.sigmoid(np.zeros(2))\n")
    nb.cells.insert(1, new_code_cell("import refimpl as ref\n",
                                     metadata=cell_metadata("aliases")))
    found = [a.detail for a in suspicious_lines(nb, {"relu"})]
    assert found == ["cell 4, line 1 uses the reference implementation of a graded exercise: "
                     "`relu = ref.relu`"]


def test_suspicious_lines_let_an_exercise_build_on_the_references_it_may_use():
    """neuron may call relu and sigmoid (its Exercise.uses): in the cell that defines neuron
    the reference relu is not flagged, in another learner cell it is."""
    nb = relu_notebook(HONEST_RELU,
                       "def neuron(X, w, b, activation='relu'):\n"
                       "    return refimpl.relu(X @ w + b)\n",
                       "def helper(Z):\n    return refimpl.relu(Z)\n")
    found = [a.detail for a in suspicious_lines(nb, {"relu", "neuron"})]
    assert found == ["cell 5, line 2 uses the reference implementation of a graded exercise: "
                     "`return refimpl.relu(Z)`"]


FORGED_ANSWER = """
import gc
from backprop_worker.codec import frame
channel = next(o for o in gc.get_objects() if type(o).__name__ == "Channel")
channel.outbound.write(frame({"kind": "probe", "index": 3, "position": 0, "attempt": None,
                             "timed_out": False, "seconds": 0.0}))
"""


def test_an_answer_written_to_the_grading_channel_stops_grading_and_is_flagged(course):
    nb = relu_notebook(WRONG_RELU + FORGED_ANSWER)
    record = grade(nb, course)
    assert record.score == 0
    details = [a.detail for a in record.attention if a.reason == "tampered"]
    assert details
    assert "not asked" in details[0]
    assert "suspicious-code" in {a.reason for a in record.attention}


# refimpl.dense_forward with renamed locals and no comments; {message} and {result} are where
# the edited copy differs
_COPIED_DENSE_FORWARD = """
def _check_dense_shapes(X, W, name):
    pass
def dense_forward(inputs, weights, bias):
    inputs = np.asarray(inputs, dtype=np.float64)
    weights = np.asarray(weights, dtype=np.float64)
    bias = np.asarray(bias, dtype=np.float64)
    _check_dense_shapes(inputs, weights, "X")
    if bias.shape != (weights.shape[1],):
        raise ValueError({message})
    {result}
"""


def _graded_dense_forward(course, message: str, result: str):
    """The grading record of a notebook with relu and this copy of dense_forward."""
    solution = _COPIED_DENSE_FORWARD.format(message=message, result=result)
    nb = relu_notebook(HONEST_RELU, solution)
    nb.cells.append(new_code_cell("check.dense_forward(dense_forward)", metadata=cell_metadata(
        "test_dense_forward", grade=True, points=3)))
    return grade(nb, course)


def test_the_reference_typed_into_a_cell_is_noted_not_failed(course):
    """refimpl.dense_forward, operation for operation: noted for the instructor, graded as the
    learner's own; a short function is not noted at all."""
    record = _graded_dense_forward(
        course,
        'f"b must have shape (d_out,) = ({weights.shape[1]},), one bias per output "\n'
        '        f"unit; got shape {bias.shape}."',
        "return inputs @ weights + bias")
    assert record.score == 5
    assert [a.reason for a in record.attention] == ["reference-copied"]
    assert record.attention[0].detail == (
        "the code of dense_forward in cell 4 is the reference implementation of "
        "dense_forward, operation for operation")
    copied_relu = "def relu(Z):\n    return np.asarray(np.maximum(_as_float(Z), 0.0))\n"
    short = grade(relu_notebook("_as_float = np.asarray\n" + copied_relu), course)
    assert short.score == 2
    assert short.attention == []


def test_an_edited_copy_of_the_reference_is_noted(course):
    """The reference with its message rewritten and a line added still matches most of its
    operations in order: noted with the share, graded as the learner's own."""
    record = _graded_dense_forward(
        course, 'f"bias {bias.shape} does not fit W {weights.shape}"',
        "out = inputs @ weights + bias\n    return out")
    assert record.score == 5
    [(reason, detail)] = [(a.reason, a.detail) for a in record.attention]
    assert reason == "reference-copied"
    assert detail.startswith("the code of dense_forward in cell 4 is an edited copy of the "
                             "reference implementation of dense_forward: ")
    assert re.search(r": (8[5-9]|9\d|100)% of its operations, in order", detail), detail
