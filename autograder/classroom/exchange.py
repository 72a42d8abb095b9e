"""The instructor's side of nbgrader's exchange: release, collect, return the feedback.

On a shared server (a JupyterHub, README "Teaching on a JupyterHub") students fetch and
submit through nbgrader's exchange, a folder every student's server can reach::

    EXCHANGE/                          1777: anyone may add a course, only its owner rename it
    EXCHANGE/COURSE_ID/outbound/A/     the released assignment A (students read it)
    EXCHANGE/COURSE_ID/inbound/        2733: students write submissions, nobody but the
                                       instructor lists them
    EXCHANGE/COURSE_ID/feedback/       711: the feedback, named by a hash of the submission's
                                       secret, so each student finds only their own

:func:`release` and :func:`release_feedback` call nbgrader's exchange apps through its API.
:func:`collect_from_exchange` does not use nbgrader's ``collect``: that one takes the student
id from the submission's folder name, which the student chose, and only warns when the folder
belongs to somebody else; it also takes the submission time from a file the student wrote,
and deletes the submission it replaces. Here a submission is taken only when its folder and
every file copied belong to the student it names (Unix file ownership is what a student cannot
forge on a hub whose servers run as the students' own users), only regular files the
assignment knows are copied (never through a link), the time is the files' own when the one
claimed is far from it, and the import goes through :func:`autograder.instructor.collect.collect`,
which keeps every replaced submission.
"""

from __future__ import annotations

import contextlib
import errno
import os
import pwd
import stat
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from autograder.course import (
    CourseError,
    assignments,
    course_config,
    generate_release,
    nbgrader_api,
)
from autograder.files import write_atomic
from autograder.instructor.collect import (
    SECRET_FILE,
    STUDENT_ID,
    TIMESTAMP_FILE,
    TIMESTAMP_FORMAT,
    CollectResult,
    collect,
)

#: nbgrader's default exchange root, where a hub's students and instructor meet.
DEFAULT_ROOT = "/srv/nbgrader/exchange"
#: A notebook larger than this is refused (a full disk or a slow collect is one student's
#: doing, not the class's problem).
MAX_NOTEBOOK_BYTES = 64 * 1024 * 1024
#: A submission whose claimed time is this far from its files' change time is dated by its
#: files (a student can write any time into the name and timestamp.txt, not into a ctime).
CLOCK_SLACK = timedelta(minutes=2)
#: The exchange root's mode: everyone may create a course folder in it, nobody may rename or
#: remove another's (the sticky bit; without it a student could put a course of their own in
#: its place and read what the others submit).
ROOT_MODE = 0o1777


class ExchangeError(CourseError):
    """The exchange cannot be used as it is; the message says what to change."""


@dataclass(frozen=True)
class Exchange:
    """Where the course meets its students: ``root`` and the course's folder in it."""

    root: Path
    course_id: str

    @property
    def course(self) -> Path:
        return self.root / self.course_id

    @property
    def inbound(self) -> Path:
        return self.course / "inbound"

    @property
    def feedback(self) -> Path:
        return self.course / "feedback"


def exchange_of(course_root: Path) -> Exchange:
    """The exchange of the course's ``nbgrader_config.py`` (``c.Exchange.root``, default
    nbgrader's :data:`DEFAULT_ROOT`, and ``c.CourseDirectory.course_id``)."""
    config = course_config(course_root)
    root = config.Exchange.root if "root" in config.Exchange else DEFAULT_ROOT
    course_id = config.CourseDirectory.course_id if "course_id" in config.CourseDirectory else ""
    if not course_id:
        raise ExchangeError(f"{Path(course_root) / 'nbgrader_config.py'} sets no "
                            "c.CourseDirectory.course_id: the exchange needs one.")
    return Exchange(Path(root), str(course_id))


def layout_problems(course_root: Path, exchange: Exchange) -> list[str]:
    """What lets a student read what they must not, or stops them from submitting: one
    sentence each (empty when the folders are as the README's recipe says)."""
    problems = []
    course_mode = os.stat(course_root).st_mode
    if course_mode & 0o077:  # students may share its group
        problems.append(
            f"the course folder {course_root} is open to other users (mode "
            f"{stat.S_IMODE(course_mode):o}): students could read the source with its "
            f"solutions and each other's submissions; chmod 700 {course_root}")
    try:
        root_mode = os.stat(exchange.root).st_mode
    except FileNotFoundError:
        return problems  # made at the first release
    if stat.S_IMODE(root_mode) != ROOT_MODE:
        problems.append(
            f"the exchange root {exchange.root} has mode {stat.S_IMODE(root_mode):o}: it needs "
            f"{ROOT_MODE:o} (everyone may add a course, nobody may replace another's); "
            f"chmod {ROOT_MODE:o} {exchange.root}")
    return problems


