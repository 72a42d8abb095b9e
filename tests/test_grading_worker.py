"""The grading worker and the grader's side of it: what the worker may import, the plain-data
codec the grader reads untrusted bytes with, the policy on reference functions, and how the
grader copes with a notebook that loops, exits, floods or breaks the protocol.

The adversarial corpus (``test_grading_corpus.py``) tries the cheats; these tests pin the
mechanisms.
"""

from __future__ import annotations

import ast
import os
import shutil
import struct
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from autograder.grading import policy
from autograder.grading.conversation import Budget
from autograder.grading.trusted import grade_notebook
from autograder.grading.worker import codec
from autograder.grading.worker.codec import CodecError, Handle, Opaque
from notebook_tools import HONEST_RELU, checks_output, relu_notebook

WORKER = Path(__file__).resolve().parents[1] / "autograder" / "grading" / "worker"
ALLOWED_IMPORTS = set(sys.stdlib_module_names) | {"numpy", "IPython"}


def test_the_worker_imports_only_the_standard_library_numpy_and_ipython():
    modules = sorted(WORKER.glob("*.py"))
    assert len(modules) >= 7
    for path in modules:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:  # the worker's own modules
                    continue
                names = [node.module or ""]
            else:
                continue
            for name in names:
                assert name.partition(".")[0] in ALLOWED_IMPORTS, f"{path.name}: {name}"


# ---------------------------------------------------------------------------------------
# The codec
# ---------------------------------------------------------------------------------------

_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) \
    | st.text(max_size=20) | st.binary(max_size=20)
_values = st.recursive(
    _scalars, lambda inner: st.lists(inner, max_size=4) | st.tuples(inner, inner)
    | st.dictionaries(st.text(max_size=5), inner, max_size=4), max_leaves=20)


@given(_values)
def test_plain_data_round_trips(value):
    assert codec.decode(codec.encode(value)) == value


def test_arrays_scalars_handles_and_opaque_round_trip():
    value = {"a": np.arange(6.0).reshape(2, 3), "s": np.float64(1.5), "b": np.array([True]),
             "h": Handle(3, "f"), "o": Opaque("a Value"), "c": 1 + 2j, "big": 2**80}
    back = codec.decode(codec.encode(value))
    np.testing.assert_array_equal(back["a"], value["a"])
    assert type(back["s"]) is np.float64
    assert back["s"] == 1.5
    assert back["h"] == Handle(3, "f")
    assert back["o"] == Opaque("a Value")
    assert back["c"] == 1 + 2j
    assert back["big"] == 2**80
    assert back["a"].flags.writeable


@pytest.mark.parametrize(("data", "words"), [
    (b"l" + struct.pack("!I", 10**6) + b"N", "more items than bytes"),
    (b"Z", "unknown tag"),
    (b"N" + b"N", "after the value"),
    (b"s" + struct.pack("!I", 100) + b"abc", "cut short"),
    (b"a" + bytes([3]) + b"|O8" + bytes([1]) + struct.pack("!q", 1) + struct.pack("!q", 8)
     + b"\0" * 8, "not numeric"),
    (b"a" + bytes([3]) + b"<f8" + bytes([1]) + struct.pack("!q", 10**9)
     + struct.pack("!q", 8) + b"\0" * 8, "does not fit its shape"),
    ((b"l" + struct.pack("!I", 1)) * 40 + b"N", "nested too deeply"),
    (b"I" + struct.pack("!I", 5000) + b"9" * 5000, "4300 digits"),
    (b"\x80\x04\x95", "unknown tag"),  # a pickle is not this format
])
def test_decode_refuses_bytes_outside_the_format(data, words):
    with pytest.raises(CodecError, match=words):
        codec.decode(data)


def test_to_plain_strips_what_could_lie():
    class Liar(float):
        def __eq__(self, other):
            return True

    class Sub(np.ndarray):
        pass

    plain = codec.to_plain({"x": Liar(2.0), "a": np.zeros(2).view(Sub), "f": len,
                            "o": object()})
    assert type(plain["x"]) is float
    assert type(plain["a"]) is np.ndarray
    assert plain["f"] == Opaque("a builtin_function_or_method", is_callable=True)
    assert isinstance(plain["o"], Opaque)
    assert isinstance(codec.to_plain(np.zeros(3, dtype=object)), Opaque)


