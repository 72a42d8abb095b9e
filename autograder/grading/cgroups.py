"""Cgroups for the grading sandbox: where this machine lets us make them, and one per sandbox.

A sandbox's first process is put into the sandbox's own cgroup before it runs anything, so
every process the learner starts is in it, counted (memory, tasks) and killed with it. Either
cgroup v2 (one folder, with the memory and pids controllers) or v1 (a folder per controller:
memory and pids, and freezer when there is one).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

__all__ = ["KILL_SECONDS", "Cgroup", "CgroupPlace", "find_place"]

KILL_SECONDS = 10.0  # killing gives up (and raises) if a process is still there after this


@dataclass(frozen=True)
class CgroupPlace:
    """Where this process may make sandbox cgroups: the parent folder of each controller."""

    version: int  # 1 or 2
    parents: dict[str, Path]  # v1: controller -> folder; v2: {"": folder}

    def describe(self) -> str:
        """``"cgroup v2"`` or ``"cgroup v1 (memory, pids, freezer)"``."""
        if self.version == 2:
            return "cgroup v2"
        return f"cgroup v1 ({', '.join(self.parents)})"


def find_place() -> CgroupPlace | None:
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
        return CgroupPlace(2, {"": folders[""]})
    usable = {c: folders[c] for c in ("memory", "pids", "freezer")
              if c in folders and _v1_usable(folders[c], c)}
    if "memory" in usable and "pids" in usable:
        return CgroupPlace(1, usable)
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


class Cgroup:
    """One sandbox's cgroup: a folder per controller (v1) or one folder (v2).

    Parameters
    ----------
    place : where to make it (:func:`find_place`)
    memory_bytes : the memory of all its processes together (no swap either)
    processes : how many tasks it may hold at once (threads too)
    """

    def __init__(self, place: CgroupPlace, *, memory_bytes: int, processes: int) -> None:
        self.version = place.version
        name = f"backprop-sandbox-{os.getpid()}-{secrets.token_hex(6)}"
        self.folders: dict[str, Path] = {}
        try:
            for controller, parent in place.parents.items():
                (parent / name).mkdir()
                self.folders[controller] = parent / name
            if self.version == 2:
                self._write("", "memory.max", memory_bytes)
                self._write("", "memory.swap.max", 0, optional=True)
                self._write("", "pids.max", processes)
            else:
                self._write("memory", "memory.limit_in_bytes", memory_bytes)
                self._write("memory", "memory.memsw.limit_in_bytes", memory_bytes,
                            optional=True)  # no swap either (present with swap accounting)
                self._write("pids", "pids.max", processes)
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
        deadline = time.monotonic() + KILL_SECONDS
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
        deadline = time.monotonic() + KILL_SECONDS
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
