"""The grading sandbox (autograder.sandbox) and what crosses it (autograder.wire).

Jobs are built by hand (a few cells, a relu probe) and run in real worker processes; the
learner's cells are hostile on purpose: endless loops, huge allocations, exits, forged
frames, the reference implementation in disguise. The grader (this process) must survive
every one of them and report what happened.
"""

from __future__ import annotations

import os
import pickle
import subprocess
import textwrap
import time

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autograder import check, wire
from autograder.catalogue import mistakes_for
from autograder.formatting import Opaque
from autograder.sandbox import (
    CellReport,
    Job,
    Limits,
    Probe,
    ProbeReport,
    isolation_available,
    run_job,
)

SETUP = "import numpy as np\nimport refimpl\n"
CORRECT_RELU = "def relu(Z):\n    return np.maximum(np.asarray(Z, dtype=float), 0.0)\n"
FAST = Limits(cell_seconds=10, notebook_seconds=60)

needs_isolation = pytest.mark.skipif(
    not isolation_available(),
    reason="no unprivileged user/network/mount namespaces (unshare -Urnm) or setpriv here: "
           "the sandbox runs with resource limits only")


def cells(*sources: str) -> list[tuple[int, str]]:
    return [(i, textwrap.dedent(s)) for i, s in enumerate(sources)]


def run_cells(*sources: str, limits: Limits = FAST, **kwargs):
    return run_job(Job(cells=cells(*sources), limits=limits), **kwargs)


def relu_job(*sources: str, hidden: bool = False, limits: Limits = FAST,
             exercise: str = "relu", target: str = "relu"):
    """Cells ``SETUP, *sources`` then a test cell probing ``target`` for ``exercise``."""
    ex = check.exercise(exercise)
    cases = ex.cases(hidden, 12345 if hidden else None)
    all_cells = cells(SETUP, *sources)
    test_index = len(all_cells)
    all_cells.append((test_index, f"check.{exercise}({target})"))
    job = Job(cells=all_cells, probes={test_index: [Probe(exercise, {}, target, cases)]},
              limits=limits)
    return job, ex, cases, test_index


def run_relu(*sources: str, hidden: bool = False, limits: Limits = FAST,
             exercise: str = "relu", target: str = "relu"):
    """Run the job; return (outcome, probe report, trusted-side CheckResult or None)."""
    job, ex, cases, test_index = relu_job(*sources, hidden=hidden, limits=limits,
                                          exercise=exercise, target=target)
    outcome = run_job(job)
    report = outcome.probes.get((test_index, 0))
    result = None
    if report is not None and report.run is not None:
        result = ex.grade(wire.rebuild_run(report.run, cases), cases, hidden=hidden)
    return outcome, report, result


# ---------------------------------------------------------------------------------------
# Probes graded on the trusted side
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("hidden", [False, True], ids=["visible", "hidden"])
def test_a_correct_relu_passes_on_the_trusted_side(hidden):
    outcome, report, result = run_relu(CORRECT_RELU, hidden=hidden)
    assert outcome.crashed is None
    assert not outcome.timed_out
    assert report is not None
    assert report.reference_used is None
    assert not report.timed_out
    assert result is not None
    assert result.passed, result.message
    # what crossed is plain data: the learner's outputs are base ndarrays
    assert all(type(obs.output) is np.ndarray for obs in report.run.observations
               if obs.error is None and isinstance(obs.output, np.ndarray))


def test_a_wrong_relu_fails_with_its_named_mistake():
    _outcome, report, result = run_relu("def relu(Z):\n    return np.minimum(Z, 0.0)\n")
    assert report.reference_used is None
    assert result is not None
    assert not result.passed
    assert result.mistake is not None


def test_a_relu_that_raises_is_reported_with_the_learners_exception():
    class_def = """
    class MyError(ValueError):
        pass

    def relu(Z):
        raise MyError("no relu today")
    """
    outcome, _report, result = run_relu(class_def)
    assert outcome.crashed is None
    assert not result.passed
    assert "no relu today" in result.message


# ---------------------------------------------------------------------------------------
# Cell outputs
# ---------------------------------------------------------------------------------------


