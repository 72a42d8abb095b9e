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
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import importlib.metadata
import math
import os
import re
import resource
import secrets
import shutil
import signal
import subprocess
import sys
import sysconfig
import tempfile
import time
import weakref
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import Requirement

__all__ = ["Isolation", "Limits", "Sandbox", "WorkerPaths", "allowed_distributions", "detect"]

#: Set to 1 when grading without isolation was allowed (``autograde --allow-unisolated``):
#: the grading processes then run the worker on the host, with the limits only.
ALLOW_UNISOLATED_ENV = "BACKPROP_COURSE_ALLOW_UNISOLATED"
WORKER_PACKAGE = Path(__file__).with_name("worker")  # appears inside as ``backprop_worker``
#: The distributions the worker may import, with everything they require.
ALLOWED_ROOTS = ("numpy", "ipython", "matplotlib")
#: Never in the sandbox, even if something allowed requires it (normalised names; ``jupyter*``
#: too): the project itself (refimpl, autograder), the grader and the kernel machinery.
DENIED = frozenset({"backprop-course", "nbgrader", "ipywidgets", "ipykernel", "notebook",
                    "nbclient", "nbconvert", "nbformat", "nbval", "widgetsnbextension"})

_INSIDE = "/opt/backprop-worker"  # import_paths[0]; holds the package ``backprop_worker``
_INSIDE_SITE = f"{_INSIDE}/site-packages"
_INSIDE_SCRATCH = "/scratch"
_SANDBOX_UID = 1000  # the worker's uid and gid inside the user namespace (mapped to ours)
_HIDE_BYTES = 4096  # size of the empty tmpfs that hides a folder
_KILL_SECONDS = 10.0  # kill() gives up (and raises) if a process is still there after this
_PR_SET_CHILD_SUBREAPER = 36
_CLONE_FLAGS = ("user", "mount", "network", "PID", "IPC", "UTS", "cgroup")


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
            view = (f"bubblewrap allow-list view (new {', '.join(_CLONE_FLAGS[:-1])} and "
                    f"{_CLONE_FLAGS[-1]} namespaces, no capabilities, no network)")
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
class _Place:
    """Where this process may make sandbox cgroups: the parent folder of each controller."""

    version: int  # 1 or 2
    parents: dict[str, Path]  # v1: controller -> folder; v2: {"": folder}

    def describe(self) -> str:
        if self.version == 2:
            return "cgroup v2"
        return f"cgroup v1 ({', '.join(self.parents)})"


@dataclass(frozen=True)
class _Machine:
    isolation: Isolation
    bwrap: str | None
    place: _Place | None


def detect() -> Isolation:
    """What isolation this machine can give (cached; runs one tiny bubblewrap probe)."""
    return _machine().isolation


def refusal() -> str | None:
    """Why grading must not run here without ``--allow-unisolated`` (None: it may)."""
    machine = detect()
    if machine.namespaces:
        return None
    return (f"this machine cannot isolate the learner's code while grading "
            f"({machine.describe()}): a submission could read the course folder and other "
            "submissions, or harm the grader. Install bubblewrap and allow unprivileged user "
            "namespaces (README, Trusted grading), or grade anyway with --allow-unisolated.")


@functools.cache
def _machine() -> _Machine:
    bwrap = shutil.which("bwrap") or ("/usr/bin/bwrap" if os.access("/usr/bin/bwrap", os.X_OK)
                                      else None)
    namespaces = bwrap is not None and sys.platform.startswith("linux") and _probe(bwrap)
    place = _cgroup_place() if sys.platform.startswith("linux") else None
    isolation = Isolation(namespaces, place.describe() if place else None)
    return _Machine(isolation, bwrap if namespaces else None, place)


def _probe(bwrap: str) -> bool:
    """Whether bubblewrap can build the interpreter's view here (user namespaces allowed)."""
    argv = [bwrap, *_NAMESPACE_FLAGS, *_system_view(), "--", _interpreter(),
            "-I", "-S", "-c", "pass"]
    try:
        return subprocess.run(argv, capture_output=True, env={}, timeout=30).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False


