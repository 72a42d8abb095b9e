"""``autograde --scheduler``: grading on a real Dask cluster gives the local grades, cell by cell.

One module-scoped cluster (``dask scheduler`` and two ``dask worker`` processes on loopback
ports, each under its nanny; ``server_tools``) grades a small synthetic class of 01_neuron
(``class_tools``: the key, the blank release, noisy, reordered, a cheat, a hardcoder and two
planted mistakes). Every grading run works on its own copy of one released course with one
course secret, so every run draws the same hidden cases:

- a local ``--jobs 1`` run is the reference;
- the cluster's run must give the same results, records, gradebook and graded notebooks;
- so must a run during which one worker is killed (SIGKILL, by its pid) while it grades;
- a submission whose task keeps killing workers is reported, with 0 points, not retried
  forever;
- what a worker receives holds neither the course secret nor any expected value.

Without Dask these tests skip and say how to enable them; with
BACKPROP_COURSE_REQUIRE_SERVERS=1 (``.ci/run``) they fail instead.
"""

from __future__ import annotations

import io
import pickle
import shutil
import struct
import threading
import time
from dataclasses import asdict
from pathlib import Path

import nbformat
import pytest
from class_tools import build_inbox, hidden_reference_values
from server_tools import dask_cluster, require

from autograder import cli
from autograder.grading import remote, seeds
from autograder.grading.records import load_records
from autograder.instructor import cluster as cluster_module
from autograder.instructor import commands
from autograder.instructor.collect import collect
from autograder.instructor.workflow import autograde
from notebook_tools import find_cell, first_check, learner_notebook, released_course, submit

pytestmark = pytest.mark.notebook

A = "01_neuron"
STUDENTS = ("key", "blank", "noisy", "reordered", "cheat", "hardcoder")
PLANTED = 2  # students with a planted mistake, the first ones of the class
JOBS = 2
SLEEPER = "sleeper"  # a notebook that takes long enough to be killed twice


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    with dask_cluster(tmp_path_factory.mktemp("dask")) as running:
        yield running


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> tuple[Path, Path]:
    """A released copy of the course with its secret, and an inbox of the chosen students."""
    base = tmp_path_factory.mktemp("distributed")
    course = released_course(base / "course", [A])
    seeds.course_secret(course)  # one secret for every copy: the same hidden cases
    klass = build_inbox(course, base / "class")
    inbox = base / "inbox"
    for student in [*STUDENTS, *(p.student for p in klass.planted[:PLANTED])]:
        shutil.copytree(klass.inbox / student, inbox / student)
    return course, inbox


def course_copy(template, destination: Path) -> Path:
    course, inbox = template
    copy = Path(shutil.copytree(course, destination))
    result = collect(copy, inbox)
    assert not result.errors, result.errors
    return copy


@pytest.fixture(scope="module")
def local(template, tmp_path_factory):
    """The reference: ``autograde --jobs 1`` on this machine."""
    course = course_copy(template, tmp_path_factory.mktemp("local") / "course")
    return course, autograde(course, jobs=1)


@pytest.fixture(scope="module")
def on_cluster(template, cluster, tmp_path_factory):
    require(cluster)
    course = course_copy(template, tmp_path_factory.mktemp("cluster") / "course")
    return course, autograde(course, jobs=JOBS, scheduler=cluster.address)


# ---------------------------------------------------------------------------------------
# What must be identical
# ---------------------------------------------------------------------------------------


def outcomes(results) -> list[tuple]:
    return [(r.student, r.assignment, r.score, r.max_score, r.error, r.attention)
            for r in results]


def records(course: Path) -> dict[str, dict]:
    """Each record without the two fields that change with every run (when, how long)."""
    found = {}
    for record in load_records(course, A):
        data = asdict(record)
        del data["graded_at"], data["execution_seconds"]
        found[record.student] = data
    return found


def gradebook(course: Path) -> dict[tuple, tuple]:
    """(student, cell) -> (auto score, manual score, needs a manual grade, max score), and
    each submission's total."""
    from nbgrader.api import Gradebook

    cells = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", "backprop-course") as gb:
        for submission in gb.assignment_submissions(A):
            cells[(submission.student_id, "total")] = (submission.score,
                                                      submission.max_score)
            for notebook in submission.notebooks:
                for grade in notebook.grades:
                    cells[(submission.student_id, grade.cell.name)] = (
                        grade.auto_score, grade.manual_score, grade.needs_manual_grade,
                        grade.max_score)
    return cells