def test_cell_outputs_stdout_stderr_and_exceptions():
    outcome = run_cells(
        "print('hello'); import sys; print('oops', file=sys.stderr)",
        "raise ValueError('bad value')",
        "%matplotlib inline\nimport matplotlib.pyplot as plt\nplt.plot([1, 2]); print('plotted')",
        "1 / 0",
        "print('still running')")
    assert outcome.crashed is None
    assert not outcome.timed_out
    first = outcome.cells[0]
    assert first.stdout == "hello\n"
    assert first.stderr == "oops\n"
    assert first.error is None
    ename, evalue, traceback = outcome.cells[1].error
    assert (ename, evalue) == ("ValueError", "bad value")
    assert any("bad value" in line for line in traceback)
    assert outcome.cells[2].error is None, outcome.cells[2].error
    assert outcome.cells[2].stdout == "plotted\n"
    assert outcome.cells[3].error[0] == "ZeroDivisionError"
    assert outcome.cells[4].stdout == "still running\n"
    assert all(isinstance(r, CellReport) for r in outcome.cells.values())


def test_a_cell_over_its_time_limit_is_stopped_and_the_next_cells_run():
    outcome = run_cells("x = 1", "while True:\n    pass", "print(x + 1)",
                        limits=Limits(cell_seconds=1, notebook_seconds=30))
    assert not outcome.timed_out
    assert outcome.crashed is None
    assert outcome.cells[1].timed_out
    assert outcome.cells[1].error[0] == "CellTimeoutError"
    assert not outcome.cells[2].timed_out
    assert outcome.cells[2].stdout == "2\n"


def test_a_loop_that_swallows_the_timeout_is_killed_at_the_notebook_limit():
    swallow = """
    while True:
        try:
            while True:
                pass
        except BaseException:
            pass
    """
    outcome = run_cells("print('before')", swallow, "print('after')",
                        limits=Limits(cell_seconds=1, notebook_seconds=4))
    assert outcome.timed_out
    assert 4 <= outcome.seconds < 15
    assert outcome.cells[0].stdout == "before\n"
    assert 2 not in outcome.cells


def test_a_probe_that_runs_forever_is_reported_as_timed_out():
    outcome, report, _result = run_relu("def relu(Z):\n    while True:\n        pass\n",
                                       limits=Limits(cell_seconds=1, notebook_seconds=30))
    assert report is not None
    assert report.timed_out
    assert report.run is None
    assert not outcome.timed_out


def test_a_huge_allocation_is_a_memory_error_not_a_crash():
    outcome = run_cells("import numpy as np\nbig = np.ones(2**30)  # 8 GB",
                        "print('alive')", limits=Limits(memory_bytes=2**30,
                                                        notebook_seconds=60))
    assert outcome.crashed is None
    assert not outcome.timed_out
    assert outcome.cells[0].error[0] == "MemoryError"
    assert outcome.cells[1].stdout == "alive\n"


def test_os_exit_in_a_cell_is_a_crash_the_grader_survives():
    outcome = run_cells("print('first')", "import os\nos._exit(3)", "print('never')")
    assert not outcome.timed_out
    assert outcome.crashed is not None
    assert "status 3" in outcome.crashed
    assert outcome.cells[0].stdout == "first\n"
    assert 2 not in outcome.cells


def test_sys_exit_in_a_cell_is_an_error_and_the_notebook_goes_on():
    outcome = run_cells("import sys\nsys.exit()", "raise SystemExit(5)", "print('after')")
    assert outcome.crashed is None, outcome.crashed
    assert outcome.cells[2].stdout == "after\n"


def test_sys_exit_in_the_graded_function_is_a_failed_case_not_a_crash():
    outcome, _report, result = run_relu("import sys\ndef relu(Z):\n    sys.exit(1)\n")
    assert outcome.crashed is None
    assert result is not None
    assert not result.passed


# ---------------------------------------------------------------------------------------
# Isolation
# ---------------------------------------------------------------------------------------