def _cgroup_place() -> _Place | None:
    """The first usable of: cgroup v2 with memory and pids; v1 with memory and pids."""
    try:
        own = Path("/proc/self/cgroup").read_text().splitlines()
        mounts = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return None
    paths = {}  # controller ("" for v2) -> our cgroup's path in that hierarchy
    for line in own:
        _, controllers, path = line.split(":", 2)
        for controller in controllers.split(",") if controllers else [""]:
            paths[controller] = path
    folders: dict[str, Path] = {}  # controller ("" for v2) -> our cgroup's folder
    for line in mounts:
        fields, _, tail = line.partition(" - ")
        fields_, tail_ = fields.split(), tail.split()
        if len(tail_) < 3 or tail_[0] not in ("cgroup", "cgroup2"):
            continue
        root, mount_point = fields_[3], fields_[4]
        names = [""] if tail_[0] == "cgroup2" else tail_[2].split(",")
        for name in names:
            if name in paths and name not in folders:
                rel = os.path.relpath(paths[name], root)
                if not rel.startswith(".."):
                    folders[name] = Path(mount_point, rel).resolve()
    if "" in folders and _v2_usable(folders[""]):
        return _Place(2, {"": folders[""]})
    usable = {c: folders[c] for c in ("memory", "pids", "freezer")
              if c in folders and _v1_usable(folders[c], c)}
    if "memory" in usable and "pids" in usable:
        return _Place(1, usable)
    return None


def _v1_usable(folder: Path, controller: str) -> bool:
    wanted = {"memory": "memory.limit_in_bytes", "pids": "pids.max", "freezer": "freezer.state"}
    return _probe_child(folder, (wanted[controller], "cgroup.procs"))


def _v2_usable(folder: Path) -> bool:
    try:
        enabled = (folder / "cgroup.subtree_control").read_text().split()
        if not {"memory", "pids"} <= set(enabled):
            # Fails (EBUSY) if our cgroup holds processes and is not the root: not delegated.
            (folder / "cgroup.subtree_control").write_text("+memory +pids")
    except OSError:
        return False
    return _probe_child(folder, ("memory.max", "pids.max", "cgroup.procs"))


def _probe_child(folder: Path, files: Iterable[str]) -> bool:
    """Whether we can make a child cgroup in ``folder`` that has ``files``, all writable."""
    probe = folder / f"backprop-probe-{os.getpid()}-{secrets.token_hex(4)}"
    try:
        probe.mkdir()
    except OSError:
        return False
    try:
        return all(os.access(probe / f, os.W_OK) for f in files)
    finally:
        with contextlib.suppress(OSError):
            probe.rmdir()


# ---------------------------------------------------------------------------------------
# The view: the interpreter, shared libraries, allow-listed distributions
# ---------------------------------------------------------------------------------------

_NAMESPACE_FLAGS = (
    "--unshare-all",  # user, mount, network, PID, IPC, UTS, cgroup
    "--unshare-user", "--disable-userns",  # and no user namespace can be made inside
    "--uid", str(_SANDBOX_UID), "--gid", str(_SANDBOX_UID), "--hostname", "sandbox",
    "--die-with-parent", "--new-session", "--cap-drop", "ALL", "--clearenv",
)


@functools.cache
def _interpreter() -> str:
    """The real interpreter binary (the venv's ``python`` is a symlink to it)."""
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    binary = Path(sys.base_prefix, "bin", version)
    return str((binary if binary.exists() else Path(sys.executable)).resolve())


