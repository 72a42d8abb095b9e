"""Autograde on a Dask cluster (``backprop-course autograde --scheduler ADDRESS``).

The coordinator is the machine that runs ``autograde``: it holds the course folder, the
gradebook and the course secret, and runs nbgrader's own steps for every submission (``--jobs``
of them at once, each in a process of its own, as without a cluster). The grading itself, the
learner's code in the sandbox and the checks, runs as one Dask task per notebook on the
cluster's workers (``autograder.grading.remote``); the coordinator alone writes what comes back.

Before the first task, :func:`connect` checks every worker: it must run the coordinator's grading
code (``remote.code_fingerprint``: the same ``autograder``, ``refimpl``, Python and NumPy) and,
unless grading without isolation is allowed, isolate the learner's code as the local grader does
(bubblewrap and user namespaces). A worker that joins later is checked by each task it runs.

While the run goes on, :class:`RunningTasks` asks the scheduler how many of its tasks are on a
worker, for the progress bar.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from autograder.course import CourseError
from autograder.grading import remote

__all__ = ["Cluster", "ClusterError", "RunningTasks", "connect"]

#: How long :func:`connect` waits for a scheduler without workers to get one.
WORKER_WAIT_SECONDS = 60.0


class ClusterError(CourseError):
    """The cluster cannot grade this course: unreachable, no workers, or wrong workers."""


@dataclass
class Cluster:
    """A Dask cluster checked for grading: its workers and what each one said about itself."""

    address: str
    client: Any  # distributed.Client
    workers: dict[str, dict] = field(default_factory=dict)  # address -> describe_worker()
    threads: int = 0  # worker threads, all workers together
    label: str = field(default_factory=lambda: uuid.uuid4().hex[:8])  # this run's tasks

    def lanes(self) -> int:
        """Submissions in flight by default: one per worker thread, plus one per coordinator
        CPU so that the coordinator's own nbgrader steps overlap the grading."""
        return max(self.threads, 1) + (os.cpu_count() or 1)

    def isolation(self) -> list[tuple[str, int]]:
        """(isolation sentence, number of workers) pairs, the most common first."""
        return Counter(info["isolation"] for info in self.workers.values()).most_common()

    def describe(self) -> str:
        """One line for the terminal: where the grading runs."""
        hosts = len({info["host"] for info in self.workers.values()})
        return (f"grading on the Dask cluster at {self.address}: {len(self.workers)} worker(s) "
                f"on {hosts} host(s), {self.threads} thread(s)")

    def running(self) -> int:
        """How many of this run's tasks are on a worker now (the scheduler's count)."""
        prefix = remote.key_prefix(self.label)
        processing = self.client.processing()
        return sum(str(key).startswith(prefix) for keys in processing.values() for key in keys)


def connect(address: str, *, allow_unisolated: bool = False,
            wait: float = WORKER_WAIT_SECONDS, timeout: float = 30.0) -> Cluster:
    """Connect to the scheduler at ``address`` and check its workers (see the module's doc).

    Gives up on a scheduler that does not answer within ``timeout`` seconds, and waits up to
    ``wait`` seconds for a first worker. Raises :class:`ClusterError` naming the problem and
    the worker.
    """
    try:
        client = remote.client(address, timeout)
    except (OSError, TimeoutError, ValueError) as error:
        raise ClusterError(f"cannot reach the Dask scheduler at {address}: {error}. Start one "
                           "with `dask scheduler` and its workers with `dask worker ADDRESS` "
                           "(README, Grading on a cluster).") from None
    try:
        client.wait_for_workers(1, timeout=wait)
    except TimeoutError:
        raise ClusterError(f"the Dask scheduler at {address} has no worker (waited "
                           f"{wait:g} s): start some with `dask worker {address}`.") from None
    workers = client.run(remote.describe_worker, on_error="return")
    broken = {worker: info for worker, info in workers.items() if not isinstance(info, dict)}
    if broken:
        worker, error = next(iter(broken.items()))
        raise ClusterError(f"worker {worker} cannot grade: {type(error).__name__}: {error}. "
                           "Every worker needs backprop-course installed (README, Grading on "
                           "a cluster).")
    _check_workers(address, workers, allow_unisolated)
    return Cluster(address, client, workers, sum(client.nthreads().values()))


def _check_workers(address: str, workers: dict[str, dict], allow_unisolated: bool) -> None:
    """Same grading code as here on every worker; isolation unless allowed."""
    here = remote.code_fingerprint()
    different = sorted(w for w, info in workers.items() if info["fingerprint"] != here)
    if different:
        info = workers[different[0]]
        raise ClusterError(
            f"{len(different)} worker(s) of {address} grade with other code than this "
            f"machine (for example {different[0]} on {info['host']}: backprop-course "
            f"{info['version']}): install the same version of the course on every worker "
            "and here, or grades would differ.")
    refusing = sorted(w for w, info in workers.items() if info["refusal"])
    if refusing and not allow_unisolated:
        info = workers[refusing[0]]
        raise ClusterError(
            f"{len(refusing)} worker(s) of {address} cannot isolate the learner's code "
            f"(for example {refusing[0]} on {info['host']}: {info['isolation']}) Install "
            "bubblewrap there and allow unprivileged user namespaces, or grade anyway with "
            "--allow-unisolated.")


class RunningTasks:
    """Tell ``on_running`` how many of the run's tasks are on a worker, every ``every``
    seconds, in a thread, until :meth:`stop` (use as a context manager)."""

    def __init__(self, cluster: Cluster, on_running: Callable[[int], None],
                 every: float = 0.5) -> None:
        self.cluster, self.on_running, self.every = cluster, on_running, every
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, daemon=True,
                                        name="backprop-running-tasks")

    def _poll(self) -> None:
        while not self._stop.wait(self.every):
            try:
                count = self.cluster.running()
            except Exception:  # the scheduler is busy or gone: the grading itself will say
                continue
            self.on_running(count)

    def __enter__(self) -> RunningTasks:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.on_running(0)