@needs_isolation
def test_isolation_hides_the_course_folder_and_blocks_files_and_network(tmp_path):
    course = tmp_path / "course"
    course.mkdir()
    (course / "gradebook.db").write_text("secret grades")
    outside = tmp_path / "outside"
    outside.mkdir()
    probe = f"""
    import os, socket
    def attempt(fn):
        try:
            fn()
            return "ok"
        except Exception as error:
            return type(error).__name__
    def read_hidden():
        return open({str(course / 'gradebook.db')!r}).read()
    def list_hidden():
        assert os.listdir({str(course)!r}) == [] or 1 / 0
    def write_outside():
        open({str(outside / 'x.txt')!r}, "w").write("x")
    def write_tmp():
        open("/tmp/learner-x.txt", "w").write("x")
    def write_cwd():
        open("here.txt", "w").write("x"); assert open("here.txt").read() == "x"
    def connect():
        socket.create_connection(("1.1.1.1", 53), timeout=2).close()
    for fn in (read_hidden, list_hidden, write_outside, write_tmp, write_cwd, connect):
        print(fn.__name__, attempt(fn))
    """
    outcome = run_cells(probe, hide=[course])
    assert outcome.isolated
    lines = dict(line.split() for line in outcome.cells[0].stdout.splitlines())
    assert lines["read_hidden"] != "ok"
    assert lines["list_hidden"] != "ok"
    assert lines["write_outside"] != "ok"
    assert lines["write_tmp"] != "ok"
    assert lines["write_cwd"] == "ok"
    assert lines["connect"] != "ok"
    assert not (outside / "x.txt").exists()


@needs_isolation
def test_isolation_leaves_no_writable_shared_mount():
    """/dev/shm is a private tmpfs: a write may succeed but never reaches the host."""
    name = f"/dev/shm/backprop-sandbox-test-{os.getpid()}"
    try:
        outcome = run_cells(f"open({name!r}, 'w').write('left for the next submission')")
        assert outcome.crashed is None
        assert not os.path.exists(name)
    finally:
        if os.path.exists(name):
            os.remove(name)


@needs_isolation
def test_no_process_outlives_the_sandbox_and_the_host_is_out_of_sight():
    marker = f"{317 + os.getpid() % 1000}.25"  # a sleep only this test starts
    outcome = run_cells(
        "import os, subprocess\n"
        f"subprocess.Popen(['sleep', '{marker}'], start_new_session=True)\n"
        "print(os.getpid(), len([p for p in os.listdir('/proc') if p.isdigit()]))")
    pid, visible = map(int, outcome.cells[0].stdout.split())
    assert pid == 1  # its own PID namespace
    assert visible <= 3  # the worker, the sleep, and the listing
    time.sleep(0.2)
    left = subprocess.run(["pgrep", "-f", f"sleep {marker}"], capture_output=True, text=True)
    assert left.stdout == "", "a process started in the sandbox outlived it"


def test_without_isolation_the_worker_still_runs_in_a_scratch_folder(tmp_path):
    outcome = run_cells("import os\nprint(os.getcwd())\nopen('f.txt', 'w').write('x')",
                        isolate=False)
    assert not outcome.isolated
    assert outcome.crashed is None
    assert outcome.cells[0].error is None
    assert "backprop-sandbox-" in outcome.cells[0].stdout


# ---------------------------------------------------------------------------------------
# The reference watch
# ---------------------------------------------------------------------------------------

DISGUISES = {
    "alias": "relu = refimpl.relu",
    "wrapper": "def relu(Z):\n    return refimpl.relu(Z)\n",
    "import_module": "import importlib\n"
                     "relu = importlib.import_module('refimpl.activations').relu\n",
    "function_from_code": "import types\n"
                          "relu = types.FunctionType(refimpl.relu.__code__, "
                          "refimpl.relu.__globals__)\n",
    "partial": "import functools\nrelu = functools.partial(refimpl.relu)\n",
    "profiler_off": "import sys\n"
                    "def relu(Z):\n    sys.setprofile(None)\n"
                    "    return np.maximum(np.asarray(Z, dtype=float), 0.0)\n",
    "profiler_off_then_reference": "import sys\n"
                                   "def relu(Z):\n    sys.setprofile(None)\n"
                                   "    return refimpl.relu(Z)\n",
}


@pytest.mark.parametrize("source", DISGUISES.values(), ids=DISGUISES.keys())
def test_the_reference_in_disguise_is_reported(source):
    outcome, report, _ = run_relu(source)
    assert outcome.crashed is None
    assert report is not None
    assert report.reference_used, report
    assert "refimpl.relu" in report.reference_used or "switched off" in report.reference_used


def test_a_subclass_of_the_reference_value_is_reported():
    job_source = "class Value(refimpl.Value):\n    pass\n"
    _outcome, report, _ = run_relu(job_source, exercise="Value", target="Value")
    assert report is not None
    assert report.reference_used
    assert "refimpl.Value" in report.reference_used