def graded_cells(course: Path) -> dict[str, list]:
    """The autograded notebooks: each cell's source and outputs."""
    found = {}
    for path in sorted((course / "autograded").glob(f"*/{A}/{A}.ipynb")):
        nb = nbformat.read(path, as_version=4)
        found[path.parent.parent.name] = [(c.cell_type, c.source, c.get("outputs"))
                                          for c in nb.cells]
    return found


def assert_same_grading(course: Path, results, reference) -> None:
    reference_course, reference_results = reference
    assert outcomes(results) == outcomes(reference_results)
    assert records(course) == records(reference_course)
    assert gradebook(course) == gradebook(reference_course)
    assert graded_cells(course) == graded_cells(reference_course)


def test_the_class_is_graded_as_expected_locally(local):
    _, results = local
    assert len(results) == len(STUDENTS) + PLANTED
    assert not [r.line() for r in results if r.error or r.score is None]
    by = {r.student: r for r in results}
    assert by["key"].score == by["key"].max_score > 0
    assert by["blank"].score == 0
    assert 0 < by["hardcoder"].score < by["hardcoder"].max_score  # hidden checks fail


def test_the_cluster_grades_every_cell_as_the_local_run(cluster, on_cluster, local):
    require(cluster)
    course, results = on_cluster
    assert_same_grading(course, results, local)
    isolation = {r["isolation"] for r in records(course).values()}
    assert len(isolation) == 1
    assert "bubblewrap" in isolation.pop()


def test_a_killed_worker_s_task_runs_again_elsewhere_and_is_written_once(
        cluster, template, local, tmp_path):
    require(cluster)
    cluster.wait_for_workers()
    course = course_copy(template, tmp_path / "course")
    seen: dict = {}
    run = _in_thread(lambda: autograde(course, jobs=JOBS, scheduler=cluster.address,
                                       on_cluster=lambda c, jobs: seen.update(cluster=c)))
    prefix = None
    killed = None
    deadline = time.monotonic() + 300
    while killed is None and run.is_alive() and time.monotonic() < deadline:
        if prefix is None and "cluster" in seen:
            prefix = remote.key_prefix(seen["cluster"].label)
        busy = [(worker, key) for worker, keys in cluster.client.processing().items()
                for key in keys if prefix and str(key).startswith(prefix)]
        if busy:
            killed = busy[0]
            cluster.kill_worker(killed[0])
        time.sleep(0.05)
    results = run.result(timeout=600)
    assert killed is not None, "no task was seen on a worker: nothing was killed"
    worker, key = killed
    sent, finished = _story(cluster, key)
    assert sent >= 2, sent  # sent to a worker again after the kill
    assert finished, finished
    assert worker not in finished, finished  # and finished by another one
    assert [r.student for r in results] == [r.student for r in local[1]]  # each one once
    assert_same_grading(course, results, local)


def test_a_task_that_keeps_killing_workers_is_reported_not_retried(cluster, template,
                                                                    tmp_path):
    require(cluster)
    cluster.wait_for_workers()
    course = course_copy(template, tmp_path / "course")
    nb = learner_notebook(course, A)
    nb.cells.append(nbformat.v4.new_code_cell("import time\ntime.sleep(40)"))
    submit(course, SLEEPER, nb, A)
    seen: dict = {}
    started = time.monotonic()
    run = _in_thread(lambda: autograde(course, students=[SLEEPER], jobs=1,
                                       scheduler=cluster.address,
                                       on_cluster=lambda c, jobs: seen.update(cluster=c)))
    kills = []
    while run.is_alive() and len(kills) <= cluster.allowed_failures:
        prefix = remote.key_prefix(seen["cluster"].label) if "cluster" in seen else None
        for worker, keys in cluster.client.processing().items():
            if prefix and any(str(k).startswith(prefix) for k in keys) and worker not in kills:
                cluster.kill_worker(worker)  # what a task that kills its worker does
                kills.append(worker)
        time.sleep(0.05)
    (result,) = run.result(timeout=300)
    assert len(kills) == cluster.allowed_failures + 1
    assert time.monotonic() - started < 40, "the notebook ran to its end: nothing gave up"
    assert result.killed
    assert result.failed
    assert result.error is None
    assert (result.score, result.max_score) == (0.0, 7.0)
    [(reason, detail)] = [(a.reason, a.detail) for a in result.attention]
    assert reason == "crashed"
    assert f"killed {len(kills)} Dask workers" in detail
    assert "not retried" in detail
    assert [a.detail for a in load_records(course, A)[0].attention] == [detail]
    assert gradebook(course)[(SLEEPER, "total")] == (0.0, 7.0)
    time.sleep(1)
    assert not [k for keys in cluster.client.processing().values() for k in keys
                if str(k).startswith(remote.key_prefix(seen["cluster"].label))]
    cluster.wait_for_workers()  # the nannies start new workers: the cluster is whole again