@functools.cache
def _system_view() -> tuple[str, ...]:
    """bwrap arguments: shared libraries, the interpreter and its standard library."""
    args: list[str] = []
    multiarch = sysconfig.get_config_var("MULTIARCH") or ""
    for lib in ("/usr/lib", "/usr/lib64", "/usr/lib32", "/lib", "/lib64", "/lib32"):
        narrow = Path(lib, multiarch)
        if os.path.islink(lib):  # merged /usr: the same links as the host
            args += ["--symlink", os.readlink(lib), lib]
        elif multiarch and narrow.is_dir():  # Debian: only the shared libraries' folder
            args += ["--ro-bind", str(narrow), str(narrow)]
        elif Path(lib).is_dir():  # without Python packages (Debian's python3-* live there)
            args += ["--ro-bind", lib, lib, *_hide(sorted(map(str, Path(lib).glob("python3*"))))]
    python = _interpreter()
    args += ["--ro-bind", python, python]
    # The base interpreter's, not a venv's: in a venv "platstdlib" is the venv's lib folder.
    base = {"installed_base": sys.base_prefix, "base": sys.base_prefix,
            "installed_platbase": sys.base_exec_prefix, "platbase": sys.base_exec_prefix}
    stdlib = {sysconfig.get_path(name, vars=base) for name in ("stdlib", "platstdlib")}
    for folder in sorted(str(Path(p).resolve()) for p in stdlib if p and Path(p).is_dir()):
        args += ["--ro-bind", folder, folder]
        args += _hide([str(p) for p in (Path(folder) / "site-packages",
                                        Path(folder) / "dist-packages") if p.is_dir()])
    for shared in sorted(Path(sys.base_prefix, "lib").glob("libpython3*.so*")):
        args += ["--ro-bind", str(shared), str(shared)]
    return tuple(args)


def _hide(folders: Iterable[str]) -> list[str]:
    """bwrap arguments that cover each folder with an empty read-only tmpfs."""
    args = []
    for folder in folders:
        args += ["--size", str(_HIDE_BYTES), "--tmpfs", folder, "--remount-ro", folder]
    return args


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _denied(name: str) -> bool:
    key = _normalise(name)
    return key in DENIED or key.startswith("jupyter")


@functools.cache
def allowed_distributions() -> tuple[importlib.metadata.Distribution, ...]:
    """The closure of what :data:`ALLOWED_ROOTS` require, without extras or markers that do
    not apply here, and never a :data:`DENIED` distribution (nor what only it requires)."""
    found: dict[str, importlib.metadata.Distribution] = {}
    todo = list(ALLOWED_ROOTS)
    while todo:
        name = todo.pop()
        key = _normalise(name)
        if key in found or _denied(key):
            continue
        try:
            dist = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            continue  # an import of it fails inside, as it would outside
        found[key] = dist
        for text in dist.requires or []:
            requirement = Requirement(text)
            # extras are never installed into the sandbox: "extra" is empty
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                todo.append(requirement.name)
    return tuple(found[k] for k in sorted(found))


@functools.cache
def _site_entries() -> tuple[tuple[str, str], ...]:
    """(host path, path inside site-packages) of every top-level entry of the allowed
    distributions: packages, modules, ``*.libs`` folders, ``*.dist-info`` (for
    ``importlib.metadata``), and the compiled files of top-level modules."""
    entries: dict[str, str] = {}
    for dist in allowed_distributions():
        files = dist.files
        if files is None:  # no RECORD: the names in top_level.txt
            names = (dist.read_text("top_level.txt") or "").split()
            files = [importlib.metadata.PackagePath(n + s) for n in names for s in ("", ".py")]
        for file in files:
            parts = file.parts
            if not parts or parts[0] == ".." or parts[0].endswith(".pth") or \
                    parts[0].startswith("__editable__"):
                continue
            inside = parts[0]
            if parts[0] == "__pycache__" or _namespace_package(dist, parts[0]):
                if len(parts) < 2:
                    continue
                inside = f"{parts[0]}/{parts[1]}"  # bind one level down, never the shared folder
            host = Path(dist.locate_file(inside))
            if inside not in entries and (host.exists() or host.is_symlink()):
                entries[inside] = str(host.resolve())
    return tuple(sorted((host, inside) for inside, host in entries.items()))


def _namespace_package(dist: importlib.metadata.Distribution, name: str) -> bool:
    """A top-level folder without ``__init__.py`` that other distributions may share."""
    folder = Path(dist.locate_file(name))
    return (name.isidentifier() and folder.is_dir() and not (folder / "__init__.py").exists())


# ---------------------------------------------------------------------------------------
# Cgroups
# ---------------------------------------------------------------------------------------