def test_calling_the_reference_of_another_exercise_is_not_reported():
    source = ("def relu(Z):\n"
              "    s = refimpl.sigmoid(np.asarray(Z, dtype=float))  # another exercise\n"
              "    return np.maximum(np.asarray(Z, dtype=float), 0.0) + 0 * s\n")
    _outcome, report, result = run_relu(source)
    assert report.reference_used is None
    assert result.passed, result.message


@pytest.mark.parametrize("mistake", mistakes_for("relu"), ids=lambda m: m.slug)
def test_the_catalogues_relu_variants_are_not_reported(mistake):
    source = ("from autograder.catalogue import mistakes_for\n"
              f"relu = next(m.variant for m in mistakes_for('relu') if m.slug == "
              f"{mistake.slug!r})\n")
    _outcome, report, result = run_relu(source)
    assert report.reference_used is None
    assert not result.passed
    assert result.mistake == mistake.slug


def test_the_catalogues_value_variants_calling_the_reference_are_not_reported():
    slugs = [m.slug for m in mistakes_for("Value") if m.variant is not None][:3]
    sources = [f"Value_{i} = next(m.variant for m in mistakes_for('Value') "
               f"if m.slug == {slug!r})\n" for i, slug in enumerate(slugs)]
    ex = check.exercise("Value")
    cases = ex.cases()
    all_cells = cells(SETUP + "from autograder.catalogue import mistakes_for\n", *sources)
    probes = {}
    for i in range(len(slugs)):
        all_cells.append((len(all_cells), f"check.Value(Value_{i})"))
        probes[len(all_cells) - 1] = [Probe("Value", {}, f"Value_{i}", cases)]
    outcome = run_job(Job(cells=all_cells, probes=probes, limits=FAST))
    assert len(outcome.probes) == len(slugs)
    for (_index, _), report in outcome.probes.items():
        assert report.reference_used is None, report.reference_used
        result = ex.grade(wire.rebuild_run(report.run, cases), cases, hidden=False)
        assert not result.passed


# ---------------------------------------------------------------------------------------
# Forged frames
# ---------------------------------------------------------------------------------------

FORGE = """
import os, pickle, struct, sys
fd = int(sys.argv[1])
def send(body):
    os.write(fd, struct.pack("!Q", len(body)) + body)

class Evil:
    def __reduce__(self):
        return (os.system, ("touch /tmp/pwned-by-learner",))

send(b"garbage, not a pickle")
send(pickle.dumps(Evil()))
send(pickle.dumps({"index": 99}))
print("sent")
"""


def test_forged_frames_are_ignored():
    outcome, report, result = run_relu(FORGE, CORRECT_RELU)
    assert outcome.crashed is None
    assert outcome.cells[1].stdout == "sent\n"
    assert report is not None
    assert result.passed
    assert set(outcome.cells) == {0, 1, 2}


def test_a_forged_probe_report_does_not_score():
    forge = """
    import os, pickle, struct, sys
    from autograder.sandbox import ProbeReport
    from autograder.wire import carry_run
    from autograder import check
    ex = check.exercise("relu")
    cases = ex.cases()
    run = carry_run(ex.observe(refimpl.relu, cases))  # outside any probe: not watched
    body = pickle.dumps(ProbeReport(index=2, position=0, run=run))
    os.write(int(sys.argv[1]), struct.pack("!Q", len(body)) + body)

    def relu(Z):
        return np.minimum(Z, 0)  # wrong, and never looked at
    """
    outcome, _report, _result = run_relu(forge)
    # The real probe reports too: two results for one check give the forgery away (the
    # trusted grader then fails the check, see test_trusted.py).
    assert ("probe", 2, 0) in outcome.forged


class _Custom:
    pass


@pytest.mark.parametrize("payload", [
    pickle.dumps(_Custom()),
    pickle.dumps(os.system),
    pickle.dumps(Opaque("x", is_callable=True)),
], ids=["custom-class", "os.system", "opaque-ok"])
def test_loads_untrusted_refuses_classes_off_its_list(payload):
    if b"Opaque" in payload:
        assert isinstance(wire.loads_untrusted(payload), Opaque)
        return
    with pytest.raises(pickle.UnpicklingError):
        wire.loads_untrusted(payload)


