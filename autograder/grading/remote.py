"""Trusted grading on a Dask cluster: one notebook's grading as a task on a worker.

``TrustedExecute`` with a scheduler address (``autograde --scheduler``) runs nbgrader's steps
on the coordinator as it does locally (restoring locked cells from the gradebook before,
saving scores after) and sends the middle step here: a :class:`GradingJob` holding the
sanitized notebook, the seed of each hidden check, the time and memory budget and whether
isolation is required. A worker grades it exactly as :func:`~autograder.grading.trusted.
grade_notebook` does on the coordinator: the learner's code in the same bubblewrap sandbox,
the checks compared with the reference outside it. It sends back the graded notebook and its
record; the coordinator alone writes them, into the gradebook and ``grading/``.

What a worker never gets: the course folder, the gradebook, the course secret (the seeds are
HMACs of it, one per hidden check: they give the hidden cases, which the sandbox gets anyway,
as locally, and nothing else) and any expected value (the worker computes the reference's
outputs itself, outside the sandbox, as the local grader does).

On a worker, each job runs in a grading process of its own (one per worker thread, kept
warm): the reference functions a learner's code may call are time-limited with ``SIGALRM``
and memory-limited with ``RLIMIT_AS``, which need the main thread of a process that does
nothing else. That process dies with the worker.

A worker that dies has its running tasks re-run elsewhere by the scheduler; one that keeps
killing workers ends in Dask's ``KilledWorker`` (``distributed.scheduler.allowed-failures``),
reported here as :class:`TaskKilled`, never retried again.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import hashlib
import os
import pickle
import signal
import socket
import struct
import subprocess
import sys
import threading
import uuid
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

__all__ = ["GradingJob", "GradingProcessDied", "TaskKilled", "client", "close_client",
           "code_fingerprint",
           "describe_worker", "grade", "run_job", "serve", "stop_grading_process",
           "take_killed"]

#: The prefix of every grading task's key on the scheduler (``key_prefix`` adds a run's).
TASK_PREFIX = "backprop-grade"
_PR_SET_PDEATHSIG = 1
_PACKAGES = ("autograder", "refimpl")


@dataclass(frozen=True)
class GradingJob:
    """Everything a worker needs to grade one sanitized notebook (and nothing more)."""

    nb: Any  # nbformat.NotebookNode, sanitized by nbgrader on the coordinator
    assignment: str
    student: str
    notebook: str
    hidden_seeds: dict[str, int] = field(default_factory=dict)  # exercise key -> seed
    budget: Any = None  # conversation.Budget
    isolate: bool = True
    allow_unisolated: bool = False
    fingerprint: str = ""  # the coordinator's code_fingerprint(): the worker's must match


class GradingProcessDied(RuntimeError):
    """The worker's grading process died while it graded the job (a learner's code on a
    worker without isolation can kill it)."""


class TaskKilled(RuntimeError):
    """The scheduler gave up on a job: every worker that ran it died (``KilledWorker``)."""


# ---------------------------------------------------------------------------------------
# On a worker
# ---------------------------------------------------------------------------------------


@functools.cache
def code_fingerprint() -> str:
    """A hash of the grading code (``autograder``, ``refimpl``) and the versions that change
    a number (Python, NumPy): a worker must grade with exactly the coordinator's."""
    import numpy

    digest = hashlib.sha256(f"{sys.version_info[:2]} numpy {numpy.__version__}".encode())
    root = Path(__file__).resolve().parents[2]
    for package in _PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def describe_worker() -> dict[str, Any]:
    """What the coordinator checks on every worker before it sends jobs (``client.run``)."""
    from autograder.grading import isolation

    try:
        version = metadata.version("backprop-course")
    except metadata.PackageNotFoundError:
        version = "not installed"
    return {"host": socket.gethostname(), "version": version, "fingerprint": code_fingerprint(),
            "isolation": isolation.detect().describe(), "refusal": isolation.refusal()}


class _GradingProcess:
    """A Python process of its own that grades jobs one at a time, for one worker thread.

    Jobs and results go as length-prefixed pickles over its stdin and a private copy of its
    stdout (its own stdout goes to stderr: nothing it prints can break a frame). It is not a
    ``multiprocessing`` child: a Dask worker under a nanny is a daemonic process, which may
    not have those. It dies with the worker (``PR_SET_PDEATHSIG``).
    """

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", "from autograder.grading.remote import serve; serve()"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE)

    def grade(self, job: GradingJob) -> tuple[Any, Any]:
        try:
            _write_frame(self.process.stdin, pickle.dumps(job))
            ok, value = pickle.loads(_read_frame(self.process.stdout))
        except (EOFError, OSError, pickle.UnpicklingError):
            self.close()
            raise GradingProcessDied(
                f"the grading process on worker {socket.gethostname()} died while it graded "
                f"{job.student}/{job.assignment}") from None
        if not ok:
            raise value
        return value

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.process.kill()
        self.process.wait()
        for stream in (self.process.stdin, self.process.stdout):
            with contextlib.suppress(OSError):
                stream.close()


def _write_frame(stream, data: bytes) -> None:
    stream.write(struct.pack(">Q", len(data)) + data)
    stream.flush()


