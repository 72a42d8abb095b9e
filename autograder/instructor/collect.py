"""Import a folder or a .zip of student submissions into nbgrader's ``submitted/`` folder.

``collect(course_root, source)`` puts every notebook it recognises at
``<course_root>/submitted/<student>/<assignment>/<notebook>.ipynb`` and writes nbgrader's
``timestamp.txt`` beside it. Three layouts are read, inside the folder or the zip (a zip, or
a folder, may wrap everything in one top folder)::

    <student>/<assignment>/<notebook>.ipynb     nbgrader's own (its timestamp.txt is used, its
                                                submission_secret.txt kept for the feedback)
    <student>/<notebook>.ipynb                  one folder per student
    <student>_<notebook>.ipynb                  flat, as LMS exports give them ('_', '-', '__')

``__MACOSX/``, ``.ipynb_checkpoints/``, dot-files and ``*-checkpoint.ipynb`` are ignored.
Every other file either imports or gives one error line; a bad file never stops the batch.
A learner's work is never lost: a submission already there with other bytes is left alone
unless ``replace=True``, which first moves it to
``<course_root>/imports/replaced/<UTC time>/<student>/<assignment>/``.
"""

from __future__ import annotations

import difflib
import functools
import json
import os
import re
import shutil
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from autograder.course import CourseError, assignments
from autograder.files import write_atomic

#: nbgrader's default ``timestamp_format``, written in UTC ("2026-11-29 18:00:00.000000 UTC").
TIMESTAMP_FORMAT = "%Y-%m-%d %H:%M:%S.%f %Z"
#: Student ids nbgrader can use as a folder name and a gradebook key.
STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]*$")
#: Separators between student id and notebook name in flat LMS exports, longest first.
FLAT_SEPARATORS = ("__", "_", "-")
#: Folders that archivers and JupyterLab add; never submissions.
IGNORED_FOLDERS = {"__MACOSX", ".ipynb_checkpoints"}
TIMESTAMP_FILE = "timestamp.txt"
#: nbgrader's exchange writes it into each submission; ``release_feedback`` names the feedback
#: file after it, and only the student who submitted knows it.
SECRET_FILE = "submission_secret.txt"
LAYOUTS = (
    "<student>/<assignment>/<notebook>.ipynb, <student>/<notebook>.ipynb "
    "or <student>_<notebook>.ipynb"
)


class CollectError(CourseError):
    """The submissions cannot be read at all (no such path, not a zip, unknown assignment)."""


@dataclass
class CollectResult:
    """What :func:`collect` did; each list holds ``(student, assignment)`` pairs in order."""

    imported: list[tuple[str, str]] = field(default_factory=list)  # new submissions written
    unchanged: list[tuple[str, str]] = field(default_factory=list)  # same bytes already there
    replaced: list[tuple[str, str]] = field(default_factory=list)  # old version backed up first
    skipped: list[tuple[str, str]] = field(default_factory=list)  # not the assignment asked for
    errors: list[str] = field(default_factory=list)  # one sentence per bad file
    warnings: list[str] = field(default_factory=list)  # imported, but worth a look
    backup: Path | None = None  # where replaced submissions went (this run's folder)

    def lines(self) -> list[str]:
        """One human line per event, for the CLI: imports first, problems last."""
        out = [f"imported {s} {a}" for s, a in self.imported]
        for s, a in self.replaced:
            out.append(f"replaced {s} {a} (the old version is in {self.backup / s / a})")
        out += [f"unchanged {s} {a}" for s, a in self.unchanged]
        out += [f"skipped {s} {a} (not the assignment asked for)" for s, a in self.skipped]
        out += [f"WARNING {w}" for w in self.warnings]
        out += [f"ERROR {e}" for e in self.errors]
        return out

    def summary(self) -> str:
        """One closing line with the counts."""
        counts = [
            (len(self.imported), "imported"),
            (len(self.replaced), "replaced"),
            (len(self.unchanged), "unchanged"),
            (len(self.skipped), "skipped"),
            (len(self.warnings), "warning"),
            (len(self.errors), "error"),
        ]
        return ", ".join(
            f"{n} {word}{'s' if n != 1 and word in ('warning', 'error') else ''}"
            for n, word in counts
        )


@dataclass
class _Entry:
    """One file of the source: where it is, when it was last changed, how to read it."""

    path: str  # shown in messages: relative to the source, '/'-separated
    parts: tuple[str, ...]
    mtime: datetime  # aware, UTC
    read: Callable[[], bytes]


