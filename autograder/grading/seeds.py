"""The course secret and the hidden cases' seeds of one submission.

A hidden check draws its cases from a seed that is an HMAC, under the course secret
(``course/grading_secret``, created on first use, readable by its owner only, never
committed), of the assignment, the student, the exercise and the submission's VERSION: a
hash of its code cells. A regrade of the same code draws the same cases (the record keeps
the seeds, so even a new secret does not change a grade); changed code draws new ones, so
inputs seen while one version was graded are of no use to the next.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

from nbformat import NotebookNode

from autograder.checks.seeding import seed_from_digest

__all__ = ["course_secret", "notebook_version", "submission_seed"]

_SECRET_FILE = "grading_secret"


def course_secret(course_root: Path) -> bytes:
    """The course's grading secret (created on first use, readable by its owner only)."""
    path = Path(course_root) / _SECRET_FILE
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as stream:
            stream.write(secrets.token_hex(32) + "\n")
    return path.read_text().strip().encode()


def notebook_version(nb: NotebookNode) -> str:
    """A hash of the notebook's code cells, in order (outputs and metadata aside)."""
    digest = hashlib.sha256()
    for cell in nb.cells:
        if cell.get("cell_type") == "code":
            digest.update(str(cell.get("source", "")).encode("utf-8", "surrogatepass"))
            digest.update(b"\0")
    return digest.hexdigest()


def submission_seed(secret: bytes, assignment: str, student: str, key: str,
                    version: str) -> int:
    """The seed of one exercise's hidden cases for one version of a student's submission."""
    message = f"{assignment}\0{student}\0{key}\0{version}".encode()
    return seed_from_digest(hmac.new(secret, message, hashlib.sha256).digest())
