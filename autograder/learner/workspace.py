"""The learner's workspace: student notebooks delivered and updated without ever losing work.

``deliver(workspace)`` puts the student version of every course notebook into ``workspace``
and, on later runs, brings it up to date:

- a notebook that is missing is delivered (again, if the learner deleted it);
- a notebook the learner has not changed is replaced in place by the newer version;
- a notebook the learner has changed, or that can no longer be read, is left exactly as it
  is, and the newer version is written beside it as ``<stem>.new-<release>.ipynb``.

"Changed" is decided against a manifest of what was delivered,
``<workspace>/.backprop-course/manifest.json``::

    {"format": 1, "course": "backprop-course", "version": "0.1.0",
     "release": "<sha256 of the sources the release was built from>",
     "notebooks": {"01_neuron.ipynb": {"sha256": "<bytes as delivered>",
                                       "cells": "<cell types + sources + attachments>",
                                       "beside": null}}}

A notebook counts as unchanged when its cells (type, source, attachments) are those that
were delivered: running it (outputs, execution counts) is not a change, editing any cell is.
``beside`` records the newer version written next to a changed notebook
(``{"name": ..., "sha256": ...}``). Every file is written to ``<name>.partial`` and then
renamed, so an interrupted update leaves either the old file or the new one, never half of
one; the next run removes leftover ``.partial`` files and repairs a manifest that is missing,
damaged or out of date. The student release is built by nbgrader in a temporary copy of the
course (the sources with their solutions never reach the workspace) and cached in
``.backprop-course/release.json``, keyed by a hash of the sources: a run with nothing to do
reads a few hashes and builds nothing.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

from autograder.course import COURSE_ROOT, assignments, generate_release
from autograder.files import PARTIAL, write_atomic

#: The workspace's own folder (hidden in JupyterLab's file browser).
STATE_DIR = ".backprop-course"
MANIFEST = "manifest.json"
RELEASE_CACHE = "release.json"
MANIFEST_FORMAT = 1


@dataclass(frozen=True)
class Release:
    """The student version of every course notebook, built from the sources hashed in ``key``."""

    key: str
    notebooks: dict[str, bytes]  # file name -> student notebook, in course order


@dataclass
class Delivery:
    """What :func:`deliver` did, and what the learner should be told."""

    added: list[Path] = field(default_factory=list)  # new, or delivered again after deletion
    updated: list[Path] = field(default_factory=list)  # unchanged by the learner, replaced
    kept: list[Path] = field(default_factory=list)  # left exactly as they are
    beside: list[Path] = field(default_factory=list)  # newer versions written next to kept ones
    messages: list[str] = field(default_factory=list)  # one sentence per event, in order


# ---------------------------------------------------------------------------------------
# The course side: which notebooks, which release
# ---------------------------------------------------------------------------------------


def course_notebooks(course_root: Path = COURSE_ROOT) -> dict[str, str]:
    """Notebook file name -> assignment name, in course order."""
    source = Path(course_root) / "source"
    return {
        notebook.name: name
        for name in assignments(course_root)
        for notebook in sorted((source / name).glob("*.ipynb"))
    }


def release_key(course_root: Path = COURSE_ROOT) -> str:
    """A hash of everything the student release is made from: the source notebooks, the
    nbgrader config and nbgrader's version."""
    course_root = Path(course_root)
    digest = hashlib.sha256(f"nbgrader {_version('nbgrader')}\n".encode())
    config = course_root / "nbgrader_config.py"
    if config.is_file():
        digest.update(config.read_bytes())
    for name, assignment in course_notebooks(course_root).items():
        path = course_root / "source" / assignment / name
        digest.update(f"\n{assignment}/{name}\n".encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def build_release(course_root: Path = COURSE_ROOT) -> Release:
    """Build the student release with nbgrader in a temporary copy of the course."""
    key = release_key(course_root)
    notebooks: dict[str, bytes] = {}
    if not course_notebooks(course_root):
        return Release(key, notebooks)
    with tempfile.TemporaryDirectory(prefix="backprop-release-") as tmp:
        build = Path(tmp)
        shutil.copytree(Path(course_root) / "source", build / "source")
        shutil.copy2(Path(course_root) / "nbgrader_config.py", build)
        for folder in generate_release(build, gradebook=False):  # nobody grades it
            for notebook in sorted(folder.glob("*.ipynb")):
                notebooks[notebook.name] = notebook.read_bytes()
    return Release(key, notebooks)


# ---------------------------------------------------------------------------------------
# Hashes and safe writes
# ---------------------------------------------------------------------------------------


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def cells_digest(data: bytes) -> str | None:
    """A hash of what a learner writes in a notebook: each cell's type, source and attachments.

    Outputs, execution counts and metadata are left out, so running a notebook does not
    change it. None when ``data`` is not a readable notebook.
    """
    try:
        notebook = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None
    cells = notebook.get("cells") if isinstance(notebook, dict) else None
    if not isinstance(cells, list):
        return None
    content = []
    for cell in cells:
        if not isinstance(cell, dict) or not isinstance(cell.get("cell_type"), str):
            return None
        source = cell.get("source", "")
        if isinstance(source, list) and all(isinstance(line, str) for line in source):
            source = "".join(source)
        if not isinstance(source, str):
            return None
        content.append([cell["cell_type"], source, cell.get("attachments") or {}])
    return sha256(json.dumps(content, sort_keys=True).encode())


def _with_cell_metadata(learner: bytes, release: bytes) -> bytes:
    """The learner's notebook with each cell's metadata (tags, nbgrader's) taken from the
    release, whose cells are the same ones (``cells_digest``): outputs and counts stay."""
    ours, theirs = json.loads(learner), json.loads(release)
    for cell, new in zip(ours["cells"], theirs["cells"], strict=True):
        cell["metadata"] = new.get("metadata", {})
    return (json.dumps(ours, indent=1, sort_keys=True, ensure_ascii=False) + "\n").encode()


def _read(path: Path) -> bytes | None:
    """The file's bytes; None when it does not exist; b"" when it exists but cannot be read."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError:  # a folder with a notebook's name, no permission, ...
        return b""


def _version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "unknown"


@contextmanager
def _locked(state: Path) -> Iterator[None]:
    """One delivery at a time per workspace (two `lab` started at once wait for each other)."""
    try:
        import fcntl
    except ImportError:  # Windows: no advisory locks; the atomic writes still hold
        yield
        return
    with open(state / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


# ---------------------------------------------------------------------------------------
# The manifest
# ---------------------------------------------------------------------------------------


def read_manifest(workspace: Path) -> dict | None:
    """The workspace's manifest, or None when it is missing or damaged."""
    try:
        manifest = json.loads((Path(workspace) / STATE_DIR / MANIFEST).read_text("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    if (
        not isinstance(manifest, dict)
        or manifest.get("format") != MANIFEST_FORMAT
        or not isinstance(manifest.get("release"), str)
        or not isinstance(manifest.get("notebooks"), dict)
    ):
        return None
    return manifest


def workspace_notebooks(workspace: Path, course_root: Path = COURSE_ROOT) -> list[Path]:
    """The course notebooks present in ``workspace``, in course order (no `.new-` copies)."""
    names = list(course_notebooks(course_root))
    manifest = read_manifest(workspace)
    if manifest:
        names += sorted(set(manifest["notebooks"]) - set(names))
    return [Path(workspace) / name for name in names if (Path(workspace) / name).is_file()]


# ---------------------------------------------------------------------------------------
# Delivery
# ---------------------------------------------------------------------------------------


def deliver(
    workspace: Path, course_root: Path = COURSE_ROOT, *, release: Release | None = None
) -> Delivery:
    """Deliver the student notebooks into ``workspace``, or bring them up to date.

    Never overwrites a notebook the learner has changed (see the module docstring).
    ``release`` is the release to deliver; by default it is built from ``course_root`` (or
    read from the workspace's cache when the sources have not changed).
    """
    workspace = Path(workspace)
    state = workspace / STATE_DIR
    state.mkdir(parents=True, exist_ok=True)
    with _locked(state):
        return _Update(workspace, Path(course_root), release).run()


class _Update:
    """One run of :func:`deliver`: the old manifest in, the files and the new manifest out."""

    def __init__(self, workspace: Path, course_root: Path, release: Release | None) -> None:
        self.workspace = workspace
        self.state = workspace / STATE_DIR
        self.course_root = course_root
        self._release = release
        if release is not None:
            self.names, self.key = list(release.notebooks), release.key
        else:
            self.names, self.key = list(course_notebooks(course_root)), release_key(course_root)
        self.delivery = Delivery()
        self.say = self.delivery.messages.append

    # -- the release, built or read from the cache only when something needs it ----------

    def release(self) -> Release:
        if self._release is None:
            self._release = self._cached_release() or self._build_and_cache()
        return self._release

    def _cached_release(self) -> Release | None:
        try:
            cache = json.loads((self.state / RELEASE_CACHE).read_text("utf-8"))
            if cache["key"] == self.key:
                notebooks = {n: text.encode("utf-8") for n, text in cache["notebooks"].items()}
                return Release(self.key, notebooks)
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            pass
        return None

    def _build_and_cache(self) -> Release:
        release = build_release(self.course_root)
        notebooks = {n: data.decode("utf-8") for n, data in release.notebooks.items()}
        cache = {"key": release.key, "notebooks": notebooks}
        write_atomic(self.state / RELEASE_CACHE, json.dumps(cache).encode("utf-8"))
        return release

    # -- the run ---------------------------------------------------------------------------

    def run(self) -> Delivery:
        self._remove_leftovers()
        manifest = read_manifest(self.workspace)
        if manifest is None and (self.state / MANIFEST).exists():
            self.say(
                f"The record of delivered notebooks ({STATE_DIR}/{MANIFEST}) was damaged and has "
                "been rebuilt. Notebooks that differ from the course version are kept as they are."
            )
        old = manifest["notebooks"] if manifest else {}
        self.current = manifest is not None and manifest["release"] == self.key
        entries = {}
        for name in self.names:
            entry = old.get(name)
            entries[name] = self._notebook(name, entry if isinstance(entry, dict) else None)
        new_manifest = {
            "format": MANIFEST_FORMAT,
            "course": "backprop-course",
            "version": _version("backprop-course"),
            "release": self.key,
            "notebooks": entries,
        }
        if new_manifest != manifest:
            text = json.dumps(new_manifest, indent=1, sort_keys=True) + "\n"
            write_atomic(self.state / MANIFEST, text.encode("utf-8"))
        return self.delivery

    def _remove_leftovers(self) -> None:
        """Remove the ``.partial`` files of an interrupted run (never a learner's file)."""
        stems = tuple(Path(name).stem for name in self.names)
        ours = [
            path
            for path in self.workspace.glob(f"*.ipynb{PARTIAL}")
            if path.name.startswith(stems)
        ]
        ours += [self.state / (name + PARTIAL) for name in (MANIFEST, RELEASE_CACHE)]
        for path in ours:
            if path.is_file():
                path.unlink()
                self.say(f"Removed {path.name}, left over from an interrupted update.")

    def _notebook(self, name: str, entry: dict | None) -> dict:
        """Bring one notebook up to date; return its new manifest entry."""
        target = self.workspace / name
        data = _read(target)
        if data is None:
            return self._deliver_missing(target, entry)
        digest = cells_digest(data)
        if self.current and entry is not None:
            beside = _beside_record(entry)
            if digest is not None:
                self.delivery.kept.append(target)
                return entry
            if beside and (self.workspace / str(beside.get("name"))).is_file():
                self.delivery.kept.append(target)
                self.say(
                    f"{name} still cannot be read as a notebook; a fresh copy is beside it: "
                    f"{beside['name']}."
                )
                return entry
        new = self.release().notebooks[name]
        new_sha, new_cells = sha256(new), cells_digest(new)
        delivered = {"sha256": new_sha, "cells": new_cells, "beside": None}
        if digest is not None and digest == new_cells:  # already this version (perhaps run)
            if entry is not None and entry.get("sha256") not in (new_sha, None) \
                    and entry.get("cells") == digest:  # only the cells' settings changed
                write_atomic(target, _with_cell_metadata(data, new))
                self.delivery.updated.append(target)
                self.say(f"Updated the cell settings of {name} (your outputs are kept).")
                return delivered
            self.delivery.kept.append(target)
            if entry is not None and entry.get("cells") not in (digest, None):
                self.say(
                    f"{name} already is the current version; the record said otherwise (an "
                    "earlier update was interrupted) and has been corrected."
                )
            return delivered
        if entry is not None and digest is not None and digest == entry.get("cells"):
            write_atomic(target, new)  # the learner never changed it
            self.delivery.updated.append(target)
            self.say(f"Updated {name} to the new version (you had not changed it).")
            return delivered
        if digest is not None and entry is not None and entry.get("sha256") == new_sha:
            self.delivery.kept.append(target)  # the learner's work; no newer version exists
            return entry
        return self._keep_and_put_beside(target, digest, entry, new)

    def _deliver_missing(self, target: Path, entry: dict | None) -> dict:
        new = self.release().notebooks[target.name]
        write_atomic(target, new)
        self.delivery.added.append(target)
        if entry is not None:
            self.say(f"{target.name} was missing (deleted?): delivered a fresh copy.")
        else:
            self.say(f"Added {target.name}.")
        return {"sha256": sha256(new), "cells": cells_digest(new), "beside": None}

    def _keep_and_put_beside(
        self, target: Path, digest: str | None, entry: dict | None, new: bytes
    ) -> dict:
        """The learner's notebook stays as it is; the course version goes next to it."""
        new_sha = sha256(new)
        beside = target.with_name(f"{target.stem}.new-{new_sha[:8]}.ipynb")
        recorded = _beside_record(entry)
        if _read(beside) is None:
            write_atomic(beside, new)
            announce = True
        else:  # already there (the learner may have run it, or started working in it)
            announce = recorded.get("name") != beside.name
        self._remove_stale_beside(recorded, beside)
        self.delivery.kept.append(target)
        self.delivery.beside.append(beside)
        if digest is None:
            self.say(
                f"{target.name} could not be read as a notebook (it may be damaged). It was kept "
                f"untouched; a fresh copy of the course version is beside it: {beside.name}."
            )
        elif announce:
            reason = "you changed it" if entry is not None else "it differs from the course version"
            self.say(
                f"Kept your {target.name} as it is ({reason}); the new version is beside it: "
                f"{beside.name}. Copy your answers across, or keep working in yours."
            )
        kept = entry if entry is not None else {"sha256": None, "cells": None}
        return kept | {"beside": {"name": beside.name, "sha256": new_sha}}

    def _remove_stale_beside(self, recorded: dict, beside: Path) -> None:
        """An older `.new-` copy the learner never touched is replaced by the newer one."""
        name = recorded.get("name")
        if not isinstance(name, str) or name == beside.name or not _BESIDE.match(name):
            return
        stale = self.workspace / name
        data = _read(stale)
        if data is not None and sha256(data) == recorded.get("sha256"):
            stale.unlink()
            self.say(f"Removed {name} (an older course version that you had not changed).")


def _beside_record(entry: dict | None) -> dict:
    """The manifest's record of the copy beside a kept notebook ({} when there is none)."""
    beside = (entry or {}).get("beside")
    return beside if isinstance(beside, dict) else {}


_BESIDE = re.compile(r"^[^/\\]+\.new-[0-9a-f]{8}\.ipynb$")