@dataclass
class _Course:
    """The assignments and which assignment each notebook file name belongs to."""

    assignments: list[str]
    notebooks: dict[str, list[str]]  # notebook file name -> assignments that have it


# ---------------------------------------------------------------------------------------
# Names: flat LMS file names, suggestions
# ---------------------------------------------------------------------------------------


def parse_flat_name(name: str, notebooks: list[str]) -> tuple[str, str] | None:
    """Split ``<student><sep><notebook>`` into ``(student, notebook)``; None if it is not one.

    The notebook part is the longest known notebook name that ends ``name`` and follows a
    separator (``__``, ``_`` or ``-``); what comes before that separator is the student id.
    """
    for notebook in sorted(notebooks, key=len, reverse=True):
        if not name.endswith(notebook):
            continue
        rest = name[: -len(notebook)]
        for sep in FLAT_SEPARATORS:
            if rest.endswith(sep) and len(rest) > len(sep):
                return rest[: -len(sep)], notebook
    return None


def _suggest(name: str, notebooks: list[str]) -> str:
    """Say "did you mean ...?" with the closest notebook names (or the list of all of them)."""
    # Compare stems (".ipynb" would make every name look alike): the whole stem and every
    # tail after a separator, so that a flat "alice_neuron.ipynb" is compared as "neuron".
    stem = name.removesuffix(".ipynb")
    tails = [stem] + [stem[i + 1 :] for i, c in enumerate(stem) if c in "_-"]
    scores = {
        nb: max(difflib.SequenceMatcher(None, t, nb.removesuffix(".ipynb")).ratio() for t in tails)
        for nb in notebooks
    }
    close = sorted((nb for nb in notebooks if scores[nb] >= 0.6), key=lambda nb: -scores[nb])
    if close:
        return f"did you mean {' or '.join(close[:3])}?"
    return f"the notebooks are {', '.join(notebooks)}"


def _unknown(name: str, course: _Course, *, flat: bool = False) -> str:
    message = f"no assignment has a notebook called {name!r}"
    if flat:
        message += " and it is not <student>_<notebook>.ipynb with a known notebook"
    return f"{message} ({_suggest(name, sorted(course.notebooks))})"


# ---------------------------------------------------------------------------------------
# Where a notebook goes
# ---------------------------------------------------------------------------------------


def _classify(parts: tuple[str, ...], course: _Course) -> tuple[str, str, str] | str:
    """``(student, assignment, notebook)`` for a notebook at ``parts``, or why it cannot go."""
    name = parts[-1]
    if len(parts) == 1:
        if name in course.notebooks:
            return (
                "no student id: put it in a folder named after the student "
                f"or name it <student>_{name}"
            )
        flat = parse_flat_name(name, list(course.notebooks))
        if flat is None:
            return _unknown(name, course, flat=True)
        student, notebook = flat
        owners = course.notebooks[notebook]
    elif len(parts) == 2:
        student, notebook = parts[0], name
        if notebook not in course.notebooks:
            return _unknown(name, course)
        owners = course.notebooks[notebook]
    elif len(parts) == 3:
        student, folder, notebook = parts
        if notebook not in course.notebooks:
            return _unknown(name, course)
        if folder not in course.assignments:
            return f"{folder!r} is not an assignment (expected {LAYOUTS})"
        if folder not in course.notebooks[notebook]:
            return (
                f"{notebook} belongs to assignment {' and '.join(course.notebooks[notebook])}, "
                f"not {folder}"
            )
        owners = [folder]
    else:
        return f"too deeply nested to tell the student (expected {LAYOUTS})"
    if len(owners) > 1:
        return (
            f"{notebook} belongs to assignments {' and '.join(owners)}: "
            "put it in <student>/<assignment>/ to say which"
        )
    if not STUDENT_ID.fullmatch(student):  # fullmatch: '$' alone lets a final '\n' through
        return (
            f"{student!r} cannot be a student id for nbgrader (it must start with a letter or "
            "digit and use only letters, digits and _ . @ -)"
        )
    return student, owners[0], notebook


def _root_depth(notebooks: list[_Entry], course: _Course) -> int:
    """How many shared top folders to strip: the fewest that place the most notebooks.

    Stripping nothing and stripping one wrapper folder can both be right: ``alice/x.ipynb``
    is one student's folder, ``export/alice_x.ipynb`` a wrapped flat export.
    """
    if not notebooks:
        return 0
    shared = 0
    first = notebooks[0].parts[:-1]
    while shared < len(first) and all(
        len(e.parts) > shared + 1 and e.parts[shared] == first[shared] for e in notebooks
    ):
        shared += 1
    placed = [
        sum(not isinstance(_classify(e.parts[k:], course), str) for e in notebooks)
        for k in range(shared + 1)
    ]
    return placed.index(max(placed))