# ---------------------------------------------------------------------------------------
# The policy
# ---------------------------------------------------------------------------------------


def test_a_reference_function_waits_for_the_checks_it_could_answer():
    rules = policy.Policy(["relu", "relu", "neuron"])
    assert "until the check of relu" in rules.refusal("relu")
    assert rules.refusal("study_sleep") is None  # a data set answers nothing
    assert "the notebook's last check" in rules.refusal("MLPTrainer")  # unknown: everything
    rules.start_check("relu", (), key=(3, 0))
    assert rules.refusal("relu") is not None
    assert rules.used_own_reference("relu", (3, 0)) == "relu"
    assert rules.used_own_reference("relu", (3, 1)) is None  # another check of relu
    rules.end_check()
    rules.start_check("relu", (), key=(3, 1))
    rules.end_check()
    assert rules.refusal("relu") is None  # both relu checks ran
    rules.start_check("neuron", ("relu", "sigmoid"), key=(5, 0))
    assert rules.refusal("sigmoid") is None
    assert rules.refusal("neuron") is not None
    assert rules.refusal("dense_forward") is not None  # the affine part of a neuron
    assert rules.used_own_reference("neuron", (5, 0)) == "neuron"


def test_every_exercise_meant_to_call_a_helper_can_call_it():
    from autograder import check

    names = set(policy.reference_names())
    for exercise in check.EXERCISES:
        for helper in check.exercise(exercise).uses:
            assert helper in names, (exercise, helper)
    assert set(policy.ANSWERS) <= names


def test_value_is_shipped_only_when_nothing_else_it_answers_is_pending():
    rules = policy.Policy(["neuron_loss_grads", "Value", "value_neuron_loss"])
    assert not rules.may_ship("value_neuron_loss")
    rules.pending = ["value_neuron_loss"]
    assert rules.may_ship("value_neuron_loss")
    namespace: dict = {}
    exec(policy.shipped_source("value_neuron_loss")["Value"], namespace)
    a = namespace["Value"](2.0)
    (a * a).backward()
    assert a.grad == 4.0


# ---------------------------------------------------------------------------------------
# The conversation: loops, exits, floods
# ---------------------------------------------------------------------------------------

QUICK = Budget(cell_seconds=2, notebook_seconds=30)


def _grade(nb, course):
    return grade_notebook(nb, course_root=course, assignment="01_neuron", student="alice",
                          notebook="01_neuron", budget=QUICK)


def test_a_cell_over_its_limit_is_stopped_and_grading_goes_on(course):
    nb = relu_notebook(HONEST_RELU, "while True:\n    pass\n")
    record = _grade(nb, course)
    assert record.score == 2
    assert nb.cells[3].outputs[-1].ename == "CellTimeoutError"
    assert ("timeout", "cell 4 ran past its 2 s limit") in [(a.reason, a.detail)
                                                            for a in record.attention]


def test_a_loop_that_swallows_the_interruption_is_killed(course):
    swallow = textwrap.dedent("""
        while True:
            try:
                while True:
                    pass
            except BaseException:
                pass
    """)
    record = _grade(relu_notebook(HONEST_RELU, swallow), course)
    assert record.score == 0
    assert "timeout" in {a.reason for a in record.attention}


def test_exit_status_0_before_the_checks_is_a_failure_with_its_reason(course):
    nb = relu_notebook(HONEST_RELU, "import os\nos._exit(0)\n")
    record = _grade(nb, course)
    assert record.score == 0
    [crash] = [a.detail for a in record.attention if a.reason == "crashed"]
    assert "exit status 0" in crash
    assert "not graded" in checks_output(nb)
    assert "exit status 0" in checks_output(nb)


def test_a_stderr_flood_is_cut_and_marked(course):
    flood = "import os\nfor _ in range(20000):\n    os.write(2, b'x' * 1000)\n"
    record = grade_notebook(relu_notebook(HONEST_RELU, flood), course_root=course,
                            assignment="01_neuron", student="alice", notebook="01_neuron",
                            budget=Budget(cell_seconds=10, notebook_seconds=30,
                                          stderr_bytes=2**20))
    assert record.score == 0
    assert any("stderr" in a.detail for a in record.attention if a.reason == "tampered")