def release(course_root: Path, names: Iterable[str] | None = None, *, force: bool = False,
            db_url: str | None = None) -> list[str]:
    """Generate the student version of each assignment and put it in the exchange, where the
    students' Assignment List offers it; one line per assignment.

    ``force``: replace an assignment already released (students who fetched it keep theirs).
    Raises :class:`ExchangeError` when nbgrader cannot release one, or the folders would let
    a student read what they must not.
    """
    from traitlets.config import Config

    course_root = Path(course_root).resolve()
    exchange = exchange_of(course_root)
    if problems := layout_problems(course_root, exchange):
        raise ExchangeError("Not released: " + "; ".join(problems) + ".")
    with contextlib.suppress(FileNotFoundError):
        if (owner := os.lstat(exchange.course).st_uid) != os.geteuid():
            raise ExchangeError(
                f"Not released: {exchange.course} belongs to {_owner(owner)}, not to this user "
                f"({_owner(os.geteuid())}): somebody made the course's folder in the exchange "
                "before its first release, and could read what students submit there. Remove "
                "it (as root) and release again.")
    names = list(names or assignments(course_root))
    generate_release(course_root, names, db_url=db_url)
    api = nbgrader_api(course_root, Config({"ExchangeReleaseAssignment": {"force": force}}),
                       db_url=db_url)
    lines = []
    for name in names:
        outcome = api.release_assignment(name)
        if not outcome["success"]:
            log = "\n".join(filter(None, (outcome.get("log"), outcome.get("error"))))
            if "already exists" in log:
                raise ExchangeError(
                    f"{name} is already in the exchange ({exchange.course / 'outbound' / name}); "
                    "students may have fetched it. Pass --force to replace it.")
            raise ExchangeError(f"nbgrader could not release {name} to the exchange:\n{log}")
        lines.append(f"released {name} to {exchange.course / 'outbound' / name}")
    if stat.S_IMODE(os.stat(exchange.root).st_mode) != ROOT_MODE:
        os.chmod(exchange.root, ROOT_MODE)  # nbgrader made it 777: add the sticky bit
    return lines


# ---------------------------------------------------------------------------------------
# Collect
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Inbound:
    """One submission folder in ``inbound``: ``STUDENT+ASSIGNMENT+TIMESTAMP+RANDOM``."""

    path: Path
    student: str
    assignment: str
    claimed: datetime


def _owner(uid: int) -> str:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return f"uid {uid}"


def _parse_name(name: str) -> tuple[str, str, datetime] | None:
    from nbgrader.utils import parse_utc

    parts = name.rsplit("+", 3)  # nbgrader's own split: a student id may hold '+'
    if len(parts) == 4:
        student, assignment, timestamp, _ = parts
    elif len(parts) == 3:
        student, assignment, timestamp = parts
    else:
        return None
    try:
        claimed = parse_utc(timestamp)
    except (ValueError, OverflowError):
        return None
    if not STUDENT_ID.match(student):  # a folder name and a gradebook key ("..": neither)
        return None
    return student, assignment, claimed.replace(tzinfo=UTC) if claimed.tzinfo is None else claimed


def _check_inbound(exchange: Exchange) -> None:
    """The inbound folder is the instructor's own: not a link, not somebody else's."""
    try:
        info = os.lstat(exchange.inbound)
    except FileNotFoundError:
        raise ExchangeError(
            f"nothing was released to the exchange at {exchange.course} (no inbound folder): "
            "release an assignment with `backprop-course release --exchange` first.") from None
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid():
        raise ExchangeError(
            f"{exchange.inbound} is not a folder of this user ({_owner(os.geteuid())}), so "
            f"it is not the inbound folder nbgrader made; it belongs to {_owner(info.st_uid)}. "
            "Nothing was collected.")