# ---------------------------------------------------------------------------------------
# Reading the source: a folder or a zip
# ---------------------------------------------------------------------------------------


def _ignored(parts: tuple[str, ...]) -> bool:
    """Archiver and JupyterLab leftovers: dot-files, __MACOSX/, checkpoints."""
    if any(p in IGNORED_FOLDERS or p.startswith(".") for p in parts):
        return True
    return parts[-1].endswith("-checkpoint.ipynb")


def _folder_entries(source: Path) -> list[_Entry]:
    entries = []
    for dirpath, dirnames, filenames in os.walk(source):
        dirnames[:] = sorted(d for d in dirnames if d not in IGNORED_FOLDERS and d[0] != ".")
        for filename in sorted(filenames):
            path = Path(dirpath, filename)
            parts = path.relative_to(source).parts
            if _ignored(parts):
                continue
            try:
                mtime = datetime.fromtimestamp(path.stat().st_mtime, UTC)
            except OSError:  # a dangling link: reading it reports the error
                mtime = datetime.now(UTC)
            entries.append(_Entry("/".join(parts), parts, mtime, path.read_bytes))
    return sorted(entries, key=lambda e: e.parts)  # the same order as a zip's


def _zip_mtime(info: zipfile.ZipInfo, fallback: datetime) -> datetime:
    """The member's modification time in UTC.

    The extended-timestamp field (0x5455, written by Info-ZIP and macOS) holds it exactly;
    otherwise ``date_time`` is the zipping machine's local time, read here as local time
    (as ``unzip`` does).
    """
    extra, i = info.extra, 0
    while i + 4 <= len(extra):
        tag, size = struct.unpack_from("<HH", extra, i)
        if tag == 0x5455 and size >= 5 and i + 9 <= len(extra) and extra[i + 4] & 1:
            return datetime.fromtimestamp(struct.unpack_from("<i", extra, i + 5)[0], UTC)
        i += 4 + size
    try:
        return datetime(*info.date_time).astimezone(UTC)
    except ValueError:  # a zero or impossible DOS date
        return fallback


@contextmanager
def _entries(source: Path) -> Iterator[list[_Entry]]:
    """The files of ``source`` (sorted, ignored ones left out); a zip stays open meanwhile."""
    if not source.exists():
        raise CollectError(f"{source} does not exist.")
    if source.is_dir():
        yield _folder_entries(source)
        return
    if not zipfile.is_zipfile(source):
        raise CollectError(f"{source} is neither a folder nor a zip file.")
    try:
        archive = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError) as error:
        raise CollectError(f"{source} is a damaged zip file ({error}).") from error
    with archive:
        fallback = datetime.fromtimestamp(source.stat().st_mtime, UTC)
        entries = []
        for info in archive.infolist():
            # Zip names use '/', though some Windows tools write '\'.
            parts = tuple(p for p in info.filename.replace("\\", "/").split("/") if p)
            if info.is_dir() or not parts or _ignored(parts):
                continue
            read = functools.partial(archive.read, info)
            entries.append(_Entry("/".join(parts), parts, _zip_mtime(info, fallback), read))
        entries.sort(key=lambda e: e.parts)
        yield entries


def _read(entry: _Entry) -> bytes | str:
    """The entry's bytes, or why they cannot be read."""
    try:
        return entry.read()
    # RuntimeError: an encrypted member; NotImplementedError: an unknown compression.
    except (OSError, RuntimeError, zipfile.BadZipFile, zlib.error, NotImplementedError) as error:
        return f"cannot be read ({error})"


def _notebook_problem(data: bytes) -> str | None:
    """Why ``data`` is not notebook JSON, or None when it is."""
    try:
        nb = json.loads(data)
    except ValueError as error:  # JSONDecodeError and UnicodeDecodeError
        return f"not valid notebook JSON ({error})"
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        return "valid JSON but not a notebook (no list of cells)"
    return None