def test_what_a_check_prints_never_reaches_the_notebook(course):
    spy = HONEST_RELU + "_real = relu\ndef relu(Z):\n    print('SPY', Z)\n    return _real(Z)\n"
    nb = relu_notebook(spy)
    record = _grade(nb, course)
    assert record.score == 2
    assert "SPY" not in str([cell.get("outputs") for cell in nb.cells])


def test_sys_exit_in_the_graded_function_is_a_failed_case(course):
    nb = relu_notebook("def relu(Z):\n    raise SystemExit(0)\n")
    record = _grade(nb, course)
    assert record.score == 0
    assert "exit()" in checks_output(nb)


# ---------------------------------------------------------------------------------------
# No isolation, no silent grading
# ---------------------------------------------------------------------------------------


def test_autograde_refuses_a_machine_that_cannot_isolate_unless_allowed(tmp_path, monkeypatch):
    from autograder.grading import isolation
    from autograder.instructor import workflow

    shutil.copy(WORKER.parents[2] / "course" / "nbgrader_config.py", tmp_path)
    monkeypatch.setattr(isolation, "detect", lambda: isolation.Isolation(False, None))
    monkeypatch.setenv(isolation.ALLOW_UNISOLATED_ENV, "0")  # put back as it was afterwards
    with pytest.raises(workflow.UnisolatedMachine, match="--allow-unisolated"):
        workflow.autograde(tmp_path)
    assert workflow.autograde(tmp_path, allow_unisolated=True) == []  # nothing submitted
    assert os.environ[isolation.ALLOW_UNISOLATED_ENV] == "1"


def test_the_isolation_in_force_is_in_the_record(course):
    from autograder.grading import isolation

    record = _grade(relu_notebook(HONEST_RELU), course)
    assert record.isolation == isolation.detect().describe()
    unisolated = grade_notebook(relu_notebook(HONEST_RELU), course_root=course,
                                assignment="01_neuron", student="bob", notebook="01_neuron",
                                budget=QUICK, isolate=False)
    assert unisolated.score == 2
    assert unisolated.isolation.startswith("no sandbox view")


def test_narration_cells_that_need_the_reference_show_a_note_not_an_error(course):
    nb = relu_notebook(HONEST_RELU)
    nb.cells.insert(2, nb.cells[1].copy())  # a locked cell of the course's own
    nb.cells[2].source = "print(refimpl.relu(np.zeros(2)))"
    nb.cells[2].metadata = {"nbgrader": {**nb.cells[1].metadata["nbgrader"],
                                         "grade_id": "narration"}}
    record = _grade(nb, course)
    assert record.score == 2
    [note] = nb.cells[2].outputs
    assert note.output_type == "stream"
    assert "did not run while the notebook was graded: ReferenceUnavailable" in note.text


def test_cells_after_a_hidden_check_show_no_output(course):
    nb = relu_notebook(HONEST_RELU)
    nb.cells.append(nb.cells[2].copy())
    nb.cells[-1].source, nb.cells[-1].metadata = "print('SEEN LATER')", {}
    _grade(nb, course)
    assert "SEEN LATER" not in str(nb.cells[-1].outputs)
    assert "ran after a hidden check" in nb.cells[-1].outputs[0].text


def test_a_reference_call_that_would_flood_the_grader_s_memory_is_a_memory_error(course):
    """A reference function runs in the grader's process on the learner's arguments, with
    bounded memory and time: the learner's code gets the MemoryError, the grader goes on."""
    nb = relu_notebook(HONEST_RELU)
    nb.cells.insert(3, nb.cells[2].copy())
    nb.cells[3].metadata = {}
    nb.cells[3].source = ("try:\n    refimpl.init_mlp([40000, 40000])\n"
                          "except MemoryError as error:\n    print('refused:', type(error))\n")
    record = _grade(nb, course)
    assert record.score == 2
    assert "refused: <class 'MemoryError'>" in nb.cells[3].outputs[0].text
    assert record.attention == []
