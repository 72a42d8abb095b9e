"""The sandbox the grading worker runs in: an allow-listed view and limits for all of it.

The learner can run any Python in the worker (threads, subprocesses, ctypes), so the worker's
world is built from an allow-list with bubblewrap, never "the host minus a folder". Inside,
the worker sees:

- the interpreter (``sys.base_prefix``'s binary, its standard library, ``libpython``) at its
  host path, read-only, with the standard library's ``site-packages`` hidden by an empty tmpfs;
- the system's shared libraries (``/usr/lib/<multiarch>``, ``/usr/lib64`` and the ``/lib``,
  ``/lib64`` links as the host has them), read-only;
- the worker package as ``/opt/backprop-worker/backprop_worker`` and the allow-listed
  distributions (the closure of what ``numpy``, ``ipython`` and ``matplotlib`` require) in
  ``/opt/backprop-worker/site-packages``, read-only;
- an empty tmpfs ``/scratch`` of ``Limits.scratch_bytes`` (its cwd), a read-only minimal
  ``/dev`` (``/dev/shm`` too: multiprocessing's semaphores are not available) and a ``/proc``
  of its own PID namespace;

and nothing else: no ``/etc``, ``/tmp``, ``/run``, ``/home``, ``/work``, no project checkout,
no course folder, no socket, no network. It runs in new user, mount, network, PID, IPC, UTS
and cgroup namespaces, in a new session, with no capabilities, no way to make another user
namespace, and only the environment the caller gives (bubblewrap adds ``PWD``). bwrap's own
options reach it through a descriptor, so ``/proc/1/cmdline`` inside shows no host path.

Limits hold for the sandbox as a whole where the machine has a writable cgroup (v2, or v1's
memory, pids and freezer controllers): the first process is put into the sandbox's own cgroup
before it runs anything, so every process the learner starts is in it, counted and killed
with it. Per-process rlimits (address space, CPU time, file size, no core files) apply too.

Without bubblewrap or user namespaces (``detect().namespaces`` False, or ``isolate=False``) no
view is possible: the worker runs on the host, as the grader's user, with the rlimits and the
cgroup if there is one; :class:`Isolation` says so in every grading record.

Not stopped here: system calls the kernel allows an unprivileged process in a user namespace
(there is no seccomp filter: a kernel bug is a way out, and when the grader runs as root the
sandbox's uid is root's outside); CPU use (no cpu controller: a sandbox may keep every core busy;
RLIMIT_CPU is per process, so ``processes`` times ``cpu_seconds`` at most; wall time is the
caller's); disk reads of the bound files; what ``/proc`` tells of the machine (memory, CPUs,
load, kernel version); whatever the worker writes to its pipes (the caller's to bound).

The pieces: :mod:`autograder.grading.sandbox_view` (bubblewrap's arguments: the view above),
:mod:`autograder.grading.cgroups` (the cgroup of a sandbox), :mod:`autograder.grading.sandbox`
(:class:`~autograder.grading.sandbox.Sandbox`: start, kill, limits hit). This module says what
a sandbox is (:class:`Limits`, :class:`Isolation`, :class:`WorkerPaths`) and what this machine
can give (:func:`detect`, :func:`refusal`).
"""

from __future__ import annotations

import functools
import os
import shutil
import sys
from dataclasses import dataclass

from autograder.grading import sandbox_view
from autograder.grading.cgroups import CgroupPlace, find_place

__all__ = ["ALLOW_UNISOLATED_ENV", "Isolation", "Limits", "Machine", "WorkerPaths", "detect",
           "machine", "refusal"]

#: Set to 1 when grading without isolation was allowed (``autograde --allow-unisolated``):
#: the grading processes then run the worker on the host, with the limits only.
ALLOW_UNISOLATED_ENV = "BACKPROP_COURSE_ALLOW_UNISOLATED"