def _parse_timestamp(text: str) -> datetime | None:
    """Read an nbgrader ``timestamp.txt`` ("<date> <time> <zone>"); None if it cannot be read.

    The zone may be a name ("UTC", "Europe/Berlin") or an offset ("+0100").
    """
    import dateutil.parser
    import dateutil.tz

    parts = text.strip().split(" ")
    try:
        stamp = dateutil.parser.parse(" ".join(parts[:2]))
        if len(parts) == 3:
            zone = parts[2]
            if re.fullmatch(r"[+-]\d{4}", zone):  # nbgrader writes offsets as +HHMM
                sign = -1 if zone[0] == "-" else 1
                tz = dateutil.tz.tzoffset(None, sign * (int(zone[1:3]) * 3600 + int(zone[3:]) * 60))
            else:
                tz = dateutil.tz.gettz(zone)
            if tz is None:
                return None
            stamp = stamp.replace(tzinfo=tz)
        elif len(parts) != 2:
            return None
    except (ValueError, OverflowError):
        return None
    return stamp.astimezone(UTC) if stamp.tzinfo else stamp.replace(tzinfo=UTC)


# ---------------------------------------------------------------------------------------
# The import
# ---------------------------------------------------------------------------------------


def _course(course_root: Path) -> _Course:
    names = assignments(course_root)
    if not names:
        raise CollectError(f"{course_root / 'source'} has no assignments to import into.")
    notebooks: dict[str, list[str]] = {}
    for name in names:
        for nb in sorted((course_root / "source" / name).glob("*.ipynb")):
            notebooks.setdefault(nb.name, []).append(name)
    return _Course(names, notebooks)


def collect(
    course_root: Path,
    source: Path,
    *,
    assignment: str | None = None,
    replace: bool = False,
) -> CollectResult:
    """Import the student submissions in ``source`` into ``course_root/submitted``.

    Parameters
    ----------
    course_root : Path
        The nbgrader course root; its ``source/<assignment>/*.ipynb`` say which notebooks exist.
    source : Path
        A folder or a .zip file of submissions, in any of the layouts of the module docstring.
    assignment : str, optional
        Import only this assignment; the others are reported as skipped.
    replace : bool
        Replace a submission already there with other bytes, after moving it (and its
        ``timestamp.txt``) to ``course_root/imports/replaced/<UTC time>/``. Without it such a
        submission is left alone and reported as an error.

    Returns
    -------
    CollectResult
        Every submission imported, unchanged, replaced or skipped; one error per bad file and
        one warning per notebook imported although it is not valid notebook JSON.

    Raises
    ------
    CollectError
        ``source`` does not exist or is not a zip file, the course has no assignments, or
        ``assignment`` is not one of them.
    """
    course_root, source = Path(course_root), Path(source)
    course = _course(course_root)
    if assignment is not None and assignment not in course.assignments:
        hint = difflib.get_close_matches(assignment, course.assignments, n=1)
        also = f" (did you mean {hint[0]}?)" if hint else ""
        raise CollectError(f"The course has no assignment called {assignment!r}{also}.")
    result = CollectResult()
    with _entries(source) as entries:
        groups, stamps = _place(entries, course, assignment, result)
        now = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
        backup = course_root / "imports" / "replaced" / now
        for (student, name), files in groups.items():
            _import_group(course_root, student, name, files, stamps, replace, backup, result)
    if result.replaced:
        result.backup = backup
    return result


def _place(
    entries: list[_Entry], course: _Course, only: str | None, result: CollectResult
) -> tuple[dict[tuple[str, str], dict[str, _Entry]],
           dict[tuple[str, str], dict[str, _Entry]]]:
    """Group the notebooks by ``(student, assignment)``; report every file that cannot go.

    Also returns the ``timestamp.txt`` and ``submission_secret.txt`` files of nbgrader's own
    layout: ``(student, assignment) -> {file name: entry}``.
    """
    notebooks = [e for e in entries if e.parts[-1].endswith(".ipynb")]
    others = [e for e in entries if not e.parts[-1].endswith(".ipynb")]
    depth = _root_depth(notebooks, course)
    prefix = notebooks[0].parts[:depth] if notebooks else ()
    stamps: dict[tuple[str, str], dict[str, _Entry]] = {}
    for entry in others:
        parts = entry.parts[depth:] if entry.parts[:depth] == prefix else entry.parts
        if (parts[-1] in (TIMESTAMP_FILE, SECRET_FILE) and len(parts) == 3
                and parts[1] in course.assignments):  # nbgrader's own layout
            stamps.setdefault((parts[0], parts[1]), {})[parts[-1]] = entry
        else:
            result.errors.append(f"{entry.path}: not a notebook (only .ipynb files are imported)")

    found: dict[tuple[str, str, str], list[_Entry]] = {}
    for entry in notebooks:
        place = _classify(entry.parts[depth:], course)
        if isinstance(place, str):
            result.errors.append(f"{entry.path}: {place}")
        elif only is not None and place[1] != only:
            if place[:2] not in result.skipped:
                result.skipped.append(place[:2])
        else:
            found.setdefault(place, []).append(entry)

    groups: dict[tuple[str, str], dict[str, _Entry]] = {}
    order = {name: i for i, name in enumerate(course.assignments)}
    for (student, name, notebook), files in sorted(
        found.items(), key=lambda item: (item[0][0], order[item[0][1]], item[0][2])
    ):
        if len(files) > 1:  # two versions of one notebook: the instructor must choose
            paths = ", ".join(e.path for e in files)
            for e in files:
                result.errors.append(
                    f"{e.path}: {student} has {len(files)} files for {notebook} in this "
                    f"import ({paths}); none of them was imported"
                )
            continue
        if student in course.assignments:
            result.warnings.append(
                f"{files[0].path}: the student id {student!r} is the name of an assignment; "
                f"check the folder layout (expected {LAYOUTS})"
            )
        groups.setdefault((student, name), {})[notebook] = files[0]
    return groups, stamps