def _submissions(exchange: Exchange, names: set[str], students: set[str] | None,
                 trust_names: bool, result: CollectResult) -> dict[tuple[str, str], _Inbound]:
    """The newest acceptable submission of each (student, assignment); each refused folder
    is an error line."""
    newest: dict[tuple[str, str], _Inbound] = {}
    with os.scandir(exchange.inbound) as entries:
        for entry in sorted(entries, key=lambda e: e.name):
            parsed = _parse_name(entry.name)
            where = f"inbound/{entry.name}"
            if parsed is None:
                result.errors.append(f"{where}: not an nbgrader submission name; refused")
                continue
            student, assignment, claimed = parsed
            if assignment not in names or (students and student not in students):
                continue
            info = entry.stat(follow_symlinks=False)
            if not stat.S_ISDIR(info.st_mode):
                result.errors.append(f"{where}: not a folder; refused")
                continue
            owner = _owner(info.st_uid)
            if not trust_names and owner != student:
                result.errors.append(
                    f"{where}: claims to be {student}'s submission but belongs to {owner}; "
                    "refused (only the student's own user can submit in their name)")
                continue
            found = _Inbound(Path(entry.path), student, assignment, claimed)
            key = (student, assignment)
            if key not in newest or found.claimed > newest[key].claimed:
                newest[key] = found
    return newest


def _read_file(name: str, folder_fd: int, student: str,
               trust_names: bool) -> tuple[bytes, float] | str:
    """The bytes and change time of the regular file ``name`` of the open folder, owned by the
    student, never through a link; or why it is refused."""
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK, dir_fd=folder_fd)
    except OSError as error:
        return f"cannot be read ({error.strerror})"
    with os.fdopen(fd, "rb") as file:
        info = os.fstat(file.fileno())
        if not stat.S_ISREG(info.st_mode):
            return "not a regular file"
        if not trust_names and _owner(info.st_uid) != student:
            return f"belongs to {_owner(info.st_uid)}, not {student}"
        if info.st_size > MAX_NOTEBOOK_BYTES:
            return f"{info.st_size:,} bytes, more than the limit of {MAX_NOTEBOOK_BYTES:,}"
        return file.read(MAX_NOTEBOOK_BYTES + 1), info.st_ctime


def _read_folder(folder_fd: int, where: str, notebooks: set[str], found: _Inbound,
                 trust_names: bool, result: CollectResult) -> tuple[dict[str, bytes], float]:
    """The files to take from the open submission folder, and their latest change time."""
    wanted = notebooks | {TIMESTAMP_FILE, SECRET_FILE}
    copied: dict[str, bytes] = {}
    written = 0.0
    for name in sorted(os.listdir(folder_fd)):
        if name not in wanted:
            if not name.startswith("."):
                result.warnings.append(f"{where}/{name}: not a notebook of "
                                       f"{found.assignment}; left in the exchange")
            continue
        read = _read_file(name, folder_fd, found.student, trust_names)
        if isinstance(read, str):
            result.errors.append(f"{where}/{name}: {read}; refused")
            continue
        copied[name], changed = read
        written = max(written, changed)
    return copied, written