# ---------------------------------------------------------------------------------------
# What the sandbox is
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Limits:
    """Limits of one sandbox: the worker and every process it starts, together."""

    memory_bytes: int = 4 * 2**30  # all processes together (cgroup); also RLIMIT_AS per process
    processes: int = 64  # tasks at once, threads and bwrap's 2 too: pids.max, else RLIMIT_NPROC
    cpu_seconds: float = 660.0  # RLIMIT_CPU per process (the wall-clock limit is the caller's)
    file_bytes: int = 64 * 2**20  # RLIMIT_FSIZE
    scratch_bytes: int = 256 * 2**20  # size of the tmpfs scratch folder

    def __post_init__(self) -> None:
        for name, value in vars(self).items():
            if not value > 0:
                raise ValueError(f"Limits.{name} must be positive, not {value!r}")


@dataclass(frozen=True)
class Isolation:
    """What isolation is in force; recorded in every grading record."""

    namespaces: bool  # bubblewrap with the allow-list view is used
    cgroup: str | None  # e.g. "cgroup v1 (memory, pids, freezer)"; None if not available

    def describe(self) -> str:
        """One sentence for records, ``autograde`` output and reports."""
        if self.namespaces:
            *others, last = sandbox_view.CLONE_NAMESPACES
            view = (f"bubblewrap allow-list view (new {', '.join(others)} and {last} "
                    "namespaces, no capabilities, no network)")
        else:
            view = "no sandbox view: the worker runs on the host as the grader's user"
        if self.cgroup:
            limits = f"limits for the whole sandbox from {self.cgroup} and per-process rlimits"
        else:
            limits = "per-process rlimits only (no writable cgroup)"
        return f"{view}; {limits}."

    @property
    def complete(self) -> bool:
        """Both the namespaces and a cgroup."""
        return self.namespaces and self.cgroup is not None


@dataclass(frozen=True)
class WorkerPaths:
    """Where things are, as the worker sees them."""

    python: str  # the interpreter
    import_paths: tuple[str, ...]  # first on sys.path: the folder of backprop_worker, the site
    scratch: str  # the empty writable folder (cwd)

    def base_env(self) -> dict[str, str]:
        """A minimal environment for the worker: HOME, TMPDIR and MPLCONFIGDIR in scratch."""
        return {"HOME": self.scratch, "TMPDIR": self.scratch, "MPLCONFIGDIR": self.scratch,
                "MPLBACKEND": "Agg", "PYTHONDONTWRITEBYTECODE": "1", "PYTHONUTF8": "1",
                "LANG": "C.UTF-8", "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}


# ---------------------------------------------------------------------------------------
# What the machine can do
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Machine:
    """What this machine offers a sandbox."""

    isolation: Isolation  # what a sandbox gets here (with a view if the caller wants one)
    bwrap: str | None  # the bubblewrap binary, if it can build the view here
    place: CgroupPlace | None  # where sandbox cgroups can be made, if anywhere


def detect() -> Isolation:
    """What isolation this machine can give (cached; runs one tiny bubblewrap probe)."""
    return machine().isolation


def refusal() -> str | None:
    """Why grading must not run here without ``--allow-unisolated`` (None: it may)."""
    found = detect()
    if found.namespaces:
        return None
    return (f"this machine cannot isolate the learner's code while grading "
            f"({found.describe()}): a submission could read the course folder and other "
            "submissions, or harm the grader. Install bubblewrap and allow unprivileged user "
            "namespaces (README, Trusted grading), or grade anyway with --allow-unisolated.")


@functools.cache
def machine() -> Machine:
    """What this machine can do (cached; runs one tiny bubblewrap probe)."""
    bwrap = shutil.which("bwrap") or ("/usr/bin/bwrap" if os.access("/usr/bin/bwrap", os.X_OK)
                                      else None)
    linux = sys.platform.startswith("linux")
    namespaces = bwrap is not None and linux and sandbox_view.runs_here(bwrap)
    place = find_place() if linux else None
    isolation = Isolation(namespaces, place.describe() if place else None)
    return Machine(isolation, bwrap if namespaces else None, place)