def _read_frame(stream) -> bytes:
    header = stream.read(8)
    if len(header) < 8:
        raise EOFError
    size = struct.unpack(">Q", header)[0]
    data = stream.read(size)
    if len(data) < size:
        raise EOFError
    return data


def serve() -> None:
    """The grading process's loop: read a job, grade it, send (ok, result or exception)."""
    with contextlib.suppress(OSError, AttributeError):  # die with the worker (Linux)
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, int(signal.SIGKILL))
    if os.getppid() == 1:  # the worker died before that
        return
    frames_out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # what the grading prints goes to the worker's log, not into a frame
    frames_in = sys.stdin.buffer
    while True:
        try:
            job = pickle.loads(_read_frame(frames_in))
        except EOFError:
            return
        try:
            reply = (True, _grade_job(job))
        except Exception as error:  # the coordinator raises it as the worker's error
            reply = (False, error)
        try:
            data = pickle.dumps(reply)
        except Exception:  # an exception that does not pickle: its text does
            data = pickle.dumps((False, RuntimeError(f"{type(reply[1]).__name__}: "
                                                     f"{reply[1]}")))
        _write_frame(frames_out, data)


_local = threading.local()


def run_job(job: GradingJob) -> tuple[Any, Any]:
    """The Dask task: grade ``job`` in this worker thread's grading process (started on
    first use, then kept).

    Returns (the graded notebook, its ``GradingRecord``). Raises :class:`GradingProcessDied`
    when the grading process died meanwhile (a new one grades the next job).
    """
    process = getattr(_local, "process", None)
    if process is None or process.process.poll() is not None:
        process = _local.process = _GradingProcess()
    try:
        return process.grade(job)
    except GradingProcessDied:
        _local.process = None
        raise


def stop_grading_process() -> None:
    """End this thread's grading process, if it has one (a new one starts with the next job)."""
    process = getattr(_local, "process", None)
    _local.process = None
    if process is not None:
        process.close()


def _grade_job(job: GradingJob) -> tuple[Any, Any]:
    """In the grading process: ``grade_notebook`` on the job, as the coordinator would."""
    from autograder.grading import isolation
    from autograder.grading.trusted import UnisolatedGrading, grade_notebook

    if job.fingerprint and job.fingerprint != code_fingerprint():
        raise RuntimeError(f"worker {socket.gethostname()} grades with other code than the "
                           "coordinator (another version of backprop-course, Python or NumPy)")
    if job.isolate and not job.allow_unisolated and (why := isolation.refusal()) is not None:
        raise UnisolatedGrading(f"worker {socket.gethostname()}: {why}")
    nb = job.nb
    record = grade_notebook(nb, assignment=job.assignment, student=job.student,
                            notebook=job.notebook, budget=job.budget, isolate=job.isolate,
                            hidden_seeds=job.hidden_seeds)
    return nb, record


# ---------------------------------------------------------------------------------------
# On the coordinator
# ---------------------------------------------------------------------------------------

_clients: dict[str, Any] = {}
_killed: dict[tuple[str, str], str] = {}
_clients_lock = threading.Lock()


def client(address: str, timeout: float = 30.0):
    """This process's ``distributed.Client`` of the scheduler at ``address`` (kept); raises
    ``OSError`` when it cannot connect within ``timeout`` seconds."""
    from distributed import Client

    with _clients_lock:
        if address not in _clients:
            _clients[address] = Client(address, set_as_default=False, timeout=timeout)
        return _clients[address]


def close_client(address: str) -> None:
    """Close and forget this process's client of ``address`` (at the end of a run)."""
    with _clients_lock:
        found = _clients.pop(address, None)
    if found is not None:
        with contextlib.suppress(Exception):  # a scheduler that is gone already
            found.close(timeout=10)


def key_prefix(run: str = "") -> str:
    """The key prefix of one run's tasks (``run``: a label; all runs when empty)."""
    return f"{TASK_PREFIX}-{run}-" if run else f"{TASK_PREFIX}-"


def grade(address: str, job: GradingJob, run: str = "") -> tuple[Any, Any]:
    """Grade ``job`` on the cluster of the scheduler at ``address``; wait for it.

    Returns (the graded notebook, its record). A job whose workers all died raises
    :class:`TaskKilled`, and :func:`take_killed` then tells why; any other error of the
    worker is raised here as it was there.
    """
    from distributed import KilledWorker

    key = f"{key_prefix(run)}{job.assignment}/{job.student}/{job.notebook}-{uuid.uuid4().hex[:8]}"
    future = client(address).submit(run_job, job, key=key, pure=False, retries=0)
    try:
        return future.result()
    except KilledWorker as error:
        failures = getattr(error, "allowed_failures", None)
        workers = f"{failures + 1} Dask workers" if isinstance(failures, int) else "its workers"
        detail = (f"the grading task killed {workers} (each one died while it ran); the "
                  "scheduler gave up on it and it was not retried again")
        _killed[(job.assignment, job.student)] = detail
        raise TaskKilled(detail) from None
    except GradingProcessDied as error:
        _killed[(job.assignment, job.student)] = f"{error}"
        raise
    finally:
        future.release()


def take_killed(assignment: str, student: str) -> str | None:
    """Why the cluster gave up on a notebook of this submission in this process (once)."""
    return _killed.pop((assignment, student), None)
