"""The nbgrader course: load its config and drive nbgrader through its Python API."""

from __future__ import annotations

import os
import sys
from pathlib import Path

#: The course root of this checkout.
COURSE_ROOT = Path(__file__).resolve().parent.parent / "course"


class CourseError(RuntimeError):
    """An nbgrader step failed; the message says which and why."""


def assignments(course_root: Path = COURSE_ROOT) -> list[str]:
    """Names of the assignments in ``course_root/source``, in course order."""
    source = Path(course_root) / "source"
    if not source.is_dir():
        return []
    return sorted(path.name for path in source.iterdir() if any(path.glob("*.ipynb")))


#: The gradebook's database URL for every instructor step, over ``nbgrader_config.py``'s
#: (``backprop-course ... --db URL`` sets it).
DB_URL_ENV = "BACKPROP_COURSE_DB_URL"


def course_config(course_root: Path, db_url: str | None = None):
    """The traitlets ``Config`` of the course's ``nbgrader_config.py``, its root and database
    set (``db_url``, else $BACKPROP_COURSE_DB_URL, else the file's own)."""
    from traitlets.config import Config
    from traitlets.config.loader import PyFileConfigLoader

    course_root = Path(course_root).resolve()
    if (course_root / "nbgrader_config.py").is_file():
        config = PyFileConfigLoader("nbgrader_config.py", path=str(course_root)).load_config()
    else:
        config = Config()
    config.CourseDirectory.root = str(course_root)
    if db_url := db_url or os.environ.get(DB_URL_ENV):
        config.CourseDirectory.db_url = db_url
    return config


def gradebook_url(course_root: Path = COURSE_ROOT, db_url: str | None = None) -> str:
    """The SQLAlchemy URL of the course's gradebook.

    ``db_url`` if given, else $BACKPROP_COURSE_DB_URL, else ``c.CourseDirectory.db_url`` of
    ``nbgrader_config.py`` (a PostgreSQL server: ``postgresql+psycopg://USER@HOST:PORT/DB``),
    else nbgrader's default, the SQLite file ``gradebook.db`` in the course folder.
    """
    from nbgrader.coursedir import CourseDirectory

    return CourseDirectory(config=course_config(course_root, db_url)).db_url


def is_sqlite(url: str) -> bool:
    return url.split(":", 1)[0].split("+", 1)[0] == "sqlite"


def nbgrader_api(course_root: Path = COURSE_ROOT, overrides=None, *,
                 db_url: str | None = None):
    """An ``NbGraderAPI`` for ``course_root`` configured by its ``nbgrader_config.py``.

    ``overrides``: a traitlets ``Config`` merged over the file's settings. ``db_url``: the
    gradebook's database (default: :func:`gradebook_url`'s).
    """
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    course_root = Path(course_root).resolve()
    # The gradebook migrates itself by running `alembic` by name: it must be on PATH even when
    # this interpreter's environment is not activated.
    bin_dir = str(Path(sys.executable).parent)
    if bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")
    config = course_config(course_root, db_url)
    if overrides is not None:
        config.merge(overrides)
    coursedir = CourseDirectory(config=config)
    return NbGraderAPI(coursedir=coursedir, config=config)


def generate_release(course_root: Path = COURSE_ROOT, names: list[str] | None = None, *,
                     gradebook: bool = True, db_url: str | None = None) -> list[Path]:
    """Generate the student version of each assignment (all of them by default).

    ``gradebook=False`` records nothing in the gradebook (nbgrader's ``--no-db``): the same
    notebooks, byte for byte, ten times faster; for a release nobody grades (the learner's
    workspace). ``db_url``: the gradebook's database (default: :func:`gradebook_url`'s).

    Returns the release folders. Raises :class:`CourseError` naming the assignment and
    nbgrader's own error when a notebook cannot be released.
    """
    overrides = None
    if not gradebook:
        from traitlets.config import Config

        overrides = Config({"SaveCells": {"enabled": False},
                            "GenerateAssignment": {"no_database": True}})
    api = nbgrader_api(course_root, overrides, db_url=db_url)
    released = []
    for name in names or assignments(course_root):
        result = api.generate_assignment(name, force=True, create=gradebook)
        if not result["success"]:
            detail = result.get("error") or result.get("log") or "no detail from nbgrader"
            raise CourseError(f"nbgrader could not release {name}:\n{detail}")
        released.append(Path(course_root) / "release" / name)
    return released