def _import_group(
    course_root: Path,
    student: str,
    name: str,
    files: dict[str, _Entry],
    stamps: dict[tuple[str, str], dict[str, _Entry]],
    replace: bool,
    backup: Path,
    result: CollectResult,
) -> None:
    """Write one student's notebooks of one assignment, never losing what is there.

    A new ``submission_secret.txt`` alone makes the submission new: the student's
    ``fetch_feedback`` looks for the feedback under the secret of their latest submit.
    """
    target = course_root / "submitted" / student / name
    secret = stamps.get((student, name), {}).get(SECRET_FILE)
    if secret is not None:
        files = {**files, SECRET_FILE: secret}
    new: dict[str, bytes] = {}
    for notebook, entry in files.items():
        data = _read(entry)
        if isinstance(data, str):
            result.errors.append(f"{entry.path}: {data}")
            return
        new[notebook] = data
    conflicts, same = [], []
    for notebook, data in new.items():
        dest = target / notebook
        try:
            if dest.exists():
                (same if dest.read_bytes() == data else conflicts).append(notebook)
        except OSError as error:  # a folder with the notebook's name, no permission, ...
            result.errors.append(f"{files[notebook].path}: cannot compare with {dest} ({error})")
            return
    if len(same) == len(new):
        result.unchanged.append((student, name))
        return
    if conflicts and not replace:
        for notebook in conflicts:
            result.errors.append(
                f"{files[notebook].path}: {target.relative_to(course_root) / notebook} already "
                "exists with other content and was left as it is (pass --replace to keep a "
                "backup of it and import this one)"
            )
        return

    stamp = _timestamp(student, name, files, stamps, result)
    keep = backup / student / name
    try:
        if conflicts:  # keep the old version first: a learner's work is never lost
            keep.mkdir(parents=True, exist_ok=True)
            for old in [*conflicts, TIMESTAMP_FILE]:
                if (target / old).exists():
                    shutil.move(target / old, keep / old)
        target.mkdir(parents=True, exist_ok=True)
        for notebook, data in new.items():
            if notebook not in same:
                write_atomic(target / notebook, data)
        write_atomic(target / TIMESTAMP_FILE, stamp.encode())
    except OSError as error:
        where = f"; the old version is in {keep}" if conflicts and keep.exists() else ""
        result.errors.append(f"{student}/{name}: could not write the submission ({error}){where}")
        return
    (result.replaced if conflicts else result.imported).append((student, name))
    for notebook, data in new.items():  # imported as is: the grader reports it unreadable
        problem = None if notebook == SECRET_FILE else _notebook_problem(data)
        if problem:
            result.warnings.append(
                f"{files[notebook].path}: {problem}; imported anyway, the grader will report "
                "it as unreadable"
            )


def _timestamp(
    student: str,
    name: str,
    files: dict[str, _Entry],
    stamps: dict[tuple[str, str], dict[str, _Entry]],
    result: CollectResult,
) -> str:
    """nbgrader's timestamp.txt text: the one that came with the submission, else the newest
    modification time of its notebooks."""
    latest = max(e.mtime for e in files.values())
    entry = stamps.get((student, name), {}).get(TIMESTAMP_FILE)
    if entry is not None:
        data = _read(entry)
        given = None if isinstance(data, str) else _parse_timestamp(data.decode("utf-8", "replace"))
        if given is None:
            result.warnings.append(
                f"{entry.path}: not a time nbgrader can read; used the notebook's "
                "modification time instead"
            )
        else:
            latest = given
    return latest.astimezone(UTC).strftime(TIMESTAMP_FORMAT)