def _stage(found: _Inbound, notebooks: set[str], stage: Path, trust_names: bool,
           result: CollectResult) -> None:
    """Copy the submission's notebooks and nbgrader files into ``stage/STUDENT/ASSIGNMENT``,
    with a ``timestamp.txt`` near when the files were written."""
    where = f"inbound/{found.path.name}"
    try:  # the folder checked before, held open: swapping it for a link now changes nothing
        folder_fd = os.open(found.path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except OSError as error:
        why = ("is no longer a folder (a link was put in its place)"
               if error.errno in (errno.ENOTDIR, errno.ELOOP)
               else f"cannot be opened ({error.strerror})")
        result.errors.append(f"{where}: {why}; refused")
        return
    try:
        owner = _owner(os.fstat(folder_fd).st_uid)
        if not trust_names and owner != found.student:
            result.errors.append(f"{where}: now belongs to {owner}; refused")
            return
        copied, written = _read_folder(folder_fd, where, notebooks, found, trust_names, result)
    finally:
        os.close(folder_fd)
    if not copied.keys() & notebooks:
        result.errors.append(f"{where}: no notebook of {found.assignment} in it; nothing taken")
        return
    claimed = found.claimed
    files_time = datetime.fromtimestamp(written, UTC)
    if abs(files_time - claimed) > CLOCK_SLACK:
        result.warnings.append(
            f"{where}: claims to be submitted at {claimed:%Y-%m-%d %H:%M:%S} UTC but its files "
            f"were written at {files_time:%Y-%m-%d %H:%M:%S} UTC; their time is used")
        claimed = files_time
    copied[TIMESTAMP_FILE] = claimed.strftime(TIMESTAMP_FORMAT).encode()
    folder = stage / found.student / found.assignment
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in copied.items():
        write_atomic(folder / name, data)


def collect_from_exchange(course_root: Path, names: Iterable[str] | None = None, *,
                          students: Iterable[str] | None = None,
                          trust_names: bool = False) -> CollectResult:
    """Import the newest submission of each student from the exchange into ``submitted/``.

    Parameters
    ----------
    course_root : Path
        The nbgrader course; its ``nbgrader_config.py`` names the exchange.
    names : iterable of str, optional
        The assignments to collect (default: all).
    students : iterable of str, optional
        Only these students (default: everyone who submitted).
    trust_names : bool
        Take the student id from the folder name without checking who owns it. Only for a
        hub whose servers all run as one user (Kubernetes with a shared volume, say), where
        ownership tells nothing; there any student can submit in another's name.

    Returns
    -------
    CollectResult
        As :func:`autograder.instructor.collect.collect`'s: imported, replaced (the old
        version kept), unchanged; one error per refused folder or file.
    """
    course_root = Path(course_root).resolve()
    exchange = exchange_of(course_root)
    known = assignments(course_root)
    names = list(names or known)
    if unknown := sorted(set(names) - set(known)):
        raise ExchangeError(f"no assignment {', '.join(unknown)} in {course_root / 'source'}.")
    _check_inbound(exchange)
    result = CollectResult()
    if trust_names:
        result.warnings.append(
            "--trust-names: the student ids come from the submissions' names unchecked")
    newest = _submissions(exchange, set(names), set(students) if students else None,
                          trust_names, result)
    stage = (course_root / "imports" / "exchange"
             / datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ"))
    for (_, assignment), found in sorted(newest.items()):
        notebooks = {p.name for p in (course_root / "source" / assignment).glob("*.ipynb")}
        _stage(found, notebooks, stage, trust_names, result)
    if stage.is_dir():
        imported = collect(course_root, stage, replace=True)
        for kind in ("imported", "unchanged", "replaced", "errors", "warnings"):
            getattr(result, kind).extend(getattr(imported, kind))
        result.backup = imported.backup
    return result


# ---------------------------------------------------------------------------------------
# Feedback
# ---------------------------------------------------------------------------------------


def release_feedback(course_root: Path, names: Iterable[str] | None = None,
                     students: Iterable[str] | None = None, *,
                     db_url: str | None = None) -> tuple[list[str], list[str]]:
    """Put the written feedback of each submission into the exchange, where only its student
    can fetch it (Assignment List, "Fetch Feedback"); (lines, errors)."""
    course_root = Path(course_root).resolve()
    exchange_of(course_root)  # a course id, or a clear error
    wanted = set(names) if names else None
    who = set(students) if students else None
    api = nbgrader_api(course_root, db_url=db_url)
    lines, errors = [], []
    for folder in sorted((course_root / "feedback").glob("*/*")):
        student, assignment = folder.parent.name, folder.name
        if (wanted and assignment not in wanted) or (who and student not in who):
            continue
        if not any(folder.glob("*.html")):
            continue
        if not (folder / SECRET_FILE).is_file():
            errors.append(f"{student} {assignment}: was not submitted through the exchange (no "
                          f"{SECRET_FILE}); send {folder} to the student instead")
            continue
        with warnings.catch_warnings():  # nbgrader's own (a misspelt keyword, an open file)
            warnings.simplefilter("ignore")
            outcome = api.release_feedback(assignment, student)
        if outcome["success"]:
            lines.append(f"returned the feedback of {student} {assignment}")
        else:
            log = "\n".join(filter(None, (outcome.get("log"), outcome.get("error"))))
            errors.append(f"{student} {assignment}: nbgrader could not release the feedback: "
                          f"{log.strip().splitlines()[-1] if log.strip() else 'no detail'}")
    return lines, errors
