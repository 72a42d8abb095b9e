"""One grading sandbox: start the worker in it, kill everything in it, say what limit it hit.

:class:`Sandbox` puts together what ``autograder.grading.isolation`` describes: the
allow-listed view (``sandbox_view``), a cgroup for the whole sandbox (``cgroups``) and
per-process rlimits. Without a cgroup, the sandbox's processes are found on the host's
``/proc`` (descendants, and the processes that hold the sandbox's folder).
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import math
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import weakref
from collections.abc import Iterable
from pathlib import Path

from autograder.grading import isolation, sandbox_view
from autograder.grading.cgroups import KILL_SECONDS, Cgroup
from autograder.grading.isolation import Isolation, Limits, WorkerPaths

__all__ = ["Sandbox"]

_PR_SET_CHILD_SUBREAPER = 36


class Sandbox:
    """One sandbox for one notebook. Use as a context manager; ``__exit__`` kills everything
    in it and removes its scratch and cgroup.

    Parameters
    ----------
    limits : the sandbox's limits (default :class:`Limits`)
    isolate : use bubblewrap's view when the machine can (False: run on the host)
        (:attr:`isolation` says what is used; it loses its cgroup if :meth:`start` cannot make
        one)
    worker_package : the folder that appears inside as the package ``backprop_worker``
        (default ``autograder/grading/worker``)
    cgroup : use a cgroup when the machine has one (False: rlimits, process tree and
        markers only; for tests of that path)

    Notes
    -----
    With the view, the worker cannot name a host process (PID namespace) and the namespace's
    init (bubblewrap, pid 1 inside) ignores its signals: ``os.kill(os.getppid(), 9)`` does
    nothing. When that init dies every process in the namespace dies, so :meth:`kill` gets them
    all even without a cgroup.

    Without the view (fallback) the worker runs as the grader's user. With a cgroup, its
    processes are still found and killed wherever they went. Without one, this process becomes
    a child subreaper, so that an orphan (double fork, ``setsid``) is reparented here and not
    to init, and :meth:`kill` walks ``/proc`` for the worker's descendants and for every
    process whose cwd is in the sandbox's folder or that holds a descriptor on it. A learner
    who leaves that folder, closes the inherited descriptor and double-forks can escape this;
    a learner process can also kill its parent (the worker) or any process of the grader's
    user, the grader included: the caller must treat a dead worker as a crash and rebuild its
    pool. The RLIMIT_NPROC there counts every process of the user (and root is exempt).

    ``--die-with-parent`` ties the sandbox to the thread that calls :meth:`start` (Linux's
    parent-death signal): start sandboxes from a thread that outlives them.
    """

    def __init__(self, limits: Limits | None = None, *, isolate: bool = True,
                 worker_package: Path | None = None, cgroup: bool = True) -> None:
        self.limits = limits or Limits()
        self.worker_package = Path(worker_package or sandbox_view.WORKER_PACKAGE).resolve()
        if not self.worker_package.is_dir():
            raise FileNotFoundError(f"no worker package folder at {self.worker_package}")
        machine = isolation.machine()
        self._machine = machine
        self._place = machine.place if cgroup else None
        self.isolation = Isolation(isolate and machine.isolation.namespaces,
                                   self._place.describe() if self._place else None)
        self._proc: subprocess.Popen | None = None
        self._cgroup: Cgroup | None = None
        self._host_folder: str | None = None  # fallback only: links and scratch
        # Every process kill() has killed: pid -> start time (a pid may be reused later).
        self._seen: dict[int, int] = {}
        if self.isolation.namespaces:
            self.paths = WorkerPaths(sandbox_view.interpreter(),
                                     (sandbox_view.INSIDE, sandbox_view.INSIDE_SITE),
                                     sandbox_view.INSIDE_SCRATCH)
        else:
            self.paths = self._host_paths()

    def _host_paths(self) -> WorkerPaths:
        """Fallback: a host folder with ``pkg/backprop_worker`` and ``site-packages/<entry>``
        links (the same modules as inside the view) and an empty ``scratch``."""
        folder = tempfile.mkdtemp(prefix="backprop-sandbox-")
        self._host_folder = folder
        self._finalizer = weakref.finalize(self, shutil.rmtree, folder, ignore_errors=True)
        Path(folder, "pkg").mkdir()
        Path(folder, "pkg", "backprop_worker").symlink_to(self.worker_package)
        for host, inside in sandbox_view.site_entries():
            link = Path(folder, "site-packages", inside)
            link.parent.mkdir(parents=True, exist_ok=True)
            link.symlink_to(host)
        Path(folder, "scratch").mkdir()
        return WorkerPaths(sys.executable, (f"{folder}/pkg", f"{folder}/site-packages"),
                           f"{folder}/scratch")

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.kill()
        finally:
            if self._proc is not None:
                for stream in (self._proc.stdin, self._proc.stdout, self._proc.stderr):
                    with contextlib.suppress(OSError):
                        stream.close()
            if self._cgroup is not None:
                self._cgroup.remove()
            if self._host_folder is not None:
                self._finalizer()

    # -- starting ---------------------------------------------------------------------

    def bwrap_command(self, argv: list[str], env: dict[str, str]) -> list[str]:
        """The bubblewrap command line that runs ``argv`` with ``env`` in this sandbox."""
        if self._machine.bwrap is None:
            raise RuntimeError("bubblewrap with user namespaces is not available here")
        return sandbox_view.bwrap_command(self._machine.bwrap, argv, env,
                                          worker_package=self.worker_package,
                                          scratch_bytes=self.limits.scratch_bytes)

    def start(self, argv: list[str], env: dict[str, str]) -> subprocess.Popen:
        """Start ``argv`` (as seen inside) with exactly the environment ``env``.

        stdin, stdout and stderr are binary unbuffered pipes. Only one start per sandbox.
        """
        if self._proc is not None:
            raise RuntimeError("a Sandbox starts one worker only: make a new one")
        if self._place is not None:
            try:
                self._cgroup = Cgroup(self._place, memory_bytes=self.limits.memory_bytes,
                                      processes=self.limits.processes)
            except OSError:  # e.g. out of cgroups: go on without, and say so
                self._place = None
                self.isolation = Isolation(self.isolation.namespaces, None)
        isolated = self.isolation.namespaces
        if not isolated and self._cgroup is None:
            _become_subreaper()
        fds = [os.open(f, os.O_WRONLY | os.O_CLOEXEC)
               for f in (self._cgroup.procs_files() if self._cgroup else [])]
        if isolated:
            # bwrap's options (binds, environment) go through a memfd that bwrap reads and
            # closes: neither `ps` on the host nor /proc/1/cmdline inside shows them.
            command = self.bwrap_command(argv, env)
            split = command.index("--")
            passed = os.memfd_create("bwrap-args")
            os.write(passed, b"".join(a.encode() + b"\0" for a in command[1:split]))
            os.lseek(passed, 0, os.SEEK_SET)
            command = [command[0], "--args", str(passed), *command[split:]]
        else:
            # The marker of the sandbox's processes on the host (see kill()).
            passed = os.open(self._host_folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            command = argv
        try:
            self._proc = subprocess.Popen(
                command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                bufsize=0, env={} if isolated else env,
                cwd=None if isolated else self.paths.scratch,
                start_new_session=True, close_fds=True, pass_fds=(passed,),
                preexec_fn=functools.partial(_enter, fds, self._rlimits()))
        finally:
            for fd in [*fds, passed]:
                os.close(fd)
        return self._proc

    def _rlimits(self) -> list[tuple[int, tuple[int, int]]]:
        cpu = math.ceil(self.limits.cpu_seconds)
        limits = [(resource.RLIMIT_AS, (self.limits.memory_bytes,) * 2),
                  (resource.RLIMIT_CPU, (cpu, cpu + 1)),  # SIGXCPU, then SIGKILL a second later
                  (resource.RLIMIT_FSIZE, (self.limits.file_bytes,) * 2),
                  (resource.RLIMIT_CORE, (0, 0))]
        if self._cgroup is None and os.getuid() != 0:  # root is exempt from RLIMIT_NPROC
            # Counts every process of the user, not the sandbox's: the ones there now, plus ours.
            mine = sum(1 for p in Path("/proc").iterdir()
                       if p.name.isdigit() and _owner(p) == os.getuid())
            limits.append((resource.RLIMIT_NPROC, (mine + self.limits.processes,) * 2))
        return limits

    # -- ending -----------------------------------------------------------------------

    def kill(self) -> None:
        """SIGKILL every process of the sandbox; when this returns they are all gone (setsid,
        double fork, stopped or ignoring signals alike)."""
        if self._proc is None:
            return
        deadline = time.monotonic() + KILL_SECONDS
        if self._cgroup is not None:
            self._cgroup.kill()
        marker = None if self.isolation.namespaces or self._cgroup else self._host_folder
        while True:
            # The first process's pid is ours until it is reaped; after that it may be reused.
            root = self._proc.pid if self._proc.returncode is None else None
            table = _process_table()
            roots = ({root} if root else set()) | (_marked(marker) if marker else set())
            # Killed processes that left the tree (their parent died first) until they are gone.
            roots |= {pid for pid, start in self._seen.items()
                      if pid in table and table[pid][2] == start}
            targets = {p for p in _descendants(table, roots) if table[p][1] not in "ZX"}
            targets.discard(os.getpid())
            self._seen.update({pid: table[pid][2] for pid in targets})
            if not targets:
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"sandbox processes {sorted(targets)} survived SIGKILL")
            if root:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(root, signal.SIGKILL)
            for pid in targets:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.002)
        self._proc.wait()
        if marker:
            self._reap_orphans()

    def _reap_orphans(self) -> None:
        """Reap the sandbox's processes that became our children (we are their subreaper)."""
        table = _process_table()
        for pid in self._seen.keys() - {self._proc.pid}:
            if table.get(pid, (0, ""))[0] == os.getpid():
                with contextlib.suppress(ChildProcessError, OSError):
                    os.waitpid(pid, os.WNOHANG)

    def limit_hit(self) -> str | None:
        """After the worker ended: "memory" if the sandbox's memory limit was hit (the cgroup's
        OOM killer fired), "processes" if its pids limit refused a fork, else None (also
        without a cgroup)."""
        return self._cgroup.limit_hit() if self._cgroup else None


