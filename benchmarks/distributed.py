"""9. Grading on a cluster: local ``--jobs 2`` against Dask with one and two local workers.

``python -m benchmarks.distributed [--quick]``. The class is table 6's (``grading.build_class``:
the key, the blank release and a planted mistake of every assignment) with every student twice
under a second id (other hidden cases), at least 40 submissions. Three ways grade their own copy
of it, one after the other on this machine:

- ``backprop-course autograde --jobs 2`` (local processes);
- ``--scheduler`` a ``dask scheduler`` with one ``dask worker`` (one thread), with the default
  number of submissions in flight (worker threads plus this machine's CPUs: 3);
- the same with two workers (4 in flight).

Then, on the two-worker cluster and locally, one submission at a time: the time Dask adds per
task (the remote path's time beyond the local one's, per submission), of which an empty
task's round trip is Dask's own share. The CPU time of the coordinator (this process and its
nbgrader processes), the scheduler and the workers (with their grading processes and
sandboxes), per submission, and the bytes a task sends and gets back, are the inputs of the
estimate for 80,000 notebooks at the end of the table.
"""

from __future__ import annotations

import argparse
import os
import pickle
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks._common import Table, Target

#: The time Dask and the remote path add to one submission, at most (a notebook takes ~1 s).
OVERHEAD_TARGET = Target("<=", 250.0, "ms")
NOTEBOOKS = 80_000
START_SECONDS = 120.0


class LocalDask:
    """``dask scheduler`` and ``workers`` ``dask worker`` processes (one thread each) on this
    machine's loopback, as an instructor would start them by hand; CPU times per role."""

    def __init__(self, folder: Path, workers: int) -> None:
        import psutil
        from distributed import Client

        dask = str(Path(sys.executable).parent / "dask")
        port = _free_port()
        self.address = f"tcp://127.0.0.1:{port}"
        self.processes = [self._spawn(folder, [dask, "scheduler", "--host", "127.0.0.1",
                                               "--port", str(port), "--no-dashboard"])]
        self.processes += [self._spawn(folder, [
            dask, "worker", self.address, "--nthreads", "1", "--host", "127.0.0.1",
            "--no-dashboard", "--memory-limit", "0", "--local-directory", str(folder)])
            for _ in range(workers)]
        self.client = Client(self.address, timeout=START_SECONDS, set_as_default=False)
        self.client.wait_for_workers(workers, timeout=START_SECONDS)
        self.psutil = psutil

    @staticmethod
    def _spawn(folder: Path, argv: list[str]) -> subprocess.Popen:
        return subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                cwd=folder, start_new_session=True)

    def cpu_seconds(self) -> tuple[float, float]:
        """(scheduler, workers) CPU seconds so far: each process tree, its waited-for
        children (sandboxes) included."""
        def tree(pid: int) -> float:
            root = self.psutil.Process(pid)
            total = 0.0
            for process in [root, *root.children(recursive=True)]:
                try:
                    total += _tree_cpu(process)
                except self.psutil.NoSuchProcess:
                    continue
            return total
        scheduler, *workers = self.processes
        return tree(scheduler.pid), sum(tree(w.pid) for w in workers)

    def scheduler_cpu_per_task(self, tasks: int, payload: int) -> float:
        """The scheduler's CPU seconds per task, for a burst of ``tasks`` empty tasks that each
        carry ``payload`` bytes (as a grading job does); its idle CPU subtracted."""
        idle_start, start = self.cpu_seconds()[0], time.perf_counter()
        time.sleep(3)
        idle_rate = (self.cpu_seconds()[0] - idle_start) / (time.perf_counter() - start)
        busy_start, start = self.cpu_seconds()[0], time.perf_counter()
        for _ in range(0, tasks, 100):  # graphs of a few MB, as autograde's lanes send them
            data = [os.urandom(payload) for _ in range(100)]
            self.client.gather(self.client.map(len, data, pure=False))
        busy = self.cpu_seconds()[0] - busy_start - idle_rate * (time.perf_counter() - start)
        return max(busy, 0.0) / tasks

    def round_trip(self, repeats: int) -> float:
        """Median seconds of an empty task's round trip (submit, run, result)."""
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            self.client.submit(len, "", pure=False).result()
            times.append(time.perf_counter() - start)
        return statistics.median(times)

    def close(self) -> None:
        self.client.close()
        for process in reversed(self.processes):
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def build(folder: Path, quick: bool) -> tuple[Path, int]:
    """Table 6's class, every student twice (``STUDENT`` and ``STUDENT-b``); (course, count)."""
    from benchmarks.grading import build_class

    course = folder / "class"
    build_class(course, quick)
    for student in sorted((course / "submitted").iterdir()):
        shutil.copytree(student, student.with_name(f"{student.name}-b"))
    return course, sum(1 for _ in (course / "submitted").glob("*/*"))


