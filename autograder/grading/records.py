"""Grading records: what the trusted grader found in one submission, kept for reports.

One JSON file per submission, ``<course>/grading/<assignment>/<student>.json``. It lives
outside nbgrader's folders, so nbgrader never copies it into a student's feedback. It stores
the hidden seeds, so that any grade can be reproduced exactly, and every check's outcome
(passed, failing stage, named mistake), so that reports can count mistakes without reading
notebooks.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

__all__ = [
    "Attention",
    "CellGrade",
    "CheckOutcome",
    "GradingRecord",
    "load_record",
    "load_records",
    "record_path",
]

#: Reasons a submission needs an instructor's attention (``Attention.reason``).
ATTENTION_REASONS = (
    "unreadable",  # the file is not a notebook nbformat can read
    "missing-notebook",  # no submitted file for a notebook of the assignment
    "missing-cells",  # graded cells were deleted (nbgrader put them back)
    "tampered",  # a locked cell or nbgrader metadata edited (restored), or the grading
    # channel got bytes that are not an answer, or more than its bounds (frames, stderr)
    "timeout",  # the whole notebook ran past its time limit (or a cell past its own)
    "crashed",  # the sandboxed run died (memory or process limit, a signal, an exit before
    # the end), or the grading process itself was killed
    "reference-used",  # a graded function called a reference function that could answer it
    "reference-copied",  # a notebook cell holds the reference's code, or an edited copy of it
    "suspicious-code",  # a solution cell touches the grader, tracing or the reference
    "error",  # grading this submission failed for another reason
)


@dataclass
class CheckOutcome:
    """One ``check.NAME(...)`` call of a test cell, as the trusted grader ran it."""

    exercise: str  # check name, e.g. "backward_231"
    key: str  # catalogue key, e.g. "backward_231_mse"
    hidden: bool
    passed: bool
    stage: str | None = None  # the failing stage (see engine.CheckResult), None on success
    mistake: str | None = None  # slug of the named mistake, None if none matched
    case: str | None = None  # label of the failing case


@dataclass
class CellGrade:
    """One autograded test cell."""

    grade_id: str
    points: float
    max_points: float
    checks: list[CheckOutcome] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.points >= self.max_points


@dataclass(frozen=True)
class Attention:
    """Why a submission needs a person to look at it."""

    reason: str  # one of ATTENTION_REASONS
    detail: str  # one sentence naming the cell, the limit, the line


@dataclass
class GradingRecord:
    """Everything the trusted grader found in one student's submission of one assignment."""

    assignment: str
    student: str
    notebook: str
    seeds: dict[str, int] = field(default_factory=dict)  # exercise key -> hidden seed
    cells: list[CellGrade] = field(default_factory=list)
    attention: list[Attention] = field(default_factory=list)
    execution_seconds: float = 0.0  # the sandboxed run, kernel-free
    graded_at: str = ""  # ISO 8601, UTC
    version: str = ""  # hash of the submission's code cells (seeds.notebook_version)
    isolation: str = ""  # the isolation in force, in one sentence

    @property
    def score(self) -> float:
        return sum(cell.points for cell in self.cells)

    @property
    def max_score(self) -> float:
        return sum(cell.max_points for cell in self.cells)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=1, sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GradingRecord:
        data = dict(data)
        data["cells"] = [
            CellGrade(**{**cell, "checks": [CheckOutcome(**c) for c in cell.get("checks", [])]})
            for cell in data.get("cells", [])]
        data["attention"] = [Attention(**a) for a in data.get("attention", [])]
        return cls(**data)

    def save(self, course_root: Path) -> Path:
        """Write atomically to ``record_path(...)``; returns the path."""
        path = record_path(course_root, self.assignment, self.student)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{self.student}.", suffix=".json")
        with os.fdopen(fd, "w", encoding="utf-8") as stream:
            stream.write(self.to_json())
        os.replace(tmp, path)
        return path


def record_path(course_root: Path, assignment: str, student: str) -> Path:
    return Path(course_root) / "grading" / assignment / f"{student}.json"


def load_record(course_root: Path, assignment: str, student: str) -> GradingRecord | None:
    """The record of one submission, or None when it was never graded."""
    path = record_path(course_root, assignment, student)
    if not path.exists():
        return None
    return GradingRecord.from_dict(json.loads(path.read_text(encoding="utf-8")))


def load_records(course_root: Path, assignment: str) -> list[GradingRecord]:
    """The records of every graded submission of ``assignment``, sorted by student id."""
    folder = Path(course_root) / "grading" / assignment
    if not folder.is_dir():
        return []
    return [GradingRecord.from_dict(json.loads(path.read_text(encoding="utf-8")))
            for path in sorted(folder.glob("*.json"))]