# ---------------------------------------------------------------------------------------
# What travels to a worker
# ---------------------------------------------------------------------------------------


def test_a_worker_gets_neither_the_secret_nor_an_expected_value(cluster, template, tmp_path,
                                                                monkeypatch):
    require(cluster)
    cluster.wait_for_workers()
    course = course_copy(template, tmp_path / "course")
    sent = []
    real = remote.grade

    def recording(address, job, run=""):
        sent.append((job, pickle.dumps(job)))
        return real(address, job, run)

    monkeypatch.setattr(remote, "grade", recording)  # one submission: graded in this process
    (result,) = autograde(course, students=["hardcoder"], jobs=1, scheduler=cluster.address)
    assert result.error is None
    assert result.score is not None
    [(job, payload)] = sent
    secret = (course / "grading_secret").read_text().strip()
    assert secret.encode() not in payload
    assert bytes.fromhex(secret) not in payload
    assert str(course).encode() not in payload  # nor where the course is
    (record,) = load_records(course, A)
    assert job.hidden_seeds == record.seeds
    assert len(record.seeds) == 3
    nb = nbformat.read(course / "source" / A / f"{A}.ipynb", as_version=4)
    values = []
    for grade_id in ("test_relu", "test_sigmoid", "test_neuron"):
        name, options = first_check(find_cell(nb, grade_id).source)
        key = grade_id.removeprefix("test_")
        values += hidden_reference_values(name, options, record.seeds[key])
    values = [v for v in values if v != round(v)]  # not 0, 1, 3: bytes anything may hold
    assert len(values) > 20
    found = [v for v in values if struct.pack("<d", v) in payload
             or struct.pack(">d", v) in payload or repr(v).encode() in payload]
    assert not found


def test_the_command_line_grades_on_the_cluster_and_says_where(cluster, template, tmp_path,
                                                               capsys):
    require(cluster)
    cluster.wait_for_workers()
    course = course_copy(template, tmp_path / "course")
    status = cli.main(["autograde", "--course", str(course), "--scheduler", cluster.address,
                       "--student", "key", "--student", "blank", "--jobs", "2"])
    out = capsys.readouterr().out
    assert status == 0, out
    assert f"grading on the Dask cluster at {cluster.address}: 2 worker(s) on 1 host(s)" in out
    assert "isolation on 2 worker(s): bubblewrap allow-list view" in out
    assert "key 01_neuron 7/7" in out
    assert "blank 01_neuron 0/7" in out
    assert f"2 at once on the Dask cluster at {cluster.address}." in out


# ---------------------------------------------------------------------------------------
# Without a cluster
# ---------------------------------------------------------------------------------------