def _tree_cpu(process) -> float:
    """CPU seconds of ``process`` and of its children it has waited for."""
    times = process.cpu_times()
    return times.user + times.system + times.children_user + times.children_system


def coordinator_cpu(cluster: LocalDask | None = None) -> float:
    """CPU seconds of this process and its descendants (the forkserver, the nbgrader
    processes it started and reaped), without the cluster's processes."""
    import psutil

    me = psutil.Process()
    outside = {p.pid for p in cluster.processes} if cluster is not None else set()
    total = _tree_cpu(me)
    for child in me.children(recursive=True):
        try:
            if child.pid in outside or any(p.pid in outside for p in child.parents()):
                continue
            total += _tree_cpu(child)
        except psutil.NoSuchProcess:
            continue
    return total


def grade(course: Path, jobs: int | None, cluster: LocalDask | None = None) -> dict[str, float]:
    """Grade ``course`` once; its wall time and the CPU time of each role, in seconds."""
    from autograder.instructor.workflow import autograde

    before = coordinator_cpu(cluster), *(cluster.cpu_seconds() if cluster else (0.0, 0.0))
    start = time.perf_counter()
    results = autograde(course, jobs=jobs, scheduler=cluster.address if cluster else None)
    wall = time.perf_counter() - start
    failed = [r.line() for r in results if r.error]
    if failed:
        raise RuntimeError(f"grading failed: {failed[0]}")
    after = coordinator_cpu(cluster), *(cluster.cpu_seconds() if cluster else (0.0, 0.0))
    coordinator, scheduler, workers = (a - b for a, b in zip(after, before, strict=True))
    return {"wall": wall, "coordinator": coordinator, "scheduler": scheduler,
            "workers": workers}


def task_bytes(course: Path) -> tuple[float, float]:
    """Mean pickled size of a task's job and of its result (graded notebook and record)."""
    import nbformat

    from autograder.grading.records import load_records

    sent, back = [], []
    for record in [r for a in (course / "grading").iterdir() for r in load_records(course,
                                                                                 a.name)]:
        path = course / "autograded" / record.student / record.assignment
        nb = nbformat.read(path / f"{record.notebook}.ipynb", as_version=4)
        sent.append(len(pickle.dumps((nb, record.seeds))))
        back.append(len(pickle.dumps((nb, record))))
    return statistics.mean(sent), statistics.mean(back)


def run(quick: bool = False, repeats: int = 1) -> Table:
    table = Table("9. Grading on a cluster (Dask)", quick=quick)
    with tempfile.TemporaryDirectory(prefix="backprop-bench-dask-") as tmp:
        folder = Path(tmp)
        base, n = build(folder, quick)
        seconds: dict[str, list[float]] = {"local": [], "dask1": [], "dask2": []}
        cpu: dict[str, dict[str, float]] = {}
        for repeat in range(max(1, repeats)):
            for way, workers in (("local", 0), ("dask1", 1), ("dask2", 2)):
                course = Path(shutil.copytree(base, folder / f"{way}-{repeat}"))
                cluster = LocalDask(folder, workers) if workers else None
                try:
                    measured = grade(course, 2 if cluster is None else None, cluster)
                finally:
                    if cluster is not None:
                        cluster.close()
                seconds[way].append(measured["wall"])
                cpu[way] = measured
        sent, back = task_bytes(folder / "dask2-0")
        overhead, empty, scheduler = per_task_overhead(folder, base, quick, int(sent))
    local, one, two = (statistics.median(seconds[w]) for w in ("local", "dask1", "dask2"))
    table.add(f"local --jobs 2, {n} submissions, per minute", 60 * n / local, "n")
    table.add("Dask, 1 worker (1 thread), per minute", 60 * n / one, "n")
    table.add("Dask, 2 workers (1 thread each), per minute", 60 * n / two, "n")
    table.add("Dask 2 workers / local --jobs 2 (throughput)", local / two, "x")
    table.add("Dask 2 workers / Dask 1 worker (throughput)", one / two, "x")
    table.add("time Dask adds per submission (one at a time)", overhead * 1000, "ms",
              OVERHEAD_TARGET)
    table.add("of which an empty task's round trip", empty * 1000, "ms")
    dask2 = cpu["dask2"]
    table.add("coordinator CPU per submission (nbgrader's steps)", dask2["coordinator"] / n,
              "s")
    table.add("worker CPU per submission (grading process, sandbox)", dask2["workers"] / n, "s")
    table.add("scheduler CPU per task (a burst of tasks of that size)", scheduler * 1000, "ms")
    table.add("scheduler CPU during the 2-worker run, share of a core",
              dask2["scheduler"] / statistics.median(seconds["dask2"]), "")
    table.add("kB sent per task (at most) / kB back", sent / 1000, "",
              note=f"{back / 1000:.0f} kB back")
    table.notes += estimate(dask2["coordinator"] / n, scheduler, dask2["workers"] / n,
                            sent + back)
    return table