def _owner(proc_dir: Path) -> int | None:
    try:
        return proc_dir.stat().st_uid
    except OSError:
        return None



# ---------------------------------------------------------------------------------------
# Processes, seen from the host's /proc
# ---------------------------------------------------------------------------------------


def _process_table() -> dict[int, tuple[int, str, int]]:
    """Every process: pid -> (parent pid, state letter, start time in clock ticks)."""
    table = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rindex(b")") + 2:].split()
        table[int(name)] = (int(fields[1]), fields[0].decode(), int(fields[19]))
    return table


def _descendants(table: dict[int, tuple[int, str, int]], roots: Iterable[int]) -> set[int]:
    """The roots that exist and all their descendants."""
    children: dict[int, list[int]] = {}
    for pid, (parent, *_) in table.items():
        children.setdefault(parent, []).append(pid)
    found, todo = set(), [r for r in roots if r in table]
    while todo:
        pid = todo.pop()
        if pid not in found:
            found.add(pid)
            todo.extend(children.get(pid, ()))
    return found


def _marked(marker: str) -> set[int]:
    """Processes whose cwd is in ``marker`` or that hold a descriptor on something in it."""
    found = set()
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        with contextlib.suppress(OSError):
            links = [os.readlink(f"/proc/{name}/cwd")]
            with contextlib.suppress(OSError):
                links += [os.readlink(f"/proc/{name}/fd/{fd}")
                          for fd in os.listdir(f"/proc/{name}/fd")]
            if any(link == marker or link.startswith(marker + "/") for link in links):
                found.add(int(name))
    return found


@functools.cache
def _become_subreaper() -> bool:
    """Make this process the reaper of its orphaned descendants (Linux >= 3.4)."""
    libc = ctypes.CDLL(None, use_errno=True)
    return libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0


def _enter(procs_files: list[int], rlimits: list[tuple[int, tuple[int, int]]]) -> None:
    """In the child, before exec: enter the cgroup ("0" is the writer) and set the rlimits.

    Only writes to descriptors opened by the parent and system calls: safe after fork.
    """
    for fd in procs_files:
        os.write(fd, b"0")
    for kind, value in rlimits:
        resource.setrlimit(kind, value)