def test_a_worker_s_grading_process_that_dies_is_reported_and_replaced(template):
    """What a learner's code can do on a worker without isolation: kill the process grading
    it. The task ends in GradingProcessDied (the coordinator scores it 0 as crashed, like a
    local pool's killed process), and the next job gets a new grading process."""
    from autograder.grading.conversation import Budget
    from autograder.grading.trusted import seed_hidden_checks

    course, _ = template

    def job(student: str, *extra: str) -> remote.GradingJob:
        nb = learner_notebook(course, A)
        nb.cells += [nbformat.v4.new_code_cell(source) for source in extra]
        return remote.GradingJob(nb=nb, assignment=A, student=student, notebook=A,
                                 hidden_seeds=seed_hidden_checks(nb, course, A, student),
                                 budget=Budget(), isolate=False, allow_unisolated=True,
                                 fingerprint=remote.code_fingerprint())

    try:
        with pytest.raises(remote.GradingProcessDied,
                           match=f"died while it graded mallory/{A}"):
            remote.run_job(job("mallory", "import os, signal\nos.kill(os.getppid(), "
                                          "signal.SIGKILL)"))
        nb, record = remote.run_job(job("honest"))
    finally:
        remote.stop_grading_process()
    assert record.score == record.max_score == 7.0
    assert "no sandbox view" in record.isolation  # as asked: isolate=False
    assert find_cell(nb, "test_relu").outputs


def test_a_job_from_other_grading_code_is_refused_by_the_worker(template):
    from autograder.grading.conversation import Budget

    course, _ = template
    stale = remote.GradingJob(nb=learner_notebook(course, A), assignment=A, student="x",
                              notebook=A, budget=Budget(), fingerprint="0" * 16)
    try:
        with pytest.raises(RuntimeError, match="other code than the coordinator"):
            remote.run_job(stale)
    finally:
        remote.stop_grading_process()


def test_the_progress_bar_shows_done_running_and_failed():
    from rich.console import Console

    stream = io.StringIO()
    console = Console(file=stream, force_terminal=True, width=120, color_system=None)
    with commands.grading_progress(console) as bar:
        task = bar.add_task("autograde", total=10, running=0, failed=0)
        bar.update(task, advance=4, running=3, failed=1)
        bar.refresh()
    assert "4/10" in stream.getvalue()
    assert "3 running" in stream.getvalue()
    assert "1 failed" in stream.getvalue()


def worker_info(**changes) -> dict:
    info = remote.describe_worker()
    return {**info, "refusal": None, **changes}


def test_a_worker_with_other_grading_code_is_refused():
    workers = {"tcp://10.0.0.7:4000": worker_info(fingerprint="0" * 16, host="node7")}
    with pytest.raises(cluster_module.ClusterError, match=r"node7.*same version"):
        cluster_module._check_workers("tcp://s:8786", workers, allow_unisolated=False)


def test_a_worker_that_cannot_isolate_is_refused_unless_allowed():
    workers = {"tcp://10.0.0.8:4000": worker_info(refusal="no bubblewrap", host="node8",
                                                  isolation="no sandbox view")}
    with pytest.raises(cluster_module.ClusterError, match=r"node8.*--allow-unisolated"):
        cluster_module._check_workers("tcp://s:8786", workers, allow_unisolated=False)
    cluster_module._check_workers("tcp://s:8786", workers, allow_unisolated=True)


def test_an_unreachable_scheduler_is_one_clear_error():
    from browser_tools import free_port

    address = f"tcp://127.0.0.1:{free_port()}"
    with pytest.raises(cluster_module.ClusterError, match="cannot reach the Dask scheduler"):
        cluster_module.connect(address, timeout=2)


# ---------------------------------------------------------------------------------------


class _Run(threading.Thread):
    """A call in a thread, its result or exception kept for :meth:`result`."""

    def __init__(self, call) -> None:
        super().__init__(daemon=True)
        self.call, self.value, self.error = call, None, None

    def run(self) -> None:
        try:
            self.value = self.call()
        except BaseException as error:  # re-raised in the test's thread
            self.error = error

    def result(self, timeout: float):
        self.join(timeout)
        assert not self.is_alive(), f"still running after {timeout} s"
        if self.error is not None:
            raise self.error
        return self.value


def _in_thread(call) -> _Run:
    run = _Run(call)
    run.start()
    return run


def _story(cluster, key) -> tuple[int, set[str]]:
    """How many times the scheduler sent ``key`` to a worker, and the workers that finished
    running it (the killed one's own story died with it)."""
    story = cluster.client.story(key)
    sent = sum(1 for event in story if event[0] == "scheduler" and event[3] == "processing")
    finished = {event[0] for event in story if event[0] != "scheduler"
                and event[2:4] == ("executing", "memory")}
    return sent, finished