def per_task_overhead(folder: Path, base: Path, quick: bool, payload: int
                      ) -> tuple[float, float, float]:
    """(seconds Dask adds per submission, an empty task's round trip, the scheduler's CPU per
    task): one submission at a time on a warm 2-worker cluster and locally, on the same
    submissions, in turns."""
    from autograder.instructor.workflow import autograde, submissions

    few = submissions(base)[: 2 if quick else 8]
    students = sorted({s for s, _ in few})
    names = sorted({a for _, a in few})
    cluster = LocalDask(folder, 2)
    try:
        warm = Path(shutil.copytree(base, folder / "warm"))
        autograde(warm, names, students, jobs=2, scheduler=cluster.address)  # both workers
        empty = cluster.round_trip(20)
        scheduler = cluster.scheduler_cpu_per_task(100 if quick else 1000, payload)
        times: dict[str, list[float]] = {"local": [], "dask": []}
        for turn in range(2):  # local, remote, local, remote: the same load for both
            for way in ("local", "dask"):
                course = Path(shutil.copytree(base, folder / f"one-{way}-{turn}"))
                start = time.perf_counter()
                autograde(course, names, students, jobs=1,
                          scheduler=cluster.address if way == "dask" else None)
                times[way].append((time.perf_counter() - start) / len(few))
    finally:
        cluster.close()
    overhead = statistics.median(times["dask"]) - statistics.median(times["local"])
    return overhead, empty, scheduler


def estimate(coordinator: float, scheduler: float, workers: float, task_bytes: float,
             cores: int = 32, link_bytes: float = 125e6) -> list[str]:
    """The paper estimate for NOTEBOOKS gradings on N machines of ``cores`` cores, from the
    measured costs per submission (CPU seconds; bytes over a 1 Gbit/s ``link_bytes``)."""
    hours = NOTEBOOKS * workers / 3600
    limits = {"the coordinator (nbgrader's steps, one machine)": cores / coordinator,
              "the scheduler (one thread)": 1 / max(scheduler, 1e-6),
              "the coordinator's network link": link_bytes / task_bytes}
    first, rate = min(limits.items(), key=lambda item: item[1])
    lines = [f"80,000 notebooks: {hours:.0f} core-hours on the workers ({workers:.2f} s each): "
             f"{hours / cores:.1f} h on one {cores}-core machine, {hours / cores:.1f} h / N on N.",
             "per second at most: " + "; ".join(f"{name} {value:.0f}"
                                                 for name, value in limits.items()) + ".",
             f"the first limit is {first}: {rate:.0f} submissions/s, reached with "
             f"{rate * workers / cores:.0f} worker machines; 80,000 then take at least "
             f"{NOTEBOOKS / rate / 3600:.1f} h. Past it: more coordinators on one PostgreSQL "
             "gradebook, each with a share of the class."]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.distributed",
                                     description=__doc__.split("\n", 1)[0])
    parser.add_argument("--quick", action="store_true", help="4 submissions, one run")
    parser.add_argument("--repeats", type=int, default=1, help="runs of each way")
    args = parser.parse_args(argv)
    from benchmarks._common import environment

    print(environment(), flush=True)
    print(f"\n{run(args.quick, args.repeats).render()}")
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    raise SystemExit(main())