class _Cgroup:
    """One sandbox's cgroup: a folder per controller (v1) or one folder (v2)."""

    def __init__(self, place: _Place, limits: Limits) -> None:
        self.version = place.version
        name = f"backprop-sandbox-{os.getpid()}-{secrets.token_hex(6)}"
        self.folders: dict[str, Path] = {}
        try:
            for controller, parent in place.parents.items():
                (parent / name).mkdir()
                self.folders[controller] = parent / name
            if self.version == 2:
                self._write("", "memory.max", limits.memory_bytes)
                self._write("", "memory.swap.max", 0, optional=True)
                self._write("", "pids.max", limits.processes)
            else:
                self._write("memory", "memory.limit_in_bytes", limits.memory_bytes)
                self._write("memory", "memory.memsw.limit_in_bytes", limits.memory_bytes,
                            optional=True)  # no swap either (present with swap accounting)
                self._write("pids", "pids.max", limits.processes)
        except BaseException:
            self.remove()
            raise

    def _file(self, controller: str, name: str) -> Path:
        return self.folders[controller] / name

    def _write(self, controller: str, name: str, value: object, optional: bool = False) -> None:
        path = self._file(controller, name)
        if optional and not path.exists():
            return
        path.write_text(str(value))

    def _read(self, controller: str, name: str) -> str:
        try:
            return self._file(controller, name).read_text()
        except (OSError, KeyError):
            return ""

    def procs_files(self) -> list[str]:
        """The files to write a pid into to enter this cgroup (every controller)."""
        return [str(f / "cgroup.procs") for f in self.folders.values()]

    def pids(self) -> set[int]:
        found: set[int] = set()
        for controller in self.folders:
            found |= {int(p) for p in self._read(controller, "cgroup.procs").split()}
        return found

    def kill(self) -> None:
        """SIGKILL every process in it; return when it is empty."""
        deadline = time.monotonic() + _KILL_SECONDS
        if self.version == 2 and self._file("", "cgroup.kill").exists():
            self._write("", "cgroup.kill", 1)
        freezer = ("", "cgroup.freeze", "1", "0") if self.version == 2 else \
            ("freezer", "freezer.state", "FROZEN", "THAWED")
        can_freeze = freezer[0] in self.folders and self._file(*freezer[:2]).exists()
        while pids := self.pids():
            if time.monotonic() > deadline:
                raise RuntimeError(f"sandbox processes {sorted(pids)} survived SIGKILL")
            if can_freeze:  # nobody forks while we kill: freeze, kill all, thaw, until empty
                self._write(freezer[0], freezer[1], freezer[2])
                self._wait_frozen(freezer, deadline)
                pids = self.pids()
            for pid in pids:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
            if can_freeze:
                self._write(freezer[0], freezer[1], freezer[3])
            time.sleep(0.005)

    def _wait_frozen(self, freezer: tuple[str, str, str, str], deadline: float) -> None:
        controller, name, frozen, _ = freezer
        until = min(deadline, time.monotonic() + 1.0)  # a task stuck in the kernel: go on
        while time.monotonic() < until:
            state = self._read(controller, "cgroup.events" if self.version == 2 else name)
            if (self.version == 2 and "frozen 1" in state) or state.strip() == frozen:
                return
            time.sleep(0.002)

    def limit_hit(self) -> str | None:
        # The OOM killer's count: failcnt counts every time usage touched the limit, which page
        # cache being reclaimed can do without anything failing.
        if self.version == 2:
            memory = _counters(self._read("", "memory.events"))
            if memory.get("oom_kill", 0) or memory.get("oom", 0):
                return "memory"
            return "processes" if _counters(self._read("", "pids.events")).get("max") else None
        oom = _counters(self._read("memory", "memory.oom_control"))
        if "oom_kill" not in oom:  # before Linux 4.13: only the failure count
            oom["oom_kill"] = sum(int(self._read("memory", f) or 0)
                                  for f in ("memory.failcnt", "memory.memsw.failcnt"))
        if oom["oom_kill"] or oom.get("under_oom"):
            return "memory"
        return "processes" if _counters(self._read("pids", "pids.events")).get("max") else None

    def remove(self) -> None:
        """Remove its folders (retried while the last tasks finish exiting)."""
        deadline = time.monotonic() + _KILL_SECONDS
        for controller, folder in list(self.folders.items()):
            while folder.exists():
                try:
                    folder.rmdir()
                except FileNotFoundError:
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.01)
            del self.folders[controller]