def test_loads_untrusted_refuses_a_reduce_that_calls_a_function():
    class Evil:
        def __reduce__(self):
            return (os.system, ("true",))

    with pytest.raises(pickle.UnpicklingError, match=r"system"):
        wire.loads_untrusted(pickle.dumps(Evil()))
    with pytest.raises(pickle.UnpicklingError):
        wire.loads_untrusted(pickle.dumps(np.lib.format.open_memmap))


def test_loads_untrusted_accepts_plain_data_and_reports():
    data = {"a": [1, 2.5, (3 + 1j, "s")], "b": np.arange(6.0).reshape(2, 3),
            "c": np.float64(1.5), "d": {1, 2}, "r": ProbeReport(1, 0)}
    back = wire.loads_untrusted(wire.dumps(data))
    assert back["a"] == data["a"]
    assert back["d"] == {1, 2}
    np.testing.assert_array_equal(back["b"], data["b"])
    assert back["c"] == 1.5
    assert isinstance(back["r"], ProbeReport)


# ---------------------------------------------------------------------------------------
# wire: plain data
# ---------------------------------------------------------------------------------------


class _SubArray(np.ndarray):
    pass


class _AlwaysEqual:
    def __eq__(self, other):
        return True

    __hash__ = object.__hash__


class _SubDict(dict):
    pass


def test_to_plain_strips_what_could_lie():
    sub = np.arange(3.0).view(_SubArray)
    plain = wire.to_plain(sub)
    assert type(plain) is np.ndarray
    np.testing.assert_array_equal(plain, [0.0, 1.0, 2.0])
    assert isinstance(wire.to_plain(_AlwaysEqual()), Opaque)
    d = wire.to_plain(_SubDict(a=1, b=[np.float32(2)]))
    assert type(d) is dict
    assert d["a"] == 1
    assert type(d["b"][0]) is np.float32
    assert type(wire.to_plain(True)) is bool
    assert isinstance(wire.to_plain(np.array([object()])), Opaque)
    assert isinstance(wire.to_plain({(1, 2): 3}), Opaque)
    assert isinstance(wire.to_plain(lambda: 1), Opaque)
    assert wire.to_plain(lambda: 1).is_callable


def test_to_plain_survives_objects_that_raise():
    class Nasty(list):
        def __iter__(self):
            raise RuntimeError("no")

    assert isinstance(wire.to_plain(Nasty([1])), Opaque)


def test_rebuild_exception_keeps_the_builtin_base_and_the_message():
    class LearnersError(ValueError):
        pass

    try:
        raise LearnersError("shapes do not match")
    except LearnersError as exc:
        carried = wire.carry_exception(exc)
    back = wire.loads_untrusted(wire.dumps(carried))
    rebuilt = wire.rebuild_exception(back)
    assert isinstance(rebuilt, ValueError)
    assert type(rebuilt).__name__ == "LearnersError"
    assert str(rebuilt) == "shapes do not match"
    plain = wire.rebuild_exception(wire.carry_exception(KeyError("k")))
    assert type(plain) is KeyError
    assert plain.args == ("k",)


_numbers = st.one_of(st.integers(-10**6, 10**6), st.floats(allow_nan=False), st.booleans(),
                     st.text(max_size=5), st.none())
_arrays = st.builds(lambda shape, seed: np.random.default_rng(seed).normal(size=shape),
                    st.lists(st.integers(0, 3), max_size=3).map(tuple), st.integers(0, 99))
_plain_values = st.recursive(
    _numbers | _arrays,
    lambda inner: st.lists(inner, max_size=3) | st.lists(inner, max_size=3).map(tuple)
    | st.dictionaries(st.text(max_size=3) | st.integers(0, 9), inner, max_size=3),
    max_leaves=12)


def _same(a, b) -> bool:
    if isinstance(a, np.ndarray):
        return type(b) is np.ndarray and a.shape == b.shape and np.array_equal(a, b)
    if isinstance(a, list | tuple):
        return type(a) is type(b) and len(a) == len(b) and all(map(_same, a, b))
    if isinstance(a, dict):
        return type(b) is dict and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_plain_values)
def test_to_plain_round_trips_plain_data(value):
    plain = wire.to_plain(value)
    assert _same(value, plain)
    assert _same(value, wire.loads_untrusted(wire.dumps(plain)))