def _counters(text: str) -> dict[str, int]:
    """``name value`` lines (``memory.events``, ``pids.events``, ``memory.oom_control``)."""
    pairs = (line.split() for line in text.splitlines())
    return {p[0]: int(p[1]) for p in pairs if len(p) == 2 and p[1].isdigit()}


# ---------------------------------------------------------------------------------------
# Processes, seen from the host's /proc
# ---------------------------------------------------------------------------------------


def _process_table() -> dict[int, tuple[int, str]]:
    """Every process: pid -> (parent pid, state letter)."""
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
        table[int(name)] = (int(fields[1]), fields[0].decode())
    return table


def _descendants(table: dict[int, tuple[int, str]], roots: Iterable[int]) -> set[int]:
    """The roots that exist and all their descendants."""
    children: dict[int, list[int]] = {}
    for pid, (parent, _) in table.items():
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


# ---------------------------------------------------------------------------------------
# The sandbox
# ---------------------------------------------------------------------------------------


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
        self.worker_package = Path(worker_package or WORKER_PACKAGE).resolve()
        if not self.worker_package.is_dir():
            raise FileNotFoundError(f"no worker package folder at {self.worker_package}")
        machine = _machine()
        self._machine = machine
        self._place = machine.place if cgroup else None
        self.isolation = Isolation(isolate and machine.isolation.namespaces,
                                   self._place.describe() if self._place else None)
        self._proc: subprocess.Popen | None = None
        self._cgroup: _Cgroup | None = None
        self._host_folder: str | None = None  # fallback only: links and scratch
        self._seen: set[int] = set()  # every pid kill() has killed (for reaping)
        if self.isolation.namespaces:
            self.paths = WorkerPaths(_interpreter(), (_INSIDE, _INSIDE_SITE), _INSIDE_SCRATCH)
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
        for host, inside in _site_entries():
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
        args = [self._machine.bwrap, *_NAMESPACE_FLAGS]
        for key, value in env.items():
            if not key or "=" in key:
                raise ValueError(f"not an environment variable name: {key!r}")
            args += ["--setenv", key, value]
        args += _system_view()
        args += ["--ro-bind", str(self.worker_package), f"{_INSIDE}/backprop_worker"]
        for host, inside in _site_entries():
            args += ["--ro-bind", host, f"{_INSIDE_SITE}/{inside}"]
        args += ["--dev", "/dev", "--remount-ro", "/dev", "--proc", "/proc",
                 "--size", str(self.limits.scratch_bytes), "--tmpfs", _INSIDE_SCRATCH,
                 "--chdir", _INSIDE_SCRATCH,
                 "--remount-ro", "/",  # the root holding /opt, /usr...: nothing new in it
                 "--", *argv]
        return args

    def start(self, argv: list[str], env: dict[str, str]) -> subprocess.Popen:
        """Start ``argv`` (as seen inside) with exactly the environment ``env``.

        stdin, stdout and stderr are binary unbuffered pipes. Only one start per sandbox.
        """
        if self._proc is not None:
            raise RuntimeError("a Sandbox starts one worker only: make a new one")
        if self._place is not None:
            try:
                self._cgroup = _Cgroup(self._place, self.limits)
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
        deadline = time.monotonic() + _KILL_SECONDS
        if self._cgroup is not None:
            self._cgroup.kill()
        marker = None if self.isolation.namespaces or self._cgroup else self._host_folder
        while True:
            # The first process's pid is ours until it is reaped; after that it may be reused.
            root = self._proc.pid if self._proc.returncode is None else None
            table = _process_table()
            roots = ({root} if root else set()) | (_marked(marker) if marker else set())
            targets = {p for p in _descendants(table, roots) if table[p][1] not in "ZX"}
            targets.discard(os.getpid())
            self._seen |= targets
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
        for pid in self._seen - {self._proc.pid}:
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

